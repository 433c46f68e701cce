/*  Tests for nodes/inband's tap node in a node stack: commands as events
    after the data before them, undecided bytes held until a flush toward
    inner, passthrough untouched when not tapping, malformed commands, and
    in a stack with the cipher.
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

//  --- Node: the scanner as a tap in a stack

START_TEST (test_node_tap_scan)
{
    ic_setup ();
    ic_buf_t buf = { .n = 0 };
    ic_put (&buf, (const uint8_t *) "hello ", 6);
    ic_put (&buf, INBAND_HO_L2R_8443_K32, INBAND_SIZE);
    ic_put (&buf, (const uint8_t *) "AAAA", 4);
    ic_put (&buf, INBAND_HO_R2L_K32, INBAND_SIZE);
    ic_put (&buf, INBAND_HO_COMPLETE_L2R_K32, INBAND_SIZE);
    ic_put (&buf, (const uint8_t *) "world", 5);

    //  In one chunk, byte by byte, and in 7-byte pieces: the same.
    const size_t steps[] = { 0, 1, 7 };
    for (size_t s = 0; s < sizeof steps / sizeof steps[0]; s++) {
        inband_rx_t *rx = inband_rx_new (KEY32, 32);
        inband_rx_set_tapping (rx, true);
        node_stack_t *stack = ic_tap_stack (rx);
        ic_tap_rec_t rec;
        node_out_t out;
        ic_tap_rec_init (&rec, &out);
        size_t step = steps[s] ? steps[s] : buf.n;
        uint8_t copy[IC_MAX];
        memcpy (copy, buf.d, buf.n);
        for (size_t at = 0; at < buf.n; at += step) {
            size_t n = buf.n - at < step ? buf.n - at : step;
            ck_assert_int_eq (node_stack_recv (stack, NODE_OUTER, copy + at, n, 0, &out), 0);
        }
        //  Each command is an event after the data before it.
        int cmds[8];
        size_t at[8];
        ck_assert_uint_eq (ic_commands (&rec, cmds, at, 8), 3);
        ck_assert_int_eq (cmds[0], INBAND_HO_L2R);
        ck_assert_uint_eq (at[0], 6);
        ck_assert_int_eq (cmds[1], INBAND_HO_R2L);
        ck_assert_uint_eq (at[1], 10);
        ck_assert_int_eq (cmds[2], INBAND_HO_COMPLETE_L2R);
        ck_assert_uint_eq (at[2], 10);
        //  "world" is held: fewer than 16 bytes after the last command.
        ck_assert_uint_eq (rec.ninner, 10);
        ck_assert_mem_eq (rec.inner, "hello AAAA", 10);
        ck_assert_uint_eq (inband_rx_held (rx), 5);
        ck_assert_uint_eq (rec.nouter, 0);

        //  A flush toward outer lets nothing go and changes nothing.
        size_t nrecs = rec.nrecs;
        node_stack_flush (stack, NODE_OUTER, &out);
        ck_assert_uint_eq (rec.nrecs, nrecs);
        ck_assert (inband_rx_tapping (rx));
        ck_assert_uint_eq (inband_rx_held (rx), 5);
        //  Toward inner: tapping stops and the held bytes go on, once.
        node_stack_flush (stack, NODE_INNER, &out);
        ck_assert (!inband_rx_tapping (rx));
        ck_assert_uint_eq (inband_rx_held (rx), 0);
        ck_assert_uint_eq (rec.nrecs, nrecs + 1);
        ck_assert_int_eq (rec.recs[nrecs].kind, 'i');
        ck_assert_uint_eq (rec.ninner, 15);
        ck_assert_mem_eq (rec.inner, "hello AAAAworld", 15);
        node_stack_flush (stack, NODE_INNER, &out);
        ck_assert_uint_eq (rec.nrecs, nrecs + 1);
        ck_assert_ptr_null (node_stack_failed (stack));
        ck_assert (!node_stack_gated (stack));

        //  The stack only borrowed the scanner: it is still ours.
        node_stack_destroy (&stack);
        ck_assert (!inband_rx_tapping (rx));
        inband_rx_destroy (&rx);
    }
}
END_TEST

START_TEST (test_node_tap_passthrough)
{
    ic_setup ();
    ic_buf_t buf = { .n = 0 };
    ic_put_random (&buf, 30);
    ic_put (&buf, INBAND_HO_R2L_K32, INBAND_SIZE);
    ic_put_random (&buf, 30);
    uint8_t copy[IC_MAX];
    memcpy (copy, buf.d, buf.n);
    inband_rx_t *rx = inband_rx_new (KEY32, 32);
    node_stack_t *stack = ic_tap_stack (rx);
    ic_tap_rec_t rec;
    node_out_t out;
    ic_tap_rec_init (&rec, &out);

    //  Not tapping: a command is data; it all goes on in one chunk, the
    //  memory fed in, untouched.
    ck_assert_int_eq (node_stack_recv (stack, NODE_OUTER, copy, buf.n, 0, &out), 0);
    ck_assert_uint_eq (rec.nrecs, 1);
    ck_assert_int_eq (rec.recs[0].kind, 'i');
    ck_assert_ptr_eq (rec.recs[0].ptr, copy);
    ck_assert_uint_eq (rec.recs[0].len, buf.n);
    ck_assert_mem_eq (copy, buf.d, buf.n);
    ck_assert_uint_eq (inband_rx_held (rx), 0);

    //  From inner it is never scanned, tapping or not: passed on as it is,
    //  with its flags.
    for (int tapping = 0; tapping < 2; tapping++) {
        inband_rx_set_tapping (rx, tapping);
        size_t first = rec.nrecs;
        ck_assert_int_eq (node_stack_recv (stack, NODE_INNER, copy, buf.n, NODE_PADDING, &out), 0);
        ck_assert_int_eq (node_stack_recv (stack, NODE_INNER, copy, 5, 0, &out), 0);
        ck_assert_uint_eq (rec.nrecs, first + 2);
        ck_assert_int_eq (rec.recs[first].kind, 'o');
        ck_assert_ptr_eq (rec.recs[first].ptr, copy);
        ck_assert_uint_eq (rec.recs[first].len, buf.n);
        ck_assert_uint_eq (rec.recs[first].flags, NODE_PADDING);
        ck_assert_int_eq (rec.recs[first + 1].kind, 'o');
        ck_assert_uint_eq (rec.recs[first + 1].len, 5);
        ck_assert_uint_eq (rec.recs[first + 1].flags, 0);
        ck_assert_mem_eq (copy, buf.d, buf.n);
        ck_assert_uint_eq (inband_rx_held (rx), 0);
    }
    node_stack_destroy (&stack);
    inband_rx_destroy (&rx);
}
END_TEST

START_TEST (test_node_tap_malformed)
{
    ic_setup ();
    //  A valid MAC over a CMD that does not parse: data, not a failure; held
    //  while it could still start a command, let go by the flush.
    uint8_t bad[INBAND_SIZE];
    const uint8_t unknown[] = { 42 };
    ck_assert_int_eq (inband_encode (KEY32, 32, unknown, 1, bad), 0);
    inband_rx_t *rx = inband_rx_new (KEY32, 32);
    inband_rx_set_tapping (rx, true);
    node_stack_t *stack = ic_tap_stack (rx);
    ic_tap_rec_t rec;
    node_out_t out;
    ic_tap_rec_init (&rec, &out);
    uint8_t copy[INBAND_SIZE];
    memcpy (copy, bad, sizeof bad);
    ck_assert_int_eq (node_stack_recv (stack, NODE_OUTER, copy, sizeof copy, 0, &out), 0);
    ck_assert_ptr_null (node_stack_failed (stack));
    ck_assert_uint_eq (rec.ninner + inband_rx_held (rx), INBAND_SIZE);
    ck_assert_uint_gt (inband_rx_held (rx), 0);
    node_stack_flush (stack, NODE_INNER, &out);
    ck_assert_uint_eq (rec.ninner, INBAND_SIZE);
    ck_assert_mem_eq (rec.inner, bad, INBAND_SIZE);
    int cmds[8];
    size_t at[8];
    ck_assert_uint_eq (ic_commands (&rec, cmds, at, 8), 0);
    node_stack_destroy (&stack);
    inband_rx_destroy (&rx);
}
END_TEST

START_TEST (test_node_tap_with_cipher)
{
    ic_setup ();
    //  The receiving side of a tunnel during a handover: [tap, cipher], the
    //  scanner borrowed at the inner end, as a session does.
    uint8_t iv[CIPHER_IV_SIZE];
    ck_assert_int_eq (RAND_bytes (iv, sizeof iv), 1);
    cipher_t *sender = cipher_new (KEY32, 32, iv);
    node_stack_t *stack = node_stack_new ();
    ck_assert_int_eq (node_stack_add (stack, NODE_OUTER, &cipher_node_class,
                                      cipher_new (KEY32, 32, iv)), 0);
    ic_tap_rec_t rec;
    node_out_t out;
    ic_tap_rec_init (&rec, &out);

    //  Not tapping, a stack of in-place nodes: the memory fed in comes out.
    inband_rx_t *rx = inband_rx_new (KEY32, 32);
    ck_assert_int_eq (node_stack_add (stack, NODE_INNER, &inband_tap_class, rx), 0);
    uint8_t wire[IC_MAX];
    memcpy (wire, "plain", 5);
    ck_assert_int_eq (cipher_apply (sender, CIPHER_ENCRYPT, wire, wire, 5), 0);
    ck_assert_int_eq (node_stack_recv (stack, NODE_OUTER, wire, 5, 0, &out), 0);
    ck_assert_uint_eq (rec.nrecs, 1);
    ck_assert_ptr_eq (rec.recs[0].ptr, wire);
    ck_assert_mem_eq (wire, "plain", 5);
    uint8_t up[8];
    memcpy (up, "up", 2);
    ck_assert_int_eq (node_stack_recv (stack, NODE_INNER, up, 2, 0, &out), 0);
    ck_assert_uint_eq (rec.nrecs, 2);
    ck_assert_int_eq (rec.recs[1].kind, 'o');
    ck_assert_ptr_eq (rec.recs[1].ptr, up);

    //  Tapping: the decrypted stream is scanned.
    inband_rx_set_tapping (rx, true);
    ic_buf_t buf = { .n = 0 };
    ic_put (&buf, (const uint8_t *) "data", 4);
    ic_put (&buf, INBAND_HO_R2L_K32, INBAND_SIZE);
    ic_put (&buf, (const uint8_t *) "tail", 4);
    ck_assert_int_eq (cipher_apply (sender, CIPHER_ENCRYPT, buf.d, wire, buf.n), 0);
    ck_assert_int_eq (node_stack_recv (stack, NODE_OUTER, wire, buf.n, 0, &out), 0);
    int cmds[8];
    size_t at[8];
    ck_assert_uint_eq (ic_commands (&rec, cmds, at, 8), 1);
    ck_assert_int_eq (cmds[0], INBAND_HO_R2L);
    ck_assert_uint_eq (at[0], 9);
    ck_assert_uint_eq (rec.ninner, 9);
    ck_assert_uint_eq (inband_rx_held (rx), 4);

    //  Taking the tap out flushes it: the held bytes go on; the scanner is
    //  not destroyed (it stays its owner's) and no longer taps.
    ck_assert_int_eq (node_stack_remove (stack, rx, &out), 0);
    ck_assert_ptr_null (node_stack_find (stack, &inband_tap_class));
    ck_assert (!inband_rx_tapping (rx));
    ck_assert_uint_eq (inband_rx_held (rx), 0);
    ck_assert_uint_eq (rec.ninner, 13);
    ck_assert_mem_eq (rec.inner, "plaindatatail", 13);
    //  Without it, a command is data again.
    ck_assert_int_eq (cipher_apply (sender, CIPHER_ENCRYPT, INBAND_HO_R2L_K32, wire,
                                    INBAND_SIZE), 0);
    ck_assert_int_eq (node_stack_recv (stack, NODE_OUTER, wire, INBAND_SIZE, 0, &out), 0);
    ck_assert_uint_eq (ic_commands (&rec, cmds, at, 8), 1);
    ck_assert_uint_eq (rec.ninner, 13 + INBAND_SIZE);
    ck_assert_mem_eq (rec.inner + 13, INBAND_HO_R2L_K32, INBAND_SIZE);
    ck_assert_ptr_null (node_stack_failed (stack));
    node_stack_destroy (&stack);
    inband_rx_destroy (&rx);
    cipher_destroy (&sender);
}
END_TEST

int
main (void)
{
    Suite *suite = suite_create ("inband_tap");
    TCase *tc = tcase_create ("core");
    tcase_add_test (tc, test_node_tap_scan);
    tcase_add_test (tc, test_node_tap_passthrough);
    tcase_add_test (tc, test_node_tap_malformed);
    tcase_add_test (tc, test_node_tap_with_cipher);
    tcase_set_timeout (tc, 60);
    suite_add_tcase (suite, tc);
    return check_run (suite);
}
