/*
 * Pieces the hash and set types share.
 *
 * The big encoding.  Past its small-encoding thresholds a hash or a set
 * becomes a kvmq_aggr_table_t: the generic intrusive table of htable.c
 * (paged buckets, incremental rehash, reverse-cursor scan) over nodes
 * that are single blocks, [ next | key entry | value entry ], the
 * entries in listpack.c's format.  The key is always a string entry,
 * so the table reads it without a buffer; a hash value is an integer
 * entry when it is canonical int64 text, as in the packed block.  The
 * table does not keep the hash of a node: a rehash computes it again
 * (SipHash of a short key costs less than the memory, 8 bytes a node,
 * would: it would push a 16-byte set member from the 32 to the 64
 * byte slab class).
 *
 * Writing many nodes is all or nothing: the caller allocates them all
 * first, then kvmq_aggr_link() reserves and links them one by one and,
 * if a bucket page cannot be had, unlinks those it linked.  The data is
 * then as it was; the table's housekeeping may not be: a resize that
 * the links started (the next write would have started it anyway)
 * stays, and lookups, as in Redis, move an incremental rehash on by a
 * bucket, which may free an old bucket array.  Neither changes what the
 * value holds.
 *
 * Freeing in steps.  kvmq_aggr_table_free_some() walks the table with
 * the scan cursor kept in the value and frees each node as the walk
 * passes it (the scan reads a node's next link before handing it out).
 * The freed nodes stay in their buckets, but a dying table is never
 * looked up or changed again and a scan never comes back to a bucket it
 * has passed, so nothing reads them.  When the cursor comes back to 0
 * the buckets go, then the value block.
 *
 * Scratch.  Commands that need a set of strings for themselves (dedupe
 * of HSET's fields or SADD's members, SUNION, distinct random samples)
 * get one in process memory: a map of fixed capacity that points at the
 * strings, and a growing array of slices with a chunk arena for strings
 * that must be copied (integers formatted from an intset or a packed
 * entry).  Process memory is not the zone: these are freed before the
 * command returns, and their failure is a NOMEM reply like any other.
 */

#include <limits.h>
#include <stdlib.h>

#include "aggr.h"
#include "db.h"


#define KVMQ_CHUNK_SIZE       4096
#define KVMQ_SCAN_COUNT_MAX   (UINT32_MAX / 16)

/* bucket visits of a bounded free that cost one block of budget */
#define KVMQ_FREE_VISITS      16


struct kvmq_chunk_s {
    kvmq_chunk_t        *next;
    unsigned char        data[];
};


static kvmq_slice_t
kvmq_aggr_key(const kvmq_hnode_t *n)
{
    kvmq_lp_val_t  v;
    kvmq_slice_t   k;

    (void) kvmq_lp_get((const unsigned char *) (n + 1), &v);

    k.data = v.str;
    k.len = v.len;

    return k;
}


const kvmq_htype_t  kvmq_aggr_htype = {
    kvmq_aggr_key
};


/* ---- nodes ------------------------------------------------------------- */


kvmq_hnode_t *
kvmq_aggr_node_new(kvmq_ctx_t *c, const kvmq_slice_t *k,
    const kvmq_slice_t *v)
{
    size_t          size;
    unsigned char  *p;
    kvmq_hnode_t   *n;

    size = sizeof(kvmq_hnode_t) + kvmq_lp_str_size(k->len);

    if (v != NULL) {
        size += kvmq_pack_entry_size(v->data, v->len);
    }

    n = kvmq_zalloc(c, size);
    if (n == NULL) {
        return NULL;
    }

    n->next = NULL;
    p = (unsigned char *) (n + 1);
    p += kvmq_lp_put_str(p, k->data, k->len);

    if (v != NULL) {
        (void) kvmq_pack_put(p, v->data, v->len);
    }

    return n;
}


kvmq_slice_t
kvmq_aggr_node_key(const kvmq_hnode_t *n)
{
    return kvmq_aggr_key(n);
}


static unsigned char *
kvmq_aggr_node_valp(const kvmq_hnode_t *n)
{
    const unsigned char  *p;

    p = (const unsigned char *) (n + 1);

    return (unsigned char *) p + kvmq_lp_size(p);
}


kvmq_slice_t
kvmq_aggr_node_val(const kvmq_hnode_t *n, char *buf)
{
    kvmq_lp_val_t  v;

    (void) kvmq_lp_get(kvmq_aggr_node_valp(n), &v);

    return kvmq_lp_bytes(&v, buf);
}


size_t
kvmq_aggr_node_val_size(const kvmq_hnode_t *n)
{
    return kvmq_lp_size(kvmq_aggr_node_valp(n));
}


/* overwrite the value with one of the same entry size */
void
kvmq_aggr_node_val_put(kvmq_hnode_t *n, const kvmq_slice_t *v)
{
    (void) kvmq_pack_put(kvmq_aggr_node_valp(n), v->data, v->len);
}


size_t
kvmq_aggr_node_size(const kvmq_hnode_t *n, int values)
{
    size_t  size;

    size = sizeof(kvmq_hnode_t) + kvmq_lp_size((const unsigned char *) (n + 1));

    if (values) {
        size += kvmq_aggr_node_val_size(n);
    }

    return size;
}


/* ---- the table --------------------------------------------------------- */


kvmq_aggr_table_t *
kvmq_aggr_table_new(kvmq_ctx_t *c, uint64_t hint, int values)
{
    kvmq_aggr_table_t  *t;

    t = kvmq_zalloc(c, sizeof(kvmq_aggr_table_t));
    if (t == NULL) {
        return NULL;
    }

    memset(t, 0, sizeof(kvmq_aggr_table_t));
    t->enc = KVMQ_ENC_TABLE;
    t->values = (uint8_t) values;

    if (kvmq_htable_init(c, &t->ht, hint) != 0) {
        kvmq_zfree(c, t);
        return NULL;
    }

    return t;
}


kvmq_hnode_t *
kvmq_aggr_find(kvmq_ctx_t *c, kvmq_aggr_table_t *t, const void *key,
    size_t len)
{
    return kvmq_htable_find(c, &t->ht, &kvmq_aggr_htype, key, len,
                            kvmq_htable_hash(c, key, len));
}


int
kvmq_aggr_link(kvmq_ctx_t *c, kvmq_aggr_table_t *t, kvmq_hnode_t **nodes,
    size_t n)
{
    size_t        i;
    uint64_t      h;
    kvmq_slice_t  k;

    for (i = 0; i < n; i++) {
        k = kvmq_aggr_key(nodes[i]);
        h = kvmq_htable_hash(c, k.data, k.len);

        if (kvmq_htable_reserve(c, &t->ht, &kvmq_aggr_htype, h) != 0) {
            while (i--) {
                kvmq_aggr_unlink(c, t, nodes[i]);
            }

            return -1;
        }

        kvmq_htable_link(&t->ht, nodes[i], h);
    }

    return 0;
}


void
kvmq_aggr_unlink(kvmq_ctx_t *c, kvmq_aggr_table_t *t, kvmq_hnode_t *n)
{
    kvmq_slice_t  k;

    k = kvmq_aggr_key(n);

    kvmq_htable_unlink(c, &t->ht, n, kvmq_htable_hash(c, k.data, k.len));
}


void
kvmq_aggr_each(kvmq_aggr_table_t *t, void (*fn)(void *arg, kvmq_hnode_t *n),
    void *arg)
{
    uint64_t  cursor;

    cursor = 0;

    do {
        cursor = kvmq_htable_scan(&t->ht, cursor, fn, arg);
    } while (cursor != 0);
}


typedef struct {
    kvmq_ctx_t          *c;
    unsigned             freed;
} kvmq_aggr_free_t;


static void
kvmq_aggr_free_node(void *arg, kvmq_hnode_t *n)
{
    kvmq_aggr_free_t  *f;

    f = arg;
    kvmq_zfree(f->c, n);
    f->freed++;
}


void
kvmq_aggr_table_free(kvmq_ctx_t *c, kvmq_aggr_table_t *t)
{
    unsigned  budget;

    do {
        budget = UINT_MAX;
    } while (!kvmq_aggr_table_free_some(c, t, &budget));
}


int
kvmq_aggr_table_free_some(kvmq_ctx_t *c, kvmq_aggr_table_t *t,
    unsigned *budget)
{
    unsigned          visits;
    kvmq_aggr_free_t  f;

    f.c = c;
    visits = 0;

    while (!t->freeing) {
        if (*budget == 0) {
            return 0;
        }

        f.freed = 0;
        t->cursor = kvmq_htable_scan(&t->ht, t->cursor, kvmq_aggr_free_node,
                                     &f);

        if (++visits == KVMQ_FREE_VISITS) {
            visits = 0;
            f.freed++;
        }

        *budget = (f.freed < *budget) ? *budget - f.freed : 0;

        if (t->cursor == 0) {
            t->freeing = 1;
        }
    }

    if (!kvmq_htable_free_some(c, &t->ht, budget)) {
        return 0;
    }

    kvmq_zfree(c, t);

    if (*budget > 0) {
        (*budget)--;
    }

    return 1;
}


uint64_t
kvmq_aggr_table_blocks(const kvmq_aggr_table_t *t)
{
    return kvmq_htable_size(&t->ht)
           + kvmq_htable_bytes(&t->ht) / KVMQ_SLAB_PAGE + 2;
}


/* the nodes' bytes are estimated from a few random ones */
size_t
kvmq_aggr_table_bytes(const kvmq_aggr_table_t *t)
{
    unsigned        i;
    uint64_t        r, n;
    size_t          sample;
    kvmq_hnode_t   *node;
    kvmq_htable_t  *ht;

    ht = (kvmq_htable_t *) &t->ht;
    n = kvmq_htable_size(ht);
    sample = 0;
    r = n * 0x9e3779b97f4a7c15ULL + 1;

    for (i = 0; i < 8 && n > 0; i++) {
        node = kvmq_htable_random(ht, r);
        sample += kvmq_aggr_node_size(node, t->values);
        r = r * 6364136223846793005ULL + 1442695040888963407ULL;
    }

    return sizeof(kvmq_aggr_table_t) + kvmq_htable_bytes(ht)
           + (size_t) (n > 0 ? n * (sample / i) : 0);
}


/* ---- scratch: a map of strings ----------------------------------------- */


int
kvmq_smap_init(kvmq_smap_t *m, size_t n, uint64_t seed)
{
    size_t  cap;

    for (cap = 16; cap < n * 2; cap <<= 1) { /* void */ }

    if (cap <= KVMQ_SMAP_STACK) {
        cap = KVMQ_SMAP_STACK;
        m->slots = m->stack;

    } else {
        if (cap > SIZE_MAX / sizeof(kvmq_smap_slot_t)) {
            return -1;
        }

        m->slots = malloc(cap * sizeof(kvmq_smap_slot_t));
        if (m->slots == NULL) {
            return -1;
        }
    }

    memset(m->slots, 0, cap * sizeof(kvmq_smap_slot_t));
    m->mask = cap - 1;
    m->seed = seed;

    return 0;
}


kvmq_smap_slot_t *
kvmq_smap_put(kvmq_smap_t *m, const void *p, size_t len, int *found)
{
    size_t             i;
    kvmq_smap_slot_t  *s;

    i = (size_t) kvmq_hash(p, len, m->seed) & m->mask;

    for ( ;; ) {
        s = &m->slots[i];

        if (!s->used) {
            s->used = 1;
            s->p = p;
            s->len = len;
            s->val = 0;
            *found = 0;
            return s;
        }

        if (s->len == len && memcmp(s->p, p, len) == 0) {
            *found = 1;
            return s;
        }

        i = (i + 1) & m->mask;
    }
}


void
kvmq_smap_free(kvmq_smap_t *m)
{
    if (m->slots != m->stack) {
        free(m->slots);
    }

    m->slots = NULL;
}


/* ---- scratch: an array of slices --------------------------------------- */


void
kvmq_svec_init(kvmq_svec_t *sv)
{
    sv->v = sv->stack;
    sv->n = 0;
    sv->cap = KVMQ_SVEC_STACK;
    sv->nomem = 0;
    sv->chunks = NULL;
    sv->pos = NULL;
    sv->left = 0;
}


void
kvmq_svec_push(kvmq_svec_t *sv, const void *p, size_t len, int copy)
{
    size_t         cap, size;
    kvmq_slice_t  *v;
    kvmq_chunk_t  *ch;

    if (sv->nomem) {
        return;
    }

    if (sv->n == sv->cap) {
        cap = sv->cap * 2;

        if (sv->v == sv->stack) {
            v = malloc(cap * sizeof(kvmq_slice_t));
            if (v != NULL) {
                memcpy(v, sv->stack, sv->n * sizeof(kvmq_slice_t));
            }

        } else {
            v = realloc(sv->v, cap * sizeof(kvmq_slice_t));
        }

        if (v == NULL) {
            sv->nomem = 1;
            return;
        }

        sv->v = v;
        sv->cap = cap;
    }

    if (copy && len > 0) {
        if (len > sv->left) {
            size = (len > KVMQ_CHUNK_SIZE) ? len : KVMQ_CHUNK_SIZE;

            ch = malloc(sizeof(kvmq_chunk_t) + size);
            if (ch == NULL) {
                sv->nomem = 1;
                return;
            }

            ch->next = sv->chunks;
            sv->chunks = ch;
            sv->pos = ch->data;
            sv->left = size;
        }

        memcpy(sv->pos, p, len);
        p = sv->pos;
        sv->pos += len;
        sv->left -= len;
    }

    sv->v[sv->n].data = p;
    sv->v[sv->n].len = len;
    sv->n++;
}


void
kvmq_svec_free(kvmq_svec_t *sv)
{
    kvmq_chunk_t  *ch, *next;

    if (sv->v != sv->stack) {
        free(sv->v);
    }

    for (ch = sv->chunks; ch; ch = next) {
        next = ch->next;
        free(ch);
    }

    kvmq_svec_init(sv);
}


/* ---- scratch: an array of pointers ------------------------------------- */


void
kvmq_pvec_init(kvmq_pvec_t *pv)
{
    pv->v = pv->stack;
    pv->n = 0;
    pv->cap = KVMQ_PVEC_STACK;
    pv->nomem = 0;
}


int
kvmq_pvec_reserve(kvmq_pvec_t *pv, size_t n)
{
    size_t   cap;
    void   **v;

    if (pv->nomem) {
        return -1;
    }

    if (n <= pv->cap) {
        return 0;
    }

    for (cap = pv->cap * 2; cap < n; cap *= 2) { /* void */ }

    if (cap > SIZE_MAX / sizeof(void *)) {
        pv->nomem = 1;
        return -1;
    }

    if (pv->v == pv->stack) {
        v = malloc(cap * sizeof(void *));
        if (v != NULL) {
            memcpy(v, pv->stack, pv->n * sizeof(void *));
        }

    } else {
        v = realloc(pv->v, cap * sizeof(void *));
    }

    if (v == NULL) {
        pv->nomem = 1;
        return -1;
    }

    pv->v = v;
    pv->cap = cap;

    return 0;
}


void
kvmq_pvec_push(kvmq_pvec_t *pv, void *p)
{
    if (pv->n == pv->cap && kvmq_pvec_reserve(pv, pv->n + 1) != 0) {
        return;
    }

    if (!pv->nomem) {
        pv->v[pv->n++] = p;
    }
}


void
kvmq_pvec_free(kvmq_pvec_t *pv)
{
    if (pv->v != pv->stack) {
        free(pv->v);
    }

    kvmq_pvec_init(pv);
}


/* ---- arguments --------------------------------------------------------- */


/*
 * Redis reads a SCAN cursor with strtoull(): an optional sign (a
 * negative cursor wraps around), digits, nothing after them; an empty
 * string is cursor 0.  Leading space and overflow are errors.
 */
int
kvmq_scan_cursor(kvmq_ctx_t *c, const kvmq_slice_t *a, uint64_t *cursor)
{
    int       neg;
    size_t    i;
    uint64_t  v, d;

    i = 0;
    neg = 0;
    v = 0;

    if (a->len > 0 && (a->data[0] == '+' || a->data[0] == '-')) {
        neg = (a->data[0] == '-');
        i = 1;

        if (a->len == 1) {
            goto invalid;
        }
    }

    for ( /* void */ ; i < a->len; i++) {
        if (a->data[i] < '0' || a->data[i] > '9') {
            goto invalid;
        }

        d = (uint64_t) (a->data[i] - '0');

        if (v > (UINT64_MAX - d) / 10) {
            goto invalid;
        }

        v = v * 10 + d;
    }

    *cursor = neg ? 0 - v : v;

    return 0;

invalid:

    kvmq_reply_error(c, KVMQ_ERR_BADREQ, "invalid cursor");

    return -1;
}


int
kvmq_scan_options(kvmq_ctx_t *c, int argc, const kvmq_slice_t *argv,
    int first, kvmq_scan_args_t *sa)
{
    int        i;
    long long  count;

    sa->count = 10;
    sa->pattern = NULL;

    for (i = first; i < argc; i += 2) {
        if (kvmq_arg_is(&argv[i], "COUNT") && i + 1 < argc) {
            if (kvmq_arg_ll(c, &argv[i + 1], &count) != 0) {
                return -1;
            }

            if (count < 1) {
                kvmq_reply_syntax(c);
                return -1;
            }

            sa->count = (count > (long long) KVMQ_SCAN_COUNT_MAX)
                        ? KVMQ_SCAN_COUNT_MAX : (unsigned) count;

        } else if (kvmq_arg_is(&argv[i], "MATCH") && i + 1 < argc) {
            /* "*" matches all: no glob for every element */
            sa->pattern = (argv[i + 1].len == 1
                           && argv[i + 1].data[0] == '*')
                          ? NULL : &argv[i + 1];

        } else {
            kvmq_reply_syntax(c);
            return -1;
        }
    }

    return 0;
}


int
kvmq_scan_match(const kvmq_scan_args_t *sa, const kvmq_slice_t *s)
{
    return sa->pattern == NULL
           || kvmq_glob_match(sa->pattern->data, sa->pattern->len,
                              s->data, s->len, 0);
}


void
kvmq_reply_cursor(kvmq_ctx_t *c, uint64_t cursor)
{
    char    buf[KVMQ_INT_DIGITS + 1], *p;

    p = buf + sizeof(buf);

    do {
        *--p = (char) ('0' + cursor % 10);
        cursor /= 10;
    } while (cursor != 0);

    kvmq_reply_bulk(c, p, (size_t) (buf + sizeof(buf) - p));
}


int
kvmq_arg_rand_count(kvmq_ctx_t *c, const kvmq_slice_t *a, long long *count)
{
    if (kvmq_arg_ll(c, a, count) != 0) {
        return -1;
    }

    if (*count == LLONG_MIN) {
        kvmq_reply_error(c, KVMQ_ERR_BADREQ,
                         "value is out of range, value must between "
                         "-9223372036854775807 and 9223372036854775807");
        return -1;
    }

    return 0;
}


int
kvmq_rand_count_ok(kvmq_ctx_t *c, long long count, int pairs)
{
    if ((pairs && (count < -LLONG_MAX / 2 || count > LLONG_MAX / 2))
        || count < -KVMQ_RAND_MAX)
    {
        kvmq_reply_error(c, KVMQ_ERR_BADREQ, "value is out of range");
        return -1;
    }

    return 0;
}


uint64_t
kvmq_aggr_random(kvmq_ctx_t *c, uint64_t n)
{
    return kvmq_random(c->db) % n;
}
