/*
 * Sorted sets, the writing commands:
 *
 *   ZADD (NX XX GT LT CH INCR) ZINCRBY ZREM ZREMRANGEBYRANK
 *   ZREMRANGEBYSCORE ZREMRANGEBYLEX ZPOPMIN ZPOPMAX
 *
 * The value (packed pairs or skiplist + hash table) is in zskiplist.c,
 * the reading commands in t_zrange.c, the *STORE commands in
 * t_zstore.c.
 *
 * Out of memory.  Every write allocates all it needs before it changes
 * the set, so NOMEM leaves the key exactly as it was:
 *
 *   - ZADD on a skiplist set first allocates a node for every member not
 *     yet in the set, then applies the pairs in order (linking a node
 *     into the skiplist and the hash table cannot fail: see htable.c).
 *   - ZADD on a packed set applies the pairs to an array of the items in
 *     process memory, then writes the array back, into the same block
 *     when it fits, else into a new one.  When the 129th member or a
 *     member over 64 bytes arrives, the array so far becomes a new
 *     skiplist set and the remaining pairs go to it; the packed block is
 *     freed only once all of that succeeded.
 *   - Deletions never allocate.
 *
 * Errors come in Redis' order (syntax, option conflicts, scores, then
 * WRONGTYPE), with Redis' messages.  ZADD with INCR whose result is NaN
 * (inf + -inf) is an error and changes nothing.
 *
 * Blocking pops (BZPOPMIN BZPOPMAX) live in t_block.c; their half here
 * is kvmq_zset_try_pop(), ZPOPMIN/ZPOPMAX that reply nothing and return
 * 0 when the key does not exist, and every ZADD that creates or grows a
 * set signals the db (kvmq_db_signal_ready, see t_list.c).
 */

#include <math.h>
#include <stdlib.h>

#include "commands.h"
#include "db.h"
#include "zset.h"


#define KVMQ_ZADD_NX        0x01
#define KVMQ_ZADD_XX        0x02
#define KVMQ_ZADD_GT        0x04
#define KVMQ_ZADD_LT        0x08
#define KVMQ_ZADD_INCR      0x10
#define KVMQ_ZADD_CH        0x20

/* what one score-member pair does (zsetAdd's outcomes) */
#define KVMQ_ZADD_NOP       0
#define KVMQ_ZADD_SAME      1
#define KVMQ_ZADD_UPDATED   2
#define KVMQ_ZADD_ADDED     3
#define KVMQ_ZADD_NAN       4

#define KVMQ_ZADD_STACK     16


static const char  kvmq_zset_nan[] = "resulting score is not a number (NaN)";


typedef struct {
    unsigned             flags;
    const kvmq_slice_t  *pairs;      /* score, member, score, member ... */
    const double        *scores;
    size_t               n;
    uint64_t             added;
    uint64_t             updated;
    uint64_t             processed;
    double               score;      /* the last new score (INCR) */
} kvmq_zadd_t;


/* ---- ZADD ZINCRBY ------------------------------------------------------ */


/* zsetAdd()'s decision for one pair; *score becomes the new score */
static int
kvmq_zadd_decide(unsigned flags, int exists, double cur, double *score)
{
    if (isnan(*score)) {
        return KVMQ_ZADD_NAN;
    }

    if (!exists) {
        return (flags & KVMQ_ZADD_XX) ? KVMQ_ZADD_NOP : KVMQ_ZADD_ADDED;
    }

    if (flags & KVMQ_ZADD_NX) {
        return KVMQ_ZADD_NOP;
    }

    if (flags & KVMQ_ZADD_INCR) {
        *score += cur;

        if (isnan(*score)) {
            return KVMQ_ZADD_NAN;
        }
    }

    if (((flags & KVMQ_ZADD_LT) && *score >= cur)
        || ((flags & KVMQ_ZADD_GT) && *score <= cur))
    {
        return KVMQ_ZADD_NOP;
    }

    return (*score != cur) ? KVMQ_ZADD_UPDATED : KVMQ_ZADD_SAME;
}


static void
kvmq_zadd_count(kvmq_zadd_t *za, int outcome, double score)
{
    switch (outcome) {
    case KVMQ_ZADD_ADDED:
        za->added++;
        break;
    case KVMQ_ZADD_UPDATED:
        za->updated++;
        break;
    case KVMQ_ZADD_NOP:
        return;
    default:
        break;
    }

    za->processed++;
    za->score = score;
}


/*
 * Apply pairs from..n-1 to a skiplist set.  Nodes for the members not in
 * the set are allocated first; -1 on NOMEM with z unchanged.
 */
static int
kvmq_zadd_skiplist(kvmq_ctx_t *c, kvmq_zset_t *z, kvmq_zadd_t *za,
    size_t from)
{
    int                outcome;
    size_t             j;
    double             score;
    kvmq_zsl_node_t   *stack[KVMQ_ZADD_STACK], **nodes, *x;
    const kvmq_slice_t *m;

    nodes = stack;

    if (za->n > KVMQ_ZADD_STACK) {
        nodes = malloc(za->n * sizeof(kvmq_zsl_node_t *));
        if (nodes == NULL) {
            return -1;
        }
    }

    for (j = from; j < za->n; j++) {
        nodes[j] = NULL;
        m = &za->pairs[j * 2 + 1];

        if ((za->flags & KVMQ_ZADD_XX)
            || kvmq_zsl_find(c, z, m->data, m->len) != NULL)
        {
            continue;
        }

        nodes[j] = kvmq_zsl_node_new(c, m->data, m->len);

        if (nodes[j] == NULL) {
            while (j-- > from) {
                kvmq_zfree(c, nodes[j]);
            }

            if (nodes != stack) {
                free(nodes);
            }

            return -1;
        }
    }

    for (j = from; j < za->n; j++) {
        m = &za->pairs[j * 2 + 1];
        x = kvmq_zsl_find(c, z, m->data, m->len);
        score = za->scores[j];

        /* NaN was ruled out before (INCR has one pair) */
        outcome = kvmq_zadd_decide(za->flags, x != NULL,
                                   x ? x->score : 0, &score);

        if (outcome == KVMQ_ZADD_UPDATED) {
            kvmq_zsl_update(z, x, score);

        } else if (outcome == KVMQ_ZADD_ADDED) {
            kvmq_zsl_insert(c, z, nodes[j], score);
            nodes[j] = NULL;
        }

        kvmq_zadd_count(za, outcome, score);
    }

    /* a member named twice got a node it did not use */
    for (j = from; j < za->n; j++) {
        kvmq_zfree(c, nodes[j]);
    }

    if (nodes != stack) {
        free(nodes);
    }

    return 0;
}


/*
 * Apply the pairs to a packed set (zp, or NULL for a new key) and
 * return the value to store: zp itself, a new packed block, or a new
 * skiplist set.  NULL on NOMEM, zp unchanged.
 */
static void *
kvmq_zadd_packed(kvmq_ctx_t *c, kvmq_zpack_t *zp, kvmq_zadd_t *za)
{
    int            outcome;
    void          *nz;
    size_t         j, i, n, n0;
    double         score;
    kvmq_zitem_t  *items;
    const kvmq_slice_t  *m;

    n0 = zp ? zp->count : 0;

    items = malloc((n0 + za->n) * sizeof(kvmq_zitem_t));
    if (items == NULL) {
        return NULL;
    }

    if (zp != NULL) {
        kvmq_zpack_items(zp, items);
    }

    n = n0;

    for (j = 0; j < za->n; j++) {
        m = &za->pairs[j * 2 + 1];
        score = za->scores[j];

        for (i = 0; i < n; i++) {
            if (items[i].len == m->len
                && memcmp(items[i].m, m->data, m->len) == 0)
            {
                break;
            }
        }

        outcome = kvmq_zadd_decide(za->flags, i < n,
                                   (i < n) ? items[i].score : 0, &score);

        if (outcome == KVMQ_ZADD_ADDED
            && (n + 1 > KVMQ_ZSET_MAX_PACKED_ENTRIES
                || m->len > KVMQ_ZSET_MAX_PACKED_VALUE))
        {
            break;
        }

        if (outcome == KVMQ_ZADD_UPDATED) {
            items[i].score = score;

        } else if (outcome == KVMQ_ZADD_ADDED) {
            items[n].m = m->data;
            items[n].len = m->len;
            items[n].score = score;
            n++;
        }

        kvmq_zadd_count(za, outcome, score);
    }

    qsort(items, n, sizeof(kvmq_zitem_t), kvmq_zitem_qsort_cmp);

    if (j == za->n) {
        if (zp != NULL && za->added == 0 && za->updated == 0) {
            nz = zp;

        } else {
            nz = kvmq_zset_build(c, items, n, KVMQ_ZSET_PACKED, zp);
        }

        free(items);
        return nz;
    }

    /* the set outgrows the packed encoding at pair j */

    nz = kvmq_zset_build(c, items, n, KVMQ_ZSET_SKIPLIST, NULL);
    free(items);

    if (nz == NULL) {
        return NULL;
    }

    if (kvmq_zadd_skiplist(c, nz, za, j) != 0) {
        kvmq_zset_free(c, nz);
        return NULL;
    }

    return nz;
}


static void
kvmq_zadd_generic(kvmq_ctx_t *c, int argc, const kvmq_slice_t *argv,
    unsigned flags)
{
    int            idx;
    void          *val, *nz;
    size_t         j, elements;
    double         stack[KVMQ_ZADD_STACK], *scores, score, cur;
    kvmq_zadd_t    za;
    kvmq_entry_t  *e;

    for (idx = 2; idx < argc; idx++) {
        if (kvmq_arg_is(&argv[idx], "NX")) {
            flags |= KVMQ_ZADD_NX;

        } else if (kvmq_arg_is(&argv[idx], "XX")) {
            flags |= KVMQ_ZADD_XX;

        } else if (kvmq_arg_is(&argv[idx], "CH")) {
            flags |= KVMQ_ZADD_CH;

        } else if (kvmq_arg_is(&argv[idx], "INCR")) {
            flags |= KVMQ_ZADD_INCR;

        } else if (kvmq_arg_is(&argv[idx], "GT")) {
            flags |= KVMQ_ZADD_GT;

        } else if (kvmq_arg_is(&argv[idx], "LT")) {
            flags |= KVMQ_ZADD_LT;

        } else {
            break;
        }
    }

    elements = (size_t) (argc - idx);

    if (elements == 0 || elements % 2) {
        kvmq_reply_syntax(c);
        return;
    }

    elements /= 2;

    if ((flags & KVMQ_ZADD_NX) && (flags & KVMQ_ZADD_XX)) {
        kvmq_reply_error(c, KVMQ_ERR_BADREQ,
                         "XX and NX options at the same time are not "
                         "compatible");
        return;
    }

    if (((flags & KVMQ_ZADD_GT) && (flags & KVMQ_ZADD_NX))
        || ((flags & KVMQ_ZADD_LT) && (flags & KVMQ_ZADD_NX))
        || ((flags & KVMQ_ZADD_GT) && (flags & KVMQ_ZADD_LT)))
    {
        kvmq_reply_error(c, KVMQ_ERR_BADREQ,
                         "GT, LT, and/or NX options at the same time are "
                         "not compatible");
        return;
    }

    if ((flags & KVMQ_ZADD_INCR) && elements > 1) {
        kvmq_reply_error(c, KVMQ_ERR_BADREQ,
                         "INCR option supports a single increment-element "
                         "pair");
        return;
    }

    scores = stack;

    if (elements > KVMQ_ZADD_STACK) {
        scores = malloc(elements * sizeof(double));
        if (scores == NULL) {
            kvmq_reply_nomem(c);
            return;
        }
    }

    for (j = 0; j < elements; j++) {
        if (kvmq_arg_d(c, &argv[idx + j * 2], &scores[j]) != 0) {
            goto done;
        }
    }

    for (j = 0; j < elements; j++) {
        if (argv[idx + j * 2 + 1].len > KVMQ_ZSET_MEMBER_MAX) {
            kvmq_reply_error(c, KVMQ_ERR_TOOLARGE,
                             "member exceeds maximum allowed size");
            goto done;
        }
    }

    if (kvmq_zset_lookup(c, &argv[1], 1, &e) != 0) {
        goto done;
    }

    memset(&za, 0, sizeof(kvmq_zadd_t));
    za.flags = flags;
    za.pairs = &argv[idx];
    za.scores = scores;
    za.n = elements;

    if (e == NULL && (flags & KVMQ_ZADD_XX)) {
        goto reply;
    }

    val = e ? e->val : NULL;

    /* INCR has a single pair: its NaN is found before anything changes */
    if ((flags & KVMQ_ZADD_INCR) && val != NULL
        && kvmq_zset_score(c, val, &argv[idx + 1], &cur) == 0)
    {
        score = scores[0];

        if (kvmq_zadd_decide(flags, 1, cur, &score) == KVMQ_ZADD_NAN) {
            kvmq_reply_error(c, KVMQ_ERR_BADREQ, "%s", kvmq_zset_nan);
            goto done;
        }
    }

    if (val == NULL || kvmq_zset_enc(val) == KVMQ_ZSET_PACKED) {
        nz = kvmq_zadd_packed(c, val, &za);

        if (nz == NULL) {
            kvmq_reply_nomem(c);
            goto done;
        }

        if (e == NULL) {
            e = kvmq_db_add(c, &argv[1], KVMQ_TYPE_ZSET, nz);
            if (e == NULL) {
                kvmq_zset_free(c, nz);
                kvmq_reply_nomem(c);
                goto done;
            }

        } else if (nz != val) {
            e->val = nz;
            kvmq_zset_free(c, val);
        }

    } else if (kvmq_zadd_skiplist(c, val, &za, 0) != 0) {
        kvmq_reply_nomem(c);
        goto done;
    }

    if (za.added || za.updated) {
        kvmq_db_touch_write(c, e);
        kvmq_db_signal_ready(c, e);
    }

reply:

    if (flags & KVMQ_ZADD_INCR) {
        if (za.processed) {
            kvmq_reply_double(c, za.score);

        } else {
            kvmq_reply_nil(c);
        }

    } else {
        kvmq_reply_int(c, (int64_t) ((flags & KVMQ_ZADD_CH)
                                     ? za.added + za.updated : za.added));
    }

done:

    if (scores != stack) {
        free(scores);
    }
}


void
kvmq_cmd_zadd(kvmq_ctx_t *c, int argc, const kvmq_slice_t *argv)
{
    kvmq_zadd_generic(c, argc, argv, 0);
}


void
kvmq_cmd_zincrby(kvmq_ctx_t *c, int argc, const kvmq_slice_t *argv)
{
    kvmq_zadd_generic(c, argc, argv, KVMQ_ZADD_INCR);
}


/* ---- ZREM and the range deletions -------------------------------------- */


/* after a deletion: the key goes when the set is empty, else a new cas */
static void
kvmq_zset_written(kvmq_ctx_t *c, kvmq_entry_t *e)
{
    if (kvmq_zset_length(e->val) == 0) {
        kvmq_db_delete(c, e);
        return;
    }

    kvmq_db_touch_write(c, e);
}


/* the index of member m in a packed set, or -1 */
static long
kvmq_zpack_find(const kvmq_zpack_t *zp, const kvmq_slice_t *m)
{
    uint32_t      i;
    kvmq_zitem_t  items[KVMQ_ZSET_MAX_PACKED_ENTRIES];

    kvmq_zpack_items(zp, items);

    for (i = 0; i < zp->count; i++) {
        if (items[i].len == m->len
            && memcmp(items[i].m, m->data, m->len) == 0)
        {
            return (long) i;
        }
    }

    return -1;
}


void
kvmq_cmd_zrem(kvmq_ctx_t *c, int argc, const kvmq_slice_t *argv)
{
    int               j;
    long              i;
    int64_t           deleted;
    kvmq_entry_t     *e;
    kvmq_zsl_node_t  *x;

    if (kvmq_zset_lookup(c, &argv[1], 1, &e) != 0) {
        return;
    }

    if (e == NULL) {
        kvmq_reply_int(c, 0);
        return;
    }

    deleted = 0;

    for (j = 2; j < argc && kvmq_zset_length(e->val) > 0; j++) {
        if (kvmq_zset_enc(e->val) == KVMQ_ZSET_PACKED) {
            i = kvmq_zpack_find(e->val, &argv[j]);

            if (i >= 0) {
                kvmq_zpack_delete(e->val, (uint32_t) i, 1);
                deleted++;
            }

            continue;
        }

        x = kvmq_zsl_find(c, e->val, argv[j].data, argv[j].len);

        if (x != NULL) {
            kvmq_zsl_delete(c, e->val, x);
            deleted++;
        }
    }

    if (deleted) {
        kvmq_zset_written(c, e);
    }

    kvmq_reply_int(c, deleted);
}


static void
kvmq_zremrange_generic(kvmq_ctx_t *c, const kvmq_slice_t *argv, int kind)
{
    long              i;
    uint64_t          deleted, n;
    long long         start, end, llen;
    const void       *spec;
    kvmq_zlex_t       lex;
    kvmq_entry_t     *e;
    kvmq_zitem_t      items[KVMQ_ZSET_MAX_PACKED_ENTRIES];
    kvmq_zpack_t     *zp;
    kvmq_zrange_t     range;

    start = 0;
    end = 0;
    spec = NULL;

    if (kind == KVMQ_ZDEL_RANK) {
        if (kvmq_arg_ll(c, &argv[2], &start) != 0
            || kvmq_arg_ll(c, &argv[3], &end) != 0)
        {
            return;
        }

    } else if (kind == KVMQ_ZDEL_SCORE) {
        if (kvmq_zset_parse_range(&argv[2], &argv[3], &range) != 0) {
            kvmq_reply_error(c, KVMQ_ERR_BADREQ,
                             "min or max is not a float");
            return;
        }

        spec = &range;

    } else {
        if (kvmq_zset_parse_lex(&argv[2], &argv[3], &lex) != 0) {
            kvmq_reply_error(c, KVMQ_ERR_BADREQ,
                             "min or max not valid string range item");
            return;
        }

        spec = &lex;
    }

    if (kvmq_zset_lookup(c, &argv[1], 1, &e) != 0) {
        return;
    }

    if (e == NULL) {
        kvmq_reply_int(c, 0);
        return;
    }

    if (kind == KVMQ_ZDEL_RANK) {
        llen = (long long) kvmq_zset_length(e->val);

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
            kvmq_reply_int(c, 0);
            return;
        }

        if (end >= llen) {
            end = llen - 1;
        }
    }

    if (kvmq_zset_enc(e->val) == KVMQ_ZSET_SKIPLIST) {
        deleted = kvmq_zsl_delete_range(c, e->val, kind, spec,
                                        (uint64_t) start + 1,
                                        (uint64_t) end + 1);

    } else {
        zp = e->val;
        kvmq_zpack_items(zp, items);
        n = 0;

        if (kind == KVMQ_ZDEL_RANK) {
            i = (long) start;
            n = (uint64_t) (end - start + 1);

        } else if (kind == KVMQ_ZDEL_SCORE) {
            i = kvmq_zitems_first_in_range(items, zp->count, &range);

            while (i >= 0 && i + (long) n < (long) zp->count
                   && kvmq_zrange_lte_max(items[i + n].score, &range))
            {
                n++;
            }

        } else {
            i = kvmq_zitems_first_in_lex(items, zp->count, &lex);

            while (i >= 0 && i + (long) n < (long) zp->count
                   && kvmq_zlex_lte_max(items[i + n].m, items[i + n].len,
                                        &lex))
            {
                n++;
            }
        }

        if (n > 0) {
            kvmq_zpack_delete(zp, (uint32_t) i, (uint32_t) n);
        }

        deleted = n;
    }

    if (deleted) {
        kvmq_zset_written(c, e);
    }

    kvmq_reply_int(c, (int64_t) deleted);
}


void
kvmq_cmd_zremrangebyrank(kvmq_ctx_t *c, int argc, const kvmq_slice_t *argv)
{
    (void) argc;
    kvmq_zremrange_generic(c, argv, KVMQ_ZDEL_RANK);
}


void
kvmq_cmd_zremrangebyscore(kvmq_ctx_t *c, int argc, const kvmq_slice_t *argv)
{
    (void) argc;
    kvmq_zremrange_generic(c, argv, KVMQ_ZDEL_SCORE);
}


void
kvmq_cmd_zremrangebylex(kvmq_ctx_t *c, int argc, const kvmq_slice_t *argv)
{
    (void) argc;
    kvmq_zremrange_generic(c, argv, KVMQ_ZDEL_LEX);
}


/* ---- ZPOPMIN ZPOPMAX --------------------------------------------------- */


static void
kvmq_zset_pop_reply(kvmq_ctx_t *c, const unsigned char *m, size_t len,
    double score, int with_key)
{
    if (with_key == 2) {
        kvmq_reply_bulk(c, m, len);
        kvmq_reply_double(c, score);
        return;
    }

    kvmq_zset_reply_item(c, m, len, score, 1);
}


/*
 * Pop up to count (>= 1) members of e's set from the low (max = 0) or
 * high end, replying [[member, score], ...], or with with_key [key,
 * [[member, score], ...]].
 */
static void
kvmq_zset_pop_entry(kvmq_ctx_t *c, kvmq_entry_t *e, int max,
    long long count, int with_key)
{
    uint64_t          n, len, k;
    kvmq_zset_t      *z;
    kvmq_slice_t      m;
    kvmq_zitem_t      items[KVMQ_ZSET_MAX_PACKED_ENTRIES], *it;
    kvmq_zpack_t     *zp;
    kvmq_zsl_node_t  *x;

    len = kvmq_zset_length(e->val);
    n = ((uint64_t) count > len) ? len : (uint64_t) count;

    /* with_key 2 is BZPOPMIN's flat [key, member, score] of one item */
    if (with_key) {
        kvmq_reply_array(c, (with_key == 2) ? 3 : 2);
        kvmq_reply_bulk(c, e->key, e->klen);
    }

    if (with_key != 2) {
        kvmq_reply_array(c, (long) n);
    }

    if (kvmq_zset_enc(e->val) == KVMQ_ZSET_PACKED) {
        zp = e->val;
        kvmq_zpack_items(zp, items);

        for (k = 0; k < n; k++) {
            it = &items[max ? len - 1 - k : k];
            kvmq_zset_pop_reply(c, it->m, it->len, it->score, with_key);
        }

        if (with_key != 2) {
            kvmq_reply_array_end(c);
        }

        kvmq_zpack_delete(zp, (uint32_t) (max ? len - n : 0), (uint32_t) n);

    } else {
        z = e->val;
        x = max ? z->tail : z->head->forward[0];

        for (k = 0; k < n; k++) {
            m = kvmq_zsl_member(x);
            kvmq_zset_pop_reply(c, m.data, m.len, x->score, with_key);
            x = max ? x->backward : x->forward[0];
        }

        if (with_key != 2) {
            kvmq_reply_array_end(c);
        }

        (void) kvmq_zsl_delete_range(c, z, KVMQ_ZDEL_RANK, NULL,
                                     max ? len - n + 1 : 1,
                                     max ? len : n);
    }

    if (with_key) {
        kvmq_reply_array_end(c);
    }

    kvmq_zset_written(c, e);
}


int
kvmq_zset_try_pop(kvmq_ctx_t *c, const kvmq_slice_t *key, int max,
    long long count, int with_key)
{
    kvmq_entry_t  *e;

    if (kvmq_zset_lookup(c, key, 1, &e) != 0) {
        return 1;
    }

    if (e == NULL) {
        return 0;
    }

    if (count == 0) {
        kvmq_reply_array(c, 0);
        kvmq_reply_array_end(c);
        return 1;
    }

    kvmq_zset_pop_entry(c, e, max, count, with_key);

    return 1;
}


static void
kvmq_zpop_generic(kvmq_ctx_t *c, int argc, const kvmq_slice_t *argv,
    int max)
{
    long long  count;

    if (argc > 3) {
        kvmq_reply_syntax(c);
        return;
    }

    count = 1;

    if (argc == 3
        && (kvmq_str2ll(argv[2].data, argv[2].len, &count) != 0
            || count < 0))
    {
        kvmq_reply_error(c, KVMQ_ERR_BADREQ,
                         "value is out of range, must be positive");
        return;
    }

    if (kvmq_zset_try_pop(c, &argv[1], max, count, 0) == 0) {
        kvmq_reply_array(c, 0);
        kvmq_reply_array_end(c);
    }
}


void
kvmq_cmd_zpopmin(kvmq_ctx_t *c, int argc, const kvmq_slice_t *argv)
{
    kvmq_zpop_generic(c, argc, argv, 0);
}


void
kvmq_cmd_zpopmax(kvmq_ctx_t *c, int argc, const kvmq_slice_t *argv)
{
    kvmq_zpop_generic(c, argc, argv, 1);
}
