/*  dialer — the first steps of a wormhole's dialing end, shared by the
    distributed and aggregated tunnels: connect to the remote end (directly,
    or through the `local_proxy` HTTP proxy with CONNECT, PROTOCOL.md section
    11), then send the hello in clear and install the AES-CTR cipher on the
    session's target side (sections 2 and 3).
*/
#ifndef MK_DIALER_H
#define MK_DIALER_H

#include <stddef.h>
#include <stdint.h>

#include "actors/wormhole.h"
#include "runtime/session.h"

typedef enum { DIALER_CONNECTING, DIALER_PROXY_REPLY, DIALER_READY, DIALER_FAILED } dialer_state_t;

typedef struct {
    session_t *session;
    const wormhole_t *wormhole;
    dialer_state_t state;
    char reply[1024];
    size_t reply_len;
    uint8_t id0[16];            //  the hello's ID0: the handover IDs start from it
} dialer_t;

//  Starts the connect. Without a proxy the hello and cipher are in place at
//  once (bytes sent to the target from now on are queued behind the hello).
//  Returns -1 if the crypto cannot be set up.
int dialer_start (dialer_t *self, session_t *session, const wormhole_t *wormhole);

//  The session's connected() result; returns the new state.
dialer_state_t dialer_connected (dialer_t *self, int err);

//  Target bytes while the proxy answers; returns the new state.
dialer_state_t dialer_target_data (dialer_t *self, const uint8_t *data, size_t len);

//  The proxy's CONNECT request for host:port (section 11); returns its length.
int dialer_proxy_request (char *buf, size_t len, const char *host, uint16_t port);

//  Collects the proxy's answer in reply (cap bytes, *reply_len so far).
//  Returns 1 once a complete "200" head has come (and nothing after it), 0
//  to wait for more, -1 if the proxy refused (reply holds its status line)
//  or answered something else; *why then says which.
int dialer_proxy_reply (char *reply, size_t cap, size_t *reply_len, const uint8_t *data, size_t len,
                        const char **why);

//  "the remote end 1.2.3.4:443" or "the proxy ..." for log lines.
const char *dialer_describe (dialer_t *self, char *buf, size_t len);

#endif
