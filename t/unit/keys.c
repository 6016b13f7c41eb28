/*
 * Unit tests of the keyspace commands (src/keys.c): DEL UNLINK EXISTS
 * TYPE TOUCH, the expiry family with NX XX GT LT, TTL/PTTL, PERSIST,
 * RENAME RENAMENX, KEYS, SCAN with MATCH COUNT TYPE, RANDOMKEY, DBSIZE,
 * FLUSHALL.
 *
 * Beyond the commands' answers, three properties of the keyspace are
 * checked through them, because the doors rely on them:
 *
 *   - the SCAN guarantee: a key present for the whole scan is returned at
 *     least once while other keys come and go and the table grows and
 *     shrinks between two calls;
 *   - lazy expiry: no command ever shows an expired key, and the active
 *     sweep of kvmq_db_cron() reaps the rest with bounded work per call;
 *   - a keyspace of 100k keys stays fully findable during and after its
 *     incremental rehashes.
 *
 * The clock is fixed (th_set_time) wherever a TTL is read, so that exact
 * values can be asserted.  Keys of other types than strings are made
 * with kvmq_db_add() and a NULL value, which the value destructor
 * accepts; so TYPE and SCAN TYPE are tested before those types exist.
 */

#include <stdio.h>
#include <stdlib.h>
#include <stdarg.h>

#include "host.h"
#include "../../src/db.h"


#define T0          1700000000000LL     /* a whole second, in ms */
#define STABLE      5000
#define LARGE       100000


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


static void
errmsg_is(th_t *h, const char *expect)
{
    char  label[600];

    snprintf(label, sizeof(label), "  message: %s", expect);
    tap_is_str(h->errmsg, expect, label);
}


/* a key of another type than string, holding no value */
static void
add_typed(th_t *h, const char *key, kvmq_type_e type)
{
    kvmq_slice_t  k;

    k.data = (const unsigned char *) key;
    k.len = strlen(key);

    if (kvmq_db_add(&h->ctx, &k, type, NULL) == NULL) {
        tap_ok(0, "add %s", key);
    }
}


/*
 * Walk the bulk strings of a rendered reply (keys hold no escapes here)
 * and call fn for each.  Returns the count.
 */
static unsigned
each_bulk(const char *s, void (*fn)(void *arg, const char *p, size_t len),
    void *arg)
{
    unsigned     n;
    const char  *q;

    n = 0;

    while ((s = strchr(s, '"')) != NULL) {
        q = strchr(s + 1, '"');
        if (q == NULL) {
            break;
        }

        if (fn) {
            fn(arg, s + 1, (size_t) (q - s - 1));
        }

        n++;
        s = q + 1;
    }

    return n;
}


typedef struct {
    char    *items[8192];
    unsigned n;
} strlist_t;


static void
strlist_add(void *arg, const char *p, size_t len)
{
    strlist_t  *l;

    l = arg;

    if (l->n < 8192) {
        l->items[l->n] = malloc(len + 1);
        memcpy(l->items[l->n], p, len);
        l->items[l->n][len] = '\0';
        l->n++;
    }
}


static int
strcmp_p(const void *a, const void *b)
{
    return strcmp(*(char * const *) a, *(char * const *) b);
}


/* the bulks of a reply, sorted and joined with ',' (order-free compare) */
static const char *
sorted_bulks(const char *reply)
{
    static char  out[65536];
    size_t       len;
    unsigned     i;
    strlist_t   *l;

    l = calloc(1, sizeof(strlist_t));
    each_bulk(reply, strlist_add, l);
    qsort(l->items, l->n, sizeof(char *), strcmp_p);

    len = 0;
    out[0] = '\0';

    for (i = 0; i < l->n; i++) {
        len += (size_t) snprintf(out + len, sizeof(out) - len, "%s%s",
                                 i ? "," : "", l->items[i]);
        free(l->items[i]);
    }

    free(l);

    return out;
}


/*
 * Parse ["cursor",[keys...]]; returns -1 when the shape is wrong.  The
 * cursor is the first bulk; fn gets the others.
 */
static int
scan_parse(const char *s, unsigned long long *cursor,
    void (*fn)(void *arg, const char *p, size_t len), void *arg)
{
    char  *end;

    if (strncmp(s, "[\"", 2) != 0) {
        return -1;
    }

    *cursor = strtoull(s + 2, &end, 10);

    if (strncmp(end, "\",[", 3) != 0) {
        return -1;
    }

    each_bulk(end + 3, fn, arg);

    return 0;
}


static int64_t
info_i64(th_t *h, const char *fmt, ...)
{
    long long  v;
    char       line[256];
    va_list    args;

    va_start(args, fmt);
    vsnprintf(line, sizeof(line), fmt, args);
    va_end(args);

    if (sscanf(th_run(h, line), ":%lld", &v) != 1) {
        return INT64_MIN;
    }

    return v;
}


/* ---- DEL UNLINK EXISTS TYPE TOUCH -------------------------------------- */


static void
test_del_exists(void)
{
    th_t  *h;

    h = th_new(0, KVMQ_EVICT_NOEVICTION);

    is(h, "+OK", "SET a 1");
    is(h, "+OK", "SET b 2");
    is(h, "+OK", "SET c 3");

    is(h, ":0", "EXISTS nosuch");
    is(h, ":1", "EXISTS a");
    is(h, ":4", "EXISTS a a b c");
    is(h, ":3", "EXISTS a nosuch a b");

    /* a key named twice is deleted once */
    is(h, ":1", "DEL a a");
    is(h, ":0", "EXISTS a");
    is(h, ":0", "DEL a nosuch");
    is(h, ":2", "UNLINK b c nosuch");
    is(h, ":0", "EXISTS b c");
    is(h, ":0", "DBSIZE");

    is(h, "!BADREQ", "DEL");
    is(h, "!BADREQ", "UNLINK");
    is(h, "!BADREQ", "EXISTS");

    /* binary keys */
    is(h, "+OK", "SET \"a\\x00b\" v");
    is(h, ":0", "EXISTS a");
    is(h, ":1", "EXISTS \"a\\x00b\"");
    is(h, ":1", "DEL \"a\\x00b\"");

    th_free(h);
}


static void
test_type_touch(void)
{
    th_t  *h;

    h = th_new(0, KVMQ_EVICT_NOEVICTION);

    is(h, "+OK", "SET s v");
    add_typed(h, "l", KVMQ_TYPE_LIST);
    add_typed(h, "h", KVMQ_TYPE_HASH);
    add_typed(h, "st", KVMQ_TYPE_SET);
    add_typed(h, "z", KVMQ_TYPE_ZSET);

    is(h, "+string", "TYPE s");
    is(h, "+list", "TYPE l");
    is(h, "+hash", "TYPE h");
    is(h, "+set", "TYPE st");
    is(h, "+zset", "TYPE z");
    is(h, "+none", "TYPE nosuch");
    is(h, "!BADREQ", "TYPE s s");

    is(h, ":2", "TOUCH s l nosuch");
    is(h, ":2", "TOUCH s s");
    is(h, ":0", "TOUCH nosuch");

    /* DEL works on any type */
    is(h, ":4", "DEL l h st z");
    is(h, ":1", "DBSIZE");

    th_free(h);
}


/* ---- expiry ------------------------------------------------------------ */


static void
test_ttl_basic(void)
{
    th_t  *h;

    h = th_new(0, KVMQ_EVICT_NOEVICTION);
    th_set_time(h, T0);

    is(h, ":-2", "TTL nosuch");
    is(h, ":-2", "PTTL nosuch");
    is(h, ":-2", "EXPIRETIME nosuch");
    is(h, ":-2", "PEXPIRETIME nosuch");

    is(h, "+OK", "SET k v");
    is(h, ":-1", "TTL k");
    is(h, ":-1", "PTTL k");
    is(h, ":-1", "EXPIRETIME k");
    is(h, ":-1", "PEXPIRETIME k");

    is(h, ":0", "EXPIRE nosuch 100");
    is(h, ":1", "EXPIRE k 100");
    is(h, ":100", "TTL k");
    is(h, ":100000", "PTTL k");
    is(h, ":1700000100", "EXPIRETIME k");
    is(h, ":1700000100000", "PEXPIRETIME k");

    /* seconds round to the nearest, as Redis does */
    th_set_time(h, T0 + 499);
    is(h, ":100", "TTL k");
    is(h, ":99501", "PTTL k");
    th_set_time(h, T0 + 501);
    is(h, ":99", "TTL k");

    th_set_time(h, T0);
    is(h, ":1", "PEXPIRE k 1500");
    is(h, ":2", "TTL k");
    is(h, ":1500", "PTTL k");
    is(h, ":1700000001500", "PEXPIRETIME k");
    is(h, ":1700000002", "EXPIRETIME k");

    is(h, ":1", "EXPIREAT k 1700000200");
    is(h, ":200", "TTL k");
    is(h, ":1", "PEXPIREAT k 1700000000250");
    is(h, ":250", "PTTL k");

    /* the key lives while now <= expire, and not a ms more */
    th_set_time(h, T0 + 250);
    is(h, ":0", "PTTL k");
    is(h, ":1", "EXISTS k");
    th_set_time(h, T0 + 251);
    is(h, ":-2", "PTTL k");
    is(h, ":0", "EXISTS k");
    is(h, ":0", "DBSIZE");

    /* PERSIST */
    th_set_time(h, T0);
    is(h, "+OK", "SET p v");
    is(h, ":0", "PERSIST p");
    is(h, ":0", "PERSIST nosuch");
    is(h, ":1", "EXPIRE p 10");
    is(h, ":1", "PERSIST p");
    is(h, ":-1", "TTL p");
    is(h, ":0", "PERSIST p");
    th_set_time(h, T0 + 20000);
    is(h, ":1", "EXISTS p");

    /* SET without KEEPTTL clears the TTL */
    th_set_time(h, T0);
    is(h, ":1", "EXPIRE p 10");
    is(h, "+OK", "SET p w");
    is(h, ":-1", "TTL p");

    /* arity */
    is(h, "!BADREQ", "EXPIRE p");
    is(h, "!BADREQ", "TTL");
    is(h, "!BADREQ", "TTL a b");
    is(h, "!BADREQ", "PERSIST");

    th_free(h);
}


static void
test_expire_past(void)
{
    th_t  *h;

    h = th_new(0, KVMQ_EVICT_NOEVICTION);
    th_set_time(h, T0);

    /* a time not in the future deletes the key and answers 1 */
    is(h, "+OK", "SET k v");
    is(h, ":1", "EXPIRE k -1");
    is(h, ":0", "EXISTS k");

    is(h, "+OK", "SET k v");
    is(h, ":1", "EXPIRE k 0");
    is(h, ":0", "EXISTS k");

    is(h, "+OK", "SET k v");
    is(h, ":1", "PEXPIRE k 0");
    is(h, ":0", "EXISTS k");

    is(h, "+OK", "SET k v");
    is(h, ":1", "PEXPIRE k -100000");
    is(h, ":0", "EXISTS k");

    is(h, "+OK", "SET k v");
    is(h, ":1", "EXPIREAT k 1");
    is(h, ":0", "EXISTS k");

    is(h, "+OK", "SET k v");
    is(h, ":1", "EXPIREAT k -5");
    is(h, ":0", "EXISTS k");

    /* now itself is not the future */
    is(h, "+OK", "SET k v");
    is(h, ":1", "PEXPIREAT k 1700000000000");
    is(h, ":0", "EXISTS k");

    is(h, "+OK", "SET k v");
    is(h, ":1", "PEXPIREAT k 1700000000001");
    is(h, ":1", "EXISTS k");
    is(h, ":1", "PTTL k");

    is(h, ":0", "EXPIRE nosuch -1");
    is(h, ":1", "DBSIZE");

    /* a deleted key with a TTL is no longer counted as volatile */
    is(h, ":1", "EXPIRE k -1");
    is(h, ":0", "DBSIZE");

    th_free(h);
}


static void
test_expire_errors(void)
{
    th_t  *h;

    h = th_new(0, KVMQ_EVICT_NOEVICTION);
    th_set_time(h, T0);

    is(h, "+OK", "SET k v");

    is(h, "!BADREQ", "EXPIRE k abc");
    is(h, "!BADREQ", "EXPIRE k 1.5");
    is(h, "!BADREQ", "EXPIRE k \"\"");
    is(h, "!BADREQ", "EXPIRE k 99999999999999999999");
    is(h, "!BADREQ", "PEXPIREAT k 1e3");

    /* overflow of seconds to ms, and of now + ttl */
    is(h, "!BADREQ", "EXPIRE k 9223372036854775807");
    errmsg_is(h, "invalid expire time in 'expire' command");
    is(h, "!BADREQ", "EXPIRE k -9223372036854775808");
    errmsg_is(h, "invalid expire time in 'expire' command");
    is(h, "!BADREQ", "EXPIRE k 9223372036854775");
    errmsg_is(h, "invalid expire time in 'expire' command");
    is(h, "!BADREQ", "PEXPIRE k 9223372036854775807");
    errmsg_is(h, "invalid expire time in 'pexpire' command");
    is(h, "!BADREQ", "EXPIREAT k 9223372036854775807");
    errmsg_is(h, "invalid expire time in 'expireat' command");

    /* none of the above touched the key */
    is(h, ":-1", "TTL k");

    /* the largest absolute time is fine */
    is(h, ":1", "PEXPIREAT k 9223372036854775807");
    is(h, ":9223372036854775807", "PEXPIRETIME k");
    is(h, ":1", "EXPIREAT k 9223372036854775");
    is(h, ":9223372036854775", "EXPIRETIME k");

    /* the number is checked even when the key is absent */
    is(h, "!BADREQ", "EXPIRE nosuch abc");
    is(h, "!BADREQ", "EXPIRE nosuch 9223372036854775807");

    th_free(h);
}


static void
test_expire_options(void)
{
    th_t  *h;

    h = th_new(0, KVMQ_EVICT_NOEVICTION);
    th_set_time(h, T0);

    is(h, "+OK", "SET k v");

    /* no TTL: NX sets, XX does not, GT never (infinite), LT always */
    is(h, ":0", "EXPIRE k 100 XX");
    is(h, ":-1", "TTL k");
    is(h, ":0", "EXPIRE k 100 GT");
    is(h, ":-1", "TTL k");
    is(h, ":1", "EXPIRE k 100 LT");
    is(h, ":100", "TTL k");
    is(h, ":1", "PERSIST k");
    is(h, ":1", "EXPIRE k 100 NX");
    is(h, ":100", "TTL k");

    /* with a TTL of 100 */
    is(h, ":0", "EXPIRE k 50 NX");
    is(h, ":100", "TTL k");
    is(h, ":1", "EXPIRE k 200 XX");
    is(h, ":200", "TTL k");
    is(h, ":0", "EXPIRE k 100 GT");
    is(h, ":0", "EXPIRE k 200 GT");
    is(h, ":1", "EXPIRE k 300 GT");
    is(h, ":300", "TTL k");
    is(h, ":0", "EXPIRE k 400 LT");
    is(h, ":0", "EXPIRE k 300 LT");
    is(h, ":1", "EXPIRE k 100 LT");
    is(h, ":100", "TTL k");

    /* XX with GT or LT: both must hold */
    is(h, ":0", "EXPIRE k 50 XX GT");
    is(h, ":1", "EXPIRE k 150 XX GT");
    is(h, ":150", "TTL k");
    is(h, ":1", "EXPIRE k 120 XX LT");
    is(h, ":120", "TTL k");
    is(h, ":0", "EXPIRE k 130 LT XX");

    /* options are case-insensitive and may repeat */
    is(h, ":1", "EXPIRE k 500 gt Gt");
    is(h, ":500", "TTL k");

    /* the other units take the same options */
    is(h, ":0", "PEXPIRE k 1000 GT");
    is(h, ":1", "PEXPIRE k 1000 LT");
    is(h, ":1000", "PTTL k");
    is(h, ":0", "EXPIREAT k 1700000000 GT");
    is(h, ":1", "EXPIREAT k 1700000002 GT");
    is(h, ":2000", "PTTL k");
    is(h, ":0", "PEXPIREAT k 1700000003000 NX");
    is(h, ":1", "PEXPIREAT k 1700000003000 XX");
    is(h, ":3000", "PTTL k");

    /* GT with a past time fails (not greater); LT deletes */
    is(h, ":0", "EXPIRE k -1 GT");
    is(h, ":1", "EXISTS k");
    is(h, ":1", "EXPIRE k -1 LT");
    is(h, ":0", "EXISTS k");

    /* without a TTL, LT with a past time deletes too */
    is(h, "+OK", "SET k v");
    is(h, ":1", "EXPIRE k -1 LT");
    is(h, ":0", "EXISTS k");

    /* an absent key answers 0 whatever the options */
    is(h, ":0", "EXPIRE nosuch 10 NX");
    is(h, ":0", "EXPIRE nosuch 10 LT");

    /* invalid combinations, even on an absent key */
    is(h, "+OK", "SET k v");
    is(h, "!BADREQ", "EXPIRE k 10 NX XX");
    errmsg_is(h, "NX and XX, GT or LT options at the same time are not "
              "compatible");
    is(h, "!BADREQ", "EXPIRE k 10 NX GT");
    errmsg_is(h, "NX and XX, GT or LT options at the same time are not "
              "compatible");
    is(h, "!BADREQ", "EXPIRE k 10 LT NX");
    is(h, "!BADREQ", "EXPIRE k 10 GT LT");
    errmsg_is(h, "GT and LT options at the same time are not compatible");
    is(h, "!BADREQ", "PEXPIRE k 10 XX GT LT");
    is(h, "!BADREQ", "EXPIRE nosuch 10 GT LT");
    is(h, "!BADREQ", "EXPIRE k 10 FOO");
    errmsg_is(h, "Unsupported option FOO");
    is(h, "!BADREQ", "EXPIRE k 10 NX 5");

    /* options are checked before the number, as in Redis */
    is(h, "!BADREQ", "EXPIRE k abc NX XX");
    errmsg_is(h, "NX and XX, GT or LT options at the same time are not "
              "compatible");

    is(h, ":-1", "TTL k");

    th_free(h);
}


/* ---- RENAME RENAMENX --------------------------------------------------- */


static void
test_rename(void)
{
    th_t    *h;
    size_t   used;

    h = th_new(0, KVMQ_EVICT_NOEVICTION);
    th_set_time(h, T0);

    is(h, "!NOTFOUND", "RENAME nosuch x");
    errmsg_is(h, "no such key");
    is(h, "!NOTFOUND", "RENAMENX nosuch x");
    errmsg_is(h, "no such key");
    is(h, "!NOTFOUND", "RENAME nosuch nosuch");

    is(h, "+OK", "SET a 1");
    is(h, "+OK", "RENAME a a");
    is(h, "\"1\"", "GET a");
    is(h, ":0", "RENAMENX a a");
    is(h, "\"1\"", "GET a");

    is(h, "+OK", "RENAME a b");
    is(h, ":0", "EXISTS a");
    is(h, "\"1\"", "GET b");
    is(h, ":1", "DBSIZE");

    /* the TTL moves with the value */
    is(h, "+OK", "SET t tv");
    is(h, ":1", "PEXPIRE t 5000");
    is(h, "+OK", "RENAME t t2");
    is(h, ":5000", "PTTL t2");
    is(h, ":-2", "PTTL t");
    is(h, "\"tv\"", "GET t2");
    is(h, ":1", "EXPIRE t2 10");
    is(h, ":1", "RENAMENX t2 t3");
    is(h, ":10000", "PTTL t3");

    /* the destination loses its own TTL: it takes the source's (none) */
    is(h, "+OK", "SET src s");
    is(h, "+OK", "SET dst d");
    is(h, ":1", "EXPIRE dst 100");
    is(h, "+OK", "RENAME src dst");
    is(h, "\"s\"", "GET dst");
    is(h, ":-1", "TTL dst");
    th_set_time(h, T0 + 200000);
    is(h, ":1", "EXISTS dst");
    th_set_time(h, T0);

    /* overwrites a destination of another type */
    add_typed(h, "list", KVMQ_TYPE_LIST);
    is(h, "+list", "TYPE list");
    is(h, "+OK", "RENAME dst list");
    is(h, "+string", "TYPE list");
    is(h, "\"s\"", "GET list");

    /* and moves a value of another type */
    add_typed(h, "hash", KVMQ_TYPE_HASH);
    is(h, "+OK", "RENAME hash h2");
    is(h, "+hash", "TYPE h2");
    is(h, "+none", "TYPE hash");

    /* RENAMENX onto an existing key changes nothing */
    is(h, "+OK", "SET x 1");
    is(h, "+OK", "SET y 2");
    is(h, ":1", "EXPIRE y 50");
    is(h, ":0", "RENAMENX x y");
    is(h, "\"1\"", "GET x");
    is(h, "\"2\"", "GET y");
    is(h, ":50", "TTL y");
    is(h, ":1", "RENAMENX x z");
    is(h, ":0", "EXISTS x");
    is(h, "\"1\"", "GET z");

    /* an expired source is absent; an expired destination is free */
    is(h, "+OK", "SET gone g");
    is(h, ":1", "PEXPIRE gone 10");
    is(h, "+OK", "SET old o");
    is(h, ":1", "PEXPIRE old 10");
    th_set_time(h, T0 + 11);
    is(h, "!NOTFOUND", "RENAME gone q");
    is(h, ":1", "RENAMENX z old");
    is(h, "\"1\"", "GET old");
    is(h, ":-1", "TTL old");

    /* binary names */
    is(h, "+OK", "RENAME old \"n\\x00\\xff\"");
    is(h, "\"1\"", "GET \"n\\x00\\xff\"");

    is(h, "!BADREQ", "RENAME a");
    is(h, "!BADREQ", "RENAME a b c");

    /* renames leak nothing: a flush returns to the empty db's usage */
    is(h, "+OK", "FLUSHALL");
    used = h->used;
    is(h, "+OK", "SET a 1");
    is(h, "+OK", "SET b 2");
    is(h, ":1", "EXPIRE a 100");
    is(h, "+OK", "RENAME a b");
    is(h, "+OK", "RENAME b c");
    is(h, ":1", "DEL c");
    tap_is_int((long long) h->used, (long long) used,
               "rename: no memory leaked");

    th_free(h);
}


/* a zone too full to copy a key: RENAME over an existing key still works
 * because deleting the destination frees the block the new entry needs */
static void
test_rename_full(void)
{
    th_t    *h;
    size_t   limit;

    h = th_new(0, KVMQ_EVICT_NOEVICTION);
    is(h, "+OK", "SET k1 a");
    is(h, "+OK", "SET k2 b");
    limit = h->used;
    th_free(h);

    h = th_new(limit, KVMQ_EVICT_NOEVICTION);
    is(h, "+OK", "SET k1 a");
    is(h, "+OK", "SET k2 b");
    is(h, "!NOMEM", "SET k3 c");
    is(h, "!NOMEM", "RENAME k1 k3");
    is(h, "\"a\"", "GET k1");
    is(h, ":0", "EXISTS k3");
    is(h, "+OK", "RENAME k1 k2");
    is(h, "\"a\"", "GET k2");
    is(h, ":1", "DBSIZE");

    th_free(h);
}


/* ---- KEYS -------------------------------------------------------------- */


static void
test_keys(void)
{
    th_t      *h;
    unsigned   i;
    strlist_t  *l;

    h = th_new(0, KVMQ_EVICT_NOEVICTION);

    is(h, "[]", "KEYS *");

    is(h, "+OK", "SET foo 1");
    is(h, "+OK", "SET foobar 1");
    is(h, "+OK", "SET bar 1");
    is(h, "+OK", "SET hello 1");
    is(h, "+OK", "SET hallo 1");
    is(h, "+OK", "SET hxllo 1");
    is(h, "+OK", "SET \"h*llo\" 1");

    tap_is_str(sorted_bulks(run(h, "KEYS *")),
               "bar,foo,foobar,h*llo,hallo,hello,hxllo", "KEYS *");
    tap_is_str(sorted_bulks(run(h, "KEYS f*")), "foo,foobar", "KEYS f*");
    tap_is_str(sorted_bulks(run(h, "KEYS f?o")), "foo", "KEYS f?o");
    tap_is_str(sorted_bulks(run(h, "KEYS h[ae]llo")), "hallo,hello",
               "KEYS h[ae]llo");
    tap_is_str(sorted_bulks(run(h, "KEYS h[^e]llo")), "h*llo,hallo,hxllo",
               "KEYS h[^e]llo");
    tap_is_str(sorted_bulks(run(h, "KEYS h\\*llo")), "h*llo",
               "KEYS h\\*llo (escaped star)");
    tap_is_str(sorted_bulks(run(h, "KEYS *bar")), "bar,foobar", "KEYS *bar");
    is(h, "[]", "KEYS nomatch*");
    is(h, "!BADREQ", "KEYS");
    is(h, "!BADREQ", "KEYS a b");

    /* a keyspace larger than one scan batch: every key exactly once */
    is(h, "+OK", "FLUSHALL");

    for (i = 0; i < 3000; i++) {
        run(h, "SET key:%u v", i);
    }

    l = calloc(1, sizeof(strlist_t));
    each_bulk(run(h, "KEYS *"), strlist_add, l);
    tap_is_int(l->n, 3000, "KEYS * over 3000 keys: 3000 answers");

    qsort(l->items, l->n, sizeof(char *), strcmp_p);

    for (i = 1; i < l->n; i++) {
        if (strcmp(l->items[i - 1], l->items[i]) == 0) {
            break;
        }
    }

    tap_ok(l->n > 0 && i == l->n, "KEYS *: no key twice");

    for (i = 0; i < l->n; i++) {
        free(l->items[i]);
    }

    free(l);

    tap_is_int(each_bulk(run(h, "KEYS key:1??"), NULL, NULL), 100,
               "KEYS key:1??");

    th_free(h);
}


/* ---- SCAN -------------------------------------------------------------- */


typedef struct {
    unsigned char   *seen;          /* per numbered key: times seen */
    const char      *prefix;
    unsigned         max;
    unsigned         other;         /* keys without the prefix */
    unsigned         total;
} seen_t;


static void
seen_add(void *arg, const char *p, size_t len)
{
    size_t     plen;
    unsigned   i;
    seen_t    *s;

    s = arg;
    plen = strlen(s->prefix);
    s->total++;

    if (len > plen && memcmp(p, s->prefix, plen) == 0) {
        i = (unsigned) strtoul(p + plen, NULL, 10);

        if (i < s->max && s->seen[i] < 255) {
            s->seen[i]++;
        }

        return;
    }

    s->other++;
}


/* a full SCAN with these options; returns the number of calls */
static unsigned
scan_all(th_t *h, const char *opts, seen_t *s)
{
    unsigned            calls;
    unsigned long long  cursor;

    cursor = 0;
    calls = 0;

    do {
        if (scan_parse(run(h, "SCAN %llu %s", cursor, opts), &cursor,
                       seen_add, s) != 0)
        {
            tap_ok(0, "SCAN reply shape: %s", h->out);
            break;
        }

        calls++;

    } while (cursor != 0 && calls < 1000000);

    return calls;
}


static unsigned
seen_missing(const seen_t *s, unsigned from, unsigned to)
{
    unsigned  i, n;

    n = 0;

    for (i = from; i < to; i++) {
        if (s->seen[i] == 0) {
            n++;
        }
    }

    return n;
}


static void
test_scan(void)
{
    th_t      *h;
    seen_t     s;
    unsigned   i, calls;

    h = th_new(0, KVMQ_EVICT_NOEVICTION);

    is(h, "[\"0\",[]]", "SCAN 0");
    is(h, "[\"0\",[]]", "SCAN 0 COUNT 100 MATCH * TYPE string");

    is(h, "+OK", "SET one 1");
    is(h, "[\"0\",[\"one\"]]", "SCAN 0");

    /* the cursor */
    is(h, "!BADREQ", "SCAN abc");
    errmsg_is(h, "invalid cursor");
    is(h, "!BADREQ", "SCAN -1");
    is(h, "!BADREQ", "SCAN \"\"");
    is(h, "!BADREQ", "SCAN \" 1\"");
    is(h, "!BADREQ", "SCAN 1x");
    is(h, "!BADREQ", "SCAN 18446744073709551616");
    errmsg_is(h, "invalid cursor");
    is(h, "!BADREQ", "SCAN 100000000000000000000");
    tap_ok(strncmp(run(h, "SCAN 18446744073709551615"), "[\"", 2) == 0,
           "SCAN 18446744073709551615 is a valid cursor");
    tap_ok(strncmp(run(h, "SCAN 007"), "[\"", 2) == 0,
           "SCAN 007 is a valid cursor");

    /* options */
    is(h, "!BADREQ", "SCAN 0 COUNT 0");
    errmsg_is(h, "syntax error");
    is(h, "!BADREQ", "SCAN 0 COUNT -1");
    is(h, "!BADREQ", "SCAN 0 COUNT abc");
    is(h, "!BADREQ", "SCAN 0 COUNT");
    is(h, "!BADREQ", "SCAN 0 MATCH");
    is(h, "!BADREQ", "SCAN 0 TYPE");
    is(h, "!BADREQ", "SCAN 0 FOO bar");
    is(h, "!BADREQ", "SCAN 0 TYPE nosuchtype");
    errmsg_is(h, "unknown type name 'nosuchtype'");
    is(h, "[\"0\",[\"one\"]]", "SCAN 0 count 5 match o* type STRING");
    is(h, "[\"0\",[\"one\"]]", "SCAN 0 COUNT 1 COUNT 9223372036854775807");
    is(h, "[\"0\",[]]", "SCAN 0 MATCH x*");
    is(h, "[\"0\",[]]", "SCAN 0 TYPE list");
    is(h, "!BADREQ", "SCAN");

    /* 1000 strings, 100 lists: full scans with filters */
    is(h, "+OK", "FLUSHALL");

    for (i = 0; i < 1000; i++) {
        run(h, "SET k%u v", i);
    }

    for (i = 0; i < 100; i++) {
        char  name[32];

        snprintf(name, sizeof(name), "l%u", i);
        add_typed(h, name, KVMQ_TYPE_LIST);
    }

    memset(&s, 0, sizeof(s));
    s.seen = calloc(1000, 1);
    s.prefix = "k";
    s.max = 1000;

    calls = scan_all(h, "COUNT 5", &s);
    tap_is_int(seen_missing(&s, 0, 1000), 0, "SCAN COUNT 5: every key seen");
    tap_is_int(s.other, 100, "SCAN COUNT 5: every list seen");
    tap_ok(calls > 20, "SCAN COUNT 5 took many calls (%u)", calls);

    memset(s.seen, 0, 1000);
    s.other = 0;
    s.total = 0;
    calls = scan_all(h, "COUNT 100000", &s);
    tap_is_int(calls, 1, "SCAN COUNT 100000: one call");
    tap_is_int(s.total, 1100, "SCAN COUNT 100000: all keys, once each");

    memset(s.seen, 0, 1000);
    s.other = 0;
    s.total = 0;
    scan_all(h, "COUNT 7 TYPE list", &s);
    tap_is_int(s.total, 100, "SCAN TYPE list: only the lists");
    tap_is_int(s.other, 100, "SCAN TYPE list: all the lists");

    s.other = 0;
    s.total = 0;
    scan_all(h, "TYPE string MATCH k1*", &s);
    tap_is_int(s.total, 111, "SCAN TYPE string MATCH k1*: k1, k1N, k1NN");
    tap_is_int(seen_missing(&s, 100, 200), 0, "SCAN MATCH k1*: k1NN seen");
    tap_is_int(s.seen[1] && s.seen[10] && s.seen[19], 1,
               "SCAN MATCH k1*: k1 and k1N seen");

    /* MATCH filters after the visit: a call may return no key and still
     * a non-zero cursor */
    {
        unsigned long long  cursor;

        s.total = 0;
        scan_parse(run(h, "SCAN 0 COUNT 10 MATCH nomatch"), &cursor,
                   seen_add, &s);
        tap_ok(cursor != 0 && s.total == 0,
               "SCAN MATCH nomatch: empty page, cursor %llu", cursor);
    }

    free(s.seen);
    th_free(h);
}


/*
 * The SCAN guarantee.  STABLE keys are present throughout; between two
 * SCAN calls other keys are added (the table grows, rehashing
 * incrementally while the scan goes on), then deleted with cron ticks in
 * between (the table shrinks).  Every stable key must be returned.
 */
static void
test_scan_guarantee(void)
{
    th_t                *h;
    seen_t               s;
    unsigned             i, calls, added, deleted, step, ticks;
    uint64_t             start_size, max_size;
    unsigned long long   cursor;
    int                  grow_seen, shrink_seen, shrink_done;
    kvmq_dict_t         *d;

    h = th_new(0, KVMQ_EVICT_NOEVICTION);
    d = &h->db->dict;

    for (i = 0; i < STABLE; i++) {
        run(h, "SET stable:%u v", i);
    }

    /* settle: no rehash in progress at the start */
    while (d->rehashidx >= 0) {
        kvmq_db_cron(&h->ctx, 1000, 1000000);
    }

    start_size = d->t[0].size;
    max_size = start_size;
    grow_seen = 0;
    shrink_seen = 0;
    shrink_done = 0;

    memset(&s, 0, sizeof(s));
    s.seen = calloc(STABLE, 1);
    s.prefix = "stable:";
    s.max = STABLE;

    cursor = 0;
    calls = 0;
    added = 0;
    deleted = 0;

    do {
        if (scan_parse(run(h, "SCAN %llu COUNT 10", cursor), &cursor,
                       seen_add, &s) != 0)
        {
            tap_ok(0, "SCAN reply shape: %s", h->out);
            break;
        }

        calls++;

        if (calls <= 120) {
            /* grow: 40080 more keys over 120 calls */
            for (step = 0; step < 334; step++) {
                run(h, "SET tmp:%u v", added++);
            }

            ticks = 0;

        } else if (deleted < added) {
            /* shrink: delete them all, the cron shrinks the table */
            for (step = 0; step < 2000 && deleted < added; step++) {
                run(h, "DEL tmp:%u", deleted++);
            }

            ticks = 1;

        } else {
            /* enough ticks for the shrink to end before the scan does */
            ticks = 4;
        }

        while (ticks--) {
            kvmq_db_cron(&h->ctx, 100, 1000000);
        }

        if (d->rehashidx >= 0) {
            if (d->t[1].size > d->t[0].size) {
                grow_seen++;

            } else {
                shrink_seen++;
            }
        }

        if (d->t[0].size > max_size) {
            max_size = d->t[0].size;
        }

        if (shrink_seen && d->rehashidx < 0 && d->t[0].size < max_size) {
            shrink_done = 1;
        }

    } while (cursor != 0 && calls < 100000);

    tap_diag("scan: %u calls, table %llu -> %llu -> %llu; between calls: "
             "growing %d times, shrinking %d times", calls,
             (unsigned long long) start_size,
             (unsigned long long) max_size,
             (unsigned long long) d->t[0].size, grow_seen, shrink_seen);

    tap_ok(max_size >= start_size * 4, "the table grew during the scan");
    tap_ok(grow_seen > 0, "a growing rehash ran between scan calls");
    tap_ok(deleted == added && calls > 120,
           "the temporary keys were deleted during the scan");
    tap_ok(shrink_seen > 0, "a shrinking rehash ran between scan calls");
    tap_ok(shrink_done, "the shrink completed before the scan ended");
    tap_is_int(seen_missing(&s, 0, STABLE), 0,
               "SCAN guarantee: every stable key was returned");
    tap_is_int(s.other > 0, 1, "temporary keys were returned too");
    tap_is_int(info_i64(h, "DBSIZE"), STABLE, "only the stable keys remain");

    /* a second scan, COUNT 3, while the cron rehashes a shrink under it */
    for (i = 0; i < 40000; i++) {
        run(h, "SET tmp:%u v", i);
    }

    for (i = 0; i < 40000; i++) {
        run(h, "DEL tmp:%u", i);
    }

    memset(s.seen, 0, STABLE);
    cursor = 0;
    calls = 0;
    shrink_seen = 0;

    do {
        scan_parse(run(h, "SCAN %llu COUNT 3", cursor), &cursor, seen_add,
                   &s);
        kvmq_db_cron(&h->ctx, 10, 1000000);
        shrink_seen += d->rehashidx >= 0 && d->t[1].size < d->t[0].size;
        calls++;
    } while (cursor != 0 && calls < 100000);

    tap_ok(shrink_seen > 0, "second scan: shrinking under it (%d of %u "
           "calls)", shrink_seen, calls);
    tap_is_int(seen_missing(&s, 0, STABLE), 0,
               "second scan: every stable key was returned");

    free(s.seen);
    th_free(h);
}


/* ---- expiry as seen by every command ----------------------------------- */


static void
test_lazy_expiry(void)
{
    th_t          *h;
    unsigned       i;
    const char    *r;
    kvmq_stats_t   st;

    h = th_new(0, KVMQ_EVICT_NOEVICTION);
    th_set_time(h, T0);

    is(h, "+OK", "SET live v");

    for (i = 0; i < 8; i++) {
        run(h, "SET e%u v", i);
        run(h, "PEXPIRE e%u 100", i);
    }

    is(h, ":9", "DBSIZE");

    th_set_time(h, T0 + 101);

    /* walks skip expired keys without reaping them */
    is(h, "[\"live\"]", "KEYS *");
    is(h, "[]", "KEYS e*");
    is(h, "[\"0\",[\"live\"]]", "SCAN 0 COUNT 1000");
    is(h, "[\"0\",[]]", "SCAN 0 COUNT 1000 MATCH e*");
    is(h, ":9", "DBSIZE");

    /* each lookup reaps the key it finds expired */
    is(h, "nil", "GET e0");
    is(h, ":0", "EXISTS e1");
    is(h, ":-2", "TTL e2");
    is(h, ":-2", "PTTL e3");
    is(h, "+none", "TYPE e4");
    is(h, ":0", "DEL e5");
    is(h, ":0", "PERSIST e6");
    is(h, ":5", "EXISTS live e0 e1 e2 e3 e4 e5 e6 live live live live");
    is(h, ":2", "DBSIZE");

    kvmq_db_stats(h->db, &st);
    tap_is_int((long long) st.expired, 7, "7 keys expired by lookups");
    tap_is_int((long long) st.volatile_keys, 1, "1 volatile key left (e7)");

    /* the cron reaps the last one */
    tap_is_int(kvmq_db_cron(&h->ctx, 1000, 1000000), 1, "cron expires e7");
    is(h, ":1", "DBSIZE");

    /* RANDOMKEY never returns an expired key */
    th_set_time(h, T0);

    for (i = 0; i < 50; i++) {
        run(h, "SET r%u v", i);
        run(h, "PEXPIRE r%u 100", i);
    }

    th_set_time(h, T0 + 101);

    for (i = 0; i < 200; i++) {
        r = run(h, "RANDOMKEY");
        if (strcmp(r, "\"live\"") != 0) {
            break;
        }
    }

    tap_ok(i == 200, "RANDOMKEY: only the live key (%s)", r);

    is(h, ":1", "DEL live");

    /* only expired keys left: nil, and they are reaped */
    th_set_time(h, T0);

    for (i = 0; i < 5; i++) {
        run(h, "SET q%u v", i);
        run(h, "PEXPIRE q%u 100", i);
    }

    th_set_time(h, T0 + 101);
    is(h, "nil", "RANDOMKEY");

    while (kvmq_db_cron(&h->ctx, 1000, 1000000) != 0) { /* void */ }
    is(h, ":0", "DBSIZE");

    /* a sparse table (many deletes, no cron yet) still yields its key */
    for (i = 0; i < 2000; i++) {
        run(h, "SET s%u v", i);
    }

    for (i = 1; i < 2000; i++) {
        run(h, "DEL s%u", i);
    }

    for (i = 0; i < 50; i++) {
        r = run(h, "RANDOMKEY");
        if (strcmp(r, "\"s0\"") != 0) {
            break;
        }
    }

    tap_ok(i == 50, "RANDOMKEY on a sparse table: the one key (%s)", r);
    is(h, ":1", "DEL s0");

    /* RENAME never resurrects */
    th_set_time(h, T0);
    is(h, "+OK", "SET x v");
    is(h, ":1", "PEXPIRE x 10");
    th_set_time(h, T0 + 11);
    is(h, "!NOTFOUND", "RENAME x y");
    is(h, ":0", "EXISTS y");

    th_free(h);
}


static void
test_cron(void)
{
    th_t          *h;
    unsigned       i, n, calls, total, max_n;
    kvmq_stats_t   st;

    h = th_new(0, KVMQ_EVICT_NOEVICTION);
    th_set_time(h, T0);

    tap_is_int(kvmq_db_cron(&h->ctx, 100, 1000000), 0,
               "cron on an empty db");

    for (i = 0; i < 2000; i++) {
        run(h, "SET p%u v", i);
        run(h, "SET v%u v", i);
        run(h, "PEXPIRE v%u 1000", i);
    }

    /* nothing due yet */
    tap_is_int(kvmq_db_cron(&h->ctx, 100000, 1000000), 0,
               "cron before the time expires nothing");
    is(h, ":4000", "DBSIZE");

    th_set_time(h, T0 + 1001);

    calls = 0;
    total = 0;
    max_n = 0;

    do {
        n = kvmq_db_cron(&h->ctx, 50, 1000000);
        total += n;
        calls++;

        if (n > max_n) {
            max_n = n;
        }

    } while ((n != 0 || info_i64(h, "DBSIZE") > 2000) && calls < 10000);

    tap_diag("cron: %u calls, at most %u keys a call", calls, max_n);
    tap_ok(max_n <= 50, "cron: at most max_keys (50) expired per call");
    tap_ok(calls >= 2000 / 50, "cron: the work took several calls");
    tap_is_int(total, 2000, "cron: all 2000 volatile keys expired");
    is(h, ":2000", "DBSIZE");

    kvmq_db_stats(h->db, &st);
    tap_is_int((long long) st.volatile_keys, 0, "no volatile keys left");
    tap_is_int((long long) st.expired, 2000, "expired counter");

    for (i = 0; i < 2000; i++) {
        if (strcmp(run(h, "EXISTS p%u", i), ":1") != 0) {
            break;
        }
    }

    tap_is_int(i, 2000, "cron kept every key without a TTL");

    /* the time budget stops a call early; a zero budget still progresses */
    for (i = 0; i < 1000; i++) {
        run(h, "SET w%u v", i);
        run(h, "PEXPIRE w%u 1", i);
    }

    th_set_time(h, T0 + 2000);

    calls = 0;
    total = 0;

    while (total < 1000 && calls < 100000) {
        total += kvmq_db_cron(&h->ctx, 1000000, 0);
        calls++;
    }

    tap_is_int(total, 1000, "cron with no time budget still expires all");

    th_free(h);
}


/* ---- a large keyspace -------------------------------------------------- */


static void
test_large(void)
{
    th_t          *h;
    unsigned       i, j, bad, rehash_seen, probes;
    kvmq_stats_t   st;

    h = th_new(0, KVMQ_EVICT_NOEVICTION);

    bad = 0;
    rehash_seen = 0;
    probes = 0;

    for (i = 0; i < LARGE; i++) {
        if (strcmp(run(h, "SET big:%u %u", i, i), "+OK") != 0) {
            bad++;
        }

        if (i % 997 == 0) {
            kvmq_db_stats(h->db, &st);

            if (st.rehashing) {
                rehash_seen++;

                /* every key so far, in the middle of a rehash */
                for (j = 0; j <= i; j += 7) {
                    probes++;
                    if (strcmp(run(h, "EXISTS big:%u", j), ":1") != 0) {
                        bad++;
                    }
                }
            }
        }
    }

    tap_is_int(bad, 0, "100k keys: all set, all found during rehashes");
    tap_ok(rehash_seen > 0, "100k keys: rehashes seen (%u, %u probes)",
           rehash_seen, probes);
    tap_is_int(info_i64(h, "DBSIZE"), LARGE, "DBSIZE 100000");

    bad = 0;

    for (i = 0; i < LARGE; i++) {
        char  expect[32];

        snprintf(expect, sizeof(expect), "\"%u\"", i);

        if (strcmp(run(h, "GET big:%u", i), expect) != 0) {
            bad++;
        }
    }

    tap_is_int(bad, 0, "100k keys: every value read back");
    is(h, ":0", "EXISTS big:100000");

    /* delete 9 in 10, shrink under cron, check the rest throughout */
    for (i = 0; i < LARGE; i++) {
        if (i % 10 != 0) {
            run(h, "DEL big:%u", i);
        }
    }

    tap_is_int(info_i64(h, "DBSIZE"), LARGE / 10, "DBSIZE 10000");

    bad = 0;
    rehash_seen = 0;

    for (j = 0; j < 10000; j++) {
        kvmq_db_cron(&h->ctx, 100, 1000000);
        kvmq_db_stats(h->db, &st);

        if (!st.rehashing) {
            if (rehash_seen) {
                break;
            }

            continue;
        }

        rehash_seen++;

        for (i = j % 50 * 10; i < LARGE; i += 500) {
            if (strcmp(run(h, "EXISTS big:%u", i), ":1") != 0) {
                bad++;
            }
        }
    }

    kvmq_db_stats(h->db, &st);
    tap_ok(rehash_seen > 0, "shrink: cron rehashed (%u ticks), buckets %llu",
           rehash_seen, (unsigned long long) st.buckets);
    tap_ok(st.buckets < LARGE, "shrink: the table got smaller");

    for (i = 0; i < LARGE; i++) {
        if (strcmp(run(h, "EXISTS big:%u", i), i % 10 ? ":0" : ":1") != 0) {
            bad++;
        }
    }

    tap_is_int(bad, 0, "shrink: exactly the kept keys are found");

    th_free(h);
}


/* ---- RANDOMKEY DBSIZE FLUSHALL ----------------------------------------- */


static void
test_random_dbsize_flush(void)
{
    th_t          *h;
    unsigned       i, seen_a, seen_b;
    size_t         used;
    const char    *r;
    kvmq_stats_t   st;

    h = th_new(0, KVMQ_EVICT_NOEVICTION);
    used = h->used;

    is(h, "nil", "RANDOMKEY");
    is(h, ":0", "DBSIZE");
    is(h, "!BADREQ", "RANDOMKEY x");
    is(h, "!BADREQ", "DBSIZE x");

    is(h, "+OK", "SET a 1");
    is(h, "\"a\"", "RANDOMKEY");
    is(h, "+OK", "SET b 1");
    is(h, ":2", "DBSIZE");

    seen_a = 0;
    seen_b = 0;

    for (i = 0; i < 200; i++) {
        r = run(h, "RANDOMKEY");
        seen_a += strcmp(r, "\"a\"") == 0;
        seen_b += strcmp(r, "\"b\"") == 0;
    }

    tap_is_int(seen_a + seen_b, 200, "RANDOMKEY: only existing keys");
    tap_ok(seen_a > 20 && seen_b > 20, "RANDOMKEY: both come up (%u/%u)",
           seen_a, seen_b);

    for (i = 0; i < 1000; i++) {
        run(h, "SET k%u v", i);
        run(h, "EXPIRE k%u 100", i);
    }

    is(h, ":1002", "DBSIZE");
    is(h, "+OK", "FLUSHALL");
    is(h, ":0", "DBSIZE");
    is(h, "nil", "RANDOMKEY");
    is(h, "[]", "KEYS *");

    kvmq_db_stats(h->db, &st);
    tap_is_int((long long) st.volatile_keys, 0, "FLUSHALL: no volatile keys");
    tap_is_int((long long) h->used, (long long) used,
               "FLUSHALL: memory back to the empty db's");

    is(h, "+OK", "SET a 1");
    is(h, "+OK", "FLUSHALL ASYNC");
    is(h, ":0", "DBSIZE");
    is(h, "+OK", "SET a 1");
    is(h, "+OK", "flushall sync");
    is(h, ":0", "DBSIZE");
    is(h, "!BADREQ", "FLUSHALL FOO");
    is(h, "!BADREQ", "FLUSHALL ASYNC SYNC");
    is(h, "+OK", "SET a 1");
    is(h, "+OK", "FLUSHALL");
    is(h, "+OK", "FLUSHALL");
    is(h, ":0", "DBSIZE");

    /* the db is usable after a flush */
    is(h, "+OK", "SET after 1");
    is(h, "\"1\"", "GET after");

    /* read-only contexts refuse the writes of this file */
    h->ctx.readonly = 1;
    is(h, "!DENIED", "DEL after");
    is(h, "!DENIED", "EXPIRE after 10");
    is(h, "!DENIED", "PERSIST after");
    is(h, "!DENIED", "RENAME after x");
    is(h, "!DENIED", "FLUSHALL");
    is(h, ":1", "EXISTS after");
    is(h, "[\"0\",[\"after\"]]", "SCAN 0");
    h->ctx.readonly = 0;

    th_free(h);
}


int
main(void)
{
    test_del_exists();
    test_type_touch();
    test_ttl_basic();
    test_expire_past();
    test_expire_errors();
    test_expire_options();
    test_rename();
    test_rename_full();
    test_keys();
    test_scan();
    test_scan_guarantee();
    test_lazy_expiry();
    test_cron();
    test_large();
    test_random_dbsize_flush();

    return tap_done();
}
