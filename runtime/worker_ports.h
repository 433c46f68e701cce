/*  worker_ports — the listening sockets a worker accepts on by itself.

    The acceptor binds the listening sockets (and rebinds them on a reload);
    each worker gets its own duplicate of the ones it serves and watches it
    in its epoll with EPOLLEXCLUSIVE, so a new connection wakes one worker,
    which accepts it and starts its session in the same loop turn: no thread
    hop and no ZeroMQ message per connection. A worker busy with its own
    events is not woken: the next idle one takes the connection.

    The set is replaced whole by the acceptor's "LISTEN" message (worker.h);
    the duplicates are closed then, and when the worker stops or drains.
*/
#ifndef MK_WORKER_PORTS_H
#define MK_WORKER_PORTS_H

#include <stdbool.h>
#include <stdint.h>

#include <czmq.h>

#include "runtime/handler.h"

typedef struct worker_ports_t worker_ports_t;
typedef struct worker_t worker_t;

//  One watched socket; the epoll entry points at it (kind first).
typedef struct {
    int kind;                       //  EP_LISTEN
    worker_ports_t *owner;
    int fd;                         //  this worker's duplicate
    const handler_conf_t *conf;
    bool pinned;                    //  only this worker may serve its connections
} worker_port_t;

//  The set of a worker whose epoll is epfd.
worker_ports_t *worker_ports_new (worker_t *worker, int epfd);
void worker_ports_destroy (worker_ports_t **self_p);

//  "LISTEN" [fd conf pinned]...: the new set (the popped command's rest). The
//  message's fds are taken: kept, or closed if they cannot be watched.
void worker_ports_set (worker_ports_t *self, zmsg_t *msg);

//  Close every socket of the set (draining: no new connections).
void worker_ports_close (worker_ports_t *self);

//  The socket is readable: accept a few connections and serve them.
void worker_ports_accept (worker_port_t *port);

//  After the fd limit was hit the sockets rest a while: milliseconds until
//  they are watched again (-1: they are); worker_ports_resume at that time.
int worker_ports_wait_ms (worker_ports_t *self, uint64_t now_ms);
void worker_ports_resume (worker_ports_t *self, uint64_t now_ms);

//  Build the "LISTEN" message for one worker: the command, then per socket
//  a frame with the fd, one with the conf pointer and one with the pinned
//  flag (for the acceptor). A pinned socket's connections are served by
//  the worker that accepted them (it owns the tunnel they share); others
//  may go to a less busy worker.
zmsg_t *worker_ports_message (void);
void worker_ports_message_add (zmsg_t *msg, int fd, const handler_conf_t *conf, bool pinned);

#endif
