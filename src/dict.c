/*
 * The keyspace hash table.
 *
 * Layout.  Chained hashing over intrusive entries: a bucket is a pointer
 * to the first kvmq_entry_t of its chain and entries link through their
 * own "next", so a key costs no node besides its entry.  Each entry keeps
 * the low 32 bits of its hash, so rehashing never rehashes a key and a
 * lookup compares hashes before bytes.
 *
 * Bucket arrays are split in pages of KVMQ_DICT_PAGE pointers (4 KB, one
 * slab page) under a small directory.  ngx_slab hands anything larger than
 * half a page out as whole contiguous pages; a 16M-bucket table as one
 * block (128 MB) would fail in a fragmented zone long before the zone is
 * full, while pages of 4 KB always fit wherever one page is free.
 *
 * Incremental rehash, Redis style.  When the table is full (load factor
 * 1) a second table twice the size is allocated and every find or link
 * moves one bucket (visiting at most ten empty ones), and the cron moves
 * more.  While rehashing, lookups check both tables and new entries go to
 * the new one.  The table shrinks (from cron) when less than an eighth
 * full.  Growing uses the plain allocator and never evicts: if the zone
 * cannot give the new table, chains just get longer.
 *
 * Scan.  The Redis reverse-binary cursor: the cursor's high bits are
 * incremented, so when the table grows or shrinks between two calls the
 * buckets already visited map onto buckets whose cursors are behind the
 * current one.  A key present for the whole scan is returned at least
 * once; a key may be returned more than once.
 */

#include "db.h"


#define KVMQ_DICT_MIN        16
#define KVMQ_DICT_EMPTY_MAX  10


static kvmq_entry_t **
kvmq_bucket(const kvmq_table_t *t, uint64_t i)
{
    return &t->pages[i / KVMQ_DICT_PAGE][i % KVMQ_DICT_PAGE];
}


static int
kvmq_table_alloc(kvmq_ctx_t *c, kvmq_table_t *t, uint64_t size)
{
    uint64_t          npages, per, i;
    kvmq_entry_t   ***pages;

    per = size < KVMQ_DICT_PAGE ? size : KVMQ_DICT_PAGE;
    npages = size / per;

    pages = c->alloc->alloc(c->alloc->ctx, npages * sizeof(*pages));
    if (pages == NULL) {
        return -1;
    }

    for (i = 0; i < npages; i++) {
        pages[i] = c->alloc->alloc(c->alloc->ctx, per * sizeof(**pages));

        if (pages[i] == NULL) {
            while (i--) {
                c->alloc->free(c->alloc->ctx, pages[i]);
            }

            c->alloc->free(c->alloc->ctx, pages);
            return -1;
        }

        memset(pages[i], 0, per * sizeof(**pages));
    }

    t->pages = pages;
    t->size = size;
    t->mask = size - 1;
    t->used = 0;

    return 0;
}


static void
kvmq_table_free(kvmq_ctx_t *c, kvmq_table_t *t)
{
    uint64_t  npages, per, i;

    if (t->size == 0) {
        return;
    }

    per = t->size < KVMQ_DICT_PAGE ? t->size : KVMQ_DICT_PAGE;
    npages = t->size / per;

    for (i = 0; i < npages; i++) {
        c->alloc->free(c->alloc->ctx, t->pages[i]);
    }

    c->alloc->free(c->alloc->ctx, t->pages);

    memset(t, 0, sizeof(kvmq_table_t));
}


int
kvmq_dict_init(kvmq_ctx_t *c, kvmq_dict_t *d)
{
    memset(d, 0, sizeof(kvmq_dict_t));
    d->rehashidx = -1;

    return kvmq_table_alloc(c, &d->t[0], KVMQ_DICT_MIN);
}


/* a dict left without a table (by a failed init) gets one before a link */
int
kvmq_dict_ready(kvmq_ctx_t *c, kvmq_dict_t *d)
{
    if (d->t[0].size != 0 || d->rehashidx >= 0) {
        return 0;
    }

    return kvmq_table_alloc(c, &d->t[0], KVMQ_DICT_MIN);
}


uint64_t
kvmq_dict_size(const kvmq_dict_t *d)
{
    return d->t[0].used + d->t[1].used;
}


void
kvmq_dict_rehash_step(kvmq_dict_t *d, unsigned buckets)
{
    unsigned        empty;
    kvmq_entry_t   *e, *next, **b, **nb;
    kvmq_table_t   *t0, *t1;

    if (d->rehashidx < 0) {
        return;
    }

    t0 = &d->t[0];
    t1 = &d->t[1];
    empty = buckets * KVMQ_DICT_EMPTY_MAX;

    while (buckets-- && t0->used) {

        for ( ;; ) {
            b = kvmq_bucket(t0, (uint64_t) d->rehashidx);

            if (*b != NULL) {
                break;
            }

            d->rehashidx++;

            if (--empty == 0) {
                return;
            }
        }

        for (e = *b; e; e = next) {
            next = e->next;
            nb = kvmq_bucket(t1, e->hash & t1->mask);
            e->next = *nb;
            *nb = e;
            t0->used--;
            t1->used++;
        }

        *b = NULL;
        d->rehashidx++;
    }

    if (t0->used == 0) {
        /* the old table is freed by the caller that owns an allocator:
         * keep it in t[0] with used == 0 and let kvmq_dict_maybe_resize
         * swap the tables */
        return;
    }
}


/*
 * Finish a rehash whose old table is empty: free it and make the new one
 * the main table.  Needs the allocator, so it runs from find/link/cron.
 */
static void
kvmq_dict_rehash_done(kvmq_ctx_t *c, kvmq_dict_t *d)
{
    if (d->rehashidx >= 0 && d->t[0].used == 0) {
        kvmq_table_free(c, &d->t[0]);
        d->t[0] = d->t[1];
        memset(&d->t[1], 0, sizeof(kvmq_table_t));
        d->rehashidx = -1;
    }
}


static void
kvmq_dict_start_resize(kvmq_ctx_t *c, kvmq_dict_t *d, uint64_t want)
{
    uint64_t  size;

    size = KVMQ_DICT_MIN;
    while (size < want) {
        size <<= 1;
    }

    if (size == d->t[0].size || size > ((uint64_t) 1 << 32)) {
        return;
    }

    if (kvmq_table_alloc(c, &d->t[1], size) != 0) {
        return;
    }

    d->rehashidx = 0;
}


void
kvmq_dict_maybe_resize(kvmq_ctx_t *c, kvmq_dict_t *d)
{
    uint64_t  used;

    kvmq_dict_rehash_done(c, d);

    if (d->rehashidx >= 0) {
        return;
    }

    used = d->t[0].used;

    if (used >= d->t[0].size) {
        kvmq_dict_start_resize(c, d, used * 2);

    } else if (d->t[0].size > KVMQ_DICT_MIN && used < d->t[0].size / 8) {
        kvmq_dict_start_resize(c, d, used * 2);
    }
}


kvmq_entry_t *
kvmq_dict_find(kvmq_ctx_t *c, kvmq_dict_t *d, const unsigned char *key,
    size_t len, uint32_t hash)
{
    int             i;
    kvmq_entry_t   *e;
    kvmq_table_t   *t;

    if (d->rehashidx >= 0) {
        kvmq_dict_rehash_step(d, 1);
        kvmq_dict_rehash_done(c, d);
    }

    for (i = 0; i < 2; i++) {
        t = &d->t[i];

        if (t->size == 0) {
            continue;
        }

        for (e = *kvmq_bucket(t, hash & t->mask); e; e = e->next) {
            if (e->hash == hash && e->klen == len
                && memcmp(e->key, key, len) == 0)
            {
                return e;
            }
        }

        if (d->rehashidx < 0) {
            break;
        }
    }

    return NULL;
}


void
kvmq_dict_link(kvmq_ctx_t *c, kvmq_dict_t *d, kvmq_entry_t *e)
{
    kvmq_entry_t  **b;
    kvmq_table_t   *t;

    if (d->rehashidx >= 0) {
        kvmq_dict_rehash_step(d, 1);
        kvmq_dict_rehash_done(c, d);

    } else if (d->t[0].used >= d->t[0].size) {
        kvmq_dict_maybe_resize(c, d);
    }

    t = (d->rehashidx >= 0) ? &d->t[1] : &d->t[0];

    b = kvmq_bucket(t, e->hash & t->mask);
    e->next = *b;
    *b = e;
    t->used++;
}


/* never resizes nor rehashes: the evictor unlinks in the middle of
 * commands that hold other entries */
void
kvmq_dict_unlink(kvmq_dict_t *d, kvmq_entry_t *e)
{
    int             i;
    kvmq_entry_t  **pp;
    kvmq_table_t   *t;

    for (i = 0; i < 2; i++) {
        t = &d->t[i];

        if (t->size == 0) {
            continue;
        }

        for (pp = kvmq_bucket(t, e->hash & t->mask); *pp; pp = &(*pp)->next) {
            if (*pp == e) {
                *pp = e->next;
                e->next = NULL;
                t->used--;
                return;
            }
        }
    }
}


void
kvmq_dict_free(kvmq_ctx_t *c, kvmq_dict_t *d)
{
    kvmq_table_free(c, &d->t[0]);
    kvmq_table_free(c, &d->t[1]);
    d->rehashidx = -1;
}


static uint64_t
kvmq_rev(uint64_t v)
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
kvmq_scan_bucket(const kvmq_table_t *t, uint64_t i,
    void (*fn)(void *arg, kvmq_entry_t *e), void *arg)
{
    kvmq_entry_t  *e, *next;

    for (e = *kvmq_bucket(t, i & t->mask); e; e = next) {
        next = e->next;
        fn(arg, e);
    }
}


uint64_t
kvmq_dict_scan(kvmq_dict_t *d, uint64_t v,
    void (*fn)(void *arg, kvmq_entry_t *e), void *arg)
{
    uint64_t             m0, m1;
    const kvmq_table_t  *t0, *t1, *tmp;

    if (kvmq_dict_size(d) == 0) {
        return 0;
    }

    if (d->rehashidx < 0) {
        t0 = &d->t[0];
        m0 = t0->mask;

        kvmq_scan_bucket(t0, v, fn, arg);

        v |= ~m0;
        v = kvmq_rev(v);
        v++;
        v = kvmq_rev(v);

        return v;
    }

    t0 = &d->t[0];
    t1 = &d->t[1];

    if (t0->size > t1->size) {
        tmp = t0;
        t0 = t1;
        t1 = tmp;
    }

    m0 = t0->mask;
    m1 = t1->mask;

    kvmq_scan_bucket(t0, v, fn, arg);

    /* the buckets of the larger table that expand the smaller one's */
    do {
        kvmq_scan_bucket(t1, v, fn, arg);

        v |= ~m1;
        v = kvmq_rev(v);
        v++;
        v = kvmq_rev(v);

    } while (v & (m0 ^ m1));

    return v;
}


static kvmq_entry_t *
kvmq_dict_slot(const kvmq_dict_t *d, uint64_t i)
{
    uint64_t  left;

    /* buckets of t[0] below rehashidx are empty: number the rest of t[0]
     * and then t[1] as one range */
    if (d->rehashidx < 0) {
        return *kvmq_bucket(&d->t[0], i & d->t[0].mask);
    }

    left = d->t[0].size - (uint64_t) d->rehashidx;

    if (i < left) {
        return *kvmq_bucket(&d->t[0], i + (uint64_t) d->rehashidx);
    }

    return *kvmq_bucket(&d->t[1], i - left);
}


/*
 * The chain of a random non-empty bucket, or NULL when the dict is empty.
 * After a few random misses (a sparse table the cron has not shrunk yet)
 * it walks forward from the last pick, as Redis does, so it never gives
 * up on a dict that has keys.
 */
kvmq_entry_t *
kvmq_dict_random_chain(kvmq_dict_t *d, uint64_t r)
{
    unsigned       tries;
    uint64_t       i, span;
    kvmq_entry_t  *e;

    if (kvmq_dict_size(d) == 0) {
        return NULL;
    }

    span = (d->rehashidx < 0)
           ? d->t[0].size
           : d->t[0].size - (uint64_t) d->rehashidx + d->t[1].size;

    for (tries = 0; tries < 32; tries++) {
        e = kvmq_dict_slot(d, r % span);
        if (e != NULL) {
            return e;
        }

        r = r * 6364136223846793005ULL + 1442695040888963407ULL;
        r ^= r >> 29;
    }

    for (i = 0; i < span; i++) {
        e = kvmq_dict_slot(d, (r + i) % span);
        if (e != NULL) {
            return e;
        }
    }

    return NULL;
}


/* free every entry and start over with an empty table */
void
kvmq_dict_clear(kvmq_ctx_t *c, kvmq_dict_t *d,
    void (*free_entry)(kvmq_ctx_t *c, kvmq_entry_t *e))
{
    int            i;
    uint64_t       b;
    kvmq_entry_t  *e, *next, **bp;

    for (i = 0; i < 2; i++) {
        for (b = 0; b < d->t[i].size; b++) {
            bp = kvmq_bucket(&d->t[i], b);

            for (e = *bp; e; e = next) {
                next = e->next;
                free_entry(c, e);
            }

            *bp = NULL;
        }
    }

    kvmq_dict_free(c, d);

    /* if even the smallest table does not fit, kvmq_dict_ready() tries
     * again before the next link */
    (void) kvmq_dict_init(c, d);
}
