/*  tunnel_wire — what differs between wire protocol v1 (PROTOCOL.md) and
    v2 (docs/PROTOCOL-v2.md) at a tunnel's ends: the first bytes each end
    sends and checks, the node that carries the stream, the handover's
    commands, IDs and the first bytes of a handover connection. Everything
    above it (dialer, tunnel handlers, baton) is the same for both.

      v1: hello (IV || ID0) in clear, AES-CTR node, in-band commands that a
          scanner finds while tapping, IDs chained by HMAC from ID0, a
          handover connection opens with ID(n) in clear
      v2: salted first flights, the record node, COMMAND records, IDs from
          the tunnel's handover key, a handover connection opens with a
          first flight of its own
*/
#ifndef MK_TUNNEL_WIRE_H
#define MK_TUNNEL_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "actors/wormhole.h"
#include "nodes/node.h"
#include "runtime/session.h"

#define TUNNEL_ID_SIZE 16
#define TUNNEL_HANDOVER_HELLO_MAX 1200      //  first bytes of a handover connection

static inline bool
tunnel_wire_v2 (const wormhole_conf_t *conf)
{
    return conf->protocol == PROTOCOL_V2;
}

//  --- Dialing end

//  Sends the first bytes on side and installs the stream's node there.
//  v1: *id0 gets the hello's ID0 (the baton's chain starts there).
int tunnel_wire_dial (session_t *session, session_side_t side, const wormhole_conf_t *conf,
                      uint8_t id0[TUNNEL_ID_SIZE]);

//  --- Accepting end (main port and extra ports)

typedef struct tunnel_wire_accept_t tunnel_wire_accept_t;

typedef enum {
    TUNNEL_WIRE_NEED_MORE,
    TUNNEL_WIRE_REFUSED,        //  not a client of ours: silent treatment
    TUNNEL_WIRE_OK              //  *used bytes were the first flight
} tunnel_wire_result_t;

//  handover: the first bytes of a handover connection (an extra port)
//  rather than of a tunnel. NULL on error.
tunnel_wire_accept_t *tunnel_wire_accept_new (const wormhole_t *wormhole, bool handover);
void tunnel_wire_accept_destroy (tunnel_wire_accept_t **self_p);

//  Feeds the connection's first bytes. REFUSED sets *why (for a log line).
tunnel_wire_result_t tunnel_wire_accept_feed (tunnel_wire_accept_t *self, const uint8_t *data,
                                              size_t len, size_t *used, const char **why);

//  After OK on an extra port: the ID the connection presented.
const uint8_t *tunnel_wire_accept_id (tunnel_wire_accept_t *self);
//  Once installed: true if it is v1 and the dialer's hello lacks the C mark
//  (wire_hello_marked): an original end (or an older C one).
bool tunnel_wire_accept_original (tunnel_wire_accept_t *self);

//  After OK on the main port: answers (v2: the server's flight), installs
//  the stream's node on side, and gives the tunnel's first handover ID
//  (the one the accepting end registers). -1 on failure.
int tunnel_wire_accept_install (tunnel_wire_accept_t *self, session_t *session,
                                session_side_t side, uint8_t id1[TUNNEL_ID_SIZE]);

//  --- Handover (actors/baton.c)

//  One handover command (the v1 codes: INBAND_HO_R2L, INBAND_HO_COMPLETE_L2R).
void tunnel_wire_command (session_t *session, session_side_t side, const wormhole_conf_t *conf,
                          int cmd);

//  v1: the scanner that must tap the stream during a handover (state: the
//  caller's inband_rx_t). v2: NULL, the record node reports commands itself.
bool tunnel_wire_needs_tap (const wormhole_conf_t *conf);

//  The handover IDs of a tunnel: the n-th handover (n >= 1) presents ID(n).
//  v1: chained from ID0 (prev holds ID(n-1), ID0 for n = 1); v2: from the
//  side's record node. -1 if not known yet (v2: the server's flight has not
//  come).
int tunnel_wire_handover_id (session_t *session, session_side_t side,
                             const wormhole_conf_t *conf, uint64_t n,
                             const uint8_t prev[TUNNEL_ID_SIZE], uint8_t id[TUNNEL_ID_SIZE]);

//  The first bytes of a handover connection presenting id. Returns their
//  length (<= TUNNEL_HANDOVER_HELLO_MAX), or -1.
int tunnel_wire_handover_hello (const wormhole_conf_t *conf, const uint8_t id[TUNNEL_ID_SIZE],
                                uint8_t *out, size_t cap);

#endif
