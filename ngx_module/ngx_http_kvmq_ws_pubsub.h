
/*
 * SUBSCRIBE, UNSUBSCRIBE, PSUBSCRIBE and PUNSUBSCRIBE over WebSocket
 * (ngx_http_kvmq_ws_pubsub.c): rows of ngx_http_kvmq_ws_glue_cmds.
 */

#ifndef _NGX_HTTP_KVMQ_WS_PUBSUB_H_INCLUDED_
#define _NGX_HTTP_KVMQ_WS_PUBSUB_H_INCLUDED_


#include "ngx_http_kvmq_ws.h"


ngx_int_t ngx_http_kvmq_ws_subscribe(ngx_http_kvmq_ws_t *ws, ngx_str_t *id,
    ngx_http_kvmq_argv_t *cmd);
ngx_int_t ngx_http_kvmq_ws_unsubscribe(ngx_http_kvmq_ws_t *ws,
    ngx_str_t *id, ngx_http_kvmq_argv_t *cmd);
ngx_int_t ngx_http_kvmq_ws_psubscribe(ngx_http_kvmq_ws_t *ws, ngx_str_t *id,
    ngx_http_kvmq_argv_t *cmd);
ngx_int_t ngx_http_kvmq_ws_punsubscribe(ngx_http_kvmq_ws_t *ws,
    ngx_str_t *id, ngx_http_kvmq_argv_t *cmd);


#endif /* _NGX_HTTP_KVMQ_WS_PUBSUB_H_INCLUDED_ */
