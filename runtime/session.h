/*  session — the calls the wormhole's own handlers (actors/: tunnel ends,
    the multiplexer, the baton) make beyond the handler API (runtime/handler.h).

    A session is one client connection and (once connected) its target
    connection, owned by one data-plane worker. Calls queue work; the worker
    performs the I/O. All calls must come from the handler callbacks (same
    thread). Streams (a side that is one stream of a multiplexed tunnel) are in
    runtime/stream.h, the handover mechanics in runtime/handover.h.
*/
#ifndef MK_SESSION_H
#define MK_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "runtime/handler.h"

typedef struct cipher_t cipher_t;
typedef struct inband_rx_t inband_rx_t;
typedef struct mimic_model_t mimic_model_t;
typedef enum { SESSION_CLIENT, SESSION_TARGET } session_side_t;

//  Several pieces as one: with a cipher they are encrypted into shared blocks,
//  so a frame header and its payload leave in one segment.
void session_sendv (session_t *self, session_side_t side, const struct iovec *iov, int count);

//  Hold writes to a side until the end of the worker's loop turn, so that the
//  small frames several sessions send through one tunnel in one turn leave in
//  one write (and one segment) instead of one each.
void session_cork (session_t *self, session_side_t side);

//  Bytes queued toward a side and not yet written.
size_t session_queued (session_t *self, session_side_t side);

//  The handler has answered the client in advance with what the target will
//  say first (at most 8 bytes): drop those bytes when they come, and end the
//  session if the target says anything else. Relaying only.
void session_expect_target (session_t *self, const void *data, size_t len);

//  Half-close toward the client once its queue is written (FIN).
void session_shutdown_client (session_t *self);

//  From now on every byte sent to that side is encrypted and every byte read
//  from it decrypted with the cipher (the session owns it; NULL removes it).
//  Bytes queued before the call stay as they were (e.g. a hello in clear).
void session_set_cipher (session_t *self, session_side_t side, cipher_t *cipher);

//  Stop / resume reading one side (session_pause_client is the client's).
void session_pause (session_t *self, session_side_t side, int paused);

//  A session that carries others (an aggregated tunnel): a drain at shutdown
//  waits for the user connections, not for it.
void session_set_background (session_t *self);

//  A trace record in this session's name (runtime/trace.h); free while
//  nobody subscribes.
void session_trace (session_t *self, const char *from, const char *to, const char *kind,
                    size_t bytes);

//  Settle another session's sockets after acting on it from elsewhere.
void session_settle (session_t *self);

//  --- Shaping: the mimic node (nodes/mimic.h) on a side's send path, after
//  the cipher. It learns from every chunk queued toward the side and, unless
//  its model is identity/identity (which passes bytes at once), decides when
//  and in which sizes the queued bytes are written; it schedules the queue
//  in place, without a copy. It stays with the side across handovers.

//  Start the side's mimic with model, or give it a new one (it keeps what
//  it learned). NULL removes it.
void session_set_mimic (session_t *self, session_side_t side, const mimic_model_t *model);

//  Pass bytes through at once for ms (e.g. 5 s after a NEW_SOCKET).
void session_mimic_suspend (session_t *self, session_side_t side, int ms);

//  Padding: when a model send wants more bytes than are queued, pad is
//  called with how many are missing, and may answer with session_pad
//  (bytes that go out with that send, encrypted, unlearned). NULL: none.
typedef void (session_pad_fn) (void *ctx, size_t missing);
void session_set_padding (session_t *self, session_side_t side, session_pad_fn *pad, void *ctx);
void session_pad (session_t *self, session_side_t side, const void *data, size_t len);

//  The address the socket of a side is connected to (-1 if none).
int session_socket_peer (session_t *self, session_side_t side, struct sockaddr_storage *addr,
                         socklen_t *len);

//  The client socket, taken out of the session, which ends (-1 if none).
int session_take_client_fd (session_t *self);

//  Where the session lives: its worker's index and its id there.
int session_worker (session_t *self);
uint64_t session_id (session_t *self);

#endif
