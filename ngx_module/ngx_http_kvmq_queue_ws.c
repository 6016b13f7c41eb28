
/*
 * The queue commands of the WebSocket door (API.md "WebSocket"):
 *
 *   CONSUME q [PREFETCH n] [NOACK]     -> "OK"; deliveries are pushed as
 *       {"type":"delivery","queue","tag","body","redelivered",
 *        "exchange","routing_key","properties"}
 *   CANCEL q                           -> "OK"
 *   ACK tag...                         -> number acked
 *   NACK tag... [REQUEUE]              -> number settled (without
 *       REQUEUE they are dead-lettered or dropped)
 *   BIND exchange key [q]              -> {"queue": q}; without q the
 *       connection's own exclusive auto-delete queue (server-named, made
 *       on the first BIND) is bound and consumed (NOACK)
 *   UNBIND exchange key [q]            -> 1 unbound, 0 was not
 *   RPC q body [TIMEOUT ms]            -> the reply body
 *
 * Each connection is an owner of the engine (queue.h): an id unique in
 * the zone, made of this worker's pid and a counter, and this worker's
 * slot.  Its consumer tag on every queue is the owner id in hex, so one
 * connection has at most one consumer per queue, and CANCEL needs only
 * the queue.
 *
 * Deliveries are pushed, not pulled: the engine assigns messages to the
 * consumers' outboxes under the lock of whoever made them ready, and
 * reports the consumers' slots in c->wake; the woken worker (this file's
 * wake hook, run by notify.c) takes what is assigned to its slot and
 * writes each delivery to its connection.  The engine keeps prefetch and
 * round-robin over all consumers of a queue, whatever their worker.
 *
 * A closing connection (on_mq_close) calls kvmq_mq_owner_gone(): its
 * unacked deliveries go back to their queues as redelivered, its
 * exclusive queues are deleted, its RPC address dies.  A worker that
 * exits closes its connections first; one that crashed is cleaned up by
 * its successor in init_process (kvmq_mq_slot_gone for the slot).
 */


#include "queue.h"
#include "rpc.h"

#include "ngx_http_kvmq_ws.h"
#include "ngx_http_kvmq_notify.h"
#include "ngx_http_kvmq_queue_ws.h"


#define NGX_HTTP_KVMQ_WS_TAKE       256
#define NGX_HTTP_KVMQ_WS_RPC_TMO    5000


typedef struct {
    ngx_queue_t                 queue;      /* the worker's connections */
    ngx_http_kvmq_ws_t         *ws;
    ngx_http_kvmq_zone_t       *zone;
    uint64_t                    owner;
    u_char                      ctag[NGX_INT64_LEN];
    size_t                      ctag_len;
    u_char                      own[KVMQ_RPC_ADDR_MAX + 16];
    size_t                      own_len;    /* the BIND queue, 0: none */

    /* a parked RPC */
    ngx_event_t                 timer;
    ngx_str_t                   id;
    kvmq_rpc_call_t             call;
    unsigned                    calling:1;
} ngx_http_kvmq_ws_mq_t;


/* a delivery copied out under the lock */
typedef struct {
    uint64_t                    owner;
    ngx_http_kvmq_val_t        *val;        /* NULL: a cancel notice */
    ngx_str_t                   queue;
} ngx_http_kvmq_ws_dcopy_t;


typedef struct {
    kvmq_ctx_t                 *c;
    ngx_http_kvmq_builder_t    *b;
    ngx_array_t                *out;
    ngx_pool_t                 *pool;
} ngx_http_kvmq_ws_take_t;


static ngx_http_kvmq_ws_mq_t *ngx_http_kvmq_ws_mq(ngx_http_kvmq_ws_t *ws);
static void ngx_http_kvmq_ws_mq_close(ngx_http_kvmq_ws_t *ws);
static ngx_int_t ngx_http_kvmq_ws_mq_wake(void);
static ngx_http_kvmq_ws_mq_t *ngx_http_kvmq_ws_mq_find(uint64_t owner);
static void ngx_http_kvmq_ws_rpc_timeout(ngx_event_t *ev);
static void ngx_http_kvmq_ws_mq_shutdown(void);


static ngx_queue_t  ngx_http_kvmq_ws_mqs;
static ngx_uint_t   ngx_http_kvmq_ws_mqs_init;
static uint64_t     ngx_http_kvmq_ws_owner_seq;


/* ---- connections as owners ----------------------------------------------- */


static void
ngx_http_kvmq_ws_ctx(kvmq_ctx_t *c, ngx_http_kvmq_ws_mq_t *m,
    ngx_http_kvmq_builder_t *b)
{
    ngx_time_t                *tp;
    ngx_http_kvmq_loc_conf_t  *klcf;

    tp = ngx_timeofday();
    klcf = m->ws->conf;

    ngx_memzero(c, sizeof(kvmq_ctx_t));
    c->db = m->zone->db;
    c->alloc = &m->zone->alloc;
    c->now_ms = (int64_t) tp->sec * 1000 + tp->msec;
    c->owner = m->owner;
    c->owner_slot = (unsigned) ngx_http_kvmq_notify_worker_slot();
    c->max_value = klcf->max_value;
    c->readonly = klcf->readonly ? 1 : 0;
    c->reply = b ? &b->reply : NULL;
}


static ngx_http_kvmq_ws_mq_t *
ngx_http_kvmq_ws_mq(ngx_http_kvmq_ws_t *ws)
{
    ngx_http_kvmq_ws_mq_t  *m;

    if (ws->mq) {
        return ws->mq;
    }

    if (ngx_http_kvmq_notify_worker_slot() >= KVMQ_MQ_SLOTS) {
        return NULL;
    }

    if (ngx_http_kvmq_notify_on_wake(ngx_http_kvmq_ws_mq_wake) != NGX_OK
        || ngx_http_kvmq_notify_on_shutdown(ngx_http_kvmq_ws_mq_shutdown)
           != NGX_OK
        || ngx_http_kvmq_rpc_watch() != NGX_OK)
    {
        return NULL;
    }

    m = ngx_calloc(sizeof(ngx_http_kvmq_ws_mq_t), ws->connection->log);
    if (m == NULL) {
        return NULL;
    }

    if (!ngx_http_kvmq_ws_mqs_init) {
        ngx_queue_init(&ngx_http_kvmq_ws_mqs);
        ngx_http_kvmq_ws_mqs_init = 1;
    }

    m->ws = ws;
    m->zone = ws->conf->shm_zone->data;

    /* high bit set: never one of queue_wait.c's RPC owners */
    m->owner = (uint64_t) ngx_pid << 32 | 0x80000000
               | (++ngx_http_kvmq_ws_owner_seq & 0x7fffffff);

    m->ctag_len = ngx_sprintf(m->ctag, "%uxL", m->owner) - m->ctag;

    m->timer.handler = ngx_http_kvmq_ws_rpc_timeout;
    m->timer.data = m;
    m->timer.log = ws->connection->log;

    ngx_queue_insert_tail(&ngx_http_kvmq_ws_mqs, &m->queue);

    ws->mq = m;
    ws->on_mq_close = ngx_http_kvmq_ws_mq_close;

    return m;
}


static ngx_http_kvmq_ws_mq_t *
ngx_http_kvmq_ws_mq_find(uint64_t owner)
{
    ngx_queue_t            *q;
    ngx_http_kvmq_ws_mq_t  *m;

    if (!ngx_http_kvmq_ws_mqs_init) {
        return NULL;
    }

    for (q = ngx_queue_head(&ngx_http_kvmq_ws_mqs);
         q != ngx_queue_sentinel(&ngx_http_kvmq_ws_mqs);
         q = ngx_queue_next(q))
    {
        m = ngx_queue_data(q, ngx_http_kvmq_ws_mq_t, queue);

        if (m->owner == owner) {
            return m;
        }
    }

    return NULL;
}


static void
ngx_http_kvmq_ws_mq_close(ngx_http_kvmq_ws_t *ws)
{
    kvmq_ctx_t              c;
    ngx_http_kvmq_ws_mq_t  *m;

    m = ws->mq;

    if (m == NULL) {
        return;
    }

    ws->mq = NULL;

    if (m->timer.timer_set) {
        ngx_del_timer(&m->timer);
    }

    ngx_queue_remove(&m->queue);

    ngx_http_kvmq_ws_ctx(&c, m, NULL);

    ngx_shmtx_lock(&m->zone->shpool->mutex);
    kvmq_mq_owner_gone(&c, m->owner);
    ngx_shmtx_unlock(&m->zone->shpool->mutex);

    /* what it held goes to the other consumers, wherever they are */
    if (c.wake) {
        ngx_http_kvmq_notify_wake(c.wake);
    }

    ngx_free(m);
}


/* a worker that died took its connections with it: forget its owners */

ngx_int_t
ngx_http_kvmq_queue_init_process(ngx_cycle_t *cycle)
{
    ngx_uint_t                  i, slot;
    kvmq_ctx_t                  c;
    ngx_time_t                 *tp;
    ngx_http_kvmq_zone_t      **zones;
    ngx_http_kvmq_main_conf_t  *kmcf;

    if (ngx_process != NGX_PROCESS_WORKER) {
        return NGX_OK;
    }

    kmcf = ngx_http_cycle_get_module_main_conf(cycle, ngx_http_kvmq_module);
    if (kmcf == NULL) {
        return NGX_OK;
    }

    slot = (ngx_uint_t) ngx_worker;

    if (slot >= KVMQ_MQ_SLOTS) {
        return NGX_OK;
    }

    zones = kmcf->zones.elts;
    tp = ngx_timeofday();

    for (i = 0; i < kmcf->zones.nelts; i++) {
        if (zones[i]->db == NULL) {
            continue;
        }

        ngx_memzero(&c, sizeof(kvmq_ctx_t));
        c.db = zones[i]->db;
        c.alloc = &zones[i]->alloc;
        c.now_ms = (int64_t) tp->sec * 1000 + tp->msec;

        ngx_shmtx_lock(&zones[i]->shpool->mutex);
        kvmq_mq_slot_gone(&c, (unsigned) slot);
        ngx_shmtx_unlock(&zones[i]->shpool->mutex);
    }

    return NGX_OK;
}


/* ---- deliveries ---------------------------------------------------------- */


static int
ngx_http_kvmq_ws_copy(void *arg, const kvmq_delivery_t *d)
{
    ngx_http_kvmq_ws_take_t   *tk;
    ngx_http_kvmq_ws_dcopy_t  *dc;

    tk = arg;

    /* a consumer whose connection went: the engine releases it */
    if (ngx_http_kvmq_ws_mq_find(d->owner) == NULL) {
        return -1;
    }

    dc = ngx_array_push(tk->out);
    if (dc == NULL) {
        return -1;
    }

    ngx_memzero(dc, sizeof(ngx_http_kvmq_ws_dcopy_t));
    dc->owner = d->owner;

    if (d->msg == NULL) {
        dc->queue.data = ngx_pnalloc(tk->pool, d->queue.len + 1);
        if (dc->queue.data == NULL) {
            tk->out->nelts--;
            return 0;
        }

        ngx_memcpy(dc->queue.data, d->queue.data, d->queue.len);
        dc->queue.len = d->queue.len;

        return 0;
    }

    ngx_http_kvmq_builder_reset(tk->b);
    kvmq_queue_reply_delivery(tk->c, d);
    dc->val = tk->b->root;

    if (dc->val == NULL) {
        tk->out->nelts--;
    }

    return 0;
}


static ngx_int_t
ngx_http_kvmq_ws_push(ngx_http_kvmq_ws_mq_t *m, ngx_http_kvmq_ws_dcopy_t *dc)
{
    ngx_int_t              rc;
    ngx_pool_t            *pool, *saved;
    ngx_chain_t           *out;
    ngx_http_request_t    *r;
    ngx_http_kvmq_val_t   *k, *e;
    ngx_http_kvmq_json_t  *j;

    if (m->ws->closed || m->ws->close_sent) {
        return NGX_OK;
    }

    r = m->ws->request;

    pool = ngx_create_pool(4096, m->ws->connection->log);
    if (pool == NULL) {
        return NGX_ERROR;
    }

    saved = r->pool;
    r->pool = pool;

    rc = NGX_ERROR;

    j = ngx_http_kvmq_json_create(r, m->ws->base64);
    if (j == NULL) {
        goto done;
    }

    if (ngx_http_kvmq_json_open(j, 1) != NGX_OK
        || ngx_http_kvmq_json_string(j, (u_char *) "type", 4) != NGX_OK)
    {
        goto done;
    }

    if (dc->val == NULL) {
        if (ngx_http_kvmq_json_string(j, (u_char *) "cancel", 6) != NGX_OK
            || ngx_http_kvmq_json_string(j, (u_char *) "queue", 5) != NGX_OK
            || ngx_http_kvmq_json_data(j, dc->queue.data, dc->queue.len)
               != NGX_OK)
        {
            goto done;
        }

    } else {
        if (ngx_http_kvmq_json_string(j, (u_char *) "delivery", 8)
            != NGX_OK)
        {
            goto done;
        }

        /* the members of the delivery, after "type" */
        for (k = dc->val->child; k && k->next; k = e->next) {
            e = k->next;

            if (ngx_http_kvmq_json_string(j, k->str.data, k->str.len)
                != NGX_OK)
            {
                goto done;
            }

            if (e->type == NGX_HTTP_KVMQ_INT && k->str.len == 11
                && ngx_strncmp(k->str.data, "redelivered", 11) == 0)
            {
                if (ngx_http_kvmq_json_bool(j, e->integer != 0) != NGX_OK) {
                    goto done;
                }

                continue;
            }

            if (ngx_http_kvmq_mq_json(j, e) != NGX_OK) {
                goto done;
            }
        }
    }

    if (ngx_http_kvmq_json_close(j, 1) != NGX_OK) {
        goto done;
    }

    out = ngx_http_kvmq_json_finish(j);
    if (out == NULL) {
        goto done;
    }

    rc = ngx_http_kvmq_ws_send_chain(m->ws, out);

done:

    r->pool = saved;
    ngx_destroy_pool(pool);

    return rc;
}


static ngx_int_t
ngx_http_kvmq_ws_take(ngx_http_kvmq_zone_t *zone, ngx_uint_t slot)
{
    int                        more;
    ngx_uint_t                 i;
    kvmq_ctx_t                 c;
    ngx_time_t                *tp;
    ngx_pool_t                *pool;
    ngx_array_t               *out;
    ngx_http_kvmq_ws_mq_t     *m;
    ngx_http_kvmq_builder_t    b;
    ngx_http_kvmq_ws_take_t    tk;
    ngx_http_kvmq_ws_dcopy_t  *dc;

    pool = ngx_create_pool(16384, ngx_cycle->log);
    if (pool == NULL) {
        return NGX_AGAIN;
    }

    out = ngx_array_create(pool, 64, sizeof(ngx_http_kvmq_ws_dcopy_t));
    if (out == NULL) {
        ngx_destroy_pool(pool);
        return NGX_AGAIN;
    }

    ngx_http_kvmq_builder_init(&b, pool);

    tp = ngx_timeofday();

    ngx_memzero(&c, sizeof(kvmq_ctx_t));
    c.db = zone->db;
    c.alloc = &zone->alloc;
    c.now_ms = (int64_t) tp->sec * 1000 + tp->msec;
    c.reply = &b.reply;

    tk.c = &c;
    tk.b = &b;
    tk.out = out;
    tk.pool = pool;

    ngx_shmtx_lock(&zone->shpool->mutex);

    more = kvmq_queue_pending(zone->db, (unsigned) slot)
           ? kvmq_queue_take(&c, (unsigned) slot, NGX_HTTP_KVMQ_WS_TAKE,
                             ngx_http_kvmq_ws_copy, &tk)
           : 0;

    ngx_shmtx_unlock(&zone->shpool->mutex);

    if (c.wake) {
        ngx_http_kvmq_notify_wake(c.wake);
    }

    dc = out->elts;

    for (i = 0; i < out->nelts; i++) {
        m = ngx_http_kvmq_ws_mq_find(dc[i].owner);

        if (m != NULL && ngx_http_kvmq_ws_push(m, &dc[i]) == NGX_ERROR) {
            ngx_http_kvmq_ws_close(m->ws, NGX_HTTP_KVMQ_WS_SERVER_ERROR,
                                   "out of memory");
        }
    }

    ngx_destroy_pool(pool);

    return more ? NGX_AGAIN : NGX_OK;
}


static ngx_int_t
ngx_http_kvmq_ws_mq_wake(void)
{
    ngx_int_t                   rc;
    ngx_uint_t                  i, slot;
    ngx_http_kvmq_zone_t      **zones;
    ngx_http_kvmq_main_conf_t  *kmcf;

    if (!ngx_http_kvmq_ws_mqs_init || ngx_queue_empty(&ngx_http_kvmq_ws_mqs))
    {
        return NGX_OK;
    }

    kmcf = ngx_http_cycle_get_module_main_conf(ngx_cycle,
                                               ngx_http_kvmq_module);
    zones = kmcf->zones.elts;
    slot = ngx_http_kvmq_notify_worker_slot();
    rc = NGX_OK;

    for (i = 0; i < kmcf->zones.nelts; i++) {
        if (zones[i]->db && ngx_http_kvmq_ws_take(zones[i], slot) != NGX_OK)
        {
            rc = NGX_AGAIN;
        }
    }

    return rc;
}


/* ---- commands ------------------------------------------------------------ */


static ngx_int_t
ngx_http_kvmq_ws_err(ngx_http_kvmq_ws_t *ws, ngx_str_t *id, kvmq_err_e err,
    kvmq_slice_t *q)
{
    switch (err) {

    case KVMQ_ERR_NOTFOUND:
        return ngx_http_kvmq_ws_reply_error(ws, id, err, "no queue '%*s'",
                                            q->len, q->data);

    case KVMQ_ERR_DENIED:
        return ngx_http_kvmq_ws_reply_error(ws, id, err,
                                            "cannot obtain exclusive access "
                                            "to locked queue '%*s'",
                                            q->len, q->data);

    case KVMQ_ERR_PRECONDITION:
        return ngx_http_kvmq_ws_reply_error(ws, id, err,
                                            "already consuming '%*s'",
                                            q->len, q->data);

    default:
        return ngx_http_kvmq_ws_reply_error(ws, id, err, "%s",
                                            kvmq_err_name(err));
    }
}


static ngx_int_t
ngx_http_kvmq_ws_ok(ngx_http_kvmq_ws_t *ws, ngx_str_t *id)
{
    ngx_http_kvmq_val_t  v;

    ngx_memzero(&v, sizeof(ngx_http_kvmq_val_t));
    v.type = NGX_HTTP_KVMQ_STATUS;
    ngx_str_set(&v.str, "OK");

    return ngx_http_kvmq_ws_reply(ws, id, &v);
}


static ngx_int_t
ngx_http_kvmq_ws_int(ngx_http_kvmq_ws_t *ws, ngx_str_t *id, int64_t n)
{
    ngx_http_kvmq_val_t  v;

    ngx_memzero(&v, sizeof(ngx_http_kvmq_val_t));
    v.type = NGX_HTTP_KVMQ_INT;
    v.integer = n;

    return ngx_http_kvmq_ws_reply(ws, id, &v);
}


static ngx_uint_t
ngx_http_kvmq_ws_word(kvmq_slice_t *a, const char *w)
{
    size_t  len;

    len = ngx_strlen(w);

    return a->len == len
           && ngx_strncasecmp((u_char *) a->data, (u_char *) w, len) == 0;
}


static ngx_int_t
ngx_http_kvmq_ws_syntax(ngx_http_kvmq_ws_t *ws, ngx_str_t *id,
    const char *usage)
{
    return ngx_http_kvmq_ws_reply_error(ws, id, KVMQ_ERR_BADREQ,
                                        "syntax: %s", usage);
}


static ngx_int_t
ngx_http_kvmq_ws_check_readonly(ngx_http_kvmq_ws_t *ws, ngx_str_t *id,
    const char *name)
{
    if (ws->conf->readonly) {
        ngx_http_kvmq_ws_reply_error(ws, id, KVMQ_ERR_DENIED,
                                     "'%s' is a write command and this "
                                     "location is read-only", name);
        return NGX_DECLINED;
    }

    return NGX_OK;
}


ngx_int_t
ngx_http_kvmq_ws_consume(ngx_http_kvmq_ws_t *ws, ngx_str_t *id,
    ngx_http_kvmq_argv_t *cmd)
{
    int                     i, noack;
    ngx_int_t               n;
    uint32_t                prefetch;
    kvmq_ctx_t              c;
    kvmq_err_e              err;
    kvmq_slice_t            ctag;
    ngx_http_kvmq_ws_mq_t  *m;

    if (cmd->argc < 2) {
        return ngx_http_kvmq_ws_syntax(ws, id, "CONSUME q [PREFETCH n] "
                                       "[NOACK]");
    }

    if (ngx_http_kvmq_ws_check_readonly(ws, id, "CONSUME") != NGX_OK) {
        return NGX_OK;
    }

    prefetch = 0;
    noack = 0;

    for (i = 2; i < cmd->argc; i++) {
        if (ngx_http_kvmq_ws_word(&cmd->argv[i], "NOACK")) {
            noack = 1;
            continue;
        }

        if (ngx_http_kvmq_ws_word(&cmd->argv[i], "PREFETCH")
            && i + 1 < cmd->argc)
        {
            n = ngx_atoi((u_char *) cmd->argv[i + 1].data,
                         cmd->argv[i + 1].len);

            if (n == NGX_ERROR || n > 65535) {
                return ngx_http_kvmq_ws_reply_error(ws, id, KVMQ_ERR_BADREQ,
                                                    "PREFETCH must be "
                                                    "0 .. 65535");
            }

            prefetch = (uint32_t) n;
            i++;
            continue;
        }

        return ngx_http_kvmq_ws_syntax(ws, id, "CONSUME q [PREFETCH n] "
                                       "[NOACK]");
    }

    m = ngx_http_kvmq_ws_mq(ws);
    if (m == NULL) {
        return NGX_ERROR;
    }

    ctag.data = m->ctag;
    ctag.len = m->ctag_len;

    ngx_http_kvmq_ws_ctx(&c, m, NULL);

    ngx_shmtx_lock(&m->zone->shpool->mutex);
    err = kvmq_queue_consume(&c, &cmd->argv[1], &ctag, m->owner,
                             c.owner_slot, prefetch, noack);
    ngx_shmtx_unlock(&m->zone->shpool->mutex);

    if (c.wake) {
        ngx_http_kvmq_notify_wake(c.wake);
    }

    if (err != KVMQ_OK) {
        return ngx_http_kvmq_ws_err(ws, id, err, &cmd->argv[1]);
    }

    return ngx_http_kvmq_ws_ok(ws, id);
}


ngx_int_t
ngx_http_kvmq_ws_cancel(ngx_http_kvmq_ws_t *ws, ngx_str_t *id,
    ngx_http_kvmq_argv_t *cmd)
{
    kvmq_ctx_t              c;
    kvmq_err_e              err;
    kvmq_slice_t            ctag;
    ngx_http_kvmq_ws_mq_t  *m;

    if (cmd->argc != 2) {
        return ngx_http_kvmq_ws_syntax(ws, id, "CANCEL q");
    }

    m = ngx_http_kvmq_ws_mq(ws);
    if (m == NULL) {
        return NGX_ERROR;
    }

    ctag.data = m->ctag;
    ctag.len = m->ctag_len;

    ngx_http_kvmq_ws_ctx(&c, m, NULL);

    ngx_shmtx_lock(&m->zone->shpool->mutex);
    err = kvmq_queue_cancel(&c, &cmd->argv[1], &ctag);
    ngx_shmtx_unlock(&m->zone->shpool->mutex);

    if (c.wake) {
        ngx_http_kvmq_notify_wake(c.wake);
    }

    if (err != KVMQ_OK) {
        return ngx_http_kvmq_ws_reply_error(ws, id, err,
                                            "not consuming '%*s'",
                                            cmd->argv[1].len,
                                            cmd->argv[1].data);
    }

    return ngx_http_kvmq_ws_ok(ws, id);
}


/* ACK tag... and NACK tag... [REQUEUE] */

ngx_int_t
ngx_http_kvmq_ws_settle(ngx_http_kvmq_ws_t *ws, ngx_str_t *id,
    ngx_http_kvmq_argv_t *cmd)
{
    int                     i, n;
    uint64_t                bad, *tags;
    kvmq_ctx_t              c;
    kvmq_err_e              err;
    ngx_uint_t              nack;
    kvmq_settle_e           how;
    ngx_http_kvmq_ws_mq_t  *m;

    nack = ngx_http_kvmq_ws_word(&cmd->argv[0], "NACK");
    n = cmd->argc - 1;
    how = KVMQ_SETTLE_ACK;

    if (nack) {
        how = KVMQ_SETTLE_REJECT;

        if (n > 0 && ngx_http_kvmq_ws_word(&cmd->argv[cmd->argc - 1],
                                           "REQUEUE"))
        {
            how = KVMQ_SETTLE_REQUEUE;
            n--;
        }
    }

    if (n < 1) {
        return ngx_http_kvmq_ws_syntax(ws, id, nack ? "NACK tag... [REQUEUE]"
                                                    : "ACK tag...");
    }

    tags = ngx_palloc(ws->request->pool, n * sizeof(uint64_t));
    if (tags == NULL) {
        return NGX_ERROR;
    }

    for (i = 0; i < n; i++) {
        if (ngx_http_kvmq_parse_seq(cmd->argv[i + 1].data,
                                    cmd->argv[i + 1].len, &tags[i])
            != NGX_OK)
        {
            return ngx_http_kvmq_ws_reply_error(ws, id, KVMQ_ERR_BADREQ,
                                                "a delivery tag is a "
                                                "number");
        }
    }

    m = ngx_http_kvmq_ws_mq(ws);
    if (m == NULL) {
        return NGX_ERROR;
    }

    ngx_http_kvmq_ws_ctx(&c, m, NULL);

    bad = 0;

    ngx_shmtx_lock(&m->zone->shpool->mutex);
    err = kvmq_queue_settle(&c, NULL, tags, (unsigned) n, how, m->owner,
                            &bad);
    ngx_shmtx_unlock(&m->zone->shpool->mutex);

    if (c.wake) {
        ngx_http_kvmq_notify_wake(c.wake);
    }

    if (err != KVMQ_OK) {
        return ngx_http_kvmq_ws_reply_error(ws, id, err,
                                            "unknown delivery tag %uL", bad);
    }

    return ngx_http_kvmq_ws_int(ws, id, n);
}


/*
 * BIND x key [q] / UNBIND x key [q]: X.BIND / X.UNBIND run as this
 * connection's owner; without q, the connection's own queue (declared
 * exclusive and auto-delete, and consumed NOACK, on the first BIND).
 */

ngx_int_t
ngx_http_kvmq_ws_bind(ngx_http_kvmq_ws_t *ws, ngx_str_t *id,
    ngx_http_kvmq_argv_t *cmd)
{
    kvmq_ctx_t                c;
    kvmq_err_e                err;
    ngx_uint_t                bind, declared;
    kvmq_slice_t              argv[4], dargv[6], ctag, qname;
    ngx_http_kvmq_val_t      *v, *e, *res;
    ngx_http_kvmq_ws_mq_t    *m;
    ngx_http_kvmq_builder_t   b;

    bind = ngx_http_kvmq_ws_word(&cmd->argv[0], "BIND");

    if (cmd->argc != 3 && cmd->argc != 4) {
        return ngx_http_kvmq_ws_syntax(ws, id, bind
                                       ? "BIND exchange routing_key [q]"
                                       : "UNBIND exchange routing_key [q]");
    }

    if (ngx_http_kvmq_ws_check_readonly(ws, id, bind ? "BIND" : "UNBIND")
        != NGX_OK)
    {
        return NGX_OK;
    }

    m = ngx_http_kvmq_ws_mq(ws);
    if (m == NULL) {
        return NGX_ERROR;
    }

    if (cmd->argc == 3 && !bind && m->own_len == 0) {
        return ngx_http_kvmq_ws_reply_error(ws, id, KVMQ_ERR_NOTFOUND,
                                            "this connection has no queue "
                                            "of its own");
    }

    ngx_http_kvmq_builder_init(&b, ws->request->pool);
    ngx_http_kvmq_ws_ctx(&c, m, &b);

    ngx_http_kvmq_sl_lit(&dargv[0], "Q.DECLARE");
    ngx_http_kvmq_sl_lit(&dargv[1], "");
    ngx_http_kvmq_sl_lit(&dargv[2], "exclusive");
    ngx_http_kvmq_sl_lit(&dargv[3], "1");
    ngx_http_kvmq_sl_lit(&dargv[4], "auto_delete");
    ngx_http_kvmq_sl_lit(&dargv[5], "1");

    if (bind) {
        ngx_http_kvmq_sl_lit(&argv[0], "X.BIND");

    } else {
        ngx_http_kvmq_sl_lit(&argv[0], "X.UNBIND");
    }

    argv[1] = cmd->argv[1];
    argv[3] = cmd->argv[2];

    ctag.data = m->ctag;
    ctag.len = m->ctag_len;

    declared = 0;
    res = NULL;
    v = NULL;
    err = KVMQ_OK;

    ngx_shmtx_lock(&m->zone->shpool->mutex);

    if (cmd->argc == 3 && m->own_len == 0) {
        /* the connection's own queue, named by the server */
        ngx_http_kvmq_builder_reset(&b);
        (void) kvmq_exec(&c, 6, dargv);
        v = b.root;

        if (v && v->type == NGX_HTTP_KVMQ_MAP) {
            for (e = v->child; e && e->next; e = e->next->next) {
                if (e->str.len == 5 && ngx_strncmp(e->str.data, "queue", 5)
                                       == 0
                    && e->next->str.len < sizeof(m->own))
                {
                    m->own_len = e->next->str.len;
                    ngx_memcpy(m->own, e->next->str.data, m->own_len);
                    declared = 1;
                }
            }
        }
    }

    if (cmd->argc == 4) {
        argv[2] = cmd->argv[3];

    } else {
        argv[2].data = m->own;
        argv[2].len = m->own_len;
    }

    if (argv[2].len || cmd->argc == 4) {
        ngx_http_kvmq_builder_reset(&b);
        (void) kvmq_exec(&c, 4, argv);
        res = b.root;
    }

    if (declared) {
        qname.data = m->own;
        qname.len = m->own_len;
        err = kvmq_queue_consume(&c, &qname, &ctag, m->owner, c.owner_slot,
                                 0, 1);
    }

    ngx_shmtx_unlock(&m->zone->shpool->mutex);

    if (c.wake) {
        ngx_http_kvmq_notify_wake(c.wake);
    }

    if (res == NULL) {
        return ngx_http_kvmq_ws_reply(ws, id, v);
    }

    if (res->type == NGX_HTTP_KVMQ_ERROR) {
        return ngx_http_kvmq_ws_reply(ws, id, res);
    }

    if (err != KVMQ_OK) {
        return ngx_http_kvmq_ws_err(ws, id, err, &qname);
    }

    if (!bind) {
        return ngx_http_kvmq_ws_reply(ws, id, res);
    }

    /* {"queue": name} */
    v = ngx_pcalloc(ws->request->pool, 3 * sizeof(ngx_http_kvmq_val_t));
    if (v == NULL) {
        return NGX_ERROR;
    }

    v[0].type = NGX_HTTP_KVMQ_MAP;
    v[0].nelts = 2;
    v[0].child = &v[1];
    v[1].type = NGX_HTTP_KVMQ_BULK;
    ngx_str_set(&v[1].str, "queue");
    v[1].next = &v[2];
    v[2].type = NGX_HTTP_KVMQ_BULK;
    v[2].str.data = (u_char *) argv[2].data;
    v[2].str.len = argv[2].len;

    return ngx_http_kvmq_ws_reply(ws, id, &v[0]);
}


/* ---- RPC ----------------------------------------------------------------- */


ngx_int_t
ngx_http_kvmq_ws_rpc(ngx_http_kvmq_ws_t *ws, ngx_str_t *id,
    ngx_http_kvmq_argv_t *cmd)
{
    ngx_int_t               n;
    kvmq_ctx_t              c;
    kvmq_err_e              err;
    ngx_msec_t              ms;
    ngx_http_kvmq_ws_mq_t  *m;

    ms = NGX_HTTP_KVMQ_WS_RPC_TMO;

    if (cmd->argc == 5 && ngx_http_kvmq_ws_word(&cmd->argv[3], "TIMEOUT")) {
        n = ngx_atoi((u_char *) cmd->argv[4].data, cmd->argv[4].len);

        if (n == NGX_ERROR || n == 0 || n > 86400000) {
            return ngx_http_kvmq_ws_reply_error(ws, id, KVMQ_ERR_BADREQ,
                                                "TIMEOUT must be 1 .. "
                                                "86400000 ms");
        }

        ms = (ngx_msec_t) n;

    } else if (cmd->argc != 3) {
        return ngx_http_kvmq_ws_syntax(ws, id, "RPC q body [TIMEOUT ms]");
    }

    if (ngx_http_kvmq_ws_check_readonly(ws, id, "RPC") != NGX_OK) {
        return NGX_OK;
    }

    m = ngx_http_kvmq_ws_mq(ws);
    if (m == NULL) {
        return NGX_ERROR;
    }

    ngx_http_kvmq_ws_ctx(&c, m, NULL);

    ngx_shmtx_lock(&m->zone->shpool->mutex);
    err = kvmq_rpc_call(&c, &cmd->argv[1], &cmd->argv[2], NULL, 0, m->owner,
                        c.owner_slot, (int64_t) ms + 1000, &m->call);
    ngx_shmtx_unlock(&m->zone->shpool->mutex);

    if (c.wake) {
        ngx_http_kvmq_notify_wake(c.wake);
    }

    if (err != KVMQ_OK) {
        return ngx_http_kvmq_ws_err(ws, id, err, &cmd->argv[1]);
    }

    m->id = *id;
    m->calling = 1;

    ngx_add_timer(&m->timer, ms);

    return NGX_AGAIN;
}


static void
ngx_http_kvmq_ws_rpc_timeout(ngx_event_t *ev)
{
    kvmq_ctx_t              c;
    kvmq_slice_t            addr;
    ngx_http_kvmq_ws_mq_t  *m;

    m = ev->data;

    if (!m->calling) {
        return;
    }

    m->calling = 0;

    addr.data = (const unsigned char *) m->call.addr;
    addr.len = m->call.alen;

    ngx_http_kvmq_ws_ctx(&c, m, NULL);

    ngx_shmtx_lock(&m->zone->shpool->mutex);
    (void) kvmq_rpc_close(&c, &addr);
    ngx_shmtx_unlock(&m->zone->shpool->mutex);

    if (ngx_http_kvmq_ws_reply_error(m->ws, &m->id, KVMQ_ERR_TIMEOUT,
                                     "no reply within the timeout")
        == NGX_ERROR)
    {
        ngx_http_kvmq_ws_close(m->ws, NGX_HTTP_KVMQ_WS_SERVER_ERROR,
                               "out of memory");
    }

    ngx_http_kvmq_ws_resume(m->ws);
}


/*
 * Graceful shutdown (reload, quit): a parked RPC call is answered as its
 * timeout would, so that the connection's close (1012) is not held back
 * until the call's own deadline.
 */

static void
ngx_http_kvmq_ws_mq_shutdown(void)
{
    ngx_queue_t            *q, *next;
    ngx_http_kvmq_ws_mq_t  *m;

    if (!ngx_http_kvmq_ws_mqs_init) {
        return;
    }

    /* the answer may close the connection and take m off the list */
    for (q = ngx_queue_head(&ngx_http_kvmq_ws_mqs);
         q != ngx_queue_sentinel(&ngx_http_kvmq_ws_mqs);
         q = next)
    {
        next = ngx_queue_next(q);
        m = ngx_queue_data(q, ngx_http_kvmq_ws_mq_t, queue);

        if (m->calling) {
            if (m->timer.timer_set) {
                ngx_del_timer(&m->timer);
            }

            ngx_http_kvmq_ws_rpc_timeout(&m->timer);
        }
    }
}


/*
 * A reply taken by queue_wait.c for an address no HTTP caller waits on:
 * NGX_OK when it was this worker's WebSocket caller's.
 */

ngx_int_t
ngx_http_kvmq_ws_rpc_reply(ngx_str_t *addr, ngx_str_t *body)
{
    ngx_queue_t            *q;
    ngx_http_kvmq_val_t     v;
    ngx_http_kvmq_ws_mq_t  *m;

    if (!ngx_http_kvmq_ws_mqs_init) {
        return NGX_DECLINED;
    }

    for (q = ngx_queue_head(&ngx_http_kvmq_ws_mqs);
         q != ngx_queue_sentinel(&ngx_http_kvmq_ws_mqs);
         q = ngx_queue_next(q))
    {
        m = ngx_queue_data(q, ngx_http_kvmq_ws_mq_t, queue);

        if (!m->calling || m->call.alen != addr->len
            || ngx_strncmp(m->call.addr, addr->data, addr->len) != 0)
        {
            continue;
        }

        m->calling = 0;

        if (m->timer.timer_set) {
            ngx_del_timer(&m->timer);
        }

        ngx_memzero(&v, sizeof(ngx_http_kvmq_val_t));
        v.type = NGX_HTTP_KVMQ_BULK;
        v.str = *body;

        if (ngx_http_kvmq_ws_reply(m->ws, &m->id, &v) == NGX_ERROR) {
            ngx_http_kvmq_ws_close(m->ws, NGX_HTTP_KVMQ_WS_SERVER_ERROR,
                                   "out of memory");
        }

        ngx_http_kvmq_ws_resume(m->ws);

        return NGX_OK;
    }

    return NGX_DECLINED;
}
