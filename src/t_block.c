/*
 * Blocking pops: BLPOP BRPOP BRPOPLPUSH BLMOVE BZPOPMIN BZPOPMAX, and the
 * registry of the requests that wait for them.
 *
 * The engine cannot hold a request: the door parks it (an nginx timer,
 * the connection left open) and runs the command again when woken.  What
 * the engine keeps is who waits on which key, in shared memory, so that
 * a push on any worker knows which worker slots to wake, and so that
 * waiters of one key are served in the order they came (Redis' rule)
 * whichever workers hold them.
 *
 * The registry is one db-wide FIFO of small records, oldest first, one
 * per (waiter, key): a waiter of "BLPOP a b 0" has two records with the
 * same id.  Ids grow with every new waiter, so the first record of a key
 * in the FIFO is its oldest waiter.  Waiters are few (one per parked
 * request) and a record is looked at only when a list or sorted set gets
 * items while somebody waits, so a list beats an index here.
 *
 * The protocol between a door and a command, through the kvmq_ctx_t:
 *
 *   - c->block = 0 (batches, Lua, a door that cannot park): the command
 *     is its non-blocking variant: it pops or replies nil.
 *   - c->block = 1, c->block_id = 0 (a new request): it pops at once if a
 *     key has items and nobody waits on it; else it registers a waiter
 *     (c->block_id), replies nothing and sets c->blocked and
 *     c->block_timeout (ms, 0 = forever).
 *   - c->block = 1, c->block_id = id (a parked request, woken): it pops
 *     only from a key it is the oldest waiter of; served, its records
 *     are removed; else it replies nothing and sets c->blocked again.
 *
 * Wake-ups: kvmq_db_signal_ready() (a list or sorted set got items) ORs
 * into c->wake the slots of the key's waiters and bumps their counts in
 * blocked.wakes, which a woken worker compares to know whether it has
 * pops to retry (it is woken for pub/sub too).  A waiter that leaves
 * (served, timed out, its client gone) ORs the slots of the next waiters
 * of its keys that still hold items, since the push that woke it may
 * have been meant for them too.  A worker that starts in a slot drops
 * the records a previous holder of the slot left (kvmq_block_slot_reset).
 */

#include <math.h>

#include "commands.h"
#include "db.h"
#include "quicklist.h"


typedef enum {
    KVMQ_BLOCK_LPOP = 0,
    KVMQ_BLOCK_RPOP,
    KVMQ_BLOCK_MOVE,
    KVMQ_BLOCK_ZMIN,
    KVMQ_BLOCK_ZMAX
} kvmq_block_op_e;


/* ---- the registry ------------------------------------------------------ */


static int
kvmq_block_match(const kvmq_waiter_t *w, const kvmq_slice_t *key)
{
    return w->klen == key->len && memcmp(w->key, key->data, key->len) == 0;
}


/* the oldest waiter of key, or NULL */
static kvmq_waiter_t *
kvmq_block_first(kvmq_ctx_t *c, const kvmq_slice_t *key)
{
    kvmq_waiter_t  *w;

    for (w = c->db->blocked.head; w != NULL; w = w->next) {
        if (kvmq_block_match(w, key)) {
            return w;
        }
    }

    return NULL;
}


/*
 * Wake the slots holding waiters of key: into c->wake for the host, and
 * a per-slot count that tells a woken worker it has pops to retry.
 */
static void
kvmq_block_wake(kvmq_ctx_t *c, const unsigned char *key, size_t len)
{
    uint64_t        slots;
    unsigned        i;
    kvmq_slice_t    k;
    kvmq_waiter_t  *w;

    k.data = key;
    k.len = len;
    slots = 0;

    for (w = c->db->blocked.head; w != NULL; w = w->next) {
        if (kvmq_block_match(w, &k) && w->slot < KVMQ_BLOCK_SLOTS) {
            slots |= (uint64_t) 1 << w->slot;
        }
    }

    for (i = 0; i < KVMQ_BLOCK_SLOTS; i++) {
        if (slots & ((uint64_t) 1 << i)) {
            c->db->blocked.wakes[i]++;
        }
    }

    c->wake |= slots;
}


uint64_t
kvmq_block_wakes(kvmq_db_t *db, unsigned slot)
{
    return (slot < KVMQ_BLOCK_SLOTS) ? db->blocked.wakes[slot] : 0;
}


static void
kvmq_block_unlink(kvmq_ctx_t *c, kvmq_waiter_t *w)
{
    kvmq_block_reg_t  *reg;

    reg = &c->db->blocked;

    if (w->prev) {
        w->prev->next = w->next;

    } else {
        reg->head = w->next;
    }

    if (w->next) {
        w->next->prev = w->prev;

    } else {
        reg->tail = w->prev;
    }

    reg->count--;
}


/* register one record of waiter id; -1 on NOMEM */
static int
kvmq_block_add(kvmq_ctx_t *c, uint64_t id, const kvmq_slice_t *key)
{
    kvmq_waiter_t     *w;
    kvmq_block_reg_t  *reg;

    w = kvmq_zalloc(c, sizeof(kvmq_waiter_t) + key->len);
    if (w == NULL) {
        return -1;
    }

    reg = &c->db->blocked;

    w->id = id;
    w->slot = c->owner_slot;
    w->klen = (uint32_t) key->len;
    memcpy(w->key, key->data, key->len);

    w->next = NULL;
    w->prev = reg->tail;

    if (reg->tail) {
        reg->tail->next = w;

    } else {
        reg->head = w;
    }

    reg->tail = w;
    reg->count++;

    return 0;
}


/*
 * Remove every record of waiter id; the next waiters of its keys that
 * hold items are woken, as the item may have been meant for them.
 */
void
kvmq_block_cancel(kvmq_ctx_t *c, uint64_t id)
{
    kvmq_slice_t    k;
    kvmq_entry_t   *e;
    kvmq_waiter_t  *w, *next;

    for (w = c->db->blocked.head; w != NULL; w = next) {
        next = w->next;

        if (w->id != id) {
            continue;
        }

        kvmq_block_unlink(c, w);

        k.data = w->key;
        k.len = w->klen;

        e = kvmq_lookup_write(c, &k);

        if (e != NULL
            && (e->type == KVMQ_TYPE_LIST || e->type == KVMQ_TYPE_ZSET))
        {
            kvmq_block_wake(c, w->key, w->klen);
        }

        kvmq_zfree(c, w);
    }
}


void
kvmq_block_slot_reset(kvmq_ctx_t *c, unsigned slot)
{
    kvmq_waiter_t  *w, *next;

    for (w = c->db->blocked.head; w != NULL; w = next) {
        next = w->next;

        if (w->slot == slot) {
            kvmq_block_unlink(c, w);
            kvmq_zfree(c, w);
        }
    }
}


void
kvmq_block_destroy(kvmq_ctx_t *c)
{
    kvmq_waiter_t  *w, *next;

    for (w = c->db->blocked.head; w != NULL; w = next) {
        next = w->next;
        kvmq_zfree(c, w);
    }

    c->db->blocked.head = NULL;
    c->db->blocked.tail = NULL;
    c->db->blocked.count = 0;
}


void
kvmq_block_signal(kvmq_ctx_t *c, kvmq_entry_t *e)
{
    if (c->db->blocked.count) {
        kvmq_block_wake(c, e->key, e->klen);
    }
}


/* ---- the commands ------------------------------------------------------ */


/* Redis' getTimeoutFromObjectOrReply(): seconds as a float, in ms */
static int
kvmq_block_timeout(kvmq_ctx_t *c, const kvmq_slice_t *a, int64_t *ms)
{
    long double  t;

    if (kvmq_str2ld(a->data, a->len, &t) != 0 || isnan(t) || isinf(t)) {
        kvmq_reply_error(c, KVMQ_ERR_BADREQ,
                         "timeout is not a float or out of range");
        return -1;
    }

    if (t < 0) {
        kvmq_reply_error(c, KVMQ_ERR_BADREQ, "timeout is negative");
        return -1;
    }

    t = ceill(t * 1000);

    if (t > (long double) INT64_MAX / 2) {
        kvmq_reply_error(c, KVMQ_ERR_BADREQ, "timeout is out of range");
        return -1;
    }

    *ms = (int64_t) t;

    return 0;
}


static int
kvmq_block_try(kvmq_ctx_t *c, kvmq_block_op_e op, const kvmq_slice_t *key,
    const kvmq_slice_t *dst, int from, int to)
{
    long long  count;

    /* a door's own shape (REST pop with a count): LPOP key count */
    count = c->block_count;

    switch (op) {

    case KVMQ_BLOCK_LPOP:
    case KVMQ_BLOCK_RPOP:
        return kvmq_list_try_pop(c, key, op == KVMQ_BLOCK_LPOP
                                         ? KVMQ_LIST_HEAD : KVMQ_LIST_TAIL,
                                 count ? count : -1, count ? 0 : 1);

    case KVMQ_BLOCK_MOVE:
        return kvmq_list_try_move(c, key, dst, from, to);

    default:
        return kvmq_zset_try_pop(c, key, op == KVMQ_BLOCK_ZMAX, 1, 2);
    }
}


static void
kvmq_block_generic(kvmq_ctx_t *c, int argc, const kvmq_slice_t *argv,
    kvmq_block_op_e op, int from, int to)
{
    int             i, nkeys;
    int64_t         ms;
    uint64_t        id;
    kvmq_waiter_t  *w;

    if (kvmq_block_timeout(c, &argv[argc - 1], &ms) != 0) {
        return;
    }

    nkeys = (op == KVMQ_BLOCK_MOVE) ? 1 : argc - 2;

    for (i = 1; i <= nkeys; i++) {

        if (c->block) {
            w = kvmq_block_first(c, &argv[i]);

            /* a new request queues behind the waiters of the key; a
             * woken one pops only as the key's oldest waiter */
            if (c->block_id == 0 ? w != NULL
                                 : (w == NULL || w->id != c->block_id))
            {
                continue;
            }
        }

        if (kvmq_block_try(c, op, &argv[i], &argv[2], from, to)) {
            if (c->block_id) {
                kvmq_block_cancel(c, c->block_id);
                c->block_id = 0;
            }

            return;
        }
    }

    if (!c->block) {
        kvmq_reply_nil(c);
        return;
    }

    if (c->block_id == 0) {
        id = ++c->db->blocked.next_id;

        for (i = 1; i <= nkeys; i++) {
            if (kvmq_block_add(c, id, &argv[i]) != 0) {
                kvmq_block_cancel(c, id);
                kvmq_reply_nomem(c);
                return;
            }
        }

        c->block_id = id;
    }

    c->blocked = 1;
    c->block_timeout = ms;
}


static int
kvmq_block_where(kvmq_ctx_t *c, const kvmq_slice_t *a, int *where)
{
    if (kvmq_arg_is(a, "LEFT")) {
        *where = KVMQ_LIST_HEAD;
        return 0;
    }

    if (kvmq_arg_is(a, "RIGHT")) {
        *where = KVMQ_LIST_TAIL;
        return 0;
    }

    kvmq_reply_syntax(c);

    return -1;
}


void
kvmq_cmd_blpop(kvmq_ctx_t *c, int argc, const kvmq_slice_t *argv)
{
    kvmq_block_generic(c, argc, argv, KVMQ_BLOCK_LPOP, 0, 0);
}


void
kvmq_cmd_brpop(kvmq_ctx_t *c, int argc, const kvmq_slice_t *argv)
{
    kvmq_block_generic(c, argc, argv, KVMQ_BLOCK_RPOP, 0, 0);
}


void
kvmq_cmd_brpoplpush(kvmq_ctx_t *c, int argc, const kvmq_slice_t *argv)
{
    kvmq_block_generic(c, argc, argv, KVMQ_BLOCK_MOVE, KVMQ_LIST_TAIL,
                       KVMQ_LIST_HEAD);
}


void
kvmq_cmd_blmove(kvmq_ctx_t *c, int argc, const kvmq_slice_t *argv)
{
    int  from, to;

    if (kvmq_block_where(c, &argv[3], &from) != 0
        || kvmq_block_where(c, &argv[4], &to) != 0)
    {
        return;
    }

    kvmq_block_generic(c, argc, argv, KVMQ_BLOCK_MOVE, from, to);
}


void
kvmq_cmd_bzpopmin(kvmq_ctx_t *c, int argc, const kvmq_slice_t *argv)
{
    kvmq_block_generic(c, argc, argv, KVMQ_BLOCK_ZMIN, 0, 0);
}


void
kvmq_cmd_bzpopmax(kvmq_ctx_t *c, int argc, const kvmq_slice_t *argv)
{
    kvmq_block_generic(c, argc, argv, KVMQ_BLOCK_ZMAX, 0, 0);
}
