
/*
 * GET /stats: the zone and engine counters as one JSON object.
 *
 * Everything is read under one lock acquisition so the numbers agree
 * with each other; the per-command counters are copied out (name
 * pointers are the engine's static strings) and the JSON is written
 * after the unlock.  "worker" says which process answered, which the
 * tests use to see that every worker serves the same data.
 */


#include "ngx_http_kvmq_module.h"
#include "pubsub.h"


typedef struct {
    const char                 *name;
    uint64_t                    calls;
} ngx_http_kvmq_cmd_stat_t;


typedef struct {
    ngx_array_t                *cmds;
    ngx_uint_t                  failed;
} ngx_http_kvmq_stats_walk_t;


static void ngx_http_kvmq_stats_cmd(void *arg, const char *name,
    uint64_t calls);
static ngx_int_t ngx_http_kvmq_stats_num(ngx_http_kvmq_json_t *j,
    const char *name, uint64_t v);


ngx_int_t
ngx_http_kvmq_stats(ngx_http_request_t *r, ngx_http_kvmq_ctx_t *ctx)
{
    size_t                        used;
    ngx_int_t                     rc;
    const char                   *ev;
    ngx_uint_t                    i;
    ngx_chain_t                  *out;
    kvmq_stats_t                  st;
    kvmq_pubsub_stats_t           ps;
    ngx_core_conf_t              *ccf;
    ngx_http_kvmq_json_t         *j;
    ngx_http_kvmq_zone_t         *zone;
    ngx_http_kvmq_cmd_stat_t     *cs;
    ngx_http_kvmq_loc_conf_t     *klcf;
    ngx_http_kvmq_stats_walk_t    walk;

    if (!(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD))) {
        return ngx_http_kvmq_send_method(r, "GET, HEAD");
    }

    ngx_str_set(&ctx->command, "STATS");

    klcf = ngx_http_get_module_loc_conf(r, ngx_http_kvmq_module);
    zone = klcf->shm_zone->data;

    walk.cmds = ngx_array_create(r->pool, 32,
                                 sizeof(ngx_http_kvmq_cmd_stat_t));
    if (walk.cmds == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    walk.failed = 0;

    ngx_shmtx_lock(&zone->shpool->mutex);

    kvmq_db_stats(zone->db, &st);
    kvmq_pubsub_stats(zone->db, &ps);
    kvmq_db_command_stats(zone->db, ngx_http_kvmq_stats_cmd, &walk);
    used = ngx_http_kvmq_zone_used(zone->shpool);

    ngx_shmtx_unlock(&zone->shpool->mutex);

    if (walk.failed) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ev = ngx_http_kvmq_eviction_name(zone->eviction);

    ccf = (ngx_core_conf_t *) ngx_get_conf(ngx_cycle->conf_ctx,
                                           ngx_core_module);

    j = ngx_http_kvmq_json_create(r, 0);
    if (j == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    rc = ngx_http_kvmq_json_open(j, 1);

    /* the zone */

    if (rc == NGX_OK) {
        rc = ngx_http_kvmq_json_string(j, (u_char *) "zone", 4);
    }

    if (rc == NGX_OK) {
        rc = ngx_http_kvmq_json_open(j, 1);
    }

    if (rc == NGX_OK) {
        rc = ngx_http_kvmq_json_string(j, (u_char *) "name", 4);
    }

    if (rc == NGX_OK) {
        rc = ngx_http_kvmq_json_string(j, zone->name.data, zone->name.len);
    }

    if (rc == NGX_OK) {
        rc = ngx_http_kvmq_stats_num(j, "size", zone->alloc.total);
    }

    if (rc == NGX_OK) {
        rc = ngx_http_kvmq_stats_num(j, "used", used);
    }

    if (rc == NGX_OK) {
        rc = ngx_http_kvmq_stats_num(j, "free",
                                     zone->alloc.total > used
                                     ? zone->alloc.total - used : 0);
    }

    if (rc == NGX_OK) {
        rc = ngx_http_kvmq_json_string(j, (u_char *) "eviction", 8);
    }

    if (rc == NGX_OK) {
        rc = ngx_http_kvmq_json_string(j, (u_char *) ev, ngx_strlen(ev));
    }

    if (rc == NGX_OK) {
        rc = ngx_http_kvmq_json_close(j, 1);
    }

    /* the keyspace */

    if (rc == NGX_OK) {
        rc = ngx_http_kvmq_stats_num(j, "keys", st.keys);
    }

    if (rc == NGX_OK) {
        rc = ngx_http_kvmq_stats_num(j, "keys_with_ttl", st.volatile_keys);
    }

    if (rc == NGX_OK) {
        rc = ngx_http_kvmq_stats_num(j, "expired", st.expired);
    }

    if (rc == NGX_OK) {
        rc = ngx_http_kvmq_stats_num(j, "evicted", st.evicted);
    }

    if (rc == NGX_OK) {
        rc = ngx_http_kvmq_stats_num(j, "hits", st.hits);
    }

    if (rc == NGX_OK) {
        rc = ngx_http_kvmq_stats_num(j, "misses", st.misses);
    }

    if (rc == NGX_OK) {
        rc = ngx_http_kvmq_stats_num(j, "buckets", st.buckets);
    }

    if (rc == NGX_OK) {
        rc = ngx_http_kvmq_json_string(j, (u_char *) "rehashing", 9);
    }

    if (rc == NGX_OK) {
        rc = ngx_http_kvmq_json_bool(j, st.rehashing ? 1 : 0);
    }

    /* the commands */

    if (rc == NGX_OK) {
        rc = ngx_http_kvmq_stats_num(j, "commands_total", st.commands);
    }

    if (rc == NGX_OK) {
        rc = ngx_http_kvmq_json_string(j, (u_char *) "commands", 8);
    }

    if (rc == NGX_OK) {
        rc = ngx_http_kvmq_json_open(j, 1);
    }

    cs = walk.cmds->elts;

    for (i = 0; rc == NGX_OK && i < walk.cmds->nelts; i++) {
        rc = ngx_http_kvmq_stats_num(j, cs[i].name, cs[i].calls);
    }

    if (rc == NGX_OK) {
        rc = ngx_http_kvmq_json_close(j, 1);
    }

    /* pub/sub */

    if (rc == NGX_OK) {
        rc = ngx_http_kvmq_json_string(j, (u_char *) "pubsub", 6);
    }

    if (rc == NGX_OK) {
        rc = ngx_http_kvmq_json_open(j, 1);
    }

    if (rc == NGX_OK) {
        rc = ngx_http_kvmq_stats_num(j, "channels", ps.channels);
    }

    if (rc == NGX_OK) {
        rc = ngx_http_kvmq_stats_num(j, "patterns", ps.patterns);
    }

    if (rc == NGX_OK) {
        rc = ngx_http_kvmq_stats_num(j, "subscribers", ps.subscribers);
    }

    if (rc == NGX_OK) {
        rc = ngx_http_kvmq_stats_num(j, "messages", ps.messages);
    }

    if (rc == NGX_OK) {
        rc = ngx_http_kvmq_stats_num(j, "message_bytes", ps.bytes);
    }

    if (rc == NGX_OK) {
        rc = ngx_http_kvmq_stats_num(j, "published", ps.published);
    }

    if (rc == NGX_OK) {
        rc = ngx_http_kvmq_stats_num(j, "history", ps.history);
    }

    if (rc == NGX_OK) {
        rc = ngx_http_kvmq_stats_num(j, "history_ttl_ms",
                                     (uint64_t) ps.ttl_ms);
    }

    if (rc == NGX_OK) {
        rc = ngx_http_kvmq_json_close(j, 1);
    }

    /* the process that answered */

    if (rc == NGX_OK) {
        rc = ngx_http_kvmq_json_string(j, (u_char *) "worker", 6);
    }

    if (rc == NGX_OK) {
        rc = ngx_http_kvmq_json_open(j, 1);
    }

    if (rc == NGX_OK) {
        rc = ngx_http_kvmq_stats_num(j, "pid", (uint64_t) ngx_pid);
    }

    if (rc == NGX_OK) {
        rc = ngx_http_kvmq_stats_num(j, "slot", ngx_worker);
    }

    if (rc == NGX_OK) {
        rc = ngx_http_kvmq_stats_num(j, "workers",
                                     ccf ? (uint64_t) ccf->worker_processes
                                         : 1);
    }

    if (rc == NGX_OK) {
        rc = ngx_http_kvmq_json_close(j, 1);
    }

    if (rc == NGX_OK) {
        rc = ngx_http_kvmq_json_close(j, 1);
    }

    if (rc != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    out = ngx_http_kvmq_json_finish(j);
    if (out == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_kvmq_send(r, NGX_HTTP_OK, out);
}


static void
ngx_http_kvmq_stats_cmd(void *arg, const char *name, uint64_t calls)
{
    ngx_http_kvmq_stats_walk_t *walk = arg;

    ngx_http_kvmq_cmd_stat_t  *cs;

    cs = ngx_array_push(walk->cmds);
    if (cs == NULL) {
        walk->failed = 1;
        return;
    }

    cs->name = name;
    cs->calls = calls;
}


static ngx_int_t
ngx_http_kvmq_stats_num(ngx_http_kvmq_json_t *j, const char *name,
    uint64_t v)
{
    size_t  n;
    u_char  buf[NGX_INT64_LEN + 1];

    if (ngx_http_kvmq_json_string(j, (u_char *) name, ngx_strlen(name))
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    n = ngx_sprintf(buf, "%uL", v) - buf;

    return ngx_http_kvmq_json_number(j, buf, n);
}
