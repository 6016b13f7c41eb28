/*
 * Sorted sets, the reading commands:
 *
 *   ZCARD ZSCORE ZMSCORE ZRANK ZREVRANK ZCOUNT ZLEXCOUNT ZSCAN
 *   ZRANGE (BYSCORE BYLEX REV LIMIT WITHSCORES) ZREVRANGE ZRANGEBYSCORE
 *   ZREVRANGEBYSCORE ZRANGEBYLEX ZREVRANGEBYLEX
 *
 * and the helpers the writing commands of t_zset.c share with them
 * (lookup, range parsing, replies).  The value's structure is described
 * in zskiplist.c.
 *
 * Each command follows Redis 7.0's algorithm for each encoding, not just
 * its result: with members of different scores a lex range has no
 * defined answer, and Redis gives the one its walk finds (a linear scan
 * of the packed pairs, a descent of the skiplist), so we walk the same
 * way.  Ranges are parsed as Redis parses them: scores with strtod()
 * (so "(1.5", "-inf", "+inf", " 1", "1e400" and "" are all valid, only
 * NaN is not), lex bounds as "[x", "(x", "-" or "+".
 *
 * Replies.  A member with its score is a 2-element array [member,
 * score] with the score as a double (API.md: scored members are
 * [["m", 1.5], ...]): WITHSCORES, and ZSCAN, whose items are always
 * scored.  A packed set is read through an array of its items decoded
 * on the stack (at most 128); a skiplist is walked node to node.
 */

#include <math.h>
#include <stdlib.h>

#include "aggr.h"
#include "commands.h"
#include "zset.h"


#define KVMQ_ZR_AUTO       -1
#define KVMQ_ZR_RANK       0
#define KVMQ_ZR_SCORE      1
#define KVMQ_ZR_LEX        2


/* a position in a set of either encoding */
typedef struct {
    kvmq_zitem_t       *items;      /* packed: decoded */
    long                i;
    long                n;
    kvmq_zsl_node_t    *x;          /* skiplist */
    int                 packed;
} kvmq_zcur_t;


/* ---- helpers ----------------------------------------------------------- */


int
kvmq_zset_lookup(kvmq_ctx_t *c, const kvmq_slice_t *key, int write,
    kvmq_entry_t **e)
{
    *e = write ? kvmq_lookup_write(c, key) : kvmq_lookup_read(c, key);

    if (*e != NULL && (*e)->type != KVMQ_TYPE_ZSET) {
        kvmq_reply_wrongtype(c);
        return -1;
    }

    return 0;
}


static int
kvmq_zset_parse_bound(const kvmq_slice_t *a, double *v, int *ex)
{
    int                   rc;
    char                  stack[128], *buf, *end;
    size_t                len;
    const unsigned char  *p;

    p = a->data;
    len = a->len;
    *ex = 0;

    if (len > 0 && p[0] == '(') {
        *ex = 1;
        p++;
        len--;
    }

    buf = stack;

    if (len >= sizeof(stack)) {
        buf = malloc(len + 1);
        if (buf == NULL) {
            return -1;
        }
    }

    if (len) {
        memcpy(buf, p, len);
    }

    buf[len] = '\0';

    /* strtod stops at an embedded NUL too, which Redis accepts */
    *v = strtod(buf, &end);
    rc = (*end != '\0' || isnan(*v)) ? -1 : 0;

    if (buf != stack) {
        free(buf);
    }

    return rc;
}


int
kvmq_zset_parse_range(const kvmq_slice_t *min, const kvmq_slice_t *max,
    kvmq_zrange_t *r)
{
    if (kvmq_zset_parse_bound(min, &r->min, &r->minex) != 0
        || kvmq_zset_parse_bound(max, &r->max, &r->maxex) != 0)
    {
        return -1;
    }

    return 0;
}


static int
kvmq_zset_parse_lex_item(const kvmq_slice_t *a, kvmq_slice_t *s, int *inf,
    int *ex)
{
    *inf = 0;

    if (a->len == 0) {
        return -1;
    }

    switch (a->data[0]) {

    case '+':
    case '-':
        if (a->len != 1) {
            return -1;
        }

        *inf = (a->data[0] == '+') ? 1 : -1;
        *ex = 1;
        s->data = a->data;
        s->len = 0;
        return 0;

    case '(':
    case '[':
        *ex = (a->data[0] == '(');
        s->data = a->data + 1;
        s->len = a->len - 1;
        return 0;

    default:
        return -1;
    }
}


int
kvmq_zset_parse_lex(const kvmq_slice_t *min, const kvmq_slice_t *max,
    kvmq_zlex_t *r)
{
    if (kvmq_zset_parse_lex_item(min, &r->min, &r->mininf, &r->minex) != 0
        || kvmq_zset_parse_lex_item(max, &r->max, &r->maxinf, &r->maxex)
           != 0)
    {
        return -1;
    }

    return 0;
}


void
kvmq_zset_reply_item(kvmq_ctx_t *c, const unsigned char *m, size_t len,
    double score, int withscores)
{
    if (!withscores) {
        kvmq_reply_bulk(c, m, len);
        return;
    }

    kvmq_reply_array(c, 2);
    kvmq_reply_bulk(c, m, len);
    kvmq_reply_double(c, score);
    kvmq_reply_array_end(c);
}


static void
kvmq_zset_reply_empty(kvmq_ctx_t *c)
{
    kvmq_reply_array(c, 0);
    kvmq_reply_array_end(c);
}


int
kvmq_zset_score(kvmq_ctx_t *c, void *z, const kvmq_slice_t *m,
    double *score)
{
    uint32_t           i;
    kvmq_zitem_t       items[KVMQ_ZSET_MAX_PACKED_ENTRIES];
    kvmq_zpack_t      *zp;
    kvmq_zsl_node_t   *x;

    if (kvmq_zset_enc(z) == KVMQ_ZSET_PACKED) {
        zp = z;
        kvmq_zpack_items(zp, items);

        for (i = 0; i < zp->count; i++) {
            if (items[i].len == m->len
                && memcmp(items[i].m, m->data, m->len) == 0)
            {
                *score = items[i].score;
                return 0;
            }
        }

        return -1;
    }

    x = kvmq_zsl_find(c, z, m->data, m->len);

    if (x == NULL) {
        return -1;
    }

    *score = x->score;

    return 0;
}


/* ---- cursors over both encodings --------------------------------------- */


static void
kvmq_zcur_init(kvmq_zcur_t *cur, void *z, kvmq_zitem_t *items)
{
    cur->packed = (kvmq_zset_enc(z) == KVMQ_ZSET_PACKED);
    cur->items = items;
    cur->x = NULL;
    cur->i = -1;
    cur->n = 0;

    if (cur->packed) {
        kvmq_zpack_items(z, items);
        cur->n = ((kvmq_zpack_t *) z)->count;
    }
}


static int
kvmq_zcur_valid(const kvmq_zcur_t *cur)
{
    return cur->packed ? (cur->i >= 0 && cur->i < cur->n) : cur->x != NULL;
}


static void
kvmq_zcur_get(const kvmq_zcur_t *cur, kvmq_zitem_t *it)
{
    kvmq_slice_t  m;

    if (cur->packed) {
        *it = cur->items[cur->i];
        return;
    }

    m = kvmq_zsl_member(cur->x);
    it->m = m.data;
    it->len = m.len;
    it->score = cur->x->score;
}


static void
kvmq_zcur_move(kvmq_zcur_t *cur, int reverse)
{
    if (cur->packed) {
        cur->i += reverse ? -1 : 1;
        return;
    }

    cur->x = reverse ? cur->x->backward : cur->x->forward[0];
}


/* ---- ZCARD ZSCORE ZMSCORE ZRANK ZREVRANK ------------------------------- */


void
kvmq_cmd_zcard(kvmq_ctx_t *c, int argc, const kvmq_slice_t *argv)
{
    kvmq_entry_t  *e;

    (void) argc;

    if (kvmq_zset_lookup(c, &argv[1], 0, &e) != 0) {
        return;
    }

    kvmq_reply_int(c, e ? (int64_t) kvmq_zset_length(e->val) : 0);
}


void
kvmq_cmd_zscore(kvmq_ctx_t *c, int argc, const kvmq_slice_t *argv)
{
    double         score;
    kvmq_entry_t  *e;

    (void) argc;

    if (kvmq_zset_lookup(c, &argv[1], 0, &e) != 0) {
        return;
    }

    if (e == NULL || kvmq_zset_score(c, e->val, &argv[2], &score) != 0) {
        kvmq_reply_nil(c);
        return;
    }

    kvmq_reply_double(c, score);
}


void
kvmq_cmd_zmscore(kvmq_ctx_t *c, int argc, const kvmq_slice_t *argv)
{
    int            i;
    double         score;
    kvmq_entry_t  *e;

    if (kvmq_zset_lookup(c, &argv[1], 0, &e) != 0) {
        return;
    }

    kvmq_reply_array(c, argc - 2);

    for (i = 2; i < argc; i++) {
        if (e == NULL || kvmq_zset_score(c, e->val, &argv[i], &score) != 0) {
            kvmq_reply_nil(c);

        } else {
            kvmq_reply_double(c, score);
        }
    }

    kvmq_reply_array_end(c);
}


static void
kvmq_zset_rank_generic(kvmq_ctx_t *c, const kvmq_slice_t *argv, int reverse)
{
    uint32_t          i;
    uint64_t          len, rank;
    kvmq_entry_t     *e;
    kvmq_zitem_t      items[KVMQ_ZSET_MAX_PACKED_ENTRIES];
    kvmq_zpack_t     *zp;
    kvmq_zsl_node_t  *x;

    if (kvmq_zset_lookup(c, &argv[1], 0, &e) != 0) {
        return;
    }

    if (e == NULL) {
        kvmq_reply_nil(c);
        return;
    }

    len = kvmq_zset_length(e->val);

    if (kvmq_zset_enc(e->val) == KVMQ_ZSET_PACKED) {
        zp = e->val;
        kvmq_zpack_items(zp, items);

        for (i = 0; i < zp->count; i++) {
            if (items[i].len == argv[2].len
                && memcmp(items[i].m, argv[2].data, argv[2].len) == 0)
            {
                break;
            }
        }

        if (i == zp->count) {
            kvmq_reply_nil(c);
            return;
        }

        rank = i;

    } else {
        x = kvmq_zsl_find(c, e->val, argv[2].data, argv[2].len);

        if (x == NULL) {
            kvmq_reply_nil(c);
            return;
        }

        rank = kvmq_zsl_rank(e->val, x) - 1;
    }

    kvmq_reply_int(c, (int64_t) (reverse ? len - 1 - rank : rank));
}


void
kvmq_cmd_zrank(kvmq_ctx_t *c, int argc, const kvmq_slice_t *argv)
{
    (void) argc;
    kvmq_zset_rank_generic(c, argv, 0);
}


void
kvmq_cmd_zrevrank(kvmq_ctx_t *c, int argc, const kvmq_slice_t *argv)
{
    (void) argc;
    kvmq_zset_rank_generic(c, argv, 1);
}


/* ---- ZCOUNT ZLEXCOUNT -------------------------------------------------- */


void
kvmq_cmd_zcount(kvmq_ctx_t *c, int argc, const kvmq_slice_t *argv)
{
    long              i;
    uint64_t          count, rank;
    kvmq_zset_t      *z;
    kvmq_entry_t     *e;
    kvmq_zitem_t      items[KVMQ_ZSET_MAX_PACKED_ENTRIES];
    kvmq_zpack_t     *zp;
    kvmq_zrange_t     r;
    kvmq_zsl_node_t  *x;

    (void) argc;

    if (kvmq_zset_parse_range(&argv[2], &argv[3], &r) != 0) {
        kvmq_reply_error(c, KVMQ_ERR_BADREQ, "min or max is not a float");
        return;
    }

    if (kvmq_zset_lookup(c, &argv[1], 0, &e) != 0) {
        return;
    }

    count = 0;

    if (e == NULL) {
        kvmq_reply_int(c, 0);
        return;
    }

    if (kvmq_zset_enc(e->val) == KVMQ_ZSET_PACKED) {
        zp = e->val;
        kvmq_zpack_items(zp, items);

        i = kvmq_zitems_first_in_range(items, zp->count, &r);

        for ( /* void */ ; i >= 0 && i < (long) zp->count; i++) {
            if (!kvmq_zrange_lte_max(items[i].score, &r)) {
                break;
            }

            count++;
        }

    } else {
        z = e->val;
        x = kvmq_zsl_first_in_range(z, &r);

        if (x != NULL) {
            rank = kvmq_zsl_rank(z, x);
            count = z->length - (rank - 1);

            x = kvmq_zsl_last_in_range(z, &r);

            if (x != NULL) {
                count -= z->length - kvmq_zsl_rank(z, x);
            }
        }
    }

    kvmq_reply_int(c, (int64_t) count);
}


void
kvmq_cmd_zlexcount(kvmq_ctx_t *c, int argc, const kvmq_slice_t *argv)
{
    long              i;
    uint64_t          count, rank;
    kvmq_zset_t      *z;
    kvmq_zlex_t       r;
    kvmq_entry_t     *e;
    kvmq_zitem_t      items[KVMQ_ZSET_MAX_PACKED_ENTRIES];
    kvmq_zpack_t     *zp;
    kvmq_zsl_node_t  *x;

    (void) argc;

    if (kvmq_zset_parse_lex(&argv[2], &argv[3], &r) != 0) {
        kvmq_reply_error(c, KVMQ_ERR_BADREQ,
                         "min or max not valid string range item");
        return;
    }

    if (kvmq_zset_lookup(c, &argv[1], 0, &e) != 0) {
        return;
    }

    if (e == NULL) {
        kvmq_reply_int(c, 0);
        return;
    }

    count = 0;

    if (kvmq_zset_enc(e->val) == KVMQ_ZSET_PACKED) {
        zp = e->val;
        kvmq_zpack_items(zp, items);

        i = kvmq_zitems_first_in_lex(items, zp->count, &r);

        for ( /* void */ ; i >= 0 && i < (long) zp->count; i++) {
            if (!kvmq_zlex_lte_max(items[i].m, items[i].len, &r)) {
                break;
            }

            count++;
        }

    } else {
        z = e->val;
        x = kvmq_zsl_first_in_lex(z, &r);

        if (x != NULL) {
            rank = kvmq_zsl_rank(z, x);
            count = z->length - (rank - 1);

            x = kvmq_zsl_last_in_lex(z, &r);

            if (x != NULL) {
                count -= z->length - kvmq_zsl_rank(z, x);
            }
        }
    }

    kvmq_reply_int(c, (int64_t) count);
}


/* ---- the ZRANGE family ------------------------------------------------- */


static void
kvmq_zrange_by_rank(kvmq_ctx_t *c, void *z, long long start, long long end,
    int withscores, int reverse)
{
    long long      llen, n;
    kvmq_zcur_t    cur;
    kvmq_zitem_t   items[KVMQ_ZSET_MAX_PACKED_ENTRIES], it;
    kvmq_zset_t   *zs;

    llen = (long long) kvmq_zset_length(z);

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
        kvmq_zset_reply_empty(c);
        return;
    }

    if (end >= llen) {
        end = llen - 1;
    }

    n = end - start + 1;

    kvmq_zcur_init(&cur, z, items);

    if (cur.packed) {
        cur.i = reverse ? (long) (llen - 1 - start) : (long) start;

    } else {
        zs = z;

        if (reverse) {
            cur.x = (start > 0) ? kvmq_zsl_by_rank(zs,
                                                   (uint64_t) (llen - start))
                                : zs->tail;

        } else {
            cur.x = (start > 0) ? kvmq_zsl_by_rank(zs, (uint64_t) start + 1)
                                : zs->head->forward[0];
        }
    }

    kvmq_reply_array(c, (long) n);

    while (n-- && kvmq_zcur_valid(&cur)) {
        kvmq_zcur_get(&cur, &it);
        kvmq_zset_reply_item(c, it.m, it.len, it.score, withscores);
        kvmq_zcur_move(&cur, reverse);
    }

    kvmq_reply_array_end(c);
}


/* the start of a score or lex range walk */
static void
kvmq_zrange_start(kvmq_zcur_t *cur, void *z, int type, const void *spec,
    int reverse)
{
    if (cur->packed) {
        if (type == KVMQ_ZR_SCORE) {
            cur->i = reverse
                     ? kvmq_zitems_last_in_range(cur->items, cur->n, spec)
                     : kvmq_zitems_first_in_range(cur->items, cur->n, spec);

        } else {
            cur->i = reverse
                     ? kvmq_zitems_last_in_lex(cur->items, cur->n, spec)
                     : kvmq_zitems_first_in_lex(cur->items, cur->n, spec);
        }

        return;
    }

    if (type == KVMQ_ZR_SCORE) {
        cur->x = reverse ? kvmq_zsl_last_in_range(z, spec)
                         : kvmq_zsl_first_in_range(z, spec);

    } else {
        cur->x = reverse ? kvmq_zsl_last_in_lex(z, spec)
                         : kvmq_zsl_first_in_lex(z, spec);
    }
}


static int
kvmq_zrange_in(const kvmq_zitem_t *it, int type, const void *spec,
    int reverse)
{
    if (type == KVMQ_ZR_SCORE) {
        return reverse ? kvmq_zrange_gte_min(it->score, spec)
                       : kvmq_zrange_lte_max(it->score, spec);
    }

    return reverse ? kvmq_zlex_gte_min(it->m, it->len, spec)
                   : kvmq_zlex_lte_max(it->m, it->len, spec);
}


/* genericZrangebyscoreCommand and genericZrangebylexCommand */
static void
kvmq_zrange_by_spec(kvmq_ctx_t *c, void *z, int type, const void *spec,
    long long offset, long long limit, int withscores, int reverse)
{
    kvmq_zcur_t   cur;
    kvmq_zitem_t  items[KVMQ_ZSET_MAX_PACKED_ENTRIES], it;

    kvmq_reply_array(c, -1);

    /* a negative offset walks off the end in Redis: nothing either way */
    if ((offset > 0 && (uint64_t) offset >= kvmq_zset_length(z))
        || offset < 0)
    {
        kvmq_reply_array_end(c);
        return;
    }

    kvmq_zcur_init(&cur, z, items);
    kvmq_zrange_start(&cur, z, type, spec, reverse);

    while (kvmq_zcur_valid(&cur) && offset--) {
        kvmq_zcur_move(&cur, reverse);
    }

    while (kvmq_zcur_valid(&cur) && limit--) {
        kvmq_zcur_get(&cur, &it);

        if (!kvmq_zrange_in(&it, type, spec, reverse)) {
            break;
        }

        kvmq_zset_reply_item(c, it.m, it.len, it.score, withscores);
        kvmq_zcur_move(&cur, reverse);
    }

    kvmq_reply_array_end(c);
}


/*
 * zrangeGenericCommand: argv[1] key, argv[2..3] the range, then options.
 * type and reverse are fixed by the legacy commands, KVMQ_ZR_AUTO (-1)
 * for ZRANGE, which takes BYSCORE, BYLEX and REV.
 */
static void
kvmq_zrange_generic(kvmq_ctx_t *c, int argc, const kvmq_slice_t *argv,
    int type, int reverse)
{
    int            j, minidx, maxidx, withscores;
    long long      start, end, offset, limit;
    kvmq_zlex_t    lex;
    kvmq_entry_t  *e;
    kvmq_zrange_t  range;

    withscores = 0;
    offset = 0;
    limit = -1;

    for (j = 4; j < argc; j++) {
        if (kvmq_arg_is(&argv[j], "WITHSCORES")) {
            withscores = 1;

        } else if (kvmq_arg_is(&argv[j], "LIMIT") && argc - j - 1 >= 2) {
            if (kvmq_arg_ll(c, &argv[j + 1], &offset) != 0
                || kvmq_arg_ll(c, &argv[j + 2], &limit) != 0)
            {
                return;
            }

            j += 2;

        } else if (reverse == KVMQ_ZR_AUTO && kvmq_arg_is(&argv[j], "REV")) {
            reverse = 1;

        } else if (type == KVMQ_ZR_AUTO && kvmq_arg_is(&argv[j], "BYLEX")) {
            type = KVMQ_ZR_LEX;

        } else if (type == KVMQ_ZR_AUTO && kvmq_arg_is(&argv[j], "BYSCORE")) {
            type = KVMQ_ZR_SCORE;

        } else {
            kvmq_reply_syntax(c);
            return;
        }
    }

    if (reverse == KVMQ_ZR_AUTO) {
        reverse = 0;
    }

    if (type == KVMQ_ZR_AUTO) {
        type = KVMQ_ZR_RANK;
    }

    if (limit != -1 && type == KVMQ_ZR_RANK) {
        kvmq_reply_error(c, KVMQ_ERR_BADREQ,
                         "syntax error, LIMIT is only supported in "
                         "combination with either BYSCORE or BYLEX");
        return;
    }

    if (withscores && type == KVMQ_ZR_LEX) {
        kvmq_reply_error(c, KVMQ_ERR_BADREQ,
                         "syntax error, WITHSCORES not supported in "
                         "combination with BYLEX");
        return;
    }

    minidx = 2;
    maxidx = 3;

    if (reverse && type != KVMQ_ZR_RANK) {
        minidx = 3;
        maxidx = 2;
    }

    switch (type) {

    case KVMQ_ZR_RANK:
        if (kvmq_arg_ll(c, &argv[minidx], &start) != 0
            || kvmq_arg_ll(c, &argv[maxidx], &end) != 0)
        {
            return;
        }

        break;

    case KVMQ_ZR_SCORE:
        if (kvmq_zset_parse_range(&argv[minidx], &argv[maxidx], &range)
            != 0)
        {
            kvmq_reply_error(c, KVMQ_ERR_BADREQ,
                             "min or max is not a float");
            return;
        }

        break;

    default:
        if (kvmq_zset_parse_lex(&argv[minidx], &argv[maxidx], &lex) != 0) {
            kvmq_reply_error(c, KVMQ_ERR_BADREQ,
                             "min or max not valid string range item");
            return;
        }

        break;
    }

    if (kvmq_zset_lookup(c, &argv[1], 0, &e) != 0) {
        return;
    }

    if (e == NULL) {
        kvmq_zset_reply_empty(c);
        return;
    }

    switch (type) {

    case KVMQ_ZR_RANK:
        kvmq_zrange_by_rank(c, e->val, start, end, withscores, reverse);
        break;

    case KVMQ_ZR_SCORE:
        kvmq_zrange_by_spec(c, e->val, type, &range, offset, limit,
                            withscores, reverse);
        break;

    default:
        kvmq_zrange_by_spec(c, e->val, type, &lex, offset, limit, 0,
                            reverse);
        break;
    }
}


void
kvmq_cmd_zrange(kvmq_ctx_t *c, int argc, const kvmq_slice_t *argv)
{
    kvmq_zrange_generic(c, argc, argv, KVMQ_ZR_AUTO, KVMQ_ZR_AUTO);
}


void
kvmq_cmd_zrevrange(kvmq_ctx_t *c, int argc, const kvmq_slice_t *argv)
{
    kvmq_zrange_generic(c, argc, argv, KVMQ_ZR_RANK, 1);
}


void
kvmq_cmd_zrangebyscore(kvmq_ctx_t *c, int argc, const kvmq_slice_t *argv)
{
    kvmq_zrange_generic(c, argc, argv, KVMQ_ZR_SCORE, 0);
}


void
kvmq_cmd_zrevrangebyscore(kvmq_ctx_t *c, int argc, const kvmq_slice_t *argv)
{
    kvmq_zrange_generic(c, argc, argv, KVMQ_ZR_SCORE, 1);
}


void
kvmq_cmd_zrangebylex(kvmq_ctx_t *c, int argc, const kvmq_slice_t *argv)
{
    kvmq_zrange_generic(c, argc, argv, KVMQ_ZR_LEX, 0);
}


void
kvmq_cmd_zrevrangebylex(kvmq_ctx_t *c, int argc, const kvmq_slice_t *argv)
{
    kvmq_zrange_generic(c, argc, argv, KVMQ_ZR_LEX, 1);
}


/* ---- ZSCAN ------------------------------------------------------------- */


typedef struct {
    const kvmq_scan_args_t  *sa;
    kvmq_pvec_t              nodes;
} kvmq_zscan_t;


static void
kvmq_zscan_collect(void *arg, kvmq_hnode_t *n)
{
    kvmq_slice_t   m;
    kvmq_zscan_t  *s;

    s = arg;
    m = kvmq_zsl_member((kvmq_zsl_node_t *) n);

    if (kvmq_scan_match(s->sa, &m)) {
        kvmq_pvec_push(&s->nodes, n);
    }
}


/*
 * ZSCAN key cursor [MATCH pattern] [COUNT count], with the cursor and
 * option parsing that HSCAN and SSCAN use (aggr.c).  A packed set is
 * returned whole with cursor 0, as Redis does; a skiplist set is walked
 * through its hash table with the SCAN guarantee (htable.c).  Redis
 * parses the options after the lookup, so a missing key answers the
 * empty scan whatever they are.
 */
void
kvmq_cmd_zscan(kvmq_ctx_t *c, int argc, const kvmq_slice_t *argv)
{
    size_t             j;
    uint32_t           k;
    uint64_t           cursor, iterations;
    kvmq_zset_t       *z;
    kvmq_slice_t       m;
    kvmq_zscan_t       s;
    kvmq_entry_t      *e;
    kvmq_zitem_t       items[KVMQ_ZSET_MAX_PACKED_ENTRIES];
    kvmq_zpack_t      *zp;
    kvmq_zsl_node_t   *x;
    kvmq_scan_args_t   sa;

    if (kvmq_scan_cursor(c, &argv[2], &cursor) != 0) {
        return;
    }

    if (kvmq_zset_lookup(c, &argv[1], 0, &e) != 0) {
        return;
    }

    if (e == NULL) {
        kvmq_reply_array(c, 2);
        kvmq_reply_cursor(c, 0);
        kvmq_zset_reply_empty(c);
        kvmq_reply_array_end(c);
        return;
    }

    if (kvmq_scan_options(c, argc, argv, 3, &sa) != 0) {
        return;
    }

    if (kvmq_zset_enc(e->val) == KVMQ_ZSET_PACKED) {
        zp = e->val;
        kvmq_zpack_items(zp, items);

        kvmq_reply_array(c, 2);
        kvmq_reply_cursor(c, 0);
        kvmq_reply_array(c, -1);

        for (k = 0; k < zp->count; k++) {
            m.data = items[k].m;
            m.len = items[k].len;

            if (kvmq_scan_match(&sa, &m)) {
                kvmq_zset_reply_item(c, m.data, m.len, items[k].score, 1);
            }
        }

        kvmq_reply_array_end(c);
        kvmq_reply_array_end(c);
        return;
    }

    z = e->val;

    s.sa = &sa;
    kvmq_pvec_init(&s.nodes);

    /* Redis' bound: at most count * 10 calls of the table scan */
    iterations = (uint64_t) sa.count * 10;

    do {
        cursor = kvmq_htable_scan(&z->ht, cursor, kvmq_zscan_collect, &s);
    } while (cursor != 0 && iterations-- && s.nodes.n < sa.count);

    if (s.nodes.nomem) {
        kvmq_reply_nomem(c);
        kvmq_pvec_free(&s.nodes);
        return;
    }

    kvmq_reply_array(c, 2);
    kvmq_reply_cursor(c, cursor);
    kvmq_reply_array(c, (long) s.nodes.n);

    for (j = 0; j < s.nodes.n; j++) {
        x = s.nodes.v[j];
        m = kvmq_zsl_member(x);
        kvmq_zset_reply_item(c, m.data, m.len, x->score, 1);
    }

    kvmq_reply_array_end(c);
    kvmq_reply_array_end(c);

    kvmq_pvec_free(&s.nodes);
}
