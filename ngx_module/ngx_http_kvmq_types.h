
/*
 * What the REST routes of the aggregate types (hash.c, list.c, set.c,
 * zset.c) share: the segments of their paths, query arguments, request
 * bodies, the engine call with the limits checked first, flat JSON
 * bodies, and the {"name": value} replies.  types.c has the code.
 */

#ifndef _NGX_HTTP_KVMQ_TYPES_H_INCLUDED_
#define _NGX_HTTP_KVMQ_TYPES_H_INCLUDED_


#include "ngx_http_kvmq_module.h"


/* an argv element from a literal or from an ngx_str_t */
#define ngx_http_kvmq_sl_lit(s, lit)                                          \
    (s)->data = (const unsigned char *) lit; (s)->len = sizeof(lit) - 1

#define ngx_http_kvmq_sl_str(s, str)                                          \
    (s)->data = (str)->data; (s)->len = (str)->len


/* a route handler that runs once the request body is read */
typedef ngx_int_t (*ngx_http_kvmq_type_pt)(ngx_http_request_t *r,
    ngx_http_kvmq_ctx_t *ctx);


ngx_uint_t ngx_http_kvmq_type_segments(ngx_http_kvmq_ctx_t *ctx);
ngx_int_t ngx_http_kvmq_type_long_key(ngx_http_request_t *r,
    ngx_http_kvmq_ctx_t *ctx);
ngx_int_t ngx_http_kvmq_type_no_route(ngx_http_request_t *r);

ngx_int_t ngx_http_kvmq_type_int_arg(ngx_http_request_t *r,
    const char *name, ngx_str_t *value, const char *dflt);
ngx_int_t ngx_http_kvmq_type_flag(ngx_http_request_t *r, const char *name,
    ngx_uint_t *on);
ngx_int_t ngx_http_kvmq_type_bad_arg(ngx_http_request_t *r, ngx_int_t rc,
    const char *name, const char *what);

ngx_int_t ngx_http_kvmq_type_read_body(ngx_http_request_t *r,
    ngx_http_client_body_handler_pt handler);
ngx_int_t ngx_http_kvmq_type_with_body(ngx_http_request_t *r,
    ngx_http_kvmq_type_pt next);
ngx_int_t ngx_http_kvmq_type_is_json(ngx_http_request_t *r);
ngx_int_t ngx_http_kvmq_type_parse(ngx_http_request_t *r, ngx_str_t *body,
    ngx_uint_t map, ngx_array_t *args, ngx_str_t *err);

ngx_int_t ngx_http_kvmq_type_exec(ngx_http_request_t *r,
    ngx_http_kvmq_argv_t *cmds, ngx_uint_t n,
    ngx_http_kvmq_val_t **results);
ngx_http_kvmq_val_t *ngx_http_kvmq_type_run(ngx_http_request_t *r,
    kvmq_slice_t *argv, int argc);
ngx_int_t ngx_http_kvmq_type_object(ngx_http_request_t *r,
    ngx_uint_t status, const char *name, ngx_http_kvmq_val_t *v,
    const char *name2, ngx_http_kvmq_val_t *v2);


#endif /* _NGX_HTTP_KVMQ_TYPES_H_INCLUDED_ */
