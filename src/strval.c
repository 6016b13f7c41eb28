/*
 * The string value block.
 *
 * Layout.  A string is one zone block:
 *
 *     [ len | cap | ctlen ][ data: cap bytes ][ Content-Type: ctlen ]
 *
 * len <= cap.  The Content-Type a REST PUT stored sits at data + cap, so
 * it never moves while the value changes length within cap: APPEND,
 * SETRANGE, INCR and friends rewrite data in place and the type stays.
 * When a value outgrows cap, kvmq_string_resize() makes a new block with
 * the old type copied after the new cap and frees the old one; the
 * caller points its entry at it (e->val: same type, same TTL).
 *
 * Capacity.  SET and friends allocate exactly what the value needs: most
 * values are written once and read many times.  Values that grow where
 * they are (APPEND, PREPEND, SETRANGE, SETBIT in bitops.c) grow greedily,
 * doubling up to 1 MB and then adding 1 MB, as Redis' sds does, so that
 * building a value piecewise is linear, not quadratic.  The slack is
 * only taken when the allocator has it to spare: it is never worth
 * evicting a key or failing a write, so a full zone gets the exact size.
 */

#include <stddef.h>

#include "engine.h"


#define KVMQ_STR_HDR        offsetof(kvmq_string_t, data)

/* greedy growth of APPEND/PREPEND: double below this, then add it */
#define KVMQ_STR_PREALLOC   (1024 * 1024)


/*
 * Allocate a string of len bytes (data left to the caller) with room for
 * cap, and the Content-Type ct after it.  A larger "want" is tried first,
 * straight from the allocator: slack is worth having only when it is
 * free, never at the price of evicting a key or failing a write.
 */
static kvmq_string_t *
kvmq_str_alloc(kvmq_ctx_t *c, size_t len, size_t cap, size_t want,
    const unsigned char *ct, size_t ctlen)
{
    kvmq_string_t  *s;

    if (ctlen > UINT16_MAX) {
        ctlen = UINT16_MAX;
    }

    if (cap < len) {
        cap = len;
    }

    s = NULL;

    if (want > cap) {
        s = c->alloc->alloc(c->alloc->ctx, KVMQ_STR_HDR + want + ctlen);
        if (s != NULL) {
            cap = want;
        }
    }

    if (s == NULL) {
        s = kvmq_zalloc(c, KVMQ_STR_HDR + cap + ctlen);
        if (s == NULL) {
            return NULL;
        }
    }

    s->len = (uint32_t) len;
    s->cap = (uint32_t) cap;
    s->ctlen = (uint16_t) ctlen;

    if (ctlen) {
        memcpy(s->data + cap, ct, ctlen);
    }

    return s;
}


kvmq_string_t *
kvmq_string_new(kvmq_ctx_t *c, const unsigned char *data, size_t len,
    size_t cap)
{
    size_t                ctlen;
    kvmq_string_t        *s;
    const unsigned char  *ct;

    ct = NULL;
    ctlen = 0;

    if (c->ctype != NULL && c->ctype->len > 0) {
        ct = c->ctype->data;
        ctlen = c->ctype->len;
    }

    s = kvmq_str_alloc(c, len, cap, 0, ct, ctlen);
    if (s == NULL) {
        return NULL;
    }

    if (len) {
        memcpy(s->data, data, len);
    }

    return s;
}


void
kvmq_string_free(kvmq_ctx_t *c, kvmq_string_t *s)
{
    kvmq_zfree(c, s);
}


kvmq_slice_t
kvmq_string_ctype(const kvmq_string_t *s)
{
    kvmq_slice_t  ct;

    ct.data = s->data + s->cap;
    ct.len = s->ctlen;

    return ct;
}


/*
 * Room for newlen bytes in s: s itself when it has it, else a copy with
 * greedy capacity and the same Content-Type, s freed.  The caller points
 * its entry at the result (e->val; the type and TTL do not change) and
 * sets len.  NULL on NOMEM, s untouched.
 */
kvmq_string_t *
kvmq_string_resize(kvmq_ctx_t *c, kvmq_string_t *s, size_t newlen)
{
    size_t          want;
    kvmq_string_t  *n;

    if (newlen <= s->cap) {
        return s;
    }

    want = (newlen < KVMQ_STR_PREALLOC) ? newlen * 2
                                        : newlen + KVMQ_STR_PREALLOC;

    n = kvmq_str_alloc(c, s->len, newlen, want, s->data + s->cap, s->ctlen);
    if (n == NULL) {
        return NULL;
    }

    memcpy(n->data, s->data, s->len);
    kvmq_string_free(c, s);

    return n;
}
