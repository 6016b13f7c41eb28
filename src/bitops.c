/*
 * Bit operations on string values: SETBIT GETBIT BITCOUNT BITPOS BITOP.
 *
 * A string is a bitmap with bit 0 the most significant bit of byte 0, as
 * in Redis.  Bits past the end read as 0; SETBIT past the end grows the
 * string with zero bytes (kvmq_string_resize, greedy so that a bitmap
 * filled left to right costs linear time), keeping its Content-Type.
 * The largest offset is 2^32 - 1 (a 512 MB string), and the result must
 * also fit the door's max_value: past it SETBIT fails with TOOLARGE.
 *
 * Ranges.  BITCOUNT and BITPOS take start/end in bytes or, with BIT, in
 * bits; negative values count from the end; they are clamped to the
 * string as GETRANGE does.  Both reduce to one bit interval [lo, hi] and
 * walk it a byte at a time at the ragged edges and eight bytes at a time
 * in between, so a 512 MB value is counted without a per-bit loop.
 *
 * BITPOS looking for a 0 treats the string as padded with zeros on the
 * right unless an end was given: "BITPOS k 0" on "\xff" is 8, but with an
 * explicit range that holds no 0 it is -1.  A missing key is all zeros:
 * 0 for bit 0, -1 for bit 1.
 *
 * BITOP computes into a new block before touching the destination, which
 * may be one of the sources: the result replaces any value of any type
 * and drops its TTL (Redis' setKey); an empty result deletes it.
 */

#include <limits.h>
#include <stdint.h>

#include "commands.h"


/* SETBIT's largest offset: bit 7 of byte 512 MB - 1 */
#define KVMQ_BIT_MAXOFF     ((1ULL << 32) - 1)


static int kvmq_bit_offset(kvmq_ctx_t *c, const kvmq_slice_t *a,
    uint64_t *off);
static int kvmq_bit_range(const kvmq_string_t *s, long long start,
    long long end, int isbit, uint64_t *lo, uint64_t *hi);
static uint64_t kvmq_bit_count(const unsigned char *p, uint64_t lo,
    uint64_t hi);
static int64_t kvmq_bit_find(const unsigned char *p, uint64_t lo,
    uint64_t hi, int bit);


static int
kvmq_bit_offset(kvmq_ctx_t *c, const kvmq_slice_t *a, uint64_t *off)
{
    long long  v;

    if (kvmq_str2ll(a->data, a->len, &v) != 0 || v < 0
        || (unsigned long long) v > KVMQ_BIT_MAXOFF)
    {
        kvmq_reply_error(c, KVMQ_ERR_BADREQ,
                         "bit offset is not an integer or out of range");
        return -1;
    }

    *off = (uint64_t) v;

    return 0;
}


/* a string for reading; NULL when absent, or with WRONGTYPE replied */
static kvmq_entry_t *
kvmq_bit_lookup(kvmq_ctx_t *c, const kvmq_slice_t *key, int *wrong)
{
    kvmq_entry_t  *e;

    *wrong = 0;

    e = kvmq_lookup_read(c, key);

    if (e != NULL && e->type != KVMQ_TYPE_STRING) {
        kvmq_reply_wrongtype(c);
        *wrong = 1;
        return NULL;
    }

    return e;
}


void
kvmq_cmd_setbit(kvmq_ctx_t *c, int argc, const kvmq_slice_t *argv)
{
    size_t          byte, limit;
    uint64_t        off;
    long long       on;
    unsigned        mask, old;
    kvmq_entry_t   *e;
    kvmq_string_t  *s, *n;

    (void) argc;

    if (kvmq_bit_offset(c, &argv[2], &off) != 0) {
        return;
    }

    if (kvmq_str2ll(argv[3].data, argv[3].len, &on) != 0 || (on & ~1)) {
        kvmq_reply_error(c, KVMQ_ERR_BADREQ,
                         "bit is not an integer or out of range");
        return;
    }

    e = kvmq_lookup_write(c, &argv[1]);

    if (e != NULL && e->type != KVMQ_TYPE_STRING) {
        kvmq_reply_wrongtype(c);
        return;
    }

    s = e ? e->val : NULL;
    byte = (size_t) (off >> 3);

    limit = c->max_value;
    if (limit == 0 || limit > KVMQ_STRING_MAX) {
        limit = KVMQ_STRING_MAX;
    }

    if ((s == NULL || byte >= s->len) && byte + 1 > limit) {
        kvmq_reply_error(c, KVMQ_ERR_TOOLARGE,
                         "string exceeds maximum allowed size");
        return;
    }

    if (s == NULL) {
        s = kvmq_string_new(c, NULL, 0, byte + 1);
        if (s == NULL) {
            kvmq_reply_nomem(c);
            return;
        }

        memset(s->data, 0, byte + 1);
        s->len = (uint32_t) (byte + 1);

        e = kvmq_db_add(c, &argv[1], KVMQ_TYPE_STRING, s);
        if (e == NULL) {
            kvmq_string_free(c, s);
            kvmq_reply_nomem(c);
            return;
        }

    } else if (byte >= s->len) {
        n = kvmq_string_resize(c, s, byte + 1);
        if (n == NULL) {
            kvmq_reply_nomem(c);
            return;
        }

        e->val = n;
        s = n;

        memset(s->data + s->len, 0, byte + 1 - s->len);
        s->len = (uint32_t) (byte + 1);
    }

    mask = 1u << (7 - (off & 7));
    old = (s->data[byte] & mask) ? 1 : 0;

    if (on) {
        s->data[byte] |= (unsigned char) mask;

    } else {
        s->data[byte] &= (unsigned char) ~mask;
    }

    kvmq_db_touch_write(c, e);
    kvmq_reply_int(c, old);
}


void
kvmq_cmd_getbit(kvmq_ctx_t *c, int argc, const kvmq_slice_t *argv)
{
    int             wrong;
    uint64_t        off;
    kvmq_entry_t   *e;
    kvmq_string_t  *s;

    (void) argc;

    if (kvmq_bit_offset(c, &argv[2], &off) != 0) {
        return;
    }

    e = kvmq_bit_lookup(c, &argv[1], &wrong);

    if (wrong) {
        return;
    }

    s = e ? e->val : NULL;

    if (s == NULL || (off >> 3) >= s->len) {
        kvmq_reply_int(c, 0);
        return;
    }

    kvmq_reply_int(c, (s->data[off >> 3] >> (7 - (off & 7))) & 1);
}


/*
 * Clamp a BITCOUNT/BITPOS range to s as Redis does and turn it into the
 * bit interval [lo, hi].  Returns 0 for an empty interval.
 */
static int
kvmq_bit_range(const kvmq_string_t *s, long long start, long long end,
    int isbit, uint64_t *lo, uint64_t *hi)
{
    long long  total;

    total = (long long) s->len;

    if (isbit) {
        total <<= 3;
    }

    if (start < 0) {
        start += total;
    }

    if (end < 0) {
        end += total;
    }

    if (start < 0) {
        start = 0;
    }

    if (end < 0) {
        end = 0;
    }

    if (end >= total) {
        end = total - 1;
    }

    if (total == 0 || start > end) {
        return 0;
    }

    if (isbit) {
        *lo = (uint64_t) start;
        *hi = (uint64_t) end;

    } else {
        *lo = (uint64_t) start << 3;
        *hi = ((uint64_t) end << 3) | 7;
    }

    return 1;
}


static unsigned
kvmq_popcount64(uint64_t x)
{
    x = x - ((x >> 1) & 0x5555555555555555ULL);
    x = (x & 0x3333333333333333ULL) + ((x >> 2) & 0x3333333333333333ULL);
    x = (x + (x >> 4)) & 0x0f0f0f0f0f0f0f0fULL;

    return (unsigned) ((x * 0x0101010101010101ULL) >> 56);
}


/* the bits of byte b that lie in [lo, hi], as a mask (bit 0 = 0x80) */
static unsigned
kvmq_bit_mask(uint64_t b, uint64_t lo, uint64_t hi)
{
    unsigned  first, last;

    first = (b == (lo >> 3)) ? (unsigned) (lo & 7) : 0;
    last = (b == (hi >> 3)) ? (unsigned) (hi & 7) : 7;

    return (0xffu >> first) & (0xffu << (7 - last)) & 0xffu;
}


static uint64_t
kvmq_bit_count(const unsigned char *p, uint64_t lo, uint64_t hi)
{
    uint64_t  b, first, last, count, w;

    first = lo >> 3;
    last = hi >> 3;

    count = kvmq_popcount64(p[first] & kvmq_bit_mask(first, lo, hi));

    if (first == last) {
        return count;
    }

    count += kvmq_popcount64(p[last] & kvmq_bit_mask(last, lo, hi));

    for (b = first + 1; b + 8 <= last; b += 8) {
        memcpy(&w, p + b, 8);
        count += kvmq_popcount64(w);
    }

    for ( /* void */ ; b < last; b++) {
        count += kvmq_popcount64(p[b]);
    }

    return count;
}


void
kvmq_cmd_bitcount(kvmq_ctx_t *c, int argc, const kvmq_slice_t *argv)
{
    int             isbit, wrong;
    uint64_t        lo, hi;
    long long       start, end;
    kvmq_entry_t   *e;
    kvmq_string_t  *s;

    /* Redis looks the key up before it parses the range: a missing key
     * counts 0 whatever follows */
    e = kvmq_bit_lookup(c, &argv[1], &wrong);

    if (wrong) {
        return;
    }

    if (e == NULL) {
        kvmq_reply_int(c, 0);
        return;
    }

    isbit = 0;
    start = 0;
    end = -1;

    if (argc == 4 || argc == 5) {
        if (kvmq_arg_ll(c, &argv[2], &start) != 0
            || kvmq_arg_ll(c, &argv[3], &end) != 0)
        {
            return;
        }

        if (argc == 5) {
            if (kvmq_arg_is(&argv[4], "BIT")) {
                isbit = 1;

            } else if (!kvmq_arg_is(&argv[4], "BYTE")) {
                kvmq_reply_syntax(c);
                return;
            }
        }

    } else if (argc != 2) {
        kvmq_reply_syntax(c);
        return;
    }

    s = e->val;

    /* both negative and inverted: empty whatever the length */
    if (start < 0 && end < 0 && start > end) {
        kvmq_reply_int(c, 0);
        return;
    }

    if (!kvmq_bit_range(s, start, end, isbit, &lo, &hi)) {
        kvmq_reply_int(c, 0);
        return;
    }

    kvmq_reply_int(c, (int64_t) kvmq_bit_count(s->data, lo, hi));
}


/* the first bit equal to "bit" in [lo, hi], or -1 */
static int64_t
kvmq_bit_find(const unsigned char *p, uint64_t lo, uint64_t hi, int bit)
{
    unsigned   mask, v, i;
    uint64_t   b, first, last, w, skip;

    first = lo >> 3;
    last = hi >> 3;
    skip = bit ? 0 : UINT64_MAX;

    for (b = first; b <= last; b++) {

        /* whole words that cannot hold the bit, in the middle */
        if (b > first) {
            while (b + 8 <= last) {
                memcpy(&w, p + b, 8);

                if (w != skip) {
                    break;
                }

                b += 8;
            }
        }

        mask = kvmq_bit_mask(b, lo, hi);
        v = (bit ? p[b] : (unsigned) ~p[b]) & mask;

        if (v == 0) {
            continue;
        }

        for (i = 0; i < 8; i++) {
            if (v & (0x80u >> i)) {
                return (int64_t) ((b << 3) + i);
            }
        }
    }

    return -1;
}


void
kvmq_cmd_bitpos(kvmq_ctx_t *c, int argc, const kvmq_slice_t *argv)
{
    int             isbit, wrong, end_given;
    int64_t         pos;
    uint64_t        lo, hi;
    long long       bit, start, end;
    kvmq_entry_t   *e;
    kvmq_string_t  *s;

    if (kvmq_arg_ll(c, &argv[2], &bit) != 0) {
        return;
    }

    if (bit != 0 && bit != 1) {
        kvmq_reply_error(c, KVMQ_ERR_BADREQ,
                         "The bit argument must be 1 or 0.");
        return;
    }

    /* as in Redis: the bit, then the key, then the range */
    e = kvmq_bit_lookup(c, &argv[1], &wrong);

    if (wrong) {
        return;
    }

    /* a missing key is an endless run of zeros */
    if (e == NULL) {
        kvmq_reply_int(c, bit ? -1 : 0);
        return;
    }

    isbit = 0;
    end_given = 0;
    start = 0;
    end = -1;

    if (argc >= 4 && argc <= 6) {
        if (kvmq_arg_ll(c, &argv[3], &start) != 0) {
            return;
        }

        if (argc == 6) {
            if (kvmq_arg_is(&argv[5], "BIT")) {
                isbit = 1;

            } else if (!kvmq_arg_is(&argv[5], "BYTE")) {
                kvmq_reply_syntax(c);
                return;
            }
        }

        if (argc >= 5) {
            if (kvmq_arg_ll(c, &argv[4], &end) != 0) {
                return;
            }

            end_given = 1;
        }

    } else if (argc != 3) {
        kvmq_reply_syntax(c);
        return;
    }

    s = e->val;

    if (!kvmq_bit_range(s, start, end, isbit, &lo, &hi)) {
        kvmq_reply_int(c, -1);
        return;
    }

    pos = kvmq_bit_find(s->data, lo, hi, (int) bit);

    /*
     * No 0 in the range: without an explicit end the string counts as
     * padded with zeros, so the answer is the first bit past the range.
     */
    if (pos < 0 && bit == 0 && !end_given) {
        pos = (int64_t) hi + 1;
    }

    kvmq_reply_int(c, pos);
}


/* ---- BITOP ------------------------------------------------------------- */


#define KVMQ_BITOP_AND  0
#define KVMQ_BITOP_OR   1
#define KVMQ_BITOP_XOR  2
#define KVMQ_BITOP_NOT  3


void
kvmq_cmd_bitop(kvmq_ctx_t *c, int argc, const kvmq_slice_t *argv)
{
    int             op, i, wrong;
    size_t          maxlen, len, j;
    kvmq_entry_t   *e, *dst;
    kvmq_string_t  *s, *r;

    if (kvmq_arg_is(&argv[1], "AND")) {
        op = KVMQ_BITOP_AND;

    } else if (kvmq_arg_is(&argv[1], "OR")) {
        op = KVMQ_BITOP_OR;

    } else if (kvmq_arg_is(&argv[1], "XOR")) {
        op = KVMQ_BITOP_XOR;

    } else if (kvmq_arg_is(&argv[1], "NOT")) {
        op = KVMQ_BITOP_NOT;

    } else {
        kvmq_reply_syntax(c);
        return;
    }

    if (op == KVMQ_BITOP_NOT && argc != 4) {
        kvmq_reply_error(c, KVMQ_ERR_BADREQ,
                         "BITOP NOT must be called with a single source key.");
        return;
    }

    /* first pass: types and the result length */
    maxlen = 0;

    for (i = 3; i < argc; i++) {
        e = kvmq_bit_lookup(c, &argv[i], &wrong);

        if (wrong) {
            return;
        }

        if (e != NULL) {
            s = e->val;

            if (s->len > maxlen) {
                maxlen = s->len;
            }
        }
    }

    dst = kvmq_lookup_write(c, &argv[2]);

    if (maxlen == 0) {
        if (dst != NULL) {
            kvmq_db_delete(c, dst);
        }

        kvmq_reply_int(c, 0);
        return;
    }

    r = kvmq_string_new(c, NULL, 0, maxlen);
    if (r == NULL) {
        kvmq_reply_nomem(c);
        return;
    }

    r->len = (uint32_t) maxlen;
    memset(r->data, 0, maxlen);

    /*
     * Second pass: fold each source into r.  Bytes past a source's end
     * are zeros: they clear r under AND and leave it under OR and XOR.
     * Entries stay valid: the allocation above never evicts a key of
     * this command, and the clock does not move within it.
     */
    for (i = 3; i < argc; i++) {
        e = kvmq_lookup_write(c, &argv[i]);
        s = e ? e->val : NULL;
        len = s ? s->len : 0;

        if (i == 3) {
            if (len) {
                memcpy(r->data, s->data, len);
            }

            if (op == KVMQ_BITOP_NOT) {
                for (j = 0; j < maxlen; j++) {
                    r->data[j] = (unsigned char) ~r->data[j];
                }
            }

            continue;
        }

        switch (op) {

        case KVMQ_BITOP_AND:
            for (j = 0; j < len; j++) {
                r->data[j] &= s->data[j];
            }

            memset(r->data + len, 0, maxlen - len);
            break;

        case KVMQ_BITOP_OR:
            for (j = 0; j < len; j++) {
                r->data[j] |= s->data[j];
            }

            break;

        default: /* KVMQ_BITOP_XOR */
            for (j = 0; j < len; j++) {
                r->data[j] ^= s->data[j];
            }

            break;
        }
    }

    if (dst == NULL) {
        dst = kvmq_db_add(c, &argv[2], KVMQ_TYPE_STRING, r);
        if (dst == NULL) {
            kvmq_string_free(c, r);
            kvmq_reply_nomem(c);
            return;
        }

    } else {
        kvmq_db_replace(c, dst, KVMQ_TYPE_STRING, r);
        kvmq_db_set_expire(c, dst, 0);
    }

    kvmq_db_touch_write(c, dst);
    kvmq_reply_int(c, (int64_t) maxlen);
}
