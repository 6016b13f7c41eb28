/*
 * Sets: the value type and the Redis set commands (SADD SREM SCARD
 * SISMEMBER SMISMEMBER SMEMBERS SRANDMEMBER SPOP SMOVE SDIFF SDIFFSTORE
 * SINTER SINTERSTORE SINTERCARD SUNION SUNIONSTORE SSCAN), with Redis
 * 7.0 semantics.
 *
 * Encodings, as Redis 7.2 has them:
 *
 *   intset   (intset.c) while every member is the canonical text of an
 *            int64 and there are at most 512: sorted values of 2, 4 or
 *            8 bytes, binary search.  SMEMBERS answers in numeric order,
 *            as Redis 7.0's intsets do.
 *   pack     (pack.c) up to 128 members of at most 64 bytes: members as
 *            listpack entries in insertion order, linear search.  An
 *            intset that gets a non-integer member becomes one if the
 *            result fits, else a table.  (Redis 7.0 has no listpack
 *            sets: there such a set is a hashtable.  Only the order of
 *            unordered replies can tell.)
 *   table    (aggr.c over htable.c) one node per member, [ next | entry ]:
 *            a 16-byte member is a 25-byte node (the 32-byte slab class)
 *            plus about 8 bytes of bucket; Redis spends a dictEntry, an
 *            sds and its bucket, about 72.
 *
 * kvmq_set_convert() is the one conversion: it builds a set of a given
 * encoding from an old set (or none) plus new members, aside, and is
 * also how *STORE results and new keys are made.  Conversions only go
 * up (intset -> pack -> table); deletions never convert back.
 *
 * Invariants: a key never holds an empty set (the last SREM, SPOP or
 * SMOVE deletes it, a *STORE with an empty result deletes the
 * destination); an intset holds at most 512 values, a pack at most 128
 * entries of at most 64 bytes.
 *
 * Writes check types first, then allocate: SADD folds repeated members
 * and drops present ones, then either grows the block (pack, intset; a
 * new block when the old is full), converts (built aside), or for a
 * table allocates every node before kvmq_aggr_link() links them all or
 * none.  Deleting never allocates.  SMOVE adds to the destination first
 * (the step that can fail) and removes from the source after.  *STORE
 * computes the result in process memory, builds the new value, and only
 * then replaces the destination (which may be one of the sources), so
 * NOMEM leaves every key as it was.
 *
 * The set algebra (SINTER SUNION SDIFF, their STOREs, SINTERCARD) is
 * in t_setops.c.
 */

#include <stdlib.h>

#include "aggr.h"
#include "commands.h"
#include "db.h"


#define KVMQ_SET_INTSET_ENTRIES  512
#define KVMQ_SET_PACK_ENTRIES    128
#define KVMQ_SET_PACK_VALUE      64


/* ---- the type ---------------------------------------------------------- */


uint64_t
kvmq_set_card(const void *val)
{
    switch (kvmq_aggr_enc(val)) {
    case KVMQ_ENC_INTSET:
        return ((const kvmq_intset_t *) val)->count;
    case KVMQ_ENC_PACK:
        return ((const kvmq_pack_t *) val)->count;
    default:
        return kvmq_htable_size(&((const kvmq_aggr_table_t *) val)->ht);
    }
}


void
kvmq_set_free(kvmq_ctx_t *c, void *val)
{
    if (kvmq_aggr_enc(val) == KVMQ_ENC_TABLE) {
        kvmq_aggr_table_free(c, val);
        return;
    }

    kvmq_zfree(c, val);
}


int
kvmq_set_free_some(kvmq_ctx_t *c, void *val, unsigned *budget)
{
    if (kvmq_aggr_enc(val) == KVMQ_ENC_TABLE) {
        return kvmq_aggr_table_free_some(c, val, budget);
    }

    kvmq_zfree(c, val);

    if (*budget > 0) {
        (*budget)--;
    }

    return 1;
}


uint64_t
kvmq_set_blocks(const void *val)
{
    if (kvmq_aggr_enc(val) == KVMQ_ENC_TABLE) {
        return kvmq_aggr_table_blocks(val);
    }

    return 1;
}


size_t
kvmq_set_bytes(const void *val)
{
    const kvmq_pack_t    *pk;
    const kvmq_intset_t  *is;

    switch (kvmq_aggr_enc(val)) {
    case KVMQ_ENC_INTSET:
        is = val;
        return KVMQ_INTSET_HDR + (size_t) is->cap * is->width;
    case KVMQ_ENC_PACK:
        pk = val;
        return KVMQ_PACK_HDR + pk->cap;
    default:
        return kvmq_aggr_table_bytes(val);
    }
}


int
kvmq_set_has(kvmq_ctx_t *c, void *val, const kvmq_slice_t *m)
{
    uint32_t       pos;
    long long      v;
    kvmq_needle_t  nd;

    switch (kvmq_aggr_enc(val)) {

    case KVMQ_ENC_INTSET:
        return kvmq_str_isint(m->data, m->len, &v)
               && kvmq_intset_find(val, v, &pos);

    case KVMQ_ENC_PACK:
        kvmq_needle_init(&nd, m->data, m->len);
        return kvmq_pack_find(val, 0, 0, &nd) != KVMQ_PACK_NONE;

    default:
        return kvmq_aggr_find(c, val, m->data, m->len) != NULL;
    }
}


typedef struct {
    kvmq_set_fn          fn;
    void                *arg;
} kvmq_set_each_t;


static void
kvmq_set_each_node(void *arg, kvmq_hnode_t *n)
{
    kvmq_slice_t      m;
    kvmq_set_each_t  *se;

    se = arg;
    m = kvmq_aggr_node_key(n);

    se->fn(se->arg, &m, 0);
}


/*
 * Every member in the encoding's order.  copy is set when the bytes are
 * formatted in a buffer that the next member reuses.  fn must not
 * change this set.
 */
void
kvmq_set_each(void *val, kvmq_set_fn fn, void *arg)
{
    char              buf[KVMQ_NUMBUF];
    uint32_t          i, off;
    kvmq_pack_t      *pk;
    kvmq_slice_t      m;
    kvmq_intset_t    *is;
    kvmq_set_each_t   se;

    switch (kvmq_aggr_enc(val)) {

    case KVMQ_ENC_INTSET:
        is = val;

        for (i = 0; i < is->count; i++) {
            m.data = (const unsigned char *) buf;
            m.len = kvmq_ll2str(buf, kvmq_intset_get(is, i));
            fn(arg, &m, 1);
        }

        break;

    case KVMQ_ENC_PACK:
        pk = val;

        for (off = 0; off < pk->used; /* void */ ) {
            m = kvmq_pack_get(pk, off, buf);
            fn(arg, &m, m.data == (const unsigned char *) buf);
            off += (uint32_t) kvmq_lp_size(pk->data + off);
        }

        break;

    default:
        se.fn = fn;
        se.arg = arg;
        kvmq_aggr_each(val, kvmq_set_each_node, &se);
        break;
    }
}


/* member i (i < card) of a packed or intset set, formatted in buf */
static kvmq_slice_t
kvmq_set_small_at(void *val, uint32_t i, char *buf, uint32_t *off)
{
    kvmq_slice_t  m;

    if (kvmq_aggr_enc(val) == KVMQ_ENC_INTSET) {
        m.data = (const unsigned char *) buf;
        m.len = kvmq_ll2str(buf, kvmq_intset_get(val, i));
        *off = i;
        return m;
    }

    *off = kvmq_pack_seek(val, i);

    return kvmq_pack_get(val, *off, buf);
}


/* remove member m; 1 when it was there.  Never allocates. */
static int
kvmq_set_remove(kvmq_ctx_t *c, void *val, const kvmq_slice_t *m)
{
    uint32_t       pos;
    long long      v;
    kvmq_hnode_t  *n;
    kvmq_needle_t  nd;

    switch (kvmq_aggr_enc(val)) {

    case KVMQ_ENC_INTSET:
        if (!kvmq_str_isint(m->data, m->len, &v)
            || !kvmq_intset_find(val, v, &pos))
        {
            return 0;
        }

        kvmq_intset_remove(val, pos);
        return 1;

    case KVMQ_ENC_PACK:
        kvmq_needle_init(&nd, m->data, m->len);

        pos = kvmq_pack_find(val, 0, 0, &nd);
        if (pos == KVMQ_PACK_NONE) {
            return 0;
        }

        kvmq_pack_delete(val, pos, 1);
        return 1;

    default:
        n = kvmq_aggr_find(c, val, m->data, m->len);
        if (n == NULL) {
            return 0;
        }

        kvmq_aggr_unlink(c, val, n);
        kvmq_zfree(c, n);
        return 1;
    }
}


/* after removals: delete an emptied key, else give back spare room */
static void
kvmq_set_removed(kvmq_ctx_t *c, kvmq_entry_t *e)
{
    if (kvmq_set_card(e->val) == 0) {
        kvmq_db_delete(c, e);
        return;
    }

    switch (kvmq_aggr_enc(e->val)) {
    case KVMQ_ENC_INTSET:
        e->val = kvmq_intset_shrink(c, e->val);
        break;
    case KVMQ_ENC_PACK:
        e->val = kvmq_pack_shrink(c, e->val);
        break;
    default:
        break;
    }

    kvmq_db_touch_write(c, e);
}


/* ---- building and adding ----------------------------------------------- */


static int
kvmq_i64_cmp(const void *a, const void *b)
{
    int64_t  x, y;

    x = *(const int64_t *) a;
    y = *(const int64_t *) b;

    return (x > y) - (x < y);
}


/* the encoding for card members, of which the longest has maxlen bytes */
unsigned
kvmq_set_pick(unsigned cur, uint64_t card, int allint, size_t maxlen)
{
    if (cur == KVMQ_ENC_TABLE) {
        return KVMQ_ENC_TABLE;
    }

    if (cur != KVMQ_ENC_PACK && allint && card <= KVMQ_SET_INTSET_ENTRIES) {
        return KVMQ_ENC_INTSET;
    }

    if (card <= KVMQ_SET_PACK_ENTRIES && maxlen <= KVMQ_SET_PACK_VALUE) {
        return KVMQ_ENC_PACK;
    }

    return KVMQ_ENC_TABLE;
}


typedef struct {
    kvmq_ctx_t          *c;
    unsigned             enc;
    void                *dst;
    int                  failed;
    int64_t             *ints;
    size_t               nints;
} kvmq_set_build_t;


static void
kvmq_set_build_add(kvmq_set_build_t *b, const kvmq_slice_t *m)
{
    long long      v;
    kvmq_hnode_t  *n;

    if (b->failed) {
        return;
    }

    switch (b->enc) {

    case KVMQ_ENC_INTSET:
        (void) kvmq_str_isint(m->data, m->len, &v);
        b->ints[b->nints++] = v;
        break;

    case KVMQ_ENC_PACK:
        kvmq_pack_insert(b->dst, ((kvmq_pack_t *) b->dst)->used, m->data,
                         m->len);
        break;

    default:
        n = kvmq_aggr_node_new(b->c, m, NULL);

        if (n == NULL) {
            b->failed = 1;

        } else if (kvmq_aggr_link(b->c, b->dst, &n, 1) != 0) {
            kvmq_zfree(b->c, n);
            b->failed = 1;
        }

        break;
    }
}


static void
kvmq_set_build_each(void *arg, const kvmq_slice_t *m, int copy)
{
    (void) copy;

    kvmq_set_build_add(arg, m);
}


typedef struct {
    size_t               bytes;
} kvmq_set_size_t;


static void
kvmq_set_size_each(void *arg, const kvmq_slice_t *m, int copy)
{
    (void) copy;

    ((kvmq_set_size_t *) arg)->bytes += kvmq_pack_entry_size(m->data,
                                                             m->len);
}


/* an intset of old's members (an intset, or none) and add's integers */
static kvmq_intset_t *
kvmq_set_convert_intset(kvmq_ctx_t *c, void *old, const kvmq_slice_t *add,
    size_t n)
{
    size_t             i, card;
    unsigned           width;
    kvmq_intset_t     *is;
    kvmq_set_build_t   b;

    card = (old ? kvmq_set_card(old) : 0) + n;

    b.c = c;
    b.enc = KVMQ_ENC_INTSET;
    b.failed = 0;
    b.nints = 0;
    b.dst = NULL;

    b.ints = malloc((card ? card : 1) * sizeof(int64_t));
    if (b.ints == NULL) {
        return NULL;
    }

    if (old != NULL) {
        kvmq_set_each(old, kvmq_set_build_each, &b);
    }

    for (i = 0; i < n; i++) {
        kvmq_set_build_add(&b, &add[i]);
    }

    qsort(b.ints, b.nints, sizeof(int64_t), kvmq_i64_cmp);

    width = 2;

    for (i = 0; i < b.nints; i++) {
        if (kvmq_intset_width(b.ints[i]) > width) {
            width = kvmq_intset_width(b.ints[i]);
        }
    }

    is = kvmq_intset_new(c, width, b.nints);

    if (is != NULL) {
        for (i = 0; i < b.nints; i++) {
            kvmq_intset_set(is, (uint32_t) i, b.ints[i]);
        }

        is->count = (uint32_t) b.nints;
    }

    free(b.ints);

    return is;
}


/*
 * The one conversion: a new set of encoding enc holding old's members
 * (old may be NULL) and add[0..n-1] (distinct, none in old), built
 * aside.  NULL on NOMEM with everything it allocated freed; old is
 * never changed.
 */
void *
kvmq_set_convert(kvmq_ctx_t *c, void *old, unsigned enc,
    const kvmq_slice_t *add, size_t n)
{
    size_t             i;
    kvmq_set_size_t    sz;
    kvmq_set_build_t   b;

    if (enc == KVMQ_ENC_INTSET) {
        return kvmq_set_convert_intset(c, old, add, n);
    }

    b.c = c;
    b.enc = enc;
    b.failed = 0;
    b.ints = NULL;
    b.nints = 0;

    if (enc == KVMQ_ENC_PACK) {
        sz.bytes = 0;

        if (old != NULL) {
            kvmq_set_each(old, kvmq_set_size_each, &sz);
        }

        for (i = 0; i < n; i++) {
            sz.bytes += kvmq_pack_entry_size(add[i].data, add[i].len);
        }

        b.dst = kvmq_pack_new(c, sz.bytes);

    } else {
        b.dst = kvmq_aggr_table_new(c, (old ? kvmq_set_card(old) : 0) + n,
                                    0);
    }

    if (b.dst == NULL) {
        return NULL;
    }

    if (old != NULL) {
        kvmq_set_each(old, kvmq_set_build_each, &b);
    }

    for (i = 0; i < n; i++) {
        kvmq_set_build_add(&b, &add[i]);
    }

    if (b.failed) {
        /* only a table's nodes can fail: a pack was sized for all */
        kvmq_aggr_table_free(c, b.dst);
        return NULL;
    }

    return b.dst;
}


/*
 * The members of argv[0..n-1] that are new to the set val (NULL: no
 * set), each once, into sv; with what the encoding choice needs.
 */
static int
kvmq_set_news(kvmq_ctx_t *c, void *val, const kvmq_slice_t *argv, size_t n,
    kvmq_svec_t *sv, int *allint, size_t *maxlen)
{
    int                found;
    size_t             i;
    long long          v;
    kvmq_smap_t        m;

    *allint = 1;
    *maxlen = 0;

    if (n > 1 && kvmq_smap_init(&m, n, c->db->seed) != 0) {
        return -1;
    }

    for (i = 0; i < n; i++) {
        if (n > 1) {
            (void) kvmq_smap_put(&m, argv[i].data, argv[i].len, &found);

            if (found) {
                continue;
            }
        }

        if (val != NULL && kvmq_set_has(c, val, &argv[i])) {
            continue;
        }

        if (*allint && !kvmq_str_isint(argv[i].data, argv[i].len, &v)) {
            *allint = 0;
        }

        if (argv[i].len > *maxlen) {
            *maxlen = argv[i].len;
        }

        kvmq_svec_push(sv, argv[i].data, argv[i].len, 0);
    }

    if (n > 1) {
        kvmq_smap_free(&m);
    }

    return sv->nomem ? -1 : 0;
}


/* add the (new, distinct) members to the set of e; -1 on NOMEM */
static int
kvmq_set_grow(kvmq_ctx_t *c, kvmq_entry_t *e, const kvmq_svec_t *sv,
    int allint, size_t maxlen)
{
    int                rc;
    void              *val, *nv;
    size_t             i, need;
    unsigned           enc, cur;
    int64_t           *ints;
    long long          v;
    kvmq_pvec_t        nodes;
    kvmq_hnode_t      *n;

    val = e->val;
    cur = kvmq_aggr_enc(val);

    if (cur != KVMQ_ENC_INTSET) {
        allint = 0;
    }

    enc = kvmq_set_pick(cur, kvmq_set_card(val) + sv->n, allint, maxlen);

    if (enc != cur) {
        nv = kvmq_set_convert(c, val, enc, sv->v, sv->n);
        if (nv == NULL) {
            return -1;
        }

        kvmq_set_free(c, val);
        e->val = nv;

        return 0;
    }

    switch (enc) {

    case KVMQ_ENC_INTSET:
        ints = malloc(sv->n * sizeof(int64_t));
        if (ints == NULL) {
            return -1;
        }

        for (i = 0; i < sv->n; i++) {
            (void) kvmq_str_isint(sv->v[i].data, sv->v[i].len, &v);
            ints[i] = v;
        }

        qsort(ints, sv->n, sizeof(int64_t), kvmq_i64_cmp);

        nv = kvmq_intset_add(c, val, ints, sv->n);
        free(ints);

        if (nv == NULL) {
            return -1;
        }

        e->val = nv;
        return 0;

    case KVMQ_ENC_PACK:
        need = ((kvmq_pack_t *) val)->used;

        for (i = 0; i < sv->n; i++) {
            need += kvmq_pack_entry_size(sv->v[i].data, sv->v[i].len);
        }

        nv = kvmq_pack_reserve(c, val, need);
        if (nv == NULL) {
            return -1;
        }

        for (i = 0; i < sv->n; i++) {
            kvmq_pack_insert(nv, ((kvmq_pack_t *) nv)->used, sv->v[i].data,
                             sv->v[i].len);
        }

        e->val = nv;
        return 0;

    default:
        kvmq_pvec_init(&nodes);

        if (kvmq_pvec_reserve(&nodes, sv->n) != 0) {
            return -1;
        }

        rc = -1;

        for (i = 0; i < sv->n; i++) {
            n = kvmq_aggr_node_new(c, &sv->v[i], NULL);
            if (n == NULL) {
                goto failed;
            }

            kvmq_pvec_push(&nodes, n);
        }

        if (kvmq_aggr_link(c, val, (kvmq_hnode_t **) nodes.v, nodes.n) == 0) {
            nodes.n = 0;
            rc = 0;
        }

    failed:

        for (i = 0; i < nodes.n; i++) {
            kvmq_zfree(c, nodes.v[i]);
        }

        kvmq_pvec_free(&nodes);

        return rc;
    }
}


/*
 * Add argv[0..n-1] to the set at *ep, or to a new set under key when *ep
 * is NULL (then set).  *added: how many were new.  -1 on NOMEM, with
 * nothing changed.
 */
static int
kvmq_set_add(kvmq_ctx_t *c, const kvmq_slice_t *key, kvmq_entry_t **ep,
    const kvmq_slice_t *argv, size_t n, uint64_t *added)
{
    int            allint, rc;
    void          *val;
    size_t         maxlen;
    kvmq_svec_t    sv;
    kvmq_entry_t  *e;

    e = *ep;
    kvmq_svec_init(&sv);

    rc = -1;

    if (kvmq_set_news(c, e ? e->val : NULL, argv, n, &sv, &allint, &maxlen)
        != 0)
    {
        goto done;
    }

    *added = sv.n;

    if (sv.n == 0) {
        rc = 0;
        goto done;
    }

    if (e != NULL) {
        if (kvmq_set_grow(c, e, &sv, allint, maxlen) != 0) {
            goto done;
        }

        kvmq_db_touch_write(c, e);
        rc = 0;
        goto done;
    }

    val = kvmq_set_convert(c, NULL, kvmq_set_pick(0, sv.n, allint, maxlen),
                           sv.v, sv.n);
    if (val == NULL) {
        goto done;
    }

    e = kvmq_db_add(c, key, KVMQ_TYPE_SET, val);
    if (e == NULL) {
        kvmq_set_free(c, val);
        goto done;
    }

    *ep = e;
    rc = 0;

done:

    kvmq_svec_free(&sv);

    return rc;
}


/* ---- lookups ----------------------------------------------------------- */


int
kvmq_set_lookup(kvmq_ctx_t *c, const kvmq_slice_t *key, int write,
    kvmq_entry_t **e)
{
    *e = write ? kvmq_lookup_write(c, key) : kvmq_lookup_read(c, key);

    if (*e != NULL && (*e)->type != KVMQ_TYPE_SET) {
        kvmq_reply_wrongtype(c);
        return -1;
    }

    return 0;
}


/* ---- SADD SREM SCARD SISMEMBER SMISMEMBER SMEMBERS --------------------- */


void
kvmq_cmd_sadd(kvmq_ctx_t *c, int argc, const kvmq_slice_t *argv)
{
    uint64_t       added;
    kvmq_entry_t  *e;

    if (kvmq_set_lookup(c, &argv[1], 1, &e) != 0) {
        return;
    }

    if (kvmq_set_add(c, &argv[1], &e, &argv[2], (size_t) argc - 2, &added)
        != 0)
    {
        kvmq_reply_nomem(c);
        return;
    }

    kvmq_reply_int(c, (int64_t) added);
}


void
kvmq_cmd_srem(kvmq_ctx_t *c, int argc, const kvmq_slice_t *argv)
{
    int            i;
    int64_t        removed;
    kvmq_entry_t  *e;

    if (kvmq_set_lookup(c, &argv[1], 1, &e) != 0) {
        return;
    }

    removed = 0;

    for (i = 2; e != NULL && i < argc; i++) {
        removed += kvmq_set_remove(c, e->val, &argv[i]);

        if (kvmq_set_card(e->val) == 0) {
            break;
        }
    }

    if (removed > 0) {
        kvmq_set_removed(c, e);
    }

    kvmq_reply_int(c, removed);
}


void
kvmq_cmd_scard(kvmq_ctx_t *c, int argc, const kvmq_slice_t *argv)
{
    kvmq_entry_t  *e;

    (void) argc;

    if (kvmq_set_lookup(c, &argv[1], 0, &e) != 0) {
        return;
    }

    kvmq_reply_int(c, e ? (int64_t) kvmq_set_card(e->val) : 0);
}


void
kvmq_cmd_sismember(kvmq_ctx_t *c, int argc, const kvmq_slice_t *argv)
{
    kvmq_entry_t  *e;

    (void) argc;

    if (kvmq_set_lookup(c, &argv[1], 0, &e) != 0) {
        return;
    }

    kvmq_reply_int(c, e != NULL && kvmq_set_has(c, e->val, &argv[2]));
}


void
kvmq_cmd_smismember(kvmq_ctx_t *c, int argc, const kvmq_slice_t *argv)
{
    int            i;
    kvmq_entry_t  *e;

    if (kvmq_set_lookup(c, &argv[1], 0, &e) != 0) {
        return;
    }

    kvmq_reply_array(c, argc - 2);

    for (i = 2; i < argc; i++) {
        kvmq_reply_int(c, e != NULL && kvmq_set_has(c, e->val, &argv[i]));
    }

    kvmq_reply_array_end(c);
}


static void
kvmq_set_reply_each(void *arg, const kvmq_slice_t *m, int copy)
{
    (void) copy;

    kvmq_reply_bulk(arg, m->data, m->len);
}


void
kvmq_cmd_smembers(kvmq_ctx_t *c, int argc, const kvmq_slice_t *argv)
{
    kvmq_entry_t  *e;

    (void) argc;

    if (kvmq_set_lookup(c, &argv[1], 0, &e) != 0) {
        return;
    }

    kvmq_reply_array(c, e ? (long) kvmq_set_card(e->val) : 0);

    if (e != NULL) {
        kvmq_set_each(e->val, kvmq_set_reply_each, c);
    }

    kvmq_reply_array_end(c);
}


/* ---- SRANDMEMBER SPOP -------------------------------------------------- */


/* one random member, replied */
static void
kvmq_set_reply_random(kvmq_ctx_t *c, void *val)
{
    char          buf[KVMQ_NUMBUF];
    uint32_t      off;
    kvmq_slice_t  m;

    if (kvmq_aggr_enc(val) == KVMQ_ENC_TABLE) {
        m = kvmq_aggr_node_key(kvmq_htable_random(
                &((kvmq_aggr_table_t *) val)->ht, kvmq_random(c->db)));

    } else {
        m = kvmq_set_small_at(val, (uint32_t) kvmq_aggr_random(c,
                                  kvmq_set_card(val)), buf, &off);
    }

    kvmq_reply_bulk(c, m.data, m.len);
}


static void
kvmq_set_collect(void *arg, const kvmq_slice_t *m, int copy)
{
    kvmq_svec_push(arg, m->data, m->len, copy);
}


static int
kvmq_srand_distinct(kvmq_ctx_t *c, void *val, uint64_t count)
{
    int                 found;
    uint64_t            i, j, card;
    kvmq_svec_t         sv;
    kvmq_slice_t        m, tmp;
    kvmq_smap_t         sm;
    kvmq_aggr_table_t  *t;

    card = kvmq_set_card(val);

    if (kvmq_aggr_enc(val) == KVMQ_ENC_TABLE && count * 3 <= card) {
        t = val;

        if (kvmq_smap_init(&sm, count, c->db->seed) != 0) {
            return -1;
        }

        kvmq_reply_array(c, (long) count);

        for (i = 0; i < count; /* void */ ) {
            m = kvmq_aggr_node_key(kvmq_htable_random(&t->ht,
                                                      kvmq_random(c->db)));
            (void) kvmq_smap_put(&sm, m.data, m.len, &found);

            if (!found) {
                kvmq_reply_bulk(c, m.data, m.len);
                i++;
            }
        }

        kvmq_reply_array_end(c);
        kvmq_smap_free(&sm);

        return 0;
    }

    kvmq_svec_init(&sv);
    kvmq_set_each(val, kvmq_set_collect, &sv);

    if (sv.nomem) {
        kvmq_svec_free(&sv);
        return -1;
    }

    kvmq_reply_array(c, (long) count);

    for (i = 0; i < count; i++) {
        j = i + kvmq_aggr_random(c, sv.n - i);
        tmp = sv.v[i];
        sv.v[i] = sv.v[j];
        sv.v[j] = tmp;

        kvmq_reply_bulk(c, sv.v[i].data, sv.v[i].len);
    }

    kvmq_reply_array_end(c);
    kvmq_svec_free(&sv);

    return 0;
}


void
kvmq_cmd_srandmember(kvmq_ctx_t *c, int argc, const kvmq_slice_t *argv)
{
    int                  rc;
    uint64_t             i, n, card;
    long long            count;
    kvmq_svec_t          sv;
    kvmq_entry_t        *e;
    const kvmq_slice_t  *m;

    if (argc > 3) {
        kvmq_reply_syntax(c);
        return;
    }

    if (argc == 2) {
        if (kvmq_set_lookup(c, &argv[1], 0, &e) != 0) {
            return;
        }

        if (e == NULL) {
            kvmq_reply_nil(c);
            return;
        }

        kvmq_set_reply_random(c, e->val);
        return;
    }

    if (kvmq_arg_rand_count(c, &argv[2], &count) != 0
        || kvmq_rand_count_ok(c, count, 0) != 0)
    {
        return;
    }

    if (kvmq_set_lookup(c, &argv[1], 0, &e) != 0) {
        return;
    }

    if (e == NULL || count == 0) {
        kvmq_reply_array(c, 0);
        kvmq_reply_array_end(c);
        return;
    }

    card = kvmq_set_card(e->val);

    if (count < 0) {
        n = (uint64_t) -count;

        if (kvmq_aggr_enc(e->val) != KVMQ_ENC_PACK) {
            kvmq_reply_array(c, (long) n);

            for (i = 0; i < n; i++) {
                kvmq_set_reply_random(c, e->val);
            }

            kvmq_reply_array_end(c);
            return;
        }

        /* a packed set is walked once, not once per pick */
        kvmq_svec_init(&sv);
        kvmq_set_each(e->val, kvmq_set_collect, &sv);

        if (sv.nomem) {
            kvmq_svec_free(&sv);
            kvmq_reply_nomem(c);
            return;
        }

        kvmq_reply_array(c, (long) n);

        for (i = 0; i < n; i++) {
            m = &sv.v[kvmq_aggr_random(c, sv.n)];
            kvmq_reply_bulk(c, m->data, m->len);
        }

        kvmq_reply_array_end(c);
        kvmq_svec_free(&sv);
        return;
    }

    if ((uint64_t) count >= card) {
        kvmq_reply_array(c, (long) card);
        kvmq_set_each(e->val, kvmq_set_reply_each, c);
        kvmq_reply_array_end(c);
        return;
    }

    rc = kvmq_srand_distinct(c, e->val, (uint64_t) count);

    if (rc != 0) {
        kvmq_reply_nomem(c);
    }
}


void
kvmq_cmd_spop(kvmq_ctx_t *c, int argc, const kvmq_slice_t *argv)
{
    char                buf[KVMQ_NUMBUF];
    uint32_t            off;
    uint64_t            i, n, card;
    long long           count;
    kvmq_slice_t        m;
    kvmq_entry_t       *e;
    kvmq_hnode_t       *node;
    kvmq_aggr_table_t  *t;

    if (argc > 3) {
        kvmq_reply_syntax(c);
        return;
    }

    count = 1;

    if (argc == 3) {
        if (kvmq_str2ll(argv[2].data, argv[2].len, &count) != 0
            || count < 0)
        {
            kvmq_reply_error(c, KVMQ_ERR_BADREQ,
                             "value is out of range, must be positive");
            return;
        }
    }

    if (kvmq_set_lookup(c, &argv[1], 1, &e) != 0) {
        return;
    }

    if (e == NULL) {
        if (argc == 3) {
            kvmq_reply_array(c, 0);
            kvmq_reply_array_end(c);

        } else {
            kvmq_reply_nil(c);
        }

        return;
    }

    card = kvmq_set_card(e->val);
    n = ((uint64_t) count < card) ? (uint64_t) count : card;

    if (argc == 3) {
        kvmq_reply_array(c, (long) n);
    }

    if (n == card) {
        /* all of it: reply in order and drop the key */
        kvmq_set_each(e->val, kvmq_set_reply_each, c);
        kvmq_db_delete(c, e);
        e = NULL;

    } else {
        for (i = 0; i < n; i++) {
            if (kvmq_aggr_enc(e->val) == KVMQ_ENC_TABLE) {
                t = e->val;
                node = kvmq_htable_random(&t->ht, kvmq_random(c->db));
                m = kvmq_aggr_node_key(node);
                kvmq_reply_bulk(c, m.data, m.len);
                kvmq_aggr_unlink(c, t, node);
                kvmq_zfree(c, node);
                continue;
            }

            m = kvmq_set_small_at(e->val, (uint32_t) kvmq_aggr_random(c,
                                      kvmq_set_card(e->val)), buf, &off);
            kvmq_reply_bulk(c, m.data, m.len);

            if (kvmq_aggr_enc(e->val) == KVMQ_ENC_INTSET) {
                kvmq_intset_remove(e->val, off);

            } else {
                kvmq_pack_delete(e->val, off, 1);
            }
        }
    }

    if (argc == 3) {
        kvmq_reply_array_end(c);
    }

    if (e != NULL && n > 0) {
        kvmq_set_removed(c, e);
    }
}


/* ---- SMOVE ------------------------------------------------------------- */


void
kvmq_cmd_smove(kvmq_ctx_t *c, int argc, const kvmq_slice_t *argv)
{
    uint64_t       added;
    kvmq_entry_t  *src, *dst;

    (void) argc;

    src = kvmq_lookup_write(c, &argv[1]);
    dst = kvmq_lookup_write(c, &argv[2]);

    if (src == NULL) {
        kvmq_reply_int(c, 0);
        return;
    }

    if (src->type != KVMQ_TYPE_SET
        || (dst != NULL && dst->type != KVMQ_TYPE_SET))
    {
        kvmq_reply_wrongtype(c);
        return;
    }

    if (src == dst) {
        kvmq_reply_int(c, kvmq_set_has(c, src->val, &argv[3]));
        return;
    }

    if (!kvmq_set_has(c, src->val, &argv[3])) {
        kvmq_reply_int(c, 0);
        return;
    }

    /* the step that can fail first */
    if (kvmq_set_add(c, &argv[2], &dst, &argv[3], 1, &added) != 0) {
        kvmq_reply_nomem(c);
        return;
    }

    (void) kvmq_set_remove(c, src->val, &argv[3]);
    kvmq_set_removed(c, src);

    kvmq_reply_int(c, 1);
}


/* ---- SSCAN ------------------------------------------------------------- */


typedef struct {
    const kvmq_scan_args_t  *sa;
    kvmq_svec_t             *out;
} kvmq_sscan_t;


static void
kvmq_sscan_member(void *arg, const kvmq_slice_t *m, int copy)
{
    kvmq_sscan_t  *ss;

    ss = arg;

    if (kvmq_scan_match(ss->sa, m)) {
        kvmq_svec_push(ss->out, m->data, m->len, copy);
    }
}


static void
kvmq_sscan_node(void *arg, kvmq_hnode_t *n)
{
    kvmq_slice_t  m;

    m = kvmq_aggr_node_key(n);

    kvmq_sscan_member(arg, &m, 0);
}


void
kvmq_cmd_sscan(kvmq_ctx_t *c, int argc, const kvmq_slice_t *argv)
{
    size_t              i;
    uint64_t            cursor;
    unsigned            iterations;
    kvmq_svec_t         out;
    kvmq_entry_t       *e;
    kvmq_sscan_t        ss;
    kvmq_scan_args_t    sa;
    kvmq_aggr_table_t  *t;

    if (kvmq_scan_cursor(c, &argv[2], &cursor) != 0) {
        return;
    }

    if (kvmq_set_lookup(c, &argv[1], 0, &e) != 0) {
        return;
    }

    if (e != NULL && kvmq_scan_options(c, argc, argv, 3, &sa) != 0) {
        return;
    }

    if (e == NULL) {
        sa.count = 10;
        sa.pattern = NULL;
    }

    kvmq_svec_init(&out);
    ss.sa = &sa;
    ss.out = &out;

    if (e == NULL) {
        cursor = 0;

    } else if (kvmq_aggr_enc(e->val) != KVMQ_ENC_TABLE) {
        /* small: everything at once, whatever the cursor */
        kvmq_set_each(e->val, kvmq_sscan_member, &ss);
        cursor = 0;

    } else {
        t = e->val;
        iterations = sa.count * 10;

        do {
            cursor = kvmq_htable_scan(&t->ht, cursor, kvmq_sscan_node, &ss);
        } while (cursor != 0 && out.n < sa.count && --iterations);
    }

    if (out.nomem) {
        kvmq_svec_free(&out);
        kvmq_reply_nomem(c);
        return;
    }

    kvmq_reply_array(c, 2);
    kvmq_reply_cursor(c, cursor);
    kvmq_reply_array(c, (long) out.n);

    for (i = 0; i < out.n; i++) {
        kvmq_reply_bulk(c, out.v[i].data, out.v[i].len);
    }

    kvmq_reply_array_end(c);
    kvmq_reply_array_end(c);

    kvmq_svec_free(&out);
}
