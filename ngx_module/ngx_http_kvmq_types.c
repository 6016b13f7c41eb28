
/*
 * The shared part of the REST routes of hashes, lists, sets and sorted
 * sets (hash.c, list.c, set.c, zset.c).
 *
 * Each of those routes is a thin translation: it builds the argv of one
 * engine command (two for GET /zset/{key}/{member} and PUT on a zset
 * member, run as one batch under one lock acquisition) from the path
 * segments, the query and the body, runs it through ngx_http_kvmq_exec()
 * like /cmd does, and wraps the reply.  The engine decides everything
 * about the data, including type errors, read-only locations and bad
 * numbers; what is checked here is only what the engine cannot see:
 * the HTTP method, the shape of a JSON body, the limits (kvmq_max_key,
 * kvmq_max_value) before anything runs, and query arguments that must be
 * integers, so that the 400 names the argument.
 *
 * Path segments are already percent-decoded (handler.c) and binary-safe;
 * ?encoding=base64 applies to the JSON a request or a reply carries
 * (strings in JSON bodies, strings in JSON replies), not to the path or
 * to raw bodies, which are bytes already.
 */


#include <yajl/yajl_parse.h>

#include "ngx_http_kvmq_types.h"


/* the state of a flat JSON body parse */
typedef struct {
    ngx_pool_t                 *pool;
    ngx_array_t                *args;       /* kvmq_slice_t */
    ngx_uint_t                  depth;
    ngx_uint_t                  map;        /* an object, else an array */
    ngx_uint_t                  base64;
    const char                 *err;
} ngx_http_kvmq_flat_t;


static int ngx_http_kvmq_flat_null(void *ctx);
static int ngx_http_kvmq_flat_boolean(void *ctx, int b);
static int ngx_http_kvmq_flat_number(void *ctx, const char *s, size_t len);
static int ngx_http_kvmq_flat_string(void *ctx, const unsigned char *s,
    size_t len);
static int ngx_http_kvmq_flat_start_map(void *ctx);
static int ngx_http_kvmq_flat_map_key(void *ctx, const unsigned char *s,
    size_t len);
static int ngx_http_kvmq_flat_start_array(void *ctx);
static int ngx_http_kvmq_flat_end(void *ctx);


static yajl_callbacks  ngx_http_kvmq_flat_callbacks = {
    ngx_http_kvmq_flat_null,
    ngx_http_kvmq_flat_boolean,
    NULL,
    NULL,
    ngx_http_kvmq_flat_number,
    ngx_http_kvmq_flat_string,
    ngx_http_kvmq_flat_start_map,
    ngx_http_kvmq_flat_map_key,
    ngx_http_kvmq_flat_end,
    ngx_http_kvmq_flat_start_array,
    ngx_http_kvmq_flat_end
};


/*
 * The number of path segments, with ctx->key set to the second one.  A
 * trailing slash names the resource before it, as handler.c does for
 * "/kv/": "/hash/k/" is "/hash/k".  (An empty field or member name is
 * therefore reached through /cmd only.)
 */

ngx_uint_t
ngx_http_kvmq_type_segments(ngx_http_kvmq_ctx_t *ctx)
{
    ngx_uint_t  n;

    n = ctx->nseg;

    if (n == 3 && ctx->seg[2].len == 0) {
        n = 2;
    }

    ctx->key = ctx->seg[1];

    return n;
}


/* kvmq_max_key is checked before a body is read */

ngx_int_t
ngx_http_kvmq_type_long_key(ngx_http_request_t *r, ngx_http_kvmq_ctx_t *ctx)
{
    ngx_http_kvmq_loc_conf_t  *klcf;

    klcf = ngx_http_get_module_loc_conf(r, ngx_http_kvmq_module);

    return ngx_http_kvmq_send_errorf(r, KVMQ_ERR_TOOLARGE,
                                     "key of %uz bytes is over "
                                     "kvmq_max_key (%uz)",
                                     ctx->key.len, klcf->max_key);
}


ngx_int_t
ngx_http_kvmq_type_no_route(ngx_http_request_t *r)
{
    return ngx_http_kvmq_send_errorf(r, KVMQ_ERR_NOTFOUND, "no such route");
}


/*
 * An integer query argument: NGX_OK with value (dflt when absent, or an
 * empty string when absent without dflt), NGX_DECLINED when it is there
 * but not an integer, NGX_ERROR on no memory.
 */

ngx_int_t
ngx_http_kvmq_type_int_arg(ngx_http_request_t *r, const char *name,
    ngx_str_t *value, const char *dflt)
{
    ngx_int_t  rc;

    rc = r->args.len ? ngx_http_kvmq_arg(r, name, value) : NGX_DECLINED;

    if (rc == NGX_ERROR) {
        return NGX_ERROR;
    }

    if (rc == NGX_DECLINED) {
        value->data = (u_char *) dflt;
        value->len = dflt ? ngx_strlen(dflt) : 0;
        return NGX_OK;
    }

    if (!ngx_http_kvmq_is_int(value->data, value->len)) {
        return NGX_DECLINED;
    }

    return NGX_OK;
}


/*
 * A flag argument: "?rev", "?rev=", "?rev=1" and "?rev=true" are on,
 * "?rev=0" and "?rev=false" off, absent is off; anything else is
 * NGX_DECLINED, so that "?rev=no" is not silently read as yes.
 */

ngx_int_t
ngx_http_kvmq_type_flag(ngx_http_request_t *r, const char *name,
    ngx_uint_t *on)
{
    ngx_int_t  rc;
    ngx_str_t  v;

    *on = 0;

    rc = r->args.len ? ngx_http_kvmq_arg(r, name, &v) : NGX_DECLINED;

    if (rc == NGX_ERROR) {
        return NGX_ERROR;
    }

    if (rc == NGX_DECLINED) {
        return NGX_OK;
    }

    if (v.len == 0
        || (v.len == 1 && v.data[0] == '1')
        || (v.len == 4 && ngx_strncasecmp(v.data, (u_char *) "true", 4) == 0))
    {
        *on = 1;
        return NGX_OK;
    }

    if ((v.len == 1 && v.data[0] == '0')
        || (v.len == 5 && ngx_strncasecmp(v.data, (u_char *) "false", 5) == 0))
    {
        return NGX_OK;
    }

    return NGX_DECLINED;
}


/* the answer to a failed ngx_http_kvmq_type_int_arg() or _flag() */

ngx_int_t
ngx_http_kvmq_type_bad_arg(ngx_http_request_t *r, ngx_int_t rc,
    const char *name, const char *what)
{
    if (rc == NGX_ERROR) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_kvmq_send_errorf(r, KVMQ_ERR_BADREQ, "%s must be %s",
                                     name, what);
}


/*
 * Read the body, refusing early (from Content-Length) what would be
 * over kvmq_max_value anyway; a chunked body is checked once read.
 */

ngx_int_t
ngx_http_kvmq_type_read_body(ngx_http_request_t *r,
    ngx_http_client_body_handler_pt handler)
{
    ngx_int_t                  rc;
    ngx_http_kvmq_loc_conf_t  *klcf;

    klcf = ngx_http_get_module_loc_conf(r, ngx_http_kvmq_module);

    if (r->headers_in.content_length_n > (off_t) klcf->max_value) {
        return ngx_http_kvmq_send_errorf(r, KVMQ_ERR_TOOLARGE,
                                         "body of %O bytes is over "
                                         "kvmq_max_value (%uz)",
                                         r->headers_in.content_length_n,
                                         klcf->max_value);
    }

    rc = ngx_http_read_client_request_body(r, handler);

    if (rc >= NGX_HTTP_SPECIAL_RESPONSE) {
        return rc;
    }

    return NGX_DONE;
}


/*
 * In a body handler: the body into ctx->body, then the route's next
 * step; the result is what the request is finalized with.
 */

ngx_int_t
ngx_http_kvmq_type_with_body(ngx_http_request_t *r,
    ngx_http_kvmq_type_pt next)
{
    ngx_http_kvmq_ctx_t       *ctx;
    ngx_http_kvmq_loc_conf_t  *klcf;

    ctx = ngx_http_get_module_ctx(r, ngx_http_kvmq_module);
    klcf = ngx_http_get_module_loc_conf(r, ngx_http_kvmq_module);

    if (ngx_http_kvmq_body(r, &ctx->body) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ctx->body.len > klcf->max_value) {
        return ngx_http_kvmq_send_errorf(r, KVMQ_ERR_TOOLARGE,
                                         "body of %uz bytes is over "
                                         "kvmq_max_value (%uz)",
                                         ctx->body.len, klcf->max_value);
    }

    return next(r, ctx);
}


/* Content-Type: application/json, parameters (charset) aside */

ngx_int_t
ngx_http_kvmq_type_is_json(ngx_http_request_t *r)
{
    size_t   len;
    u_char  *p;

    if (r->headers_in.content_type == NULL) {
        return 0;
    }

    p = r->headers_in.content_type->value.data;
    len = r->headers_in.content_type->value.len;

    if (len < sizeof("application/json") - 1
        || ngx_strncasecmp(p, (u_char *) "application/json",
                           sizeof("application/json") - 1)
           != 0)
    {
        return 0;
    }

    p += sizeof("application/json") - 1;
    len -= sizeof("application/json") - 1;

    while (len && (*p == ' ' || *p == '\t')) {
        p++;
        len--;
    }

    return len == 0 || *p == ';';
}


/* ---- flat JSON bodies ---------------------------------------------------- */


static int
ngx_http_kvmq_flat_fail(ngx_http_kvmq_flat_t *f, const char *msg)
{
    f->err = msg;
    return 0;
}


static const char *
ngx_http_kvmq_flat_what(ngx_http_kvmq_flat_t *f)
{
    return f->map ? "the body must be a JSON object of strings or numbers"
                  : "the body must be a JSON array of strings or numbers";
}


static int
ngx_http_kvmq_flat_push(ngx_http_kvmq_flat_t *f, const u_char *s, size_t len,
    ngx_uint_t string)
{
    const char  *err;

    if (f->depth != 1) {
        return ngx_http_kvmq_flat_fail(f, ngx_http_kvmq_flat_what(f));
    }

    err = ngx_http_kvmq_arg_push(f->pool, f->args, s, len,
                                 string && f->base64);

    return err ? ngx_http_kvmq_flat_fail(f, err) : 1;
}


static int
ngx_http_kvmq_flat_null(void *ctx)
{
    return ngx_http_kvmq_flat_fail(ctx, ngx_http_kvmq_flat_what(ctx));
}


static int
ngx_http_kvmq_flat_boolean(void *ctx, int b)
{
    return ngx_http_kvmq_flat_fail(ctx, ngx_http_kvmq_flat_what(ctx));
}


/* a number is its text as the client wrote it, like /cmd arguments */

static int
ngx_http_kvmq_flat_number(void *ctx, const char *s, size_t len)
{
    return ngx_http_kvmq_flat_push(ctx, (const u_char *) s, len, 0);
}


static int
ngx_http_kvmq_flat_string(void *ctx, const unsigned char *s, size_t len)
{
    return ngx_http_kvmq_flat_push(ctx, s, len, 1);
}


static int
ngx_http_kvmq_flat_map_key(void *ctx, const unsigned char *s, size_t len)
{
    return ngx_http_kvmq_flat_push(ctx, s, len, 1);
}


static int
ngx_http_kvmq_flat_start_map(void *ctx)
{
    ngx_http_kvmq_flat_t *f = ctx;

    if (f->depth != 0 || !f->map) {
        return ngx_http_kvmq_flat_fail(f, ngx_http_kvmq_flat_what(f));
    }

    f->depth++;

    return 1;
}


static int
ngx_http_kvmq_flat_start_array(void *ctx)
{
    ngx_http_kvmq_flat_t *f = ctx;

    if (f->depth != 0 || f->map) {
        return ngx_http_kvmq_flat_fail(f, ngx_http_kvmq_flat_what(f));
    }

    f->depth++;

    return 1;
}


static int
ngx_http_kvmq_flat_end(void *ctx)
{
    ngx_http_kvmq_flat_t *f = ctx;

    f->depth--;

    return 1;
}


/*
 * A JSON body that is one object of strings or numbers (map: keys and
 * values appended alternately) or one array of them, appended to args
 * (kvmq_slice_t).  With ?encoding=base64 every string, object keys
 * included, is base64.  NGX_OK; NGX_DECLINED with err set when the body
 * is not such a document or holds nothing; NGX_ERROR on no memory.
 */

ngx_int_t
ngx_http_kvmq_type_parse(ngx_http_request_t *r, ngx_str_t *body,
    ngx_uint_t map, ngx_array_t *args, ngx_str_t *err)
{
    size_t                 len;
    u_char                *msg;
    ngx_uint_t             n;
    yajl_handle            h;
    yajl_status            st;
    ngx_http_kvmq_ctx_t   *ctx;
    ngx_http_kvmq_flat_t   f;

    ctx = ngx_http_get_module_ctx(r, ngx_http_kvmq_module);

    ngx_memzero(&f, sizeof(ngx_http_kvmq_flat_t));

    f.pool = r->pool;
    f.args = args;
    f.map = map;
    f.base64 = ctx->base64;

    n = args->nelts;

    h = yajl_alloc(&ngx_http_kvmq_flat_callbacks, NULL, &f);
    if (h == NULL) {
        return NGX_ERROR;
    }

    st = yajl_parse(h, body->data, body->len);

    if (st == yajl_status_ok) {
        st = yajl_complete_parse(h);
    }

    if (st == yajl_status_ok) {
        yajl_free(h);

        if (args->nelts == n) {
            err->data = (u_char *) (map ? "the JSON object is empty"
                                        : "the JSON array is empty");
            err->len = ngx_strlen(err->data);
            return NGX_DECLINED;
        }

        return NGX_OK;
    }

    if (st == yajl_status_client_canceled) {
        yajl_free(h);

        if (f.err == NULL) {
            return NGX_ERROR;
        }

        err->data = (u_char *) f.err;
        err->len = ngx_strlen(f.err);

        return NGX_DECLINED;
    }

    msg = yajl_get_error(h, 0, NULL, 0);

    if (msg == NULL) {
        yajl_free(h);
        ngx_str_set(err, "malformed JSON");
        return NGX_DECLINED;
    }

    len = ngx_strlen(msg);

    while (len && (msg[len - 1] == '\n' || msg[len - 1] == ' ')) {
        len--;
    }

    err->data = ngx_pnalloc(r->pool, len + sizeof("malformed JSON: ") - 1);

    if (err->data == NULL) {
        yajl_free_error(h, msg);
        yajl_free(h);
        return NGX_ERROR;
    }

    err->len = ngx_sprintf(err->data, "malformed JSON: %*s", len, msg)
               - err->data;

    yajl_free_error(h, msg);
    yajl_free(h);

    return NGX_DECLINED;
}


/* ---- engine calls and replies -------------------------------------------- */


/* a reply value of the error kind, made here rather than by the engine */

static ngx_http_kvmq_val_t *
ngx_http_kvmq_type_error(ngx_http_request_t *r, kvmq_err_e err,
    const char *fmt, ...)
{
    u_char               *p;
    va_list               args;
    ngx_http_kvmq_val_t  *v;

    v = ngx_pcalloc(r->pool, sizeof(ngx_http_kvmq_val_t));
    if (v == NULL) {
        return NULL;
    }

    p = ngx_pnalloc(r->pool, NGX_MAX_ERROR_STR);
    if (p == NULL) {
        return NULL;
    }

    va_start(args, fmt);
    v->str.len = ngx_vslprintf(p, p + NGX_MAX_ERROR_STR, fmt, args) - p;
    va_end(args);

    v->str.data = p;
    v->type = NGX_HTTP_KVMQ_ERROR;
    v->err = err;

    return v;
}


/*
 * Run n commands under one lock acquisition; results[i] is the reply of
 * cmds[i].  Every argv starts NAME key: the key is held to kvmq_max_key,
 * every other argument to kvmq_max_value, before anything runs; a
 * request over them runs nothing and finds the 413 in results[0].
 * NGX_ERROR on no memory.
 */

ngx_int_t
ngx_http_kvmq_type_exec(ngx_http_request_t *r, ngx_http_kvmq_argv_t *cmds,
    ngx_uint_t n, ngx_http_kvmq_val_t **results)
{
    int                        a;
    ngx_uint_t                 i;
    ngx_http_kvmq_builder_t    builder;
    ngx_http_kvmq_loc_conf_t  *klcf;

    klcf = ngx_http_get_module_loc_conf(r, ngx_http_kvmq_module);

    for (i = 0; i < n; i++) {
        results[i] = NULL;
    }

    for (i = 0; i < n; i++) {
        for (a = 1; a < cmds[i].argc; a++) {

            if (a == 1 && cmds[i].argv[a].len > klcf->max_key) {
                results[0] = ngx_http_kvmq_type_error(r, KVMQ_ERR_TOOLARGE,
                                 "key of %uz bytes is over kvmq_max_key (%uz)",
                                 cmds[i].argv[a].len, klcf->max_key);

                return results[0] ? NGX_OK : NGX_ERROR;
            }

            if (cmds[i].argv[a].len > klcf->max_value) {
                results[0] = ngx_http_kvmq_type_error(r, KVMQ_ERR_TOOLARGE,
                                 "value of %uz bytes is over "
                                 "kvmq_max_value (%uz)",
                                 cmds[i].argv[a].len, klcf->max_value);

                return results[0] ? NGX_OK : NGX_ERROR;
            }
        }
    }

    ngx_http_kvmq_builder_init(&builder, r->pool);

    return ngx_http_kvmq_exec(r, &builder, cmds, n, results, NULL);
}


/* one command: its reply, or NULL (no memory, or no reply at all) */

ngx_http_kvmq_val_t *
ngx_http_kvmq_type_run(ngx_http_request_t *r, kvmq_slice_t *argv, int argc)
{
    ngx_http_kvmq_val_t   *v;
    ngx_http_kvmq_argv_t   cmd;

    cmd.argv = argv;
    cmd.argc = argc;

    if (ngx_http_kvmq_type_exec(r, &cmd, 1, &v) != NGX_OK) {
        return NULL;
    }

    return v;
}


static ngx_int_t
ngx_http_kvmq_type_member(ngx_http_kvmq_json_t *j, const char *name,
    ngx_http_kvmq_val_t *v)
{
    if (ngx_http_kvmq_json_string(j, (u_char *) name, ngx_strlen(name))
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    /* a bulk that holds a number (HINCRBYFLOAT) is written as one */

    if (v && v->type == NGX_HTTP_KVMQ_BULK
        && ngx_http_kvmq_is_json_number(v->str.data, v->str.len))
    {
        return ngx_http_kvmq_json_number(j, v->str.data, v->str.len);
    }

    return ngx_http_kvmq_json_val(j, v);
}


/*
 * {"name": v} or {"name": v, "name2": v2} with the given status; an
 * error reply in either is the response instead, with its own status.
 */

ngx_int_t
ngx_http_kvmq_type_object(ngx_http_request_t *r, ngx_uint_t status,
    const char *name, ngx_http_kvmq_val_t *v, const char *name2,
    ngx_http_kvmq_val_t *v2)
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

    if (v2 && v2->type == NGX_HTTP_KVMQ_ERROR) {
        return ngx_http_kvmq_send_val(r, v2);
    }

    ctx = ngx_http_get_module_ctx(r, ngx_http_kvmq_module);

    j = ngx_http_kvmq_json_create(r, ctx->base64);
    if (j == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ngx_http_kvmq_json_open(j, 1) != NGX_OK
        || ngx_http_kvmq_type_member(j, name, v) != NGX_OK
        || (name2 && ngx_http_kvmq_type_member(j, name2, v2) != NGX_OK)
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
