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

#include <czmq.h>

#include "nodes/node.h"
#include "runtime/bufpool.h"
#include "runtime/handler.h"
#include "runtime/metrics.h"

typedef enum { SESSION_CLIENT, SESSION_TARGET } session_side_t;

//  Several pieces as one: they go through the side's nodes together, so a
//  frame header and its payload leave in one segment.
void session_sendv (session_t *self, session_side_t side, const struct iovec *iov, int count);

//  A whole block of the worker's pool for a side (taken): through its nodes
//  or straight on, parked in its queue rather than copied.
void session_send_block (session_t *self, session_side_t side, buf_t *buf);
//  A block back to the worker's pool.
void session_put_block (session_t *self, buf_t *buf);

//  A session started ahead of its client (handler_conf_t.warm) that has no
//  client yet: its handler may end it (e.g. when it has waited too long).
bool session_warm (session_t *self);

//  Hold writes to a side until the end of the worker's loop turn, so that the
//  small frames several sessions send through one tunnel in one turn leave in
//  one write (and one segment) instead of one each.
void session_cork (session_t *self, session_side_t side);

//  A pause in a side's writes: what is sent to it from now on leaves us
//  microseconds later than what was sent before. The pauses a TLS stack
//  makes while it computes, so that a TLS-shaped handshake keeps TLS's
//  timing, not only its sizes.
void session_hold_writes (session_t *self, session_side_t side, unsigned us);

//  The side's FIN leaves ms after its last byte was written, or at once if
//  the peer closes first. For a peer that drops what it has read but not
//  yet delivered when the socket closes (the original v1 end does).
void session_delay_fin (session_t *self, session_side_t side, int ms);

//  On top of that delay, the FIN waits as long as a reader of the peer
//  that takes rate bytes/s would still need for the bytes this side was
//  given (a leaky bucket: what came faster than rate), and for those the
//  socket has not had acknowledged yet, up to SESSION_FIN_PACED_MAX_MS. For
//  such a peer whose user is slow: it reads all at once and drops the rest
//  at our FIN (the original's local end). rate 0: no pacing.
#define SESSION_FIN_PACED_MAX_MS 120000
void session_pace_fin (session_t *self, session_side_t side, uint32_t rate);

//  Until the session relays, an abort by its handler is answered the way a
//  prober is: nothing more is written to the client, its bytes are read and
//  dropped, and it is closed (a FIN) at deadline_ms (timers_now_ms) or when
//  it closes. For a stream whose first flight proves nothing by itself (v1).
//  Not while a target connection is open or on its way (that abort stands).
void session_guard_probe (session_t *self, uint64_t deadline_ms);

//  That deadline (0: not guarded).
uint64_t session_guard_deadline (session_t *self);

//  A shorter idle limit for this session than the worker's (ms; 0: the
//  worker's): relaying that moves no byte either way this long ends it.
void session_set_idle (session_t *self, int ms);

//  When bytes last came from either side while relaying (timers_now_ms;
//  0: none yet).
uint64_t session_active_ms (session_t *self);

//  Bytes queued toward a side and not yet written.
size_t session_queued (session_t *self, session_side_t side);

//  Whether the data the handler is being given now stays valid until its
//  read_done (runtime/handler.h): a read is being taken and the handler has one.
bool session_data_kept (session_t *self);

//  The handler has answered the client in advance (actors/local_answer.c):
//  the target's first bytes are the far end's own answer, which check takes
//  and drops. check returns 0 (all of data was the answer, and more is to
//  come), 1 (the answer ends after *taken bytes; the rest is the target's) or
//  -1 (the far end refused: the session ends with a reset, as it does when
//  the target ends before the answer is complete). Relaying only; ctx must
//  live as long as the session.
typedef int (session_answer_fn) (void *ctx, const uint8_t *data, size_t len, size_t *taken);
void session_check_answer (session_t *self, session_answer_fn *check, void *ctx);

//  Adds a node at one end of the side's node stack (nodes/node.h), which
//  the session owns (and the node's state with it, if its class has a
//  destroy): every byte sent to the side goes through the stack from inner
//  to outer, every byte read from it from outer to inner. Bytes queued
//  before the call stay as they were (e.g. a hello in clear). Returns 0, or
//  -1 if the stack is full (the state is destroyed).
int session_add_node (session_t *self, session_side_t side, node_side_t end,
                      const node_class_t *cls, void *state);

//  Bytes of side that were read before its nodes were installed (they came
//  behind a first flight): run in now as if just read.
void session_feed_read (session_t *self, session_side_t side, const void *data, size_t len);

//  A command for the side's stream (its first node that frames records
//  seals it, nodes/node.h NODE_CONTROL), queued behind what was sent before.
void session_send_command (session_t *self, session_side_t side, uint8_t code);

//  The state of the side's first node of that class (NULL if none), for its
//  owner to change (a model, a suspension); then call session_nodes_changed
//  so that the nodes act on it now.
void *session_node (session_t *self, session_side_t side, const node_class_t *cls);
void session_nodes_changed (session_t *self, session_side_t side);

//  Padding: when a gate of the side's stack reports a SHORTFALL (a model
//  send wanted more bytes than were queued), pad is called with how many
//  are missing and may answer with session_pad (bytes that go out with that
//  send, through the stack, unlearned). NULL: none.
typedef void (session_pad_fn) (void *ctx, size_t missing);
void session_set_padding (session_t *self, session_side_t side, session_pad_fn *pad, void *ctx);
void session_pad (session_t *self, session_side_t side, const void *data, size_t len);

//  Stop / resume reading one side (session_pause_client is the client's).
void session_pause (session_t *self, session_side_t side, int paused);

//  A session that carries others (an aggregated tunnel): a drain at shutdown
//  waits for the user connections, not for it.
void session_set_background (session_t *self);

//  A trace record in this session's name (runtime/trace.h); free while
//  nobody subscribes.
void session_trace (session_t *self, const char *from, const char *to, const char *kind,
                    size_t bytes);

//  Counts an event in this session's name (runtime/metrics.h: a probe, a
//  handover); METRIC_TUNNELS_UP and _DOWN also date the tunnel's state.
void session_count (session_t *self, metric_t what);

//  Settle another session's sockets after acting on it from elsewhere.
void session_settle (session_t *self);

//  The address the socket of a side is connected to (-1 if none).
//  Bytes that came on the socket of a side and are not read yet (0 if none or
//  no socket).
size_t session_socket_unread (session_t *self, session_side_t side);
int session_socket_peer (session_t *self, session_side_t side, struct sockaddr_storage *addr,
                         socklen_t *len);

//  How long ago the socket of a side last heard from its peer's TCP (an
//  ACK or data), in ms; 0 if all it has sent is acknowledged; -1 if it has
//  no socket, or the peer has closed it.
int session_socket_heard_ms (session_t *self, session_side_t side);

//  The client socket, taken out of the session, which ends (-1 if none).
int session_take_client_fd (session_t *self);

//  Where the session lives: its worker's index and its id there.
int session_worker (session_t *self);
uint64_t session_id (session_t *self);

//  Hands msg to that worker's inbox (worker.h lists the messages) without
//  waiting and without making a socket. Takes msg; -1 if it could not go.
int session_send_to_worker (session_t *self, int worker, zmsg_t **msg_p);

#endif
