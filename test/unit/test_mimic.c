/*  test_mimic — the mimic codec on simulated time: the estimators against
    reference computations, the size and delay models' output statistics
    against what they learned (IIR and Welford), each scheduling rule on its
    own, determinism under a seed, and the byte-stream property (everything
    pushed leaves exactly once, in order) over every model combination with
    random pushes, pump times, suspensions and model changes.

    The statistical tests teach the model with mimic_observe and queue the
    backlog they measure with mimic_enqueue, so that the backlog does not
    change what was learned; test_push_learns covers mimic_push doing both.
*/
#include <check.h>

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nodes/mimic.h"
#include "test/support/check_run.h"

//  Check's ck_assert_* report every passing check to the parent process;
//  hot loops use this, which only speaks up on failure.
#define S_CHECK(cond) \
    do { if (!(cond)) ck_abort_msg ("assertion failed: %s (line %d)", #cond, __LINE__); } while (0)

#define S_KIB100 (100 * 1024)


//  --- The test's own random numbers (independent of the module's)

static uint64_t
s_rand (uint64_t *state)
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

static size_t
s_below (uint64_t *state, size_t n)
{
    return (size_t) (s_rand (state) % n);
}

static double
s_unit (uint64_t *state)
{
    return (double) (s_rand (state) >> 11) * 0x1.0p-53;
}

static double
s_gauss (uint64_t *state, double mean, double sd)
{
    double u1 = 1.0 - s_unit (state);
    double u2 = s_unit (state);
    return mean + sd * sqrt (-2.0 * log (u1)) * cos (2.0 * M_PI * u2);
}

//  Sizes ~ N(1000, 200^2), rounded, at least 1.
static size_t
s_chunk_size (uint64_t *state)
{
    double x = round (s_gauss (state, 1000.0, 200.0));
    return x < 1.0 ? 1 : (size_t) x;
}

static uint8_t *
s_random_bytes (uint64_t *state, size_t len)
{
    uint8_t *data = (uint8_t *) malloc (len ? len : 1);
    ck_assert_ptr_nonnull (data);
    for (size_t i = 0; i < len; i++)
        data[i] = (uint8_t) s_rand (state);
    return data;
}


//  --- Recording what the mimic emits

typedef struct {
    uint64_t time;
    size_t len;
    size_t queued_before;       //  bytes queued just before this emit
} s_emission_t;

typedef struct {
    uint64_t now;               //  the time of the pump in progress
    size_t pushed;              //  bytes handed to the mimic so far
    size_t emitted;             //  bytes it emitted so far
    s_emission_t *list;
    size_t count, alloc;
    bool keep_bytes;
    uint8_t *bytes;             //  everything emitted, if keep_bytes
    size_t bytes_alloc;
} s_rec_t;

static void
s_rec_init (s_rec_t *rec, bool keep_bytes)
{
    memset (rec, 0, sizeof *rec);
    rec->keep_bytes = keep_bytes;
}

static void
s_rec_free (s_rec_t *rec)
{
    free (rec->list);
    free (rec->bytes);
}

static void
s_emit (void *ctx, const uint8_t *data, size_t len)
{
    s_rec_t *rec = (s_rec_t *) ctx;
    S_CHECK (len >= 1);
    S_CHECK (data != NULL);
    S_CHECK (rec->emitted + len <= rec->pushed);
    if (rec->count == rec->alloc) {
        rec->alloc = rec->alloc ? rec->alloc * 2 : 256;
        rec->list = (s_emission_t *) realloc (rec->list, rec->alloc * sizeof (s_emission_t));
        S_CHECK (rec->list);
    }
    rec->list[rec->count++] = (s_emission_t) {
        rec->now, len, rec->pushed - rec->emitted
    };
    if (rec->keep_bytes) {
        if (rec->emitted + len > rec->bytes_alloc) {
            rec->bytes_alloc = (rec->emitted + len) * 2;
            rec->bytes = (uint8_t *) realloc (rec->bytes, rec->bytes_alloc);
            S_CHECK (rec->bytes);
        }
        memcpy (rec->bytes + rec->emitted, data, len);
    }
    rec->emitted += len;
}

static uint64_t
s_pump (mimic_t *m, s_rec_t *rec, uint64_t now)
{
    rec->now = now;
    uint64_t next = mimic_pump (m, now, s_emit, rec);
    S_CHECK (rec->pushed - rec->emitted == mimic_queued (m));
    S_CHECK ((next == UINT64_MAX) == (mimic_queued (m) == 0));
    S_CHECK (next > now);
    return next;
}

static void
s_push (mimic_t *m, s_rec_t *rec, uint64_t now, const uint8_t *data, size_t len)
{
    mimic_push (m, now, data, len);
    rec->pushed += len;
}

static void
s_enqueue (mimic_t *m, s_rec_t *rec, const uint8_t *data, size_t len)
{
    mimic_enqueue (m, data, len);
    rec->pushed += len;
}

//  Pumps at the times the mimic asks for until nothing is queued; returns
//  the time of the last pump.
static uint64_t
s_drain (mimic_t *m, s_rec_t *rec, uint64_t now)
{
    for (int i = 0; i < 1000000; i++) {
        uint64_t next = s_pump (m, rec, now);
        if (next == UINT64_MAX)
            return now;
        now = next;
    }
    ck_abort_msg ("mimic never drained");
    return now;
}


//  --- Sample statistics

typedef struct {
    size_t n;
    double sum, sumsq, min, max;
} s_sample_t;

static void
s_sample_add (s_sample_t *s, double x)
{
    if (s->n == 0 || x < s->min)
        s->min = x;
    if (s->n == 0 || x > s->max)
        s->max = x;
    s->n++;
    s->sum += x;
    s->sumsq += x * x;
}

static double
s_sample_mean (const s_sample_t *s)
{
    return s->sum / (double) s->n;
}

static double
s_sample_var (const s_sample_t *s)
{
    double mean = s_sample_mean (s);
    return (s->sumsq - (double) s->n * mean * mean) / (double) (s->n - 1);
}


//  --- Basics and malformed use

START_TEST (test_new_and_invalid)
{
    mimic_t *m = mimic_new (NULL, 0);
    ck_assert_ptr_nonnull (m);
    mimic_destroy (&m);
    ck_assert_ptr_null (m);
    mimic_destroy (&m);             //  twice: harmless

    mimic_model_t bad = { (mimic_size_model_t) (SIZE_GAUSSIAN + 1), DELAY_IDENTITY, MIMIC_EST_IIR, 1 };
    ck_assert_ptr_null (mimic_new (&bad, 0));
    bad = (mimic_model_t) { SIZE_IDENTITY, (mimic_delay_model_t) (DELAY_EXPONENTIAL + 1), MIMIC_EST_IIR, 1 };
    ck_assert_ptr_null (mimic_new (&bad, 0));
    bad = (mimic_model_t) { SIZE_IDENTITY, (mimic_delay_model_t) -1, MIMIC_EST_IIR, 1 };
    ck_assert_ptr_null (mimic_new (&bad, 0));
    bad = (mimic_model_t) { SIZE_IDENTITY, DELAY_IDENTITY, (mimic_estimator_t) 2, 1 };
    ck_assert_ptr_null (mimic_new (&bad, 0));

    mimic_model_t good = { SIZE_CONSTANT, DELAY_CONSTANT, MIMIC_EST_WELFORD, 1 };
    m = mimic_new (&good, 0);
    ck_assert_ptr_nonnull (m);
    bad = (mimic_model_t) { (mimic_size_model_t) 7, DELAY_IDENTITY, MIMIC_EST_IIR, 1 };
    ck_assert_int_eq (mimic_set_model (m, &bad), -1);
    ck_assert_int_eq (mimic_set_model (m, NULL), -1);

    s_rec_t rec;
    s_rec_init (&rec, true);
    //  Empty: nothing to do, no timer.
    ck_assert_uint_eq (s_pump (m, &rec, 10), UINT64_MAX);
    ck_assert_uint_eq (rec.count, 0);
    //  Zero-length pushes are nothing: not queued, not learned.
    mimic_push (m, 20, NULL, 0);
    mimic_push (m, 20, (const uint8_t *) "x", 0);
    ck_assert_uint_eq (mimic_queued (m), 0);
    ck_assert_uint_eq (mimic_queued_chunks (m), 0);
    mimic_stats_t stats;
    mimic_stats (m, &stats);
    ck_assert_uint_eq (stats.samples, 0);
    ck_assert (stats.size_mean == 0 && stats.size_var == 0 && stats.gap_mean == 0);
    ck_assert_uint_eq (s_pump (m, &rec, 30), UINT64_MAX);
    ck_assert_uint_eq (rec.count, 0);

    //  The failed set_model changed nothing: still constant sizes after warm-up.
    for (uint64_t t = 100; t <= 1000; t += 100)
        mimic_observe (m, t, 500);
    uint8_t buf[2000];
    memset (buf, 0xab, sizeof buf);
    s_enqueue (m, &rec, buf, sizeof buf);
    s_pump (m, &rec, 5000);
    ck_assert_uint_eq (rec.count, 1);
    ck_assert_uint_eq (rec.list[0].len, 500);

    //  Destroy with bytes still queued frees them (ASan would tell).
    mimic_destroy (&m);
    s_rec_free (&rec);
}
END_TEST

START_TEST (test_flush)
{
    mimic_model_t model = { SIZE_CONSTANT, DELAY_CONSTANT, MIMIC_EST_WELFORD, 3 };
    mimic_t *m = mimic_new (&model, 0);
    for (uint64_t t = 50; t <= 500; t += 50)
        mimic_observe (m, t, 1000);
    s_rec_t rec;
    s_rec_init (&rec, true);
    uint64_t state = 3;
    uint8_t *data = s_random_bytes (&state, 3000);
    s_enqueue (m, &rec, data, 1700);
    s_enqueue (m, &rec, data + 1700, 1300);
    ck_assert_uint_eq (s_pump (m, &rec, 3000), 3050);     //  1000 out, then wait
    ck_assert_uint_eq (rec.count, 1);
    mimic_flush (m, s_emit, &rec);
    ck_assert_uint_eq (mimic_queued (m), 0);
    ck_assert_uint_eq (rec.count, 3);                     //  the rest, chunk by chunk
    ck_assert_uint_eq (rec.list[1].len, 700);
    ck_assert_uint_eq (rec.list[2].len, 1300);
    ck_assert_mem_eq (rec.bytes, data, 3000);
    ck_assert_uint_eq (s_pump (m, &rec, 3050), UINT64_MAX);
    free (data);
    s_rec_free (&rec);
    mimic_destroy (&m);
}
END_TEST


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
        size_t size = s_chunk_size (&state);
        uint64_t gap = s_below (&state, 90);
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
        size_t size = s_chunk_size (&state);
        uint64_t gap = s_below (&state, 90);
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
        mimic_observe (m, t, s_chunk_size (&state));
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
    s_rec_t rec;
    s_rec_init (&rec, false);
    uint8_t *backlog = s_random_bytes (&state, 90000);
    s_sample_t sample = { 0 };
    size_t beyond = 0;                              //  pieces beyond mean +- 2 sd
    for (int b = 0; b < 25; b++) {
        t += 1000;
        rec.count = 0;
        s_enqueue (m, &rec, backlog, 30000);
        s_enqueue (m, &rec, backlog + 30000, 20000);
        s_enqueue (m, &rec, backlog + 50000, 40000);
        ck_assert_uint_eq (s_pump (m, &rec, t), UINT64_MAX);
        for (size_t i = 0; i < rec.count; i++)
            if ((double) rec.list[i].queued_before >= st.size_mean + 6 * sd) {
                s_sample_add (&sample, (double) rec.list[i].len);
                beyond += fabs ((double) rec.list[i].len - st.size_mean) > 2 * sd;
            }
    }
    ck_assert_uint_ge (sample.n, 1500);
    double mean = s_sample_mean (&sample);
    double var = s_sample_var (&sample);

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
    s_rec_free (&rec);
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
    s_rec_t rec;
    s_rec_init (&rec, true);
    uint64_t state = 5;
    size_t sizes[] = { 4000, 150, 30000, 777 };
    uint8_t *data = s_random_bytes (&state, 34927);
    size_t off = 0;
    for (size_t i = 0; i < 4; i++) {
        s_enqueue (m, &rec, data + off, sizes[i]);
        off += sizes[i];
    }
    uint64_t end = s_drain (m, &rec, 3000);
    ck_assert_uint_eq (rec.count, 4);
    for (size_t i = 0; i < 4; i++) {
        ck_assert_uint_eq (rec.list[i].len, sizes[i]);
        ck_assert_uint_eq (rec.list[i].time, 3000 + 40 * i);
    }
    ck_assert_uint_eq (end, 3120);
    ck_assert_mem_eq (rec.bytes, data, off);
    free (data);
    s_rec_free (&rec);
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
                   ? -45.0 * log (1.0 - s_unit (&state))
                   : s_gauss (&state, 45, 25);
        t += gap < 0 ? 0 : (uint64_t) round (gap);
        mimic_observe (m, t, s_chunk_size (&state));
    }
    mimic_stats_t st;
    mimic_stats (m, &st);
    ck_assert (st.gap_mean > 20 && st.gap_mean < 70);
    double exp_mean, exp_var;
    s_expected_gap (delay_model, st.gap_mean, st.gap_var, &exp_mean, &exp_var);

    //  Backlogs of 90 KB with constant sizes of ~1000: ~90 model sends each,
    //  pumped exactly at the times asked for. A gap counts when both ends are
    //  model sends of the same backlog (the <100-byte tail is not).
    s_rec_t rec;
    s_rec_init (&rec, false);
    uint8_t *backlog = s_random_bytes (&state, 90000);
    s_sample_t sample = { 0 };
    size_t zeros = 0;
    for (int b = 0; b < 25; b++) {
        t += 5000;
        rec.count = 0;
        s_enqueue (m, &rec, backlog, 60000);
        s_enqueue (m, &rec, backlog + 60000, 30000);
        uint64_t start = t;
        t = s_drain (m, &rec, t);
        //  The first send is long due (the last one was 5 s ago).
        ck_assert_uint_eq (rec.list[0].time, start);
        for (size_t i = 1; i < rec.count; i++) {
            if (rec.list[i].queued_before < 100)
                continue;
            double gap = (double) (rec.list[i].time - rec.list[i - 1].time);
            //  The 10 ms and 100 ms rules, directly.
            S_CHECK (gap == 0 || (gap > 10 && gap <= 100));
            s_sample_add (&sample, gap);
            zeros += gap == 0;
        }
    }
    ck_assert_uint_ge (sample.n, 1500);
    double mean = s_sample_mean (&sample);
    double var = s_sample_var (&sample);
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
    s_rec_free (&rec);
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
    s_rec_t rec;
    s_rec_init (&rec, true);
    uint64_t state = 9;
    uint8_t *data = s_random_bytes (&state, 50050);
    s_enqueue (m, &rec, data, 50050);
    ck_assert_uint_eq (s_pump (m, &rec, 4000), UINT64_MAX);
    ck_assert_uint_eq (rec.count, 42);              //  41 x 1200, then 850
    for (size_t i = 0; i < 41; i++)
        ck_assert_uint_eq (rec.list[i].len, 1200);
    ck_assert_uint_eq (rec.list[41].len, 850);
    ck_assert_mem_eq (rec.bytes, data, 50050);
    free (data);
    s_rec_free (&rec);
    mimic_destroy (&m);
}
END_TEST


//  --- mimic_push end to end: it learns, then the model applies

START_TEST (test_push_learns)
{
    mimic_model_t model = { SIZE_CONSTANT, DELAY_CONSTANT, MIMIC_EST_WELFORD, 21 };
    mimic_t *m = mimic_new (&model, 0);
    s_rec_t rec;
    s_rec_init (&rec, true);
    uint64_t state = 21;
    uint8_t *data = s_random_bytes (&state, 200000);
    size_t off = 0;

    //  Warm-up: 50 chunks every 40 ms, each out at once and as pushed.
    uint64_t t = 0;
    for (int i = 0; i < 50; i++, t += 40) {
        size_t len = s_chunk_size (&state);
        s_push (m, &rec, t, data + off, len);
        off += len;
        ck_assert_uint_eq (s_pump (m, &rec, t), UINT64_MAX);
        ck_assert_uint_eq (rec.count, (size_t) i + 1);
        ck_assert_uint_eq (rec.list[i].len, len);
        ck_assert_uint_eq (rec.list[i].time, t);
    }
    //  t = 2000: past the warm-up, 40 ms after the last push and send.
    ck_assert_uint_eq (t, 2000);
    size_t big = 20000;
    s_push (m, &rec, t, data + off, big);
    off += big;
    mimic_stats_t st;
    mimic_stats (m, &st);
    ck_assert_uint_eq (st.samples, 51);
    ck_assert_double_eq_tol (st.gap_mean, 1960.0 / 51 + 40.0 / 51, 1e-6);  //  a 0 first, then 40s
    size_t size = (size_t) round (st.size_mean);
    uint64_t gap = (uint64_t) round (st.gap_mean);
    ck_assert_uint_gt (gap, 10);
    size_t first = rec.count;
    s_drain (m, &rec, t);
    //  Sends of the learned mean at the learned gap, from the last send
    //  (1960): the first is already due at 2000.
    size_t n = rec.count - first;
    ck_assert_uint_eq (n, big / size + (big % size ? 1 : 0));
    for (size_t i = 0; i < n; i++) {
        s_emission_t *e = &rec.list[first + i];
        ck_assert_uint_eq (e->time, i == 0 ? 2000 : 2000 + gap * i);
        if (i + 1 < n)
            ck_assert_uint_eq (e->len, size);
    }
    ck_assert_mem_eq (rec.bytes, data, off);
    free (data);
    s_rec_free (&rec);
    mimic_destroy (&m);
}
END_TEST


//  --- Scheduling rules, one by one
//
//  A mimic with constant sizes of 1000 and constant gaps of 50 ms, learned
//  exactly (Welford on equal samples).

static mimic_t *
s_steady_mimic (void)
{
    mimic_model_t model = { SIZE_CONSTANT, DELAY_CONSTANT, MIMIC_EST_WELFORD, 42 };
    mimic_t *m = mimic_new (&model, 0);
    for (uint64_t t = 50; t <= 500; t += 50)
        mimic_observe (m, t, 1000);
    mimic_stats_t st;
    mimic_stats (m, &st);
    ck_assert_double_eq (st.size_mean, 1000);
    ck_assert_double_eq (st.gap_mean, 50);
    return m;
}

START_TEST (test_rule_warmup)
{
    mimic_model_t model = { SIZE_CONSTANT, DELAY_CONSTANT, MIMIC_EST_WELFORD, 42 };
    mimic_t *m = mimic_new (&model, 10000);
    s_rec_t rec;
    s_rec_init (&rec, true);
    uint64_t state = 1;
    uint8_t *data = s_random_bytes (&state, 300000);
    //  Six chunks at once, some big: all out at once, whole, in order.
    size_t sizes[] = { 3000, 1, 120000, 50, 7000, 9000 };
    size_t off = 0;
    for (size_t i = 0; i < 6; i++) {
        s_push (m, &rec, 10000 + 300 * i, data + off, sizes[i]);
        off += sizes[i];
    }
    ck_assert_uint_eq (s_pump (m, &rec, 11500), UINT64_MAX);
    ck_assert_uint_eq (rec.count, 6);
    for (size_t i = 0; i < 6; i++)
        ck_assert_uint_eq (rec.list[i].len, sizes[i]);
    //  The last millisecond of the warm-up still passes everything.
    s_push (m, &rec, 11999, data + off, 5000);
    off += 5000;
    ck_assert_uint_eq (s_pump (m, &rec, 11999), UINT64_MAX);
    ck_assert_uint_eq (rec.count, 7);
    //  From 2 s on, the model applies: the learned gap (~250 ms) is cut to
    //  100 ms from the last send, then a constant size (the learned mean).
    s_push (m, &rec, 12000, data + off, 90000);
    off += 90000;
    mimic_stats_t st;
    mimic_stats (m, &st);
    ck_assert_double_gt (st.gap_mean, 100);
    ck_assert_uint_eq (s_pump (m, &rec, 12000), 11999 + 100);
    ck_assert_uint_eq (rec.count, 7);
    ck_assert_uint_eq (s_pump (m, &rec, 12099), 12199);
    ck_assert_uint_eq (rec.count, 8);
    ck_assert_uint_eq (rec.list[7].len, (size_t) round (st.size_mean));
    ck_assert_uint_lt (rec.list[7].len, 90000);
    s_drain (m, &rec, 12199);
    ck_assert_mem_eq (rec.bytes, data, off);
    free (data);
    s_rec_free (&rec);
    mimic_destroy (&m);
}
END_TEST

START_TEST (test_rule_small)
{
    mimic_t *m = s_steady_mimic ();
    s_rec_t rec;
    s_rec_init (&rec, true);
    uint8_t data[4000];
    memset (data, 7, sizeof data);

    //  1050 queued: 1000 by the model, then 50 < 100 at once.
    s_enqueue (m, &rec, data, 1050);
    ck_assert_uint_eq (s_pump (m, &rec, 3000), UINT64_MAX);
    ck_assert_uint_eq (rec.count, 2);
    ck_assert_uint_eq (rec.list[0].len, 1000);
    ck_assert_uint_eq (rec.list[1].len, 50);
    ck_assert_uint_eq (rec.list[1].time, 3000);
    //  1150 queued: the 150 left wait for the next gap.
    s_enqueue (m, &rec, data, 1150);
    ck_assert_uint_eq (s_pump (m, &rec, 3100), 3150);
    ck_assert_uint_eq (rec.count, 3);
    ck_assert_uint_eq (s_pump (m, &rec, 3150), UINT64_MAX);
    ck_assert_uint_eq (rec.count, 4);
    ck_assert_uint_eq (rec.list[3].len, 150);

    //  Right after a send, 99 bytes still leave at once ...
    s_enqueue (m, &rec, data, 99);
    ck_assert_uint_eq (s_pump (m, &rec, 3151), UINT64_MAX);
    ck_assert_uint_eq (rec.count, 5);
    ck_assert_uint_eq (rec.list[4].len, 99);
    //  ... but 100 wait 50 ms from that send; pumping early changes nothing
    //  (the gap is drawn once), and the last 10 ms are not waited.
    s_enqueue (m, &rec, data, 100);
    ck_assert_uint_eq (s_pump (m, &rec, 3152), 3201);
    ck_assert_uint_eq (s_pump (m, &rec, 3170), 3201);
    ck_assert_uint_eq (s_pump (m, &rec, 3190), 3201);
    ck_assert_uint_eq (rec.count, 5);
    ck_assert_uint_eq (s_pump (m, &rec, 3191), UINT64_MAX);
    ck_assert_uint_eq (rec.count, 6);
    ck_assert_uint_eq (rec.list[5].len, 100);
    s_rec_free (&rec);
    mimic_destroy (&m);
}
END_TEST

START_TEST (test_rule_excess_chunks)
{
    mimic_t *m = s_steady_mimic ();
    s_rec_t rec;
    s_rec_init (&rec, true);
    uint64_t state = 2;
    uint8_t *data = s_random_bytes (&state, 10000);
    size_t off = 0;

    s_enqueue (m, &rec, data, 5000);
    off += 5000;
    ck_assert_uint_eq (s_pump (m, &rec, 5000), 5050);
    ck_assert_uint_eq (rec.count, 1);
    //  Exactly 4 chunks: no rule, the model waits.
    for (int i = 0; i < 3; i++, off += 300)
        s_enqueue (m, &rec, data + off, 300);
    ck_assert_uint_eq (mimic_queued_chunks (m), 4);
    ck_assert_uint_eq (s_pump (m, &rec, 5001), 5050);
    ck_assert_uint_eq (rec.count, 1);
    //  Six: the two oldest leave at once, whole (the 4000 left of the
    //  first chunk, and one 300), and the wait starts again from now.
    for (int i = 0; i < 2; i++, off += 300)
        s_enqueue (m, &rec, data + off, 300);
    ck_assert_uint_eq (s_pump (m, &rec, 5002), 5052);
    ck_assert_uint_eq (rec.count, 3);
    ck_assert_uint_eq (rec.list[1].len, 4000);
    ck_assert_uint_eq (rec.list[2].len, 300);
    ck_assert_uint_eq (mimic_queued_chunks (m), 4);
    //  Next model send: 1000 bytes gathered across the four 300s, one emit.
    ck_assert_uint_eq (s_pump (m, &rec, 5052), 5102);
    ck_assert_uint_eq (rec.count, 4);
    ck_assert_uint_eq (rec.list[3].len, 1000);
    ck_assert_uint_eq (mimic_queued_chunks (m), 1);
    ck_assert_uint_eq (s_pump (m, &rec, 5102), UINT64_MAX);
    ck_assert_uint_eq (rec.list[4].len, 200);
    ck_assert_uint_eq (rec.emitted, off);
    ck_assert_mem_eq (rec.bytes, data, off);
    free (data);
    s_rec_free (&rec);
    mimic_destroy (&m);
}
END_TEST

START_TEST (test_rule_many_bytes)
{
    mimic_t *m = s_steady_mimic ();
    s_rec_t rec;
    s_rec_init (&rec, true);
    uint64_t state = 3;
    uint8_t *data = s_random_bytes (&state, 300000);
    size_t off = 0;

    s_enqueue (m, &rec, data, 1000);
    off += 1000;
    ck_assert_uint_eq (s_pump (m, &rec, 8000), UINT64_MAX);
    //  Exactly 100 KiB: no rule, the model waits.
    s_enqueue (m, &rec, data + off, S_KIB100 - 30000);
    off += S_KIB100 - 30000;
    s_enqueue (m, &rec, data + off, 30000);
    off += 30000;
    ck_assert_uint_eq (mimic_queued (m), S_KIB100);
    ck_assert_uint_eq (s_pump (m, &rec, 8001), 8050);
    ck_assert_uint_eq (rec.count, 1);
    //  One byte more: the oldest chunk leaves at once, whole; then the wait
    //  starts again.
    s_enqueue (m, &rec, data + off, 1);
    off += 1;
    ck_assert_uint_eq (s_pump (m, &rec, 8002), 8052);
    ck_assert_uint_eq (rec.count, 2);
    ck_assert_uint_eq (rec.list[1].len, S_KIB100 - 30000);
    //  Far over: one chunk per pump round until under, still in order.
    s_enqueue (m, &rec, data + off, 80000);
    off += 80000;
    s_enqueue (m, &rec, data + off, 60000);
    off += 60000;
    //  Queued: 30000, 1, 80000, 60000 = 170001 -> 30000 out (140001),
    //  1 out (140000), 80000 out (60000).
    ck_assert_uint_eq (s_pump (m, &rec, 8003), 8053);
    ck_assert_uint_eq (rec.count, 5);
    ck_assert_uint_eq (rec.list[2].len, 30000);
    ck_assert_uint_eq (rec.list[3].len, 1);
    ck_assert_uint_eq (rec.list[4].len, 80000);
    ck_assert_uint_eq (mimic_queued (m), 60000);
    s_drain (m, &rec, 8053);
    ck_assert_mem_eq (rec.bytes, data, off);
    free (data);
    s_rec_free (&rec);
    mimic_destroy (&m);
}
END_TEST

START_TEST (test_rule_suspend)
{
    mimic_t *m = s_steady_mimic ();
    s_rec_t rec;
    s_rec_init (&rec, true);
    uint64_t state = 4;
    uint8_t *data = s_random_bytes (&state, 100000);
    size_t off = 0;

    s_enqueue (m, &rec, data, 5000);
    off += 5000;
    ck_assert_uint_eq (s_pump (m, &rec, 10000), 10050);
    //  Suspending lets the waiting bytes out at the next pump, as pushed
    //  (the rest of the first chunk, whole).
    mimic_suspend (m, 10001, 5000);
    ck_assert_uint_eq (s_pump (m, &rec, 10001), UINT64_MAX);
    ck_assert_uint_eq (rec.count, 2);
    ck_assert_uint_eq (rec.list[1].len, 4000);
    //  A shorter suspension does not shorten it, a negative one is nothing.
    mimic_suspend (m, 10002, 100);
    mimic_suspend (m, 10002, -5);
    for (uint64_t t = 11000; t < 15001; t += 1000) {
        s_enqueue (m, &rec, data + off, 7000);
        off += 7000;
        s_enqueue (m, &rec, data + off, 10);
        off += 10;
        ck_assert_uint_eq (s_pump (m, &rec, t), UINT64_MAX);
    }
    ck_assert_uint_eq (rec.count, 12);                    //  15000 was still suspended
    //  Over at 15001: the model again (50 ms after the last send).
    s_enqueue (m, &rec, data + off, 5000);
    off += 5000;
    ck_assert_uint_eq (s_pump (m, &rec, 15001), 15050);
    ck_assert_uint_eq (rec.count, 12);
    s_drain (m, &rec, 15050);
    ck_assert_uint_eq (rec.count, 17);
    ck_assert_uint_eq (rec.list[16].time, 15250);
    ck_assert_mem_eq (rec.bytes, data, off);
    free (data);
    s_rec_free (&rec);
    mimic_destroy (&m);
}
END_TEST

START_TEST (test_set_model)
{
    mimic_t *m = s_steady_mimic ();
    s_rec_t rec;
    s_rec_init (&rec, true);
    uint64_t state = 6;
    uint8_t *data = s_random_bytes (&state, 10000);
    s_enqueue (m, &rec, data, 3000);
    s_enqueue (m, &rec, data + 3000, 4000);
    ck_assert_uint_eq (s_pump (m, &rec, 6000), 6050);
    //  Identity / identity: the rest leaves at the next pump, chunk by chunk.
    mimic_model_t plain = { SIZE_IDENTITY, DELAY_IDENTITY, MIMIC_EST_IIR, 1 };
    ck_assert_int_eq (mimic_set_model (m, &plain), 0);
    ck_assert_uint_eq (s_pump (m, &rec, 6001), UINT64_MAX);
    ck_assert_uint_eq (rec.count, 3);
    ck_assert_uint_eq (rec.list[1].len, 2000);
    ck_assert_uint_eq (rec.list[2].len, 4000);
    ck_assert_mem_eq (rec.bytes, data, 7000);
    //  The learned statistics survived (the estimator is kept).
    mimic_stats_t st;
    mimic_stats (m, &st);
    ck_assert_double_eq (st.size_mean, 1000);
    free (data);
    s_rec_free (&rec);
    mimic_destroy (&m);
}
END_TEST


//  --- Random models and determinism

START_TEST (test_random_model)
{
    bool seen[SIZE_GAUSSIAN + 1][DELAY_EXPONENTIAL + 1] = { { false } };
    for (uint64_t seed = 0; seed < 2000; seed++) {
        mimic_model_t a, b, c;
        mimic_random_model (&a, seed);
        mimic_random_model (&b, seed);
        mimic_random_model (&c, seed + 1);
        S_CHECK (a.size == b.size && a.delay == b.delay && a.estimator == b.estimator
                 && a.seed == b.seed);
        S_CHECK (a.seed != c.seed);
        S_CHECK ((int) a.size >= 0 && a.size <= SIZE_GAUSSIAN);
        S_CHECK ((int) a.delay >= 0 && a.delay <= DELAY_EXPONENTIAL);
        S_CHECK (a.estimator == MIMIC_EST_IIR);
        seen[a.size][a.delay] = true;
        mimic_t *m = mimic_new (&a, 0);
        S_CHECK (m);
        mimic_destroy (&m);
    }
    for (int s = 0; s <= SIZE_GAUSSIAN; s++)
        for (int d = 0; d <= DELAY_EXPONENTIAL; d++)
            ck_assert_msg (seen[s][d], "combination %d/%d never drawn", s, d);
}
END_TEST

static bool
s_same_emission (const s_emission_t *a, const s_emission_t *b)
{
    return a->time == b->time && a->len == b->len && a->queued_before == b->queued_before;
}

//  A fixed random scenario; returns its emission record.
static void
s_scenario (uint64_t mimic_seed, s_rec_t *rec)
{
    mimic_model_t model = { SIZE_GAUSSIAN, DELAY_GAUSSIAN, MIMIC_EST_IIR, mimic_seed };
    mimic_t *m = mimic_new (&model, 0);
    uint64_t state = 77;
    uint8_t *data = s_random_bytes (&state, 5000);
    uint64_t t = 0, next = UINT64_MAX;
    for (int i = 0; i < 2000; i++) {
        uint64_t push_at = t + s_below (&state, 80);
        while (next <= push_at) {
            t = next;
            next = s_pump (m, rec, t);
        }
        t = push_at;
        s_push (m, rec, t, data, s_chunk_size (&state));
        next = s_pump (m, rec, t);
    }
    s_drain (m, rec, t);
    free (data);
    mimic_destroy (&m);
}

START_TEST (test_deterministic)
{
    s_rec_t a, b, c;
    s_rec_init (&a, true);
    s_rec_init (&b, true);
    s_rec_init (&c, true);
    s_scenario (5, &a);
    s_scenario (5, &b);
    s_scenario (6, &c);
    ck_assert_uint_eq (a.count, b.count);
    for (size_t i = 0; i < a.count; i++)
        S_CHECK (s_same_emission (&a.list[i], &b.list[i]));
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
    s_rec_free (&a);
    s_rec_free (&b);
    s_rec_free (&c);
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
                                (mimic_estimator_t) est, s_rand (&state) };
        uint64_t t = s_below (&state, 1000000);
        mimic_t *m = mimic_new (&model, t);
        ck_assert_ptr_nonnull (m);
        s_rec_t rec;
        s_rec_init (&rec, true);
        size_t total = 0, cap = 4 << 20;
        uint8_t *pushed = s_random_bytes (&state, cap);
        uint64_t next = UINT64_MAX;
        bool changed = false;
        bool pumped_last;               //  the op ended with a pump

        for (int op = 0; op < 400 && total < cap - 200000; op++) {
            t += s_below (&state, 8) == 0 ? s_below (&state, 3000) : s_below (&state, 60);
            size_t kind = s_below (&state, 100);
            pumped_last = false;
            if (kind < 55) {
                size_t len = s_below (&state, 10) == 0 ? s_below (&state, 150000)
                           : s_below (&state, 4000);
                s_push (m, &rec, t, pushed + total, len);
                total += len;
                if (s_below (&state, 3)) {
                    next = s_pump (m, &rec, t);
                    pumped_last = true;
                }
            }
            else
            if (kind < 85) {
                //  Pump now, whatever was asked for (early, on time or late).
                next = s_pump (m, &rec, t);
                pumped_last = true;
            }
            else
            if (kind < 95) {
                //  Pump at the time asked for, if it has come.
                if (next != UINT64_MAX && next <= t + 200) {
                    t = next;
                    next = s_pump (m, &rec, t);
                    pumped_last = true;
                }
            }
            else
            if (kind < 97) {
                mimic_suspend (m, t, (int) s_below (&state, 3000));
                next = s_pump (m, &rec, t);
                S_CHECK (mimic_queued (m) == 0);
            }
            else {
                mimic_model_t other;
                mimic_random_model (&other, s_rand (&state));
                S_CHECK (mimic_set_model (m, &other) == 0);
                changed = true;
            }
            //  Whenever the mimic asks to wait, the rules have been applied.
            if (pumped_last && next != UINT64_MAX) {
                S_CHECK (mimic_queued (m) >= 100);
                S_CHECK (mimic_queued (m) <= S_KIB100);
                S_CHECK (mimic_queued_chunks (m) <= 4);
                S_CHECK (next <= t + 100);
            }
        }
        s_drain (m, &rec, t);
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
        s_rec_free (&rec);
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
                            MIMIC_EST_IIR, s_rand (&state) };
    uint64_t t = 5000;
    mimic_t *bytes = mimic_new (&model, t), *counted = mimic_new (&model, t);
    s_lens_t *a = calloc (1, sizeof *a), *b = calloc (1, sizeof *b);
    ck_assert_ptr_nonnull (a);
    ck_assert_ptr_nonnull (b);
    uint8_t *data = s_random_bytes (&state, 200000);
    for (int op = 0; op < 600; op++) {
        t += s_below (&state, 40);
        if (s_below (&state, 2)) {
            size_t len = 1 + s_below (&state, 3000);
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
    Suite *suite = suite_create ("mimic");
    TCase *tc = tcase_create ("core");
    tcase_add_test (tc, test_new_and_invalid);
    tcase_add_test (tc, test_flush);
    tcase_add_test (tc, test_estimator_welford);
    tcase_add_test (tc, test_estimator_iir);
    tcase_add_loop_test (tc, test_size_model_stats, 0, 6);
    tcase_add_test (tc, test_size_identity);
    tcase_add_loop_test (tc, test_delay_model_stats, 0, 8);
    tcase_add_test (tc, test_delay_identity);
    tcase_add_test (tc, test_push_learns);
    tcase_add_test (tc, test_rule_warmup);
    tcase_add_test (tc, test_rule_small);
    tcase_add_test (tc, test_rule_excess_chunks);
    tcase_add_test (tc, test_rule_many_bytes);
    tcase_add_test (tc, test_rule_suspend);
    tcase_add_test (tc, test_set_model);
    tcase_add_test (tc, test_random_model);
    tcase_add_test (tc, test_deterministic);
    tcase_add_loop_test (tc, test_property_stream, 0, 40);
    tcase_add_loop_test (tc, test_counted_matches, 0, 20);
    tcase_add_test (tc, test_shortfall);
    tcase_set_timeout (tc, 60);
    suite_add_tcase (suite, tc);

    return check_run (suite);
}
