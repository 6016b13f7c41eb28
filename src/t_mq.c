/*
 * The queue and exchange commands.  Option and property names are the
 * lowercase JSON keys of API.md, matched case-insensitively; booleans
 * are 0|1|true|false; replies that are JSON objects for the doors are
 * maps, and booleans in them are integers 0/1.
 *
 * Q.DECLARE q [durable B] [exclusive B] [auto_delete B] [max_length N]
 *           [max_length_bytes N] [overflow drop-head|reject-publish|
 *           reject-publish-dlx] [message_ttl MS] [expires MS]
 *           [dead_letter_exchange X] [dead_letter_routing_key K]
 *     -> {queue, created, messages, consumers}.  q "" gets a server name
 *     (amq.gen-...).  Same options again: created 0.  Other options:
 *     PRECONDITION "inequivalent arg 'NAME' for queue 'q'".  An exclusive
 *     queue belongs to c->owner (BADREQ without one); another owner gets
 *     DENIED.  Names starting with "amq." are DENIED.
 * Q.DELETE q [if_unused] [if_empty]        -> ready messages deleted
 * Q.PURGE q                                -> ready messages purged
 * Q.PUBLISH q body [PROPERTY value ...]    -> {queued: 1}
 *     PROPERTY: correlation_id S, reply_to S, message_id S,
 *     content_type S, expiration MS, persistent B, priority 0..255,
 *     timestamp SECONDS, header NAME VALUE (repeatable).  NOTFOUND
 *     without such a queue (a publish to an RPC reply address answers
 *     it), QUEUEFULL when reject-publish refuses it.
 * Q.GET q [COUNT n] [ACK manual|auto] [VISIBILITY ms] [CONSUMER id]
 *     -> [{queue, tag, body, redelivered, exchange, routing_key,
 *          properties: {...}}, ...]   (empty array when nothing is ready)
 *     COUNT 1 by default; ACK manual by default, with VISIBILITY 30 min
 *     by default (0 = no deadline).  CONSUMER names the holder whose
 *     deliveries kvmq_queue_release() can return; a get run for a
 *     connection (c->owner) is held by it and returned when it goes.
 *     When CONSUMER names a registered consumer its prefetch applies.
 * Q.ACK q tag...                           -> number acked
 * Q.NACK q tag... [REQUEUE 0|1]            -> number settled
 *     REQUEUE 1 (default) puts them back at their original position,
 *     redelivered; 0 dead-letters (reason rejected) or drops them.  An
 *     unknown or settled tag: PRECONDITION "unknown delivery tag N" and
 *     nothing changes.
 * Q.INFO q -> {name, durable, exclusive, auto_delete, overflow, [options
 *     that are set], ready, ready_bytes, unacked, consumers, published,
 *     delivered, redelivered, acked, rejected, requeued, dead_lettered,
 *     expired, dropped, refused}
 * Q.LIST   -> [{name, ready, unacked, consumers}, ...] by name
 *
 * X.DECLARE x direct|fanout|topic|headers [durable B]
 *     -> {exchange, created}; another type or durability: PRECONDITION
 * X.DELETE x [if_unused]                   -> 1
 * X.BIND x q routing_key [NAME VALUE ...]  -> 1 bound, 0 already bound
 *     the pairs are the binding's arguments (x-match all|any|all-with-x|
 *     any-with-x for headers exchanges)
 * X.UNBIND x q routing_key [NAME VALUE ...] -> 1 unbound, 0 was not
 * X.PUBLISH x routing_key body [PROPERTY value ...] -> {routed: n}
 *     x "" is the default exchange.  When a queue refuses the message
 *     (reject-publish) the reply is QUEUEFULL; the other queues keep it.
 * X.LIST   -> [{name, type, durable, bindings}, ...] by name
 *
 * Lists are built whole under the lock: O(n log n) in queues or
 * exchanges.
 */

#include <stdio.h>
#include <stdlib.h>

#include "commands.h"
#include "db.h"
#include "mq.h"


#define KVMQ_GET_MAX    10000


static const kvmq_slice_t  kvmq_no_tag = { (const unsigned char *) "", 0 };


/* ---- small helpers ----------------------------------------------------- */


static int
kvmq_mq_bool(kvmq_ctx_t *c, const kvmq_slice_t *a, uint8_t *v)
{
    if (kvmq_arg_is(a, "1") || kvmq_arg_is(a, "true")) {
        *v = 1;
        return 0;
    }

    if (kvmq_arg_is(a, "0") || kvmq_arg_is(a, "false")) {
        *v = 0;
        return 0;
    }

    kvmq_reply_error(c, KVMQ_ERR_BADREQ, "value is not a boolean");

    return -1;
}


static int
kvmq_mq_count(kvmq_ctx_t *c, const kvmq_slice_t *a, int64_t *v)
{
    long long  ll;

    if (kvmq_arg_ll(c, a, &ll) != 0) {
        return -1;
    }

    if (ll < 0) {
        kvmq_reply_error(c, KVMQ_ERR_BADREQ, "value must not be negative");
        return -1;
    }

    *v = ll;

    return 0;
}


static void
kvmq_reply_slice(kvmq_ctx_t *c, kvmq_slice_t s)
{
    kvmq_reply_bulk(c, s.data, s.len);
}


static void
kvmq_reply_kv(kvmq_ctx_t *c, const char *k, int64_t v)
{
    kvmq_reply_cstr(c, k);
    kvmq_reply_int(c, v);
}


static int
kvmq_mq_reserved(const kvmq_slice_t *name)
{
    return name->len >= 4 && memcmp(name->data, "amq.", 4) == 0;
}


static kvmq_queue_t *
kvmq_mq_queue(kvmq_ctx_t *c, const kvmq_slice_t *name, int use)
{
    kvmq_queue_t  *q;

    q = kvmq_queue_find(c, name);

    if (q == NULL) {
        kvmq_reply_error(c, KVMQ_ERR_NOTFOUND, "no queue '%.*s'",
                         (int) (name->len > 64 ? 64 : name->len),
                         (const char *) name->data);
        return NULL;
    }

    if (use && !kvmq_queue_usable(c, q)) {
        kvmq_reply_error(c, KVMQ_ERR_DENIED,
                         "cannot obtain exclusive access to locked queue "
                         "'%.*s'", (int) (name->len > 64 ? 64 : name->len),
                         (const char *) name->data);
        return NULL;
    }

    return q;
}


static kvmq_exchange_t *
kvmq_mq_exchange(kvmq_ctx_t *c, const kvmq_slice_t *name)
{
    kvmq_exchange_t  *x;

    x = kvmq_exchange_find(c, name);

    if (x == NULL) {
        kvmq_reply_error(c, KVMQ_ERR_NOTFOUND, "no exchange '%.*s'",
                         (int) (name->len > 64 ? 64 : name->len),
                         (const char *) name->data);
    }

    return x;
}


/* ---- Q.DECLARE --------------------------------------------------------- */


static int
kvmq_qopts_parse(kvmq_ctx_t *c, const kvmq_slice_t *argv, int argc,
    kvmq_qopts_t *o)
{
    int                  i;
    const kvmq_slice_t  *a, *v;

    memset(o, 0, sizeof(kvmq_qopts_t));

    o->max_length = -1;
    o->max_length_bytes = -1;
    o->message_ttl = -1;
    o->expires = -1;
    o->overflow = KVMQ_OVERFLOW_DROP_HEAD;

    if (argc % 2) {
        kvmq_reply_syntax(c);
        return -1;
    }

    for (i = 0; i < argc; i += 2) {
        a = &argv[i];
        v = &argv[i + 1];

        if (kvmq_arg_is(a, "durable")) {
            if (kvmq_mq_bool(c, v, &o->durable) != 0) {
                return -1;
            }

        } else if (kvmq_arg_is(a, "exclusive")) {
            if (kvmq_mq_bool(c, v, &o->exclusive) != 0) {
                return -1;
            }

        } else if (kvmq_arg_is(a, "auto_delete")) {
            if (kvmq_mq_bool(c, v, &o->auto_delete) != 0) {
                return -1;
            }

        } else if (kvmq_arg_is(a, "max_length")) {
            if (kvmq_mq_count(c, v, &o->max_length) != 0) {
                return -1;
            }

        } else if (kvmq_arg_is(a, "max_length_bytes")) {
            if (kvmq_mq_count(c, v, &o->max_length_bytes) != 0) {
                return -1;
            }

        } else if (kvmq_arg_is(a, "message_ttl")) {
            if (kvmq_mq_count(c, v, &o->message_ttl) != 0) {
                return -1;
            }

        } else if (kvmq_arg_is(a, "expires")) {
            if (kvmq_mq_count(c, v, &o->expires) != 0) {
                return -1;
            }

            if (o->expires == 0) {
                kvmq_reply_error(c, KVMQ_ERR_BADREQ,
                                 "expires must be positive");
                return -1;
            }

        } else if (kvmq_arg_is(a, "overflow")) {
            if (kvmq_arg_is(v, "drop-head")) {
                o->overflow = KVMQ_OVERFLOW_DROP_HEAD;

            } else if (kvmq_arg_is(v, "reject-publish")) {
                o->overflow = KVMQ_OVERFLOW_REJECT;

            } else if (kvmq_arg_is(v, "reject-publish-dlx")) {
                o->overflow = KVMQ_OVERFLOW_REJECT_DLX;

            } else {
                kvmq_reply_error(c, KVMQ_ERR_BADREQ,
                                 "overflow must be drop-head, "
                                 "reject-publish or reject-publish-dlx");
                return -1;
            }

        } else if (kvmq_arg_is(a, "dead_letter_exchange")) {
            o->dlx = *v;
            o->has_dlx = 1;

        } else if (kvmq_arg_is(a, "dead_letter_routing_key")) {
            o->dlrk = *v;
            o->has_dlrk = 1;

        } else {
            kvmq_reply_error(c, KVMQ_ERR_BADREQ, "unknown option '%.*s'",
                             (int) (a->len > 64 ? 64 : a->len),
                             (const char *) a->data);
            return -1;
        }
    }

    if (o->has_dlrk && !o->has_dlx) {
        kvmq_reply_error(c, KVMQ_ERR_BADREQ,
                         "dead_letter_routing_key needs a "
                         "dead_letter_exchange");
        return -1;
    }

    return 0;
}


void
kvmq_cmd_q_declare(kvmq_ctx_t *c, int argc, const kvmq_slice_t *argv)
{
    int            created;
    char           gen[40];
    kvmq_err_e     rc;
    const char    *what;
    kvmq_slice_t   name;
    kvmq_qopts_t   o;
    kvmq_queue_t  *q;

    if (kvmq_qopts_parse(c, argv + 2, argc - 2, &o) != 0) {
        return;
    }

    name = argv[1];

    if (kvmq_mq_reserved(&name)) {
        kvmq_reply_error(c, KVMQ_ERR_DENIED,
                         "queue name '%.*s' contains reserved prefix "
                         "'amq.'", (int) (name.len > 64 ? 64 : name.len),
                         (const char *) name.data);
        return;
    }

    if (o.exclusive && c->owner == 0) {
        kvmq_reply_error(c, KVMQ_ERR_BADREQ,
                         "an exclusive queue needs a connection");
        return;
    }

    if (name.len == 0) {
        name.len = (size_t) snprintf(gen, sizeof(gen), "amq.gen-%016llx",
                                     (unsigned long long)
                                     kvmq_random(c->db));
        name.data = (const unsigned char *) gen;
    }

    rc = kvmq_queue_declare(c, &name, &o, &q, &created, &what);

    switch (rc) {

    case KVMQ_OK:
        break;

    case KVMQ_ERR_PRECONDITION:
        kvmq_reply_error(c, KVMQ_ERR_PRECONDITION,
                         "inequivalent arg '%s' for queue '%.*s'", what,
                         (int) (name.len > 64 ? 64 : name.len),
                         (const char *) name.data);
        return;

    case KVMQ_ERR_DENIED:
        kvmq_reply_error(c, KVMQ_ERR_DENIED,
                         "cannot obtain exclusive access to locked queue "
                         "'%.*s'", (int) (name.len > 64 ? 64 : name.len),
                         (const char *) name.data);
        return;

    default:
        kvmq_reply_nomem(c);
        return;
    }

    kvmq_reply_map(c, 4);
    kvmq_reply_cstr(c, "queue");
    kvmq_reply_slice(c, kvmq_queue_name(q));
    kvmq_reply_kv(c, "created", created);
    kvmq_reply_kv(c, "messages", (int64_t) q->ready);
    kvmq_reply_kv(c, "consumers", (int64_t) q->nconsumers);
    kvmq_reply_map_end(c);
}


/* ---- Q.DELETE Q.PURGE -------------------------------------------------- */


void
kvmq_cmd_q_delete(kvmq_ctx_t *c, int argc, const kvmq_slice_t *argv)
{
    int            i, if_unused, if_empty;
    uint64_t       n;
    kvmq_queue_t  *q;

    if_unused = 0;
    if_empty = 0;

    for (i = 2; i < argc; i++) {
        if (kvmq_arg_is(&argv[i], "if_unused")) {
            if_unused = 1;

        } else if (kvmq_arg_is(&argv[i], "if_empty")) {
            if_empty = 1;

        } else {
            kvmq_reply_syntax(c);
            return;
        }
    }

    q = kvmq_mq_queue(c, &argv[1], 1);
    if (q == NULL) {
        return;
    }

    if (if_unused && q->nconsumers) {
        kvmq_reply_error(c, KVMQ_ERR_PRECONDITION, "queue '%.*s' in use",
                         (int) (argv[1].len > 64 ? 64 : argv[1].len),
                         (const char *) argv[1].data);
        return;
    }

    if (if_empty && (q->ready || q->unacked)) {
        kvmq_reply_error(c, KVMQ_ERR_PRECONDITION,
                         "queue '%.*s' not empty",
                         (int) (argv[1].len > 64 ? 64 : argv[1].len),
                         (const char *) argv[1].data);
        return;
    }

    n = q->ready;

    kvmq_queue_destroy(c, q);
    kvmq_mq_gc(c);

    kvmq_reply_int(c, (int64_t) n);
}


void
kvmq_cmd_q_purge(kvmq_ctx_t *c, int argc, const kvmq_slice_t *argv)
{
    kvmq_queue_t  *q;

    (void) argc;

    q = kvmq_mq_queue(c, &argv[1], 1);
    if (q == NULL) {
        return;
    }

    kvmq_reply_int(c, (int64_t) kvmq_queue_purge(c, q));
}


/* ---- publishing -------------------------------------------------------- */


/* a publish to the default exchange that names no queue: an RPC reply
 * address?  1 replied, 0 not an address */
static int
kvmq_mq_publish_rpc(kvmq_ctx_t *c, const kvmq_slice_t *key, kvmq_msg_t *m,
    int map_queued)
{
    kvmq_rpcaddr_t  *a;

    a = kvmq_rpc_find(c, key);

    if (a == NULL) {
        return 0;
    }

    if (!kvmq_rpc_deliver(c, a, m)) {
        kvmq_reply_error(c, KVMQ_ERR_NOTFOUND,
                         "no caller waits on reply address '%.*s'",
                         (int) (key->len > 64 ? 64 : key->len),
                         (const char *) key->data);
        return 1;
    }

    kvmq_reply_map(c, 1);
    kvmq_reply_kv(c, map_queued ? "queued" : "routed", 1);
    kvmq_reply_map_end(c);

    return 1;
}


void
kvmq_cmd_q_publish(kvmq_ctx_t *c, int argc, const kvmq_slice_t *argv)
{
    uint64_t         acc, ref;
    kvmq_msg_t      *m;
    kvmq_qset_t      set;
    kvmq_queue_t    *q;
    kvmq_msgspec_t   spec;

    kvmq_msgspec_init(&spec);
    spec.body = argv[2];
    spec.s[KVMQ_MP_ROUTING_KEY] = argv[1];

    if (kvmq_msg_parse_props(c, argv + 3, argc - 3, &spec) != 0) {
        return;
    }

    q = kvmq_queue_find(c, &argv[1]);

    if (q == NULL && kvmq_rpc_find(c, &argv[1]) == NULL) {
        (void) kvmq_mq_queue(c, &argv[1], 0);
        return;
    }

    m = kvmq_msg_new(c, &spec);
    if (m == NULL) {
        kvmq_reply_nomem(c);
        return;
    }

    if (q == NULL) {
        (void) kvmq_mq_publish_rpc(c, &argv[1], m, 1);
        kvmq_msg_unref(c, m);
        return;
    }

    kvmq_qset_init(&set);
    (void) kvmq_qset_add(&set, q);

    if (kvmq_mq_put(c, &set, m, 0, &acc, &ref) != 0) {
        kvmq_msg_unref(c, m);
        kvmq_reply_nomem(c);
        return;
    }

    kvmq_msg_unref(c, m);

    if (acc == 0) {
        kvmq_reply_error(c, KVMQ_ERR_QUEUEFULL,
                         "queue '%.*s' is full (max_length reached)",
                         (int) (argv[1].len > 64 ? 64 : argv[1].len),
                         (const char *) argv[1].data);
        return;
    }

    kvmq_reply_map(c, 1);
    kvmq_reply_kv(c, "queued", 1);
    kvmq_reply_map_end(c);
}


void
kvmq_cmd_x_publish(kvmq_ctx_t *c, int argc, const kvmq_slice_t *argv)
{
    int               rc;
    uint64_t          acc, ref;
    kvmq_msg_t       *m;
    kvmq_qset_t       set;
    kvmq_msgspec_t    spec;
    kvmq_exchange_t  *x;

    kvmq_msgspec_init(&spec);
    spec.body = argv[3];
    spec.s[KVMQ_MP_EXCHANGE] = argv[1];
    spec.s[KVMQ_MP_ROUTING_KEY] = argv[2];

    if (kvmq_msg_parse_props(c, argv + 4, argc - 4, &spec) != 0) {
        return;
    }

    x = NULL;

    if (argv[1].len) {
        x = kvmq_mq_exchange(c, &argv[1]);
        if (x == NULL) {
            return;
        }
    }

    m = kvmq_msg_new(c, &spec);
    if (m == NULL) {
        kvmq_reply_nomem(c);
        return;
    }

    kvmq_qset_init(&set);

    rc = kvmq_exchange_route(c, x, &argv[2], m, &set);

    if (rc == 0 && set.n == 0 && x == NULL
        && kvmq_mq_publish_rpc(c, &argv[2], m, 0))
    {
        kvmq_msg_unref(c, m);
        return;
    }

    if (rc != 0 || kvmq_mq_put(c, &set, m, 0, &acc, &ref) != 0) {
        kvmq_qset_free(&set);
        kvmq_msg_unref(c, m);
        kvmq_reply_nomem(c);
        return;
    }

    kvmq_qset_free(&set);
    kvmq_msg_unref(c, m);

    if (ref != 0) {
        kvmq_reply_error(c, KVMQ_ERR_QUEUEFULL,
                         "message refused by %llu of %llu queues "
                         "(max_length reached)", (unsigned long long) ref,
                         (unsigned long long) (acc + ref));
        return;
    }

    kvmq_reply_map(c, 1);
    kvmq_reply_kv(c, "routed", (int64_t) acc);
    kvmq_reply_map_end(c);
}


/* ---- Q.GET ------------------------------------------------------------- */


void
kvmq_queue_reply_delivery(kvmq_ctx_t *c, const kvmq_delivery_t *d)
{
    kvmq_slice_t    body;
    unsigned char  *tmp;

    kvmq_reply_map(c, 7);

    kvmq_reply_cstr(c, "queue");
    kvmq_reply_slice(c, d->queue);
    kvmq_reply_kv(c, "tag", (int64_t) d->tag);

    kvmq_reply_cstr(c, "body");

    body = kvmq_msg_body(d->msg, &tmp);

    if (body.data != NULL) {
        kvmq_reply_bulk(c, body.data, body.len);

    } else {
        /* the process could not hold a copy of a chunked body */
        kvmq_reply_nil(c);
    }

    free(tmp);

    kvmq_reply_kv(c, "redelivered", d->redelivered);
    kvmq_reply_cstr(c, "exchange");
    kvmq_reply_slice(c, kvmq_msg_exchange(d->msg));
    kvmq_reply_cstr(c, "routing_key");
    kvmq_reply_slice(c, kvmq_msg_routing_key(d->msg));
    kvmq_reply_cstr(c, "properties");
    kvmq_msg_reply_properties(c, d->msg);

    kvmq_reply_map_end(c);
}


/* the holder of manual gets: made on demand; NULL with *fail on NOMEM */
static kvmq_consumer_t *
kvmq_get_holder(kvmq_ctx_t *c, kvmq_queue_t *q, const kvmq_slice_t *id,
    int *fail)
{
    int               new_owner;
    kvmq_owner_t     *o;
    kvmq_consumer_t  *k;

    *fail = 0;

    k = kvmq_consumer_find(q, id, c->owner, 0);

    if (k != NULL) {
        return k;
    }

    o = NULL;
    new_owner = 0;

    if (c->owner != 0) {
        o = kvmq_owner_find(c, c->owner);

        if (o == NULL) {
            o = kvmq_owner_new(c, c->owner, c->owner_slot);
            if (o == NULL) {
                *fail = 1;
                return NULL;
            }

            new_owner = 1;
        }
    }

    k = kvmq_consumer_new(c, q, id);

    if (k == NULL) {
        if (new_owner) {
            kvmq_zfree(c, o);
        }

        *fail = 1;
        return NULL;
    }

    k->slot = (uint8_t) (c->owner_slot % KVMQ_MQ_SLOTS);

    if (new_owner) {
        kvmq_owner_link(c, o);
    }

    kvmq_consumer_link(c, k, o);

    return k;
}


void
kvmq_cmd_q_get(kvmq_ctx_t *c, int argc, const kvmq_slice_t *argv)
{
    int                  i, fail, autoack;
    int64_t              count, vis;
    long                 room;
    kvmq_mq_t           *mq;
    kvmq_qent_t         *e;
    kvmq_queue_t        *q;
    kvmq_consumer_t     *k;
    kvmq_delivery_t      d;
    const kvmq_slice_t  *id;

    count = 1;
    autoack = 0;
    vis = KVMQ_VISIBILITY_DEFAULT;
    id = NULL;

    for (i = 2; i < argc; i += 2) {
        if (i + 1 >= argc) {
            kvmq_reply_syntax(c);
            return;
        }

        if (kvmq_arg_is(&argv[i], "count")) {
            if (kvmq_mq_count(c, &argv[i + 1], &count) != 0) {
                return;
            }

            if (count == 0 || count > KVMQ_GET_MAX) {
                kvmq_reply_error(c, KVMQ_ERR_BADREQ,
                                 "COUNT must be 1 to %d", KVMQ_GET_MAX);
                return;
            }

        } else if (kvmq_arg_is(&argv[i], "ack")) {
            if (kvmq_arg_is(&argv[i + 1], "auto")) {
                autoack = 1;

            } else if (kvmq_arg_is(&argv[i + 1], "manual")) {
                autoack = 0;

            } else {
                kvmq_reply_syntax(c);
                return;
            }

        } else if (kvmq_arg_is(&argv[i], "visibility")) {
            if (kvmq_mq_count(c, &argv[i + 1], &vis) != 0) {
                return;
            }

        } else if (kvmq_arg_is(&argv[i], "consumer")) {
            id = &argv[i + 1];

        } else {
            kvmq_reply_syntax(c);
            return;
        }
    }

    q = kvmq_mq_queue(c, &argv[1], 1);
    if (q == NULL) {
        return;
    }

    mq = c->db->mq;
    q->last_used = c->now_ms;

    kvmq_queue_tick(c, q, KVMQ_DISPATCH_BATCH);

    k = NULL;

    if (!autoack && (id != NULL || c->owner != 0)) {
        k = kvmq_get_holder(c, q, id ? id : &kvmq_no_tag, &fail);

        if (fail) {
            kvmq_reply_nomem(c);
            return;
        }

        if (k->active && !k->noack && k->prefetch != 0) {
            room = (k->unacked < k->prefetch)
                   ? (long) (k->prefetch - k->unacked) : 0;

            if (count > room) {
                count = room;
            }
        }
    }

    kvmq_reply_array(c, -1);

    for ( /* void */ ; count > 0; count--) {
        e = kvmq_queue_head(c, q, NULL);
        if (e == NULL) {
            break;
        }

        kvmq_queue_unready(q, e);

        d.redelivered = (e->flags & KVMQ_QE_DELIVERED) ? 1 : 0;
        e->flags |= KVMQ_QE_DELIVERED;
        e->tag = kvmq_queue_new_tag(c);

        q->delivered++;
        mq->delivered++;

        if (d.redelivered) {
            q->redelivered++;
        }

        d.queue = kvmq_queue_name(q);
        d.tag = e->tag;
        d.msg = e->msg;

        if (autoack) {
            kvmq_queue_reply_delivery(c, &d);
            q->acked++;
            mq->acked++;
            kvmq_qent_free(c, e);
            continue;
        }

        e->cons = k;
        e->deadline = vis ? c->now_ms + vis : 0;
        kvmq_queue_link_unacked(c, e);

        kvmq_queue_reply_delivery(c, &d);
    }

    kvmq_reply_array_end(c);

    if (k != NULL && !k->active && k->unacked == 0) {
        kvmq_consumer_gc(c, k);
    }
}


/* ---- Q.ACK Q.NACK ------------------------------------------------------ */


static void
kvmq_settle_cmd(kvmq_ctx_t *c, int argc, const kvmq_slice_t *argv,
    kvmq_settle_e how)
{
    int         i, n;
    uint64_t    bad, *tags, stack[32];
    long long   ll;
    kvmq_err_e  rc;

    n = argc - 2;
    tags = stack;

    if (n > (int) (sizeof(stack) / sizeof(stack[0]))) {
        tags = malloc((size_t) n * sizeof(uint64_t));
        if (tags == NULL) {
            kvmq_reply_nomem(c);
            return;
        }
    }

    for (i = 0; i < n; i++) {
        if (kvmq_str2ll(argv[i + 2].data, argv[i + 2].len, &ll) != 0
            || ll <= 0)
        {
            kvmq_reply_error(c, KVMQ_ERR_BADREQ,
                             "delivery tag is not a positive integer");
            goto done;
        }

        tags[i] = (uint64_t) ll;
    }

    bad = 0;
    rc = kvmq_queue_settle(c, &argv[1], tags, (unsigned) n, how, c->owner,
                           &bad);

    switch (rc) {

    case KVMQ_OK:
        kvmq_reply_int(c, n);
        break;

    case KVMQ_ERR_NOTFOUND:
        (void) kvmq_mq_queue(c, &argv[1], 0);
        break;

    default:
        kvmq_reply_error(c, KVMQ_ERR_PRECONDITION,
                         "unknown delivery tag %llu",
                         (unsigned long long) bad);
        break;
    }

done:

    if (tags != stack) {
        free(tags);
    }
}


void
kvmq_cmd_q_ack(kvmq_ctx_t *c, int argc, const kvmq_slice_t *argv)
{
    kvmq_settle_cmd(c, argc, argv, KVMQ_SETTLE_ACK);
}


void
kvmq_cmd_q_nack(kvmq_ctx_t *c, int argc, const kvmq_slice_t *argv)
{
    uint8_t  requeue;

    requeue = 1;

    if (argc >= 4 && kvmq_arg_is(&argv[argc - 2], "requeue")) {
        if (kvmq_mq_bool(c, &argv[argc - 1], &requeue) != 0) {
            return;
        }

        argc -= 2;
    }

    if (argc < 3) {
        kvmq_reply_arity(c);
        return;
    }

    kvmq_settle_cmd(c, argc, argv,
                    requeue ? KVMQ_SETTLE_REQUEUE : KVMQ_SETTLE_REJECT);
}


/* ---- Q.INFO Q.LIST ----------------------------------------------------- */


void
kvmq_cmd_q_info(kvmq_ctx_t *c, int argc, const kvmq_slice_t *argv)
{
    static const char  *ovf[] = { "drop-head", "reject-publish",
                                  "reject-publish-dlx" };

    kvmq_qopts_t   o;
    kvmq_queue_t  *q;

    (void) argc;

    q = kvmq_mq_queue(c, &argv[1], 0);
    if (q == NULL) {
        return;
    }

    kvmq_queue_tick(c, q, KVMQ_DISPATCH_BATCH);
    kvmq_queue_opts(q, &o);

    kvmq_reply_map(c, -1);

    kvmq_reply_cstr(c, "name");
    kvmq_reply_slice(c, kvmq_queue_name(q));
    kvmq_reply_kv(c, "durable", q->durable);
    kvmq_reply_kv(c, "exclusive", q->exclusive);
    kvmq_reply_kv(c, "auto_delete", q->auto_delete);
    kvmq_reply_cstr(c, "overflow");
    kvmq_reply_cstr(c, ovf[q->overflow % 3]);

    if (q->max_length >= 0) {
        kvmq_reply_kv(c, "max_length", q->max_length);
    }

    if (q->max_length_bytes >= 0) {
        kvmq_reply_kv(c, "max_length_bytes", q->max_length_bytes);
    }

    if (q->message_ttl >= 0) {
        kvmq_reply_kv(c, "message_ttl", q->message_ttl);
    }

    if (q->expires >= 0) {
        kvmq_reply_kv(c, "expires", q->expires);
    }

    if (o.has_dlx) {
        kvmq_reply_cstr(c, "dead_letter_exchange");
        kvmq_reply_slice(c, o.dlx);
    }

    if (o.has_dlrk) {
        kvmq_reply_cstr(c, "dead_letter_routing_key");
        kvmq_reply_slice(c, o.dlrk);
    }

    kvmq_reply_kv(c, "ready", (int64_t) q->ready);
    kvmq_reply_kv(c, "ready_bytes", (int64_t) q->ready_bytes);
    kvmq_reply_kv(c, "unacked", (int64_t) q->unacked);
    kvmq_reply_kv(c, "consumers", (int64_t) q->nconsumers);
    kvmq_reply_kv(c, "published", (int64_t) q->published);
    kvmq_reply_kv(c, "delivered", (int64_t) q->delivered);
    kvmq_reply_kv(c, "redelivered", (int64_t) q->redelivered);
    kvmq_reply_kv(c, "acked", (int64_t) q->acked);
    kvmq_reply_kv(c, "rejected", (int64_t) q->rejected);
    kvmq_reply_kv(c, "requeued", (int64_t) q->requeued);
    kvmq_reply_kv(c, "dead_lettered", (int64_t) q->dead_lettered);
    kvmq_reply_kv(c, "expired", (int64_t) q->expired);
    kvmq_reply_kv(c, "dropped", (int64_t) q->dropped);
    kvmq_reply_kv(c, "refused", (int64_t) q->refused);

    kvmq_reply_map_end(c);
}


static int
kvmq_name_cmp(const unsigned char *a, size_t alen, const unsigned char *b,
    size_t blen)
{
    int  d;

    d = memcmp(a, b, alen < blen ? alen : blen);

    if (d != 0) {
        return d;
    }

    return (alen < blen) ? -1 : (alen > blen) ? 1 : 0;
}


static int
kvmq_q_cmp(const void *a, const void *b)
{
    const kvmq_queue_t  *qa, *qb;

    qa = *(kvmq_queue_t * const *) a;
    qb = *(kvmq_queue_t * const *) b;

    return kvmq_name_cmp(qa->name, qa->nlen, qb->name, qb->nlen);
}


void
kvmq_cmd_q_list(kvmq_ctx_t *c, int argc, const kvmq_slice_t *argv)
{
    size_t          i, n;
    kvmq_mq_t      *mq;
    kvmq_queue_t   *q, **all;

    (void) argc;
    (void) argv;

    mq = c->db->mq;
    n = (mq != NULL) ? kvmq_htable_size(&mq->queues) : 0;

    if (n == 0) {
        kvmq_reply_array(c, 0);
        kvmq_reply_array_end(c);
        return;
    }

    all = malloc(n * sizeof(kvmq_queue_t *));
    if (all == NULL) {
        kvmq_reply_nomem(c);
        return;
    }

    for (i = 0, q = mq->qlist; q != NULL && i < n; q = q->lnext) {
        all[i++] = q;
    }

    n = i;
    qsort(all, n, sizeof(kvmq_queue_t *), kvmq_q_cmp);

    kvmq_reply_array(c, (long) n);

    for (i = 0; i < n; i++) {
        q = all[i];

        kvmq_reply_map(c, 4);
        kvmq_reply_cstr(c, "name");
        kvmq_reply_slice(c, kvmq_queue_name(q));
        kvmq_reply_kv(c, "ready", (int64_t) q->ready);
        kvmq_reply_kv(c, "unacked", (int64_t) q->unacked);
        kvmq_reply_kv(c, "consumers", (int64_t) q->nconsumers);
        kvmq_reply_map_end(c);
    }

    kvmq_reply_array_end(c);

    free(all);
}


/* ---- exchanges --------------------------------------------------------- */


void
kvmq_cmd_x_declare(kvmq_ctx_t *c, int argc, const kvmq_slice_t *argv)
{
    int               type, created, i;
    uint8_t           durable;
    kvmq_err_e        rc;
    kvmq_exchange_t  *x;

    type = kvmq_exchange_type(&argv[2]);

    if (type < 0) {
        kvmq_reply_error(c, KVMQ_ERR_BADREQ,
                         "exchange type must be direct, fanout, topic or "
                         "headers");
        return;
    }

    durable = 0;

    for (i = 3; i < argc; i += 2) {
        if (i + 1 >= argc || !kvmq_arg_is(&argv[i], "durable")) {
            kvmq_reply_syntax(c);
            return;
        }

        if (kvmq_mq_bool(c, &argv[i + 1], &durable) != 0) {
            return;
        }
    }

    if (argv[1].len == 0 || kvmq_mq_reserved(&argv[1])) {
        kvmq_reply_error(c, KVMQ_ERR_DENIED,
                         "exchange name '%.*s' is reserved",
                         (int) (argv[1].len > 64 ? 64 : argv[1].len),
                         (const char *) argv[1].data);
        return;
    }

    rc = kvmq_exchange_declare(c, &argv[1], (unsigned) type, durable, &x,
                               &created);

    if (rc == KVMQ_ERR_PRECONDITION) {
        kvmq_reply_error(c, KVMQ_ERR_PRECONDITION,
                         "inequivalent arg '%s' for exchange '%.*s'",
                         (x->type != (unsigned) type) ? "type" : "durable",
                         (int) (argv[1].len > 64 ? 64 : argv[1].len),
                         (const char *) argv[1].data);
        return;
    }

    if (rc != KVMQ_OK) {
        kvmq_reply_nomem(c);
        return;
    }

    kvmq_reply_map(c, 2);
    kvmq_reply_cstr(c, "exchange");
    kvmq_reply_bulk(c, x->name, x->nlen);
    kvmq_reply_kv(c, "created", created);
    kvmq_reply_map_end(c);
}


void
kvmq_cmd_x_delete(kvmq_ctx_t *c, int argc, const kvmq_slice_t *argv)
{
    kvmq_exchange_t  *x;

    if (argc > 3 || (argc == 3 && !kvmq_arg_is(&argv[2], "if_unused"))) {
        kvmq_reply_syntax(c);
        return;
    }

    if (argv[1].len == 0) {
        kvmq_reply_error(c, KVMQ_ERR_DENIED,
                         "the default exchange cannot be deleted");
        return;
    }

    x = kvmq_mq_exchange(c, &argv[1]);
    if (x == NULL) {
        return;
    }

    if (argc == 3 && x->nbindings) {
        kvmq_reply_error(c, KVMQ_ERR_PRECONDITION, "exchange '%.*s' in use",
                         (int) (argv[1].len > 64 ? 64 : argv[1].len),
                         (const char *) argv[1].data);
        return;
    }

    kvmq_exchange_destroy(c, x);
    kvmq_mq_gc(c);

    kvmq_reply_int(c, 1);
}


static void
kvmq_bind_cmd(kvmq_ctx_t *c, int argc, const kvmq_slice_t *argv, int bind)
{
    int               changed;
    kvmq_err_e        rc;
    kvmq_queue_t     *q;
    kvmq_exchange_t  *x;

    if (argv[1].len == 0) {
        kvmq_reply_error(c, KVMQ_ERR_DENIED,
                         "operation not permitted on the default exchange");
        return;
    }

    if ((argc - 4) % 2) {
        kvmq_reply_syntax(c);
        return;
    }

    x = kvmq_mq_exchange(c, &argv[1]);
    if (x == NULL) {
        return;
    }

    q = kvmq_mq_queue(c, &argv[2], 1);
    if (q == NULL) {
        return;
    }

    rc = bind ? kvmq_exchange_bind(c, x, q, &argv[3], argv + 4, argc - 4,
                                   &changed)
              : kvmq_exchange_unbind(c, x, q, &argv[3], argv + 4, argc - 4,
                                     &changed);

    switch (rc) {

    case KVMQ_OK:
        kvmq_reply_int(c, changed);
        break;

    case KVMQ_ERR_BADREQ:
        kvmq_reply_error(c, KVMQ_ERR_BADREQ,
                         "x-match must be all, any, all-with-x or "
                         "any-with-x");
        break;

    default:
        kvmq_reply_nomem(c);
        break;
    }
}


void
kvmq_cmd_x_bind(kvmq_ctx_t *c, int argc, const kvmq_slice_t *argv)
{
    kvmq_bind_cmd(c, argc, argv, 1);
}


void
kvmq_cmd_x_unbind(kvmq_ctx_t *c, int argc, const kvmq_slice_t *argv)
{
    kvmq_bind_cmd(c, argc, argv, 0);
}


typedef struct {
    kvmq_exchange_t   **all;
    size_t              n;
    size_t              cap;
} kvmq_xlist_t;


static void
kvmq_xlist_add(void *arg, kvmq_hnode_t *node)
{
    kvmq_xlist_t  *l;

    l = arg;

    if (l->n < l->cap) {
        l->all[l->n++] = (kvmq_exchange_t *) node;
    }
}


static int
kvmq_x_cmp(const void *a, const void *b)
{
    const kvmq_exchange_t  *xa, *xb;

    xa = *(kvmq_exchange_t * const *) a;
    xb = *(kvmq_exchange_t * const *) b;

    return kvmq_name_cmp(xa->name, xa->nlen, xb->name, xb->nlen);
}


void
kvmq_cmd_x_list(kvmq_ctx_t *c, int argc, const kvmq_slice_t *argv)
{
    size_t             i;
    uint64_t           cursor;
    kvmq_mq_t         *mq;
    kvmq_xlist_t       l;
    kvmq_exchange_t   *x;

    (void) argc;
    (void) argv;

    mq = c->db->mq;
    l.n = 0;
    l.cap = (mq != NULL) ? kvmq_htable_size(&mq->exchanges) : 0;

    if (l.cap == 0) {
        kvmq_reply_array(c, 0);
        kvmq_reply_array_end(c);
        return;
    }

    /* a scan across a rehash may return a node twice */
    l.cap = 2 * l.cap + 1;
    l.all = malloc(l.cap * sizeof(kvmq_exchange_t *));
    if (l.all == NULL) {
        kvmq_reply_nomem(c);
        return;
    }

    cursor = 0;

    do {
        cursor = kvmq_htable_scan(&mq->exchanges, cursor, kvmq_xlist_add,
                                  &l);
    } while (cursor != 0);

    qsort(l.all, l.n, sizeof(kvmq_exchange_t *), kvmq_x_cmp);

    kvmq_reply_array(c, -1);

    for (i = 0; i < l.n; i++) {
        x = l.all[i];

        if (i > 0 && l.all[i - 1] == x) {
            continue;
        }

        kvmq_reply_map(c, 4);
        kvmq_reply_cstr(c, "name");
        kvmq_reply_bulk(c, x->name, x->nlen);
        kvmq_reply_cstr(c, "type");
        kvmq_reply_cstr(c, kvmq_exchange_type_name(x->type));
        kvmq_reply_kv(c, "durable", x->durable);
        kvmq_reply_kv(c, "bindings", (int64_t) x->nbindings);
        kvmq_reply_map_end(c);
    }

    kvmq_reply_array_end(c);

    free(l.all);
}
