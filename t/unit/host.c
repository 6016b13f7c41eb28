/*
 * The unit-test host: see host.h.  Allocations carry a small header with
 * their size so the host can count bytes in use, enforce a limit (a
 * "zone" of that size) and let tests assert that a failed write leaked
 * nothing.
 */

#include <stdio.h>
#include <stdlib.h>
#include <stdarg.h>
#include <sys/time.h>

#include "host.h"


static int  tap_n;
static int  tap_failed;


typedef struct {
    size_t   size;
    size_t   pad;
} th_hdr_t;


static void *
th_alloc(void *ctx, size_t size)
{
    th_t      *h;
    th_hdr_t  *hdr;

    h = ctx;

    if (h->limit && h->used + size > h->limit) {
        return NULL;
    }

    hdr = malloc(sizeof(th_hdr_t) + size);
    if (hdr == NULL) {
        return NULL;
    }

    hdr->size = size;
    h->used += size;
    h->allocs++;

    /* poison, so code that forgets to initialise shows it */
    memset(hdr + 1, 0xa5, size);

    return hdr + 1;
}


static void
th_dealloc(void *ctx, void *p)
{
    th_t      *h;
    th_hdr_t  *hdr;

    h = ctx;
    hdr = (th_hdr_t *) p - 1;

    h->used -= hdr->size;
    h->allocs--;

    memset(p, 0x5a, hdr->size);
    free(hdr);
}


static size_t
th_used(void *ctx)
{
    return ((th_t *) ctx)->used;
}


/* ---- the rendering reply builder --------------------------------------- */


static void
th_put(th_t *h, const char *p, size_t len)
{
    if (h->outlen + len + 1 > h->outcap) {
        h->outcap = (h->outlen + len + 1) * 2;
        h->out = realloc(h->out, h->outcap);
    }

    memcpy(h->out + h->outlen, p, len);
    h->outlen += len;
    h->out[h->outlen] = '\0';
}


static void
th_sep_any(th_t *h)
{
    int  *nc;

    if (h->depth <= 0 || h->depth >= 64) {
        return;
    }

    nc = &h->need_comma[h->depth];

    if (*nc == 1 || *nc == -3) {
        th_put(h, ",", 1);

    } else if (*nc == 2) {
        th_put(h, ":", 1);
    }
}


static void
th_item_begin(th_t *h)
{
    th_sep_any(h);
}


static void
th_item_end(th_t *h)
{
    int  *nc;

    if (h->depth <= 0 || h->depth >= 64) {
        return;
    }

    nc = &h->need_comma[h->depth];

    /* arrays: 0 -> 1 -> 1 ...; maps: -1 (key next) -> 2 (value next)
     * -> -3 (key next, comma first) -> 2 ... */
    if (*nc == 0 || *nc == 1) {
        *nc = 1;

    } else if (*nc == -1 || *nc == -3) {
        *nc = 2;

    } else {
        *nc = -3;
    }
}


static void
th_r_status(kvmq_reply_t *r, const char *s, size_t len)
{
    th_t  *h = r->data;

    th_item_begin(h);
    th_put(h, "+", 1);
    th_put(h, s, len);
    th_item_end(h);
}


static void
th_r_integer(kvmq_reply_t *r, int64_t v)
{
    char   buf[32];
    th_t  *h = r->data;

    th_item_begin(h);
    th_put(h, buf, (size_t) snprintf(buf, sizeof(buf), ":%lld",
                                     (long long) v));
    th_item_end(h);
}


static void
th_r_dbl(kvmq_reply_t *r, double v)
{
    char    buf[KVMQ_NUMBUF + 1];
    size_t  n;
    th_t   *h = r->data;

    th_item_begin(h);
    buf[0] = ',';
    n = kvmq_d2str(buf + 1, v);
    th_put(h, buf, n + 1);
    th_item_end(h);
}


static void
th_r_bulk(kvmq_reply_t *r, const unsigned char *p, size_t len)
{
    char    buf[8];
    size_t  i;
    th_t   *h = r->data;

    th_item_begin(h);
    th_put(h, "\"", 1);

    for (i = 0; i < len; i++) {
        if (p[i] == '"' || p[i] == '\\') {
            buf[0] = '\\';
            buf[1] = (char) p[i];
            th_put(h, buf, 2);

        } else if (p[i] < 0x20 || p[i] >= 0x7f) {
            th_put(h, buf, (size_t) snprintf(buf, sizeof(buf), "\\x%02x",
                                             p[i]));

        } else {
            th_put(h, (const char *) p + i, 1);
        }
    }

    th_put(h, "\"", 1);
    th_item_end(h);
}


static void
th_r_nil(kvmq_reply_t *r)
{
    th_t  *h = r->data;

    th_item_begin(h);
    th_put(h, "nil", 3);
    th_item_end(h);
}


static void
th_r_open(th_t *h, const char *bracket, int map)
{
    th_item_begin(h);
    th_put(h, bracket, 1);
    h->depth++;

    if (h->depth < 64) {
        h->need_comma[h->depth] = map ? -1 : 0;
    }
}


static void
th_r_close(th_t *h, const char *bracket)
{
    h->depth--;
    th_put(h, bracket, 1);
    th_item_end(h);
}


static void
th_r_array_begin(kvmq_reply_t *r, long n)
{
    (void) n;
    th_r_open(r->data, "[", 0);
}


static void
th_r_array_end(kvmq_reply_t *r)
{
    th_r_close(r->data, "]");
}


static void
th_r_map_begin(kvmq_reply_t *r, long n)
{
    (void) n;
    th_r_open(r->data, "{", 1);
}


static void
th_r_map_end(kvmq_reply_t *r)
{
    th_r_close(r->data, "}");
}


static void
th_r_error(kvmq_reply_t *r, kvmq_err_e err, const char *msg, size_t len)
{
    const char  *name;
    th_t        *h = r->data;

    name = kvmq_err_name(err);

    th_item_begin(h);
    th_put(h, "!", 1);
    th_put(h, name, strlen(name));
    th_item_end(h);

    if (len >= sizeof(h->errmsg)) {
        len = sizeof(h->errmsg) - 1;
    }

    memcpy(h->errmsg, msg, len);
    h->errmsg[len] = '\0';
}


static void
th_r_meta(kvmq_reply_t *r, const kvmq_meta_t *meta)
{
    th_t  *h = r->data;

    h->meta = *meta;
    h->has_meta = 1;
}


static const kvmq_reply_ops_t  th_reply_ops = {
    th_r_status, th_r_integer, th_r_dbl, th_r_bulk, th_r_nil,
    th_r_array_begin, th_r_array_end, th_r_map_begin, th_r_map_end,
    th_r_error, th_r_meta
};


/* ---- host -------------------------------------------------------------- */


th_t *
th_new(size_t limit, kvmq_evict_e policy)
{
    th_t            *h;
    struct timeval   tv;
    kvmq_db_conf_t   conf;

    h = calloc(1, sizeof(th_t));
    if (h == NULL) {
        abort();
    }

    h->alloc.alloc = th_alloc;
    h->alloc.free = th_dealloc;
    h->alloc.used = th_used;
    h->alloc.total = limit;
    h->alloc.ctx = h;
    h->limit = limit;

    h->reply.ops = &th_reply_ops;
    h->reply.data = h;

    conf.eviction = policy;
    conf.seed = 0x1234567;

    h->db = kvmq_db_create(&h->alloc, &conf);
    if (h->db == NULL) {
        abort();
    }

    gettimeofday(&tv, NULL);

    h->ctx.db = h->db;
    h->ctx.alloc = &h->alloc;
    h->ctx.reply = &h->reply;
    h->ctx.now_ms = (int64_t) tv.tv_sec * 1000 + tv.tv_usec / 1000;

    return h;
}


void
th_free(th_t *h)
{
    kvmq_db_destroy(h->db, &h->alloc);
    free(h->out);
    free(h);
}


void
th_set_time(th_t *h, int64_t ms)
{
    h->ctx.now_ms = ms;
}


const char *
th_runv(th_t *h, int argc, const kvmq_slice_t *argv)
{
    h->outlen = 0;
    th_put(h, "", 0);
    h->depth = 0;
    h->errmsg[0] = '\0';
    h->has_meta = 0;

    (void) kvmq_exec(&h->ctx, argc, argv);

    return h->out;
}


static int
th_hex(int ch)
{
    if (ch >= '0' && ch <= '9') {
        return ch - '0';
    }

    ch |= 0x20;

    return (ch >= 'a' && ch <= 'f') ? ch - 'a' + 10 : 0;
}


const char *
th_run(th_t *h, const char *line)
{
    int            argc;
    size_t         n;
    const char    *p;
    unsigned char *buf, *w;
    kvmq_slice_t   argv[256];
    const char    *out;

    n = strlen(line);
    buf = malloc(n + 1);
    w = buf;
    argc = 0;
    p = line;

    while (*p && argc < 256) {
        while (*p == ' ') {
            p++;
        }

        if (*p == '\0') {
            break;
        }

        argv[argc].data = w;

        if (*p == '"') {
            p++;

            while (*p && *p != '"') {
                if (*p == '\\' && p[1]) {
                    p++;

                    switch (*p) {
                    case 'n': *w++ = '\n'; break;
                    case 'r': *w++ = '\r'; break;
                    case 't': *w++ = '\t'; break;
                    case 'x':
                        *w++ = (unsigned char) (th_hex(p[1]) * 16
                                                + th_hex(p[2]));
                        p += 2;
                        break;
                    default: *w++ = (unsigned char) *p; break;
                    }

                    p++;
                    continue;
                }

                *w++ = (unsigned char) *p++;
            }

            if (*p == '"') {
                p++;
            }

        } else {
            while (*p && *p != ' ') {
                *w++ = (unsigned char) *p++;
            }
        }

        argv[argc].len = (size_t) (w - argv[argc].data);
        argc++;
    }

    out = th_runv(h, argc, argv);
    free(buf);

    return out;
}


int
th_is(th_t *h, const char *line, const char *expect, const char *name)
{
    const char  *got;
    char         label[512];

    got = th_run(h, line);

    snprintf(label, sizeof(label), "%s", name ? name : line);
    tap_is_str(got, expect, label);

    if (strcmp(got, expect) != 0 && h->errmsg[0]) {
        tap_diag("  error message: %s", h->errmsg);
    }

    return strcmp(got, expect) == 0;
}


/* ---- TAP --------------------------------------------------------------- */


void
tap_ok(int cond, const char *fmt, ...)
{
    va_list  args;

    tap_n++;

    if (!cond) {
        tap_failed++;
    }

    printf("%s %d - ", cond ? "ok" : "not ok", tap_n);

    va_start(args, fmt);
    vprintf(fmt, args);
    va_end(args);

    printf("\n");
    fflush(stdout);
}


void
tap_diag(const char *fmt, ...)
{
    va_list  args;

    printf("# ");

    va_start(args, fmt);
    vprintf(fmt, args);
    va_end(args);

    printf("\n");
    fflush(stdout);
}


void
tap_is_str(const char *got, const char *expect, const char *name)
{
    int  ok;

    ok = (got && expect && strcmp(got, expect) == 0);

    tap_ok(ok, "%s", name);

    if (!ok) {
        tap_diag("       got: %s", got ? got : "(null)");
        tap_diag("  expected: %s", expect ? expect : "(null)");
    }
}


void
tap_is_int(long long got, long long expect, const char *name)
{
    tap_ok(got == expect, "%s", name);

    if (got != expect) {
        tap_diag("       got: %lld", got);
        tap_diag("  expected: %lld", expect);
    }
}


int
tap_done(void)
{
    printf("1..%d\n", tap_n);

    if (tap_failed) {
        tap_diag("failed %d of %d tests", tap_failed, tap_n);
    }

    return tap_failed ? 1 : 0;
}
