
/*
 * The tools' WebSocket client: see wsclient.h.
 *
 * One lws protocol serves every connection; a connection's kvmq_ws_t
 * rides in the wsi's opaque user data.  Outgoing messages queue as
 * buffers with LWS_PRE bytes of headroom and go out one per WRITEABLE
 * callback, as lws wants; incoming fragments are appended until the final
 * fragment of a message, which is handed over NUL-terminated.  The
 * kvmq_ws_t is freed right after its on_close callback.
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wsclient.h"


struct kvmq_ws_buf_s {
    kvmq_ws_buf_t  *next;
    size_t          len;
    unsigned char   data[];     /* LWS_PRE + len */
};


static int kvmq_ws_callback(struct lws *wsi, enum lws_callback_reasons reason,
    void *user, void *in, size_t len);
static const char *kvmq_http_reason(int status);
static int kvmq_ws_append(kvmq_ws_t *ws, const void *in, size_t len);
static void kvmq_ws_finish(kvmq_ws_t *ws, const char *why);


static struct lws_protocols  kvmq_ws_protocols[] = {
    { "kvmq", kvmq_ws_callback, 0, 65536, 0, NULL, 0 },
    { NULL, NULL, 0, 0, 0, NULL, 0 }
};

/* set by a failure inside lws_client_connect_via_info() */
static int  kvmq_ws_connecting;
static char kvmq_ws_connect_error[256];


int
kvmq_url_parse(const char *url, kvmq_url_t *u)
{
    size_t       n;
    const char  *p, *host, *colon, *slash;

    memset(u, 0, sizeof(kvmq_url_t));

    if (strncmp(url, "http://", 7) == 0 || strncmp(url, "ws://", 5) == 0) {
        p = strchr(url, '/') + 2;
        u->port = 80;

    } else if (strncmp(url, "https://", 8) == 0
               || strncmp(url, "wss://", 6) == 0)
    {
        p = strchr(url, '/') + 2;
        u->port = 443;
        u->tls = 1;

    } else {
        return -1;
    }

    host = p;
    slash = strchr(host, '/');
    if (slash == NULL) {
        slash = host + strlen(host);
    }

    colon = memchr(host, ':', slash - host);

    n = (colon ? colon : slash) - host;
    if (n == 0 || n >= sizeof(u->host)) {
        return -1;
    }

    memcpy(u->host, host, n);

    if (colon) {
        u->port = atoi(colon + 1);
        if (u->port <= 0 || u->port > 65535) {
            return -1;
        }
    }

    n = strlen(slash);
    if (n + 2 >= sizeof(u->path)) {
        return -1;
    }

    if (n == 0) {
        strcpy(u->path, "/");

    } else {
        memcpy(u->path, slash, n + 1);
        if (u->path[n - 1] != '/') {
            u->path[n] = '/';
            u->path[n + 1] = '\0';
        }
    }

    return 0;
}


struct lws_context *
kvmq_ws_context(int tls)
{
    struct lws_context_creation_info  info;

    lws_set_log_level(0, NULL);

    memset(&info, 0, sizeof(info));
    info.port = CONTEXT_PORT_NO_LISTEN;
    info.protocols = kvmq_ws_protocols;
    info.gid = -1;
    info.uid = -1;
    info.options = tls ? LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT : 0;

    return lws_create_context(&info);
}


kvmq_ws_t *
kvmq_ws_connect(struct lws_context *ctx, const kvmq_url_t *u,
    const char *path, const kvmq_ws_handler_t *h, void *data)
{
    char                           full[1100];
    kvmq_ws_t                     *ws;
    struct lws                    *wsi;
    struct lws_client_connect_info  ci;

    ws = calloc(1, sizeof(kvmq_ws_t));
    if (ws == NULL) {
        return NULL;
    }

    ws->handler = h;
    ws->data = data;

    snprintf(full, sizeof(full), "%s%s", u->path, path);

    memset(&ci, 0, sizeof(ci));
    ci.context = ctx;
    ci.address = u->host;
    ci.port = u->port;
    ci.ssl_connection = u->tls ? LCCSCF_USE_SSL : 0;
    ci.path = full;
    ci.host = u->host;
    ci.origin = u->host;
    ci.ietf_version_or_minus_one = -1;
    ci.opaque_user_data = ws;
    ci.pwsi = &ws->wsi;

    kvmq_ws_connecting = 1;
    kvmq_ws_connect_error[0] = '\0';

    wsi = lws_client_connect_via_info(&ci);

    kvmq_ws_connecting = 0;

    if (wsi == NULL) {
        snprintf(ws->error, sizeof(ws->error), "%s",
                 kvmq_ws_connect_error[0] ? kvmq_ws_connect_error
                                          : "cannot connect");
        kvmq_ws_finish(ws, ws->error);
        return NULL;
    }

    return ws;
}


int
kvmq_ws_send(kvmq_ws_t *ws, const char *buf, size_t len)
{
    kvmq_ws_buf_t  *b;

    if (ws->closing) {
        return -1;
    }

    b = malloc(sizeof(kvmq_ws_buf_t) + LWS_PRE + len);
    if (b == NULL) {
        return -1;
    }

    b->next = NULL;
    b->len = len;
    memcpy(b->data + LWS_PRE, buf, len);

    if (ws->tail) {
        ws->tail->next = b;

    } else {
        ws->head = b;
    }

    ws->tail = b;
    ws->queued += len;

    if (ws->opened && ws->wsi) {
        lws_callback_on_writable(ws->wsi);
    }

    return 0;
}


void
kvmq_ws_close(kvmq_ws_t *ws)
{
    ws->closing = 1;

    if (ws->wsi) {
        lws_callback_on_writable(ws->wsi);
    }
}


static int
kvmq_ws_callback(struct lws *wsi, enum lws_callback_reasons reason,
    void *user, void *in, size_t len)
{
    int             n;
    char            why[256];
    kvmq_ws_t      *ws;
    kvmq_ws_buf_t  *b;

    (void) user;

    ws = lws_get_opaque_user_data(wsi);
    if (ws == NULL) {
        return 0;
    }

    switch (reason) {

    case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
        n = lws_http_client_http_response(wsi);

        if (n > 0 && n != 101) {
            ws->http_status = n;
            snprintf(why, sizeof(why), "HTTP error %d %s", n,
                     kvmq_http_reason(n));

        } else {
            snprintf(why, sizeof(why), "%s",
                     in ? (const char *) in : "connection failed");
            if (strstr(why, "connect") || strstr(why, "refused")) {
                ws->refused = 1;
            }
        }

        if (kvmq_ws_connecting) {
            snprintf(kvmq_ws_connect_error, sizeof(kvmq_ws_connect_error),
                     "%s", why);
            lws_set_opaque_user_data(wsi, NULL);
            ws->wsi = NULL;
            return 0;
        }

        ws->wsi = NULL;
        lws_set_opaque_user_data(wsi, NULL);
        kvmq_ws_finish(ws, why);
        return 0;

    case LWS_CALLBACK_CLIENT_ESTABLISHED:
        ws->opened = 1;

        if (ws->handler->on_open) {
            ws->handler->on_open(ws);
        }

        if (ws->head || ws->closing) {
            lws_callback_on_writable(wsi);
        }

        return 0;

    case LWS_CALLBACK_CLIENT_RECEIVE:
        if (lws_is_first_fragment(wsi)) {
            ws->in_len = 0;
        }

        if (kvmq_ws_append(ws, in, len) != 0) {
            return -1;
        }

        if (lws_is_final_fragment(wsi)
            && lws_remaining_packet_payload(wsi) == 0)
        {
            ws->in[ws->in_len] = '\0';
            ws->handler->on_message(ws, ws->in, ws->in_len);
            ws->in_len = 0;
        }

        return 0;

    case LWS_CALLBACK_CLIENT_WRITEABLE:
        b = ws->head;

        if (b == NULL) {
            if (ws->closing) {
                lws_close_reason(wsi, LWS_CLOSE_STATUS_NORMAL, NULL, 0);
                return -1;
            }

            return 0;
        }

        n = lws_write(wsi, b->data + LWS_PRE, b->len, LWS_WRITE_TEXT);
        if (n < (int) b->len) {
            return -1;
        }

        ws->head = b->next;
        if (ws->head == NULL) {
            ws->tail = NULL;
        }

        ws->queued -= b->len;
        free(b);

        if (ws->head || ws->closing) {
            lws_callback_on_writable(wsi);
        }

        return 0;

    case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
        if (len >= 2) {
            ws->close_code = ((unsigned char *) in)[0] << 8
                             | ((unsigned char *) in)[1];
        }

        return 0;

    case LWS_CALLBACK_CLIENT_CLOSED:
        ws->wsi = NULL;
        lws_set_opaque_user_data(wsi, NULL);

        if (ws->closing) {
            kvmq_ws_finish(ws, NULL);

        } else {
            if (ws->close_code) {
                snprintf(why, sizeof(why), "server closed the connection "
                         "(code %d)", ws->close_code);

            } else {
                snprintf(why, sizeof(why), "server closed the connection");
            }

            kvmq_ws_finish(ws, why);
        }

        return 0;

    default:
        return 0;
    }
}


static const char *
kvmq_http_reason(int status)
{
    switch (status) {
    case 200: return "OK (not a WebSocket endpoint)";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 426: return "Upgrade Required";
    case 429: return "Too Many Requests";
    case 500: return "Internal Server Error";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    default:  return "";
    }
}


static int
kvmq_ws_append(kvmq_ws_t *ws, const void *in, size_t len)
{
    size_t   size;
    char    *p;

    if (ws->in_len + len + 1 > ws->in_size) {
        size = ws->in_size ? ws->in_size : 4096;
        while (size < ws->in_len + len + 1) {
            size *= 2;
        }

        p = realloc(ws->in, size);
        if (p == NULL) {
            return -1;
        }

        ws->in = p;
        ws->in_size = size;
    }

    memcpy(ws->in + ws->in_len, in, len);
    ws->in_len += len;

    return 0;
}


static void
kvmq_ws_finish(kvmq_ws_t *ws, const char *why)
{
    kvmq_ws_buf_t  *b;

    if (why && ws->error != why) {
        snprintf(ws->error, sizeof(ws->error), "%s", why);
    }

    if (ws->handler->on_close) {
        ws->handler->on_close(ws, why);
    }

    while (ws->head) {
        b = ws->head;
        ws->head = b->next;
        free(b);
    }

    free(ws->in);
    free(ws);
}
