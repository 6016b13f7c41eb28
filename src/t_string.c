/*
 * Strings: the value type, the Redis string commands and the memcached
 * style commands (ADD REPLACE PREPEND GETS CAS) built on them.
 *
 * The value block (layout, capacity, Content-Type) is in strval.c.
 *
 * Counters are decimal text (what GET must return anyway); INCR parses,
 * formats into a stack buffer and overwrites in place, which fits except
 * when the number gains a digit.
 *
 * Writes follow the engine's rules (engine.h): every argument, option
 * and type is checked before anything changes; every block a write
 * needs is allocated before any is linked, so NOMEM leaves the db as it
 * was; a successful write gets a new cas (kvmq_db_touch_write).  The
 * string writes a REST door maps onto PUT/GET report kvmq_meta_t just
 * before their reply, for ETag, X-Kvmq-TTL, Content-Type and 201/200.
 *
 * SET-style options are parsed by one function for SET, GETEX and the
 * memcached commands, with Redis' rules: an option may repeat (the last
 * value wins), but two different expiry options, NX with XX, or KEEPTTL
 * with an expiry are a syntax error; a time that is not positive, or
 * overflows once turned into absolute ms, is "invalid expire time".
 */

#include <limits.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>

#include "commands.h"


/* MSET pairs handled with a stack scratch array; more go to the heap */
#define KVMQ_MSET_STACK     32


/* option flags of the SET family */
#define KVMQ_SET_NX         0x0001
#define KVMQ_SET_XX         0x0002
#define KVMQ_SET_GET        0x0004
#define KVMQ_SET_KEEPTTL    0x0008
#define KVMQ_SET_EX         0x0010
#define KVMQ_SET_PX         0x0020
#define KVMQ_SET_EXAT       0x0040
#define KVMQ_SET_PXAT       0x0080
#define KVMQ_SET_PERSIST    0x0100

#define KVMQ_SET_EXPIRY                                                       \
    (KVMQ_SET_EX | KVMQ_SET_PX | KVMQ_SET_EXAT | KVMQ_SET_PXAT)

/* how a set-like command answers: +OK / nil, or :1 / :0 */
#define KVMQ_SET_REPLY_INT  0x1000

/* the command refuses to overwrite a value of another type */
#define KVMQ_SET_STRONLY    0x2000


typedef struct {
    unsigned             flags;
    const kvmq_slice_t  *expire;       /* the EX/PX/... argument */
    int64_t              when;         /* absolute ms, 0 = none */
} kvmq_setopt_t;


static size_t kvmq_str_limit(kvmq_ctx_t *c);
static void kvmq_str_toolarge(kvmq_ctx_t *c);
static void kvmq_str_meta(kvmq_ctx_t *c, kvmq_entry_t *e, int existed);
static int kvmq_setopt_parse(kvmq_ctx_t *c, int argc,
    const kvmq_slice_t *argv, int first, unsigned allowed,
    kvmq_setopt_t *opt);
static int kvmq_setopt_expire(kvmq_ctx_t *c, kvmq_setopt_t *opt);
static void kvmq_str_set(kvmq_ctx_t *c, const kvmq_slice_t *key,
    const kvmq_slice_t *val, const kvmq_setopt_t *opt);
static void kvmq_str_mset(kvmq_ctx_t *c, int argc, const kvmq_slice_t *argv,
    int nx);
static void kvmq_str_append(kvmq_ctx_t *c, const kvmq_slice_t *argv,
    int front);
static void kvmq_str_incr(kvmq_ctx_t *c, const kvmq_slice_t *key,
    long long incr);
static int kvmq_str_store(kvmq_ctx_t *c, const kvmq_slice_t *key,
    kvmq_entry_t *e, const char *p, size_t len);


/* ---- helpers ----------------------------------------------------------- */


static size_t
kvmq_str_limit(kvmq_ctx_t *c)
{
    if (c->max_value == 0 || c->max_value > KVMQ_STRING_MAX) {
        return KVMQ_STRING_MAX;
    }

    return c->max_value;
}


static void
kvmq_str_toolarge(kvmq_ctx_t *c)
{
    kvmq_reply_error(c, KVMQ_ERR_TOOLARGE,
                     "string exceeds maximum allowed size");
}


static void
kvmq_str_meta(kvmq_ctx_t *c, kvmq_entry_t *e, int existed)
{
    kvmq_meta_t  meta;

    meta.cas = e->cas;
    meta.pttl = kvmq_db_pttl(c, e);
    meta.ctype = kvmq_string_ctype(e->val);
    meta.existed = existed;

    kvmq_reply_meta(c, &meta);
}


/* look a key up for writing; NULL with WRONGTYPE replied, or *e set */
static int
kvmq_str_lookup_write(kvmq_ctx_t *c, const kvmq_slice_t *key,
    kvmq_entry_t **e)
{
    *e = kvmq_lookup_write(c, key);

    if (*e != NULL && (*e)->type != KVMQ_TYPE_STRING) {
        kvmq_reply_wrongtype(c);
        return -1;
    }

    return 0;
}


static void
kvmq_reply_invalid_expire(kvmq_ctx_t *c)
{
    size_t       i, n;
    char         name[32];
    const char  *s;

    /* Redis names the command in lower case */
    s = (c->cmd != NULL) ? kvmq_cmd_name(c->cmd) : "set";
    n = strlen(s);

    if (n >= sizeof(name)) {
        n = sizeof(name) - 1;
    }

    for (i = 0; i < n; i++) {
        name[i] = (char) ((s[i] >= 'A' && s[i] <= 'Z') ? s[i] | 0x20 : s[i]);
    }

    name[n] = '\0';

    kvmq_reply_error(c, KVMQ_ERR_BADREQ,
                     "invalid expire time in '%s' command", name);
}


/*
 * Parse SET-style options in argv[first..argc-1], allowing only those in
 * "allowed".  Replies a syntax error and returns -1 on anything else.
 */
static int
kvmq_setopt_parse(kvmq_ctx_t *c, int argc, const kvmq_slice_t *argv,
    int first, unsigned allowed, kvmq_setopt_t *opt)
{
    int                  j;
    unsigned             f, others;
    const kvmq_slice_t  *a;

    for (j = first; j < argc; j++) {
        a = &argv[j];

        if (kvmq_arg_is(a, "NX")) {
            f = KVMQ_SET_NX;
            others = KVMQ_SET_XX;

        } else if (kvmq_arg_is(a, "XX")) {
            f = KVMQ_SET_XX;
            others = KVMQ_SET_NX;

        } else if (kvmq_arg_is(a, "GET")) {
            f = KVMQ_SET_GET;
            others = 0;

        } else if (kvmq_arg_is(a, "KEEPTTL")) {
            f = KVMQ_SET_KEEPTTL;
            others = KVMQ_SET_EXPIRY | KVMQ_SET_PERSIST;

        } else if (kvmq_arg_is(a, "PERSIST")) {
            f = KVMQ_SET_PERSIST;
            others = KVMQ_SET_EXPIRY | KVMQ_SET_KEEPTTL;

        } else if (kvmq_arg_is(a, "EX")) {
            f = KVMQ_SET_EX;
            others = KVMQ_SET_KEEPTTL | KVMQ_SET_PERSIST
                     | (KVMQ_SET_EXPIRY & ~KVMQ_SET_EX);

        } else if (kvmq_arg_is(a, "PX")) {
            f = KVMQ_SET_PX;
            others = KVMQ_SET_KEEPTTL | KVMQ_SET_PERSIST
                     | (KVMQ_SET_EXPIRY & ~KVMQ_SET_PX);

        } else if (kvmq_arg_is(a, "EXAT")) {
            f = KVMQ_SET_EXAT;
            others = KVMQ_SET_KEEPTTL | KVMQ_SET_PERSIST
                     | (KVMQ_SET_EXPIRY & ~KVMQ_SET_EXAT);

        } else if (kvmq_arg_is(a, "PXAT")) {
            f = KVMQ_SET_PXAT;
            others = KVMQ_SET_KEEPTTL | KVMQ_SET_PERSIST
                     | (KVMQ_SET_EXPIRY & ~KVMQ_SET_PXAT);

        } else {
            kvmq_reply_syntax(c);
            return -1;
        }

        if (!(allowed & f) || (opt->flags & others)) {
            kvmq_reply_syntax(c);
            return -1;
        }

        if (f & KVMQ_SET_EXPIRY) {
            if (j + 1 >= argc) {
                kvmq_reply_syntax(c);
                return -1;
            }

            opt->expire = &argv[++j];
        }

        opt->flags |= f;
    }

    return 0;
}


/* turn the expiry argument into an absolute time in opt->when */
static int
kvmq_setopt_expire(kvmq_ctx_t *c, kvmq_setopt_t *opt)
{
    long long  v;

    opt->when = 0;

    if (!(opt->flags & KVMQ_SET_EXPIRY)) {
        return 0;
    }

    if (kvmq_arg_ll(c, opt->expire, &v) != 0) {
        return -1;
    }

    if (v <= 0) {
        kvmq_reply_invalid_expire(c);
        return -1;
    }

    if (opt->flags & (KVMQ_SET_EX | KVMQ_SET_EXAT)) {
        if (v > LLONG_MAX / 1000) {
            kvmq_reply_invalid_expire(c);
            return -1;
        }

        v *= 1000;
    }

    if (opt->flags & (KVMQ_SET_EX | KVMQ_SET_PX)) {
        if (c->now_ms > 0 && v > LLONG_MAX - c->now_ms) {
            kvmq_reply_invalid_expire(c);
            return -1;
        }

        v += c->now_ms;
    }

    opt->when = v;

    return 0;
}


/* ---- SET and its variants ---------------------------------------------- */


/*
 * The one SET: key to val with the options in opt, already parsed and
 * validated.  Replies +OK / nil, or :1 / :0 with KVMQ_SET_REPLY_INT, or
 * the old value with GET.
 */
static void
kvmq_str_set(kvmq_ctx_t *c, const kvmq_slice_t *key, const kvmq_slice_t *val,
    const kvmq_setopt_t *opt)
{
    int             found;
    unsigned        flags;
    kvmq_meta_t     meta;
    kvmq_entry_t   *e;
    kvmq_string_t  *s, *old;

    flags = opt->flags;

    e = kvmq_lookup_write(c, key);
    found = (e != NULL);

    if (found && e->type != KVMQ_TYPE_STRING
        && (flags & (KVMQ_SET_GET | KVMQ_SET_STRONLY)))
    {
        kvmq_reply_wrongtype(c);
        return;
    }

    old = (found && e->type == KVMQ_TYPE_STRING) ? e->val : NULL;

    if (((flags & KVMQ_SET_NX) && found) || ((flags & KVMQ_SET_XX) && !found))
    {
        if (flags & KVMQ_SET_GET) {
            if (old != NULL) {
                kvmq_reply_bulk(c, old->data, old->len);

            } else {
                kvmq_reply_nil(c);
            }

        } else if (flags & KVMQ_SET_REPLY_INT) {
            kvmq_reply_int(c, 0);

        } else {
            kvmq_reply_nil(c);
        }

        return;
    }

    if (val->len > kvmq_str_limit(c)) {
        kvmq_str_toolarge(c);
        return;
    }

    s = kvmq_string_new(c, val->data, val->len, val->len);
    if (s == NULL) {
        kvmq_reply_nomem(c);
        return;
    }

    if (!found) {
        e = kvmq_db_add(c, key, KVMQ_TYPE_STRING, s);
        if (e == NULL) {
            kvmq_string_free(c, s);
            kvmq_reply_nomem(c);
            return;
        }
    }

    if (opt->when != 0) {
        kvmq_db_set_expire(c, e, opt->when);

    } else if (!(flags & KVMQ_SET_KEEPTTL)) {
        kvmq_db_set_expire(c, e, 0);
    }

    kvmq_db_touch_write(c, e);

    /*
     * The meta and the reply go out before the old value is freed: GET
     * answers with it.  The new value is linked only afterwards, and
     * kvmq_db_replace() keeps the cas and TTL just set.
     */
    meta.cas = e->cas;
    meta.pttl = kvmq_db_pttl(c, e);
    meta.ctype = kvmq_string_ctype(s);
    meta.existed = found;

    kvmq_reply_meta(c, &meta);

    if (flags & KVMQ_SET_GET) {
        if (old != NULL) {
            kvmq_reply_bulk(c, old->data, old->len);

        } else {
            kvmq_reply_nil(c);
        }

    } else if (flags & KVMQ_SET_REPLY_INT) {
        kvmq_reply_int(c, 1);

    } else {
        kvmq_reply_ok(c);
    }

    if (found) {
        kvmq_db_replace(c, e, KVMQ_TYPE_STRING, s);
    }
}


void
kvmq_cmd_set(kvmq_ctx_t *c, int argc, const kvmq_slice_t *argv)
{
    kvmq_setopt_t  opt;

    memset(&opt, 0, sizeof(kvmq_setopt_t));

    if (kvmq_setopt_parse(c, argc, argv, 3,
                          KVMQ_SET_NX | KVMQ_SET_XX | KVMQ_SET_GET
                          | KVMQ_SET_KEEPTTL | KVMQ_SET_EXPIRY, &opt)
        != 0)
    {
        return;
    }

    if (kvmq_setopt_expire(c, &opt) != 0) {
        return;
    }

    kvmq_str_set(c, &argv[1], &argv[2], &opt);
}


void
kvmq_cmd_setnx(kvmq_ctx_t *c, int argc, const kvmq_slice_t *argv)
{
    kvmq_setopt_t  opt;

    (void) argc;

    memset(&opt, 0, sizeof(kvmq_setopt_t));
    opt.flags = KVMQ_SET_NX | KVMQ_SET_REPLY_INT;

    kvmq_str_set(c, &argv[1], &argv[2], &opt);
}


static void
kvmq_str_setex(kvmq_ctx_t *c, const kvmq_slice_t *argv, unsigned unit)
{
    kvmq_setopt_t  opt;

    memset(&opt, 0, sizeof(kvmq_setopt_t));
    opt.flags = unit;
    opt.expire = &argv[2];

    if (kvmq_setopt_expire(c, &opt) != 0) {
        return;
    }

    kvmq_str_set(c, &argv[1], &argv[3], &opt);
}


void
kvmq_cmd_setex(kvmq_ctx_t *c, int argc, const kvmq_slice_t *argv)
{
    (void) argc;

    kvmq_str_setex(c, argv, KVMQ_SET_EX);
}


void
kvmq_cmd_psetex(kvmq_ctx_t *c, int argc, const kvmq_slice_t *argv)
{
    (void) argc;

    kvmq_str_setex(c, argv, KVMQ_SET_PX);
}


void
kvmq_cmd_getset(kvmq_ctx_t *c, int argc, const kvmq_slice_t *argv)
{
    kvmq_setopt_t  opt;

    (void) argc;

    memset(&opt, 0, sizeof(kvmq_setopt_t));
    opt.flags = KVMQ_SET_GET;

    kvmq_str_set(c, &argv[1], &argv[2], &opt);
}


/* ADD and REPLACE: SET NX / SET XX with memcached's :1/:0 answer */
static void
kvmq_str_add_replace(kvmq_ctx_t *c, int argc, const kvmq_slice_t *argv,
    unsigned cond)
{
    kvmq_setopt_t  opt;

    memset(&opt, 0, sizeof(kvmq_setopt_t));

    if (kvmq_setopt_parse(c, argc, argv, 3, KVMQ_SET_EX | KVMQ_SET_PX, &opt)
        != 0 || kvmq_setopt_expire(c, &opt) != 0)
    {
        return;
    }

    opt.flags |= cond | KVMQ_SET_REPLY_INT | KVMQ_SET_STRONLY;

    kvmq_str_set(c, &argv[1], &argv[2], &opt);
}


/* ADD key value [EX s|PX ms]: memcached add, set only if absent */
void
kvmq_cmd_add(kvmq_ctx_t *c, int argc, const kvmq_slice_t *argv)
{
    kvmq_str_add_replace(c, argc, argv, KVMQ_SET_NX);
}


/* REPLACE key value [EX s|PX ms]: memcached replace, only if present */
void
kvmq_cmd_replace(kvmq_ctx_t *c, int argc, const kvmq_slice_t *argv)
{
    kvmq_str_add_replace(c, argc, argv, KVMQ_SET_XX);
}


/*
 * CAS key value cas [EX s|PX ms]: store only if the key's cas is still
 * the one GETS returned.  :1 stored, :0 changed meanwhile, nil absent.
 */
void
kvmq_cmd_cas(kvmq_ctx_t *c, int argc, const kvmq_slice_t *argv)
{
    long long       cas;
    kvmq_entry_t   *e;
    kvmq_setopt_t   opt;

    memset(&opt, 0, sizeof(kvmq_setopt_t));

    if (kvmq_arg_ll(c, &argv[3], &cas) != 0) {
        return;
    }

    if (kvmq_setopt_parse(c, argc, argv, 4, KVMQ_SET_EX | KVMQ_SET_PX, &opt)
        != 0 || kvmq_setopt_expire(c, &opt) != 0)
    {
        return;
    }

    if (kvmq_str_lookup_write(c, &argv[1], &e) != 0) {
        return;
    }

    if (e == NULL) {
        kvmq_reply_nil(c);
        return;
    }

    if (cas < 0 || (uint64_t) cas != e->cas) {
        kvmq_reply_int(c, 0);
        return;
    }

    opt.flags |= KVMQ_SET_XX | KVMQ_SET_REPLY_INT | KVMQ_SET_STRONLY;

    kvmq_str_set(c, &argv[1], &argv[2], &opt);
}


/* ---- reads ------------------------------------------------------------- */


/* a string for reading; NULL when absent or (WRONGTYPE replied) not one */
static kvmq_entry_t *
kvmq_str_lookup_read(kvmq_ctx_t *c, const kvmq_slice_t *key, int *wrong)
{
    kvmq_entry_t  *e;

    *wrong = 0;

    e = kvmq_lookup_read(c, key);

    if (e != NULL && e->type != KVMQ_TYPE_STRING) {
        kvmq_reply_wrongtype(c);
        *wrong = 1;
        return NULL;
    }

    return e;
}


void
kvmq_cmd_get(kvmq_ctx_t *c, int argc, const kvmq_slice_t *argv)
{
    int             wrong;
    kvmq_entry_t   *e;
    kvmq_string_t  *s;

    (void) argc;

    e = kvmq_str_lookup_read(c, &argv[1], &wrong);

    if (e == NULL) {
        if (!wrong) {
            kvmq_reply_nil(c);
        }

        return;
    }

    s = e->val;

    kvmq_str_meta(c, e, 1);
    kvmq_reply_bulk(c, s->data, s->len);
}


/* GETS key: memcached gets, [value, cas] */
void
kvmq_cmd_gets(kvmq_ctx_t *c, int argc, const kvmq_slice_t *argv)
{
    int             wrong;
    kvmq_entry_t   *e;
    kvmq_string_t  *s;

    (void) argc;

    e = kvmq_str_lookup_read(c, &argv[1], &wrong);

    if (e == NULL) {
        if (!wrong) {
            kvmq_reply_nil(c);
        }

        return;
    }

    s = e->val;

    kvmq_str_meta(c, e, 1);
    kvmq_reply_array(c, 2);
    kvmq_reply_bulk(c, s->data, s->len);
    kvmq_reply_int(c, (int64_t) e->cas);
    kvmq_reply_array_end(c);
}


void
kvmq_cmd_getdel(kvmq_ctx_t *c, int argc, const kvmq_slice_t *argv)
{
    int             wrong;
    kvmq_entry_t   *e;
    kvmq_string_t  *s;

    (void) argc;

    e = kvmq_str_lookup_read(c, &argv[1], &wrong);

    if (e == NULL) {
        if (!wrong) {
            kvmq_reply_nil(c);
        }

        return;
    }

    s = e->val;

    /* the reply copies the bytes, so the key may go right after */
    kvmq_reply_bulk(c, s->data, s->len);
    kvmq_db_delete(c, e);
}


void
kvmq_cmd_getex(kvmq_ctx_t *c, int argc, const kvmq_slice_t *argv)
{
    int             wrong;
    kvmq_entry_t   *e;
    kvmq_string_t  *s;
    kvmq_setopt_t   opt;

    memset(&opt, 0, sizeof(kvmq_setopt_t));

    if (kvmq_setopt_parse(c, argc, argv, 2,
                          KVMQ_SET_EXPIRY | KVMQ_SET_PERSIST, &opt) != 0)
    {
        return;
    }

    e = kvmq_str_lookup_read(c, &argv[1], &wrong);

    if (e == NULL) {
        if (!wrong) {
            kvmq_reply_nil(c);
        }

        return;
    }

    /* Redis checks the time only once it knows the key is a string */
    if (kvmq_setopt_expire(c, &opt) != 0) {
        return;
    }

    s = e->val;

    kvmq_reply_bulk(c, s->data, s->len);

    /* an absolute time already past deletes the key, as Redis does */
    if ((opt.flags & (KVMQ_SET_EXAT | KVMQ_SET_PXAT))
        && opt.when <= c->now_ms)
    {
        kvmq_db_delete(c, e);

    } else if (opt.when != 0) {
        kvmq_db_set_expire(c, e, opt.when);

    } else if (opt.flags & KVMQ_SET_PERSIST) {
        kvmq_db_set_expire(c, e, 0);
    }
}


void
kvmq_cmd_mget(kvmq_ctx_t *c, int argc, const kvmq_slice_t *argv)
{
    int             i;
    kvmq_entry_t   *e;
    kvmq_string_t  *s;

    kvmq_reply_array(c, argc - 1);

    for (i = 1; i < argc; i++) {
        e = kvmq_lookup_read(c, &argv[i]);

        if (e == NULL || e->type != KVMQ_TYPE_STRING) {
            kvmq_reply_nil(c);
            continue;
        }

        s = e->val;
        kvmq_reply_bulk(c, s->data, s->len);
    }

    kvmq_reply_array_end(c);
}


void
kvmq_cmd_strlen(kvmq_ctx_t *c, int argc, const kvmq_slice_t *argv)
{
    int             wrong;
    kvmq_entry_t   *e;
    kvmq_string_t  *s;

    (void) argc;

    e = kvmq_str_lookup_read(c, &argv[1], &wrong);

    if (wrong) {
        return;
    }

    s = e ? e->val : NULL;

    kvmq_reply_int(c, s ? (int64_t) s->len : 0);
}


void
kvmq_cmd_getrange(kvmq_ctx_t *c, int argc, const kvmq_slice_t *argv)
{
    int             wrong;
    long long       start, end, len;
    kvmq_entry_t   *e;
    kvmq_string_t  *s;

    (void) argc;

    if (kvmq_arg_ll(c, &argv[2], &start) != 0
        || kvmq_arg_ll(c, &argv[3], &end) != 0)
    {
        return;
    }

    e = kvmq_str_lookup_read(c, &argv[1], &wrong);

    if (wrong) {
        return;
    }

    if (e == NULL) {
        kvmq_reply_bulk(c, "", 0);
        return;
    }

    s = e->val;
    len = s->len;

    /* both negative and inverted: empty, whatever the length */
    if (start < 0 && end < 0 && start > end) {
        kvmq_reply_bulk(c, "", 0);
        return;
    }

    if (start < 0) {
        start += len;
    }

    if (end < 0) {
        end += len;
    }

    if (start < 0) {
        start = 0;
    }

    if (end < 0) {
        end = 0;
    }

    if (end >= len) {
        end = len - 1;
    }

    if (len == 0 || start > end) {
        kvmq_reply_bulk(c, "", 0);
        return;
    }

    kvmq_reply_bulk(c, s->data + start, (size_t) (end - start + 1));
}


/* ---- multi-key writes -------------------------------------------------- */


void
kvmq_cmd_mset(kvmq_ctx_t *c, int argc, const kvmq_slice_t *argv)
{
    kvmq_str_mset(c, argc, argv, 0);
}


void
kvmq_cmd_msetnx(kvmq_ctx_t *c, int argc, const kvmq_slice_t *argv)
{
    kvmq_str_mset(c, argc, argv, 1);
}


/*
 * MSET and MSETNX, all or nothing.  Three passes: make every value;
 * link the keys that are absent (a key named twice is linked once, the
 * later pair then replaces it); replace the values of the keys that
 * existed.  Only the second pass can fail (a new entry needs memory); it
 * then unlinks what it linked, so the db is as before.  The third pass
 * allocates nothing.
 */
static void
kvmq_str_mset(kvmq_ctx_t *c, int argc, const kvmq_slice_t *argv, int nx)
{
    int              i, n, failed;
    size_t           limit;
    kvmq_entry_t    *e;
    kvmq_string_t   *stack[KVMQ_MSET_STACK], **vals;

    if (argc % 2 == 0) {
        kvmq_reply_arity(c);
        return;
    }

    n = (argc - 1) / 2;
    limit = kvmq_str_limit(c);

    for (i = 0; i < n; i++) {
        if (argv[2 + 2 * i].len > limit) {
            kvmq_str_toolarge(c);
            return;
        }
    }

    if (nx) {
        for (i = 0; i < n; i++) {
            if (kvmq_lookup_write(c, &argv[1 + 2 * i]) != NULL) {
                kvmq_reply_int(c, 0);
                return;
            }
        }
    }

    /* scratch in process memory: a zone block could evict or not fit */
    vals = stack;

    if (n > KVMQ_MSET_STACK) {
        vals = malloc(n * sizeof(kvmq_string_t *));
        if (vals == NULL) {
            kvmq_reply_nomem(c);
            return;
        }
    }

    failed = -1;

    for (i = 0; i < n; i++) {
        vals[i] = kvmq_string_new(c, argv[2 + 2 * i].data,
                                  argv[2 + 2 * i].len, argv[2 + 2 * i].len);
        if (vals[i] == NULL) {
            failed = i;
            break;
        }
    }

    if (failed < 0) {
        for (i = 0; i < n; i++) {
            if (kvmq_lookup_write(c, &argv[1 + 2 * i]) != NULL) {
                continue;
            }

            e = kvmq_db_add(c, &argv[1 + 2 * i], KVMQ_TYPE_STRING, vals[i]);
            if (e == NULL) {
                failed = n;
                break;
            }

            /* the db owns it now; NULL marks "linked by pass two" */
            vals[i] = NULL;
            kvmq_db_touch_write(c, e);
        }

        if (failed >= 0) {
            while (i-- > 0) {
                if (vals[i] == NULL) {
                    e = kvmq_lookup_write(c, &argv[1 + 2 * i]);
                    kvmq_db_delete(c, e);
                }
            }
        }
    }

    if (failed >= 0) {
        for (i = 0; i < failed; i++) {
            kvmq_string_free(c, vals[i]);
        }

        if (vals != stack) {
            free(vals);
        }

        kvmq_reply_nomem(c);
        return;
    }

    for (i = 0; i < n; i++) {
        if (vals[i] == NULL) {
            continue;
        }

        e = kvmq_lookup_write(c, &argv[1 + 2 * i]);

        kvmq_db_replace(c, e, KVMQ_TYPE_STRING, vals[i]);
        kvmq_db_set_expire(c, e, 0);
        kvmq_db_touch_write(c, e);
    }

    if (vals != stack) {
        free(vals);
    }

    if (nx) {
        kvmq_reply_int(c, 1);

    } else {
        kvmq_reply_ok(c);
    }
}


/* ---- in-place writes --------------------------------------------------- */


void
kvmq_cmd_append(kvmq_ctx_t *c, int argc, const kvmq_slice_t *argv)
{
    (void) argc;

    kvmq_str_append(c, argv, 0);
}


/* PREPEND key value: memcached prepend, APPEND at the front */
void
kvmq_cmd_prepend(kvmq_ctx_t *c, int argc, const kvmq_slice_t *argv)
{
    (void) argc;

    kvmq_str_append(c, argv, 1);
}


static void
kvmq_str_append(kvmq_ctx_t *c, const kvmq_slice_t *argv, int front)
{
    size_t               newlen, limit;
    kvmq_entry_t        *e;
    kvmq_string_t       *s, *n;
    const kvmq_slice_t  *val;

    val = &argv[2];

    if (kvmq_str_lookup_write(c, &argv[1], &e) != 0) {
        return;
    }

    if (e == NULL) {
        if (val->len > kvmq_str_limit(c)) {
            kvmq_str_toolarge(c);
            return;
        }

        s = kvmq_string_new(c, val->data, val->len, val->len);
        if (s == NULL) {
            kvmq_reply_nomem(c);
            return;
        }

        e = kvmq_db_add(c, &argv[1], KVMQ_TYPE_STRING, s);
        if (e == NULL) {
            kvmq_string_free(c, s);
            kvmq_reply_nomem(c);
            return;
        }

        kvmq_db_touch_write(c, e);
        kvmq_str_meta(c, e, 0);
        kvmq_reply_int(c, (int64_t) val->len);
        return;
    }

    s = e->val;
    limit = kvmq_str_limit(c);

    if (s->len > limit || val->len > limit - s->len) {
        kvmq_str_toolarge(c);
        return;
    }

    newlen = s->len + val->len;

    if (newlen > s->cap) {
        n = kvmq_string_resize(c, s, newlen);
        if (n == NULL) {
            kvmq_reply_nomem(c);
            return;
        }

        e->val = n;
        s = n;
    }

    if (front) {
        memmove(s->data + val->len, s->data, s->len);
        memcpy(s->data, val->data, val->len);

    } else {
        memcpy(s->data + s->len, val->data, val->len);
    }

    s->len = (uint32_t) newlen;

    kvmq_db_touch_write(c, e);
    kvmq_str_meta(c, e, 1);
    kvmq_reply_int(c, (int64_t) newlen);
}


void
kvmq_cmd_setrange(kvmq_ctx_t *c, int argc, const kvmq_slice_t *argv)
{
    size_t               off, newlen, limit;
    long long            offset;
    kvmq_entry_t        *e;
    kvmq_string_t       *s, *n;
    const kvmq_slice_t  *val;

    (void) argc;

    val = &argv[3];

    if (kvmq_arg_ll(c, &argv[2], &offset) != 0) {
        return;
    }

    if (offset < 0) {
        kvmq_reply_error(c, KVMQ_ERR_BADREQ, "offset is out of range");
        return;
    }

    if (kvmq_str_lookup_write(c, &argv[1], &e) != 0) {
        return;
    }

    s = e ? e->val : NULL;

    /* setting nothing changes nothing, and creates no key */
    if (val->len == 0) {
        kvmq_reply_int(c, s ? (int64_t) s->len : 0);
        return;
    }

    limit = kvmq_str_limit(c);

    if ((unsigned long long) offset > limit
        || val->len > limit - (size_t) offset)
    {
        kvmq_str_toolarge(c);
        return;
    }

    off = (size_t) offset;
    newlen = off + val->len;

    if (s == NULL) {
        n = kvmq_string_new(c, NULL, 0, newlen);
        if (n == NULL) {
            kvmq_reply_nomem(c);
            return;
        }

        n->len = (uint32_t) newlen;
        memset(n->data, 0, off);
        memcpy(n->data + off, val->data, val->len);

        e = kvmq_db_add(c, &argv[1], KVMQ_TYPE_STRING, n);
        if (e == NULL) {
            kvmq_string_free(c, n);
            kvmq_reply_nomem(c);
            return;
        }

        kvmq_db_touch_write(c, e);
        kvmq_reply_int(c, (int64_t) newlen);
        return;
    }

    if (newlen < s->len) {
        newlen = s->len;
    }

    if (newlen > s->cap) {
        n = kvmq_string_resize(c, s, newlen);
        if (n == NULL) {
            kvmq_reply_nomem(c);
            return;
        }

        e->val = n;
        s = n;
    }

    /* the gap between the old end and the offset reads as zero bytes */
    if (off > s->len) {
        memset(s->data + s->len, 0, off - s->len);
    }

    memcpy(s->data + off, val->data, val->len);
    s->len = (uint32_t) newlen;

    kvmq_db_touch_write(c, e);
    kvmq_reply_int(c, (int64_t) newlen);
}


/* ---- counters ---------------------------------------------------------- */


/*
 * Store the decimal text p (len bytes) as the value of key: in place when
 * it fits (the Content-Type stays where it is), in a new block keeping
 * the Content-Type otherwise, or as a new key when e is NULL.  Returns
 * -1 with NOMEM replied.
 */
static int
kvmq_str_store(kvmq_ctx_t *c, const kvmq_slice_t *key, kvmq_entry_t *e,
    const char *p, size_t len)
{
    kvmq_string_t  *s, *n;

    if (e == NULL) {
        n = kvmq_string_new(c, (const unsigned char *) p, len, len);
        if (n == NULL) {
            kvmq_reply_nomem(c);
            return -1;
        }

        e = kvmq_db_add(c, key, KVMQ_TYPE_STRING, n);
        if (e == NULL) {
            kvmq_string_free(c, n);
            kvmq_reply_nomem(c);
            return -1;
        }

        kvmq_db_touch_write(c, e);
        return 0;
    }

    s = e->val;

    if (len > s->cap) {
        n = kvmq_string_resize(c, s, len);
        if (n == NULL) {
            kvmq_reply_nomem(c);
            return -1;
        }

        e->val = n;
        s = n;
    }

    memcpy(s->data, p, len);
    s->len = (uint32_t) len;

    kvmq_db_touch_write(c, e);

    return 0;
}


static void
kvmq_str_incr(kvmq_ctx_t *c, const kvmq_slice_t *key, long long incr)
{
    char            buf[KVMQ_NUMBUF];
    size_t          len;
    long long       v;
    kvmq_entry_t   *e;
    kvmq_string_t  *s;

    if (kvmq_str_lookup_write(c, key, &e) != 0) {
        return;
    }

    v = 0;

    if (e != NULL) {
        s = e->val;

        if (kvmq_str2ll(s->data, s->len, &v) != 0) {
            kvmq_reply_not_int(c);
            return;
        }
    }

    if ((incr < 0 && v < 0 && incr < LLONG_MIN - v)
        || (incr > 0 && v > 0 && incr > LLONG_MAX - v))
    {
        kvmq_reply_error(c, KVMQ_ERR_BADREQ,
                         "increment or decrement would overflow");
        return;
    }

    v += incr;
    len = kvmq_ll2str(buf, v);

    if (kvmq_str_store(c, key, e, buf, len) != 0) {
        return;
    }

    kvmq_reply_int(c, v);
}


void
kvmq_cmd_incr(kvmq_ctx_t *c, int argc, const kvmq_slice_t *argv)
{
    (void) argc;

    kvmq_str_incr(c, &argv[1], 1);
}


void
kvmq_cmd_decr(kvmq_ctx_t *c, int argc, const kvmq_slice_t *argv)
{
    (void) argc;

    kvmq_str_incr(c, &argv[1], -1);
}


void
kvmq_cmd_incrby(kvmq_ctx_t *c, int argc, const kvmq_slice_t *argv)
{
    long long  incr;

    (void) argc;

    if (kvmq_arg_ll(c, &argv[2], &incr) != 0) {
        return;
    }

    kvmq_str_incr(c, &argv[1], incr);
}


void
kvmq_cmd_decrby(kvmq_ctx_t *c, int argc, const kvmq_slice_t *argv)
{
    long long  incr;

    (void) argc;

    if (kvmq_arg_ll(c, &argv[2], &incr) != 0) {
        return;
    }

    if (incr == LLONG_MIN) {
        kvmq_reply_error(c, KVMQ_ERR_BADREQ, "decrement would overflow");
        return;
    }

    kvmq_str_incr(c, &argv[1], -incr);
}


void
kvmq_cmd_incrbyfloat(kvmq_ctx_t *c, int argc, const kvmq_slice_t *argv)
{
    char            buf[KVMQ_LDBUF];
    size_t          len;
    long double     v, incr;
    kvmq_entry_t   *e;
    kvmq_string_t  *s;

    (void) argc;

    if (kvmq_str_lookup_write(c, &argv[1], &e) != 0) {
        return;
    }

    v = 0;

    if (e != NULL) {
        s = e->val;

        if (kvmq_str2ld(s->data, s->len, &v) != 0) {
            kvmq_reply_not_float(c);
            return;
        }
    }

    if (kvmq_arg_ld(c, &argv[2], &incr) != 0) {
        return;
    }

    v += incr;

    if (isnan(v) || isinf(v)) {
        kvmq_reply_error(c, KVMQ_ERR_BADREQ,
                         "increment would produce NaN or Infinity");
        return;
    }

    len = kvmq_ld2str(buf, v);

    if (kvmq_str_store(c, &argv[1], e, buf, len) != 0) {
        return;
    }

    kvmq_reply_bulk(c, buf, len);
}
