/*
 * Unit tests of the keyspace core: table growth and shrink with
 * incremental rehash, the scan guarantee across resizes, lazy and active
 * expiry, eviction by policy, NOMEM without leaks, flush.
 *
 * Values are NULL lists here, so these tests need no type code.
 */

#include <stdio.h>
#include <stdlib.h>

#include "host.h"
#include "../../src/db.h"


#define N  100000


static kvmq_slice_t
key_of(char *buf, unsigned i)
{
    kvmq_slice_t  k;

    k.len = (size_t) sprintf(buf, "key:%u", i);
    k.data = (unsigned char *) buf;

    return k;
}


static kvmq_entry_t *
add(th_t *h, unsigned i)
{
    char          buf[32];
    kvmq_slice_t  k;

    k = key_of(buf, i);

    return kvmq_db_add(&h->ctx, &k, KVMQ_TYPE_LIST, NULL);
}


static kvmq_entry_t *
find(th_t *h, unsigned i)
{
    char          buf[32];
    kvmq_slice_t  k;

    k = key_of(buf, i);

    return kvmq_lookup_write(&h->ctx, &k);
}


static void
test_grow_shrink(void)
{
    th_t      *h;
    unsigned   i, missing, seen_rehash;

    h = th_new(0, KVMQ_EVICT_NOEVICTION);
    missing = 0;
    seen_rehash = 0;

    for (i = 0; i < N; i++) {
        if (add(h, i) == NULL) {
            missing++;
        }

        if (h->db->keys.rehashidx >= 0) {
            seen_rehash++;

            /* every key so far must be found mid-rehash */
            if (i % 997 == 0) {
                unsigned  j;

                for (j = 0; j <= i; j += 13) {
                    if (find(h, j) == NULL) {
                        missing++;
                    }
                }
            }
        }
    }

    tap_is_int(missing, 0, "100k keys added and found during rehash");
    tap_ok(seen_rehash > 0, "rehash happened incrementally");
    tap_is_int((long long) kvmq_db_size(h->db), N, "dbsize 100k");

    for (i = 0, missing = 0; i < N; i++) {
        if (find(h, i) == NULL) {
            missing++;
        }
    }

    tap_is_int(missing, 0, "all keys found after growth");
    tap_ok(h->db->keys.t[0].size >= N, "table grew to %llu buckets",
           (unsigned long long) h->db->keys.t[0].size);

    for (i = 0; i < N; i++) {
        if (i % 50 != 0) {
            kvmq_db_delete(&h->ctx, find(h, i));
        }
    }

    for (i = 0; i < 200; i++) {
        (void) kvmq_db_cron(&h->ctx, 1000, 100000);
    }

    tap_ok(h->db->keys.t[0].size < N / 4 && h->db->keys.rehashidx < 0,
           "table shrank to %llu buckets",
           (unsigned long long) h->db->keys.t[0].size);

    for (i = 0, missing = 0; i < N; i += 50) {
        if (find(h, i) == NULL) {
            missing++;
        }
    }

    tap_is_int(missing, 0, "remaining keys found after shrink");
    tap_is_int((long long) kvmq_db_size(h->db), N / 50, "dbsize after");

    kvmq_db_flush(&h->ctx);
    tap_is_int((long long) kvmq_db_size(h->db), 0, "flush empties");

    th_free(h);
}


typedef struct {
    unsigned char  *seen;
} seen_t;


static void
mark(void *arg, kvmq_entry_t *e)
{
    char      buf[32];
    unsigned  i;
    seen_t   *s = arg;

    /* the key is not NUL-terminated */
    if (e->klen >= sizeof(buf)) {
        return;
    }

    memcpy(buf, e->key, e->klen);
    buf[e->klen] = '\0';

    if (sscanf(buf, "key:%u", &i) == 1 && i < 2 * N) {
        s->seen[i] = 1;
    }
}


static void
test_scan_guarantee(void)
{
    th_t      *h;
    unsigned   i, step, missing, next;
    uint64_t   cursor;
    seen_t     s;

    h = th_new(0, KVMQ_EVICT_NOEVICTION);
    s.seen = calloc(2 * N, 1);

    /* keys 0..4999 stay for the whole scan */
    for (i = 0; i < 5000; i++) {
        (void) add(h, i);
    }

    cursor = 0;
    step = 0;
    next = 10000;

    do {
        cursor = kvmq_db_scan(&h->ctx, cursor, 10, mark, &s);
        step++;

        /* grow a lot mid-scan, then shrink it again */
        if (step < 100) {
            for (i = 0; i < 300; i++) {
                (void) add(h, next++);
            }

        } else if (step < 200) {
            for (i = 0; i < 300 && next > 10000; i++) {
                kvmq_db_delete(&h->ctx, find(h, --next));
            }

            (void) kvmq_db_cron(&h->ctx, 10, 1000);
        }

    } while (cursor != 0 && step < 1000000);

    for (i = 0, missing = 0; i < 5000; i++) {
        if (!s.seen[i]) {
            missing++;
        }
    }

    tap_is_int(missing, 0, "scan returned every key present throughout, "
               "across grow and shrink");

    free(s.seen);
    th_free(h);
}


static void
test_expiry(void)
{
    th_t          *h;
    unsigned       i, n;
    kvmq_entry_t  *e;
    int64_t        t0;

    h = th_new(0, KVMQ_EVICT_NOEVICTION);
    t0 = 1700000000000LL;
    th_set_time(h, t0);

    for (i = 0; i < 1000; i++) {
        e = add(h, i);
        if (i % 2 == 0) {
            kvmq_db_set_expire(&h->ctx, e, t0 + 100);
        }
    }

    tap_is_int((long long) h->db->volatile_keys, 500, "500 volatile");
    tap_is_int(kvmq_db_pttl(&h->ctx, find(h, 0)), 100, "pttl 100");
    tap_is_int(kvmq_db_pttl(&h->ctx, find(h, 1)), -1, "pttl -1");

    th_set_time(h, t0 + 100);
    tap_ok(find(h, 0) != NULL, "alive at its expire time (now > expire)");

    th_set_time(h, t0 + 101);
    tap_ok(find(h, 0) == NULL, "gone 1 ms later (lazy)");
    tap_is_int((long long) h->db->expired, 1, "expired counted");

    n = kvmq_db_cron(&h->ctx, 100, 1000000);
    tap_ok(n > 0 && n < 200, "cron bounded: expired %u of 499", n);

    for (i = 0; i < 100; i++) {
        (void) kvmq_db_cron(&h->ctx, 100, 1000000);
    }

    tap_is_int((long long) kvmq_db_size(h->db), 500, "cron swept all");
    tap_is_int((long long) h->db->volatile_keys, 0, "no volatile left");
    tap_is_int((long long) h->db->expired, 500, "500 expired");

    for (i = 0, n = 0; i < 200; i++) {
        e = kvmq_db_random(&h->ctx);
        if (e == NULL || kvmq_entry_expired(&h->ctx, e)) {
            n++;
        }
    }

    tap_is_int(n, 0, "random returns live keys");

    th_free(h);
}


static void
test_nomem(void)
{
    th_t      *h;
    unsigned   i;
    size_t     used;

    h = th_new(64 * 1024, KVMQ_EVICT_NOEVICTION);

    for (i = 0; i < 100000; i++) {
        if (add(h, i) == NULL) {
            break;
        }
    }

    tap_ok(i > 100 && i < 100000, "noeviction: full after %u keys", i);

    used = h->used;
    tap_ok(add(h, 999999) == NULL, "a further add fails");
    tap_is_int((long long) h->used, (long long) used, "and leaks nothing");
    tap_is_int((long long) kvmq_db_size(h->db), i, "keys unchanged");
    tap_is_int((long long) h->db->evicted, 0, "nothing evicted");

    kvmq_db_flush(&h->ctx);
    tap_is_int((long long) h->used,
               (long long) (sizeof(kvmq_db_t)
                            + KVMQ_HT_MIN * sizeof(void *)),
               "flush frees all but the root and an empty table");

    th_free(h);
}


static void
test_eviction(kvmq_evict_e policy, const char *name)
{
    th_t          *h;
    unsigned       i, fails, old, hot;
    kvmq_entry_t  *e;
    int64_t        t;

    h = th_new(64 * 1024, policy);
    t = 1700000000000LL;
    fails = 0;

    for (i = 0; i < 20000; i++) {
        th_set_time(h, t + (int64_t) i * 1000);

        e = add(h, i);
        if (e == NULL) {
            fails++;
            continue;
        }

        if (policy == KVMQ_EVICT_VOLATILE_LRU) {
            kvmq_db_set_expire(&h->ctx, e, t + 100000000LL);
        }

        /* key 0 is read all the time */
        (void) find(h, 0);
        if (policy == KVMQ_EVICT_ALLKEYS_LFU) {
            for (hot = 0; hot < 5; hot++) {
                char          buf[32];
                kvmq_slice_t  k = key_of(buf, 0);

                (void) kvmq_lookup_read(&h->ctx, &k);
            }
        }
    }

    tap_ok(fails == 0, "%s: every add succeeded by evicting (%u failed)",
           name, fails);
    tap_ok(h->db->evicted > 10000, "%s: evicted %llu", name,
           (unsigned long long) h->db->evicted);

    for (i = 1, old = 0; i < 1000; i++) {
        if (find(h, i) != NULL) {
            old++;
        }
    }

    tap_ok(old < 100, "%s: old keys mostly gone (%u of 999 left)", name,
           old);
    tap_ok(find(h, 0) != NULL, "%s: the hot key survived", name);
    tap_ok(find(h, 19999) != NULL, "%s: the newest key is there", name);

    th_free(h);
}


static void
test_volatile_only(void)
{
    th_t      *h;
    unsigned   i;

    h = th_new(32 * 1024, KVMQ_EVICT_VOLATILE_LRU);

    for (i = 0; i < 100000; i++) {
        if (add(h, i) == NULL) {
            break;
        }
    }

    tap_ok(i < 100000 && h->db->evicted == 0,
           "volatile-lru without volatile keys: NOMEM, nothing evicted");

    th_free(h);
}


int
main(void)
{
    test_grow_shrink();
    test_scan_guarantee();
    test_expiry();
    test_nomem();
    test_eviction(KVMQ_EVICT_ALLKEYS_LRU, "allkeys-lru");
    test_eviction(KVMQ_EVICT_VOLATILE_LRU, "volatile-lru");
    test_eviction(KVMQ_EVICT_ALLKEYS_LFU, "allkeys-lfu");
    test_volatile_only();

    return tap_done();
}
