/*  tunnel_remote — the remote (accepting) end of a distributed wormhole, as a
    handler wrapped around the wormhole's own handler (socks, http, relay).

    It checks the first flight (v1: the hello, PROTOCOL.md section 2; v2:
    docs/PROTOCOL-v2.md section 4), installs the stream's node on the
    tunnel side (actors/tunnel_wire.h), and from then on passes every event
    to the inner handler, which sees the decrypted stream as if it were a
    plain client. A connection that is not a client of ours (an active
    prober, a replay; in v1, also a correct hello whose stream the inner
    handler refuses before relaying, or whose aggregated tunnel sends a
    frame that does not fit before it has proven itself: session_guard_probe) gets
    silence: its bytes are read and dropped, and it
    is closed at a random deadline drawn when it was accepted, so the port
    looks like nothing at all and no kind of probe is told apart; or, with
    `fallback:` set, it is spliced to that server (actors/fallback.h).

    States:
      HELLO     reading the first flight
      PROBE     refused: discard everything until the deadline
      FALLBACK  refused: spliced to the fallback server
      INNER     the inner handler serves the stream
*/
#include <stdlib.h>
#include <string.h>

#include "actors/fallback.h"
#include "actors/pending.h"
#include "actors/shaping.h"
#include "actors/tunnel_end.h"
#include "actors/tunnel_wire.h"
#include "actors/wormhole.h"
#include "nodes/mimic.h"
#include "runtime/base/log.h"
#include "runtime/session.h"
#include "runtime/timers.h"

typedef enum { R_HELLO, R_PROBE, R_FALLBACK, R_INNER } r_state_t;

typedef struct {
    tunnel_end_t end;           //  the session, the baton (NULL: no extra ports)
    const wormhole_t *wormhole;
    r_state_t state;
    tunnel_wire_accept_t *hello;
    pending_t pending;          //  until the first flight is accepted
    fallback_t *fallback;       //  with fallback: set, until the flight is accepted
    uint64_t probe_at;          //  the silent treatment's close, drawn at accept
    const handler_class_t *inner_class;
    void *inner;
    bool user_seen;             //  distributed: its user's first bytes came
} tunnel_remote_t;


static void *
s_create (session_t *session, const handler_conf_t *conf)
{
    tunnel_remote_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->end.session = session;
    self->wormhole = conf->wormhole;
    const wormhole_conf_t *wh = self->wormhole->conf;
    self->hello = tunnel_wire_accept_new (self->wormhole, false);
    self->inner_class = self->wormhole->accept.cls;
    if (wh->has_fallback)
        self->fallback = fallback_new ();
    if (!self->hello || !self->inner_class || (wh->has_fallback && !self->fallback)) {
        tunnel_wire_accept_destroy (&self->hello);
        fallback_destroy (&self->fallback);
        free (self);
        return NULL;
    }
    //  A connection that never completes its first flight is treated like a prober.
    int delay = wormhole_probe_delay_ms (wh);
    self->probe_at = timers_now_ms () + (uint64_t) delay;
    session_set_timer (session, delay);
    pending_add (&self->pending, session, self->wormhole);
    return self;
}

static void
s_destroy (void **self_p)
{
    tunnel_remote_t *self = *self_p;
    if (!self)
        return;
    pending_remove (&self->pending);
    if (self->state == R_INNER && self->wormhole->conf->mode == WORMHOLE_DISTRIBUTED)
        session_count (self->end.session, METRIC_TUNNELS_DOWN);
    //  A probe: a connection that never proved to be ours, whether refused,
    //  silent until its deadline, gone before it said enough, or cut off.
    if (self->state != R_INNER)
        session_count (self->end.session, METRIC_PROBES);
    baton_destroy (&self->end.baton);
    if (self->inner)
        self->inner_class->destroy (&self->inner);
    tunnel_wire_accept_destroy (&self->hello);
    fallback_destroy (&self->fallback);
    free (self);
    *self_p = NULL;
}

static void
s_hello (tunnel_remote_t *self, const uint8_t *data, size_t len)
{
    const wormhole_conf_t *wh = self->wormhole->conf;
    size_t used = 0;
    const char *why = NULL;
    bool kept = self->fallback && fallback_keep (self->fallback, data, len) == 0;
    switch (tunnel_wire_accept_feed (self->hello, data, len, &used, &why)) {
        case TUNNEL_WIRE_NEED_MORE:
            return;
        case TUNNEL_WIRE_REFUSED:
            if (kept) {
                log_info ("wormhole %s: %s from %s; spliced to the fallback server", wh->name,
                          why, session_peer (self->end.session));
                pending_remove (&self->pending);
                session_set_timer (self->end.session, 0);
                self->state = R_FALLBACK;
                fallback_start (self->fallback, self->end.session, &wh->fallback);
                return;
            }
            log_info ("wormhole %s: %s from %s; staying silent", wh->name, why,
                      session_peer (self->end.session));
            session_trace (self->end.session, session_peer (self->end.session), "acceptor", "probe", 0);
            self->state = R_PROBE;
            return;
        case TUNNEL_WIRE_OK:
            break;
    }
    pending_remove (&self->pending);
    fallback_destroy (&self->fallback);
    uint8_t id0[TUNNEL_ID_SIZE];
    if (tunnel_wire_accept_install (self->hello, self->end.session, SESSION_CLIENT, id0) != 0) {
        session_abort (self->end.session);
        return;
    }
    bool original = tunnel_wire_accept_original (self->hello);
    tunnel_wire_accept_destroy (&self->hello);
    shaping_start (self->end.session, SESSION_CLIENT, wh, false);
    session_set_timer (self->end.session, 0);
    //  v1's hello proves nothing by itself (a replay older than the hello
    //  memory is authentic): what the inner handler refuses before it relays
    //  (aggregated: before the tunnel has proven itself, tunnel_mux_streams.c)
    //  gets the same silence as a wrong hello, at the same deadline.
    if (!tunnel_wire_v2 (wh))
        session_guard_probe (self->end.session, self->probe_at);
    self->inner = self->inner_class->create (self->end.session, &self->wormhole->accept);
    if (!self->inner) {
        session_abort (self->end.session);
        return;
    }
    self->state = R_INNER;
    if (wh->mode == WORMHOLE_DISTRIBUTED)
        session_count (self->end.session, METRIC_TUNNELS_UP);   //  (aggregated: tunnel_mux counts)
    log_debug ("wormhole %s: tunnel from %s", wh->name, session_peer (self->end.session));
    tunnel_end_start_baton (&self->end, SESSION_CLIENT, self->wormhole, false, id0);
    if (original && self->end.baton)
        baton_linger (self->end.baton, BATON_ORIGINAL_LINGER_MS);
    //  Stream bytes that came with the first flight, read before the node was there.
    if (used < len)
        session_feed_read (self->end.session, SESSION_CLIENT, data + used, len - used);
}

static void
s_client_data (void *self_, const uint8_t *data, size_t len)
{
    tunnel_remote_t *self = self_;
    switch (self->state) {
        case R_HELLO:
            s_hello (self, data, len);
            break;
        case R_PROBE:
            break;          //  read and dropped
        case R_FALLBACK:
            //  Connecting still (then the worker relays): kept for the server.
            if (fallback_keep (self->fallback, data, len) != 0)
                session_abort (self->end.session);
            break;
        case R_INNER:
            //  A distributed tunnel dialed ahead of its user (preconnect) may
            //  have waited past the mimic's warm-up: its user gets the start
            //  a fresh connection gets, not a model learned from the
            //  handshake alone (which shaped a small reply to 0.1-0.6 s).
            if (!self->user_seen && self->wormhole->conf->mode == WORMHOLE_DISTRIBUTED)
                shaping_suspend (self->end.session, SESSION_CLIENT, MIMIC_WARMUP_MS);
            self->user_seen = true;
            self->inner_class->client_data (self->inner, data, len);
            break;
    }
}

static void
s_client_eof (void *self_)
{
    tunnel_remote_t *self = self_;
    if (self->state == R_INNER && self->inner_class->client_eof)
        self->inner_class->client_eof (self->inner);
    else if (self->state == R_FALLBACK)
        fallback_client_eof (self->fallback, self->end.session);
    else
        session_finish (self->end.session);
}

static void
s_connected (void *self_, int err, const struct sockaddr *local)
{
    tunnel_remote_t *self = self_;
    if (self->state == R_INNER)
        self->inner_class->connected (self->inner, err, local);
    else if (self->state == R_FALLBACK)
        fallback_connected (self->fallback, self->end.session, err);
}

static void
s_target_data (void *self_, const uint8_t *data, size_t len)
{
    tunnel_remote_t *self = self_;
    if (self->state == R_INNER && self->inner_class->target_data)
        self->inner_class->target_data (self->inner, data, len);
    else
        session_abort (self->end.session);
}

static void
s_target_eof (void *self_, int err)
{
    tunnel_remote_t *self = self_;
    if (self->state == R_INNER && self->inner_class->target_eof)
        self->inner_class->target_eof (self->inner, err);
    else
        session_finish (self->end.session);
}

static void
s_drained (void *self_)
{
    tunnel_remote_t *self = self_;
    if (self->state == R_INNER && self->inner_class->drained)
        self->inner_class->drained (self->inner);
}

static void
s_timeout (void *self_)
{
    tunnel_remote_t *self = self_;
    if (self->state == R_INNER && self->inner_class->timeout)
        self->inner_class->timeout (self->inner);
    else if (self->state == R_INNER)
        session_abort (self->end.session);
    else
        session_finish (self->end.session);     //  the prober's delay is over: a plain close
}

//  A UDP association of the inner socks handler (SOCKS_CMD_UDP_STREAM).
static void
s_udp_datagram (void *self_, int port, const struct sockaddr *from, const uint8_t *data, size_t len)
{
    tunnel_remote_t *self = self_;
    if (self->state == R_INNER && self->inner_class->udp_datagram)
        self->inner_class->udp_datagram (self->inner, port, from, data, len);
}

static void
s_udp_resolved (void *self_, int status, const struct sockaddr_storage *addrs,
                const socklen_t *lens, size_t count)
{
    tunnel_remote_t *self = self_;
    if (self->state == R_INNER && self->inner_class->udp_resolved)
        self->inner_class->udp_resolved (self->inner, status, addrs, lens, count);
}

const handler_class_t tunnel_remote_handler_class = {
    .name = "tunnel-remote",
    .create = s_create,
    .destroy = s_destroy,
    .client_data = s_client_data,
    .client_eof = s_client_eof,
    .connected = s_connected,
    .target_data = s_target_data,
    .target_eof = s_target_eof,
    .timeout = s_timeout,
    .drained = s_drained,
    .handover = tunnel_end_handover,
    .udp_datagram = s_udp_datagram,
    .udp_resolved = s_udp_resolved,
};
