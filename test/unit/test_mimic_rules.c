/*  test_mimic_rules — the mimic codec (nodes/mimic.h) on simulated time:
    creation, malformed use and flushing, mimic_push learning and then the
    model applying, and each scheduling rule on its own (warm-up, small
    chunks, excess chunks, many bytes, suspension, changing the model).
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

    ms_rec_t rec;
    ms_rec_init (&rec, true);
    //  Empty: nothing to do, no timer.
    ck_assert_uint_eq (ms_pump (m, &rec, 10), UINT64_MAX);
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
    ck_assert_uint_eq (ms_pump (m, &rec, 30), UINT64_MAX);
    ck_assert_uint_eq (rec.count, 0);

    //  The failed set_model changed nothing: still constant sizes after warm-up.
    for (uint64_t t = 100; t <= 1000; t += 100)
        mimic_observe (m, t, 500);
    uint8_t buf[2000];
    memset (buf, 0xab, sizeof buf);
    ms_enqueue (m, &rec, buf, sizeof buf);
    ms_pump (m, &rec, 5000);
    ck_assert_uint_eq (rec.count, 1);
    ck_assert_uint_eq (rec.list[0].len, 500);

    //  Destroy with bytes still queued frees them (ASan would tell).
    mimic_destroy (&m);
    ms_rec_free (&rec);
}
END_TEST

START_TEST (test_flush)
{
    mimic_model_t model = { SIZE_CONSTANT, DELAY_CONSTANT, MIMIC_EST_WELFORD, 3 };
    mimic_t *m = mimic_new (&model, 0);
    for (uint64_t t = 50; t <= 500; t += 50)
        mimic_observe (m, t, 1000);
    ms_rec_t rec;
    ms_rec_init (&rec, true);
    uint64_t state = 3;
    uint8_t *data = ms_random_bytes (&state, 3000);
    ms_enqueue (m, &rec, data, 1700);
    ms_enqueue (m, &rec, data + 1700, 1300);
    ck_assert_uint_eq (ms_pump (m, &rec, 3000), 3050);     //  1000 out, then wait
    ck_assert_uint_eq (rec.count, 1);
    mimic_flush (m, ms_emit, &rec);
    ck_assert_uint_eq (mimic_queued (m), 0);
    ck_assert_uint_eq (rec.count, 3);                     //  the rest, chunk by chunk
    ck_assert_uint_eq (rec.list[1].len, 700);
    ck_assert_uint_eq (rec.list[2].len, 1300);
    ck_assert_mem_eq (rec.bytes, data, 3000);
    ck_assert_uint_eq (ms_pump (m, &rec, 3050), UINT64_MAX);
    free (data);
    ms_rec_free (&rec);
    mimic_destroy (&m);
}
END_TEST


//  --- mimic_push end to end: it learns, then the model applies

START_TEST (test_push_learns)
{
    mimic_model_t model = { SIZE_CONSTANT, DELAY_CONSTANT, MIMIC_EST_WELFORD, 21 };
    mimic_t *m = mimic_new (&model, 0);
    ms_rec_t rec;
    ms_rec_init (&rec, true);
    uint64_t state = 21;
    uint8_t *data = ms_random_bytes (&state, 200000);
    size_t off = 0;

    //  Warm-up: 50 chunks every 40 ms, each out at once and as pushed.
    uint64_t t = 0;
    for (int i = 0; i < 50; i++, t += 40) {
        size_t len = ms_chunk_size (&state);
        ms_push (m, &rec, t, data + off, len);
        off += len;
        ck_assert_uint_eq (ms_pump (m, &rec, t), UINT64_MAX);
        ck_assert_uint_eq (rec.count, (size_t) i + 1);
        ck_assert_uint_eq (rec.list[i].len, len);
        ck_assert_uint_eq (rec.list[i].time, t);
    }
    //  t = 2000: past the warm-up, 40 ms after the last push and send.
    ck_assert_uint_eq (t, 2000);
    size_t big = 20000;
    ms_push (m, &rec, t, data + off, big);
    off += big;
    mimic_stats_t st;
    mimic_stats (m, &st);
    ck_assert_uint_eq (st.samples, 51);
    ck_assert_double_eq_tol (st.gap_mean, 1960.0 / 51 + 40.0 / 51, 1e-6);  //  a 0 first, then 40s
    size_t size = (size_t) round (st.size_mean);
    uint64_t gap = (uint64_t) round (st.gap_mean);
    ck_assert_uint_gt (gap, 10);
    size_t first = rec.count;
    ms_drain (m, &rec, t);
    //  Sends of the learned mean at the learned gap, from the last send
    //  (1960): the first is already due at 2000.
    size_t n = rec.count - first;
    ck_assert_uint_eq (n, big / size + (big % size ? 1 : 0));
    for (size_t i = 0; i < n; i++) {
        ms_emission_t *e = &rec.list[first + i];
        ck_assert_uint_eq (e->time, i == 0 ? 2000 : 2000 + gap * i);
        if (i + 1 < n)
            ck_assert_uint_eq (e->len, size);
    }
    ck_assert_mem_eq (rec.bytes, data, off);
    free (data);
    ms_rec_free (&rec);
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
    ms_rec_t rec;
    ms_rec_init (&rec, true);
    uint64_t state = 1;
    uint8_t *data = ms_random_bytes (&state, 300000);
    //  Six chunks at once, some big: all out at once, whole, in order.
    size_t sizes[] = { 3000, 1, 120000, 50, 7000, 9000 };
    size_t off = 0;
    for (size_t i = 0; i < 6; i++) {
        ms_push (m, &rec, 10000 + 300 * i, data + off, sizes[i]);
        off += sizes[i];
    }
    ck_assert_uint_eq (ms_pump (m, &rec, 11500), UINT64_MAX);
    ck_assert_uint_eq (rec.count, 6);
    for (size_t i = 0; i < 6; i++)
        ck_assert_uint_eq (rec.list[i].len, sizes[i]);
    //  The last millisecond of the warm-up still passes everything.
    ms_push (m, &rec, 11999, data + off, 5000);
    off += 5000;
    ck_assert_uint_eq (ms_pump (m, &rec, 11999), UINT64_MAX);
    ck_assert_uint_eq (rec.count, 7);
    //  From 2 s on, the model applies: the learned gap (~250 ms) is cut to
    //  100 ms from the last send, then a constant size (the learned mean).
    ms_push (m, &rec, 12000, data + off, 90000);
    off += 90000;
    mimic_stats_t st;
    mimic_stats (m, &st);
    ck_assert_double_gt (st.gap_mean, 100);
    ck_assert_uint_eq (ms_pump (m, &rec, 12000), 11999 + 100);
    ck_assert_uint_eq (rec.count, 7);
    ck_assert_uint_eq (ms_pump (m, &rec, 12099), 12199);
    ck_assert_uint_eq (rec.count, 8);
    ck_assert_uint_eq (rec.list[7].len, (size_t) round (st.size_mean));
    ck_assert_uint_lt (rec.list[7].len, 90000);
    ms_drain (m, &rec, 12199);
    ck_assert_mem_eq (rec.bytes, data, off);
    free (data);
    ms_rec_free (&rec);
    mimic_destroy (&m);
}
END_TEST

START_TEST (test_rule_small)
{
    mimic_t *m = s_steady_mimic ();
    ms_rec_t rec;
    ms_rec_init (&rec, true);
    uint8_t data[4000];
    memset (data, 7, sizeof data);

    //  1050 queued: 1000 by the model, then 50 < 100 at once.
    ms_enqueue (m, &rec, data, 1050);
    ck_assert_uint_eq (ms_pump (m, &rec, 3000), UINT64_MAX);
    ck_assert_uint_eq (rec.count, 2);
    ck_assert_uint_eq (rec.list[0].len, 1000);
    ck_assert_uint_eq (rec.list[1].len, 50);
    ck_assert_uint_eq (rec.list[1].time, 3000);
    //  1150 queued: the 150 left wait for the next gap.
    ms_enqueue (m, &rec, data, 1150);
    ck_assert_uint_eq (ms_pump (m, &rec, 3100), 3150);
    ck_assert_uint_eq (rec.count, 3);
    ck_assert_uint_eq (ms_pump (m, &rec, 3150), UINT64_MAX);
    ck_assert_uint_eq (rec.count, 4);
    ck_assert_uint_eq (rec.list[3].len, 150);

    //  Right after a send, 99 bytes still leave at once ...
    ms_enqueue (m, &rec, data, 99);
    ck_assert_uint_eq (ms_pump (m, &rec, 3151), UINT64_MAX);
    ck_assert_uint_eq (rec.count, 5);
    ck_assert_uint_eq (rec.list[4].len, 99);
    //  ... but 100 wait 50 ms from that send; pumping early changes nothing
    //  (the gap is drawn once), and the last 10 ms are not waited.
    ms_enqueue (m, &rec, data, 100);
    ck_assert_uint_eq (ms_pump (m, &rec, 3152), 3201);
    ck_assert_uint_eq (ms_pump (m, &rec, 3170), 3201);
    ck_assert_uint_eq (ms_pump (m, &rec, 3190), 3201);
    ck_assert_uint_eq (rec.count, 5);
    ck_assert_uint_eq (ms_pump (m, &rec, 3191), UINT64_MAX);
    ck_assert_uint_eq (rec.count, 6);
    ck_assert_uint_eq (rec.list[5].len, 100);
    ms_rec_free (&rec);
    mimic_destroy (&m);
}
END_TEST

START_TEST (test_rule_excess_chunks)
{
    mimic_t *m = s_steady_mimic ();
    ms_rec_t rec;
    ms_rec_init (&rec, true);
    uint64_t state = 2;
    uint8_t *data = ms_random_bytes (&state, 10000);
    size_t off = 0;

    ms_enqueue (m, &rec, data, 5000);
    off += 5000;
    ck_assert_uint_eq (ms_pump (m, &rec, 5000), 5050);
    ck_assert_uint_eq (rec.count, 1);
    //  Exactly 4 chunks: no rule, the model waits.
    for (int i = 0; i < 3; i++, off += 300)
        ms_enqueue (m, &rec, data + off, 300);
    ck_assert_uint_eq (mimic_queued_chunks (m), 4);
    ck_assert_uint_eq (ms_pump (m, &rec, 5001), 5050);
    ck_assert_uint_eq (rec.count, 1);
    //  Six: the two oldest leave at once, whole (the 4000 left of the
    //  first chunk, and one 300), and the wait starts again from now.
    for (int i = 0; i < 2; i++, off += 300)
        ms_enqueue (m, &rec, data + off, 300);
    ck_assert_uint_eq (ms_pump (m, &rec, 5002), 5052);
    ck_assert_uint_eq (rec.count, 3);
    ck_assert_uint_eq (rec.list[1].len, 4000);
    ck_assert_uint_eq (rec.list[2].len, 300);
    ck_assert_uint_eq (mimic_queued_chunks (m), 4);
    //  Next model send: 1000 bytes gathered across the four 300s, one emit.
    ck_assert_uint_eq (ms_pump (m, &rec, 5052), 5102);
    ck_assert_uint_eq (rec.count, 4);
    ck_assert_uint_eq (rec.list[3].len, 1000);
    ck_assert_uint_eq (mimic_queued_chunks (m), 1);
    ck_assert_uint_eq (ms_pump (m, &rec, 5102), UINT64_MAX);
    ck_assert_uint_eq (rec.list[4].len, 200);
    ck_assert_uint_eq (rec.emitted, off);
    ck_assert_mem_eq (rec.bytes, data, off);
    free (data);
    ms_rec_free (&rec);
    mimic_destroy (&m);
}
END_TEST

START_TEST (test_rule_many_bytes)
{
    mimic_t *m = s_steady_mimic ();
    ms_rec_t rec;
    ms_rec_init (&rec, true);
    uint64_t state = 3;
    uint8_t *data = ms_random_bytes (&state, 300000);
    size_t off = 0;

    ms_enqueue (m, &rec, data, 1000);
    off += 1000;
    ck_assert_uint_eq (ms_pump (m, &rec, 8000), UINT64_MAX);
    //  Exactly 100 KiB: no rule, the model waits.
    ms_enqueue (m, &rec, data + off, MS_KIB100 - 30000);
    off += MS_KIB100 - 30000;
    ms_enqueue (m, &rec, data + off, 30000);
    off += 30000;
    ck_assert_uint_eq (mimic_queued (m), MS_KIB100);
    ck_assert_uint_eq (ms_pump (m, &rec, 8001), 8050);
    ck_assert_uint_eq (rec.count, 1);
    //  One byte more: the oldest chunk leaves at once, whole; then the wait
    //  starts again.
    ms_enqueue (m, &rec, data + off, 1);
    off += 1;
    ck_assert_uint_eq (ms_pump (m, &rec, 8002), 8052);
    ck_assert_uint_eq (rec.count, 2);
    ck_assert_uint_eq (rec.list[1].len, MS_KIB100 - 30000);
    //  Far over: one chunk per pump round until under, still in order.
    ms_enqueue (m, &rec, data + off, 80000);
    off += 80000;
    ms_enqueue (m, &rec, data + off, 60000);
    off += 60000;
    //  Queued: 30000, 1, 80000, 60000 = 170001 -> 30000 out (140001),
    //  1 out (140000), 80000 out (60000).
    ck_assert_uint_eq (ms_pump (m, &rec, 8003), 8053);
    ck_assert_uint_eq (rec.count, 5);
    ck_assert_uint_eq (rec.list[2].len, 30000);
    ck_assert_uint_eq (rec.list[3].len, 1);
    ck_assert_uint_eq (rec.list[4].len, 80000);
    ck_assert_uint_eq (mimic_queued (m), 60000);
    ms_drain (m, &rec, 8053);
    ck_assert_mem_eq (rec.bytes, data, off);
    free (data);
    ms_rec_free (&rec);
    mimic_destroy (&m);
}
END_TEST

START_TEST (test_rule_suspend)
{
    mimic_t *m = s_steady_mimic ();
    ms_rec_t rec;
    ms_rec_init (&rec, true);
    uint64_t state = 4;
    uint8_t *data = ms_random_bytes (&state, 100000);
    size_t off = 0;

    ms_enqueue (m, &rec, data, 5000);
    off += 5000;
    ck_assert_uint_eq (ms_pump (m, &rec, 10000), 10050);
    //  Suspending lets the waiting bytes out at the next pump, as pushed
    //  (the rest of the first chunk, whole).
    mimic_suspend (m, 10001, 5000);
    ck_assert_uint_eq (ms_pump (m, &rec, 10001), UINT64_MAX);
    ck_assert_uint_eq (rec.count, 2);
    ck_assert_uint_eq (rec.list[1].len, 4000);
    //  A shorter suspension does not shorten it, a negative one is nothing.
    mimic_suspend (m, 10002, 100);
    mimic_suspend (m, 10002, -5);
    for (uint64_t t = 11000; t < 15001; t += 1000) {
        ms_enqueue (m, &rec, data + off, 7000);
        off += 7000;
        ms_enqueue (m, &rec, data + off, 10);
        off += 10;
        ck_assert_uint_eq (ms_pump (m, &rec, t), UINT64_MAX);
    }
    ck_assert_uint_eq (rec.count, 12);                    //  15000 was still suspended
    //  Over at 15001: the model again (50 ms after the last send).
    ms_enqueue (m, &rec, data + off, 5000);
    off += 5000;
    ck_assert_uint_eq (ms_pump (m, &rec, 15001), 15050);
    ck_assert_uint_eq (rec.count, 12);
    ms_drain (m, &rec, 15050);
    ck_assert_uint_eq (rec.count, 17);
    ck_assert_uint_eq (rec.list[16].time, 15250);
    ck_assert_mem_eq (rec.bytes, data, off);
    free (data);
    ms_rec_free (&rec);
    mimic_destroy (&m);
}
END_TEST

START_TEST (test_set_model)
{
    mimic_t *m = s_steady_mimic ();
    ms_rec_t rec;
    ms_rec_init (&rec, true);
    uint64_t state = 6;
    uint8_t *data = ms_random_bytes (&state, 10000);
    ms_enqueue (m, &rec, data, 3000);
    ms_enqueue (m, &rec, data + 3000, 4000);
    ck_assert_uint_eq (ms_pump (m, &rec, 6000), 6050);
    //  Identity / identity: the rest leaves at the next pump, chunk by chunk.
    mimic_model_t plain = { SIZE_IDENTITY, DELAY_IDENTITY, MIMIC_EST_IIR, 1 };
    ck_assert_int_eq (mimic_set_model (m, &plain), 0);
    ck_assert_uint_eq (ms_pump (m, &rec, 6001), UINT64_MAX);
    ck_assert_uint_eq (rec.count, 3);
    ck_assert_uint_eq (rec.list[1].len, 2000);
    ck_assert_uint_eq (rec.list[2].len, 4000);
    ck_assert_mem_eq (rec.bytes, data, 7000);
    //  The learned statistics survived (the estimator is kept).
    mimic_stats_t st;
    mimic_stats (m, &st);
    ck_assert_double_eq (st.size_mean, 1000);
    free (data);
    ms_rec_free (&rec);
    mimic_destroy (&m);
}
END_TEST

int
main (void)
{
    Suite *suite = suite_create ("mimic_rules");
    TCase *tc = tcase_create ("core");
    tcase_add_test (tc, test_new_and_invalid);
    tcase_add_test (tc, test_flush);
    tcase_add_test (tc, test_push_learns);
    tcase_add_test (tc, test_rule_warmup);
    tcase_add_test (tc, test_rule_small);
    tcase_add_test (tc, test_rule_excess_chunks);
    tcase_add_test (tc, test_rule_many_bytes);
    tcase_add_test (tc, test_rule_suspend);
    tcase_add_test (tc, test_set_model);
    tcase_set_timeout (tc, 60);
    suite_add_tcase (suite, tc);
    return check_run (suite);
}
