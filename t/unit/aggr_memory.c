/*
 * Memory of hashes and sets: bytes per element for N fields of 16 bytes
 * with 8-byte values in one hash, and N 16-byte members in one set (the
 * table encoding), and the same numbers spread over N/100 keys of 100
 * (the packed encoding); each against what redis-server 7.0.15's
 * used_memory grew by for the same data (measured with redis-cli --pipe,
 * the constants below).
 *
 * Two figures per case: the exact bytes the engine asked for (the test
 * host's count) and the bytes ngx_slab would hand out for the same
 * requests (each rounded up to its size class: a power of two from 8 to
 * 2048, whole 4 KB pages above), which is what a zone really spends.
 * The slab figure must not exceed Redis'.
 *
 * Issue 3 asks for the one-key cases; the many-keys cases are reported
 * for the picture.  A packed hash of 100 such fields is 2.6 KB, which
 * ngx_slab serves as a whole 4 KB page (jemalloc has a 3 KB class), so
 * there kvmq spends more than Redis; at 10 fields, or at 128, it does
 * not.
 *
 * N is 200000 by default (a quick unit run); KVMQ_MEM_N=1000000 gives
 * the figures of issue 3.
 */

#include <stdio.h>
#include <stdlib.h>

#include "host.h"
#include "../../src/db.h"
#include "../../src/listpack.h"


/* redis-server 7.0.15, used_memory growth per element, 1,000,000 */
#define REDIS_HASH_BIG     88.44     /* one hash, hashtable encoding */
#define REDIS_SET_BIG      72.39     /* one set, hashtable encoding */
#define REDIS_HASH_100     31.49     /* 10,000 hashes of 100, listpack */
#define REDIS_SET_100      80.67     /* 10,000 sets of 100, hashtable */
#define REDIS_HASH_10      39.44     /* 100,000 hashes of 10, listpack */
#define REDIS_SET_10       97.04     /* 100,000 sets of 10, hashtable */

static th_t          *h;
static size_t         slab;         /* slab-rounded bytes in use */
static void        *(*orig_alloc)(void *ctx, size_t size);
static void         (*orig_free)(void *ctx, void *p);


/* the size of every block, by address (linear probing) */
typedef struct {
    void                *p;
    size_t               size;
} blk_t;

static blk_t         *tab;
static size_t         mask;


static size_t
slot_of(const void *p)
{
    uint64_t  x;

    x = (uint64_t) (uintptr_t) p;
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;

    return (size_t) x & mask;
}


static void *
wrap_alloc(void *ctx, size_t size)
{
    size_t   i;
    void    *p;

    p = orig_alloc(ctx, size);
    if (p == NULL) {
        return NULL;
    }

    for (i = slot_of(p); tab[i].p != NULL; i = (i + 1) & mask) {
        /* void */
    }

    tab[i].p = p;
    tab[i].size = size;
    slab += kvmq_slab_round(size);

    return p;
}


static void
wrap_free(void *ctx, void *p)
{
    size_t  i, j, k;

    for (i = slot_of(p); tab[i].p != NULL && tab[i].p != p;
         i = (i + 1) & mask)
    {
        /* void */
    }

    if (tab[i].p == p) {
        slab -= kvmq_slab_round(tab[i].size);

        /* backward-shift deletion keeps every probe run unbroken */
        for (j = i; ; ) {
            j = (j + 1) & mask;

            if (tab[j].p == NULL) {
                break;
            }

            k = slot_of(tab[j].p);

            if ((j > i && (k <= i || k > j)) || (j < i && k <= i && k > j)) {
                tab[i] = tab[j];
                i = j;
            }
        }

        tab[i].p = NULL;
    }

    orig_free(ctx, p);
}


static size_t
exact(void)
{
    return h->used;
}


static void
flush(void)
{
    th_run(h, "FLUSHALL");
    kvmq_lazyfree_drain(&h->ctx);
}


static void
run3(const char *cmd, const char *key, const char *a, const char *b)
{
    int           argc;
    kvmq_slice_t  argv[4];

    argv[0].data = (const unsigned char *) cmd;
    argv[0].len = strlen(cmd);
    argv[1].data = (const unsigned char *) key;
    argv[1].len = strlen(key);
    argv[2].data = (const unsigned char *) a;
    argv[2].len = strlen(a);
    argc = 3;

    if (b != NULL) {
        argv[3].data = (const unsigned char *) b;
        argv[3].len = strlen(b);
        argc = 4;
    }

    th_runv(h, argc, argv);
}


static void
report(const char *what, long n, size_t e0, size_t s0, double redis,
    int must)
{
    double  ex, sl;

    ex = (double) (exact() - e0) / (double) n;
    sl = (double) (slab - s0) / (double) n;

    tap_diag("%-36s kvmq %6.2f exact, %6.2f slab-rounded; redis %6.2f "
             "bytes per element", what, ex, sl, redis);
    if (must) {
        tap_ok(sl <= redis, "%s: %.2f <= %.2f bytes per element", what, sl,
               redis);
    }
}


/* n elements in hashes and in sets of per elements each */
static void
small(long n, long per, double redis_hash, double redis_set)
{
    long    i;
    char    key[32], f[32], v[32], what[64];
    size_t  e0, s0;

    e0 = exact();
    s0 = slab;

    for (i = 0; i < n; i++) {
        snprintf(key, sizeof(key), "h:%06ld", i / per);
        snprintf(f, sizeof(f), "field:%010ld", i);
        snprintf(v, sizeof(v), "v%07ld", i);
        run3("HSET", key, f, v);
    }

    snprintf(what, sizeof(what), "hashes of %ld (with their keys)", per);
    report(what, n, e0, s0, redis_hash, 0);
    flush();

    e0 = exact();
    s0 = slab;

    for (i = 0; i < n; i++) {
        snprintf(key, sizeof(key), "s:%06ld", i / per);
        snprintf(f, sizeof(f), "member:%09ld", i);
        run3("SADD", key, f, NULL);
    }

    snprintf(what, sizeof(what), "sets of %ld (with their keys)", per);
    report(what, n, e0, s0, redis_set, 1);
    flush();
}


int
main(void)
{
    long         i, n;
    char         f[32], v[32];
    size_t       e0, s0;
    const char  *env;

    env = getenv("KVMQ_MEM_N");
    n = env ? atol(env) : 200000;

    for (mask = 1024; mask < (size_t) n * 4; mask <<= 1) { /* void */ }
    tab = calloc(mask, sizeof(blk_t));
    mask--;

    h = th_new(0, KVMQ_EVICT_NOEVICTION);
    orig_alloc = h->alloc.alloc;
    orig_free = h->alloc.free;
    h->alloc.alloc = wrap_alloc;
    h->alloc.free = wrap_free;

    /* one big hash */
    e0 = exact();
    s0 = slab;

    for (i = 0; i < n; i++) {
        snprintf(f, sizeof(f), "field:%010ld", i);
        snprintf(v, sizeof(v), "v%07ld", i);
        run3("HSET", "h", f, v);
    }

    th_run(h, "HLEN h");
    snprintf(v, sizeof(v), ":%ld", n);
    tap_is_str(h->out, v, "one hash of N fields");
    report("hash, 16-byte fields, 8-byte values", n, e0, s0,
           REDIS_HASH_BIG, 1);
    flush();

    /* one big set */
    e0 = exact();
    s0 = slab;

    for (i = 0; i < n; i++) {
        snprintf(f, sizeof(f), "member:%09ld", i);
        run3("SADD", "s", f, NULL);
    }

    th_run(h, "SCARD s");
    snprintf(v, sizeof(v), ":%ld", n);
    tap_is_str(h->out, v, "one set of N members");
    report("set, 16-byte members", n, e0, s0, REDIS_SET_BIG, 1);
    flush();

    /* many small keys: the packed encoding */
    small(n, 100, REDIS_HASH_100, REDIS_SET_100);
    small(n, 10, REDIS_HASH_10, REDIS_SET_10);

    th_free(h);
    free(tab);

    return tap_done();
}
