/*  tunnel_local — a wormhole's user side: the handler of every connection a
    user makes to `server`.

    Distributed mode: this connection gets a tunnel connection of its own; the
    handler dials it (actors/dialer.c: proxy, hello, cipher) and then the
    worker relays, encrypting toward the tunnel. Bytes the user sends while the
    tunnel is set up are encrypted and queued behind the hello.

    Aggregated mode: the connection becomes one stream of the wormhole's shared
    tunnel (actors/tunnel_mux.c), and the worker relays between the socket and
    the stream. Used at the local end, and at the public end in reverse mode.

    When the far end's handler is socks, the user's first bytes are looked at
    before relaying starts, to answer a SOCKS5 greeting at once (s_greeting);
    after a greeting answered so, the request too: a UDP ASSOCIATE is served
    by actors/tunnel_udp.c.
*/
#include <stdlib.h>
#include <string.h>

#include "actors/dialer.h"
#include "actors/tunnel_end.h"
#include "actors/tunnel_mux.h"
#include "actors/tunnel_udp.h"
#include "runtime/base/log.h"
#include "runtime/session.h"

typedef struct {
    tunnel_end_t end;           //  the session; distributed: its tunnel's baton
    const wormhole_t *wormhole;
    dialer_t dialer;            //  distributed mode only
    bool tunnel_ready;          //  aggregated: always; distributed: once dialed
    bool greeting_pending;      //  waiting for the user's first bytes (see s_greeting)
    tunnel_udp_t *udp;          //  after a greeting answered here: the request (tunnel_udp.h)
} tunnel_local_t;

//  Relay once the tunnel is ready and the first bytes have been looked at.
static void
s_maybe_relay (tunnel_local_t *self)
{
    if (self->tunnel_ready && !self->greeting_pending && !self->udp) {
        session_pause_client (self->end.session, 0);
        session_relay (self->end.session);
    }
}

//  A SOCKS5 greeting that offers "no authentication" always gets 05 00 from
//  the remote end's socks handler (ours and the original's alike): answer it
//  here at once and drop the remote's answer when it comes. That saves the
//  user one round trip through the tunnel per connection. Returns the
//  greeting's length if it was answered here, else 0.
static size_t
s_greeting (tunnel_local_t *self, const uint8_t *data, size_t len)
{
    self->greeting_pending = false;
    if (len < 2 || data[0] != 5 || len < 2u + data[1] || !memchr (data + 2, 0, data[1]))
        return 0;
    static const uint8_t no_auth[2] = { 5, 0 };
    session_send_client (self->end.session, no_auth, sizeof no_auth);
    session_expect_target (self->end.session, no_auth, sizeof no_auth);
    return 2u + data[1];
}

//  The user's bytes after a greeting answered here: tunnel_udp looks for a
//  UDP ASSOCIATE; anything else it passes on, and relaying starts.
static void
s_udp_client_data (tunnel_local_t *self, const uint8_t *data, size_t len)
{
    if (tunnel_udp_client_data (self->udp, data, len) == TUNNEL_UDP_NOT_UDP) {
        tunnel_udp_destroy (&self->udp);
        s_maybe_relay (self);
    }
}

static void *
s_create (session_t *session, const handler_conf_t *conf)
{
    const wormhole_t *wormhole = conf->wormhole;
    tunnel_local_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->end.session = session;
    self->wormhole = wormhole;
    config_handler_type_t far = wormhole->conf->handler.kind;
    self->greeting_pending = far == CONFIG_SOCKS || far == CONFIG_SOCKS5;
    if (wormhole->conf->mode == WORMHOLE_AGGREGATED) {
        if (tunnel_mux_attach (wormhole, session) != 0) {
            free (self);
            return NULL;
        }
        self->tunnel_ready = true;
        s_maybe_relay (self);
        return self;
    }
    if (dialer_start (&self->dialer, session, wormhole) != 0) {
        free (self);
        return NULL;
    }
    if (wormhole->conf->has_local_proxy)
        session_pause_client (session, 1);      //  nothing may go out before the proxy's 200
    return self;
}

static void
s_destroy (void **self_p)
{
    tunnel_local_t *self = *self_p;
    if (self) {
        baton_destroy (&self->end.baton);
        tunnel_udp_destroy (&self->udp);
    }
    free (self);
    *self_p = NULL;
}

static void
s_client_data (void *self_, const uint8_t *data, size_t len)
{
    tunnel_local_t *self = self_;
    if (self->greeting_pending) {
        size_t greeting = s_greeting (self, data, len);
        if (greeting > 0 && (self->udp = tunnel_udp_new (self->end.session))) {
            session_send_target (self->end.session, data, greeting);
            data += greeting;
            len -= greeting;
            if (len == 0)
                return;
        }
    }
    if (self->udp) {
        s_udp_client_data (self, data, len);
        return;
    }
    session_send_target (self->end.session, data, len);
    s_maybe_relay (self);
}

static void
s_client_eof (void *self_)
{
    tunnel_local_t *self = self_;
    //  a UDP association ends with its TCP connection (RFC 1928)
    if (self->udp && tunnel_udp_taken (self->udp))
        session_abort (self->end.session);
    else
    if (self->udp) {
        tunnel_udp_pass_on (self->udp);
        tunnel_udp_destroy (&self->udp);
        s_maybe_relay (self);
    }
    //  passed on as a half-close once relaying
}

static void
s_advance (tunnel_local_t *self, dialer_state_t state)
{
    if (state == DIALER_FAILED)
        session_abort (self->end.session);
    else if (state == DIALER_READY) {
        self->tunnel_ready = true;
        tunnel_end_start_baton (&self->end, SESSION_TARGET, self->wormhole, true, self->dialer.id0);
        if (self->greeting_pending)
            session_pause_client (self->end.session, 0);    //  the proxy's wait is over
        s_maybe_relay (self);
    }
}

static void
s_connected (void *self_, int err, const struct sockaddr *local)
{
    tunnel_local_t *self = self_;
    (void) local;
    s_advance (self, dialer_connected (&self->dialer, err));
}

static void
s_target_data (void *self_, const uint8_t *data, size_t len)
{
    tunnel_local_t *self = self_;
    if (self->udp && self->tunnel_ready) {
        tunnel_udp_target_data (self->udp, data, len);
        return;
    }
    s_advance (self, dialer_target_data (&self->dialer, data, len));
}

//  Before relaying starts: the proxy gave up on us, or (aggregated) the
//  tunnel carrying this stream was lost.
static void
s_target_eof (void *self_, int err)
{
    tunnel_local_t *self = self_;
    (void) err;
    if (self->dialer.state == DIALER_PROXY_REPLY)
        log_warn ("wormhole %s: the proxy closed before answering", self->wormhole->conf->name);
    session_abort (self->end.session);
}

static void
s_timeout (void *self_)
{
    tunnel_local_t *self = self_;
    if (self->dialer.state == DIALER_PROXY_REPLY)
        log_warn ("wormhole %s: no answer from the proxy", self->wormhole->conf->name);
    else
    if (self->udp && !tunnel_udp_idle (self->udp))
        return;
    session_abort (self->end.session);
}

static void
s_udp_datagram (void *self_, int port, const struct sockaddr *from, const uint8_t *data, size_t len)
{
    tunnel_local_t *self = self_;
    if (self->udp)
        tunnel_udp_datagram (self->udp, port, from, data, len);
}

const handler_class_t tunnel_local_handler_class = {
    .name = "tunnel-local",
    .create = s_create,
    .destroy = s_destroy,
    .client_data = s_client_data,
    .client_eof = s_client_eof,
    .connected = s_connected,
    .target_data = s_target_data,
    .target_eof = s_target_eof,
    .timeout = s_timeout,
    .handover = tunnel_end_handover,
    .udp_datagram = s_udp_datagram,
};
