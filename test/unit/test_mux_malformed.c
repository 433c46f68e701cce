/*  test_mux_malformed — the mux decoder (nodes/mux.h) on bad input and
    callers that pause it: unknown commands (also after payload bytes),
    random garbage, every truncated frame kept pending, and pause and
    resume at every callback.
*/
#include <check.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "nodes/mux.h"
#include "test/support/check_run.h"
#include "test/support/mux_check.h"

//  --- Malformed and truncated input

//  NEW 1, SMALL_DATA 1 "hi", NOP of 2 bytes: the bad byte comes at 15.
static const uint8_t s_good_prefix[] = {
    0x01, 0x00, 0x01,
    0x04, 0x00, 0x01, 0x02, 'h', 'i',
    0x00, 0x00, 0x00, 0x02, 0x07, 0xff
};

START_TEST (test_unknown_command)
{
    uint8_t bad = (uint8_t) _i;             //  5..255
    uint8_t stream[sizeof s_good_prefix + 4];
    memcpy (stream, s_good_prefix, sizeof s_good_prefix);
    stream[15] = bad;
    memcpy (stream + 16, "\x01\x00\x02", 3);       //  a valid NEW 2 after it, never seen
    size_t len = sizeof stream;

    rec_t want = { 0 };
    mc_rec_event (&want, EV_NEW, 1);
    mc_rec_data (&want, 1, (const uint8_t *) "hi", 2);

    //  in one piece
    mux_decoder_t *decoder = mux_decoder_new ();
    rec_t got = { 0 };
    ck_assert_int_eq (mux_decoder_feed (decoder, stream, len, &mc_callbacks, &got), -1);
    mc_assert_rec_eq (&got, &want);
    ck_assert_uint_eq (mux_decoder_offset (decoder), 15);
    const char *error = mux_decoder_error (decoder);
    ck_assert_ptr_nonnull (error);
    char expect[64];
    snprintf (expect, sizeof expect, "unknown command %d at offset 15", bad);
    ck_assert_str_eq (error, expect);
    ck_assert (!mux_decoder_idle (decoder));
    //  broken for good, even for valid bytes
    ck_assert_int_eq (mux_decoder_feed (decoder, stream, 3, &mc_callbacks, &got), -1);
    ck_assert_int_eq (mux_decoder_feed (decoder, stream, 0, &mc_callbacks, &got), -1);
    ck_assert_uint_eq (mux_decoder_offset (decoder), 15);
    mc_assert_rec_eq (&got, &want);
    mc_rec_free (&got);
    mux_decoder_destroy (&decoder);

    //  byte by byte: the 16th feed fails
    decoder = mux_decoder_new ();
    for (size_t i = 0; i < 15; i++)
        ck_assert_int_eq (mux_decoder_feed (decoder, stream + i, 1, &mc_callbacks, &got), 1);
    ck_assert_ptr_null (mux_decoder_error (decoder));
    ck_assert_int_eq (mux_decoder_feed (decoder, stream + 15, 1, &mc_callbacks, &got), -1);
    ck_assert_uint_eq (mux_decoder_offset (decoder), 15);
    mc_assert_rec_eq (&got, &want);
    mc_rec_free (&got);
    mux_decoder_destroy (&decoder);

    //  every 2-way split, with and without pauses
    for (size_t cut = 0; cut <= len; cut++) {
        rec_t split = { .pause_every = cut % 2 };
        uint64_t error_at = 0;
        ck_assert_int_eq (mc_decode_split (stream, len, &cut, 1, &split, &error_at), -1);
        ck_assert_uint_eq (error_at, 15);
        mc_assert_rec_eq (&split, &want);
        mc_rec_free (&split);
    }
    mc_rec_free (&want);
}
END_TEST

//  Payload bytes are never taken for commands: the error is found only
//  where the frame that the length field announces ends.
START_TEST (test_unknown_command_after_payload)
{
    mc_bytes_t stream = { 0 };
    uint8_t *data = mc_pattern (300);
    mux_out_t *out = mux_out_new ();
    mux_encode_data (out, 9, data, 300);
    mc_bytes_take (&stream, out);
    mc_bytes_add (&stream, "\x05", 1);
    rec_t want = { 0 }, got = { 0 };
    mc_rec_data (&want, 9, data, 300);
    uint64_t error_at = 0;
    ck_assert_int_eq (mc_decode_split (stream.data, stream.size, NULL, 0, &got, &error_at), -1);
    ck_assert_uint_eq (error_at, 305);
    mc_assert_rec_eq (&got, &want);
    mc_rec_free (&got);
    mc_rec_free (&want);
    mux_out_destroy (&out);
    free (data);
    free (stream.data);
}
END_TEST

//  Random bytes: the decoder either takes everything or fails at the same
//  offset with the same events for every split.
START_TEST (test_garbage)
{
    uint64_t rng = 0xC0FFEEull + (uint64_t) _i;
    uint8_t stream[2048];
    for (int round = 0; round < 50; round++) {
        for (size_t i = 0; i < sizeof stream; i++) {
            //  mostly valid command bytes, so that the streams get somewhere
            uint64_t r = mc_rand (&rng);
            stream[i] = (uint8_t) (r % 8 == 0 ? r >> 8 : (r >> 8) % 5);
        }
        rec_t whole = { 0 };
        uint64_t whole_at = 0;
        ssize_t whole_rc = mc_decode_split (stream, sizeof stream, NULL, 0, &whole, &whole_at);
        for (int split = 0; split < 5; split++) {
            size_t cuts[3];
            for (int k = 0; k < 3; k++)
                cuts[k] = mc_rand_below (&rng, sizeof stream + 1);
            if (cuts[0] > cuts[1]) { size_t t = cuts[0]; cuts[0] = cuts[1]; cuts[1] = t; }
            if (cuts[1] > cuts[2]) { size_t t = cuts[1]; cuts[1] = cuts[2]; cuts[2] = t; }
            if (cuts[0] > cuts[1]) { size_t t = cuts[0]; cuts[0] = cuts[1]; cuts[1] = t; }
            rec_t got = { .pause_every = (size_t) split };
            uint64_t got_at = 0;
            ck_assert_int_eq (mc_decode_split (stream, sizeof stream, cuts, 3, &got, &got_at), whole_rc);
            if (whole_rc < 0)
                ck_assert_uint_eq (got_at, whole_at);
            mc_assert_rec_eq (&got, &whole);
            mc_rec_free (&got);
        }
        mc_rec_free (&whole);
    }
}
END_TEST

//  Every proper prefix of a frame is taken and kept pending: no error, no
//  control event, only the payload bytes already there; the rest completes it.
START_TEST (test_truncated)
{
    mux_out_t *out = mux_out_new ();
    uint8_t *data = mc_pattern (300);
    static const struct {
        int kind;               //  0 NEW, 1 CLOSE, 2 DATA, 3 NOP
        size_t len;
    } frames[] = { { 0, 0 }, { 1, 0 }, { 2, 5 }, { 2, 255 }, { 2, 256 }, { 2, 300 },
                   { 3, 0 }, { 3, 3 }, { 3, 255 } };
    for (size_t f = 0; f < sizeof frames / sizeof frames[0]; f++) {
        mux_out_clear (out);
        rec_t want = { 0 };
        size_t header = 0;
        switch (frames[f].kind) {
            case 0:
                mux_encode_new_socket (out, 0x4242);
                mc_rec_event (&want, EV_NEW, 0x4242);
                break;
            case 1:
                mux_encode_close (out, 0x4242);
                mc_rec_event (&want, EV_CLOSE, 0x4242);
                break;
            case 2:
                mux_encode_data (out, 0x4242, data, frames[f].len);
                mc_rec_data (&want, 0x4242, data, frames[f].len);
                header = frames[f].len < 256 ? 4 : 5;
                break;
            case 3:
                mux_encode_padding (out, frames[f].len, MUX_PAD_RANDOM);
                break;
        }
        const uint8_t *frame = mux_out_data (out);
        size_t size = mux_out_size (out);
        for (size_t prefix = 0; prefix < size; prefix++) {
            mux_decoder_t *decoder = mux_decoder_new ();
            rec_t got = { 0 };
            MC_EQ (mux_decoder_feed (decoder, frame, prefix, &mc_callbacks, &got), prefix);
            MC_CHECK (mux_decoder_error (decoder) == NULL);
            MC_EQ (mux_decoder_idle (decoder), prefix == 0);
            if (frames[f].kind == 2 && prefix > header) {
                MC_EQ (got.count, 1);
                MC_EQ (got.size, prefix - header);
                MC_EQ (memcmp (got.bytes, data, prefix - header), 0);
            }
            else
                MC_EQ (got.count, 0);
            MC_EQ (mux_decoder_feed (decoder, frame + prefix, size - prefix, &mc_callbacks, &got),
                  size - prefix);
            MC_CHECK (mux_decoder_idle (decoder));
            mc_assert_rec_eq (&got, &want);
            mc_rec_free (&got);
            mux_decoder_destroy (&decoder);
        }
        mc_rec_free (&want);
    }
    free (data);
    mux_out_destroy (&out);
}
END_TEST


//  --- Pause and resume

typedef struct {
    size_t calls;
    uint16_t last_id;
    size_t data_len;            //  payload bytes received
} s_pauser_t;

static int
s_pause_on_id (void *ctx, uint16_t id)
{
    s_pauser_t *self = (s_pauser_t *) ctx;
    self->calls++;
    self->last_id = id;
    return MUX_PAUSE;
}

static int
s_pause_on_data (void *ctx, uint16_t id, const uint8_t *data, size_t len)
{
    s_pauser_t *self = (s_pauser_t *) ctx;
    (void) data;
    self->calls++;
    self->last_id = id;
    self->data_len += len;
    return MUX_PAUSE;
}

static const mux_callbacks_t s_pausing = { s_pause_on_id, s_pause_on_id, s_pause_on_data, NULL };

//  NEW 7 (3 bytes), DATA 7 with 1000 bytes (5 + 1000), CLOSE 7 (3): 1011.
START_TEST (test_pause_resume)
{
    uint8_t *data = mc_pattern (1000);
    mux_out_t *out = mux_out_new ();
    mux_encode_new_socket (out, 7);
    mux_encode_data (out, 7, data, 1000);
    mux_encode_close (out, 7);
    const uint8_t *stream = mux_out_data (out);
    ck_assert_uint_eq (mux_out_size (out), 1011);

    //  all in one buffer: each event stops the feed right after its bytes
    mux_decoder_t *decoder = mux_decoder_new ();
    s_pauser_t pauser = { 0 };
    ck_assert_int_eq (mux_decoder_feed (decoder, stream, 1011, &s_pausing, &pauser), 3);
    ck_assert (mux_decoder_paused (decoder));
    ck_assert_uint_eq (pauser.calls, 1);
    ck_assert_int_eq (mux_decoder_feed (decoder, stream + 3, 1008, &s_pausing, &pauser), 1005);
    ck_assert (mux_decoder_paused (decoder));
    ck_assert_uint_eq (pauser.data_len, 1000);
    //  the last event pauses too, although nothing is left
    ck_assert_int_eq (mux_decoder_feed (decoder, stream + 1008, 3, &s_pausing, &pauser), 3);
    ck_assert (mux_decoder_paused (decoder));
    ck_assert_uint_eq (pauser.calls, 3);
    ck_assert_int_eq (mux_decoder_feed (decoder, stream, 0, &s_pausing, &pauser), 0);
    ck_assert (!mux_decoder_paused (decoder));
    ck_assert (mux_decoder_idle (decoder));
    mux_decoder_destroy (&decoder);

    //  the payload split over two reads, paused in the middle of it
    decoder = mux_decoder_new ();
    memset (&pauser, 0, sizeof pauser);
    ck_assert_int_eq (mux_decoder_feed (decoder, stream, 500, &s_pausing, &pauser), 3);
    ck_assert_int_eq (mux_decoder_feed (decoder, stream + 3, 497, &s_pausing, &pauser), 497);
    ck_assert (mux_decoder_paused (decoder));
    ck_assert_uint_eq (pauser.data_len, 492);
    ck_assert (!mux_decoder_idle (decoder));
    ck_assert_uint_eq (mux_decoder_offset (decoder), 500);
    ck_assert_int_eq (mux_decoder_feed (decoder, stream + 500, 511, &s_pausing, &pauser), 508);
    ck_assert_uint_eq (pauser.data_len, 1000);
    ck_assert (mux_decoder_idle (decoder));
    ck_assert_int_eq (mux_decoder_feed (decoder, stream + 1008, 3, &s_pausing, &pauser), 3);
    ck_assert_uint_eq (pauser.calls, 4);
    ck_assert_uint_eq (pauser.last_id, 7);
    ck_assert_uint_eq (mux_decoder_offset (decoder), 1011);
    mux_decoder_destroy (&decoder);

    //  a pause in the middle of a header split over feeds
    decoder = mux_decoder_new ();
    memset (&pauser, 0, sizeof pauser);
    ck_assert_int_eq (mux_decoder_feed (decoder, stream, 2, &s_pausing, &pauser), 2);
    ck_assert (!mux_decoder_paused (decoder));
    ck_assert_int_eq (mux_decoder_feed (decoder, stream + 2, 5, &s_pausing, &pauser), 1);
    ck_assert (mux_decoder_paused (decoder));
    ck_assert_uint_eq (pauser.calls, 1);
    ck_assert_int_eq (mux_decoder_feed (decoder, stream + 3, 5, &s_pausing, &pauser), 5);
    ck_assert (!mux_decoder_paused (decoder));      //  a header only: no event yet
    ck_assert_int_eq (mux_decoder_feed (decoder, stream + 8, 1003, &s_pausing, &pauser), 1000);
    ck_assert_uint_eq (pauser.data_len, 1000);
    mux_decoder_destroy (&decoder);

    mux_out_destroy (&out);
    free (data);
}
END_TEST

int
main (void)
{
    Suite *suite = suite_create ("mux_malformed");
    TCase *tc = tcase_create ("core");
    tcase_add_loop_test (tc, test_unknown_command, 5, 256);
    tcase_add_test (tc, test_unknown_command_after_payload);
    tcase_add_loop_test (tc, test_garbage, 0, 4);
    tcase_add_test (tc, test_truncated);
    tcase_add_test (tc, test_pause_resume);
    tcase_set_timeout (tc, 60);
    suite_add_tcase (suite, tc);
    return check_run (suite);
}
