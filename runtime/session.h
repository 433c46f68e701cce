/*  session — what a handler may do with the client connection it serves.

    A session is one client connection and (once connected) its target
    connection, owned by one data-plane worker. Calls queue work; the worker
    performs the I/O. Sending copies only the bytes the socket cannot take at
    once. While a destination's queue is over its credit window the worker stops
    reading the source, so a slow reader never makes a worker buffer without
    bound. All calls must come from the handler callbacks (same thread).
*/
#ifndef MK_SESSION_H
#define MK_SESSION_H

#include <stddef.h>
#include <stdint.h>

#include "handlers/handler.h"

typedef struct cipher_t cipher_t;
typedef enum { SESSION_CLIENT, SESSION_TARGET } session_side_t;

//  Bytes to the client / to the target (the target must be connected or
//  connecting: bytes sent while connecting are written once it is up).
void session_send_client (session_t *self, const void *data, size_t len);
void session_send_target (session_t *self, const void *data, size_t len);

//  Resolve host (a name goes to the resolver actor, a literal does not) and
//  connect; tries every address returned; calls handler->connected() once.
//  A previous target connection must have been closed with session_close_target.
void session_connect (session_t *self, const char *host, uint16_t port);

//  Drop the target connection (e.g. an HTTP client moves to another host).
void session_close_target (session_t *self);

//  From now on the worker moves bytes both ways without the handler. Bytes
//  already queued keep their order. An end of stream on one side is passed
//  on as a half-close to the other; the session ends when both are done.
void session_relay (session_t *self);

//  Half-close toward the client once its queue is written (FIN).
void session_shutdown_client (session_t *self);

//  End the session once everything queued to the client is written
//  (e.g. after an error reply). Nothing more is read.
void session_finish (session_t *self);

//  End the session now, dropping what is queued (protocol error, garbage).
void session_abort (session_t *self);

//  One-shot timer for handler->timeout(); ms <= 0 cancels it.
void session_set_timer (session_t *self, int ms);

//  Stop / resume reading the client (e.g. an HTTP proxy waiting for a response
//  before it parses the next request).
void session_pause_client (session_t *self, int paused);

//  From now on every byte sent to that side is encrypted and every byte read
//  from it decrypted with the cipher (the session owns it; NULL removes it).
//  Bytes queued before the call stay as they were (e.g. a hello in clear).
void session_set_cipher (session_t *self, session_side_t side, cipher_t *cipher);

//  "1.2.3.4:5678" of the client, for log lines.
const char *session_peer (session_t *self);

#endif
