/*
 * What t_hash.c shares with t_hash_scan.c.
 */

#ifndef KVMQ_T_HASH_H
#define KVMQ_T_HASH_H

#include "engine.h"


typedef void (*kvmq_hash_fn)(void *arg, const kvmq_slice_t *f,
    const kvmq_slice_t *v);

/* every field and value of a hash value, in the encoding's order */
void kvmq_hash_each(void *val, kvmq_hash_fn fn, void *arg);

/* NULL (*e) when absent; -1 (WRONGTYPE replied) for another type */
int kvmq_hash_lookup(kvmq_ctx_t *c, const kvmq_slice_t *key, int write,
    kvmq_entry_t **e);

#endif /* KVMQ_T_HASH_H */
