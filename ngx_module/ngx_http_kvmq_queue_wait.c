
/*
 * The HTTP requests that wait for the zone: POST /queues/{q}/get with
 * ?wait=, POST /rpc/{q} and its counterpart POST /reply/{address}.
 *
 * A waiting request is parked, never blocking the worker: it is put on
 * this worker's list of parked requests with a timer for its deadline,
 * and the engine is asked to report this worker's slot in c->wake when
 * there is something for it (kvmq_queue_watch() for a get, the RPC
 * address of kvmq_rpc_call() for a call).  Whoever publishes, on
 * whatever worker, then writes to our eventfd; notify.c calls
 * ngx_http_kvmq_park_wake() and the parked requests look at the zone
 * again: a get retries its Q.GET when the zone's ready sequence moved, a
 * caller takes the replies of its slot.  A lost hint costs at most the
 * notify timer's round (1 s); the engine's watch is per queue and slot,
 * so a busy queue wakes only the workers that wait on it.
 *
 * A parked request that ends (answered, timed out, or the client went
 * away) unlinks itself in its pool cleanup; an RPC caller also closes
 * its address there, so that a late reply is NOTFOUND (404) and dropped.
 * On a graceful shutdown (reload, quit) every parked request is answered
 * as its timeout would answer it (204, 504 TIMEOUT): the old worker
 * would otherwise live on until the longest wait ended.
 */


#include "queue.h"
#include "rpc.h"

#include "ngx_http_kvmq_types.h"
#include "ngx_http_kvmq_notify.h"
#include "ngx_http_kvmq_queue_ws.h"


#define NGX_HTTP_KVMQ_RPC_TIMEOUT   5000
#define NGX_HTTP_KVMQ_PARK_RETRY    4


typedef struct {
    ngx_queue_t                 queue;      /* the worker's parked list */
    ngx_http_request_t         *r;
    ngx_http_kvmq_zone_t       *zone;
    ngx_event_t                 timer;
    ngx_array_t                 args;       /* Q.GET's argv */
    ngx_str_t                   queue_name;
    uint64_t                    seq;        /* ready seq last looked at */
    kvmq_rpc_call_t             call;
    unsigned                    rpc:1;
    unsigned                    linked:1;
    unsigned                    open:1;     /* the RPC address */
} ngx_http_kvmq_park_t;


/* a reply taken from the zone, in the wake pool */
typedef struct {
    ngx_str_t                   addr;
    ngx_str_t                   body;
    ngx_str_t                   ctype;
} ngx_http_kvmq_rpc_copy_t;


static ngx_int_t ngx_http_kvmq_park(ngx_http_request_t *r,
    ngx_http_kvmq_park_t *pk, ngx_msec_t timeout);
static void ngx_http_kvmq_park_cleanup(void *data);
static void ngx_http_kvmq_park_timeout(ngx_event_t *ev);
static void ngx_http_kvmq_park_finish(ngx_http_kvmq_park_t *pk,
    ngx_int_t rc);
static ngx_int_t ngx_http_kvmq_park_wake(void);
static void ngx_http_kvmq_park_shutdown(void);
static ngx_int_t ngx_http_kvmq_get_try(ngx_http_request_t *r,
    ngx_http_kvmq_park_t *pk, ngx_uint_t waited, ngx_int_t *rc);
static long ngx_http_kvmq_get_watch(ngx_http_kvmq_park_t *pk);
static void ngx_http_kvmq_rpc_body(ngx_http_request_t *r);
static ngx_int_t ngx_http_kvmq_rpc_call(ngx_http_request_t *r,
    ngx_http_kvmq_ctx_t *ctx);
static ngx_int_t ngx_http_kvmq_rpc_send(ngx_http_request_t *r,
    ngx_http_kvmq_rpc_copy_t *cp);
static void ngx_http_kvmq_reply_body(ngx_http_request_t *r);
static ngx_int_t ngx_http_kvmq_reply_post(ngx_http_request_t *r,
    ngx_http_kvmq_ctx_t *ctx);


static ngx_queue_t  ngx_http_kvmq_parked;
static ngx_uint_t   ngx_http_kvmq_parked_init;
static uint64_t     ngx_http_kvmq_rpc_owner;


static void
ngx_http_kvmq_zone_ctx(kvmq_ctx_t *c, ngx_http_kvmq_zone_t *zone)
{
    ngx_time_t  *tp;

    tp = ngx_timeofday();

    ngx_memzero(c, sizeof(kvmq_ctx_t));
    c->db = zone->db;
    c->alloc = &zone->alloc;
    c->now_ms = (int64_t) tp->sec * 1000 + tp->msec;
}


static ngx_http_kvmq_zone_t *
ngx_http_kvmq_req_zone(ngx_http_request_t *r)
{
    ngx_http_kvmq_loc_conf_t  *klcf;

    klcf = ngx_http_get_module_loc_conf(r, ngx_http_kvmq_module);

    return klcf->shm_zone->data;
}


/* ---- parking ------------------------------------------------------------- */


/* replies for this worker's callers are collected from now on */

ngx_int_t
ngx_http_kvmq_rpc_watch(void)
{
    if (!ngx_http_kvmq_parked_init) {
        ngx_queue_init(&ngx_http_kvmq_parked);
        ngx_http_kvmq_parked_init = 1;
    }

    if (ngx_http_kvmq_notify_on_shutdown(ngx_http_kvmq_park_shutdown)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    return ngx_http_kvmq_notify_on_wake(ngx_http_kvmq_park_wake);
}


static ngx_int_t
ngx_http_kvmq_park(ngx_http_request_t *r, ngx_http_kvmq_park_t *pk,
    ngx_msec_t timeout)
{
    ngx_pool_cleanup_t  *cln;

    if (ngx_http_kvmq_rpc_watch() != NGX_OK) {
        return NGX_ERROR;
    }

    cln = ngx_pool_cleanup_add(r->pool, 0);
    if (cln == NULL) {
        return NGX_ERROR;
    }

    cln->handler = ngx_http_kvmq_park_cleanup;
    cln->data = pk;

    pk->r = r;
    pk->timer.handler = ngx_http_kvmq_park_timeout;
    pk->timer.data = pk;
    pk->timer.log = r->connection->log;

    ngx_add_timer(&pk->timer, timeout);

    ngx_queue_insert_tail(&ngx_http_kvmq_parked, &pk->queue);
    pk->linked = 1;

    /* a client that goes away ends the request (and the cleanup runs) */
    r->read_event_handler = ngx_http_test_reading;
    r->write_event_handler = ngx_http_request_empty_handler;

    r->main->count++;

    return NGX_DONE;
}


static void
ngx_http_kvmq_park_unlink(ngx_http_kvmq_park_t *pk)
{
    kvmq_ctx_t    c;
    kvmq_slice_t  addr;

    if (pk->linked) {
        ngx_queue_remove(&pk->queue);
        pk->linked = 0;
    }

    if (pk->timer.timer_set) {
        ngx_del_timer(&pk->timer);
    }

    if (pk->open) {
        pk->open = 0;

        addr.data = (const unsigned char *) pk->call.addr;
        addr.len = pk->call.alen;

        ngx_http_kvmq_zone_ctx(&c, pk->zone);

        ngx_shmtx_lock(&pk->zone->shpool->mutex);
        (void) kvmq_rpc_close(&c, &addr);
        ngx_shmtx_unlock(&pk->zone->shpool->mutex);
    }
}


static void
ngx_http_kvmq_park_cleanup(void *data)
{
    ngx_http_kvmq_park_unlink(data);
}


static void
ngx_http_kvmq_park_finish(ngx_http_kvmq_park_t *pk, ngx_int_t rc)
{
    ngx_http_request_t  *r;

    r = pk->r;

    ngx_http_kvmq_park_unlink(pk);

    ngx_http_finalize_request(r, rc);
}


static void
ngx_http_kvmq_park_timeout(ngx_event_t *ev)
{
    ngx_int_t              rc;
    ngx_http_request_t    *r;
    ngx_http_kvmq_park_t  *pk;

    pk = ev->data;
    r = pk->r;

    if (pk->rpc) {
        ngx_http_kvmq_park_unlink(pk);
        rc = ngx_http_kvmq_send_errorf(r, KVMQ_ERR_TIMEOUT,
                                       "no reply within the timeout");
        ngx_http_finalize_request(r, rc);
        return;
    }

    ngx_http_kvmq_park_unlink(pk);

    rc = ngx_http_kvmq_send(r, NGX_HTTP_NO_CONTENT, NULL);

    ngx_http_finalize_request(r, rc);
}


static void
ngx_http_kvmq_park_shutdown(void)
{
    ngx_queue_t           *q;
    ngx_http_kvmq_park_t  *pk;

    /* the timeout handler unlinks each one from the list */
    while (!ngx_queue_empty(&ngx_http_kvmq_parked)) {
        q = ngx_queue_head(&ngx_http_kvmq_parked);
        pk = ngx_queue_data(q, ngx_http_kvmq_park_t, queue);

        ngx_http_kvmq_park_timeout(&pk->timer);
    }
}


/* ---- the wake-up --------------------------------------------------------- */


static void
ngx_http_kvmq_rpc_copy(void *arg, const kvmq_rpc_reply_t *rp)
{
    size_t                     blen;
    ngx_array_t               *a;
    kvmq_slice_t               ct;
    ngx_http_kvmq_rpc_copy_t  *cp;

    a = arg;

    cp = ngx_array_push(a);
    if (cp == NULL) {
        return;
    }

    ngx_memzero(cp, sizeof(ngx_http_kvmq_rpc_copy_t));

    cp->addr.data = ngx_pnalloc(a->pool, rp->addr.len + 1);
    if (cp->addr.data == NULL) {
        a->nelts--;
        return;
    }

    ngx_memcpy(cp->addr.data, rp->addr.data, rp->addr.len);
    cp->addr.len = rp->addr.len;

    blen = kvmq_msg_body_len(rp->msg);

    cp->body.data = ngx_pnalloc(a->pool, blen ? blen : 1);
    if (cp->body.data == NULL) {
        a->nelts--;
        return;
    }

    cp->body.len = kvmq_msg_body_copy(rp->msg, cp->body.data);

    ct = kvmq_msg_content_type(rp->msg);

    if (ct.len) {
        cp->ctype.data = ngx_pnalloc(a->pool, ct.len);
        if (cp->ctype.data == NULL) {
            a->nelts--;
            return;
        }

        ngx_memcpy(cp->ctype.data, ct.data, ct.len);
        cp->ctype.len = ct.len;
    }
}


/*
 * The replies of this slot in zone, each to its caller: a parked HTTP
 * request here, or a WebSocket RPC (queue_ws.c); one nobody waits for
 * any more is dropped.
 */

static ngx_int_t
ngx_http_kvmq_rpc_collect(ngx_http_kvmq_zone_t *zone, ngx_uint_t slot)
{
    int                        more;
    ngx_int_t                  rc;
    ngx_uint_t                 i;
    kvmq_ctx_t                 c;
    ngx_pool_t                *pool;
    ngx_array_t               *got;
    ngx_queue_t               *q, *next;
    ngx_http_kvmq_park_t      *p;
    ngx_http_kvmq_rpc_copy_t  *cp;

    pool = ngx_create_pool(4096, ngx_cycle->log);
    if (pool == NULL) {
        return NGX_AGAIN;
    }

    got = ngx_array_create(pool, 16, sizeof(ngx_http_kvmq_rpc_copy_t));
    if (got == NULL) {
        ngx_destroy_pool(pool);
        return NGX_AGAIN;
    }

    ngx_http_kvmq_zone_ctx(&c, zone);

    ngx_shmtx_lock(&zone->shpool->mutex);

    more = kvmq_rpc_pending(zone->db, slot)
           ? kvmq_rpc_take(&c, slot, 256, ngx_http_kvmq_rpc_copy, got) : 0;

    ngx_shmtx_unlock(&zone->shpool->mutex);

    cp = got->elts;

    for (i = 0; i < got->nelts; i++) {

        for (q = ngx_queue_head(&ngx_http_kvmq_parked);
             q != ngx_queue_sentinel(&ngx_http_kvmq_parked);
             q = next)
        {
            next = ngx_queue_next(q);
            p = ngx_queue_data(q, ngx_http_kvmq_park_t, queue);

            if (!p->rpc || p->zone != zone || p->call.alen != cp[i].addr.len
                || ngx_strncmp(p->call.addr, cp[i].addr.data,
                               cp[i].addr.len) != 0)
            {
                continue;
            }

            /* taken: the address is closed already */
            p->open = 0;
            ngx_http_kvmq_park_unlink(p);

            rc = ngx_http_kvmq_rpc_send(p->r, &cp[i]);
            ngx_http_finalize_request(p->r, rc);

            break;
        }

        if (q == ngx_queue_sentinel(&ngx_http_kvmq_parked)) {
            (void) ngx_http_kvmq_ws_rpc_reply(&cp[i].addr, &cp[i].body);
        }
    }

    ngx_destroy_pool(pool);

    return more ? NGX_AGAIN : NGX_OK;
}


static ngx_int_t
ngx_http_kvmq_park_wake(void)
{
    uint64_t                    seq;
    ngx_int_t                   rc, again, pending;
    ngx_uint_t                  i, slot;
    ngx_queue_t                *q, *next;
    ngx_http_kvmq_park_t       *pk;
    ngx_http_kvmq_zone_t      **zones;
    ngx_http_kvmq_main_conf_t  *kmcf;

    slot = ngx_http_kvmq_notify_worker_slot();
    again = NGX_OK;

    /* RPC replies, for HTTP and WebSocket callers alike */
    kmcf = ngx_http_cycle_get_module_main_conf(ngx_cycle,
                                               ngx_http_kvmq_module);
    zones = kmcf->zones.elts;

    for (i = 0; i < kmcf->zones.nelts; i++) {
        if (zones[i]->db == NULL) {
            continue;
        }

        ngx_shmtx_lock(&zones[i]->shpool->mutex);
        pending = kvmq_rpc_pending(zones[i]->db, slot);
        ngx_shmtx_unlock(&zones[i]->shpool->mutex);

        if (pending && ngx_http_kvmq_rpc_collect(zones[i], slot) != NGX_OK) {
            again = NGX_AGAIN;
        }
    }

    if (!ngx_http_kvmq_parked_init) {
        return again;
    }

    /* gets: only those whose zone had messages made ready since */
    for (q = ngx_queue_head(&ngx_http_kvmq_parked);
         q != ngx_queue_sentinel(&ngx_http_kvmq_parked);
         q = next)
    {
        next = ngx_queue_next(q);
        pk = ngx_queue_data(q, ngx_http_kvmq_park_t, queue);

        if (pk->rpc) {
            continue;
        }

        ngx_shmtx_lock(&pk->zone->shpool->mutex);
        seq = kvmq_queue_ready_seq(pk->zone->db);
        ngx_shmtx_unlock(&pk->zone->shpool->mutex);

        if (seq == pk->seq) {
            continue;
        }

        if (ngx_http_kvmq_get_try(pk->r, pk, 1, &rc) == NGX_OK) {
            ngx_http_kvmq_park_finish(pk, rc);
        }
    }

    return again;
}


/* ---- POST /queues/{q}/get ------------------------------------------------ */


/*
 * One Q.GET.  NGX_OK when the request is answered (*rc to finalize it
 * with): deliveries, an error, or an empty answer when not waited;
 * NGX_DECLINED when nothing was ready (pk->seq updated and the queue
 * watched again), NGX_ERROR on no memory.
 */

static ngx_int_t
ngx_http_kvmq_get_try(ngx_http_request_t *r, ngx_http_kvmq_park_t *pk,
    ngx_uint_t waited, ngx_int_t *rc)
{
    long                  n;
    ngx_uint_t            i;
    ngx_http_kvmq_val_t  *v;

    for (i = 0; i < NGX_HTTP_KVMQ_PARK_RETRY; i++) {

        v = ngx_http_kvmq_type_run(r, pk->args.elts, (int) pk->args.nelts);

        if (v == NULL) {
            *rc = NGX_HTTP_INTERNAL_SERVER_ERROR;
            return NGX_OK;
        }

        if (v->type != NGX_HTTP_KVMQ_ARRAY || v->nelts > 0 || !waited) {
            *rc = ngx_http_kvmq_mq_send(r, NGX_HTTP_OK, v);
            return NGX_OK;
        }

        n = ngx_http_kvmq_get_watch(pk);

        if (n < 0) {
            *rc = ngx_http_kvmq_send_errorf(r, KVMQ_ERR_NOTFOUND,
                                            "no queue '%V'",
                                            &pk->queue_name);
            return NGX_OK;
        }

        if (n == 0) {
            return NGX_DECLINED;
        }

        /* something came between the get and the watch: get again */
    }

    return NGX_DECLINED;
}


static long
ngx_http_kvmq_get_watch(ngx_http_kvmq_park_t *pk)
{
    long           n;
    kvmq_ctx_t     c;
    kvmq_slice_t   name;

    name.data = pk->queue_name.data;
    name.len = pk->queue_name.len;

    ngx_http_kvmq_zone_ctx(&c, pk->zone);

    ngx_shmtx_lock(&pk->zone->shpool->mutex);

    pk->seq = kvmq_queue_ready_seq(pk->zone->db);
    n = kvmq_queue_watch(&c, &name,
                         (unsigned) ngx_http_kvmq_notify_worker_slot());

    ngx_shmtx_unlock(&pk->zone->shpool->mutex);

    return n;
}


ngx_int_t
ngx_http_kvmq_queue_get(ngx_http_request_t *r, ngx_http_kvmq_ctx_t *ctx)
{
    ngx_int_t              rc, n;
    ngx_str_t              wait;
    ngx_msec_t             ms;
    ngx_http_kvmq_park_t  *pk;

    n = ngx_http_kvmq_type_int_arg(r, "wait", &wait, "0");
    if (n != NGX_OK) {
        return ngx_http_kvmq_type_bad_arg(r, n, "wait", "an integer");
    }

    ms = 0;

    if (wait.data[0] != '-') {
        n = ngx_atoi(wait.data, wait.len);
        ms = (n == NGX_ERROR || n > 86400000) ? 86400000 : (ngx_msec_t) n;
    }

    pk = ngx_pcalloc(r->pool, sizeof(ngx_http_kvmq_park_t));
    if (pk == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    pk->zone = ngx_http_kvmq_req_zone(r);
    pk->queue_name = ctx->key;

    if (ngx_http_kvmq_queue_get_argv(r, &pk->args, &rc) != NGX_OK) {
        return rc;
    }

    rc = ngx_http_discard_request_body(r);

    if (rc != NGX_OK) {
        return rc;
    }

    if (ngx_http_kvmq_get_try(r, pk, ms > 0, &rc) == NGX_OK) {
        return rc;
    }

    if (ngx_http_kvmq_park(r, pk, ms) != NGX_DONE) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return NGX_DONE;
}


/* ---- POST /rpc/{q} ------------------------------------------------------- */


ngx_int_t
ngx_http_kvmq_rpc(ngx_http_request_t *r, ngx_http_kvmq_ctx_t *ctx)
{
    ngx_http_kvmq_loc_conf_t  *klcf;

    klcf = ngx_http_get_module_loc_conf(r, ngx_http_kvmq_module);

    if (ctx->nseg != 2 || ctx->seg[1].len == 0) {
        return ngx_http_kvmq_type_no_route(r);
    }

    ctx->key = ctx->seg[1];

    if (ctx->key.len > klcf->max_key) {
        return ngx_http_kvmq_type_long_key(r, ctx);
    }

    if (r->method != NGX_HTTP_POST) {
        return ngx_http_kvmq_send_method(r, "POST");
    }

    if (ctx->seg[0].len == 5) {
        ngx_str_set(&ctx->command, "RPC.REPLY");
        return ngx_http_kvmq_type_read_body(r, ngx_http_kvmq_reply_body);
    }

    ngx_str_set(&ctx->command, "RPC.CALL");

    return ngx_http_kvmq_type_read_body(r, ngx_http_kvmq_rpc_body);
}


static void
ngx_http_kvmq_rpc_body(ngx_http_request_t *r)
{
    ngx_int_t  rc;

    rc = ngx_http_kvmq_type_with_body(r, ngx_http_kvmq_rpc_call);

    ngx_http_finalize_request(r, rc);
}


static ngx_int_t
ngx_http_kvmq_rpc_call(ngx_http_request_t *r, ngx_http_kvmq_ctx_t *ctx)
{
    ngx_int_t                  n;
    ngx_str_t                  tmo;
    kvmq_ctx_t                 c;
    kvmq_err_e                 err;
    ngx_uint_t                 slot;
    ngx_msec_t                 ms;
    ngx_array_t                props;
    kvmq_slice_t               name, body;
    ngx_http_kvmq_park_t      *pk;
    ngx_http_kvmq_loc_conf_t  *klcf;

    klcf = ngx_http_get_module_loc_conf(r, ngx_http_kvmq_module);

    if (klcf->readonly) {
        return ngx_http_kvmq_send_errorf(r, KVMQ_ERR_DENIED,
                                         "RPC.CALL: the location is "
                                         "read-only");
    }

    n = ngx_http_kvmq_type_int_arg(r, "timeout", &tmo, NULL);
    if (n != NGX_OK) {
        return ngx_http_kvmq_type_bad_arg(r, n, "timeout", "an integer");
    }

    ms = NGX_HTTP_KVMQ_RPC_TIMEOUT;

    if (tmo.len) {
        n = ngx_atoi(tmo.data, tmo.len);

        if (n == NGX_ERROR || n == 0 || n > 86400000) {
            return ngx_http_kvmq_send_errorf(r, KVMQ_ERR_BADREQ,
                                             "timeout must be 1 .. "
                                             "86400000 ms");
        }

        ms = (ngx_msec_t) n;
    }

    slot = ngx_http_kvmq_notify_worker_slot();

    pk = ngx_pcalloc(r->pool, sizeof(ngx_http_kvmq_park_t));
    if (pk == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ngx_array_init(&props, r->pool, 8, sizeof(kvmq_slice_t)) != NGX_OK
        || ngx_http_kvmq_mq_props(r, &props) != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    pk->zone = ngx_http_kvmq_req_zone(r);
    pk->rpc = 1;

    name.data = ctx->key.data;
    name.len = ctx->key.len;
    body.data = ctx->body.data;
    body.len = ctx->body.len;

    /* an owner per call, unique in the zone: the pid and a counter */
    ngx_http_kvmq_rpc_owner++;

    ngx_http_kvmq_zone_ctx(&c, pk->zone);

    ngx_shmtx_lock(&pk->zone->shpool->mutex);

    err = kvmq_rpc_call(&c, &name, &body, props.elts, (int) props.nelts,
                        ((uint64_t) ngx_pid << 32 | ngx_http_kvmq_rpc_owner),
                        (unsigned) slot, (int64_t) ms + 1000, &pk->call);

    ngx_shmtx_unlock(&pk->zone->shpool->mutex);

    if (c.wake) {
        ngx_http_kvmq_notify_wake(c.wake);
    }

    if (err != KVMQ_OK) {
        if (err == KVMQ_ERR_NOTFOUND) {
            return ngx_http_kvmq_send_errorf(r, err, "no queue '%V'",
                                             &ctx->key);
        }

        return ngx_http_kvmq_send_errorf(r, err, "the call failed: %s",
                                         kvmq_err_name(err));
    }

    pk->open = 1;

    return ngx_http_kvmq_park(r, pk, ms);
}


/* the reply body raw, with the replier's content type */

static ngx_int_t
ngx_http_kvmq_rpc_send(ngx_http_request_t *r, ngx_http_kvmq_rpc_copy_t *cp)
{
    u_char       *p;
    ngx_buf_t    *b;
    ngx_chain_t  *out;

    if (cp->ctype.len) {
        p = ngx_pnalloc(r->pool, cp->ctype.len);
        if (p == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        ngx_memcpy(p, cp->ctype.data, cp->ctype.len);
        r->headers_out.content_type.data = p;
        r->headers_out.content_type.len = cp->ctype.len;
        r->headers_out.content_type_len = cp->ctype.len;

    } else {
        ngx_str_set(&r->headers_out.content_type,
                    "application/octet-stream");
        r->headers_out.content_type_len =
                                     sizeof("application/octet-stream") - 1;
    }

    out = NULL;

    if (cp->body.len) {
        b = ngx_create_temp_buf(r->pool, cp->body.len);
        if (b == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        b->last = ngx_cpymem(b->last, cp->body.data, cp->body.len);
        b->last_buf = (r == r->main) ? 1 : 0;
        b->last_in_chain = 1;

        out = ngx_alloc_chain_link(r->pool);
        if (out == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        out->buf = b;
        out->next = NULL;

    } else {
        r->header_only = 1;
    }

    return ngx_http_kvmq_send(r, NGX_HTTP_OK, out);
}


/* ---- POST /reply/{address} ----------------------------------------------- */


static void
ngx_http_kvmq_reply_body(ngx_http_request_t *r)
{
    ngx_http_finalize_request(r, ngx_http_kvmq_type_with_body(r,
                                     ngx_http_kvmq_reply_post));
}


static ngx_int_t
ngx_http_kvmq_reply_post(ngx_http_request_t *r, ngx_http_kvmq_ctx_t *ctx)
{
    ngx_str_t             corr;
    ngx_uint_t            i;
    ngx_array_t           args;
    kvmq_slice_t         *a;
    ngx_list_part_t      *part;
    ngx_table_elt_t      *h;
    ngx_http_kvmq_val_t  *v;

    ngx_str_null(&corr);

    part = &r->headers_in.headers.part;
    h = part->elts;

    for (i = 0; /* void */ ; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                break;
            }

            part = part->next;
            h = part->elts;
            i = 0;
        }

        if (h[i].key.len == 16
            && ngx_strncasecmp(h[i].key.data, (u_char *) "X-Correlation-Id",
                               16) == 0)
        {
            corr = h[i].value;
        }
    }

    if (corr.data == NULL) {
        return ngx_http_kvmq_send_errorf(r, KVMQ_ERR_BADREQ,
                                         "X-Correlation-Id is required");
    }

    if (ngx_array_init(&args, r->pool, 8, sizeof(kvmq_slice_t)) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    a = ngx_array_push_n(&args, 4);
    if (a == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    a[0].data = (const unsigned char *) "RPC.REPLY";
    a[0].len = 9;
    a[1].data = ctx->key.data;
    a[1].len = ctx->key.len;
    a[2].data = corr.data;
    a[2].len = corr.len;
    a[3].data = ctx->body.data;
    a[3].len = ctx->body.len;

    if (r->headers_in.content_type) {
        a = ngx_array_push_n(&args, 2);
        if (a == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        a[0].data = (const unsigned char *) "content_type";
        a[0].len = 12;
        a[1].data = r->headers_in.content_type->value.data;
        a[1].len = r->headers_in.content_type->value.len;
    }

    v = ngx_http_kvmq_type_run(r, args.elts, (int) args.nelts);
    if (v == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (v->type == NGX_HTTP_KVMQ_ERROR) {
        return ngx_http_kvmq_send_val(r, v);
    }

    v->type = NGX_HTTP_KVMQ_INT;
    v->integer = 1;

    return ngx_http_kvmq_type_object(r, NGX_HTTP_ACCEPTED, "delivered", v,
                                     NULL, NULL);
}
