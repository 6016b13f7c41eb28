
/*
 * kvmq-bench: a load generator for kvmq's WebSocket door, one process
 * with many connections on one libwebsockets event loop.
 *
 *   kvmq-bench [--url URL] cmd [-c CONNS] [-n TOTAL] [-P PIPELINE]
 *              [--command "NAME ARGS..."]
 *   kvmq-bench [--url URL] fanout [-s SUBS] [-C CHANNELS] [-p PUBS]
 *              [-m MESSAGES] [-b BYTES] [-w WINDOW]
 *   kvmq-bench [--url URL] queue [-c CONSUMERS] [-p PRODUCERS]
 *              [-f PREFETCH] [-m MESSAGES] [-b BYTES] [-w WINDOW]
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
 * channel's seq to grow by one: a smaller one is out of order, and lost
 * is what was expected and never came.
 *
 * queue: the consumers declare and purge the queue, CONSUME it with
 * PREFETCH and ACK each delivery; then the producers Q.PUBLISH.  A
 * message carries its producer and number: each consumer must see a
 * producer's numbers grow (round robin gives it a subsequence).
 *
 * rpc: the workers CONSUME the RPC queue and answer each request with
 * its own body (RPC.REPLY, then ACK); the callers keep WINDOW RPC calls
 * in flight each, and the reply's send time gives the round trip.
 *
 * Latencies go into a log-linear histogram in microseconds: exact below
 * 64 us, then 32 buckets per power of two (3% resolution).
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "wsclient.h"
#include "kvmq_print.h"


#define BENCH_BUCKETS    (64 + 40 * 32)

/* connection roles */
#define BENCH_CMD        0
#define BENCH_SUB        1      /* subscriber, consumer, RPC worker */
#define BENCH_PUB        2      /* publisher, producer, RPC caller */

/* modes */
#define MODE_CMD         0
#define MODE_FANOUT      1
#define MODE_QUEUE       2
#define MODE_RPC         3

#define BENCH_QUEUE      "kvmq-bench"
#define BENCH_RPC_QUEUE  "kvmq-bench.rpc"


typedef struct {
    kvmq_ws_t              *ws;
    int                     role;
    int                     channel;
    long long               quota;        /* cmd, pub: messages to send */
    long long               sent;
    long long               done;
    int64_t                *sent_at;      /* cmd: ring of PIPELINE */
    unsigned long long      last_seq;     /* sub */
    long long              *last_k;       /* consumer: per producer */
    unsigned                subscribed:1;
    unsigned                opened:1;
} bench_conn_t;


typedef struct {
    kvmq_url_t              url;
    struct lws_context     *ctx;
    lws_sorted_usec_list_t  tick;
    bench_conn_t           *conns;
    int                     nconns;
    int                     mode;

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
    char                   *cmd_json;     /* the command's array */

    /* progress */
    int                     open_failed;
    int                     closed;
    int                     subscribed;
    int                     publishing;
    int                     done;
    long long               answered;
    long long               errors;
    long long               received;
    long long               expected;
    long long               out_of_order;
    long long               acks;         /* queue: ACKs sent */
    long long               acked;        /* queue: ACKs answered */
    long long               pub_next;
    long long               progress;
    int64_t                 start;
    int64_t                 end;
    int64_t                 last_change;
    char                   *payload;

    uint64_t                hist[BENCH_BUCKETS];
    long long               hist_n;
    int64_t                 hist_max;
} bench_t;


static int bench_parse(int argc, char **argv);
static int bench_usage(int rc);
static void bench_open(kvmq_ws_t *ws);
static void bench_message(kvmq_ws_t *ws, char *data, size_t len);
static void bench_close(kvmq_ws_t *ws, const char *why);
static void bench_cmd_fill(bench_conn_t *c);
static void bench_pub_fill(bench_conn_t *c);
static void bench_sub_push(bench_conn_t *c, const char *data);
static void bench_delivery(bench_conn_t *c, const char *data);
static void bench_tick(lws_sorted_usec_list_t *sul);
static void bench_record(int64_t us);
static int64_t bench_percentile(double p);
static void bench_report(void);


static bench_t  bench;


static const kvmq_ws_handler_t  bench_handler = {
    bench_open, bench_message, bench_close
};


int
main(int argc, char **argv)
{
    int             i;
    long long       per, extra;
    const char     *url;
    struct rlimit   rl;

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

    if (bench.mode == MODE_CMD) {
        bench.nconns = (int) bench.subs;

    } else {
        bench.nconns = (int) (bench.subs + bench.pubs);
    }

    bench.conns = calloc(bench.nconns, sizeof(bench_conn_t));
    bench.payload = malloc(bench.bytes + 256);
    if (bench.conns == NULL || bench.payload == NULL) {
        fprintf(stderr, "kvmq-bench: out of memory\n");
        return 1;
    }

    for (i = 0; i < bench.nconns; i++) {
        bench.conns[i].role = bench.mode == MODE_CMD ? BENCH_CMD
                              : (i < bench.subs ? BENCH_SUB : BENCH_PUB);

        if (bench.mode == MODE_QUEUE && i < bench.subs) {
            bench.conns[i].last_k = calloc(bench.pubs, sizeof(long long));
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

        for (i = 0; i < bench.pubs; i++) {
            bench.conns[bench.subs + i].quota = per + (i < extra);
        }

        for (i = 0; i < bench.subs; i++) {
            bench.conns[i].channel = (int) (i % bench.channels);
        }

        /* subscribers of each channel times the messages it gets */
        for (i = 0; bench.mode == MODE_FANOUT && i < bench.channels; i++) {
            bench.expected += (bench.subs / bench.channels
                               + (i < bench.subs % bench.channels))
                              * (bench.messages / bench.channels
                                 + (i < bench.messages % bench.channels));
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

    for (i = 0; i < bench.nconns; i++) {
        bench.conns[i].ws = kvmq_ws_connect(bench.ctx, &bench.url, "ws",
                                            &bench_handler, &bench.conns[i]);
        if (bench.open_failed) {
            break;
        }
    }

    bench.last_change = kvmq_now_us();
    lws_sul_schedule(bench.ctx, 0, &bench.tick, bench_tick,
                     100 * LWS_US_PER_MS);

    while (!bench.done && !bench.open_failed) {
        if (lws_service(bench.ctx, 0) < 0) {
            break;
        }
    }

    lws_sul_cancel(&bench.tick);

    if (bench.open_failed) {
        lws_context_destroy(bench.ctx);
        return 3;
    }

    bench_report();

    lws_context_destroy(bench.ctx);

    return (bench.errors || bench.received < bench.expected
            || bench.out_of_order) ? 1 : 0;
}


static long long
bench_num(const char *s)
{
    char       *end;
    long long   n;

    n = strtoll(s, &end, 10);

    return (end == s || *end != '\0' || n < 0) ? -1 : n;
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

    i = 1;

    if (i + 1 < argc && strcmp(argv[i], "--url") == 0) {
        if (kvmq_url_parse(argv[i + 1], &bench.url) != 0) {
            fprintf(stderr, "kvmq-bench: invalid URL \"%s\"\n", argv[i + 1]);
            return -1;
        }

        i += 2;
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
    free(cargv);

    if (bench.cmd_json == NULL) {
        return -1;
    }

    /* {"id":0,"cmd":[...]} -> [...] */
    bench.cmd_json = strchr(bench.cmd_json, '[');
    bench.cmd_json[strlen(bench.cmd_json) - 1] = '\0';

    return 0;
}


static int
bench_usage(int rc)
{
    fputs("usage: kvmq-bench [--url URL] cmd [-c CONNS] [-n TOTAL] "
          "[-P PIPELINE]\n"
          "                  [--command \"NAME ARGS...\"] [-t MS]\n"
          "       kvmq-bench [--url URL] fanout [-s SUBS] [-C CHANNELS] "
          "[-p PUBS]\n"
          "                  [-m MESSAGES] [-b BYTES] [-w WINDOW] [-t MS]\n"
          "       kvmq-bench [--url URL] queue [-c CONSUMERS] [-p PRODUCERS] "
          "[-f PREFETCH]\n"
          "                  [-m MESSAGES] [-b BYTES] [-w WINDOW] [-t MS]\n"
          "       kvmq-bench [--url URL] rpc [-c WORKERS] [-p CALLERS] "
          "[-w WINDOW]\n"
          "                  [-m CALLS] [-b BYTES] [-t MS]\n"
          "\n"
          "cmd: CONNS WebSockets (4) pipelining PIPELINE (32) commands\n"
          "(PING) until TOTAL (100000) are answered; commands/s.\n"
          "fanout: SUBS subscribers (100) on CHANNELS channels (1), PUBS\n"
          "publishers (1) sending MESSAGES (10000) of BYTES (64) with\n"
          "WINDOW (64) in flight each; deliveries/s, publish-to-receive\n"
          "latency.\n"
          "queue: CONSUMERS (4) with PREFETCH (100) acknowledging each\n"
          "message, PRODUCERS (1) publishing MESSAGES (10000) into queue\n"
          "\"" BENCH_QUEUE "\" (purged first); messages/s, publish to\n"
          "consume latency.\n"
          "rpc: WORKERS (2) answering, CALLERS (8) with WINDOW (1) calls in\n"
          "flight each, CALLS (10000) in all; calls/s, round-trip latency.\n"
          "Both report p50/p90/p99/max latency, errors, lost and out of\n"
          "order messages, and give up after -t MS (10000) without\n"
          "progress.  Exit status: 0 all answered and delivered in order,\n"
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

    switch (c->role) {

    case BENCH_CMD:
        if (bench.start == 0) {
            bench.start = kvmq_now_us();
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


static void
bench_cmd_fill(bench_conn_t *c)
{
    int      n;
    char     buf[4096], *p;
    int64_t  now;

    now = kvmq_now_us();

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
                           (long long) kvmq_now_us(), pub, c->sent);

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
    int            i;
    char          *p;
    bench_conn_t  *c;

    (void) len;

    c = ws->data;

    if (strncmp(data, "{\"type\":", 8) == 0) {
        if (c->role != BENCH_SUB) {
            return;
        }

        if (bench.mode == MODE_FANOUT) {
            bench_sub_push(c, data);

        } else {
            bench_delivery(c, data);
        }

        return;
    }

    if (strstr(data, ",\"error\":{") != NULL) {
        bench.errors++;
        if (bench.errors == 1) {
            fprintf(stderr, "kvmq-bench: %s\n", data);
        }
    }

    bench.progress++;

    switch (c->role) {

    case BENCH_CMD:
        bench_record(kvmq_now_us()
                     - c->sent_at[c->done % bench.pipeline]);
        c->done++;
        bench.answered++;

        if (bench.answered == bench.total) {
            bench.end = kvmq_now_us();
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

        c->subscribed = 1;

        if (++bench.subscribed < bench.subs) {
            return;
        }

        bench.publishing = 1;
        bench.start = kvmq_now_us();

        for (i = (int) bench.subs; i < bench.nconns; i++) {
            if (bench.conns[i].opened) {
                bench_pub_fill(&bench.conns[i]);
            }
        }

        return;

    default:
        c->done++;

        if (bench.mode == MODE_RPC && (p = strstr(data, ",\"result\":\""))) {
            bench_record(kvmq_now_us() - strtoll(p + 11, NULL, 10));

            if (++bench.received >= bench.expected) {
                bench.end = kvmq_now_us();
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

        bench.progress++;
        return;
    }

    now = kvmq_now_us();

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

    if (pub >= 0 && pub < bench.pubs) {
        if (k + 1 <= c->last_k[pub]) {
            bench.out_of_order++;
            return;
        }

        c->last_k[pub] = k + 1;
    }

    bench.received++;
    bench.progress++;
    bench_record(now - ts);

    /* done when the ACKs are answered too: none requeued at exit */
    if (bench.received == bench.expected) {
        bench.end = now;
    }
}


static void
bench_sub_push(bench_conn_t *c, const char *data)
{
    char                *p;
    int64_t              now, ts;
    unsigned long long   seq;

    now = kvmq_now_us();

    p = strstr(data, ",\"data\":\"");
    if (p == NULL) {
        return;
    }

    ts = strtoll(p + 9, NULL, 10);

    p = strstr(data, ",\"seq\":");
    if (p == NULL) {
        return;
    }

    seq = strtoull(p + 7, NULL, 10);

    if (seq <= c->last_seq) {
        bench.out_of_order++;
        return;
    }

    c->last_seq = seq;
    bench.received++;
    bench.progress++;
    bench_record(now - ts);

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

    if (bench.done) {
        return;
    }

    if (!c->opened) {
        if (!bench.open_failed) {
            if (ws->refused) {
                fprintf(stderr, "kvmq-bench: cannot connect to %s:%d: "
                        "connection refused\n", bench.url.host,
                        bench.url.port);

            } else {
                fprintf(stderr, "kvmq-bench: cannot connect to %s:%d: %s\n",
                        bench.url.host, bench.url.port,
                        why ? why : "failed");
            }
        }

        bench.open_failed = 1;
        return;
    }

    fprintf(stderr, "kvmq-bench: connection lost: %s\n",
            why ? why : "closed");

    bench.closed++;
}


static void
bench_tick(lws_sorted_usec_list_t *sul)
{
    int64_t  now;

    now = kvmq_now_us();

    if (bench.progress) {
        bench.progress = 0;
        bench.last_change = now;

    } else if (now - bench.last_change > bench.timeout_ms * 1000) {
        fprintf(stderr, "kvmq-bench: no progress for %lld ms, giving up\n",
                bench.timeout_ms);
        bench.end = bench.last_change;
        bench.done = 1;
        return;
    }

    lws_sul_schedule(bench.ctx, 0, sul, bench_tick, 100 * LWS_US_PER_MS);
}


static void
bench_record(int64_t us)
{
    int       e;
    uint64_t  v;
    size_t    b;

    if (us < 0) {
        us = 0;
    }

    if (us > bench.hist_max) {
        bench.hist_max = us;
    }

    v = (uint64_t) us;

    if (v < 64) {
        b = v;

    } else {
        e = 63 - __builtin_clzll(v);
        b = 64 + (size_t) (e - 6) * 32 + ((v >> (e - 5)) & 31);
    }

    if (b >= BENCH_BUCKETS) {
        b = BENCH_BUCKETS - 1;
    }

    bench.hist[b]++;
    bench.hist_n++;
}


static int64_t
bench_percentile(double p)
{
    int        e;
    size_t     b;
    uint64_t   want, seen;

    if (bench.hist_n == 0) {
        return 0;
    }

    want = (uint64_t) (p * bench.hist_n + 0.5);
    if (want < 1) {
        want = 1;
    }

    seen = 0;

    for (b = 0; b < BENCH_BUCKETS; b++) {
        seen += bench.hist[b];

        if (seen >= want) {
            break;
        }
    }

    if (b < 64) {
        return (int64_t) b;
    }

    /* the bucket's upper end */
    e = (int) ((b - 64) / 32) + 6;

    return (int64_t) (((uint64_t) 32 + (b - 64) % 32 + 1) << (e - 5)) - 1;
}


static void
bench_report(void)
{
    double  secs;

    secs = (bench.end > bench.start ? bench.end - bench.start : 1) / 1e6;

    if (bench.mode == MODE_CMD) {
        printf("cmd: %d connections, pipeline %lld, %lld commands of %s\n",
               bench.nconns, bench.pipeline, bench.total, bench.cmd_json);
        printf("  %lld answered in %.3f s: %.0f commands/s\n",
               bench.answered, secs, bench.answered / secs);

    } else if (bench.mode == MODE_FANOUT) {
        printf("fanout: %lld subscribers on %lld channels, %lld publishers, "
               "%lld messages of %lld bytes\n", bench.subs, bench.channels,
               bench.pubs, bench.messages, bench.bytes);
        printf("  %lld deliveries in %.3f s: %.0f deliveries/s\n",
               bench.received, secs, bench.received / secs);

    } else if (bench.mode == MODE_QUEUE) {
        printf("queue: %lld consumers (prefetch %lld, ack), %lld producers, "
               "%lld messages of %lld bytes\n", bench.subs, bench.prefetch,
               bench.pubs, bench.messages, bench.bytes);
        printf("  %lld consumed in %.3f s: %.0f messages/s\n",
               bench.received, secs, bench.received / secs);

    } else {
        printf("rpc: %lld workers, %lld callers (window %lld), %lld calls "
               "of %lld bytes\n", bench.subs, bench.pubs, bench.window,
               bench.messages, bench.bytes);
        printf("  %lld answered in %.3f s: %.0f calls/s\n",
               bench.received, secs, bench.received / secs);
    }

    printf("  latency: p50 %.3f ms, p90 %.3f ms, p99 %.3f ms, "
           "max %.3f ms\n",
           bench_percentile(0.50) / 1e3, bench_percentile(0.90) / 1e3,
           bench_percentile(0.99) / 1e3, bench.hist_max / 1e3);

    printf("  errors %lld, lost %lld, out of order %lld, "
           "connections lost %d\n",
           bench.errors,
           bench.mode == MODE_CMD ? bench.total - bench.answered
                                   : bench.expected - bench.received,
           bench.out_of_order, bench.closed);
}
