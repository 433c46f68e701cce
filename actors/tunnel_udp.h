/*  tunnel_udp — a SOCKS5 UDP ASSOCIATE at a wormhole's local end.

    When the far end's handler is socks, the local end answers the user's
    greeting itself and reads the request (actors/local_answer.c). A UDP
    ASSOCIATE is not passed on: this end sends the far end the greeting and
    SOCKS_CMD_UDP_STREAM instead, binds the user's UDP socket here (on the
    control connection's local address), and carries each datagram of the
    user, SOCKS UDP header and all, as one length-prefixed frame on the
    tunnel stream; the far end's socks handler relays to the targets with its
    own UDP socket and sends the answers back the same way
    (docs/PROTOCOL-EXTENSIONS.md, "UDP associations"). The session is never
    relayed: its handler sees every byte of the stream.
*/
#ifndef MK_TUNNEL_UDP_H
#define MK_TUNNEL_UDP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "handlers/socks_codec.h"
#include "runtime/session.h"

typedef struct tunnel_udp_t tunnel_udp_t;

//  The greeting's bytes (answered here) and the request: both go to the
//  far end now (the greeting, then SOCKS_CMD_UDP_STREAM). NULL if out of memory.
tunnel_udp_t *
    tunnel_udp_new (session_t *session, const uint8_t *greeting, size_t greeting_len,
                    const socks_request_t *request);

void
    tunnel_udp_destroy (tunnel_udp_t **self_p);

//  The tunnel's bytes (the far end's replies, then frames),
//  a datagram on the user's socket, and the session's timer (true: the
//  association has been idle for the idle limit, end it).
void
    tunnel_udp_target_data (tunnel_udp_t *self, const uint8_t *data, size_t len);
void
    tunnel_udp_datagram (tunnel_udp_t *self, int port, const struct sockaddr *from,
                         const uint8_t *data, size_t len);
bool
    tunnel_udp_idle (tunnel_udp_t *self);

#endif
