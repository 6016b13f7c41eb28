/*
 * Queues as the doors see them: consumers, deliveries, owners and the
 * hints that tell a door when to look at the zone again.  The Q.* and
 * X.* commands are ordinary commands of the table (t_mq.c); this header
 * is for what a door does beside commands: WebSocket CONSUME / CANCEL /
 * ACK / NACK, a connection or a worker going away, parked HTTP gets.
 *
 * Who is who.  The engine knows no connection and no worker.  A door
 * names
 *
 *   - an owner: a uint64 the door makes unique in the zone (0 = none),
 *     one per WebSocket connection, say;  exclusive queues, consumers
 *     and RPC reply addresses belong to an owner, and
 *     kvmq_mq_owner_gone() takes them all away at once;
 *   - a slot: 0 .. KVMQ_MQ_SLOTS - 1, the worker that holds the owner;
 *     kvmq_mq_slot_gone() takes away every owner of a slot (a worker
 *     that exited or crashed), and wake-ups name slots;
 *   - a consumer tag: bytes, unique per queue, chosen by the door.
 *
 * The running command's owner and slot are c->owner and c->owner_slot.
 *
 * Push delivery.  Messages are handed to consumers by the engine, not
 * pulled by the doors: whenever a queue has ready messages and one of
 * its consumers has credit (prefetch not reached), the engine takes the
 * head, gives it a delivery tag and puts it in that consumer's outbox,
 * round-robin over the consumers of the queue, whatever worker holds
 * them.  A consumer whose outbox was empty is put on its slot's list
 * and its slot is reported in c->wake (bit i = slot i, ORed with what
 * pub/sub reports).  The woken worker calls kvmq_queue_take() for its
 * slot and writes out what it gets.  So prefetch and round-robin hold
 * across workers with one wake-up per batch, and no worker asks
 * another anything.
 *
 * Delivery tags are unique in the zone and increase in the order the
 * engine hands messages out (one counter for all queues), so an ACK
 * that names no queue (WebSocket ACK tag...) still finds its delivery.
 *
 * All functions run under the zone lock with a ctx like kvmq_exec();
 * callbacks run under the lock too and must only copy.
 */

#ifndef KVMQ_QUEUE_H
#define KVMQ_QUEUE_H

#include "kvmq.h"


#define KVMQ_MQ_SLOTS           64

/* at most this many assigned-but-not-taken deliveries per consumer */
#define KVMQ_OUTBOX_MAX         256

/* Q.GET ACK manual without VISIBILITY: RabbitMQ's consumer_timeout */
#define KVMQ_VISIBILITY_DEFAULT (30 * 60 * 1000)


typedef struct kvmq_msg_s  kvmq_msg_t;


/* a delivery as kvmq_queue_take() hands it out; valid during the call */
typedef struct {
    kvmq_slice_t        queue;
    kvmq_slice_t        consumer;   /* its tag */
    uint64_t            owner;
    uint64_t            tag;
    const kvmq_msg_t   *msg;        /* NULL for a cancel notice */
    unsigned            redelivered:1;
    unsigned            noack:1;
    unsigned            cancelled:1;    /* the queue was deleted */
} kvmq_delivery_t;

/*
 * 0: written out.  -1: the consumer is gone (its connection closed);
 * the engine then releases it as kvmq_queue_release() does.
 */
typedef int (*kvmq_delivery_pt)(void *arg, const kvmq_delivery_t *d);


/* how kvmq_queue_settle() settles */
typedef enum {
    KVMQ_SETTLE_ACK = 0,
    KVMQ_SETTLE_REQUEUE,        /* nack requeue=true */
    KVMQ_SETTLE_REJECT          /* nack requeue=false: dead-letter/drop */
} kvmq_settle_e;


typedef struct {
    uint64_t            queues;
    uint64_t            exchanges;
    uint64_t            bindings;
    uint64_t            consumers;
    uint64_t            messages;   /* distinct message blocks alive */
    uint64_t            bytes;      /* their body bytes */
    uint64_t            ready;      /* over all queues */
    uint64_t            unacked;
    uint64_t            published;  /* ever, into queues */
    uint64_t            delivered;
    uint64_t            acked;
    uint64_t            rpc_addresses;
} kvmq_mq_stats_t;


/*
 * Register consumer ctag of queue for (owner, slot).  prefetch 0 =
 * unlimited.  noack: deliveries are settled when taken.  Errors:
 * NOTFOUND (no queue), DENIED (an exclusive queue of another owner),
 * PRECONDITION (the tag is in use on the queue), NOMEM; nothing changes
 * then.  Deliveries may be assigned at once (see c->wake).
 */
kvmq_err_e kvmq_queue_consume(kvmq_ctx_t *c, const kvmq_slice_t *queue,
    const kvmq_slice_t *ctag, uint64_t owner, unsigned slot,
    uint32_t prefetch, int noack);

/*
 * Stop deliveries to a consumer (AMQP basic.cancel): what is in its
 * outbox goes back to the queue; what it holds unacked stays until
 * settled or released.  An auto-delete queue whose last consumer this
 * was is deleted.  NOTFOUND when there is no such queue or consumer.
 */
kvmq_err_e kvmq_queue_cancel(kvmq_ctx_t *c, const kvmq_slice_t *queue,
    const kvmq_slice_t *ctag);

/*
 * Requeue every delivery of a consumer, redelivered, and cancel it
 * (a consumer whose connection went away).  NOTFOUND as above.
 */
kvmq_err_e kvmq_queue_release(kvmq_ctx_t *c, const kvmq_slice_t *queue,
    const kvmq_slice_t *ctag);

/*
 * Hand out at most max deliveries assigned to consumers of slot, and the
 * cancel notices of consumers whose queue was deleted.  Noack deliveries
 * are settled as they are handed out.  Returns 1 when more remain (call
 * again), 0 when the slot has nothing left.
 */
int kvmq_queue_take(kvmq_ctx_t *c, unsigned slot, unsigned max,
    kvmq_delivery_pt fn, void *arg);

/* does slot have deliveries or notices to take? */
int kvmq_queue_pending(kvmq_db_t *db, unsigned slot);

/*
 * Settle deliveries by tag.  queue NULL: any queue (WebSocket ACK).  A
 * tag that is unknown, already settled, of another queue, not yet taken,
 * or held by a consumer of another owner (when owner != 0) fails the
 * whole call with PRECONDITION "unknown delivery tag N", and nothing
 * changes; *bad_tag (may be NULL) is that tag.  NOTFOUND when queue is
 * given and absent.
 */
kvmq_err_e kvmq_queue_settle(kvmq_ctx_t *c, const kvmq_slice_t *queue,
    const uint64_t *tags, unsigned n, kvmq_settle_e how, uint64_t owner,
    uint64_t *bad_tag);

/*
 * The prefetch check: how many more deliveries consumer ctag may get now
 * (0 = none, -1 = no limit); -2 when there is no such consumer.
 */
long kvmq_queue_credit(kvmq_ctx_t *c, const kvmq_slice_t *queue,
    const kvmq_slice_t *ctag);

/*
 * The consumer whose turn is next (round-robin among the consumers with
 * credit), without moving the turn: its tag, owner and slot.  0 when one
 * was found, -1 when none has credit (or there is no such queue).
 */
int kvmq_queue_next_consumer(kvmq_ctx_t *c, const kvmq_slice_t *queue,
    kvmq_slice_t *ctag, uint64_t *owner, unsigned *slot);

/*
 * A parked HTTP get: report slot in c->wake the next time queue gets
 * ready messages.  Returns the ready count now (retry at once when not
 * 0), or -1 when there is no such queue.
 */
long kvmq_queue_watch(kvmq_ctx_t *c, const kvmq_slice_t *queue,
    unsigned slot);

/* bumped whenever any queue gets ready messages */
uint64_t kvmq_queue_ready_seq(kvmq_db_t *db);

/*
 * An owner (a connection) is gone: release its consumers (requeue,
 * redelivered), delete its exclusive queues, drop its RPC addresses.
 */
void kvmq_mq_owner_gone(kvmq_ctx_t *c, uint64_t owner);

/* the same for every owner of a slot (a worker exited or crashed) */
void kvmq_mq_slot_gone(kvmq_ctx_t *c, unsigned slot);

/*
 * Write a delivery as a map: {queue, tag, body, redelivered, exchange,
 * routing_key, properties: {...}}; booleans are integers 0/1.
 */
void kvmq_queue_reply_delivery(kvmq_ctx_t *c, const kvmq_delivery_t *d);

/* a message's parts, for doors that encode deliveries themselves */
size_t kvmq_msg_body_len(const kvmq_msg_t *m);
size_t kvmq_msg_body_copy(const kvmq_msg_t *m, unsigned char *buf);
kvmq_slice_t kvmq_msg_exchange(const kvmq_msg_t *m);
kvmq_slice_t kvmq_msg_routing_key(const kvmq_msg_t *m);
kvmq_slice_t kvmq_msg_content_type(const kvmq_msg_t *m);
kvmq_slice_t kvmq_msg_correlation_id(const kvmq_msg_t *m);
void kvmq_msg_reply_properties(kvmq_ctx_t *c, const kvmq_msg_t *m);

void kvmq_mq_stats(kvmq_db_t *db, kvmq_mq_stats_t *st);

/*
 * Periodic work from kvmq_db_cron(): expired heads, visibility
 * timeouts, unused queues (expires), assignment to consumers, stale RPC
 * addresses; at most budget units of work.
 */
void kvmq_mq_cron(kvmq_ctx_t *c, unsigned budget);

#endif /* KVMQ_QUEUE_H */
