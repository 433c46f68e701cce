/*  acceptor — the actor that owns the listening sockets.

    It binds them (and again on a reload; a port that cannot be bound is
    retried) and gives every data-plane worker a duplicate of each socket it
    serves, tagged with the listener's handler configuration ("LISTEN", see
    runtime/worker_ports.h): the workers accept by themselves, in their own
    epoll loops, so a new connection costs no thread hop. A listener pinned
    to one worker (the aggregated tunnel's users) goes to that worker only.
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
