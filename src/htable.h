/*
 * A generic intrusive hash table: the keyspace (db.c) and the members of
 * aggregate values (hash fields, set members, sorted-set members).
 *
 * Intrusive: a node is the caller's own block, whose first field is a
 * kvmq_hnode_t (the chain link), so a member costs one pointer in its
 * node plus its share of the bucket array, and no separate entry block.
 * The table never allocates or frees nodes.  It reads a node's key (the
 * bytes it is hashed and compared by) through a kvmq_htype_t that the
 * caller passes to each call: the type lives in process memory, as
 * static const data of the caller's file, never in the zone.
 *
 * Buckets.  A table of up to KVMQ_HT_PAGE buckets is one block; a larger
 * one is a directory of 4 KB pages of KVMQ_HT_PAGE buckets, so no block
 * is larger than a slab page except the directory (8 bytes per 512
 * buckets): a big table needs free pages, not a free run of them.
 *
 * Rehash.  Redis style, incremental: past a load factor of 1 a second
 * table twice the size is made and every find and link moves one bucket
 * (visiting at most ten empty ones) while both tables are searched.
 * Pages of the old table are freed as the walk leaves them.  Below a
 * load of 1/8 the table shrinks the same way.  A new table is allocated
 * whole when the resize starts (as Redis' dictExpand does), from the
 * plain allocator: resizing never evicts, and when the zone cannot give
 * the new table the chains just get longer.
 *
 * Linking never fails.  kvmq_htable_reserve() does the housekeeping
 * around a link (a rehash step, or starting a resize, both optional) and
 * kvmq_htable_link() puts the node in, so a write can allocate its
 * nodes, and then link them all without a failure path: NOMEM never
 * leaves a half-linked write.  reserve returns 0; it keeps an int for
 * callers written when it could fail.  No other call on the table may
 * come between the two.
 *
 * Scan.  The reverse-binary cursor of Redis' dictScan over both tables:
 * a node present for the whole scan is returned at least once.
 */

#ifndef KVMQ_HTABLE_H
#define KVMQ_HTABLE_H

#include "engine.h"


#define KVMQ_HT_PAGE    512        /* buckets per page (4 KB) */
#define KVMQ_HT_MIN     4


/* kvmq_hnode_t, the chain link, is in engine.h: entries embed it too */

typedef struct {
    kvmq_slice_t     (*key)(const kvmq_hnode_t *n);
} kvmq_htype_t;

typedef struct {
    void              *b;          /* buckets, or a directory of pages */
    uint64_t           size;       /* buckets, a power of two; 0 = none */
    uint64_t           used;
} kvmq_htab_t;

typedef struct {
    kvmq_htab_t        t[2];
    int64_t            rehashidx;  /* next bucket of t[0]; -1 = none */
    uint32_t           flags;
} kvmq_htable_t;

/*
 * Shrink only from kvmq_htable_cron(), never on unlink: for the keyspace,
 * whose deletes come from the evictor in the middle of other commands
 * and whose shrink Redis leaves to its cron too.
 */
#define KVMQ_HT_CRON_SHRINK  0x01


/* an empty table sized for about hint nodes; -1 on NOMEM */
int kvmq_htable_init(kvmq_ctx_t *c, kvmq_htable_t *ht, uint64_t hint);

/* free the buckets (not the nodes) at once, or at most *budget blocks
 * per call (returns 1 when all is freed) */
void kvmq_htable_free(kvmq_ctx_t *c, kvmq_htable_t *ht);
int kvmq_htable_free_some(kvmq_ctx_t *c, kvmq_htable_t *ht,
    unsigned *budget);

uint64_t kvmq_htable_hash(kvmq_ctx_t *c, const void *key, size_t len);
uint64_t kvmq_htable_size(const kvmq_htable_t *ht);

kvmq_hnode_t *kvmq_htable_find(kvmq_ctx_t *c, kvmq_htable_t *ht,
    const kvmq_htype_t *type, const void *key, size_t len, uint64_t hash);

/* before each link: a rehash step or the start of a resize; returns 0 */
int kvmq_htable_reserve(kvmq_ctx_t *c, kvmq_htable_t *ht,
    const kvmq_htype_t *type, uint64_t hash);

/* link a node not in the table, right after a reserve; never fails */
void kvmq_htable_link(kvmq_htable_t *ht, kvmq_hnode_t *n, uint64_t hash);

/* unlink a node known to be in the table; never fails */
void kvmq_htable_unlink(kvmq_ctx_t *c, kvmq_htable_t *ht, kvmq_hnode_t *n,
    uint64_t hash);

/* hand every node to fn and start again empty; fn frees the node */
void kvmq_htable_clear(kvmq_ctx_t *c, kvmq_htable_t *ht,
    void (*fn)(kvmq_ctx_t *c, kvmq_hnode_t *n));
int kvmq_htable_ready(kvmq_ctx_t *c, kvmq_htable_t *ht);

/* the cron's share: move up to n buckets of a rehash in progress, or
 * start shrinking a table less than an eighth full */
void kvmq_htable_cron(kvmq_ctx_t *c, kvmq_htable_t *ht,
    const kvmq_htype_t *type, unsigned n);

uint64_t kvmq_htable_scan(kvmq_htable_t *ht, uint64_t cursor,
    void (*fn)(void *arg, kvmq_hnode_t *n), void *arg);

/* a random node (r: a random number), NULL when empty */
kvmq_hnode_t *kvmq_htable_random(kvmq_htable_t *ht, uint64_t r);

/* bytes of bucket arrays and pages, for memory stats */
size_t kvmq_htable_bytes(const kvmq_htable_t *ht);

#endif /* KVMQ_HTABLE_H */
