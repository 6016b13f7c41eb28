/*
 * RPC reply addresses as the doors see them (the design is in rpc.c).
 *
 * A caller (a WebSocket RPC or a parked POST /rpc/{q}) opens a private
 * reply address with kvmq_rpc_call(), which also publishes the request
 * to the queue with reply_to = the address and a fresh correlation_id.
 * A server answers with RPC.REPLY addr correlation_id body (or by
 * publishing to the default exchange with the address as routing key);
 * the reply is kept in the zone and the caller's slot is reported in
 * c->wake.  The caller's worker then calls kvmq_rpc_take() for its slot
 * and gets the reply; the address is gone from then on.  A caller that
 * gives up (its timer fired, its connection closed) calls
 * kvmq_rpc_close(); kvmq_mq_owner_gone() and kvmq_mq_slot_gone() close
 * every address of the owner or slot, and the cron closes addresses
 * past their deadline.  A reply to a closed or answered address, or
 * with another correlation id, is NOTFOUND and dropped.
 */

#ifndef KVMQ_RPC_H
#define KVMQ_RPC_H

#include "kvmq.h"


#define KVMQ_RPC_ADDR_MAX   64      /* "amq.rpc." + hex, NUL included */
#define KVMQ_RPC_CORR_MAX   32


/* what kvmq_rpc_call() made */
typedef struct {
    char                addr[KVMQ_RPC_ADDR_MAX];
    size_t              alen;
    char                corr[KVMQ_RPC_CORR_MAX];
    size_t              clen;
    uint64_t            routed;     /* queues that took the request */
} kvmq_rpc_call_t;

/* a reply as kvmq_rpc_take() hands it out; valid during the call */
typedef struct {
    kvmq_slice_t            addr;
    kvmq_slice_t            correlation_id;
    uint64_t                owner;
    const struct kvmq_msg_s  *msg;  /* kvmq_msg_*() of queue.h read it */
} kvmq_rpc_reply_t;

typedef void (*kvmq_rpc_reply_pt)(void *arg, const kvmq_rpc_reply_t *r);


/*
 * Open an address for (owner, slot), due in timeout_ms, and publish body
 * to queue through the default exchange with reply_to and a generated
 * correlation_id; props are more properties in Q.PUBLISH's grammar
 * (NAME VALUE ..., e.g. content_type, header NAME VALUE).  Errors:
 * NOTFOUND (no such queue), BADREQ (bad props), NOMEM, QUEUEFULL
 * (reject-publish); no address is left open then.
 */
kvmq_err_e kvmq_rpc_call(kvmq_ctx_t *c, const kvmq_slice_t *queue,
    const kvmq_slice_t *body, const kvmq_slice_t *props, int nprops,
    uint64_t owner, unsigned slot, int64_t timeout_ms,
    kvmq_rpc_call_t *out);

/* hand out at most max replies for slot and close their addresses;
 * returns 1 when more remain */
int kvmq_rpc_take(kvmq_ctx_t *c, unsigned slot, unsigned max,
    kvmq_rpc_reply_pt fn, void *arg);

/* does slot have replies to take? */
int kvmq_rpc_pending(kvmq_db_t *db, unsigned slot);

/* the caller gave up: a later reply is NOTFOUND; 0, or -1 if absent */
int kvmq_rpc_close(kvmq_ctx_t *c, const kvmq_slice_t *addr);

#endif /* KVMQ_RPC_H */
