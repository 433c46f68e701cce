/*  shaping — the mimic model of a tunnel end. */
#include "actors/shaping.h"

#include <openssl/rand.h>
#include <stdlib.h>

#include "nodes/mimic_node.h"
#include "nodes/v2_node.h"
#include "runtime/timers.h"

static uint64_t
s_seed (void)
{
    uint64_t seed = 0;
    if (RAND_bytes ((unsigned char *) &seed, sizeof seed) != 1)
        seed = (uint64_t) random () << 32 | (uint64_t) random ();
    return seed;
}

//  The config's {size, delay} names the codec's models one for one; a switch
//  rather than a cast, so that neither side has to keep the other's order.
static void
s_fixed_model (const wormhole_conf_t *conf, mimic_model_t *model)
{
    switch (conf->mimic_size) {
        case CONFIG_SIZE_IDENTITY: model->size = SIZE_IDENTITY; break;
        case CONFIG_SIZE_CONSTANT: model->size = SIZE_CONSTANT; break;
        case CONFIG_SIZE_UNIFORM:  model->size = SIZE_UNIFORM;  break;
        case CONFIG_SIZE_GAUSSIAN: model->size = SIZE_GAUSSIAN; break;
    }
    switch (conf->mimic_delay) {
        case CONFIG_DELAY_IDENTITY:    model->delay = DELAY_IDENTITY;    break;
        case CONFIG_DELAY_CONSTANT:    model->delay = DELAY_CONSTANT;    break;
        case CONFIG_DELAY_UNIFORM:     model->delay = DELAY_UNIFORM;     break;
        case CONFIG_DELAY_GAUSSIAN:    model->delay = DELAY_GAUSSIAN;    break;
        case CONFIG_DELAY_EXPONENTIAL: model->delay = DELAY_EXPONENTIAL; break;
    }
}

//  v2's padding: what a model send lacked goes out as padding records of
//  that wire size (the record node makes them from a NODE_PADDING chunk;
//  the bytes given are not sent).
static void
s_pad_v2 (void *ctx, size_t missing)
{
    static const uint8_t zeros[V2_RECORD_MAX];
    session_t *session = ctx;
    session_side_t side = session_node (session, SESSION_TARGET, &v2_node_class)
                        ? SESSION_TARGET : SESSION_CLIENT;
    while (missing > 0) {
        size_t n = missing < sizeof zeros ? missing : sizeof zeros;
        session_pad (session, side, zeros, n);
        missing -= n;
    }
}

void
shaping_start (session_t *session, session_side_t side, const wormhole_conf_t *conf, bool dialing)
{
    mimic_model_t model = { SIZE_IDENTITY, DELAY_IDENTITY, MIMIC_EST_IIR, s_seed () };
    switch (conf->mimic) {
        case MIMIC_OFF:
            return;
        case MIMIC_FIXED:
            s_fixed_model (conf, &model);
            break;
        case MIMIC_RANDOM:
            if (!dialing)
                mimic_random_model (&model, s_seed ());
            break;
    }
    mimic_node_t *mimic = mimic_node_new (&model, timers_now_ms);
    if (mimic)
        session_add_node (session, side, NODE_OUTER, &mimic_node_class, mimic);
    if (mimic && conf->mimic_padding && conf->protocol == PROTOCOL_V2)
        session_set_padding (session, side, s_pad_v2, session);
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
