
/*
 * The messages of the WebSocket door: one JSON object per message,
 * {"id": ANY, "cmd": [...]}, answered with {"id": ANY, "result": R} or
 * {"id": ANY, "error": {"error": CODE, "message": TEXT}}.
 *
 * "id" may be any JSON value and is echoed as the exact text the client
 * wrote (an id of 1.50e3 comes back as 1.50e3); "id" absent is null.
 * "cmd" is exactly what POST /cmd takes, one command or a batch run
 * atomically, and goes through the same parser
 * (ngx_http_kvmq_json_parse_cmd) and the same checks and engine call
 * (ngx_http_kvmq_cmd_exec) as /cmd: limits, kvmq_readonly, base64 and
 * every command behave the same.  Binary messages are taken as JSON too
 * (some client libraries send binary by default); replies are always
 * text.  A message that is not a JSON object gets an error reply with
 * "id": null, one without "cmd" gets it with its id; the connection
 * stays open.  A reply bigger than kvmq_ws_send_buffer could never be
 * queued: it becomes a TOOLARGE error reply.
 *
 * A few commands are the glue's, not the engine's (SUBSCRIBE, CONSUME
 * ...): the table below sends them to their handlers.
 *
 * The shared command path allocates from r->pool, and a WebSocket
 * request lives for hours: while a message runs, r->pool is a scratch
 * pool of its own, destroyed once the reply is queued (or, for a parked
 * command, once it is resumed).
 */


#include <yajl/yajl_parse.h>

#include "ngx_http_kvmq_ws.h"
#include "ngx_http_kvmq_ws_pubsub.h"
#include "ngx_http_kvmq_block.h"
#include "ngx_http_kvmq_queue_ws.h"


#define NGX_HTTP_KVMQ_WS_POOL       16384   /* scratch pool per message */


/* the outer parse of a message: where "id" and "cmd" are in its text */
typedef struct {
    yajl_handle                 h;
    u_char                     *text;
    ngx_uint_t                  depth;
    ngx_uint_t                  key;        /* of the value being read */
    size_t                      key_end;
    ngx_str_t                   id;
    ngx_str_t                   cmd;
    const char                 *err;
} ngx_http_kvmq_ws_msg_t;

#define NGX_HTTP_KVMQ_WS_KEY_OTHER  0
#define NGX_HTTP_KVMQ_WS_KEY_ID     1
#define NGX_HTTP_KVMQ_WS_KEY_CMD    2


typedef struct {
    ngx_str_t                   name;
    ngx_http_kvmq_ws_cmd_pt     handler;
} ngx_http_kvmq_ws_glue_cmd_t;


static ngx_int_t ngx_http_kvmq_ws_dispatch(ngx_http_kvmq_ws_t *ws,
    u_char *data, size_t len);
static ngx_int_t ngx_http_kvmq_ws_parse(ngx_http_kvmq_ws_t *ws,
    ngx_http_kvmq_ws_msg_t *m, u_char *data, size_t len);
static ngx_int_t ngx_http_kvmq_ws_render(ngx_http_kvmq_ws_t *ws,
    ngx_str_t *id, ngx_http_kvmq_val_t **vals, ngx_uint_t n,
    ngx_uint_t batch);
static ngx_int_t ngx_http_kvmq_ws_error_reply(ngx_http_kvmq_ws_t *ws,
    ngx_str_t *id, kvmq_err_e err, u_char *msg, size_t len);

static int ngx_http_kvmq_ws_m_null(void *ctx);
static int ngx_http_kvmq_ws_m_boolean(void *ctx, int b);
static int ngx_http_kvmq_ws_m_number(void *ctx, const char *s, size_t len);
static int ngx_http_kvmq_ws_m_string(void *ctx, const unsigned char *s,
    size_t len);
static int ngx_http_kvmq_ws_m_start_map(void *ctx);
static int ngx_http_kvmq_ws_m_map_key(void *ctx, const unsigned char *s,
    size_t len);
static int ngx_http_kvmq_ws_m_end(void *ctx);
static int ngx_http_kvmq_ws_m_start_array(void *ctx);


/*
 * Commands run by the glue instead of the engine, WebSocket only.  Add a
 * row per command (the name in upper case; matching ignores case) and
 * declare its handler (an ngx_http_kvmq_ws_cmd_pt, see
 * ngx_http_kvmq_ws.h) in the header of the file that defines it,
 * included above, e.g.
 *
 *     { ngx_string("SUBSCRIBE"), ngx_http_kvmq_pubsub_subscribe },
 *
 * A glue command cannot be part of a batch.
 */

static ngx_http_kvmq_ws_glue_cmd_t  ngx_http_kvmq_ws_glue_cmds[] = {

    { ngx_string("SUBSCRIBE"), ngx_http_kvmq_ws_subscribe },
    { ngx_string("UNSUBSCRIBE"), ngx_http_kvmq_ws_unsubscribe },
    { ngx_string("PSUBSCRIBE"), ngx_http_kvmq_ws_psubscribe },
    { ngx_string("PUNSUBSCRIBE"), ngx_http_kvmq_ws_punsubscribe },

    /* blocking pops: in a batch they run as their non-blocking variant */
    { ngx_string("BLPOP"), ngx_http_kvmq_block_ws },
    { ngx_string("BRPOP"), ngx_http_kvmq_block_ws },
    { ngx_string("BRPOPLPUSH"), ngx_http_kvmq_block_ws },
    { ngx_string("BLMOVE"), ngx_http_kvmq_block_ws },
    { ngx_string("BZPOPMIN"), ngx_http_kvmq_block_ws },
    { ngx_string("BZPOPMAX"), ngx_http_kvmq_block_ws },

    /* queues (queue_ws.c) */
    { ngx_string("CONSUME"), ngx_http_kvmq_ws_consume },
    { ngx_string("CANCEL"), ngx_http_kvmq_ws_cancel },
    { ngx_string("ACK"), ngx_http_kvmq_ws_settle },
    { ngx_string("NACK"), ngx_http_kvmq_ws_settle },
    { ngx_string("BIND"), ngx_http_kvmq_ws_bind },
    { ngx_string("UNBIND"), ngx_http_kvmq_ws_bind },
    { ngx_string("RPC"), ngx_http_kvmq_ws_rpc },

    { ngx_null_string, NULL }
};


static yajl_callbacks  ngx_http_kvmq_ws_msg_callbacks = {
    ngx_http_kvmq_ws_m_null,
    ngx_http_kvmq_ws_m_boolean,
    NULL,
    NULL,
    ngx_http_kvmq_ws_m_number,
    ngx_http_kvmq_ws_m_string,
    ngx_http_kvmq_ws_m_start_map,
    ngx_http_kvmq_ws_m_map_key,
    ngx_http_kvmq_ws_m_end,
    ngx_http_kvmq_ws_m_start_array,
    ngx_http_kvmq_ws_m_end
};


static ngx_str_t  ngx_http_kvmq_ws_null_id = ngx_string("null");


/*
 * A complete message: NGX_OK when it has been answered, NGX_AGAIN when
 * its command is parked (ws->parked holds its pool), NGX_ERROR when the
 * connection must fail (no memory).
 */

ngx_int_t
ngx_http_kvmq_ws_message(ngx_http_kvmq_ws_t *ws, u_char *data, size_t len)
{
    ngx_int_t            rc;
    ngx_pool_t          *pool, *saved;
    ngx_http_request_t  *r;

    r = ws->request;

    pool = ngx_create_pool(NGX_HTTP_KVMQ_WS_POOL, ws->connection->log);
    if (pool == NULL) {
        return NGX_ERROR;
    }

    saved = r->pool;
    r->pool = pool;

    rc = ngx_http_kvmq_ws_dispatch(ws, data, len);

    r->pool = saved;

    if (rc == NGX_AGAIN && !ws->close_sent) {
        ws->parked = pool;
        return NGX_AGAIN;
    }

    ngx_destroy_pool(pool);

    return (rc == NGX_ERROR) ? NGX_ERROR : NGX_OK;
}


/* one message, with r->pool the message's own pool */

static ngx_int_t
ngx_http_kvmq_ws_dispatch(ngx_http_kvmq_ws_t *ws, u_char *data, size_t len)
{
    ngx_int_t                     rc;
    ngx_str_t                     err, id;
    ngx_uint_t                    i, batch;
    ngx_array_t                   cmds;
    kvmq_slice_t                 *name;
    ngx_http_request_t           *r;
    ngx_http_kvmq_val_t         **results, *errv;
    ngx_http_kvmq_argv_t         *cmd;
    ngx_http_kvmq_ws_msg_t        m;
    ngx_http_kvmq_ws_glue_cmd_t  *g;

    r = ws->request;

    rc = ngx_http_kvmq_ws_parse(ws, &m, data, len);

    if (rc == NGX_ERROR) {
        return NGX_ERROR;
    }

    /* the id is copied: a parked command keeps it past this message */
    id = m.id.len ? m.id : ngx_http_kvmq_ws_null_id;

    id.data = ngx_pstrdup(r->pool, &id);
    if (id.data == NULL) {
        return NGX_ERROR;
    }

    if (rc == NGX_DECLINED) {
        return ngx_http_kvmq_ws_error_reply(ws, &id, KVMQ_ERR_BADREQ,
                                            (u_char *) m.err,
                                            ngx_strlen(m.err));
    }

    if (ngx_array_init(&cmds, r->pool, 4, sizeof(ngx_http_kvmq_argv_t))
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    batch = 0;

    rc = ngx_http_kvmq_json_parse_cmd(r, &m.cmd, ws->base64, &cmds, &batch,
                                      &err);

    if (rc == NGX_ERROR) {
        return NGX_ERROR;
    }

    if (rc == NGX_DECLINED) {
        return ngx_http_kvmq_ws_error_reply(ws, &id, KVMQ_ERR_BADREQ,
                                            err.data, err.len);
    }

    cmd = cmds.elts;

    for (i = 0; i < cmds.nelts; i++) {

        if (cmd[i].argc == 0) {
            continue;
        }

        name = &cmd[i].argv[0];

        for (g = ngx_http_kvmq_ws_glue_cmds; g->name.len; g++) {

            if (g->name.len != name->len
                || ngx_strncasecmp(g->name.data, (u_char *) name->data,
                                   name->len)
                   != 0)
            {
                continue;
            }

            if (batch && g->handler == ngx_http_kvmq_block_ws) {
                break;
            }

            if (batch) {
                return ngx_http_kvmq_ws_reply_error(ws, &id, KVMQ_ERR_BADREQ,
                                                    "command %ui: '%V' "
                                                    "cannot be in a batch",
                                                    i + 1, &g->name);
            }

            return g->handler(ws, &id, &cmd[i]);
        }
    }

    rc = ngx_http_kvmq_cmd_exec(r, cmd, cmds.nelts, batch, &results, &errv);

    if (rc == NGX_ERROR) {
        return NGX_ERROR;
    }

    if (rc == NGX_DECLINED) {
        return ngx_http_kvmq_ws_render(ws, &id, &errv, 1, 0);
    }

    return ngx_http_kvmq_ws_render(ws, &id, results, cmds.nelts, batch);
}


static ngx_int_t
ngx_http_kvmq_ws_error_reply(ngx_http_kvmq_ws_t *ws, ngx_str_t *id,
    kvmq_err_e err, u_char *msg, size_t len)
{
    ngx_http_kvmq_val_t  v, *vp;

    ngx_memzero(&v, sizeof(ngx_http_kvmq_val_t));
    v.type = NGX_HTTP_KVMQ_ERROR;
    v.err = err;
    v.str.data = msg;
    v.str.len = len;

    vp = &v;

    return ngx_http_kvmq_ws_render(ws, id, &vp, 1, 0);
}


/*
 * {"id": ID, "result": R} or {"id": ID, "error": {...}} as one text
 * frame, queued.  R is one value or, for a batch, the array of them.
 * r->pool is a scratch pool.  NGX_DECLINED (the connection is closing)
 * is as good as NGX_OK to the caller.
 */

static ngx_int_t
ngx_http_kvmq_ws_render(ngx_http_kvmq_ws_t *ws, ngx_str_t *id,
    ngx_http_kvmq_val_t **vals, ngx_uint_t n, ngx_uint_t batch)
{
    size_t                 len, body;
    ngx_int_t              rc;
    ngx_str_t              key;
    ngx_buf_t             *head, tail;
    ngx_uint_t             i;
    ngx_chain_t           *cl, *json, first, last;
    ngx_http_kvmq_json_t  *j;

    if (ws->close_sent || ws->closed) {
        return NGX_DECLINED;
    }

    j = ngx_http_kvmq_json_create(ws->request, ws->base64);
    if (j == NULL) {
        return NGX_ERROR;
    }

    if (batch) {
        rc = ngx_http_kvmq_json_open(j, 0);

        for (i = 0; rc == NGX_OK && i < n; i++) {
            rc = ngx_http_kvmq_json_val(j, vals[i]);
        }

        if (rc == NGX_OK) {
            rc = ngx_http_kvmq_json_close(j, 0);
        }

    } else {
        rc = ngx_http_kvmq_json_val(j, vals[0]);
    }

    if (rc != NGX_OK) {
        return NGX_ERROR;
    }

    json = ngx_http_kvmq_json_finish(j);
    if (json == NULL) {
        return NGX_ERROR;
    }

    if (!batch && vals[0] && vals[0]->type == NGX_HTTP_KVMQ_ERROR) {
        ngx_str_set(&key, ",\"error\":");

    } else {
        ngx_str_set(&key, ",\"result\":");
    }

    body = 0;

    for (cl = json; cl; cl = cl->next) {
        body += cl->buf->last - cl->buf->pos;
    }

    len = sizeof("{\"id\":") - 1 + id->len + key.len + body + 1;

    if (len > ws->conf->ws_send_buffer) {
        return ngx_http_kvmq_ws_reply_error(ws, id, KVMQ_ERR_TOOLARGE,
                                            "reply of %uz bytes is over "
                                            "kvmq_ws_send_buffer (%uz)",
                                            len, ws->conf->ws_send_buffer);
    }

    /* {"id": ID , "result": JSON } around the JSON chain */
    head = ngx_create_temp_buf(ws->request->pool,
                               sizeof("{\"id\":") - 1 + id->len + key.len);
    if (head == NULL) {
        return NGX_ERROR;
    }

    head->last = ngx_cpymem(head->last, "{\"id\":", 6);
    head->last = ngx_cpymem(head->last, id->data, id->len);
    head->last = ngx_cpymem(head->last, key.data, key.len);

    ngx_memzero(&tail, sizeof(ngx_buf_t));
    tail.pos = (u_char *) "}";
    tail.last = tail.pos + 1;

    first.buf = head;
    first.next = json;
    last.buf = &tail;
    last.next = NULL;

    for (cl = json; cl->next; cl = cl->next) {
        /* void */
    }

    cl->next = &last;

    rc = ngx_http_kvmq_ws_send_chain(ws, &first);

    return (rc == NGX_ERROR) ? NGX_ERROR : NGX_OK;
}


/* ---- replies for the other glue --------------------------------------- */


ngx_int_t
ngx_http_kvmq_ws_reply(ngx_http_kvmq_ws_t *ws, ngx_str_t *id,
    ngx_http_kvmq_val_t *result)
{
    ngx_int_t            rc;
    ngx_pool_t          *pool, *saved;
    ngx_http_request_t  *r;

    if (ws->closed || ws->close_sent) {
        return NGX_DECLINED;
    }

    r = ws->request;

    pool = ngx_create_pool(NGX_HTTP_KVMQ_WS_POOL, ws->connection->log);
    if (pool == NULL) {
        return NGX_ERROR;
    }

    saved = r->pool;
    r->pool = pool;

    rc = ngx_http_kvmq_ws_render(ws, id, &result, 1, 0);

    r->pool = saved;
    ngx_destroy_pool(pool);

    return rc;
}


ngx_int_t
ngx_http_kvmq_ws_reply_error(ngx_http_kvmq_ws_t *ws, ngx_str_t *id,
    kvmq_err_e err, const char *fmt, ...)
{
    u_char               *p;
    va_list               args;
    ngx_http_kvmq_val_t   v;
    u_char                msg[NGX_MAX_ERROR_STR];

    va_start(args, fmt);
    p = ngx_vslprintf(msg, msg + sizeof(msg), fmt, args);
    va_end(args);

    ngx_memzero(&v, sizeof(ngx_http_kvmq_val_t));
    v.type = NGX_HTTP_KVMQ_ERROR;
    v.err = err;
    v.str.data = msg;
    v.str.len = p - msg;

    return ngx_http_kvmq_ws_reply(ws, id, &v);
}


/* ---- the outer parse: {"id": ANY, "cmd": [...]} ------------------------ */


/*
 * Find the raw text of "id" and "cmd" in a message.  yajl reports how
 * many bytes it has consumed, also from inside a callback, where that
 * is the end of the token just read: the end of a value's text.  Its
 * start is after the key, the colon and white space.  NGX_DECLINED with
 * m->err for a message that is not an object with a "cmd" (m->id kept
 * when the message was an object), NGX_ERROR on no memory.
 */

static ngx_int_t
ngx_http_kvmq_ws_parse(ngx_http_kvmq_ws_t *ws, ngx_http_kvmq_ws_msg_t *m,
    u_char *data, size_t len)
{
    u_char       *p, *msg;
    size_t        n;
    yajl_status   st;

    ngx_memzero(m, sizeof(ngx_http_kvmq_ws_msg_t));

    if (len == 0) {
        m->err = "empty message";
        return NGX_DECLINED;
    }

    m->text = data;

    m->h = yajl_alloc(&ngx_http_kvmq_ws_msg_callbacks, NULL, m);
    if (m->h == NULL) {
        return NGX_ERROR;
    }

    st = yajl_parse(m->h, data, len);

    if (st == yajl_status_ok) {
        st = yajl_complete_parse(m->h);
    }

    if (st == yajl_status_client_canceled) {
        yajl_free(m->h);
        ngx_str_null(&m->id);
        return NGX_DECLINED;
    }

    if (st != yajl_status_ok) {
        ngx_str_null(&m->id);
        m->err = "malformed JSON";

        msg = yajl_get_error(m->h, 0, NULL, 0);

        if (msg) {
            n = ngx_strlen(msg);

            while (n && (msg[n - 1] == '\n' || msg[n - 1] == ' ')) {
                n--;
            }

            p = ngx_pnalloc(ws->request->pool,
                            sizeof("malformed JSON: ") + n);
            if (p) {
                ngx_sprintf(p, "malformed JSON: %*s%Z", n, msg);
                m->err = (char *) p;
            }

            yajl_free_error(m->h, msg);
        }

        yajl_free(m->h);

        return NGX_DECLINED;
    }

    yajl_free(m->h);

    if (m->cmd.len == 0) {
        m->err = "a message needs \"cmd\": {\"id\": ..., \"cmd\": "
                 "[\"NAME\", ...]}";
        return NGX_DECLINED;
    }

    return NGX_OK;
}


static int
ngx_http_kvmq_ws_m_fail(ngx_http_kvmq_ws_msg_t *m)
{
    m->err = "a message is a JSON object: {\"id\": ..., \"cmd\": "
             "[\"NAME\", ...]}";

    return 0;
}


/* a value of the top object ends here */

static void
ngx_http_kvmq_ws_m_value(ngx_http_kvmq_ws_msg_t *m)
{
    size_t      start, end;
    ngx_str_t  *v;

    if (m->key == NGX_HTTP_KVMQ_WS_KEY_OTHER) {
        return;
    }

    v = (m->key == NGX_HTTP_KVMQ_WS_KEY_ID) ? &m->id : &m->cmd;
    m->key = NGX_HTTP_KVMQ_WS_KEY_OTHER;

    start = m->key_end;
    end = yajl_get_bytes_consumed(m->h);

    while (start < end
           && (m->text[start] == ' ' || m->text[start] == '\t'
               || m->text[start] == '\r' || m->text[start] == '\n'
               || m->text[start] == ':'))
    {
        start++;
    }

    v->data = m->text + start;
    v->len = end - start;
}


static int
ngx_http_kvmq_ws_m_scalar(void *ctx)
{
    ngx_http_kvmq_ws_msg_t *m = ctx;

    if (m->depth == 0) {
        return ngx_http_kvmq_ws_m_fail(m);
    }

    if (m->depth == 1) {
        ngx_http_kvmq_ws_m_value(m);
    }

    return 1;
}


static int
ngx_http_kvmq_ws_m_null(void *ctx)
{
    return ngx_http_kvmq_ws_m_scalar(ctx);
}


static int
ngx_http_kvmq_ws_m_boolean(void *ctx, int b)
{
    return ngx_http_kvmq_ws_m_scalar(ctx);
}


static int
ngx_http_kvmq_ws_m_number(void *ctx, const char *s, size_t len)
{
    return ngx_http_kvmq_ws_m_scalar(ctx);
}


static int
ngx_http_kvmq_ws_m_string(void *ctx, const unsigned char *s, size_t len)
{
    return ngx_http_kvmq_ws_m_scalar(ctx);
}


static int
ngx_http_kvmq_ws_m_start_map(void *ctx)
{
    ngx_http_kvmq_ws_msg_t *m = ctx;

    m->depth++;

    return 1;
}


static int
ngx_http_kvmq_ws_m_map_key(void *ctx, const unsigned char *s, size_t len)
{
    ngx_http_kvmq_ws_msg_t *m = ctx;

    if (m->depth != 1) {
        return 1;
    }

    m->key_end = yajl_get_bytes_consumed(m->h);

    if (len == 2 && ngx_strncmp(s, "id", 2) == 0) {
        m->key = NGX_HTTP_KVMQ_WS_KEY_ID;

    } else if (len == 3 && ngx_strncmp(s, "cmd", 3) == 0) {
        m->key = NGX_HTTP_KVMQ_WS_KEY_CMD;

    } else {
        m->key = NGX_HTTP_KVMQ_WS_KEY_OTHER;
    }

    return 1;
}


static int
ngx_http_kvmq_ws_m_end(void *ctx)
{
    ngx_http_kvmq_ws_msg_t *m = ctx;

    m->depth--;

    if (m->depth == 1) {
        ngx_http_kvmq_ws_m_value(m);
    }

    return 1;
}


static int
ngx_http_kvmq_ws_m_start_array(void *ctx)
{
    ngx_http_kvmq_ws_msg_t *m = ctx;

    if (m->depth == 0) {
        return ngx_http_kvmq_ws_m_fail(m);
    }

    m->depth++;

    return 1;
}
