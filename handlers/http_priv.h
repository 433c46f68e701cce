/*  http_priv — what the parts of the HTTP proxy handler use of each other:
    http.c (the client side: requests, and an exchange from start to end),
    http_origin.c (the origin side: its connection and the responses),
    http_end.c (how a session ends) and http_bytes.c (byte buffers).
    Not for use outside the handler; its class is in http.h.
*/
#ifndef MK_HTTP_PRIV_H
#define MK_HTTP_PRIV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "handlers/http_codec.h"
#include "handlers/target_acl.h"
#include "runtime/handler.h"

//  Bound on writing an error reply (or a last response) to a client that
//  does not read it.
#define HTTP_ERROR_CLOSE_TIMEOUT_MS 2000

typedef enum {
    H_READ_HEAD,            //  waiting for a complete request head
    H_TUNNEL_CONNECTING,    //  CONNECT: session_connect() called
    H_TUNNEL,               //  CONNECT: session_relay() called; the worker owns the bytes
    H_FORWARD_REQUEST,      //  forwarding the request body to the origin
    H_REQUEST_SENT,         //  request forwarded; client paused until the response ends
    H_CLOSING               //  finishing or aborted: nothing more to do
} h_state_t;

typedef enum {
    R_IDLE,                 //  no request outstanding
    R_AWAIT_HEAD,           //  waiting for the response head (after any 1xx)
    R_FORWARD_BODY,         //  passing the response body to the client
    R_DONE                  //  response complete; the request body may still flow
} r_state_t;

typedef enum {
    T_NONE,                 //  no origin connection
    T_CONNECTING,           //  session_connect() in flight
    T_OPEN                  //  connected
} t_state_t;

typedef struct {
    uint8_t *data;
    size_t len, cap;
} http_bytes_t;

typedef struct {
    session_t *session;
    h_state_t state;
    r_state_t response_state;
    t_state_t target_state;
    hostport_t target;          //  where the origin connection goes
    bool target_reusable;       //  its last response allows another request
    bool target_reused;         //  the current request went on a kept connection
    bool origin_spoke;          //  the origin sent bytes for the current request
    bool response_started;      //  a final response head went to the client
    bool close_after;           //  close the client connection after this response
    bool client_eof;            //  the client sent FIN
    http_request_t request;     //  the current request (parser state, then its facts)
    http_response_t response;
    http_framer_t request_body;
    http_framer_t response_body;
    http_bytes_t in;            //  client bytes not yet used
    http_bytes_t head;          //  origin bytes of a response head in progress
    http_bytes_t pending;       //  bytes for the origin while it is being connected
    char label [ADDR_HOST_MAX + 16];    //  "host:port" for log lines
    target_acl_t acl;           //  the conf's target rules, and a denial
    const acl_users_t *users;   //  the conf's proxy users (NULL or none: no auth)
} http_t;

//  --- http.c
//  Both the request and its response are through: next request, or close.
void http_exchange_done (http_t *self);

//  --- http_origin.c
//  The origin connection is no use any more (closed, or not reusable).
void http_drop_target (http_t *self);
//  Bytes for the origin, held back while it is being connected.
void http_send_target (http_t *self, const uint8_t *data, size_t len);
//  The handler callbacks for the origin side.
void http_connected (void *self_, int err, const struct sockaddr *local);
void http_target_data (void *self_, const uint8_t *data, size_t len);
void http_target_eof (void *self_, int err);

//  Connect to self->target under the target rules.
void http_connect_target (http_t *self);
//  A connect denied by the rules (counted, for http_denied_total).
void http_count_denied (void);

//  --- http_end.c
//  End now, dropping what is queued.
void http_abort (http_t *self);
//  End once what is queued has been written.
void http_finish (http_t *self);
//  An error reply with status and detail (NULL: the reason), then finish;
//  an abort once a response has started.
void http_fail (http_t *self, int status, const char *detail);
void http_alloc_failed (http_t *self);

//  --- http_bytes.c
//  False if out of memory (b is unchanged).
bool http_bytes_append (http_bytes_t *b, const uint8_t *data, size_t len);
//  Drops the first n bytes.
void http_bytes_consume (http_bytes_t *b, size_t n);
void http_bytes_free (http_bytes_t *b);

#endif
