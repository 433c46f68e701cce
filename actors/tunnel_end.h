/*  tunnel_end — what the distributed wormhole's two ends (tunnel_local,
    tunnel_remote) share: the tunnel's baton, whose breaking ends the
    session, and the handler class's handover call that feeds it.

    Their handler state begins with a tunnel_end_t, so that the class's
    handover call can be tunnel_end_handover itself.
*/
#ifndef MK_TUNNEL_END_H
#define MK_TUNNEL_END_H

#include <stdbool.h>
#include <stdint.h>

#include "actors/baton.h"
#include "actors/wormhole.h"
#include "runtime/handover.h"

typedef struct {
    session_t *session;
    baton_t *baton;             //  handovers of this end's tunnel (NULL: none)
} tunnel_end_t;

//  Handovers for the tunnel on side (baton_new): a handover that cannot
//  finish aborts the session, and the tunnel with it.
void tunnel_end_start_baton (tunnel_end_t *self, session_side_t side, const wormhole_t *wormhole,
                             bool dialing, const uint8_t id0[16]);

//  The handler class's handover call: handler is a state that begins with
//  a tunnel_end_t.
void tunnel_end_handover (void *handler, const handover_event_t *event);

#endif
