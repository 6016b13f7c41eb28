/*
 * Unit tests of the keyspace walks and expiry (src/keys.c, src/db.c):
 * KEYS, SCAN with MATCH COUNT TYPE, and three properties the doors rely
 * on:
 *
 *   - the SCAN guarantee: a key present for the whole scan is returned at
 *     least once while other keys come and go and the table grows and
 *     shrinks between two calls;
 *   - lazy expiry: no command ever shows an expired key, and the active
 *     sweep of kvmq_db_cron() reaps the rest with bounded work per call;
 *   - a keyspace of 100k keys stays fully findable during and after its
 *     incremental rehashes.
 */

#include "keys_util.h"


static void
test_keys(void)
{
    th_t      *h;
    unsigned   i;
    strlist_t  *l;

    h = th_new(0, KVMQ_EVICT_NOEVICTION);

    is(h, "[]", "KEYS *");

    is(h, "+OK", "SET foo 1");
    is(h, "+OK", "SET foobar 1");
    is(h, "+OK", "SET bar 1");
    is(h, "+OK", "SET hello 1");
    is(h, "+OK", "SET hallo 1");
    is(h, "+OK", "SET hxllo 1");
    is(h, "+OK", "SET \"h*llo\" 1");

    tap_is_str(sorted_bulks(run(h, "KEYS *")),
               "bar,foo,foobar,h*llo,hallo,hello,hxllo", "KEYS *");
    tap_is_str(sorted_bulks(run(h, "KEYS f*")), "foo,foobar", "KEYS f*");
    tap_is_str(sorted_bulks(run(h, "KEYS f?o")), "foo", "KEYS f?o");
    tap_is_str(sorted_bulks(run(h, "KEYS h[ae]llo")), "hallo,hello",
               "KEYS h[ae]llo");
    tap_is_str(sorted_bulks(run(h, "KEYS h[^e]llo")), "h*llo,hallo,hxllo",
               "KEYS h[^e]llo");
    tap_is_str(sorted_bulks(run(h, "KEYS h\\*llo")), "h*llo",
               "KEYS h\\*llo (escaped star)");
    tap_is_str(sorted_bulks(run(h, "KEYS *bar")), "bar,foobar", "KEYS *bar");
    is(h, "[]", "KEYS nomatch*");
    is(h, "!BADREQ", "KEYS");
    is(h, "!BADREQ", "KEYS a b");

    /* a keyspace larger than one scan batch: every key exactly once */
    is(h, "+OK", "FLUSHALL");

    for (i = 0; i < 3000; i++) {
        run(h, "SET key:%u v", i);
    }

    l = calloc(1, sizeof(strlist_t));
    each_bulk(run(h, "KEYS *"), strlist_add, l);
    tap_is_int(l->n, 3000, "KEYS * over 3000 keys: 3000 answers");

    qsort(l->items, l->n, sizeof(char *), strcmp_p);

    for (i = 1; i < l->n; i++) {
        if (strcmp(l->items[i - 1], l->items[i]) == 0) {
            break;
        }
    }

    tap_ok(l->n > 0 && i == l->n, "KEYS *: no key twice");

    for (i = 0; i < l->n; i++) {
        free(l->items[i]);
    }

    free(l);

    tap_is_int(each_bulk(run(h, "KEYS key:1??"), NULL, NULL), 100,
               "KEYS key:1??");

    th_free(h);
}


/* ---- SCAN -------------------------------------------------------------- */


typedef struct {
    unsigned char   *seen;          /* per numbered key: times seen */
    const char      *prefix;
    unsigned         max;
    unsigned         other;         /* keys without the prefix */
    unsigned         total;
} seen_t;


static void
seen_add(void *arg, const char *p, size_t len)
{
    size_t     plen;
    unsigned   i;
    seen_t    *s;

    s = arg;
    plen = strlen(s->prefix);
    s->total++;

    if (len > plen && memcmp(p, s->prefix, plen) == 0) {
        i = (unsigned) strtoul(p + plen, NULL, 10);

        if (i < s->max && s->seen[i] < 255) {
            s->seen[i]++;
        }

        return;
    }

    s->other++;
}


/* a full SCAN with these options; returns the number of calls */
static unsigned
scan_all(th_t *h, const char *opts, seen_t *s)
{
    unsigned            calls;
    unsigned long long  cursor;

    cursor = 0;
    calls = 0;

    do {
        if (scan_parse(run(h, "SCAN %llu %s", cursor, opts), &cursor,
                       seen_add, s) != 0)
        {
            tap_ok(0, "SCAN reply shape: %s", h->out);
            break;
        }

        calls++;

    } while (cursor != 0 && calls < 1000000);

    return calls;
}


static unsigned
seen_missing(const seen_t *s, unsigned from, unsigned to)
{
    unsigned  i, n;

    n = 0;

    for (i = from; i < to; i++) {
        if (s->seen[i] == 0) {
            n++;
        }
    }

    return n;
}


static void
test_scan(void)
{
    th_t      *h;
    seen_t     s;
    unsigned   i, calls;

    h = th_new(0, KVMQ_EVICT_NOEVICTION);

    is(h, "[\"0\",[]]", "SCAN 0");
    is(h, "[\"0\",[]]", "SCAN 0 COUNT 100 MATCH * TYPE string");

    is(h, "+OK", "SET one 1");
    is(h, "[\"0\",[\"one\"]]", "SCAN 0");

    /* the cursor */
    is(h, "!BADREQ", "SCAN abc");
    errmsg_is(h, "invalid cursor");
    is(h, "!BADREQ", "SCAN -1");
    is(h, "!BADREQ", "SCAN \"\"");
    is(h, "!BADREQ", "SCAN \" 1\"");
    is(h, "!BADREQ", "SCAN 1x");
    is(h, "!BADREQ", "SCAN 18446744073709551616");
    errmsg_is(h, "invalid cursor");
    is(h, "!BADREQ", "SCAN 100000000000000000000");
    tap_ok(strncmp(run(h, "SCAN 18446744073709551615"), "[\"", 2) == 0,
           "SCAN 18446744073709551615 is a valid cursor");
    tap_ok(strncmp(run(h, "SCAN 007"), "[\"", 2) == 0,
           "SCAN 007 is a valid cursor");

    /* options */
    is(h, "!BADREQ", "SCAN 0 COUNT 0");
    errmsg_is(h, "syntax error");
    is(h, "!BADREQ", "SCAN 0 COUNT -1");
    is(h, "!BADREQ", "SCAN 0 COUNT abc");
    is(h, "!BADREQ", "SCAN 0 COUNT");
    is(h, "!BADREQ", "SCAN 0 MATCH");
    is(h, "!BADREQ", "SCAN 0 TYPE");
    is(h, "!BADREQ", "SCAN 0 FOO bar");
    is(h, "!BADREQ", "SCAN 0 TYPE nosuchtype");
    errmsg_is(h, "unknown type name 'nosuchtype'");
    is(h, "[\"0\",[\"one\"]]", "SCAN 0 count 5 match o* type STRING");
    is(h, "[\"0\",[\"one\"]]", "SCAN 0 COUNT 1 COUNT 9223372036854775807");
    is(h, "[\"0\",[]]", "SCAN 0 MATCH x*");
    is(h, "[\"0\",[]]", "SCAN 0 TYPE list");
    is(h, "!BADREQ", "SCAN");

    /* 1000 strings, 100 lists: full scans with filters */
    is(h, "+OK", "FLUSHALL");

    for (i = 0; i < 1000; i++) {
        run(h, "SET k%u v", i);
    }

    for (i = 0; i < 100; i++) {
        char  name[32];

        snprintf(name, sizeof(name), "l%u", i);
        add_typed(h, name, KVMQ_TYPE_LIST);
    }

    memset(&s, 0, sizeof(s));
    s.seen = calloc(1000, 1);
    s.prefix = "k";
    s.max = 1000;

    calls = scan_all(h, "COUNT 5", &s);
    tap_is_int(seen_missing(&s, 0, 1000), 0, "SCAN COUNT 5: every key seen");
    tap_is_int(s.other, 100, "SCAN COUNT 5: every list seen");
    tap_ok(calls > 20, "SCAN COUNT 5 took many calls (%u)", calls);

    memset(s.seen, 0, 1000);
    s.other = 0;
    s.total = 0;
    calls = scan_all(h, "COUNT 100000", &s);
    tap_is_int(calls, 1, "SCAN COUNT 100000: one call");
    tap_is_int(s.total, 1100, "SCAN COUNT 100000: all keys, once each");

    memset(s.seen, 0, 1000);
    s.other = 0;
    s.total = 0;
    scan_all(h, "COUNT 7 TYPE list", &s);
    tap_is_int(s.total, 100, "SCAN TYPE list: only the lists");
    tap_is_int(s.other, 100, "SCAN TYPE list: all the lists");

    s.other = 0;
    s.total = 0;
    scan_all(h, "TYPE string MATCH k1*", &s);
    tap_is_int(s.total, 111, "SCAN TYPE string MATCH k1*: k1, k1N, k1NN");
    tap_is_int(seen_missing(&s, 100, 200), 0, "SCAN MATCH k1*: k1NN seen");
    tap_is_int(s.seen[1] && s.seen[10] && s.seen[19], 1,
               "SCAN MATCH k1*: k1 and k1N seen");

    /* MATCH filters after the visit: a call may return no key and still
     * a non-zero cursor */
    {
        unsigned long long  cursor = 0;

        s.total = 0;
        scan_parse(run(h, "SCAN 0 COUNT 10 MATCH nomatch"), &cursor,
                   seen_add, &s);
        tap_ok(cursor != 0 && s.total == 0,
               "SCAN MATCH nomatch: empty page, cursor %llu", cursor);
    }

    free(s.seen);
    th_free(h);
}


/*
 * The SCAN guarantee.  STABLE keys are present throughout; between two
 * SCAN calls other keys are added (the table grows, rehashing
 * incrementally while the scan goes on), then deleted with cron ticks in
 * between (the table shrinks).  Every stable key must be returned.
 */


static void
test_scan_guarantee(void)
{
    th_t                *h;
    seen_t               s;
    unsigned             i, calls, added, deleted, step, ticks;
    uint64_t             start_size, max_size;
    unsigned long long   cursor;
    int                  grow_seen, shrink_seen, shrink_done;
    kvmq_htable_t       *d;

    h = th_new(0, KVMQ_EVICT_NOEVICTION);
    d = &h->db->keys;

    for (i = 0; i < STABLE; i++) {
        run(h, "SET stable:%u v", i);
    }

    /* settle: no rehash in progress at the start */
    while (d->rehashidx >= 0) {
        kvmq_db_cron(&h->ctx, 1000, 1000000);
    }

    start_size = d->t[0].size;
    max_size = start_size;
    grow_seen = 0;
    shrink_seen = 0;
    shrink_done = 0;

    memset(&s, 0, sizeof(s));
    s.seen = calloc(STABLE, 1);
    s.prefix = "stable:";
    s.max = STABLE;

    cursor = 0;
    calls = 0;
    added = 0;
    deleted = 0;

    do {
        if (scan_parse(run(h, "SCAN %llu COUNT 10", cursor), &cursor,
                       seen_add, &s) != 0)
        {
            tap_ok(0, "SCAN reply shape: %s", h->out);
            break;
        }

        calls++;

        if (calls <= 120) {
            /* grow: 40080 more keys over 120 calls */
            for (step = 0; step < 334; step++) {
                run(h, "SET tmp:%u v", added++);
            }

            ticks = 0;

        } else if (deleted < added) {
            /* shrink: delete them all, the cron shrinks the table */
            for (step = 0; step < 2000 && deleted < added; step++) {
                run(h, "DEL tmp:%u", deleted++);
            }

            ticks = 1;

        } else {
            /* enough ticks for the shrink to end before the scan does */
            ticks = 4;
        }

        while (ticks--) {
            kvmq_db_cron(&h->ctx, 100, 1000000);
        }

        if (d->rehashidx >= 0) {
            if (d->t[1].size > d->t[0].size) {
                grow_seen++;

            } else {
                shrink_seen++;
            }
        }

        if (d->t[0].size > max_size) {
            max_size = d->t[0].size;
        }

        if (shrink_seen && d->rehashidx < 0 && d->t[0].size < max_size) {
            shrink_done = 1;
        }

    } while (cursor != 0 && calls < 100000);

    tap_diag("scan: %u calls, table %llu -> %llu -> %llu; between calls: "
             "growing %d times, shrinking %d times", calls,
             (unsigned long long) start_size,
             (unsigned long long) max_size,
             (unsigned long long) d->t[0].size, grow_seen, shrink_seen);

    tap_ok(max_size >= start_size * 4, "the table grew during the scan");
    tap_ok(grow_seen > 0, "a growing rehash ran between scan calls");
    tap_ok(deleted == added && calls > 120,
           "the temporary keys were deleted during the scan");
    tap_ok(shrink_seen > 0, "a shrinking rehash ran between scan calls");
    tap_ok(shrink_done, "the shrink completed before the scan ended");
    tap_is_int(seen_missing(&s, 0, STABLE), 0,
               "SCAN guarantee: every stable key was returned");
    tap_is_int(s.other > 0, 1, "temporary keys were returned too");
    tap_is_int(info_i64(h, "DBSIZE"), STABLE, "only the stable keys remain");

    /* a second scan, COUNT 3, while the cron rehashes a shrink under it */
    for (i = 0; i < 40000; i++) {
        run(h, "SET tmp:%u v", i);
    }

    for (i = 0; i < 40000; i++) {
        run(h, "DEL tmp:%u", i);
    }

    memset(s.seen, 0, STABLE);
    cursor = 0;
    calls = 0;
    shrink_seen = 0;

    do {
        scan_parse(run(h, "SCAN %llu COUNT 3", cursor), &cursor, seen_add,
                   &s);
        kvmq_db_cron(&h->ctx, 10, 1000000);
        shrink_seen += d->rehashidx >= 0 && d->t[1].size < d->t[0].size;
        calls++;
    } while (cursor != 0 && calls < 100000);

    tap_ok(shrink_seen > 0, "second scan: shrinking under it (%d of %u "
           "calls)", shrink_seen, calls);
    tap_is_int(seen_missing(&s, 0, STABLE), 0,
               "second scan: every stable key was returned");

    free(s.seen);
    th_free(h);
}


/* ---- expiry as seen by every command ----------------------------------- */


static void
test_lazy_expiry(void)
{
    th_t          *h;
    unsigned       i;
    const char    *r;
    kvmq_stats_t   st;

    h = th_new(0, KVMQ_EVICT_NOEVICTION);
    th_set_time(h, T0);

    is(h, "+OK", "SET live v");

    for (i = 0; i < 8; i++) {
        run(h, "SET e%u v", i);
        run(h, "PEXPIRE e%u 100", i);
    }

    is(h, ":9", "DBSIZE");

    th_set_time(h, T0 + 101);

    /* walks skip expired keys without reaping them */
    is(h, "[\"live\"]", "KEYS *");
    is(h, "[]", "KEYS e*");
    is(h, "[\"0\",[\"live\"]]", "SCAN 0 COUNT 1000");
    is(h, "[\"0\",[]]", "SCAN 0 COUNT 1000 MATCH e*");
    is(h, ":9", "DBSIZE");

    /* each lookup reaps the key it finds expired */
    is(h, "nil", "GET e0");
    is(h, ":0", "EXISTS e1");
    is(h, ":-2", "TTL e2");
    is(h, ":-2", "PTTL e3");
    is(h, "+none", "TYPE e4");
    is(h, ":0", "DEL e5");
    is(h, ":0", "PERSIST e6");
    is(h, ":5", "EXISTS live e0 e1 e2 e3 e4 e5 e6 live live live live");
    is(h, ":2", "DBSIZE");

    kvmq_db_stats(h->db, &st);
    tap_is_int((long long) st.expired, 7, "7 keys expired by lookups");
    tap_is_int((long long) st.volatile_keys, 1, "1 volatile key left (e7)");

    /* the cron reaps the last one */
    tap_is_int(kvmq_db_cron(&h->ctx, 1000, 1000000), 1, "cron expires e7");
    is(h, ":1", "DBSIZE");

    /* RANDOMKEY never returns an expired key */
    th_set_time(h, T0);

    for (i = 0; i < 50; i++) {
        run(h, "SET r%u v", i);
        run(h, "PEXPIRE r%u 100", i);
    }

    th_set_time(h, T0 + 101);

    for (i = 0; i < 200; i++) {
        r = run(h, "RANDOMKEY");
        if (strcmp(r, "\"live\"") != 0) {
            break;
        }
    }

    tap_ok(i == 200, "RANDOMKEY: only the live key (%s)", r);

    is(h, ":1", "DEL live");

    /* only expired keys left: nil, and they are reaped */
    th_set_time(h, T0);

    for (i = 0; i < 5; i++) {
        run(h, "SET q%u v", i);
        run(h, "PEXPIRE q%u 100", i);
    }

    th_set_time(h, T0 + 101);
    is(h, "nil", "RANDOMKEY");

    while (kvmq_db_cron(&h->ctx, 1000, 1000000) != 0) { /* void */ }
    is(h, ":0", "DBSIZE");

    /* a sparse table (many deletes, no cron yet) still yields its key */
    for (i = 0; i < 2000; i++) {
        run(h, "SET s%u v", i);
    }

    for (i = 1; i < 2000; i++) {
        run(h, "DEL s%u", i);
    }

    for (i = 0; i < 50; i++) {
        r = run(h, "RANDOMKEY");
        if (strcmp(r, "\"s0\"") != 0) {
            break;
        }
    }

    tap_ok(i == 50, "RANDOMKEY on a sparse table: the one key (%s)", r);
    is(h, ":1", "DEL s0");

    /* RENAME never resurrects */
    th_set_time(h, T0);
    is(h, "+OK", "SET x v");
    is(h, ":1", "PEXPIRE x 10");
    th_set_time(h, T0 + 11);
    is(h, "!NOTFOUND", "RENAME x y");
    is(h, ":0", "EXISTS y");

    th_free(h);
}


static void
test_cron(void)
{
    th_t          *h;
    unsigned       i, n, calls, total, max_n;
    kvmq_stats_t   st;

    h = th_new(0, KVMQ_EVICT_NOEVICTION);
    th_set_time(h, T0);

    tap_is_int(kvmq_db_cron(&h->ctx, 100, 1000000), 0,
               "cron on an empty db");

    for (i = 0; i < 2000; i++) {
        run(h, "SET p%u v", i);
        run(h, "SET v%u v", i);
        run(h, "PEXPIRE v%u 1000", i);
    }

    /* nothing due yet */
    tap_is_int(kvmq_db_cron(&h->ctx, 100000, 1000000), 0,
               "cron before the time expires nothing");
    is(h, ":4000", "DBSIZE");

    th_set_time(h, T0 + 1001);

    calls = 0;
    total = 0;
    max_n = 0;

    do {
        n = kvmq_db_cron(&h->ctx, 50, 1000000);
        total += n;
        calls++;

        if (n > max_n) {
            max_n = n;
        }

    } while ((n != 0 || info_i64(h, "DBSIZE") > 2000) && calls < 10000);

    tap_diag("cron: %u calls, at most %u keys a call", calls, max_n);
    tap_ok(max_n <= 50, "cron: at most max_keys (50) expired per call");
    tap_ok(calls >= 2000 / 50, "cron: the work took several calls");
    tap_is_int(total, 2000, "cron: all 2000 volatile keys expired");
    is(h, ":2000", "DBSIZE");

    kvmq_db_stats(h->db, &st);
    tap_is_int((long long) st.volatile_keys, 0, "no volatile keys left");
    tap_is_int((long long) st.expired, 2000, "expired counter");

    for (i = 0; i < 2000; i++) {
        if (strcmp(run(h, "EXISTS p%u", i), ":1") != 0) {
            break;
        }
    }

    tap_is_int(i, 2000, "cron kept every key without a TTL");

    /* the time budget stops a call early; a zero budget still progresses */
    for (i = 0; i < 1000; i++) {
        run(h, "SET w%u v", i);
        run(h, "PEXPIRE w%u 1", i);
    }

    th_set_time(h, T0 + 2000);

    calls = 0;
    total = 0;

    while (total < 1000 && calls < 100000) {
        total += kvmq_db_cron(&h->ctx, 1000000, 0);
        calls++;
    }

    tap_is_int(total, 1000, "cron with no time budget still expires all");

    th_free(h);
}


/* ---- a large keyspace -------------------------------------------------- */


static void
test_large(void)
{
    th_t          *h;
    unsigned       i, j, bad, rehash_seen, probes;
    kvmq_stats_t   st;

    h = th_new(0, KVMQ_EVICT_NOEVICTION);

    bad = 0;
    rehash_seen = 0;
    probes = 0;

    for (i = 0; i < LARGE; i++) {
        if (strcmp(run(h, "SET big:%u %u", i, i), "+OK") != 0) {
            bad++;
        }

        if (i % 997 == 0) {
            kvmq_db_stats(h->db, &st);

            if (st.rehashing) {
                rehash_seen++;

                /* every key so far, in the middle of a rehash */
                for (j = 0; j <= i; j += 7) {
                    probes++;
                    if (strcmp(run(h, "EXISTS big:%u", j), ":1") != 0) {
                        bad++;
                    }
                }
            }
        }
    }

    tap_is_int(bad, 0, "100k keys: all set, all found during rehashes");
    tap_ok(rehash_seen > 0, "100k keys: rehashes seen (%u, %u probes)",
           rehash_seen, probes);
    tap_is_int(info_i64(h, "DBSIZE"), LARGE, "DBSIZE 100000");

    bad = 0;

    for (i = 0; i < LARGE; i++) {
        char  expect[32];

        snprintf(expect, sizeof(expect), "\"%u\"", i);

        if (strcmp(run(h, "GET big:%u", i), expect) != 0) {
            bad++;
        }
    }

    tap_is_int(bad, 0, "100k keys: every value read back");
    is(h, ":0", "EXISTS big:100000");

    /* delete 9 in 10, shrink under cron, check the rest throughout */
    for (i = 0; i < LARGE; i++) {
        if (i % 10 != 0) {
            run(h, "DEL big:%u", i);
        }
    }

    tap_is_int(info_i64(h, "DBSIZE"), LARGE / 10, "DBSIZE 10000");

    bad = 0;
    rehash_seen = 0;

    for (j = 0; j < 10000; j++) {
        kvmq_db_cron(&h->ctx, 100, 1000000);
        kvmq_db_stats(h->db, &st);

        if (!st.rehashing) {
            if (rehash_seen) {
                break;
            }

            continue;
        }

        rehash_seen++;

        for (i = j % 50 * 10; i < LARGE; i += 500) {
            if (strcmp(run(h, "EXISTS big:%u", i), ":1") != 0) {
                bad++;
            }
        }
    }

    kvmq_db_stats(h->db, &st);
    tap_ok(rehash_seen > 0, "shrink: cron rehashed (%u ticks), buckets %llu",
           rehash_seen, (unsigned long long) st.buckets);
    tap_ok(st.buckets < LARGE, "shrink: the table got smaller");

    for (i = 0; i < LARGE; i++) {
        if (strcmp(run(h, "EXISTS big:%u", i), i % 10 ? ":0" : ":1") != 0) {
            bad++;
        }
    }

    tap_is_int(bad, 0, "shrink: exactly the kept keys are found");

    th_free(h);
}


/* ---- RANDOMKEY DBSIZE FLUSHALL ----------------------------------------- */


int
main(void)
{
    test_keys();
    test_scan();
    test_scan_guarantee();
    test_lazy_expiry();
    test_cron();
    test_large();

    return tap_done();
}
