/*  Tests for nodes/inband's encoding and scanner: the encoding vectors,
    several commands, commands at every offset, held bytes, stopped bytes
    not rescanned, not tapping, forged MACs, malformed commands, any split
    equals one shot, and tapping stopped inside a command.
*/
#include <check.h>
#include <czmq.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/rand.h>
#include "nodes/cipher.h"
#include "test/unit/test_keys.h"
#include "nodes/inband.h"
#include "runtime/actor.h"
#include "runtime/base/log.h"
#include "test/support/node_actor.h"
#include "test/support/check_run.h"
#include "test/support/inband_check.h"

//  --- Encoding

START_TEST (test_encode_vectors)
{
    ic_setup ();
    uint8_t out[INBAND_SIZE];
    const uint8_t r2l[] = { INBAND_HO_R2L };
    const uint8_t complete[] = { INBAND_HO_COMPLETE_L2R };
    const uint8_t l2r[] = { INBAND_HO_L2R, 8443 >> 8, 8443 & 0xff };
    ck_assert_int_eq (inband_encode (KEY32, 32, r2l, 1, out), 0);
    ck_assert_mem_eq (out, INBAND_HO_R2L_K32, INBAND_SIZE);
    ck_assert_int_eq (inband_encode (KEY32, 32, complete, 1, out), 0);
    ck_assert_mem_eq (out, INBAND_HO_COMPLETE_L2R_K32, INBAND_SIZE);
    ck_assert_int_eq (inband_encode (KEY32, 32, l2r, 3, out), 0);
    ck_assert_mem_eq (out, INBAND_HO_L2R_8443_K32, INBAND_SIZE);
    ck_assert_int_eq (inband_encode (KEY16, 16, r2l, 1, out), 0);
    ck_assert_mem_eq (out, INBAND_HO_R2L_K16, INBAND_SIZE);

    //  8 command bytes fit, 9 do not; bad keys are refused.
    const uint8_t eight[9] = { 2, 2, 2, 2, 2, 2, 2, 2, 2 };
    ck_assert_int_eq (inband_encode (KEY32, 32, eight, 8, out), 0);
    ck_assert_mem_eq (out + INBAND_MAC_SIZE, eight, 8);
    ck_assert_int_eq (inband_encode (KEY32, 32, eight, 9, out), -1);
    ck_assert_int_eq (inband_encode (KEY32, 31, r2l, 1, out), -1);
    //  No command bytes: a NOP block, all padding.
    ck_assert_int_eq (inband_encode (KEY32, 32, NULL, 0, out), 0);
    for (size_t i = INBAND_MAC_SIZE; i < INBAND_SIZE; i++)
        ck_assert_uint_eq (out[i], 0);

    ck_assert_str_eq (inband_cmd_name (INBAND_HO_R2L), "HO_R2L");
    ck_assert_str_eq (inband_cmd_name (INBAND_HO_COMPLETE_L2R), "HO_COMPLETE_L2R");
    ck_assert_str_eq (inband_cmd_name (77), "?");
}
END_TEST

START_TEST (test_decode_vectors)
{
    ic_setup ();
    ic_rec_t rec;
    ic_run (&rec, INBAND_HO_R2L_K32, INBAND_SIZE, NULL, 0);
    ck_assert_uint_eq (rec.ndata, 0);
    ck_assert_uint_eq (rec.ncmds, 1);
    ck_assert_int_eq (rec.cmds[0].cmd, INBAND_HO_R2L);

    ic_run (&rec, INBAND_HO_COMPLETE_L2R_K32, INBAND_SIZE, NULL, 0);
    ck_assert_uint_eq (rec.ncmds, 1);
    ck_assert_int_eq (rec.cmds[0].cmd, INBAND_HO_COMPLETE_L2R);

    ic_run (&rec, INBAND_HO_L2R_8443_K32, INBAND_SIZE, NULL, 0);
    ck_assert_uint_eq (rec.ndata, 0);
    ck_assert_uint_eq (rec.ncmds, 1);
    ck_assert_int_eq (rec.cmds[0].cmd, INBAND_HO_L2R);
    ck_assert_uint_eq (rec.cmds[0].port, 8443);

    //  Under another key it is only data.
    ic_run (&rec, INBAND_HO_R2L_K16, INBAND_SIZE, NULL, 0);
    ck_assert_uint_eq (rec.ncmds, 0);
    ck_assert_uint_eq (rec.ndata, INBAND_SIZE);
    ck_assert_mem_eq (rec.data, INBAND_HO_R2L_K16, INBAND_SIZE);
}
END_TEST

START_TEST (test_several_commands)
{
    ic_setup ();
    struct {
        uint8_t cmds[8];
        size_t n;
        int expect[8];
        uint16_t port[8];
        size_t nexpect;
    } cases[] = {
        { { 2, 4 }, 2, { 2, 4 }, { 0, 0 }, 2 },
        { { 1, 0x20, 0xfb, 2 }, 4, { 1, 2 }, { 8443, 0 }, 2 },
        { { 4, 0, 2 }, 3, { 4 }, { 0 }, 1 },           //  0 ends the parsing
        { { 0, 2, 2 }, 3, { 0 }, { 0 }, 0 },
        { { 0 }, 0, { 0 }, { 0 }, 0 },                  //  all padding: vanishes
        { { 3, 3, 3, 3, 3, 3, 3, 3 }, 8, { 3, 3, 3, 3, 3, 3, 3, 3 }, { 0 }, 8 },
        { { 2, 2, 2, 2, 2, 1, 0xff, 0xff }, 8, { 2, 2, 2, 2, 2, 1 }, { 0, 0, 0, 0, 0, 65535 }, 6 },
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        ic_buf_t buf = { .n = 0 };
        ic_put (&buf, (const uint8_t *) "before", 6);
        ic_put_cmd (&buf, cases[c].cmds, cases[c].n);
        ic_put (&buf, (const uint8_t *) "after", 5);
        ic_rec_t rec;
        ic_run (&rec, buf.d, buf.n, NULL, 0);
        ck_assert_uint_eq (rec.ndata, 11);
        ck_assert_mem_eq (rec.data, "beforeafter", 11);
        ck_assert_uint_eq (rec.ncmds, cases[c].nexpect);
        for (size_t i = 0; i < rec.ncmds; i++) {
            ck_assert_int_eq (rec.cmds[i].cmd, cases[c].expect[i]);
            ck_assert_uint_eq (rec.cmds[i].port, cases[c].port[i]);
            ck_assert_uint_eq (rec.cmds[i].at, 6);
        }
    }
}
END_TEST


//  --- Scanning

START_TEST (test_every_offset)
{
    ic_setup ();
    uint8_t random[100];
    ck_assert_int_eq (RAND_bytes (random, sizeof random), 1);
    const uint8_t r2l[] = { INBAND_HO_R2L };
    for (size_t off = 0; off <= sizeof random; off++) {
        ic_buf_t buf = { .n = 0 };
        ic_put (&buf, random, off);
        ic_put_cmd (&buf, r2l, 1);
        ic_put (&buf, random + off, sizeof random - off);

        ic_rec_t one;
        ic_run (&one, buf.d, buf.n, NULL, 0);
        ck_assert_uint_eq (one.ndata, sizeof random);
        ck_assert_mem_eq (one.data, random, sizeof random);
        ck_assert_uint_eq (one.ncmds, 1);
        ck_assert_int_eq (one.cmds[0].cmd, INBAND_HO_R2L);
        ck_assert_uint_eq (one.cmds[0].at, off);

        //  The same for byte by byte, and cut just inside and around the command.
        ic_rec_t other;
        ic_run_steps (&other, buf.d, buf.n, 1);
        ic_assert_same (&one, &other);
        const size_t edges[] = { 1, 7, 8, 9, 15, 16, 17 };
        for (size_t e = 0; e < sizeof edges / sizeof edges[0]; e++) {
            size_t cut = off + edges[e];
            if (cut <= buf.n) {
                ic_run (&other, buf.d, buf.n, &cut, 1);
                ic_assert_same (&one, &other);
            }
            if (off >= edges[e]) {
                cut = off - edges[e];
                ic_run (&other, buf.d, buf.n, &cut, 1);
                ic_assert_same (&one, &other);
            }
        }
    }
}
END_TEST

START_TEST (test_held_bytes)
{
    ic_setup ();
    uint8_t stream[40];
    ck_assert_int_eq (RAND_bytes (stream, sizeof stream), 1);
    inband_rx_t *rx = inband_rx_new (KEY32, 32);
    ic_rec_t rec;
    ic_rec_init (&rec, rx);
    inband_rx_set_tapping (rx, true);
    ck_assert (inband_rx_tapping (rx));

    //  Fewer than 16 bytes cannot be decided: all held.
    ck_assert_int_eq (inband_rx_feed (rx, stream, 10, ic_on_data, ic_on_command, &rec), 0);
    ck_assert_uint_eq (rec.ndata, 0);
    ck_assert_uint_eq (inband_rx_held (rx), 10);
    //  20 bytes: 5 decided, 15 held.
    ck_assert_int_eq (inband_rx_feed (rx, stream + 10, 10, ic_on_data, ic_on_command, &rec), 0);
    ck_assert_uint_eq (rec.ndata, 5);
    ck_assert_uint_eq (inband_rx_held (rx), 15);
    //  Stopping keeps them until the next feed or a flush; a second flush is empty.
    inband_rx_set_tapping (rx, false);
    ck_assert (!inband_rx_tapping (rx));
    ck_assert_uint_eq (rec.ndata, 5);
    inband_rx_flush (rx, ic_on_data, &rec);
    ck_assert_uint_eq (rec.ndata, 20);
    ck_assert_uint_eq (inband_rx_held (rx), 0);
    inband_rx_flush (rx, ic_on_data, &rec);
    ck_assert_uint_eq (rec.ndata, 20);
    ck_assert_mem_eq (rec.data, stream, 20);

    //  Held bytes come out first at the next feed, in order.
    inband_rx_set_tapping (rx, true);
    ck_assert_int_eq (inband_rx_feed (rx, stream + 20, 12, ic_on_data, ic_on_command, &rec), 0);
    ck_assert_uint_eq (inband_rx_held (rx), 12);
    inband_rx_set_tapping (rx, false);
    ck_assert_int_eq (inband_rx_feed (rx, stream + 32, 8, ic_on_data, ic_on_command, &rec), 0);
    ck_assert_uint_eq (rec.ndata, 40);
    ck_assert_mem_eq (rec.data, stream, 40);
    ck_assert_uint_eq (rec.ncmds, 0);
    inband_rx_destroy (&rx);
}
END_TEST

START_TEST (test_stopped_bytes_not_rescanned)
{
    ic_setup ();
    //  A command split across a stop and a restart of tapping: the first part
    //  became data when tapping stopped, so no command is found.
    inband_rx_t *rx = inband_rx_new (KEY32, 32);
    ic_rec_t rec;
    ic_rec_init (&rec, rx);
    inband_rx_set_tapping (rx, true);
    ck_assert_int_eq (inband_rx_feed (rx, INBAND_HO_R2L_K32, 10, ic_on_data, ic_on_command, &rec), 0);
    inband_rx_set_tapping (rx, false);
    inband_rx_set_tapping (rx, true);
    ck_assert_int_eq (inband_rx_feed (rx, INBAND_HO_R2L_K32 + 10, 6, ic_on_data, ic_on_command, &rec), 0);
    inband_rx_set_tapping (rx, false);
    inband_rx_flush (rx, ic_on_data, &rec);
    ck_assert_uint_eq (rec.ncmds, 0);
    ck_assert_uint_eq (rec.ndata, INBAND_SIZE);
    ck_assert_mem_eq (rec.data, INBAND_HO_R2L_K32, INBAND_SIZE);
    inband_rx_destroy (&rx);
}
END_TEST

START_TEST (test_not_tapping)
{
    ic_setup ();
    ic_buf_t buf = { .n = 0 };
    const uint8_t r2l[] = { INBAND_HO_R2L };
    ic_put_random (&buf, 30);
    ic_put_cmd (&buf, r2l, 1);
    ic_put_random (&buf, 30);
    inband_rx_t *rx = inband_rx_new (KEY32, 32);
    ic_rec_t rec;
    ic_rec_init (&rec, rx);
    //  Everything is data, in one chunk pointing at the input (not copied).
    ck_assert_int_eq (inband_rx_feed (rx, buf.d, buf.n, ic_on_data, NULL, &rec), 0);
    ck_assert_uint_eq (rec.ncmds, 0);
    ck_assert_uint_eq (rec.chunks, 1);
    ck_assert_ptr_eq (rec.last_ptr, buf.d);
    ck_assert_uint_eq (rec.ndata, buf.n);
    ck_assert_mem_eq (rec.data, buf.d, buf.n);
    ck_assert_uint_eq (inband_rx_held (rx), 0);
    //  Byte by byte: the same.
    ic_rec_init (&rec, rx);
    for (size_t i = 0; i < buf.n; i++)
        ck_assert_int_eq (inband_rx_feed (rx, buf.d + i, 1, ic_on_data, ic_on_command, &rec), 0);
    ck_assert_uint_eq (rec.ncmds, 0);
    ck_assert_uint_eq (rec.ndata, buf.n);
    ck_assert_mem_eq (rec.data, buf.d, buf.n);
    //  Empty feeds deliver nothing.
    ck_assert_int_eq (inband_rx_feed (rx, NULL, 0, ic_on_data, NULL, &rec), 0);
    ck_assert_uint_eq (rec.chunks, buf.n);
    inband_rx_destroy (&rx);
}
END_TEST

START_TEST (test_forged_macs)
{
    ic_setup ();
    //  Random bytes where the MAC should be, before a well-formed CMD.
    for (int round = 0; round < 50; round++) {
        ic_buf_t buf = { .n = 0 };
        ic_put_random (&buf, 20);
        uint8_t fake[INBAND_SIZE];
        memcpy (fake, INBAND_HO_R2L_K32, INBAND_SIZE);
        ck_assert_int_eq (RAND_bytes (fake, INBAND_MAC_SIZE), 1);
        if (memcmp (fake, INBAND_HO_R2L_K32, INBAND_MAC_SIZE) == 0)
            continue;
        ic_put (&buf, fake, sizeof fake);
        ic_put_random (&buf, 20);
        ic_rec_t rec;
        ic_run (&rec, buf.d, buf.n, NULL, 0);
        ck_assert_uint_eq (rec.ncmds, 0);
        ck_assert_uint_eq (rec.ndata, buf.n);
        ck_assert_mem_eq (rec.data, buf.d, buf.n);
    }
    //  Any single flipped bit of a real command, in its MAC or its CMD.
    for (size_t bit = 0; bit < INBAND_SIZE * 8; bit++) {
        uint8_t flipped[INBAND_SIZE];
        memcpy (flipped, INBAND_HO_COMPLETE_L2R_K32, INBAND_SIZE);
        flipped[bit / 8] ^= (uint8_t) (1 << (bit % 8));
        ic_buf_t buf = { .n = 0 };
        ic_put (&buf, (const uint8_t *) "0123456789", 10);
        ic_put (&buf, flipped, sizeof flipped);
        ic_put (&buf, (const uint8_t *) "abcdefghijklmnopqrstuvwxyz", 26);
        ic_rec_t rec;
        ic_run (&rec, buf.d, buf.n, NULL, 0);
        ck_assert_uint_eq (rec.ncmds, 0);
        ck_assert_uint_eq (rec.ndata, buf.n);
        ck_assert_mem_eq (rec.data, buf.d, buf.n);
    }
}
END_TEST

START_TEST (test_splits_equal_one_shot)
{
    ic_setup ();
    //  A longer stream with commands at the start, back to back, and at the end.
    const uint8_t r2l[] = { INBAND_HO_R2L };
    const uint8_t complete[] = { INBAND_HO_COMPLETE_L2R };
    const uint8_t l2r[] = { INBAND_HO_L2R, 0x01, 0xbb, INBAND_HO_COMPLETE_R2L };
    ic_buf_t buf = { .n = 0 };
    ic_put_cmd (&buf, r2l, 1);
    ic_put_random (&buf, 300);
    ic_put_cmd (&buf, complete, 1);
    ic_put_cmd (&buf, l2r, sizeof l2r);
    ic_put_random (&buf, 1);
    ic_put_cmd (&buf, r2l, 1);
    ic_put_random (&buf, 15);
    ic_put_cmd (&buf, complete, 1);
    ic_put_random (&buf, 16);
    ic_put_cmd (&buf, r2l, 1);
    ic_put_random (&buf, 777);
    ic_put_cmd (&buf, complete, 1);

    ic_rec_t one;
    ic_run (&one, buf.d, buf.n, NULL, 0);
    ck_assert_uint_eq (one.ndata, 300 + 1 + 15 + 16 + 777);
    const int expect[] = { 2, 4, 1, 3, 2, 4, 2, 4 };
    const size_t at[] = { 0, 300, 300, 300, 301, 316, 332, 1109 };
    ck_assert_uint_eq (one.ncmds, 8);
    for (size_t i = 0; i < 8; i++) {
        ck_assert_int_eq (one.cmds[i].cmd, expect[i]);
        ck_assert_uint_eq (one.cmds[i].at, at[i]);
    }
    ck_assert_uint_eq (one.cmds[2].port, 443);

    ic_rec_t other;
    const size_t steps[] = { 1, 2, 3, 7, 15, 16, 17, 31, 100 };
    for (size_t s = 0; s < sizeof steps / sizeof steps[0]; s++) {
        ic_run_steps (&other, buf.d, buf.n, steps[s]);
        ic_assert_same (&one, &other);
    }
    //  Random cuts.
    for (int round = 0; round < 20; round++) {
        size_t cuts[64];
        size_t ncuts = 0, at_cut = 0;
        while (ncuts < 64) {
            at_cut += (size_t) (random () % 60);
            if (at_cut > buf.n)
                break;
            cuts[ncuts++] = at_cut;
        }
        ic_run (&other, buf.d, buf.n, cuts, ncuts);
        ic_assert_same (&one, &other);
    }
}
END_TEST

START_TEST (test_malformed)
{
    ic_setup ();
    //  A CMD that does not parse is data, even under a valid MAC: no sender
    //  makes one, and only parsable offsets are worth an HMAC (the scanner's
    //  prefilter). No command of the list is run.
    struct {
        uint8_t cmds[8];
        size_t n;
    } cases[] = {
        { { 9 }, 1 },                               //  unknown command
        { { 2, 255 }, 2 },
        { { 2, 2, 2, 2, 2, 2, 1, 0x20 }, 8 },       //  HO_L2R without room for its port
        { { 4, 4, 4, 4, 4, 4, 4, 1 }, 8 },
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        ic_buf_t buf = { .n = 0 };
        ic_put (&buf, (const uint8_t *) "data", 4);
        ic_put_cmd (&buf, cases[c].cmds, cases[c].n);
        ic_put (&buf, (const uint8_t *) "more data", 9);
        inband_rx_t *rx = inband_rx_new (KEY32, 32);
        ic_rec_t rec;
        ic_rec_init (&rec, rx);
        inband_rx_set_tapping (rx, true);
        ck_assert_int_eq (inband_rx_feed (rx, buf.d, buf.n, ic_on_data, ic_on_command, &rec), 0);
        inband_rx_set_tapping (rx, false);
        inband_rx_flush (rx, ic_on_data, &rec);
        ck_assert_uint_eq (rec.ndata, buf.n);
        ck_assert_mem_eq (rec.data, buf.d, buf.n);
        ck_assert_uint_eq (rec.ncmds, 0);
        inband_rx_destroy (&rx);
    }
    //  on_command refusing a command fails the feed.
    inband_rx_t *rx = inband_rx_new (KEY32, 32);
    ic_rec_t rec;
    ic_rec_init (&rec, rx);
    rec.fail_cmd = INBAND_HO_R2L;
    inband_rx_set_tapping (rx, true);
    ck_assert_int_eq (inband_rx_feed (rx, INBAND_HO_R2L_K32, INBAND_SIZE, ic_on_data, ic_on_command, &rec), -1);
    ck_assert_uint_eq (rec.ncmds, 1);
    inband_rx_destroy (&rx);

    ck_assert_ptr_null (inband_rx_new (KEY32, 0));
    ck_assert_ptr_null (inband_rx_new (KEY32, 17));
    ck_assert_ptr_null (inband_rx_new (NULL, 32));
}
END_TEST

START_TEST (test_stop_tapping_in_command)
{
    ic_setup ();
    //  The dialer stops tapping when HO_R2L arrives: what follows is data,
    //  even a second valid command, and it is passed on uncopied.
    ic_buf_t buf = { .n = 0 };
    ic_put (&buf, (const uint8_t *) "AAAA", 4);
    ic_put (&buf, INBAND_HO_R2L_K32, INBAND_SIZE);
    ic_put (&buf, (const uint8_t *) "BBBBBBBBBBBBBBBBBBBBBBBB", 24);
    ic_put (&buf, INBAND_HO_COMPLETE_L2R_K32, INBAND_SIZE);
    ic_put (&buf, (const uint8_t *) "CC", 2);
    inband_rx_t *rx = inband_rx_new (KEY32, 32);
    ic_rec_t rec;
    ic_rec_init (&rec, rx);
    rec.stop_cmd = INBAND_HO_R2L;
    inband_rx_set_tapping (rx, true);
    ck_assert_int_eq (inband_rx_feed (rx, buf.d, buf.n, ic_on_data, ic_on_command, &rec), 0);
    ck_assert_uint_eq (rec.ncmds, 1);
    ck_assert_int_eq (rec.cmds[0].cmd, INBAND_HO_R2L);
    ck_assert_uint_eq (rec.cmds[0].at, 4);
    ck_assert_uint_eq (rec.ndata, buf.n - INBAND_SIZE);
    ck_assert_mem_eq (rec.data, "AAAA", 4);
    ck_assert_mem_eq (rec.data + 4, buf.d + 4 + INBAND_SIZE, buf.n - 4 - INBAND_SIZE);
    ck_assert_ptr_eq (rec.last_ptr, buf.d + 4 + INBAND_SIZE);
    ck_assert_uint_eq (inband_rx_held (rx), 0);

    //  Same with the command arriving in pieces (from held bytes).
    inband_rx_destroy (&rx);
    rx = inband_rx_new (KEY32, 32);
    ic_rec_init (&rec, rx);
    rec.stop_cmd = INBAND_HO_R2L;
    inband_rx_set_tapping (rx, true);
    ck_assert_int_eq (inband_rx_feed (rx, buf.d, 12, ic_on_data, ic_on_command, &rec), 0);
    ck_assert_int_eq (inband_rx_feed (rx, buf.d + 12, buf.n - 12, ic_on_data, ic_on_command, &rec), 0);
    ck_assert_uint_eq (rec.ncmds, 1);
    ck_assert_uint_eq (rec.ndata, buf.n - INBAND_SIZE);
    ck_assert_mem_eq (rec.data + 4, buf.d + 4 + INBAND_SIZE, buf.n - 4 - INBAND_SIZE);
    inband_rx_destroy (&rx);
}
END_TEST

int
main (void)
{
    Suite *suite = suite_create ("inband_codec");
    TCase *tc = tcase_create ("core");
    tcase_add_test (tc, test_encode_vectors);
    tcase_add_test (tc, test_decode_vectors);
    tcase_add_test (tc, test_several_commands);
    tcase_add_test (tc, test_every_offset);
    tcase_add_test (tc, test_held_bytes);
    tcase_add_test (tc, test_stopped_bytes_not_rescanned);
    tcase_add_test (tc, test_not_tapping);
    tcase_add_test (tc, test_forged_macs);
    tcase_add_test (tc, test_splits_equal_one_shot);
    tcase_add_test (tc, test_malformed);
    tcase_add_test (tc, test_stop_tapping_in_command);
    tcase_set_timeout (tc, 60);
    suite_add_tcase (suite, tc);
    return check_run (suite);
}
