
/*
 * A small WebSocket client over libwebsockets for the kvmq tools: URL
 * parsing, one lws context, connections with an outgoing queue and
 * reassembled incoming messages.  Everything runs on the caller's lws
 * event loop (kvmq_ws_run); callbacks are plain function pointers.
 */

#ifndef KVMQ_WSCLIENT_H
#define KVMQ_WSCLIENT_H


#include <stddef.h>
#include <libwebsockets.h>


typedef struct kvmq_ws_s      kvmq_ws_t;
typedef struct kvmq_ws_buf_s  kvmq_ws_buf_t;


typedef struct {
    char      host[256];
    char      path[1024];       /* the API prefix, ends with '/' */
    int       port;
    int       tls;
} kvmq_url_t;


typedef struct {
    void    (*on_open)(kvmq_ws_t *ws);
    /* data is NUL-terminated and may be modified by the callee */
    void    (*on_message)(kvmq_ws_t *ws, char *data, size_t len);
    /* why: a reason for an error, NULL for a clean close */
    void    (*on_close)(kvmq_ws_t *ws, const char *why);
} kvmq_ws_handler_t;


struct kvmq_ws_s {
    struct lws                *wsi;
    const kvmq_ws_handler_t   *handler;
    void                      *data;
    kvmq_ws_buf_t             *head;
    kvmq_ws_buf_t             *tail;
    size_t                     queued;
    char                      *in;
    size_t                     in_len;
    size_t                     in_size;
    int                        close_code;
    int                        http_status;
    unsigned                   opened:1;
    unsigned                   closing:1;
    unsigned                   refused:1;
    char                       error[256];
};


int kvmq_url_parse(const char *url, kvmq_url_t *u);
struct lws_context *kvmq_ws_context(int tls);
kvmq_ws_t *kvmq_ws_connect(struct lws_context *ctx, const kvmq_url_t *u,
    const char *path, const kvmq_ws_handler_t *h, void *data);
int kvmq_ws_send(kvmq_ws_t *ws, const char *buf, size_t len);
void kvmq_ws_close(kvmq_ws_t *ws);


#endif /* KVMQ_WSCLIENT_H */
