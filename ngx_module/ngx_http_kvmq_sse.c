
/*
 * Pub/sub over plain HTTP:
 *
 *   POST {prefix}/publish/{channel}   body = the message; runs PUBLISH
 *                                     (so readonly, limits and errors are
 *                                     those of /cmd) and answers
 *                                     {"receivers": N, "seq": S}
 *   GET {prefix}/subscribe/{channel}  Server-Sent Events: one event per
 *                                     message, "id: <seq>" and the data
 *                                     split into "data:" lines
 *
 * Resume.  Last-Event-ID (what EventSource sends when it reconnects) or
 * ?since=SEQ replays the history after that seq first; the header wins,
 * since the URL of a reconnecting EventSource still carries the first
 * since.  Subscribing and copying the history happen in one engine call
 * under the lock, and the subscriber then takes live messages only past
 * the last replayed seq: no gap, no duplicate.  When the history no
 * longer holds the message after since, an "event: gap" with data
 * {"since": S, "first": F} comes first, F being the seq of the first
 * message the client gets; the same event tells a subscriber whose
 * worker fell behind by more than the engine keeps.
 *
 * Output.  Events are appended to buffers of this request (malloc'ed,
 * reused, freed by the pool cleanup) and handed to the filter chain by
 * one posted event per fan-out round, so a burst is one write.  Bytes
 * handed over and not yet sent are counted: past kvmq_sse_send_buffer
 * the client is too slow and the connection is closed.  A comment
 * (": ping") every kvmq_sse_ping keeps proxies and the client's idle
 * timers quiet.
 *
 * Shutdown.  On a graceful shutdown of the worker (reload, quit) every
 * stream gets "retry: 1000" and ends after what is queued is sent, so an
 * EventSource reconnects to a new worker within a second and resumes
 * with its Last-Event-ID.  A worker already going away answers a new
 * subscription the same way.
 */


#include "ngx_http_kvmq_module.h"
#include "ngx_http_kvmq_notify.h"


#define NGX_HTTP_KVMQ_SSE_BUF       4096
#define NGX_HTTP_KVMQ_SSE_KEEP      4       /* free buffers kept */
#define NGX_HTTP_KVMQ_SSE_RETRY     "retry: 1000\n\n"


typedef struct {
    ngx_http_kvmq_sub_t         sub;
    ngx_http_request_t         *request;
    ngx_chain_t                *out;        /* not yet passed on */
    ngx_chain_t                *out_last;
    ngx_chain_t                *busy;       /* passed on, not yet sent */
    ngx_chain_t                *free;
    size_t                      limit;
    ngx_event_t                 ping;
    ngx_event_t                 flush;
    ngx_queue_t                 queue;      /* all streams of the worker */
    unsigned                    base64:1;
    unsigned                    failed:1;   /* close at the next flush */
    unsigned                    done:1;     /* ended or ending */
} ngx_http_kvmq_sse_t;


static void ngx_http_kvmq_publish_body(ngx_http_request_t *r);
static ngx_int_t ngx_http_kvmq_publish_run(ngx_http_request_t *r,
    ngx_http_kvmq_ctx_t *ctx);
static ngx_int_t ngx_http_kvmq_sse_since(ngx_http_request_t *r,
    uint64_t *since, ngx_uint_t *has);
static ngx_int_t ngx_http_kvmq_sse_start(ngx_http_request_t *r,
    ngx_http_kvmq_sse_t *s);
static ngx_int_t ngx_http_kvmq_sse_append(ngx_http_kvmq_sse_t *s,
    const u_char *p, size_t len);
static ngx_int_t ngx_http_kvmq_sse_gap(ngx_http_kvmq_sse_t *s,
    uint64_t since, uint64_t first);
static ngx_str_t *ngx_http_kvmq_sse_format(ngx_http_kvmq_msg_t *m,
    ngx_uint_t base64);
static ngx_int_t ngx_http_kvmq_sse_deliver(ngx_http_kvmq_sub_t *sub,
    ngx_http_kvmq_msg_t *m, ngx_str_t *pattern, uint64_t gap);
static void ngx_http_kvmq_sse_flush(ngx_http_kvmq_sse_t *s);
static void ngx_http_kvmq_sse_flush_handler(ngx_event_t *ev);
static void ngx_http_kvmq_sse_ping_handler(ngx_event_t *ev);
static void ngx_http_kvmq_sse_write_handler(ngx_http_request_t *r);
static void ngx_http_kvmq_sse_end(ngx_http_kvmq_sse_t *s, ngx_int_t rc);
static void ngx_http_kvmq_sse_shutdown(void);
static void ngx_http_kvmq_sse_cleanup(void *data);


static ngx_queue_t  ngx_http_kvmq_sse_streams;
static ngx_uint_t   ngx_http_kvmq_sse_inited;
static u_char       ngx_http_kvmq_sse_tag;      /* our buffers' tag */


/* ---- POST /publish/{channel} ------------------------------------------- */


ngx_int_t
ngx_http_kvmq_publish(ngx_http_request_t *r, ngx_http_kvmq_ctx_t *ctx)
{
    ngx_int_t                  rc;
    ngx_http_kvmq_loc_conf_t  *klcf;

    if (r->method != NGX_HTTP_POST) {
        return ngx_http_kvmq_send_method(r, "POST");
    }

    klcf = ngx_http_get_module_loc_conf(r, ngx_http_kvmq_module);

    ngx_str_set(&ctx->command, "PUBLISH");
    ctx->key = ctx->seg[1];

    if (ctx->seg[1].len > klcf->max_key) {
        return ngx_http_kvmq_send_errorf(r, KVMQ_ERR_TOOLARGE,
                                         "channel of %uz bytes is over "
                                         "kvmq_max_key (%uz)",
                                         ctx->seg[1].len, klcf->max_key);
    }

    if (r->headers_in.content_length_n > (off_t) klcf->max_value) {
        return ngx_http_kvmq_send_errorf(r, KVMQ_ERR_TOOLARGE,
                                         "message of %O bytes is over "
                                         "kvmq_max_value (%uz)",
                                         r->headers_in.content_length_n,
                                         klcf->max_value);
    }

    rc = ngx_http_read_client_request_body(r, ngx_http_kvmq_publish_body);

    if (rc >= NGX_HTTP_SPECIAL_RESPONSE) {
        return rc;
    }

    return NGX_DONE;
}


static void
ngx_http_kvmq_publish_body(ngx_http_request_t *r)
{
    ngx_http_kvmq_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_kvmq_module);

    ngx_http_finalize_request(r, ngx_http_kvmq_publish_run(r, ctx));
}


static ngx_int_t
ngx_http_kvmq_publish_run(ngx_http_request_t *r, ngx_http_kvmq_ctx_t *ctx)
{
    ngx_int_t                 rc;
    ngx_str_t                 err;
    ngx_chain_t              *out;
    kvmq_slice_t              argv[3];
    ngx_http_kvmq_val_t      *res;
    ngx_http_kvmq_argv_t      cmd;
    ngx_http_kvmq_json_t     *j;
    ngx_http_kvmq_builder_t   b;

    if (ngx_http_kvmq_body(r, &ctx->body) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    argv[0].data = (u_char *) "PUBLISH";
    argv[0].len = 7;
    argv[1].data = ctx->seg[1].data;
    argv[1].len = ctx->seg[1].len;
    argv[2].data = ctx->body.data;
    argv[2].len = ctx->body.len;

    cmd.argv = argv;
    cmd.argc = 3;

    rc = ngx_http_kvmq_check_limits(r, &cmd, 1, &err);

    if (rc == NGX_ERROR) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (rc == NGX_DECLINED) {
        return ngx_http_kvmq_send_error(r, KVMQ_ERR_TOOLARGE, err.data,
                                        err.len);
    }

    ngx_http_kvmq_builder_init(&b, r->pool);

    if (ngx_http_kvmq_exec(r, &b, &cmd, 1, &res, NULL) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (res == NULL || res->type != NGX_HTTP_KVMQ_INT) {
        return ngx_http_kvmq_send_val(r, res);
    }

    j = ngx_http_kvmq_json_create(r, 0);
    if (j == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    rc = ngx_http_kvmq_json_open(j, 1);

    if (rc == NGX_OK) {
        rc = ngx_http_kvmq_json_string(j, (u_char *) "receivers", 9);
    }

    if (rc == NGX_OK) {
        rc = ngx_http_kvmq_json_int(j, res->integer);
    }

    /* no seq when nothing was kept (no history, nobody listening) */
    if (rc == NGX_OK && b.pub_seq) {
        rc = ngx_http_kvmq_json_string(j, (u_char *) "seq", 3);

        if (rc == NGX_OK) {
            rc = ngx_http_kvmq_json_int(j, (int64_t) b.pub_seq);
        }
    }

    if (rc != NGX_OK || ngx_http_kvmq_json_close(j, 1) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    out = ngx_http_kvmq_json_finish(j);
    if (out == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_kvmq_send(r, NGX_HTTP_OK, out);
}


/* ---- GET /subscribe/{channel} ------------------------------------------ */


ngx_int_t
ngx_http_kvmq_sse(ngx_http_request_t *r, ngx_http_kvmq_ctx_t *ctx)
{
    ngx_int_t                  rc;
    uint64_t                   since;
    ngx_uint_t                 has, i;
    kvmq_err_e                 err;
    ngx_array_t               *replay;
    kvmq_pubsub_pos_t          pos;
    ngx_pool_cleanup_t        *cln;
    ngx_http_kvmq_msg_t       *m;
    ngx_http_kvmq_sse_t       *s;
    ngx_http_kvmq_loc_conf_t  *klcf;

    if (r->method != NGX_HTTP_GET) {
        return ngx_http_kvmq_send_method(r, "GET");
    }

    klcf = ngx_http_get_module_loc_conf(r, ngx_http_kvmq_module);

    ngx_str_set(&ctx->command, "SUBSCRIBE");
    ctx->key = ctx->seg[1];

    if (ctx->seg[1].len > klcf->max_key) {
        return ngx_http_kvmq_send_errorf(r, KVMQ_ERR_TOOLARGE,
                                         "channel of %uz bytes is over "
                                         "kvmq_max_key (%uz)",
                                         ctx->seg[1].len, klcf->max_key);
    }

    rc = ngx_http_kvmq_sse_since(r, &since, &has);

    if (rc == NGX_ERROR) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (rc == NGX_DECLINED) {
        return ngx_http_kvmq_send_errorf(r, KVMQ_ERR_BADREQ,
                                         "invalid Last-Event-ID or since: "
                                         "not a sequence number");
    }

    rc = ngx_http_discard_request_body(r);

    if (rc != NGX_OK) {
        return rc;
    }

    s = ngx_pcalloc(r->pool, sizeof(ngx_http_kvmq_sse_t));
    if (s == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    cln = ngx_pool_cleanup_add(r->pool, 0);
    if (cln == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    s->request = r;
    s->limit = klcf->sse_send_buffer;
    s->base64 = ctx->base64;
    s->sub.name = ctx->seg[1];
    s->sub.zone = klcf->shm_zone->data;
    s->sub.deliver = ngx_http_kvmq_sse_deliver;
    s->sub.data = s;
    ngx_queue_init(&s->queue);

    cln->handler = ngx_http_kvmq_sse_cleanup;
    cln->data = s;

    ctx->door = s;

    replay = NULL;

    rc = ngx_http_kvmq_subscribe(&s->sub, has ? &since : NULL, r->pool,
                                 &replay, &pos, &err);

    if (rc == NGX_ERROR) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (rc == NGX_DECLINED && err != KVMQ_ERR_DENIED) {
        return ngx_http_kvmq_send_errorf(r, err, "cannot subscribe: %s",
                                         err == KVMQ_ERR_NOMEM
                                         ? "the zone is full"
                                         : "engine error");
    }

    if (ngx_http_kvmq_sse_start(r, s) != NGX_OK) {
        goto failed;
    }

    if (rc == NGX_DECLINED) {
        /* this worker is going away: come back to another one */
        if (ngx_http_kvmq_sse_append(s, (u_char *) NGX_HTTP_KVMQ_SSE_RETRY,
                                     sizeof(NGX_HTTP_KVMQ_SSE_RETRY) - 1)
            != NGX_OK)
        {
            goto failed;
        }

        r->main->count++;
        ngx_http_kvmq_sse_end(s, NGX_OK);

        return NGX_DONE;
    }

    if (has) {
        if (since > pos.last) {
            rc = ngx_http_kvmq_sse_gap(s, since, pos.last + 1);

        } else if (pos.first > since + 1) {
            rc = ngx_http_kvmq_sse_gap(s, since, pos.first);

        } else {
            rc = NGX_OK;
        }

        m = replay ? replay->elts : NULL;

        for (i = 0; rc == NGX_OK && replay && i < replay->nelts; i++) {
            rc = ngx_http_kvmq_sse_deliver(&s->sub, &m[i], NULL, 0);
        }

        if (rc != NGX_OK) {
            goto failed;
        }
    }

    r->main->count++;

    ngx_http_kvmq_sse_flush(s);

    return NGX_DONE;

failed:

    if (!r->header_sent) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    r->main->count++;
    ngx_http_kvmq_sse_end(s, NGX_ERROR);

    return NGX_DONE;
}


static ngx_int_t
ngx_http_kvmq_sse_since(ngx_http_request_t *r, uint64_t *since,
    ngx_uint_t *has)
{
    ngx_int_t         rc;
    ngx_str_t         v;
    ngx_uint_t        i;
    ngx_list_part_t  *part;
    ngx_table_elt_t  *h;

    *has = 0;

    part = &r->headers_in.headers.part;
    h = part->elts;

    for (i = 0; /* void */ ; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                break;
            }

            part = part->next;
            h = part->elts;
            i = 0;
        }

        if (h[i].key.len == sizeof("Last-Event-ID") - 1
            && ngx_strncasecmp(h[i].key.data, (u_char *) "Last-Event-ID",
                               sizeof("Last-Event-ID") - 1) == 0
            && h[i].value.len > 0)
        {
            *has = 1;
            return ngx_http_kvmq_parse_seq(h[i].value.data, h[i].value.len,
                                           since);
        }
    }

    if (ngx_http_arg(r, (u_char *) "since", 5, &v) != NGX_OK) {
        return NGX_OK;
    }

    rc = ngx_http_kvmq_unescape(r->pool, &v, v.data, v.len, 1);

    if (rc != NGX_OK) {
        return rc;
    }

    *has = 1;

    return ngx_http_kvmq_parse_seq(v.data, v.len, since);
}


static ngx_int_t
ngx_http_kvmq_sse_start(ngx_http_request_t *r, ngx_http_kvmq_sse_t *s)
{
    ngx_int_t                  rc;
    ngx_str_t                  v;
    ngx_http_kvmq_loc_conf_t  *klcf;

    r->headers_out.status = NGX_HTTP_OK;
    r->headers_out.content_length_n = -1;

    ngx_str_set(&r->headers_out.content_type, "text/event-stream");
    r->headers_out.content_type_len = sizeof("text/event-stream") - 1;

    ngx_str_set(&v, "no-cache");

    if (ngx_http_kvmq_add_header(r, "Cache-Control", 13, &v, NULL)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    /* a proxy in front must not buffer the stream */
    ngx_str_set(&v, "no");

    if (ngx_http_kvmq_add_header(r, "X-Accel-Buffering", 17, &v, NULL)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    r->keepalive = 0;

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK) {
        return NGX_ERROR;
    }

    r->read_event_handler = ngx_http_test_reading;
    r->write_event_handler = ngx_http_kvmq_sse_write_handler;

    s->flush.handler = ngx_http_kvmq_sse_flush_handler;
    s->flush.data = s;
    s->flush.log = r->connection->log;

    s->ping.handler = ngx_http_kvmq_sse_ping_handler;
    s->ping.data = s;
    s->ping.log = r->connection->log;
    s->ping.cancelable = 1;

    if (!ngx_http_kvmq_sse_inited) {
        ngx_queue_init(&ngx_http_kvmq_sse_streams);

        if (ngx_http_kvmq_notify_on_shutdown(ngx_http_kvmq_sse_shutdown)
            != NGX_OK)
        {
            return NGX_ERROR;
        }

        ngx_http_kvmq_sse_inited = 1;
    }

    ngx_queue_insert_tail(&ngx_http_kvmq_sse_streams, &s->queue);

    klcf = ngx_http_get_module_loc_conf(r, ngx_http_kvmq_module);

    if (klcf->sse_ping) {
        ngx_add_timer(&s->ping, klcf->sse_ping);
    }

    return ngx_http_kvmq_sse_append(s, (u_char *) ": ok\n\n", 6);
}


/* ---- output ------------------------------------------------------------ */


static ngx_int_t
ngx_http_kvmq_sse_append(ngx_http_kvmq_sse_t *s, const u_char *p,
    size_t len)
{
    size_t        size;
    ngx_buf_t    *b;
    ngx_chain_t  *cl;

    cl = s->out_last;

    if (cl && (size_t) (cl->buf->end - cl->buf->last) >= len) {
        cl->buf->last = ngx_cpymem(cl->buf->last, p, len);
        return NGX_OK;
    }

    size = ngx_max(len, NGX_HTTP_KVMQ_SSE_BUF);

    if (s->free) {
        cl = s->free;
        s->free = cl->next;
        b = cl->buf;

        if (b->start && (size_t) (b->end - b->start) < size) {
            ngx_free(b->start);
            b->start = NULL;
        }

    } else {
        cl = ngx_alloc_chain_link(s->request->pool);
        if (cl == NULL) {
            return NGX_ERROR;
        }

        b = ngx_calloc_buf(s->request->pool);
        if (b == NULL) {
            return NGX_ERROR;
        }

        cl->buf = b;
    }

    cl->next = NULL;

    if (b->start == NULL) {
        b->start = ngx_alloc(size, s->request->connection->log);

        if (b->start == NULL) {
            /* back on the free list, to be freed by the cleanup */
            cl->next = s->free;
            s->free = cl;
            return NGX_ERROR;
        }

        b->end = b->start + size;
    }

    b->pos = b->start;
    b->last = ngx_cpymem(b->start, p, len);
    b->temporary = 1;
    b->flush = 0;
    b->tag = (ngx_buf_tag_t) &ngx_http_kvmq_sse_tag;

    if (s->out_last) {
        s->out_last->next = cl;

    } else {
        s->out = cl;
    }

    s->out_last = cl;

    return NGX_OK;
}


static ngx_int_t
ngx_http_kvmq_sse_gap(ngx_http_kvmq_sse_t *s, uint64_t since,
    uint64_t first)
{
    u_char  *p;
    u_char   buf[128];

    p = ngx_sprintf(buf, "event: gap\ndata: {\"since\":%uL,\"first\":%uL}"
                    "\n\n", since, first);

    return ngx_http_kvmq_sse_append(s, buf, p - buf);
}


/*
 * "id: SEQ\n", then "data: LINE\n" for each line of the message (CR LF,
 * CR and LF all end a line, as the SSE parser reads them), then "\n";
 * built once per message for all subscribers.
 */
static ngx_str_t *
ngx_http_kvmq_sse_format(ngx_http_kvmq_msg_t *m, ngx_uint_t base64)
{
    size_t      len, lines;
    u_char     *p, *q, *end;
    ngx_str_t  *ev, data;

    ev = base64 ? &m->sse64 : &m->sse;

    if (ev->data) {
        return ev;
    }

    data = m->data;

    if (base64) {
        data.len = ngx_base64_encoded_length(m->data.len);
        data.data = ngx_pnalloc(m->pool, data.len + 1);
        if (data.data == NULL) {
            return NULL;
        }

        ngx_encode_base64(&data, &m->data);
    }

    end = data.data + data.len;
    lines = 1;

    for (p = data.data; p < end; p++) {
        if (*p == '\n' || (*p == '\r' && (p + 1 == end || p[1] != '\n'))) {
            lines++;
        }
    }

    len = sizeof("id: \n") - 1 + NGX_INT64_LEN
          + lines * (sizeof("data: \n") - 1) + data.len + 1;

    ev->data = ngx_pnalloc(m->pool, len);
    if (ev->data == NULL) {
        return NULL;
    }

    q = ngx_sprintf(ev->data, "id: %uL\ndata: ", m->seq);

    for (p = data.data; p < end; p++) {

        if (*p == '\r' && p + 1 < end && p[1] == '\n') {
            continue;
        }

        if (*p == '\r' || *p == '\n') {
            q = ngx_cpymem(q, "\ndata: ", sizeof("\ndata: ") - 1);
            continue;
        }

        *q++ = *p;
    }

    *q++ = '\n';
    *q++ = '\n';

    ev->len = q - ev->data;

    return ev;
}


static ngx_int_t
ngx_http_kvmq_sse_deliver(ngx_http_kvmq_sub_t *sub, ngx_http_kvmq_msg_t *m,
    ngx_str_t *pattern, uint64_t gap)
{
    ngx_http_kvmq_sse_t *s = sub->data;

    ngx_str_t  *ev;

    if (s->done || s->failed) {
        return NGX_OK;
    }

    if (gap && ngx_http_kvmq_sse_gap(s, gap - 1, m->seq) != NGX_OK) {
        goto failed;
    }

    ev = ngx_http_kvmq_sse_format(m, s->base64);

    if (ev == NULL || ngx_http_kvmq_sse_append(s, ev->data, ev->len)
                      != NGX_OK)
    {
        goto failed;
    }

    if (!s->flush.posted) {
        ngx_post_event(&s->flush, &ngx_posted_events);
    }

    return NGX_OK;

failed:

    s->failed = 1;

    if (!s->flush.posted) {
        ngx_post_event(&s->flush, &ngx_posted_events);
    }

    return NGX_ERROR;
}


/* hand what is queued to the filters; close a client that cannot keep up */
static void
ngx_http_kvmq_sse_flush(ngx_http_kvmq_sse_t *s)
{
    size_t                     pending;
    ngx_int_t                  rc;
    ngx_uint_t                 n;
    ngx_event_t               *wev;
    ngx_chain_t               *cl;
    ngx_connection_t          *c;
    ngx_http_request_t        *r;
    ngx_http_core_loc_conf_t  *clcf;

    r = s->request;
    c = r->connection;

    if (s->done) {
        return;
    }

    if (s->failed) {
        ngx_log_error(NGX_LOG_ERR, c->log, 0,
                      "kvmq: no memory for an SSE stream, closing it");
        ngx_http_kvmq_sse_end(s, NGX_ERROR);
        return;
    }

    if (s->out_last) {
        s->out_last->buf->flush = 1;
    }

    rc = ngx_http_output_filter(r, s->out);

    s->out_last = NULL;

    ngx_chain_update_chains(r->pool, &s->free, &s->busy, &s->out,
                            (ngx_buf_tag_t) &ngx_http_kvmq_sse_tag);

    if (rc == NGX_ERROR) {
        ngx_http_kvmq_sse_end(s, NGX_ERROR);
        return;
    }

    pending = 0;

    for (cl = s->busy; cl; cl = cl->next) {
        pending += ngx_buf_size(cl->buf);
    }

    if (pending > s->limit) {
        ngx_log_error(NGX_LOG_INFO, c->log, 0,
                      "kvmq: SSE client too slow (%uz bytes not sent, "
                      "kvmq_sse_send_buffer %uz), closing it",
                      pending, s->limit);
        ngx_http_kvmq_sse_end(s, NGX_ERROR);
        return;
    }

    /* keep a few free buffers' memory, give back the rest */
    for (n = 0, cl = s->free; cl; cl = cl->next) {
        if (cl->buf->start && ++n > NGX_HTTP_KVMQ_SSE_KEEP) {
            ngx_free(cl->buf->start);
            cl->buf->start = NULL;
            cl->buf->pos = NULL;
            cl->buf->last = NULL;
            cl->buf->end = NULL;
        }
    }

    clcf = ngx_http_get_module_loc_conf(r, ngx_http_core_module);
    wev = c->write;

    if (pending || c->buffered) {
        if (!wev->timer_set) {
            ngx_add_timer(wev, clcf->send_timeout);
        }

        if (ngx_handle_write_event(wev, clcf->send_lowat) != NGX_OK) {
            ngx_http_kvmq_sse_end(s, NGX_ERROR);
        }

        return;
    }

    if (wev->timer_set) {
        ngx_del_timer(wev);
    }
}


static void
ngx_http_kvmq_sse_flush_handler(ngx_event_t *ev)
{
    ngx_connection_t     *c;
    ngx_http_kvmq_sse_t  *s;

    s = ev->data;
    c = s->request->connection;

    ngx_http_kvmq_sse_flush(s);

    ngx_http_run_posted_requests(c);
}


static void
ngx_http_kvmq_sse_ping_handler(ngx_event_t *ev)
{
    ngx_connection_t          *c;
    ngx_http_kvmq_sse_t       *s;
    ngx_http_kvmq_loc_conf_t  *klcf;

    s = ev->data;
    c = s->request->connection;

    if (ngx_http_kvmq_sse_append(s, (u_char *) ": ping\n\n", 8) != NGX_OK) {
        s->failed = 1;
    }

    klcf = ngx_http_get_module_loc_conf(s->request, ngx_http_kvmq_module);
    ngx_add_timer(&s->ping, klcf->sse_ping);

    ngx_http_kvmq_sse_flush(s);

    ngx_http_run_posted_requests(c);
}


static void
ngx_http_kvmq_sse_write_handler(ngx_http_request_t *r)
{
    ngx_event_t          *wev;
    ngx_http_kvmq_ctx_t  *ctx;
    ngx_http_kvmq_sse_t  *s;

    ctx = ngx_http_get_module_ctx(r, ngx_http_kvmq_module);
    s = ctx->door;
    wev = r->connection->write;

    if (wev->timedout) {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, NGX_ETIMEDOUT,
                      "kvmq: SSE client timed out");
        r->connection->timedout = 1;
        ngx_http_kvmq_sse_end(s, NGX_HTTP_REQUEST_TIME_OUT);
        return;
    }

    ngx_http_kvmq_sse_flush(s);
}


/*
 * End the stream: with NGX_OK after sending what is queued (the request
 * finalizes when it is out), else at once.
 */
static void
ngx_http_kvmq_sse_end(ngx_http_kvmq_sse_t *s, ngx_int_t rc)
{
    ngx_buf_t            *b;
    ngx_chain_t          *cl;
    ngx_http_request_t   *r;
    ngx_http_kvmq_sub_t  *sub;

    r = s->request;
    sub = &s->sub;

    ngx_http_kvmq_unsubscribe(&sub, 1);

    if (ngx_queue_next(&s->queue) != &s->queue) {
        ngx_queue_remove(&s->queue);
        ngx_queue_init(&s->queue);
    }

    if (s->ping.timer_set) {
        ngx_del_timer(&s->ping);
    }

    if (s->flush.posted) {
        ngx_delete_posted_event(&s->flush);
    }

    s->done = 1;

    if (rc == NGX_OK) {
        cl = ngx_alloc_chain_link(r->pool);
        b = ngx_calloc_buf(r->pool);

        if (cl == NULL || b == NULL) {
            rc = NGX_ERROR;

        } else {
            b->last_buf = 1;
            b->flush = 1;
            cl->buf = b;
            cl->next = NULL;

            if (s->out_last) {
                s->out_last->next = cl;

            } else {
                s->out = cl;
            }

            s->out_last = NULL;

            rc = ngx_http_output_filter(r, s->out);

            ngx_chain_update_chains(r->pool, &s->free, &s->busy, &s->out,
                                    (ngx_buf_tag_t) &ngx_http_kvmq_sse_tag);
        }
    }

    r->write_event_handler = ngx_http_request_empty_handler;

    ngx_http_finalize_request(r, rc);
}


static void
ngx_http_kvmq_sse_shutdown(void)
{
    ngx_queue_t          *q;
    ngx_connection_t     *c;
    ngx_http_kvmq_sse_t  *s;

    while (!ngx_queue_empty(&ngx_http_kvmq_sse_streams)) {
        q = ngx_queue_head(&ngx_http_kvmq_sse_streams);
        s = ngx_queue_data(q, ngx_http_kvmq_sse_t, queue);
        c = s->request->connection;

        ngx_queue_remove(q);
        ngx_queue_init(q);

        if (s->failed
            || ngx_http_kvmq_sse_append(s, (u_char *) NGX_HTTP_KVMQ_SSE_RETRY,
                                        sizeof(NGX_HTTP_KVMQ_SSE_RETRY) - 1)
               != NGX_OK)
        {
            ngx_http_kvmq_sse_end(s, NGX_ERROR);

        } else {
            ngx_http_kvmq_sse_end(s, NGX_OK);
        }

        ngx_http_run_posted_requests(c);
    }
}


static void
ngx_http_kvmq_sse_cleanup(void *data)
{
    ngx_http_kvmq_sse_t  *s = data;

    ngx_chain_t          *lists[3], *cl;
    ngx_uint_t            i;
    ngx_http_kvmq_sub_t  *sub;

    sub = &s->sub;

    ngx_http_kvmq_unsubscribe(&sub, 1);

    if (ngx_queue_next(&s->queue) != NULL
        && ngx_queue_next(&s->queue) != &s->queue)
    {
        ngx_queue_remove(&s->queue);
        ngx_queue_init(&s->queue);
    }

    if (s->ping.timer_set) {
        ngx_del_timer(&s->ping);
    }

    if (s->flush.posted) {
        ngx_delete_posted_event(&s->flush);
    }

    lists[0] = s->out;
    lists[1] = s->busy;
    lists[2] = s->free;

    for (i = 0; i < 3; i++) {
        for (cl = lists[i]; cl; cl = cl->next) {
            if (cl->buf->start && cl->buf->tag
                                  == (ngx_buf_tag_t) &ngx_http_kvmq_sse_tag)
            {
                ngx_free(cl->buf->start);
                cl->buf->start = NULL;
            }
        }
    }
}
