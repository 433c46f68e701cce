/*  local_answer — the local end's own answers to a user's SOCKS or HTTP
    CONNECT handshake, so that the user does not wait a round trip through
    the tunnel for what the far end's handler will say anyway.

    SOCKS5 "no authentication" is answered at once (05 00). Then, with
    `optimistic` (the default), the CONNECT itself: SOCKS5 REP 0 with BND
    0.0.0.0:0, SOCKS4 0x5A, HTTP "200 Connection established", before the
    far end has been asked; the request leaves with what follows it, and
    the far end's real answer is checked and dropped (actors/far_reply.c).
    If the far end refuses, the user's connection is reset. Nothing is
    answered here when the far handler asks for credentials (users:), nor
    for what is not a CONNECT (plain HTTP proxy requests, SOCKS5 BIND or
    UDP ASSOCIATE): those bytes go through as they are.

    Protocol v1 may face the original Erlang remote end, whose socks handler
    reads the greeting and the request only in separate messages: there the
    greeting goes alone, and the request only after the far end's 05 00.
*/
#ifndef MK_LOCAL_ANSWER_H
#define MK_LOCAL_ANSWER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/config.h"
#include "handlers/socks_codec.h"
#include "runtime/session.h"

typedef struct _local_answer_t local_answer_t;

typedef enum {
    LOCAL_ANSWER_MORE,          //  the bytes are held: feed more
    LOCAL_ANSWER_GO             //  decided: open the tunnel's stream, then local_answer_forward
} local_answer_step_t;

//  Whether a wormhole's local end answers anything itself.
bool
    local_answer_applies (const wormhole_conf_t *conf);

//  For one user's connection of a wormhole where it applies; NULL if out of memory.
local_answer_t *
    local_answer_new (const wormhole_conf_t *conf);

void
    local_answer_destroy (local_answer_t **self_p);

//  The user's bytes before anything went to the far end: answered (to the
//  session's client) as far as can be done here, and held.
local_answer_step_t
    local_answer_client (local_answer_t *self, session_t *session, const uint8_t *data, size_t len);

//  After GO: whether it was a CONNECT answered here with nothing of the
//  user's behind it yet (the user may now send its first bytes, which
//  local_answer_join can put behind the request).
bool
    local_answer_connected (local_answer_t *self);

//  After GO, before local_answer_forward: the user's bytes, held behind the
//  request so that both leave in one write. 0, or -1 (out of memory, or
//  not decided).
int
    local_answer_join (local_answer_t *self, const uint8_t *data, size_t len);

//  After GO: if the request was a SOCKS5 UDP ASSOCIATE whose greeting was
//  answered here, the request and the greeting's bytes (held, valid until
//  destroy), for actors/tunnel_udp.c; NULL otherwise (nothing was sent).
const socks_request_t *
    local_answer_udp (local_answer_t *self, const uint8_t **greeting, size_t *greeting_len);

//  After GO (or, before it, when the user's bytes end), once the stream is
//  open: the held bytes to the session's target, and the check of the far
//  end's answers in place. True if relaying may start; false if the far
//  end's 05 00 is awaited first (v1): pass its bytes to local_answer_target,
//  with the client paused meanwhile.
bool
    local_answer_forward (local_answer_t *self, session_t *session);

//  Whether the far end's 05 00 is awaited (local_answer_forward said false).
bool
    local_answer_waiting (local_answer_t *self);

//  The far end's bytes while waiting: 0 wait on, 1 the rest went out
//  (relay now), -1 the far end refused (reset the user).
int
    local_answer_target (local_answer_t *self, session_t *session, const uint8_t *data, size_t len);

#endif
