/*  test_mux_decoder — the aggregated-mode mux codec's decoder (nodes/mux.h):
    the golden vectors, split invariance (every 2- and 3-way split, byte by
    byte with pauses), frames this encoder never writes but the original
    accepts, and random round trips through the builder or the header path.
*/
#include <check.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "nodes/mux.h"
#include "test/support/check_run.h"
#include "test/support/mux_check.h"

//  --- Decoder

//  The events of the vector sequence, as a recorder holds them.
static void
s_vector_events (rec_t *want)
{
    mc_rec_event (want, EV_NEW, 1);
    mc_rec_data (want, 1, (const uint8_t *) "hello", 5);
    for (size_t i = 0; i < sizeof mc_long_vecs / sizeof mc_long_vecs[0]; i++) {
        uint8_t *data = mc_pattern (mc_long_vecs[i].payload);
        mc_rec_data (want, 1, data, mc_long_vecs[i].payload);
        free (data);
    }
    mc_rec_event (want, EV_CLOSE, 1);
}

START_TEST (test_decode_vectors)
{
    mux_out_t *out = mc_vector_stream ();
    rec_t want = { 0 }, whole = { 0 }, bytewise = { 0 };
    s_vector_events (&want);

    ck_assert_int_eq (mc_decode_split (mux_out_data (out), mux_out_size (out), NULL, 0, &whole, NULL),
                      MC_STREAM_LEN);
    mc_assert_rec_eq (&whole, &want);

    //  byte by byte: one on_data call per payload byte, same record
    mux_decoder_t *decoder = mux_decoder_new ();
    for (size_t i = 0; i < mux_out_size (out); i++) {
        MC_EQ (mux_decoder_feed (decoder, mux_out_data (out) + i, 1, &mc_callbacks, &bytewise), 1);
        MC_CHECK (!mux_decoder_paused (decoder));
    }
    ck_assert (mux_decoder_idle (decoder));
    ck_assert_uint_eq (mux_decoder_offset (decoder), MC_STREAM_LEN);
    mc_assert_rec_eq (&bytewise, &want);
    ck_assert_uint_eq (bytewise.calls, 2 + 5 + 255 + 256 + 65535 + 65536 + 200000);
    mux_decoder_destroy (&decoder);
    ck_assert_ptr_null (decoder);

    mc_rec_free (&want);
    mc_rec_free (&whole);
    mc_rec_free (&bytewise);
    mux_out_destroy (&out);
}
END_TEST

//  Frames this encoder never writes but the original accepts: DATA with a
//  short payload, empty DATA and SMALL_DATA, a NOP with a non-zero reserved
//  field, an empty NOP.
static const uint8_t s_odd_frames[] = {
    0x03, 0x00, 0x01, 0x00, 0x03, 'a', 'b', 'c',        //  DATA 1 "abc"
    0x03, 0x00, 0x01, 0x00, 0x00,                       //  DATA 1, empty
    0x04, 0x00, 0x01, 0x00,                             //  SMALL_DATA 1, empty
    0x00, 0x12, 0x34, 0x02, 0x04, 0x05,                 //  NOP, reserved 0x1234, 2 bytes
    0x00, 0x00, 0x00, 0x00,                             //  NOP, empty
    0x04, 0x00, 0x00, 0x02, 'x', 'y',                   //  SMALL_DATA 0 "xy"
};

static void
s_odd_events (rec_t *want)
{
    mc_rec_data (want, 1, (const uint8_t *) "abc", 3);
    mc_rec_data (want, 0, (const uint8_t *) "xy", 2);
}

//  A stream of ~900 bytes with every kind of frame; want gets its events.
static void
s_mixed_stream (mc_bytes_t *stream, rec_t *want)
{
    mux_out_t *out = mux_out_new ();
    uint8_t *data = mc_pattern (300);
    mux_encode_new_socket (out, 1);
    mc_rec_event (want, EV_NEW, 1);
    mux_encode_data (out, 1, (const uint8_t *) "hello", 5);
    mc_rec_data (want, 1, (const uint8_t *) "hello", 5);
    mux_encode_data (out, 1, data, 255);
    mc_rec_data (want, 1, data, 255);
    mux_encode_new_socket (out, 0xFFFF);
    mc_rec_event (want, EV_NEW, 0xFFFF);
    mux_encode_data (out, 0xFFFF, data, 256);
    mc_rec_data (want, 0xFFFF, data, 256);
    mux_encode_padding (out, 3, MUX_PAD_RANDOM);
    mux_encode_data (out, 0xFFFF, data + 7, 300 - 7);
    mc_rec_data (want, 0xFFFF, data + 7, 300 - 7);
    mc_bytes_take (stream, out);

    mc_bytes_add (stream, s_odd_frames, sizeof s_odd_frames);
    s_odd_events (want);

    mux_encode_close (out, 1);
    mc_rec_event (want, EV_CLOSE, 1);
    mux_encode_data (out, 0, data, 20);
    mc_rec_data (want, 0, data, 20);
    mux_encode_close (out, 0xFFFF);
    mc_rec_event (want, EV_CLOSE, 0xFFFF);
    mc_bytes_take (stream, out);
    mux_out_destroy (&out);
    free (data);
}

//  A short stream (48 bytes) for the 3-way splits.
static void
s_short_stream (mc_bytes_t *stream, rec_t *want)
{
    mux_out_t *out = mux_out_new ();
    mux_encode_new_socket (out, 1);
    mc_rec_event (want, EV_NEW, 1);
    mux_encode_data (out, 1, (const uint8_t *) "hello", 5);
    mc_rec_data (want, 1, (const uint8_t *) "hello", 5);
    mc_bytes_take (stream, out);
    mc_bytes_add (stream, s_odd_frames, sizeof s_odd_frames);
    s_odd_events (want);
    mux_encode_close (out, 1);
    mc_rec_event (want, EV_CLOSE, 1);
    mc_bytes_take (stream, out);
    mux_out_destroy (&out);
}

START_TEST (test_decode_whole)
{
    mc_bytes_t stream = { 0 };
    rec_t want = { 0 }, got = { 0 };
    s_mixed_stream (&stream, &want);
    ck_assert_int_eq (mc_decode_split (stream.data, stream.size, NULL, 0, &got, NULL),
                      (ssize_t) stream.size);
    mc_assert_rec_eq (&got, &want);
    //  events: NEW 1, data 1, NEW ffff, data ffff, data 1, data 0, CLOSE 1, data 0, CLOSE ffff
    ck_assert_uint_eq (want.count, 9);
    mc_rec_free (&got);

    //  without callbacks everything is consumed and dropped
    static const mux_callbacks_t none = { NULL, NULL, NULL, NULL };
    mux_decoder_t *decoder = mux_decoder_new ();
    ck_assert_int_eq (mux_decoder_feed (decoder, stream.data, stream.size, &none, NULL),
                      (ssize_t) stream.size);
    ck_assert (mux_decoder_idle (decoder));
    ck_assert (!mux_decoder_paused (decoder));
    ck_assert_int_eq (mux_decoder_feed (decoder, stream.data, 0, &none, NULL), 0);
    mux_decoder_destroy (&decoder);
    mux_decoder_destroy (&decoder);         //  NULL is fine

    mc_rec_free (&want);
    free (stream.data);
}
END_TEST

START_TEST (test_decode_splits2)
{
    mc_bytes_t stream = { 0 };
    rec_t want = { 0 };
    s_mixed_stream (&stream, &want);
    for (size_t cut = 0; cut <= stream.size; cut++) {
        rec_t got = { 0 };
        ck_assert_int_eq (mc_decode_split (stream.data, stream.size, &cut, 1, &got, NULL),
                          (ssize_t) stream.size);
        mc_assert_rec_eq (&got, &want);
        mc_rec_free (&got);

        //  and pausing after every event on top of the split
        rec_t paused = { .pause_every = 1 };
        ck_assert_int_eq (mc_decode_split (stream.data, stream.size, &cut, 1, &paused, NULL),
                          (ssize_t) stream.size);
        mc_assert_rec_eq (&paused, &want);
        mc_rec_free (&paused);
    }
    mc_rec_free (&want);
    free (stream.data);
}
END_TEST

START_TEST (test_decode_splits3)
{
    mc_bytes_t stream = { 0 };
    rec_t want = { 0 };
    s_short_stream (&stream, &want);
    ck_assert_uint_eq (stream.size, 3 + 9 + sizeof s_odd_frames + 3);
    for (size_t i = 0; i <= stream.size; i++)
        for (size_t j = i; j <= stream.size; j++) {
            size_t cuts[2] = { i, j };
            rec_t got = { .pause_every = (i + j) % 3 };
            ck_assert_int_eq (mc_decode_split (stream.data, stream.size, cuts, 2, &got, NULL),
                              (ssize_t) stream.size);
            mc_assert_rec_eq (&got, &want);
            mc_rec_free (&got);
        }
    mc_rec_free (&want);
    free (stream.data);
}
END_TEST

START_TEST (test_decode_bytewise_paused)
{
    mc_bytes_t stream = { 0 };
    rec_t want = { 0 }, got = { .pause_every = 1 };
    s_mixed_stream (&stream, &want);
    mux_decoder_t *decoder = mux_decoder_new ();
    for (size_t i = 0; i < stream.size; i++) {
        size_t calls = got.calls;
        MC_EQ (mux_decoder_feed (decoder, stream.data + i, 1, &mc_callbacks, &got), 1);
        //  a one-byte feed that produced an event says it paused
        MC_EQ (mux_decoder_paused (decoder), got.calls > calls);
    }
    mc_assert_rec_eq (&got, &want);
    ck_assert (mux_decoder_idle (decoder));
    mux_decoder_destroy (&decoder);
    mc_rec_free (&want);
    mc_rec_free (&got);
    free (stream.data);
}
END_TEST

//  Feed data in random chunks (1..chunk_max bytes), resuming after pauses.
static void
s_decode_chunked (const uint8_t *data, size_t len, uint64_t *rng, size_t chunk_max, rec_t *rec)
{
    mux_decoder_t *decoder = mux_decoder_new ();
    size_t pos = 0;
    while (pos < len) {
        size_t chunk = 1 + mc_rand_below (rng, chunk_max);
        if (chunk > len - pos)
            chunk = len - pos;
        MC_EQ (mc_feed_all (decoder, data + pos, chunk, rec), chunk);
        pos += chunk;
    }
    ck_assert (mux_decoder_idle (decoder));
    ck_assert_uint_eq (mux_decoder_offset (decoder), len);
    mux_decoder_destroy (&decoder);
}

static size_t
s_random_len (uint64_t *rng)
{
    static const size_t boundaries[] = {
        0, 1, 2, 254, 255, 256, 257, 65534, 65535, 65536, 65537,
        65535 + 255, 65535 + 256, 131070, 131071
    };
    size_t pick = mc_rand_below (rng, 10);
    if (pick < 3)
        return boundaries[mc_rand_below (rng, sizeof boundaries / sizeof boundaries[0])];
    if (pick < 9)
        return mc_rand_below (rng, 600);
    return mc_rand_below (rng, 150000);
}

//  Random frame sequences, encoded by the builder or the header path,
//  decoded in random chunks with random pauses, give back the events.
START_TEST (test_random_roundtrip)
{
    uint64_t rng = 0x9E3779B97F4A7C15ull + (uint64_t) _i * 0x100000001B3ull;
    size_t source_len = 200000;
    uint8_t *source = (uint8_t *) malloc (source_len);
    for (size_t i = 0; i < source_len; i++)
        source[i] = (uint8_t) mc_rand (&rng);
    static const size_t chunk_maxes[] = { 1, 7, 300, 5000, 100000 };

    for (int round = 0; round < 10; round++) {
        mc_bytes_t stream = { 0 };
        rec_t want = { 0 };
        mux_out_t *out = mux_out_new ();
        size_t ops = 1 + mc_rand_below (&rng, 40);
        for (size_t op = 0; op < ops; op++) {
            uint16_t id = mc_rand_below (&rng, 4) == 0
                        ? (uint16_t) mc_rand (&rng) : (uint16_t) mc_rand_below (&rng, 4);
            switch (mc_rand_below (&rng, 6)) {
                case 0:
                    mux_encode_new_socket (out, id);
                    mc_rec_event (&want, EV_NEW, id);
                    break;
                case 1:
                    mux_encode_close (out, id);
                    mc_rec_event (&want, EV_CLOSE, id);
                    break;
                case 2:
                    mux_encode_padding (out, mc_rand_below (&rng, 256),
                                        mc_rand_below (&rng, 2) ? MUX_PAD_RANDOM : MUX_PAD_ZERO);
                    break;
                case 3: {
                    //  the zero-copy way: header, then the caller's bytes
                    size_t len = mc_rand_below (&rng, MUX_DATA_MAX + 1);
                    size_t from = mc_rand_below (&rng, source_len - len + 1);
                    uint8_t header[MUX_HEADER_MAX];
                    mc_bytes_take (&stream, out);
                    if (len) {
                        mc_bytes_add (&stream, header, mux_data_header (header, id, len));
                        mc_bytes_add (&stream, source + from, len);
                        mc_rec_data (&want, id, source + from, len);
                    }
                    break;
                }
                default: {
                    size_t len = s_random_len (&rng);
                    size_t from = mc_rand_below (&rng, source_len - len + 1);
                    mux_encode_data (out, id, source + from, len);
                    if (len)
                        mc_rec_data (&want, id, source + from, len);
                    break;
                }
            }
        }
        mc_bytes_take (&stream, out);
        mux_out_destroy (&out);

        size_t chunk_max = chunk_maxes[mc_rand_below (&rng, 5)];
        if (stream.size > 1000000 && chunk_max < 300)
            chunk_max = 300;
        uint64_t pause_rng = mc_rand (&rng) | 1;
        rec_t got = { 0 };
        if (mc_rand_below (&rng, 2))
            got.pause_rng = &pause_rng;
        s_decode_chunked (stream.data, stream.size, &rng, chunk_max, &got);
        mc_assert_rec_eq (&got, &want);
        mc_rec_free (&got);
        mc_rec_free (&want);
        free (stream.data);
    }
    free (source);
}
END_TEST

int
main (void)
{
    Suite *suite = suite_create ("mux_decoder");
    TCase *tc = tcase_create ("core");
    tcase_add_test (tc, test_decode_vectors);
    tcase_add_test (tc, test_decode_whole);
    tcase_add_test (tc, test_decode_splits2);
    tcase_add_test (tc, test_decode_splits3);
    tcase_add_test (tc, test_decode_bytewise_paused);
    tcase_add_loop_test (tc, test_random_roundtrip, 0, 8);
    tcase_set_timeout (tc, 60);
    suite_add_tcase (suite, tc);
    return check_run (suite);
}
