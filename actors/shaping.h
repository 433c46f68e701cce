/*  shaping — which mimic model a tunnel end uses (PROTOCOL.md section 7 and
    the wormhole's `mimic` setting).

    mimic: random (the default) — the dialing end starts with identity /
    identity (bytes as they come), the accepting end with a random model, and
    both pick a new random model after each handover, as the original does;
    {size, delay} — that model at both ends, always; off — no mimic at all.
*/
#ifndef MK_SHAPING_H
#define MK_SHAPING_H

#include <stdbool.h>

#include "config/config.h"
#include "runtime/session.h"

//  Adds the mimic to the tunnel side's node stack (outside its cipher).
void shaping_start (session_t *session, session_side_t side, const wormhole_conf_t *conf,
                    bool dialing);

//  Bytes pass at once for ms (handshakes are not to be delayed).
void shaping_suspend (session_t *session, session_side_t side, int ms);

//  A handover completed: a new random model where the setting asks for it.
void shaping_after_handover (session_t *session, session_side_t side, const wormhole_conf_t *conf);

#endif
