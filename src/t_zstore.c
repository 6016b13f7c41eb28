/*
 * Sorted sets, the *STORE commands:
 *
 *   ZUNIONSTORE ZINTERSTORE ZDIFFSTORE (WEIGHTS, AGGREGATE SUM|MIN|MAX)
 *
 * Redis 7.0's zunionInterDiffGenericCommand, step for step: numkeys, the
 * inputs looked up (a sorted set, a set whose members score 1, or
 * nothing; anything else is WRONGTYPE), then WEIGHTS and AGGREGATE; the
 * inputs of a union or an intersection sorted by size (ties in argument
 * order, as Redis' stable qsort leaves them), so that sums are added in
 * Redis' order and give the same doubles.  A weighted score that is NaN
 * (inf * 0) counts as 0, and so does a sum of inf and -inf.
 *
 * Memory.  The result is computed in process memory: the union in a map
 * of members to their aggregated score (aggr.h's kvmq_smap), the
 * intersection and the difference by walking the first (smallest)
 * input and looking its members up in the others.  Before the zone is
 * touched the result's members are copied out of the inputs: the inputs
 * are not protected from eviction (the command table names only the
 * destination as a key, as Redis' legacy key spec does), and building
 * the destination may evict.  The destination value is built whole, in
 * the encoding its size calls for (packed up to 128 members of at most
 * 64 bytes), before the destination key is touched, so NOMEM changes
 * nothing.  It then replaces whatever the key held, whatever its type,
 * and its TTL; an empty result deletes the key.
 */

#include <math.h>
#include <stdlib.h>

#include "aggr.h"
#include "commands.h"
#include "db.h"
#include "zset.h"


#define KVMQ_AGGR_SUM       0
#define KVMQ_AGGR_MIN       1
#define KVMQ_AGGR_MAX       2

#define KVMQ_ZOP_UNION      0
#define KVMQ_ZOP_INTER      1
#define KVMQ_ZOP_DIFF       2


/*
 * An input of the *STORE commands: a sorted set, or a set whose members
 * all score 1 (as in Redis), or nothing (a missing key).  Members are
 * read in place; set integers are formatted into the arena.  Sets are
 * read through the primitives of aggr.h (t_set.c keeps its own walk and
 * lookup static; they would do here too once exported).
 */
typedef struct {
    void                *val;       /* NULL: an empty input */
    int                  type;
    double               weight;
    uint64_t             len;
    kvmq_zitem_t        *items;     /* a packed zset, decoded on demand */
} kvmq_zsrc_t;

typedef void (*kvmq_zsrc_pt)(void *arg, const unsigned char *m, size_t len,
    double score);

typedef struct {
    kvmq_ctx_t          *c;
    kvmq_svec_t          arena;     /* formatted integers */
    kvmq_zsrc_pt         fn;
    void                *arg;
} kvmq_zwalk_t;


static uint64_t
kvmq_zsrc_len(const kvmq_zsrc_t *src)
{
    if (src->val == NULL) {
        return 0;
    }

    return (src->type == KVMQ_TYPE_ZSET) ? kvmq_zset_length(src->val)
                                         : kvmq_set_card(src->val);
}


static void
kvmq_zwalk_int(kvmq_zwalk_t *w, long long v)
{
    char           buf[KVMQ_NUMBUF];
    size_t         len;
    kvmq_slice_t  *s;

    len = kvmq_ll2str(buf, v);
    kvmq_svec_push(&w->arena, buf, len, 1);

    if (w->arena.nomem) {
        return;
    }

    s = &w->arena.v[w->arena.n - 1];
    w->fn(w->arg, s->data, s->len, 1.0);
}


static void
kvmq_zwalk_node(void *arg, kvmq_hnode_t *n)
{
    kvmq_slice_t   k;
    kvmq_zwalk_t  *w;

    w = arg;
    k = kvmq_aggr_node_key(n);
    w->fn(w->arg, k.data, k.len, 1.0);
}


/* call w->fn for every member of src, in the source's own order */
static void
kvmq_zsrc_each(kvmq_zwalk_t *w, kvmq_zsrc_t *src)
{
    uint32_t          i, off;
    kvmq_slice_t      m;
    kvmq_lp_val_t     v;
    kvmq_pack_t      *pk;
    kvmq_intset_t    *is;
    kvmq_zsl_node_t  *x;

    if (src->val == NULL) {
        return;
    }

    if (src->type == KVMQ_TYPE_ZSET) {
        if (kvmq_zset_enc(src->val) == KVMQ_ZSET_PACKED) {
            for (i = 0; i < src->len; i++) {
                w->fn(w->arg, src->items[i].m, src->items[i].len,
                      src->items[i].score);
            }

            return;
        }

        for (x = ((kvmq_zset_t *) src->val)->head->forward[0];
             x != NULL;
             x = x->forward[0])
        {
            m = kvmq_zsl_member(x);
            w->fn(w->arg, m.data, m.len, x->score);
        }

        return;
    }

    switch (kvmq_aggr_enc(src->val)) {

    case KVMQ_ENC_PACK:
        pk = src->val;

        for (off = 0, i = 0; i < pk->count; i++) {
            off += (uint32_t) kvmq_lp_get(pk->data + off, &v);

            if (v.type == KVMQ_LP_STR) {
                w->fn(w->arg, v.str, v.len, 1.0);

            } else {
                kvmq_zwalk_int(w, v.ll);
            }
        }

        break;

    case KVMQ_ENC_INTSET:
        is = src->val;

        for (i = 0; i < is->count; i++) {
            kvmq_zwalk_int(w, kvmq_intset_get(is, i));
        }

        break;

    default:
        kvmq_aggr_each(src->val, kvmq_zwalk_node, w);
        break;
    }
}


/* is member m in src? its score then (1 for a set member) */
static int
kvmq_zsrc_find(kvmq_ctx_t *c, kvmq_zsrc_t *src, const unsigned char *m,
    size_t len, double *score)
{
    uint32_t          i;
    long long         ll;
    kvmq_slice_t      s;
    kvmq_needle_t     nd;
    kvmq_zsl_node_t  *x;

    if (src->val == NULL) {
        return 0;
    }

    *score = 1.0;

    if (src->type == KVMQ_TYPE_ZSET) {
        if (kvmq_zset_enc(src->val) == KVMQ_ZSET_PACKED) {
            for (i = 0; i < src->len; i++) {
                if (src->items[i].len == len
                    && memcmp(src->items[i].m, m, len) == 0)
                {
                    *score = src->items[i].score;
                    return 1;
                }
            }

            return 0;
        }

        x = kvmq_zsl_find(c, src->val, m, len);

        if (x != NULL) {
            *score = x->score;
        }

        return x != NULL;
    }

    switch (kvmq_aggr_enc(src->val)) {

    case KVMQ_ENC_PACK:
        kvmq_needle_init(&nd, m, len);
        return kvmq_pack_find(src->val, 0, 0, &nd) != KVMQ_PACK_NONE;

    case KVMQ_ENC_INTSET:
        s.data = m;
        s.len = len;

        return kvmq_str2ll(s.data, s.len, &ll) == 0
               && kvmq_intset_find(src->val, ll, &i);

    default:
        return kvmq_aggr_find(c, src->val, m, len) != NULL;
    }
}


static void
kvmq_zaggregate(double *target, double val, int aggregate)
{
    switch (aggregate) {

    case KVMQ_AGGR_SUM:
        *target = *target + val;

        /* inf + -inf: Redis' convention is 0 */
        if (isnan(*target)) {
            *target = 0.0;
        }

        break;

    case KVMQ_AGGR_MIN:
        *target = (val < *target) ? val : *target;
        break;

    default:
        *target = (val > *target) ? val : *target;
        break;
    }
}


/* the computation of a *STORE, all in process memory */
typedef struct {
    kvmq_ctx_t          *c;
    kvmq_zsrc_t         *src;
    long long            nsrc;
    int                  op;
    int                  aggregate;
    kvmq_zsrc_t         *cur;       /* the source being walked */

    kvmq_zitem_t        *items;     /* the result */
    size_t               n;
    kvmq_smap_t          map;       /* union: member -> index in items */
} kvmq_zstore_t;


static void
kvmq_zstore_union(void *arg, const unsigned char *m, size_t len,
    double score)
{
    int                found;
    kvmq_zstore_t     *st;
    kvmq_smap_slot_t  *slot;

    st = arg;

    score = st->cur->weight * score;

    if (isnan(score)) {
        score = 0;
    }

    slot = kvmq_smap_put(&st->map, m, len, &found);

    if (found) {
        kvmq_zaggregate(&st->items[slot->val].score, score, st->aggregate);
        return;
    }

    slot->val = st->n;
    st->items[st->n].m = m;
    st->items[st->n].len = len;
    st->items[st->n].score = score;
    st->n++;
}


static void
kvmq_zstore_inter(void *arg, const unsigned char *m, size_t len,
    double zscore)
{
    double          score, value;
    long long       j;
    kvmq_zstore_t  *st;

    st = arg;

    score = st->src[0].weight * zscore;

    if (isnan(score)) {
        score = 0;
    }

    for (j = 1; j < st->nsrc; j++) {
        if (st->src[j].val == st->src[0].val) {
            value = zscore * st->src[j].weight;

        } else if (kvmq_zsrc_find(st->c, &st->src[j], m, len, &value)) {
            value *= st->src[j].weight;

        } else {
            return;
        }

        kvmq_zaggregate(&score, value, st->aggregate);
    }

    st->items[st->n].m = m;
    st->items[st->n].len = len;
    st->items[st->n].score = score;
    st->n++;
}


static void
kvmq_zstore_diff(void *arg, const unsigned char *m, size_t len,
    double score)
{
    double          value;
    long long       j;
    kvmq_zstore_t  *st;

    st = arg;

    for (j = 1; j < st->nsrc; j++) {
        if (st->src[j].val == st->src[0].val
            || kvmq_zsrc_find(st->c, &st->src[j], m, len, &value))
        {
            return;
        }
    }

    st->items[st->n].m = m;
    st->items[st->n].len = len;
    st->items[st->n].score = score;
    st->n++;
}


static void
kvmq_zstore_name(const kvmq_ctx_t *c, char *buf, size_t size)
{
    size_t       i;
    const char  *s;

    s = (c->cmd != NULL) ? kvmq_cmd_name(c->cmd) : "zunionstore";

    for (i = 0; s[i] && i + 1 < size; i++) {
        buf[i] = (char) ((s[i] >= 'A' && s[i] <= 'Z') ? s[i] | 0x20 : s[i]);
    }

    buf[i] = '\0';
}


/*
 * Parse and look up everything, as zunionInterDiffGenericCommand does:
 * numkeys, the inputs (WRONGTYPE for anything but a zset or a set),
 * then WEIGHTS and AGGREGATE.  0, or -1 with the error replied.
 */
static int
kvmq_zstore_parse(kvmq_ctx_t *c, int argc, const kvmq_slice_t *argv,
    kvmq_zstore_t *st)
{
    int            j, remaining;
    char           name[32];
    long long      i, numkeys;
    kvmq_entry_t  *e;

    if (kvmq_arg_ll(c, &argv[2], &numkeys) != 0) {
        return -1;
    }

    if (numkeys < 1) {
        kvmq_zstore_name(c, name, sizeof(name));
        kvmq_reply_error(c, KVMQ_ERR_BADREQ,
                         "at least 1 input key is needed for '%s' command",
                         name);
        return -1;
    }

    if (numkeys > argc - 3) {
        kvmq_reply_syntax(c);
        return -1;
    }

    st->nsrc = numkeys;
    st->src = calloc((size_t) numkeys, sizeof(kvmq_zsrc_t));
    if (st->src == NULL) {
        kvmq_reply_nomem(c);
        return -1;
    }

    for (i = 0; i < numkeys; i++) {
        e = kvmq_lookup_read(c, &argv[3 + i]);
        st->src[i].weight = 1.0;

        if (e == NULL) {
            continue;
        }

        if (e->type != KVMQ_TYPE_ZSET && e->type != KVMQ_TYPE_SET) {
            kvmq_reply_wrongtype(c);
            return -1;
        }

        st->src[i].val = e->val;
        st->src[i].type = e->type;
    }

    j = 3 + (int) numkeys;

    while (j < argc) {
        remaining = argc - j;

        if (st->op != KVMQ_ZOP_DIFF && remaining >= numkeys + 1
            && kvmq_arg_is(&argv[j], "WEIGHTS"))
        {
            j++;

            for (i = 0; i < numkeys; i++, j++) {
                if (kvmq_str2d(argv[j].data, argv[j].len,
                               &st->src[i].weight) != 0)
                {
                    kvmq_reply_error(c, KVMQ_ERR_BADREQ,
                                     "weight value is not a float");
                    return -1;
                }
            }

        } else if (st->op != KVMQ_ZOP_DIFF && remaining >= 2
                   && kvmq_arg_is(&argv[j], "AGGREGATE"))
        {
            if (kvmq_arg_is(&argv[j + 1], "SUM")) {
                st->aggregate = KVMQ_AGGR_SUM;

            } else if (kvmq_arg_is(&argv[j + 1], "MIN")) {
                st->aggregate = KVMQ_AGGR_MIN;

            } else if (kvmq_arg_is(&argv[j + 1], "MAX")) {
                st->aggregate = KVMQ_AGGR_MAX;

            } else {
                kvmq_reply_syntax(c);
                return -1;
            }

            j += 2;

        } else {
            kvmq_reply_syntax(c);
            return -1;
        }
    }

    return 0;
}


/* the inputs by cardinality, ties in argument order (as Redis' qsort) */
static void
kvmq_zstore_sort(kvmq_zstore_t *st)
{
    long long    i, j;
    kvmq_zsrc_t  tmp;

    for (i = 1; i < st->nsrc; i++) {
        tmp = st->src[i];

        for (j = i; j > 0 && st->src[j - 1].len > tmp.len; j--) {
            st->src[j] = st->src[j - 1];
        }

        st->src[j] = tmp;
    }
}


static void
kvmq_zstore_generic(kvmq_ctx_t *c, int argc, const kvmq_slice_t *argv,
    int op)
{
    void           *val;
    size_t          i, bytes, maxlen, cap;
    long long       k;
    unsigned char  *copy, *p;
    kvmq_entry_t   *e;
    kvmq_zwalk_t    w;
    kvmq_zstore_t   st;

    memset(&st, 0, sizeof(kvmq_zstore_t));
    st.c = c;
    st.op = op;
    st.aggregate = KVMQ_AGGR_SUM;

    kvmq_svec_init(&w.arena);
    w.c = c;
    w.arg = &st;
    copy = NULL;

    if (kvmq_zstore_parse(c, argc, argv, &st) != 0) {
        goto done;
    }

    cap = 0;

    for (k = 0; k < st.nsrc; k++) {
        st.src[k].len = kvmq_zsrc_len(&st.src[k]);
        cap += st.src[k].len;

        if (st.src[k].type == KVMQ_TYPE_ZSET && st.src[k].val != NULL
            && kvmq_zset_enc(st.src[k].val) == KVMQ_ZSET_PACKED)
        {
            st.src[k].items = malloc(st.src[k].len * sizeof(kvmq_zitem_t));
            if (st.src[k].items == NULL) {
                kvmq_reply_nomem(c);
                goto done;
            }

            kvmq_zpack_items(st.src[k].val, st.src[k].items);
        }
    }

    if (op != KVMQ_ZOP_DIFF) {
        kvmq_zstore_sort(&st);
    }

    /* the result has at most every input's members (union), or the
     * first input's (intersection, difference) */
    if (op != KVMQ_ZOP_UNION) {
        cap = st.src[0].len;
    }

    st.items = malloc((cap ? cap : 1) * sizeof(kvmq_zitem_t));

    if (st.items == NULL
        || (op == KVMQ_ZOP_UNION
            && kvmq_smap_init(&st.map, cap, c->db->seed) != 0))
    {
        kvmq_reply_nomem(c);
        goto done;
    }

    switch (op) {

    case KVMQ_ZOP_UNION:
        w.fn = kvmq_zstore_union;

        for (k = 0; k < st.nsrc; k++) {
            st.cur = &st.src[k];
            kvmq_zsrc_each(&w, &st.src[k]);
        }

        kvmq_smap_free(&st.map);
        break;

    case KVMQ_ZOP_INTER:
        w.fn = kvmq_zstore_inter;
        kvmq_zsrc_each(&w, &st.src[0]);
        break;

    default:
        w.fn = kvmq_zstore_diff;
        kvmq_zsrc_each(&w, &st.src[0]);
        break;
    }

    if (w.arena.nomem) {
        kvmq_reply_nomem(c);
        goto done;
    }

    /* copy the members out of the inputs before the zone is touched */

    for (bytes = 0, maxlen = 0, i = 0; i < st.n; i++) {
        bytes += st.items[i].len;
        maxlen = (st.items[i].len > maxlen) ? st.items[i].len : maxlen;
    }

    copy = malloc(bytes ? bytes : 1);
    if (copy == NULL) {
        kvmq_reply_nomem(c);
        goto done;
    }

    for (p = copy, i = 0; i < st.n; i++) {
        memcpy(p, st.items[i].m, st.items[i].len);
        st.items[i].m = p;
        p += st.items[i].len;
    }

    qsort(st.items, st.n, sizeof(kvmq_zitem_t), kvmq_zitem_qsort_cmp);

    e = kvmq_lookup_write(c, &argv[1]);

    if (st.n == 0) {
        if (e != NULL) {
            kvmq_db_delete(c, e);
        }

        kvmq_reply_int(c, 0);
        goto done;
    }

    val = kvmq_zset_build(c, st.items, st.n, kvmq_zset_pick(st.n, maxlen),
                          NULL);
    if (val == NULL) {
        kvmq_reply_nomem(c);
        goto done;
    }

    if (e != NULL) {
        kvmq_db_set_expire(c, e, 0);
        kvmq_db_replace(c, e, KVMQ_TYPE_ZSET, val);
        kvmq_db_touch_write(c, e);

    } else {
        e = kvmq_db_add(c, &argv[1], KVMQ_TYPE_ZSET, val);
        if (e == NULL) {
            kvmq_zset_free(c, val);
            kvmq_reply_nomem(c);
            goto done;
        }
    }

    kvmq_db_signal_ready(c, e);
    kvmq_reply_int(c, (int64_t) st.n);

done:

    if (st.src != NULL) {
        for (k = 0; k < st.nsrc; k++) {
            free(st.src[k].items);
        }

        free(st.src);
    }

    free(st.items);
    free(copy);
    kvmq_svec_free(&w.arena);
}


void
kvmq_cmd_zunionstore(kvmq_ctx_t *c, int argc, const kvmq_slice_t *argv)
{
    kvmq_zstore_generic(c, argc, argv, KVMQ_ZOP_UNION);
}


void
kvmq_cmd_zinterstore(kvmq_ctx_t *c, int argc, const kvmq_slice_t *argv)
{
    kvmq_zstore_generic(c, argc, argv, KVMQ_ZOP_INTER);
}


void
kvmq_cmd_zdiffstore(kvmq_ctx_t *c, int argc, const kvmq_slice_t *argv)
{
    kvmq_zstore_generic(c, argc, argv, KVMQ_ZOP_DIFF);
}
