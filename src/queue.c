/*
 * Queues: the registry, the ready FIFO, deliveries and their settling,
 * TTL, max-length and dead-lettering, with RabbitMQ 3.x semantics.
 *
 * The root.  Messaging state hangs off db->mq (kvmq_mq_t, mq.h), made
 * on the first declare; a declare that fails for memory frees it again,
 * so it leaves no root behind.  Once it has held something it stays
 * (about 1 KB), so that delivery tags never start over.  Queues are not
 * keys: they live in their own table, by name, and on a list that the
 * cron walks.
 *
 * A queue is one block: its header, then its name, its dead-letter
 * exchange and routing key.  Its messages are entries (kvmq_qent_t, one
 * 128-byte slab block each) pointing at a shared message block
 * (message.c).  An entry is in one of two states:
 *
 *   ready     on the ready list, ordered by seq, the position the queue
 *             gave it when it arrived;
 *   unacked   handed to a consumer: it has a delivery tag, is in the
 *             zone's tag table, on its holder's list (a consumer, or the
 *             queue's anonymous list for plain HTTP gets) and, with a
 *             visibility deadline, on the queue's lease list.
 *
 * The same block moves between the states, so a delivery costs no
 * allocation and a get never fails for memory.  ready and ready_bytes
 * count the ready list; max_length and max_length_bytes look at them
 * only (RabbitMQ counts ready messages only).
 *
 * Tags come from one zone-wide counter: unique, increasing in hand-out
 * order.  A settle checks every tag first (known, of this queue, taken,
 * not twice in the call) and changes nothing when one fails.
 *
 * Requeue puts an entry back at its original position: before the first
 * ready entry with a larger seq.  The walk starts at the head (or where
 * the previous entry of the same batch went) and gives up after
 * KVMQ_REQUEUE_WALK entries, inserting there - nearer the head, as
 * RabbitMQ does when the original position is not possible.  Usually
 * the walk is short: ready entries older than a delivered one exist
 * only when they were themselves requeued.
 *
 * TTL.  An entry's expiry is fixed when it enters the queue: now plus
 * the lower of the queue's message_ttl and the message's expiration.  It
 * is checked at the head only: kvmq_queue_head() drops (or dead-letters
 * with reason "expired") expired heads before anything is delivered,
 * and the cron does the same for queues nobody reads; an expired
 * message behind a live head waits, as in RabbitMQ.  A TTL of 0 expires
 * on arrival unless a consumer can take the message at once.
 *
 * Max length.  drop-head: after an arrival (or a requeue) the oldest
 * ready entries go, dead-lettered with reason "maxlen", until the limits
 * hold.  reject-publish: a publish that would pass a limit is refused
 * (QUEUEFULL); reject-publish-dlx also dead-letters it.
 *
 * Dead-lettering republishes a copy (message.c adds the x-death entry)
 * through the dead-letter exchange with the dead_letter_routing_key or
 * the message's own routing key.  A queue the copy would reach again
 * without a rejection on the way is skipped (RabbitMQ's cycle rule), a
 * missing exchange drops it, and chains deeper than KVMQ_DLX_DEPTH are
 * cut.  Dead-lettering is at most once: when the zone cannot hold the
 * copy it is dropped, and the operation that caused it (an ack, a nack,
 * a publish that pushed out the head) still succeeds.
 *
 * Leases.  Q.GET ACK manual sets a deadline (VISIBILITY, 30 min by
 * default); the lease list keeps them in deadline order (inserted from
 * the tail, a bounded walk back).  kvmq_queue_tick(), run before every
 * operation on the queue and by the cron, returns expired leases as
 * redelivered and expired heads, a bounded amount per call.
 *
 * Deleting or purging a queue detaches its entries into a chain that
 * lazyfree.c frees in bounded steps when it is long.
 */

#include "db.h"
#include "mq.h"


#define KVMQ_REQUEUE_WALK    1024
#define KVMQ_LEASE_WALK      64
#define KVMQ_EXPIRE_BATCH    4096
#define KVMQ_TICK_BUDGET     256


static kvmq_slice_t kvmq_q_key(const kvmq_hnode_t *n);
static kvmq_slice_t kvmq_tag_key(const kvmq_hnode_t *n);

static const kvmq_htype_t  kvmq_q_htype = { kvmq_q_key };
static const kvmq_htype_t  kvmq_tag_htype = { kvmq_tag_key };


static kvmq_slice_t
kvmq_q_key(const kvmq_hnode_t *n)
{
    kvmq_slice_t         s;
    const kvmq_queue_t  *q;

    q = (const kvmq_queue_t *) n;
    s.data = q->name;
    s.len = q->nlen;

    return s;
}


static kvmq_slice_t
kvmq_tag_key(const kvmq_hnode_t *n)
{
    kvmq_slice_t        s;
    const kvmq_qent_t  *e;

    e = (const kvmq_qent_t *) n;
    s.data = (const unsigned char *) &e->tag;
    s.len = sizeof(uint64_t);

    return s;
}


kvmq_slice_t
kvmq_queue_name(const kvmq_queue_t *q)
{
    return kvmq_q_key(&q->node);
}


uint64_t
kvmq_mq_key_hash(kvmq_ctx_t *c, const void *p, size_t len)
{
    return kvmq_htable_hash(c, p, len);
}


/* ---- the root ---------------------------------------------------------- */


kvmq_mq_t *
kvmq_mq_get(kvmq_ctx_t *c, int create)
{
    int             i;
    kvmq_mq_t      *mq;
    kvmq_htable_t  *t[5];

    mq = c->db->mq;

    if (mq != NULL || !create) {
        return mq;
    }

    mq = kvmq_zalloc(c, sizeof(kvmq_mq_t));
    if (mq == NULL) {
        return NULL;
    }

    memset(mq, 0, sizeof(kvmq_mq_t));

    t[0] = &mq->queues;
    t[1] = &mq->exchanges;
    t[2] = &mq->tags;
    t[3] = &mq->owners;
    t[4] = &mq->rpc;

    for (i = 0; i < 5; i++) {
        if (kvmq_htable_init(c, t[i], 0) != 0) {
            while (i--) {
                kvmq_htable_free(c, t[i]);
            }

            kvmq_zfree(c, mq);
            return NULL;
        }
    }

    c->db->mq = mq;

    return mq;
}


void
kvmq_mq_gc(kvmq_ctx_t *c)
{
    int         i;
    kvmq_mq_t  *mq;

    mq = c->db->mq;

    /* a root that held something stays: its tag counter must never go
     * back, or a stale tag could settle someone else's delivery */
    if (mq == NULL || mq->used
        || kvmq_htable_size(&mq->queues) || kvmq_htable_size(&mq->exchanges)
        || kvmq_htable_size(&mq->tags) || kvmq_htable_size(&mq->owners)
        || kvmq_htable_size(&mq->rpc) || mq->messages != 0)
    {
        return;
    }

    for (i = 0; i < KVMQ_MQ_SLOTS; i++) {
        if (mq->dirty[i] != NULL) {
            return;
        }
    }

    kvmq_htable_free(c, &mq->queues);
    kvmq_htable_free(c, &mq->exchanges);
    kvmq_htable_free(c, &mq->tags);
    kvmq_htable_free(c, &mq->owners);
    kvmq_htable_free(c, &mq->rpc);

    kvmq_zfree(c, mq);
    c->db->mq = NULL;
}


void
kvmq_mq_destroy(kvmq_ctx_t *c)
{
    int               i;
    kvmq_mq_t        *mq;
    kvmq_hnode_t     *n;
    kvmq_consumer_t  *k;

    mq = c->db->mq;

    if (mq == NULL) {
        return;
    }

    while (mq->qlist != NULL) {
        kvmq_queue_destroy(c, mq->qlist);
    }

    while ((n = kvmq_htable_random(&mq->exchanges, kvmq_random(c->db)))
           != NULL)
    {
        kvmq_exchange_destroy(c, (kvmq_exchange_t *) n);
    }

    while (mq->rpc_head != NULL) {
        kvmq_rpc_drop(c, mq->rpc_head);
    }

    for (i = 0; i < KVMQ_MQ_SLOTS; i++) {
        while ((k = mq->dirty[i]) != NULL) {
            mq->dirty[i] = k->dnext;
            kvmq_zfree(c, k);
        }
    }

    /* messages still in lazily freed chains are no longer counted */
    kvmq_htable_free(c, &mq->queues);
    kvmq_htable_free(c, &mq->exchanges);
    kvmq_htable_free(c, &mq->tags);
    kvmq_htable_free(c, &mq->owners);
    kvmq_htable_free(c, &mq->rpc);

    kvmq_zfree(c, mq);
    c->db->mq = NULL;
}


/* ---- entries ----------------------------------------------------------- */


kvmq_qent_t *
kvmq_qent_new(kvmq_ctx_t *c)
{
    kvmq_qent_t  *e;

    e = kvmq_zalloc(c, sizeof(kvmq_qent_t));
    if (e != NULL) {
        memset(e, 0, sizeof(kvmq_qent_t));
    }

    return e;
}


void
kvmq_qent_free(kvmq_ctx_t *c, kvmq_qent_t *e)
{
    if (e->msg != NULL) {
        kvmq_msg_unref(c, e->msg);
    }

    kvmq_zfree(c, e);
}


void
kvmq_qchain_push(kvmq_qent_t **chain, kvmq_qent_t *e)
{
    e->seq = (*chain != NULL) ? (*chain)->seq + 1 : 1;
    e->next = *chain;
    *chain = e;
}


void
kvmq_qchain_drop(kvmq_ctx_t *c, kvmq_qent_t *chain)
{
    if (chain != NULL) {
        kvmq_value_free(c, KVMQ_TYPE_QCHAIN, chain);
    }
}


uint64_t
kvmq_qchain_blocks(const void *val)
{
    return ((const kvmq_qent_t *) val)->seq;
}


int
kvmq_qchain_free_some(kvmq_ctx_t *c, void *val, unsigned *budget)
{
    kvmq_qent_t  *head, *e;

    head = val;

    while (head->next != NULL && *budget > 0) {
        e = head->next;
        head->next = e->next;
        head->seq--;

        kvmq_qent_free(c, e);
        (*budget)--;
    }

    if (head->next != NULL) {
        return 0;
    }

    kvmq_qent_free(c, head);

    if (*budget > 0) {
        (*budget)--;
    }

    return 1;
}


void
kvmq_qchain_free(kvmq_ctx_t *c, void *val)
{
    unsigned  budget;

    budget = (unsigned) -1;

    (void) kvmq_qchain_free_some(c, val, &budget);
}


/* ---- the registry ------------------------------------------------------ */


kvmq_queue_t *
kvmq_queue_find(kvmq_ctx_t *c, const kvmq_slice_t *name)
{
    kvmq_mq_t  *mq;

    mq = c->db->mq;

    if (mq == NULL) {
        return NULL;
    }

    return (kvmq_queue_t *) kvmq_htable_find(c, &mq->queues, &kvmq_q_htype,
                                  name->data, name->len,
                                  kvmq_mq_key_hash(c, name->data,
                                                   name->len));
}


int
kvmq_queue_usable(kvmq_ctx_t *c, const kvmq_queue_t *q)
{
    return !q->exclusive || (q->owner != NULL && q->owner->id == c->owner);
}


void
kvmq_queue_opts(const kvmq_queue_t *q, kvmq_qopts_t *o)
{
    memset(o, 0, sizeof(kvmq_qopts_t));

    o->max_length = q->max_length;
    o->max_length_bytes = q->max_length_bytes;
    o->message_ttl = q->message_ttl;
    o->expires = q->expires;
    o->overflow = q->overflow;
    o->durable = q->durable;
    o->exclusive = q->exclusive;
    o->auto_delete = q->auto_delete;
    o->has_dlx = q->has_dlx;
    o->has_dlrk = q->has_dlrk;
    o->dlx.data = q->name + q->nlen;
    o->dlx.len = q->xlen;
    o->dlrk.data = q->name + q->nlen + q->xlen;
    o->dlrk.len = q->klen;
}


static int
kvmq_slices_eq(const kvmq_slice_t *a, const kvmq_slice_t *b)
{
    return a->len == b->len
           && (a->len == 0 || memcmp(a->data, b->data, a->len) == 0);
}


/* the first option in which o differs from q, or NULL */
static const char *
kvmq_queue_differs(const kvmq_queue_t *q, const kvmq_qopts_t *o)
{
    kvmq_qopts_t  cur;

    kvmq_queue_opts(q, &cur);

    if (cur.durable != o->durable) {
        return "durable";
    }

    if (cur.exclusive != o->exclusive) {
        return "exclusive";
    }

    if (cur.auto_delete != o->auto_delete) {
        return "auto_delete";
    }

    if (cur.max_length != o->max_length) {
        return "max_length";
    }

    if (cur.max_length_bytes != o->max_length_bytes) {
        return "max_length_bytes";
    }

    if (cur.overflow != o->overflow) {
        return "overflow";
    }

    if (cur.message_ttl != o->message_ttl) {
        return "message_ttl";
    }

    if (cur.expires != o->expires) {
        return "expires";
    }

    if (cur.has_dlx != o->has_dlx
        || (o->has_dlx && !kvmq_slices_eq(&cur.dlx, &o->dlx)))
    {
        return "dead_letter_exchange";
    }

    if (cur.has_dlrk != o->has_dlrk
        || (o->has_dlrk && !kvmq_slices_eq(&cur.dlrk, &o->dlrk)))
    {
        return "dead_letter_routing_key";
    }

    return NULL;
}


kvmq_err_e
kvmq_queue_declare(kvmq_ctx_t *c, const kvmq_slice_t *name,
    const kvmq_qopts_t *o, kvmq_queue_t **qp, int *created,
    const char **what)
{
    int            new_owner;
    size_t         size;
    uint64_t       hash;
    kvmq_mq_t     *mq;
    kvmq_queue_t  *q;
    kvmq_owner_t  *ow;

    *created = 0;
    *qp = NULL;

    q = kvmq_queue_find(c, name);

    if (q != NULL) {
        if (!kvmq_queue_usable(c, q)) {
            return KVMQ_ERR_DENIED;
        }

        *qp = q;
        *what = kvmq_queue_differs(q, o);

        if (*what != NULL) {
            return KVMQ_ERR_PRECONDITION;
        }

        q->last_used = c->now_ms;

        return KVMQ_OK;
    }

    mq = kvmq_mq_get(c, 1);
    if (mq == NULL) {
        return KVMQ_ERR_NOMEM;
    }

    ow = NULL;
    new_owner = 0;

    if (o->exclusive) {
        ow = kvmq_owner_find(c, c->owner);

        if (ow == NULL) {
            ow = kvmq_owner_new(c, c->owner, c->owner_slot);
            if (ow == NULL) {
                kvmq_mq_gc(c);
                return KVMQ_ERR_NOMEM;
            }

            new_owner = 1;
        }
    }

    size = sizeof(kvmq_queue_t) + name->len + o->dlx.len + o->dlrk.len;

    q = kvmq_zalloc(c, size);
    if (q == NULL) {
        if (new_owner) {
            kvmq_zfree(c, ow);
        }

        kvmq_mq_gc(c);
        return KVMQ_ERR_NOMEM;
    }

    memset(q, 0, sizeof(kvmq_queue_t));

    q->max_length = o->max_length;
    q->max_length_bytes = o->max_length_bytes;
    q->message_ttl = o->message_ttl;
    q->expires = o->expires;
    q->overflow = o->overflow;
    q->durable = o->durable;
    q->exclusive = o->exclusive;
    q->auto_delete = o->auto_delete;
    q->has_dlx = o->has_dlx;
    q->has_dlrk = o->has_dlrk;
    q->last_used = c->now_ms;

    q->nlen = (uint32_t) name->len;
    q->xlen = (uint32_t) o->dlx.len;
    q->klen = (uint32_t) o->dlrk.len;

    if (name->len) {
        memcpy(q->name, name->data, name->len);
    }

    if (o->dlx.len) {
        memcpy(q->name + q->nlen, o->dlx.data, o->dlx.len);
    }

    if (o->dlrk.len) {
        memcpy(q->name + q->nlen + q->xlen, o->dlrk.data, o->dlrk.len);
    }

    /* everything is allocated: link */

    hash = kvmq_mq_key_hash(c, name->data, name->len);
    (void) kvmq_htable_reserve(c, &mq->queues, &kvmq_q_htype, hash);
    kvmq_htable_link(&mq->queues, &q->node, hash);

    q->lnext = mq->qlist;
    if (mq->qlist != NULL) {
        mq->qlist->lprev = q;
    }
    mq->qlist = q;

    if (ow != NULL) {
        if (new_owner) {
            kvmq_owner_link(c, ow);
        }

        q->owner = ow;
        q->onext = ow->queues;
        if (ow->queues != NULL) {
            ow->queues->oprev = q;
        }
        ow->queues = q;
    }

    *qp = q;
    *created = 1;
    mq->used = 1;

    return KVMQ_OK;
}


/* ---- ready list -------------------------------------------------------- */


static void
kvmq_queue_ready_signal(kvmq_ctx_t *c, kvmq_queue_t *q)
{
    c->db->mq->ready_seq++;

    if (q->waiters) {
        c->wake |= q->waiters;
        q->waiters = 0;
    }
}


void
kvmq_queue_unready(kvmq_queue_t *q, kvmq_qent_t *e)
{
    if (e->prev != NULL) {
        e->prev->next = e->next;

    } else {
        q->head = e->next;
    }

    if (e->next != NULL) {
        e->next->prev = e->prev;

    } else {
        q->tail = e->prev;
    }

    e->prev = NULL;
    e->next = NULL;
    e->flags &= ~KVMQ_QE_READY;

    q->ready--;
    q->ready_bytes -= e->msg->blen;
}


static void
kvmq_queue_ready_before(kvmq_queue_t *q, kvmq_qent_t *e, kvmq_qent_t *at)
{
    /* at NULL: the tail */
    e->next = at;
    e->prev = (at != NULL) ? at->prev : q->tail;

    if (e->prev != NULL) {
        e->prev->next = e;

    } else {
        q->head = e;
    }

    if (at != NULL) {
        at->prev = e;

    } else {
        q->tail = e;
    }

    e->flags |= KVMQ_QE_READY;

    q->ready++;
    q->ready_bytes += e->msg->blen;
}


static int
kvmq_qent_expired(kvmq_ctx_t *c, const kvmq_qent_t *e)
{
    return e->expires != 0 && c->now_ms >= e->expires;
}


/* a ready entry leaves the queue for good: dead-letter or drop it */
static void
kvmq_queue_discard(kvmq_ctx_t *c, kvmq_queue_t *q, kvmq_qent_t *e,
    const char *reason, unsigned depth)
{
    kvmq_queue_unready(q, e);

    kvmq_queue_dead_letter(c, q, e->msg, reason, depth);
    kvmq_qent_free(c, e);
}


kvmq_qent_t *
kvmq_queue_head(kvmq_ctx_t *c, kvmq_queue_t *q, const kvmq_qent_t *fresh)
{
    unsigned      n;
    kvmq_qent_t  *e;

    for (n = 0; (e = q->head) != NULL; n++) {
        if (e == fresh || !kvmq_qent_expired(c, e)) {
            return e;
        }

        if (n == KVMQ_EXPIRE_BATCH) {
            /* the rest next time (or by the cron) */
            return NULL;
        }

        q->expired++;
        kvmq_queue_discard(c, q, e, "expired", 0);
    }

    return NULL;
}


int
kvmq_queue_full(const kvmq_queue_t *q, size_t blen)
{
    return (q->max_length >= 0 && q->ready >= (uint64_t) q->max_length)
           || (q->max_length_bytes >= 0
               && q->ready_bytes + blen > (uint64_t) q->max_length_bytes);
}


static int
kvmq_queue_over(const kvmq_queue_t *q)
{
    return (q->max_length >= 0 && q->ready > (uint64_t) q->max_length)
           || (q->max_length_bytes >= 0
               && q->ready_bytes > (uint64_t) q->max_length_bytes);
}


static void
kvmq_queue_overflow(kvmq_ctx_t *c, kvmq_queue_t *q, unsigned depth)
{
    if (q->overflow != KVMQ_OVERFLOW_DROP_HEAD) {
        return;
    }

    while (q->head != NULL && kvmq_queue_over(q)) {
        kvmq_queue_discard(c, q, q->head, "maxlen", depth);
    }
}


void
kvmq_queue_enqueue(kvmq_ctx_t *c, kvmq_queue_t *q, kvmq_qent_t *e,
    unsigned depth)
{
    int64_t  ttl;

    ttl = q->message_ttl;

    if (e->msg->expiration >= 0 && (ttl < 0 || e->msg->expiration < ttl)) {
        ttl = e->msg->expiration;
    }

    e->queue = q;
    e->cons = NULL;
    e->tag = 0;
    e->deadline = 0;
    e->flags = 0;
    e->seq = ++q->next_seq;
    e->expires = (ttl >= 0) ? c->now_ms + ttl : 0;

    if (e->expires == 0 && ttl >= 0) {
        e->expires = 1;
    }

    kvmq_queue_ready_before(q, e, NULL);
    q->published++;
    c->db->mq->published++;

    (void) kvmq_queue_dispatch(c, q, KVMQ_DISPATCH_BATCH, e);
    (void) kvmq_queue_head(c, q, NULL);
    kvmq_queue_overflow(c, q, depth);

    if (q->ready) {
        kvmq_queue_ready_signal(c, q);
    }
}


/* ---- deliveries -------------------------------------------------------- */


uint64_t
kvmq_queue_new_tag(kvmq_ctx_t *c)
{
    return ++c->db->mq->next_tag;
}


static void
kvmq_lease_unlink(kvmq_queue_t *q, kvmq_qent_t *e)
{
    if (e->lprev != NULL) {
        e->lprev->lnext = e->lnext;

    } else {
        q->lease_head = e->lnext;
    }

    if (e->lnext != NULL) {
        e->lnext->lprev = e->lprev;

    } else {
        q->lease_tail = e->lprev;
    }

    e->lprev = NULL;
    e->lnext = NULL;
    e->flags &= ~KVMQ_QE_LEASED;
}


static void
kvmq_lease_link(kvmq_queue_t *q, kvmq_qent_t *e)
{
    unsigned      n;
    kvmq_qent_t  *p;

    /* from the tail back to the last lease due no later than e */
    p = q->lease_tail;

    for (n = 0; p != NULL && p->deadline > e->deadline
                && n < KVMQ_LEASE_WALK; n++)
    {
        p = p->lprev;
    }

    /* insert after p (p NULL: at the head) */
    e->lprev = p;
    e->lnext = (p != NULL) ? p->lnext : q->lease_head;

    if (e->lnext != NULL) {
        e->lnext->lprev = e;

    } else {
        q->lease_tail = e;
    }

    if (p != NULL) {
        p->lnext = e;

    } else {
        q->lease_head = e;
    }

    e->flags |= KVMQ_QE_LEASED;
}


static void
kvmq_anon_append(kvmq_queue_t *q, kvmq_qent_t *e)
{
    e->next = NULL;
    e->prev = q->anon_tail;

    if (q->anon_tail != NULL) {
        q->anon_tail->next = e;

    } else {
        q->anon_head = e;
    }

    q->anon_tail = e;
}


static void
kvmq_anon_remove(kvmq_queue_t *q, kvmq_qent_t *e)
{
    if (e->prev != NULL) {
        e->prev->next = e->next;

    } else {
        q->anon_head = e->next;
    }

    if (e->next != NULL) {
        e->next->prev = e->prev;

    } else {
        q->anon_tail = e->prev;
    }

    e->prev = NULL;
    e->next = NULL;
}


void
kvmq_queue_link_unacked(kvmq_ctx_t *c, kvmq_qent_t *e)
{
    uint64_t       hash;
    kvmq_mq_t     *mq;
    kvmq_queue_t  *q;

    mq = c->db->mq;
    q = e->queue;

    hash = kvmq_mq_key_hash(c, &e->tag, sizeof(uint64_t));
    (void) kvmq_htable_reserve(c, &mq->tags, &kvmq_tag_htype, hash);
    kvmq_htable_link(&mq->tags, &e->node, hash);

    e->flags |= KVMQ_QE_UNACKED;
    q->unacked++;

    if (e->cons != NULL) {
        kvmq_consumer_append(e->cons, e);

    } else {
        kvmq_anon_append(q, e);
    }

    if (e->deadline != 0) {
        kvmq_lease_link(q, e);
    }
}


/* an unacked entry leaves its holder, the tag table and the leases */
static void
kvmq_queue_unlink_unacked(kvmq_ctx_t *c, kvmq_qent_t *e)
{
    kvmq_mq_t     *mq;
    kvmq_queue_t  *q;

    mq = c->db->mq;
    q = e->queue;

    kvmq_htable_unlink(c, &mq->tags, &e->node,
                       kvmq_mq_key_hash(c, &e->tag, sizeof(uint64_t)));

    if (e->cons != NULL) {
        kvmq_consumer_remove(e->cons, e);

    } else {
        kvmq_anon_remove(q, e);
    }

    if (e->flags & KVMQ_QE_LEASED) {
        kvmq_lease_unlink(q, e);
    }

    e->flags &= ~(KVMQ_QE_UNACKED | KVMQ_QE_OUTBOX);
    e->cons = NULL;
    e->tag = 0;
    e->deadline = 0;
    q->unacked--;
}


static kvmq_qent_t *
kvmq_tag_find(kvmq_ctx_t *c, uint64_t tag)
{
    kvmq_mq_t  *mq;

    mq = c->db->mq;

    if (mq == NULL) {
        return NULL;
    }

    return (kvmq_qent_t *) kvmq_htable_find(c, &mq->tags, &kvmq_tag_htype,
                                  &tag, sizeof(uint64_t),
                                  kvmq_mq_key_hash(c, &tag,
                                                   sizeof(uint64_t)));
}


kvmq_qent_t *
kvmq_queue_requeue(kvmq_ctx_t *c, kvmq_qent_t *e, kvmq_qent_t *hint)
{
    unsigned       n;
    kvmq_qent_t   *p;
    kvmq_queue_t  *q;

    q = e->queue;

    kvmq_queue_unlink_unacked(c, e);

    p = (hint != NULL && (hint->flags & KVMQ_QE_READY)
         && hint->queue == q && hint->seq < e->seq)
        ? hint : q->head;

    for (n = 0; p != NULL && p->seq < e->seq && n < KVMQ_REQUEUE_WALK; n++)
    {
        p = p->next;
    }

    kvmq_queue_ready_before(q, e, p);

    q->requeued++;
    kvmq_queue_ready_signal(c, q);

    return e;
}


void
kvmq_queue_forget(kvmq_ctx_t *c, kvmq_qent_t *e)
{
    kvmq_queue_unlink_unacked(c, e);
    kvmq_qent_free(c, e);
}


void
kvmq_queue_settled(kvmq_ctx_t *c, kvmq_queue_t *q)
{
    (void) kvmq_queue_dispatch(c, q, KVMQ_DISPATCH_BATCH, NULL);
    (void) kvmq_queue_head(c, q, NULL);
    kvmq_queue_overflow(c, q, 0);
}


/* gc a lease holder that holds nothing more */
static void
kvmq_queue_holder_gc(kvmq_ctx_t *c, kvmq_consumer_t *k)
{
    if (k != NULL && !k->active && k->unacked == 0) {
        kvmq_consumer_gc(c, k);
    }
}


void
kvmq_queue_tick(kvmq_ctx_t *c, kvmq_queue_t *q, unsigned budget)
{
    unsigned          n;
    kvmq_qent_t      *e, *hint;
    kvmq_consumer_t  *k;

    hint = NULL;

    for (n = 0; n < budget; n++) {
        e = q->lease_head;

        if (e == NULL || e->deadline > c->now_ms) {
            break;
        }

        k = e->cons;
        hint = kvmq_queue_requeue(c, e, hint);
        kvmq_queue_holder_gc(c, k);
    }

    if (n > 0) {
        kvmq_queue_settled(c, q);

    } else {
        (void) kvmq_queue_head(c, q, NULL);
    }
}


/* ---- dead-lettering ---------------------------------------------------- */


void
kvmq_queue_dead_letter(kvmq_ctx_t *c, kvmq_queue_t *q, kvmq_msg_t *m,
    const char *reason, unsigned depth)
{
    size_t            i, j;
    uint64_t          acc, ref;
    kvmq_msg_t       *dm;
    kvmq_qset_t       set;
    kvmq_slice_t      qname, rk;
    kvmq_qopts_t      o;
    kvmq_exchange_t  *x;

    if (!q->has_dlx) {
        if (reason[0] == 'm') {
            q->dropped++;
        }

        return;
    }

    kvmq_queue_opts(q, &o);
    qname = kvmq_queue_name(q);

    x = NULL;

    if (o.dlx.len) {
        x = kvmq_exchange_find(c, &o.dlx);

        if (x == NULL) {
            q->dropped++;
            return;
        }
    }

    if (depth >= KVMQ_DLX_DEPTH) {
        q->dropped++;
        return;
    }

    rk = o.has_dlrk ? o.dlrk : kvmq_msg_routing_key(m);

    dm = kvmq_msg_dead_letter(c, m, &qname, reason, &o.dlx, &rk);
    if (dm == NULL) {
        q->dropped++;
        return;
    }

    kvmq_qset_init(&set);

    if (kvmq_exchange_route(c, x, &rk, dm, &set) != 0) {
        kvmq_qset_free(&set);
        kvmq_msg_unref(c, dm);
        q->dropped++;
        return;
    }

    /* RabbitMQ's cycle rule: a queue already in the message's deaths
     * with no rejection since does not get it again */
    for (i = 0, j = 0; i < set.n; i++) {
        qname = kvmq_queue_name(set.q[i]);

        if (!kvmq_msg_death_cycle(dm, &qname)) {
            set.q[j++] = set.q[i];
        }
    }

    set.n = j;

    q->dead_lettered++;

    if (kvmq_mq_put(c, &set, dm, depth + 1, &acc, &ref) != 0) {
        q->dropped++;
    }

    kvmq_qset_free(&set);
    kvmq_msg_unref(c, dm);
}


/* ---- settling ---------------------------------------------------------- */


kvmq_err_e
kvmq_queue_settle(kvmq_ctx_t *c, const kvmq_slice_t *queue,
    const uint64_t *tags, unsigned n, kvmq_settle_e how, uint64_t owner,
    uint64_t *bad_tag)
{
    unsigned          i, j;
    kvmq_mq_t        *mq;
    kvmq_msg_t       *m;
    kvmq_qent_t      *e, *hint;
    kvmq_qset_t       touched;
    kvmq_queue_t     *q, *eq;
    kvmq_consumer_t  *k;

    q = NULL;

    if (queue != NULL) {
        q = kvmq_queue_find(c, queue);

        if (q == NULL) {
            return KVMQ_ERR_NOTFOUND;
        }

        kvmq_queue_tick(c, q, KVMQ_TICK_BUDGET);
    }

    /* check every tag before changing anything */
    for (i = 0; i < n; i++) {
        e = kvmq_tag_find(c, tags[i]);

        if (e == NULL
            || (q != NULL && e->queue != q)
            || (e->flags & (KVMQ_QE_OUTBOX | KVMQ_QE_MARK))
            || (e->deadline != 0 && e->deadline <= c->now_ms)
            || (owner != 0 && e->cons != NULL && e->cons->owner_id != 0
                && e->cons->owner_id != owner))
        {
            for (j = 0; j < i; j++) {
                kvmq_tag_find(c, tags[j])->flags &= ~KVMQ_QE_MARK;
            }

            if (bad_tag != NULL) {
                *bad_tag = tags[i];
            }

            return KVMQ_ERR_PRECONDITION;
        }

        e->flags |= KVMQ_QE_MARK;
    }

    mq = c->db->mq;
    kvmq_qset_init(&touched);
    mq->epoch++;
    hint = NULL;

    for (i = 0; i < n; i++) {
        e = kvmq_tag_find(c, tags[i]);
        e->flags &= ~KVMQ_QE_MARK;
        eq = e->queue;
        k = e->cons;

        if (eq->mark != mq->epoch) {
            eq->mark = mq->epoch;

            /* the list is only for settled() below: a queue it cannot
             * hold (no process memory) gets its assignment from the cron */
            (void) kvmq_qset_add(&touched, eq);
        }

        switch (how) {

        case KVMQ_SETTLE_ACK:
            eq->acked++;
            mq->acked++;
            kvmq_queue_forget(c, e);
            break;

        case KVMQ_SETTLE_REQUEUE:
            hint = kvmq_queue_requeue(c, e, hint);
            break;

        default:
            eq->rejected++;
            m = e->msg;
            kvmq_msg_ref(m);
            kvmq_queue_forget(c, e);
            kvmq_queue_dead_letter(c, eq, m, "rejected", 0);
            kvmq_msg_unref(c, m);
            break;
        }

        kvmq_queue_holder_gc(c, k);
    }

    for (i = 0; i < touched.n; i++) {
        kvmq_queue_settled(c, touched.q[i]);
    }

    kvmq_qset_free(&touched);

    return KVMQ_OK;
}


/* ---- delete and purge -------------------------------------------------- */


void
kvmq_queue_unacked_to_chain(kvmq_ctx_t *c, kvmq_qent_t *e,
    kvmq_qent_t **chain)
{
    kvmq_mq_t  *mq;

    mq = c->db->mq;

    kvmq_htable_unlink(c, &mq->tags, &e->node,
                       kvmq_mq_key_hash(c, &e->tag, sizeof(uint64_t)));

    e->cons = NULL;
    e->queue->unacked--;
    kvmq_qchain_push(chain, e);
}


uint64_t
kvmq_queue_purge(kvmq_ctx_t *c, kvmq_queue_t *q)
{
    uint64_t      n;
    kvmq_qent_t  *e, *next, *chain;

    n = q->ready;
    chain = NULL;

    for (e = q->head; e != NULL; e = next) {
        next = e->next;
        kvmq_qchain_push(&chain, e);
    }

    q->head = NULL;
    q->tail = NULL;
    q->ready = 0;
    q->ready_bytes = 0;

    kvmq_qchain_drop(c, chain);

    return n;
}


void
kvmq_queue_destroy(kvmq_ctx_t *c, kvmq_queue_t *q)
{
    kvmq_mq_t     *mq;
    kvmq_qent_t   *e, *next, *chain;
    kvmq_owner_t  *ow;

    mq = c->db->mq;
    chain = NULL;

    kvmq_htable_unlink(c, &mq->queues, &q->node,
                       kvmq_mq_key_hash(c, q->name, q->nlen));

    if (mq->cron_q == q) {
        mq->cron_q = q->lnext;
    }

    if (q->lprev != NULL) {
        q->lprev->lnext = q->lnext;

    } else {
        mq->qlist = q->lnext;
    }

    if (q->lnext != NULL) {
        q->lnext->lprev = q->lprev;
    }

    kvmq_bindings_drop_queue(c, q);
    kvmq_consumers_detach(c, q, &chain);

    for (e = q->anon_head; e != NULL; e = next) {
        next = e->next;
        kvmq_queue_unacked_to_chain(c, e, &chain);
    }

    (void) kvmq_queue_purge(c, q);

    ow = q->owner;

    if (ow != NULL) {
        if (q->oprev != NULL) {
            q->oprev->onext = q->onext;

        } else {
            ow->queues = q->onext;
        }

        if (q->onext != NULL) {
            q->onext->oprev = q->oprev;
        }
    }

    /* parked gets learn that it is gone */
    c->wake |= q->waiters;
    mq->ready_seq++;

    kvmq_zfree(c, q);
    kvmq_qchain_drop(c, chain);

    if (ow != NULL) {
        kvmq_owner_gc(c, ow);
    }
}


/* ---- the door's helpers ------------------------------------------------ */


long
kvmq_queue_watch(kvmq_ctx_t *c, const kvmq_slice_t *queue, unsigned slot)
{
    kvmq_queue_t  *q;

    q = kvmq_queue_find(c, queue);

    if (q == NULL || slot >= KVMQ_MQ_SLOTS) {
        return -1;
    }

    kvmq_queue_tick(c, q, KVMQ_TICK_BUDGET);

    if (q->ready == 0) {
        q->waiters |= (uint64_t) 1 << slot;
    }

    return (long) q->ready;
}


uint64_t
kvmq_queue_ready_seq(kvmq_db_t *db)
{
    return (db->mq != NULL) ? db->mq->ready_seq : 0;
}


void
kvmq_mq_stats(kvmq_db_t *db, kvmq_mq_stats_t *st)
{
    kvmq_mq_t     *mq;
    kvmq_queue_t  *q;

    memset(st, 0, sizeof(kvmq_mq_stats_t));

    mq = db->mq;

    if (mq == NULL) {
        return;
    }

    st->queues = kvmq_htable_size(&mq->queues);
    st->exchanges = kvmq_htable_size(&mq->exchanges);
    st->bindings = mq->bindings;
    st->consumers = mq->consumers;
    st->messages = mq->messages;
    st->bytes = mq->bytes;
    st->unacked = kvmq_htable_size(&mq->tags);
    st->published = mq->published;
    st->delivered = mq->delivered;
    st->acked = mq->acked;
    st->rpc_addresses = kvmq_htable_size(&mq->rpc);

    for (q = mq->qlist; q != NULL; q = q->lnext) {
        st->ready += q->ready;
    }
}


/* ---- the cron ---------------------------------------------------------- */


void
kvmq_mq_cron(kvmq_ctx_t *c, unsigned budget)
{
    unsigned       n;
    kvmq_mq_t     *mq;
    kvmq_queue_t  *q, *next;

    mq = c->db->mq;

    if (mq == NULL) {
        return;
    }

    q = (mq->cron_q != NULL) ? mq->cron_q : mq->qlist;

    for (n = 0; q != NULL && n < budget; n++, q = next) {
        kvmq_queue_tick(c, q, KVMQ_TICK_BUDGET);

        /* the tick may have deleted queues through auto-delete; the
         * list is read only after it */
        next = q->lnext;

        if (q->expires >= 0 && q->nconsumers == 0
            && c->now_ms - q->last_used >= q->expires)
        {
            kvmq_queue_destroy(c, q);
            continue;
        }

        if (q->ready && q->nconsumers) {
            (void) kvmq_queue_dispatch(c, q, KVMQ_DISPATCH_BATCH, NULL);
        }
    }

    mq->cron_q = q;

    kvmq_rpc_cron(c, budget);
    kvmq_mq_gc(c);
}
