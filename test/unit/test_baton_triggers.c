/*  Unit tests: what starts (or does not start) the dialing end's baton
    handover (actors/baton.h), against the fake session
    (test/support/fake_baton_session.h): triggers while busy or not now,
    the tunnel ending, the periodic handover and its retire limit, the
    liveness probes, stray sockets, and a wormhole without extra ports.
*/
#include <check.h>
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "actors/baton.h"
#include "actors/dialer.h"
#include "actors/shaping.h"
#include "nodes/inband.h"
#include "nodes/wirecrypto.h"
#include "runtime/base/log.h"
#include "runtime/baton_registry.h"
#include "runtime/handover.h"
#include "runtime/timers.h"
#include "test/unit/test_keys.h"
#include "test/support/fake_baton_session.h"
#include "test/support/check_run.h"

START_TEST (test_dialer_trigger_while_busy)
{
    fake_new (true);
    ck_assert_int_eq (baton_start (fake.baton), 0);
    fake_calls ();
    baton_user_arrived (fake.baton);          //  (a liveness check is due after this one)
    //  Connecting, waiting, retiring: a trigger is ignored, and forgets nothing.
    fake_event (HANDOVER_TRIGGER, 0, 0);
    ck_assert_int_eq (baton_start (fake.baton), -1);
    fake_connected (0);
    fake_event (HANDOVER_TRIGGER, 0, 0);
    fake_command (INBAND_HO_R2L);
    fake_event (HANDOVER_TRIGGER, 0, 0);
    ck_assert_int_eq (baton_start (fake.baton), -1);
    ck_assert_str_eq (fake_calls (), "send(HO_COMPLETE_L2R) switch_reads(wait_eof)");
    ck_assert_int_eq (fake.connects, 1);
    fake_retired ();
    ck_assert (fake.armed);
    ck_assert_uint_le (fake.armed_at, fake.now + 20000);
    fake_pass (fake.armed_at - fake.now);
    ck_assert_int_eq (fake.connects, 2);      //  the liveness check
    fake_connected (0);
    fake_command (INBAND_HO_R2L);
    fake_retired ();
    fake_calls ();
    //  Back to idle: the trigger starts the next one.
    fake_event (HANDOVER_TRIGGER, 0, 0);
    ck_assert_int_eq (fake.connects, 3);
    ck_assert_str_eq (fake_calls (), "connect tap");
    fake_assert_first_is_id (3);
}
END_TEST

START_TEST (test_dialer_not_now)
{
    fake_new (true);
    //  The session still has a second socket: again in a second.
    fake.busy = true;
    fake_event (HANDOVER_TRIGGER, 0, 0);
    ck_assert_str_eq (fake_calls (), "");
    fake_assert_timer_in (1000);
    //  S1 has no peer (not connected): the same.
    fake.busy = false;
    fake.peer_ok = false;
    fake_pass (1000);
    ck_assert_str_eq (fake_calls (), "");
    fake_assert_timer_in (1000);
    fake.peer_ok = true;
    fake_pass (999);
    ck_assert_int_eq (fake.connects, 0);
    fake_pass (1);
    ck_assert_str_eq (fake_calls (), "connect tap");
}
END_TEST

START_TEST (test_dialer_tunnel_ending)
{
    fake_conf.handover_min_s = 1200;
    fake_conf.handover_max_s = 1800;
    fake_new (true);
    ck_assert (fake.armed);
    //  A side that has ended one way is not handed over, now or later.
    fake.side_open = false;
    ck_assert_int_eq (baton_start (fake.baton), -1);
    ck_assert_str_eq (fake_calls (), "");
    ck_assert (!fake.armed);
    fake.side_open = true;
    fake_pass (3600000);
    ck_assert_int_eq (fake.connects, 0);
}
END_TEST

START_TEST (test_dialer_periodic)
{
    fake_conf.handover_min_s = 1200;
    fake_conf.handover_max_s = 1800;
    fake_new (true);
    //  The first timed handover 20-30 min after the tunnel came up.
    ck_assert (fake.armed);
    uint64_t due = fake.armed_at;
    ck_assert_uint_ge (due, T0 + 1200000);
    ck_assert_uint_le (due, T0 + 1800000);
    fake_pass (due - 1 - fake.now);
    ck_assert_int_eq (fake.connects, 0);
    fake_pass (1);
    ck_assert_str_eq (fake_calls (), "connect tap");
    fake_assert_first_is_id (1);
    fake_assert_timer_in (3000);                   //  only the step's limit now
    fake_connected (0);
    fake_command (INBAND_HO_R2L);
    fake_retired ();
    //  The next one 20-30 min after this one ended.
    ck_assert (fake.armed);
    ck_assert_uint_ge (fake.armed_at, fake.now + 1200000);
    ck_assert_uint_le (fake.armed_at, fake.now + 1800000);
    fake_pass (1800000);
    ck_assert_int_eq (fake.connects, 2);
    fake_assert_first_is_id (2);
}
END_TEST

START_TEST (test_dialer_retire_limit)
{
    fake_new (true);
    fake_dial (1);
    fake_command (INBAND_HO_R2L);
    fake_calls ();
    //  The acceptor does not close S1 within 10 s: it is closed here.
    fake_pass (9999);
    ck_assert_str_eq (fake_calls (), "");
    fake_pass (1);
    ck_assert_str_eq (fake_calls (), "drop");
    ck_assert_int_eq (fake.broken, 0);
    fake_dial (2);
}
END_TEST

START_TEST (test_dialer_liveness)
{
    fake_new (true);
    //  A user arrived and nothing came back: a handover checks the tunnel
    //  10-20 s later.
    fake_pass (5000);
    baton_user_arrived (fake.baton);
    ck_assert (fake.armed);
    uint64_t due = fake.armed_at;
    ck_assert_uint_ge (due, fake.now + 10000);
    ck_assert_uint_le (due, fake.now + 20000);
    baton_user_arrived (fake.baton);          //  the check is armed once
    ck_assert_uint_eq (fake.armed_at, due);
    fake_pass (due - 1 - fake.now);
    ck_assert_int_eq (fake.connects, 0);
    fake_pass (1);
    ck_assert_str_eq (fake_calls (), "connect tap");
    fake_connected (0);
    fake_command (INBAND_HO_R2L);
    fake_retired ();
    ck_assert (!fake.armed);                  //  nothing more to check
    fake_pass (60000);
    ck_assert_int_eq (fake.connects, 1);
}
END_TEST

START_TEST (test_dialer_liveness_answered)
{
    fake_new (true);
    baton_user_arrived (fake.baton);
    fake_pass (1000);
    baton_heard (fake.baton);
    //  Answered: no check at the deadline, and nothing left to check.
    fake_pass (20000);
    ck_assert_int_eq (fake.connects, 0);
    ck_assert (!fake.armed);
    //  Answered, then another user who is not, just before the deadline:
    //  checked 10-20 s after that arrival.
    baton_user_arrived (fake.baton);
    ck_assert (fake.armed);
    uint64_t due = fake.armed_at;
    fake_pass (1000);
    baton_heard (fake.baton);
    fake_pass (due - 1 - fake.now);
    baton_user_arrived (fake.baton);
    uint64_t second = fake.now;
    ck_assert_uint_eq (fake.armed_at, due);
    fake_pass (1);
    ck_assert_int_eq (fake.connects, 0);
    ck_assert (fake.armed);
    ck_assert_uint_ge (fake.armed_at, second + 10000);
    ck_assert_uint_le (fake.armed_at, second + 20000);
    fake_pass (fake.armed_at - 1 - fake.now);
    ck_assert_int_eq (fake.connects, 0);
    fake_pass (1);
    ck_assert_int_eq (fake.connects, 1);
}
END_TEST

//  A user arrives during a handover: the liveness deadline may come while
//  the handover still runs. The check waits for its end (without the timer
//  firing again and again meanwhile), then a handover checks the tunnel.
START_TEST (test_dialer_liveness_during_handover)
{
    fake_conf.has_local_proxy = true;
    //  The deadline is random (10-20 s after the arrival); the handover
    //  below runs from 6 to 16 s after it: most trials have it inside.
    for (int trial = 0; trial < 20; trial++) {
        fake_new (true);
        ck_assert_int_eq (baton_start (fake.baton), 0);
        baton_user_arrived (fake.baton);
        uint64_t arrived = fake.now;
        fake_connected (0);
        fake_pass (2999);
        fake_held ("HTTP/1.1 200 OK\r\n\r\n");
        fake_pass (2999);
        fake_command (INBAND_HO_R2L);
        int connects = fake.connects;
        fake_pass (9999);
        ck_assert_int_eq (fake.connects, connects);
        fake_retired ();
        fake_pass (arrived + 20000 - fake.now);
        ck_assert_int_eq (fake.connects, connects + 1);
        baton_destroy (&fake.baton);
        fake.busy = false;
        fake_calls ();
    }
}
END_TEST

START_TEST (test_dialer_stray_socket)
{
    fake_new (true);
    int fd = fake_socket ("");
    ck_assert (fake_fd_closed (fd));
    ck_assert_str_eq (fake_calls (), "");
    //  Without a baton (no extra ports), too.
    baton_destroy (&fake.baton);
    fake_calls ();
    fd = fake_socket ("");
    ck_assert (fake_fd_closed (fd));
    ck_assert_str_eq (fake_calls (), "");
}
END_TEST

START_TEST (test_no_extra_ports)
{
    fake_conf.extra_port_count = 0;
    baton_owner_t owner = { fake_broken, &fake };
    ck_assert_ptr_null (baton_new (&fake_session, SIDE, &fake_wormhole, true, fake_id0, &owner));
    ck_assert_ptr_null (baton_new (&fake_session, SIDE, &fake_wormhole, false, fake_id0, &owner));
    ck_assert_uint_eq (baton_registry_size (), 0);
    ck_assert_int_eq (baton_start (NULL), -1);
}
END_TEST

int
main (void)
{
    Suite *suite = suite_create ("baton_triggers");
    TCase *dialer = tcase_create ("dialer");
    tcase_add_checked_fixture (dialer, fake_setup, fake_teardown);
    tcase_add_test (dialer, test_dialer_trigger_while_busy);
    tcase_add_test (dialer, test_dialer_not_now);
    tcase_add_test (dialer, test_dialer_tunnel_ending);
    tcase_add_test (dialer, test_dialer_periodic);
    tcase_add_test (dialer, test_dialer_retire_limit);
    tcase_add_test (dialer, test_dialer_liveness);
    tcase_add_test (dialer, test_dialer_liveness_answered);
    tcase_add_test (dialer, test_dialer_liveness_during_handover);
    tcase_add_test (dialer, test_dialer_stray_socket);
    tcase_add_test (dialer, test_no_extra_ports);
    suite_add_tcase (suite, dialer);
    return check_run (suite);
}
