
/*
 * kvmq-bench's shared state: bench.c runs the modes against kvmq and
 * reports, bench_peer.c speaks to the peers (nchan, webdis).  One
 * process, one lws loop; webdis's publishers and commands go over plain
 * HTTP sockets of their own (see bench_peer.c), and fanout's subscribers
 * run in a thread of their own without lws (see bench_raw.c).
 */

#ifndef KVMQ_BENCH_H
#define KVMQ_BENCH_H


#include <stdint.h>

#include "bench_stats.h"
#include "wsclient.h"


/* connection roles */
#define BENCH_CMD        0
#define BENCH_SUB        1      /* subscriber, consumer, RPC worker */
#define BENCH_PUB        2      /* publisher, producer, RPC caller */

/* modes */
#define MODE_CMD         0
#define MODE_FANOUT      1
#define MODE_QUEUE       2
#define MODE_RPC         3

/* targets */
#define TARGET_KVMQ      0
#define TARGET_NCHAN     1
#define TARGET_WEBDIS    2

/*
 * What both threads count (lws's publishers, bench_raw.c's
 * subscribers): the rest of a fanout's figures belong to the
 * subscribers' thread until it is joined.
 */
#define bench_add(p, n)  __atomic_fetch_add(p, n, __ATOMIC_RELAXED)

/* distinct close codes of stalled subscribers kept for the report */
#define BENCH_CODES      4


typedef struct {
    kvmq_ws_t              *ws;
    int                     role;
    int                     channel;
    long long               quota;        /* cmd, pub: messages to send */
    long long               sent;
    long long               done;
    long long               got;          /* stalled: deliveries read */
    int64_t                *sent_at;      /* cmd: ring of PIPELINE */
    unsigned long long      last_seq;     /* sub */
    long long              *last_k;       /* consumer, peer sub: per src */
    unsigned                subscribed:1;
    unsigned                opened:1;
    unsigned                stalled:1;    /* never reads once subscribed */
    unsigned                settled:1;    /* stalled: closed or caught up */
} bench_conn_t;


typedef struct {
    kvmq_url_t              url;
    struct lws_context     *ctx;
    lws_sorted_usec_list_t  tick;
    bench_conn_t           *conns;
    int                     nconns;
    int                     mode;
    int                     target;

    /* options */
    long long               total;
    long long               pipeline;
    long long               subs;
    long long               channels;
    long long               pubs;
    long long               messages;
    long long               bytes;
    long long               window;
    long long               prefetch;
    long long               timeout_ms;
    long long               stalled;
    int                     raw;          /* fanout: bench_raw.c subs */
    int                     http;         /* queue: HTTP producers */
    char                   *cmd_json;     /* the command's array */
    char                   *cmd_path;     /* webdis: /NAME/ARG/... */

    /* progress */
    int                     open_failed;
    int                     closed;
    int                     subscribed;
    int                     publishing;
    int                     done;
    int                     timed_out;
    int                     cpu_done;     /* the measurement is over */
    long long               answered;
    long long               errors;
    long long               received;
    long long               expected;
    long long               out_of_order;
    long long               acks;         /* queue: ACKs sent */
    long long               acked;        /* queue: ACKs answered */
    long long               pub_next;
    long long               progress;
    int64_t                 t0;           /* the process's start */
    long long               stale;        /* peer: of an earlier run */
    int64_t                 start;
    int64_t                 end;
    int64_t                 last_change;
    char                   *payload;
    long long              *chan_msgs;    /* messages each channel gets */
    long long               nsrc;         /* peer: sources of messages */

    /* stalled subscribers */
    long long               settled;
    long long               stalled_closed;
    int                     codes[BENCH_CODES];
    long long               code_n[BENCH_CODES];

    /* the client's own CPU over the measurement */
    int64_t                 cpu_start;    /* bench_cpu_us() */
    int64_t                 cpu_end;
    int64_t                 wall_start;
    int64_t                 wall_end;

    bench_hist_t            hist;
} bench_t;


extern bench_t  bench;


void bench_start_publishing(void);
void bench_sub_ready(bench_conn_t *c);
void bench_cpu_mark(int end);
void bench_conn_message(bench_conn_t *c, char *data, size_t len);
void bench_conn_closed(bench_conn_t *c, int code, int refused,
    const char *why);

int bench_raw_start(void);
void bench_raw_pause(bench_conn_t *c);
void bench_raw_subscribed(void);
int bench_raw_ready(void);
void bench_raw_unstall(void);
void bench_raw_stop(void);

const char *bench_peer_path(bench_conn_t *c);
int bench_peer_check(void);
void bench_peer_open(bench_conn_t *c);
void bench_peer_message(bench_conn_t *c, char *data, size_t len);
void bench_peer_pub_fill(bench_conn_t *c);
void bench_peer_start(void);
void bench_peer_stop(void);
int bench_webdis_cmd(void);
char *bench_webdis_path(int argc, char **argv);


#endif /* KVMQ_BENCH_H */
