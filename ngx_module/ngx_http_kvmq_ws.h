
/*
 * The WebSocket door (GET {prefix}/ws): what its three files share and
 * what the other glue (pub/sub, consumers, blocking commands) may call.
 *
 * ngx_http_kvmq_ws_frame.c holds RFC 6455 itself, with no connection in
 * it: the incremental frame header parser, the incremental UTF-8
 * validator, close code rules, the server frame header encoder and the
 * handshake's accept key.  ngx_http_kvmq_ws.c holds the connection: the
 * handshake, the event handlers that own the socket after the 101, the
 * output queue, timers and graceful shutdown.  ngx_http_kvmq_ws_msg.c
 * holds the {"id","cmd"} messages and their replies.
 *
 * For the other glue, a connection is an ngx_http_kvmq_ws_t with:
 *
 *   ws->pubsub     a pointer for the pub/sub glue's own per-connection
 *                  state (subscriptions ...); NULL at the start
 *   ws->mq, ws->on_mq_close
 *                  the same pair for the queue glue (queue_ws.c), so
 *                  that pub/sub and queues on one connection each get
 *                  their call
 *   ws->on_close   called once when the connection goes away, for
 *                  whatever reason, while ws is still valid; no frame can
 *                  be sent from it
 *
 * and these functions, none of which ever frees ws (freeing happens only
 * from the connection's own event handlers, so a caller looping over its
 * subscribers may keep using the pointer until it returns to the event
 * loop, and on_close tells it when to forget it):
 *
 *   ngx_http_kvmq_ws_send_text()   queue one text frame (a copy of the
 *                                  data); over kvmq_ws_send_buffer the
 *                                  connection is closed with 1008
 *   ngx_http_kvmq_ws_send_chain()  the same, the payload given as the
 *                                  buffers of a chain
 *   ngx_http_kvmq_ws_frame_text(), _send_frame(), _frame_release()
 *                                  the same with one frame built once and
 *                                  shared by many connections (fan-out)
 *   ngx_http_kvmq_ws_close()       close with a code and a reason after
 *                                  the frames already queued
 *   ngx_http_kvmq_ws_reply(), _reply_error()
 *                                  {"id": ID, "result"|"error": ...}
 *   ngx_http_kvmq_ws_resume()      end a parked command (see below)
 *
 * Commands run by the glue instead of the engine (SUBSCRIBE, CONSUME,
 * BLPOP when it must wait ...) are rows of the table in
 * ngx_http_kvmq_ws_msg.c (ngx_http_kvmq_ws_glue_cmds).  A handler replies
 * with ngx_http_kvmq_ws_reply*() and returns NGX_OK, or returns NGX_AGAIN
 * to park the command: the connection then runs no further message
 * (replies stay in order) until the handler's side, from a later event,
 * replies and calls ngx_http_kvmq_ws_resume(); id and cmd stay valid
 * until then.  Control frames are still handled meanwhile, so a client that
 * closes or vanishes while parked ends the connection at once, and
 * on_close is where a parked command must be cancelled.  NGX_ERROR
 * closes the connection with 1011.
 */

#ifndef _NGX_HTTP_KVMQ_WS_H_INCLUDED_
#define _NGX_HTTP_KVMQ_WS_H_INCLUDED_


#include "ngx_http_kvmq_module.h"


/* close codes of RFC 6455 section 7.4.1 and the IANA registry */
#define NGX_HTTP_KVMQ_WS_NORMAL           1000
#define NGX_HTTP_KVMQ_WS_GOING_AWAY       1001
#define NGX_HTTP_KVMQ_WS_PROTOCOL_ERROR   1002
#define NGX_HTTP_KVMQ_WS_UNSUPPORTED      1003
#define NGX_HTTP_KVMQ_WS_BAD_DATA         1007
#define NGX_HTTP_KVMQ_WS_POLICY           1008
#define NGX_HTTP_KVMQ_WS_TOO_BIG          1009
#define NGX_HTTP_KVMQ_WS_SERVER_ERROR     1011
#define NGX_HTTP_KVMQ_WS_RESTART          1012

/* opcodes */
#define NGX_HTTP_KVMQ_WS_CONT             0x0
#define NGX_HTTP_KVMQ_WS_TEXT             0x1
#define NGX_HTTP_KVMQ_WS_BINARY           0x2
#define NGX_HTTP_KVMQ_WS_CLOSE            0x8
#define NGX_HTTP_KVMQ_WS_PING             0x9
#define NGX_HTTP_KVMQ_WS_PONG             0xa

#define NGX_HTTP_KVMQ_WS_MAX_CONTROL      125
#define NGX_HTTP_KVMQ_WS_MAX_HEADER       14      /* 2 + 8 + mask 4 */
#define NGX_HTTP_KVMQ_WS_ACCEPT_LEN       28      /* base64 of a SHA-1 */


typedef struct ngx_http_kvmq_ws_s        ngx_http_kvmq_ws_t;
typedef struct ngx_http_kvmq_ws_frame_s  ngx_http_kvmq_ws_frame_t;

typedef void (*ngx_http_kvmq_ws_close_pt)(ngx_http_kvmq_ws_t *ws);

/*
 * A glue command: cmd->argv[0] is its name, already base64-decoded with
 * ?encoding=base64; id is the raw JSON text of the message's "id"
 * ("null" when absent).  See the top of this file for the return codes.
 */
typedef ngx_int_t (*ngx_http_kvmq_ws_cmd_pt)(ngx_http_kvmq_ws_t *ws,
    ngx_str_t *id, ngx_http_kvmq_argv_t *cmd);


/*
 * The state of one incoming frame header and of the message it belongs
 * to; bytes are fed as they arrive (ngx_http_kvmq_ws_frame.c).
 */
typedef struct {
    u_char                      hdr[NGX_HTTP_KVMQ_WS_MAX_HEADER];
    ngx_uint_t                  hdr_len;    /* header bytes so far */
    ngx_uint_t                  hdr_need;   /* header size, once known */

    uint64_t                    len;        /* payload of this frame */
    uint64_t                    got;        /* payload bytes consumed */
    u_char                      mask[4];
    ngx_uint_t                  opcode;
    unsigned                    fin:1;
    unsigned                    payload:1;  /* header done, in payload */

    ngx_uint_t                  msg_opcode; /* TEXT/BINARY, 0: none */
    uint64_t                    msg_len;    /* message bytes so far */
    uint64_t                    max_message;
    uint32_t                    utf8;       /* validator state */

    ngx_uint_t                  error;      /* close code on failure */
    const char                 *reason;
} ngx_http_kvmq_ws_parser_t;


struct ngx_http_kvmq_ws_s {
    /* public */
    ngx_http_request_t         *request;
    ngx_connection_t           *connection;
    void                       *pubsub;
    ngx_http_kvmq_ws_close_pt   on_close;
    void                       *mq;
    ngx_http_kvmq_ws_close_pt   on_mq_close;

    /* the rest belongs to ngx_http_kvmq_ws.c */
    ngx_http_kvmq_loc_conf_t   *conf;
    ngx_http_kvmq_ws_parser_t   parser;

    u_char                     *msg;        /* message being received */
    size_t                      msg_len;
    size_t                      msg_size;   /* allocated */
    u_char                      ctrl[NGX_HTTP_KVMQ_WS_MAX_CONTROL];

    u_char                     *stash;      /* input read but not parsed */
    size_t                      stash_len;

    ngx_chain_t                *out;        /* frames not yet written */
    ngx_chain_t               **out_last;
    size_t                      queued;     /* bytes in out */

    ngx_pool_t                 *parked;     /* pool of a parked command */
    ngx_event_t                 ping;

    unsigned                    base64:1;
    unsigned                    ping_sent:1;    /* awaiting a pong */
    unsigned                    close_sent:1;   /* close frame queued */
    unsigned                    close_received:1;
    unsigned                    failed:1;       /* input is discarded */
    unsigned                    msg_ready:1;    /* waits for resume */
    unsigned                    eof:1;
    unsigned                    shut:1;         /* SHUT_WR done */
    unsigned                    error:1;        /* close the socket now */
    unsigned                    closed:1;       /* being freed */
};


/* ngx_http_kvmq_ws.c: the connection and the API of the other glue */
ngx_int_t ngx_http_kvmq_ws_send_text(ngx_http_kvmq_ws_t *ws,
    const u_char *data, size_t len);
ngx_int_t ngx_http_kvmq_ws_send_chain(ngx_http_kvmq_ws_t *ws,
    ngx_chain_t *in);
ngx_http_kvmq_ws_frame_t *ngx_http_kvmq_ws_frame_text(const u_char *data,
    size_t len, ngx_log_t *log);
ngx_int_t ngx_http_kvmq_ws_send_frame(ngx_http_kvmq_ws_t *ws,
    ngx_http_kvmq_ws_frame_t *frame);
void ngx_http_kvmq_ws_frame_release(ngx_http_kvmq_ws_frame_t *frame);
void ngx_http_kvmq_ws_close(ngx_http_kvmq_ws_t *ws, ngx_uint_t code,
    const char *reason);
void ngx_http_kvmq_ws_resume(ngx_http_kvmq_ws_t *ws);

/* ngx_http_kvmq_ws_msg.c: {"id","cmd"} messages and their replies */
ngx_int_t ngx_http_kvmq_ws_message(ngx_http_kvmq_ws_t *ws, u_char *data,
    size_t len);
ngx_int_t ngx_http_kvmq_ws_reply(ngx_http_kvmq_ws_t *ws, ngx_str_t *id,
    ngx_http_kvmq_val_t *result);
ngx_int_t ngx_http_kvmq_ws_reply_error(ngx_http_kvmq_ws_t *ws,
    ngx_str_t *id, kvmq_err_e err, const char *fmt, ...);


/* ngx_http_kvmq_ws_frame.c: RFC 6455 */
void ngx_http_kvmq_ws_parser_init(ngx_http_kvmq_ws_parser_t *p,
    uint64_t max_message);
ngx_int_t ngx_http_kvmq_ws_parse_header(ngx_http_kvmq_ws_parser_t *p,
    u_char **pos, u_char *last);
void ngx_http_kvmq_ws_parse_done(ngx_http_kvmq_ws_parser_t *p);
void ngx_http_kvmq_ws_unmask(ngx_http_kvmq_ws_parser_t *p, u_char *dst,
    const u_char *src, size_t len);
ngx_int_t ngx_http_kvmq_ws_utf8(uint32_t *state, const u_char *p,
    size_t len);
ngx_int_t ngx_http_kvmq_ws_close_payload(ngx_http_kvmq_ws_parser_t *p,
    const u_char *data, size_t len, ngx_uint_t *code);
size_t ngx_http_kvmq_ws_header_size(size_t len);
u_char *ngx_http_kvmq_ws_write_header(u_char *p, ngx_uint_t opcode,
    size_t len);
ngx_int_t ngx_http_kvmq_ws_accept_key(ngx_str_t *key, u_char *accept);


#endif /* _NGX_HTTP_KVMQ_WS_H_INCLUDED_ */
