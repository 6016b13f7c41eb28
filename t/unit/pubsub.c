/*
 * Unit tests of pubsub.c: PUBLISH receiver counts and wake masks across
 * slots, history rings and sequence numbers, replay with since, ring
 * overflow, messages kept past the ring for a slot that has not consumed
 * them, slot generations, patterns, PUBSUB, history age, the lag cap,
 * NOMEM without change or leak, and the cron reclaiming dead records.
 */

#include <stdio.h>
#include <stdlib.h>

#include "host.h"
#include "../../src/db.h"
#include "../../src/pubsub.h"


/* what the callbacks saw, rendered "chan:seq:data" joined by spaces */
static char      got[1 << 20];
static size_t    gotlen;
static unsigned  got_n;
static int       fail_after = -1;


static int
collect(void *arg, const kvmq_slice_t *ch, const kvmq_pubmsg_t *m)
{
    int  n;

    (void) arg;

    if (fail_after >= 0 && got_n >= (unsigned) fail_after) {
        return -1;
    }

    if (gotlen + ch->len + m->data.len + 32 >= sizeof(got)) {
        return -1;
    }

    n = sprintf(got + gotlen, "%s%.*s:%llu:%.*s", gotlen ? " " : "",
                (int) ch->len, (const char *) ch->data,
                (unsigned long long) m->seq,
                (int) m->data.len, (const char *) m->data.data);

    gotlen += (size_t) n;
    got_n++;

    return 0;
}


static void
got_reset(void)
{
    got[0] = '\0';
    gotlen = 0;
    got_n = 0;
    fail_after = -1;
}


static kvmq_slice_t
sl(const char *s)
{
    kvmq_slice_t  v;

    v.data = (const unsigned char *) s;
    v.len = strlen(s);

    return v;
}


static kvmq_err_e
sub(th_t *h, unsigned slot, uint64_t gen, const char *ch,
    kvmq_pubsub_pos_t *pos)
{
    kvmq_slice_t       c;
    kvmq_pubsub_pos_t  p;

    c = sl(ch);

    return kvmq_pubsub_subscribe(&h->ctx, slot, gen, &c, NULL, NULL, NULL,
                                 pos ? pos : &p);
}


static void
unsub(th_t *h, unsigned slot, uint64_t gen, const char *ch)
{
    kvmq_slice_t  c;

    c = sl(ch);
    kvmq_pubsub_unsubscribe(&h->ctx, slot, gen, &c, 1);
}


static const char *
consume(th_t *h, unsigned slot, uint64_t gen, unsigned max, int *more)
{
    int  m;

    got_reset();
    m = kvmq_pubsub_consume(&h->ctx, slot, gen, max, collect, NULL);

    if (more) {
        *more = m;
    }

    return got;
}


static const char *
replay(th_t *h, unsigned slot, uint64_t gen, const char *ch, uint64_t since,
    kvmq_pubsub_pos_t *pos)
{
    kvmq_slice_t  c;

    c = sl(ch);
    got_reset();

    (void) kvmq_pubsub_subscribe(&h->ctx, slot, gen, &c, &since, collect,
                                 NULL, pos);
    return got;
}


static const char *
publish(th_t *h, const char *line, uint64_t *wake)
{
    const char  *r;

    h->ctx.wake = 0;
    r = th_run(h, line);

    if (wake) {
        *wake = h->ctx.wake;
    }

    return r;
}


static uint64_t
stat_messages(th_t *h)
{
    kvmq_pubsub_stats_t  st;

    kvmq_pubsub_stats(h->db, &st);

    return st.messages;
}


static uint64_t
stat_subscribers(th_t *h)
{
    kvmq_pubsub_stats_t  st;

    kvmq_pubsub_stats(h->db, &st);

    return st.subscribers;
}


static void
test_publish_counts(void)
{
    th_t      *h;
    uint64_t   g0, g2, g5, wake;

    h = th_new(0, KVMQ_EVICT_NOEVICTION);

    tap_is_str(publish(h, "PUBLISH ch hello", &wake), ":0",
               "no subscriber: 0 receivers");
    tap_is_int((long long) wake, 0, "and no slot to wake");
    tap_is_int((long long) h->ctx.pub_seq, 1, "first message is seq 1");

    g0 = kvmq_pubsub_slot_reset(&h->ctx, 0, KVMQ_PUBSUB_SLOTS);
    g2 = kvmq_pubsub_slot_reset(&h->ctx, 2, KVMQ_PUBSUB_SLOTS);
    g5 = kvmq_pubsub_slot_reset(&h->ctx, 5, KVMQ_PUBSUB_SLOTS);
    tap_ok(g0 && g2 && g5, "slots claimed");

    tap_ok(sub(h, 0, g0, "ch", NULL) == KVMQ_OK, "subscribe slot 0");
    tap_ok(sub(h, 2, g2, "ch", NULL) == KVMQ_OK, "subscribe slot 2");
    tap_ok(sub(h, 2, g2, "ch", NULL) == KVMQ_OK, "again on slot 2");
    tap_ok(sub(h, 5, g5, "other", NULL) == KVMQ_OK, "slot 5 elsewhere");

    tap_is_int((long long) stat_subscribers(h), 4, "stats: 4 subscribers");
    tap_is_str(publish(h, "PUBLISH ch m2", &wake), ":3",
               "three receivers over two slots");
    tap_is_int((long long) wake, 0x5, "slots 0 and 2 to wake");
    tap_is_int((long long) h->ctx.pub_seq, 2, "seq 2");

    tap_is_str(publish(h, "PUBLISH ch m3", &wake), ":3", "again 3");
    tap_is_int((long long) wake, 0, "already pending: no second wake");

    tap_ok(kvmq_pubsub_pending(h->db, 2, g2), "slot 2 has pending");
    tap_ok(!kvmq_pubsub_pending(h->db, 5, g5), "slot 5 has none");

    tap_is_str(consume(h, 2, g2, 100, NULL), "ch:2:m2 ch:3:m3",
               "slot 2 consumes both, in order");
    tap_is_str(consume(h, 2, g2, 100, NULL), "", "then nothing");
    tap_ok(!kvmq_pubsub_pending(h->db, 2, g2), "slot 2 not pending");

    tap_is_str(publish(h, "PUBLISH ch m4", &wake), ":3", "m4");
    tap_is_int((long long) wake, 0x4, "only slot 2 wakes (0 still has)");

    tap_is_str(consume(h, 0, g0, 100, NULL), "ch:2:m2 ch:3:m3 ch:4:m4",
               "slot 0 gets its three");

    unsub(h, 2, g2, "ch");
    tap_is_str(publish(h, "PUBLISH ch m5", NULL), ":2", "one left on 2");
    unsub(h, 2, g2, "ch");
    unsub(h, 2, g2, "ch");
    tap_is_str(publish(h, "PUBLISH ch m6", NULL), ":1", "none on 2");
    /* the record stays until consumed, with the run from m4 on: the
     * host's own subscriber list is what filters m6 out */
    tap_is_str(consume(h, 2, g2, 100, NULL), "ch:4:m4 ch:5:m5 ch:6:m6",
               "slot 2 still consumes what was pending");
    tap_is_str(publish(h, "PUBLISH ch m7", &wake), ":1", "m7");
    tap_is_int((long long) wake, 0, "slot 2 is not woken any more");
    tap_is_str(consume(h, 2, g2, 100, NULL), "", "nor has anything");

    tap_is_str(th_run(h, "PUBLISH"), "!BADREQ", "arity");
    tap_is_str(th_run(h, "PUBLISH a b c"), "!BADREQ", "arity too");

    h->ctx.readonly = 1;
    tap_is_str(th_run(h, "PUBLISH ch x"), "!DENIED", "read-only: DENIED");
    h->ctx.readonly = 0;

    th_free(h);
}


static void
test_history(void)
{
    th_t               *h;
    char                line[64];
    unsigned            i;
    uint64_t            g;
    kvmq_pubsub_pos_t   pos;

    h = th_new(0, KVMQ_EVICT_NOEVICTION);
    tap_ok(kvmq_pubsub_configure(&h->ctx, 5, 0) == 0, "history=5");

    g = kvmq_pubsub_slot_reset(&h->ctx, 1, KVMQ_PUBSUB_SLOTS);

    for (i = 1; i <= 3; i++) {
        sprintf(line, "PUBLISH h m%u", i);
        th_run(h, line);
    }

    tap_is_str(replay(h, 1, g, "h", 0, &pos), "h:1:m1 h:2:m2 h:3:m3",
               "since 0 replays all");
    tap_is_int((long long) pos.first, 1, "first 1");
    tap_is_int((long long) pos.last, 3, "last 3");

    tap_is_str(replay(h, 1, g, "h", 2, &pos), "h:3:m3", "since 2");
    tap_is_str(replay(h, 1, g, "h", 3, &pos), "", "since 3: nothing");
    tap_is_str(replay(h, 1, g, "h", 9, &pos), "", "since 9: nothing");
    tap_is_int((long long) pos.last, 3, "and last says where it is");

    for (i = 4; i <= 12; i++) {
        sprintf(line, "PUBLISH h m%u", i);
        th_run(h, line);
    }

    /* three subscriptions on slot 1 from the replays pin messages until
     * slot 1 consumes; the ring itself holds 5 */
    tap_is_str(replay(h, 1, g, "h", 0, &pos),
               "h:8:m8 h:9:m9 h:10:m10 h:11:m11 h:12:m12",
               "ring overflow: the last 5 remain");
    tap_is_int((long long) pos.first, 8, "first 8: a gap after 0");
    tap_is_int((long long) pos.last, 12, "last 12");

    tap_is_str(consume(h, 1, g, 1000, NULL),
               "h:4:m4 h:5:m5 h:6:m6 h:7:m7 h:8:m8 h:9:m9 h:10:m10 "
               "h:11:m11 h:12:m12",
               "a pending slot gets every message, past the ring");
    tap_is_int((long long) stat_messages(h), 5, "then only the ring stays");

    /* history 0: nothing kept, nothing to replay */
    tap_ok(kvmq_pubsub_configure(&h->ctx, 0, 0) == 0, "history=0");
    th_run(h, "PUBLISH h m13");
    tap_is_str(consume(h, 1, g, 1000, NULL), "h:13:m13", "live still works");
    tap_is_str(replay(h, 1, g, "h", 0, &pos), "", "but no history");
    tap_is_int((long long) pos.first, 14, "first = last + 1");
    tap_is_int((long long) pos.last, 13, "last 13");

    tap_is_str(publish(h, "PUBLISH nobody x", NULL), ":0",
               "history 0, nobody: 0");
    tap_is_int((long long) h->ctx.pub_seq, 0, "nothing stored, no seq");

    /* h is freed when its last subscriber goes: the seq goes on */
    for (i = 0; i < 10; i++) {
        unsub(h, 1, g, "h");
    }

    tap_is_str(th_run(h, "PUBSUB NUMSUB h"), "{\"h\"::0}", "h unused");
    tap_is_int((long long) stat_messages(h), 0, "and freed");
    replay(h, 1, g, "h", 13, &pos);
    tap_is_int((long long) pos.last, 13, "made again: last 13, not 0");
    tap_is_int((long long) pos.first, 14, "first 14");
    th_run(h, "PUBLISH h m14");
    tap_is_int((long long) h->ctx.pub_seq, 14, "the next is 14");

    th_free(h);
}


static void
test_budget(void)
{
    th_t      *h;
    int        more;
    uint64_t   g;
    char       line[64];
    unsigned   i;

    h = th_new(0, KVMQ_EVICT_NOEVICTION);
    g = kvmq_pubsub_slot_reset(&h->ctx, 3, KVMQ_PUBSUB_SLOTS);

    sub(h, 3, g, "a", NULL);
    sub(h, 3, g, "b", NULL);

    for (i = 1; i <= 4; i++) {
        sprintf(line, "PUBLISH a a%u", i);
        th_run(h, line);
        sprintf(line, "PUBLISH b b%u", i);
        th_run(h, line);
    }

    consume(h, 3, g, 3, &more);
    tap_is_int(got_n, 3, "budget of 3");
    tap_ok(more, "more remains");
    consume(h, 3, g, 3, &more);
    tap_is_int(got_n, 3, "3 again");
    consume(h, 3, g, 3, &more);
    tap_is_int(got_n, 2, "the last 2");
    tap_ok(!more, "done");

    /* a failing copy keeps the message for the next call */
    th_run(h, "PUBLISH a a5");
    th_run(h, "PUBLISH a a6");
    got_reset();
    fail_after = 1;
    more = kvmq_pubsub_consume(&h->ctx, 3, g, 100, collect, NULL);
    tap_is_str(got, "a:5:a5", "copied one, then the host failed");
    tap_ok(more, "the rest is still pending");
    tap_is_str(consume(h, 3, g, 100, NULL), "a:6:a6", "and comes next");

    th_free(h);
}


static void
test_generations(void)
{
    th_t      *h;
    uint64_t   g1, g1b, wake;
    size_t     used;

    h = th_new(0, KVMQ_EVICT_NOEVICTION);

    g1 = kvmq_pubsub_slot_reset(&h->ctx, 1, KVMQ_PUBSUB_SLOTS);
    tap_ok(sub(h, 1, g1, "g", NULL) == KVMQ_OK, "subscribe gen 1");
    tap_ok(sub(h, 1, g1, "g", NULL) == KVMQ_OK, "twice");
    tap_ok(sub(h, 1, g1 + 1, "g", NULL) == KVMQ_ERR_DENIED,
           "a future generation is refused");
    tap_ok(sub(h, 64, g1, "g", NULL) == KVMQ_ERR_DENIED, "slot 64 refused");

    tap_is_str(publish(h, "PUBLISH g 1", &wake), ":2", "2 receivers");
    tap_is_str(th_run(h, "PUBSUB NUMSUB g"), "{\"g\"::2}", "NUMSUB 2");

    /* the worker of slot 1 dies; its successor claims the slot */
    g1b = kvmq_pubsub_slot_reset(&h->ctx, 1, KVMQ_PUBSUB_SLOTS);
    tap_ok(g1b != g1, "new generation");

    tap_is_str(th_run(h, "PUBSUB NUMSUB g"), "{\"g\"::0}",
               "dead counts are not counted");
    tap_is_int((long long) stat_subscribers(h), 0, "nor in the stats");
    tap_is_str(publish(h, "PUBLISH g 2", &wake), ":0", "0 receivers");
    tap_is_int((long long) wake, 0, "nobody to wake");
    tap_is_str(consume(h, 1, g1, 100, NULL), "",
               "the old generation consumes nothing");
    tap_is_str(consume(h, 1, g1b, 100, NULL), "",
               "nor does the new one inherit its pending");
    tap_ok(sub(h, 1, g1, "g", NULL) == KVMQ_ERR_DENIED,
           "old generation cannot subscribe");

    unsub(h, 1, g1, "g");
    tap_ok(sub(h, 1, g1b, "g", NULL) == KVMQ_OK, "new gen subscribes");
    unsub(h, 1, g1, "g");
    tap_is_str(th_run(h, "PUBSUB NUMSUB g"), "{\"g\"::1}",
               "a stale unsubscribe does not touch the new count");

    unsub(h, 1, g1b, "g");

    /* the cron frees what dead records held: back to the ring only */
    kvmq_pubsub_configure(&h->ctx, 0, 0);
    kvmq_pubsub_cron(&h->ctx, 100);
    tap_is_int((long long) stat_messages(h), 0, "cron: nothing left");

    used = h->used;
    kvmq_pubsub_slot_reset(&h->ctx, 1, KVMQ_PUBSUB_SLOTS);
    sub(h, 1, g1b + 1, "x", NULL);
    th_run(h, "PUBLISH x 1");
    th_run(h, "PUBLISH x 2");
    kvmq_pubsub_slot_reset(&h->ctx, 1, KVMQ_PUBSUB_SLOTS);
    kvmq_pubsub_cron(&h->ctx, 100);
    tap_is_int((long long) h->used, (long long) used,
               "a dead slot's records and pending messages are reclaimed");

    th_free(h);
}


static void
test_patterns(void)
{
    th_t      *h;
    uint64_t   g3, g4, gid, wake;
    kvmq_slice_t  p;

    h = th_new(0, KVMQ_EVICT_NOEVICTION);

    g3 = kvmq_pubsub_slot_reset(&h->ctx, 3, KVMQ_PUBSUB_SLOTS);
    g4 = kvmq_pubsub_slot_reset(&h->ctx, 4, KVMQ_PUBSUB_SLOTS);

    th_run(h, "PUBLISH news.a before");

    p = sl("news.*");
    tap_ok(kvmq_pubsub_psubscribe(&h->ctx, 3, g3, &p, &gid) == KVMQ_OK,
           "psubscribe news.* on 3");
    tap_is_int((long long) gid, 1, "gid at subscribe: 1 published");
    tap_ok(kvmq_pubsub_psubscribe(&h->ctx, 3, g3, &p, &gid) == KVMQ_OK,
           "twice");
    p = sl("*");
    tap_ok(kvmq_pubsub_psubscribe(&h->ctx, 4, g4, &p, &gid) == KVMQ_OK,
           "psubscribe * on 4");

    tap_is_str(th_run(h, "PUBSUB NUMPAT"), ":2", "NUMPAT 2");

    tap_is_str(publish(h, "PUBLISH news.a hi", &wake), ":3",
               "2 on news.* + 1 on *");
    tap_is_int((long long) wake, 0x18, "slots 3 and 4");
    tap_is_str(publish(h, "PUBLISH weather x", &wake), ":1", "only *");
    tap_is_int((long long) wake, 0x10, "slot 4");

    tap_is_str(consume(h, 3, g3, 100, NULL), "news.a:2:hi",
               "slot 3 gets news.a");
    tap_is_str(consume(h, 4, g4, 100, NULL), "news.a:2:hi weather:1:x",
               "slot 4 gets both");

    tap_is_str(th_run(h, "PUBSUB CHANNELS"), "[]",
               "pattern-only records make no active channel");

    p = sl("news.*");
    kvmq_pubsub_punsubscribe(&h->ctx, 3, g3, &p, 1);
    tap_is_str(publish(h, "PUBLISH news.b x", NULL), ":2", "one left on 3");
    kvmq_pubsub_punsubscribe(&h->ctx, 3, g3, &p, 1);
    tap_is_str(th_run(h, "PUBSUB NUMPAT"), ":1", "NUMPAT 1");
    tap_is_int((long long) stat_subscribers(h), 1, "stats: 1 left");

    kvmq_pubsub_slot_reset(&h->ctx, 4, KVMQ_PUBSUB_SLOTS);
    tap_is_str(th_run(h, "PUBSUB NUMPAT"), ":0", "dead pattern: NUMPAT 0");
    tap_is_str(publish(h, "PUBLISH news.b y", &wake), ":0", "0 receivers");

    th_free(h);
}


static void
test_pubsub_cmd(void)
{
    th_t      *h;
    uint64_t   g;

    h = th_new(0, KVMQ_EVICT_NOEVICTION);

    tap_is_str(th_run(h, "PUBSUB CHANNELS"), "[]", "no channels");
    tap_is_str(th_run(h, "PUBSUB NUMPAT"), ":0", "no patterns");
    tap_is_str(th_run(h, "PUBSUB NUMSUB a"), "{\"a\"::0}", "NUMSUB none");
    tap_is_str(th_run(h, "PUBSUB NUMSUB"), "{}", "NUMSUB no args");

    g = kvmq_pubsub_slot_reset(&h->ctx, 0, KVMQ_PUBSUB_SLOTS);
    sub(h, 0, g, "news.1", NULL);
    sub(h, 0, g, "news.2", NULL);
    sub(h, 0, g, "sport", NULL);
    th_run(h, "PUBLISH quiet x");

    tap_is_str(th_run(h, "PUBSUB CHANNELS"),
               "[\"sport\",\"news.2\",\"news.1\"]",
               "channels with subscribers");
    tap_is_str(th_run(h, "PUBSUB CHANNELS news.*"),
               "[\"news.2\",\"news.1\"]", "matching a pattern");
    tap_is_str(th_run(h, "PUBSUB NUMSUB news.1 sport quiet"),
               "{\"news.1\"::1,\"sport\"::1,\"quiet\"::0}", "NUMSUB");
    tap_is_str(th_run(h, "pubsub numpat"), ":0", "case-insensitive");
    tap_is_str(th_run(h, "PUBSUB FOO"), "!BADREQ", "unknown subcommand");
    tap_is_str(th_run(h, "PUBSUB NUMPAT x"), "!BADREQ", "NUMPAT arity");
    tap_is_str(th_run(h, "PUBSUB CHANNELS a b"), "!BADREQ",
               "CHANNELS arity");
    tap_is_str(th_run(h, "PUBSUB"), "!BADREQ", "PUBSUB arity");

    unsub(h, 0, g, "sport");
    tap_is_str(th_run(h, "PUBSUB CHANNELS"),
               "[\"news.2\",\"news.1\"]", "unsubscribed channel gone");

    th_free(h);
}


static void
test_ttl(void)
{
    th_t               *h;
    uint64_t            g;
    kvmq_pubsub_pos_t   pos;
    int64_t             t;

    h = th_new(0, KVMQ_EVICT_NOEVICTION);
    kvmq_pubsub_configure(&h->ctx, 100, 1000);
    g = kvmq_pubsub_slot_reset(&h->ctx, 0, KVMQ_PUBSUB_SLOTS);

    t = 1700000000000LL;
    th_set_time(h, t);
    th_run(h, "PUBLISH t old");
    th_set_time(h, t + 600);
    th_run(h, "PUBLISH t new");

    th_set_time(h, t + 1200);
    tap_is_str(replay(h, 0, g, "t", 0, &pos), "t:2:new",
               "the old message aged out");
    tap_is_int((long long) pos.first, 2, "first 2");

    th_set_time(h, t + 5000);
    unsub(h, 0, g, "t");
    tap_is_int((long long) stat_messages(h), 0, "all aged out");
    tap_is_str(th_run(h, "PUBSUB NUMSUB t"), "{\"t\"::0}", "channel gone");

    th_run(h, "PUBLISH t again");
    tap_is_int((long long) h->ctx.pub_seq, 3,
               "a channel made again goes on from its last seq");
    tap_is_str(replay(h, 0, g, "t", 2, &pos), "t:3:again",
               "so a client resuming from 2 misses nothing");
    unsub(h, 0, g, "t");

    /* the cron ages out channels nobody touches */
    th_set_time(h, t + 10000);
    kvmq_pubsub_cron(&h->ctx, 10);
    tap_is_int((long long) stat_messages(h), 0, "cron ages out");

    th_free(h);
}


static void
test_lag(void)
{
    th_t      *h;
    uint64_t   g;
    unsigned   i;
    char      *p;

    h = th_new(0, KVMQ_EVICT_NOEVICTION);
    kvmq_pubsub_configure(&h->ctx, 10, 0);
    g = kvmq_pubsub_slot_reset(&h->ctx, 0, KVMQ_PUBSUB_SLOTS);
    sub(h, 0, g, "l", NULL);

    for (i = 0; i < KVMQ_PUBSUB_MAX_LAG + 100; i++) {
        th_run(h, "PUBLISH l x");
    }

    tap_ok(stat_messages(h) <= KVMQ_PUBSUB_MAX_LAG + 1,
           "a slot that never consumes pins at most the lag cap (%llu)",
           (unsigned long long) stat_messages(h));

    consume(h, 0, g, 1, NULL);
    p = strchr(got, ':');
    tap_ok(p && strtoull(p + 1, NULL, 10) > 100,
           "and its consumer sees seq jump: %s", got);

    th_free(h);
}


static void
test_nomem(void)
{
    th_t               *h;
    size_t              used;
    uint64_t            g, seq;
    unsigned            i;
    kvmq_slice_t        p;
    kvmq_pubsub_stats_t st;
    char                big[2048];

    h = th_new(64 * 1024, KVMQ_EVICT_NOEVICTION);
    kvmq_pubsub_configure(&h->ctx, 2, 0);
    g = kvmq_pubsub_slot_reset(&h->ctx, 0, KVMQ_PUBSUB_SLOTS);
    sub(h, 0, g, "n", NULL);

    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';

    for (i = 0; i < 1000; i++) {
        kvmq_slice_t  argv[3];

        argv[0] = sl("PUBLISH");
        argv[1] = sl("n");
        argv[2] = sl(big);

        if (strcmp(th_runv(h, 3, argv), ":1") != 0) {
            break;
        }
    }

    tap_ok(i > 5 && i < 1000, "full after %u messages", i);
    tap_is_str(h->out, "!NOMEM", "PUBLISH fails with NOMEM");

    /* fill to the brim with small messages, then everything fails */
    for (i = 0; i < 10000; i++) {
        if (strcmp(th_run(h, "PUBLISH n y"), ":1") != 0) {
            break;
        }
    }

    kvmq_pubsub_stats(h->db, &st);
    used = h->used;
    seq = st.published;

    tap_is_str(th_run(h, "PUBLISH n z"), "!NOMEM", "full: NOMEM");
    tap_is_str(th_run(h, "PUBLISH newchannel z"), "!NOMEM",
               "new channel: NOMEM");
    tap_is_int((long long) h->used, (long long) used, "nothing leaked");
    kvmq_pubsub_stats(h->db, &st);
    tap_is_int((long long) st.published, (long long) seq,
               "nothing published");

    tap_ok(sub(h, 0, g, "brand-new-channel-name", NULL) == KVMQ_ERR_NOMEM,
           "subscribe to a new channel: NOMEM");
    p = sl("pattern-*");
    tap_ok(kvmq_pubsub_psubscribe(&h->ctx, 0, g, &p, &seq)
           == KVMQ_ERR_NOMEM, "psubscribe: NOMEM");
    tap_is_int((long long) h->used, (long long) used, "still nothing leaked");
    tap_is_str(th_run(h, "PUBSUB NUMSUB brand-new-channel-name"),
               "{\"brand-new-channel-name\"::0}", "and no count");

    /* consuming frees what the ring does not keep: room again */
    consume(h, 0, g, 100000, NULL);
    tap_ok(h->used < used, "consuming released memory");
    tap_is_str(th_run(h, "PUBLISH n again"), ":1", "publish works again");

    th_free(h);
}


static void
test_refcounts(void)
{
    th_t      *h;
    uint64_t   g0, g1;
    size_t     base;

    h = th_new(0, KVMQ_EVICT_NOEVICTION);
    kvmq_pubsub_configure(&h->ctx, 2, 0);

    g0 = kvmq_pubsub_slot_reset(&h->ctx, 0, KVMQ_PUBSUB_SLOTS);
    g1 = kvmq_pubsub_slot_reset(&h->ctx, 1, KVMQ_PUBSUB_SLOTS);
    base = h->used;

    sub(h, 0, g0, "r", NULL);
    sub(h, 1, g1, "r", NULL);

    th_run(h, "PUBLISH r 1");
    th_run(h, "PUBLISH r 2");
    th_run(h, "PUBLISH r 3");
    th_run(h, "PUBLISH r 4");

    tap_is_int((long long) stat_messages(h), 4,
               "4 messages stored once for two slots");

    consume(h, 0, g0, 100, NULL);
    tap_is_int((long long) stat_messages(h), 4, "slot 1 still holds them");
    consume(h, 1, g1, 100, NULL);
    tap_is_int((long long) stat_messages(h), 2, "now only the ring of 2");

    unsub(h, 0, g0, "r");
    unsub(h, 1, g1, "r");
    kvmq_pubsub_configure(&h->ctx, 0, 0);
    kvmq_pubsub_cron(&h->ctx, 10);

    tap_is_int((long long) stat_messages(h), 0, "history 0: all gone");
    tap_is_int((long long) h->used, (long long) base,
               "memory back to where it was");

    th_free(h);
}


int
main(void)
{
    test_publish_counts();
    test_history();
    test_budget();
    test_generations();
    test_patterns();
    test_pubsub_cmd();
    test_ttl();
    test_lag();
    test_nomem();
    test_refcounts();

    return tap_done();
}
