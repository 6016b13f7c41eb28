/*
 * The command table and the dispatcher.
 *
 * Every door (REST routes, /cmd, WebSocket, Lua) ends in kvmq_exec() with
 * an argv, so this table is the single list of what kvmq can do.  Each
 * row gives the Redis-style arity (positive: exact argc including the
 * name; negative: at least that many), flags, and the key positions
 * (first, last, step; last -1 means "the last argument") that the
 * evictor uses to keep the running command's keys alive and that ACLs
 * and key prefixes will use.
 *
 * The table is sorted by name at first use so lookup is a binary search
 * with a case-insensitive compare; the index of a row is its id in the
 * per-command statistics kept in the db.
 */

#include <stdlib.h>
#include <strings.h>

#include "commands.h"
#include "db.h"


#define W   KVMQ_CMD_WRITE
#define R   KVMQ_CMD_READONLY
#define M   KVMQ_CMD_DENYOOM
#define A   KVMQ_CMD_ADMIN
#define F   KVMQ_CMD_FAST
#define B   KVMQ_CMD_BLOCKING

#define CMD(n, f, ar, fl, fk, lk, ks)                                         \
    { n, kvmq_cmd_##f, ar, fl, fk, lk, ks }

static kvmq_cmd_t  kvmq_commands[] = {

    /* keys */
    CMD("DEL",          del,          -2, W,       1, -1, 1),
    CMD("UNLINK",       unlink,       -2, W,       1, -1, 1),
    CMD("EXISTS",       exists,       -2, R|F,     1, -1, 1),
    CMD("TYPE",         type,          2, R|F,     1,  1, 1),
    CMD("EXPIRE",       expire,       -3, W|F,     1,  1, 1),
    CMD("PEXPIRE",      pexpire,      -3, W|F,     1,  1, 1),
    CMD("EXPIREAT",     expireat,     -3, W|F,     1,  1, 1),
    CMD("PEXPIREAT",    pexpireat,    -3, W|F,     1,  1, 1),
    CMD("EXPIRETIME",   expiretime,    2, R|F,     1,  1, 1),
    CMD("PEXPIRETIME",  pexpiretime,   2, R|F,     1,  1, 1),
    CMD("TTL",          ttl,           2, R|F,     1,  1, 1),
    CMD("PTTL",         pttl,          2, R|F,     1,  1, 1),
    CMD("PERSIST",      persist,       2, W|F,     1,  1, 1),
    CMD("RENAME",       rename,        3, W,       1,  2, 1),
    CMD("RENAMENX",     renamenx,      3, W|F,     1,  2, 1),
    CMD("KEYS",         keys,          2, R,       0,  0, 0),
    CMD("SCAN",         scan,         -2, R,       0,  0, 0),
    CMD("RANDOMKEY",    randomkey,     1, R,       0,  0, 0),
    CMD("DBSIZE",       dbsize,        1, R|F,     0,  0, 0),
    CMD("FLUSHALL",     flushall,     -1, W|A,     0,  0, 0),
    CMD("TOUCH",        touch,        -2, R|F,     1, -1, 1),

    /* strings */
    CMD("SET",          set,          -3, W|M,     1,  1, 1),
    CMD("SETNX",        setnx,         3, W|M|F,   1,  1, 1),
    CMD("SETEX",        setex,         4, W|M,     1,  1, 1),
    CMD("PSETEX",       psetex,        4, W|M,     1,  1, 1),
    CMD("GET",          get,           2, R|F,     1,  1, 1),
    CMD("GETSET",       getset,        3, W|M|F,   1,  1, 1),
    CMD("GETDEL",       getdel,        2, W|F,     1,  1, 1),
    CMD("GETEX",        getex,        -2, W|F,     1,  1, 1),
    CMD("MSET",         mset,         -3, W|M,     1, -1, 2),
    CMD("MSETNX",       msetnx,       -3, W|M,     1, -1, 2),
    CMD("MGET",         mget,         -2, R|F,     1, -1, 1),
    CMD("APPEND",       append,        3, W|M|F,   1,  1, 1),
    CMD("STRLEN",       strlen,        2, R|F,     1,  1, 1),
    CMD("GETRANGE",     getrange,      4, R,       1,  1, 1),
    CMD("SUBSTR",       getrange,      4, R,       1,  1, 1),
    CMD("SETRANGE",     setrange,      4, W|M,     1,  1, 1),
    CMD("INCR",         incr,          2, W|M|F,   1,  1, 1),
    CMD("INCRBY",       incrby,        3, W|M|F,   1,  1, 1),
    CMD("INCRBYFLOAT",  incrbyfloat,   3, W|M|F,   1,  1, 1),
    CMD("DECR",         decr,          2, W|M|F,   1,  1, 1),
    CMD("DECRBY",       decrby,        3, W|M|F,   1,  1, 1),

    /* bits */
    CMD("SETBIT",       setbit,        4, W|M,     1,  1, 1),
    CMD("GETBIT",       getbit,        3, R|F,     1,  1, 1),
    CMD("BITCOUNT",     bitcount,     -2, R,       1,  1, 1),
    CMD("BITPOS",       bitpos,       -3, R,       1,  1, 1),
    CMD("BITOP",        bitop,        -4, W|M,     2, -1, 1),

    /* memcached-style */
    CMD("ADD",          add,          -3, W|M,     1,  1, 1),
    CMD("REPLACE",      replace,      -3, W|M,     1,  1, 1),
    CMD("PREPEND",      prepend,       3, W|M,     1,  1, 1),
    CMD("GETS",         gets,          2, R|F,     1,  1, 1),
    CMD("CAS",          cas,          -4, W|M,     1,  1, 1),

    /* hash (t_hash.c) */
    CMD("HSET",         hset,         -4, W|M|F,   1,  1, 1),
    CMD("HSETNX",       hsetnx,        4, W|M|F,   1,  1, 1),
    CMD("HMSET",        hmset,        -4, W|M|F,   1,  1, 1),
    CMD("HGET",         hget,          3, R|F,     1,  1, 1),
    CMD("HMGET",        hmget,        -3, R|F,     1,  1, 1),
    CMD("HGETALL",      hgetall,       2, R,       1,  1, 1),
    CMD("HLEN",         hlen,          2, R|F,     1,  1, 1),
    CMD("HKEYS",        hkeys,         2, R,       1,  1, 1),
    CMD("HVALS",        hvals,         2, R,       1,  1, 1),
    CMD("HEXISTS",      hexists,       3, R|F,     1,  1, 1),
    CMD("HDEL",         hdel,         -3, W|F,     1,  1, 1),
    CMD("HINCRBY",      hincrby,       4, W|M|F,   1,  1, 1),
    CMD("HINCRBYFLOAT", hincrbyfloat,  4, W|M|F,   1,  1, 1),
    CMD("HSTRLEN",      hstrlen,       3, R|F,     1,  1, 1),
    CMD("HSCAN",        hscan,        -3, R,       1,  1, 1),
    CMD("HRANDFIELD",   hrandfield,   -2, R,       1,  1, 1),

    /* list (t_list.c) */
    CMD("LPUSH",        lpush,        -3, W|M|F,   1,  1, 1),
    CMD("RPUSH",        rpush,        -3, W|M|F,   1,  1, 1),
    CMD("LPUSHX",       lpushx,       -3, W|M|F,   1,  1, 1),
    CMD("RPUSHX",       rpushx,       -3, W|M|F,   1,  1, 1),
    CMD("LLEN",         llen,          2, R|F,     1,  1, 1),
    CMD("LINDEX",       lindex,        3, R,       1,  1, 1),
    CMD("LSET",         lset,          4, W|M,     1,  1, 1),
    CMD("LINSERT",      linsert,       5, W|M,     1,  1, 1),
    CMD("LREM",         lrem,          4, W,       1,  1, 1),
    CMD("LPOP",         lpop,         -2, W|F,     1,  1, 1),
    CMD("RPOP",         rpop,         -2, W|F,     1,  1, 1),
    CMD("LRANGE",       lrange,        4, R,       1,  1, 1),
    CMD("LTRIM",        ltrim,         4, W,       1,  1, 1),
    CMD("LPOS",         lpos,         -3, R,       1,  1, 1),
    CMD("RPOPLPUSH",    rpoplpush,     3, W|M,     1,  2, 1),
    CMD("LMOVE",        lmove,         5, W|M,     1,  2, 1),
    CMD("BLPOP",        blpop,        -3, W|B,     1, -2, 1),
    CMD("BRPOP",        brpop,        -3, W|B,     1, -2, 1),
    CMD("BRPOPLPUSH",   brpoplpush,    4, W|M|B,   1,  2, 1),
    CMD("BLMOVE",       blmove,        6, W|M|B,   1,  2, 1),

    /* set (t_set.c) */
    CMD("SADD",         sadd,         -3, W|M|F,   1,  1, 1),
    CMD("SREM",         srem,         -3, W|F,     1,  1, 1),
    CMD("SCARD",        scard,         2, R|F,     1,  1, 1),
    CMD("SISMEMBER",    sismember,     3, R|F,     1,  1, 1),
    CMD("SMISMEMBER",   smismember,   -3, R|F,     1,  1, 1),
    CMD("SMEMBERS",     smembers,      2, R,       1,  1, 1),
    CMD("SRANDMEMBER",  srandmember,  -2, R,       1,  1, 1),
    CMD("SPOP",         spop,         -2, W|F,     1,  1, 1),
    CMD("SMOVE",        smove,         4, W|F,     1,  2, 1),
    CMD("SDIFF",        sdiff,        -2, R,       1, -1, 1),
    CMD("SDIFFSTORE",   sdiffstore,   -3, W|M,     1, -1, 1),
    CMD("SINTER",       sinter,       -2, R,       1, -1, 1),
    CMD("SINTERSTORE",  sinterstore,  -3, W|M,     1, -1, 1),
    /* numkeys: every argument from the first key on counts as a key */
    CMD("SINTERCARD",   sintercard,   -3, R,       2, -1, 1),
    CMD("SUNION",       sunion,       -2, R,       1, -1, 1),
    CMD("SUNIONSTORE",  sunionstore,  -3, W|M,     1, -1, 1),
    CMD("SSCAN",        sscan,        -3, R,       1,  1, 1),

    /* sorted set (t_zset.c, t_zrange.c); the numkeys commands name only
     * their destination here, as Redis' legacy key spec does */
    CMD("ZADD",         zadd,         -4, W|M|F,   1,  1, 1),
    CMD("ZINCRBY",      zincrby,       4, W|M|F,   1,  1, 1),
    CMD("ZCARD",        zcard,         2, R|F,     1,  1, 1),
    CMD("ZCOUNT",       zcount,        4, R|F,     1,  1, 1),
    CMD("ZLEXCOUNT",    zlexcount,     4, R|F,     1,  1, 1),
    CMD("ZSCORE",       zscore,        3, R|F,     1,  1, 1),
    CMD("ZMSCORE",      zmscore,      -3, R|F,     1,  1, 1),
    CMD("ZRANK",        zrank,         3, R|F,     1,  1, 1),
    CMD("ZREVRANK",     zrevrank,      3, R|F,     1,  1, 1),
    CMD("ZRANGE",       zrange,       -4, R,       1,  1, 1),
    CMD("ZREVRANGE",    zrevrange,    -4, R,       1,  1, 1),
    CMD("ZRANGEBYSCORE", zrangebyscore, -4, R,     1,  1, 1),
    CMD("ZREVRANGEBYSCORE", zrevrangebyscore, -4, R, 1, 1, 1),
    CMD("ZRANGEBYLEX",  zrangebylex,  -4, R,       1,  1, 1),
    CMD("ZREVRANGEBYLEX", zrevrangebylex, -4, R,   1,  1, 1),
    CMD("ZREM",         zrem,         -3, W|F,     1,  1, 1),
    CMD("ZREMRANGEBYRANK", zremrangebyrank, 4, W,  1,  1, 1),
    CMD("ZREMRANGEBYSCORE", zremrangebyscore, 4, W, 1, 1, 1),
    CMD("ZREMRANGEBYLEX", zremrangebylex, 4, W,    1,  1, 1),
    CMD("ZPOPMIN",      zpopmin,      -2, W|F,     1,  1, 1),
    CMD("ZPOPMAX",      zpopmax,      -2, W|F,     1,  1, 1),
    CMD("BZPOPMIN",     bzpopmin,     -3, W|B,     1, -2, 1),
    CMD("BZPOPMAX",     bzpopmax,     -3, W|B,     1, -2, 1),
    CMD("ZUNIONSTORE",  zunionstore,  -4, W|M,     1,  1, 1),
    CMD("ZINTERSTORE",  zinterstore,  -4, W|M,     1,  1, 1),
    CMD("ZDIFFSTORE",   zdiffstore,   -4, W|M,     1,  1, 1),
    CMD("ZSCAN",        zscan,        -3, R,       1,  1, 1),

    /* pub/sub (SUBSCRIBE and PSUBSCRIBE live in the doors) */
    CMD("PUBLISH",      publish,       3, W|M|F,   1,  1, 1),
    CMD("PUBSUB",       pubsub,       -2, R,       0,  0, 0),

    /* queues (t_mq.c; RPC.REPLY in rpc.c): queue and exchange names
     * sit where keys sit, for the doors' key prefixes and size limits */
    CMD("Q.DECLARE",    q_declare,    -2, W|M,     1,  1, 1),
    CMD("Q.DELETE",     q_delete,     -2, W,       1,  1, 1),
    CMD("Q.PURGE",      q_purge,       2, W,       1,  1, 1),
    CMD("Q.PUBLISH",    q_publish,    -3, W|M|F,   1,  1, 1),
    CMD("Q.GET",        q_get,        -2, W|M,     1,  1, 1),
    CMD("Q.ACK",        q_ack,        -3, W|F,     1,  1, 1),
    CMD("Q.NACK",       q_nack,       -3, W|M,     1,  1, 1),
    CMD("Q.INFO",       q_info,        2, R,       1,  1, 1),
    CMD("Q.LIST",       q_list,        1, R,       0,  0, 0),
    CMD("X.DECLARE",    x_declare,    -3, W|M,     1,  1, 1),
    CMD("X.DELETE",     x_delete,     -2, W,       1,  1, 1),
    CMD("X.BIND",       x_bind,       -4, W|M,     1,  2, 1),
    CMD("X.UNBIND",     x_unbind,     -4, W,       1,  2, 1),
    CMD("X.PUBLISH",    x_publish,    -4, W|M|F,   1,  1, 1),
    CMD("X.LIST",       x_list,        1, R,       0,  0, 0),
    CMD("RPC.REPLY",    rpc_reply,    -4, W|M,     1,  1, 1),

    /* server */
    CMD("PING",         ping,         -1, F,       0,  0, 0),
    CMD("ECHO",         echo,          2, F,       0,  0, 0),
    CMD("TIME",         time,          1, F,       0,  0, 0),
    CMD("INFO",         info,         -1, 0,       0,  0, 0),
    CMD("COMMAND",      command,      -1, 0,       0,  0, 0),
};

#undef W
#undef R
#undef M
#undef A
#undef F
#undef CMD

#define KVMQ_NCOMMANDS  (sizeof(kvmq_commands) / sizeof(kvmq_commands[0]))

static int  kvmq_commands_sorted;

static void kvmq_cmd_arity_error(kvmq_ctx_t *c, const kvmq_cmd_t *cmd);


static int
kvmq_cmd_cmp(const void *a, const void *b)
{
    return strcasecmp(((const kvmq_cmd_t *) a)->name,
                      ((const kvmq_cmd_t *) b)->name);
}


static void
kvmq_cmd_sort(void)
{
    /* the table is static and the sort idempotent, so a race between
     * threads (there are none in nginx workers) would still be benign */
    if (!kvmq_commands_sorted) {
        qsort(kvmq_commands, KVMQ_NCOMMANDS, sizeof(kvmq_cmd_t),
              kvmq_cmd_cmp);
        kvmq_commands_sorted = 1;
    }
}


const kvmq_cmd_t *
kvmq_cmd_lookup(const unsigned char *name, size_t len)
{
    size_t       lo, hi, mid, i, n;
    int          d;
    const char  *s;

    kvmq_cmd_sort();

    lo = 0;
    hi = KVMQ_NCOMMANDS;

    while (lo < hi) {
        mid = lo + (hi - lo) / 2;
        s = kvmq_commands[mid].name;
        n = strlen(s);

        d = 0;
        for (i = 0; i < len && i < n; i++) {
            d = (unsigned char) (name[i] | 0x20)
                - (unsigned char) (s[i] | 0x20);
            if (d != 0) {
                break;
            }
        }

        if (d == 0) {
            d = (len < n) ? -1 : (len > n) ? 1 : 0;
        }

        if (d == 0) {
            return &kvmq_commands[mid];
        }

        if (d < 0) {
            hi = mid;

        } else {
            lo = mid + 1;
        }
    }

    return NULL;
}


int
kvmq_cmd_arity_ok(const kvmq_cmd_t *cmd, int argc)
{
    if (cmd->arity > 0) {
        return argc == cmd->arity;
    }

    return argc >= -cmd->arity;
}


int
kvmq_cmd_is_write(const kvmq_cmd_t *cmd)
{
    return (cmd->flags & KVMQ_CMD_WRITE) != 0;
}


const char *
kvmq_cmd_name(const kvmq_cmd_t *cmd)
{
    return cmd->name;
}


unsigned
kvmq_cmd_count(void)
{
    return KVMQ_NCOMMANDS;
}


const kvmq_cmd_t *
kvmq_cmd_at(unsigned i)
{
    kvmq_cmd_sort();

    return (i < KVMQ_NCOMMANDS) ? &kvmq_commands[i] : NULL;
}


unsigned
kvmq_cmd_id(const kvmq_cmd_t *cmd)
{
    return (unsigned) (cmd - kvmq_commands);
}


int
kvmq_cmd_is_key(const kvmq_ctx_t *c, const kvmq_slice_t *key)
{
    int                 i, last;
    const kvmq_cmd_t   *cmd;

    cmd = c->cmd;

    if (cmd == NULL || cmd->first_key == 0) {
        return 0;
    }

    last = cmd->last_key < 0 ? c->argc + cmd->last_key : cmd->last_key;

    for (i = cmd->first_key; i <= last && i < c->argc; i += cmd->key_step) {
        if (c->argv[i].len == key->len
            && memcmp(c->argv[i].data, key->data, key->len) == 0)
        {
            return 1;
        }
    }

    return 0;
}


/*
 * The arity error, for the dispatcher and for commands whose argument
 * count has a shape (pairs) the table cannot say; Redis words it with the
 * command in lower case.
 */
void
kvmq_reply_arity(kvmq_ctx_t *c)
{
    kvmq_cmd_arity_error(c, c->cmd);
}


static void
kvmq_cmd_arity_error(kvmq_ctx_t *c, const kvmq_cmd_t *cmd)
{
    size_t  i;
    char    name[32];

    for (i = 0; i < sizeof(name) - 1 && cmd->name[i]; i++) {
        name[i] = (char) (cmd->name[i] | 0x20);
    }

    name[i] = '\0';

    kvmq_reply_error(c, KVMQ_ERR_BADREQ,
                     "wrong number of arguments for '%s' command", name);
}


kvmq_err_e
kvmq_exec(kvmq_ctx_t *c, int argc, const kvmq_slice_t *argv)
{
    const kvmq_cmd_t  *cmd;

    c->reply->err = KVMQ_OK;

    if (argc < 1) {
        kvmq_reply_error(c, KVMQ_ERR_BADREQ, "empty command");
        return c->reply->err;
    }

    cmd = kvmq_cmd_lookup(argv[0].data, argv[0].len);

    if (cmd == NULL) {
        kvmq_reply_error(c, KVMQ_ERR_BADREQ, "unknown command '%.*s'",
                         (int) (argv[0].len > 64 ? 64 : argv[0].len),
                         argv[0].data);
        return c->reply->err;
    }

    if (!kvmq_cmd_arity_ok(cmd, argc)) {
        kvmq_cmd_arity_error(c, cmd);
        return c->reply->err;
    }

    if (c->readonly && (cmd->flags & KVMQ_CMD_WRITE)) {
        kvmq_reply_error(c, KVMQ_ERR_DENIED,
                         "'%s' is a write command and this location is "
                         "read-only", cmd->name);
        return c->reply->err;
    }

    c->cmd = cmd;
    c->argc = argc;
    c->argv = argv;

    /* a parked blocking command retried is not a new call */
    if (c->block_id == 0) {
        kvmq_db_count_command(c->db, kvmq_cmd_id(cmd));
    }

    cmd->proc(c, argc, argv);

    c->cmd = NULL;
    c->argc = 0;
    c->argv = NULL;

    return c->reply->err;
}


int
kvmq_cmd_is_blocking(const kvmq_cmd_t *cmd)
{
    return (cmd->flags & KVMQ_CMD_BLOCKING) != 0;
}


int
kvmq_cmd_key_arg(const kvmq_cmd_t *cmd, int argc, int i)
{
    int  last;

    if (cmd->first_key == 0 || i < cmd->first_key) {
        return 0;
    }

    last = cmd->last_key < 0 ? argc + cmd->last_key : cmd->last_key;

    return i <= last && (i - cmd->first_key) % cmd->key_step == 0;
}
