/*
 * Lazy free: big values are freed in bounded steps, not all at once.
 *
 * Why.  Every command runs under the zone lock, and freeing a value is
 * one allocator call per block: a sorted set of a million members is a
 * million skiplist nodes plus the pages of its hash table, tens of
 * milliseconds during which every worker waits.  DEL, UNLINK, an
 * overwrite (SET, RENAME, *STORE), expiry and FLUSHALL all end in
 * kvmq_value_free() (object.c), which hands any value of more than
 * KVMQ_LAZYFREE_THRESHOLD blocks to this queue instead: the key is gone
 * at once, the value is unreachable, and its memory is freed later.
 * Redis does the same with a background thread (UNLINK, lazyfree-*); a
 * zone has no thread, so the work is cut in steps instead.
 *
 * Who frees.  kvmq_db_cron() calls kvmq_lazyfree_cron() first, which
 * frees batches of KVMQ_LAZYFREE_BATCH blocks until its time budget is
 * spent (at least one batch per call).  And kvmq_zalloc(), when the
 * pool is full, reclaims from the queue (at most KVMQ_LAZYFREE_ROUNDS
 * batches of KVMQ_LAZYFREE_RECLAIM blocks per allocation) before it
 * evicts anything, so memory of deleted values is never a reason to
 * evict live keys or fail a write that a little freeing would satisfy.
 * Until then the memory counts as used, as Redis' does.
 *
 * The queue.  A FIFO of 32-byte job blocks in the db root (kvmq_lazy_t,
 * db.h), each naming a value by type tag, never by function pointer.  A
 * job block comes from the plain allocator; if the pool cannot give
 * even that, a first batch of the value is freed on the spot and the
 * job is asked for again, and only if that fails too is the value freed
 * whole, as before.
 *
 * The types.  Each type that can be big provides two functions: how
 * many blocks a value holds (its cost to free), and "free at most
 * *budget blocks, return 1 when the value is gone", which must leave a
 * partly freed value consistent enough to be called again.  The two
 * switches below are the single place where a type plugs in:
 *
 *     list   kvmq_list_blocks()  kvmq_list_free_some()  (quicklist.c)
 *     zset   kvmq_zset_blocks()  kvmq_zset_free_some()  (zskiplist.c)
 *     hash   kvmq_hash_blocks()  kvmq_hash_free_some()  (t_hash.c)
 *     set    kvmq_set_blocks()   kvmq_set_free_some()   (t_set.c)
 *     queue entries (a deleted or purged queue's, not a key type)
 *            kvmq_qchain_blocks() kvmq_qchain_free_some() (queue.c)
 */

#include <time.h>

#include "aggr.h"
#include "db.h"
#include "mq.h"
#include "quicklist.h"
#include "zset.h"


#define KVMQ_LAZYFREE_THRESHOLD  64
#define KVMQ_LAZYFREE_BATCH      64
#define KVMQ_LAZYFREE_RECLAIM    1024
#define KVMQ_LAZYFREE_ROUNDS     16


static uint64_t
kvmq_lazy_blocks(kvmq_type_e type, const void *val)
{
    switch (type) {

    case KVMQ_TYPE_LIST:
        return kvmq_list_blocks(val);

    case KVMQ_TYPE_ZSET:
        return kvmq_zset_blocks(val);

    case KVMQ_TYPE_HASH:
        return kvmq_hash_blocks(val);

    case KVMQ_TYPE_SET:
        return kvmq_set_blocks(val);

    case KVMQ_TYPE_QCHAIN:
        return kvmq_qchain_blocks(val);

    default:
        return 1;
    }
}


static int
kvmq_lazy_free_some(kvmq_ctx_t *c, kvmq_type_e type, void *val,
    unsigned *budget)
{
    switch (type) {

    case KVMQ_TYPE_LIST:
        return kvmq_list_free_some(c, val, budget);

    case KVMQ_TYPE_ZSET:
        return kvmq_zset_free_some(c, val, budget);

    case KVMQ_TYPE_HASH:
        return kvmq_hash_free_some(c, val, budget);

    case KVMQ_TYPE_SET:
        return kvmq_set_free_some(c, val, budget);

    case KVMQ_TYPE_QCHAIN:
        return kvmq_qchain_free_some(c, val, budget);

    default:
        kvmq_value_free_now(c, type, val);

        if (*budget > 0) {
            (*budget)--;
        }

        return 1;
    }
}


static int64_t
kvmq_lazy_now_us(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);

    return (int64_t) ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}


int
kvmq_lazyfree_defer(kvmq_ctx_t *c, kvmq_type_e type, void *val)
{
    unsigned          budget;
    uint64_t          blocks;
    kvmq_lazy_t      *q;
    kvmq_lazy_job_t  *job;

    blocks = kvmq_lazy_blocks(type, val);

    if (blocks <= KVMQ_LAZYFREE_THRESHOLD) {
        return 0;
    }

    job = c->alloc->alloc(c->alloc->ctx, sizeof(kvmq_lazy_job_t));

    if (job == NULL) {
        /* a full pool: a first batch makes room for the job block */
        budget = KVMQ_LAZYFREE_BATCH;

        if (kvmq_lazy_free_some(c, type, val, &budget)) {
            return 1;
        }

        budget = KVMQ_LAZYFREE_BATCH - budget;
        blocks = (budget < blocks) ? blocks - budget : 0;

        job = c->alloc->alloc(c->alloc->ctx, sizeof(kvmq_lazy_job_t));
        if (job == NULL) {
            return 0;
        }
    }

    job->next = NULL;
    job->val = val;
    job->type = (uint32_t) type;

    q = &c->db->lazy;

    if (q->tail != NULL) {
        q->tail->next = job;

    } else {
        q->head = job;
    }

    q->tail = job;
    q->values++;
    q->blocks += blocks;

    return 1;
}


unsigned
kvmq_lazyfree_step(kvmq_ctx_t *c, unsigned budget)
{
    int               done;
    unsigned          before, n, freed;
    kvmq_lazy_t      *q;
    kvmq_lazy_job_t  *job;

    q = &c->db->lazy;
    freed = 0;

    while (q->head != NULL && budget > 0) {
        job = q->head;
        before = budget;

        done = kvmq_lazy_free_some(c, (kvmq_type_e) job->type, job->val,
                                   &budget);

        n = before - budget;
        freed += n;
        q->freed += n;
        q->blocks -= (n < q->blocks) ? n : q->blocks;

        if (!done) {
            break;
        }

        q->head = job->next;

        if (q->head == NULL) {
            q->tail = NULL;
        }

        q->values--;

        if (q->values == 0) {
            q->blocks = 0;
        }

        c->alloc->free(c->alloc->ctx, job);
        freed++;
    }

    return freed;
}


int
kvmq_lazyfree_reclaim(kvmq_ctx_t *c, unsigned *rounds)
{
    if (c->db->lazy.head == NULL || *rounds >= KVMQ_LAZYFREE_ROUNDS) {
        return 0;
    }

    (*rounds)++;

    return kvmq_lazyfree_step(c, KVMQ_LAZYFREE_RECLAIM) > 0;
}


void
kvmq_lazyfree_cron(kvmq_ctx_t *c, int64_t budget_us)
{
    int64_t  deadline;

    if (c->db->lazy.head == NULL) {
        return;
    }

    deadline = kvmq_lazy_now_us() + budget_us;

    do {
        (void) kvmq_lazyfree_step(c, KVMQ_LAZYFREE_BATCH);

    } while (c->db->lazy.head != NULL && kvmq_lazy_now_us() < deadline);
}


void
kvmq_lazyfree_drain(kvmq_ctx_t *c)
{
    while (c->db->lazy.head != NULL) {
        (void) kvmq_lazyfree_step(c, (unsigned) -1);
    }
}
