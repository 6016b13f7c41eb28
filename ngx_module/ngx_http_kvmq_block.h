
/*
 * Parked blocking commands (BLPOP ..., POST /list/{key}/pop?wait=MS):
 * what the doors call (see ngx_http_kvmq_block.c for the design).
 *
 * A door fills an ngx_http_kvmq_block_t from the pool that lives as long
 * as the request (zone, conf, connection, argv, done, data) and calls
 * ngx_http_kvmq_block_run().  NGX_OK: answered at once, *v is the reply.
 * NGX_AGAIN: parked; done() is called once, later, from an event, with
 * the reply, or with NULL when the wait ended empty (timeout, worker
 * exiting).  Destroying the pool cancels a parked command: that is how a
 * client that goes away leaves nothing behind.
 */

#ifndef _NGX_HTTP_KVMQ_BLOCK_H_INCLUDED_
#define _NGX_HTTP_KVMQ_BLOCK_H_INCLUDED_


#include "ngx_http_kvmq_ws.h"


typedef struct ngx_http_kvmq_block_s  ngx_http_kvmq_block_t;

typedef void (*ngx_http_kvmq_block_done_pt)(ngx_http_kvmq_block_t *bl,
    ngx_http_kvmq_val_t *v);


struct ngx_http_kvmq_block_s {
    /* set by the door */
    ngx_http_kvmq_zone_t       *zone;
    ngx_http_kvmq_loc_conf_t   *conf;
    ngx_connection_t           *connection;
    ngx_http_kvmq_ws_t         *ws;         /* a WebSocket's, or NULL */
    ngx_pool_t                 *pool;
    kvmq_slice_t               *argv;
    int                         argc;
    long long                   count;      /* REST pop: LPOP key count */
    ngx_msec_t                  wait;       /* 0: the command's timeout */
    ngx_http_kvmq_block_done_pt done;
    void                       *data;

    /* ngx_http_kvmq_block.c's */
    ngx_queue_t                 queue;
    uint64_t                    id;
    ngx_event_t                 timer;
    unsigned                    parked:1;
};


ngx_int_t ngx_http_kvmq_block_run(ngx_http_kvmq_block_t *bl,
    ngx_http_kvmq_val_t **v);

/* the HTTP doors: park r itself; returns what a content handler does */
ngx_int_t ngx_http_kvmq_block_http(ngx_http_request_t *r,
    kvmq_slice_t *argv, int argc, long long count, ngx_msec_t wait);

/* a wake-up: retry the parked (a notify.c wake hook); the worker's start */
ngx_int_t ngx_http_kvmq_block_process(void);
ngx_int_t ngx_http_kvmq_block_init_process(ngx_cycle_t *cycle,
    ngx_uint_t slot, ngx_uint_t nslots);

/* the WebSocket glue command of BLPOP BRPOP ... */
ngx_int_t ngx_http_kvmq_block_ws(ngx_http_kvmq_ws_t *ws, ngx_str_t *id,
    ngx_http_kvmq_argv_t *cmd);


#endif /* _NGX_HTTP_KVMQ_BLOCK_H_INCLUDED_ */
