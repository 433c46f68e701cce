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
#include "runtime/timers.h"

typedef struct worker_t worker_t;
typedef struct session_t session_t;

//  What an epoll entry points at: every pointee starts with this tag.
typedef enum { EP_ZMQ, EP_CONN } ep_kind_t;

//  What a socket's bytes are, during a handover (otherwise always STREAM).
typedef enum {
    CONN_STREAM,            //  the side's stream: decrypted and delivered
    CONN_HOLD,              //  a new socket not yet in use: bytes kept as they came
    CONN_RETIRE             //  an old socket: writes what it has queued, then closes
} conn_role_t;

typedef struct {
    ep_kind_t kind;
    session_t *session;
    int fd;                 //  -1 when closed
    bool registered;        //  in the epoll set
    uint32_t interest;      //  events asked for
    bufq_t out;             //  bytes waiting to be written to fd
    bool eof_in;            //  the peer sent FIN
    bool shut_pending;      //  send FIN once out is written
    bool shut_done;         //  FIN sent
    bool connecting;        //  non-blocking connect in flight
    node_stack_t *nodes;    //  owned; NULL: bytes pass as they are
    bool corked;            //  queue writes until the end of the loop turn
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
} conn_t;

typedef enum {
    SESSION_HANDSHAKE,      //  the handler sees every byte
    SESSION_RELAY,          //  bytes flow client <-> target without the handler
    SESSION_FINISHING,      //  writing the last bytes to the client
    SESSION_LINGER,         //  FIN sent; reading and discarding until the client closes
    SESSION_DEAD            //  waiting to be freed at the end of the loop turn
} session_state_t;

enum { TIMER_HANDLER, TIMER_CONNECT, TIMER_HANDOVER, TIMER_NODES, TIMER_COUNT };

#define SESSION_MAX_ADDRS 8

struct session_t {
    uint64_t id;                    //  generation << 32 | slot
    worker_t *worker;
    session_state_t state;
    conn_t client, target;
    const handler_class_t *cls;
    void *handler;
    bool client_paused;
    bool target_paused;
    uint8_t expect[8];              //  bytes the target must send first (dropped)
    size_t expect_len;
    bool abortive;                  //  close with RST (a reset is passed on)
    uint64_t resolve_token;         //  0 unless a lookup is in flight
    struct sockaddr_storage addrs[SESSION_MAX_ADDRS];
    socklen_t addr_lens[SESSION_MAX_ADDRS];
    size_t addr_count, addr_next;
    int connect_err;                //  last connect error, reported by TIMER_CONNECT when due now
    uint64_t deadline[TIMER_COUNT]; //  0: not armed
    char peer[64];
    const char *name;               //  in trace records
    const void *owner;              //  the wormhole it belongs to (NULL: a proxy)
    bool background;                //  a tunnel: a drain does not wait for it
    session_t *next_dead;
    session_t *next_corked;         //  in the worker's list of sessions to uncork
    bool cork_listed;
    //  Handover (session.h): the other socket of the side being handed over.
    conn_t spare;
    conn_t *baton;                  //  that side; NULL: no handover socket
    bool retire_wait_eof;           //  the old socket closes once its peer has closed it
    void *tap;                      //  the scanner borrowed into a side's stack (NULL: none)
    conn_t *tap_side;               //  ... that side
    uint64_t handover_progress;     //  bytes written on an old socket after the switch
};

//  Worker services used by sessions.
bufpool_t *worker_pool (worker_t *self);
int worker_index (worker_t *self);
struct trace_t *worker_trace (worker_t *self);
int worker_connect_timeout_ms (worker_t *self);
void worker_conn_update (worker_t *self, conn_t *conn, uint32_t events);
void worker_conn_forget (worker_t *self, conn_t *conn);
void worker_timer_set (worker_t *self, session_t *session, int kind, int ms);
uint64_t worker_resolve (worker_t *self, session_t *session, const char *host, uint16_t port);
void worker_bury (worker_t *self, session_t *session);
//  Uncork the session's sides at the end of this loop turn.
void worker_uncork_later (worker_t *self, session_t *session);

//  Session entry points used by the worker loop.
session_t *session_new (worker_t *worker, uint64_t id, int fd, const handler_conf_t *conf);
//  A session whose client side is a stream of a multiplexer (no fd).
session_t *session_new_stream (worker_t *worker, uint64_t id, const handler_conf_t *conf,
                               const stream_ops_t *ops, void *mux, uint16_t stream_id);
//  Allocates a slot and creates a stream session (worker.c).
session_t *worker_spawn_stream (worker_t *self, const handler_conf_t *conf,
                                const stream_ops_t *ops, void *mux, uint16_t stream_id);
void session_free (session_t **self_p);
void session_on_io (conn_t *conn, uint32_t events);
void session_on_timer (session_t *self, int kind);
void session_on_resolved (session_t *self, int status, const struct sockaddr_storage *addrs,
                          const socklen_t *lens, size_t count);
//  Called after every event, timer or reply: settles state and epoll interest.
void session_settle (session_t *self);
//  Write what corked sides queued (end of a loop turn).
void session_uncork (session_t *self);

#endif
