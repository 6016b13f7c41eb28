/*
 * Set algebra: SINTER SINTERSTORE SINTERCARD SUNION SUNIONSTORE SDIFF
 * SDIFFSTORE, over sets of any encoding (the set type is in t_set.c).
 *
 * The operations work on members as byte strings, whatever the
 * encodings of the operands: SINTER walks the smallest operand and
 * probes the others (an operand that is the walked set itself is
 * skipped: a probe of a table moves its rehash on, which a walk of the
 * same table must not see), SDIFF walks the first and probes the rest,
 * SUNION folds all of them into a kvmq_smap_t.  Members formatted from
 * integers are copied, others point into the zone, which nothing
 * changes until the result is used.
 *
 * Results are collected in process memory (kvmq_svec_t) before anything
 * is replied or stored, so a failure there is a clean NOMEM.  A *STORE
 * builds its new value from the collected result with the set type's
 * one conversion function, in the encoding the result calls for, and
 * only then replaces the destination (which may be an operand) whatever
 * it held, dropping its TTL as Redis does; an empty result deletes the
 * destination.  Keys are looked up all before any is used, so that one
 * of another type is WRONGTYPE even when an earlier one is missing, as
 * in Redis.
 */

#include <stdlib.h>

#include "aggr.h"
#include "commands.h"
#include "db.h"


/* ---- SINTER SUNION SDIFF and their STOREs, SINTERCARD ------------------ */


#define KVMQ_SETOP_INTER   0
#define KVMQ_SETOP_UNION   1
#define KVMQ_SETOP_DIFF    2


typedef struct {
    kvmq_ctx_t          *c;
    void               **sets;          /* operands, NULL = empty */
    size_t               n;
    size_t               skip;          /* the operand being walked */
    uint64_t             limit;         /* SINTERCARD: 0 = none */
    uint64_t             card;
    kvmq_svec_t         *out;           /* NULL: only count */
    kvmq_smap_t         *seen;          /* SUNION */
    int                  allint;
    size_t               maxlen;
} kvmq_setop_t;


static void
kvmq_setop_emit(kvmq_setop_t *op, const kvmq_slice_t *m, int copy)
{
    long long  v;

    op->card++;

    if (op->out == NULL) {
        return;
    }

    if (op->allint && !kvmq_str_isint(m->data, m->len, &v)) {
        op->allint = 0;
    }

    if (m->len > op->maxlen) {
        op->maxlen = m->len;
    }

    kvmq_svec_push(op->out, m->data, m->len, copy);
}


static void
kvmq_setop_inter(void *arg, const kvmq_slice_t *m, int copy)
{
    size_t         j;
    kvmq_setop_t  *op;

    op = arg;

    if (op->limit && op->card >= op->limit) {
        return;
    }

    for (j = 0; j < op->n; j++) {
        if (j != op->skip && op->sets[j] != op->sets[op->skip]
            && !kvmq_set_has(op->c, op->sets[j], m))
        {
            return;
        }
    }

    kvmq_setop_emit(op, m, copy);
}


static void
kvmq_setop_diff(void *arg, const kvmq_slice_t *m, int copy)
{
    size_t         j;
    kvmq_setop_t  *op;

    op = arg;

    for (j = 1; j < op->n; j++) {
        if (op->sets[j] != NULL && kvmq_set_has(op->c, op->sets[j], m)) {
            return;
        }
    }

    kvmq_setop_emit(op, m, copy);
}


static void
kvmq_setop_union(void *arg, const kvmq_slice_t *m, int copy)
{
    int            found;
    kvmq_setop_t  *op;

    op = arg;

    if (copy) {
        /* the map keeps pointers: keep the bytes in the result first */
        kvmq_setop_emit(op, m, 1);

        if (op->out->nomem) {
            return;
        }

        (void) kvmq_smap_put(op->seen, op->out->v[op->out->n - 1].data,
                             m->len, &found);
        if (found) {
            op->out->n--;
            op->card--;
        }

        return;
    }

    (void) kvmq_smap_put(op->seen, m->data, m->len, &found);

    if (!found) {
        kvmq_setop_emit(op, m, 0);
    }
}


/*
 * Look up the operand keys (all of them, as Redis does, so that any of
 * another type is WRONGTYPE even when one is missing).  -1 when
 * replied (WRONGTYPE) or out of process memory (*nomem set).
 */
static int
kvmq_setop_lookup(kvmq_ctx_t *c, const kvmq_slice_t *keys, size_t n,
    int write, kvmq_pvec_t *sets)
{
    size_t         i;
    kvmq_entry_t  *e;

    if (kvmq_pvec_reserve(sets, n) != 0) {
        kvmq_reply_nomem(c);
        return -1;
    }

    for (i = 0; i < n; i++) {
        if (kvmq_set_lookup(c, &keys[i], write, &e) != 0) {
            return -1;
        }

        kvmq_pvec_push(sets, e ? e->val : NULL);
    }

    return 0;
}


/* run the operation over sets; members into op->out (when set) */
static int
kvmq_setop_run(kvmq_ctx_t *c, int what, kvmq_setop_t *op)
{
    size_t       i, small;
    uint64_t     total;
    kvmq_smap_t  seen;

    op->c = c;
    op->card = 0;
    op->allint = 1;
    op->maxlen = 0;
    op->seen = NULL;

    switch (what) {

    case KVMQ_SETOP_INTER:
        small = 0;

        for (i = 0; i < op->n; i++) {
            if (op->sets[i] == NULL) {
                return 0;
            }

            if (kvmq_set_card(op->sets[i]) < kvmq_set_card(op->sets[small])) {
                small = i;
            }
        }

        op->skip = small;
        kvmq_set_each(op->sets[small], kvmq_setop_inter, op);
        break;

    case KVMQ_SETOP_DIFF:
        if (op->sets[0] == NULL) {
            return 0;
        }

        for (i = 1; i < op->n; i++) {
            if (op->sets[i] == op->sets[0]) {
                /* the first set minus itself */
                return 0;
            }
        }

        kvmq_set_each(op->sets[0], kvmq_setop_diff, op);
        break;

    default:
        total = 0;

        for (i = 0; i < op->n; i++) {
            total += op->sets[i] ? kvmq_set_card(op->sets[i]) : 0;
        }

        if (kvmq_smap_init(&seen, total, c->db->seed) != 0) {
            return -1;
        }

        op->seen = &seen;

        for (i = 0; i < op->n; i++) {
            if (op->sets[i] != NULL) {
                kvmq_set_each(op->sets[i], kvmq_setop_union, op);
            }
        }

        kvmq_smap_free(&seen);
        op->seen = NULL;
        break;
    }

    return (op->out != NULL && op->out->nomem) ? -1 : 0;
}


static void
kvmq_setop_generic(kvmq_ctx_t *c, const kvmq_slice_t *dst,
    const kvmq_slice_t *keys, size_t n, int what)
{
    void          *val;
    size_t         i;
    kvmq_pvec_t    sets;
    kvmq_svec_t    out;
    kvmq_entry_t  *e;
    kvmq_setop_t   op;

    kvmq_pvec_init(&sets);
    kvmq_svec_init(&out);

    if (kvmq_setop_lookup(c, keys, n, dst != NULL, &sets) != 0) {
        goto done;
    }

    op.sets = sets.v;
    op.n = n;
    op.limit = 0;
    op.out = &out;

    if (kvmq_setop_run(c, what, &op) != 0) {
        kvmq_reply_nomem(c);
        goto done;
    }

    if (dst == NULL) {
        kvmq_reply_array(c, (long) out.n);

        for (i = 0; i < out.n; i++) {
            kvmq_reply_bulk(c, out.v[i].data, out.v[i].len);
        }

        kvmq_reply_array_end(c);
        goto done;
    }

    e = kvmq_lookup_write(c, dst);

    if (out.n == 0) {
        if (e != NULL) {
            kvmq_db_delete(c, e);
        }

        kvmq_reply_int(c, 0);
        goto done;
    }

    /* the result is in process memory and the sources unchanged: build
     * the new value, then replace the destination, whatever it held */
    val = kvmq_set_convert(c, NULL,
                           kvmq_set_pick(0, out.n, op.allint, op.maxlen),
                           out.v, out.n);
    if (val == NULL) {
        kvmq_reply_nomem(c);
        goto done;
    }

    if (e != NULL) {
        kvmq_db_replace(c, e, KVMQ_TYPE_SET, val);
        kvmq_db_set_expire(c, e, 0);
        kvmq_db_touch_write(c, e);

    } else if (kvmq_db_add(c, dst, KVMQ_TYPE_SET, val) == NULL) {
        kvmq_set_free(c, val);
        kvmq_reply_nomem(c);
        goto done;
    }

    kvmq_reply_int(c, (int64_t) out.n);

done:

    kvmq_svec_free(&out);
    kvmq_pvec_free(&sets);
}


void
kvmq_cmd_sinter(kvmq_ctx_t *c, int argc, const kvmq_slice_t *argv)
{
    kvmq_setop_generic(c, NULL, &argv[1], (size_t) argc - 1,
                       KVMQ_SETOP_INTER);
}


void
kvmq_cmd_sinterstore(kvmq_ctx_t *c, int argc, const kvmq_slice_t *argv)
{
    kvmq_setop_generic(c, &argv[1], &argv[2], (size_t) argc - 2,
                       KVMQ_SETOP_INTER);
}


void
kvmq_cmd_sunion(kvmq_ctx_t *c, int argc, const kvmq_slice_t *argv)
{
    kvmq_setop_generic(c, NULL, &argv[1], (size_t) argc - 1,
                       KVMQ_SETOP_UNION);
}


void
kvmq_cmd_sunionstore(kvmq_ctx_t *c, int argc, const kvmq_slice_t *argv)
{
    kvmq_setop_generic(c, &argv[1], &argv[2], (size_t) argc - 2,
                       KVMQ_SETOP_UNION);
}


void
kvmq_cmd_sdiff(kvmq_ctx_t *c, int argc, const kvmq_slice_t *argv)
{
    kvmq_setop_generic(c, NULL, &argv[1], (size_t) argc - 1,
                       KVMQ_SETOP_DIFF);
}


void
kvmq_cmd_sdiffstore(kvmq_ctx_t *c, int argc, const kvmq_slice_t *argv)
{
    kvmq_setop_generic(c, &argv[1], &argv[2], (size_t) argc - 2,
                       KVMQ_SETOP_DIFF);
}


/*
 * SINTERCARD numkeys key [key ...] [LIMIT limit].  The command table
 * names every argument from the first key on as a key (the evictor then
 * spares the keys, and LIMIT's two words cost nothing); numkeys says
 * where the keys really end.
 */
void
kvmq_cmd_sintercard(kvmq_ctx_t *c, int argc, const kvmq_slice_t *argv)
{
    int            i;
    long long      numkeys, limit;
    kvmq_pvec_t    sets;
    kvmq_setop_t   op;

    if (kvmq_str2ll(argv[1].data, argv[1].len, &numkeys) != 0
        || numkeys < 1)
    {
        kvmq_reply_error(c, KVMQ_ERR_BADREQ,
                         "numkeys should be greater than 0");
        return;
    }

    if (numkeys > argc - 2) {
        kvmq_reply_error(c, KVMQ_ERR_BADREQ,
                         "Number of keys can't be greater than number of "
                         "args");
        return;
    }

    limit = 0;

    for (i = 2 + (int) numkeys; i < argc; i++) {
        if (kvmq_arg_is(&argv[i], "LIMIT") && i + 1 < argc) {
            i++;

            if (kvmq_str2ll(argv[i].data, argv[i].len, &limit) != 0
                || limit < 0)
            {
                kvmq_reply_error(c, KVMQ_ERR_BADREQ,
                                 "LIMIT can't be negative");
                return;
            }

        } else {
            kvmq_reply_syntax(c);
            return;
        }
    }

    kvmq_pvec_init(&sets);

    if (kvmq_setop_lookup(c, &argv[2], (size_t) numkeys, 0, &sets) != 0) {
        kvmq_pvec_free(&sets);
        return;
    }

    op.sets = sets.v;
    op.n = (size_t) numkeys;
    op.limit = (uint64_t) limit;
    op.out = NULL;

    (void) kvmq_setop_run(c, KVMQ_SETOP_INTER, &op);

    kvmq_reply_int(c, (int64_t) op.card);

    kvmq_pvec_free(&sets);
}
