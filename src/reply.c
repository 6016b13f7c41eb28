/*
 * Reply helpers: the engine's side of the reply builder.
 *
 * Commands never touch an encoder directly; they call these, which keep
 * the last error in reply->err (the doors turn it into an HTTP status)
 * and word the common errors once, as Redis words them, so every command
 * says "value is not an integer or out of range" the same way.
 */

#include <stdio.h>

#include "engine.h"


static const struct {
    const char  *name;
    int          status;
} kvmq_errors[KVMQ_ERR_LAST] = {
    { "OK",           200 },
    { "BADREQ",       400 },
    { "DENIED",       403 },
    { "NOTFOUND",     404 },
    { "METHOD",       405 },
    { "WRONGTYPE",    409 },
    { "PRECONDITION", 412 },
    { "TOOLARGE",     413 },
    { "TIMEOUT",      504 },
    { "NOMEM",        507 },
    { "QUEUEFULL",    507 },
};


const char *
kvmq_err_name(kvmq_err_e err)
{
    return (err < KVMQ_ERR_LAST) ? kvmq_errors[err].name : "BADREQ";
}


int
kvmq_err_http_status(kvmq_err_e err)
{
    return (err < KVMQ_ERR_LAST) ? kvmq_errors[err].status : 500;
}


void
kvmq_reply_ok(kvmq_ctx_t *c)
{
    c->reply->ops->status(c->reply, "OK", 2);
}


void
kvmq_reply_status(kvmq_ctx_t *c, const char *s)
{
    c->reply->ops->status(c->reply, s, strlen(s));
}


void
kvmq_reply_int(kvmq_ctx_t *c, int64_t v)
{
    c->reply->ops->integer(c->reply, v);
}


void
kvmq_reply_double(kvmq_ctx_t *c, double v)
{
    c->reply->ops->dbl(c->reply, v);
}


void
kvmq_reply_bulk(kvmq_ctx_t *c, const void *p, size_t len)
{
    c->reply->ops->bulk(c->reply, p, len);
}


void
kvmq_reply_cstr(kvmq_ctx_t *c, const char *s)
{
    c->reply->ops->bulk(c->reply, (const unsigned char *) s, strlen(s));
}


void
kvmq_reply_nil(kvmq_ctx_t *c)
{
    c->reply->ops->nil(c->reply);
}


void
kvmq_reply_array(kvmq_ctx_t *c, long n)
{
    c->reply->ops->array_begin(c->reply, n);
}


void
kvmq_reply_array_end(kvmq_ctx_t *c)
{
    c->reply->ops->array_end(c->reply);
}


void
kvmq_reply_map(kvmq_ctx_t *c, long n)
{
    c->reply->ops->map_begin(c->reply, n);
}


void
kvmq_reply_map_end(kvmq_ctx_t *c)
{
    c->reply->ops->map_end(c->reply);
}


void
kvmq_reply_meta(kvmq_ctx_t *c, const kvmq_meta_t *meta)
{
    if (c->reply->ops->meta != NULL) {
        c->reply->ops->meta(c->reply, meta);
    }
}


void
kvmq_reply_error(kvmq_ctx_t *c, kvmq_err_e err, const char *fmt, ...)
{
    int      n;
    char     buf[256];
    va_list  args;

    va_start(args, fmt);
    n = vsnprintf(buf, sizeof(buf), fmt, args);
    va_end(args);

    if (n < 0) {
        n = 0;

    } else if ((size_t) n >= sizeof(buf)) {
        n = sizeof(buf) - 1;
    }

    c->reply->err = err;
    c->reply->ops->error(c->reply, err, buf, (size_t) n);
}


void
kvmq_reply_wrongtype(kvmq_ctx_t *c)
{
    kvmq_reply_error(c, KVMQ_ERR_WRONGTYPE,
                     "Operation against a key holding the wrong kind "
                     "of value");
}


void
kvmq_reply_nomem(kvmq_ctx_t *c)
{
    kvmq_reply_error(c, KVMQ_ERR_NOMEM,
                     "zone is full and nothing may be evicted");
}


void
kvmq_reply_syntax(kvmq_ctx_t *c)
{
    kvmq_reply_error(c, KVMQ_ERR_BADREQ, "syntax error");
}


void
kvmq_reply_not_int(kvmq_ctx_t *c)
{
    kvmq_reply_error(c, KVMQ_ERR_BADREQ,
                     "value is not an integer or out of range");
}


void
kvmq_reply_not_float(kvmq_ctx_t *c)
{
    kvmq_reply_error(c, KVMQ_ERR_BADREQ, "value is not a valid float");
}
