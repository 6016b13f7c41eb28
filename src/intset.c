/*
 * The intset: the encoding of small sets whose members are all integers
 * (canonical int64 text, see pack.c), as Redis has it.
 *
 * Layout.  One zone block: a header and the values sorted ascending, all
 * of one width, the smallest of 2, 4 or 8 bytes that holds every value:
 *
 *     [ enc | width | count | cap ][ v0 v1 ... ][ free: cap - count ]
 *
 * 512 members of up to 16 bits take 1 KB, where the packed encoding
 * would need about 3 and the table 20.  Lookup is a binary search,
 * O(log n); an insert moves the tail, O(n), with n at most 512.  Adding
 * a value that needs a wider width rewrites the whole block at the new
 * width (an "upgrade"); nothing ever narrows it again.
 *
 * Like the packed block, an intset is sized to its slab class, grows
 * into a new block when that is full and shrinks (from free memory
 * only) when three quarters of it are unused.  Values are unaligned
 * within the block: they are copied in and out with memcpy.
 */

#include "aggr.h"


unsigned
kvmq_intset_width(int64_t v)
{
    if (v >= INT16_MIN && v <= INT16_MAX) {
        return 2;
    }

    if (v >= INT32_MIN && v <= INT32_MAX) {
        return 4;
    }

    return 8;
}


static int64_t
kvmq_is_load(const unsigned char *p, unsigned width)
{
    int16_t  v16;
    int32_t  v32;
    int64_t  v64;

    switch (width) {
    case 2:
        memcpy(&v16, p, 2);
        return v16;
    case 4:
        memcpy(&v32, p, 4);
        return v32;
    default:
        memcpy(&v64, p, 8);
        return v64;
    }
}


static void
kvmq_is_store(unsigned char *p, unsigned width, int64_t v)
{
    int16_t  v16;
    int32_t  v32;

    switch (width) {
    case 2:
        v16 = (int16_t) v;
        memcpy(p, &v16, 2);
        break;
    case 4:
        v32 = (int32_t) v;
        memcpy(p, &v32, 4);
        break;
    default:
        memcpy(p, &v, 8);
        break;
    }
}


static kvmq_intset_t *
kvmq_is_alloc(kvmq_ctx_t *c, unsigned width, size_t n, int evict)
{
    size_t          size;
    kvmq_intset_t  *is;

    if (n > UINT32_MAX / 8) {
        return NULL;
    }

    size = kvmq_slab_round(KVMQ_INTSET_HDR + n * width);

    is = evict ? kvmq_zalloc(c, size) : c->alloc->alloc(c->alloc->ctx, size);
    if (is == NULL) {
        return NULL;
    }

    is->enc = KVMQ_ENC_INTSET;
    is->width = (uint8_t) width;
    is->pad = 0;
    is->count = 0;
    is->cap = (uint32_t) ((size - KVMQ_INTSET_HDR) / width);

    return is;
}


kvmq_intset_t *
kvmq_intset_new(kvmq_ctx_t *c, unsigned width, size_t n)
{
    return kvmq_is_alloc(c, width, n, 1);
}


void
kvmq_intset_free(kvmq_ctx_t *c, kvmq_intset_t *is)
{
    kvmq_zfree(c, is);
}


int64_t
kvmq_intset_get(const kvmq_intset_t *is, uint32_t i)
{
    return kvmq_is_load(is->data + (size_t) i * is->width, is->width);
}


void
kvmq_intset_set(kvmq_intset_t *is, uint32_t i, int64_t v)
{
    kvmq_is_store(is->data + (size_t) i * is->width, is->width, v);
}


int
kvmq_intset_find(const kvmq_intset_t *is, int64_t v, uint32_t *pos)
{
    int64_t   cur;
    uint32_t  lo, hi, mid;

    lo = 0;
    hi = is->count;

    if (kvmq_intset_width(v) > is->width) {
        /* out of this width's range: below everything or above */
        *pos = (v < 0) ? 0 : is->count;
        return 0;
    }

    while (lo < hi) {
        mid = lo + (hi - lo) / 2;
        cur = kvmq_intset_get(is, mid);

        if (cur == v) {
            *pos = mid;
            return 1;
        }

        if (cur < v) {
            lo = mid + 1;

        } else {
            hi = mid;
        }
    }

    *pos = lo;

    return 0;
}


/*
 * Merge from the back: the old values and the new ones are both sorted,
 * so writing the largest first never overwrites an old value not yet
 * read, even when dst and src are the same block (dst's width is never
 * smaller than src's).
 */
static void
kvmq_is_merge(kvmq_intset_t *dst, const kvmq_intset_t *src, const int64_t *v,
    size_t n)
{
    int64_t   a;
    uint32_t  i, j, k;

    i = src->count;
    j = (uint32_t) n;
    k = src->count + (uint32_t) n;

    a = 0;

    while (j > 0) {
        if (i > 0) {
            a = kvmq_intset_get(src, i - 1);
        }

        if (i == 0 || v[j - 1] > a) {
            kvmq_intset_set(dst, --k, v[--j]);

        } else {
            kvmq_intset_set(dst, --k, a);
            i--;
        }
    }

    /* the old values below the smallest new one stay where they are,
     * unless they move to another block or width */
    if (dst != src) {
        while (i > 0) {
            i--;
            kvmq_intset_set(dst, i, kvmq_intset_get(src, i));
        }
    }

    dst->count = src->count + (uint32_t) n;
}


kvmq_intset_t *
kvmq_intset_add(kvmq_ctx_t *c, kvmq_intset_t *is, const int64_t *v, size_t n)
{
    size_t          i;
    unsigned        width, w;
    kvmq_intset_t  *dst;

    width = is->width;

    for (i = 0; i < n; i++) {
        w = kvmq_intset_width(v[i]);

        if (w > width) {
            width = w;
        }
    }

    if (width == is->width && is->count + n <= is->cap) {
        kvmq_is_merge(is, is, v, n);
        return is;
    }

    dst = kvmq_is_alloc(c, width, is->count + n, 1);
    if (dst == NULL) {
        return NULL;
    }

    kvmq_is_merge(dst, is, v, n);
    kvmq_intset_free(c, is);

    return dst;
}


void
kvmq_intset_remove(kvmq_intset_t *is, uint32_t pos)
{
    size_t  w;

    w = is->width;

    memmove(is->data + pos * w, is->data + (pos + 1) * w,
            (is->count - pos - 1) * w);
    is->count--;
}


kvmq_intset_t *
kvmq_intset_shrink(kvmq_ctx_t *c, kvmq_intset_t *is)
{
    size_t          have, need;
    kvmq_intset_t  *n;

    have = KVMQ_INTSET_HDR + (size_t) is->cap * is->width;
    need = KVMQ_INTSET_HDR + (size_t) is->count * is->width;

    if (have <= 64 || need * 4 > have) {
        return is;
    }

    n = kvmq_is_alloc(c, is->width, is->count, 0);
    if (n == NULL) {
        return is;
    }

    memcpy(n->data, is->data, (size_t) is->count * is->width);
    n->count = is->count;

    kvmq_intset_free(c, is);

    return n;
}
