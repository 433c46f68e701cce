/*  resolver — the name resolution actor, so that no data-plane worker ever
    blocks in getaddrinfo.

    The actor binds a ZMQ_ROUTER on an endpoint. A worker connects a
    ZMQ_DEALER to it, adds the DEALER's ZMQ_FD to its epoll set and, when that
    fd fires, drains replies while ZMQ_EVENTS says ZMQ_POLLIN (the fd is
    edge-triggered: always drain until ZMQ_EVENTS has no POLLIN, and re-check
    ZMQ_EVENTS after every send as well).

    Request  (DEALER -> resolver): [token: 8 bytes][host: 0..255 bytes][port: 2 bytes big-endian]
    Reply    (resolver -> DEALER): [token][status: int32 big-endian][addr]...

    The token is opaque and comes back unchanged; replies may arrive in any
    order. Status is 0 or an EAI_* code (EAI_AGAIN when the queue is full or
    the resolver is stopping, EAI_FAIL for a malformed request, EAI_NONAME
    for an empty host). Each addr frame is a raw struct sockaddr_in or
    sockaddr_in6 with the port filled in: at most RESOLVER_MAX_ADDRS, in
    getaddrinfo's order, without duplicates. A request whose token cannot be
    read is dropped without a reply.

    IPv4/IPv6 literals are answered at once by the actor itself; names go to
    one of `threads` lookup threads (blocking getaddrinfo). Requests that find
    no idle lookup thread wait in a bounded FIFO queue; beyond it they are
    answered at once with EAI_AGAIN.

    Stopping: zactor_destroy sends $TERM. Queued requests are answered with
    EAI_AGAIN; lookups in flight cannot be cancelled, so $TERM returns once
    the slowest of them has finished: for names in /etc/hosts that is
    immediate, for DNS it is bounded by resolv.conf (timeout x attempts x
    nameservers; glibc defaults give 5 s x 2 per nameserver, so up to 30 s
    with three nameservers). Lookups in flight get no reply.

    Over tcp:// or ipc://, give the worker's DEALER ZMQ_RCVHWM 0 so a burst of
    replies is never dropped (over inproc:// the resolver's side already
    makes the pipe unbounded).
*/
#ifndef MK_RESOLVER_H
#define MK_RESOLVER_H

#include <czmq.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define RESOLVER_TOKEN_SIZE  8
#define RESOLVER_MAX_ADDRS   8
#define RESOLVER_QUEUE_MAX   4096
#define RESOLVER_THREADS_MAX 64

//  Start the resolver bound on endpoint (e.g. "inproc://resolver") with
//  threads lookup threads (clamped to 1..RESOLVER_THREADS_MAX). Returns NULL
//  if the endpoint cannot be bound. Stop it with zactor_destroy.
//  The actor follows the child-actor contract: it signals 0 once bound and
//  ready, or 1 (and ends) if it cannot bind.
zactor_t *
    resolver_new (const char *endpoint, int threads);

//  Same, with the queue limit given (0: no queueing; a request that finds
//  no idle lookup thread is answered with EAI_AGAIN).
zactor_t *
    resolver_new_with_queue (const char *endpoint, int threads, size_t queue_max);

//  The actor function itself, for a supervisor that starts its children with
//  zactor_new: args are read during start-up only (so they may live on the
//  starter's stack); threads must be 1..RESOLVER_THREADS_MAX. The actor
//  writes its start status (0 ok, 1 cannot bind) into args->status before
//  it signals, since zactor_new does not pass the signal's value on.
typedef struct {
    const char *endpoint;
    int threads;
    size_t queue_max;
    int status;
} resolver_args_t;

void
    resolver_actor (zsock_t *pipe, void *args);

//  Worker side: send one request on a DEALER connected to the resolver.
//  Never blocks. Returns 0, or -1 with errno EINVAL (host NULL or longer
//  than 255 bytes) or EAGAIN (the DEALER's send queue is full: retry later).
int
    resolver_request (zsock_t *dealer, uint64_t token, const char *host, uint16_t port);

//  Worker side: read a reply. Fills token, status, and up to max addresses
//  (addrs[i] with length lens[i]); *count is how many were stored. Does not
//  destroy msg. Returns 0, or -1 if msg is not a well-formed reply (then the
//  outputs are unspecified).
int
    resolver_reply_parse (zmsg_t *msg, uint64_t *token, int *status,
                          struct sockaddr_storage *addrs, socklen_t *lens,
                          size_t max, size_t *count);

#endif
