/*  Unit tests: the aggregated tunnel (actors/tunnel_mux.h) lost, against
    the fake sessions (test/support/fake_mux_session.h): a corrupt frame, a
    lost tunnel resetting its streams, a dead or corrupt accepting end, a
    reverse tunnel replacing the old one, no tunnel refusing users; and
    draining and padding.
*/
#include <check.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "actors/baton.h"
#include "actors/dialer.h"
#include "actors/shaping.h"
#include "actors/tunnel_mux.h"
#include "nodes/mux.h"
#include "runtime/base/log.h"
#include "runtime/handover.h"
#include "runtime/stream.h"
#include "test/support/check_run.h"
#include "test/support/fake_mux_session.h"

//  --------------------------------------------------------------------------
//  The tunnel lost

START_TEST (test_corrupt_frame_drops_the_tunnel)
{
    fake_dialing_up ();
    session_t *a = fake_attach (0);
    session_t *b = fake_attach (1);
    fake_traces ();
    uint8_t bad[4] = { 9, 0, 0, 0 };
    fake_peer (bad, sizeof bad);
    ck_assert_int_eq (a->eof, ECONNRESET);
    ck_assert_int_eq (b->eof, ECONNRESET);
    ck_assert_int_eq (fake.target_closed, 1);
    ck_assert_int_eq (fake.timer, 500);
    ck_assert_int_eq (fake.batons_destroyed, 1);
    ck_assert_str_eq (fake_traces (), "tunnel>dialer:tunnel-down");
    //  A fresh decoder for the next tunnel.
    tunnel_mux_handler_class.timeout (fake_mux);
    tunnel_mux_handler_class.connected (fake_mux, 0, NULL);
    session_t *c = fake_attach (2);
    fake_peer_data (c->id, "ok");
    ck_assert_str_eq (c->first, "ok");
}
END_TEST

START_TEST (test_lost_resets_streams)
{
    fake_dialing_up ();
    session_t *a = fake_attach (0);
    session_t *b = fake_attach (1);
    fake_peer_hello ();
    fake_stream_send (a, STREAM_WINDOW);
    ck_assert_uint_ge (a->ops->queued (a->mux, a->id), SIZE_MAX / 2);
    fake_frames ();
    tunnel_mux_handler_class.target_eof (fake_mux, ECONNRESET);
    ck_assert_int_eq (a->eof, ECONNRESET);
    ck_assert_int_eq (b->eof, ECONNRESET);
    //  A late detach of a reset stream sends nothing.
    a->ops->detach (a->mux, a->id, true);
    ck_assert_str_eq (fake_frames (), "");
    //  What was learnt of the peer goes too: no window, no FIN for the next tunnel.
    tunnel_mux_handler_class.timeout (fake_mux);
    tunnel_mux_handler_class.connected (fake_mux, 0, NULL);
    session_t *c = fake_attach (2);
    ck_assert_uint_eq (c->id, 1);           //  ids start afresh
    ck_assert (!c->ops->half_close (c->mux, c->id));
    fake_stream_send (c, STREAM_WINDOW);
    ck_assert_uint_eq (c->ops->queued (c->mux, c->id), 0);
    //  A baton that breaks drops the tunnel the same way.
    ck_assert_int_eq (fake.batons, 2);
    fake.owner.broken (fake.owner.ctx);
    ck_assert_int_eq (c->eof, ECONNRESET);
    ck_assert_int_eq (fake.batons_destroyed, 2);
    ck_assert_int_eq (fake.target_closed, 2);
}
END_TEST

START_TEST (test_accepting_end_dead)
{
    fake_mux = fake_create (false);
    fake_peer_hello ();
    fake_peer_new (5);
    session_t *stream = &fake.spawned[0];
    fake_traces ();
    tunnel_mux_handler_class.client_eof (fake_mux);
    ck_assert (fake.tunnel.aborted);
    ck_assert_int_eq (stream->eof, ECONNRESET);
    ck_assert_int_eq (fake.target_closed, 0);
    ck_assert_int_eq (fake.timer, 0);         //  no redial here (nor a deadline: proven)
    int timers = fake.timers;
    ck_assert_str_eq (fake_traces (), "tunnel>acceptor:tunnel-down");
    //  DEAD: nothing more is read, the timer does nothing.
    fake_frames ();
    fake_peer_new (3);
    fake_peer_data (5, "late");
    ck_assert_uint_eq (fake.spawned_count, 1);
    ck_assert_uint_eq (stream->received, 0);
    tunnel_mux_handler_class.timeout (fake_mux);
    ck_assert_int_eq (fake.timers, timers);
    ck_assert_str_eq (fake_frames (), "");
    tunnel_mux_handler_class.destroy (&fake_mux);
    //  The public end of a reverse wormhole: its users are refused once it is DEAD.
    fake_conf.reverse = true;
    fake.tunnel.aborted = false;
    fake_mux = fake_create (false);
    session_t *a = fake_attach (0);
    tunnel_mux_handler_class.target_eof (fake_mux, 0);
    ck_assert (fake.tunnel.aborted);
    ck_assert_int_eq (a->eof, ECONNRESET);
    ck_assert_int_eq (tunnel_mux_attach (&fake_wormhole, &fake.users[1]), -1);
    ck_assert (!fake.users[1].attached);
}
END_TEST

START_TEST (test_accepting_end_corrupt)
{
    fake_mux = fake_create (false);
    fake_peer_new (5);
    uint8_t bad[1] = { 200 };
    fake_peer (bad, sizeof bad);
    ck_assert (fake.tunnel.aborted);
    ck_assert_int_eq (fake.spawned[0].eof, ECONNRESET);
}
END_TEST

START_TEST (test_reverse_new_tunnel_replaces_old)
{
    fake_conf.reverse = true;
    fake_conf.protocol = PROTOCOL_V2;
    fake_mux = fake_create (false);
    session_t *a = fake_attach (0);
    //  The intranet end came back (v2: proven fresh): the old tunnel is stale.
    void *old = fake_mux;
    fake_mux = fake_create (false);
    ck_assert (fake.tunnel.aborted);
    ck_assert_int_eq (a->eof, ECONNRESET);
    session_t *b = fake_attach (1);
    ck_assert_ptr_eq (b->mux, fake_mux);
    tunnel_mux_handler_class.destroy (&old);
    //  The old one leaves the registry alone.
    session_t *c = fake_attach (2);
    ck_assert_ptr_eq (c->mux, fake_mux);
}
END_TEST

//  The tunnel a user's stream went to.
static void *
s_attached (size_t user)
{
    session_t *session = &fake.users[user];
    ck_assert_int_eq (tunnel_mux_attach (&fake_wormhole, session), 0);
    return session->mux;
}

//  v1: a newcomer (perhaps a replay older than the hello memory) waits
//  while the live tunnel answers, and takes over when it does not.
START_TEST (test_reverse_v1_standby)
{
    fake_conf.reverse = true;
    fake.guard = 50000;             //  tunnel_remote's probe deadline
    void *live = fake_create (false);
    fake_mux = live;
    session_t *a = fake_attach (0);
    fake_frames ();
    void *standby = fake_create (false);
    //  The live one is asked (a NOP), not dropped; users still go to it.
    ck_assert (!fake.tunnel.aborted);
    ck_assert_int_eq (a->eof, -1);
    ck_assert_str_eq (fake_frames (), "pad(0)");
    ck_assert_int_eq (fake.timer, 2000);
    ck_assert_ptr_eq (s_attached (1), live);
    fake_frames ();
    //  It answered (its TCP acknowledged): asked again later.
    fake.heard_ms = 10;
    fake.now_ms = 2000;
    tunnel_mux_handler_class.timeout (standby);
    ck_assert (!fake.tunnel.aborted);
    ck_assert_str_eq (fake_frames (), "pad(0)");
    ck_assert_int_eq (fake.timer, 10000);
    //  No sign of life since: the standby takes over.
    fake.heard_ms = 15000;
    fake.now_ms = 12000;
    tunnel_mux_handler_class.timeout (standby);
    ck_assert (fake.tunnel.aborted);
    ck_assert_int_eq (a->eof, ECONNRESET);
    ck_assert_ptr_eq (s_attached (2), standby);
    tunnel_mux_handler_class.destroy (&live);
    //  A newcomer while the standby (now live) works; the live one ends: it takes over.
    fake.tunnel.aborted = false;
    fake.heard_ms = 0;
    void *next = fake_create (false);
    ck_assert_ptr_eq (s_attached (3), standby);
    tunnel_mux_handler_class.destroy (&standby);
    ck_assert_int_eq (fake.timer, 38000);     //  unproven: its deadline (50 s) stands
    ck_assert_ptr_eq (s_attached (4), next);
    //  An unproven standby ends at the probe deadline, silently (still guarded).
    void *late = fake_create (false);
    ck_assert_ptr_eq (s_attached (5), next);
    fake.now_ms = 50000;
    tunnel_mux_handler_class.timeout (late);
    ck_assert (fake.tunnel.aborted);
    ck_assert_uint_eq (fake.guard, 50000);
    ck_assert_ptr_eq (s_attached (6), next);
    tunnel_mux_handler_class.destroy (&late);
    fake_mux = next;
}
END_TEST

//  v1, accepting end: until the tunnel proves itself a bad frame is a
//  probe's (silence: the guard stays, nothing was sent); after, a reset.
START_TEST (test_accepting_v1_proof)
{
    fake.guard = 777;
    fake_mux = fake_create (false);
    uint8_t bad[1] = { 200 };
    fake_peer (bad, sizeof bad);
    ck_assert (fake.tunnel.aborted);
    ck_assert_uint_eq (fake.guard, 777);
    ck_assert_int_eq (fake.probes, 1);
    ck_assert_str_eq (fake_frames (), "");
    tunnel_mux_handler_class.destroy (&fake_mux);
    //  DATA or CLOSE of a stream never opened: the same.
    fake.tunnel.aborted = false;
    fake_mux = fake_create (false);
    fake_peer_data (9, "x");
    ck_assert (fake.tunnel.aborted);
    ck_assert_uint_eq (fake.guard, 777);
    tunnel_mux_handler_class.destroy (&fake_mux);
    fake.tunnel.aborted = false;
    fake_mux = fake_create (false);
    fake_peer_close (9);
    ck_assert (fake.tunnel.aborted);
    tunnel_mux_handler_class.destroy (&fake_mux);
    //  A C peer's hello proves it, and is answered.
    fake.tunnel.aborted = false;
    fake_mux = fake_create (false);
    fake_peer_hello ();
    ck_assert_uint_eq (fake.guard, 0);
    ck_assert_str_eq (fake_frames (), "hello(1)");
    fake_peer (bad, sizeof bad);
    ck_assert (fake.tunnel.aborted);
    ck_assert_int_eq (fake.probes, 3);
    tunnel_mux_handler_class.destroy (&fake_mux);
    //  An original peer: NEW_SOCKET, then its data; nothing of ours is sent.
    fake.guard = 777;
    fake.tunnel.aborted = false;
    fake_mux = fake_create (false);
    ck_assert_int_eq (fake.timer, 777);       //  closed then, unless it proves itself
    fake_peer_new (5);
    ck_assert_uint_eq (fake.guard, 777);
    fake_peer_data (5, "hi");
    ck_assert_uint_eq (fake.guard, 0);
    ck_assert_int_eq (fake.timer, 0);
    ck_assert_str_eq (fake_frames (), "");
    ck_assert (!fake.tunnel.aborted);
    tunnel_mux_handler_class.destroy (&fake_mux);
    //  A recorded hello and nothing more: closed as a probe at the deadline.
    fake.guard = 777;
    fake.tunnel.aborted = false;
    fake_mux = fake_create (false);
    fake.now_ms = 700;
    tunnel_mux_handler_class.timeout (fake_mux);
    ck_assert (!fake.tunnel.aborted);
    ck_assert_int_eq (fake.timer, 77);
    fake.now_ms = 777;
    tunnel_mux_handler_class.timeout (fake_mux);
    ck_assert (fake.tunnel.aborted);
    ck_assert_uint_eq (fake.guard, 777);
    ck_assert_str_eq (fake_frames (), "");
}
END_TEST

START_TEST (test_no_tunnel_refuses)
{
    ck_assert_int_eq (tunnel_mux_attach (&fake_wormhole, &fake.users[0]), -1);
    //  A tunnel that does not take users here (the accepting end, normal mode).
    fake_mux = fake_create (false);
    ck_assert_int_eq (tunnel_mux_attach (&fake_wormhole, &fake.users[0]), -1);
    tunnel_mux_handler_class.destroy (&fake_mux);
    //  Destroyed: no longer found.
    fake_mux = fake_create (true);
    tunnel_mux_handler_class.destroy (&fake_mux);
    ck_assert_int_eq (tunnel_mux_attach (&fake_wormhole, &fake.users[0]), -1);
}
END_TEST

//  --------------------------------------------------------------------------
//  Draining and padding

START_TEST (test_drained_and_padding)
{
    fake_conf.mimic_padding = true;
    fake_mux = fake_create (true);
    ck_assert_ptr_nonnull (fake.pad);
    session_t *a = fake_attach (0);
    fake_frames ();
    //  Not while dialing.
    fake.pad (fake.pad_ctx, 100);
    ck_assert_str_eq (fake_frames (), "");
    tunnel_mux_handler_class.connected (fake_mux, 0, NULL);
    fake.pad (fake.pad_ctx, 300);
    ck_assert_str_eq (fake_frames (), "pad(255) pad(37)");
    fake.pad (fake.pad_ctx, 3);                 //  too little for a frame
    ck_assert_str_eq (fake_frames (), "");
    int settles = a->settles;
    tunnel_mux_handler_class.drained (fake_mux);
    ck_assert_int_eq (a->settles, settles + 1);
}
END_TEST

int
main (void)
{
    Suite *suite = suite_create ("tunnel_mux_ends");
    TCase *lost = tcase_create ("lost");
    tcase_add_checked_fixture (lost, fake_setup, fake_teardown);
    tcase_add_test (lost, test_corrupt_frame_drops_the_tunnel);
    tcase_add_test (lost, test_lost_resets_streams);
    tcase_add_test (lost, test_accepting_end_dead);
    tcase_add_test (lost, test_accepting_end_corrupt);
    tcase_add_test (lost, test_reverse_new_tunnel_replaces_old);
    tcase_add_test (lost, test_reverse_v1_standby);
    tcase_add_test (lost, test_accepting_v1_proof);
    tcase_add_test (lost, test_no_tunnel_refuses);
    tcase_add_test (lost, test_drained_and_padding);
    suite_add_tcase (suite, lost);
    return check_run (suite);
}
