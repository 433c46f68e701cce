/*  http — the HTTP proxy handler.

    Two state machines run side by side, because an origin may answer before
    the request body has been sent (100 Continue, an early 413): the client
    side (h_state_t: read a head, forward its body, wait), here, and the
    response side (r_state_t, in http_origin.c). An exchange ends when both
    are done; only then is the next request parsed, so the client is paused
    while a response is in flight and pipelined bytes wait in self->in.

    CONNECT is answered once the target is up and then left to the worker's
    relay.
*/
#include "handlers/http.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "handlers/http_priv.h"
#include "runtime/base/log.h"

//  To receive a complete request head (the first, and between requests).
#define S_HEAD_TIMEOUT_MS 30000
//  For the response head once the whole request has been sent.
#define S_RESPONSE_TIMEOUT_MS 300000
//  Longest path shown in a log line.
#define S_LOG_PATH_MAX 120

static void s_process_input (http_t *self);

//  Requests denied by the target rules, by every http session of the process.
static atomic_ulong s_denied;
//  Requests answered 407 (no or wrong credentials).
static atomic_ulong s_auth_failed;

unsigned long
http_denied_total (void)
{
    return atomic_load (&s_denied);
}

unsigned long
http_auth_failed_total (void)
{
    return atomic_load (&s_auth_failed);
}

void
http_count_denied (void)
{
    atomic_fetch_add (&s_denied, 1);
}

void
http_connect_target (http_t *self)
{
    target_acl_reset (&self->acl);
    session_connect_filtered (self->session, self->target.host, self->target.port,
                              target_acl_filter, &self->acl);
}

//  "host:port" for log lines ([v6]:port for an IPv6 literal).
static void
s_format_label (const hostport_t *target, char *buf, size_t size)
{
    snprintf (buf, size, strchr (target->host, ':')? "[%s]:%u": "%s:%u",
              target->host, target->port);
}

//  --------------------------------------------------------------------------
//  One exchange

//  Both the request and its response are through: next request, or close.
void
http_exchange_done (http_t *self)
{
    self->response_state = R_IDLE;
    if (self->close_after) {
        http_finish (self);
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
        http_exchange_done (self);
    else
    if (self->response_state == R_AWAIT_HEAD)
        session_set_timer (self->session, S_RESPONSE_TIMEOUT_MS);
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
        http_fail (self, 400, "malformed chunked request body");
        return false;
    }
    if (*used > 0)
        http_send_target (self, data, *used);
    *done = rc == HTTP_FRAME_DONE;
    return true;
}

static void
s_start_tunnel (http_t *self)
{
    log_dest_info ("http %s CONNECT %s", session_peer (self->session), self->label);
    http_drop_target (self);
    http_bytes_consume (&self->in, self->request.head_len);
    self->target = self->request.target;
    self->target_state = T_CONNECTING;
    self->state = H_TUNNEL_CONNECTING;
    http_connect_target (self);
    //  the client may have sent its first bytes (a TLS hello) already
    if (self->in.len > 0) {
        http_send_target (self, self->in.data, self->in.len);
        http_bytes_consume (&self->in, self->in.len);
    }
}

static void
s_log_request (http_t *self)
{
    const http_request_t *req = &self->request;
    const char *path = req->path_len? (const char *) self->in.data + req->path: "/";
    int shown = req->path_len? (int) req->path_len: 1;
    bool cut = shown > S_LOG_PATH_MAX;
    log_dest_info ("http %s %s %s%s%.*s%s", session_peer (self->session), req->method, self->label,
              path [0] == '?'? "/": "", cut? S_LOG_PATH_MAX: shown, path, cut? "...": "");
}

static void
s_start_forward (http_t *self)
{
    http_request_t *req = &self->request;
    s_log_request (self);

    char *head = (char *) malloc (HTTP_REWRITE_MAX);
    if (!head) {
        http_alloc_failed (self);
        return;
    }
    int head_len = http_request_rewrite (req, self->in.data, head, HTTP_REWRITE_MAX);
    if (head_len < 0) {
        free (head);
        http_fail (self, 431, NULL);
        return;
    }
    bool same_origin = self->target_state == T_OPEN && self->target_reusable
                    && self->target.port == req->target.port
                    && strcasecmp (self->target.host, req->target.host) == 0;
    if (!same_origin) {
        http_drop_target (self);
        self->target = req->target;
        self->target_state = T_CONNECTING;
        http_connect_target (self);
    }
    self->target_reused = same_origin;
    self->target_reusable = false;          //  until this response says otherwise
    http_send_target (self, (const uint8_t *) head, (size_t) head_len);
    free (head);

    http_bytes_consume (&self->in, req->head_len);
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
        http_bytes_consume (&self->in, used);
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
                http_finish (self);
            break;
        case HTTP_ERROR:
            log_info ("http %s: bad request (%d): %s", session_peer (self->session),
                      self->request.status, self->request.error);
            http_fail (self, self->request.status, self->request.error);
            break;
        case HTTP_OK:
            session_set_timer (self->session, 0);
            s_format_label (&self->request.target, self->label, sizeof self->label);
            if (!http_request_authorized (&self->request, self->in.data, self->users)) {
                atomic_fetch_add (&s_auth_failed, 1);
                log_info ("http %s %s %s: 407, no valid proxy credentials",
                          session_peer (self->session), self->request.method,
                          log_dest (self->label));
                char reply [HTTP_ERROR_MAX];
                size_t len = http_auth_required_response (reply, sizeof reply);
                if (self->response_started)
                    http_abort (self);
                else {
                    session_send_client (self->session, reply, len);
                    http_finish (self);
                    session_set_timer (self->session, HTTP_ERROR_CLOSE_TIMEOUT_MS);
                }
                break;
            }
            if (self->request.is_connect)
                s_start_tunnel (self);
            else
                s_start_forward (self);
            break;
    }
}

//  --------------------------------------------------------------------------
//  Handler callbacks

static void *
s_create (session_t *session, const handler_conf_t *conf)
{
    http_t *self = (http_t *) calloc (1, sizeof (http_t));
    if (!self)
        return NULL;
    self->session = session;
    self->acl.acl = conf->acl;
    self->users = conf->users;
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
        http_bytes_free (&self->in);
        http_bytes_free (&self->head);
        http_bytes_free (&self->pending);
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
            if (!http_bytes_append (&self->in, data, len)) {
                http_alloc_failed (self);
                return;
            }
            s_process_input (self);
            break;
        case H_TUNNEL_CONNECTING:
            http_send_target (self, data, len);
            break;
        case H_FORWARD_REQUEST: {
            size_t used;
            bool done;
            if (!s_feed_request_body (self, data, len, &used, &done))
                return;
            //  pipelined bytes wait until the response is through
            if (used < len && !http_bytes_append (&self->in, data + used, len - used)) {
                http_alloc_failed (self);
                return;
            }
            if (done)
                s_request_sent (self);
            break;
        }
        case H_REQUEST_SENT:
            //  arrived before the pause took effect
            if (!http_bytes_append (&self->in, data, len))
                http_alloc_failed (self);
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
                http_finish (self);
            else {
                log_info ("http %s: client closed in the middle of a request body",
                          session_peer (self->session));
                http_abort (self);
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
s_timeout (void *self_)
{
    http_t *self = (http_t *) self_;
    switch (self->state) {
        case H_READ_HEAD:
            //  an idle kept connection ends quietly; half a request is cut off
            if (self->in.len == 0) {
                http_finish (self);
                session_set_timer (self->session, HTTP_ERROR_CLOSE_TIMEOUT_MS);
            }
            else {
                log_info ("http %s: request head timed out", session_peer (self->session));
                http_abort (self);
            }
            break;
        case H_REQUEST_SENT:
            if (self->response_state == R_AWAIT_HEAD) {
                log_warn_limited ("http %s: no response from %s", session_peer (self->session),
                                  self->label);
                http_drop_target (self);
                http_fail (self, 504, "the origin server did not answer in time");
            }
            break;
        case H_CLOSING:
            http_abort (self);
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
    .connected = http_connected,
    .target_data = http_target_data,
    .target_eof = http_target_eof,
    .timeout = s_timeout
};
