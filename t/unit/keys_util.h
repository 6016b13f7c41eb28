/*
 * Helpers shared by the keyspace unit tests (keys.c, scan.c): formatted
 * command runs, error message checks, typed keys, and collectors for
 * KEYS/SCAN replies.
 */

#ifndef KVMQ_TEST_KEYS_UTIL_H
#define KVMQ_TEST_KEYS_UTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <stdarg.h>

#include "host.h"
#include "../../src/db.h"


#define T0          1700000000000LL     /* a whole second, in ms */
#define STABLE      5000
#define LARGE       100000


static inline const char *
run(th_t *h, const char *fmt, ...)
{
    char     line[1024];
    va_list  args;

    va_start(args, fmt);
    vsnprintf(line, sizeof(line), fmt, args);
    va_end(args);

    return th_run(h, line);
}


static inline int
is(th_t *h, const char *expect, const char *fmt, ...)
{
    char     line[1024];
    va_list  args;

    va_start(args, fmt);
    vsnprintf(line, sizeof(line), fmt, args);
    va_end(args);

    return th_is(h, line, expect, line);
}


static inline void
errmsg_is(th_t *h, const char *expect)
{
    char  label[600];

    snprintf(label, sizeof(label), "  message: %s", expect);
    tap_is_str(h->errmsg, expect, label);
}


/* a key of another type than string, holding no value */
static inline void
add_typed(th_t *h, const char *key, kvmq_type_e type)
{
    kvmq_slice_t  k;

    k.data = (const unsigned char *) key;
    k.len = strlen(key);

    if (kvmq_db_add(&h->ctx, &k, type, NULL) == NULL) {
        tap_ok(0, "add %s", key);
    }
}


/*
 * Walk the bulk strings of a rendered reply (keys hold no escapes here)
 * and call fn for each.  Returns the count.
 */
static inline unsigned
each_bulk(const char *s, void (*fn)(void *arg, const char *p, size_t len),
    void *arg)
{
    unsigned     n;
    const char  *q;

    n = 0;

    while ((s = strchr(s, '"')) != NULL) {
        q = strchr(s + 1, '"');
        if (q == NULL) {
            break;
        }

        if (fn) {
            fn(arg, s + 1, (size_t) (q - s - 1));
        }

        n++;
        s = q + 1;
    }

    return n;
}


typedef struct {
    char    *items[8192];
    unsigned n;
} strlist_t;


static inline void
strlist_add(void *arg, const char *p, size_t len)
{
    strlist_t  *l;

    l = arg;

    if (l->n < 8192) {
        l->items[l->n] = malloc(len + 1);
        memcpy(l->items[l->n], p, len);
        l->items[l->n][len] = '\0';
        l->n++;
    }
}


static inline int
strcmp_p(const void *a, const void *b)
{
    return strcmp(*(char * const *) a, *(char * const *) b);
}


/* the bulks of a reply, sorted and joined with ',' (order-free compare) */
static inline const char *
sorted_bulks(const char *reply)
{
    static char  out[65536];
    size_t       len;
    unsigned     i;
    strlist_t   *l;

    l = calloc(1, sizeof(strlist_t));
    each_bulk(reply, strlist_add, l);
    qsort(l->items, l->n, sizeof(char *), strcmp_p);

    len = 0;
    out[0] = '\0';

    for (i = 0; i < l->n; i++) {
        len += (size_t) snprintf(out + len, sizeof(out) - len, "%s%s",
                                 i ? "," : "", l->items[i]);
        free(l->items[i]);
    }

    free(l);

    return out;
}


/*
 * Parse ["cursor",[keys...]]; returns -1 when the shape is wrong.  The
 * cursor is the first bulk; fn gets the others.
 */
static inline int
scan_parse(const char *s, unsigned long long *cursor,
    void (*fn)(void *arg, const char *p, size_t len), void *arg)
{
    char  *end;

    if (strncmp(s, "[\"", 2) != 0) {
        return -1;
    }

    *cursor = strtoull(s + 2, &end, 10);

    if (strncmp(end, "\",[", 3) != 0) {
        return -1;
    }

    each_bulk(end + 3, fn, arg);

    return 0;
}


static inline int64_t
info_i64(th_t *h, const char *fmt, ...)
{
    long long  v;
    char       line[256];
    va_list    args;

    va_start(args, fmt);
    vsnprintf(line, sizeof(line), fmt, args);
    va_end(args);

    if (sscanf(th_run(h, line), ":%lld", &v) != 1) {
        return INT64_MIN;
    }

    return v;
}


/* ---- DEL UNLINK EXISTS TYPE TOUCH -------------------------------------- */


#endif /* KVMQ_TEST_KEYS_UTIL_H */
