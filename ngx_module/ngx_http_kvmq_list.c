
/*
 * The /list REST routes (API.md "List"), each one engine command:
 *
 *   POST /list/{key}?end=right|left    RPUSH|LPUSH key item...
 *                                      {"length": N}
 *   GET|HEAD /list/{key}?start=&stop=  LRANGE key start stop   the items
 *   GET|HEAD /list/{key}/{index}       LINDEX key index        the item
 *   PUT /list/{key}/{index}            LSET key index body     "OK"
 *   POST /list/{key}/pop?end=left|right&count=N
 *                                      LPOP|RPOP key count     the items
 *
 * A POST body is one item, raw; with Content-Type: application/json it is
 * a JSON array of items (strings or numbers), pushed in one command, so
 * that end=left puts them at the head one after the other, as LPUSH does
 * (the last item ends up first).  end defaults to right for a push and
 * to left for a pop: a list is a FIFO queue unless asked otherwise.
 *
 * A pop always passes its count (default 1), so its reply is an array
 * whatever the count; an absent list (an empty one, since a key never
 * holds an empty list) pops nothing and answers 204.  With ?wait=MS (and
 * a count of at least 1) an empty pop parks the request until a push on
 * any worker serves it, in FIFO order with the key's other waiters
 * (BLPOP's included), or answers 204 when the wait ends
 * (ngx_http_kvmq_block.c).
 *
 * Reading an absent list gives [], as in Redis; LINDEX past either end
 * (or of an absent list) is 404.  Indexes, start, stop and count are
 * integers, negative from the tail as in Redis.
 */


#include "ngx_http_kvmq_types.h"
#include "ngx_http_kvmq_block.h"


static ngx_int_t ngx_http_kvmq_list_end(ngx_http_request_t *r,
    ngx_uint_t *left, ngx_uint_t dflt_left);
static ngx_int_t ngx_http_kvmq_list_range(ngx_http_request_t *r,
    ngx_http_kvmq_ctx_t *ctx);
static void ngx_http_kvmq_list_push_body(ngx_http_request_t *r);
static ngx_int_t ngx_http_kvmq_list_push(ngx_http_request_t *r,
    ngx_http_kvmq_ctx_t *ctx);
static ngx_int_t ngx_http_kvmq_list_index(ngx_http_request_t *r,
    ngx_http_kvmq_ctx_t *ctx);
static void ngx_http_kvmq_list_set_body(ngx_http_request_t *r);
static ngx_int_t ngx_http_kvmq_list_set(ngx_http_request_t *r,
    ngx_http_kvmq_ctx_t *ctx);
static ngx_int_t ngx_http_kvmq_list_pop(ngx_http_request_t *r,
    ngx_http_kvmq_ctx_t *ctx);


ngx_int_t
ngx_http_kvmq_list(ngx_http_request_t *r, ngx_http_kvmq_ctx_t *ctx)
{
    ngx_int_t                  rc;
    ngx_uint_t                 n, left;
    ngx_http_kvmq_loc_conf_t  *klcf;

    klcf = ngx_http_get_module_loc_conf(r, ngx_http_kvmq_module);

    n = ngx_http_kvmq_type_segments(ctx);

    if (n > 3) {
        return ngx_http_kvmq_type_no_route(r);
    }

    if (ctx->key.len > klcf->max_key) {
        return ngx_http_kvmq_type_long_key(r, ctx);
    }

    if (n == 2) {
        switch (r->method) {

        case NGX_HTTP_GET:
        case NGX_HTTP_HEAD:
            return ngx_http_kvmq_list_range(r, ctx);

        case NGX_HTTP_POST:
            /* a bad ?end= is answered before the body is read */
            rc = ngx_http_kvmq_list_end(r, &left, 0);
            if (rc != NGX_OK) {
                return ngx_http_kvmq_type_bad_arg(r, rc, "end",
                                                  "left or right");
            }

            if (left) {
                ngx_str_set(&ctx->command, "LPUSH");

            } else {
                ngx_str_set(&ctx->command, "RPUSH");
            }

            return ngx_http_kvmq_type_read_body(r,
                                             ngx_http_kvmq_list_push_body);

        default:
            return ngx_http_kvmq_send_method(r, "GET, HEAD, POST");
        }
    }

    if (ctx->seg[2].len == 3 && ngx_strncmp(ctx->seg[2].data, "pop", 3) == 0)
    {
        if (r->method != NGX_HTTP_POST) {
            return ngx_http_kvmq_send_method(r, "POST");
        }

        return ngx_http_kvmq_list_pop(r, ctx);
    }

    switch (r->method) {

    case NGX_HTTP_GET:
    case NGX_HTTP_HEAD:
        return ngx_http_kvmq_list_index(r, ctx);

    case NGX_HTTP_PUT:
        if (!ngx_http_kvmq_is_int(ctx->seg[2].data, ctx->seg[2].len)) {
            return ngx_http_kvmq_send_errorf(r, KVMQ_ERR_BADREQ,
                                             "index must be an integer");
        }

        ngx_str_set(&ctx->command, "LSET");
        return ngx_http_kvmq_type_read_body(r, ngx_http_kvmq_list_set_body);

    default:
        return ngx_http_kvmq_send_method(r, "GET, HEAD, PUT");
    }
}


/* ?end=left|right: NGX_OK with *left, NGX_DECLINED, NGX_ERROR */

static ngx_int_t
ngx_http_kvmq_list_end(ngx_http_request_t *r, ngx_uint_t *left,
    ngx_uint_t dflt_left)
{
    ngx_int_t  rc;
    ngx_str_t  end;

    *left = dflt_left;

    rc = r->args.len ? ngx_http_kvmq_arg(r, "end", &end) : NGX_DECLINED;

    if (rc == NGX_ERROR) {
        return NGX_ERROR;
    }

    if (rc == NGX_DECLINED) {
        return NGX_OK;
    }

    if (end.len == 4 && ngx_strncmp(end.data, "left", 4) == 0) {
        *left = 1;
        return NGX_OK;
    }

    if (end.len == 5 && ngx_strncmp(end.data, "right", 5) == 0) {
        *left = 0;
        return NGX_OK;
    }

    return NGX_DECLINED;
}


static ngx_int_t
ngx_http_kvmq_list_range(ngx_http_request_t *r, ngx_http_kvmq_ctx_t *ctx)
{
    ngx_int_t             rc;
    ngx_str_t             start, stop;
    kvmq_slice_t          argv[4];
    ngx_http_kvmq_val_t  *v;

    ngx_str_set(&ctx->command, "LRANGE");

    rc = ngx_http_kvmq_type_int_arg(r, "start", &start, "0");
    if (rc != NGX_OK) {
        return ngx_http_kvmq_type_bad_arg(r, rc, "start", "an integer");
    }

    rc = ngx_http_kvmq_type_int_arg(r, "stop", &stop, "-1");
    if (rc != NGX_OK) {
        return ngx_http_kvmq_type_bad_arg(r, rc, "stop", "an integer");
    }

    ngx_http_kvmq_sl_lit(&argv[0], "LRANGE");
    ngx_http_kvmq_sl_str(&argv[1], &ctx->key);
    ngx_http_kvmq_sl_str(&argv[2], &start);
    ngx_http_kvmq_sl_str(&argv[3], &stop);

    v = ngx_http_kvmq_type_run(r, argv, 4);
    if (v == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_kvmq_send_val(r, v);
}


static void
ngx_http_kvmq_list_push_body(ngx_http_request_t *r)
{
    ngx_http_finalize_request(r, ngx_http_kvmq_type_with_body(r,
                                     ngx_http_kvmq_list_push));
}


static ngx_int_t
ngx_http_kvmq_list_push(ngx_http_request_t *r, ngx_http_kvmq_ctx_t *ctx)
{
    ngx_int_t             rc;
    ngx_str_t             err;
    ngx_array_t           args;
    kvmq_slice_t         *argv;
    ngx_http_kvmq_val_t  *v;

    if (ngx_array_init(&args, r->pool, 8, sizeof(kvmq_slice_t)) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    argv = ngx_array_push_n(&args, 2);
    if (argv == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    /* ctx->command is LPUSH or RPUSH, a literal */
    ngx_http_kvmq_sl_str(&argv[0], &ctx->command);
    ngx_http_kvmq_sl_str(&argv[1], &ctx->key);

    if (ngx_http_kvmq_type_is_json(r)) {
        rc = ngx_http_kvmq_type_parse(r, &ctx->body, 0, &args, &err);

        if (rc == NGX_ERROR) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        if (rc == NGX_DECLINED) {
            return ngx_http_kvmq_send_error(r, KVMQ_ERR_BADREQ, err.data,
                                            err.len);
        }

    } else {
        argv = ngx_array_push(&args);
        if (argv == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        ngx_http_kvmq_sl_str(argv, &ctx->body);
    }

    v = ngx_http_kvmq_type_run(r, args.elts, (int) args.nelts);

    return ngx_http_kvmq_type_object(r, NGX_HTTP_OK, "length", v, NULL,
                                     NULL);
}


static ngx_int_t
ngx_http_kvmq_list_index(ngx_http_request_t *r, ngx_http_kvmq_ctx_t *ctx)
{
    kvmq_slice_t          argv[3];
    ngx_http_kvmq_val_t  *v;

    ngx_str_set(&ctx->command, "LINDEX");

    if (!ngx_http_kvmq_is_int(ctx->seg[2].data, ctx->seg[2].len)) {
        return ngx_http_kvmq_send_errorf(r, KVMQ_ERR_BADREQ,
                                         "index must be an integer");
    }

    ngx_http_kvmq_sl_lit(&argv[0], "LINDEX");
    ngx_http_kvmq_sl_str(&argv[1], &ctx->key);
    ngx_http_kvmq_sl_str(&argv[2], &ctx->seg[2]);

    v = ngx_http_kvmq_type_run(r, argv, 3);
    if (v == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (v->type == NGX_HTTP_KVMQ_NIL) {
        return ngx_http_kvmq_send_errorf(r, KVMQ_ERR_NOTFOUND,
                                         "no such index");
    }

    return ngx_http_kvmq_send_val(r, v);
}


static void
ngx_http_kvmq_list_set_body(ngx_http_request_t *r)
{
    ngx_http_finalize_request(r, ngx_http_kvmq_type_with_body(r,
                                     ngx_http_kvmq_list_set));
}


static ngx_int_t
ngx_http_kvmq_list_set(ngx_http_request_t *r, ngx_http_kvmq_ctx_t *ctx)
{
    kvmq_slice_t          argv[4];
    ngx_http_kvmq_val_t  *v;

    ngx_http_kvmq_sl_lit(&argv[0], "LSET");
    ngx_http_kvmq_sl_str(&argv[1], &ctx->key);
    ngx_http_kvmq_sl_str(&argv[2], &ctx->seg[2]);
    ngx_http_kvmq_sl_str(&argv[3], &ctx->body);

    v = ngx_http_kvmq_type_run(r, argv, 4);
    if (v == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_kvmq_send_val(r, v);
}


static ngx_int_t
ngx_http_kvmq_list_pop(ngx_http_request_t *r, ngx_http_kvmq_ctx_t *ctx)
{
    ngx_int_t             rc, n, ms;
    ngx_str_t             count, wait;
    ngx_uint_t            left;
    kvmq_slice_t          argv[3];
    ngx_http_kvmq_val_t  *v;

    rc = ngx_http_kvmq_list_end(r, &left, 1);
    if (rc != NGX_OK) {
        return ngx_http_kvmq_type_bad_arg(r, rc, "end", "left or right");
    }

    rc = ngx_http_kvmq_type_int_arg(r, "count", &count, "1");
    if (rc != NGX_OK) {
        return ngx_http_kvmq_type_bad_arg(r, rc, "count", "an integer");
    }

    rc = ngx_http_kvmq_type_int_arg(r, "wait", &wait, NULL);

    if (rc == NGX_OK && wait.len && wait.data[0] == '-') {
        rc = NGX_DECLINED;
    }

    if (rc != NGX_OK) {
        return ngx_http_kvmq_type_bad_arg(r, rc, "wait",
                                          "a number of milliseconds");
    }

    if (left) {
        ngx_str_set(&ctx->command, "LPOP");
        ngx_http_kvmq_sl_lit(&argv[0], "LPOP");

    } else {
        ngx_str_set(&ctx->command, "RPOP");
        ngx_http_kvmq_sl_lit(&argv[0], "RPOP");
    }

    ngx_http_kvmq_sl_str(&argv[1], &ctx->key);
    ngx_http_kvmq_sl_str(&argv[2], &count);

    n = ngx_atoi(count.data, count.len);
    ms = wait.len ? ngx_atoi(wait.data, wait.len) : 0;

    if (ms > 0 && n > 0) {
        /* BLPOP key 0 that replies as LPOP key count; wait= times it */
        if (left) {
            ngx_http_kvmq_sl_lit(&argv[0], "BLPOP");

        } else {
            ngx_http_kvmq_sl_lit(&argv[0], "BRPOP");
        }

        ngx_http_kvmq_sl_lit(&argv[2], "0");

        return ngx_http_kvmq_block_http(r, argv, 3, n, (ngx_msec_t) ms);
    }

    v = ngx_http_kvmq_type_run(r, argv, 3);
    if (v == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (v->type == NGX_HTTP_KVMQ_NIL) {
        /* nothing to pop; with wait=, the request will park here */
        return ngx_http_kvmq_send(r, NGX_HTTP_NO_CONTENT, NULL);
    }

    return ngx_http_kvmq_send_val(r, v);
}
