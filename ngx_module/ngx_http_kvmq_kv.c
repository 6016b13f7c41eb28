
/*
 * The /kv REST routes: strings as HTTP resources.  Each request is one
 * engine command (API.md "Strings"):
 *
 *   GET|HEAD /kv/{key}        GET key              raw value + headers
 *   PUT /kv/{key}             SET key body [EX|PX|KEEPTTL] [NX|XX]
 *                             or CAS key body cas [EX|PX] for If-Match
 *   DELETE /kv/{key}          DEL key
 *   POST /kv/{key}/incr       INCRBY / DECRBY / INCRBYFLOAT key by
 *   POST /kv/{key}/append     APPEND / PREPEND key body
 *   GET /kv                   SCAN cursor [MATCH g] [COUNT n] [TYPE t]
 *
 * GET is the hot path: no JSON, one node and one copy of the value in
 * the request pool, three headers (ETag, X-Kvmq-TTL, Content-Type) from
 * the metadata the engine reports just before the value.
 */


#include "ngx_http_kvmq_module.h"


#define NGX_HTTP_KVMQ_MAX_CTYPE  255


static ngx_int_t ngx_http_kvmq_kv_get(ngx_http_request_t *r,
    ngx_http_kvmq_ctx_t *ctx);
static void ngx_http_kvmq_kv_put_body(ngx_http_request_t *r);
static ngx_int_t ngx_http_kvmq_kv_put(ngx_http_request_t *r,
    ngx_http_kvmq_ctx_t *ctx);
static ngx_int_t ngx_http_kvmq_kv_delete(ngx_http_request_t *r,
    ngx_http_kvmq_ctx_t *ctx);
static ngx_int_t ngx_http_kvmq_kv_incr(ngx_http_request_t *r,
    ngx_http_kvmq_ctx_t *ctx, ngx_uint_t op);
static void ngx_http_kvmq_kv_append_body(ngx_http_request_t *r);
static ngx_int_t ngx_http_kvmq_kv_append(ngx_http_request_t *r,
    ngx_http_kvmq_ctx_t *ctx);
static ngx_int_t ngx_http_kvmq_kv_scan(ngx_http_request_t *r,
    ngx_http_kvmq_ctx_t *ctx);
static ngx_int_t ngx_http_kvmq_kv_number(ngx_http_request_t *r,
    const char *name, ngx_str_t *value, const char *dflt);
static ngx_int_t ngx_http_kvmq_kv_bad_number(ngx_http_request_t *r,
    ngx_int_t rc, const char *name);
static ngx_int_t ngx_http_kvmq_kv_single(ngx_http_request_t *r,
    ngx_http_kvmq_builder_t *b, kvmq_slice_t *argv, int argc,
    ngx_http_kvmq_val_t **v, const kvmq_slice_t *ctype);
static ngx_int_t ngx_http_kvmq_kv_result(ngx_http_request_t *r,
    const char *name, ngx_http_kvmq_val_t *v);
static ngx_int_t ngx_http_kvmq_kv_read_body(ngx_http_request_t *r,
    ngx_http_client_body_handler_pt handler);


/* POST /kv/{key}/OP */
#define NGX_HTTP_KVMQ_OP_INCR         0
#define NGX_HTTP_KVMQ_OP_DECR         1
#define NGX_HTTP_KVMQ_OP_INCRBYFLOAT  2
#define NGX_HTTP_KVMQ_OP_APPEND       3
#define NGX_HTTP_KVMQ_OP_PREPEND      4

static ngx_str_t  ngx_http_kvmq_kv_ops[] = {
    ngx_string("incr"),
    ngx_string("decr"),
    ngx_string("incrbyfloat"),
    ngx_string("append"),
    ngx_string("prepend"),
    ngx_null_string
};


#define ngx_http_kvmq_slice_set(s, lit)                                       \
    (s)->data = (const unsigned char *) lit; (s)->len = sizeof(lit) - 1

#define ngx_http_kvmq_slice_str(s, str)                                       \
    (s)->data = (str)->data; (s)->len = (str)->len


ngx_int_t
ngx_http_kvmq_kv(ngx_http_request_t *r, ngx_http_kvmq_ctx_t *ctx)
{
    ngx_uint_t                 op;
    ngx_http_kvmq_loc_conf_t  *klcf;

    if (ctx->route == NGX_HTTP_KVMQ_ROUTE_KV_SCAN) {
        if (!(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD))) {
            return ngx_http_kvmq_send_method(r, "GET, HEAD");
        }

        return ngx_http_kvmq_kv_scan(r, ctx);
    }

    klcf = ngx_http_get_module_loc_conf(r, ngx_http_kvmq_module);

    ctx->key = ctx->seg[1];

    if (ctx->key.len > klcf->max_key) {
        return ngx_http_kvmq_send_errorf(r, KVMQ_ERR_TOOLARGE,
                                         "key of %uz bytes is over "
                                         "kvmq_max_key (%uz)",
                                         ctx->key.len, klcf->max_key);
    }

    if (ctx->route == NGX_HTTP_KVMQ_ROUTE_KV_KEY) {

        switch (r->method) {

        case NGX_HTTP_GET:
        case NGX_HTTP_HEAD:
            return ngx_http_kvmq_kv_get(r, ctx);

        case NGX_HTTP_PUT:
            ngx_str_set(&ctx->command, "SET");
            return ngx_http_kvmq_kv_read_body(r, ngx_http_kvmq_kv_put_body);

        case NGX_HTTP_DELETE:
            return ngx_http_kvmq_kv_delete(r, ctx);

        default:
            return ngx_http_kvmq_send_method(r, "GET, HEAD, PUT, DELETE");
        }
    }

    /* NGX_HTTP_KVMQ_ROUTE_KV_OP */

    for (op = 0; ngx_http_kvmq_kv_ops[op].len; op++) {
        if (ctx->seg[2].len == ngx_http_kvmq_kv_ops[op].len
            && ngx_strncmp(ctx->seg[2].data, ngx_http_kvmq_kv_ops[op].data,
                           ctx->seg[2].len)
               == 0)
        {
            break;
        }
    }

    if (ngx_http_kvmq_kv_ops[op].len == 0) {
        return ngx_http_kvmq_send_errorf(r, KVMQ_ERR_NOTFOUND,
                                         "no such route");
    }

    if (r->method != NGX_HTTP_POST) {
        return ngx_http_kvmq_send_method(r, "POST");
    }

    if (op == NGX_HTTP_KVMQ_OP_APPEND || op == NGX_HTTP_KVMQ_OP_PREPEND) {
        if (op == NGX_HTTP_KVMQ_OP_APPEND) {
            ngx_str_set(&ctx->command, "APPEND");

        } else {
            ngx_str_set(&ctx->command, "PREPEND");
        }

        return ngx_http_kvmq_kv_read_body(r, ngx_http_kvmq_kv_append_body);
    }

    return ngx_http_kvmq_kv_incr(r, ctx, op);
}


/*
 * Read the body, refusing early (from Content-Length) what would be over
 * kvmq_max_value anyway; chunked bodies are checked once read.
 */

static ngx_int_t
ngx_http_kvmq_kv_read_body(ngx_http_request_t *r,
    ngx_http_client_body_handler_pt handler)
{
    ngx_int_t                  rc;
    ngx_http_kvmq_loc_conf_t  *klcf;

    klcf = ngx_http_get_module_loc_conf(r, ngx_http_kvmq_module);

    if (r->headers_in.content_length_n > (off_t) klcf->max_value) {
        return ngx_http_kvmq_send_errorf(r, KVMQ_ERR_TOOLARGE,
                                         "value of %O bytes is over "
                                         "kvmq_max_value (%uz)",
                                         r->headers_in.content_length_n,
                                         klcf->max_value);
    }

    rc = ngx_http_read_client_request_body(r, handler);

    if (rc >= NGX_HTTP_SPECIAL_RESPONSE) {
        return rc;
    }

    return NGX_DONE;
}


/* run one command; NGX_OK with *v, or an HTTP status */

static ngx_int_t
ngx_http_kvmq_kv_single(ngx_http_request_t *r, ngx_http_kvmq_builder_t *b,
    kvmq_slice_t *argv, int argc, ngx_http_kvmq_val_t **v,
    const kvmq_slice_t *ctype)
{
    ngx_http_kvmq_argv_t  cmd;

    cmd.argv = argv;
    cmd.argc = argc;

    ngx_http_kvmq_builder_init(b, r->pool);

    if (ngx_http_kvmq_exec(r, b, &cmd, 1, v, ctype) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_kvmq_kv_get(ngx_http_request_t *r, ngx_http_kvmq_ctx_t *ctx)
{
    u_char                   *p;
    ngx_int_t                 rc;
    ngx_str_t                 value;
    ngx_buf_t                *b;
    kvmq_slice_t              argv[2];
    ngx_chain_t               out;
    ngx_http_kvmq_val_t      *v;
    ngx_http_kvmq_builder_t   builder;

    ngx_str_set(&ctx->command, "GET");

    ngx_http_kvmq_slice_set(&argv[0], "GET");
    ngx_http_kvmq_slice_str(&argv[1], &ctx->key);

    rc = ngx_http_kvmq_kv_single(r, &builder, argv, 2, &v, NULL);

    if (rc != NGX_OK) {
        return rc;
    }

    if (v == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (v->type == NGX_HTTP_KVMQ_NIL) {
        return ngx_http_kvmq_send_errorf(r, KVMQ_ERR_NOTFOUND,
                                         "no such key");
    }

    if (v->type != NGX_HTTP_KVMQ_BULK) {
        return ngx_http_kvmq_send_val(r, v);
    }

    if (builder.has_meta) {
        p = ngx_pnalloc(r->pool, NGX_INT64_LEN + 2 + NGX_INT64_LEN);
        if (p == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        value.data = p;
        value.len = ngx_sprintf(p, "\"%uL\"", builder.meta.cas) - p;

        if (ngx_http_kvmq_add_header(r, "ETag", 4, &value,
                                    &r->headers_out.etag)
            != NGX_OK)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        value.data = p + value.len;
        value.len = ngx_sprintf(value.data, "%L", builder.meta.pttl)
                    - value.data;

        if (ngx_http_kvmq_add_header(r, "X-Kvmq-TTL", 10, &value, NULL)
            != NGX_OK)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
    }

    if (builder.has_meta && builder.meta.ctype.len) {
        r->headers_out.content_type.data = (u_char *) builder.meta.ctype.data;
        r->headers_out.content_type.len = builder.meta.ctype.len;

    } else {
        ngx_str_set(&r->headers_out.content_type, "application/octet-stream");
    }

    r->headers_out.content_type_len = r->headers_out.content_type.len;

    b = ngx_calloc_buf(r->pool);
    if (b == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (v->str.len) {
        b->pos = v->str.data;
        b->last = v->str.data + v->str.len;
        b->memory = 1;
    }

    b->last_buf = (r == r->main) ? 1 : 0;
    b->last_in_chain = 1;

    out.buf = b;
    out.next = NULL;

    return ngx_http_kvmq_send(r, NGX_HTTP_OK, &out);
}


/* If-Match: "<cas>" as a number, or -1 when it is not one */

static int64_t
ngx_http_kvmq_kv_etag(ngx_str_t *s)
{
    if (s->len < 3 || s->data[0] != '"' || s->data[s->len - 1] != '"'
        || s->len > NGX_INT64_LEN + 2)
    {
        return -1;
    }

    return ngx_atoof(s->data + 1, s->len - 2);
}


static void
ngx_http_kvmq_kv_put_body(ngx_http_request_t *r)
{
    ngx_http_kvmq_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_kvmq_module);

    ngx_http_finalize_request(r, ngx_http_kvmq_kv_put(r, ctx));
}


static ngx_int_t
ngx_http_kvmq_kv_put(ngx_http_request_t *r, ngx_http_kvmq_ctx_t *ctx)
{
    int                        argc;
    u_char                    *p;
    int64_t                    cas;
    ngx_int_t                  rc, keepttl;
    ngx_str_t                  ex, px, ttl, value, *im, *inm;
    kvmq_slice_t               argv[7], ctype, *ctp;
    ngx_http_kvmq_val_t       *v;
    ngx_http_kvmq_builder_t    builder;
    ngx_http_kvmq_loc_conf_t  *klcf;

    klcf = ngx_http_get_module_loc_conf(r, ngx_http_kvmq_module);

    if (ngx_http_kvmq_body(r, &ctx->body) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ctx->body.len > klcf->max_value) {
        return ngx_http_kvmq_send_errorf(r, KVMQ_ERR_TOOLARGE,
                                         "value of %uz bytes is over "
                                         "kvmq_max_value (%uz)",
                                         ctx->body.len, klcf->max_value);
    }

    rc = ngx_http_kvmq_kv_number(r, "ex", &ex, NULL);
    if (rc != NGX_OK) {
        return ngx_http_kvmq_kv_bad_number(r, rc, "ex");
    }

    rc = ngx_http_kvmq_kv_number(r, "px", &px, NULL);
    if (rc != NGX_OK) {
        return ngx_http_kvmq_kv_bad_number(r, rc, "px");
    }

    keepttl = (r->args.len && ngx_http_kvmq_arg(r, "keepttl", &ttl)
                              == NGX_OK);

    if ((ex.len && px.len) || (keepttl && (ex.len || px.len))) {
        return ngx_http_kvmq_send_errorf(r, KVMQ_ERR_BADREQ,
                                         "use only one of ex, px and "
                                         "keepttl");
    }

    im = r->headers_in.if_match ? &r->headers_in.if_match->value : NULL;
    inm = r->headers_in.if_none_match
          ? &r->headers_in.if_none_match->value : NULL;

    if (inm && !(inm->len == 1 && inm->data[0] == '*')) {
        return ngx_http_kvmq_send_errorf(r, KVMQ_ERR_BADREQ,
                                         "PUT takes only If-None-Match: *");
    }

    ctp = NULL;

    if (r->headers_in.content_type) {
        if (r->headers_in.content_type->value.len > NGX_HTTP_KVMQ_MAX_CTYPE) {
            return ngx_http_kvmq_send_errorf(r, KVMQ_ERR_BADREQ,
                                             "Content-Type is too long");
        }

        ngx_http_kvmq_slice_str(&ctype, &r->headers_in.content_type->value);
        ctp = &ctype;
    }

    ngx_http_kvmq_slice_str(&argv[1], &ctx->key);
    ngx_http_kvmq_slice_str(&argv[2], &ctx->body);

    cas = -1;

    if (im && !(im->len == 1 && im->data[0] == '*')) {

        /* If-Match: "<cas>" is CAS key value cas [EX s|PX ms] */

        cas = ngx_http_kvmq_kv_etag(im);

        if (cas < 0) {
            return ngx_http_kvmq_send_errorf(r, KVMQ_ERR_BADREQ,
                                             "If-Match takes one ETag "
                                             "(\"<cas>\") or *");
        }

        if (inm || keepttl) {
            return ngx_http_kvmq_send_errorf(r, KVMQ_ERR_BADREQ,
                                             "If-Match with an ETag takes "
                                             "no If-None-Match or keepttl");
        }

        ngx_str_set(&ctx->command, "CAS");
        ngx_http_kvmq_slice_set(&argv[0], "CAS");

        argv[3].data = im->data + 1;
        argv[3].len = im->len - 2;
        argc = 4;

    } else {
        ngx_http_kvmq_slice_set(&argv[0], "SET");
        argc = 3;

        if (keepttl) {
            ngx_http_kvmq_slice_set(&argv[argc], "KEEPTTL");
            argc++;
        }

        if (im) {
            ngx_http_kvmq_slice_set(&argv[argc], "XX");
            argc++;
        }

        if (inm) {
            ngx_http_kvmq_slice_set(&argv[argc], "NX");
            argc++;
        }
    }

    if (ex.len) {
        ngx_http_kvmq_slice_set(&argv[argc], "EX");
        ngx_http_kvmq_slice_str(&argv[argc + 1], &ex);
        argc += 2;

    } else if (px.len) {
        ngx_http_kvmq_slice_set(&argv[argc], "PX");
        ngx_http_kvmq_slice_str(&argv[argc + 1], &px);
        argc += 2;
    }

    rc = ngx_http_kvmq_kv_single(r, &builder, argv, argc, &v, ctp);

    if (rc != NGX_OK) {
        return rc;
    }

    if (v == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (v->type == NGX_HTTP_KVMQ_ERROR) {
        return ngx_http_kvmq_send_val(r, v);
    }

    if (v->type == NGX_HTTP_KVMQ_NIL
        || (v->type == NGX_HTTP_KVMQ_INT && v->integer == 0))
    {
        return ngx_http_kvmq_send_errorf(r, KVMQ_ERR_PRECONDITION,
                   (cas >= 0) ? (v->type == NGX_HTTP_KVMQ_NIL
                                 ? "no such key" : "the ETag does not match")
                   : inm ? "the key exists" : "no such key");
    }

    if (builder.has_meta) {
        p = ngx_pnalloc(r->pool, NGX_INT64_LEN + 2);
        if (p == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        value.data = p;
        value.len = ngx_sprintf(p, "\"%uL\"", builder.meta.cas) - p;

        if (ngx_http_kvmq_add_header(r, "ETag", 4, &value,
                                    &r->headers_out.etag)
            != NGX_OK)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
    }

    v->type = NGX_HTTP_KVMQ_STATUS;
    ngx_str_set(&v->str, "OK");

    /*
     * The If-Match of this request named the value it replaced, not the
     * one the response's ETag names: nginx must not re-check it.
     */
    r->disable_not_modified = 1;

    return ngx_http_kvmq_send_json(r, (builder.has_meta
                                       && !builder.meta.existed)
                                      ? NGX_HTTP_CREATED : NGX_HTTP_OK, v);
}


static ngx_int_t
ngx_http_kvmq_kv_delete(ngx_http_request_t *r, ngx_http_kvmq_ctx_t *ctx)
{
    ngx_int_t                 rc;
    kvmq_slice_t              argv[2];
    ngx_http_kvmq_val_t      *v;
    ngx_http_kvmq_builder_t   builder;

    ngx_str_set(&ctx->command, "DEL");

    ngx_http_kvmq_slice_set(&argv[0], "DEL");
    ngx_http_kvmq_slice_str(&argv[1], &ctx->key);

    rc = ngx_http_kvmq_kv_single(r, &builder, argv, 2, &v, NULL);

    if (rc != NGX_OK) {
        return rc;
    }

    return ngx_http_kvmq_kv_result(r, "deleted", v);
}


static ngx_int_t
ngx_http_kvmq_kv_incr(ngx_http_request_t *r, ngx_http_kvmq_ctx_t *ctx,
    ngx_uint_t op)
{
    ngx_int_t                 rc;
    ngx_str_t                 by;
    kvmq_slice_t              argv[3];
    ngx_http_kvmq_val_t      *v;
    ngx_http_kvmq_builder_t   builder;

    if (op == NGX_HTTP_KVMQ_OP_INCRBYFLOAT) {
        if (!r->args.len || ngx_http_kvmq_arg(r, "by", &by) != NGX_OK) {
            ngx_str_set(&by, "1");
        }

        if (by.len == 0) {
            return ngx_http_kvmq_send_errorf(r, KVMQ_ERR_BADREQ,
                                             "by must be a number");
        }

        ngx_str_set(&ctx->command, "INCRBYFLOAT");
        ngx_http_kvmq_slice_set(&argv[0], "INCRBYFLOAT");

    } else {
        rc = ngx_http_kvmq_kv_number(r, "by", &by, "1");
        if (rc != NGX_OK) {
            return ngx_http_kvmq_kv_bad_number(r, rc, "by");
        }

        if (op == NGX_HTTP_KVMQ_OP_INCR) {
            ngx_str_set(&ctx->command, "INCRBY");
            ngx_http_kvmq_slice_set(&argv[0], "INCRBY");

        } else {
            ngx_str_set(&ctx->command, "DECRBY");
            ngx_http_kvmq_slice_set(&argv[0], "DECRBY");
        }
    }

    ngx_http_kvmq_slice_str(&argv[1], &ctx->key);
    ngx_http_kvmq_slice_str(&argv[2], &by);

    rc = ngx_http_kvmq_kv_single(r, &builder, argv, 3, &v, NULL);

    if (rc != NGX_OK) {
        return rc;
    }

    return ngx_http_kvmq_kv_result(r, "value", v);
}


static void
ngx_http_kvmq_kv_append_body(ngx_http_request_t *r)
{
    ngx_http_kvmq_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_kvmq_module);

    ngx_http_finalize_request(r, ngx_http_kvmq_kv_append(r, ctx));
}


static ngx_int_t
ngx_http_kvmq_kv_append(ngx_http_request_t *r, ngx_http_kvmq_ctx_t *ctx)
{
    ngx_int_t                  rc;
    kvmq_slice_t               argv[3];
    ngx_http_kvmq_val_t       *v;
    ngx_http_kvmq_builder_t    builder;
    ngx_http_kvmq_loc_conf_t  *klcf;

    klcf = ngx_http_get_module_loc_conf(r, ngx_http_kvmq_module);

    if (ngx_http_kvmq_body(r, &ctx->body) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ctx->body.len > klcf->max_value) {
        return ngx_http_kvmq_send_errorf(r, KVMQ_ERR_TOOLARGE,
                                         "value of %uz bytes is over "
                                         "kvmq_max_value (%uz)",
                                         ctx->body.len, klcf->max_value);
    }

    ngx_http_kvmq_slice_str(&argv[0], &ctx->command);
    ngx_http_kvmq_slice_str(&argv[1], &ctx->key);
    ngx_http_kvmq_slice_str(&argv[2], &ctx->body);

    rc = ngx_http_kvmq_kv_single(r, &builder, argv, 3, &v, NULL);

    if (rc != NGX_OK) {
        return rc;
    }

    return ngx_http_kvmq_kv_result(r, "length", v);
}


/*
 * {"name": N} for a reply that is a number: an integer, or a bulk that
 * holds one (INCRBYFLOAT's decimal text, written as the number itself).
 */

static ngx_int_t
ngx_http_kvmq_kv_result(ngx_http_request_t *r, const char *name,
    ngx_http_kvmq_val_t *v)
{
    ngx_int_t              rc;
    ngx_chain_t           *out;
    ngx_http_kvmq_json_t  *j;

    if (v == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (v->type == NGX_HTTP_KVMQ_ERROR) {
        return ngx_http_kvmq_send_val(r, v);
    }

    j = ngx_http_kvmq_json_create(r, 0);
    if (j == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ngx_http_kvmq_json_open(j, 1) != NGX_OK
        || ngx_http_kvmq_json_string(j, (u_char *) name, ngx_strlen(name))
           != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (v->type == NGX_HTTP_KVMQ_BULK
        && ngx_http_kvmq_is_json_number(v->str.data, v->str.len))
    {
        rc = ngx_http_kvmq_json_number(j, v->str.data, v->str.len);

    } else {
        rc = ngx_http_kvmq_json_val(j, v);
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


/*
 * An integer query argument: NGX_OK with value (dflt when absent; empty
 * when absent without dflt), NGX_DECLINED when it is not an integer,
 * NGX_ERROR on no memory.
 */

static ngx_int_t
ngx_http_kvmq_kv_number(ngx_http_request_t *r, const char *name,
    ngx_str_t *value, const char *dflt)
{
    ngx_int_t  rc;

    rc = r->args.len ? ngx_http_kvmq_arg(r, name, value) : NGX_DECLINED;

    if (rc == NGX_ERROR) {
        return NGX_ERROR;
    }

    if (rc == NGX_DECLINED) {
        value->data = (u_char *) dflt;
        value->len = dflt ? ngx_strlen(dflt) : 0;
        return NGX_OK;
    }

    if (!ngx_http_kvmq_is_int(value->data, value->len)) {
        return NGX_DECLINED;
    }

    return NGX_OK;
}


/* the HTTP answer to a failed ngx_http_kvmq_kv_number() */

static ngx_int_t
ngx_http_kvmq_kv_bad_number(ngx_http_request_t *r, ngx_int_t rc,
    const char *name)
{
    if (rc == NGX_ERROR) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_kvmq_send_errorf(r, KVMQ_ERR_BADREQ,
                                     "%s must be an integer", name);
}


static ngx_int_t
ngx_http_kvmq_kv_scan(ngx_http_request_t *r, ngx_http_kvmq_ctx_t *ctx)
{
    int                       argc;
    ngx_int_t                 rc;
    ngx_str_t                 cursor, count, match, type;
    ngx_chain_t              *out;
    kvmq_slice_t              argv[8];
    ngx_http_kvmq_val_t      *v, *e;
    ngx_http_kvmq_json_t     *j;
    ngx_http_kvmq_builder_t   builder;

    ngx_str_set(&ctx->command, "SCAN");

    rc = ngx_http_kvmq_kv_number(r, "cursor", &cursor, "0");

    if (rc == NGX_DECLINED && ngx_http_kvmq_is_uint(cursor.data, cursor.len))
    {
        /* cursors are unsigned 64-bit: past the signed range is fine */
        rc = NGX_OK;
    }

    if (rc != NGX_OK) {
        return ngx_http_kvmq_kv_bad_number(r, rc, "cursor");
    }

    rc = ngx_http_kvmq_kv_number(r, "count", &count, NULL);
    if (rc != NGX_OK) {
        return ngx_http_kvmq_kv_bad_number(r, rc, "count");
    }

    ngx_http_kvmq_slice_set(&argv[0], "SCAN");
    ngx_http_kvmq_slice_str(&argv[1], &cursor);
    argc = 2;

    if (r->args.len && ngx_http_kvmq_arg(r, "match", &match) == NGX_OK) {
        ngx_http_kvmq_slice_set(&argv[argc], "MATCH");
        ngx_http_kvmq_slice_str(&argv[argc + 1], &match);
        argc += 2;
    }

    if (count.len) {
        ngx_http_kvmq_slice_set(&argv[argc], "COUNT");
        ngx_http_kvmq_slice_str(&argv[argc + 1], &count);
        argc += 2;
    }

    if (r->args.len && ngx_http_kvmq_arg(r, "type", &type) == NGX_OK) {
        ngx_http_kvmq_slice_set(&argv[argc], "TYPE");
        ngx_http_kvmq_slice_str(&argv[argc + 1], &type);
        argc += 2;
    }

    rc = ngx_http_kvmq_kv_single(r, &builder, argv, argc, &v, NULL);

    if (rc != NGX_OK) {
        return rc;
    }

    if (v == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (v->type != NGX_HTTP_KVMQ_ARRAY || v->nelts != 2
        || v->child->type != NGX_HTTP_KVMQ_BULK
        || v->child->next->type != NGX_HTTP_KVMQ_ARRAY)
    {
        /* an error, or a reply of a shape SCAN does not give */
        return ngx_http_kvmq_send_val(r, v);
    }

    j = ngx_http_kvmq_json_create(r, ctx->base64);
    if (j == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ngx_http_kvmq_json_open(j, 1) != NGX_OK
        || ngx_http_kvmq_json_string(j, (u_char *) "cursor", 6) != NGX_OK
        || ngx_http_kvmq_json_string(j, v->child->str.data,
                                     v->child->str.len) != NGX_OK
        || ngx_http_kvmq_json_string(j, (u_char *) "keys", 4) != NGX_OK
        || ngx_http_kvmq_json_open(j, 0) != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    for (e = v->child->next->child; e; e = e->next) {
        if (ngx_http_kvmq_json_val(j, e) != NGX_OK) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
    }

    if (ngx_http_kvmq_json_close(j, 0) != NGX_OK
        || ngx_http_kvmq_json_close(j, 1) != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    out = ngx_http_kvmq_json_finish(j);
    if (out == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_kvmq_send(r, NGX_HTTP_OK, out);
}
