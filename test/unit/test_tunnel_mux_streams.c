/*  Unit tests: the aggregated tunnel's streams (actors/tunnel_mux.h),
    against the fake sessions (test/support/fake_mux_session.h): NEW, CLOSE
    and DATA frames to the streams, each end's ids, the credit extension
    (the window stops a stream, credit resumes it and is given back; a peer
    without the extension holds the tunnel) and half-close.
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
//  Frames in: NEW, CLOSE, DATA to the streams

START_TEST (test_frames_to_streams)
{
    fake_mux = fake_create (false);
    ck_assert_str_eq (fake_frames (), "");         //  v1: nothing before the peer proves itself
    ck_assert_str_eq (fake_traces (), "acceptor>tunnel:tunnel-up");
    fake_peer_new (5);
    ck_assert_uint_eq (fake.spawned_count, 1);
    session_t *stream = &fake.spawned[0];
    ck_assert_uint_eq (stream->id, 5);
    ck_assert_ptr_eq (stream->mux, fake_mux);
    ck_assert_int_eq (fake.suspends, 1);
    fake_peer_data (5, "hello");
    ck_assert_str_eq (stream->first, "hello");
    fake_peer_data (6, "nobody");                  //  no such stream: dropped
    ck_assert_uint_eq (stream->received, 5);
    fake_peer_close (5);
    ck_assert_int_eq (stream->eof, 0);
    fake_peer_data (5, "late");
    ck_assert_uint_eq (stream->received, 5);
    ck_assert_str_eq (fake_traces (), "tunnel>stream 5:new tunnel>stream 5:close");
    //  A NEW for an id in use: the old stream is reset, a new one starts.
    fake_peer_new (7);
    fake_peer_new (7);
    ck_assert_int_eq (fake.spawned[1].eof, ECONNRESET);
    ck_assert_int_eq (fake.spawned[2].eof, -1);
    //  A stream that cannot start is closed at once.
    fake.spawn_fails = true;
    fake_frames ();
    fake_peer_new (9);
    ck_assert_str_eq (fake_frames (), "close(9)");
    //  Our side of a stream ends: CLOSE to the peer (not if the peer closed it).
    stream = &fake.spawned[2];
    stream->ops->send (stream->mux, stream->id, (const uint8_t *) "abc", 3);
    stream->ops->detach (stream->mux, stream->id, true);
    ck_assert_str_eq (fake_frames (), "data(7,3) close(7)");
    stream->ops->detach (stream->mux, stream->id, true);
    ck_assert_str_eq (fake_frames (), "");
    fake_peer_data (7, "gone");
    ck_assert_uint_eq (stream->received, 0);
}
END_TEST

//  A block read from a stream's socket goes on whole: the frame's header is
//  written into the room in front of its bytes. Without that room (or behind
//  a proxy that has not answered) the bytes are framed as a copy.
static buf_t *
s_block (size_t headroom, const char *bytes, size_t len)
{
    buf_t *buf = calloc (1, sizeof *buf + headroom + len);
    ck_assert_ptr_nonnull (buf);
    buf->off = (uint32_t) headroom;
    buf->len = (uint32_t) (headroom + len);
    memcpy (buf->data + headroom, bytes, len);
    return buf;
}

START_TEST (test_block_goes_on_whole)
{
    fake_mux = fake_create (false);
    fake_frames ();
    fake_peer_new (7);
    session_t *stream = &fake.spawned[0];
    stream->ops->send_block (stream->mux, stream->id, s_block (SESSION_STREAM_HEADROOM, "abcdef", 6));
    ck_assert_int_eq (fake.blocks, 1);
    ck_assert_uint_eq (fake.sent_len, 4 + 6);       //  SMALL_DATA: header and bytes together
    ck_assert_mem_eq (fake.sent + 4, "abcdef", 6);
    ck_assert_str_eq (fake_frames (), "data(7,6)");
    static char big[300];
    memset (big, 'x', sizeof big);
    stream->ops->send_block (stream->mux, stream->id, s_block (5, big, sizeof big));
    ck_assert_int_eq (fake.blocks, 2);
    ck_assert_str_eq (fake_frames (), "data(7,300)");
    //  No room for the header: a copy, the same frame.
    stream->ops->send_block (stream->mux, stream->id, s_block (3, big, sizeof big));
    ck_assert_int_eq (fake.blocks, 2);
    ck_assert_str_eq (fake_frames (), "data(7,300)");
}
END_TEST

//  The frames of one stream that one tunnel read brings reach it in one
//  delivery (one write to its socket); another stream's frame, or a
//  control frame, between them keeps the order.
//  The peer opens streams 3 (a) and 4 (b).
static void
s_two_streams (session_t **a, session_t **b)
{
    fake_mux = fake_create (false);
    fake_peer_new (3);
    fake_peer_new (4);
    *a = &fake.spawned[0];
    *b = &fake.spawned[1];
}

//  Three frames of stream 3, then (s_interleaved) stream 3, 4 and 3 again.
static void
s_three_frames (mux_out_t *out)
{
    mux_out_clear (out);
    mux_encode_data (out, 3, (const uint8_t *) "one,", 4);
    mux_encode_data (out, 3, (const uint8_t *) "two,", 4);
    mux_encode_data (out, 3, (const uint8_t *) "three", 5);
}

static void
s_interleaved (mux_out_t *out)
{
    mux_out_clear (out);
    mux_encode_data (out, 3, (const uint8_t *) "four,", 5);
    mux_encode_data (out, 4, (const uint8_t *) "b", 1);
    mux_encode_data (out, 3, (const uint8_t *) "five", 4);
}

START_TEST (test_one_delivery_per_read)
{
    session_t *a, *b;
    s_two_streams (&a, &b);
    mux_out_t *out = mux_out_new ();
    s_three_frames (out);
    fake_peer (mux_out_data (out), mux_out_size (out));
    ck_assert_str_eq (a->first, "one,two,three");
    ck_assert_int_eq (a->deliveries, 1);
    s_interleaved (out);
    uint8_t close[MUX_CONTROL_SIZE];
    mux_out_append (out, close, mux_put_close_socket (close, 3));
    fake_peer (mux_out_data (out), mux_out_size (out));
    ck_assert_str_eq (a->first, "one,two,threefour,five");
    ck_assert_int_eq (a->deliveries, 3);
    ck_assert_int_eq (a->eof, 0);               //  after its bytes
    ck_assert_int_eq (b->deliveries, 1);
    mux_out_destroy (&out);
}
END_TEST

//  While the session keeps a read's blocks (session_data_kept), a stream's
//  frames from all of them, one cut between two blocks too, reach it in one
//  delivery at the read's end (read_done); a frame of another stream or a
//  close between them still passes what came before, in order.
START_TEST (test_one_delivery_per_kept_read)
{
    session_t *a, *b;
    s_two_streams (&a, &b);
    mux_out_t *out = mux_out_new ();
    s_three_frames (out);
    const uint8_t *wire = mux_out_data (out);
    size_t size = mux_out_size (out), cut = size / 2;
    //  A copy of each block, freed only after read_done, as the session does.
    uint8_t *first = malloc (cut), *second = malloc (size - cut);
    memcpy (first, wire, cut);
    memcpy (second, wire + cut, size - cut);
    fake.data_kept = true;
    fake_peer (first, cut);
    fake_peer (second, size - cut);
    ck_assert_int_eq (a->deliveries, 0);
    fake.data_kept = false;
    tunnel_mux_handler_class.read_done (fake_mux);
    free (first);
    free (second);
    ck_assert_str_eq (a->first, "one,two,three");
    ck_assert_int_eq (a->deliveries, 1);
    //  Another stream's frame between: what came before goes first.
    s_interleaved (out);
    fake.data_kept = true;
    fake_peer (mux_out_data (out), mux_out_size (out));
    ck_assert_int_eq (a->deliveries, 2);
    ck_assert_int_eq (b->deliveries, 1);
    fake.data_kept = false;
    tunnel_mux_handler_class.read_done (fake_mux);
    ck_assert_str_eq (a->first, "one,two,threefour,five");
    ck_assert_int_eq (a->deliveries, 3);
    //  Nothing held: read_done passes nothing more.
    tunnel_mux_handler_class.read_done (fake_mux);
    ck_assert_int_eq (a->deliveries, 3);
    mux_out_destroy (&out);
}
END_TEST

START_TEST (test_muxing_end_ids)
{
    fake_mux = fake_create (true);
    tunnel_mux_handler_class.connected (fake_mux, 0, NULL);
    fake_frames ();
    session_t *a = fake_attach (0);
    session_t *b = fake_attach (1);
    ck_assert_uint_eq (a->id, 1);
    ck_assert_uint_eq (b->id, 2);
    //  The peer may not open streams at this end.
    fake_peer_new (3);
    ck_assert_uint_eq (fake.spawned_count, 0);
    //  The peer closes one: its id is free again.
    fake_peer_close (1);
    ck_assert_int_eq (a->eof, 0);
    session_t *c = fake_attach (2);
    ck_assert_uint_eq (c->id, 3);
    b->ops->detach (b->mux, b->id, false);  //  the peer closed it first: no CLOSE
    session_t *d = fake_attach (3);
    ck_assert_uint_eq (d->id, 4);
    ck_assert_str_eq (fake_frames (), "new(1) new(2) new(3) new(4)");
    fake_peer_data (4, "to d");
    ck_assert_str_eq (d->first, "to d");
}
END_TEST

//  --------------------------------------------------------------------------
//  The credit extension

START_TEST (test_window_stops_credit_resumes)
{
    fake_dialing_up ();
    session_t *user = fake_attach (0);
    fake_frames ();
    //  Without the peer's hello there is no window.
    fake_stream_send (user, STREAM_WINDOW);
    ck_assert_uint_eq (user->ops->queued (user->mux, user->id), 0);
    fake_frames ();
    fake_peer_hello ();
    fake_stream_send (user, STREAM_WINDOW - 1);
    ck_assert_uint_eq (user->ops->queued (user->mux, user->id), 0);
    fake_stream_send (user, 1);
    //  The window is full: the stream's reader stops.
    ck_assert_uint_ge (user->ops->queued (user->mux, user->id), SIZE_MAX / 2);
    int settles = user->settles;
    fake_peer_credit (user->id, 1000);
    //  Credit back: it may read again, and is told so.
    ck_assert_uint_eq (user->ops->queued (user->mux, user->id), 0);
    ck_assert_int_eq (user->settles, settles + 1);
    fake_peer_credit (user->id, 500);
    ck_assert_int_eq (user->settles, settles + 1);    //  it was not full
    //  More credit than was sent clears the count, no more.
    fake_peer_credit (user->id, 0xffffffffu);
    fake_stream_send (user, STREAM_WINDOW - 1);
    ck_assert_uint_eq (user->ops->queued (user->mux, user->id), 0);
    //  A credit for a stream nobody has is harmless.
    fake_peer_credit (999, 1);
}
END_TEST

START_TEST (test_credit_given_back)
{
    fake_mux = fake_create (false);
    fake_peer_hello ();
    fake_peer_new (5);
    session_t *stream = &fake.spawned[0];
    fake_frames ();
    stream->ops->consumed (stream->mux, stream->id, CREDIT_STEP - 1);
    ck_assert_str_eq (fake_frames (), "");
    stream->ops->consumed (stream->mux, stream->id, 10);
    ck_assert_str_eq (fake_frames (), "credit(5,262153)");
    stream->ops->consumed (stream->mux, stream->id, CREDIT_STEP);
    ck_assert_str_eq (fake_frames (), "credit(5,262144)");
}
END_TEST

START_TEST (test_no_extension_holds_the_tunnel)
{
    fake_mux = fake_create (false);
    fake_peer_new (5);
    fake_peer_new (6);
    session_t *stream = &fake.spawned[0];
    //  An original peer gets no credit.
    fake_frames ();
    stream->ops->consumed (stream->mux, stream->id, CREDIT_STEP * 2);
    ck_assert_str_eq (fake_frames (), "");
    //  A stream that holds too much stops the whole tunnel...
    stream->held = HOLD_LIMIT + 1;
    fake_peer_data (5, "x");
    ck_assert_int_eq (fake.paused, 1);
    //  ... until it has caught up to half of it.
    stream->held = HOLD_LIMIT / 2 + 1;
    stream->ops->consumed (stream->mux, stream->id, 1);
    ck_assert_int_eq (fake.paused, 1);
    fake.spawned[1].ops->consumed (fake.spawned[1].mux, 6, 1);   //  another stream: no
    ck_assert_int_eq (fake.paused, 1);
    stream->held = HOLD_LIMIT / 2;
    int settles = fake.tunnel.settles;
    stream->ops->consumed (stream->mux, stream->id, 1);
    ck_assert_int_eq (fake.paused, 0);
    ck_assert_int_gt (fake.tunnel.settles, settles);
    //  Or until it is gone.
    stream->held = HOLD_LIMIT + 1;
    fake_peer_data (5, "x");
    ck_assert_int_eq (fake.paused, 1);
    stream->ops->detach (stream->mux, stream->id, true);
    ck_assert_int_eq (fake.paused, 0);
}
END_TEST

//  --------------------------------------------------------------------------
//  Half-close

START_TEST (test_fin_half_close)
{
    fake_dialing_up ();
    session_t *user = fake_attach (0);
    fake_frames ();
    //  An original peer knows only CLOSE_SOCKET.
    ck_assert (!user->ops->half_close (user->mux, user->id));
    ck_assert_str_eq (fake_frames (), "");
    fake_peer_hello ();
    ck_assert (user->ops->half_close (user->mux, user->id));
    ck_assert_str_eq (fake_frames (), "fin(1)");
    //  The peer half-closes: the stream hears of it (no more bytes come) and
    //  may still send.
    fake_peer_fin (user->id);
    ck_assert_int_eq (user->fins, 1);
    ck_assert_int_eq (user->eof, -1);
    fake_stream_send (user, 5);
    ck_assert_str_eq (fake_frames (), "data(1,5)");
    fake_peer_fin (77);                        //  nobody's: ignored
}
END_TEST

int
main (void)
{
    Suite *suite = suite_create ("tunnel_mux_streams");
    TCase *frames = tcase_create ("frames");
    tcase_add_checked_fixture (frames, fake_setup, fake_teardown);
    tcase_add_test (frames, test_frames_to_streams);
    tcase_add_test (frames, test_block_goes_on_whole);
    tcase_add_test (frames, test_one_delivery_per_read);
    tcase_add_test (frames, test_one_delivery_per_kept_read);
    tcase_add_test (frames, test_muxing_end_ids);
    tcase_add_test (frames, test_window_stops_credit_resumes);
    tcase_add_test (frames, test_credit_given_back);
    tcase_add_test (frames, test_no_extension_holds_the_tunnel);
    tcase_add_test (frames, test_fin_half_close);
    suite_add_tcase (suite, frames);
    return check_run (suite);
}
