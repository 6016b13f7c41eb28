/*
 * The list value: a doubly linked list of packed nodes (a "quicklist").
 * The structure, its costs and invariants are described in quicklist.c;
 * the commands are in t_list.c.
 */

#ifndef KVMQ_QUICKLIST_H
#define KVMQ_QUICKLIST_H

#include <stddef.h>

#include "listpack.h"


#define KVMQ_LIST_HEAD      0
#define KVMQ_LIST_TAIL      1

/* a full node is one slab page; its header takes KVMQ_QL_HDR of it */
#define KVMQ_QL_NODE        4096
#define KVMQ_QL_HDR         offsetof(kvmq_qlnode_t, data)
#define KVMQ_QL_DATA_MAX    (KVMQ_QL_NODE - KVMQ_QL_HDR)


typedef struct kvmq_qlnode_s  kvmq_qlnode_t;

struct kvmq_qlnode_s {
    kvmq_qlnode_t      *prev;
    kvmq_qlnode_t      *next;
    uint32_t            count;      /* entries */
    uint32_t            used;       /* bytes of data in use */
    uint32_t            cap;        /* bytes of data the block has */
    uint32_t            pad;
    unsigned char       data[];
};

typedef struct {
    kvmq_qlnode_t      *head;
    kvmq_qlnode_t      *tail;
    uint64_t            len;        /* entries */
    uint64_t            nodes;
} kvmq_list_t;


/*
 * An iterator over entries, forwards or backwards.  Going backwards it
 * keeps the offsets of the current node's entries (a packed node is
 * walked forwards only), so it is large: keep it on the stack.
 */
typedef struct {
    kvmq_list_t        *l;
    kvmq_qlnode_t      *node;       /* NULL: past the end */
    uint32_t            off;        /* offset of the current entry */
    uint32_t            i;          /* its index in the node */
    int                 reverse;
    kvmq_qlnode_t      *dirty;      /* a node entries were deleted from */
    uint16_t            offs[KVMQ_QL_DATA_MAX];
} kvmq_qliter_t;


kvmq_list_t *kvmq_list_new(kvmq_ctx_t *c);
void kvmq_list_free(kvmq_ctx_t *c, kvmq_list_t *l);

/* free at most *budget blocks; 1 when the whole list is freed */
int kvmq_list_free_some(kvmq_ctx_t *c, kvmq_list_t *l, unsigned *budget);

/* blocks a value holds, for deciding whether to free it lazily */
uint64_t kvmq_list_blocks(const kvmq_list_t *l);
size_t kvmq_list_bytes(const kvmq_list_t *l);

/*
 * Push n items at one end, in order (LPUSH a b c leaves c b a at the
 * head).  All blocks are allocated first: -1 on NOMEM with the list
 * untouched.
 */
int kvmq_list_push(kvmq_ctx_t *c, kvmq_list_t *l, int where,
    const kvmq_slice_t *items, size_t n);

/* delete count entries from index start (both in range); never fails */
void kvmq_list_del_range(kvmq_ctx_t *c, kvmq_list_t *l, uint64_t start,
    uint64_t count);

/*
 * Iterators.  init positions at entry index (0 <= index < len); then
 * valid / get / next.  kvmq_qliter_delete() removes the current entry
 * and moves on in the iteration's direction.  kvmq_qliter_end() must be
 * called after deletions: it merges the sparse nodes they left.
 */
void kvmq_qliter_init(kvmq_qliter_t *it, kvmq_list_t *l, uint64_t index,
    int reverse);
int kvmq_qliter_valid(const kvmq_qliter_t *it);
void kvmq_qliter_get(const kvmq_qliter_t *it, kvmq_lp_val_t *v);
void kvmq_qliter_next(kvmq_qliter_t *it);
void kvmq_qliter_delete(kvmq_ctx_t *c, kvmq_qliter_t *it);
void kvmq_qliter_end(kvmq_ctx_t *c, kvmq_qliter_t *it);

/*
 * Insert an item before or after the iterator's current entry, or
 * replace that entry.  -1 on NOMEM with the list untouched.  The
 * iterator is invalid afterwards.
 */
int kvmq_list_insert(kvmq_ctx_t *c, kvmq_qliter_t *it, int after,
    const void *s, size_t len);
int kvmq_list_replace(kvmq_ctx_t *c, kvmq_qliter_t *it, const void *s,
    size_t len);

#endif /* KVMQ_QUICKLIST_H */
