/*  http — the HTTP proxy handler.

    Two state machines run side by side, because an origin may answer before
    the request body has been sent (100 Continue, an early 413): the client
    side (h_state_t: read a head, forward its body, wait) and the response side
    (r_state_t: wait for the head, forward the body). An exchange ends when both
    are done; only then is the next request parsed, so the client is paused
    while a response is in flight and pipelined bytes wait in self->in.

    CONNECT is answered once the target is up and then left to the worker's
    relay. Errors before any response byte reached the client get a complete
    error reply; after that the only honest signal left is an abort.
*/
#include "handlers/http.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "handlers/http_codec.h"
#include "runtime/base/log.h"
#include "runtime/handler.h"

//  To receive a complete request head (the first, and between requests).
#define S_HEAD_TIMEOUT_MS 30000
//  For the response head once the whole request has been sent.
#define S_RESPONSE_TIMEOUT_MS 300000
//  Bound on writing an error reply to a client that does not read it.
#define S_ERROR_CLOSE_TIMEOUT_MS 2000
//  Longest path shown in a log line.
#define S_LOG_PATH_MAX 120

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
} s_bytes_t;

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
    s_bytes_t in;               //  client bytes not yet used
    s_bytes_t head;             //  origin bytes of a response head in progress
    s_bytes_t pending;          //  bytes for the origin while it is being connected
    char label [ADDR_HOST_MAX + 16];    //  "host:port" for log lines
} http_t;

static void s_process_input (http_t *self);

//  --------------------------------------------------------------------------
//  Byte buffers

static bool
s_bytes_append (s_bytes_t *b, const uint8_t *data, size_t len)
{
    if (len == 0)
        return true;
    if (len > b->cap - b->len) {
        size_t cap = b->cap? b->cap: 4096;
        while (cap - b->len < len)
            cap *= 2;
        uint8_t *grown = (uint8_t *) realloc (b->data, cap);
        if (!grown)
            return false;
        b->data = grown;
        b->cap = cap;
    }
    memcpy (b->data + b->len, data, len);
    b->len += len;
    return true;
}

static void
s_bytes_consume (s_bytes_t *b, size_t n)
{
    if (n == 0)
        return;
    memmove (b->data, b->data + n, b->len - n);
    b->len -= n;
    //  a burst of pipelined bytes must not pin memory for the connection's life
    if (b->len == 0 && b->cap > HTTP_HEAD_MAX) {
        free (b->data);
        b->data = NULL;
        b->cap = 0;
    }
}

static void
s_bytes_free (s_bytes_t *b)
{
    free (b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

//  --------------------------------------------------------------------------
//  Endings

static void
s_abort (http_t *self)
{
    self->state = H_CLOSING;
    session_abort (self->session);
}

//  Close after what is queued (the session bounds how long that may take).
static void
s_finish (http_t *self)
{
    self->state = H_CLOSING;
    session_finish (self->session);
}

//  Answer with an error status and close; once a response has started the
//  client can only be told by an abort.
static void
s_fail (http_t *self, int status, const char *detail)
{
    if (self->response_started) {
        s_abort (self);
        return;
    }
    char reply [HTTP_ERROR_MAX];
    size_t len = http_error_response (status, detail, reply, sizeof reply);
    session_send_client (self->session, reply, len);
    s_finish (self);
    session_set_timer (self->session, S_ERROR_CLOSE_TIMEOUT_MS);
}

static void
s_alloc_failed (http_t *self)
{
    log_error ("http %s: out of memory", session_peer (self->session));
    s_abort (self);
}

//  The origin connection is no use any more (closed, or not reusable).
static void
s_drop_target (http_t *self)
{
    if (self->target_state != T_NONE) {
        session_close_target (self->session);
        self->target_state = T_NONE;
    }
    self->target_reusable = false;
    s_bytes_free (&self->pending);
}

//  Bytes for the origin. Until the connect completes they wait here, not in
//  the session (whose queue does not survive trying the next address), and
//  the client is paused, which bounds them.
static void
s_send_target (http_t *self, const uint8_t *data, size_t len)
{
    switch (self->target_state) {
        case T_OPEN:
            session_send_target (self->session, data, len);
            break;
        case T_CONNECTING:
            if (!s_bytes_append (&self->pending, data, len)) {
                s_alloc_failed (self);
                return;
            }
            session_pause_client (self->session, 1);
            break;
        case T_NONE:
            break;          //  gone after an early final response: dropped
    }
}

static void
s_format_label (const hostport_t *target, char *buf, size_t size)
{
    snprintf (buf, size, strchr (target->host, ':')? "[%s]:%u": "%s:%u",
              target->host, target->port);
}

//  The message of a failed connect, and its status (504 for a timeout).
static int
s_connect_error (http_t *self, int err, char *detail, size_t size)
{
    if (err == SESSION_ERR_RESOLVE) {
        snprintf (detail, size, "cannot resolve %s", self->target.host);
        return 502;
    }
    if (err == SESSION_ERR_TIMEOUT) {
        snprintf (detail, size, "timed out connecting to %s", self->label);
        return 504;
    }
    snprintf (detail, size, "cannot connect to %s: %s", self->label, strerror (err));
    return 502;
}

//  --------------------------------------------------------------------------
//  One exchange

//  Both the request and its response are through: next request, or close.
static void
s_exchange_done (http_t *self)
{
    self->response_state = R_IDLE;
    if (self->close_after) {
        s_finish (self);
        return;
    }
    self->state = H_READ_HEAD;
    self->response_started = false;
    http_request_init (&self->request);
    session_set_timer (self->session, S_HEAD_TIMEOUT_MS);
    session_pause_client (self->session, 0);
    s_process_input (self);
}

static void
s_request_sent (http_t *self)
{
    self->state = H_REQUEST_SENT;
    session_pause_client (self->session, 1);
    if (self->response_state == R_DONE)
        s_exchange_done (self);
    else
    if (self->response_state == R_AWAIT_HEAD)
        session_set_timer (self->session, S_RESPONSE_TIMEOUT_MS);
}

static void
s_response_done (http_t *self)
{
    self->response_state = R_DONE;
    if (!self->target_reusable)
        s_drop_target (self);
    if (self->state == H_REQUEST_SENT)
        s_exchange_done (self);
}

//  Request body bytes: how many belong to this request (sent on), and
//  whether the body ended. False if the body is malformed (handled).
static bool
s_feed_request_body (http_t *self, const uint8_t *data, size_t len, size_t *used,
                     bool *done)
{
    http_frame_t rc = http_framer_feed (&self->request_body, data, len, used);
    if (rc == HTTP_FRAME_ERROR) {
        log_info ("http %s: malformed chunked request body", session_peer (self->session));
        s_fail (self, 400, "malformed chunked request body");
        return false;
    }
    if (*used > 0)
        s_send_target (self, data, *used);
    *done = rc == HTTP_FRAME_DONE;
    return true;
}

static void
s_start_tunnel (http_t *self)
{
    log_info ("http %s CONNECT %s", session_peer (self->session), self->label);
    s_drop_target (self);
    s_bytes_consume (&self->in, self->request.head_len);
    self->target = self->request.target;
    self->target_state = T_CONNECTING;
    self->state = H_TUNNEL_CONNECTING;
    session_connect (self->session, self->target.host, self->target.port);
    //  the client may have sent its first bytes (a TLS hello) already
    if (self->in.len > 0) {
        s_send_target (self, self->in.data, self->in.len);
        s_bytes_consume (&self->in, self->in.len);
    }
}

static void
s_log_request (http_t *self)
{
    const http_request_t *req = &self->request;
    const char *path = req->path_len? (const char *) self->in.data + req->path: "/";
    int shown = req->path_len? (int) req->path_len: 1;
    bool cut = shown > S_LOG_PATH_MAX;
    log_info ("http %s %s %s%s%.*s%s", session_peer (self->session), req->method, self->label,
              path [0] == '?'? "/": "", cut? S_LOG_PATH_MAX: shown, path, cut? "...": "");
}

static void
s_start_forward (http_t *self)
{
    http_request_t *req = &self->request;
    s_log_request (self);

    char *head = (char *) malloc (HTTP_REWRITE_MAX);
    if (!head) {
        s_alloc_failed (self);
        return;
    }
    int head_len = http_request_rewrite (req, self->in.data, head, HTTP_REWRITE_MAX);
    if (head_len < 0) {
        free (head);
        s_fail (self, 431, NULL);
        return;
    }
    bool same_origin = self->target_state == T_OPEN && self->target_reusable
                    && self->target.port == req->target.port
                    && strcasecmp (self->target.host, req->target.host) == 0;
    if (!same_origin) {
        s_drop_target (self);
        self->target = req->target;
        self->target_state = T_CONNECTING;
        session_connect (self->session, self->target.host, self->target.port);
    }
    self->target_reused = same_origin;
    self->target_reusable = false;          //  until this response says otherwise
    s_send_target (self, (const uint8_t *) head, (size_t) head_len);
    free (head);

    s_bytes_consume (&self->in, req->head_len);
    self->state = H_FORWARD_REQUEST;
    self->response_state = R_AWAIT_HEAD;
    self->origin_spoke = false;
    self->response_started = false;
    self->close_after = !req->keep_alive;
    http_response_init (&self->response);
    self->head.len = 0;
    http_framer_init (&self->request_body, req->body, req->content_length);

    //  body bytes that came with the head
    size_t used = 0;
    bool done = self->request_body.done;
    if (!done && self->in.len > 0) {
        if (!s_feed_request_body (self, self->in.data, self->in.len, &used, &done))
            return;
        s_bytes_consume (&self->in, used);
    }
    if (done)
        s_request_sent (self);
}

//  In H_READ_HEAD: parse what the client sent so far.
static void
s_process_input (http_t *self)
{
    switch (http_request_parse (&self->request, self->in.data, self->in.len)) {
        case HTTP_NEED_MORE:
            //  a client that said all it had to say, even half a request, is done
            if (self->client_eof)
                s_finish (self);
            break;
        case HTTP_ERROR:
            log_info ("http %s: bad request (%d): %s", session_peer (self->session),
                      self->request.status, self->request.error);
            s_fail (self, self->request.status, self->request.error);
            break;
        case HTTP_OK:
            session_set_timer (self->session, 0);
            s_format_label (&self->request.target, self->label, sizeof self->label);
            if (self->request.is_connect)
                s_start_tunnel (self);
            else
                s_start_forward (self);
            break;
    }
}

//  --------------------------------------------------------------------------
//  Responses

static void
s_response_body_data (http_t *self, const uint8_t *data, size_t len)
{
    size_t used;
    http_frame_t rc = http_framer_feed (&self->response_body, data, len, &used);
    if (rc == HTTP_FRAME_ERROR) {
        log_info ("http %s: malformed chunked response from %s", session_peer (self->session),
                  self->label);
        s_abort (self);
        return;
    }
    if (used > 0)
        session_send_client (self->session, data, used);
    if (rc == HTTP_FRAME_DONE) {
        //  bytes after the end: this origin cannot be trusted with another request
        if (used < len)
            self->target_reusable = false;
        s_response_done (self);
    }
}

//  A final response head is complete at the start of data[0..len); the rest
//  is body.
static void
s_start_response (http_t *self, const uint8_t *data, size_t len)
{
    http_response_t *resp = &self->response;
    //  a request body still on its way cannot be followed by another request
    self->close_after = self->close_after || resp->body == HTTP_BODY_UNTIL_CLOSE
                     || self->state == H_FORWARD_REQUEST || self->client_eof;
    char *head = (char *) malloc (HTTP_REWRITE_MAX);
    if (!head) {
        s_alloc_failed (self);
        return;
    }
    int head_len = http_response_rewrite (resp, data, self->close_after,
                                          self->request.version, head, HTTP_REWRITE_MAX);
    if (head_len < 0) {
        free (head);
        s_fail (self, 502, "response head too large");
        return;
    }
    if (self->state == H_REQUEST_SENT)
        session_set_timer (self->session, 0);
    session_send_client (self->session, head, (size_t) head_len);
    free (head);
    self->response_started = true;
    self->target_reusable = resp->reusable;
    self->response_state = R_FORWARD_BODY;
    http_framer_init (&self->response_body, resp->body, resp->content_length);
    s_response_body_data (self, data + resp->head_len, len - resp->head_len);
}

//  Origin bytes while waiting for a response head. They are parsed where
//  they are; only an incomplete head is kept in self->head.
static void
s_response_head_data (http_t *self, const uint8_t *data, size_t len)
{
    const uint8_t *buf = data;
    size_t buf_len = len;
    if (self->head.len > 0) {
        if (!s_bytes_append (&self->head, data, len)) {
            s_alloc_failed (self);
            return;
        }
        buf = self->head.data;
        buf_len = self->head.len;
    }
    size_t pos = 0;                 //  start of the current response head in buf
    while (true) {
        http_response_t *resp = &self->response;
        switch (http_response_parse (resp, buf + pos, buf_len - pos, self->request.is_head)) {
            case HTTP_NEED_MORE:
                if (buf == self->head.data)
                    s_bytes_consume (&self->head, pos);
                else
                if (!s_bytes_append (&self->head, buf + pos, buf_len - pos))
                    s_alloc_failed (self);
                return;
            case HTTP_ERROR:
                log_info ("http %s: bad response from %s: %s", session_peer (self->session),
                          self->label, resp->error);
                s_drop_target (self);
                s_fail (self, 502, "the origin server sent a malformed response");
                return;
            case HTTP_OK:
                if (!resp->interim) {
                    //  (nothing below appends to self->head during this call)
                    s_start_response (self, buf + pos, buf_len - pos);
                    if (buf == self->head.data)
                        s_bytes_free (&self->head);
                    return;
                }
                //  100 Continue and friends; HTTP/1.0 clients do not expect them
                if (self->request.version == 11)
                    session_send_client (self->session, buf + pos, resp->head_len);
                pos += resp->head_len;
                http_response_init (resp);
                break;
        }
    }
}

//  --------------------------------------------------------------------------
//  Handler callbacks

static void *
s_create (session_t *session, const handler_conf_t *conf)
{
    (void) conf;
    http_t *self = (http_t *) calloc (1, sizeof (http_t));
    if (!self)
        return NULL;
    self->session = session;
    self->state = H_READ_HEAD;
    self->response_state = R_IDLE;
    self->target_state = T_NONE;
    http_request_init (&self->request);
    session_set_timer (session, S_HEAD_TIMEOUT_MS);
    return self;
}

static void
s_destroy (void **self_p)
{
    if (*self_p) {
        http_t *self = (http_t *) *self_p;
        s_bytes_free (&self->in);
        s_bytes_free (&self->head);
        s_bytes_free (&self->pending);
        free (self);
        *self_p = NULL;
    }
}

static void
s_client_data (void *self_, const uint8_t *data, size_t len)
{
    http_t *self = (http_t *) self_;
    switch (self->state) {
        case H_READ_HEAD:
            if (!s_bytes_append (&self->in, data, len)) {
                s_alloc_failed (self);
                return;
            }
            s_process_input (self);
            break;
        case H_TUNNEL_CONNECTING:
            s_send_target (self, data, len);
            break;
        case H_FORWARD_REQUEST: {
            size_t used;
            bool done;
            if (!s_feed_request_body (self, data, len, &used, &done))
                return;
            //  pipelined bytes wait until the response is through
            if (used < len && !s_bytes_append (&self->in, data + used, len - used)) {
                s_alloc_failed (self);
                return;
            }
            if (done)
                s_request_sent (self);
            break;
        }
        case H_REQUEST_SENT:
            //  arrived before the pause took effect
            if (!s_bytes_append (&self->in, data, len))
                s_alloc_failed (self);
            break;
        case H_TUNNEL:
        case H_CLOSING:
            break;
    }
}

static void
s_client_eof (void *self_)
{
    http_t *self = (http_t *) self_;
    self->client_eof = true;
    switch (self->state) {
        case H_READ_HEAD:
            s_process_input (self);
            break;
        case H_FORWARD_REQUEST:
            if (self->response_state == R_DONE)
                s_finish (self);
            else {
                log_info ("http %s: client closed in the middle of a request body",
                          session_peer (self->session));
                s_abort (self);
            }
            break;
        case H_TUNNEL_CONNECTING:
            //  a one-shot client: go on, the relay passes the FIN on
        case H_REQUEST_SENT:
            //  the response still goes out; s_process_input ends it after that
        case H_TUNNEL:
        case H_CLOSING:
            break;
    }
}

static void
s_connected (void *self_, int err, const struct sockaddr *local)
{
    http_t *self = (http_t *) self_;
    (void) local;
    if (self->target_state != T_CONNECTING)
        return;
    if (err == 0) {
        self->target_state = T_OPEN;
        if (self->pending.len > 0) {
            session_send_target (self->session, self->pending.data, self->pending.len);
            s_bytes_free (&self->pending);
        }
        if (self->state == H_TUNNEL_CONNECTING) {
            session_send_client (self->session, HTTP_CONNECT_ESTABLISHED,
                                 strlen (HTTP_CONNECT_ESTABLISHED));
            self->state = H_TUNNEL;
            session_relay (self->session);
        }
        else
        if (self->state == H_FORWARD_REQUEST)
            session_pause_client (self->session, 0);
        return;
    }
    self->target_state = T_NONE;
    s_bytes_free (&self->pending);
    char detail [ADDR_HOST_MAX + 128];
    int status = s_connect_error (self, err, detail, sizeof detail);
    log_warn ("http %s -> %s: %s", session_peer (self->session), self->label, detail);
    switch (self->state) {
        case H_TUNNEL_CONNECTING:
        case H_FORWARD_REQUEST:
        case H_REQUEST_SENT:
            s_fail (self, status, detail);
            break;
        case H_READ_HEAD:
        case H_TUNNEL:
        case H_CLOSING:
            break;
    }
}

static void
s_target_data (void *self_, const uint8_t *data, size_t len)
{
    http_t *self = (http_t *) self_;
    if (self->state == H_CLOSING || self->state == H_TUNNEL_CONNECTING
    ||  self->state == H_TUNNEL)
        return;
    switch (self->response_state) {
        case R_AWAIT_HEAD:
            self->origin_spoke = true;
            s_response_head_data (self, data, len);
            break;
        case R_FORWARD_BODY:
            s_response_body_data (self, data, len);
            break;
        case R_IDLE:
        case R_DONE:
            //  unasked-for bytes (a 408 on an idle connection): stop using it
            log_debug ("http %s: %zu unexpected bytes from %s", session_peer (self->session),
                       len, self->label);
            s_drop_target (self);
            break;
    }
}

static void
s_target_eof (void *self_, int err)
{
    http_t *self = (http_t *) self_;
    if (self->state == H_CLOSING || self->state == H_TUNNEL_CONNECTING
    ||  self->state == H_TUNNEL)
        return;
    switch (self->response_state) {
        case R_IDLE:
        case R_DONE:
            //  an idle kept connection closed: the next request reconnects
            s_drop_target (self);
            break;
        case R_AWAIT_HEAD:
            s_drop_target (self);
            if (self->target_reused && !self->origin_spoke) {
                //  the origin closed the kept connection as we reused it; the
                //  client's connection was reused too, so it retries on a reset
                log_debug ("http %s: kept connection to %s closed, aborting for a retry",
                           session_peer (self->session), self->label);
                s_abort (self);
            }
            else {
                log_info ("http %s: %s closed without a response", session_peer (self->session),
                          self->label);
                s_fail (self, 502, "the origin server closed the connection without a response");
            }
            break;
        case R_FORWARD_BODY:
            s_drop_target (self);
            if (self->response_body.kind == HTTP_BODY_UNTIL_CLOSE && err == 0)
                s_response_done (self);     //  close_after is set: the client gets a FIN
            else {
                log_info ("http %s: %s closed in the middle of a response (%s)",
                          session_peer (self->session), self->label,
                          err? strerror (err): "EOF");
                s_abort (self);
            }
            break;
    }
}

static void
s_timeout (void *self_)
{
    http_t *self = (http_t *) self_;
    switch (self->state) {
        case H_READ_HEAD:
            //  an idle kept connection ends quietly; half a request is cut off
            if (self->in.len == 0) {
                s_finish (self);
                session_set_timer (self->session, S_ERROR_CLOSE_TIMEOUT_MS);
            }
            else {
                log_info ("http %s: request head timed out", session_peer (self->session));
                s_abort (self);
            }
            break;
        case H_REQUEST_SENT:
            if (self->response_state == R_AWAIT_HEAD) {
                log_warn ("http %s: no response from %s", session_peer (self->session),
                          self->label);
                s_drop_target (self);
                s_fail (self, 504, "the origin server did not answer in time");
            }
            break;
        case H_CLOSING:
            s_abort (self);
            break;
        case H_TUNNEL_CONNECTING:
        case H_TUNNEL:
        case H_FORWARD_REQUEST:
            break;
    }
}

const handler_class_t http_handler_class = {
    .name = "http",
    .create = s_create,
    .destroy = s_destroy,
    .client_data = s_client_data,
    .client_eof = s_client_eof,
    .connected = s_connected,
    .target_data = s_target_data,
    .target_eof = s_target_eof,
    .timeout = s_timeout
};
