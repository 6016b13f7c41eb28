/*
 * Consumers and owners: who holds deliveries, push assignment with
 * prefetch and round-robin, the slots' take lists, and what happens
 * when a consumer, a connection or a worker goes away.
 *
 * Consumers.  A kvmq_consumer_t is one block: header, tag, and a copy of
 * its queue's name (for the cancel notice that outlives the queue).  A
 * queue's consumers form a circular list with a cursor, the next turn.
 * There are two kinds:
 *
 *   active        registered by kvmq_queue_consume(): takes part in the
 *                 round-robin, has a prefetch (0 = unlimited) and maybe
 *                 noack;
 *   lease holder  made by Q.GET for a CONSUMER id or for a connection
 *                 (c->owner): holds manual-ack deliveries of gets so
 *                 that they can be released together.  A cancelled
 *                 consumer that still holds deliveries becomes one.
 *
 * A holder is freed when it holds nothing (and is no longer active).
 * Its deliveries are a list in hand-out order: the ones handed out to
 * the door first, then the outbox (assigned, not yet taken), a suffix
 * that starts at k->outbox.  unacked counts the whole list.
 *
 * Assignment (kvmq_queue_dispatch).  While the queue has a deliverable
 * head and some active consumer has credit, the head goes to the first
 * consumer with credit from the cursor on, and the cursor moves past it:
 * round-robin, message by message.  Credit is what the prefetch leaves
 * (prefetch - unacked; noack consumers have no prefetch) capped by the
 * outbox room (KVMQ_OUTBOX_MAX), so an unlimited consumer cannot pull a
 * whole queue into its outbox in one call: it gets more as its worker
 * takes.  Assignment runs after a publish, a requeue, a settle, a new
 * consumer, a take, and from the cron; one pass moves at most
 * KVMQ_DISPATCH_BATCH messages, and finding a consumer looks at each
 * consumer of the queue at most once.
 *
 * Take lists.  A consumer with a non-empty outbox is on its slot's
 * doubly linked FIFO (dirty) and its slot was reported in c->wake when
 * it got there.  kvmq_queue_take() walks the slot's FIFO: hands out the
 * outbox, takes the consumer off when its outbox is empty, and assigns
 * again (which may put it back at the end).  Cancel notices - active
 * consumers of a queue that was deleted - sit on the same FIFO with
 * queue NULL until taken.
 *
 * Owners.  A kvmq_owner_t per door connection that has consumers,
 * exclusive queues or RPC addresses, in a table by id and on its slot's
 * list.  kvmq_mq_owner_gone() releases its consumers (their deliveries
 * go back, redelivered), deletes its exclusive queues and drops its RPC
 * addresses; kvmq_mq_slot_gone() does it for every owner of a slot.  An
 * owner is freed when it holds nothing; while it is being taken apart
 * (dying) nothing else frees it.
 *
 * Costs: register O(consumers of the queue) for the tag check; take
 * O(handed out); release O(deliveries held), each requeue bounded (see
 * queue.c).
 */

#include "db.h"
#include "mq.h"


static kvmq_slice_t kvmq_owner_key(const kvmq_hnode_t *n);

static const kvmq_htype_t  kvmq_owner_htype = { kvmq_owner_key };


static kvmq_slice_t
kvmq_owner_key(const kvmq_hnode_t *n)
{
    kvmq_slice_t         s;
    const kvmq_owner_t  *o;

    o = (const kvmq_owner_t *) n;
    s.data = (const unsigned char *) &o->id;
    s.len = sizeof(uint64_t);

    return s;
}


/* ---- owners ------------------------------------------------------------ */


kvmq_owner_t *
kvmq_owner_find(kvmq_ctx_t *c, uint64_t id)
{
    kvmq_mq_t  *mq;

    mq = c->db->mq;

    if (mq == NULL || id == 0) {
        return NULL;
    }

    return (kvmq_owner_t *) kvmq_htable_find(c, &mq->owners,
                                  &kvmq_owner_htype, &id, sizeof(uint64_t),
                                  kvmq_mq_key_hash(c, &id,
                                                   sizeof(uint64_t)));
}


kvmq_owner_t *
kvmq_owner_new(kvmq_ctx_t *c, uint64_t id, unsigned slot)
{
    kvmq_owner_t  *o;

    o = kvmq_zalloc(c, sizeof(kvmq_owner_t));
    if (o == NULL) {
        return NULL;
    }

    memset(o, 0, sizeof(kvmq_owner_t));
    o->id = id;
    o->slot = slot % KVMQ_MQ_SLOTS;

    return o;
}


void
kvmq_owner_link(kvmq_ctx_t *c, kvmq_owner_t *o)
{
    uint64_t    hash;
    kvmq_mq_t  *mq;

    mq = c->db->mq;

    hash = kvmq_mq_key_hash(c, &o->id, sizeof(uint64_t));
    (void) kvmq_htable_reserve(c, &mq->owners, &kvmq_owner_htype, hash);
    kvmq_htable_link(&mq->owners, &o->node, hash);

    o->sprev = NULL;
    o->snext = mq->slot_owners[o->slot];

    if (o->snext != NULL) {
        o->snext->sprev = o;
    }

    mq->slot_owners[o->slot] = o;
}


void
kvmq_owner_gc(kvmq_ctx_t *c, kvmq_owner_t *o)
{
    kvmq_mq_t  *mq;

    if (o->dying || o->consumers || o->queues || o->addrs) {
        return;
    }

    mq = c->db->mq;

    kvmq_htable_unlink(c, &mq->owners, &o->node,
                       kvmq_mq_key_hash(c, &o->id, sizeof(uint64_t)));

    if (o->sprev != NULL) {
        o->sprev->snext = o->snext;

    } else {
        mq->slot_owners[o->slot] = o->snext;
    }

    if (o->snext != NULL) {
        o->snext->sprev = o->sprev;
    }

    kvmq_zfree(c, o);
}


/* ---- consumers --------------------------------------------------------- */


static kvmq_slice_t
kvmq_consumer_tag(const kvmq_consumer_t *k)
{
    kvmq_slice_t  s;

    s.data = k->tag;
    s.len = k->tlen;

    return s;
}


kvmq_consumer_t *
kvmq_consumer_find(kvmq_queue_t *q, const kvmq_slice_t *ctag,
    uint64_t owner, int any_owner)
{
    kvmq_consumer_t  *k;

    k = q->consumers;

    if (k == NULL) {
        return NULL;
    }

    do {
        if (k->tlen == ctag->len
            && (ctag->len == 0 || memcmp(k->tag, ctag->data, ctag->len) == 0)
            && (any_owner || k->owner_id == owner))
        {
            return k;
        }

        k = k->next;

    } while (k != q->consumers);

    return NULL;
}


kvmq_consumer_t *
kvmq_consumer_new(kvmq_ctx_t *c, kvmq_queue_t *q, const kvmq_slice_t *ctag)
{
    kvmq_consumer_t  *k;

    k = kvmq_zalloc(c, sizeof(kvmq_consumer_t) + ctag->len + q->nlen);
    if (k == NULL) {
        return NULL;
    }

    memset(k, 0, sizeof(kvmq_consumer_t));

    k->queue = q;
    k->tlen = (uint32_t) ctag->len;
    k->qlen = q->nlen;

    if (ctag->len) {
        memcpy(k->tag, ctag->data, ctag->len);
    }

    memcpy(k->tag + k->tlen, q->name, q->nlen);

    return k;
}


void
kvmq_consumer_link(kvmq_ctx_t *c, kvmq_consumer_t *k, kvmq_owner_t *o)
{
    kvmq_queue_t  *q;

    q = k->queue;

    /* at the end of the round: just before the first */
    if (q->consumers == NULL) {
        k->next = k;
        k->prev = k;
        q->consumers = k;
        q->cursor = k;

    } else {
        k->next = q->consumers;
        k->prev = q->consumers->prev;
        k->prev->next = k;
        k->next->prev = k;
    }

    k->owner = o;

    if (o != NULL) {
        k->owner_id = o->id;
        k->oprev = NULL;
        k->onext = o->consumers;

        if (o->consumers != NULL) {
            o->consumers->oprev = k;
        }

        o->consumers = k;
    }

    c->db->mq->consumers++;
}


static void
kvmq_consumer_unlink_queue(kvmq_consumer_t *k)
{
    kvmq_queue_t  *q;

    q = k->queue;

    if (k->next == k) {
        q->consumers = NULL;
        q->cursor = NULL;

    } else {
        k->prev->next = k->next;
        k->next->prev = k->prev;

        if (q->consumers == k) {
            q->consumers = k->next;
        }

        if (q->cursor == k) {
            q->cursor = k->next;
        }
    }

    k->next = NULL;
    k->prev = NULL;
}


static kvmq_owner_t *
kvmq_consumer_unlink_owner(kvmq_consumer_t *k)
{
    kvmq_owner_t  *o;

    o = k->owner;

    if (o == NULL) {
        return NULL;
    }

    if (k->oprev != NULL) {
        k->oprev->onext = k->onext;

    } else {
        o->consumers = k->onext;
    }

    if (k->onext != NULL) {
        k->onext->oprev = k->oprev;
    }

    k->owner = NULL;
    k->oprev = NULL;
    k->onext = NULL;

    return o;
}


static void
kvmq_dirty_add(kvmq_ctx_t *c, kvmq_consumer_t *k)
{
    kvmq_mq_t  *mq;

    if (k->dirty) {
        return;
    }

    mq = c->db->mq;

    k->dnext = NULL;
    k->dprev = mq->dirty_tail[k->slot];

    if (k->dprev != NULL) {
        k->dprev->dnext = k;

    } else {
        mq->dirty[k->slot] = k;
    }

    mq->dirty_tail[k->slot] = k;
    k->dirty = 1;

    c->wake |= (uint64_t) 1 << k->slot;
}


static void
kvmq_dirty_remove(kvmq_ctx_t *c, kvmq_consumer_t *k)
{
    kvmq_mq_t  *mq;

    if (!k->dirty) {
        return;
    }

    mq = c->db->mq;

    if (k->dprev != NULL) {
        k->dprev->dnext = k->dnext;

    } else {
        mq->dirty[k->slot] = k->dnext;
    }

    if (k->dnext != NULL) {
        k->dnext->dprev = k->dprev;

    } else {
        mq->dirty_tail[k->slot] = k->dprev;
    }

    k->dprev = NULL;
    k->dnext = NULL;
    k->dirty = 0;
}


void
kvmq_consumer_gc(kvmq_ctx_t *c, kvmq_consumer_t *k)
{
    kvmq_owner_t  *o;

    if (k->active || k->unacked != 0 || k->dirty) {
        return;
    }

    if (k->queue != NULL) {
        kvmq_consumer_unlink_queue(k);
    }

    o = kvmq_consumer_unlink_owner(k);

    kvmq_zfree(c, k);
    c->db->mq->consumers--;

    if (o != NULL) {
        kvmq_owner_gc(c, o);
    }
}


long
kvmq_consumer_credit(const kvmq_consumer_t *k)
{
    long  room;

    /* a dying owner's consumers are about to be released: giving them
     * more would only bounce it back */
    if (!k->active || (k->owner != NULL && k->owner->dying)) {
        return 0;
    }

    room = (long) KVMQ_OUTBOX_MAX - (long) k->noutbox;

    if (!k->noack && k->prefetch != 0) {
        if (k->unacked >= k->prefetch) {
            return 0;
        }

        if ((long) (k->prefetch - k->unacked) < room) {
            room = (long) (k->prefetch - k->unacked);
        }
    }

    return room > 0 ? room : 0;
}


void
kvmq_consumer_append(kvmq_consumer_t *k, kvmq_qent_t *e)
{
    kvmq_qent_t  *at;

    /* taken deliveries stay before the outbox */
    at = (e->flags & KVMQ_QE_OUTBOX) ? NULL : k->outbox;

    e->next = at;
    e->prev = (at != NULL) ? at->prev : k->dtail;

    if (e->prev != NULL) {
        e->prev->next = e;

    } else {
        k->dhead = e;
    }

    if (at != NULL) {
        at->prev = e;

    } else {
        k->dtail = e;
    }

    k->unacked++;

    if (e->flags & KVMQ_QE_OUTBOX) {
        k->noutbox++;

        if (k->outbox == NULL) {
            k->outbox = e;
        }
    }
}


void
kvmq_consumer_remove(kvmq_consumer_t *k, kvmq_qent_t *e)
{
    if (k->outbox == e) {
        k->outbox = e->next;
    }

    if (e->prev != NULL) {
        e->prev->next = e->next;

    } else {
        k->dhead = e->next;
    }

    if (e->next != NULL) {
        e->next->prev = e->prev;

    } else {
        k->dtail = e->prev;
    }

    e->prev = NULL;
    e->next = NULL;

    k->unacked--;

    if (e->flags & KVMQ_QE_OUTBOX) {
        k->noutbox--;
    }
}


/* ---- assignment -------------------------------------------------------- */


static kvmq_consumer_t *
kvmq_queue_turn(kvmq_queue_t *q)
{
    kvmq_consumer_t  *k, *start;

    start = (q->cursor != NULL) ? q->cursor : q->consumers;

    if (start == NULL) {
        return NULL;
    }

    k = start;

    do {
        if (kvmq_consumer_credit(k) > 0) {
            return k;
        }

        k = k->next;

    } while (k != start);

    return NULL;
}


unsigned
kvmq_queue_dispatch(kvmq_ctx_t *c, kvmq_queue_t *q, unsigned budget,
    const kvmq_qent_t *fresh)
{
    unsigned          n;
    kvmq_qent_t      *e;
    kvmq_consumer_t  *k;

    for (n = 0; n < budget && q->nconsumers != 0 && q->head != NULL; n++) {

        k = kvmq_queue_turn(q);
        if (k == NULL) {
            break;
        }

        e = kvmq_queue_head(c, q, fresh);
        if (e == NULL) {
            break;
        }

        kvmq_queue_unready(q, e);

        e->tag = kvmq_queue_new_tag(c);
        e->cons = k;
        e->deadline = 0;
        e->flags |= KVMQ_QE_OUTBOX;

        kvmq_queue_link_unacked(c, e);

        q->cursor = k->next;
        kvmq_dirty_add(c, k);
    }

    return n;
}


/* ---- take -------------------------------------------------------------- */


static void
kvmq_delivery_fill(kvmq_delivery_t *d, const kvmq_consumer_t *k,
    const kvmq_qent_t *e)
{
    memset(d, 0, sizeof(kvmq_delivery_t));

    d->queue.data = k->tag + k->tlen;
    d->queue.len = k->qlen;
    d->consumer.data = k->tag;
    d->consumer.len = k->tlen;
    d->owner = k->owner_id;

    if (e != NULL) {
        d->tag = e->tag;
        d->msg = e->msg;
        d->redelivered = (e->flags & KVMQ_QE_DELIVERED) ? 1 : 0;
        d->noack = k->noack;

    } else {
        d->cancelled = 1;
    }
}


int
kvmq_queue_take(kvmq_ctx_t *c, unsigned slot, unsigned max,
    kvmq_delivery_pt fn, void *arg)
{
    int               gone;
    kvmq_mq_t        *mq;
    kvmq_qent_t      *e;
    kvmq_queue_t     *q;
    kvmq_consumer_t  *k;
    kvmq_delivery_t   d;

    mq = c->db->mq;

    if (mq == NULL || slot >= KVMQ_MQ_SLOTS) {
        return 0;
    }

    while (max > 0 && (k = mq->dirty[slot]) != NULL) {

        if (k->queue == NULL) {
            /* a cancel notice */
            kvmq_dirty_remove(c, k);
            kvmq_delivery_fill(&d, k, NULL);
            (void) fn(arg, &d);
            kvmq_zfree(c, k);
            max--;
            continue;
        }

        q = k->queue;
        gone = 0;

        while (max > 0 && (e = k->outbox) != NULL) {
            kvmq_delivery_fill(&d, k, e);

            if (fn(arg, &d) != 0) {
                gone = 1;
                break;
            }

            k->outbox = e->next;
            k->noutbox--;
            e->flags &= ~KVMQ_QE_OUTBOX;
            e->flags |= KVMQ_QE_DELIVERED;

            q->delivered++;
            mq->delivered++;

            if (d.redelivered) {
                q->redelivered++;
            }

            if (k->noack) {
                q->acked++;
                mq->acked++;
                kvmq_queue_forget(c, e);
            }

            max--;
        }

        if (gone) {
            (void) kvmq_consumer_release(c, k);
            continue;
        }

        /* refill: its credit grew by what it took */
        if (k->outbox == NULL) {
            kvmq_dirty_remove(c, k);
        }

        (void) kvmq_queue_dispatch(c, q, KVMQ_DISPATCH_BATCH, NULL);
    }

    return mq->dirty[slot] != NULL;
}


int
kvmq_queue_pending(kvmq_db_t *db, unsigned slot)
{
    return db->mq != NULL && slot < KVMQ_MQ_SLOTS
           && db->mq->dirty[slot] != NULL;
}


/* ---- cancel, release, detach ------------------------------------------- */


int
kvmq_consumer_cancel(kvmq_ctx_t *c, kvmq_consumer_t *k)
{
    int            was_active;
    kvmq_qent_t   *hint;
    kvmq_queue_t  *q;

    q = k->queue;
    was_active = k->active;

    kvmq_dirty_remove(c, k);

    /* what the door has not seen goes back, not redelivered */
    hint = NULL;

    while (k->outbox != NULL) {
        hint = kvmq_queue_requeue(c, k->outbox, hint);
    }

    if (was_active) {
        k->active = 0;
        q->nconsumers--;
    }

    q->last_used = c->now_ms;

    kvmq_consumer_gc(c, k);

    if (was_active && q->auto_delete && q->had_consumer
        && q->nconsumers == 0)
    {
        kvmq_queue_destroy(c, q);
        return 1;
    }

    kvmq_queue_settled(c, q);

    return 0;
}


int
kvmq_consumer_release(kvmq_ctx_t *c, kvmq_consumer_t *k)
{
    kvmq_qent_t  *hint;

    kvmq_dirty_remove(c, k);

    hint = NULL;

    while (k->dhead != NULL) {
        hint = kvmq_queue_requeue(c, k->dhead, hint);
    }

    return kvmq_consumer_cancel(c, k);
}


void
kvmq_consumers_detach(kvmq_ctx_t *c, kvmq_queue_t *q, kvmq_qent_t **chain)
{
    kvmq_qent_t      *e, *next;
    kvmq_owner_t     *o;
    kvmq_consumer_t  *k;

    while ((k = q->consumers) != NULL) {

        for (e = k->dhead; e != NULL; e = next) {
            next = e->next;
            kvmq_queue_unacked_to_chain(c, e, chain);
        }

        k->dhead = NULL;
        k->dtail = NULL;
        k->outbox = NULL;
        k->unacked = 0;
        k->noutbox = 0;

        kvmq_consumer_unlink_queue(k);
        o = kvmq_consumer_unlink_owner(k);

        c->db->mq->consumers--;

        if (k->active && k->owner_id != 0) {
            /* RabbitMQ tells consumers of a deleted queue (basic.cancel):
             * the door gets a notice through take */
            k->queue = NULL;
            k->active = 0;
            kvmq_dirty_remove(c, k);
            kvmq_dirty_add(c, k);

        } else {
            kvmq_dirty_remove(c, k);
            kvmq_zfree(c, k);
        }

        if (o != NULL) {
            kvmq_owner_gc(c, o);
        }
    }

    q->nconsumers = 0;
}


/* ---- the door's hooks -------------------------------------------------- */


kvmq_err_e
kvmq_queue_consume(kvmq_ctx_t *c, const kvmq_slice_t *queue,
    const kvmq_slice_t *ctag, uint64_t owner, unsigned slot,
    uint32_t prefetch, int noack)
{
    int               new_owner;
    kvmq_queue_t     *q;
    kvmq_owner_t     *o;
    kvmq_consumer_t  *k;

    if (owner == 0 || slot >= KVMQ_MQ_SLOTS) {
        return KVMQ_ERR_BADREQ;
    }

    q = kvmq_queue_find(c, queue);

    if (q == NULL) {
        return KVMQ_ERR_NOTFOUND;
    }

    if (q->exclusive && (q->owner == NULL || q->owner->id != owner)) {
        return KVMQ_ERR_DENIED;
    }

    if (kvmq_consumer_find(q, ctag, 0, 1) != NULL) {
        return KVMQ_ERR_PRECONDITION;
    }

    o = kvmq_owner_find(c, owner);
    new_owner = 0;

    if (o == NULL) {
        o = kvmq_owner_new(c, owner, slot);
        if (o == NULL) {
            return KVMQ_ERR_NOMEM;
        }

        new_owner = 1;
    }

    k = kvmq_consumer_new(c, q, ctag);

    if (k == NULL) {
        if (new_owner) {
            kvmq_zfree(c, o);
        }

        return KVMQ_ERR_NOMEM;
    }

    k->active = 1;
    k->noack = noack ? 1 : 0;
    k->prefetch = prefetch;
    k->slot = (uint8_t) slot;

    if (new_owner) {
        kvmq_owner_link(c, o);
    }

    kvmq_consumer_link(c, k, o);

    q->nconsumers++;
    q->had_consumer = 1;
    q->last_used = c->now_ms;

    kvmq_queue_tick(c, q, KVMQ_DISPATCH_BATCH);
    (void) kvmq_queue_dispatch(c, q, KVMQ_DISPATCH_BATCH, NULL);

    return KVMQ_OK;
}


static kvmq_consumer_t *
kvmq_consumer_lookup(kvmq_ctx_t *c, const kvmq_slice_t *queue,
    const kvmq_slice_t *ctag)
{
    kvmq_queue_t  *q;

    q = kvmq_queue_find(c, queue);

    return (q != NULL) ? kvmq_consumer_find(q, ctag, 0, 1) : NULL;
}


kvmq_err_e
kvmq_queue_cancel(kvmq_ctx_t *c, const kvmq_slice_t *queue,
    const kvmq_slice_t *ctag)
{
    kvmq_consumer_t  *k;

    k = kvmq_consumer_lookup(c, queue, ctag);

    if (k == NULL || !k->active) {
        return KVMQ_ERR_NOTFOUND;
    }

    (void) kvmq_consumer_cancel(c, k);
    kvmq_mq_gc(c);

    return KVMQ_OK;
}


kvmq_err_e
kvmq_queue_release(kvmq_ctx_t *c, const kvmq_slice_t *queue,
    const kvmq_slice_t *ctag)
{
    kvmq_consumer_t  *k;

    k = kvmq_consumer_lookup(c, queue, ctag);

    if (k == NULL) {
        return KVMQ_ERR_NOTFOUND;
    }

    (void) kvmq_consumer_release(c, k);
    kvmq_mq_gc(c);

    return KVMQ_OK;
}


long
kvmq_queue_credit(kvmq_ctx_t *c, const kvmq_slice_t *queue,
    const kvmq_slice_t *ctag)
{
    kvmq_consumer_t  *k;

    k = kvmq_consumer_lookup(c, queue, ctag);

    if (k == NULL) {
        return -2;
    }

    if (!k->active) {
        return 0;
    }

    if (k->noack || k->prefetch == 0) {
        return -1;
    }

    return (k->unacked < k->prefetch) ? (long) (k->prefetch - k->unacked)
                                      : 0;
}


int
kvmq_queue_next_consumer(kvmq_ctx_t *c, const kvmq_slice_t *queue,
    kvmq_slice_t *ctag, uint64_t *owner, unsigned *slot)
{
    kvmq_queue_t     *q;
    kvmq_consumer_t  *k;

    q = kvmq_queue_find(c, queue);

    if (q == NULL) {
        return -1;
    }

    k = kvmq_queue_turn(q);

    if (k == NULL) {
        return -1;
    }

    *ctag = kvmq_consumer_tag(k);
    *owner = k->owner_id;
    *slot = k->slot;

    return 0;
}


void
kvmq_mq_owner_gone(kvmq_ctx_t *c, uint64_t id)
{
    kvmq_owner_t  *o;

    o = kvmq_owner_find(c, id);

    if (o == NULL) {
        return;
    }

    o->dying = 1;

    while (o->consumers != NULL) {
        (void) kvmq_consumer_release(c, o->consumers);
    }

    while (o->queues != NULL) {
        kvmq_queue_destroy(c, o->queues);
    }

    while (o->addrs != NULL) {
        kvmq_rpc_drop(c, o->addrs);
    }

    o->dying = 0;
    kvmq_owner_gc(c, o);
    kvmq_mq_gc(c);
}


void
kvmq_mq_slot_gone(kvmq_ctx_t *c, unsigned slot)
{
    kvmq_mq_t        *mq;
    kvmq_consumer_t  *k;

    mq = c->db->mq;

    if (mq == NULL || slot >= KVMQ_MQ_SLOTS) {
        return;
    }

    while (mq->slot_owners[slot] != NULL) {
        kvmq_mq_owner_gone(c, mq->slot_owners[slot]->id);

        mq = c->db->mq;
        if (mq == NULL) {
            return;
        }
    }

    /* what is left on the take list: notices, nobody to read them */
    while ((k = mq->dirty[slot]) != NULL) {
        kvmq_dirty_remove(c, k);

        if (k->queue == NULL) {
            kvmq_zfree(c, k);

        } else {
            (void) kvmq_consumer_release(c, k);
        }
    }

    kvmq_mq_gc(c);
}
