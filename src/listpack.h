/*
 * Packed entries: the byte format of every compact encoding (list nodes,
 * small sorted sets, and any small hash or set that wants it).
 *
 * A packed area is a run of entries laid end to end with no per-area
 * header: the container that owns the bytes keeps its own count, bytes
 * used and capacity (a quicklist node, a packed zset block ...).  Each
 * entry starts with one encoding byte:
 *
 *     00LLLLLL                  string, length 0..63 follows
 *     01LLLLLL LLLLLLLL         string, length 64..16383 (14 bits, big end)
 *     10VVVVVV                  integer 0..63, no payload
 *     0xC0 + 4 bytes            string, 32-bit length (little end)
 *     0xC1 + 8 bytes            double (host byte order)
 *     0xC2 + 8 bytes            int64
 *     0xC3 + 1 / 0xC4 + 2 / 0xC5 + 4 bytes    int8 / int16 / int32
 *
 * So a 16-byte string costs 17 bytes and a small integer 1.  Unlike
 * Redis' listpack there is no back-length byte: containers walk forward
 * only, and the few operations that go backwards (RPOP, negative LPOS)
 * stay inside one bounded node where a forward scan is cheap.  Reading
 * goes through kvmq_lp_get(), which returns the decoded value and the
 * entry's size; payloads may be unaligned, so numbers are copied out.
 *
 * kvmq_slab_round() gives the block size ngx_slab really hands out for a
 * request: a power of two from 8 to 2048, or whole 4 KB pages above.
 * Containers ask for exactly that much and use it all as capacity.
 */

#ifndef KVMQ_LISTPACK_H
#define KVMQ_LISTPACK_H

#include "engine.h"


#define KVMQ_LP_STR        1
#define KVMQ_LP_INT        2
#define KVMQ_LP_DBL        3

/* the largest encoded size of a number entry */
#define KVMQ_LP_NUM_MAX    9

#define KVMQ_SLAB_PAGE     4096
#define KVMQ_SLAB_MAX_SMALL  2048


typedef struct {
    int                   type;       /* KVMQ_LP_STR, _INT or _DBL */
    const unsigned char  *str;        /* KVMQ_LP_STR */
    size_t                len;
    long long             ll;         /* KVMQ_LP_INT */
    double                d;          /* KVMQ_LP_DBL */
} kvmq_lp_val_t;


size_t kvmq_lp_str_size(size_t len);
size_t kvmq_lp_int_size(long long v);

/* encode at p (room checked by the caller); return the bytes written */
size_t kvmq_lp_put_str(unsigned char *p, const void *s, size_t len);
size_t kvmq_lp_put_int(unsigned char *p, long long v);
size_t kvmq_lp_put_dbl(unsigned char *p, double d);

/* decode the entry at p into v; return its size */
size_t kvmq_lp_get(const unsigned char *p, kvmq_lp_val_t *v);

/* the size of the entry at p */
size_t kvmq_lp_size(const unsigned char *p);

/* a number entry's value as a double (ints converted); 0 for strings */
double kvmq_lp_number(const kvmq_lp_val_t *v);

/*
 * Compare the entry's bytes with s: strings by memcmp then length,
 * numbers by their decimal text (as Redis compares listpack integers).
 * Returns <0, 0, >0.
 */
int kvmq_lp_cmp(const kvmq_lp_val_t *v, const void *s, size_t len);

/* the entry's bytes (numbers formatted into buf, KVMQ_NUMBUF bytes) */
kvmq_slice_t kvmq_lp_bytes(const kvmq_lp_val_t *v, char *buf);

/* offset of entry number index in an area of used bytes (forward walk) */
size_t kvmq_lp_seek(const unsigned char *area, size_t used, size_t index);

size_t kvmq_slab_round(size_t size);

#endif /* KVMQ_LISTPACK_H */
