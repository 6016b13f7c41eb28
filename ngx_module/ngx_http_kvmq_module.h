
/*
 * What the files of the nginx glue share: the zone and configuration
 * structures, the per-request context, the reply builder that captures
 * an engine reply into request-pool memory, and the helpers each door
 * uses (routing, locking, responses, JSON, encodings).
 *
 * Only this header includes the engine's public header "kvmq.h"; the glue
 * never looks inside the engine's structures.
 */

#ifndef _NGX_HTTP_KVMQ_MODULE_H_INCLUDED_
#define _NGX_HTTP_KVMQ_MODULE_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "kvmq.h"


#define NGX_HTTP_KVMQ_MIN_ZONE      (8 * ngx_pagesize)
#define NGX_HTTP_KVMQ_MAX_DEPTH     32


/*
 * One kvmq_zone.  Lives in the cycle's configuration pool (process
 * memory): it holds the allocator seam, whose function pointers must
 * never go to shared memory.  The engine's db root is kept in
 * shpool->data so that a reload which reuses the zone finds it again.
 */
typedef struct {
    ngx_str_t                   name;
    size_t                      size;
    kvmq_evict_e                eviction;
    ngx_shm_zone_t             *shm_zone;
    ngx_slab_pool_t            *shpool;
    kvmq_db_t                  *db;
    kvmq_alloc_t                alloc;
    ngx_uint_t                  history;    /* pub/sub ring size */
    ngx_msec_t                  history_ttl;
    void                       *pubsub;     /* notify.c, per worker */
} ngx_http_kvmq_zone_t;


typedef struct {
    ngx_str_t                   name;
    ngx_str_t                   file;
    ngx_uint_t                  line;
    ngx_shm_zone_t             *shm_zone;
} ngx_http_kvmq_zone_ref_t;


typedef struct {
    ngx_array_t                 zones;      /* ngx_http_kvmq_zone_t * */
    ngx_array_t                 refs;       /* ngx_http_kvmq_zone_ref_t */
    void                       *notify;     /* notify.c: the eventfds */
} ngx_http_kvmq_main_conf_t;


typedef struct {
    ngx_shm_zone_t             *shm_zone;   /* set by kvmq_api */
    size_t                      max_key;
    size_t                      max_value;
    ngx_flag_t                  readonly;
    ngx_msec_t                  sse_ping;
    size_t                      sse_send_buffer;
    size_t                      ws_max_message;
    size_t                      ws_send_buffer;
    ngx_msec_t                  ws_ping;
} ngx_http_kvmq_loc_conf_t;


/* a captured reply value, in the request pool */
typedef struct ngx_http_kvmq_val_s  ngx_http_kvmq_val_t;

typedef enum {
    NGX_HTTP_KVMQ_STATUS = 0,
    NGX_HTTP_KVMQ_INT,
    NGX_HTTP_KVMQ_DOUBLE,
    NGX_HTTP_KVMQ_BULK,
    NGX_HTTP_KVMQ_NIL,
    NGX_HTTP_KVMQ_ARRAY,
    NGX_HTTP_KVMQ_MAP,
    NGX_HTTP_KVMQ_ERROR
} ngx_http_kvmq_type_e;

struct ngx_http_kvmq_val_s {
    ngx_http_kvmq_val_t        *next;       /* next element of a parent */
    ngx_http_kvmq_val_t        *child;      /* first element, array/map */
    ngx_str_t                   str;        /* status, bulk, error text */
    int64_t                     integer;
    double                      dbl;
    ngx_uint_t                  nelts;      /* elements of an array/map */
    ngx_http_kvmq_type_e        type;
    kvmq_err_e                  err;
};


/*
 * The reply builder: implements kvmq_reply_ops_t by copying every value
 * the engine replies into the request pool, so the zone lock is held
 * only for the memcpy of the data and all encoding (JSON, base64, raw
 * response headers) happens after the unlock.
 */
typedef struct {
    kvmq_reply_t                reply;
    ngx_pool_t                 *pool;
    ngx_http_kvmq_val_t        *root;
    ngx_http_kvmq_val_t        *open[NGX_HTTP_KVMQ_MAX_DEPTH];
    ngx_http_kvmq_val_t       **tail[NGX_HTTP_KVMQ_MAX_DEPTH + 1];
    ngx_uint_t                  depth;
    kvmq_meta_t                 meta;       /* ctype copied to the pool */
    unsigned                    has_meta:1;
    unsigned                    failed:1;   /* pool allocation failed */
    uint64_t                    pub_seq;    /* seq of the last PUBLISH */
} ngx_http_kvmq_builder_t;


/* an argv of one command */
typedef struct {
    kvmq_slice_t               *argv;
    int                         argc;
} ngx_http_kvmq_argv_t;


typedef enum {
    NGX_HTTP_KVMQ_ROUTE_NONE = 0,
    NGX_HTTP_KVMQ_ROUTE_KV_SCAN,
    NGX_HTTP_KVMQ_ROUTE_KV_KEY,
    NGX_HTTP_KVMQ_ROUTE_KV_OP,
    NGX_HTTP_KVMQ_ROUTE_CMD_POST,
    NGX_HTTP_KVMQ_ROUTE_CMD_GET,
    NGX_HTTP_KVMQ_ROUTE_STATS,
    NGX_HTTP_KVMQ_ROUTE_PUBLISH,
    NGX_HTTP_KVMQ_ROUTE_SUBSCRIBE,
    NGX_HTTP_KVMQ_ROUTE_WS,
    NGX_HTTP_KVMQ_ROUTE_HASH,
    NGX_HTTP_KVMQ_ROUTE_LIST,
    NGX_HTTP_KVMQ_ROUTE_SET,
    NGX_HTTP_KVMQ_ROUTE_ZSET,
    NGX_HTTP_KVMQ_ROUTE_QUEUES,
    NGX_HTTP_KVMQ_ROUTE_RPC
} ngx_http_kvmq_route_e;


/* per-request context */
typedef struct {
    ngx_http_kvmq_route_e       route;
    ngx_str_t                  *seg;        /* decoded path segments */
    ngx_uint_t                  nseg;
    ngx_str_t                   command;    /* $kvmq_command */
    ngx_str_t                   key;        /* $kvmq_key */
    ngx_str_t                   body;       /* the whole request body */
    void                       *door;       /* SSE, WebSocket: state */
    unsigned                    base64:1;   /* ?encoding=base64 */
} ngx_http_kvmq_ctx_t;


extern ngx_module_t  ngx_http_kvmq_module;


/* handler.c: routing, bodies, locking, responses */
ngx_int_t ngx_http_kvmq_handler(ngx_http_request_t *r);
ngx_int_t ngx_http_kvmq_arg(ngx_http_request_t *r, const char *name,
    ngx_str_t *value);
ngx_int_t ngx_http_kvmq_body(ngx_http_request_t *r, ngx_str_t *body);
ngx_int_t ngx_http_kvmq_exec(ngx_http_request_t *r,
    ngx_http_kvmq_builder_t *b, ngx_http_kvmq_argv_t *cmds, ngx_uint_t n,
    ngx_http_kvmq_val_t **results, const kvmq_slice_t *ctype);
ngx_int_t ngx_http_kvmq_check_limits(ngx_http_request_t *r,
    ngx_http_kvmq_argv_t *cmd, ngx_uint_t index, ngx_str_t *err);
ngx_int_t ngx_http_kvmq_send(ngx_http_request_t *r, ngx_uint_t status,
    ngx_chain_t *out);
ngx_int_t ngx_http_kvmq_send_error(ngx_http_request_t *r, kvmq_err_e err,
    const u_char *msg, size_t len);
ngx_int_t ngx_http_kvmq_send_errorf(ngx_http_request_t *r, kvmq_err_e err,
    const char *fmt, ...);
ngx_int_t ngx_http_kvmq_send_val(ngx_http_request_t *r,
    ngx_http_kvmq_val_t *v);
ngx_int_t ngx_http_kvmq_send_json(ngx_http_request_t *r, ngx_uint_t status,
    ngx_http_kvmq_val_t *v);
ngx_int_t ngx_http_kvmq_send_method(ngx_http_request_t *r,
    const char *allow);
ngx_int_t ngx_http_kvmq_add_header(ngx_http_request_t *r, const char *name,
    size_t len, ngx_str_t *value, ngx_table_elt_t **out);

/* kv.c: the /kv REST routes */
ngx_int_t ngx_http_kvmq_kv(ngx_http_request_t *r, ngx_http_kvmq_ctx_t *ctx);

/* hash.c, list.c, set.c, zset.c: the REST routes of the aggregate types */
ngx_int_t ngx_http_kvmq_hash(ngx_http_request_t *r, ngx_http_kvmq_ctx_t *ctx);
ngx_int_t ngx_http_kvmq_list(ngx_http_request_t *r, ngx_http_kvmq_ctx_t *ctx);
ngx_int_t ngx_http_kvmq_set(ngx_http_request_t *r, ngx_http_kvmq_ctx_t *ctx);
ngx_int_t ngx_http_kvmq_zset(ngx_http_request_t *r, ngx_http_kvmq_ctx_t *ctx);

/* queue.c: /queues, /exchanges; queue_wait.c: waiting gets, /rpc,
 * /reply */
ngx_int_t ngx_http_kvmq_queues(ngx_http_request_t *r,
    ngx_http_kvmq_ctx_t *ctx);
ngx_int_t ngx_http_kvmq_queue_get(ngx_http_request_t *r,
    ngx_http_kvmq_ctx_t *ctx);
ngx_int_t ngx_http_kvmq_queue_get_argv(ngx_http_request_t *r,
    ngx_array_t *args, ngx_int_t *rc);
ngx_int_t ngx_http_kvmq_mq_props(ngx_http_request_t *r, ngx_array_t *args);
ngx_int_t ngx_http_kvmq_mq_send(ngx_http_request_t *r, ngx_uint_t status,
    ngx_http_kvmq_val_t *v);
ngx_int_t ngx_http_kvmq_rpc(ngx_http_request_t *r, ngx_http_kvmq_ctx_t *ctx);

/* cmd.c: POST /cmd and GET /cmd/NAME/...; the checks and the engine
 * call are shared with the WebSocket door */
ngx_int_t ngx_http_kvmq_cmd(ngx_http_request_t *r, ngx_http_kvmq_ctx_t *ctx);
ngx_int_t ngx_http_kvmq_cmd_exec(ngx_http_request_t *r,
    ngx_http_kvmq_argv_t *cmds, ngx_uint_t n, ngx_uint_t batch,
    ngx_http_kvmq_val_t ***results, ngx_http_kvmq_val_t **err);

/* ws.c: GET /ws, the WebSocket door */
ngx_int_t ngx_http_kvmq_ws(ngx_http_request_t *r, ngx_http_kvmq_ctx_t *ctx);

/* sse.c: POST /publish/{channel}, GET /subscribe/{channel} (SSE) */
ngx_int_t ngx_http_kvmq_publish(ngx_http_request_t *r,
    ngx_http_kvmq_ctx_t *ctx);
ngx_int_t ngx_http_kvmq_sse(ngx_http_request_t *r, ngx_http_kvmq_ctx_t *ctx);

/* stats.c: GET /stats */
ngx_int_t ngx_http_kvmq_stats(ngx_http_request_t *r,
    ngx_http_kvmq_ctx_t *ctx);

/* reply.c: the reply builder */
void ngx_http_kvmq_builder_init(ngx_http_kvmq_builder_t *b,
    ngx_pool_t *pool);
void ngx_http_kvmq_builder_reset(ngx_http_kvmq_builder_t *b);

/* json.c: JSON output through yajl_gen and /cmd request parsing */
typedef struct ngx_http_kvmq_json_s  ngx_http_kvmq_json_t;

ngx_http_kvmq_json_t *ngx_http_kvmq_json_create(ngx_http_request_t *r,
    ngx_uint_t base64);
ngx_int_t ngx_http_kvmq_json_val(ngx_http_kvmq_json_t *j,
    ngx_http_kvmq_val_t *v);
ngx_int_t ngx_http_kvmq_json_string(ngx_http_kvmq_json_t *j,
    const u_char *p, size_t len);
ngx_int_t ngx_http_kvmq_json_data(ngx_http_kvmq_json_t *j,
    const u_char *p, size_t len);
ngx_int_t ngx_http_kvmq_json_int(ngx_http_kvmq_json_t *j, int64_t v);
ngx_int_t ngx_http_kvmq_json_number(ngx_http_kvmq_json_t *j,
    const u_char *p, size_t len);
ngx_int_t ngx_http_kvmq_json_bool(ngx_http_kvmq_json_t *j, ngx_uint_t v);
ngx_int_t ngx_http_kvmq_json_open(ngx_http_kvmq_json_t *j, ngx_uint_t map);
ngx_int_t ngx_http_kvmq_json_close(ngx_http_kvmq_json_t *j,
    ngx_uint_t map);
ngx_chain_t *ngx_http_kvmq_json_finish(ngx_http_kvmq_json_t *j);
ngx_int_t ngx_http_kvmq_mq_json(ngx_http_kvmq_json_t *j,
    ngx_http_kvmq_val_t *v);
ngx_int_t ngx_http_kvmq_json_parse_cmd(ngx_http_request_t *r,
    ngx_str_t *body, ngx_uint_t base64, ngx_array_t *cmds,
    ngx_uint_t *batch, ngx_str_t *err);

/* util.c: encodings and numbers */
ngx_int_t ngx_http_kvmq_utf8_valid(const u_char *p, size_t len);
size_t ngx_http_kvmq_utf8_sanitize(u_char *dst, const u_char *src,
    size_t len);
ngx_int_t ngx_http_kvmq_unescape(ngx_pool_t *pool, ngx_str_t *dst,
    const u_char *p, size_t len, ngx_uint_t plus);
ngx_int_t ngx_http_kvmq_base64_decode(ngx_pool_t *pool, ngx_str_t *dst,
    const u_char *p, size_t len);
const char *ngx_http_kvmq_arg_push(ngx_pool_t *pool, ngx_array_t *args,
    const u_char *s, size_t len, ngx_uint_t base64);
ngx_int_t ngx_http_kvmq_is_int(const u_char *p, size_t len);
ngx_int_t ngx_http_kvmq_is_uint(const u_char *p, size_t len);
ngx_int_t ngx_http_kvmq_is_json_number(const u_char *p, size_t len);
size_t ngx_http_kvmq_format_double(u_char *buf, double v);

/* sweep.c: the expiry timer */
ngx_int_t ngx_http_kvmq_sweep_init(ngx_cycle_t *cycle);

/* module.c */
size_t ngx_http_kvmq_zone_used(void *ctx);
const char *ngx_http_kvmq_eviction_name(kvmq_evict_e e);


#endif /* _NGX_HTTP_KVMQ_MODULE_H_INCLUDED_ */
