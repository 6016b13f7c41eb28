/*
 * The db: keyspace operations, expiry and eviction.
 *
 * The root (kvmq_db_t) is the one block the host keeps a pointer to (in
 * nginx, shpool->data); it holds the keyspace table (htable.c), the
 * counters and the state of the shared random generator.  All workers
 * run commands on it under one lock, so nothing here is atomic by itself.
 *
 * Expiry.  An entry's expire is an absolute time in ms; a key is expired
 * when now > expire (Redis' rule).  Every lookup checks it and deletes an
 * expired key on the spot (lazy expiry), so no command ever sees one.  The
 * host's timer calls kvmq_db_cron(), which walks the table with a scan
 * cursor kept in the db and deletes what has expired, a bounded number of
 * entries and microseconds per call: over successive ticks the walk
 * covers the whole keyspace, so memory of keys nobody reads comes back
 * too.  Nothing is walked when no key has a TTL.
 *
 * Eviction.  The zone is a fixed-size slab pool and kvmq_zalloc() learns
 * it is full when an allocation fails.  Then, if the policy allows, it
 * evicts one key chosen by sampling (Redis' approximate LRU/LFU: the best
 * of a few random keys) and retries, up to a bound.  Keys named by the
 * running command are never candidates, so a command's looked-up entries
 * survive its own allocations.  LRU uses a seconds clock in entry->lru;
 * LFU keeps Redis' logarithmic 8-bit counter in entry->lfu and its decay
 * time (minutes) in entry->lru.
 */

#include <time.h>

#include "db.h"


#define KVMQ_EVICT_SAMPLES     5
#define KVMQ_EVICT_PICKS       64
#define KVMQ_EVICT_MAX         1024
#define KVMQ_LFU_INIT          5
#define KVMQ_LFU_LOG_FACTOR    10
#define KVMQ_LFU_DECAY_MIN     1
#define KVMQ_CRON_BATCH        64


static kvmq_slice_t
kvmq_entry_hkey(const kvmq_hnode_t *n)
{
    return kvmq_entry_key((const kvmq_entry_t *) n);
}


/* how the keyspace table (htable.c) reads an entry's key */
static const kvmq_htype_t  kvmq_key_type = { kvmq_entry_hkey };

#define kvmq_entry_of(n)  ((kvmq_entry_t *) (n))


static uint64_t
kvmq_key_hash(kvmq_db_t *db, const unsigned char *key, size_t len)
{
    return kvmq_hash(key, len, db->seed);
}


kvmq_db_t *
kvmq_db_create(const kvmq_alloc_t *a, const kvmq_db_conf_t *conf)
{
    kvmq_db_t   *db;
    kvmq_ctx_t   c;

    db = a->alloc(a->ctx, sizeof(kvmq_db_t));
    if (db == NULL) {
        return NULL;
    }

    memset(db, 0, sizeof(kvmq_db_t));
    memset(&c, 0, sizeof(kvmq_ctx_t));

    c.db = db;
    c.alloc = a;

    db->magic = KVMQ_DB_MAGIC;
    db->version = KVMQ_DB_VERSION;
    db->eviction = conf->eviction;

    db->seed = conf->seed;
    if (db->seed == 0) {
        db->seed = (uint64_t) time(NULL) * 0x9e3779b97f4a7c15ULL
                   ^ (uint64_t) (uintptr_t) db ^ (uint64_t) clock();
    }

    db->rng = db->seed | 1;

    if (kvmq_htable_init(&c, &db->keys, KVMQ_HT_MIN) != 0) {
        a->free(a->ctx, db);
        return NULL;
    }

    db->keys.flags = KVMQ_HT_CRON_SHRINK;

    return db;
}


int
kvmq_db_compatible(const kvmq_db_t *db)
{
    return db != NULL && db->magic == KVMQ_DB_MAGIC
           && db->version == KVMQ_DB_VERSION;
}


void
kvmq_db_destroy(kvmq_db_t *db, const kvmq_alloc_t *a)
{
    kvmq_ctx_t  c;

    memset(&c, 0, sizeof(kvmq_ctx_t));
    c.db = db;
    c.alloc = a;

    kvmq_db_flush(&c);
    kvmq_pubsub_destroy(&c);
    kvmq_mq_destroy(&c);
    kvmq_block_destroy(&c);
    kvmq_lazyfree_drain(&c);
    kvmq_htable_free(&c, &db->keys);

    a->free(a->ctx, db);
}


void
kvmq_db_set_eviction(kvmq_db_t *db, kvmq_evict_e policy)
{
    db->eviction = policy;
}


kvmq_slice_t
kvmq_entry_key(const kvmq_entry_t *e)
{
    kvmq_slice_t  s;

    s.data = e->key;
    s.len = e->klen;

    return s;
}


int
kvmq_entry_expired(kvmq_ctx_t *c, const kvmq_entry_t *e)
{
    return e->expire != 0 && c->now_ms > e->expire;
}


static uint32_t
kvmq_lru_clock(kvmq_ctx_t *c)
{
    return (uint32_t) (c->now_ms / 1000);
}


static uint32_t
kvmq_lfu_minutes(kvmq_ctx_t *c)
{
    return (uint32_t) (c->now_ms / 60000);
}


/* the LFU counter after decay: one step per KVMQ_LFU_DECAY_MIN idle */
static unsigned
kvmq_lfu_decayed(kvmq_ctx_t *c, const kvmq_entry_t *e)
{
    uint32_t  now, periods;

    now = kvmq_lfu_minutes(c);
    periods = (now >= e->lru) ? (now - e->lru) / KVMQ_LFU_DECAY_MIN : 0;

    return (periods > e->lfu) ? 0 : e->lfu - periods;
}


static void
kvmq_entry_access(kvmq_ctx_t *c, kvmq_entry_t *e)
{
    unsigned  counter;
    double    r, p;

    if (c->db->eviction != KVMQ_EVICT_ALLKEYS_LFU) {
        e->lru = kvmq_lru_clock(c);
        return;
    }

    counter = kvmq_lfu_decayed(c, e);

    if (counter < 255) {
        r = (double) (kvmq_random(c->db) >> 11) / 9007199254740992.0;
        p = 1.0 / ((counter > KVMQ_LFU_INIT ? counter - KVMQ_LFU_INIT : 0)
                   * KVMQ_LFU_LOG_FACTOR + 1);
        if (r < p) {
            counter++;
        }
    }

    e->lfu = (uint8_t) counter;
    e->lru = kvmq_lfu_minutes(c);
}


static kvmq_entry_t *
kvmq_lookup(kvmq_ctx_t *c, const kvmq_slice_t *key)
{
    kvmq_entry_t  *e;

    e = kvmq_entry_of(kvmq_htable_find(c, &c->db->keys, &kvmq_key_type,
                                       key->data, key->len,
                                       kvmq_key_hash(c->db, key->data,
                                                     key->len)));

    if (e != NULL && kvmq_entry_expired(c, e)) {
        kvmq_db_delete(c, e);
        c->db->expired++;
        return NULL;
    }

    return e;
}


kvmq_entry_t *
kvmq_lookup_read(kvmq_ctx_t *c, const kvmq_slice_t *key)
{
    kvmq_entry_t  *e;

    e = kvmq_lookup(c, key);

    if (e == NULL) {
        c->db->misses++;
        return NULL;
    }

    c->db->hits++;
    kvmq_entry_access(c, e);

    return e;
}


kvmq_entry_t *
kvmq_lookup_write(kvmq_ctx_t *c, const kvmq_slice_t *key)
{
    kvmq_entry_t  *e;

    e = kvmq_lookup(c, key);

    if (e != NULL) {
        kvmq_entry_access(c, e);
    }

    return e;
}


static kvmq_entry_t *
kvmq_entry_new(kvmq_ctx_t *c, const kvmq_slice_t *key)
{
    kvmq_entry_t  *e;

    /* the key starts right after the last field, not at the padded
     * sizeof: a byte or more off every entry, and a size class for some */
    e = kvmq_zalloc(c, offsetof(kvmq_entry_t, key) + key->len);
    if (e == NULL) {
        return NULL;
    }

    memset(e, 0, offsetof(kvmq_entry_t, key));
    memcpy(e->key, key->data, key->len);

    e->klen = (uint32_t) key->len;

    if (c->db->eviction == KVMQ_EVICT_ALLKEYS_LFU) {
        e->lfu = KVMQ_LFU_INIT;
        e->lru = kvmq_lfu_minutes(c);

    } else {
        e->lru = kvmq_lru_clock(c);
    }

    return e;
}


kvmq_entry_t *
kvmq_db_add(kvmq_ctx_t *c, const kvmq_slice_t *key, kvmq_type_e type,
    void *val)
{
    uint64_t       hash;
    kvmq_entry_t  *e;

    if (kvmq_htable_ready(c, &c->db->keys) != 0) {
        return NULL;
    }

    e = kvmq_entry_new(c, key);
    if (e == NULL) {
        return NULL;
    }

    e->type = (uint8_t) type;
    e->val = val;
    e->cas = ++c->db->cas_seq;

    /* nothing allocates between reserve and link (htable.h) */
    hash = kvmq_key_hash(c->db, key->data, key->len);
    (void) kvmq_htable_reserve(c, &c->db->keys, &kvmq_key_type, hash);
    kvmq_htable_link(&c->db->keys, &e->node, hash);

    return e;
}


void
kvmq_db_replace(kvmq_ctx_t *c, kvmq_entry_t *e, kvmq_type_e type, void *val)
{
    kvmq_value_free(c, (kvmq_type_e) e->type, e->val);

    e->type = (uint8_t) type;
    e->encoding = 0;
    e->val = val;
}


static void
kvmq_db_unlink(kvmq_ctx_t *c, kvmq_entry_t *e)
{
    kvmq_htable_unlink(c, &c->db->keys, &e->node,
                       kvmq_key_hash(c->db, e->key, e->klen));
}


void
kvmq_db_delete(kvmq_ctx_t *c, kvmq_entry_t *e)
{
    kvmq_db_unlink(c, e);

    if (e->expire != 0) {
        c->db->volatile_keys--;
    }

    kvmq_value_free(c, (kvmq_type_e) e->type, e->val);
    kvmq_zfree(c, e);
}


kvmq_entry_t *
kvmq_db_rename(kvmq_ctx_t *c, kvmq_entry_t *e, const kvmq_slice_t *newkey)
{
    uint64_t       hash;
    kvmq_entry_t  *n;

    hash = kvmq_key_hash(c->db, newkey->data, newkey->len);
    n = kvmq_entry_of(kvmq_htable_find(c, &c->db->keys, &kvmq_key_type,
                                       newkey->data, newkey->len, hash));

    if (n != NULL) {
        kvmq_value_free(c, (kvmq_type_e) n->type, n->val);

        if (n->expire != 0) {
            c->db->volatile_keys--;
        }

        n->val = e->val;
        n->type = e->type;
        n->encoding = e->encoding;
        n->expire = e->expire;
        n->cas = ++c->db->cas_seq;

        /* e's share of volatile_keys passes to n */
        kvmq_db_unlink(c, e);
        kvmq_zfree(c, e);

        return n;
    }

    if (kvmq_htable_ready(c, &c->db->keys) != 0) {
        return NULL;
    }

    n = kvmq_entry_new(c, newkey);
    if (n == NULL) {
        return NULL;
    }

    n->val = e->val;
    n->type = e->type;
    n->encoding = e->encoding;
    n->expire = e->expire;
    n->lru = e->lru;
    n->lfu = e->lfu;
    n->cas = ++c->db->cas_seq;

    kvmq_db_unlink(c, e);
    kvmq_zfree(c, e);

    (void) kvmq_htable_reserve(c, &c->db->keys, &kvmq_key_type, hash);
    kvmq_htable_link(&c->db->keys, &n->node, hash);

    return n;
}


void
kvmq_db_set_expire(kvmq_ctx_t *c, kvmq_entry_t *e, int64_t when_ms)
{
    if (e->expire == 0 && when_ms != 0) {
        c->db->volatile_keys++;

    } else if (e->expire != 0 && when_ms == 0) {
        c->db->volatile_keys--;
    }

    e->expire = when_ms;
}


void
kvmq_db_touch_write(kvmq_ctx_t *c, kvmq_entry_t *e)
{
    e->cas = ++c->db->cas_seq;
}


int64_t
kvmq_db_pttl(kvmq_ctx_t *c, kvmq_entry_t *e)
{
    int64_t  ttl;

    if (e->expire == 0) {
        return -1;
    }

    ttl = e->expire - c->now_ms;

    return ttl < 0 ? 0 : ttl;
}


uint64_t
kvmq_db_size(kvmq_db_t *db)
{
    return kvmq_htable_size(&db->keys);
}


static void
kvmq_flush_entry(kvmq_ctx_t *c, kvmq_hnode_t *n)
{
    kvmq_entry_t  *e;

    e = kvmq_entry_of(n);

    kvmq_value_free(c, (kvmq_type_e) e->type, e->val);
    kvmq_zfree(c, e);
}


void
kvmq_db_flush(kvmq_ctx_t *c)
{
    kvmq_htable_clear(c, &c->db->keys, kvmq_flush_entry);

    c->db->volatile_keys = 0;
    c->db->sweep_cursor = 0;
}


kvmq_entry_t *
kvmq_db_random(kvmq_ctx_t *c)
{
    unsigned       tries;
    kvmq_entry_t  *e;

    for (tries = 0; tries < 100; tries++) {
        e = kvmq_entry_of(kvmq_htable_random(&c->db->keys,
                                             kvmq_random(c->db)));
        if (e == NULL) {
            return NULL;
        }

        if (!kvmq_entry_expired(c, e)) {
            return e;
        }

        kvmq_db_delete(c, e);
        c->db->expired++;
    }

    return NULL;
}


typedef struct {
    kvmq_ctx_t   *c;
    void        (*fn)(void *arg, kvmq_entry_t *e);
    void         *arg;
    unsigned      n;
} kvmq_scan_ctx_t;


static void
kvmq_scan_live(void *arg, kvmq_hnode_t *n)
{
    kvmq_entry_t     *e;
    kvmq_scan_ctx_t  *sc;

    sc = arg;
    e = kvmq_entry_of(n);
    sc->n++;

    if (!kvmq_entry_expired(sc->c, e)) {
        sc->fn(sc->arg, e);
    }
}


uint64_t
kvmq_db_scan(kvmq_ctx_t *c, uint64_t cursor, unsigned count,
    void (*fn)(void *arg, kvmq_entry_t *e), void *arg)
{
    unsigned         iterations;
    kvmq_scan_ctx_t  sc;

    sc.c = c;
    sc.fn = fn;
    sc.arg = arg;
    sc.n = 0;

    if (count == 0) {
        count = 10;
    }

    iterations = count * 10;

    do {
        cursor = kvmq_htable_scan(&c->db->keys, cursor, kvmq_scan_live,
                                  &sc);
    } while (cursor != 0 && sc.n < count && --iterations);

    return cursor;
}


/* ---- memory and eviction ----------------------------------------------- */


static int
kvmq_evictable(kvmq_ctx_t *c, const kvmq_entry_t *e)
{
    kvmq_slice_t  key;

    if (c->db->eviction == KVMQ_EVICT_VOLATILE_LRU && e->expire == 0) {
        return 0;
    }

    key = kvmq_entry_key(e);

    return !kvmq_cmd_is_key(c, &key);
}


/* lower is a better victim */
static uint64_t
kvmq_evict_score(kvmq_ctx_t *c, const kvmq_entry_t *e)
{
    uint32_t  now;

    if (c->db->eviction == KVMQ_EVICT_ALLKEYS_LFU) {
        return kvmq_lfu_decayed(c, e);
    }

    now = kvmq_lru_clock(c);

    return (uint64_t) UINT32_MAX - (now >= e->lru ? now - e->lru : 0);
}


static int
kvmq_evict_one(kvmq_ctx_t *c)
{
    unsigned       picks, samples;
    uint64_t       score, best_score;
    kvmq_entry_t  *e, *best;

    best = NULL;
    best_score = UINT64_MAX;
    samples = 0;

    /* a few random keys, the best victim of those that may go; more
     * picks than samples, for volatile-lru among keys without a TTL */
    for (picks = 0;
         picks < KVMQ_EVICT_PICKS && samples < KVMQ_EVICT_SAMPLES;
         picks++)
    {
        e = kvmq_entry_of(kvmq_htable_random(&c->db->keys,
                                             kvmq_random(c->db)));
        if (e == NULL) {
            break;
        }

        if (!kvmq_evictable(c, e)) {
            continue;
        }

        samples++;

        if (kvmq_entry_expired(c, e)) {
            /* an expired key is the best victim of all */
            best = e;
            break;
        }

        score = kvmq_evict_score(c, e);
        if (score < best_score) {
            best = e;
            best_score = score;
        }
    }

    if (best == NULL) {
        return 0;
    }

    if (best->expire != 0 && kvmq_entry_expired(c, best)) {
        c->db->expired++;

    } else {
        c->db->evicted++;
    }

    kvmq_db_delete(c, best);

    return 1;
}


/*
 * Values being freed lazily give their memory back first (a bounded
 * amount per allocation, see lazyfree.c); then, if the policy allows,
 * keys are evicted.  An evicted big value joins the lazy queue too, and
 * the next round frees from it.
 */
void *
kvmq_zalloc(kvmq_ctx_t *c, size_t size)
{
    unsigned   n, rounds;
    void      *p;

    rounds = 0;

    for (n = 0; /* void */ ; /* void */ ) {
        p = c->alloc->alloc(c->alloc->ctx, size);
        if (p != NULL) {
            return p;
        }

        if (kvmq_lazyfree_reclaim(c, &rounds)) {
            continue;
        }

        if (c->db->eviction == KVMQ_EVICT_NOEVICTION
            || n++ >= KVMQ_EVICT_MAX
            || !kvmq_evict_one(c))
        {
            return NULL;
        }
    }
}


void
kvmq_zfree(kvmq_ctx_t *c, void *p)
{
    if (p != NULL) {
        c->alloc->free(c->alloc->ctx, p);
    }
}


/* ---- cron -------------------------------------------------------------- */


typedef struct {
    kvmq_ctx_t     *c;
    kvmq_entry_t   *expired[KVMQ_CRON_BATCH];
    unsigned        n;
    unsigned        seen;
} kvmq_sweep_t;


static void
kvmq_sweep_entry(void *arg, kvmq_hnode_t *n)
{
    kvmq_entry_t  *e;
    kvmq_sweep_t  *sw;

    sw = arg;
    e = kvmq_entry_of(n);
    sw->seen++;

    if (sw->n < KVMQ_CRON_BATCH && kvmq_entry_expired(sw->c, e)) {
        sw->expired[sw->n++] = e;
    }
}


static int64_t
kvmq_monotonic_us(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);

    return (int64_t) ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}


unsigned
kvmq_db_cron(kvmq_ctx_t *c, unsigned max_keys, int64_t budget_us)
{
    unsigned       i, total, seen;
    int64_t        deadline;
    kvmq_db_t     *db;
    kvmq_sweep_t   sw;

    db = c->db;
    deadline = kvmq_monotonic_us() + budget_us;
    total = 0;
    seen = 0;

    kvmq_lazyfree_cron(c, budget_us);
    kvmq_pubsub_cron(c, KVMQ_CRON_BATCH);
    kvmq_mq_cron(c, KVMQ_CRON_BATCH);

    /* the keyspace table shrinks on deletes; the cron moves a rehash on
     * when no traffic does */
    kvmq_htable_cron(c, &db->keys, &kvmq_key_type, 100);

    if (db->volatile_keys == 0) {
        db->sweep_cursor = 0;
        return 0;
    }

    sw.c = c;

    while (seen < max_keys) {
        sw.n = 0;
        sw.seen = 0;

        /* a chain with more expired entries than a batch keeps the rest
         * until the walk comes round again; lookups still hide them */
        db->sweep_cursor = kvmq_htable_scan(&db->keys, db->sweep_cursor,
                                          kvmq_sweep_entry, &sw);

        for (i = 0; i < sw.n; i++) {
            kvmq_db_delete(c, sw.expired[i]);
        }

        db->expired += sw.n;
        total += sw.n;
        seen += sw.seen + 1;

        if (db->sweep_cursor == 0 || db->volatile_keys == 0) {
            break;
        }

        if (kvmq_monotonic_us() > deadline) {
            break;
        }
    }

    return total;
}


/* ---- statistics -------------------------------------------------------- */


void
kvmq_db_count_command(kvmq_db_t *db, unsigned id)
{
    db->commands++;

    if (id < KVMQ_MAX_COMMANDS) {
        db->cmd_calls[id]++;
    }
}


void
kvmq_db_signal_ready(kvmq_ctx_t *c, kvmq_entry_t *e)
{
    c->db->ready_seq++;
    c->db->ready_hash = (uint32_t) kvmq_key_hash(c->db, e->key, e->klen);

    kvmq_block_signal(c, e);
}


uint64_t
kvmq_db_ready_seq(kvmq_db_t *db)
{
    return db->ready_seq;
}


uint64_t
kvmq_db_lazyfree_pending(kvmq_db_t *db)
{
    return db->lazy.blocks;
}


void
kvmq_db_stats(kvmq_db_t *db, kvmq_stats_t *st)
{
    st->keys = kvmq_htable_size(&db->keys);
    st->volatile_keys = db->volatile_keys;
    st->expired = db->expired;
    st->evicted = db->evicted;
    st->hits = db->hits;
    st->misses = db->misses;
    st->commands = db->commands;
    st->buckets = db->keys.t[0].size + db->keys.t[1].size;
    st->rehashing = db->keys.rehashidx >= 0;
}


void
kvmq_db_command_stats(kvmq_db_t *db,
    void (*fn)(void *arg, const char *name, uint64_t calls), void *arg)
{
    unsigned           i, n;
    const kvmq_cmd_t  *cmd;

    n = kvmq_cmd_count();

    for (i = 0; i < n && i < KVMQ_MAX_COMMANDS; i++) {
        cmd = kvmq_cmd_at(i);

        if (db->cmd_calls[i] != 0) {
            fn(arg, kvmq_cmd_name(cmd), db->cmd_calls[i]);
        }
    }
}
