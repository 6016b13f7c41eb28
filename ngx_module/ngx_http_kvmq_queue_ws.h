
/*
 * The queue commands of the WebSocket door (ngx_http_kvmq_queue_ws.c):
 * rows of the glue command table in ngx_http_kvmq_ws_msg.c, the worker's
 * start-up clean-up, and the hand-over of RPC replies from
 * ngx_http_kvmq_queue_wait.c.
 */

#ifndef _NGX_HTTP_KVMQ_QUEUE_WS_H_INCLUDED_
#define _NGX_HTTP_KVMQ_QUEUE_WS_H_INCLUDED_


#include "ngx_http_kvmq_types.h"
#include "ngx_http_kvmq_ws.h"


ngx_int_t ngx_http_kvmq_ws_consume(ngx_http_kvmq_ws_t *ws, ngx_str_t *id,
    ngx_http_kvmq_argv_t *cmd);
ngx_int_t ngx_http_kvmq_ws_cancel(ngx_http_kvmq_ws_t *ws, ngx_str_t *id,
    ngx_http_kvmq_argv_t *cmd);
ngx_int_t ngx_http_kvmq_ws_settle(ngx_http_kvmq_ws_t *ws, ngx_str_t *id,
    ngx_http_kvmq_argv_t *cmd);
ngx_int_t ngx_http_kvmq_ws_bind(ngx_http_kvmq_ws_t *ws, ngx_str_t *id,
    ngx_http_kvmq_argv_t *cmd);
ngx_int_t ngx_http_kvmq_ws_rpc(ngx_http_kvmq_ws_t *ws, ngx_str_t *id,
    ngx_http_kvmq_argv_t *cmd);

ngx_int_t ngx_http_kvmq_rpc_watch(void);
ngx_int_t ngx_http_kvmq_ws_rpc_reply(ngx_str_t *addr, ngx_str_t *body);
ngx_int_t ngx_http_kvmq_queue_init_process(ngx_cycle_t *cycle);


#endif /* _NGX_HTTP_KVMQ_QUEUE_WS_H_INCLUDED_ */
