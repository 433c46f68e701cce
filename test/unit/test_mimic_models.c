/*  test_mimic_models — the mimic codec's estimators (nodes/mimic.h, on
    simulated time) against reference computations (IIR and Welford), and
    the size and delay models' output statistics against what they learned.
    The statistical tests teach the model with mimic_observe and queue the
    backlog they measure with mimic_enqueue, so that the backlog does not
    change what was learned (test_mimic_rules' test_push_learns covers
    mimic_push doing both).
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

//  --- Estimators

START_TEST (test_estimator_welford)
{
    mimic_model_t model = { SIZE_IDENTITY, DELAY_IDENTITY, MIMIC_EST_WELFORD, 1 };
    mimic_t *m = mimic_new (&model, 1000);
    mimic_stats_t st;

    //  One sample: mean is it, variance 0.
    mimic_observe (m, 1040, 700);
    mimic_stats (m, &st);
    ck_assert_uint_eq (st.samples, 1);
    ck_assert_double_eq_tol (st.size_mean, 700, 1e-9);
    ck_assert_double_eq_tol (st.size_var, 0, 1e-9);
    ck_assert_double_eq_tol (st.gap_mean, 40, 1e-9);      //  gap from creation

    //  Many: exactly the two-pass mean and sample variance.
    uint64_t state = 11;
    enum { N = 5000 };
    static double sizes[N], gaps[N];
    sizes[0] = 700;
    gaps[0] = 40;
    uint64_t t = 1040;
    for (int i = 1; i < N; i++) {
        size_t size = ms_chunk_size (&state);
        uint64_t gap = ms_below (&state, 90);
        t += gap;
        mimic_observe (m, t, size);
        sizes[i] = (double) size;
        gaps[i] = (double) gap;
    }
    double ms = 0, mg = 0, vs = 0, vg = 0;
    for (int i = 0; i < N; i++) {
        ms += sizes[i] / N;
        mg += gaps[i] / N;
    }
    for (int i = 0; i < N; i++) {
        vs += (sizes[i] - ms) * (sizes[i] - ms) / (N - 1);
        vg += (gaps[i] - mg) * (gaps[i] - mg) / (N - 1);
    }
    mimic_stats (m, &st);
    ck_assert_uint_eq (st.samples, N);
    ck_assert_double_eq_tol (st.size_mean, ms, 1e-6 * ms);
    ck_assert_double_eq_tol (st.size_var, vs, 1e-6 * vs);
    ck_assert_double_eq_tol (st.gap_mean, mg, 1e-6 * mg);
    ck_assert_double_eq_tol (st.gap_var, vg, 1e-6 * vg);
    //  And the known distribution: N(1000, 200^2), U{0..89}.
    ck_assert_double_eq_tol (st.size_mean, 1000, 15);
    ck_assert_double_eq_tol (st.size_var, 40000, 4000);
    ck_assert_double_eq_tol (st.gap_mean, 44.5, 1.5);
    ck_assert_double_eq_tol (st.gap_var, (90.0 * 90 - 1) / 12, 60);
    mimic_destroy (&m);
}
END_TEST

START_TEST (test_estimator_iir)
{
    mimic_model_t model = { SIZE_IDENTITY, DELAY_IDENTITY, MIMIC_EST_IIR, 1 };
    mimic_t *m = mimic_new (&model, 0);
    mimic_stats_t st;

    //  From 0: mean = 0.1 x, var = 0.05 (x - mean)^2 with the new mean.
    mimic_observe (m, 30, 1000);
    mimic_stats (m, &st);
    ck_assert_double_eq_tol (st.size_mean, 100, 1e-9);
    ck_assert_double_eq_tol (st.size_var, 0.05 * 900 * 900, 1e-6);
    ck_assert_double_eq_tol (st.gap_mean, 3, 1e-9);
    ck_assert_double_eq_tol (st.gap_var, 0.05 * 27 * 27, 1e-9);

    //  The recurrence, computed here independently.
    double mean_s = 100, var_s = 0.05 * 900 * 900, mean_g = 3, var_g = 0.05 * 27 * 27;
    uint64_t state = 12, t = 30;
    for (int i = 0; i < 400; i++) {
        size_t size = ms_chunk_size (&state);
        uint64_t gap = ms_below (&state, 90);
        t += gap;
        mimic_observe (m, t, size);
        mean_s = 0.1 * (double) size + 0.9 * mean_s;
        var_s = 0.05 * ((double) size - mean_s) * ((double) size - mean_s) + 0.95 * var_s;
        mean_g = 0.1 * (double) gap + 0.9 * mean_g;
        var_g = 0.05 * ((double) gap - mean_g) * ((double) gap - mean_g) + 0.95 * var_g;
    }
    mimic_stats (m, &st);
    ck_assert_uint_eq (st.samples, 401);
    ck_assert_double_eq_tol (st.size_mean, mean_s, 1e-6 * mean_s);
    ck_assert_double_eq_tol (st.size_var, var_s, 1e-6 * var_s);
    ck_assert_double_eq_tol (st.gap_mean, mean_g, 1e-6 * mean_g);
    ck_assert_double_eq_tol (st.gap_var, var_g, 1e-6 * var_g);
    //  It tracks the input: N(1000, 200^2) (IIR's variance runs ~15% low).
    ck_assert (st.size_mean > 850 && st.size_mean < 1150);
    ck_assert (st.size_var > 0.3 * 40000 && st.size_var < 1.6 * 40000);

    //  A clock stepping back counts as a gap of 0, not a huge one.
    mimic_observe (m, t - 1000, 1000);
    mimic_stats (m, &st);
    ck_assert_double_eq_tol (st.gap_mean, 0.9 * mean_g, 1e-6);
    mimic_destroy (&m);
}
END_TEST


//  --- Size models: emitted sizes against the learned statistics

static const mimic_size_model_t s_size_models[] = { SIZE_CONSTANT, SIZE_UNIFORM, SIZE_GAUSSIAN };

START_TEST (test_size_model_stats)
{
    mimic_size_model_t size_model = s_size_models[_i / 2];
    mimic_estimator_t est = _i % 2 ? MIMIC_EST_WELFORD : MIMIC_EST_IIR;
    mimic_model_t model = { size_model, DELAY_IDENTITY, est, 100 + (uint64_t) _i };
    mimic_t *m = mimic_new (&model, 0);
    uint64_t state = 1000 + (uint64_t) _i;
    uint64_t t = 0;
    for (int i = 0; i < 400; i++) {
        t += 20;
        mimic_observe (m, t, ms_chunk_size (&state));
    }
    mimic_stats_t st;
    mimic_stats (m, &st);
    ck_assert (st.size_mean > 850 && st.size_mean < 1150);
    ck_assert (st.size_var > 0.3 * 40000 && st.size_var < 1.6 * 40000);
    double sd = sqrt (st.size_var);
    double half = sqrt (3.0 * st.size_var);         //  the uniform's half width

    //  Backlogs of 90 KB in three chunks, with no delay model: one pump
    //  splits each whole backlog into model-sized pieces. Pieces cut while
    //  fewer than mean + 6 sd bytes were queued may have been clamped, so
    //  they are left out; whether a piece counts depends on the draws before
    //  it, never on its own, so this biases nothing.
    ms_rec_t rec;
    ms_rec_init (&rec, false);
    uint8_t *backlog = ms_random_bytes (&state, 90000);
    ms_sample_t sample = { 0 };
    size_t beyond = 0;                              //  pieces beyond mean +- 2 sd
    for (int b = 0; b < 25; b++) {
        t += 1000;
        rec.count = 0;
        ms_enqueue (m, &rec, backlog, 30000);
        ms_enqueue (m, &rec, backlog + 30000, 20000);
        ms_enqueue (m, &rec, backlog + 50000, 40000);
        ck_assert_uint_eq (ms_pump (m, &rec, t), UINT64_MAX);
        for (size_t i = 0; i < rec.count; i++)
            if ((double) rec.list[i].queued_before >= st.size_mean + 6 * sd) {
                ms_sample_add (&sample, (double) rec.list[i].len);
                beyond += fabs ((double) rec.list[i].len - st.size_mean) > 2 * sd;
            }
    }
    ck_assert_uint_ge (sample.n, 1500);
    double mean = ms_sample_mean (&sample);
    double var = ms_sample_var (&sample);

    switch (size_model) {
        case SIZE_CONSTANT:
            ck_assert_double_eq (sample.min, round (st.size_mean));
            ck_assert_double_eq (sample.max, round (st.size_mean));
            break;
        case SIZE_UNIFORM:
            //  Centred (the original's was biased up by sqrt (3 var)).
            ck_assert_double_eq_tol (mean, st.size_mean, 0.15 * sd + 1);
            ck_assert_double_eq_tol (var, st.size_var, 0.12 * st.size_var);
            ck_assert (sample.min >= round (st.size_mean - half) - 1);
            ck_assert (sample.max <= round (st.size_mean + half) + 1);
            ck_assert (sample.min < st.size_mean - 0.9 * half);
            ck_assert (sample.max > st.size_mean + 0.9 * half);
            ck_assert_uint_eq (beyond, 0);
            break;
        case SIZE_GAUSSIAN:
            ck_assert_double_eq_tol (mean, st.size_mean, 0.15 * sd + 1);
            ck_assert_double_eq_tol (var, st.size_var, 0.15 * st.size_var);
            //  Tails a uniform could not have: 4.55% beyond 2 sd.
            ck_assert (sample.max > st.size_mean + 2.5 * sd);
            ck_assert (sample.min < st.size_mean - 2.5 * sd);
            ck_assert_double_eq_tol ((double) beyond / (double) sample.n, 0.0455, 0.02);
            break;
        default:
            ck_abort ();
    }
    free (backlog);
    ms_rec_free (&rec);
    mimic_destroy (&m);
}
END_TEST

//  Identity sizes: each model send is the head chunk as pushed.
START_TEST (test_size_identity)
{
    mimic_model_t model = { SIZE_IDENTITY, DELAY_CONSTANT, MIMIC_EST_WELFORD, 5 };
    mimic_t *m = mimic_new (&model, 0);
    for (uint64_t t = 40; t <= 400; t += 40)
        mimic_observe (m, t, 1000);
    ms_rec_t rec;
    ms_rec_init (&rec, true);
    uint64_t state = 5;
    size_t sizes[] = { 4000, 150, 30000, 777 };
    uint8_t *data = ms_random_bytes (&state, 34927);
    size_t off = 0;
    for (size_t i = 0; i < 4; i++) {
        ms_enqueue (m, &rec, data + off, sizes[i]);
        off += sizes[i];
    }
    uint64_t end = ms_drain (m, &rec, 3000);
    ck_assert_uint_eq (rec.count, 4);
    for (size_t i = 0; i < 4; i++) {
        ck_assert_uint_eq (rec.list[i].len, sizes[i]);
        ck_assert_uint_eq (rec.list[i].time, 3000 + 40 * i);
    }
    ck_assert_uint_eq (end, 3120);
    ck_assert_mem_eq (rec.bytes, data, off);
    free (data);
    ms_rec_free (&rec);
    mimic_destroy (&m);
}
END_TEST


//  --- Delay models: emitted gaps against the learned statistics

//  What one gap becomes: cut to [0, 100], rounded, and 0 if 10 ms or less.
static double
s_effective_gap (double g)
{
    double w = round (g < 0 ? 0 : g > 100 ? 100 : g);
    return w > 10 ? w : 0;
}

//  Mean and variance of s_effective_gap (g) for g drawn from the delay model
//  with the given mean and variance, by numerical integration.
static void
s_expected_gap (mimic_delay_model_t model, double mean, double var, double *e, double *v)
{
    double lo = 0, hi = 0;
    double sd = sqrt (var);
    switch (model) {
        case DELAY_UNIFORM:
            lo = mean - sqrt (3 * var);
            hi = mean + sqrt (3 * var);
            break;
        case DELAY_GAUSSIAN:
            lo = mean - 9 * sd;
            hi = mean + 9 * sd;
            break;
        case DELAY_EXPONENTIAL:
            lo = 0;
            hi = 50 * mean;
            break;
        default:
            lo = hi = mean;
            break;
    }
    if (hi - lo < 1e-9) {
        *e = s_effective_gap (mean);
        *v = 0;
        return;
    }
    const int steps = 400000;
    double dx = (hi - lo) / steps;
    double mass = 0, m1 = 0, m2 = 0;
    for (int i = 0; i < steps; i++) {
        double x = lo + (i + 0.5) * dx;
        double pdf = 1;
        if (model == DELAY_GAUSSIAN)
            pdf = exp (-0.5 * (x - mean) * (x - mean) / var);
        else
        if (model == DELAY_EXPONENTIAL)
            pdf = exp (-x / mean);
        double y = s_effective_gap (x);
        mass += pdf;
        m1 += pdf * y;
        m2 += pdf * y * y;
    }
    *e = m1 / mass;
    *v = m2 / mass - *e * *e;
}

static const mimic_delay_model_t s_delay_models[] = {
    DELAY_CONSTANT, DELAY_UNIFORM, DELAY_GAUSSIAN, DELAY_EXPONENTIAL
};

START_TEST (test_delay_model_stats)
{
    mimic_delay_model_t delay_model = s_delay_models[_i / 2];
    mimic_estimator_t est = _i % 2 ? MIMIC_EST_WELFORD : MIMIC_EST_IIR;
    mimic_model_t model = { SIZE_CONSTANT, delay_model, est, 200 + (uint64_t) _i };
    mimic_t *m = mimic_new (&model, 0);
    uint64_t state = 2000 + (uint64_t) _i;

    //  Gaps with mean 45: N(45, 25^2), or exponential, so that both the 10 ms
    //  and the 100 ms rules come into play.
    uint64_t t = 0;
    for (int i = 0; i < 400; i++) {
        double gap = delay_model == DELAY_EXPONENTIAL
                   ? -45.0 * log (1.0 - ms_unit (&state))
                   : ms_gauss (&state, 45, 25);
        t += gap < 0 ? 0 : (uint64_t) round (gap);
        mimic_observe (m, t, ms_chunk_size (&state));
    }
    mimic_stats_t st;
    mimic_stats (m, &st);
    ck_assert (st.gap_mean > 20 && st.gap_mean < 70);
    double exp_mean, exp_var;
    s_expected_gap (delay_model, st.gap_mean, st.gap_var, &exp_mean, &exp_var);

    //  Backlogs of 90 KB with constant sizes of ~1000: ~90 model sends each,
    //  pumped exactly at the times asked for. A gap counts when both ends are
    //  model sends of the same backlog (the <100-byte tail is not).
    ms_rec_t rec;
    ms_rec_init (&rec, false);
    uint8_t *backlog = ms_random_bytes (&state, 90000);
    ms_sample_t sample = { 0 };
    size_t zeros = 0;
    for (int b = 0; b < 25; b++) {
        t += 5000;
        rec.count = 0;
        ms_enqueue (m, &rec, backlog, 60000);
        ms_enqueue (m, &rec, backlog + 60000, 30000);
        uint64_t start = t;
        t = ms_drain (m, &rec, t);
        //  The first send is long due (the last one was 5 s ago).
        ck_assert_uint_eq (rec.list[0].time, start);
        for (size_t i = 1; i < rec.count; i++) {
            if (rec.list[i].queued_before < 100)
                continue;
            double gap = (double) (rec.list[i].time - rec.list[i - 1].time);
            //  The 10 ms and 100 ms rules, directly.
            MS_CHECK (gap == 0 || (gap > 10 && gap <= 100));
            ms_sample_add (&sample, gap);
            zeros += gap == 0;
        }
    }
    ck_assert_uint_ge (sample.n, 1500);
    double mean = ms_sample_mean (&sample);
    double var = ms_sample_var (&sample);
    if (delay_model == DELAY_CONSTANT) {
        ck_assert_double_eq (sample.min, exp_mean);
        ck_assert_double_eq (sample.max, exp_mean);
    }
    else {
        double sd = sqrt (exp_var);
        ck_assert_double_eq_tol (mean, exp_mean, 0.15 * sd + 0.5);
        ck_assert_double_eq_tol (var, exp_var, 0.15 * exp_var + 1);
    }
    //  Exponential: P(gap <= 10) is large; the others are centred near 45.
    if (delay_model == DELAY_EXPONENTIAL)
        ck_assert ((double) zeros / (double) sample.n > 0.1);
    free (backlog);
    ms_rec_free (&rec);
    mimic_destroy (&m);
}
END_TEST

//  Identity delay: the whole backlog leaves in one pump, in model-sized pieces.
START_TEST (test_delay_identity)
{
    mimic_model_t model = { SIZE_CONSTANT, DELAY_IDENTITY, MIMIC_EST_WELFORD, 9 };
    mimic_t *m = mimic_new (&model, 0);
    for (uint64_t t = 40; t <= 4000; t += 40)
        mimic_observe (m, t, 1200);
    ms_rec_t rec;
    ms_rec_init (&rec, true);
    uint64_t state = 9;
    uint8_t *data = ms_random_bytes (&state, 50050);
    ms_enqueue (m, &rec, data, 50050);
    ck_assert_uint_eq (ms_pump (m, &rec, 4000), UINT64_MAX);
    ck_assert_uint_eq (rec.count, 42);              //  41 x 1200, then 850
    for (size_t i = 0; i < 41; i++)
        ck_assert_uint_eq (rec.list[i].len, 1200);
    ck_assert_uint_eq (rec.list[41].len, 850);
    ck_assert_mem_eq (rec.bytes, data, 50050);
    free (data);
    ms_rec_free (&rec);
    mimic_destroy (&m);
}
END_TEST

int
main (void)
{
    Suite *suite = suite_create ("mimic_models");
    TCase *tc = tcase_create ("core");
    tcase_add_test (tc, test_estimator_welford);
    tcase_add_test (tc, test_estimator_iir);
    tcase_add_loop_test (tc, test_size_model_stats, 0, 6);
    tcase_add_test (tc, test_size_identity);
    tcase_add_loop_test (tc, test_delay_model_stats, 0, 8);
    tcase_add_test (tc, test_delay_identity);
    tcase_set_timeout (tc, 60);
    suite_add_tcase (suite, tc);
    return check_run (suite);
}
