
/*
 * Pub/sub over WebSocket: the SUBSCRIBE, UNSUBSCRIBE, PSUBSCRIBE and
 * PUNSUBSCRIBE commands of {"id","cmd"} messages, and the pushes.
 *
 *   SUBSCRIBE ch... [SINCE seq]   [["subscribe", ch, count], ...]
 *   UNSUBSCRIBE [ch...]           [["unsubscribe", ch, count], ...]
 *   PSUBSCRIBE glob...            [["psubscribe", glob, count], ...]
 *   PUNSUBSCRIBE [glob...]        [["punsubscribe", glob, count], ...]
 *
 * The result of the request is what Redis sends as one push per channel
 * (count: the channels and patterns this connection is subscribed to
 * after that one); without arguments the UN- commands drop all, and with
 * none to drop answer [["unsubscribe", null, 0]] as Redis does.  A
 * second SUBSCRIBE of a channel changes nothing (its SINCE is ignored).
 * With SINCE each confirmation has a fourth element, {"since": S,
 * "first": F, "last": L}: the history after S is replayed from seq F to
 * L, then live messages follow with no gap and no duplicate; F > S + 1
 * means the history no longer held S + 1, and a {"type": "gap",
 * "channel": C, "since": S, "first": F} push comes before the replay.
 * A failing SUBSCRIBE (zone full) undoes the channels it had added.
 *
 * Pushes: {"type": "message", "channel": C, "pattern": P, "data": D,
 * "seq": N}, P null for a channel subscription; with ?encoding=base64 C,
 * P and D are base64, otherwise a string that is not UTF-8 is
 * {"base64": ...}.  A channel's push is built once per message for all
 * connections of the worker (a frame shared by reference, released with
 * the fan-out's pool); a pattern's, once per message and pattern.  A
 * connection that cannot keep up is closed by the WebSocket door with
 * 1008 (kvmq_ws_send_buffer).
 *
 * A connection's subscriptions are malloc'ed (the request pool is a
 * scratch pool while a command runs) and dropped in on_close.
 */


#include "ngx_http_kvmq_ws_pubsub.h"
#include "ngx_http_kvmq_notify.h"


typedef struct {
    ngx_http_kvmq_ws_t         *ws;
    ngx_queue_t                 subs;       /* ngx_http_kvmq_wsub_t */
    ngx_uint_t                  nchannels;
    ngx_uint_t                  npatterns;
} ngx_http_kvmq_wsps_t;


typedef struct {
    ngx_http_kvmq_sub_t         sub;
    ngx_queue_t                 queue;
    ngx_http_kvmq_wsps_t       *ps;
} ngx_http_kvmq_wsub_t;


/* m->ws[] of a fan-out message */
#define NGX_HTTP_KVMQ_WS_MSG        0       /* channel push, plain */
#define NGX_HTTP_KVMQ_WS_MSG64      1       /* channel push, base64 */
#define NGX_HTTP_KVMQ_WS_PMSG       2       /* pattern push, plain */
#define NGX_HTTP_KVMQ_WS_PMSG_PAT   3       /* its pattern */


static ngx_http_kvmq_wsps_t *ngx_http_kvmq_wsps(ngx_http_kvmq_ws_t *ws);
static void ngx_http_kvmq_ws_pubsub_close(ngx_http_kvmq_ws_t *ws);
static ngx_http_kvmq_wsub_t *ngx_http_kvmq_wsub_find(
    ngx_http_kvmq_wsps_t *ps, kvmq_slice_t *name, ngx_uint_t pattern);
static ngx_int_t ngx_http_kvmq_ws_sub(ngx_http_kvmq_ws_t *ws, ngx_str_t *id,
    ngx_http_kvmq_argv_t *cmd, ngx_uint_t pattern);
static ngx_int_t ngx_http_kvmq_ws_unsub(ngx_http_kvmq_ws_t *ws,
    ngx_str_t *id, ngx_http_kvmq_argv_t *cmd, ngx_uint_t pattern);
static ngx_int_t ngx_http_kvmq_ws_deliver(ngx_http_kvmq_sub_t *sub,
    ngx_http_kvmq_msg_t *m, ngx_str_t *pattern, uint64_t gap);
static ngx_int_t ngx_http_kvmq_ws_send_gap(ngx_http_kvmq_ws_t *ws,
    ngx_pool_t *pool, ngx_str_t *channel, uint64_t since, uint64_t first);
static ngx_http_kvmq_ws_frame_t *ngx_http_kvmq_ws_push(
    ngx_http_kvmq_ws_t *ws, ngx_http_kvmq_msg_t *m, ngx_str_t *pattern,
    ngx_uint_t base64);
static u_char *ngx_http_kvmq_ws_json_str(u_char *p, const u_char *s,
    size_t len, ngx_uint_t base64);
static void ngx_http_kvmq_ws_frame_cleanup(void *data);


ngx_int_t
ngx_http_kvmq_ws_subscribe(ngx_http_kvmq_ws_t *ws, ngx_str_t *id,
    ngx_http_kvmq_argv_t *cmd)
{
    return ngx_http_kvmq_ws_sub(ws, id, cmd, 0);
}


ngx_int_t
ngx_http_kvmq_ws_psubscribe(ngx_http_kvmq_ws_t *ws, ngx_str_t *id,
    ngx_http_kvmq_argv_t *cmd)
{
    return ngx_http_kvmq_ws_sub(ws, id, cmd, 1);
}


ngx_int_t
ngx_http_kvmq_ws_unsubscribe(ngx_http_kvmq_ws_t *ws, ngx_str_t *id,
    ngx_http_kvmq_argv_t *cmd)
{
    return ngx_http_kvmq_ws_unsub(ws, id, cmd, 0);
}


ngx_int_t
ngx_http_kvmq_ws_punsubscribe(ngx_http_kvmq_ws_t *ws, ngx_str_t *id,
    ngx_http_kvmq_argv_t *cmd)
{
    return ngx_http_kvmq_ws_unsub(ws, id, cmd, 1);
}


/* ---- the reply --------------------------------------------------------- */


static ngx_http_kvmq_val_t *
ngx_http_kvmq_ws_val(ngx_pool_t *pool, ngx_http_kvmq_val_t *parent,
    ngx_http_kvmq_type_e type)
{
    ngx_http_kvmq_val_t  *v, **pp;

    v = ngx_pcalloc(pool, sizeof(ngx_http_kvmq_val_t));
    if (v == NULL) {
        return NULL;
    }

    v->type = type;

    if (parent) {
        for (pp = &parent->child; *pp; pp = &(*pp)->next) { /* void */ }

        *pp = v;
        parent->nelts++;
    }

    return v;
}


/* ["subscribe", name, count] (name NULL: null), appended to list */
static ngx_http_kvmq_val_t *
ngx_http_kvmq_ws_confirm(ngx_pool_t *pool, ngx_http_kvmq_val_t *list,
    const char *kind, kvmq_slice_t *name, ngx_uint_t count)
{
    ngx_http_kvmq_val_t  *a, *v;

    a = ngx_http_kvmq_ws_val(pool, list, NGX_HTTP_KVMQ_ARRAY);
    if (a == NULL) {
        return NULL;
    }

    v = ngx_http_kvmq_ws_val(pool, a, NGX_HTTP_KVMQ_STATUS);
    if (v == NULL) {
        return NULL;
    }

    v->str.data = (u_char *) kind;
    v->str.len = ngx_strlen(kind);

    v = ngx_http_kvmq_ws_val(pool, a, name ? NGX_HTTP_KVMQ_BULK
                                           : NGX_HTTP_KVMQ_NIL);
    if (v == NULL) {
        return NULL;
    }

    if (name) {
        v->str.data = (u_char *) name->data;
        v->str.len = name->len;
    }

    v = ngx_http_kvmq_ws_val(pool, a, NGX_HTTP_KVMQ_INT);
    if (v == NULL) {
        return NULL;
    }

    v->integer = count;

    return a;
}


static ngx_int_t
ngx_http_kvmq_ws_pos(ngx_pool_t *pool, ngx_http_kvmq_val_t *a,
    uint64_t since, uint64_t first, uint64_t last)
{
    ngx_uint_t            i;
    uint64_t              n[3];
    ngx_http_kvmq_val_t  *map, *v;
    static const char    *keys[3] = { "since", "first", "last" };

    map = ngx_http_kvmq_ws_val(pool, a, NGX_HTTP_KVMQ_MAP);
    if (map == NULL) {
        return NGX_ERROR;
    }

    n[0] = since;
    n[1] = first;
    n[2] = last;

    for (i = 0; i < 3; i++) {
        v = ngx_http_kvmq_ws_val(pool, map, NGX_HTTP_KVMQ_STATUS);
        if (v == NULL) {
            return NGX_ERROR;
        }

        v->str.data = (u_char *) keys[i];
        v->str.len = ngx_strlen(keys[i]);

        v = ngx_http_kvmq_ws_val(pool, map, NGX_HTTP_KVMQ_INT);
        if (v == NULL) {
            return NGX_ERROR;
        }

        v->integer = (int64_t) n[i];
    }

    return NGX_OK;
}


/* ---- subscribe --------------------------------------------------------- */


static ngx_http_kvmq_wsps_t *
ngx_http_kvmq_wsps(ngx_http_kvmq_ws_t *ws)
{
    ngx_http_kvmq_wsps_t  *ps;

    if (ws->pubsub) {
        return ws->pubsub;
    }

    ps = ngx_calloc(sizeof(ngx_http_kvmq_wsps_t), ws->connection->log);
    if (ps == NULL) {
        return NULL;
    }

    ps->ws = ws;
    ngx_queue_init(&ps->subs);

    ws->pubsub = ps;
    ws->on_close = ngx_http_kvmq_ws_pubsub_close;

    return ps;
}


static ngx_http_kvmq_wsub_t *
ngx_http_kvmq_wsub_find(ngx_http_kvmq_wsps_t *ps, kvmq_slice_t *name,
    ngx_uint_t pattern)
{
    ngx_queue_t           *q;
    ngx_http_kvmq_wsub_t  *w;

    for (q = ngx_queue_head(&ps->subs);
         q != ngx_queue_sentinel(&ps->subs);
         q = ngx_queue_next(q))
    {
        w = ngx_queue_data(q, ngx_http_kvmq_wsub_t, queue);

        if (w->sub.pattern == pattern && w->sub.name.len == name->len
            && ngx_memcmp(w->sub.name.data, name->data, name->len) == 0)
        {
            return w;
        }
    }

    return NULL;
}


static void
ngx_http_kvmq_wsub_free(ngx_http_kvmq_wsub_t *w)
{
    ngx_http_kvmq_sub_t  *sub;

    sub = &w->sub;
    ngx_http_kvmq_unsubscribe(&sub, 1);

    ngx_queue_remove(&w->queue);

    if (w->sub.pattern) {
        w->ps->npatterns--;

    } else {
        w->ps->nchannels--;
    }

    ngx_free(w);
}


static ngx_int_t
ngx_http_kvmq_ws_sub(ngx_http_kvmq_ws_t *ws, ngx_str_t *id,
    ngx_http_kvmq_argv_t *cmd, ngx_uint_t pattern)
{
    int                        argc, i, j;
    uint64_t                   since, *sincep;
    ngx_int_t                  rc;
    ngx_uint_t                 k, added;
    kvmq_err_e                 err;
    ngx_pool_t                *pool;
    ngx_array_t               *replay, **replays;
    kvmq_pubsub_pos_t         *pos;
    ngx_http_kvmq_msg_t       *m;
    ngx_http_kvmq_val_t       *list, *a;
    ngx_http_kvmq_wsps_t      *ps;
    ngx_http_kvmq_wsub_t      *w, **fresh;
    ngx_http_kvmq_loc_conf_t  *klcf;

    pool = ws->request->pool;
    klcf = ws->conf;
    argc = cmd->argc;
    sincep = NULL;
    since = 0;

    if (!pattern && argc >= 4
        && cmd->argv[argc - 2].len == 5
        && ngx_strncasecmp((u_char *) cmd->argv[argc - 2].data,
                           (u_char *) "SINCE", 5) == 0)
    {
        if (ngx_http_kvmq_parse_seq(cmd->argv[argc - 1].data,
                                    cmd->argv[argc - 1].len, &since)
            != NGX_OK)
        {
            return ngx_http_kvmq_ws_reply_error(ws, id, KVMQ_ERR_BADREQ,
                                                "SINCE needs a sequence "
                                                "number");
        }

        sincep = &since;
        argc -= 2;
    }

    if (argc < 2) {
        return ngx_http_kvmq_ws_reply_error(ws, id, KVMQ_ERR_BADREQ,
                                            "wrong number of arguments for "
                                            "'%s' command",
                                            pattern ? "psubscribe"
                                                    : "subscribe");
    }

    for (i = 1; i < argc; i++) {
        if (cmd->argv[i].len > klcf->max_key) {
            return ngx_http_kvmq_ws_reply_error(ws, id, KVMQ_ERR_TOOLARGE,
                                                "argument %d of %uz bytes "
                                                "is over kvmq_max_key (%uz)",
                                                i, cmd->argv[i].len,
                                                klcf->max_key);
        }
    }

    ps = ngx_http_kvmq_wsps(ws);
    if (ps == NULL) {
        return NGX_ERROR;
    }

    list = ngx_http_kvmq_ws_val(pool, NULL, NGX_HTTP_KVMQ_ARRAY);
    fresh = ngx_pcalloc(pool, argc * sizeof(ngx_http_kvmq_wsub_t *));
    replays = ngx_pcalloc(pool, argc * sizeof(ngx_array_t *));
    pos = ngx_pcalloc(pool, argc * sizeof(kvmq_pubsub_pos_t));

    if (list == NULL || fresh == NULL || replays == NULL || pos == NULL) {
        return NGX_ERROR;
    }

    added = 0;
    err = KVMQ_OK;

    for (i = 1; i < argc; i++) {

        w = ngx_http_kvmq_wsub_find(ps, &cmd->argv[i], pattern);

        /* the same name twice in one command: subscribed once */
        for (j = 1; w == NULL && j < i; j++) {
            if (fresh[j] && fresh[j]->sub.name.len == cmd->argv[i].len
                && ngx_memcmp(fresh[j]->sub.name.data, cmd->argv[i].data,
                              cmd->argv[i].len) == 0)
            {
                w = fresh[j];
            }
        }

        if (w == NULL) {
            w = ngx_alloc(sizeof(ngx_http_kvmq_wsub_t) + cmd->argv[i].len,
                          ws->connection->log);
            if (w == NULL) {
                goto failed;
            }

            ngx_memzero(w, sizeof(ngx_http_kvmq_wsub_t));

            w->ps = ps;
            w->sub.name.data = (u_char *) (w + 1);
            w->sub.name.len = cmd->argv[i].len;
            ngx_memcpy(w->sub.name.data, cmd->argv[i].data,
                       cmd->argv[i].len);
            w->sub.zone = klcf->shm_zone->data;
            w->sub.deliver = ngx_http_kvmq_ws_deliver;
            w->sub.data = w;
            w->sub.pattern = pattern ? 1 : 0;

            replay = NULL;

            rc = ngx_http_kvmq_subscribe(&w->sub, sincep, pool,
                                         sincep ? &replay : NULL, &pos[i],
                                         &err);

            if (rc != NGX_OK) {
                ngx_free(w);

                if (rc == NGX_ERROR) {
                    goto failed;
                }

                goto refused;
            }

            ngx_queue_insert_tail(&ps->subs, &w->queue);

            if (pattern) {
                ps->npatterns++;

            } else {
                ps->nchannels++;
            }

            fresh[i] = w;
            replays[i] = replay;
            added++;
        }

        a = ngx_http_kvmq_ws_confirm(pool, list,
                                     pattern ? "psubscribe" : "subscribe",
                                     &cmd->argv[i],
                                     ps->nchannels + ps->npatterns);
        if (a == NULL) {
            goto failed;
        }

        if (sincep && fresh[i]
            && ngx_http_kvmq_ws_pos(pool, a, since,
                                    since >= pos[i].last ? pos[i].last + 1
                                    : ngx_max(pos[i].first, since + 1),
                                    pos[i].last)
               != NGX_OK)
        {
            goto failed;
        }
    }

    rc = ngx_http_kvmq_ws_reply(ws, id, list);

    if (rc == NGX_ERROR) {
        return NGX_ERROR;
    }

    /* the history asked for, after the confirmation */

    for (i = 1; rc == NGX_OK && sincep && i < argc; i++) {

        if (fresh[i] == NULL) {
            continue;
        }

        if (since > pos[i].last || pos[i].first > since + 1) {
            rc = ngx_http_kvmq_ws_send_gap(ws, pool, &fresh[i]->sub.name,
                                           since,
                                           since > pos[i].last
                                           ? pos[i].last + 1
                                           : pos[i].first);
        }

        m = replays[i] ? replays[i]->elts : NULL;

        for (k = 0; rc == NGX_OK && m && k < replays[i]->nelts; k++) {
            rc = ngx_http_kvmq_ws_deliver(&fresh[i]->sub, &m[k], NULL, 0);
        }
    }

    return (rc == NGX_ERROR) ? NGX_ERROR : NGX_OK;

refused:
failed:

    /* undo what this command added */
    for (i = 1; i < argc; i++) {
        if (fresh[i]) {
            ngx_http_kvmq_wsub_free(fresh[i]);
        }
    }

    if (err == KVMQ_ERR_NOMEM) {
        return ngx_http_kvmq_ws_reply_error(ws, id, err,
                                            "zone is full: cannot "
                                            "subscribe");
    }

    if (err == KVMQ_ERR_DENIED) {
        return ngx_http_kvmq_ws_reply_error(ws, id, err,
                                            "this worker is shutting "
                                            "down: reconnect");
    }

    return NGX_ERROR;
}


/* ---- unsubscribe ------------------------------------------------------- */


static ngx_int_t
ngx_http_kvmq_ws_unsub(ngx_http_kvmq_ws_t *ws, ngx_str_t *id,
    ngx_http_kvmq_argv_t *cmd, ngx_uint_t pattern)
{
    int                    i;
    ngx_pool_t            *pool;
    ngx_queue_t           *q, *next;
    kvmq_slice_t           name;
    const char            *kind;
    ngx_http_kvmq_val_t   *list;
    ngx_http_kvmq_wsps_t  *ps;
    ngx_http_kvmq_wsub_t  *w;

    pool = ws->request->pool;
    kind = pattern ? "punsubscribe" : "unsubscribe";
    ps = ws->pubsub;

    list = ngx_http_kvmq_ws_val(pool, NULL, NGX_HTTP_KVMQ_ARRAY);
    if (list == NULL) {
        return NGX_ERROR;
    }

    if (cmd->argc > 1) {

        for (i = 1; i < cmd->argc; i++) {
            w = ps ? ngx_http_kvmq_wsub_find(ps, &cmd->argv[i], pattern)
                   : NULL;

            if (w) {
                ngx_http_kvmq_wsub_free(w);
            }

            if (ngx_http_kvmq_ws_confirm(pool, list, kind, &cmd->argv[i],
                                         ps ? ps->nchannels + ps->npatterns
                                            : 0)
                == NULL)
            {
                return NGX_ERROR;
            }
        }

        return (ngx_http_kvmq_ws_reply(ws, id, list) == NGX_ERROR)
               ? NGX_ERROR : NGX_OK;
    }

    /* all of them */

    for (q = ps ? ngx_queue_head(&ps->subs) : NULL;
         q != NULL && q != ngx_queue_sentinel(&ps->subs);
         q = next)
    {
        next = ngx_queue_next(q);
        w = ngx_queue_data(q, ngx_http_kvmq_wsub_t, queue);

        if (w->sub.pattern != pattern) {
            continue;
        }

        /* the name outlives w: copied into the scratch pool */
        name.len = w->sub.name.len;
        name.data = ngx_pnalloc(pool, name.len + 1);
        if (name.data == NULL) {
            return NGX_ERROR;
        }

        ngx_memcpy((u_char *) name.data, w->sub.name.data, name.len);

        ngx_http_kvmq_wsub_free(w);

        if (ngx_http_kvmq_ws_confirm(pool, list, kind, &name,
                                     ps->nchannels + ps->npatterns)
            == NULL)
        {
            return NGX_ERROR;
        }
    }

    if (list->nelts == 0
        && ngx_http_kvmq_ws_confirm(pool, list, kind, NULL,
                                    ps ? ps->nchannels + ps->npatterns : 0)
           == NULL)
    {
        return NGX_ERROR;
    }

    return (ngx_http_kvmq_ws_reply(ws, id, list) == NGX_ERROR)
           ? NGX_ERROR : NGX_OK;
}


/* the connection goes away: drop its subscriptions, under one lock */
static void
ngx_http_kvmq_ws_pubsub_close(ngx_http_kvmq_ws_t *ws)
{
    ngx_uint_t             n, i;
    ngx_queue_t           *q;
    ngx_http_kvmq_sub_t  **subs;
    ngx_http_kvmq_wsps_t  *ps;
    ngx_http_kvmq_wsub_t  *w;

    ps = ws->pubsub;

    if (ps == NULL) {
        return;
    }

    n = ps->nchannels + ps->npatterns;
    subs = n ? ngx_alloc(n * sizeof(ngx_http_kvmq_sub_t *),
                         ws->connection->log)
             : NULL;

    if (subs) {
        i = 0;

        for (q = ngx_queue_head(&ps->subs);
             q != ngx_queue_sentinel(&ps->subs) && i < n;
             q = ngx_queue_next(q))
        {
            w = ngx_queue_data(q, ngx_http_kvmq_wsub_t, queue);
            subs[i++] = &w->sub;
        }

        ngx_http_kvmq_unsubscribe(subs, i);
        ngx_free(subs);
    }

    /* without the array, wsub_free unsubscribes one by one */
    while (!ngx_queue_empty(&ps->subs)) {
        q = ngx_queue_head(&ps->subs);
        w = ngx_queue_data(q, ngx_http_kvmq_wsub_t, queue);
        ngx_http_kvmq_wsub_free(w);
    }

    ngx_free(ps);

    ws->pubsub = NULL;
    ws->on_close = NULL;
}


/* ---- pushes ------------------------------------------------------------ */


static ngx_int_t
ngx_http_kvmq_ws_deliver(ngx_http_kvmq_sub_t *sub, ngx_http_kvmq_msg_t *m,
    ngx_str_t *pattern, uint64_t gap)
{
    ngx_http_kvmq_wsub_t *w = sub->data;

    ngx_int_t                  rc;
    ngx_http_kvmq_ws_t        *ws;
    ngx_http_kvmq_ws_frame_t  *f;

    ws = w->ps->ws;

    if (ws->closed || ws->close_sent || ws->error) {
        return NGX_ERROR;
    }

    if (gap
        && ngx_http_kvmq_ws_send_gap(ws, m->pool, &m->channel, gap - 1,
                                     m->seq)
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    f = ngx_http_kvmq_ws_push(ws, m, pattern, ws->base64);
    if (f == NULL) {
        ngx_http_kvmq_ws_close(ws, NGX_HTTP_KVMQ_WS_SERVER_ERROR,
                               "out of memory");
        return NGX_ERROR;
    }

    rc = ngx_http_kvmq_ws_send_frame(ws, f);

    return (rc == NGX_OK) ? NGX_OK : NGX_ERROR;
}


static ngx_int_t
ngx_http_kvmq_ws_send_gap(ngx_http_kvmq_ws_t *ws, ngx_pool_t *pool,
    ngx_str_t *channel, uint64_t since, uint64_t first)
{
    u_char  *p, *start;

    start = ngx_pnalloc(pool, 6 * channel->len + 128
                              + ngx_base64_encoded_length(channel->len));
    if (start == NULL) {
        return NGX_ERROR;
    }

    p = ngx_cpymem(start, "{\"type\":\"gap\",\"channel\":",
                   sizeof("{\"type\":\"gap\",\"channel\":") - 1);
    p = ngx_http_kvmq_ws_json_str(p, channel->data, channel->len,
                                  ws->base64);
    p = ngx_sprintf(p, ",\"since\":%uL,\"first\":%uL}", since, first);

    return (ngx_http_kvmq_ws_send_text(ws, start, p - start) == NGX_OK)
           ? NGX_OK : NGX_ERROR;
}


/*
 * The push of m, built once per message (and pattern) and kept in m for
 * the other connections; the fan-out's pool releases it.
 */
static ngx_http_kvmq_ws_frame_t *
ngx_http_kvmq_ws_push(ngx_http_kvmq_ws_t *ws, ngx_http_kvmq_msg_t *m,
    ngx_str_t *pattern, ngx_uint_t base64)
{
    size_t                     len;
    u_char                    *p, *start;
    ngx_uint_t                 slot;
    ngx_str_t                 *cached;
    ngx_pool_cleanup_t        *cln;
    ngx_http_kvmq_ws_frame_t  *f;

    if (pattern == NULL) {
        slot = base64 ? NGX_HTTP_KVMQ_WS_MSG64 : NGX_HTTP_KVMQ_WS_MSG;

    } else if (!base64) {
        slot = NGX_HTTP_KVMQ_WS_PMSG;
        cached = m->ws[NGX_HTTP_KVMQ_WS_PMSG_PAT];

        if (cached && (cached->len != pattern->len
                       || ngx_memcmp(cached->data, pattern->data,
                                     pattern->len) != 0))
        {
            slot = NGX_HTTP_KVMQ_WS_PMSG_PAT;     /* not cacheable */
        }

    } else {
        slot = NGX_HTTP_KVMQ_WS_PMSG_PAT;
    }

    if (slot != NGX_HTTP_KVMQ_WS_PMSG_PAT && m->ws[slot]) {
        return m->ws[slot];
    }

    len = sizeof("{\"type\":\"message\",\"channel\":,\"pattern\":,"
                 "\"data\":,\"seq\":}") - 1
          + NGX_INT64_LEN + 4
          + 6 * (m->channel.len + m->data.len) + 64
          + ngx_base64_encoded_length(m->channel.len)
          + ngx_base64_encoded_length(m->data.len);

    if (pattern) {
        len += 6 * pattern->len + 32 + ngx_base64_encoded_length(pattern->len);
    }

    start = ngx_pnalloc(m->pool, len);
    if (start == NULL) {
        return NULL;
    }

    p = ngx_cpymem(start, "{\"type\":\"message\",\"channel\":",
                   sizeof("{\"type\":\"message\",\"channel\":") - 1);
    p = ngx_http_kvmq_ws_json_str(p, m->channel.data, m->channel.len, base64);
    p = ngx_cpymem(p, ",\"pattern\":", sizeof(",\"pattern\":") - 1);

    if (pattern) {
        p = ngx_http_kvmq_ws_json_str(p, pattern->data, pattern->len, base64);

    } else {
        p = ngx_cpymem(p, "null", 4);
    }

    p = ngx_cpymem(p, ",\"data\":", sizeof(",\"data\":") - 1);
    p = ngx_http_kvmq_ws_json_str(p, m->data.data, m->data.len, base64);
    p = ngx_sprintf(p, ",\"seq\":%uL}", m->seq);

    f = ngx_http_kvmq_ws_frame_text(start, p - start, ws->connection->log);
    if (f == NULL) {
        return NULL;
    }

    cln = ngx_pool_cleanup_add(m->pool, 0);
    if (cln == NULL) {
        ngx_http_kvmq_ws_frame_release(f);
        return NULL;
    }

    cln->handler = ngx_http_kvmq_ws_frame_cleanup;
    cln->data = f;

    if (slot != NGX_HTTP_KVMQ_WS_PMSG_PAT) {
        m->ws[slot] = f;

        if (slot == NGX_HTTP_KVMQ_WS_PMSG) {
            m->ws[NGX_HTTP_KVMQ_WS_PMSG_PAT] = pattern;
        }
    }

    return f;
}


static void
ngx_http_kvmq_ws_frame_cleanup(void *data)
{
    ngx_http_kvmq_ws_frame_release(data);
}


/*
 * A JSON string of user bytes: escaped when it is UTF-8, else
 * {"base64": "..."}; with base64, always base64.  p has room for 6 bytes
 * per input byte plus the base64 form.
 */
static u_char *
ngx_http_kvmq_ws_json_str(u_char *p, const u_char *s, size_t len,
    ngx_uint_t base64)
{
    size_t       i;
    ngx_str_t    src, dst;
    ngx_uint_t   wrap;
    static u_char  hex[] = "0123456789abcdef";

    wrap = !base64 && !ngx_http_kvmq_utf8_valid(s, len);

    if (base64 || wrap) {
        if (wrap) {
            p = ngx_cpymem(p, "{\"base64\":", sizeof("{\"base64\":") - 1);
        }

        *p++ = '"';

        src.data = (u_char *) s;
        src.len = len;
        dst.data = p;

        ngx_encode_base64(&dst, &src);

        p += dst.len;
        *p++ = '"';

        if (wrap) {
            *p++ = '}';
        }

        return p;
    }

    *p++ = '"';

    for (i = 0; i < len; i++) {

        switch (s[i]) {

        case '"':
            *p++ = '\\';
            *p++ = '"';
            break;

        case '\\':
            *p++ = '\\';
            *p++ = '\\';
            break;

        case '\n':
            *p++ = '\\';
            *p++ = 'n';
            break;

        case '\r':
            *p++ = '\\';
            *p++ = 'r';
            break;

        case '\t':
            *p++ = '\\';
            *p++ = 't';
            break;

        default:
            if (s[i] < 0x20) {
                *p++ = '\\';
                *p++ = 'u';
                *p++ = '0';
                *p++ = '0';
                *p++ = hex[s[i] >> 4];
                *p++ = hex[s[i] & 0xf];

            } else {
                *p++ = s[i];
            }
        }
    }

    *p++ = '"';

    return p;
}
