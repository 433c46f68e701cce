/*  Tests for runtime/actor (RECV frames, actor_fail) and for one node run
    as its own actor (test/support/node_actor): it gives what the node gives
    in a stack, pumps and flushes, owns or borrows its state, and fails on
    protocol errors and malformed messages. */
#include <check.h>
#include <ctype.h>
#include <czmq.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "nodes/node.h"
#include "runtime/actor.h"
#include "runtime/base/log.h"
#include "test/support/node_actor.h"
#include "test/support/check_run.h"

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


//  --- A test node
//
//  "upper": bytes from inner are upper-cased in place and passed on toward
//  outer, except that bytes starting with "PING" are answered back toward
//  inner with "PONG" + the rest (from its own memory) and reported as a
//  COMMAND event of their length; bytes from outer pass to inner as they
//  are; a 0xff byte from either side is a protocol error. Its pump asks to
//  be woken 1 ms later; its flush lets "held" go toward that side and
//  reports a RELEASE of 4. It counts every call into it.
//
//  s_upper_class owns its state (its destroy counts in s_destroyed);
//  s_upper_borrowed_class is the same node with a state its owner keeps.

typedef struct {
    int calls;
} s_upper_t;

static atomic_int s_destroyed;

static int
s_destroyed_count (void)
{
    return atomic_load (&s_destroyed);
}

static void
s_upper_destroy (void **state_p)
{
    free (*state_p);
    *state_p = NULL;
    atomic_fetch_add (&s_destroyed, 1);
}

static int
s_upper_recv (void *state, node_side_t from, uint8_t *data, size_t len, unsigned flags,
              const node_out_t *out)
{
    s_upper_t *self = (s_upper_t *) state;
    self->calls++;
    if (len && memchr (data, 0xff, len))
        return -1;
    if (from == NODE_INNER && len >= 4 && memcmp (data, "PING", 4) == 0) {
        uint8_t reply[256];
        ck_assert_uint_le (len, sizeof reply);
        memcpy (reply, "PONG", 4);
        memcpy (reply + 4, data + 4, len - 4);
        out->event (out->ctx, NODE_COMMAND, len);
        out->data (out->ctx, NODE_INNER, reply, len, flags);
    }
    else
    if (from == NODE_INNER) {
        for (size_t i = 0; i < len; i++)
            data[i] = (uint8_t) toupper (data[i]);
        out->data (out->ctx, NODE_OUTER, data, len, flags);
    }
    else
        out->data (out->ctx, NODE_INNER, data, len, flags);
    return 0;
}

static void
s_upper_pump (void *state, uint64_t now_ms, const node_out_t *out)
{
    ((s_upper_t *) state)->calls++;
    out->event (out->ctx, NODE_WAKE, now_ms + 1);
}

static void
s_upper_flush (void *state, node_side_t toward, const node_out_t *out)
{
    ((s_upper_t *) state)->calls++;
    uint8_t held[4] = { 'h', 'e', 'l', 'd' };
    out->data (out->ctx, toward, held, sizeof held, 0);
    out->event (out->ctx, NODE_RELEASE, sizeof held);
}

static const node_class_t s_upper_class = {
    .name = "upper",
    .destroy = s_upper_destroy,
    .recv = s_upper_recv,
    .pump = s_upper_pump,
    .flush = s_upper_flush,
};

static const node_class_t s_upper_borrowed_class = {
    .name = "upper",
    .destroy = NULL,
    .recv = s_upper_recv,
    .pump = s_upper_pump,
    .flush = s_upper_flush,
};

//  "plain": recv only (no pump, no flush), bytes pass through.
static int
s_plain_recv (void *state, node_side_t from, uint8_t *data, size_t len, unsigned flags,
              const node_out_t *out)
{
    (void) state;
    out->data (out->ctx, from == NODE_INNER ? NODE_OUTER : NODE_INNER, data, len, flags);
    return 0;
}

static const node_class_t s_plain_class = {
    .name = "plain",
    .recv = s_plain_recv,
};

static zactor_t *
s_upper_actor (const node_class_t *cls, s_upper_t *state, const char *name)
{
    node_t node = { cls, state };
    zactor_t *actor = node_actor_new (&node, name);
    ck_assert_ptr_nonnull (actor);
    zsock_set_rcvtimeo (actor, 5000);   //  a missing message fails the test, not hangs it
    return actor;
}


//  --- Recording what comes out, as lines: "<to>:<bytes>" for a chunk,
//  "<EVENT>=<value>" for an event

typedef struct {
    char log[4096];
    size_t used;
} s_log_t;

static void
s_logf (s_log_t *log, const char *format, ...)
{
    va_list args;
    va_start (args, format);
    int n = vsnprintf (log->log + log->used, sizeof log->log - log->used, format, args);
    va_end (args);
    ck_assert_int_gt (n, 0);
    log->used += (size_t) n;
    ck_assert_uint_lt (log->used, sizeof log->log);
}

static void
s_log_data (void *ctx, node_side_t to, uint8_t *data, size_t len, unsigned flags)
{
    (void) flags;
    s_logf ((s_log_t *) ctx, "%s:%.*s\n", node_side_name (to), (int) len, (const char *) data);
}

static void
s_log_event (void *ctx, node_event_t event, uint64_t value)
{
    s_logf ((s_log_t *) ctx, "%s=%" PRIu64 "\n", node_actor_event_name (event), value);
}

//  Reads one message from the node actor and logs it the same way.
static void
s_log_message (zactor_t *actor, const char *name, s_log_t *log)
{
    zmsg_t *msg = zmsg_recv (actor);
    ck_assert_msg (msg != NULL, "the node actor sent nothing");
    if (zframe_streq (zmsg_first (msg), "EVENT")) {
        ck_assert_int_eq ((int) zmsg_size (msg), 4);
        char *command = zmsg_popstr (msg);
        char *from = zmsg_popstr (msg);
        char *event = zmsg_popstr (msg);
        char *value = zmsg_popstr (msg);
        ck_assert_str_eq (from, name);
        s_logf (log, "%s=%s\n", event, value);
        zstr_free (&command);
        zstr_free (&from);
        zstr_free (&event);
        zstr_free (&value);
    }
    else {
        actor_recv_t in;
        ck_assert_int_eq (actor_recv_parse (msg, &in), 0);
        ck_assert_str_eq (in.from, name);
        int to = node_side_parse (in.to);
        ck_assert_int_ge (to, 0);
        s_logf (log, "%s:%.*s\n", in.to, (int) in.len, (const char *) in.data);
    }
    zmsg_destroy (&msg);
}

//  Ends a run: "end" from inner must be the very next thing out, so the
//  actor sent nothing more before it (its pipe is in order).
static void
s_expect_end (zactor_t *actor, const char *name)
{
    ck_assert_int_eq (actor_send_recv (actor, "inner", "end", 3), 0);
    s_log_t log = { .used = 0 };
    s_log_message (actor, name, &log);
    ck_assert_str_eq (log.log, "outer:END\n");
}


//  --- One node as its own actor

//  The same script, in a one-node stack and through the actor.
typedef struct {
    const char *op;             //  "inner" / "outer" (a recv from there), "pump", "flush"
    const char *arg;            //  the bytes, now_ms or toward
} s_step_t;

static const s_step_t s_script[] = {
    { "inner", "hello" }, { "inner", "PING42" }, { "outer", "from the net" },
    { "inner", "" }, { "outer", "PING" }, { "pump", "1000" },
    { "flush", "inner" }, { "flush", "outer" }, { "inner", "MiXeD" },
    { "pump", "18446744073709551614" },
};
#define S_SCRIPT (sizeof s_script / sizeof s_script[0])

static const char *s_script_log =
    "outer:HELLO\n"
    "COMMAND=6\n" "inner:PONG42\n"
    "inner:from the net\n"
    "outer:\n"
    "inner:PING\n"
    "WAKE=1001\n"
    "inner:held\n" "RELEASE=4\n"
    "outer:held\n" "RELEASE=4\n"
    "outer:MIXED\n"
    "WAKE=18446744073709551615\n";
#define S_SCRIPT_OUT 13         //  lines of s_script_log

START_TEST (test_node_actor_same_as_stack)
{
    s_setup ();
    s_log_t fused = { .used = 0 };
    node_out_t out = { s_log_data, s_log_event, &fused, NULL };
    node_stack_t *stack = node_stack_new ();
    ck_assert_int_eq (node_stack_add (stack, NODE_OUTER, &s_upper_class,
                                      zmalloc (sizeof (s_upper_t))), 0);
    for (size_t i = 0; i < S_SCRIPT; i++) {
        const s_step_t *step = &s_script[i];
        uint8_t bytes[64];
        size_t len = strlen (step->arg);
        memcpy (bytes, step->arg, len);
        if (streq (step->op, "pump"))
            node_stack_pump (stack, strtoull (step->arg, NULL, 10), &out);
        else
        if (streq (step->op, "flush"))
            node_stack_flush (stack, (node_side_t) node_side_parse (step->arg), &out);
        else
            ck_assert_int_eq (node_stack_recv (stack, (node_side_t) node_side_parse (step->op),
                                               bytes, len, 0, &out), 0);
    }
    node_stack_destroy (&stack);
    ck_assert_str_eq (fused.log, s_script_log);

    zactor_t *actor = s_upper_actor (&s_upper_class, zmalloc (sizeof (s_upper_t)), "up");
    for (size_t i = 0; i < S_SCRIPT; i++) {
        const s_step_t *step = &s_script[i];
        if (streq (step->op, "pump"))
            ck_assert_int_eq (zstr_sendx (actor, "PUMP", step->arg, NULL), 0);
        else
        if (streq (step->op, "flush"))
            ck_assert_int_eq (zstr_sendx (actor, "FLUSH", step->arg, NULL), 0);
        else
            ck_assert_int_eq (actor_send_recv (actor, step->op, step->arg, strlen (step->arg)), 0);
    }
    s_log_t alone = { .used = 0 };
    for (int i = 0; i < S_SCRIPT_OUT; i++)
        s_log_message (actor, "up", &alone);
    s_expect_end (actor, "up");
    zactor_destroy (&actor);
    ck_assert_str_eq (alone.log, fused.log);
}
END_TEST

START_TEST (test_node_actor_owns_or_borrows)
{
    s_setup ();
    atomic_store (&s_destroyed, 0);
    //  Owned: destroyed when the actor ends, not before.
    zactor_t *actor = s_upper_actor (&s_upper_class, zmalloc (sizeof (s_upper_t)), "up");
    s_expect_end (actor, "up");
    ck_assert_int_eq (s_destroyed_count (), 0);
    zactor_destroy (&actor);
    ck_assert_int_eq (s_destroyed_count (), 1);

    //  Borrowed: the actor worked on the owner's state and leaves it be.
    s_upper_t *state = (s_upper_t *) zmalloc (sizeof (s_upper_t));
    actor = s_upper_actor (&s_upper_borrowed_class, state, "up");
    ck_assert_int_eq (zstr_sendx (actor, "PUMP", "7", NULL), 0);
    s_log_t log = { .used = 0 };
    s_log_message (actor, "up", &log);
    ck_assert_str_eq (log.log, "WAKE=8\n");
    s_expect_end (actor, "up");
    zactor_destroy (&actor);
    ck_assert_int_eq (state->calls, 2);
    ck_assert_int_eq (s_destroyed_count (), 1);
    free (state);
}
END_TEST

START_TEST (test_node_actor_without_pump_or_flush)
{
    s_setup ();
    //  A class with recv only: PUMP and FLUSH are well-formed and do nothing.
    node_t node = { &s_plain_class, NULL };
    zactor_t *actor = node_actor_new (&node, "plain");
    ck_assert_ptr_nonnull (actor);
    zsock_set_rcvtimeo (actor, 5000);
    ck_assert_int_eq (zstr_sendx (actor, "PUMP", "5", NULL), 0);
    ck_assert_int_eq (zstr_sendx (actor, "FLUSH", "inner", NULL), 0);
    ck_assert_int_eq (zstr_sendx (actor, "FLUSH", "outer", NULL), 0);
    ck_assert_int_eq (actor_send_recv (actor, "outer", "down", 4), 0);
    s_log_t log = { .used = 0 };
    s_log_message (actor, "plain", &log);
    ck_assert_str_eq (log.log, "inner:down\n");
    zactor_destroy (&actor);
}
END_TEST

static void
s_expect_crash (zactor_t *actor, const char *reason)
{
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
    s_upper_t state = { 0 };
    zactor_t *actor = s_upper_actor (&s_upper_borrowed_class, &state, "up");
    const uint8_t bad[] = { 'x', 0xff };
    ck_assert_int_eq (actor_send_recv (actor, "inner", bad, sizeof bad), 0);
    s_expect_crash (actor, "up: protocol error");
    //  Parked: what comes next never reaches the node; $TERM ends it.
    ck_assert_int_eq (actor_send_recv (actor, "inner", "abc", 3), 0);
    ck_assert_int_eq (zstr_sendx (actor, "PUMP", "1", NULL), 0);
    zactor_destroy (&actor);
    ck_assert_ptr_null (actor);
    ck_assert_int_eq (state.calls, 1);

    //  An owned state is still destroyed.
    atomic_store (&s_destroyed, 0);
    actor = s_upper_actor (&s_upper_class, zmalloc (sizeof (s_upper_t)), "up");
    ck_assert_int_eq (actor_send_recv (actor, "outer", bad, sizeof bad), 0);
    s_expect_crash (actor, "up: protocol error");
    zactor_destroy (&actor);
    ck_assert_int_eq (s_destroyed_count (), 1);
}
END_TEST

START_TEST (test_node_actor_malformed_input)
{
    s_setup ();
    const char *from_reason = "up: From is neither inner nor outer";
    const char *malformed = "up: malformed message";
    struct {
        const char *frames[4];          //  NULL-terminated
        const char *reason;
    } cases[] = {
        { { "RECV", "sideways", "abc", NULL }, "from" },
        { { "RECV", "inner", NULL }, "malformed" },             //  truncated
        { { "RECV", "inner", "abc", "outer" }, "malformed" },   //  To is not input
        { { "HELLO", NULL }, "malformed" },
        { { "PUMP", NULL }, "malformed" },
        { { "PUMP", "", NULL }, "malformed" },
        { { "PUMP", "12x", NULL }, "malformed" },
        { { "PUMP", "-1", NULL }, "malformed" },
        { { "PUMP", "+1", NULL }, "malformed" },
        { { "PUMP", "18446744073709551616", NULL }, "malformed" },     //  2^64
        { { "PUMP", "1", "2", NULL }, "malformed" },
        { { "FLUSH", NULL }, "malformed" },
        { { "FLUSH", "sideways", NULL }, "malformed" },
        { { "FLUSH", "inner", "outer", NULL }, "malformed" },
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        s_upper_t state = { 0 };
        zactor_t *actor = s_upper_actor (&s_upper_borrowed_class, &state, "up");
        zmsg_t *msg = zmsg_new ();
        for (size_t f = 0; f < 4 && cases[c].frames[f]; f++)
            zmsg_addstr (msg, cases[c].frames[f]);
        ck_assert_int_eq (zmsg_send (&msg, actor), 0);
        s_expect_crash (actor, streq (cases[c].reason, "from") ? from_reason : malformed);
        zactor_destroy (&actor);
        ck_assert_msg (state.calls == 0, "case %zu reached the node", c);
    }
}
END_TEST

START_TEST (test_node_actor_bad_start)
{
    s_setup ();
    atomic_store (&s_destroyed, 0);
    char longname[ACTOR_NAME_MAX + 2];
    memset (longname, 'n', ACTOR_NAME_MAX + 1);
    longname[ACTOR_NAME_MAX + 1] = '\0';
    //  An owned state is destroyed at once (a leak would show under ASan).
    node_t node = { &s_upper_class, zmalloc (sizeof (s_upper_t)) };
    ck_assert_ptr_null (node_actor_new (&node, ""));
    ck_assert_int_eq (s_destroyed_count (), 1);
    node.state = zmalloc (sizeof (s_upper_t));
    ck_assert_ptr_null (node_actor_new (&node, longname));
    ck_assert_int_eq (s_destroyed_count (), 2);
    node.state = zmalloc (sizeof (s_upper_t));
    ck_assert_ptr_null (node_actor_new (&node, NULL));
    ck_assert_int_eq (s_destroyed_count (), 3);
    //  A borrowed one is left to its owner.
    s_upper_t state = { 0 };
    node = (node_t) { &s_upper_borrowed_class, &state };
    ck_assert_ptr_null (node_actor_new (&node, ""));
    ck_assert_int_eq (s_destroyed_count (), 3);
    //  The longest valid name is fine, and the process is still fine.
    longname[ACTOR_NAME_MAX] = '\0';
    zactor_t *actor = s_upper_actor (&s_upper_borrowed_class, &state, longname);
    s_expect_end (actor, longname);
    zactor_destroy (&actor);
    ck_assert_int_eq (state.calls, 1);
}
END_TEST

START_TEST (test_node_actor_event_names)
{
    ck_assert_str_eq (node_actor_event_name (NODE_COMMAND), "COMMAND");
    ck_assert_str_eq (node_actor_event_name (NODE_RELEASE), "RELEASE");
    ck_assert_str_eq (node_actor_event_name (NODE_WAKE), "WAKE");
    ck_assert_str_eq (node_actor_event_name (NODE_SHORTFALL), "SHORTFALL");
    ck_assert_str_eq (node_actor_event_name ((node_event_t) 99), "?");
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

    TCase *actors = tcase_create ("node actors");
    tcase_set_timeout (actors, 30);
    tcase_add_test (actors, test_node_actor_same_as_stack);
    tcase_add_test (actors, test_node_actor_owns_or_borrows);
    tcase_add_test (actors, test_node_actor_without_pump_or_flush);
    tcase_add_test (actors, test_node_actor_protocol_error);
    tcase_add_test (actors, test_node_actor_malformed_input);
    tcase_add_test (actors, test_node_actor_bad_start);
    tcase_add_test (actors, test_node_actor_event_names);
    suite_add_tcase (suite, actors);
    return suite;
}

int
main (void)
{
    return check_run (s_suite ());
}
