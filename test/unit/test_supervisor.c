/*  Tests for runtime/supervisor and runtime/signals: one_for_one restarts,
    escalation, stop order, real signals. Every wait is bounded. */
#include <check.h>
#include <czmq.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>

#include "runtime/actor.h"
#include "runtime/base/log.h"
#include "runtime/signals.h"
#include "runtime/supervisor.h"
#include "test/support/check_run.h"

#define BOUND_MS 10000          //  generous: only reached when something is broken

static void
s_setup (void)
{
    //  Check forks each test: CZMQ and signal setup per test, before any thread.
    ck_assert_int_eq (signals_block (), 0);
    zsys_set_linger (0);
    log_set_level (LOG_LEVEL_ERROR);
}

//  Shared by a test and one child: how often it started, how often it
//  returned after $TERM, and when (rank among all children's stops).
typedef struct {
    atomic_int starts;
    atomic_int terms;
    atomic_int trigger;         //  crash_on_trigger: bump to make it crash
    atomic_int rank;
    atomic_int *stop_counter;
} s_child_args_t;

static void
s_stopped (s_child_args_t *self)
{
    atomic_fetch_add (&self->terms, 1);
    if (self->stop_counter)
        atomic_store (&self->rank, atomic_fetch_add (self->stop_counter, 1) + 1);
}

static void
s_good_child (zsock_t *pipe, void *args)
{
    s_child_args_t *self = (s_child_args_t *) args;
    atomic_fetch_add (&self->starts, 1);
    zsock_signal (pipe, 0);
    actor_wait_term (pipe);
    s_stopped (self);
}

static void
s_crash_once_child (zsock_t *pipe, void *args)
{
    s_child_args_t *self = (s_child_args_t *) args;
    int run = atomic_fetch_add (&self->starts, 1) + 1;
    zsock_signal (pipe, 0);
    if (run == 1) {
        actor_fail (pipe, "first run fails");
        return;
    }
    actor_wait_term (pipe);
    s_stopped (self);
}

//  Returns on its own (no actor_fail) the first time: also a crash.
static void
s_exit_once_child (zsock_t *pipe, void *args)
{
    s_child_args_t *self = (s_child_args_t *) args;
    int run = atomic_fetch_add (&self->starts, 1) + 1;
    zsock_signal (pipe, 0);
    if (run == 1)
        return;
    actor_wait_term (pipe);
    s_stopped (self);
}

static void
s_crash_always_child (zsock_t *pipe, void *args)
{
    s_child_args_t *self = (s_child_args_t *) args;
    atomic_fetch_add (&self->starts, 1);
    zsock_signal (pipe, 0);
    actor_fail (pipe, "always fails");
}

static void
s_fail_start_child (zsock_t *pipe, void *args)
{
    s_child_args_t *self = (s_child_args_t *) args;
    atomic_fetch_add (&self->starts, 1);
    zsock_signal (pipe, 1);
}

//  Starts once, crashes, and can never start again.
static void
s_crash_then_no_start_child (zsock_t *pipe, void *args)
{
    s_child_args_t *self = (s_child_args_t *) args;
    int run = atomic_fetch_add (&self->starts, 1) + 1;
    if (run > 1) {
        zsock_signal (pipe, 1);
        return;
    }
    zsock_signal (pipe, 0);
    actor_fail (pipe, "crash");
}

//  Crashes when the test bumps trigger.
static void
s_crash_on_trigger_child (zsock_t *pipe, void *args)
{
    s_child_args_t *self = (s_child_args_t *) args;
    int seen = atomic_load (&self->trigger);
    atomic_fetch_add (&self->starts, 1);
    zsock_signal (pipe, 0);
    zsock_set_rcvtimeo (pipe, 5);
    while (true) {
        zmsg_t *msg = zmsg_recv (pipe);
        if (msg) {
            bool term = actor_is_term (msg);
            zmsg_destroy (&msg);
            if (term) {
                s_stopped (self);
                return;
            }
        }
        if (atomic_load (&self->trigger) != seen) {
            actor_fail (pipe, "triggered");
            return;
        }
    }
}

//  Wait until *value == expected, at most BOUND_MS.
static bool
s_wait_for (atomic_int *value, int expected)
{
    int64_t deadline = zclock_mono () + BOUND_MS;
    while (atomic_load (value) != expected) {
        if (zclock_mono () > deadline)
            return false;
        zclock_sleep (2);
    }
    return true;
}


START_TEST (test_invalid_opts)
{
    s_setup ();
    supervisor_opts_t bad_intensity = { -1, 1000, false };
    supervisor_opts_t bad_period = { 3, 0, false };
    ck_assert_ptr_null (supervisor_new (&bad_intensity));
    ck_assert_ptr_null (supervisor_new (&bad_period));
    zactor_t *sup = supervisor_new (NULL);
    ck_assert_ptr_nonnull (sup);
    zactor_destroy (&sup);
    ck_assert_ptr_null (sup);
}
END_TEST

START_TEST (test_wait_times_out)
{
    s_setup ();
    zactor_t *sup = supervisor_new (NULL);
    ck_assert_int_eq (supervisor_wait (sup, 0), -1);
    int64_t started = zclock_mono ();
    ck_assert_int_eq (supervisor_wait (sup, 50), -1);
    int64_t elapsed = zclock_mono () - started;
    ck_assert_int_ge (elapsed, 45);
    ck_assert_int_lt (elapsed, BOUND_MS);
    zactor_destroy (&sup);
}
END_TEST

START_TEST (test_crash_once_is_restarted)
{
    s_setup ();
    s_child_args_t child = { 0 };
    zactor_t *sup = supervisor_new (NULL);
    ck_assert_int_eq (supervisor_start_child (sup, "once", s_crash_once_child, &child), 0);
    ck_assert (s_wait_for (&child.starts, 2));
    //  One restart is well within the intensity: no escalation.
    ck_assert_int_eq (supervisor_wait (sup, 100), -1);
    ck_assert_int_eq (atomic_load (&child.starts), 2);
    ck_assert_int_eq (atomic_load (&child.terms), 0);
    zactor_destroy (&sup);
    ck_assert_int_eq (atomic_load (&child.terms), 1);
    ck_assert_int_eq (atomic_load (&child.starts), 2);
}
END_TEST

START_TEST (test_return_without_term_is_a_crash)
{
    s_setup ();
    s_child_args_t child = { 0 };
    zactor_t *sup = supervisor_new (NULL);
    ck_assert_int_eq (supervisor_start_child (sup, "quitter", s_exit_once_child, &child), 0);
    ck_assert (s_wait_for (&child.starts, 2));
    ck_assert_int_eq (supervisor_wait (sup, 100), -1);
    zactor_destroy (&sup);
    ck_assert_int_eq (atomic_load (&child.starts), 2);
    ck_assert_int_eq (atomic_load (&child.terms), 1);
}
END_TEST

START_TEST (test_crash_always_escalates)
{
    s_setup ();
    supervisor_opts_t opts = { 3, 60000, false };
    s_child_args_t good = { 0 }, bad = { 0 };
    zactor_t *sup = supervisor_new (&opts);
    ck_assert_int_eq (supervisor_start_child (sup, "good", s_good_child, &good), 0);
    ck_assert_int_eq (supervisor_start_child (sup, "bad", s_crash_always_child, &bad), 0);
    ck_assert_int_eq (supervisor_wait (sup, BOUND_MS), 1);
    //  First start plus three restarts; the fourth crash is one too many.
    ck_assert_int_eq (atomic_load (&bad.starts), 4);
    //  Escalation stopped the other child too, and nothing new is accepted.
    ck_assert_int_eq (atomic_load (&good.terms), 1);
    s_child_args_t late = { 0 };
    ck_assert_int_eq (supervisor_start_child (sup, "late", s_good_child, &late), -1);
    ck_assert_int_eq (atomic_load (&late.starts), 0);
    ck_assert_int_eq (supervisor_stop_child (sup, "good"), -1);
    zactor_destroy (&sup);
    ck_assert_int_eq (atomic_load (&good.terms), 1);
    ck_assert_int_eq (atomic_load (&good.starts), 1);
}
END_TEST

START_TEST (test_default_intensity)
{
    s_setup ();
    s_child_args_t bad = { 0 };
    zactor_t *sup = supervisor_new (NULL);
    ck_assert_int_eq (supervisor_start_child (sup, "bad", s_crash_always_child, &bad), 0);
    ck_assert_int_eq (supervisor_wait (sup, BOUND_MS), 1);
    ck_assert_int_eq (atomic_load (&bad.starts), SUPERVISOR_INTENSITY_DEFAULT + 1);
    zactor_destroy (&sup);
}
END_TEST

START_TEST (test_failed_restart_counts_as_crash)
{
    s_setup ();
    supervisor_opts_t opts = { 3, 60000, false };
    s_child_args_t child = { 0 };
    zactor_t *sup = supervisor_new (&opts);
    ck_assert_int_eq (supervisor_start_child (sup, "fragile", s_crash_then_no_start_child, &child), 0);
    ck_assert_int_eq (supervisor_wait (sup, BOUND_MS), 1);
    ck_assert_int_eq (atomic_load (&child.starts), 4);
    zactor_destroy (&sup);
}
END_TEST

START_TEST (test_restart_window_slides)
{
    s_setup ();
    //  One restart per 100 ms is allowed: two crashes far apart are fine.
    supervisor_opts_t opts = { 1, 100, false };
    s_child_args_t child = { 0 };
    zactor_t *sup = supervisor_new (&opts);
    ck_assert_int_eq (supervisor_start_child (sup, "t", s_crash_on_trigger_child, &child), 0);
    atomic_fetch_add (&child.trigger, 1);
    ck_assert (s_wait_for (&child.starts, 2));
    zclock_sleep (250);
    atomic_fetch_add (&child.trigger, 1);
    ck_assert (s_wait_for (&child.starts, 3));
    ck_assert_int_eq (supervisor_wait (sup, 100), -1);
    zactor_destroy (&sup);
    ck_assert_int_eq (atomic_load (&child.terms), 1);

    //  The same two crashes within the window escalate.
    supervisor_opts_t long_window = { 1, 60000, false };
    s_child_args_t again = { 0 };
    sup = supervisor_new (&long_window);
    ck_assert_int_eq (supervisor_start_child (sup, "t", s_crash_on_trigger_child, &again), 0);
    atomic_fetch_add (&again.trigger, 1);
    ck_assert (s_wait_for (&again.starts, 2));
    ck_assert_int_eq (supervisor_wait (sup, 100), -1);
    atomic_fetch_add (&again.trigger, 1);
    ck_assert_int_eq (supervisor_wait (sup, BOUND_MS), 1);
    ck_assert_int_eq (atomic_load (&again.starts), 2);
    zactor_destroy (&sup);
}
END_TEST

START_TEST (test_stop_child)
{
    s_setup ();
    s_child_args_t a = { 0 }, b = { 0 };
    zactor_t *sup = supervisor_new (NULL);
    ck_assert_int_eq (supervisor_start_child (sup, "a", s_good_child, &a), 0);
    ck_assert_int_eq (supervisor_start_child (sup, "b", s_good_child, &b), 0);
    ck_assert_int_eq (supervisor_stop_child (sup, "a"), 0);
    ck_assert_int_eq (atomic_load (&a.terms), 1);
    ck_assert_int_eq (atomic_load (&b.terms), 0);
    ck_assert_int_eq (supervisor_stop_child (sup, "a"), -1);
    ck_assert_int_eq (supervisor_stop_child (sup, "nobody"), -1);
    ck_assert_int_eq (supervisor_stop_child (sup, NULL), -1);
    //  The name is free again.
    ck_assert_int_eq (supervisor_start_child (sup, "a", s_good_child, &a), 0);
    ck_assert_int_eq (atomic_load (&a.starts), 2);
    zactor_destroy (&sup);
    ck_assert_int_eq (atomic_load (&a.terms), 2);
    ck_assert_int_eq (atomic_load (&b.terms), 1);
}
END_TEST

START_TEST (test_destroy_stops_children_in_reverse)
{
    s_setup ();
    atomic_int counter = 0;
    s_child_args_t a = { .stop_counter = &counter };
    s_child_args_t b = { .stop_counter = &counter };
    s_child_args_t c = { .stop_counter = &counter };
    zactor_t *sup = supervisor_new (NULL);
    ck_assert_int_eq (supervisor_start_child (sup, "a", s_good_child, &a), 0);
    ck_assert_int_eq (supervisor_start_child (sup, "b", s_crash_once_child, &b), 0);
    ck_assert_int_eq (supervisor_start_child (sup, "c", s_good_child, &c), 0);
    //  A restarted child keeps its place in the start order.
    ck_assert (s_wait_for (&b.starts, 2));
    zactor_destroy (&sup);
    ck_assert_int_eq (atomic_load (&c.rank), 1);
    ck_assert_int_eq (atomic_load (&b.rank), 2);
    ck_assert_int_eq (atomic_load (&a.rank), 3);
}
END_TEST

START_TEST (test_child_fails_to_start)
{
    s_setup ();
    s_child_args_t broken = { 0 }, good = { 0 };
    zactor_t *sup = supervisor_new (NULL);
    ck_assert_int_eq (supervisor_start_child (sup, "broken", s_fail_start_child, &broken), -1);
    ck_assert_int_eq (atomic_load (&broken.starts), 1);
    //  Not supervised: not retried, no escalation, the name is not taken.
    ck_assert_int_eq (supervisor_wait (sup, 100), -1);
    ck_assert_int_eq (atomic_load (&broken.starts), 1);
    ck_assert_int_eq (supervisor_stop_child (sup, "broken"), -1);
    ck_assert_int_eq (supervisor_start_child (sup, "broken", s_good_child, &good), 0);
    //  Taken now; invalid names are refused before anything starts.
    ck_assert_int_eq (supervisor_start_child (sup, "broken", s_good_child, &good), -1);
    ck_assert_int_eq (supervisor_start_child (sup, "", s_good_child, &good), -1);
    ck_assert_int_eq (supervisor_start_child (sup, NULL, s_good_child, &good), -1);
    ck_assert_int_eq (atomic_load (&good.starts), 1);
    zactor_destroy (&sup);
    ck_assert_int_eq (atomic_load (&good.terms), 1);
}
END_TEST

START_TEST (test_sigterm_stops_everything)
{
    s_setup ();
    atomic_int counter = 0;
    s_child_args_t a = { .stop_counter = &counter };
    s_child_args_t b = { .stop_counter = &counter };
    s_child_args_t c = { .stop_counter = &counter };
    zactor_t *sup = supervisor_new (NULL);
    ck_assert_int_eq (supervisor_start_child (sup, "a", s_good_child, &a), 0);
    ck_assert_int_eq (supervisor_start_child (sup, "b", s_good_child, &b), 0);
    ck_assert_int_eq (supervisor_start_child (sup, "c", s_good_child, &c), 0);
    //  A HUP on the way is skipped by supervisor_wait.
    ck_assert_int_eq (kill (getpid (), SIGHUP), 0);
    ck_assert_int_eq (kill (getpid (), SIGTERM), 0);
    ck_assert_int_eq (supervisor_wait (sup, BOUND_MS), 0);
    ck_assert_int_eq (atomic_load (&a.terms), 1);
    ck_assert_int_eq (atomic_load (&b.terms), 1);
    ck_assert_int_eq (atomic_load (&c.terms), 1);
    ck_assert_int_eq (atomic_load (&c.rank), 1);
    ck_assert_int_eq (atomic_load (&b.rank), 2);
    ck_assert_int_eq (atomic_load (&a.rank), 3);
    //  Stopped for good: no new children, a second signal changes nothing.
    ck_assert_int_eq (supervisor_start_child (sup, "d", s_good_child, &a), -1);
    ck_assert_int_eq (kill (getpid (), SIGINT), 0);
    ck_assert_int_eq (supervisor_wait (sup, 100), -1);
    zactor_destroy (&sup);
    ck_assert_int_eq (atomic_load (&a.terms), 1);
    ck_assert_int_eq (atomic_load (&a.starts), 1);
}
END_TEST

//  owner_drains: the first SIGTERM is the owner's to handle (children keep
//  running), a second one stops everything at once.
START_TEST (test_owner_drains)
{
    s_setup ();
    s_child_args_t a = { 0 };
    supervisor_opts_t opts = { 10, 1000, true };
    zactor_t *sup = supervisor_new (&opts);
    ck_assert_int_eq (supervisor_start_child (sup, "a", s_good_child, &a), 0);
    ck_assert_int_eq (kill (getpid (), SIGTERM), 0);
    ck_assert_int_eq (supervisor_wait_event (sup, BOUND_MS), SUPERVISOR_TERM);
    ck_assert_int_eq (atomic_load (&a.terms), 0);
    ck_assert_int_eq (kill (getpid (), SIGHUP), 0);
    ck_assert_int_eq (supervisor_wait_event (sup, BOUND_MS), SUPERVISOR_HUP);
    ck_assert_int_eq (kill (getpid (), SIGUSR1), 0);
    ck_assert_int_eq (supervisor_wait_event (sup, BOUND_MS), SUPERVISOR_USR1);
    ck_assert_int_eq (kill (getpid (), SIGINT), 0);
    ck_assert_int_eq (supervisor_wait_event (sup, BOUND_MS), 0);
    ck_assert_int_eq (atomic_load (&a.terms), 1);
    zactor_destroy (&sup);
}
END_TEST

static char *
s_next_event (zactor_t *sup)
{
    zsock_set_rcvtimeo (sup, BOUND_MS);
    return zstr_recv (sup);
}

START_TEST (test_signal_events)
{
    s_setup ();
    s_child_args_t a = { 0 };
    zactor_t *sup = supervisor_new (NULL);
    ck_assert_int_eq (supervisor_start_child (sup, "a", s_good_child, &a), 0);
    const struct { int signo; const char *event; } cases[] = {
        { SIGHUP, "HUP" }, { SIGUSR1, "USR1" }, { SIGUSR2, "USR2" }, { SIGHUP, "HUP" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ck_assert_int_eq (kill (getpid (), cases[i].signo), 0);
        char *event = s_next_event (sup);
        ck_assert_ptr_nonnull (event);
        ck_assert_str_eq (event, cases[i].event);
        zstr_free (&event);
    }
    //  None of them touched the child.
    ck_assert_int_eq (atomic_load (&a.terms), 0);
    ck_assert_int_eq (kill (getpid (), SIGINT), 0);
    ck_assert_int_eq (supervisor_wait (sup, BOUND_MS), 0);
    ck_assert_int_eq (atomic_load (&a.terms), 1);
    zactor_destroy (&sup);
}
END_TEST

START_TEST (test_signals_block_mask)
{
    s_setup ();
    sigset_t current;
    ck_assert_int_eq (pthread_sigmask (SIG_BLOCK, NULL, &current), 0);
    ck_assert (sigismember (&current, SIGINT));
    ck_assert (sigismember (&current, SIGTERM));
    ck_assert (sigismember (&current, SIGHUP));
    ck_assert (sigismember (&current, SIGUSR1));
    ck_assert (sigismember (&current, SIGUSR2));
    struct sigaction pipe_action;
    ck_assert_int_eq (sigaction (SIGPIPE, NULL, &pipe_action), 0);
    ck_assert (pipe_action.sa_handler == SIG_IGN);

    //  A pending signal is read from the signalfd once.
    int fd = signals_fd_new ();
    ck_assert_int_ge (fd, 0);
    ck_assert_int_eq (signals_fd_read (fd), 0);
    ck_assert_int_eq (kill (getpid (), SIGUSR2), 0);
    ck_assert_int_eq (signals_fd_read (fd), SIGUSR2);
    ck_assert_int_eq (signals_fd_read (fd), 0);
    close (fd);
    ck_assert_int_eq (signals_fd_read (fd), -1);
}
END_TEST

static Suite *
s_suite (void)
{
    Suite *suite = suite_create ("supervisor");
    TCase *tc = tcase_create ("supervisor");
    tcase_set_timeout (tc, 60);
    tcase_add_test (tc, test_invalid_opts);
    tcase_add_test (tc, test_wait_times_out);
    tcase_add_test (tc, test_crash_once_is_restarted);
    tcase_add_test (tc, test_return_without_term_is_a_crash);
    tcase_add_test (tc, test_crash_always_escalates);
    tcase_add_test (tc, test_default_intensity);
    tcase_add_test (tc, test_failed_restart_counts_as_crash);
    tcase_add_test (tc, test_restart_window_slides);
    tcase_add_test (tc, test_stop_child);
    tcase_add_test (tc, test_destroy_stops_children_in_reverse);
    tcase_add_test (tc, test_child_fails_to_start);
    suite_add_tcase (suite, tc);

    TCase *signals = tcase_create ("signals");
    tcase_set_timeout (signals, 60);
    tcase_add_test (signals, test_signals_block_mask);
    tcase_add_test (signals, test_sigterm_stops_everything);
    tcase_add_test (signals, test_signal_events);
    tcase_add_test (signals, test_owner_drains);
    suite_add_tcase (suite, signals);
    return suite;
}

int
main (void)
{
    return check_run (s_suite ());
}
