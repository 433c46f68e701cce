/*  Tests for nodes/mimic_node on a fake clock: identity/identity does not
    gate and only learns (what it learned shows once a shaping model is set,
    against the codec driven directly); a shaping model gates, passes the
    bytes on at once and unchanged, and RELEASEs every byte fed when pumped
    at the WAKE times it asks for, over every model combination; padding is
    RELEASEd at once and not learned from; SHORTFALL; set_model between
    shaping and identity; suspend; flush. The node runs in a node stack that
    owns it, as on a session side. */
#include <check.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nodes/mimic.h"
#include "nodes/mimic_node.h"
#include "nodes/node.h"
#include "test/support/check_run.h"

//  Check's ck_assert_* report every passing check to the parent process;
//  loops use this, which only speaks up on failure.
#define S_CHECK(cond) \
    do { if (!(cond)) ck_abort_msg ("assertion failed: %s (line %d)", #cond, __LINE__); } while (0)

#define S_MAX_RELEASES 100000

//  The fake clock: the node reads it, the test moves it.
static uint64_t s_now;

static uint64_t
s_clock (void)
{
    return s_now;
}


//  --- Recording the node's output

typedef struct {
    uint64_t time;
    size_t len;
} s_release_t;

typedef struct {
    //  Chunks passed on, the last as it was passed.
    size_t chunks;
    node_side_t last_to;
    const uint8_t *last_ptr;
    size_t last_len;
    unsigned last_flags;
    //  Events.
    size_t events;
    size_t released;            //  sum of RELEASE values
    s_release_t *releases;      //  each RELEASE, with the clock's time
    size_t nreleases;
    uint64_t wake;              //  the last WAKE since s_pump began, UINT64_MAX if none
    size_t shortfall;           //  sum of SHORTFALL values
} s_rec_t;

static void
s_rec_data (void *ctx, node_side_t to, uint8_t *data, size_t len, unsigned flags)
{
    s_rec_t *rec = (s_rec_t *) ctx;
    rec->chunks++;
    rec->last_to = to;
    rec->last_ptr = data;
    rec->last_len = len;
    rec->last_flags = flags;
}

static void
s_rec_event (void *ctx, node_event_t event, uint64_t value)
{
    s_rec_t *rec = (s_rec_t *) ctx;
    rec->events++;
    switch (event) {
        case NODE_RELEASE:
            S_CHECK (value > 0);
            S_CHECK (rec->nreleases < S_MAX_RELEASES);
            rec->releases[rec->nreleases++] = (s_release_t) { s_now, (size_t) value };
            rec->released += (size_t) value;
            break;
        case NODE_WAKE:
            rec->wake = value;
            break;
        case NODE_SHORTFALL:
            rec->shortfall += (size_t) value;
            break;
        case NODE_COMMAND:
        case NODE_ENDED:
        case NODE_HOLD:
            ck_abort_msg ("a mimic has no commands, marks no ends and never pauses");
    }
}

//  A side: the node in a stack that owns it, and what came out.
typedef struct {
    node_stack_t *stack;
    mimic_node_t *mimic;        //  the stack's; for set_model and suspend
    s_rec_t rec;                //  its releases: the model's, padding's aside
    node_out_t out;
    size_t fed;                 //  bytes fed from inner, padding aside
    size_t padding;             //  padding fed
    size_t padding_released;    //  RELEASEd by the recv of padding
} s_side_t;

static void
s_side_init (s_side_t *side, const mimic_model_t *model)
{
    memset (side, 0, sizeof *side);
    side->rec.releases = (s_release_t *) calloc (S_MAX_RELEASES, sizeof (s_release_t));
    ck_assert_ptr_nonnull (side->rec.releases);
    side->out = (node_out_t) { s_rec_data, s_rec_event, &side->rec, NULL };
    side->mimic = mimic_node_new (model, s_clock);
    ck_assert_ptr_nonnull (side->mimic);
    side->stack = node_stack_new ();
    ck_assert_int_eq (node_stack_add (side->stack, NODE_OUTER, &mimic_node_class, side->mimic), 0);
    ck_assert_ptr_eq (node_stack_find (side->stack, &mimic_node_class), side->mimic);
}

static void
s_side_destroy (s_side_t *side)
{
    node_stack_destroy (&side->stack);      //  frees the node (a leak shows under ASan)
    free (side->rec.releases);
}

//  Feeds len bytes from inner at the clock's time: they pass on at once,
//  the same memory, unchanged, with their flags. Returns how many events
//  the recv itself made. A padding chunk's RELEASE (all of it, or none) is
//  kept apart from the model's releases.
static size_t
s_send (s_side_t *side, size_t len, unsigned flags)
{
    static uint8_t buf[200 * 1024], copy[200 * 1024];
    S_CHECK (len <= sizeof buf);
    for (size_t i = 0; i < len; i++)
        buf[i] = (uint8_t) (i * 31 + len);
    memcpy (copy, buf, len);
    size_t chunks = side->rec.chunks, events = side->rec.events;
    size_t nreleases = side->rec.nreleases;
    S_CHECK (node_stack_recv (side->stack, NODE_INNER, buf, len, flags, &side->out) == 0);
    S_CHECK (side->rec.chunks == chunks + 1);
    S_CHECK (side->rec.last_to == NODE_OUTER);
    S_CHECK (side->rec.last_ptr == buf);
    S_CHECK (side->rec.last_len == len);
    S_CHECK (side->rec.last_flags == flags);
    S_CHECK (memcmp (buf, copy, len) == 0);
    size_t made = side->rec.events - events;
    if (flags & NODE_PADDING) {
        side->padding += len;
        if (made > 0) {
            S_CHECK (made == 1);
            S_CHECK (side->rec.nreleases == nreleases + 1);
            S_CHECK (side->rec.releases[nreleases].len == len);
            side->rec.nreleases--;
            side->rec.released -= len;
            side->padding_released += len;
        }
    }
    else
        side->fed += len;
    return made;
}

//  Pumps at the clock's time. Returns the WAKE it asked for (later than
//  now), or UINT64_MAX.
static uint64_t
s_pump (s_side_t *side)
{
    side->rec.wake = UINT64_MAX;
    node_stack_pump (side->stack, s_now, &side->out);
    S_CHECK (side->rec.wake > s_now);
    S_CHECK (side->rec.released <= side->fed);
    return side->rec.wake;
}

//  Pumps at the WAKE times until none is asked for; the clock ends there.
static void
s_drain (s_side_t *side)
{
    for (int i = 0; i < S_MAX_RELEASES; i++) {
        uint64_t wake = s_pump (side);
        if (wake == UINT64_MAX)
            return;
        s_now = wake;
    }
    ck_abort_msg ("the mimic node kept asking to be woken");
}

//  Feeds count chunks of size bytes, gap ms apart, pumping after each and
//  at the WAKE times in between, as a driver would.
static void
s_traffic (s_side_t *side, int count, size_t size, uint64_t gap)
{
    uint64_t wake = UINT64_MAX;
    for (int i = 0; i < count; i++) {
        uint64_t at = s_now + gap;
        while (wake <= at) {
            s_now = wake;
            wake = s_pump (side);
        }
        s_now = at;
        S_CHECK (s_send (side, size, 0) == 0);
        wake = s_pump (side);
    }
}


//  --- The codec driven directly, as the node should drive it

typedef struct {
    mimic_t *mimic;
    s_release_t *releases;
    size_t nreleases;
    size_t shortfall;
} s_ref_t;

static void
s_ref_emit (void *ctx, const uint8_t *data, size_t len)
{
    s_ref_t *ref = (s_ref_t *) ctx;
    S_CHECK (data == NULL);
    S_CHECK (ref->nreleases < S_MAX_RELEASES);
    ref->releases[ref->nreleases++] = (s_release_t) { s_now, len };
}

static void
s_ref_init (s_ref_t *ref, const mimic_model_t *model)
{
    memset (ref, 0, sizeof *ref);
    ref->releases = (s_release_t *) calloc (S_MAX_RELEASES, sizeof (s_release_t));
    ck_assert_ptr_nonnull (ref->releases);
    ref->mimic = mimic_new (model, s_now);
    ck_assert_ptr_nonnull (ref->mimic);
}

static void
s_ref_destroy (s_ref_t *ref)
{
    mimic_destroy (&ref->mimic);
    free (ref->releases);
}

static uint64_t
s_ref_pump (s_ref_t *ref)
{
    uint64_t next = mimic_pump (ref->mimic, s_now, s_ref_emit, ref);
    ref->shortfall += mimic_take_shortfall (ref->mimic);
    return next;
}

static void
s_assert_same_releases (const s_side_t *side, const s_ref_t *ref)
{
    ck_assert_uint_eq (side->rec.nreleases, ref->nreleases);
    for (size_t i = 0; i < ref->nreleases; i++) {
        ck_assert_uint_eq (side->rec.releases[i].time, ref->releases[i].time);
        ck_assert_uint_eq (side->rec.releases[i].len, ref->releases[i].len);
    }
    ck_assert_uint_eq (side->rec.shortfall, ref->shortfall);
}

//  Every size and delay model but identity / identity, one per loop index.
static mimic_model_t
s_shaping_model (int index)
{
    int size = (index + 1) / (DELAY_EXPONENTIAL + 1);
    int delay = (index + 1) % (DELAY_EXPONENTIAL + 1);
    return (mimic_model_t) {
        (mimic_size_model_t) size, (mimic_delay_model_t) delay, MIMIC_EST_IIR,
        1000 + (uint64_t) index
    };
}
#define S_SHAPING_MODELS ((SIZE_GAUSSIAN + 1) * (DELAY_EXPONENTIAL + 1) - 1)

static const mimic_model_t s_constant = { SIZE_CONSTANT, DELAY_CONSTANT, MIMIC_EST_IIR, 7 };
static const mimic_model_t s_identity = { SIZE_IDENTITY, DELAY_IDENTITY, MIMIC_EST_IIR, 7 };


//  --- Tests

START_TEST (test_identity_learns_only)
{
    s_now = 1000;
    s_side_t side;
    s_side_init (&side, NULL);
    s_ref_t ref;
    s_ref_init (&ref, NULL);
    ck_assert_str_eq (mimic_node_class.name, "mimic");
    ck_assert (!node_stack_gated (side.stack));

    //  Bytes pass on at once, and no pump, WAKE or RELEASE is wanted: the
    //  gate is open. Padding and bytes from outer are not learned from.
    for (int i = 0; i < 60; i++) {
        s_now += 40;
        S_CHECK (s_send (&side, 700 + (size_t) i, 0) == 0);
        mimic_observe (ref.mimic, s_now, 700 + (size_t) i);
        S_CHECK (s_send (&side, 9, NODE_PADDING) == 0);
        uint8_t down[5] = { 'd', 'o', 'w', 'n', 0 };
        S_CHECK (node_stack_recv (side.stack, NODE_OUTER, down, 5, 0, &side.out) == 0);
        S_CHECK (side.rec.last_to == NODE_INNER && side.rec.last_ptr == down);
        S_CHECK (s_pump (&side) == UINT64_MAX);
        S_CHECK (!node_stack_gated (side.stack));
    }
    node_stack_flush (side.stack, NODE_OUTER, &side.out);
    ck_assert_uint_eq (side.rec.events, 0);

    //  What it learned: a shaping model now schedules from it exactly as the
    //  codec that learned the same chunks does.
    ck_assert_int_eq (mimic_node_set_model (side.mimic, &s_constant), 0);
    ck_assert_int_eq (mimic_set_model (ref.mimic, &s_constant), 0);
    ck_assert (node_stack_gated (side.stack));
    s_now += 40;
    ck_assert_uint_eq (s_send (&side, 3000, 0), 0);
    mimic_push_count (ref.mimic, s_now, 3000);
    uint64_t next = s_ref_pump (&ref);
    uint64_t wake = s_pump (&side);
    ck_assert_uint_eq (wake, next);
    while (wake != UINT64_MAX) {
        s_now = wake;
        next = s_ref_pump (&ref);
        wake = s_pump (&side);
        S_CHECK (wake == next);
    }
    s_assert_same_releases (&side, &ref);
    ck_assert_uint_eq (side.rec.released, 3000);
    //  In model sends of about the learned mean size, not all at once.
    ck_assert_uint_gt (side.rec.nreleases, 2);
    ck_assert_uint_eq (side.padding_released, 0);     //  the gate was open
    s_ref_destroy (&ref);
    s_side_destroy (&side);
}
END_TEST

START_TEST (test_shaping_releases_everything)
{
    mimic_model_t model = s_shaping_model (_i);
    s_now = 5000;
    s_side_t side;
    s_side_init (&side, &model);
    ck_assert (node_stack_gated (side.stack));
    //  Warm-up: the first 2 s pass at once; learn traffic with gaps.
    s_traffic (&side, 30, 800, 60);
    s_drain (&side);
    ck_assert_uint_eq (side.rec.released, side.fed);

    //  Random chunks at random times, pumped at the WAKE times in between
    //  and after each chunk. The recv itself releases nothing.
    uint64_t state = 77 + (uint64_t) _i;
    uint64_t wake = UINT64_MAX;
    bool held_back = false;
    for (int i = 0; i < 400; i++) {
        state = state * 6364136223846793005ULL + 1442695040888963407ULL;
        uint64_t at = s_now + (state >> 33) % 120;
        size_t len = 1 + (size_t) ((state >> 17) % 3000);
        while (wake <= at) {
            s_now = wake;
            wake = s_pump (&side);
        }
        s_now = at;
        S_CHECK (s_send (&side, len, 0) == 0);
        wake = s_pump (&side);
        S_CHECK ((wake == UINT64_MAX) == (side.rec.released == side.fed));
        if (side.rec.released < side.fed)
            held_back = true;
        S_CHECK (node_stack_gated (side.stack));
    }
    s_drain (&side);
    //  Every byte fed is released, no more, and then nothing is pending.
    ck_assert_uint_eq (side.rec.released, side.fed);
    ck_assert_uint_eq (s_pump (&side), UINT64_MAX);
    ck_assert_uint_eq (side.rec.released, side.fed);
    //  A model with a delay holds bytes back for a while.
    if (model.delay != DELAY_IDENTITY)
        ck_assert (held_back);
    s_side_destroy (&side);
}
END_TEST

START_TEST (test_padding)
{
    s_now = 0;
    s_side_t side;
    s_side_init (&side, &s_constant);
    s_traffic (&side, 50, 500, 60);         //  past the warm-up
    s_drain (&side);

    //  Bytes held back, then padding: released at once, in its recv,
    //  whatever the model says.
    s_now += 60;
    S_CHECK (s_send (&side, 2000, 0) == 0);
    ck_assert_uint_ne (s_pump (&side), UINT64_MAX);
    size_t released = side.rec.released;
    ck_assert_uint_lt (released, side.fed);
    ck_assert_uint_eq (s_send (&side, 37, NODE_PADDING), 1);
    ck_assert_uint_eq (side.padding_released, 37);
    ck_assert_uint_eq (side.rec.released, released);
    //  Empty padding is nothing.
    ck_assert_uint_eq (s_send (&side, 0, NODE_PADDING), 0);
    //  The held bytes still go at the model's pace.
    s_drain (&side);
    ck_assert_uint_eq (side.rec.released, side.fed);
    ck_assert_uint_eq (side.padding_released, 37);
    s_side_destroy (&side);
}
END_TEST

START_TEST (test_padding_not_learned)
{
    //  Two nodes with the same model and the same traffic, one of them also
    //  given padding after each chunk: they release the traffic alike.
    s_now = 0;
    s_side_t plain, padded;
    s_side_init (&plain, &s_constant);
    s_side_init (&padded, &s_constant);
    s_side_t *sides[] = { &plain, &padded };
    uint64_t wake[2] = { UINT64_MAX, UINT64_MAX };
    for (int i = 0; i < 120; i++) {
        uint64_t at = s_now + 50;
        S_CHECK (wake[0] == wake[1]);
        while (wake[0] <= at) {
            s_now = wake[0];
            for (int s = 0; s < 2; s++)
                wake[s] = s_pump (sides[s]);
            S_CHECK (wake[0] == wake[1]);
        }
        s_now = at;
        for (int s = 0; s < 2; s++) {
            S_CHECK (s_send (sides[s], 300 + (size_t) (i % 7) * 100, 0) == 0);
            if (s == 1)
                S_CHECK (s_send (sides[s], 5 + (size_t) i, NODE_PADDING) == 1);
            wake[s] = s_pump (sides[s]);
        }
    }
    while (wake[0] != UINT64_MAX) {
        s_now = wake[0];
        for (int s = 0; s < 2; s++)
            wake[s] = s_pump (sides[s]);
        S_CHECK (wake[0] == wake[1]);
    }
    ck_assert_uint_eq (padded.padding_released, padded.padding);
    ck_assert_uint_eq (plain.rec.nreleases, padded.rec.nreleases);
    for (size_t i = 0; i < plain.rec.nreleases; i++) {
        S_CHECK (plain.rec.releases[i].time == padded.rec.releases[i].time);
        S_CHECK (plain.rec.releases[i].len == padded.rec.releases[i].len);
    }
    ck_assert_uint_eq (plain.rec.released, plain.fed);
    ck_assert_uint_eq (padded.rec.released, padded.fed);
    ck_assert_uint_eq (plain.rec.shortfall, padded.rec.shortfall);
    s_side_destroy (&plain);
    s_side_destroy (&padded);
}
END_TEST

//  Pumps the node and the codec alike at the WAKE times until neither asks.
static void
s_drain_both (s_side_t *side, s_ref_t *ref)
{
    for (int i = 0; i < S_MAX_RELEASES; i++) {
        uint64_t wake = s_pump (side);
        S_CHECK (wake == s_ref_pump (ref));
        if (wake == UINT64_MAX)
            return;
        s_now = wake;
    }
    ck_abort_msg ("the mimic node kept asking to be woken");
}

START_TEST (test_shortfall)
{
    //  Learned chunks of 2000 bytes; then 150 queued: the constant model's
    //  send wants the learned mean, and the node reports what it lacked,
    //  as the codec does.
    s_now = 0;
    s_side_t side;
    s_side_init (&side, &s_constant);
    s_ref_t ref;
    s_ref_init (&ref, &s_constant);
    for (int i = 0; i < 40; i++) {
        s_now += 60;
        S_CHECK (s_send (&side, 2000, 0) == 0);
        mimic_push_count (ref.mimic, s_now, 2000);
        s_drain_both (&side, &ref);
    }
    size_t before = side.rec.shortfall;
    s_now += 200;
    S_CHECK (s_send (&side, 150, 0) == 0);
    mimic_push_count (ref.mimic, s_now, 150);
    s_drain_both (&side, &ref);
    s_assert_same_releases (&side, &ref);
    ck_assert_uint_gt (side.rec.shortfall, before + 1000);
    ck_assert_uint_eq (side.rec.released, side.fed);
    s_ref_destroy (&ref);
    s_side_destroy (&side);
}
END_TEST

START_TEST (test_set_model)
{
    s_now = 0;
    s_side_t side;
    s_side_init (&side, &s_constant);
    s_traffic (&side, 50, 500, 60);
    s_drain (&side);
    ck_assert_uint_eq (side.rec.released, side.fed);

    //  Shaping, bytes held back.
    s_now += 60;
    S_CHECK (s_send (&side, 2000, 0) == 0);
    ck_assert_uint_ne (s_pump (&side), UINT64_MAX);
    ck_assert_uint_lt (side.rec.released, side.fed);
    //  To identity: the gate opens and what it had scheduled is forgotten
    //  (the driver writes everything once the gate is open).
    size_t released = side.rec.released;
    size_t events = side.rec.events;
    ck_assert_int_eq (mimic_node_set_model (side.mimic, &s_identity), 0);
    ck_assert (!node_stack_gated (side.stack));
    ck_assert_uint_eq (s_pump (&side), UINT64_MAX);
    node_stack_flush (side.stack, NODE_OUTER, &side.out);
    s_now += 1000;
    S_CHECK (s_send (&side, 5000, 0) == 0);
    ck_assert_uint_eq (s_pump (&side), UINT64_MAX);
    ck_assert_uint_eq (side.rec.events, events);
    ck_assert_uint_eq (side.rec.released, released);

    //  Back to shaping: the gate closes, and schedules what comes next only.
    ck_assert_int_eq (mimic_node_set_model (side.mimic, &s_constant), 0);
    ck_assert (node_stack_gated (side.stack));
    ck_assert_uint_eq (s_pump (&side), UINT64_MAX);
    ck_assert_uint_eq (side.rec.events, events);
    s_now += 60;
    S_CHECK (s_send (&side, 3000, 0) == 0);
    s_drain (&side);
    ck_assert_uint_eq (side.rec.released, released + 3000);

    //  A model out of range changes nothing.
    mimic_model_t bad = { (mimic_size_model_t) 9, DELAY_IDENTITY, MIMIC_EST_IIR, 1 };
    ck_assert_int_eq (mimic_node_set_model (side.mimic, &bad), -1);
    ck_assert (node_stack_gated (side.stack));
    ck_assert_ptr_null (mimic_node_new (&bad, s_clock));

    //  From one shaping model to another, the bytes queued stay queued.
    s_now += 60;
    S_CHECK (s_send (&side, 3000, 0) == 0);
    ck_assert_uint_ne (s_pump (&side), UINT64_MAX);
    mimic_model_t other = { SIZE_UNIFORM, DELAY_EXPONENTIAL, MIMIC_EST_IIR, 3 };
    ck_assert_int_eq (mimic_node_set_model (side.mimic, &other), 0);
    ck_assert (node_stack_gated (side.stack));
    s_drain (&side);
    ck_assert_uint_eq (side.rec.released, released + 6000);
    s_side_destroy (&side);
}
END_TEST

START_TEST (test_suspend)
{
    s_now = 0;
    s_side_t side;
    s_side_init (&side, &s_constant);
    s_traffic (&side, 50, 500, 60);
    s_drain (&side);
    s_now += 60;
    S_CHECK (s_send (&side, 4000, 0) == 0);
    ck_assert_uint_ne (s_pump (&side), UINT64_MAX);
    ck_assert_uint_lt (side.rec.released, side.fed);

    //  Suspended: the next pump, at the same time, releases everything.
    mimic_node_suspend (side.mimic, 5000);
    ck_assert (node_stack_gated (side.stack));
    ck_assert_uint_eq (s_pump (&side), UINT64_MAX);
    ck_assert_uint_eq (side.rec.released, side.fed);
    //  And what comes during the suspension.
    s_now += 4000;
    S_CHECK (s_send (&side, 4000, 0) == 0);
    ck_assert_uint_eq (s_pump (&side), UINT64_MAX);
    ck_assert_uint_eq (side.rec.released, side.fed);
    //  Once it is over, the model holds bytes back again.
    s_now += 1001;
    S_CHECK (s_send (&side, 4000, 0) == 0);
    ck_assert_uint_ne (s_pump (&side), UINT64_MAX);
    ck_assert_uint_lt (side.rec.released, side.fed);
    s_drain (&side);
    ck_assert_uint_eq (side.rec.released, side.fed);
    s_side_destroy (&side);
}
END_TEST

START_TEST (test_flush)
{
    s_now = 0;
    s_side_t side;
    s_side_init (&side, &s_constant);
    s_traffic (&side, 50, 500, 60);
    s_drain (&side);
    s_now += 60;
    S_CHECK (s_send (&side, 2500, 0) == 0);
    S_CHECK (s_send (&side, 1500, 0) == 0);
    ck_assert_uint_ne (s_pump (&side), UINT64_MAX);
    size_t released = side.rec.released;
    ck_assert_uint_lt (released, side.fed);
    //  Toward inner: nothing to let go.
    size_t events = side.rec.events;
    node_stack_flush (side.stack, NODE_INNER, &side.out);
    ck_assert_uint_eq (side.rec.events, events);
    //  Toward outer: everything, at once; then nothing is pending.
    node_stack_flush (side.stack, NODE_OUTER, &side.out);
    ck_assert_uint_eq (side.rec.released, side.fed);
    ck_assert_uint_eq (s_pump (&side), UINT64_MAX);
    ck_assert_uint_eq (side.rec.released, side.fed);
    //  It still shapes what comes next.
    ck_assert (node_stack_gated (side.stack));
    s_now += 60;
    S_CHECK (s_send (&side, 3000, 0) == 0);
    ck_assert_uint_ne (s_pump (&side), UINT64_MAX);
    s_drain (&side);
    ck_assert_uint_eq (side.rec.released, side.fed);
    s_side_destroy (&side);
}
END_TEST

int
main (void)
{
    Suite *suite = suite_create ("mimic_node");
    TCase *tc = tcase_create ("core");
    tcase_add_test (tc, test_identity_learns_only);
    tcase_add_loop_test (tc, test_shaping_releases_everything, 0, S_SHAPING_MODELS);
    tcase_add_test (tc, test_padding);
    tcase_add_test (tc, test_padding_not_learned);
    tcase_add_test (tc, test_shortfall);
    tcase_add_test (tc, test_set_model);
    tcase_add_test (tc, test_suspend);
    tcase_add_test (tc, test_flush);
    tcase_set_timeout (tc, 60);
    suite_add_tcase (suite, tc);

    return check_run (suite);
}
