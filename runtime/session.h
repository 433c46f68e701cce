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

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "handlers/handler.h"

typedef struct cipher_t cipher_t;
typedef struct inband_rx_t inband_rx_t;
typedef struct mimic_model_t mimic_model_t;
typedef enum { SESSION_CLIENT, SESSION_TARGET } session_side_t;

//  Bytes to the client / to the target (the target must be connected or
//  connecting: bytes sent while connecting are written once it is up).
void session_send_client (session_t *self, const void *data, size_t len);
void session_send_target (session_t *self, const void *data, size_t len);

//  Several pieces as one: with a cipher they are encrypted into shared blocks,
//  so a frame header and its payload leave in one segment.
void session_sendv (session_t *self, session_side_t side, const struct iovec *iov, int count);

//  Hold writes to a side until the end of the worker's loop turn, so that the
//  small frames several sessions send through one tunnel in one turn leave in
//  one write (and one segment) instead of one each.
void session_cork (session_t *self, session_side_t side);

//  Bytes queued toward a side and not yet written.
size_t session_queued (session_t *self, session_side_t side);

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

//  The handler has answered the client in advance with what the target will
//  say first (at most 8 bytes): drop those bytes when they come, and end the
//  session if the target says anything else. Relaying only.
void session_expect_target (session_t *self, const void *data, size_t len);

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

//  --- Streams: a side that is one stream of a multiplexed tunnel, not a socket.
//
//  The multiplexer (e.g. an aggregated wormhole's tunnel) implements these;
//  the session calls them for its stream side.
typedef struct {
    //  Bytes for the stream (framed and queued on the tunnel).
    void (*send) (void *mux, uint16_t id, const uint8_t *data, size_t len);
    //  The session is done with the stream: forget it, and tell the peer
    //  (CLOSE_SOCKET) unless notify is false (the peer closed it first).
    void (*detach) (void *mux, uint16_t id, bool notify);
    //  Bytes waiting toward the peer on this stream's behalf: over
    //  WORKER_WINDOW and the session stops reading the stream's other side.
    size_t (*queued) (void *mux, uint16_t id);
    //  The session took len bytes of the stream (the credit to give back).
    void (*consumed) (void *mux, uint16_t id, size_t len);
    //  Our side is done sending (FIN) but still reads: true if the peer is
    //  told so; false if it cannot be (then the stream is closed instead).
    bool (*half_close) (void *mux, uint16_t id);
} stream_ops_t;

//  The most a stream side is handed in one send by the relay (the largest
//  payload of one multiplexer frame).
#define SESSION_STREAM_CHUNK 65535

//  Make a side a stream of mux (the side must have no socket).
void session_attach_stream (session_t *self, session_side_t side, const stream_ops_t *ops,
                            void *mux, uint16_t id);

//  From the multiplexer: bytes of the stream, its end (err 0: the peer closed
//  it; else the tunnel was lost), and the multiplexer going away.
void session_stream_data (session_t *self, const uint8_t *data, size_t len);
void session_stream_eof (session_t *self, int err);
//  The peer half-closed the stream: no more bytes come, but it still reads.
void session_stream_fin (session_t *self);

//  A new session in the same worker whose client side is a stream of mux
//  (the far end of an aggregated tunnel starting a handler). NULL on failure.
session_t *session_spawn_stream (session_t *self, const handler_conf_t *conf,
                                  const stream_ops_t *ops, void *mux, uint16_t id);

//  Stream bytes that arrived but wait for the session to take them.
size_t session_stream_held (session_t *self);

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

//  --- Handover: a side (a tunnel with a cipher) moves to a fresh socket
//  (PROTOCOL.md section 5). The side keeps its cipher and stream state; the
//  handler drives the steps and hears what happens through its handover()
//  callback (handlers/handler.h). One handover at a time per session.
//
//  Dialing end: session_handover_connect, tap, (HO_R2L seen) send the
//  command, session_handover_switch_reads (true).
//  Accepting end: session_handover_adopt, tap, send HO_R2L,
//  session_handover_switch_writes, (HO_COMPLETE_L2R seen)
//  session_handover_switch_reads (false).

//  A new socket for side: connect to addr and send first (the ID, in clear)
//  once connected; its bytes are kept, undecrypted, until it takes over.
//  HANDOVER_CONNECTED tells how the connect went. -1 with errno if it cannot
//  start (or a handover socket exists already).
int session_handover_connect (session_t *self, session_side_t side, const struct sockaddr *addr,
                              socklen_t addrlen, const void *first, size_t first_len);

//  The same for a socket that was accepted (fd, and the bytes already read
//  from it after the ID). Returns -1 if the session cannot take it (the
//  caller still owns fd).
int session_handover_adopt (session_t *self, session_side_t side, int fd, const void *data,
                            size_t len);

//  Scan the side's decrypted stream for in-band commands with rx (set to
//  tapping here; the caller owns it); each command goes to the handler as
//  HANDOVER_COMMAND after the bytes before it. NULL stops: bytes the scanner
//  held back are delivered as data.
void session_handover_tap (session_t *self, inband_rx_t *rx);

//  From now on the side's bytes are written to the new socket; the old one
//  writes what it has queued and is still read (and tapped).
void session_handover_switch_writes (session_t *self);

//  Tapping stops; the old socket is no longer read for the stream (it closes
//  once its queue is written, and with wait_eof once its peer has closed it:
//  HANDOVER_RETIRED); what the new socket brought meanwhile is decrypted and
//  delivered, and from now on it is the side's socket. Switches writes too
//  if they were not yet.
void session_handover_switch_reads (session_t *self, bool wait_eof);

//  Before the new socket takes over: bytes that came on it (HANDOVER_HELD
//  says when), taken out (up to max; returns how many), and bytes to send on
//  it in clear (e.g. an HTTP proxy's CONNECT, then the ID).
size_t session_handover_take_held (session_t *self, uint8_t *buf, size_t max);
void session_handover_send (session_t *self, const void *data, size_t len);

//  Close the handover socket (new or old) at once; tapping stops.
void session_handover_drop (session_t *self);

//  True if the side's socket is connected and neither direction has ended
//  (a handover only makes sense then).
bool session_side_open (session_t *self, session_side_t side);

//  True while a second socket exists.
bool session_handover_busy (session_t *self);

//  One-shot timer for HANDOVER_TIMER; ms < 0 cancels it.
void session_set_handover_timer (session_t *self, int ms);

//  Deliver a handover event to the handler from outside (the worker: a
//  trigger, an accepted socket), then settle the session.
void session_handover_event (session_t *self, const handover_event_t *event);

//  Bytes written so far on the old socket of a handover after the write
//  switch (the accepting end's backlog, ahead of its HO_R2L).
uint64_t session_handover_progress (session_t *self);

//  The address the socket of a side is connected to (-1 if none).
int session_socket_peer (session_t *self, session_side_t side, struct sockaddr_storage *addr,
                         socklen_t *len);

//  The client socket, taken out of the session, which ends (-1 if none).
int session_take_client_fd (session_t *self);

//  Where the session lives: its worker's index and its id there.
int session_worker (session_t *self);
uint64_t session_id (session_t *self);

//  "1.2.3.4:5678" of the client, for log lines.
const char *session_peer (session_t *self);

#endif
