
/*
 * The reply builder the HTTP doors hand to the engine.
 *
 * It implements kvmq_reply_ops_t by copying each reply into a small tree
 * of ngx_http_kvmq_val_t in the request pool.  Copying is all it does
 * under the zone lock: values in shared memory may change or go away as
 * soon as the lock is released, and JSON escaping, base64 and header
 * formatting are kept out of the critical section.
 *
 * Arrays and maps are open containers on a small stack; each value is
 * linked at the tail of the innermost open one (or becomes the root).
 * A pool allocation failure marks the builder failed and drops the rest
 * of the reply; the door then answers 500.
 */


#include "ngx_http_kvmq_module.h"


static ngx_http_kvmq_val_t *ngx_http_kvmq_val_add(ngx_http_kvmq_builder_t *b,
    ngx_http_kvmq_type_e type);
static ngx_int_t ngx_http_kvmq_copy(ngx_http_kvmq_builder_t *b,
    ngx_str_t *dst, const u_char *p, size_t len);
static void ngx_http_kvmq_r_status(kvmq_reply_t *r, const char *s,
    size_t len);
static void ngx_http_kvmq_r_integer(kvmq_reply_t *r, int64_t v);
static void ngx_http_kvmq_r_dbl(kvmq_reply_t *r, double v);
static void ngx_http_kvmq_r_bulk(kvmq_reply_t *r, const unsigned char *p,
    size_t len);
static void ngx_http_kvmq_r_nil(kvmq_reply_t *r);
static void ngx_http_kvmq_r_array_begin(kvmq_reply_t *r, long n);
static void ngx_http_kvmq_r_map_begin(kvmq_reply_t *r, long n);
static void ngx_http_kvmq_r_end(kvmq_reply_t *r);
static void ngx_http_kvmq_r_error(kvmq_reply_t *r, kvmq_err_e err,
    const char *msg, size_t len);
static void ngx_http_kvmq_r_meta(kvmq_reply_t *r, const kvmq_meta_t *meta);


static const kvmq_reply_ops_t  ngx_http_kvmq_builder_ops = {
    ngx_http_kvmq_r_status,
    ngx_http_kvmq_r_integer,
    ngx_http_kvmq_r_dbl,
    ngx_http_kvmq_r_bulk,
    ngx_http_kvmq_r_nil,
    ngx_http_kvmq_r_array_begin,
    ngx_http_kvmq_r_end,
    ngx_http_kvmq_r_map_begin,
    ngx_http_kvmq_r_end,
    ngx_http_kvmq_r_error,
    ngx_http_kvmq_r_meta
};


void
ngx_http_kvmq_builder_init(ngx_http_kvmq_builder_t *b, ngx_pool_t *pool)
{
    b->reply.ops = &ngx_http_kvmq_builder_ops;
    b->reply.data = b;
    b->reply.err = KVMQ_OK;
    b->pool = pool;
    b->failed = 0;

    ngx_http_kvmq_builder_reset(b);
}


/* ready for the next command of a batch; the old tree stays in the pool */

void
ngx_http_kvmq_builder_reset(ngx_http_kvmq_builder_t *b)
{
    b->root = NULL;
    b->depth = 0;
    b->tail[0] = &b->root;
    b->has_meta = 0;
    b->reply.err = KVMQ_OK;
}


static ngx_http_kvmq_val_t *
ngx_http_kvmq_val_add(ngx_http_kvmq_builder_t *b, ngx_http_kvmq_type_e type)
{
    ngx_http_kvmq_val_t  *v;

    if (b->failed) {
        return NULL;
    }

    if (b->depth == 0 && b->root != NULL) {
        /* a second top-level reply would be an engine bug: keep the first */
        return NULL;
    }

    v = ngx_palloc(b->pool, sizeof(ngx_http_kvmq_val_t));
    if (v == NULL) {
        b->failed = 1;
        return NULL;
    }

    v->next = NULL;
    v->child = NULL;
    v->str.len = 0;
    v->str.data = NULL;
    v->nelts = 0;
    v->type = type;
    v->err = KVMQ_OK;

    *b->tail[b->depth] = v;
    b->tail[b->depth] = &v->next;

    if (b->depth > 0) {
        b->open[b->depth - 1]->nelts++;
    }

    return v;
}


static ngx_int_t
ngx_http_kvmq_copy(ngx_http_kvmq_builder_t *b, ngx_str_t *dst,
    const u_char *p, size_t len)
{
    dst->len = len;

    if (len == 0) {
        dst->data = (u_char *) "";
        return NGX_OK;
    }

    dst->data = ngx_pnalloc(b->pool, len);
    if (dst->data == NULL) {
        b->failed = 1;
        return NGX_ERROR;
    }

    ngx_memcpy(dst->data, p, len);

    return NGX_OK;
}


static void
ngx_http_kvmq_r_status(kvmq_reply_t *r, const char *s, size_t len)
{
    ngx_http_kvmq_builder_t *b = r->data;

    ngx_http_kvmq_val_t  *v;

    v = ngx_http_kvmq_val_add(b, NGX_HTTP_KVMQ_STATUS);
    if (v == NULL) {
        return;
    }

    (void) ngx_http_kvmq_copy(b, &v->str, (const u_char *) s, len);
}


static void
ngx_http_kvmq_r_integer(kvmq_reply_t *r, int64_t n)
{
    ngx_http_kvmq_builder_t *b = r->data;

    ngx_http_kvmq_val_t  *v;

    v = ngx_http_kvmq_val_add(b, NGX_HTTP_KVMQ_INT);
    if (v == NULL) {
        return;
    }

    v->integer = n;
}


static void
ngx_http_kvmq_r_dbl(kvmq_reply_t *r, double d)
{
    ngx_http_kvmq_builder_t *b = r->data;

    ngx_http_kvmq_val_t  *v;

    v = ngx_http_kvmq_val_add(b, NGX_HTTP_KVMQ_DOUBLE);
    if (v == NULL) {
        return;
    }

    v->dbl = d;
}


static void
ngx_http_kvmq_r_bulk(kvmq_reply_t *r, const unsigned char *p, size_t len)
{
    ngx_http_kvmq_builder_t *b = r->data;

    ngx_http_kvmq_val_t  *v;

    v = ngx_http_kvmq_val_add(b, NGX_HTTP_KVMQ_BULK);
    if (v == NULL) {
        return;
    }

    (void) ngx_http_kvmq_copy(b, &v->str, p, len);
}


static void
ngx_http_kvmq_r_nil(kvmq_reply_t *r)
{
    (void) ngx_http_kvmq_val_add(r->data, NGX_HTTP_KVMQ_NIL);
}


static void
ngx_http_kvmq_open(ngx_http_kvmq_builder_t *b, ngx_http_kvmq_type_e type)
{
    ngx_http_kvmq_val_t  *v;

    if (b->depth >= NGX_HTTP_KVMQ_MAX_DEPTH) {
        b->failed = 1;
        return;
    }

    v = ngx_http_kvmq_val_add(b, type);
    if (v == NULL) {
        return;
    }

    b->open[b->depth] = v;
    b->depth++;
    b->tail[b->depth] = &v->child;
}


static void
ngx_http_kvmq_r_array_begin(kvmq_reply_t *r, long n)
{
    ngx_http_kvmq_open(r->data, NGX_HTTP_KVMQ_ARRAY);
}


static void
ngx_http_kvmq_r_map_begin(kvmq_reply_t *r, long n)
{
    ngx_http_kvmq_open(r->data, NGX_HTTP_KVMQ_MAP);
}


static void
ngx_http_kvmq_r_end(kvmq_reply_t *r)
{
    ngx_http_kvmq_builder_t *b = r->data;

    if (b->depth > 0 && !b->failed) {
        b->depth--;
    }
}


static void
ngx_http_kvmq_r_error(kvmq_reply_t *r, kvmq_err_e err, const char *msg,
    size_t len)
{
    ngx_http_kvmq_builder_t *b = r->data;

    ngx_http_kvmq_val_t  *v;

    r->err = err;

    v = ngx_http_kvmq_val_add(b, NGX_HTTP_KVMQ_ERROR);
    if (v == NULL) {
        return;
    }

    v->err = err;

    (void) ngx_http_kvmq_copy(b, &v->str, (const u_char *) msg, len);
}


static void
ngx_http_kvmq_r_meta(kvmq_reply_t *r, const kvmq_meta_t *meta)
{
    ngx_http_kvmq_builder_t *b = r->data;

    ngx_str_t  ctype;

    b->meta = *meta;
    b->meta.ctype.data = NULL;
    b->meta.ctype.len = 0;

    if (meta->ctype.len) {
        if (ngx_http_kvmq_copy(b, &ctype, meta->ctype.data, meta->ctype.len)
            != NGX_OK)
        {
            return;
        }

        b->meta.ctype.data = ctype.data;
        b->meta.ctype.len = ctype.len;
    }

    b->has_meta = 1;
}
