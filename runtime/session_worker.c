/*  session_worker — what the worker asks of a session and does to it
    (runtime/worker_priv.h): whether it has ended, whose it is, what it
    waits for; a warm session (handler_conf_t.warm) given its client.
*/
#include <assert.h>

#include "runtime/session_priv.h"
#include "runtime/worker_priv.h"

void
session_adopt_client (session_t *self, int fd)
{
    assert (self->warm && self->client.fd < 0);
    self->warm = false;
    self->client.fd = fd;
    session_client_socket (self, fd);
    self->user_facing = self->user_later;
    session_metrics_open (self);
    self->cls->client_arrived (self->handler);
}

bool
session_warm (session_t *self)
{
    return self->warm;
}

bool
session_is_dead (session_t *self)
{
    return session_dead (self);
}

bool
session_is_background (session_t *self)
{
    return self->background;
}

void
session_end (session_t *self)
{
    session_kill (self, false);
}

const void *
session_owner (session_t *self)
{
    return self->owner;
}

bool
session_awaits (session_t *self, uint64_t resolve_token)
{
    return !session_dead (self)
        && (self->resolve_token == resolve_token || session_udp_awaits (self, resolve_token));
}

worker_links_t *
session_links (session_t *self)
{
    return &self->links;
}
