/*  socks_udp — the far side of a SOCKS5 UDP association at the socks
    handler: datagrams to and from the targets through the session's own
    UDP socket, each target checked by the handler's rules like a CONNECT's.

    Direct (a standalone proxy; RFC 1928 section 7): the client's datagrams
    come on a UDP socket bound on the control connection's local address,
    only from the client's IP (and from the DST.ADDR/PORT of its request,
    where it gave them). Over a stream (the far end of a wormhole:
    SOCKS_CMD_UDP_STREAM): they come framed on the session's client stream
    (docs/PROTOCOL-EXTENSIONS.md, "UDP associations").

    Names are looked up through the resolver (a few datagrams wait, the rest
    are dropped) and kept for a minute. A datagram with FRAG != 0, a bad
    header, a denied target or no room is dropped: datagram semantics.
*/
#ifndef MK_SOCKS_UDP_H
#define MK_SOCKS_UDP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "handlers/socks_codec.h"
#include "runtime/handler.h"

typedef struct socks_udp_t socks_udp_t;

//  Start the association asked for by request (its command says which
//  kind). Returns NULL with a SOCKS5 reply code in *rep if it cannot;
//  else *bound is the address for the reply (direct: the user's socket;
//  over a stream: 0.0.0.0:0).
socks_udp_t *
    socks_udp_new (session_t *session, const acl_t *acl, const socks_request_t *request,
                   struct sockaddr_storage *bound, int *rep);

void
    socks_udp_destroy (socks_udp_t **self_p);

//  Client stream bytes. Over a stream: frames of datagrams (-1: the framing
//  broke, end the session); direct: ignored (RFC 1928 gives them no meaning).
int
    socks_udp_client_data (socks_udp_t *self, const uint8_t *data, size_t len);

//  The handler's udp_datagram and udp_resolved, passed on.
void
    socks_udp_datagram (socks_udp_t *self, int port, const struct sockaddr *from,
                        const uint8_t *data, size_t len);
void
    socks_udp_resolved (socks_udp_t *self, int status, const struct sockaddr_storage *addrs,
                        const socklen_t *lens, size_t count);

//  The handler's timer fired: true if the association has been idle for
//  the idle limit (end it); otherwise the timer is armed again.
bool
    socks_udp_idle (socks_udp_t *self);

//  Datagrams dropped by the target rules, and for any other reason, since
//  start (every association of the process).
unsigned long socks_udp_denied_total (void);
unsigned long socks_udp_dropped_total (void);

#endif
