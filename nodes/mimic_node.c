/*  mimic_node — the mimic codec on a stack's send path (see mimic_node.h). */
#include "nodes/mimic_node.h"

#include <stdlib.h>

struct mimic_node_t {
    mimic_t *mimic;
    bool shaping;               //  the model decides when bytes leave (else it only learns)
    mimic_clock_fn *clock;
};

static bool
s_shapes (const mimic_model_t *model)
{
    return model && !(model->size == SIZE_IDENTITY && model->delay == DELAY_IDENTITY);
}

mimic_node_t *
mimic_node_new (const mimic_model_t *model, mimic_clock_fn *clock)
{
    mimic_node_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->clock = clock;
    self->mimic = mimic_new (model, clock ());
    if (!self->mimic) {
        free (self);
        return NULL;
    }
    self->shaping = s_shapes (model);
    return self;
}

static void
s_forget (void *ctx, const uint8_t *data, size_t len)
{
    (void) ctx, (void) data, (void) len;
}

int
mimic_node_set_model (mimic_node_t *self, const mimic_model_t *model)
{
    if (mimic_set_model (self->mimic, model) != 0)
        return -1;
    bool shaping = s_shapes (model);
    //  What it scheduled means nothing across the switch: with the gate open
    //  everything goes, and a gate that closes starts from what comes next.
    if (shaping != self->shaping)
        mimic_flush (self->mimic, s_forget, NULL);
    self->shaping = shaping;
    return 0;
}

void
mimic_node_suspend (mimic_node_t *self, int ms)
{
    mimic_suspend (self->mimic, self->clock (), ms);
}

static void
s_destroy (void **state_p)
{
    mimic_node_t *self = *state_p;
    if (!self)
        return;
    mimic_destroy (&self->mimic);
    free (self);
    *state_p = NULL;
}

static void
s_release (void *ctx, const uint8_t *data, size_t len)
{
    const node_out_t *out = ctx;
    (void) data;
    out->event (out->ctx, NODE_RELEASE, len);
}

static int
s_recv (void *state, node_side_t from, uint8_t *data, size_t len, unsigned flags,
        const node_out_t *out)
{
    mimic_node_t *self = state;
    if (from == NODE_OUTER) {
        out->data (out->ctx, NODE_INNER, data, len, flags);
        return 0;
    }
    if (len > 0 && !(flags & NODE_PADDING)) {
        if (self->shaping)
            mimic_push_count (self->mimic, self->clock (), len);
        else
            mimic_observe (self->mimic, self->clock (), len);
    }
    out->data (out->ctx, NODE_OUTER, data, len, flags);
    if (len > 0 && (flags & NODE_PADDING) && self->shaping)
        out->event (out->ctx, NODE_RELEASE, len);
    return 0;
}

static void
s_pump (void *state, uint64_t now_ms, const node_out_t *out)
{
    mimic_node_t *self = state;
    if (!self->shaping)
        return;
    uint64_t next = mimic_pump (self->mimic, now_ms, s_release, (void *) out);
    if (next != UINT64_MAX)
        out->event (out->ctx, NODE_WAKE, next);
    size_t missing = mimic_take_shortfall (self->mimic);
    if (missing)
        out->event (out->ctx, NODE_SHORTFALL, missing);
}

static void
s_flush (void *state, node_side_t toward, const node_out_t *out)
{
    mimic_node_t *self = state;
    if (toward == NODE_OUTER)
        mimic_flush (self->mimic, s_release, (void *) out);
}

static bool
s_gates (void *state)
{
    return ((mimic_node_t *) state)->shaping;
}

const node_class_t mimic_node_class = {
    .name = "mimic",
    .destroy = s_destroy,
    .recv = s_recv,
    .pump = s_pump,
    .flush = s_flush,
    .gates = s_gates,
    .passes_memory = true,      //  it counts the bytes, they pass on where they lie
};
