/*
 * Unit tests of the blocking pops (src/t_block.c): the non-blocking
 * variant (c->block = 0: batches, Lua) with Redis' reply shapes and
 * errors, and the waiter registry a door drives: a new request parks
 * when nothing is there or others wait, a push wakes the waiters' slots,
 * only a key's oldest waiter pops, the next waiter is woken when a
 * served or cancelled one leaves items behind, a slot reset drops a
 * dead worker's waiters, and nothing is left allocated at the end.
 */

#include "agg_util.h"


/* run as a door that can park, in slot "slot", retrying waiter "id" */
static const char *
door(const char *line, unsigned slot, uint64_t *id)
{
    const char  *out;

    h->ctx.block = 1;
    h->ctx.blocked = 0;
    h->ctx.block_id = *id;
    h->ctx.block_timeout = -1;
    h->ctx.owner_slot = slot;
    h->ctx.wake = 0;

    out = th_run(h, line);

    *id = h->ctx.block_id;
    h->ctx.block = 0;

    return out;
}


static void
test_nonblocking(void)
{
    is("BLPOP k 0", "nil");
    is("RPUSH k a b c", ":3");
    is("BLPOP none k 0", "[\"k\",\"a\"]");
    is("BRPOP k 1.5", "[\"k\",\"c\"]");
    is("BRPOPLPUSH k d 0", "\"b\"");
    is("BLMOVE d d2 LEFT RIGHT 0", "\"b\"");
    is("EXISTS d", ":0");
    is("BLMOVE none d2 LEFT RIGHT 0", "nil");

    is("ZADD z 1 one 2 two", ":2");
    is("BZPOPMIN nz z 0", "[\"z\",\"one\",,1]");
    is("BZPOPMAX z 0", "[\"z\",\"two\",,2]");
    is("BZPOPMAX z 0", "nil");

    err("BLPOP k abc", "BADREQ", "timeout is not a float or out of range");
    err("BLPOP k -1", "BADREQ", "timeout is negative");
    err("BLPOP k inf", "BADREQ", "timeout is not a float or out of range");
    err("BLMOVE a b UP LEFT 0", "BADREQ", "syntax error");
    err("BLPOP k", "BADREQ", "wrong number of arguments for 'blpop' command");

    is("SET s x", "+OK");
    err("BLPOP s 0", "WRONGTYPE",
        "Operation against a key holding the wrong kind of value");
    err("BZPOPMIN s 0", "WRONGTYPE",
        "Operation against a key holding the wrong kind of value");
    is("DEL s d2", ":2");
}


static void
test_waiters(void)
{
    uint64_t  a, b, c;

    /* a new request parks; its timeout comes back in ms */
    a = 0;
    tap_is_str(door("BLPOP q 0.25", 1, &a), "", "parked: no reply");
    tap_ok(h->ctx.blocked && a != 0, "blocked with an id");
    tap_is_int(h->ctx.block_timeout, 250, "timeout in ms");
    tap_is_int((long long) h->db->blocked.count, 1, "one record");

    b = 0;
    door("BLPOP other q 0", 2, &b);
    tap_ok(h->ctx.blocked && b > a, "second waiter, later id");
    tap_is_int((long long) h->db->blocked.count, 3, "two keys, two records");

    /* a push wakes the slots of the key's waiters, and counts it */
    h->ctx.wake = 0;
    tap_is_int((long long) kvmq_block_wakes(h->db, 1), 0, "no wake yet");
    is("RPUSH q x y", ":2");
    tap_is_int((long long) h->ctx.wake, (1 << 1) | (1 << 2),
               "push wakes slots 1 and 2");
    tap_is_int((long long) kvmq_block_wakes(h->db, 1), 1, "slot 1 counted");
    tap_is_int((long long) kvmq_block_wakes(h->db, 3), 0, "slot 3 not");

    /* a new request queues behind them even with items there */
    c = 0;
    door("BLPOP q 0", 3, &c);
    tap_ok(h->ctx.blocked, "new request waits behind the waiters");

    /* the second waiter does not jump the line */
    tap_is_str(door("BLPOP other q 0", 2, &b), "", "second: not yet");
    tap_ok(h->ctx.blocked, "still blocked");

    /* the first one is served, and the next one woken */
    tap_is_str(door("BLPOP q 0.25", 1, &a), "[\"q\",\"x\"]", "first: x");
    tap_ok(!h->ctx.blocked && a == 0, "served, id cleared");
    tap_is_int((long long) h->ctx.wake, (1 << 2) | (1 << 3),
               "the key's other waiters woken");

    tap_is_str(door("BLPOP other q 0", 2, &b), "[\"q\",\"y\"]", "then: y");
    tap_is_int((long long) h->db->blocked.count, 1, "records gone");

    /* the third waits on an empty key again */
    tap_is_str(door("BLPOP q 0", 3, &c), "", "third: nothing left");

    /* a cancelled waiter that leaves items behind wakes the next */
    b = 0;
    door("BLPOP q 0", 2, &b);
    is("RPUSH q z", ":1");
    h->ctx.wake = 0;
    kvmq_block_cancel(&h->ctx, c);
    tap_is_int((long long) h->ctx.wake, 1 << 2, "cancel wakes the next");
    tap_is_str(door("BLPOP q 0", 2, &b), "[\"q\",\"z\"]", "next served");
    tap_is_int((long long) h->db->blocked.count, 0, "registry empty");

    /* moves and sorted sets wake too */
    a = 0;
    door("BZPOPMIN zz 0", 4, &a);
    h->ctx.wake = 0;
    is("ZADD zz 5 m", ":1");
    tap_is_int((long long) h->ctx.wake, 1 << 4, "ZADD wakes");
    tap_is_str(door("BZPOPMIN zz 0", 4, &a), "[\"zz\",\"m\",,5]",
               "BZPOPMIN served");

    a = 0;
    door("BLPOP dst 0", 5, &a);
    is("RPUSH src v", ":1");
    h->ctx.wake = 0;
    is("LMOVE src dst LEFT LEFT", "\"v\"");
    tap_is_int((long long) h->ctx.wake, 1 << 5, "LMOVE's destination wakes");
    tap_is_str(door("BLPOP dst 0", 5, &a), "[\"dst\",\"v\"]", "served");

    /* a dead worker's waiters go with a slot reset */
    a = 0;
    door("BLPOP gone 0", 6, &a);
    b = 0;
    door("BLPOP gone 0", 7, &b);
    kvmq_block_slot_reset(&h->ctx, 6);
    tap_is_int((long long) h->db->blocked.count, 1, "slot 6 dropped");
    is("RPUSH gone w", ":1");
    tap_is_str(door("BLPOP gone 0", 7, &b), "[\"gone\",\"w\"]",
               "slot 7 first now");

    /* WRONGTYPE ends a wait with the error */
    a = 0;
    door("BLPOP wt 0", 1, &a);
    is("SET wt x", "+OK");
    door("BLPOP wt 0", 1, &a);
    tap_is_str(h->out, "!WRONGTYPE", "WRONGTYPE ends the wait");
    tap_is_int((long long) h->db->blocked.count, 0, "and its records");

    /* a waiter left over is freed with the db (th_free checks leaks) */
    a = 0;
    door("BLPOP left 0", 1, &a);
}


int
main(void)
{
    h = th_new(0, KVMQ_EVICT_NOEVICTION);

    test_nonblocking();
    test_waiters();

    th_free(h);

    return tap_done();
}
