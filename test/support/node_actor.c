/*  node — fused node chains and single-node actors (see node.h). */
#include "runtime/node.h"

#include <openssl/crypto.h>

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/actor.h"
#include "runtime/base/log.h"

const char *
node_side_name (node_side_t side)
{
    return side == NODE_INNER ? "inner" : "outer";
}

int
node_side_parse (const char *name)
{
    if (streq (name, "inner"))
        return NODE_INNER;
    if (streq (name, "outer"))
        return NODE_OUTER;
    return -1;
}


//  --- Fused chain

//  A chunk addressed to a node that is still inside its recv.
typedef struct s_chunk_t {
    struct s_chunk_t *next;
    node_side_t from;
    size_t len;
    uint8_t data[];
} s_chunk_t;

typedef struct s_slot_t s_slot_t;

struct s_slot_t {
    const node_class_t *cls;
    void *state;
    node_chain_t *chain;        //  back pointers, so that emit knows where it came from
    size_t index;
    bool busy;                  //  inside cls->recv
    s_chunk_t *head, *tail;     //  chunks waiting for busy to clear
};

struct node_chain_t {
    s_slot_t *slots;
    size_t count;
    node_emit_fn *emit_inner;
    node_emit_fn *emit_outer;
    void *ctx;
    bool broken;
    const char *failed;         //  name of the node that broke the chain
    bool ends_busy;             //  a call into node_chain_recv is in progress
    s_chunk_t *head, *tail;     //  re-entrant node_chain_recv calls, queued
};

static void s_deliver (node_chain_t *self, size_t index, node_side_t from,
                       const uint8_t *data, size_t len);

static void
s_queue_push (s_chunk_t **head, s_chunk_t **tail, node_side_t from, const uint8_t *data, size_t len)
{
    s_chunk_t *chunk = (s_chunk_t *) malloc (sizeof (s_chunk_t) + len);
    assert (chunk);
    chunk->next = NULL;
    chunk->from = from;
    chunk->len = len;
    if (len)
        memcpy (chunk->data, data, len);
    if (*tail)
        (*tail)->next = chunk;
    else
        *head = chunk;
    *tail = chunk;
}

static s_chunk_t *
s_queue_pop (s_chunk_t **head, s_chunk_t **tail)
{
    s_chunk_t *chunk = *head;
    if (chunk) {
        *head = chunk->next;
        if (!*head)
            *tail = NULL;
    }
    return chunk;
}

static void
s_queue_clear (s_chunk_t **head, s_chunk_t **tail)
{
    s_chunk_t *chunk;
    while ((chunk = s_queue_pop (head, tail)))
        free (chunk);
}

//  Where a node's output goes: the neighbour on that side, or out of the chain.
static void
s_emit (void *ctx, node_side_t to, const uint8_t *data, size_t len)
{
    s_slot_t *slot = (s_slot_t *) ctx;
    node_chain_t *self = slot->chain;
    if (self->broken)
        return;
    if (to == NODE_OUTER) {
        if (slot->index + 1 == self->count)
            self->emit_outer (self->ctx, NODE_OUTER, data, len);
        else
            s_deliver (self, slot->index + 1, NODE_INNER, data, len);
    }
    else {
        if (slot->index == 0)
            self->emit_inner (self->ctx, NODE_INNER, data, len);
        else
            s_deliver (self, slot->index - 1, NODE_OUTER, data, len);
    }
}

static void
s_call (node_chain_t *self, s_slot_t *slot, node_side_t from, const uint8_t *data, size_t len)
{
    if (slot->cls->recv (slot->state, from, data, len, s_emit, slot) != 0 && !self->broken) {
        self->broken = true;
        self->failed = slot->cls->name;
    }
}

//  Hand bytes to one node, never re-entering it.
static void
s_deliver (node_chain_t *self, size_t index, node_side_t from, const uint8_t *data, size_t len)
{
    s_slot_t *slot = &self->slots[index];
    if (slot->busy) {
        s_queue_push (&slot->head, &slot->tail, from, data, len);
        return;
    }
    slot->busy = true;
    s_call (self, slot, from, data, len);
    s_chunk_t *chunk;
    while (!self->broken && (chunk = s_queue_pop (&slot->head, &slot->tail))) {
        s_call (self, slot, chunk->from, chunk->data, chunk->len);
        free (chunk);
    }
    slot->busy = false;
}

//  Bytes entering at one end of the chain.
static void
s_enter (node_chain_t *self, node_side_t from, const uint8_t *data, size_t len)
{
    if (self->count == 0) {
        if (from == NODE_INNER)
            self->emit_outer (self->ctx, NODE_OUTER, data, len);
        else
            self->emit_inner (self->ctx, NODE_INNER, data, len);
    }
    else
        s_deliver (self, from == NODE_INNER ? 0 : self->count - 1, from, data, len);
}

node_chain_t *
node_chain_new (const node_class_t *const classes[], const void *const args[], size_t n,
                node_emit_fn *emit_inner, node_emit_fn *emit_outer, void *ctx)
{
    assert (emit_inner && emit_outer);
    node_chain_t *self = (node_chain_t *) zmalloc (sizeof (node_chain_t));
    assert (self);
    self->slots = (s_slot_t *) zmalloc (sizeof (s_slot_t) * (n ? n : 1));
    assert (self->slots);
    self->emit_inner = emit_inner;
    self->emit_outer = emit_outer;
    self->ctx = ctx;
    for (size_t i = 0; i < n; i++) {
        s_slot_t *slot = &self->slots[i];
        slot->cls = classes[i];
        slot->chain = self;
        slot->index = i;
        slot->state = slot->cls->create (args ? args[i] : NULL);
        if (!slot->state) {
            log_error ("node %s: cannot create state", slot->cls->name);
            node_chain_destroy (&self);
            return NULL;
        }
        self->count = i + 1;
    }
    return self;
}

void
node_chain_destroy (node_chain_t **self_p)
{
    assert (self_p);
    node_chain_t *self = *self_p;
    if (!self)
        return;
    for (size_t i = 0; i < self->count; i++) {
        s_slot_t *slot = &self->slots[i];
        slot->cls->destroy (&slot->state);
        s_queue_clear (&slot->head, &slot->tail);
    }
    s_queue_clear (&self->head, &self->tail);
    free (self->slots);
    free (self);
    *self_p = NULL;
}

int
node_chain_recv (node_chain_t *self, node_side_t from, const uint8_t *data, size_t len)
{
    assert (self);
    if (self->broken)
        return -1;
    if (self->ends_busy) {
        //  Called back from emit_inner/emit_outer: finish the current pass first.
        s_queue_push (&self->head, &self->tail, from, data, len);
        return 0;
    }
    self->ends_busy = true;
    s_enter (self, from, data, len);
    s_chunk_t *chunk;
    while (!self->broken && (chunk = s_queue_pop (&self->head, &self->tail))) {
        s_enter (self, chunk->from, chunk->data, chunk->len);
        free (chunk);
    }
    self->ends_busy = false;
    if (self->broken) {
        for (size_t i = 0; i < self->count; i++)
            s_queue_clear (&self->slots[i].head, &self->slots[i].tail);
        s_queue_clear (&self->head, &self->tail);
        return -1;
    }
    return 0;
}

const char *
node_chain_failed (node_chain_t *self)
{
    assert (self);
    return self->broken ? self->failed : NULL;
}


//  --- One node as its own actor

typedef struct {
    const node_class_t *cls;
    const void *args;
    const char *name;
    int status;                 //  set by the actor before its start signal
} s_start_t;

typedef struct {
    zsock_t *pipe;
    const char *name;
    bool send_failed;
} s_actor_ctx_t;

static void
s_actor_emit (void *ctx, node_side_t to, const uint8_t *data, size_t len)
{
    s_actor_ctx_t *self = (s_actor_ctx_t *) ctx;
    if (actor_send_recv_to (self->pipe, self->name, data, len, node_side_name (to)) != 0)
        self->send_failed = true;
}

//  Returns NULL while all is well, else why the actor must fail.
static const char *
s_actor_handle (const node_class_t *cls, void *state, s_actor_ctx_t *ctx, zmsg_t *msg)
{
    actor_recv_t in;
    if (actor_recv_parse (msg, &in) != 0 || in.to[0])
        return "malformed message";
    int side = node_side_parse (in.from);
    if (side < 0)
        return "From is neither inner nor outer";
    if (cls->recv (state, (node_side_t) side, in.data, in.len, s_actor_emit, ctx) != 0)
        return "protocol error";
    if (ctx->send_failed)
        return "cannot send on pipe";
    return NULL;
}

static void
s_node_actor (zsock_t *pipe, void *args)
{
    s_start_t *start = (s_start_t *) args;
    const node_class_t *cls = start->cls;
    char name[ACTOR_NAME_MAX + 1];
    snprintf (name, sizeof name, "%s", start->name);
    void *state = cls->create (start->args);
    start->status = state ? 0 : -1;
    if (!state) {
        //  Free this thread's OpenSSL state (a failed create may have made
        //  some) before the creator, and maybe the process, goes on.
        OPENSSL_thread_stop ();
        zsock_signal (pipe, 1);
        return;
    }
    //  start is the creator's stack frame: not to be touched after the signal.
    zsock_signal (pipe, 0);

    s_actor_ctx_t ctx = { pipe, name, false };
    while (true) {
        zmsg_t *msg = zmsg_recv (pipe);
        if (!msg)
            break;              //  context terminated
        if (actor_is_term (msg)) {
            zmsg_destroy (&msg);
            break;
        }
        const char *why = s_actor_handle (cls, state, &ctx, msg);
        zmsg_destroy (&msg);
        if (why) {
            char reason[128];
            snprintf (reason, sizeof reason, "%s: %s", name, why);
            actor_fail (pipe, reason);
            break;
        }
    }
    cls->destroy (&state);
    OPENSSL_thread_stop ();     //  before the exit signal lets the owner go on
}

zactor_t *
node_actor_new (const node_class_t *cls, const void *args, const char *name)
{
    assert (cls);
    if (!actor_name_valid (name))
        return NULL;
    s_start_t start = { cls, args, name, -1 };
    zactor_t *actor = zactor_new (s_node_actor, &start);
    if (actor && start.status != 0) {
        //  The actor has returned without reading its pipe, and its exit
        //  signal is still unread, so zactor_destroy cannot block.
        log_error ("node %s: cannot create state", cls->name);
        zactor_destroy (&actor);
    }
    return actor;
}
