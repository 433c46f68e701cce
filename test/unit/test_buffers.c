/*  Unit tests: bufpool, bufq and timers (the worker's building blocks). */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "runtime/bufpool.h"
#include "runtime/bufq.h"
#include "runtime/timers.h"
#include "test/support/check_run.h"

START_TEST (test_pool_recycles)
{
    bufpool_t *pool = bufpool_new (1024, 2);
    ck_assert_uint_eq (bufpool_block_size (pool), 1024);
    buf_t *a = bufpool_get (pool), *b = bufpool_get (pool), *c = bufpool_get (pool);
    ck_assert_uint_eq (bufpool_in_use (pool), 3);
    ck_assert_uint_eq (a->off + a->len, 0);
    bufpool_put (pool, a);
    bufpool_put (pool, b);
    bufpool_put (pool, c);      //  over max_free: freed, not kept
    ck_assert_uint_eq (bufpool_in_use (pool), 0);
    buf_t *d = bufpool_get (pool);
    ck_assert (d == b || d == a);
    d->len = 5;
    bufpool_put (pool, d);
    d = bufpool_get (pool);
    ck_assert_uint_eq (d->len, 0);  //  reset on reuse
    bufpool_put (pool, d);
    bufpool_destroy (&pool);
    ck_assert_ptr_null (pool);
}
END_TEST

static void
s_nonblocking_pair (int sv[2])
{
    ck_assert_int_eq (socketpair (AF_UNIX, SOCK_STREAM, 0, sv), 0);
    fcntl (sv[0], F_SETFL, O_NONBLOCK);
    fcntl (sv[1], F_SETFL, O_NONBLOCK);
}

START_TEST (test_pool_trim)
{
    bufpool_t *pool = bufpool_new (64, 8);
    buf_t *bufs[6];
    for (int i = 0; i < 6; i++)
        bufs[i] = bufpool_get (pool);
    for (int i = 0; i < 6; i++)
        bufpool_put (pool, bufs[i]);
    ck_assert_uint_eq (bufpool_spare (pool), 6);
    bufpool_trim (pool, 2);
    ck_assert_uint_eq (bufpool_spare (pool), 2);
    bufpool_trim (pool, 5);
    ck_assert_uint_eq (bufpool_spare (pool), 2);
    buf_t *a = bufpool_get (pool), *b = bufpool_get (pool), *c = bufpool_get (pool);
    ck_assert_uint_eq (bufpool_spare (pool), 0);
    ck_assert_uint_eq (bufpool_in_use (pool), 3);
    bufpool_put (pool, a);
    bufpool_put (pool, b);
    bufpool_put (pool, c);
    bufpool_destroy (&pool);
}
END_TEST

//  The peak says how many blocks a burst took, so that the worker can tell
//  when memory is worth giving back.
START_TEST (test_pool_peak)
{
    bufpool_t *pool = bufpool_new (64, 4);
    buf_t *bufs[10];
    for (int i = 0; i < 10; i++)
        bufs[i] = bufpool_get (pool);
    ck_assert_uint_eq (bufpool_peak (pool), 10);
    for (int i = 0; i < 7; i++)
        bufpool_put (pool, bufs[i]);
    ck_assert_uint_eq (bufpool_in_use (pool), 3);
    ck_assert_uint_eq (bufpool_peak (pool), 10);
    bufpool_peak_reset (pool);
    ck_assert_uint_eq (bufpool_peak (pool), 3);
    buf_t *again = bufpool_get (pool);
    ck_assert_uint_eq (bufpool_peak (pool), 4);
    bufpool_put (pool, again);
    for (int i = 7; i < 10; i++)
        bufpool_put (pool, bufs[i]);
    ck_assert_uint_eq (bufpool_peak (pool), 4);
    bufpool_destroy (&pool);
}
END_TEST

START_TEST (test_queue_append_and_flush_in_order)
{
    bufpool_t *pool = bufpool_new (16, 8);
    bufq_t q = { 0 };
    char expect[200];
    for (int i = 0; i < 200; i++)
        expect[i] = (char) ('a' + i % 26);
    //  Pieces of odd sizes cross block boundaries.
    size_t at = 0;
    for (size_t piece = 1; at < sizeof expect; piece = piece % 7 + 3) {
        size_t n = at + piece > sizeof expect ? sizeof expect - at : piece;
        bufq_append (&q, pool, expect + at, n);
        at += n;
    }
    ck_assert_uint_eq (q.bytes, 200);
    int sv[2];
    s_nonblocking_pair (sv);
    ck_assert_int_eq (bufq_flush (&q, pool, sv[0]), 200);
    ck_assert_uint_eq (q.bytes, 0);
    ck_assert_ptr_null (q.head);
    ck_assert_uint_eq (bufpool_in_use (pool), 0);
    char got[256];
    ck_assert_int_eq (read (sv[1], got, sizeof got), 200);
    ck_assert_mem_eq (got, expect, 200);
    close (sv[0]);
    close (sv[1]);
    bufpool_destroy (&pool);
}
END_TEST

START_TEST (test_queue_flush_max)
{
    //  A mimic lets a queue go out in measured pieces: never more than asked,
    //  across block boundaries, in order.
    bufpool_t *pool = bufpool_new (16, 8);
    bufq_t q = { 0 };
    char expect[100];
    for (int i = 0; i < 100; i++)
        expect[i] = (char) ('A' + i % 26);
    bufq_append (&q, pool, expect, sizeof expect);
    int sv[2];
    s_nonblocking_pair (sv);
    size_t limits[] = { 0, 1, 15, 16, 17, 3, 40 };
    size_t sent = 0;
    for (size_t i = 0; i < sizeof limits / sizeof limits[0]; i++) {
        ck_assert_int_eq (bufq_flush_max (&q, pool, sv[0], limits[i]), (ssize_t) limits[i]);
        sent += limits[i];
        ck_assert_uint_eq (q.bytes, sizeof expect - sent);
    }
    ck_assert_int_eq (bufq_flush_max (&q, pool, sv[0], 1000), (ssize_t) (sizeof expect - sent));
    //  Popping takes blocks out whole, oldest first, and keeps the count.
    bufq_append (&q, pool, expect, 40);
    buf_t *first = bufq_pop (&q);
    ck_assert_ptr_nonnull (first);
    ck_assert_uint_eq (first->len - first->off, 16);
    ck_assert_uint_eq (q.bytes, 24);
    ck_assert_mem_eq (first->data + first->off, expect, 16);
    bufpool_put (pool, first);
    bufq_clear (&q, pool);
    ck_assert_ptr_null (bufq_pop (&q));
    ck_assert_uint_eq (bufpool_in_use (pool), 0);
    char got[128];
    ck_assert_int_eq (read (sv[1], got, sizeof got), 100);
    ck_assert_mem_eq (got, expect, 100);
    close (sv[0]);
    close (sv[1]);
    bufpool_destroy (&pool);
}
END_TEST

START_TEST (test_queue_partial_flush_keeps_the_rest)
{
    bufpool_t *pool = bufpool_new (4096, 64);
    bufq_t q = { 0 };
    int sv[2];
    s_nonblocking_pair (sv);
    int small = 4096;
    setsockopt (sv[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
    //  Push 4 MiB of numbered bytes; the socket takes only part of it.
    size_t total = 4 << 20;
    for (size_t at = 0; at < total; ) {
        buf_t *b = bufpool_get (pool);
        for (b->len = 0; b->len < 4096; b->len++, at++)
            b->data[b->len] = (uint8_t) (at * 7);
        bufq_push (&q, b);
    }
    ck_assert_uint_eq (q.bytes, total);
    size_t received = 0;
    uint8_t got[65536];
    bool ok = true;
    for (int rounds = 0; received < total && rounds < 100000; rounds++) {
        ssize_t n = bufq_flush (&q, pool, sv[0]);
        ck_assert_int_ge (n, 0);
        ssize_t r;
        while ((r = read (sv[1], got, sizeof got)) > 0) {
            for (ssize_t i = 0; i < r; i++)
                ok &= got[i] == (uint8_t) ((received + (size_t) i) * 7);
            received += (size_t) r;
        }
    }
    ck_assert (ok);
    ck_assert_uint_eq (received, total);
    ck_assert_uint_eq (q.bytes, 0);
    ck_assert_uint_eq (bufpool_in_use (pool), 0);
    close (sv[0]);
    close (sv[1]);
    bufpool_destroy (&pool);
}
END_TEST

START_TEST (test_queue_flush_error)
{
    bufpool_t *pool = bufpool_new (64, 8);
    bufq_t q = { 0 };
    bufq_append (&q, pool, "hello", 5);
    int sv[2];
    s_nonblocking_pair (sv);
    close (sv[1]);
    signal (SIGPIPE, SIG_IGN);
    ck_assert_int_eq (bufq_flush (&q, pool, sv[0]), -1);
    ck_assert_int_eq (errno, EPIPE);
    ck_assert_uint_eq (q.bytes, 5);     //  nothing lost silently
    bufq_clear (&q, pool);
    ck_assert_uint_eq (bufpool_in_use (pool), 0);
    close (sv[0]);
    bufpool_destroy (&pool);
}
END_TEST

START_TEST (test_queue_reserve_commit)
{
    bufpool_t *pool = bufpool_new (8, 8);
    bufq_t q = { 0 };
    bufq_append (&q, pool, "abc", 3);
    //  Written in place at the tail, across a block boundary.
    const char *more = "defghijklm";
    size_t done = 0;
    while (done < 10) {
        size_t room;
        uint8_t *at = bufq_reserve (&q, pool, &room);
        ck_assert_uint_gt (room, 0);
        size_t n = room < 10 - done ? room : 10 - done;
        memcpy (at, more + done, n);
        bufq_commit (&q, n);
        done += n;
    }
    ck_assert_uint_eq (q.bytes, 13);
    int sv[2];
    s_nonblocking_pair (sv);
    ck_assert_int_eq (bufq_flush (&q, pool, sv[0]), 13);
    char got[16];
    ck_assert_int_eq (read (sv[1], got, sizeof got), 13);
    ck_assert_mem_eq (got, "abcdefghijklm", 13);
    ck_assert_uint_eq (bufpool_in_use (pool), 0);
    close (sv[0]);
    close (sv[1]);
    bufpool_destroy (&pool);
}
END_TEST

START_TEST (test_timers_order)
{
    timers_t *timers = timers_new ();
    ck_assert_int_eq (timers_wait_ms (timers, 0), -1);
    uint64_t deadlines[] = { 50, 10, 40, 10, 30, 20, 60, 5 };
    for (int i = 0; i < 8; i++)
        timers_add (timers, deadlines[i], (uint64_t) i, i % 2);
    ck_assert_uint_eq (timers_size (timers), 8);
    ck_assert_int_eq (timers_wait_ms (timers, 0), 5);
    timer_entry_t e;
    ck_assert (!timers_pop_due (timers, 4, &e));
    uint64_t last = 0;
    int popped = 0;
    while (timers_pop_due (timers, 45, &e)) {
        ck_assert_uint_ge (e.deadline_ms, last);
        ck_assert_uint_eq (deadlines[e.owner], e.deadline_ms);
        ck_assert_int_eq (e.kind, (int) e.owner % 2);
        last = e.deadline_ms;
        popped++;
    }
    ck_assert_int_eq (popped, 6);
    ck_assert_int_eq (timers_wait_ms (timers, 45), 5);
    ck_assert_int_eq (timers_wait_ms (timers, 100), 0);
    timers_destroy (&timers);
    ck_assert_ptr_null (timers);
}
END_TEST

START_TEST (test_timers_random_heap)
{
    timers_t *timers = timers_new ();
    srand (7);
    for (int i = 0; i < 5000; i++)
        timers_add (timers, (uint64_t) (rand () % 100000), (uint64_t) i, 0);
    timer_entry_t e;
    uint64_t last = 0;
    int count = 0;
    while (timers_pop_due (timers, UINT64_MAX, &e)) {
        ck_assert_uint_ge (e.deadline_ms, last);
        last = e.deadline_ms;
        count++;
    }
    ck_assert_int_eq (count, 5000);
    timers_destroy (&timers);
}
END_TEST

int
main (void)
{
    Suite *suite = suite_create ("buffers");
    TCase *tc = tcase_create ("core");
    tcase_set_timeout (tc, 60);
    tcase_add_test (tc, test_pool_recycles);
    tcase_add_test (tc, test_pool_trim);
    tcase_add_test (tc, test_pool_peak);
    tcase_add_test (tc, test_queue_append_and_flush_in_order);
    tcase_add_test (tc, test_queue_flush_max);
    tcase_add_test (tc, test_queue_partial_flush_keeps_the_rest);
    tcase_add_test (tc, test_queue_flush_error);
    tcase_add_test (tc, test_queue_reserve_commit);
    tcase_add_test (tc, test_timers_order);
    tcase_add_test (tc, test_timers_random_heap);
    suite_add_tcase (suite, tc);
    return check_run (suite);
}
