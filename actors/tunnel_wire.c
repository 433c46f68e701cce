/*  tunnel_wire — v1 and v2 at a tunnel's ends (see tunnel_wire.h). */
#include "actors/tunnel_wire.h"

#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <time.h>

#include <openssl/crypto.h>

#include "nodes/cipher.h"
#include "nodes/inband.h"
#include "nodes/replay_filter.h"
#include "nodes/v1_seen.h"
#include "nodes/v2_node.h"
#include "nodes/wirecrypto.h"
#include "runtime/handover.h"

static v2_suite_t
s_suite (const wormhole_conf_t *conf)
{
    return conf->cipher == CONFIG_CHACHA20_POLY1305 ? V2_CHACHA20_POLY1305 : V2_AES_256_GCM;
}

static bool
s_tls (const wormhole_conf_t *conf)
{
    return conf->wire == CONFIG_WIRE_TLS;
}

static uint64_t
s_now (void)
{
    return (uint64_t) time (NULL);
}

static void
s_send (session_t *session, session_side_t side, const void *data, size_t len)
{
    struct iovec iov = { (void *) data, len };
    session_sendv (session, side, &iov, 1);
}

//  How long a v1 tunnel's FIN waits behind its last byte. The original end
//  reads its socket into a pipeline of processes (decrypt, in-band scanner,
//  the tunnel, the user's socket) and stops all of them when the socket
//  closes (mimicsocks_wormhole_local.erl:199, mimicsocks_wormhole_remote.erl:175,
//  {tcp_closed, ...} -> stop): whatever was still in that pipeline is lost,
//  which cut the tails of parallel downloads (issue 13). A C peer, or the
//  user, closing first ends the wait.
#define S_V1_FIN_DELAY_MS 1000

//  An original local end reads its tunnel at once whatever its user takes
//  ({active, true}: mimicsocks_wormhole_local.erl:290, no flow control), so
//  nothing on our socket tells how far its user is: a slow user's bytes wait
//  in its processes' mailboxes (mimicsocks_local.erl:61-62 blocks on the
//  user's socket) and die with them at our FIN. Toward a dialer without the
//  C mark (wire_hello_marked) the FIN of a distributed wormhole's accepting
//  end waits as long as a user taking this many bytes/s needs for what it
//  was sent. The original closes the tunnel itself once its user has closed
//  (mimicsocks_local.erl:67-68, 73-76), which ends the wait: only a reply
//  that ends by its close waits the whole time, for up to
//  SESSION_FIN_PACED_MAX_MS. A marked (C) dialer passes our FIN on only
//  after the bytes before it: no wait.
#define S_V1_FIN_PACE_RATE (256 * 1024)

_Static_assert (WIRE_HELLO_SIZE - WIRE_IV_SIZE == TUNNEL_ID_SIZE, "a v1 hello ends with its ID0");

//  --------------------------------------------------------------------------
//  Dialing end

static int
s_dial_v1 (session_t *session, session_side_t side, const wormhole_conf_t *conf,
           uint8_t id0[TUNNEL_ID_SIZE])
{
    uint8_t iv[WIRE_IV_SIZE], hello[WIRE_HELLO_SIZE];
    if (wire_hello_make (conf->key, conf->key_len, iv, hello) != 0)
        return -1;
    cipher_t *cipher = cipher_new (conf->key, conf->key_len, iv);
    if (!cipher)
        return -1;
    memcpy (id0, hello + WIRE_IV_SIZE, TUNNEL_ID_SIZE);
    s_send (session, side, hello, sizeof hello);
    session_delay_fin (session, side, S_V1_FIN_DELAY_MS);
    return session_add_node (session, side, NODE_OUTER, &cipher_node_class, cipher);
}

#define S_FLIGHT_RAW_MAX (V2_SALT_SIZE + V2_OVERHEAD + V2_HELLO_FIXED + V2_ID_SIZE + V2_PAD_MAX)
#define S_FLIGHT_MAX (S_FLIGHT_RAW_MAX > V2_FLIGHT_TLS_MAX ? S_FLIGHT_RAW_MAX : V2_FLIGHT_TLS_MAX)

//  A v2 first flight of that kind, dated now, with a fresh salt (into
//  salt) and random padding (less if cap is short), or TLS-shaped; cs for
//  the server's (and, TLS, echo: the client's session_id), id for a
//  handover's. *dir (if not NULL) gets the direction after it. Returns
//  its length, or -1.
static int
s_flight (const wormhole_conf_t *conf, v2_kind_t kind, const uint8_t *cs, const uint8_t *echo,
          const uint8_t *id, uint8_t salt[V2_SALT_SIZE], uint8_t *out, size_t cap, v2_dir_t **dir)
{
    v2_hello_t hello = { .kind = kind, .time = s_now () };
    //  An aggregated accepting end's mux hello (a 28-byte record) joins the
    //  server flight's segment (s_install_v2): that segment stays nginx's size.
    if (kind == V2_KIND_SERVER && conf->mode == WORMHOLE_AGGREGATED)
        hello.trim = 28;
    if (id)
        memcpy (hello.id, id, V2_ID_SIZE);
    if (echo)
        memcpy (hello.echo, echo, TLS_SID_SIZE);
    if (s_tls (conf))
        return v2_random (salt, V2_SALT_SIZE) == 0
             ? v2_flight_make_tls (s_suite (conf), conf->key, conf->key_len, salt, cs, &hello,
                                   conf->sni, out, cap, dir)
             : -1;
    size_t pad = v2_flight_padding ();
    if (v2_flight_size (kind, pad) > cap)
        pad = V2_PAD_MIN;
    return v2_random (salt, V2_SALT_SIZE) == 0
         ? v2_flight_make (s_suite (conf), conf->key, conf->key_len, salt, cs, &hello, pad,
                           out, cap, dir)
         : -1;
}

static int
s_dial_v2 (session_t *session, session_side_t side, const wormhole_conf_t *conf)
{
    uint8_t cs[V2_SALT_SIZE], flight[S_FLIGHT_MAX];
    v2_dir_t *tx = NULL;
    int n = s_flight (conf, V2_KIND_TUNNEL, NULL, NULL, NULL, cs, flight, sizeof flight, &tx);
    if (n < 0)
        return -1;
    v2_node_t *node = v2_node_new_client (s_suite (conf), conf->key, conf->key_len, cs, tx);
    if (!node)
        return -1;
    v2_node_set_early (node, conf->early_data);
    s_send (session, side, flight, (size_t) n);
    return session_add_node (session, side, NODE_OUTER, &v2_node_class, node);
}

int
tunnel_wire_dial (session_t *session, session_side_t side, const wormhole_conf_t *conf,
                  uint8_t id0[TUNNEL_ID_SIZE])
{
    memset (id0, 0, TUNNEL_ID_SIZE);
    return tunnel_wire_v2 (conf) ? s_dial_v2 (session, side, conf)
                                 : s_dial_v1 (session, side, conf, id0);
}

//  --------------------------------------------------------------------------
//  Accepting end

struct tunnel_wire_accept_t {
    const wormhole_t *wormhole;
    bool handover;
    //  v1
    wire_hello_parser_t *hello;
    bool original;              //  installed, and the hello lacks the C mark
    uint8_t id[TUNNEL_ID_SIZE];
    size_t id_have;
    //  v2
    v2_flight_parser_t *flight;
};

tunnel_wire_accept_t *
tunnel_wire_accept_new (const wormhole_t *wormhole, bool handover)
{
    const wormhole_conf_t *conf = wormhole->conf;
    tunnel_wire_accept_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->wormhole = wormhole;
    self->handover = handover;
    v2_kind_t kind = handover ? V2_KIND_HANDOVER : V2_KIND_TUNNEL;
    if (tunnel_wire_v2 (conf))
        self->flight = s_tls (conf)
                     ? v2_flight_parser_new_tls (s_suite (conf), conf->key, conf->key_len, kind, NULL)
                     : v2_flight_parser_new (s_suite (conf), conf->key, conf->key_len, kind, NULL);
    else
    if (!handover)
        self->hello = wire_hello_parser_new (conf->key, conf->key_len);
    if ((tunnel_wire_v2 (conf) && !self->flight) || (!tunnel_wire_v2 (conf) && !handover && !self->hello))
        tunnel_wire_accept_destroy (&self);
    return self;
}

void
tunnel_wire_accept_destroy (tunnel_wire_accept_t **self_p)
{
    tunnel_wire_accept_t *self = *self_p;
    if (!self)
        return;
    wire_hello_parser_destroy (&self->hello);
    v2_flight_parser_destroy (&self->flight);
    free (self);
    *self_p = NULL;
}

//  v2: authentic is not enough; fresh too.
static tunnel_wire_result_t
s_check_v2 (tunnel_wire_accept_t *self, const char **why)
{
    const v2_hello_t *hello = v2_flight_parser_hello (self->flight);
    uint64_t now = s_now ();
    if (hello->time + V2_TIME_WINDOW_S < now || hello->time > now + V2_TIME_WINDOW_S) {
        *why = "a first flight out of the time window (stale, a replay or a wrong clock)";
        return TUNNEL_WIRE_REFUSED;
    }
    replay_filter_t *replay = self->wormhole->replay;
    switch (replay ? replay_filter_check (replay, v2_flight_parser_salt (self->flight), now)
                   : REPLAY_FULL) {
        case REPLAY_FRESH:
            break;
        case REPLAY_SEEN:
            *why = "a replayed first flight";
            return TUNNEL_WIRE_REFUSED;
        case REPLAY_FULL:
            *why = "the replay filter is full (a flood of new connections?)";
            return TUNNEL_WIRE_REFUSED;
    }
    if (self->handover)
        memcpy (self->id, hello->id, TUNNEL_ID_SIZE);
    return TUNNEL_WIRE_OK;
}

//  v1 has no time in its hello, but the same hello twice is a replay (the
//  original's IVs, even its low-entropy ones, have at least 74 bits): one
//  accepted since this end started (within the memory's count) is refused
//  like a wrong one. Only authentic hellos are remembered, by their ID0.
static tunnel_wire_result_t
s_check_v1 (tunnel_wire_accept_t *self, const char **why)
{
    v1_seen_t *seen = self->wormhole->v1_seen;
    if (!seen)
        return TUNNEL_WIRE_OK;
    switch (v1_seen_check (seen, wire_hello_parser_id0 (self->hello))) {
        case REPLAY_FRESH:
            return TUNNEL_WIRE_OK;
        case REPLAY_SEEN:
            *why = "a replayed hello";
            return TUNNEL_WIRE_REFUSED;
        case REPLAY_FULL:
            break;
    }
    *why = "no memory left for the hellos seen (out of memory)";
    return TUNNEL_WIRE_REFUSED;
}

tunnel_wire_result_t
tunnel_wire_accept_feed (tunnel_wire_accept_t *self, const uint8_t *data, size_t len,
                         size_t *used, const char **why)
{
    *used = 0;
    if (self->flight) {
        switch (v2_flight_parser_feed (self->flight, data, len, used)) {
            case V2_FLIGHT_NEED_MORE:
                return TUNNEL_WIRE_NEED_MORE;
            case V2_FLIGHT_BAD:
                *why = "not a first flight of this wormhole (wrong key, garbage or a changed byte)";
                return TUNNEL_WIRE_REFUSED;
            case V2_FLIGHT_OK:
                return s_check_v2 (self, why);
        }
    }
    if (self->hello) {
        switch (wire_hello_parser_feed (self->hello, data, len, used)) {
            case WIRE_HELLO_NEED_MORE:
                return TUNNEL_WIRE_NEED_MORE;
            case WIRE_HELLO_BAD:
                *why = "wrong hello";
                return TUNNEL_WIRE_REFUSED;
            case WIRE_HELLO_OK:
                return s_check_v1 (self, why);
        }
    }
    //  v1 handover: the ID in clear.
    size_t take = TUNNEL_ID_SIZE - self->id_have < len ? TUNNEL_ID_SIZE - self->id_have : len;
    memcpy (self->id + self->id_have, data, take);
    self->id_have += take;
    *used = take;
    return self->id_have < TUNNEL_ID_SIZE ? TUNNEL_WIRE_NEED_MORE : TUNNEL_WIRE_OK;
}

const uint8_t *
tunnel_wire_accept_id (tunnel_wire_accept_t *self)
{
    return self->id;
}

bool
tunnel_wire_accept_original (tunnel_wire_accept_t *self)
{
    return self->original;
}

static int
s_install_v1 (tunnel_wire_accept_t *self, session_t *session, session_side_t side,
              uint8_t id0[TUNNEL_ID_SIZE])
{
    const wormhole_conf_t *conf = self->wormhole->conf;
    cipher_t *cipher = cipher_new (conf->key, conf->key_len, wire_hello_parser_iv (self->hello));
    if (!cipher)
        return -1;
    memcpy (id0, wire_hello_parser_id0 (self->hello), TUNNEL_ID_SIZE);
    self->original = !wire_hello_marked (conf->key, conf->key_len,
                                         wire_hello_parser_iv (self->hello));
    if (self->original) {
        session_delay_fin (session, side, S_V1_FIN_DELAY_MS);
        if (conf->mode == WORMHOLE_DISTRIBUTED)
            session_pace_fin (session, side, S_V1_FIN_PACE_RATE);
    }
    return session_add_node (session, side, NODE_OUTER, &cipher_node_class, cipher);
}

static int
s_install_v2 (tunnel_wire_accept_t *self, session_t *session, session_side_t side)
{
    const wormhole_conf_t *conf = self->wormhole->conf;
    const uint8_t *cs = v2_flight_parser_salt (self->flight);
    uint8_t ss[V2_SALT_SIZE], hk[V2_HK_SIZE], flight[S_FLIGHT_MAX];
    v2_dir_t *tx = NULL;
    int n = s_flight (conf, V2_KIND_SERVER, cs, v2_flight_parser_hello (self->flight)->echo, NULL,
                      ss, flight, sizeof flight, &tx);
    if (n < 0 || v2_derive_hk (conf->key, conf->key_len, cs, ss, hk) != 0) {
        v2_dir_destroy (&tx);
        return -1;
    }
    v2_node_t *node = v2_node_new_server (tx, v2_flight_parser_take_dir (self->flight), hk);
    OPENSSL_cleanse (hk, sizeof hk);
    if (!node)
        return -1;
    //  TLS-shaped: the flight leaves after the pause a TLS server takes to
    //  compute it, and what the tunnel says at once (the mux's hello) joins
    //  its segment, as a server's handshake leaves in one.
    if (s_tls (conf))
        session_hold_writes (session, side, v2_tls_server_pause_us ());
    s_send (session, side, flight, (size_t) n);
    return session_add_node (session, side, NODE_OUTER, &v2_node_class, node);
}

int
tunnel_wire_accept_install (tunnel_wire_accept_t *self, session_t *session, session_side_t side,
                            uint8_t id0[TUNNEL_ID_SIZE])
{
    memset (id0, 0, TUNNEL_ID_SIZE);
    if (self->handover)
        return -1;
    return self->flight ? s_install_v2 (self, session, side)
                        : s_install_v1 (self, session, side, id0);
}

//  --------------------------------------------------------------------------
//  Handover

void
tunnel_wire_command (session_t *session, session_side_t side, const wormhole_conf_t *conf,
                     int cmd)
{
    uint8_t code = (uint8_t) cmd;
    if (tunnel_wire_v2 (conf)) {
        session_send_command (session, side, code);
        return;
    }
    uint8_t frame[INBAND_SIZE];
    if (inband_encode (conf->key, conf->key_len, &code, 1, frame) == 0)
        s_send (session, side, frame, sizeof frame);
}

bool
tunnel_wire_needs_tap (const wormhole_conf_t *conf)
{
    return !tunnel_wire_v2 (conf);
}

int
tunnel_wire_handover_id (session_t *session, session_side_t side, const wormhole_conf_t *conf,
                         uint64_t n, const uint8_t prev[TUNNEL_ID_SIZE], uint8_t id[TUNNEL_ID_SIZE])
{
    if (!tunnel_wire_v2 (conf))
        return wire_next_id (conf->key, conf->key_len, prev, id);
    v2_node_t *node = session_node (session, side, &v2_node_class);
    return node ? v2_node_handover_id (node, n, id) : -1;
}

int
tunnel_wire_handover_hello (const wormhole_conf_t *conf, const uint8_t id[TUNNEL_ID_SIZE],
                            uint8_t *out, size_t cap)
{
    if (!tunnel_wire_v2 (conf)) {
        if (cap < TUNNEL_ID_SIZE)
            return -1;
        memcpy (out, id, TUNNEL_ID_SIZE);
        return TUNNEL_ID_SIZE;
    }
    uint8_t salt[V2_SALT_SIZE];
    return s_flight (conf, V2_KIND_HANDOVER, NULL, NULL, id, salt, out, cap, NULL);
}
