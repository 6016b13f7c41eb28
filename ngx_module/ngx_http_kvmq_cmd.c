
/*
 * The command endpoint: every engine command by name.
 *
 *   POST /cmd  ["NAME", arg, ...]             one command; its reply is
 *                                             the body, its error the
 *                                             HTTP status
 *   POST /cmd  [["NAME", ...], [...], ...]    a batch, run in order under
 *                                             one lock acquisition (atomic
 *                                             like MULTI/EXEC); the body
 *                                             is the array of replies, an
 *                                             error takes its slot only
 *   GET /cmd/NAME/arg/...                     one command from the
 *                                             percent-decoded segments
 *
 * A batch is checked whole before any of it runs: a command that is
 * unknown, empty or of the wrong arity, or an argument over the limits,
 * fails the request (400, 413) with nothing executed.
 */


#include "ngx_http_kvmq_module.h"
#include "ngx_http_kvmq_block.h"


static void ngx_http_kvmq_cmd_body(ngx_http_request_t *r);
static ngx_int_t ngx_http_kvmq_cmd_post(ngx_http_request_t *r,
    ngx_http_kvmq_ctx_t *ctx);
static ngx_int_t ngx_http_kvmq_cmd_run(ngx_http_request_t *r,
    ngx_http_kvmq_ctx_t *ctx, ngx_http_kvmq_argv_t *cmds, ngx_uint_t n,
    ngx_uint_t batch);
static ngx_int_t ngx_http_kvmq_cmd_refuse(ngx_http_request_t *r,
    ngx_http_kvmq_val_t **err, kvmq_err_e code, const char *fmt, ...);
static void ngx_http_kvmq_cmd_vars(ngx_http_request_t *r,
    ngx_http_kvmq_ctx_t *ctx, ngx_http_kvmq_argv_t *cmd);


ngx_int_t
ngx_http_kvmq_cmd(ngx_http_request_t *r, ngx_http_kvmq_ctx_t *ctx)
{
    ngx_int_t              rc;
    ngx_uint_t             i;
    kvmq_slice_t          *argv;
    ngx_http_kvmq_argv_t   cmd;

    if (ctx->route == NGX_HTTP_KVMQ_ROUTE_CMD_POST) {

        if (r->method != NGX_HTTP_POST) {
            return ngx_http_kvmq_send_method(r, "POST");
        }

        rc = ngx_http_read_client_request_body(r, ngx_http_kvmq_cmd_body);

        if (rc >= NGX_HTTP_SPECIAL_RESPONSE) {
            return rc;
        }

        return NGX_DONE;
    }

    /* GET /cmd/NAME/arg/... */

    if (!(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD))) {
        return ngx_http_kvmq_send_method(r, "GET, HEAD");
    }

    argv = ngx_palloc(r->pool, (ctx->nseg - 1) * sizeof(kvmq_slice_t));
    if (argv == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    for (i = 1; i < ctx->nseg; i++) {
        argv[i - 1].data = ctx->seg[i].data;
        argv[i - 1].len = ctx->seg[i].len;
    }

    cmd.argv = argv;
    cmd.argc = (int) (ctx->nseg - 1);

    return ngx_http_kvmq_cmd_run(r, ctx, &cmd, 1, 0);
}


static void
ngx_http_kvmq_cmd_body(ngx_http_request_t *r)
{
    ngx_http_kvmq_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_kvmq_module);

    ngx_http_finalize_request(r, ngx_http_kvmq_cmd_post(r, ctx));
}


static ngx_int_t
ngx_http_kvmq_cmd_post(ngx_http_request_t *r, ngx_http_kvmq_ctx_t *ctx)
{
    ngx_int_t     rc;
    ngx_str_t     err;
    ngx_uint_t    batch;
    ngx_array_t   cmds;

    if (ngx_http_kvmq_body(r, &ctx->body) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ngx_array_init(&cmds, r->pool, 4, sizeof(ngx_http_kvmq_argv_t))
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    batch = 0;

    rc = ngx_http_kvmq_json_parse_cmd(r, &ctx->body, ctx->base64, &cmds,
                                      &batch, &err);

    if (rc == NGX_ERROR) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (rc == NGX_DECLINED) {
        return ngx_http_kvmq_send_error(r, KVMQ_ERR_BADREQ, err.data,
                                        err.len);
    }

    return ngx_http_kvmq_cmd_run(r, ctx, cmds.elts, cmds.nelts, batch);
}


/*
 * Check parsed commands and run them: what POST /cmd and the WebSocket
 * door share.  NGX_OK with one captured reply per command in *results.
 * NGX_DECLINED when the request is refused whole (nothing ran): *err is
 * the error to answer with (BADREQ, TOOLARGE).  NGX_ERROR: no memory.
 */

ngx_int_t
ngx_http_kvmq_cmd_exec(ngx_http_request_t *r, ngx_http_kvmq_argv_t *cmds,
    ngx_uint_t n, ngx_uint_t batch, ngx_http_kvmq_val_t ***results,
    ngx_http_kvmq_val_t **err)
{
    ngx_int_t                 rc;
    ngx_str_t                 msg;
    ngx_uint_t                i;
    const kvmq_cmd_t         *kc;
    ngx_http_kvmq_builder_t   builder;

    for (i = 0; i < n; i++) {

        if (batch) {
            if (cmds[i].argc == 0) {
                return ngx_http_kvmq_cmd_refuse(r, err, KVMQ_ERR_BADREQ,
                                                "command %ui: empty command",
                                                i + 1);
            }

            kc = kvmq_cmd_lookup(cmds[i].argv[0].data, cmds[i].argv[0].len);

            if (kc == NULL) {
                return ngx_http_kvmq_cmd_refuse(r, err, KVMQ_ERR_BADREQ,
                                                "command %ui: unknown "
                                                "command '%*s'", i + 1,
                                                ngx_min(cmds[i].argv[0].len,
                                                        64),
                                                cmds[i].argv[0].data);
            }

            if (!kvmq_cmd_arity_ok(kc, cmds[i].argc)) {
                return ngx_http_kvmq_cmd_refuse(r, err, KVMQ_ERR_BADREQ,
                                                "command %ui: wrong number "
                                                "of arguments for '%s'",
                                                i + 1, kvmq_cmd_name(kc));
            }
        }

        rc = ngx_http_kvmq_check_limits(r, &cmds[i], i + 1, &msg);

        if (rc == NGX_ERROR) {
            return NGX_ERROR;
        }

        if (rc == NGX_DECLINED) {
            return ngx_http_kvmq_cmd_refuse(r, err, KVMQ_ERR_TOOLARGE, "%V",
                                            &msg);
        }
    }

    *results = ngx_palloc(r->pool, n * sizeof(ngx_http_kvmq_val_t *));
    if (*results == NULL) {
        return NGX_ERROR;
    }

    ngx_http_kvmq_builder_init(&builder, r->pool);

    return ngx_http_kvmq_exec(r, &builder, cmds, n, *results, NULL);
}


/* the error that refuses a whole request, as a captured value */

static ngx_int_t
ngx_http_kvmq_cmd_refuse(ngx_http_request_t *r, ngx_http_kvmq_val_t **err,
    kvmq_err_e code, const char *fmt, ...)
{
    u_char               *p;
    va_list               args;
    ngx_http_kvmq_val_t  *e;

    e = ngx_pcalloc(r->pool, sizeof(ngx_http_kvmq_val_t));
    if (e == NULL) {
        return NGX_ERROR;
    }

    p = ngx_pnalloc(r->pool, NGX_MAX_ERROR_STR);
    if (p == NULL) {
        return NGX_ERROR;
    }

    va_start(args, fmt);
    e->str.len = ngx_vslprintf(p, p + NGX_MAX_ERROR_STR, fmt, args) - p;
    va_end(args);

    e->str.data = p;
    e->type = NGX_HTTP_KVMQ_ERROR;
    e->err = code;

    *err = e;

    return NGX_DECLINED;
}


static ngx_int_t
ngx_http_kvmq_cmd_run(ngx_http_request_t *r, ngx_http_kvmq_ctx_t *ctx,
    ngx_http_kvmq_argv_t *cmds, ngx_uint_t n, ngx_uint_t batch)
{
    ngx_int_t                 rc;
    ngx_uint_t                i;
    ngx_chain_t              *out;
    ngx_str_t                 msg;
    const kvmq_cmd_t         *kc;
    ngx_http_kvmq_val_t     **results, *err;
    ngx_http_kvmq_json_t     *j;

    /* one blocking command may park; in a batch it does not (MULTI) */
    kc = (!batch && cmds[0].argc > 0)
         ? kvmq_cmd_lookup(cmds[0].argv[0].data, cmds[0].argv[0].len)
         : NULL;

    if (kc != NULL && kvmq_cmd_is_blocking(kc)) {
        rc = ngx_http_kvmq_check_limits(r, &cmds[0], 1, &msg);

        if (rc == NGX_ERROR) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        if (rc == NGX_DECLINED) {
            return ngx_http_kvmq_send_error(r, KVMQ_ERR_TOOLARGE, msg.data,
                                            msg.len);
        }

        ngx_http_kvmq_cmd_vars(r, ctx, &cmds[0]);

        return ngx_http_kvmq_block_http(r, cmds[0].argv, cmds[0].argc, 0,
                                        0);
    }

    rc = ngx_http_kvmq_cmd_exec(r, cmds, n, batch, &results, &err);

    if (rc == NGX_ERROR) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (rc == NGX_DECLINED) {
        return ngx_http_kvmq_send_error(r, err->err, err->str.data,
                                        err->str.len);
    }

    if (!batch) {
        ngx_http_kvmq_cmd_vars(r, ctx, &cmds[0]);
        return ngx_http_kvmq_send_val(r, results[0]);
    }

    ngx_str_set(&ctx->command, "BATCH");

    j = ngx_http_kvmq_json_create(r, ctx->base64);
    if (j == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    rc = ngx_http_kvmq_json_open(j, 0);

    for (i = 0; rc == NGX_OK && i < n; i++) {
        rc = ngx_http_kvmq_json_val(j, results[i]);
    }

    if (rc != NGX_OK || ngx_http_kvmq_json_close(j, 0) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    out = ngx_http_kvmq_json_finish(j);
    if (out == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_kvmq_send(r, NGX_HTTP_OK, out);
}


/* $kvmq_command (upper case) and $kvmq_key (the first key) */

static void
ngx_http_kvmq_cmd_vars(ngx_http_request_t *r, ngx_http_kvmq_ctx_t *ctx,
    ngx_http_kvmq_argv_t *cmd)
{
    int                i;
    const char        *name;
    const kvmq_cmd_t  *kc;

    if (cmd->argc == 0) {
        return;
    }

    kc = kvmq_cmd_lookup(cmd->argv[0].data, cmd->argv[0].len);

    if (kc == NULL) {
        return;
    }

    name = kvmq_cmd_name(kc);

    ctx->command.data = (u_char *) name;
    ctx->command.len = ngx_strlen(name);

    for (i = 1; i < cmd->argc; i++) {
        if (kvmq_cmd_key_arg(kc, cmd->argc, i)) {
            ctx->key.data = (u_char *) cmd->argv[i].data;
            ctx->key.len = cmd->argv[i].len;
            break;
        }
    }
}
