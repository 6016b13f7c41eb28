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

/* list (t_list.c) */

/* set (t_set.c) */

/* sorted set (t_zset.c) */

/* server (server.c) */
KVMQ_CMD_PROTO(ping);
KVMQ_CMD_PROTO(echo);
KVMQ_CMD_PROTO(time);
KVMQ_CMD_PROTO(info);
KVMQ_CMD_PROTO(command);

#endif /* KVMQ_COMMANDS_H */
