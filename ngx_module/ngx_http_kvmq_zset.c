
/*
 * The /zset REST routes (API.md "Sorted set"):
 *
 *   GET|HEAD /zset/{key}?by=rank|score|lex&min=&max=&rev&offset=&count=
 *       &withscores
 *                     ZRANGE key min max [BYSCORE|BYLEX] [REV]
 *                     [LIMIT offset count] [WITHSCORES]        the array
 *   GET|HEAD /zset/{key}/{member}[?rev]
 *                     ZSCORE key member + ZRANK|ZREVRANK key member, one
 *                     batch under one lock    {"score": S, "rank": R}
 *   PUT /zset/{key}/{member}          body = the score
 *                     ZADD key score member + ZSCORE key member, one
 *                     batch                   201/200 {"score": S}
 *                     ?incr: ZINCRBY key score member   {"score": S}
 *   DELETE /zset/{key}/{member}       ZREM key member   {"removed": N}
 *
 * min and max are the low and the high end whatever the order: with
 * ?rev and by=score or by=lex they go to ZRANGE as max min, as REV wants
 * them.  With by=rank (the default) they are the first and the last rank
 * (0 and -1 by default) counted from the top with ?rev.  Their defaults
 * are -inf/+inf for scores and -/+ for lex ranges; the syntax of score
 * and lex bounds ("(1.5", "[a") is the engine's.  offset and count give
 * LIMIT (offset 0, count -1 when only one is there; the engine takes
 * LIMIT with by=score or by=lex only).
 *
 * Scores are JSON numbers, the infinities the strings "inf" and "-inf";
 * WITHSCORES gives [member, score] pairs.  The PUT body is the score as
 * text ("1.5", "-inf", "+inf").  A missing member is 404; an absent set
 * reads as [].
 */


#include "ngx_http_kvmq_types.h"


static ngx_int_t ngx_http_kvmq_zset_range(ngx_http_request_t *r,
    ngx_http_kvmq_ctx_t *ctx);
static ngx_int_t ngx_http_kvmq_zset_get(ngx_http_request_t *r,
    ngx_http_kvmq_ctx_t *ctx);
static void ngx_http_kvmq_zset_put_body(ngx_http_request_t *r);
static ngx_int_t ngx_http_kvmq_zset_put(ngx_http_request_t *r,
    ngx_http_kvmq_ctx_t *ctx);
static ngx_int_t ngx_http_kvmq_zset_delete(ngx_http_request_t *r,
    ngx_http_kvmq_ctx_t *ctx);


ngx_int_t
ngx_http_kvmq_zset(ngx_http_request_t *r, ngx_http_kvmq_ctx_t *ctx)
{
    ngx_int_t                  rc;
    ngx_uint_t                 n, incr;
    ngx_http_kvmq_loc_conf_t  *klcf;

    klcf = ngx_http_get_module_loc_conf(r, ngx_http_kvmq_module);

    n = ngx_http_kvmq_type_segments(ctx);

    if (n > 3) {
        return ngx_http_kvmq_type_no_route(r);
    }

    if (ctx->key.len > klcf->max_key) {
        return ngx_http_kvmq_type_long_key(r, ctx);
    }

    if (n == 2) {
        if (!(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD))) {
            return ngx_http_kvmq_send_method(r, "GET, HEAD");
        }

        return ngx_http_kvmq_zset_range(r, ctx);
    }

    switch (r->method) {

    case NGX_HTTP_GET:
    case NGX_HTTP_HEAD:
        return ngx_http_kvmq_zset_get(r, ctx);

    case NGX_HTTP_PUT:
        rc = ngx_http_kvmq_type_flag(r, "incr", &incr);
        if (rc != NGX_OK) {
            return ngx_http_kvmq_type_bad_arg(r, rc, "incr",
                                              "a flag (1 or 0)");
        }

        if (incr) {
            ngx_str_set(&ctx->command, "ZINCRBY");

        } else {
            ngx_str_set(&ctx->command, "ZADD");
        }

        return ngx_http_kvmq_type_read_body(r, ngx_http_kvmq_zset_put_body);

    case NGX_HTTP_DELETE:
        return ngx_http_kvmq_zset_delete(r, ctx);

    default:
        return ngx_http_kvmq_send_method(r, "GET, HEAD, PUT, DELETE");
    }
}


static ngx_int_t
ngx_http_kvmq_zset_range(ngx_http_request_t *r, ngx_http_kvmq_ctx_t *ctx)
{
    int                   argc;
    ngx_int_t             rc;
    ngx_str_t             by, min, max, offset, count;
    ngx_uint_t            rev, withscores, rank;
    const char           *dmin, *dmax;
    kvmq_slice_t          argv[10];
    ngx_http_kvmq_val_t  *v;

    ngx_str_set(&ctx->command, "ZRANGE");

    rc = r->args.len ? ngx_http_kvmq_arg(r, "by", &by) : NGX_DECLINED;

    if (rc == NGX_ERROR) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (rc == NGX_DECLINED) {
        ngx_str_set(&by, "rank");
    }

    rank = 0;

    if (by.len == 4 && ngx_strncmp(by.data, "rank", 4) == 0) {
        rank = 1;
        dmin = "0";
        dmax = "-1";

    } else if (by.len == 5 && ngx_strncmp(by.data, "score", 5) == 0) {
        dmin = "-inf";
        dmax = "+inf";

    } else if (by.len == 3 && ngx_strncmp(by.data, "lex", 3) == 0) {
        dmin = "-";
        dmax = "+";

    } else {
        return ngx_http_kvmq_send_errorf(r, KVMQ_ERR_BADREQ,
                                         "by must be rank, score or lex");
    }

    if (rank) {
        rc = ngx_http_kvmq_type_int_arg(r, "min", &min, dmin);
        if (rc != NGX_OK) {
            return ngx_http_kvmq_type_bad_arg(r, rc, "min",
                                              "an integer (a rank)");
        }

        rc = ngx_http_kvmq_type_int_arg(r, "max", &max, dmax);
        if (rc != NGX_OK) {
            return ngx_http_kvmq_type_bad_arg(r, rc, "max",
                                              "an integer (a rank)");
        }

    } else {
        if (!r->args.len || ngx_http_kvmq_arg(r, "min", &min) != NGX_OK) {
            min.data = (u_char *) dmin;
            min.len = ngx_strlen(dmin);
        }

        if (!r->args.len || ngx_http_kvmq_arg(r, "max", &max) != NGX_OK) {
            max.data = (u_char *) dmax;
            max.len = ngx_strlen(dmax);
        }
    }

    rc = ngx_http_kvmq_type_int_arg(r, "offset", &offset, NULL);
    if (rc != NGX_OK) {
        return ngx_http_kvmq_type_bad_arg(r, rc, "offset", "an integer");
    }

    rc = ngx_http_kvmq_type_int_arg(r, "count", &count, NULL);
    if (rc != NGX_OK) {
        return ngx_http_kvmq_type_bad_arg(r, rc, "count", "an integer");
    }

    rc = ngx_http_kvmq_type_flag(r, "rev", &rev);
    if (rc != NGX_OK) {
        return ngx_http_kvmq_type_bad_arg(r, rc, "rev", "a flag (1 or 0)");
    }

    rc = ngx_http_kvmq_type_flag(r, "withscores", &withscores);
    if (rc != NGX_OK) {
        return ngx_http_kvmq_type_bad_arg(r, rc, "withscores",
                                          "a flag (1 or 0)");
    }

    ngx_http_kvmq_sl_lit(&argv[0], "ZRANGE");
    ngx_http_kvmq_sl_str(&argv[1], &ctx->key);

    /* REV takes a score or lex range high end first */

    if (rev && !rank) {
        ngx_http_kvmq_sl_str(&argv[2], &max);
        ngx_http_kvmq_sl_str(&argv[3], &min);

    } else {
        ngx_http_kvmq_sl_str(&argv[2], &min);
        ngx_http_kvmq_sl_str(&argv[3], &max);
    }

    argc = 4;

    if (!rank) {
        if (by.len == 5) {
            ngx_http_kvmq_sl_lit(&argv[argc], "BYSCORE");

        } else {
            ngx_http_kvmq_sl_lit(&argv[argc], "BYLEX");
        }

        argc++;
    }

    if (rev) {
        ngx_http_kvmq_sl_lit(&argv[argc], "REV");
        argc++;
    }

    if (offset.len || count.len) {
        if (offset.len == 0) {
            ngx_str_set(&offset, "0");
        }

        if (count.len == 0) {
            ngx_str_set(&count, "-1");
        }

        ngx_http_kvmq_sl_lit(&argv[argc], "LIMIT");
        ngx_http_kvmq_sl_str(&argv[argc + 1], &offset);
        ngx_http_kvmq_sl_str(&argv[argc + 2], &count);
        argc += 3;
    }

    if (withscores) {
        ngx_http_kvmq_sl_lit(&argv[argc], "WITHSCORES");
        argc++;
    }

    v = ngx_http_kvmq_type_run(r, argv, argc);
    if (v == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_kvmq_send_val(r, v);
}


static ngx_int_t
ngx_http_kvmq_zset_get(ngx_http_request_t *r, ngx_http_kvmq_ctx_t *ctx)
{
    ngx_int_t              rc;
    ngx_uint_t             rev;
    kvmq_slice_t           score[3], rank[3];
    ngx_http_kvmq_val_t   *results[2];
    ngx_http_kvmq_argv_t   cmds[2];

    rc = ngx_http_kvmq_type_flag(r, "rev", &rev);
    if (rc != NGX_OK) {
        return ngx_http_kvmq_type_bad_arg(r, rc, "rev", "a flag (1 or 0)");
    }

    ngx_str_set(&ctx->command, "ZSCORE");

    ngx_http_kvmq_sl_lit(&score[0], "ZSCORE");
    ngx_http_kvmq_sl_str(&score[1], &ctx->key);
    ngx_http_kvmq_sl_str(&score[2], &ctx->seg[2]);

    if (rev) {
        ngx_http_kvmq_sl_lit(&rank[0], "ZREVRANK");

    } else {
        ngx_http_kvmq_sl_lit(&rank[0], "ZRANK");
    }

    rank[1] = score[1];
    rank[2] = score[2];

    cmds[0].argv = score;
    cmds[0].argc = 3;
    cmds[1].argv = rank;
    cmds[1].argc = 3;

    /* both under one lock: the rank is the rank of that score */

    if (ngx_http_kvmq_type_exec(r, cmds, 2, results) != NGX_OK
        || results[0] == NULL)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (results[0]->type == NGX_HTTP_KVMQ_NIL) {
        return ngx_http_kvmq_send_errorf(r, KVMQ_ERR_NOTFOUND,
                                         "not a member");
    }

    if (results[0]->type == NGX_HTTP_KVMQ_ERROR || results[1] == NULL) {
        return ngx_http_kvmq_send_val(r, results[0]);
    }

    return ngx_http_kvmq_type_object(r, NGX_HTTP_OK, "score", results[0],
                                     "rank", results[1]);
}


static void
ngx_http_kvmq_zset_put_body(ngx_http_request_t *r)
{
    ngx_http_finalize_request(r, ngx_http_kvmq_type_with_body(r,
                                     ngx_http_kvmq_zset_put));
}


static ngx_int_t
ngx_http_kvmq_zset_put(ngx_http_request_t *r, ngx_http_kvmq_ctx_t *ctx)
{
    ngx_uint_t             status;
    kvmq_slice_t           add[4], score[3];
    ngx_http_kvmq_val_t   *results[2];
    ngx_http_kvmq_argv_t   cmds[2];

    /* ZINCRBY key increment member, or ZADD key score member */

    ngx_http_kvmq_sl_str(&add[0], &ctx->command);
    ngx_http_kvmq_sl_str(&add[1], &ctx->key);
    ngx_http_kvmq_sl_str(&add[2], &ctx->body);
    ngx_http_kvmq_sl_str(&add[3], &ctx->seg[2]);

    cmds[0].argv = add;
    cmds[0].argc = 4;

    if (ctx->command.len == sizeof("ZINCRBY") - 1) {

        /* the new score is ZINCRBY's reply */

        if (ngx_http_kvmq_type_exec(r, cmds, 1, results) != NGX_OK) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        return ngx_http_kvmq_type_object(r, NGX_HTTP_OK, "score",
                                         results[0], NULL, NULL);
    }

    /* ZADD replies how many members it added; ZSCORE gives the score */

    ngx_http_kvmq_sl_lit(&score[0], "ZSCORE");
    score[1] = add[1];
    score[2] = add[3];

    cmds[1].argv = score;
    cmds[1].argc = 3;

    if (ngx_http_kvmq_type_exec(r, cmds, 2, results) != NGX_OK
        || results[0] == NULL)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (results[0]->type != NGX_HTTP_KVMQ_INT || results[1] == NULL) {
        return ngx_http_kvmq_send_val(r, results[0]);
    }

    status = results[0]->integer ? NGX_HTTP_CREATED : NGX_HTTP_OK;

    return ngx_http_kvmq_type_object(r, status, "score", results[1], NULL,
                                     NULL);
}


static ngx_int_t
ngx_http_kvmq_zset_delete(ngx_http_request_t *r, ngx_http_kvmq_ctx_t *ctx)
{
    kvmq_slice_t          argv[3];
    ngx_http_kvmq_val_t  *v;

    ngx_str_set(&ctx->command, "ZREM");

    ngx_http_kvmq_sl_lit(&argv[0], "ZREM");
    ngx_http_kvmq_sl_str(&argv[1], &ctx->key);
    ngx_http_kvmq_sl_str(&argv[2], &ctx->seg[2]);

    v = ngx_http_kvmq_type_run(r, argv, 3);

    return ngx_http_kvmq_type_object(r, NGX_HTTP_OK, "removed", v, NULL,
                                     NULL);
}
