
/*
 * kvmq-amqp-bench: kvmq-bench's queue and rpc loads against an AMQP 0-9-1
 * broker (rabbitmq-server), so that the two can be compared figure for
 * figure.
 *
 *   gcc -O2 -Wall -Wextra -Werror -Itools -o build/bench/kvmq-amqp-bench \
 *       bench/amqp_bench.c tools/bench_stats.c -lrabbitmq -lpthread
 *
 *   kvmq-amqp-bench [--host H] [--port P] queue [-c CONSUMERS]
 *              [-p PRODUCERS] [-f PREFETCH] [-m MESSAGES] [-b BYTES]
 *              [-w WINDOW] [-t MS]
 *   kvmq-amqp-bench [--host H] [--port P] rpc [-c WORKERS] [-p CALLERS]
 *              [-w WINDOW] [-m CALLS] [-b BYTES] [-t MS]
 *
 * librabbitmq is blocking, so every connection gets a thread of its own;
 * the threads share nothing but atomic counters and one wake-up per
 * producer.  One channel per connection, guest/guest, no heartbeats.
 *
 * queue: the consumers declare (non-durable) and purge "kvmq-bench", set
 * basic.qos PREFETCH and basic.consume it, acking each delivery; once all
 * of them consume, the producers publish MESSAGES in all through the
 * default exchange, non-persistent, without publisher confirms.  A body
 * starts with the send time (CLOCK_MONOTONIC us), the producer and its
 * message number: the latency is publish to consume, and every consumer
 * must see each producer's numbers grow (round robin gives it a
 * subsequence).
 *
 * Confirms are off: it is RabbitMQ's fast path and the usual way to
 * benchmark it, and a confirm per message would be one more frame for
 * the broker to send.  But then nothing tells a producer what the broker
 * has taken, and a producer that just writes measures how fast the queue
 * grows (until a memory alarm blocks it).  kvmq-bench's window bounds the
 * Q.PUBLISH awaiting their reply; here the bound is on what the consumers
 * have not received yet, which is stricter (the queue itself never holds
 * more than WINDOW per producer) and needs no frame from the broker: a
 * consumer counts each delivery against its producer in shared memory,
 * and a producer with WINDOW unconsumed messages sleeps until half of its
 * window is free again, so it is woken once per WINDOW / 2 messages, not
 * once per message, and the client's one CPU goes to AMQP.
 *
 * rpc: the workers declare and purge "kvmq-bench.rpc", consume it
 * (prefetch PREFETCH) and answer each request to its reply_to with the
 * same correlation_id and body, then ack it.  The callers use RabbitMQ's
 * direct reply-to: they consume "amq.rabbitmq.reply-to" without acks on
 * their channel, then keep WINDOW calls in flight each; the latency is
 * the round trip.
 *
 * Latencies go into a log-linear histogram in microseconds, one per
 * thread, merged at the end: exact below 64 us, then 32 buckets per power
 * of two (3% resolution).  Client CPU is getrusage(RUSAGE_SELF) user+sys
 * over the measured interval divided by its wall time.  Both, the clock
 * and option numbers are kvmq-bench's own (tools/bench_stats.c).
 */


#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>

#include <amqp.h>
#include <amqp_tcp_socket.h>

#include "bench_stats.h"


#define MODE_QUEUE       0
#define MODE_RPC         1

#define BENCH_QUEUE      "kvmq-bench"
#define BENCH_RPC_QUEUE  "kvmq-bench.rpc"
#define BENCH_REPLY_TO   "amq.rabbitmq.reply-to"

#define BENCH_CHANNEL    1
#define BENCH_POLL_MS    100


typedef struct {
    pthread_t               tid;
    int                     n;            /* producer or caller number */
    int                     sub;          /* consumer or worker */
    long long               quota;        /* producer, caller */
    long long              *last_k;       /* consumer: per producer */
    amqp_connection_state_t conn;
    _Atomic int             fd;           /* once logged in, else -1 */
    bench_hist_t            hist;
} bench_conn_t;


/* a producer's window, on a cache line of its own */

typedef struct {
    _Atomic long long       consumed;
    _Atomic int             waiting;
    long long               wake_at;
    pthread_mutex_t         lock;
    pthread_cond_t          cond;
    char                    pad[64];
} bench_window_t;


typedef struct {
    int                     mode;
    const char             *host;
    int                     port;
    long long               subs;
    long long               pubs;
    long long               prefetch;
    long long               messages;
    long long               bytes;
    long long               window;
    long long               timeout_ms;

    bench_conn_t           *conns;
    int                     nconns;
    bench_window_t         *windows;

    /* the start line: producers wait for all consumers */
    pthread_mutex_t         go_lock;
    pthread_cond_t          go_cond;
    int                     go;

    _Atomic int             subscribed;
    _Atomic int             stop;
    _Atomic int             open_failed;
    _Atomic int             closed;
    _Atomic int             done;
    _Atomic long long       received;
    _Atomic long long       errors;
    _Atomic long long       out_of_order;
    _Atomic long long       progress;
    long long               expected;

    int64_t                 start;
    _Atomic int64_t         end;
    int64_t                 cpu_start;
    _Atomic int64_t         cpu_end;

    bench_hist_t            hist;
} bench_t;


static int bench_parse(int argc, char **argv);
static int bench_usage(int rc);
static void *bench_thread(void *arg);
static amqp_connection_state_t bench_connect(bench_conn_t *c);
static int bench_reply_ok(amqp_rpc_reply_t r, const char *what);
static int bench_subscribe(bench_conn_t *c);
static void bench_consume(bench_conn_t *c);
static void bench_delivery(bench_conn_t *c, amqp_envelope_t *env);
static void bench_answer(bench_conn_t *c, amqp_envelope_t *env);
static int bench_other_frame(bench_conn_t *c);
static void bench_closed(const char *what, amqp_channel_close_t *m);
static void bench_produce(bench_conn_t *c);
static int bench_window_wait(bench_conn_t *c, long long sent);
static void bench_call(bench_conn_t *c);
static int bench_wait_go(void);
static void bench_received(void);
static void bench_lost(const char *why, int status);
static size_t bench_body(char *buf, int n, long long k);
static void bench_report(void);


static bench_t  bench;


int
main(int argc, char **argv)
{
    int              i, fd;
    long long        per, extra, now, last, last_progress, p;
    struct timespec  ts;

    if (bench_parse(argc, argv) != 0) {
        return 2;
    }

    bench.nconns = (int) (bench.subs + bench.pubs);
    bench.conns = calloc(bench.nconns, sizeof(bench_conn_t));
    bench.windows = calloc(bench.pubs, sizeof(bench_window_t));
    if (bench.conns == NULL || bench.windows == NULL) {
        fprintf(stderr, "kvmq-amqp-bench: out of memory\n");
        return 1;
    }

    pthread_mutex_init(&bench.go_lock, NULL);
    pthread_cond_init(&bench.go_cond, NULL);

    per = bench.messages / bench.pubs;
    extra = bench.messages % bench.pubs;
    bench.expected = bench.messages;

    for (i = 0; i < bench.nconns; i++) {
        atomic_init(&bench.conns[i].fd, -1);
        bench.conns[i].sub = i < bench.subs;
        bench.conns[i].n = (int) (bench.conns[i].sub ? i : i - bench.subs);

        if (bench.conns[i].sub) {
            if (bench.mode == MODE_QUEUE) {
                bench.conns[i].last_k = calloc(bench.pubs, sizeof(long long));
                if (bench.conns[i].last_k == NULL) {
                    fprintf(stderr, "kvmq-amqp-bench: out of memory\n");
                    return 1;
                }
            }

        } else {
            bench.conns[i].quota = per + (bench.conns[i].n < extra);
        }
    }

    for (i = 0; i < bench.pubs; i++) {
        pthread_mutex_init(&bench.windows[i].lock, NULL);
        pthread_cond_init(&bench.windows[i].cond, NULL);
    }

    for (i = 0; i < bench.nconns; i++) {
        if (pthread_create(&bench.conns[i].tid, NULL, bench_thread,
                           &bench.conns[i])
            != 0)
        {
            fprintf(stderr, "kvmq-amqp-bench: cannot create a thread\n");
            return 1;
        }
    }

    /* the watchdog: no progress for timeout_ms ends the run */

    last = bench_now_us();
    last_progress = 0;

    while (!atomic_load(&bench.stop)) {
        ts.tv_sec = 0;
        ts.tv_nsec = BENCH_POLL_MS * 1000000L;
        nanosleep(&ts, NULL);

        if (atomic_load(&bench.end) != 0) {
            break;
        }

        now = bench_now_us();
        p = atomic_load(&bench.progress);

        if (p != last_progress) {
            last_progress = p;
            last = now;

        } else if (now - last > bench.timeout_ms * 1000) {
            if (!atomic_load(&bench.open_failed)) {
                fprintf(stderr, "kvmq-amqp-bench: no progress for %lld ms, "
                        "giving up\n", bench.timeout_ms);
            }

            if (bench.start != 0) {
                atomic_store(&bench.end, last);
                atomic_store(&bench.cpu_end, bench_cpu_us());
            }

            break;
        }
    }

    atomic_store(&bench.stop, 1);

    pthread_mutex_lock(&bench.go_lock);
    pthread_cond_broadcast(&bench.go_cond);
    pthread_mutex_unlock(&bench.go_lock);

    /*
     * librabbitmq waits for a writable socket without a time limit: a
     * broker that stopped reading would keep a producer in
     * amqp_basic_publish() for good.  The descriptors stay open until
     * the threads are joined, so shutting them down here is safe.
     */

    if (!atomic_load(&bench.done)) {
        for (i = 0; i < bench.nconns; i++) {
            fd = atomic_load(&bench.conns[i].fd);
            if (fd >= 0) {
                (void) shutdown(fd, SHUT_RDWR);
            }
        }
    }

    for (i = 0; i < bench.nconns; i++) {
        pthread_join(bench.conns[i].tid, NULL);

        if (bench.conns[i].conn != NULL) {
            amqp_destroy_connection(bench.conns[i].conn);
        }
    }

    if (atomic_load(&bench.open_failed)) {
        return 3;
    }

    bench_report();

    return (atomic_load(&bench.errors) == 0
            && atomic_load(&bench.received) == bench.expected
            && atomic_load(&bench.out_of_order) == 0
            && atomic_load(&bench.closed) == 0) ? 0 : 1;
}


static int
bench_parse(int argc, char **argv)
{
    int          i, mode_seen;
    long long   *p, n;

    bench.host = "127.0.0.1";
    bench.port = 5672;
    bench.subs = 4;
    bench.pubs = 1;
    bench.prefetch = 100;
    bench.messages = 10000;
    bench.bytes = 64;
    bench.window = 64;
    bench.timeout_ms = 10000;

    mode_seen = 0;

    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0
            || strcmp(argv[i], "help") == 0)
        {
            return bench_usage(1);
        }

        if (!mode_seen && argv[i][0] != '-') {
            mode_seen = 1;

            if (strcmp(argv[i], "queue") == 0) {
                bench.mode = MODE_QUEUE;

            } else if (strcmp(argv[i], "rpc") == 0) {
                bench.mode = MODE_RPC;
                bench.subs = 2;
                bench.pubs = 8;
                bench.window = 1;

            } else {
                fprintf(stderr, "kvmq-amqp-bench: unknown mode \"%s\"\n",
                        argv[i]);
                return bench_usage(-1);
            }

            continue;
        }

        if (i + 1 >= argc) {
            fprintf(stderr, "kvmq-amqp-bench: \"%s\" needs a value\n",
                    argv[i]);
            return -1;
        }

        if (strcmp(argv[i], "--host") == 0) {
            bench.host = argv[++i];
            continue;
        }

        p = NULL;

        if (strcmp(argv[i], "--port") == 0) {
            n = bench_num(argv[i + 1]);

            if (n < 1 || n > 65535) {
                fprintf(stderr, "kvmq-amqp-bench: bad port \"%s\"\n",
                        argv[i + 1]);
                return -1;
            }

            bench.port = (int) n;
            i++;
            continue;

        } else if (!mode_seen) {
            /* only --host and --port come before the mode */

        } else if (strcmp(argv[i], "-c") == 0) {
            p = &bench.subs;

        } else if (strcmp(argv[i], "-p") == 0) {
            p = &bench.pubs;

        } else if (strcmp(argv[i], "-f") == 0) {
            p = &bench.prefetch;

        } else if (strcmp(argv[i], "-m") == 0) {
            p = &bench.messages;

        } else if (strcmp(argv[i], "-b") == 0) {
            p = &bench.bytes;

        } else if (strcmp(argv[i], "-w") == 0) {
            p = &bench.window;

        } else if (strcmp(argv[i], "-t") == 0) {
            p = &bench.timeout_ms;
        }

        n = bench_num(argv[i + 1]);

        if (p == NULL || n < 0) {
            fprintf(stderr, "kvmq-amqp-bench: bad option \"%s %s\"\n",
                    argv[i], argv[i + 1]);
            return -1;
        }

        *p = n;
        i++;
    }

    if (!mode_seen) {
        return bench_usage(-1);
    }

    if (bench.subs < 1 || bench.pubs < 1 || bench.window < 1
        || bench.prefetch < 1 || bench.subs > 10000 || bench.pubs > 10000)
    {
        fprintf(stderr, "kvmq-amqp-bench: counts must be at least 1\n");
        return -1;
    }

    /* basic.qos's prefetch-count is a short; the frame size bounds BYTES */
    if (bench.prefetch > 65535 || bench.bytes > 100 * 1024 * 1024) {
        fprintf(stderr, "kvmq-amqp-bench: PREFETCH at most 65535, "
                "BYTES at most 100 MB\n");
        return -1;
    }

    return 0;
}


static int
bench_usage(int rc)
{
    fputs("usage: kvmq-amqp-bench [--host H] [--port P] queue "
          "[-c CONSUMERS]\n"
          "                  [-p PRODUCERS] [-f PREFETCH] [-m MESSAGES] "
          "[-b BYTES]\n"
          "                  [-w WINDOW] [-t MS]\n"
          "       kvmq-amqp-bench [--host H] [--port P] rpc [-c WORKERS] "
          "[-p CALLERS]\n"
          "                  [-w WINDOW] [-m CALLS] [-b BYTES] [-t MS]\n"
          "\n"
          "AMQP 0-9-1 (guest/guest) on H (127.0.0.1) port P (5672).\n"
          "queue: CONSUMERS (4) with PREFETCH (100) acknowledging each\n"
          "message, PRODUCERS (1) publishing MESSAGES (10000) of BYTES (64)\n"
          "into queue \"" BENCH_QUEUE "\" (purged first), at most WINDOW\n"
          "(64) unconsumed each; messages/s, publish to consume latency.\n"
          "rpc: WORKERS (2, prefetch PREFETCH) answering, CALLERS (8) with\n"
          "WINDOW (1) calls in flight each over direct reply-to, CALLS\n"
          "(10000) in all; calls/s, round-trip latency.\n"
          "Both report p50/p90/p99/max latency, errors, lost and out of\n"
          "order messages and the client's CPU use, and give up after -t MS\n"
          "(10000) without progress.  Exit status: 0 all answered and\n"
          "delivered in order, 1 otherwise, 2 usage, 3 cannot connect.\n",
          rc > 0 ? stdout : stderr);

    return rc > 0 ? 1 : -1;
}


static void *
bench_thread(void *arg)
{
    bench_conn_t  *c;

    c = arg;

    c->conn = bench_connect(c);
    if (c->conn == NULL) {
        atomic_store(&bench.open_failed, 1);
        atomic_store(&bench.stop, 1);

        pthread_mutex_lock(&bench.go_lock);
        pthread_cond_broadcast(&bench.go_cond);
        pthread_mutex_unlock(&bench.go_lock);

        return NULL;
    }

    if (c->sub) {
        if (bench_subscribe(c) == 0) {
            bench_consume(c);
        }

    } else if (bench.mode == MODE_QUEUE) {
        bench_produce(c);

    } else {
        bench_call(c);
    }

    /*
     * A clean close lets the broker take the last acks before it drops
     * the channel, so nothing is requeued behind the next run's purge;
     * after a failure the broker may not answer, so main() just drops
     * the socket.
     */

    if (atomic_load(&bench.done)) {
        (void) amqp_connection_close(c->conn, AMQP_REPLY_SUCCESS);
    }

    return NULL;
}


static amqp_connection_state_t
bench_connect(bench_conn_t *c)
{
    int                      rc;
    amqp_socket_t           *sock;
    struct timeval           tv;
    amqp_rpc_reply_t         r;
    amqp_connection_state_t  conn;

    conn = amqp_new_connection();
    if (conn == NULL) {
        fprintf(stderr, "kvmq-amqp-bench: out of memory\n");
        return NULL;
    }

    sock = amqp_tcp_socket_new(conn);
    if (sock == NULL) {
        fprintf(stderr, "kvmq-amqp-bench: cannot create a socket\n");
        amqp_destroy_connection(conn);
        return NULL;
    }

    tv.tv_sec = bench.timeout_ms / 1000;
    tv.tv_usec = (bench.timeout_ms % 1000) * 1000;

    rc = amqp_socket_open_noblock(sock, bench.host, bench.port, &tv);
    if (rc != AMQP_STATUS_OK) {
        if (!atomic_exchange(&bench.open_failed, 1)) {
            fprintf(stderr, "kvmq-amqp-bench: cannot connect to %s:%d: %s\n",
                    bench.host, bench.port, amqp_error_string2(rc));
        }

        amqp_destroy_connection(conn);
        return NULL;
    }

    (void) amqp_set_handshake_timeout(conn, &tv);
    (void) amqp_set_rpc_timeout(conn, &tv);

    r = amqp_login(conn, "/", 0, AMQP_DEFAULT_FRAME_SIZE, 0,
                   AMQP_SASL_METHOD_PLAIN, "guest", "guest");

    if (r.reply_type != AMQP_RESPONSE_NORMAL) {
        if (!atomic_exchange(&bench.open_failed, 1)) {
            bench_reply_ok(r, "login");
        }

        amqp_destroy_connection(conn);
        return NULL;
    }

    amqp_channel_open(conn, BENCH_CHANNEL);

    r = amqp_get_rpc_reply(conn);
    if (r.reply_type != AMQP_RESPONSE_NORMAL) {
        if (!atomic_exchange(&bench.open_failed, 1)) {
            bench_reply_ok(r, "channel.open");
        }

        amqp_destroy_connection(conn);
        return NULL;
    }

    atomic_store(&c->fd, amqp_get_sockfd(conn));

    return conn;
}


/* 0 if an RPC went well, else -1 and the broker's reason on stderr */

static int
bench_reply_ok(amqp_rpc_reply_t r, const char *what)
{
    amqp_channel_close_t     *ch;
    amqp_connection_close_t  *co;

    switch (r.reply_type) {

    case AMQP_RESPONSE_NORMAL:
        return 0;

    case AMQP_RESPONSE_LIBRARY_EXCEPTION:
        fprintf(stderr, "kvmq-amqp-bench: %s: %s\n", what,
                amqp_error_string2(r.library_error));
        break;

    case AMQP_RESPONSE_SERVER_EXCEPTION:
        if (r.reply.id == AMQP_CHANNEL_CLOSE_METHOD) {
            ch = r.reply.decoded;
            fprintf(stderr, "kvmq-amqp-bench: %s: channel closed: %u %.*s\n",
                    what, ch->reply_code, (int) ch->reply_text.len,
                    (char *) ch->reply_text.bytes);

        } else if (r.reply.id == AMQP_CONNECTION_CLOSE_METHOD) {
            co = r.reply.decoded;
            fprintf(stderr, "kvmq-amqp-bench: %s: connection closed: "
                    "%u %.*s\n", what, co->reply_code,
                    (int) co->reply_text.len, (char *) co->reply_text.bytes);

        } else {
            fprintf(stderr, "kvmq-amqp-bench: %s: server exception 0x%08x\n",
                    what, r.reply.id);
        }

        break;

    default:
        fprintf(stderr, "kvmq-amqp-bench: %s: no reply\n", what);
    }

    return -1;
}


/* consumer, worker: queue.declare, queue.purge, basic.qos, basic.consume */

static int
bench_subscribe(bench_conn_t *c)
{
    const char    *q;
    amqp_bytes_t   qb;

    q = bench.mode == MODE_QUEUE ? BENCH_QUEUE : BENCH_RPC_QUEUE;
    qb = amqp_cstring_bytes(q);

    amqp_queue_declare(c->conn, BENCH_CHANNEL, qb, 0, 0, 0, 0,
                       amqp_empty_table);
    if (bench_reply_ok(amqp_get_rpc_reply(c->conn), "queue.declare") != 0) {
        goto failed;
    }

    amqp_queue_purge(c->conn, BENCH_CHANNEL, qb);
    if (bench_reply_ok(amqp_get_rpc_reply(c->conn), "queue.purge") != 0) {
        goto failed;
    }

    amqp_basic_qos(c->conn, BENCH_CHANNEL, 0, (uint16_t) bench.prefetch, 0);
    if (bench_reply_ok(amqp_get_rpc_reply(c->conn), "basic.qos") != 0) {
        goto failed;
    }

    amqp_basic_consume(c->conn, BENCH_CHANNEL, qb, amqp_empty_bytes, 0, 0, 0,
                       amqp_empty_table);
    if (bench_reply_ok(amqp_get_rpc_reply(c->conn), "basic.consume") != 0) {
        goto failed;
    }

    /* the last one in starts the clock and the producers */

    if (atomic_fetch_add(&bench.subscribed, 1) + 1 == bench.subs) {
        pthread_mutex_lock(&bench.go_lock);
        bench.cpu_start = bench_cpu_us();
        bench.start = bench_now_us();
        bench.go = 1;
        pthread_cond_broadcast(&bench.go_cond);
        pthread_mutex_unlock(&bench.go_lock);
    }

    atomic_fetch_add(&bench.progress, 1);

    return 0;

failed:

    atomic_fetch_add(&bench.errors, 1);
    atomic_fetch_add(&bench.closed, 1);
    atomic_store(&bench.stop, 1);

    return -1;
}


static void
bench_consume(bench_conn_t *c)
{
    struct timeval    tv;
    amqp_envelope_t   env;
    amqp_rpc_reply_t  r;

    while (!atomic_load(&bench.stop)
           && atomic_load(&bench.received) < bench.expected)
    {
        tv.tv_sec = 0;
        tv.tv_usec = BENCH_POLL_MS * 1000;

        amqp_maybe_release_buffers(c->conn);

        r = amqp_consume_message(c->conn, &env, &tv, 0);

        if (r.reply_type == AMQP_RESPONSE_NORMAL) {
            if (bench.mode == MODE_QUEUE) {
                bench_delivery(c, &env);

            } else {
                bench_answer(c, &env);
            }

            amqp_destroy_envelope(&env);
            continue;
        }

        if (r.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION
            && r.library_error == AMQP_STATUS_TIMEOUT)
        {
            continue;
        }

        if (r.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION
            && r.library_error == AMQP_STATUS_UNEXPECTED_STATE)
        {
            if (bench_other_frame(c) == 0) {
                continue;
            }

            return;
        }

        bench_lost("consume", r.library_error);
        return;
    }
}


/* queue: check the producer's order, count, ack */

static void
bench_delivery(bench_conn_t *c, amqp_envelope_t *env)
{
    int              rc, pub;
    char             buf[80], *p;
    size_t           len;
    int64_t          now, ts;
    long long        k, consumed;
    bench_window_t  *w;

    now = bench_now_us();

    rc = amqp_basic_ack(c->conn, BENCH_CHANNEL, env->delivery_tag, 0);
    if (rc != AMQP_STATUS_OK) {
        bench_lost("basic.ack", rc);
        return;
    }

    len = env->message.body.len < sizeof(buf) - 1
          ? env->message.body.len : sizeof(buf) - 1;
    memcpy(buf, env->message.body.bytes, len);
    buf[len] = '\0';

    ts = strtoll(buf, &p, 10);
    pub = (int) strtol(p, &p, 10);
    k = strtoll(p, NULL, 10);

    if (pub < 0 || pub >= bench.pubs) {
        atomic_fetch_add(&bench.errors, 1);
        return;
    }

    /*
     * The producer sets waiting before it rechecks consumed, and here
     * consumed is raised before waiting is read: one of the two sees
     * the other, so a wake-up is never lost.
     */

    w = &bench.windows[pub];
    consumed = atomic_fetch_add(&w->consumed, 1) + 1;

    if (atomic_load(&w->waiting)) {
        pthread_mutex_lock(&w->lock);

        if (w->waiting && consumed >= w->wake_at) {
            atomic_store(&w->waiting, 0);
            pthread_cond_signal(&w->cond);
        }

        pthread_mutex_unlock(&w->lock);
    }

    if (k + 1 <= c->last_k[pub]) {
        atomic_fetch_add(&bench.out_of_order, 1);
        return;
    }

    c->last_k[pub] = k + 1;

    bench_hist_record(&c->hist, now - ts);
    bench_received();
}


/* rpc: the request's body back to reply_to with its correlation_id */

static void
bench_answer(bench_conn_t *c, amqp_envelope_t *env)
{
    int                      rc;
    amqp_basic_properties_t  props, *in;

    in = &env->message.properties;

    if (!(in->_flags & AMQP_BASIC_REPLY_TO_FLAG)
        || !(in->_flags & AMQP_BASIC_CORRELATION_ID_FLAG))
    {
        atomic_fetch_add(&bench.errors, 1);
        (void) amqp_basic_ack(c->conn, BENCH_CHANNEL, env->delivery_tag, 0);
        return;
    }

    memset(&props, 0, sizeof(props));
    props._flags = AMQP_BASIC_CORRELATION_ID_FLAG
                   | AMQP_BASIC_DELIVERY_MODE_FLAG;
    props.correlation_id = in->correlation_id;
    props.delivery_mode = AMQP_DELIVERY_NONPERSISTENT;

    rc = amqp_basic_publish(c->conn, BENCH_CHANNEL, amqp_empty_bytes,
                            in->reply_to, 0, 0, &props, env->message.body);
    if (rc == AMQP_STATUS_OK) {
        rc = amqp_basic_ack(c->conn, BENCH_CHANNEL, env->delivery_tag, 0);
    }

    if (rc != AMQP_STATUS_OK) {
        bench_lost("reply", rc);
        return;
    }

    atomic_fetch_add(&bench.progress, 1);
}


/*
 * What amqp_consume_message() leaves when the next frame is no delivery:
 * a closed channel or connection ends this one, anything else (a
 * returned message, connection.blocked) is skipped.
 */

static int
bench_other_frame(bench_conn_t *c)
{
    int             rc;
    amqp_frame_t    frame;
    amqp_message_t  msg;

    rc = amqp_simple_wait_frame(c->conn, &frame);
    if (rc != AMQP_STATUS_OK) {
        bench_lost("frame", rc);
        return -1;
    }

    if (frame.frame_type != AMQP_FRAME_METHOD) {
        return 0;
    }

    switch (frame.payload.method.id) {

    case AMQP_BASIC_RETURN_METHOD:
        atomic_fetch_add(&bench.errors, 1);

        if (amqp_read_message(c->conn, frame.channel, &msg, 0).reply_type
            == AMQP_RESPONSE_NORMAL)
        {
            amqp_destroy_message(&msg);
        }

        return 0;

    case AMQP_CHANNEL_CLOSE_METHOD:
        bench_closed("channel", frame.payload.method.decoded);
        return -1;

    case AMQP_CONNECTION_CLOSE_METHOD:
        bench_closed("connection", frame.payload.method.decoded);
        return -1;

    case AMQP_BASIC_CANCEL_METHOD:
        bench_closed("consumer", NULL);
        return -1;

    default:
        return 0;
    }
}


/* channel.close and connection.close start alike: code, then text */

static void
bench_closed(const char *what, amqp_channel_close_t *m)
{
    if (!atomic_load(&bench.stop)) {
        if (m != NULL) {
            fprintf(stderr, "kvmq-amqp-bench: the broker closed the %s: "
                    "%u %.*s\n", what, m->reply_code,
                    (int) m->reply_text.len, (char *) m->reply_text.bytes);

        } else {
            fprintf(stderr, "kvmq-amqp-bench: the broker closed the %s\n",
                    what);
        }
    }

    atomic_fetch_add(&bench.errors, 1);
    atomic_fetch_add(&bench.closed, 1);
}


static void
bench_produce(bench_conn_t *c)
{
    int                      rc;
    char                    *buf;
    long long                sent;
    amqp_bytes_t             body;
    amqp_basic_properties_t  props;

    buf = malloc(bench.bytes + 80);
    if (buf == NULL) {
        fprintf(stderr, "kvmq-amqp-bench: out of memory\n");
        atomic_fetch_add(&bench.errors, 1);
        return;
    }

    memset(&props, 0, sizeof(props));
    props._flags = AMQP_BASIC_DELIVERY_MODE_FLAG;
    props.delivery_mode = AMQP_DELIVERY_NONPERSISTENT;

    if (bench_wait_go() != 0) {
        free(buf);
        return;
    }

    for (sent = 0; sent < c->quota; sent++) {
        if (bench_window_wait(c, sent) != 0) {
            break;
        }

        body.bytes = buf;
        body.len = bench_body(buf, c->n, sent);

        rc = amqp_basic_publish(c->conn, BENCH_CHANNEL, amqp_empty_bytes,
                                amqp_cstring_bytes(BENCH_QUEUE), 0, 0,
                                &props, body);
        if (rc != AMQP_STATUS_OK) {
            bench_lost("basic.publish", rc);
            break;
        }
    }

    free(buf);
}


/* sleep while the producer has WINDOW unconsumed; -1 when stopped */

static int
bench_window_wait(bench_conn_t *c, long long sent)
{
    int              rc;
    long long        free_at;
    struct timespec  ts;
    bench_window_t  *w;

    w = &bench.windows[c->n];

    if (sent - atomic_load(&w->consumed) < bench.window) {
        return atomic_load(&bench.stop) ? -1 : 0;
    }

    /* half the window free again, or one message with a window of 1 */
    free_at = bench.window / 2 > 1 ? bench.window / 2 : 1;

    pthread_mutex_lock(&w->lock);

    w->wake_at = sent - bench.window + free_at;
    atomic_store(&w->waiting, 1);

    while (atomic_load(&w->consumed) < w->wake_at
           && !atomic_load(&bench.stop))
    {
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += BENCH_POLL_MS * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }

        rc = pthread_cond_timedwait(&w->cond, &w->lock, &ts);
        if (rc != 0 && rc != ETIMEDOUT) {
            break;
        }
    }

    atomic_store(&w->waiting, 0);

    pthread_mutex_unlock(&w->lock);

    return atomic_load(&bench.stop) ? -1 : 0;
}


/* rpc caller: WINDOW calls in flight over direct reply-to */

static void
bench_call(bench_conn_t *c)
{
    int                      rc, n;
    char                    *buf, corr[48], *p;
    int64_t                  now, ts;
    long long                sent, done, k;
    struct timeval           tv;
    amqp_bytes_t             body;
    amqp_envelope_t          env;
    amqp_rpc_reply_t         r;
    amqp_basic_properties_t  props, *in;

    /* direct reply-to wants its no-ack consumer before the first call */

    amqp_basic_consume(c->conn, BENCH_CHANNEL,
                       amqp_cstring_bytes(BENCH_REPLY_TO), amqp_empty_bytes,
                       0, 1, 0, amqp_empty_table);
    if (bench_reply_ok(amqp_get_rpc_reply(c->conn), "basic.consume "
                       BENCH_REPLY_TO) != 0)
    {
        atomic_fetch_add(&bench.errors, 1);
        atomic_fetch_add(&bench.closed, 1);
        atomic_store(&bench.stop, 1);
        return;
    }

    buf = malloc(bench.bytes + 80);
    if (buf == NULL) {
        fprintf(stderr, "kvmq-amqp-bench: out of memory\n");
        atomic_fetch_add(&bench.errors, 1);
        return;
    }

    memset(&props, 0, sizeof(props));
    props._flags = AMQP_BASIC_DELIVERY_MODE_FLAG | AMQP_BASIC_REPLY_TO_FLAG
                   | AMQP_BASIC_CORRELATION_ID_FLAG;
    props.delivery_mode = AMQP_DELIVERY_NONPERSISTENT;
    props.reply_to = amqp_cstring_bytes(BENCH_REPLY_TO);

    if (bench_wait_go() != 0) {
        free(buf);
        return;
    }

    sent = 0;
    done = 0;

    while (done < c->quota && !atomic_load(&bench.stop)) {

        while (sent < c->quota && sent - done < bench.window) {
            n = snprintf(corr, sizeof(corr), "%d-%lld", c->n, sent);
            props.correlation_id.bytes = corr;
            props.correlation_id.len = n;

            body.bytes = buf;
            body.len = bench_body(buf, c->n, sent);

            rc = amqp_basic_publish(c->conn, BENCH_CHANNEL, amqp_empty_bytes,
                                    amqp_cstring_bytes(BENCH_RPC_QUEUE),
                                    0, 0, &props, body);
            if (rc != AMQP_STATUS_OK) {
                bench_lost("basic.publish", rc);
                goto done;
            }

            sent++;
        }

        tv.tv_sec = 0;
        tv.tv_usec = BENCH_POLL_MS * 1000;

        amqp_maybe_release_buffers(c->conn);

        r = amqp_consume_message(c->conn, &env, &tv, 0);

        if (r.reply_type != AMQP_RESPONSE_NORMAL) {
            if (r.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION
                && r.library_error == AMQP_STATUS_TIMEOUT)
            {
                continue;
            }

            if (r.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION
                && r.library_error == AMQP_STATUS_UNEXPECTED_STATE)
            {
                if (bench_other_frame(c) == 0) {
                    continue;
                }

                goto done;
            }

            bench_lost("consume", r.library_error);
            goto done;
        }

        now = bench_now_us();

        /* the body names its call: the correlation_id must match it */

        in = &env.message.properties;
        n = env.message.body.len < 79 ? (int) env.message.body.len : 79;
        memcpy(buf, env.message.body.bytes, n);
        buf[n] = '\0';

        ts = strtoll(buf, &p, 10);
        (void) strtol(p, &p, 10);
        k = strtoll(p, NULL, 10);
        n = snprintf(corr, sizeof(corr), "%d-%lld", c->n, k);

        if (!(in->_flags & AMQP_BASIC_CORRELATION_ID_FLAG)
            || in->correlation_id.len != (size_t) n
            || memcmp(in->correlation_id.bytes, corr, n) != 0)
        {
            atomic_fetch_add(&bench.errors, 1);

        } else {
            bench_hist_record(&c->hist, now - ts);
        }

        amqp_destroy_envelope(&env);

        done++;
        bench_received();
    }

done:

    free(buf);
}


/* a producer or caller waits for every consumer; -1 if the run ended */

static int
bench_wait_go(void)
{
    int  go;

    pthread_mutex_lock(&bench.go_lock);

    while (!bench.go && !atomic_load(&bench.stop)) {
        pthread_cond_wait(&bench.go_cond, &bench.go_lock);
    }

    go = bench.go && !atomic_load(&bench.stop);

    pthread_mutex_unlock(&bench.go_lock);

    return go ? 0 : -1;
}


static void
bench_received(void)
{
    long long  n;

    atomic_fetch_add(&bench.progress, 1);

    n = atomic_fetch_add(&bench.received, 1) + 1;

    if (n == bench.expected) {
        atomic_store(&bench.cpu_end, bench_cpu_us());
        atomic_store(&bench.done, 1);
        atomic_store(&bench.end, bench_now_us());
    }
}


static void
bench_lost(const char *why, int status)
{
    if (atomic_load(&bench.stop)) {
        return;
    }

    fprintf(stderr, "kvmq-amqp-bench: connection lost: %s: %s\n", why,
            amqp_error_string2(status));

    atomic_fetch_add(&bench.closed, 1);
}


/* the body: send time, producer, its message number, padding to BYTES */

static size_t
bench_body(char *buf, int n, long long k)
{
    int  len;

    len = snprintf(buf, 80, "%lld %d %lld ", (long long) bench_now_us(), n,
                   k);

    if (len < bench.bytes) {
        memset(buf + len, 'x', bench.bytes - len);
        len = (int) bench.bytes;
    }

    return (size_t) len;
}


static void
bench_report(void)
{
    int        i;
    double     secs;
    int64_t    start, end, cpu;
    long long  received;

    /* the threads are joined: their histograms are ours to read */
    for (i = 0; i < bench.nconns; i++) {
        bench_hist_merge(&bench.hist, &bench.conns[i].hist);
    }

    start = bench.start;
    end = atomic_load(&bench.end);
    received = atomic_load(&bench.received);

    secs = (start != 0 && end > start ? end - start : 1) / 1e6;
    cpu = start != 0 ? atomic_load(&bench.cpu_end) - bench.cpu_start : 0;

    if (bench.mode == MODE_QUEUE) {
        printf("queue: %lld consumers (prefetch %lld, ack), %lld producers, "
               "%lld messages of %lld bytes\n", bench.subs, bench.prefetch,
               bench.pubs, bench.messages, bench.bytes);
        printf("  %lld consumed in %.3f s: %.0f messages/s\n",
               received, secs, received / secs);

    } else {
        printf("rpc: %lld workers, %lld callers (window %lld), %lld calls "
               "of %lld bytes\n", bench.subs, bench.pubs, bench.window,
               bench.messages, bench.bytes);
        printf("  %lld answered in %.3f s: %.0f calls/s\n",
               received, secs, received / secs);
    }

    bench_hist_print(&bench.hist);

    printf("  errors %lld, lost %lld, out of order %lld, "
           "connections lost %d\n",
           (long long) atomic_load(&bench.errors), bench.expected - received,
           (long long) atomic_load(&bench.out_of_order),
           atomic_load(&bench.closed));

    printf("  client CPU %.0f%%\n", cpu > 0 ? cpu / 1e4 / secs : 0.0);
}
