/*  test_mimic_stream — the mimic codec (nodes/mimic.h) as a whole: random
    models, determinism under a seed, the byte-stream property (everything
    pushed leaves exactly once, in order) over every model combination with
    random pushes, pump times, suspensions and model changes, and counted
    mode making the same decisions as with bytes.
*/
#include <check.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "nodes/mimic.h"
#include "test/support/check_run.h"
#include "test/support/mimic_sim.h"

//  --- Random models and determinism

START_TEST (test_random_model)
{
    bool seen[SIZE_GAUSSIAN + 1][DELAY_EXPONENTIAL + 1] = { { false } };
    for (uint64_t seed = 0; seed < 2000; seed++) {
        mimic_model_t a, b, c;
        mimic_random_model (&a, seed);
        mimic_random_model (&b, seed);
        mimic_random_model (&c, seed + 1);
        MS_CHECK (a.size == b.size && a.delay == b.delay && a.estimator == b.estimator
                 && a.seed == b.seed);
        MS_CHECK (a.seed != c.seed);
        MS_CHECK ((int) a.size >= 0 && a.size <= SIZE_GAUSSIAN);
        MS_CHECK ((int) a.delay >= 0 && a.delay <= DELAY_EXPONENTIAL);
        MS_CHECK (a.estimator == MIMIC_EST_IIR);
        seen[a.size][a.delay] = true;
        mimic_t *m = mimic_new (&a, 0);
        MS_CHECK (m);
        mimic_destroy (&m);
    }
    for (int s = 0; s <= SIZE_GAUSSIAN; s++)
        for (int d = 0; d <= DELAY_EXPONENTIAL; d++)
            ck_assert_msg (seen[s][d], "combination %d/%d never drawn", s, d);
}
END_TEST

static bool
s_same_emission (const ms_emission_t *a, const ms_emission_t *b)
{
    return a->time == b->time && a->len == b->len && a->queued_before == b->queued_before;
}

//  A fixed random scenario; returns its emission record.
static void
s_scenario (uint64_t mimic_seed, ms_rec_t *rec)
{
    mimic_model_t model = { SIZE_GAUSSIAN, DELAY_GAUSSIAN, MIMIC_EST_IIR, mimic_seed };
    mimic_t *m = mimic_new (&model, 0);
    uint64_t state = 77;
    uint8_t *data = ms_random_bytes (&state, 5000);
    uint64_t t = 0, next = UINT64_MAX;
    for (int i = 0; i < 2000; i++) {
        uint64_t push_at = t + ms_below (&state, 80);
        while (next <= push_at) {
            t = next;
            next = ms_pump (m, rec, t);
        }
        t = push_at;
        ms_push (m, rec, t, data, ms_chunk_size (&state));
        next = ms_pump (m, rec, t);
    }
    ms_drain (m, rec, t);
    free (data);
    mimic_destroy (&m);
}

START_TEST (test_deterministic)
{
    ms_rec_t a, b, c;
    ms_rec_init (&a, true);
    ms_rec_init (&b, true);
    ms_rec_init (&c, true);
    s_scenario (5, &a);
    s_scenario (5, &b);
    s_scenario (6, &c);
    ck_assert_uint_eq (a.count, b.count);
    for (size_t i = 0; i < a.count; i++)
        MS_CHECK (s_same_emission (&a.list[i], &b.list[i]));
    ck_assert_mem_eq (a.bytes, b.bytes, a.emitted);
    //  Another seed: the same bytes, shaped differently.
    ck_assert_uint_eq (a.emitted, c.emitted);
    ck_assert_mem_eq (a.bytes, c.bytes, a.emitted);
    size_t same = 0;
    for (size_t i = 0; i < a.count && i < c.count; i++)
        same += s_same_emission (&a.list[i], &c.list[i]);
    ck_assert (a.count != c.count || same < a.count);
    //  And it did shape: not just the pushes passed through.
    ck_assert_uint_gt (a.count, 2000);
    ms_rec_free (&a);
    ms_rec_free (&b);
    ms_rec_free (&c);
}
END_TEST


//  --- Property: the byte stream is kept, under any model and any timing

START_TEST (test_property_stream)
{
    //  _i enumerates size x delay x estimator; each combination runs with
    //  two input seeds.
    int size = _i % 4, delay = (_i / 4) % 5, est = (_i / 20) % 2;
    for (uint64_t round_ = 0; round_ < 2; round_++) {
        uint64_t state = 0x5eed0000 + (uint64_t) _i * 2 + round_;
        mimic_model_t model = { (mimic_size_model_t) size, (mimic_delay_model_t) delay,
                                (mimic_estimator_t) est, ms_rand (&state) };
        uint64_t t = ms_below (&state, 1000000);
        mimic_t *m = mimic_new (&model, t);
        ck_assert_ptr_nonnull (m);
        ms_rec_t rec;
        ms_rec_init (&rec, true);
        size_t total = 0, cap = 4 << 20;
        uint8_t *pushed = ms_random_bytes (&state, cap);
        uint64_t next = UINT64_MAX;
        bool changed = false;
        bool pumped_last;               //  the op ended with a pump

        for (int op = 0; op < 400 && total < cap - 200000; op++) {
            t += ms_below (&state, 8) == 0 ? ms_below (&state, 3000) : ms_below (&state, 60);
            size_t kind = ms_below (&state, 100);
            pumped_last = false;
            if (kind < 55) {
                size_t len = ms_below (&state, 10) == 0 ? ms_below (&state, 150000)
                           : ms_below (&state, 4000);
                ms_push (m, &rec, t, pushed + total, len);
                total += len;
                if (ms_below (&state, 3)) {
                    next = ms_pump (m, &rec, t);
                    pumped_last = true;
                }
            }
            else
            if (kind < 85) {
                //  Pump now, whatever was asked for (early, on time or late).
                next = ms_pump (m, &rec, t);
                pumped_last = true;
            }
            else
            if (kind < 95) {
                //  Pump at the time asked for, if it has come.
                if (next != UINT64_MAX && next <= t + 200) {
                    t = next;
                    next = ms_pump (m, &rec, t);
                    pumped_last = true;
                }
            }
            else
            if (kind < 97) {
                mimic_suspend (m, t, (int) ms_below (&state, 3000));
                next = ms_pump (m, &rec, t);
                MS_CHECK (mimic_queued (m) == 0);
            }
            else {
                mimic_model_t other;
                mimic_random_model (&other, ms_rand (&state));
                MS_CHECK (mimic_set_model (m, &other) == 0);
                changed = true;
            }
            //  Whenever the mimic asks to wait, the rules have been applied.
            if (pumped_last && next != UINT64_MAX) {
                MS_CHECK (mimic_queued (m) >= 100);
                MS_CHECK (mimic_queued (m) <= MS_KIB100);
                MS_CHECK (mimic_queued_chunks (m) <= 4);
                MS_CHECK (next <= t + 100);
            }
        }
        ms_drain (m, &rec, t);
        ck_assert_uint_eq (rec.emitted, total);
        ck_assert_uint_eq (rec.pushed, total);
        ck_assert_int_eq (memcmp (rec.bytes, pushed, total), 0);
        //  Identity / identity and no model change: chunks leave as pushed.
        if (size == SIZE_IDENTITY && delay == DELAY_IDENTITY && !changed) {
            mimic_stats_t st;
            mimic_stats (m, &st);
            ck_assert_uint_eq (rec.count, st.samples);
        }
        free (pushed);
        ms_rec_free (&rec);
        mimic_destroy (&m);
    }
}
END_TEST

//  --- Counted mode: the same decisions as with bytes, without the bytes

typedef struct {
    size_t lens[20000];
    size_t count;
    bool saw_null, saw_data;
} s_lens_t;

static void
s_lens_emit (void *ctx, const uint8_t *data, size_t len)
{
    s_lens_t *rec = ctx;
    if (rec->count < sizeof rec->lens / sizeof rec->lens[0])
        rec->lens[rec->count++] = len;
    if (data)
        rec->saw_data = true;
    else
        rec->saw_null = true;
}

START_TEST (test_counted_matches)
{
    int size = _i % 4, delay = (_i / 4) % 5;
    uint64_t state = 0xc0117ed0 + (uint64_t) _i;
    mimic_model_t model = { (mimic_size_model_t) size, (mimic_delay_model_t) delay,
                            MIMIC_EST_IIR, ms_rand (&state) };
    uint64_t t = 5000;
    mimic_t *bytes = mimic_new (&model, t), *counted = mimic_new (&model, t);
    s_lens_t *a = calloc (1, sizeof *a), *b = calloc (1, sizeof *b);
    ck_assert_ptr_nonnull (a);
    ck_assert_ptr_nonnull (b);
    uint8_t *data = ms_random_bytes (&state, 200000);
    for (int op = 0; op < 600; op++) {
        t += ms_below (&state, 40);
        if (ms_below (&state, 2)) {
            size_t len = 1 + ms_below (&state, 3000);
            mimic_push (bytes, t, data, len);
            mimic_push_count (counted, t, len);
        }
        uint64_t next_a = mimic_pump (bytes, t, s_lens_emit, a);
        uint64_t next_b = mimic_pump (counted, t, s_lens_emit, b);
        ck_assert_uint_eq (next_a, next_b);
        ck_assert_uint_eq (mimic_queued (bytes), mimic_queued (counted));
    }
    mimic_flush (bytes, s_lens_emit, a);
    mimic_flush (counted, s_lens_emit, b);
    ck_assert_uint_eq (a->count, b->count);
    ck_assert_int_eq (memcmp (a->lens, b->lens, a->count * sizeof a->lens[0]), 0);
    ck_assert (!a->saw_null && a->saw_data);
    ck_assert (b->saw_null && !b->saw_data);
    free (data);
    free (a);
    free (b);
    mimic_destroy (&bytes);
    mimic_destroy (&counted);
}
END_TEST

START_TEST (test_shortfall)
{
    //  A model send that wants more than is queued says how much it lacked
    //  (for padding); the mimic itself sends only what it was given.
    mimic_model_t model = { SIZE_CONSTANT, DELAY_IDENTITY, MIMIC_EST_WELFORD, 1 };
    mimic_t *m = mimic_new (&model, 0);
    for (int i = 0; i < 10; i++)
        mimic_observe (m, 10 * (uint64_t) i, 1000);
    ck_assert_uint_eq (mimic_take_shortfall (m), 0);
    uint8_t data[200] = { 0 };
    mimic_enqueue (m, data, sizeof data);
    s_lens_t *rec = calloc (1, sizeof *rec);
    mimic_pump (m, 5000, s_lens_emit, rec);
    ck_assert_uint_eq (rec->count, 1);
    ck_assert_uint_eq (rec->lens[0], 200);
    ck_assert_uint_eq (mimic_take_shortfall (m), 800);
    ck_assert_uint_eq (mimic_take_shortfall (m), 0);
    //  Passing through (fewer than 100 bytes queued) lacks nothing.
    mimic_enqueue (m, data, 50);
    mimic_pump (m, 6000, s_lens_emit, rec);
    ck_assert_uint_eq (mimic_take_shortfall (m), 0);
    free (rec);
    mimic_destroy (&m);
}
END_TEST

int
main (void)
{
    Suite *suite = suite_create ("mimic_stream");
    TCase *tc = tcase_create ("core");
    tcase_add_test (tc, test_random_model);
    tcase_add_test (tc, test_deterministic);
    tcase_add_loop_test (tc, test_property_stream, 0, 40);
    tcase_add_loop_test (tc, test_counted_matches, 0, 20);
    tcase_add_test (tc, test_shortfall);
    tcase_set_timeout (tc, 60);
    suite_add_tcase (suite, tc);
    return check_run (suite);
}
