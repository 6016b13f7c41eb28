/*
 * Key hashing and the engine's random numbers.
 *
 * Keys come from the network, so the keyspace hash must not let a client
 * choose colliding keys: SipHash-1-3 with a per-zone random seed, as Redis
 * uses for its dicts.  The seed is picked when the zone is created and
 * kept in the db, so every worker (and a reload that keeps the zone)
 * hashes alike.
 *
 * kvmq_random() is xorshift64* over a state kept in the db: sampling for
 * eviction and RANDOMKEY need no cryptographic quality, only speed and a
 * state that all workers share.
 */

#include "db.h"


#define ROTL(x, b)  (uint64_t) (((x) << (b)) | ((x) >> (64 - (b))))

#define SIPROUND                                                              \
    do {                                                                      \
        v0 += v1; v1 = ROTL(v1, 13); v1 ^= v0; v0 = ROTL(v0, 32);             \
        v2 += v3; v3 = ROTL(v3, 16); v3 ^= v2;                                \
        v0 += v3; v3 = ROTL(v3, 21); v3 ^= v0;                                \
        v2 += v1; v1 = ROTL(v1, 17); v1 ^= v2; v2 = ROTL(v2, 32);             \
    } while (0)


static uint64_t
kvmq_load64(const unsigned char *p)
{
    return (uint64_t) p[0] | ((uint64_t) p[1] << 8)
           | ((uint64_t) p[2] << 16) | ((uint64_t) p[3] << 24)
           | ((uint64_t) p[4] << 32) | ((uint64_t) p[5] << 40)
           | ((uint64_t) p[6] << 48) | ((uint64_t) p[7] << 56);
}


uint64_t
kvmq_hash(const void *data, size_t len, uint64_t seed)
{
    uint64_t              k0, k1, v0, v1, v2, v3, m, b;
    size_t                i, left;
    const unsigned char  *p;

    p = data;
    k0 = seed;
    k1 = seed * 0x9e3779b97f4a7c15ULL ^ 0x5851f42d4c957f2dULL;

    v0 = 0x736f6d6570736575ULL ^ k0;
    v1 = 0x646f72616e646f6dULL ^ k1;
    v2 = 0x6c7967656e657261ULL ^ k0;
    v3 = 0x7465646279746573ULL ^ k1;

    for (i = 0; i + 8 <= len; i += 8) {
        m = kvmq_load64(p + i);
        v3 ^= m;
        SIPROUND;
        v0 ^= m;
    }

    b = (uint64_t) len << 56;
    left = len - i;

    switch (left) {
    case 7: b |= (uint64_t) p[i + 6] << 48; /* fall through */
    case 6: b |= (uint64_t) p[i + 5] << 40; /* fall through */
    case 5: b |= (uint64_t) p[i + 4] << 32; /* fall through */
    case 4: b |= (uint64_t) p[i + 3] << 24; /* fall through */
    case 3: b |= (uint64_t) p[i + 2] << 16; /* fall through */
    case 2: b |= (uint64_t) p[i + 1] << 8;  /* fall through */
    case 1: b |= (uint64_t) p[i];           /* fall through */
    default: break;
    }

    v3 ^= b;
    SIPROUND;
    v0 ^= b;

    v2 ^= 0xff;
    SIPROUND;
    SIPROUND;
    SIPROUND;

    return v0 ^ v1 ^ v2 ^ v3;
}


uint64_t
kvmq_random(kvmq_db_t *db)
{
    uint64_t  x;

    x = db->rng;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    db->rng = x;

    return x * 0x2545f4914f6cdd1dULL;
}
