/*  tunnel_udp — a SOCKS5 UDP ASSOCIATE at a wormhole's local end.

    When the far end's handler is socks and this end answered the user's
    greeting itself (tunnel_local's s_greeting), the user's request is
    looked at before relaying starts. A UDP ASSOCIATE is not passed on:
    this end asks the far end for SOCKS_CMD_UDP_STREAM instead, binds the
    user's UDP socket here (on the control connection's local address), and
    carries each datagram of the user, SOCKS UDP header and all, as one
    length-prefixed frame on the tunnel stream; the far end's socks handler
    relays to the targets with its own UDP socket and sends the answers back
    the same way (docs/PROTOCOL-EXTENSIONS.md, "UDP associations"). Any
    other request is passed on unchanged and the session relays as before.
    While the request is looked at, the tunnel side is not read.
*/
#ifndef MK_TUNNEL_UDP_H
#define MK_TUNNEL_UDP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "runtime/session.h"

typedef struct tunnel_udp_t tunnel_udp_t;

typedef enum {
    TUNNEL_UDP_MORE,        //  the request is not complete: wait (nothing was sent on)
    TUNNEL_UDP_NOT_UDP,     //  not ours: every byte went to the tunnel, relay now
    TUNNEL_UDP_TAKEN        //  a UDP association: tunnel_udp has the session from now on
} tunnel_udp_sniff_t;

tunnel_udp_t *
    tunnel_udp_new (session_t *session);

void
    tunnel_udp_destroy (tunnel_udp_t **self_p);

//  The user's bytes after the greeting this end answered.
tunnel_udp_sniff_t
    tunnel_udp_client_data (tunnel_udp_t *self, const uint8_t *data, size_t len);

//  Not taken, and the user ended its stream: what was held goes to the
//  tunnel as it came (then relay, which passes the end on).
void
    tunnel_udp_pass_on (tunnel_udp_t *self);

//  True once the request was a UDP ASSOCIATE.
bool
    tunnel_udp_taken (tunnel_udp_t *self);

//  Once taken: the tunnel's bytes (the far end's replies, then frames),
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
