/*
 * Dispatch on value types.
 *
 * Entries store their type as a tag (shared memory holds data, not code:
 * a function pointer in the zone would dangle after a reload maps a new
 * module binary).  These switches are the one place a type tag becomes
 * behaviour; a new type adds a case here.
 */

#include "engine.h"


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

    switch (type) {
    case KVMQ_TYPE_STRING:
        kvmq_string_free(c, val);
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

    default:
        return 0;
    }
}
