
/*
 * Cross-worker wake-ups, and the fan-out of pub/sub messages to the
 * subscribers this worker holds.
 *
 * Wake-ups.  In init_module (in the master, before fork) every cycle
 * makes one eventfd per worker slot (worker_processes of them, slot =
 * ngx_worker) and keeps them in the cycle's pool, whose cleanup closes
 * them in the master when the cycle is replaced; workers inherit the
 * set of their own cycle only.  Each worker watches its own eventfd
 * through a fake connection (as nginx's channel is watched), and writes
 * to another slot's eventfd to wake it.  A wake-up carries nothing: the
 * woken worker reads the counter to reset it and looks at the zone.
 * Waking its own slot, a worker just posts an event.
 *
 * What the woken worker does.  The engine keeps, per slot, the list of
 * channels with messages the slot has not consumed (pubsub.c).  The
 * worker takes the zone lock once, copies out up to a budget of those
 * messages into a temporary pool, unlocks, orders them by their zone-
 * wide publish number and fans each one out to its subscribers of that
 * channel and of matching patterns; a subscriber only takes messages
 * past the last seq it got, which is how a subscriber that replayed the
 * history joins the live stream without a gap or a duplicate.  With more
 * left than the budget, the worker posts itself another round after the
 * other events.  A cancelable 1 s timer catches a lost hint; delivery
 * never waits for it.  No worker asks another anything, and nothing but
 * the hint crosses processes.
 *
 * Generations.  In init_process a worker claims its slot in each zone
 * (kvmq_pubsub_slot_reset), which bumps the slot's generation: counts
 * and pending messages left by the previous holder of the slot (a worker
 * that crashed, or the old worker of a reload) are dead from then on,
 * so PUBLISH counts stay right and nothing in the zone points at a gone
 * worker for longer than the cron takes to reclaim it.  Worker 0 also
 * resets the slots past worker_processes, which only old workers of a
 * bigger configuration can have used.  An old worker, still running
 * after a reload, consumes nothing more (its generation is dead) and
 * gets no wake-ups (its cycle's eventfds are no longer written to); its
 * subscribers are closed on its graceful shutdown and resume elsewhere.
 *
 * Graceful shutdown.  The fake connection is marked idle, so the
 * ngx_close_idle_connections() of a graceful shutdown calls its handler
 * with c->close set: the worker then runs the transports' shutdown
 * handlers (SSE and WebSocket connections are closed after flushing) and
 * stops listening for wake-ups.  The connection is flagged as a channel,
 * so it is never reported as a socket left open.
 *
 * The local registry (process memory): per zone, a red-black tree of the
 * channels this worker has subscribers of, each with a queue of them,
 * and a queue of pattern subscribers.
 */


#include <sys/eventfd.h>

#include "ngx_http_kvmq_notify.h"
#include "ngx_http_kvmq_block.h"


#define NGX_HTTP_KVMQ_NOTIFY_BUDGET     4096        /* messages */
#define NGX_HTTP_KVMQ_NOTIFY_BYTES      (4 * 1024 * 1024)
#define NGX_HTTP_KVMQ_NOTIFY_TIMER      1000
#define NGX_HTTP_KVMQ_NOTIFY_HOOKS      8
#define NGX_HTTP_KVMQ_UNSUB_BATCH       64


/* one cycle's eventfds, in the cycle's pool */
typedef struct {
    ngx_fd_t                   *fds;
    ngx_uint_t                  n;
} ngx_http_kvmq_notify_fds_t;


/* this worker's subscribers of one zone */
typedef struct {
    ngx_rbtree_t                chans;
    ngx_rbtree_node_t           sentinel;
    ngx_queue_t                 patterns;
    uint64_t                    gen;        /* 0: pub/sub unusable */
} ngx_http_kvmq_pszone_t;


struct ngx_http_kvmq_lchan_s {
    ngx_str_node_t              sn;         /* first: the tree's node */
    ngx_queue_t                 subs;
};


/* what a consume or a replay copies out */
typedef struct {
    ngx_pool_t                 *pool;
    ngx_array_t                *msgs;
    const u_char               *last_name;  /* the engine's, to reuse */
    ngx_str_t                   name;
    size_t                      bytes;      /* copied so far */
    size_t                      limit;      /* a round's bytes, 0: none */
    ngx_uint_t                  failed;
} ngx_http_kvmq_copy_t;


static void ngx_http_kvmq_notify_cleanup(void *data);
static void ngx_http_kvmq_notify_read(ngx_event_t *rev);
static void ngx_http_kvmq_notify_posted(ngx_event_t *ev);
static void ngx_http_kvmq_notify_timer_handler(ngx_event_t *ev);
static void ngx_http_kvmq_notify_shutdown(void);
static void ngx_http_kvmq_notify_process(void);
static ngx_int_t ngx_http_kvmq_notify_consume(ngx_http_kvmq_zone_t *zone);
static void ngx_http_kvmq_fanout(ngx_http_kvmq_pszone_t *pz,
    ngx_http_kvmq_msg_t *m);
static int ngx_http_kvmq_copy_msg(void *arg, const kvmq_slice_t *channel,
    const kvmq_pubmsg_t *pm);
static int ngx_http_kvmq_gid_cmp(const void *a, const void *b);
static void ngx_http_kvmq_ctx_init(kvmq_ctx_t *c,
    ngx_http_kvmq_zone_t *zone);
static ngx_http_kvmq_lchan_t *ngx_http_kvmq_lchan_get(
    ngx_http_kvmq_pszone_t *pz, ngx_str_t *name, ngx_uint_t create);


static ngx_fd_t                   *ngx_http_kvmq_notify_fds;
static ngx_uint_t                  ngx_http_kvmq_notify_n;
static ngx_uint_t                  ngx_http_kvmq_notify_slot;
static ngx_uint_t                  ngx_http_kvmq_notify_active;
static ngx_uint_t                  ngx_http_kvmq_notify_leaving;
static ngx_connection_t           *ngx_http_kvmq_notify_conn;
static ngx_http_kvmq_main_conf_t  *ngx_http_kvmq_notify_kmcf;
static ngx_event_t                 ngx_http_kvmq_notify_post_ev;
static ngx_event_t                 ngx_http_kvmq_notify_timer_ev;

static ngx_http_kvmq_shutdown_pt
    ngx_http_kvmq_notify_hooks[NGX_HTTP_KVMQ_NOTIFY_HOOKS];
static ngx_uint_t                  ngx_http_kvmq_notify_nhooks;

static ngx_http_kvmq_wake_pt
    ngx_http_kvmq_notify_wake_hooks[NGX_HTTP_KVMQ_NOTIFY_HOOKS];
static ngx_uint_t                  ngx_http_kvmq_notify_nwake;


/* ---- set-up ------------------------------------------------------------ */


/* the zone's history settings; a reload may change them */
ngx_int_t
ngx_http_kvmq_notify_init_zone(ngx_http_kvmq_zone_t *zone)
{
    int          rc;
    kvmq_ctx_t   c;

    ngx_memzero(&c, sizeof(kvmq_ctx_t));
    c.db = zone->db;
    c.alloc = &zone->alloc;

    ngx_shmtx_lock(&zone->shpool->mutex);
    rc = kvmq_pubsub_configure(&c, zone->history, zone->history_ttl);
    ngx_shmtx_unlock(&zone->shpool->mutex);

    return (rc == 0) ? NGX_OK : NGX_ERROR;
}


ngx_int_t
ngx_http_kvmq_notify_init_module(ngx_cycle_t *cycle)
{
    ngx_uint_t                   i, n;
    ngx_core_conf_t             *ccf;
    ngx_pool_cleanup_t          *cln;
    ngx_http_kvmq_main_conf_t   *kmcf;
    ngx_http_kvmq_notify_fds_t  *nf;

    kmcf = ngx_http_cycle_get_module_main_conf(cycle, ngx_http_kvmq_module);

    if (kmcf == NULL || kmcf->zones.nelts == 0) {
        return NGX_OK;
    }

    ccf = (ngx_core_conf_t *) ngx_get_conf(cycle->conf_ctx, ngx_core_module);

    n = ccf->master ? (ngx_uint_t) ccf->worker_processes : 1;

    if (n > KVMQ_PUBSUB_SLOTS) {
        ngx_log_error(NGX_LOG_EMERG, cycle->log, 0,
                      "kvmq supports at most %d worker processes, "
                      "not %ui", KVMQ_PUBSUB_SLOTS, n);
        return NGX_ERROR;
    }

    nf = ngx_palloc(cycle->pool, sizeof(ngx_http_kvmq_notify_fds_t));
    if (nf == NULL) {
        return NGX_ERROR;
    }

    nf->fds = ngx_palloc(cycle->pool, n * sizeof(ngx_fd_t));
    if (nf->fds == NULL) {
        return NGX_ERROR;
    }

    nf->n = 0;

    cln = ngx_pool_cleanup_add(cycle->pool, 0);
    if (cln == NULL) {
        return NGX_ERROR;
    }

    cln->handler = ngx_http_kvmq_notify_cleanup;
    cln->data = nf;

    for (i = 0; i < n; i++) {
        nf->fds[i] = eventfd(0, EFD_NONBLOCK|EFD_CLOEXEC);

        if (nf->fds[i] == -1) {
            ngx_log_error(NGX_LOG_EMERG, cycle->log, ngx_errno,
                          "kvmq: eventfd() failed");
            return NGX_ERROR;
        }

        nf->n++;
    }

    kmcf->notify = nf;

    return NGX_OK;
}


static void
ngx_http_kvmq_notify_cleanup(void *data)
{
    ngx_http_kvmq_notify_fds_t  *nf = data;

    ngx_uint_t  i;

    for (i = 0; i < nf->n; i++) {
        if (nf->fds[i] != -1 && close(nf->fds[i]) == -1) {
            ngx_log_error(NGX_LOG_ALERT, ngx_cycle->log, ngx_errno,
                          "kvmq: close() of an eventfd failed");
        }
    }

    nf->n = 0;
}


ngx_int_t
ngx_http_kvmq_notify_init_process(ngx_cycle_t *cycle)
{
    ngx_fd_t                     fd;
    ngx_uint_t                   i, slot;
    kvmq_ctx_t                   c;
    ngx_event_t                 *rev;
    ngx_connection_t            *conn;
    ngx_http_kvmq_zone_t       **zones;
    ngx_http_kvmq_pszone_t      *pz;
    ngx_http_kvmq_main_conf_t   *kmcf;
    ngx_http_kvmq_notify_fds_t  *nf;

    if (ngx_process != NGX_PROCESS_WORKER
        && ngx_process != NGX_PROCESS_SINGLE)
    {
        return NGX_OK;
    }

    kmcf = ngx_http_cycle_get_module_main_conf(cycle, ngx_http_kvmq_module);

    if (kmcf == NULL || kmcf->notify == NULL) {
        return NGX_OK;
    }

    nf = kmcf->notify;
    slot = (ngx_process == NGX_PROCESS_WORKER) ? (ngx_uint_t) ngx_worker : 0;

    if (slot >= nf->n) {
        ngx_log_error(NGX_LOG_ALERT, cycle->log, 0,
                      "kvmq: worker %ui has no notification slot", slot);
        return NGX_OK;
    }

    /* claim the slot in every zone */

    zones = kmcf->zones.elts;

    for (i = 0; i < kmcf->zones.nelts; i++) {

        pz = ngx_pcalloc(cycle->pool, sizeof(ngx_http_kvmq_pszone_t));
        if (pz == NULL) {
            return NGX_ERROR;
        }

        ngx_rbtree_init(&pz->chans, &pz->sentinel, ngx_str_rbtree_insert_value);
        ngx_queue_init(&pz->patterns);

        ngx_http_kvmq_ctx_init(&c, zones[i]);

        ngx_shmtx_lock(&zones[i]->shpool->mutex);

        /* worker 0 also resets the slots past worker_processes */
        pz->gen = kvmq_pubsub_slot_reset(&c, slot, slot == 0
                                                   ? nf->n
                                                   : KVMQ_PUBSUB_SLOTS);

        ngx_shmtx_unlock(&zones[i]->shpool->mutex);

        if (pz->gen == 0) {
            ngx_log_error(NGX_LOG_ERR, cycle->log, 0,
                          "kvmq_zone \"%V\" is full: no pub/sub in this "
                          "worker", &zones[i]->name);
        }

        zones[i]->pubsub = pz;
    }

    if (ngx_http_kvmq_block_init_process(cycle, slot, nf->n) != NGX_OK) {
        return NGX_ERROR;
    }

    /* watch our eventfd */

    fd = nf->fds[slot];

    conn = ngx_get_connection(fd, cycle->log);
    if (conn == NULL) {
        return NGX_ERROR;
    }

    conn->pool = cycle->pool;
    conn->idle = 1;

    rev = conn->read;
    rev->log = cycle->log;
    conn->write->log = cycle->log;
    rev->channel = 1;
    conn->write->channel = 1;
    rev->handler = ngx_http_kvmq_notify_read;

    if (ngx_add_conn && (ngx_event_flags & NGX_USE_EPOLL_EVENT) == 0) {
        if (ngx_add_conn(conn) == NGX_ERROR) {
            ngx_free_connection(conn);
            return NGX_ERROR;
        }

    } else {
        if (ngx_add_event(rev, NGX_READ_EVENT, 0) == NGX_ERROR) {
            ngx_free_connection(conn);
            return NGX_ERROR;
        }
    }

    ngx_http_kvmq_notify_fds = nf->fds;
    ngx_http_kvmq_notify_n = nf->n;
    ngx_http_kvmq_notify_slot = slot;
    ngx_http_kvmq_notify_conn = conn;
    ngx_http_kvmq_notify_kmcf = kmcf;
    ngx_http_kvmq_notify_active = 1;

    ngx_http_kvmq_notify_post_ev.handler = ngx_http_kvmq_notify_posted;
    ngx_http_kvmq_notify_post_ev.log = cycle->log;
    ngx_http_kvmq_notify_post_ev.data = conn;

    ngx_http_kvmq_notify_timer_ev.handler =
                                         ngx_http_kvmq_notify_timer_handler;
    ngx_http_kvmq_notify_timer_ev.log = cycle->log;
    ngx_http_kvmq_notify_timer_ev.data = conn;
    ngx_http_kvmq_notify_timer_ev.cancelable = 1;

    ngx_add_timer(&ngx_http_kvmq_notify_timer_ev, NGX_HTTP_KVMQ_NOTIFY_TIMER);

    return NGX_OK;
}


static void
ngx_http_kvmq_ctx_init(kvmq_ctx_t *c, ngx_http_kvmq_zone_t *zone)
{
    ngx_time_t  *tp;

    tp = ngx_timeofday();

    ngx_memzero(c, sizeof(kvmq_ctx_t));
    c->db = zone->db;
    c->alloc = &zone->alloc;
    c->now_ms = (int64_t) tp->sec * 1000 + tp->msec;
}


ngx_int_t
ngx_http_kvmq_notify_on_shutdown(ngx_http_kvmq_shutdown_pt h)
{
    ngx_uint_t  i;

    for (i = 0; i < ngx_http_kvmq_notify_nhooks; i++) {
        if (ngx_http_kvmq_notify_hooks[i] == h) {
            return NGX_OK;
        }
    }

    if (ngx_http_kvmq_notify_nhooks == NGX_HTTP_KVMQ_NOTIFY_HOOKS) {
        return NGX_ERROR;
    }

    ngx_http_kvmq_notify_hooks[ngx_http_kvmq_notify_nhooks++] = h;

    return NGX_OK;
}


/*
 * h runs after every wake-up and every timer round of this worker, for
 * doors whose waiters are not pub/sub subscribers (parked queue gets,
 * RPC callers, queue consumers): they re-read the zone themselves.
 */

ngx_int_t
ngx_http_kvmq_notify_on_wake(ngx_http_kvmq_wake_pt h)
{
    ngx_uint_t  i;

    for (i = 0; i < ngx_http_kvmq_notify_nwake; i++) {
        if (ngx_http_kvmq_notify_wake_hooks[i] == h) {
            return NGX_OK;
        }
    }

    if (ngx_http_kvmq_notify_nwake == NGX_HTTP_KVMQ_NOTIFY_HOOKS) {
        return NGX_ERROR;
    }

    ngx_http_kvmq_notify_wake_hooks[ngx_http_kvmq_notify_nwake++] = h;

    return NGX_OK;
}


ngx_uint_t
ngx_http_kvmq_notify_worker_slot(void)
{
    return ngx_http_kvmq_notify_slot;
}


ngx_uint_t
ngx_http_kvmq_notify_exiting(void)
{
    return ngx_http_kvmq_notify_leaving || ngx_exiting || ngx_quit
           || ngx_terminate;
}


ngx_int_t
ngx_http_kvmq_parse_seq(const u_char *p, size_t len, uint64_t *seq)
{
    size_t    i;
    uint64_t  n;

    if (!ngx_http_kvmq_is_uint(p, len)) {
        return NGX_DECLINED;
    }

    n = 0;

    for (i = 0; i < len; i++) {
        if (n > (UINT64_MAX - (p[i] - '0')) / 10) {
            return NGX_DECLINED;
        }

        n = n * 10 + (p[i] - '0');
    }

    *seq = n;

    return NGX_OK;
}


/* ---- wake-ups ---------------------------------------------------------- */


void
ngx_http_kvmq_notify_wake(uint64_t mask)
{
    ngx_uint_t  i;
    uint64_t    one;

    if (!ngx_http_kvmq_notify_active) {
        return;
    }

    one = 1;

    for (i = 0; i < ngx_http_kvmq_notify_n; i++) {

        if (!(mask & ((uint64_t) 1 << i))) {
            continue;
        }

        if (i == ngx_http_kvmq_notify_slot) {
            if (!ngx_http_kvmq_notify_post_ev.posted) {
                ngx_post_event(&ngx_http_kvmq_notify_post_ev,
                               &ngx_posted_events);
            }

            continue;
        }

        /* a full counter (EAGAIN) already means "wake up" */
        if (write(ngx_http_kvmq_notify_fds[i], &one, sizeof(uint64_t)) == -1
            && ngx_errno != NGX_EAGAIN)
        {
            ngx_log_error(NGX_LOG_ALERT, ngx_cycle->log, ngx_errno,
                          "kvmq: write() to the eventfd of worker %ui "
                          "failed", i);
        }
    }
}


static void
ngx_http_kvmq_notify_read(ngx_event_t *rev)
{
    ssize_t            n;
    uint64_t           v;
    ngx_connection_t  *c;

    c = rev->data;

    if (c->close) {
        ngx_http_kvmq_notify_shutdown();
        return;
    }

    n = read(c->fd, &v, sizeof(uint64_t));

    if (n == -1 && ngx_errno != NGX_EAGAIN) {
        ngx_log_error(NGX_LOG_ALERT, rev->log, ngx_errno,
                      "kvmq: read() of the eventfd failed");
    }

    ngx_http_kvmq_notify_process();
}


static void
ngx_http_kvmq_notify_posted(ngx_event_t *ev)
{
    ngx_http_kvmq_notify_process();
}


static void
ngx_http_kvmq_notify_timer_handler(ngx_event_t *ev)
{
    if (ngx_http_kvmq_notify_exiting()) {
        return;
    }

    ngx_http_kvmq_notify_process();

    ngx_add_timer(ev, NGX_HTTP_KVMQ_NOTIFY_TIMER);
}


static void
ngx_http_kvmq_notify_shutdown(void)
{
    ngx_uint_t  i;

    if (ngx_http_kvmq_notify_leaving) {
        return;
    }

    ngx_http_kvmq_notify_leaving = 1;
    ngx_http_kvmq_notify_active = 0;

    if (ngx_http_kvmq_notify_timer_ev.timer_set) {
        ngx_del_timer(&ngx_http_kvmq_notify_timer_ev);
    }

    if (ngx_http_kvmq_notify_post_ev.posted) {
        ngx_delete_posted_event(&ngx_http_kvmq_notify_post_ev);
    }

    if (ngx_http_kvmq_notify_conn) {
        /* closes our eventfd: the cycle's cleanup must not close it too */
        ngx_close_connection(ngx_http_kvmq_notify_conn);
        ngx_http_kvmq_notify_conn = NULL;
        ngx_http_kvmq_notify_fds[ngx_http_kvmq_notify_slot] = -1;
    }

    for (i = 0; i < ngx_http_kvmq_notify_nhooks; i++) {
        ngx_http_kvmq_notify_hooks[i]();
    }
}


/* ---- consume and fan out ----------------------------------------------- */


static void
ngx_http_kvmq_notify_process(void)
{
    ngx_int_t               again;
    ngx_uint_t              i;
    ngx_http_kvmq_zone_t  **zones;

    if (!ngx_http_kvmq_notify_active) {
        return;
    }

    zones = ngx_http_kvmq_notify_kmcf->zones.elts;
    again = 0;

    for (i = 0; i < ngx_http_kvmq_notify_kmcf->zones.nelts; i++) {
        if (ngx_http_kvmq_notify_consume(zones[i]) != NGX_OK) {
            again = 1;
        }
    }

    for (i = 0; i < ngx_http_kvmq_notify_nwake; i++) {
        if (ngx_http_kvmq_notify_wake_hooks[i]() != NGX_OK) {
            again = 1;
        }
    }

    /* more than one round's budget: go on after the other events */
    if (again && !ngx_http_kvmq_notify_post_ev.posted) {
        ngx_post_event(&ngx_http_kvmq_notify_post_ev, &ngx_posted_events);
    }
}


/* NGX_OK when all is consumed, NGX_AGAIN when more remains */
static ngx_int_t
ngx_http_kvmq_notify_consume(ngx_http_kvmq_zone_t *zone)
{
    int                      more;
    ngx_uint_t               i;
    kvmq_ctx_t               c;
    ngx_pool_t              *pool;
    ngx_http_kvmq_msg_t     *m;
    ngx_http_kvmq_copy_t     cp;
    ngx_http_kvmq_pszone_t  *pz;

    pz = zone->pubsub;

    if (pz == NULL || pz->gen == 0) {
        return NGX_OK;
    }

    pool = ngx_create_pool(16384, ngx_cycle->log);
    if (pool == NULL) {
        return NGX_AGAIN;
    }

    ngx_memzero(&cp, sizeof(ngx_http_kvmq_copy_t));
    cp.pool = pool;
    cp.limit = NGX_HTTP_KVMQ_NOTIFY_BYTES;

    cp.msgs = ngx_array_create(pool, 64, sizeof(ngx_http_kvmq_msg_t));
    if (cp.msgs == NULL) {
        ngx_destroy_pool(pool);
        return NGX_AGAIN;
    }

    ngx_http_kvmq_ctx_init(&c, zone);

    ngx_shmtx_lock(&zone->shpool->mutex);

    more = kvmq_pubsub_consume(&c, ngx_http_kvmq_notify_slot, pz->gen,
                               NGX_HTTP_KVMQ_NOTIFY_BUDGET,
                               ngx_http_kvmq_copy_msg, &cp);

    ngx_shmtx_unlock(&zone->shpool->mutex);

    /* channel by channel from the engine: back to publish order */
    m = cp.msgs->elts;

    if (cp.msgs->nelts > 1) {
        ngx_qsort(m, cp.msgs->nelts, sizeof(ngx_http_kvmq_msg_t),
                  ngx_http_kvmq_gid_cmp);
    }

    for (i = 0; i < cp.msgs->nelts; i++) {
        ngx_http_kvmq_fanout(pz, &m[i]);
    }

    ngx_destroy_pool(pool);

    return more ? NGX_AGAIN : NGX_OK;
}


static int
ngx_http_kvmq_gid_cmp(const void *a, const void *b)
{
    const ngx_http_kvmq_msg_t  *x = a, *y = b;

    return (x->gid < y->gid) ? -1 : (x->gid > y->gid);
}


/* under the zone lock: copy only */
static int
ngx_http_kvmq_copy_msg(void *arg, const kvmq_slice_t *channel,
    const kvmq_pubmsg_t *pm)
{
    ngx_http_kvmq_copy_t *cp = arg;

    ngx_http_kvmq_msg_t  *m;

    /* a round copies a bounded amount; the rest stays pending */
    if (cp->limit && cp->bytes >= cp->limit) {
        return -1;
    }

    if (channel->data != cp->last_name || channel->len != cp->name.len) {
        cp->name.data = ngx_pnalloc(cp->pool, channel->len + 1);
        if (cp->name.data == NULL) {
            goto failed;
        }

        ngx_memcpy(cp->name.data, channel->data, channel->len);
        cp->name.len = channel->len;
        cp->last_name = channel->data;
    }

    m = ngx_array_push(cp->msgs);
    if (m == NULL) {
        goto failed;
    }

    ngx_memzero(m, sizeof(ngx_http_kvmq_msg_t));

    m->data.data = ngx_pnalloc(cp->pool, pm->data.len + 1);
    if (m->data.data == NULL) {
        cp->msgs->nelts--;
        goto failed;
    }

    ngx_memcpy(m->data.data, pm->data.data, pm->data.len);
    m->data.len = pm->data.len;
    m->channel = cp->name;
    m->seq = pm->seq;
    m->gid = pm->gid;
    m->pool = cp->pool;

    cp->bytes += pm->data.len + channel->len;

    return 0;

failed:

    cp->failed = 1;

    return -1;
}


static void
ngx_http_kvmq_fanout(ngx_http_kvmq_pszone_t *pz, ngx_http_kvmq_msg_t *m)
{
    uint64_t                gap;
    kvmq_slice_t            pat, ch;
    ngx_queue_t            *q, *next;
    ngx_http_kvmq_sub_t    *sub;
    ngx_http_kvmq_lchan_t  *lc;

    lc = ngx_http_kvmq_lchan_get(pz, &m->channel, 0);

    if (lc != NULL) {
        for (q = ngx_queue_head(&lc->subs);
             q != ngx_queue_sentinel(&lc->subs);
             q = next)
        {
            next = ngx_queue_next(q);
            sub = ngx_queue_data(q, ngx_http_kvmq_sub_t, queue);

            if (sub->failed || m->seq <= sub->last) {
                continue;
            }

            gap = (m->seq > sub->last + 1) ? sub->last + 1 : 0;
            sub->last = m->seq;

            if (sub->deliver(sub, m, NULL, gap) != NGX_OK) {
                sub->failed = 1;
            }
        }
    }

    ch.data = m->channel.data;
    ch.len = m->channel.len;

    for (q = ngx_queue_head(&pz->patterns);
         q != ngx_queue_sentinel(&pz->patterns);
         q = next)
    {
        next = ngx_queue_next(q);
        sub = ngx_queue_data(q, ngx_http_kvmq_sub_t, queue);

        pat.data = sub->name.data;
        pat.len = sub->name.len;

        if (sub->failed || m->gid <= sub->last
            || !kvmq_pubsub_match(&pat, &ch))
        {
            continue;
        }

        if (sub->deliver(sub, m, &sub->name, 0) != NGX_OK) {
            sub->failed = 1;
        }
    }
}


/* ---- the local registry ------------------------------------------------ */


static ngx_http_kvmq_lchan_t *
ngx_http_kvmq_lchan_get(ngx_http_kvmq_pszone_t *pz, ngx_str_t *name,
    ngx_uint_t create)
{
    uint32_t                hash;
    ngx_str_node_t         *sn;
    ngx_http_kvmq_lchan_t  *lc;

    hash = ngx_crc32_long(name->data, name->len);

    sn = ngx_str_rbtree_lookup(&pz->chans, name, hash);

    if (sn != NULL || !create) {
        return (ngx_http_kvmq_lchan_t *) sn;
    }

    lc = ngx_alloc(sizeof(ngx_http_kvmq_lchan_t) + name->len + 1,
                   ngx_cycle->log);
    if (lc == NULL) {
        return NULL;
    }

    ngx_memzero(lc, sizeof(ngx_http_kvmq_lchan_t));

    lc->sn.str.data = (u_char *) (lc + 1);
    lc->sn.str.len = name->len;
    ngx_memcpy(lc->sn.str.data, name->data, name->len);

    lc->sn.node.key = hash;
    ngx_queue_init(&lc->subs);

    ngx_rbtree_insert(&pz->chans, &lc->sn.node);

    return lc;
}


static ngx_int_t
ngx_http_kvmq_copy_init(ngx_http_kvmq_copy_t *cp, ngx_pool_t *pool,
    ngx_array_t **replay)
{
    ngx_memzero(cp, sizeof(ngx_http_kvmq_copy_t));
    cp->pool = pool;

    if (replay == NULL) {
        return NGX_OK;
    }

    cp->msgs = ngx_array_create(pool, 8, sizeof(ngx_http_kvmq_msg_t));
    if (cp->msgs == NULL) {
        return NGX_ERROR;
    }

    *replay = cp->msgs;

    return NGX_OK;
}


ngx_int_t
ngx_http_kvmq_subscribe(ngx_http_kvmq_sub_t *sub, const uint64_t *since,
    ngx_pool_t *pool, ngx_array_t **replay, kvmq_pubsub_pos_t *pos,
    kvmq_err_e *err)
{
    uint64_t                 gid;
    kvmq_ctx_t               c;
    kvmq_err_e               rc;
    kvmq_slice_t             name;
    kvmq_pubsub_pos_t        p;
    ngx_http_kvmq_copy_t     cp;
    ngx_http_kvmq_zone_t    *zone;
    ngx_http_kvmq_lchan_t   *lc;
    ngx_http_kvmq_pszone_t  *pz;

    zone = sub->zone;
    pz = zone->pubsub;

    if (pz == NULL || pz->gen == 0 || ngx_http_kvmq_notify_exiting()) {
        *err = KVMQ_ERR_DENIED;
        return NGX_DECLINED;
    }

    if (pos == NULL) {
        pos = &p;
    }

    if (ngx_http_kvmq_copy_init(&cp, pool, since ? replay : NULL)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    /* allocate the local side first: nothing to undo in the zone */

    lc = NULL;

    if (!sub->pattern) {
        lc = ngx_http_kvmq_lchan_get(pz, &sub->name, 1);
        if (lc == NULL) {
            return NGX_ERROR;
        }
    }

    name.data = sub->name.data;
    name.len = sub->name.len;
    gid = 0;

    ngx_http_kvmq_ctx_init(&c, zone);

    ngx_shmtx_lock(&zone->shpool->mutex);

    if (sub->pattern) {
        rc = kvmq_pubsub_psubscribe(&c, ngx_http_kvmq_notify_slot, pz->gen,
                                    &name, &gid);

    } else {
        rc = kvmq_pubsub_subscribe(&c, ngx_http_kvmq_notify_slot, pz->gen,
                                   &name, since,
                                   cp.msgs ? ngx_http_kvmq_copy_msg : NULL,
                                   &cp, pos);
    }

    ngx_shmtx_unlock(&zone->shpool->mutex);

    if (rc == KVMQ_OK && cp.failed) {
        ngx_shmtx_lock(&zone->shpool->mutex);
        kvmq_pubsub_unsubscribe(&c, ngx_http_kvmq_notify_slot, pz->gen,
                                &name, 1);
        ngx_shmtx_unlock(&zone->shpool->mutex);
    }

    if (rc != KVMQ_OK || cp.failed) {
        if (lc && ngx_queue_empty(&lc->subs)) {
            ngx_rbtree_delete(&pz->chans, &lc->sn.node);
            ngx_free(lc);
        }

        *err = rc;

        return cp.failed ? NGX_ERROR : NGX_DECLINED;
    }

    sub->gen = pz->gen;
    sub->failed = 0;
    sub->linked = 1;
    sub->chan = lc;

    if (sub->pattern) {
        sub->last = gid;
        ngx_queue_insert_tail(&pz->patterns, &sub->queue);

    } else {
        sub->last = pos->last;
        ngx_queue_insert_tail(&lc->subs, &sub->queue);
    }

    return NGX_OK;
}


void
ngx_http_kvmq_unsubscribe(ngx_http_kvmq_sub_t **subs, ngx_uint_t n)
{
    ngx_uint_t               i, j, nc, np;
    kvmq_ctx_t               c;
    kvmq_slice_t             chans[NGX_HTTP_KVMQ_UNSUB_BATCH];
    kvmq_slice_t             pats[NGX_HTTP_KVMQ_UNSUB_BATCH];
    ngx_http_kvmq_sub_t     *sub;
    ngx_http_kvmq_zone_t    *zone;
    ngx_http_kvmq_pszone_t  *pz;

    for (i = 0; i < n; /* void */ ) {

        /* a batch of the same zone and generation under one lock */

        zone = NULL;
        pz = NULL;
        nc = 0;
        np = 0;

        for (j = i; j < n; j++) {
            sub = subs[j];

            if (!sub->linked) {
                continue;
            }

            if (zone == NULL) {
                zone = sub->zone;
                pz = zone->pubsub;

            } else if (sub->zone != zone) {
                break;
            }

            if (nc == NGX_HTTP_KVMQ_UNSUB_BATCH
                || np == NGX_HTTP_KVMQ_UNSUB_BATCH)
            {
                break;
            }

            sub->linked = 0;
            ngx_queue_remove(&sub->queue);

            if (sub->pattern) {
                pats[np].data = sub->name.data;
                pats[np].len = sub->name.len;
                np++;
                continue;
            }

            chans[nc].data = sub->name.data;
            chans[nc].len = sub->name.len;
            nc++;

            if (ngx_queue_empty(&sub->chan->subs)) {
                ngx_rbtree_delete(&pz->chans, &sub->chan->sn.node);
                ngx_free(sub->chan);
            }

            sub->chan = NULL;
        }

        i = j;

        if (zone == NULL || (nc == 0 && np == 0)) {
            continue;
        }

        ngx_http_kvmq_ctx_init(&c, zone);

        if (nc) {
            ngx_shmtx_lock(&zone->shpool->mutex);
            kvmq_pubsub_unsubscribe(&c, ngx_http_kvmq_notify_slot, pz->gen,
                                    chans, nc);
            ngx_shmtx_unlock(&zone->shpool->mutex);
        }

        if (np) {
            ngx_shmtx_lock(&zone->shpool->mutex);
            kvmq_pubsub_punsubscribe(&c, ngx_http_kvmq_notify_slot,
                                     pz->gen, pats, np);
            ngx_shmtx_unlock(&zone->shpool->mutex);
        }
    }
}
