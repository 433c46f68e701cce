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
#include "runtime/metrics.h"
#include "runtime/worker_priv.h"

typedef enum {
    SESSION_HANDSHAKE,      //  the handler sees every byte
    SESSION_RELAY,          //  bytes flow client <-> target without the handler
    SESSION_FINISHING,      //  writing the last bytes to the client
    SESSION_LINGER,         //  FIN sent; reading and discarding until the client closes
    SESSION_DEAD            //  waiting to be freed at the end of the loop turn
} session_state_t;

enum { TIMER_HANDLER, TIMER_CONNECT, TIMER_HANDOVER, TIMER_NODES, TIMER_IDLE, TIMER_FIN, TIMER_COUNT };

#define SESSION_MAX_ADDRS 8

struct session_t {
    uint64_t id;                    //  generation << 32 | slot
    worker_t *worker;
    session_state_t state;
    conn_t client, target;
    //  The socket whose read is being taken block by block (session_read);
    //  -1 once it is closed meanwhile (its number may be reused at once).
    int reading_fd;
    //  During session_read: the blocks given to a handler with read_done,
    //  kept until it has been called (session_data_kept).
    bool in_read;
    bufq_t read_kept;
    const handler_class_t *cls;
    void *handler;
    bool client_paused;
    bool target_paused;
    session_answer_fn *answer;      //  checks the target's first bytes (session_check_answer)
    void *answer_ctx;
    bool abortive;                  //  close with RST (a reset is passed on)
    uint64_t resolve_token;         //  0 unless a lookup is in flight
    struct sockaddr_storage addrs[SESSION_MAX_ADDRS];
    socklen_t addr_lens[SESSION_MAX_ADDRS];
    size_t addr_count, addr_next;
    int connect_err;                //  last connect error, reported by TIMER_CONNECT when due now
    session_filter_fn *filter;      //  session_connect_filtered: which addresses may be tried
    void *filter_arg;
    bool addr_denied;               //  the filter dropped an address of this connect
    uint64_t deadline[TIMER_COUNT]; //  0: not armed
    uint64_t active_ms;             //  RELAY: when bytes last came from either side
    uint64_t relay_ms;              //  when RELAY began
    char peer[64];
    const char *name;               //  in trace records and metrics
    metrics_slot_t *metrics;        //  this worker's counters for that name
    bool user_facing;               //  the client is a user (handler_conf_t)
    int connect_timeout_ms;         //  handler_conf_t's; 0: the worker's
    const void *owner;              //  the wormhole it belongs to (NULL: a proxy)
    bool background;                //  a tunnel: a drain does not wait for it
    bool warm;                      //  started ahead of its client, none yet (handler_conf_t.warm)
    bool user_later;                //  ... and its client will be a user
    worker_links_t links;           //  the worker's lists (worker.c)
    //  Handover (session.h): the other socket of the side being handed over.
    conn_t spare;
    conn_t *baton;                  //  that side; NULL: no handover socket
    bool retire_wait_eof;           //  the old socket closes once its peer has closed it
    bool old_shut;                  //  ... or got our FIN while still read (shut_old)
    void *tap;                      //  the scanner borrowed into a side's stack (NULL: none)
    conn_t *tap_side;               //  ... that side
    uint64_t handover_progress;     //  bytes written on an old socket after the switch
    struct session_udp_t *udp;      //  datagram sockets (session_udp.c); NULL: none
    bool udp_user;                  //  a UDP socket toward the user is open: the user's
                                    //  bytes are its datagrams (session_udp.c counts them)
    //  session_guard_probe: until it relays, an abort silences it instead
    //  (silenced: the handler is called no more), closed at probe_deadline.
    uint64_t probe_deadline;
    bool silenced;
    int idle_ms;                    //  session_set_idle: this session's own limit (0: the worker's)
};


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
//  Arms the session's timer of kind for ms from now (ms < 0: cancels it).
void session_arm (session_t *self, int kind, int ms);
void session_conn_init (conn_t *conn, session_t *session, int fd);
void session_conn_close (session_t *self, conn_t *conn, bool abortive);
void session_socket_tune (int fd);
//  --- session_ending.c
//  True if conn's FIN is to wait (session_delay_fin): the timer is armed.
bool session_fin_waits (session_t *self, conn_t *conn);
//  TIMER_FIN: conn's delayed FIN goes now.
void session_fin_due (session_t *self, conn_t *conn);
//  len bytes are on their way to conn (session_pace_fin counts them).
void session_fin_count (conn_t *conn, size_t len);
//  session_abort of a guarded session (session_guard_probe): the prober's
//  treatment instead. False: not guarded, or not now (kill it).
bool session_silence (session_t *self);
//  --- session.c
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

//  --- session_metrics.c
//  A side's stream bytes (plaintext), as they reach the session: counted
//  at the users' side only. Once a UDP association has its socket toward
//  the user, the target's bytes are framed datagrams (a wormhole's stream),
//  counted as the user's socket sends them instead.
static inline void
session_count_bytes (session_t *self, conn_t *side, size_t len)
{
    if (self->user_facing && (side == &self->client || !self->udp_user))
        metrics_add (self->metrics, side == &self->client ? METRIC_BYTES_UP : METRIC_BYTES_DOWN, len);
}
//  A session begins (after its handler was made) and ends.
void session_metrics_open (session_t *self);
void session_metrics_close (session_t *self);

//  --- session_udp.c
//  A datagram socket is readable; the lookup with that token was the UDP one.
void session_udp_on_io (conn_t *conn);
bool session_udp_awaits (session_t *self, uint64_t token);
bool session_udp_resolved (session_t *self, uint64_t token, int status,
                           const struct sockaddr_storage *addrs, const socklen_t *lens, size_t count);
void session_udp_free (session_t *self);

//  --- session_handover.c
//  A handover event for the handler (a socket given to a session without
//  a handover callback is closed).
void session_handover_notify (session_t *self, const handover_event_t *event);
void session_spare_connect_done (session_t *self);
//  The spare socket's interest, and the end of an old socket.
void session_settle_spare (session_t *self);

//  The client socket's options (TCP_NODELAY, keep-alive) and its name for log lines.
void session_client_socket (session_t *self, int fd);

//  --- session_io.c
//  Bytes toward a side: through its nodes, to its socket, parked in its queue.
void session_send (session_t *self, conn_t *conn, const void *data, size_t len);
//  Several pieces for a side: through its nodes as one, or in one write.
void session_send_pieces (session_t *self, conn_t *conn, const struct iovec *iov, int count);

//  A side cannot go on: its socket failed on a write (errno err) or its
//  nodes broke on the stream (EPROTO). A redialing tunnel (a background
//  session's target while its handler still owns the target) hears it as
//  the target's end with err, from the read path on the next loop turn, so
//  that it can dial again; any other session ends at once, abortively (the
//  user sees a reset). True if the session goes on.
bool session_side_failed (session_t *self, conn_t *conn, int err);

//  The idle timeout of a relaying session (runtime/session_idle.c): armed
//  when relaying starts, restarted when a direction ends (the limit is then
//  the shorter one), checked when TIMER_IDLE fires.
void session_idle_start (session_t *self);
void session_idle_restart (session_t *self);
void session_idle_due (session_t *self);

//  Before a side's FIN: if its nodes mark the stream's end and it has not
//  gone yet, the end mark is queued now. True if it was (the FIN then waits
//  until it is written).
bool session_seal_end (session_t *self, conn_t *conn);

//  True if the side's FIN would be a cut: its nodes mark ends and the
//  peer's has not come.
bool session_ends_cut (conn_t *conn);
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
