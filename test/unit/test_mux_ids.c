/*  test_mux_ids — the mux id allocator (nodes/mux.h): order, skipping,
    wrap-around, exhaustion and skipping ids in use; and a NOP's payload
    delivered whole.
*/
#include <check.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "nodes/mux.h"
#include "test/support/check_run.h"
#include "test/support/mux_check.h"

//  --- Ids

START_TEST (test_ids_order)
{
    mux_ids_t *ids = mux_ids_new ();
    ck_assert_uint_eq (mux_ids_count (ids), 0);
    ck_assert_int_eq (mux_ids_alloc (ids), 1);
    ck_assert_int_eq (mux_ids_alloc (ids), 2);
    ck_assert_int_eq (mux_ids_alloc (ids), 3);
    ck_assert (mux_ids_in_use (ids, 2));
    ck_assert (!mux_ids_in_use (ids, 0));
    ck_assert (!mux_ids_in_use (ids, 4));
    ck_assert_uint_eq (mux_ids_count (ids), 3);

    //  a released id is not reused at once: ids go on from the last one
    mux_ids_release (ids, 2);
    ck_assert (!mux_ids_in_use (ids, 2));
    ck_assert_uint_eq (mux_ids_count (ids), 2);
    ck_assert_int_eq (mux_ids_alloc (ids), 4);
    mux_ids_release (ids, 2);               //  not in use: nothing happens
    mux_ids_release (ids, 60000);
    ck_assert_uint_eq (mux_ids_count (ids), 3);
    mux_ids_destroy (&ids);
    ck_assert_ptr_null (ids);
    mux_ids_destroy (&ids);
}
END_TEST

START_TEST (test_ids_skip_and_wrap)
{
    mux_ids_t *ids = mux_ids_new ();
    //  ids 1..65535, then 0 after the wrap: all in use
    for (int id = 1; id < MUX_IDS; id++)
        MC_EQ (mux_ids_alloc (ids), id);
    ck_assert_int_eq (mux_ids_alloc (ids), 0);
    ck_assert_uint_eq (mux_ids_count (ids), MUX_IDS);
    ck_assert_int_eq (mux_ids_alloc (ids), -1);
    ck_assert_int_eq (mux_ids_alloc (ids), -1);
    for (int id = 0; id < MUX_IDS; id++)
        MC_CHECK (mux_ids_in_use (ids, (uint16_t) id));

    //  free ones are found across word boundaries, in order from the last
    static const uint16_t freed[] = { 63, 64, 65, 128, 4242, 65535 };
    for (size_t i = 0; i < sizeof freed / sizeof freed[0]; i++)
        mux_ids_release (ids, freed[i]);
    ck_assert_uint_eq (mux_ids_count (ids), MUX_IDS - 6);
    for (size_t i = 0; i < sizeof freed / sizeof freed[0]; i++)
        ck_assert_int_eq (mux_ids_alloc (ids), freed[i]);
    ck_assert_int_eq (mux_ids_alloc (ids), -1);

    //  last is 65535: the next one wraps round to 0, skipping nothing else
    mux_ids_release (ids, 0);
    mux_ids_release (ids, 10);
    ck_assert_int_eq (mux_ids_alloc (ids), 0);
    ck_assert_int_eq (mux_ids_alloc (ids), 10);

    //  the only free id lies below the last one, in the same bitmap word:
    //  found after a whole round
    mux_ids_release (ids, 5);
    ck_assert_int_eq (mux_ids_alloc (ids), 5);
    //  upward first, then round past 65535
    mux_ids_release (ids, 3);
    mux_ids_release (ids, 30000);
    ck_assert_int_eq (mux_ids_alloc (ids), 30000);
    ck_assert_int_eq (mux_ids_alloc (ids), 3);
    ck_assert_int_eq (mux_ids_alloc (ids), -1);
    mux_ids_destroy (&ids);
}
END_TEST

//  Sequential allocation reaches 65535 and wraps to the smallest free ids.
START_TEST (test_ids_wrap_skips_used)
{
    mux_ids_t *ids = mux_ids_new ();
    for (int id = 1; id <= 100; id++)
        ck_assert_int_eq (mux_ids_alloc (ids), id);
    for (int id = 1; id <= 100; id += 2)
        mux_ids_release (ids, (uint16_t) id);           //  odd ids free, even in use
    for (int id = 101; id < MUX_IDS; id++) {
        MC_EQ (mux_ids_alloc (ids), id);
        mux_ids_release (ids, (uint16_t) id);
    }
    ck_assert_int_eq (mux_ids_alloc (ids), 0);
    for (int id = 1; id <= 99; id += 2)
        ck_assert_int_eq (mux_ids_alloc (ids), id);     //  skipping the even ones
    ck_assert_int_eq (mux_ids_alloc (ids), 101);
    ck_assert_uint_eq (mux_ids_count (ids), 1 + 100 + 1);
    mux_ids_destroy (&ids);
}
END_TEST


//  NOP frames reach on_nop whole, with their reserved field, however split.
typedef struct {
    int count;
    uint16_t reserved[4];
    uint8_t payload[4][8];
    size_t len[4];
} nop_log_t;

static int
s_log_nop (void *ctx, uint16_t reserved, const uint8_t *data, size_t len)
{
    nop_log_t *log = ctx;
    if (log->count < 4) {
        log->reserved[log->count] = reserved;
        log->len[log->count] = len;
        memcpy (log->payload[log->count], data, len < 8 ? len : 8);
    }
    log->count++;
    return MUX_CONTINUE;
}

START_TEST (test_nop_payload_delivered_whole)
{
    const uint8_t stream[] = { 0x00, 0x6d, 0x78, 0x03, 0x01, 0x02, 0x03,   //  extension NOP
                               0x04, 0x00, 0x07, 0x01, 0x41,               //  SMALL_DATA 7 "A"
                               0x00, 0x00, 0x00, 0x00 };                   //  empty padding
    static const mux_callbacks_t callbacks = { NULL, NULL, NULL, s_log_nop };
    for (size_t step = 1; step <= sizeof stream; step++) {
        nop_log_t log = { 0 };
        mux_decoder_t *decoder = mux_decoder_new ();
        for (size_t at = 0; at < sizeof stream; at += step) {
            size_t n = at + step > sizeof stream ? sizeof stream - at : step;
            ck_assert_int_eq (mux_decoder_feed (decoder, stream + at, n, &callbacks, &log), (ssize_t) n);
        }
        ck_assert_int_eq (log.count, 2);
        ck_assert_uint_eq (log.reserved[0], 0x6d78);
        ck_assert_uint_eq (log.len[0], 3);
        ck_assert_mem_eq (log.payload[0], "\x01\x02\x03", 3);
        ck_assert_uint_eq (log.reserved[1], 0);
        ck_assert_uint_eq (log.len[1], 0);
        mux_decoder_destroy (&decoder);
    }
}
END_TEST

int
main (void)
{
    Suite *suite = suite_create ("mux_ids");
    TCase *tc = tcase_create ("core");
    tcase_add_test (tc, test_ids_order);
    tcase_add_test (tc, test_ids_skip_and_wrap);
    tcase_add_test (tc, test_ids_wrap_skips_used);
    tcase_add_test (tc, test_nop_payload_delivered_whole);
    tcase_set_timeout (tc, 60);
    suite_add_tcase (suite, tc);
    return check_run (suite);
}
