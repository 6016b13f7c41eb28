/*
 * Dispatch on value types.
 *
 * Entries store their type as a tag (shared memory holds data, not code:
 * a function pointer in the zone would dangle after a reload maps a new
 * module binary).  These switches are the one place a type tag becomes
 * behaviour; a new type adds a case here.
 */

#include "aggr.h"
#include "db.h"
#include "mq.h"
#include "quicklist.h"
#include "zset.h"


const char *
kvmq_type_name(kvmq_type_e type)
{
    switch (type) {
    case KVMQ_TYPE_STRING:
        return "string";
    case KVMQ_TYPE_HASH:
        return "hash";
    case KVMQ_TYPE_LIST:
        return "list";
    case KVMQ_TYPE_SET:
        return "set";
    case KVMQ_TYPE_ZSET:
        return "zset";
    default:
        return "none";
    }
}


void
kvmq_value_free(kvmq_ctx_t *c, kvmq_type_e type, void *val)
{
    if (val == NULL) {
        return;
    }

    /* big values are freed in bounded steps by the cron (lazyfree.c) */
    if (kvmq_lazyfree_defer(c, type, val)) {
        return;
    }

    kvmq_value_free_now(c, type, val);
}


void
kvmq_value_free_now(kvmq_ctx_t *c, kvmq_type_e type, void *val)
{
    switch (type) {
    case KVMQ_TYPE_STRING:
        kvmq_string_free(c, val);
        break;

    case KVMQ_TYPE_HASH:
        kvmq_hash_free(c, val);
        break;

    case KVMQ_TYPE_SET:
        kvmq_set_free(c, val);
        break;

    case KVMQ_TYPE_LIST:
        kvmq_list_free(c, val);
        break;

    case KVMQ_TYPE_ZSET:
        kvmq_zset_free(c, val);
        break;

    case KVMQ_TYPE_QCHAIN:
        kvmq_qchain_free(c, val);
        break;

    default:
        /* types of later issues free their own structures here */
        kvmq_zfree(c, val);
        break;
    }
}


size_t
kvmq_value_size(kvmq_type_e type, const void *val)
{
    const kvmq_string_t  *s;

    switch (type) {
    case KVMQ_TYPE_STRING:
        s = val;
        return sizeof(kvmq_string_t) + s->cap + s->ctlen;

    case KVMQ_TYPE_HASH:
        return kvmq_hash_bytes(val);

    case KVMQ_TYPE_SET:
        return kvmq_set_bytes(val);

    case KVMQ_TYPE_LIST:
        return kvmq_list_bytes(val);

    case KVMQ_TYPE_ZSET:
        return kvmq_zset_bytes(val);

    default:
        return 0;
    }
}
