/*
 * HSCAN and HRANDFIELD: the hash commands that walk or sample a hash
 * rather than address fields, built on t_hash.c's walk (kvmq_hash_each)
 * and lookup.  HSCAN keeps the SCAN guarantee through the table's
 * reverse cursor (htable.c); a packed hash is small and returned whole
 * with cursor 0, as Redis does.
 */

#include <limits.h>
#include <math.h>
#include <stdlib.h>

#include "aggr.h"
#include "commands.h"
#include "db.h"
#include "t_hash.h"


/* ---- HSCAN ------------------------------------------------------------- */


typedef struct {
    const kvmq_scan_args_t  *sa;
    kvmq_pvec_t              nodes;
} kvmq_hscan_t;


static void
kvmq_hscan_node(void *arg, kvmq_hnode_t *n)
{
    kvmq_slice_t   f;
    kvmq_hscan_t  *hs;

    hs = arg;
    f = kvmq_aggr_node_key(n);

    if (kvmq_scan_match(hs->sa, &f)) {
        kvmq_pvec_push(&hs->nodes, n);
    }
}


typedef struct {
    kvmq_ctx_t              *c;
    const kvmq_scan_args_t  *sa;
    long                     n;
} kvmq_hscan_out_t;


static void
kvmq_hscan_pair(void *arg, const kvmq_slice_t *f, const kvmq_slice_t *v)
{
    kvmq_hscan_out_t  *o;

    o = arg;

    if (!kvmq_scan_match(o->sa, f)) {
        return;
    }

    if (o->c == NULL) {
        o->n += 2;
        return;
    }

    kvmq_reply_bulk(o->c, f->data, f->len);
    kvmq_reply_bulk(o->c, v->data, v->len);
}


void
kvmq_cmd_hscan(kvmq_ctx_t *c, int argc, const kvmq_slice_t *argv)
{
    char                buf[KVMQ_NUMBUF];
    size_t              i;
    uint64_t            cursor;
    unsigned            iterations;
    kvmq_slice_t        f, v;
    kvmq_entry_t       *e;
    kvmq_hscan_t        hs;
    kvmq_hscan_out_t    o;
    kvmq_scan_args_t    sa;
    kvmq_aggr_table_t  *t;

    if (kvmq_scan_cursor(c, &argv[2], &cursor) != 0) {
        return;
    }

    if (kvmq_hash_lookup(c, &argv[1], 0, &e) != 0) {
        return;
    }

    if (e == NULL) {
        kvmq_reply_array(c, 2);
        kvmq_reply_cursor(c, 0);
        kvmq_reply_array(c, 0);
        kvmq_reply_array_end(c);
        kvmq_reply_array_end(c);
        return;
    }

    if (kvmq_scan_options(c, argc, argv, 3, &sa) != 0) {
        return;
    }

    if (kvmq_aggr_enc(e->val) == KVMQ_ENC_PACK) {
        /* small: everything at once, whatever the cursor; a first
         * walk counts what MATCH lets through */
        o.c = NULL;
        o.sa = &sa;
        o.n = 0;
        kvmq_hash_each(e->val, kvmq_hscan_pair, &o);

        kvmq_reply_array(c, 2);
        kvmq_reply_cursor(c, 0);
        kvmq_reply_array(c, o.n);
        o.c = c;
        kvmq_hash_each(e->val, kvmq_hscan_pair, &o);
        kvmq_reply_array_end(c);
        kvmq_reply_array_end(c);
        return;
    }

    t = e->val;
    hs.sa = &sa;
    kvmq_pvec_init(&hs.nodes);
    iterations = sa.count * 10;

    do {
        cursor = kvmq_htable_scan(&t->ht, cursor, kvmq_hscan_node, &hs);
    } while (cursor != 0 && hs.nodes.n < sa.count && --iterations);

    if (hs.nodes.nomem) {
        kvmq_pvec_free(&hs.nodes);
        kvmq_reply_nomem(c);
        return;
    }

    kvmq_reply_array(c, 2);
    kvmq_reply_cursor(c, cursor);
    kvmq_reply_array(c, (long) hs.nodes.n * 2);

    for (i = 0; i < hs.nodes.n; i++) {
        f = kvmq_aggr_node_key(hs.nodes.v[i]);
        v = kvmq_aggr_node_val(hs.nodes.v[i], buf);
        kvmq_reply_bulk(c, f.data, f.len);
        kvmq_reply_bulk(c, v.data, v.len);
    }

    kvmq_reply_array_end(c);
    kvmq_reply_array_end(c);

    kvmq_pvec_free(&hs.nodes);
}


/* ---- HRANDFIELD -------------------------------------------------------- */


/* one field (and value) of a packed hash at off, or of a table node */
static void
kvmq_hrand_reply(kvmq_ctx_t *c, const kvmq_pack_t *pk, uint32_t off,
    const kvmq_hnode_t *n, int withvalues)
{
    char          fbuf[KVMQ_NUMBUF], vbuf[KVMQ_NUMBUF];
    kvmq_slice_t  f, v;

    if (pk != NULL) {
        f = kvmq_pack_get(pk, off, fbuf);
        v = kvmq_pack_get(pk, off + (uint32_t) kvmq_lp_size(pk->data + off),
                          vbuf);

    } else {
        f = kvmq_aggr_node_key(n);
        v = kvmq_aggr_node_val(n, vbuf);
    }

    if (!withvalues) {
        kvmq_reply_bulk(c, f.data, f.len);
        return;
    }

    kvmq_reply_array(c, 2);
    kvmq_reply_bulk(c, f.data, f.len);
    kvmq_reply_bulk(c, v.data, v.len);
    kvmq_reply_array_end(c);
}


typedef struct {
    kvmq_ctx_t          *c;
    int                  withvalues;
} kvmq_hrand_all_t;


static void
kvmq_hrand_all(void *arg, const kvmq_slice_t *f, const kvmq_slice_t *v)
{
    kvmq_hrand_all_t  *a;

    a = arg;

    if (!a->withvalues) {
        kvmq_reply_bulk(a->c, f->data, f->len);
        return;
    }

    kvmq_reply_array(a->c, 2);
    kvmq_reply_bulk(a->c, f->data, f->len);
    kvmq_reply_bulk(a->c, v->data, v->len);
    kvmq_reply_array_end(a->c);
}


static void
kvmq_hrand_collect(void *arg, kvmq_hnode_t *n)
{
    kvmq_pvec_push(arg, n);
}


/*
 * count distinct fields of a hash with more than count: the candidates
 * (every field's offset, or every node when count is a large share of
 * a table) shuffled partly, Fisher-Yates; else random nodes until count
 * distinct ones.
 */
static int
kvmq_hrand_distinct(kvmq_ctx_t *c, void *val, uint64_t count,
    int withvalues)
{
    int                 found;
    uint64_t            i, j, len;
    void               *tmp;
    kvmq_pack_t        *pk;
    kvmq_pvec_t         pv;
    kvmq_slice_t        f;
    kvmq_smap_t         m;
    kvmq_hnode_t       *n;
    kvmq_aggr_table_t  *t;

    len = kvmq_hash_len(val);
    pk = (kvmq_aggr_enc(val) == KVMQ_ENC_PACK) ? val : NULL;
    t = (pk == NULL) ? val : NULL;

    kvmq_pvec_init(&pv);

    if (t != NULL && count * 3 <= len) {
        if (kvmq_smap_init(&m, count, c->db->seed) != 0) {
            return -1;
        }

        kvmq_reply_array(c, (long) count);

        for (i = 0; i < count; /* void */ ) {
            n = kvmq_htable_random(&t->ht, kvmq_random(c->db));
            f = kvmq_aggr_node_key(n);

            (void) kvmq_smap_put(&m, f.data, f.len, &found);

            if (!found) {
                kvmq_hrand_reply(c, NULL, 0, n, withvalues);
                i++;
            }
        }

        kvmq_reply_array_end(c);
        kvmq_smap_free(&m);

        return 0;
    }

    if (kvmq_pvec_reserve(&pv, len) != 0) {
        return -1;
    }

    if (pk != NULL) {
        for (i = 0; i < pk->used; /* void */ ) {
            kvmq_pvec_push(&pv, (void *) (uintptr_t) i);
            i += kvmq_lp_size(pk->data + i);
            i += kvmq_lp_size(pk->data + i);
        }

    } else {
        kvmq_aggr_each(t, kvmq_hrand_collect, &pv);
    }

    kvmq_reply_array(c, (long) count);

    for (i = 0; i < count; i++) {
        j = i + kvmq_aggr_random(c, pv.n - i);
        tmp = pv.v[i];
        pv.v[i] = pv.v[j];
        pv.v[j] = tmp;

        kvmq_hrand_reply(c, pk, (uint32_t) (uintptr_t) pv.v[i], pv.v[i],
                         withvalues);
    }

    kvmq_reply_array_end(c);
    kvmq_pvec_free(&pv);

    return 0;
}


/* |count| fields, repetitions allowed */
static int
kvmq_hrand_repeat(kvmq_ctx_t *c, void *val, uint64_t count, int withvalues)
{
    uint64_t            i;
    kvmq_pack_t        *pk;
    kvmq_pvec_t         pv;
    kvmq_aggr_table_t  *t;

    kvmq_pvec_init(&pv);

    if (kvmq_aggr_enc(val) == KVMQ_ENC_PACK) {
        pk = val;

        for (i = 0; i < pk->used; /* void */ ) {
            kvmq_pvec_push(&pv, (void *) (uintptr_t) i);
            i += kvmq_lp_size(pk->data + i);
            i += kvmq_lp_size(pk->data + i);
        }

        if (pv.nomem) {
            return -1;
        }

        kvmq_reply_array(c, (long) count);

        for (i = 0; i < count; i++) {
            kvmq_hrand_reply(c, pk, (uint32_t) (uintptr_t)
                             pv.v[kvmq_aggr_random(c, pv.n)], NULL,
                             withvalues);
        }

        kvmq_reply_array_end(c);
        kvmq_pvec_free(&pv);

        return 0;
    }

    t = val;

    kvmq_reply_array(c, (long) count);

    for (i = 0; i < count; i++) {
        kvmq_hrand_reply(c, NULL, 0,
                         kvmq_htable_random(&t->ht, kvmq_random(c->db)),
                         withvalues);
    }

    kvmq_reply_array_end(c);

    return 0;
}


void
kvmq_cmd_hrandfield(kvmq_ctx_t *c, int argc, const kvmq_slice_t *argv)
{
    int                withvalues, rc;
    uint64_t           len;
    long long          count;
    kvmq_pack_t       *pk;
    kvmq_entry_t      *e;
    kvmq_hrand_all_t   a;

    if (argc == 2) {
        if (kvmq_hash_lookup(c, &argv[1], 0, &e) != 0) {
            return;
        }

        if (e == NULL) {
            kvmq_reply_nil(c);
            return;
        }

        if (kvmq_aggr_enc(e->val) == KVMQ_ENC_PACK) {
            pk = e->val;
            kvmq_hrand_reply(c, pk,
                             kvmq_pack_seek(pk, 2 * (uint32_t)
                                 kvmq_aggr_random(c, pk->count / 2)),
                             NULL, 0);
            return;
        }

        kvmq_hrand_reply(c, NULL, 0,
                         kvmq_htable_random(
                             &((kvmq_aggr_table_t *) e->val)->ht,
                             kvmq_random(c->db)),
                         0);
        return;
    }

    if (kvmq_arg_rand_count(c, &argv[2], &count) != 0) {
        return;
    }

    if (argc > 4 || (argc == 4 && !kvmq_arg_is(&argv[3], "WITHVALUES"))) {
        kvmq_reply_syntax(c);
        return;
    }

    withvalues = (argc == 4);

    if (kvmq_rand_count_ok(c, count, withvalues) != 0) {
        return;
    }

    if (kvmq_hash_lookup(c, &argv[1], 0, &e) != 0) {
        return;
    }

    if (e == NULL || count == 0) {
        kvmq_reply_array(c, 0);
        kvmq_reply_array_end(c);
        return;
    }

    len = kvmq_hash_len(e->val);

    if (count < 0) {
        rc = kvmq_hrand_repeat(c, e->val, (uint64_t) -count, withvalues);

    } else if ((uint64_t) count >= len) {
        a.c = c;
        a.withvalues = withvalues;

        kvmq_reply_array(c, (long) len);
        kvmq_hash_each(e->val, kvmq_hrand_all, &a);
        kvmq_reply_array_end(c);
        rc = 0;

    } else {
        rc = kvmq_hrand_distinct(c, e->val, (uint64_t) count, withvalues);
    }

    if (rc != 0) {
        kvmq_reply_nomem(c);
    }
}
