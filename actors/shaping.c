/*  shaping — the mimic model of a tunnel end. */
#include "actors/shaping.h"

#include <openssl/rand.h>
#include <stdlib.h>

#include "nodes/mimic.h"

static uint64_t
s_seed (void)
{
    uint64_t seed = 0;
    if (RAND_bytes ((unsigned char *) &seed, sizeof seed) != 1)
        seed = (uint64_t) random () << 32 | (uint64_t) random ();
    return seed;
}

void
shaping_start (session_t *session, session_side_t side, const wormhole_conf_t *conf, bool dialing)
{
    mimic_model_t model = { SIZE_IDENTITY, DELAY_IDENTITY, MIMIC_EST_IIR, s_seed () };
    switch (conf->mimic) {
        case MIMIC_OFF:
            return;
        case MIMIC_FIXED:
            model.size = conf->mimic_size;
            model.delay = conf->mimic_delay;
            break;
        case MIMIC_RANDOM:
            if (!dialing)
                mimic_random_model (&model, s_seed ());
            break;
    }
    session_set_mimic (session, side, &model);
}

void
shaping_after_handover (session_t *session, session_side_t side, const wormhole_conf_t *conf)
{
    if (conf->mimic != MIMIC_RANDOM)
        return;
    mimic_model_t model;
    mimic_random_model (&model, s_seed ());
    session_set_mimic (session, side, &model);
}
