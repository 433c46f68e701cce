/*  http_end — how an HTTP proxy session ends. Errors before any response
    byte reached the client get a complete error reply; after that the only
    honest signal left is an abort.
*/
#include "handlers/http_priv.h"

#include "runtime/base/log.h"

void
http_abort (http_t *self)
{
    self->state = H_CLOSING;
    session_abort (self->session);
}

//  Close after what is queued (the session bounds how long that may take).
void
http_finish (http_t *self)
{
    self->state = H_CLOSING;
    session_finish (self->session);
}

//  Answer with an error status and close; once a response has started the
//  client can only be told by an abort.
void
http_fail (http_t *self, int status, const char *detail)
{
    if (self->response_started) {
        http_abort (self);
        return;
    }
    char reply [HTTP_ERROR_MAX];
    size_t len = http_error_response (status, detail, reply, sizeof reply);
    session_send_client (self->session, reply, len);
    http_finish (self);
    session_set_timer (self->session, HTTP_ERROR_CLOSE_TIMEOUT_MS);
}

void
http_alloc_failed (http_t *self)
{
    log_error ("http %s: out of memory", session_peer (self->session));
    http_abort (self);
}
