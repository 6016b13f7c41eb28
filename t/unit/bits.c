/*
 * Unit tests of the bit commands (src/bitops.c): SETBIT GETBIT BITCOUNT
 * BITPOS BITOP.  The Redis documentation examples and edge cases first,
 * then randomized comparisons against naive bit-by-bit models of Redis'
 * rules (ranges in BYTE and BIT mode, negative indexes, BITPOS' zero
 * padding when no end is given), over strings long enough to take the
 * word-at-a-time paths.
 */

#include <stdio.h>
#include <stdlib.h>

#include "agg_util.h"


#define T0  1700000000000LL


/* run a command with binary arguments given as (pointer, length) pairs */
static const char *
runb(int argc, ...)
{
    int           i;
    va_list       args;
    kvmq_slice_t  argv[16];

    va_start(args, argc);

    for (i = 0; i < argc; i++) {
        argv[i].data = va_arg(args, const unsigned char *);
        argv[i].len = va_arg(args, size_t);
    }

    va_end(args);

    return th_runv(h, argc, argv);
}


#define A(s)  (const unsigned char *) (s), strlen(s)


static void
set_bytes(const char *key, const unsigned char *p, size_t len)
{
    runb(3, A("SET"), A(key), p, len);
}


static void
test_setbit_getbit(void)
{
    th_set_time(h, T0);

    is("SETBIT mykey 7 1", ":0");
    is("SETBIT mykey 7 0", ":1");
    is("GET mykey", "\"\\x00\"");
    is("SETBIT mykey 0 1", ":0");
    is("GET mykey", "\"\\x80\"");
    is("GETBIT mykey 0", ":1");
    is("GETBIT mykey 1", ":0");
    is("GETBIT mykey 100", ":0");
    is("GETBIT nosuch 0", ":0");
    is("EXISTS nosuch", ":0");

    /* growth pads with zero bytes */
    is("SETBIT mykey 23 1", ":0");
    is("GET mykey", "\"\\x80\\x00\\x01\"");
    is("STRLEN mykey", ":3");
    is("SETBIT mykey 23 1", ":1");
    is("SETBIT mykey 9 1", ":0");
    is("GET mykey", "\"\\x80@\\x01\"");
    is("GETBIT mykey 9", ":1");
    is("GETBIT mykey 23", ":1");
    is("GETBIT mykey 24", ":0");

    is("SET s a", "+OK");
    is("SETBIT s 6 1", ":0");
    is("GET s", "\"c\"");
    is("SETBIT s 7 0", ":1");
    is("GET s", "\"b\"");

    /* a bitmap filled left to right */
    {
        int   i;
        char  line[64];

        for (i = 0; i < 4000; i += 3) {
            snprintf(line, sizeof(line), "SETBIT seq %d 1", i);
            th_run(h, line);
        }

        is("STRLEN seq", ":500");
        is("BITCOUNT seq", ":1334");
        is("GETBIT seq 3999", ":1");
        is("GETBIT seq 3998", ":0");
    }

    /* errors */
    err("SETBIT k -1 1", "BADREQ",
        "bit offset is not an integer or out of range");
    err("SETBIT k 4294967296 1", "BADREQ",
        "bit offset is not an integer or out of range");
    err("SETBIT k abc 1", "BADREQ",
        "bit offset is not an integer or out of range");
    err("SETBIT k 1.5 1", "BADREQ",
        "bit offset is not an integer or out of range");
    err("SETBIT k 0 2", "BADREQ", "bit is not an integer or out of range");
    err("SETBIT k 0 -1", "BADREQ", "bit is not an integer or out of range");
    err("SETBIT k 0 x", "BADREQ", "bit is not an integer or out of range");
    err("SETBIT k 0 01", "BADREQ", "bit is not an integer or out of range");
    err("GETBIT k -1", "BADREQ",
        "bit offset is not an integer or out of range");
    err("GETBIT k 4294967296", "BADREQ",
        "bit offset is not an integer or out of range");
    is("GETBIT k 4294967295", ":0");
    is("EXISTS k", ":0");
    is("SETBIT k 0", "!BADREQ");

    /* the largest offset is valid, but must fit max_value */
    h->ctx.max_value = 1000;
    err("SETBIT k 4294967295 1", "TOOLARGE",
        "string exceeds maximum allowed size");
    err("SETBIT k 8000 1", "TOOLARGE", "string exceeds maximum allowed size");
    is("EXISTS k", ":0");
    is("SETBIT k 7999 1", ":0");
    is("STRLEN k", ":1000");
    h->ctx.max_value = 0;

    /* SETBIT keeps TTL and Content-Type */
    {
        kvmq_slice_t  ct = kvmq_slice("image/x-bitmap");

        h->ctx.ctype = &ct;
        is("SETBIT t 0 1", ":0");
        h->ctx.ctype = NULL;
        is("EXPIRE t 100", ":1");
        is("SETBIT t 1000 1", ":0");
        is("TTL t", ":100");
        is("GET t", "\"\\x80\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00"
           "\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00"
           "\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00"
           "\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00"
           "\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00"
           "\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00"
           "\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00"
           "\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00"
           "\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00"
           "\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00"
           "\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00"
           "\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00"
           "\\x00\\x00\\x00\\x00\\x00\\x80\"");
        tap_ok(h->meta.ctype.len == ct.len
               && memcmp(h->meta.ctype.data, ct.data, ct.len) == 0,
               "SETBIT growth kept the Content-Type");
    }

    is("FLUSHALL", "+OK");
}


static void
test_bitcount(void)
{
    is("SET mykey foobar", "+OK");
    is("BITCOUNT mykey", ":26");
    is("BITCOUNT mykey 0 0", ":4");
    is("BITCOUNT mykey 1 1", ":6");
    is("BITCOUNT mykey 1 1 BYTE", ":6");
    is("BITCOUNT mykey 5 30 BIT", ":17");
    is("BITCOUNT mykey 5 30 bit", ":17");
    is("BITCOUNT mykey 0 -1", ":26");
    is("BITCOUNT mykey -2 -1", ":7");
    is("BITCOUNT mykey 0 100", ":26");
    is("BITCOUNT mykey -100 100", ":26");
    is("BITCOUNT mykey 3 1", ":0");
    is("BITCOUNT mykey -1 -2", ":0");
    is("BITCOUNT mykey 6 10", ":0");
    is("BITCOUNT mykey 0 -1 BIT", ":26");
    is("BITCOUNT mykey 0 7 BIT", ":4");
    is("BITCOUNT mykey -8 -1 BIT", ":4");
    is("BITCOUNT mykey 1 1 BIT", ":1");
    is("BITCOUNT mykey 0 0 BIT", ":0");
    is("BITCOUNT mykey 47 47 BIT", ":0");
    is("BITCOUNT mykey 46 47 BIT", ":1");
    is("BITCOUNT mykey 46 1000 BIT", ":1");
    is("BITCOUNT nosuch", ":0");
    is("BITCOUNT nosuch 0 -1", ":0");
    is("BITCOUNT nosuch 0 -1 BIT", ":0");
    is("SET e \"\"", "+OK");
    is("BITCOUNT e", ":0");
    is("BITCOUNT e 0 -1", ":0");
    is("BITCOUNT e 0 0 BIT", ":0");

    err("BITCOUNT mykey 0", "BADREQ", "syntax error");
    err("BITCOUNT mykey 0 1 FOO", "BADREQ", "syntax error");
    err("BITCOUNT mykey 0 1 BIT x", "BADREQ", "syntax error");
    err("BITCOUNT mykey a 1", "BADREQ",
        "value is not an integer or out of range");
    err("BITCOUNT mykey 0 b", "BADREQ",
        "value is not an integer or out of range");
    /* Redis looks up the key first: a missing key is 0 whatever the
     * range (checked against redis 7.0) */
    is("BITCOUNT nosuch 0 x", ":0");
    is("BITCOUNT nosuch 0", ":0");
    is("BITPOS nosuch 1 x", ":-1");
    is("BITPOS nosuch 0 0 x BIT", ":0");
    err("BITPOS nosuch 2", "BADREQ", "The bit argument must be 1 or 0.");
    is("BITCOUNT", "!BADREQ");

    is("FLUSHALL", "+OK");
}


static void
test_bitpos(void)
{
    unsigned char  buf[256];

    set_bytes("mykey", (const unsigned char *) "\xff\xf0\x00", 3);
    is("BITPOS mykey 0", ":12");
    set_bytes("mykey", (const unsigned char *) "\x00\xff\xf0", 3);
    is("BITPOS mykey 1 0", ":8");
    is("BITPOS mykey 1 2", ":16");
    is("BITPOS mykey 1 2 -1 BYTE", ":16");
    is("BITPOS mykey 1 7 15 BIT", ":8");
    is("BITPOS mykey 1 7 15 bit", ":8");
    set_bytes("mykey", (const unsigned char *) "\x00\x00\x00", 3);
    is("BITPOS mykey 1", ":-1");
    is("BITPOS mykey 1 7 -3 BIT", ":-1");
    is("BITPOS mykey 0", ":0");

    /* a missing key is all zeros */
    is("BITPOS nosuch 0", ":0");
    is("BITPOS nosuch 1", ":-1");
    is("BITPOS nosuch 0 5 10", ":0");
    is("BITPOS nosuch 1 5 10 BIT", ":-1");

    /* no 0 found: padded with zeros unless the end is given */
    set_bytes("ff", (const unsigned char *) "\xff\xff\xff", 3);
    is("BITPOS ff 0", ":24");
    is("BITPOS ff 0 0", ":24");
    is("BITPOS ff 0 1", ":24");
    is("BITPOS ff 0 0 -1", ":-1");
    is("BITPOS ff 0 0 -1 BYTE", ":-1");
    is("BITPOS ff 0 0 -1 BIT", ":-1");
    is("BITPOS ff 0 0 100", ":-1");
    is("BITPOS ff 1", ":0");
    is("BITPOS ff 1 1", ":8");
    is("BITPOS ff 1 -1", ":16");
    is("BITPOS ff 1 3 3 BIT", ":3");
    is("BITPOS ff 1 3 2 BIT", ":-1");
    is("BITPOS ff 0 5 3", ":-1");
    is("BITPOS ff 1 5 3", ":-1");
    is("BITPOS ff 1 100", ":-1");
    is("BITPOS ff 0 100", ":-1");

    set_bytes("m", (const unsigned char *) "\xff\xf0\x00", 3);
    is("BITPOS m 0 0 -1 BIT", ":12");
    is("BITPOS m 0 13 13 BIT", ":13");
    is("BITPOS m 1 11 23 BIT", ":11");
    is("BITPOS m 1 12 23 BIT", ":-1");
    is("BITPOS m 0 -12 -1 BIT", ":12");
    is("BITPOS m 1 -14 -1 BIT", ":10");

    /* an empty string holds neither bit */
    is("SET e \"\"", "+OK");
    is("BITPOS e 0", ":-1");
    is("BITPOS e 1", ":-1");
    is("BITPOS e 0 0 -1 BIT", ":-1");

    /* long runs take the word-at-a-time path */
    memset(buf, 0xff, sizeof(buf));
    buf[200] = 0xfb;
    set_bytes("long", buf, sizeof(buf));
    is("BITPOS long 0", ":1605");
    is("BITPOS long 0 201", ":2048");
    is("BITPOS long 0 201 -1", ":-1");
    is("BITPOS long 0 3 199", ":-1");
    is("BITPOS long 0 1600 1610 BIT", ":1605");
    memset(buf, 0, sizeof(buf));
    buf[77] = 0x01;
    set_bytes("long", buf, sizeof(buf));
    is("BITPOS long 1", ":623");
    is("BITPOS long 1 78", ":-1");
    is("BITPOS long 1 0 76", ":-1");
    is("BITPOS long 1 0 623 BIT", ":623");
    is("BITPOS long 1 0 622 BIT", ":-1");
    is("BITPOS long 0 77 77", ":616");

    err("BITPOS mykey 2", "BADREQ", "The bit argument must be 1 or 0.");
    err("BITPOS mykey -1", "BADREQ", "The bit argument must be 1 or 0.");
    err("BITPOS mykey x", "BADREQ",
        "value is not an integer or out of range");
    err("BITPOS mykey 1 x", "BADREQ",
        "value is not an integer or out of range");
    err("BITPOS mykey 1 0 x", "BADREQ",
        "value is not an integer or out of range");
    err("BITPOS mykey 1 0 1 FOO", "BADREQ", "syntax error");
    err("BITPOS mykey 1 0 1 BIT x", "BADREQ", "syntax error");
    is("BITPOS mykey", "!BADREQ");

    is("FLUSHALL", "+OK");
}


static void
test_bitop(void)
{
    th_set_time(h, T0);

    is("SET key1 foobar", "+OK");
    is("SET key2 abcdef", "+OK");
    is("BITOP AND dest key1 key2", ":6");
    is("GET dest", "\"`bc`ab\"");
    is("BITOP OR dest key1 key2", ":6");
    is("GET dest", "\"goofev\"");
    is("BITOP XOR dest key1 key2", ":6");
    is("GET dest", "\"\\x07\\x0d\\x0c\\x06\\x04\\x14\"");
    is("BITOP NOT dest key1", ":6");
    is("GET dest", "\"\\x99\\x90\\x90\\x9d\\x9e\\x8d\"");
    is("bitop not dest dest", ":6");
    is("GET dest", "\"foobar\"");

    /* shorter sources are padded with zeros */
    is("SET a \"\\xff\\xff\\xff\"", "+OK");
    is("SET b \"\\x0f\"", "+OK");
    is("BITOP AND d a b", ":3");
    is("GET d", "\"\\x0f\\x00\\x00\"");
    is("BITOP OR d b a", ":3");
    is("GET d", "\"\\xff\\xff\\xff\"");
    is("BITOP XOR d a b", ":3");
    is("GET d", "\"\\xf0\\xff\\xff\"");
    is("BITOP AND d a nosuch", ":3");
    is("GET d", "\"\\x00\\x00\\x00\"");
    is("BITOP OR d nosuch b", ":1");
    is("GET d", "\"\\x0f\"");
    is("BITOP XOR d a a a", ":3");
    is("GET d", "\"\\xff\\xff\\xff\"");
    is("BITOP AND d a", ":3");
    is("GET d", "\"\\xff\\xff\\xff\"");

    /* the destination is replaced whatever it was, TTL dropped */
    is("SET d x EX 100", "+OK");
    is("BITOP OR d b", ":1");
    is("TTL d", ":-1");
    other_make("w");
    is("BITOP OR w b", ":1");
    is("TYPE w", "+string");
    is("GET w", "\"\\x0f\"");

    /* no data at all: the destination is deleted */
    is("BITOP OR d nosuch other", ":0");
    is("EXISTS d", ":0");
    is("BITOP NOT d nosuch", ":0");
    is("EXISTS d", ":0");
    is("SET e \"\"", "+OK");
    is("SET d x", "+OK");
    is("BITOP AND d e", ":0");
    is("EXISTS d", ":0");

    err("BITOP NOT d a b", "BADREQ",
        "BITOP NOT must be called with a single source key.");
    err("BITOP FOO d a", "BADREQ", "syntax error");
    err("BITOP ANDX d a", "BADREQ", "syntax error");
    is("BITOP AND d", "!BADREQ");

    other_make("w");
    is("SET d keep", "+OK");
    err("BITOP OR d a w", "WRONGTYPE",
        "Operation against a key holding the wrong kind of value");
    is("GET d", "\"keep\"");
    err("BITCOUNT w", "WRONGTYPE",
        "Operation against a key holding the wrong kind of value");
    err("BITPOS w 1", "WRONGTYPE",
        "Operation against a key holding the wrong kind of value");
    err("GETBIT w 0", "WRONGTYPE",
        "Operation against a key holding the wrong kind of value");
    err("SETBIT w 0 1", "WRONGTYPE",
        "Operation against a key holding the wrong kind of value");
    err("BITCOUNT w 0 -1", "WRONGTYPE",
        "Operation against a key holding the wrong kind of value");
    other_drop("w");

    is("FLUSHALL", "+OK");
}


/* ---- randomized, against naive models of Redis' rules ------------------ */


static unsigned long long  rnd_state = 0x2545f4914f6cdd1dULL;


static unsigned
rnd(unsigned n)
{
    rnd_state ^= rnd_state << 13;
    rnd_state ^= rnd_state >> 7;
    rnd_state ^= rnd_state << 17;

    return (unsigned) (rnd_state % n);
}


static int
bit_at(const unsigned char *p, long long i)
{
    return (p[i >> 3] >> (7 - (i & 7))) & 1;
}


/* Redis' index clamping; returns 0 for an empty range */
static int
clamp(long long len, long long *start, long long *end)
{
    if (*start < 0) {
        *start += len;
    }

    if (*end < 0) {
        *end += len;
    }

    if (*start < 0) {
        *start = 0;
    }

    if (*end < 0) {
        *end = 0;
    }

    if (*end >= len) {
        *end = len - 1;
    }

    return len > 0 && *start <= *end;
}


static long long
model_count(const unsigned char *p, long long len, long long s, long long e,
    int isbit)
{
    long long  i, n, units;

    if (s < 0 && e < 0 && s > e) {
        return 0;
    }

    units = isbit ? len * 8 : len;

    if (!clamp(units, &s, &e)) {
        return 0;
    }

    if (!isbit) {
        s *= 8;
        e = e * 8 + 7;
    }

    for (n = 0, i = s; i <= e; i++) {
        n += bit_at(p, i);
    }

    return n;
}


static long long
model_pos(const unsigned char *p, long long len, int bit, long long s,
    long long e, int end_given, int isbit)
{
    long long  i, units;

    units = isbit ? len * 8 : len;

    if (!clamp(units, &s, &e)) {
        return -1;
    }

    if (!isbit) {
        s *= 8;
        e = e * 8 + 7;
    }

    for (i = s; i <= e; i++) {
        if (bit_at(p, i) == bit) {
            return i;
        }
    }

    return (bit == 0 && !end_given) ? e + 1 : -1;
}


static void
fill_random(unsigned char *p, size_t len)
{
    size_t    i;
    unsigned  kind;

    kind = rnd(4);

    for (i = 0; i < len; i++) {
        switch (kind) {
        case 0:
            p[i] = (unsigned char) rnd(256);
            break;
        case 1:
            /* mostly zeros: long runs for BITPOS 1 */
            p[i] = rnd(40) ? 0 : (unsigned char) (1u << rnd(8));
            break;
        case 2:
            /* mostly ones: long runs for BITPOS 0 */
            p[i] = rnd(40) ? 0xff : (unsigned char) ~(1u << rnd(8));
            break;
        default:
            p[i] = rnd(2) ? 0xff : 0;
            break;
        }
    }
}


static void
test_random_count_pos(void)
{
    int            round, isbit, bit, end_given, bad_count, bad_pos;
    char           got[64], exp[64], sa[32], sb[32], line[128];
    size_t         len;
    long long      s, e, units;
    const char    *r;
    unsigned char  buf[300];

    bad_count = 0;
    bad_pos = 0;

    for (round = 0; round < 3000; round++) {
        len = rnd(5) == 0 ? rnd(4) : rnd(sizeof(buf));
        fill_random(buf, len);
        set_bytes("r", buf, len);

        isbit = rnd(2);
        units = isbit ? (long long) len * 8 : (long long) len;
        s = (long long) rnd((unsigned) units * 2 + 3) - units - 1;
        e = (long long) rnd((unsigned) units * 2 + 3) - units - 1;

        snprintf(sa, sizeof(sa), "%lld", s);
        snprintf(sb, sizeof(sb), "%lld", e);

        r = runb(5, A("BITCOUNT"), A("r"), A(sa), A(sb),
                 A(isbit ? "BIT" : "BYTE"));
        snprintf(exp, sizeof(exp), ":%lld",
                 model_count(buf, (long long) len, s, e, isbit));

        if (strcmp(r, exp) != 0) {
            if (bad_count++ < 5) {
                tap_diag("BITCOUNT len %zu %lld %lld %s: got %s, want %s",
                         len, s, e, isbit ? "BIT" : "BYTE", r, exp);
            }
        }

        r = runb(2, A("BITCOUNT"), A("r"));
        snprintf(exp, sizeof(exp), ":%lld",
                 model_count(buf, (long long) len, 0, -1, 0));

        if (strcmp(r, exp) != 0) {
            bad_count++;
        }

        bit = rnd(2);
        end_given = isbit || rnd(2);

        snprintf(line, sizeof(line), "%d", bit);

        if (end_given) {
            r = runb(6, A("BITPOS"), A("r"), A(line), A(sa), A(sb),
                     A(isbit ? "BIT" : "BYTE"));
            snprintf(exp, sizeof(exp), ":%lld",
                     model_pos(buf, (long long) len, bit, s, e, 1, isbit));

        } else if (rnd(2)) {
            r = runb(4, A("BITPOS"), A("r"), A(line), A(sa));
            snprintf(exp, sizeof(exp), ":%lld",
                     model_pos(buf, (long long) len, bit, s, -1, 0, 0));

        } else {
            r = runb(3, A("BITPOS"), A("r"), A(line));
            snprintf(exp, sizeof(exp), ":%lld",
                     model_pos(buf, (long long) len, bit, 0, -1, 0, 0));
        }

        snprintf(got, sizeof(got), "%s", r);

        if (strcmp(got, exp) != 0) {
            if (bad_pos++ < 5) {
                tap_diag("BITPOS len %zu bit %d %lld %lld %s end %d: "
                         "got %s, want %s", len, bit, s, e,
                         isbit ? "BIT" : "BYTE", end_given, got, exp);
            }
        }
    }

    tap_ok(bad_count == 0, "BITCOUNT agrees with the model (%d wrong)",
           bad_count);
    tap_ok(bad_pos == 0, "BITPOS agrees with the model (%d wrong)", bad_pos);

    is("FLUSHALL", "+OK");
}


static void
test_random_bitop(void)
{
    int             round, op, n, i, bad;
    size_t          len[4], maxlen, j;
    unsigned char   src[4][64], out[64], v;
    const char     *ops[4] = { "AND", "OR", "XOR", "NOT" };
    const char     *keys[4] = { "s0", "s1", "s2", "s3" };
    kvmq_slice_t    argv[8];
    kvmq_entry_t   *e;
    kvmq_string_t  *s;

    bad = 0;

    for (round = 0; round < 500; round++) {
        op = (int) rnd(4);
        n = (op == 3) ? 1 : 1 + (int) rnd(4);
        maxlen = 0;

        for (i = 0; i < n; i++) {
            len[i] = rnd(5) == 0 ? 0 : rnd(64);
            fill_random(src[i], len[i]);

            if (len[i] == 0 && rnd(2)) {
                runb(2, A("DEL"), A(keys[i]));

            } else {
                set_bytes(keys[i], src[i], len[i]);
            }

            if (len[i] > maxlen) {
                maxlen = len[i];
            }
        }

        for (j = 0; j < maxlen; j++) {
            v = (j < len[0]) ? src[0][j] : 0;

            if (op == 3) {
                v = (unsigned char) ~v;
            }

            for (i = 1; i < n; i++) {
                unsigned char  b = (j < len[i]) ? src[i][j] : 0;

                v = (op == 0) ? (v & b) : (op == 1) ? (v | b) : (v ^ b);
            }

            out[j] = v;
        }

        argv[0].data = (const unsigned char *) "BITOP";
        argv[0].len = 5;
        argv[1].data = (const unsigned char *) ops[op];
        argv[1].len = strlen(ops[op]);
        argv[2].data = (const unsigned char *) "dst";
        argv[2].len = 3;

        for (i = 0; i < n; i++) {
            argv[3 + i].data = (const unsigned char *) keys[i];
            argv[3 + i].len = 2;
        }

        th_runv(h, 3 + n, argv);

        e = entry("dst");

        if (maxlen == 0) {
            if (e != NULL) {
                bad++;
            }

            continue;
        }

        s = e ? e->val : NULL;

        if (s == NULL || s->len != maxlen || memcmp(s->data, out, maxlen)) {
            if (bad++ < 5) {
                tap_diag("BITOP %s of %d keys, maxlen %zu: wrong", ops[op],
                         n, maxlen);
            }
        }
    }

    tap_ok(bad == 0, "BITOP agrees with the model (%d wrong)", bad);

    /* the destination as a source, with the others shorter and longer */
    is("SET x \"\\x01\\x02\"", "+OK");
    is("SET y \"\\x10\\x20\\x30\"", "+OK");
    is("BITOP XOR x x y", ":3");
    is("GET x", "\"\\x11\\\"0\"");
    is("BITOP AND x y x", ":3");
    is("GET x", "\"\\x10 0\"");

    is("FLUSHALL", "+OK");
}


static void
test_nomem(void)
{
    size_t  used;
    th_t   *saved;

    saved = h;
    h = th_new(0, KVMQ_EVICT_NOEVICTION);

    is("SET a foobar", "+OK");
    is("SET b abc", "+OK");
    is("SET d old", "+OK");

    h->limit = h->used;
    used = h->used;

    is("SETBIT a 100 1", "!NOMEM");
    is("SETBIT new 0 1", "!NOMEM");
    is("BITOP OR d a b", "!NOMEM");
    is("BITOP OR new a b", "!NOMEM");
    is("GET d", "\"old\"");
    is("GET a", "\"foobar\"");
    is("EXISTS new", ":0");
    is("DBSIZE", ":3");
    tap_is_int((long long) h->used, (long long) used,
               "bit writes failing NOMEM: host bytes unchanged");

    /* in place needs nothing */
    is("SETBIT a 0 1", ":0");
    is("GETBIT a 0", ":1");
    is("BITCOUNT a", ":27");

    th_free(h);
    h = saved;
}


int
main(void)
{
    h = th_new(0, KVMQ_EVICT_NOEVICTION);
    th_set_time(h, T0);

    test_setbit_getbit();
    test_bitcount();
    test_bitpos();
    test_bitop();
    test_random_count_pos();
    test_random_bitop();
    test_nomem();

    th_free(h);

    return tap_done();
}
