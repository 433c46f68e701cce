/*  socks — the SOCKS4/4a/5 CONNECT handler (handler: socks, socks4, socks5).

    Glue between the session API and socks_codec: it reads the request,
    connects to the target, answers the client and switches to relaying.
*/
#ifndef MK_SOCKS_H
#define MK_SOCKS_H

#include "runtime/handler.h"

extern const handler_class_t socks_handler_class;

//  The conf's flags: the versions this handler accepts (handler: socks
//  takes both, socks4 and socks5 one each).
#define SOCKS_ACCEPT_V4 1u      //  SOCKS4 and 4a
#define SOCKS_ACCEPT_V5 2u
//  Set by a wormhole for its far end's handler: the client is a tunnel, not
//  a socket next to the user, so a UDP association must come as
//  SOCKS_CMD_UDP_STREAM (a plain UDP ASSOCIATE gets "command not supported").
#define SOCKS_BEHIND_WORMHOLE 4u
//  Set with it when the tunnel is TLS-shaped (v2, wire: tls): a client that
//  sent data behind its request did not wait for the replies, which then
//  wait (at most 1 s) for the target's first bytes and leave with them, as
//  a TLS server's first record after its tickets is its response.
#define SOCKS_JOIN_REPLIES 8u

//  Requests refused by the target rules (acl.h) since start, all socks
//  handlers of the process together.
unsigned long socks_denied_total (void);
//  Clients refused for their credentials (wrong, none, or SOCKS4 while users are set).
unsigned long socks_auth_failed_total (void);

#endif
