/*  Tests for nodes/v1_seen.h, the count-bounded memory of accepted v1
    hellos: fresh and seen, every one of the last N remembered however much
    time passed (no clock at all), the oldest generation forgotten, the
    default shape's size and bytes, no false replay among a million fresh
    fingerprints, lazy allocation, two threads at once.
*/
#include <check.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include "nodes/v1_seen.h"
#include "test/support/check_run.h"

//  A fingerprint as HMAC would give it: n spread by a 64-bit mixer.
static void
s_fp (uint8_t fp[V1_SEEN_FP_SIZE], uint64_t n, uint64_t tweak)
{
    uint64_t z = n * 0x9e3779b97f4a7c15ull + tweak;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    z ^= z >> 31;
    for (int i = 0; i < V1_SEEN_FP_SIZE; i++)
        fp[i] = (uint8_t) (z >> (56 - 8 * i));
}

START_TEST (test_seen_basic)
{
    v1_seen_t *s = v1_seen_new (4, 2);
    ck_assert_ptr_nonnull (s);
    ck_assert_uint_eq (v1_seen_bytes (s), 0);       //  nothing before the first hello
    uint8_t a[8], b[8];
    s_fp (a, 1, 0);
    s_fp (b, 2, 0);
    ck_assert_int_eq (v1_seen_check (s, a), REPLAY_FRESH);
    ck_assert_int_eq (v1_seen_check (s, a), REPLAY_SEEN);
    ck_assert_int_eq (v1_seen_check (s, b), REPLAY_FRESH);
    ck_assert_uint_eq (v1_seen_size (s), 2);
    ck_assert_uint_eq (v1_seen_bytes (s), 16 * 4);
    a[7] ^= 1;
    ck_assert_int_eq (v1_seen_check (s, a), REPLAY_FRESH);
    //  A tag of zero still counts (stored as 1).
    uint8_t z[8] = { 0, 0, 0, 0, 0, 0, 0, 5 };
    ck_assert_int_eq (v1_seen_check (s, z), REPLAY_FRESH);
    ck_assert_int_eq (v1_seen_check (s, z), REPLAY_SEEN);
    v1_seen_destroy (&s);
    ck_assert_ptr_null (s);
    v1_seen_destroy (&s);
    ck_assert_ptr_null (v1_seen_new (3, 2));
    ck_assert_ptr_null (v1_seen_new (8, 1));
}
END_TEST

//  16 slots of 14 hellos, 3 generations: the last 28 are always held, the
//  oldest generation goes when the newest is full.
START_TEST (test_seen_generations)
{
    v1_seen_t *s = v1_seen_new (4, 3);
    uint8_t fp[8];
    for (uint64_t n = 0; n < 200; n++) {
        s_fp (fp, n, 7);
        ck_assert_int_eq (v1_seen_check (s, fp), REPLAY_FRESH);
        //  Every one of the last 28 is still a replay.
        for (uint64_t m = n >= 27 ? n - 27 : 0; m <= n; m++) {
            s_fp (fp, m, 7);
            ck_assert_int_eq (v1_seen_check (s, fp), REPLAY_SEEN);
        }
        ck_assert_uint_le (v1_seen_size (s), 3 * 14);
        ck_assert_uint_le (v1_seen_bytes (s), 3 * 16 * 4);
    }
    //  After 200: generations hold 182..199 at most; 0 is long forgotten.
    s_fp (fp, 0, 7);
    ck_assert_int_eq (v1_seen_check (s, fp), REPLAY_FRESH);
    v1_seen_destroy (&s);
}
END_TEST

//  The default shape: at least V1_SEEN_MIN (>= 2^20) of the last hellos,
//  in V1_SEEN_MAX_BYTES (6 MiB), and no fresh one taken for a replay.
START_TEST (test_seen_default_shape)
{
    ck_assert_uint_ge (V1_SEEN_MIN, (size_t) 1 << 20);
    ck_assert_uint_le (V1_SEEN_MAX_BYTES, (size_t) 6 << 20);
    v1_seen_t *s = v1_seen_new (V1_SEEN_SLOTS_LOG2, V1_SEEN_GENERATIONS);
    uint8_t fp[8];
    const uint64_t n = (uint64_t) V1_SEEN_MIN + 300000;
    //  (Counted, asserted once: a Check assertion per hello costs a system call.)
    uint64_t wrong = 0;
    for (uint64_t i = 0; i < n; i++) {
        s_fp (fp, i, 1);
        wrong += v1_seen_check (s, fp) != REPLAY_FRESH;
    }
    ck_assert_uint_eq (wrong, 0);
    ck_assert_uint_le (v1_seen_bytes (s), V1_SEEN_MAX_BYTES);
    ck_assert_uint_ge (v1_seen_size (s), V1_SEEN_MIN);
    for (uint64_t i = n - V1_SEEN_MIN; i < n; i++) {
        s_fp (fp, i, 1);
        wrong += v1_seen_check (s, fp) != REPLAY_SEEN;
    }
    ck_assert_uint_eq (wrong, 0);
    v1_seen_destroy (&s);
}
END_TEST

#define S_PER_THREAD 20000

typedef struct {
    v1_seen_t *s;
    uint64_t tweak;
    int fresh;
} s_job_t;

static void *
s_insert (void *arg)
{
    s_job_t *job = arg;
    uint8_t fp[8];
    for (uint64_t n = 0; n < S_PER_THREAD; n++) {
        s_fp (fp, n, job->tweak);
        if (v1_seen_check (job->s, fp) == REPLAY_FRESH)
            job->fresh++;
    }
    return NULL;
}

START_TEST (test_seen_threads)
{
    v1_seen_t *s = v1_seen_new (16, 2);
    s_job_t a = { s, 11, 0 }, b = { s, 12, 0 };
    pthread_t ta, tb;
    ck_assert_int_eq (pthread_create (&ta, NULL, s_insert, &a), 0);
    ck_assert_int_eq (pthread_create (&tb, NULL, s_insert, &b), 0);
    pthread_join (ta, NULL);
    pthread_join (tb, NULL);
    ck_assert_int_eq (a.fresh, S_PER_THREAD);
    ck_assert_int_eq (b.fresh, S_PER_THREAD);
    ck_assert_uint_eq (v1_seen_size (s), 2 * S_PER_THREAD);
    v1_seen_destroy (&s);
}
END_TEST

int
main (void)
{
    Suite *suite = suite_create ("v1_seen");
    TCase *tc = tcase_create ("seen");
    tcase_add_test (tc, test_seen_basic);
    tcase_add_test (tc, test_seen_generations);
    tcase_add_test (tc, test_seen_default_shape);
    tcase_add_test (tc, test_seen_threads);
    tcase_set_timeout (tc, 100);
    suite_add_tcase (suite, tc);
    return check_run (suite);
}
