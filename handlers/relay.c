/*  relay — forwards a client's byte stream to a fixed address.

    Connects as soon as the client arrives; bytes the client sends meanwhile
    are queued for the target. Relaying to another wormhole by name arrives
    with the wormhole ends.
*/
#include <stdlib.h>
#include <string.h>

#include "runtime/base/log.h"
#include "runtime/handler.h"

typedef struct {
    session_t *session;
    hostport_t to;
} relay_t;

static void *
s_create (session_t *session, const handler_conf_t *conf)
{
    if (conf->kind != HANDLER_RELAY) {
        log_error ("relay to wormhole '%s' is not available in this build", conf->relay_wormhole);
        return NULL;
    }
    relay_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->session = session;
    self->to = conf->relay_to;
    session_connect (session, self->to.host, self->to.port);
    return self;
}

static void
s_destroy (void **self_p)
{
    free (*self_p);
    *self_p = NULL;
}

static void
s_client_data (void *self_, const uint8_t *data, size_t len)
{
    relay_t *self = self_;
    session_send_target (self->session, data, len);
}

static void
s_client_eof (void *self_)
{
    (void) self_;       //  passed on as a half-close once relaying starts
}

static void
s_connected (void *self_, int err, const struct sockaddr *local)
{
    relay_t *self = self_;
    (void) local;
    if (err) {
        log_info ("relay %s -> %s:%u failed: %s", session_peer (self->session), self->to.host,
                  self->to.port, err == SESSION_ERR_RESOLVE ? "name not resolved" : strerror (err));
        session_abort (self->session);
        return;
    }
    log_debug ("relay %s -> %s:%u", session_peer (self->session), self->to.host, self->to.port);
    session_relay (self->session);
}

const handler_class_t relay_handler_class = {
    .name = "relay",
    .create = s_create,
    .destroy = s_destroy,
    .client_data = s_client_data,
    .client_eof = s_client_eof,
    .connected = s_connected,
};
