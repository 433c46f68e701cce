/*  handover_port — the handler of a connection on an extra port (PROTOCOL.md
    section 5, step 2): read the ID the connection presents (v1: 16 bytes in
    clear; v2: a first flight of kind HANDOVER, docs/PROTOCOL-v2.md section
    5), find the tunnel registered under it (runtime/baton_registry.h) and
    hand the socket to the worker that owns that tunnel, as a "BATON" message
    in its inbox. Anything else (an unknown ID, garbage, too few bytes) gets
    the main port's silent treatment: read and dropped, closed at a deadline
    drawn at accept, so that a prober learns nothing from an extra port
    either (v1 used to close after exactly 1 s, or at once on the 16th byte;
    a real dialer sends its ID at once, so nothing is lost by waiting).

    States:
      ID      collecting the first bytes
      SILENT  refused: discarding until the deadline
      DONE    the socket is handed on, or refused
*/
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <czmq.h>

#include "actors/pending.h"
#include "actors/tunnel_wire.h"
#include "actors/wormhole.h"
#include "runtime/baton_registry.h"
#include "runtime/base/log.h"
#include "runtime/session.h"
#include "runtime/worker.h"


typedef enum { P_ID, P_SILENT, P_DONE } p_state_t;

typedef struct {
    session_t *session;
    const wormhole_t *wormhole;
    p_state_t state;
    tunnel_wire_accept_t *first;
    pending_t pending;          //  until it is handed on
    bool any;                   //  some bytes came
} handover_port_t;

static void *
s_create (session_t *session, const handler_conf_t *conf)
{
    handover_port_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->session = session;
    self->wormhole = conf->wormhole;
    self->first = tunnel_wire_accept_new (self->wormhole, true);
    if (!self->first) {
        free (self);
        return NULL;
    }
    session_set_timer (session, wormhole_probe_delay_ms (self->wormhole->conf));
    pending_add (&self->pending, session, self->wormhole);
    return self;
}

static void
s_destroy (void **self_p)
{
    handover_port_t *self = *self_p;
    if (self) {
        pending_remove (&self->pending);
        tunnel_wire_accept_destroy (&self->first);
    }
    free (self);
    *self_p = NULL;
}

static void
s_refuse (handover_port_t *self, const char *why, bool quiet)
{
    //  A connection that says nothing at all is a port check, not worth a line.
    if (quiet)
        log_debug ("wormhole %s: handover refused from %s: %s", self->wormhole->conf->name,
                   session_peer (self->session), why);
    else
        log_info ("wormhole %s: handover refused from %s: %s", self->wormhole->conf->name,
                  session_peer (self->session), why);
    session_trace (self->session, session_peer (self->session), "acceptor", "handover-refused", 0);
    self->state = P_SILENT;             //  the timer set at accept closes it
}

//  The worker that owns the tunnel takes the socket and the bytes after the ID.
static void
s_hand_on (handover_port_t *self, int worker, uint64_t tunnel, const uint8_t *rest, size_t len)
{
    int fd = session_take_client_fd (self->session);
    self->state = P_DONE;
    if (fd < 0) {
        session_abort (self->session);
        return;
    }
    zmsg_t *msg = zmsg_new ();
    zmsg_addstr (msg, "BATON");
    zmsg_addstrf (msg, "%d", fd);
    zmsg_addmem (msg, &tunnel, sizeof tunnel);
    zmsg_addmem (msg, rest, len);
    if (session_send_to_worker (self->session, worker, &msg) != 0) {
        close (fd);
        log_warn ("wormhole %s: cannot hand a handover connection to worker %d",
                  self->wormhole->conf->name, worker);
    }
}

static void
s_client_data (void *self_, const uint8_t *data, size_t len)
{
    handover_port_t *self = self_;
    if (self->state != P_ID)
        return;
    self->any = self->any || len > 0;
    size_t used = 0;
    const char *why = NULL;
    switch (tunnel_wire_accept_feed (self->first, data, len, &used, &why)) {
        case TUNNEL_WIRE_NEED_MORE:
            return;
        case TUNNEL_WIRE_REFUSED:
            s_refuse (self, why, false);
            return;
        case TUNNEL_WIRE_OK:
            break;
    }
    int worker;
    uint64_t tunnel;
    if (baton_registry_take (tunnel_wire_accept_id (self->first), &worker, &tunnel) != 0) {
        s_refuse (self, "unknown ID", false);
        return;
    }
    s_hand_on (self, worker, tunnel, data + used, len - used);
}

static void
s_client_eof (void *self_)
{
    handover_port_t *self = self_;
    if (self->state == P_ID)
        s_refuse (self, "closed before its ID", !self->any);
    if (self->state == P_SILENT)
        session_finish (self->session);
}

static void
s_connected (void *self_, int err, const struct sockaddr *local)
{
    (void) self_;
    (void) err;
    (void) local;
}

static void
s_timeout (void *self_)
{
    handover_port_t *self = self_;
    if (self->state != P_DONE) {
        self->state = P_DONE;
        session_finish (self->session);     //  the deadline drawn at accept
    }
}

const handler_class_t handover_port_handler_class = {
    .name = "handover-port",
    .create = s_create,
    .destroy = s_destroy,
    .client_data = s_client_data,
    .client_eof = s_client_eof,
    .connected = s_connected,
    .timeout = s_timeout,
};
