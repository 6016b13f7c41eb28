
/*
 * kvmq-bench's fanout subscribers without libwebsockets (see bench.h).
 *
 * With a thousand subscribers the client was the limit: lws parses each
 * frame byte by byte and calls back once per frame, on top of a read of
 * a few kilobytes per wakeup.  Here the subscribers live in a thread of
 * their own with their own epoll: a read takes up to BENCH_RAW_READ
 * bytes into one buffer of the thread, and every complete frame of it
 * is handled in place (the data NUL-terminated over the next frame's
 * first byte, which is put back).  Only a partial frame at the end, or
 * a fragmented message, is copied aside.
 *
 * A connection: non-blocking connect, an HTTP/1.1 Upgrade with a random
 * Sec-WebSocket-Key (and an Origin, without which webdis never answers)
 * and the 101's Sec-WebSocket-Accept checked, then
 * unmasked server frames in (text, binary, continuation, ping answered
 * by a pong, close recorded and answered) and masked client frames out:
 * kvmq's SUBSCRIBE command, webdis's subscribe array, nothing for nchan.
 *
 * The deliveries go to the same code as lws's (bench_conn_message,
 * bench_peer_message), and everything a fanout's subscribers count,
 * the histogram too, is this thread's alone until it is joined; only
 * progress, errors and lost connections are shared, atomically.  The
 * publishers stay on lws's thread: "all subscribed", "done", "cannot
 * connect" and "the stalled ones settled" wake it (lws_cancel_service),
 * and it tells this thread to stop or to read the stalled ones again
 * through flags that the epoll_wait() timeout has it look at.
 */


#define _GNU_SOURCE             /* memmem, strcasestr */

#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <sys/socket.h>

#include "bench.h"


#define BENCH_RAW_READ      (256 * 1024)
#define BENCH_RAW_EVENTS    1024
#define BENCH_RAW_WAIT_MS   20

#define RAW_CONNECTING      0
#define RAW_HANDSHAKE       1
#define RAW_OPEN            2
#define RAW_CLOSED          3

#define RAW_WS_GUID         "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


typedef struct {
    int             fd;
    int             state;
    int             close_code;
    unsigned        paused:1;     /* stalled: EPOLLIN dropped */
    unsigned        in_msg:1;     /* a fragmented message goes on */
    char           *carry;        /* a partial frame, or HTTP answer */
    size_t          carry_len;
    size_t          carry_size;
    char           *msg;          /* a fragmented message so far */
    size_t          msg_len;
    size_t          msg_size;
    char           *out;          /* what the socket did not take */
    size_t          out_len;
    size_t          out_size;
    char            accept[32];   /* the Sec-WebSocket-Accept expected */
    char            path[64];     /* after the URL's prefix */
} bench_raw_conn_t;


static void *bench_raw_thread(void *arg);
static void bench_raw_connect(bench_raw_conn_t *rc);
static void bench_raw_event(bench_raw_conn_t *rc, uint32_t events);
static void bench_raw_read(bench_raw_conn_t *rc);
static ssize_t bench_raw_handshake(bench_raw_conn_t *rc, char *buf,
    size_t len);
static size_t bench_raw_frames(bench_raw_conn_t *rc, char *buf, size_t len);
static int bench_raw_frame(bench_raw_conn_t *rc, int b0, char *data,
    size_t len);
static int bench_raw_append(char **p, size_t *len, size_t *size,
    const char *data, size_t n);
static int bench_raw_send(bench_raw_conn_t *rc, int op, const char *data,
    size_t len);
static int bench_raw_write(bench_raw_conn_t *rc, const char *data,
    size_t len);
static int bench_raw_flush(bench_raw_conn_t *rc);
static void bench_raw_events(bench_raw_conn_t *rc);
static void bench_raw_close(bench_raw_conn_t *rc, int refused,
    const char *why);
static void bench_raw_random(unsigned char *p, size_t n);
static void bench_raw_wake(void);


static struct {
    bench_raw_conn_t          *conns;
    int                        n;
    int                        ep;
    pthread_t                  thread;
    int                        started;
    char                      *buf;
    size_t                     size;
    struct sockaddr_storage    addr;
    socklen_t                  addrlen;
    uint64_t                   rnd;

    /* lws's thread to this one */
    int                        stop;
    int                        unstall;

    /* this one to lws's */
    int                        ready;
} raw;


/* the connections' paths, before lws's thread uses bench_peer_path() */

int
bench_raw_start(void)
{
    int               i, rc;
    char              port[16];
    struct addrinfo   hints, *ai;

    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    snprintf(port, sizeof(port), "%d", bench.url.port);

    rc = getaddrinfo(bench.url.host, port, &hints, &ai);
    if (rc != 0) {
        fprintf(stderr, "kvmq-bench: cannot connect to %s:%d: %s\n",
                bench.url.host, bench.url.port, gai_strerror(rc));
        return -1;
    }

    memcpy(&raw.addr, ai->ai_addr, ai->ai_addrlen);
    raw.addrlen = ai->ai_addrlen;
    freeaddrinfo(ai);

    raw.n = (int) bench.subs;
    raw.size = BENCH_RAW_READ;
    raw.conns = calloc(raw.n, sizeof(bench_raw_conn_t));
    raw.buf = malloc(raw.size + 1);
    raw.ep = epoll_create1(EPOLL_CLOEXEC);

    if (raw.conns == NULL || raw.buf == NULL || raw.ep < 0) {
        fprintf(stderr, "kvmq-bench: cannot set the subscribers up: %s\n",
                strerror(errno));
        return -1;
    }

    if (getrandom(&raw.rnd, sizeof(raw.rnd), 0) != sizeof(raw.rnd)) {
        raw.rnd = (uint64_t) bench_now_us() ^ ((uint64_t) getpid() << 32);
    }

    raw.rnd |= 1;

    for (i = 0; i < raw.n; i++) {
        raw.conns[i].fd = -1;
        snprintf(raw.conns[i].path, sizeof(raw.conns[i].path), "%s",
                 bench.target == TARGET_KVMQ
                 ? "ws" : bench_peer_path(&bench.conns[i]));
    }

    if (pthread_create(&raw.thread, NULL, bench_raw_thread, NULL) != 0) {
        fprintf(stderr, "kvmq-bench: cannot start the subscribers\n");
        return -1;
    }

    raw.started = 1;

    return 0;
}


/* lws's thread: all are subscribed, once */

int
bench_raw_ready(void)
{
    return __atomic_exchange_n(&raw.ready, 0, __ATOMIC_ACQUIRE);
}


void
bench_raw_unstall(void)
{
    __atomic_store_n(&raw.unstall, 1, __ATOMIC_RELEASE);
}


void
bench_raw_stop(void)
{
    int  i;

    if (raw.started) {
        __atomic_store_n(&raw.stop, 1, __ATOMIC_RELEASE);
        pthread_join(raw.thread, NULL);
        raw.started = 0;
    }

    for (i = 0; i < raw.n; i++) {
        if (raw.conns[i].fd >= 0) {
            close(raw.conns[i].fd);
            raw.conns[i].fd = -1;
        }

        free(raw.conns[i].carry);
        free(raw.conns[i].msg);
        free(raw.conns[i].out);
    }

    if (raw.ep >= 0) {
        close(raw.ep);
        raw.ep = -1;
    }

    free(raw.conns);
    free(raw.buf);
    raw.conns = NULL;
    raw.buf = NULL;
    raw.n = 0;
}


/* this thread, from bench_sub_ready(): all subscribed, lws publishes */

void
bench_raw_subscribed(void)
{
    __atomic_store_n(&raw.ready, 1, __ATOMIC_RELEASE);
    bench_raw_wake();
}


/* a stalled subscriber reads nothing more (but its close, or reset) */

void
bench_raw_pause(bench_conn_t *c)
{
    bench_raw_conn_t  *rc;

    rc = &raw.conns[c - bench.conns];
    rc->paused = 1;
    bench_raw_events(rc);
}


/* xorshift64, seeded by getrandom(): keys and masks need only vary */

static void
bench_raw_random(unsigned char *p, size_t n)
{
    raw.rnd ^= raw.rnd << 13;
    raw.rnd ^= raw.rnd >> 7;
    raw.rnd ^= raw.rnd << 17;
    memcpy(p, &raw.rnd, n < 8 ? n : 8);
}


static void
bench_raw_wake(void)
{
    lws_cancel_service(bench.ctx);
}


static void *
bench_raw_thread(void *arg)
{
    int                  i, n, done, failed, settled, unstalled;
    bench_raw_conn_t    *rc;
    struct epoll_event  *ev;

    (void) arg;

    ev = calloc(BENCH_RAW_EVENTS, sizeof(struct epoll_event));
    if (ev == NULL) {
        __atomic_store_n(&bench.open_failed, 1, __ATOMIC_RELAXED);
        bench_raw_wake();
        return NULL;
    }

    for (i = 0; i < raw.n; i++) {
        bench_raw_connect(&raw.conns[i]);
    }

    done = 0;
    failed = 0;
    settled = 0;
    unstalled = 0;

    while (!__atomic_load_n(&raw.stop, __ATOMIC_ACQUIRE)) {

        if (!unstalled && __atomic_load_n(&raw.unstall, __ATOMIC_ACQUIRE)) {
            unstalled = 1;

            for (i = 0; i < bench.stalled; i++) {
                rc = &raw.conns[i];

                if (rc->paused) {
                    rc->paused = 0;
                    bench_raw_events(rc);
                }
            }
        }

        n = epoll_wait(raw.ep, ev, BENCH_RAW_EVENTS, BENCH_RAW_WAIT_MS);

        if (n < 0 && errno != EINTR) {
            fprintf(stderr, "kvmq-bench: epoll_wait: %s\n", strerror(errno));
            __atomic_store_n(&bench.done, 1, __ATOMIC_RELAXED);
            bench_raw_wake();
            break;
        }

        for (i = 0; i < n; i++) {
            bench_raw_event(&raw.conns[ev[i].data.u32], ev[i].events);
        }

        /* what lws's thread waits for, each once */

        if (!done && __atomic_load_n(&bench.done, __ATOMIC_RELAXED)) {
            done = 1;
            bench_raw_wake();
        }

        if (!failed && __atomic_load_n(&bench.open_failed,
                                       __ATOMIC_RELAXED))
        {
            failed = 1;
            bench_raw_wake();
        }

        if (!settled && bench.stalled
            && __atomic_load_n(&bench.settled, __ATOMIC_RELAXED)
               >= bench.stalled)
        {
            settled = 1;
            bench_raw_wake();
        }
    }

    free(ev);

    return NULL;
}


static void
bench_raw_connect(bench_raw_conn_t *rc)
{
    int                 fd, one;
    struct epoll_event  ev;

    fd = socket(raw.addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK
                                    | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        bench_raw_close(rc, 0, strerror(errno));
        return;
    }

    one = 1;
    (void) setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));

    rc->fd = fd;
    rc->state = RAW_CONNECTING;

    if (connect(fd, (struct sockaddr *) &raw.addr, raw.addrlen) != 0
        && errno != EINPROGRESS)
    {
        bench_raw_close(rc, errno == ECONNREFUSED, strerror(errno));
        return;
    }

    memset(&ev, 0, sizeof(ev));
    ev.events = EPOLLOUT;
    ev.data.u32 = (uint32_t) (rc - raw.conns);

    if (epoll_ctl(raw.ep, EPOLL_CTL_ADD, fd, &ev) != 0) {
        bench_raw_close(rc, 0, strerror(errno));
    }
}


static void
bench_raw_event(bench_raw_conn_t *rc, uint32_t events)
{
    int            n, err;
    char           key[32], req[1400];
    unsigned char  rnd[16], sha[20];
    socklen_t      len;

    if (rc->state == RAW_CLOSED) {
        return;
    }

    if (rc->state == RAW_CONNECTING) {
        err = 0;
        len = sizeof(err);
        (void) getsockopt(rc->fd, SOL_SOCKET, SO_ERROR, &err, &len);

        if (err != 0) {
            bench_raw_close(rc, err == ECONNREFUSED, strerror(err));
            return;
        }

        /* the key: 16 random bytes; the answer: SHA-1 of key + GUID */
        bench_raw_random(rnd, 8);
        bench_raw_random(rnd + 8, 8);

        lws_b64_encode_string((char *) rnd, sizeof(rnd), key, sizeof(key));

        n = snprintf(req, sizeof(req), "%s" RAW_WS_GUID, key);
        lws_SHA1((unsigned char *) req, n, sha);
        lws_b64_encode_string((char *) sha, sizeof(sha), rc->accept,
                              sizeof(rc->accept));

        n = snprintf(req, sizeof(req), "GET %s%s HTTP/1.1\r\n"
                     "Host: %s:%d\r\n"
                     "Origin: http://%s\r\n"
                     "Upgrade: websocket\r\n"
                     "Connection: Upgrade\r\n"
                     "Sec-WebSocket-Key: %s\r\n"
                     "Sec-WebSocket-Version: 13\r\n\r\n",
                     bench.url.path, rc->path, bench.url.host,
                     bench.url.port, bench.url.host, key);

        if (n >= (int) sizeof(req)) {
            bench_raw_close(rc, 0, "URL too long");
            return;
        }

        rc->state = RAW_HANDSHAKE;

        if (bench_raw_write(rc, req, n) != 0) {
            return;
        }

        bench_raw_events(rc);
        return;
    }

    if ((events & EPOLLOUT) && rc->out_len) {
        if (bench_raw_flush(rc) != 0) {
            return;
        }

        bench_raw_events(rc);
    }

    if (rc->paused) {
        /* it does not read: a hangup or an error ends it, as with lws */
        if (events & (EPOLLERR | EPOLLHUP)) {
            bench_raw_close(rc, 0, "server closed the connection");
        }

        return;
    }

    if (events & (EPOLLIN | EPOLLERR | EPOLLHUP)) {
        bench_raw_read(rc);
    }
}


/* one read: what it holds after the carried partial frame */

static void
bench_raw_read(bench_raw_conn_t *rc)
{
    char     *p, *buf;
    size_t    len, left, size;
    ssize_t   n;

    /* a frame longer than the buffer: the buffer grows */
    if (rc->carry_len + 4096 > raw.size) {
        size = 2 * rc->carry_len + BENCH_RAW_READ;
        p = realloc(raw.buf, size + 1);
        if (p == NULL) {
            bench_raw_close(rc, 0, "out of memory");
            return;
        }

        raw.buf = p;
        raw.size = size;
    }

    buf = raw.buf;
    memcpy(buf, rc->carry, rc->carry_len);
    len = rc->carry_len;

    n = read(rc->fd, buf + len, raw.size - len);

    if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
        return;
    }

    if (n <= 0) {
        bench_raw_close(rc, 0, n == 0 ? "server closed the connection"
                                      : strerror(errno));
        return;
    }

    len += n;
    p = buf;

    if (rc->state == RAW_HANDSHAKE) {
        n = bench_raw_handshake(rc, buf, len);
        if (n < 0) {
            return;
        }

        p += n;
        len -= n;
    }

    left = bench_raw_frames(rc, p, len);

    if (rc->state == RAW_CLOSED) {
        return;
    }

    rc->carry_len = 0;

    if (left
        && bench_raw_append(&rc->carry, &rc->carry_len, &rc->carry_size,
                            p + len - left, left)
           != 0)
    {
        bench_raw_close(rc, 0, "out of memory");
    }
}


/*
 * The 101 and its Sec-WebSocket-Accept: the header's length; -1 while
 * it is incomplete (carried for the next read) or when it failed.
 */

static ssize_t
bench_raw_handshake(bench_raw_conn_t *rc, char *buf, size_t len)
{
    int            n, status;
    char          *e, *a, why[64], save;
    bench_conn_t  *c;

    e = memmem(buf, len, "\r\n\r\n", 4);

    if (e == NULL) {
        if (len > 16384) {
            bench_raw_close(rc, 0, "HTTP header too long");
            return -1;
        }

        rc->carry_len = 0;
        if (bench_raw_append(&rc->carry, &rc->carry_len, &rc->carry_size,
                             buf, len)
            != 0)
        {
            bench_raw_close(rc, 0, "out of memory");
            return -1;
        }

        return -1;
    }

    e += 4;
    save = *e;
    *e = '\0';

    status = (len > 12 && strncmp(buf, "HTTP/1.", 7) == 0)
             ? atoi(buf + 9) : 0;

    if (status != 101) {
        snprintf(why, sizeof(why), "HTTP error %d", status);
        bench_raw_close(rc, 0, why);
        return -1;
    }

    a = strcasestr(buf, "\r\nSec-WebSocket-Accept:");
    if (a != NULL) {
        a += 23;
        a += strspn(a, " \t");
    }

    if (a == NULL || strncmp(a, rc->accept, strlen(rc->accept)) != 0) {
        bench_raw_close(rc, 0, "bad Sec-WebSocket-Accept");
        return -1;
    }

    *e = save;
    rc->state = RAW_OPEN;
    rc->carry_len = 0;

    c = &bench.conns[rc - raw.conns];
    c->opened = 1;

    /* the subscription: bench_open()'s and bench_peer_open()'s */

    if (bench.target == TARGET_KVMQ) {
        n = snprintf(why, sizeof(why),
                     "{\"id\":1,\"cmd\":[\"SUBSCRIBE\",\"bench.%d\"]}",
                     c->channel);

    } else if (bench.target == TARGET_WEBDIS) {
        n = snprintf(why, sizeof(why), "[\"SUBSCRIBE\",\"bench.%d\"]",
                     c->channel);

    } else {
        n = 0;
        bench_sub_ready(c);
    }

    if (n > 0 && bench_raw_send(rc, 1, why, n) != 0) {
        return -1;
    }

    return e - buf;
}


/* every complete frame: what is left of a partial one */

static size_t
bench_raw_frames(bench_raw_conn_t *rc, char *buf, size_t len)
{
    int             i;
    size_t          hl;
    uint64_t        n;
    unsigned char  *p, *end;

    p = (unsigned char *) buf;
    end = p + len;

    while (end - p >= 2 && !rc->paused) {
        hl = 2;
        n = p[1] & 0x7f;

        if (p[1] & 0x80) {
            bench_raw_close(rc, 0, "a masked frame from the server");
            return 0;
        }

        if (n == 126) {
            if (end - p < 4) {
                break;
            }

            n = (uint64_t) p[2] << 8 | p[3];
            hl = 4;

        } else if (n == 127) {
            if (end - p < 10) {
                break;
            }

            n = 0;
            for (i = 2; i < 10; i++) {
                n = n << 8 | p[i];
            }

            hl = 10;
        }

        if ((uint64_t) (end - p) - hl < n) {
            break;
        }

        if (bench_raw_frame(rc, p[0], (char *) p + hl, n) != 0) {
            return 0;
        }

        p += hl + n;
    }

    return end - p;
}


/*
 * A frame: its data is NUL-terminated in place for the handlers, over
 * the next frame's first byte (or the buffer's spare one).
 */

static int
bench_raw_frame(bench_raw_conn_t *rc, int b0, char *data, size_t len)
{
    int            op, code;
    char           save, why[64];
    bench_conn_t  *c;

    op = b0 & 0x0f;
    c = &bench.conns[rc - raw.conns];

    switch (op) {

    case 0:
    case 1:
    case 2:
        if (op != 0 && (b0 & 0x80) && !rc->in_msg) {
            save = data[len];
            data[len] = '\0';
            bench_conn_message(c, data, len);
            data[len] = save;
            return 0;
        }

        if (op != 0) {
            rc->msg_len = 0;
            rc->in_msg = 1;
        }

        if (!rc->in_msg) {
            bench_raw_close(rc, 0, "a continuation out of a message");
            return -1;
        }

        if (bench_raw_append(&rc->msg, &rc->msg_len, &rc->msg_size, data,
                             len + 1)
            != 0)
        {
            bench_raw_close(rc, 0, "out of memory");
            return -1;
        }

        rc->msg_len--;

        if (b0 & 0x80) {
            rc->msg[rc->msg_len] = '\0';
            rc->in_msg = 0;
            bench_conn_message(c, rc->msg, rc->msg_len);
        }

        return 0;

    case 8:
        code = len >= 2 ? ((unsigned char) data[0] << 8
                           | (unsigned char) data[1])
                        : 0;
        rc->close_code = code;

        (void) bench_raw_send(rc, 8, data, len >= 2 ? 2 : 0);

        if (code) {
            snprintf(why, sizeof(why), "server closed the connection "
                     "(code %d)", code);

        } else {
            snprintf(why, sizeof(why), "server closed the connection");
        }

        if (rc->state != RAW_CLOSED) {
            bench_raw_close(rc, 0, why);
        }

        return -1;

    case 9:
        return bench_raw_send(rc, 10, data, len > 125 ? 125 : len);

    default:
        return 0;
    }
}


static int
bench_raw_append(char **p, size_t *len, size_t *size, const char *data,
    size_t n)
{
    char    *b;
    size_t   s;

    if (*len + n > *size) {
        s = *size ? *size : 1024;
        while (s < *len + n) {
            s *= 2;
        }

        b = realloc(*p, s);
        if (b == NULL) {
            return -1;
        }

        *p = b;
        *size = s;
    }

    memcpy(*p + *len, data, n);
    *len += n;

    return 0;
}


/* a masked client frame */

static int
bench_raw_send(bench_raw_conn_t *rc, int op, const char *data, size_t len)
{
    char           *f;
    size_t          i, hl;
    unsigned char   mask[4];

    bench_raw_random(mask, 4);

    f = malloc(len + 14);
    if (f == NULL) {
        bench_raw_close(rc, 0, "out of memory");
        return -1;
    }

    f[0] = (char) (0x80 | op);

    if (len < 126) {
        f[1] = (char) (0x80 | len);
        hl = 2;

    } else if (len < 65536) {
        f[1] = (char) (0x80 | 126);
        f[2] = (char) (len >> 8);
        f[3] = (char) len;
        hl = 4;

    } else {
        f[1] = (char) (0x80 | 127);
        for (i = 0; i < 8; i++) {
            f[2 + i] = (char) ((uint64_t) len >> (56 - 8 * i));
        }

        hl = 10;
    }

    memcpy(f + hl, mask, 4);
    hl += 4;

    for (i = 0; i < len; i++) {
        f[hl + i] = (char) (data[i] ^ mask[i & 3]);
    }

    i = bench_raw_write(rc, f, hl + len);
    free(f);

    if (i == 0 && rc->out_len) {
        bench_raw_events(rc);
    }

    return i == 0 ? 0 : -1;
}


/* after what is queued; the rest waits for EPOLLOUT */

static int
bench_raw_write(bench_raw_conn_t *rc, const char *data, size_t len)
{
    size_t   o;
    ssize_t  n;

    if (rc->out_len) {
        if (bench_raw_append(&rc->out, &rc->out_len, &rc->out_size, data,
                             len)
            != 0)
        {
            bench_raw_close(rc, 0, "out of memory");
            return -1;
        }

        return bench_raw_flush(rc);
    }

    n = send(rc->fd, data, len, MSG_NOSIGNAL);

    if (n < 0 && errno != EAGAIN && errno != EINTR) {
        bench_raw_close(rc, 0, strerror(errno));
        return -1;
    }

    o = n > 0 ? (size_t) n : 0;

    if (o < len
        && bench_raw_append(&rc->out, &rc->out_len, &rc->out_size,
                            data + o, len - o)
           != 0)
    {
        bench_raw_close(rc, 0, "out of memory");
        return -1;
    }

    return 0;
}


static int
bench_raw_flush(bench_raw_conn_t *rc)
{
    ssize_t  n;

    if (rc->out_len == 0) {
        return 0;
    }

    n = send(rc->fd, rc->out, rc->out_len, MSG_NOSIGNAL);

    if (n < 0 && errno != EAGAIN && errno != EINTR) {
        bench_raw_close(rc, 0, strerror(errno));
        return -1;
    }

    if (n > 0) {
        rc->out_len -= n;
        memmove(rc->out, rc->out + n, rc->out_len);
    }

    return 0;
}


static void
bench_raw_events(bench_raw_conn_t *rc)
{
    struct epoll_event  ev;

    memset(&ev, 0, sizeof(ev));
    ev.events = (rc->paused ? 0 : EPOLLIN) | (rc->out_len ? EPOLLOUT : 0);
    ev.data.u32 = (uint32_t) (rc - raw.conns);

    (void) epoll_ctl(raw.ep, EPOLL_CTL_MOD, rc->fd, &ev);
}


/* closed by the server or failed: bench_close()'s counting */

static void
bench_raw_close(bench_raw_conn_t *rc, int refused, const char *why)
{
    if (rc->fd >= 0) {
        close(rc->fd);
        rc->fd = -1;
    }

    rc->state = RAW_CLOSED;

    bench_conn_closed(&bench.conns[rc - raw.conns], rc->close_code, refused,
                      why);
}
