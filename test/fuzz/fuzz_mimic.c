/*  fuzz_mimic — the mimic traffic shaper codec (nodes/mimic.h), driven by
    a sequence of operations on the caller's clock.

    Input: a header byte (bit 0: chunks queued as counts, not bytes), a
    model (size, delay, estimator and seed bytes), then operations, a byte
    each plus their parameters: push (in count mode
    also huge counts), advance the clock (a little or a
    lot, or step it back), pump, pump at the time pump asked for, suspend, set a model (maybe
    out of range), set a random model, flush, observe, enqueue, take the
    shortfall.

    Checks: bytes leave in order, unchanged, none lost or duplicated (in
    count mode: the counts add up) and emit gets at least 1 byte and NULL
    exactly for counts; queued == pushed - emitted and chunks is 0 exactly
    when nothing is queued; pump returns a later time, UINT64_MAX exactly
    when nothing is left; a second pump at the same time emits nothing and
    returns the same; after a pump the rules hold: during warm-up or a
    suspension, or under 100 bytes, nothing is left, else at most 4 chunks
    and 100 KiB; flush leaves nothing; set_model refuses exactly the
    out-of-range models; random models are in range; the statistics count
    every observation, have finite non-negative means and variances; the
    shortfall is at most 100 KiB per model send.
*/
#include <math.h>

#include "nodes/mimic.h"
#include "test/fuzz/fuzz_common.h"

#define S_PUSH_MAX  (4u << 20)      //  bytes pushed in one run, at most

typedef struct {
    mimic_t *m;
    bool counts;
    uint64_t now, created, suspend_until;
    uint8_t *pushed;                //  bytes mode: every byte pushed, in order
    size_t pushed_cap;
    uint64_t npushed, emitted;
    uint64_t observed;
    size_t emits;                   //  emits in the current pump
    uint64_t enqueued_chunks;
} s_ctx_t;

static void
s_emit (void *ctx, const uint8_t *data, size_t len)
{
    s_ctx_t *c = ctx;
    FUZZ_CHECK (len >= 1);
    FUZZ_CHECK (len <= c->npushed - c->emitted);
    if (c->counts)
        FUZZ_CHECK (data == NULL);
    else {
        FUZZ_CHECK (data != NULL);
        FUZZ_CHECK (memcmp (data, c->pushed + c->emitted, len) == 0);
    }
    c->emitted += len;
    c->emits++;
}

static void
s_check_state (s_ctx_t *c)
{
    size_t queued = mimic_queued (c->m), chunks = mimic_queued_chunks (c->m);
    FUZZ_CHECK (queued == c->npushed - c->emitted);
    FUZZ_CHECK ((chunks == 0) == (queued == 0));
    FUZZ_CHECK (chunks <= queued);
    mimic_stats_t st;
    mimic_stats (c->m, &st);
    FUZZ_CHECK (st.samples == c->observed);
    FUZZ_CHECK (isfinite (st.size_mean) && st.size_mean >= 0);
    FUZZ_CHECK (isfinite (st.gap_mean) && st.gap_mean >= 0);
    FUZZ_CHECK (isfinite (st.size_var) && st.size_var >= 0);
    FUZZ_CHECK (isfinite (st.gap_var) && st.gap_var >= 0);
}

static size_t
s_len (fuzz_in_t *in)
{
    uint8_t b = fuzz_u8 (in);
    return b < 200 ? b : (size_t) (b - 199) * 2048 + fuzz_u8 (in);
}

static void
s_queue (s_ctx_t *c, size_t len, bool learn)
{
    if (len == 0 || (!c->counts && c->npushed + len > S_PUSH_MAX))
        return;
    const uint8_t *data = NULL;
    if (!c->counts) {
        if (c->npushed + len > c->pushed_cap) {
            c->pushed_cap = (c->npushed + len) * 2;
            c->pushed = realloc (c->pushed, c->pushed_cap);
            FUZZ_CHECK (c->pushed);
        }
        for (size_t i = 0; i < len; i++)
            c->pushed [c->npushed + i] = (uint8_t) ((c->npushed + i) * 131 + ((c->npushed + i) >> 8));
        data = c->pushed + c->npushed;
    }
    uint8_t *copy = data ? fuzz_dup (data, len) : NULL;
    if (learn) {
        if (c->counts)
            mimic_push_count (c->m, c->now, len);
        else
            mimic_push (c->m, c->now, copy, len);
        c->observed++;
    }
    else
        mimic_enqueue (c->m, copy, len);
    free (copy);
    c->npushed += len;
    c->enqueued_chunks++;
}

static uint64_t
s_pump (s_ctx_t *c)
{
    size_t before = mimic_queued (c->m);
    c->emits = 0;
    uint64_t next = mimic_pump (c->m, c->now, s_emit, c);
    size_t queued = mimic_queued (c->m);
    FUZZ_CHECK ((next == UINT64_MAX) == (queued == 0));
    FUZZ_CHECK (next > c->now);
    if (queued) {
        FUZZ_CHECK (c->now >= c->suspend_until && c->now >= c->created + 2000);
        FUZZ_CHECK (before >= 100 && queued >= 100);
        FUZZ_CHECK (mimic_queued_chunks (c->m) <= 4 && queued <= 100 * 1024);
    }
    //  pumping again at once does nothing
    size_t emits = c->emits;
    FUZZ_CHECK (mimic_pump (c->m, c->now, s_emit, c) == next);
    FUZZ_CHECK (c->emits == emits);
    if (emits && mimic_take_shortfall (c->m) > emits * (size_t) (100 * 1024))
        FUZZ_CHECK (!"shortfall beyond 100 KiB a send");
    return next;
}

static bool
s_model_from (fuzz_in_t *in, mimic_model_t *model)
{
    uint8_t s = fuzz_u8 (in), d = fuzz_u8 (in), e = fuzz_u8 (in);
    model->size = (mimic_size_model_t) (s % 5);
    model->delay = (mimic_delay_model_t) (d % 6);
    model->estimator = (mimic_estimator_t) (e % 3);
    model->seed = fuzz_u8 (in);
    return s % 5 < 4 && d % 6 < 5 && e % 3 < 2;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    fuzz_in_t in = fuzz_in (data, size);
    uint8_t header = fuzz_u8 (&in);
    mimic_model_t model;
    bool valid = s_model_from (&in, &model);
    s_ctx_t c = { .counts = header & 1, .now = 1000000 + fuzz_u8 (&in) };
    c.created = c.now;
    c.m = mimic_new (&model, c.now);
    FUZZ_CHECK ((c.m != NULL) == valid);
    if (!c.m)
        c.m = mimic_new (NULL, c.now);
    FUZZ_CHECK (c.m);
    uint64_t next = UINT64_MAX;

    for (int ops = 0; fuzz_more (&in) && ops < 2000; ops++) {
        uint8_t op = fuzz_u8 (&in);
        switch (op % 14) {
            case 0: s_queue (&c, s_len (&in), true); break;
            case 1: c.now += fuzz_u8 (&in); break;
            case 2: c.now += (uint64_t) fuzz_u8 (&in) * 100; break;
            case 3: next = s_pump (&c); break;
            case 4:
                if (next != UINT64_MAX && next > c.now && next - c.now < 1000000)
                    c.now = next;
                next = s_pump (&c);
                break;
            case 5: {
                int ms = (int16_t) fuzz_u16 (&in);
                mimic_suspend (c.m, c.now, ms);
                if (ms > 0 && c.now + (uint64_t) ms > c.suspend_until)
                    c.suspend_until = c.now + (uint64_t) ms;
                break;
            }
            case 6: {
                mimic_model_t m;
                bool ok = s_model_from (&in, &m);
                FUZZ_CHECK ((mimic_set_model (c.m, &m) == 0) == ok);
                break;
            }
            case 7: {
                mimic_model_t m;
                mimic_random_model (&m, fuzz_u64 (&in));
                FUZZ_CHECK ((int) m.size >= 0 && m.size <= SIZE_GAUSSIAN);
                FUZZ_CHECK ((int) m.delay >= 0 && m.delay <= DELAY_EXPONENTIAL);
                FUZZ_CHECK (m.estimator == MIMIC_EST_IIR);
                FUZZ_CHECK (mimic_set_model (c.m, &m) == 0);
                break;
            }
            case 8:
                mimic_flush (c.m, s_emit, &c);
                FUZZ_CHECK (mimic_queued (c.m) == 0 && mimic_queued_chunks (c.m) == 0);
                next = UINT64_MAX;
                break;
            case 9:
                mimic_observe (c.m, c.now, s_len (&in));
                c.observed++;
                break;
            case 10: s_queue (&c, s_len (&in), false); break;
            case 11: (void) mimic_take_shortfall (c.m); break;
            case 12: c.now -= fuzz_u8 (&in); break;        //  a clock that steps back
            case 13:
                //  counts only: a huge one (the caller holds the bytes)
                if (c.counts)
                    s_queue (&c, (size_t) fuzz_u32 (&in) << 8, true);
                break;
        }
        s_check_state (&c);
    }
    mimic_flush (c.m, s_emit, &c);
    FUZZ_CHECK (c.emitted == c.npushed);
    FUZZ_CHECK (mimic_set_model (c.m, NULL) == -1);
    mimic_destroy (&c.m);
    FUZZ_CHECK (c.m == NULL);
    free (c.pushed);
    return 0;
}
