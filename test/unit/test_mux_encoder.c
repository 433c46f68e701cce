/*  test_mux_encoder — the aggregated-mode mux codec's encoder (nodes/mux.h):
    the golden vectors from an independent Python encoder (short frames,
    long payloads, their split points, the whole stream), DATA headers,
    frame sizes, the zero-copy header path against the builder, empty DATA
    and padding, and a cleared builder reusing its memory.
*/
#include <check.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "nodes/mux.h"
#include "test/support/check_run.h"
#include "test/support/mux_check.h"

START_TEST (test_vectors_short)
{
    mux_out_t *out = mux_out_new ();
    mux_encode_new_socket (out, 1);
    ck_assert_uint_eq (mux_out_size (out), sizeof mc_vec_new_1);
    ck_assert_int_eq (memcmp (mux_out_data (out), mc_vec_new_1, sizeof mc_vec_new_1), 0);

    mux_out_clear (out);
    mux_encode_data (out, 1, (const uint8_t *) "hello", 5);
    ck_assert_uint_eq (mux_out_size (out), sizeof mc_vec_hello);
    ck_assert_int_eq (memcmp (mux_out_data (out), mc_vec_hello, sizeof mc_vec_hello), 0);

    mux_out_clear (out);
    mux_encode_close (out, 1);
    ck_assert_uint_eq (mux_out_size (out), sizeof mc_vec_close_1);
    ck_assert_int_eq (memcmp (mux_out_data (out), mc_vec_close_1, sizeof mc_vec_close_1), 0);

    mux_out_clear (out);
    mux_encode_padding (out, 3, MUX_PAD_ZERO);
    ck_assert_uint_eq (mux_out_size (out), sizeof mc_vec_nop_3);
    ck_assert_int_eq (memcmp (mux_out_data (out), mc_vec_nop_3, sizeof mc_vec_nop_3), 0);
    mux_out_destroy (&out);
    ck_assert_ptr_null (out);

    //  the caller-memory encoders give the same bytes
    uint8_t frame[MUX_CONTROL_SIZE];
    ck_assert_uint_eq (mux_put_new_socket (frame, 1), 3);
    ck_assert_int_eq (memcmp (frame, mc_vec_new_1, 3), 0);
    ck_assert_uint_eq (mux_put_close_socket (frame, 1), 3);
    ck_assert_int_eq (memcmp (frame, mc_vec_close_1, 3), 0);
}
END_TEST

START_TEST (test_vectors_long)
{
    for (size_t i = 0; i < sizeof mc_long_vecs / sizeof mc_long_vecs[0]; i++) {
        const mc_long_vec_t *vec = &mc_long_vecs[i];
        uint8_t *data = mc_pattern (vec->payload);
        mux_out_t *out = mux_out_new ();
        mux_encode_data (out, 1, data, vec->payload);
        ck_assert_uint_eq (mux_out_size (out), vec->wire);
        ck_assert_uint_eq (mux_data_frames_size (vec->payload), vec->wire);
        ck_assert_int_eq (memcmp (mux_out_data (out), vec->head, 5), 0);
        char hex[65];
        mc_sha256_hex (mux_out_data (out), mux_out_size (out), hex);
        ck_assert_str_eq (hex, vec->sha256);
        mux_out_destroy (&out);
        free (data);
    }
}
END_TEST

//  Where the pieces of the long payloads start, and their headers.
START_TEST (test_vectors_split_points)
{
    static const struct {
        size_t payload, at;
        uint8_t header[5];
    } points[] = {
        { 65536, 0,      { 0x03, 0x00, 0x01, 0xff, 0xff } },
        { 65536, 65540,  { 0x04, 0x00, 0x01, 0x01, 0x18 } },      //  SMALL_DATA, 1 byte: 65535 % 251
        { 200000, 0,      { 0x03, 0x00, 0x01, 0xff, 0xff } },
        { 200000, 65540,  { 0x03, 0x00, 0x01, 0xff, 0xff } },
        { 200000, 131080, { 0x03, 0x00, 0x01, 0xff, 0xff } },
        { 200000, 196620, { 0x03, 0x00, 0x01, 0x0d, 0x43 } },     //  the last 3395 bytes
    };
    for (size_t i = 0; i < sizeof points / sizeof points[0]; i++) {
        uint8_t *data = mc_pattern (points[i].payload);
        mux_out_t *out = mux_out_new ();
        mux_encode_data (out, 1, data, points[i].payload);
        ck_assert_uint_ge (mux_out_size (out), points[i].at + 5);
        ck_assert_int_eq (memcmp (mux_out_data (out) + points[i].at, points[i].header, 5), 0);
        mux_out_destroy (&out);
        free (data);
    }
}
END_TEST

START_TEST (test_vectors_stream)
{
    mux_out_t *out = mc_vector_stream ();
    ck_assert_uint_eq (mux_out_size (out), MC_STREAM_LEN);
    char hex[65];
    mc_sha256_hex (mux_out_data (out), mux_out_size (out), hex);
    ck_assert_str_eq (hex, MC_STREAM_SHA256);
    mux_out_destroy (&out);
}
END_TEST


//  --- Encoder details

START_TEST (test_data_header)
{
    static const struct {
        size_t len;
        size_t size;
        uint8_t header[5];
    } cases[] = {
        { 0,     4, { 0x04, 0xab, 0xcd, 0x00 } },
        { 1,     4, { 0x04, 0xab, 0xcd, 0x01 } },
        { 255,   4, { 0x04, 0xab, 0xcd, 0xff } },
        { 256,   5, { 0x03, 0xab, 0xcd, 0x01, 0x00 } },
        { 4660,  5, { 0x03, 0xab, 0xcd, 0x12, 0x34 } },
        { 65535, 5, { 0x03, 0xab, 0xcd, 0xff, 0xff } },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint8_t header[MUX_HEADER_MAX];
        memset (header, 0xEE, sizeof header);
        size_t size = mux_data_header (header, 0xABCD, cases[i].len);
        ck_assert_uint_eq (size, cases[i].size);
        ck_assert_int_eq (memcmp (header, cases[i].header, size), 0);
        if (size == 4)
            ck_assert_uint_eq (header[4], 0xEE);       //  nothing written past the header
    }
}
END_TEST

START_TEST (test_frames_size)
{
    static const size_t cases[][2] = {
        { 0, 0 }, { 1, 5 }, { 255, 259 }, { 256, 261 }, { 65535, 65540 },
        { 65536, 65545 }, { 65535 + 255, 65540 + 259 }, { 65535 + 256, 65540 + 261 },
        { 2 * 65535, 131080 }, { 2 * 65535 + 1, 131085 }, { 200000, 200020 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        ck_assert_uint_eq (mux_data_frames_size (cases[i][0]), cases[i][1]);

    //  and it is what the builder writes
    uint8_t *data = mc_pattern (140000);
    mux_out_t *out = mux_out_new ();
    for (size_t len = 0; len < 140000; len += len < 600 ? 1 : 997) {
        mux_out_clear (out);
        mux_encode_data (out, 7, data, len);
        ck_assert_uint_eq (mux_out_size (out), mux_data_frames_size (len));
    }
    mux_out_destroy (&out);
    free (data);
}
END_TEST

//  The zero-copy path (a header per piece of at most MUX_DATA_MAX bytes,
//  then the caller's own payload bytes) gives exactly the builder's frames.
START_TEST (test_header_path_matches_builder)
{
    static const size_t lens[] = { 1, 5, 255, 256, 4096, 65535, 65536, 65535 + 255,
                                   65535 + 256, 200000 };
    for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
        size_t len = lens[i];
        uint8_t *data = mc_pattern (len);
        size_t wire = mux_data_frames_size (len);
        uint8_t *frames = (uint8_t *) malloc (wire);
        size_t at = 0;
        for (size_t done = 0; done < len; ) {
            size_t piece = len - done < MUX_DATA_MAX ? len - done : MUX_DATA_MAX;
            at += mux_data_header (frames + at, 0x0102, piece);
            memcpy (frames + at, data + done, piece);
            at += piece;
            done += piece;
        }
        ck_assert_uint_eq (at, wire);
        mux_out_t *out = mux_out_new ();
        mux_encode_data (out, 0x0102, data, len);
        ck_assert_uint_eq (mux_out_size (out), wire);
        ck_assert_int_eq (memcmp (mux_out_data (out), frames, wire), 0);
        mux_out_destroy (&out);
        free (frames);
        free (data);
    }
}
END_TEST

START_TEST (test_empty_data_and_padding)
{
    mux_out_t *out = mux_out_new ();
    mux_encode_data (out, 1, (const uint8_t *) "", 0);          //  the original sends nothing
    ck_assert_uint_eq (mux_out_size (out), 0);

    mux_encode_padding (out, 0, MUX_PAD_ZERO);
    ck_assert_uint_eq (mux_out_size (out), 4);
    static const uint8_t nop0[] = { 0, 0, 0, 0 };
    ck_assert_int_eq (memcmp (mux_out_data (out), nop0, 4), 0);

    mux_out_clear (out);
    mux_encode_padding (out, MUX_PADDING_MAX, MUX_PAD_ZERO);
    ck_assert_uint_eq (mux_out_size (out), 4 + 255);
    ck_assert_uint_eq (mux_out_data (out)[3], 255);
    for (size_t i = 0; i < 259; i++)
        if (i != 3)
            ck_assert_uint_eq (mux_out_data (out)[i], 0);

    //  random padding: a NOP header, then bytes that are not all zero and
    //  differ from one frame to the next (chance of a false failure: 2^-2040)
    mux_out_clear (out);
    mux_encode_padding (out, 255, MUX_PAD_RANDOM);
    mux_encode_padding (out, 255, MUX_PAD_RANDOM);
    ck_assert_uint_eq (mux_out_size (out), 2 * 259);
    const uint8_t *frames = mux_out_data (out);
    static const uint8_t nop255[] = { 0, 0, 0, 255 };
    ck_assert_int_eq (memcmp (frames, nop255, 4), 0);
    ck_assert_int_eq (memcmp (frames + 259, nop255, 4), 0);
    ck_assert_int_ne (memcmp (frames + 4, frames + 259 + 4, 255), 0);
    size_t zeros = 0;
    for (size_t i = 4; i < 259; i++)
        zeros += frames[i] == 0;
    ck_assert_uint_lt (zeros, 255);

    //  a decoder skips all of it
    rec_t rec = { 0 };
    ck_assert_int_eq (mc_decode_split (frames, 2 * 259, NULL, 0, &rec, NULL), 2 * 259);
    ck_assert_uint_eq (rec.count, 0);
    ck_assert_uint_eq (rec.calls, 0);
    mc_rec_free (&rec);
    mux_out_destroy (&out);
}
END_TEST

//  Once grown, a cleared builder reuses its memory: no allocation per frame.
START_TEST (test_builder_reuse)
{
    uint8_t *data = mc_pattern (70000);
    mux_out_t *out = mux_out_new ();
    mux_encode_data (out, 3, data, 70000);
    const uint8_t *memory = mux_out_data (out);
    for (int round = 0; round < 100; round++) {
        mux_out_clear (out);
        ck_assert_uint_eq (mux_out_size (out), 0);
        mux_encode_new_socket (out, 3);
        mux_encode_data (out, 3, data, 60000);
        mux_encode_padding (out, 100, MUX_PAD_ZERO);
        mux_encode_close (out, 3);
        ck_assert_ptr_eq (mux_out_data (out), memory);
    }
    mux_out_destroy (&out);
    free (data);
}
END_TEST

int
main (void)
{
    Suite *suite = suite_create ("mux_encoder");
    TCase *tc = tcase_create ("core");
    tcase_add_test (tc, test_vectors_short);
    tcase_add_test (tc, test_vectors_long);
    tcase_add_test (tc, test_vectors_split_points);
    tcase_add_test (tc, test_vectors_stream);
    tcase_add_test (tc, test_data_header);
    tcase_add_test (tc, test_frames_size);
    tcase_add_test (tc, test_header_path_matches_builder);
    tcase_add_test (tc, test_empty_data_and_padding);
    tcase_add_test (tc, test_builder_reuse);
    tcase_set_timeout (tc, 60);
    suite_add_tcase (suite, tc);
    return check_run (suite);
}
