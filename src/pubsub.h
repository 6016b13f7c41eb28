/*
 * Pub/sub in the zone: channels with a bounded history, pattern
 * subscriptions, and the per-worker-slot bookkeeping that lets a PUBLISH
 * on one worker reach subscribers held by every other worker.  This is
 * the part of the API the hosts call directly (the nginx glue, the unit
 * tests); PUBLISH and PUBSUB are ordinary commands of the table.
 *
 * The engine does not know what a worker, a connection or an fd is.  It
 * knows "slots": small integers 0 .. KVMQ_PUBSUB_SLOTS - 1, one per
 * process that holds subscribers, each with a generation number.  A host
 * process claims a slot with kvmq_pubsub_slot_reset(), which bumps the
 * slot's generation: every count and pending delivery recorded under an
 * older generation (a worker that crashed or was replaced by a reload)
 * is dead from then on and is reclaimed lazily.
 *
 * A PUBLISH reports in c->wake the slots that have to look at the zone
 * (bit i = slot i), only those that had nothing pending before; the host
 * wakes those processes, and each calls kvmq_pubsub_consume() for its
 * slot to copy out, under the lock, every message it has not seen yet.
 * Messages are kept, once, until every slot that must see them has
 * consumed them, even past the history ring, up to KVMQ_PUBSUB_MAX_LAG
 * messages per channel.
 *
 * All functions run under the zone lock with a ctx (db, allocator,
 * clock) like kvmq_exec(); callbacks run under the lock too and must
 * only copy.
 */

#ifndef KVMQ_PUBSUB_H
#define KVMQ_PUBSUB_H

#include "kvmq.h"


#define KVMQ_PUBSUB_SLOTS       64
#define KVMQ_PUBSUB_HISTORY     100         /* default ring size */
#define KVMQ_PUBSUB_MAX_LAG     65536       /* pending per channel+slot */


/* a message as the callbacks see it; data is valid during the call */
typedef struct {
    uint64_t                seq;        /* per channel, from 1 */
    uint64_t                gid;        /* zone-wide publish order */
    int64_t                 time_ms;    /* when it was published */
    kvmq_slice_t            data;
} kvmq_pubmsg_t;


/*
 * Where a channel stands when a subscriber joins: last is the seq of the
 * newest message (0 if none yet), first the seq of the oldest message
 * the history still holds (last + 1 when it holds none); gid is the
 * zone-wide publish counter, the start of a pattern subscription.
 */
typedef struct {
    uint64_t                first;
    uint64_t                last;
    uint64_t                gid;
} kvmq_pubsub_pos_t;


/* 0 to go on, -1 to stop (the host could not copy: it is out of memory) */
typedef int (*kvmq_pubsub_msg_pt)(void *arg, const kvmq_slice_t *channel,
    const kvmq_pubmsg_t *m);


typedef struct {
    uint64_t                channels;   /* in the table */
    uint64_t                patterns;
    uint64_t                subscribers;    /* live, channels + patterns */
    uint64_t                messages;   /* stored, history and pending */
    uint64_t                bytes;      /* their payload bytes */
    uint64_t                published;  /* ever */
    uint32_t                history;
    int64_t                 ttl_ms;
} kvmq_pubsub_stats_t;


/*
 * Settings of a zone: the ring size of every channel (0 keeps none) and
 * the longest time a message stays in the history (0 = no limit).  May
 * be called again (a reload); rings adapt lazily.  -1 on NOMEM.
 */
int kvmq_pubsub_configure(kvmq_ctx_t *c, unsigned history, int64_t ttl_ms);

/*
 * Claim slot for a new process: bump its generation and drop what is
 * pending for the slot; the same for every slot from unused on (slots
 * no process of the current configuration has: KVMQ_PUBSUB_SLOTS for
 * none).  Returns slot's new generation (never 0), or 0 on NOMEM.
 */
uint64_t kvmq_pubsub_slot_reset(kvmq_ctx_t *c, unsigned slot,
    unsigned unused);

/*
 * Count one subscriber of channel on (slot, gen).  With since != NULL,
 * every message of the history with seq > *since is passed to fn first.
 * pos tells where the channel stands.  KVMQ_ERR_NOMEM or KVMQ_ERR_DENIED
 * (gen is not the slot's current generation) leave everything as it
 * was; a failing fn does not undo the subscription.
 */
kvmq_err_e kvmq_pubsub_subscribe(kvmq_ctx_t *c, unsigned slot, uint64_t gen,
    const kvmq_slice_t *channel, const uint64_t *since,
    kvmq_pubsub_msg_pt fn, void *arg, kvmq_pubsub_pos_t *pos);

/* drop one subscriber of each of n channels (a stale gen is a no-op) */
void kvmq_pubsub_unsubscribe(kvmq_ctx_t *c, unsigned slot, uint64_t gen,
    const kvmq_slice_t *channels, unsigned n);

/* the same for glob patterns; psubscribe sets *gid (see the pos) */
kvmq_err_e kvmq_pubsub_psubscribe(kvmq_ctx_t *c, unsigned slot,
    uint64_t gen, const kvmq_slice_t *pattern, uint64_t *gid);
void kvmq_pubsub_punsubscribe(kvmq_ctx_t *c, unsigned slot, uint64_t gen,
    const kvmq_slice_t *patterns, unsigned n);

/*
 * The messages (slot, gen) has not consumed yet, in publish order per
 * channel, at most max of them.  Returns 1 when more remain (call again
 * later), 0 when all is consumed.  A slot whose consumer fell more than
 * KVMQ_PUBSUB_MAX_LAG messages behind on a channel skips ahead: the seq
 * numbers it then sees jump, and the host tells its subscribers so.
 */
int kvmq_pubsub_consume(kvmq_ctx_t *c, unsigned slot, uint64_t gen,
    unsigned max, kvmq_pubsub_msg_pt fn, void *arg);

/* does (slot, gen) have something to consume? */
int kvmq_pubsub_pending(kvmq_db_t *db, unsigned slot, uint64_t gen);

/*
 * Reclaim, a bounded number of channels per call: records of dead
 * generations, messages past the history's age, empty channels.
 */
void kvmq_pubsub_cron(kvmq_ctx_t *c, unsigned budget);

void kvmq_pubsub_stats(kvmq_db_t *db, kvmq_pubsub_stats_t *st);

/* does channel match a PSUBSCRIBE pattern (Redis glob rules)? */
int kvmq_pubsub_match(const kvmq_slice_t *pattern,
    const kvmq_slice_t *channel);

/* free everything (kvmq_db_destroy) */
void kvmq_pubsub_destroy(kvmq_ctx_t *c);

#endif /* KVMQ_PUBSUB_H */
