/*  worker_priv — the state shared by worker.c (the loop) and session.c (one
    connection's state machine). Not for use outside runtime/.
*/
#ifndef MK_WORKER_PRIV_H
#define MK_WORKER_PRIV_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include <czmq.h>

#include "runtime/stream.h"
#include "runtime/handler.h"
#include "runtime/session.h"
#include "runtime/bufpool.h"
#include "runtime/bufq.h"
#include "runtime/session_table.h"
#include "runtime/timers.h"
#include "runtime/worker.h"

typedef struct worker_t worker_t;
typedef struct session_t session_t;

//  What an epoll entry points at: every pointee starts with this tag.
//  EP_UDP: a session's datagram socket (runtime/session_udp.c), a conn_t too.
//  EP_LISTEN: a listening socket the worker accepts on (runtime/worker_ports.h).
typedef enum { EP_ZMQ, EP_CONN, EP_UDP, EP_LISTEN } ep_kind_t;

//  What a socket's bytes are, during a handover (otherwise always STREAM).
typedef enum {
    CONN_STREAM,            //  the side's stream: decrypted and delivered
    CONN_HOLD,              //  a new socket not yet in use: bytes kept as they came
    CONN_RETIRE             //  an old socket: writes what it has queued, then closes
} conn_role_t;

#define CONN_HOLDS_MAX 3        //  pauses a side keeps at once (a handshake needs two)

typedef struct {
    ep_kind_t kind;
    session_t *session;
    int fd;                 //  -1 when closed
    bool registered;        //  in the epoll set
    uint32_t interest;      //  events asked for
    //  EPOLLOUT stays asked for once the queue is empty (out_kept) until it
    //  fires with nothing to write (out_idle): a queue that empties and
    //  fills again each loop turn costs no epoll_ctl pair.
    bool out_kept;
    bool out_idle;
    bufq_t out;             //  bytes waiting to be written to fd
    bool eof_in;            //  the peer sent FIN
    bool shut_pending;      //  send FIN once out is written
    bool shut_done;         //  FIN sent
    bool connecting;        //  non-blocking connect in flight
    node_stack_t *nodes;    //  owned; NULL: bytes pass as they are
    bool corked;            //  queue writes until the end of the loop turn
    //  Pauses (session_conn_hold): the bytes queued behind the first
    //  hold_at[k] wait until hold_until[k] (microseconds), at least hold_us[k]
    //  after those before them were written; corked meanwhile.
    int holds;
    size_t hold_at[CONN_HOLDS_MAX];
    uint64_t hold_until[CONN_HOLDS_MAX];
    unsigned hold_us[CONN_HOLDS_MAX];
    bool over_window;       //  out went over the window: tell the handler when it drains
    //  A stream side has no fd: it is one stream of a multiplexed tunnel.
    const stream_ops_t *mux_ops;
    void *mux;
    uint16_t stream_id;
    bufq_t in;              //  stream bytes that arrived while reading was paused
    int eof_pending;        //  stream ended behind `in`: 1 + the error
    //  A tapped side is read ahead of a handler that does not take its bytes
    //  now (paused), so that a handover's command is found: the bytes wait
    //  here, and so does the end of stream (1 + the error) that came behind
    //  them. They belong to the stream: a handover does not move them.
    bufq_t ahead;
    int ahead_eof;
    conn_role_t role;
    int held_eof;           //  CONN_HOLD: the socket ended behind `in`: 1 + the error
    //  gated: a node of the stack decides when queued bytes leave (the stack
    //  stays with the side across handovers); released: bytes of `out` it
    //  has let go and not yet written.
    bool gated;
    size_t released;
    session_pad_fn *pad;    //  fills what a model send lacked (NULL: no padding)
    void *pad_ctx;
    //  The socket failed (a write error, a stream its nodes broke on) and is
    //  shut down: its end reaches the handler with this error from the read
    //  path (session_side_failed). 0: it has not.
    int failed;
    //  Its nodes mark the stream's end (node_stack_marks_end): ours went
    //  out before our FIN (end_sealed); the peer's came (end_seen), so its
    //  FIN is an end and not a cut.
    bool end_sealed;
    bool end_seen;
    //  The FIN waits this long once out is written (session_delay_fin); 0: not.
    int fin_delay_ms;
    //  And (session_pace_fin) what a reader taking fin_rate bytes/s would
    //  still hold of the bytes given to this side: fin_backlog as of
    //  fin_backlog_ms (a leaky bucket). fin_rate 0: not paced.
    uint32_t fin_rate;
    uint64_t fin_backlog;
    uint64_t fin_backlog_ms;
} conn_t;

//  The part of a session the worker owns: its place in the worker's lists
//  of sessions to free and to uncork at the end of the loop turn.
typedef struct {
    session_t *next_dead;
    session_t *next_corked;
    bool cork_listed;
} worker_links_t;


//  Worker services used by sessions.
bufpool_t *worker_pool (worker_t *self);
int worker_index (worker_t *self);

//  --- For the inbox's handlers (worker_inbox.c)
//  One inbox message, taken (destroyed).
void worker_inbox_handle (worker_t *self, zmsg_t **msg_p);
//  A session for an accepted socket (fd) or one that dials by itself (-1),
//  in a fresh slot; NULL if none can be had.
session_t *worker_session_start (worker_t *self, int fd, const handler_conf_t *conf);
//  Serve an accepted socket with that handler conf (closed if it cannot be).
void worker_serve (worker_t *self, int fd, const handler_conf_t *conf);
//  Which worker should serve a connection this one just accepted: itself,
//  or one that runs clearly fewer sessions (worker_args_t.loads).
int worker_accept_target (worker_t *self);
//  The worker's own listening sockets (worker_ports.h).
struct worker_ports_t *worker_ports (worker_t *self);
//  The worker's session table.
session_table_t *worker_sessions (worker_t *self);
//  "DRAIN": report once no user connection is left.
void worker_drain (worker_t *self);
//  Sends msg to that worker's inbox through the socket made at start (never
//  waits: -1 if its queue is full or there is no such worker). Takes msg.
int worker_send_to (worker_t *self, int index, zmsg_t **msg_p);
struct trace_t *worker_trace (worker_t *self);
int worker_connect_timeout_ms (worker_t *self);
//  What the worker was started with (its timeouts: idle_timeout_ms,
//  handshake_timeout_ms).
const worker_args_t *worker_args (worker_t *self);
//  A relaying session without traffic this long ends (<= 0: never).
int worker_idle_timeout_ms (worker_t *self);
void worker_conn_update (worker_t *self, conn_t *conn, uint32_t events);
void worker_conn_forget (worker_t *self, conn_t *conn);
//  A timer of kind for the session with that id, due at deadline_ms; the
//  session is told with session_timer_due (stale ones it ignores).
void worker_timer_add (worker_t *self, uint64_t session_id, int kind, uint64_t deadline_ms);
//  A fine timer (microseconds, timers_now_us) for the session's held
//  writes; the session is told with session_hold_due.
void worker_fine_add (worker_t *self, uint64_t session_id, uint64_t deadline_us);
uint64_t worker_resolve (worker_t *self, session_t *session, const char *host, uint16_t port);
void worker_bury (worker_t *self, session_t *session);
//  Uncork the session's sides at the end of this loop turn.
void worker_uncork_later (worker_t *self, session_t *session);

//  --- worker_warm.c: sessions started ahead of their clients (handler_conf_t.warm),
//  one per conf and worker, in a table of the worker's.
#define WORKER_WARM_MAX 16
typedef struct {
    const handler_conf_t *conf;
    uint64_t id;                //  the session's (session_table_find)
    bool due;                   //  to start once this loop turn's events are handled
} worker_warm_t;
worker_warm_t *worker_warm_table (worker_t *self);
//  A session without a client, marked warm (NULL: the table is full).
session_t *worker_session_start_warm (worker_t *self, const handler_conf_t *conf);
//  The warm session of conf, given the client fd; NULL if there is none
//  (the caller starts a session as usual).
session_t *worker_warm_take (worker_t *self, const handler_conf_t *conf, int fd);
//  The warm session of conf, if it has none, is started after the events
//  of the next loop turn (worker_warm_run): its dial must not delay the
//  client that just came. True while one is due.
void worker_warm_up (worker_t *self, const handler_conf_t *conf);
bool worker_warm_due (worker_t *self);
void worker_warm_run (worker_t *self);
//  Ends every warm session (shutting down).
void worker_warm_end_all (worker_t *self);

//  What the worker asks of a session.
bool session_is_dead (session_t *self);
bool session_is_background (session_t *self);
//  Ends the session now (the worker's own decision: a warm one at a drain).
void session_end (session_t *self);
const void *session_owner (session_t *self);
//  True if the session waits for the lookup with that token.
bool session_awaits (session_t *self, uint64_t resolve_token);
worker_links_t *session_links (session_t *self);

//  Session entry points used by the worker loop.
session_t *session_new (worker_t *worker, uint64_t id, int fd, const handler_conf_t *conf);
//  A session whose client side is a stream of a multiplexer (no fd).
session_t *session_new_stream (worker_t *worker, uint64_t id, const handler_conf_t *conf,
                               const stream_ops_t *ops, void *mux, uint16_t stream_id);
//  Allocates a slot and creates a stream session (worker.c).
session_t *worker_spawn_stream (worker_t *self, const handler_conf_t *conf,
                                const stream_ops_t *ops, void *mux, uint16_t stream_id);
//  A session started ahead of its client (handler_conf_t.warm).
session_t *session_new_warm (worker_t *worker, uint64_t id, const handler_conf_t *conf);
//  The warm session takes its client (an accepted socket).
void session_adopt_client (session_t *self, int fd);
void session_free (session_t **self_p);
void session_on_io (conn_t *conn, uint32_t events);
//  A timer of the session came due; it ignores one it cancelled or re-armed.
void session_timer_due (session_t *self, int kind, uint64_t deadline_ms);
void session_on_resolved (session_t *self, uint64_t token, int status, const struct sockaddr_storage *addrs,
                          const socklen_t *lens, size_t count);
//  Called after every event, timer or reply: settles state and epoll interest.
void session_settle (session_t *self);
//  Write what corked sides queued (end of a loop turn).
void session_uncork (session_t *self);
//  A pause of the session's (session_conn_hold) may be over: what it held
//  is written (a stale timer costs a flush that writes nothing).
void session_hold_due (session_t *self);
//  A pause in conn's writes: the bytes queued from now on leave us
//  microseconds after those queued before (after the end of the pause
//  before it, if there is one). Only the client and target sides pause.
void session_conn_hold (session_t *self, conn_t *conn, unsigned us);
//  conn's writes wait for the end of the loop turn (session_cork).
void session_conn_cork (session_t *self, conn_t *conn);

#endif
