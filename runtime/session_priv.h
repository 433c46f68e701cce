/*  session_priv — what the parts of a session (session.c: the connection's
    state machine; session_handover.c: moving a side to a fresh socket;
    session_nodes.c: the side's node stack) use of each other.
    Not for use outside runtime/.
*/
#ifndef MK_SESSION_PRIV_H
#define MK_SESSION_PRIV_H

#include <stdbool.h>
#include <stddef.h>

#include "runtime/handover.h"
#include "runtime/worker_priv.h"

static inline bool
session_dead (session_t *self)
{
    return self->state == SESSION_DEAD;
}

//  The connection of a side.
static inline conn_t *
session_conn (session_t *self, session_side_t side)
{
    return side == SESSION_CLIENT ? &self->client : &self->target;
}

static inline conn_t *
session_other (session_t *self, conn_t *conn)
{
    return conn == &self->client ? &self->target : &self->client;
}

//  The side a socket's bytes belong to: the spare socket of a handover
//  carries the side being handed over.
static inline conn_t *
session_side_of (session_t *self, conn_t *conn)
{
    return conn == &self->spare ? self->baton : conn;
}

//  Bytes waiting to leave toward a side: its own queue, or for a stream the
//  whole tunnel's (the stream's credit window is the tunnel's).
static inline size_t
session_conn_queued (conn_t *conn)
{
    return conn->mux ? conn->mux_ops->queued (conn->mux, conn->stream_id) : conn->out.bytes;
}

//  --- session.c
void session_conn_init (conn_t *conn, session_t *session, int fd);
void session_conn_close (session_t *self, conn_t *conn, bool abortive);
void session_socket_tune (int fd);
//  Ends the session; the worker frees it at the end of this loop turn.
void session_kill (session_t *self, bool abortive);
//  Writes a side's queue (and the FIN it owes). False: the socket failed.
bool session_flush (session_t *self, conn_t *conn);
//  Relay path: a whole block toward a side, parked (not copied) if the socket is full.
void session_forward_raw (session_t *self, conn_t *to, buf_t *buf);
//  Decrypted stream bytes of a side, as the state wants them (takes buf).
void session_deliver (session_t *self, conn_t *side, buf_t *buf);
//  What a side read ahead of its handler, as far as the state takes it now,
//  then the end of stream that waited behind it.
void session_deliver_ahead (session_t *self, conn_t *side);
//  A side's stream ended (FIN, or err).
void session_on_eof (session_t *self, conn_t *conn, int err);
//  One trace record for a hop out of conn.
void session_trace_hop (session_t *self, conn_t *conn, const char *kind, size_t bytes);
bool session_wants_read (session_t *self, conn_t *conn);
//  A socket's epoll interest, from its state.
void session_watch (session_t *self, conn_t *conn);

//  --- session_handover.c
//  A handover event for the handler (a socket given to a session without
//  a handover callback is closed).
void session_handover_notify (session_t *self, const handover_event_t *event);
void session_spare_connect_done (session_t *self);
//  The spare socket's interest, and the end of an old socket.
void session_settle_spare (session_t *self);

//  --- session_io.c
//  Bytes toward a side: through its nodes, to its socket, parked in its queue.
void session_send (session_t *self, conn_t *conn, const void *data, size_t len);
//  A socket is readable.
void session_read (session_t *self, conn_t *conn);
//  The target's first bytes that a handler answered in advance: checked and
//  dropped. False (and the session is ended) if the target said otherwise.
bool session_take_expected (session_t *self, conn_t *conn, const uint8_t **data, size_t *len);

//  --- session_stream.c
//  Hand over what a stream side held back while its session could not take it.
void session_stream_drain (session_t *self, conn_t *conn);

//  --- session_connect.c
//  Close the target and forget any connect or lookup in flight for it.
void session_drop_target (session_t *self);
void session_connect_failed (session_t *self, int err);
//  The target's non-blocking connect finished (or failed).
void session_connect_done (session_t *self);

//  --- session_nodes.c: the side's node stack
//  Bytes read from a side with nodes (takes buf): through the stack, delivered.
void session_nodes_in (session_t *self, conn_t *side, buf_t *buf);
//  Bytes to send, in a block (takes buf): through the stack, then on toward the socket.
void session_nodes_out_block (session_t *self, conn_t *side, buf_t *buf);
//  The same, copied into the free room at the tail of the side's queue.
void session_nodes_out_tail (session_t *self, conn_t *side, const void *data, size_t len,
                             unsigned flags);
//  Bytes already written at `at`, the free room at the tail of the side's
//  queue (bufq_reserve): through the stack, and committed there.
void session_nodes_out_room (session_t *self, conn_t *side, uint8_t *at, size_t len,
                             unsigned flags);
//  True while a node gates the side's writes (only released bytes go).
bool session_gated (conn_t *conn);
//  What the gate lets go now; the timer is armed for the next release.
void session_nodes_pump (session_t *self, conn_t *side);
//  Everything the gate holds back may go at once.
void session_nodes_release_all (session_t *self, conn_t *side);

#endif
