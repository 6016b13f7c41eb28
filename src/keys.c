/*
 * Commands on the keyspace as a whole: DEL UNLINK EXISTS TYPE TOUCH, the
 * expiry family (EXPIRE PEXPIRE EXPIREAT PEXPIREAT EXPIRETIME PEXPIRETIME
 * TTL PTTL PERSIST), RENAME RENAMENX, and the walks KEYS SCAN RANDOMKEY
 * DBSIZE FLUSHALL.
 *
 * None of these looks inside a value, so they are written against the
 * db API of engine.h only: lookups (which apply lazy expiry), delete,
 * rename, set_expire, scan.  The semantics are Redis 7's, including the
 * corner cases clients depend on:
 *
 *   - EXISTS counts a key named twice twice; DEL counts it once, since
 *     the second lookup finds it gone.
 *   - EXPIRE and friends take NX XX GT LT.  A key without a TTL has an
 *     infinite one: GT never succeeds on it, LT always does.  A time not
 *     in the future deletes the key (and answers 1), the way Redis does
 *     it so that a replica or a journal never sees a key outlive its
 *     time.  Seconds are turned into an absolute ms time with overflow
 *     checks; an overflow is "invalid expire time".
 *   - RENAME of a key onto itself is OK when it exists; the TTL moves
 *     with the value; an existing destination of any type is replaced.
 *   - SCAN replies [cursor, [keys]] with the cursor as a bulk string of
 *     an unsigned 64-bit number.  The guarantee (a key present for the
 *     whole scan is returned at least once, even across a rehash) comes
 *     from the reverse-binary cursor of dict.c; a key may come twice.
 *     MATCH and TYPE filter after the buckets are visited, so a call may
 *     return fewer keys than COUNT, or none, with a non-zero cursor.
 *
 * KEYS walks the whole keyspace under the lock: O(N) in the number of
 * keys, as in Redis, and it blocks every worker meanwhile.  It exists for
 * small zones and debugging; the doors document SCAN as the way to list
 * keys.  It is a loop of kvmq_db_scan() calls with no db change in
 * between, so it returns every key exactly once.
 *
 * SCAN must send the cursor before the keys, and the cursor is known
 * only after the visit, so the matching entries are first collected in
 * process memory (a stack array, then the C heap for a large COUNT).
 * The scratch never goes to the zone: allocating there could evict keys
 * or fail for lack of room, neither acceptable for a read.
 */

#include <stdlib.h>

#include "commands.h"
#include "db.h"


#define KVMQ_SCAN_STACK      128

/* kvmq_db_scan() visits up to count * 10 buckets in an unsigned */
#define KVMQ_SCAN_COUNT_MAX  (UINT32_MAX / 16)

/* the cursor: at most 20 decimal digits (UINT64_MAX) */
#define KVMQ_U64_DIGITS      20


#define KVMQ_EXPIRE_NX       0x01
#define KVMQ_EXPIRE_XX       0x02
#define KVMQ_EXPIRE_GT       0x04
#define KVMQ_EXPIRE_LT       0x08


typedef struct {
    kvmq_ctx_t              *c;
    const kvmq_slice_t      *pattern;     /* NULL = every key */
    int                      type;        /* -1 = every type */

    kvmq_entry_t           **list;
    size_t                   n;
    size_t                   cap;
    int                      nomem;
    kvmq_entry_t            *stack[KVMQ_SCAN_STACK];
} kvmq_keys_walk_t;


static void kvmq_expire_generic(kvmq_ctx_t *c, int argc,
    const kvmq_slice_t *argv, int64_t base, int64_t unit, const char *name);
static void kvmq_ttl_generic(kvmq_ctx_t *c, const kvmq_slice_t *key,
    int ms, int absolute);
static void kvmq_rename_generic(kvmq_ctx_t *c, const kvmq_slice_t *argv,
    int nx);
static int kvmq_keys_filter(kvmq_keys_walk_t *w, kvmq_entry_t *e);
static void kvmq_keys_reply_entry(void *arg, kvmq_entry_t *e);
static void kvmq_scan_collect(void *arg, kvmq_entry_t *e);
static int kvmq_parse_cursor(const kvmq_slice_t *a, uint64_t *v);
static size_t kvmq_u64_to_str(char *buf, uint64_t v);


/* ---- DEL UNLINK EXISTS TYPE TOUCH -------------------------------------- */


void
kvmq_cmd_del(kvmq_ctx_t *c, int argc, const kvmq_slice_t *argv)
{
    int            i;
    int64_t        n;
    kvmq_entry_t  *e;

    n = 0;

    for (i = 1; i < argc; i++) {
        e = kvmq_lookup_write(c, &argv[i]);

        if (e != NULL) {
            kvmq_db_delete(c, e);
            n++;
        }
    }

    kvmq_reply_int(c, n);
}


/*
 * Redis frees big values of UNLINK in a background thread.  Here every
 * delete already hands big values to the lazy-free queue (lazyfree.c)
 * that the cron drains in bounded steps, so UNLINK and DEL are the same.
 */
void
kvmq_cmd_unlink(kvmq_ctx_t *c, int argc, const kvmq_slice_t *argv)
{
    kvmq_cmd_del(c, argc, argv);
}


void
kvmq_cmd_exists(kvmq_ctx_t *c, int argc, const kvmq_slice_t *argv)
{
    int      i;
    int64_t  n;

    n = 0;

    for (i = 1; i < argc; i++) {
        if (kvmq_lookup_read(c, &argv[i]) != NULL) {
            n++;
        }
    }

    kvmq_reply_int(c, n);
}


void
kvmq_cmd_type(kvmq_ctx_t *c, int argc, const kvmq_slice_t *argv)
{
    kvmq_entry_t  *e;

    (void) argc;

    e = kvmq_lookup_read(c, &argv[1]);

    kvmq_reply_status(c, e ? kvmq_type_name((kvmq_type_e) e->type)
                           : "none");
}


/* TOUCH refreshes the LRU/LFU data of keys; the lookup does just that */
void
kvmq_cmd_touch(kvmq_ctx_t *c, int argc, const kvmq_slice_t *argv)
{
    kvmq_cmd_exists(c, argc, argv);
}


/* ---- expiry ------------------------------------------------------------ */


void
kvmq_cmd_expire(kvmq_ctx_t *c, int argc, const kvmq_slice_t *argv)
{
    kvmq_expire_generic(c, argc, argv, c->now_ms, 1000, "expire");
}


void
kvmq_cmd_pexpire(kvmq_ctx_t *c, int argc, const kvmq_slice_t *argv)
{
    kvmq_expire_generic(c, argc, argv, c->now_ms, 1, "pexpire");
}


void
kvmq_cmd_expireat(kvmq_ctx_t *c, int argc, const kvmq_slice_t *argv)
{
    kvmq_expire_generic(c, argc, argv, 0, 1000, "expireat");
}


void
kvmq_cmd_pexpireat(kvmq_ctx_t *c, int argc, const kvmq_slice_t *argv)
{
    kvmq_expire_generic(c, argc, argv, 0, 1, "pexpireat");
}


/*
 * The order of checks is Redis': options, then the number, then its
 * range, then the key.  So "EXPIRE missing 10 NX XX" is an error, not 0.
 */
static void
kvmq_expire_generic(kvmq_ctx_t *c, int argc, const kvmq_slice_t *argv,
    int64_t base, int64_t unit, const char *name)
{
    int            i;
    unsigned       flags;
    int64_t        cur;
    long long      when;
    kvmq_entry_t  *e;

    flags = 0;

    for (i = 3; i < argc; i++) {
        if (kvmq_arg_is(&argv[i], "NX")) {
            flags |= KVMQ_EXPIRE_NX;

        } else if (kvmq_arg_is(&argv[i], "XX")) {
            flags |= KVMQ_EXPIRE_XX;

        } else if (kvmq_arg_is(&argv[i], "GT")) {
            flags |= KVMQ_EXPIRE_GT;

        } else if (kvmq_arg_is(&argv[i], "LT")) {
            flags |= KVMQ_EXPIRE_LT;

        } else {
            kvmq_reply_error(c, KVMQ_ERR_BADREQ, "Unsupported option %.*s",
                             (int) (argv[i].len > 64 ? 64 : argv[i].len),
                             argv[i].data);
            return;
        }
    }

    if ((flags & KVMQ_EXPIRE_NX)
        && (flags & (KVMQ_EXPIRE_XX|KVMQ_EXPIRE_GT|KVMQ_EXPIRE_LT)))
    {
        kvmq_reply_error(c, KVMQ_ERR_BADREQ, "NX and XX, GT or LT options "
                         "at the same time are not compatible");
        return;
    }

    if ((flags & KVMQ_EXPIRE_GT) && (flags & KVMQ_EXPIRE_LT)) {
        kvmq_reply_error(c, KVMQ_ERR_BADREQ, "GT and LT options at the same "
                         "time are not compatible");
        return;
    }

    if (kvmq_arg_ll(c, &argv[2], &when) != 0) {
        return;
    }

    if (unit != 1 && (when > INT64_MAX / unit || when < INT64_MIN / unit)) {
        goto invalid;
    }

    when *= unit;

    /* base is never negative: the clock, or 0 for the *AT forms */
    if (when > INT64_MAX - base) {
        goto invalid;
    }

    when += base;

    e = kvmq_lookup_write(c, &argv[1]);

    if (e == NULL) {
        kvmq_reply_int(c, 0);
        return;
    }

    /* an entry without a TTL has expire 0: an infinite time */
    cur = e->expire;

    if (((flags & KVMQ_EXPIRE_NX) && cur != 0)
        || ((flags & KVMQ_EXPIRE_XX) && cur == 0)
        || ((flags & KVMQ_EXPIRE_GT) && (cur == 0 || when <= cur))
        || ((flags & KVMQ_EXPIRE_LT) && cur != 0 && when >= cur))
    {
        kvmq_reply_int(c, 0);
        return;
    }

    if (when <= c->now_ms) {
        kvmq_db_delete(c, e);
        kvmq_reply_int(c, 1);
        return;
    }

    kvmq_db_set_expire(c, e, when);
    kvmq_reply_int(c, 1);

    return;

invalid:

    kvmq_reply_error(c, KVMQ_ERR_BADREQ,
                     "invalid expire time in '%s' command", name);
}


void
kvmq_cmd_expiretime(kvmq_ctx_t *c, int argc, const kvmq_slice_t *argv)
{
    (void) argc;

    kvmq_ttl_generic(c, &argv[1], 0, 1);
}


void
kvmq_cmd_pexpiretime(kvmq_ctx_t *c, int argc, const kvmq_slice_t *argv)
{
    (void) argc;

    kvmq_ttl_generic(c, &argv[1], 1, 1);
}


void
kvmq_cmd_ttl(kvmq_ctx_t *c, int argc, const kvmq_slice_t *argv)
{
    (void) argc;

    kvmq_ttl_generic(c, &argv[1], 0, 0);
}


void
kvmq_cmd_pttl(kvmq_ctx_t *c, int argc, const kvmq_slice_t *argv)
{
    (void) argc;

    kvmq_ttl_generic(c, &argv[1], 1, 0);
}


/*
 * -2 when the key is absent, -1 when it has no TTL.  Seconds are rounded
 * to the nearest, as Redis does, so a fresh EXPIRE k 10 reads
 * back as TTL 10 and not 9.
 */
static void
kvmq_ttl_generic(kvmq_ctx_t *c, const kvmq_slice_t *key, int ms,
    int absolute)
{
    int64_t        v;
    kvmq_entry_t  *e;

    e = kvmq_lookup_read(c, key);

    if (e == NULL) {
        kvmq_reply_int(c, -2);
        return;
    }

    if (e->expire == 0) {
        kvmq_reply_int(c, -1);
        return;
    }

    v = absolute ? e->expire : kvmq_db_pttl(c, e);

    /* v >= 0 here; v + 500 could overflow for PEXPIREAT k INT64_MAX */
    kvmq_reply_int(c, ms ? v : v / 1000 + (v % 1000 >= 500));
}


void
kvmq_cmd_persist(kvmq_ctx_t *c, int argc, const kvmq_slice_t *argv)
{
    kvmq_entry_t  *e;

    (void) argc;

    e = kvmq_lookup_write(c, &argv[1]);

    if (e == NULL || e->expire == 0) {
        kvmq_reply_int(c, 0);
        return;
    }

    kvmq_db_set_expire(c, e, 0);
    kvmq_reply_int(c, 1);
}


/* ---- RENAME RENAMENX --------------------------------------------------- */


void
kvmq_cmd_rename(kvmq_ctx_t *c, int argc, const kvmq_slice_t *argv)
{
    (void) argc;

    kvmq_rename_generic(c, argv, 0);
}


void
kvmq_cmd_renamenx(kvmq_ctx_t *c, int argc, const kvmq_slice_t *argv)
{
    (void) argc;

    kvmq_rename_generic(c, argv, 1);
}


/*
 * kvmq_db_rename() moves the value into an existing destination entry
 * without allocating, and allocates the new entry before unlinking
 * anything otherwise, so RENAME is all or nothing even in a full zone.
 */
static void
kvmq_rename_generic(kvmq_ctx_t *c, const kvmq_slice_t *argv, int nx)
{
    kvmq_entry_t  *e, *dst;

    e = kvmq_lookup_write(c, &argv[1]);

    if (e == NULL) {
        kvmq_reply_error(c, KVMQ_ERR_NOTFOUND, "no such key");
        return;
    }

    if (argv[1].len == argv[2].len
        && memcmp(argv[1].data, argv[2].data, argv[1].len) == 0)
    {
        if (nx) {
            kvmq_reply_int(c, 0);

        } else {
            kvmq_reply_ok(c);
        }

        return;
    }

    dst = kvmq_lookup_write(c, &argv[2]);

    if (dst != NULL && nx) {
        kvmq_reply_int(c, 0);
        return;
    }

    if (kvmq_db_rename(c, e, &argv[2]) == NULL) {
        kvmq_reply_nomem(c);
        return;
    }

    if (nx) {
        kvmq_reply_int(c, 1);

    } else {
        kvmq_reply_ok(c);
    }
}


/* ---- KEYS SCAN --------------------------------------------------------- */


/* kvmq_db_scan() already hides expired entries */
static int
kvmq_keys_filter(kvmq_keys_walk_t *w, kvmq_entry_t *e)
{
    if (w->type >= 0 && e->type != w->type) {
        return 0;
    }

    if (w->pattern != NULL
        && !kvmq_glob_match(w->pattern->data, w->pattern->len,
                            e->key, e->klen, 0))
    {
        return 0;
    }

    return 1;
}


static void
kvmq_keys_reply_entry(void *arg, kvmq_entry_t *e)
{
    kvmq_keys_walk_t  *w;

    w = arg;

    if (kvmq_keys_filter(w, e)) {
        kvmq_reply_bulk(w->c, e->key, e->klen);
    }
}


/*
 * O(N) under the lock; see the header comment.  The reply array has an
 * unknown length (-1): counting first would walk the keyspace twice, and
 * buffering would hold N pointers.
 */
void
kvmq_cmd_keys(kvmq_ctx_t *c, int argc, const kvmq_slice_t *argv)
{
    uint64_t          cursor;
    kvmq_keys_walk_t  w;

    (void) argc;

    w.c = c;
    w.type = -1;
    w.pattern = (argv[1].len == 1 && argv[1].data[0] == '*') ? NULL
                                                              : &argv[1];

    kvmq_reply_array(c, -1);

    cursor = 0;

    do {
        cursor = kvmq_db_scan(c, cursor, 1024, kvmq_keys_reply_entry, &w);
    } while (cursor != 0);

    kvmq_reply_array_end(c);
}


static void
kvmq_scan_collect(void *arg, kvmq_entry_t *e)
{
    size_t             cap;
    kvmq_entry_t     **list;
    kvmq_keys_walk_t  *w;

    w = arg;

    if (w->nomem || !kvmq_keys_filter(w, e)) {
        return;
    }

    if (w->n == w->cap) {
        cap = w->cap * 2;

        if (w->list == w->stack) {
            list = malloc(cap * sizeof(kvmq_entry_t *));
            if (list != NULL) {
                memcpy(list, w->stack, w->n * sizeof(kvmq_entry_t *));
            }

        } else {
            list = realloc(w->list, cap * sizeof(kvmq_entry_t *));
        }

        if (list == NULL) {
            w->nomem = 1;
            return;
        }

        w->list = list;
        w->cap = cap;
    }

    w->list[w->n++] = e;
}


static int
kvmq_parse_cursor(const kvmq_slice_t *a, uint64_t *v)
{
    size_t    i;
    uint64_t  n, d;

    if (a->len == 0 || a->len > KVMQ_U64_DIGITS) {
        return -1;
    }

    n = 0;

    for (i = 0; i < a->len; i++) {
        if (a->data[i] < '0' || a->data[i] > '9') {
            return -1;
        }

        d = (uint64_t) (a->data[i] - '0');

        if (n > (UINT64_MAX - d) / 10) {
            return -1;
        }

        n = n * 10 + d;
    }

    *v = n;

    return 0;
}


static size_t
kvmq_u64_to_str(char *buf, uint64_t v)
{
    char    tmp[KVMQ_U64_DIGITS];
    size_t  n, i;

    n = 0;

    do {
        tmp[n++] = (char) ('0' + v % 10);
        v /= 10;
    } while (v != 0);

    for (i = 0; i < n; i++) {
        buf[i] = tmp[n - 1 - i];
    }

    return n;
}


void
kvmq_cmd_scan(kvmq_ctx_t *c, int argc, const kvmq_slice_t *argv)
{
    int               i, t;
    char              buf[KVMQ_U64_DIGITS];
    size_t            j, len;
    uint64_t          cursor;
    long long         count;
    kvmq_keys_walk_t  w;

    if (kvmq_parse_cursor(&argv[1], &cursor) != 0) {
        kvmq_reply_error(c, KVMQ_ERR_BADREQ, "invalid cursor");
        return;
    }

    w.c = c;
    w.pattern = NULL;
    w.type = -1;
    count = 10;

    for (i = 2; i < argc; i++) {
        if (i + 1 >= argc) {
            kvmq_reply_syntax(c);
            return;
        }

        if (kvmq_arg_is(&argv[i], "COUNT")) {
            if (kvmq_arg_ll(c, &argv[i + 1], &count) != 0) {
                return;
            }

            if (count < 1) {
                kvmq_reply_syntax(c);
                return;
            }

        } else if (kvmq_arg_is(&argv[i], "MATCH")) {
            /* "*" matches all: skip the glob for every key */
            w.pattern = (argv[i + 1].len == 1 && argv[i + 1].data[0] == '*')
                        ? NULL : &argv[i + 1];

        } else if (kvmq_arg_is(&argv[i], "TYPE")) {
            for (t = 0; t < KVMQ_TYPE_LAST; t++) {
                if (kvmq_arg_is(&argv[i + 1],
                                kvmq_type_name((kvmq_type_e) t)))
                {
                    break;
                }
            }

            if (t == KVMQ_TYPE_LAST) {
                kvmq_reply_error(c, KVMQ_ERR_BADREQ,
                                 "unknown type name '%.*s'",
                                 (int) (argv[i + 1].len > 64
                                        ? 64 : argv[i + 1].len),
                                 argv[i + 1].data);
                return;
            }

            w.type = t;

        } else {
            kvmq_reply_syntax(c);
            return;
        }

        i++;
    }

    if (count > (long long) KVMQ_SCAN_COUNT_MAX) {
        count = KVMQ_SCAN_COUNT_MAX;
    }

    w.list = w.stack;
    w.n = 0;
    w.cap = KVMQ_SCAN_STACK;
    w.nomem = 0;

    cursor = kvmq_db_scan(c, cursor, (unsigned) count, kvmq_scan_collect,
                          &w);

    if (w.nomem) {
        kvmq_reply_nomem(c);
        goto done;
    }

    len = kvmq_u64_to_str(buf, cursor);

    kvmq_reply_array(c, 2);
    kvmq_reply_bulk(c, buf, len);
    kvmq_reply_array(c, (long) w.n);

    for (j = 0; j < w.n; j++) {
        kvmq_reply_bulk(c, w.list[j]->key, w.list[j]->klen);
    }

    kvmq_reply_array_end(c);
    kvmq_reply_array_end(c);

done:

    if (w.list != w.stack) {
        free(w.list);
    }
}


/* ---- RANDOMKEY DBSIZE FLUSHALL ----------------------------------------- */


void
kvmq_cmd_randomkey(kvmq_ctx_t *c, int argc, const kvmq_slice_t *argv)
{
    kvmq_entry_t  *e;

    (void) argc;
    (void) argv;

    e = kvmq_db_random(c);

    if (e == NULL) {
        kvmq_reply_nil(c);
        return;
    }

    kvmq_reply_bulk(c, e->key, e->klen);
}


/*
 * Like Redis, the count includes keys that have expired but were not yet
 * reaped by a lookup or the cron.
 */
void
kvmq_cmd_dbsize(kvmq_ctx_t *c, int argc, const kvmq_slice_t *argv)
{
    (void) argc;
    (void) argv;

    kvmq_reply_int(c, (int64_t) kvmq_db_size(c->db));
}


/*
 * ASYNC and SYNC are accepted for compatibility and mean the same: keys
 * are unlinked at once and big values go to the lazy-free queue (see
 * UNLINK), so the lock is never held for the whole keyspace's values.
 */
void
kvmq_cmd_flushall(kvmq_ctx_t *c, int argc, const kvmq_slice_t *argv)
{
    if (argc > 2
        || (argc == 2 && !kvmq_arg_is(&argv[1], "ASYNC")
            && !kvmq_arg_is(&argv[1], "SYNC")))
    {
        kvmq_reply_syntax(c);
        return;
    }

    kvmq_db_flush(c);
    kvmq_reply_ok(c);
}
