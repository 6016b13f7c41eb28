/*
 * Unit tests of the keyspace commands (src/keys.c): DEL UNLINK EXISTS
 * TYPE TOUCH, the expiry family with NX XX GT LT, TTL/PTTL, PERSIST,
 * RENAME RENAMENX, RANDOMKEY, DBSIZE, FLUSHALL.  KEYS, SCAN, expiry and
 * the large keyspace are in scan.c.
 *
 * The clock is fixed (th_set_time) wherever a TTL is read, so that exact
 * values can be asserted.  Keys of other types than strings are made
 * with kvmq_db_add() and a NULL value, which the value destructor
 * accepts; so TYPE is tested before those types exist.
 */

#include "keys_util.h"


static void
test_del_exists(void)
{
    th_t  *h;

    h = th_new(0, KVMQ_EVICT_NOEVICTION);

    is(h, "+OK", "SET a 1");
    is(h, "+OK", "SET b 2");
    is(h, "+OK", "SET c 3");

    is(h, ":0", "EXISTS nosuch");
    is(h, ":1", "EXISTS a");
    is(h, ":4", "EXISTS a a b c");
    is(h, ":3", "EXISTS a nosuch a b");

    /* a key named twice is deleted once */
    is(h, ":1", "DEL a a");
    is(h, ":0", "EXISTS a");
    is(h, ":0", "DEL a nosuch");
    is(h, ":2", "UNLINK b c nosuch");
    is(h, ":0", "EXISTS b c");
    is(h, ":0", "DBSIZE");

    is(h, "!BADREQ", "DEL");
    is(h, "!BADREQ", "UNLINK");
    is(h, "!BADREQ", "EXISTS");

    /* binary keys */
    is(h, "+OK", "SET \"a\\x00b\" v");
    is(h, ":0", "EXISTS a");
    is(h, ":1", "EXISTS \"a\\x00b\"");
    is(h, ":1", "DEL \"a\\x00b\"");

    th_free(h);
}


static void
test_type_touch(void)
{
    th_t  *h;

    h = th_new(0, KVMQ_EVICT_NOEVICTION);

    is(h, "+OK", "SET s v");
    add_typed(h, "l", KVMQ_TYPE_LIST);
    add_typed(h, "h", KVMQ_TYPE_HASH);
    add_typed(h, "st", KVMQ_TYPE_SET);
    add_typed(h, "z", KVMQ_TYPE_ZSET);

    is(h, "+string", "TYPE s");
    is(h, "+list", "TYPE l");
    is(h, "+hash", "TYPE h");
    is(h, "+set", "TYPE st");
    is(h, "+zset", "TYPE z");
    is(h, "+none", "TYPE nosuch");
    is(h, "!BADREQ", "TYPE s s");

    is(h, ":2", "TOUCH s l nosuch");
    is(h, ":2", "TOUCH s s");
    is(h, ":0", "TOUCH nosuch");

    /* DEL works on any type */
    is(h, ":4", "DEL l h st z");
    is(h, ":1", "DBSIZE");

    th_free(h);
}


/* ---- expiry ------------------------------------------------------------ */


static void
test_ttl_basic(void)
{
    th_t  *h;

    h = th_new(0, KVMQ_EVICT_NOEVICTION);
    th_set_time(h, T0);

    is(h, ":-2", "TTL nosuch");
    is(h, ":-2", "PTTL nosuch");
    is(h, ":-2", "EXPIRETIME nosuch");
    is(h, ":-2", "PEXPIRETIME nosuch");

    is(h, "+OK", "SET k v");
    is(h, ":-1", "TTL k");
    is(h, ":-1", "PTTL k");
    is(h, ":-1", "EXPIRETIME k");
    is(h, ":-1", "PEXPIRETIME k");

    is(h, ":0", "EXPIRE nosuch 100");
    is(h, ":1", "EXPIRE k 100");
    is(h, ":100", "TTL k");
    is(h, ":100000", "PTTL k");
    is(h, ":1700000100", "EXPIRETIME k");
    is(h, ":1700000100000", "PEXPIRETIME k");

    /* seconds round to the nearest, as Redis does */
    th_set_time(h, T0 + 499);
    is(h, ":100", "TTL k");
    is(h, ":99501", "PTTL k");
    th_set_time(h, T0 + 501);
    is(h, ":99", "TTL k");

    th_set_time(h, T0);
    is(h, ":1", "PEXPIRE k 1500");
    is(h, ":2", "TTL k");
    is(h, ":1500", "PTTL k");
    is(h, ":1700000001500", "PEXPIRETIME k");
    is(h, ":1700000002", "EXPIRETIME k");

    is(h, ":1", "EXPIREAT k 1700000200");
    is(h, ":200", "TTL k");
    is(h, ":1", "PEXPIREAT k 1700000000250");
    is(h, ":250", "PTTL k");

    /* the key lives while now <= expire, and not a ms more */
    th_set_time(h, T0 + 250);
    is(h, ":0", "PTTL k");
    is(h, ":1", "EXISTS k");
    th_set_time(h, T0 + 251);
    is(h, ":-2", "PTTL k");
    is(h, ":0", "EXISTS k");
    is(h, ":0", "DBSIZE");

    /* PERSIST */
    th_set_time(h, T0);
    is(h, "+OK", "SET p v");
    is(h, ":0", "PERSIST p");
    is(h, ":0", "PERSIST nosuch");
    is(h, ":1", "EXPIRE p 10");
    is(h, ":1", "PERSIST p");
    is(h, ":-1", "TTL p");
    is(h, ":0", "PERSIST p");
    th_set_time(h, T0 + 20000);
    is(h, ":1", "EXISTS p");

    /* SET without KEEPTTL clears the TTL */
    th_set_time(h, T0);
    is(h, ":1", "EXPIRE p 10");
    is(h, "+OK", "SET p w");
    is(h, ":-1", "TTL p");

    /* arity */
    is(h, "!BADREQ", "EXPIRE p");
    is(h, "!BADREQ", "TTL");
    is(h, "!BADREQ", "TTL a b");
    is(h, "!BADREQ", "PERSIST");

    th_free(h);
}


static void
test_expire_past(void)
{
    th_t  *h;

    h = th_new(0, KVMQ_EVICT_NOEVICTION);
    th_set_time(h, T0);

    /* a time not in the future deletes the key and answers 1 */
    is(h, "+OK", "SET k v");
    is(h, ":1", "EXPIRE k -1");
    is(h, ":0", "EXISTS k");

    is(h, "+OK", "SET k v");
    is(h, ":1", "EXPIRE k 0");
    is(h, ":0", "EXISTS k");

    is(h, "+OK", "SET k v");
    is(h, ":1", "PEXPIRE k 0");
    is(h, ":0", "EXISTS k");

    is(h, "+OK", "SET k v");
    is(h, ":1", "PEXPIRE k -100000");
    is(h, ":0", "EXISTS k");

    is(h, "+OK", "SET k v");
    is(h, ":1", "EXPIREAT k 1");
    is(h, ":0", "EXISTS k");

    is(h, "+OK", "SET k v");
    is(h, ":1", "EXPIREAT k -5");
    is(h, ":0", "EXISTS k");

    /* now itself is not the future */
    is(h, "+OK", "SET k v");
    is(h, ":1", "PEXPIREAT k 1700000000000");
    is(h, ":0", "EXISTS k");

    is(h, "+OK", "SET k v");
    is(h, ":1", "PEXPIREAT k 1700000000001");
    is(h, ":1", "EXISTS k");
    is(h, ":1", "PTTL k");

    is(h, ":0", "EXPIRE nosuch -1");
    is(h, ":1", "DBSIZE");

    /* a deleted key with a TTL is no longer counted as volatile */
    is(h, ":1", "EXPIRE k -1");
    is(h, ":0", "DBSIZE");

    th_free(h);
}


static void
test_expire_errors(void)
{
    th_t  *h;

    h = th_new(0, KVMQ_EVICT_NOEVICTION);
    th_set_time(h, T0);

    is(h, "+OK", "SET k v");

    is(h, "!BADREQ", "EXPIRE k abc");
    is(h, "!BADREQ", "EXPIRE k 1.5");
    is(h, "!BADREQ", "EXPIRE k \"\"");
    is(h, "!BADREQ", "EXPIRE k 99999999999999999999");
    is(h, "!BADREQ", "PEXPIREAT k 1e3");

    /* overflow of seconds to ms, and of now + ttl */
    is(h, "!BADREQ", "EXPIRE k 9223372036854775807");
    errmsg_is(h, "invalid expire time in 'expire' command");
    is(h, "!BADREQ", "EXPIRE k -9223372036854775808");
    errmsg_is(h, "invalid expire time in 'expire' command");
    is(h, "!BADREQ", "EXPIRE k 9223372036854775");
    errmsg_is(h, "invalid expire time in 'expire' command");
    is(h, "!BADREQ", "PEXPIRE k 9223372036854775807");
    errmsg_is(h, "invalid expire time in 'pexpire' command");
    is(h, "!BADREQ", "EXPIREAT k 9223372036854775807");
    errmsg_is(h, "invalid expire time in 'expireat' command");

    /* none of the above touched the key */
    is(h, ":-1", "TTL k");

    /* the largest absolute time is fine */
    is(h, ":1", "PEXPIREAT k 9223372036854775807");
    is(h, ":9223372036854775807", "PEXPIRETIME k");
    is(h, ":1", "EXPIREAT k 9223372036854775");
    is(h, ":9223372036854775", "EXPIRETIME k");

    /* the number is checked even when the key is absent */
    is(h, "!BADREQ", "EXPIRE nosuch abc");
    is(h, "!BADREQ", "EXPIRE nosuch 9223372036854775807");

    th_free(h);
}


static void
test_expire_options(void)
{
    th_t  *h;

    h = th_new(0, KVMQ_EVICT_NOEVICTION);
    th_set_time(h, T0);

    is(h, "+OK", "SET k v");

    /* no TTL: NX sets, XX does not, GT never (infinite), LT always */
    is(h, ":0", "EXPIRE k 100 XX");
    is(h, ":-1", "TTL k");
    is(h, ":0", "EXPIRE k 100 GT");
    is(h, ":-1", "TTL k");
    is(h, ":1", "EXPIRE k 100 LT");
    is(h, ":100", "TTL k");
    is(h, ":1", "PERSIST k");
    is(h, ":1", "EXPIRE k 100 NX");
    is(h, ":100", "TTL k");

    /* with a TTL of 100 */
    is(h, ":0", "EXPIRE k 50 NX");
    is(h, ":100", "TTL k");
    is(h, ":1", "EXPIRE k 200 XX");
    is(h, ":200", "TTL k");
    is(h, ":0", "EXPIRE k 100 GT");
    is(h, ":0", "EXPIRE k 200 GT");
    is(h, ":1", "EXPIRE k 300 GT");
    is(h, ":300", "TTL k");
    is(h, ":0", "EXPIRE k 400 LT");
    is(h, ":0", "EXPIRE k 300 LT");
    is(h, ":1", "EXPIRE k 100 LT");
    is(h, ":100", "TTL k");

    /* XX with GT or LT: both must hold */
    is(h, ":0", "EXPIRE k 50 XX GT");
    is(h, ":1", "EXPIRE k 150 XX GT");
    is(h, ":150", "TTL k");
    is(h, ":1", "EXPIRE k 120 XX LT");
    is(h, ":120", "TTL k");
    is(h, ":0", "EXPIRE k 130 LT XX");

    /* options are case-insensitive and may repeat */
    is(h, ":1", "EXPIRE k 500 gt Gt");
    is(h, ":500", "TTL k");

    /* the other units take the same options */
    is(h, ":0", "PEXPIRE k 1000 GT");
    is(h, ":1", "PEXPIRE k 1000 LT");
    is(h, ":1000", "PTTL k");
    is(h, ":0", "EXPIREAT k 1700000000 GT");
    is(h, ":1", "EXPIREAT k 1700000002 GT");
    is(h, ":2000", "PTTL k");
    is(h, ":0", "PEXPIREAT k 1700000003000 NX");
    is(h, ":1", "PEXPIREAT k 1700000003000 XX");
    is(h, ":3000", "PTTL k");

    /* GT with a past time fails (not greater); LT deletes */
    is(h, ":0", "EXPIRE k -1 GT");
    is(h, ":1", "EXISTS k");
    is(h, ":1", "EXPIRE k -1 LT");
    is(h, ":0", "EXISTS k");

    /* without a TTL, LT with a past time deletes too */
    is(h, "+OK", "SET k v");
    is(h, ":1", "EXPIRE k -1 LT");
    is(h, ":0", "EXISTS k");

    /* an absent key answers 0 whatever the options */
    is(h, ":0", "EXPIRE nosuch 10 NX");
    is(h, ":0", "EXPIRE nosuch 10 LT");

    /* invalid combinations, even on an absent key */
    is(h, "+OK", "SET k v");
    is(h, "!BADREQ", "EXPIRE k 10 NX XX");
    errmsg_is(h, "NX and XX, GT or LT options at the same time are not "
              "compatible");
    is(h, "!BADREQ", "EXPIRE k 10 NX GT");
    errmsg_is(h, "NX and XX, GT or LT options at the same time are not "
              "compatible");
    is(h, "!BADREQ", "EXPIRE k 10 LT NX");
    is(h, "!BADREQ", "EXPIRE k 10 GT LT");
    errmsg_is(h, "GT and LT options at the same time are not compatible");
    is(h, "!BADREQ", "PEXPIRE k 10 XX GT LT");
    is(h, "!BADREQ", "EXPIRE nosuch 10 GT LT");
    is(h, "!BADREQ", "EXPIRE k 10 FOO");
    errmsg_is(h, "Unsupported option FOO");
    is(h, "!BADREQ", "EXPIRE k 10 NX 5");

    /* options are checked before the number, as in Redis */
    is(h, "!BADREQ", "EXPIRE k abc NX XX");
    errmsg_is(h, "NX and XX, GT or LT options at the same time are not "
              "compatible");

    is(h, ":-1", "TTL k");

    th_free(h);
}


/* ---- RENAME RENAMENX --------------------------------------------------- */


static void
test_rename(void)
{
    th_t    *h;
    size_t   used;

    h = th_new(0, KVMQ_EVICT_NOEVICTION);
    th_set_time(h, T0);

    is(h, "!NOTFOUND", "RENAME nosuch x");
    errmsg_is(h, "no such key");
    is(h, "!NOTFOUND", "RENAMENX nosuch x");
    errmsg_is(h, "no such key");
    is(h, "!NOTFOUND", "RENAME nosuch nosuch");

    is(h, "+OK", "SET a 1");
    is(h, "+OK", "RENAME a a");
    is(h, "\"1\"", "GET a");
    is(h, ":0", "RENAMENX a a");
    is(h, "\"1\"", "GET a");

    is(h, "+OK", "RENAME a b");
    is(h, ":0", "EXISTS a");
    is(h, "\"1\"", "GET b");
    is(h, ":1", "DBSIZE");

    /* the TTL moves with the value */
    is(h, "+OK", "SET t tv");
    is(h, ":1", "PEXPIRE t 5000");
    is(h, "+OK", "RENAME t t2");
    is(h, ":5000", "PTTL t2");
    is(h, ":-2", "PTTL t");
    is(h, "\"tv\"", "GET t2");
    is(h, ":1", "EXPIRE t2 10");
    is(h, ":1", "RENAMENX t2 t3");
    is(h, ":10000", "PTTL t3");

    /* the destination loses its own TTL: it takes the source's (none) */
    is(h, "+OK", "SET src s");
    is(h, "+OK", "SET dst d");
    is(h, ":1", "EXPIRE dst 100");
    is(h, "+OK", "RENAME src dst");
    is(h, "\"s\"", "GET dst");
    is(h, ":-1", "TTL dst");
    th_set_time(h, T0 + 200000);
    is(h, ":1", "EXISTS dst");
    th_set_time(h, T0);

    /* overwrites a destination of another type */
    add_typed(h, "list", KVMQ_TYPE_LIST);
    is(h, "+list", "TYPE list");
    is(h, "+OK", "RENAME dst list");
    is(h, "+string", "TYPE list");
    is(h, "\"s\"", "GET list");

    /* and moves a value of another type */
    add_typed(h, "hash", KVMQ_TYPE_HASH);
    is(h, "+OK", "RENAME hash h2");
    is(h, "+hash", "TYPE h2");
    is(h, "+none", "TYPE hash");

    /* RENAMENX onto an existing key changes nothing */
    is(h, "+OK", "SET x 1");
    is(h, "+OK", "SET y 2");
    is(h, ":1", "EXPIRE y 50");
    is(h, ":0", "RENAMENX x y");
    is(h, "\"1\"", "GET x");
    is(h, "\"2\"", "GET y");
    is(h, ":50", "TTL y");
    is(h, ":1", "RENAMENX x z");
    is(h, ":0", "EXISTS x");
    is(h, "\"1\"", "GET z");

    /* an expired source is absent; an expired destination is free */
    is(h, "+OK", "SET gone g");
    is(h, ":1", "PEXPIRE gone 10");
    is(h, "+OK", "SET old o");
    is(h, ":1", "PEXPIRE old 10");
    th_set_time(h, T0 + 11);
    is(h, "!NOTFOUND", "RENAME gone q");
    is(h, ":1", "RENAMENX z old");
    is(h, "\"1\"", "GET old");
    is(h, ":-1", "TTL old");

    /* binary names */
    is(h, "+OK", "RENAME old \"n\\x00\\xff\"");
    is(h, "\"1\"", "GET \"n\\x00\\xff\"");

    is(h, "!BADREQ", "RENAME a");
    is(h, "!BADREQ", "RENAME a b c");

    /* renames leak nothing: a flush returns to the empty db's usage */
    is(h, "+OK", "FLUSHALL");
    used = h->used;
    is(h, "+OK", "SET a 1");
    is(h, "+OK", "SET b 2");
    is(h, ":1", "EXPIRE a 100");
    is(h, "+OK", "RENAME a b");
    is(h, "+OK", "RENAME b c");
    is(h, ":1", "DEL c");
    tap_is_int((long long) h->used, (long long) used,
               "rename: no memory leaked");

    th_free(h);
}


/* a zone too full to copy a key: RENAME over an existing key still works
 * because deleting the destination frees the block the new entry needs */


static void
test_rename_full(void)
{
    th_t    *h;
    size_t   limit;

    h = th_new(0, KVMQ_EVICT_NOEVICTION);
    is(h, "+OK", "SET k1 a");
    is(h, "+OK", "SET k2 b");
    limit = h->used;
    th_free(h);

    h = th_new(limit, KVMQ_EVICT_NOEVICTION);
    is(h, "+OK", "SET k1 a");
    is(h, "+OK", "SET k2 b");
    is(h, "!NOMEM", "SET k3 c");
    is(h, "!NOMEM", "RENAME k1 k3");
    is(h, "\"a\"", "GET k1");
    is(h, ":0", "EXISTS k3");
    is(h, "+OK", "RENAME k1 k2");
    is(h, "\"a\"", "GET k2");
    is(h, ":1", "DBSIZE");

    th_free(h);
}


/* ---- KEYS -------------------------------------------------------------- */


static void
test_random_dbsize_flush(void)
{
    th_t          *h;
    unsigned       i, seen_a, seen_b;
    size_t         used;
    const char    *r;
    kvmq_stats_t   st;

    h = th_new(0, KVMQ_EVICT_NOEVICTION);
    used = h->used;

    is(h, "nil", "RANDOMKEY");
    is(h, ":0", "DBSIZE");
    is(h, "!BADREQ", "RANDOMKEY x");
    is(h, "!BADREQ", "DBSIZE x");

    is(h, "+OK", "SET a 1");
    is(h, "\"a\"", "RANDOMKEY");
    is(h, "+OK", "SET b 1");
    is(h, ":2", "DBSIZE");

    seen_a = 0;
    seen_b = 0;

    for (i = 0; i < 200; i++) {
        r = run(h, "RANDOMKEY");
        seen_a += strcmp(r, "\"a\"") == 0;
        seen_b += strcmp(r, "\"b\"") == 0;
    }

    tap_is_int(seen_a + seen_b, 200, "RANDOMKEY: only existing keys");
    tap_ok(seen_a > 20 && seen_b > 20, "RANDOMKEY: both come up (%u/%u)",
           seen_a, seen_b);

    for (i = 0; i < 1000; i++) {
        run(h, "SET k%u v", i);
        run(h, "EXPIRE k%u 100", i);
    }

    is(h, ":1002", "DBSIZE");
    is(h, "+OK", "FLUSHALL");
    is(h, ":0", "DBSIZE");
    is(h, "nil", "RANDOMKEY");
    is(h, "[]", "KEYS *");

    kvmq_db_stats(h->db, &st);
    tap_is_int((long long) st.volatile_keys, 0, "FLUSHALL: no volatile keys");
    tap_is_int((long long) h->used, (long long) used,
               "FLUSHALL: memory back to the empty db's");

    is(h, "+OK", "SET a 1");
    is(h, "+OK", "FLUSHALL ASYNC");
    is(h, ":0", "DBSIZE");
    is(h, "+OK", "SET a 1");
    is(h, "+OK", "flushall sync");
    is(h, ":0", "DBSIZE");
    is(h, "!BADREQ", "FLUSHALL FOO");
    is(h, "!BADREQ", "FLUSHALL ASYNC SYNC");
    is(h, "+OK", "SET a 1");
    is(h, "+OK", "FLUSHALL");
    is(h, "+OK", "FLUSHALL");
    is(h, ":0", "DBSIZE");

    /* the db is usable after a flush */
    is(h, "+OK", "SET after 1");
    is(h, "\"1\"", "GET after");

    /* read-only contexts refuse the writes of this file */
    h->ctx.readonly = 1;
    is(h, "!DENIED", "DEL after");
    is(h, "!DENIED", "EXPIRE after 10");
    is(h, "!DENIED", "PERSIST after");
    is(h, "!DENIED", "RENAME after x");
    is(h, "!DENIED", "FLUSHALL");
    is(h, ":1", "EXISTS after");
    is(h, "[\"0\",[\"after\"]]", "SCAN 0");
    h->ctx.readonly = 0;

    th_free(h);
}


int
main(void)
{
    test_del_exists();
    test_type_touch();
    test_ttl_basic();
    test_expire_past();
    test_expire_errors();
    test_expire_options();
    test_rename();
    test_rename_full();
    test_random_dbsize_flush();

    return tap_done();
}
