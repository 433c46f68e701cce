/*  socks — the SOCKS4/4a/5 CONNECT and SOCKS5 UDP ASSOCIATE handler.

    Feeds the client's bytes to socks_codec until the CONNECT request is
    complete, connects to the target, answers with the socket's local address
    and hands the connection to the worker's relay. The handshake timer runs
    from the first byte to the connect result, so a client that never finishes
    its request (or a target that never answers) cannot hold a session open.
    A UDP ASSOCIATE (or our SOCKS_CMD_UDP_STREAM, from a wormhole's local
    end) hands the session to socks_udp until the client's connection ends.
*/
#include "handlers/socks.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "handlers/socks_codec.h"
#include "handlers/socks_udp.h"
#include "handlers/target_acl.h"
#include "runtime/base/log.h"
#include "runtime/handler.h"

//  Bound on writing a failure reply to a client that does not read it.
#define S_CLOSE_TIMEOUT_MS 2000
//  Bound on holding the replies for the target's first bytes (SOCKS_JOIN_REPLIES).
#define S_JOIN_MS 1000

typedef enum {
    H_REQUEST,          //  reading the greeting and request
    H_CONNECTING,       //  session_connect() called, waiting for connected()
    H_JOINING,          //  connected; the replies wait for the target's first bytes
    H_RELAYING,         //  session_relay() called; the worker owns the bytes
    H_UDP,              //  a UDP association: socks_udp has the datagrams
    H_CLOSING           //  failed: finishing or aborted
} h_state_t;

typedef struct {
    session_t *session;
    socks_codec_t *codec;
    h_state_t state;
    const char *protocol;       //  "socks5", "socks4", "socks4a" for log lines
    char target [300];          //  "host:port" for log lines
    target_acl_t acl;           //  the conf's target rules, and a denial
    socks_udp_t *udp;           //  H_UDP only
    bool behind_wormhole;       //  SOCKS_BEHIND_WORMHOLE
    bool join_replies;          //  SOCKS_JOIN_REPLIES
    bool joining;               //  ... and the client sent data behind its request
    uint8_t held [SOCKS_FEED_OUT_MAX + SOCKS_REPLY_MAX];
    size_t held_len;            //  replies held while joining
} socks_t;

//  Requests denied by the target rules, by every socks session of the process.
static atomic_ulong s_denied;
//  Clients that gave wrong credentials or none.
static atomic_ulong s_auth_failed;

unsigned long
socks_denied_total (void)
{
    return atomic_load (&s_denied);
}

unsigned long
socks_auth_failed_total (void)
{
    return atomic_load (&s_auth_failed);
}

//  "socks5", "socks4" or "socks4a" for log lines
static const char *
s_protocol (const socks_request_t *request)
{
    if (request->version == 5)
        return "socks5";
    return request->host_is_name? "socks4a": "socks4";
}

//  A client-chosen name may hold any byte but NUL; keep log lines one line.
static void
s_format_target (const socks_request_t *request, char *buf, size_t size)
{
    char host [sizeof request->host];
    size_t i;
    for (i = 0; request->host [i]; i++) {
        unsigned char c = (unsigned char) request->host [i];
        host [i] = c < 0x20 || c == 0x7F? '?': (char) c;
    }
    host [i] = 0;
    bool ipv6 = !request->host_is_name && strchr (host, ':');
    snprintf (buf, size, ipv6? "[%s]:%u": "%s:%u", host, request->port);
}

static void *
s_create (session_t *session, const handler_conf_t *conf)
{
    socks_t *self = (socks_t *) calloc (1, sizeof (socks_t));
    if (!self)
        return NULL;
    self->session = session;
    self->acl.acl = conf->acl;
    self->behind_wormhole = (conf->flags & SOCKS_BEHIND_WORMHOLE) != 0;
    self->join_replies = (conf->flags & SOCKS_JOIN_REPLIES) != 0;
    self->codec = socks_codec_new ((conf->flags & SOCKS_ACCEPT_V4) != 0,
                                   (conf->flags & SOCKS_ACCEPT_V5) != 0);
    if (!self->codec) {
        free (self);
        return NULL;
    }
    socks_codec_require_users (self->codec, conf->users);
    socks_codec_allow_udp (self->codec);
    self->state = H_REQUEST;
    session_set_timer (session, session_handshake_timeout_ms (session));
    return self;
}

static void
s_destroy (void **self_p)
{
    if (*self_p) {
        socks_t *self = (socks_t *) *self_p;
        socks_codec_destroy (&self->codec);
        socks_udp_destroy (&self->udp);
        free (self);
        *self_p = NULL;
    }
}

//  Answer the CONNECT with a failure and close once the reply is written.
static void
s_reply_failure (socks_t *self, int rep)
{
    uint8_t reply [SOCKS_REPLY_MAX];
    size_t len = socks_codec_reply (self->codec, rep, NULL, reply, sizeof reply);
    if (self->held_len)
        session_send_client (self->session, self->held, self->held_len);   //  its 05 00
    self->held_len = 0;
    session_send_client (self->session, reply, len);
    self->state = H_CLOSING;
    session_finish (self->session);
    session_set_timer (self->session, S_CLOSE_TIMEOUT_MS);
}

//  UDP ASSOCIATE: the reply names the socket the client sends its datagrams to.
static void
s_udp_start (socks_t *self, const socks_request_t *request)
{
    struct sockaddr_storage bound;
    int rep = SOCKS_REP_CMD_NOT_SUPPORTED;
    if (!(self->behind_wormhole && request->command == SOCKS_CMD_UDP_ASSOCIATE))
        self->udp = socks_udp_new (self->session, self->acl.acl, request, &bound, &rep);
    log_info ("socks5 udp %s: association %s", session_peer (self->session),
              self->udp ? "started" : "refused");
    if (!self->udp) {
        s_reply_failure (self, rep);
        return;
    }
    uint8_t reply [SOCKS_REPLY_MAX];
    size_t len = socks_codec_reply (self->codec, SOCKS_REP_SUCCEEDED, (struct sockaddr *) &bound,
                                    reply, sizeof reply);
    session_send_client (self->session, reply, len);
    self->state = H_UDP;
}

static void
s_request_ready (socks_t *self)
{
    const socks_request_t *request = socks_codec_request (self->codec);
    self->protocol = s_protocol (request);
    s_format_target (request, self->target, sizeof self->target);
    if (request->command != SOCKS_CMD_CONNECT) {
        s_udp_start (self, request);
        return;
    }
    log_dest_info ("%s %s -> %s", self->protocol, session_peer (self->session), self->target);
    self->state = H_CONNECTING;
    target_acl_reset (&self->acl);
    session_connect_filtered (self->session, request->host, request->port,
                              target_acl_filter, &self->acl);
}

static void
s_request_failed (socks_t *self, size_t reply_len)
{
    if (socks_codec_auth_failed (self->codec))
        atomic_fetch_add (&s_auth_failed, 1);
    //  info, not warn: scanners and misconfigured clients are not our fault
    log_info ("socks %s: bad request: %s", session_peer (self->session),
              socks_codec_error (self->codec));
    self->state = H_CLOSING;
    if (reply_len > 0)
        session_finish (self->session);
    else
        session_abort (self->session);     //  not SOCKS: silence
}

static void
s_client_data (void *self_, const uint8_t *data, size_t len)
{
    socks_t *self = (socks_t *) self_;
    if (self->state == H_CONNECTING || self->state == H_JOINING) {
        //  early data: queued until the target is up
        session_send_target (self->session, data, len);
        return;
    }
    if (self->state == H_UDP && socks_udp_client_data (self->udp, data, len) != 0) {
        log_info ("socks5 udp %s: bad datagram framing", session_peer (self->session));
        self->state = H_CLOSING;
        session_abort (self->session);
    }
    if (self->state != H_REQUEST)
        return;

    uint8_t reply [SOCKS_FEED_OUT_MAX];
    size_t consumed, reply_len;
    socks_status_t status = socks_codec_feed (self->codec, data, len, &consumed,
                                              reply, sizeof reply, &reply_len);
    self->joining = self->join_replies && status == SOCKS_REQUEST_READY && consumed < len
                    && socks_codec_request (self->codec)->command == SOCKS_CMD_CONNECT;
    if (self->joining && reply_len <= sizeof self->held) {
        memcpy (self->held, reply, reply_len);
        self->held_len = reply_len;
    }
    else {
        self->joining = false;
        if (reply_len > 0)
            session_send_client (self->session, reply, reply_len);
    }

    switch (status) {
        case SOCKS_NEED_MORE:
            break;
        case SOCKS_FAIL:
            s_request_failed (self, reply_len);
            break;
        case SOCKS_REQUEST_READY:
            s_request_ready (self);
            //  (checked again in case the connect result came at once)
            if (consumed < len && self->state == H_UDP)
                s_client_data (self, data + consumed, len - consumed);
            else
            if (consumed < len && self->state != H_CLOSING)
                session_send_target (self->session, data + consumed, len - consumed);
            break;
    }
}

static void
s_client_eof (void *self_)
{
    socks_t *self = (socks_t *) self_;
    if (self->state == H_REQUEST) {
        log_info ("socks %s: client closed before its request", session_peer (self->session));
        self->state = H_CLOSING;
        session_abort (self->session);
    }
    if (self->state == H_UDP) {
        //  RFC 1928: the association lives as long as its TCP connection
        log_info ("socks5 udp %s: association ended", session_peer (self->session));
        self->state = H_CLOSING;
        session_abort (self->session);
    }
    //  While connecting, a client may already have sent its request, its data
    //  and a FIN (a one-shot client): go on; the relay passes the FIN on.
}

//  Joining: the held replies, then (if any) the target's first bytes, as
//  one piece (one record on the tunnel); then the relay.
static void
s_join_end (socks_t *self, const uint8_t *data, size_t len)
{
    uint8_t *both = len ? malloc (self->held_len + len) : NULL;
    if (both) {
        memcpy (both, self->held, self->held_len);
        memcpy (both + self->held_len, data, len);
        session_send_client (self->session, both, self->held_len + len);
        free (both);
    }
    else {
        session_send_client (self->session, self->held, self->held_len);
        if (len)
            session_send_client (self->session, data, len);
    }
    self->held_len = 0;
    session_set_timer (self->session, 0);
    self->state = H_RELAYING;
    session_relay (self->session);
}

static void
s_connected (void *self_, int err, const struct sockaddr *local)
{
    socks_t *self = (socks_t *) self_;
    if (self->state != H_CONNECTING)
        return;
    if (err == 0 && self->joining) {
        size_t room = sizeof self->held - self->held_len;
        self->held_len += socks_codec_reply (self->codec, SOCKS_REP_SUCCEEDED, local,
                                             self->held + self->held_len, room);
        self->state = H_JOINING;
        session_set_timer (self->session, S_JOIN_MS);
    }
    else
    if (err == 0) {
        uint8_t reply [SOCKS_REPLY_MAX];
        size_t len = socks_codec_reply (self->codec, SOCKS_REP_SUCCEEDED, local,
                                        reply, sizeof reply);
        session_send_client (self->session, reply, len);
        session_set_timer (self->session, 0);
        self->state = H_RELAYING;
        session_relay (self->session);
    }
    else
    if (err == SESSION_ERR_DENIED) {
        atomic_fetch_add (&s_denied, 1);
        log_info ("%s %s -> %s: %s", self->protocol, session_peer (self->session),
                  log_dest (self->target), self->acl.logged);
        s_reply_failure (self, SOCKS_REP_NOT_ALLOWED);
    }
    else {
        log_warn_limited ("%s %s -> %s: %s", self->protocol, session_peer (self->session),
                          log_dest (self->target), err == SESSION_ERR_RESOLVE? "name did not resolve"
                                                                  : strerror (err));
        s_reply_failure (self, err == SESSION_ERR_RESOLVE? SOCKS_REP_HOST_UNREACHABLE
                                                         : socks_rep_from_error (err));
    }
}

//  The target cannot speak before the relay starts (the client has had no
//  reply yet); anything else from it is a broken session.
static void
s_target_data (void *self_, const uint8_t *data, size_t len)
{
    socks_t *self = (socks_t *) self_;
    if (self->state == H_JOINING) {
        s_join_end (self, data, len);
        return;
    }
    log_debug ("socks %s: %zu target bytes before relay, aborting",
               session_peer (self->session), len);
    self->state = H_CLOSING;
    session_abort (self->session);
}

static void
s_target_eof (void *self_, int err)
{
    socks_t *self = (socks_t *) self_;
    if (self->state == H_JOINING && !err) {
        //  It said nothing and ended: the replies, then our end too.
        session_send_client (self->session, self->held, self->held_len);
        self->state = H_CLOSING;
        session_finish (self->session);
        session_set_timer (self->session, S_CLOSE_TIMEOUT_MS);
        return;
    }
    log_debug ("socks %s: target closed before relay (%s), aborting",
               session_peer (self->session), err? strerror (err): "EOF");
    self->state = H_CLOSING;
    session_abort (self->session);
}

static void
s_timeout (void *self_)
{
    socks_t *self = (socks_t *) self_;
    if (self->state == H_JOINING) {
        s_join_end (self, NULL, 0);     //  a target that waits for more: relay
        return;
    }
    if (self->state == H_UDP) {
        if (!socks_udp_idle (self->udp))
            return;
        log_info ("socks5 udp %s: association idle, ended", session_peer (self->session));
    }
    else
    if (self->state == H_CONNECTING) {
        //  the client is waiting for an answer: tell it the host did not answer
        log_warn_limited ("%s %s -> %s: connect timed out", self->protocol,
                          session_peer (self->session), self->target);
        s_reply_failure (self, socks_rep_from_error (SESSION_ERR_TIMEOUT));
        return;
    }
    if (self->state == H_REQUEST) {
        log_info ("socks %s: handshake timed out", session_peer (self->session));
        session_handshake_timed_out (self->session);
    }
    self->state = H_CLOSING;
    session_abort (self->session);
}

static void
s_udp_datagram (void *self_, int port, const struct sockaddr *from, const uint8_t *data,
                size_t len)
{
    socks_t *self = (socks_t *) self_;
    if (self->state == H_UDP)
        socks_udp_datagram (self->udp, port, from, data, len);
}

static void
s_udp_resolved (void *self_, int status, const struct sockaddr_storage *addrs,
                const socklen_t *lens, size_t count)
{
    socks_t *self = (socks_t *) self_;
    if (self->state == H_UDP)
        socks_udp_resolved (self->udp, status, addrs, lens, count);
}

const handler_class_t socks_handler_class = {
    .name = "socks",
    .create = s_create,
    .destroy = s_destroy,
    .client_data = s_client_data,
    .client_eof = s_client_eof,
    .connected = s_connected,
    .target_data = s_target_data,
    .target_eof = s_target_eof,
    .timeout = s_timeout,
    .udp_datagram = s_udp_datagram,
    .udp_resolved = s_udp_resolved
};
