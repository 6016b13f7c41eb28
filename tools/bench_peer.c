
/*
 * kvmq-bench against the peers: nchan and webdis (see bench.h).
 *
 * nchan: a subscriber is a WebSocket on sub/bench.N, subscribed once
 * open, and gets each message's data as a text frame.  A publisher is a
 * WebSocket on pub/bench.N, so it is bound to one channel (publisher p
 * to channel p % CHANNELS); nchan answers every publish on it, in order,
 * with a frame of the channel's info, which keeps WINDOW in flight just
 * as kvmq's replies do.
 *
 * webdis 0.1.9 closes a WebSocket after answering any command but
 * SUBSCRIBE, and answers pipelined HTTP requests out of order (each
 * takes a Redis connection of the pool), so only the subscribers use
 * WebSockets (/.json, ["SUBSCRIBE","bench.N"]).  Commands and PUBLISH
 * go as HTTP/1.1 keep-alive GET /NAME/ARG..., one in flight per
 * connection: cmd runs CONNS of them (PIPELINE is 1), and a fanout
 * publisher keeps its WINDOW in flight on WINDOW connections, in a
 * thread of its own (lws owns the main loop).
 *
 * Neither gives a seq: the data is "TIME SRC K x...", SRC the publishing
 * connection and K its message number, and a subscriber expects each
 * source's numbers to grow (it sees a subsequence of them).
 */


#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include "bench.h"


typedef struct {
    int         fd;
    int         channel;        /* -1: commands */
    long long   sent;
    long long   done;
    int64_t     sent_at;
    size_t      out_len;
    size_t      out_sent;
    size_t      in_len;
    char        out[4096];
    char        in[8192];
} bench_http_t;


typedef struct {
    bench_http_t  *conns;
    int            n;
    long long      total;       /* requests to answer in all */
    long long      next;        /* requests started */
    long long      answered;
    long long      errors;
    int            record;      /* latencies: send to reply */
    int            queue;       /* POST to the queue, not PUBLISH */
    int            failed;
} bench_http_run_t;


static int bench_http_connect(bench_http_t *h);
static int bench_http_request(bench_http_run_t *run, bench_http_t *h);
static int bench_http_loop(bench_http_run_t *run, volatile int *stop);
static size_t bench_url_encode(char *dst, size_t size, const char *s,
    size_t len);
static void *bench_webdis_publisher(void *arg);
static void bench_peer_data(bench_conn_t *c, const char *p);


static bench_http_run_t  bench_pub_run;
static pthread_t         bench_pub_thread;
static int               bench_pub_started;
static volatile int      bench_pub_stop;


const char *
bench_peer_path(bench_conn_t *c)
{
    static char  path[64];

    if (bench.target == TARGET_WEBDIS) {
        return ".json";
    }

    snprintf(path, sizeof(path), "%s/bench.%d",
             c->role == BENCH_SUB ? "sub" : "pub", c->channel);

    return path;
}


/* what each target can do, after the options are parsed */

int
bench_peer_check(void)
{
    if (bench.target == TARGET_KVMQ) {
        return 0;
    }

    if (bench.mode != MODE_FANOUT
        && !(bench.mode == MODE_CMD && bench.target == TARGET_WEBDIS))
    {
        fprintf(stderr, "kvmq-bench: --target %s runs %s only\n",
                bench.target == TARGET_NCHAN ? "nchan" : "webdis",
                bench.target == TARGET_NCHAN ? "fanout" : "cmd and fanout");
        return -1;
    }

    if (bench.target == TARGET_NCHAN && bench.pubs < bench.channels) {
        fprintf(stderr, "kvmq-bench: nchan publishes on one channel per "
                "connection: -p must be at least -C\n");
        return -1;
    }

    if (bench.mode == MODE_CMD) {
        bench.pipeline = 1;
    }

    bench.nsrc = bench.target == TARGET_NCHAN ? bench.pubs
                                              : bench.pubs * bench.window;

    return 0;
}


void
bench_peer_open(bench_conn_t *c)
{
    int   n;
    char  buf[128];

    if (c->role == BENCH_PUB) {
        if (bench.publishing) {
            bench_peer_pub_fill(c);
        }

        return;
    }

    if (bench.target == TARGET_NCHAN) {
        bench_sub_ready(c);
        return;
    }

    n = snprintf(buf, sizeof(buf), "[\"SUBSCRIBE\",\"bench.%d\"]",
                 c->channel);
    kvmq_ws_send(c->ws, buf, n);
}


/* nchan: a publisher's WINDOW of data frames */

void
bench_peer_pub_fill(bench_conn_t *c)
{
    int  n, pub;

    pub = (int) (c - bench.conns - bench.subs);

    while (c->sent < c->quota && c->sent - c->done < bench.window) {
        n = snprintf(bench.payload, 80, "%lld %d %lld ",
                     (long long) bench_now_us(), pub, c->sent);

        while (n < bench.bytes) {
            bench.payload[n++] = 'x';
        }

        kvmq_ws_send(c->ws, bench.payload, n);
        c->sent++;
    }
}


void
bench_peer_message(bench_conn_t *c, char *data, size_t len)
{
    char  *p;

    if (c->role == BENCH_PUB) {

        /* nchan's answer to a publish: the channel's info */
        if (strncmp(data, "queued messages:", 16) != 0) {
            if (bench_add(&bench.errors, 1) == 0) {
                fprintf(stderr, "kvmq-bench: %s\n", data);
            }
        }

        bench_add(&bench.progress, 1);
        c->done++;
        bench_peer_pub_fill(c);
        return;
    }

    if (bench.target == TARGET_NCHAN) {
        bench_peer_data(c, data);
        return;
    }

    /* webdis: {"SUBSCRIBE":["message","bench.N","DATA"]} */

    if (len > 25 && strncmp(data + 13, "[\"message\",\"", 12) == 0) {
        p = strchr(data + 25, '"');
        if (p != NULL && p[1] == ',' && p[2] == '"') {
            bench_peer_data(c, p + 3);
        }

        return;
    }

    if (!c->subscribed && strncmp(data, "{\"SUBSCRIBE\":[\"subscribe\"", 25)
                          == 0)
    {
        bench_sub_ready(c);
        return;
    }

    if (bench_add(&bench.errors, 1) == 0) {
        fprintf(stderr, "kvmq-bench: %s\n", data);
    }
}


/* a delivery: "TIME SRC K ..." */

static void
bench_peer_data(bench_conn_t *c, const char *p)
{
    int        src;
    char      *e;
    int64_t    now, ts;
    long long  k;

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

    ts = strtoll(p, &e, 10);
    src = (int) strtol(e, &e, 10);
    k = strtoll(e, NULL, 10);

    /*
     * nchan keeps a channel's last messages and by default sends them to
     * a new subscriber first (nchan_subscriber_first_message oldest):
     * those of an earlier run were sent before this one started.
     */
    if (ts < bench.t0) {
        bench.stale++;
        return;
    }

    if (src < 0 || src >= bench.nsrc) {
        if (bench_add(&bench.errors, 1) == 0) {
            fprintf(stderr, "kvmq-bench: unexpected data \"%.40s\"\n", p);
        }

        return;
    }

    if (k + 1 <= c->last_k[src]) {
        bench.out_of_order++;
        return;
    }

    c->last_k[src] = k + 1;
    bench.received++;
    bench_add(&bench.progress, 1);
    bench_hist_record(&bench.hist, now - ts);

    if (bench.received == bench.expected) {
        bench.end = now;
        bench.done = 1;
    }
}


/*
 * webdis fanout and queue --http: the publishers' connections, in a
 * thread
 */

void
bench_peer_start(void)
{
    int  i;

    if (bench.target != TARGET_WEBDIS && !bench.http) {
        for (i = (int) bench.subs; i < bench.nconns; i++) {
            if (bench.conns[i].opened) {
                bench_peer_pub_fill(&bench.conns[i]);
            }
        }

        return;
    }

    bench_pub_run.n = (int) (bench.pubs * bench.window);
    bench_pub_run.total = bench.messages;
    bench_pub_run.queue = bench.http;

    bench_pub_run.conns = calloc(bench_pub_run.n, sizeof(bench_http_t));
    if (bench_pub_run.conns == NULL) {
        fprintf(stderr, "kvmq-bench: out of memory\n");
        bench.done = 1;
        return;
    }

    for (i = 0; i < bench_pub_run.n; i++) {
        if (bench_http_connect(&bench_pub_run.conns[i]) != 0) {
            bench.done = 1;
            return;
        }
    }

    if (pthread_create(&bench_pub_thread, NULL, bench_webdis_publisher,
                       NULL)
        != 0)
    {
        fprintf(stderr, "kvmq-bench: cannot start the publishers\n");
        bench.done = 1;
        return;
    }

    bench_pub_started = 1;
}


void
bench_peer_stop(void)
{
    if (!bench_pub_started) {
        return;
    }

    bench_pub_stop = 1;
    pthread_join(bench_pub_thread, NULL);
    bench_pub_started = 0;

    bench.errors += bench_pub_run.errors;

    if (bench_pub_run.failed) {
        bench_add(&bench.closed, 1);
    }
}


static void *
bench_webdis_publisher(void *arg)
{
    (void) arg;

    (void) bench_http_loop(&bench_pub_run, &bench_pub_stop);

    return NULL;
}


/* webdis cmd: CONNS keep-alive connections, one command in flight each */

int
bench_webdis_cmd(void)
{
    int               i;
    bench_http_run_t  run;

    memset(&run, 0, sizeof(run));
    run.n = (int) bench.subs;
    run.total = bench.total;
    run.record = 1;

    run.conns = calloc(run.n, sizeof(bench_http_t));
    if (run.conns == NULL) {
        fprintf(stderr, "kvmq-bench: out of memory\n");
        return 1;
    }

    for (i = 0; i < run.n; i++) {
        run.conns[i].channel = -1;

        if (bench_http_connect(&run.conns[i]) != 0) {
            return 3;
        }
    }

    bench.start = bench_now_us();
    bench_cpu_mark(0);

    (void) bench_http_loop(&run, NULL);

    bench.end = bench_now_us();
    bench.answered = run.answered;
    bench.errors += run.errors;
    bench.closed += run.failed;

    for (i = 0; i < run.n; i++) {
        if (run.conns[i].fd >= 0) {
            close(run.conns[i].fd);
        }
    }

    free(run.conns);

    return 0;
}


static int
bench_http_connect(bench_http_t *h)
{
    int               fd, one;
    char              port[16];
    struct addrinfo   hints, *ai;

    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    snprintf(port, sizeof(port), "%d", bench.url.port);

    if (getaddrinfo(bench.url.host, port, &hints, &ai) != 0) {
        fprintf(stderr, "kvmq-bench: cannot resolve %s\n", bench.url.host);
        return -1;
    }

    fd = socket(ai->ai_family, SOCK_STREAM, 0);

    if (fd < 0 || connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
        fprintf(stderr, "kvmq-bench: cannot connect to %s:%d: %s\n",
                bench.url.host, bench.url.port,
                errno == ECONNREFUSED ? "connection refused"
                                      : strerror(errno));
        if (fd >= 0) {
            close(fd);
        }

        freeaddrinfo(ai);
        bench.open_failed = 1;
        return -1;
    }

    freeaddrinfo(ai);

    one = 1;
    (void) setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    (void) fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);

    h->fd = fd;

    return 0;
}


/*
 * The next request of a connection: a command, a PUBLISH, or a message
 * POSTed to the queue.  A publisher's data is "TIME SRC K x...", SRC
 * the connection: its requests are answered in order, those of several
 * connections need not be.
 */

static int
bench_http_request(bench_http_run_t *run, bench_http_t *h)
{
    int        n, src;
    char       data[256], path[1024];
    size_t     len, body;
    long long  k;

    if (run->next >= run->total) {
        return 0;
    }

    k = run->next++;

    if (h->channel < 0) {
        n = snprintf(h->out, sizeof(h->out), "GET %s%s HTTP/1.1\r\n"
                     "Host: %s\r\nConnection: keep-alive\r\n\r\n",
                     bench.url.path, bench.cmd_path + 1, bench.url.host);

    } else if (run->queue) {
        src = (int) (h - run->conns);

        /* the WS producers' data: as long as BYTES, or the prefix */
        len = snprintf(data, 80, "%lld %d %lld ", (long long) bench_now_us(),
                       src, h->sent);
        body = bench.bytes > (long long) len ? (size_t) bench.bytes : len;

        n = snprintf(h->out, sizeof(h->out), "POST %squeues/kvmq-bench/"
                     "messages HTTP/1.1\r\nHost: %s\r\nConnection: "
                     "keep-alive\r\nContent-Length: %zu\r\n\r\n%s",
                     bench.url.path, bench.url.host, body, data);

        if (n + body - len < sizeof(h->out)) {
            memset(h->out + n, 'x', body - len);
            n += body - len;

        } else {
            n = sizeof(h->out);
        }

    } else {
        src = (int) (h - run->conns);

        n = snprintf(data, 80, "%lld %d %lld ", (long long) bench_now_us(),
                     src, h->sent);

        while (n < bench.bytes && n < (int) sizeof(data)) {
            data[n++] = 'x';
        }

        len = bench_url_encode(path, sizeof(path), data, n);

        n = snprintf(h->out, sizeof(h->out), "GET %sPUBLISH/bench.%lld/"
                     "%.*s HTTP/1.1\r\nHost: %s\r\nConnection: keep-alive"
                     "\r\n\r\n", bench.url.path, k % bench.channels,
                     (int) len, path, bench.url.host);
    }

    if (n >= (int) sizeof(h->out)) {
        fprintf(stderr, "kvmq-bench: request too long\n");
        run->failed = 1;
        return -1;
    }

    h->out_len = n;
    h->out_sent = 0;
    h->sent_at = bench_now_us();
    h->sent++;

    return 1;
}


/* poll the connections until every request is answered or *stop */

static int
bench_http_loop(bench_http_run_t *run, volatile int *stop)
{
    int             i, n, busy, status;
    char           *e, *cl;
    size_t          need;
    ssize_t         r;
    bench_http_t   *h;
    struct pollfd  *pfd;

    pfd = calloc(run->n, sizeof(struct pollfd));
    if (pfd == NULL) {
        return -1;
    }

    for (i = 0; i < run->n; i++) {
        (void) bench_http_request(run, &run->conns[i]);
    }

    while (run->answered < run->total && !run->failed
           && !(stop && *stop))
    {
        busy = 0;

        for (i = 0; i < run->n; i++) {
            h = &run->conns[i];
            pfd[i].fd = h->fd;
            pfd[i].events = h->out_sent < h->out_len ? POLLOUT : POLLIN;
            pfd[i].revents = 0;
            busy += h->out_len > 0;
        }

        if (busy == 0) {
            break;
        }

        n = poll(pfd, run->n, 100);
        if (n < 0 && errno != EINTR) {
            run->failed = 1;
            break;
        }

        for (i = 0; n > 0 && i < run->n; i++) {
            h = &run->conns[i];

            if (pfd[i].revents == 0 || h->out_len == 0) {
                continue;
            }

            if (h->out_sent < h->out_len) {
                r = write(h->fd, h->out + h->out_sent,
                          h->out_len - h->out_sent);
                if (r < 0 && errno != EAGAIN) {
                    run->failed = 1;
                    break;
                }

                h->out_sent += r > 0 ? (size_t) r : 0;
                continue;
            }

            r = read(h->fd, h->in + h->in_len, sizeof(h->in) - 1 - h->in_len);
            if (r == 0 || (r < 0 && errno != EAGAIN)) {
                fprintf(stderr, "kvmq-bench: connection lost: %s\n",
                        r == 0 ? "server closed the connection"
                               : strerror(errno));
                run->failed = 1;
                break;
            }

            if (r < 0) {
                continue;
            }

            h->in_len += r;
            h->in[h->in_len] = '\0';

            e = strstr(h->in, "\r\n\r\n");
            if (e == NULL) {
                continue;
            }

            cl = strstr(h->in, "Content-Length: ");
            need = (e - h->in) + 4
                   + (cl && cl < e ? strtoul(cl + 16, NULL, 10) : 0);

            if (h->in_len < need) {
                continue;
            }

            status = h->in_len > 12 ? atoi(h->in + 9) : 0;
            if ((status < 200 || status > 299) && run->errors++ == 0) {
                fprintf(stderr, "kvmq-bench: %s\n", h->in);
            }

            if (run->record) {
                bench_hist_record(&bench.hist, bench_now_us() - h->sent_at);
            }

            /* one in flight: nothing follows the reply */
            h->in_len = 0;
            h->out_len = 0;
            h->done++;
            run->answered++;

            (void) bench_http_request(run, h);
        }
    }

    free(pfd);

    return run->failed ? -1 : 0;
}


/* a path segment: unreserved characters as they are, the rest %XX */

static size_t
bench_url_encode(char *dst, size_t size, const char *s, size_t len)
{
    size_t          i, n;
    unsigned char   ch;
    const char     *hex = "0123456789ABCDEF";

    n = 0;

    for (i = 0; i < len && n + 4 < size; i++) {
        ch = (unsigned char) s[i];

        if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z')
            || (ch >= '0' && ch <= '9') || ch == '-' || ch == '.'
            || ch == '_' || ch == '~')
        {
            dst[n++] = ch;

        } else {
            dst[n++] = '%';
            dst[n++] = hex[ch >> 4];
            dst[n++] = hex[ch & 15];
        }
    }

    dst[n] = '\0';

    return n;
}


/* webdis cmd: "NAME ARGS..." as /NAME/ARG/... */

char *
bench_webdis_path(int argc, char **argv)
{
    int     i;
    char   *path;
    size_t  n, size;

    size = 1;
    for (i = 0; i < argc; i++) {
        size += 1 + 3 * strlen(argv[i]);
    }

    path = malloc(size + 1);
    if (path == NULL) {
        return NULL;
    }

    n = 0;
    for (i = 0; i < argc; i++) {
        path[n++] = '/';
        n += bench_url_encode(path + n, size + 1 - n, argv[i],
                              strlen(argv[i]));
    }

    path[n] = '\0';

    return path;
}
