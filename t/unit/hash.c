/*
 * Unit tests of the hash commands (src/t_hash.c): HSET HSETNX HMSET HGET
 * HMGET HGETALL HLEN HKEYS HVALS HEXISTS HDEL HINCRBY HINCRBYFLOAT
 * HSTRLEN HSCAN HRANDFIELD, in both encodings and across the conversion;
 * WRONGTYPE against other types; TTLs kept by writes; empty hashes
 * deleted; NOMEM at every allocation of a write leaving the hash (and
 * the host's byte count) exactly as it was; eviction sparing the key;
 * and freeing a big hash in bounded steps.
 */

#include <stdio.h>
#include <stdlib.h>

#include "aggr_util.h"


#define T0  1700000000000LL

static th_t  *h;


static void
settle(const char *key)
{
    au_settle(h, key);
}


static void
nomem_sweep(const char *line, const char *expect, const char *check,
    int must_fail)
{
    au_nomem_sweep(h, line, expect, check, "k", must_fail);
}


static void
is(const char *line, const char *expect)
{
    th_is(h, line, expect, NULL);
}


static void
err(const char *line, const char *code, const char *msg)
{
    char  expect[64];

    snprintf(expect, sizeof(expect), "!%s", code);
    th_is(h, line, expect, NULL);
    tap_is_str(h->errmsg, msg, "  ... message");
}


static kvmq_entry_t *
entry(const char *key)
{
    return au_entry(h, key);
}


/* the encoding of a hash key, or 0 */
static int
enc(const char *key)
{
    return au_enc(h, key, KVMQ_TYPE_HASH);
}


static const char *
hset_many(const char *key, const char *prefix, int from, int n)
{
    return au_run_many(h, "HSET", key, prefix, from, n, 1);
}


static void
run(const char *fmt, ...)
{
    char     line[8192];
    va_list  args;

    va_start(args, fmt);
    vsnprintf(line, sizeof(line), fmt, args);
    va_end(args);

    th_run(h, line);
}


/* HSET key with fields PREFIX0..PREFIXn-1 = value i */
static void
fill(const char *key, const char *prefix, int from, int n)
{
    int  i;

    for (i = from; i < from + n; i++) {
        run("HSET %s %s%d %d", key, prefix, i, i);
    }
}


/* ---- basics ------------------------------------------------------------ */


static void
test_hset_basic(void)
{
    is("HSET h a 1", ":1");
    is("HSET h a 2 b 3", ":1");
    is("HSET h a 2 b 3", ":0");
    is("HGET h a", "\"2\"");
    is("HGET h b", "\"3\"");
    is("HGET h c", "nil");
    is("HGET nosuch a", "nil");
    is("HLEN h", ":2");
    is("HLEN nosuch", ":0");
    is("TYPE h", "+hash");
    tap_ok(enc("h") == KVMQ_ENC_PACK, "a small hash is packed");

    /* insertion order, as Redis' listpack hashes keep it; an update
     * keeps the field's place */
    is("HSET h c 4 a 5", ":1");
    is("HGETALL h", "{\"a\":\"5\",\"b\":\"3\",\"c\":\"4\"}");
    is("HKEYS h", "[\"a\",\"b\",\"c\"]");
    is("HVALS h", "[\"5\",\"3\",\"4\"]");

    /* a field repeated in one command: first place, last value */
    is("HSET d x 1 y 2 x 3", ":2");
    is("HGETALL d", "{\"x\":\"3\",\"y\":\"2\"}");
    is("HSET d y 7 y 8 z 9 z 10", ":1");
    is("HGETALL d", "{\"x\":\"3\",\"y\":\"8\",\"z\":\"10\"}");

    is("HMSET h a 9 e 1", "+OK");
    is("HGET h a", "\"9\"");
    is("HLEN h", ":4");

    err("HSET h a", "BADREQ", "wrong number of arguments for 'hset' command");
    err("HSET h a 1 b", "BADREQ",
        "wrong number of arguments for 'hset' command");
    err("HMSET h a 1 b", "BADREQ",
        "wrong number of arguments for 'hmset' command");
    is("HSET h", "!BADREQ");
    is("HGET h", "!BADREQ");
    is("HGET h a b", "!BADREQ");
    is("HLEN", "!BADREQ");
    is("HGETALL h x", "!BADREQ");
    is("HLEN h", ":4");

    is("DEL h d", ":2");
}


static void
test_values(void)
{
    /* every byte string comes back exactly: empty, binary, numbers in
     * and out of the integer encoding */
    is("HSET v \"\" \"\"", ":1");
    is("HGET v \"\"", "\"\"");
    is("HSTRLEN v \"\"", ":0");
    is("HSET v bin \"a\\x00b\\xff\"", ":1");
    is("HGET v bin", "\"a\\x00b\\xff\"");
    is("HSTRLEN v bin", ":4");

    is("HSET v i1 0 i2 -1 i3 63 i4 64 i5 -129 i6 32768", ":6");
    is("HSET v i7 9223372036854775807 i8 -9223372036854775808", ":2");
    is("HSET v s1 007 s2 -0 s3 +1 s4 \" 1\" s5 9223372036854775808", ":5");
    is("HSET v s6 1.0 s7 0x10 s8 1e3", ":3");
    is("HMGET v i1 i2 i3 i4 i5 i6 i7 i8",
       "[\"0\",\"-1\",\"63\",\"64\",\"-129\",\"32768\","
       "\"9223372036854775807\",\"-9223372036854775808\"]");
    is("HMGET v s1 s2 s3 s4 s5 s6 s7 s8",
       "[\"007\",\"-0\",\"+1\",\" 1\",\"9223372036854775808\",\"1.0\","
       "\"0x10\",\"1e3\"]");
    is("HSTRLEN v i7", ":19");
    is("HSTRLEN v i8", ":20");
    is("HSTRLEN v s1", ":3");

    /* integer-looking fields are fields like any other */
    is("HSET v 1 one -1 minus 007 z", ":3");
    is("HGET v 1", "\"one\"");
    is("HGET v 01", "nil");
    is("HGET v 007", "\"z\"");
    is("HGET v 7", "nil");
    is("HEXISTS v -1", ":1");
    is("HEXISTS v +1", ":0");

    is("DEL v", ":1");
}


static void
test_hsetnx(void)
{
    is("HSETNX h a 1", ":1");
    is("HSETNX h a 2", ":0");
    is("HGET h a", "\"1\"");
    is("HSETNX h b 2", ":1");
    is("HGETALL h", "{\"a\":\"1\",\"b\":\"2\"}");
    is("HSETNX h a", "!BADREQ");
    is("DEL h", ":1");
}


static void
test_reads(void)
{
    is("HSET h a 1 b 22 c 333", ":3");

    is("HMGET h a x c", "[\"1\",nil,\"333\"]");
    is("HMGET nosuch a b", "[nil,nil]");
    is("HMGET h", "!BADREQ");

    is("HEXISTS h a", ":1");
    is("HEXISTS h x", ":0");
    is("HEXISTS nosuch a", ":0");

    is("HSTRLEN h b", ":2");
    is("HSTRLEN h c", ":3");
    is("HSTRLEN h x", ":0");
    is("HSTRLEN nosuch x", ":0");

    is("HGETALL nosuch", "{}");
    is("HKEYS nosuch", "[]");
    is("HVALS nosuch", "[]");

    is("DEL h", ":1");
}


static void
test_hdel(void)
{
    int  i;

    is("HSET h a 1 b 2 c 3 d 4", ":4");
    is("HDEL h a", ":1");
    is("HDEL h a", ":0");
    is("HDEL h x y", ":0");
    is("HDEL h b b x c", ":2");
    is("HGETALL h", "{\"d\":\"4\"}");
    is("HDEL nosuch a", ":0");

    /* the last field takes the key with it */
    is("HDEL h d", ":1");
    is("EXISTS h", ":0");
    is("HLEN h", ":0");

    is("HSET h a 1 b 2", ":2");
    is("HDEL h a b c", ":2");
    is("EXISTS h", ":0");
    is("HDEL h", "!BADREQ");

    /* the same on a table */
    fill("t", "f", 0, 200);
    tap_ok(enc("t") == KVMQ_ENC_TABLE, "200 fields: a table");
    is("HDEL t f0 f1 nope", ":2");
    is("HLEN t", ":198");
    is("HGET t f2", "\"2\"");

    for (i = 2; i < 199; i++) {
        run("HDEL t f%d", i);
    }

    is("HLEN t", ":1");
    is("HGETALL t", "{\"f199\":\"199\"}");
    tap_ok(enc("t") == KVMQ_ENC_TABLE, "  ... stays a table (as Redis)");
    is("HDEL t f199", ":1");
    is("EXISTS t", ":0");
}


static void
test_ttl(void)
{
    th_set_time(h, T0);

    is("HSET h a 1 b 2", ":2");
    is("PEXPIRE h 5000", ":1");
    is("HSET h c 3", ":1");
    is("HDEL h a", ":1");
    is("HINCRBY h n 1", ":1");
    is("HINCRBYFLOAT h x 1.5", "\"1.5\"");
    is("HSETNX h y 1", ":1");
    fill("h", "g", 0, 200);
    tap_ok(enc("h") == KVMQ_ENC_TABLE, "converted");
    is("PTTL h", ":5000");

    th_set_time(h, T0 + 5001);
    is("HGET h b", "nil");
    is("EXISTS h", ":0");
    th_set_time(h, T0);
}


/* ---- numbers ----------------------------------------------------------- */


static void
test_hincrby(void)
{
    is("HINCRBY h n 5", ":5");
    is("HINCRBY h n -7", ":-2");
    is("HINCRBY h n 0", ":-2");
    is("HGET h n", "\"-2\"");
    is("HINCRBY h m 9223372036854775807", ":9223372036854775807");
    err("HINCRBY h m 1", "BADREQ", "increment or decrement would overflow");
    is("HSET h m -9223372036854775807", ":0");
    is("HINCRBY h m -1", ":-9223372036854775808");
    err("HINCRBY h m -1", "BADREQ", "increment or decrement would overflow");
    is("HGET h m", "\"-9223372036854775808\"");

    is("HSET h s abc sp \" 1\" f 1.5 z 007 e \"\"", ":5");
    err("HINCRBY h s 1", "BADREQ", "hash value is not an integer");
    err("HINCRBY h sp 1", "BADREQ", "hash value is not an integer");
    err("HINCRBY h f 1", "BADREQ", "hash value is not an integer");
    err("HINCRBY h z 1", "BADREQ", "hash value is not an integer");
    err("HINCRBY h e 1", "BADREQ", "hash value is not an integer");
    err("HINCRBY h n abc", "BADREQ",
        "value is not an integer or out of range");
    err("HINCRBY h n 1.5", "BADREQ",
        "value is not an integer or out of range");
    err("HINCRBY h n 9223372036854775808", "BADREQ",
        "value is not an integer or out of range");
    is("HGET h n", "\"-2\"");

    /* grows from 1 to 2 digits in a table too */
    fill("h", "g", 0, 130);
    tap_ok(enc("h") == KVMQ_ENC_TABLE, "a table");
    is("HSET h c 9", ":1");
    is("HINCRBY h c 1", ":10");
    is("HINCRBY h c 1", ":11");
    is("HINCRBY h c -100", ":-89");
    is("HGET h c", "\"-89\"");
    is("HINCRBY h new 3", ":3");

    is("HINCRBY nokey f 1", ":1");
    is("HGETALL nokey", "{\"f\":\"1\"}");
    is("HINCRBY h n", "!BADREQ");

    is("DEL h nokey", ":2");
}


static void
test_hincrbyfloat(void)
{
    is("HINCRBYFLOAT h x 10.5", "\"10.5\"");
    is("HINCRBYFLOAT h x 0.1", "\"10.6\"");
    is("HINCRBYFLOAT h x -5", "\"5.6\"");
    is("HINCRBYFLOAT h y 1.5", "\"1.5\"");
    is("HINCRBYFLOAT h y 1.5", "\"3\"");
    is("HGET h y", "\"3\"");
    is("HINCRBYFLOAT h z 5.0e3", "\"5000\"");
    is("HINCRBYFLOAT h z 1e3", "\"6000\"");
    is("HINCRBYFLOAT h w 0.1", "\"0.1\"");
    is("HINCRBYFLOAT h w 0.2", "\"0.3\"");
    is("HINCRBYFLOAT h e 1.5e-10", "\"0.00000000015\"");
    is("HINCRBYFLOAT h f 1.10000000000000000001", "\"1.1\"");
    is("HSET h neg -0", ":1");
    is("HINCRBYFLOAT h neg 0", "\"0\"");
    is("HINCRBYFLOAT h neg2 -0", "\"0\"");
    is("HSET h i 17", ":1");
    is("HINCRBYFLOAT h i 0.5", "\"17.5\"");
    is("HSET h sci 1e3", ":1");
    is("HINCRBYFLOAT h sci 1", "\"1001\"");
    is("HINCRBYFLOAT h big 123456789012345678901234567890",
       "\"123456789012345678899921813504\"");

    err("HINCRBYFLOAT h x abc", "BADREQ", "value is not a valid float");
    err("HINCRBYFLOAT h x nan", "BADREQ", "value is not a valid float");
    err("HINCRBYFLOAT h x \"\"", "BADREQ", "value is not a valid float");
    err("HINCRBYFLOAT h x inf", "BADREQ", "value is NaN or Infinity");
    err("HINCRBYFLOAT h x -inf", "BADREQ", "value is NaN or Infinity");
    is("HSET h s abc sp \" 1\"", ":2");
    err("HINCRBYFLOAT h s 1", "BADREQ", "hash value is not a float");
    err("HINCRBYFLOAT h sp 1", "BADREQ", "hash value is not a float");
    is("HSET h huge 1e4932", ":1");
    err("HINCRBYFLOAT h huge 1e4932", "BADREQ",
        "increment would produce NaN or Infinity");
    is("HGET h huge", "\"1e4932\"");
    is("HGET h x", "\"5.6\"");

    is("DEL h", ":1");
}


/* ---- encodings --------------------------------------------------------- */


static void
test_encodings(void)
{
    int          i;
    char         v64[65], v65[66], line[256];
    const char  *out;

    memset(v64, 'x', 64);
    v64[64] = '\0';
    memset(v65, 'y', 65);
    v65[65] = '\0';

    /* 128 fields: packed; the 129th converts, all data kept */
    fill("h", "f", 0, 128);
    is("HLEN h", ":128");
    tap_ok(enc("h") == KVMQ_ENC_PACK, "128 fields: packed");
    fill("h", "f", 128, 1);
    tap_ok(enc("h") == KVMQ_ENC_TABLE, "129 fields: a table");
    is("HLEN h", ":129");

    out = th_run(h, "HGETALL h");
    tap_is_int(au_count(out, "\"f"), 129, "HGETALL after conversion: 129");
    is("HGET h f0", "\"0\"");
    is("HGET h f128", "\"128\"");
    is("HGET h f77", "\"77\"");
    is("DEL h", ":1");

    /* one HSET of 128 fields makes a packed hash, of 129 a table */
    tap_is_str(hset_many("h", "g", 0, 128), ":128", "HSET of 128 fields");
    tap_ok(enc("h") == KVMQ_ENC_PACK, "  ... packed");
    is("DEL h", ":1");
    tap_is_str(hset_many("h", "g", 0, 129), ":129", "HSET of 129 fields");
    tap_ok(enc("h") == KVMQ_ENC_TABLE, "  ... a table");
    is("HGET h g128", "\"128\"");
    is("HGET h g0", "\"0\"");
    is("DEL h", ":1");

    /* 64-byte fields and values stay packed; 65 converts */
    snprintf(line, sizeof(line), "HSET h %s %s", v64, v64);
    is(line, ":1");
    tap_ok(enc("h") == KVMQ_ENC_PACK, "64-byte field and value: packed");
    snprintf(line, sizeof(line), "HSET h a %s", v65);
    is(line, ":1");
    tap_ok(enc("h") == KVMQ_ENC_TABLE, "a 65-byte value: a table");
    snprintf(line, sizeof(line), "HGET h %s", v64);
    out = th_run(h, line);
    tap_is_int((long long) strlen(out), 66, "  ... the 64-byte value kept");
    is("DEL h", ":1");

    is("HSET h a 1", ":1");
    snprintf(line, sizeof(line), "HSET h %s 1", v65);
    is(line, ":1");
    tap_ok(enc("h") == KVMQ_ENC_TABLE, "a 65-byte field: a table");
    is("HGET h a", "\"1\"");
    is("DEL h", ":1");

    snprintf(line, sizeof(line), "HSET h %s 1", v65);
    is(line, ":1");
    tap_ok(enc("h") == KVMQ_ENC_TABLE, "created with a long field: a table");
    is("DEL h", ":1");

    /* a value that grows past 64 bytes by HINCRBYFLOAT converts too */
    is("HSET h a 1", ":1");
    /* long double arithmetic printed with 17 decimals, as Redis does */
    is("HINCRBYFLOAT h a 1e70", "\"100000000000000000002224794895861482590"
       "25995410601157579323600873193472\"");
    tap_ok(enc("h") == KVMQ_ENC_TABLE, "a long HINCRBYFLOAT result: table");
    is("DEL h", ":1");

    /* the same commands answer the same in both encodings */
    for (i = 0; i < 2; i++) {
        is("DEL h", i ? ":1" : ":0");

        if (i == 1) {
            fill("h", "pad", 0, 200);
        }

        is("HSET h a 1 b 2", ":2");
        is("HSET h a 3", ":0");
        is("HGET h a", "\"3\"");
        is("HMGET h a b c", "[\"3\",\"2\",nil]");
        is("HEXISTS h b", ":1");
        is("HSTRLEN h b", ":1");
        is("HSETNX h b 9", ":0");
        is("HINCRBY h b 40", ":42");
        is("HINCRBYFLOAT h b 0.5", "\"42.5\"");
        is("HDEL h a c", ":1");
        is("HLEN h", i ? ":201" : ":1");
        tap_ok(enc("h") == (i ? KVMQ_ENC_TABLE : KVMQ_ENC_PACK),
               "  ... in encoding %d", i);
    }

    is("DEL h", ":1");
}


/* ---- HSCAN ------------------------------------------------------------- */


static void
test_hscan_small(void)
{
    is("HSET h a 1 b 2 c 3 x1 y", ":4");
    is("HSCAN h 0", "[\"0\",[\"a\",\"1\",\"b\",\"2\",\"c\",\"3\",\"x1\","
       "\"y\"]]");
    /* a small hash answers everything whatever the cursor */
    is("HSCAN h 17", "[\"0\",[\"a\",\"1\",\"b\",\"2\",\"c\",\"3\",\"x1\","
       "\"y\"]]");
    is("HSCAN h -1 COUNT 1", "[\"0\",[\"a\",\"1\",\"b\",\"2\",\"c\",\"3\","
       "\"x1\",\"y\"]]");
    is("HSCAN h 0 MATCH x*", "[\"0\",[\"x1\",\"y\"]]");
    is("HSCAN h 0 MATCH * COUNT 5", "[\"0\",[\"a\",\"1\",\"b\",\"2\",\"c\","
       "\"3\",\"x1\",\"y\"]]");
    is("HSCAN h 0 match [ab] count 100 match nothing", "[\"0\",[]]");
    is("HSCAN h \"\"", "[\"0\",[\"a\",\"1\",\"b\",\"2\",\"c\",\"3\",\"x1\","
       "\"y\"]]");

    err("HSCAN h x", "BADREQ", "invalid cursor");
    err("HSCAN h 18446744073709551616", "BADREQ", "invalid cursor");
    err("HSCAN h \" 1\"", "BADREQ", "invalid cursor");
    err("HSCAN h -", "BADREQ", "invalid cursor");
    is("HSCAN h 18446744073709551615", "[\"0\",[\"a\",\"1\",\"b\",\"2\","
       "\"c\",\"3\",\"x1\",\"y\"]]");
    err("HSCAN h 0 COUNT 0", "BADREQ", "syntax error");
    err("HSCAN h 0 COUNT -1", "BADREQ", "syntax error");
    err("HSCAN h 0 COUNT x", "BADREQ",
        "value is not an integer or out of range");
    err("HSCAN h 0 COUNT", "BADREQ", "syntax error");
    err("HSCAN h 0 MATCH", "BADREQ", "syntax error");
    err("HSCAN h 0 NOVALUES", "BADREQ", "syntax error");
    err("HSCAN h 0 TYPE hash", "BADREQ", "syntax error");

    /* a missing key: an empty scan, options unchecked (as Redis) */
    is("HSCAN nosuch 0", "[\"0\",[]]");
    is("HSCAN nosuch 0 COUNT 0", "[\"0\",[]]");
    err("HSCAN nosuch x", "BADREQ", "invalid cursor");
    is("HSCAN h", "!BADREQ");

    is("DEL h", ":1");
}


/* walk a whole HSCAN; count[i] = times field fi was returned */
static int
hscan_all(const char *key, int nfields, int *count, int grow_from,
    const char *opts)
{
    int          calls, i;
    char         line[256], cursor[32];
    const char  *out, *p, *q;

    snprintf(cursor, sizeof(cursor), "0");
    memset(count, 0, sizeof(int) * nfields);
    calls = 0;

    do {
        snprintf(line, sizeof(line), "HSCAN %s %s %s", key, cursor, opts);
        out = th_run(h, line);

        if (strncmp(out, "[\"", 2) != 0) {
            tap_diag("HSCAN said %s", out);
            return -1;
        }

        p = out + 2;
        q = strchr(p, '"');
        snprintf(cursor, sizeof(cursor), "%.*s", (int) (q - p), p);

        for (p = q; (p = strstr(p, "\"f")) != NULL; p += 2) {
            i = atoi(p + 2);

            if (i >= 0 && i < nfields) {
                count[i]++;
            }
        }

        /* the table grows (and rehashes) between calls */
        if (grow_from >= 0 && calls < 30) {
            fill(key, "n", grow_from + calls * 40, 40);
        }

        calls++;

    } while (strcmp(cursor, "0") != 0 && calls < 100000);

    return calls;
}


static void
test_hscan_table(void)
{
    int   i, calls, missing, extra, *count;

    count = calloc(1000, sizeof(int));

    fill("h", "f", 0, 1000);
    tap_ok(enc("h") == KVMQ_ENC_TABLE, "1000 fields: a table");

    calls = hscan_all("h", 1000, count, -1, "");
    missing = 0;
    extra = 0;

    for (i = 0; i < 1000; i++) {
        missing += (count[i] == 0);
        extra += (count[i] > 1);
    }

    tap_ok(calls > 10, "HSCAN of 1000 fields took %d calls", calls);
    tap_is_int(missing, 0, "  ... every field returned");
    tap_is_int(extra, 0, "  ... once each, with no rehash in between");

    calls = hscan_all("h", 1000, count, -1, "COUNT 100");
    missing = 0;

    for (i = 0; i < 1000; i++) {
        missing += (count[i] == 0);
    }

    tap_ok(calls < 40, "COUNT 100: %d calls", calls);
    tap_is_int(missing, 0, "  ... every field returned");

    /* the SCAN guarantee across a growing, rehashing table */
    calls = hscan_all("h", 1000, count, 10000, "COUNT 5");
    missing = 0;

    for (i = 0; i < 1000; i++) {
        missing += (count[i] == 0);
    }

    tap_is_int(missing, 0, "growing during the scan: every field still "
               "returned");
    is("HLEN h", ":2200");

    /* and a shrinking one */
    for (i = 0; i < 1200; i++) {
        run("HDEL h n%d", 10000 + i);
    }

    for (i = 500; i < 1000; i++) {
        run("HDEL h f%d", i);
    }

    is("HLEN h", ":500");
    calls = hscan_all("h", 500, count, -1, "COUNT 3");
    missing = 0;

    for (i = 0; i < 500; i++) {
        missing += (count[i] == 0);
    }

    tap_is_int(missing, 0, "after shrinking: every field returned");

    /* MATCH filters what the buckets held */
    calls = hscan_all("h", 500, count, -1, "MATCH f1?? COUNT 50");
    missing = 0;
    extra = 0;

    for (i = 0; i < 500; i++) {
        missing += (i >= 100 && i < 200 && count[i] == 0);
        extra += ((i < 100 || i >= 200) && count[i] > 0);
    }

    tap_is_int(missing, 0, "MATCH f1??: every match returned");
    tap_is_int(extra, 0, "  ... and nothing else");

    is("DEL h", ":1");
    free(count);
}


/* ---- HRANDFIELD -------------------------------------------------------- */


static void
test_hrandfield(void)
{
    int          i, ok;
    const char  *out;

    is("HRANDFIELD nosuch", "nil");
    is("HRANDFIELD nosuch 5", "[]");
    is("HRANDFIELD nosuch -5 WITHVALUES", "[]");

    is("HSET h a 1", ":1");
    is("HRANDFIELD h", "\"a\"");
    is("HRANDFIELD h 0", "[]");
    is("HRANDFIELD h 1", "[\"a\"]");
    is("HRANDFIELD h -3", "[\"a\",\"a\",\"a\"]");
    is("HRANDFIELD h -2 WITHVALUES", "[[\"a\",\"1\"],[\"a\",\"1\"]]");
    is("HRANDFIELD h 5 withvalues", "[[\"a\",\"1\"]]");

    is("HSET h b 2 c 3", ":2");

    /* a count past the size: all of it, in the hash's order */
    is("HRANDFIELD h 3", "[\"a\",\"b\",\"c\"]");
    is("HRANDFIELD h 100 WITHVALUES",
       "[[\"a\",\"1\"],[\"b\",\"2\"],[\"c\",\"3\"]]");

    /* fewer: distinct fields */
    for (i = 0, ok = 1; i < 50; i++) {
        out = th_run(h, "HRANDFIELD h 2");
        ok &= (strlen(out) == 9 && out[2] != out[6]);
    }

    tap_ok(ok, "HRANDFIELD 2 of 3: two distinct fields, 50 times");

    for (i = 0, ok = 1; i < 50; i++) {
        out = th_run(h, "HRANDFIELD h 2 WITHVALUES");
        ok &= (au_count(out, "[\"a\",\"1\"]") + au_count(out, "[\"b\",\"2\"]")
               + au_count(out, "[\"c\",\"3\"]")) == 2;
    }

    tap_ok(ok, "HRANDFIELD 2 WITHVALUES: two pairs that belong together");

    /* negative: that many, repetitions allowed, each a real field */
    out = th_run(h, "HRANDFIELD h -100");
    tap_is_int(au_count(out, "\"a\"") + au_count(out, "\"b\"")
               + au_count(out, "\"c\""), 100, "HRANDFIELD -100: 100 fields");
    tap_ok(au_count(out, "\"a\"") > 0 && au_count(out, "\"b\"") > 0
           && au_count(out, "\"c\"") > 0, "  ... each of the 3 seen");

    out = th_run(h, "HRANDFIELD h -30 WITHVALUES");
    tap_is_int(au_count(out, "[\"a\",\"1\"]") + au_count(out, "[\"b\",\"2\"]")
               + au_count(out, "[\"c\",\"3\"]"), 30,
               "HRANDFIELD -30 WITHVALUES: 30 pairs");

    /* one field: each of them comes up */
    for (i = 0, ok = 0; i < 200; i++) {
        out = th_run(h, "HRANDFIELD h");
        ok |= (out[1] == 'a') << 0 | (out[1] == 'b') << 1
              | (out[1] == 'c') << 2;
    }

    tap_is_int(ok, 7, "HRANDFIELD: every field comes up");

    /* arguments, checked as Redis orders them */
    err("HRANDFIELD h x", "BADREQ", "value is not an integer or out of range");
    err("HRANDFIELD h 1 foo", "BADREQ", "syntax error");
    err("HRANDFIELD h 1 WITHVALUES x", "BADREQ", "syntax error");
    err("HRANDFIELD h x foo", "BADREQ",
        "value is not an integer or out of range");
    err("HRANDFIELD h -9223372036854775808", "BADREQ",
        "value is out of range, value must between -9223372036854775807 "
        "and 9223372036854775807");
    err("HRANDFIELD h -9223372036854775807 WITHVALUES", "BADREQ",
        "value is out of range");
    err("HRANDFIELD h 4611686018427387904 WITHVALUES", "BADREQ",
        "value is out of range");
    err("HRANDFIELD nosuch -4611686018427387904 WITHVALUES", "BADREQ",
        "value is out of range");
    err("HRANDFIELD h -16777217", "BADREQ", "value is out of range");
    err("HRANDFIELD h -16777217 foo", "BADREQ", "syntax error");
    is("HRANDFIELD h 9223372036854775807", "[\"a\",\"b\",\"c\"]");

    /* a table: both ways of choosing distinct fields */
    fill("h", "f", 0, 300);
    tap_ok(enc("h") == KVMQ_ENC_TABLE, "a table");

    out = th_run(h, "HRANDFIELD h 50");
    tap_is_int(au_count(out, "\""), 100, "table, 50 of 303: 50 fields");

    {
        /* distinct: each field at most once */
        char  f[32];
        int   dup = 0;

        for (i = 0; i < 300; i++) {
            snprintf(f, sizeof(f), "\"f%d\"", i);
            dup += au_count(out, f) > 1;
        }

        tap_is_int(dup, 0, "  ... distinct");

        out = th_run(h, "HRANDFIELD h 250 WITHVALUES");
        tap_is_int(au_count(out, "],["), 249, "table, 250 of 303: 250 pairs");

        for (i = 0, dup = 0; i < 300; i++) {
            snprintf(f, sizeof(f), "[\"f%d\",\"%d\"]", i, i);
            dup += au_count(out, f) > 1;
        }

        tap_is_int(dup, 0, "  ... distinct, each with its value");
    }

    out = th_run(h, "HRANDFIELD h -1000");
    tap_is_int(au_count(out, "\"") / 2, 1000, "table, -1000: 1000 fields");
    out = th_run(h, "HRANDFIELD h 303");
    tap_is_int(au_count(out, "\"") / 2, 303, "table, 303 of 303: all");
    out = th_run(h, "HRANDFIELD h");
    tap_ok(out[0] == '"', "table, one field: %s", out);

    is("DEL h", ":1");
}


/* ---- types ------------------------------------------------------------- */


static void
test_wrongtype(void)
{
    unsigned     i, j;
    char         line[128];
    const char  *out;

    static const char  *makers[] = {
        "SET o str", "RPUSH o x", "SADD o x", "ZADD o 1 x",
    };

    static const char  *cmds[] = {
        "HSET o f v", "HSETNX o f v", "HMSET o f v", "HGET o f",
        "HMGET o f g", "HGETALL o", "HLEN o", "HKEYS o", "HVALS o",
        "HEXISTS o f", "HDEL o f", "HINCRBY o f 1", "HINCRBYFLOAT o f 1",
        "HSTRLEN o f", "HSCAN o 0", "HRANDFIELD o", "HRANDFIELD o 2",
        "HRANDFIELD o -2 WITHVALUES",
    };

    for (i = 0; i < sizeof(makers) / sizeof(makers[0]); i++) {
        th_run(h, "DEL o");
        out = th_run(h, makers[i]);

        if (out[0] == '!') {
            continue;      /* that type's commands are not there */
        }

        for (j = 0; j < sizeof(cmds) / sizeof(cmds[0]); j++) {
            snprintf(line, sizeof(line), "%s (after %s)", cmds[j], makers[i]);
            th_is(h, cmds[j], "!WRONGTYPE", line);
        }

        tap_is_int(kvmq_err_http_status(KVMQ_ERR_WRONGTYPE), 409,
                   "WRONGTYPE is 409");
        out = th_run(h, "TYPE o");
        tap_ok(strcmp(out, "+hash") != 0, "%s: still not a hash", makers[i]);
    }

    th_run(h, "SET o str");
    tap_is_str(th_run(h, "HSET o f v"), "!WRONGTYPE", "WRONGTYPE reply");
    tap_is_str(h->errmsg, "Operation against a key holding the wrong kind "
               "of value", "  ... message");

    /* argument errors that Redis checks before the type */
    err("HINCRBY o f x", "BADREQ", "value is not an integer or out of range");
    err("HINCRBYFLOAT o f x", "BADREQ", "value is not a valid float");
    err("HINCRBYFLOAT o f inf", "BADREQ", "value is NaN or Infinity");
    err("HSCAN o x", "BADREQ", "invalid cursor");
    err("HRANDFIELD o x", "BADREQ", "value is not an integer or out of range");
    err("HSET o f", "BADREQ", "wrong number of arguments for 'hset' command");
    is("GET o", "\"str\"");

    /* a hash against the other types' commands */
    is("DEL o", ":1");
    is("HSET o f v", ":1");
    is("GET o", "!WRONGTYPE");
    is("APPEND o x", "!WRONGTYPE");
    is("SET o x", "+OK");
    is("TYPE o", "+string");
    is("DEL o", ":1");
}


/* ---- NOMEM ------------------------------------------------------------- */


static void
test_nomem(void)
{
    int   i;
    char  line[8192], big[8192];

    /* a new key */
    nomem_sweep("HSET k a 1 b 2", ":2", "HGETALL k", 1);
    nomem_sweep("HSETNX k2 a 1", ":1", "HGETALL k2", 1);
    nomem_sweep("HINCRBY k3 a 1", ":1", "HGETALL k3", 1);
    nomem_sweep("HINCRBYFLOAT k4 a 1.5", "\"1.5\"", "HGETALL k4", 1);
    run("DEL k2 k3 k4");

    /* a packed hash that needs a bigger block */
    run("HSET k a 1 b 2");

    for (i = 0; i < 8; i++) {
        run("HSET k f%d 0123456789", i);
    }

    while (enc("k") == KVMQ_ENC_PACK) {
        snprintf(line, sizeof(line), "HSET k x%d 0123456789abcdef", i++);
        h->limit = h->used;
        th_run(h, line);
        h->limit = 0;

        if (h->reply.err == KVMQ_ERR_NOMEM) {
            break;
        }
    }

    tap_ok(enc("k") == KVMQ_ENC_PACK, "a full packed block");
    nomem_sweep("HSET k grow 0123456789abcdef0123456789", ":1", "HGETALL k",
                1);
    nomem_sweep("HSET k a 1234567890123456789 b 3 new 1", ":1",
                "HGETALL k", 0);
    nomem_sweep("HINCRBYFLOAT k b 0.000001", "\"3.000001\"", "HGETALL k",
                0);

    /* conversion: all or nothing */
    run("DEL k");
    fill("k", "f", 0, 128);
    nomem_sweep("HSET k f128 x", ":1", "HGETALL k", 1);
    tap_ok(enc("k") == KVMQ_ENC_TABLE, "  ... converted");

    run("DEL k");
    fill("k", "f", 0, 10);
    memset(big, 'v', 100);
    big[100] = '\0';
    snprintf(line, sizeof(line), "HSET k f3 %.100s", big);
    nomem_sweep(line, ":0", "HGETALL k", 1);
    tap_ok(enc("k") == KVMQ_ENC_TABLE, "  ... converted");

    /* a table: new nodes, replaced nodes, in-place values */
    run("DEL k");
    fill("k", "f", 0, 300);
    nomem_sweep("HSET k f1 11 f2 2222222222 new1 1 new2 2 f3 x", ":2",
                "HGETALL k", 1);
    is("HMGET k f1 f2 f3 new2", "[\"11\",\"2222222222\",\"x\",\"2\"]");
    nomem_sweep("HINCRBY k f9 1", ":10", "HGETALL k", 0);
    nomem_sweep("HINCRBY k f63 1", ":64", "HGETALL k", 1);
    nomem_sweep("HMSET k f300 a f301 b f0 c", "+OK", "HGETALL k", 1);

    /* a big HSET that makes the table grow */
    {
        int          fails, bad;
        char         len[32];
        size_t       used, extra;
        const char  *out;

        /* 302 + 200 fields stay within the table's 512 buckets: when
         * a write must also grow a paged table, a failure may leave
         * the resize it started (see aggr.c); the data stays */
        kvmq_lazyfree_drain(&h->ctx);
        settle("k");
        used = h->used;
        fails = 0;
        bad = 0;
        snprintf(len, sizeof(len), "%s", th_run(h, "HLEN k"));

        for (extra = 0; extra < 1 << 20; extra += 16) {
            h->limit = used + extra;
            out = hset_many("k", "z", 0, 200);

            if (h->reply.err != KVMQ_ERR_NOMEM) {
                break;
            }

            fails++;
            h->limit = 0;
            bad += (h->used != used
                    || strcmp(th_run(h, "HLEN k"), len) != 0);
        }

        h->limit = 0;
        tap_ok(fails > 10 && bad == 0, "HSET of 200 new fields: NOMEM at %d "
               "points, nothing changed", fails);
        tap_is_str(out, ":200", "  ... then it succeeds");
        is("HGET k z199", "\"199\"");

        /* past 512: the data stays whatever happens to the buckets */
        snprintf(len, sizeof(len), "%s", th_run(h, "HLEN k"));

        for (extra = 0; extra < 1 << 20; extra += 64) {
            h->limit = h->used + extra;
            out = hset_many("k", "y", 0, 300);
            h->limit = 0;

            if (strcmp(out, "!NOMEM") != 0) {
                break;
            }

            bad += (strcmp(th_run(h, "HLEN k"), len) != 0);
        }

        tap_ok(bad == 0, "HSET that grows a paged table: the data stays on "
               "NOMEM");
        tap_is_str(out, ":300", "  ... then it succeeds");
    }

    /* deletes and reads never need memory */
    h->limit = h->used;
    is("HDEL k z1 z2 f0", ":3");
    is("HGET k z3", "\"3\"");
    is("HGETALL nosuch", "{}");
    tap_ok(th_run(h, "HRANDFIELD k -5")[0] == '[', "HRANDFIELD: no memory "
           "needed");
    tap_ok(th_run(h, "HSCAN k 0 COUNT 20")[0] == '[', "HSCAN: no memory "
           "needed");
    h->limit = 0;

    run("DEL k");
}


static void
test_evict(void)
{
    int          i;
    char         line[128];
    const char  *out;
    th_t        *saved;

    saved = h;
    h = th_new(256 * 1024, KVMQ_EVICT_ALLKEYS_LRU);
    th_set_time(h, T0);

    for (i = 0; i < 5000; i++) {
        snprintf(line, sizeof(line), "SET fill:%d "
                 "0123456789012345678901234567890123456789", i);
        if (strcmp(th_run(h, line), "+OK") != 0) {
            break;
        }
    }

    /* a hash that keeps growing in a full zone evicts other keys */
    for (i = 0; i < 3000; i++) {
        snprintf(line, sizeof(line), "HSET big f%d 0123456789abcdef", i);
        out = th_run(h, line);

        if (strcmp(out, ":1") != 0) {
            break;
        }
    }

    tap_ok(i > 500, "HSET in a full LRU zone: %d fields before NOMEM", i);
    tap_ok(h->db->evicted > 0, "  ... other keys evicted (%llu)",
           (unsigned long long) h->db->evicted);
    is("EXISTS big", ":1");

    th_free(h);
    h = saved;
}


/* ---- freeing a big hash in steps --------------------------------------- */


static void
test_free_some(void)
{
    int            done, calls;
    size_t         used, mid;
    unsigned       budget;
    kvmq_entry_t  *e;
    void          *val;

    kvmq_lazyfree_drain(&h->ctx);
    used = h->used;
    fill("big", "f", 0, 5000);
    tap_ok(h->used > used + 5000 * 30, "5000 fields take %zu bytes",
           h->used - used);

    e = entry("big");
    tap_ok(kvmq_hash_blocks(e->val) > 5000, "blocks: %llu",
           (unsigned long long) kvmq_hash_blocks(e->val));
    tap_ok(kvmq_hash_bytes(e->val) > 5000 * 30
           && kvmq_hash_bytes(e->val) < 5000 * 100,
           "bytes: about %zu", kvmq_hash_bytes(e->val));

    /* take the value out of the key, then free it 100 blocks a call */
    val = e->val;
    e->val = NULL;
    e->type = KVMQ_TYPE_STRING;
    run("DEL big");
    e = NULL;

    calls = 0;
    mid = 0;

    do {
        budget = 100;
        done = kvmq_hash_free_some(&h->ctx, val, &budget);
        calls++;

        if (calls == 10) {
            mid = h->used;
        }

    } while (!done && calls < 1000);

    tap_ok(done, "freed in %d calls of 100 blocks", calls);
    tap_ok(calls >= 45 && calls <= 70, "  ... about 50 calls");
    tap_ok(mid > used, "  ... memory went back step by step");
    tap_is_int((long long) h->used, (long long) used,
               "  ... all of it in the end");

    /* DEL of a big hash goes through the lazy free queue */
    fill("big", "f", 0, 5000);
    is("DEL big", ":1");
    tap_ok(kvmq_db_lazyfree_pending(h->db) > 0, "DEL: freed lazily (%llu "
           "blocks pending)",
           (unsigned long long) kvmq_db_lazyfree_pending(h->db));
    kvmq_lazyfree_drain(&h->ctx);
    tap_is_int((long long) h->used, (long long) used,
               "  ... all freed after the drain");
}


int
main(void)
{
    h = th_new(0, KVMQ_EVICT_NOEVICTION);
    th_set_time(h, T0);

    test_hset_basic();
    test_values();
    test_hsetnx();
    test_reads();
    test_hdel();
    test_ttl();
    test_hincrby();
    test_hincrbyfloat();
    test_encodings();
    test_hscan_small();
    test_hscan_table();
    test_hrandfield();
    test_wrongtype();
    test_nomem();
    test_evict();
    test_free_some();

    is("DBSIZE", ":0");

    th_free(h);

    return tap_done();
}
