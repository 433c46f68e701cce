/*  acceptor — the actor that owns the listening sockets.

    It accepts connections and hands each socket to a data-plane worker
    (round robin over a PUSH socket connected to every worker's inbox), tagged
    with the handler configuration of the listener it came in on. Listening
    sockets are few, so a zmq_poll over them is cheap here; the per-connection
    work all happens in the workers' epoll loops.
*/
#ifndef MK_ACCEPTOR_H
#define MK_ACCEPTOR_H

#include <czmq.h>

#include "runtime/handler.h"
#include "runtime/base/addr.h"

typedef struct {
    hostport_t listen;
    handler_conf_t handler;
    int worker;             //  >= 0: every connection goes to that worker (it owns
                            //  the tunnel they share); -1: round robin
    char label[96];         //  for log lines, e.g. "socks proxy"
} listener_conf_t;

typedef struct {
    const listener_conf_t *listeners;   //  must outlive the actor
    size_t listener_count;
    int worker_count;
    bool retry_binds;       //  a port that cannot be bound is retried with backoff
                            //  (the others run meanwhile) instead of failing the start
} acceptor_args_t;

//  Where a new listener set is sent: "SET" listeners count (zsock_send "spi");
//  listeners that stay keep their sockets.
#define ACCEPTOR_CONTROL "inproc://mimicsocks-acceptor-control"

//  Signals 0 once every listener is bound (or, with retry_binds, is being
//  retried), 1 if one cannot be bound (logged).
void acceptor_actor (zsock_t *pipe, void *args);

//  Bind a non-blocking listening TCP socket; -1 with errno on failure.
int acceptor_listen (const hostport_t *address);

#endif
