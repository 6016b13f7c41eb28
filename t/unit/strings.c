/*
 * Unit tests of the string commands (src/t_string.c): SET and every
 * option combination, SETNX SETEX PSETEX GET GETSET GETDEL GETEX MSET
 * MSETNX MGET APPEND STRLEN GETRANGE SETRANGE INCR INCRBY DECR DECRBY
 * INCRBYFLOAT; TTLs against a settable clock; WRONGTYPE against a value
 * of another type; Content-Type kept by in-place writes; the string
 * size limit; and NOMEM leaving the db exactly as it was.
 */

#include <stdio.h>
#include <stdlib.h>

#include "agg_util.h"


#define T0  1700000000000LL


static void
test_set_basic(void)
{
    uint64_t  cas;

    is("SET k v", "+OK");
    tap_ok(h->has_meta, "SET reports meta");
    tap_ok(!h->meta.existed, "  ... new key: existed 0");
    tap_is_int(h->meta.pttl, -1, "  ... no TTL");
    cas = h->meta.cas;

    is("GET k", "\"v\"");
    tap_ok(h->has_meta && h->meta.cas == cas, "GET meta: same cas");
    tap_ok(h->meta.existed, "GET meta: existed");

    is("SET k v2", "+OK");
    tap_ok(h->meta.existed, "overwrite: existed 1");
    tap_ok(h->meta.cas > cas, "overwrite: new cas");

    is("GET nosuch", "nil");
    tap_ok(!h->has_meta, "GET of a missing key: no meta");

    is("SET empty \"\"", "+OK");
    is("GET empty", "\"\"");
    is("STRLEN empty", ":0");

    is("SET bin \"a\\x00b\\xff\"", "+OK");
    is("GET bin", "\"a\\x00b\\xff\"");
    is("STRLEN bin", ":4");

    is("SET k", "!BADREQ");
    is("GET", "!BADREQ");
    is("GET a b", "!BADREQ");

    is("DEL k empty bin", ":3");
}


static void
test_set_options(void)
{
    th_set_time(h, T0);

    is("SET k v EX 10", "+OK");
    tap_is_int(h->meta.pttl, 10000, "EX: meta pttl");
    is("PTTL k", ":10000");
    is("SET k v PX 1500", "+OK");
    is("PTTL k", ":1500");
    is("SET k v EXAT 1700000100", "+OK");
    is("PTTL k", ":100000");
    is("SET k v PXAT 1700000000500", "+OK");
    is("PTTL k", ":500");
    is("set k v ex 7", "+OK");
    is("PTTL k", ":7000");

    /* KEEPTTL keeps it; a plain SET drops it */
    is("SET k v2 KEEPTTL", "+OK");
    is("PTTL k", ":7000");
    tap_ok(!h->has_meta, "PTTL reports no meta");
    is("GET k", "\"v2\"");
    tap_is_int(h->meta.pttl, 7000, "GET meta pttl");
    is("SET k v3", "+OK");
    is("PTTL k", ":-1");
    is("SET k v KEEPTTL", "+OK");
    is("PTTL k", ":-1");

    /* an option may repeat; the last value wins */
    is("SET k v GET GET", "\"v\"");
    is("SET k v EX 10 EX 20", "+OK");
    is("PTTL k", ":20000");
    is("SET k v NX NX", "nil");
    is("SET k v XX XX KEEPTTL", "+OK");
    is("SET k v KEEPTTL KEEPTTL", "+OK");

    /* NX and XX */
    is("SET k v NX", "nil");
    is("SET k2 v XX", "nil");
    is("EXISTS k2", ":0");
    is("SET k2 v NX", "+OK");
    is("SET k2 w XX", "+OK");
    is("GET k2", "\"w\"");
    is("SET k3 v NX EX 5", "+OK");
    is("PTTL k3", ":5000");
    is("SET k3 v XX PX 50", "+OK");
    is("PTTL k3", ":50");
    is("SET k3 v2 XX KEEPTTL", "+OK");
    is("PTTL k3", ":50");

    /* conflicts and junk */
    err("SET k v NX XX", "BADREQ", "syntax error");
    err("SET k v XX NX", "BADREQ", "syntax error");
    err("SET k v EX 10 PX 100", "BADREQ", "syntax error");
    err("SET k v PX 10 EX 100", "BADREQ", "syntax error");
    err("SET k v EX 10 EXAT 100", "BADREQ", "syntax error");
    err("SET k v PXAT 10 PX 100", "BADREQ", "syntax error");
    err("SET k v EX 10 KEEPTTL", "BADREQ", "syntax error");
    err("SET k v KEEPTTL PX 10", "BADREQ", "syntax error");
    err("SET k v KEEPTTL EXAT 10", "BADREQ", "syntax error");
    err("SET k v EX", "BADREQ", "syntax error");
    err("SET k v NX PX", "BADREQ", "syntax error");
    err("SET k v FOO", "BADREQ", "syntax error");
    err("SET k v PERSIST", "BADREQ", "syntax error");
    err("SET k v EX 10 junk", "BADREQ", "syntax error");
    is("GET k", "\"v\"");
    is("PTTL k", ":20000");

    /* expiry values */
    err("SET k x EX abc", "BADREQ", "value is not an integer or out of range");
    err("SET k x EX 1.5", "BADREQ", "value is not an integer or out of range");
    err("SET k x EX 0", "BADREQ", "invalid expire time in 'set' command");
    err("SET k x EX -1", "BADREQ", "invalid expire time in 'set' command");
    err("SET k x PX 0", "BADREQ", "invalid expire time in 'set' command");
    err("SET k x EXAT 0", "BADREQ", "invalid expire time in 'set' command");
    err("SET k x PXAT -5", "BADREQ", "invalid expire time in 'set' command");
    err("SET k x EX 9223372036854775", "BADREQ",
        "invalid expire time in 'set' command");
    err("SET k x PX 9223372036854775807", "BADREQ",
        "invalid expire time in 'set' command");
    err("SET k x EX 9223372036854776", "BADREQ",
        "invalid expire time in 'set' command");
    err("SET k x EXAT 9223372036854776", "BADREQ",
        "invalid expire time in 'set' command");
    err("SET k x EX 9223372036854775808", "BADREQ",
        "value is not an integer or out of range");
    is("GET k", "\"v\"");
    is("PTTL k", ":20000");

    /* the largest absolute times are fine */
    is("SET big v PXAT 9223372036854775807", "+OK");
    is("PEXPIRETIME big", ":9223372036854775807");
    is("SET big v EXAT 9223372036854775", "+OK");
    is("PEXPIRETIME big", ":9223372036854775000");

    /* expiry happens after the time, not at it */
    is("SET t v PX 100", "+OK");
    th_set_time(h, T0 + 100);
    is("GET t", "\"v\"");
    th_set_time(h, T0 + 101);
    is("GET t", "nil");
    is("EXISTS t", ":0");

    /* a time already past: set, and gone at the next look */
    th_set_time(h, T0);
    is("SET past v PXAT 1000", "+OK");
    is("GET past", "nil");
    is("EXISTS past", ":0");

    is("FLUSHALL", "+OK");
}


static void
test_set_get(void)
{
    th_set_time(h, T0);

    is("SET k v1 GET", "nil");
    tap_ok(h->has_meta && !h->meta.existed, "SET GET new: meta existed 0");
    is("GET k", "\"v1\"");
    is("SET k v2 GET", "\"v1\"");
    tap_ok(h->has_meta && h->meta.existed, "SET GET old: meta existed 1");
    is("GET k", "\"v2\"");

    /* NX with GET: the old value, and nothing set */
    is("SET k v3 NX GET", "\"v2\"");
    tap_ok(!h->has_meta, "SET NX GET not stored: no meta");
    is("GET k", "\"v2\"");
    is("SET nk v NX GET", "nil");
    is("GET nk", "\"v\"");

    /* XX with GET */
    is("SET k v4 XX GET", "\"v2\"");
    is("GET k", "\"v4\"");
    is("SET missing v XX GET", "nil");
    is("EXISTS missing", ":0");

    /* GET with expiry options */
    is("SET k v5 GET EX 100", "\"v4\"");
    is("PTTL k", ":100000");
    is("SET k v6 KEEPTTL GET", "\"v5\"");
    is("PTTL k", ":100000");
    is("SET k v7 GET", "\"v6\"");
    is("PTTL k", ":-1");

    /* against another type: WRONGTYPE and nothing changes */
    other_make("w");
    err("SET w x GET", "WRONGTYPE",
        "Operation against a key holding the wrong kind of value");
    err("SET w x NX GET", "WRONGTYPE",
        "Operation against a key holding the wrong kind of value");
    tap_ok(other_is("w"), "SET GET left the type");
    is("SET w x NX", "nil");
    tap_ok(other_is("w"), "SET NX left the type");
    other_drop("w");

    /* plain SET overwrites any type */
    other_make("w");
    is("SET w x", "+OK");
    tap_ok(h->meta.existed, "SET over another type: existed");
    is("TYPE w", "+string");
    is("GET w", "\"x\"");
    is("DEL w", ":1");

    is("FLUSHALL", "+OK");
}


static void
test_setnx_setex(void)
{
    th_set_time(h, T0);

    is("SETNX k v", ":1");
    tap_ok(h->has_meta && !h->meta.existed, "SETNX meta");
    is("SETNX k w", ":0");
    tap_ok(!h->has_meta, "SETNX not stored: no meta");
    is("GET k", "\"v\"");
    is("SETNX k", "!BADREQ");
    is("SETNX k v x", "!BADREQ");

    is("SETEX k 10 v2", "+OK");
    tap_is_int(h->meta.pttl, 10000, "SETEX meta pttl");
    is("GET k", "\"v2\"");
    is("PTTL k", ":10000");
    err("SETEX k 0 v", "BADREQ", "invalid expire time in 'setex' command");
    err("SETEX k -10 v", "BADREQ", "invalid expire time in 'setex' command");
    err("SETEX k abc v", "BADREQ",
        "value is not an integer or out of range");
    err("SETEX k 9223372036854775807 v", "BADREQ",
        "invalid expire time in 'setex' command");
    is("GET k", "\"v2\"");
    is("PTTL k", ":10000");

    is("PSETEX k 1500 v3", "+OK");
    is("PTTL k", ":1500");
    is("GET k", "\"v3\"");
    err("PSETEX k 0 v", "BADREQ", "invalid expire time in 'psetex' command");
    err("PSETEX k x v", "BADREQ", "value is not an integer or out of range");

    /* SETEX and SETNX overwrite / refuse any type as SET does */
    other_make("w");
    is("SETNX w v", ":0");
    other_drop("w");
    other_make("w");
    is("SETEX w 5 v", "+OK");
    is("TYPE w", "+string");

    is("FLUSHALL", "+OK");
}


static void
test_getset_getdel(void)
{
    th_set_time(h, T0);

    is("GETSET k v1", "nil");
    tap_ok(h->has_meta && !h->meta.existed, "GETSET new: meta");
    is("GET k", "\"v1\"");
    is("GETSET k v2", "\"v1\"");
    tap_ok(h->has_meta && h->meta.existed, "GETSET old: meta existed");
    is("GET k", "\"v2\"");

    /* GETSET drops the TTL, as SET does */
    is("EXPIRE k 100", ":1");
    is("GETSET k v3", "\"v2\"");
    is("TTL k", ":-1");

    other_make("w");
    err("GETSET w v", "WRONGTYPE",
        "Operation against a key holding the wrong kind of value");
    err("GETDEL w", "WRONGTYPE",
        "Operation against a key holding the wrong kind of value");
    err("GET w", "WRONGTYPE",
        "Operation against a key holding the wrong kind of value");
    tap_ok(!h->has_meta, "WRONGTYPE: no meta");
    other_drop("w");

    is("GETDEL k", "\"v3\"");
    is("EXISTS k", ":0");
    is("GETDEL k", "nil");

    is("SET e v PX 10", "+OK");
    th_set_time(h, T0 + 11);
    is("GETDEL e", "nil");

    is("FLUSHALL", "+OK");
}


static void
test_getex(void)
{
    th_set_time(h, T0);

    is("SET k v EX 100", "+OK");
    is("GETEX k", "\"v\"");
    is("PTTL k", ":100000");
    is("GETEX k EX 50", "\"v\"");
    is("PTTL k", ":50000");
    is("GETEX k PX 1234", "\"v\"");
    is("PTTL k", ":1234");
    is("GETEX k EXAT 1700000100", "\"v\"");
    is("PTTL k", ":100000");
    is("GETEX k PXAT 1700000000777", "\"v\"");
    is("PTTL k", ":777");
    is("GETEX k PERSIST", "\"v\"");
    is("PTTL k", ":-1");
    is("GETEX k PERSIST", "\"v\"");
    is("PTTL k", ":-1");
    is("getex k ex 5 ex 6", "\"v\"");
    is("PTTL k", ":6000");

    err("GETEX k EX 10 PX 10", "BADREQ", "syntax error");
    err("GETEX k PERSIST EX 10", "BADREQ", "syntax error");
    err("GETEX k EX 10 PERSIST", "BADREQ", "syntax error");
    err("GETEX k EXAT 10 PXAT 10", "BADREQ", "syntax error");
    err("GETEX k KEEPTTL", "BADREQ", "syntax error");
    err("GETEX k NX", "BADREQ", "syntax error");
    err("GETEX k GET", "BADREQ", "syntax error");
    err("GETEX k EX", "BADREQ", "syntax error");
    err("GETEX k FOO", "BADREQ", "syntax error");
    err("GETEX k EX 0", "BADREQ", "invalid expire time in 'getex' command");
    err("GETEX k PX -1", "BADREQ", "invalid expire time in 'getex' command");
    err("GETEX k EX x", "BADREQ", "value is not an integer or out of range");
    is("PTTL k", ":6000");

    /* syntax is checked before the key, the time after it (Redis 7.0):
     * a missing key with a bad time is nil, a bad option still errs */
    is("GETEX nosuch EX 0", "nil");
    is("GETEX nosuch EX x", "nil");
    err("GETEX nosuch FOO", "BADREQ", "syntax error");
    is("GETEX nosuch", "nil");
    is("GETEX nosuch EX 10", "nil");
    is("EXISTS nosuch", ":0");

    /* an absolute time in the past deletes the key after replying */
    is("GETEX k EXAT 1", "\"v\"");
    is("EXISTS k", ":0");
    is("SET k v", "+OK");
    is("GETEX k PXAT 1700000000000", "\"v\"");
    is("EXISTS k", ":0");

    other_make("w");
    err("GETEX w", "WRONGTYPE",
        "Operation against a key holding the wrong kind of value");
    err("GETEX w EX 10", "WRONGTYPE",
        "Operation against a key holding the wrong kind of value");
    is("PTTL w", ":-1");
    other_drop("w");

    is("FLUSHALL", "+OK");
}


static void
test_mset(void)
{
    th_set_time(h, T0);

    is("MSET a 1 b 2", "+OK");
    is("MGET a b c", "[\"1\",\"2\",nil]");
    is("MSET a 1 b", "!BADREQ");
    tap_is_str(h->errmsg, "wrong number of arguments for 'mset' command",
               "  ... message");
    is("MSET a", "!BADREQ");
    is("MGET a b", "[\"1\",\"2\"]");

    /* a key named twice: the last pair wins */
    is("MSET d x d y", "+OK");
    is("GET d", "\"y\"");
    is("DBSIZE", ":3");

    /* MSET drops TTLs and overwrites any type */
    is("EXPIRE a 100", ":1");
    other_make("w");
    is("MSET a 10 w 20 n 30", "+OK");
    is("TTL a", ":-1");
    is("TYPE w", "+string");
    is("MGET a w n", "[\"10\",\"20\",\"30\"]");

    /* MGET gives nil for another type */
    other_make("w2");
    is("MGET a w2 nosuch", "[\"10\",nil,nil]");
    other_drop("w2");

    /* MSETNX: all or nothing */
    is("MSETNX x 1 y 2", ":1");
    is("MGET x y", "[\"1\",\"2\"]");
    is("MSETNX y 3 z 4", ":0");
    is("MGET y z", "[\"2\",nil]");
    is("EXISTS z", ":0");
    is("MSETNX z 1 z 2", ":1");
    is("GET z", "\"2\"");
    is("MSETNX q 1 r", "!BADREQ");
    is("EXISTS q", ":0");

    /* MSETNX against another type: it exists, so 0 */
    other_make("w3");
    is("MSETNX w3 1 fresh 2", ":0");
    is("EXISTS fresh", ":0");
    other_drop("w3");

    /* an expired key counts as absent */
    is("SET gone v PX 5", "+OK");
    th_set_time(h, T0 + 6);
    is("MSETNX gone 1 new 2", ":1");
    is("MGET gone new", "[\"1\",\"2\"]");

    is("FLUSHALL", "+OK");
}


static void
test_mset_many(void)
{
    int    i;
    char  *line, *p;

    /* more pairs than the stack scratch holds */
    line = malloc(100 * 32);
    p = line + sprintf(line, "MSET");

    for (i = 0; i < 100; i++) {
        p += sprintf(p, " key%d val%d", i, i);
    }

    is(line, "+OK");
    is("DBSIZE", ":100");
    is("GET key0", "\"val0\"");
    is("GET key99", "\"val99\"");

    line[1] = 'S';
    memcpy(line, "MSETNX", 6);
    p = line + sprintf(line, "MSETNX");

    for (i = 99; i < 150; i++) {
        p += sprintf(p, " key%d new%d", i, i);
    }

    is(line, ":0");
    is("DBSIZE", ":100");
    is("GET key99", "\"val99\"");

    free(line);

    is("FLUSHALL", "+OK");
}


static void
test_append_strlen(void)
{
    int   i;
    char  line[64];

    th_set_time(h, T0);

    is("APPEND k Hello", ":5");
    tap_ok(h->has_meta && !h->meta.existed, "APPEND new: meta existed 0");
    is("APPEND k \" World\"", ":11");
    tap_ok(h->has_meta && h->meta.existed, "APPEND old: meta existed 1");
    is("GET k", "\"Hello World\"");
    is("STRLEN k", ":11");
    is("STRLEN nosuch", ":0");
    is("APPEND k \"\"", ":11");
    is("APPEND e \"\"", ":0");
    is("EXISTS e", ":1");
    is("GET e", "\"\"");

    /* APPEND keeps the TTL */
    is("EXPIRE k 100", ":1");
    is("APPEND k !", ":12");
    is("TTL k", ":100");

    /* many appends: greedy growth, same bytes */
    for (i = 0; i < 200; i++) {
        snprintf(line, sizeof(line), "APPEND grow %d,", i % 10);
        th_run(h, line);
    }

    is("STRLEN grow", ":400");
    is("GETRANGE grow 0 9", "\"0,1,2,3,4,\"");
    is("GETRANGE grow -4 -1", "\"8,9,\"");

    /* appending to a number, then counting on */
    is("SET n 10", "+OK");
    is("APPEND n 5", ":3");
    is("INCR n", ":106");

    other_make("w");
    err("APPEND w x", "WRONGTYPE",
        "Operation against a key holding the wrong kind of value");
    err("STRLEN w", "WRONGTYPE",
        "Operation against a key holding the wrong kind of value");
    other_drop("w");

    is("APPEND k", "!BADREQ");

    is("FLUSHALL", "+OK");
}


static void
test_getrange(void)
{
    is("SET s \"This is a string\"", "+OK");
    is("GETRANGE s 0 3", "\"This\"");
    is("GETRANGE s -3 -1", "\"ing\"");
    is("GETRANGE s 0 -1", "\"This is a string\"");
    is("GETRANGE s 10 100", "\"string\"");
    is("GETRANGE s 0 100", "\"This is a string\"");
    is("GETRANGE s 5 3", "\"\"");
    is("GETRANGE s 3 3", "\"s\"");
    is("GETRANGE s 15 15", "\"g\"");
    is("GETRANGE s 16 20", "\"\"");
    is("GETRANGE s -1 -5", "\"\"");
    is("GETRANGE s -1 -1", "\"g\"");
    is("GETRANGE s -100 -1", "\"This is a string\"");
    is("GETRANGE s -100 2", "\"Thi\"");
    is("GETRANGE s -100 -50", "\"T\"");
    is("GETRANGE s 0 -100", "\"T\"");
    is("GETRANGE s 5 -12", "\"\"");
    is("GETRANGE s 4 -12", "\" \"");
    is("GETRANGE s -9223372036854775808 9223372036854775807",
       "\"This is a string\"");
    is("SUBSTR s 0 3", "\"This\"");
    is("GETRANGE nosuch 0 -1", "\"\"");
    is("SET e \"\"", "+OK");
    is("GETRANGE e 0 -1", "\"\"");
    is("GETRANGE e 0 0", "\"\"");

    err("GETRANGE s a 1", "BADREQ", "value is not an integer or out of range");
    err("GETRANGE s 0 1.5", "BADREQ",
        "value is not an integer or out of range");
    err("GETRANGE nosuch x 1", "BADREQ",
        "value is not an integer or out of range");
    is("GETRANGE s 0", "!BADREQ");

    other_make("w");
    err("GETRANGE w 0 -1", "WRONGTYPE",
        "Operation against a key holding the wrong kind of value");
    other_drop("w");

    is("FLUSHALL", "+OK");
}


static void
test_setrange(void)
{
    th_set_time(h, T0);

    is("SET key1 \"Hello World\"", "+OK");
    is("SETRANGE key1 6 Redis", ":11");
    is("GET key1", "\"Hello Redis\"");
    is("SETRANGE key2 6 Redis", ":11");
    is("GET key2", "\"\\x00\\x00\\x00\\x00\\x00\\x00Redis\"");

    /* past the end: zero padding */
    is("SETRANGE key1 14 !", ":15");
    is("GET key1", "\"Hello Redis\\x00\\x00\\x00!\"");
    is("SETRANGE key1 0 J", ":15");
    is("GETRANGE key1 0 4", "\"Jello\"");
    is("SETRANGE key1 13 xyz", ":16");
    is("GET key1", "\"Jello Redis\\x00\\x00xyz\"");

    /* nothing to write: no key is created, the length is returned */
    is("SETRANGE none 5 \"\"", ":0");
    is("EXISTS none", ":0");
    is("SETRANGE key1 100 \"\"", ":16");
    is("STRLEN key1", ":16");

    err("SETRANGE key1 -1 x", "BADREQ", "offset is out of range");
    err("SETRANGE key1 x x", "BADREQ",
        "value is not an integer or out of range");
    err("SETRANGE key1 536870912 x", "TOOLARGE",
        "string exceeds maximum allowed size");
    err("SETRANGE key1 536870911 xx", "TOOLARGE",
        "string exceeds maximum allowed size");
    err("SETRANGE key1 9223372036854775807 x", "TOOLARGE",
        "string exceeds maximum allowed size");
    err("SETRANGE fresh 536870912 x", "TOOLARGE",
        "string exceeds maximum allowed size");
    is("EXISTS fresh", ":0");
    is("STRLEN key1", ":16");

    /* SETRANGE keeps the TTL */
    is("EXPIRE key1 100", ":1");
    is("SETRANGE key1 0 H", ":16");
    is("TTL key1", ":100");

    other_make("w");
    err("SETRANGE w 0 x", "WRONGTYPE",
        "Operation against a key holding the wrong kind of value");
    err("SETRANGE w 0 \"\"", "WRONGTYPE",
        "Operation against a key holding the wrong kind of value");
    other_drop("w");

    is("FLUSHALL", "+OK");
}


static void
test_incr(void)
{
    th_set_time(h, T0);

    is("INCR c", ":1");
    is("INCR c", ":2");
    is("GET c", "\"2\"");
    is("INCRBY c 10", ":12");
    is("DECR c", ":11");
    is("DECRBY c 20", ":-9");
    is("GET c", "\"-9\"");
    is("INCRBY c -1", ":-10");
    is("INCRBY c 0", ":-10");
    is("DECRBY nc 5", ":-5");
    is("DECR nd", ":-1");
    is("INCRBY ne 0", ":0");
    is("GET ne", "\"0\"");

    /* digits grow past the old capacity, and shrink back in place */
    is("SET g 9", "+OK");
    is("INCR g", ":10");
    is("GET g", "\"10\"");
    is("INCRBY g 999999990", ":1000000000");
    is("DECRBY g 999999999", ":1");
    is("GET g", "\"1\"");
    is("STRLEN g", ":1");

    /* not integers */
    is("SET s abc", "+OK");
    err("INCR s", "BADREQ", "value is not an integer or out of range");
    is("SET s \" 1\"", "+OK");
    err("INCR s", "BADREQ", "value is not an integer or out of range");
    is("SET s \"1 \"", "+OK");
    err("INCR s", "BADREQ", "value is not an integer or out of range");
    is("SET s 01", "+OK");
    err("INCR s", "BADREQ", "value is not an integer or out of range");
    is("SET s +1", "+OK");
    err("INCR s", "BADREQ", "value is not an integer or out of range");
    is("SET s 1.5", "+OK");
    err("INCRBY s 1", "BADREQ", "value is not an integer or out of range");
    is("SET s \"\"", "+OK");
    err("DECR s", "BADREQ", "value is not an integer or out of range");
    is("SET s 9223372036854775808", "+OK");
    err("INCR s", "BADREQ", "value is not an integer or out of range");
    is("GET s", "\"9223372036854775808\"");

    err("INCRBY c abc", "BADREQ", "value is not an integer or out of range");
    err("INCRBY c 1.0", "BADREQ", "value is not an integer or out of range");
    err("INCRBY c 9223372036854775808", "BADREQ",
        "value is not an integer or out of range");
    err("DECRBY c x", "BADREQ", "value is not an integer or out of range");
    err("INCRBY nosuch x", "BADREQ",
        "value is not an integer or out of range");
    is("EXISTS nosuch", ":0");

    /* overflow: an error, the value unchanged */
    is("SET m 9223372036854775807", "+OK");
    err("INCR m", "BADREQ", "increment or decrement would overflow");
    err("INCRBY m 1", "BADREQ", "increment or decrement would overflow");
    is("GET m", "\"9223372036854775807\"");
    is("DECR m", ":9223372036854775806");
    is("INCRBY m 1", ":9223372036854775807");
    is("INCRBY m -9223372036854775807", ":0");

    is("SET m -9223372036854775808", "+OK");
    err("DECR m", "BADREQ", "increment or decrement would overflow");
    err("INCRBY m -1", "BADREQ", "increment or decrement would overflow");
    err("DECRBY m 1", "BADREQ", "increment or decrement would overflow");
    is("GET m", "\"-9223372036854775808\"");
    is("INCRBY m 9223372036854775807", ":-1");

    is("SET m 1", "+OK");
    err("DECRBY m -9223372036854775808", "BADREQ",
        "decrement would overflow");
    is("INCRBY m -9223372036854775808", ":-9223372036854775807");
    is("DECRBY m 9223372036854775807", "!BADREQ");
    is("SET m -1", "+OK");
    is("INCRBY m -9223372036854775807", ":-9223372036854775808");

    /* INCR keeps the TTL */
    is("SET t 5 EX 100", "+OK");
    is("INCR t", ":6");
    is("TTL t", ":100");
    is("INCRBY t 1000000", ":1000006");
    is("TTL t", ":100");

    other_make("w");
    err("INCR w", "WRONGTYPE",
        "Operation against a key holding the wrong kind of value");
    err("DECRBY w 1", "WRONGTYPE",
        "Operation against a key holding the wrong kind of value");
    other_drop("w");

    is("INCR", "!BADREQ");
    is("INCRBY c", "!BADREQ");

    is("FLUSHALL", "+OK");
}


static void
test_incrbyfloat(void)
{
    th_set_time(h, T0);

    is("SET mykey 10.50", "+OK");
    is("INCRBYFLOAT mykey 0.1", "\"10.6\"");
    is("INCRBYFLOAT mykey -5", "\"5.6\"");
    is("GET mykey", "\"5.6\"");
    is("SET mykey 5.0e3", "+OK");
    is("INCRBYFLOAT mykey 2.0e2", "\"5200\"");
    is("GET mykey", "\"5200\"");
    is("SET f 10.5", "+OK");
    is("INCRBYFLOAT f 0", "\"10.5\"");
    is("INCRBYFLOAT n 3.0e3", "\"3000\"");
    is("GET n", "\"3000\"");
    is("SET n 5000", "+OK");
    is("INCRBYFLOAT n 0.0", "\"5000\"");
    is("INCRBYFLOAT z -0", "\"0\"");
    is("INCRBYFLOAT z 1.5", "\"1.5\"");
    is("INCRBYFLOAT z -3", "\"-1.5\"");
    is("INCRBYFLOAT z 1.5", "\"0\"");
    is("SET i 17", "+OK");
    is("INCRBYFLOAT i 1", "\"18\"");
    is("INCR i", ":19");
    is("INCRBYFLOAT i 0.25", "\"19.25\"");
    err("INCR i", "BADREQ", "value is not an integer or out of range");
    is("INCRBYFLOAT h 0x10", "\"16\"");
    /* every digit, as Redis prints it (checked against redis 7.0) */
    is("INCRBYFLOAT big 1e200", "\""
        "100000000000000000002458586534161025661508068040050002887327"
        "500487325785432383926208372890736129198739813658147359652238"
        "566592960617854587787845326097835852628442219969983473365844"
        "529789269081145212928" "\"");
    is("INCRBYFLOAT big 1e200", "\""
        "200000000000000000004917173068322051323016136080100005774655"
        "000974651570864767852416745781472258397479627316294719304477"
        "133185921235709175575690652195671705256884439939966946731689"
        "059578538162290425856" "\"");

    /* errors: the value stays */
    is("SET s abc", "+OK");
    err("INCRBYFLOAT s 1", "BADREQ", "value is not a valid float");
    err("INCRBYFLOAT f abc", "BADREQ", "value is not a valid float");
    err("INCRBYFLOAT f nan", "BADREQ", "value is not a valid float");
    err("INCRBYFLOAT f \" 1\"", "BADREQ", "value is not a valid float");
    err("INCRBYFLOAT f \"1 \"", "BADREQ", "value is not a valid float");
    err("INCRBYFLOAT f \"\"", "BADREQ", "value is not a valid float");
    err("INCRBYFLOAT f inf", "BADREQ",
        "increment would produce NaN or Infinity");
    err("INCRBYFLOAT f -inf", "BADREQ",
        "increment would produce NaN or Infinity");
    is("GET f", "\"10.5\"");
    is("SET s \"1.5 \"", "+OK");
    err("INCRBYFLOAT s 1", "BADREQ", "value is not a valid float");
    err("INCRBYFLOAT nosuch x", "BADREQ", "value is not a valid float");
    is("EXISTS nosuch", ":0");

    /* keeps the TTL */
    is("SET t 1.5 PX 5000", "+OK");
    is("INCRBYFLOAT t 1", "\"2.5\"");
    is("PTTL t", ":5000");

    other_make("w");
    err("INCRBYFLOAT w 1", "WRONGTYPE",
        "Operation against a key holding the wrong kind of value");
    other_drop("w");

    is("FLUSHALL", "+OK");
}


static void
test_ctype(void)
{
    kvmq_slice_t  ct = kvmq_slice("text/plain");
    kvmq_slice_t  js = kvmq_slice("application/json");
    kvmq_slice_t  none = kvmq_slice("");

    /* a new value stores the request's Content-Type */
    h->ctx.ctype = &ct;
    is("SET k 10", "+OK");
    h->ctx.ctype = NULL;
    tap_ok(h->meta.ctype.len == 10
           && memcmp(h->meta.ctype.data, "text/plain", 10) == 0,
           "SET meta: the stored Content-Type");

    is("GET k", "\"10\"");
    tap_ok(h->meta.ctype.len == 10
           && memcmp(h->meta.ctype.data, "text/plain", 10) == 0,
           "GET meta: the stored Content-Type");

    /* in-place writes keep it, also when the value moves */
    is("INCR k", ":11");
    is("INCRBY k 100000", ":100011");
    is("APPEND k 0123456789012345678901234567890123456789", ":46");
    tap_ok(h->meta.ctype.len == 10
           && memcmp(h->meta.ctype.data, "text/plain", 10) == 0,
           "APPEND meta: Content-Type kept");
    is("SETRANGE k 100 x", ":101");
    is("SET n 1.5", "+OK");
    is("GET k", "\"1000110123456789012345678901234567890123456789"
       "\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00"
       "\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00"
       "\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00"
       "\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00"
       "\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00"
       "\\x00\\x00\\x00\\x00x\"");
    tap_ok(h->meta.ctype.len == 10
           && memcmp(h->meta.ctype.data, "text/plain", 10) == 0,
           "after INCR, APPEND, SETRANGE: Content-Type kept");

    /* a SET replaces it; an empty one clears it */
    h->ctx.ctype = &js;
    is("SET k {}", "+OK");
    h->ctx.ctype = NULL;
    is("GET k", "\"{}\"");
    tap_ok(h->meta.ctype.len == 16
           && memcmp(h->meta.ctype.data, "application/json", 16) == 0,
           "SET: new Content-Type");

    h->ctx.ctype = &none;
    is("SET k x", "+OK");
    h->ctx.ctype = NULL;
    is("GET k", "\"x\"");
    tap_ok(h->meta.ctype.len == 0, "empty Content-Type: none stored");

    is("SET k y", "+OK");
    is("GET k", "\"y\"");
    tap_ok(h->meta.ctype.len == 0, "no Content-Type: none stored");

    h->ctx.ctype = &ct;
    is("INCRBYFLOAT f 1.5", "\"1.5\"");
    h->ctx.ctype = NULL;
    is("INCRBYFLOAT f 100000.25", "\"100001.75\"");
    is("GET f", "\"100001.75\"");
    tap_ok(h->meta.ctype.len == 10, "INCRBYFLOAT: Content-Type kept");

    is("FLUSHALL", "+OK");
}


static void
test_max_value(void)
{
    h->ctx.max_value = 10;

    is("SET k 0123456789", "+OK");
    err("APPEND k x", "TOOLARGE", "string exceeds maximum allowed size");
    is("STRLEN k", ":10");
    is("SET j 01234", "+OK");
    is("APPEND j 56789", ":10");
    is("APPEND j \"\"", ":10");
    err("SETRANGE j 10 x", "TOOLARGE", "string exceeds maximum allowed size");
    err("SETRANGE j 9 xy", "TOOLARGE", "string exceeds maximum allowed size");
    is("SETRANGE j 9 x", ":10");
    err("SETRANGE new 10 x", "TOOLARGE",
        "string exceeds maximum allowed size");
    err("APPEND new 0123456789x", "TOOLARGE",
        "string exceeds maximum allowed size");
    err("SET new 0123456789x", "TOOLARGE",
        "string exceeds maximum allowed size");
    err("MSET a 1 new 0123456789x", "TOOLARGE",
        "string exceeds maximum allowed size");
    is("EXISTS new a", ":0");
    is("GET j", "\"012345678x\"");

    h->ctx.max_value = 0;
    is("APPEND j x", ":11");

    is("FLUSHALL", "+OK");
}


/* the db as a write left it: value, key count, bytes in use */
static void
unchanged(const char *key, const char *value, const char *dbsize,
    size_t used, const char *what)
{
    char  line[128];

    snprintf(line, sizeof(line), "GET %s", key);
    th_is(h, line, value, what);
    th_is(h, "DBSIZE", dbsize, "  ... DBSIZE unchanged");
    tap_is_int((long long) h->used, (long long) used,
               "  ... host bytes unchanged");
}


static void
test_nomem(void)
{
    int     i, n;
    char    line[256], big[1200];
    size_t  used;
    th_t   *saved;

    saved = h;
    h = th_new(64 * 1024, KVMQ_EVICT_NOEVICTION);
    th_set_time(h, T0);

    memset(big, 'b', 1000);
    big[1000] = '\0';

    is("SET k 9", "+OK");
    is("SET s hello", "+OK");

    /* fill the "zone" until writes fail */
    for (n = 0; n < 100000; n++) {
        snprintf(line, sizeof(line),
                 "SET fill:%d 0123456789012345678901234567890123456789", n);
        if (strcmp(th_run(h, line), "+OK") != 0) {
            break;
        }
    }

    tap_ok(n > 10 && n < 100000, "filled the zone with %d keys", n);
    tap_ok(h->reply.err == KVMQ_ERR_NOMEM, "the failing write: NOMEM");

    /* from here nothing at all may be allocated */
    h->limit = h->used;
    used = h->used;
    snprintf(line, sizeof(line), ":%d", n + 2);

    snprintf(big, sizeof(big), "SET s %.1000d", 0);
    is(big, "!NOMEM");
    unchanged("s", "\"hello\"", line, used, "SET over: value unchanged");

    is("SET newkey v", "!NOMEM");
    is("EXISTS newkey", ":0");
    unchanged("s", "\"hello\"", line, used, "SET new key");

    is("SET s xyz GET", "!NOMEM");
    unchanged("s", "\"hello\"", line, used, "SET GET");

    is("SETNX newkey v", "!NOMEM");
    is("SETEX newkey 10 v", "!NOMEM");
    is("GETSET s v", "!NOMEM");
    unchanged("s", "\"hello\"", line, used, "SETNX SETEX GETSET");

    is("MSET a 1 b 2", "!NOMEM");
    is("MSET s 1 k 2", "!NOMEM");
    is("MSETNX a 1 b 2", "!NOMEM");
    is("EXISTS a b", ":0");
    unchanged("s", "\"hello\"", line, used, "MSET MSETNX");
    is("GET k", "\"9\"");

    snprintf(big, sizeof(big), "APPEND s %.1000d", 0);
    is(big, "!NOMEM");
    is("APPEND newkey x", "!NOMEM");
    unchanged("s", "\"hello\"", line, used, "APPEND");

    is("SETRANGE s 1000 x", "!NOMEM");
    is("SETRANGE newkey 0 x", "!NOMEM");
    unchanged("s", "\"hello\"", line, used, "SETRANGE");

    /* "9" -> "10" needs a bigger block */
    is("INCR k", "!NOMEM");
    is("INCRBYFLOAT k 1", "!NOMEM");
    is("INCR newkey", "!NOMEM");
    is("INCRBYFLOAT newkey 1.5", "!NOMEM");
    unchanged("k", "\"9\"", line, used, "INCR");

    /* writes that fit in place need no memory */
    is("DECR k", ":8");
    is("SETRANGE s 0 J", ":5");
    is("GET s", "\"Jello\"");
    tap_is_int((long long) h->used, (long long) used,
               "in-place writes allocate nothing");
    is("GETDEL fill:0", "\"0123456789012345678901234567890123456789\"");
    tap_ok(h->used < used, "GETDEL frees");

    /*
     * MSET that fails half-way: room for every value and for some but
     * not all of the new entries; the entries it linked are unlinked.
     */
    h->limit = 0;
    is("FLUSHALL", "+OK");
    is("MSET x 1 y 2", "+OK");
    used = h->used;
    h->limit = used + 3 * (offsetof(kvmq_string_t, data) + 1)
               + sizeof(kvmq_entry_t) + 1 + 8;
    is("MSET x 9 p 1 q 2", "!NOMEM");
    is("MGET x y p q", "[\"1\",\"2\",nil,nil]");
    is("DBSIZE", ":2");
    tap_is_int((long long) h->used, (long long) used,
               "MSET rolled back: host bytes unchanged");

    h->limit = used + 3 * (offsetof(kvmq_string_t, data) + 1)
               + 2 * (sizeof(kvmq_entry_t) + 1);
    is("MSET x 9 p 1 q 2", "+OK");
    is("MGET x y p q", "[\"9\",\"2\",\"1\",\"2\"]");

    /* eviction: a full zone with an LRU policy makes room instead */
    th_free(h);
    h = th_new(32 * 1024, KVMQ_EVICT_ALLKEYS_LRU);
    th_set_time(h, T0);

    for (i = 0; i < 2000; i++) {
        snprintf(line, sizeof(line),
                 "SET fill:%d 0123456789012345678901234567890123456789", i);
        if (strcmp(th_run(h, line), "+OK") != 0) {
            break;
        }
    }

    tap_ok(i == 2000, "allkeys-lru: every SET succeeds (%d)", i);
    is("GET fill:1999", "\"0123456789012345678901234567890123456789\"");

    th_free(h);
    h = saved;
}


int
main(void)
{
    h = th_new(0, KVMQ_EVICT_NOEVICTION);
    th_set_time(h, T0);

    test_set_basic();
    test_set_options();
    test_set_get();
    test_setnx_setex();
    test_getset_getdel();
    test_getex();
    test_mset();
    test_mset_many();
    test_append_strlen();
    test_getrange();
    test_setrange();
    test_incr();
    test_incrbyfloat();
    test_ctype();
    test_max_value();
    test_nomem();

    th_free(h);

    return tap_done();
}
