/*  dialer — connect, proxy CONNECT, hello and cipher for a dialing end. */
#include "actors/dialer.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "actors/shaping.h"
#include "actors/tunnel_wire.h"
#include "runtime/base/log.h"

#define PROXY_TIMEOUT_MS 10000

static const hostport_t *
s_dial_address (const wormhole_conf_t *conf)
{
    return conf->has_local_proxy ? &conf->local_proxy : &conf->wormhole_remote;
}

//  The first flight (v1: the hello), then the stream's node for everything after it.
static int
s_start_stream (dialer_t *self)
{
    const wormhole_conf_t *conf = self->wormhole->conf;
    if (tunnel_wire_dial (self->session, SESSION_TARGET, conf, self->id0) != 0)
        return -1;
    shaping_start (self->session, SESSION_TARGET, conf, true);
    return 0;
}

int
dialer_start (dialer_t *self, session_t *session, const wormhole_t *wormhole)
{
    memset (self, 0, sizeof *self);
    self->session = session;
    self->wormhole = wormhole;
    self->state = DIALER_CONNECTING;
    const hostport_t *dial = s_dial_address (wormhole->conf);
    session_connect (session, dial->host, dial->port);
    if (wormhole->conf->has_local_proxy)
        return 0;
    return s_start_stream (self);
}

const char *
dialer_describe (dialer_t *self, char *buf, size_t len)
{
    const wormhole_conf_t *conf = self->wormhole->conf;
    const hostport_t *dial = s_dial_address (conf);
    snprintf (buf, len, "%s %s:%u", conf->has_local_proxy ? "the proxy" : "the remote end",
              dial->host, dial->port);
    return buf;
}

int
dialer_proxy_request (char *buf, size_t len, const char *host, uint16_t port)
{
    bool v6 = strchr (host, ':') != NULL;
    return snprintf (buf, len, v6 ? "CONNECT [%s]:%u HTTP/1.1\r\n\r\n" : "CONNECT %s:%u HTTP/1.1\r\n\r\n",
                     host, port);
}

int
dialer_proxy_reply (char *reply, size_t cap, size_t *reply_len, const uint8_t *data, size_t len,
                    const char **why)
{
    size_t room = cap - *reply_len - 1;
    size_t take = len < room ? len : room;
    memcpy (reply + *reply_len, data, take);
    *reply_len += take;
    reply[*reply_len] = 0;
    char *end = strstr (reply, "\r\n\r\n");
    if (!end) {
        if (take < len || *reply_len == cap - 1) {
            *why = "the proxy's answer is too long";
            return -1;
        }
        return 0;
    }
    if (strncmp (reply, "HTTP/1.1 200", 12) != 0 && strncmp (reply, "HTTP/1.0 200", 12) != 0) {
        *strstr (reply, "\r\n") = 0;
        *why = "the proxy refused the CONNECT";
        return -1;
    }
    //  The remote end never speaks first: anything after the head is wrong.
    if ((size_t) (end + 4 - reply) != *reply_len || take < len) {
        *why = "unexpected bytes after the proxy's answer";
        return -1;
    }
    return 1;
}

dialer_state_t
dialer_connected (dialer_t *self, int err)
{
    const wormhole_conf_t *conf = self->wormhole->conf;
    if (err) {
        char where[300];
        log_warn ("wormhole %s: cannot reach %s: %s", conf->name,
                  dialer_describe (self, where, sizeof where),
                  err == SESSION_ERR_RESOLVE ? "name not resolved" : strerror (err));
        return self->state = DIALER_FAILED;
    }
    if (!conf->has_local_proxy)
        return self->state = DIALER_READY;
    char request[ADDR_HOST_MAX + 64];
    int n = dialer_proxy_request (request, sizeof request, conf->wormhole_remote.host,
                                  conf->wormhole_remote.port);
    session_send_target (self->session, request, (size_t) n);
    session_set_timer (self->session, PROXY_TIMEOUT_MS);
    return self->state = DIALER_PROXY_REPLY;
}

//  The proxy's answer: "HTTP/1.x 200", then a head up to an empty line.
dialer_state_t
dialer_target_data (dialer_t *self, const uint8_t *data, size_t len)
{
    const char *name = self->wormhole->conf->name;
    if (self->state != DIALER_PROXY_REPLY)
        return self->state = DIALER_FAILED;
    const char *why = NULL;
    int rc = dialer_proxy_reply (self->reply, sizeof self->reply, &self->reply_len, data, len, &why);
    if (rc == 0)
        return self->state;
    if (rc < 0) {
        log_warn ("wormhole %s: %s%s%.80s", name, why, strstr (why, "refused") ? ": " : "",
                  strstr (why, "refused") ? self->reply : "");
        return self->state = DIALER_FAILED;
    }
    session_set_timer (self->session, 0);
    if (s_start_stream (self) != 0)
        return self->state = DIALER_FAILED;
    return self->state = DIALER_READY;
}
