
/*
 * RFC 6455 without a connection: what a server needs to read client
 * frames and write its own, kept apart from the event handling in
 * ngx_http_kvmq_ws.c so that the protocol rules are in one place.
 *
 * Client frames are parsed incrementally, as bytes arrive: the header is
 * collected in the parser (at most 14 bytes), and every rule that can be
 * checked on the first two bytes is checked there, before the rest of
 * the frame is even sent, so a bad frame fails the connection at once
 * (Autobahn's "fail fast"):
 *
 *   RSV1-3 set (no extension is ever negotiated)           1002
 *   an opcode that RFC 6455 reserves (3-7, 0xB-0xF)        1002
 *   a control frame with FIN clear, or over 125 bytes      1002
 *   MASK clear (clients must mask)                         1002
 *   a continuation with no message started, or a new
 *   text/binary frame inside a fragmented message          1002
 *   a 64-bit length with its top bit set                   1002
 *   a message growing past kvmq_ws_max_message            1009
 *
 * The length is checked against the message limit when the header is
 * complete, before any payload is buffered.  Non-minimal length
 * encodings (a 16-bit length under 126) are accepted: the RFC binds the
 * sender, and refusing them helps nobody.
 *
 * Text is validated as UTF-8 incrementally, across frames and across
 * reads, by a small state machine that remembers how many continuation
 * bytes are due and the range the next one must fall in (which is what
 * excludes overlong forms, surrogates and code points past U+10FFFF).
 * The first bad byte fails the message, whatever follows.
 */


#include <ngx_sha1.h>

#include "ngx_http_kvmq_ws.h"


#define NGX_HTTP_KVMQ_WS_GUID  "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


static ngx_int_t ngx_http_kvmq_ws_fail(ngx_http_kvmq_ws_parser_t *p,
    ngx_uint_t code, const char *reason);
static ngx_int_t ngx_http_kvmq_ws_first_bytes(ngx_http_kvmq_ws_parser_t *p);
static ngx_int_t ngx_http_kvmq_ws_close_code_valid(ngx_uint_t code);


void
ngx_http_kvmq_ws_parser_init(ngx_http_kvmq_ws_parser_t *p,
    uint64_t max_message)
{
    ngx_memzero(p, sizeof(ngx_http_kvmq_ws_parser_t));

    p->max_message = max_message;
}


static ngx_int_t
ngx_http_kvmq_ws_fail(ngx_http_kvmq_ws_parser_t *p, ngx_uint_t code,
    const char *reason)
{
    p->error = code;
    p->reason = reason;

    return NGX_ERROR;
}


/*
 * Feed bytes from *pos up to last into the header of the next frame.
 * NGX_AGAIN: all consumed, the header is not complete.  NGX_OK: the
 * header is complete (*pos is at the payload) and valid.  NGX_ERROR: the
 * frame breaks a rule; p->error and p->reason say how to close.
 */

ngx_int_t
ngx_http_kvmq_ws_parse_header(ngx_http_kvmq_ws_parser_t *p, u_char **pos,
    u_char *last)
{
    u_char      *h;
    size_t       n;
    uint64_t     len;
    ngx_uint_t   i;

    while (*pos < last) {

        if (p->hdr_len < 2) {
            p->hdr[p->hdr_len++] = *(*pos)++;

            if (p->hdr_len == 2 && ngx_http_kvmq_ws_first_bytes(p) != NGX_OK)
            {
                return NGX_ERROR;
            }

            continue;
        }

        n = ngx_min((size_t) (last - *pos), p->hdr_need - p->hdr_len);

        ngx_memcpy(p->hdr + p->hdr_len, *pos, n);
        p->hdr_len += n;
        *pos += n;

        if (p->hdr_len == p->hdr_need) {
            break;
        }
    }

    if (p->hdr_len < 2 || p->hdr_len < p->hdr_need) {
        return NGX_AGAIN;
    }

    h = p->hdr;
    len = h[1] & 0x7f;

    if (len == 126) {
        len = (uint64_t) h[2] << 8 | h[3];
        h += 4;

    } else if (len == 127) {
        if (h[2] & 0x80) {
            return ngx_http_kvmq_ws_fail(p, NGX_HTTP_KVMQ_WS_PROTOCOL_ERROR,
                                         "invalid frame length");
        }

        len = 0;

        for (i = 2; i < 10; i++) {
            len = len << 8 | h[i];
        }

        h += 10;

    } else {
        h += 2;
    }

    ngx_memcpy(p->mask, h, 4);

    p->len = len;
    p->got = 0;
    p->payload = 1;

    if (p->opcode & 0x8) {
        return NGX_OK;
    }

    if (p->opcode != NGX_HTTP_KVMQ_WS_CONT) {
        p->msg_opcode = p->opcode;
        p->msg_len = 0;
        p->utf8 = 0;
    }

    if (len > p->max_message || p->msg_len > p->max_message - len) {
        return ngx_http_kvmq_ws_fail(p, NGX_HTTP_KVMQ_WS_TOO_BIG,
                                     "message too big");
    }

    p->msg_len += len;

    return NGX_OK;
}


/* the rules that the first two bytes of a frame decide */

static ngx_int_t
ngx_http_kvmq_ws_first_bytes(ngx_http_kvmq_ws_parser_t *p)
{
    ngx_uint_t  b0, b1, len;

    b0 = p->hdr[0];
    b1 = p->hdr[1];

    p->fin = (b0 & 0x80) ? 1 : 0;
    p->opcode = b0 & 0x0f;
    len = b1 & 0x7f;

    if (b0 & 0x70) {
        return ngx_http_kvmq_ws_fail(p, NGX_HTTP_KVMQ_WS_PROTOCOL_ERROR,
                                     "reserved bits set");
    }

    switch (p->opcode) {

    case NGX_HTTP_KVMQ_WS_CONT:
        if (p->msg_opcode == 0) {
            return ngx_http_kvmq_ws_fail(p, NGX_HTTP_KVMQ_WS_PROTOCOL_ERROR,
                                         "continuation frame without "
                                         "a message");
        }

        break;

    case NGX_HTTP_KVMQ_WS_TEXT:
    case NGX_HTTP_KVMQ_WS_BINARY:
        if (p->msg_opcode != 0) {
            return ngx_http_kvmq_ws_fail(p, NGX_HTTP_KVMQ_WS_PROTOCOL_ERROR,
                                         "new message inside a "
                                         "fragmented one");
        }

        break;

    case NGX_HTTP_KVMQ_WS_CLOSE:
    case NGX_HTTP_KVMQ_WS_PING:
    case NGX_HTTP_KVMQ_WS_PONG:
        if (!p->fin) {
            return ngx_http_kvmq_ws_fail(p, NGX_HTTP_KVMQ_WS_PROTOCOL_ERROR,
                                         "fragmented control frame");
        }

        if (len > NGX_HTTP_KVMQ_WS_MAX_CONTROL) {
            return ngx_http_kvmq_ws_fail(p, NGX_HTTP_KVMQ_WS_PROTOCOL_ERROR,
                                         "control frame over 125 bytes");
        }

        break;

    default:
        return ngx_http_kvmq_ws_fail(p, NGX_HTTP_KVMQ_WS_PROTOCOL_ERROR,
                                     "reserved opcode");
    }

    if (!(b1 & 0x80)) {
        return ngx_http_kvmq_ws_fail(p, NGX_HTTP_KVMQ_WS_PROTOCOL_ERROR,
                                     "unmasked client frame");
    }

    p->hdr_need = 2 + 4 + (len == 126 ? 2 : len == 127 ? 8 : 0);

    return NGX_OK;
}


/* the frame's payload has been consumed: ready for the next header */

void
ngx_http_kvmq_ws_parse_done(ngx_http_kvmq_ws_parser_t *p)
{
    p->hdr_len = 0;
    p->hdr_need = 0;
    p->payload = 0;

    if (!(p->opcode & 0x8) && p->fin) {
        p->msg_opcode = 0;
        p->msg_len = 0;
        p->utf8 = 0;
    }
}


/* unmask len payload bytes into dst (which may be src) and count them */

void
ngx_http_kvmq_ws_unmask(ngx_http_kvmq_ws_parser_t *p, u_char *dst,
    const u_char *src, size_t len)
{
    size_t    i, k;
    uint64_t  m, w;
    u_char    key[8];

    k = (size_t) (p->got & 3);

    for (i = 0; i < 8; i++) {
        key[i] = p->mask[(k + i) & 3];
    }

    ngx_memcpy(&m, key, 8);

    for (i = 0; i + 8 <= len; i += 8) {
        ngx_memcpy(&w, src + i, 8);
        w ^= m;
        ngx_memcpy(dst + i, &w, 8);
    }

    for ( /* void */ ; i < len; i++) {
        dst[i] = src[i] ^ key[i & 7];
    }

    p->got += len;
}


/*
 * Incremental UTF-8 validation (RFC 3629).  The state is 0 between
 * characters, else the number of continuation bytes still due in bits
 * 0-7 and the range the next one must fall in, in bits 8-15 (lowest)
 * and 16-23 (highest).  NGX_ERROR on the first byte that cannot be part
 * of valid UTF-8; a message is complete only with the state back at 0.
 */

ngx_int_t
ngx_http_kvmq_ws_utf8(uint32_t *state, const u_char *p, size_t len)
{
    uint32_t       need, lo, hi, c;
    uint64_t       w;
    const u_char  *end;

    end = p + len;

    need = *state & 0xff;
    lo = (*state >> 8) & 0xff;
    hi = (*state >> 16) & 0xff;

    while (p < end) {

        if (need == 0) {

            /* ASCII runs, eight bytes at a time */
            while (end - p >= 8) {
                ngx_memcpy(&w, p, 8);

                if (w & 0x8080808080808080ULL) {
                    break;
                }

                p += 8;
            }

            if (p == end) {
                break;
            }

            c = *p++;

            if (c < 0x80) {
                continue;
            }

            lo = 0x80;
            hi = 0xbf;

            if (c < 0xc2) {
                return NGX_ERROR;       /* continuation or overlong */

            } else if (c < 0xe0) {
                need = 1;

            } else if (c < 0xf0) {
                need = 2;

                if (c == 0xe0) {
                    lo = 0xa0;          /* overlong */

                } else if (c == 0xed) {
                    hi = 0x9f;          /* surrogates */
                }

            } else if (c < 0xf5) {
                need = 3;

                if (c == 0xf0) {
                    lo = 0x90;          /* overlong */

                } else if (c == 0xf4) {
                    hi = 0x8f;          /* past U+10FFFF */
                }

            } else {
                return NGX_ERROR;
            }

            continue;
        }

        c = *p++;

        if (c < lo || c > hi) {
            return NGX_ERROR;
        }

        need--;
        lo = 0x80;
        hi = 0xbf;
    }

    *state = need ? (need | lo << 8 | hi << 16) : 0;

    return NGX_OK;
}


static ngx_int_t
ngx_http_kvmq_ws_close_code_valid(ngx_uint_t code)
{
    /*
     * What a peer may send (RFC 6455 7.4): the codes the RFC defines
     * except those that must never be on the wire (1004 reserved, 1005
     * no code, 1006 abnormal, 1015 TLS), the three registered since
     * (1012 service restart, 1013 try again later, 1014 bad gateway:
     * a client echoes the 1012 we send on reload), and the ranges for
     * libraries (3000-3999) and applications (4000-4999).  Anything
     * else is refused, as in Autobahn's case 7.9.
     */

    return (code >= 1000 && code <= 1003)
           || (code >= 1007 && code <= 1014)
           || (code >= 3000 && code <= 4999);
}


/*
 * Check a close frame's payload: empty, or a valid code and a UTF-8
 * reason.  *code is the code, 0 when there is none.
 */

ngx_int_t
ngx_http_kvmq_ws_close_payload(ngx_http_kvmq_ws_parser_t *p,
    const u_char *data, size_t len, ngx_uint_t *code)
{
    uint32_t  state;

    *code = 0;

    if (len == 0) {
        return NGX_OK;
    }

    if (len == 1) {
        return ngx_http_kvmq_ws_fail(p, NGX_HTTP_KVMQ_WS_PROTOCOL_ERROR,
                                     "close frame of 1 byte");
    }

    *code = (ngx_uint_t) data[0] << 8 | data[1];

    if (!ngx_http_kvmq_ws_close_code_valid(*code)) {
        return ngx_http_kvmq_ws_fail(p, NGX_HTTP_KVMQ_WS_PROTOCOL_ERROR,
                                     "invalid close code");
    }

    state = 0;

    if (ngx_http_kvmq_ws_utf8(&state, data + 2, len - 2) != NGX_OK
        || state != 0)
    {
        return ngx_http_kvmq_ws_fail(p, NGX_HTTP_KVMQ_WS_BAD_DATA,
                                     "close reason is not UTF-8");
    }

    return NGX_OK;
}


/* the header of an unmasked, unfragmented server frame */

size_t
ngx_http_kvmq_ws_header_size(size_t len)
{
    return (len < 126) ? 2 : (len <= 0xffff) ? 4 : 10;
}


u_char *
ngx_http_kvmq_ws_write_header(u_char *p, ngx_uint_t opcode, size_t len)
{
    ngx_uint_t  i;
    uint64_t    n;

    *p++ = (u_char) (0x80 | opcode);

    if (len < 126) {
        *p++ = (u_char) len;
        return p;
    }

    if (len <= 0xffff) {
        *p++ = 126;
        *p++ = (u_char) (len >> 8);
        *p++ = (u_char) len;
        return p;
    }

    *p++ = 127;
    n = len;

    for (i = 0; i < 8; i++) {
        p[7 - i] = (u_char) n;
        n >>= 8;
    }

    return p + 8;
}


/*
 * Check a Sec-WebSocket-Key (the base64 of 16 bytes) and compute its
 * Sec-WebSocket-Accept into accept (28 bytes).  NGX_DECLINED for a key
 * that is not one.
 */

ngx_int_t
ngx_http_kvmq_ws_accept_key(ngx_str_t *key, u_char *accept)
{
    u_char      raw[18], digest[20];
    ngx_str_t   src, dst;
    ngx_sha1_t  sha1;

    if (key->len != 24 || key->data[22] != '=' || key->data[23] != '=') {
        return NGX_DECLINED;
    }

    dst.data = raw;

    if (ngx_decode_base64(&dst, key) != NGX_OK || dst.len != 16) {
        return NGX_DECLINED;
    }

    ngx_sha1_init(&sha1);
    ngx_sha1_update(&sha1, key->data, key->len);
    ngx_sha1_update(&sha1, NGX_HTTP_KVMQ_WS_GUID,
                    sizeof(NGX_HTTP_KVMQ_WS_GUID) - 1);
    ngx_sha1_final(digest, &sha1);

    src.data = digest;
    src.len = sizeof(digest);
    dst.data = accept;

    ngx_encode_base64(&dst, &src);

    return NGX_OK;
}
