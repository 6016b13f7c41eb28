
/*
 * JSON for the HTTP doors, both ways, with yajl.
 *
 * Output: a yajl_gen whose print callback appends to a chain of buffers
 * in the request pool, so a reply of any size is built without a second
 * copy and yajl's own buffer never grows.  Captured replies map to JSON
 * as API.md says: status and bulk strings are strings, a string that is
 * not valid UTF-8 becomes {"base64": "..."}, nil is null, a map is an
 * object, a double is a number with the infinities as "inf"/"-inf", and
 * an error inside a batch is {"error": CODE, "message": TEXT}.  With
 * ?encoding=base64 every status and bulk string is base64 instead.
 * UTF-8 is validated here and not by yajl, whose validating generator
 * fails the whole document on the first bad string.
 *
 * Input: POST /cmd bodies parsed with yajl_parse callbacks, so strings
 * arrive unescaped and binary-safe (\u0000 included) and numbers arrive
 * as the exact text the client wrote.
 */


#include <yajl/yajl_gen.h>
#include <yajl/yajl_parse.h>

#include "ngx_http_kvmq_module.h"


#define NGX_HTTP_KVMQ_JSON_BUF  4096


struct ngx_http_kvmq_json_s {
    yajl_gen                    gen;
    ngx_http_request_t         *r;
    ngx_chain_t                *out;
    ngx_chain_t               **last;
    ngx_buf_t                  *buf;
    ngx_uint_t                  base64;
    ngx_uint_t                  failed;
};


typedef struct {
    ngx_pool_t                 *pool;
    ngx_array_t                *cmds;       /* ngx_http_kvmq_argv_t */
    ngx_array_t                *args;       /* kvmq_slice_t */
    ngx_uint_t                  depth;
    ngx_uint_t                  mode;       /* 0 unknown, 1 one, 2 batch */
    ngx_uint_t                  base64;
    ngx_str_t                   err;
} ngx_http_kvmq_parse_t;


static void ngx_http_kvmq_json_print(void *ctx, const char *str, size_t len);
static void ngx_http_kvmq_json_cleanup(void *data);
static ngx_int_t ngx_http_kvmq_json_base64(ngx_http_kvmq_json_t *j,
    const u_char *p, size_t len);
static ngx_int_t ngx_http_kvmq_json_key(ngx_http_kvmq_json_t *j,
    ngx_http_kvmq_val_t *v);
static ngx_int_t ngx_http_kvmq_json_double(ngx_http_kvmq_json_t *j,
    double d);
static ngx_int_t ngx_http_kvmq_json_error(ngx_http_kvmq_json_t *j,
    ngx_http_kvmq_val_t *v);

static int ngx_http_kvmq_p_null(void *ctx);
static int ngx_http_kvmq_p_boolean(void *ctx, int b);
static int ngx_http_kvmq_p_number(void *ctx, const char *s, size_t len);
static int ngx_http_kvmq_p_string(void *ctx, const unsigned char *s,
    size_t len);
static int ngx_http_kvmq_p_start_map(void *ctx);
static int ngx_http_kvmq_p_map_key(void *ctx, const unsigned char *s,
    size_t len);
static int ngx_http_kvmq_p_end_map(void *ctx);
static int ngx_http_kvmq_p_start_array(void *ctx);
static int ngx_http_kvmq_p_end_array(void *ctx);


static yajl_callbacks  ngx_http_kvmq_parse_callbacks = {
    ngx_http_kvmq_p_null,
    ngx_http_kvmq_p_boolean,
    NULL,
    NULL,
    ngx_http_kvmq_p_number,
    ngx_http_kvmq_p_string,
    ngx_http_kvmq_p_start_map,
    ngx_http_kvmq_p_map_key,
    ngx_http_kvmq_p_end_map,
    ngx_http_kvmq_p_start_array,
    ngx_http_kvmq_p_end_array
};


ngx_http_kvmq_json_t *
ngx_http_kvmq_json_create(ngx_http_request_t *r, ngx_uint_t base64)
{
    ngx_pool_cleanup_t    *cln;
    ngx_http_kvmq_json_t  *j;

    j = ngx_pcalloc(r->pool, sizeof(ngx_http_kvmq_json_t));
    if (j == NULL) {
        return NULL;
    }

    cln = ngx_pool_cleanup_add(r->pool, 0);
    if (cln == NULL) {
        return NULL;
    }

    j->gen = yajl_gen_alloc(NULL);
    if (j->gen == NULL) {
        return NULL;
    }

    cln->handler = ngx_http_kvmq_json_cleanup;
    cln->data = j->gen;

    j->r = r;
    j->last = &j->out;
    j->base64 = base64;

    (void) yajl_gen_config(j->gen, yajl_gen_print_callback,
                           ngx_http_kvmq_json_print, j);

    return j;
}


static void
ngx_http_kvmq_json_cleanup(void *data)
{
    yajl_gen_free(data);
}


static void
ngx_http_kvmq_json_print(void *ctx, const char *str, size_t len)
{
    ngx_http_kvmq_json_t *j = ctx;

    size_t        size;
    ngx_buf_t    *b;
    ngx_chain_t  *cl;

    if (j->failed) {
        return;
    }

    b = j->buf;

    if (b == NULL || (size_t) (b->end - b->last) < len) {

        size = ngx_max(len, NGX_HTTP_KVMQ_JSON_BUF);

        b = ngx_create_temp_buf(j->r->pool, size);
        if (b == NULL) {
            j->failed = 1;
            return;
        }

        cl = ngx_alloc_chain_link(j->r->pool);
        if (cl == NULL) {
            j->failed = 1;
            return;
        }

        cl->buf = b;
        cl->next = NULL;

        *j->last = cl;
        j->last = &cl->next;
        j->buf = b;
    }

    b->last = ngx_cpymem(b->last, str, len);
}


/* the finished document, or NULL when it could not be built */

ngx_chain_t *
ngx_http_kvmq_json_finish(ngx_http_kvmq_json_t *j)
{
    if (j->failed || j->out == NULL) {
        return NULL;
    }

    j->buf->last_buf = (j->r == j->r->main) ? 1 : 0;
    j->buf->last_in_chain = 1;

    return j->out;
}


static ngx_int_t
ngx_http_kvmq_json_rc(ngx_http_kvmq_json_t *j, yajl_gen_status st)
{
    if (st != yajl_gen_status_ok || j->failed) {
        j->failed = 1;
        return NGX_ERROR;
    }

    return NGX_OK;
}


/* a text string: invalid UTF-8 is replaced, never rejected */

ngx_int_t
ngx_http_kvmq_json_string(ngx_http_kvmq_json_t *j, const u_char *p,
    size_t len)
{
    u_char  *s;

    if (ngx_http_kvmq_utf8_valid(p, len)) {
        return ngx_http_kvmq_json_rc(j, yajl_gen_string(j->gen, p, len));
    }

    s = ngx_pnalloc(j->r->pool, len * 3);
    if (s == NULL) {
        j->failed = 1;
        return NGX_ERROR;
    }

    len = ngx_http_kvmq_utf8_sanitize(s, p, len);

    return ngx_http_kvmq_json_rc(j, yajl_gen_string(j->gen, s, len));
}


static ngx_int_t
ngx_http_kvmq_json_base64(ngx_http_kvmq_json_t *j, const u_char *p,
    size_t len)
{
    ngx_str_t  src, dst;

    src.data = (u_char *) p;
    src.len = len;

    dst.data = ngx_pnalloc(j->r->pool, ngx_base64_encoded_length(len) + 1);
    if (dst.data == NULL) {
        j->failed = 1;
        return NGX_ERROR;
    }

    ngx_encode_base64(&dst, &src);

    return ngx_http_kvmq_json_rc(j, yajl_gen_string(j->gen, dst.data,
                                                    dst.len));
}


/* user data: a string, {"base64": ...} if not UTF-8, base64 if asked */

ngx_int_t
ngx_http_kvmq_json_data(ngx_http_kvmq_json_t *j, const u_char *p,
    size_t len)
{
    if (j->base64) {
        return ngx_http_kvmq_json_base64(j, p, len);
    }

    if (ngx_http_kvmq_utf8_valid(p, len)) {
        return ngx_http_kvmq_json_rc(j, yajl_gen_string(j->gen, p, len));
    }

    if (ngx_http_kvmq_json_rc(j, yajl_gen_map_open(j->gen)) != NGX_OK
        || ngx_http_kvmq_json_rc(j, yajl_gen_string(j->gen,
                                 (const u_char *) "base64", 6)) != NGX_OK
        || ngx_http_kvmq_json_base64(j, p, len) != NGX_OK)
    {
        return NGX_ERROR;
    }

    return ngx_http_kvmq_json_rc(j, yajl_gen_map_close(j->gen));
}


ngx_int_t
ngx_http_kvmq_json_int(ngx_http_kvmq_json_t *j, int64_t v)
{
    return ngx_http_kvmq_json_rc(j, yajl_gen_integer(j->gen, v));
}


ngx_int_t
ngx_http_kvmq_json_number(ngx_http_kvmq_json_t *j, const u_char *p,
    size_t len)
{
    return ngx_http_kvmq_json_rc(j, yajl_gen_number(j->gen, (const char *) p,
                                                    len));
}


ngx_int_t
ngx_http_kvmq_json_bool(ngx_http_kvmq_json_t *j, ngx_uint_t v)
{
    return ngx_http_kvmq_json_rc(j, yajl_gen_bool(j->gen, v ? 1 : 0));
}


ngx_int_t
ngx_http_kvmq_json_open(ngx_http_kvmq_json_t *j, ngx_uint_t map)
{
    return ngx_http_kvmq_json_rc(j, map ? yajl_gen_map_open(j->gen)
                                        : yajl_gen_array_open(j->gen));
}


ngx_int_t
ngx_http_kvmq_json_close(ngx_http_kvmq_json_t *j, ngx_uint_t map)
{
    return ngx_http_kvmq_json_rc(j, map ? yajl_gen_map_close(j->gen)
                                        : yajl_gen_array_close(j->gen));
}


static ngx_int_t
ngx_http_kvmq_json_double(ngx_http_kvmq_json_t *j, double d)
{
    size_t  n;
    u_char  buf[32];

    n = ngx_http_kvmq_format_double(buf, d);

    if (n == 0) {
        j->failed = 1;
        return NGX_ERROR;
    }

    if (ngx_http_kvmq_is_json_number(buf, n)) {
        return ngx_http_kvmq_json_number(j, buf, n);
    }

    /* "inf", "-inf" (and "nan", which no command should produce) */
    return ngx_http_kvmq_json_rc(j, yajl_gen_string(j->gen, buf, n));
}


/* an object key: JSON keys are strings whatever the reply type was */

static ngx_int_t
ngx_http_kvmq_json_key(ngx_http_kvmq_json_t *j, ngx_http_kvmq_val_t *v)
{
    size_t  n;
    u_char  buf[32];

    switch (v->type) {

    case NGX_HTTP_KVMQ_STATUS:
    case NGX_HTTP_KVMQ_BULK:
    case NGX_HTTP_KVMQ_ERROR:
        if (j->base64) {
            return ngx_http_kvmq_json_base64(j, v->str.data, v->str.len);
        }

        return ngx_http_kvmq_json_string(j, v->str.data, v->str.len);

    case NGX_HTTP_KVMQ_INT:
        n = ngx_sprintf(buf, "%L", v->integer) - buf;
        break;

    case NGX_HTTP_KVMQ_DOUBLE:
        n = ngx_http_kvmq_format_double(buf, v->dbl);
        break;

    default:
        n = 0;
        break;
    }

    return ngx_http_kvmq_json_rc(j, yajl_gen_string(j->gen, buf, n));
}


static ngx_int_t
ngx_http_kvmq_json_error(ngx_http_kvmq_json_t *j, ngx_http_kvmq_val_t *v)
{
    const char  *code;

    code = kvmq_err_name(v->err);

    if (ngx_http_kvmq_json_open(j, 1) != NGX_OK
        || ngx_http_kvmq_json_string(j, (u_char *) "error", 5) != NGX_OK
        || ngx_http_kvmq_json_string(j, (u_char *) code, ngx_strlen(code))
           != NGX_OK
        || ngx_http_kvmq_json_string(j, (u_char *) "message", 7) != NGX_OK
        || ngx_http_kvmq_json_string(j, v->str.data, v->str.len) != NGX_OK)
    {
        return NGX_ERROR;
    }

    return ngx_http_kvmq_json_close(j, 1);
}


/* render a captured reply; a NULL value (no reply) is null */

ngx_int_t
ngx_http_kvmq_json_val(ngx_http_kvmq_json_t *j, ngx_http_kvmq_val_t *v)
{
    ngx_uint_t            i;
    ngx_http_kvmq_val_t  *e;

    if (v == NULL) {
        return ngx_http_kvmq_json_rc(j, yajl_gen_null(j->gen));
    }

    switch (v->type) {

    case NGX_HTTP_KVMQ_STATUS:
    case NGX_HTTP_KVMQ_BULK:
        return ngx_http_kvmq_json_data(j, v->str.data, v->str.len);

    case NGX_HTTP_KVMQ_INT:
        return ngx_http_kvmq_json_int(j, v->integer);

    case NGX_HTTP_KVMQ_DOUBLE:
        return ngx_http_kvmq_json_double(j, v->dbl);

    case NGX_HTTP_KVMQ_NIL:
        return ngx_http_kvmq_json_rc(j, yajl_gen_null(j->gen));

    case NGX_HTTP_KVMQ_ARRAY:
        if (ngx_http_kvmq_json_open(j, 0) != NGX_OK) {
            return NGX_ERROR;
        }

        for (e = v->child; e; e = e->next) {
            if (ngx_http_kvmq_json_val(j, e) != NGX_OK) {
                return NGX_ERROR;
            }
        }

        return ngx_http_kvmq_json_close(j, 0);

    case NGX_HTTP_KVMQ_MAP:
        if (ngx_http_kvmq_json_open(j, 1) != NGX_OK) {
            return NGX_ERROR;
        }

        for (i = 0, e = v->child; e; i++, e = e->next) {

            if (i % 2 == 0) {
                if (ngx_http_kvmq_json_key(j, e) != NGX_OK) {
                    return NGX_ERROR;
                }

                /* an odd element count would leave a key without value */
                if (e->next == NULL
                    && ngx_http_kvmq_json_rc(j, yajl_gen_null(j->gen))
                       != NGX_OK)
                {
                    return NGX_ERROR;
                }

                continue;
            }

            if (ngx_http_kvmq_json_val(j, e) != NGX_OK) {
                return NGX_ERROR;
            }
        }

        return ngx_http_kvmq_json_close(j, 1);

    case NGX_HTTP_KVMQ_ERROR:
        return ngx_http_kvmq_json_error(j, v);
    }

    return NGX_ERROR;
}


/* ---- POST /cmd bodies ---------------------------------------------------- */


static int
ngx_http_kvmq_p_fail(ngx_http_kvmq_parse_t *p, const char *msg)
{
    p->err.data = (u_char *) msg;
    p->err.len = ngx_strlen(msg);

    return 0;
}


static int
ngx_http_kvmq_p_arg(ngx_http_kvmq_parse_t *p, const u_char *s, size_t len,
    ngx_uint_t string)
{
    const char  *err;

    if (p->depth == 0) {
        return ngx_http_kvmq_p_fail(p, "a command is a JSON array");
    }

    if (p->depth == 1) {
        if (p->mode == 2) {
            return ngx_http_kvmq_p_fail(p,
                       "a batch holds only arrays (commands)");
        }

        p->mode = 1;
    }

    err = ngx_http_kvmq_arg_push(p->pool, p->args, s, len,
                                 string && p->base64);

    return err ? ngx_http_kvmq_p_fail(p, err) : 1;
}


static int
ngx_http_kvmq_p_null(void *ctx)
{
    return ngx_http_kvmq_p_fail(ctx,
               "command arguments must be strings or numbers, not null");
}


static int
ngx_http_kvmq_p_boolean(void *ctx, int b)
{
    return ngx_http_kvmq_p_fail(ctx,
               "command arguments must be strings or numbers, not booleans");
}


static int
ngx_http_kvmq_p_number(void *ctx, const char *s, size_t len)
{
    return ngx_http_kvmq_p_arg(ctx, (const u_char *) s, len, 0);
}


static int
ngx_http_kvmq_p_string(void *ctx, const unsigned char *s, size_t len)
{
    return ngx_http_kvmq_p_arg(ctx, s, len, 1);
}


static int
ngx_http_kvmq_p_start_map(void *ctx)
{
    return ngx_http_kvmq_p_fail(ctx,
               "command arguments must be strings or numbers, not objects");
}


static int
ngx_http_kvmq_p_map_key(void *ctx, const unsigned char *s, size_t len)
{
    return ngx_http_kvmq_p_fail(ctx, "unexpected object");
}


static int
ngx_http_kvmq_p_end_map(void *ctx)
{
    return ngx_http_kvmq_p_fail(ctx, "unexpected object");
}


static int
ngx_http_kvmq_p_start_array(void *ctx)
{
    ngx_http_kvmq_parse_t *p = ctx;

    if (p->depth == 1) {
        if (p->mode == 1) {
            return ngx_http_kvmq_p_fail(p,
                       "command arguments must be strings or numbers, "
                       "not arrays");
        }

        p->mode = 2;

    } else if (p->depth >= 2) {
        return ngx_http_kvmq_p_fail(p,
                   "command arguments must be strings or numbers, "
                   "not arrays");
    }

    p->depth++;

    if (p->depth == 2 || p->depth == 1) {
        p->args = ngx_array_create(p->pool, 4, sizeof(kvmq_slice_t));
        if (p->args == NULL) {
            return ngx_http_kvmq_p_fail(p, "out of memory");
        }
    }

    return 1;
}


static int
ngx_http_kvmq_p_end_array(void *ctx)
{
    ngx_http_kvmq_parse_t *p = ctx;

    ngx_http_kvmq_argv_t  *cmd;

    p->depth--;

    /* the end of a command: the inner array of a batch or the only one */
    if (p->depth == 1 || (p->depth == 0 && p->mode != 2)) {

        cmd = ngx_array_push(p->cmds);
        if (cmd == NULL) {
            return ngx_http_kvmq_p_fail(p, "out of memory");
        }

        cmd->argv = p->args->elts;
        cmd->argc = (int) p->args->nelts;
    }

    return 1;
}


/*
 * Parse a /cmd body into cmds (ngx_http_kvmq_argv_t): ["NAME", args...]
 * gives one command, [[...], [...]] a batch.  Returns NGX_OK, NGX_ERROR
 * (no memory) or NGX_DECLINED with err set (the client's mistake).
 */

ngx_int_t
ngx_http_kvmq_json_parse_cmd(ngx_http_request_t *r, ngx_str_t *body,
    ngx_uint_t base64, ngx_array_t *cmds, ngx_uint_t *batch, ngx_str_t *err)
{
    size_t                  len;
    u_char                 *msg;
    yajl_handle             h;
    yajl_status             st;
    ngx_http_kvmq_parse_t   p;

    if (body->len == 0) {
        ngx_str_set(err, "empty request body");
        return NGX_DECLINED;
    }

    ngx_memzero(&p, sizeof(ngx_http_kvmq_parse_t));

    p.pool = r->pool;
    p.cmds = cmds;
    p.base64 = base64;

    h = yajl_alloc(&ngx_http_kvmq_parse_callbacks, NULL, &p);
    if (h == NULL) {
        return NGX_ERROR;
    }

    st = yajl_parse(h, body->data, body->len);

    if (st == yajl_status_ok) {
        st = yajl_complete_parse(h);
    }

    if (st == yajl_status_ok) {
        yajl_free(h);

        if (cmds->nelts == 0 || p.mode == 0) {
            ngx_str_set(err, "empty command");
            return NGX_DECLINED;
        }

        *batch = (p.mode == 2);

        return NGX_OK;
    }

    if (st == yajl_status_client_canceled) {
        yajl_free(h);
        *err = p.err;
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
