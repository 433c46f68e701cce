/*  far_reply — the far end's answers that were given in advance (far_reply.h),
    read byte by byte by an explicit state machine, so that any split of
    them gives the same result.
*/
#include "actors/far_reply.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HTTP_HEAD_MAX 16384     //  a longer head is not an answer we read
#define HTTP_STATUS_LEN 12      //  "HTTP/1.1 200"

typedef enum {
    R_NEXT,                     //  between parts: start the next one
    R_METHOD_VER, R_METHOD_CODE,
    R_S5_VER, R_S5_REP, R_S5_RSV, R_S5_ATYP, R_S5_DOMLEN, R_S5_REST,
    R_S4,
    R_HTTP_STATUS, R_HTTP_HEAD,
    R_DONE, R_REFUSED
} r_state_t;

struct _far_reply_t {
    unsigned parts;             //  still to read, FAR_REPLY_* bits
    r_state_t state;
    size_t count;               //  bytes of the current part so far
    size_t rest;                //  R_S5_REST: address and port bytes left
    char status[HTTP_STATUS_LEN];
    int crlf;                   //  R_HTTP_HEAD: how much of CR LF CR LF matched
    char error[48];
};

far_reply_t *
far_reply_new (unsigned parts)
{
    far_reply_t *self = calloc (1, sizeof *self);
    if (self)
        self->parts = parts;
    return self;
}

void
far_reply_destroy (far_reply_t **self_p)
{
    free (*self_p);
    *self_p = NULL;
}

static r_state_t
s_refuse (far_reply_t *self, const char *what, int code)
{
    snprintf (self->error, sizeof self->error, "%s %d", what, code);
    return R_REFUSED;
}

//  The first state of the next part, or R_DONE.
static r_state_t
s_next_part (far_reply_t *self)
{
    static const struct { unsigned part; r_state_t first; } order[] = {
        { FAR_REPLY_METHOD, R_METHOD_VER }, { FAR_REPLY_SOCKS5, R_S5_VER },
        { FAR_REPLY_SOCKS4, R_S4 }, { FAR_REPLY_HTTP, R_HTTP_STATUS }
    };
    self->count = 0;
    for (size_t i = 0; i < sizeof order / sizeof order[0]; i++)
        if (self->parts & order[i].part) {
            self->parts &= ~order[i].part;
            return order[i].first;
        }
    return R_DONE;
}

static r_state_t
s_http_byte (far_reply_t *self, uint8_t c)
{
    if (++self->count > HTTP_HEAD_MAX)
        return s_refuse (self, "HTTP head longer than", HTTP_HEAD_MAX);
    if (self->state == R_HTTP_STATUS) {
        self->status[self->count - 1] = (char) c;
        if (self->count < HTTP_STATUS_LEN)
            return R_HTTP_STATUS;
        if (memcmp (self->status, "HTTP/1.", 7) != 0 || self->status[8] != ' ')
            return s_refuse (self, "not an HTTP answer, byte", (uint8_t) self->status[0]);
        if (self->status[9] != '2') {
            int code = 0;
            for (int i = 9; i < 12; i++)
                code = code * 10 + (self->status[i] >= '0' && self->status[i] <= '9'
                                    ? self->status[i] - '0' : 0);
            return s_refuse (self, "HTTP status", code);
        }
        return R_HTTP_HEAD;
    }
    static const char crlf2[] = "\r\n\r\n";
    if (c == (uint8_t) crlf2[self->crlf])
        self->crlf++;
    else
        self->crlf = c == '\r' ? 1 : 0;
    return self->crlf == 4 ? R_NEXT : R_HTTP_HEAD;
}

//  One byte of the answers in the current state: the next state.
static r_state_t
s_byte (far_reply_t *self, uint8_t c)
{
    switch (self->state) {
        case R_METHOD_VER:
            return c == 5 ? R_METHOD_CODE : s_refuse (self, "SOCKS5 method selection version", c);
        case R_METHOD_CODE:
            return c == 0 ? R_NEXT : s_refuse (self, "SOCKS5 method", c);
        case R_S5_VER:
            return c == 5 ? R_S5_REP : s_refuse (self, "SOCKS5 reply version", c);
        case R_S5_REP:
            return c == 0 ? R_S5_RSV : s_refuse (self, "SOCKS5 reply", c);
        case R_S5_RSV:
            return R_S5_ATYP;
        case R_S5_ATYP:
            if (c == 1 || c == 4) {
                self->rest = (c == 1 ? 4 : 16) + 2;
                return R_S5_REST;
            }
            return c == 3 ? R_S5_DOMLEN : s_refuse (self, "SOCKS5 reply address type", c);
        case R_S5_DOMLEN:
            self->rest = (size_t) c + 2;
            return R_S5_REST;
        case R_S5_REST:
            return --self->rest ? R_S5_REST : R_NEXT;
        case R_S4:
            if (self->count == 0 && c != 0)
                return s_refuse (self, "SOCKS4 reply version", c);
            if (self->count == 1 && c != 0x5a)
                return s_refuse (self, "SOCKS4 reply", c);
            return ++self->count < 8 ? R_S4 : R_NEXT;
        case R_HTTP_STATUS:
        case R_HTTP_HEAD:
            return s_http_byte (self, c);
        default:
            return self->state;
    }
}

far_reply_status_t
far_reply_feed (far_reply_t *self, const uint8_t *data, size_t len, size_t *consumed)
{
    size_t i = 0;
    if (self->state == R_NEXT)
        self->state = s_next_part (self);
    while (i < len && self->state != R_DONE && self->state != R_REFUSED) {
        self->state = s_byte (self, data[i++]);
        if (self->state == R_NEXT)
            self->state = s_next_part (self);
    }
    *consumed = self->state == R_REFUSED ? 0 : i;
    return self->state == R_DONE ? FAR_REPLY_DONE
         : self->state == R_REFUSED ? FAR_REPLY_REFUSED : FAR_REPLY_MORE;
}

const char *
far_reply_error (far_reply_t *self)
{
    return self->state == R_REFUSED ? self->error : NULL;
}
