
/*
 * The content handler of a kvmq_api location: routing, request bodies,
 * the zone lock around engine calls, and the JSON responses every route
 * shares.
 *
 * Names (keys, later fields, queues ...) are path segments of any bytes,
 * percent-encoded, so the path is split on '/' in r->unparsed_uri, where
 * "%2F" is still data, and each segment is decoded here.  r->uri cannot
 * be used for that: nginx has already decoded it, and "a%2Fb" would look
 * like two segments.  When the raw URI no longer matches the location
 * (a rewrite or an internal redirect changed the URI), the decoded
 * r->uri is the only source left and is used as is.
 *
 * Engine calls go through ngx_http_kvmq_exec(): lock, run one command or
 * a whole batch, unlock; the reply builder only copies under the lock.
 */


#include "ngx_http_kvmq_module.h"
#include "ngx_http_kvmq_notify.h"


static ngx_int_t ngx_http_kvmq_split(ngx_http_request_t *r,
    ngx_http_kvmq_ctx_t *ctx);
static ngx_int_t ngx_http_kvmq_route(ngx_http_kvmq_ctx_t *ctx);


ngx_int_t
ngx_http_kvmq_handler(ngx_http_request_t *r)
{
    ngx_int_t             rc;
    ngx_str_t             enc;
    ngx_http_kvmq_ctx_t  *ctx;

    ctx = ngx_pcalloc(r->pool, sizeof(ngx_http_kvmq_ctx_t));
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_http_set_ctx(r, ctx, ngx_http_kvmq_module);

    rc = ngx_http_kvmq_split(r, ctx);

    if (rc == NGX_ERROR) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (rc == NGX_DECLINED) {
        return ngx_http_kvmq_send_errorf(r, KVMQ_ERR_BADREQ,
                                         "invalid percent-encoding in path");
    }

    if (r->args.len) {
        rc = ngx_http_kvmq_arg(r, "encoding", &enc);

        if (rc == NGX_ERROR) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        if (rc == NGX_OK) {
            ctx->base64 = (enc.len == 6
                           && ngx_strncmp(enc.data, "base64", 6) == 0);

            if (!ctx->base64
                && !(enc.len == 4 && ngx_strncmp(enc.data, "json", 4) == 0))
            {
                return ngx_http_kvmq_send_errorf(r, KVMQ_ERR_BADREQ,
                                                 "unknown encoding \"%V\"",
                                                 &enc);
            }
        }
    }

    switch (ngx_http_kvmq_route(ctx)) {

    case NGX_HTTP_KVMQ_ROUTE_KV_SCAN:
    case NGX_HTTP_KVMQ_ROUTE_KV_KEY:
    case NGX_HTTP_KVMQ_ROUTE_KV_OP:
        return ngx_http_kvmq_kv(r, ctx);

    case NGX_HTTP_KVMQ_ROUTE_HASH:
        return ngx_http_kvmq_hash(r, ctx);

    case NGX_HTTP_KVMQ_ROUTE_LIST:
        return ngx_http_kvmq_list(r, ctx);

    case NGX_HTTP_KVMQ_ROUTE_SET:
        return ngx_http_kvmq_set(r, ctx);

    case NGX_HTTP_KVMQ_ROUTE_ZSET:
        return ngx_http_kvmq_zset(r, ctx);

    case NGX_HTTP_KVMQ_ROUTE_CMD_POST:
    case NGX_HTTP_KVMQ_ROUTE_CMD_GET:
        return ngx_http_kvmq_cmd(r, ctx);

    case NGX_HTTP_KVMQ_ROUTE_QUEUES:
        return ngx_http_kvmq_queues(r, ctx);

    case NGX_HTTP_KVMQ_ROUTE_RPC:
        return ngx_http_kvmq_rpc(r, ctx);

    case NGX_HTTP_KVMQ_ROUTE_STATS:
        return ngx_http_kvmq_stats(r, ctx);

    case NGX_HTTP_KVMQ_ROUTE_PUBLISH:
        return ngx_http_kvmq_publish(r, ctx);

    case NGX_HTTP_KVMQ_ROUTE_SUBSCRIBE:
        return ngx_http_kvmq_sse(r, ctx);

    case NGX_HTTP_KVMQ_ROUTE_WS:
        return ngx_http_kvmq_ws(r, ctx);

    default:
        return ngx_http_kvmq_send_errorf(r, KVMQ_ERR_NOTFOUND,
                                         "no such route");
    }
}


/*
 * Walk the raw path along the location prefix, decoding as it goes;
 * returns the position after the prefix in the raw URI, or NULL when the
 * raw URI does not start with the (decoded) prefix.
 */

static u_char *
ngx_http_kvmq_skip_prefix(u_char *p, u_char *end, ngx_str_t *prefix)
{
    u_char      c;
    ngx_int_t   hi, lo;
    ngx_uint_t  i;

    for (i = 0; i < prefix->len; i++) {

        if (p == end) {
            return NULL;
        }

        c = *p++;

        if (c == '%' && end - p >= 2) {
            hi = ngx_hextoi(p, 1);
            lo = ngx_hextoi(p + 1, 1);

            if (hi != NGX_ERROR && lo != NGX_ERROR) {
                c = (u_char) (hi << 4 | lo);
                p += 2;
            }
        }

        if (c != prefix->data[i]) {
            return NULL;
        }
    }

    return p;
}


static ngx_int_t
ngx_http_kvmq_split(ngx_http_request_t *r, ngx_http_kvmq_ctx_t *ctx)
{
    u_char                    *p, *end, *start, *rest;
    ngx_int_t                  rc;
    ngx_uint_t                 n, decoded;
    ngx_http_core_loc_conf_t  *clcf;

    clcf = ngx_http_get_module_loc_conf(r, ngx_http_core_module);

    rest = NULL;
    end = NULL;
    decoded = 0;

    if (r->valid_unparsed_uri) {
        p = r->unparsed_uri.data;
        end = p + r->unparsed_uri.len;

        for (start = p; start < end; start++) {
            if (*start == '?') {
                break;
            }
        }

        end = start;
        rest = ngx_http_kvmq_skip_prefix(p, end, &clcf->name);
    }

    if (rest == NULL) {
        if (r->uri.len < clcf->name.len) {
            ctx->nseg = 0;
            return NGX_OK;
        }

        rest = r->uri.data + clcf->name.len;
        end = r->uri.data + r->uri.len;
        decoded = 1;
    }

    if (rest < end && *rest == '/') {
        rest++;
    }

    n = 1;

    for (p = rest; p < end; p++) {
        if (*p == '/') {
            n++;
        }
    }

    ctx->seg = ngx_palloc(r->pool, n * sizeof(ngx_str_t));
    if (ctx->seg == NULL) {
        return NGX_ERROR;
    }

    ctx->nseg = 0;
    start = rest;

    for (p = rest; /* void */ ; p++) {

        if (p < end && *p != '/') {
            continue;
        }

        if (decoded) {
            ctx->seg[ctx->nseg].data = start;
            ctx->seg[ctx->nseg].len = p - start;

        } else {
            rc = ngx_http_kvmq_unescape(r->pool, &ctx->seg[ctx->nseg], start,
                                        p - start, 0);
            if (rc != NGX_OK) {
                return rc;
            }
        }

        ctx->nseg++;

        if (p == end) {
            break;
        }

        start = p + 1;
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_kvmq_seg_is(ngx_str_t *s, const char *lit, size_t len)
{
    return s->len == len && ngx_strncmp(s->data, lit, len) == 0;
}


static ngx_int_t
ngx_http_kvmq_route(ngx_http_kvmq_ctx_t *ctx)
{
    ngx_str_t   *seg;
    ngx_uint_t   n;

    seg = ctx->seg;
    n = ctx->nseg;

    /* a trailing slash names the collection itself: "/kv/" is "/kv" */
    if (n == 2 && seg[1].len == 0) {
        n = 1;
    }

    ctx->route = NGX_HTTP_KVMQ_ROUTE_NONE;

    if (n == 0) {
        return ctx->route;
    }

    if (ngx_http_kvmq_seg_is(&seg[0], "kv", 2)) {
        ctx->route = (n == 1) ? NGX_HTTP_KVMQ_ROUTE_KV_SCAN
                   : (n == 2) ? NGX_HTTP_KVMQ_ROUTE_KV_KEY
                   : (n == 3) ? NGX_HTTP_KVMQ_ROUTE_KV_OP
                   : NGX_HTTP_KVMQ_ROUTE_NONE;

    } else if (n >= 2 && ngx_http_kvmq_seg_is(&seg[0], "hash", 4)) {
        ctx->route = NGX_HTTP_KVMQ_ROUTE_HASH;

    } else if (n >= 2 && ngx_http_kvmq_seg_is(&seg[0], "list", 4)) {
        ctx->route = NGX_HTTP_KVMQ_ROUTE_LIST;

    } else if (n >= 2 && ngx_http_kvmq_seg_is(&seg[0], "set", 3)) {
        ctx->route = NGX_HTTP_KVMQ_ROUTE_SET;

    } else if (n >= 2 && ngx_http_kvmq_seg_is(&seg[0], "zset", 4)) {
        ctx->route = NGX_HTTP_KVMQ_ROUTE_ZSET;

    } else if (ngx_http_kvmq_seg_is(&seg[0], "queues", 6)
               || ngx_http_kvmq_seg_is(&seg[0], "exchanges", 9))
    {
        ctx->route = NGX_HTTP_KVMQ_ROUTE_QUEUES;

    } else if (n >= 2 && (ngx_http_kvmq_seg_is(&seg[0], "rpc", 3)
                          || ngx_http_kvmq_seg_is(&seg[0], "reply", 5)))
    {
        ctx->route = NGX_HTTP_KVMQ_ROUTE_RPC;

    } else if (ngx_http_kvmq_seg_is(&seg[0], "cmd", 3)) {
        ctx->route = (n == 1) ? NGX_HTTP_KVMQ_ROUTE_CMD_POST
                              : NGX_HTTP_KVMQ_ROUTE_CMD_GET;

    } else if (ngx_http_kvmq_seg_is(&seg[0], "stats", 5) && n == 1) {
        ctx->route = NGX_HTTP_KVMQ_ROUTE_STATS;

    } else if (ngx_http_kvmq_seg_is(&seg[0], "ws", 2) && n == 1) {
        ctx->route = NGX_HTTP_KVMQ_ROUTE_WS;

    } else if (ngx_http_kvmq_seg_is(&seg[0], "publish", 7) && n == 2) {
        ctx->route = NGX_HTTP_KVMQ_ROUTE_PUBLISH;

    } else if (ngx_http_kvmq_seg_is(&seg[0], "subscribe", 9) && n == 2) {
        ctx->route = NGX_HTTP_KVMQ_ROUTE_SUBSCRIBE;
    }

    return ctx->route;
}


/*
 * A query argument, percent-decoded ('+' as space).  NGX_OK with value
 * (empty for "?keepttl" or "?keepttl="), NGX_DECLINED when absent or
 * not decodable, NGX_ERROR on no memory.
 */

ngx_int_t
ngx_http_kvmq_arg(ngx_http_request_t *r, const char *name, ngx_str_t *value)
{
    size_t   len;
    u_char  *p, *end, *k, *v;

    len = ngx_strlen(name);
    p = r->args.data;
    end = p + r->args.len;

    while (p < end) {
        k = p;

        while (p < end && *p != '&' && *p != '=') {
            p++;
        }

        if ((size_t) (p - k) == len && ngx_strncmp(k, name, len) == 0) {

            if (p < end && *p == '=') {
                p++;
            }

            v = p;

            while (p < end && *p != '&') {
                p++;
            }

            return ngx_http_kvmq_unescape(r->pool, value, v, p - v, 1);
        }

        while (p < end && *p != '&') {
            p++;
        }

        if (p < end) {
            p++;
        }
    }

    return NGX_DECLINED;
}


/*
 * The request body as one contiguous string, whether nginx kept it in
 * memory or wrote (part of) it to a temporary file.
 */

ngx_int_t
ngx_http_kvmq_body(ngx_http_request_t *r, ngx_str_t *body)
{
    off_t         len;
    size_t        size;
    u_char       *p;
    ssize_t       n;
    ngx_buf_t    *b;
    ngx_chain_t  *cl;

    body->len = 0;
    body->data = (u_char *) "";

    if (r->request_body == NULL || r->request_body->bufs == NULL) {
        return NGX_OK;
    }

    cl = r->request_body->bufs;

    if (cl->next == NULL && ngx_buf_in_memory(cl->buf)) {
        body->data = cl->buf->pos;
        body->len = cl->buf->last - cl->buf->pos;
        return NGX_OK;
    }

    len = 0;

    for (cl = r->request_body->bufs; cl; cl = cl->next) {
        len += ngx_buf_size(cl->buf);
    }

    if (len == 0) {
        return NGX_OK;
    }

    p = ngx_pnalloc(r->pool, (size_t) len);
    if (p == NULL) {
        return NGX_ERROR;
    }

    body->data = p;

    for (cl = r->request_body->bufs; cl; cl = cl->next) {
        b = cl->buf;

        if (ngx_buf_in_memory(b)) {
            p = ngx_cpymem(p, b->pos, b->last - b->pos);
            continue;
        }

        if (!b->in_file) {
            continue;
        }

        size = (size_t) (b->file_last - b->file_pos);

        n = ngx_read_file(b->file, p, size, b->file_pos);

        if (n == NGX_ERROR) {
            return NGX_ERROR;
        }

        if ((size_t) n != size) {
            ngx_log_error(NGX_LOG_ALERT, r->connection->log, 0,
                          ngx_read_file_n " read only %z of %uz from \"%V\"",
                          n, size, &b->file->name);
            return NGX_ERROR;
        }

        p += n;
    }

    body->len = p - body->data;

    return NGX_OK;
}


/*
 * Run n commands under one lock acquisition, so a batch is atomic; each
 * reply is captured into results[i].  The single-command case keeps the
 * builder's metadata for the REST routes.
 */

ngx_int_t
ngx_http_kvmq_exec(ngx_http_request_t *r, ngx_http_kvmq_builder_t *b,
    ngx_http_kvmq_argv_t *cmds, ngx_uint_t n, ngx_http_kvmq_val_t **results,
    const kvmq_slice_t *ctype)
{
    ngx_uint_t                 i;
    ngx_time_t                *tp;
    kvmq_ctx_t                 c;
    ngx_http_kvmq_zone_t      *zone;
    ngx_http_kvmq_loc_conf_t  *klcf;

    klcf = ngx_http_get_module_loc_conf(r, ngx_http_kvmq_module);
    zone = klcf->shm_zone->data;

    tp = ngx_timeofday();

    ngx_memzero(&c, sizeof(kvmq_ctx_t));
    c.db = zone->db;
    c.alloc = &zone->alloc;
    c.reply = &b->reply;
    c.now_ms = (int64_t) tp->sec * 1000 + tp->msec;
    c.ctype = ctype;
    c.max_value = klcf->max_value;
    c.readonly = klcf->readonly ? 1 : 0;

    ngx_shmtx_lock(&zone->shpool->mutex);

    for (i = 0; i < n; i++) {
        ngx_http_kvmq_builder_reset(b);
        (void) kvmq_exec(&c, cmds[i].argc, cmds[i].argv);
        results[i] = b->root;
    }

    ngx_shmtx_unlock(&zone->shpool->mutex);

    /* a PUBLISH left messages for other workers' subscribers */
    b->pub_seq = c.pub_seq;

    if (c.wake) {
        ngx_http_kvmq_notify_wake(c.wake);
    }

    return b->failed ? NGX_ERROR : NGX_OK;
}


/*
 * kvmq_max_key and kvmq_max_value, checked on a whole argv before
 * anything runs.  NGX_DECLINED with the 413 message in err, NGX_ERROR on
 * no memory.
 */

ngx_int_t
ngx_http_kvmq_check_limits(ngx_http_request_t *r, ngx_http_kvmq_argv_t *cmd,
    ngx_uint_t index, ngx_str_t *err)
{
    int                        i;
    u_char                    *p;
    const kvmq_cmd_t          *kc;
    ngx_http_kvmq_loc_conf_t  *klcf;

    klcf = ngx_http_get_module_loc_conf(r, ngx_http_kvmq_module);

    kc = NULL;

    if (cmd->argc > 0) {
        kc = kvmq_cmd_lookup(cmd->argv[0].data, cmd->argv[0].len);
    }

    for (i = 1; i < cmd->argc; i++) {

        if (cmd->argv[i].len > klcf->max_value) {
            goto toolarge;
        }

        if (cmd->argv[i].len > klcf->max_key && kc
            && kvmq_cmd_key_arg(kc, cmd->argc, i))
        {
            goto toolarge;
        }
    }

    return NGX_OK;

toolarge:

    p = ngx_pnalloc(r->pool, NGX_MAX_ERROR_STR);
    if (p == NULL) {
        return NGX_ERROR;
    }

    err->data = p;

    if (cmd->argv[i].len <= klcf->max_value) {
        p = ngx_snprintf(p, NGX_MAX_ERROR_STR,
                         "command %ui: key of %uz bytes is over "
                         "kvmq_max_key (%uz)", index, cmd->argv[i].len,
                         klcf->max_key);

    } else {
        p = ngx_snprintf(p, NGX_MAX_ERROR_STR,
                         "command %ui: argument %d of %uz bytes is over "
                         "kvmq_max_value (%uz)", index, i, cmd->argv[i].len,
                         klcf->max_value);
    }

    err->len = p - err->data;

    return NGX_DECLINED;
}


/* send a complete response: JSON unless the caller set a content type */

ngx_int_t
ngx_http_kvmq_send(ngx_http_request_t *r, ngx_uint_t status, ngx_chain_t *out)
{
    off_t         len;
    ngx_int_t     rc;
    ngx_chain_t  *cl;

    rc = ngx_http_discard_request_body(r);

    if (rc != NGX_OK) {
        return rc;
    }

    len = 0;

    for (cl = out; cl; cl = cl->next) {
        len += ngx_buf_size(cl->buf);
    }

    r->headers_out.status = status;
    r->headers_out.content_length_n = len;

    if (r->headers_out.content_type.len == 0) {
        ngx_str_set(&r->headers_out.content_type, "application/json");
        r->headers_out.content_type_len = sizeof("application/json") - 1;
    }

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only || out == NULL) {
        return rc;
    }

    return ngx_http_output_filter(r, out);
}


/* {"error": CODE, "message": TEXT} with the code's HTTP status */

ngx_int_t
ngx_http_kvmq_send_error(ngx_http_request_t *r, kvmq_err_e err,
    const u_char *msg, size_t len)
{
    const char            *code;
    ngx_chain_t           *out;
    ngx_http_kvmq_json_t  *j;

    code = kvmq_err_name(err);

    j = ngx_http_kvmq_json_create(r, 0);
    if (j == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ngx_http_kvmq_json_open(j, 1) != NGX_OK
        || ngx_http_kvmq_json_string(j, (u_char *) "error", 5) != NGX_OK
        || ngx_http_kvmq_json_string(j, (u_char *) code, ngx_strlen(code))
           != NGX_OK
        || ngx_http_kvmq_json_string(j, (u_char *) "message", 7) != NGX_OK
        || ngx_http_kvmq_json_string(j, msg, len) != NGX_OK
        || ngx_http_kvmq_json_close(j, 1) != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    out = ngx_http_kvmq_json_finish(j);
    if (out == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    /* a 413 answers before the body is read: do not invite it */
    r->expect_tested = 1;

    ngx_str_null(&r->headers_out.content_type);

    return ngx_http_kvmq_send(r, kvmq_err_http_status(err), out);
}


ngx_int_t
ngx_http_kvmq_send_errorf(ngx_http_request_t *r, kvmq_err_e err,
    const char *fmt, ...)
{
    u_char   *p;
    va_list   args;
    u_char    msg[NGX_MAX_ERROR_STR];

    va_start(args, fmt);
    p = ngx_vslprintf(msg, msg + sizeof(msg), fmt, args);
    va_end(args);

    return ngx_http_kvmq_send_error(r, err, msg, p - msg);
}


/* a captured reply as the whole response: errors by their status */

ngx_int_t
ngx_http_kvmq_send_val(ngx_http_request_t *r, ngx_http_kvmq_val_t *v)
{
    return ngx_http_kvmq_send_json(r, NGX_HTTP_OK, v);
}


ngx_int_t
ngx_http_kvmq_send_json(ngx_http_request_t *r, ngx_uint_t status,
    ngx_http_kvmq_val_t *v)
{
    ngx_chain_t           *out;
    ngx_http_kvmq_ctx_t   *ctx;
    ngx_http_kvmq_json_t  *j;

    if (v && v->type == NGX_HTTP_KVMQ_ERROR) {
        return ngx_http_kvmq_send_error(r, v->err, v->str.data, v->str.len);
    }

    ctx = ngx_http_get_module_ctx(r, ngx_http_kvmq_module);

    j = ngx_http_kvmq_json_create(r, ctx->base64);
    if (j == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ngx_http_kvmq_json_val(j, v) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    out = ngx_http_kvmq_json_finish(j);
    if (out == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_kvmq_send(r, status, out);
}


ngx_int_t
ngx_http_kvmq_add_header(ngx_http_request_t *r, const char *name,
    size_t len, ngx_str_t *value, ngx_table_elt_t **out)
{
    ngx_table_elt_t  *h;

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    h->hash = 1;
    h->key.data = (u_char *) name;
    h->key.len = len;
    h->value = *value;

    if (out) {
        *out = h;
    }

    return NGX_OK;
}


/* 405 with the methods the route takes */

ngx_int_t
ngx_http_kvmq_send_method(ngx_http_request_t *r, const char *allow)
{
    ngx_str_t  value;

    value.data = (u_char *) allow;
    value.len = ngx_strlen(allow);

    if (ngx_http_kvmq_add_header(r, "Allow", 5, &value, NULL) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_kvmq_send_errorf(r, KVMQ_ERR_METHOD,
                                     "method not allowed; use %s", allow);
}
