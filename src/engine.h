/*
 * What the command files of the engine share: the keyspace entry, value
 * types, the db root, lookups that apply lazy expiry, the eviction-aware
 * allocator, reply helpers and argument parsing.
 *
 * Rules every command follows:
 *
 *   - Check everything (types, arity, numbers, options) before changing
 *     anything.  Allocate everything a write needs before linking any of
 *     it in, so that NOMEM leaves the db exactly as it was.
 *   - Reply exactly once per command (one value, possibly an array).
 *   - kvmq_zalloc() may evict other keys to make room; it never evicts a
 *     key named in the running command's argv, so entries a command has
 *     looked up stay valid across its allocations.
 */

#ifndef KVMQ_ENGINE_H
#define KVMQ_ENGINE_H

#include <stdarg.h>
#include <string.h>

#include "kvmq.h"


#define kvmq_slice(s)  { (const unsigned char *) (s), sizeof(s) - 1 }

/* value types; stored as tags in entries, never as pointers to code */
typedef enum {
    KVMQ_TYPE_STRING = 0,
    KVMQ_TYPE_HASH,
    KVMQ_TYPE_LIST,
    KVMQ_TYPE_SET,
    KVMQ_TYPE_ZSET,
    KVMQ_TYPE_LAST,

    /* not a key type: a chain of queue entries freed lazily (queue.c) */
    KVMQ_TYPE_QCHAIN
} kvmq_type_e;


/*
 * A keyspace entry: one slab block holding the key bytes inline (from
 * offsetof(key), not sizeof: no padding).  The keyspace table (htable.c)
 * chains entries through "node"; "val" points at the type's value
 * object.  expire is absolute ms since epoch, 0 for none.  cas changes on
 * every write to the key (memcached gets/cas, HTTP ETag).  lru is the
 * LRU clock (s) for LRU policies, or the LFU decay time (min) with lfu as
 * the logarithmic counter.
 */
typedef struct kvmq_entry_s  kvmq_entry_t;
typedef struct kvmq_hnode_s  kvmq_hnode_t;

/* the chain link of the intrusive hash tables (htable.h) */
struct kvmq_hnode_s {
    kvmq_hnode_t       *next;
};

struct kvmq_entry_s {
    kvmq_hnode_t        node;       /* first: the keyspace table's link */
    void               *val;
    int64_t             expire;
    uint64_t            cas;
    uint32_t            lru;
    uint32_t            klen;
    uint8_t             type;
    uint8_t             encoding;
    uint8_t             lfu;
    unsigned char       key[];
};


/*
 * A string value.  The Content-Type given by a REST PUT, if any, is kept
 * in the same block after the data (at data + cap).
 */
typedef struct {
    uint32_t            len;
    uint32_t            cap;
    uint16_t            ctlen;
    unsigned char       data[];
} kvmq_string_t;

#define KVMQ_STRING_MAX   (512u * 1024 * 1024)


/* command flags */
#define KVMQ_CMD_WRITE     0x01    /* changes data */
#define KVMQ_CMD_READONLY  0x02    /* only reads */
#define KVMQ_CMD_DENYOOM   0x04    /* may allocate: evict first if needed */
#define KVMQ_CMD_ADMIN     0x08    /* FLUSHALL, SAVE ... */
#define KVMQ_CMD_FAST      0x10
#define KVMQ_CMD_BLOCKING  0x20    /* may park the request (t_block.c) */

typedef void (*kvmq_cmd_pt)(kvmq_ctx_t *c, int argc, const kvmq_slice_t *argv);

struct kvmq_cmd_s {
    const char         *name;
    kvmq_cmd_pt         proc;
    int                 arity;      /* > 0 exact argc, < 0 at least -arity */
    unsigned            flags;
    int                 first_key;  /* 0 = no keys */
    int                 last_key;   /* -1 = last argument, -2 = ... */
    int                 key_step;
};


/* ---- db ---------------------------------------------------------------- */

/*
 * Lookups apply lazy expiry: an expired key is deleted and reported as
 * absent.  _read counts a hit or miss and refreshes LRU/LFU; _write only
 * expires.  Both return NULL when the key is absent.
 */
kvmq_entry_t *kvmq_lookup_read(kvmq_ctx_t *c, const kvmq_slice_t *key);
kvmq_entry_t *kvmq_lookup_write(kvmq_ctx_t *c, const kvmq_slice_t *key);

/*
 * Link a new key holding val (of type).  The key must be absent.  Returns
 * NULL on NOMEM; val then still belongs to the caller.
 */
kvmq_entry_t *kvmq_db_add(kvmq_ctx_t *c, const kvmq_slice_t *key,
    kvmq_type_e type, void *val);

/* replace the value of a key (the old value is freed); keeps the TTL */
void kvmq_db_replace(kvmq_ctx_t *c, kvmq_entry_t *e, kvmq_type_e type,
    void *val);

/* unlink and free a key and its value */
void kvmq_db_delete(kvmq_ctx_t *c, kvmq_entry_t *e);

/*
 * Rename: move e's value and TTL under a new key name, replacing the
 * value of the target if it exists (then nothing is allocated).  The
 * names must differ.  Returns the entry now holding the value, or NULL
 * on NOMEM with nothing changed.
 */
kvmq_entry_t *kvmq_db_rename(kvmq_ctx_t *c, kvmq_entry_t *e,
    const kvmq_slice_t *newkey);

/* absolute expiry in ms since epoch; 0 removes it */
void kvmq_db_set_expire(kvmq_ctx_t *c, kvmq_entry_t *e, int64_t when_ms);

/* a key changed: new cas (and, later, keyspace notifications) */
void kvmq_db_touch_write(kvmq_ctx_t *c, kvmq_entry_t *e);

/* remaining ms, or -1 when the key has no expiry */
int64_t kvmq_db_pttl(kvmq_ctx_t *c, kvmq_entry_t *e);

/* drop every key; big values go to the lazy-free queue (lazyfree.c) */
void kvmq_db_flush(kvmq_ctx_t *c);

uint64_t kvmq_db_size(kvmq_db_t *db);

/* a random live key, or NULL when empty (expired ones are reaped) */
kvmq_entry_t *kvmq_db_random(kvmq_ctx_t *c);

/*
 * SCAN over the keyspace with the Redis cursor guarantee: a key present
 * for the whole scan is returned at least once, also across a rehash.
 * Calls fn for each entry of at least "count" buckets' worth; returns the
 * next cursor (0 = done).  fn must not change the db.
 */
uint64_t kvmq_db_scan(kvmq_ctx_t *c, uint64_t cursor, unsigned count,
    void (*fn)(void *arg, kvmq_entry_t *e), void *arg);

kvmq_slice_t kvmq_entry_key(const kvmq_entry_t *e);
int kvmq_entry_expired(kvmq_ctx_t *c, const kvmq_entry_t *e);


/* ---- memory ------------------------------------------------------------ */

/*
 * Allocate from the zone; on a full pool evict keys (per policy, never a
 * key of the running command) and retry.  NULL means NOMEM.
 */
void *kvmq_zalloc(kvmq_ctx_t *c, size_t size);
void kvmq_zfree(kvmq_ctx_t *c, void *p);


/* ---- values ------------------------------------------------------------ */

const char *kvmq_type_name(kvmq_type_e type);
void kvmq_value_free(kvmq_ctx_t *c, kvmq_type_e type, void *val);

/* an approximate byte size of a value, for MEMORY-style stats */
size_t kvmq_value_size(kvmq_type_e type, const void *val);

/*
 * Strings.  kvmq_string_new copies data and stores c->ctype (if any);
 * NULL on NOMEM.  kvmq_string_resize returns a string with room for
 * newlen bytes (may move it; the old one is freed on success only).
 */
kvmq_string_t *kvmq_string_new(kvmq_ctx_t *c, const unsigned char *data,
    size_t len, size_t cap);
void kvmq_string_free(kvmq_ctx_t *c, kvmq_string_t *s);
kvmq_slice_t kvmq_string_ctype(const kvmq_string_t *s);
kvmq_string_t *kvmq_string_resize(kvmq_ctx_t *c, kvmq_string_t *s,
    size_t newlen);


/* ---- replies ----------------------------------------------------------- */

void kvmq_reply_ok(kvmq_ctx_t *c);
void kvmq_reply_status(kvmq_ctx_t *c, const char *s);
void kvmq_reply_int(kvmq_ctx_t *c, int64_t v);
void kvmq_reply_double(kvmq_ctx_t *c, double v);
void kvmq_reply_bulk(kvmq_ctx_t *c, const void *p, size_t len);
void kvmq_reply_cstr(kvmq_ctx_t *c, const char *s);
void kvmq_reply_nil(kvmq_ctx_t *c);
void kvmq_reply_array(kvmq_ctx_t *c, long n);
void kvmq_reply_array_end(kvmq_ctx_t *c);
void kvmq_reply_map(kvmq_ctx_t *c, long n);
void kvmq_reply_map_end(kvmq_ctx_t *c);
void kvmq_reply_meta(kvmq_ctx_t *c, const kvmq_meta_t *meta);
void kvmq_reply_error(kvmq_ctx_t *c, kvmq_err_e err, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* the common errors, worded as Redis words them */
void kvmq_reply_wrongtype(kvmq_ctx_t *c);        /* WRONGTYPE */
void kvmq_reply_nomem(kvmq_ctx_t *c);            /* NOMEM */
void kvmq_reply_syntax(kvmq_ctx_t *c);           /* BADREQ syntax error */
void kvmq_reply_not_int(kvmq_ctx_t *c);          /* BADREQ not an integer */
void kvmq_reply_not_float(kvmq_ctx_t *c);        /* BADREQ not a float */
void kvmq_reply_arity(kvmq_ctx_t *c);            /* BADREQ wrong arity */


/* ---- arguments and numbers (util.c) ------------------------------------ */

/* case-insensitive compare of an argument with a literal */
int kvmq_arg_is(const kvmq_slice_t *a, const char *lit);

/*
 * Strict conversions as Redis does them: the whole string, no spaces, no
 * leading '+' or zeros for integers.  Return 0 on success, -1 otherwise.
 */
int kvmq_str2ll(const unsigned char *p, size_t len, long long *v);
int kvmq_str2ld(const unsigned char *p, size_t len, long double *v);
int kvmq_str2d(const unsigned char *p, size_t len, double *v);

/*
 * The same, replying the error (not an integer / not a float) on
 * failure, for command argument parsing.
 */
int kvmq_arg_ll(kvmq_ctx_t *c, const kvmq_slice_t *a, long long *v);
int kvmq_arg_ld(kvmq_ctx_t *c, const kvmq_slice_t *a, long double *v);
int kvmq_arg_d(kvmq_ctx_t *c, const kvmq_slice_t *a, double *v);

/*
 * Formatting; buf needs KVMQ_NUMBUF bytes (KVMQ_LDBUF for kvmq_ld2str,
 * whose fixed-point form of a huge long double has thousands of digits,
 * as Redis prints it); return the length.
 */
#define KVMQ_NUMBUF  128
#define KVMQ_LDBUF   (5 * 1024)
size_t kvmq_ll2str(char *buf, long long v);
size_t kvmq_ld2str(char *buf, long double v);    /* INCRBYFLOAT style */
size_t kvmq_d2str(char *buf, double v);          /* scores: %.17g style */

/* Redis stringmatchlen(): glob with * ? [a-z] [^a] and \ escapes */
int kvmq_glob_match(const unsigned char *pat, size_t plen,
    const unsigned char *s, size_t slen, int nocase);

uint64_t kvmq_hash(const void *p, size_t len, uint64_t seed);
uint64_t kvmq_random(kvmq_db_t *db);

#endif /* KVMQ_ENGINE_H */
