/*
 * What the hash and set types (t_hash.c, t_set.c) share: the packed
 * block (pack.c), the intset (intset.c), the big encoding's table and
 * its nodes, per-command scratch structures in process memory and SCAN
 * argument parsing (aggr.c), and the type API that object.c and
 * lazyfree.c call.
 *
 * Every hash and set value block starts with one byte naming its
 * encoding (KVMQ_ENC_*), so a value can be freed, measured or walked
 * from its pointer alone: entries do not carry the encoding, and
 * nothing in the zone points at code.
 */

#ifndef KVMQ_AGGR_H
#define KVMQ_AGGR_H

#include <stddef.h>

#include "engine.h"
#include "htable.h"
#include "listpack.h"


#define KVMQ_ENC_PACK        1     /* kvmq_pack_t */
#define KVMQ_ENC_INTSET      2     /* kvmq_intset_t (sets only) */
#define KVMQ_ENC_TABLE       3     /* kvmq_aggr_table_t */

#define kvmq_aggr_enc(val)   (*(const uint8_t *) (val))

/* the longest decimal int64, "-9223372036854775808" */
#define KVMQ_INT_DIGITS      20


/* ---- packed block (pack.c) --------------------------------------------- */

/*
 * A run of listpack entries (listpack.h) in one block.  A string that
 * is the canonical text of an int64 is always stored as an integer
 * entry and every other string as a string entry, so equal strings have
 * equal entries and a lookup parses its needle once.
 */
typedef struct {
    uint8_t              enc;          /* KVMQ_ENC_PACK */
    uint8_t              pad[3];
    uint32_t             count;        /* entries */
    uint32_t             used;         /* bytes of data in use */
    uint32_t             cap;          /* bytes of data the block has */
    unsigned char        data[];
} kvmq_pack_t;

#define KVMQ_PACK_HDR        offsetof(kvmq_pack_t, data)
#define KVMQ_PACK_NONE       UINT32_MAX

/* a string looked for: parsed once */
typedef struct {
    const unsigned char *data;
    size_t               len;
    long long            ll;
    int                  isint;
} kvmq_needle_t;

int kvmq_str_isint(const void *s, size_t len, long long *v);
void kvmq_needle_init(kvmq_needle_t *nd, const void *s, size_t len);

size_t kvmq_pack_entry_size(const void *s, size_t len);
size_t kvmq_pack_put(unsigned char *p, const void *s, size_t len);

kvmq_pack_t *kvmq_pack_new(kvmq_ctx_t *c, size_t need);
void kvmq_pack_free(kvmq_ctx_t *c, kvmq_pack_t *pk);

/* room for need bytes of data: pk itself, or a copy (pk freed); NULL on
 * NOMEM with pk untouched */
kvmq_pack_t *kvmq_pack_reserve(kvmq_ctx_t *c, kvmq_pack_t *pk, size_t need);

/* a smaller copy when most of the block is unused (never evicts) */
kvmq_pack_t *kvmq_pack_shrink(kvmq_ctx_t *c, kvmq_pack_t *pk);

/* walking: offsets; KVMQ_PACK_NONE past the end */
uint32_t kvmq_pack_next(const kvmq_pack_t *pk, uint32_t off);
uint32_t kvmq_pack_seek(const kvmq_pack_t *pk, uint32_t index);

/* the entry's bytes; an integer is formatted into buf (KVMQ_NUMBUF) */
kvmq_slice_t kvmq_pack_get(const kvmq_pack_t *pk, uint32_t off, char *buf);

/* the entry equal to nd, looking at every (skip + 1)th entry from off */
uint32_t kvmq_pack_find(const kvmq_pack_t *pk, uint32_t off, unsigned skip,
    const kvmq_needle_t *nd);

/* in place; the caller has reserved the room */
void kvmq_pack_insert(kvmq_pack_t *pk, uint32_t off, const void *s,
    size_t len);
void kvmq_pack_replace(kvmq_pack_t *pk, uint32_t off, const void *s,
    size_t len);
void kvmq_pack_delete(kvmq_pack_t *pk, uint32_t off, uint32_t n);


/* ---- intset (intset.c) ------------------------------------------------- */

typedef struct {
    uint8_t              enc;          /* KVMQ_ENC_INTSET */
    uint8_t              width;        /* bytes per value: 2, 4 or 8 */
    uint16_t             pad;
    uint32_t             count;
    uint32_t             cap;          /* values the block holds */
    unsigned char        data[];
} kvmq_intset_t;

#define KVMQ_INTSET_HDR      offsetof(kvmq_intset_t, data)

kvmq_intset_t *kvmq_intset_new(kvmq_ctx_t *c, unsigned width, size_t n);
void kvmq_intset_free(kvmq_ctx_t *c, kvmq_intset_t *is);
unsigned kvmq_intset_width(int64_t v);
int64_t kvmq_intset_get(const kvmq_intset_t *is, uint32_t i);
void kvmq_intset_set(kvmq_intset_t *is, uint32_t i, int64_t v);

/* 1 and its index when v is in is; 0 and where it would go otherwise */
int kvmq_intset_find(const kvmq_intset_t *is, int64_t v, uint32_t *pos);

/*
 * Add n values, sorted, distinct and all absent from is: is itself when
 * they fit, else a new block (is freed).  NULL on NOMEM, is untouched.
 */
kvmq_intset_t *kvmq_intset_add(kvmq_ctx_t *c, kvmq_intset_t *is,
    const int64_t *v, size_t n);
void kvmq_intset_remove(kvmq_intset_t *is, uint32_t pos);
kvmq_intset_t *kvmq_intset_shrink(kvmq_ctx_t *c, kvmq_intset_t *is);


/* ---- the big encoding: a table of nodes (aggr.c) ----------------------- */

/*
 * A node is one block: the table's link, the key as a string entry,
 * and for hashes the value as an entry (string or integer):
 *
 *     [ next ][ key entry ][ value entry ]
 *
 * A 16-byte set member is a 25-byte node, a 16-byte field with an
 * 8-byte value a 34-byte one: they fit the 32 and 64 byte slab classes.
 */
typedef struct {
    uint8_t              enc;          /* KVMQ_ENC_TABLE */
    uint8_t              values;       /* nodes hold values (a hash) */
    uint8_t              freeing;      /* nodes freed, buckets left */
    uint8_t              pad[5];
    uint64_t             cursor;       /* progress of a bounded free */
    kvmq_htable_t        ht;
} kvmq_aggr_table_t;

extern const kvmq_htype_t  kvmq_aggr_htype;

kvmq_aggr_table_t *kvmq_aggr_table_new(kvmq_ctx_t *c, uint64_t hint,
    int values);
void kvmq_aggr_table_free(kvmq_ctx_t *c, kvmq_aggr_table_t *t);
int kvmq_aggr_table_free_some(kvmq_ctx_t *c, kvmq_aggr_table_t *t,
    unsigned *budget);
uint64_t kvmq_aggr_table_blocks(const kvmq_aggr_table_t *t);
size_t kvmq_aggr_table_bytes(const kvmq_aggr_table_t *t);

/* a node with key k and, when v is not NULL, a value; NULL on NOMEM */
kvmq_hnode_t *kvmq_aggr_node_new(kvmq_ctx_t *c, const kvmq_slice_t *k,
    const kvmq_slice_t *v);
kvmq_slice_t kvmq_aggr_node_key(const kvmq_hnode_t *n);
kvmq_slice_t kvmq_aggr_node_val(const kvmq_hnode_t *n, char *buf);
size_t kvmq_aggr_node_val_size(const kvmq_hnode_t *n);
void kvmq_aggr_node_val_put(kvmq_hnode_t *n, const kvmq_slice_t *v);
size_t kvmq_aggr_node_size(const kvmq_hnode_t *n, int values);

kvmq_hnode_t *kvmq_aggr_find(kvmq_ctx_t *c, kvmq_aggr_table_t *t,
    const void *key, size_t len);

/*
 * Link nodes[0..n-1] (keys absent, or present in an old node that the
 * caller unlinks afterwards).  All or nothing: -1 on NOMEM with none of
 * them linked.
 */
int kvmq_aggr_link(kvmq_ctx_t *c, kvmq_aggr_table_t *t, kvmq_hnode_t **nodes,
    size_t n);
void kvmq_aggr_unlink(kvmq_ctx_t *c, kvmq_aggr_table_t *t, kvmq_hnode_t *n);

/* every node, in table order; fn must not change the table */
void kvmq_aggr_each(kvmq_aggr_table_t *t,
    void (*fn)(void *arg, kvmq_hnode_t *n), void *arg);


/* ---- scratch in process memory (aggr.c) -------------------------------- */

/*
 * A map from byte strings to a number, of a capacity fixed at init, for
 * one command: duplicate arguments, SUNION, distinct random samples.
 * The strings are not copied.
 */
typedef struct {
    const unsigned char *p;
    size_t               len;
    uint64_t             val;
    uint64_t             used;
} kvmq_smap_slot_t;

#define KVMQ_SMAP_STACK      64

typedef struct {
    kvmq_smap_slot_t    *slots;
    size_t               mask;
    uint64_t             seed;
    kvmq_smap_slot_t     stack[KVMQ_SMAP_STACK];
} kvmq_smap_t;

int kvmq_smap_init(kvmq_smap_t *m, size_t n, uint64_t seed);
kvmq_smap_slot_t *kvmq_smap_put(kvmq_smap_t *m, const void *p, size_t len,
    int *found);
void kvmq_smap_free(kvmq_smap_t *m);

/* a growing array of slices, with an arena for bytes that need a copy */
typedef struct kvmq_chunk_s  kvmq_chunk_t;

#define KVMQ_SVEC_STACK      32

typedef struct {
    kvmq_slice_t        *v;
    size_t               n;
    size_t               cap;
    int                  nomem;
    kvmq_chunk_t        *chunks;
    unsigned char       *pos;          /* free room in the last chunk */
    size_t               left;
    kvmq_slice_t         stack[KVMQ_SVEC_STACK];
} kvmq_svec_t;

/* a growing array of pointers (nodes, entry offsets) */
#define KVMQ_PVEC_STACK      64

typedef struct {
    void               **v;
    size_t               n;
    size_t               cap;
    int                  nomem;
    void                *stack[KVMQ_PVEC_STACK];
} kvmq_pvec_t;

void kvmq_pvec_init(kvmq_pvec_t *pv);
int kvmq_pvec_reserve(kvmq_pvec_t *pv, size_t n);
void kvmq_pvec_push(kvmq_pvec_t *pv, void *p);
void kvmq_pvec_free(kvmq_pvec_t *pv);

void kvmq_svec_init(kvmq_svec_t *sv);
void kvmq_svec_push(kvmq_svec_t *sv, const void *p, size_t len, int copy);
void kvmq_svec_free(kvmq_svec_t *sv);


/* ---- arguments --------------------------------------------------------- */

typedef struct {
    uint64_t             cursor;
    unsigned             count;
    const kvmq_slice_t  *pattern;      /* NULL: everything */
} kvmq_scan_args_t;

/* the cursor as Redis reads it (strtoull); replies "invalid cursor" */
int kvmq_scan_cursor(kvmq_ctx_t *c, const kvmq_slice_t *a, uint64_t *cur);

/* MATCH and COUNT from argv[first..]; replies the error */
int kvmq_scan_options(kvmq_ctx_t *c, int argc, const kvmq_slice_t *argv,
    int first, kvmq_scan_args_t *sa);
int kvmq_scan_match(const kvmq_scan_args_t *sa, const kvmq_slice_t *s);
void kvmq_reply_cursor(kvmq_ctx_t *c, uint64_t cursor);

/*
 * The count of SRANDMEMBER and HRANDFIELD, in -LLONG_MAX..LLONG_MAX;
 * replies the error.  Then, after the other arguments are checked,
 * kvmq_rand_count_ok(): with pairs (WITHVALUES) Redis refuses counts
 * whose reply length would overflow, and kvmq refuses negative counts
 * (repetitions allowed) past KVMQ_RAND_MAX: Redis 7.0 tries to build
 * such a reply and dies for lack of memory.
 */
#define KVMQ_RAND_MAX        (1LL << 24)

int kvmq_arg_rand_count(kvmq_ctx_t *c, const kvmq_slice_t *a,
    long long *count);
int kvmq_rand_count_ok(kvmq_ctx_t *c, long long count, int pairs);

/* a uniform random number below n (n > 0) */
uint64_t kvmq_aggr_random(kvmq_ctx_t *c, uint64_t n);


/* ---- the type API (t_hash.c, t_set.c) ---------------------------------- */

/*
 * Free a value at once, or at most *budget blocks of it per call (each
 * freed block takes one from *budget): 1 when the value is gone.  A
 * partly freed value can only be given to free_some again.  _blocks()
 * tells what freeing a value costs, _bytes() about what it holds.
 */
void kvmq_hash_free(kvmq_ctx_t *c, void *val);
int kvmq_hash_free_some(kvmq_ctx_t *c, void *val, unsigned *budget);
uint64_t kvmq_hash_blocks(const void *val);
size_t kvmq_hash_bytes(const void *val);
uint64_t kvmq_hash_len(const void *val);

void kvmq_set_free(kvmq_ctx_t *c, void *val);
int kvmq_set_free_some(kvmq_ctx_t *c, void *val, unsigned *budget);
uint64_t kvmq_set_blocks(const void *val);
size_t kvmq_set_bytes(const void *val);
uint64_t kvmq_set_card(const void *val);


/* ---- the set type inside, for t_setops.c -------------------------------- */

/* each member; copy: the bytes are in a buffer the next member reuses */
typedef void (*kvmq_set_fn)(void *arg, const kvmq_slice_t *m, int copy);

/* NULL when absent; -1 (WRONGTYPE replied) for another type */
int kvmq_set_lookup(kvmq_ctx_t *c, const kvmq_slice_t *key, int write,
    kvmq_entry_t **e);
int kvmq_set_has(kvmq_ctx_t *c, void *val, const kvmq_slice_t *m);
void kvmq_set_each(void *val, kvmq_set_fn fn, void *arg);

/* the encoding for card members (cur: the current one, or 0) */
unsigned kvmq_set_pick(unsigned cur, uint64_t card, int allint,
    size_t maxlen);

/* the one conversion: see t_set.c */
void *kvmq_set_convert(kvmq_ctx_t *c, void *old, unsigned enc,
    const kvmq_slice_t *add, size_t n);

#endif /* KVMQ_AGGR_H */
