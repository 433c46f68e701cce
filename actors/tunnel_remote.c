/*  tunnel_remote — the remote (accepting) end of a distributed wormhole, as a
    handler wrapped around the wormhole's own handler (socks, http, relay).

    It checks the hello (PROTOCOL.md section 2), installs the AES-CTR cipher
    on the tunnel side, and from then on passes every event to the inner
    handler, which sees the decrypted stream as if it were a plain client.
    A connection whose hello is wrong (an active prober) gets silence: its
    bytes are read and dropped, and it is closed after a random delay, so
    the port looks like nothing at all.

    States:
      HELLO   reading the 32 hello bytes
      PROBE   wrong hello: discard everything until the delay is over
      INNER   the inner handler serves the stream
*/
#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>

#include "actors/shaping.h"
#include "actors/tunnel_end.h"
#include "actors/wormhole.h"
#include "nodes/cipher.h"
#include "nodes/wirecrypto.h"
#include "runtime/base/log.h"
#include "runtime/session.h"

typedef enum { R_HELLO, R_PROBE, R_INNER } r_state_t;

typedef struct {
    tunnel_end_t end;           //  the session, the baton (NULL: no extra ports)
    const wormhole_t *wormhole;
    r_state_t state;
    wire_hello_parser_t *hello;
    const handler_class_t *inner_class;
    void *inner;
} tunnel_remote_t;

static int
s_probe_delay_ms (const wormhole_conf_t *conf)
{
    uint32_t r = 0;
    RAND_bytes ((unsigned char *) &r, sizeof r);
    int span = conf->probe_close_max_s - conf->probe_close_min_s + 1;
    return (conf->probe_close_min_s + (int) (r % (uint32_t) (span > 0 ? span : 1))) * 1000;
}

static void *
s_create (session_t *session, const handler_conf_t *conf)
{
    tunnel_remote_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->end.session = session;
    self->wormhole = conf->wormhole;
    const wormhole_conf_t *wh = self->wormhole->conf;
    self->hello = wire_hello_parser_new (wh->key, wh->key_len);
    self->inner_class = self->wormhole->accept.cls;
    if (!self->hello || !self->inner_class) {
        wire_hello_parser_destroy (&self->hello);
        free (self);
        return NULL;
    }
    //  A connection that never completes its hello is treated like a prober.
    session_set_timer (session, s_probe_delay_ms (wh));
    return self;
}

static void
s_destroy (void **self_p)
{
    tunnel_remote_t *self = *self_p;
    if (!self)
        return;
    baton_destroy (&self->end.baton);
    if (self->inner)
        self->inner_class->destroy (&self->inner);
    wire_hello_parser_destroy (&self->hello);
    free (self);
    *self_p = NULL;
}

static void
s_hello (tunnel_remote_t *self, const uint8_t *data, size_t len)
{
    const wormhole_conf_t *wh = self->wormhole->conf;
    size_t used = 0;
    switch (wire_hello_parser_feed (self->hello, data, len, &used)) {
        case WIRE_HELLO_NEED_MORE:
            return;
        case WIRE_HELLO_BAD:
            log_info ("wormhole %s: wrong hello from %s; staying silent", wh->name,
                      session_peer (self->end.session));
            session_trace (self->end.session, session_peer (self->end.session), "acceptor", "probe", 0);
            self->state = R_PROBE;
            return;
        case WIRE_HELLO_OK:
            break;
    }
    cipher_t *cipher = cipher_new (wh->key, wh->key_len, wire_hello_parser_iv (self->hello));
    if (!cipher) {
        session_abort (self->end.session);
        return;
    }
    if (session_add_node (self->end.session, SESSION_CLIENT, NODE_OUTER, &cipher_node_class, cipher) != 0) {
        session_abort (self->end.session);
        return;
    }
    shaping_start (self->end.session, SESSION_CLIENT, wh, false);
    session_set_timer (self->end.session, 0);
    self->inner = self->inner_class->create (self->end.session, &self->wormhole->accept);
    if (!self->inner) {
        session_abort (self->end.session);
        return;
    }
    self->state = R_INNER;
    log_debug ("wormhole %s: tunnel from %s", wh->name, session_peer (self->end.session));
    uint8_t id0[WIRE_ID_SIZE];
    if (wire_hmac (wh->key, wh->key_len, wire_hello_parser_iv (self->hello), WIRE_IV_SIZE, id0,
                   sizeof id0) == 0) {
        tunnel_end_start_baton (&self->end, SESSION_CLIENT, self->wormhole, false, id0);
    }
    if (used < len) {
        //  Stream bytes that came with the hello were read before the cipher
        //  was installed: decrypt them here (the input is const).
        uint8_t *plain = malloc (len - used);
        if (!plain) {
            session_abort (self->end.session);
            return;
        }
        cipher_apply (cipher, CIPHER_DECRYPT, data + used, plain, len - used);
        self->inner_class->client_data (self->inner, plain, len - used);
        free (plain);
    }
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
        case R_INNER:
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
    else
        session_finish (self->end.session);
}

static void
s_connected (void *self_, int err, const struct sockaddr *local)
{
    tunnel_remote_t *self = self_;
    if (self->state == R_INNER)
        self->inner_class->connected (self->inner, err, local);
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
};
