/*
 * Unit tests of the lazy free (src/lazyfree.c) and the memory the big
 * encodings take:
 *
 *   - DEL of a 1,000,000-member sorted set and of a 1,000,000-item list
 *     returns at once; kvmq_db_cron() then frees them in bounded steps
 *     (the longest step is printed) and the bytes in use come back to
 *     where they were;
 *   - FLUSHALL, an overwrite and a *STORE over big values go the same
 *     way; small values are freed at once;
 *   - a full zone reclaims pending frees before failing or evicting;
 *   - bytes per element of both, exact (what was asked of the
 *     allocator) and rounded as ngx_slab rounds (powers of two from 8 to
 *     2048 bytes, whole 4 KB pages above).
 */

#include <time.h>

#include "agg_util.h"
#include "../../src/quicklist.h"
#include "../../src/zset.h"


#define T0        1700000000000LL

/*
 * redis-server 7.0.15: used_memory growth per element for the same data
 * (1,000,000 16-byte items RPUSHed, 1,000,000 16-byte members ZADDed
 * with integer scores, through redis-cli --pipe in batches of 1000)
 */
#define REDIS_LIST_BIG   18.20     /* quicklist of 8 KB listpack nodes */
#define REDIS_ZSET_BIG   125.72    /* skiplist + dict */
#define BIG       1000000
#define BATCH     1000


static int64_t
now_us(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);

    return (int64_t) ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}


static void *
val_of(const char *key)
{
    kvmq_entry_t  *e;

    e = entry(key);

    return e ? e->val : NULL;
}


static size_t
entry_rounded(const char *key)
{
    return kvmq_slab_round(sizeof(kvmq_entry_t) + strlen(key));
}


/* the zone bytes of a skiplist set as ngx_slab would round them */
static size_t
zset_rounded(kvmq_zset_t *z)
{
    size_t            bytes;
    kvmq_slice_t      m;
    kvmq_zsl_node_t  *x;

    bytes = kvmq_slab_round(sizeof(kvmq_zset_t))
            + kvmq_slab_round((size_t) (kvmq_zsl_member(z->head).data
                                        - (const unsigned char *) z->head))
            + kvmq_htable_bytes(&z->ht);

    for (x = z->head->forward[0]; x != NULL; x = x->forward[0]) {
        m = kvmq_zsl_member(x);
        bytes += kvmq_slab_round((size_t) (m.data - (unsigned char *) x)
                                 + m.len);
    }

    return bytes;
}


/* the same for a list: every block is already a slab size */
static size_t
list_rounded(kvmq_list_t *l)
{
    return kvmq_slab_round(sizeof(kvmq_list_t))
           + kvmq_list_bytes(l) - sizeof(kvmq_list_t);
}


/* ZADD key i member%09d! for i in [from, to): 16-byte members */
static void
fill_zset(const char *key, int from, int to)
{
    int            i, n, argc;
    char          *buf, *p;
    kvmq_slice_t  *argv;

    buf = malloc(BATCH * 48);
    argv = malloc((2 + 2 * BATCH) * sizeof(kvmq_slice_t));

    for (i = from; i < to; i += n) {
        n = (to - i < BATCH) ? to - i : BATCH;
        argv[0].data = (const unsigned char *) "ZADD";
        argv[0].len = 4;
        argv[1].data = (const unsigned char *) key;
        argv[1].len = strlen(key);
        argc = 2;
        p = buf;

        for (int j = 0; j < n; j++) {
            argv[argc].data = (const unsigned char *) p;
            argv[argc].len = (size_t) sprintf(p, "%d", i + j);
            p += argv[argc++].len + 1;

            argv[argc].data = (const unsigned char *) p;
            argv[argc].len = (size_t) sprintf(p, "member%09d!", i + j);
            p += argv[argc++].len + 1;
        }

        th_runv(h, argc, argv);
    }

    free(argv);
    free(buf);
}


/* RPUSH key item%011d! for i in [from, to): 16-byte items */
static void
fill_list(const char *key, int from, int to)
{
    int            i, n, argc;
    char          *buf, *p;
    kvmq_slice_t  *argv;

    buf = malloc(BATCH * 24);
    argv = malloc((2 + BATCH) * sizeof(kvmq_slice_t));

    for (i = from; i < to; i += n) {
        n = (to - i < BATCH) ? to - i : BATCH;
        argv[0].data = (const unsigned char *) "RPUSH";
        argv[0].len = 5;
        argv[1].data = (const unsigned char *) key;
        argv[1].len = strlen(key);
        argc = 2;
        p = buf;

        for (int j = 0; j < n; j++) {
            argv[argc].data = (const unsigned char *) p;
            argv[argc].len = (size_t) sprintf(p, "item%011d!", i + j);
            p += argv[argc++].len + 1;
        }

        th_runv(h, argc, argv);
    }

    free(argv);
    free(buf);
}


/*
 * Run the cron until nothing is pending; returns the number of steps
 * and the longest one (us).
 */
static int
cron_until_freed(int64_t budget_us, int64_t *max_us, size_t *max_blocks)
{
    int       steps;
    int64_t   t, d;
    uint64_t  before, after;

    steps = 0;
    *max_us = 0;
    *max_blocks = 0;

    while (kvmq_db_lazyfree_pending(h->db) != 0 && steps < 1000000) {
        before = h->allocs;
        t = now_us();
        (void) kvmq_db_cron(&h->ctx, 100, budget_us);
        d = now_us() - t;
        after = h->allocs;

        *max_us = (d > *max_us) ? d : *max_us;
        *max_blocks = (before - after > *max_blocks) ? before - after
                                                     : *max_blocks;
        steps++;
    }

    return steps;
}


static void
test_small(void)
{
    size_t  used;

    used = h->used;

    is("RPUSH l a b c", ":3");
    is("ZADD z 1 a 2 b", ":2");
    is("ZADD zs 1 a 2 b 3 "
       "a-member-longer-than-sixty-four-bytes-makes-the-set-a-skiplist-xx",
       ":3");
    is("DEL l z zs", ":3");

    tap_ok(kvmq_db_lazyfree_pending(h->db) == 0,
           "small values are freed at once");
    tap_is_int((long long) h->used, (long long) used, "  ... all of them");
}


static void
test_big_zset(void)
{
    int            steps;
    size_t         base, used, rounded, max_blocks;
    int64_t        t, del_us, max_us;
    kvmq_zset_t   *z;

    base = h->used;

    t = now_us();
    fill_zset("bigz", 0, BIG);
    t = now_us() - t;

    is("ZCARD bigz", ":1000000");
    z = val_of("bigz");
    tap_ok(z != NULL && kvmq_zset_enc(z) == KVMQ_ZSET_SKIPLIST,
           "1,000,000 members of 16 bytes: a skiplist (built in %lld ms)",
           (long long) (t / 1000));

    used = h->used - base;
    rounded = zset_rounded(z) + entry_rounded("bigz");

    tap_diag("zset, 1M 16-byte members: kvmq %.2f bytes/member exact, "
             "%.2f slab-rounded; redis %.2f", (double) used / BIG,
             (double) rounded / BIG, REDIS_ZSET_BIG);
    tap_ok((double) rounded / BIG <= REDIS_ZSET_BIG,
           "  ... no more than redis-server (slab-rounded)");

    is("ZRANK bigz member000500000!", ":500000");
    is("ZRANGEBYSCORE bigz 999998 +inf", "[\"member000999998!\","
       "\"member000999999!\"]");

    t = now_us();
    is("DEL bigz", ":1");
    del_us = now_us() - t;

    tap_ok(del_us < 50000, "DEL of it took %lld us", (long long) del_us);
    tap_ok(kvmq_db_lazyfree_pending(h->db) > BIG,
           "  ... its blocks are pending: %llu",
           (unsigned long long) kvmq_db_lazyfree_pending(h->db));
    tap_ok(h->used - base > used - 1024, "  ... and still count as used");
    is("EXISTS bigz", ":0");

    steps = cron_until_freed(1000, &max_us, &max_blocks);

    tap_diag("lazy free of the zset: %d cron steps of 1 ms budget, "
             "longest %lld us, at most %zu blocks per step", steps,
             (long long) max_us, max_blocks);
    tap_ok(steps > 10 && max_us < 50000,
           "the cron freed it in %d bounded steps (longest %lld us)", steps,
           (long long) max_us);
    tap_is_int((long long) h->used, (long long) base,
               "  ... the bytes in use are back where they were");
}


static void
test_big_list(void)
{
    int            steps;
    size_t         base, used, rounded, max_blocks;
    int64_t        t, del_us, max_us;
    kvmq_list_t   *l;

    base = h->used;

    fill_list("bigl", 0, BIG);
    is("LLEN bigl", ":1000000");

    l = val_of("bigl");
    used = h->used - base;
    rounded = list_rounded(l) + entry_rounded("bigl");

    tap_diag("list, 1M 16-byte items: kvmq %.2f bytes/item exact, %.2f "
             "slab-rounded (%llu nodes); redis %.2f", (double) used / BIG,
             (double) rounded / BIG, (unsigned long long) l->nodes,
             REDIS_LIST_BIG);
    tap_ok((double) rounded / BIG <= REDIS_LIST_BIG,
           "  ... no more than redis-server (slab-rounded)");

    is("LINDEX bigl 777777", "\"item00000777777!\"");

    t = now_us();
    is("DEL bigl", ":1");
    del_us = now_us() - t;

    tap_ok(del_us < 50000, "DEL of a 1,000,000-item list took %lld us",
           (long long) del_us);

    steps = cron_until_freed(1000, &max_us, &max_blocks);

    tap_diag("lazy free of the list: %d cron steps, longest %lld us",
             steps, (long long) max_us);
    tap_is_int((long long) h->used, (long long) base,
               "  ... freed by the cron, bytes back where they were");
}


static void
test_flush_overwrite(void)
{
    int      steps;
    size_t   base, max_blocks;
    int64_t  max_us;

    base = h->used;

    fill_zset("z1", 0, 100000);
    fill_list("l1", 0, 100000);
    is("SET s v", "+OK");

    is("FLUSHALL", "+OK");
    is("DBSIZE", ":0");
    tap_ok(kvmq_db_lazyfree_pending(h->db) > 100000,
           "FLUSHALL hands the big values to the lazy free");

    steps = cron_until_freed(1000, &max_us, &max_blocks);
    tap_is_int((long long) h->used, (long long) base,
               "  ... the cron frees them");
    tap_diag("  (%d steps, longest %lld us)", steps, (long long) max_us);

    /* an overwrite of any kind */
    fill_zset("z1", 0, 50000);
    fill_list("l1", 0, 50000);
    fill_zset("z2", 0, 50000);
    is("SET z1 string", "+OK");
    is("ZADD small 1 a", ":1");
    is("ZUNIONSTORE l1 1 small", ":1");
    is("RENAME small z2", "+OK");
    tap_ok(kvmq_db_lazyfree_pending(h->db) > 100000,
           "SET, ZUNIONSTORE and RENAME over big values free them lazily");
    is("TYPE z1", "+string");
    is("ZRANGE l1 0 -1", "[\"a\"]");
    is("ZCARD z2", ":1");

    (void) cron_until_freed(1000, &max_us, &max_blocks);
    is("DEL z1 l1 z2", ":3");
    drain();
    tap_is_int((long long) h->used, (long long) base,
               "  ... all freed in the end");
}


static void
test_reclaim(void)
{
    int     i, ok;
    char    line[128];
    size_t  base;
    th_t   *saved;

    saved = h;

    /* a zone just big enough for the set and a little more */
    h = th_new(0, KVMQ_EVICT_NOEVICTION);
    th_set_time(h, T0);

    fill_zset("z", 0, 100000);
    base = h->used;
    h->limit = base + 4096;

    is("DEL z", ":1");
    tap_ok(kvmq_db_lazyfree_pending(h->db) > 0, "a full zone: DEL pending");

    /* writes that need the pending memory get it, without the cron */
    for (ok = 1, i = 0; i < 20000 && ok; i++) {
        snprintf(line, sizeof(line), "SET key%d 0123456789012345678901234", i);
        ok = strcmp(th_run(h, line), "+OK") == 0;
    }

    tap_ok(ok, "20000 SETs succeed by reclaiming the pending frees");
    tap_ok(kvmq_db_lazyfree_pending(h->db) > 0,
           "  ... and only as much as they needed");

    th_free(h);

    /* eviction: a big victim is queued, the next allocations reclaim it */
    h = th_new(0, KVMQ_EVICT_ALLKEYS_LRU);
    th_set_time(h, T0);

    fill_zset("victim", 0, 100000);
    h->limit = h->used + 4096;

    for (ok = 1, i = 0; i < 20000 && ok; i++) {
        snprintf(line, sizeof(line), "SET key%d 0123456789012345678901234", i);
        ok = strcmp(th_run(h, line), "+OK") == 0;
    }

    tap_ok(ok, "allkeys-lru: the big key is evicted and its memory reused");
    is("EXISTS victim", ":0");
    is("EXISTS key19999", ":1");

    /* a db destroyed with frees pending frees them (ASan: no leak) */
    fill_list("pending", 0, 20000);
    h->limit = 0;
    is("DEL pending", ":1");
    tap_ok(kvmq_db_lazyfree_pending(h->db) > 0, "destroy with frees pending");

    th_free(h);
    h = saved;
}


int
main(void)
{
    h = th_new(0, KVMQ_EVICT_NOEVICTION);
    th_set_time(h, T0);

    test_small();
    test_big_zset();
    test_big_list();
    test_flush_overwrite();
    test_reclaim();

    th_free(h);

    return tap_done();
}
