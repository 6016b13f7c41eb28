/*
 * Unit tests of src/util.c: strict number parsing (Redis string2ll and
 * string2ld rules), number formatting (INCRBYFLOAT's human form, score
 * form), the argument helpers that reply errors, and glob matching with
 * Redis' stringmatchlen() semantics including the guard against
 * exponential backtracking.
 */

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "host.h"


#define S(s)  (const unsigned char *) (s), sizeof(s) - 1


static void
ll_ok(const char *s, long long expect)
{
    long long  v;
    int        rc;

    v = 0;
    rc = kvmq_str2ll((const unsigned char *) s, strlen(s), &v);

    tap_ok(rc == 0 && v == expect, "str2ll \"%s\" = %lld", s, expect);

    if (rc != 0 || v != expect) {
        tap_diag("rc %d, got %lld", rc, v);
    }
}


static void
ll_bad(const unsigned char *s, size_t len, const char *name)
{
    long long  v;

    tap_ok(kvmq_str2ll(s, len, &v) == -1, "str2ll rejects %s", name);
}


static void
test_str2ll(void)
{
    ll_ok("0", 0);
    ll_ok("1", 1);
    ll_ok("-1", -1);
    ll_ok("10", 10);
    ll_ok("1234567890", 1234567890);
    ll_ok("9223372036854775807", LLONG_MAX);
    ll_ok("-9223372036854775808", LLONG_MIN);
    ll_ok("-9223372036854775807", -LLONG_MAX);

    ll_bad(S(""), "empty");
    ll_bad(S("-"), "a lone minus");
    ll_bad(S("+1"), "a leading plus");
    ll_bad(S("01"), "a leading zero");
    ll_bad(S("00"), "double zero");
    ll_bad(S("-0"), "minus zero");
    ll_bad(S("-01"), "minus leading zero");
    ll_bad(S(" 1"), "a leading space");
    ll_bad(S("1 "), "a trailing space");
    ll_bad(S("1a"), "trailing garbage");
    ll_bad(S("a1"), "leading garbage");
    ll_bad(S("1.0"), "a decimal point");
    ll_bad(S("1e3"), "an exponent");
    ll_bad(S("0x10"), "hex");
    ll_bad(S("1\0" "2"), "an embedded NUL");
    ll_bad(S("9223372036854775808"), "LLONG_MAX + 1");
    ll_bad(S("-9223372036854775809"), "LLONG_MIN - 1");
    ll_bad(S("18446744073709551616"), "ULLONG_MAX + 1");
    ll_bad(S("99999999999999999999"), "20 nines");
    ll_bad(S("123456789012345678901"), "21 digits");
    ll_bad(S("--1"), "double minus");
}


static void
ld_ok(const char *s, long double expect)
{
    long double  v;
    int          rc;

    v = 0;
    rc = kvmq_str2ld((const unsigned char *) s, strlen(s), &v);

    tap_ok(rc == 0 && v == expect, "str2ld \"%s\"", s);
}


static void
ld_bad(const unsigned char *s, size_t len, const char *name)
{
    long double  v;

    tap_ok(kvmq_str2ld(s, len, &v) == -1, "str2ld rejects %s", name);
}


static void
d_ok(const char *s, double expect)
{
    double  v;
    int     rc;

    v = 0;
    rc = kvmq_str2d((const unsigned char *) s, strlen(s), &v);

    tap_ok(rc == 0 && (v == expect || (isinf(v) && isinf(expect)
                                       && signbit(v) == signbit(expect))),
           "str2d \"%s\"", s);
}


static void
d_bad(const unsigned char *s, size_t len, const char *name)
{
    double  v;

    tap_ok(kvmq_str2d(s, len, &v) == -1, "str2d rejects %s", name);
}


static void
test_str2float(void)
{
    char  *big;

    ld_ok("10.5", 10.5L);
    ld_ok("3.0e3", 3000.0L);
    ld_ok("5.0e3", 5000.0L);
    ld_ok("-2", -2.0L);
    ld_ok("0", 0.0L);
    ld_ok("+1.5", 1.5L);
    ld_ok(".5", 0.5L);
    ld_ok("1e4000", 1e4000L);
    ld_ok("inf", INFINITY);
    ld_ok("-inf", -INFINITY);

    ld_bad(S(""), "empty");
    ld_bad(S(" 1"), "a leading space");
    ld_bad(S("1 "), "a trailing space");
    ld_bad(S("\t1"), "a leading tab");
    ld_bad(S("nan"), "nan");
    ld_bad(S("-nan"), "-nan");
    ld_bad(S("NaN"), "NaN");
    ld_bad(S("abc"), "letters");
    ld_bad(S("1.5x"), "trailing garbage");
    ld_bad(S("1.5\0" "1"), "an embedded NUL");
    ld_bad(S("1e5000"), "overflow");
    ld_bad(S("1e-5000"), "underflow to zero");

    d_ok("1.5", 1.5);
    d_ok("-0.25", -0.25);
    d_ok("3", 3.0);
    d_ok("1e308", 1e308);
    d_ok("inf", INFINITY);
    d_ok("+inf", INFINITY);
    d_ok("-inf", -INFINITY);
    d_ok("-Infinity", -INFINITY);

    d_bad(S(""), "empty");
    d_bad(S(" 1.5"), "a leading space");
    d_bad(S("1.5 "), "a trailing space");
    d_bad(S("nan"), "nan");
    d_bad(S("1e400"), "overflow");
    d_bad(S("-1e400"), "negative overflow");
    d_bad(S("1e-400"), "underflow to zero");
    d_bad(S("1,5"), "a comma");
    d_bad(S("1.5\0"), "a trailing NUL");

    /* longer than any float anyone means: refused, not truncated */
    big = malloc(6000);
    memset(big, '1', 6000);
    ld_bad((unsigned char *) big, 6000, "6000 digits");
    d_bad((unsigned char *) big, 6000, "6000 digits");
    free(big);
}


static void
ld2str_is(long double v, const char *expect)
{
    char    buf[KVMQ_LDBUF];
    size_t  n;

    n = kvmq_ld2str(buf, v);

    tap_is_str(buf, expect, expect);
    tap_ok(n == strlen(expect), "ld2str length of %s", expect);
}


static void
d2str_is(double v, const char *expect)
{
    char    buf[KVMQ_NUMBUF];
    size_t  n;

    n = kvmq_d2str(buf, v);

    tap_is_str(buf, expect, expect);
    tap_ok(n == strlen(expect), "d2str length of %s", expect);
}


static void
test_format(void)
{
    char    buf[KVMQ_NUMBUF];
    size_t  n;

    n = kvmq_ll2str(buf, 0);
    tap_ok(n == 1 && strcmp(buf, "0") == 0, "ll2str 0");
    n = kvmq_ll2str(buf, -1);
    tap_ok(n == 2 && strcmp(buf, "-1") == 0, "ll2str -1");
    n = kvmq_ll2str(buf, 1234567890123LL);
    tap_ok(n == 13 && strcmp(buf, "1234567890123") == 0, "ll2str 13 digits");
    n = kvmq_ll2str(buf, LLONG_MAX);
    tap_ok(n == 19 && strcmp(buf, "9223372036854775807") == 0,
           "ll2str LLONG_MAX");
    n = kvmq_ll2str(buf, LLONG_MIN);
    tap_ok(n == 20 && strcmp(buf, "-9223372036854775808") == 0,
           "ll2str LLONG_MIN");

    /* INCRBYFLOAT's human-friendly form */
    ld2str_is(10.5L, "10.5");
    ld2str_is(3.0L, "3");
    ld2str_is(5000.0L, "5000");
    ld2str_is(5200.0L, "5200");
    ld2str_is(10.5L + 0.1L, "10.6");
    ld2str_is(0.1L, "0.1");
    ld2str_is(-0.1L, "-0.1");
    ld2str_is(-2.5L, "-2.5");
    ld2str_is(0.0L, "0");
    ld2str_is(-0.0L, "0");
    ld2str_is(-1e-20L, "0");
    ld2str_is(1e-20L, "0");
    ld2str_is(1e17L, "100000000000000000");
    ld2str_is(1e200L,
        "100000000000000000002458586534161025661508068040050002887327"
        "500487325785432383926208372890736129198739813658147359652238"
        "566592960617854587787845326097835852628442219969983473365844"
        "529789269081145212928");
    ld2str_is(INFINITY, "inf");
    ld2str_is(-INFINITY, "-inf");

    /* scores */
    d2str_is(1.0, "1");
    d2str_is(-3.0, "-3");
    d2str_is(1.5, "1.5");
    d2str_is(-2.25, "-2.25");
    d2str_is(0.1, "0.10000000000000001");
    d2str_is(0.0, "0");
    d2str_is(-0.0, "-0");
    d2str_is(1e15, "1000000000000000");
    d2str_is(3e18, "3000000000000000000");
    d2str_is(1e20, "1e+20");
    d2str_is(1.5e-10, "1.5e-10");
    d2str_is(INFINITY, "inf");
    d2str_is(-INFINITY, "-inf");
    d2str_is(NAN, "nan");
}


static void
test_args(void)
{
    th_t          *h;
    long long      ll;
    long double    ld;
    double         d;
    kvmq_slice_t   a;

    a.data = (const unsigned char *) "Set";
    a.len = 3;
    tap_ok(kvmq_arg_is(&a, "SET"), "arg_is ignores case");
    tap_ok(kvmq_arg_is(&a, "set"), "arg_is ignores case (lower)");
    tap_ok(!kvmq_arg_is(&a, "SETX"), "arg_is: longer literal");
    tap_ok(!kvmq_arg_is(&a, "SE"), "arg_is: shorter literal");
    a.len = 2;
    tap_ok(kvmq_arg_is(&a, "se"), "arg_is uses the slice length");

    h = th_new(0, KVMQ_EVICT_NOEVICTION);

    a.data = (const unsigned char *) "42";
    a.len = 2;
    h->reply.err = KVMQ_OK;
    tap_ok(kvmq_arg_ll(&h->ctx, &a, &ll) == 0 && ll == 42, "arg_ll 42");
    tap_ok(h->reply.err == KVMQ_OK, "arg_ll: no error replied");

    a.data = (const unsigned char *) "4x";
    tap_ok(kvmq_arg_ll(&h->ctx, &a, &ll) == -1, "arg_ll 4x fails");
    tap_ok(h->reply.err == KVMQ_ERR_BADREQ, "arg_ll: BADREQ");
    tap_is_str(h->errmsg, "value is not an integer or out of range",
               "arg_ll: Redis wording");

    h->reply.err = KVMQ_OK;
    a.data = (const unsigned char *) "1.5";
    a.len = 3;
    tap_ok(kvmq_arg_ld(&h->ctx, &a, &ld) == 0 && ld == 1.5L, "arg_ld 1.5");
    tap_ok(kvmq_arg_d(&h->ctx, &a, &d) == 0 && d == 1.5, "arg_d 1.5");
    tap_ok(h->reply.err == KVMQ_OK, "arg_ld/arg_d: no error replied");

    a.data = (const unsigned char *) "nan";
    tap_ok(kvmq_arg_ld(&h->ctx, &a, &ld) == -1, "arg_ld nan fails");
    tap_ok(h->reply.err == KVMQ_ERR_BADREQ, "arg_ld: BADREQ");
    tap_is_str(h->errmsg, "value is not a valid float",
               "arg_ld: Redis wording");

    h->reply.err = KVMQ_OK;
    h->errmsg[0] = '\0';
    tap_ok(kvmq_arg_d(&h->ctx, &a, &d) == -1, "arg_d nan fails");
    tap_ok(h->reply.err == KVMQ_ERR_BADREQ, "arg_d: BADREQ");
    tap_is_str(h->errmsg, "value is not a valid float",
               "arg_d: Redis wording");

    th_free(h);
}


static int
gm(const char *pat, const char *s, int nocase)
{
    return kvmq_glob_match((const unsigned char *) pat, strlen(pat),
                           (const unsigned char *) s, strlen(s), nocase);
}


static void
glob_is(const char *pat, const char *s, int nocase, int expect)
{
    tap_ok(gm(pat, s, nocase) == expect, "glob \"%s\" %s \"%s\"%s", pat,
           expect ? "matches" : "does not match", s,
           nocase ? " (nocase)" : "");
}


static void
test_glob(void)
{
    int            i;
    char           pat[4096], str[4096];
    clock_t        t0;
    double         secs;
    unsigned char  bin[3];

    glob_is("*", "", 0, 1);
    glob_is("*", "anything", 0, 1);
    glob_is("**", "x", 0, 1);
    glob_is("", "", 0, 1);
    glob_is("", "a", 0, 0);
    glob_is("a", "", 0, 0);
    glob_is("a*", "", 0, 0);
    glob_is("a*", "a", 0, 1);
    glob_is("h?llo", "hello", 0, 1);
    glob_is("h?llo", "hallo", 0, 1);
    glob_is("h?llo", "hllo", 0, 0);
    glob_is("h*llo", "hllo", 0, 1);
    glob_is("h*llo", "heeeello", 0, 1);
    glob_is("h*llo", "hello!", 0, 0);
    glob_is("h[ae]llo", "hello", 0, 1);
    glob_is("h[ae]llo", "hallo", 0, 1);
    glob_is("h[ae]llo", "hillo", 0, 0);
    glob_is("h[^e]llo", "hallo", 0, 1);
    glob_is("h[^e]llo", "hbllo", 0, 1);
    glob_is("h[^e]llo", "hello", 0, 0);
    glob_is("h[a-b]llo", "hallo", 0, 1);
    glob_is("h[a-b]llo", "hbllo", 0, 1);
    glob_is("h[a-b]llo", "hcllo", 0, 0);
    glob_is("h[b-a]llo", "hallo", 0, 1);
    glob_is("[0-9][0-9]", "42", 0, 1);
    glob_is("[0-9][0-9]", "4x", 0, 0);
    glob_is("[-abc]", "-", 0, 1);

    /* as in Redis, "c-]" is a range from 'c' to ']', not a literal '-' */
    glob_is("[abc-]", "-", 0, 0);
    glob_is("[\\]]", "]", 0, 1);
    glob_is("[\\^a]", "^", 0, 1);
    glob_is("h\\*llo", "h*llo", 0, 1);
    glob_is("h\\*llo", "hello", 0, 0);
    glob_is("h\\?llo", "hello", 0, 0);
    glob_is("\\[x]", "[x]", 0, 1);
    glob_is("a\\", "a\\", 0, 1);
    glob_is("user:*:name", "user:42:name", 0, 1);
    glob_is("user:*:name", "user:42:mail", 0, 0);
    glob_is("*:*", "a:b", 0, 1);
    glob_is("*b*c*", "abxbxc", 0, 1);
    glob_is("*b*c*", "abxbx", 0, 0);
    glob_is("a*b*c", "abc", 0, 1);
    glob_is("a*b*c", "axxbyyc", 0, 1);
    glob_is("a*b*c", "axxbyycz", 0, 0);

    /* an unterminated class runs to the pattern's end */
    glob_is("[abc", "a", 0, 1);
    glob_is("[abc", "d", 0, 0);
    glob_is("x[", "x", 0, 0);

    glob_is("HELLO", "hello", 0, 0);
    glob_is("HELLO", "hello", 1, 1);
    glob_is("H[A-Z]LLO", "hello", 1, 1);
    glob_is("h[a-z]llo", "HELLO", 1, 1);
    glob_is("h[E]llo", "hello", 1, 1);
    glob_is("h*O", "hello", 1, 1);

    /* binary safe: NUL bytes in pattern and string */
    bin[0] = 'a';
    bin[1] = '\0';
    bin[2] = 'b';
    tap_ok(kvmq_glob_match((const unsigned char *) "a?b", 3, bin, 3, 0),
           "glob ? matches a NUL byte");
    tap_ok(kvmq_glob_match(bin, 3, bin, 3, 0), "glob: NUL in the pattern");
    tap_ok(!kvmq_glob_match(bin, 3, bin, 2, 0), "glob: length honoured");

    /*
     * The classic exponential pattern: without the "skip longer
     * matches" cut this takes longer than the age of the universe.
     */
    pat[0] = '\0';
    for (i = 0; i < 30; i++) {
        strcat(pat, "a*");
    }
    strcat(pat, "b");

    memset(str, 'a', 200);
    str[200] = '\0';

    t0 = clock();
    glob_is(pat, str, 0, 0);
    secs = (double) (clock() - t0) / CLOCKS_PER_SEC;
    tap_ok(secs < 1.0, "pathological glob returns fast (%.3fs)", secs);

    str[199] = 'b';
    glob_is(pat, str, 0, 1);

    /* deep nesting: many stars separated by literals hit the cap */
    pat[0] = '\0';
    for (i = 0; i < 1500; i++) {
        strcat(pat, "*a");
    }

    memset(str, 'a', 1600);
    str[1600] = '\0';

    t0 = clock();
    glob_is(pat, str, 0, 0);
    secs = (double) (clock() - t0) / CLOCKS_PER_SEC;
    tap_ok(secs < 1.0, "deeply nested glob is cut off (%.3fs)", secs);

    /* under the cap the same shape still matches */
    pat[0] = '\0';
    for (i = 0; i < 100; i++) {
        strcat(pat, "*a");
    }

    glob_is(pat, str, 0, 1);
}


int
main(void)
{
    test_str2ll();
    test_str2float();
    test_format();
    test_args();
    test_glob();

    return tap_done();
}
