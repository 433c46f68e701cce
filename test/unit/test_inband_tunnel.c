/*  Tests for nodes/inband's tap node as two ends of a tunnel (each [tap,
    cipher], outer to outer) exchanging the handover commands, and as its
    own actor.
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

//  --- Two ends of a tunnel: each [tap, cipher], outer to outer through a
//  wire that carries what was sent when the test says (a socket); each end
//  acts on the commands it saw once its stack has returned (as a session).

typedef struct {
    node_stack_t *stack;
    inband_rx_t *rx;
    bool tapped;                //  rx is in the stack
    ic_tap_rec_t rec;
    node_out_t out;
    size_t carried;             //  bytes of rec.outer the wire has carried
    bool dialer;                //  answers HO_R2L with HO_COMPLETE_L2R
} s_end_t;

static void
s_end_init (s_end_t *end, const uint8_t iv[CIPHER_IV_SIZE], bool dialer)
{
    memset (end, 0, sizeof *end);
    ic_tap_rec_init (&end->rec, &end->out);
    end->stack = node_stack_new ();
    ck_assert_int_eq (node_stack_add (end->stack, NODE_OUTER, &cipher_node_class,
                                      cipher_new (KEY32, 32, iv)), 0);
    end->rx = inband_rx_new (KEY32, 32);
    end->dialer = dialer;
}

static void
s_end_tap (s_end_t *end)
{
    ck_assert_int_eq (node_stack_add (end->stack, NODE_INNER, &inband_tap_class, end->rx), 0);
    inband_rx_set_tapping (end->rx, true);
    end->tapped = true;
}

static void
s_end_untap (s_end_t *end)
{
    ck_assert_int_eq (node_stack_remove (end->stack, end->rx, &end->out), 0);
    end->tapped = false;
}

static void
s_end_send (s_end_t *end, const uint8_t *data, size_t len)
{
    uint8_t copy[IC_MAX];
    memcpy (copy, data, len);
    ck_assert_int_eq (node_stack_recv (end->stack, NODE_INNER, copy, len, 0, &end->out), 0);
}

static void
s_end_send_cmd (s_end_t *end, uint8_t cmd)
{
    uint8_t encoded[INBAND_SIZE];
    ck_assert_int_eq (inband_encode (KEY32, 32, &cmd, 1, encoded), 0);
    s_end_send (end, encoded, sizeof encoded);
}

//  What `from` sent since the last carry reaches `to`; then `to` acts.
static void
s_carry (s_end_t *from, s_end_t *to)
{
    if (from->rec.nouter == from->carried)
        return;
    uint8_t wire[IC_MAX];
    size_t len = from->rec.nouter - from->carried;
    memcpy (wire, from->rec.outer + from->carried, len);
    from->carried = from->rec.nouter;
    size_t first = to->rec.nrecs;
    ck_assert_int_eq (node_stack_recv (to->stack, NODE_OUTER, wire, len, 0, &to->out), 0);
    for (size_t i = first; i < to->rec.nrecs; i++) {
        if (to->rec.recs[i].kind != 'e')
            continue;
        uint64_t cmd = to->rec.recs[i].value;
        if (to->dialer && cmd == INBAND_HO_R2L) {
            s_end_send_cmd (to, INBAND_HO_COMPLETE_L2R);
            s_end_untap (to);
        }
        if (!to->dialer && cmd == INBAND_HO_COMPLETE_L2R)
            s_end_untap (to);
    }
}

START_TEST (test_node_two_ends_handover)
{
    ic_setup ();
    //  The S1 side of a handover (PROTOCOL.md section 5).
    uint8_t iv[CIPHER_IV_SIZE];
    ck_assert_int_eq (RAND_bytes (iv, sizeof iv), 1);
    s_end_t *dialer = (s_end_t *) zmalloc (sizeof (s_end_t));
    s_end_t *acceptor = (s_end_t *) zmalloc (sizeof (s_end_t));
    s_end_init (dialer, iv, true);
    s_end_init (acceptor, iv, false);

    //  Ordinary traffic both ways.
    s_end_send (dialer, (const uint8_t *) "l2r-1 ", 6);
    s_end_send (acceptor, (const uint8_t *) "r2l-1 ", 6);
    s_carry (dialer, acceptor);
    s_carry (acceptor, dialer);
    //  1. the dialer starts tapping; 2. so does the acceptor, and sends HO_R2L.
    s_end_tap (dialer);
    s_end_send (dialer, (const uint8_t *) "l2r-2 ", 6);
    s_carry (dialer, acceptor);
    s_end_tap (acceptor);
    s_end_send_cmd (acceptor, INBAND_HO_R2L);
    //  3. the dialer sees HO_R2L, answers HO_COMPLETE_L2R and stops tapping;
    //  4. the acceptor sees it and stops tapping.
    s_carry (acceptor, dialer);
    ck_assert (!dialer->tapped);
    ck_assert (acceptor->tapped);
    s_carry (dialer, acceptor);
    ck_assert (!acceptor->tapped);
    ck_assert (!inband_rx_tapping (dialer->rx));
    ck_assert (!inband_rx_tapping (acceptor->rx));
    //  Data after the switch still decrypts: nothing reset the keystream.
    s_end_send (dialer, (const uint8_t *) "l2r-3", 5);
    s_end_send (acceptor, (const uint8_t *) "r2l-3", 5);
    s_carry (dialer, acceptor);
    s_carry (acceptor, dialer);

    int cmds[8];
    size_t at[8];
    ck_assert_uint_eq (ic_commands (&acceptor->rec, cmds, at, 8), 1);
    ck_assert_int_eq (cmds[0], INBAND_HO_COMPLETE_L2R);
    ck_assert_uint_eq (at[0], 12);
    ck_assert_uint_eq (acceptor->rec.ninner, 17);
    ck_assert_mem_eq (acceptor->rec.inner, "l2r-1 l2r-2 l2r-3", 17);
    ck_assert_uint_eq (ic_commands (&dialer->rec, cmds, at, 8), 1);
    ck_assert_int_eq (cmds[0], INBAND_HO_R2L);
    ck_assert_uint_eq (at[0], 6);
    ck_assert_uint_eq (dialer->rec.ninner, 11);
    ck_assert_mem_eq (dialer->rec.inner, "r2l-1 r2l-3", 11);
    //  On the wire: 6 + 6 + 16 + 5 bytes from the dialer, none of them clear.
    ck_assert_uint_eq (dialer->rec.nouter, 33);
    ck_assert (memmem (dialer->rec.outer, dialer->rec.nouter, "l2r", 3) == NULL);
    ck_assert (memmem (dialer->rec.outer, dialer->rec.nouter,
                       INBAND_HO_COMPLETE_L2R_K32, INBAND_SIZE) == NULL);
    ck_assert_ptr_null (node_stack_failed (dialer->stack));
    ck_assert_ptr_null (node_stack_failed (acceptor->stack));
    s_end_t *ends[] = { dialer, acceptor };
    for (int i = 0; i < 2; i++) {
        node_stack_destroy (&ends[i]->stack);
        inband_rx_destroy (&ends[i]->rx);
        free (ends[i]);
    }
}
END_TEST


//  --- The tap as its own actor

//  The next message from the actor, as "<to>:<bytes>" or "<EVENT>=<value>".
static char *
s_actor_next (zactor_t *actor)
{
    zmsg_t *msg = zmsg_recv (actor);
    ck_assert_ptr_nonnull (msg);
    char *text = NULL;
    if (zframe_streq (zmsg_first (msg), "EVENT")) {
        ck_assert_int_eq ((int) zmsg_size (msg), 4);
        ck_assert (zframe_streq (zmsg_next (msg), "tap"));
        char *event = zframe_strdup (zmsg_next (msg));
        char *value = zframe_strdup (zmsg_next (msg));
        text = zsys_sprintf ("%s=%s", event, value);
        zstr_free (&event);
        zstr_free (&value);
    }
    else {
        actor_recv_t in;
        ck_assert_int_eq (actor_recv_parse (msg, &in), 0);
        ck_assert_str_eq (in.from, "tap");
        text = zsys_sprintf ("%s:%.*s", in.to, (int) in.len, (const char *) in.data);
    }
    zmsg_destroy (&msg);
    return text;
}

static void
s_actor_expect (zactor_t *actor, const char *expect)
{
    char *text = s_actor_next (actor);
    ck_assert_str_eq (text, expect);
    zstr_free (&text);
}

START_TEST (test_node_actor)
{
    ic_setup ();
    inband_rx_t *rx = inband_rx_new (KEY32, 32);
    inband_rx_set_tapping (rx, true);
    node_t node = { &inband_tap_class, rx };
    zactor_t *actor = node_actor_new (&node, "tap");
    ck_assert_ptr_nonnull (actor);
    zsock_set_rcvtimeo (actor, 5000);
    ic_buf_t buf = { .n = 0 };
    ic_put (&buf, (const uint8_t *) "hello ", 6);
    ic_put (&buf, INBAND_HO_R2L_K32, INBAND_SIZE);
    ic_put (&buf, (const uint8_t *) "world", 5);
    ck_assert_int_eq (actor_send_recv (actor, "outer", buf.d, buf.n), 0);
    s_actor_expect (actor, "inner:hello ");
    s_actor_expect (actor, "COMMAND=2");
    //  Toward outer nothing is held; toward inner "world" goes and tapping stops.
    ck_assert_int_eq (zstr_sendx (actor, "FLUSH", "outer", NULL), 0);
    ck_assert_int_eq (zstr_sendx (actor, "FLUSH", "inner", NULL), 0);
    s_actor_expect (actor, "inner:world");
    //  Not tapping any more: a command is data, passed on as it is.
    ck_assert_int_eq (actor_send_recv (actor, "outer", INBAND_HO_R2L_K32, INBAND_SIZE), 0);
    zmsg_t *msg = zmsg_recv (actor);
    ck_assert_ptr_nonnull (msg);
    actor_recv_t in;
    ck_assert_int_eq (actor_recv_parse (msg, &in), 0);
    ck_assert_str_eq (in.to, "inner");
    ck_assert_uint_eq (in.len, INBAND_SIZE);
    ck_assert_mem_eq (in.data, INBAND_HO_R2L_K32, INBAND_SIZE);
    zmsg_destroy (&msg);
    ck_assert_int_eq (actor_send_recv (actor, "inner", "up", 2), 0);
    s_actor_expect (actor, "outer:up");
    zactor_destroy (&actor);
    //  The scanner was borrowed: still ours, and it stopped tapping.
    ck_assert (!inband_rx_tapping (rx));
    ck_assert_uint_eq (inband_rx_held (rx), 0);
    inband_rx_destroy (&rx);
}
END_TEST

int
main (void)
{
    Suite *suite = suite_create ("inband_tunnel");
    TCase *tc = tcase_create ("core");
    tcase_add_test (tc, test_node_two_ends_handover);
    tcase_add_test (tc, test_node_actor);
    tcase_set_timeout (tc, 60);
    suite_add_tcase (suite, tc);
    return check_run (suite);
}
