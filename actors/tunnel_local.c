/*  tunnel_local — the local (dialing) end of a distributed wormhole, as a
    handler: one tunnel connection per user connection.

    A user connects to `server`; this handler dials `wormhole_remote` (through
    the `local_proxy` HTTP proxy if one is set, PROTOCOL.md section 11), sends
    the hello in clear (section 2) and from then on relays the user's bytes
    encrypted with AES-CTR (section 3). Bytes the user sends while the tunnel
    is being set up are encrypted and queued, in order, after the hello.

    States:
      CONNECTING   dialing the remote end (or the proxy)
      PROXY_REPLY  CONNECT sent to the proxy, reading its response head
      RELAY        the worker relays; this handler is done
*/
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actors/wormhole.h"
#include "nodes/cipher.h"
#include "nodes/wirecrypto.h"
#include "runtime/log.h"
#include "runtime/session.h"

#define PROXY_REPLY_MAX 4096
#define PROXY_TIMEOUT_MS 10000

typedef enum { L_CONNECTING, L_PROXY_REPLY, L_RELAY } l_state_t;

typedef struct {
    session_t *session;
    const wormhole_t *wormhole;
    l_state_t state;
    char reply[PROXY_REPLY_MAX];
    size_t reply_len;
} tunnel_local_t;

//  Hello in clear, then the cipher for everything after it.
static int
s_start_stream (tunnel_local_t *self)
{
    const wormhole_conf_t *conf = self->wormhole->conf;
    uint8_t iv[WIRE_IV_SIZE], hello[WIRE_HELLO_SIZE];
    if (wire_hello_make (conf->key, conf->key_len, iv, hello) != 0)
        return -1;
    cipher_t *cipher = cipher_new (conf->key, conf->key_len, iv);
    if (!cipher)
        return -1;
    session_send_target (self->session, hello, sizeof hello);
    session_set_cipher (self->session, SESSION_TARGET, cipher);
    return 0;
}

static void *
s_create (session_t *session, const handler_conf_t *conf)
{
    tunnel_local_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->session = session;
    self->wormhole = conf->wormhole;
    const wormhole_conf_t *wh = self->wormhole->conf;
    const hostport_t *dial = wh->has_local_proxy ? &wh->local_proxy : &wh->wormhole_remote;
    session_connect (session, dial->host, dial->port);
    if (wh->has_local_proxy)
        session_pause_client (session, 1);      //  nothing may go out before the proxy's 200
    else if (s_start_stream (self) != 0) {
        free (self);
        return NULL;
    }
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
    tunnel_local_t *self = self_;
    session_send_target (self->session, data, len);
}

static void
s_client_eof (void *self_)
{
    (void) self_;       //  passed on as a half-close once relaying
}

static void
s_connected (void *self_, int err, const struct sockaddr *local)
{
    tunnel_local_t *self = self_;
    const wormhole_conf_t *wh = self->wormhole->conf;
    (void) local;
    if (err) {
        const hostport_t *dial = wh->has_local_proxy ? &wh->local_proxy : &wh->wormhole_remote;
        log_warn ("wormhole %s: cannot reach %s %s:%u: %s", wh->name,
                  wh->has_local_proxy ? "the proxy" : "the remote end", dial->host, dial->port,
                  err == SESSION_ERR_RESOLVE ? "name not resolved" : strerror (err));
        session_abort (self->session);
        return;
    }
    if (wh->has_local_proxy) {
        char request[ADDR_HOST_MAX + 64];
        bool v6 = strchr (wh->wormhole_remote.host, ':') != NULL;
        int n = snprintf (request, sizeof request, v6 ? "CONNECT [%s]:%u HTTP/1.1\r\n\r\n"
                                                      : "CONNECT %s:%u HTTP/1.1\r\n\r\n",
                          wh->wormhole_remote.host, wh->wormhole_remote.port);
        session_send_target (self->session, request, (size_t) n);
        session_set_timer (self->session, PROXY_TIMEOUT_MS);
        self->state = L_PROXY_REPLY;
        return;
    }
    self->state = L_RELAY;
    session_relay (self->session);
}

//  The proxy's answer: "HTTP/1.x 200" and a head up to an empty line.
static void
s_target_data (void *self_, const uint8_t *data, size_t len)
{
    tunnel_local_t *self = self_;
    const char *name = self->wormhole->conf->name;
    if (self->state != L_PROXY_REPLY) {
        session_abort (self->session);      //  the remote end never speaks first
        return;
    }
    size_t room = sizeof self->reply - self->reply_len - 1;
    size_t take = len < room ? len : room;
    memcpy (self->reply + self->reply_len, data, take);
    self->reply_len += take;
    self->reply[self->reply_len] = 0;
    char *end = strstr (self->reply, "\r\n\r\n");
    if (!end) {
        if (take < len || self->reply_len == sizeof self->reply - 1) {
            log_warn ("wormhole %s: the proxy's answer is too long", name);
            session_abort (self->session);
        }
        return;
    }
    if (strncmp (self->reply, "HTTP/1.1 200", 12) != 0 && strncmp (self->reply, "HTTP/1.0 200", 12) != 0) {
        char *eol = strstr (self->reply, "\r\n");
        *eol = 0;
        log_warn ("wormhole %s: the proxy refused the CONNECT: %.80s", name, self->reply);
        session_abort (self->session);
        return;
    }
    if ((size_t) (end + 4 - self->reply) != self->reply_len || take < len) {
        log_warn ("wormhole %s: bytes after the proxy's answer before the hello", name);
        session_abort (self->session);
        return;
    }
    session_set_timer (self->session, 0);
    if (s_start_stream (self) != 0) {
        session_abort (self->session);
        return;
    }
    session_pause_client (self->session, 0);
    self->state = L_RELAY;
    session_relay (self->session);
}

static void
s_target_eof (void *self_, int err)
{
    tunnel_local_t *self = self_;
    log_warn ("wormhole %s: the proxy closed before answering%s%s", self->wormhole->conf->name,
              err ? ": " : "", err ? strerror (err) : "");
    session_abort (self->session);
}

static void
s_timeout (void *self_)
{
    tunnel_local_t *self = self_;
    log_warn ("wormhole %s: no answer from the proxy", self->wormhole->conf->name);
    session_abort (self->session);
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
};
