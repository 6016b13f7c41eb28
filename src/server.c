/*
 * Server commands: PING ECHO TIME INFO COMMAND.
 *
 * They touch no key.  PING and ECHO let a client check the path through
 * a door; TIME gives the engine clock (c->now_ms, set by the host at each
 * call, so a batch sees one instant); INFO and COMMAND describe the zone
 * and the command table to tools that already speak Redis.
 *
 * INFO is Redis' text format: "# Section" headers, "field:value" lines
 * ending in CRLF, a blank line between sections, one bulk string in all.
 * The default sections are Server, Memory, Stats and Keyspace; "all" and
 * "everything" add Commandstats (one line per command run at least once).
 * Section names are case-insensitive; an unknown one is skipped, as in
 * Redis, so a tool asking for "replication" gets an empty string rather
 * than an error.  The text is assembled in process memory (the C heap),
 * never in the zone: a report must not evict data nor fail because the
 * zone is full.
 *
 * COMMAND lists the table of command.c: with no argument the names;
 * COUNT the number; INFO [name...] a row per command in the first six
 * fields of Redis' format: [name, arity, [flags], first key, last key,
 * step], nil for an unknown name.  Names are lower case, as Redis gives
 * them.
 */

#include <stdio.h>
#include <stdlib.h>

#include "commands.h"
#include "db.h"


#define KVMQ_NAME_MAX          32

#define KVMQ_INFO_SERVER       0x01
#define KVMQ_INFO_MEMORY       0x02
#define KVMQ_INFO_STATS        0x04
#define KVMQ_INFO_KEYSPACE     0x08
#define KVMQ_INFO_CMDSTATS     0x10

#define KVMQ_INFO_DEFAULT                                                     \
    (KVMQ_INFO_SERVER|KVMQ_INFO_MEMORY|KVMQ_INFO_STATS|KVMQ_INFO_KEYSPACE)
#define KVMQ_INFO_ALL          (KVMQ_INFO_DEFAULT|KVMQ_INFO_CMDSTATS)


/* a growing text in process memory; nomem sticks once set */
typedef struct {
    char      *data;
    size_t     len;
    size_t     cap;
    int        nomem;
} kvmq_text_t;


typedef struct {
    const char  *name;
    unsigned     mask;
} kvmq_info_section_t;


static const kvmq_info_section_t  kvmq_info_sections[] = {
    { "server",       KVMQ_INFO_SERVER },
    { "memory",       KVMQ_INFO_MEMORY },
    { "stats",        KVMQ_INFO_STATS },
    { "keyspace",     KVMQ_INFO_KEYSPACE },
    { "commandstats", KVMQ_INFO_CMDSTATS },
    { "default",      KVMQ_INFO_DEFAULT },
    { "all",          KVMQ_INFO_ALL },
    { "everything",   KVMQ_INFO_ALL },
    { NULL, 0 }
};


/* indexed by kvmq_evict_e */
static const char  *kvmq_policy_names[] = {
    "noeviction",
    "allkeys-lru",
    "volatile-lru",
    "allkeys-lfu"
};


static const struct {
    unsigned     flag;
    const char  *name;
} kvmq_flag_names[] = {
    { KVMQ_CMD_WRITE,    "write" },
    { KVMQ_CMD_READONLY, "readonly" },
    { KVMQ_CMD_DENYOOM,  "denyoom" },
    { KVMQ_CMD_ADMIN,    "admin" },
    { KVMQ_CMD_FAST,     "fast" },
};


static void kvmq_text_add(kvmq_text_t *t, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
static void kvmq_text_human(kvmq_text_t *t, const char *field, size_t n);
static void kvmq_info_cmdstat(void *arg, const char *name, uint64_t calls);
static void kvmq_reply_lower(kvmq_ctx_t *c, const char *name);
static void kvmq_command_info(kvmq_ctx_t *c, const kvmq_cmd_t *cmd);


/* ---- PING ECHO TIME ---------------------------------------------------- */


void
kvmq_cmd_ping(kvmq_ctx_t *c, int argc, const kvmq_slice_t *argv)
{
    if (argc > 2) {
        kvmq_reply_error(c, KVMQ_ERR_BADREQ,
                         "wrong number of arguments for 'ping' command");
        return;
    }

    if (argc == 2) {
        kvmq_reply_bulk(c, argv[1].data, argv[1].len);
        return;
    }

    kvmq_reply_status(c, "PONG");
}


void
kvmq_cmd_echo(kvmq_ctx_t *c, int argc, const kvmq_slice_t *argv)
{
    (void) argc;

    kvmq_reply_bulk(c, argv[1].data, argv[1].len);
}


/* two bulk strings, as Redis sends them: unix seconds and microseconds */
void
kvmq_cmd_time(kvmq_ctx_t *c, int argc, const kvmq_slice_t *argv)
{
    char     buf[KVMQ_NUMBUF];
    size_t   len;
    int64_t  ms;

    (void) argc;
    (void) argv;

    ms = c->now_ms < 0 ? 0 : c->now_ms;

    kvmq_reply_array(c, 2);

    len = kvmq_ll2str(buf, ms / 1000);
    kvmq_reply_bulk(c, buf, len);

    len = kvmq_ll2str(buf, (ms % 1000) * 1000);
    kvmq_reply_bulk(c, buf, len);

    kvmq_reply_array_end(c);
}


/* ---- INFO -------------------------------------------------------------- */


static void
kvmq_text_add(kvmq_text_t *t, const char *fmt, ...)
{
    int       n;
    char     *p;
    size_t    cap;
    va_list   args;

    if (t->nomem) {
        return;
    }

    for ( ;; ) {
        va_start(args, fmt);
        n = vsnprintf(t->data + t->len, t->cap - t->len, fmt, args);
        va_end(args);

        if (n < 0) {
            t->nomem = 1;
            return;
        }

        if ((size_t) n < t->cap - t->len) {
            t->len += (size_t) n;
            return;
        }

        cap = t->cap * 2 + (size_t) n;

        p = realloc(t->data, cap);
        if (p == NULL) {
            t->nomem = 1;
            return;
        }

        t->data = p;
        t->cap = cap;
    }
}


/* Redis' bytesToHuman(): "1.50M" */
static void
kvmq_text_human(kvmq_text_t *t, const char *field, size_t n)
{
    double       d;
    unsigned     i;
    const char  *units;

    units = "BKMGTP";
    d = (double) n;

    for (i = 0; d >= 1024 && i < 5; i++) {
        d /= 1024;
    }

    if (i == 0) {
        kvmq_text_add(t, "%s:%zuB\r\n", field, n);

    } else {
        kvmq_text_add(t, "%s:%.2f%c\r\n", field, d, units[i]);
    }
}


static void
kvmq_info_cmdstat(void *arg, const char *name, uint64_t calls)
{
    size_t        i;
    char          lower[KVMQ_NAME_MAX];
    kvmq_text_t  *t;

    t = arg;

    for (i = 0; i < KVMQ_NAME_MAX - 1 && name[i] != '\0'; i++) {
        lower[i] = (char) ((name[i] >= 'A' && name[i] <= 'Z')
                           ? name[i] | 0x20 : name[i]);
    }

    lower[i] = '\0';

    kvmq_text_add(t, "cmdstat_%s:calls=%llu\r\n", lower,
                  (unsigned long long) calls);
}


void
kvmq_cmd_info(kvmq_ctx_t *c, int argc, const kvmq_slice_t *argv)
{
    int                  i, j;
    size_t               used;
    unsigned             want, policy;
    kvmq_text_t          t;
    kvmq_stats_t         st;
    const kvmq_db_t     *db;

    want = 0;

    for (i = 1; i < argc; i++) {
        for (j = 0; kvmq_info_sections[j].name; j++) {
            if (kvmq_arg_is(&argv[i], kvmq_info_sections[j].name)) {
                want |= kvmq_info_sections[j].mask;
                break;
            }
        }
    }

    if (argc == 1) {
        want = KVMQ_INFO_DEFAULT;
    }

    db = c->db;
    kvmq_db_stats(c->db, &st);

    used = c->alloc->used ? c->alloc->used(c->alloc->ctx) : 0;
    policy = db->eviction < sizeof(kvmq_policy_names) / sizeof(char *)
             ? db->eviction : 0;

    t.len = 0;
    t.cap = 1024;
    t.nomem = 0;
    t.data = malloc(t.cap);

    if (t.data == NULL) {
        kvmq_reply_nomem(c);
        return;
    }

    t.data[0] = '\0';

    if (want & KVMQ_INFO_SERVER) {
        kvmq_text_add(&t, "%s# Server\r\n"
                      "kvmq_version:%s\r\n"
                      "server_time_usec:%lld\r\n",
                      t.len ? "\r\n" : "", KVMQ_VERSION,
                      (long long) c->now_ms * 1000);
    }

    if (want & KVMQ_INFO_MEMORY) {
        kvmq_text_add(&t, "%s# Memory\r\n"
                      "used_memory:%zu\r\n",
                      t.len ? "\r\n" : "", used);
        kvmq_text_human(&t, "used_memory_human", used);
        kvmq_text_add(&t, "total_memory:%zu\r\n", c->alloc->total);
        kvmq_text_human(&t, "total_memory_human", c->alloc->total);
        kvmq_text_add(&t, "maxmemory:%zu\r\n"
                      "maxmemory_policy:%s\r\n"
                      "keyspace_buckets:%llu\r\n"
                      "keyspace_rehashing:%d\r\n",
                      c->alloc->total, kvmq_policy_names[policy],
                      (unsigned long long) st.buckets, st.rehashing);
    }

    if (want & KVMQ_INFO_STATS) {
        kvmq_text_add(&t, "%s# Stats\r\n"
                      "total_commands_processed:%llu\r\n"
                      "expired_keys:%llu\r\n"
                      "evicted_keys:%llu\r\n"
                      "keyspace_hits:%llu\r\n"
                      "keyspace_misses:%llu\r\n",
                      t.len ? "\r\n" : "",
                      (unsigned long long) st.commands,
                      (unsigned long long) st.expired,
                      (unsigned long long) st.evicted,
                      (unsigned long long) st.hits,
                      (unsigned long long) st.misses);
    }

    if (want & KVMQ_INFO_KEYSPACE) {
        kvmq_text_add(&t, "%s# Keyspace\r\n", t.len ? "\r\n" : "");

        /* as in Redis, an empty db has no line */
        if (st.keys != 0) {
            kvmq_text_add(&t, "db0:keys=%llu,expires=%llu\r\n",
                          (unsigned long long) st.keys,
                          (unsigned long long) st.volatile_keys);
        }
    }

    if (want & KVMQ_INFO_CMDSTATS) {
        kvmq_text_add(&t, "%s# Commandstats\r\n", t.len ? "\r\n" : "");
        kvmq_db_command_stats(c->db, kvmq_info_cmdstat, &t);
    }

    if (t.nomem) {
        kvmq_reply_nomem(c);

    } else {
        kvmq_reply_bulk(c, t.data, t.len);
    }

    free(t.data);
}


/* ---- COMMAND ----------------------------------------------------------- */


static void
kvmq_reply_lower(kvmq_ctx_t *c, const char *name)
{
    size_t  i;
    char    lower[KVMQ_NAME_MAX];

    for (i = 0; i < KVMQ_NAME_MAX && name[i] != '\0'; i++) {
        lower[i] = (char) ((name[i] >= 'A' && name[i] <= 'Z')
                           ? name[i] | 0x20 : name[i]);
    }

    kvmq_reply_bulk(c, lower, i);
}


static void
kvmq_command_info(kvmq_ctx_t *c, const kvmq_cmd_t *cmd)
{
    long    n;
    size_t  i;

    if (cmd == NULL) {
        kvmq_reply_nil(c);
        return;
    }

    kvmq_reply_array(c, 6);

    kvmq_reply_lower(c, cmd->name);
    kvmq_reply_int(c, cmd->arity);

    n = 0;
    for (i = 0; i < sizeof(kvmq_flag_names) / sizeof(kvmq_flag_names[0]);
         i++)
    {
        if (cmd->flags & kvmq_flag_names[i].flag) {
            n++;
        }
    }

    kvmq_reply_array(c, n);

    for (i = 0; i < sizeof(kvmq_flag_names) / sizeof(kvmq_flag_names[0]);
         i++)
    {
        if (cmd->flags & kvmq_flag_names[i].flag) {
            kvmq_reply_status(c, kvmq_flag_names[i].name);
        }
    }

    kvmq_reply_array_end(c);

    kvmq_reply_int(c, cmd->first_key);
    kvmq_reply_int(c, cmd->last_key);
    kvmq_reply_int(c, cmd->key_step);

    kvmq_reply_array_end(c);
}


void
kvmq_cmd_command(kvmq_ctx_t *c, int argc, const kvmq_slice_t *argv)
{
    int       i;
    unsigned  k, n;

    n = kvmq_cmd_count();

    if (argc == 1 || kvmq_arg_is(&argv[1], "LIST")) {
        if (argc > 2) {
            /* LIST FILTERBY ... is not supported */
            kvmq_reply_syntax(c);
            return;
        }

        kvmq_reply_array(c, (long) n);

        for (k = 0; k < n; k++) {
            kvmq_reply_lower(c, kvmq_cmd_at(k)->name);
        }

        kvmq_reply_array_end(c);
        return;
    }

    if (kvmq_arg_is(&argv[1], "COUNT")) {
        if (argc != 2) {
            kvmq_reply_error(c, KVMQ_ERR_BADREQ, "wrong number of arguments "
                             "for 'command|count' command");
            return;
        }

        kvmq_reply_int(c, n);
        return;
    }

    if (kvmq_arg_is(&argv[1], "INFO")) {

        /* Redis 7: no name means every command */
        if (argc == 2) {
            kvmq_reply_array(c, (long) n);

            for (k = 0; k < n; k++) {
                kvmq_command_info(c, kvmq_cmd_at(k));
            }

            kvmq_reply_array_end(c);
            return;
        }

        kvmq_reply_array(c, argc - 2);

        for (i = 2; i < argc; i++) {
            kvmq_command_info(c, kvmq_cmd_lookup(argv[i].data, argv[i].len));
        }

        kvmq_reply_array_end(c);
        return;
    }

    kvmq_reply_error(c, KVMQ_ERR_BADREQ, "unknown subcommand '%.*s'",
                     (int) (argv[1].len > 64 ? 64 : argv[1].len),
                     argv[1].data);
}
