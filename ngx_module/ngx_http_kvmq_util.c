
/*
 * Small encoding helpers of the HTTP doors: strict UTF-8 validation (a
 * reply string that fails it goes out as {"base64": ...}), replacement of
 * invalid sequences where JSON has no other choice (object keys, error
 * messages that quote user bytes), percent-decoding of path segments and
 * query values, base64 input, and number syntax checks.
 */


#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "ngx_http_kvmq_module.h"


/*
 * The length of the valid UTF-8 sequence at p (1..4), or 0 when it is
 * not one: overlong forms, surrogates and code points past U+10FFFF are
 * rejected, as RFC 3629 requires.
 */

static size_t
ngx_http_kvmq_utf8_seq(const u_char *p, size_t n)
{
    u_char  c;

    c = p[0];

    if (c < 0x80) {
        return 1;
    }

    if (c >= 0xc2 && c <= 0xdf) {
        return (n >= 2 && (p[1] & 0xc0) == 0x80) ? 2 : 0;
    }

    if (c >= 0xe0 && c <= 0xef) {
        if (n < 3 || (p[1] & 0xc0) != 0x80 || (p[2] & 0xc0) != 0x80) {
            return 0;
        }

        if ((c == 0xe0 && p[1] < 0xa0) || (c == 0xed && p[1] > 0x9f)) {
            return 0;
        }

        return 3;
    }

    if (c >= 0xf0 && c <= 0xf4) {
        if (n < 4 || (p[1] & 0xc0) != 0x80 || (p[2] & 0xc0) != 0x80
            || (p[3] & 0xc0) != 0x80)
        {
            return 0;
        }

        if ((c == 0xf0 && p[1] < 0x90) || (c == 0xf4 && p[1] > 0x8f)) {
            return 0;
        }

        return 4;
    }

    return 0;
}


ngx_int_t
ngx_http_kvmq_utf8_valid(const u_char *p, size_t len)
{
    size_t        n;
    const u_char *end;

    end = p + len;

    while (p < end) {

        if (*p < 0x80) {
            p++;
            continue;
        }

        n = ngx_http_kvmq_utf8_seq(p, end - p);
        if (n == 0) {
            return 0;
        }

        p += n;
    }

    return 1;
}


/*
 * Copy src to dst replacing each invalid byte with U+FFFD; dst needs
 * 3 * len bytes.  Returns the length written.
 */

size_t
ngx_http_kvmq_utf8_sanitize(u_char *dst, const u_char *src, size_t len)
{
    size_t        n;
    u_char       *d;
    const u_char *end;

    d = dst;
    end = src + len;

    while (src < end) {
        n = ngx_http_kvmq_utf8_seq(src, end - src);

        if (n == 0) {
            *d++ = 0xef;
            *d++ = 0xbf;
            *d++ = 0xbd;
            src++;
            continue;
        }

        while (n--) {
            *d++ = *src++;
        }
    }

    return d - dst;
}


static ngx_int_t
ngx_http_kvmq_hex(u_char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }

    c |= 0x20;

    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }

    return -1;
}


/*
 * Percent-decode into the pool; with plus, '+' is a space (query values
 * as HTML forms and URLSearchParams write them).  A '%' not followed by
 * two hex digits is an error: such a name cannot be meant.  A string
 * with nothing to decode is returned in place.
 */

ngx_int_t
ngx_http_kvmq_unescape(ngx_pool_t *pool, ngx_str_t *dst, const u_char *p,
    size_t len, ngx_uint_t plus)
{
    size_t      i;
    u_char     *d;
    ngx_int_t   hi, lo;

    for (i = 0; i < len; i++) {
        if (p[i] == '%' || (plus && p[i] == '+')) {
            break;
        }
    }

    if (i == len) {
        dst->data = (u_char *) p;
        dst->len = len;
        return NGX_OK;
    }

    d = ngx_pnalloc(pool, len ? len : 1);
    if (d == NULL) {
        return NGX_ERROR;
    }

    dst->data = d;

    for (i = 0; i < len; i++) {

        if (p[i] == '%') {
            if (i + 2 >= len) {
                return NGX_DECLINED;
            }

            hi = ngx_http_kvmq_hex(p[i + 1]);
            lo = ngx_http_kvmq_hex(p[i + 2]);

            if (hi < 0 || lo < 0) {
                return NGX_DECLINED;
            }

            *d++ = (u_char) (hi << 4 | lo);
            i += 2;
            continue;
        }

        if (plus && p[i] == '+') {
            *d++ = ' ';
            continue;
        }

        *d++ = p[i];
    }

    dst->len = d - dst->data;

    return NGX_OK;
}


ngx_int_t
ngx_http_kvmq_base64_decode(ngx_pool_t *pool, ngx_str_t *dst,
    const u_char *p, size_t len)
{
    ngx_str_t  src;

    src.data = (u_char *) p;
    src.len = len;

    dst->data = ngx_pnalloc(pool, ngx_base64_decoded_length(len) + 1);
    if (dst->data == NULL) {
        return NGX_ERROR;
    }

    if (ngx_decode_base64(dst, &src) != NGX_OK) {
        return NGX_DECLINED;
    }

    return NGX_OK;
}


/*
 * A JSON scalar of a request body as one more argument, copied into the
 * pool (yajl's buffer does not outlive the callback); a string is base64
 * decoded when the request asked for it.  NULL, or what went wrong.
 */

const char *
ngx_http_kvmq_arg_push(ngx_pool_t *pool, ngx_array_t *args, const u_char *s,
    size_t len, ngx_uint_t base64)
{
    ngx_int_t      rc;
    ngx_str_t      v;
    kvmq_slice_t  *a;

    if (base64) {
        rc = ngx_http_kvmq_base64_decode(pool, &v, s, len);

        if (rc == NGX_ERROR) {
            return "out of memory";
        }

        if (rc == NGX_DECLINED) {
            return "invalid base64 string";
        }

    } else {
        v.len = len;
        v.data = ngx_pnalloc(pool, len ? len : 1);
        if (v.data == NULL) {
            return "out of memory";
        }

        ngx_memcpy(v.data, s, len);
    }

    a = ngx_array_push(args);
    if (a == NULL) {
        return "out of memory";
    }

    a->data = v.data;
    a->len = v.len;

    return NULL;
}


/* a decimal integer as Redis takes it: optional '-', no leading zeros */

ngx_int_t
ngx_http_kvmq_is_int(const u_char *p, size_t len)
{
    size_t  i;

    if (len > 0 && p[0] == '-') {
        p++;
        len--;
    }

    if (len == 0 || len > 19 || (p[0] == '0' && len > 1)) {
        return 0;
    }

    for (i = 0; i < len; i++) {
        if (p[i] < '0' || p[i] > '9') {
            return 0;
        }
    }

    return 1;
}


/* up to 20 decimal digits: an unsigned 64-bit number, roughly */

ngx_int_t
ngx_http_kvmq_is_uint(const u_char *p, size_t len)
{
    size_t  i;

    if (len == 0 || len > 20) {
        return 0;
    }

    for (i = 0; i < len; i++) {
        if (p[i] < '0' || p[i] > '9') {
            return 0;
        }
    }

    return 1;
}


/* the JSON number grammar (RFC 8259, section 6) */

ngx_int_t
ngx_http_kvmq_is_json_number(const u_char *p, size_t len)
{
    const u_char  *end;

    end = p + len;

    if (p < end && *p == '-') {
        p++;
    }

    if (p == end) {
        return 0;
    }

    if (*p == '0') {
        p++;

    } else if (*p >= '1' && *p <= '9') {
        while (p < end && *p >= '0' && *p <= '9') {
            p++;
        }

    } else {
        return 0;
    }

    if (p < end && *p == '.') {
        p++;

        if (p == end || *p < '0' || *p > '9') {
            return 0;
        }

        while (p < end && *p >= '0' && *p <= '9') {
            p++;
        }
    }

    if (p < end && (*p == 'e' || *p == 'E')) {
        p++;

        if (p < end && (*p == '+' || *p == '-')) {
            p++;
        }

        if (p == end || *p < '0' || *p > '9') {
            return 0;
        }

        while (p < end && *p >= '0' && *p <= '9') {
            p++;
        }
    }

    return p == end;
}


/*
 * The shortest "%.*g" text that reads back as the same double, so 1.5
 * stays "1.5" and 0.1 stays "0.1"; buf needs 32 bytes.  Infinities are
 * the strings API.md names ("inf", "-inf"); the caller quotes them.
 */

size_t
ngx_http_kvmq_format_double(u_char *buf, double v)
{
    int   prec, n;
    char *end;

    if (isinf(v)) {
        return ngx_sprintf(buf, "%s", v > 0 ? "inf" : "-inf") - buf;
    }

    if (isnan(v)) {
        return ngx_sprintf(buf, "nan") - buf;
    }

    n = 0;

    for (prec = 15; prec <= 17; prec++) {
        n = snprintf((char *) buf, 32, "%.*g", prec, v);

        if (n < 0 || n >= 32) {
            return 0;
        }

        if (strtod((char *) buf, &end) == v) {
            break;
        }
    }

    return (size_t) n;
}
