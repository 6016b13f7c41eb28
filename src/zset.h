/*
 * The sorted-set value: a packed array for small sets, a skiplist plus a
 * hash table for big ones.  Structure, costs and invariants are in
 * zskiplist.c; the commands are in t_zset.c, t_zrange.c and t_zstore.c.
 */

#ifndef KVMQ_ZSET_H
#define KVMQ_ZSET_H

#include "htable.h"
#include "listpack.h"


#define KVMQ_ZSET_PACKED               1
#define KVMQ_ZSET_SKIPLIST             2

/* Redis' zset-max-listpack-entries and zset-max-listpack-value */
#define KVMQ_ZSET_MAX_PACKED_ENTRIES   128
#define KVMQ_ZSET_MAX_PACKED_VALUE     64

#define KVMQ_ZSL_MAXLEVEL              32

/* a skiplist member longer than this does not fit the node's length */
#define KVMQ_ZSET_MEMBER_MAX           ((1u << 27) - 1)


/* the packed encoding: one block, member and score entries alternating */
typedef struct {
    uint8_t             enc;        /* KVMQ_ZSET_PACKED */
    uint8_t             pad[3];
    uint32_t            count;      /* members */
    uint32_t            used;       /* bytes of data in use */
    uint32_t            cap;
    unsigned char       data[];
} kvmq_zpack_t;


typedef struct kvmq_zsl_node_s  kvmq_zsl_node_t;

/*
 * A skiplist node, one block: the header, then "level" forward pointers,
 * then the spans of levels 2 and up (uint32 each), then the member.  The
 * span of level 0 is always 1 and is not stored; the span of level 1 is
 * in the header.  See zskiplist.c for the size classes this fits.
 */
struct kvmq_zsl_node_s {
    kvmq_hnode_t        hnode;      /* the hash chain: first */
    double              score;
    kvmq_zsl_node_t    *backward;
    uint32_t            lm;         /* level - 1 (5 bits), member length */
    uint32_t            span1;
    kvmq_zsl_node_t    *forward[];
};

/* the skiplist encoding */
typedef struct {
    uint8_t             enc;        /* KVMQ_ZSET_SKIPLIST */
    uint8_t             level;      /* levels in use, 1 .. MAXLEVEL */
    uint8_t             pad[6];
    uint64_t            length;
    kvmq_zsl_node_t    *head;       /* a node of MAXLEVEL, no member */
    kvmq_zsl_node_t    *tail;
    kvmq_htable_t       ht;
} kvmq_zset_t;


/* a member and its score, the interchange form between encodings */
typedef struct {
    const unsigned char  *m;
    size_t                len;
    double                score;
} kvmq_zitem_t;


/* score and lex range specifications */
typedef struct {
    double              min;
    double              max;
    int                 minex;
    int                 maxex;
} kvmq_zrange_t;

typedef struct {
    kvmq_slice_t        min;
    kvmq_slice_t        max;
    int                 mininf;     /* -1: "-", 1: "+", 0: a string */
    int                 maxinf;
    int                 minex;
    int                 maxex;
} kvmq_zlex_t;


/* ---- the value --------------------------------------------------------- */

int kvmq_zset_enc(const void *z);
uint64_t kvmq_zset_length(const void *z);
uint64_t kvmq_zset_blocks(const void *z);
size_t kvmq_zset_bytes(const void *z);
void kvmq_zset_free(kvmq_ctx_t *c, void *z);
int kvmq_zset_free_some(kvmq_ctx_t *c, void *z, unsigned *budget);

/* the encoding a set of n members, the longest maxlen bytes, gets */
int kvmq_zset_pick(uint64_t n, size_t maxlen);

/* order of items: by score, then member bytes */
int kvmq_zitem_cmp(const kvmq_zitem_t *a, const kvmq_zitem_t *b);
int kvmq_zitem_qsort_cmp(const void *a, const void *b);
int kvmq_zset_member_cmp(const unsigned char *a, size_t alen,
    const unsigned char *b, size_t blen);

/*
 * Build a value of encoding enc from n items sorted and unique.  For the
 * packed encoding "into" may be a packed block to write in place when
 * the items fit its capacity.  NULL on NOMEM (nothing changed).
 */
void *kvmq_zset_build(kvmq_ctx_t *c, const kvmq_zitem_t *items, size_t n,
    int enc, kvmq_zpack_t *into);

/*
 * The conversion between the encodings: a new value of the other
 * encoding with the same members; z itself is left to the caller.
 * NULL on NOMEM.
 */
void *kvmq_zset_convert(kvmq_ctx_t *c, const void *z, int enc);

/* ---- packed ------------------------------------------------------------ */

/* decode all members of a packed set, in order (count items) */
void kvmq_zpack_items(const kvmq_zpack_t *zp, kvmq_zitem_t *items);

/* delete n members from index "from" in place */
void kvmq_zpack_delete(kvmq_zpack_t *zp, uint32_t from, uint32_t n);

/* ---- skiplist ---------------------------------------------------------- */

kvmq_slice_t kvmq_zsl_member(const kvmq_zsl_node_t *x);
unsigned kvmq_zsl_level(const kvmq_zsl_node_t *x);

/* a node for member (its level drawn at random), not linked; NULL NOMEM */
kvmq_zsl_node_t *kvmq_zsl_node_new(kvmq_ctx_t *c, const void *m,
    size_t len);

/* an empty skiplist set sized for about hint members; NULL on NOMEM */
kvmq_zset_t *kvmq_zsl_create(kvmq_ctx_t *c, uint64_t hint);

kvmq_zsl_node_t *kvmq_zsl_find(kvmq_ctx_t *c, kvmq_zset_t *z,
    const void *m, size_t len);

/* link a new node (never fails), unlink and free one, move one */
void kvmq_zsl_insert(kvmq_ctx_t *c, kvmq_zset_t *z, kvmq_zsl_node_t *x,
    double score);
void kvmq_zsl_delete(kvmq_ctx_t *c, kvmq_zset_t *z, kvmq_zsl_node_t *x);
void kvmq_zsl_update(kvmq_zset_t *z, kvmq_zsl_node_t *x, double score);

/* 1-based rank of a linked node; the node of a 1-based rank */
uint64_t kvmq_zsl_rank(const kvmq_zset_t *z, const kvmq_zsl_node_t *x);
kvmq_zsl_node_t *kvmq_zsl_by_rank(const kvmq_zset_t *z, uint64_t rank);

/* first and last node in a range, or NULL */
kvmq_zsl_node_t *kvmq_zsl_first_in_range(const kvmq_zset_t *z,
    const kvmq_zrange_t *r);
kvmq_zsl_node_t *kvmq_zsl_last_in_range(const kvmq_zset_t *z,
    const kvmq_zrange_t *r);
kvmq_zsl_node_t *kvmq_zsl_first_in_lex(const kvmq_zset_t *z,
    const kvmq_zlex_t *r);
kvmq_zsl_node_t *kvmq_zsl_last_in_lex(const kvmq_zset_t *z,
    const kvmq_zlex_t *r);

/*
 * Delete a range, as Redis' zslDeleteRangeBy*: ranks start..end
 * (1-based, inclusive), or the score or lex range.  Returns the count.
 */
#define KVMQ_ZDEL_RANK   0
#define KVMQ_ZDEL_SCORE  1
#define KVMQ_ZDEL_LEX    2

uint64_t kvmq_zsl_delete_range(kvmq_ctx_t *c, kvmq_zset_t *z, int kind,
    const void *spec, uint64_t start, uint64_t end);

/* ---- ranges (shared by both encodings) --------------------------------- */

int kvmq_zrange_gte_min(double v, const kvmq_zrange_t *r);
int kvmq_zrange_lte_max(double v, const kvmq_zrange_t *r);
int kvmq_zrange_empty(const kvmq_zrange_t *r);
int kvmq_zlex_gte_min(const unsigned char *m, size_t len,
    const kvmq_zlex_t *r);
int kvmq_zlex_lte_max(const unsigned char *m, size_t len,
    const kvmq_zlex_t *r);
int kvmq_zlex_empty(const kvmq_zlex_t *r);

/* Redis' zzl*In*Range over the items of a packed set: an index, or -1 */
long kvmq_zitems_first_in_range(const kvmq_zitem_t *it, size_t n,
    const kvmq_zrange_t *r);
long kvmq_zitems_last_in_range(const kvmq_zitem_t *it, size_t n,
    const kvmq_zrange_t *r);
long kvmq_zitems_first_in_lex(const kvmq_zitem_t *it, size_t n,
    const kvmq_zlex_t *r);
long kvmq_zitems_last_in_lex(const kvmq_zitem_t *it, size_t n,
    const kvmq_zlex_t *r);

/* ---- helpers of the commands (t_zrange.c) ----------------------------- */

/* 0 with *e set (NULL when absent), or -1 after replying WRONGTYPE */
int kvmq_zset_lookup(kvmq_ctx_t *c, const kvmq_slice_t *key, int write,
    kvmq_entry_t **e);

/* Redis' zslParseRange and zslParseLexRange: 0, or -1 (nothing replied) */
int kvmq_zset_parse_range(const kvmq_slice_t *min, const kvmq_slice_t *max,
    kvmq_zrange_t *r);
int kvmq_zset_parse_lex(const kvmq_slice_t *min, const kvmq_slice_t *max,
    kvmq_zlex_t *r);

/* the score of a member: 0, or -1 when it is not in the set */
int kvmq_zset_score(kvmq_ctx_t *c, void *z, const kvmq_slice_t *m,
    double *score);

/* a member, or a [member, score] pair */
void kvmq_zset_reply_item(kvmq_ctx_t *c, const unsigned char *m, size_t len,
    double score, int withscores);

#endif /* KVMQ_ZSET_H */
