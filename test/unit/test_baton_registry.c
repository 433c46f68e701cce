/*  Unit tests: the handover registry (runtime/baton_registry.h) — ID to
    tunnel, taken once, removed only by its owner, safe from several threads.
*/
#include <check.h>
#include <pthread.h>
#include <string.h>

#include "runtime/baton_registry.h"
#include "test/support/check_run.h"

static void
s_id (uint8_t id[BATON_ID_SIZE], unsigned n)
{
    memset (id, 0, BATON_ID_SIZE);
    memcpy (id, &n, sizeof n);
    id[BATON_ID_SIZE - 1] = 0xa5;
}

START_TEST (test_put_take)
{
    uint8_t id[BATON_ID_SIZE], other[BATON_ID_SIZE];
    s_id (id, 1);
    s_id (other, 2);
    int worker = -1;
    uint64_t session = 0;
    ck_assert_int_eq (baton_registry_take (id, &worker, &session), -1);
    ck_assert_int_eq (baton_registry_put (id, 3, 0x100000007ULL), 0);
    ck_assert_uint_eq (baton_registry_size (), 1);
    //  Another ID (one bit off would do) finds nothing.
    ck_assert_int_eq (baton_registry_take (other, &worker, &session), -1);
    ck_assert_int_eq (baton_registry_take (id, &worker, &session), 0);
    ck_assert_int_eq (worker, 3);
    ck_assert_uint_eq (session, 0x100000007ULL);
    //  Taken once: a replayed ID finds nothing.
    ck_assert_int_eq (baton_registry_take (id, &worker, &session), -1);
    ck_assert_uint_eq (baton_registry_size (), 0);
    baton_registry_shutdown ();
}
END_TEST

START_TEST (test_first_keeps_and_remove)
{
    uint8_t id[BATON_ID_SIZE];
    s_id (id, 7);
    int worker;
    uint64_t session;
    ck_assert_int_eq (baton_registry_put (id, 0, 11), 0);
    ck_assert_int_eq (baton_registry_put (id, 1, 12), -1);    //  the first keeps it
    ck_assert_uint_eq (baton_registry_size (), 1);
    baton_registry_remove (id, 12);                            //  not its owner
    ck_assert_uint_eq (baton_registry_size (), 1);
    ck_assert_int_eq (baton_registry_take (id, &worker, &session), 0);
    ck_assert_int_eq (worker, 0);
    ck_assert_uint_eq (session, 11);
    ck_assert_int_eq (baton_registry_put (id, 1, 12), 0);     //  free again once taken
    baton_registry_remove (id, 12);
    ck_assert_uint_eq (baton_registry_size (), 0);
    ck_assert_int_eq (baton_registry_take (id, &worker, &session), -1);
    baton_registry_shutdown ();
}
END_TEST

#define THREADS 4
#define PER_THREAD 2000

static void *
s_hammer (void *arg)
{
    unsigned base = (unsigned) (uintptr_t) arg * PER_THREAD;
    for (unsigned i = 0; i < PER_THREAD; i++) {
        uint8_t id[BATON_ID_SIZE];
        s_id (id, base + i);
        if (baton_registry_put (id, (int) (base + i) % 7, base + i) != 0)
            return (void *) 1;
    }
    for (unsigned i = 0; i < PER_THREAD; i += 2) {
        uint8_t id[BATON_ID_SIZE];
        s_id (id, base + i);
        int worker;
        uint64_t session;
        if (baton_registry_take (id, &worker, &session) != 0 || session != base + i
        ||  worker != (int) (base + i) % 7)
            return (void *) 1;
    }
    return NULL;
}

START_TEST (test_threads)
{
    pthread_t threads[THREADS];
    for (uintptr_t t = 0; t < THREADS; t++)
        ck_assert_int_eq (pthread_create (&threads[t], NULL, s_hammer, (void *) t), 0);
    for (int t = 0; t < THREADS; t++) {
        void *rc = NULL;
        pthread_join (threads[t], &rc);
        ck_assert_ptr_null (rc);
    }
    ck_assert_uint_eq (baton_registry_size (), THREADS * PER_THREAD / 2);
    baton_registry_shutdown ();
    ck_assert_uint_eq (baton_registry_size (), 0);
}
END_TEST

int
main (void)
{
    Suite *suite = suite_create ("baton_registry");
    TCase *tc = tcase_create ("core");
    tcase_add_test (tc, test_put_take);
    tcase_add_test (tc, test_first_keeps_and_remove);
    tcase_add_test (tc, test_threads);
    suite_add_tcase (suite, tc);
    return check_run (suite);
}
