/*
 * Prototypes of every command procedure; the table that names them with
 * their arity, flags and key positions is in command.c.
 */

#ifndef KVMQ_COMMANDS_H
#define KVMQ_COMMANDS_H

#include "engine.h"


#define KVMQ_CMD_PROTO(name)                                                  \
    void kvmq_cmd_##name(kvmq_ctx_t *c, int argc, const kvmq_slice_t *argv)

/* keys (keys.c) */
KVMQ_CMD_PROTO(del);
KVMQ_CMD_PROTO(unlink);
KVMQ_CMD_PROTO(exists);
KVMQ_CMD_PROTO(type);
KVMQ_CMD_PROTO(expire);
KVMQ_CMD_PROTO(pexpire);
KVMQ_CMD_PROTO(expireat);
KVMQ_CMD_PROTO(pexpireat);
KVMQ_CMD_PROTO(expiretime);
KVMQ_CMD_PROTO(pexpiretime);
KVMQ_CMD_PROTO(ttl);
KVMQ_CMD_PROTO(pttl);
KVMQ_CMD_PROTO(persist);
KVMQ_CMD_PROTO(rename);
KVMQ_CMD_PROTO(renamenx);
KVMQ_CMD_PROTO(keys);
KVMQ_CMD_PROTO(scan);
KVMQ_CMD_PROTO(randomkey);
KVMQ_CMD_PROTO(dbsize);
KVMQ_CMD_PROTO(flushall);
KVMQ_CMD_PROTO(touch);

/* strings (t_string.c) */
KVMQ_CMD_PROTO(set);
KVMQ_CMD_PROTO(setnx);
KVMQ_CMD_PROTO(setex);
KVMQ_CMD_PROTO(psetex);
KVMQ_CMD_PROTO(get);
KVMQ_CMD_PROTO(getset);
KVMQ_CMD_PROTO(getdel);
KVMQ_CMD_PROTO(getex);
KVMQ_CMD_PROTO(mset);
KVMQ_CMD_PROTO(msetnx);
KVMQ_CMD_PROTO(mget);
KVMQ_CMD_PROTO(append);
KVMQ_CMD_PROTO(strlen);
KVMQ_CMD_PROTO(getrange);
KVMQ_CMD_PROTO(setrange);
KVMQ_CMD_PROTO(incr);
KVMQ_CMD_PROTO(incrby);
KVMQ_CMD_PROTO(incrbyfloat);
KVMQ_CMD_PROTO(decr);
KVMQ_CMD_PROTO(decrby);

/* bits (bitops.c) */
KVMQ_CMD_PROTO(setbit);
KVMQ_CMD_PROTO(getbit);
KVMQ_CMD_PROTO(bitcount);
KVMQ_CMD_PROTO(bitpos);
KVMQ_CMD_PROTO(bitop);

/* memcached-style (t_string.c) */
KVMQ_CMD_PROTO(add);
KVMQ_CMD_PROTO(replace);
KVMQ_CMD_PROTO(prepend);
KVMQ_CMD_PROTO(gets);
KVMQ_CMD_PROTO(cas);

/* hash (t_hash.c) */
KVMQ_CMD_PROTO(hset);
KVMQ_CMD_PROTO(hsetnx);
KVMQ_CMD_PROTO(hmset);
KVMQ_CMD_PROTO(hget);
KVMQ_CMD_PROTO(hmget);
KVMQ_CMD_PROTO(hgetall);
KVMQ_CMD_PROTO(hlen);
KVMQ_CMD_PROTO(hkeys);
KVMQ_CMD_PROTO(hvals);
KVMQ_CMD_PROTO(hexists);
KVMQ_CMD_PROTO(hdel);
KVMQ_CMD_PROTO(hincrby);
KVMQ_CMD_PROTO(hincrbyfloat);
KVMQ_CMD_PROTO(hstrlen);
KVMQ_CMD_PROTO(hscan);
KVMQ_CMD_PROTO(hrandfield);

/* list (t_list.c) */
KVMQ_CMD_PROTO(lpush);
KVMQ_CMD_PROTO(rpush);
KVMQ_CMD_PROTO(lpushx);
KVMQ_CMD_PROTO(rpushx);
KVMQ_CMD_PROTO(llen);
KVMQ_CMD_PROTO(lindex);
KVMQ_CMD_PROTO(lset);
KVMQ_CMD_PROTO(linsert);
KVMQ_CMD_PROTO(lrem);
KVMQ_CMD_PROTO(lpop);
KVMQ_CMD_PROTO(rpop);
KVMQ_CMD_PROTO(lrange);
KVMQ_CMD_PROTO(ltrim);
KVMQ_CMD_PROTO(lpos);
KVMQ_CMD_PROTO(rpoplpush);
KVMQ_CMD_PROTO(lmove);

/* blocking pops (t_block.c) */
KVMQ_CMD_PROTO(blpop);
KVMQ_CMD_PROTO(brpop);
KVMQ_CMD_PROTO(brpoplpush);
KVMQ_CMD_PROTO(blmove);
KVMQ_CMD_PROTO(bzpopmin);
KVMQ_CMD_PROTO(bzpopmax);

/*
 * The engine half of the blocking pops (see t_list.c): pop or move if
 * the source key exists (replying as LPOP/RPOP with count < 0 for one
 * item, with with_key as BLPOP's [key, item]), else reply nothing and
 * return 0 so the door can park the request.
 */
int kvmq_list_try_pop(kvmq_ctx_t *c, const kvmq_slice_t *key, int where,
    long long count, int with_key);
int kvmq_list_try_move(kvmq_ctx_t *c, const kvmq_slice_t *src,
    const kvmq_slice_t *dst, int from, int to);

/* set (t_set.c) */
KVMQ_CMD_PROTO(sadd);
KVMQ_CMD_PROTO(srem);
KVMQ_CMD_PROTO(scard);
KVMQ_CMD_PROTO(sismember);
KVMQ_CMD_PROTO(smismember);
KVMQ_CMD_PROTO(smembers);
KVMQ_CMD_PROTO(srandmember);
KVMQ_CMD_PROTO(spop);
KVMQ_CMD_PROTO(smove);
KVMQ_CMD_PROTO(sdiff);
KVMQ_CMD_PROTO(sdiffstore);
KVMQ_CMD_PROTO(sinter);
KVMQ_CMD_PROTO(sinterstore);
KVMQ_CMD_PROTO(sintercard);
KVMQ_CMD_PROTO(sunion);
KVMQ_CMD_PROTO(sunionstore);
KVMQ_CMD_PROTO(sscan);

/* sorted set (t_zset.c, t_zrange.c) */
KVMQ_CMD_PROTO(zadd);
KVMQ_CMD_PROTO(zincrby);
KVMQ_CMD_PROTO(zcard);
KVMQ_CMD_PROTO(zcount);
KVMQ_CMD_PROTO(zlexcount);
KVMQ_CMD_PROTO(zscore);
KVMQ_CMD_PROTO(zmscore);
KVMQ_CMD_PROTO(zrank);
KVMQ_CMD_PROTO(zrevrank);
KVMQ_CMD_PROTO(zrange);
KVMQ_CMD_PROTO(zrevrange);
KVMQ_CMD_PROTO(zrangebyscore);
KVMQ_CMD_PROTO(zrevrangebyscore);
KVMQ_CMD_PROTO(zrangebylex);
KVMQ_CMD_PROTO(zrevrangebylex);
KVMQ_CMD_PROTO(zrem);
KVMQ_CMD_PROTO(zremrangebyrank);
KVMQ_CMD_PROTO(zremrangebyscore);
KVMQ_CMD_PROTO(zremrangebylex);
KVMQ_CMD_PROTO(zpopmin);
KVMQ_CMD_PROTO(zpopmax);
KVMQ_CMD_PROTO(zunionstore);
KVMQ_CMD_PROTO(zinterstore);
KVMQ_CMD_PROTO(zdiffstore);
KVMQ_CMD_PROTO(zscan);

/* BZPOPMIN/BZPOPMAX's engine half: as kvmq_list_try_pop (max: the high
 * end; with_key: [key, [[member, score] ...]]) */
int kvmq_zset_try_pop(kvmq_ctx_t *c, const kvmq_slice_t *key, int max,
    long long count, int with_key);

/* pub/sub (pubsub.c) */
KVMQ_CMD_PROTO(publish);
KVMQ_CMD_PROTO(pubsub);

/* queues and exchanges (t_mq.c), RPC replies (rpc.c) */
KVMQ_CMD_PROTO(q_declare);
KVMQ_CMD_PROTO(q_delete);
KVMQ_CMD_PROTO(q_purge);
KVMQ_CMD_PROTO(q_publish);
KVMQ_CMD_PROTO(q_get);
KVMQ_CMD_PROTO(q_ack);
KVMQ_CMD_PROTO(q_nack);
KVMQ_CMD_PROTO(q_info);
KVMQ_CMD_PROTO(q_list);
KVMQ_CMD_PROTO(x_declare);
KVMQ_CMD_PROTO(x_delete);
KVMQ_CMD_PROTO(x_bind);
KVMQ_CMD_PROTO(x_unbind);
KVMQ_CMD_PROTO(x_publish);
KVMQ_CMD_PROTO(x_list);
KVMQ_CMD_PROTO(rpc_reply);

/* server (server.c) */
KVMQ_CMD_PROTO(ping);
KVMQ_CMD_PROTO(echo);
KVMQ_CMD_PROTO(time);
KVMQ_CMD_PROTO(info);
KVMQ_CMD_PROTO(command);

#endif /* KVMQ_COMMANDS_H */
