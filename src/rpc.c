/*
 * RPC reply addresses, RabbitMQ direct reply-to style: no reply queue
 * per call, a private address that lives as long as the call.
 *
 * An address is one block: header, the address, the correlation id it
 * expects.  It is in the root's table by address, on its owner's list
 * (the caller's connection: kvmq_mq_owner_gone() drops them), and on a
 * list by deadline (inserted from the tail with a bounded walk back, as
 * leases are) that the cron trims.  Once answered it holds the reply
 * (a message block, as queues hold them) and sits on its slot's
 * answered list until the caller's worker takes it.
 *
 * The request is an ordinary message published through the default
 * exchange with reply_to and correlation_id set, so a server consumes
 * it like any other (Q.GET or CONSUME) and answers with RPC.REPLY, or by
 * publishing to the default exchange with the address as routing key
 * (t_mq.c sends such publishes here when no queue has that name).
 *
 * Exactly one reply is taken: the first with the expected correlation
 * id.  Replies to an address that is unknown, answered already, past
 * its deadline, or with another correlation id are NOTFOUND and
 * dropped (late replies are dropped, as RabbitMQ drops replies to a
 * gone reply-to).
 *
 * RPC.REPLY addr correlation_id body [PROPERTY value ...]
 *     properties as Q.PUBLISH (content_type, header NAME VALUE ...);
 *     reply: +OK, NOTFOUND, NOMEM.
 */

#include <stdio.h>

#include "commands.h"
#include "db.h"
#include "mq.h"


#define KVMQ_RPC_WALK       64
#define KVMQ_RPC_GRACE      60000       /* an answer waits this long more */


static kvmq_slice_t kvmq_rpc_key(const kvmq_hnode_t *n);

static const kvmq_htype_t  kvmq_rpc_htype = { kvmq_rpc_key };


static kvmq_slice_t
kvmq_rpc_key(const kvmq_hnode_t *n)
{
    kvmq_slice_t           s;
    const kvmq_rpcaddr_t  *a;

    a = (const kvmq_rpcaddr_t *) n;
    s.data = a->addr;
    s.len = a->alen;

    return s;
}


static kvmq_slice_t
kvmq_rpc_corr(const kvmq_rpcaddr_t *a)
{
    kvmq_slice_t  s;

    s.data = a->addr + a->alen;
    s.len = a->clen;

    return s;
}


kvmq_rpcaddr_t *
kvmq_rpc_find(kvmq_ctx_t *c, const kvmq_slice_t *addr)
{
    kvmq_mq_t  *mq;

    mq = c->db->mq;

    if (mq == NULL) {
        return NULL;
    }

    return (kvmq_rpcaddr_t *) kvmq_htable_find(c, &mq->rpc, &kvmq_rpc_htype,
                                  addr->data, addr->len,
                                  kvmq_mq_key_hash(c, addr->data,
                                                   addr->len));
}


static void
kvmq_rpc_link(kvmq_ctx_t *c, kvmq_rpcaddr_t *a, kvmq_owner_t *o)
{
    unsigned         n;
    uint64_t         hash;
    kvmq_mq_t       *mq;
    kvmq_rpcaddr_t  *p;

    mq = c->db->mq;

    hash = kvmq_mq_key_hash(c, a->addr, a->alen);
    (void) kvmq_htable_reserve(c, &mq->rpc, &kvmq_rpc_htype, hash);
    kvmq_htable_link(&mq->rpc, &a->node, hash);

    a->owner = o;
    a->oprev = NULL;
    a->onext = o->addrs;

    if (o->addrs != NULL) {
        o->addrs->oprev = a;
    }

    o->addrs = a;

    /* by deadline: after the last one due no later */
    p = mq->rpc_tail;

    for (n = 0; p != NULL && p->deadline > a->deadline && n < KVMQ_RPC_WALK;
         n++)
    {
        p = p->tprev;
    }

    a->tprev = p;
    a->tnext = (p != NULL) ? p->tnext : mq->rpc_head;

    if (a->tnext != NULL) {
        a->tnext->tprev = a;

    } else {
        mq->rpc_tail = a;
    }

    if (p != NULL) {
        p->tnext = a;

    } else {
        mq->rpc_head = a;
    }
}


void
kvmq_rpc_drop(kvmq_ctx_t *c, kvmq_rpcaddr_t *a)
{
    kvmq_mq_t        *mq;
    kvmq_owner_t     *o;
    kvmq_rpcaddr_t  **pp;

    mq = c->db->mq;
    o = a->owner;

    kvmq_htable_unlink(c, &mq->rpc, &a->node,
                       kvmq_mq_key_hash(c, a->addr, a->alen));

    if (a->oprev != NULL) {
        a->oprev->onext = a->onext;

    } else {
        o->addrs = a->onext;
    }

    if (a->onext != NULL) {
        a->onext->oprev = a->oprev;
    }

    if (a->tprev != NULL) {
        a->tprev->tnext = a->tnext;

    } else {
        mq->rpc_head = a->tnext;
    }

    if (a->tnext != NULL) {
        a->tnext->tprev = a->tprev;

    } else {
        mq->rpc_tail = a->tprev;
    }

    if (a->answered) {
        for (pp = &mq->answered[a->slot]; *pp != NULL; pp = &(*pp)->dnext) {
            if (*pp == a) {
                *pp = a->dnext;
                break;
            }
        }
    }

    if (a->reply != NULL) {
        kvmq_msg_unref(c, a->reply);
    }

    kvmq_zfree(c, a);
    kvmq_owner_gc(c, o);
}


/* the reply m (a reference is taken) goes to a */
static void
kvmq_rpc_answer(kvmq_ctx_t *c, kvmq_rpcaddr_t *a, kvmq_msg_t *m)
{
    kvmq_mq_t        *mq;
    kvmq_rpcaddr_t  **pp;

    mq = c->db->mq;

    kvmq_msg_ref(m);
    a->reply = m;
    a->answered = 1;

    /* FIFO: at the end of the slot's list */
    for (pp = &mq->answered[a->slot]; *pp != NULL; pp = &(*pp)->dnext) {
        /* void */
    }

    a->dnext = NULL;
    *pp = a;

    c->wake |= (uint64_t) 1 << a->slot;
}


static int
kvmq_rpc_waiting(kvmq_ctx_t *c, const kvmq_rpcaddr_t *a,
    const kvmq_slice_t *corr)
{
    kvmq_slice_t  want;

    if (a->answered || c->now_ms >= a->deadline) {
        return 0;
    }

    want = kvmq_rpc_corr(a);

    return want.len == corr->len
           && (corr->len == 0 || memcmp(want.data, corr->data, corr->len)
                                 == 0);
}


int
kvmq_rpc_deliver(kvmq_ctx_t *c, kvmq_rpcaddr_t *a, kvmq_msg_t *m)
{
    kvmq_slice_t  corr;

    corr = kvmq_msg_correlation_id(m);

    if (!kvmq_rpc_waiting(c, a, &corr)) {
        return 0;
    }

    kvmq_rpc_answer(c, a, m);

    return 1;
}


kvmq_err_e
kvmq_rpc_call(kvmq_ctx_t *c, const kvmq_slice_t *queue,
    const kvmq_slice_t *body, const kvmq_slice_t *props, int nprops,
    uint64_t owner, unsigned slot, int64_t timeout_ms,
    kvmq_rpc_call_t *out)
{
    int              new_owner, n;
    uint64_t         acc, ref, r;
    kvmq_mq_t       *mq;
    kvmq_msg_t      *m;
    kvmq_qset_t      set;
    kvmq_queue_t    *q;
    kvmq_owner_t    *o;
    kvmq_msgspec_t   spec;
    kvmq_rpcaddr_t  *a;

    if (owner == 0 || slot >= KVMQ_MQ_SLOTS || timeout_ms <= 0) {
        return KVMQ_ERR_BADREQ;
    }

    q = kvmq_queue_find(c, queue);

    if (q == NULL) {
        return KVMQ_ERR_NOTFOUND;
    }

    kvmq_msgspec_init(&spec);
    spec.body = *body;

    if (kvmq_msg_parse_props(c, props, nprops, &spec) != 0) {
        return KVMQ_ERR_BADREQ;
    }

    if (kvmq_queue_full(q, body->len)
        && q->overflow != KVMQ_OVERFLOW_DROP_HEAD)
    {
        q->refused++;
        return KVMQ_ERR_QUEUEFULL;
    }

    mq = c->db->mq;
    r = kvmq_random(c->db);

    n = snprintf(out->addr, sizeof(out->addr), "amq.rpc.%016llx%llx",
                 (unsigned long long) r,
                 (unsigned long long) ++mq->rpc_seq);
    out->alen = (size_t) n;

    n = snprintf(out->corr, sizeof(out->corr), "%016llx",
                 (unsigned long long) kvmq_random(c->db));
    out->clen = (size_t) n;
    out->routed = 0;

    spec.s[KVMQ_MP_REPLY_TO].data = (const unsigned char *) out->addr;
    spec.s[KVMQ_MP_REPLY_TO].len = out->alen;
    spec.s[KVMQ_MP_CORRELATION_ID].data = (const unsigned char *) out->corr;
    spec.s[KVMQ_MP_CORRELATION_ID].len = out->clen;
    spec.s[KVMQ_MP_ROUTING_KEY] = *queue;

    /* allocate: the owner, the address, the message, the entry */

    o = kvmq_owner_find(c, owner);
    new_owner = 0;

    if (o == NULL) {
        o = kvmq_owner_new(c, owner, slot);
        if (o == NULL) {
            return KVMQ_ERR_NOMEM;
        }

        new_owner = 1;
    }

    a = kvmq_zalloc(c, sizeof(kvmq_rpcaddr_t) + out->alen + out->clen);
    if (a == NULL) {
        goto nomem;
    }

    memset(a, 0, sizeof(kvmq_rpcaddr_t));
    a->alen = (uint32_t) out->alen;
    a->clen = (uint32_t) out->clen;
    a->slot = (uint8_t) slot;
    a->deadline = c->now_ms + timeout_ms;
    memcpy(a->addr, out->addr, out->alen);
    memcpy(a->addr + out->alen, out->corr, out->clen);

    m = kvmq_msg_new(c, &spec);
    if (m == NULL) {
        kvmq_zfree(c, a);
        goto nomem;
    }

    kvmq_qset_init(&set);
    (void) kvmq_qset_add(&set, q);

    if (kvmq_mq_put(c, &set, m, 0, &acc, &ref) != 0) {
        kvmq_msg_unref(c, m);
        kvmq_zfree(c, a);
        goto nomem;
    }

    kvmq_msg_unref(c, m);

    if (new_owner) {
        kvmq_owner_link(c, o);
    }

    kvmq_rpc_link(c, a, o);
    out->routed = acc;

    return KVMQ_OK;

nomem:

    if (new_owner) {
        kvmq_zfree(c, o);
    }

    return KVMQ_ERR_NOMEM;
}


int
kvmq_rpc_take(kvmq_ctx_t *c, unsigned slot, unsigned max,
    kvmq_rpc_reply_pt fn, void *arg)
{
    kvmq_mq_t         *mq;
    kvmq_rpcaddr_t    *a;
    kvmq_rpc_reply_t   r;

    mq = c->db->mq;

    if (mq == NULL || slot >= KVMQ_MQ_SLOTS) {
        return 0;
    }

    while (max > 0 && (a = mq->answered[slot]) != NULL) {
        r.addr.data = a->addr;
        r.addr.len = a->alen;
        r.correlation_id = kvmq_rpc_corr(a);
        r.owner = a->owner->id;
        r.msg = a->reply;

        fn(arg, &r);

        kvmq_rpc_drop(c, a);
        max--;
    }

    mq = c->db->mq;

    return mq != NULL && mq->answered[slot] != NULL;
}


int
kvmq_rpc_pending(kvmq_db_t *db, unsigned slot)
{
    return db->mq != NULL && slot < KVMQ_MQ_SLOTS
           && db->mq->answered[slot] != NULL;
}


int
kvmq_rpc_close(kvmq_ctx_t *c, const kvmq_slice_t *addr)
{
    kvmq_rpcaddr_t  *a;

    a = kvmq_rpc_find(c, addr);

    if (a == NULL) {
        return -1;
    }

    kvmq_rpc_drop(c, a);
    kvmq_mq_gc(c);

    return 0;
}


void
kvmq_rpc_cron(kvmq_ctx_t *c, unsigned budget)
{
    unsigned         n;
    kvmq_mq_t       *mq;
    kvmq_rpcaddr_t  *a, *next;

    mq = c->db->mq;

    for (a = mq->rpc_head, n = 0; a != NULL && n < budget; a = next, n++) {
        next = a->tnext;

        if (c->now_ms < a->deadline) {
            break;
        }

        if (a->answered && c->now_ms < a->deadline + KVMQ_RPC_GRACE) {
            continue;
        }

        kvmq_rpc_drop(c, a);
    }
}


/* ---- RPC.REPLY --------------------------------------------------------- */


void
kvmq_cmd_rpc_reply(kvmq_ctx_t *c, int argc, const kvmq_slice_t *argv)
{
    kvmq_msg_t      *m;
    kvmq_msgspec_t   spec;
    kvmq_rpcaddr_t  *a;

    kvmq_msgspec_init(&spec);
    spec.body = argv[3];

    if (kvmq_msg_parse_props(c, argv + 4, argc - 4, &spec) != 0) {
        return;
    }

    a = kvmq_rpc_find(c, &argv[1]);

    if (a == NULL || !kvmq_rpc_waiting(c, a, &argv[2])) {
        kvmq_reply_error(c, KVMQ_ERR_NOTFOUND,
                         "no caller waits on reply address '%.*s'",
                         (int) (argv[1].len > 64 ? 64 : argv[1].len),
                         (const char *) argv[1].data);
        return;
    }

    spec.s[KVMQ_MP_CORRELATION_ID] = argv[2];
    spec.s[KVMQ_MP_ROUTING_KEY] = argv[1];

    m = kvmq_msg_new(c, &spec);
    if (m == NULL) {
        kvmq_reply_nomem(c);
        return;
    }

    kvmq_rpc_answer(c, a, m);
    kvmq_msg_unref(c, m);

    kvmq_reply_ok(c);
}
