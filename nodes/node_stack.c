/*  node_stack — nodes run fused, inner to outer, in the caller's thread
    (see node.h).

    Each node's output is wired to its neighbour's recv (or, at the ends, to
    the caller's output), so bytes pass from node to node as calls on the
    same memory: no queue, no copy. A node may be re-entered from its own
    output (the driver reacting to what came out, e.g. sending an answer
    through the same stack); the nodes finish with their state before they
    emit, so that is safe.
*/
#include "nodes/node.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
    node_t node;
    node_stack_t *stack;
    size_t index;
    node_out_t out;             //  wired to the neighbours
} s_slot_t;

struct node_stack_t {
    s_slot_t slots[NODE_STACK_MAX];
    size_t count;
    const node_out_t *out;      //  the caller's, during a call
    int depth;                  //  calls in progress
    const char *failed;         //  the node that broke the stack
};

static void s_emit_data (void *ctx, node_side_t to, uint8_t *data, size_t len, unsigned flags);
static void s_emit_event (void *ctx, node_event_t event, uint64_t value);
static uint8_t *s_emit_room (void *ctx, node_side_t to, size_t *len);

//  Slots move when a node is added at the inner end or removed: rewire.
static void
s_rewire (node_stack_t *self)
{
    for (size_t i = 0; i < self->count; i++) {
        s_slot_t *slot = &self->slots[i];
        slot->stack = self;
        slot->index = i;
        slot->out = (node_out_t) { s_emit_data, s_emit_event, slot, s_emit_room };
    }
}

node_stack_t *
node_stack_new (void)
{
    return calloc (1, sizeof (node_stack_t));
}

void
node_stack_destroy (node_stack_t **self_p)
{
    node_stack_t *self = *self_p;
    if (!self)
        return;
    for (size_t i = 0; i < self->count; i++)
        if (self->slots[i].node.cls->destroy)
            self->slots[i].node.cls->destroy (&self->slots[i].node.state);
    free (self);
    *self_p = NULL;
}

int
node_stack_add (node_stack_t *self, node_side_t end, const node_class_t *cls, void *state)
{
    if (self->count == NODE_STACK_MAX || self->depth > 0)
        return -1;
    if (end == NODE_INNER) {
        memmove (&self->slots[1], &self->slots[0], self->count * sizeof self->slots[0]);
        self->slots[0].node = (node_t) { cls, state };
    }
    else
        self->slots[self->count].node = (node_t) { cls, state };
    self->count++;
    s_rewire (self);
    return 0;
}

//  Runs fn inside a call: the caller's output is in force, saved and
//  restored around nested calls.
#define S_CALL(self, caller_out, body) do {                     \
        const node_out_t *saved_ = (self)->out;                 \
        (self)->out = (caller_out);                             \
        (self)->depth++;                                        \
        body;                                                   \
        (self)->depth--;                                        \
        (self)->out = saved_;                                   \
    } while (0)

int
node_stack_remove (node_stack_t *self, void *state, const node_out_t *out)
{
    for (size_t i = 0; i < self->count; i++) {
        s_slot_t *slot = &self->slots[i];
        if (slot->node.state != state)
            continue;
        if (self->depth > 0)
            return -1;          //  a node in the middle of a call cannot leave
        if (slot->node.cls->flush)
            S_CALL (self, out, {
                slot->node.cls->flush (state, NODE_INNER, &slot->out);
                slot->node.cls->flush (state, NODE_OUTER, &slot->out);
            });
        memmove (slot, slot + 1, (self->count - i - 1) * sizeof *slot);
        self->count--;
        s_rewire (self);
        return 0;
    }
    return -1;
}

void *
node_stack_find (node_stack_t *self, const node_class_t *cls)
{
    for (size_t i = 0; i < self->count; i++)
        if (self->slots[i].node.cls == cls)
            return self->slots[i].node.state;
    return NULL;
}

//  Bytes arriving at slot index from one side.
static void
s_deliver (node_stack_t *self, size_t index, node_side_t from, uint8_t *data, size_t len,
           unsigned flags)
{
    if (self->failed)
        return;
    s_slot_t *slot = &self->slots[index];
    if (slot->node.cls->recv (slot->node.state, from, data, len, flags, &slot->out) != 0)
        self->failed = slot->node.cls->name;
}

static void
s_emit_data (void *ctx, node_side_t to, uint8_t *data, size_t len, unsigned flags)
{
    s_slot_t *slot = ctx;
    node_stack_t *self = slot->stack;
    if (self->failed)
        return;
    if (to == NODE_OUTER && slot->index + 1 < self->count)
        s_deliver (self, slot->index + 1, NODE_INNER, data, len, flags);
    else
    if (to == NODE_INNER && slot->index > 0)
        s_deliver (self, slot->index - 1, NODE_OUTER, data, len, flags);
    else
        self->out->data (self->out->ctx, to, data, len, flags);
}

static void
s_emit_event (void *ctx, node_event_t event, uint64_t value)
{
    s_slot_t *slot = ctx;
    node_stack_t *self = slot->stack;
    if (!self->failed)
        self->out->event (self->out->ctx, event, value);
}

//  The caller's room, if every node between the slot and that end passes
//  memory on as it is (a node that copied, held or resized the bytes would
//  overwrite or misplace what lies in the room).
static uint8_t *
s_emit_room (void *ctx, node_side_t to, size_t *len)
{
    s_slot_t *slot = ctx;
    node_stack_t *self = slot->stack;
    if (self->failed || !self->out->room)
        return NULL;
    size_t from = to == NODE_OUTER ? slot->index + 1 : 0;
    size_t until = to == NODE_OUTER ? self->count : slot->index;
    for (size_t i = from; i < until; i++)
        if (!self->slots[i].node.cls->passes_memory)
            return NULL;
    return self->out->room (self->out->ctx, to, len);
}

int
node_stack_recv (node_stack_t *self, node_side_t from, uint8_t *data, size_t len,
                 unsigned flags, const node_out_t *out)
{
    if (self->failed)
        return -1;
    if (self->count == 0) {
        out->data (out->ctx, from == NODE_INNER ? NODE_OUTER : NODE_INNER, data, len, flags);
        return 0;
    }
    size_t first = from == NODE_INNER ? 0 : self->count - 1;
    S_CALL (self, out, s_deliver (self, first, from, data, len, flags));
    return self->failed ? -1 : 0;
}

void
node_stack_pump (node_stack_t *self, uint64_t now_ms, const node_out_t *out)
{
    for (size_t i = 0; i < self->count && !self->failed; i++) {
        s_slot_t *slot = &self->slots[i];
        if (slot->node.cls->pump)
            S_CALL (self, out, slot->node.cls->pump (slot->node.state, now_ms, &slot->out));
    }
}

void
node_stack_flush (node_stack_t *self, node_side_t toward, const node_out_t *out)
{
    //  Innermost first toward outer, outermost first toward inner: what a
    //  node lets go still passes the nodes beyond it, which flush after.
    for (size_t n = 0; n < self->count && !self->failed; n++) {
        size_t i = toward == NODE_OUTER ? n : self->count - 1 - n;
        s_slot_t *slot = &self->slots[i];
        if (slot->node.cls->flush)
            S_CALL (self, out, slot->node.cls->flush (slot->node.state, toward, &slot->out));
    }
}

bool
node_stack_gated (node_stack_t *self)
{
    for (size_t i = 0; i < self->count; i++) {
        const node_class_t *cls = self->slots[i].node.cls;
        if (cls->gates && cls->gates (self->slots[i].node.state))
            return true;
    }
    return false;
}

bool
node_stack_marks_end (node_stack_t *self)
{
    for (size_t i = 0; i < self->count; i++)
        if (self->slots[i].node.cls->marks_end)
            return true;
    return false;
}

bool
node_stack_awaits_peer (node_stack_t *self)
{
    for (size_t i = 0; i < self->count; i++) {
        const node_class_t *cls = self->slots[i].node.cls;
        if (cls->awaits_peer && cls->awaits_peer (self->slots[i].node.state))
            return true;
    }
    return false;
}

const char *
node_stack_failed (node_stack_t *self)
{
    return self->failed;
}

const char *
node_side_name (node_side_t side)
{
    return side == NODE_INNER ? "inner" : "outer";
}

int
node_side_parse (const char *name)
{
    if (strcmp (name, "inner") == 0)
        return NODE_INNER;
    if (strcmp (name, "outer") == 0)
        return NODE_OUTER;
    return -1;
}
