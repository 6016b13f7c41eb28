/*
 * Pub/sub: channels with a history ring, pattern subscriptions, per-slot
 * subscriber counts and pending deliveries.  The API is in pubsub.h;
 * this explains the layout and the invariants.
 *
 * Layout.  One root (kvmq_pubsub_t) hangs off the db, made on first use.
 * Channels are found by name through the intrusive table of htable.c
 * and are also on a doubly linked list of all channels, which the cron
 * walks round-robin and PUBSUB CHANNELS lists without duplicates.
 * Patterns are a plain list: every PUBLISH matches the channel against
 * all of them, as Redis does.
 *
 * Messages.  A message is one block (header + payload) stored once.  The
 * messages of a channel form a singly linked chain in publish order, and
 * a message is reference counted: one reference for each of
 *
 *   - the previous message's next pointer,
 *   - the channel's head (the oldest message of the history ring) and
 *     the channel's tail (the newest message),
 *   - each slot record whose first pending message it is.
 *
 * Holding a message therefore keeps every later message alive, and
 * dropping the last reference frees a run of messages in one loop (no
 * recursion).  The ring is head .. tail (nmsgs messages); trimming it
 * (size or age) moves head forward.  A message past the ring that a slot
 * has not consumed yet stays alive through that slot's pending pointer.
 *
 * Slot records.  A kvmq_slotsub_t says "slot S (generation G) has count
 * subscribers of this channel (or pattern)".  The counts make PUBLISH's
 * receiver count; records are never per connection.  A record is live
 * while G equals the slot's current generation; kvmq_pubsub_slot_reset()
 * bumps it, which kills every record of the slot at once, and dead
 * records are freed when met (publish, subscribe, unsubscribe, cron).
 *
 * Pending deliveries.  A live channel record with a pending message is
 * on its slot's dirty list, and only then (dirty <=> pending != NULL for
 * live records).  PUBLISH makes each interested record pending, if it
 * was not, and reports its slot in c->wake; kvmq_pubsub_consume() pops
 * the slot's dirty list and hands out the chain from pending to the
 * tail.  A record with no subscribers left (count 0) is freed once its
 * pending messages are consumed; that is also the life of the records
 * PUBLISH creates for slots that only have matching pattern
 * subscriptions.  Resetting a slot empties its dirty list, so a dead
 * record is on no list and can be freed anywhere.
 *
 * A slot that does not consume (a stopped worker) would pin messages
 * without bound; past KVMQ_PUBSUB_MAX_LAG messages its pending pointer
 * jumps to the ring's head, and the seq numbers it sees jump too.
 *
 * Channels are freed when they have no records and an empty ring: with
 * a history, a channel lives as long as its ring holds messages (use
 * history_ttl to bound that).  A seq number is never given twice to a
 * channel name, or a client resuming with an old one would skip new
 * messages: a freed channel leaves its last seq in a small table of
 * tombstones indexed by its hash (the maximum of all freed channels of
 * that index), and a new channel starts from its index's tombstone.  So
 * a channel never seen before starts at 1, unless a freed one shared its
 * index; sequences always increase, but may not start at 1.
 *
 * Allocation.  PUBLISH and SUBSCRIBE allocate everything they need (the
 * message, a new channel, new records) before linking anything, so NOMEM
 * leaves the zone as it was.  Freeing dead records on the way is not a
 * visible change.
 */

#include "commands.h"
#include "db.h"
#include "htable.h"
#include "pubsub.h"


#define KVMQ_PS_CRON_BATCH   64
#define KVMQ_PS_TOMBS        256        /* a power of two */


typedef struct kvmq_msg_s      kvmq_msg_t;
typedef struct kvmq_slotsub_s  kvmq_slotsub_t;
typedef struct kvmq_channel_s  kvmq_channel_t;
typedef struct kvmq_pattern_s  kvmq_pattern_t;

struct kvmq_msg_s {
    kvmq_msg_t         *next;       /* a reference */
    uint64_t            seq;
    uint64_t            gid;
    int64_t             time;
    uint32_t            refs;
    uint32_t            len;
    unsigned char       data[];
};

struct kvmq_slotsub_s {
    kvmq_slotsub_t     *next;       /* the channel's or pattern's records */
    kvmq_slotsub_t     *dnext;      /* the slot's dirty list */
    kvmq_channel_t     *chan;       /* NULL for a pattern's record */
    kvmq_msg_t         *pending;    /* first message not consumed; a ref */
    uint64_t            gen;
    uint32_t            count;
    uint8_t             slot;
    uint8_t             dirty;
};

struct kvmq_channel_s {
    kvmq_hnode_t        node;       /* first: the table's link */
    kvmq_channel_t     *lprev;      /* the list of all channels */
    kvmq_channel_t     *lnext;
    kvmq_slotsub_t     *subs;
    kvmq_msg_t         *head;       /* oldest of the ring; a reference */
    kvmq_msg_t         *tail;       /* newest message; a reference */
    uint64_t            hash;
    uint64_t            seq;        /* of the newest message */
    uint32_t            nmsgs;      /* in the ring */
    uint32_t            len;
    unsigned char       name[];
};

struct kvmq_pattern_s {
    kvmq_pattern_t     *next;
    kvmq_slotsub_t     *subs;
    uint32_t            len;
    unsigned char       pat[];
};

struct kvmq_pubsub_s {
    kvmq_htable_t       table;
    kvmq_channel_t     *all;        /* list of all channels */
    kvmq_channel_t     *cron_next;  /* the cron's place in it */
    kvmq_pattern_t     *patterns;
    kvmq_slotsub_t     *dirty[KVMQ_PUBSUB_SLOTS];       /* FIFO */
    kvmq_slotsub_t     *dirty_tail[KVMQ_PUBSUB_SLOTS];
    uint64_t            gen[KVMQ_PUBSUB_SLOTS];
    uint64_t            nsubs[KVMQ_PUBSUB_SLOTS];      /* live, per slot */
    uint64_t            tomb[KVMQ_PS_TOMBS];  /* last seqs of freed ones */
    uint64_t            nchannels;
    uint64_t            gid;        /* messages published, ever */
    uint64_t            messages;   /* alive */
    uint64_t            bytes;
    uint32_t            history;
    uint32_t            max_lag;
    int64_t             ttl_ms;
};

typedef struct kvmq_pubsub_s  kvmq_pubsub_t;


static kvmq_slice_t kvmq_ps_chan_key(const kvmq_hnode_t *n);

static const kvmq_htype_t  kvmq_ps_htype = { kvmq_ps_chan_key };


static kvmq_slice_t
kvmq_ps_chan_key(const kvmq_hnode_t *n)
{
    kvmq_slice_t           s;
    const kvmq_channel_t  *ch;

    ch = (const kvmq_channel_t *) n;

    s.data = ch->name;
    s.len = ch->len;

    return s;
}


static kvmq_slice_t
kvmq_ps_chan_name(const kvmq_channel_t *ch)
{
    return kvmq_ps_chan_key(&ch->node);
}


/* ---- the root ---------------------------------------------------------- */


static kvmq_pubsub_t *
kvmq_ps_get(kvmq_ctx_t *c, int create)
{
    kvmq_pubsub_t  *ps;

    ps = c->db->pubsub;

    if (ps != NULL || !create) {
        return ps;
    }

    ps = kvmq_zalloc(c, sizeof(kvmq_pubsub_t));
    if (ps == NULL) {
        return NULL;
    }

    memset(ps, 0, sizeof(kvmq_pubsub_t));

    if (kvmq_htable_init(c, &ps->table, 0) != 0) {
        kvmq_zfree(c, ps);
        return NULL;
    }

    ps->history = KVMQ_PUBSUB_HISTORY;
    ps->max_lag = KVMQ_PUBSUB_MAX_LAG;

    c->db->pubsub = ps;

    return ps;
}


int
kvmq_pubsub_configure(kvmq_ctx_t *c, unsigned history, int64_t ttl_ms)
{
    kvmq_pubsub_t  *ps;

    ps = kvmq_ps_get(c, 1);
    if (ps == NULL) {
        return -1;
    }

    ps->history = history;
    ps->ttl_ms = ttl_ms > 0 ? ttl_ms : 0;

    /* a pending run is never shorter than the ring */
    ps->max_lag = history > KVMQ_PUBSUB_MAX_LAG ? history
                                                 : KVMQ_PUBSUB_MAX_LAG;

    return 0;
}


static int
kvmq_ps_live(const kvmq_pubsub_t *ps, const kvmq_slotsub_t *s)
{
    return s->gen == ps->gen[s->slot];
}


static int
kvmq_ps_gen_ok(const kvmq_pubsub_t *ps, unsigned slot, uint64_t gen)
{
    return ps != NULL && slot < KVMQ_PUBSUB_SLOTS && gen != 0
           && ps->gen[slot] == gen;
}


/* ---- messages ---------------------------------------------------------- */


static void
kvmq_msg_unref(kvmq_ctx_t *c, kvmq_pubsub_t *ps, kvmq_msg_t *m)
{
    kvmq_msg_t  *next;

    while (m != NULL && --m->refs == 0) {
        next = m->next;

        ps->messages--;
        ps->bytes -= m->len;

        kvmq_zfree(c, m);

        m = next;
    }
}


static int
kvmq_msg_expired(kvmq_ctx_t *c, kvmq_pubsub_t *ps, const kvmq_msg_t *m)
{
    return ps->ttl_ms != 0 && c->now_ms - m->time > ps->ttl_ms;
}


static void
kvmq_msg_export(const kvmq_msg_t *m, kvmq_pubmsg_t *pm)
{
    pm->seq = m->seq;
    pm->gid = m->gid;
    pm->time_ms = m->time;
    pm->data.data = m->data;
    pm->data.len = m->len;
}


/* ---- slot records ------------------------------------------------------ */


/* a record that became pending joins the end of its slot's list */
static void
kvmq_ps_dirty(kvmq_pubsub_t *ps, kvmq_slotsub_t *s)
{
    s->dirty = 1;
    s->dnext = NULL;

    if (ps->dirty[s->slot] == NULL) {
        ps->dirty[s->slot] = s;

    } else {
        ps->dirty_tail[s->slot]->dnext = s;
    }

    ps->dirty_tail[s->slot] = s;
}


/* a record consumed only in part goes back to the front */
static void
kvmq_ps_dirty_front(kvmq_pubsub_t *ps, kvmq_slotsub_t *s)
{
    s->dirty = 1;
    s->dnext = ps->dirty[s->slot];

    if (s->dnext == NULL) {
        ps->dirty_tail[s->slot] = s;
    }

    ps->dirty[s->slot] = s;
}


/* free a record that is on no dirty list; *pp is its link */
static void
kvmq_ps_sub_drop(kvmq_ctx_t *c, kvmq_pubsub_t *ps, kvmq_slotsub_t **pp)
{
    kvmq_slotsub_t  *s;

    s = *pp;
    *pp = s->next;

    kvmq_msg_unref(c, ps, s->pending);
    kvmq_zfree(c, s);
}


/*
 * Free the dead records of a list; return the live subscriber count and
 * put the slots of live records in *have, those with subscribers in
 * *want.
 */
static uint64_t
kvmq_ps_prune(kvmq_ctx_t *c, kvmq_pubsub_t *ps, kvmq_slotsub_t **head,
    uint64_t *have, uint64_t *want)
{
    uint64_t          n;
    kvmq_slotsub_t   *s, **pp;

    n = 0;

    for (pp = head, s = *head; s != NULL; s = *pp) {

        if (!kvmq_ps_live(ps, s)) {
            kvmq_ps_sub_drop(c, ps, pp);
            continue;
        }

        if (have) {
            *have |= 1ULL << s->slot;
        }

        if (s->count && want) {
            *want |= 1ULL << s->slot;
        }

        n += s->count;
        pp = &s->next;
    }

    return n;
}


/* the live record of slot in a list, dropping a dead one on the way */
static kvmq_slotsub_t **
kvmq_ps_sub_find(kvmq_ctx_t *c, kvmq_pubsub_t *ps, kvmq_slotsub_t **head,
    unsigned slot)
{
    kvmq_slotsub_t   *s, **pp;

    for (pp = head, s = *head; s != NULL; s = *pp) {

        if (s->slot == slot) {
            if (kvmq_ps_live(ps, s)) {
                return pp;
            }

            kvmq_ps_sub_drop(c, ps, pp);
            continue;
        }

        pp = &s->next;
    }

    return NULL;
}


static kvmq_slotsub_t *
kvmq_ps_sub_new(kvmq_ctx_t *c, kvmq_pubsub_t *ps, unsigned slot)
{
    kvmq_slotsub_t  *s;

    s = kvmq_zalloc(c, sizeof(kvmq_slotsub_t));
    if (s == NULL) {
        return NULL;
    }

    memset(s, 0, sizeof(kvmq_slotsub_t));

    s->slot = (uint8_t) slot;
    s->gen = ps->gen[slot];

    return s;
}


static void
kvmq_ps_slot_reset(kvmq_pubsub_t *ps, unsigned slot)
{
    kvmq_slotsub_t  *s, *next;

    /* the records on the list die with the generation: unlist them so
     * that whoever meets them next may free them */
    for (s = ps->dirty[slot]; s != NULL; s = next) {
        next = s->dnext;
        s->dnext = NULL;
        s->dirty = 0;
    }

    ps->dirty[slot] = NULL;
    ps->dirty_tail[slot] = NULL;
    ps->nsubs[slot] = 0;

    if (++ps->gen[slot] == 0) {
        ps->gen[slot] = 1;
    }
}


uint64_t
kvmq_pubsub_slot_reset(kvmq_ctx_t *c, unsigned slot, unsigned unused)
{
    unsigned        i;
    kvmq_pubsub_t  *ps;

    ps = kvmq_ps_get(c, 1);

    if (ps == NULL || slot >= KVMQ_PUBSUB_SLOTS) {
        return 0;
    }

    kvmq_ps_slot_reset(ps, slot);

    for (i = unused; i < KVMQ_PUBSUB_SLOTS; i++) {
        if (i != slot) {
            kvmq_ps_slot_reset(ps, i);
        }
    }

    return ps->gen[slot];
}


/* ---- channels ---------------------------------------------------------- */


static kvmq_channel_t *
kvmq_ps_chan_find(kvmq_ctx_t *c, kvmq_pubsub_t *ps, const kvmq_slice_t *name,
    uint64_t hash)
{
    return (kvmq_channel_t *) kvmq_htable_find(c, &ps->table, &kvmq_ps_htype,
                                               name->data, name->len, hash);
}


static kvmq_channel_t *
kvmq_ps_chan_alloc(kvmq_ctx_t *c, kvmq_pubsub_t *ps, const kvmq_slice_t *name,
    uint64_t hash)
{
    kvmq_channel_t  *ch;

    if (name->len > UINT32_MAX) {
        return NULL;
    }

    ch = kvmq_zalloc(c, sizeof(kvmq_channel_t) + name->len);
    if (ch == NULL) {
        return NULL;
    }

    memset(ch, 0, sizeof(kvmq_channel_t));
    memcpy(ch->name, name->data, name->len);

    ch->len = (uint32_t) name->len;
    ch->hash = hash;
    ch->seq = ps->tomb[hash & (KVMQ_PS_TOMBS - 1)];

    return ch;
}


static void
kvmq_ps_chan_link(kvmq_ctx_t *c, kvmq_pubsub_t *ps, kvmq_channel_t *ch)
{
    (void) kvmq_htable_reserve(c, &ps->table, &kvmq_ps_htype, ch->hash);
    kvmq_htable_link(&ps->table, &ch->node, ch->hash);

    ch->lprev = NULL;
    ch->lnext = ps->all;

    if (ps->all) {
        ps->all->lprev = ch;
    }

    ps->all = ch;
    ps->nchannels++;
}


/* drop the oldest message of the ring */
static void
kvmq_ps_ring_pop(kvmq_ctx_t *c, kvmq_pubsub_t *ps, kvmq_channel_t *ch)
{
    kvmq_msg_t  *old;

    old = ch->head;
    ch->head = (ch->nmsgs > 1) ? old->next : NULL;

    if (ch->head) {
        ch->head->refs++;
    }

    ch->nmsgs--;

    kvmq_msg_unref(c, ps, old);
}


static void
kvmq_ps_trim(kvmq_ctx_t *c, kvmq_pubsub_t *ps, kvmq_channel_t *ch)
{
    while (ch->nmsgs > ps->history
           || (ch->nmsgs && kvmq_msg_expired(c, ps, ch->head)))
    {
        kvmq_ps_ring_pop(c, ps, ch);
    }
}


/* free the channel if nothing needs it any more; 1 when freed */
static int
kvmq_ps_chan_gc(kvmq_ctx_t *c, kvmq_pubsub_t *ps, kvmq_channel_t *ch)
{
    if (ch->subs != NULL || ch->nmsgs != 0) {
        return 0;
    }

    kvmq_htable_unlink(c, &ps->table, &ch->node, ch->hash);

    if (ps->cron_next == ch) {
        ps->cron_next = ch->lnext;
    }

    if (ch->lprev) {
        ch->lprev->lnext = ch->lnext;

    } else {
        ps->all = ch->lnext;
    }

    if (ch->lnext) {
        ch->lnext->lprev = ch->lprev;
    }

    ps->nchannels--;

    if (ch->seq > ps->tomb[ch->hash & (KVMQ_PS_TOMBS - 1)]) {
        ps->tomb[ch->hash & (KVMQ_PS_TOMBS - 1)] = ch->seq;
    }

    kvmq_msg_unref(c, ps, ch->tail);
    kvmq_zfree(c, ch);

    return 1;
}


static void
kvmq_ps_pos(kvmq_pubsub_t *ps, kvmq_channel_t *ch, kvmq_pubsub_pos_t *pos)
{
    pos->gid = ps->gid;

    if (ch == NULL) {
        pos->first = 1;
        pos->last = 0;
        return;
    }

    pos->last = ch->seq;
    pos->first = ch->nmsgs ? ch->head->seq : ch->seq + 1;
}


/*
 * Make a record pending from m (the new tail) unless it already is; a
 * record too far behind skips to the ring.  Returns 1 when the slot must
 * be woken.
 */
static int
kvmq_ps_mark(kvmq_ctx_t *c, kvmq_pubsub_t *ps, kvmq_channel_t *ch,
    kvmq_slotsub_t *s, kvmq_msg_t *m)
{
    kvmq_msg_t  *to;

    if (s->pending == NULL) {
        m->refs++;
        s->pending = m;
        kvmq_ps_dirty(ps, s);
        return 1;
    }

    if (m->seq - s->pending->seq < ps->max_lag) {
        return 0;
    }

    to = (ch->nmsgs && ch->head->seq > s->pending->seq) ? ch->head : m;

    to->refs++;
    kvmq_msg_unref(c, ps, s->pending);
    s->pending = to;

    return 0;
}


/* ---- patterns ---------------------------------------------------------- */


static kvmq_pattern_t **
kvmq_ps_pat_find(kvmq_pubsub_t *ps, const kvmq_slice_t *pat)
{
    kvmq_pattern_t  **pp;

    for (pp = &ps->patterns; *pp; pp = &(*pp)->next) {
        if ((*pp)->len == pat->len
            && memcmp((*pp)->pat, pat->data, pat->len) == 0)
        {
            return pp;
        }
    }

    return NULL;
}


/*
 * Free dead records of every pattern and patterns left with none; for
 * channel (if not NULL) count the live subscribers of matching patterns
 * and collect their slots.
 */
static uint64_t
kvmq_ps_patterns(kvmq_ctx_t *c, kvmq_pubsub_t *ps, const kvmq_slice_t *ch,
    uint64_t *want)
{
    uint64_t          n, total, mask;
    kvmq_pattern_t   *p, **pp;

    total = 0;
    pp = &ps->patterns;

    while ((p = *pp) != NULL) {
        mask = 0;
        n = kvmq_ps_prune(c, ps, &p->subs, NULL, &mask);

        if (p->subs == NULL) {
            *pp = p->next;
            kvmq_zfree(c, p);
            continue;
        }

        if (ch && n
            && kvmq_glob_match(p->pat, p->len, ch->data, ch->len, 0))
        {
            total += n;
            *want |= mask;
        }

        pp = &p->next;
    }

    return total;
}


/* ---- the host API ------------------------------------------------------ */


kvmq_err_e
kvmq_pubsub_subscribe(kvmq_ctx_t *c, unsigned slot, uint64_t gen,
    const kvmq_slice_t *channel, const uint64_t *since,
    kvmq_pubsub_msg_pt fn, void *arg, kvmq_pubsub_pos_t *pos)
{
    uint64_t          hash;
    kvmq_msg_t       *m;
    kvmq_pubmsg_t     pm;
    kvmq_pubsub_t    *ps;
    kvmq_channel_t   *ch, *nch;
    kvmq_slotsub_t   *s, **sp;

    ps = kvmq_ps_get(c, 1);
    if (ps == NULL) {
        return KVMQ_ERR_NOMEM;
    }

    if (!kvmq_ps_gen_ok(ps, slot, gen)) {
        return KVMQ_ERR_DENIED;
    }

    hash = kvmq_htable_hash(c, channel->data, channel->len);
    ch = kvmq_ps_chan_find(c, ps, channel, hash);

    nch = NULL;
    s = NULL;
    sp = (ch != NULL) ? kvmq_ps_sub_find(c, ps, &ch->subs, slot) : NULL;

    if (ch == NULL) {
        nch = kvmq_ps_chan_alloc(c, ps, channel, hash);
        if (nch == NULL) {
            return KVMQ_ERR_NOMEM;
        }
    }

    if (sp == NULL) {
        s = kvmq_ps_sub_new(c, ps, slot);
        if (s == NULL) {
            kvmq_zfree(c, nch);

            if (ch != NULL) {
                (void) kvmq_ps_chan_gc(c, ps, ch);
            }

            return KVMQ_ERR_NOMEM;
        }
    }

    if (nch != NULL) {
        kvmq_ps_chan_link(c, ps, nch);
        ch = nch;
    }

    if (s != NULL) {
        s->chan = ch;
        s->next = ch->subs;
        ch->subs = s;

    } else {
        s = *sp;
    }

    s->count++;
    ps->nsubs[slot]++;

    kvmq_ps_trim(c, ps, ch);
    kvmq_ps_pos(ps, ch, pos);

    if (since == NULL || fn == NULL) {
        return KVMQ_OK;
    }

    for (m = ch->nmsgs ? ch->head : NULL; m != NULL; m = m->next) {

        if (m->seq > *since) {
            kvmq_msg_export(m, &pm);

            if (fn(arg, channel, &pm) != 0) {
                break;
            }
        }

        if (m == ch->tail) {
            break;
        }
    }

    return KVMQ_OK;
}


void
kvmq_pubsub_unsubscribe(kvmq_ctx_t *c, unsigned slot, uint64_t gen,
    const kvmq_slice_t *channels, unsigned n)
{
    unsigned          i;
    uint64_t          hash;
    kvmq_pubsub_t    *ps;
    kvmq_channel_t   *ch;
    kvmq_slotsub_t   *s, **sp;

    ps = kvmq_ps_get(c, 0);

    if (!kvmq_ps_gen_ok(ps, slot, gen)) {
        return;
    }

    for (i = 0; i < n; i++) {
        hash = kvmq_htable_hash(c, channels[i].data, channels[i].len);
        ch = kvmq_ps_chan_find(c, ps, &channels[i], hash);

        if (ch == NULL) {
            continue;
        }

        sp = kvmq_ps_sub_find(c, ps, &ch->subs, slot);

        if (sp != NULL) {
            s = *sp;

            if (s->count > 0) {
                s->count--;
                ps->nsubs[slot]--;
            }

            /* a pending record goes when its messages are consumed */
            if (s->count == 0 && s->pending == NULL) {
                kvmq_ps_sub_drop(c, ps, sp);
            }
        }

        kvmq_ps_trim(c, ps, ch);
        (void) kvmq_ps_chan_gc(c, ps, ch);
    }
}


kvmq_err_e
kvmq_pubsub_psubscribe(kvmq_ctx_t *c, unsigned slot, uint64_t gen,
    const kvmq_slice_t *pattern, uint64_t *gid)
{
    kvmq_pubsub_t    *ps;
    kvmq_pattern_t   *p, **pp;
    kvmq_slotsub_t   *s, **sp;

    ps = kvmq_ps_get(c, 1);
    if (ps == NULL) {
        return KVMQ_ERR_NOMEM;
    }

    if (!kvmq_ps_gen_ok(ps, slot, gen)) {
        return KVMQ_ERR_DENIED;
    }

    pp = kvmq_ps_pat_find(ps, pattern);
    p = (pp != NULL) ? *pp : NULL;
    sp = (p != NULL) ? kvmq_ps_sub_find(c, ps, &p->subs, slot) : NULL;

    if (sp != NULL) {
        (*sp)->count++;
        ps->nsubs[slot]++;
        *gid = ps->gid;
        return KVMQ_OK;
    }

    if (pattern->len > UINT32_MAX) {
        return KVMQ_ERR_TOOLARGE;
    }

    s = kvmq_ps_sub_new(c, ps, slot);
    if (s == NULL) {
        return KVMQ_ERR_NOMEM;
    }

    if (p == NULL) {
        p = kvmq_zalloc(c, sizeof(kvmq_pattern_t) + pattern->len);
        if (p == NULL) {
            kvmq_zfree(c, s);
            return KVMQ_ERR_NOMEM;
        }

        memcpy(p->pat, pattern->data, pattern->len);
        p->len = (uint32_t) pattern->len;
        p->subs = NULL;
        p->next = ps->patterns;
        ps->patterns = p;
    }

    s->count = 1;
    s->next = p->subs;
    p->subs = s;

    ps->nsubs[slot]++;
    *gid = ps->gid;

    return KVMQ_OK;
}


void
kvmq_pubsub_punsubscribe(kvmq_ctx_t *c, unsigned slot, uint64_t gen,
    const kvmq_slice_t *patterns, unsigned n)
{
    unsigned          i;
    kvmq_pubsub_t    *ps;
    kvmq_pattern_t   *p, **pp;
    kvmq_slotsub_t  **sp;

    ps = kvmq_ps_get(c, 0);

    if (!kvmq_ps_gen_ok(ps, slot, gen)) {
        return;
    }

    for (i = 0; i < n; i++) {
        pp = kvmq_ps_pat_find(ps, &patterns[i]);

        if (pp == NULL) {
            continue;
        }

        p = *pp;
        sp = kvmq_ps_sub_find(c, ps, &p->subs, slot);

        if (sp != NULL) {
            ps->nsubs[slot]--;

            if (--(*sp)->count == 0) {
                kvmq_ps_sub_drop(c, ps, sp);
            }
        }

        if (p->subs == NULL) {
            *pp = p->next;
            kvmq_zfree(c, p);
        }
    }
}


int
kvmq_pubsub_consume(kvmq_ctx_t *c, unsigned slot, uint64_t gen,
    unsigned max, kvmq_pubsub_msg_pt fn, void *arg)
{
    unsigned          n;
    kvmq_msg_t       *m;
    kvmq_slice_t      name;
    kvmq_pubmsg_t     pm;
    kvmq_pubsub_t    *ps;
    kvmq_channel_t   *ch;
    kvmq_slotsub_t   *s, **sp;

    ps = kvmq_ps_get(c, 0);

    if (!kvmq_ps_gen_ok(ps, slot, gen)) {
        return 0;
    }

    n = 0;

    while (n < max && (s = ps->dirty[slot]) != NULL) {

        ps->dirty[slot] = s->dnext;
        s->dnext = NULL;
        s->dirty = 0;

        ch = s->chan;
        name = kvmq_ps_chan_name(ch);

        for (m = s->pending; m != NULL && n < max; m = m->next) {
            kvmq_msg_export(m, &pm);

            if (fn(arg, &name, &pm) != 0) {
                max = 0;
                break;
            }

            n++;
        }

        if (m != NULL) {
            /* the rest later: keep the record pending from m */
            m->refs++;
            kvmq_msg_unref(c, ps, s->pending);
            s->pending = m;
            kvmq_ps_dirty_front(ps, s);
            break;
        }

        kvmq_msg_unref(c, ps, s->pending);
        s->pending = NULL;

        if (s->count == 0) {
            for (sp = &ch->subs; *sp != s; sp = &(*sp)->next) { /* void */ }

            kvmq_ps_sub_drop(c, ps, sp);
            (void) kvmq_ps_chan_gc(c, ps, ch);
        }
    }

    return ps->dirty[slot] != NULL;
}


int
kvmq_pubsub_pending(kvmq_db_t *db, unsigned slot, uint64_t gen)
{
    kvmq_pubsub_t  *ps;

    ps = db->pubsub;

    return kvmq_ps_gen_ok(ps, slot, gen) && ps->dirty[slot] != NULL;
}


void
kvmq_pubsub_cron(kvmq_ctx_t *c, unsigned budget)
{
    kvmq_pubsub_t   *ps;
    kvmq_channel_t  *ch, *next;

    ps = kvmq_ps_get(c, 0);
    if (ps == NULL) {
        return;
    }

    (void) kvmq_ps_patterns(c, ps, NULL, NULL);

    if (ps->all == NULL) {
        return;
    }

    while (budget--) {
        ch = ps->cron_next ? ps->cron_next : ps->all;
        if (ch == NULL) {
            break;
        }

        next = ch->lnext;

        (void) kvmq_ps_prune(c, ps, &ch->subs, NULL, NULL);
        kvmq_ps_trim(c, ps, ch);

        /* gc moves cron_next past ch when it frees it */
        ps->cron_next = ch;
        (void) kvmq_ps_chan_gc(c, ps, ch);
        ps->cron_next = next;

        if (next == NULL) {
            break;
        }
    }
}


int
kvmq_pubsub_match(const kvmq_slice_t *pattern, const kvmq_slice_t *channel)
{
    return kvmq_glob_match(pattern->data, pattern->len, channel->data,
                           channel->len, 0);
}


void
kvmq_pubsub_stats(kvmq_db_t *db, kvmq_pubsub_stats_t *st)
{
    unsigned          i;
    kvmq_pubsub_t    *ps;
    kvmq_pattern_t   *p;

    memset(st, 0, sizeof(kvmq_pubsub_stats_t));

    ps = db->pubsub;

    if (ps == NULL) {
        st->history = KVMQ_PUBSUB_HISTORY;
        return;
    }

    for (i = 0; i < KVMQ_PUBSUB_SLOTS; i++) {
        st->subscribers += ps->nsubs[i];
    }

    for (p = ps->patterns; p; p = p->next) {
        st->patterns++;
    }

    st->channels = ps->nchannels;
    st->messages = ps->messages;
    st->bytes = ps->bytes;
    st->published = ps->gid;
    st->history = ps->history;
    st->ttl_ms = ps->ttl_ms;
}


void
kvmq_pubsub_destroy(kvmq_ctx_t *c)
{
    kvmq_pubsub_t   *ps;
    kvmq_channel_t  *ch;
    kvmq_pattern_t  *p;

    ps = kvmq_ps_get(c, 0);
    if (ps == NULL) {
        return;
    }

    while ((p = ps->patterns) != NULL) {
        while (p->subs) {
            kvmq_ps_sub_drop(c, ps, &p->subs);
        }

        ps->patterns = p->next;
        kvmq_zfree(c, p);
    }

    while ((ch = ps->all) != NULL) {
        while (ch->subs) {
            kvmq_ps_sub_drop(c, ps, &ch->subs);
        }

        while (ch->nmsgs) {
            kvmq_ps_ring_pop(c, ps, ch);
        }

        (void) kvmq_ps_chan_gc(c, ps, ch);
    }

    kvmq_htable_free(c, &ps->table);
    kvmq_zfree(c, ps);

    c->db->pubsub = NULL;
}


/* ---- commands ---------------------------------------------------------- */


/* PUBLISH channel message */
void
kvmq_cmd_publish(kvmq_ctx_t *c, int argc, const kvmq_slice_t *argv)
{
    unsigned          i, nnew;
    uint64_t          hash, receivers, have, want, pwant, wake, need;
    kvmq_msg_t       *m;
    kvmq_pubsub_t    *ps;
    kvmq_channel_t   *ch, *nch;
    kvmq_slotsub_t   *s, *fresh[KVMQ_PUBSUB_SLOTS];

    (void) argc;

    if (argv[2].len > UINT32_MAX) {
        kvmq_reply_error(c, KVMQ_ERR_TOOLARGE, "message too large");
        return;
    }

    ps = kvmq_ps_get(c, 1);
    if (ps == NULL) {
        kvmq_reply_nomem(c);
        return;
    }

    /* who wants it: pattern subscribers, then the channel's records */

    pwant = 0;
    receivers = kvmq_ps_patterns(c, ps, &argv[1], &pwant);

    hash = kvmq_htable_hash(c, argv[1].data, argv[1].len);
    ch = kvmq_ps_chan_find(c, ps, &argv[1], hash);

    have = 0;
    want = 0;

    if (ch != NULL) {
        receivers += kvmq_ps_prune(c, ps, &ch->subs, &have, &want);
    }

    if (ch == NULL && ps->history == 0 && pwant == 0) {
        /* nobody listens and nothing is kept */
        c->pub_seq = 0;
        kvmq_reply_int(c, 0);
        return;
    }

    /* allocate everything before linking anything */

    need = pwant & ~have;
    nnew = 0;
    nch = NULL;

    m = kvmq_zalloc(c, sizeof(kvmq_msg_t) + argv[2].len);
    if (m == NULL) {
        goto nomem;
    }

    if (ch == NULL) {
        nch = kvmq_ps_chan_alloc(c, ps, &argv[1], hash);
        if (nch == NULL) {
            goto nomem;
        }
    }

    for (i = 0; i < KVMQ_PUBSUB_SLOTS; i++) {
        if (need & (1ULL << i)) {
            fresh[nnew] = kvmq_ps_sub_new(c, ps, i);
            if (fresh[nnew] == NULL) {
                goto nomem;
            }

            nnew++;
        }
    }

    /* link */

    if (nch != NULL) {
        kvmq_ps_chan_link(c, ps, nch);
        ch = nch;
    }

    for (i = 0; i < nnew; i++) {
        fresh[i]->chan = ch;
        fresh[i]->next = ch->subs;
        ch->subs = fresh[i];
    }

    memcpy(m->data, argv[2].data, argv[2].len);
    m->len = (uint32_t) argv[2].len;
    m->next = NULL;
    m->seq = ++ch->seq;
    m->gid = ++ps->gid;
    m->time = c->now_ms;
    m->refs = 1;                                /* the tail */

    ps->messages++;
    ps->bytes += m->len;

    if (ch->tail) {
        ch->tail->next = m;
        m->refs++;                              /* the old tail's next */
        kvmq_msg_unref(c, ps, ch->tail);
    }

    ch->tail = m;

    if (ch->nmsgs == 0) {
        m->refs++;                              /* the head */
        ch->head = m;
    }

    ch->nmsgs++;
    kvmq_ps_trim(c, ps, ch);

    wake = 0;
    want |= pwant;

    for (s = ch->subs; s; s = s->next) {
        if ((want & (1ULL << s->slot)) && kvmq_ps_mark(c, ps, ch, s, m)) {
            wake |= 1ULL << s->slot;
        }
    }

    c->wake |= wake;
    c->pub_seq = m->seq;

    /* m may go with the channel: nobody listens and no ring keeps it */
    (void) kvmq_ps_chan_gc(c, ps, ch);

    kvmq_reply_int(c, (int64_t) receivers);

    return;

nomem:

    kvmq_zfree(c, m);
    kvmq_zfree(c, nch);

    for (i = 0; i < nnew; i++) {
        kvmq_zfree(c, fresh[i]);
    }

    kvmq_reply_nomem(c);
}


static void
kvmq_ps_reply_channels(kvmq_ctx_t *c, kvmq_pubsub_t *ps,
    const kvmq_slice_t *pat)
{
    long              n;
    int               pass;
    uint64_t          count;
    kvmq_channel_t   *ch;
    kvmq_slotsub_t   *s;

    n = 0;

    /* the first pass counts, the second replies */
    for (pass = 0; pass < 2; pass++) {

        if (pass == 1) {
            kvmq_reply_array(c, n);
        }

        for (ch = ps ? ps->all : NULL; ch; ch = ch->lnext) {
            count = 0;

            for (s = ch->subs; s; s = s->next) {
                count += kvmq_ps_live(ps, s) ? s->count : 0;
            }

            if (count == 0
                || (pat && !kvmq_glob_match(pat->data, pat->len, ch->name,
                                            ch->len, 0)))
            {
                continue;
            }

            if (pass == 0) {
                n++;

            } else {
                kvmq_reply_bulk(c, ch->name, ch->len);
            }
        }
    }

    kvmq_reply_array_end(c);
}


/* PUBSUB CHANNELS [pattern] | NUMSUB [channel ...] | NUMPAT */
void
kvmq_cmd_pubsub(kvmq_ctx_t *c, int argc, const kvmq_slice_t *argv)
{
    int               i;
    uint64_t          n, hash;
    kvmq_pubsub_t    *ps;
    kvmq_pattern_t   *p;
    kvmq_channel_t   *ch;
    kvmq_slotsub_t   *s;

    ps = kvmq_ps_get(c, 0);

    if (kvmq_arg_is(&argv[1], "channels") && argc <= 3) {
        kvmq_ps_reply_channels(c, ps, argc == 3 ? &argv[2] : NULL);
        return;
    }

    if (kvmq_arg_is(&argv[1], "numsub")) {
        kvmq_reply_map(c, argc - 2);

        for (i = 2; i < argc; i++) {
            n = 0;

            if (ps != NULL) {
                hash = kvmq_htable_hash(c, argv[i].data, argv[i].len);
                ch = kvmq_ps_chan_find(c, ps, &argv[i], hash);

                for (s = ch ? ch->subs : NULL; s; s = s->next) {
                    n += kvmq_ps_live(ps, s) ? s->count : 0;
                }
            }

            kvmq_reply_bulk(c, argv[i].data, argv[i].len);
            kvmq_reply_int(c, (int64_t) n);
        }

        kvmq_reply_map_end(c);
        return;
    }

    if (kvmq_arg_is(&argv[1], "numpat") && argc == 2) {
        n = 0;

        for (p = ps ? ps->patterns : NULL; p; p = p->next) {
            for (s = p->subs; s; s = s->next) {
                if (kvmq_ps_live(ps, s) && s->count) {
                    n++;
                    break;
                }
            }
        }

        kvmq_reply_int(c, (int64_t) n);
        return;
    }

    kvmq_reply_error(c, KVMQ_ERR_BADREQ,
                     "unknown subcommand or wrong number of arguments for "
                     "'PUBSUB %.*s'",
                     (int) (argv[1].len > 32 ? 32 : argv[1].len),
                     argv[1].data);
}
