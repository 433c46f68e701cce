/*  metrics_http — the Prometheus endpoint: an actor of its own that answers
    HTTP/1.0 and 1.1 `GET /metrics` with every counter of runtime/metrics.h
    and the handlers' denials and authentication failures, in the text
    format (Content-Type: text/plain; version=0.0.4).

    It serves from a plain non-blocking listening socket and accepted fds
    under its own zmq_poll (raw TCP is never a ZMQ_STREAM socket), so no
    data-plane worker ever waits for a scraper: a request is read as it
    comes, answered, and the connection closed. At most 64 requests are
    read at once (one more closes the one that has waited longest), each at
    most 4 KiB and for at most 5 s.
*/
#ifndef MK_METRICS_HTTP_H
#define MK_METRICS_HTTP_H

#include <czmq.h>

#include "runtime/base/addr.h"

typedef struct {
    hostport_t listen;          //  loopback unless explicitly allowed (the caller checks)
} metrics_http_args_t;

//  The actor (child-actor contract): signals 1 if the address cannot be bound.
void metrics_http_actor (zsock_t *pipe, void *args);

//  The whole response to one request (head and body) into buf; its length.
//  request: the bytes read so far; 0 while the head is not complete yet.
size_t metrics_http_answer (const char *request, size_t len, char *buf, size_t buflen);

#endif
