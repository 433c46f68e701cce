/*  Unit tests: the baton handover (actors/baton.h) at the dialing end,
    against the fake session (test/support/fake_baton_session.h): the four
    steps, through a local proxy, and what breaks them (stalls, a failed
    connect, the new socket lost, a lost socket after the switch).
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
//  Dialing end

START_TEST (test_dialer_four_steps)
{
    fake_new (true);
    ck_assert (!fake.armed);                  //  no handover_interval: no timed handover
    //  Step 1: S2 to an extra port of S1's peer, ID1 first, S1 tapped.
    ck_assert_int_eq (baton_start (fake.baton), 0);
    ck_assert_str_eq (fake_calls (), "connect tap");
    ck_assert (fake.tapped);
    ck_assert (fake.connect_port == 9001 || fake.connect_port == 9002);
    ck_assert_uint_eq (fake.connect_host, 0x7f000001);
    fake_assert_first_is_id (1);
    ck_assert_str_eq (fake.traces, "handover");
    fake_assert_timer_in (3000);                   //  the connect's limit
    fake_pass (1000);
    fake_connected (0);
    ck_assert_str_eq (fake_calls (), "");
    fake_assert_timer_in (3000);                   //  3 s for HO_R2L from now
    //  The acceptor's step 2 is not ours; HO_COMPLETE_L2R is not the command awaited.
    fake_command (INBAND_HO_COMPLETE_L2R);
    ck_assert_str_eq (fake_calls (), "");
    fake_pass (2000);
    //  Step 3: HO_COMPLETE_L2R on S1, then reads (and writes) switch to S2;
    //  S1 closes once the acceptor has closed it.
    fake_command (INBAND_HO_R2L);
    ck_assert_str_eq (fake_calls (), "send(HO_COMPLETE_L2R) switch_reads(wait_eof)");
    ck_assert (!fake.tapped);
    ck_assert_int_eq (fake.shaped, 1);        //  a new mimic model
    ck_assert_str_eq (fake.traces, "handover handover-done");
    fake_assert_timer_in (10000);
    fake_pass (500);
    fake_retired ();
    ck_assert_str_eq (fake_calls (), "");
    ck_assert (!fake.armed);
    ck_assert_int_eq (fake.broken, 0);
    //  The next handovers present ID2, then ID3.
    fake_dial (2);
    fake_command (INBAND_HO_R2L);
    ck_assert_str_eq (fake_calls (), "send(HO_COMPLETE_L2R) switch_reads(wait_eof)");
    fake_retired ();
    fake_dial (3);
    ck_assert_int_eq (fake.shaped, 2);
    ck_assert_int_eq (fake.broken, 0);
}
END_TEST

START_TEST (test_dialer_through_proxy)
{
    fake_conf.has_local_proxy = true;
    fake_new (true);
    ck_assert_int_eq (baton_start (fake.baton), 0);
    ck_assert_str_eq (fake_calls (), "connect tap");
    //  S2 goes to local_proxy (S1's peer) and asks it for an extra port of
    //  the remote end; the ID waits for its 200.
    ck_assert_uint_eq (fake.connect_port, 4433);
    ck_assert_uint_eq (fake.connect_host, 0x7f000001);
    char request[128];
    int len = snprintf (request, sizeof request, "CONNECT tunnel.example:9001 HTTP/1.1\r\n\r\n");
    ck_assert_uint_eq (fake.first_len, (size_t) len);
    if (memcmp (fake.first, request, fake.first_len) != 0)
        request[26] = '2';                      //  ...:9002
    ck_assert_mem_eq (fake.first, request, fake.first_len);
    fake_pass (1000);
    fake_connected (0);
    ck_assert_str_eq (fake_calls (), "");
    fake_assert_timer_in (3000);                   //  for the proxy's answer
    fake_held ("HTTP/1.1 200 Connection established\r\n");
    ck_assert_str_eq (fake_calls (), "");
    fake_command (INBAND_HO_R2L);                  //  no ID went out: not our HO_R2L
    ck_assert_str_eq (fake_calls (), "");
    fake_pass (2000);
    fake_held ("\r\n");
    ck_assert_str_eq (fake_calls (), "s2_send");
    uint8_t id1[WIRE_ID_SIZE];
    fake_id (1, id1);
    ck_assert_uint_eq (fake.s2_sent_len, WIRE_ID_SIZE);
    ck_assert_mem_eq (fake.s2_sent, id1, WIRE_ID_SIZE);
    fake_assert_timer_in (3000);                   //  3 s for HO_R2L from the ID
    fake_pass (2999);
    fake_command (INBAND_HO_R2L);
    ck_assert_str_eq (fake_calls (), "send(HO_COMPLETE_L2R) switch_reads(wait_eof)");
    ck_assert_int_eq (fake.broken, 0);
}
END_TEST

START_TEST (test_dialer_proxy_refuses)
{
    fake_conf.has_local_proxy = true;
    fake_new (true);
    ck_assert_int_eq (baton_start (fake.baton), 0);
    fake_connected (0);
    fake_calls ();
    fake_held ("HTTP/1.1 403 Forbidden\r\n\r\n");
    //  No ID; S2 goes, S1 is no longer tapped; the tunnel goes on.
    ck_assert_str_eq (fake_calls (), "drop untap");
    ck_assert_uint_eq (fake.s2_sent_len, 0);
    ck_assert_str_eq (fake.traces, "handover handover-failed");
    fake_command (INBAND_HO_R2L);
    fake_pass (60000);
    ck_assert_str_eq (fake_calls (), "");
    ck_assert_int_eq (fake.broken, 0);
    //  The next handover presents the same ID.
    ck_assert_int_eq (baton_start (fake.baton), 0);
    fake_connected (0);
    fake_held ("HTTP/1.1 200 OK\r\n\r\n");
    uint8_t id1[WIRE_ID_SIZE];
    fake_id (1, id1);
    ck_assert_mem_eq (fake.s2_sent, id1, WIRE_ID_SIZE);
}
END_TEST

START_TEST (test_dialer_proxy_silent_or_gone)
{
    fake_conf.has_local_proxy = true;
    fake_new (true);
    //  No answer within 3 s of the connect.
    ck_assert_int_eq (baton_start (fake.baton), 0);
    fake_pass (1000);
    fake_connected (0);
    fake_held ("HTTP/1.1 200 Connection est");
    fake_calls ();
    fake_pass (2999);
    ck_assert_str_eq (fake_calls (), "");
    fake_pass (1);
    ck_assert_str_eq (fake_calls (), "drop untap");
    //  The proxy closes S2 before its answer.
    ck_assert_int_eq (baton_start (fake.baton), 0);
    fake_connected (0);
    fake_calls ();
    fake_lost ();
    ck_assert_str_eq (fake_calls (), "drop untap");
    fake_pass (60000);
    ck_assert_str_eq (fake_calls (), "");
    ck_assert_int_eq (fake.broken, 0);
}
END_TEST

//  S2 fails as the ID goes out after the proxy's 200: the session reports
//  LOST from inside session_handover_send. The handover is over then, not
//  waiting for HO_R2L.
START_TEST (test_dialer_proxy_id_send_fails)
{
    fake_conf.has_local_proxy = true;
    fake_new (true);
    ck_assert_int_eq (baton_start (fake.baton), 0);
    fake_connected (0);
    fake_calls ();
    fake.send_fails = true;
    fake_held ("HTTP/1.1 200 OK\r\n\r\n");
    ck_assert_str_eq (fake_calls (), "s2_send(failed) drop untap");
    fake_pass (10000);
    fake_command (INBAND_HO_R2L);
    ck_assert_str_eq (fake_calls (), "");
    ck_assert_int_eq (fake.broken, 0);
    fake.send_fails = false;
    ck_assert_int_eq (baton_start (fake.baton), 0);
}
END_TEST

START_TEST (test_dialer_stall_breaks)
{
    fake_new (true);
    fake_dial (1);
    //  The protocol's 3 s, whatever S1 writes meanwhile.
    fake.progress += 1000;
    fake_pass (2999);
    ck_assert_str_eq (fake_calls (), "");
    ck_assert_int_eq (fake.broken, 0);
    fake_pass (1);
    ck_assert_int_eq (fake.broken, 1);
    ck_assert_str_eq (fake_calls (), "untap drop");
    ck_assert_str_eq (fake.traces, "handover handover-stalled");
    ck_assert (!fake.armed);
    //  A late HO_R2L changes nothing.
    fake_command (INBAND_HO_R2L);
    fake_pass (60000);
    ck_assert_str_eq (fake_calls (), "");
    ck_assert_int_eq (fake.broken, 1);
}
END_TEST

//  tunnel_mux destroys the baton when it hears the tunnel is broken.
START_TEST (test_dialer_stall_owner_destroys)
{
    fake_new (true);
    fake.destroy_when_broken = true;
    fake_dial (1);
    fake_pass (3000);
    ck_assert_int_eq (fake.broken, 1);
    ck_assert_ptr_null (fake.baton);
    ck_assert (!fake.armed);
}
END_TEST

START_TEST (test_dialer_connect_fails)
{
    fake_conf.handover_min_s = 1200;
    fake_conf.handover_max_s = 1800;
    fake_new (true);
    //  The connect fails: S1 goes on untapped.
    ck_assert_int_eq (baton_start (fake.baton), 0);
    fake_calls ();
    fake.busy = false;                        //  the session has closed S2
    fake_connected (ECONNREFUSED);
    ck_assert_str_eq (fake_calls (), "drop untap");
    ck_assert_str_eq (fake.traces, "handover handover-failed");
    ck_assert (fake.armed && fake.armed_at >= fake.now + 1200000
               && fake.armed_at <= fake.now + 1800000);     //  the next timed one
    fake_command (INBAND_HO_R2L);
    ck_assert_str_eq (fake_calls (), "");
    //  It cannot even start.
    fake.connect_errno = ENETUNREACH;
    ck_assert_int_eq (baton_start (fake.baton), -1);
    ck_assert_str_eq (fake_calls (), "drop untap");
    ck_assert (!fake.tapped);
    ck_assert (fake.armed && fake.armed_at >= fake.now + 1200000);
    //  No answer to the connect within 3 s.
    fake.connect_errno = 0;
    ck_assert_int_eq (baton_start (fake.baton), 0);
    fake_calls ();
    fake_pass (2999);
    ck_assert_str_eq (fake_calls (), "");
    fake_pass (1);
    ck_assert_str_eq (fake_calls (), "drop untap");
    ck_assert_int_eq (fake.broken, 0);
    //  Each time the same ID: none was used.
    fake_dial (1);
}
END_TEST

START_TEST (test_dialer_new_socket_lost)
{
    fake_new (true);
    fake_dial (1);
    fake_pass (1000);
    //  S2 closed (the ID refused?): the tunnel stays on S1, still tapped
    //  until the 3 s are over, in case the acceptor switched anyway.
    fake_lost ();
    ck_assert_str_eq (fake_calls (), "");
    ck_assert (fake.tapped);
    ck_assert_str_eq (fake.traces, "handover handover-failed");
    fake_assert_timer_in (2000);
    fake_pass (1999);
    ck_assert_str_eq (fake_calls (), "");
    fake_pass (1);
    ck_assert_str_eq (fake_calls (), "drop untap");
    ck_assert_int_eq (fake.broken, 0);
    fake_command (INBAND_HO_R2L);
    ck_assert_str_eq (fake_calls (), "");
    //  The same ID next time. Lost during the connect: the same.
    ck_assert_int_eq (baton_start (fake.baton), 0);
    fake_assert_first_is_id (1);
    fake_calls ();
    fake_lost ();
    ck_assert (fake.tapped);
    fake_pass (2999);
    ck_assert_str_eq (fake_calls (), "");
    fake_pass (1);
    ck_assert_str_eq (fake_calls (), "drop untap");
    ck_assert_int_eq (fake.broken, 0);
}
END_TEST

START_TEST (test_dialer_lost_then_switched)
{
    fake_new (true);
    fake_dial (1);
    fake_lost ();
    //  The acceptor did switch to S2, which is gone: the tunnel cannot go on.
    fake_command (INBAND_HO_R2L);
    ck_assert_int_eq (fake.broken, 1);
    ck_assert_str_eq (fake_calls (), "untap drop");
    ck_assert (!fake.armed);
}
END_TEST

int
main (void)
{
    Suite *suite = suite_create ("baton_dialer");
    TCase *dialer = tcase_create ("dialer");
    tcase_add_checked_fixture (dialer, fake_setup, fake_teardown);
    tcase_add_test (dialer, test_dialer_four_steps);
    tcase_add_test (dialer, test_dialer_through_proxy);
    tcase_add_test (dialer, test_dialer_proxy_refuses);
    tcase_add_test (dialer, test_dialer_proxy_silent_or_gone);
    tcase_add_test (dialer, test_dialer_proxy_id_send_fails);
    tcase_add_test (dialer, test_dialer_stall_breaks);
    tcase_add_test (dialer, test_dialer_stall_owner_destroys);
    tcase_add_test (dialer, test_dialer_connect_fails);
    tcase_add_test (dialer, test_dialer_new_socket_lost);
    tcase_add_test (dialer, test_dialer_lost_then_switched);
    suite_add_tcase (suite, dialer);
    return check_run (suite);
}
