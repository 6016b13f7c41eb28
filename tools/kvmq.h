
/*
 * The kvmq client's shared state: kvmq.c (cmd, pub, sub, psub) and
 * kvmq_queue.c (publish, consume, rpc, serve) run one connection each on
 * one lws loop, with the exit status in kvmq.rc.
 */

#ifndef KVMQ_H
#define KVMQ_H


#include "wsclient.h"
#include "kvmq_print.h"


#define KVMQ_EXIT_OK       0
#define KVMQ_EXIT_ERROR    1
#define KVMQ_EXIT_USAGE    2
#define KVMQ_EXIT_CONNECT  3
#define KVMQ_EXIT_TIMEOUT  4

#define KVMQ_DEFAULT_URL   "http://127.0.0.1:8080/kvmq/"


typedef struct {
    char                    *name;
    unsigned long long       last;     /* last seq printed, 0 none */
    long long                reset_id; /* SUBSCRIBE SINCE 0 in flight */
    unsigned                 known:1;
} kvmq_chan_t;


typedef struct {
    kvmq_url_t               url;
    struct lws_context      *ctx;
    kvmq_ws_t               *ws;
    lws_sorted_usec_list_t   timer;
    long long                timeout_ms;
    int                      json;
    int                      done;
    int                      rc;

    /* cmd */
    char                   **msgs;
    size_t                  *lens;
    char                   **replies;
    long long                n;
    long long                printed;

    /* sub, psub */
    kvmq_chan_t             *chans;
    int                      nchans;
    int                      pattern;
    int                      connected;
    int                      lost;
    long long                count;
    long long                seen;
    long long                next_id;
    long long                delay_ms;
    unsigned long long       since;
    int                      has_since;

    /* rpc, consume, serve */
    int                      raw;      /* print a string result as is */
    int                      ack;
    long long                prefetch;
    long long                acks;     /* ACKs not answered yet */
    const char              *queue;
    char                   **serve;    /* the command to run */
} kvmq_client_t;


extern kvmq_client_t  kvmq;


int kvmq_cmd_run(int argc, char **argv);
int kvmq_run(void);
void kvmq_arm_timer(void);
void kvmq_conn_error(kvmq_ws_t *ws, const char *why);
long long kvmq_number(const char *s, const char *what);

int kvmq_publish(int argc, char **argv);
int kvmq_rpc(int argc, char **argv);
int kvmq_consume(int argc, char **argv, int serve);
const char *kvmq_queue_help(const char *topic);


#endif /* KVMQ_H */
