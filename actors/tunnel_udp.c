/*  tunnel_udp — a SOCKS5 UDP association carried through a wormhole (tunnel_udp.h). */
#include "actors/tunnel_udp.h"

#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "handlers/socks_codec.h"
#include "handlers/socks_udp_codec.h"
#include "runtime/base/addr.h"
#include "runtime/base/log.h"

//  Datagrams toward the tunnel are dropped past this queue.
#define S_TUNNEL_QUEUE_MAX (256 * 1024)
#define S_IDLE_DEFAULT_MS 300000
//  The far end's method selection (05 00) and the longest SOCKS5 reply.
#define S_ANSWER_MAX (2 + SOCKS_REPLY_MAX)

typedef enum {
    S_ASKED,            //  SOCKS_CMD_UDP_STREAM sent; reading the far end's answers
    S_ASSOCIATED,       //  datagrams both ways
    S_FAILED            //  the user has its failure reply; the session finishes
} s_state_t;

struct tunnel_udp_t {
    session_t *session;
    s_state_t state;
    uint8_t answer[S_ANSWER_MAX];       //  the far end's answers so far (S_ASKED)
    size_t answer_len;
    struct sockaddr_storage peer;       //  the control connection's peer
    struct sockaddr_storage expect;     //  the request's DST (0: any)
    struct sockaddr_storage client;     //  where the user's datagrams come from
    bool client_known;
    uint64_t active_ms;
    int idle_ms;
    socks_udp_deframer_t deframer;
    uint8_t frame_buf[SOCKS_UDP_FRAME_MAX];
};

static uint64_t
s_now_ms (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (uint64_t) ts.tv_sec * 1000 + (uint64_t) ts.tv_nsec / 1000000;
}

tunnel_udp_t *
tunnel_udp_new (session_t *session, const uint8_t *greeting, size_t greeting_len,
                const socks_request_t *request)
{
    tunnel_udp_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->session = session;
    self->state = S_ASKED;
    socks_udp_deframer_init (&self->deframer, self->frame_buf);
    socklen_t expect_len;
    if (request->host_is_name
    ||  !addr_from_literal (request->host, request->port, &self->expect, &expect_len))
        memset (&self->expect, 0, sizeof self->expect);     //  a name: nothing we can check
    static const uint8_t ask[10] = { 5, SOCKS_CMD_UDP_STREAM, 0, 1, 0, 0, 0, 0, 0, 0 };
    session_send_target (session, greeting, greeting_len);
    session_send_target (session, ask, sizeof ask);
    return self;
}

void
tunnel_udp_destroy (tunnel_udp_t **self_p)
{
    tunnel_udp_t *self = *self_p;
    if (!self)
        return;
    free (self);
    *self_p = NULL;
}

//  A SOCKS5 reply: 05 REP 00 and the address, laid out as a UDP header is.
static size_t
s_reply (int rep, const struct sockaddr *bound, uint8_t *out)
{
    struct sockaddr_in none = { .sin_family = AF_INET };
    size_t len = socks_udp_header_build (bound ? bound : (struct sockaddr *) &none, out,
                                         SOCKS_UDP_REPLY_HEADER_MAX);
    out[0] = 5;
    out[1] = (uint8_t) rep;
    return len;
}

static void
s_fail (tunnel_udp_t *self, int rep, const char *why)
{
    log_info ("socks5 udp %s: through the wormhole: %s", session_peer (self->session), why);
    uint8_t reply[SOCKS_UDP_REPLY_HEADER_MAX];
    session_send_client (self->session, reply, s_reply (rep, NULL, reply));
    self->state = S_FAILED;
    session_finish (self->session);
}

//  The far end agreed: the user's socket, and the reply that names it.
static void
s_associate (tunnel_udp_t *self)
{
    struct sockaddr_storage local, bound;
    if (session_client_address (self->session, true, &local) != 0
    ||  session_client_address (self->session, false, &self->peer) != 0) {
        s_fail (self, SOCKS_REP_GENERAL_FAILURE, "no control connection address");
        return;
    }
    //  a dual-stack listener's IPv4 client gets an IPv4 socket and reply
    socks_udp_unmap (&local);
    socks_udp_unmap (&self->peer);
    addr_set_port (&local, 0);
    if (session_udp_open (self->session, SESSION_UDP_USER, (struct sockaddr *) &local, &bound) != 0) {
        s_fail (self, SOCKS_REP_GENERAL_FAILURE, "cannot open the user's UDP socket");
        return;
    }
    uint8_t reply[SOCKS_UDP_REPLY_HEADER_MAX];
    session_send_client (self->session, reply,
                         s_reply (SOCKS_REP_SUCCEEDED, (struct sockaddr *) &bound, reply));
    int limit = session_idle_limit_ms (self->session);
    self->idle_ms = limit > 0 ? limit : S_IDLE_DEFAULT_MS;
    self->active_ms = s_now_ms ();
    session_set_timer (self->session, self->idle_ms);
    self->state = S_ASSOCIATED;
    log_info ("socks5 udp %s: association through the wormhole started", session_peer (self->session));
}

//  The far end's method selection (05 00) and its reply; how many bytes of
//  data they took, once both are whole.
static size_t
s_read_answer (tunnel_udp_t *self, const uint8_t *data, size_t len)
{
    size_t taken = 0;
    while (taken < len && self->state == S_ASKED) {
        self->answer[self->answer_len++] = data[taken++];
        const uint8_t *a = self->answer;
        size_t n = self->answer_len;
        if (n == 2 && (a[0] != 5 || a[1] != 0))
            s_fail (self, SOCKS_REP_GENERAL_FAILURE, "the far end asks for a method we did not offer");
        if (n < 6)
            continue;
        if (a[2] != 5) {
            s_fail (self, SOCKS_REP_GENERAL_FAILURE, "the far end's reply is not SOCKS5");
            break;
        }
        if (a[3] != SOCKS_REP_SUCCEEDED) {
            s_fail (self, a[3], "the far end refused (is it a socks handler of ours?)");
            break;
        }
        size_t whole = 2 + 4 + (a[5] == 4 ? 16 : 4) + 2;
        if (a[5] != 1 && a[5] != 4)
            s_fail (self, SOCKS_REP_GENERAL_FAILURE, "the far end's reply has a bad ATYP");
        else
        if (n == whole)
            s_associate (self);
    }
    return taken;
}

//  A frame from the far end: a datagram of a target, header and all.
static void
s_on_frame (void *arg, const uint8_t *frame, size_t len)
{
    tunnel_udp_t *self = arg;
    self->active_ms = s_now_ms ();
    if (!self->client_known
    ||  !session_udp_send (self->session, SESSION_UDP_USER, (struct sockaddr *) &self->client,
                           frame, len))
        log_info_limited ("socks5 udp %s: a datagram for the user dropped",
                          session_peer (self->session));
}

void
tunnel_udp_target_data (tunnel_udp_t *self, const uint8_t *data, size_t len)
{
    if (self->state == S_ASKED) {
        size_t taken = s_read_answer (self, data, len);
        data += taken;
        len -= taken;
    }
    if (self->state != S_ASSOCIATED || len == 0)
        return;
    if (socks_udp_deframer_feed (&self->deframer, data, len, s_on_frame, self) != 0) {
        log_info ("socks5 udp %s: bad datagram framing from the far end", session_peer (self->session));
        self->state = S_FAILED;
        session_abort (self->session);
    }
}

void
tunnel_udp_datagram (tunnel_udp_t *self, int port, const struct sockaddr *from,
                     const uint8_t *data, size_t len)
{
    if (self->state != S_ASSOCIATED || port != SESSION_UDP_USER)
        return;
    socks_udp_target_t target;
    size_t header;
    socks_udp_status_t status = socks_udp_parse (data, len, &target, &header);
    const char *drop = NULL;
    if (!socks_udp_source_ok ((struct sockaddr *) &self->peer, (struct sockaddr *) &self->expect, from))
        drop = "not from the client";
    else
    if (status != SOCKS_UDP_OK)
        drop = socks_udp_status_text (status);
    else
    if (session_queued_bytes (self->session, false) > S_TUNNEL_QUEUE_MAX)
        drop = "the tunnel is full";
    if (drop) {
        log_info_limited ("socks5 udp %s: datagram dropped: %s", session_peer (self->session), drop);
        return;
    }
    memcpy (&self->client, from, from->sa_family == AF_INET6 ? sizeof (struct sockaddr_in6)
                                                           : sizeof (struct sockaddr_in));
    self->client_known = true;
    self->active_ms = s_now_ms ();
    static _Thread_local uint8_t frame[SOCKS_UDP_FRAME_PREFIX + SOCKS_UDP_FRAME_MAX];
    if (len > SOCKS_UDP_FRAME_MAX)
        return;
    socks_udp_frame_prefix (len, frame);
    memcpy (frame + SOCKS_UDP_FRAME_PREFIX, data, len);
    session_send_target (self->session, frame, SOCKS_UDP_FRAME_PREFIX + len);
}

bool
tunnel_udp_idle (tunnel_udp_t *self)
{
    if (self->state != S_ASSOCIATED)
        return true;
    uint64_t idle = s_now_ms () - self->active_ms;
    if (idle >= (uint64_t) self->idle_ms)
        return true;
    session_set_timer (self->session, self->idle_ms - (int) idle);
    return false;
}
