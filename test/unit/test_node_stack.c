/*  Tests for nodes/node_stack: the order of the nodes both ways, zero copy
    through in-place nodes, an empty stack, adding at the inner end, removing
    (a flush both ways, no destroy), find, gated, pump, the caller's room
    offered only across nodes that pass memory on, a node's protocol
    error breaking the stack, re-entry from the caller's output, and which
    states destroy frees. Test nodes only: no real node is linked. */
#include <check.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nodes/node.h"
#include "test/support/check_run.h"

static int s_destroyed;         //  states freed by a test class's destroy

static void
s_free_state (void **state_p)
{
    free (*state_p);
    *state_p = NULL;
    s_destroyed++;
}


//  --- Recording what leaves the stack, as lines: "<to>:<bytes>" for a
//  chunk, "<EVENT>=<value>" for an event

typedef struct {
    char log[4096];
    size_t used;
    //  The last chunk, as it was passed.
    const uint8_t *last_ptr;
    size_t last_len;
    unsigned last_flags;
    size_t chunks;
    //  Re-entry: on the first chunk toward outer, feed `feed` from outer
    //  into `stack`, with `nested` as the output.
    node_stack_t *stack;
    const char *feed;
    const node_out_t *nested;
    //  Room offered through s_rec_room (node_out_t.room), and toward where.
    uint8_t room[64];
    int rooms;
    node_side_t room_to;
} s_rec_t;

static void
s_logf (s_rec_t *rec, const char *format, ...)
{
    va_list args;
    va_start (args, format);
    int n = vsnprintf (rec->log + rec->used, sizeof rec->log - rec->used, format, args);
    va_end (args);
    ck_assert_int_gt (n, 0);
    rec->used += (size_t) n;
    ck_assert_uint_lt (rec->used, sizeof rec->log);
}

static const char *
s_event_name (node_event_t event)
{
    switch (event) {
        case NODE_COMMAND:   return "COMMAND";
        case NODE_RELEASE:   return "RELEASE";
        case NODE_WAKE:      return "WAKE";
        case NODE_SHORTFALL: return "SHORTFALL";
        case NODE_ENDED:     return "ENDED";
        case NODE_HOLD:      return "HOLD";
    }
    return "?";
}

static void
s_rec_data (void *ctx, node_side_t to, uint8_t *data, size_t len, unsigned flags)
{
    s_rec_t *rec = (s_rec_t *) ctx;
    s_logf (rec, "%s:%.*s\n", node_side_name (to), (int) len, (const char *) data);
    rec->last_ptr = data;
    rec->last_len = len;
    rec->last_flags = flags;
    rec->chunks++;
    if (to == NODE_OUTER && rec->feed) {
        const char *feed = rec->feed;
        rec->feed = NULL;
        uint8_t bytes[64];
        size_t n = strlen (feed);
        memcpy (bytes, feed, n);
        ck_assert_int_eq (node_stack_recv (rec->stack, NODE_OUTER, bytes, n, 0, rec->nested), 0);
    }
}

static void
s_rec_event (void *ctx, node_event_t event, uint64_t value)
{
    s_logf ((s_rec_t *) ctx, "%s=%" PRIu64 "\n", s_event_name (event), value);
}

static void
s_rec_init (s_rec_t *rec, node_out_t *out)
{
    memset (rec, 0, sizeof *rec);
    *out = (node_out_t) { s_rec_data, s_rec_event, rec, NULL };
}

static uint8_t *
s_rec_room (void *ctx, node_side_t to, size_t *len)
{
    s_rec_t *rec = (s_rec_t *) ctx;
    rec->rooms++;
    rec->room_to = to;
    *len = sizeof rec->room;
    return rec->room;
}

//  Feeds text (copied) at one end.
static int
s_feed (node_stack_t *stack, node_side_t from, const char *text, const node_out_t *out)
{
    uint8_t bytes[256];
    size_t len = strlen (text);
    ck_assert_uint_le (len, sizeof bytes);
    memcpy (bytes, text, len);
    return node_stack_recv (stack, from, bytes, len, 0, out);
}


//  --- Test nodes

//  "tag": reports a COMMAND event of its letter, then passes the bytes on
//  (from its own memory) with its letter appended. It counts the calls that
//  found it still inside an earlier recv.
typedef struct {
    char letter;
    int in_recv;
    int reentered;
    int calls;
} s_tag_t;

static int
s_tag_recv (void *state, node_side_t from, uint8_t *data, size_t len, unsigned flags,
            const node_out_t *out)
{
    s_tag_t *self = (s_tag_t *) state;
    if (self->in_recv)
        self->reentered++;
    self->in_recv++;
    self->calls++;
    uint8_t bytes[256];
    ck_assert_uint_lt (len, sizeof bytes);
    if (len)
        memcpy (bytes, data, len);
    bytes[len] = (uint8_t) self->letter;
    out->event (out->ctx, NODE_COMMAND, (uint64_t) self->letter);
    out->data (out->ctx, from == NODE_INNER ? NODE_OUTER : NODE_INNER, bytes, len + 1, flags);
    self->in_recv--;
    return 0;
}

static const node_class_t s_tag_class = {
    .name = "tag", .destroy = s_free_state, .recv = s_tag_recv
};
//  The same node with a state its owner keeps.
static const node_class_t s_tag_borrowed_class = {
    .name = "tag", .destroy = NULL, .recv = s_tag_recv
};

static s_tag_t *
s_tag_new (char letter)
{
    s_tag_t *self = (s_tag_t *) calloc (1, sizeof (s_tag_t));
    ck_assert_ptr_nonnull (self);
    self->letter = letter;
    return self;
}

//  "flip": flips the case of letters in place and passes the same memory on.
static int
s_flip_recv (void *state, node_side_t from, uint8_t *data, size_t len, unsigned flags,
             const node_out_t *out)
{
    (*(int *) state)++;
    for (size_t i = 0; i < len; i++)
        data[i] ^= 0x20;
    out->data (out->ctx, from == NODE_INNER ? NODE_OUTER : NODE_INNER, data, len, flags);
    return 0;
}

static const node_class_t s_flip_class = {
    .name = "flip", .destroy = s_free_state, .recv = s_flip_recv
};

//  The same, saying that it passes memory on as it is.
static const node_class_t s_flip_passing_class = {
    .name = "flip", .destroy = s_free_state, .recv = s_flip_recv, .passes_memory = true
};

//  "roomy": writes what it gets and a '!' into room it asks for toward where
//  the bytes go, or into its own memory when none is offered.
static int
s_roomy_recv (void *state, node_side_t from, uint8_t *data, size_t len, unsigned flags,
              const node_out_t *out)
{
    (void) state;
    node_side_t to = from == NODE_INNER ? NODE_OUTER : NODE_INNER;
    static uint8_t own[64];
    size_t room = 0;
    uint8_t *at = out->room ? out->room (out->ctx, to, &room) : NULL;
    if (!at || room < len + 1)
        at = own;
    memcpy (at, data, len);
    at[len] = '!';
    out->data (out->ctx, to, at, len + 1, flags);
    return 0;
}

static const node_class_t s_roomy_class = { .name = "roomy", .recv = s_roomy_recv };

static int *
s_counter_new (void)
{
    int *counter = (int *) calloc (1, sizeof (int));
    ck_assert_ptr_nonnull (counter);
    return counter;
}

//  "hold": keeps the bytes from either side until it is flushed toward the
//  side they were going to; after that it holds nothing more back that way.
typedef struct {
    uint8_t held[2][256];       //  indexed by the side they go to
    size_t nheld[2];
    bool passing[2];
} s_hold_t;

static int
s_hold_recv (void *state, node_side_t from, uint8_t *data, size_t len, unsigned flags,
             const node_out_t *out)
{
    s_hold_t *self = (s_hold_t *) state;
    node_side_t to = from == NODE_INNER ? NODE_OUTER : NODE_INNER;
    if (self->passing[to]) {
        out->data (out->ctx, to, data, len, flags);
        return 0;
    }
    ck_assert_uint_le (self->nheld[to] + len, sizeof self->held[to]);
    memcpy (self->held[to] + self->nheld[to], data, len);
    self->nheld[to] += len;
    return 0;
}

static void
s_hold_flush (void *state, node_side_t toward, const node_out_t *out)
{
    s_hold_t *self = (s_hold_t *) state;
    self->passing[toward] = true;
    if (self->nheld[toward]) {
        uint8_t bytes[256];
        size_t len = self->nheld[toward];
        memcpy (bytes, self->held[toward], len);
        self->nheld[toward] = 0;
        out->data (out->ctx, toward, bytes, len, 0);
    }
}

static const node_class_t s_hold_class = {
    .name = "hold", .destroy = s_free_state, .recv = s_hold_recv, .flush = s_hold_flush
};

//  "gate": passes bytes on; gates while its state says so.
static int
s_gate_recv (void *state, node_side_t from, uint8_t *data, size_t len, unsigned flags,
             const node_out_t *out)
{
    (void) state;
    out->data (out->ctx, from == NODE_INNER ? NODE_OUTER : NODE_INNER, data, len, flags);
    return 0;
}

static bool
s_gate_gates (void *state)
{
    return *(bool *) state;
}

static const node_class_t s_gate_class = {
    .name = "gate", .destroy = NULL, .recv = s_gate_recv, .gates = s_gate_gates
};

//  "bad": passes bytes on, unless they hold a 0xff byte: a protocol error.
//  Counts its calls (recv and pump); its pump asks to be woken at now + 1.
static int
s_bad_recv (void *state, node_side_t from, uint8_t *data, size_t len, unsigned flags,
            const node_out_t *out)
{
    (*(int *) state)++;
    if (len && memchr (data, 0xff, len))
        return -1;
    out->data (out->ctx, from == NODE_INNER ? NODE_OUTER : NODE_INNER, data, len, flags);
    return 0;
}

static void
s_bad_pump (void *state, uint64_t now_ms, const node_out_t *out)
{
    (*(int *) state)++;
    out->event (out->ctx, NODE_WAKE, now_ms + 1);
}

static const node_class_t s_bad_class = {
    .name = "bad", .destroy = s_free_state, .recv = s_bad_recv, .pump = s_bad_pump
};

//  "split": passes the bytes on in place in two halves (the first one
//  longer by the odd byte).
static int
s_split_recv (void *state, node_side_t from, uint8_t *data, size_t len, unsigned flags,
              const node_out_t *out)
{
    (void) state;
    node_side_t to = from == NODE_INNER ? NODE_OUTER : NODE_INNER;
    size_t first = (len + 1) / 2;
    out->data (out->ctx, to, data, first, flags);
    out->data (out->ctx, to, data + first, len - first, flags);
    return 0;
}

static const node_class_t s_split_class = {
    .name = "split", .destroy = NULL, .recv = s_split_recv
};

//  "ack": passes bytes on, then answers "ack" back toward where they came
//  from and reports a RELEASE of their length.
static int
s_ack_recv (void *state, node_side_t from, uint8_t *data, size_t len, unsigned flags,
            const node_out_t *out)
{
    (void) state;
    out->data (out->ctx, from == NODE_INNER ? NODE_OUTER : NODE_INNER, data, len, flags);
    uint8_t ack[3] = { 'a', 'c', 'k' };
    out->data (out->ctx, from, ack, sizeof ack, 0);
    out->event (out->ctx, NODE_RELEASE, len);
    return 0;
}

static const node_class_t s_ack_class = {
    .name = "ack", .destroy = NULL, .recv = s_ack_recv
};

//  "ticker": passes bytes on; its pump sends "tick" toward outer and "tock"
//  toward inner from its own memory, and asks to be woken 10 ms later.
static void
s_ticker_pump (void *state, uint64_t now_ms, const node_out_t *out)
{
    (void) state;
    uint8_t tick[4] = { 't', 'i', 'c', 'k' };
    uint8_t tock[4] = { 't', 'o', 'c', 'k' };
    out->data (out->ctx, NODE_OUTER, tick, sizeof tick, 0);
    out->data (out->ctx, NODE_INNER, tock, sizeof tock, 0);
    out->event (out->ctx, NODE_WAKE, now_ms + 10);
}

static const node_class_t s_ticker_class = {
    .name = "ticker", .destroy = NULL, .recv = s_gate_recv, .pump = s_ticker_pump
};

//  "echo": answers bytes from inner back toward inner with "PONG" in place
//  of their first 4 bytes, from its own memory (clobbered once the output
//  has returned); bytes from outer pass on.
static int
s_echo_recv (void *state, node_side_t from, uint8_t *data, size_t len, unsigned flags,
             const node_out_t *out)
{
    (void) state;
    if (from == NODE_OUTER) {
        out->data (out->ctx, NODE_INNER, data, len, flags);
        return 0;
    }
    uint8_t reply[256];
    ck_assert_uint_le (len, sizeof reply);
    ck_assert_uint_ge (len, 4);
    memcpy (reply, "PONG", 4);
    memcpy (reply + 4, data + 4, len - 4);
    out->data (out->ctx, NODE_INNER, reply, len, flags);
    memset (reply, '#', len);
    return 0;
}

static const node_class_t s_echo_class = {
    .name = "echo", .destroy = NULL, .recv = s_echo_recv
};

//  A stack of tags with these letters, inner to outer.
static node_stack_t *
s_tags (const char *letters)
{
    node_stack_t *stack = node_stack_new ();
    ck_assert_ptr_nonnull (stack);
    for (const char *l = letters; *l; l++)
        ck_assert_int_eq (node_stack_add (stack, NODE_OUTER, &s_tag_class, s_tag_new (*l)), 0);
    return stack;
}


//  --- Tests

START_TEST (test_order)
{
    s_destroyed = 0;
    node_stack_t *stack = s_tags ("abc");
    s_rec_t rec;
    node_out_t out;
    s_rec_init (&rec, &out);
    //  From inner through a, b, c; from outer through c, b, a. Every node's
    //  events reach the caller, in the order they were made.
    ck_assert_int_eq (s_feed (stack, NODE_INNER, "x", &out), 0);
    ck_assert_int_eq (s_feed (stack, NODE_OUTER, "y", &out), 0);
    ck_assert_int_eq (node_stack_recv (stack, NODE_INNER, NULL, 0, 0, &out), 0);
    ck_assert_str_eq (rec.log,
                      "COMMAND=97\nCOMMAND=98\nCOMMAND=99\nouter:xabc\n"
                      "COMMAND=99\nCOMMAND=98\nCOMMAND=97\ninner:ycba\n"
                      "COMMAND=97\nCOMMAND=98\nCOMMAND=99\nouter:abc\n");
    ck_assert_ptr_null (node_stack_failed (stack));
    node_stack_destroy (&stack);
    ck_assert_ptr_null (stack);
    ck_assert_int_eq (s_destroyed, 3);
    node_stack_destroy (&stack);        //  idempotent
    ck_assert_int_eq (s_destroyed, 3);
}
END_TEST

START_TEST (test_zero_copy)
{
    //  Three in-place nodes: the memory fed in is what comes out, changed by
    //  each of them, with its flags.
    node_stack_t *stack = node_stack_new ();
    int *counters[3];
    for (int i = 0; i < 3; i++) {
        counters[i] = s_counter_new ();
        ck_assert_int_eq (node_stack_add (stack, NODE_OUTER, &s_flip_class, counters[i]), 0);
    }
    s_rec_t rec;
    node_out_t out;
    s_rec_init (&rec, &out);
    uint8_t buf[] = { 'a', 'b', 'c' };
    ck_assert_int_eq (node_stack_recv (stack, NODE_INNER, buf, sizeof buf, NODE_PADDING, &out), 0);
    ck_assert_ptr_eq (rec.last_ptr, buf);
    ck_assert_uint_eq (rec.last_len, sizeof buf);
    ck_assert_uint_eq (rec.last_flags, NODE_PADDING);
    ck_assert_mem_eq (buf, "ABC", 3);
    ck_assert_int_eq (node_stack_recv (stack, NODE_OUTER, buf + 1, 2, 0, &out), 0);
    ck_assert_ptr_eq (rec.last_ptr, buf + 1);
    ck_assert_uint_eq (rec.last_len, 2);
    ck_assert_uint_eq (rec.last_flags, 0);
    ck_assert_mem_eq (buf, "Abc", 3);
    ck_assert_str_eq (rec.log, "outer:ABC\ninner:bc\n");
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq (*counters[i], 2);
    node_stack_destroy (&stack);
}
END_TEST

START_TEST (test_room)
{
    //  The caller's room reaches a node across neighbours that pass memory
    //  on as it is, either way; not across one that does not, nor when the
    //  caller offers none. Written there, the bytes pass on where they lie.
    s_rec_t rec;
    node_out_t out;
    s_rec_init (&rec, &out);
    out.room = s_rec_room;
    node_stack_t *stack = node_stack_new ();
    ck_assert_int_eq (node_stack_add (stack, NODE_OUTER, &s_flip_passing_class, s_counter_new ()), 0);
    ck_assert_int_eq (node_stack_add (stack, NODE_OUTER, &s_roomy_class, NULL), 0);
    ck_assert_int_eq (node_stack_add (stack, NODE_OUTER, &s_flip_passing_class, s_counter_new ()), 0);
    ck_assert_int_eq (s_feed (stack, NODE_INNER, "ab", &out), 0);
    ck_assert_int_eq (rec.rooms, 1);
    ck_assert_int_eq (rec.room_to, NODE_OUTER);
    ck_assert_ptr_eq (rec.last_ptr, rec.room);
    ck_assert_int_eq (s_feed (stack, NODE_OUTER, "CD", &out), 0);
    ck_assert_int_eq (rec.rooms, 2);
    ck_assert_int_eq (rec.room_to, NODE_INNER);
    ck_assert_ptr_eq (rec.last_ptr, rec.room);
    ck_assert_str_eq (rec.log, "outer:ab\x01\ninner:CD\x01\n");
    //  A neighbour that may hold or copy bytes, outer of it: no room that way.
    ck_assert_int_eq (node_stack_add (stack, NODE_OUTER, &s_flip_class, s_counter_new ()), 0);
    ck_assert_int_eq (s_feed (stack, NODE_INNER, "ab", &out), 0);
    ck_assert_int_eq (rec.rooms, 2);
    ck_assert_ptr_ne (rec.last_ptr, rec.room);
    ck_assert_int_eq (s_feed (stack, NODE_OUTER, "cd", &out), 0);
    ck_assert_int_eq (rec.rooms, 3);                   //  inward it still has some
    ck_assert_ptr_eq (rec.last_ptr, rec.room);
    //  None offered by the caller.
    out.room = NULL;
    ck_assert_int_eq (s_feed (stack, NODE_OUTER, "cd", &out), 0);
    ck_assert_int_eq (rec.rooms, 3);
    ck_assert_ptr_ne (rec.last_ptr, rec.room);
    node_stack_destroy (&stack);
}
END_TEST

START_TEST (test_empty)
{
    node_stack_t *stack = node_stack_new ();
    s_rec_t rec;
    node_out_t out;
    s_rec_init (&rec, &out);
    uint8_t buf[] = { 'u', 'p' };
    ck_assert_int_eq (node_stack_recv (stack, NODE_INNER, buf, 2, NODE_PADDING, &out), 0);
    ck_assert_ptr_eq (rec.last_ptr, buf);
    ck_assert_uint_eq (rec.last_flags, NODE_PADDING);
    ck_assert_int_eq (node_stack_recv (stack, NODE_OUTER, buf, 1, 0, &out), 0);
    ck_assert_ptr_eq (rec.last_ptr, buf);
    ck_assert_uint_eq (rec.last_flags, 0);
    node_stack_pump (stack, 1, &out);
    node_stack_flush (stack, NODE_INNER, &out);
    node_stack_flush (stack, NODE_OUTER, &out);
    ck_assert_str_eq (rec.log, "outer:up\ninner:u\n");
    ck_assert (!node_stack_gated (stack));
    ck_assert_ptr_null (node_stack_failed (stack));
    ck_assert_ptr_null (node_stack_find (stack, &s_tag_class));
    int dummy;
    ck_assert_int_eq (node_stack_remove (stack, &dummy, &out), -1);
    node_stack_destroy (&stack);
}
END_TEST

START_TEST (test_add_at_inner_end)
{
    s_destroyed = 0;
    node_stack_t *stack = s_tags ("ab");
    s_rec_t rec;
    node_out_t out;
    s_rec_init (&rec, &out);
    ck_assert_int_eq (s_feed (stack, NODE_INNER, "1", &out), 0);
    //  Added at the inner end, with others there: first from inner, last from outer.
    ck_assert_int_eq (node_stack_add (stack, NODE_INNER, &s_tag_class, s_tag_new ('c')), 0);
    ck_assert_int_eq (s_feed (stack, NODE_INNER, "2", &out), 0);
    ck_assert_int_eq (node_stack_add (stack, NODE_OUTER, &s_tag_class, s_tag_new ('d')), 0);
    ck_assert_int_eq (node_stack_add (stack, NODE_INNER, &s_tag_class, s_tag_new ('e')), 0);
    ck_assert_int_eq (s_feed (stack, NODE_INNER, "3", &out), 0);
    ck_assert_int_eq (s_feed (stack, NODE_OUTER, "4", &out), 0);
    ck_assert_str_eq (strstr (rec.log, "outer:1"), "outer:1ab\n"
                      "COMMAND=99\nCOMMAND=97\nCOMMAND=98\nouter:2cab\n"
                      "COMMAND=101\nCOMMAND=99\nCOMMAND=97\nCOMMAND=98\nCOMMAND=100\nouter:3ecabd\n"
                      "COMMAND=100\nCOMMAND=98\nCOMMAND=97\nCOMMAND=99\nCOMMAND=101\ninner:4dbace\n");

    //  Up to NODE_STACK_MAX nodes, at either end; one more is refused and
    //  left to the caller. order: the letters from inner to outer.
    char order[NODE_STACK_MAX + 1] = "ecabd";
    for (int i = 5; i < NODE_STACK_MAX; i++) {
        char letter = (char) ('f' + i);
        size_t n = strlen (order);
        if (i % 2) {
            ck_assert_int_eq (node_stack_add (stack, NODE_INNER, &s_tag_class, s_tag_new (letter)), 0);
            memmove (order + 1, order, n + 1);
            order[0] = letter;
        }
        else {
            ck_assert_int_eq (node_stack_add (stack, NODE_OUTER, &s_tag_class, s_tag_new (letter)), 0);
            order[n] = letter;
            order[n + 1] = '\0';
        }
    }
    s_tag_t *extra = s_tag_new ('X');
    ck_assert_int_eq (node_stack_add (stack, NODE_INNER, &s_tag_class, extra), -1);
    ck_assert_int_eq (node_stack_add (stack, NODE_OUTER, &s_tag_class, extra), -1);
    s_rec_init (&rec, &out);
    ck_assert_int_eq (s_feed (stack, NODE_OUTER, "5", &out), 0);
    char expect[NODE_STACK_MAX + 16] = "inner:5";
    size_t len = strlen (expect);
    for (size_t i = strlen (order); i-- > 0; )
        expect[len++] = order[i];           //  from outer: outermost first
    expect[len++] = '\n';
    expect[len] = '\0';
    ck_assert (strstr (rec.log, "inner:5") != NULL);
    ck_assert_str_eq (strstr (rec.log, "inner:5"), expect);
    ck_assert_int_eq (extra->calls, 0);
    node_stack_destroy (&stack);
    ck_assert_int_eq (s_destroyed, NODE_STACK_MAX);
    free (extra);
}
END_TEST

START_TEST (test_remove_flushes)
{
    s_destroyed = 0;
    node_stack_t *stack = node_stack_new ();
    s_hold_t *hold = (s_hold_t *) calloc (1, sizeof (s_hold_t));
    ck_assert_int_eq (node_stack_add (stack, NODE_OUTER, &s_tag_borrowed_class, s_tag_new ('a')), 0);
    ck_assert_int_eq (node_stack_add (stack, NODE_OUTER, &s_hold_class, hold), 0);
    ck_assert_int_eq (node_stack_add (stack, NODE_OUTER, &s_tag_class, s_tag_new ('b')), 0);
    s_tag_t *a = (s_tag_t *) node_stack_find (stack, &s_tag_borrowed_class);
    ck_assert_ptr_nonnull (a);
    s_rec_t rec;
    node_out_t out;
    s_rec_init (&rec, &out);
    ck_assert_int_eq (s_feed (stack, NODE_INNER, "x", &out), 0);
    ck_assert_int_eq (s_feed (stack, NODE_OUTER, "y", &out), 0);
    ck_assert_uint_eq (rec.chunks, 0);
    ck_assert_uint_eq (hold->nheld[NODE_OUTER], 2);
    ck_assert_uint_eq (hold->nheld[NODE_INNER], 2);

    //  Out it goes: flushed both ways first, through the nodes beyond it.
    s_rec_init (&rec, &out);
    ck_assert_int_eq (node_stack_remove (stack, hold, &out), 0);
    ck_assert_uint_eq (rec.chunks, 2);
    ck_assert (strstr (rec.log, "inner:yba\n") != NULL);
    ck_assert (strstr (rec.log, "outer:xab\n") != NULL);
    ck_assert_uint_eq (hold->nheld[NODE_OUTER] + hold->nheld[NODE_INNER], 0);
    ck_assert_ptr_null (node_stack_find (stack, &s_hold_class));
    ck_assert_int_eq (node_stack_remove (stack, hold, &out), -1);
    ck_assert_int_eq (s_destroyed, 0);

    //  The stack goes on without it.
    s_rec_init (&rec, &out);
    ck_assert_int_eq (s_feed (stack, NODE_INNER, "z", &out), 0);
    ck_assert_str_eq (rec.log, "COMMAND=97\nCOMMAND=98\nouter:zab\n");
    //  Its destroy frees b alone: a is borrowed, hold was removed.
    node_stack_destroy (&stack);
    ck_assert_int_eq (s_destroyed, 1);
    ck_assert_int_eq (a->calls, 3);
    free (a);
    free (hold);
}
END_TEST

START_TEST (test_flush)
{
    node_stack_t *stack = node_stack_new ();
    s_hold_t *hold = (s_hold_t *) calloc (1, sizeof (s_hold_t));
    ck_assert_int_eq (node_stack_add (stack, NODE_OUTER, &s_tag_class, s_tag_new ('a')), 0);
    ck_assert_int_eq (node_stack_add (stack, NODE_OUTER, &s_hold_class, hold), 0);
    ck_assert_int_eq (node_stack_add (stack, NODE_OUTER, &s_tag_class, s_tag_new ('b')), 0);
    s_rec_t rec;
    node_out_t out;
    s_rec_init (&rec, &out);
    ck_assert_int_eq (s_feed (stack, NODE_INNER, "x", &out), 0);
    ck_assert_int_eq (s_feed (stack, NODE_OUTER, "y", &out), 0);
    //  One way at a time: what the node lets go passes the nodes beyond it.
    s_rec_init (&rec, &out);
    node_stack_flush (stack, NODE_OUTER, &out);
    ck_assert_str_eq (rec.log, "COMMAND=98\nouter:xab\n");
    ck_assert_uint_eq (hold->nheld[NODE_INNER], 2);
    ck_assert_int_eq (s_feed (stack, NODE_INNER, "w", &out), 0);
    ck_assert_str_eq (strstr (rec.log, "outer:wab"), "outer:wab\n");
    s_rec_init (&rec, &out);
    node_stack_flush (stack, NODE_INNER, &out);
    ck_assert_str_eq (rec.log, "COMMAND=97\ninner:yba\n");
    ck_assert_ptr_eq (node_stack_find (stack, &s_hold_class), hold);
    node_stack_destroy (&stack);
}
END_TEST

START_TEST (test_find)
{
    node_stack_t *stack = node_stack_new ();
    s_tag_t *a = s_tag_new ('a');
    s_tag_t *b = s_tag_new ('b');
    int *flip = s_counter_new ();
    ck_assert_int_eq (node_stack_add (stack, NODE_OUTER, &s_tag_class, a), 0);
    ck_assert_int_eq (node_stack_add (stack, NODE_OUTER, &s_flip_class, flip), 0);
    ck_assert_int_eq (node_stack_add (stack, NODE_OUTER, &s_tag_class, b), 0);
    //  The first node of that class, from inner.
    ck_assert_ptr_eq (node_stack_find (stack, &s_tag_class), a);
    ck_assert_ptr_eq (node_stack_find (stack, &s_flip_class), flip);
    ck_assert_ptr_null (node_stack_find (stack, &s_hold_class));
    //  A class is matched by identity, not by name.
    ck_assert_ptr_null (node_stack_find (stack, &s_tag_borrowed_class));
    s_rec_t rec;
    node_out_t out;
    s_rec_init (&rec, &out);
    ck_assert_int_eq (node_stack_remove (stack, a, &out), 0);
    ck_assert_ptr_eq (node_stack_find (stack, &s_tag_class), b);
    ck_assert_int_eq (node_stack_add (stack, NODE_INNER, &s_tag_class, a), 0);
    ck_assert_ptr_eq (node_stack_find (stack, &s_tag_class), a);
    node_stack_destroy (&stack);
}
END_TEST

START_TEST (test_gated)
{
    node_stack_t *stack = node_stack_new ();
    bool g1 = false, g2 = false;
    ck_assert_int_eq (node_stack_add (stack, NODE_OUTER, &s_tag_class, s_tag_new ('a')), 0);
    ck_assert_int_eq (node_stack_add (stack, NODE_OUTER, &s_gate_class, &g1), 0);
    ck_assert_int_eq (node_stack_add (stack, NODE_OUTER, &s_gate_class, &g2), 0);
    //  True while any node gates, asked each time.
    ck_assert (!node_stack_gated (stack));
    g2 = true;
    ck_assert (node_stack_gated (stack));
    g1 = true;
    ck_assert (node_stack_gated (stack));
    g2 = false;
    ck_assert (node_stack_gated (stack));
    s_rec_t rec;
    node_out_t out;
    s_rec_init (&rec, &out);
    ck_assert_int_eq (node_stack_remove (stack, &g1, &out), 0);
    ck_assert (!node_stack_gated (stack));
    g2 = true;
    ck_assert (node_stack_gated (stack));
    node_stack_destroy (&stack);
}
END_TEST

START_TEST (test_pump)
{
    node_stack_t *stack = node_stack_new ();
    ck_assert_int_eq (node_stack_add (stack, NODE_OUTER, &s_tag_class, s_tag_new ('a')), 0);
    ck_assert_int_eq (node_stack_add (stack, NODE_OUTER, &s_ticker_class, NULL), 0);
    ck_assert_int_eq (node_stack_add (stack, NODE_OUTER, &s_tag_class, s_tag_new ('b')), 0);
    s_rec_t rec;
    node_out_t out;
    s_rec_init (&rec, &out);
    //  Only the ticker has a pump; what it sends passes the nodes beyond it.
    node_stack_pump (stack, 100, &out);
    ck_assert_str_eq (rec.log, "COMMAND=98\nouter:tickb\nCOMMAND=97\ninner:tocka\nWAKE=110\n");
    node_stack_destroy (&stack);
}
END_TEST

START_TEST (test_failure_breaks_stack)
{
    node_stack_t *stack = node_stack_new ();
    int *bad = s_counter_new ();
    ck_assert_int_eq (node_stack_add (stack, NODE_OUTER, &s_tag_class, s_tag_new ('a')), 0);
    ck_assert_int_eq (node_stack_add (stack, NODE_OUTER, &s_bad_class, bad), 0);
    ck_assert_int_eq (node_stack_add (stack, NODE_OUTER, &s_tag_class, s_tag_new ('b')), 0);
    s_rec_t rec;
    node_out_t out;
    s_rec_init (&rec, &out);
    ck_assert_int_eq (s_feed (stack, NODE_INNER, "ok", &out), 0);
    node_stack_pump (stack, 5, &out);
    ck_assert_str_eq (rec.log, "COMMAND=97\nCOMMAND=98\nouter:okab\nWAKE=6\n");
    ck_assert_int_eq (*bad, 2);
    ck_assert_ptr_null (node_stack_failed (stack));

    //  A protocol error: the stack is broken and names the node.
    size_t used = rec.used;
    uint8_t poison[] = { 'x', 0xff };
    ck_assert_int_eq (node_stack_recv (stack, NODE_OUTER, poison, sizeof poison, 0, &out), -1);
    ck_assert_ptr_nonnull (node_stack_failed (stack));
    ck_assert_str_eq (node_stack_failed (stack), "bad");
    ck_assert_int_eq (*bad, 3);
    //  For good: nothing passes any more, and no node is called.
    ck_assert_int_eq (s_feed (stack, NODE_INNER, "more", &out), -1);
    ck_assert_int_eq (s_feed (stack, NODE_OUTER, "more", &out), -1);
    node_stack_pump (stack, 10, &out);
    node_stack_flush (stack, NODE_INNER, &out);
    node_stack_flush (stack, NODE_OUTER, &out);
    ck_assert_str_eq (rec.log + used, "COMMAND=98\n");    //  b, before bad failed
    ck_assert_int_eq (*bad, 3);
    ck_assert_str_eq (node_stack_failed (stack), "bad");
    //  Even with every node taken out.
    s_tag_t *tag;
    while ((tag = (s_tag_t *) node_stack_find (stack, &s_tag_class))) {
        ck_assert_int_eq (node_stack_remove (stack, tag, &out), 0);
        free (tag);                     //  removed: no longer the stack's
    }
    ck_assert_int_eq (node_stack_remove (stack, bad, &out), 0);
    ck_assert_int_eq (s_feed (stack, NODE_INNER, "more", &out), -1);
    ck_assert_int_eq (s_feed (stack, NODE_OUTER, "more", &out), -1);
    ck_assert_str_eq (rec.log + used, "COMMAND=98\n");
    ck_assert_str_eq (node_stack_failed (stack), "bad");
    node_stack_destroy (&stack);
    free (bad);
}
END_TEST

START_TEST (test_failure_stops_the_pass)
{
    //  A node that sends on twice: its second chunk does not reach a node
    //  that failed on the first, nor the caller.
    node_stack_t *stack = node_stack_new ();
    int *bad = s_counter_new ();
    ck_assert_int_eq (node_stack_add (stack, NODE_OUTER, &s_split_class, NULL), 0);
    ck_assert_int_eq (node_stack_add (stack, NODE_OUTER, &s_bad_class, bad), 0);
    s_rec_t rec;
    node_out_t out;
    s_rec_init (&rec, &out);
    uint8_t poison[] = { 0xff, 'a', 'b', 'c' };
    ck_assert_int_eq (node_stack_recv (stack, NODE_INNER, poison, sizeof poison, 0, &out), -1);
    ck_assert_str_eq (node_stack_failed (stack), "bad");
    ck_assert_int_eq (*bad, 1);
    ck_assert_uint_eq (rec.chunks, 0);
    node_stack_destroy (&stack);

    //  Nor does what a node sends back toward the caller, or reports, once
    //  a node beyond it has failed.
    stack = node_stack_new ();
    bad = s_counter_new ();
    ck_assert_int_eq (node_stack_add (stack, NODE_OUTER, &s_ack_class, NULL), 0);
    ck_assert_int_eq (node_stack_add (stack, NODE_OUTER, &s_bad_class, bad), 0);
    ck_assert_int_eq (s_feed (stack, NODE_INNER, "fine", &out), 0);
    ck_assert_str_eq (rec.log, "outer:fine\ninner:ack\nRELEASE=4\n");
    s_rec_init (&rec, &out);
    ck_assert_int_eq (node_stack_recv (stack, NODE_INNER, poison, sizeof poison, 0, &out), -1);
    ck_assert_str_eq (node_stack_failed (stack), "bad");
    ck_assert_str_eq (rec.log, "");
    node_stack_destroy (&stack);
}
END_TEST

START_TEST (test_reentry_from_output)
{
    //  The caller's output feeds the stack again from the other end, from
    //  inside the call: the bytes go through at once, and what comes out of
    //  the nested call goes to the nested output.
    node_stack_t *stack = s_tags ("ab");
    s_rec_t rec, nested;
    node_out_t out, nested_out;
    s_rec_init (&rec, &out);
    s_rec_init (&nested, &nested_out);
    rec.stack = stack;
    rec.feed = "back";
    rec.nested = &nested_out;
    ck_assert_int_eq (s_feed (stack, NODE_INNER, "x", &out), 0);
    ck_assert_str_eq (rec.log, "COMMAND=97\nCOMMAND=98\nouter:xab\n");
    ck_assert_str_eq (nested.log, "COMMAND=98\nCOMMAND=97\ninner:backba\n");
    ck_assert_ptr_null (node_stack_failed (stack));
    node_stack_destroy (&stack);

    //  The outer call's output is in force again once the nested call is
    //  done: the second half of a split still goes to the caller.
    stack = node_stack_new ();
    ck_assert_int_eq (node_stack_add (stack, NODE_OUTER, &s_split_class, NULL), 0);
    ck_assert_int_eq (node_stack_add (stack, NODE_OUTER, &s_tag_class, s_tag_new ('t')), 0);
    s_rec_init (&rec, &out);
    s_rec_init (&nested, &nested_out);
    rec.stack = stack;
    rec.feed = "zz";
    rec.nested = &nested_out;
    ck_assert_int_eq (s_feed (stack, NODE_INNER, "abcd", &out), 0);
    ck_assert_str_eq (rec.log, "COMMAND=116\nouter:abt\nCOMMAND=116\nouter:cdt\n");
    ck_assert_str_eq (nested.log, "COMMAND=116\ninner:zz\ninner:t\n");
    //  And after it, the stack works as before.
    s_rec_init (&rec, &out);
    ck_assert_int_eq (s_feed (stack, NODE_OUTER, "q", &out), 0);
    ck_assert_str_eq (rec.log, "COMMAND=116\ninner:q\ninner:t\n");
    node_stack_destroy (&stack);
}
END_TEST

START_TEST (test_answer_back)
{
    //  node.h: an answer back is a direct call too. [tag a, echo], "PING"
    //  from inner: a passes "PINGa" to echo, which answers "PONGa" toward
    //  inner while a is still inside its recv; a is re-entered from the
    //  other side at once and passes "PONGaa" on toward inner.
    node_stack_t *stack = node_stack_new ();
    s_tag_t *a = s_tag_new ('a');
    ck_assert_int_eq (node_stack_add (stack, NODE_OUTER, &s_tag_borrowed_class, a), 0);
    ck_assert_int_eq (node_stack_add (stack, NODE_OUTER, &s_echo_class, NULL), 0);
    s_rec_t rec;
    node_out_t out;
    s_rec_init (&rec, &out);
    ck_assert_int_eq (s_feed (stack, NODE_INNER, "PING", &out), 0);
    ck_assert_ptr_null (node_stack_failed (stack));
    ck_assert_ptr_nonnull (strstr (rec.log, "inner:PONGaa\n"));
    ck_assert_ptr_null (strstr (rec.log, "outer:"));
    ck_assert_int_eq (a->calls, 2);
    ck_assert_int_eq (a->reentered, 1);
    node_stack_destroy (&stack);
    free (a);
}
END_TEST

START_TEST (test_destroy_owned_not_borrowed)
{
    s_destroyed = 0;
    node_stack_t *stack = node_stack_new ();
    s_tag_t *borrowed[2] = { s_tag_new ('x'), s_tag_new ('y') };
    ck_assert_int_eq (node_stack_add (stack, NODE_OUTER, &s_tag_class, s_tag_new ('a')), 0);
    ck_assert_int_eq (node_stack_add (stack, NODE_OUTER, &s_tag_borrowed_class, borrowed[0]), 0);
    ck_assert_int_eq (node_stack_add (stack, NODE_INNER, &s_flip_class, s_counter_new ()), 0);
    ck_assert_int_eq (node_stack_add (stack, NODE_INNER, &s_tag_borrowed_class, borrowed[1]), 0);
    ck_assert_int_eq (node_stack_add (stack, NODE_OUTER, &s_tag_class, s_tag_new ('b')), 0);
    s_rec_t rec;
    node_out_t out;
    s_rec_init (&rec, &out);
    ck_assert_int_eq (s_feed (stack, NODE_INNER, "m", &out), 0);
    ck_assert_str_eq (strstr (rec.log, "outer:"), "outer:MYaxb\n");
    //  The three owned states are freed (a leak would show under ASan); the
    //  borrowed ones are still their owner's (a free would show as a use
    //  after free or a double free).
    node_stack_destroy (&stack);
    ck_assert_ptr_null (stack);
    ck_assert_int_eq (s_destroyed, 3);
    for (int i = 0; i < 2; i++) {
        ck_assert_int_eq (borrowed[i]->calls, 1);
        ck_assert_int_eq (borrowed[i]->letter, i ? 'y' : 'x');
        free (borrowed[i]);
    }
}
END_TEST

START_TEST (test_side_names)
{
    ck_assert_str_eq (node_side_name (NODE_INNER), "inner");
    ck_assert_str_eq (node_side_name (NODE_OUTER), "outer");
    ck_assert_int_eq (node_side_parse ("inner"), NODE_INNER);
    ck_assert_int_eq (node_side_parse ("outer"), NODE_OUTER);
    ck_assert_int_eq (node_side_parse ("Inner"), -1);
    ck_assert_int_eq (node_side_parse ("out"), -1);
    ck_assert_int_eq (node_side_parse (""), -1);
}
END_TEST

int
main (void)
{
    Suite *suite = suite_create ("node_stack");
    TCase *tc = tcase_create ("core");
    tcase_add_test (tc, test_order);
    tcase_add_test (tc, test_zero_copy);
    tcase_add_test (tc, test_room);
    tcase_add_test (tc, test_empty);
    tcase_add_test (tc, test_add_at_inner_end);
    tcase_add_test (tc, test_remove_flushes);
    tcase_add_test (tc, test_flush);
    tcase_add_test (tc, test_find);
    tcase_add_test (tc, test_gated);
    tcase_add_test (tc, test_pump);
    tcase_add_test (tc, test_failure_breaks_stack);
    tcase_add_test (tc, test_failure_stops_the_pass);
    tcase_add_test (tc, test_reentry_from_output);
    tcase_add_test (tc, test_answer_back);
    tcase_add_test (tc, test_destroy_owned_not_borrowed);
    tcase_add_test (tc, test_side_names);
    suite_add_tcase (suite, tc);

    return check_run (suite);
}
