/*
 * Unit tests of the queues (queue.c, consumer.c, message.c, t_mq.c):
 * declare / delete / purge / info / list, FIFO and delivery tags, ack
 * and nack with RabbitMQ's rules (unknown and double acks change
 * nothing, requeue to the original position, redelivered flags),
 * visibility timeouts, TTL both ways, max-length with every overflow,
 * dead-lettering with x-death and cycles, exclusive and auto-delete
 * lifecycles, push consumers (prefetch, round-robin, release, cancel,
 * owners and slots going away), wake-up hints, messages stored once,
 * big bodies, lazy frees, and NOMEM at every allocation point.
 */

#include "mq_util.h"


#define T0  1700000000000LL


static void
reset(void)
{
    if (h != NULL) {
        th_free(h);
    }

    h = th_new(0, KVMQ_EVICT_NOEVICTION);
    th_set_time(h, T0);
}


static void
at(int64_t ms)
{
    th_set_time(h, T0 + ms);
}


/* ---- declare, delete, purge, info, list -------------------------------- */


static void
test_declare(void)
{
    const char  *out;

    reset();

    is("Q.DECLARE q1",
       "{\"queue\":\"q1\",\"created\"::1,\"messages\"::0,\"consumers\"::0}");
    is("Q.DECLARE q1",
       "{\"queue\":\"q1\",\"created\"::0,\"messages\"::0,\"consumers\"::0}");
    is("Q.DECLARE q2 durable 1 max_length 10 overflow reject-publish "
       "message_ttl 5000 dead_letter_exchange dlx "
       "dead_letter_routing_key rk",
       "{\"queue\":\"q2\",\"created\"::1,\"messages\"::0,\"consumers\"::0}");
    is("Q.DECLARE q2 dead_letter_routing_key rk durable true "
       "max_length 10 overflow reject-publish message_ttl 5000 "
       "dead_letter_exchange dlx",
       "{\"queue\":\"q2\",\"created\"::0,\"messages\"::0,\"consumers\"::0}");

    err("Q.DECLARE q1 durable 1", "PRECONDITION",
        "inequivalent arg 'durable' for queue 'q1'");
    err("Q.DECLARE q2 durable 1 max_length 11 overflow reject-publish "
        "message_ttl 5000 dead_letter_exchange dlx "
        "dead_letter_routing_key rk", "PRECONDITION",
        "inequivalent arg 'max_length' for queue 'q2'");
    err("Q.DECLARE q2 durable 1 max_length 10 overflow reject-publish "
        "message_ttl 5000 dead_letter_exchange dlx", "PRECONDITION",
        "inequivalent arg 'dead_letter_routing_key' for queue 'q2'");
    err("Q.DECLARE q1 bogus 1", "BADREQ", "unknown option 'bogus'");
    err("Q.DECLARE q1 durable", "BADREQ", "syntax error");
    err("Q.DECLARE q1 durable maybe", "BADREQ", "value is not a boolean");
    err("Q.DECLARE q3 max_length -1", "BADREQ",
        "value must not be negative");
    err("Q.DECLARE q3 overflow drop-tail", "BADREQ",
        "overflow must be drop-head, reject-publish or reject-publish-dlx");
    err("Q.DECLARE q3 dead_letter_routing_key k", "BADREQ",
        "dead_letter_routing_key needs a dead_letter_exchange");
    err("Q.DECLARE q3 exclusive 1", "BADREQ",
        "an exclusive queue needs a connection");
    err("Q.DECLARE amq.q", "DENIED",
        "queue name 'amq.q' contains reserved prefix 'amq.'");

    out = run("Q.DECLARE \"\"");
    tap_ok(strncmp(out, "{\"queue\":\"amq.gen-", 18) == 0,
           "an empty name gets a server-made amq.gen- name");

    run("Q.LIST");
    tap_ok(strstr(h->out, "{\"name\":\"q1\",\"ready\"::0,\"unacked\"::0,"
                          "\"consumers\"::0},{\"name\":\"q2\"") != NULL,
           "Q.LIST lists the queues by name");

    is("Q.PUBLISH q1 a", "{\"queued\"::1}");
    is("Q.PUBLISH q1 b", "{\"queued\"::1}");
    is("Q.PUBLISH q1 c", "{\"queued\"::1}");
    deliveries("Q.GET q1");

    err("Q.DELETE q1 if_empty", "PRECONDITION", "queue 'q1' not empty");
    is("Q.PURGE q1", ":2");
    tap_is_int(ready("q1"), 0, "purge takes the ready messages");
    tap_is_int(unacked("q1"), 1, "... and leaves the unacked ones");
    is("Q.PUBLISH q1 d", "{\"queued\"::1}");
    is("Q.DELETE q1", ":1");
    err("Q.DELETE q1", "NOTFOUND", "no queue 'q1'");
    err("Q.INFO q1", "NOTFOUND", "no queue 'q1'");
    err("Q.PUBLISH q1 x", "NOTFOUND", "no queue 'q1'");
    err("Q.PUBLISH q2 x bogus 1", "BADREQ", "unknown property 'bogus'");
    err("Q.PUBLISH q2 x priority 300", "BADREQ",
        "priority must be 0 to 255");
    err("Q.PUBLISH q2 x expiration -5", "BADREQ",
        "invalid expiration '-5'");
    err("Q.PUBLISH q2 x header x-death y", "BADREQ",
        "header 'x-death' is set by the server");
    err("Q.PUBLISH q2 x header a 1 header a 2", "BADREQ",
        "duplicate header 'a'");
    err("Q.GET q2 COUNT 0", "BADREQ", "COUNT must be 1 to 10000");
    err("Q.GET q2 ACK later", "BADREQ", "syntax error");
}


static void
test_info(void)
{
    reset();

    run("Q.DECLARE i max_length 7 dead_letter_exchange \"\"");
    run("Q.PUBLISH i hello");
    run("Q.PUBLISH i hi");
    deliveries("Q.GET i");

    is("Q.INFO i",
       "{\"name\":\"i\",\"durable\"::0,\"exclusive\"::0,\"auto_delete\"::0,"
       "\"overflow\":\"drop-head\",\"max_length\"::7,"
       "\"dead_letter_exchange\":\"\",\"ready\"::1,\"ready_bytes\"::2,"
       "\"unacked\"::1,\"consumers\"::0,\"published\"::2,"
       "\"delivered\"::1,\"redelivered\"::0,\"acked\"::0,\"rejected\"::0,"
       "\"requeued\"::0,\"dead_lettered\"::0,\"expired\"::0,"
       "\"dropped\"::0,\"refused\"::0}");
}


/* ---- FIFO, tags, properties -------------------------------------------- */


static void
test_fifo(void)
{
    reset();

    run("Q.DECLARE f");
    run("Q.PUBLISH f a");
    run("Q.PUBLISH f b");
    run("Q.PUBLISH f c");

    tap_is_str(deliveries("Q.GET f COUNT 2"), "a,b", "FIFO order");
    tap_ok(mq_ntags == 2 && mq_tags[0] < mq_tags[1],
           "delivery tags increase");
    tap_is_str(deliveries("Q.GET f COUNT 5"), "c", "COUNT takes what is "
               "ready");
    tap_is_str(deliveries("Q.GET f"), "", "nothing ready: an empty array");
    is("Q.GET f", "[]");

    run("Q.PUBLISH f body correlation_id c1 reply_to r1 message_id m1 "
        "content_type text/plain expiration 60000 persistent 1 "
        "priority 5 timestamp 1700000000 header h1 v1 header x-h v2");
    is("Q.GET f ACK auto",
       "[{\"queue\":\"f\",\"tag\"::4,\"body\":\"body\",\"redelivered\"::0,"
       "\"exchange\":\"\",\"routing_key\":\"f\",\"properties\":{"
       "\"correlation_id\":\"c1\",\"reply_to\":\"r1\","
       "\"message_id\":\"m1\",\"content_type\":\"text/plain\","
       "\"expiration\"::60000,\"persistent\"::1,\"priority\"::5,"
       "\"timestamp\"::1700000000,\"headers\":{\"h1\":\"v1\","
       "\"x-h\":\"v2\"}}}]");
}


/* ---- ack and nack ------------------------------------------------------ */


static void
test_ack(void)
{
    char      line[256];
    uint64_t  t_other;

    reset();

    run("Q.DECLARE a");
    run("Q.DECLARE other");
    run("Q.PUBLISH a m1");
    run("Q.PUBLISH a m2");
    run("Q.PUBLISH other o1");

    deliveries("Q.GET other");
    t_other = mq_tags[0];

    deliveries("Q.GET a COUNT 2");

    snprintf(line, sizeof(line), "Q.ACK a %" PRIu64 " 999",
             mq_tags[0]);
    err(line, "PRECONDITION", "unknown delivery tag 999");
    tap_is_int(unacked("a"), 2, "one unknown tag: nothing acked");

    snprintf(line, sizeof(line), "Q.ACK a %" PRIu64 " %" PRIu64,
             mq_tags[0], mq_tags[0]);
    errc(line, "PRECONDITION");
    tap_ok(strncmp(h->errmsg, "unknown delivery tag ", 21) == 0,
           "a tag twice in one call is unknown the second time");
    tap_is_int(unacked("a"), 2, "... and nothing is acked");

    snprintf(line, sizeof(line), "Q.ACK a %" PRIu64, t_other);
    errc(line, "PRECONDITION");
    tap_is_int(unacked("other"), 1, "a tag of another queue is unknown");

    snprintf(line, sizeof(line), "Q.ACK a %" PRIu64, mq_tags[0]);
    is(line, ":1");
    errc(line, "PRECONDITION");
    snprintf(line, sizeof(line), "unknown delivery tag %" PRIu64,
             mq_tags[0]);
    tap_is_str(h->errmsg, line, "a double ack is an unknown tag");
    tap_is_int(unacked("a"), 1, "the double ack changed nothing");

    err("Q.ACK a x1", "BADREQ", "delivery tag is not a positive integer");
    err("Q.ACK nope 1", "NOTFOUND", "no queue 'nope'");

    /* nack without a DLX drops */
    snprintf(line, sizeof(line), "Q.NACK a %" PRIu64 " REQUEUE 0",
             mq_tags[1]);
    is(line, ":1");
    tap_is_int(ready("a") + unacked("a"), 0, "nack requeue=0 drops");
    tap_is_int((long long) queue("a")->rejected, 1, "... counted rejected");

    /* auto ack */
    run("Q.PUBLISH a m3");
    tap_is_str(deliveries("Q.GET a ACK auto"), "m3", "ACK auto");
    tap_is_int(unacked("a"), 0, "... leaves nothing unacked");
    snprintf(line, sizeof(line), "Q.ACK a %" PRIu64, mq_tags[0]);
    errc(line, "PRECONDITION");
}


static void
test_requeue(void)
{
    char      line[256];
    uint64_t  t[5];
    int       i;

    reset();

    run("Q.DECLARE r");

    for (i = 1; i <= 5; i++) {
        runf("Q.PUBLISH r m%d", i);
    }

    deliveries("Q.GET r COUNT 3");
    memcpy(t, mq_tags, 3 * sizeof(uint64_t));

    snprintf(line, sizeof(line), "Q.NACK r %" PRIu64, t[1]);
    is(line, ":1");
    snprintf(line, sizeof(line), "Q.NACK r %" PRIu64 " REQUEUE 1", t[0]);
    is(line, ":1");

    tap_is_str(deliveries("Q.GET r COUNT 10"), "m1*,m2*,m4,m5",
               "requeue puts messages back at their original position, "
               "redelivered");

    for (i = 0; i < 4; i++) {
        t[i] = mq_tags[i];
    }

    /* all of them, out of order, with m3 still held */
    snprintf(line, sizeof(line), "Q.NACK r %" PRIu64 " %" PRIu64 " %"
             PRIu64 " %" PRIu64, t[3], t[0], t[2], t[1]);
    is(line, ":4");
    tap_is_str(deliveries("Q.GET r COUNT 10"), "m1*,m2*,m4*,m5*",
               "a batch requeued out of order keeps the queue order");

    tap_is_str(runf("Q.NACK r %s", tags_str(0, 4)), ":4", "nack again");

    /* m3 comes back between m2 and m4 */
    deliveries("Q.GET r COUNT 10");
    tap_is_str(mq_got, "m1*,m2*,m4*,m5*", "m3 is still out");
}


/* ---- visibility -------------------------------------------------------- */


static void
test_visibility(void)
{
    char      line[256];
    uint64_t  tag;

    reset();

    run("Q.DECLARE v");
    run("Q.PUBLISH v x");
    run("Q.PUBLISH v y");

    at(0);
    deliveries("Q.GET v VISIBILITY 1000");
    tag = mq_tags[0];

    at(999);
    run("Q.INFO v");
    tap_is_int(unacked("v"), 1, "a lease holds until its deadline");

    at(1000);
    run("Q.INFO v");
    tap_is_int(unacked("v"), 0, "at the deadline it returns");
    tap_is_int(ready("v"), 2, "... to the queue");

    snprintf(line, sizeof(line), "Q.ACK v %" PRIu64, tag);
    errc(line, "PRECONDITION");
    tap_ok(strncmp(h->errmsg, "unknown delivery tag", 20) == 0,
           "an expired lease cannot be acked");

    tap_is_str(deliveries("Q.GET v COUNT 1 VISIBILITY 500"), "x*",
               "the expired lease comes back first, redelivered");

    /* the cron's sweep, with nobody touching the queue */
    at(1600);
    (void) kvmq_db_cron(&h->ctx, 100, 100000);
    tap_is_int(queue("v")->unacked, 0, "the cron sweeps expired leases");
    tap_is_int((long long) queue("v")->ready, 2, "... back to ready");

    /* the default is 30 minutes; 0 is none */
    at(2000);
    deliveries("Q.GET v");
    deliveries("Q.GET v VISIBILITY 0");
    at(2000 + KVMQ_VISIBILITY_DEFAULT - 1);
    run("Q.INFO v");
    tap_is_int(unacked("v"), 2, "the default lease lasts 30 minutes");
    at(2000 + KVMQ_VISIBILITY_DEFAULT);
    run("Q.INFO v");
    tap_is_int(unacked("v"), 1, "... and not longer");
    at(100LL * 86400 * 1000);
    run("Q.INFO v");
    tap_is_int(unacked("v"), 1, "VISIBILITY 0 never expires");

    /* a held delivery that expires is requeued redelivered with its
     * original position */
    reset();
    run("Q.DECLARE v2");
    run("Q.PUBLISH v2 a");
    run("Q.PUBLISH v2 b");
    at(0);
    deliveries("Q.GET v2 VISIBILITY 100");
    at(100);
    tap_is_str(deliveries("Q.GET v2 COUNT 2"), "a*,b",
               "an expired lease goes back to its position");
}


/* ---- TTL --------------------------------------------------------------- */


static void
test_ttl(void)
{
    char  line[256];

    reset();

    at(0);
    run("Q.DECLARE t1 message_ttl 1000");
    run("Q.PUBLISH t1 a");
    run("Q.PUBLISH t1 b");
    at(999);
    run("Q.INFO t1");
    tap_is_int(ready("t1"), 2, "queue TTL: alive before it");
    at(1000);
    tap_is_str(deliveries("Q.GET t1 COUNT 5"), "",
               "expired messages are never delivered");
    tap_is_int((long long) queue("t1")->expired, 2, "... counted expired");

    at(0);
    run("Q.DECLARE t2");
    run("Q.PUBLISH t2 a expiration 500");
    run("Q.PUBLISH t2 b");
    at(500);
    tap_is_str(deliveries("Q.GET t2 COUNT 5"), "b",
               "per-message expiration");

    /* the lower wins, both ways */
    at(0);
    run("Q.DECLARE t3 message_ttl 1000");
    run("Q.PUBLISH t3 a expiration 300");
    run("Q.DECLARE t4 message_ttl 300");
    run("Q.PUBLISH t4 a expiration 1000");
    at(299);
    run("Q.INFO t3");
    run("Q.INFO t4");
    tap_ok(ready("t3") == 1 && ready("t4") == 1, "alive before the lower");
    at(300);
    tap_is_str(deliveries("Q.GET t3"), "",
               "message expiration lower than the queue's wins");
    tap_is_str(deliveries("Q.GET t4"), "",
               "queue TTL lower than the message's wins");

    /* checked at the head: an expired message behind a live one waits */
    at(0);
    run("Q.DECLARE t5");
    run("Q.PUBLISH t5 a");
    run("Q.PUBLISH t5 b expiration 100");
    run("Q.PUBLISH t5 c");
    at(200);
    run("Q.INFO t5");
    tap_is_int(ready("t5"), 3, "expiry is checked at the head");
    tap_is_str(deliveries("Q.GET t5 COUNT 5"), "a,c",
               "... but an expired message is never delivered");

    /* TTL 0: expires on arrival, unless a consumer takes it at once */
    at(0);
    run("Q.DECLARE t0 message_ttl 0");
    run("Q.PUBLISH t0 gone");
    tap_is_int(ready("t0"), 0, "TTL 0 without a consumer: expired");
    tap_is_int(consume("t0", "k", 1, 0, 0, 0), KVMQ_OK, "consume t0");
    run("Q.PUBLISH t0 taken");
    tap_is_str(take(0, 10), "k:t0:taken",
               "TTL 0 with a waiting consumer: delivered");

    /* a requeued message keeps its expiry */
    at(0);
    run("Q.DECLARE t6 message_ttl 1000");
    run("Q.PUBLISH t6 a");
    deliveries("Q.GET t6");
    at(1500);
    snprintf(line, sizeof(line), "Q.NACK t6 %" PRIu64, mq_tags[0]);
    is(line, ":1");
    tap_is_int(ready("t6"), 0, "a requeued expired message is dropped");
    tap_is_int((long long) queue("t6")->expired, 1, "... as expired");

    /* the cron expires heads of queues nobody reads */
    at(0);
    run("Q.DECLARE t7 message_ttl 10");
    run("Q.PUBLISH t7 a");
    at(20);
    (void) kvmq_db_cron(&h->ctx, 100, 100000);
    tap_is_int((long long) queue("t7")->ready, 0,
               "the cron expires heads");
}


/* ---- max length -------------------------------------------------------- */


static void
test_maxlen(void)
{
    reset();

    run("Q.DECLARE m max_length 2");
    run("Q.PUBLISH m a");
    run("Q.PUBLISH m b");
    run("Q.PUBLISH m c");
    tap_is_int(ready("m"), 2, "drop-head keeps max_length");
    tap_is_int((long long) queue("m")->dropped, 1, "... dropping one");
    tap_is_str(deliveries("Q.GET m COUNT 5"), "b,c", "... the oldest");

    /* unacked messages do not count */
    run("Q.PUBLISH m d");
    run("Q.PUBLISH m e");
    tap_is_int(ready("m") + unacked("m"), 4,
               "max_length counts ready messages only");

    run("Q.DECLARE mb max_length_bytes 5");
    run("Q.PUBLISH mb aaa");
    run("Q.PUBLISH mb bb");
    run("Q.PUBLISH mb c");
    tap_is_str(deliveries("Q.GET mb COUNT 5"), "bb,c",
               "max_length_bytes drops the head");

    run("Q.DECLARE rp max_length 1 overflow reject-publish");
    is("Q.PUBLISH rp a", "{\"queued\"::1}");
    err("Q.PUBLISH rp b", "QUEUEFULL",
        "queue 'rp' is full (max_length reached)");
    tap_is_int(ready("rp"), 1, "reject-publish stores nothing");
    tap_is_int((long long) queue("rp")->refused, 1, "... counted refused");
    tap_is_str(deliveries("Q.GET rp"), "a", "... and keeps the old one");
    is("Q.PUBLISH rp c", "{\"queued\"::1}");

    run("Q.DECLARE rb max_length_bytes 4 overflow reject-publish");
    is("Q.PUBLISH rb abc", "{\"queued\"::1}");
    errc("Q.PUBLISH rb de", "QUEUEFULL");
    is("Q.PUBLISH rb d", "{\"queued\"::1}");

    /* dead-lettered with reason maxlen */
    run("Q.DECLARE dl");
    run("Q.DECLARE rpd max_length 1 overflow reject-publish-dlx "
        "dead_letter_exchange \"\" dead_letter_routing_key dl");
    run("Q.PUBLISH rpd a");
    errc("Q.PUBLISH rpd b", "QUEUEFULL");
    tap_is_str(deliveries("Q.GET dl"), "b",
               "reject-publish-dlx dead-letters the refused message");
    tap_ok(strstr(h->out, "\"reason\":\"maxlen\"") != NULL,
           "... with reason maxlen");

    run("Q.DECLARE dh max_length 1 dead_letter_exchange \"\" "
        "dead_letter_routing_key dl");
    run("Q.PUBLISH dh a");
    run("Q.PUBLISH dh b");
    tap_is_str(deliveries("Q.GET dl"), "a",
               "drop-head dead-letters the head");
    tap_ok(strstr(h->out, "\"queue\":\"dh\",\"reason\":\"maxlen\"") != NULL,
           "... with reason maxlen");

    run("Q.DECLARE z max_length 0");
    run("Q.PUBLISH z a");
    tap_is_int(ready("z"), 0, "max_length 0 keeps nothing ready");
    tap_is_int(consume("z", "k", 1, 0, 0, 0), KVMQ_OK, "consume z");
    run("Q.PUBLISH z b");
    tap_is_str(take(0, 10), "k:z:b",
               "... but a waiting consumer still gets it");
}


/* ---- dead-lettering ---------------------------------------------------- */


static void
test_dlx(void)
{
    char         line[256], expect[1024];
    const char  *out;

    reset();
    at(5000);

    run("Q.DECLARE dlq");
    run("X.DECLARE dlx fanout");
    run("X.BIND dlx dlq \"\"");
    run("Q.DECLARE src dead_letter_exchange dlx");
    run("Q.PUBLISH src m header k v expiration 60000");
    deliveries("Q.GET src");
    snprintf(line, sizeof(line), "Q.NACK src %" PRIu64 " REQUEUE 0",
             mq_tags[0]);
    is(line, ":1");

    tap_is_int(ready("dlq"), 1, "nack requeue=0 dead-letters");
    tap_is_int((long long) queue("src")->dead_lettered, 1,
               "... counted");

    snprintf(expect, sizeof(expect),
             "[{\"queue\":\"dlq\",\"tag\"::2,\"body\":\"m\","
             "\"redelivered\"::0,\"exchange\":\"dlx\","
             "\"routing_key\":\"src\",\"properties\":{\"headers\":{"
             "\"k\":\"v\",\"x-death\":[{\"count\"::1,\"exchange\":\"\","
             "\"queue\":\"src\",\"reason\":\"rejected\","
             "\"routing-keys\":[\"src\"],\"time\"::%lld,"
             "\"original-expiration\"::60000}],"
             "\"x-first-death-exchange\":\"\","
             "\"x-first-death-queue\":\"src\","
             "\"x-first-death-reason\":\"rejected\","
             "\"x-last-death-exchange\":\"\","
             "\"x-last-death-queue\":\"src\","
             "\"x-last-death-reason\":\"rejected\"}}}]",
             (long long) (T0 + 5000) / 1000);
    is("Q.GET dlq ACK auto", expect);

    /* a ping-pong of rejections counts {queue, reason} up */
    run("Q.DECLARE A dead_letter_exchange \"\" dead_letter_routing_key B");
    run("Q.DECLARE B dead_letter_exchange \"\" dead_letter_routing_key A");
    run("Q.PUBLISH A p");
    deliveries("Q.GET A");
    runf("Q.NACK A %" PRIu64 " REQUEUE 0", mq_tags[0]);
    deliveries("Q.GET B");
    runf("Q.NACK B %" PRIu64 " REQUEUE 0", mq_tags[0]);
    deliveries("Q.GET A");
    runf("Q.NACK A %" PRIu64 " REQUEUE 0", mq_tags[0]);
    out = run("Q.GET B ACK auto");
    tap_ok(strstr(out, "\"x-death\":[{\"count\"::2,\"exchange\":\"\","
                       "\"queue\":\"A\",\"reason\":\"rejected\"") != NULL
           && strstr(out, "{\"count\"::1,\"exchange\":\"\",\"queue\":\"B\","
                          "\"reason\":\"rejected\"") != NULL,
           "x-death counts per {queue, reason}, most recent first");
    tap_ok(strstr(out, "\"x-first-death-queue\":\"A\"") != NULL
           && strstr(out, "\"x-last-death-queue\":\"A\"") != NULL,
           "... x-first-death kept, x-last-death updated");

    /* a chain through expiry: C1 -> C2 -> C3 */
    at(0);
    run("Q.DECLARE C1 message_ttl 10 dead_letter_exchange \"\" "
        "dead_letter_routing_key C2");
    run("Q.DECLARE C2 message_ttl 10 dead_letter_exchange \"\" "
        "dead_letter_routing_key C3");
    run("Q.DECLARE C3");
    run("Q.PUBLISH C1 chained");
    at(10);
    run("Q.INFO C1");
    tap_is_int(ready("C2"), 1, "expired from C1 into C2");
    at(20);
    run("Q.INFO C2");
    out = run("Q.GET C3 ACK auto");
    tap_ok(strstr(out, "\"body\":\"chained\"") != NULL
           && strstr(out, "\"x-death\":[{\"count\"::1,\"exchange\":\"\","
                          "\"queue\":\"C2\",\"reason\":\"expired\"")
              != NULL
           && strstr(out, "{\"count\"::1,\"exchange\":\"\","
                          "\"queue\":\"C1\",\"reason\":\"expired\"")
              != NULL
           && strstr(out, "\"x-first-death-queue\":\"C1\"") != NULL,
           "a DLX chain records every death");
    tap_ok(strstr(out, "\"routing_key\":\"C3\"") != NULL
           && strstr(out, "\"expiration\"") == NULL,
           "... routed with the dead-letter routing key, no expiration");

    /* cycles without a rejection are dropped */
    at(0);
    run("Q.DECLARE Y message_ttl 10 dead_letter_exchange \"\"");
    run("Q.PUBLISH Y loop");
    at(10);
    run("Q.INFO Y");
    tap_is_int(ready("Y"), 0, "a message expiring back into its own "
               "queue is dropped (cycle)");
    tap_is_int((long long) queue("Y")->expired, 1, "... once");

    at(0);
    run("Q.DECLARE P1 message_ttl 10 dead_letter_exchange \"\" "
        "dead_letter_routing_key P2");
    run("Q.DECLARE P2 message_ttl 10 dead_letter_exchange \"\" "
        "dead_letter_routing_key P1");
    run("Q.PUBLISH P1 loop");
    at(10);
    run("Q.INFO P1");
    tap_is_int(ready("P2"), 1, "P1 -> P2");
    at(20);
    run("Q.INFO P2");
    tap_is_int(ready("P1") + ready("P2"), 0,
               "P2 -> P1 closes a cycle: dropped");

    /* a rejection in the cycle lets it through */
    run("Q.DECLARE R1 dead_letter_exchange \"\" dead_letter_routing_key R1");
    run("Q.PUBLISH R1 again");
    deliveries("Q.GET R1");
    runf("Q.NACK R1 %" PRIu64 " REQUEUE 0", mq_tags[0]);
    deliveries("Q.GET R1");
    tap_is_str(mq_got, "again", "rejected back into the same queue");
    runf("Q.NACK R1 %" PRIu64 " REQUEUE 0", mq_tags[0]);
    out = run("Q.GET R1 ACK auto");
    tap_ok(strstr(out, "{\"count\"::2,\"exchange\":\"\",\"queue\":\"R1\","
                       "\"reason\":\"rejected\"") != NULL,
           "... twice: count 2");

    /* a missing dead-letter exchange drops */
    run("Q.DECLARE nx dead_letter_exchange nowhere");
    run("Q.PUBLISH nx m");
    deliveries("Q.GET nx");
    runf("Q.NACK nx %" PRIu64 " REQUEUE 0", mq_tags[0]);
    tap_is_int((long long) queue("nx")->dropped, 1,
               "a missing DLX drops the message");
}


/* ---- exclusive and auto-delete ----------------------------------------- */


static void
test_lifecycle(void)
{
    reset();

    h->ctx.owner = 7;
    h->ctx.owner_slot = 1;
    is("Q.DECLARE ex exclusive 1",
       "{\"queue\":\"ex\",\"created\"::1,\"messages\"::0,\"consumers\"::0}");
    run("Q.PUBLISH ex a");

    h->ctx.owner = 8;
    err("Q.DECLARE ex exclusive 1", "DENIED",
        "cannot obtain exclusive access to locked queue 'ex'");
    errc("Q.GET ex", "DENIED");
    errc("Q.PURGE ex", "DENIED");
    errc("Q.DELETE ex", "DENIED");
    is("Q.PUBLISH ex b", "{\"queued\"::1}");
    tap_is_int(consume("ex", "k8", 8, 2, 0, 0), KVMQ_ERR_DENIED,
               "another owner cannot consume an exclusive queue");
    h->ctx.owner = 0;
    errc("Q.GET ex", "DENIED");

    tap_is_int(consume("ex", "k7", 7, 1, 0, 0), KVMQ_OK,
               "its owner can");
    tap_is_str(take(1, 10), "k7:ex:a k7:ex:b", "... and gets the messages");

    kvmq_mq_owner_gone(&h->ctx, 7);
    tap_ok(queue("ex") == NULL, "an exclusive queue goes with its owner");

    /* auto-delete */
    run("Q.DECLARE ad auto_delete 1");
    run("Q.PUBLISH ad a");
    at(86400000);
    (void) kvmq_db_cron(&h->ctx, 100, 100000);
    tap_ok(queue("ad") != NULL,
           "an auto-delete queue that never had a consumer stays");

    consume("ad", "c1", 9, 0, 0, 0);
    consume("ad", "c2", 9, 0, 0, 0);
    kvmq_queue_cancel(&h->ctx, &(kvmq_slice_t) kvmq_slice("ad"),
                      &(kvmq_slice_t) kvmq_slice("c1"));
    tap_ok(queue("ad") != NULL, "... stays while a consumer is left");
    kvmq_queue_cancel(&h->ctx, &(kvmq_slice_t) kvmq_slice("ad"),
                      &(kvmq_slice_t) kvmq_slice("c2"));
    tap_ok(queue("ad") == NULL, "... goes with the last consumer");

    run("Q.DECLARE ad2 auto_delete 1");
    consume("ad2", "c", 10, 3, 0, 0);
    kvmq_mq_owner_gone(&h->ctx, 10);
    tap_ok(queue("ad2") == NULL,
           "... also when the last consumer's connection goes");

    /* expires: an unused queue goes */
    at(0);
    run("Q.DECLARE ttlq expires 1000");
    at(999);
    (void) kvmq_db_cron(&h->ctx, 100, 100000);
    tap_ok(queue("ttlq") != NULL, "expires: kept while used recently");
    run("Q.DECLARE ttlq expires 1000");
    at(1998);
    (void) kvmq_db_cron(&h->ctx, 100, 100000);
    tap_ok(queue("ttlq") != NULL, "... a declare counts as a use");
    at(1999);
    (void) kvmq_db_cron(&h->ctx, 100, 100000);
    tap_ok(queue("ttlq") == NULL, "... and goes when unused that long");
}


/* ---- push consumers ---------------------------------------------------- */


static void
test_prefetch(void)
{
    int               i, worst;
    kvmq_consumer_t  *k;
    kvmq_slice_t      qn, tn;

    reset();

    run("Q.DECLARE pf");
    h->ctx.wake = 0;
    tap_is_int(consume("pf", "k1", 1, 0, 2, 0), KVMQ_OK, "consume");

    for (i = 0; i < 5; i++) {
        runf("Q.PUBLISH pf m%d", i);
    }

    tap_ok(h->ctx.wake == 1, "the consumer's slot is reported in wake");
    tap_is_str(take(0, 100), "k1:pf:m0 k1:pf:m1",
               "prefetch 2: two deliveries");
    tap_is_str(take(0, 100), "", "... and no more until an ack");
    tap_ok(!kvmq_queue_pending(h->db, 0), "nothing pending");

    qn = sl("pf");
    tn = sl("k1");
    tap_is_int(kvmq_queue_credit(&h->ctx, &qn, &tn), 0, "credit 0");

    settle("pf", took_tags, 1, KVMQ_SETTLE_ACK, 1);
    tap_is_int(kvmq_queue_credit(&h->ctx, &qn, &tn), 0,
               "an ack assigns the next one at once");
    tap_is_str(take(0, 100), "k1:pf:m2", "... which the door takes");

    /* many rounds: never more than 2 unacked */
    k = kvmq_consumer_find(queue("pf"), &tn, 0, 1);
    worst = 0;

    for (i = 0; i < 200; i++) {
        runf("Q.PUBLISH pf n%d", i);
        take(0, 100);

        if ((int) k->unacked > worst) {
            worst = (int) k->unacked;
        }

        if (took_n > 0 && i % 3 == 0) {
            settle("pf", took_tags, 1, KVMQ_SETTLE_ACK, 1);
        }
    }

    tap_is_int(worst, 2, "prefetch is never exceeded");

    /* noack: settled as taken */
    run("Q.DECLARE na");
    consume("na", "n", 2, 2, 0, 1);
    run("Q.PUBLISH na a");
    run("Q.PUBLISH na b");
    tap_is_str(take(2, 100), "n:na:a n:na:b", "noack consumer");
    tap_is_int(unacked("na"), 0, "... holds nothing");
    tap_is_int((long long) queue("na")->acked, 2, "... counted acked");

    /* an unlimited consumer gets at most an outbox at a time */
    run("Q.DECLARE big");
    for (i = 0; i < KVMQ_OUTBOX_MAX + 10; i++) {
        runf("Q.PUBLISH big %d", i);
    }

    consume("big", "u", 3, 3, 0, 0);
    tap_is_int(unacked("big"), KVMQ_OUTBOX_MAX,
               "assignment stops at a full outbox");
    take(3, 10);
    tap_is_int(unacked("big"), KVMQ_OUTBOX_MAX + 10,
               "taking refills it");
}


static void
test_round_robin(void)
{
    int  i;

    reset();

    run("Q.DECLARE rr");
    consume("rr", "a", 1, 0, 0, 0);
    consume("rr", "b", 2, 1, 0, 0);
    consume("rr", "c", 3, 0, 0, 0);

    for (i = 1; i <= 9; i++) {
        runf("Q.PUBLISH rr %d", i);
    }

    tap_is_str(take(0, 100), "a:rr:1 a:rr:4 a:rr:7 c:rr:3 c:rr:6 c:rr:9",
               "round-robin: slot 0's consumers");
    tap_is_str(take(1, 100), "b:rr:2 b:rr:5 b:rr:8",
               "round-robin: slot 1's consumer");

    /* with unequal prefetch: skips those without credit */
    run("Q.DECLARE rp");
    consume("rp", "p1", 1, 0, 1, 0);
    consume("rp", "p3", 2, 0, 3, 0);

    for (i = 1; i <= 6; i++) {
        runf("Q.PUBLISH rp %d", i);
    }

    tap_is_str(take(0, 100), "p1:rp:1 p3:rp:2 p3:rp:3 p3:rp:4",
               "round-robin skips consumers without credit");
    tap_is_int(ready("rp"), 2, "the rest waits");

    /* the hooks */
    {
        kvmq_slice_t  qn, tag;
        uint64_t      owner;
        unsigned      slot;

        qn = sl("rr");
        tap_is_int(kvmq_queue_next_consumer(&h->ctx, &qn, &tag, &owner,
                                            &slot), 0, "next consumer");
        tap_ok(tag.len == 1 && tag.data[0] == 'a' && owner == 1
               && slot == 0, "... is a (owner 1, slot 0), after c");

        qn = sl("rp");
        tap_is_int(kvmq_queue_next_consumer(&h->ctx, &qn, &tag, &owner,
                                            &slot), -1,
                   "no consumer has credit");
    }
}


static void
test_release(void)
{
    uint64_t      tags[8];
    kvmq_slice_t  qn, tn;

    reset();

    run("Q.DECLARE rl");

    run("Q.PUBLISH rl m1");
    run("Q.PUBLISH rl m2");
    run("Q.PUBLISH rl m3");
    run("Q.PUBLISH rl m4");
    run("Q.PUBLISH rl m5");

    consume("rl", "k", 1, 0, 0, 0);
    take(0, 3);
    memcpy(tags, took_tags, 3 * sizeof(uint64_t));
    tap_is_int(unacked("rl"), 5, "3 taken, 2 in the outbox");

    qn = sl("rl");
    tn = sl("k");
    tap_is_int(kvmq_queue_release(&h->ctx, &qn, &tn), KVMQ_OK, "release");
    tap_is_str(deliveries("Q.GET rl COUNT 10"), "m1*,m2*,m3*,m4,m5",
               "released deliveries come back in order, redelivered if "
               "they were handed out");
    tap_is_int(settle("rl", tags, 1, KVMQ_SETTLE_ACK, 0),
               KVMQ_ERR_PRECONDITION, "their old tags are unknown");

    /* cancel: the outbox goes back, taken ones stay until acked */
    reset();
    run("Q.DECLARE cn");
    run("Q.PUBLISH cn m1");
    run("Q.PUBLISH cn m2");
    run("Q.PUBLISH cn m3");
    consume("cn", "k", 1, 0, 0, 0);
    take(0, 1);
    tap_is_int(kvmq_queue_cancel(&h->ctx, &(kvmq_slice_t) kvmq_slice("cn"),
                                 &(kvmq_slice_t) kvmq_slice("k")),
               KVMQ_OK, "cancel");
    tap_is_int(ready("cn"), 2, "the outbox went back");
    tap_is_int(unacked("cn"), 1, "the taken one is still held");
    tap_is_int(settle("cn", took_tags, 1, KVMQ_SETTLE_ACK, 1), KVMQ_OK,
               "... and can be acked after cancel");
    tap_is_int((long long) queue("cn")->nconsumers, 0, "no consumer left");
    tap_is_int(kvmq_queue_cancel(&h->ctx, &(kvmq_slice_t) kvmq_slice("cn"),
                                 &(kvmq_slice_t) kvmq_slice("k")),
               KVMQ_ERR_NOTFOUND, "cancel again: NOTFOUND");

    /* a connection dies: another consumer gets everything, redelivered */
    reset();
    run("Q.DECLARE w");
    consume("w", "dead", 5, 0, 0, 0);
    consume("w", "live", 6, 1, 0, 0);
    run("Q.PUBLISH w a");
    run("Q.PUBLISH w b");
    run("Q.PUBLISH w c");
    run("Q.PUBLISH w d");
    take(0, 100);
    tap_is_str(took, "dead:w:a dead:w:c", "the doomed consumer took two");
    kvmq_mq_owner_gone(&h->ctx, 5);
    tap_is_str(take(1, 100), "live:w:b live:w:d live:w:a* live:w:c*",
               "its deliveries go to the other consumer, redelivered");
    tap_is_int(settle("w", took_tags, 4, KVMQ_SETTLE_ACK, 6), KVMQ_OK,
               "acked by the live one");
    tap_is_int(ready("w") + unacked("w"), 0, "none lost, none twice");

    /* the door cannot push any more: the consumer is released */
    run("Q.PUBLISH w e");
    take_gone = 1;
    take(1, 100);
    take_gone = 0;
    tap_is_int(ready("w"), 1, "a refused push releases the consumer");
    tap_is_int((long long) queue("w")->nconsumers, 0, "... and cancels it");

    /* a worker exits: every owner of its slot */
    reset();
    run("Q.DECLARE s");
    consume("s", "x1", 11, 4, 0, 0);
    consume("s", "x2", 12, 4, 0, 0);
    consume("s", "y", 13, 5, 0, 0);
    run("Q.PUBLISH s a");
    run("Q.PUBLISH s b");
    run("Q.PUBLISH s c");
    take(4, 100);
    kvmq_mq_slot_gone(&h->ctx, 4);
    tap_is_int((long long) queue("s")->nconsumers, 1,
               "slot gone: its consumers are gone");
    tap_is_str(take(5, 100), "y:s:c y:s:a* y:s:b*",
               "... and their deliveries went to the others");

    /* the tag of a consumer of another owner is unknown to this one */
    tap_is_int(settle(NULL, took_tags, 1, KVMQ_SETTLE_ACK, 99),
               KVMQ_ERR_PRECONDITION, "another owner's tag is unknown");
    tap_is_int(settle(NULL, took_tags, 3, KVMQ_SETTLE_ACK, 13), KVMQ_OK,
               "an ACK without a queue name finds the deliveries");

    /* gets held by a CONSUMER id, or by the connection running them */
    reset();
    run("Q.DECLARE hq");
    run("Q.PUBLISH hq a");
    run("Q.PUBLISH hq b");
    run("Q.PUBLISH hq c");
    deliveries("Q.GET hq COUNT 2 CONSUMER lease1");
    tap_is_int(kvmq_queue_release(&h->ctx,
                                  &(kvmq_slice_t) kvmq_slice("hq"),
                                  &(kvmq_slice_t) kvmq_slice("lease1")),
               KVMQ_OK, "release a CONSUMER id's gets");
    tap_is_str(deliveries("Q.GET hq COUNT 5 ACK auto"), "a*,b*,c",
               "... they come back redelivered");

    run("Q.PUBLISH hq d");
    h->ctx.owner = 30;
    h->ctx.owner_slot = 7;
    deliveries("Q.GET hq");
    h->ctx.owner = 0;
    kvmq_mq_owner_gone(&h->ctx, 30);
    tap_is_str(deliveries("Q.GET hq ACK auto"), "d*",
               "a connection's gets come back when it goes");

    /* a get naming a registered consumer respects its prefetch */
    run("Q.PUBLISH hq e");
    run("Q.PUBLISH hq f");
    consume("hq", "pk", 31, 0, 1, 0);
    h->ctx.owner = 31;
    tap_is_str(deliveries("Q.GET hq COUNT 5 CONSUMER pk"), "",
               "a get for a consumer at its prefetch gets nothing");
    h->ctx.owner = 0;
    tap_is_int(kvmq_queue_credit(&h->ctx, &(kvmq_slice_t) kvmq_slice("hq"),
                                 &(kvmq_slice_t) kvmq_slice("pk")), 0,
               "... its credit is 0");
    tap_is_int(kvmq_queue_credit(&h->ctx, &(kvmq_slice_t) kvmq_slice("hq"),
                                 &(kvmq_slice_t) kvmq_slice("zz")), -2,
               "no such consumer: -2");

    /* a deleted queue tells its consumers */
    run("Q.DECLARE gone");
    consume("gone", "g", 14, 6, 0, 0);
    run("Q.DELETE gone");
    tap_is_str(take(6, 100), "cancel:gone",
               "deleting a queue sends its consumers a cancel notice");
    tap_ok(!kvmq_queue_pending(h->db, 6), "... once");
}


/* ---- wake-up hints ----------------------------------------------------- */


static void
test_wake(void)
{
    uint64_t      seq;
    kvmq_slice_t  qn;

    reset();

    run("Q.DECLARE wq");
    qn = sl("wq");

    tap_is_int(kvmq_queue_watch(&h->ctx, &qn, 3), 0, "watch an empty queue");
    h->ctx.wake = 0;
    seq = kvmq_queue_ready_seq(h->db);
    run("Q.PUBLISH wq a");
    tap_ok(h->ctx.wake == (1u << 3), "a publish wakes the watching slot");
    tap_ok(kvmq_queue_ready_seq(h->db) > seq, "... and bumps ready_seq");

    h->ctx.wake = 0;
    run("Q.PUBLISH wq b");
    tap_ok(h->ctx.wake == 0, "... once");

    tap_is_int(kvmq_queue_watch(&h->ctx, &qn, 3), 2,
               "watch a queue with messages: retry at once");

    qn = sl("none");
    tap_is_int(kvmq_queue_watch(&h->ctx, &qn, 3), -1, "watch a missing one");
}


/* ---- storage ----------------------------------------------------------- */


static void
test_stored_once(void)
{
    int            i;
    char          *body;
    size_t         allocs, used, tb;
    kvmq_slice_t   argv[4];
    const char    *out;

    reset();

    run("X.DECLARE fan fanout");

    for (i = 0; i < 5; i++) {
        runf("Q.DECLARE s%d", i);
        runf("X.BIND fan s%d \"\"", i);
    }

    allocs = h->allocs;
    is("X.PUBLISH fan k small", "{\"routed\"::5}");
    tap_is_int((long long) (h->allocs - allocs), 6,
               "a message routed to 5 queues: 1 block + 5 entries");
    tap_is_int((long long) h->db->mq->messages, 1, "... stored once");

    for (i = 0; i < 5; i++) {
        runf("Q.GET s%d ACK auto", i);
    }

    tap_is_int((long long) h->db->mq->messages, 0,
               "freed with the last reference");

    /* a big body goes to page chunks */
    body = malloc(10000);
    memset(body, 'x', 10000);
    body[9999] = 'y';

    argv[0] = sl("X.PUBLISH");
    argv[1] = sl("fan");
    argv[2] = sl("k");
    argv[3].data = (const unsigned char *) body;
    argv[3].len = 10000;

    allocs = h->allocs;
    out = th_runv(h, 4, argv);
    tap_is_str(out, "{\"routed\"::5}", "a 10000-byte body");
    tap_is_int((long long) (h->allocs - allocs), 1 + 3 + 5,
               "... in 3 page chunks, once for 5 queues");

    out = run("Q.GET s3 ACK auto");
    tap_ok(strlen(out) > 10000 && strstr(out, "xxy\"") != NULL,
           "... and it reads back whole");

    free(body);

    /* purging a long queue frees lazily */
    reset();
    run("Q.DECLARE long");
    drain();
    used = h->used;

    for (i = 0; i < 500; i++) {
        run("Q.PUBLISH long some-payload");
    }

    is("Q.PURGE long", ":500");
    tap_ok(kvmq_db_lazyfree_pending(h->db) > 0,
           "purging 500 messages frees lazily");
    drain();
    tap_is_int((long long) h->used, (long long) used,
               "... every byte comes back");

    for (i = 0; i < 500; i++) {
        run("Q.PUBLISH long some-payload");
    }

    tb = kvmq_htable_bytes(&h->db->mq->tags);
    consume("long", "k", 1, 0, 0, 0);
    is("Q.DELETE long", ":244");
    take(0, 10);
    drain();
    tap_ok(h->db->mq->messages == 0 && h->db->mq->consumers == 0
           && kvmq_htable_size(&h->db->mq->tags) == 0,
           "deleting a queue with deliveries frees its entries");
    tap_is_int((long long) (h->used - kvmq_htable_bytes(&h->db->mq->tags)),
               (long long) (used - tb - sizeof(kvmq_queue_t) - 4),
               "... every byte but the root's (its tag table may have "
               "grown)");
}


/* ---- NOMEM ------------------------------------------------------------- */


static void
test_nomem(void)
{
    char  big[5000];

    /* the first declare makes the root */
    reset();
    nomem_sweep("Q.DECLARE q1 max_length 5 dead_letter_exchange x",
                "Q.LIST ; X.LIST", 8,
                "{\"queue\":\"q1\",\"created\"::1,\"messages\"::0,"
                "\"consumers\"::0}", "first Q.DECLARE");

    nomem_sweep("Q.DECLARE q2", "Q.LIST", 8,
                "{\"queue\":\"q2\",\"created\"::1,\"messages\"::0,"
                "\"consumers\"::0}", "Q.DECLARE");

    h->ctx.owner = 3;
    nomem_sweep("Q.DECLARE q3 exclusive 1", "Q.LIST", 8,
                "{\"queue\":\"q3\",\"created\"::1,\"messages\"::0,"
                "\"consumers\"::0}", "Q.DECLARE exclusive (owner record)");
    h->ctx.owner = 0;

    run("Q.PUBLISH q2 first");
    nomem_sweep("Q.PUBLISH q2 hello correlation_id c header a b",
                "Q.INFO q2", 8, "{\"queued\"::1}", "Q.PUBLISH");

    memset(big, 'b', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    {
        char  line[6000];

        snprintf(line, sizeof(line), "Q.PUBLISH q2 %s", big);
        nomem_sweep(line, "Q.INFO q2", 64, "{\"queued\"::1}",
                    "Q.PUBLISH of a chunked body");
    }

    run("X.DECLARE fan fanout");
    run("Q.DECLARE f1");
    run("Q.DECLARE f2");
    run("Q.DECLARE f3");
    run("X.BIND fan f1 \"\"");
    run("X.BIND fan f2 \"\"");
    run("X.BIND fan f3 \"\"");
    nomem_sweep("X.PUBLISH fan k m", "Q.INFO f1 ; Q.INFO f2 ; Q.INFO f3",
                8, "{\"routed\"::3}", "X.PUBLISH to 3 queues");

    nomem_sweep("X.DECLARE tx topic", "X.LIST", 8,
                "{\"exchange\":\"tx\",\"created\"::1}", "X.DECLARE topic");
    nomem_sweep("X.BIND tx f1 a.b.*.#", "X.LIST",
                8, ":1", "X.BIND with a new trie path");
    nomem_sweep("X.BIND tx f2 a.b.x", "X.LIST", 8,
                ":1", "X.BIND with part of the path there");
    nomem_sweep("X.BIND fan f1 k x-match any", "X.LIST", 8, ":1",
                "X.BIND fanout with arguments");

    run("Q.PUBLISH f1 x");
    {
        char  expect[256];

        snprintf(expect, sizeof(expect),
                 "[{\"queue\":\"f1\",\"tag\"::%llu,\"body\":\"m\","
                 "\"redelivered\"::0,\"exchange\":\"fan\","
                 "\"routing_key\":\"k\",\"properties\":{}}]",
                 (unsigned long long) h->db->mq->next_tag + 1);
        nomem_sweep("Q.GET f1 CONSUMER holder", "Q.INFO f1", 8, expect,
                    "Q.GET making a lease holder");
    }
}


int
main(void)
{
    test_declare();
    test_info();
    test_fifo();
    test_ack();
    test_requeue();
    test_visibility();
    test_ttl();
    test_maxlen();
    test_dlx();
    test_lifecycle();
    test_prefetch();
    test_round_robin();
    test_release();
    test_wake();
    test_stored_once();
    test_nomem();

    th_free(h);

    return tap_done();
}
