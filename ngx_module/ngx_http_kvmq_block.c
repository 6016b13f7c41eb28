
/*
 * Parked blocking commands: BLPOP BRPOP BRPOPLPUSH BLMOVE BZPOPMIN
 * BZPOPMAX over POST /cmd and WebSocket, and POST /list/{key}/pop?wait=.
 *
 * A blocking command runs like any other, with c->block set: when it can
 * pop it replies at once; when it cannot, the engine registers a waiter
 * in the zone (t_block.c: the key, this worker's slot, an id that orders
 * waiters zone-wide) and the door parks the request: nothing blocks, the
 * worker goes back to its events.  This file keeps the worker's parked
 * commands in one queue, oldest first, each with its timer.
 *
 * A push to a key somebody waits on, on any worker, ORs the waiters'
 * slots into c->wake, and ngx_http_kvmq_exec() wakes them through the
 * eventfds of ngx_http_kvmq_notify.c, as PUBLISH does.  A woken worker
 * retries its parked commands in order: under the lock, the engine pops
 * only for a key's oldest waiter, so waiters of one key are served in
 * the order they came whichever worker holds them; the reply goes out
 * after the unlock.  The notify timer's 1 s tick retries too, which
 * catches a lost hint; delivery never waits for it.
 *
 * A client that goes away: before a retry the connection is checked
 * (a peek at the socket), and a gone client is cancelled instead of
 * served, so it consumes nothing.  The pool a parked command lives in
 * has a cleanup that cancels it (its waiter records leave the zone and
 * the next waiters are woken), which covers an HTTP client closing and a
 * WebSocket connection going away.  Timeouts are nginx timers; on a
 * graceful shutdown (reload, quit) every parked command is answered as
 * if it had timed out.
 */


#include "ngx_http_kvmq_block.h"
#include "ngx_http_kvmq_notify.h"


static ngx_int_t ngx_http_kvmq_block_exec(ngx_http_kvmq_block_t *bl,
    ngx_http_kvmq_val_t **v);
static void ngx_http_kvmq_block_park(ngx_http_kvmq_block_t *bl,
    int64_t timeout);
static void ngx_http_kvmq_block_unpark(ngx_http_kvmq_block_t *bl);
static void ngx_http_kvmq_block_cancel(ngx_http_kvmq_block_t *bl);
static void ngx_http_kvmq_block_cleanup(void *data);
static void ngx_http_kvmq_block_timeout(ngx_event_t *ev);
static void ngx_http_kvmq_block_shutdown(void);
static ngx_uint_t ngx_http_kvmq_block_alive(ngx_http_kvmq_block_t *bl);
static ngx_int_t ngx_http_kvmq_block_http_send(ngx_http_request_t *r,
    ngx_http_kvmq_block_t *bl, ngx_http_kvmq_val_t *v);
static void ngx_http_kvmq_block_http_done(ngx_http_kvmq_block_t *bl,
    ngx_http_kvmq_val_t *v);
static void ngx_http_kvmq_block_ws_done(ngx_http_kvmq_block_t *bl,
    ngx_http_kvmq_val_t *v);


typedef struct {
    ngx_http_kvmq_ws_t         *ws;
    ngx_str_t                   id;
} ngx_http_kvmq_block_ws_t;


/* per zone: the slot's wake count last seen, and whether it moved */
typedef struct {
    ngx_http_kvmq_zone_t       *zone;
    uint64_t                    seen;
    ngx_uint_t                  dirty;
} ngx_http_kvmq_block_zone_t;


#define NGX_HTTP_KVMQ_BLOCK_FULL   1000     /* ms between full retries */


static ngx_queue_t                  ngx_http_kvmq_block_parked;
static ngx_uint_t                   ngx_http_kvmq_block_slot;
static ngx_uint_t                   ngx_http_kvmq_block_ready;
static ngx_http_kvmq_block_zone_t  *ngx_http_kvmq_block_zones;
static ngx_uint_t                   ngx_http_kvmq_block_nzones;
static ngx_msec_t                   ngx_http_kvmq_block_full;


ngx_int_t
ngx_http_kvmq_block_init_process(ngx_cycle_t *cycle, ngx_uint_t slot,
    ngx_uint_t nslots)
{
    ngx_uint_t                   i, s;
    kvmq_ctx_t                   c;
    ngx_http_kvmq_zone_t       **zones;
    ngx_http_kvmq_main_conf_t   *kmcf;

    ngx_queue_init(&ngx_http_kvmq_block_parked);
    ngx_http_kvmq_block_slot = slot;
    ngx_http_kvmq_block_ready = 1;

    kmcf = ngx_http_cycle_get_module_main_conf(cycle, ngx_http_kvmq_module);
    zones = kmcf->zones.elts;

    ngx_http_kvmq_block_zones = ngx_pcalloc(cycle->pool,
                                  (kmcf->zones.nelts + 1)
                                  * sizeof(ngx_http_kvmq_block_zone_t));
    if (ngx_http_kvmq_block_zones == NULL) {
        return NGX_ERROR;
    }

    ngx_http_kvmq_block_nzones = kmcf->zones.nelts;

    /* waiters a previous holder of the slot left (a crashed worker, the
     * old worker of a reload) must not stand first in line */

    for (i = 0; i < kmcf->zones.nelts; i++) {
        ngx_memzero(&c, sizeof(kvmq_ctx_t));
        c.db = zones[i]->db;
        c.alloc = &zones[i]->alloc;

        ngx_http_kvmq_block_zones[i].zone = zones[i];

        ngx_shmtx_lock(&zones[i]->shpool->mutex);

        kvmq_block_slot_reset(&c, (unsigned) slot);

        for (s = nslots; slot == 0 && s < 64; s++) {
            kvmq_block_slot_reset(&c, (unsigned) s);
        }

        ngx_shmtx_unlock(&zones[i]->shpool->mutex);
    }

    if (ngx_http_kvmq_notify_on_wake(ngx_http_kvmq_block_process) != NGX_OK)
    {
        return NGX_ERROR;
    }

    return ngx_http_kvmq_notify_on_shutdown(ngx_http_kvmq_block_shutdown);
}


ngx_int_t
ngx_http_kvmq_block_run(ngx_http_kvmq_block_t *bl, ngx_http_kvmq_val_t **v)
{
    ngx_pool_cleanup_t  *cln;

    cln = ngx_pool_cleanup_add(bl->pool, 0);
    if (cln == NULL) {
        return NGX_ERROR;
    }

    cln->handler = ngx_http_kvmq_block_cleanup;
    cln->data = bl;

    bl->id = 0;

    return ngx_http_kvmq_block_exec(bl, v);
}


/*
 * One attempt under the lock.  NGX_OK with *v: answered.  NGX_AGAIN:
 * (still) waiting; a first attempt is parked here.
 */
static ngx_int_t
ngx_http_kvmq_block_exec(ngx_http_kvmq_block_t *bl, ngx_http_kvmq_val_t **v)
{
    ngx_time_t               *tp;
    kvmq_ctx_t                c;
    ngx_http_kvmq_builder_t   b;

    ngx_http_kvmq_builder_init(&b, bl->pool);

    tp = ngx_timeofday();

    ngx_memzero(&c, sizeof(kvmq_ctx_t));
    c.db = bl->zone->db;
    c.alloc = &bl->zone->alloc;
    c.reply = &b.reply;
    c.now_ms = (int64_t) tp->sec * 1000 + tp->msec;
    c.max_value = bl->conf->max_value;
    c.readonly = bl->conf->readonly ? 1 : 0;
    c.owner_slot = (unsigned) ngx_http_kvmq_block_slot;
    c.block = (ngx_http_kvmq_block_ready && !ngx_http_kvmq_notify_exiting())
              ? 1 : 0;
    c.block_id = bl->id;
    c.block_count = bl->count;

    ngx_http_kvmq_builder_reset(&b);

    ngx_shmtx_lock(&bl->zone->shpool->mutex);

    (void) kvmq_exec(&c, bl->argc, bl->argv);

    ngx_shmtx_unlock(&bl->zone->shpool->mutex);

    if (c.wake) {
        ngx_http_kvmq_notify_wake(c.wake);
    }

    if (b.failed) {
        if (c.blocked && !bl->parked) {
            bl->id = c.block_id;
            ngx_http_kvmq_block_cancel(bl);
        }

        return NGX_ERROR;
    }

    if (!c.blocked) {
        bl->id = 0;
        *v = b.root;
        return NGX_OK;
    }

    if (!bl->parked) {
        bl->id = c.block_id;
        ngx_http_kvmq_block_park(bl, c.block_timeout);
    }

    return NGX_AGAIN;
}


static void
ngx_http_kvmq_block_park(ngx_http_kvmq_block_t *bl, int64_t timeout)
{
    ngx_msec_t  ms;

    ms = bl->wait ? bl->wait : (ngx_msec_t) timeout;

    bl->parked = 1;
    ngx_queue_insert_tail(&ngx_http_kvmq_block_parked, &bl->queue);

    bl->timer.handler = ngx_http_kvmq_block_timeout;
    bl->timer.data = bl;
    bl->timer.log = bl->connection->log;

    /* 0 waits forever; a wait past 24 days as well (timer range) */
    if (ms && ms <= NGX_MAX_INT32_VALUE) {
        ngx_add_timer(&bl->timer, ms);
    }
}


static void
ngx_http_kvmq_block_unpark(ngx_http_kvmq_block_t *bl)
{
    if (!bl->parked) {
        return;
    }

    bl->parked = 0;
    ngx_queue_remove(&bl->queue);

    if (bl->timer.timer_set) {
        ngx_del_timer(&bl->timer);
    }
}


/* drop a parked command's waiter records: its client is gone or done */
static void
ngx_http_kvmq_block_cancel(ngx_http_kvmq_block_t *bl)
{
    ngx_time_t  *tp;
    kvmq_ctx_t   c;

    ngx_http_kvmq_block_unpark(bl);

    if (bl->id == 0) {
        return;
    }

    tp = ngx_timeofday();

    ngx_memzero(&c, sizeof(kvmq_ctx_t));
    c.db = bl->zone->db;
    c.alloc = &bl->zone->alloc;
    c.now_ms = (int64_t) tp->sec * 1000 + tp->msec;

    ngx_shmtx_lock(&bl->zone->shpool->mutex);

    kvmq_block_cancel(&c, bl->id);

    ngx_shmtx_unlock(&bl->zone->shpool->mutex);

    bl->id = 0;

    if (c.wake) {
        ngx_http_kvmq_notify_wake(c.wake);
    }
}


static void
ngx_http_kvmq_block_cleanup(void *data)
{
    ngx_http_kvmq_block_t  *bl = data;

    ngx_http_kvmq_block_cancel(bl);
}


static void
ngx_http_kvmq_block_timeout(ngx_event_t *ev)
{
    ngx_http_kvmq_block_t  *bl;

    bl = ev->data;

    ngx_http_kvmq_block_cancel(bl);
    bl->done(bl, NULL);
}


/*
 * A wake-up: retry the parked commands of the zones where a push woke
 * this slot, oldest first.  Wake-ups for pub/sub come here too and cost
 * one look at a counter per zone; once a second everything is retried
 * (a lost hint, clients gone).
 */
ngx_int_t
ngx_http_kvmq_block_process(void)
{
    uint64_t                     w;
    ngx_int_t                    rc;
    ngx_uint_t                   i, full;
    ngx_queue_t                 *q, *next;
    ngx_http_kvmq_val_t         *v;
    ngx_http_kvmq_block_t       *bl;
    ngx_http_kvmq_block_zone_t  *bz;

    if (!ngx_http_kvmq_block_ready
        || ngx_queue_empty(&ngx_http_kvmq_block_parked))
    {
        return NGX_OK;
    }

    full = (ngx_current_msec - ngx_http_kvmq_block_full
            >= NGX_HTTP_KVMQ_BLOCK_FULL);

    if (full) {
        ngx_http_kvmq_block_full = ngx_current_msec;
    }

    for (i = 0; i < ngx_http_kvmq_block_nzones; i++) {
        bz = &ngx_http_kvmq_block_zones[i];

        ngx_shmtx_lock(&bz->zone->shpool->mutex);

        w = kvmq_block_wakes(bz->zone->db,
                             (unsigned) ngx_http_kvmq_block_slot);

        ngx_shmtx_unlock(&bz->zone->shpool->mutex);

        bz->dirty = full || w != bz->seen;
        bz->seen = w;
    }

    for (q = ngx_queue_head(&ngx_http_kvmq_block_parked);
         q != ngx_queue_sentinel(&ngx_http_kvmq_block_parked);
         q = next)
    {
        next = ngx_queue_next(q);
        bl = ngx_queue_data(q, ngx_http_kvmq_block_t, queue);

        for (i = 0; i < ngx_http_kvmq_block_nzones; i++) {
            if (ngx_http_kvmq_block_zones[i].zone == bl->zone) {
                break;
            }
        }

        if (i < ngx_http_kvmq_block_nzones
            && !ngx_http_kvmq_block_zones[i].dirty)
        {
            continue;
        }

        if (!ngx_http_kvmq_block_alive(bl)) {
            /* gone: it must not pop; its event closes it later */
            ngx_http_kvmq_block_cancel(bl);
            continue;
        }

        rc = ngx_http_kvmq_block_exec(bl, &v);

        if (rc == NGX_AGAIN) {
            continue;
        }

        ngx_http_kvmq_block_unpark(bl);

        /* done() may free bl and close its connection, never another's */
        bl->done(bl, (rc == NGX_OK) ? v : NULL);
    }

    return NGX_OK;
}


/* graceful shutdown: answer everything parked as a timeout would */
static void
ngx_http_kvmq_block_shutdown(void)
{
    ngx_queue_t            *q;
    ngx_http_kvmq_block_t  *bl;

    ngx_http_kvmq_block_ready = 0;

    while (!ngx_queue_empty(&ngx_http_kvmq_block_parked)) {
        q = ngx_queue_head(&ngx_http_kvmq_block_parked);
        bl = ngx_queue_data(q, ngx_http_kvmq_block_t, queue);

        ngx_http_kvmq_block_cancel(bl);
        bl->done(bl, NULL);
    }
}


/*
 * Is the client still there?  A WebSocket that is closing will not take
 * a reply; else a peek: EOF or an error say no.
 */
static ngx_uint_t
ngx_http_kvmq_block_alive(ngx_http_kvmq_block_t *bl)
{
    u_char             buf[1];
    ssize_t            n;
    ngx_err_t          err;
    ngx_connection_t  *c;

    if (bl->ws
        && (bl->ws->close_sent || bl->ws->close_received || bl->ws->closed
            || bl->ws->error || bl->ws->eof))
    {
        return 0;
    }

    c = bl->connection;

    if (c->error || c->close || c->read->eof) {
        return 0;
    }

#if (NGX_HTTP_SSL)
    if (c->ssl) {
        return 1;
    }
#endif

    n = recv(c->fd, buf, 1, MSG_PEEK);

    if (n == 0) {
        return 0;
    }

    if (n == -1) {
        err = ngx_socket_errno;
        return err == NGX_EAGAIN || err == NGX_EINTR;
    }

    return 1;
}


/* ---- HTTP -------------------------------------------------------------- */


/*
 * POST /cmd with one blocking command (count 0, wait 0: the command's
 * timeout) and POST /list/{key}/pop?wait=MS (count > 0: the reply is
 * LPOP's, 204 when nothing came).  Returns what a content handler does.
 */
ngx_int_t
ngx_http_kvmq_block_http(ngx_http_request_t *r, kvmq_slice_t *argv,
    int argc, long long count, ngx_msec_t wait)
{
    ngx_int_t                  rc;
    ngx_http_kvmq_val_t       *v;
    ngx_http_kvmq_block_t     *bl;
    ngx_http_kvmq_loc_conf_t  *klcf;

    klcf = ngx_http_get_module_loc_conf(r, ngx_http_kvmq_module);

    bl = ngx_pcalloc(r->pool, sizeof(ngx_http_kvmq_block_t));
    if (bl == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    /* the caller's argv may be on its stack: a parked retry needs it */
    bl->argv = ngx_palloc(r->pool, argc * sizeof(kvmq_slice_t));
    if (bl->argv == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_memcpy(bl->argv, argv, argc * sizeof(kvmq_slice_t));

    bl->zone = klcf->shm_zone->data;
    bl->conf = klcf;
    bl->connection = r->connection;
    bl->pool = r->pool;
    bl->argc = argc;
    bl->count = count;
    bl->wait = wait;
    bl->done = ngx_http_kvmq_block_http_done;
    bl->data = r;

    rc = ngx_http_kvmq_block_run(bl, &v);

    if (rc == NGX_ERROR) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (rc == NGX_OK) {
        return ngx_http_kvmq_block_http_send(r, bl, v);
    }

    /* parked: a client that closes is finalized (and cancelled) */
    r->main->count++;
    r->read_event_handler = ngx_http_test_reading;
    r->write_event_handler = ngx_http_request_empty_handler;

    return NGX_DONE;
}


static ngx_int_t
ngx_http_kvmq_block_http_send(ngx_http_request_t *r,
    ngx_http_kvmq_block_t *bl, ngx_http_kvmq_val_t *v)
{
    if (bl->count) {
        if (v == NULL || v->type == NGX_HTTP_KVMQ_NIL) {
            return ngx_http_kvmq_send(r, NGX_HTTP_NO_CONTENT, NULL);
        }

        return ngx_http_kvmq_send_val(r, v);
    }

    if (v == NULL) {
        v = ngx_pcalloc(r->pool, sizeof(ngx_http_kvmq_val_t));
        if (v == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        v->type = NGX_HTTP_KVMQ_NIL;
    }

    return ngx_http_kvmq_send_val(r, v);
}


static void
ngx_http_kvmq_block_http_done(ngx_http_kvmq_block_t *bl,
    ngx_http_kvmq_val_t *v)
{
    ngx_http_request_t  *r;

    r = bl->data;

    ngx_http_finalize_request(r, ngx_http_kvmq_block_http_send(r, bl, v));
}


/* ---- WebSocket --------------------------------------------------------- */


ngx_int_t
ngx_http_kvmq_block_ws(ngx_http_kvmq_ws_t *ws, ngx_str_t *id,
    ngx_http_kvmq_argv_t *cmd)
{
    ngx_int_t                  rc;
    ngx_str_t                  msg;
    ngx_http_request_t        *r;
    ngx_http_kvmq_val_t       *v;
    ngx_http_kvmq_block_t     *bl;
    ngx_http_kvmq_block_ws_t  *bw;
    ngx_http_kvmq_loc_conf_t  *klcf;

    r = ws->request;
    klcf = ngx_http_get_module_loc_conf(r, ngx_http_kvmq_module);

    rc = ngx_http_kvmq_check_limits(r, cmd, 1, &msg);

    if (rc == NGX_ERROR) {
        return NGX_ERROR;
    }

    if (rc == NGX_DECLINED) {
        return ngx_http_kvmq_ws_reply_error(ws, id, KVMQ_ERR_TOOLARGE, "%V",
                                            &msg);
    }

    /* r->pool is the message's pool: it lives until the resume */
    bl = ngx_pcalloc(r->pool, sizeof(ngx_http_kvmq_block_t));
    bw = ngx_pcalloc(r->pool, sizeof(ngx_http_kvmq_block_ws_t));

    if (bl == NULL || bw == NULL) {
        return NGX_ERROR;
    }

    bw->ws = ws;
    bw->id = *id;

    bl->zone = klcf->shm_zone->data;
    bl->conf = klcf;
    bl->connection = ws->connection;
    bl->ws = ws;
    bl->pool = r->pool;
    bl->argv = cmd->argv;
    bl->argc = cmd->argc;
    bl->done = ngx_http_kvmq_block_ws_done;
    bl->data = bw;

    rc = ngx_http_kvmq_block_run(bl, &v);

    if (rc == NGX_OK) {
        return ngx_http_kvmq_ws_reply(ws, id, v);
    }

    return rc;
}


static void
ngx_http_kvmq_block_ws_done(ngx_http_kvmq_block_t *bl,
    ngx_http_kvmq_val_t *v)
{
    ngx_http_kvmq_val_t       *nil;
    ngx_http_kvmq_block_ws_t  *bw;

    bw = bl->data;

    if (v == NULL) {
        nil = ngx_pcalloc(bl->pool, sizeof(ngx_http_kvmq_val_t));

        if (nil == NULL) {
            ngx_http_kvmq_ws_close(bw->ws, NGX_HTTP_KVMQ_WS_SERVER_ERROR,
                                   NULL);
            ngx_http_kvmq_ws_resume(bw->ws);
            return;
        }

        nil->type = NGX_HTTP_KVMQ_NIL;
        v = nil;
    }

    if (ngx_http_kvmq_ws_reply(bw->ws, &bw->id, v) == NGX_ERROR) {
        ngx_http_kvmq_ws_close(bw->ws, NGX_HTTP_KVMQ_WS_SERVER_ERROR, NULL);
    }

    /* frees bl and bw with the message's pool */
    ngx_http_kvmq_ws_resume(bw->ws);
}
