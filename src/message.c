/*
 * Messages: the block a queue entry points at, stored once however many
 * queues hold it.
 *
 * Layout.  One block: a kvmq_msg_t header, then the properties area,
 * then the body when the whole fits in KVMQ_MSG_INLINE bytes (a slab
 * class of at most half a page).  A bigger body goes to a chain of
 * KVMQ_MCHUNK_SIZE blocks (one slab page each, a next pointer and data)
 * so that a 1 MB message needs 257 free pages, not 256 contiguous ones:
 * ngx_slab serves anything over half a page with whole, adjacent pages.
 *
 * The properties area is a run of listpack entries (listpack.h), read
 * front to back:
 *
 *     exchange, routing_key, correlation_id, reply_to, message_id,
 *     content_type, first-death queue, reason, exchange   (9 strings;
 *                                                  empty = absent)
 *     nheaders, then name, value, ...
 *     ndeaths, then per x-death entry: queue, reason, exchange,
 *             routing key, original expiration (empty = none),
 *             count, time
 *
 * Fixed-size properties (expiration, timestamp, priority, persistent)
 * sit in the header.  A message is immutable once built: dead-lettering
 * makes a new one (kvmq_msg_dead_letter), because the original may be
 * in other queues at the same time.  Its body is copied then; bodies of
 * dead-lettered messages are not shared.
 *
 * References.  refs counts the queue entries (and RPC addresses) that
 * point at the message, plus one held by whoever is building a publish;
 * the last kvmq_msg_unref() frees the block and its chunks.  So a
 * message routed to N queues costs one block and N entries.
 *
 * x-death follows RabbitMQ (dlx.md): one entry per {queue, reason},
 * most recent first; dead-lettering again from the same queue for the
 * same reason counts the entry up and moves it first, keeping its other
 * fields; x-first-death-* are set once.  The expiration property is
 * removed on dead-lettering and kept as original-expiration.
 *
 * Cost: building is one pass to size and one to write; reading a
 * property walks the area (a few dozen bytes for typical messages).
 */

#include <stdlib.h>

#include "db.h"
#include "listpack.h"
#include "mq.h"


#define KVMQ_BODY_MAX   KVMQ_STRING_MAX


static const char  *kvmq_mp_names[] = {
    "correlation_id", "reply_to", "message_id", "content_type"
};

static const int  kvmq_mp_index[] = {
    KVMQ_MP_CORRELATION_ID, KVMQ_MP_REPLY_TO, KVMQ_MP_MESSAGE_ID,
    KVMQ_MP_CONTENT_TYPE
};


void
kvmq_msgspec_init(kvmq_msgspec_t *spec)
{
    memset(spec, 0, sizeof(kvmq_msgspec_t));

    spec->expiration = -1;
    spec->timestamp = -1;
    spec->priority = -1;
}


/* ---- blocks ------------------------------------------------------------ */


static kvmq_msg_t *
kvmq_msg_alloc(kvmq_ctx_t *c, size_t plen, size_t blen)
{
    size_t          size, n, i;
    kvmq_msg_t     *m;
    kvmq_mchunk_t  *ch, **last;

    size = sizeof(kvmq_msg_t) + plen;
    n = 0;

    if (size + blen <= KVMQ_MSG_INLINE) {
        size += blen;

    } else {
        n = (blen + KVMQ_MCHUNK_DATA - 1) / KVMQ_MCHUNK_DATA;
    }

    m = kvmq_zalloc(c, size);
    if (m == NULL) {
        return NULL;
    }

    m->chunks = NULL;
    last = &m->chunks;

    for (i = 0; i < n; i++) {
        ch = kvmq_zalloc(c, KVMQ_MCHUNK_SIZE);

        if (ch == NULL) {
            while (m->chunks != NULL) {
                ch = m->chunks;
                m->chunks = ch->next;
                kvmq_zfree(c, ch);
            }

            kvmq_zfree(c, m);
            return NULL;
        }

        ch->next = NULL;
        *last = ch;
        last = &ch->next;
    }

    m->expiration = -1;
    m->timestamp = -1;
    m->refs = 1;
    m->blen = (uint32_t) blen;
    m->plen = (uint32_t) plen;
    m->flags = 0;
    m->priority = -1;

    return m;
}


static void
kvmq_msg_put_body(kvmq_msg_t *m, const unsigned char *p, size_t len)
{
    size_t          n;
    kvmq_mchunk_t  *ch;

    if (m->chunks == NULL) {
        if (len) {
            memcpy(m->data + m->plen, p, len);
        }

        return;
    }

    for (ch = m->chunks; ch != NULL && len > 0; ch = ch->next) {
        n = (len < KVMQ_MCHUNK_DATA) ? len : KVMQ_MCHUNK_DATA;
        memcpy(ch->data, p, n);
        p += n;
        len -= n;
    }
}


static void
kvmq_msg_counted(kvmq_ctx_t *c, const kvmq_msg_t *m, int up)
{
    kvmq_mq_t  *mq;

    mq = c->db->mq;

    if (mq == NULL) {
        return;
    }

    if (up) {
        mq->messages++;
        mq->bytes += m->blen;

    } else {
        mq->messages--;
        mq->bytes -= m->blen;
    }
}


static void
kvmq_msg_free(kvmq_ctx_t *c, kvmq_msg_t *m)
{
    kvmq_mchunk_t  *ch;

    kvmq_msg_counted(c, m, 0);

    while (m->chunks != NULL) {
        ch = m->chunks;
        m->chunks = ch->next;
        kvmq_zfree(c, ch);
    }

    kvmq_zfree(c, m);
}


void
kvmq_msg_ref(kvmq_msg_t *m)
{
    m->refs++;
}


void
kvmq_msg_unref(kvmq_ctx_t *c, kvmq_msg_t *m)
{
    if (--m->refs == 0) {
        kvmq_msg_free(c, m);
    }
}


unsigned
kvmq_msg_blocks(const kvmq_msg_t *m)
{
    unsigned              n;
    const kvmq_mchunk_t  *ch;

    n = 1;

    for (ch = m->chunks; ch != NULL; ch = ch->next) {
        n++;
    }

    return n;
}


size_t
kvmq_msg_body_len(const kvmq_msg_t *m)
{
    return m->blen;
}


size_t
kvmq_msg_body_copy(const kvmq_msg_t *m, unsigned char *buf)
{
    size_t                left, n;
    const kvmq_mchunk_t  *ch;

    if (m->chunks == NULL) {
        if (m->blen) {
            memcpy(buf, m->data + m->plen, m->blen);
        }

        return m->blen;
    }

    left = m->blen;

    for (ch = m->chunks; ch != NULL && left > 0; ch = ch->next) {
        n = (left < KVMQ_MCHUNK_DATA) ? left : KVMQ_MCHUNK_DATA;
        memcpy(buf, ch->data, n);
        buf += n;
        left -= n;
    }

    return m->blen;
}


kvmq_slice_t
kvmq_msg_body(const kvmq_msg_t *m, unsigned char **tmp)
{
    kvmq_slice_t  s;

    *tmp = NULL;
    s.len = m->blen;

    if (m->chunks == NULL) {
        s.data = m->data + m->plen;
        return s;
    }

    *tmp = malloc(m->blen);
    s.data = *tmp;

    if (*tmp != NULL) {
        (void) kvmq_msg_body_copy(m, *tmp);
    }

    return s;
}


/* ---- the properties area ----------------------------------------------- */


static size_t
kvmq_mp_str(const unsigned char *p, kvmq_slice_t *s)
{
    size_t         n;
    kvmq_lp_val_t  v;

    n = kvmq_lp_get(p, &v);

    if (v.type == KVMQ_LP_STR) {
        s->data = v.str;
        s->len = v.len;

    } else {
        s->data = (const unsigned char *) "";
        s->len = 0;
    }

    return n;
}


static size_t
kvmq_mp_int(const unsigned char *p, int64_t *i)
{
    size_t         n;
    kvmq_lp_val_t  v;

    n = kvmq_lp_get(p, &v);
    *i = (v.type == KVMQ_LP_INT) ? v.ll : 0;

    return n;
}


void
kvmq_msg_props(const kvmq_msg_t *m, kvmq_mprops_t *pr)
{
    int                   i;
    int64_t               n;
    uint32_t              k;
    const unsigned char  *p;

    p = m->data;

    for (i = 0; i < KVMQ_MP_NSTR; i++) {
        p += kvmq_mp_str(p, &pr->s[i]);
    }

    p += kvmq_mp_int(p, &n);
    pr->nheaders = (uint32_t) n;
    pr->headers = p;

    for (k = 0; k < 2 * pr->nheaders; k++) {
        p += kvmq_lp_size(p);
    }

    p += kvmq_mp_int(p, &n);
    pr->ndeaths = (uint32_t) n;
    pr->deaths = p;
}


size_t
kvmq_msg_death_next(const unsigned char *p, kvmq_death_t *d)
{
    const unsigned char  *start;

    start = p;

    p += kvmq_mp_str(p, &d->queue);
    p += kvmq_mp_str(p, &d->reason);
    p += kvmq_mp_str(p, &d->exchange);
    p += kvmq_mp_str(p, &d->routing_key);
    p += kvmq_mp_str(p, &d->orig_expiration);
    p += kvmq_mp_int(p, &d->count);
    p += kvmq_mp_int(p, &d->time);

    return (size_t) (p - start);
}


static size_t
kvmq_death_size(const kvmq_death_t *d)
{
    return kvmq_lp_str_size(d->queue.len) + kvmq_lp_str_size(d->reason.len)
           + kvmq_lp_str_size(d->exchange.len)
           + kvmq_lp_str_size(d->routing_key.len)
           + kvmq_lp_str_size(d->orig_expiration.len)
           + kvmq_lp_int_size(d->count) + kvmq_lp_int_size(d->time);
}


static size_t
kvmq_death_put(unsigned char *p, const kvmq_death_t *d)
{
    unsigned char  *start;

    start = p;

    p += kvmq_lp_put_str(p, d->queue.data, d->queue.len);
    p += kvmq_lp_put_str(p, d->reason.data, d->reason.len);
    p += kvmq_lp_put_str(p, d->exchange.data, d->exchange.len);
    p += kvmq_lp_put_str(p, d->routing_key.data, d->routing_key.len);
    p += kvmq_lp_put_str(p, d->orig_expiration.data,
                         d->orig_expiration.len);
    p += kvmq_lp_put_int(p, d->count);
    p += kvmq_lp_put_int(p, d->time);

    return (size_t) (p - start);
}


static int
kvmq_slice_eq(const kvmq_slice_t *a, const kvmq_slice_t *b)
{
    return a->len == b->len
           && (a->len == 0 || memcmp(a->data, b->data, a->len) == 0);
}


static int
kvmq_slice_is(const kvmq_slice_t *a, const char *s)
{
    size_t  n;

    n = strlen(s);

    return a->len == n && memcmp(a->data, s, n) == 0;
}


/* the header pairs of a spec: the words after each "header" */
static int
kvmq_spec_header(const kvmq_msgspec_t *spec, int i, const kvmq_slice_t **nv)
{
    for ( /* void */ ; i + 2 < spec->hargc; i += 2) {
        if (kvmq_arg_is(&spec->hargv[i], "header")) {
            *nv = &spec->hargv[i + 1];
            return i + 3;
        }
    }

    return -1;
}


kvmq_msg_t *
kvmq_msg_new(kvmq_ctx_t *c, const kvmq_msgspec_t *spec)
{
    int                  i, nh;
    size_t               plen;
    unsigned char       *p;
    kvmq_msg_t          *m;
    const kvmq_slice_t  *nv;

    plen = 0;

    for (i = 0; i < KVMQ_MP_NSTR; i++) {
        plen += kvmq_lp_str_size(spec->s[i].len);
    }

    nh = 0;

    for (i = kvmq_spec_header(spec, 0, &nv); i >= 0;
         i = kvmq_spec_header(spec, i, &nv))
    {
        plen += kvmq_lp_str_size(nv[0].len) + kvmq_lp_str_size(nv[1].len);
        nh++;
    }

    plen += kvmq_lp_int_size(nh) + kvmq_lp_int_size(0);

    m = kvmq_msg_alloc(c, plen, spec->body.len);
    if (m == NULL) {
        return NULL;
    }

    p = m->data;

    for (i = 0; i < KVMQ_MP_NSTR; i++) {
        p += kvmq_lp_put_str(p, spec->s[i].data, spec->s[i].len);
    }

    p += kvmq_lp_put_int(p, nh);

    for (i = kvmq_spec_header(spec, 0, &nv); i >= 0;
         i = kvmq_spec_header(spec, i, &nv))
    {
        p += kvmq_lp_put_str(p, nv[0].data, nv[0].len);
        p += kvmq_lp_put_str(p, nv[1].data, nv[1].len);
    }

    p += kvmq_lp_put_int(p, 0);

    m->expiration = spec->expiration;
    m->timestamp = spec->timestamp;
    m->priority = (int16_t) spec->priority;
    m->flags = spec->persistent ? KVMQ_MSG_PERSISTENT : 0;

    kvmq_msg_put_body(m, spec->body.data, spec->body.len);
    kvmq_msg_counted(c, m, 1);

    return m;
}


kvmq_msg_t *
kvmq_msg_dead_letter(kvmq_ctx_t *c, const kvmq_msg_t *m,
    const kvmq_slice_t *queue, const char *reason,
    const kvmq_slice_t *exchange, const kvmq_slice_t *routing_key)
{
    int                   i, first;
    char                  expbuf[KVMQ_NUMBUF];
    size_t                plen, hlen, n;
    uint32_t              k;
    kvmq_msg_t           *dm;
    kvmq_death_t          d, now;
    kvmq_slice_t          s[KVMQ_MP_NSTR];
    unsigned char        *p, *tmp;
    const unsigned char  *q, *hit;
    kvmq_mprops_t         pr;

    kvmq_msg_props(m, &pr);

    /* the entry this death adds, or the one it counts up */
    now.queue = *queue;
    now.reason.data = (const unsigned char *) reason;
    now.reason.len = strlen(reason);
    now.exchange = pr.s[KVMQ_MP_EXCHANGE];
    now.routing_key = pr.s[KVMQ_MP_ROUTING_KEY];
    now.orig_expiration.data = (const unsigned char *) expbuf;
    now.orig_expiration.len = 0;
    now.count = 1;
    now.time = c->now_ms / 1000;

    if (m->expiration >= 0) {
        now.orig_expiration.len = kvmq_ll2str(expbuf, m->expiration);
    }

    hit = NULL;

    for (q = pr.deaths, k = 0; k < pr.ndeaths; k++) {
        n = kvmq_msg_death_next(q, &d);

        if (hit == NULL && kvmq_slice_eq(&d.queue, queue)
            && kvmq_slice_eq(&d.reason, &now.reason))
        {
            hit = q;
            now = d;
            now.count++;
        }

        q += n;
    }

    for (i = 0; i < KVMQ_MP_NSTR; i++) {
        s[i] = pr.s[i];
    }

    first = (pr.ndeaths == 0);

    if (first) {
        s[KVMQ_MP_FIRST_QUEUE] = *queue;
        s[KVMQ_MP_FIRST_REASON] = now.reason;
        s[KVMQ_MP_FIRST_EXCHANGE] = pr.s[KVMQ_MP_EXCHANGE];
    }

    s[KVMQ_MP_EXCHANGE] = *exchange;
    s[KVMQ_MP_ROUTING_KEY] = *routing_key;

    /* headers are copied as they are */
    q = pr.headers;

    for (k = 0; k < 2 * pr.nheaders; k++) {
        q += kvmq_lp_size(q);
    }

    hlen = (size_t) (q - pr.headers);

    plen = 0;

    for (i = 0; i < KVMQ_MP_NSTR; i++) {
        plen += kvmq_lp_str_size(s[i].len);
    }

    plen += kvmq_lp_int_size(pr.nheaders) + hlen;
    plen += kvmq_lp_int_size(pr.ndeaths + (hit == NULL));
    plen += kvmq_death_size(&now);

    for (q = pr.deaths, k = 0; k < pr.ndeaths; k++) {
        n = kvmq_msg_death_next(q, &d);

        if (q != hit) {
            plen += n;
        }

        q += n;
    }

    dm = kvmq_msg_alloc(c, plen, m->blen);
    if (dm == NULL) {
        return NULL;
    }

    p = dm->data;

    for (i = 0; i < KVMQ_MP_NSTR; i++) {
        p += kvmq_lp_put_str(p, s[i].data, s[i].len);
    }

    p += kvmq_lp_put_int(p, pr.nheaders);

    if (hlen) {
        memcpy(p, pr.headers, hlen);
        p += hlen;
    }

    p += kvmq_lp_put_int(p, pr.ndeaths + (hit == NULL));
    p += kvmq_death_put(p, &now);

    for (q = pr.deaths, k = 0; k < pr.ndeaths; k++) {
        n = kvmq_msg_death_next(q, &d);

        if (q != hit) {
            memcpy(p, q, n);
            p += n;
        }

        q += n;
    }

    dm->expiration = -1;
    dm->timestamp = m->timestamp;
    dm->priority = m->priority;
    dm->flags = m->flags;

    /* the body: the same bytes, in the new block's own layout */
    if (m->chunks == NULL) {
        kvmq_msg_put_body(dm, m->data + m->plen, m->blen);

    } else {
        tmp = NULL;
        (void) kvmq_msg_body(m, &tmp);

        if (tmp == NULL) {
            kvmq_msg_free(c, dm);
            return NULL;
        }

        kvmq_msg_put_body(dm, tmp, m->blen);
        free(tmp);
    }

    kvmq_msg_counted(c, dm, 1);

    return dm;
}


int
kvmq_msg_death_cycle(const kvmq_msg_t *m, const kvmq_slice_t *queue)
{
    uint32_t              k;
    kvmq_death_t          d;
    kvmq_mprops_t         pr;
    const unsigned char  *p;

    kvmq_msg_props(m, &pr);

    /* most recent first: a rejection before reaching queue again breaks
     * the cycle (RabbitMQ's is_cycle) */
    for (p = pr.deaths, k = 0; k < pr.ndeaths; k++) {
        p += kvmq_msg_death_next(p, &d);

        if (kvmq_slice_is(&d.reason, "rejected")) {
            return 0;
        }

        if (kvmq_slice_eq(&d.queue, queue)) {
            return 1;
        }
    }

    return 0;
}


kvmq_slice_t
kvmq_msg_exchange(const kvmq_msg_t *m)
{
    kvmq_mprops_t  pr;

    kvmq_msg_props(m, &pr);

    return pr.s[KVMQ_MP_EXCHANGE];
}


kvmq_slice_t
kvmq_msg_routing_key(const kvmq_msg_t *m)
{
    kvmq_mprops_t  pr;

    kvmq_msg_props(m, &pr);

    return pr.s[KVMQ_MP_ROUTING_KEY];
}


kvmq_slice_t
kvmq_msg_content_type(const kvmq_msg_t *m)
{
    kvmq_mprops_t  pr;

    kvmq_msg_props(m, &pr);

    return pr.s[KVMQ_MP_CONTENT_TYPE];
}


kvmq_slice_t
kvmq_msg_correlation_id(const kvmq_msg_t *m)
{
    kvmq_mprops_t  pr;

    kvmq_msg_props(m, &pr);

    return pr.s[KVMQ_MP_CORRELATION_ID];
}


/* ---- replies ----------------------------------------------------------- */


static void
kvmq_reply_slice(kvmq_ctx_t *c, const kvmq_slice_t *s)
{
    kvmq_reply_bulk(c, s->data, s->len);
}


static void
kvmq_msg_reply_death(kvmq_ctx_t *c, const kvmq_death_t *d)
{
    long long  ll;

    kvmq_reply_map(c, -1);

    kvmq_reply_cstr(c, "count");
    kvmq_reply_int(c, d->count);
    kvmq_reply_cstr(c, "exchange");
    kvmq_reply_slice(c, &d->exchange);
    kvmq_reply_cstr(c, "queue");
    kvmq_reply_slice(c, &d->queue);
    kvmq_reply_cstr(c, "reason");
    kvmq_reply_slice(c, &d->reason);
    kvmq_reply_cstr(c, "routing-keys");
    kvmq_reply_array(c, 1);
    kvmq_reply_slice(c, &d->routing_key);
    kvmq_reply_array_end(c);
    kvmq_reply_cstr(c, "time");
    kvmq_reply_int(c, d->time);

    if (d->orig_expiration.len
        && kvmq_str2ll(d->orig_expiration.data, d->orig_expiration.len, &ll)
           == 0)
    {
        kvmq_reply_cstr(c, "original-expiration");
        kvmq_reply_int(c, ll);
    }

    kvmq_reply_map_end(c);
}


static void
kvmq_msg_reply_headers(kvmq_ctx_t *c, const kvmq_mprops_t *pr)
{
    uint32_t              k;
    kvmq_slice_t          name, value;
    kvmq_death_t          d, last;
    const unsigned char  *p;

    kvmq_reply_map(c, -1);

    for (p = pr->headers, k = 0; k < pr->nheaders; k++) {
        p += kvmq_mp_str(p, &name);
        p += kvmq_mp_str(p, &value);
        kvmq_reply_slice(c, &name);
        kvmq_reply_slice(c, &value);
    }

    if (pr->ndeaths) {
        /* the most recent is first */
        (void) kvmq_msg_death_next(pr->deaths, &last);

        kvmq_reply_cstr(c, "x-death");
        kvmq_reply_array(c, pr->ndeaths);

        for (p = pr->deaths, k = 0; k < pr->ndeaths; k++) {
            p += kvmq_msg_death_next(p, &d);
            kvmq_msg_reply_death(c, &d);
        }

        kvmq_reply_array_end(c);

        kvmq_reply_cstr(c, "x-first-death-exchange");
        kvmq_reply_slice(c, &pr->s[KVMQ_MP_FIRST_EXCHANGE]);
        kvmq_reply_cstr(c, "x-first-death-queue");
        kvmq_reply_slice(c, &pr->s[KVMQ_MP_FIRST_QUEUE]);
        kvmq_reply_cstr(c, "x-first-death-reason");
        kvmq_reply_slice(c, &pr->s[KVMQ_MP_FIRST_REASON]);

        kvmq_reply_cstr(c, "x-last-death-exchange");
        kvmq_reply_slice(c, &last.exchange);
        kvmq_reply_cstr(c, "x-last-death-queue");
        kvmq_reply_slice(c, &last.queue);
        kvmq_reply_cstr(c, "x-last-death-reason");
        kvmq_reply_slice(c, &last.reason);
    }

    kvmq_reply_map_end(c);
}


void
kvmq_msg_reply_properties(kvmq_ctx_t *c, const kvmq_msg_t *m)
{
    size_t         i;
    kvmq_mprops_t  pr;

    kvmq_msg_props(m, &pr);

    kvmq_reply_map(c, -1);

    for (i = 0; i < sizeof(kvmq_mp_index) / sizeof(kvmq_mp_index[0]); i++) {
        if (pr.s[kvmq_mp_index[i]].len) {
            kvmq_reply_cstr(c, kvmq_mp_names[i]);
            kvmq_reply_slice(c, &pr.s[kvmq_mp_index[i]]);
        }
    }

    if (m->expiration >= 0) {
        kvmq_reply_cstr(c, "expiration");
        kvmq_reply_int(c, m->expiration);
    }

    if (m->flags & KVMQ_MSG_PERSISTENT) {
        kvmq_reply_cstr(c, "persistent");
        kvmq_reply_int(c, 1);
    }

    if (m->priority >= 0) {
        kvmq_reply_cstr(c, "priority");
        kvmq_reply_int(c, m->priority);
    }

    if (m->timestamp >= 0) {
        kvmq_reply_cstr(c, "timestamp");
        kvmq_reply_int(c, m->timestamp);
    }

    if (pr.nheaders || pr.ndeaths) {
        kvmq_reply_cstr(c, "headers");
        kvmq_msg_reply_headers(c, &pr);
    }

    kvmq_reply_map_end(c);
}


/* ---- the property grammar ---------------------------------------------- */


static int
kvmq_prop_bool(const kvmq_slice_t *a, int *v)
{
    if (kvmq_arg_is(a, "1") || kvmq_arg_is(a, "true")) {
        *v = 1;
        return 0;
    }

    if (kvmq_arg_is(a, "0") || kvmq_arg_is(a, "false")) {
        *v = 0;
        return 0;
    }

    return -1;
}


static int
kvmq_header_reserved(const kvmq_slice_t *name)
{
    static const char  *res[] = {
        "x-death", "x-first-death-exchange", "x-first-death-queue",
        "x-first-death-reason", "x-last-death-exchange",
        "x-last-death-queue", "x-last-death-reason"
    };

    size_t  i;

    for (i = 0; i < sizeof(res) / sizeof(res[0]); i++) {
        if (kvmq_slice_is(name, res[i])) {
            return 1;
        }
    }

    return 0;
}


int
kvmq_msg_parse_props(kvmq_ctx_t *c, const kvmq_slice_t *argv, int argc,
    kvmq_msgspec_t *spec)
{
    int                  i, j, b;
    size_t               k;
    long long            ll;
    const kvmq_slice_t  *a;

    spec->hargv = argv;
    spec->hargc = argc;

    for (i = 0; i < argc; i += 2) {
        a = &argv[i];

        if (kvmq_arg_is(a, "header")) {
            if (i + 2 >= argc) {
                kvmq_reply_syntax(c);
                return -1;
            }

            if (kvmq_header_reserved(&argv[i + 1])) {
                kvmq_reply_error(c, KVMQ_ERR_BADREQ,
                                 "header '%.*s' is set by the server",
                                 (int) argv[i + 1].len,
                                 (const char *) argv[i + 1].data);
                return -1;
            }

            for (j = 0; j < i; j += 2) {
                if (kvmq_arg_is(&argv[j], "header")
                    && kvmq_slice_eq(&argv[j + 1], &argv[i + 1]))
                {
                    kvmq_reply_error(c, KVMQ_ERR_BADREQ,
                                     "duplicate header '%.*s'",
                                     (int) argv[i + 1].len,
                                     (const char *) argv[i + 1].data);
                    return -1;
                }

                if (kvmq_arg_is(&argv[j], "header")) {
                    j++;
                }
            }

            i++;
            continue;
        }

        if (i + 1 >= argc) {
            kvmq_reply_syntax(c);
            return -1;
        }

        for (k = 0; k < sizeof(kvmq_mp_index) / sizeof(kvmq_mp_index[0]);
             k++)
        {
            if (kvmq_arg_is(a, kvmq_mp_names[k])) {
                spec->s[kvmq_mp_index[k]] = argv[i + 1];
                break;
            }
        }

        if (k < sizeof(kvmq_mp_index) / sizeof(kvmq_mp_index[0])) {
            continue;
        }

        if (kvmq_arg_is(a, "expiration")) {
            if (kvmq_str2ll(argv[i + 1].data, argv[i + 1].len, &ll) != 0
                || ll < 0)
            {
                kvmq_reply_error(c, KVMQ_ERR_BADREQ,
                                 "invalid expiration '%.*s'",
                                 (int) argv[i + 1].len,
                                 (const char *) argv[i + 1].data);
                return -1;
            }

            spec->expiration = ll;

        } else if (kvmq_arg_is(a, "timestamp")) {
            if (kvmq_arg_ll(c, &argv[i + 1], &ll) != 0) {
                return -1;
            }

            spec->timestamp = ll < 0 ? 0 : ll;

        } else if (kvmq_arg_is(a, "priority")) {
            if (kvmq_str2ll(argv[i + 1].data, argv[i + 1].len, &ll) != 0
                || ll < 0 || ll > 255)
            {
                kvmq_reply_error(c, KVMQ_ERR_BADREQ,
                                 "priority must be 0 to 255");
                return -1;
            }

            spec->priority = (int) ll;

        } else if (kvmq_arg_is(a, "persistent")) {
            if (kvmq_prop_bool(&argv[i + 1], &b) != 0) {
                kvmq_reply_syntax(c);
                return -1;
            }

            spec->persistent = b;

        } else {
            kvmq_reply_error(c, KVMQ_ERR_BADREQ, "unknown property '%.*s'",
                             (int) (a->len > 64 ? 64 : a->len),
                             (const char *) a->data);
            return -1;
        }
    }

    if (spec->body.len > KVMQ_BODY_MAX) {
        kvmq_reply_error(c, KVMQ_ERR_TOOLARGE, "message body too large");
        return -1;
    }

    return 0;
}
