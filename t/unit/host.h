/*
 * A test host for the engine: a malloc allocator with byte accounting and
 * an optional limit (to provoke NOMEM and eviction), a reply builder that
 * renders replies as compact text, a settable clock, and TAP output.
 *
 * Rendering:  status +OK   integer :5   double ,1.5   bulk "foo"
 * (non-printable bytes as \xNN, quote and backslash escaped)   nil nil
 * array [a,b]   map {k:v,k:v}   error !CODE (message in th->errmsg).
 */

#ifndef KVMQ_TEST_HOST_H
#define KVMQ_TEST_HOST_H

#include "../../src/engine.h"


typedef struct {
    kvmq_alloc_t     alloc;
    kvmq_reply_t     reply;
    kvmq_ctx_t       ctx;
    kvmq_db_t       *db;

    size_t           used;
    size_t           limit;        /* 0 = unlimited */
    size_t           allocs;

    char            *out;          /* rendered reply */
    size_t           outlen;
    size_t           outcap;
    int              need_comma[64];
    int              depth;

    char             errmsg[512];
    kvmq_meta_t      meta;
    int              has_meta;
} th_t;


th_t *th_new(size_t limit, kvmq_evict_e policy);
void th_free(th_t *h);

/* set the engine clock (ms since epoch); the default is the real time */
void th_set_time(th_t *h, int64_t ms);

/*
 * Run a command line.  Arguments are split on spaces; "double quoted"
 * arguments may hold spaces and the escapes \" \\ \n \r \t \xNN.
 * Returns the rendered reply (valid until the next run).
 */
const char *th_run(th_t *h, const char *line);

/* run with explicit binary arguments */
const char *th_runv(th_t *h, int argc, const kvmq_slice_t *argv);

/* TAP: "ok N - name" when the reply of line equals expect */
int th_is(th_t *h, const char *line, const char *expect, const char *name);

/* TAP primitives */
void tap_ok(int cond, const char *fmt, ...);
void tap_is_str(const char *got, const char *expect, const char *name);
void tap_is_int(long long got, long long expect, const char *name);
void tap_diag(const char *fmt, ...);
int tap_done(void);          /* prints the plan; returns the exit code */

#endif /* KVMQ_TEST_HOST_H */
