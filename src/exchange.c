/*
 * Exchanges, bindings, routing, and the publish pipeline that puts a
 * routed message into its queues.
 *
 * Exchanges.  One block each (header and name) in the root's table.
 * Types follow RabbitMQ: fanout (every bound queue), direct (bindings
 * whose key equals the routing key), topic (dot-separated words, "*" =
 * exactly one word, "#" = zero or more), headers (x-match all | any |
 * all-with-x | any-with-x over the binding's arguments; arguments named
 * x-... are ignored unless -with-x).  The default exchange "" is not
 * stored: it routes to the queue named by the routing key and takes no
 * bindings.  A queue is reached at most once per publish, however many
 * of its bindings match (a per-route epoch mark on the queue).
 *
 * Bindings.  One block: links on three lists (the queue's, the
 * exchange's, and the trie node's for direct and topic), the routing
 * key, and the arguments as listpack strings name, value, ... with
 * x-match kept aside as a tag.  A binding is identified by queue, key
 * and arguments: binding twice is a no-op, as in RabbitMQ.
 *
 * The trie.  Direct and topic exchanges keep their bindings on the
 * nodes of a trie of words whose edges live in one hash table per
 * exchange (htable.c): a node's key is its parent's id (8 bytes) and
 * the word that leads to it, so finding a child is one probe, whatever
 * the fan-out.  "*" and "#" are words like the others, and each node
 * keeps its "*" and "#" children at hand.  A direct exchange is a trie
 * of depth one whose words are whole routing keys: routing is a single
 * probe.  Nodes are made by bind (all of a new path is allocated before
 * any is linked) and pruned by unbind when they hold neither bindings
 * nor children.
 *
 * Topic matching runs the trie as an NFA over the routing key's words
 * (split as RabbitMQ splits them: "" has no words, "a..b" has an empty
 * middle word): the active set starts as the root; each word moves
 * every active node to its child for that word and its "*" child, and
 * keeps a "#" node where it is ("#" eats the word); every node entering
 * the set also brings its "#" child ("#" matching zero words).  The
 * bindings of the nodes active after the last word match.  Each node
 * enters a set at most once per word (an epoch mark), so a route costs
 * O(words x active nodes) probes - never a scan of all bindings, and no
 * exponential blow-up on patterns like "#.#.#".
 *
 * Headers and fanout exchanges keep no trie: routing walks their
 * bindings (as RabbitMQ does for headers).
 *
 * Publishing (kvmq_mq_put) allocates one entry per accepting queue
 * before linking any, so NOMEM leaves every queue as it was; then it
 * enqueues, which assigns to consumers, expires heads and enforces
 * drop-head in each queue.
 */

#include <stdlib.h>

#include "db.h"
#include "listpack.h"
#include "mq.h"


#define KVMQ_TOPIC_STACK     64
#define KVMQ_PROBE_STACK     264


static kvmq_slice_t kvmq_x_key(const kvmq_hnode_t *n);
static kvmq_slice_t kvmq_tn_key(const kvmq_hnode_t *n);

static const kvmq_htype_t  kvmq_x_htype = { kvmq_x_key };
static const kvmq_htype_t  kvmq_tn_htype = { kvmq_tn_key };

static const char  *kvmq_x_types[] = { "direct", "fanout", "topic",
                                       "headers" };


typedef struct {
    unsigned char      *p;
    size_t              cap;
    int                 failed;
    unsigned char       stack[KVMQ_PROBE_STACK];
} kvmq_probe_t;

/* a set of trie nodes in process memory */
typedef struct {
    kvmq_tnode_t      **n;
    size_t              len;
    size_t              cap;
    int                 failed;
    kvmq_tnode_t       *stack[KVMQ_TOPIC_STACK];
} kvmq_tset_t;


static kvmq_slice_t
kvmq_x_key(const kvmq_hnode_t *n)
{
    kvmq_slice_t            s;
    const kvmq_exchange_t  *x;

    x = (const kvmq_exchange_t *) n;
    s.data = x->name;
    s.len = x->nlen;

    return s;
}


static kvmq_slice_t
kvmq_tn_key(const kvmq_hnode_t *n)
{
    kvmq_slice_t         s;
    const kvmq_tnode_t  *t;

    t = (const kvmq_tnode_t *) n;
    s.data = t->key;
    s.len = t->klen;

    return s;
}


static int
kvmq_x_trie(const kvmq_exchange_t *x)
{
    return x->type == KVMQ_X_DIRECT || x->type == KVMQ_X_TOPIC;
}


int
kvmq_exchange_type(const kvmq_slice_t *name)
{
    unsigned  i;

    for (i = 0; i < sizeof(kvmq_x_types) / sizeof(kvmq_x_types[0]); i++) {
        if (kvmq_arg_is(name, kvmq_x_types[i])) {
            return (int) i;
        }
    }

    return -1;
}


const char *
kvmq_exchange_type_name(unsigned type)
{
    return (type < sizeof(kvmq_x_types) / sizeof(kvmq_x_types[0]))
           ? kvmq_x_types[type] : "?";
}


/* ---- queue sets -------------------------------------------------------- */


void
kvmq_qset_init(kvmq_qset_t *set)
{
    set->q = set->stack;
    set->n = 0;
    set->cap = sizeof(set->stack) / sizeof(set->stack[0]);
}


int
kvmq_qset_add(kvmq_qset_t *set, kvmq_queue_t *q)
{
    size_t          cap;
    kvmq_queue_t  **p;

    if (set->n == set->cap) {
        cap = set->cap * 2;
        p = malloc(cap * sizeof(kvmq_queue_t *));
        if (p == NULL) {
            return -1;
        }

        memcpy(p, set->q, set->n * sizeof(kvmq_queue_t *));

        if (set->q != set->stack) {
            free(set->q);
        }

        set->q = p;
        set->cap = cap;
    }

    set->q[set->n++] = q;

    return 0;
}


void
kvmq_qset_free(kvmq_qset_t *set)
{
    if (set->q != set->stack) {
        free(set->q);
    }

    kvmq_qset_init(set);
}


/* add q once per route (the epoch mark) */
static int
kvmq_route_add(kvmq_mq_t *mq, kvmq_qset_t *set, kvmq_queue_t *q)
{
    if (q->mark == mq->epoch) {
        return 0;
    }

    q->mark = mq->epoch;

    return kvmq_qset_add(set, q);
}


/* ---- the trie ---------------------------------------------------------- */


static void
kvmq_probe_init(kvmq_probe_t *pr)
{
    pr->p = pr->stack;
    pr->cap = sizeof(pr->stack);
    pr->failed = 0;
}


static void
kvmq_probe_free(kvmq_probe_t *pr)
{
    if (pr->p != pr->stack) {
        free(pr->p);
    }
}


/* the edge key of (parent, word) in pr; its length, 0 on failure */
static size_t
kvmq_probe_key(kvmq_probe_t *pr, const kvmq_tnode_t *parent,
    const unsigned char *w, size_t len)
{
    size_t          need;
    unsigned char  *p;

    need = sizeof(uint64_t) + len;

    if (need > pr->cap) {
        p = malloc(need);
        if (p == NULL) {
            pr->failed = 1;
            return 0;
        }

        kvmq_probe_free(pr);
        pr->p = p;
        pr->cap = need;
    }

    memcpy(pr->p, &parent->id, sizeof(uint64_t));

    if (len) {
        memcpy(pr->p + sizeof(uint64_t), w, len);
    }

    return need;
}


static kvmq_tnode_t *
kvmq_tn_child(kvmq_ctx_t *c, kvmq_exchange_t *x, const kvmq_tnode_t *parent,
    const unsigned char *w, size_t len, kvmq_probe_t *pr)
{
    size_t  klen;

    if (parent->nkids == 0) {
        return NULL;
    }

    klen = kvmq_probe_key(pr, parent, w, len);
    if (klen == 0) {
        return NULL;
    }

    return (kvmq_tnode_t *) kvmq_htable_find(c, &x->edges, &kvmq_tn_htype,
                                  pr->p, klen,
                                  kvmq_mq_key_hash(c, pr->p, klen));
}


/* the next word of a routing or binding key, split as RabbitMQ does */
static int
kvmq_word_next(const kvmq_slice_t *key, size_t *pos, kvmq_slice_t *w)
{
    size_t  i;

    if (key->len == 0 || *pos > key->len) {
        return 0;
    }

    for (i = *pos; i < key->len && key->data[i] != '.'; i++) {
        /* void */
    }

    w->data = key->data + *pos;
    w->len = i - *pos;
    *pos = i + 1;

    return 1;
}


/* the words of key for x: topic words, or the whole key for direct */
static int
kvmq_x_word(const kvmq_exchange_t *x, const kvmq_slice_t *key, size_t *pos,
    kvmq_slice_t *w)
{
    if (x->type == KVMQ_X_TOPIC) {
        return kvmq_word_next(key, pos, w);
    }

    if (*pos != 0) {
        return 0;
    }

    *w = *key;
    *pos = 1;

    return 1;
}


static int
kvmq_word_is(const kvmq_slice_t *w, char ch)
{
    return w->len == 1 && w->data[0] == ch;
}


static kvmq_tnode_t *
kvmq_tn_alloc(kvmq_ctx_t *c, size_t wlen)
{
    kvmq_tnode_t  *n;

    n = kvmq_zalloc(c, sizeof(kvmq_tnode_t) + sizeof(uint64_t) + wlen);
    if (n != NULL) {
        memset(n, 0, sizeof(kvmq_tnode_t));
    }

    return n;
}


static void
kvmq_tn_link(kvmq_ctx_t *c, kvmq_exchange_t *x, kvmq_tnode_t *parent,
    kvmq_tnode_t *n, const kvmq_slice_t *w, int topic)
{
    uint64_t  hash;

    n->parent = parent;
    n->id = ++x->next_id;
    n->klen = (uint32_t) (sizeof(uint64_t) + w->len);

    memcpy(n->key, &parent->id, sizeof(uint64_t));

    if (w->len) {
        memcpy(n->key + sizeof(uint64_t), w->data, w->len);
    }

    hash = kvmq_mq_key_hash(c, n->key, n->klen);
    (void) kvmq_htable_reserve(c, &x->edges, &kvmq_tn_htype, hash);
    kvmq_htable_link(&x->edges, &n->node, hash);

    parent->nkids++;

    if (topic && kvmq_word_is(w, '*')) {
        parent->star = n;

    } else if (topic && kvmq_word_is(w, '#')) {
        parent->hash = n;
    }
}


static void
kvmq_tn_prune(kvmq_ctx_t *c, kvmq_exchange_t *x, kvmq_tnode_t *n)
{
    kvmq_tnode_t  *p;

    while (n != NULL && n != x->root && n->bindings == NULL
           && n->nkids == 0)
    {
        p = n->parent;

        kvmq_htable_unlink(c, &x->edges, &n->node,
                           kvmq_mq_key_hash(c, n->key, n->klen));

        p->nkids--;

        if (p->star == n) {
            p->star = NULL;
        }

        if (p->hash == n) {
            p->hash = NULL;
        }

        kvmq_zfree(c, n);
        n = p;
    }
}


/* the node of key's path, or NULL when it does not exist (yet) */
static kvmq_tnode_t *
kvmq_tn_path(kvmq_ctx_t *c, kvmq_exchange_t *x, const kvmq_slice_t *key,
    kvmq_probe_t *pr)
{
    size_t         pos;
    kvmq_slice_t   w;
    kvmq_tnode_t  *n;

    n = x->root;
    pos = 0;

    while (n != NULL && kvmq_x_word(x, key, &pos, &w)) {
        n = kvmq_tn_child(c, x, n, w.data, w.len, pr);
    }

    return n;
}


/* ---- topic matching ---------------------------------------------------- */


static void
kvmq_tset_init(kvmq_tset_t *s)
{
    s->n = s->stack;
    s->len = 0;
    s->cap = KVMQ_TOPIC_STACK;
    s->failed = 0;
}


static void
kvmq_tset_free(kvmq_tset_t *s)
{
    if (s->n != s->stack) {
        free(s->n);
    }
}


static void
kvmq_tset_push(kvmq_tset_t *s, kvmq_tnode_t *n)
{
    size_t          cap;
    kvmq_tnode_t  **p;

    if (s->len == s->cap) {
        cap = s->cap * 2;
        p = malloc(cap * sizeof(kvmq_tnode_t *));
        if (p == NULL) {
            s->failed = 1;
            return;
        }

        memcpy(p, s->n, s->len * sizeof(kvmq_tnode_t *));
        kvmq_tset_free(s);
        s->n = p;
        s->cap = cap;
    }

    s->n[s->len++] = n;
}


/* n enters the active set, with the "#" children that match nothing */
static void
kvmq_tset_add(kvmq_tset_t *s, kvmq_tnode_t *n, uint64_t epoch)
{
    while (n != NULL && n->mark != epoch) {
        n->mark = epoch;
        kvmq_tset_push(s, n);
        n = n->hash;
    }
}


static int
kvmq_topic_route(kvmq_ctx_t *c, kvmq_exchange_t *x, const kvmq_slice_t *key,
    kvmq_qset_t *set)
{
    int              rc;
    size_t           i, pos;
    kvmq_mq_t       *mq;
    kvmq_slice_t     w;
    kvmq_tset_t      sets[2], *cur, *next, *tmp;
    kvmq_tnode_t    *n, *ch;
    kvmq_probe_t     pr;
    kvmq_binding_t  *b;

    mq = c->db->mq;
    rc = 0;

    kvmq_probe_init(&pr);
    kvmq_tset_init(&sets[0]);
    kvmq_tset_init(&sets[1]);

    cur = &sets[0];
    next = &sets[1];

    kvmq_tset_add(cur, x->root, ++x->epoch);

    pos = 0;

    while (cur->len > 0 && kvmq_word_next(key, &pos, &w)) {
        x->epoch++;
        next->len = 0;

        for (i = 0; i < cur->len; i++) {
            n = cur->n[i];

            /* "#" eats this word and stays */
            if (n->parent != NULL && n->parent->hash == n) {
                kvmq_tset_add(next, n, x->epoch);
            }

            ch = kvmq_tn_child(c, x, n, w.data, w.len, &pr);
            kvmq_tset_add(next, ch, x->epoch);
            kvmq_tset_add(next, n->star, x->epoch);
        }

        tmp = cur;
        cur = next;
        next = tmp;

        if (cur->failed || next->failed || pr.failed) {
            rc = -1;
            goto done;
        }
    }

    if (cur->failed || pr.failed) {
        rc = -1;
        goto done;
    }

    for (i = 0; i < cur->len && rc == 0; i++) {
        for (b = cur->n[i]->bindings; b != NULL && rc == 0; b = b->nnext) {
            rc = kvmq_route_add(mq, set, b->q);
        }
    }

done:

    kvmq_tset_free(&sets[0]);
    kvmq_tset_free(&sets[1]);
    kvmq_probe_free(&pr);

    return rc;
}


/* ---- headers matching -------------------------------------------------- */


static int
kvmq_slice_eq(const kvmq_slice_t *a, const kvmq_slice_t *b)
{
    return a->len == b->len
           && (a->len == 0 || memcmp(a->data, b->data, a->len) == 0);
}


static int
kvmq_is_x(const kvmq_slice_t *s)
{
    return s->len >= 2 && s->data[0] == 'x' && s->data[1] == '-';
}


static int
kvmq_msg_header(const kvmq_mprops_t *pr, const kvmq_slice_t *name,
    kvmq_slice_t *value)
{
    uint32_t              k;
    kvmq_lp_val_t         v;
    kvmq_slice_t          n;
    const unsigned char  *p;

    for (p = pr->headers, k = 0; k < pr->nheaders; k++) {
        p += kvmq_lp_get(p, &v);
        n.data = v.str;
        n.len = v.len;

        p += kvmq_lp_get(p, &v);

        if (kvmq_slice_eq(&n, name)) {
            value->data = v.str;
            value->len = v.len;
            return 1;
        }
    }

    return 0;
}


static int
kvmq_headers_match(const kvmq_binding_t *b, const kvmq_mprops_t *pr)
{
    int                   any, with_x, hit;
    uint32_t              k;
    kvmq_slice_t          name, want, got;
    kvmq_lp_val_t         v;
    const unsigned char  *p;

    any = (b->xmatch == KVMQ_XM_ANY || b->xmatch == KVMQ_XM_ANY_WITH_X);
    with_x = (b->xmatch == KVMQ_XM_ALL_WITH_X
              || b->xmatch == KVMQ_XM_ANY_WITH_X);

    p = b->data + b->klen;

    for (k = 0; k < b->nargs; k++) {
        p += kvmq_lp_get(p, &v);
        name.data = v.str;
        name.len = v.len;

        p += kvmq_lp_get(p, &v);
        want.data = v.str;
        want.len = v.len;

        if (!with_x && kvmq_is_x(&name)) {
            continue;
        }

        hit = kvmq_msg_header(pr, &name, &got) && kvmq_slice_eq(&got, &want);

        if (any && hit) {
            return 1;
        }

        if (!any && !hit) {
            return 0;
        }
    }

    /* all: nothing failed; any: nothing matched (RabbitMQ's rule, also
     * for a binding without arguments) */
    return !any;
}


/* ---- routing ----------------------------------------------------------- */


int
kvmq_exchange_route(kvmq_ctx_t *c, kvmq_exchange_t *x,
    const kvmq_slice_t *key, const kvmq_msg_t *m, kvmq_qset_t *set)
{
    int              rc;
    kvmq_mq_t       *mq;
    kvmq_queue_t    *q;
    kvmq_tnode_t    *n;
    kvmq_probe_t     pr;
    kvmq_mprops_t    props;
    kvmq_binding_t  *b;

    mq = c->db->mq;

    if (mq == NULL) {
        return 0;
    }

    mq->epoch++;
    rc = 0;

    if (x == NULL) {
        q = kvmq_queue_find(c, key);
        return (q != NULL) ? kvmq_route_add(mq, set, q) : 0;
    }

    switch (x->type) {

    case KVMQ_X_FANOUT:
        for (b = x->bindings; b != NULL && rc == 0; b = b->xnext) {
            rc = kvmq_route_add(mq, set, b->q);
        }

        return rc;

    case KVMQ_X_DIRECT:
        kvmq_probe_init(&pr);
        n = kvmq_tn_child(c, x, x->root, key->data, key->len, &pr);
        rc = pr.failed ? -1 : 0;
        kvmq_probe_free(&pr);

        for (b = (n != NULL) ? n->bindings : NULL; b != NULL && rc == 0;
             b = b->nnext)
        {
            rc = kvmq_route_add(mq, set, b->q);
        }

        return rc;

    case KVMQ_X_TOPIC:
        return kvmq_topic_route(c, x, key, set);

    default:
        kvmq_msg_props(m, &props);

        for (b = x->bindings; b != NULL && rc == 0; b = b->xnext) {
            if (kvmq_headers_match(b, &props)) {
                rc = kvmq_route_add(mq, set, b->q);
            }
        }

        return rc;
    }
}


/* ---- exchanges --------------------------------------------------------- */


kvmq_exchange_t *
kvmq_exchange_find(kvmq_ctx_t *c, const kvmq_slice_t *name)
{
    kvmq_mq_t  *mq;

    mq = c->db->mq;

    if (mq == NULL) {
        return NULL;
    }

    return (kvmq_exchange_t *) kvmq_htable_find(c, &mq->exchanges,
                                  &kvmq_x_htype, name->data, name->len,
                                  kvmq_mq_key_hash(c, name->data,
                                                   name->len));
}


kvmq_err_e
kvmq_exchange_declare(kvmq_ctx_t *c, const kvmq_slice_t *name,
    unsigned type, int durable, kvmq_exchange_t **xp, int *created)
{
    uint64_t          hash;
    kvmq_mq_t        *mq;
    kvmq_exchange_t  *x;

    *created = 0;

    x = kvmq_exchange_find(c, name);
    *xp = x;

    if (x != NULL) {
        return (x->type != type || x->durable != (durable ? 1 : 0))
               ? KVMQ_ERR_PRECONDITION : KVMQ_OK;
    }

    mq = kvmq_mq_get(c, 1);
    if (mq == NULL) {
        return KVMQ_ERR_NOMEM;
    }

    x = kvmq_zalloc(c, sizeof(kvmq_exchange_t) + name->len);
    if (x == NULL) {
        goto nomem;
    }

    memset(x, 0, sizeof(kvmq_exchange_t));

    x->type = (uint8_t) type;
    x->durable = durable ? 1 : 0;
    x->nlen = (uint32_t) name->len;

    if (name->len) {
        memcpy(x->name, name->data, name->len);
    }

    if (kvmq_x_trie(x)) {
        if (kvmq_htable_init(c, &x->edges, 0) != 0) {
            kvmq_zfree(c, x);
            goto nomem;
        }

        x->root = kvmq_tn_alloc(c, 0);

        if (x->root == NULL) {
            kvmq_htable_free(c, &x->edges);
            kvmq_zfree(c, x);
            goto nomem;
        }
    }

    hash = kvmq_mq_key_hash(c, name->data, name->len);
    (void) kvmq_htable_reserve(c, &mq->exchanges, &kvmq_x_htype, hash);
    kvmq_htable_link(&mq->exchanges, &x->node, hash);

    *xp = x;
    *created = 1;
    mq->used = 1;

    return KVMQ_OK;

nomem:

    kvmq_mq_gc(c);

    return KVMQ_ERR_NOMEM;
}


static void
kvmq_binding_free(kvmq_ctx_t *c, kvmq_binding_t *b)
{
    kvmq_queue_t     *q;
    kvmq_tnode_t     *n;
    kvmq_exchange_t  *x;

    q = b->q;
    x = b->x;
    n = b->tnode;

    if (b->qprev != NULL) {
        b->qprev->qnext = b->qnext;

    } else {
        q->bindings = b->qnext;
    }

    if (b->qnext != NULL) {
        b->qnext->qprev = b->qprev;
    }

    if (b->xprev != NULL) {
        b->xprev->xnext = b->xnext;

    } else {
        x->bindings = b->xnext;
    }

    if (b->xnext != NULL) {
        b->xnext->xprev = b->xprev;
    }

    if (n != NULL) {
        if (b->nprev != NULL) {
            b->nprev->nnext = b->nnext;

        } else {
            n->bindings = b->nnext;
        }

        if (b->nnext != NULL) {
            b->nnext->nprev = b->nprev;
        }
    }

    x->nbindings--;
    c->db->mq->bindings--;

    kvmq_zfree(c, b);

    if (n != NULL) {
        kvmq_tn_prune(c, x, n);
    }
}


void
kvmq_exchange_destroy(kvmq_ctx_t *c, kvmq_exchange_t *x)
{
    kvmq_mq_t  *mq;

    mq = c->db->mq;

    while (x->bindings != NULL) {
        kvmq_binding_free(c, x->bindings);
    }

    kvmq_htable_unlink(c, &mq->exchanges, &x->node,
                       kvmq_mq_key_hash(c, x->name, x->nlen));

    if (kvmq_x_trie(x)) {
        kvmq_zfree(c, x->root);
        kvmq_htable_free(c, &x->edges);
    }

    kvmq_zfree(c, x);
}


void
kvmq_bindings_drop_queue(kvmq_ctx_t *c, kvmq_queue_t *q)
{
    while (q->bindings != NULL) {
        kvmq_binding_free(c, q->bindings);
    }
}


/* ---- bind and unbind --------------------------------------------------- */


typedef struct {
    const kvmq_slice_t  *args;
    int                  nargs;
    size_t               alen;
    uint32_t             npairs;
    uint8_t              xmatch;
} kvmq_bargs_t;


static kvmq_err_e
kvmq_bargs_parse(const kvmq_slice_t *args, int nargs, kvmq_bargs_t *ba)
{
    int  i;

    ba->args = args;
    ba->nargs = nargs;
    ba->alen = 0;
    ba->npairs = 0;
    ba->xmatch = KVMQ_XM_ALL;

    if (nargs % 2) {
        return KVMQ_ERR_BADREQ;
    }

    for (i = 0; i < nargs; i += 2) {
        if (kvmq_arg_is(&args[i], "x-match")) {
            if (kvmq_arg_is(&args[i + 1], "all")) {
                ba->xmatch = KVMQ_XM_ALL;

            } else if (kvmq_arg_is(&args[i + 1], "any")) {
                ba->xmatch = KVMQ_XM_ANY;

            } else if (kvmq_arg_is(&args[i + 1], "all-with-x")) {
                ba->xmatch = KVMQ_XM_ALL_WITH_X;

            } else if (kvmq_arg_is(&args[i + 1], "any-with-x")) {
                ba->xmatch = KVMQ_XM_ANY_WITH_X;

            } else {
                return KVMQ_ERR_BADREQ;
            }

            continue;
        }

        ba->alen += kvmq_lp_str_size(args[i].len)
                    + kvmq_lp_str_size(args[i + 1].len);
        ba->npairs++;
    }

    return KVMQ_OK;
}


static void
kvmq_bargs_put(const kvmq_bargs_t *ba, unsigned char *p)
{
    int  i;

    for (i = 0; i < ba->nargs; i += 2) {
        if (kvmq_arg_is(&ba->args[i], "x-match")) {
            continue;
        }

        p += kvmq_lp_put_str(p, ba->args[i].data, ba->args[i].len);
        p += kvmq_lp_put_str(p, ba->args[i + 1].data, ba->args[i + 1].len);
    }
}


/* the binding of q with key and these args, if any */
static kvmq_binding_t *
kvmq_binding_find(kvmq_binding_t *list, int node_list, kvmq_queue_t *q,
    const kvmq_slice_t *key, const kvmq_bargs_t *ba, unsigned char *abuf)
{
    kvmq_binding_t  *b;

    for (b = list; b != NULL; b = node_list ? b->nnext : b->xnext) {
        if (b->q == q && b->klen == key->len && b->xmatch == ba->xmatch
            && b->alen == ba->alen
            && (key->len == 0 || memcmp(b->data, key->data, key->len) == 0)
            && (ba->alen == 0
                || memcmp(b->data + b->klen, abuf, ba->alen) == 0))
        {
            return b;
        }
    }

    return NULL;
}


kvmq_err_e
kvmq_exchange_bind(kvmq_ctx_t *c, kvmq_exchange_t *x, kvmq_queue_t *q,
    const kvmq_slice_t *key, const kvmq_slice_t *args, int nargs,
    int *changed)
{
    int              topic;
    size_t           pos, nw, i, depth;
    kvmq_err_e       rc;
    kvmq_slice_t     w;
    kvmq_bargs_t     ba;
    kvmq_probe_t     pr;
    kvmq_tnode_t    *n, *ch, **fresh, *stack[KVMQ_TOPIC_STACK];
    unsigned char   *abuf;
    kvmq_binding_t  *b;

    *changed = 0;

    rc = kvmq_bargs_parse(args, nargs, &ba);
    if (rc != KVMQ_OK) {
        return rc;
    }

    abuf = malloc(ba.alen + 1);
    if (abuf == NULL) {
        return KVMQ_ERR_NOMEM;
    }

    kvmq_bargs_put(&ba, abuf);
    kvmq_probe_init(&pr);

    fresh = stack;
    nw = 0;
    n = NULL;
    depth = 0;
    topic = (x->type == KVMQ_X_TOPIC);

    if (kvmq_x_trie(x)) {
        /* the existing part of the path */
        n = x->root;
        pos = 0;

        while (kvmq_x_word(x, key, &pos, &w)) {
            ch = kvmq_tn_child(c, x, n, w.data, w.len, &pr);

            if (ch == NULL) {
                break;
            }

            n = ch;
            depth++;
        }

        if (pr.failed) {
            rc = KVMQ_ERR_NOMEM;
            goto done;
        }

        /* the words still missing */
        pos = 0;
        for (i = 0; kvmq_x_word(x, key, &pos, &w); i++) {
            if (i >= depth) {
                nw++;
            }
        }

        if (nw == 0
            && kvmq_binding_find(n->bindings, 1, q, key, &ba, abuf) != NULL)
        {
            goto done;
        }

    } else if (kvmq_binding_find(x->bindings, 0, q, key, &ba, abuf) != NULL) {
        goto done;
    }

    /* allocate everything: the binding, the missing trie nodes */

    if (nw > KVMQ_TOPIC_STACK) {
        fresh = malloc(nw * sizeof(kvmq_tnode_t *));
        if (fresh == NULL) {
            rc = KVMQ_ERR_NOMEM;
            goto done;
        }
    }

    b = kvmq_zalloc(c, sizeof(kvmq_binding_t) + key->len + ba.alen);
    if (b == NULL) {
        rc = KVMQ_ERR_NOMEM;
        goto done;
    }

    pos = 0;

    for (i = 0; kvmq_x_word(x, key, &pos, &w) && nw; i++) {
        if (i < depth) {
            continue;
        }

        fresh[i - depth] = kvmq_tn_alloc(c, w.len);

        if (fresh[i - depth] == NULL) {
            while (i-- > depth) {
                kvmq_zfree(c, fresh[i - depth]);
            }

            kvmq_zfree(c, b);
            rc = KVMQ_ERR_NOMEM;
            goto done;
        }
    }

    /* link */

    pos = 0;

    for (i = 0; kvmq_x_word(x, key, &pos, &w) && nw; i++) {
        if (i >= depth) {
            kvmq_tn_link(c, x, n, fresh[i - depth], &w, topic);
            n = fresh[i - depth];
        }
    }

    memset(b, 0, sizeof(kvmq_binding_t));

    b->x = x;
    b->q = q;
    b->tnode = n;
    b->klen = (uint32_t) key->len;
    b->alen = (uint32_t) ba.alen;
    b->nargs = ba.npairs;
    b->xmatch = ba.xmatch;

    if (key->len) {
        memcpy(b->data, key->data, key->len);
    }

    if (ba.alen) {
        memcpy(b->data + b->klen, abuf, ba.alen);
    }

    b->qnext = q->bindings;
    if (q->bindings != NULL) {
        q->bindings->qprev = b;
    }
    q->bindings = b;

    b->xnext = x->bindings;
    if (x->bindings != NULL) {
        x->bindings->xprev = b;
    }
    x->bindings = b;

    if (n != NULL) {
        b->nnext = n->bindings;
        if (n->bindings != NULL) {
            n->bindings->nprev = b;
        }
        n->bindings = b;
    }

    x->nbindings++;
    c->db->mq->bindings++;
    *changed = 1;

done:

    if (fresh != stack) {
        free(fresh);
    }

    kvmq_probe_free(&pr);
    free(abuf);

    return rc;
}


kvmq_err_e
kvmq_exchange_unbind(kvmq_ctx_t *c, kvmq_exchange_t *x, kvmq_queue_t *q,
    const kvmq_slice_t *key, const kvmq_slice_t *args, int nargs,
    int *changed)
{
    kvmq_err_e       rc;
    kvmq_bargs_t     ba;
    kvmq_probe_t     pr;
    kvmq_tnode_t    *n;
    unsigned char   *abuf;
    kvmq_binding_t  *b;

    *changed = 0;

    rc = kvmq_bargs_parse(args, nargs, &ba);
    if (rc != KVMQ_OK) {
        return rc;
    }

    abuf = malloc(ba.alen + 1);
    if (abuf == NULL) {
        return KVMQ_ERR_NOMEM;
    }

    kvmq_bargs_put(&ba, abuf);

    b = NULL;

    if (kvmq_x_trie(x)) {
        kvmq_probe_init(&pr);
        n = kvmq_tn_path(c, x, key, &pr);

        if (pr.failed) {
            rc = KVMQ_ERR_NOMEM;

        } else if (n != NULL) {
            b = kvmq_binding_find(n->bindings, 1, q, key, &ba, abuf);
        }

        kvmq_probe_free(&pr);

    } else {
        b = kvmq_binding_find(x->bindings, 0, q, key, &ba, abuf);
    }

    free(abuf);

    if (b != NULL) {
        kvmq_binding_free(c, b);
        *changed = 1;
    }

    return rc;
}


/* ---- publish ----------------------------------------------------------- */


int
kvmq_mq_put(kvmq_ctx_t *c, kvmq_qset_t *set, kvmq_msg_t *m, unsigned depth,
    uint64_t *accepted, uint64_t *refused)
{
    size_t          i, j;
    uint64_t        acc, ref;
    kvmq_qent_t   **ents, *stack[16];
    kvmq_queue_t   *q;

    *accepted = 0;
    *refused = 0;

    ents = stack;

    if (set->n > sizeof(stack) / sizeof(stack[0])) {
        ents = malloc(set->n * sizeof(kvmq_qent_t *));
        if (ents == NULL) {
            return -1;
        }
    }

    for (i = 0; i < set->n; i++) {
        q = set->q[i];
        ents[i] = NULL;

        if (q->overflow != KVMQ_OVERFLOW_DROP_HEAD
            && kvmq_queue_full(q, m->blen))
        {
            continue;
        }

        ents[i] = kvmq_qent_new(c);

        if (ents[i] == NULL) {
            for (j = 0; j < i; j++) {
                if (ents[j] != NULL) {
                    kvmq_zfree(c, ents[j]);
                }
            }

            if (ents != stack) {
                free(ents);
            }

            return -1;
        }
    }

    /* the decisions are made: nothing below fails */

    acc = 0;
    ref = 0;

    for (i = 0; i < set->n; i++) {
        q = set->q[i];

        if (ents[i] != NULL) {
            ents[i]->msg = m;
            kvmq_msg_ref(m);
            kvmq_queue_enqueue(c, q, ents[i], depth);
            acc++;
            continue;
        }

        ref++;
        q->refused++;

        if (q->overflow == KVMQ_OVERFLOW_REJECT_DLX) {
            kvmq_queue_dead_letter(c, q, m, "maxlen", depth);
        }
    }

    if (ents != stack) {
        free(ents);
    }

    *accepted = acc;
    *refused = ref;

    return 0;
}
