/*
 * Helpers shared by the unit tests of the aggregate types (list.c,
 * zset.c, lazyfree.c): reply checks, WRONGTYPE probes and the NOMEM
 * sweep.  All static inline, so a test that does not use one of them
 * does not warn.
 */

#ifndef KVMQ_TEST_AGG_UTIL_H
#define KVMQ_TEST_AGG_UTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "host.h"
#include "../../src/db.h"


static th_t  *h;


static inline void
is(const char *line, const char *expect)
{
    th_is(h, line, expect, NULL);
}


/* an error reply: its code and its message */
static inline void
err(const char *line, const char *code, const char *msg)
{
    char  expect[64];

    snprintf(expect, sizeof(expect), "!%s", code);
    th_is(h, line, expect, NULL);
    tap_is_str(h->errmsg, msg, "  ... message");
}


static inline kvmq_entry_t *
entry(const char *key)
{
    kvmq_slice_t  k;

    k.data = (const unsigned char *) key;
    k.len = strlen(key);

    return kvmq_lookup_write(&h->ctx, &k);
}


/*
 * A key holding a value of another type (a hash), for the WRONGTYPE
 * paths of the string tests; other_drop() checks that the command under
 * test left it so, and deletes it.
 */
static inline void
other_make(const char *key)
{
    char  line[128];

    snprintf(line, sizeof(line), "DEL %s", key);
    th_run(h, line);
    snprintf(line, sizeof(line), "HSET %s f v", key);
    th_run(h, line);
}


static inline int
other_is(const char *key)
{
    kvmq_entry_t  *e;

    e = entry(key);

    return e != NULL && e->type != KVMQ_TYPE_STRING;
}


static inline void
other_drop(const char *key)
{
    char  line[128];

    tap_ok(other_is(key), "%s still of the other type", key);

    snprintf(line, sizeof(line), "DEL %s", key);
    th_run(h, line);
}


/*
 * th_run() for lines of any number of arguments: a line without quotes
 * is split on spaces here (th_run stops at 256 arguments).
 */
static inline const char *
run(const char *line)
{
    int            argc;
    char          *copy, *p, *save;
    const char    *out;
    kvmq_slice_t  *argv;

    if (strchr(line, '"') != NULL) {
        return th_run(h, line);
    }

    copy = strdup(line);
    argv = malloc((strlen(line) / 2 + 2) * sizeof(kvmq_slice_t));
    argc = 0;

    for (p = strtok_r(copy, " ", &save); p; p = strtok_r(NULL, " ", &save)) {
        argv[argc].data = (const unsigned char *) p;
        argv[argc].len = strlen(p);
        argc++;
    }

    out = th_runv(h, argc, argv);

    free(argv);
    free(copy);

    return out;
}


/*
 * Every pending lazy free done and no keyspace rehash under way, so that
 * h->used is exact: a lookup of the command under test would otherwise
 * finish a rehash and free the old table's buckets.
 */
static inline void
drain(void)
{
    while (kvmq_db_lazyfree_pending(h->db) != 0
           || h->db->keys.rehashidx >= 0)
    {
        (void) kvmq_db_cron(&h->ctx, 1000, 100000);
    }
}


/* the replies of one or more commands separated by " ; " */
static inline char *
dump(const char *cmds)
{
    char        *out, *line, *p, *semi;
    size_t       len;
    const char  *got;

    out = calloc(1, 1);
    line = strdup(cmds);

    for (p = line; p != NULL; p = semi) {
        semi = strstr(p, " ; ");

        if (semi != NULL) {
            *semi = '\0';
            semi += 3;
        }

        got = th_run(h, p);
        len = strlen(out);
        out = realloc(out, len + strlen(got) + 2);
        memcpy(out + len, got, strlen(got));
        out[len + strlen(got)] = '|';
        out[len + strlen(got) + 1] = '\0';
    }

    free(line);

    return out;
}


/*
 * Run "line" with the zone limited to the bytes in use plus "extra",
 * extra growing by "step" until the command stops failing with NOMEM.
 * Every failure must leave the replies of "cmds" (reads) and the bytes
 * in use exactly as they were.  Returns the reply of the run that
 * succeeded (valid until the next run).
 */
static inline void
nomem_sweep(const char *line, const char *cmds, size_t step,
    const char *expect, const char *name)
{
    int          fails, bad;
    char        *before, *after, *got;
    size_t       used, extra;

    drain();

    before = dump(cmds);
    used = h->used;
    fails = 0;
    bad = 0;
    got = NULL;

    for (extra = 0; extra < 64 * 1024 * 1024; extra += step) {
        h->limit = used + extra;

        free(got);
        got = strdup(run(line));

        if (strcmp(got, "!NOMEM") != 0) {
            break;
        }

        fails++;
        after = dump(cmds);

        if (strcmp(after, before) != 0 || h->used != used) {
            tap_diag("%s: after NOMEM at +%zu: %s (used %zu, was %zu)",
                     name, extra, after, h->used, used);
            bad = 1;
            free(after);
            break;
        }

        free(after);
    }

    h->limit = 0;

    tap_ok(!bad && fails > 0,
           "%s: NOMEM at %d allocation points left it as it was", name,
           fails);
    tap_is_str(got, expect, "  ... then it succeeds");

    free(got);
    free(before);
}


/* the command fails with WRONGTYPE and the key keeps its value */
static inline void
wrongtype(const char *line)
{
    char  name[256];

    snprintf(name, sizeof(name), "WRONGTYPE: %s", line);
    th_is(h, line, "!WRONGTYPE", name);
}

#endif /* KVMQ_TEST_AGG_UTIL_H */
