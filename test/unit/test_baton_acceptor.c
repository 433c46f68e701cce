/*  Unit tests: the baton handover (actors/baton.h) at the accepting end,
    against the fake session (test/support/fake_baton_session.h): the four
    steps, a wrong ID, stalls (broken, extended, stopped moving), refusals,
    the retire limit, the linger toward an original dialer, what it ignores, and being destroyed mid-handover or
    by its own switch.
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

//  --------------------------------------------------------------------------
//  Accepting end

START_TEST (test_acceptor_four_steps)
{
    fake_new (false);
    ck_assert (!fake.armed);
    //  Registered under ID1, the ID the dialer presents first; the extra
    //  port takes it from the registry and hands S2 over.
    ck_assert_uint_eq (baton_registry_size (), 1);
    ck_assert (fake_registered (1));
    //  Step 2: S2 adopted with what came after the ID, S1 tapped, HO_R2L
    //  on S1, and writes go to S2 behind it.
    int fd = fake_socket ("early");
    ck_assert_str_eq (fake_calls (), "adopt tap send(HO_R2L) switch_writes");
    ck_assert_int_eq (fake.adopted_fd, fd);
    ck_assert_uint_eq (fake.adopted_len, 5);
    ck_assert_mem_eq (fake.adopted, "early", 5);
    ck_assert (fake.tapped);
    ck_assert_str_eq (fake.traces, "handover");
    fake_assert_timer_in (3000);
    //  The next handover presents ID2; ID1 cannot be presented again.
    ck_assert_uint_eq (baton_registry_size (), 1);
    ck_assert (!fake_registered (1));
    ck_assert (fake_registered (2));
    //  HO_R2L is not the command awaited here.
    fake_command (INBAND_HO_R2L);
    ck_assert_str_eq (fake_calls (), "");
    fake_pass (2999);
    //  Step 4: reads switch to S2 (S2's held bytes first); S1 writes what
    //  it has and closes.
    fake_command (INBAND_HO_COMPLETE_L2R);
    ck_assert_str_eq (fake_calls (), "switch_reads");
    ck_assert_int_eq (fake.shaped, 1);
    fake_assert_timer_in (10000);
    fake_retired ();
    ck_assert (!fake.armed);
    ck_assert_int_eq (fake.broken, 0);
    ck_assert_int_ne (fcntl (fd, F_GETFD), -1); //  the session's socket now
    //  The second handover, with ID2 (taken above), registers ID3.
    fd = fake_socket ("");
    ck_assert_str_eq (fake_calls (), "adopt tap send(HO_R2L) switch_writes");
    ck_assert (fake_registered (3));
    fake_command (INBAND_HO_COMPLETE_L2R);
    ck_assert_str_eq (fake_calls (), "switch_reads");
    fake_retired ();
    ck_assert_int_eq (fake.shaped, 2);
    ck_assert_int_ne (fcntl (fd, F_GETFD), -1);
}
END_TEST

//  A wrong ID finds no tunnel in the registry (the extra port closes its
//  connection): only the ID the dialer presents next names this one.
START_TEST (test_acceptor_wrong_id)
{
    fake_new (false);
    uint8_t id[WIRE_ID_SIZE];
    int worker;
    uint64_t session;
    memcpy (id, fake_id0, sizeof id);              //  the hello's ID0 is no handover ID
    ck_assert_int_eq (baton_registry_take (id, &worker, &session), -1);
    fake_id (2, id);                               //  nor one further down the chain
    ck_assert_int_eq (baton_registry_take (id, &worker, &session), -1);
    fake_id (1, id);
    id[WIRE_ID_SIZE - 1] ^= 1;
    ck_assert_int_eq (baton_registry_take (id, &worker, &session), -1);
    ck_assert_uint_eq (baton_registry_size (), 1);
    //  Without its S2, HO_COMPLETE_L2R means nothing.
    fake_command (INBAND_HO_COMPLETE_L2R);
    ck_assert_str_eq (fake_calls (), "");
    ck_assert_int_eq (fake.shaped, 0);
    //  Destroyed, the tunnel is no longer found.
    baton_destroy (&fake.baton);
    ck_assert_uint_eq (baton_registry_size (), 0);
}
END_TEST

START_TEST (test_acceptor_stall_breaks)
{
    fake_new (false);
    ck_assert (fake_registered (1));
    fake_socket ("");
    fake_calls ();
    //  Nothing written on S1 meanwhile: 3 s, then the tunnel is broken.
    fake_pass (2999);
    ck_assert_int_eq (fake.broken, 0);
    fake_pass (1);
    ck_assert_int_eq (fake.broken, 1);
    ck_assert_str_eq (fake_calls (), "untap drop");
    ck_assert_str_eq (fake.traces, "handover handover-stalled");
    ck_assert (!fake.armed);
    fake_command (INBAND_HO_COMPLETE_L2R);
    ck_assert_str_eq (fake_calls (), "");
}
END_TEST

//  S1 is still writing the backlog ahead of HO_R2L: the wait goes on by 3 s
//  at each look that sees it moved, until the cap (10 s) is passed.
START_TEST (test_acceptor_stall_extended)
{
    fake_new (false);
    ck_assert (fake_registered (1));
    fake_socket ("");
    fake_calls ();
    for (int look = 1; look <= 3; look++) {
        fake.progress += 1000;
        fake_pass (3000);
        ck_assert_int_eq (fake.broken, 0);
        fake_assert_timer_in (3000);
    }
    //  Still moving at the look at 12 s, which is past the cap: broken.
    fake.progress += 1000;
    fake_pass (2999);
    ck_assert_int_eq (fake.broken, 0);
    fake_pass (1);
    ck_assert_int_eq (fake.broken, 1);
    ck_assert_str_eq (fake_calls (), "untap drop");
}
END_TEST

START_TEST (test_acceptor_stall_stops_moving)
{
    fake_new (false);
    ck_assert (fake_registered (1));
    fake_socket ("");
    fake.progress += 1000;
    fake_pass (3000);
    ck_assert_int_eq (fake.broken, 0);
    //  The backlog is written; HO_COMPLETE_L2R still does not come.
    fake_pass (2999);
    ck_assert_int_eq (fake.broken, 0);
    fake_pass (1);
    ck_assert_int_eq (fake.broken, 1);
}
END_TEST

//  The wait counts what S1 writes from this handover's switch on: what it
//  wrote before does not extend it.
START_TEST (test_acceptor_progress_from_the_switch)
{
    fake_new (false);
    ck_assert (fake_registered (1));
    fake_socket ("");
    fake_command (INBAND_HO_COMPLETE_L2R);
    fake_retired ();
    fake.progress += 5000;
    ck_assert (fake_registered (2));
    fake_socket ("");
    fake_pass (2999);
    ck_assert_int_eq (fake.broken, 0);
    fake_pass (1);
    ck_assert_int_eq (fake.broken, 1);
}
END_TEST

START_TEST (test_acceptor_extended_then_completes)
{
    fake_new (false);
    ck_assert (fake_registered (1));
    fake_socket ("");
    fake_calls ();
    fake.progress += 1000;
    fake_pass (5000);
    fake_command (INBAND_HO_COMPLETE_L2R);
    ck_assert_str_eq (fake_calls (), "switch_reads");
    fake_pass (9999);
    fake_retired ();
    fake_pass (60000);
    ck_assert_int_eq (fake.broken, 0);
    ck_assert_str_eq (fake_calls (), "");
}
END_TEST

START_TEST (test_acceptor_refuses)
{
    fake_new (false);
    //  A tunnel that is ending is not handed over; it stays registered under
    //  the same ID (the dialer presents it again).
    ck_assert (fake_registered (1));
    fake.side_open = false;
    int fd = fake_socket ("");
    ck_assert (fake_fd_closed (fd));
    ck_assert_str_eq (fake_calls (), "");
    ck_assert (fake_registered (1));
    //  The session cannot take S2: the same.
    fake.side_open = true;
    fake.adopt_fails = true;
    fd = fake_socket ("");
    ck_assert (fake_fd_closed (fd));
    ck_assert_str_eq (fake_calls (), "adopt(refused)");
    ck_assert (fake_registered (1));
    //  While a handover runs, another S2 (with the new ID) is closed.
    fake.adopt_fails = false;
    fake_socket ("");
    ck_assert_str_eq (fake_calls (), "adopt tap send(HO_R2L) switch_writes");
    ck_assert (fake_registered (2));
    fd = fake_socket ("");
    ck_assert (fake_fd_closed (fd));
    ck_assert_str_eq (fake_calls (), "");
    ck_assert (fake_registered (2));
    //  ... and the running one is untouched.
    fake_command (INBAND_HO_COMPLETE_L2R);
    ck_assert_str_eq (fake_calls (), "switch_reads");
    //  Retiring: the same.
    fd = fake_socket ("");
    ck_assert (fake_fd_closed (fd));
    ck_assert_str_eq (fake_calls (), "");
    ck_assert (fake_registered (2));
}
END_TEST

START_TEST (test_acceptor_retire_limit)
{
    fake_new (false);
    ck_assert (fake_registered (1));
    fake_socket ("");
    fake_command (INBAND_HO_COMPLETE_L2R);
    fake_calls ();
    fake_pass (9999);
    ck_assert_str_eq (fake_calls (), "");
    fake_pass (1);
    ck_assert_str_eq (fake_calls (), "drop");
    ck_assert (!fake.armed);
    ck_assert_int_eq (fake.broken, 0);
    //  Idle again: the next handover (ID2).
    ck_assert (fake_registered (2));
    fake_socket ("");
    ck_assert_str_eq (fake_calls (), "adopt tap send(HO_R2L) switch_writes");
}
END_TEST

//  Toward an original dialer (baton_linger): after HO_COMPLETE_L2R, S1 is
//  still read (tapping over) for the linger, then gets our FIN; its end
//  moves the reads (or the retire limit does); the next handover as usual.
START_TEST (test_acceptor_linger)
{
    fake_new (false);
    baton_linger (fake.baton, BATON_ORIGINAL_LINGER_MS);
    fake_socket ("");
    ck_assert_str_eq (fake_calls (), "adopt tap send(HO_R2L) switch_writes");
    fake_command (INBAND_HO_COMPLETE_L2R);
    ck_assert_str_eq (fake_calls (), "untap");
    fake_assert_timer_in (BATON_ORIGINAL_LINGER_MS);
    fake_pass (BATON_ORIGINAL_LINGER_MS - 1);
    ck_assert_str_eq (fake_calls (), "");
    fake_pass (1);
    ck_assert_str_eq (fake_calls (), "shut_old");
    fake_assert_timer_in (10000);
    //  S1's end, after our FIN: the reads move, S1 closes.
    fake_event (HANDOVER_LOST, 0, 0);
    ck_assert_str_eq (fake_calls (), "switch_reads");
    fake_retired ();
    ck_assert (!fake.armed);
    ck_assert_int_eq (fake.broken, 0);
    //  A dialer that never ends S1: the reads move at the retire limit.
    ck_assert (fake_registered (2));
    fake_socket ("");
    fake_calls ();
    fake_command (INBAND_HO_COMPLETE_L2R);
    fake_pass (BATON_ORIGINAL_LINGER_MS);
    ck_assert_str_eq (fake_calls (), "untap shut_old");
    fake_pass (10000);
    ck_assert_str_eq (fake_calls (), "switch_reads");
    fake_retired ();
    ck_assert_int_eq (fake.broken, 0);
}
END_TEST

START_TEST (test_acceptor_ignores)
{
    fake_new (false);
    //  The dialer's events mean nothing here; it never starts a handover.
    ck_assert_int_eq (baton_start (fake.baton), -1);
    fake_event (HANDOVER_TRIGGER, 0, 0);
    fake_connected (0);
    fake_event (HANDOVER_HELD, 0, 0);
    baton_user_arrived (fake.baton);
    fake_pass (3600000);
    ck_assert_str_eq (fake_calls (), "");
    ck_assert (!fake.armed);
    //  S2 ending before the switch is held: it surfaces when S2 takes over.
    ck_assert (fake_registered (1));
    fake_socket ("");
    fake_calls ();
    fake_event (HANDOVER_LOST, ECONNRESET, 0);
    ck_assert_str_eq (fake_calls (), "");
    fake_command (INBAND_HO_COMPLETE_L2R);
    ck_assert_str_eq (fake_calls (), "switch_reads");
}
END_TEST

START_TEST (test_acceptor_destroy_during_handover)
{
    fake_new (false);
    ck_assert (fake_registered (1));
    fake_socket ("");
    fake_calls ();
    baton_destroy (&fake.baton);
    //  S2 and the tap go with it; the tunnel is no longer registered.
    ck_assert_str_eq (fake_calls (), "untap drop");
    ck_assert (!fake.armed);
    ck_assert_uint_eq (baton_registry_size (), 0);
}
END_TEST

//  S2 brought the tunnel's end (or a corrupt frame) before it took over:
//  switching reads delivers it, and tunnel_mux drops the tunnel and its
//  baton from inside the switch. The baton does nothing more after that.
START_TEST (test_destroyed_by_its_switch)
{
    //  The accepting end's step 4.
    fake_new (false);
    ck_assert (fake_registered (1));
    fake_socket ("");
    fake.destroy_at_switch = true;
    fake_command (INBAND_HO_COMPLETE_L2R);
    ck_assert_ptr_null (fake.baton);
    ck_assert_str_eq (fake_calls (), "adopt tap send(HO_R2L) switch_writes switch_reads untap drop");
    ck_assert_int_eq (fake.shaped, 0);
    ck_assert (!fake.armed);
    ck_assert_uint_eq (baton_registry_size (), 0);
    //  The dialing end's step 3.
    fake.destroy_at_switch = false;
    fake_new (true);
    fake_dial (1);
    fake.destroy_at_switch = true;
    fake_command (INBAND_HO_R2L);
    ck_assert_ptr_null (fake.baton);
    ck_assert_str_eq (fake_calls (), "send(HO_COMPLETE_L2R) switch_reads(wait_eof) untap drop");
    ck_assert_int_eq (fake.shaped, 0);
    ck_assert (!fake.armed);
}
END_TEST

int
main (void)
{
    Suite *suite = suite_create ("baton_acceptor");
    TCase *acceptor = tcase_create ("acceptor");
    tcase_add_checked_fixture (acceptor, fake_setup, fake_teardown);
    tcase_add_test (acceptor, test_acceptor_four_steps);
    tcase_add_test (acceptor, test_acceptor_wrong_id);
    tcase_add_test (acceptor, test_acceptor_stall_breaks);
    tcase_add_test (acceptor, test_acceptor_stall_extended);
    tcase_add_test (acceptor, test_acceptor_stall_stops_moving);
    tcase_add_test (acceptor, test_acceptor_progress_from_the_switch);
    tcase_add_test (acceptor, test_acceptor_extended_then_completes);
    tcase_add_test (acceptor, test_acceptor_refuses);
    tcase_add_test (acceptor, test_acceptor_retire_limit);
    tcase_add_test (acceptor, test_acceptor_linger);
    tcase_add_test (acceptor, test_acceptor_ignores);
    tcase_add_test (acceptor, test_acceptor_destroy_during_handover);
    tcase_add_test (acceptor, test_destroyed_by_its_switch);
    suite_add_tcase (suite, acceptor);
    return check_run (suite);
}
