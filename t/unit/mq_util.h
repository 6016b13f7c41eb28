/*
 * Helpers shared by the messaging unit tests (queue.c, exchange.c,
 * rpc.c): reading deliveries out of rendered Q.GET replies, a take
 * callback that records what a door would push, and direct looks at a
 * queue's counters.  All static inline (see agg_util.h).
 */

#ifndef KVMQ_TEST_MQ_UTIL_H
#define KVMQ_TEST_MQ_UTIL_H

#include <inttypes.h>

#include "agg_util.h"
#include "../../src/mq.h"


#define MQ_MAX_GOT  4096

static char      mq_got[1 << 16];
static uint64_t  mq_tags[MQ_MAX_GOT];
static int       mq_ntags;


static inline void
mq_append(const char *s, size_t len)
{
    size_t  n;

    n = strlen(mq_got);

    if (n + len + 2 < sizeof(mq_got)) {
        if (n) {
            mq_got[n++] = ',';
        }

        memcpy(mq_got + n, s, len);
        mq_got[n + len] = '\0';
    }
}


/*
 * Run a Q.GET line: "body,body*,..." (* = redelivered), the tags in
 * mq_tags; an error reply is returned as it is.
 */
static inline const char *
deliveries(const char *line)
{
    char         buf[512];
    size_t       n;
    const char  *out, *p, *q, *b;

    out = run(line);
    mq_got[0] = '\0';
    mq_ntags = 0;

    if (out[0] != '[') {
        return out;
    }

    for (p = strstr(out, "{\"queue\":"); p != NULL;
         p = strstr(p + 1, "{\"queue\":"))
    {
        q = strstr(p, "\"tag\"::");
        b = strstr(p, "\"body\":\"");

        if (q == NULL || b == NULL) {
            break;
        }

        if (mq_ntags < MQ_MAX_GOT) {
            mq_tags[mq_ntags++] = strtoull(q + 7, NULL, 10);
        }

        b += 8;

        for (n = 0; b[n] != '"' && n < sizeof(buf) - 2; n++) {
            buf[n] = b[n];
        }

        q = strstr(p, "\"redelivered\"::");

        if (q != NULL && q[15] == '1') {
            buf[n++] = '*';
        }

        mq_append(buf, n);
    }

    return mq_got;
}


/* the tags of the last deliveries as a command tail: "5 6 7" */
static inline const char *
tags_str(int from, int to)
{
    static char  buf[4096];
    size_t       n;
    int          i;

    buf[0] = '\0';
    n = 0;

    for (i = from; i < to && i < mq_ntags; i++) {
        n += (size_t) snprintf(buf + n, sizeof(buf) - n, "%s%" PRIu64,
                               i > from ? " " : "", mq_tags[i]);
    }

    return buf;
}


/* an error reply with this code (its message is not checked) */
static inline void
errc(const char *line, const char *code)
{
    char  expect[64];

    snprintf(expect, sizeof(expect), "!%s", code);
    th_is(h, line, expect, NULL);
}


/* run a printf-formatted line */
static inline const char *
runf(const char *fmt, ...)
{
    static char  line[8192];
    va_list      ap;

    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);

    return run(line);
}


static inline kvmq_queue_t *
queue(const char *name)
{
    kvmq_slice_t  s;

    s.data = (const unsigned char *) name;
    s.len = strlen(name);

    return kvmq_queue_find(&h->ctx, &s);
}


static inline long long
ready(const char *name)
{
    kvmq_queue_t  *q;

    q = queue(name);

    return (q != NULL) ? (long long) q->ready : -1;
}


static inline long long
unacked(const char *name)
{
    kvmq_queue_t  *q;

    q = queue(name);

    return (q != NULL) ? (long long) q->unacked : -1;
}


static inline kvmq_slice_t
sl(const char *s)
{
    kvmq_slice_t  v;

    v.data = (const unsigned char *) s;
    v.len = strlen(s);

    return v;
}


/* ---- take: what a door would push -------------------------------------- */

static int       take_gone;        /* the callback refuses (conn gone) */
static char      took[1 << 16];
static uint64_t  took_tags[MQ_MAX_GOT];
static int       took_n;


static inline int
take_cb(void *arg, const kvmq_delivery_t *d)
{
    char            buf[512];
    size_t          n, len;
    unsigned char  *body;

    (void) arg;

    if (take_gone) {
        return -1;
    }

    if (d->cancelled) {
        n = (size_t) snprintf(buf, sizeof(buf), "cancel:%.*s",
                              (int) d->queue.len,
                              (const char *) d->queue.data);

    } else {
        len = kvmq_msg_body_len(d->msg);
        body = malloc(len + 1);
        kvmq_msg_body_copy(d->msg, body);

        n = (size_t) snprintf(buf, sizeof(buf), "%.*s:%.*s:%.*s%s",
                              (int) d->consumer.len,
                              (const char *) d->consumer.data,
                              (int) d->queue.len,
                              (const char *) d->queue.data,
                              (int) (len > 64 ? 64 : len), body,
                              d->redelivered ? "*" : "");
        free(body);

        if (took_n < MQ_MAX_GOT) {
            took_tags[took_n++] = d->tag;
        }
    }

    n = n < sizeof(buf) ? n : sizeof(buf) - 1;

    if (strlen(took) + n + 2 < sizeof(took)) {
        if (took[0]) {
            strcat(took, " ");
        }

        strncat(took, buf, n);
    }

    return 0;
}


/* take up to max for slot: "ctag:queue:body[*] ..." */
static inline const char *
take(unsigned slot, unsigned max)
{
    took[0] = '\0';
    took_n = 0;

    (void) kvmq_queue_take(&h->ctx, slot, max, take_cb, NULL);

    return took;
}


static inline kvmq_err_e
consume(const char *q, const char *tag, uint64_t owner, unsigned slot,
    uint32_t prefetch, int noack)
{
    kvmq_slice_t  qs, ts;

    qs = sl(q);
    ts = sl(tag);

    return kvmq_queue_consume(&h->ctx, &qs, &ts, owner, slot, prefetch,
                              noack);
}


static inline kvmq_err_e
settle(const char *q, uint64_t *tags, unsigned n, kvmq_settle_e how,
    uint64_t owner)
{
    kvmq_slice_t  qs;

    qs = sl(q != NULL ? q : "");

    return kvmq_queue_settle(&h->ctx, q != NULL ? &qs : NULL, tags, n, how,
                             owner, NULL);
}

#endif /* KVMQ_TEST_MQ_UTIL_H */
