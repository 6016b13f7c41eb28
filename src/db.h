/*
 * The db root, shared by db.c (keyspace, expiry, eviction), the types
 * and command.c (statistics).
 */

#ifndef KVMQ_DB_H
#define KVMQ_DB_H

#include "engine.h"
#include "htable.h"


#define KVMQ_DB_MAGIC         0x6b766d71u     /* "kvmq" */
#define KVMQ_DB_VERSION       4
#define KVMQ_MAX_COMMANDS     512

/*
 * Values handed to lazyfree.c: a FIFO of small job blocks, each naming a
 * value (by type tag) whose blocks are freed a bounded number per step.
 */
typedef struct kvmq_lazy_job_s  kvmq_lazy_job_t;

struct kvmq_lazy_job_s {
    kvmq_lazy_job_t    *next;
    void               *val;
    uint32_t            type;       /* kvmq_type_e */
};

/*
 * t_block.c: who waits on which key for a blocking pop, oldest first;
 * one record per (waiter, key), records of one waiter share its id.
 */
typedef struct kvmq_waiter_s  kvmq_waiter_t;

struct kvmq_waiter_s {
    kvmq_waiter_t      *next;
    kvmq_waiter_t      *prev;
    uint64_t            id;
    uint32_t            slot;       /* the worker slot holding it */
    uint32_t            klen;
    unsigned char       key[];
};

#define KVMQ_BLOCK_SLOTS      64

typedef struct {
    kvmq_waiter_t      *head;
    kvmq_waiter_t      *tail;
    uint64_t            count;
    uint64_t            next_id;
    uint64_t            wakes[KVMQ_BLOCK_SLOTS];  /* per slot, bumped */
} kvmq_block_reg_t;

typedef struct {
    kvmq_lazy_job_t    *head;
    kvmq_lazy_job_t    *tail;
    uint64_t            values;     /* jobs queued */
    uint64_t            blocks;     /* blocks they held when queued */
    uint64_t            freed;      /* blocks freed lazily, ever */
} kvmq_lazy_t;


struct kvmq_db_s {
    uint32_t            magic;
    uint32_t            version;

    kvmq_htable_t       keys;         /* the keyspace: kvmq_entry_t */

    uint32_t            eviction;     /* kvmq_evict_e */
    uint64_t            seed;
    uint64_t            rng;
    uint64_t            cas_seq;

    uint64_t            volatile_keys;
    uint64_t            sweep_cursor;

    uint64_t            expired;
    uint64_t            evicted;
    uint64_t            hits;
    uint64_t            misses;
    uint64_t            commands;
    uint64_t            cmd_calls[KVMQ_MAX_COMMANDS];

    /* lazyfree.c: big values waiting to be freed in bounded steps */
    kvmq_lazy_t         lazy;

    /* bumped whenever a list or sorted set gets items, with the hash of
     * the last key that did */
    uint64_t            ready_seq;
    uint32_t            ready_hash;

    /* t_block.c: the waiters of blocking pops */
    kvmq_block_reg_t    blocked;

    /* pubsub.c: channels, patterns, slot records; made on first use */
    struct kvmq_pubsub_s  *pubsub;

    /* queue.c: queues, exchanges, deliveries, consumers, RPC addresses;
     * made on first use (mq.h) */
    struct kvmq_mq_s      *mq;
};


/* command.c */
unsigned kvmq_cmd_count(void);
const kvmq_cmd_t *kvmq_cmd_at(unsigned i);
unsigned kvmq_cmd_id(const kvmq_cmd_t *cmd);
int kvmq_cmd_is_key(const kvmq_ctx_t *c, const kvmq_slice_t *key);

/* db.c */
void kvmq_db_count_command(kvmq_db_t *db, unsigned id);

/* a list or sorted set key got items (see t_list.c on blocking pops) */
void kvmq_db_signal_ready(kvmq_ctx_t *c, kvmq_entry_t *e);

/* t_block.c (the rest of its API is in kvmq.h) */
void kvmq_block_signal(kvmq_ctx_t *c, kvmq_entry_t *e);
void kvmq_block_destroy(kvmq_ctx_t *c);

/* object.c: free a value at once, whatever its size */
void kvmq_value_free_now(kvmq_ctx_t *c, kvmq_type_e type, void *val);

/* pubsub.c (the rest of its API is in pubsub.h) */
void kvmq_pubsub_cron(kvmq_ctx_t *c, unsigned budget);
void kvmq_pubsub_destroy(kvmq_ctx_t *c);

/* queue.c (the rest of the messaging API is in queue.h and mq.h) */
void kvmq_mq_cron(kvmq_ctx_t *c, unsigned budget);
void kvmq_mq_destroy(kvmq_ctx_t *c);

/* lazyfree.c */
int kvmq_lazyfree_defer(kvmq_ctx_t *c, kvmq_type_e type, void *val);
unsigned kvmq_lazyfree_step(kvmq_ctx_t *c, unsigned budget);
int kvmq_lazyfree_reclaim(kvmq_ctx_t *c, unsigned *rounds);
void kvmq_lazyfree_cron(kvmq_ctx_t *c, int64_t budget_us);
void kvmq_lazyfree_drain(kvmq_ctx_t *c);

#endif /* KVMQ_DB_H */
