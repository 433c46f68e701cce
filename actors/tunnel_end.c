/*  tunnel_end — the baton of a distributed wormhole's end (tunnel_end.h). */
#include "actors/tunnel_end.h"

//  A handover that could not finish: this end's tunnel is gone.
static void
s_broken (void *self_)
{
    tunnel_end_t *self = self_;
    session_abort (self->session);
}

void
tunnel_end_start_baton (tunnel_end_t *self, session_side_t side, const wormhole_t *wormhole,
                        bool dialing, const uint8_t id0[16])
{
    baton_owner_t owner = { s_broken, self };
    self->baton = baton_new (self->session, side, wormhole, dialing, id0, &owner);
}

void
tunnel_end_handover (void *handler, const handover_event_t *event)
{
    tunnel_end_t *self = handler;
    baton_event (self->baton, event);
}
