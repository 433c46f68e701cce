/*  baton — the baton handover of one tunnel, at either end (PROTOCOL.md
    section 5): the tunnel moves to a fresh TCP connection on one of the
    accepting end's extra ports without losing, repeating or reordering a
    byte, and without restarting its cipher.

    The tunnel's handler owns a baton_t and passes it its session's handover
    events (runtime/handler.h); the baton drives the session's handover
    mechanics (runtime/session.h), picks a new mimic model after each one
    (actors/shaping.h), and tells the owner when a handover has broken the
    tunnel.

    Dialing end states:
      IDLE        waiting for a trigger: the periodic timer (handover_interval),
                  an operator (SIGUSR1), or the aggregated liveness check
      CONNECTING  the new socket S2 connects to a random extra port (or to
                  local_proxy); S1 tapped
      PROXY       behind local_proxy: S2 sent CONNECT for the extra port and
                  waits for the proxy's 200
      WAITING     ID(n) sent on S2; waiting for HO_R2L on S1
      AFTERMATH   S2 was closed after its ID went out: most likely the ID was
                  refused, but S1 stays tapped until the 3 s are over in case
                  the acceptor switched anyway (then the tunnel is broken)
      RETIRING    switched: S1 writes HO_COMPLETE_L2R and what preceded it,
                  then waits for the acceptor to close it
    Accepting end states:
      IDLE        registered under the ID the dialer will present next
      SWITCHING   HO_R2L sent on S1, writes go to S2; waiting for
                  HO_COMPLETE_L2R on S1 (S2's bytes are held)
      RETIRING    S1 writes its last bytes, then closes

    A failed handover connect is logged and the tunnel goes on over S1. A
    handover whose awaited command does not come within 3 s breaks the tunnel
    (which redials, if it is an aggregated dialer). The session reads a
    tapped S1 ahead of a slow reader, so that HO_R2L is not stuck behind what
    the user has not taken yet; the accepting end's wait is extended while
    its own backlog ahead of HO_R2L is still being written (up to 10 s).
*/
#ifndef MK_BATON_H
#define MK_BATON_H

#include <stdbool.h>
#include <stdint.h>

#include "actors/wormhole.h"
#include "runtime/handover.h"

#define BATON_STALL_MS 3000

typedef struct baton_t baton_t;

typedef struct {
    //  The tunnel cannot go on (a stalled or half-done handover).
    void (*broken) (void *ctx);
    void *ctx;
} baton_owner_t;

//  side: the session's side that is the tunnel. id0: v1's ID0 from the
//  hello (HMAC(K, IV, 16)); v2 takes its IDs from the side's record node
//  (actors/tunnel_wire.h). The accepting end registers the tunnel under ID1 at
//  once. Returns NULL if the wormhole has no extra ports (no handovers), or
//  on failure.
baton_t *baton_new (session_t *session, session_side_t side, const wormhole_t *wormhole,
                    bool dialing, const uint8_t id0[16], const baton_owner_t *owner);
//  Accepting end: after a handover's switch the old connection stays open
//  ms (or until the dialer closes it) instead of closing once written out.
//  For an original dialer (mimicsocks_wormhole_local.erl:145-156, 199-200):
//  it moves to the new connection only once its HO_COMPLETE_L2R has come
//  back through its own process pipeline as a flush, and dies (remote_down)
//  if the old one closes before that; its state for the old one's end
//  (ho_wait_close) waits for our close as long as it takes.
#define BATON_ORIGINAL_LINGER_MS 2000
void baton_linger (baton_t *self, int ms);

//  Drops any handover in progress (the session's spare socket and tapping).
void baton_destroy (baton_t **self_p);

//  The session's handover events (the handler's handover callback).
void baton_event (baton_t *self, const handover_event_t *event);

//  Dialing end: start a handover now (if none is running). Returns 0 if one
//  started.
int baton_start (baton_t *self);

//  Aggregated dialing end: a user connected. If nothing comes back from the
//  remote end within 10-20 s, a handover checks the tunnel (section 5).
void baton_user_arrived (baton_t *self);
//  Bytes came from the remote end.
void baton_heard (baton_t *self);

#endif
