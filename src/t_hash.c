/*
 * Hashes: the value type and the Redis hash commands (HSET HSETNX HMSET
 * HGET HMGET HGETALL HLEN HKEYS HVALS HEXISTS HDEL HINCRBY HINCRBYFLOAT
 * HSTRLEN; HSCAN and HRANDFIELD are in t_hash_scan.c), with Redis 7.0
 * semantics.
 *
 * Encodings.  A hash starts packed (pack.c): one block holding field,
 * value, field, value ... as listpack entries, in insertion order, as
 * Redis' listpack hashes keep them, so HGETALL of a small hash answers
 * in the order Redis does.  A field costs its bytes plus 1 (2 for its
 * value), or 1 to 9 bytes for canonical integers, and the block is
 * sized to its slab class.  Lookups walk it, O(n).  Past 128 fields, or
 * when a field or a value longer than 64 bytes arrives (Redis'
 * hash-max-listpack-entries and -value), kvmq_hash_convert() moves it to
 * the table (aggr.c): one node per field, [ next | field | value ], in
 * htable.c's paged, incrementally rehashed buckets; O(1) lookups, and
 * 8 + 1 + 16 + 1 + 8 = 34 bytes (the 64-byte slab class) plus about 8
 * bytes of bucket for a 16-byte field with an 8-byte value, where Redis
 * spends a 32-byte dictEntry, two sds strings and its bucket, about 88.
 * Like Redis, a table never goes back to the packed form.
 *
 * Invariants: a key never holds an empty hash (the last HDEL deletes
 * the key); a packed hash has at most 128 fields, none and no value
 * longer than 64 bytes; the first byte of the value names its encoding.
 *
 * Writes.  HSET-style writes first fold repeated fields of one command
 * (the first position, the last value, as applying them in order
 * would), then plan: which fields are new, what the block or the nodes
 * will need.  Everything that can fail is done before anything changes:
 * a packed hash reserves the final size (its content may move to a
 * bigger block) and then rewrites in place, shrinking values first so
 * the bytes in use never pass the final size; a conversion builds the
 * whole table aside and swaps it in; a table write allocates every new
 * node and links them all (kvmq_aggr_link() undoes its own partial
 * work), and only then frees replaced nodes and overwrites in place the
 * values whose entry keeps its size.  So NOMEM always leaves the hash as
 * it was.
 *
 * HSCAN of a packed hash returns everything with cursor 0, as Redis
 * does; of a table, the buckets of htable.c's reverse-binary cursor,
 * with the SCAN guarantee across rehashes.  HRANDFIELD WITHVALUES
 * replies [field, value] pairs (RESP3's shape, which a repeated field
 * of a negative count also needs), HGETALL a map.
 */

#include <limits.h>
#include <math.h>
#include <stdlib.h>

#include "aggr.h"
#include "commands.h"
#include "db.h"
#include "t_hash.h"


#define KVMQ_HASH_PACK_ENTRIES   128
#define KVMQ_HASH_PACK_VALUE     64
#define KVMQ_HASH_PLAN_STACK     16


/* one field of a write */
typedef struct {
    kvmq_slice_t         f;
    kvmq_slice_t         v;
    kvmq_hnode_t        *node;         /* table: its new node */
    kvmq_hnode_t        *old;          /* table: the node it replaces */
    long                 delta;        /* pack: bytes it adds */
    int                  exists;
} kvmq_hpair_t;

typedef struct {
    kvmq_hpair_t        *p;
    size_t               n;
    kvmq_hpair_t         stack[KVMQ_HASH_PLAN_STACK];
} kvmq_hplan_t;

static kvmq_aggr_table_t *kvmq_hash_convert(kvmq_ctx_t *c,
    const kvmq_pack_t *pk, const kvmq_hplan_t *pl);


/* ---- the type ---------------------------------------------------------- */


uint64_t
kvmq_hash_len(const void *val)
{
    if (kvmq_aggr_enc(val) == KVMQ_ENC_PACK) {
        return ((const kvmq_pack_t *) val)->count / 2;
    }

    return kvmq_htable_size(&((const kvmq_aggr_table_t *) val)->ht);
}


void
kvmq_hash_free(kvmq_ctx_t *c, void *val)
{
    if (kvmq_aggr_enc(val) == KVMQ_ENC_PACK) {
        kvmq_pack_free(c, val);
        return;
    }

    kvmq_aggr_table_free(c, val);
}


int
kvmq_hash_free_some(kvmq_ctx_t *c, void *val, unsigned *budget)
{
    if (kvmq_aggr_enc(val) == KVMQ_ENC_PACK) {
        kvmq_pack_free(c, val);

        if (*budget > 0) {
            (*budget)--;
        }

        return 1;
    }

    return kvmq_aggr_table_free_some(c, val, budget);
}


uint64_t
kvmq_hash_blocks(const void *val)
{
    if (kvmq_aggr_enc(val) == KVMQ_ENC_PACK) {
        return 1;
    }

    return kvmq_aggr_table_blocks(val);
}


size_t
kvmq_hash_bytes(const void *val)
{
    const kvmq_pack_t  *pk;

    if (kvmq_aggr_enc(val) == KVMQ_ENC_PACK) {
        pk = val;
        return KVMQ_PACK_HDR + pk->cap;
    }

    return kvmq_aggr_table_bytes(val);
}


/* the value of field f: 1 and *v (an integer formatted in buf) */
static int
kvmq_hash_get(kvmq_ctx_t *c, void *val, const kvmq_slice_t *f,
    kvmq_slice_t *v, char *buf)
{
    uint32_t        off;
    kvmq_pack_t    *pk;
    kvmq_hnode_t   *n;
    kvmq_needle_t   nd;

    if (kvmq_aggr_enc(val) == KVMQ_ENC_PACK) {
        pk = val;
        kvmq_needle_init(&nd, f->data, f->len);

        off = kvmq_pack_find(pk, 0, 1, &nd);
        if (off == KVMQ_PACK_NONE) {
            return 0;
        }

        *v = kvmq_pack_get(pk, off + (uint32_t) kvmq_lp_size(pk->data + off),
                           buf);
        return 1;
    }

    n = kvmq_aggr_find(c, val, f->data, f->len);
    if (n == NULL) {
        return 0;
    }

    *v = kvmq_aggr_node_val(n, buf);

    return 1;
}


typedef struct {
    kvmq_hash_fn         fn;
    void                *arg;
} kvmq_hash_each_t;


static void
kvmq_hash_each_node(void *arg, kvmq_hnode_t *n)
{
    char               buf[KVMQ_NUMBUF];
    kvmq_slice_t       f, v;
    kvmq_hash_each_t  *he;

    he = arg;
    f = kvmq_aggr_node_key(n);
    v = kvmq_aggr_node_val(n, buf);

    he->fn(he->arg, &f, &v);
}


/* every field and value, in the encoding's order */
void
kvmq_hash_each(void *val, kvmq_hash_fn fn, void *arg)
{
    char               fbuf[KVMQ_NUMBUF], vbuf[KVMQ_NUMBUF];
    uint32_t           off;
    kvmq_pack_t       *pk;
    kvmq_slice_t       f, v;
    kvmq_hash_each_t   he;

    if (kvmq_aggr_enc(val) == KVMQ_ENC_PACK) {
        pk = val;

        for (off = 0; off < pk->used; /* void */ ) {
            f = kvmq_pack_get(pk, off, fbuf);
            off += (uint32_t) kvmq_lp_size(pk->data + off);
            v = kvmq_pack_get(pk, off, vbuf);
            off += (uint32_t) kvmq_lp_size(pk->data + off);

            fn(arg, &f, &v);
        }

        return;
    }

    he.fn = fn;
    he.arg = arg;

    kvmq_aggr_each(val, kvmq_hash_each_node, &he);
}


/* ---- writes ------------------------------------------------------------ */


static void
kvmq_hplan_free(kvmq_hplan_t *pl)
{
    if (pl->p != pl->stack) {
        free(pl->p);
    }

    pl->p = NULL;
}


/*
 * The pairs argv[0..2n-1] with repeated fields folded: each field at
 * its first position with its last value.  -1 when process memory
 * fails.
 */
static int
kvmq_hplan_init(kvmq_ctx_t *c, kvmq_hplan_t *pl, const kvmq_slice_t *argv,
    size_t n)
{
    int                found;
    size_t             i;
    kvmq_smap_t        m;
    kvmq_smap_slot_t  *s;

    pl->n = 0;
    pl->p = pl->stack;

    if (n > KVMQ_HASH_PLAN_STACK) {
        pl->p = malloc(n * sizeof(kvmq_hpair_t));
        if (pl->p == NULL) {
            return -1;
        }
    }

    if (n > 1 && kvmq_smap_init(&m, n, c->db->seed) != 0) {
        kvmq_hplan_free(pl);
        return -1;
    }

    for (i = 0; i < n; i++) {
        if (n > 1) {
            s = kvmq_smap_put(&m, argv[2 * i].data, argv[2 * i].len, &found);

            if (found) {
                pl->p[s->val].v = argv[2 * i + 1];
                continue;
            }

            s->val = pl->n;
        }

        memset(&pl->p[pl->n], 0, sizeof(kvmq_hpair_t));
        pl->p[pl->n].f = argv[2 * i];
        pl->p[pl->n].v = argv[2 * i + 1];
        pl->n++;
    }

    if (n > 1) {
        kvmq_smap_free(&m);
    }

    return 0;
}


/* a one-pair plan for HSETNX and the HINCRBYs */
static void
kvmq_hplan_one(kvmq_hplan_t *pl, const kvmq_slice_t *f, const void *v,
    size_t len)
{
    pl->p = pl->stack;
    pl->n = 1;

    memset(&pl->p[0], 0, sizeof(kvmq_hpair_t));
    pl->p[0].f = *f;
    pl->p[0].v.data = v;
    pl->p[0].v.len = len;
}


static int
kvmq_hash_fits_pack(const kvmq_hpair_t *p)
{
    return p->f.len <= KVMQ_HASH_PACK_VALUE
           && p->v.len <= KVMQ_HASH_PACK_VALUE;
}


static void
kvmq_hash_pack_append(kvmq_pack_t *pk, const kvmq_hpair_t *p)
{
    kvmq_pack_insert(pk, pk->used, p->f.data, p->f.len);
    kvmq_pack_insert(pk, pk->used, p->v.data, p->v.len);
}


/* a new hash holding the plan's pairs (none of them repeated) */
static void *
kvmq_hash_create(kvmq_ctx_t *c, const kvmq_hplan_t *pl)
{
    size_t        i, need;
    kvmq_pack_t  *pk;

    need = 0;

    for (i = 0; i < pl->n; i++) {
        if (pl->n > KVMQ_HASH_PACK_ENTRIES || !kvmq_hash_fits_pack(&pl->p[i]))
        {
            return kvmq_hash_convert(c, NULL, pl);
        }

        need += kvmq_pack_entry_size(pl->p[i].f.data, pl->p[i].f.len)
                + kvmq_pack_entry_size(pl->p[i].v.data, pl->p[i].v.len);
    }

    pk = kvmq_pack_new(c, need);
    if (pk == NULL) {
        return NULL;
    }

    for (i = 0; i < pl->n; i++) {
        kvmq_hash_pack_append(pk, &pl->p[i]);
    }

    return pk;
}


/*
 * The one conversion between the encodings: a table holding the packed
 * hash pk (or nothing) with the plan's pairs set on it, built aside.
 * NULL on NOMEM, with everything it allocated freed.
 */
static kvmq_aggr_table_t *
kvmq_hash_convert(kvmq_ctx_t *c, const kvmq_pack_t *pk,
    const kvmq_hplan_t *pl)
{
    char                fbuf[KVMQ_NUMBUF], vbuf[KVMQ_NUMBUF];
    size_t              i;
    uint32_t            off;
    kvmq_slice_t        f, v;
    kvmq_hnode_t       *n, *old;
    kvmq_aggr_table_t  *t;

    t = kvmq_aggr_table_new(c, (pk ? pk->count / 2 : 0) + pl->n, 1);
    if (t == NULL) {
        return NULL;
    }

    for (off = 0; pk != NULL && off < pk->used; /* void */ ) {
        f = kvmq_pack_get(pk, off, fbuf);
        off += (uint32_t) kvmq_lp_size(pk->data + off);
        v = kvmq_pack_get(pk, off, vbuf);
        off += (uint32_t) kvmq_lp_size(pk->data + off);

        n = kvmq_aggr_node_new(c, &f, &v);
        if (n == NULL) {
            goto failed;
        }

        if (kvmq_aggr_link(c, t, &n, 1) != 0) {
            kvmq_zfree(c, n);
            goto failed;
        }
    }

    for (i = 0; i < pl->n; i++) {
        old = (pk != NULL) ? kvmq_aggr_find(c, t, pl->p[i].f.data,
                                            pl->p[i].f.len)
                           : NULL;

        n = kvmq_aggr_node_new(c, &pl->p[i].f, &pl->p[i].v);
        if (n == NULL) {
            goto failed;
        }

        if (kvmq_aggr_link(c, t, &n, 1) != 0) {
            kvmq_zfree(c, n);
            goto failed;
        }

        if (old != NULL) {
            kvmq_aggr_unlink(c, t, old);
            kvmq_zfree(c, old);
        }
    }

    return t;

failed:

    kvmq_aggr_table_free(c, t);

    return NULL;
}


static int
kvmq_hash_write_pack(kvmq_ctx_t *c, kvmq_entry_t *e, kvmq_hplan_t *pl,
    uint64_t *added)
{
    int                 pass, big;
    size_t              i, count, need;
    uint32_t            off, voff;
    kvmq_pack_t        *pk;
    kvmq_hpair_t       *p;
    kvmq_needle_t       nd;
    kvmq_aggr_table_t  *t;

    pk = e->val;
    count = pk->count / 2;
    need = pk->used;
    big = 0;
    *added = 0;

    for (i = 0; i < pl->n; i++) {
        p = &pl->p[i];

        if (!kvmq_hash_fits_pack(p)) {
            big = 1;
        }

        kvmq_needle_init(&nd, p->f.data, p->f.len);
        off = kvmq_pack_find(pk, 0, 1, &nd);

        if (off != KVMQ_PACK_NONE) {
            voff = off + (uint32_t) kvmq_lp_size(pk->data + off);
            p->exists = 1;
            p->delta = (long) kvmq_pack_entry_size(p->v.data, p->v.len)
                       - (long) kvmq_lp_size(pk->data + voff);

        } else {
            p->exists = 0;
            p->delta = (long) (kvmq_pack_entry_size(p->f.data, p->f.len)
                               + kvmq_pack_entry_size(p->v.data, p->v.len));
            count++;
            (*added)++;
        }

        need = (size_t) ((long) need + p->delta);
    }

    if (big || count > KVMQ_HASH_PACK_ENTRIES) {
        t = kvmq_hash_convert(c, pk, pl);
        if (t == NULL) {
            return -1;
        }

        kvmq_pack_free(c, pk);
        e->val = t;

        return 0;
    }

    pk = kvmq_pack_reserve(c, pk, need);
    if (pk == NULL) {
        return -1;
    }

    e->val = pk;

    /* values that shrink, then those that grow, then new fields: the
     * bytes in use never pass the final size on the way */
    for (pass = 0; pass < 3; pass++) {
        for (i = 0; i < pl->n; i++) {
            p = &pl->p[i];

            if (pass == 2) {
                if (!p->exists) {
                    kvmq_hash_pack_append(pk, p);
                }

                continue;
            }

            if (!p->exists || (pass == 0) != (p->delta <= 0)) {
                continue;
            }

            kvmq_needle_init(&nd, p->f.data, p->f.len);
            off = kvmq_pack_find(pk, 0, 1, &nd);
            voff = off + (uint32_t) kvmq_lp_size(pk->data + off);

            kvmq_pack_replace(pk, voff, p->v.data, p->v.len);
        }
    }

    return 0;
}


static int
kvmq_hash_write_table(kvmq_ctx_t *c, kvmq_aggr_table_t *t, kvmq_hplan_t *pl,
    uint64_t *added)
{
    int            rc;
    size_t         i;
    kvmq_pvec_t    nodes;
    kvmq_hpair_t  *p;

    kvmq_pvec_init(&nodes);

    if (kvmq_pvec_reserve(&nodes, pl->n) != 0) {
        return -1;
    }

    rc = -1;

    for (i = 0; i < pl->n; i++) {
        p = &pl->p[i];
        p->old = kvmq_aggr_find(c, t, p->f.data, p->f.len);
        p->node = NULL;

        if (p->old != NULL
            && kvmq_aggr_node_val_size(p->old)
               == kvmq_pack_entry_size(p->v.data, p->v.len))
        {
            /* overwritten in place once nothing can fail any more */
            continue;
        }

        p->node = kvmq_aggr_node_new(c, &p->f, &p->v);
        if (p->node == NULL) {
            goto done;
        }

        kvmq_pvec_push(&nodes, p->node);
    }

    if (kvmq_aggr_link(c, t, (kvmq_hnode_t **) nodes.v, nodes.n) != 0) {
        goto done;
    }

    *added = 0;

    for (i = 0; i < pl->n; i++) {
        p = &pl->p[i];

        if (p->old == NULL) {
            (*added)++;

        } else if (p->node == NULL) {
            kvmq_aggr_node_val_put(p->old, &p->v);

        } else {
            kvmq_aggr_unlink(c, t, p->old);
            kvmq_zfree(c, p->old);
        }
    }

    nodes.n = 0;
    rc = 0;

done:

    for (i = 0; i < nodes.n; i++) {
        kvmq_zfree(c, nodes.v[i]);
    }

    kvmq_pvec_free(&nodes);

    return rc;
}


/*
 * Set the plan's fields in the hash at *ep, or in a new hash under key
 * when *ep is NULL (*ep is then set).  All or nothing: -1 on NOMEM.
 */
static int
kvmq_hash_write(kvmq_ctx_t *c, const kvmq_slice_t *key, kvmq_entry_t **ep,
    kvmq_hplan_t *pl, uint64_t *added)
{
    void          *val;
    kvmq_entry_t  *e;

    e = *ep;

    if (e == NULL) {
        val = kvmq_hash_create(c, pl);
        if (val == NULL) {
            return -1;
        }

        e = kvmq_db_add(c, key, KVMQ_TYPE_HASH, val);
        if (e == NULL) {
            kvmq_hash_free(c, val);
            return -1;
        }

        *ep = e;
        *added = pl->n;

        return 0;
    }

    if (kvmq_aggr_enc(e->val) == KVMQ_ENC_PACK) {
        if (kvmq_hash_write_pack(c, e, pl, added) != 0) {
            return -1;
        }

    } else if (kvmq_hash_write_table(c, e->val, pl, added) != 0) {
        return -1;
    }

    kvmq_db_touch_write(c, e);

    return 0;
}


/* delete field f; 1 when it was there.  Never allocates. */
static int
kvmq_hash_del(kvmq_ctx_t *c, void *val, const kvmq_slice_t *f)
{
    uint32_t       off;
    kvmq_hnode_t  *n;
    kvmq_needle_t  nd;

    if (kvmq_aggr_enc(val) == KVMQ_ENC_PACK) {
        kvmq_needle_init(&nd, f->data, f->len);

        off = kvmq_pack_find(val, 0, 1, &nd);
        if (off == KVMQ_PACK_NONE) {
            return 0;
        }

        kvmq_pack_delete(val, off, 2);

        return 1;
    }

    n = kvmq_aggr_find(c, val, f->data, f->len);
    if (n == NULL) {
        return 0;
    }

    kvmq_aggr_unlink(c, val, n);
    kvmq_zfree(c, n);

    return 1;
}


/* ---- lookups ----------------------------------------------------------- */


/* NULL when absent; -1 (WRONGTYPE replied) for another type */
int
kvmq_hash_lookup(kvmq_ctx_t *c, const kvmq_slice_t *key, int write,
    kvmq_entry_t **e)
{
    *e = write ? kvmq_lookup_write(c, key) : kvmq_lookup_read(c, key);

    if (*e != NULL && (*e)->type != KVMQ_TYPE_HASH) {
        kvmq_reply_wrongtype(c);
        return -1;
    }

    return 0;
}


/* ---- HSET HMSET HSETNX ------------------------------------------------- */


static void
kvmq_hset_generic(kvmq_ctx_t *c, int argc, const kvmq_slice_t *argv,
    int hmset)
{
    uint64_t       added;
    kvmq_hplan_t   pl;
    kvmq_entry_t  *e;

    if (argc % 2 != 0) {
        kvmq_reply_arity(c);
        return;
    }

    if (kvmq_hash_lookup(c, &argv[1], 1, &e) != 0) {
        return;
    }

    if (kvmq_hplan_init(c, &pl, &argv[2], (size_t) (argc - 2) / 2) != 0) {
        kvmq_reply_nomem(c);
        return;
    }

    if (kvmq_hash_write(c, &argv[1], &e, &pl, &added) != 0) {
        kvmq_hplan_free(&pl);
        kvmq_reply_nomem(c);
        return;
    }

    kvmq_hplan_free(&pl);

    if (hmset) {
        kvmq_reply_ok(c);

    } else {
        kvmq_reply_int(c, (int64_t) added);
    }
}


void
kvmq_cmd_hset(kvmq_ctx_t *c, int argc, const kvmq_slice_t *argv)
{
    kvmq_hset_generic(c, argc, argv, 0);
}


void
kvmq_cmd_hmset(kvmq_ctx_t *c, int argc, const kvmq_slice_t *argv)
{
    kvmq_hset_generic(c, argc, argv, 1);
}


void
kvmq_cmd_hsetnx(kvmq_ctx_t *c, int argc, const kvmq_slice_t *argv)
{
    char           buf[KVMQ_NUMBUF];
    uint64_t       added;
    kvmq_slice_t   v;
    kvmq_hplan_t   pl;
    kvmq_entry_t  *e;

    (void) argc;

    if (kvmq_hash_lookup(c, &argv[1], 1, &e) != 0) {
        return;
    }

    if (e != NULL && kvmq_hash_get(c, e->val, &argv[2], &v, buf)) {
        kvmq_reply_int(c, 0);
        return;
    }

    kvmq_hplan_one(&pl, &argv[2], argv[3].data, argv[3].len);

    if (kvmq_hash_write(c, &argv[1], &e, &pl, &added) != 0) {
        kvmq_reply_nomem(c);
        return;
    }

    kvmq_reply_int(c, 1);
}


/* ---- HGET HMGET HEXISTS HSTRLEN HLEN ----------------------------------- */


void
kvmq_cmd_hget(kvmq_ctx_t *c, int argc, const kvmq_slice_t *argv)
{
    char           buf[KVMQ_NUMBUF];
    kvmq_slice_t   v;
    kvmq_entry_t  *e;

    (void) argc;

    if (kvmq_hash_lookup(c, &argv[1], 0, &e) != 0) {
        return;
    }

    if (e == NULL || !kvmq_hash_get(c, e->val, &argv[2], &v, buf)) {
        kvmq_reply_nil(c);
        return;
    }

    kvmq_reply_bulk(c, v.data, v.len);
}


void
kvmq_cmd_hmget(kvmq_ctx_t *c, int argc, const kvmq_slice_t *argv)
{
    int            i;
    char           buf[KVMQ_NUMBUF];
    kvmq_slice_t   v;
    kvmq_entry_t  *e;

    if (kvmq_hash_lookup(c, &argv[1], 0, &e) != 0) {
        return;
    }

    kvmq_reply_array(c, argc - 2);

    for (i = 2; i < argc; i++) {
        if (e != NULL && kvmq_hash_get(c, e->val, &argv[i], &v, buf)) {
            kvmq_reply_bulk(c, v.data, v.len);

        } else {
            kvmq_reply_nil(c);
        }
    }

    kvmq_reply_array_end(c);
}


void
kvmq_cmd_hexists(kvmq_ctx_t *c, int argc, const kvmq_slice_t *argv)
{
    char           buf[KVMQ_NUMBUF];
    kvmq_slice_t   v;
    kvmq_entry_t  *e;

    (void) argc;

    if (kvmq_hash_lookup(c, &argv[1], 0, &e) != 0) {
        return;
    }

    kvmq_reply_int(c, e != NULL
                      && kvmq_hash_get(c, e->val, &argv[2], &v, buf));
}


void
kvmq_cmd_hstrlen(kvmq_ctx_t *c, int argc, const kvmq_slice_t *argv)
{
    char           buf[KVMQ_NUMBUF];
    kvmq_slice_t   v;
    kvmq_entry_t  *e;

    (void) argc;

    if (kvmq_hash_lookup(c, &argv[1], 0, &e) != 0) {
        return;
    }

    if (e == NULL || !kvmq_hash_get(c, e->val, &argv[2], &v, buf)) {
        kvmq_reply_int(c, 0);
        return;
    }

    kvmq_reply_int(c, (int64_t) v.len);
}


void
kvmq_cmd_hlen(kvmq_ctx_t *c, int argc, const kvmq_slice_t *argv)
{
    kvmq_entry_t  *e;

    (void) argc;

    if (kvmq_hash_lookup(c, &argv[1], 0, &e) != 0) {
        return;
    }

    kvmq_reply_int(c, e ? (int64_t) kvmq_hash_len(e->val) : 0);
}


/* ---- HGETALL HKEYS HVALS ----------------------------------------------- */


#define KVMQ_HASH_KEYS    1
#define KVMQ_HASH_VALS    2


typedef struct {
    kvmq_ctx_t          *c;
    unsigned             what;
} kvmq_hash_out_t;


static void
kvmq_hash_out(void *arg, const kvmq_slice_t *f, const kvmq_slice_t *v)
{
    kvmq_hash_out_t  *o;

    o = arg;

    if (o->what & KVMQ_HASH_KEYS) {
        kvmq_reply_bulk(o->c, f->data, f->len);
    }

    if (o->what & KVMQ_HASH_VALS) {
        kvmq_reply_bulk(o->c, v->data, v->len);
    }
}


static void
kvmq_hash_dump(kvmq_ctx_t *c, const kvmq_slice_t *key, unsigned what)
{
    long             n;
    kvmq_entry_t    *e;
    kvmq_hash_out_t  o;

    if (kvmq_hash_lookup(c, key, 0, &e) != 0) {
        return;
    }

    n = e ? (long) kvmq_hash_len(e->val) : 0;

    if (what == (KVMQ_HASH_KEYS | KVMQ_HASH_VALS)) {
        kvmq_reply_map(c, n);

    } else {
        kvmq_reply_array(c, n);
    }

    if (e != NULL) {
        o.c = c;
        o.what = what;
        kvmq_hash_each(e->val, kvmq_hash_out, &o);
    }

    if (what == (KVMQ_HASH_KEYS | KVMQ_HASH_VALS)) {
        kvmq_reply_map_end(c);

    } else {
        kvmq_reply_array_end(c);
    }
}


void
kvmq_cmd_hgetall(kvmq_ctx_t *c, int argc, const kvmq_slice_t *argv)
{
    (void) argc;

    kvmq_hash_dump(c, &argv[1], KVMQ_HASH_KEYS | KVMQ_HASH_VALS);
}


void
kvmq_cmd_hkeys(kvmq_ctx_t *c, int argc, const kvmq_slice_t *argv)
{
    (void) argc;

    kvmq_hash_dump(c, &argv[1], KVMQ_HASH_KEYS);
}


void
kvmq_cmd_hvals(kvmq_ctx_t *c, int argc, const kvmq_slice_t *argv)
{
    (void) argc;

    kvmq_hash_dump(c, &argv[1], KVMQ_HASH_VALS);
}


/* ---- HDEL -------------------------------------------------------------- */


void
kvmq_cmd_hdel(kvmq_ctx_t *c, int argc, const kvmq_slice_t *argv)
{
    int            i;
    int64_t        deleted;
    kvmq_entry_t  *e;

    if (kvmq_hash_lookup(c, &argv[1], 1, &e) != 0) {
        return;
    }

    deleted = 0;

    for (i = 2; e != NULL && i < argc; i++) {
        deleted += kvmq_hash_del(c, e->val, &argv[i]);

        if (kvmq_hash_len(e->val) == 0) {
            kvmq_db_delete(c, e);
            e = NULL;
        }
    }

    if (e != NULL && deleted > 0) {
        if (kvmq_aggr_enc(e->val) == KVMQ_ENC_PACK) {
            e->val = kvmq_pack_shrink(c, e->val);
        }

        kvmq_db_touch_write(c, e);
    }

    kvmq_reply_int(c, deleted);
}


/* ---- HINCRBY HINCRBYFLOAT ---------------------------------------------- */


void
kvmq_cmd_hincrby(kvmq_ctx_t *c, int argc, const kvmq_slice_t *argv)
{
    char           buf[KVMQ_NUMBUF], out[KVMQ_NUMBUF];
    size_t         len;
    uint64_t       added;
    long long      incr, v;
    kvmq_slice_t   cur;
    kvmq_hplan_t   pl;
    kvmq_entry_t  *e;

    (void) argc;

    if (kvmq_arg_ll(c, &argv[3], &incr) != 0) {
        return;
    }

    if (kvmq_hash_lookup(c, &argv[1], 1, &e) != 0) {
        return;
    }

    v = 0;

    if (e != NULL && kvmq_hash_get(c, e->val, &argv[2], &cur, buf)
        && kvmq_str2ll(cur.data, cur.len, &v) != 0)
    {
        kvmq_reply_error(c, KVMQ_ERR_BADREQ, "hash value is not an integer");
        return;
    }

    if ((incr < 0 && v < 0 && incr < LLONG_MIN - v)
        || (incr > 0 && v > 0 && incr > LLONG_MAX - v))
    {
        kvmq_reply_error(c, KVMQ_ERR_BADREQ,
                         "increment or decrement would overflow");
        return;
    }

    v += incr;
    len = kvmq_ll2str(out, v);

    kvmq_hplan_one(&pl, &argv[2], out, len);

    if (kvmq_hash_write(c, &argv[1], &e, &pl, &added) != 0) {
        kvmq_reply_nomem(c);
        return;
    }

    kvmq_reply_int(c, v);
}


void
kvmq_cmd_hincrbyfloat(kvmq_ctx_t *c, int argc, const kvmq_slice_t *argv)
{
    char           buf[KVMQ_NUMBUF], out[KVMQ_LDBUF];
    size_t         len;
    uint64_t       added;
    long double    incr, v;
    kvmq_slice_t   cur;
    kvmq_hplan_t   pl;
    kvmq_entry_t  *e;

    (void) argc;

    if (kvmq_arg_ld(c, &argv[3], &incr) != 0) {
        return;
    }

    if (isnan(incr) || isinf(incr)) {
        kvmq_reply_error(c, KVMQ_ERR_BADREQ, "value is NaN or Infinity");
        return;
    }

    if (kvmq_hash_lookup(c, &argv[1], 1, &e) != 0) {
        return;
    }

    v = 0;

    if (e != NULL && kvmq_hash_get(c, e->val, &argv[2], &cur, buf)
        && kvmq_str2ld(cur.data, cur.len, &v) != 0)
    {
        kvmq_reply_error(c, KVMQ_ERR_BADREQ, "hash value is not a float");
        return;
    }

    v += incr;

    if (isnan(v) || isinf(v)) {
        kvmq_reply_error(c, KVMQ_ERR_BADREQ,
                         "increment would produce NaN or Infinity");
        return;
    }

    len = kvmq_ld2str(out, v);

    kvmq_hplan_one(&pl, &argv[2], out, len);

    if (kvmq_hash_write(c, &argv[1], &e, &pl, &added) != 0) {
        kvmq_reply_nomem(c);
        return;
    }

    kvmq_reply_bulk(c, out, len);
}
