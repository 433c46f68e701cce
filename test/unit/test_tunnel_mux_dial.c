/*  Unit tests: the aggregated tunnel (actors/tunnel_mux.h) at the dialing
    end, against the fake sessions (test/support/fake_mux_session.h): dial,
    backoff and redial (also on a user's arrival, and long without crypto),
    a local proxy silent or refusing, and the frames held before the tunnel
    is up (behind the proxy or the hello, dropped with the tunnel).
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
//  Dialing end: dial, backoff, redial

START_TEST (test_dial_and_up)
{
    fake_mux = fake_create (true);
    ck_assert_int_eq (fake.dials, 1);
    //  The extension's hello goes right behind the tunnel's hello.
    ck_assert_str_eq (fake_frames (), "hello(1)");
    ck_assert_int_eq (fake.batons, 0);
    tunnel_mux_handler_class.connected (fake_mux, 0, NULL);
    ck_assert_int_eq (fake.batons, 1);
    ck_assert_ptr_eq (fake.owner.ctx, fake_mux);
    ck_assert_str_eq (fake_traces (), "dialer>tunnel:tunnel-up");
    ck_assert_str_eq (fake_frames (), "");
    //  Handover events go to the baton; bytes from the peer tell it we hear.
    handover_event_t event = { .kind = HANDOVER_TIMER, .fd = -1 };
    tunnel_mux_handler_class.handover (fake_mux, &event);
    ck_assert_int_eq (fake.baton_events, 1);
    fake_peer_hello ();
    ck_assert_int_eq (fake.heard, 1);
}
END_TEST

START_TEST (test_backoff_doubles_and_redials)
{
    fake_mux = fake_create (true);
    int expected[] = { 500, 1000, 2000, 4000, 8000, 16000, 30000, 30000 };
    for (size_t i = 0; i < sizeof expected / sizeof expected[0]; i++) {
        fake_frames ();
        tunnel_mux_handler_class.connected (fake_mux, ECONNREFUSED, NULL);
        ck_assert_int_eq (fake.target_closed, (int) i + 1);
        ck_assert_int_eq (fake.timer, expected[i]);
        ck_assert_str_eq (fake_traces (), "tunnel>dialer:tunnel-down");
        ck_assert_int_eq (fake.dials, (int) i + 1);
        //  The timer: dial again.
        tunnel_mux_handler_class.timeout (fake_mux);
        ck_assert_int_eq (fake.dials, (int) i + 2);
        ck_assert_str_eq (fake_frames (), "hello(1)");
    }
    //  Once the peer answers, the backoff starts afresh.
    tunnel_mux_handler_class.connected (fake_mux, 0, NULL);
    fake_peer_hello ();
    tunnel_mux_handler_class.target_eof (fake_mux, ECONNRESET);
    ck_assert_int_eq (fake.timer, 500);
    ck_assert_int_eq (fake.batons_destroyed, 1);
    //  A timeout while the tunnel is up (no proxy waits) does nothing.
    tunnel_mux_handler_class.timeout (fake_mux);
    tunnel_mux_handler_class.connected (fake_mux, 0, NULL);
    int timers = fake.timers, dials = fake.dials;
    tunnel_mux_handler_class.timeout (fake_mux);
    ck_assert_int_eq (fake.timers, timers);
    ck_assert_int_eq (fake.dials, dials);
}
END_TEST

START_TEST (test_backoff_user_arrival_redials)
{
    fake_mux = fake_create (true);
    tunnel_mux_handler_class.connected (fake_mux, ETIMEDOUT, NULL);
    ck_assert_int_eq (fake.timer, 500);
    fake_frames ();
    //  A user who finds no tunnel starts the dial, and is a stream of it at once.
    session_t *user = fake_attach (0);
    ck_assert_int_eq (fake.timer, 0);
    ck_assert_int_eq (fake.dials, 2);
    ck_assert_str_eq (fake_frames (), "hello(1) new(1)");
    ck_assert_int_eq (fake.suspends, 1);
    //  The baton does not exist yet: it hears of users once the tunnel is up.
    ck_assert_int_eq (fake.arrivals, 0);
    tunnel_mux_handler_class.connected (fake_mux, 0, NULL);
    fake_attach (1);
    ck_assert_int_eq (fake.arrivals, 1);
    ck_assert_int_eq (fake.dials, 2);
    ck_assert_str_eq (fake_frames (), "new(2)");
    (void) user;
}
END_TEST

START_TEST (test_no_crypto_backs_off_long)
{
    fake.dial_rc = -1;
    fake_mux = fake_create (true);
    ck_assert_int_eq (fake.timer, 30000);
    ck_assert_str_eq (fake_frames (), "");
    //  A user arriving in BACKOFF dials (fails again), and is attached anyway.
    fake_attach (0);
    ck_assert_int_eq (fake.dials, 2);
    ck_assert_int_eq (fake.timer, 30000);
    //  The timer tries again.
    fake.dial_rc = 0;
    tunnel_mux_handler_class.timeout (fake_mux);
    ck_assert_int_eq (fake.dials, 3);
    tunnel_mux_handler_class.connected (fake_mux, 0, NULL);
    ck_assert_int_eq (fake.batons, 1);
}
END_TEST

START_TEST (test_proxy_silent_or_refusing)
{
    fake_conf.has_local_proxy = true;
    fake_mux = fake_create (true);
    tunnel_mux_handler_class.connected (fake_mux, 0, NULL);      //  now the proxy's answer
    //  The dialer's wait for the proxy ends: the tunnel is lost.
    tunnel_mux_handler_class.timeout (fake_mux);
    ck_assert_int_eq (fake.target_closed, 1);
    ck_assert_int_eq (fake.timer, 500);
    //  The backoff timer, though the dialer still waited for the proxy: a dial.
    tunnel_mux_handler_class.timeout (fake_mux);
    ck_assert_int_eq (fake.dials, 2);
    tunnel_mux_handler_class.connected (fake_mux, 0, NULL);
    tunnel_mux_handler_class.target_data (fake_mux, (const uint8_t *) "HTTP/1.1 403 No\r\n\r\n", 19);
    ck_assert_int_eq (fake.target_closed, 2);
    ck_assert_int_eq (fake.timer, 1000);
    ck_assert_int_eq (fake.batons, 0);
}
END_TEST

//  --------------------------------------------------------------------------
//  Frames before the tunnel is up

START_TEST (test_frames_held_behind_proxy)
{
    fake_conf.has_local_proxy = true;
    fake_mux = fake_create (true);
    ck_assert_str_eq (fake_frames (), "");         //  not even the extension's hello
    session_t *user = fake_attach (0);
    fake_stream_send (user, 300);
    ck_assert_str_eq (fake_frames (), "");
    //  No tunnel yet: the stream's reader waits.
    ck_assert_uint_ge (user->ops->queued (user->mux, user->id), SIZE_MAX / 2);
    tunnel_mux_handler_class.connected (fake_mux, 0, NULL);
    fake_attach (1);
    tunnel_mux_handler_class.target_data (fake_mux, (const uint8_t *) "HTTP/1.1 200 OK\r\n", 17);
    ck_assert_str_eq (fake_frames (), "");
    int settles = user->settles;
    tunnel_mux_handler_class.target_data (fake_mux, (const uint8_t *) "HTTP/1.1 200 OK\r\n\r\n", 19);
    //  The 200: the hello, then what was held, in order; the streams may read.
    ck_assert_str_eq (fake_frames (), "hello(1) new(1) data(1,300) new(2)");
    ck_assert_int_gt (user->settles, settles);
    ck_assert_int_eq (fake.batons, 1);
    fake.queued = 123;
    ck_assert_uint_eq (user->ops->queued (user->mux, user->id), 123);
    fake_stream_send (user, 10);
    ck_assert_str_eq (fake_frames (), "data(1,10)");
}
END_TEST

START_TEST (test_frames_behind_hello_without_proxy)
{
    fake_mux = fake_create (true);
    session_t *user = fake_attach (0);
    fake_stream_send (user, 70000);
    //  Straight to the tunnel session, queued behind the hello; a payload
    //  over 65535 bytes is two frames.
    ck_assert_str_eq (fake_frames (), "hello(1) new(1) data(1,70000)");
    fake.queued = 7;
    ck_assert_uint_eq (user->ops->queued (user->mux, user->id), 7);
    //  A proxy that fails loses the held frames: nothing of them after a redial.
    tunnel_mux_handler_class.target_eof (fake_mux, 0);
    ck_assert_int_eq (user->eof, ECONNRESET);
    fake_stream_send (user, 10);
    ck_assert_str_eq (fake_frames (), "");
}
END_TEST

START_TEST (test_held_frames_dropped_with_the_tunnel)
{
    fake_conf.has_local_proxy = true;
    fake_mux = fake_create (true);
    fake_attach (0);
    tunnel_mux_handler_class.connected (fake_mux, 0, NULL);
    tunnel_mux_handler_class.target_eof (fake_mux, 0);
    tunnel_mux_handler_class.timeout (fake_mux);
    tunnel_mux_handler_class.connected (fake_mux, 0, NULL);
    tunnel_mux_handler_class.target_data (fake_mux, (const uint8_t *) "HTTP/1.1 200 OK\r\n\r\n", 19);
    ck_assert_str_eq (fake_frames (), "hello(1)");
}
END_TEST

int
main (void)
{
    Suite *suite = suite_create ("tunnel_mux_dial");
    TCase *dialing = tcase_create ("dialing");
    tcase_add_checked_fixture (dialing, fake_setup, fake_teardown);
    tcase_add_test (dialing, test_dial_and_up);
    tcase_add_test (dialing, test_backoff_doubles_and_redials);
    tcase_add_test (dialing, test_backoff_user_arrival_redials);
    tcase_add_test (dialing, test_no_crypto_backs_off_long);
    tcase_add_test (dialing, test_proxy_silent_or_refusing);
    suite_add_tcase (suite, dialing);
    TCase *held = tcase_create ("held");
    tcase_add_checked_fixture (held, fake_setup, fake_teardown);
    tcase_add_test (held, test_frames_held_behind_proxy);
    tcase_add_test (held, test_frames_behind_hello_without_proxy);
    tcase_add_test (held, test_held_frames_dropped_with_the_tunnel);
    suite_add_tcase (suite, held);
    return check_run (suite);
}
