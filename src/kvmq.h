/*
 * kvmq engine: the public face the hosts (the nginx glue, unit tests,
 * fuzzers, the Lua FFI) see.
 *
 * The engine is plain C with no nginx header.  Everything it keeps lives
 * in one "db" root allocated through the host's allocator, which in nginx
 * is the zone's slab pool, so the root and all it points to are valid in
 * every worker.  Nothing in the db points at code: types are tags and
 * dispatch goes through static tables, so a reload that maps a new module
 * binary still reads the old data.
 *
 * A host runs a command by filling a kvmq_ctx_t (process-local: the
 * allocator, the reply builder, the clock) and calling kvmq_exec() with an
 * argv, under whatever lock makes the db exclusive.  The engine answers
 * through the reply builder; errors are replies too, with a kvmq_err_e
 * code the doors map onto HTTP statuses.
 */

#ifndef KVMQ_H
#define KVMQ_H

#include <stddef.h>
#include <stdint.h>


#define KVMQ_VERSION  "0.1.0"


typedef struct kvmq_db_s       kvmq_db_t;
typedef struct kvmq_ctx_s      kvmq_ctx_t;
typedef struct kvmq_reply_s    kvmq_reply_t;
typedef struct kvmq_cmd_s      kvmq_cmd_t;


/* a byte string: argv elements, keys, reply bulks; not NUL-terminated */
typedef struct {
    const unsigned char  *data;
    size_t                len;
} kvmq_slice_t;


/* error codes; the doors map them to HTTP statuses (see API.md) */
typedef enum {
    KVMQ_OK = 0,
    KVMQ_ERR_BADREQ,          /* 400 */
    KVMQ_ERR_DENIED,          /* 403 */
    KVMQ_ERR_NOTFOUND,        /* 404 */
    KVMQ_ERR_METHOD,          /* 405 */
    KVMQ_ERR_WRONGTYPE,       /* 409 */
    KVMQ_ERR_PRECONDITION,    /* 412 */
    KVMQ_ERR_TOOLARGE,        /* 413 */
    KVMQ_ERR_TIMEOUT,         /* 504 */
    KVMQ_ERR_NOMEM,           /* 507 */
    KVMQ_ERR_QUEUEFULL,       /* 507 */
    KVMQ_ERR_LAST
} kvmq_err_e;

const char *kvmq_err_name(kvmq_err_e err);     /* "BADREQ" ... */
int kvmq_err_http_status(kvmq_err_e err);      /* 400 ... */


/* eviction policies of a zone */
typedef enum {
    KVMQ_EVICT_NOEVICTION = 0,
    KVMQ_EVICT_ALLKEYS_LRU,
    KVMQ_EVICT_VOLATILE_LRU,
    KVMQ_EVICT_ALLKEYS_LFU
} kvmq_evict_e;


/*
 * The allocator seam.  Lives in process memory (never in the db) because
 * it holds function pointers.  alloc() returns NULL when the pool is
 * full; the engine then evicts (if the zone's policy allows) and retries,
 * or fails the command with NOMEM leaving the data as it was.
 */
typedef struct {
    void    *(*alloc)(void *ctx, size_t size);
    void     (*free)(void *ctx, void *p);
    size_t   (*used)(void *ctx);        /* bytes in use, for INFO/stats */
    size_t     total;                   /* pool size in bytes */
    void      *ctx;
} kvmq_alloc_t;


/* string metadata reported to doors that want it (REST /kv) */
typedef struct {
    uint64_t              cas;          /* changes on every write */
    int64_t               pttl;         /* ms, -1 = no expiry */
    kvmq_slice_t          ctype;        /* stored Content-Type, len 0 */
    int                   existed;      /* a write replaced a value */
} kvmq_meta_t;


/*
 * The reply builder.  Encoders (JSON, raw, RESP in tests, WebSocket
 * frames) implement the ops; the engine calls them through the
 * kvmq_reply_*() helpers in engine.h.  Arrays and maps announce their
 * element count when known, or -1.  A map is written as alternating key
 * and value replies.
 */
typedef struct {
    void  (*status)(kvmq_reply_t *r, const char *s, size_t len);
    void  (*integer)(kvmq_reply_t *r, int64_t v);
    void  (*dbl)(kvmq_reply_t *r, double v);
    void  (*bulk)(kvmq_reply_t *r, const unsigned char *p, size_t len);
    void  (*nil)(kvmq_reply_t *r);
    void  (*array_begin)(kvmq_reply_t *r, long n);
    void  (*array_end)(kvmq_reply_t *r);
    void  (*map_begin)(kvmq_reply_t *r, long n);
    void  (*map_end)(kvmq_reply_t *r);
    void  (*error)(kvmq_reply_t *r, kvmq_err_e err, const char *msg,
              size_t len);
    void  (*meta)(kvmq_reply_t *r, const kvmq_meta_t *meta);  /* or NULL */
} kvmq_reply_ops_t;

struct kvmq_reply_s {
    const kvmq_reply_ops_t  *ops;
    void                    *data;      /* the encoder's own state */
    kvmq_err_e               err;       /* last error replied, or OK */
};


/* per-call context, process-local */
struct kvmq_ctx_s {
    kvmq_db_t              *db;
    const kvmq_alloc_t     *alloc;
    kvmq_reply_t           *reply;
    int64_t                 now_ms;     /* wall clock, ms since epoch */

    /* Content-Type stored by string writes (REST PUT); NULL clears it */
    const kvmq_slice_t     *ctype;

    /* the largest string a command may create (APPEND, SETRANGE ...);
     * past it the command fails with TOOLARGE; 0 = KVMQ_STRING_MAX */
    size_t                  max_value;

    unsigned                readonly:1;  /* refuse write commands */

    /* set by commands that publish (pubsub.h): worker slots the host
     * must wake (bit i = slot i, ORed over a batch), and the channel
     * sequence number of the last message published */
    uint64_t                wake;
    uint64_t                pub_seq;

    /* the connection running the command, set by the door (queue.h):
     * an id unique in the zone (0 = none) and the worker slot holding
     * it; exclusive queues and manual gets belong to it */
    uint64_t                owner;
    unsigned                owner_slot;

    /* blocking pops (t_block.c): block = 1 lets a blocking command park
     * (else it is its non-blocking variant); a parked one is retried
     * with its block_id; blocked, block_id and block_timeout (ms, 0 =
     * forever) tell the door to park; block_count > 0 makes BLPOP/BRPOP
     * reply as LPOP/RPOP key count (the REST pop) */
    unsigned                block:1;
    unsigned                blocked:1;
    uint64_t                block_id;
    int64_t                 block_timeout;
    long long               block_count;

    /* set by kvmq_exec: what is running now */
    const kvmq_cmd_t       *cmd;
    int                     argc;
    const kvmq_slice_t     *argv;
};


/* limits and settings of a db, fixed at creation */
typedef struct {
    kvmq_evict_e            eviction;
    uint64_t                seed;       /* hash seed; 0 = pick one */
} kvmq_db_conf_t;


/*
 * Create a db root in the pool.  Returns NULL when the pool cannot hold
 * even the empty db.
 */
kvmq_db_t *kvmq_db_create(const kvmq_alloc_t *a, const kvmq_db_conf_t *conf);

/*
 * Whether a db root found in a kept zone has this engine's layout (its
 * magic and layout version); a reload must not read another one.
 */
int kvmq_db_compatible(const kvmq_db_t *db);

/* free every key and the root (for hosts that own their pool) */
void kvmq_db_destroy(kvmq_db_t *db, const kvmq_alloc_t *a);

/* a reload may change the eviction policy of a kept zone */
void kvmq_db_set_eviction(kvmq_db_t *db, kvmq_evict_e policy);


/*
 * Look up a command by name, case-insensitively.  NULL if unknown.  The
 * doors use it to check a whole batch before running any of it.
 */
const kvmq_cmd_t *kvmq_cmd_lookup(const unsigned char *name, size_t len);

/* arity check for a looked-up command; argc counts the name */
int kvmq_cmd_arity_ok(const kvmq_cmd_t *cmd, int argc);
int kvmq_cmd_is_write(const kvmq_cmd_t *cmd);

/* BLPOP and the like: the doors may park them (see kvmq_block_cancel) */
int kvmq_cmd_is_blocking(const kvmq_cmd_t *cmd);

/* is argv[i] (of argc) a key of this command? (for kvmq_max_key) */
int kvmq_cmd_key_arg(const kvmq_cmd_t *cmd, int argc, int i);
const char *kvmq_cmd_name(const kvmq_cmd_t *cmd);

/*
 * Run one command (argv[0] is its name).  Unknown commands and arity
 * errors are replied as BADREQ.  Returns the error replied, or KVMQ_OK.
 * The caller holds the db lock.
 */
kvmq_err_e kvmq_exec(kvmq_ctx_t *c, int argc, const kvmq_slice_t *argv);


/*
 * Periodic work, called from a timer in one worker under the lock: active
 * expiry of volatile keys and a step of incremental rehash, bounded by
 * both a key count and a time budget.  Returns the number of keys
 * expired.
 */
unsigned kvmq_db_cron(kvmq_ctx_t *c, unsigned max_keys, int64_t budget_us);


/* statistics for /stats and INFO */
typedef struct {
    uint64_t    keys;
    uint64_t    volatile_keys;          /* keys with a TTL */
    uint64_t    expired;
    uint64_t    evicted;
    uint64_t    hits;
    uint64_t    misses;
    uint64_t    commands;               /* total executed */
    uint64_t    buckets;                /* hash table size(s) */
    int         rehashing;
} kvmq_stats_t;

void kvmq_db_stats(kvmq_db_t *db, kvmq_stats_t *st);

/*
 * Blocks of deleted big values still waiting to be freed by the cron
 * (lazyfree.c); a host may run the cron more often while this is not 0.
 */
uint64_t kvmq_db_lazyfree_pending(kvmq_db_t *db);

/*
 * Bumped whenever a list or sorted set gets items: a door holding
 * blocked pops compares it after each batch to know when to retry them.
 */
uint64_t kvmq_db_ready_seq(kvmq_db_t *db);

/*
 * A parked blocking command whose client went away or timed out: drop
 * its waiter records (c->wake tells whom to wake in its place).  A
 * worker starting in a slot drops what the slot's previous holder left.
 */
void kvmq_block_cancel(kvmq_ctx_t *c, uint64_t id);
void kvmq_block_slot_reset(kvmq_ctx_t *c, unsigned slot);

/* how many times the waiters of a slot were woken (under the lock) */
uint64_t kvmq_block_wakes(kvmq_db_t *db, unsigned slot);

/* per-command call counters: call fn for each command run at least once */
void kvmq_db_command_stats(kvmq_db_t *db,
    void (*fn)(void *arg, const char *name, uint64_t calls), void *arg);

#endif /* KVMQ_H */
