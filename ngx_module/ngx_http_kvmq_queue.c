
/*
 * The REST routes of queues and exchanges (API.md "Queues",
 * "Exchanges"), each one engine command:
 *
 *   GET /queues                        Q.LIST
 *   PUT /queues/{q}                    Q.DECLARE q OPTION value ...
 *                                      (body: a JSON object) 201 | 200
 *   GET /queues/{q}                    Q.INFO q
 *   DELETE /queues/{q}                 Q.DELETE q     {"deleted": N}
 *   POST /queues/{q}/messages          Q.PUBLISH q body PROPERTY ...
 *                                      201 {"queued": true}
 *   DELETE /queues/{q}/messages        Q.PURGE q      {"purged": N}
 *   POST /queues/{q}/get               Q.GET q COUNT ACK VISIBILITY
 *                                      (?wait=: queue_wait.c parks it)
 *   POST /queues/{q}/ack               Q.ACK q tag... {"acked": N}
 *   POST /queues/{q}/nack              Q.NACK q tag... REQUEUE b
 *                                      {"nacked": N}
 *   GET /exchanges                     X.LIST
 *   PUT /exchanges/{x}                 X.DECLARE x type [durable b]
 *   GET /exchanges/{x}                 X.LIST, the one entry
 *   DELETE /exchanges/{x}              X.DELETE x
 *   POST|DELETE /exchanges/{x}/bindings
 *                                      X.BIND | X.UNBIND x q key args
 *   POST /exchanges/{x}/publish        X.PUBLISH x key body PROPERTY ...
 *
 * The exchange named "default" in a path is the default exchange "".
 * Message properties come from request headers (X-Correlation-Id ...,
 * X-Header-<Name> for message headers).  The engine answers booleans as
 * integers 0/1; the replies here turn the known boolean members into
 * JSON booleans, so that a client reads "redelivered": true.
 */


#include <yajl/yajl_parse.h>

#include "ngx_http_kvmq_types.h"


/* a member of a shallow JSON object: a scalar, an array or an object of
 * scalars (object members as name, value, ...) */
typedef struct {
    ngx_str_t                   name;
    ngx_array_t                 vals;       /* kvmq_slice_t */
    ngx_uint_t                  kind;
} ngx_http_kvmq_member_t;

#define NGX_HTTP_KVMQ_M_SCALAR  0
#define NGX_HTTP_KVMQ_M_ARRAY   1
#define NGX_HTTP_KVMQ_M_OBJECT  2
#define NGX_HTTP_KVMQ_M_NULL    3

typedef struct {
    ngx_pool_t                 *pool;
    ngx_array_t                *members;    /* ngx_http_kvmq_member_t */
    ngx_http_kvmq_member_t     *cur;
    ngx_uint_t                  depth;
    const char                 *err;
} ngx_http_kvmq_shallow_t;


static ngx_int_t ngx_http_kvmq_queue_route(ngx_http_request_t *r,
    ngx_http_kvmq_ctx_t *ctx, ngx_uint_t n);
static void ngx_http_kvmq_queue_declare_body(ngx_http_request_t *r);
static ngx_int_t ngx_http_kvmq_queue_declare(ngx_http_request_t *r,
    ngx_http_kvmq_ctx_t *ctx);
static void ngx_http_kvmq_queue_publish_body(ngx_http_request_t *r);
static ngx_int_t ngx_http_kvmq_queue_publish(ngx_http_request_t *r,
    ngx_http_kvmq_ctx_t *ctx);
static void ngx_http_kvmq_queue_ack_body(ngx_http_request_t *r);
static ngx_int_t ngx_http_kvmq_queue_ack(ngx_http_request_t *r,
    ngx_http_kvmq_ctx_t *ctx);
static void ngx_http_kvmq_queue_nack_body(ngx_http_request_t *r);
static ngx_int_t ngx_http_kvmq_queue_nack(ngx_http_request_t *r,
    ngx_http_kvmq_ctx_t *ctx);
static ngx_int_t ngx_http_kvmq_exchange_route(ngx_http_request_t *r,
    ngx_http_kvmq_ctx_t *ctx, ngx_uint_t n);
static void ngx_http_kvmq_exchange_declare_body(ngx_http_request_t *r);
static ngx_int_t ngx_http_kvmq_exchange_declare(ngx_http_request_t *r,
    ngx_http_kvmq_ctx_t *ctx);
static ngx_int_t ngx_http_kvmq_exchange_get(ngx_http_request_t *r,
    ngx_http_kvmq_ctx_t *ctx);
static void ngx_http_kvmq_exchange_bind_body(ngx_http_request_t *r);
static ngx_int_t ngx_http_kvmq_exchange_bind(ngx_http_request_t *r,
    ngx_http_kvmq_ctx_t *ctx);
static void ngx_http_kvmq_exchange_publish_body(ngx_http_request_t *r);
static ngx_int_t ngx_http_kvmq_exchange_publish(ngx_http_request_t *r,
    ngx_http_kvmq_ctx_t *ctx);

static int ngx_http_kvmq_sh_null(void *ctx);
static int ngx_http_kvmq_sh_boolean(void *ctx, int b);
static int ngx_http_kvmq_sh_number(void *ctx, const char *s, size_t len);
static int ngx_http_kvmq_sh_string(void *ctx, const unsigned char *s,
    size_t len);
static int ngx_http_kvmq_sh_start_map(void *ctx);
static int ngx_http_kvmq_sh_map_key(void *ctx, const unsigned char *s,
    size_t len);
static int ngx_http_kvmq_sh_start_array(void *ctx);
static int ngx_http_kvmq_sh_end(void *ctx);


static yajl_callbacks  ngx_http_kvmq_sh_callbacks = {
    ngx_http_kvmq_sh_null,
    ngx_http_kvmq_sh_boolean,
    NULL,
    NULL,
    ngx_http_kvmq_sh_number,
    ngx_http_kvmq_sh_string,
    ngx_http_kvmq_sh_start_map,
    ngx_http_kvmq_sh_map_key,
    ngx_http_kvmq_sh_end,
    ngx_http_kvmq_sh_start_array,
    ngx_http_kvmq_sh_end
};


/* reply members that are booleans for the client */
static const char  *ngx_http_kvmq_mq_bools[] = {
    "redelivered", "created", "durable", "exclusive", "auto_delete",
    "persistent", "queued", NULL
};


/* the request headers that carry message properties */
static const struct {
    const char                 *header;
    const char                 *property;
} ngx_http_kvmq_mq_hdrs[] = {
    { "X-Correlation-Id", "correlation_id" },
    { "X-Reply-To", "reply_to" },
    { "X-Message-Id", "message_id" },
    { "X-Expiration", "expiration" },
    { "X-Persistent", "persistent" },
    { "X-Priority", "priority" },
    { "Content-Type", "content_type" },
    { NULL, NULL }
};


ngx_int_t
ngx_http_kvmq_queues(ngx_http_request_t *r, ngx_http_kvmq_ctx_t *ctx)
{
    ngx_uint_t                 n;
    ngx_http_kvmq_loc_conf_t  *klcf;

    klcf = ngx_http_get_module_loc_conf(r, ngx_http_kvmq_module);

    n = ctx->nseg;

    if (n == 2 && ctx->seg[1].len == 0) {
        n = 1;
    }

    if (n > 3) {
        return ngx_http_kvmq_type_no_route(r);
    }

    if (n >= 2) {
        ctx->key = ctx->seg[1];

        if (ctx->key.len > klcf->max_key) {
            return ngx_http_kvmq_type_long_key(r, ctx);
        }
    }

    if (ctx->seg[0].len == 6) {
        return ngx_http_kvmq_queue_route(r, ctx, n);
    }

    /* "exchanges" */

    if (n >= 2 && ctx->key.len == 7
        && ngx_strncmp(ctx->key.data, "default", 7) == 0)
    {
        ngx_str_set(&ctx->key, "");
    }

    return ngx_http_kvmq_exchange_route(r, ctx, n);
}


/* ---- replies ----------------------------------------------------------- */


static ngx_uint_t
ngx_http_kvmq_mq_is_bool(ngx_http_kvmq_val_t *k)
{
    ngx_uint_t  i;

    for (i = 0; ngx_http_kvmq_mq_bools[i]; i++) {
        if (k->str.len == ngx_strlen(ngx_http_kvmq_mq_bools[i])
            && ngx_strncmp(k->str.data, ngx_http_kvmq_mq_bools[i],
                           k->str.len) == 0)
        {
            return 1;
        }
    }

    return 0;
}


ngx_int_t
ngx_http_kvmq_mq_json(ngx_http_kvmq_json_t *j, ngx_http_kvmq_val_t *v)
{
    ngx_http_kvmq_val_t  *k, *e;

    if (v == NULL
        || (v->type != NGX_HTTP_KVMQ_ARRAY && v->type != NGX_HTTP_KVMQ_MAP))
    {
        return ngx_http_kvmq_json_val(j, v);
    }

    if (v->type == NGX_HTTP_KVMQ_ARRAY) {
        if (ngx_http_kvmq_json_open(j, 0) != NGX_OK) {
            return NGX_ERROR;
        }

        for (e = v->child; e; e = e->next) {
            if (ngx_http_kvmq_mq_json(j, e) != NGX_OK) {
                return NGX_ERROR;
            }
        }

        return ngx_http_kvmq_json_close(j, 0);
    }

    if (ngx_http_kvmq_json_open(j, 1) != NGX_OK) {
        return NGX_ERROR;
    }

    for (k = v->child; k && k->next; k = e->next) {
        e = k->next;

        if (ngx_http_kvmq_json_string(j, k->str.data, k->str.len) != NGX_OK)
        {
            return NGX_ERROR;
        }

        if (e->type == NGX_HTTP_KVMQ_INT && ngx_http_kvmq_mq_is_bool(k)) {
            if (ngx_http_kvmq_json_bool(j, e->integer != 0) != NGX_OK) {
                return NGX_ERROR;
            }

            continue;
        }

        if (ngx_http_kvmq_mq_json(j, e) != NGX_OK) {
            return NGX_ERROR;
        }
    }

    return ngx_http_kvmq_json_close(j, 1);
}


/* a reply as the response, with booleans; errors by their status */

ngx_int_t
ngx_http_kvmq_mq_send(ngx_http_request_t *r, ngx_uint_t status,
    ngx_http_kvmq_val_t *v)
{
    ngx_chain_t           *out;
    ngx_http_kvmq_ctx_t   *ctx;
    ngx_http_kvmq_json_t  *j;

    if (v == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (v->type == NGX_HTTP_KVMQ_ERROR) {
        return ngx_http_kvmq_send_val(r, v);
    }

    ctx = ngx_http_get_module_ctx(r, ngx_http_kvmq_module);

    j = ngx_http_kvmq_json_create(r, ctx->base64);
    if (j == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ngx_http_kvmq_mq_json(j, v) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    out = ngx_http_kvmq_json_finish(j);
    if (out == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_kvmq_send(r, status, out);
}


/* {"name": true|false} from an integer reply */

static ngx_int_t
ngx_http_kvmq_mq_flag(ngx_http_request_t *r, ngx_uint_t status,
    const char *name, ngx_http_kvmq_val_t *v)
{
    ngx_chain_t           *out;
    ngx_http_kvmq_json_t  *j;

    if (v == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (v->type != NGX_HTTP_KVMQ_INT) {
        return ngx_http_kvmq_send_val(r, v);
    }

    j = ngx_http_kvmq_json_create(r, 0);
    if (j == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ngx_http_kvmq_json_open(j, 1) != NGX_OK
        || ngx_http_kvmq_json_string(j, (u_char *) name, ngx_strlen(name))
           != NGX_OK
        || ngx_http_kvmq_json_bool(j, v->integer != 0) != NGX_OK
        || ngx_http_kvmq_json_close(j, 1) != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    out = ngx_http_kvmq_json_finish(j);
    if (out == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_kvmq_send(r, status, out);
}


/* ---- message properties from request headers ---------------------------- */


static ngx_int_t
ngx_http_kvmq_mq_push2(ngx_array_t *args, const char *name, ngx_str_t *v)
{
    kvmq_slice_t  *a;

    a = ngx_array_push_n(args, 2);
    if (a == NULL) {
        return NGX_ERROR;
    }

    a[0].data = (const unsigned char *) name;
    a[0].len = ngx_strlen(name);
    a[1].data = v->data;
    a[1].len = v->len;

    return NGX_OK;
}


ngx_int_t
ngx_http_kvmq_mq_props(ngx_http_request_t *r, ngx_array_t *args)
{
    ngx_str_t         name;
    ngx_uint_t        i, k;
    kvmq_slice_t     *a;
    ngx_list_part_t  *part;
    ngx_table_elt_t  *h;

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

        if (h[i].key.len > 9
            && ngx_strncasecmp(h[i].key.data, (u_char *) "X-Header-", 9)
               == 0)
        {
            a = ngx_array_push_n(args, 3);
            if (a == NULL) {
                return NGX_ERROR;
            }

            a[0].data = (const unsigned char *) "header";
            a[0].len = 6;
            a[1].data = h[i].key.data + 9;
            a[1].len = h[i].key.len - 9;
            a[2].data = h[i].value.data;
            a[2].len = h[i].value.len;

            continue;
        }

        for (k = 0; ngx_http_kvmq_mq_hdrs[k].header; k++) {
            name.data = (u_char *) ngx_http_kvmq_mq_hdrs[k].header;
            name.len = ngx_strlen(name.data);

            if (h[i].key.len == name.len
                && ngx_strncasecmp(h[i].key.data, name.data, name.len) == 0)
            {
                if (ngx_http_kvmq_mq_push2(args,
                                           ngx_http_kvmq_mq_hdrs[k].property,
                                           &h[i].value)
                    != NGX_OK)
                {
                    return NGX_ERROR;
                }

                break;
            }
        }
    }

    return NGX_OK;
}


/* ---- shallow JSON objects ------------------------------------------------ */


static int
ngx_http_kvmq_sh_fail(ngx_http_kvmq_shallow_t *s, const char *msg)
{
    s->err = msg;
    return 0;
}


static int
ngx_http_kvmq_sh_value(ngx_http_kvmq_shallow_t *s, const u_char *p,
    size_t len, ngx_uint_t null)
{
    u_char        *d;
    kvmq_slice_t  *a;

    if (s->cur == NULL || s->depth == 0) {
        return ngx_http_kvmq_sh_fail(s, "the body must be a JSON object");
    }

    if (s->depth == 1) {
        s->cur->kind = null ? NGX_HTTP_KVMQ_M_NULL : NGX_HTTP_KVMQ_M_SCALAR;

    } else if (null) {
        return ngx_http_kvmq_sh_fail(s, "null inside a member");
    }

    if (null) {
        return 1;
    }

    d = ngx_pnalloc(s->pool, len ? len : 1);
    if (d == NULL) {
        return ngx_http_kvmq_sh_fail(s, "out of memory");
    }

    ngx_memcpy(d, p, len);

    a = ngx_array_push(&s->cur->vals);
    if (a == NULL) {
        return ngx_http_kvmq_sh_fail(s, "out of memory");
    }

    a->data = d;
    a->len = len;

    return 1;
}


static int
ngx_http_kvmq_sh_null(void *ctx)
{
    return ngx_http_kvmq_sh_value(ctx, (u_char *) "", 0, 1);
}


static int
ngx_http_kvmq_sh_boolean(void *ctx, int b)
{
    return b ? ngx_http_kvmq_sh_value(ctx, (u_char *) "true", 4, 0)
             : ngx_http_kvmq_sh_value(ctx, (u_char *) "false", 5, 0);
}


static int
ngx_http_kvmq_sh_number(void *ctx, const char *s, size_t len)
{
    return ngx_http_kvmq_sh_value(ctx, (const u_char *) s, len, 0);
}


static int
ngx_http_kvmq_sh_string(void *ctx, const unsigned char *s, size_t len)
{
    return ngx_http_kvmq_sh_value(ctx, s, len, 0);
}


static int
ngx_http_kvmq_sh_map_key(void *ctx, const unsigned char *p, size_t len)
{
    ngx_http_kvmq_member_t   *m;
    ngx_http_kvmq_shallow_t  *s;

    s = ctx;

    if (s->depth == 2) {
        return ngx_http_kvmq_sh_value(s, p, len, 0);
    }

    m = ngx_array_push(s->members);
    if (m == NULL) {
        return ngx_http_kvmq_sh_fail(s, "out of memory");
    }

    ngx_memzero(m, sizeof(ngx_http_kvmq_member_t));

    if (ngx_array_init(&m->vals, s->pool, 4, sizeof(kvmq_slice_t))
        != NGX_OK)
    {
        return ngx_http_kvmq_sh_fail(s, "out of memory");
    }

    m->name.data = ngx_pnalloc(s->pool, len ? len : 1);
    if (m->name.data == NULL) {
        return ngx_http_kvmq_sh_fail(s, "out of memory");
    }

    ngx_memcpy(m->name.data, p, len);
    m->name.len = len;

    s->cur = m;

    return 1;
}


static int
ngx_http_kvmq_sh_open(ngx_http_kvmq_shallow_t *s, ngx_uint_t kind)
{
    if (s->depth == 0) {
        if (kind != NGX_HTTP_KVMQ_M_OBJECT) {
            return ngx_http_kvmq_sh_fail(s, "the body must be a JSON object");
        }

    } else if (s->depth == 1) {
        s->cur->kind = kind;

    } else {
        return ngx_http_kvmq_sh_fail(s, "JSON nested too deep");
    }

    s->depth++;

    return 1;
}


static int
ngx_http_kvmq_sh_start_map(void *ctx)
{
    return ngx_http_kvmq_sh_open(ctx, NGX_HTTP_KVMQ_M_OBJECT);
}


static int
ngx_http_kvmq_sh_start_array(void *ctx)
{
    return ngx_http_kvmq_sh_open(ctx, NGX_HTTP_KVMQ_M_ARRAY);
}


static int
ngx_http_kvmq_sh_end(void *ctx)
{
    ngx_http_kvmq_shallow_t *s = ctx;

    s->depth--;

    return 1;
}


/*
 * A body that is one JSON object whose members are scalars (booleans as
 * "true"/"false", numbers as written), arrays of scalars, or objects of
 * scalars; an empty body is an empty object.  NGX_OK, NGX_DECLINED with
 * *err, NGX_ERROR on no memory.
 */

static ngx_int_t
ngx_http_kvmq_shallow(ngx_http_request_t *r, ngx_str_t *body,
    ngx_array_t **members, const char **err)
{
    yajl_handle               h;
    yajl_status               st;
    ngx_http_kvmq_shallow_t   s;

    ngx_memzero(&s, sizeof(ngx_http_kvmq_shallow_t));

    s.pool = r->pool;
    s.members = ngx_array_create(r->pool, 8, sizeof(ngx_http_kvmq_member_t));
    if (s.members == NULL) {
        return NGX_ERROR;
    }

    *members = s.members;

    if (body->len == 0) {
        return NGX_OK;
    }

    h = yajl_alloc(&ngx_http_kvmq_sh_callbacks, NULL, &s);
    if (h == NULL) {
        return NGX_ERROR;
    }

    st = yajl_parse(h, body->data, body->len);

    if (st == yajl_status_ok) {
        st = yajl_complete_parse(h);
    }

    yajl_free(h);

    if (st == yajl_status_ok) {
        return NGX_OK;
    }

    *err = (st == yajl_status_client_canceled && s.err) ? s.err
                                                        : "malformed JSON";

    return NGX_DECLINED;
}


static ngx_http_kvmq_member_t *
ngx_http_kvmq_member(ngx_array_t *members, const char *name)
{
    size_t                   len;
    ngx_uint_t               i;
    ngx_http_kvmq_member_t  *m;

    len = ngx_strlen(name);
    m = members->elts;

    for (i = 0; i < members->nelts; i++) {
        if (m[i].name.len == len
            && ngx_strncmp(m[i].name.data, name, len) == 0
            && m[i].kind != NGX_HTTP_KVMQ_M_NULL)
        {
            return &m[i];
        }
    }

    return NULL;
}


/* one argv from literal words and slices */

static ngx_int_t
ngx_http_kvmq_mq_argv(ngx_http_request_t *r, ngx_array_t *args,
    const char *cmd)
{
    kvmq_slice_t         *a;
    ngx_http_kvmq_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_kvmq_module);

    if (ngx_array_init(args, r->pool, 16, sizeof(kvmq_slice_t)) != NGX_OK) {
        return NGX_ERROR;
    }

    a = ngx_array_push_n(args, 2);
    if (a == NULL) {
        return NGX_ERROR;
    }

    a[0].data = (const unsigned char *) cmd;
    a[0].len = ngx_strlen(cmd);
    a[1].data = ctx->key.data;
    a[1].len = ctx->key.len;

    ctx->command.data = (u_char *) cmd;
    ctx->command.len = a[0].len;

    return NGX_OK;
}


static ngx_int_t
ngx_http_kvmq_mq_push(ngx_array_t *args, const u_char *p, size_t len)
{
    kvmq_slice_t  *a;

    a = ngx_array_push(args);
    if (a == NULL) {
        return NGX_ERROR;
    }

    a->data = p;
    a->len = len;

    return NGX_OK;
}


static ngx_http_kvmq_val_t *
ngx_http_kvmq_mq_run(ngx_http_request_t *r, ngx_array_t *args)
{
    return ngx_http_kvmq_type_run(r, args->elts, (int) args->nelts);
}


/* ---- queues -------------------------------------------------------------- */


static ngx_int_t
ngx_http_kvmq_queue_simple(ngx_http_request_t *r, const char *cmd,
    const char *name)
{
    ngx_array_t           args;
    ngx_http_kvmq_val_t  *v;

    if (ngx_http_kvmq_mq_argv(r, &args, cmd) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ngx_strcmp(cmd, "Q.LIST") == 0) {
        args.nelts = 1;
    }

    v = ngx_http_kvmq_mq_run(r, &args);

    if (name) {
        return ngx_http_kvmq_type_object(r, NGX_HTTP_OK, name, v, NULL,
                                         NULL);
    }

    return ngx_http_kvmq_mq_send(r, NGX_HTTP_OK, v);
}


static ngx_int_t
ngx_http_kvmq_queue_route(ngx_http_request_t *r, ngx_http_kvmq_ctx_t *ctx,
    ngx_uint_t n)
{
    ngx_str_t  *op;

    if (n == 1) {
        if (r->method != NGX_HTTP_GET && r->method != NGX_HTTP_HEAD) {
            return ngx_http_kvmq_send_method(r, "GET, HEAD");
        }

        return ngx_http_kvmq_queue_simple(r, "Q.LIST", NULL);
    }

    if (n == 2) {
        switch (r->method) {

        case NGX_HTTP_GET:
        case NGX_HTTP_HEAD:
            return ngx_http_kvmq_queue_simple(r, "Q.INFO", NULL);

        case NGX_HTTP_PUT:
            ngx_str_set(&ctx->command, "Q.DECLARE");
            return ngx_http_kvmq_type_read_body(r,
                                          ngx_http_kvmq_queue_declare_body);

        case NGX_HTTP_DELETE:
            return ngx_http_kvmq_queue_simple(r, "Q.DELETE", "deleted");

        default:
            return ngx_http_kvmq_send_method(r, "GET, HEAD, PUT, DELETE");
        }
    }

    op = &ctx->seg[2];

    if (op->len == 8 && ngx_strncmp(op->data, "messages", 8) == 0) {
        switch (r->method) {

        case NGX_HTTP_POST:
            ngx_str_set(&ctx->command, "Q.PUBLISH");
            return ngx_http_kvmq_type_read_body(r,
                                          ngx_http_kvmq_queue_publish_body);

        case NGX_HTTP_DELETE:
            return ngx_http_kvmq_queue_simple(r, "Q.PURGE", "purged");

        default:
            return ngx_http_kvmq_send_method(r, "POST, DELETE");
        }
    }

    if (r->method != NGX_HTTP_POST) {
        if ((op->len == 3 && ngx_strncmp(op->data, "get", 3) == 0)
            || (op->len == 3 && ngx_strncmp(op->data, "ack", 3) == 0)
            || (op->len == 4 && ngx_strncmp(op->data, "nack", 4) == 0))
        {
            return ngx_http_kvmq_send_method(r, "POST");
        }

        return ngx_http_kvmq_type_no_route(r);
    }

    if (op->len == 3 && ngx_strncmp(op->data, "get", 3) == 0) {
        ngx_str_set(&ctx->command, "Q.GET");
        return ngx_http_kvmq_queue_get(r, ctx);
    }

    if (op->len == 3 && ngx_strncmp(op->data, "ack", 3) == 0) {
        ngx_str_set(&ctx->command, "Q.ACK");
        return ngx_http_kvmq_type_read_body(r, ngx_http_kvmq_queue_ack_body);
    }

    if (op->len == 4 && ngx_strncmp(op->data, "nack", 4) == 0) {
        ngx_str_set(&ctx->command, "Q.NACK");
        return ngx_http_kvmq_type_read_body(r,
                                            ngx_http_kvmq_queue_nack_body);
    }

    return ngx_http_kvmq_type_no_route(r);
}


static void
ngx_http_kvmq_queue_declare_body(ngx_http_request_t *r)
{
    ngx_http_finalize_request(r, ngx_http_kvmq_type_with_body(r,
                                     ngx_http_kvmq_queue_declare));
}


static ngx_int_t
ngx_http_kvmq_queue_declare(ngx_http_request_t *r, ngx_http_kvmq_ctx_t *ctx)
{
    ngx_int_t                rc;
    ngx_uint_t               i, status;
    ngx_array_t              args, *members;
    const char              *err;
    kvmq_slice_t            *val;
    ngx_http_kvmq_val_t     *v, *e;
    ngx_http_kvmq_member_t  *m;

    rc = ngx_http_kvmq_shallow(r, &ctx->body, &members, &err);

    if (rc == NGX_ERROR) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (rc == NGX_DECLINED) {
        return ngx_http_kvmq_send_errorf(r, KVMQ_ERR_BADREQ, "%s", err);
    }

    if (ngx_http_kvmq_mq_argv(r, &args, "Q.DECLARE") != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    m = members->elts;

    for (i = 0; i < members->nelts; i++) {

        if (m[i].kind == NGX_HTTP_KVMQ_M_NULL) {
            continue;
        }

        if (m[i].kind != NGX_HTTP_KVMQ_M_SCALAR) {
            return ngx_http_kvmq_send_errorf(r, KVMQ_ERR_BADREQ,
                                             "option \"%V\" must be a "
                                             "string, number or boolean",
                                             &m[i].name);
        }

        val = m[i].vals.elts;

        if (ngx_http_kvmq_mq_push(&args, m[i].name.data, m[i].name.len)
            != NGX_OK
            || ngx_http_kvmq_mq_push(&args, val->data, val->len) != NGX_OK)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
    }

    v = ngx_http_kvmq_mq_run(r, &args);
    if (v == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    status = NGX_HTTP_OK;

    if (v->type == NGX_HTTP_KVMQ_MAP) {
        for (e = v->child; e && e->next; e = e->next->next) {
            if (e->str.len == 7 && ngx_strncmp(e->str.data, "created", 7) == 0
                && e->next->type == NGX_HTTP_KVMQ_INT && e->next->integer)
            {
                status = NGX_HTTP_CREATED;
            }
        }
    }

    return ngx_http_kvmq_mq_send(r, status, v);
}


static void
ngx_http_kvmq_queue_publish_body(ngx_http_request_t *r)
{
    ngx_http_finalize_request(r, ngx_http_kvmq_type_with_body(r,
                                     ngx_http_kvmq_queue_publish));
}


static ngx_int_t
ngx_http_kvmq_queue_publish(ngx_http_request_t *r, ngx_http_kvmq_ctx_t *ctx)
{
    ngx_array_t           args;
    ngx_http_kvmq_val_t  *v;

    if (ngx_http_kvmq_mq_argv(r, &args, "Q.PUBLISH") != NGX_OK
        || ngx_http_kvmq_mq_push(&args, ctx->body.data, ctx->body.len)
           != NGX_OK
        || ngx_http_kvmq_mq_props(r, &args) != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    v = ngx_http_kvmq_mq_run(r, &args);

    return ngx_http_kvmq_mq_send(r, NGX_HTTP_CREATED, v);
}


/*
 * The Q.GET argv of POST /queues/{q}/get from ?count= ?visibility=
 * ?ack=; NGX_DECLINED after a 400 was sent (*rc).
 */

ngx_int_t
ngx_http_kvmq_queue_get_argv(ngx_http_request_t *r, ngx_array_t *args,
    ngx_int_t *rc)
{
    ngx_int_t  n;
    ngx_str_t  count, vis, ack;

    n = ngx_http_kvmq_type_int_arg(r, "count", &count, "1");
    if (n != NGX_OK) {
        *rc = ngx_http_kvmq_type_bad_arg(r, n, "count", "an integer");
        return NGX_DECLINED;
    }

    n = ngx_http_kvmq_type_int_arg(r, "visibility", &vis, NULL);
    if (n != NGX_OK) {
        *rc = ngx_http_kvmq_type_bad_arg(r, n, "visibility", "an integer");
        return NGX_DECLINED;
    }

    n = r->args.len ? ngx_http_kvmq_arg(r, "ack", &ack) : NGX_DECLINED;

    if (n == NGX_ERROR) {
        *rc = NGX_HTTP_INTERNAL_SERVER_ERROR;
        return NGX_DECLINED;
    }

    if (n == NGX_DECLINED) {
        ngx_str_set(&ack, "manual");

    } else if (!(ack.len == 6 && ngx_strncmp(ack.data, "manual", 6) == 0)
               && !(ack.len == 4 && ngx_strncmp(ack.data, "auto", 4) == 0))
    {
        *rc = ngx_http_kvmq_send_errorf(r, KVMQ_ERR_BADREQ,
                                        "ack must be manual or auto");
        return NGX_DECLINED;
    }

    if (ngx_http_kvmq_mq_argv(r, args, "Q.GET") != NGX_OK
        || ngx_http_kvmq_mq_push(args, (u_char *) "COUNT", 5) != NGX_OK
        || ngx_http_kvmq_mq_push(args, count.data, count.len) != NGX_OK
        || ngx_http_kvmq_mq_push(args, (u_char *) "ACK", 3) != NGX_OK
        || ngx_http_kvmq_mq_push(args, ack.data, ack.len) != NGX_OK
        || (vis.len
            && (ngx_http_kvmq_mq_push(args, (u_char *) "VISIBILITY", 10)
                != NGX_OK
                || ngx_http_kvmq_mq_push(args, vis.data, vis.len) != NGX_OK)))
    {
        *rc = NGX_HTTP_INTERNAL_SERVER_ERROR;
        return NGX_DECLINED;
    }

    return NGX_OK;
}


static void
ngx_http_kvmq_queue_ack_body(ngx_http_request_t *r)
{
    ngx_http_finalize_request(r, ngx_http_kvmq_type_with_body(r,
                                     ngx_http_kvmq_queue_ack));
}


static ngx_int_t
ngx_http_kvmq_queue_ack(ngx_http_request_t *r, ngx_http_kvmq_ctx_t *ctx)
{
    ngx_int_t             rc;
    ngx_str_t             err;
    ngx_array_t           args;
    ngx_http_kvmq_val_t  *v;

    if (ngx_http_kvmq_mq_argv(r, &args, "Q.ACK") != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    rc = ngx_http_kvmq_type_parse(r, &ctx->body, 0, &args, &err);

    if (rc == NGX_ERROR) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (rc == NGX_DECLINED) {
        return ngx_http_kvmq_send_error(r, KVMQ_ERR_BADREQ, err.data,
                                        err.len);
    }

    v = ngx_http_kvmq_mq_run(r, &args);

    return ngx_http_kvmq_type_object(r, NGX_HTTP_OK, "acked", v, NULL, NULL);
}


static void
ngx_http_kvmq_queue_nack_body(ngx_http_request_t *r)
{
    ngx_http_finalize_request(r, ngx_http_kvmq_type_with_body(r,
                                     ngx_http_kvmq_queue_nack));
}


static ngx_int_t
ngx_http_kvmq_queue_nack(ngx_http_request_t *r, ngx_http_kvmq_ctx_t *ctx)
{
    ngx_int_t                rc;
    ngx_uint_t               i;
    ngx_array_t              args, *members;
    const char              *err;
    kvmq_slice_t            *t;
    ngx_http_kvmq_val_t     *v;
    ngx_http_kvmq_member_t  *tags, *rq;

    rc = ngx_http_kvmq_shallow(r, &ctx->body, &members, &err);

    if (rc == NGX_ERROR) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (rc == NGX_DECLINED) {
        return ngx_http_kvmq_send_errorf(r, KVMQ_ERR_BADREQ, "%s", err);
    }

    tags = ngx_http_kvmq_member(members, "tags");
    rq = ngx_http_kvmq_member(members, "requeue");

    if (tags == NULL || tags->kind != NGX_HTTP_KVMQ_M_ARRAY
        || tags->vals.nelts == 0)
    {
        return ngx_http_kvmq_send_errorf(r, KVMQ_ERR_BADREQ,
                                         "\"tags\" must be a non-empty "
                                         "array");
    }

    if (rq && rq->kind != NGX_HTTP_KVMQ_M_SCALAR) {
        return ngx_http_kvmq_send_errorf(r, KVMQ_ERR_BADREQ,
                                         "\"requeue\" must be a boolean");
    }

    if (ngx_http_kvmq_mq_argv(r, &args, "Q.NACK") != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    t = tags->vals.elts;

    for (i = 0; i < tags->vals.nelts; i++) {
        if (ngx_http_kvmq_mq_push(&args, t[i].data, t[i].len) != NGX_OK) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
    }

    if (rq) {
        t = rq->vals.elts;

        /* the engine takes 0|1 */
        if (t->len == 4 && ngx_strncmp(t->data, "true", 4) == 0) {
            t->data = (const unsigned char *) "1";
            t->len = 1;

        } else if (t->len == 5 && ngx_strncmp(t->data, "false", 5) == 0) {
            t->data = (const unsigned char *) "0";
            t->len = 1;
        }

        if (ngx_http_kvmq_mq_push(&args, (u_char *) "REQUEUE", 7) != NGX_OK
            || ngx_http_kvmq_mq_push(&args, t->data, t->len) != NGX_OK)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
    }

    v = ngx_http_kvmq_mq_run(r, &args);

    return ngx_http_kvmq_type_object(r, NGX_HTTP_OK, "nacked", v, NULL,
                                     NULL);
}


/* ---- exchanges ----------------------------------------------------------- */


static ngx_int_t
ngx_http_kvmq_exchange_route(ngx_http_request_t *r, ngx_http_kvmq_ctx_t *ctx,
    ngx_uint_t n)
{
    ngx_str_t            *op;
    ngx_array_t           args;
    ngx_http_kvmq_val_t  *v;

    if (n == 1) {
        if (r->method != NGX_HTTP_GET && r->method != NGX_HTTP_HEAD) {
            return ngx_http_kvmq_send_method(r, "GET, HEAD");
        }

        if (ngx_http_kvmq_mq_argv(r, &args, "X.LIST") != NGX_OK) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        args.nelts = 1;

        return ngx_http_kvmq_mq_send(r, NGX_HTTP_OK,
                                     ngx_http_kvmq_mq_run(r, &args));
    }

    if (n == 2) {
        switch (r->method) {

        case NGX_HTTP_GET:
        case NGX_HTTP_HEAD:
            return ngx_http_kvmq_exchange_get(r, ctx);

        case NGX_HTTP_PUT:
            ngx_str_set(&ctx->command, "X.DECLARE");
            return ngx_http_kvmq_type_read_body(r,
                                       ngx_http_kvmq_exchange_declare_body);

        case NGX_HTTP_DELETE:
            if (ngx_http_kvmq_mq_argv(r, &args, "X.DELETE") != NGX_OK) {
                return NGX_HTTP_INTERNAL_SERVER_ERROR;
            }

            v = ngx_http_kvmq_mq_run(r, &args);

            return ngx_http_kvmq_mq_flag(r, NGX_HTTP_OK, "deleted", v);

        default:
            return ngx_http_kvmq_send_method(r, "GET, HEAD, PUT, DELETE");
        }
    }

    op = &ctx->seg[2];

    if (op->len == 8 && ngx_strncmp(op->data, "bindings", 8) == 0) {
        if (r->method != NGX_HTTP_POST && r->method != NGX_HTTP_DELETE) {
            return ngx_http_kvmq_send_method(r, "POST, DELETE");
        }

        return ngx_http_kvmq_type_read_body(r,
                                          ngx_http_kvmq_exchange_bind_body);
    }

    if (op->len == 7 && ngx_strncmp(op->data, "publish", 7) == 0) {
        if (r->method != NGX_HTTP_POST) {
            return ngx_http_kvmq_send_method(r, "POST");
        }

        ngx_str_set(&ctx->command, "X.PUBLISH");
        return ngx_http_kvmq_type_read_body(r,
                                       ngx_http_kvmq_exchange_publish_body);
    }

    return ngx_http_kvmq_type_no_route(r);
}


static void
ngx_http_kvmq_exchange_declare_body(ngx_http_request_t *r)
{
    ngx_http_finalize_request(r, ngx_http_kvmq_type_with_body(r,
                                     ngx_http_kvmq_exchange_declare));
}


static ngx_int_t
ngx_http_kvmq_exchange_declare(ngx_http_request_t *r,
    ngx_http_kvmq_ctx_t *ctx)
{
    ngx_int_t                rc;
    ngx_uint_t               i, status;
    ngx_array_t              args, *members;
    const char              *err;
    kvmq_slice_t            *t;
    ngx_http_kvmq_val_t     *v, *e;
    ngx_http_kvmq_member_t  *m, *type, *durable;

    rc = ngx_http_kvmq_shallow(r, &ctx->body, &members, &err);

    if (rc == NGX_ERROR) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (rc == NGX_DECLINED) {
        return ngx_http_kvmq_send_errorf(r, KVMQ_ERR_BADREQ, "%s", err);
    }

    m = members->elts;

    for (i = 0; i < members->nelts; i++) {
        if (!(m[i].name.len == 4
              && ngx_strncmp(m[i].name.data, "type", 4) == 0)
            && !(m[i].name.len == 7
                 && ngx_strncmp(m[i].name.data, "durable", 7) == 0))
        {
            return ngx_http_kvmq_send_errorf(r, KVMQ_ERR_BADREQ,
                                             "unknown option \"%V\"",
                                             &m[i].name);
        }

        if (m[i].kind != NGX_HTTP_KVMQ_M_SCALAR
            && m[i].kind != NGX_HTTP_KVMQ_M_NULL)
        {
            return ngx_http_kvmq_send_errorf(r, KVMQ_ERR_BADREQ,
                                             "option \"%V\" must be a "
                                             "string or boolean",
                                             &m[i].name);
        }
    }

    type = ngx_http_kvmq_member(members, "type");
    durable = ngx_http_kvmq_member(members, "durable");

    if (ngx_http_kvmq_mq_argv(r, &args, "X.DECLARE") != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (type) {
        t = type->vals.elts;
        rc = ngx_http_kvmq_mq_push(&args, t->data, t->len);

    } else {
        rc = ngx_http_kvmq_mq_push(&args, (u_char *) "direct", 6);
    }

    if (rc != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (durable) {
        t = durable->vals.elts;

        if (ngx_http_kvmq_mq_push(&args, (u_char *) "durable", 7) != NGX_OK
            || ngx_http_kvmq_mq_push(&args, t->data, t->len) != NGX_OK)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
    }

    v = ngx_http_kvmq_mq_run(r, &args);
    if (v == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    status = NGX_HTTP_OK;

    if (v->type == NGX_HTTP_KVMQ_MAP) {
        for (e = v->child; e && e->next; e = e->next->next) {
            if (e->str.len == 7 && ngx_strncmp(e->str.data, "created", 7) == 0
                && e->next->type == NGX_HTTP_KVMQ_INT && e->next->integer)
            {
                status = NGX_HTTP_CREATED;
            }
        }
    }

    return ngx_http_kvmq_mq_send(r, status, v);
}


/* GET /exchanges/{x}: its entry of X.LIST */

static ngx_int_t
ngx_http_kvmq_exchange_get(ngx_http_request_t *r, ngx_http_kvmq_ctx_t *ctx)
{
    ngx_array_t           args;
    ngx_http_kvmq_val_t  *v, *x, *e;

    if (ngx_http_kvmq_mq_argv(r, &args, "X.LIST") != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    args.nelts = 1;

    v = ngx_http_kvmq_mq_run(r, &args);
    if (v == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (v->type != NGX_HTTP_KVMQ_ARRAY) {
        return ngx_http_kvmq_mq_send(r, NGX_HTTP_OK, v);
    }

    for (x = v->child; x; x = x->next) {
        if (x->type != NGX_HTTP_KVMQ_MAP) {
            continue;
        }

        for (e = x->child; e && e->next; e = e->next->next) {
            if (e->str.len == 4 && ngx_strncmp(e->str.data, "name", 4) == 0
                && e->next->str.len == ctx->key.len
                && ngx_strncmp(e->next->str.data, ctx->key.data,
                               ctx->key.len) == 0)
            {
                x->next = NULL;
                return ngx_http_kvmq_mq_send(r, NGX_HTTP_OK, x);
            }
        }
    }

    return ngx_http_kvmq_send_errorf(r, KVMQ_ERR_NOTFOUND,
                                     "no exchange '%V'", &ctx->key);
}


static void
ngx_http_kvmq_exchange_bind_body(ngx_http_request_t *r)
{
    ngx_http_finalize_request(r, ngx_http_kvmq_type_with_body(r,
                                     ngx_http_kvmq_exchange_bind));
}


static ngx_int_t
ngx_http_kvmq_exchange_bind(ngx_http_request_t *r, ngx_http_kvmq_ctx_t *ctx)
{
    ngx_int_t                rc;
    ngx_uint_t               i, bind;
    ngx_array_t              args, *members;
    const char              *err;
    kvmq_slice_t            *t;
    ngx_http_kvmq_val_t     *v;
    ngx_http_kvmq_member_t  *q, *key, *argm;

    bind = (r->method == NGX_HTTP_POST);

    rc = ngx_http_kvmq_shallow(r, &ctx->body, &members, &err);

    if (rc == NGX_ERROR) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (rc == NGX_DECLINED) {
        return ngx_http_kvmq_send_errorf(r, KVMQ_ERR_BADREQ, "%s", err);
    }

    q = ngx_http_kvmq_member(members, "queue");
    key = ngx_http_kvmq_member(members, "routing_key");
    argm = ngx_http_kvmq_member(members, "arguments");

    if (q == NULL || q->kind != NGX_HTTP_KVMQ_M_SCALAR) {
        return ngx_http_kvmq_send_errorf(r, KVMQ_ERR_BADREQ,
                                         "\"queue\" must be a string");
    }

    if (key && key->kind != NGX_HTTP_KVMQ_M_SCALAR) {
        return ngx_http_kvmq_send_errorf(r, KVMQ_ERR_BADREQ,
                                         "\"routing_key\" must be a string");
    }

    if (argm && argm->kind != NGX_HTTP_KVMQ_M_OBJECT) {
        return ngx_http_kvmq_send_errorf(r, KVMQ_ERR_BADREQ,
                                         "\"arguments\" must be an object");
    }

    if (ngx_http_kvmq_mq_argv(r, &args, bind ? "X.BIND" : "X.UNBIND")
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    t = q->vals.elts;

    if (ngx_http_kvmq_mq_push(&args, t->data, t->len) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (key) {
        t = key->vals.elts;
        rc = ngx_http_kvmq_mq_push(&args, t->data, t->len);

    } else {
        rc = ngx_http_kvmq_mq_push(&args, (u_char *) "", 0);
    }

    if (rc != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (argm) {
        t = argm->vals.elts;

        for (i = 0; i < argm->vals.nelts; i++) {
            if (ngx_http_kvmq_mq_push(&args, t[i].data, t[i].len) != NGX_OK)
            {
                return NGX_HTTP_INTERNAL_SERVER_ERROR;
            }
        }
    }

    v = ngx_http_kvmq_mq_run(r, &args);

    if (bind) {
        return ngx_http_kvmq_mq_flag(r, (v && v->type == NGX_HTTP_KVMQ_INT
                                         && v->integer)
                                        ? NGX_HTTP_CREATED : NGX_HTTP_OK,
                                     "bound", v);
    }

    return ngx_http_kvmq_mq_flag(r, NGX_HTTP_OK, "unbound", v);
}


static void
ngx_http_kvmq_exchange_publish_body(ngx_http_request_t *r)
{
    ngx_http_finalize_request(r, ngx_http_kvmq_type_with_body(r,
                                     ngx_http_kvmq_exchange_publish));
}


static ngx_int_t
ngx_http_kvmq_exchange_publish(ngx_http_request_t *r,
    ngx_http_kvmq_ctx_t *ctx)
{
    ngx_int_t             rc;
    ngx_str_t             key;
    ngx_array_t           args;
    ngx_http_kvmq_val_t  *v;

    rc = r->args.len ? ngx_http_kvmq_arg(r, "routing_key", &key)
                     : NGX_DECLINED;

    if (rc == NGX_ERROR) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (rc == NGX_DECLINED) {
        ngx_str_set(&key, "");
    }

    if (ngx_http_kvmq_mq_argv(r, &args, "X.PUBLISH") != NGX_OK
        || ngx_http_kvmq_mq_push(&args, key.data, key.len) != NGX_OK
        || ngx_http_kvmq_mq_push(&args, ctx->body.data, ctx->body.len)
           != NGX_OK
        || ngx_http_kvmq_mq_props(r, &args) != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    v = ngx_http_kvmq_mq_run(r, &args);

    return ngx_http_kvmq_mq_send(r, NGX_HTTP_OK, v);
}
