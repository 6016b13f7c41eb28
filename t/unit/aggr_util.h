/*
 * Helpers shared by the hash and set unit tests (hash.c, set.c): a
 * key's entry and encoding, finishing a table's incremental rehash,
 * order-free comparison of rendered arrays and maps, commands with more
 * arguments than th_run() splits, and the NOMEM sweep: a write run with
 * the zone limited to the bytes in use plus 0, 1, 2 ... until it
 * succeeds, every failure checked to have changed nothing.
 */

#ifndef KVMQ_TEST_AGGR_UTIL_H
#define KVMQ_TEST_AGGR_UTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <stdarg.h>

#include "host.h"
#include "../../src/aggr.h"
#include "../../src/db.h"


static inline kvmq_entry_t *
au_entry(th_t *h, const char *key)
{
    kvmq_slice_t  k;

    k.data = (const unsigned char *) key;
    k.len = strlen(key);

    return kvmq_lookup_write(&h->ctx, &k);
}


/* the encoding of an aggregate key, or 0 */
static inline int
au_enc(th_t *h, const char *key, kvmq_type_e type)
{
    kvmq_entry_t  *e;

    e = au_entry(h, key);

    return (e != NULL && e->type == type) ? kvmq_aggr_enc(e->val) : 0;
}


static inline int
au_count(const char *hay, const char *needle)
{
    int          n;
    const char  *p;

    n = 0;

    for (p = hay; (p = strstr(p, needle)) != NULL; p += strlen(needle)) {
        n++;
    }

    return n;
}


/* finish a table's incremental rehash: lookups move its buckets */
static inline void
au_settle(th_t *h, const char *key)
{
    int                 i;
    char                line[128];
    kvmq_entry_t       *e;
    kvmq_aggr_table_t  *t;

    /* the keyspace table too: its rehash would move on in the lookups */
    while (h->db->keys.rehashidx >= 0) {
        (void) kvmq_db_cron(&h->ctx, 1000, 100000);
    }

    for (i = 0; i < 1000000; i++) {
        e = au_entry(h, key);

        if (e == NULL || (e->type != KVMQ_TYPE_HASH
                          && e->type != KVMQ_TYPE_SET)
            || kvmq_aggr_enc(e->val) != KVMQ_ENC_TABLE)
        {
            return;
        }

        t = e->val;

        if (t->ht.rehashidx < 0) {
            return;
        }

        snprintf(line, sizeof(line), "%s %s -",
                 e->type == KVMQ_TYPE_HASH ? "HEXISTS" : "SISMEMBER", key);
        th_run(h, line);
    }
}


static inline int
au_cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *) a, *(char *const *) b);
}


/*
 * A rendered reply with the top-level items of its array or map sorted
 * (a map's items are "key":value), so that replies in table order
 * compare.  Anything else is copied as it is.
 */
static inline void
au_sorted(const char *in, char *out, size_t size)
{
    int      depth, quote, n, i;
    char    *copy, *p, **items;
    size_t   len;

    len = strlen(in);

    if (len < 2 || (in[0] != '[' && in[0] != '{')) {
        snprintf(out, size, "%s", in);
        return;
    }

    copy = strdup(in + 1);
    copy[len - 2] = '\0';
    items = malloc((len + 1) * sizeof(char *));
    n = 0;
    depth = 0;
    quote = 0;

    if (copy[0] != '\0') {
        items[n++] = copy;
    }

    for (p = copy; *p; p++) {
        if (quote) {
            if (*p == '\\' && p[1]) {
                p++;

            } else if (*p == '"') {
                quote = 0;
            }

            continue;
        }

        if (*p == '"') {
            quote = 1;

        } else if (*p == '[' || *p == '{') {
            depth++;

        } else if (*p == ']' || *p == '}') {
            depth--;

        } else if (*p == ',' && depth == 0) {
            *p = '\0';
            items[n++] = p + 1;
        }
    }

    qsort(items, (size_t) n, sizeof(char *), au_cmp_str);

    len = (size_t) snprintf(out, size, "%c", in[0]);

    for (i = 0; i < n && len < size; i++) {
        len += (size_t) snprintf(out + len, size - len, "%s%s",
                                 i ? "," : "", items[i]);
    }

    if (len < size) {
        snprintf(out + len, size - len, "%c", in[0] == '[' ? ']' : '}');
    }

    free(items);
    free(copy);
}


/* check that line's reply, items in any order, is expect */
static inline int
au_is_sorted(th_t *h, const char *line, const char *expect)
{
    char  got[65536], want[65536];

    au_sorted(th_run(h, line), got, sizeof(got));
    au_sorted(expect, want, sizeof(want));

    tap_is_str(got, want, line);

    return strcmp(got, want) == 0;
}


/*
 * Run CMD KEY followed by n generated words: "PREFIXi" (and, with
 * pairs, the value "i") for i from "from"; for commands longer than
 * th_run() splits.
 */
static inline const char *
au_run_many(th_t *h, const char *cmd, const char *key, const char *prefix,
    int from, int n, int pairs)
{
    int            i, argc;
    char          *buf, *p;
    const char    *out;
    kvmq_slice_t  *argv;

    argv = calloc(2 + 2 * (size_t) n, sizeof(kvmq_slice_t));
    buf = malloc(64 * (size_t) n + 1);
    p = buf;
    argc = 0;

    argv[argc].data = (const unsigned char *) cmd;
    argv[argc++].len = strlen(cmd);
    argv[argc].data = (const unsigned char *) key;
    argv[argc++].len = strlen(key);

    for (i = from; i < from + n; i++) {
        argv[argc].data = (unsigned char *) p;
        argv[argc++].len = (size_t) sprintf(p, "%s%d", prefix, i);
        p += argv[argc - 1].len;

        if (pairs) {
            argv[argc].data = (unsigned char *) p;
            argv[argc++].len = (size_t) sprintf(p, "%d", i);
            p += argv[argc - 1].len;
        }
    }

    out = th_runv(h, argc, argv);

    free(argv);
    free(buf);

    return out;
}


/*
 * Run line with the zone limited to the bytes in use plus 0, 1, 2 ...
 * until it succeeds.  Every failure must be NOMEM with the reply of
 * check (items in any order) and the host's byte count unchanged; then
 * the reply must be expect, after at least must_fail failures.
 */
static inline void
au_nomem_sweep(th_t *h, const char *line, const char *expect,
    const char *check, const char *key, int must_fail)
{
    int          bad, fails;
    char        *before, *after;
    size_t       used, extra;
    const char  *out;

    before = malloc(65536);
    after = malloc(65536);

    /* values deleted earlier would give memory back on a failure, and
     * the lookups of a failing write may move a rehash on (harmless,
     * but it changes the bytes and the order) */
    h->limit = 0;
    kvmq_lazyfree_drain(&h->ctx);
    au_settle(h, key);

    au_sorted(th_run(h, check), before, 65536);
    used = h->used;
    bad = 0;
    fails = 0;
    out = "";

    for (extra = 0; extra < 1 << 20; extra += (extra < 4096) ? 1 : 8) {
        h->limit = used + extra;
        out = th_run(h, line);

        if (h->reply.err != KVMQ_ERR_NOMEM) {
            break;
        }

        fails++;
        h->limit = 0;

        au_sorted(th_run(h, check), after, 65536);

        if (h->used != used || strcmp(after, before) != 0) {
            if (bad++ == 0) {
                tap_diag("after NOMEM with %zu bytes to spare: %zu bytes "
                         "used (was %zu), %.200s", extra, h->used, used,
                         after);
            }
        }
    }

    h->limit = 0;

    tap_ok(fails >= must_fail && bad == 0, "%.60s: NOMEM at %d points, each "
           "left the data and the bytes as they were", line, fails);
    tap_is_str(out, expect, "  ... then it succeeds");

    free(before);
    free(after);
}

#endif /* KVMQ_TEST_AGGR_UTIL_H */
