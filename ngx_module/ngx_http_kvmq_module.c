
/*
 * The kvmq module: directives, configuration, zone set-up and variables.
 *
 * A kvmq_zone is an nginx shared memory zone managed by the slab
 * allocator; the engine's db root lives in it and is found again through
 * shpool->data, so "nginx -s reload" with an unchanged zone name and size
 * keeps the data (nginx maps the old segment into the new cycle and calls
 * the init function with the old zone).  A changed size makes nginx
 * create a fresh segment: the data is lost, and we say so in the log.
 *
 * kvmq_api may name a zone declared further down the http block, so zones
 * are referenced through ngx_shared_memory_add() with size 0 (as
 * limit_req does) and checked in postconfiguration, where an unknown name
 * fails "nginx -t" with the file and line of the kvmq_api directive.
 */


#include "ngx_http_kvmq_module.h"
#include "ngx_http_kvmq_notify.h"
#include "ngx_http_kvmq_queue_ws.h"


static void *ngx_http_kvmq_slab_alloc(void *ctx, size_t size);
static void ngx_http_kvmq_slab_free(void *ctx, void *p);
static ngx_int_t ngx_http_kvmq_init_zone(ngx_shm_zone_t *shm_zone,
    void *data);
static ngx_int_t ngx_http_kvmq_add_variables(ngx_conf_t *cf);
static ngx_int_t ngx_http_kvmq_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static void *ngx_http_kvmq_create_main_conf(ngx_conf_t *cf);
static void *ngx_http_kvmq_create_loc_conf(ngx_conf_t *cf);
static char *ngx_http_kvmq_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child);
static char *ngx_http_kvmq_zone(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_kvmq_api(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static ngx_int_t ngx_http_kvmq_init(ngx_conf_t *cf);
static ngx_int_t ngx_http_kvmq_init_module(ngx_cycle_t *cycle);
static ngx_int_t ngx_http_kvmq_init_process(ngx_cycle_t *cycle);


static ngx_command_t  ngx_http_kvmq_commands[] = {

    { ngx_string("kvmq_zone"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_1MORE,
      ngx_http_kvmq_zone,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("kvmq_api"),
      NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_kvmq_api,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("kvmq_max_key"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_size_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_kvmq_loc_conf_t, max_key),
      NULL },

    { ngx_string("kvmq_max_value"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_size_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_kvmq_loc_conf_t, max_value),
      NULL },

    { ngx_string("kvmq_readonly"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_kvmq_loc_conf_t, readonly),
      NULL },

    { ngx_string("kvmq_sse_ping"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_kvmq_loc_conf_t, sse_ping),
      NULL },

    { ngx_string("kvmq_sse_send_buffer"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_size_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_kvmq_loc_conf_t, sse_send_buffer),
      NULL },

    { ngx_string("kvmq_ws_max_message"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_size_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_kvmq_loc_conf_t, ws_max_message),
      NULL },

    { ngx_string("kvmq_ws_send_buffer"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_size_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_kvmq_loc_conf_t, ws_send_buffer),
      NULL },

    { ngx_string("kvmq_ws_ping"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_kvmq_loc_conf_t, ws_ping),
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_kvmq_module_ctx = {
    ngx_http_kvmq_add_variables,           /* preconfiguration */
    ngx_http_kvmq_init,                    /* postconfiguration */

    ngx_http_kvmq_create_main_conf,        /* create main configuration */
    NULL,                                  /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    ngx_http_kvmq_create_loc_conf,         /* create location configuration */
    ngx_http_kvmq_merge_loc_conf           /* merge location configuration */
};


ngx_module_t  ngx_http_kvmq_module = {
    NGX_MODULE_V1,
    &ngx_http_kvmq_module_ctx,             /* module context */
    ngx_http_kvmq_commands,                /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    ngx_http_kvmq_init_module,             /* init module */
    ngx_http_kvmq_init_process,            /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    NULL,                                  /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


static ngx_http_variable_t  ngx_http_kvmq_vars[] = {

    { ngx_string("kvmq_command"), NULL, ngx_http_kvmq_variable,
      offsetof(ngx_http_kvmq_ctx_t, command), NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("kvmq_key"), NULL, ngx_http_kvmq_variable,
      offsetof(ngx_http_kvmq_ctx_t, key), NGX_HTTP_VAR_NOCACHEABLE, 0 },

      ngx_http_null_variable
};


static struct {
    ngx_str_t      name;
    kvmq_evict_e   policy;
} ngx_http_kvmq_policies[] = {
    { ngx_string("noeviction"), KVMQ_EVICT_NOEVICTION },
    { ngx_string("allkeys-lru"), KVMQ_EVICT_ALLKEYS_LRU },
    { ngx_string("volatile-lru"), KVMQ_EVICT_VOLATILE_LRU },
    { ngx_string("allkeys-lfu"), KVMQ_EVICT_ALLKEYS_LFU },
    { ngx_null_string, 0 }
};


const char *
ngx_http_kvmq_eviction_name(kvmq_evict_e e)
{
    ngx_uint_t  i;

    for (i = 0; ngx_http_kvmq_policies[i].name.len; i++) {
        if (ngx_http_kvmq_policies[i].policy == e) {
            return (const char *) ngx_http_kvmq_policies[i].name.data;
        }
    }

    return "unknown";
}


/* the allocator seam: the engine allocates only through these */

static void *
ngx_http_kvmq_slab_alloc(void *ctx, size_t size)
{
    return ngx_slab_alloc_locked(ctx, size);
}


static void
ngx_http_kvmq_slab_free(void *ctx, void *p)
{
    ngx_slab_free_locked(ctx, p);
}


size_t
ngx_http_kvmq_zone_used(void *ctx)
{
    ngx_slab_pool_t  *shpool = ctx;

    size_t  size;

    /* pages handed out, counting the pool's own bookkeeping as used */
    size = (u_char *) shpool->end - (u_char *) shpool;

    if (shpool->pfree * ngx_pagesize > size) {
        return 0;
    }

    return size - shpool->pfree * ngx_pagesize;
}


static void
ngx_http_kvmq_zone_seam(ngx_http_kvmq_zone_t *zone)
{
    zone->alloc.alloc = ngx_http_kvmq_slab_alloc;
    zone->alloc.free = ngx_http_kvmq_slab_free;
    zone->alloc.used = ngx_http_kvmq_zone_used;
    zone->alloc.total = zone->shm_zone->shm.size;
    zone->alloc.ctx = zone->shpool;
}


/*
 * A fresh segment was made for a zone: if the previous cycle had a kvmq
 * zone of that name, its size changed and its data is gone.  ngx_cycle
 * is still the previous cycle while the new one is initialised.
 */

static void
ngx_http_kvmq_zone_lost(ngx_shm_zone_t *shm_zone)
{
    ngx_uint_t        i;
    ngx_shm_zone_t   *oshm_zone;
    ngx_list_part_t  *part;

    part = (ngx_list_part_t *) &ngx_cycle->shared_memory.part;
    oshm_zone = part->elts;

    for (i = 0; /* void */ ; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                return;
            }

            part = part->next;
            oshm_zone = part->elts;
            i = 0;
        }

        if (oshm_zone[i].tag != shm_zone->tag
            || oshm_zone[i].shm.name.len != shm_zone->shm.name.len
            || ngx_strncmp(oshm_zone[i].shm.name.data,
                           shm_zone->shm.name.data, shm_zone->shm.name.len)
               != 0)
        {
            continue;
        }

        if (oshm_zone[i].shm.size != shm_zone->shm.size) {
            ngx_log_error(NGX_LOG_WARN, shm_zone->shm.log, 0,
                          "kvmq_zone \"%V\" size changed from %uz to %uz: "
                          "its data is lost", &shm_zone->shm.name,
                          oshm_zone[i].shm.size, shm_zone->shm.size);
        }

        return;
    }
}


static ngx_int_t
ngx_http_kvmq_init_zone(ngx_shm_zone_t *shm_zone, void *data)
{
    ngx_http_kvmq_zone_t  *ozone = data;

    size_t                 len;
    kvmq_db_conf_t         dbconf;
    ngx_http_kvmq_zone_t  *zone;

    zone = shm_zone->data;

    if (ozone) {
        /*
         * The same memory, mapped at the same address.  Read it through
         * shm.addr and the root's own header, not through ozone: after a
         * reload that loaded another build of the module, ozone's layout
         * may not be ours, and the db's may not be either.
         */
        zone->shpool = (ngx_slab_pool_t *) shm_zone->shm.addr;
        zone->db = zone->shpool->data;

        if (!kvmq_db_compatible(zone->db)) {
            ngx_log_error(NGX_LOG_EMERG, shm_zone->shm.log, 0,
                          "kvmq_zone \"%V\" holds data of another kvmq "
                          "version: stop and start nginx to upgrade",
                          &shm_zone->shm.name);
            return NGX_ERROR;
        }

        ngx_http_kvmq_zone_seam(zone);

        /* nobody else runs engine code while the master initialises */
        ngx_shmtx_lock(&zone->shpool->mutex);
        kvmq_db_set_eviction(zone->db, zone->eviction);
        ngx_shmtx_unlock(&zone->shpool->mutex);

        return ngx_http_kvmq_notify_init_zone(zone);
    }

    zone->shpool = (ngx_slab_pool_t *) shm_zone->shm.addr;
    ngx_http_kvmq_zone_seam(zone);

    if (shm_zone->shm.exists) {
        zone->db = zone->shpool->data;
        kvmq_db_set_eviction(zone->db, zone->eviction);
        return ngx_http_kvmq_notify_init_zone(zone);
    }

    ngx_http_kvmq_zone_lost(shm_zone);

    len = sizeof(" in kvmq_zone \"\"") + shm_zone->shm.name.len;

    zone->shpool->log_ctx = ngx_slab_alloc(zone->shpool, len);
    if (zone->shpool->log_ctx == NULL) {
        goto small;
    }

    ngx_sprintf(zone->shpool->log_ctx, " in kvmq_zone \"%V\"%Z",
                &shm_zone->shm.name);

    /* a full zone is an ordinary NOMEM reply, not a log line per write */
    zone->shpool->log_nomem = 0;

    ngx_memzero(&dbconf, sizeof(kvmq_db_conf_t));
    dbconf.eviction = zone->eviction;
    dbconf.seed = 0;

    ngx_shmtx_lock(&zone->shpool->mutex);
    zone->db = kvmq_db_create(&zone->alloc, &dbconf);
    ngx_shmtx_unlock(&zone->shpool->mutex);

    if (zone->db == NULL) {
        goto small;
    }

    zone->shpool->data = zone->db;

    if (ngx_http_kvmq_notify_init_zone(zone) != NGX_OK) {
        goto small;
    }

    return NGX_OK;

small:

    ngx_log_error(NGX_LOG_EMERG, shm_zone->shm.log, 0,
                  "zone \"%V\" is too small", &shm_zone->shm.name);

    return NGX_ERROR;
}


static ngx_int_t
ngx_http_kvmq_add_variables(ngx_conf_t *cf)
{
    ngx_http_variable_t  *var, *v;

    for (v = ngx_http_kvmq_vars; v->name.len; v++) {
        var = ngx_http_add_variable(cf, &v->name, v->flags);
        if (var == NULL) {
            return NGX_ERROR;
        }

        var->get_handler = v->get_handler;
        var->data = v->data;
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_kvmq_variable(ngx_http_request_t *r, ngx_http_variable_value_t *v,
    uintptr_t data)
{
    ngx_str_t            *s;
    ngx_http_kvmq_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_kvmq_module);

    if (ctx == NULL) {
        v->not_found = 1;
        return NGX_OK;
    }

    s = (ngx_str_t *) ((u_char *) ctx + data);

    if (s->data == NULL) {
        v->not_found = 1;
        return NGX_OK;
    }

    v->len = s->len;
    v->valid = 1;
    v->no_cacheable = 1;
    v->not_found = 0;
    v->data = s->data;

    return NGX_OK;
}


static void *
ngx_http_kvmq_create_main_conf(ngx_conf_t *cf)
{
    ngx_http_kvmq_main_conf_t  *kmcf;

    kmcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_kvmq_main_conf_t));
    if (kmcf == NULL) {
        return NULL;
    }

    if (ngx_array_init(&kmcf->zones, cf->pool, 2,
                       sizeof(ngx_http_kvmq_zone_t *))
        != NGX_OK)
    {
        return NULL;
    }

    if (ngx_array_init(&kmcf->refs, cf->pool, 2,
                       sizeof(ngx_http_kvmq_zone_ref_t))
        != NGX_OK)
    {
        return NULL;
    }

    return kmcf;
}


static void *
ngx_http_kvmq_create_loc_conf(ngx_conf_t *cf)
{
    ngx_http_kvmq_loc_conf_t  *conf;

    conf = ngx_pcalloc(cf->pool, sizeof(ngx_http_kvmq_loc_conf_t));
    if (conf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     conf->shm_zone = NULL;
     */

    conf->max_key = NGX_CONF_UNSET_SIZE;
    conf->max_value = NGX_CONF_UNSET_SIZE;
    conf->readonly = NGX_CONF_UNSET;
    conf->sse_ping = NGX_CONF_UNSET_MSEC;
    conf->sse_send_buffer = NGX_CONF_UNSET_SIZE;
    conf->ws_max_message = NGX_CONF_UNSET_SIZE;
    conf->ws_send_buffer = NGX_CONF_UNSET_SIZE;
    conf->ws_ping = NGX_CONF_UNSET_MSEC;

    return conf;
}


static char *
ngx_http_kvmq_merge_loc_conf(ngx_conf_t *cf, void *parent, void *child)
{
    ngx_http_kvmq_loc_conf_t *prev = parent;
    ngx_http_kvmq_loc_conf_t *conf = child;

    ngx_conf_merge_size_value(conf->max_key, prev->max_key, 1024);
    ngx_conf_merge_size_value(conf->max_value, prev->max_value,
                              8 * 1024 * 1024);
    ngx_conf_merge_value(conf->readonly, prev->readonly, 0);
    ngx_conf_merge_msec_value(conf->sse_ping, prev->sse_ping, 15000);
    ngx_conf_merge_size_value(conf->sse_send_buffer, prev->sse_send_buffer,
                              4 * 1024 * 1024);
    ngx_conf_merge_size_value(conf->ws_max_message, prev->ws_max_message,
                              1024 * 1024);
    ngx_conf_merge_size_value(conf->ws_send_buffer, prev->ws_send_buffer,
                              4 * 1024 * 1024);
    ngx_conf_merge_msec_value(conf->ws_ping, prev->ws_ping, 30000);

    if (conf->max_key == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"kvmq_max_key\" must be greater than 0");
        return NGX_CONF_ERROR;
    }

    if (conf->max_value == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"kvmq_max_value\" must be greater than 0");
        return NGX_CONF_ERROR;
    }

    if (conf->ws_max_message == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"kvmq_ws_max_message\" must be greater than 0");
        return NGX_CONF_ERROR;
    }

    /* room for at least a close frame and a small reply */
    if (conf->ws_send_buffer < 1024) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"kvmq_ws_send_buffer\" must be at least 1k");
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


static char *
ngx_http_kvmq_zone(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_kvmq_main_conf_t *kmcf = conf;

    ssize_t                 size;
    ngx_int_t               history;
    ngx_str_t              *value, name, s;
    ngx_msec_t              ttl;
    ngx_uint_t              i, j;
    kvmq_evict_e            policy;
    ngx_shm_zone_t         *shm_zone;
    ngx_http_kvmq_zone_t   *zone, **zp;

    value = cf->args->elts;

    name = value[1];

    if (name.len == 0 || ngx_strchr(name.data, '=') != NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid zone name \"%V\"", &name);
        return NGX_CONF_ERROR;
    }

    size = 0;
    policy = KVMQ_EVICT_NOEVICTION;
    history = KVMQ_PUBSUB_HISTORY;
    ttl = 0;

    for (i = 2; i < cf->args->nelts; i++) {

        if (ngx_strncmp(value[i].data, "size=", 5) == 0) {

            s.len = value[i].len - 5;
            s.data = value[i].data + 5;

            size = ngx_parse_size(&s);

            if (size == NGX_ERROR) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "invalid zone size \"%V\"", &value[i]);
                return NGX_CONF_ERROR;
            }

            if (size < (ssize_t) NGX_HTTP_KVMQ_MIN_ZONE) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "zone \"%V\" is too small", &name);
                return NGX_CONF_ERROR;
            }

            continue;
        }

        if (ngx_strncmp(value[i].data, "eviction=", 9) == 0) {

            s.len = value[i].len - 9;
            s.data = value[i].data + 9;

            for (j = 0; ngx_http_kvmq_policies[j].name.len; j++) {
                if (s.len == ngx_http_kvmq_policies[j].name.len
                    && ngx_strncmp(s.data, ngx_http_kvmq_policies[j].name.data,
                                   s.len)
                       == 0)
                {
                    policy = ngx_http_kvmq_policies[j].policy;
                    break;
                }
            }

            if (ngx_http_kvmq_policies[j].name.len == 0) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "invalid eviction policy \"%V\"", &s);
                return NGX_CONF_ERROR;
            }

            continue;
        }

        if (ngx_strncmp(value[i].data, "history=", 8) == 0) {

            history = ngx_atoi(value[i].data + 8, value[i].len - 8);

            if (history == NGX_ERROR || history > 1000000) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "invalid history \"%V\"", &value[i]);
                return NGX_CONF_ERROR;
            }

            continue;
        }

        if (ngx_strncmp(value[i].data, "history_ttl=", 12) == 0) {

            s.len = value[i].len - 12;
            s.data = value[i].data + 12;

            ttl = ngx_parse_time(&s, 0);

            if (ttl == (ngx_msec_t) NGX_ERROR) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "invalid history_ttl \"%V\"", &value[i]);
                return NGX_CONF_ERROR;
            }

            continue;
        }

        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid parameter \"%V\"", &value[i]);
        return NGX_CONF_ERROR;
    }

    if (size == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"%V\" must have \"size\" parameter",
                           &cmd->name);
        return NGX_CONF_ERROR;
    }

    shm_zone = ngx_shared_memory_add(cf, &name, size, &ngx_http_kvmq_module);
    if (shm_zone == NULL) {
        return NGX_CONF_ERROR;
    }

    if (shm_zone->data) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "duplicate kvmq_zone \"%V\"", &name);
        return NGX_CONF_ERROR;
    }

    zone = ngx_pcalloc(cf->pool, sizeof(ngx_http_kvmq_zone_t));
    if (zone == NULL) {
        return NGX_CONF_ERROR;
    }

    zone->name = name;
    zone->size = size;
    zone->eviction = policy;
    zone->history = history;
    zone->history_ttl = ttl;
    zone->shm_zone = shm_zone;

    shm_zone->init = ngx_http_kvmq_init_zone;
    shm_zone->data = zone;

    zp = ngx_array_push(&kmcf->zones);
    if (zp == NULL) {
        return NGX_CONF_ERROR;
    }

    *zp = zone;

    return NGX_CONF_OK;
}


static char *
ngx_http_kvmq_api(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_kvmq_loc_conf_t *klcf = conf;

    ngx_str_t                  *value;
    ngx_http_kvmq_zone_ref_t   *ref;
    ngx_http_core_loc_conf_t   *clcf;
    ngx_http_kvmq_main_conf_t  *kmcf;

    if (klcf->shm_zone) {
        return "is duplicate";
    }

    value = cf->args->elts;

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);

#if (NGX_PCRE)
    if (clcf->regex) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"kvmq_api\" cannot be used in a regex location");
        return NGX_CONF_ERROR;
    }
#endif

    if (clcf->named) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"kvmq_api\" cannot be used in a named location");
        return NGX_CONF_ERROR;
    }

    klcf->shm_zone = ngx_shared_memory_add(cf, &value[1], 0,
                                           &ngx_http_kvmq_module);
    if (klcf->shm_zone == NULL) {
        return NGX_CONF_ERROR;
    }

    kmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_kvmq_module);

    ref = ngx_array_push(&kmcf->refs);
    if (ref == NULL) {
        return NGX_CONF_ERROR;
    }

    ref->name = value[1];
    ref->file = cf->conf_file->file.name;
    ref->line = cf->conf_file->line;
    ref->shm_zone = klcf->shm_zone;

    clcf->handler = ngx_http_kvmq_handler;

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_http_kvmq_init(ngx_conf_t *cf)
{
    ngx_uint_t                  i;
    ngx_http_kvmq_zone_ref_t   *ref;
    ngx_http_kvmq_main_conf_t  *kmcf;

    kmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_kvmq_module);

    ref = kmcf->refs.elts;

    for (i = 0; i < kmcf->refs.nelts; i++) {
        if (ref[i].shm_zone->data == NULL) {
            ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                          "unknown kvmq_zone \"%V\" in %V:%ui",
                          &ref[i].name, &ref[i].file, ref[i].line);
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_kvmq_init_module(ngx_cycle_t *cycle)
{
    return ngx_http_kvmq_notify_init_module(cycle);
}


static ngx_int_t
ngx_http_kvmq_init_process(ngx_cycle_t *cycle)
{
    if (ngx_http_kvmq_sweep_init(cycle) != NGX_OK) {
        return NGX_ERROR;
    }

    if (ngx_http_kvmq_queue_init_process(cycle) != NGX_OK) {
        return NGX_ERROR;
    }

    return ngx_http_kvmq_notify_init_process(cycle);
}
