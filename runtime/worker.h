/*  worker — a data-plane actor: many client connections in one epoll loop.

    One worker runs per core. It accepts on the listening sockets the acceptor
    gives it (runtime/worker_ports.h); for each connection it runs a session
    (runtime/session.h) whose handler decides where the bytes go. Raw TCP
    sockets are plain non-blocking fds in the worker's own epoll, and so are
    its ZeroMQ sockets (through ZMQ_FD): the actor pipe, the inbox the acceptor
    and the other workers push to, and a DEALER to the resolver for host names.

    Inbox messages (PUSH to the worker's endpoint, zsock_send pictures):
      "LISTEN" [fd conf]...      the listening sockets to accept on from now on
                                 (runtime/worker_ports.h; fds are the worker's own)
      "ACCEPT" fd conf   ("sip") a socket to serve with that handler conf
      "DIAL" conf        ("sp")  start a session without a client (a tunnel that dials)
      "DROP" owner       ("sp")  end every session of that wormhole (config reload)
      "BATON" fd id rest         a handover connection (its ID already read) for
                                 the tunnel session id, with the bytes after the ID
      "HANDOVER"         ("s")   every tunnel dialed here starts a handover now
      "DRAIN"            ("s")   shutting down: say "DRAINED" <index> on WORKER_DRAINED
                                 once no user connection is left (tunnels do not count)
    Confs must outlive the worker.
*/
#ifndef MK_WORKER_H
#define MK_WORKER_H

#include <czmq.h>

#include "runtime/handler.h"

typedef struct {
    int index;                      //  names the inbox endpoint
    const char *resolver_endpoint;  //  where the resolver actor's ROUTER is bound
    int connect_timeout_ms;         //  0: default 10 s
    //  Sessions without a client that the worker starts itself, every time it
    //  starts (e.g. the tunnel of an aggregated wormhole's dialing end).
    const handler_conf_t *dials;
    size_t dial_count;
    int idle_timeout_ms;            //  a relaying session without traffic ends; <= 0: never
    int worker_count;               //  how many workers run (each keeps a PUSH to every inbox)
    int handshake_timeout_ms;       //  socks/http: a request must be complete by then; 0: 15 s
    struct worker_loads_t *loads;   //  shared by all workers (NULL: each keeps what it accepts)
} worker_args_t;

//  At most this many workers run in one process.
#define WORKER_MAX 64

//  How many sessions each worker runs, written by it and read by the others:
//  a worker that accepted a connection while it runs clearly more than
//  another hands the socket over (runtime/worker_ports.c). Only a hint,
//  hence relaxed atomics and no lock.
typedef struct worker_loads_t {
    _Atomic long live[WORKER_MAX];
} worker_loads_t;

#define WORKER_DRAINED "inproc://mimicsocks-drained"
//  A starting worker says "WANT" <index> ("si") here; the acceptor, which
//  binds it, answers with a "LISTEN" message to that worker's inbox.
#define WORKER_PORTS_WANTED "inproc://mimicsocks-ports-wanted"

//  "inproc://mimicsocks-worker-<index>" into buf.
const char *worker_endpoint (int index, char *buf, size_t buflen);

//  The actor function (for zactor_new or the supervisor).
void worker_actor (zsock_t *pipe, void *args);

//  Bytes one direction may have queued before the worker stops reading the
//  other side (the per-connection credit window).
#define WORKER_WINDOW (512 * 1024)
#define WORKER_BLOCK_SIZE (64 * 1024)
//  Blocks one read of a socket in bulk may fill (one readv), within the window.
#define WORKER_READ_BLOCKS 4

#endif
