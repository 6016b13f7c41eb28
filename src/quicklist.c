/*
 * The list value: a quicklist of packed nodes.
 *
 * Layout.  A list is a 32-byte header (head, tail, entry count, node
 * count) and a doubly linked chain of nodes.  A node is one block:
 *
 *     [ prev | next | count | used | cap ][ packed entries: cap bytes ]
 *
 * The entries use the format of listpack.h (a 16-byte item costs 17
 * bytes).  A node is at most one slab page, KVMQ_QL_NODE = 4096 bytes,
 * so it holds KVMQ_QL_DATA_MAX = 4064 bytes of entries (239 items of 16
 * bytes: 17.1 bytes per item including the node header).  ngx_slab gives
 * anything between 2 KB and 4 KB a whole page anyway, and a page-sized
 * node never needs more than one free page, however fragmented the zone.
 *
 * Encodings.  A small list is one node whose block grows through the
 * slab size classes (64, 128 ... 4096 bytes) as items arrive: that is
 * the compact encoding, a single packed array.  Past one page the list
 * becomes a chain of page-sized nodes: that is the quicklist encoding.
 * The conversion is the node split: when an insert does not fit in a
 * full node, the node's bytes and the new item are repacked into up to
 * three nodes (kvmq_ql_put).  An item longer than a node's data gets a
 * node of its own, rounded to whole pages ("oversized"); such a node
 * never takes a second item.  A block is never resized in place (ngx_slab
 * has no realloc): growing copies a node into the next size class, and
 * every block asked for is exactly a slab size, used wholly as capacity.
 *
 * Costs.  Push and pop at either end: O(1) plus a memmove inside one
 * node.  Index: O(N / items per node) to find the node, then a forward
 * scan inside it.  There is no back-length byte in the entries, so
 * walking backwards inside a node means scanning it forwards once: the
 * reverse iterator caches the node's offsets, and RPOP pays one scan of
 * a 4 KB node.  Deleting in the middle (LREM, LTRIM) never allocates;
 * the iterator merges a node it deleted from with a neighbour when the
 * two fit in one block, so a thinned list gives its pages back.
 *
 * Out of memory.  Every operation that may allocate (push, insert,
 * replace) first plans and allocates all the blocks it needs, then
 * changes the list; a failed allocation frees what was taken and
 * leaves the list as it was.  Deletions never allocate.
 *
 * Invariants: no node is empty; l->len is the sum of the counts;
 * count and used describe exactly the entries in data[0, used).
 */

#include <stdlib.h>

#include "quicklist.h"


#define KVMQ_QL_STACK_BLOCKS   16


static int
kvmq_ql_oversized(const kvmq_qlnode_t *n)
{
    return n->cap > KVMQ_QL_DATA_MAX;
}


static kvmq_qlnode_t *
kvmq_ql_node_alloc(kvmq_ctx_t *c, size_t data)
{
    size_t          size;
    kvmq_qlnode_t  *n;

    size = kvmq_slab_round(KVMQ_QL_HDR + data);

    n = kvmq_zalloc(c, size);
    if (n == NULL) {
        return NULL;
    }

    n->prev = NULL;
    n->next = NULL;
    n->count = 0;
    n->used = 0;
    n->cap = (uint32_t) (size - KVMQ_QL_HDR);
    n->pad = 0;

    return n;
}


/* link n after "at" (NULL: as the new head) */
static void
kvmq_ql_link_after(kvmq_list_t *l, kvmq_qlnode_t *at, kvmq_qlnode_t *n)
{
    n->prev = at;
    n->next = (at != NULL) ? at->next : l->head;

    if (n->next != NULL) {
        n->next->prev = n;

    } else {
        l->tail = n;
    }

    if (at != NULL) {
        at->next = n;

    } else {
        l->head = n;
    }

    l->nodes++;
}


static void
kvmq_ql_unlink(kvmq_list_t *l, kvmq_qlnode_t *n)
{
    if (n->prev != NULL) {
        n->prev->next = n->next;

    } else {
        l->head = n->next;
    }

    if (n->next != NULL) {
        n->next->prev = n->prev;

    } else {
        l->tail = n->prev;
    }

    l->nodes--;
}


static void
kvmq_ql_free_node(kvmq_ctx_t *c, kvmq_list_t *l, kvmq_qlnode_t *n)
{
    kvmq_ql_unlink(l, n);
    kvmq_zfree(c, n);
}


/* the node holding entry index, and the entry's index inside it */
static kvmq_qlnode_t *
kvmq_ql_locate(const kvmq_list_t *l, uint64_t index, uint32_t *i)
{
    uint64_t        r;
    kvmq_qlnode_t  *n;

    if (index < l->len / 2) {
        for (n = l->head; index >= n->count; n = n->next) {
            index -= n->count;
        }

        *i = (uint32_t) index;
        return n;
    }

    r = l->len - 1 - index;

    for (n = l->tail; r >= n->count; n = n->prev) {
        r -= n->count;
    }

    *i = (uint32_t) (n->count - 1 - r);

    return n;
}


/*
 * Merge two adjacent nodes (a before b) when one can take the other's
 * bytes; no allocation.  Returns the node left.
 */
static kvmq_qlnode_t *
kvmq_ql_try_merge(kvmq_ctx_t *c, kvmq_list_t *l, kvmq_qlnode_t *a,
    kvmq_qlnode_t *b)
{
    if (a == NULL || b == NULL || kvmq_ql_oversized(a)
        || kvmq_ql_oversized(b))
    {
        return (a != NULL) ? a : b;
    }

    if (a->used + b->used <= a->cap) {
        memcpy(a->data + a->used, b->data, b->used);
        a->used += b->used;
        a->count += b->count;
        kvmq_ql_free_node(c, l, b);
        return a;
    }

    if (a->used + b->used <= b->cap) {
        memmove(b->data + a->used, b->data, b->used);
        memcpy(b->data, a->data, a->used);
        b->used += a->used;
        b->count += a->count;
        kvmq_ql_free_node(c, l, a);
        return b;
    }

    return a;
}


kvmq_list_t *
kvmq_list_new(kvmq_ctx_t *c)
{
    kvmq_list_t  *l;

    l = kvmq_zalloc(c, sizeof(kvmq_list_t));
    if (l == NULL) {
        return NULL;
    }

    memset(l, 0, sizeof(kvmq_list_t));

    return l;
}


void
kvmq_list_free(kvmq_ctx_t *c, kvmq_list_t *l)
{
    unsigned  budget;

    budget = (unsigned) -1;
    (void) kvmq_list_free_some(c, l, &budget);
}


int
kvmq_list_free_some(kvmq_ctx_t *c, kvmq_list_t *l, unsigned *budget)
{
    kvmq_qlnode_t  *n;

    while (l->head != NULL) {
        if (*budget == 0) {
            return 0;
        }

        n = l->head;
        l->head = n->next;
        l->len -= n->count;
        l->nodes--;
        kvmq_zfree(c, n);
        (*budget)--;
    }

    kvmq_zfree(c, l);

    if (*budget > 0) {
        (*budget)--;
    }

    return 1;
}


uint64_t
kvmq_list_blocks(const kvmq_list_t *l)
{
    return l->nodes + 1;
}


size_t
kvmq_list_bytes(const kvmq_list_t *l)
{
    size_t                bytes;
    const kvmq_qlnode_t  *n;

    bytes = sizeof(kvmq_list_t);

    for (n = l->head; n != NULL; n = n->next) {
        bytes += KVMQ_QL_HDR + n->cap;
    }

    return bytes;
}


/* ---- push -------------------------------------------------------------- */


/*
 * The plan of a push: the first "k" items (taking "bytes") go into the
 * end node, which is first copied into a larger block if it has not the
 * room; the rest are packed greedily into new nodes of at most a page.
 * kvmq_ql_group() gives the end of the new node starting at item i, and
 * is used by both the planning and the filling, so they agree.
 */
static size_t
kvmq_ql_group(const kvmq_slice_t *items, size_t n, size_t i, size_t *bytes)
{
    size_t  s;

    *bytes = kvmq_lp_str_size(items[i].len);

    for (i++; i < n; i++) {
        s = kvmq_lp_str_size(items[i].len);

        if (*bytes + s > KVMQ_QL_DATA_MAX) {
            break;
        }

        *bytes += s;
    }

    return i;
}


static void
kvmq_ql_fill(kvmq_qlnode_t *n, int where, const kvmq_slice_t *items,
    size_t from, size_t to, size_t bytes)
{
    size_t  i, pos;

    if (where == KVMQ_LIST_TAIL) {
        for (i = from; i < to; i++) {
            n->used += (uint32_t) kvmq_lp_put_str(n->data + n->used,
                                                  items[i].data,
                                                  items[i].len);
        }

    } else {
        /* the items go in front, the last pushed first */
        memmove(n->data + bytes, n->data, n->used);
        pos = bytes;

        for (i = from; i < to; i++) {
            pos -= kvmq_lp_str_size(items[i].len);
            (void) kvmq_lp_put_str(n->data + pos, items[i].data,
                                   items[i].len);
        }

        n->used += (uint32_t) bytes;
    }

    n->count += (uint32_t) (to - from);
}


int
kvmq_list_push(kvmq_ctx_t *c, kvmq_list_t *l, int where,
    const kvmq_slice_t *items, size_t n)
{
    size_t           i, k, j, bytes, gbytes, groups, nb;
    kvmq_qlnode_t   *e, *grown, *node;
    kvmq_qlnode_t   *stack[KVMQ_QL_STACK_BLOCKS], **blocks;

    e = (where == KVMQ_LIST_TAIL) ? l->tail : l->head;

    k = 0;
    bytes = 0;

    if (e != NULL && !kvmq_ql_oversized(e)) {
        while (k < n) {
            j = kvmq_lp_str_size(items[k].len);

            if (e->used + bytes + j > KVMQ_QL_DATA_MAX) {
                break;
            }

            bytes += j;
            k++;
        }
    }

    for (groups = 0, i = k; i < n; groups++) {
        i = kvmq_ql_group(items, n, i, &gbytes);
    }

    blocks = stack;

    if (groups > KVMQ_QL_STACK_BLOCKS) {
        blocks = malloc(groups * sizeof(kvmq_qlnode_t *));
        if (blocks == NULL) {
            return -1;
        }
    }

    /* allocate everything first */

    grown = NULL;
    nb = 0;

    if (k > 0 && e->used + bytes > e->cap) {
        grown = kvmq_ql_node_alloc(c, e->used + bytes);
        if (grown == NULL) {
            goto nomem;
        }
    }

    for (i = k; i < n; nb++) {
        i = kvmq_ql_group(items, n, i, &gbytes);

        blocks[nb] = kvmq_ql_node_alloc(c, gbytes);
        if (blocks[nb] == NULL) {
            goto nomem;
        }
    }

    /* then change the list */

    if (grown != NULL) {
        memcpy(grown->data, e->data, e->used);
        grown->used = e->used;
        grown->count = e->count;

        kvmq_ql_link_after(l, e, grown);
        kvmq_ql_free_node(c, l, e);
        e = grown;
    }

    if (k > 0) {
        kvmq_ql_fill(e, where, items, 0, k, bytes);
    }

    for (nb = 0, i = k; i < n; nb++) {
        j = kvmq_ql_group(items, n, i, &gbytes);
        node = blocks[nb];

        kvmq_ql_fill(node, where, items, i, j, gbytes);

        if (where == KVMQ_LIST_TAIL) {
            kvmq_ql_link_after(l, l->tail, node);

        } else {
            kvmq_ql_link_after(l, NULL, node);
        }

        i = j;
    }

    l->len += n;

    if (blocks != stack) {
        free(blocks);
    }

    return 0;

nomem:

    kvmq_zfree(c, grown);

    while (nb--) {
        kvmq_zfree(c, blocks[nb]);
    }

    if (blocks != stack) {
        free(blocks);
    }

    return -1;
}


/* ---- delete ------------------------------------------------------------ */


void
kvmq_list_del_range(kvmq_ctx_t *c, kvmq_list_t *l, uint64_t start,
    uint64_t count)
{
    uint32_t        i, j, m, off, end;
    kvmq_qlnode_t  *n, *next;

    if (count == 0) {
        return;
    }

    n = kvmq_ql_locate(l, start, &i);

    while (count > 0 && n != NULL) {
        next = n->next;

        if (i == 0 && count >= n->count) {
            count -= n->count;
            l->len -= n->count;
            kvmq_ql_free_node(c, l, n);
            n = next;
            continue;
        }

        m = (uint32_t) ((count < n->count - i) ? count : n->count - i);

        off = (uint32_t) kvmq_lp_seek(n->data, n->used, i);

        for (end = off, j = 0; j < m; j++) {
            end += (uint32_t) kvmq_lp_size(n->data + end);
        }

        memmove(n->data + off, n->data + end, n->used - end);

        n->used -= end - off;
        n->count -= m;
        l->len -= m;
        count -= m;

        n = next;
        i = 0;
    }
}


/* ---- iterators --------------------------------------------------------- */


static void
kvmq_qliter_load(kvmq_qliter_t *it)
{
    uint32_t        j, off;
    kvmq_qlnode_t  *n;

    n = it->node;

    for (off = 0, j = 0; j < n->count; j++) {
        it->offs[j] = (uint16_t) off;
        off += (uint32_t) kvmq_lp_size(n->data + off);
    }
}


/* position at the first entry (forward) or last entry (reverse) of n */
static void
kvmq_qliter_enter(kvmq_qliter_t *it, kvmq_qlnode_t *n)
{
    it->node = n;

    if (n == NULL) {
        return;
    }

    if (!it->reverse) {
        it->i = 0;
        it->off = 0;
        return;
    }

    kvmq_qliter_load(it);
    it->i = n->count - 1;
    it->off = it->offs[it->i];
}


/* leaving the current node: merge it with the one passed before it */
static void
kvmq_qliter_leave(kvmq_ctx_t *c, kvmq_qliter_t *it)
{
    kvmq_qlnode_t  *n;

    n = it->node;

    if (it->dirty != n || n == NULL) {
        return;
    }

    it->dirty = NULL;

    if (it->reverse) {
        (void) kvmq_ql_try_merge(c, it->l, n, n->next);

    } else {
        (void) kvmq_ql_try_merge(c, it->l, n->prev, n);
    }
}


void
kvmq_qliter_init(kvmq_qliter_t *it, kvmq_list_t *l, uint64_t index,
    int reverse)
{
    uint32_t        i;
    kvmq_qlnode_t  *n;

    it->l = l;
    it->reverse = reverse;
    it->dirty = NULL;
    it->node = NULL;

    if (index >= l->len) {
        return;
    }

    n = kvmq_ql_locate(l, index, &i);

    it->node = n;
    it->i = i;

    if (reverse) {
        kvmq_qliter_load(it);
        it->off = it->offs[i];

    } else {
        it->off = (uint32_t) kvmq_lp_seek(n->data, n->used, i);
    }
}


int
kvmq_qliter_valid(const kvmq_qliter_t *it)
{
    return it->node != NULL;
}


void
kvmq_qliter_get(const kvmq_qliter_t *it, kvmq_lp_val_t *v)
{
    (void) kvmq_lp_get(it->node->data + it->off, v);
}


static void
kvmq_qliter_step(kvmq_ctx_t *c, kvmq_qliter_t *it)
{
    kvmq_qlnode_t  *n, *to;

    n = it->node;

    if (!it->reverse) {
        if (it->i < n->count) {
            return;
        }

        to = n->next;

    } else {
        if (it->i != (uint32_t) -1) {
            it->off = it->offs[it->i];
            return;
        }

        to = n->prev;
    }

    if (c != NULL) {
        kvmq_qliter_leave(c, it);
    }

    kvmq_qliter_enter(it, to);
}


void
kvmq_qliter_next(kvmq_qliter_t *it)
{
    if (!it->reverse) {
        it->off += (uint32_t) kvmq_lp_size(it->node->data + it->off);
        it->i++;

    } else {
        it->i--;
    }

    /* a walk that deleted nothing has nothing to merge */
    kvmq_qliter_step(NULL, it);
}


void
kvmq_qliter_delete(kvmq_ctx_t *c, kvmq_qliter_t *it)
{
    uint32_t        s;
    kvmq_qlnode_t  *n, *to;

    n = it->node;
    s = (uint32_t) kvmq_lp_size(n->data + it->off);

    memmove(n->data + it->off, n->data + it->off + s,
            n->used - it->off - s);

    n->used -= s;
    n->count--;
    it->l->len--;

    if (n->count == 0) {
        to = it->reverse ? n->prev : n->next;

        if (it->dirty == n) {
            it->dirty = NULL;
        }

        kvmq_ql_free_node(c, it->l, n);
        kvmq_qliter_enter(it, to);
        return;
    }

    it->dirty = n;

    /* forwards the next entry is now at the same offset; backwards the
     * offsets before the deleted one did not move */
    if (it->reverse) {
        it->i--;
    }

    kvmq_qliter_step(c, it);
}


void
kvmq_qliter_end(kvmq_ctx_t *c, kvmq_qliter_t *it)
{
    kvmq_qlnode_t  *n;

    n = it->dirty;
    it->dirty = NULL;

    if (n == NULL) {
        return;
    }

    n = kvmq_ql_try_merge(c, it->l, n->prev, n);
    (void) kvmq_ql_try_merge(c, it->l, n, n->next);

    it->node = NULL;
}


/* ---- insert and replace ------------------------------------------------ */


/*
 * Put an item of encoded size s at byte "off" of node n (after removing
 * "shrink" bytes there, for a replace), il being the number of entries
 * before off.  Fits in place when it can; otherwise the left part, the
 * item and the right part are repacked into chunks of at most a node's
 * data, in order, and n is kept for one chunk when that needs no move
 * beyond its block: the left part alone, the right part alone, or the
 * left part and the item when they fit its capacity.
 */
static int
kvmq_ql_put(kvmq_ctx_t *c, kvmq_list_t *l, kvmq_qlnode_t *n, uint32_t off,
    uint32_t il, uint32_t shrink, const void *str, size_t len)
{
    int             i, nchunks, keep;
    size_t          s, L, R, sz, cl[3], ce[3], cr[3];
    uint32_t        ir;
    kvmq_qlnode_t  *blk[3], *at, *prev;

    s = kvmq_lp_str_size(len);
    L = off;
    R = n->used - off - shrink;
    ir = n->count - il - (shrink ? 1 : 0);

    if (!kvmq_ql_oversized(n) && L + s + R <= n->cap) {
        memmove(n->data + off + s, n->data + off + shrink, R);
        (void) kvmq_lp_put_str(n->data + off, str, len);
        n->used = (uint32_t) (L + s + R);
        n->count = il + 1 + ir;
        l->len = l->len + 1 - (shrink ? 1 : 0);
        return 0;
    }

    /* chunk i holds cl[i] bytes of the left part, ce[i] of the item and
     * cr[i] of the right part */

    memset(cl, 0, sizeof(cl));
    memset(ce, 0, sizeof(ce));
    memset(cr, 0, sizeof(cr));

    if (L + s + R <= KVMQ_QL_DATA_MAX) {
        nchunks = 1;
        cl[0] = L; ce[0] = s; cr[0] = R;

    } else if (L + s <= KVMQ_QL_DATA_MAX) {
        nchunks = 2;
        cl[0] = L; ce[0] = s; cr[1] = R;

    } else if (s + R <= KVMQ_QL_DATA_MAX) {
        nchunks = 2;
        cl[0] = L; ce[1] = s; cr[1] = R;

    } else {
        nchunks = 3;
        cl[0] = L; ce[1] = s; cr[2] = R;
    }

    /* drop empty chunks: only a lone left or right part can be empty */
    for (i = 0; i < nchunks; i++) {
        if (cl[i] + ce[i] + cr[i] == 0) {
            memmove(&cl[i], &cl[i + 1], (nchunks - i - 1) * sizeof(size_t));
            memmove(&ce[i], &ce[i + 1], (nchunks - i - 1) * sizeof(size_t));
            memmove(&cr[i], &cr[i + 1], (nchunks - i - 1) * sizeof(size_t));
            nchunks--;
            i--;
        }
    }

    keep = -1;

    for (i = 0; i < nchunks && keep < 0; i++) {
        if ((ce[i] == 0 && (cl[i] == 0 || cr[i] == 0))
            || (cr[i] == 0 && !kvmq_ql_oversized(n)
                && cl[i] + ce[i] <= n->cap))
        {
            keep = i;
        }
    }

    for (i = 0; i < nchunks; i++) {
        blk[i] = NULL;

        if (i == keep) {
            blk[i] = n;
            continue;
        }

        blk[i] = kvmq_ql_node_alloc(c, cl[i] + ce[i] + cr[i]);

        if (blk[i] == NULL) {
            while (i--) {
                if (i != keep) {
                    kvmq_zfree(c, blk[i]);
                }
            }

            return -1;
        }
    }

    /* fill the new blocks from n's bytes, then rearrange n itself */

    for (i = 0; i < nchunks; i++) {
        if (i == keep) {
            continue;
        }

        sz = 0;

        if (cl[i]) {
            memcpy(blk[i]->data, n->data, cl[i]);
            sz = cl[i];
            blk[i]->count += il;
        }

        if (ce[i]) {
            (void) kvmq_lp_put_str(blk[i]->data + sz, str, len);
            sz += ce[i];
            blk[i]->count++;
        }

        if (cr[i]) {
            memcpy(blk[i]->data + sz, n->data + off + shrink, cr[i]);
            sz += cr[i];
            blk[i]->count += ir;
        }

        blk[i]->used = (uint32_t) sz;
    }

    if (keep >= 0) {
        i = keep;

        if (ce[i]) {
            (void) kvmq_lp_put_str(n->data + off, str, len);
            n->used = (uint32_t) (cl[i] + ce[i]);
            n->count = il + 1;

        } else if (cl[i]) {
            n->used = (uint32_t) cl[i];
            n->count = il;

        } else {
            memmove(n->data, n->data + off + shrink, cr[i]);
            n->used = (uint32_t) cr[i];
            n->count = ir;
        }
    }

    /* link the chunks in order where n was */

    prev = n->prev;

    if (keep < 0) {
        kvmq_ql_free_node(c, l, n);
    }

    at = prev;

    for (i = 0; i < nchunks; i++) {
        if (i != keep) {
            kvmq_ql_link_after(l, at, blk[i]);
        }

        at = blk[i];
    }

    l->len = l->len + 1 - (shrink ? 1 : 0);

    return 0;
}


int
kvmq_list_insert(kvmq_ctx_t *c, kvmq_qliter_t *it, int after,
    const void *s, size_t len)
{
    uint32_t        off, il;
    kvmq_qlnode_t  *n;

    n = it->node;
    off = it->off;
    il = it->i;

    if (after) {
        off += (uint32_t) kvmq_lp_size(n->data + off);
        il++;
    }

    it->node = NULL;

    return kvmq_ql_put(c, it->l, n, off, il, 0, s, len);
}


int
kvmq_list_replace(kvmq_ctx_t *c, kvmq_qliter_t *it, const void *s,
    size_t len)
{
    kvmq_qlnode_t  *n;

    n = it->node;
    it->node = NULL;

    return kvmq_ql_put(c, it->l, n, it->off, it->i,
                       (uint32_t) kvmq_lp_size(n->data + it->off), s, len);
}
