/*  session_priv — what the parts of a session (session.c: the connection's
    state machine; session_handover.c: moving a side to a fresh socket;
    session_shaping.c: the mimic on a side's send path) use of each other.
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

//  --- session.c
void session_conn_init (conn_t *conn, session_t *session, int fd);
void session_conn_close (session_t *self, conn_t *conn, bool abortive);
void session_socket_tune (int fd);
//  Ends the session; the worker frees it at the end of this loop turn.
void session_kill (session_t *self, bool abortive);
//  Writes a side's queue (and the FIN it owes). False: the socket failed.
bool session_flush (session_t *self, conn_t *conn);
//  Encrypts len bytes with the side's cipher straight into its queue's tail.
void session_encrypt_append (session_t *self, conn_t *conn, const void *data, size_t len);
//  Decrypted stream bytes of a side, as the state wants them (takes buf).
void session_deliver (session_t *self, conn_t *side, buf_t *buf);
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
//  Scans a tapped side's decrypted bytes (takes buf).
void session_tap_feed (session_t *self, conn_t *side, buf_t *buf);

//  --- session_shaping.c
bool session_conn_shaping (conn_t *conn);
//  Bytes queued toward a side: the mimic learns from them (and schedules them).
void session_conn_mimic_push (conn_t *conn, size_t len);
//  What the mimic lets go now; its timer is armed for the next release.
void session_conn_mimic_pump (session_t *self, conn_t *conn);
//  Everything the mimic holds back may go at once.
void session_conn_mimic_release_all (conn_t *conn);

#endif
