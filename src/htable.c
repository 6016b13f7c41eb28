/*
 * The generic intrusive hash table: layout, rehash and scan are
 * described in htable.h.
 */

#include "db.h"
#include "htable.h"


#define KVMQ_HT_EMPTY_VISITS  10
#define KVMQ_HT_RANDOM_TRIES  32


static uint64_t
kvmq_ht_pow2(uint64_t want)
{
    uint64_t  size;

    for (size = KVMQ_HT_MIN; size < want; size <<= 1) { /* void */ }

    return size;
}


static int
kvmq_ht_paged(const kvmq_htab_t *t)
{
    return t->size > KVMQ_HT_PAGE;
}


/* the chain of bucket i (i < size) */
static kvmq_hnode_t *
kvmq_ht_get(const kvmq_htab_t *t, uint64_t i)
{
    kvmq_hnode_t  **page;

    if (!kvmq_ht_paged(t)) {
        return ((kvmq_hnode_t **) t->b)[i];
    }

    page = ((kvmq_hnode_t ***) t->b)[i / KVMQ_HT_PAGE];

    return (page != NULL) ? page[i % KVMQ_HT_PAGE] : NULL;
}


/* the slot of bucket i, or NULL when its page does not exist */
static kvmq_hnode_t **
kvmq_ht_slot(const kvmq_htab_t *t, uint64_t i)
{
    kvmq_hnode_t  **page;

    if (!kvmq_ht_paged(t)) {
        return &((kvmq_hnode_t **) t->b)[i];
    }

    page = ((kvmq_hnode_t ***) t->b)[i / KVMQ_HT_PAGE];

    return (page != NULL) ? &page[i % KVMQ_HT_PAGE] : NULL;
}


static int
kvmq_ht_alloc(kvmq_ctx_t *c, kvmq_htab_t *t, uint64_t size, int evict)
{
    void          *b;
    size_t         bytes;
    uint64_t       i, npages;
    kvmq_hnode_t  **page, ***dir;

    npages = (size <= KVMQ_HT_PAGE) ? 0 : size / KVMQ_HT_PAGE;
    bytes = (size_t) (npages ? npages : size) * sizeof(void *);

    b = evict ? kvmq_zalloc(c, bytes) : c->alloc->alloc(c->alloc->ctx, bytes);
    if (b == NULL) {
        return -1;
    }

    memset(b, 0, bytes);

    dir = b;

    for (i = 0; i < npages; i++) {
        bytes = KVMQ_HT_PAGE * sizeof(kvmq_hnode_t *);
        page = evict ? kvmq_zalloc(c, bytes)
                     : c->alloc->alloc(c->alloc->ctx, bytes);

        if (page == NULL) {
            while (i--) {
                kvmq_zfree(c, dir[i]);
            }

            kvmq_zfree(c, b);
            return -1;
        }

        memset(page, 0, bytes);
        dir[i] = page;
    }

    t->b = b;
    t->size = size;
    t->used = 0;

    return 0;
}


static void
kvmq_ht_page_free(kvmq_ctx_t *c, kvmq_htab_t *t, uint64_t page)
{
    kvmq_hnode_t  ***dir;

    dir = t->b;

    if (dir[page] != NULL) {
        kvmq_zfree(c, dir[page]);
        dir[page] = NULL;
    }
}


/* free t's blocks, at most *budget of them; 1 when all are gone */
static int
kvmq_ht_free_some(kvmq_ctx_t *c, kvmq_htab_t *t, unsigned *budget)
{
    uint64_t  i, npages;

    if (t->size == 0) {
        return 1;
    }

    if (kvmq_ht_paged(t)) {
        npages = t->size / KVMQ_HT_PAGE;

        for (i = 0; i < npages; i++) {
            if (((kvmq_hnode_t ***) t->b)[i] == NULL) {
                continue;
            }

            if (*budget == 0) {
                return 0;
            }

            kvmq_ht_page_free(c, t, i);
            (*budget)--;
        }
    }

    kvmq_zfree(c, t->b);
    memset(t, 0, sizeof(kvmq_htab_t));

    if (*budget > 0) {
        (*budget)--;
    }

    return 1;
}


int
kvmq_htable_init(kvmq_ctx_t *c, kvmq_htable_t *ht, uint64_t hint)
{
    memset(ht, 0, sizeof(kvmq_htable_t));
    ht->rehashidx = -1;

    return kvmq_ht_alloc(c, &ht->t[0], kvmq_ht_pow2(hint), 1);
}


void
kvmq_htable_free(kvmq_ctx_t *c, kvmq_htable_t *ht)
{
    unsigned  budget;

    budget = (unsigned) -1;

    (void) kvmq_htable_free_some(c, ht, &budget);
}


int
kvmq_htable_free_some(kvmq_ctx_t *c, kvmq_htable_t *ht, unsigned *budget)
{
    if (!kvmq_ht_free_some(c, &ht->t[0], budget)) {
        return 0;
    }

    if (!kvmq_ht_free_some(c, &ht->t[1], budget)) {
        return 0;
    }

    ht->rehashidx = -1;

    return 1;
}


uint64_t
kvmq_htable_hash(kvmq_ctx_t *c, const void *key, size_t len)
{
    return kvmq_hash(key, len, c->db->seed);
}


uint64_t
kvmq_htable_size(const kvmq_htable_t *ht)
{
    return ht->t[0].used + ht->t[1].used;
}


static void
kvmq_ht_rehash_done(kvmq_ctx_t *c, kvmq_htable_t *ht)
{
    unsigned  budget;

    if (ht->rehashidx < 0 || ht->t[0].used != 0) {
        return;
    }

    budget = (unsigned) -1;
    (void) kvmq_ht_free_some(c, &ht->t[0], &budget);

    ht->t[0] = ht->t[1];
    memset(&ht->t[1], 0, sizeof(kvmq_htab_t));
    ht->rehashidx = -1;
}


/* rehashidx moves past bucket i of the old table: free a page left */
static void
kvmq_ht_advance(kvmq_ctx_t *c, kvmq_htable_t *ht, uint64_t next)
{
    kvmq_htab_t  *t0;

    t0 = &ht->t[0];

    if (kvmq_ht_paged(t0) && next % KVMQ_HT_PAGE == 0) {
        kvmq_ht_page_free(c, t0, next / KVMQ_HT_PAGE - 1);
    }

    ht->rehashidx = (int64_t) next;
}


static void
kvmq_ht_rehash_step(kvmq_ctx_t *c, kvmq_htable_t *ht,
    const kvmq_htype_t *type, unsigned buckets)
{
    unsigned         empty;
    uint64_t         i, h;
    kvmq_slice_t     k;
    kvmq_hnode_t    *n, **slot, **to;
    kvmq_htab_t     *t0, *t1;

    t0 = &ht->t[0];
    t1 = &ht->t[1];
    empty = buckets * KVMQ_HT_EMPTY_VISITS;

    while (buckets-- && t0->used) {

        for ( ;; ) {
            i = (uint64_t) ht->rehashidx;
            slot = kvmq_ht_slot(t0, i);

            if (slot == NULL) {
                /* a page already freed: every bucket in it is empty */
                ht->rehashidx = (int64_t) ((i / KVMQ_HT_PAGE + 1)
                                           * KVMQ_HT_PAGE);

            } else if (*slot != NULL) {
                break;

            } else {
                kvmq_ht_advance(c, ht, i + 1);
            }

            if (--empty == 0) {
                return;
            }
        }

        while (*slot != NULL) {
            n = *slot;
            k = type->key(n);
            h = kvmq_htable_hash(c, k.data, k.len);

            to = kvmq_ht_slot(t1, h & (t1->size - 1));

            *slot = n->next;
            n->next = *to;
            *to = n;

            t0->used--;
            t1->used++;
        }

        kvmq_ht_advance(c, ht, i + 1);
    }

    kvmq_ht_rehash_done(c, ht);
}


static void
kvmq_ht_start_resize(kvmq_ctx_t *c, kvmq_htable_t *ht, uint64_t want)
{
    uint64_t  size;

    size = kvmq_ht_pow2(want);

    if (size == ht->t[0].size || size > ((uint64_t) 1 << 40)) {
        return;
    }

    if (kvmq_ht_alloc(c, &ht->t[1], size, 0) != 0) {
        return;
    }

    ht->rehashidx = 0;
}


/*
 * Hand every node to fn (which frees it) and start over with an empty
 * table: FLUSHALL of the keyspace.  O(nodes), like Redis' FLUSHALL SYNC;
 * the big values behind the nodes go to the lazy-free queue.
 */
void
kvmq_htable_clear(kvmq_ctx_t *c, kvmq_htable_t *ht,
    void (*fn)(kvmq_ctx_t *c, kvmq_hnode_t *n))
{
    int             i;
    uint32_t        flags;
    uint64_t        b;
    kvmq_hnode_t   *n, *next, **slot;

    for (i = 0; i < 2; i++) {
        for (b = 0; b < ht->t[i].size; b++) {
            slot = kvmq_ht_slot(&ht->t[i], b);

            if (slot == NULL) {
                /* a page the rehash walk already emptied and freed */
                b = (b / KVMQ_HT_PAGE + 1) * KVMQ_HT_PAGE - 1;
                continue;
            }

            for (n = *slot; n != NULL; n = next) {
                next = n->next;
                fn(c, n);
            }

            *slot = NULL;
        }

        ht->t[i].used = 0;
    }

    flags = ht->flags;

    kvmq_htable_free(c, ht);

    /* if even the smallest table does not fit now, the next write
     * tries again (kvmq_htable_ready) */
    (void) kvmq_htable_init(c, ht, KVMQ_HT_MIN);

    ht->flags = flags;
}


/* a table emptied by a failed kvmq_htable_clear() gets one again */
int
kvmq_htable_ready(kvmq_ctx_t *c, kvmq_htable_t *ht)
{
    int       rc;
    uint32_t  flags;

    if (ht->t[0].size != 0 || ht->rehashidx >= 0) {
        return 0;
    }

    flags = ht->flags;
    rc = kvmq_htable_init(c, ht, KVMQ_HT_MIN);
    ht->flags = flags;

    return rc;
}


void
kvmq_htable_cron(kvmq_ctx_t *c, kvmq_htable_t *ht,
    const kvmq_htype_t *type, unsigned n)
{
    if (ht->rehashidx >= 0) {
        kvmq_ht_rehash_step(c, ht, type, n);

    } else if (ht->t[0].size > KVMQ_HT_MIN
               && ht->t[0].used < ht->t[0].size / 8)
    {
        kvmq_ht_start_resize(c, ht, ht->t[0].used * 2);
    }
}


kvmq_hnode_t *
kvmq_htable_find(kvmq_ctx_t *c, kvmq_htable_t *ht, const kvmq_htype_t *type,
    const void *key, size_t len, uint64_t hash)
{
    int            i;
    kvmq_slice_t   k;
    kvmq_hnode_t  *n;
    kvmq_htab_t   *t;

    if (ht->rehashidx >= 0) {
        kvmq_ht_rehash_step(c, ht, type, 1);
    }

    for (i = 0; i < 2; i++) {
        t = &ht->t[i];

        if (t->size == 0) {
            continue;
        }

        for (n = kvmq_ht_get(t, hash & (t->size - 1)); n; n = n->next) {
            k = type->key(n);

            if (k.len == len && memcmp(k.data, key, len) == 0) {
                return n;
            }
        }

        if (ht->rehashidx < 0) {
            break;
        }
    }

    return NULL;
}


int
kvmq_htable_reserve(kvmq_ctx_t *c, kvmq_htable_t *ht,
    const kvmq_htype_t *type, uint64_t hash)
{
    (void) hash;

    if (ht->rehashidx >= 0) {
        kvmq_ht_rehash_step(c, ht, type, 1);

    } else if (ht->t[0].used >= ht->t[0].size) {
        kvmq_ht_start_resize(c, ht, ht->t[0].used + 1);
    }

    return 0;
}


void
kvmq_htable_link(kvmq_htable_t *ht, kvmq_hnode_t *n, uint64_t hash)
{
    kvmq_htab_t    *t;
    kvmq_hnode_t  **slot;

    t = (ht->rehashidx >= 0) ? &ht->t[1] : &ht->t[0];
    slot = kvmq_ht_slot(t, hash & (t->size - 1));

    n->next = *slot;
    *slot = n;
    t->used++;
}


void
kvmq_htable_unlink(kvmq_ctx_t *c, kvmq_htable_t *ht, kvmq_hnode_t *n,
    uint64_t hash)
{
    int             i;
    kvmq_htab_t    *t;
    kvmq_hnode_t  **pp;

    for (i = 0; i < 2; i++) {
        t = &ht->t[i];

        if (t->size == 0) {
            continue;
        }

        pp = kvmq_ht_slot(t, hash & (t->size - 1));

        for ( /* void */ ; pp != NULL && *pp != NULL; pp = &(*pp)->next) {
            if (*pp == n) {
                *pp = n->next;
                n->next = NULL;
                t->used--;
                goto unlinked;
            }
        }
    }

    return;

unlinked:

    if (ht->rehashidx < 0 && !(ht->flags & KVMQ_HT_CRON_SHRINK)
        && ht->t[0].size > KVMQ_HT_MIN
        && ht->t[0].used < ht->t[0].size / 8)
    {
        kvmq_ht_start_resize(c, ht, ht->t[0].used * 2);
    }
}


static uint64_t
kvmq_ht_rev(uint64_t v)
{
    uint64_t  s, mask;

    s = 64;
    mask = ~(uint64_t) 0;

    while ((s >>= 1) > 0) {
        mask ^= (mask << s);
        v = ((v >> s) & mask) | ((v << s) & ~mask);
    }

    return v;
}


static void
kvmq_ht_scan_bucket(const kvmq_htab_t *t, uint64_t v,
    void (*fn)(void *arg, kvmq_hnode_t *n), void *arg)
{
    kvmq_hnode_t  *n, *next;

    for (n = kvmq_ht_get(t, v & (t->size - 1)); n; n = next) {
        next = n->next;
        fn(arg, n);
    }
}


uint64_t
kvmq_htable_scan(kvmq_htable_t *ht, uint64_t v,
    void (*fn)(void *arg, kvmq_hnode_t *n), void *arg)
{
    uint64_t            m0, m1;
    const kvmq_htab_t  *t0, *t1, *tmp;

    if (kvmq_htable_size(ht) == 0) {
        return 0;
    }

    if (ht->rehashidx < 0) {
        t0 = &ht->t[0];
        m0 = t0->size - 1;

        kvmq_ht_scan_bucket(t0, v, fn, arg);

        v |= ~m0;
        v = kvmq_ht_rev(v);
        v++;

        return kvmq_ht_rev(v);
    }

    t0 = &ht->t[0];
    t1 = &ht->t[1];

    if (t0->size > t1->size) {
        tmp = t0;
        t0 = t1;
        t1 = tmp;
    }

    m0 = t0->size - 1;
    m1 = t1->size - 1;

    kvmq_ht_scan_bucket(t0, v, fn, arg);

    /* the buckets of the larger table that expand the smaller one's */
    do {
        kvmq_ht_scan_bucket(t1, v, fn, arg);

        v |= ~m1;
        v = kvmq_ht_rev(v);
        v++;
        v = kvmq_ht_rev(v);

    } while (v & (m0 ^ m1));

    return v;
}


/* bucket i of the live buckets: the rest of t[0], then t[1] */
static kvmq_hnode_t *
kvmq_ht_live(const kvmq_htable_t *ht, uint64_t i)
{
    uint64_t  left;

    if (ht->rehashidx < 0) {
        return kvmq_ht_get(&ht->t[0], i);
    }

    left = ht->t[0].size - (uint64_t) ht->rehashidx;

    if (i < left) {
        return kvmq_ht_get(&ht->t[0], i + (uint64_t) ht->rehashidx);
    }

    return kvmq_ht_get(&ht->t[1], i - left);
}


kvmq_hnode_t *
kvmq_htable_random(kvmq_htable_t *ht, uint64_t r)
{
    unsigned       tries;
    uint64_t       i, span, len;
    kvmq_hnode_t  *n, *head;

    if (kvmq_htable_size(ht) == 0) {
        return NULL;
    }

    span = (ht->rehashidx < 0)
           ? ht->t[0].size
           : ht->t[0].size - (uint64_t) ht->rehashidx + ht->t[1].size;

    head = NULL;

    for (tries = 0; tries < KVMQ_HT_RANDOM_TRIES && head == NULL; tries++) {
        head = kvmq_ht_live(ht, r % span);
        r = r * 6364136223846793005ULL + 1442695040888963407ULL;
        r ^= r >> 29;
    }

    /* a sparse table: walk on from the last pick */
    for (i = 0; head == NULL && i < span; i++) {
        head = kvmq_ht_live(ht, (r + i) % span);
    }

    for (len = 0, n = head; n; n = n->next) {
        len++;
    }

    i = (r >> 7) % len;

    for (n = head; i--; n = n->next) { /* void */ }

    return n;
}


size_t
kvmq_htable_bytes(const kvmq_htable_t *ht)
{
    int                 i;
    size_t              bytes;
    uint64_t            p, npages;
    const kvmq_htab_t  *t;

    bytes = 0;

    for (i = 0; i < 2; i++) {
        t = &ht->t[i];

        if (t->size == 0) {
            continue;
        }

        if (!kvmq_ht_paged(t)) {
            bytes += (size_t) t->size * sizeof(void *);
            continue;
        }

        npages = t->size / KVMQ_HT_PAGE;
        bytes += (size_t) npages * sizeof(void *);

        for (p = 0; p < npages; p++) {
            if (((kvmq_hnode_t ***) t->b)[p] != NULL) {
                bytes += KVMQ_HT_PAGE * sizeof(void *);
            }
        }
    }

    return bytes;
}
