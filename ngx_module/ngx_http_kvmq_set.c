
/*
 * The /set REST routes (API.md "Set"), each one engine command:
 *
 *   GET|HEAD /set/{key}               SMEMBERS key         the members
 *   GET|HEAD /set/{key}/{member}      SISMEMBER key member
 *                                     200 the member / 404
 *   PUT /set/{key}/{member}           SADD key member
 *                                     201 {"added": 1} / 200 {"added": 0}
 *   DELETE /set/{key}/{member}        SREM key member      {"removed": N}
 *
 * Members come in unordered, as SMEMBERS gives them.  An absent set
 * reads as [] (a key never holds an empty set, so absent and empty are
 * one state, as in Redis).
 */


#include "ngx_http_kvmq_types.h"


static ngx_int_t ngx_http_kvmq_set_members(ngx_http_request_t *r,
    ngx_http_kvmq_ctx_t *ctx);
static ngx_int_t ngx_http_kvmq_set_member(ngx_http_request_t *r,
    ngx_http_kvmq_ctx_t *ctx, const char *name, size_t len);


ngx_int_t
ngx_http_kvmq_set(ngx_http_request_t *r, ngx_http_kvmq_ctx_t *ctx)
{
    ngx_uint_t                 n;
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
        if (!(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD))) {
            return ngx_http_kvmq_send_method(r, "GET, HEAD");
        }

        return ngx_http_kvmq_set_members(r, ctx);
    }

    switch (r->method) {

    case NGX_HTTP_GET:
    case NGX_HTTP_HEAD:
        return ngx_http_kvmq_set_member(r, ctx, "SISMEMBER", 9);

    case NGX_HTTP_PUT:
        return ngx_http_kvmq_set_member(r, ctx, "SADD", 4);

    case NGX_HTTP_DELETE:
        return ngx_http_kvmq_set_member(r, ctx, "SREM", 4);

    default:
        return ngx_http_kvmq_send_method(r, "GET, HEAD, PUT, DELETE");
    }
}


static ngx_int_t
ngx_http_kvmq_set_members(ngx_http_request_t *r, ngx_http_kvmq_ctx_t *ctx)
{
    kvmq_slice_t          argv[2];
    ngx_http_kvmq_val_t  *v;

    ngx_str_set(&ctx->command, "SMEMBERS");

    ngx_http_kvmq_sl_lit(&argv[0], "SMEMBERS");
    ngx_http_kvmq_sl_str(&argv[1], &ctx->key);

    v = ngx_http_kvmq_type_run(r, argv, 2);
    if (v == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_kvmq_send_val(r, v);
}


/* SISMEMBER, SADD or SREM of the member in the path */

static ngx_int_t
ngx_http_kvmq_set_member(ngx_http_request_t *r, ngx_http_kvmq_ctx_t *ctx,
    const char *name, size_t len)
{
    kvmq_slice_t          argv[3];
    ngx_http_kvmq_val_t  *v, member;

    ctx->command.data = (u_char *) name;
    ctx->command.len = len;

    argv[0].data = (const unsigned char *) name;
    argv[0].len = len;
    ngx_http_kvmq_sl_str(&argv[1], &ctx->key);
    ngx_http_kvmq_sl_str(&argv[2], &ctx->seg[2]);

    v = ngx_http_kvmq_type_run(r, argv, 3);
    if (v == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (v->type != NGX_HTTP_KVMQ_INT) {
        return ngx_http_kvmq_send_val(r, v);
    }

    switch (r->method) {

    case NGX_HTTP_PUT:
        return ngx_http_kvmq_type_object(r, v->integer ? NGX_HTTP_CREATED
                                                       : NGX_HTTP_OK,
                                         "added", v, NULL, NULL);

    case NGX_HTTP_DELETE:
        return ngx_http_kvmq_type_object(r, NGX_HTTP_OK, "removed", v,
                                         NULL, NULL);

    default:
        if (v->integer == 0) {
            return ngx_http_kvmq_send_errorf(r, KVMQ_ERR_NOTFOUND,
                                             "not a member");
        }

        /* the member itself, as a JSON string */

        ngx_memzero(&member, sizeof(ngx_http_kvmq_val_t));
        member.type = NGX_HTTP_KVMQ_BULK;
        member.str = ctx->seg[2];

        return ngx_http_kvmq_send_val(r, &member);
    }
}
