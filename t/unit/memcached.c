/*
 * Unit tests of the memcached-style commands (src/t_string.c): ADD
 * REPLACE PREPEND GETS CAS, with their TTL options, the cas sequence
 * shared with every other write, the meta a REST door builds ETag /
 * X-Kvmq-TTL / Content-Type / 201-vs-200 from, WRONGTYPE, the size limit
 * and NOMEM.
 */

#include <stdio.h>
#include <stdlib.h>

#include "agg_util.h"


#define T0  1700000000000LL


/* the cas GETS reports for key, or 0 */
static unsigned long long
gets_cas(const char *key)
{
    char         line[128];
    const char  *r, *p;

    snprintf(line, sizeof(line), "GETS %s", key);
    r = th_run(h, line);

    p = strrchr(r, ':');

    return p ? strtoull(p + 1, NULL, 10) : 0;
}


static void
test_add_replace(void)
{
    th_set_time(h, T0);

    is("ADD k v", ":1");
    tap_ok(h->has_meta && !h->meta.existed, "ADD stored: meta existed 0");
    tap_is_int(h->meta.pttl, -1, "  ... no TTL");
    is("GET k", "\"v\"");
    is("ADD k w", ":0");
    tap_ok(!h->has_meta, "ADD not stored: no meta");
    is("GET k", "\"v\"");

    is("ADD t v EX 10", ":1");
    tap_is_int(h->meta.pttl, 10000, "ADD EX: meta pttl");
    is("PTTL t", ":10000");
    is("ADD p v PX 1500", ":1");
    is("PTTL p", ":1500");
    is("add q v px 5", ":1");
    is("PTTL q", ":5");

    /* an expired key is absent: ADD stores */
    th_set_time(h, T0 + 6);
    is("ADD q again", ":1");
    is("GET q", "\"again\"");
    is("PTTL q", ":-1");
    th_set_time(h, T0);

    is("REPLACE nosuch v", ":0");
    tap_ok(!h->has_meta, "REPLACE not stored: no meta");
    is("EXISTS nosuch", ":0");
    is("REPLACE k v2", ":1");
    tap_ok(h->has_meta && h->meta.existed, "REPLACE stored: meta existed 1");
    is("GET k", "\"v2\"");

    /* REPLACE without EX/PX drops the TTL, as SET does */
    is("PTTL t", ":10000");
    is("REPLACE t v2", ":1");
    is("PTTL t", ":-1");
    is("REPLACE t v3 EX 20", ":1");
    is("PTTL t", ":20000");
    is("REPLACE t v4 PX 300", ":1");
    is("PTTL t", ":300");
    is("GET t", "\"v4\"");

    /* options */
    err("ADD k v EX", "BADREQ", "syntax error");
    err("ADD k v EX 10 PX 10", "BADREQ", "syntax error");
    err("ADD k v EXAT 10", "BADREQ", "syntax error");
    err("ADD k v PXAT 10", "BADREQ", "syntax error");
    err("ADD k v KEEPTTL", "BADREQ", "syntax error");
    err("ADD k v NX", "BADREQ", "syntax error");
    err("ADD k v XX", "BADREQ", "syntax error");
    err("ADD k v GET", "BADREQ", "syntax error");
    err("ADD k v FOO", "BADREQ", "syntax error");
    err("ADD n v EX 0", "BADREQ", "invalid expire time in 'add' command");
    err("ADD n v PX -1", "BADREQ", "invalid expire time in 'add' command");
    err("ADD n v EX x", "BADREQ", "value is not an integer or out of range");
    err("REPLACE k v PX 0", "BADREQ",
        "invalid expire time in 'replace' command");
    err("REPLACE k v KEEPTTL", "BADREQ", "syntax error");
    err("REPLACE k v EX 1 EX", "BADREQ", "syntax error");
    is("EXISTS n", ":0");
    is("GET k", "\"v2\"");
    is("ADD k", "!BADREQ");
    is("REPLACE k", "!BADREQ");

    /* another type: WRONGTYPE, never "not stored" */
    other_make("w");
    err("ADD w v", "WRONGTYPE",
        "Operation against a key holding the wrong kind of value");
    err("REPLACE w v", "WRONGTYPE",
        "Operation against a key holding the wrong kind of value");
    other_drop("w");

    is("FLUSHALL", "+OK");
}


static void
test_prepend(void)
{
    int   i;
    char  line[64];

    th_set_time(h, T0);

    is("PREPEND k World", ":5");
    tap_ok(h->has_meta && !h->meta.existed, "PREPEND new: meta existed 0");
    is("PREPEND k \"Hello \"", ":11");
    tap_ok(h->has_meta && h->meta.existed, "PREPEND old: meta existed 1");
    is("GET k", "\"Hello World\"");
    is("PREPEND k \"\"", ":11");
    is("GET k", "\"Hello World\"");
    is("APPEND k !", ":12");
    is("PREPEND k >", ":13");
    is("GET k", "\">Hello World!\"");
    is("PREPEND e \"\"", ":0");
    is("EXISTS e", ":1");

    /* PREPEND keeps the TTL */
    is("EXPIRE k 100", ":1");
    is("PREPEND k x", ":14");
    is("TTL k", ":100");

    /* many prepends across growth */
    for (i = 0; i < 100; i++) {
        snprintf(line, sizeof(line), "PREPEND grow %d", i % 10);
        th_run(h, line);
    }

    is("STRLEN grow", ":100");
    is("GETRANGE grow 0 11", "\"987654321098\"");
    is("GETRANGE grow -3 -1", "\"210\"");

    /* a number stays a number */
    is("SET n 23", "+OK");
    is("PREPEND n 1", ":3");
    is("INCR n", ":124");
    is("PREPEND n -", ":4");
    is("INCR n", ":-123");

    other_make("w");
    err("PREPEND w v", "WRONGTYPE",
        "Operation against a key holding the wrong kind of value");
    other_drop("w");

    h->ctx.max_value = 12;
    is("SET m 0123456789", "+OK");
    is("PREPEND m ab", ":12");
    err("PREPEND m c", "TOOLARGE", "string exceeds maximum allowed size");
    err("PREPEND new 0123456789abc", "TOOLARGE",
        "string exceeds maximum allowed size");
    is("GET m", "\"ab0123456789\"");
    is("EXISTS new", ":0");
    h->ctx.max_value = 0;

    is("PREPEND k", "!BADREQ");
    is("PREPEND k a b", "!BADREQ");

    is("FLUSHALL", "+OK");
}


static void
test_gets_cas(void)
{
    char                line[128];
    unsigned long long  cas, cas2;

    th_set_time(h, T0);

    is("GETS nosuch", "nil");
    tap_ok(!h->has_meta, "GETS missing: no meta");

    is("SET k v", "+OK");
    cas = h->meta.cas;
    tap_ok(cas > 0, "SET gives a cas");
    snprintf(line, sizeof(line), "[\"v\",:%llu]", cas);
    is("GETS k", line);
    tap_ok(h->has_meta && h->meta.cas == cas && h->meta.existed,
           "GETS meta: the same cas");

    /* reads keep the cas, every write changes it */
    is("GET k", "\"v\"");
    tap_ok(gets_cas("k") == cas, "GET keeps the cas");
    is("STRLEN k", ":1");
    tap_ok(gets_cas("k") == cas, "STRLEN keeps the cas");

    is("APPEND k x", ":2");
    cas2 = gets_cas("k");
    tap_ok(cas2 > cas, "APPEND changes the cas");
    is("SETRANGE k 0 y", ":2");
    tap_ok(gets_cas("k") > cas2, "SETRANGE changes the cas");
    cas2 = gets_cas("k");
    is("SETBIT k 0 1", ":0");
    tap_ok(gets_cas("k") > cas2, "SETBIT changes the cas");
    cas2 = gets_cas("k");
    is("SET k 5", "+OK");
    tap_ok(gets_cas("k") == h->meta.cas && h->meta.cas > cas2,
           "SET changes the cas");
    cas2 = gets_cas("k");
    is("INCR k", ":6");
    tap_ok(gets_cas("k") > cas2, "INCR changes the cas");
    cas2 = gets_cas("k");
    is("PREPEND k 1", ":2");
    tap_ok(gets_cas("k") > cas2, "PREPEND changes the cas");

    /* CAS: stored with the current cas, refused with an old one */
    cas = gets_cas("k");
    snprintf(line, sizeof(line), "CAS k new %llu", cas - 1);
    is(line, ":0");
    tap_ok(!h->has_meta, "CAS conflict: no meta");
    is("GET k", "\"16\"");

    snprintf(line, sizeof(line), "CAS k new %llu", cas);
    is(line, ":1");
    tap_ok(h->has_meta && h->meta.existed && h->meta.cas > cas,
           "CAS stored: meta with the new cas");
    cas2 = h->meta.cas;
    is("GET k", "\"new\"");
    tap_ok(gets_cas("k") == cas2, "GETS sees the cas CAS reported");

    /* the same cas a second time: someone (we) wrote meanwhile */
    is(line, ":0");
    is("GET k", "\"new\"");

    /* absent: nil */
    is("CAS nosuch v 1", "nil");
    is("EXISTS nosuch", ":0");

    /* TTL: EX/PX set it, none drops it */
    is("EXPIRE k 100", ":1");
    snprintf(line, sizeof(line), "CAS k v2 %llu", gets_cas("k"));
    is(line, ":1");
    is("PTTL k", ":-1");
    snprintf(line, sizeof(line), "CAS k v3 %llu EX 30", gets_cas("k"));
    is(line, ":1");
    tap_is_int(h->meta.pttl, 30000, "CAS EX: meta pttl");
    is("PTTL k", ":30000");
    snprintf(line, sizeof(line), "CAS k v4 %llu PX 250", gets_cas("k"));
    is(line, ":1");
    is("PTTL k", ":250");
    is("GET k", "\"v4\"");

    /* an expired key is absent */
    th_set_time(h, T0 + 251);
    snprintf(line, sizeof(line), "CAS k v5 %llu", cas2);
    is(line, "nil");
    th_set_time(h, T0);

    /* argument errors, checked before the key */
    err("CAS k v abc", "BADREQ", "value is not an integer or out of range");
    err("CAS k v 1.5", "BADREQ", "value is not an integer or out of range");
    err("CAS nosuch v x", "BADREQ",
        "value is not an integer or out of range");
    err("CAS k v 1 EX 0", "BADREQ", "invalid expire time in 'cas' command");
    err("CAS k v 1 EX 1 PX 1", "BADREQ", "syntax error");
    err("CAS k v 1 KEEPTTL", "BADREQ", "syntax error");
    err("CAS k v 1 EX", "BADREQ", "syntax error");
    err("CAS k v 1 NX", "BADREQ", "syntax error");
    is("CAS k v -1", "nil");
    is("SET k v", "+OK");
    is("CAS k v2 -1", ":0");
    is("CAS k v", "!BADREQ");
    is("GETS", "!BADREQ");

    other_make("w");
    snprintf(line, sizeof(line), "CAS w v %llu", gets_cas("k"));
    err(line, "WRONGTYPE",
        "Operation against a key holding the wrong kind of value");
    err("GETS w", "WRONGTYPE",
        "Operation against a key holding the wrong kind of value");
    other_drop("w");

    is("FLUSHALL", "+OK");
}


static void
test_meta_ctype(void)
{
    char          line[64];
    kvmq_slice_t  ct = kvmq_slice("text/html; charset=utf-8");
    kvmq_slice_t  js = kvmq_slice("application/json");

    th_set_time(h, T0);

    h->ctx.ctype = &ct;
    is("ADD page <p>hi</p> EX 60", ":1");
    h->ctx.ctype = NULL;
    tap_ok(h->meta.ctype.len == ct.len
           && memcmp(h->meta.ctype.data, ct.data, ct.len) == 0,
           "ADD stores the Content-Type");
    tap_is_int(h->meta.pttl, 60000, "ADD meta pttl");

    snprintf(line, sizeof(line), "[\"<p>hi</p>\",:%llu]",
             (unsigned long long) h->meta.cas);
    is("GETS page", line);
    tap_ok(h->meta.ctype.len == ct.len
           && memcmp(h->meta.ctype.data, ct.data, ct.len) == 0,
           "GETS reports the Content-Type");
    tap_is_int(h->meta.pttl, 60000, "GETS meta pttl");

    /* PREPEND and APPEND keep it (in place and after growth) */
    is("PREPEND page <html>", ":15");
    is("APPEND page </html>", ":22");
    tap_ok(h->meta.ctype.len == ct.len
           && memcmp(h->meta.ctype.data, ct.data, ct.len) == 0,
           "PREPEND/APPEND keep the Content-Type");

    /* REPLACE and CAS store the request's, or none */
    h->ctx.ctype = &js;
    is("REPLACE page {}", ":1");
    h->ctx.ctype = NULL;
    tap_ok(h->meta.ctype.len == js.len
           && memcmp(h->meta.ctype.data, js.data, js.len) == 0,
           "REPLACE stores the new Content-Type");

    snprintf(line, sizeof(line), "CAS page [] %llu", gets_cas("page"));
    is(line, ":1");
    tap_ok(h->meta.ctype.len == 0, "CAS without one: none stored");

    is("FLUSHALL", "+OK");
}


static void
test_nomem(void)
{
    char    line[64];
    size_t  used;
    th_t   *saved;

    saved = h;
    h = th_new(0, KVMQ_EVICT_NOEVICTION);
    th_set_time(h, T0);

    is("SET k hello", "+OK");
    is("SET n 1", "+OK");
    h->limit = h->used;
    used = h->used;

    is("ADD new v", "!NOMEM");
    is("REPLACE k world", "!NOMEM");
    is("PREPEND k xx", "!NOMEM");
    is("PREPEND new xx", "!NOMEM");
    snprintf(line, sizeof(line), "CAS k world %llu", gets_cas("k"));
    is(line, "!NOMEM");
    is("GET k", "\"hello\"");
    is("EXISTS new", ":0");
    is("DBSIZE", ":2");
    tap_is_int((long long) h->used, (long long) used,
               "memcached writes failing NOMEM: host bytes unchanged");

    /* not-stored answers need no memory and come first */
    is("ADD k v", ":0");
    is("REPLACE new v", ":0");
    is("CAS new v 1", "nil");
    is("CAS k v 1", ":0");

    th_free(h);
    h = saved;
}


int
main(void)
{
    h = th_new(0, KVMQ_EVICT_NOEVICTION);
    th_set_time(h, T0);

    test_add_replace();
    test_prepend();
    test_gets_cas();
    test_meta_ctype();
    test_nomem();

    th_free(h);

    return tap_done();
}
