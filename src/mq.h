/*
 * The messaging core's shared structures: the root, messages, queues
 * and their entries, consumers, owners, exchanges, bindings, the topic
 * trie and RPC addresses.  Each file that owns a part explains it:
 *
 *   message.c    message blocks (stored once, reference counted),
 *                properties, x-death
 *   queue.c      the registry, ready FIFO, deliveries, settling, TTL,
 *                max-length, dead-lettering
 *   consumer.c   consumers, owners, push assignment, take, release
 *   exchange.c   exchanges, bindings, the topic trie, routing, the
 *                publish pipeline
 *   rpc.c        reply addresses
 *   t_mq.c       the Q.* and X.* commands
 *
 * Every block here lives in the zone; links are raw pointers (valid in
 * every worker), kinds are tags, never function pointers.
 */

#ifndef KVMQ_MQ_H
#define KVMQ_MQ_H

#include "htable.h"
#include "queue.h"
#include "rpc.h"


typedef struct kvmq_mq_s        kvmq_mq_t;
typedef struct kvmq_queue_s     kvmq_queue_t;
typedef struct kvmq_qent_s      kvmq_qent_t;
typedef struct kvmq_consumer_s  kvmq_consumer_t;
typedef struct kvmq_owner_s     kvmq_owner_t;
typedef struct kvmq_exchange_s  kvmq_exchange_t;
typedef struct kvmq_binding_s   kvmq_binding_t;
typedef struct kvmq_tnode_s     kvmq_tnode_t;
typedef struct kvmq_rpcaddr_s   kvmq_rpcaddr_t;
typedef struct kvmq_mchunk_s    kvmq_mchunk_t;


/* ---- messages (message.c) ---------------------------------------------- */

#define KVMQ_MCHUNK_SIZE    4096
#define KVMQ_MCHUNK_DATA    (KVMQ_MCHUNK_SIZE - sizeof(kvmq_mchunk_t))
#define KVMQ_MSG_INLINE     2048

#define KVMQ_MSG_PERSISTENT 0x01

/* the strings of the properties area, in their order */
enum {
    KVMQ_MP_EXCHANGE = 0,
    KVMQ_MP_ROUTING_KEY,
    KVMQ_MP_CORRELATION_ID,
    KVMQ_MP_REPLY_TO,
    KVMQ_MP_MESSAGE_ID,
    KVMQ_MP_CONTENT_TYPE,
    KVMQ_MP_FIRST_QUEUE,            /* x-first-death-* (empty: none) */
    KVMQ_MP_FIRST_REASON,
    KVMQ_MP_FIRST_EXCHANGE,
    KVMQ_MP_NSTR
};

struct kvmq_mchunk_s {
    kvmq_mchunk_t      *next;
    unsigned char       data[];
};

struct kvmq_msg_s {
    kvmq_mchunk_t      *chunks;     /* body past the block, or NULL */
    int64_t             expiration; /* ms, -1 = none */
    int64_t             timestamp;  /* s, -1 = none */
    uint32_t            refs;       /* queue entries (and holders) */
    uint32_t            blen;       /* body bytes */
    uint32_t            plen;       /* properties area bytes */
    uint16_t            flags;
    int16_t             priority;   /* -1 = none */
    unsigned char       data[];     /* properties, then an inline body */
};

/* a message to build, in process memory */
typedef struct {
    kvmq_slice_t        s[KVMQ_MP_NSTR];
    kvmq_slice_t        body;
    int64_t             expiration;
    int64_t             timestamp;
    int                 priority;
    int                 persistent;

    /* headers: argv pairs after a "header" word (t_mq.c's grammar) */
    const kvmq_slice_t *hargv;      /* the property words */
    int                 hargc;
} kvmq_msgspec_t;

/* a message's properties, read in place */
typedef struct {
    kvmq_slice_t          s[KVMQ_MP_NSTR];
    const unsigned char  *headers;  /* name, value, ... */
    uint32_t              nheaders;
    const unsigned char  *deaths;   /* the x-death entries */
    uint32_t              ndeaths;
} kvmq_mprops_t;

/* one x-death entry, read in place */
typedef struct {
    kvmq_slice_t        queue;
    kvmq_slice_t        reason;
    kvmq_slice_t        exchange;
    kvmq_slice_t        routing_key;
    kvmq_slice_t        orig_expiration;    /* empty: none */
    int64_t             count;
    int64_t             time;       /* s */
} kvmq_death_t;

void kvmq_msgspec_init(kvmq_msgspec_t *spec);
kvmq_msg_t *kvmq_msg_new(kvmq_ctx_t *c, const kvmq_msgspec_t *spec);
void kvmq_msg_ref(kvmq_msg_t *m);
void kvmq_msg_unref(kvmq_ctx_t *c, kvmq_msg_t *m);
unsigned kvmq_msg_blocks(const kvmq_msg_t *m);
void kvmq_msg_props(const kvmq_msg_t *m, kvmq_mprops_t *p);
size_t kvmq_msg_death_next(const unsigned char *p, kvmq_death_t *d);

/*
 * The copy of m that dead-lettering republishes: exchange and routing
 * key replaced, expiration removed, the x-death entry {queue, reason}
 * added or counted and moved first.  NULL on NOMEM.
 */
kvmq_msg_t *kvmq_msg_dead_letter(kvmq_ctx_t *c, const kvmq_msg_t *m,
    const kvmq_slice_t *queue, const char *reason,
    const kvmq_slice_t *exchange, const kvmq_slice_t *routing_key);

/* would republishing m (dead-lettered, x-death updated) into queue
 * close a cycle with no rejection in it? */
int kvmq_msg_death_cycle(const kvmq_msg_t *m, const kvmq_slice_t *queue);

/* the body as one string: in place, or copied to *tmp (malloc'ed,
 * free it); data NULL when that copy failed */
kvmq_slice_t kvmq_msg_body(const kvmq_msg_t *m, unsigned char **tmp);

/* property argv: NAME VALUE ... into spec (t_mq.c grammar); replies
 * BADREQ and returns -1 on a bad one */
int kvmq_msg_parse_props(kvmq_ctx_t *c, const kvmq_slice_t *argv, int argc,
    kvmq_msgspec_t *spec);


/* ---- queues (queue.c) -------------------------------------------------- */

#define KVMQ_OVERFLOW_DROP_HEAD     0
#define KVMQ_OVERFLOW_REJECT        1
#define KVMQ_OVERFLOW_REJECT_DLX    2

typedef struct {
    int64_t             max_length;         /* -1 = none */
    int64_t             max_length_bytes;   /* -1 = none */
    int64_t             message_ttl;        /* ms, -1 = none */
    int64_t             expires;            /* ms, -1 = none */
    kvmq_slice_t        dlx;
    kvmq_slice_t        dlrk;
    uint8_t             overflow;
    uint8_t             durable;
    uint8_t             exclusive;
    uint8_t             auto_delete;
    uint8_t             has_dlx;
    uint8_t             has_dlrk;
} kvmq_qopts_t;

/* entry flags */
#define KVMQ_QE_READY       0x01    /* on the ready list */
#define KVMQ_QE_UNACKED     0x02    /* has a tag, held by a consumer */
#define KVMQ_QE_OUTBOX      0x04    /* assigned, not yet taken */
#define KVMQ_QE_DELIVERED   0x08    /* handed out at least once */
#define KVMQ_QE_LEASED      0x10    /* on the queue's lease list */
#define KVMQ_QE_MARK        0x20    /* seen in this settle call */

/*
 * A message in a queue.  Ready: on the queue's ready list (prev/next),
 * ordered by seq.  Unacked: in the tag table (node), on its holder's
 * delivery list (prev/next) - a consumer, or the queue's anonymous list
 * when cons is NULL - and on the lease list (lprev/lnext) when it has a
 * visibility deadline.
 */
struct kvmq_qent_s {
    kvmq_hnode_t        node;       /* first: the tag table's link */
    kvmq_qent_t        *prev;
    kvmq_qent_t        *next;
    kvmq_qent_t        *lprev;
    kvmq_qent_t        *lnext;
    kvmq_msg_t         *msg;        /* a reference */
    kvmq_queue_t       *queue;
    kvmq_consumer_t    *cons;
    uint64_t            seq;        /* position in the queue */
    uint64_t            tag;        /* 0 while ready */
    int64_t             expires;    /* absolute ms, 0 = never */
    int64_t             deadline;   /* lease, absolute ms */
    uint32_t            flags;
};

struct kvmq_queue_s {
    kvmq_hnode_t        node;       /* first: the registry's link */
    kvmq_queue_t       *lprev;      /* every queue, for the cron */
    kvmq_queue_t       *lnext;
    kvmq_qent_t        *head;       /* ready FIFO */
    kvmq_qent_t        *tail;
    kvmq_qent_t        *anon_head;  /* unacked deliveries of no consumer */
    kvmq_qent_t        *anon_tail;
    kvmq_qent_t        *lease_head; /* by deadline */
    kvmq_qent_t        *lease_tail;
    kvmq_consumer_t    *consumers;  /* circular, doubly linked */
    kvmq_consumer_t    *cursor;     /* the next turn */
    kvmq_binding_t     *bindings;
    kvmq_owner_t       *owner;      /* exclusive queues */
    kvmq_queue_t       *oprev;      /* the owner's exclusive queues */
    kvmq_queue_t       *onext;

    int64_t             max_length;
    int64_t             max_length_bytes;
    int64_t             message_ttl;
    int64_t             expires;
    int64_t             last_used;  /* ms, for expires */

    uint64_t            ready;
    uint64_t            ready_bytes;
    uint64_t            unacked;
    uint64_t            nconsumers; /* active (consuming) ones */
    uint64_t            next_seq;
    uint64_t            waiters;    /* slots of parked gets */
    uint64_t            mark;       /* route dedupe epoch */

    uint64_t            published;
    uint64_t            delivered;
    uint64_t            redelivered;
    uint64_t            acked;
    uint64_t            rejected;   /* nack requeue=false */
    uint64_t            requeued;
    uint64_t            dead_lettered;
    uint64_t            expired;
    uint64_t            dropped;    /* maxlen without a DLX */
    uint64_t            refused;    /* reject-publish */

    uint32_t            nlen;
    uint32_t            xlen;       /* dead_letter_exchange */
    uint32_t            klen;       /* dead_letter_routing_key */
    uint8_t             overflow;
    uint8_t             durable;
    uint8_t             exclusive;
    uint8_t             auto_delete;
    uint8_t             has_dlx;
    uint8_t             has_dlrk;
    uint8_t             had_consumer;
    unsigned char       name[];     /* name, dlx, dlrk */
};

kvmq_slice_t kvmq_queue_name(const kvmq_queue_t *q);
kvmq_queue_t *kvmq_queue_find(kvmq_ctx_t *c, const kvmq_slice_t *name);
/* PRECONDITION names the first option that differs in *what */
kvmq_err_e kvmq_queue_declare(kvmq_ctx_t *c, const kvmq_slice_t *name,
    const kvmq_qopts_t *o, kvmq_queue_t **qp, int *created,
    const char **what);
void kvmq_queue_destroy(kvmq_ctx_t *c, kvmq_queue_t *q);
uint64_t kvmq_queue_purge(kvmq_ctx_t *c, kvmq_queue_t *q);
void kvmq_queue_opts(const kvmq_queue_t *q, kvmq_qopts_t *o);

/* may the running command's owner use q (exclusive queues)? */
int kvmq_queue_usable(kvmq_ctx_t *c, const kvmq_queue_t *q);

/* returns expired leases and expired heads; bounded */
void kvmq_queue_tick(kvmq_ctx_t *c, kvmq_queue_t *q, unsigned budget);

/* would a publish of blen bytes be refused (reject-publish)? */
int kvmq_queue_full(const kvmq_queue_t *q, size_t blen);

kvmq_qent_t *kvmq_qent_new(kvmq_ctx_t *c);
void kvmq_qent_free(kvmq_ctx_t *c, kvmq_qent_t *e);

/* link e (msg referenced already) at the tail; then dispatch and
 * enforce drop-head; fresh exempts e from TTL 0 for waiting consumers */
void kvmq_queue_enqueue(kvmq_ctx_t *c, kvmq_queue_t *q, kvmq_qent_t *e,
    unsigned depth);

/* the ready head that may be delivered (expired ones go first), or
 * NULL; fresh is exempt from expiry */
kvmq_qent_t *kvmq_queue_head(kvmq_ctx_t *c, kvmq_queue_t *q,
    const kvmq_qent_t *fresh);

/* take the head e off the ready list and make it a delivery */
void kvmq_queue_unready(kvmq_queue_t *q, kvmq_qent_t *e);
uint64_t kvmq_queue_new_tag(kvmq_ctx_t *c);
void kvmq_queue_link_unacked(kvmq_ctx_t *c, kvmq_qent_t *e);

/* a delivery goes back to its original position, redelivered if it
 * was handed out; hint is where the previous one of a batch went */
kvmq_qent_t *kvmq_queue_requeue(kvmq_ctx_t *c, kvmq_qent_t *e,
    kvmq_qent_t *hint);

/* after requeues or new credit: assign to consumers, drop-head */
void kvmq_queue_settled(kvmq_ctx_t *c, kvmq_queue_t *q);

/* a delivery is acked (or dropped): unlink from everything and free */
void kvmq_queue_forget(kvmq_ctx_t *c, kvmq_qent_t *e);

/* dead-letter m from q for reason (or drop it when q has no DLX) */
void kvmq_queue_dead_letter(kvmq_ctx_t *c, kvmq_queue_t *q,
    kvmq_msg_t *m, const char *reason, unsigned depth);

/* lazily freed chains of entries (lazyfree.c) */
uint64_t kvmq_qchain_blocks(const void *val);
int kvmq_qchain_free_some(kvmq_ctx_t *c, void *val, unsigned *budget);
void kvmq_qchain_free(kvmq_ctx_t *c, void *val);
void kvmq_qchain_push(kvmq_qent_t **chain, kvmq_qent_t *e);

/* an unacked entry of a dying queue: out of the tag table, into chain */
void kvmq_queue_unacked_to_chain(kvmq_ctx_t *c, kvmq_qent_t *e,
    kvmq_qent_t **chain);
void kvmq_qchain_drop(kvmq_ctx_t *c, kvmq_qent_t *chain);


/* ---- consumers and owners (consumer.c) --------------------------------- */

struct kvmq_consumer_s {
    kvmq_consumer_t    *prev;       /* the queue's circular list */
    kvmq_consumer_t    *next;
    kvmq_consumer_t    *oprev;      /* the owner's consumers */
    kvmq_consumer_t    *onext;
    kvmq_consumer_t    *dprev;      /* the slot's list to take from */
    kvmq_consumer_t    *dnext;
    kvmq_queue_t       *queue;      /* NULL: a cancel notice */
    kvmq_owner_t       *owner;
    kvmq_qent_t        *dhead;      /* deliveries, taken ones first */
    kvmq_qent_t        *dtail;
    kvmq_qent_t        *outbox;     /* the first one not taken */
    uint64_t            owner_id;
    uint32_t            unacked;    /* on the list, outbox included */
    uint32_t            noutbox;
    uint32_t            prefetch;   /* 0 = unlimited */
    uint32_t            tlen;
    uint32_t            qlen;       /* queue name copy, for notices */
    uint8_t             slot;
    uint8_t             active;     /* consuming; else a lease holder */
    uint8_t             noack;
    uint8_t             dirty;      /* on its slot's list */
    unsigned char       tag[];      /* tag, then the queue name */
};

struct kvmq_owner_s {
    kvmq_hnode_t        node;       /* first: the owner table's link */
    kvmq_owner_t       *sprev;      /* the slot's owners */
    kvmq_owner_t       *snext;
    kvmq_consumer_t    *consumers;
    kvmq_queue_t       *queues;     /* exclusive */
    kvmq_rpcaddr_t     *addrs;
    uint64_t            id;         /* the key */
    uint32_t            slot;
    uint8_t             dying;      /* being taken apart: no gc */
};

kvmq_owner_t *kvmq_owner_find(kvmq_ctx_t *c, uint64_t id);
kvmq_owner_t *kvmq_owner_new(kvmq_ctx_t *c, uint64_t id, unsigned slot);
void kvmq_owner_link(kvmq_ctx_t *c, kvmq_owner_t *o);
void kvmq_owner_gc(kvmq_ctx_t *c, kvmq_owner_t *o);

/* by tag and owner, or by tag alone when any_owner */
kvmq_consumer_t *kvmq_consumer_find(kvmq_queue_t *q,
    const kvmq_slice_t *ctag, uint64_t owner, int any_owner);
kvmq_consumer_t *kvmq_consumer_new(kvmq_ctx_t *c, kvmq_queue_t *q,
    const kvmq_slice_t *ctag);
void kvmq_consumer_link(kvmq_ctx_t *c, kvmq_consumer_t *k,
    kvmq_owner_t *o);
void kvmq_consumer_gc(kvmq_ctx_t *c, kvmq_consumer_t *k);
long kvmq_consumer_credit(const kvmq_consumer_t *k);
void kvmq_consumer_append(kvmq_consumer_t *k, kvmq_qent_t *e);
void kvmq_consumer_remove(kvmq_consumer_t *k, kvmq_qent_t *e);

/* the queue dies: its consumers become notices or go */
void kvmq_consumers_detach(kvmq_ctx_t *c, kvmq_queue_t *q,
    kvmq_qent_t **chain);

/* assign ready messages to consumers with credit, at most budget */
unsigned kvmq_queue_dispatch(kvmq_ctx_t *c, kvmq_queue_t *q,
    unsigned budget, const kvmq_qent_t *fresh);

/* requeue everything of k and cancel it; cancel requeues only the
 * outbox; both return 1 when the queue went with it (auto-delete) */
int kvmq_consumer_release(kvmq_ctx_t *c, kvmq_consumer_t *k);
int kvmq_consumer_cancel(kvmq_ctx_t *c, kvmq_consumer_t *k);


/* ---- exchanges (exchange.c) -------------------------------------------- */

#define KVMQ_X_DIRECT       0
#define KVMQ_X_FANOUT       1
#define KVMQ_X_TOPIC        2
#define KVMQ_X_HEADERS      3

#define KVMQ_XM_ALL         0
#define KVMQ_XM_ANY         1
#define KVMQ_XM_ALL_WITH_X  2
#define KVMQ_XM_ANY_WITH_X  3

struct kvmq_exchange_s {
    kvmq_hnode_t        node;       /* first: the registry's link */
    kvmq_htable_t       edges;      /* direct and topic: trie edges */
    kvmq_tnode_t       *root;       /* direct, topic: the trie's root */
    kvmq_binding_t     *bindings;   /* all of them */
    uint64_t            nbindings;
    uint64_t            next_id;    /* trie node ids */
    uint64_t            epoch;      /* trie walk marks */
    uint32_t            nlen;
    uint8_t             type;
    uint8_t             durable;
    unsigned char       name[];
};

struct kvmq_binding_s {
    kvmq_binding_t     *qprev;      /* the queue's bindings */
    kvmq_binding_t     *qnext;
    kvmq_binding_t     *xprev;      /* the exchange's bindings */
    kvmq_binding_t     *xnext;
    kvmq_binding_t     *nprev;      /* the trie node's (direct, topic) */
    kvmq_binding_t     *nnext;
    kvmq_exchange_t    *x;
    kvmq_tnode_t       *tnode;      /* direct, topic */
    kvmq_queue_t       *q;
    uint32_t            klen;       /* routing key */
    uint32_t            alen;       /* arguments area */
    uint32_t            nargs;      /* pairs, x-match not counted */
    uint8_t             xmatch;
    unsigned char       data[];     /* key, then name, value, ... */
};

/*
 * A trie node.  Its key in the exchange's edge table is the parent's id
 * (8 bytes) followed by the word that leads to it: "*" and "#" are words
 * too, and the parent keeps them at hand in star and hash.  A direct
 * exchange has one level whose words are whole routing keys.
 */
struct kvmq_tnode_s {
    kvmq_hnode_t        node;       /* first: the edge table's link */
    kvmq_tnode_t       *parent;
    kvmq_tnode_t       *star;
    kvmq_tnode_t       *hash;
    kvmq_binding_t     *bindings;
    uint64_t            id;
    uint64_t            mark;       /* in the active set of this walk */
    uint32_t            nkids;
    uint32_t            klen;
    unsigned char       key[];
};

/* the queues a route reaches, in process memory */
typedef struct {
    kvmq_queue_t      **q;
    size_t              n;
    size_t              cap;
    kvmq_queue_t       *stack[16];
} kvmq_qset_t;

void kvmq_qset_init(kvmq_qset_t *set);
int kvmq_qset_add(kvmq_qset_t *set, kvmq_queue_t *q);
void kvmq_qset_free(kvmq_qset_t *set);

kvmq_exchange_t *kvmq_exchange_find(kvmq_ctx_t *c, const kvmq_slice_t *name);

/* -1 for an unknown type name */
int kvmq_exchange_type(const kvmq_slice_t *name);
const char *kvmq_exchange_type_name(unsigned type);

/* PRECONDITION when it exists with another type or durability */
kvmq_err_e kvmq_exchange_declare(kvmq_ctx_t *c, const kvmq_slice_t *name,
    unsigned type, int durable, kvmq_exchange_t **xp, int *created);
void kvmq_exchange_destroy(kvmq_ctx_t *c, kvmq_exchange_t *x);

/* args: NAME VALUE pairs (x-match among them); *changed 1 when a
 * binding was made or removed; BADREQ for bad args, NOMEM */
kvmq_err_e kvmq_exchange_bind(kvmq_ctx_t *c, kvmq_exchange_t *x,
    kvmq_queue_t *q, const kvmq_slice_t *key, const kvmq_slice_t *args,
    int nargs, int *changed);
kvmq_err_e kvmq_exchange_unbind(kvmq_ctx_t *c, kvmq_exchange_t *x,
    kvmq_queue_t *q, const kvmq_slice_t *key, const kvmq_slice_t *args,
    int nargs, int *changed);

/*
 * Route (exchange x, or the default exchange when x is NULL) with key
 * and m's headers into set, each queue once.  -1 when process memory
 * ran out.
 */
int kvmq_exchange_route(kvmq_ctx_t *c, kvmq_exchange_t *x,
    const kvmq_slice_t *key, const kvmq_msg_t *m, kvmq_qset_t *set);

/* unbind everything of q (the queue goes) */
void kvmq_bindings_drop_queue(kvmq_ctx_t *c, kvmq_queue_t *q);

/*
 * Put m (built, refs not counting the queues yet) into the queues of
 * set.  Queues whose reject-publish limit is reached refuse it (with
 * reject-publish-dlx they dead-letter it).  Returns -1 with nothing
 * changed on NOMEM; else the queues that took it in *accepted and those
 * that refused in *refused.
 */
int kvmq_mq_put(kvmq_ctx_t *c, kvmq_qset_t *set, kvmq_msg_t *m,
    unsigned depth, uint64_t *accepted, uint64_t *refused);


/* ---- RPC addresses (rpc.c) --------------------------------------------- */

struct kvmq_rpcaddr_s {
    kvmq_hnode_t        node;       /* first: the address table's link */
    kvmq_rpcaddr_t     *oprev;      /* the owner's addresses */
    kvmq_rpcaddr_t     *onext;
    kvmq_rpcaddr_t     *tprev;      /* all addresses, by deadline */
    kvmq_rpcaddr_t     *tnext;
    kvmq_rpcaddr_t     *dnext;      /* the slot's answered ones */
    kvmq_owner_t       *owner;
    kvmq_msg_t         *reply;      /* once answered */
    int64_t             deadline;
    uint32_t            alen;
    uint32_t            clen;       /* expected correlation id */
    uint8_t             slot;
    uint8_t             answered;
    unsigned char       addr[];     /* address, correlation id */
};

kvmq_rpcaddr_t *kvmq_rpc_find(kvmq_ctx_t *c, const kvmq_slice_t *addr);
void kvmq_rpc_drop(kvmq_ctx_t *c, kvmq_rpcaddr_t *a);

/* a message published to the default exchange with an RPC address as
 * its routing key; 1 taken, 0 not an address, -1 NOMEM */
int kvmq_rpc_deliver(kvmq_ctx_t *c, kvmq_rpcaddr_t *a, kvmq_msg_t *m);
void kvmq_rpc_cron(kvmq_ctx_t *c, unsigned budget);


/* ---- the root ---------------------------------------------------------- */

struct kvmq_mq_s {
    kvmq_htable_t       queues;
    kvmq_htable_t       exchanges;
    kvmq_htable_t       tags;       /* unacked deliveries */
    kvmq_htable_t       owners;
    kvmq_htable_t       rpc;
    kvmq_queue_t       *qlist;      /* every queue */
    kvmq_queue_t       *cron_q;     /* the cron's place in it */
    kvmq_rpcaddr_t     *rpc_head;   /* by deadline */
    kvmq_rpcaddr_t     *rpc_tail;
    kvmq_consumer_t    *dirty[KVMQ_MQ_SLOTS];       /* FIFO */
    kvmq_consumer_t    *dirty_tail[KVMQ_MQ_SLOTS];
    kvmq_rpcaddr_t     *answered[KVMQ_MQ_SLOTS];
    kvmq_owner_t       *slot_owners[KVMQ_MQ_SLOTS];
    uint64_t            next_tag;   /* never reset: see kvmq_mq_gc() */
    uint64_t            ready_seq;
    uint64_t            epoch;      /* route dedupe */
    uint64_t            rpc_seq;
    uint64_t            consumers;
    uint64_t            bindings;
    uint64_t            messages;
    uint64_t            bytes;
    uint64_t            published;
    uint64_t            delivered;
    uint64_t            acked;
    uint8_t             used;       /* has held a queue or exchange */
};

/* the root, made on first use when create; NULL on NOMEM or absent */
kvmq_mq_t *kvmq_mq_get(kvmq_ctx_t *c, int create);

/* free a root that a failed write made and that never held anything */
void kvmq_mq_gc(kvmq_ctx_t *c);

/* free everything (kvmq_db_destroy) */
void kvmq_mq_destroy(kvmq_ctx_t *c);

uint64_t kvmq_mq_key_hash(kvmq_ctx_t *c, const void *p, size_t len);

/* depth of dead-letter republishing chains before messages are dropped */
#define KVMQ_DLX_DEPTH      16

/* work units of one dispatch pass */
#define KVMQ_DISPATCH_BATCH 1024

#endif /* KVMQ_MQ_H */
