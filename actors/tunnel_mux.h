/*  tunnel_mux — an aggregated wormhole's tunnel: one TCP connection that
    carries every user connection as a stream (PROTOCOL.md sections 6 and 10).

    It is the handler of the session that owns the tunnel socket:
      - at the dialing end (the local end; the intranet end in reverse mode)
        a session with no client: it dials (actors/dialer.c), keeps the tunnel
        up and dials again with backoff when it drops;
      - at the accepting end it runs inside tunnel_remote, after the hello.
    The end the users connect to (the local end; the public end in reverse
    mode) allocates stream ids and sends NEW_SOCKET; the other end starts the
    wormhole's handler (socks, http, relay) for every NEW_SOCKET. Both ends
    send CLOSE_SOCKET when their side of a stream ends (the original forgot
    this in one direction) and close the socket when they receive it.

    Streams are sessions of their own in the same worker (runtime/session.h:
    stream sides); this module routes frames between them and the tunnel.
*/
#ifndef MK_TUNNEL_MUX_H
#define MK_TUNNEL_MUX_H

#include "actors/wormhole.h"
#include "runtime/session.h"

//  Make the user's session a new stream of the wormhole's tunnel in this
//  worker. Returns -1 if there is no tunnel here (or no free stream id).
int tunnel_mux_attach (const wormhole_t *wormhole, session_t *user);

//  A user whose stream opens only once its handshake is answered at this
//  end (actors/local_answer.h) has connected: false if the wormhole has no
//  tunnel in this worker (the user is refused at once, as by attach); else
//  the tunnel's liveness check counts the user from now on.
bool tunnel_mux_user_arrived (const wormhole_t *wormhole);

extern const handler_class_t tunnel_mux_handler_class;

//  The conf's flags: this end dials the tunnel (else it was accepted, and
//  tunnel_remote runs the multiplexer after the hello).
#define TUNNEL_MUX_DIAL 1u

#endif
