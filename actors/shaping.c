/*  shaping — the mimic model of a tunnel end. */
#include "actors/shaping.h"

#include <openssl/rand.h>
#include <stdlib.h>

#include "nodes/mimic_node.h"
#include "runtime/timers.h"

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
    mimic_node_t *mimic = mimic_node_new (&model, timers_now_ms);
    if (mimic)
        session_add_node (session, side, NODE_OUTER, &mimic_node_class, mimic);
}

void
shaping_after_handover (session_t *session, session_side_t side, const wormhole_conf_t *conf)
{
    if (conf->mimic != MIMIC_RANDOM)
        return;
    mimic_model_t model;
    mimic_random_model (&model, s_seed ());
    mimic_node_t *mimic = session_node (session, side, &mimic_node_class);
    if (mimic && mimic_node_set_model (mimic, &model) == 0)
        session_nodes_changed (session, side);
}

void
shaping_suspend (session_t *session, session_side_t side, int ms)
{
    mimic_node_t *mimic = session_node (session, side, &mimic_node_class);
    if (mimic) {
        mimic_node_suspend (mimic, ms);
        session_nodes_changed (session, side);
    }
}
