/*  local_answer — the local end's answers to a user's SOCKS or HTTP CONNECT
    handshake (local_answer.h). The user's bytes are held until a decision:
    a CONNECT answered here, or bytes that pass as they are.
*/
#include "actors/local_answer.h"

#include <stdlib.h>
#include <string.h>

#include "actors/far_reply.h"
#include "handlers/http_codec.h"
#include "handlers/socks_codec.h"
#include "runtime/base/log.h"

//  A handshake longer than this is not read here: it passes as it is.
#define HOLD_MAX 16384

typedef enum { A_SOCKS, A_HTTP } a_kind_t;

typedef enum {
    A_READING,                  //  holding the user's bytes
    A_DECIDED,                  //  GO said; local_answer_forward next
    A_WAITING,                  //  v1: the greeting went alone, the far end's 05 00 is awaited
    A_SENT                      //  everything held went out
} a_state_t;

struct _local_answer_t {
    const wormhole_conf_t *conf;
    a_kind_t kind;
    a_state_t state;
    socks_codec_t *codec;       //  A_SOCKS
    uint8_t *held;              //  the user's bytes so far
    size_t held_len, held_cap;
    size_t greeting_len;        //  SOCKS5: the greeting's bytes at the start of held, once answered
    size_t connect_end;         //  a CONNECT answered here: its end in held
    unsigned parts;             //  the far end's answers to drop (far_reply.h bits)
    far_reply_t *reply;
};

bool
local_answer_applies (const wormhole_conf_t *conf)
{
    const config_handler_t *far = &conf->handler;
    if (far->users.count > 0)
        return false;           //  credentials: the far end's business, round trip and all
    if (far->kind == CONFIG_SOCKS || far->kind == CONFIG_SOCKS4 || far->kind == CONFIG_SOCKS5)
        return true;
    return far->kind == CONFIG_HTTP && conf->optimistic;
}

local_answer_t *
local_answer_new (const wormhole_conf_t *conf)
{
    local_answer_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->conf = conf;
    config_handler_type_t far = conf->handler.kind;
    self->kind = far == CONFIG_HTTP ? A_HTTP : A_SOCKS;
    if (self->kind == A_SOCKS
    && !(self->codec = socks_codec_new (far != CONFIG_SOCKS5, far != CONFIG_SOCKS4))) {
        free (self);
        return NULL;
    }
    if (self->codec && far != CONFIG_SOCKS4)
        socks_codec_allow_udp (self->codec);    //  UDP ASSOCIATE: actors/tunnel_udp.c
    return self;
}

void
local_answer_destroy (local_answer_t **self_p)
{
    local_answer_t *self = *self_p;
    if (self) {
        socks_codec_destroy (&self->codec);
        far_reply_destroy (&self->reply);
        free (self->held);
        free (self);
    }
    *self_p = NULL;
}

static int
s_hold (local_answer_t *self, const uint8_t *data, size_t len)
{
    if (self->held_len + len > self->held_cap) {
        size_t cap = self->held_cap ? self->held_cap : 512;
        while (cap < self->held_len + len)
            cap *= 2;
        uint8_t *held = realloc (self->held, cap);
        if (!held)
            return -1;
        self->held = held;
        self->held_cap = cap;
    }
    memcpy (self->held + self->held_len, data, len);
    self->held_len += len;
    return 0;
}

//  SOCKS: the codec decides (any split of greeting and request), and the
//  held bytes say which command it was.
static local_answer_step_t
s_socks (local_answer_t *self, session_t *session, const uint8_t *data, size_t len)
{
    uint8_t out[SOCKS_FEED_OUT_MAX];
    size_t consumed, out_len = 0;
    socks_status_t status = socks_codec_feed (self->codec, data, len, &consumed, out, sizeof out,
                                              &out_len);
    //  Its method selection (05 00, perhaps before a failure reply) is answered here.
    if (out_len >= 2 && out[0] == 5 && out[1] == 0 && self->greeting_len == 0
    &&  self->held_len >= 2) {
        session_send_client (session, out, 2);
        self->greeting_len = 2u + self->held[1];
        self->parts |= FAR_REPLY_METHOD;
    }
    if (status == SOCKS_NEED_MORE)
        return self->held_len > HOLD_MAX ? LOCAL_ANSWER_GO : LOCAL_ANSWER_MORE;
    //  A failure passes as it is: the far end gives its own answer.
    if (status != SOCKS_REQUEST_READY || !self->conf->optimistic)
        return LOCAL_ANSWER_GO;
    const socks_request_t *request = socks_codec_request (self->codec);
    size_t cmd_at = request->version == 5 ? self->greeting_len + 1 : 1;
    if (self->held_len <= cmd_at || self->held[cmd_at] != SOCKS_CMD_CONNECT)
        return LOCAL_ANSWER_GO;
    uint8_t reply[SOCKS_REPLY_MAX];
    size_t reply_len = socks_codec_reply (self->codec, SOCKS_REP_SUCCEEDED, NULL, reply, sizeof reply);
    if (reply_len == 0)
        return LOCAL_ANSWER_GO;
    session_send_client (session, reply, reply_len);
    self->parts |= request->version == 5 ? FAR_REPLY_SOCKS5 : FAR_REPLY_SOCKS4;
    self->connect_end = self->held_len - (len - consumed);
    return LOCAL_ANSWER_GO;
}

//  HTTP: only a CONNECT is answered; anything else passes at its first byte
//  that differs.
static local_answer_step_t
s_http (local_answer_t *self, session_t *session, size_t before)
{
    static const char method[] = "CONNECT ";
    size_t n = self->held_len < sizeof method - 1 ? self->held_len : sizeof method - 1;
    if (memcmp (self->held, method, n) != 0)
        return LOCAL_ANSWER_GO;
    size_t from = before > 3 ? before - 3 : 0;
    for (size_t i = from; i + 4 <= self->held_len; i++)
        if (memcmp (self->held + i, "\r\n\r\n", 4) == 0) {
            session_send_client (session, HTTP_CONNECT_ESTABLISHED, strlen (HTTP_CONNECT_ESTABLISHED));
            self->parts |= FAR_REPLY_HTTP;
            self->connect_end = i + 4;
            return LOCAL_ANSWER_GO;
        }
    return self->held_len > HOLD_MAX ? LOCAL_ANSWER_GO : LOCAL_ANSWER_MORE;
}

local_answer_step_t
local_answer_client (local_answer_t *self, session_t *session, const uint8_t *data, size_t len)
{
    if (self->state != A_READING)
        return LOCAL_ANSWER_GO;
    size_t before = self->held_len;
    if (s_hold (self, data, len) != 0) {
        session_abort (session);
        return LOCAL_ANSWER_MORE;
    }
    local_answer_step_t step = self->kind == A_SOCKS ? s_socks (self, session, data, len)
                                                     : s_http (self, session, before);
    if (step == LOCAL_ANSWER_GO)
        self->state = A_DECIDED;
    return step;
}

//  session_answer_fn: the far end's answers, dropped.
static int
s_check (void *ctx, const uint8_t *data, size_t len, size_t *taken)
{
    local_answer_t *self = ctx;
    far_reply_status_t status = far_reply_feed (self->reply, data, len, taken);
    if (status == FAR_REPLY_REFUSED) {
        log_info ("wormhole %s: the far end refused (%s) what was answered here; resetting the user",
                  self->conf->name, far_reply_error (self->reply));
        return -1;
    }
    return status == FAR_REPLY_DONE ? 1 : 0;
}

//  The held bytes from `from` on to the far end; its answers checked.
static void
s_send_rest (local_answer_t *self, session_t *session, size_t from)
{
    if (self->held_len > from)
        session_send_target (session, self->held + from, self->held_len - from);
    free (self->held);
    self->held = NULL;
    self->held_len = self->held_cap = 0;
    self->state = A_SENT;
    if (self->parts && (self->reply = far_reply_new (self->parts)))
        session_check_answer (session, s_check, self);
    else
    if (self->parts)
        session_abort (session);
}

bool
local_answer_forward (local_answer_t *self, session_t *session)
{
    if (self->state == A_READING)
        self->state = A_DECIDED;        //  cut short (the user's EOF): what came passes
    if (self->state != A_DECIDED)
        return self->state == A_SENT;
    if (self->conf->protocol == PROTOCOL_V1 && self->greeting_len > 0
    &&  self->held_len > self->greeting_len) {
        session_send_target (session, self->held, self->greeting_len);
        self->parts &= ~FAR_REPLY_METHOD;
        self->reply = far_reply_new (FAR_REPLY_METHOD);
        if (!self->reply) {
            session_abort (session);
            return false;
        }
        self->state = A_WAITING;
        return false;
    }
    s_send_rest (self, session, 0);
    return true;
}

const socks_request_t *
local_answer_udp (local_answer_t *self, const uint8_t **greeting, size_t *greeting_len)
{
    const socks_request_t *request = self->codec ? socks_codec_request (self->codec) : NULL;
    if (self->state != A_DECIDED || !request || request->command != SOCKS_CMD_UDP_ASSOCIATE
    ||  self->greeting_len == 0)
        return NULL;
    *greeting = self->held;
    *greeting_len = self->greeting_len;
    return request;
}

bool
local_answer_connected (local_answer_t *self)
{
    return self->state == A_DECIDED && self->connect_end == self->held_len
           && (self->parts & (FAR_REPLY_SOCKS5 | FAR_REPLY_SOCKS4 | FAR_REPLY_HTTP));
}

int
local_answer_join (local_answer_t *self, const uint8_t *data, size_t len)
{
    return self->state == A_DECIDED ? s_hold (self, data, len) : -1;
}

bool
local_answer_waiting (local_answer_t *self)
{
    return self->state == A_WAITING;
}

int
local_answer_target (local_answer_t *self, session_t *session, const uint8_t *data, size_t len)
{
    if (self->state != A_WAITING)
        return -1;
    size_t taken;
    far_reply_status_t status = far_reply_feed (self->reply, data, len, &taken);
    if (status == FAR_REPLY_MORE)
        return 0;
    if (status == FAR_REPLY_REFUSED) {
        log_info ("wormhole %s: the far end refused the SOCKS5 greeting (%s); resetting the user",
                  self->conf->name, far_reply_error (self->reply));
        return -1;
    }
    if (taken < len) {
        log_info ("wormhole %s: the far end spoke before the request; resetting the user",
                  self->conf->name);
        return -1;
    }
    far_reply_destroy (&self->reply);
    s_send_rest (self, session, self->greeting_len);
    return 1;
}
