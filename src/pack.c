/*
 * The packed block: the small encoding of hashes and sets.
 *
 * Layout.  One zone block holding a header and a run of listpack
 * entries (the entry format is listpack.c's):
 *
 *     [ enc | count | used | cap ][ entry entry ... ][ free: cap - used ]
 *
 * A hash stores field, value, field, value ...; a set its members.  The
 * block is sized to what the slab hands out anyway (kvmq_slab_round), so
 * the slack costs nothing and most inserts need no allocation; when one
 * does, the content moves to a bigger block (ngx_slab has no realloc).
 * After deletions a block more than three quarters empty is copied to a
 * smaller one, but only from free memory: shrinking is never worth an
 * eviction.
 *
 * Entries.  A string that is the canonical decimal text of an int64
 * ("7", "-12", not "07" or "+1") is stored as an integer entry (1 to 9
 * bytes), any other as a string entry (1, 2 or 5 bytes of length, then
 * the bytes).  Both directions are exact, so an entry compares equal to
 * a string exactly when their bytes are equal, and kvmq_pack_find()
 * parses its needle once and then compares integers with integers and
 * bytes with bytes.
 *
 * Costs.  Lookups and index seeks walk the entries: O(n), with n kept
 * small by the owners' thresholds (128 entries of at most 64 bytes).
 * Inserting or deleting in the middle moves the tail: O(bytes).  There
 * is no backward walk; nobody needs one here.
 */

#include "aggr.h"


int
kvmq_str_isint(const void *s, size_t len, long long *v)
{
    return kvmq_str2ll(s, len, v) == 0;
}


void
kvmq_needle_init(kvmq_needle_t *nd, const void *s, size_t len)
{
    nd->data = s;
    nd->len = len;
    nd->ll = 0;
    nd->isint = kvmq_str_isint(s, len, &nd->ll);
}


size_t
kvmq_pack_entry_size(const void *s, size_t len)
{
    long long  v;

    if (kvmq_str_isint(s, len, &v)) {
        return kvmq_lp_int_size(v);
    }

    return kvmq_lp_str_size(len);
}


size_t
kvmq_pack_put(unsigned char *p, const void *s, size_t len)
{
    long long  v;

    if (kvmq_str_isint(s, len, &v)) {
        return kvmq_lp_put_int(p, v);
    }

    return kvmq_lp_put_str(p, s, len);
}


static kvmq_pack_t *
kvmq_pack_alloc(kvmq_ctx_t *c, size_t need, int evict)
{
    size_t        size;
    kvmq_pack_t  *pk;

    if (need > UINT32_MAX - KVMQ_PACK_HDR - KVMQ_SLAB_PAGE) {
        return NULL;
    }

    size = kvmq_slab_round(KVMQ_PACK_HDR + need);

    pk = evict ? kvmq_zalloc(c, size) : c->alloc->alloc(c->alloc->ctx, size);
    if (pk == NULL) {
        return NULL;
    }

    pk->enc = KVMQ_ENC_PACK;
    pk->pad[0] = 0;
    pk->pad[1] = 0;
    pk->pad[2] = 0;
    pk->count = 0;
    pk->used = 0;
    pk->cap = (uint32_t) (size - KVMQ_PACK_HDR);

    return pk;
}


kvmq_pack_t *
kvmq_pack_new(kvmq_ctx_t *c, size_t need)
{
    return kvmq_pack_alloc(c, need, 1);
}


void
kvmq_pack_free(kvmq_ctx_t *c, kvmq_pack_t *pk)
{
    kvmq_zfree(c, pk);
}


kvmq_pack_t *
kvmq_pack_reserve(kvmq_ctx_t *c, kvmq_pack_t *pk, size_t need)
{
    kvmq_pack_t  *n;

    if (need <= pk->cap) {
        return pk;
    }

    n = kvmq_pack_alloc(c, need, 1);
    if (n == NULL) {
        return NULL;
    }

    n->count = pk->count;
    n->used = pk->used;
    memcpy(n->data, pk->data, pk->used);

    kvmq_pack_free(c, pk);

    return n;
}


kvmq_pack_t *
kvmq_pack_shrink(kvmq_ctx_t *c, kvmq_pack_t *pk)
{
    kvmq_pack_t  *n;

    if (KVMQ_PACK_HDR + pk->cap <= 64
        || (KVMQ_PACK_HDR + pk->used) * 4 > KVMQ_PACK_HDR + pk->cap)
    {
        return pk;
    }

    n = kvmq_pack_alloc(c, pk->used, 0);
    if (n == NULL) {
        return pk;
    }

    n->count = pk->count;
    n->used = pk->used;
    memcpy(n->data, pk->data, pk->used);

    kvmq_pack_free(c, pk);

    return n;
}


uint32_t
kvmq_pack_next(const kvmq_pack_t *pk, uint32_t off)
{
    off += (uint32_t) kvmq_lp_size(pk->data + off);

    return (off < pk->used) ? off : KVMQ_PACK_NONE;
}


uint32_t
kvmq_pack_seek(const kvmq_pack_t *pk, uint32_t index)
{
    uint32_t  off;

    if (index >= pk->count) {
        return KVMQ_PACK_NONE;
    }

    for (off = 0; index; index--) {
        off += (uint32_t) kvmq_lp_size(pk->data + off);
    }

    return off;
}


kvmq_slice_t
kvmq_pack_get(const kvmq_pack_t *pk, uint32_t off, char *buf)
{
    kvmq_lp_val_t  v;

    (void) kvmq_lp_get(pk->data + off, &v);

    return kvmq_lp_bytes(&v, buf);
}


uint32_t
kvmq_pack_find(const kvmq_pack_t *pk, uint32_t off, unsigned skip,
    const kvmq_needle_t *nd)
{
    unsigned        i;
    uint32_t        at;
    kvmq_lp_val_t   v;

    while (off < pk->used) {
        at = off;
        off += (uint32_t) kvmq_lp_get(pk->data + off, &v);

        if (nd->isint ? (v.type == KVMQ_LP_INT && v.ll == nd->ll)
                      : (v.type == KVMQ_LP_STR && v.len == nd->len
                         && memcmp(v.str, nd->data, nd->len) == 0))
        {
            return at;
        }

        for (i = 0; i < skip && off < pk->used; i++) {
            off += (uint32_t) kvmq_lp_size(pk->data + off);
        }
    }

    return KVMQ_PACK_NONE;
}


void
kvmq_pack_insert(kvmq_pack_t *pk, uint32_t off, const void *s, size_t len)
{
    size_t  size;

    size = kvmq_pack_entry_size(s, len);

    memmove(pk->data + off + size, pk->data + off, pk->used - off);
    (void) kvmq_pack_put(pk->data + off, s, len);

    pk->used += (uint32_t) size;
    pk->count++;
}


void
kvmq_pack_replace(kvmq_pack_t *pk, uint32_t off, const void *s, size_t len)
{
    size_t  old, size;

    old = kvmq_lp_size(pk->data + off);
    size = kvmq_pack_entry_size(s, len);

    if (size != old) {
        memmove(pk->data + off + size, pk->data + off + old,
                pk->used - off - old);
        pk->used = (uint32_t) (pk->used - old + size);
    }

    (void) kvmq_pack_put(pk->data + off, s, len);
}


void
kvmq_pack_delete(kvmq_pack_t *pk, uint32_t off, uint32_t n)
{
    uint32_t  end, i;

    end = off;

    for (i = 0; i < n && end < pk->used; i++) {
        end += (uint32_t) kvmq_lp_size(pk->data + end);
    }

    memmove(pk->data + off, pk->data + end, pk->used - end);

    pk->used -= end - off;
    pk->count -= i;
}
