/*
 * Unit tests of the set commands (src/t_set.c): SADD SREM SCARD
 * SISMEMBER SMISMEMBER SMEMBERS SRANDMEMBER SPOP SMOVE SDIFF SDIFFSTORE
 * SINTER SINTERSTORE SINTERCARD SUNION SUNIONSTORE SSCAN, in the three
 * encodings (intset, packed, table) and across every conversion;
 * WRONGTYPE against other types; empty sets deleted; *STORE over any
 * type; NOMEM at every allocation of a write leaving every key (and the
 * host's byte count) as it was; freeing a big set in bounded steps.
 */

#include "aggr_util.h"


#define T0  1700000000000LL

static th_t  *h;


static void
is(const char *line, const char *expect)
{
    th_is(h, line, expect, NULL);
}


/* the reply, its items in any order */
static void
iss(const char *line, const char *expect)
{
    au_is_sorted(h, line, expect);
}


static void
err(const char *line, const char *code, const char *msg)
{
    char  expect[64];

    snprintf(expect, sizeof(expect), "!%s", code);
    th_is(h, line, expect, NULL);
    tap_is_str(h->errmsg, msg, "  ... message");
}


static int
enc(const char *key)
{
    return au_enc(h, key, KVMQ_TYPE_SET);
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


static const char *
sadd_many(const char *key, const char *prefix, int from, int n)
{
    return au_run_many(h, "SADD", key, prefix, from, n, 0);
}


static void
nomem_sweep(const char *line, const char *expect, const char *check,
    const char *key, int must_fail)
{
    au_nomem_sweep(h, line, expect, check, key, must_fail);
}


/* ---- basics ------------------------------------------------------------ */


static void
test_sadd_basic(void)
{
    is("SADD s a", ":1");
    is("SADD s a b c", ":2");
    is("SADD s a b c", ":0");
    is("SADD s d d e d", ":2");
    is("SCARD s", ":5");
    is("SCARD nosuch", ":0");
    is("TYPE s", "+set");
    tap_ok(enc("s") == KVMQ_ENC_PACK, "strings: packed");

    /* a packed set keeps insertion order */
    is("SMEMBERS s", "[\"a\",\"b\",\"c\",\"d\",\"e\"]");
    is("SMEMBERS nosuch", "[]");

    is("SISMEMBER s a", ":1");
    is("SISMEMBER s z", ":0");
    is("SISMEMBER nosuch a", ":0");
    is("SMISMEMBER s a z e a", "[:1,:0,:1,:1]");
    is("SMISMEMBER nosuch a b", "[:0,:0]");

    /* an intset answers in numeric order, as Redis 7.0 does */
    is("SADD i 3 -1 20 1000 2", ":5");
    tap_ok(enc("i") == KVMQ_ENC_INTSET, "integers: an intset");
    is("SMEMBERS i", "[\"-1\",\"2\",\"3\",\"20\",\"1000\"]");
    is("SISMEMBER i 20", ":1");
    is("SISMEMBER i 020", ":0");
    is("SISMEMBER i 4", ":0");
    is("SISMEMBER i abc", ":0");
    is("SMISMEMBER i 3 x 1000", "[:1,:0,:1]");

    is("SADD s", "!BADREQ");
    is("SCARD", "!BADREQ");
    is("SCARD s s", "!BADREQ");
    is("SISMEMBER s", "!BADREQ");
    is("SMISMEMBER s", "!BADREQ");
    is("SMEMBERS", "!BADREQ");

    is("DEL s i", ":2");
}


static void
test_values(void)
{
    /* members come back exactly; only canonical integers are integers */
    is("SADD v 007 -0 +1 \" 1\" 1.0 0x10 9223372036854775808", ":7");
    is("SADD v 0 1 -1 9223372036854775807 -9223372036854775808", ":5");
    is("SADD v \"\" \"a\\x00b\" \"\\xff\"", ":3");
    is("SCARD v", ":15");
    is("SISMEMBER v 7", ":0");
    is("SISMEMBER v 007", ":1");
    is("SISMEMBER v 0", ":1");
    is("SISMEMBER v -0", ":1");
    is("SISMEMBER v 1", ":1");
    is("SISMEMBER v \"\"", ":1");
    is("SISMEMBER v \"a\\x00b\"", ":1");
    is("SISMEMBER v a", ":0");
    iss("SMEMBERS v", "[\"007\",\"-0\",\"+1\",\" 1\",\"1.0\",\"0x10\","
        "\"9223372036854775808\",\"0\",\"1\",\"-1\","
        "\"9223372036854775807\",\"-9223372036854775808\",\"\","
        "\"a\\x00b\",\"\\xff\"]");
    is("DEL v", ":1");

    /* int64 extremes in an intset */
    is("SADD i 9223372036854775807 -9223372036854775808 0", ":3");
    tap_ok(enc("i") == KVMQ_ENC_INTSET, "int64 extremes: an intset");
    is("SMEMBERS i", "[\"-9223372036854775808\",\"0\","
       "\"9223372036854775807\"]");
    is("SISMEMBER i 9223372036854775807", ":1");
    is("SISMEMBER i 9223372036854775808", ":0");
    is("DEL i", ":1");
}


static void
test_srem(void)
{
    int  i;

    is("SADD s a b c d", ":4");
    is("SREM s a", ":1");
    is("SREM s a", ":0");
    is("SREM s x y", ":0");
    is("SREM s b b x c", ":2");
    is("SMEMBERS s", "[\"d\"]");
    is("SREM nosuch a", ":0");
    is("SREM s d", ":1");
    is("EXISTS s", ":0");
    is("SREM s", "!BADREQ");

    is("SADD i 1 2 3", ":3");
    is("SREM i 2 x 02", ":1");
    is("SMEMBERS i", "[\"1\",\"3\"]");
    is("SREM i 1 3 4", ":2");
    is("EXISTS i", ":0");

    tap_is_str(sadd_many("t", "m", 0, 200), ":200", "SADD 200 members");
    tap_ok(enc("t") == KVMQ_ENC_TABLE, "  ... a table");
    is("SREM t m0 m1 nope", ":2");
    is("SCARD t", ":198");

    for (i = 2; i < 199; i++) {
        run("SREM t m%d", i);
    }

    is("SMEMBERS t", "[\"m199\"]");
    tap_ok(enc("t") == KVMQ_ENC_TABLE, "  ... stays a table (as Redis)");
    is("SREM t m199", ":1");
    is("EXISTS t", ":0");
}


static void
test_ttl(void)
{
    th_set_time(h, T0);

    is("SADD s 1 2", ":2");
    is("PEXPIRE s 5000", ":1");
    is("SADD s a", ":1");
    is("SREM s 1", ":1");
    sadd_many("s", "m", 0, 200);
    tap_ok(enc("s") == KVMQ_ENC_TABLE, "converted");
    is("SPOP s 3", th_run(h, "SPOP s 0")[0] == '[' ? th_run(h, "SPOP s 0")
                                                  : "?");
    is("PTTL s", ":5000");
    th_set_time(h, T0 + 5001);
    is("SCARD s", ":0");
    is("EXISTS s", ":0");
    th_set_time(h, T0);
}


/* ---- encodings --------------------------------------------------------- */


static void
test_encodings(void)
{
    int          i;
    char         m64[65], m65[66], line[256];
    const char  *out;

    memset(m64, 'x', 64);
    m64[64] = '\0';
    memset(m65, 'y', 65);
    m65[65] = '\0';

    /* intset: 512 integers, then a table */
    tap_is_str(sadd_many("i", "", 0, 512), ":512", "SADD 512 integers");
    tap_ok(enc("i") == KVMQ_ENC_INTSET, "512 integers: an intset");
    is("SADD i 512", ":1");
    tap_ok(enc("i") == KVMQ_ENC_TABLE, "513: a table");
    is("SCARD i", ":513");
    is("SISMEMBER i 0", ":1");
    is("SISMEMBER i 512", ":1");
    is("SISMEMBER i 513", ":0");
    is("DEL i", ":1");

    tap_is_str(sadd_many("i", "", 0, 513), ":513", "SADD 513 integers at "
               "once");
    tap_ok(enc("i") == KVMQ_ENC_TABLE, "  ... a table");
    is("DEL i", ":1");

    /* widths: 2, 4, 8 bytes, the order kept */
    is("SADD w 5 -3", ":2");
    is("SADD w 100000", ":1");
    is("SADD w -5000000000", ":1");
    is("SADD w 32767 -32768 32768", ":3");
    tap_ok(enc("w") == KVMQ_ENC_INTSET, "widened: still an intset");
    is("SMEMBERS w", "[\"-5000000000\",\"-32768\",\"-3\",\"5\",\"32767\","
       "\"32768\",\"100000\"]");
    is("SISMEMBER w 32768", ":1");
    is("SISMEMBER w 4294967296", ":0");
    is("SREM w -5000000000 100000", ":2");
    is("SMEMBERS w", "[\"-32768\",\"-3\",\"5\",\"32767\",\"32768\"]");

    /* an intset that gets a string: packed when it fits, in the order
     * the members had */
    is("SADD w abc", ":1");
    tap_ok(enc("w") == KVMQ_ENC_PACK, "intset + a string: packed");
    is("SMEMBERS w", "[\"-32768\",\"-3\",\"5\",\"32767\",\"32768\","
       "\"abc\"]");
    is("SADD w 7", ":1");
    tap_ok(enc("w") == KVMQ_ENC_PACK, "  ... an integer keeps it packed");
    is("SISMEMBER w 5", ":1");
    is("SISMEMBER w abc", ":1");
    is("DEL w", ":1");

    sadd_many("i", "", 0, 200);
    tap_ok(enc("i") == KVMQ_ENC_INTSET, "200 integers: an intset");
    is("SADD i x", ":1");
    tap_ok(enc("i") == KVMQ_ENC_TABLE, "  ... + a string: a table (201)");
    is("SCARD i", ":201");
    is("SISMEMBER i 199", ":1");
    is("DEL i", ":1");

    snprintf(line, sizeof(line), "SADD i 1 %s", m65);
    is(line, ":2");
    tap_ok(enc("i") == KVMQ_ENC_TABLE, "created with a long member: table");
    is("DEL i", ":1");

    /* packed: 128 members, then a table; 64 bytes fit, 65 do not */
    tap_is_str(sadd_many("p", "m", 0, 128), ":128", "SADD 128 strings");
    tap_ok(enc("p") == KVMQ_ENC_PACK, "  ... packed");
    is("SADD p m128", ":1");
    tap_ok(enc("p") == KVMQ_ENC_TABLE, "129: a table");
    is("SCARD p", ":129");
    out = th_run(h, "SMEMBERS p");
    tap_is_int(au_count(out, "\"m"), 129, "  ... all members kept");
    is("DEL p", ":1");

    snprintf(line, sizeof(line), "SADD p a %s", m64);
    is(line, ":2");
    tap_ok(enc("p") == KVMQ_ENC_PACK, "a 64-byte member: packed");
    snprintf(line, sizeof(line), "SADD p %s", m65);
    is(line, ":1");
    tap_ok(enc("p") == KVMQ_ENC_TABLE, "a 65-byte member: a table");
    snprintf(line, sizeof(line), "SISMEMBER p %s", m64);
    is(line, ":1");
    is("DEL p", ":1");

    /* every command answers the same in each encoding */
    for (i = 0; i < 3; i++) {
        if (i == 0) {
            is("SADD e 1 2 3", ":3");

        } else if (i == 1) {
            is("SADD e 1 2 3 x", ":4");
            is("SREM e x", ":1");

        } else {
            sadd_many("e", "pad", 0, 200);
            is("SADD e 1 2 3", ":3");
            run("SREM e pad%d", 0);
        }

        tap_ok(enc("e") == (i == 0 ? KVMQ_ENC_INTSET
                            : i == 1 ? KVMQ_ENC_PACK : KVMQ_ENC_TABLE),
               "encoding %d", i);

        is("SADD e 2 4", ":1");
        is("SISMEMBER e 4", ":1");
        is("SMISMEMBER e 1 5", "[:1,:0]");
        is("SREM e 1 5", ":1");
        is("SCARD e", i == 2 ? ":202" : ":3");
        is("SMOVE e f 2", ":1");
        is("SMEMBERS f", "[\"2\"]");
        is("SISMEMBER e 2", ":0");
        is("DEL e f", ":2");
    }
}


/* ---- SPOP SRANDMEMBER -------------------------------------------------- */


static void
test_spop(void)
{
    int          i, k, ok;
    char         line[64];
    const char  *out;

    is("SPOP nosuch", "nil");
    is("SPOP nosuch 3", "[]");
    is("SPOP nosuch 0", "[]");

    for (k = 0; k < 3; k++) {
        run("DEL s");

        if (k == 0) {
            is("SADD s 1 2 3 4 5", ":5");

        } else if (k == 1) {
            is("SADD s a b c d e", ":5");

        } else {
            sadd_many("s", "z", 0, 200);
            is("SADD s a b c d e", ":5");

            for (i = 0; i < 200; i++) {
                run("SREM s z%d", i);
            }
        }

        is("SPOP s 0", "[]");
        out = th_run(h, "SPOP s");
        tap_ok(out[0] == '"', "SPOP: one member %s", out);
        snprintf(line, sizeof(line), "SISMEMBER s %.*s",
                 (int) strlen(out) - 2, out + 1);
        is("SCARD s", ":4");
        is(line, ":0");

        out = th_run(h, "SPOP s 2");
        tap_is_int(au_count(out, "\""), 4, "SPOP 2: two members");
        tap_ok(strncmp(out + 1, out + strlen(out) - 4, 3) != 0
               || strlen(out) > 12, "  ... distinct");
        is("SCARD s", ":2");

        /* a count past the size: all of it, and the key goes */
        out = th_run(h, "SPOP s 10");
        tap_is_int(au_count(out, "\""), 4, "SPOP 10 of 2: both");
        is("EXISTS s", ":0");
    }

    /* a single member popped by SPOP without count deletes the key */
    is("SADD s x", ":1");
    is("SPOP s", "\"x\"");
    is("EXISTS s", ":0");

    /* SPOP of everything in a big table */
    sadd_many("s", "m", 0, 1000);
    out = th_run(h, "SPOP s 999");
    tap_is_int(au_count(out, "\"m"), 999, "SPOP 999 of 1000");
    is("SCARD s", ":1");

    for (i = 0, ok = 1; i < 1000; i++) {
        snprintf(line, sizeof(line), "\"m%d\"", i);
        ok &= (au_count(out, line) <= 1);
    }

    tap_ok(ok, "  ... distinct");

    /* arguments */
    err("SPOP s -1", "BADREQ", "value is out of range, must be positive");
    err("SPOP s x", "BADREQ", "value is out of range, must be positive");
    err("SPOP s 1.5", "BADREQ", "value is out of range, must be positive");
    err("SPOP s 1 2", "BADREQ", "syntax error");
    err("SPOP nosuch -1", "BADREQ", "value is out of range, must be positive");
    is("SPOP", "!BADREQ");
    is("DEL s", ":1");
}


static void
test_srandmember(void)
{
    int          i, k, ok;
    char         f[32];
    const char  *out;

    is("SRANDMEMBER nosuch", "nil");
    is("SRANDMEMBER nosuch 5", "[]");
    is("SRANDMEMBER nosuch -5", "[]");

    is("SADD s a", ":1");
    is("SRANDMEMBER s", "\"a\"");
    is("SRANDMEMBER s 0", "[]");
    is("SRANDMEMBER s 5", "[\"a\"]");
    is("SRANDMEMBER s -3", "[\"a\",\"a\",\"a\"]");
    is("DEL s", ":1");

    for (k = 0; k < 3; k++) {
        run("DEL s");

        if (k == 0) {
            is("SADD s 1 2 3", ":3");

        } else if (k == 1) {
            is("SADD s a b c", ":3");

        } else {
            sadd_many("s", "z", 0, 200);
            is("SADD s a b c", ":3");

            for (i = 0; i < 200; i++) {
                run("SREM s z%d", i);
            }
        }

        out = th_run(h, "SRANDMEMBER s 3");
        iss("SRANDMEMBER s 3", k ? "[\"a\",\"b\",\"c\"]"
                                 : "[\"1\",\"2\",\"3\"]");
        iss("SRANDMEMBER s 300", k ? "[\"a\",\"b\",\"c\"]"
                                   : "[\"1\",\"2\",\"3\"]");

        for (i = 0, ok = 1; i < 50; i++) {
            out = th_run(h, "SRANDMEMBER s 2");
            ok &= (strlen(out) == 9 && out[2] != out[6]);
        }

        tap_ok(ok, "SRANDMEMBER 2 of 3: distinct, 50 times (enc %d)", k);

        out = th_run(h, "SRANDMEMBER s -100");
        tap_is_int(au_count(out, "\""), 200, "SRANDMEMBER -100: 100");
        tap_ok(au_count(out, k ? "\"a\"" : "\"1\"") > 0
               && au_count(out, k ? "\"b\"" : "\"2\"") > 0
               && au_count(out, k ? "\"c\"" : "\"3\"") > 0,
               "  ... with repetitions, each member seen");

        for (i = 0, ok = 0; i < 200; i++) {
            out = th_run(h, "SRANDMEMBER s");
            ok |= 1 << (out[1] - (k ? 'a' : '1'));
        }

        tap_is_int(ok, 7, "SRANDMEMBER: each member comes up");
        is("SCARD s", ":3");
    }

    /* a table, both ways of choosing distinct members */
    sadd_many("s", "m", 0, 300);
    out = th_run(h, "SRANDMEMBER s 50");
    tap_is_int(au_count(out, "\"") / 2, 50, "50 of 303");

    for (i = 0, ok = 1; i < 300; i++) {
        snprintf(f, sizeof(f), "\"m%d\"", i);
        ok &= au_count(out, f) <= 1;
    }

    tap_ok(ok, "  ... distinct");
    out = th_run(h, "SRANDMEMBER s 250");
    tap_is_int(au_count(out, "\"") / 2, 250, "250 of 303");

    for (i = 0, ok = 1; i < 300; i++) {
        snprintf(f, sizeof(f), "\"m%d\"", i);
        ok &= au_count(out, f) <= 1;
    }

    tap_ok(ok, "  ... distinct");
    out = th_run(h, "SRANDMEMBER s -1000");
    tap_is_int(au_count(out, "\"") / 2, 1000, "-1000 of 303: 1000");

    err("SRANDMEMBER s x", "BADREQ",
        "value is not an integer or out of range");
    err("SRANDMEMBER s 1 2", "BADREQ", "syntax error");
    err("SRANDMEMBER s -9223372036854775808", "BADREQ",
        "value is out of range, value must between -9223372036854775807 "
        "and 9223372036854775807");
    err("SRANDMEMBER s -16777217", "BADREQ", "value is out of range");
    is("SRANDMEMBER", "!BADREQ");
    is("DEL s", ":1");
}


/* ---- SMOVE ------------------------------------------------------------- */


static void
test_smove(void)
{
    is("SADD a 1 2 x", ":3");
    is("SADD b 3", ":1");

    is("SMOVE a b 1", ":1");
    is("SMEMBERS a", "[\"2\",\"x\"]");
    is("SMEMBERS b", "[\"1\",\"3\"]");
    is("SMOVE a b nope", ":0");
    is("SMOVE nosuch b 1", ":0");

    /* already in the destination: only removed from the source */
    is("SADD b x", ":1");
    is("SMOVE a b x", ":1");
    is("SISMEMBER a x", ":0");
    is("SCARD b", ":3");

    /* to a new key; the last member takes the source with it */
    is("SMOVE a c 2", ":1");
    is("EXISTS a", ":0");
    is("SMEMBERS c", "[\"2\"]");

    /* source and destination the same */
    is("SMOVE b b 1", ":1");
    is("SMOVE b b 9", ":0");
    is("SCARD b", ":3");

    /* types: both checked, but a missing source is just 0 */
    is("SET str v", "+OK");
    is("SMOVE str b 1", "!WRONGTYPE");
    is("SMOVE b str 1", "!WRONGTYPE");
    is("SMOVE b str nope", "!WRONGTYPE");
    is("SMOVE nosuch str 1", ":0");
    is("SCARD b", ":3");
    is("GET str", "\"v\"");

    /* into a bigger encoding */
    sadd_many("t", "m", 0, 128);
    is("SADD b long", ":1");
    is("SMOVE b t long", ":1");
    tap_ok(enc("t") == KVMQ_ENC_TABLE, "SMOVE to 129: a table");
    is("SISMEMBER t long", ":1");

    is("SMOVE b t", "!BADREQ");
    is("DEL b c t str", ":4");
}


/* ---- algebra ----------------------------------------------------------- */


static void
test_algebra(void)
{
    is("SADD a 1 2 3 4", ":4");
    is("SADD b 3 4 5 x", ":4");
    sadd_many("c", "m", 0, 200);
    is("SADD c 4 x 9", ":3");
    tap_ok(enc("a") == KVMQ_ENC_INTSET && enc("b") == KVMQ_ENC_PACK
           && enc("c") == KVMQ_ENC_TABLE, "three encodings");

    iss("SINTER a b", "[\"3\",\"4\"]");
    iss("SINTER a b c", "[\"4\"]");
    iss("SINTER b c", "[\"4\",\"x\"]");
    iss("SINTER a", "[\"1\",\"2\",\"3\",\"4\"]");
    iss("SINTER a a", "[\"1\",\"2\",\"3\",\"4\"]");
    iss("SINTER c a c", "[\"4\"]");
    is("SINTER a nosuch", "[]");
    is("SINTER nosuch", "[]");

    iss("SUNION a b", "[\"1\",\"2\",\"3\",\"4\",\"5\",\"x\"]");
    iss("SUNION a nosuch b a", "[\"1\",\"2\",\"3\",\"4\",\"5\",\"x\"]");
    is("SUNION nosuch", "[]");
    tap_is_int(au_count(th_run(h, "SUNION a b c"), "\""), 2 * 207,
               "SUNION a b c: 207");

    iss("SDIFF a b", "[\"1\",\"2\"]");
    iss("SDIFF b a", "[\"5\",\"x\"]");
    iss("SDIFF b a c", "[\"5\"]");
    iss("SDIFF a nosuch", "[\"1\",\"2\",\"3\",\"4\"]");
    is("SDIFF a a", "[]");
    is("SDIFF a b a", "[]");
    is("SDIFF nosuch a", "[]");
    tap_is_int(au_count(th_run(h, "SDIFF c a b"), "\"m"), 200,
               "SDIFF c a b: the 200 m's and 9");
    iss("SDIFF c a b", th_run(h, "SDIFF c a b"));

    /* WRONGTYPE wherever the other type is, even with a missing key */
    is("SET str v", "+OK");
    is("SINTER a str", "!WRONGTYPE");
    is("SINTER nosuch str", "!WRONGTYPE");
    is("SINTER str nosuch", "!WRONGTYPE");
    is("SUNION nosuch str", "!WRONGTYPE");
    is("SDIFF nosuch str", "!WRONGTYPE");
    is("SDIFF str nosuch", "!WRONGTYPE");
    is("SINTERSTORE d nosuch str", "!WRONGTYPE");
    is("SINTER", "!BADREQ");
    is("SUNIONSTORE d", "!BADREQ");

    /* STORE: a new set, replacing whatever the destination was */
    is("SINTERSTORE d a b", ":2");
    iss("SMEMBERS d", "[\"3\",\"4\"]");
    tap_ok(enc("d") == KVMQ_ENC_INTSET, "an integer result: an intset");
    is("SUNIONSTORE d a b", ":6");
    tap_ok(enc("d") == KVMQ_ENC_PACK, "a small mixed result: packed");
    is("SDIFFSTORE d c a", ":202");
    tap_ok(enc("d") == KVMQ_ENC_TABLE, "a big result: a table");
    is("SCARD d", ":202");

    is("SUNIONSTORE str a", ":4");
    is("TYPE str", "+set");
    is("HSET hh f v", ":1");
    is("PEXPIRE hh 100000", ":1");
    is("SDIFFSTORE hh b a", ":2");
    is("TYPE hh", "+set");
    is("PTTL hh", ":-1");

    /* an empty result deletes the destination, whatever it was */
    is("SET str v", "+OK");
    is("SINTERSTORE str a nosuch", ":0");
    is("EXISTS str", ":0");
    is("SDIFFSTORE hh a a", ":0");
    is("EXISTS hh", ":0");
    is("SUNIONSTORE d nosuch", ":0");
    is("EXISTS d", ":0");
    is("SINTERSTORE nosuch2 a nosuch", ":0");
    is("EXISTS nosuch2", ":0");

    /* the destination among the sources */
    is("SINTERSTORE a a b", ":2");
    iss("SMEMBERS a", "[\"3\",\"4\"]");
    is("SUNIONSTORE b b a c", ":205");
    is("SDIFFSTORE c c c", ":0");
    is("EXISTS c", ":0");

    is("DEL a b", ":2");
}


static void
test_sintercard(void)
{
    is("SADD a 1 2 3 4", ":4");
    is("SADD b 2 3 4 5", ":4");
    is("SADD c x 3 4", ":3");

    is("SINTERCARD 2 a b", ":3");
    is("SINTERCARD 3 a b c", ":2");
    is("SINTERCARD 1 a", ":4");
    is("SINTERCARD 2 a nosuch", ":0");
    is("SINTERCARD 2 a b LIMIT 0", ":3");
    is("SINTERCARD 2 a b LIMIT 1", ":1");
    is("SINTERCARD 2 a b LIMIT 2", ":2");
    is("SINTERCARD 2 a b LIMIT 10", ":3");
    is("SINTERCARD 2 a b limit 1 LIMIT 2", ":2");
    is("SINTERCARD 1 a LIMIT 2", ":2");

    err("SINTERCARD 0 a", "BADREQ", "numkeys should be greater than 0");
    err("SINTERCARD -1 a", "BADREQ", "numkeys should be greater than 0");
    err("SINTERCARD x a", "BADREQ", "numkeys should be greater than 0");
    err("SINTERCARD 3 a b", "BADREQ",
        "Number of keys can't be greater than number of args");
    err("SINTERCARD 2 a b LIMIT", "BADREQ", "syntax error");
    err("SINTERCARD 2 a b LIMIT -1", "BADREQ", "LIMIT can't be negative");
    err("SINTERCARD 2 a b LIMIT x", "BADREQ", "LIMIT can't be negative");
    err("SINTERCARD 2 a b FOO 1", "BADREQ", "syntax error");
    err("SINTERCARD 1 a b", "BADREQ", "syntax error");
    is("SINTERCARD 1", "!BADREQ");

    is("SET str v", "+OK");
    is("SINTERCARD 2 a str", "!WRONGTYPE");
    is("SINTERCARD 2 nosuch str", "!WRONGTYPE");

    /* a table, and the same key twice */
    sadd_many("t", "", 0, 1000);
    tap_ok(enc("t") == KVMQ_ENC_TABLE, "1000 integers: a table");
    is("SINTERCARD 2 t a", ":4");
    is("SINTERCARD 2 t t", ":1000");
    is("SINTERCARD 2 t t LIMIT 10", ":10");
    is("SINTERCARD 3 t b t", ":4");

    is("DEL a b c t str", ":5");
}


/* ---- SSCAN ------------------------------------------------------------- */


static int
sscan_all(const char *key, int n, int *count, const char *opts, int grow)
{
    int          calls, i;
    char         line[256], cursor[32];
    const char  *out, *p, *q;

    snprintf(cursor, sizeof(cursor), "0");
    memset(count, 0, sizeof(int) * n);
    calls = 0;

    do {
        snprintf(line, sizeof(line), "SSCAN %s %s %s", key, cursor, opts);
        out = th_run(h, line);

        if (strncmp(out, "[\"", 2) != 0) {
            tap_diag("SSCAN said %s", out);
            return -1;
        }

        p = out + 2;
        q = strchr(p, '"');
        snprintf(cursor, sizeof(cursor), "%.*s", (int) (q - p), p);

        for (p = q; (p = strstr(p, "\"m")) != NULL; p += 2) {
            i = atoi(p + 2);

            if (i >= 0 && i < n) {
                count[i]++;
            }
        }

        if (grow && calls < 30) {
            au_run_many(h, "SADD", key, "n", 10000 + calls * 40, 40, 0);
        }

        calls++;

    } while (strcmp(cursor, "0") != 0 && calls < 100000);

    return calls;
}


static void
test_sscan(void)
{
    int   i, calls, missing, extra, *count;

    is("SADD i 3 1 2", ":3");
    is("SSCAN i 0", "[\"0\",[\"1\",\"2\",\"3\"]]");
    is("SSCAN i 99 COUNT 1", "[\"0\",[\"1\",\"2\",\"3\"]]");
    is("SSCAN i 0 MATCH 2", "[\"0\",[\"2\"]]");
    is("SADD p a b ab", ":3");
    is("SSCAN p 0 MATCH a*", "[\"0\",[\"a\",\"ab\"]]");
    is("SSCAN p 0 MATCH * COUNT 1", "[\"0\",[\"a\",\"b\",\"ab\"]]");
    err("SSCAN p x", "BADREQ", "invalid cursor");
    err("SSCAN p 0 COUNT 0", "BADREQ", "syntax error");
    err("SSCAN p 0 COUNT x", "BADREQ",
        "value is not an integer or out of range");
    err("SSCAN p 0 MATCH", "BADREQ", "syntax error");
    err("SSCAN p 0 TYPE set", "BADREQ", "syntax error");
    is("SSCAN nosuch 0", "[\"0\",[]]");
    is("SSCAN nosuch 0 COUNT 0", "[\"0\",[]]");
    is("SET str v", "+OK");
    is("SSCAN str 0", "!WRONGTYPE");
    is("SSCAN p", "!BADREQ");
    is("DEL i p str", ":3");

    count = calloc(1000, sizeof(int));
    sadd_many("s", "m", 0, 1000);

    calls = sscan_all("s", 1000, count, "", 0);
    missing = 0;
    extra = 0;

    for (i = 0; i < 1000; i++) {
        missing += (count[i] == 0);
        extra += (count[i] > 1);
    }

    tap_ok(calls > 10, "SSCAN of 1000 members: %d calls", calls);
    tap_is_int(missing, 0, "  ... every member");
    tap_is_int(extra, 0, "  ... once each");

    calls = sscan_all("s", 1000, count, "COUNT 7", 1);
    missing = 0;

    for (i = 0; i < 1000; i++) {
        missing += (count[i] == 0);
    }

    tap_is_int(missing, 0, "growing during the scan: every member");

    calls = sscan_all("s", 1000, count, "MATCH m5?? COUNT 100", 0);
    missing = 0;
    extra = 0;

    for (i = 0; i < 1000; i++) {
        missing += (i >= 500 && i < 600 && count[i] == 0);
        extra += ((i < 500 || i >= 600) && count[i] > 0);
    }

    tap_is_int(missing + extra, 0, "MATCH m5??: exactly the matches");

    is("DEL s", ":1");
    free(count);
}


/* ---- types ------------------------------------------------------------- */


static void
test_wrongtype(void)
{
    unsigned     i, j;
    char         line[128];
    const char  *out;

    static const char  *makers[] = {
        "SET o str", "HSET o f v", "RPUSH o x", "ZADD o 1 x",
    };

    static const char  *cmds[] = {
        "SADD o x", "SREM o x", "SCARD o", "SISMEMBER o x",
        "SMISMEMBER o x y", "SMEMBERS o", "SRANDMEMBER o",
        "SRANDMEMBER o 2", "SRANDMEMBER o -2", "SPOP o", "SPOP o 2",
        "SMOVE o s x", "SMOVE s o x", "SDIFF o", "SDIFF s o",
        "SDIFFSTORE d o", "SINTER o", "SINTERSTORE d s o", "SINTERCARD 1 o",
        "SUNION o s", "SUNIONSTORE d o", "SSCAN o 0",
    };

    is("SADD s x", ":1");

    for (i = 0; i < sizeof(makers) / sizeof(makers[0]); i++) {
        th_run(h, "DEL o");
        out = th_run(h, makers[i]);

        if (out[0] == '!') {
            continue;
        }

        for (j = 0; j < sizeof(cmds) / sizeof(cmds[0]); j++) {
            snprintf(line, sizeof(line), "%s (after %s)", cmds[j], makers[i]);
            th_is(h, cmds[j], "!WRONGTYPE", line);
        }

        tap_ok(strcmp(th_run(h, "TYPE o"), "+set") != 0, "%s: not a set",
               makers[i]);
        is("SMEMBERS s", "[\"x\"]");
        is("EXISTS d", ":0");
    }

    tap_is_int(kvmq_err_http_status(KVMQ_ERR_WRONGTYPE), 409,
               "WRONGTYPE is 409");

    /* argument errors come before the type, as in Redis */
    is("SET o str", "+OK");
    err("SPOP o -1", "BADREQ", "value is out of range, must be positive");
    err("SRANDMEMBER o x", "BADREQ",
        "value is not an integer or out of range");
    err("SSCAN o x", "BADREQ", "invalid cursor");
    err("SINTERCARD 0 o", "BADREQ", "numkeys should be greater than 0");

    is("DEL o s", ":2");
    is("SADD o x", ":1");
    is("GET o", "!WRONGTYPE");
    is("HGET o f", "!WRONGTYPE");
    is("DEL o", ":1");
}


/* ---- NOMEM ------------------------------------------------------------- */


static void
test_nomem(void)
{
    int   i;
    char  line[512];

    /* new keys in each encoding */
    nomem_sweep("SADD k 1 2 3", ":3", "SMEMBERS k", "k", 1);
    is("DEL k", ":1");
    nomem_sweep("SADD k a b", ":2", "SMEMBERS k", "k", 1);
    is("DEL k", ":1");
    memset(line, 0, sizeof(line));
    snprintf(line, sizeof(line), "SADD k a %070d", 7);
    nomem_sweep(line, ":2", "SMEMBERS k", "k", 1);
    tap_ok(enc("k") == KVMQ_ENC_TABLE, "  ... a table");
    is("DEL k", ":1");

    /* growing an intset: a bigger block, a wider one */
    sadd_many("k", "", 0, 30);
    nomem_sweep("SADD k 100 101 102 103 104 105 106 107 108 109", ":10",
                "SMEMBERS k", "k", 0);
    nomem_sweep("SADD k 5000000000", ":1", "SMEMBERS k", "k", 1);
    tap_ok(enc("k") == KVMQ_ENC_INTSET, "  ... an intset");

    /* intset -> packed, intset -> table */
    nomem_sweep("SADD k x", ":1", "SMEMBERS k", "k", 1);
    tap_ok(enc("k") == KVMQ_ENC_PACK, "  ... packed");
    is("DEL k", ":1");
    sadd_many("k", "", 0, 300);
    nomem_sweep("SADD k x", ":1", "SMEMBERS k", "k", 1);
    tap_ok(enc("k") == KVMQ_ENC_TABLE, "  ... a table");
    is("DEL k", ":1");

    /* growing a packed set, then converting it */
    sadd_many("k", "m", 0, 60);
    for (i = 0; i < 5; i++) {
        snprintf(line, sizeof(line), "SADD k grow%d-%040d", i, i);
        nomem_sweep(line, ":1", "SMEMBERS k", "k", 0);
    }
    sadd_many("k", "n", 0, 128 - 65);
    is("SCARD k", ":128");
    nomem_sweep("SADD k last", ":1", "SMEMBERS k", "k", 1);
    tap_ok(enc("k") == KVMQ_ENC_TABLE, "  ... a table");

    /* a table: new nodes, all or none */
    nomem_sweep("SADD k t1 t2 t3 t4 last", ":4", "SMEMBERS k", "k", 1);

    /* SMOVE: into a new key, into each encoding */
    is("SADD src 1 2 3 a", ":4");
    nomem_sweep("SMOVE src dst a", ":1", "SUNION src dst", "src", 1);
    nomem_sweep("SMOVE src dst 1", ":1", "SUNION src dst", "dst", 0);
    nomem_sweep("SMOVE src k 2", ":1", "SMEMBERS src", "k", 1);
    is("SISMEMBER k 2", ":1");

    /* *STORE: a new destination, over another type, over a source */
    is("SET str v", "+OK");
    is("SADD src2 2 m0 m1 nope", ":4");
    nomem_sweep("SUNIONSTORE new k src", ":135", "EXISTS new", "new", 1);
    nomem_sweep("SINTERSTORE str k src2", ":3", "GET str", "str", 1);
    is("TYPE str", "+set");
    nomem_sweep("SDIFFSTORE k k src2", ":131", "SMEMBERS k", "k", 1);
    is("SCARD k", ":131");

    /* removing needs no memory */
    h->limit = h->used;
    is("SREM k t1 t2", ":2");
    tap_ok(th_run(h, "SPOP k 3")[0] == '[', "SPOP: no memory needed");
    tap_ok(th_run(h, "SRANDMEMBER k -5")[0] == '[',
           "SRANDMEMBER: no zone memory needed");
    is("SREM src 3", ":1");
    is("EXISTS src", ":0");
    h->limit = 0;

    is("DEL k new str dst src2", ":5");
}


/* ---- freeing a big set in steps ---------------------------------------- */


static void
test_free_some(void)
{
    int            done, calls;
    size_t         used;
    unsigned       budget;
    kvmq_entry_t  *e;
    void          *val;

    kvmq_lazyfree_drain(&h->ctx);
    used = h->used;

    sadd_many("big", "member:", 0, 5000);
    e = au_entry(h, "big");
    tap_ok(kvmq_set_blocks(e->val) > 5000, "blocks: %llu",
           (unsigned long long) kvmq_set_blocks(e->val));
    tap_ok(kvmq_set_bytes(e->val) > 5000 * 20
           && kvmq_set_bytes(e->val) < 5000 * 60,
           "bytes: about %zu (really %zu)", kvmq_set_bytes(e->val),
           h->used - used);

    val = e->val;
    e->val = NULL;
    e->type = KVMQ_TYPE_STRING;
    is("DEL big", ":1");

    calls = 0;

    do {
        budget = 250;
        done = kvmq_set_free_some(&h->ctx, val, &budget);
        calls++;
    } while (!done && calls < 1000);

    tap_ok(done && calls >= 18 && calls <= 30, "freed in %d calls of 250 "
           "blocks", calls);
    tap_is_int((long long) h->used, (long long) used, "  ... all of it");

    sadd_many("big", "", 0, 300);
    is("DEL big", ":1");
    tap_is_int((long long) kvmq_db_lazyfree_pending(h->db), 0,
               "an intset is freed at once");
    sadd_many("big", "m", 0, 5000);
    is("DEL big", ":1");
    tap_ok(kvmq_db_lazyfree_pending(h->db) > 0, "a big table lazily");
    kvmq_lazyfree_drain(&h->ctx);
    tap_is_int((long long) h->used, (long long) used, "  ... all freed");
}


int
main(void)
{
    h = th_new(0, KVMQ_EVICT_NOEVICTION);
    th_set_time(h, T0);

    test_sadd_basic();
    test_values();
    test_srem();
    test_ttl();
    test_encodings();
    test_spop();
    test_srandmember();
    test_smove();
    test_algebra();
    test_sintercard();
    test_sscan();
    test_wrongtype();
    test_nomem();
    test_free_some();

    is("DBSIZE", ":0");

    th_free(h);

    return tap_done();
}
