/*  fuzz_mimic_node — the mimic as a node of a stack (nodes/mimic_node.h),
    driven by a sequence of operations on a fake clock, against the codec
    (nodes/mimic.h) run directly as the node's contract describes it.

    Input: a model (size, delay and seed bytes), then operations: bytes from
    inner (maybe padding), bytes from outer, advance the clock, pump, pump at
    the WAKE time, set a model (maybe out of range), suspend, flush toward
    either side.

    Checks: every chunk passes on at once, once, unchanged (same memory,
    length and flags) toward the other side; the stack gates exactly while
    the model shapes; without shaping there is no RELEASE, WAKE or
    SHORTFALL; while shaping, a padding chunk is RELEASEd at once and the
    RELEASEs, WAKEs and SHORTFALLs of a pump are exactly what the codec
    gives for the same pushes and pumps (queued by count), so never more
    bytes are released than were fed, every WAKE is later than now, and a
    flush toward outer releases everything outstanding.
*/
#include "nodes/mimic.h"
#include "nodes/mimic_node.h"
#include "nodes/node.h"
#include "test/fuzz/fuzz_common.h"

static uint64_t s_now;

static uint64_t
s_clock (void)
{
    return s_now;
}

typedef struct {
    //  the last data call
    size_t chunks;
    node_side_t to;
    const uint8_t *ptr;
    size_t len;
    unsigned flags;
    //  events since the last reset
    uint64_t released, wake, shortfall;
    size_t releases, wakes, shortfalls;
} s_rec_t;

static void
s_data (void *ctx, node_side_t to, uint8_t *data, size_t len, unsigned flags)
{
    s_rec_t *r = ctx;
    r->chunks++;
    r->to = to;
    r->ptr = data;
    r->len = len;
    r->flags = flags;
}

static void
s_event (void *ctx, node_event_t event, uint64_t value)
{
    s_rec_t *r = ctx;
    switch (event) {
        case NODE_RELEASE:
            FUZZ_CHECK (value > 0);
            r->released += value;
            r->releases++;
            break;
        case NODE_WAKE:
            FUZZ_CHECK (value > s_now);
            r->wake = value;
            r->wakes++;
            break;
        case NODE_SHORTFALL:
            FUZZ_CHECK (value > 0);
            r->shortfall += value;
            r->shortfalls++;
            break;
        default:
            FUZZ_CHECK (!"unexpected event");
    }
}

//  The codec as the node should run it.
typedef struct {
    mimic_t *m;
    bool shaping;
    uint64_t released;
} s_ref_t;

static void
s_ref_emit (void *ctx, const uint8_t *data, size_t len)
{
    s_ref_t *ref = ctx;
    FUZZ_CHECK (data == NULL);
    ref->released += len;
}

static void
s_forget (void *ctx, const uint8_t *data, size_t len)
{
    (void) ctx, (void) data, (void) len;
}

static bool
s_model_from (fuzz_in_t *in, mimic_model_t *model)
{
    uint8_t s = fuzz_u8 (in), d = fuzz_u8 (in);
    model->size = (mimic_size_model_t) (s % 5);
    model->delay = (mimic_delay_model_t) (d % 6);
    model->estimator = MIMIC_EST_IIR;
    model->seed = fuzz_u8 (in);
    return s % 5 < 4 && d % 6 < 5;
}

static bool
s_shapes (const mimic_model_t *m)
{
    return !(m->size == SIZE_IDENTITY && m->delay == DELAY_IDENTITY);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    fuzz_in_t in = fuzz_in (data, size);
    s_now = 5000000 + fuzz_u8 (&in);
    mimic_model_t model;
    bool valid = s_model_from (&in, &model);
    mimic_node_t *node = mimic_node_new (&model, s_clock);
    FUZZ_CHECK ((node != NULL) == valid);
    if (!node) {
        model = (mimic_model_t) { SIZE_GAUSSIAN, DELAY_UNIFORM, MIMIC_EST_IIR, 7 };
        node = mimic_node_new (&model, s_clock);
    }
    FUZZ_CHECK (node);
    s_ref_t ref = { mimic_new (&model, s_now), s_shapes (&model), 0 };
    FUZZ_CHECK (ref.m);

    node_stack_t *stack = node_stack_new ();
    FUZZ_CHECK (node_stack_add (stack, NODE_OUTER, &mimic_node_class, node) == 0);
    s_rec_t rec = { 0 };
    node_out_t out = { s_data, s_event, &rec, NULL };
    uint64_t fed = 0, wake = UINT64_MAX;        //  fed: bytes under the gate

    for (int ops = 0; fuzz_more (&in) && ops < 2000; ops++) {
        uint8_t op = fuzz_u8 (&in);
        memset (&rec, 0, sizeof rec);
        switch (op % 9) {
            case 0: case 1: {
                //  bytes from inner toward the network
                uint8_t b = fuzz_u8 (&in);
                size_t len = b < 200 ? b : (size_t) (b - 199) * 4096;
                unsigned flags = op % 9 == 1 ? NODE_PADDING : 0;
                uint8_t *buf = malloc (len ? len : 1);
                memset (buf, 0x5a, len);
                FUZZ_CHECK (node_stack_recv (stack, NODE_INNER, buf, len, flags, &out) == 0);
                FUZZ_CHECK (rec.chunks == 1 && rec.to == NODE_OUTER && rec.ptr == buf);
                FUZZ_CHECK (rec.len == len && rec.flags == flags);
                if (len && !(flags & NODE_PADDING)) {
                    if (ref.shaping) {
                        mimic_push_count (ref.m, s_now, len);
                        fed += len;
                    }
                    else
                        mimic_observe (ref.m, s_now, len);
                }
                if (len && (flags & NODE_PADDING) && ref.shaping)
                    FUZZ_CHECK (rec.releases == 1 && rec.released == len);
                else
                    FUZZ_CHECK (rec.releases == 0);
                FUZZ_CHECK (rec.wakes == 0 && rec.shortfalls == 0);
                free (buf);
                break;
            }
            case 2: {
                uint8_t buf [64];
                size_t len = fuzz_u8 (&in) % sizeof buf;
                memset (buf, 0xa5, len);
                FUZZ_CHECK (node_stack_recv (stack, NODE_OUTER, buf, len, 0, &out) == 0);
                FUZZ_CHECK (rec.chunks == 1 && rec.to == NODE_INNER && rec.ptr == buf && rec.len == len);
                FUZZ_CHECK (rec.releases == 0 && rec.wakes == 0);
                break;
            }
            case 3: s_now += fuzz_u8 (&in); break;
            case 4: case 5:
                if (op % 9 == 5 && wake != UINT64_MAX && wake > s_now && wake - s_now < 1000000)
                    s_now = wake;
                node_stack_pump (stack, s_now, &out);
                FUZZ_CHECK (rec.chunks == 0);
                if (!ref.shaping)
                    FUZZ_CHECK (rec.releases == 0 && rec.wakes == 0 && rec.shortfalls == 0);
                else {
                    ref.released = 0;
                    uint64_t next = mimic_pump (ref.m, s_now, s_ref_emit, &ref);
                    size_t missing = mimic_take_shortfall (ref.m);
                    FUZZ_CHECK (rec.released == ref.released);
                    FUZZ_CHECK (rec.wakes == (next != UINT64_MAX));
                    if (rec.wakes)
                        FUZZ_CHECK (rec.wake == next);
                    FUZZ_CHECK (rec.shortfall == missing && rec.shortfalls == (missing > 0));
                    FUZZ_CHECK (rec.released <= fed);
                    fed -= rec.released;
                    wake = next;
                }
                break;
            case 6: {
                mimic_model_t m;
                bool ok = s_model_from (&in, &m);
                FUZZ_CHECK ((mimic_node_set_model (node, &m) == 0) == ok);
                FUZZ_CHECK (rec.chunks == 0 && rec.releases == 0);
                if (ok) {
                    FUZZ_CHECK (mimic_set_model (ref.m, &m) == 0);
                    if (s_shapes (&m) != ref.shaping) {
                        mimic_flush (ref.m, s_forget, NULL);
                        fed = 0;
                    }
                    ref.shaping = s_shapes (&m);
                }
                break;
            }
            case 7: {
                int ms = (int16_t) fuzz_u16 (&in);
                mimic_node_suspend (node, ms);
                mimic_suspend (ref.m, s_now, ms);
                break;
            }
            case 8: {
                node_side_t toward = fuzz_u8 (&in) & 1 ? NODE_OUTER : NODE_INNER;
                node_stack_flush (stack, toward, &out);
                FUZZ_CHECK (rec.chunks == 0);
                if (toward == NODE_OUTER) {
                    FUZZ_CHECK (rec.released == (ref.shaping ? fed : 0));
                    mimic_flush (ref.m, s_forget, NULL);
                    fed = 0;
                    wake = UINT64_MAX;
                }
                else
                    FUZZ_CHECK (rec.releases == 0);
                break;
            }
        }
        FUZZ_CHECK (node_stack_gated (stack) == ref.shaping);
        FUZZ_CHECK (node_stack_failed (stack) == NULL);
        FUZZ_CHECK (mimic_queued (ref.m) == fed);
    }
    node_stack_destroy (&stack);
    mimic_destroy (&ref.m);
    return 0;
}
