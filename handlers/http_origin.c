/*  http_origin — the origin side of the HTTP proxy handler: the connection
    to the origin (kept across requests to the same host while its responses
    allow it) and the response state machine (r_state_t: wait for the head,
    forward the body).
*/
#include "handlers/http_priv.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/base/log.h"

//  --------------------------------------------------------------------------
//  The origin connection

void
http_drop_target (http_t *self)
{
    if (self->target_state != T_NONE) {
        session_close_target (self->session);
        self->target_state = T_NONE;
    }
    self->target_reusable = false;
    http_bytes_free (&self->pending);
}

//  Bytes for the origin. Until the connect completes they wait here, not in
//  the session (whose queue does not survive trying the next address), and
//  the client is paused, which bounds them.
void
http_send_target (http_t *self, const uint8_t *data, size_t len)
{
    switch (self->target_state) {
        case T_OPEN:
            session_send_target (self->session, data, len);
            break;
        case T_CONNECTING:
            if (!http_bytes_append (&self->pending, data, len)) {
                http_alloc_failed (self);
                return;
            }
            session_pause_client (self->session, 1);
            break;
        case T_NONE:
            break;          //  gone after an early final response: dropped
    }
}

//  The message of a failed connect, and its status (504 for a timeout).
static int
s_connect_error (http_t *self, int err, char *detail, size_t size)
{
    if (err == SESSION_ERR_RESOLVE) {
        snprintf (detail, size, "cannot resolve %s", self->target.host);
        return 502;
    }
    if (err == SESSION_ERR_DENIED) {
        snprintf (detail, size, "%s", self->acl.denied);
        return 403;
    }
    if (err == SESSION_ERR_TIMEOUT) {
        snprintf (detail, size, "timed out connecting to %s", self->label);
        return 504;
    }
    snprintf (detail, size, "cannot connect to %s: %s", self->label, strerror (err));
    return 502;
}

//  --------------------------------------------------------------------------
//  Responses

static void
s_response_done (http_t *self)
{
    self->response_state = R_DONE;
    if (!self->target_reusable)
        http_drop_target (self);
    if (self->state == H_REQUEST_SENT)
        http_exchange_done (self);
}

static void
s_response_body_data (http_t *self, const uint8_t *data, size_t len)
{
    size_t used;
    http_frame_t rc = http_framer_feed (&self->response_body, data, len, &used);
    if (rc == HTTP_FRAME_ERROR) {
        log_info ("http %s: malformed chunked response from %s", session_peer (self->session),
                  log_dest (self->label));
        http_abort (self);
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
        http_alloc_failed (self);
        return;
    }
    int head_len = http_response_rewrite (resp, data, self->close_after,
                                          self->request.version, head, HTTP_REWRITE_MAX);
    if (head_len < 0) {
        free (head);
        http_fail (self, 502, "response head too large");
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
        if (!http_bytes_append (&self->head, data, len)) {
            http_alloc_failed (self);
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
                    http_bytes_consume (&self->head, pos);
                else
                if (!http_bytes_append (&self->head, buf + pos, buf_len - pos))
                    http_alloc_failed (self);
                return;
            case HTTP_ERROR:
                log_info ("http %s: bad response from %s: %s", session_peer (self->session),
                          log_dest (self->label), resp->error);
                http_drop_target (self);
                http_fail (self, 502, "the origin server sent a malformed response");
                return;
            case HTTP_OK:
                if (!resp->interim) {
                    //  (nothing below appends to self->head during this call)
                    s_start_response (self, buf + pos, buf_len - pos);
                    if (buf == self->head.data)
                        http_bytes_free (&self->head);
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

void
http_connected (void *self_, int err, const struct sockaddr *local)
{
    http_t *self = (http_t *) self_;
    (void) local;
    if (self->target_state != T_CONNECTING)
        return;
    if (err == 0) {
        self->target_state = T_OPEN;
        if (self->pending.len > 0) {
            session_send_target (self->session, self->pending.data, self->pending.len);
            http_bytes_free (&self->pending);
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
    http_bytes_free (&self->pending);
    char detail [ADDR_HOST_MAX + 128];
    int status = s_connect_error (self, err, detail, sizeof detail);
    //  The detail names the target: the log says only why, unless destinations are logged.
    const char *why = log_destinations_shown () ? detail
                    : status == 403 ? self->acl.logged
                    : err == SESSION_ERR_RESOLVE ? "cannot resolve"
                    : status == 504 ? "timed out connecting" : strerror (err);
    if (status == 403) {
        http_count_denied ();
        log_info ("http %s -> %s: %s", session_peer (self->session), log_dest (self->label), why);
    }
    else
        log_warn_limited ("http %s -> %s: %s", session_peer (self->session), log_dest (self->label),
                          why);
    switch (self->state) {
        case H_TUNNEL_CONNECTING:
        case H_FORWARD_REQUEST:
        case H_REQUEST_SENT:
            http_fail (self, status, detail);
            break;
        case H_READ_HEAD:
        case H_TUNNEL:
        case H_CLOSING:
            break;
    }
}

//  Bytes and ends from the origin matter only to an exchange: a tunnel's are
//  the relay's, and a closing session wants nothing more.
static bool
s_ignores_origin (http_t *self)
{
    return self->state == H_CLOSING || self->state == H_TUNNEL_CONNECTING
        || self->state == H_TUNNEL;
}

void
http_target_data (void *self_, const uint8_t *data, size_t len)
{
    http_t *self = (http_t *) self_;
    if (s_ignores_origin (self))
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
            http_drop_target (self);
            break;
    }
}

void
http_target_eof (void *self_, int err)
{
    http_t *self = (http_t *) self_;
    if (s_ignores_origin (self))
        return;
    switch (self->response_state) {
        case R_IDLE:
        case R_DONE:
            //  an idle kept connection closed: the next request reconnects
            http_drop_target (self);
            break;
        case R_AWAIT_HEAD:
            http_drop_target (self);
            if (self->target_reused && !self->origin_spoke) {
                //  the origin closed the kept connection as we reused it; the
                //  client's connection was reused too, so it retries on a reset
                log_debug ("http %s: kept connection to %s closed, aborting for a retry",
                           session_peer (self->session), self->label);
                http_abort (self);
            }
            else {
                log_info ("http %s: %s closed without a response", session_peer (self->session),
                          log_dest (self->label));
                http_fail (self, 502, "the origin server closed the connection without a response");
            }
            break;
        case R_FORWARD_BODY:
            http_drop_target (self);
            if (self->response_body.kind == HTTP_BODY_UNTIL_CLOSE && err == 0)
                s_response_done (self);     //  close_after is set: the client gets a FIN
            else {
                log_info ("http %s: %s closed in the middle of a response (%s)",
                          session_peer (self->session), log_dest (self->label),
                          err? strerror (err): "EOF");
                http_abort (self);
            }
            break;
    }
}
