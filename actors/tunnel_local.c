/*  tunnel_local — a wormhole's user side: the handler of every connection a
    user makes to `server`.

    Distributed mode: this connection gets a tunnel connection of its own; the
    handler dials it (actors/dialer.c: proxy, hello, cipher) and then the
    worker relays, encrypting toward the tunnel. Bytes the user sends while the
    tunnel is set up are encrypted and queued behind the hello.

    Aggregated mode: the connection becomes one stream of the wormhole's shared
    tunnel (actors/tunnel_mux.c), and the worker relays between the socket and
    the stream. Used at the local end, and at the public end in reverse mode.

    When the far end's handler is socks or http, the user's handshake is
    answered here (actors/local_answer.h) before anything goes to the far
    end; in aggregated mode the stream is opened only then, so that its open
    and the request leave in one write. A SOCKS5 UDP ASSOCIATE decided so
    becomes an association carried on the stream (actors/tunnel_udp.h).

    With wire: tls a CONNECT answered here waits (at most JOIN_MS) for the
    user's first bytes and leaves with them: a TLS client's first record
    after its handshake is its request, not a small one a round trip before
    it (docs/PROTOCOL-v2.md section 9). A protocol whose server speaks
    first pays that wait once per connection.
*/
#include <stdlib.h>

#include "actors/dialer.h"
#include "actors/local_answer.h"
#include "actors/tunnel_end.h"
#include "actors/tunnel_mux.h"
#include "actors/tunnel_udp.h"
#include "actors/tunnel_wire.h"
#include "runtime/base/log.h"
#include "runtime/session.h"

#define JOIN_MS 1000

typedef struct {
    tunnel_end_t end;           //  the session; distributed: its tunnel's baton
    const wormhole_t *wormhole;
    dialer_t dialer;            //  distributed mode only
    bool tunnel_ready;          //  aggregated: once attached; distributed: once dialed
    local_answer_t *answer;     //  while the user's handshake is answered here, or NULL
    bool answering;             //  ... and not decided yet (the handshake timeout runs:
                                //  --handshake-timeout, as the far end's socks handler)
    bool joining;               //  the CONNECT waits for the user's first bytes (JOIN_MS)
    bool counted_up;            //  distributed: its tunnel is counted as up (metrics)
    tunnel_udp_t *udp;          //  a UDP association instead of a relay, or NULL
    bool warm;                  //  distributed, `preconnect`: dialed ahead of its user
} tunnel_local_t;

//  How long a tunnel dialed ahead waits for its user: a third of the far
//  end's handshake timeout (both ends read one config), so that the user
//  still has most of it for the handshake once it has come.
static int
s_warm_ms (session_t *session)
{
    return session_handshake_timeout_ms (session) / 3;
}

//  Relay once the tunnel is ready and the handshake has been answered here
//  (and, v1, the far end has taken the greeting).
static void
s_maybe_relay (tunnel_local_t *self)
{
    if (self->tunnel_ready && !self->answering && !self->udp && !self->warm
    &&  !(self->answer && local_answer_waiting (self->answer))) {
        session_pause_client (self->end.session, 0);
        session_relay (self->end.session);
    }
}

//  Aggregated: the user's session becomes a stream of the tunnel.
static int
s_attach (tunnel_local_t *self)
{
    if (tunnel_mux_attach (self->wormhole, self->end.session) != 0)
        return -1;
    self->tunnel_ready = true;
    return 0;
}

//  The handshake is decided: open the stream, the held bytes to the far end.
static void
s_answered (tunnel_local_t *self)
{
    self->answering = false;
    if (self->wormhole->conf->mode == WORMHOLE_AGGREGATED && s_attach (self) != 0) {
        session_abort (self->end.session);
        return;
    }
    if (!local_answer_forward (self->answer, self->end.session))
        session_pause_client (self->end.session, 1);    //  v1: until the far end's 05 00
    s_maybe_relay (self);
}

//  Decided on a UDP ASSOCIATE whose greeting was answered here: the
//  association's datagrams go on the stream, which is never relayed.
static bool
s_udp_decided (tunnel_local_t *self)
{
    const uint8_t *greeting;
    size_t greeting_len;
    const socks_request_t *request = local_answer_udp (self->answer, &greeting, &greeting_len);
    if (!request)
        return false;
    self->answering = false;
    if (self->wormhole->conf->mode == WORMHOLE_AGGREGATED && s_attach (self) != 0) {
        session_abort (self->end.session);
        return true;
    }
    self->udp = tunnel_udp_new (self->end.session, greeting, greeting_len, request);
    local_answer_destroy (&self->answer);
    if (!self->udp)
        session_abort (self->end.session);
    return true;
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
    self->warm = session_warm (session);
    if (local_answer_applies (wormhole->conf)) {
        if (!(self->answer = local_answer_new (wormhole->conf))) {
            free (self);
            return NULL;
        }
        self->answering = true;
    }
    if (self->warm)
        session_set_timer (session, s_warm_ms (session));
    else if (self->answering)
        session_set_timer (session, session_handshake_timeout_ms (session));
    if (wormhole->conf->mode == WORMHOLE_AGGREGATED) {
        //  With an answer here, the stream opens once it is decided.
        bool refused = self->answering ? !tunnel_mux_user_arrived (wormhole) : s_attach (self) != 0;
        if (refused && self->answering)
            log_info ("wormhole %s: no tunnel yet; refusing %s", wormhole->conf->name,
                      session_peer (session));
        if (refused) {
            local_answer_destroy (&self->answer);
            free (self);
            return NULL;
        }
        s_maybe_relay (self);
        return self;
    }
    if (dialer_start (&self->dialer, session, wormhole) != 0) {
        local_answer_destroy (&self->answer);
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
        if (self->counted_up)
            session_count (self->end.session, METRIC_TUNNELS_DOWN);
        baton_destroy (&self->end.baton);
        local_answer_destroy (&self->answer);
        tunnel_udp_destroy (&self->udp);
    }
    free (self);
    *self_p = NULL;
}

//  Decided: a CONNECT answered here on the TLS-shaped wire, with nothing
//  of the user's behind it yet, waits for the user's first bytes (or
//  JOIN_MS); anything else goes at once.
static void
s_decided (tunnel_local_t *self)
{
    const wormhole_conf_t *conf = self->wormhole->conf;
    if (tunnel_wire_v2 (conf) && conf->wire == CONFIG_WIRE_TLS
    &&  local_answer_connected (self->answer)) {
        self->joining = true;
        session_set_timer (self->end.session, JOIN_MS);
        return;
    }
    s_answered (self);
}

static void
s_client_data (void *self_, const uint8_t *data, size_t len)
{
    tunnel_local_t *self = self_;
    if (self->udp)
        return;         //  TCP bytes have no meaning on a UDP association's connection
    if (self->joining) {
        self->joining = false;
        if (local_answer_join (self->answer, data, len) != 0) {
            session_abort (self->end.session);
            return;
        }
        s_answered (self);
        return;
    }
    if (self->answering) {
        if (local_answer_client (self->answer, self->end.session, data, len) == LOCAL_ANSWER_GO
        &&  !s_udp_decided (self))
            s_decided (self);
        return;
    }
    session_send_target (self->end.session, data, len);
    s_maybe_relay (self);
}

//  Passed on as a half-close once relaying; a handshake cut short passes
//  as it is.
static void
s_client_eof (void *self_)
{
    tunnel_local_t *self = self_;
    if (self->udp)
        session_abort (self->end.session);      //  RFC 1928: the association ends with it
    else
    if (self->answering) {
        self->joining = false;
        s_answered (self);
    }
}

static void
s_advance (tunnel_local_t *self, dialer_state_t state)
{
    if (state == DIALER_FAILED)
        session_abort (self->end.session);
    else if (state == DIALER_READY) {
        self->tunnel_ready = true;
        self->counted_up = true;
        session_count (self->end.session, METRIC_TUNNELS_UP);
        tunnel_end_start_baton (&self->end, SESSION_TARGET, self->wormhole, true, self->dialer.id0);
        if (self->answering)
            session_pause_client (self->end.session, 0);    //  the proxy's wait is over
        //  (the proxy's wait used the timer)
        if (self->warm)
            session_set_timer (self->end.session, s_warm_ms (self->end.session));
        else if (self->answering)
            session_set_timer (self->end.session, self->joining ? JOIN_MS
                               : session_handshake_timeout_ms (self->end.session));
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
    if (self->answer && local_answer_waiting (self->answer)) {
        int rc = local_answer_target (self->answer, self->end.session, data, len);
        if (rc < 0)
            session_abort (self->end.session);
        else if (rc > 0)
            s_maybe_relay (self);
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
    if (self->joining) {
        self->joining = false;      //  no first bytes: the CONNECT goes alone
        s_answered (self);
        return;
    }
    if (self->warm) {
        //  Nobody came: the connection goes (a browser's preconnect does the same).
        log_debug ("wormhole %s: the tunnel dialed ahead was not needed; closing",
                   self->wormhole->conf->name);
        session_abort (self->end.session);
        return;
    }
    if (self->dialer.state == DIALER_PROXY_REPLY)
        log_warn ("wormhole %s: no answer from the proxy", self->wormhole->conf->name);
    else
    if (self->udp) {
        if (!tunnel_udp_idle (self->udp))
            return;
    }
    else
    if (self->answer) {
        log_info ("wormhole %s: %s: no complete handshake in %d s; closing", self->wormhole->conf->name,
                  session_peer (self->end.session),
                  session_handshake_timeout_ms (self->end.session) / 1000);
        session_handshake_timed_out (self->end.session);
    }
    session_abort (self->end.session);
}

//  A tunnel dialed ahead has its user: the user's time starts now.
static void
s_client_arrived (void *self_)
{
    tunnel_local_t *self = self_;
    self->warm = false;
    if (self->dialer.state == DIALER_PROXY_REPLY)
        ;                       //  the proxy's own wait goes on
    else if (self->answering)
        session_set_timer (self->end.session, session_handshake_timeout_ms (self->end.session));
    else
        session_set_timer (self->end.session, 0);
    s_maybe_relay (self);
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
    .client_arrived = s_client_arrived,
    .udp_datagram = s_udp_datagram,
};
