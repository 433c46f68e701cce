/*  Tests for nodes/replay_filter.h, the v2 first flights' replay filter:
    fresh and seen, remembered for one period and forgotten after two, a
    full generation, two threads at once.
*/
#include <check.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/kdf.h>
#include <openssl/sha.h>
#include "nodes/node.h"
#include "nodes/replay_filter.h"
#include "nodes/v2_flight.h"
#include "nodes/v2_keys.h"
#include "nodes/v2_node.h"
#include "nodes/v2_record.h"
#include "test/support/check_run.h"
#include "test/vectors/v2_vectors.h"

//  --- The replay filter

static void
s_salt (uint8_t salt[REPLAY_SALT_SIZE], uint32_t n, uint8_t tag)
{
    memset (salt, tag, REPLAY_SALT_SIZE);
    salt[0] = (uint8_t) (n >> 24);
    salt[1] = (uint8_t) (n >> 16);
    salt[2] = (uint8_t) (n >> 8);
    salt[3] = (uint8_t) n;
}

START_TEST (test_replay_basic)
{
    replay_filter_t *f = replay_filter_new (16, 60);
    ck_assert_ptr_nonnull (f);
    uint8_t a[32], b[32];
    s_salt (a, 1, 0);
    s_salt (b, 2, 0);
    ck_assert_uint_eq (replay_filter_size (f), 0);
    ck_assert_int_eq (replay_filter_check (f, a, 1000), REPLAY_FRESH);
    ck_assert_int_eq (replay_filter_check (f, a, 1000), REPLAY_SEEN);
    ck_assert_int_eq (replay_filter_check (f, a, 1001), REPLAY_SEEN);
    ck_assert_int_eq (replay_filter_check (f, b, 1001), REPLAY_FRESH);
    ck_assert_uint_eq (replay_filter_size (f), 2);
    //  One bit off is another salt.
    a[31] ^= 1;
    ck_assert_int_eq (replay_filter_check (f, a, 1002), REPLAY_FRESH);
    ck_assert_uint_eq (replay_filter_size (f), 3);
    replay_filter_destroy (&f);
    ck_assert_ptr_null (f);
    replay_filter_destroy (&f);
}
END_TEST

START_TEST (test_replay_periods)
{
    const unsigned P = 60;
    uint8_t a[32], b[32], c[32];
    s_salt (a, 1, 0x11);
    s_salt (b, 2, 0x11);
    s_salt (c, 3, 0x11);
    //  Remembered for at least one period, whatever else happens meanwhile.
    replay_filter_t *f = replay_filter_new (64, P);
    ck_assert_int_eq (replay_filter_check (f, a, 1000), REPLAY_FRESH);
    ck_assert_int_eq (replay_filter_check (f, b, 1000 + P / 2), REPLAY_FRESH);
    ck_assert_int_eq (replay_filter_check (f, a, 1000 + P - 1), REPLAY_SEEN);
    ck_assert_int_eq (replay_filter_check (f, b, 1000 + P / 2 + P - 1), REPLAY_SEEN);
    //  ... and forgotten after two periods.
    ck_assert_int_eq (replay_filter_check (f, a, 1000 + 2 * P), REPLAY_FRESH);
    ck_assert_int_eq (replay_filter_check (f, b, 1000 + P / 2 + 2 * P), REPLAY_FRESH);
    replay_filter_destroy (&f);

    //  Nothing in between: a jump of two periods forgets at once.
    f = replay_filter_new (64, P);
    ck_assert_int_eq (replay_filter_check (f, a, 5000), REPLAY_FRESH);
    ck_assert_int_eq (replay_filter_check (f, a, 5000 + 2 * P), REPLAY_FRESH);
    ck_assert_int_eq (replay_filter_check (f, a, 5000 + 2 * P), REPLAY_SEEN);
    //  A long silence forgets everything.
    ck_assert_int_eq (replay_filter_check (f, b, 5000 + 2 * P + 1), REPLAY_FRESH);
    ck_assert_int_eq (replay_filter_check (f, c, 5000 + 100 * P), REPLAY_FRESH);
    ck_assert_int_eq (replay_filter_check (f, a, 5000 + 100 * P), REPLAY_FRESH);
    ck_assert_int_eq (replay_filter_check (f, b, 5000 + 100 * P), REPLAY_FRESH);
    ck_assert_uint_eq (replay_filter_size (f), 3);
    replay_filter_destroy (&f);

    //  The spec's window: a salt seen 30 s ago (the time window) is a replay
    //  with the implementation's 60 s generations, at any phase.
    for (uint64_t t0 = 100000; t0 < 100000 + P; t0 += 7) {
        f = replay_filter_new (64, P);
        ck_assert_int_eq (replay_filter_check (f, c, 100000), REPLAY_FRESH);
        ck_assert_int_eq (replay_filter_check (f, a, t0), REPLAY_FRESH);
        ck_assert_int_eq (replay_filter_check (f, a, t0 + 2 * V2_TIME_WINDOW_S - 1), REPLAY_SEEN);
        replay_filter_destroy (&f);
    }
}
END_TEST

START_TEST (test_replay_full)
{
    replay_filter_t *f = replay_filter_new (4, 60);
    uint8_t salt[32];
    for (uint32_t n = 0; n < 4; n++) {
        s_salt (salt, n, 0x22);
        ck_assert_int_eq (replay_filter_check (f, salt, 1000 + n), REPLAY_FRESH);
    }
    //  The generation is full: a new salt is refused, not remembered.
    s_salt (salt, 4, 0x22);
    ck_assert_int_eq (replay_filter_check (f, salt, 1010), REPLAY_FULL);
    ck_assert_int_eq (replay_filter_check (f, salt, 1011), REPLAY_FULL);
    ck_assert_uint_eq (replay_filter_size (f), 4);
    //  Nothing was forgotten to make room.
    for (uint32_t n = 0; n < 4; n++) {
        s_salt (salt, n, 0x22);
        replay_result_t r = replay_filter_check (f, salt, 1012);
        ck_assert_msg (r != REPLAY_FRESH, "salt %u was forgotten when the filter filled", n);
    }
    //  A period later there is a new generation: room again, and the old
    //  salts are still replays.
    s_salt (salt, 4, 0x22);
    ck_assert_int_eq (replay_filter_check (f, salt, 1000 + 60 + 5), REPLAY_FRESH);
    s_salt (salt, 0, 0x22);
    ck_assert_int_eq (replay_filter_check (f, salt, 1000 + 60 + 5), REPLAY_SEEN);
    replay_filter_destroy (&f);
}
END_TEST

#define S_PER_THREAD 20000

typedef struct {
    replay_filter_t *filter;
    uint8_t tag;
    int fresh;
} s_inserter_t;

static void *
s_insert (void *arg)
{
    s_inserter_t *self = (s_inserter_t *) arg;
    uint8_t salt[32];
    for (uint32_t n = 0; n < S_PER_THREAD; n++) {
        s_salt (salt, n, self->tag);
        if (replay_filter_check (self->filter, salt, 7000) == REPLAY_FRESH)
            self->fresh++;
    }
    return NULL;
}

START_TEST (test_replay_threads)
{
    //  Two threads insert distinct salts at once: none is lost or taken for
    //  a replay.
    replay_filter_t *f = replay_filter_new (65536, 60);
    s_inserter_t a = { f, 0x33, 0 }, b = { f, 0x44, 0 };
    pthread_t ta, tb;
    ck_assert_int_eq (pthread_create (&ta, NULL, s_insert, &a), 0);
    ck_assert_int_eq (pthread_create (&tb, NULL, s_insert, &b), 0);
    pthread_join (ta, NULL);
    pthread_join (tb, NULL);
    ck_assert_int_eq (a.fresh, S_PER_THREAD);
    ck_assert_int_eq (b.fresh, S_PER_THREAD);
    ck_assert_uint_eq (replay_filter_size (f), 2 * S_PER_THREAD);
    uint8_t salt[32];
    for (uint32_t n = 0; n < S_PER_THREAD; n++) {
        s_salt (salt, n, 0x33);
        ck_assert_int_eq (replay_filter_check (f, salt, 7001), REPLAY_SEEN);
        s_salt (salt, n, 0x44);
        ck_assert_int_eq (replay_filter_check (f, salt, 7001), REPLAY_SEEN);
    }
    replay_filter_destroy (&f);
}
END_TEST

int
main (void)
{
    Suite *suite = suite_create ("replay_filter");
    TCase *tc = tcase_create ("replay");
    tcase_add_test (tc, test_replay_basic);
    tcase_add_test (tc, test_replay_periods);
    tcase_add_test (tc, test_replay_full);
    tcase_add_test (tc, test_replay_threads);
    tcase_set_timeout (tc, 60);
    suite_add_tcase (suite, tc);
    return check_run (suite);
}
