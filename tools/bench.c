
/*
 * kvmq-bench: a load generator for kvmq's WebSocket door, one process
 * with many connections on one libwebsockets event loop; fanout's
 * subscribers, where lws's per-frame cost made the client the limit,
 * read without it in a thread of their own (bench_raw.c).
 *
 *   kvmq-bench [--url URL] [--target T] cmd [-c CONNS] [-n TOTAL]
 *              [-P PIPELINE] [--command "NAME ARGS..."]
 *   kvmq-bench [--url URL] [--target T] fanout [-s SUBS] [-C CHANNELS]
 *              [-p PUBS] [-m MESSAGES] [-b BYTES] [-w WINDOW]
 *              [--stalled N]
 *   kvmq-bench [--url URL] queue [-c CONSUMERS] [-p PRODUCERS]
 *              [-f PREFETCH] [-m MESSAGES] [-b BYTES] [-w WINDOW] [--http]
 *   kvmq-bench [--url URL] rpc [-c WORKERS] [-p CALLERS] [-w WINDOW]
 *              [-m CALLS] [-b BYTES]
 *
 * cmd: every connection keeps PIPELINE commands in flight until TOTAL
 * have been answered; latency is send to reply.  Replies come in order,
 * so a ring of send times per connection is enough.
 *
 * fanout: subscriber i listens on channel i % CHANNELS; once all are
 * subscribed, the publishers send MESSAGES in all, round robin over the
 * channels, each with at most WINDOW PUBLISH in flight.  A message's data
 * starts with its send time (CLOCK_MONOTONIC, the same clock here), so a
 * delivery's latency is publish to receive.  A subscriber expects the
 * channel's seq to grow: a smaller one is out of order, and lost is what
 * was expected and never came.
 *
 * fanout --stalled N: the first N subscribers stop reading once
 * subscribed (bench_raw.c drops EPOLLIN; lws_rx_flow_control with TLS);
 * their messages are not expected.  When the others have all, they
 * read again, since a server's close frame waits behind what the socket
 * buffers hold: each is then either closed (counted by close code)
 * or reads all of its channel's messages (not closed).  A server that
 * gives up on it first (kvmq waits lingering_timeout after its 1008,
 * then the kernel retries the orphaned socket for a minute or so)
 * resets the connection, and what it had sent is lost with the close
 * frame: that counts as code 1006.
 *
 * --target nchan (fanout) and webdis (cmd, fanout) drive those peers
 * instead, with the same counting: see bench_peer.c for how.
 *
 * Every mode reports the client's own CPU (user + system over the wall
 * time of the measurement): near 100% the client may be the limit.
 *
 * queue: the consumers declare and purge the queue, CONSUME it with
 * PREFETCH and ACK each delivery; then the producers Q.PUBLISH.  A
 * message carries its producer and number: each consumer must see a
 * producer's numbers grow (round robin gives it a subsequence).
 * queue --http: the producers POST over HTTP instead (bench_peer.c's
 * keep-alive client, in a thread), WINDOW connections each with one
 * request in flight; each connection is then a source of numbers.
 *
 * rpc: the workers CONSUME the RPC queue and answer each request with
 * its own body (RPC.REPLY, then ACK); the callers keep WINDOW RPC calls
 * in flight each, and the reply's send time gives the round trip.
 *
 * Latencies go into a log-linear histogram in microseconds: exact below
 * 64 us, then 32 buckets per power of two (3% resolution); bench_stats.c
 * keeps it, and the CPU figures, alike with kvmq-amqp-bench's.
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "bench.h"
#include "kvmq_print.h"


#define BENCH_QUEUE      "kvmq-bench"
#define BENCH_RPC_QUEUE  "kvmq-bench.rpc"


static int bench_parse(int argc, char **argv);
static int bench_target(const char *name);
static int bench_usage(int rc);
static void bench_open(kvmq_ws_t *ws);
static void bench_message(kvmq_ws_t *ws, char *data, size_t len);
static void bench_close(kvmq_ws_t *ws, const char *why);
static void bench_cmd_fill(bench_conn_t *c);
static void bench_pub_fill(bench_conn_t *c);
static void bench_sub_push(bench_conn_t *c, const char *data, size_t len);
static void bench_delivery(bench_conn_t *c, const char *data);
static void bench_tick(lws_sorted_usec_list_t *sul);
static void bench_unstall(void);
static void bench_stalled_closed(bench_conn_t *c, int code);
static void bench_report(void);


bench_t  bench;


static const kvmq_ws_handler_t  bench_handler = {
    bench_open, bench_message, bench_close
};


int
main(int argc, char **argv)
{
    int             i, rc;
    long long       per, extra, ch;
    const char     *url;
    struct rlimit   rl;

    bench.t0 = bench_now_us();

    if (bench_parse(argc, argv) != 0) {
        return 2;
    }

    /* a connection is a descriptor: allow as many as the hard limit */
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        (void) setrlimit(RLIMIT_NOFILE, &rl);
    }

    url = bench.url.host[0] ? NULL : getenv("KVMQ_URL");

    if (bench.url.host[0] == '\0'
        && kvmq_url_parse(url && url[0] ? url
                          : "http://127.0.0.1:8080/kvmq/", &bench.url) != 0)
    {
        fprintf(stderr, "kvmq-bench: invalid URL\n");
        return 2;
    }

    if (bench.target == TARGET_WEBDIS && bench.mode == MODE_CMD) {
        rc = bench_webdis_cmd();
        if (rc == 0) {
            bench_cpu_mark(1);
            bench_report();
            rc = (bench.errors || bench.answered < bench.total) ? 1 : 0;
        }

        return rc;
    }

    if (bench.mode == MODE_CMD) {
        bench.nconns = (int) bench.subs;

    } else if (bench.target == TARGET_WEBDIS || bench.http) {
        /* its publishers are HTTP connections of bench_peer.c */
        bench.nconns = (int) bench.subs;

    } else {
        bench.nconns = (int) (bench.subs + bench.pubs);
    }

    bench.conns = calloc(bench.nconns, sizeof(bench_conn_t));
    bench.payload = malloc(bench.bytes + 256);
    bench.chan_msgs = calloc(bench.channels, sizeof(long long));
    if (bench.conns == NULL || bench.payload == NULL
        || bench.chan_msgs == NULL)
    {
        fprintf(stderr, "kvmq-bench: out of memory\n");
        return 1;
    }

    for (i = 0; i < bench.nconns; i++) {
        bench.conns[i].role = bench.mode == MODE_CMD ? BENCH_CMD
                              : (i < bench.subs ? BENCH_SUB : BENCH_PUB);

        if (i < bench.subs
            && (bench.mode == MODE_QUEUE
                || (bench.mode == MODE_FANOUT && bench.nsrc > 0)))
        {
            bench.conns[i].last_k = calloc(bench.nsrc ? bench.nsrc
                                                      : bench.pubs,
                                           sizeof(long long));
            if (bench.conns[i].last_k == NULL) {
                fprintf(stderr, "kvmq-bench: out of memory\n");
                return 1;
            }
        }
    }

    if (bench.mode == MODE_CMD) {
        per = bench.total / bench.nconns;
        extra = bench.total % bench.nconns;

        for (i = 0; i < bench.nconns; i++) {
            bench.conns[i].quota = per + (i < extra);
            bench.conns[i].sent_at = calloc(bench.pipeline, sizeof(int64_t));
            if (bench.conns[i].sent_at == NULL) {
                fprintf(stderr, "kvmq-bench: out of memory\n");
                return 1;
            }
        }

    } else {
        per = bench.messages / bench.pubs;
        extra = bench.messages % bench.pubs;

        for (i = 0; i < bench.pubs && bench.subs + i < bench.nconns; i++) {
            bench.conns[bench.subs + i].quota = per + (i < extra);
            bench.conns[bench.subs + i].channel = (int) (i % bench.channels);
        }

        /* nchan's publishers keep to a channel, the others round robin */
        for (ch = 0; ch < bench.channels; ch++) {
            bench.chan_msgs[ch] = bench.messages / bench.channels
                                  + (ch < bench.messages % bench.channels);
        }

        if (bench.target == TARGET_NCHAN) {
            memset(bench.chan_msgs, 0, bench.channels * sizeof(long long));

            for (i = 0; i < bench.pubs; i++) {
                bench.chan_msgs[i % bench.channels] += per + (i < extra);
            }
        }

        /* the stalled ones are the first: spread over the channels */
        for (i = 0; i < bench.subs; i++) {
            bench.conns[i].channel = (int) (i % bench.channels);
            bench.conns[i].stalled = i < bench.stalled;

            if (bench.mode == MODE_FANOUT && i >= bench.stalled) {
                bench.expected += bench.chan_msgs[i % bench.channels];
            }
        }

        if (bench.mode != MODE_FANOUT) {
            bench.expected = bench.messages;
        }
    }

    bench.ctx = kvmq_ws_context(bench.url.tls);
    if (bench.ctx == NULL) {
        fprintf(stderr, "kvmq-bench: cannot create the lws context\n");
        return 1;
    }

    /*
     * Fanout's subscribers read without lws, in a thread of their own:
     * lws's frame parsing, a callback per frame, would take the CPU
     * (not with TLS: lws keeps them).
     */
    bench.raw = bench.mode == MODE_FANOUT && !bench.url.tls;

    if (bench.raw && bench_raw_start() != 0) {
        lws_context_destroy(bench.ctx);
        return 3;
    }

    for (i = bench.raw ? (int) bench.subs : 0; i < bench.nconns; i++) {
        bench.conns[i].ws = kvmq_ws_connect(bench.ctx, &bench.url,
                                            bench.target == TARGET_KVMQ
                                            ? "ws"
                                            : bench_peer_path(&bench.conns[i]),
                                            &bench_handler, &bench.conns[i]);
        if (bench.open_failed) {
            break;
        }
    }

    bench.last_change = bench_now_us();
    lws_sul_schedule(bench.ctx, 0, &bench.tick, bench_tick,
                     100 * LWS_US_PER_MS);

    while (!bench.done && !bench.open_failed) {
        if (lws_service(bench.ctx, 0) < 0) {
            break;
        }

        if (bench.raw && !bench.publishing && bench_raw_ready()) {
            bench_start_publishing();
        }
    }

    /* after a timeout the tick marked the last progress */
    if (!bench.timed_out) {
        bench_cpu_mark(1);
    }

    bench.cpu_done = 1;

    bench_peer_stop();

    if (bench.stalled && !bench.open_failed) {
        bench_unstall();
    }

    if (bench.raw) {
        bench_raw_stop();
    }

    lws_sul_cancel(&bench.tick);

    if (bench.open_failed) {
        lws_context_destroy(bench.ctx);
        return 3;
    }

    bench_report();

    lws_context_destroy(bench.ctx);

    return (bench.errors || bench.received < bench.expected
            || bench.out_of_order || bench.closed) ? 1 : 0;
}


/*
 * The stalled subscribers read again once the others have everything:
 * a server that closed one queued its close frame behind what the
 * socket buffers still hold, so reading it all is the only way to see
 * the code.  One that reads all its channel's messages was not closed.
 */

static void
bench_unstall(void)
{
    int  i;

    if (bench.raw) {
        bench_raw_unstall();
    }

    for (i = 0; i < bench.stalled; i++) {
        if (bench.conns[i].ws && bench.conns[i].ws->wsi) {
            lws_rx_flow_control(bench.conns[i].ws->wsi, 1);
        }
    }

    bench.done = 0;
    bench.progress = 1;
    bench.last_change = bench_now_us();
    lws_sul_schedule(bench.ctx, 0, &bench.tick, bench_tick,
                     100 * LWS_US_PER_MS);

    while (!bench.done
           && __atomic_load_n(&bench.settled, __ATOMIC_RELAXED)
              < bench.stalled)
    {
        if (lws_service(bench.ctx, 0) < 0) {
            break;
        }
    }

    /* what is still open is closed by us now */
    bench.done = 1;
}


/* the client's own CPU: from the measurement's start to its end */

void
bench_cpu_mark(int end)
{
    if (end) {
        bench.cpu_end = bench_cpu_us();
        bench.wall_end = bench_now_us();
        return;
    }

    bench.cpu_start = bench_cpu_us();
    bench.wall_start = bench_now_us();
}


static int
bench_parse(int argc, char **argv)
{
    int          i, cargc;
    char        *line, **cargv;
    size_t       len;
    long long   *p, n;
    const char  *command;

    bench.total = 100000;
    bench.pipeline = 32;
    bench.subs = 0;
    bench.channels = 1;
    bench.pubs = 1;
    bench.messages = 10000;
    bench.bytes = 64;
    bench.window = 64;
    bench.prefetch = 100;
    bench.timeout_ms = 10000;
    command = "PING";

    /* --url and --target may come before the mode */

    for (i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--url") == 0) {
            if (kvmq_url_parse(argv[i + 1], &bench.url) != 0) {
                fprintf(stderr, "kvmq-bench: invalid URL \"%s\"\n",
                        argv[i + 1]);
                return -1;
            }

        } else if (strcmp(argv[i], "--target") == 0) {
            if (bench_target(argv[i + 1]) != 0) {
                return -1;
            }

        } else {
            break;
        }
    }

    if (i >= argc) {
        return bench_usage(-1);
    }

    if (strcmp(argv[i], "cmd") == 0) {
        bench.mode = MODE_CMD;
        bench.subs = 4;

    } else if (strcmp(argv[i], "fanout") == 0) {
        bench.mode = MODE_FANOUT;
        bench.subs = 100;

    } else if (strcmp(argv[i], "queue") == 0) {
        bench.mode = MODE_QUEUE;
        bench.subs = 4;

    } else if (strcmp(argv[i], "rpc") == 0) {
        bench.mode = MODE_RPC;
        bench.subs = 2;
        bench.pubs = 8;
        bench.window = 1;

    } else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0
               || strcmp(argv[i], "help") == 0)
    {
        return bench_usage(1);

    } else {
        fprintf(stderr, "kvmq-bench: unknown mode \"%s\"\n", argv[i]);
        return bench_usage(-1);
    }

    for (i++; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            return bench_usage(1);
        }

        if (strcmp(argv[i], "--http") == 0 && bench.mode == MODE_QUEUE) {
            bench.http = 1;
            continue;
        }

        if (i + 1 >= argc) {
            fprintf(stderr, "kvmq-bench: \"%s\" needs a value\n", argv[i]);
            return -1;
        }

        if (strcmp(argv[i], "--command") == 0) {
            command = argv[++i];
            continue;
        }

        if (strcmp(argv[i], "--url") == 0) {
            if (kvmq_url_parse(argv[++i], &bench.url) != 0) {
                fprintf(stderr, "kvmq-bench: invalid URL \"%s\"\n", argv[i]);
                return -1;
            }

            continue;
        }

        if (strcmp(argv[i], "--target") == 0) {
            if (bench_target(argv[++i]) != 0) {
                return -1;
            }

            continue;
        }

        p = NULL;

        if (strcmp(argv[i], "-c") == 0 || strcmp(argv[i], "-s") == 0) {
            p = &bench.subs;

        } else if (strcmp(argv[i], "-n") == 0) {
            p = &bench.total;

        } else if (strcmp(argv[i], "-P") == 0) {
            p = &bench.pipeline;

        } else if (strcmp(argv[i], "-C") == 0) {
            p = &bench.channels;

        } else if (strcmp(argv[i], "-p") == 0) {
            p = &bench.pubs;

        } else if (strcmp(argv[i], "-m") == 0) {
            p = &bench.messages;

        } else if (strcmp(argv[i], "-b") == 0) {
            p = &bench.bytes;

        } else if (strcmp(argv[i], "-w") == 0) {
            p = &bench.window;

        } else if (strcmp(argv[i], "-f") == 0) {
            p = &bench.prefetch;

        } else if (strcmp(argv[i], "-t") == 0) {
            p = &bench.timeout_ms;

        } else if (strcmp(argv[i], "--stalled") == 0
                   && bench.mode == MODE_FANOUT)
        {
            p = &bench.stalled;
        }

        n = bench_num(argv[i + 1]);

        if (p == NULL || n < 0) {
            fprintf(stderr, "kvmq-bench: bad option \"%s %s\"\n", argv[i],
                    argv[i + 1]);
            return -1;
        }

        *p = n;
        i++;
    }

    if (bench.subs < 1 || bench.pipeline < 1 || bench.channels < 1
        || bench.pubs < 1 || bench.window < 1 || bench.prefetch < 1
        || bench.subs > 100000
        || bench.pubs > 100000)
    {
        fprintf(stderr, "kvmq-bench: counts must be at least 1\n");
        return -1;
    }

    if (bench.stalled >= bench.subs) {
        fprintf(stderr, "kvmq-bench: --stalled must be less than -s\n");
        return -1;
    }

    if (bench_peer_check() != 0) {
        return -1;
    }

    /* a connection is a source: its requests are answered in order */
    if (bench.http) {
        bench.nsrc = bench.pubs * bench.window;
    }

    /* the command as a JSON array, spliced after "cmd": */

    line = strdup(command);
    if (line == NULL) {
        return -1;
    }

    cargc = kvmq_split_line(line, &cargv);
    if (cargc <= 0) {
        fprintf(stderr, "kvmq-bench: bad --command\n");
        return -1;
    }

    bench.cmd_json = kvmq_cmd_json(0, cargc, cargv, &len);
    bench.cmd_path = bench_webdis_path(cargc, cargv);
    free(cargv);

    if (bench.cmd_json == NULL || bench.cmd_path == NULL) {
        return -1;
    }

    /* {"id":0,"cmd":[...]} -> [...] */
    bench.cmd_json = strchr(bench.cmd_json, '[');
    bench.cmd_json[strlen(bench.cmd_json) - 1] = '\0';

    return 0;
}


static int
bench_target(const char *name)
{
    if (strcmp(name, "kvmq") == 0) {
        bench.target = TARGET_KVMQ;

    } else if (strcmp(name, "nchan") == 0) {
        bench.target = TARGET_NCHAN;

    } else if (strcmp(name, "webdis") == 0) {
        bench.target = TARGET_WEBDIS;

    } else {
        fprintf(stderr, "kvmq-bench: unknown target \"%s\"\n", name);
        return -1;
    }

    return 0;
}


static int
bench_usage(int rc)
{
    fputs("usage: kvmq-bench [--url URL] [--target T] cmd [-c CONNS] "
          "[-n TOTAL]\n"
          "                  [-P PIPELINE] [--command \"NAME ARGS...\"] "
          "[-t MS]\n"
          "       kvmq-bench [--url URL] [--target T] fanout [-s SUBS] "
          "[-C CHANNELS]\n"
          "                  [-p PUBS] [-m MESSAGES] [-b BYTES] "
          "[-w WINDOW]\n"
          "                  [--stalled N] [-t MS]\n"
          "       kvmq-bench [--url URL] queue [-c CONSUMERS] [-p PRODUCERS] "
          "[-f PREFETCH]\n"
          "                  [-m MESSAGES] [-b BYTES] [-w WINDOW] [--http] "
          "[-t MS]\n"
          "       kvmq-bench [--url URL] rpc [-c WORKERS] [-p CALLERS] "
          "[-w WINDOW]\n"
          "                  [-m CALLS] [-b BYTES] [-t MS]\n"
          "\n"
          "cmd: CONNS WebSockets (4) pipelining PIPELINE (32) commands\n"
          "(PING) until TOTAL (100000) are answered; commands/s.\n"
          "fanout: SUBS subscribers (100) on CHANNELS channels (1), PUBS\n"
          "publishers (1) sending MESSAGES (10000) of BYTES (64) with\n"
          "WINDOW (64) in flight each; deliveries/s, publish-to-receive\n"
          "latency.  --stalled N: N of the subscribers never read once\n"
          "subscribed; reports how many the server closed, by code.\n"
          "queue: CONSUMERS (4) with PREFETCH (100) acknowledging each\n"
          "message, PRODUCERS (1) publishing MESSAGES (10000) into queue\n"
          "\"" BENCH_QUEUE "\" (purged first); messages/s, publish to\n"
          "consume latency.  --http: the producers POST to\n"
          "queues/" BENCH_QUEUE "/messages over keep-alive HTTP/1.1, one\n"
          "request in flight on each of their WINDOW connections.\n"
          "rpc: WORKERS (2) answering, CALLERS (8) with WINDOW (1) calls in\n"
          "flight each, CALLS (10000) in all; calls/s, round-trip latency.\n"
          "--target kvmq (default), nchan (fanout only; URL of the prefix\n"
          "of its sub/ and pub/ locations) or webdis (cmd over HTTP with\n"
          "PIPELINE 1, fanout: WebSocket subscribers, HTTP publishers).\n"
          "All report p50/p90/p99/max latency, errors, lost and out of\n"
          "order messages and the client's CPU, and give up after -t MS\n"
          "(10000) without progress.  Exit status: 0 all answered and\n"
          "delivered in order (but to stalled subscribers),\n"
          "1 otherwise, 2 usage, 3 cannot connect.\n",
          rc > 0 ? stdout : stderr);

    return rc > 0 ? 1 : -1;
}


static void
bench_open(kvmq_ws_t *ws)
{
    int            n;
    char           buf[256];
    const char    *q;
    bench_conn_t  *c;

    c = ws->data;
    c->opened = 1;

    if (bench.target != TARGET_KVMQ) {
        bench_peer_open(c);
        return;
    }

    switch (c->role) {

    case BENCH_CMD:
        if (bench.start == 0) {
            bench.start = bench_now_us();
            bench_cpu_mark(0);
        }

        bench_cmd_fill(c);
        break;

    case BENCH_SUB:
        if (bench.mode == MODE_FANOUT) {
            n = snprintf(buf, sizeof(buf),
                         "{\"id\":1,\"cmd\":[\"SUBSCRIBE\",\"bench.%d\"]}",
                         c->channel);
            kvmq_ws_send(ws, buf, n);
            break;
        }

        q = bench.mode == MODE_QUEUE ? BENCH_QUEUE : BENCH_RPC_QUEUE;

        n = snprintf(buf, sizeof(buf),
                     "{\"id\":0,\"cmd\":[\"Q.DECLARE\",\"%s\"]}", q);
        kvmq_ws_send(ws, buf, n);

        n = snprintf(buf, sizeof(buf),
                     "{\"id\":0,\"cmd\":[\"Q.PURGE\",\"%s\"]}", q);
        kvmq_ws_send(ws, buf, n);

        n = snprintf(buf, sizeof(buf),
                     "{\"id\":1,\"cmd\":[\"CONSUME\",\"%s\",\"PREFETCH\","
                     "\"%lld\"]}", q, bench.prefetch);
        kvmq_ws_send(ws, buf, n);
        break;

    default:
        if (bench.publishing) {
            bench_pub_fill(c);
        }
    }
}


/* a subscriber (consumer, worker) is in place: all of them, publish */

void
bench_sub_ready(bench_conn_t *c)
{
    c->subscribed = 1;

    /* it reads nothing more: what the server does about it is the test */
    if (c->stalled && bench.raw) {
        bench_raw_pause(c);

    } else if (c->stalled && c->ws && c->ws->wsi) {
        lws_rx_flow_control(c->ws->wsi, 0);
    }

    if (++bench.subscribed < bench.subs) {
        return;
    }

    /* bench_raw.c's thread: the publishers are lws's to start */
    if (bench.raw) {
        bench_raw_subscribed();

    } else {
        bench_start_publishing();
    }
}


void
bench_start_publishing(void)
{
    int  i;

    bench.publishing = 1;
    bench.start = bench_now_us();
    bench_cpu_mark(0);

    if (bench.target != TARGET_KVMQ || bench.http) {
        bench_peer_start();
        return;
    }

    for (i = (int) bench.subs; i < bench.nconns; i++) {
        if (bench.conns[i].opened) {
            bench_pub_fill(&bench.conns[i]);
        }
    }
}


static void
bench_cmd_fill(bench_conn_t *c)
{
    int      n;
    char     buf[4096], *p;
    int64_t  now;

    now = bench_now_us();

    while (c->sent < c->quota && c->sent - c->done < bench.pipeline) {
        n = snprintf(buf, sizeof(buf), "{\"id\":%lld,\"cmd\":%s}", c->sent,
                     bench.cmd_json);

        if (n >= (int) sizeof(buf)) {
            p = malloc(n + 1);
            if (p == NULL) {
                return;
            }

            snprintf(p, n + 1, "{\"id\":%lld,\"cmd\":%s}", c->sent,
                     bench.cmd_json);
            kvmq_ws_send(c->ws, p, n);
            free(p);

        } else {
            kvmq_ws_send(c->ws, buf, n);
        }

        c->sent_at[c->sent % bench.pipeline] = now;
        c->sent++;
    }
}


static void
bench_pub_fill(bench_conn_t *c)
{
    int          n, hdr, pub;
    long long    k;
    const char  *tail;

    pub = (int) (c - bench.conns - bench.subs);

    while (c->sent < c->quota && c->sent - c->done < bench.window) {
        k = bench.pub_next++;

        switch (bench.mode) {

        case MODE_FANOUT:
            hdr = snprintf(bench.payload, 160, "{\"id\":%lld,\"cmd\":"
                           "[\"PUBLISH\",\"bench.%lld\",\"", k,
                           k % bench.channels);
            tail = "\"]}";
            break;

        case MODE_QUEUE:
            hdr = snprintf(bench.payload, 160, "{\"id\":%lld,\"cmd\":"
                           "[\"Q.PUBLISH\",\"" BENCH_QUEUE "\",\"", k);
            tail = "\"]}";
            break;

        default:
            hdr = snprintf(bench.payload, 160, "{\"id\":%lld,\"cmd\":"
                           "[\"RPC\",\"" BENCH_RPC_QUEUE "\",\"", k);
            tail = "\",\"TIMEOUT\",\"10000\"]}";
        }

        /* the data: send time, producer, its message number, padding */
        n = hdr + snprintf(bench.payload + hdr, 80, "%lld %d %lld ",
                           (long long) bench_now_us(), pub, c->sent);

        while (n < hdr + bench.bytes) {
            bench.payload[n++] = 'x';
        }

        memcpy(bench.payload + n, tail, strlen(tail));
        n += strlen(tail);

        kvmq_ws_send(c->ws, bench.payload, n);
        c->sent++;
    }
}


static void
bench_message(kvmq_ws_t *ws, char *data, size_t len)
{
    bench_conn_message(ws->data, data, len);
}


/* a message of lws's connections, or of bench_raw.c's subscribers */

void
bench_conn_message(bench_conn_t *c, char *data, size_t len)
{
    char  *p;

    if (bench.target != TARGET_KVMQ) {
        bench_peer_message(c, data, len);
        return;
    }

    if (strncmp(data, "{\"type\":", 8) == 0) {
        if (c->role != BENCH_SUB) {
            return;
        }

        if (bench.mode == MODE_FANOUT) {
            bench_sub_push(c, data, len);

        } else {
            bench_delivery(c, data);
        }

        return;
    }

    if (strstr(data, ",\"error\":{") != NULL) {
        if (bench_add(&bench.errors, 1) == 0) {
            fprintf(stderr, "kvmq-bench: %s\n", data);
        }
    }

    bench_add(&bench.progress, 1);

    switch (c->role) {

    case BENCH_CMD:
        bench_hist_record(&bench.hist, bench_now_us()
                          - c->sent_at[c->done % bench.pipeline]);
        c->done++;
        bench.answered++;

        if (bench.answered == bench.total) {
            bench.end = bench_now_us();
            bench.done = 1;
            return;
        }

        bench_cmd_fill(c);
        return;

    case BENCH_SUB:
        if (strncmp(data, "{\"id\":2,", 8) == 0) {
            bench.acked++;

            if (bench.received >= bench.expected
                && bench.acked == bench.acks)
            {
                bench.done = 1;
            }

            return;
        }

        if (c->subscribed || strncmp(data, "{\"id\":1,", 8) != 0) {
            return;
        }

        bench_sub_ready(c);
        return;

    default:
        c->done++;

        if (bench.mode == MODE_RPC && (p = strstr(data, ",\"result\":\""))) {
            bench_hist_record(&bench.hist,
                              bench_now_us() - strtoll(p + 11, NULL, 10));

            if (++bench.received >= bench.expected) {
                bench.end = bench_now_us();
                bench.done = 1;
                return;
            }
        }

        bench_pub_fill(c);
    }
}


/* a string field's value: no JSON escapes in what the bench sends */

static int
bench_field(const char *data, const char *name, char *buf, size_t size)
{
    char        key[64];
    size_t      n;
    const char  *p, *e;

    snprintf(key, sizeof(key), "\"%s\":", name);

    p = strstr(data, key);
    if (p == NULL) {
        return -1;
    }

    p += strlen(key);

    if (*p == '"') {
        p++;
        e = strchr(p, '"');

    } else {
        e = p + strcspn(p, ",}");
    }

    if (e == NULL || (size_t) (e - p) >= size) {
        return -1;
    }

    n = e - p;
    memcpy(buf, p, n);
    buf[n] = '\0';

    return 0;
}


/* queue: count, check the order, ACK; rpc: answer, ACK */

static void
bench_delivery(bench_conn_t *c, const char *data)
{
    int         n, pub;
    char       *p, tag[32], to[160], corr[160], body[256], *out;
    size_t      len;
    int64_t     now, ts;
    long long   k;

    if (bench_field(data, "tag", tag, sizeof(tag)) != 0) {
        return;
    }

    if (bench.mode == MODE_RPC) {
        p = strstr(data, ",\"body\":\"");

        if (p == NULL
            || bench_field(data, "reply_to", to, sizeof(to)) != 0
            || bench_field(data, "correlation_id", corr, sizeof(corr)) != 0)
        {
            return;
        }

        p += 9;
        len = strcspn(p, "\"");

        out = malloc(len + sizeof(to) + sizeof(corr) + sizeof(tag) + 128);
        if (out == NULL) {
            return;
        }

        n = sprintf(out, "{\"id\":0,\"cmd\":[\"RPC.REPLY\",\"%s\",\"%s\",\"",
                    to, corr);
        memcpy(out + n, p, len);
        n += len;
        n += sprintf(out + n, "\"]}");
        kvmq_ws_send(c->ws, out, n);

        n = sprintf(out, "{\"id\":0,\"cmd\":[\"ACK\",\"%s\"]}", tag);
        kvmq_ws_send(c->ws, out, n);
        free(out);

        bench_add(&bench.progress, 1);
        return;
    }

    now = bench_now_us();

    n = snprintf(body, sizeof(body), "{\"id\":2,\"cmd\":[\"ACK\",\"%s\"]}",
                 tag);
    kvmq_ws_send(c->ws, body, n);
    bench.acks++;

    p = strstr(data, ",\"body\":\"");
    if (p == NULL) {
        return;
    }

    ts = strtoll(p + 9, &p, 10);
    pub = (int) strtol(p, &p, 10);
    k = strtoll(p, NULL, 10);

    if (pub >= 0 && pub < (bench.nsrc ? bench.nsrc : bench.pubs)) {
        if (k + 1 <= c->last_k[pub]) {
            bench.out_of_order++;
            return;
        }

        c->last_k[pub] = k + 1;
    }

    bench.received++;
    bench_add(&bench.progress, 1);
    bench_hist_record(&bench.hist, now - ts);

    /* done when the ACKs are answered too: none requeued at exit */
    if (bench.received == bench.expected) {
        bench.end = now;
    }
}


/*
 * A delivery, {"type":"message","channel":"...","pattern":null,
 * "data":"...","seq":N}: the data follows the short channel name and
 * the seq ends the message, so neither is searched for through the
 * payload (this runs once per delivery, 100k times a second or more).
 */

static void
bench_sub_push(bench_conn_t *c, const char *data, size_t len)
{
    const char          *p, *e;
    int64_t              now, ts;
    unsigned long long   seq;

    now = bench_now_us();

    if (c->stalled) {
        c->got++;
        bench_add(&bench.progress, 1);

        if (c->got == bench.chan_msgs[c->channel] && !c->settled) {
            c->settled = 1;
            bench.settled++;
        }

        return;
    }

    p = strstr(data + 8, ",\"data\":\"");
    if (p == NULL) {
        return;
    }

    ts = strtoll(p + 9, NULL, 10);

    e = data + len;
    while (e > p && e[-1] != ':') {
        e--;
    }

    if (e - p < 7 || strncmp(e - 7, ",\"seq\":", 7) != 0) {
        return;
    }

    seq = strtoull(e, NULL, 10);

    if (seq <= c->last_seq) {
        bench.out_of_order++;
        return;
    }

    c->last_seq = seq;
    bench.received++;
    bench_add(&bench.progress, 1);
    bench_hist_record(&bench.hist, now - ts);

    if (bench.received == bench.expected) {
        bench.end = now;
        bench.done = 1;
    }
}


static void
bench_close(kvmq_ws_t *ws, const char *why)
{
    bench_conn_t  *c;

    c = ws->data;
    c->ws = NULL;

    bench_conn_closed(c, ws->close_code, ws->refused, why);
}


/* code: of the server's close frame, 0 without one */

void
bench_conn_closed(bench_conn_t *c, int code, int refused, const char *why)
{
    if (c->stalled && c->subscribed) {
        bench_stalled_closed(c, code);
        return;
    }

    if (bench.done) {
        return;
    }

    if (!c->opened) {
        if (!bench.open_failed) {
            if (refused) {
                fprintf(stderr, "kvmq-bench: cannot connect to %s:%d: "
                        "connection refused\n", bench.url.host,
                        bench.url.port);

            } else {
                fprintf(stderr, "kvmq-bench: cannot connect to %s:%d: %s\n",
                        bench.url.host, bench.url.port,
                        why ? why : "failed");
            }
        }

        __atomic_store_n(&bench.open_failed, 1, __ATOMIC_RELAXED);
        return;
    }

    fprintf(stderr, "kvmq-bench: connection lost: %s\n",
            why ? why : "closed");

    bench_add(&bench.closed, 1);
}


/* counted by close code; 1006 (abnormal) when no close frame came */

static void
bench_stalled_closed(bench_conn_t *c, int code)
{
    int  i;

    if (c->settled) {
        return;
    }

    c->settled = 1;
    bench.settled++;
    bench.stalled_closed++;
    bench_add(&bench.progress, 1);

    if (code == 0) {
        code = 1006;
    }

    for (i = 0; i < BENCH_CODES - 1; i++) {
        if (bench.codes[i] == code || bench.codes[i] == 0) {
            break;
        }
    }

    bench.codes[i] = code;
    bench.code_n[i]++;
}


static void
bench_tick(lws_sorted_usec_list_t *sul)
{
    int64_t  now;

    now = bench_now_us();

    if (__atomic_exchange_n(&bench.progress, 0, __ATOMIC_RELAXED)) {
        bench.last_change = now;

        if (!bench.cpu_done) {
            bench_cpu_mark(1);
        }

    } else if (now - bench.last_change > bench.timeout_ms * 1000) {
        fprintf(stderr, "kvmq-bench: no progress for %lld ms, giving up\n",
                bench.timeout_ms);
        bench.end = bench.last_change;
        bench.done = 1;
        bench.timed_out = 1;
        return;
    }

    lws_sul_schedule(bench.ctx, 0, sul, bench_tick, 100 * LWS_US_PER_MS);
}


static void
bench_report(void)
{
    int     i;
    double  secs, cpu, wall;

    secs = (bench.end > bench.start ? bench.end - bench.start : 1) / 1e6;

    if (bench.target != TARGET_KVMQ) {
        printf("target %s: ", bench.target == TARGET_NCHAN ? "nchan"
                                                           : "webdis");
    }

    if (bench.mode == MODE_CMD) {
        printf("cmd: %lld connections, pipeline %lld, %lld commands of %s\n",
               bench.subs, bench.pipeline, bench.total, bench.cmd_json);
        printf("  %lld answered in %.3f s: %.0f commands/s\n",
               bench.answered, secs, bench.answered / secs);

    } else if (bench.mode == MODE_FANOUT) {
        printf("fanout: %lld subscribers on %lld channels, %lld publishers, "
               "%lld messages of %lld bytes\n", bench.subs, bench.channels,
               bench.pubs, bench.messages, bench.bytes);
        printf("  %lld deliveries in %.3f s: %.0f deliveries/s\n",
               bench.received, secs, bench.received / secs);

    } else if (bench.mode == MODE_QUEUE) {
        printf("queue: %lld consumers (prefetch %lld, ack), %lld producers%s, "
               "%lld messages of %lld bytes\n", bench.subs, bench.prefetch,
               bench.pubs, bench.http ? " over HTTP" : "", bench.messages,
               bench.bytes);
        printf("  %lld consumed in %.3f s: %.0f messages/s\n",
               bench.received, secs, bench.received / secs);

    } else {
        printf("rpc: %lld workers, %lld callers (window %lld), %lld calls "
               "of %lld bytes\n", bench.subs, bench.pubs, bench.window,
               bench.messages, bench.bytes);
        printf("  %lld answered in %.3f s: %.0f calls/s\n",
               bench.received, secs, bench.received / secs);
    }

    bench_hist_print(&bench.hist);

    printf("  errors %lld, lost %lld, out of order %lld, "
           "connections lost %d\n",
           bench.errors,
           bench.mode == MODE_CMD ? bench.total - bench.answered
                                   : bench.expected - bench.received,
           bench.out_of_order, bench.closed);

    if (bench.stale) {
        printf("  %lld messages of an earlier run skipped\n", bench.stale);
    }

    if (bench.stalled) {
        printf("  stalled %lld: closed by the server %lld",
               bench.stalled, bench.stalled_closed);

        for (i = 0; i < BENCH_CODES && bench.codes[i]; i++) {
            printf("%scode %d x%lld", i ? ", " : " (", bench.codes[i],
                   bench.code_n[i]);
        }

        printf("%s, not closed %lld, unsettled %lld\n",
               bench.codes[0] ? ")" : "",
               bench.settled - bench.stalled_closed,
               bench.stalled - bench.settled);
    }

    /* over the measurement: near 100% the client may be the limit */
    wall = (bench.wall_end > bench.wall_start
            ? bench.wall_end - bench.wall_start : 1) / 1e6;
    cpu = (bench.cpu_end - bench.cpu_start) / 1e6;

    printf("  client CPU %.0f%% (%.3f s of %.3f s)\n", 100 * cpu / wall, cpu,
           wall);
}
