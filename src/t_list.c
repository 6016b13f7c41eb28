/*
 * Lists: the Redis list commands over the quicklist of quicklist.c.
 *
 *   LPUSH RPUSH LPUSHX RPUSHX LLEN LINDEX LSET LINSERT LREM LPOP RPOP
 *   LRANGE LTRIM LPOS RPOPLPUSH LMOVE
 *
 * The structure (packed nodes of at most a slab page, their encodings
 * and costs) is described in quicklist.c; this file holds the commands
 * and their Redis 7.0 semantics, argument checks and errors in Redis'
 * order: options that Redis parses before the lookup are checked first,
 * so the same bad command gets the same error here.
 *
 * Rules every command follows (engine.h): all arguments are checked
 * before anything changes; writes allocate everything before changing
 * the list, so NOMEM leaves it as it was; a list never stays empty (the
 * key is deleted with its last item); every write gets a new cas.
 *
 * Blocking pops (BLPOP BRPOP BRPOPLPUSH BLMOVE) live in t_block.c, with
 * the registry of their waiters.  Their half here:
 *
 *   - kvmq_list_try_pop() and kvmq_list_try_move() are LPOP/RPOP and
 *     LMOVE that reply nothing and return 0 when the source key does not
 *     exist: a blocking command calls them when it runs and again when
 *     woken, and parks the request while they return 0.
 *   - Every push and every creation of a list key (LPUSH ..., LINSERT,
 *     LMOVE's destination) calls kvmq_db_signal_ready(), which bumps
 *     db->ready_seq and ORs into c->wake the worker slots whose parked
 *     requests wait on the key (t_block.c).
 *
 * Items are stored as strings (no integer encoding): a list hands back
 * exactly the bytes it was given, and 16-byte items, the common case,
 * cost the same either way.
 */

#include <stdlib.h>

#include "commands.h"
#include "db.h"
#include "quicklist.h"


static const char  kvmq_list_out_of_range[] =
    "value is out of range, must be positive";


/* ---- helpers ----------------------------------------------------------- */


/*
 * Look a key up; 0 with *e set (NULL when absent), or -1 after replying
 * WRONGTYPE when it holds another type.
 */
static int
kvmq_list_lookup(kvmq_ctx_t *c, const kvmq_slice_t *key, int write,
    kvmq_entry_t **e)
{
    *e = write ? kvmq_lookup_write(c, key) : kvmq_lookup_read(c, key);

    if (*e != NULL && (*e)->type != KVMQ_TYPE_LIST) {
        kvmq_reply_wrongtype(c);
        return -1;
    }

    return 0;
}


static void
kvmq_list_reply_val(kvmq_ctx_t *c, const kvmq_lp_val_t *v)
{
    char          buf[KVMQ_NUMBUF];
    kvmq_slice_t  s;

    s = kvmq_lp_bytes(v, buf);
    kvmq_reply_bulk(c, s.data, s.len);
}


static int
kvmq_list_eq(const kvmq_lp_val_t *v, const kvmq_slice_t *s)
{
    if (v->type == KVMQ_LP_STR) {
        return v->len == s->len
               && (s->len == 0 || memcmp(v->str, s->data, s->len) == 0);
    }

    return kvmq_lp_cmp(v, s->data, s->len) == 0;
}


/* a written list: new cas, and gone when empty */
static void
kvmq_list_written(kvmq_ctx_t *c, kvmq_entry_t *e)
{
    kvmq_list_t  *l;

    l = e->val;

    if (l->len == 0) {
        kvmq_db_delete(c, e);
        return;
    }

    kvmq_db_touch_write(c, e);
}


/* Redis' getPositiveLongFromObjectOrReply(): one message for both */
static int
kvmq_list_arg_count(kvmq_ctx_t *c, const kvmq_slice_t *a, const char *msg,
    long long *v)
{
    if (kvmq_str2ll(a->data, a->len, v) != 0 || *v < 0) {
        kvmq_reply_error(c, KVMQ_ERR_BADREQ, "%s", msg);
        return -1;
    }

    return 0;
}


/*
 * Normalise a Redis range [start, end] against len; 0 when it is empty,
 * else 1 with *from and *n set.
 */
static int
kvmq_list_range(long long start, long long end, uint64_t len,
    uint64_t *from, uint64_t *n)
{
    long long  llen;

    llen = (long long) len;

    if (start < 0) {
        start += llen;
    }

    if (end < 0) {
        end += llen;
    }

    if (start < 0) {
        start = 0;
    }

    if (start > end || start >= llen) {
        return 0;
    }

    if (end >= llen) {
        end = llen - 1;
    }

    *from = (uint64_t) start;
    *n = (uint64_t) (end - start + 1);

    return 1;
}


/* reply n entries from index "from" (reverse: from there towards 0) */
static void
kvmq_list_reply_range(kvmq_ctx_t *c, kvmq_list_t *l, uint64_t from,
    uint64_t n, int reverse)
{
    kvmq_lp_val_t  v;
    kvmq_qliter_t  it;

    kvmq_reply_array(c, (long) n);

    kvmq_qliter_init(&it, l, from, reverse);

    while (n-- && kvmq_qliter_valid(&it)) {
        kvmq_qliter_get(&it, &v);
        kvmq_list_reply_val(c, &v);
        kvmq_qliter_next(&it);
    }

    kvmq_reply_array_end(c);
}


/* ---- push -------------------------------------------------------------- */


static void
kvmq_list_push_generic(kvmq_ctx_t *c, int argc, const kvmq_slice_t *argv,
    int where, int xx)
{
    kvmq_list_t   *l;
    kvmq_entry_t  *e;

    if (kvmq_list_lookup(c, &argv[1], 1, &e) != 0) {
        return;
    }

    if (e == NULL) {
        if (xx) {
            kvmq_reply_int(c, 0);
            return;
        }

        l = kvmq_list_new(c);
        if (l == NULL) {
            kvmq_reply_nomem(c);
            return;
        }

        if (kvmq_list_push(c, l, where, &argv[2], (size_t) argc - 2) != 0) {
            kvmq_list_free(c, l);
            kvmq_reply_nomem(c);
            return;
        }

        e = kvmq_db_add(c, &argv[1], KVMQ_TYPE_LIST, l);
        if (e == NULL) {
            kvmq_list_free(c, l);
            kvmq_reply_nomem(c);
            return;
        }

    } else {
        l = e->val;

        if (kvmq_list_push(c, l, where, &argv[2], (size_t) argc - 2) != 0) {
            kvmq_reply_nomem(c);
            return;
        }

        kvmq_db_touch_write(c, e);
    }

    kvmq_db_signal_ready(c, e);
    kvmq_reply_int(c, (int64_t) l->len);
}


void
kvmq_cmd_lpush(kvmq_ctx_t *c, int argc, const kvmq_slice_t *argv)
{
    kvmq_list_push_generic(c, argc, argv, KVMQ_LIST_HEAD, 0);
}


void
kvmq_cmd_rpush(kvmq_ctx_t *c, int argc, const kvmq_slice_t *argv)
{
    kvmq_list_push_generic(c, argc, argv, KVMQ_LIST_TAIL, 0);
}


void
kvmq_cmd_lpushx(kvmq_ctx_t *c, int argc, const kvmq_slice_t *argv)
{
    kvmq_list_push_generic(c, argc, argv, KVMQ_LIST_HEAD, 1);
}


void
kvmq_cmd_rpushx(kvmq_ctx_t *c, int argc, const kvmq_slice_t *argv)
{
    kvmq_list_push_generic(c, argc, argv, KVMQ_LIST_TAIL, 1);
}


/* ---- reads ------------------------------------------------------------- */


void
kvmq_cmd_llen(kvmq_ctx_t *c, int argc, const kvmq_slice_t *argv)
{
    kvmq_entry_t  *e;

    (void) argc;

    if (kvmq_list_lookup(c, &argv[1], 0, &e) != 0) {
        return;
    }

    kvmq_reply_int(c, e ? (int64_t) ((kvmq_list_t *) e->val)->len : 0);
}


void
kvmq_cmd_lindex(kvmq_ctx_t *c, int argc, const kvmq_slice_t *argv)
{
    long long      index;
    kvmq_list_t   *l;
    kvmq_entry_t  *e;
    kvmq_lp_val_t  v;
    kvmq_qliter_t  it;

    (void) argc;

    if (kvmq_list_lookup(c, &argv[1], 0, &e) != 0) {
        return;
    }

    if (e == NULL) {
        kvmq_reply_nil(c);
        return;
    }

    if (kvmq_arg_ll(c, &argv[2], &index) != 0) {
        return;
    }

    l = e->val;

    if (index < 0) {
        index += (long long) l->len;
    }

    if (index < 0 || index >= (long long) l->len) {
        kvmq_reply_nil(c);
        return;
    }

    kvmq_qliter_init(&it, l, (uint64_t) index, 0);
    kvmq_qliter_get(&it, &v);
    kvmq_list_reply_val(c, &v);
}


void
kvmq_cmd_lrange(kvmq_ctx_t *c, int argc, const kvmq_slice_t *argv)
{
    uint64_t       from, n;
    long long      start, end;
    kvmq_list_t   *l;
    kvmq_entry_t  *e;

    (void) argc;

    if (kvmq_arg_ll(c, &argv[2], &start) != 0
        || kvmq_arg_ll(c, &argv[3], &end) != 0)
    {
        return;
    }

    if (kvmq_list_lookup(c, &argv[1], 0, &e) != 0) {
        return;
    }

    if (e == NULL) {
        kvmq_reply_array(c, 0);
        kvmq_reply_array_end(c);
        return;
    }

    l = e->val;

    if (!kvmq_list_range(start, end, l->len, &from, &n)) {
        kvmq_reply_array(c, 0);
        kvmq_reply_array_end(c);
        return;
    }

    kvmq_list_reply_range(c, l, from, n, 0);
}


/*
 * LPOS key element [RANK rank] [COUNT num] [MAXLEN len].  The options
 * are checked before the lookup, as Redis does.
 */
void
kvmq_cmd_lpos(kvmq_ctx_t *c, int argc, const kvmq_slice_t *argv)
{
    int            i, reverse;
    uint64_t       index, len, matchindex, found;
    long long      rank, count, maxlen, matches;
    kvmq_list_t   *l;
    kvmq_entry_t  *e;
    kvmq_lp_val_t  v;
    kvmq_qliter_t  it;

    rank = 1;
    count = -1;
    maxlen = 0;

    for (i = 3; i < argc; i++) {
        if (kvmq_arg_is(&argv[i], "RANK") && i + 1 < argc) {
            if (kvmq_arg_ll(c, &argv[++i], &rank) != 0) {
                return;
            }

            if (rank == 0) {
                kvmq_reply_error(c, KVMQ_ERR_BADREQ,
                                 "RANK can't be zero: use 1 to start from "
                                 "the first match, 2 from the second ... "
                                 "or use negative to start from the end of "
                                 "the list");
                return;
            }

        } else if (kvmq_arg_is(&argv[i], "COUNT") && i + 1 < argc) {
            if (kvmq_list_arg_count(c, &argv[++i], "COUNT can't be negative",
                                    &count) != 0)
            {
                return;
            }

        } else if (kvmq_arg_is(&argv[i], "MAXLEN") && i + 1 < argc) {
            if (kvmq_list_arg_count(c, &argv[++i],
                                    "MAXLEN can't be negative", &maxlen)
                != 0)
            {
                return;
            }

        } else {
            kvmq_reply_syntax(c);
            return;
        }
    }

    reverse = 0;

    if (rank < 0) {
        /* LLONG_MIN has no positive: no list has that many matches */
        rank = (rank == INT64_MIN) ? INT64_MAX : -rank;
        reverse = 1;
    }

    if (kvmq_list_lookup(c, &argv[1], 0, &e) != 0) {
        return;
    }

    if (e == NULL) {
        if (count != -1) {
            kvmq_reply_array(c, 0);
            kvmq_reply_array_end(c);

        } else {
            kvmq_reply_nil(c);
        }

        return;
    }

    l = e->val;
    len = l->len;

    if (count != -1) {
        kvmq_reply_array(c, -1);
    }

    kvmq_qliter_init(&it, l, reverse ? len - 1 : 0, reverse);

    matches = 0;
    found = 0;
    matchindex = 0;

    for (index = 0;
         kvmq_qliter_valid(&it)
         && (maxlen == 0 || index < (uint64_t) maxlen);
         index++, kvmq_qliter_next(&it))
    {
        kvmq_qliter_get(&it, &v);

        if (!kvmq_list_eq(&v, &argv[2])) {
            continue;
        }

        matches++;

        if (matches < rank) {
            continue;
        }

        matchindex = reverse ? len - index - 1 : index;

        if (count == -1) {
            found = 1;
            break;
        }

        kvmq_reply_int(c, (int64_t) matchindex);

        if (count != 0 && matches - rank + 1 >= count) {
            break;
        }
    }

    if (count != -1) {
        kvmq_reply_array_end(c);

    } else if (found) {
        kvmq_reply_int(c, (int64_t) matchindex);

    } else {
        kvmq_reply_nil(c);
    }
}


/* ---- writes in place --------------------------------------------------- */


void
kvmq_cmd_lset(kvmq_ctx_t *c, int argc, const kvmq_slice_t *argv)
{
    long long      index;
    kvmq_list_t   *l;
    kvmq_entry_t  *e;
    kvmq_qliter_t  it;

    (void) argc;

    if (kvmq_list_lookup(c, &argv[1], 1, &e) != 0) {
        return;
    }

    if (e == NULL) {
        kvmq_reply_error(c, KVMQ_ERR_NOTFOUND, "no such key");
        return;
    }

    if (kvmq_arg_ll(c, &argv[2], &index) != 0) {
        return;
    }

    l = e->val;

    if (index < 0) {
        index += (long long) l->len;
    }

    if (index < 0 || index >= (long long) l->len) {
        kvmq_reply_error(c, KVMQ_ERR_BADREQ, "index out of range");
        return;
    }

    kvmq_qliter_init(&it, l, (uint64_t) index, 0);

    if (kvmq_list_replace(c, &it, argv[3].data, argv[3].len) != 0) {
        kvmq_reply_nomem(c);
        return;
    }

    kvmq_db_touch_write(c, e);
    kvmq_reply_ok(c);
}


void
kvmq_cmd_linsert(kvmq_ctx_t *c, int argc, const kvmq_slice_t *argv)
{
    int            after;
    kvmq_list_t   *l;
    kvmq_entry_t  *e;
    kvmq_lp_val_t  v;
    kvmq_qliter_t  it;

    (void) argc;

    if (kvmq_arg_is(&argv[2], "AFTER")) {
        after = 1;

    } else if (kvmq_arg_is(&argv[2], "BEFORE")) {
        after = 0;

    } else {
        kvmq_reply_syntax(c);
        return;
    }

    if (kvmq_list_lookup(c, &argv[1], 1, &e) != 0) {
        return;
    }

    if (e == NULL) {
        kvmq_reply_int(c, 0);
        return;
    }

    l = e->val;

    for (kvmq_qliter_init(&it, l, 0, 0);
         kvmq_qliter_valid(&it);
         kvmq_qliter_next(&it))
    {
        kvmq_qliter_get(&it, &v);

        if (kvmq_list_eq(&v, &argv[3])) {
            break;
        }
    }

    if (!kvmq_qliter_valid(&it)) {
        kvmq_reply_int(c, -1);
        return;
    }

    if (kvmq_list_insert(c, &it, after, argv[4].data, argv[4].len) != 0) {
        kvmq_reply_nomem(c);
        return;
    }

    kvmq_db_touch_write(c, e);
    kvmq_db_signal_ready(c, e);
    kvmq_reply_int(c, (int64_t) l->len);
}


void
kvmq_cmd_lrem(kvmq_ctx_t *c, int argc, const kvmq_slice_t *argv)
{
    int64_t        removed;
    long long      toremove;
    kvmq_list_t   *l;
    kvmq_entry_t  *e;
    kvmq_lp_val_t  v;
    kvmq_qliter_t  it;

    (void) argc;

    if (kvmq_arg_ll(c, &argv[2], &toremove) != 0) {
        return;
    }

    if (kvmq_list_lookup(c, &argv[1], 1, &e) != 0) {
        return;
    }

    if (e == NULL) {
        kvmq_reply_int(c, 0);
        return;
    }

    l = e->val;

    if (toremove < 0) {
        toremove = (toremove == INT64_MIN) ? INT64_MAX : -toremove;
        kvmq_qliter_init(&it, l, l->len - 1, 1);

    } else {
        kvmq_qliter_init(&it, l, 0, 0);
    }

    removed = 0;

    while (kvmq_qliter_valid(&it)) {
        kvmq_qliter_get(&it, &v);

        if (!kvmq_list_eq(&v, &argv[3])) {
            kvmq_qliter_next(&it);
            continue;
        }

        kvmq_qliter_delete(c, &it);
        removed++;

        if (toremove && removed == toremove) {
            break;
        }
    }

    kvmq_qliter_end(c, &it);

    if (removed) {
        kvmq_list_written(c, e);
    }

    kvmq_reply_int(c, removed);
}


void
kvmq_cmd_ltrim(kvmq_ctx_t *c, int argc, const kvmq_slice_t *argv)
{
    uint64_t       from, n;
    long long      start, end;
    kvmq_list_t   *l;
    kvmq_entry_t  *e;

    (void) argc;

    if (kvmq_arg_ll(c, &argv[2], &start) != 0
        || kvmq_arg_ll(c, &argv[3], &end) != 0)
    {
        return;
    }

    if (kvmq_list_lookup(c, &argv[1], 1, &e) != 0) {
        return;
    }

    if (e == NULL) {
        kvmq_reply_ok(c);
        return;
    }

    l = e->val;

    if (!kvmq_list_range(start, end, l->len, &from, &n)) {
        from = l->len;
        n = 0;
    }

    /* the tail first: the head range's indexes stay valid */
    kvmq_list_del_range(c, l, from + n, l->len - from - n);
    kvmq_list_del_range(c, l, 0, from);

    kvmq_list_written(c, e);
    kvmq_reply_ok(c);
}


/* ---- pops -------------------------------------------------------------- */


/*
 * Pop from the list of e: one item as a bulk (count < 0), or up to count
 * items as an array; with_key replies [key, item] (BLPOP's shape).
 */
static void
kvmq_list_pop_entry(kvmq_ctx_t *c, kvmq_entry_t *e, int where,
    long long count, int with_key)
{
    uint64_t       n;
    kvmq_list_t   *l;
    kvmq_lp_val_t  v;
    kvmq_qliter_t  it;

    l = e->val;

    if (with_key) {
        kvmq_reply_array(c, 2);
        kvmq_reply_bulk(c, e->key, e->klen);
    }

    if (count < 0) {
        kvmq_qliter_init(&it, l, (where == KVMQ_LIST_HEAD) ? 0 : l->len - 1,
                         0);
        kvmq_qliter_get(&it, &v);
        kvmq_list_reply_val(c, &v);
        n = 1;

    } else {
        n = ((uint64_t) count > l->len) ? l->len : (uint64_t) count;

        kvmq_list_reply_range(c, l, (where == KVMQ_LIST_HEAD) ? 0
                                                             : l->len - 1,
                              n, where == KVMQ_LIST_TAIL);
    }

    if (with_key) {
        kvmq_reply_array_end(c);
    }

    kvmq_list_del_range(c, l, (where == KVMQ_LIST_HEAD) ? 0 : l->len - n, n);
    kvmq_list_written(c, e);
}


int
kvmq_list_try_pop(kvmq_ctx_t *c, const kvmq_slice_t *key, int where,
    long long count, int with_key)
{
    kvmq_entry_t  *e;

    if (kvmq_list_lookup(c, key, 1, &e) != 0) {
        return 1;
    }

    if (e == NULL) {
        return 0;
    }

    kvmq_list_pop_entry(c, e, where, count, with_key);

    return 1;
}


static void
kvmq_list_pop_generic(kvmq_ctx_t *c, int argc, const kvmq_slice_t *argv,
    int where)
{
    long long      count;
    kvmq_entry_t  *e;

    count = -1;

    if (argc > 3) {
        kvmq_reply_arity(c);
        return;
    }

    if (argc == 3
        && kvmq_list_arg_count(c, &argv[2], kvmq_list_out_of_range, &count)
           != 0)
    {
        return;
    }

    if (count == 0) {
        /* Redis still looks the key up: nil, WRONGTYPE or an empty array */
        if (kvmq_list_lookup(c, &argv[1], 1, &e) != 0) {
            return;
        }

        if (e == NULL) {
            kvmq_reply_nil(c);

        } else {
            kvmq_reply_array(c, 0);
            kvmq_reply_array_end(c);
        }

        return;
    }

    if (kvmq_list_try_pop(c, &argv[1], where, count, 0) == 0) {
        kvmq_reply_nil(c);
    }
}


void
kvmq_cmd_lpop(kvmq_ctx_t *c, int argc, const kvmq_slice_t *argv)
{
    kvmq_list_pop_generic(c, argc, argv, KVMQ_LIST_HEAD);
}


void
kvmq_cmd_rpop(kvmq_ctx_t *c, int argc, const kvmq_slice_t *argv)
{
    kvmq_list_pop_generic(c, argc, argv, KVMQ_LIST_TAIL);
}


/* ---- LMOVE RPOPLPUSH --------------------------------------------------- */


/*
 * LMOVE within one list.  When both ends are the same, or there is one
 * item, nothing moves.  A one-node list pops first (the push then fits
 * where the item was, without allocating); a longer one pushes first
 * (its two ends are different nodes, and the push may fail), replies
 * while the item is still in its node, then pops.
 */
static void
kvmq_list_rotate(kvmq_ctx_t *c, kvmq_entry_t *e, int from, int to,
    kvmq_slice_t *item)
{
    unsigned char   buf[KVMQ_QL_DATA_MAX];
    kvmq_list_t    *l;

    l = e->val;

    if (from == to || l->len == 1) {
        kvmq_reply_bulk(c, item->data, item->len);

    } else if (l->nodes == 1) {
        memcpy(buf, item->data, item->len);
        item->data = buf;

        kvmq_list_del_range(c, l, (from == KVMQ_LIST_HEAD) ? 0 : l->len - 1,
                            1);
        (void) kvmq_list_push(c, l, to, item, 1);
        kvmq_reply_bulk(c, buf, item->len);

    } else {
        if (kvmq_list_push(c, l, to, item, 1) != 0) {
            kvmq_reply_nomem(c);
            return;
        }

        kvmq_reply_bulk(c, item->data, item->len);
        kvmq_list_del_range(c, l, (from == KVMQ_LIST_HEAD) ? 0 : l->len - 1,
                            1);
    }

    kvmq_db_touch_write(c, e);
}


/*
 * Move the item at "from" of src's list to "to" of dst's.  Returns 0,
 * replying nothing, when src does not exist.
 */
int
kvmq_list_try_move(kvmq_ctx_t *c, const kvmq_slice_t *src,
    const kvmq_slice_t *dst, int from, int to)
{
    kvmq_list_t   *sl, *dl;
    kvmq_slice_t   item;
    kvmq_entry_t  *se, *de;
    kvmq_lp_val_t  v;
    kvmq_qliter_t  it;

    if (kvmq_list_lookup(c, src, 1, &se) != 0) {
        return 1;
    }

    if (se == NULL) {
        return 0;
    }

    if (kvmq_list_lookup(c, dst, 1, &de) != 0) {
        return 1;
    }

    sl = se->val;

    kvmq_qliter_init(&it, sl, (from == KVMQ_LIST_HEAD) ? 0 : sl->len - 1, 0);
    kvmq_qliter_get(&it, &v);

    /* items are strings: see the header */
    item.data = v.str;
    item.len = v.len;

    if (de == se) {
        kvmq_list_rotate(c, se, from, to, &item);
        return 1;
    }

    if (de == NULL) {
        dl = kvmq_list_new(c);
        if (dl == NULL) {
            kvmq_reply_nomem(c);
            return 1;
        }

        if (kvmq_list_push(c, dl, to, &item, 1) != 0) {
            kvmq_list_free(c, dl);
            kvmq_reply_nomem(c);
            return 1;
        }

        de = kvmq_db_add(c, dst, KVMQ_TYPE_LIST, dl);
        if (de == NULL) {
            kvmq_list_free(c, dl);
            kvmq_reply_nomem(c);
            return 1;
        }

    } else {
        if (kvmq_list_push(c, de->val, to, &item, 1) != 0) {
            kvmq_reply_nomem(c);
            return 1;
        }

        kvmq_db_touch_write(c, de);
    }

    kvmq_db_signal_ready(c, de);

    /* the item is still in src's node: reply, then pop */
    kvmq_reply_bulk(c, item.data, item.len);

    kvmq_list_del_range(c, sl, (from == KVMQ_LIST_HEAD) ? 0 : sl->len - 1,
                        1);
    kvmq_list_written(c, se);

    return 1;
}


static int
kvmq_list_where(kvmq_ctx_t *c, const kvmq_slice_t *a, int *where)
{
    if (kvmq_arg_is(a, "LEFT")) {
        *where = KVMQ_LIST_HEAD;
        return 0;
    }

    if (kvmq_arg_is(a, "RIGHT")) {
        *where = KVMQ_LIST_TAIL;
        return 0;
    }

    kvmq_reply_syntax(c);

    return -1;
}


void
kvmq_cmd_lmove(kvmq_ctx_t *c, int argc, const kvmq_slice_t *argv)
{
    int  from, to;

    (void) argc;

    if (kvmq_list_where(c, &argv[3], &from) != 0
        || kvmq_list_where(c, &argv[4], &to) != 0)
    {
        return;
    }

    if (kvmq_list_try_move(c, &argv[1], &argv[2], from, to) == 0) {
        kvmq_reply_nil(c);
    }
}


void
kvmq_cmd_rpoplpush(kvmq_ctx_t *c, int argc, const kvmq_slice_t *argv)
{
    (void) argc;

    if (kvmq_list_try_move(c, &argv[1], &argv[2], KVMQ_LIST_TAIL,
                           KVMQ_LIST_HEAD)
        == 0)
    {
        kvmq_reply_nil(c);
    }
}
