
/*
 * The measurements kvmq-bench and kvmq-amqp-bench share: see
 * bench_stats.h.
 */


#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <time.h>

#include "bench_stats.h"


/*
 * CLOCK_MONOTONIC: kvmq-bench's messages carry their send time, so the
 * receiver must read the same clock as the sender.
 */

int64_t
bench_now_us(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);

    return (int64_t) ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}


/* the process's user + system time: all threads count */

int64_t
bench_cpu_us(void)
{
    struct rusage  ru;

    if (getrusage(RUSAGE_SELF, &ru) != 0) {
        return 0;
    }

    return (int64_t) (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000
           + ru.ru_utime.tv_usec + ru.ru_stime.tv_usec;
}


/* an option's count: a whole number, 0 or more, else -1 */

long long
bench_num(const char *s)
{
    char       *end;
    long long   n;

    errno = 0;
    n = strtoll(s, &end, 10);

    return (end == s || *end != '\0' || n < 0 || errno) ? -1 : n;
}


void
bench_hist_record(bench_hist_t *h, int64_t us)
{
    int       e;
    uint64_t  v;
    size_t    b;

    if (us < 0) {
        us = 0;
    }

    if (us > h->max) {
        h->max = us;
    }

    v = (uint64_t) us;

    if (v < 64) {
        b = v;

    } else {
        e = 63 - __builtin_clzll(v);
        b = 64 + (size_t) (e - 6) * 32 + ((v >> (e - 5)) & 31);
    }

    /* beyond 2^46 us, the last bucket: the max still tells */
    if (b >= BENCH_BUCKETS) {
        b = BENCH_BUCKETS - 1;
    }

    h->hist[b]++;
    h->n++;
}


void
bench_hist_merge(bench_hist_t *to, const bench_hist_t *from)
{
    size_t  b;

    for (b = 0; b < BENCH_BUCKETS; b++) {
        to->hist[b] += from->hist[b];
    }

    to->n += from->n;

    if (from->max > to->max) {
        to->max = from->max;
    }
}


int64_t
bench_hist_percentile(const bench_hist_t *h, double p)
{
    int        e;
    size_t     b;
    int64_t    v;
    uint64_t   want, seen;

    if (h->n == 0) {
        return 0;
    }

    want = (uint64_t) (p * h->n + 0.5);
    if (want < 1) {
        want = 1;
    }

    seen = 0;

    for (b = 0; b < BENCH_BUCKETS; b++) {
        seen += h->hist[b];

        if (seen >= want) {
            break;
        }
    }

    if (b < 64) {
        return (int64_t) b;
    }

    /*
     * The bucket's upper end, but no more than the largest seen: the
     * top bucket's end would otherwise report a p99 above the max.
     */
    e = (int) ((b - 64) / 32) + 6;
    v = (int64_t) (((uint64_t) 32 + (b - 64) % 32 + 1) << (e - 5)) - 1;

    return v < h->max ? v : h->max;
}


/* the report's latency line, alike in both clients for bench/run.sh */

void
bench_hist_print(const bench_hist_t *h)
{
    printf("  latency: p50 %.3f ms, p90 %.3f ms, p99 %.3f ms, "
           "max %.3f ms\n",
           bench_hist_percentile(h, 0.50) / 1e3,
           bench_hist_percentile(h, 0.90) / 1e3,
           bench_hist_percentile(h, 0.99) / 1e3, h->max / 1e3);
}
