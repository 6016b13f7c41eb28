/*
 * Arguments and numbers: the strict conversions every command uses to
 * read its arguments and stored values, the formatting of numbers into
 * replies and stored strings, and glob matching for KEYS, SCAN MATCH and
 * PSUBSCRIBE.
 *
 * Strictness is the point.  A number is accepted only when the whole
 * argument is the number: no spaces around it, no leading '+' or zeros
 * for integers, no NaN for floats.  That is what Redis does, and it keeps
 * a value's text and its numeric meaning one-to-one, so that INCR on "01"
 * or " 1" fails instead of silently normalising the stored bytes.
 *
 * Arguments are byte slices, not C strings: nothing here reads past len,
 * and an embedded NUL makes a number invalid instead of ending it early.
 * The float parsers copy into a bounded stack buffer to NUL-terminate for
 * strtold()/strtod(); longer input is not a number anyone means.
 *
 * Formatting writes into a caller buffer of KVMQ_NUMBUF bytes and always
 * NUL-terminates.  kvmq_ld2str() follows INCRBYFLOAT's "human friendly"
 * form (fixed point with 17 decimals, trailing zeros cut), falling back
 * to exponent form for magnitudes whose fixed form would not fit the
 * buffer (Redis uses a 5 KB buffer there; nobody reads 300 digits).
 * kvmq_d2str() prints scores: integral values as integers, others with
 * %.17g, which round-trips every double.
 *
 * kvmq_glob_match() has Redis' stringmatchlen() semantics.  A pattern
 * like "a*a*a*a*...b" against a long string of a's backtracks
 * exponentially in a naive matcher; two guards bound it as Redis 7 does:
 * once a '*' has tried every suffix of the string and failed, no earlier
 * '*' can succeed either (the "skip longer matches" flag), and recursion
 * depth is capped.
 */

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "engine.h"


/* longest textual float we parse, as Redis' MAX_LONG_DOUBLE_CHARS */
#define KVMQ_FLOAT_MAXLEN    5120

/* recursion cap of the glob matcher (one level per '*') */
#define KVMQ_GLOB_NESTING    1000


static int kvmq_glob(const unsigned char *p, size_t plen,
    const unsigned char *s, size_t slen, int nocase, int *skip,
    int nesting);


int
kvmq_arg_is(const kvmq_slice_t *a, const char *lit)
{
    size_t  i, n;

    n = strlen(lit);

    if (a->len != n) {
        return 0;
    }

    for (i = 0; i < n; i++) {
        if (tolower(a->data[i]) != tolower((unsigned char) lit[i])) {
            return 0;
        }
    }

    return 1;
}


int
kvmq_str2ll(const unsigned char *p, size_t len, long long *v)
{
    size_t              i;
    int                 neg;
    unsigned long long  u, d;

    /* "-9223372036854775808" is the longest valid form: 20 bytes */
    if (len == 0 || len > 20) {
        return -1;
    }

    if (len == 1 && p[0] == '0') {
        *v = 0;
        return 0;
    }

    i = 0;
    neg = 0;

    if (p[0] == '-') {
        neg = 1;
        i = 1;

        if (len == 1) {
            return -1;
        }
    }

    /* the first digit must be 1-9: no "+1", no "01", no "-0" */
    if (p[i] < '1' || p[i] > '9') {
        return -1;
    }

    u = 0;

    for ( /* void */ ; i < len; i++) {
        if (p[i] < '0' || p[i] > '9') {
            return -1;
        }

        d = (unsigned long long) (p[i] - '0');

        if (u > (ULLONG_MAX - d) / 10) {
            return -1;
        }

        u = u * 10 + d;
    }

    if (neg) {
        if (u > (unsigned long long) LLONG_MAX + 1) {
            return -1;
        }

        /* negate in unsigned arithmetic: LLONG_MIN has no positive twin */
        *v = (long long) (0 - u);

    } else {
        if (u > (unsigned long long) LLONG_MAX) {
            return -1;
        }

        *v = (long long) u;
    }

    return 0;
}


/* copy to a NUL-terminated buffer; fails on empty, too long, leading space */
static int
kvmq_float_prep(const unsigned char *p, size_t len, char *buf)
{
    if (len == 0 || len >= KVMQ_FLOAT_MAXLEN || isspace(p[0])) {
        return -1;
    }

    memcpy(buf, p, len);
    buf[len] = '\0';

    return 0;
}


int
kvmq_str2ld(const unsigned char *p, size_t len, long double *v)
{
    char         buf[KVMQ_FLOAT_MAXLEN], *end;
    long double  d;

    if (kvmq_float_prep(p, len, buf) != 0) {
        return -1;
    }

    errno = 0;
    d = strtold(buf, &end);

    /* the whole argument (an embedded NUL stops strtold early, so this
     * rejects it too), no overflow to infinity, no underflow to zero */
    if (end != buf + len
        || (errno == ERANGE && (isinf(d) || d == 0))
        || errno == EINVAL
        || isnan(d))
    {
        return -1;
    }

    *v = d;

    return 0;
}


int
kvmq_str2d(const unsigned char *p, size_t len, double *v)
{
    char    buf[KVMQ_FLOAT_MAXLEN], *end;
    double  d;

    if (kvmq_float_prep(p, len, buf) != 0) {
        return -1;
    }

    errno = 0;
    d = strtod(buf, &end);

    if (end != buf + len
        || (errno == ERANGE && (isinf(d) || d == 0))
        || errno == EINVAL
        || isnan(d))
    {
        return -1;
    }

    *v = d;

    return 0;
}


int
kvmq_arg_ll(kvmq_ctx_t *c, const kvmq_slice_t *a, long long *v)
{
    if (kvmq_str2ll(a->data, a->len, v) != 0) {
        kvmq_reply_not_int(c);
        return -1;
    }

    return 0;
}


int
kvmq_arg_ld(kvmq_ctx_t *c, const kvmq_slice_t *a, long double *v)
{
    if (kvmq_str2ld(a->data, a->len, v) != 0) {
        kvmq_reply_not_float(c);
        return -1;
    }

    return 0;
}


int
kvmq_arg_d(kvmq_ctx_t *c, const kvmq_slice_t *a, double *v)
{
    if (kvmq_str2d(a->data, a->len, v) != 0) {
        kvmq_reply_not_float(c);
        return -1;
    }

    return 0;
}


size_t
kvmq_ll2str(char *buf, long long v)
{
    char                tmp[24], *p;
    size_t              n;
    unsigned long long  u;

    u = (v < 0) ? 0 - (unsigned long long) v : (unsigned long long) v;

    p = tmp + sizeof(tmp);

    do {
        *--p = (char) ('0' + u % 10);
        u /= 10;
    } while (u);

    if (v < 0) {
        *--p = '-';
    }

    n = (size_t) (tmp + sizeof(tmp) - p);

    memcpy(buf, p, n);
    buf[n] = '\0';

    return n;
}


size_t
kvmq_ld2str(char *buf, long double v)
{
    int     n;
    size_t  len;

    if (isinf(v)) {
        len = (v > 0) ? 3 : 4;
        memcpy(buf, (v > 0) ? "inf" : "-inf", len + 1);
        return len;
    }

    if (isnan(v)) {
        memcpy(buf, "nan", 4);
        return 3;
    }

    /*
     * 17 decimals: with a long double's 64-bit mantissa, rounding there
     * gives back most short decimals exactly as typed (10.5, not
     * 10.50000000000000000001).  The fixed form needs one byte per
     * integral digit: KVMQ_LDBUF holds the largest finite long double.
     */
    n = snprintf(buf, KVMQ_LDBUF, "%.17Lf", v);

    if (n < 0 || n >= KVMQ_LDBUF) {
        n = snprintf(buf, KVMQ_LDBUF, "%.17Lg", v);
        return (n < 0) ? 0 : (size_t) n;
    }

    len = (size_t) n;

    if (memchr(buf, '.', len) != NULL) {
        while (buf[len - 1] == '0') {
            len--;
        }

        if (buf[len - 1] == '.') {
            len--;
        }
    }

    /* a tiny negative rounds to "-0"; the user means zero */
    if (len == 2 && buf[0] == '-' && buf[1] == '0') {
        buf[0] = '0';
        len = 1;
    }

    buf[len] = '\0';

    return len;
}


size_t
kvmq_d2str(char *buf, double v)
{
    int  n;

    if (isnan(v)) {
        memcpy(buf, "nan", 4);
        return 3;
    }

    if (isinf(v)) {
        memcpy(buf, (v > 0) ? "inf" : "-inf", (v > 0) ? 4 : 5);
        return (v > 0) ? 3 : 4;
    }

    if (v == 0) {
        /* keep the sign of a negative zero, as Redis does */
        if (signbit(v)) {
            memcpy(buf, "-0", 3);
            return 2;
        }

        memcpy(buf, "0", 2);
        return 1;
    }

    /* integral values in a range where the conversion is exact print as
     * integers: "3", not "3.0000000000000000" or "3e+00" */
    if (v > -4611686018427387904.0 && v < 4611686018427387904.0
        && v == (double) (long long) v)
    {
        return kvmq_ll2str(buf, (long long) v);
    }

    n = snprintf(buf, KVMQ_NUMBUF, "%.17g", v);

    return (n < 0) ? 0 : (size_t) n;
}


/* ---- glob -------------------------------------------------------------- */


static int
kvmq_glob_eq(unsigned char a, unsigned char b, int nocase)
{
    if (nocase) {
        return tolower(a) == tolower(b);
    }

    return a == b;
}


/*
 * Match a [...] class at p (just past the '['), against ch.  Sets *used
 * to the pattern bytes consumed, up to and including the closing ']'.  An
 * unterminated class ends at the pattern's end, as in Redis.
 */
static int
kvmq_glob_class(const unsigned char *p, size_t plen, unsigned char ch,
    int nocase, size_t *used)
{
    int            not, match;
    size_t         i;
    unsigned char  lo, hi, t, c;

    i = 0;
    match = 0;

    not = (plen > 0 && p[0] == '^');
    if (not) {
        i++;
    }

    while (i < plen && p[i] != ']') {

        if (p[i] == '\\' && plen - i >= 2) {
            if (p[i + 1] == ch) {
                match = 1;
            }

            i += 2;
            continue;
        }

        if (plen - i >= 3 && p[i + 1] == '-') {
            lo = p[i];
            hi = p[i + 2];
            c = ch;

            if (lo > hi) {
                t = lo;
                lo = hi;
                hi = t;
            }

            if (nocase) {
                lo = (unsigned char) tolower(lo);
                hi = (unsigned char) tolower(hi);
                c = (unsigned char) tolower(c);
            }

            if (c >= lo && c <= hi) {
                match = 1;
            }

            i += 3;
            continue;
        }

        if (kvmq_glob_eq(p[i], ch, nocase)) {
            match = 1;
        }

        i++;
    }

    /* consume the ']' when there is one */
    *used = (i < plen) ? i + 1 : i;

    return not ? !match : match;
}


static int
kvmq_glob(const unsigned char *p, size_t plen, const unsigned char *s,
    size_t slen, int nocase, int *skip, int nesting)
{
    size_t  used;

    if (nesting > KVMQ_GLOB_NESTING) {
        return 0;
    }

    while (plen > 0 && slen > 0) {

        switch (p[0]) {

        case '*':
            while (plen > 1 && p[1] == '*') {
                p++;
                plen--;
            }

            if (plen == 1) {
                return 1;
            }

            while (slen > 0) {
                if (kvmq_glob(p + 1, plen - 1, s, slen, nocase, skip,
                              nesting + 1))
                {
                    return 1;
                }

                if (*skip) {
                    return 0;
                }

                s++;
                slen--;
            }

            /*
             * The rest of the pattern matched no suffix of the string.
             * An earlier '*' taking more would only hand a shorter
             * suffix to the same rest, so it cannot match either.
             */
            *skip = 1;
            return 0;

        case '?':
            p++;
            plen--;
            break;

        case '[':
            if (!kvmq_glob_class(p + 1, plen - 1, s[0], nocase, &used)) {
                return 0;
            }

            p += 1 + used;
            plen -= 1 + used;
            break;

        case '\\':
            if (plen >= 2) {
                p++;
                plen--;
            }

            /* fall through */

        default:
            if (!kvmq_glob_eq(p[0], s[0], nocase)) {
                return 0;
            }

            p++;
            plen--;
            break;
        }

        s++;
        slen--;
    }

    /* the string is used up: only stars may remain in the pattern */
    if (slen == 0) {
        while (plen > 0 && p[0] == '*') {
            p++;
            plen--;
        }
    }

    return plen == 0 && slen == 0;
}


int
kvmq_glob_match(const unsigned char *pat, size_t plen,
    const unsigned char *s, size_t slen, int nocase)
{
    int  skip;

    skip = 0;

    return kvmq_glob(pat, plen, s, slen, nocase, &skip, 0);
}
