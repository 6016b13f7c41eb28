
/*
 * The WebSocket door, GET {prefix}/ws: the handshake and the connection
 * after it (the messages are ngx_http_kvmq_ws_msg.c's, the framing rules
 * ngx_http_kvmq_ws_frame.c's).
 *
 * Handshake.  Checked inside nginx (there is no upstream): GET, HTTP/1.1,
 * "Upgrade: websocket", "upgrade" among the Connection tokens, version 13
 * and a key that is the base64 of 16 bytes, no body.  Anything else is a
 * 400 with "Sec-WebSocket-Version: 13" and the usual JSON error; another
 * method is a 405.  No subprotocol and no extension is ever accepted, so
 * RSV bits stay an error.  The 101 goes through the header filters (so
 * add_header and the access log see it) and is flushed at once.
 *
 * The connection.  After the 101 the request stays alive (count + 1)
 * until the connection closes, but its socket belongs to this file: the
 * connection's read and write handlers are ours, as ngx_http_upstream
 * does for upgraded connections, and keepalive and lingering close are
 * off.  The handlers are set on the connection itself rather than on the
 * request so that a graceful shutdown reaches us: a WebSocket connection
 * is marked idle (c->idle), so when a worker starts exiting (reload,
 * quit) ngx_close_idle_connections() calls our read handler with
 * c->close set, and we answer with a close frame 1012 queued behind the
 * frames still pending, then wait (lingering_timeout) for the client's
 * close frame; the old worker exits when that is done.  With c->error
 * also set (worker_shutdown_timeout) the socket is closed at once.
 *
 * Input.  Bytes are read into one per-worker buffer and fed to the
 * incremental parser of ngx_http_kvmq_ws_frame.c, which consumes them
 * all: a frame header waits in the parser, control payloads in ws->ctrl,
 * message payloads are unmasked straight into the message buffer (grown
 * as bytes arrive, never past kvmq_ws_max_message) and text is UTF-8
 * checked as it comes.  An idle connection therefore holds no buffer at
 * all.  Each read event handles a bounded number of reads and then
 * yields to other connections.
 *
 * Messages.  A complete text or binary message goes to
 * ngx_http_kvmq_ws_message() (ngx_http_kvmq_ws_msg.c), which answers it
 * or parks it (a blocking command).  While a command is parked, input is
 * still read, so pings are answered and a close frame or a vanished
 * client ends the connection (and the parked command, through
 * on_close); but the next complete message waits (ws->msg_ready) until
 * ngx_http_kvmq_ws_resume(), and so does whatever was read behind it
 * (ws->stash), and nothing more is read: replies stay in order and the
 * memory held stays one message.
 *
 * Output.  Each frame is one allocation (header and payload together)
 * linked in ws->out and written with c->send_chain on write events;
 * nothing blocks.  ws->queued counts the bytes not yet written; a frame
 * that would take it past kvmq_ws_send_buffer, after writing what the
 * socket takes now, closes the connection with 1008 "send buffer full":
 * every queued frame that has not started on the wire is freed, so a
 * slow reader costs at most the limit.  A reply bigger than the limit on
 * its own could never be sent: ngx_http_kvmq_ws_msg.c replaces it with
 * a TOOLARGE error reply.
 *
 * Closing.  A close frame from the client is echoed (its code, no
 * reason) after the frames already queued, then the socket is closed.
 * Our own close (1012 on shutdown, 1008 for a slow reader) waits up to
 * lingering_timeout for the client's close frame.  A protocol error
 * fails the connection (RFC 6455 7.1.7): a close frame with the code and
 * a reason, then a FIN, then the client's input is drained until it
 * closes too, since closing with unread input would reset the
 * connection and could lose the close frame.
 *
 * Keepalive.  Every kvmq_ws_ping the server sends a ping; when the next
 * tick comes without any pong, the connection fails (1002 "no pong").
 */


#include "ngx_http_kvmq_ws.h"


#define NGX_HTTP_KVMQ_WS_READ_BUF   16384
#define NGX_HTTP_KVMQ_WS_READS      8       /* reads per event */
#define NGX_HTTP_KVMQ_WS_KEEP_MSG   4096    /* message buffer kept */
#define NGX_HTTP_KVMQ_WS_SNDBUF_MAX (256 * 1024)


struct ngx_http_kvmq_ws_frame_s {
    ngx_uint_t                  refs;
    size_t                      len;
    u_char                     *data;
};


/* one frame queued on one connection; cl first, so a link is its frame */
typedef struct {
    ngx_chain_t                 cl;
    ngx_buf_t                   buf;
    ngx_http_kvmq_ws_frame_t   *shared;     /* NULL: the bytes follow */
} ngx_http_kvmq_ws_out_t;


static ngx_int_t ngx_http_kvmq_ws_bad(ngx_http_request_t *r,
    const char *msg);
static ngx_table_elt_t *ngx_http_kvmq_ws_header(ngx_http_request_t *r,
    const char *name);
static ngx_int_t ngx_http_kvmq_ws_has_token(ngx_http_request_t *r,
    const char *name, const char *token);
static void ngx_http_kvmq_ws_sndbuf(ngx_http_kvmq_ws_t *ws);
static void ngx_http_kvmq_ws_cleanup(void *data);
static ngx_http_kvmq_ws_t *ngx_http_kvmq_ws_get(ngx_connection_t *c);
static void ngx_http_kvmq_ws_read_handler(ngx_event_t *rev);
static void ngx_http_kvmq_ws_write_handler(ngx_event_t *wev);
static void ngx_http_kvmq_ws_ping_handler(ngx_event_t *ev);
static void ngx_http_kvmq_ws_run(ngx_http_kvmq_ws_t *ws);
static void ngx_http_kvmq_ws_finalize(ngx_http_kvmq_ws_t *ws);
static void ngx_http_kvmq_ws_read(ngx_http_kvmq_ws_t *ws);
static u_char *ngx_http_kvmq_ws_input(ngx_http_kvmq_ws_t *ws, u_char *pos,
    u_char *last);
static ngx_int_t ngx_http_kvmq_ws_keep(ngx_http_kvmq_ws_t *ws,
    u_char *pos, size_t len);
static ngx_int_t ngx_http_kvmq_ws_msg_room(ngx_http_kvmq_ws_t *ws,
    size_t n);
static void ngx_http_kvmq_ws_run_message(ngx_http_kvmq_ws_t *ws);
static void ngx_http_kvmq_ws_control(ngx_http_kvmq_ws_t *ws);
static void ngx_http_kvmq_ws_fail(ngx_http_kvmq_ws_t *ws, ngx_uint_t code,
    const char *reason);
static ngx_http_kvmq_ws_out_t *ngx_http_kvmq_ws_out_alloc(
    ngx_http_kvmq_ws_t *ws, size_t size);
static void ngx_http_kvmq_ws_out_free(ngx_chain_t *cl);
static ngx_int_t ngx_http_kvmq_ws_enqueue(ngx_http_kvmq_ws_t *ws,
    ngx_http_kvmq_ws_out_t *out);
static ngx_int_t ngx_http_kvmq_ws_send_control(ngx_http_kvmq_ws_t *ws,
    ngx_uint_t opcode, u_char *data, size_t len);
static void ngx_http_kvmq_ws_queue_close(ngx_http_kvmq_ws_t *ws,
    ngx_uint_t code, const char *reason);
static void ngx_http_kvmq_ws_overflow(ngx_http_kvmq_ws_t *ws);
static void ngx_http_kvmq_ws_send(ngx_http_kvmq_ws_t *ws);


/* one read buffer per worker: input is always parsed before the next */
static u_char  ngx_http_kvmq_ws_buf[NGX_HTTP_KVMQ_WS_READ_BUF];


/* ---- the handshake ----------------------------------------------------- */


ngx_int_t
ngx_http_kvmq_ws(ngx_http_request_t *r, ngx_http_kvmq_ctx_t *ctx)
{
    u_char                    *accept;
    ngx_int_t                  rc;
    ngx_str_t                  value;
    ngx_table_elt_t           *h;
    ngx_connection_t          *c;
    ngx_pool_cleanup_t        *cln;
    ngx_http_kvmq_ws_t        *ws;
    ngx_http_core_loc_conf_t  *clcf;

    c = r->connection;

    if (r->method != NGX_HTTP_GET) {
        return ngx_http_kvmq_send_method(r, "GET");
    }

    if (r != r->main) {
        return ngx_http_kvmq_ws_bad(r, "a WebSocket cannot be a subrequest");
    }

    if (r->http_version != NGX_HTTP_VERSION_11
#if (NGX_HTTP_V2)
        || r->stream
#endif
       )
    {
        return ngx_http_kvmq_ws_bad(r, "a WebSocket handshake needs "
                                       "HTTP/1.1");
    }

    if (!ngx_http_kvmq_ws_has_token(r, "Upgrade", "websocket")) {
        return ngx_http_kvmq_ws_bad(r, "not a WebSocket handshake: "
                                       "no \"Upgrade: websocket\"");
    }

    if (!ngx_http_kvmq_ws_has_token(r, "Connection", "upgrade")) {
        return ngx_http_kvmq_ws_bad(r, "not a WebSocket handshake: "
                                       "no \"Connection: upgrade\"");
    }

    h = ngx_http_kvmq_ws_header(r, "Sec-WebSocket-Version");

    if (h == NULL || h->value.len != 2
        || ngx_strncmp(h->value.data, "13", 2) != 0)
    {
        return ngx_http_kvmq_ws_bad(r, "unsupported Sec-WebSocket-Version");
    }

    accept = ngx_pnalloc(r->pool, NGX_HTTP_KVMQ_WS_ACCEPT_LEN);
    if (accept == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    h = ngx_http_kvmq_ws_header(r, "Sec-WebSocket-Key");

    if (h == NULL || ngx_http_kvmq_ws_accept_key(&h->value, accept) != NGX_OK)
    {
        return ngx_http_kvmq_ws_bad(r, "invalid Sec-WebSocket-Key");
    }

    if (r->headers_in.content_length_n > 0 || r->headers_in.chunked) {
        return ngx_http_kvmq_ws_bad(r, "a WebSocket handshake has no body");
    }

    ws = ngx_pcalloc(r->pool, sizeof(ngx_http_kvmq_ws_t));
    if (ws == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ws->request = r;
    ws->connection = c;
    ws->conf = ngx_http_get_module_loc_conf(r, ngx_http_kvmq_module);
    ws->base64 = ctx->base64;
    ws->out_last = &ws->out;

    ngx_http_kvmq_ws_parser_init(&ws->parser, ws->conf->ws_max_message);

    ngx_str_set(&value, "websocket");

    if (ngx_http_kvmq_add_header(r, "Upgrade", 7, &value, NULL) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    value.data = accept;
    value.len = NGX_HTTP_KVMQ_WS_ACCEPT_LEN;

    if (ngx_http_kvmq_add_header(r, "Sec-WebSocket-Accept", 20, &value,
                                 NULL)
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    r->headers_out.status = NGX_HTTP_SWITCHING_PROTOCOLS;
    ngx_str_set(&r->headers_out.status_line, "101 Switching Protocols");
    r->headers_out.content_length_n = -1;
    r->keepalive = 0;
    r->lingering_close = 0;

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK) {
        return rc;
    }

    if (ngx_http_send_special(r, NGX_HTTP_FLUSH) == NGX_ERROR) {
        return NGX_ERROR;
    }

    cln = ngx_pool_cleanup_add(r->pool, 0);
    if (cln == NULL) {
        return NGX_ERROR;
    }

    cln->handler = ngx_http_kvmq_ws_cleanup;
    cln->data = ws;

    ctx->door = ws;

    /* the socket is ours from here on */

    r->main->count++;

    r->read_event_handler = ngx_http_request_empty_handler;
    r->write_event_handler = ngx_http_request_empty_handler;
    c->read->handler = ngx_http_kvmq_ws_read_handler;
    c->write->handler = ngx_http_kvmq_ws_write_handler;
    c->log->action = "serving WebSocket";
    c->idle = 1;

    clcf = ngx_http_get_module_loc_conf(r, ngx_http_core_module);

    if (clcf->tcp_nodelay && ngx_tcp_nodelay(c) != NGX_OK) {
        ws->error = 1;
    }

    ngx_http_kvmq_ws_sndbuf(ws);

    /* frames a client sent right behind its handshake */
    if (r->header_in->pos < r->header_in->last) {
        if (ngx_http_kvmq_ws_keep(ws, r->header_in->pos,
                                  r->header_in->last - r->header_in->pos)
            != NGX_OK)
        {
            ws->error = 1;
        }

        r->header_in->pos = r->header_in->last;
    }

    ws->ping.handler = ngx_http_kvmq_ws_ping_handler;
    ws->ping.data = ws;
    ws->ping.log = c->log;
    ws->ping.cancelable = 1;

    if (ws->conf->ws_ping) {
        ngx_add_timer(&ws->ping, ws->conf->ws_ping);
    }

    if (ngx_exiting) {
        ngx_http_kvmq_ws_queue_close(ws, NGX_HTTP_KVMQ_WS_RESTART,
                                     "server restart");
    }

    /* the rest happens in our handlers, outside the content phase */
    ngx_post_event(c->read, &ngx_posted_events);
    ngx_post_event(c->write, &ngx_posted_events);

    return NGX_DONE;
}


static ngx_int_t
ngx_http_kvmq_ws_bad(ngx_http_request_t *r, const char *msg)
{
    ngx_str_t  value;

    ngx_str_set(&value, "13");

    if (ngx_http_kvmq_add_header(r, "Sec-WebSocket-Version", 21, &value,
                                 NULL)
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_kvmq_send_errorf(r, KVMQ_ERR_BADREQ, "%s", msg);
}


/*
 * The kernel's send buffer grows by itself up to megabytes, so bytes a
 * client does not read would pile up there unbounded by
 * kvmq_ws_send_buffer, and our close frame of an overflow (1008) would
 * queue behind all of them: a slow reader that starts reading again
 * would wait for minutes, and the send timeout would drop the close
 * frame first.  A send buffer smaller than the kernel's maximum caps
 * the socket's buffer too (the kernel doubles the value set, hence the
 * half); a big one leaves the kernel's autotuning alone.
 */

static void
ngx_http_kvmq_ws_sndbuf(ngx_http_kvmq_ws_t *ws)
{
    int                n;
    ngx_connection_t  *c;

    c = ws->connection;

    if (ws->conf->ws_send_buffer > NGX_HTTP_KVMQ_WS_SNDBUF_MAX) {
        return;
    }

    n = (int) ngx_max(ws->conf->ws_send_buffer / 2, 4096);

    if (setsockopt(c->fd, SOL_SOCKET, SO_SNDBUF, (const void *) &n,
                   sizeof(int))
        == -1)
    {
        ngx_log_error(NGX_LOG_INFO, c->log, ngx_socket_errno,
                      "setsockopt(SO_SNDBUF, %d) failed, ignored", n);
    }
}


/* the first request header of that name */

static ngx_table_elt_t *
ngx_http_kvmq_ws_header(ngx_http_request_t *r, const char *name)
{
    size_t            len;
    ngx_uint_t        i;
    ngx_list_part_t  *part;
    ngx_table_elt_t  *h;

    len = ngx_strlen(name);
    part = &r->headers_in.headers.part;
    h = part->elts;

    for (i = 0; /* void */ ; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                return NULL;
            }

            part = part->next;
            h = part->elts;
            i = 0;
        }

        if (h[i].key.len == len
            && ngx_strncasecmp(h[i].key.data, (u_char *) name, len) == 0)
        {
            return &h[i];
        }
    }
}


/* is token one of the comma-separated values of any header "name"? */

static ngx_int_t
ngx_http_kvmq_ws_has_token(ngx_http_request_t *r, const char *name,
    const char *token)
{
    u_char           *p, *end, *start, *e;
    size_t            len, tlen;
    ngx_uint_t        i;
    ngx_list_part_t  *part;
    ngx_table_elt_t  *h;

    len = ngx_strlen(name);
    tlen = ngx_strlen(token);
    part = &r->headers_in.headers.part;
    h = part->elts;

    for (i = 0; /* void */ ; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                return 0;
            }

            part = part->next;
            h = part->elts;
            i = 0;
        }

        if (h[i].key.len != len
            || ngx_strncasecmp(h[i].key.data, (u_char *) name, len) != 0)
        {
            continue;
        }

        p = h[i].value.data;
        end = p + h[i].value.len;

        while (p < end) {

            while (p < end && (*p == ' ' || *p == '\t' || *p == ',')) {
                p++;
            }

            start = p;

            while (p < end && *p != ',') {
                p++;
            }

            e = p;

            while (e > start && (e[-1] == ' ' || e[-1] == '\t')) {
                e--;
            }

            if ((size_t) (e - start) == tlen
                && ngx_strncasecmp(start, (u_char *) token, tlen) == 0)
            {
                return 1;
            }
        }
    }
}


/* the request is being freed: let go of everything the connection held */

static void
ngx_http_kvmq_ws_cleanup(void *data)
{
    ngx_http_kvmq_ws_t  *ws = data;

    ngx_chain_t  *cl, *next;

    ws->closed = 1;

    if (ws->ping.timer_set) {
        ngx_del_timer(&ws->ping);
    }

    if (ws->on_close) {
        ws->on_close(ws);
    }

    if (ws->on_mq_close) {
        ws->on_mq_close(ws);
    }

    for (cl = ws->out; cl; cl = next) {
        next = cl->next;
        ngx_http_kvmq_ws_out_free(cl);
    }

    ws->out = NULL;
    ws->out_last = &ws->out;
    ws->queued = 0;

    if (ws->msg) {
        ngx_free(ws->msg);
        ws->msg = NULL;
    }

    if (ws->stash) {
        ngx_free(ws->stash);
        ws->stash = NULL;
    }

    if (ws->parked) {
        ngx_destroy_pool(ws->parked);
        ws->parked = NULL;
    }
}


/* ---- event handlers ---------------------------------------------------- */


static ngx_http_kvmq_ws_t *
ngx_http_kvmq_ws_get(ngx_connection_t *c)
{
    ngx_http_request_t   *r;
    ngx_http_kvmq_ctx_t  *ctx;

    r = c->data;
    ctx = ngx_http_get_module_ctx(r, ngx_http_kvmq_module);

    ngx_http_set_log_request(c->log, r);

    return ctx->door;
}


static void
ngx_http_kvmq_ws_read_handler(ngx_event_t *rev)
{
    ngx_connection_t    *c;
    ngx_http_kvmq_ws_t  *ws;

    c = rev->data;
    ws = ngx_http_kvmq_ws_get(c);

    if (c->close) {
        c->close = 0;
        c->idle = 0;

        /* worker_shutdown_timeout: no more time */
        if (c->error) {
            ngx_http_kvmq_ws_finalize(ws);
            return;
        }

        /* the worker is exiting (reload, quit): a graceful close; the
         * write timer is armed again with the exiting bound (run) */
        ngx_http_kvmq_ws_queue_close(ws, NGX_HTTP_KVMQ_WS_RESTART,
                                     "server restart");

        if (c->write->timer_set) {
            ngx_del_timer(c->write);
        }

        ngx_http_kvmq_ws_run(ws);
        return;
    }

    if (rev->timedout) {
        ngx_log_error(NGX_LOG_INFO, c->log, NGX_ETIMEDOUT,
                      "kvmq websocket: no close frame from the client");
        ngx_http_kvmq_ws_finalize(ws);
        return;
    }

    ngx_http_kvmq_ws_read(ws);
    ngx_http_kvmq_ws_run(ws);
}


static void
ngx_http_kvmq_ws_write_handler(ngx_event_t *wev)
{
    ngx_connection_t    *c;
    ngx_http_kvmq_ws_t  *ws;

    c = wev->data;
    ws = ngx_http_kvmq_ws_get(c);

    if (wev->timedout) {
        ngx_log_error(NGX_LOG_INFO, c->log, NGX_ETIMEDOUT,
                      "kvmq websocket: client timed out");
        c->timedout = 1;
        ngx_http_kvmq_ws_finalize(ws);
        return;
    }

    ngx_http_kvmq_ws_run(ws);
}


static void
ngx_http_kvmq_ws_ping_handler(ngx_event_t *ev)
{
    ngx_http_kvmq_ws_t *ws = ev->data;

    ngx_http_set_log_request(ws->connection->log, ws->request);

    if (ws->close_sent || ws->close_received) {
        return;
    }

    /* a connection that reads nothing now may well have a pong waiting */
    if (ws->ping_sent && !ws->msg_ready) {
        ngx_log_error(NGX_LOG_INFO, ws->connection->log, 0,
                      "kvmq websocket: no pong in %M ms, closing",
                      ws->conf->ws_ping);

        /* nothing is expected from such a peer, not even a close frame */
        ws->failed = 1;
        ngx_http_kvmq_ws_queue_close(ws, NGX_HTTP_KVMQ_WS_PROTOCOL_ERROR,
                                     "no pong");
        ngx_http_kvmq_ws_run(ws);
        return;
    }

    if (ngx_http_kvmq_ws_send_control(ws, NGX_HTTP_KVMQ_WS_PING, NULL, 0)
        == NGX_OK)
    {
        ws->ping_sent = 1;
        ngx_add_timer(&ws->ping, ws->conf->ws_ping);
    }

    ngx_http_kvmq_ws_run(ws);
}


/*
 * The common end of every handler: write what can be written, arm or
 * clear the timers, and close the socket when the connection is done.
 */

static void
ngx_http_kvmq_ws_run(ngx_http_kvmq_ws_t *ws)
{
    off_t                      sent;
    ngx_connection_t          *c;
    ngx_http_core_loc_conf_t  *clcf;

    c = ws->connection;

    if (ws->error || ws->eof) {
        ngx_http_kvmq_ws_finalize(ws);
        return;
    }

    sent = c->sent;

    ngx_http_kvmq_ws_send(ws);

    if (ws->error) {
        ngx_http_kvmq_ws_finalize(ws);
        return;
    }

    clcf = ngx_http_get_module_loc_conf(ws->request, ngx_http_core_module);

    if (ws->out || ws->request->out) {

        /*
         * An exiting worker waits for a client that reads nothing at
         * most lingering_timeout (a slow reader already closed with 1008
         * could otherwise hold it for send_timeout).
         */
        if (c->sent != sent || !c->write->timer_set) {
            ngx_add_timer(c->write,
                          ngx_exiting ? ngx_min(clcf->send_timeout,
                                                clcf->lingering_timeout)
                                      : clcf->send_timeout);
        }

    } else {
        if (c->write->timer_set) {
            ngx_del_timer(c->write);
        }

        if (ws->close_sent) {

            if (ws->close_received) {
                ngx_http_kvmq_ws_finalize(ws);
                return;
            }

            /*
             * After a failure nothing more is read from the client: say
             * so with a FIN, as a lingering close does, and only drain
             * its input until it closes too, lest closing with unread
             * input reset the connection and lose our close frame.
             */
            if (ws->failed && !ws->shut) {
                ws->shut = 1;

                if (ngx_shutdown_socket(c->fd, NGX_WRITE_SHUTDOWN) == -1) {
                    ngx_connection_error(c, ngx_socket_errno,
                                         ngx_shutdown_socket_n
                                         " failed");
                    ngx_http_kvmq_ws_finalize(ws);
                    return;
                }
            }

            /* our close frame is out: give the client time to answer */
            if (!c->read->timer_set) {
                ngx_add_timer(c->read, clcf->lingering_timeout);
            }
        }
    }

    if (ngx_handle_write_event(c->write, 0) != NGX_OK) {
        ngx_http_kvmq_ws_finalize(ws);
        return;
    }

    if (ws->msg_ready) {

        /* level-triggered events would report the unread bytes forever */
        if ((ngx_event_flags & NGX_USE_LEVEL_EVENT) && c->read->active) {
            if (ngx_del_event(c->read, NGX_READ_EVENT, 0) != NGX_OK) {
                ngx_http_kvmq_ws_finalize(ws);
            }
        }

        return;
    }

    if (ngx_handle_read_event(c->read, 0) != NGX_OK) {
        ngx_http_kvmq_ws_finalize(ws);
    }
}


/*
 * Close the socket and free the request; the pool cleanup above then
 * frees the rest.  Only the event handlers of this file call it, as the
 * very last thing they do.
 */

static void
ngx_http_kvmq_ws_finalize(ngx_http_kvmq_ws_t *ws)
{
    ngx_connection_t  *c;

    c = ws->connection;

    ngx_http_finalize_request(ws->request, NGX_ERROR);
    ngx_http_run_posted_requests(c);
}


/* ---- input ------------------------------------------------------------- */


static void
ngx_http_kvmq_ws_read(ngx_http_kvmq_ws_t *ws)
{
    u_char            *pos, *last;
    ssize_t            n;
    ngx_uint_t         i;
    ngx_connection_t  *c;

    c = ws->connection;

    if (ws->msg_ready) {

        if (ws->parked && !ws->close_sent) {

            /* a client gone while its command is parked: nothing to wait */
            if (c->read->pending_eof) {
                ws->eof = 1;
            }

            return;
        }

        /* the message that waited for a parked command, or dropped */
        ws->msg_ready = 0;

        if (!ws->close_sent) {
            ngx_http_kvmq_ws_run_message(ws);
        }

        ws->msg_len = 0;
    }

    if (ws->stash) {
        last = ws->stash + ws->stash_len;
        pos = ngx_http_kvmq_ws_input(ws, ws->stash, last);

        if (pos < last) {
            ws->stash_len = last - pos;
            ngx_memmove(ws->stash, pos, ws->stash_len);
            return;
        }

        ngx_free(ws->stash);
        ws->stash = NULL;
        ws->stash_len = 0;
    }

    for (i = 0; i < NGX_HTTP_KVMQ_WS_READS; i++) {

        if (ws->error || ws->close_received || ws->msg_ready) {
            return;
        }

        n = c->recv(c, ngx_http_kvmq_ws_buf, NGX_HTTP_KVMQ_WS_READ_BUF);

        if (n == NGX_AGAIN) {
            return;
        }

        if (n == 0 || n == NGX_ERROR) {
            ws->eof = 1;
            return;
        }

        last = ngx_http_kvmq_ws_buf + n;
        pos = ngx_http_kvmq_ws_input(ws, ngx_http_kvmq_ws_buf, last);

        if (pos < last && ngx_http_kvmq_ws_keep(ws, pos, last - pos) != NGX_OK)
        {
            ws->error = 1;
            return;
        }

        if (!c->read->ready) {
            return;
        }
    }

    /* enough for one turn: the rest after the other connections */
    ngx_post_event(c->read, &ngx_posted_next_events);
}


/* keep input read behind a message that waits for a parked command */

static ngx_int_t
ngx_http_kvmq_ws_keep(ngx_http_kvmq_ws_t *ws, u_char *pos, size_t len)
{
    u_char  *p;

    p = ngx_alloc(ws->stash_len + len, ws->connection->log);
    if (p == NULL) {
        return NGX_ERROR;
    }

    if (ws->stash) {
        ngx_memcpy(p, ws->stash, ws->stash_len);
        ngx_free(ws->stash);
    }

    ngx_memcpy(p + ws->stash_len, pos, len);

    ws->stash = p;
    ws->stash_len += len;

    return NGX_OK;
}


/*
 * Feed input to the frame parser and act on complete frames.  Returns
 * where it stopped: last, unless a message has to wait for a parked
 * command.
 */

static u_char *
ngx_http_kvmq_ws_input(ngx_http_kvmq_ws_t *ws, u_char *pos, u_char *last)
{
    size_t                      n;
    u_char                     *dst;
    ngx_int_t                   rc;
    ngx_http_kvmq_ws_parser_t  *p;

    p = &ws->parser;

    while (pos < last) {

        /* after a failure or the client's close frame nothing counts */
        if (ws->failed || ws->close_received || ws->error) {
            return last;
        }

        if (ws->msg_ready) {
            return pos;
        }

        if (!p->payload) {
            rc = ngx_http_kvmq_ws_parse_header(p, &pos, last);

            if (rc == NGX_AGAIN) {
                return last;
            }

            if (rc == NGX_ERROR) {
                ngx_http_kvmq_ws_fail(ws, p->error, p->reason);
                return last;
            }
        }

        n = (size_t) ngx_min((uint64_t) (last - pos), p->len - p->got);

        if (p->opcode & 0x8) {
            ngx_http_kvmq_ws_unmask(p, ws->ctrl + p->got, pos, n);

        } else if (ws->close_sent) {
            /* a message after our close frame is dropped unread */
            p->got += n;

        } else if (n) {
            if (ngx_http_kvmq_ws_msg_room(ws, n) != NGX_OK) {
                ngx_http_kvmq_ws_fail(ws, NGX_HTTP_KVMQ_WS_SERVER_ERROR,
                                      "out of memory");
                return last;
            }

            dst = ws->msg + ws->msg_len;

            ngx_http_kvmq_ws_unmask(p, dst, pos, n);
            ws->msg_len += n;

            if (p->msg_opcode == NGX_HTTP_KVMQ_WS_TEXT
                && ngx_http_kvmq_ws_utf8(&p->utf8, dst, n) != NGX_OK)
            {
                ngx_http_kvmq_ws_fail(ws, NGX_HTTP_KVMQ_WS_BAD_DATA,
                                      "invalid UTF-8 in a text message");
                return last;
            }
        }

        pos += n;

        if (p->got < p->len) {
            continue;
        }

        /* the frame is complete */

        if (p->opcode & 0x8) {
            ngx_http_kvmq_ws_control(ws);
            ngx_http_kvmq_ws_parse_done(p);
            continue;
        }

        if (p->fin && !ws->close_sent) {

            if (p->msg_opcode == NGX_HTTP_KVMQ_WS_TEXT && p->utf8 != 0) {
                ngx_http_kvmq_ws_fail(ws, NGX_HTTP_KVMQ_WS_BAD_DATA,
                                      "invalid UTF-8 in a text message");
                return last;
            }

            if (ws->parked) {
                ws->msg_ready = 1;
                ngx_http_kvmq_ws_parse_done(p);
                return pos;
            }

            ngx_http_kvmq_ws_run_message(ws);
        }

        ngx_http_kvmq_ws_parse_done(p);
    }

    return pos;
}


/* room for n more bytes of the message, growing by doubling */

static ngx_int_t
ngx_http_kvmq_ws_msg_room(ngx_http_kvmq_ws_t *ws, size_t n)
{
    u_char  *msg;
    size_t   size, need;

    need = ws->msg_len + n;

    if (need <= ws->msg_size) {
        return NGX_OK;
    }

    size = ngx_max(ws->msg_size * 2, 1024);

    if (size < need) {
        size = need;
    }

    /* the parser already refused messages over the limit */
    size = ngx_min(size, ngx_max(need, ws->conf->ws_max_message));

    msg = ngx_alloc(size, ws->connection->log);
    if (msg == NULL) {
        return NGX_ERROR;
    }

    if (ws->msg) {
        ngx_memcpy(msg, ws->msg, ws->msg_len);
        ngx_free(ws->msg);
    }

    ws->msg = msg;
    ws->msg_size = size;

    return NGX_OK;
}


/* hand a complete message over, and let go of a big message buffer */

static void
ngx_http_kvmq_ws_run_message(ngx_http_kvmq_ws_t *ws)
{
    if (ngx_http_kvmq_ws_message(ws, ws->msg, ws->msg_len) == NGX_ERROR) {
        ngx_http_kvmq_ws_fail(ws, NGX_HTTP_KVMQ_WS_SERVER_ERROR,
                              "internal error");
    }

    ws->msg_len = 0;

    if (ws->msg_size > NGX_HTTP_KVMQ_WS_KEEP_MSG) {
        ngx_free(ws->msg);
        ws->msg = NULL;
        ws->msg_size = 0;
    }
}


static void
ngx_http_kvmq_ws_control(ngx_http_kvmq_ws_t *ws)
{
    ngx_uint_t                  code;
    ngx_http_kvmq_ws_parser_t  *p;

    p = &ws->parser;

    switch (p->opcode) {

    case NGX_HTTP_KVMQ_WS_PING:
        if (!ws->close_sent) {
            (void) ngx_http_kvmq_ws_send_control(ws, NGX_HTTP_KVMQ_WS_PONG,
                                                 ws->ctrl, (size_t) p->len);
        }

        break;

    case NGX_HTTP_KVMQ_WS_PONG:
        /* any pong, solicited or not, shows the client is alive */
        ws->ping_sent = 0;
        break;

    default: /* NGX_HTTP_KVMQ_WS_CLOSE */

        if (ngx_http_kvmq_ws_close_payload(p, ws->ctrl, (size_t) p->len,
                                           &code)
            != NGX_OK)
        {
            ngx_http_kvmq_ws_fail(ws, p->error, p->reason);
            break;
        }

        ws->close_received = 1;

        /* echo the code (RFC 6455 5.5.1), or an empty close for none */
        ngx_http_kvmq_ws_queue_close(ws, code, NULL);
        break;
    }
}


/* fail the connection (RFC 6455 7.1.7): close frame, input discarded */

static void
ngx_http_kvmq_ws_fail(ngx_http_kvmq_ws_t *ws, ngx_uint_t code,
    const char *reason)
{
    ngx_log_error(NGX_LOG_INFO, ws->connection->log, 0,
                  "kvmq websocket: %s, closing with %ui", reason, code);

    ws->failed = 1;

    ngx_http_kvmq_ws_queue_close(ws, code, reason);
}


/* ---- output ------------------------------------------------------------ */


static ngx_http_kvmq_ws_out_t *
ngx_http_kvmq_ws_out_alloc(ngx_http_kvmq_ws_t *ws, size_t size)
{
    ngx_http_kvmq_ws_out_t  *out;

    out = ngx_alloc(sizeof(ngx_http_kvmq_ws_out_t) + size,
                    ws->connection->log);
    if (out == NULL) {
        return NULL;
    }

    ngx_memzero(out, sizeof(ngx_http_kvmq_ws_out_t));

    out->cl.buf = &out->buf;
    out->buf.start = (u_char *) (out + 1);
    out->buf.pos = out->buf.start;
    out->buf.last = out->buf.start;
    out->buf.end = out->buf.start + size;
    out->buf.temporary = 1;

    return out;
}


static void
ngx_http_kvmq_ws_out_free(ngx_chain_t *cl)
{
    ngx_http_kvmq_ws_out_t  *out;

    out = (ngx_http_kvmq_ws_out_t *) cl;

    if (out->shared) {
        ngx_http_kvmq_ws_frame_release(out->shared);
    }

    ngx_free(out);
}


/*
 * Queue a frame, unless it would take the queue past kvmq_ws_send_buffer
 * even after writing what the socket takes now: then the connection is
 * closed with 1008 and NGX_DECLINED returned.  The write event is posted
 * rather than run so that callers from other glue never see ws freed.
 */

static ngx_int_t
ngx_http_kvmq_ws_enqueue(ngx_http_kvmq_ws_t *ws, ngx_http_kvmq_ws_out_t *out)
{
    size_t  size;

    size = out->buf.last - out->buf.pos;

    if (ws->queued + size > ws->conf->ws_send_buffer) {

        ngx_http_kvmq_ws_send(ws);

        if (ws->queued + size > ws->conf->ws_send_buffer) {
            ngx_http_kvmq_ws_out_free(&out->cl);
            ngx_http_kvmq_ws_overflow(ws);
            return NGX_DECLINED;
        }
    }

    *ws->out_last = &out->cl;
    ws->out_last = &out->cl.next;
    ws->queued += size;

    ngx_post_event(ws->connection->write, &ngx_posted_events);

    return NGX_OK;
}


static ngx_int_t
ngx_http_kvmq_ws_send_control(ngx_http_kvmq_ws_t *ws, ngx_uint_t opcode,
    u_char *data, size_t len)
{
    ngx_http_kvmq_ws_out_t  *out;

    out = ngx_http_kvmq_ws_out_alloc(ws, 2 + len);
    if (out == NULL) {
        ws->error = 1;
        return NGX_ERROR;
    }

    out->buf.last = ngx_http_kvmq_ws_write_header(out->buf.last, opcode, len);

    if (len) {
        out->buf.last = ngx_cpymem(out->buf.last, data, len);
    }

    return ngx_http_kvmq_ws_enqueue(ws, out);
}


/*
 * Queue our close frame behind whatever is queued; nothing is sent after
 * it.  Code 0 sends an empty close frame.  Not subject to the send
 * buffer limit: it is the last frame and at most 127 bytes.
 */

static void
ngx_http_kvmq_ws_queue_close(ngx_http_kvmq_ws_t *ws, ngx_uint_t code,
    const char *reason)
{
    size_t                   len, rlen;
    ngx_http_kvmq_ws_out_t  *out;

    if (ws->close_sent || ws->closed) {
        return;
    }

    ws->close_sent = 1;

    if (ws->ping.timer_set) {
        ngx_del_timer(&ws->ping);
    }

    rlen = reason ? ngx_min(ngx_strlen(reason), 123) : 0;
    len = code ? 2 + rlen : 0;

    out = ngx_http_kvmq_ws_out_alloc(ws, 2 + len);
    if (out == NULL) {
        ws->error = 1;
        return;
    }

    out->buf.last = ngx_http_kvmq_ws_write_header(out->buf.last,
                                                  NGX_HTTP_KVMQ_WS_CLOSE, len);

    if (code) {
        *out->buf.last++ = (u_char) (code >> 8);
        *out->buf.last++ = (u_char) code;

        if (rlen) {
            out->buf.last = ngx_cpymem(out->buf.last, reason, rlen);
        }
    }

    *ws->out_last = &out->cl;
    ws->out_last = &out->cl.next;
    ws->queued += out->buf.last - out->buf.pos;

    ngx_post_event(ws->connection->write, &ngx_posted_events);

    /* input held back for a parked command now only waits for a close */
    if (ws->msg_ready || ws->stash) {
        ngx_post_event(ws->connection->read, &ngx_posted_events);
    }
}


/* a slow reader: drop what is not on the wire yet and close with 1008 */

static void
ngx_http_kvmq_ws_overflow(ngx_http_kvmq_ws_t *ws)
{
    ngx_chain_t  *cl, *next, *keep;

    ngx_log_error(NGX_LOG_INFO, ws->connection->log, 0,
                  "kvmq websocket: %uz bytes not read by the client, "
                  "over kvmq_ws_send_buffer, closing", ws->queued);

    /* a frame partly written must be finished, or the stream breaks */
    keep = NULL;
    cl = ws->out;

    if (cl && cl->buf->pos != cl->buf->start) {
        keep = cl;
        cl = cl->next;
        keep->next = NULL;
    }

    for ( /* void */ ; cl; cl = next) {
        next = cl->next;
        ngx_http_kvmq_ws_out_free(cl);
    }

    ws->out = keep;
    ws->out_last = keep ? &keep->next : &ws->out;
    ws->queued = keep ? (size_t) (keep->buf->last - keep->buf->pos) : 0;

    ngx_http_kvmq_ws_queue_close(ws, NGX_HTTP_KVMQ_WS_POLICY,
                                 "send buffer full");
}


/* write what the socket takes now: the rest of the 101, then frames */

static void
ngx_http_kvmq_ws_send(ngx_http_kvmq_ws_t *ws)
{
    off_t                sent;
    ngx_chain_t         *cl, *next;
    ngx_connection_t    *c;
    ngx_http_request_t  *r;

    r = ws->request;
    c = ws->connection;

    if (ws->error || ws->closed) {
        return;
    }

    if (r->out) {
        if (ngx_http_output_filter(r, NULL) == NGX_ERROR) {
            ws->error = 1;
            return;
        }

        if (r->out) {
            return;
        }
    }

    if (ws->out == NULL || !c->write->ready) {
        return;
    }

    sent = c->sent;

    cl = c->send_chain(c, ws->out, 0);

    if (cl == NGX_CHAIN_ERROR) {
        c->error = 1;
        ws->error = 1;
        return;
    }

    ws->queued -= (size_t) (c->sent - sent);

    while (ws->out && ws->out != cl) {
        next = ws->out->next;
        ngx_http_kvmq_ws_out_free(ws->out);
        ws->out = next;
    }

    if (ws->out == NULL) {
        ws->out_last = &ws->out;
    }
}


/* ---- the API of the other glue ---------------------------------------- */


ngx_int_t
ngx_http_kvmq_ws_send_text(ngx_http_kvmq_ws_t *ws, const u_char *data,
    size_t len)
{
    ngx_buf_t    b;
    ngx_chain_t  cl;

    ngx_memzero(&b, sizeof(ngx_buf_t));
    b.pos = (u_char *) data;
    b.last = b.pos + len;

    cl.buf = &b;
    cl.next = NULL;

    return ngx_http_kvmq_ws_send_chain(ws, &cl);
}


/* one text frame whose payload is the buffers of in, copied */

ngx_int_t
ngx_http_kvmq_ws_send_chain(ngx_http_kvmq_ws_t *ws, ngx_chain_t *in)
{
    size_t                   len, n;
    ngx_chain_t             *cl;
    ngx_http_kvmq_ws_out_t  *out;

    if (ws->closed || ws->close_sent || ws->error) {
        return NGX_DECLINED;
    }

    len = 0;

    for (cl = in; cl; cl = cl->next) {
        len += cl->buf->last - cl->buf->pos;
    }

    out = ngx_http_kvmq_ws_out_alloc(ws, ngx_http_kvmq_ws_header_size(len)
                                         + len);
    if (out == NULL) {
        ws->error = 1;
        ngx_post_event(ws->connection->write, &ngx_posted_events);
        return NGX_ERROR;
    }

    out->buf.last = ngx_http_kvmq_ws_write_header(out->buf.last,
                                                  NGX_HTTP_KVMQ_WS_TEXT, len);

    for (cl = in; cl; cl = cl->next) {
        n = cl->buf->last - cl->buf->pos;

        if (n) {
            out->buf.last = ngx_cpymem(out->buf.last, cl->buf->pos, n);
        }
    }

    return ngx_http_kvmq_ws_enqueue(ws, out);
}


/* a text frame built once, for many connections; one reference held */

ngx_http_kvmq_ws_frame_t *
ngx_http_kvmq_ws_frame_text(const u_char *data, size_t len, ngx_log_t *log)
{
    u_char                    *p;
    size_t                     size;
    ngx_http_kvmq_ws_frame_t  *f;

    size = ngx_http_kvmq_ws_header_size(len) + len;

    f = ngx_alloc(sizeof(ngx_http_kvmq_ws_frame_t) + size, log);
    if (f == NULL) {
        return NULL;
    }

    f->refs = 1;
    f->len = size;
    f->data = (u_char *) (f + 1);

    p = ngx_http_kvmq_ws_write_header(f->data, NGX_HTTP_KVMQ_WS_TEXT, len);

    if (len) {
        ngx_memcpy(p, data, len);
    }

    return f;
}


ngx_int_t
ngx_http_kvmq_ws_send_frame(ngx_http_kvmq_ws_t *ws,
    ngx_http_kvmq_ws_frame_t *frame)
{
    ngx_http_kvmq_ws_out_t  *out;

    if (ws->closed || ws->close_sent || ws->error) {
        return NGX_DECLINED;
    }

    out = ngx_http_kvmq_ws_out_alloc(ws, 0);
    if (out == NULL) {
        ws->error = 1;
        ngx_post_event(ws->connection->write, &ngx_posted_events);
        return NGX_ERROR;
    }

    frame->refs++;

    out->shared = frame;
    out->buf.temporary = 0;
    out->buf.memory = 1;
    out->buf.start = frame->data;
    out->buf.pos = frame->data;
    out->buf.last = frame->data + frame->len;
    out->buf.end = out->buf.last;

    return ngx_http_kvmq_ws_enqueue(ws, out);
}


void
ngx_http_kvmq_ws_frame_release(ngx_http_kvmq_ws_frame_t *frame)
{
    if (--frame->refs == 0) {
        ngx_free(frame);
    }
}


void
ngx_http_kvmq_ws_close(ngx_http_kvmq_ws_t *ws, ngx_uint_t code,
    const char *reason)
{
    ngx_http_kvmq_ws_queue_close(ws, code, reason);
}


/* a parked command has been answered: take the next messages */

void
ngx_http_kvmq_ws_resume(ngx_http_kvmq_ws_t *ws)
{
    if (ws->parked == NULL) {
        return;
    }

    ngx_destroy_pool(ws->parked);
    ws->parked = NULL;

    if (!ws->closed) {
        ngx_post_event(ws->connection->read, &ngx_posted_events);
    }
}
