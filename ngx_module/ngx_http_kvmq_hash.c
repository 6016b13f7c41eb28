
/*
 * The /hash REST routes (API.md "Hash"), each one engine command:
 *
 *   GET|HEAD /hash/{key}               HGETALL key        the object
 *   PUT /hash/{key}                    HSET key f v ...   {"added": N}
 *                                      (body: a JSON object)
 *   GET|HEAD /hash/{key}/{field}       HGET key field     the value
 *   PUT /hash/{key}/{field}            HSET key field body
 *                                      (If-None-Match: *: HSETNX)
 *                                      201/200 {"added": 1|0}
 *   DELETE /hash/{key}/{field}         HDEL key field     {"removed": N}
 *   POST /hash/{key}/{field}/incr      HINCRBY key field by
 *   POST .../{field}/incrbyfloat       HINCRBYFLOAT key field by
 *                                      {"value": N}
 *
 * Replies are JSON (API.md conventions): a field's value is a JSON string
 * ({"base64": ...} when it is not UTF-8), not raw bytes as GET /kv/{key}
 * gives; a request body for one field is the raw value, as for PUT /kv.
 * An absent hash reads as {}, as in Redis, where a key never holds an
 * empty hash, so "absent" and "empty" are one state; an absent field is
 * 404.  incr/incrbyfloat mirror /kv: ?by= defaults to 1, incr takes only
 * integers.
 */


#include "ngx_http_kvmq_types.h"


static ngx_int_t ngx_http_kvmq_hash_getall(ngx_http_request_t *r,
    ngx_http_kvmq_ctx_t *ctx);
static void ngx_http_kvmq_hash_mset_body(ngx_http_request_t *r);
static ngx_int_t ngx_http_kvmq_hash_mset(ngx_http_request_t *r,
    ngx_http_kvmq_ctx_t *ctx);
static ngx_int_t ngx_http_kvmq_hash_get(ngx_http_request_t *r,
    ngx_http_kvmq_ctx_t *ctx);
static void ngx_http_kvmq_hash_put_body(ngx_http_request_t *r);
static ngx_int_t ngx_http_kvmq_hash_put(ngx_http_request_t *r,
    ngx_http_kvmq_ctx_t *ctx);
static ngx_int_t ngx_http_kvmq_hash_delete(ngx_http_request_t *r,
    ngx_http_kvmq_ctx_t *ctx);
static ngx_int_t ngx_http_kvmq_hash_incr(ngx_http_request_t *r,
    ngx_http_kvmq_ctx_t *ctx, ngx_uint_t flt);


ngx_int_t
ngx_http_kvmq_hash(ngx_http_request_t *r, ngx_http_kvmq_ctx_t *ctx)
{
    ngx_uint_t                 n;
    ngx_http_kvmq_loc_conf_t  *klcf;

    klcf = ngx_http_get_module_loc_conf(r, ngx_http_kvmq_module);

    n = ngx_http_kvmq_type_segments(ctx);

    if (n > 4) {
        return ngx_http_kvmq_type_no_route(r);
    }

    if (ctx->key.len > klcf->max_key) {
        return ngx_http_kvmq_type_long_key(r, ctx);
    }

    if (n == 2) {
        switch (r->method) {

        case NGX_HTTP_GET:
        case NGX_HTTP_HEAD:
            return ngx_http_kvmq_hash_getall(r, ctx);

        case NGX_HTTP_PUT:
            ngx_str_set(&ctx->command, "HSET");
            return ngx_http_kvmq_type_read_body(r,
                                             ngx_http_kvmq_hash_mset_body);

        default:
            return ngx_http_kvmq_send_method(r, "GET, HEAD, PUT");
        }
    }

    if (n == 3) {
        switch (r->method) {

        case NGX_HTTP_GET:
        case NGX_HTTP_HEAD:
            return ngx_http_kvmq_hash_get(r, ctx);

        case NGX_HTTP_PUT:
            ngx_str_set(&ctx->command, "HSET");
            return ngx_http_kvmq_type_read_body(r,
                                             ngx_http_kvmq_hash_put_body);

        case NGX_HTTP_DELETE:
            return ngx_http_kvmq_hash_delete(r, ctx);

        default:
            return ngx_http_kvmq_send_method(r, "GET, HEAD, PUT, DELETE");
        }
    }

    /* n == 4: POST /hash/{key}/{field}/incr|incrbyfloat */

    if (ctx->seg[3].len == 4
        && ngx_strncmp(ctx->seg[3].data, "incr", 4) == 0)
    {
        if (r->method != NGX_HTTP_POST) {
            return ngx_http_kvmq_send_method(r, "POST");
        }

        return ngx_http_kvmq_hash_incr(r, ctx, 0);
    }

    if (ctx->seg[3].len == 11
        && ngx_strncmp(ctx->seg[3].data, "incrbyfloat", 11) == 0)
    {
        if (r->method != NGX_HTTP_POST) {
            return ngx_http_kvmq_send_method(r, "POST");
        }

        return ngx_http_kvmq_hash_incr(r, ctx, 1);
    }

    return ngx_http_kvmq_type_no_route(r);
}


static ngx_int_t
ngx_http_kvmq_hash_getall(ngx_http_request_t *r, ngx_http_kvmq_ctx_t *ctx)
{
    kvmq_slice_t          argv[2];
    ngx_http_kvmq_val_t  *v;

    ngx_str_set(&ctx->command, "HGETALL");

    ngx_http_kvmq_sl_lit(&argv[0], "HGETALL");
    ngx_http_kvmq_sl_str(&argv[1], &ctx->key);

    v = ngx_http_kvmq_type_run(r, argv, 2);
    if (v == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_kvmq_send_val(r, v);
}


static void
ngx_http_kvmq_hash_mset_body(ngx_http_request_t *r)
{
    ngx_http_finalize_request(r, ngx_http_kvmq_type_with_body(r,
                                     ngx_http_kvmq_hash_mset));
}


static ngx_int_t
ngx_http_kvmq_hash_mset(ngx_http_request_t *r, ngx_http_kvmq_ctx_t *ctx)
{
    ngx_int_t             rc;
    ngx_str_t             err;
    ngx_array_t           args;
    kvmq_slice_t         *argv;
    ngx_http_kvmq_val_t  *v;

    if (ngx_array_init(&args, r->pool, 16, sizeof(kvmq_slice_t)) != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    argv = ngx_array_push_n(&args, 2);
    if (argv == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_http_kvmq_sl_lit(&argv[0], "HSET");
    ngx_http_kvmq_sl_str(&argv[1], &ctx->key);

    rc = ngx_http_kvmq_type_parse(r, &ctx->body, 1, &args, &err);

    if (rc == NGX_ERROR) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (rc == NGX_DECLINED) {
        return ngx_http_kvmq_send_error(r, KVMQ_ERR_BADREQ, err.data,
                                        err.len);
    }

    v = ngx_http_kvmq_type_run(r, args.elts, (int) args.nelts);

    return ngx_http_kvmq_type_object(r, NGX_HTTP_OK, "added", v, NULL, NULL);
}


static ngx_int_t
ngx_http_kvmq_hash_get(ngx_http_request_t *r, ngx_http_kvmq_ctx_t *ctx)
{
    kvmq_slice_t          argv[3];
    ngx_http_kvmq_val_t  *v;

    ngx_str_set(&ctx->command, "HGET");

    ngx_http_kvmq_sl_lit(&argv[0], "HGET");
    ngx_http_kvmq_sl_str(&argv[1], &ctx->key);
    ngx_http_kvmq_sl_str(&argv[2], &ctx->seg[2]);

    v = ngx_http_kvmq_type_run(r, argv, 3);
    if (v == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (v->type == NGX_HTTP_KVMQ_NIL) {
        return ngx_http_kvmq_send_errorf(r, KVMQ_ERR_NOTFOUND,
                                         "no such field");
    }

    return ngx_http_kvmq_send_val(r, v);
}


static void
ngx_http_kvmq_hash_put_body(ngx_http_request_t *r)
{
    ngx_http_finalize_request(r, ngx_http_kvmq_type_with_body(r,
                                     ngx_http_kvmq_hash_put));
}


static ngx_int_t
ngx_http_kvmq_hash_put(ngx_http_request_t *r, ngx_http_kvmq_ctx_t *ctx)
{
    ngx_str_t            *inm;
    kvmq_slice_t          argv[4];
    ngx_http_kvmq_val_t  *v;

    /* If-None-Match: * is "only if absent" (HSETNX), as on /kv */

    inm = r->headers_in.if_none_match
          ? &r->headers_in.if_none_match->value : NULL;

    if (inm && !(inm->len == 1 && inm->data[0] == '*')) {
        return ngx_http_kvmq_send_errorf(r, KVMQ_ERR_BADREQ,
                                         "PUT takes only If-None-Match: *");
    }

    if (r->headers_in.if_match) {
        return ngx_http_kvmq_send_errorf(r, KVMQ_ERR_BADREQ,
                                         "a hash field takes no If-Match");
    }

    if (inm) {
        ngx_str_set(&ctx->command, "HSETNX");
        ngx_http_kvmq_sl_lit(&argv[0], "HSETNX");

    } else {
        ngx_http_kvmq_sl_lit(&argv[0], "HSET");
    }

    ngx_http_kvmq_sl_str(&argv[1], &ctx->key);
    ngx_http_kvmq_sl_str(&argv[2], &ctx->seg[2]);
    ngx_http_kvmq_sl_str(&argv[3], &ctx->body);

    v = ngx_http_kvmq_type_run(r, argv, 4);
    if (v == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (v->type == NGX_HTTP_KVMQ_INT && v->integer == 0 && inm) {
        return ngx_http_kvmq_send_errorf(r, KVMQ_ERR_PRECONDITION,
                                         "the field exists");
    }

    return ngx_http_kvmq_type_object(r, (v->type == NGX_HTTP_KVMQ_INT
                                         && v->integer > 0)
                                        ? NGX_HTTP_CREATED : NGX_HTTP_OK,
                                     "added", v, NULL, NULL);
}


static ngx_int_t
ngx_http_kvmq_hash_delete(ngx_http_request_t *r, ngx_http_kvmq_ctx_t *ctx)
{
    kvmq_slice_t          argv[3];
    ngx_http_kvmq_val_t  *v;

    ngx_str_set(&ctx->command, "HDEL");

    ngx_http_kvmq_sl_lit(&argv[0], "HDEL");
    ngx_http_kvmq_sl_str(&argv[1], &ctx->key);
    ngx_http_kvmq_sl_str(&argv[2], &ctx->seg[2]);

    v = ngx_http_kvmq_type_run(r, argv, 3);

    return ngx_http_kvmq_type_object(r, NGX_HTTP_OK, "removed", v, NULL,
                                     NULL);
}


static ngx_int_t
ngx_http_kvmq_hash_incr(ngx_http_request_t *r, ngx_http_kvmq_ctx_t *ctx,
    ngx_uint_t flt)
{
    ngx_int_t             rc;
    ngx_str_t             by;
    kvmq_slice_t          argv[4];
    ngx_http_kvmq_val_t  *v;

    if (flt) {
        /* the engine says what a float is */
        rc = r->args.len ? ngx_http_kvmq_arg(r, "by", &by) : NGX_DECLINED;

        if (rc == NGX_ERROR) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        if (rc == NGX_DECLINED) {
            ngx_str_set(&by, "1");
        }

        ngx_str_set(&ctx->command, "HINCRBYFLOAT");
        ngx_http_kvmq_sl_lit(&argv[0], "HINCRBYFLOAT");

    } else {
        rc = ngx_http_kvmq_type_int_arg(r, "by", &by, "1");
        if (rc != NGX_OK) {
            return ngx_http_kvmq_type_bad_arg(r, rc, "by", "an integer");
        }

        ngx_str_set(&ctx->command, "HINCRBY");
        ngx_http_kvmq_sl_lit(&argv[0], "HINCRBY");
    }

    ngx_http_kvmq_sl_str(&argv[1], &ctx->key);
    ngx_http_kvmq_sl_str(&argv[2], &ctx->seg[2]);
    ngx_http_kvmq_sl_str(&argv[3], &by);

    v = ngx_http_kvmq_type_run(r, argv, 4);

    return ngx_http_kvmq_type_object(r, NGX_HTTP_OK, "value", v, NULL, NULL);
}
