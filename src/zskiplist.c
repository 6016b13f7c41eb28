/*
 * The sorted-set value: its two encodings and the conversion between
 * them.  The commands are in t_zset.c (writes), t_zrange.c (reads) and
 * t_zstore.c (the *STORE commands).
 *
 * Packed.  A set of at most KVMQ_ZSET_MAX_PACKED_ENTRIES (128) members
 * of at most KVMQ_ZSET_MAX_PACKED_VALUE (64) bytes, Redis' defaults, is
 * one block: a 16-byte header and the entries of listpack.h, member then
 * score, sorted by score and then member bytes.  A score that is an
 * integer below 2^62 is stored as an integer entry (1 to 9 bytes), any
 * other as an 8-byte double (Redis' double2ll() rule, by which a packed
 * -0 becomes 0).  Every operation is a linear walk of at
 * most 128 pairs; writes rebuild the pairs in process memory and write
 * them back into the block, which is reused while its slab size class
 * holds them (ngx_slab has no realloc: a bigger block is a copy).
 *
 * Skiplist.  Past either threshold the set becomes a skiplist (William
 * Pugh's, with Redis' spans for O(log N) rank, p = 1/4, at most 32
 * levels) plus a hash table from member to node, both over the same
 * nodes: the table is the intrusive one of htable.c, its chain link the
 * node's first field, so a member is one block and one bucket slot.
 *
 * The node is laid out to fit ngx_slab's power-of-two classes:
 *
 *     hnext | score | backward | level-1:5 member-length:27 | span1
 *     forward[level] | span[level - 2] (uint32) | member bytes
 *
 * The span of level 0 is always 1 and is not stored, spans are 32 bits,
 * and the member is inline.  With a 16-byte member a node of level 1 is
 * 56 bytes and one of level 2 exactly 64: 15 nodes in 16 take a 64-byte
 * slot; level 3 and up (1 in 16) take 128.  Member lengths are limited
 * to 2^27 - 1 bytes (128 MB) and a set to 2^32 - 1 members.
 *
 * Conversion.  kvmq_zset_convert() turns one encoding into the other via
 * an array of (member, score) items; kvmq_zset_build() makes either
 * encoding from such an array.  ZADD converts up when the 129th member
 * or a member over 64 bytes arrives; the *STORE commands build their
 * result in the encoding its size calls for.  A set never converts back
 * down on deletes (as in Redis 7.0).
 *
 * Freeing.  A big set is freed in steps by lazyfree.c: first the pages
 * of the hash table, then the nodes along level 0, then the head and the
 * header; kvmq_zset_free_some() keeps the set consistent for the next
 * step (the head's level-0 pointer is the first node not yet freed).
 */

#include <limits.h>
#include <stdlib.h>

#include "zset.h"


#define KVMQ_ZSL_NODE_HDR    offsetof(kvmq_zsl_node_t, forward)

/* scores that are integers of this magnitude are packed as integers */
#define KVMQ_ZPACK_INT_MAX   ((double) (LLONG_MAX / 2))

#define KVMQ_ZPACK_SCRATCH   4096


static kvmq_slice_t kvmq_zsl_key(const kvmq_hnode_t *n);

static const kvmq_htype_t  kvmq_zsl_htype = { kvmq_zsl_key };


/* ---- nodes ------------------------------------------------------------- */


unsigned
kvmq_zsl_level(const kvmq_zsl_node_t *x)
{
    return (x->lm & 31) + 1;
}


static size_t
kvmq_zsl_spans_off(unsigned level)
{
    return KVMQ_ZSL_NODE_HDR + level * sizeof(kvmq_zsl_node_t *);
}


static size_t
kvmq_zsl_member_off(unsigned level)
{
    return kvmq_zsl_spans_off(level)
           + (level > 2 ? (level - 2) * sizeof(uint32_t) : 0);
}


kvmq_slice_t
kvmq_zsl_member(const kvmq_zsl_node_t *x)
{
    kvmq_slice_t  s;

    s.data = (const unsigned char *) x + kvmq_zsl_member_off(kvmq_zsl_level(x));
    s.len = x->lm >> 5;

    return s;
}


static kvmq_slice_t
kvmq_zsl_key(const kvmq_hnode_t *n)
{
    return kvmq_zsl_member((const kvmq_zsl_node_t *) n);
}


static uint32_t
kvmq_zsl_span(const kvmq_zsl_node_t *x, unsigned i)
{
    uint32_t  v;

    if (i == 0) {
        return 1;
    }

    if (i == 1) {
        return x->span1;
    }

    memcpy(&v, (const unsigned char *) x + kvmq_zsl_spans_off(
                   kvmq_zsl_level(x)) + (i - 2) * sizeof(uint32_t),
           sizeof(uint32_t));

    return v;
}


static void
kvmq_zsl_set_span(kvmq_zsl_node_t *x, unsigned i, uint64_t v)
{
    uint32_t  s;

    if (i == 0) {
        return;
    }

    s = (uint32_t) v;

    if (i == 1) {
        x->span1 = s;
        return;
    }

    memcpy((unsigned char *) x + kvmq_zsl_spans_off(kvmq_zsl_level(x))
           + (i - 2) * sizeof(uint32_t), &s, sizeof(uint32_t));
}


static unsigned
kvmq_zsl_random_level(kvmq_ctx_t *c)
{
    unsigned  level;
    uint64_t  r;

    level = 1;
    r = kvmq_random(c->db);

    /* p = 1/4: two random bits per level */
    while ((r & 3) == 0 && level < KVMQ_ZSL_MAXLEVEL) {
        level++;
        r >>= 2;

        if (r == 0) {
            r = kvmq_random(c->db);
        }
    }

    return level;
}


static kvmq_zsl_node_t *
kvmq_zsl_node_alloc(kvmq_ctx_t *c, unsigned level, const void *m, size_t len)
{
    size_t            size, off;
    kvmq_zsl_node_t  *x;

    if (len > KVMQ_ZSET_MEMBER_MAX) {
        return NULL;
    }

    off = kvmq_zsl_member_off(level);
    size = off + len;

    x = kvmq_zalloc(c, size);
    if (x == NULL) {
        return NULL;
    }

    memset(x, 0, off);

    x->lm = (uint32_t) ((len << 5) | (level - 1));

    if (len) {
        memcpy((unsigned char *) x + off, m, len);
    }

    return x;
}


kvmq_zsl_node_t *
kvmq_zsl_node_new(kvmq_ctx_t *c, const void *m, size_t len)
{
    return kvmq_zsl_node_alloc(c, kvmq_zsl_random_level(c), m, len);
}


int
kvmq_zset_member_cmp(const unsigned char *a, size_t alen,
    const unsigned char *b, size_t blen)
{
    int  d;

    d = memcmp(a, b, alen < blen ? alen : blen);

    if (d != 0) {
        return d;
    }

    return (alen < blen) ? -1 : (alen > blen);
}


/* is node x before (score, m) in the set's order? */
static int
kvmq_zsl_before(const kvmq_zsl_node_t *x, double score,
    const unsigned char *m, size_t len)
{
    kvmq_slice_t  xm;

    if (x->score != score) {
        return x->score < score;
    }

    xm = kvmq_zsl_member(x);

    return kvmq_zset_member_cmp(xm.data, xm.len, m, len) < 0;
}


/* ---- the skiplist ------------------------------------------------------ */


kvmq_zset_t *
kvmq_zsl_create(kvmq_ctx_t *c, uint64_t hint)
{
    kvmq_zset_t  *z;

    z = kvmq_zalloc(c, sizeof(kvmq_zset_t));
    if (z == NULL) {
        return NULL;
    }

    memset(z, 0, sizeof(kvmq_zset_t));
    z->enc = KVMQ_ZSET_SKIPLIST;
    z->level = 1;

    z->head = kvmq_zsl_node_alloc(c, KVMQ_ZSL_MAXLEVEL, NULL, 0);
    if (z->head == NULL) {
        kvmq_zfree(c, z);
        return NULL;
    }

    if (kvmq_htable_init(c, &z->ht, hint) != 0) {
        kvmq_zfree(c, z->head);
        kvmq_zfree(c, z);
        return NULL;
    }

    return z;
}


kvmq_zsl_node_t *
kvmq_zsl_find(kvmq_ctx_t *c, kvmq_zset_t *z, const void *m, size_t len)
{
    return (kvmq_zsl_node_t *) kvmq_htable_find(c, &z->ht, &kvmq_zsl_htype,
                                  m, len, kvmq_htable_hash(c, m, len));
}


static void
kvmq_zsl_link(kvmq_zset_t *z, kvmq_zsl_node_t *x, double score)
{
    int               i;
    unsigned          level;
    uint64_t          rank[KVMQ_ZSL_MAXLEVEL];
    kvmq_slice_t      m;
    kvmq_zsl_node_t  *update[KVMQ_ZSL_MAXLEVEL], *p;

    m = kvmq_zsl_member(x);
    p = z->head;

    for (i = z->level - 1; i >= 0; i--) {
        rank[i] = (i == z->level - 1) ? 0 : rank[i + 1];

        while (p->forward[i] != NULL
               && kvmq_zsl_before(p->forward[i], score, m.data, m.len))
        {
            rank[i] += kvmq_zsl_span(p, (unsigned) i);
            p = p->forward[i];
        }

        update[i] = p;
    }

    level = kvmq_zsl_level(x);

    if (level > z->level) {
        for (i = z->level; i < (int) level; i++) {
            rank[i] = 0;
            update[i] = z->head;
            kvmq_zsl_set_span(z->head, (unsigned) i, z->length);
        }

        z->level = (uint8_t) level;
    }

    x->score = score;

    for (i = 0; i < (int) level; i++) {
        x->forward[i] = update[i]->forward[i];
        update[i]->forward[i] = x;

        kvmq_zsl_set_span(x, (unsigned) i,
                          kvmq_zsl_span(update[i], (unsigned) i)
                          - (rank[0] - rank[i]));
        kvmq_zsl_set_span(update[i], (unsigned) i, (rank[0] - rank[i]) + 1);
    }

    for (i = (int) level; i < z->level; i++) {
        kvmq_zsl_set_span(update[i], (unsigned) i,
                          kvmq_zsl_span(update[i], (unsigned) i) + 1);
    }

    x->backward = (update[0] == z->head) ? NULL : update[0];

    if (x->forward[0] != NULL) {
        x->forward[0]->backward = x;

    } else {
        z->tail = x;
    }

    z->length++;
}


/* the nodes before x at every level */
static void
kvmq_zsl_update_vector(const kvmq_zset_t *z, const kvmq_zsl_node_t *x,
    kvmq_zsl_node_t **update)
{
    int               i;
    kvmq_slice_t      m;
    kvmq_zsl_node_t  *p;

    m = kvmq_zsl_member(x);
    p = z->head;

    for (i = z->level - 1; i >= 0; i--) {
        while (p->forward[i] != NULL
               && kvmq_zsl_before(p->forward[i], x->score, m.data, m.len))
        {
            p = p->forward[i];
        }

        update[i] = p;
    }
}


static void
kvmq_zsl_unlink(kvmq_zset_t *z, kvmq_zsl_node_t *x, kvmq_zsl_node_t **update)
{
    int  i;

    for (i = 0; i < z->level; i++) {
        if (update[i]->forward[i] == x) {
            kvmq_zsl_set_span(update[i], (unsigned) i,
                              (uint64_t) kvmq_zsl_span(update[i], (unsigned) i)
                              + kvmq_zsl_span(x, (unsigned) i) - 1);
            update[i]->forward[i] = x->forward[i];

        } else {
            kvmq_zsl_set_span(update[i], (unsigned) i,
                              kvmq_zsl_span(update[i], (unsigned) i) - 1);
        }
    }

    if (x->forward[0] != NULL) {
        x->forward[0]->backward = x->backward;

    } else {
        z->tail = x->backward;
    }

    while (z->level > 1 && z->head->forward[z->level - 1] == NULL) {
        z->level--;
    }

    z->length--;
}


void
kvmq_zsl_insert(kvmq_ctx_t *c, kvmq_zset_t *z, kvmq_zsl_node_t *x,
    double score)
{
    uint64_t      h;
    kvmq_slice_t  m;

    kvmq_zsl_link(z, x, score);

    m = kvmq_zsl_member(x);
    h = kvmq_htable_hash(c, m.data, m.len);

    (void) kvmq_htable_reserve(c, &z->ht, &kvmq_zsl_htype, h);
    kvmq_htable_link(&z->ht, &x->hnode, h);
}


void
kvmq_zsl_delete(kvmq_ctx_t *c, kvmq_zset_t *z, kvmq_zsl_node_t *x)
{
    kvmq_slice_t      m;
    kvmq_zsl_node_t  *update[KVMQ_ZSL_MAXLEVEL];

    kvmq_zsl_update_vector(z, x, update);
    kvmq_zsl_unlink(z, x, update);

    m = kvmq_zsl_member(x);
    kvmq_htable_unlink(c, &z->ht, &x->hnode,
                       kvmq_htable_hash(c, m.data, m.len));

    kvmq_zfree(c, x);
}


/*
 * A new score for a linked node: in place when the order holds, else
 * the node is unlinked and linked again (same block, same level; the
 * hash table does not change).
 */
void
kvmq_zsl_update(kvmq_zset_t *z, kvmq_zsl_node_t *x, double score)
{
    kvmq_zsl_node_t  *update[KVMQ_ZSL_MAXLEVEL];

    if ((x->backward == NULL || x->backward->score < score)
        && (x->forward[0] == NULL || x->forward[0]->score > score))
    {
        x->score = score;
        return;
    }

    kvmq_zsl_update_vector(z, x, update);
    kvmq_zsl_unlink(z, x, update);

    memset(x->forward, 0, kvmq_zsl_level(x) * sizeof(kvmq_zsl_node_t *));
    kvmq_zsl_link(z, x, score);
}


uint64_t
kvmq_zsl_rank(const kvmq_zset_t *z, const kvmq_zsl_node_t *x)
{
    int               i;
    uint64_t          rank;
    kvmq_slice_t      m;
    kvmq_zsl_node_t  *p;

    m = kvmq_zsl_member(x);
    p = z->head;
    rank = 0;

    for (i = z->level - 1; i >= 0; i--) {
        while (p->forward[i] != NULL
               && (kvmq_zsl_before(p->forward[i], x->score, m.data, m.len)
                   || p->forward[i] == x))
        {
            rank += kvmq_zsl_span(p, (unsigned) i);
            p = p->forward[i];
        }

        if (p == x) {
            return rank;
        }
    }

    return 0;
}


kvmq_zsl_node_t *
kvmq_zsl_by_rank(const kvmq_zset_t *z, uint64_t rank)
{
    int               i;
    uint64_t          traversed;
    kvmq_zsl_node_t  *p;

    p = z->head;
    traversed = 0;

    for (i = z->level - 1; i >= 0; i--) {
        while (p->forward[i] != NULL
               && traversed + kvmq_zsl_span(p, (unsigned) i) <= rank)
        {
            traversed += kvmq_zsl_span(p, (unsigned) i);
            p = p->forward[i];
        }

        if (traversed == rank) {
            return (p == z->head) ? NULL : p;
        }
    }

    return NULL;
}


/* ---- ranges ------------------------------------------------------------ */


int
kvmq_zrange_gte_min(double v, const kvmq_zrange_t *r)
{
    return r->minex ? (v > r->min) : (v >= r->min);
}


int
kvmq_zrange_lte_max(double v, const kvmq_zrange_t *r)
{
    return r->maxex ? (v < r->max) : (v <= r->max);
}


int
kvmq_zrange_empty(const kvmq_zrange_t *r)
{
    return r->min > r->max || (r->min == r->max && (r->minex || r->maxex));
}


/* Redis' sdscmplex(): "-" and "+" are below and above every string */
static int
kvmq_zlex_cmp(const unsigned char *m, size_t len, int inf,
    const kvmq_slice_t *b)
{
    if (inf != 0) {
        return -inf;
    }

    return kvmq_zset_member_cmp(m, len, b->data, b->len);
}


int
kvmq_zlex_gte_min(const unsigned char *m, size_t len, const kvmq_zlex_t *r)
{
    int  d;

    d = kvmq_zlex_cmp(m, len, r->mininf, &r->min);

    return r->minex ? (d > 0) : (d >= 0);
}


int
kvmq_zlex_lte_max(const unsigned char *m, size_t len, const kvmq_zlex_t *r)
{
    int  d;

    d = kvmq_zlex_cmp(m, len, r->maxinf, &r->max);

    return r->maxex ? (d < 0) : (d <= 0);
}


int
kvmq_zlex_empty(const kvmq_zlex_t *r)
{
    int  d;

    if (r->mininf != 0 || r->maxinf != 0) {
        if (r->mininf == r->maxinf) {
            d = 0;

        } else if (r->mininf == -1 || r->maxinf == 1) {
            d = -1;

        } else {
            d = 1;
        }

    } else {
        d = kvmq_zset_member_cmp(r->min.data, r->min.len, r->max.data,
                                 r->max.len);
    }

    return d > 0 || (d == 0 && (r->minex || r->maxex));
}


static int
kvmq_zsl_in_range(const kvmq_zset_t *z, const kvmq_zrange_t *r)
{
    kvmq_zsl_node_t  *x;

    if (kvmq_zrange_empty(r)) {
        return 0;
    }

    x = z->tail;

    if (x == NULL || !kvmq_zrange_gte_min(x->score, r)) {
        return 0;
    }

    x = z->head->forward[0];

    return x != NULL && kvmq_zrange_lte_max(x->score, r);
}


kvmq_zsl_node_t *
kvmq_zsl_first_in_range(const kvmq_zset_t *z, const kvmq_zrange_t *r)
{
    int               i;
    kvmq_zsl_node_t  *x;

    if (!kvmq_zsl_in_range(z, r)) {
        return NULL;
    }

    x = z->head;

    for (i = z->level - 1; i >= 0; i--) {
        while (x->forward[i] != NULL
               && !kvmq_zrange_gte_min(x->forward[i]->score, r))
        {
            x = x->forward[i];
        }
    }

    x = x->forward[0];

    if (x == NULL || !kvmq_zrange_lte_max(x->score, r)) {
        return NULL;
    }

    return x;
}


kvmq_zsl_node_t *
kvmq_zsl_last_in_range(const kvmq_zset_t *z, const kvmq_zrange_t *r)
{
    int               i;
    kvmq_zsl_node_t  *x;

    if (!kvmq_zsl_in_range(z, r)) {
        return NULL;
    }

    x = z->head;

    for (i = z->level - 1; i >= 0; i--) {
        while (x->forward[i] != NULL
               && kvmq_zrange_lte_max(x->forward[i]->score, r))
        {
            x = x->forward[i];
        }
    }

    if (x == z->head || !kvmq_zrange_gte_min(x->score, r)) {
        return NULL;
    }

    return x;
}


static int
kvmq_zsl_node_gte_min(const kvmq_zsl_node_t *x, const kvmq_zlex_t *r)
{
    kvmq_slice_t  m;

    m = kvmq_zsl_member(x);

    return kvmq_zlex_gte_min(m.data, m.len, r);
}


static int
kvmq_zsl_node_lte_max(const kvmq_zsl_node_t *x, const kvmq_zlex_t *r)
{
    kvmq_slice_t  m;

    m = kvmq_zsl_member(x);

    return kvmq_zlex_lte_max(m.data, m.len, r);
}


static int
kvmq_zsl_in_lex(const kvmq_zset_t *z, const kvmq_zlex_t *r)
{
    kvmq_zsl_node_t  *x;

    if (kvmq_zlex_empty(r)) {
        return 0;
    }

    x = z->tail;

    if (x == NULL || !kvmq_zsl_node_gte_min(x, r)) {
        return 0;
    }

    x = z->head->forward[0];

    return x != NULL && kvmq_zsl_node_lte_max(x, r);
}


kvmq_zsl_node_t *
kvmq_zsl_first_in_lex(const kvmq_zset_t *z, const kvmq_zlex_t *r)
{
    int               i;
    kvmq_zsl_node_t  *x;

    if (!kvmq_zsl_in_lex(z, r)) {
        return NULL;
    }

    x = z->head;

    for (i = z->level - 1; i >= 0; i--) {
        while (x->forward[i] != NULL
               && !kvmq_zsl_node_gte_min(x->forward[i], r))
        {
            x = x->forward[i];
        }
    }

    x = x->forward[0];

    if (x == NULL || !kvmq_zsl_node_lte_max(x, r)) {
        return NULL;
    }

    return x;
}


kvmq_zsl_node_t *
kvmq_zsl_last_in_lex(const kvmq_zset_t *z, const kvmq_zlex_t *r)
{
    int               i;
    kvmq_zsl_node_t  *x;

    if (!kvmq_zsl_in_lex(z, r)) {
        return NULL;
    }

    x = z->head;

    for (i = z->level - 1; i >= 0; i--) {
        while (x->forward[i] != NULL
               && kvmq_zsl_node_lte_max(x->forward[i], r))
        {
            x = x->forward[i];
        }
    }

    if (x == z->head || !kvmq_zsl_node_gte_min(x, r)) {
        return NULL;
    }

    return x;
}


static int
kvmq_zsl_del_before(const kvmq_zsl_node_t *p, unsigned i, int kind,
    const void *spec, uint64_t traversed, uint64_t start)
{
    const kvmq_zsl_node_t  *x;

    x = p->forward[i];

    switch (kind) {
    case KVMQ_ZDEL_RANK:
        return traversed + kvmq_zsl_span(p, i) < start;
    case KVMQ_ZDEL_SCORE:
        return !kvmq_zrange_gte_min(x->score, spec);
    default:
        return !kvmq_zsl_node_gte_min(x, spec);
    }
}


uint64_t
kvmq_zsl_delete_range(kvmq_ctx_t *c, kvmq_zset_t *z, int kind,
    const void *spec, uint64_t start, uint64_t end)
{
    int               i, in;
    uint64_t          traversed, removed;
    kvmq_slice_t      m;
    kvmq_zsl_node_t  *update[KVMQ_ZSL_MAXLEVEL], *x, *next;

    x = z->head;
    traversed = 0;

    for (i = z->level - 1; i >= 0; i--) {
        while (x->forward[i] != NULL
               && kvmq_zsl_del_before(x, (unsigned) i, kind, spec, traversed,
                                      start))
        {
            traversed += kvmq_zsl_span(x, (unsigned) i);
            x = x->forward[i];
        }

        update[i] = x;
    }

    traversed++;
    x = x->forward[0];
    removed = 0;

    while (x != NULL) {
        switch (kind) {
        case KVMQ_ZDEL_RANK:
            in = traversed <= end;
            break;
        case KVMQ_ZDEL_SCORE:
            in = kvmq_zrange_lte_max(x->score, spec);
            break;
        default:
            in = kvmq_zsl_node_lte_max(x, spec);
            break;
        }

        if (!in) {
            break;
        }

        next = x->forward[0];

        kvmq_zsl_unlink(z, x, update);

        m = kvmq_zsl_member(x);
        kvmq_htable_unlink(c, &z->ht, &x->hnode,
                           kvmq_htable_hash(c, m.data, m.len));
        kvmq_zfree(c, x);

        removed++;
        traversed++;
        x = next;
    }

    return removed;
}


/* ---- ranges over packed items ------------------------------------------ */


static int
kvmq_zitems_in_range(const kvmq_zitem_t *it, size_t n,
    const kvmq_zrange_t *r)
{
    return !kvmq_zrange_empty(r) && n > 0
           && kvmq_zrange_gte_min(it[n - 1].score, r)
           && kvmq_zrange_lte_max(it[0].score, r);
}


long
kvmq_zitems_first_in_range(const kvmq_zitem_t *it, size_t n,
    const kvmq_zrange_t *r)
{
    size_t  i;

    if (!kvmq_zitems_in_range(it, n, r)) {
        return -1;
    }

    for (i = 0; i < n; i++) {
        if (kvmq_zrange_gte_min(it[i].score, r)) {
            return kvmq_zrange_lte_max(it[i].score, r) ? (long) i : -1;
        }
    }

    return -1;
}


long
kvmq_zitems_last_in_range(const kvmq_zitem_t *it, size_t n,
    const kvmq_zrange_t *r)
{
    size_t  i;

    if (!kvmq_zitems_in_range(it, n, r)) {
        return -1;
    }

    for (i = n; i-- > 0; /* void */) {
        if (kvmq_zrange_lte_max(it[i].score, r)) {
            return kvmq_zrange_gte_min(it[i].score, r) ? (long) i : -1;
        }
    }

    return -1;
}


static int
kvmq_zitems_in_lex(const kvmq_zitem_t *it, size_t n, const kvmq_zlex_t *r)
{
    return !kvmq_zlex_empty(r) && n > 0
           && kvmq_zlex_gte_min(it[n - 1].m, it[n - 1].len, r)
           && kvmq_zlex_lte_max(it[0].m, it[0].len, r);
}


long
kvmq_zitems_first_in_lex(const kvmq_zitem_t *it, size_t n,
    const kvmq_zlex_t *r)
{
    size_t  i;

    if (!kvmq_zitems_in_lex(it, n, r)) {
        return -1;
    }

    for (i = 0; i < n; i++) {
        if (kvmq_zlex_gte_min(it[i].m, it[i].len, r)) {
            return kvmq_zlex_lte_max(it[i].m, it[i].len, r) ? (long) i : -1;
        }
    }

    return -1;
}


long
kvmq_zitems_last_in_lex(const kvmq_zitem_t *it, size_t n,
    const kvmq_zlex_t *r)
{
    size_t  i;

    if (!kvmq_zitems_in_lex(it, n, r)) {
        return -1;
    }

    for (i = n; i-- > 0; /* void */) {
        if (kvmq_zlex_lte_max(it[i].m, it[i].len, r)) {
            return kvmq_zlex_gte_min(it[i].m, it[i].len, r) ? (long) i : -1;
        }
    }

    return -1;
}


/* ---- packed ------------------------------------------------------------ */


/* Redis' double2ll(): so a packed -0 reads back as 0, as in Redis */
static int
kvmq_zpack_score_is_int(double score)
{
    return score >= -KVMQ_ZPACK_INT_MAX && score <= KVMQ_ZPACK_INT_MAX
           && score == (double) (long long) score;
}


static size_t
kvmq_zpack_score_size(double score)
{
    return kvmq_zpack_score_is_int(score)
           ? kvmq_lp_int_size((long long) score) : 9;
}


static size_t
kvmq_zpack_put_score(unsigned char *p, double score)
{
    if (kvmq_zpack_score_is_int(score)) {
        return kvmq_lp_put_int(p, (long long) score);
    }

    return kvmq_lp_put_dbl(p, score);
}


void
kvmq_zpack_items(const kvmq_zpack_t *zp, kvmq_zitem_t *items)
{
    uint32_t       i, off;
    kvmq_lp_val_t  v;

    for (off = 0, i = 0; i < zp->count; i++) {
        off += (uint32_t) kvmq_lp_get(zp->data + off, &v);
        items[i].m = v.str;
        items[i].len = v.len;

        off += (uint32_t) kvmq_lp_get(zp->data + off, &v);
        items[i].score = kvmq_lp_number(&v);
    }
}


void
kvmq_zpack_delete(kvmq_zpack_t *zp, uint32_t from, uint32_t n)
{
    uint32_t  start, end;

    start = (uint32_t) kvmq_lp_seek(zp->data, zp->used, (size_t) from * 2);
    end = start + (uint32_t) kvmq_lp_seek(zp->data + start, zp->used - start,
                                          (size_t) n * 2);

    memmove(zp->data + start, zp->data + end, zp->used - end);

    zp->used -= end - start;
    zp->count -= n;
}


static size_t
kvmq_zpack_size(const kvmq_zitem_t *items, size_t n)
{
    size_t  i, size;

    for (size = 0, i = 0; i < n; i++) {
        size += kvmq_lp_str_size(items[i].len)
                + kvmq_zpack_score_size(items[i].score);
    }

    return size;
}


/*
 * Write n items into a packed block: "into" when they fit its capacity
 * (through a scratch buffer, since the items may point into it), else a
 * new block.  NULL on NOMEM.
 */
static kvmq_zpack_t *
kvmq_zpack_write(kvmq_ctx_t *c, const kvmq_zitem_t *items, size_t n,
    kvmq_zpack_t *into)
{
    size_t          i, size, off, bsize;
    unsigned char   stack[KVMQ_ZPACK_SCRATCH], *buf;
    kvmq_zpack_t   *zp;

    size = kvmq_zpack_size(items, n);

    buf = stack;

    if (size > sizeof(stack)) {
        buf = malloc(size);
        if (buf == NULL) {
            return NULL;
        }
    }

    for (off = 0, i = 0; i < n; i++) {
        off += kvmq_lp_put_str(buf + off, items[i].m, items[i].len);
        off += kvmq_zpack_put_score(buf + off, items[i].score);
    }

    zp = into;

    if (zp == NULL || size > zp->cap) {
        bsize = kvmq_slab_round(offsetof(kvmq_zpack_t, data) + size);

        zp = kvmq_zalloc(c, bsize);
        if (zp == NULL) {
            if (buf != stack) {
                free(buf);
            }

            return NULL;
        }

        memset(zp, 0, offsetof(kvmq_zpack_t, data));
        zp->enc = KVMQ_ZSET_PACKED;
        zp->cap = (uint32_t) (bsize - offsetof(kvmq_zpack_t, data));
    }

    if (size) {
        memcpy(zp->data, buf, size);
    }

    zp->used = (uint32_t) size;
    zp->count = (uint32_t) n;

    if (buf != stack) {
        free(buf);
    }

    return zp;
}


/* ---- the value --------------------------------------------------------- */


int
kvmq_zset_enc(const void *z)
{
    return *(const uint8_t *) z;
}


uint64_t
kvmq_zset_length(const void *z)
{
    if (kvmq_zset_enc(z) == KVMQ_ZSET_PACKED) {
        return ((const kvmq_zpack_t *) z)->count;
    }

    return ((const kvmq_zset_t *) z)->length;
}


int
kvmq_zset_pick(uint64_t n, size_t maxlen)
{
    return (n <= KVMQ_ZSET_MAX_PACKED_ENTRIES
            && maxlen <= KVMQ_ZSET_MAX_PACKED_VALUE)
           ? KVMQ_ZSET_PACKED : KVMQ_ZSET_SKIPLIST;
}


int
kvmq_zitem_cmp(const kvmq_zitem_t *a, const kvmq_zitem_t *b)
{
    if (a->score < b->score) {
        return -1;
    }

    if (a->score > b->score) {
        return 1;
    }

    return kvmq_zset_member_cmp(a->m, a->len, b->m, b->len);
}


int
kvmq_zitem_qsort_cmp(const void *a, const void *b)
{
    return kvmq_zitem_cmp(a, b);
}


void *
kvmq_zset_build(kvmq_ctx_t *c, const kvmq_zitem_t *items, size_t n, int enc,
    kvmq_zpack_t *into)
{
    size_t            i;
    kvmq_zset_t      *z;
    kvmq_zsl_node_t  *x;

    if (enc == KVMQ_ZSET_PACKED) {
        return kvmq_zpack_write(c, items, n, into);
    }

    z = kvmq_zsl_create(c, n);
    if (z == NULL) {
        return NULL;
    }

    for (i = 0; i < n; i++) {
        x = kvmq_zsl_node_new(c, items[i].m, items[i].len);
        if (x == NULL) {
            kvmq_zset_free(c, z);
            return NULL;
        }

        kvmq_zsl_insert(c, z, x, items[i].score);
    }

    return z;
}


void *
kvmq_zset_convert(kvmq_ctx_t *c, const void *z, int enc)
{
    void                   *r;
    size_t                  i, n;
    kvmq_zitem_t           *items;
    kvmq_slice_t            m;
    const kvmq_zsl_node_t  *x;

    n = kvmq_zset_length(z);

    items = malloc((n ? n : 1) * sizeof(kvmq_zitem_t));
    if (items == NULL) {
        return NULL;
    }

    if (kvmq_zset_enc(z) == KVMQ_ZSET_PACKED) {
        kvmq_zpack_items(z, items);

    } else {
        x = ((const kvmq_zset_t *) z)->head->forward[0];

        for (i = 0; x != NULL; i++, x = x->forward[0]) {
            m = kvmq_zsl_member(x);
            items[i].m = m.data;
            items[i].len = m.len;
            items[i].score = x->score;
        }
    }

    r = kvmq_zset_build(c, items, n, enc, NULL);

    free(items);

    return r;
}


uint64_t
kvmq_zset_blocks(const void *z)
{
    const kvmq_zset_t  *zs;

    if (kvmq_zset_enc(z) == KVMQ_ZSET_PACKED) {
        return 1;
    }

    zs = z;

    return zs->length + 2
           + (zs->ht.t[0].size + zs->ht.t[1].size) / KVMQ_HT_PAGE + 2;
}


size_t
kvmq_zset_bytes(const void *z)
{
    const kvmq_zpack_t  *zp;
    const kvmq_zset_t   *zs;

    if (kvmq_zset_enc(z) == KVMQ_ZSET_PACKED) {
        zp = z;
        return offsetof(kvmq_zpack_t, data) + zp->cap;
    }

    /* approximate: nodes are counted at the common 64-byte class */
    zs = z;

    return sizeof(kvmq_zset_t)
           + kvmq_slab_round(kvmq_zsl_member_off(KVMQ_ZSL_MAXLEVEL))
           + kvmq_htable_bytes(&zs->ht) + zs->length * 64;
}


void
kvmq_zset_free(kvmq_ctx_t *c, void *z)
{
    unsigned  budget;

    budget = (unsigned) -1;
    (void) kvmq_zset_free_some(c, z, &budget);
}


int
kvmq_zset_free_some(kvmq_ctx_t *c, void *z, unsigned *budget)
{
    kvmq_zset_t      *zs;
    kvmq_zsl_node_t  *x;

    if (kvmq_zset_enc(z) == KVMQ_ZSET_PACKED) {
        kvmq_zfree(c, z);

        if (*budget > 0) {
            (*budget)--;
        }

        return 1;
    }

    zs = z;

    /* the table first: its pages are whole slab pages given back */
    if (!kvmq_htable_free_some(c, &zs->ht, budget)) {
        return 0;
    }

    while ((x = zs->head->forward[0]) != NULL) {
        if (*budget == 0) {
            return 0;
        }

        zs->head->forward[0] = x->forward[0];
        kvmq_zfree(c, x);
        (*budget)--;
    }

    kvmq_zfree(c, zs->head);
    kvmq_zfree(c, zs);

    if (*budget > 0) {
        (*budget)--;
    }

    return 1;
}
