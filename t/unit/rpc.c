/*
 * Unit tests of RPC reply addresses (rpc.c): a call publishes with
 * reply_to and correlation_id, RPC.REPLY (or a publish to the default
 * exchange) answers exactly once, the caller's slot is woken and takes
 * the reply; wrong correlation ids, answered, closed, timed-out and
 * orphaned addresses are NOTFOUND; 200 calls from 20 owners on 4 slots
 * are all correlated; NOMEM leaves nothing behind.
 */

#include "mq_util.h"


#define T0  1700000000000LL


static char  rep[1 << 16];


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
rep_cb(void *arg, const kvmq_rpc_reply_t *r)
{
    char            buf[512];
    size_t          len;
    kvmq_slice_t    ct;
    unsigned char  *body;

    (void) arg;

    len = kvmq_msg_body_len(r->msg);
    body = malloc(len + 1);
    kvmq_msg_body_copy(r->msg, body);
    ct = kvmq_msg_content_type(r->msg);

    snprintf(buf, sizeof(buf), "%s%llu:%.*s:%.*s:%.*s", rep[0] ? " " : "",
             (unsigned long long) r->owner,
             (int) r->correlation_id.len,
             (const char *) r->correlation_id.data, (int) len, body,
             (int) ct.len, (const char *) ct.data);

    free(body);

    if (strlen(rep) + strlen(buf) + 1 < sizeof(rep)) {
        strcat(rep, buf);
    }
}


static const char *
take_replies(unsigned slot)
{
    rep[0] = '\0';

    while (kvmq_rpc_take(&h->ctx, slot, 1000, rep_cb, NULL)) {
        /* void */
    }

    return rep;
}


static kvmq_err_e
call(const char *q, const char *body, uint64_t owner, unsigned slot,
    int64_t timeout, kvmq_rpc_call_t *out)
{
    kvmq_slice_t  qs, bs, props[2];

    qs = sl(q);
    bs = sl(body);
    props[0] = sl("content_type");
    props[1] = sl("text/plain");

    return kvmq_rpc_call(&h->ctx, &qs, &bs, props, 2, owner, slot, timeout,
                         out);
}


static uint64_t
rpc_count(void)
{
    return (h->db->mq != NULL) ? kvmq_htable_size(&h->db->mq->rpc) : 0;
}


static void
test_call_reply(void)
{
    char             expect[1024];
    kvmq_rpc_call_t  c1;

    reset();

    run("Q.DECLARE svc");

    tap_is_int(call("svc", "ping", 1, 2, 1000, &c1), KVMQ_OK, "a call");
    tap_ok(strncmp(c1.addr, "amq.rpc.", 8) == 0 && c1.clen == 16,
           "... gets a private address and a correlation id");
    tap_is_int((long long) c1.routed, 1, "... and is queued");

    snprintf(expect, sizeof(expect),
             "[{\"queue\":\"svc\",\"tag\"::1,\"body\":\"ping\","
             "\"redelivered\"::0,\"exchange\":\"\",\"routing_key\":\"svc\","
             "\"properties\":{\"correlation_id\":\"%s\",\"reply_to\":\"%s\","
             "\"content_type\":\"text/plain\"}}]", c1.corr, c1.addr);
    is("Q.GET svc ACK auto", expect);

    tap_is_str(runf("RPC.REPLY %s wrong pong", c1.addr), "!NOTFOUND",
               "a reply with another correlation id is NOTFOUND");
    tap_is_str(runf("RPC.REPLY nowhere %s pong", c1.corr), "!NOTFOUND",
               "a reply to an unknown address is NOTFOUND");
    tap_is_str(h->errmsg, "no caller waits on reply address 'nowhere'",
               "... message");

    h->ctx.wake = 0;
    tap_is_str(runf("RPC.REPLY %s %s pong content_type application/json",
                    c1.addr, c1.corr), "+OK", "RPC.REPLY");
    tap_ok(h->ctx.wake == (1u << 2), "... wakes the caller's slot");
    tap_ok(kvmq_rpc_pending(h->db, 2) && !kvmq_rpc_pending(h->db, 1),
           "... which has a reply pending");

    tap_is_str(runf("RPC.REPLY %s %s again", c1.addr, c1.corr), "!NOTFOUND",
               "a second reply is NOTFOUND (dropped)");

    snprintf(expect, sizeof(expect), "1:%s:pong:application/json", c1.corr);
    tap_is_str(take_replies(2), expect, "the caller takes its reply");
    tap_is_int((long long) rpc_count(), 0, "... and the address is gone");
    tap_is_str(runf("RPC.REPLY %s %s late", c1.addr, c1.corr), "!NOTFOUND",
               "a late reply is NOTFOUND");
    tap_ok(h->db->mq->messages == 0, "no reply message is left");

    /* the default exchange: a publish to the address answers it */
    call("svc", "ping", 1, 2, 1000, &c1);
    tap_is_str(runf("X.PUBLISH \"\" %s pong correlation_id nope", c1.addr),
               "!NOTFOUND", "a publish with another correlation id: "
               "NOTFOUND");
    tap_is_str(runf("X.PUBLISH \"\" %s pong correlation_id %s", c1.addr,
                    c1.corr), "{\"routed\"::1}",
               "a publish to the default exchange with the address as "
               "routing key answers");
    snprintf(expect, sizeof(expect), "1:%s:pong:", c1.corr);
    tap_is_str(take_replies(2), expect, "... the caller gets it");

    call("svc", "ping", 1, 2, 1000, &c1);
    tap_is_str(runf("Q.PUBLISH %s pong correlation_id %s", c1.addr,
                    c1.corr), "{\"queued\"::1}",
               "... so does Q.PUBLISH to the address");
    take_replies(2);
    run("Q.PURGE svc");
}


static void
test_lifetimes(void)
{
    kvmq_rpc_call_t  c1;
    kvmq_slice_t     a;

    reset();
    run("Q.DECLARE svc");

    /* timeout */
    call("svc", "x", 1, 0, 1000, &c1);
    th_set_time(h, T0 + 999);
    tap_is_str(runf("RPC.REPLY %s %s y", c1.addr, c1.corr), "+OK",
               "a reply before the deadline");
    take_replies(0);

    call("svc", "x", 1, 0, 1000, &c1);
    th_set_time(h, T0 + 999 + 1000);
    tap_is_str(runf("RPC.REPLY %s %s y", c1.addr, c1.corr), "!NOTFOUND",
               "a reply at the deadline is too late");
    (void) kvmq_db_cron(&h->ctx, 100, 100000);
    tap_is_int((long long) rpc_count(), 0, "the cron drops the address");

    /* the caller gives up */
    call("svc", "x", 1, 0, 1000, &c1);
    a = sl(c1.addr);
    tap_is_int(kvmq_rpc_close(&h->ctx, &a), 0, "close");
    tap_is_int(kvmq_rpc_close(&h->ctx, &a), -1, "close again: absent");
    tap_is_str(runf("RPC.REPLY %s %s y", c1.addr, c1.corr), "!NOTFOUND",
               "a reply after close is NOTFOUND");

    /* the caller's connection goes */
    call("svc", "x", 5, 1, 1000, &c1);
    kvmq_mq_owner_gone(&h->ctx, 5);
    tap_is_str(runf("RPC.REPLY %s %s y", c1.addr, c1.corr), "!NOTFOUND",
               "a reply after the owner went is NOTFOUND");

    /* an answered reply nobody takes: dropped with its owner too */
    call("svc", "x", 6, 1, 1000, &c1);
    runf("RPC.REPLY %s %s y", c1.addr, c1.corr);
    kvmq_mq_slot_gone(&h->ctx, 1);
    tap_is_int((long long) rpc_count(), 0,
               "a worker gone: its answered addresses go too");
    tap_ok(!kvmq_rpc_pending(h->db, 1), "... nothing pending");

    /* errors */
    tap_is_int(call("nope", "x", 1, 0, 1000, &c1), KVMQ_ERR_NOTFOUND,
               "a call to a missing queue");
    tap_is_int(call("svc", "x", 0, 0, 1000, &c1), KVMQ_ERR_BADREQ,
               "a call without an owner");
    run("Q.DECLARE full max_length 0 overflow reject-publish");
    tap_is_int(call("full", "x", 1, 0, 1000, &c1), KVMQ_ERR_QUEUEFULL,
               "a call to a full queue");
    tap_is_int((long long) rpc_count(), 0, "... leaves no address");
}


static void
test_many(void)
{
    int              i, n, bad;
    char            *p, *q, *copy, *save;
    uint64_t         owner;
    const char      *got;
    kvmq_rpc_call_t  calls[200];

    reset();
    run("Q.DECLARE svc");

    for (i = 0; i < 200; i++) {
        if (call("svc", "req", 1 + i % 20, (unsigned) (i % 20) % 4, 60000,
                 &calls[i]) != KVMQ_OK)
        {
            break;
        }
    }

    tap_is_int(i, 200, "200 calls from 20 owners on 4 slots");

    /* the server answers in reverse order, with the correlation id as
     * the body */
    deliveries("Q.GET svc COUNT 200 ACK auto");
    tap_is_int(mq_ntags, 200, "the server gets 200 requests");

    for (i = 199; i >= 0; i--) {
        runf("RPC.REPLY %s %s %s", calls[i].addr, calls[i].corr,
             calls[i].corr);
    }

    bad = 0;
    n = 0;

    for (i = 0; i < 4; i++) {
        got = take_replies((unsigned) i);
        copy = strdup(got);

        /* "owner:corr:body:type": the body is the correlation id, and
         * the owner is one of the slot's */
        for (p = strtok_r(copy, " ", &save); p != NULL;
             p = strtok_r(NULL, " ", &save))
        {
            n++;
            owner = strtoull(p, &q, 10);

            if (*q != ':' || strncmp(q + 1, q + 18, 16) != 0
                || (owner - 1) % 4 != (uint64_t) i)
            {
                bad++;
            }
        }

        free(copy);
    }

    tap_is_int(n, 200, "200 replies taken");
    tap_is_int(bad, 0, "each caller got exactly its own reply, on its "
               "slot");

    tap_is_int((long long) rpc_count(), 0, "no address is left");
}


static void
test_nomem(void)
{
    int              fails, bad;
    size_t           used, extra;
    kvmq_err_e       rc;
    kvmq_rpc_call_t  c1;

    reset();
    run("Q.DECLARE svc");
    run("Q.PUBLISH svc warm");
    drain();

    used = h->used;
    fails = 0;
    bad = 0;

    for (extra = 0; extra < 65536; extra += 8) {
        h->limit = used + extra;
        rc = call("svc", "ping", 1, 0, 1000, &c1);

        if (rc != KVMQ_ERR_NOMEM) {
            break;
        }

        fails++;

        if (h->used != used || rpc_count() != 0 || ready("svc") != 1) {
            bad = 1;
        }
    }

    h->limit = 0;

    tap_ok(fails > 0 && !bad && rc == KVMQ_OK,
           "a call under NOMEM (%d points) leaves nothing behind", fails);

    {
        char  line[256];

        snprintf(line, sizeof(line), "RPC.REPLY %s %s pong", c1.addr,
                 c1.corr);
        nomem_sweep(line, "Q.LIST", 8, "+OK", "RPC.REPLY");
    }

    take_replies(0);
}


int
main(void)
{
    test_call_reply();
    test_lifetimes();
    test_many();
    test_nomem();

    th_free(h);

    return tap_done();
}
