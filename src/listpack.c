/*
 * Packed entries: encoding, decoding and sizes.  The format and its
 * rationale are in listpack.h.
 */

#include "listpack.h"


#define KVMQ_LP_ENC_STR32   0xC0
#define KVMQ_LP_ENC_DBL     0xC1
#define KVMQ_LP_ENC_INT64   0xC2
#define KVMQ_LP_ENC_INT8    0xC3
#define KVMQ_LP_ENC_INT16   0xC4
#define KVMQ_LP_ENC_INT32   0xC5


size_t
kvmq_lp_str_size(size_t len)
{
    if (len < 64) {
        return 1 + len;
    }

    if (len < 16384) {
        return 2 + len;
    }

    return 5 + len;
}


size_t
kvmq_lp_int_size(long long v)
{
    if (v >= 0 && v < 64) {
        return 1;
    }

    if (v >= INT8_MIN && v <= INT8_MAX) {
        return 2;
    }

    if (v >= INT16_MIN && v <= INT16_MAX) {
        return 3;
    }

    if (v >= INT32_MIN && v <= INT32_MAX) {
        return 5;
    }

    return 9;
}


size_t
kvmq_lp_put_str(unsigned char *p, const void *s, size_t len)
{
    size_t    h;
    uint32_t  n;

    if (len < 64) {
        p[0] = (unsigned char) len;
        h = 1;

    } else if (len < 16384) {
        p[0] = (unsigned char) (0x40 | (len >> 8));
        p[1] = (unsigned char) (len & 0xff);
        h = 2;

    } else {
        n = (uint32_t) len;
        p[0] = KVMQ_LP_ENC_STR32;
        p[1] = (unsigned char) (n & 0xff);
        p[2] = (unsigned char) ((n >> 8) & 0xff);
        p[3] = (unsigned char) ((n >> 16) & 0xff);
        p[4] = (unsigned char) (n >> 24);
        h = 5;
    }

    if (len) {
        memcpy(p + h, s, len);
    }

    return h + len;
}


size_t
kvmq_lp_put_int(unsigned char *p, long long v)
{
    int8_t   i8;
    int16_t  i16;
    int32_t  i32;
    int64_t  i64;

    switch (kvmq_lp_int_size(v)) {

    case 1:
        p[0] = (unsigned char) (0x80 | v);
        return 1;

    case 2:
        i8 = (int8_t) v;
        p[0] = KVMQ_LP_ENC_INT8;
        memcpy(p + 1, &i8, 1);
        return 2;

    case 3:
        i16 = (int16_t) v;
        p[0] = KVMQ_LP_ENC_INT16;
        memcpy(p + 1, &i16, 2);
        return 3;

    case 5:
        i32 = (int32_t) v;
        p[0] = KVMQ_LP_ENC_INT32;
        memcpy(p + 1, &i32, 4);
        return 5;

    default:
        i64 = (int64_t) v;
        p[0] = KVMQ_LP_ENC_INT64;
        memcpy(p + 1, &i64, 8);
        return 9;
    }
}


size_t
kvmq_lp_put_dbl(unsigned char *p, double d)
{
    p[0] = KVMQ_LP_ENC_DBL;
    memcpy(p + 1, &d, 8);

    return 9;
}


size_t
kvmq_lp_get(const unsigned char *p, kvmq_lp_val_t *v)
{
    int8_t    i8;
    int16_t   i16;
    int32_t   i32;
    int64_t   i64;
    uint32_t  n;

    if (p[0] < 0x40) {
        v->type = KVMQ_LP_STR;
        v->len = p[0];
        v->str = p + 1;
        return 1 + v->len;
    }

    if (p[0] < 0x80) {
        v->type = KVMQ_LP_STR;
        v->len = ((size_t) (p[0] & 0x3f) << 8) | p[1];
        v->str = p + 2;
        return 2 + v->len;
    }

    if (p[0] < 0xC0) {
        v->type = KVMQ_LP_INT;
        v->ll = p[0] & 0x3f;
        return 1;
    }

    switch (p[0]) {

    case KVMQ_LP_ENC_STR32:
        n = (uint32_t) p[1] | ((uint32_t) p[2] << 8)
            | ((uint32_t) p[3] << 16) | ((uint32_t) p[4] << 24);
        v->type = KVMQ_LP_STR;
        v->len = n;
        v->str = p + 5;
        return 5 + v->len;

    case KVMQ_LP_ENC_DBL:
        v->type = KVMQ_LP_DBL;
        memcpy(&v->d, p + 1, 8);
        return 9;

    case KVMQ_LP_ENC_INT8:
        memcpy(&i8, p + 1, 1);
        v->type = KVMQ_LP_INT;
        v->ll = i8;
        return 2;

    case KVMQ_LP_ENC_INT16:
        memcpy(&i16, p + 1, 2);
        v->type = KVMQ_LP_INT;
        v->ll = i16;
        return 3;

    case KVMQ_LP_ENC_INT32:
        memcpy(&i32, p + 1, 4);
        v->type = KVMQ_LP_INT;
        v->ll = i32;
        return 5;

    default:
        memcpy(&i64, p + 1, 8);
        v->type = KVMQ_LP_INT;
        v->ll = i64;
        return 9;
    }
}


size_t
kvmq_lp_size(const unsigned char *p)
{
    kvmq_lp_val_t  v;

    return kvmq_lp_get(p, &v);
}


double
kvmq_lp_number(const kvmq_lp_val_t *v)
{
    switch (v->type) {
    case KVMQ_LP_INT:
        return (double) v->ll;
    case KVMQ_LP_DBL:
        return v->d;
    default:
        return 0;
    }
}


kvmq_slice_t
kvmq_lp_bytes(const kvmq_lp_val_t *v, char *buf)
{
    kvmq_slice_t  s;

    switch (v->type) {

    case KVMQ_LP_STR:
        s.data = v->str;
        s.len = v->len;
        break;

    case KVMQ_LP_INT:
        s.len = kvmq_ll2str(buf, v->ll);
        s.data = (const unsigned char *) buf;
        break;

    default:
        s.len = kvmq_d2str(buf, v->d);
        s.data = (const unsigned char *) buf;
        break;
    }

    return s;
}


int
kvmq_lp_cmp(const kvmq_lp_val_t *v, const void *s, size_t len)
{
    int           d;
    char          buf[KVMQ_NUMBUF];
    kvmq_slice_t  a;

    a = kvmq_lp_bytes(v, buf);

    d = memcmp(a.data, s, a.len < len ? a.len : len);

    if (d != 0) {
        return d;
    }

    return (a.len < len) ? -1 : (a.len > len);
}


size_t
kvmq_lp_seek(const unsigned char *area, size_t used, size_t index)
{
    size_t  off;

    for (off = 0; index && off < used; index--) {
        off += kvmq_lp_size(area + off);
    }

    return off;
}


size_t
kvmq_slab_round(size_t size)
{
    size_t  n;

    if (size > KVMQ_SLAB_MAX_SMALL) {
        return (size + KVMQ_SLAB_PAGE - 1) & ~((size_t) KVMQ_SLAB_PAGE - 1);
    }

    for (n = 8; n < size; n <<= 1) { /* void */ }

    return n;
}
