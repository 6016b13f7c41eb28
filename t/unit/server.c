/*
 * Unit tests of the server commands (src/server.c): PING ECHO TIME INFO
 * COMMAND.
 *
 * INFO is checked as a tool parsing it would: the reply is unescaped
 * from the host's rendering back into bytes, then split into sections
 * and "field:value" lines, and the values are compared with what the
 * test did (commands run, hits and misses caused, keys expired and
 * evicted, bytes the host allocator counts).
 */

#include <stdio.h>
#include <stdlib.h>
#include <stdarg.h>

#include "host.h"
#include "../../src/db.h"


#define T0  1700000000123LL


static const char *
run(th_t *h, const char *fmt, ...)
{
    char     line[1024];
    va_list  args;

    va_start(args, fmt);
    vsnprintf(line, sizeof(line), fmt, args);
    va_end(args);

    return th_run(h, line);
}


static int
is(th_t *h, const char *expect, const char *fmt, ...)
{
    char     line[1024];
    va_list  args;

    va_start(args, fmt);
    vsnprintf(line, sizeof(line), fmt, args);
    va_end(args);

    return th_is(h, line, expect, line);
}


/* the bytes of a rendered bulk string reply, or NULL if it is not one */
static char *
unbulk(const char *r)
{
    size_t    n, len;
    unsigned  x;
    char     *out;

    len = strlen(r);

    if (len < 2 || r[0] != '"' || r[len - 1] != '"') {
        return NULL;
    }

    out = malloc(len);
    n = 0;

    for (r++; *r && r[1]; r++) {
        if (*r == '\\' && r[1] == 'x' && sscanf(r + 2, "%2x", &x) == 1) {
            out[n++] = (char) x;
            r += 3;

        } else if (*r == '\\' && r[1]) {
            out[n++] = *++r;

        } else {
            out[n++] = *r;
        }
    }

    out[n] = '\0';

    return out;
}


/* INFO text from a command line; the caller frees it */
static char *
info(th_t *h, const char *line)
{
    char  *t;

    t = unbulk(th_run(h, line));

    if (t == NULL) {
        tap_ok(0, "%s: a bulk string (%s)", line, h->out);
        t = calloc(1, 1);
    }

    return t;
}


/* the value of "field:" in INFO text, in a static buffer; NULL if none */
static const char *
field(const char *text, const char *name)
{
    size_t       n, len;
    const char  *p, *e;
    static char  buf[256];

    n = strlen(name);

    for (p = text; p && *p; p = strstr(p, "\r\n"), p = p ? p + 2 : NULL) {
        if (strncmp(p, name, n) == 0 && p[n] == ':') {
            e = strstr(p, "\r\n");
            len = e ? (size_t) (e - p - n - 1) : strlen(p + n + 1);
            len = len < sizeof(buf) ? len : sizeof(buf) - 1;
            memcpy(buf, p + n + 1, len);
            buf[len] = '\0';
            return buf;
        }
    }

    return NULL;
}


static long long
field_ll(const char *text, const char *name)
{
    const char  *v;

    v = field(text, name);

    return v ? strtoll(v, NULL, 10) : -1;
}


/* every line is "# Section", "field:value" or empty, and ends in CRLF */
static int
well_formed(const char *t)
{
    const char  *e;

    if (*t == '\0') {
        return 1;
    }

    if (strncmp(t, "# ", 2) != 0) {
        return 0;
    }

    while (*t) {
        e = strstr(t, "\r\n");
        if (e == NULL || memchr(t, '\n', (size_t) (e - t)) != NULL) {
            return 0;
        }

        if (e != t && t[0] != '#' && memchr(t, ':', (size_t) (e - t)) == NULL)
        {
            return 0;
        }

        t = e + 2;
    }

    return 1;
}


/* the number of top-level elements of a rendered array */
static int
count_items(const char *s)
{
    int  depth, n, quoted;

    if (s[0] != '[') {
        return -1;
    }

    if (s[1] == ']') {
        return 0;
    }

    depth = 0;
    n = 1;
    quoted = 0;

    for ( ; *s; s++) {
        if (quoted) {
            if (*s == '\\') {
                s++;

            } else if (*s == '"') {
                quoted = 0;
            }

            continue;
        }

        if (*s == '"') {
            quoted = 1;

        } else if (*s == '[' || *s == '{') {
            depth++;

        } else if (*s == ']' || *s == '}') {
            depth--;

        } else if (*s == ',' && depth == 1) {
            n++;
        }
    }

    return n;
}


/* ---- PING ECHO TIME ---------------------------------------------------- */


static void
test_ping_echo_time(void)
{
    th_t  *h;

    h = th_new(0, KVMQ_EVICT_NOEVICTION);

    is(h, "+PONG", "PING");
    is(h, "+PONG", "ping");
    is(h, "\"hello\"", "PING hello");
    is(h, "\"\"", "PING \"\"");
    is(h, "!BADREQ", "PING a b");
    tap_is_str(h->errmsg, "wrong number of arguments for 'ping' command",
               "  message");

    is(h, "\"hello world\"", "ECHO \"hello world\"");
    is(h, "\"\\x00\\xff\\\"\"", "ECHO \"\\x00\\xff\\\"\"");
    is(h, "\"\"", "ECHO \"\"");
    is(h, "!BADREQ", "ECHO");
    is(h, "!BADREQ", "ECHO a b");

    th_set_time(h, T0);
    is(h, "[\"1700000000\",\"123000\"]", "TIME");
    th_set_time(h, 1700000000000LL);
    is(h, "[\"1700000000\",\"0\"]", "TIME");
    th_set_time(h, 5);
    is(h, "[\"0\",\"5000\"]", "TIME");
    th_set_time(h, 999);
    is(h, "[\"0\",\"999000\"]", "TIME");
    is(h, "!BADREQ", "TIME now");

    /* none of these is a write */
    h->ctx.readonly = 1;
    is(h, "+PONG", "PING");
    is(h, "\"x\"", "ECHO x");
    tap_ok(th_run(h, "INFO")[0] == '"', "INFO on a read-only location");
    h->ctx.readonly = 0;

    th_free(h);
}


/* ---- INFO -------------------------------------------------------------- */


static void
test_info_sections(void)
{
    th_t  *h;
    char  *t;

    h = th_new(64 * 1024 * 1024, KVMQ_EVICT_NOEVICTION);

    t = info(h, "INFO");
    tap_ok(well_formed(t), "INFO: Redis INFO text format");
    tap_ok(strncmp(t, "# Server\r\n", 10) == 0, "INFO starts with # Server");
    tap_ok(strstr(t, "\r\n\r\n# Memory\r\n") != NULL, "INFO: # Memory");
    tap_ok(strstr(t, "\r\n\r\n# Stats\r\n") != NULL, "INFO: # Stats");
    tap_ok(strstr(t, "\r\n\r\n# Keyspace\r\n") != NULL, "INFO: # Keyspace");
    tap_ok(strstr(t, "# Commandstats") == NULL,
           "INFO: no # Commandstats by default");
    tap_ok(field(t, "kvmq_version") != NULL, "INFO: kvmq_version");
    tap_is_str(field(t, "maxmemory_policy"), "noeviction",
               "INFO: maxmemory_policy");
    tap_is_int(field_ll(t, "total_memory"), 64 * 1024 * 1024,
               "INFO: total_memory is the zone size");
    tap_is_str(field(t, "total_memory_human"), "64.00M",
               "INFO: total_memory_human");
    tap_is_int(field_ll(t, "used_memory"), (long long) h->used,
               "INFO: used_memory is what the allocator counts");
    tap_ok(field(t, "db0") == NULL, "INFO: an empty db has no db0 line");
    free(t);

    t = info(h, "INFO memory");
    tap_ok(well_formed(t), "INFO memory: format");
    tap_ok(strncmp(t, "# Memory\r\n", 10) == 0, "INFO memory: one section");
    tap_ok(strstr(t, "# Server") == NULL && strstr(t, "# Stats") == NULL,
           "INFO memory: only that section");
    free(t);

    t = info(h, "INFO STATS Keyspace");
    tap_ok(strncmp(t, "# Stats\r\n", 9) == 0
           && strstr(t, "\r\n\r\n# Keyspace\r\n") != NULL
           && strstr(t, "# Memory") == NULL,
           "INFO STATS Keyspace: both, case-insensitive");
    free(t);

    t = info(h, "INFO nosuchsection");
    tap_is_str(t, "", "INFO of an unknown section: empty");
    free(t);

    t = info(h, "INFO server nosuch");
    tap_ok(strncmp(t, "# Server\r\n", 10) == 0 && strstr(t, "# Memory") == 0,
           "INFO server nosuch: the known one");
    free(t);

    t = info(h, "INFO default");
    tap_ok(strstr(t, "# Keyspace") && !strstr(t, "# Commandstats"),
           "INFO default");
    free(t);

    is(h, "+PONG", "PING");
    is(h, "+PONG", "PING");

    t = info(h, "INFO all");
    tap_ok(well_formed(t), "INFO all: format");
    tap_ok(strstr(t, "# Server") && strstr(t, "# Keyspace")
           && strstr(t, "\r\n\r\n# Commandstats\r\n"),
           "INFO all: every section");
    tap_is_str(field(t, "cmdstat_ping"), "calls=2", "cmdstat_ping:calls=2");
    tap_is_str(field(t, "cmdstat_info"), "calls=7",
               "cmdstat_info counts itself");
    tap_ok(field(t, "cmdstat_get") == NULL,
           "no line for a command never run");
    free(t);

    t = info(h, "INFO commandstats");
    tap_ok(strncmp(t, "# Commandstats\r\ncmdstat_", 24) == 0,
           "INFO commandstats alone");
    free(t);

    t = info(h, "INFO everything");
    tap_ok(strstr(t, "# Commandstats") != NULL, "INFO everything");
    free(t);

    th_free(h);

    h = th_new(1024 * 1024, KVMQ_EVICT_ALLKEYS_LRU);
    t = info(h, "INFO memory");
    tap_is_str(field(t, "maxmemory_policy"), "allkeys-lru",
               "INFO: allkeys-lru");
    tap_is_str(field(t, "total_memory_human"), "1.00M",
               "INFO: total_memory_human 1.00M");
    free(t);
    th_free(h);

    h = th_new(0, KVMQ_EVICT_VOLATILE_LRU);
    t = info(h, "INFO memory");
    tap_is_str(field(t, "maxmemory_policy"), "volatile-lru",
               "INFO: volatile-lru");
    free(t);
    kvmq_db_set_eviction(h->db, KVMQ_EVICT_ALLKEYS_LFU);
    t = info(h, "INFO memory");
    tap_is_str(field(t, "maxmemory_policy"), "allkeys-lfu",
               "INFO: allkeys-lfu after a reload changed it");
    free(t);
    th_free(h);
}


static void
test_info_counters(void)
{
    th_t       *h;
    char       *t;
    unsigned    i;
    long long   cmds, hits, misses, used;

    h = th_new(0, KVMQ_EVICT_NOEVICTION);
    th_set_time(h, T0);

    t = info(h, "INFO");
    cmds = field_ll(t, "total_commands_processed");
    hits = field_ll(t, "keyspace_hits");
    misses = field_ll(t, "keyspace_misses");
    tap_is_int(cmds, 1, "total_commands_processed counts INFO itself");
    tap_is_int(hits, 0, "keyspace_hits 0");
    tap_is_int(misses, 0, "keyspace_misses 0");
    tap_is_int(field_ll(t, "expired_keys"), 0, "expired_keys 0");
    tap_is_int(field_ll(t, "evicted_keys"), 0, "evicted_keys 0");
    tap_is_int(field_ll(t, "server_time_usec"), T0 * 1000,
               "server_time_usec from the engine clock");
    free(t);

    is(h, "+OK", "SET a 1");
    is(h, "+OK", "SET b 2");
    is(h, ":1", "PEXPIRE b 100");
    is(h, ":2", "EXISTS a b");
    is(h, ":0", "EXISTS c");
    is(h, "!BADREQ", "EXPIRE a notanumber");

    t = info(h, "INFO");
    tap_is_int(field_ll(t, "total_commands_processed"), cmds + 7,
               "total_commands_processed: +7 (errors count too)");
    tap_is_int(field_ll(t, "keyspace_hits"), hits + 2, "keyspace_hits +2");
    tap_is_int(field_ll(t, "keyspace_misses"), misses + 1,
               "keyspace_misses +1");
    tap_is_str(field(t, "db0"), "keys=2,expires=1", "db0:keys=2,expires=1");
    used = field_ll(t, "used_memory");
    tap_is_int(used, (long long) h->used, "used_memory follows the keys");
    free(t);

    th_set_time(h, T0 + 101);
    is(h, ":0", "EXISTS b");

    t = info(h, "INFO stats keyspace");
    tap_is_int(field_ll(t, "expired_keys"), 1, "expired_keys 1");
    tap_is_str(field(t, "db0"), "keys=1,expires=0", "db0:keys=1,expires=0");
    free(t);

    is(h, "+OK", "FLUSHALL");
    t = info(h, "INFO keyspace");
    tap_is_str(t, "# Keyspace\r\n", "INFO keyspace after FLUSHALL");
    free(t);

    th_free(h);

    /* evictions, in a small zone that must evict */
    h = th_new(256 * 1024, KVMQ_EVICT_ALLKEYS_LRU);

    for (i = 0; i < 20000; i++) {
        if (strcmp(run(h, "SET key:%u 0123456789abcdef", i), "+OK") != 0) {
            break;
        }
    }

    tap_is_int(i, 20000, "allkeys-lru: every SET succeeds");

    t = info(h, "INFO");
    tap_ok(field_ll(t, "evicted_keys") > 0, "evicted_keys %lld",
           field_ll(t, "evicted_keys"));
    tap_ok(field_ll(t, "used_memory") <= 256 * 1024,
           "used_memory within total_memory");
    tap_is_int(field_ll(t, "evicted_keys") + (long long) kvmq_db_size(h->db),
               20000, "evicted + kept = written");
    tap_ok(strstr(t, "used_memory_human:") != NULL
           && strchr(field(t, "used_memory_human"), 'K') != NULL,
           "used_memory_human in K (%s)", field(t, "used_memory_human"));
    free(t);

    th_free(h);
}


/* ---- COMMAND ----------------------------------------------------------- */


static void
test_command(void)
{
    th_t        *h;
    char         expect[64];
    unsigned     n;
    const char  *r;

    h = th_new(0, KVMQ_EVICT_NOEVICTION);

    n = kvmq_cmd_count();
    snprintf(expect, sizeof(expect), ":%u", n);

    tap_ok(n > 50, "the table has %u commands", n);
    is(h, expect, "COMMAND COUNT");
    is(h, expect, "command count");
    is(h, "!BADREQ", "COMMAND COUNT x");
    tap_is_str(h->errmsg,
               "wrong number of arguments for 'command|count' command",
               "  message");

    r = run(h, "COMMAND");
    tap_is_int(count_items(r), n, "COMMAND: one name per command");
    tap_ok(strstr(r, "\"get\"") && strstr(r, "\"scan\"")
           && strstr(r, "\"command\""), "COMMAND: lower-case names");
    tap_ok(strstr(r, "\"GET\"") == NULL, "COMMAND: no upper-case names");

    r = run(h, "COMMAND LIST");
    tap_is_int(count_items(r), n, "COMMAND LIST: the same");
    is(h, "!BADREQ", "COMMAND LIST FILTERBY x");

    is(h, "[[\"get\",:2,[+readonly,+fast],:1,:1,:1]]", "COMMAND INFO get");
    is(h, "[[\"get\",:2,[+readonly,+fast],:1,:1,:1]]", "COMMAND INFO GeT");
    is(h, "[[\"mset\",:-3,[+write,+denyoom],:1,:-1,:2]]",
       "COMMAND INFO mset");
    is(h, "[[\"rename\",:3,[+write],:1,:2,:1]]", "COMMAND INFO rename");
    is(h, "[[\"flushall\",:-1,[+write,+admin],:0,:0,:0]]",
       "COMMAND INFO flushall");
    is(h, "[[\"info\",:-1,[],:0,:0,:0]]", "COMMAND INFO info");
    is(h, "[nil]", "COMMAND INFO nosuch");
    is(h, "[[\"ping\",:-1,[+fast],:0,:0,:0],nil,"
       "[\"del\",:-2,[+write],:1,:-1,:1]]", "COMMAND INFO ping nosuch del");

    r = run(h, "COMMAND INFO");
    tap_is_int(count_items(r), n, "COMMAND INFO with no name: every command");
    tap_ok(strstr(r, "nil") == NULL, "COMMAND INFO: no nil in the full list");

    is(h, "!BADREQ", "COMMAND FOO");
    tap_is_str(h->errmsg, "unknown subcommand 'FOO'", "  message");

    th_free(h);
}


int
main(void)
{
    test_ping_echo_time();
    test_info_sections();
    test_info_counters();
    test_command();

    return tap_done();
}
