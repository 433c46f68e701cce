/*  Tests for runtime/actor (RECV frames, actor_fail) and runtime/node (fused
    chains and single-node actors give the same results). */
#include <check.h>
#include <ctype.h>
#include <czmq.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/actor.h"
#include "runtime/base/log.h"
#include "runtime/node.h"

static void
s_setup (void)
{
    //  Check forks each test: CZMQ options per test.
    zsys_handler_set (NULL);
    zsys_set_linger (0);
    log_set_level (LOG_LEVEL_ERROR);
}

static zmsg_t *
s_msg (const char *first, ...)
{
    zmsg_t *msg = zmsg_new ();
    va_list args;
    va_start (args, first);
    for (const char *frame = first; frame; frame = va_arg (args, const char *))
        zmsg_addstr (msg, frame);
    va_end (args);
    return msg;
}


//  --- Frames

START_TEST (test_frame_roundtrip)
{
    s_setup ();
    zsock_t *back;
    zsock_t *front = zsys_create_pipe (&back);
    ck_assert_ptr_nonnull (front);

    const uint8_t data[] = { 'a', 0, 0xff, 'b' };
    ck_assert_int_eq (actor_send_recv (front, "tls", data, sizeof data), 0);
    zmsg_t *msg = zmsg_recv (back);
    ck_assert_int_eq ((int) zmsg_size (msg), 3);
    actor_recv_t in;
    ck_assert_int_eq (actor_recv_parse (msg, &in), 0);
    ck_assert_str_eq (in.from, "tls");
    ck_assert_str_eq (in.to, "");
    ck_assert_uint_eq (in.len, sizeof data);
    ck_assert_mem_eq (in.data, data, sizeof data);
    zmsg_destroy (&msg);

    //  Empty data and the optional To frame.
    ck_assert_int_eq (actor_send_recv_to (front, "node", NULL, 0, "outer"), 0);
    msg = zmsg_recv (back);
    ck_assert_int_eq ((int) zmsg_size (msg), 4);
    ck_assert_int_eq (actor_recv_parse (msg, &in), 0);
    ck_assert_str_eq (in.from, "node");
    ck_assert_str_eq (in.to, "outer");
    ck_assert_uint_eq (in.len, 0);
    zmsg_destroy (&msg);

    //  Longest valid name.
    char name[ACTOR_NAME_MAX + 2];
    memset (name, 'n', ACTOR_NAME_MAX);
    name[ACTOR_NAME_MAX] = '\0';
    ck_assert_int_eq (actor_send_recv (front, name, "x", 1), 0);
    msg = zmsg_recv (back);
    ck_assert_int_eq (actor_recv_parse (msg, &in), 0);
    ck_assert_str_eq (in.from, name);
    zmsg_destroy (&msg);

    zsock_destroy (&front);
    zsock_destroy (&back);
}
END_TEST

START_TEST (test_frame_send_rejects_bad_names)
{
    s_setup ();
    zsock_t *back;
    zsock_t *front = zsys_create_pipe (&back);
    char name[ACTOR_NAME_MAX + 2];
    memset (name, 'n', ACTOR_NAME_MAX + 1);
    name[ACTOR_NAME_MAX + 1] = '\0';
    ck_assert_int_eq (actor_send_recv (front, name, "x", 1), -1);
    ck_assert_int_eq (actor_send_recv (front, "", "x", 1), -1);
    ck_assert_int_eq (actor_send_recv (front, NULL, "x", 1), -1);
    ck_assert_int_eq (actor_send_recv_to (front, "a", "x", 1, ""), -1);
    ck_assert_int_eq (actor_send_recv (front, "a", NULL, 3), -1);
    //  Nothing was sent.
    zsock_set_rcvtimeo (back, 0);
    zmsg_t *msg = zmsg_recv (back);
    ck_assert_ptr_null (msg);
    zsock_destroy (&front);
    zsock_destroy (&back);
}
END_TEST

START_TEST (test_frame_malformed)
{
    s_setup ();
    actor_recv_t in;
    ck_assert_int_eq (actor_recv_parse (NULL, &in), -1);

    zmsg_t *msg = zmsg_new ();
    ck_assert_int_eq (actor_recv_parse (msg, &in), -1);         //  empty
    zmsg_destroy (&msg);

    msg = s_msg ("RECV", "a", NULL);                            //  truncated
    ck_assert_int_eq (actor_recv_parse (msg, &in), -1);
    zmsg_destroy (&msg);

    msg = s_msg ("RECV", NULL);
    ck_assert_int_eq (actor_recv_parse (msg, &in), -1);
    zmsg_destroy (&msg);

    msg = s_msg ("SEND", "a", "data", NULL);                    //  wrong command
    ck_assert_int_eq (actor_recv_parse (msg, &in), -1);
    zmsg_destroy (&msg);

    msg = s_msg ("RECVX", "a", "data", NULL);
    ck_assert_int_eq (actor_recv_parse (msg, &in), -1);
    zmsg_destroy (&msg);

    msg = s_msg ("RECV", "", "data", NULL);                     //  empty From
    ck_assert_int_eq (actor_recv_parse (msg, &in), -1);
    zmsg_destroy (&msg);

    msg = s_msg ("RECV", "a", "data", "", NULL);                //  empty To
    ck_assert_int_eq (actor_recv_parse (msg, &in), -1);
    zmsg_destroy (&msg);

    msg = s_msg ("RECV", "a", "data", "b", "c", NULL);          //  too many frames
    ck_assert_int_eq (actor_recv_parse (msg, &in), -1);
    zmsg_destroy (&msg);

    char longname[ACTOR_NAME_MAX + 2];
    memset (longname, 'n', ACTOR_NAME_MAX + 1);
    longname[ACTOR_NAME_MAX + 1] = '\0';
    msg = s_msg ("RECV", longname, "data", NULL);               //  From too long
    ck_assert_int_eq (actor_recv_parse (msg, &in), -1);
    zmsg_destroy (&msg);

    msg = zmsg_new ();                                          //  NUL inside From
    zmsg_addstr (msg, "RECV");
    zmsg_addmem (msg, "a\0b", 3);
    zmsg_addstr (msg, "data");
    ck_assert_int_eq (actor_recv_parse (msg, &in), -1);
    zmsg_destroy (&msg);

    msg = s_msg ("RECV", "a", "data", NULL);                    //  and the good one
    ck_assert_int_eq (actor_recv_parse (msg, &in), 0);
    ck_assert_str_eq (in.from, "a");
    ck_assert_uint_eq (in.len, 4);
    ck_assert_mem_eq (in.data, "data", 4);
    zmsg_destroy (&msg);
}
END_TEST


//  --- actor_fail / actor_wait_term

static atomic_int s_returned;

static void
s_failing_actor (zsock_t *pipe, void *args)
{
    zsock_signal (pipe, 0);
    actor_fail (pipe, (const char *) args);
    atomic_store (&s_returned, 1);
}

START_TEST (test_actor_fail_parks_until_term)
{
    s_setup ();
    atomic_store (&s_returned, 0);
    zactor_t *actor = zactor_new (s_failing_actor, "socket closed");
    char *command = NULL, *reason = NULL;
    ck_assert_int_eq (zstr_recvx (actor, &command, &reason, NULL), 2);
    ck_assert_str_eq (command, "CRASHED");
    ck_assert_str_eq (reason, "socket closed");
    zstr_free (&command);
    zstr_free (&reason);

    //  Anything but $TERM is discarded; the actor stays parked.
    ck_assert_int_eq (zstr_send (actor, "HELLO"), 0);
    ck_assert_int_eq (actor_send_recv (actor, "x", "y", 1), 0);
    zclock_sleep (50);
    ck_assert_int_eq (atomic_load (&s_returned), 0);

    zactor_destroy (&actor);
    ck_assert_ptr_null (actor);
    ck_assert_int_eq (atomic_load (&s_returned), 1);
}
END_TEST

static void
s_waiting_actor (zsock_t *pipe, void *args)
{
    (void) args;
    zsock_signal (pipe, 0);
    actor_wait_term (pipe);
    atomic_store (&s_returned, 1);
}

START_TEST (test_actor_wait_term)
{
    s_setup ();
    atomic_store (&s_returned, 0);
    zactor_t *actor = zactor_new (s_waiting_actor, NULL);
    ck_assert_int_eq (zstr_sendx (actor, "$TERMX", NULL), 0);
    ck_assert_int_eq (zstr_sendx (actor, "RECV", "a", "b", NULL), 0);
    zclock_sleep (50);
    ck_assert_int_eq (atomic_load (&s_returned), 0);
    zactor_destroy (&actor);
    ck_assert_int_eq (atomic_load (&s_returned), 1);

    zmsg_t *msg = s_msg ("$TERM", NULL);
    ck_assert (actor_is_term (msg));
    zmsg_destroy (&msg);
    msg = s_msg ("$TERMINATE", NULL);
    ck_assert (!actor_is_term (msg));
    zmsg_destroy (&msg);
    ck_assert (!actor_is_term (NULL));
}
END_TEST


//  --- Test nodes
//
//  "upper": toward outer it upper-cases bytes; bytes from inner that start
//  with "PING" are answered back toward inner with "PONG" + the rest; bytes
//  from outer pass to inner unchanged; a 0xff byte from either side is a
//  protocol error. It fails (returns -1) if it is ever re-entered.
//
//  "tag": appends its letter (args) to everything passing in either direction.

typedef struct {
    int in_recv;
    int calls;
} s_upper_t;

static void *
s_upper_create (const void *args)
{
    if (args && streq ((const char *) args, "fail"))
        return NULL;
    return zmalloc (sizeof (s_upper_t));
}

static void
s_free_state (void **state_p)
{
    free (*state_p);
    *state_p = NULL;
}

static int
s_upper_recv (void *state, node_side_t from, const uint8_t *data, size_t len,
              node_emit_fn *emit, void *ctx)
{
    s_upper_t *self = (s_upper_t *) state;
    if (self->in_recv)
        return -1;
    self->in_recv = 1;
    self->calls++;
    int rc = 0;
    if (len && memchr (data, 0xff, len))
        rc = -1;
    else
    if (from == NODE_INNER && len >= 4 && memcmp (data, "PING", 4) == 0) {
        uint8_t reply[256];
        ck_assert_uint_le (len, sizeof reply);
        memcpy (reply, "PONG", 4);
        memcpy (reply + 4, data + 4, len - 4);
        emit (ctx, NODE_INNER, reply, len);
    }
    else
    if (from == NODE_INNER) {
        uint8_t out[256];
        ck_assert_uint_le (len, sizeof out);
        for (size_t i = 0; i < len; i++)
            out[i] = (uint8_t) toupper (data[i]);
        emit (ctx, NODE_OUTER, out, len);
    }
    else
        emit (ctx, NODE_INNER, data, len);
    self->in_recv = 0;
    return rc;
}

static const node_class_t s_upper_class = {
    "upper", s_upper_create, s_free_state, s_upper_recv
};

typedef struct {
    char letter;
    int in_recv;
} s_tag_t;

static void *
s_tag_create (const void *args)
{
    s_tag_t *self = (s_tag_t *) zmalloc (sizeof (s_tag_t));
    self->letter = *(const char *) args;
    return self;
}

static int
s_tag_recv (void *state, node_side_t from, const uint8_t *data, size_t len,
            node_emit_fn *emit, void *ctx)
{
    s_tag_t *self = (s_tag_t *) state;
    if (self->in_recv)
        return -1;
    self->in_recv = 1;
    uint8_t out[256];
    ck_assert_uint_lt (len, sizeof out);
    if (len)
        memcpy (out, data, len);
    out[len] = (uint8_t) self->letter;
    emit (ctx, from == NODE_INNER ? NODE_OUTER : NODE_INNER, out, len + 1);
    self->in_recv = 0;
    return 0;
}

static const node_class_t s_tag_class = {
    "tag", s_tag_create, s_free_state, s_tag_recv
};


//  Everything that leaves a chain or a node actor, in order, as
//  "<side>:<bytes>" lines.
typedef struct {
    char log[4096];
    size_t used;
    node_chain_t *loop_chain;   //  if set, bytes leaving outer are fed back once
    int loops;
} s_out_t;

static void
s_record (s_out_t *out, node_side_t to, const uint8_t *data, size_t len)
{
    int n = snprintf (out->log + out->used, sizeof out->log - out->used, "%s:%.*s\n",
                      node_side_name (to), (int) len, (const char *) data);
    ck_assert_int_gt (n, 0);
    out->used += (size_t) n;
    ck_assert_uint_lt (out->used, sizeof out->log);
}

static void
s_emit_inner (void *ctx, node_side_t to, const uint8_t *data, size_t len)
{
    ck_assert_int_eq (to, NODE_INNER);
    s_record ((s_out_t *) ctx, to, data, len);
}

static void
s_emit_outer (void *ctx, node_side_t to, const uint8_t *data, size_t len)
{
    s_out_t *out = (s_out_t *) ctx;
    ck_assert_int_eq (to, NODE_OUTER);
    s_record (out, to, data, len);
    if (out->loop_chain && out->loops-- > 0)
        ck_assert_int_eq (node_chain_recv (out->loop_chain, NODE_OUTER, data, len), 0);
}

static int
s_feed (node_chain_t *chain, node_side_t from, const char *text)
{
    return node_chain_recv (chain, from, (const uint8_t *) text, strlen (text));
}


//  --- Fused chains

START_TEST (test_chain_order)
{
    s_setup ();
    const node_class_t *classes[] = { &s_tag_class, &s_tag_class, &s_tag_class };
    const void *args[] = { "a", "b", "c" };
    s_out_t out = { .used = 0 };
    node_chain_t *chain = node_chain_new (classes, args, 3, s_emit_inner, s_emit_outer, &out);
    ck_assert_ptr_nonnull (chain);
    ck_assert_int_eq (s_feed (chain, NODE_INNER, "x"), 0);
    ck_assert_int_eq (s_feed (chain, NODE_OUTER, "y"), 0);
    ck_assert_int_eq (node_chain_recv (chain, NODE_INNER, NULL, 0), 0);
    ck_assert_str_eq (out.log, "outer:xabc\ninner:ycba\nouter:abc\n");
    ck_assert_ptr_null (node_chain_failed (chain));
    node_chain_destroy (&chain);
    ck_assert_ptr_null (chain);
    node_chain_destroy (&chain);        //  idempotent
}
END_TEST

START_TEST (test_chain_empty_passes_through)
{
    s_setup ();
    s_out_t out = { .used = 0 };
    node_chain_t *chain = node_chain_new (NULL, NULL, 0, s_emit_inner, s_emit_outer, &out);
    ck_assert_int_eq (s_feed (chain, NODE_INNER, "up"), 0);
    ck_assert_int_eq (s_feed (chain, NODE_OUTER, "down"), 0);
    ck_assert_str_eq (out.log, "outer:up\ninner:down\n");
    node_chain_destroy (&chain);
}
END_TEST

START_TEST (test_chain_answer_back)
{
    s_setup ();
    //  tag a | upper | tag b: "PING" is answered by upper back through tag a,
    //  which is still inside its own recv at that moment.
    const node_class_t *classes[] = { &s_tag_class, &s_upper_class, &s_tag_class };
    const void *args[] = { "a", NULL, "b" };
    s_out_t out = { .used = 0 };
    node_chain_t *chain = node_chain_new (classes, args, 3, s_emit_inner, s_emit_outer, &out);
    ck_assert_int_eq (s_feed (chain, NODE_INNER, "PING1"), 0);
    ck_assert_int_eq (s_feed (chain, NODE_INNER, "hello"), 0);
    ck_assert_int_eq (s_feed (chain, NODE_OUTER, "reply"), 0);
    ck_assert_str_eq (out.log,
                      "inner:PONG1aa\n"         //  answered back, tagged twice by a
                      "outer:HELLOAb\n"
                      "inner:replyba\n");       //  upper does not touch inward bytes
    ck_assert_ptr_null (node_chain_failed (chain));
    node_chain_destroy (&chain);
}
END_TEST

START_TEST (test_chain_reentrant_feed)
{
    s_setup ();
    //  emit_outer feeds its bytes back in from outer once: they are queued
    //  until the current pass is done, then travel inward.
    const node_class_t *classes[] = { &s_tag_class, &s_tag_class };
    const void *args[] = { "a", "b" };
    s_out_t out = { .used = 0 };
    node_chain_t *chain = node_chain_new (classes, args, 2, s_emit_inner, s_emit_outer, &out);
    out.loop_chain = chain;
    out.loops = 1;
    ck_assert_int_eq (s_feed (chain, NODE_INNER, "x"), 0);
    ck_assert_str_eq (out.log, "outer:xab\ninner:xabba\n");
    node_chain_destroy (&chain);
}
END_TEST

START_TEST (test_chain_protocol_error_breaks_chain)
{
    s_setup ();
    const node_class_t *classes[] = { &s_tag_class, &s_upper_class, &s_tag_class };
    const void *args[] = { "a", NULL, "b" };
    s_out_t out = { .used = 0 };
    node_chain_t *chain = node_chain_new (classes, args, 3, s_emit_inner, s_emit_outer, &out);
    ck_assert_int_eq (s_feed (chain, NODE_INNER, "ok"), 0);
    const uint8_t bad[] = { 'x', 0xff };
    ck_assert_int_eq (node_chain_recv (chain, NODE_OUTER, bad, sizeof bad), -1);
    ck_assert_ptr_nonnull (node_chain_failed (chain));
    ck_assert_str_eq (node_chain_failed (chain), "upper");
    //  Broken for good: nothing more passes.
    ck_assert_int_eq (s_feed (chain, NODE_INNER, "more"), -1);
    ck_assert_int_eq (s_feed (chain, NODE_OUTER, "more"), -1);
    ck_assert_str_eq (out.log, "outer:OKAb\n");
    node_chain_destroy (&chain);
}
END_TEST

START_TEST (test_chain_create_fails)
{
    s_setup ();
    const node_class_t *classes[] = { &s_tag_class, &s_upper_class };
    const void *args[] = { "a", "fail" };
    s_out_t out = { .used = 0 };
    ck_assert_ptr_null (node_chain_new (classes, args, 2, s_emit_inner, s_emit_outer, &out));
}
END_TEST


//  --- One node as its own actor

//  Read the actor's output until it has been quiet for a while, recording it
//  like a chain's callbacks would.
static void
s_collect (zactor_t *actor, const char *name, s_out_t *out, size_t expected)
{
    zsock_set_rcvtimeo (actor, 5000);
    for (size_t i = 0; i < expected; i++) {
        zmsg_t *msg = zmsg_recv (actor);
        ck_assert_msg (msg != NULL, "node actor sent %zu of %zu chunks", i, expected);
        actor_recv_t in;
        ck_assert_int_eq (actor_recv_parse (msg, &in), 0);
        ck_assert_str_eq (in.from, name);
        int side = node_side_parse (in.to);
        ck_assert_int_ge (side, 0);
        s_record (out, (node_side_t) side, in.data, in.len);
        zmsg_destroy (&msg);
    }
    //  And nothing more.
    zsock_set_rcvtimeo (actor, 50);
    zmsg_t *extra = zmsg_recv (actor);
    ck_assert_ptr_null (extra);
}

START_TEST (test_node_actor_same_as_fused)
{
    s_setup ();
    const char *inputs[][2] = {
        { "inner", "hello" }, { "inner", "PING42" }, { "outer", "from the net" },
        { "inner", "" }, { "outer", "PING" }, { "inner", "MiXeD" },
    };
    size_t ninputs = sizeof inputs / sizeof inputs[0];

    s_out_t fused = { .used = 0 };
    const node_class_t *classes[] = { &s_upper_class };
    node_chain_t *chain = node_chain_new (classes, NULL, 1, s_emit_inner, s_emit_outer, &fused);
    for (size_t i = 0; i < ninputs; i++)
        ck_assert_int_eq (s_feed (chain, node_side_parse (inputs[i][0]), inputs[i][1]), 0);
    node_chain_destroy (&chain);

    zactor_t *actor = node_actor_new (&s_upper_class, NULL, "up");
    ck_assert_ptr_nonnull (actor);
    for (size_t i = 0; i < ninputs; i++)
        ck_assert_int_eq (actor_send_recv (actor, inputs[i][0], inputs[i][1], strlen (inputs[i][1])), 0);
    s_out_t alone = { .used = 0 };
    s_collect (actor, "up", &alone, ninputs);
    zactor_destroy (&actor);

    ck_assert_str_eq (fused.log,
                      "outer:HELLO\ninner:PONG42\ninner:from the net\n"
                      "outer:\ninner:PING\nouter:MIXED\n");
    ck_assert_str_eq (alone.log, fused.log);
}
END_TEST

static void
s_expect_crash (zactor_t *actor, const char *reason)
{
    zsock_set_rcvtimeo (actor, 5000);
    char *command = NULL, *why = NULL;
    ck_assert_int_eq (zstr_recvx (actor, &command, &why, NULL), 2);
    ck_assert_str_eq (command, "CRASHED");
    ck_assert_str_eq (why, reason);
    zstr_free (&command);
    zstr_free (&why);
}

START_TEST (test_node_actor_protocol_error)
{
    s_setup ();
    zactor_t *actor = node_actor_new (&s_upper_class, NULL, "up");
    const uint8_t bad[] = { 0xff };
    ck_assert_int_eq (actor_send_recv (actor, "inner", bad, 1), 0);
    s_expect_crash (actor, "up: protocol error");
    //  Parked: more input is ignored, $TERM ends it.
    ck_assert_int_eq (actor_send_recv (actor, "inner", "abc", 3), 0);
    zsock_set_rcvtimeo (actor, 50);
    zmsg_t *msg = zmsg_recv (actor);
    ck_assert_ptr_null (msg);
    zactor_destroy (&actor);
    ck_assert_ptr_null (actor);
}
END_TEST

START_TEST (test_node_actor_malformed_input)
{
    s_setup ();
    zactor_t *actor = node_actor_new (&s_upper_class, NULL, "up");
    ck_assert_int_eq (actor_send_recv (actor, "sideways", "abc", 3), 0);
    s_expect_crash (actor, "up: From is neither inner nor outer");
    zactor_destroy (&actor);

    actor = node_actor_new (&s_upper_class, NULL, "up");
    ck_assert_int_eq (zstr_sendx (actor, "RECV", "inner", NULL), 0);         //  truncated
    s_expect_crash (actor, "up: malformed message");
    zactor_destroy (&actor);

    actor = node_actor_new (&s_upper_class, NULL, "up");
    ck_assert_int_eq (actor_send_recv_to (actor, "inner", "abc", 3, "outer"), 0);  //  To is not input
    s_expect_crash (actor, "up: malformed message");
    zactor_destroy (&actor);

    actor = node_actor_new (&s_upper_class, NULL, "up");
    ck_assert_int_eq (zstr_sendx (actor, "HELLO", NULL), 0);
    s_expect_crash (actor, "up: malformed message");
    zactor_destroy (&actor);
}
END_TEST

START_TEST (test_node_actor_bad_start)
{
    s_setup ();
    ck_assert_ptr_null (node_actor_new (&s_upper_class, "fail", "up"));
    ck_assert_ptr_null (node_actor_new (&s_upper_class, NULL, ""));
    char longname[ACTOR_NAME_MAX + 2];
    memset (longname, 'n', ACTOR_NAME_MAX + 1);
    longname[ACTOR_NAME_MAX + 1] = '\0';
    ck_assert_ptr_null (node_actor_new (&s_upper_class, NULL, longname));
    //  The process is still fine: a good one starts.
    zactor_t *actor = node_actor_new (&s_upper_class, NULL, "up");
    ck_assert_ptr_nonnull (actor);
    zactor_destroy (&actor);
}
END_TEST

static Suite *
s_suite (void)
{
    Suite *suite = suite_create ("actor");
    TCase *frames = tcase_create ("frames");
    tcase_set_timeout (frames, 30);
    tcase_add_test (frames, test_frame_roundtrip);
    tcase_add_test (frames, test_frame_send_rejects_bad_names);
    tcase_add_test (frames, test_frame_malformed);
    tcase_add_test (frames, test_actor_fail_parks_until_term);
    tcase_add_test (frames, test_actor_wait_term);
    suite_add_tcase (suite, frames);

    TCase *chains = tcase_create ("chains");
    tcase_add_test (chains, test_chain_order);
    tcase_add_test (chains, test_chain_empty_passes_through);
    tcase_add_test (chains, test_chain_answer_back);
    tcase_add_test (chains, test_chain_reentrant_feed);
    tcase_add_test (chains, test_chain_protocol_error_breaks_chain);
    tcase_add_test (chains, test_chain_create_fails);
    suite_add_tcase (suite, chains);

    TCase *actors = tcase_create ("node actors");
    tcase_set_timeout (actors, 30);
    tcase_add_test (actors, test_node_actor_same_as_fused);
    tcase_add_test (actors, test_node_actor_protocol_error);
    tcase_add_test (actors, test_node_actor_malformed_input);
    tcase_add_test (actors, test_node_actor_bad_start);
    suite_add_tcase (suite, actors);
    return suite;
}

int
main (void)
{
    SRunner *runner = srunner_create (s_suite ());
    srunner_run_all (runner, CK_NORMAL);
    int failed = srunner_ntests_failed (runner);
    srunner_free (runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
