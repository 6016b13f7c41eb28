
/*
 * JSON for the kvmq tools: a command as {"id": N, "cmd": [...]}, and
 * replies printed the way redis-cli prints them.
 */

#ifndef KVMQ_PRINT_H
#define KVMQ_PRINT_H


#include <stdio.h>
#include <yajl/yajl_tree.h>


const char *kvmq_json_str(yajl_val v);
char *kvmq_cmd_json(long long id, int argc, char **argv, size_t *len);
void kvmq_print_reply(FILE *out, yajl_val v);
void kvmq_print_error(FILE *out, yajl_val err);
void kvmq_print_json(FILE *out, yajl_val v);
void kvmq_print_raw(FILE *out, const char *s);
int kvmq_split_line(char *line, char ***argvp);


#endif /* KVMQ_PRINT_H */
