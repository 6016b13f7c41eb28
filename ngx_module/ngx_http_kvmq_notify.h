
/*
 * Cross-worker wake-ups and this worker's subscribers (see
 * ngx_http_kvmq_notify.c for the design).  The transports (SSE,
 * WebSocket) use this API:
 *
 *   ngx_http_kvmq_subscribe()     count a subscriber in the zone, copy
 *                                 out the history it asks for, and put
 *                                 it on this worker's fan-out lists
 *   ngx_http_kvmq_unsubscribe()   the reverse; at the latest from the
 *                                 connection's cleanup
 *   ngx_http_kvmq_notify_wake()   after an engine call that set c->wake
 *   ngx_http_kvmq_notify_on_shutdown()
 *                                 a handler called once when the worker
 *                                 starts a graceful shutdown (reload,
 *                                 quit): close your connections after
 *                                 flushing them
 *
 * A subscriber's deliver handler is called from the fan-out, once per
 * message, in publish order per channel.  It may queue output and post
 * events, but must not unsubscribe or free any subscriber: closing a
 * connection happens later, from its own events.
 */

#ifndef _NGX_HTTP_KVMQ_NOTIFY_H_INCLUDED_
#define _NGX_HTTP_KVMQ_NOTIFY_H_INCLUDED_


#include "ngx_http_kvmq_module.h"
#include "pubsub.h"


typedef struct ngx_http_kvmq_sub_s    ngx_http_kvmq_sub_t;
typedef struct ngx_http_kvmq_lchan_s  ngx_http_kvmq_lchan_t;


/*
 * One message of a fan-out, in the fan-out's pool.  The transports keep
 * what they build from it once for all their subscribers in the spare
 * fields (sse, sse64, ws ...): the fan-out clears them for each message.
 */
typedef struct {
    ngx_str_t                   channel;
    ngx_str_t                   data;
    uint64_t                    seq;
    uint64_t                    gid;
    ngx_pool_t                 *pool;       /* for formatting */

    ngx_str_t                   sse;        /* SSE event, plain */
    ngx_str_t                   sse64;      /* SSE event, base64 data */
    void                       *ws[4];      /* the WebSocket glue's */
} ngx_http_kvmq_msg_t;


/*
 * Deliver m to sub.  pattern is the pattern that matched (NULL for a
 * channel subscription).  gap is 0, or the first seq the subscriber
 * should have had when messages between were lost to it (its worker
 * fell too far behind).  NGX_ERROR tells that the subscriber's
 * connection failed; it is not called again until it unsubscribes.
 */
typedef ngx_int_t (*ngx_http_kvmq_deliver_pt)(ngx_http_kvmq_sub_t *sub,
    ngx_http_kvmq_msg_t *m, ngx_str_t *pattern, uint64_t gap);

typedef void (*ngx_http_kvmq_shutdown_pt)(void);

/* NGX_AGAIN when work remains: it is called again soon */
typedef ngx_int_t (*ngx_http_kvmq_wake_pt)(void);


struct ngx_http_kvmq_sub_s {
    /* set by the transport before ngx_http_kvmq_subscribe() */
    ngx_str_t                   name;       /* channel or pattern */
    ngx_http_kvmq_zone_t       *zone;
    ngx_http_kvmq_deliver_pt    deliver;
    void                       *data;       /* the transport's */
    unsigned                    pattern:1;

    /* notify.c's */
    ngx_queue_t                 queue;      /* on the channel or patterns */
    ngx_http_kvmq_lchan_t      *chan;
    uint64_t                    last;       /* seq, or gid for patterns */
    uint64_t                    gen;
    unsigned                    linked:1;
    unsigned                    failed:1;
};


/*
 * Subscribe sub (a channel, or a pattern with sub->pattern).  For a
 * channel with since != NULL, the history after *since is copied into
 * replay (an array of ngx_http_kvmq_msg_t allocated from pool) and pos
 * tells where the channel stood; the subscriber then gets every later
 * message live, with no gap and no duplicate.  Returns NGX_OK, NGX_ERROR
 * (no memory in the pool), or NGX_DECLINED with *err: KVMQ_ERR_NOMEM
 * (the zone is full) or KVMQ_ERR_DENIED (this worker is going away).
 */
ngx_int_t ngx_http_kvmq_subscribe(ngx_http_kvmq_sub_t *sub,
    const uint64_t *since, ngx_pool_t *pool, ngx_array_t **replay,
    kvmq_pubsub_pos_t *pos, kvmq_err_e *err);

/* unsubscribe several at once (one lock); no-op for unlinked ones */
void ngx_http_kvmq_unsubscribe(ngx_http_kvmq_sub_t **subs, ngx_uint_t n);

void ngx_http_kvmq_notify_wake(uint64_t mask);

/* a sequence number (since, Last-Event-ID, SINCE): digits, 64 bits */
ngx_int_t ngx_http_kvmq_parse_seq(const u_char *p, size_t len,
    uint64_t *seq);

ngx_int_t ngx_http_kvmq_notify_on_shutdown(ngx_http_kvmq_shutdown_pt h);
ngx_int_t ngx_http_kvmq_notify_on_wake(ngx_http_kvmq_wake_pt h);

/* this worker's slot: the bit of wake-up masks that names it */
ngx_uint_t ngx_http_kvmq_notify_worker_slot(void);

/* is this worker leaving (graceful shutdown started)? */
ngx_uint_t ngx_http_kvmq_notify_exiting(void);

/* module.c's hooks; init_zone applies history= and history_ttl= */
ngx_int_t ngx_http_kvmq_notify_init_zone(ngx_http_kvmq_zone_t *zone);
ngx_int_t ngx_http_kvmq_notify_init_module(ngx_cycle_t *cycle);
ngx_int_t ngx_http_kvmq_notify_init_process(ngx_cycle_t *cycle);


#endif /* _NGX_HTTP_KVMQ_NOTIFY_H_INCLUDED_ */
