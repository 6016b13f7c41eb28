
/*
 * The active expiry sweep: a timer in worker 0 only (one sweeper is
 * enough, the data is shared) that every 100 ms runs a bounded step of
 * the engine's cron (expire volatile keys, advance a rehash) on each
 * zone, one lock acquisition per zone.  Lazy expiry on access already
 * hides expired keys; the sweep only reclaims their memory.
 *
 * The timer is cancelable, so it never holds up a graceful shutdown, and
 * it is not re-armed once the worker is exiting.
 */


#include "ngx_http_kvmq_module.h"


#define NGX_HTTP_KVMQ_SWEEP_INTERVAL  100
#define NGX_HTTP_KVMQ_SWEEP_KEYS      1000
#define NGX_HTTP_KVMQ_SWEEP_BUDGET    2000


static void ngx_http_kvmq_sweep_handler(ngx_event_t *ev);
static void ngx_http_kvmq_null_reply(kvmq_reply_t *r);
static void ngx_http_kvmq_null_str(kvmq_reply_t *r, const char *s,
    size_t len);
static void ngx_http_kvmq_null_int(kvmq_reply_t *r, int64_t v);
static void ngx_http_kvmq_null_dbl(kvmq_reply_t *r, double v);
static void ngx_http_kvmq_null_bulk(kvmq_reply_t *r, const unsigned char *p,
    size_t len);
static void ngx_http_kvmq_null_agg(kvmq_reply_t *r, long n);
static void ngx_http_kvmq_null_error(kvmq_reply_t *r, kvmq_err_e err,
    const char *msg, size_t len);


static ngx_event_t  ngx_http_kvmq_sweep_event;

/* the cron does not reply, but the engine never gets a NULL builder */
static const kvmq_reply_ops_t  ngx_http_kvmq_null_ops = {
    ngx_http_kvmq_null_str,
    ngx_http_kvmq_null_int,
    ngx_http_kvmq_null_dbl,
    ngx_http_kvmq_null_bulk,
    ngx_http_kvmq_null_reply,
    ngx_http_kvmq_null_agg,
    ngx_http_kvmq_null_reply,
    ngx_http_kvmq_null_agg,
    ngx_http_kvmq_null_reply,
    ngx_http_kvmq_null_error,
    NULL
};


ngx_int_t
ngx_http_kvmq_sweep_init(ngx_cycle_t *cycle)
{
    ngx_http_kvmq_main_conf_t  *kmcf;

    if ((ngx_process != NGX_PROCESS_WORKER
         && ngx_process != NGX_PROCESS_SINGLE)
        || ngx_worker != 0)
    {
        return NGX_OK;
    }

    kmcf = ngx_http_cycle_get_module_main_conf(cycle, ngx_http_kvmq_module);

    if (kmcf == NULL || kmcf->zones.nelts == 0) {
        return NGX_OK;
    }

    ngx_http_kvmq_sweep_event.handler = ngx_http_kvmq_sweep_handler;
    ngx_http_kvmq_sweep_event.data = kmcf;
    ngx_http_kvmq_sweep_event.log = cycle->log;
    ngx_http_kvmq_sweep_event.cancelable = 1;

    ngx_add_timer(&ngx_http_kvmq_sweep_event, NGX_HTTP_KVMQ_SWEEP_INTERVAL);

    return NGX_OK;
}


static void
ngx_http_kvmq_sweep_handler(ngx_event_t *ev)
{
    ngx_uint_t                  i;
    ngx_time_t                 *tp;
    kvmq_ctx_t                  c;
    kvmq_reply_t                reply;
    ngx_http_kvmq_zone_t      **zones;
    ngx_http_kvmq_main_conf_t  *kmcf;

    if (ngx_exiting || ngx_quit || ngx_terminate) {
        return;
    }

    kmcf = ev->data;
    zones = kmcf->zones.elts;

    ngx_memzero(&reply, sizeof(kvmq_reply_t));
    reply.ops = &ngx_http_kvmq_null_ops;

    tp = ngx_timeofday();

    for (i = 0; i < kmcf->zones.nelts; i++) {

        if (zones[i]->db == NULL) {
            continue;
        }

        ngx_memzero(&c, sizeof(kvmq_ctx_t));
        c.db = zones[i]->db;
        c.alloc = &zones[i]->alloc;
        c.reply = &reply;
        c.now_ms = (int64_t) tp->sec * 1000 + tp->msec;

        ngx_shmtx_lock(&zones[i]->shpool->mutex);

        (void) kvmq_db_cron(&c, NGX_HTTP_KVMQ_SWEEP_KEYS,
                            NGX_HTTP_KVMQ_SWEEP_BUDGET);

        ngx_shmtx_unlock(&zones[i]->shpool->mutex);
    }

    ngx_add_timer(ev, NGX_HTTP_KVMQ_SWEEP_INTERVAL);
}


static void
ngx_http_kvmq_null_reply(kvmq_reply_t *r)
{
}


static void
ngx_http_kvmq_null_str(kvmq_reply_t *r, const char *s, size_t len)
{
}


static void
ngx_http_kvmq_null_int(kvmq_reply_t *r, int64_t v)
{
}


static void
ngx_http_kvmq_null_dbl(kvmq_reply_t *r, double v)
{
}


static void
ngx_http_kvmq_null_bulk(kvmq_reply_t *r, const unsigned char *p, size_t len)
{
}


static void
ngx_http_kvmq_null_agg(kvmq_reply_t *r, long n)
{
}


static void
ngx_http_kvmq_null_error(kvmq_reply_t *r, kvmq_err_e err, const char *msg,
    size_t len)
{
    r->err = err;
}
