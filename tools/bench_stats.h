
/*
 * What kvmq-bench (tools/bench.c) and kvmq-amqp-bench (bench/amqp_bench.c)
 * measure alike: the clock, the client's CPU, latencies in a log-linear
 * histogram and the report's latency line, and option numbers.  Plain C,
 * so that the AMQP client links it without libwebsockets.
 *
 * Nothing here is shared between threads: a thread that records keeps a
 * histogram of its own, and the histograms are merged once it is joined.
 */

#ifndef KVMQ_BENCH_STATS_H
#define KVMQ_BENCH_STATS_H


#include <stdint.h>


/* exact below 64 us, then 32 buckets per power of two (3% resolution) */
#define BENCH_BUCKETS    (64 + 40 * 32)


typedef struct {
    uint64_t                hist[BENCH_BUCKETS];
    uint64_t                n;
    int64_t                 max;
} bench_hist_t;


int64_t bench_now_us(void);
int64_t bench_cpu_us(void);
long long bench_num(const char *s);

void bench_hist_record(bench_hist_t *h, int64_t us);
void bench_hist_merge(bench_hist_t *to, const bench_hist_t *from);
int64_t bench_hist_percentile(const bench_hist_t *h, double p);
void bench_hist_print(const bench_hist_t *h);


#endif /* KVMQ_BENCH_STATS_H */
