/*  node_actor — one node run as its own actor, for tests (see node_actor.h). */
#include "test/support/node_actor.h"

#include <openssl/crypto.h>

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/actor.h"

const char *
node_actor_event_name (node_event_t event)
{
    switch (event) {
        case NODE_COMMAND:   return "COMMAND";
        case NODE_RELEASE:   return "RELEASE";
        case NODE_WAKE:      return "WAKE";
        case NODE_SHORTFALL: return "SHORTFALL";
        case NODE_ENDED: return "ENDED";
        case NODE_HOLD:      return "HOLD";
    }
    return "?";
}

typedef struct {
    node_t node;
    char name[ACTOR_NAME_MAX + 1];
} s_start_t;

//  The node's output: every call becomes a message on the pipe.
typedef struct {
    zsock_t *pipe;
    const char *name;
    bool send_failed;
} s_ctx_t;

static void
s_out_data (void *ctx, node_side_t to, uint8_t *data, size_t len, unsigned flags)
{
    s_ctx_t *self = (s_ctx_t *) ctx;
    (void) flags;
    if (actor_send_recv_to (self->pipe, self->name, data, len, node_side_name (to)) != 0)
        self->send_failed = true;
}

static void
s_out_event (void *ctx, node_event_t event, uint64_t value)
{
    s_ctx_t *self = (s_ctx_t *) ctx;
    char text[24];
    snprintf (text, sizeof text, "%" PRIu64, value);
    zmsg_t *msg = zmsg_new ();
    zmsg_addstr (msg, "EVENT");
    zmsg_addstr (msg, self->name);
    zmsg_addstr (msg, node_actor_event_name (event));
    zmsg_addstr (msg, text);
    if (zmsg_send (&msg, self->pipe) != 0) {
        zmsg_destroy (&msg);
        self->send_failed = true;
    }
}

//  A frame holding a decimal uint64_t, nothing else. Returns 0, or -1.
static int
s_parse_u64 (zframe_t *frame, uint64_t *value)
{
    char text[24];
    size_t size = zframe_size (frame);
    if (size < 1 || size >= sizeof text)
        return -1;
    memcpy (text, zframe_data (frame), size);
    text[size] = '\0';
    for (size_t i = 0; i < size; i++)
        if (!isdigit ((unsigned char) text[i]))
            return -1;
    errno = 0;
    unsigned long long parsed = strtoull (text, NULL, 10);
    if (errno == ERANGE)
        return -1;
    *value = (uint64_t) parsed;
    return 0;
}

//  A frame holding "inner" or "outer". Returns the side, or -1.
static int
s_parse_side (zframe_t *frame)
{
    char text[8];
    size_t size = zframe_size (frame);
    if (size < 1 || size >= sizeof text)
        return -1;
    memcpy (text, zframe_data (frame), size);
    text[size] = '\0';
    return node_side_parse (text);
}

//  Returns NULL while all is well, else why the actor must fail.
static const char *
s_handle (const node_t *node, const node_out_t *out, zmsg_t *msg)
{
    zframe_t *command = zmsg_first (msg);
    if (command && zframe_streq (command, "PUMP")) {
        uint64_t now_ms;
        if (zmsg_size (msg) != 2 || s_parse_u64 (zmsg_next (msg), &now_ms) != 0)
            return "malformed message";
        if (node->cls->pump)
            node->cls->pump (node->state, now_ms, out);
        return NULL;
    }
    if (command && zframe_streq (command, "FLUSH")) {
        int toward = zmsg_size (msg) == 2 ? s_parse_side (zmsg_next (msg)) : -1;
        if (toward < 0)
            return "malformed message";
        if (node->cls->flush)
            node->cls->flush (node->state, (node_side_t) toward, out);
        return NULL;
    }
    actor_recv_t in;
    if (actor_recv_parse (msg, &in) != 0 || in.to[0])
        return "malformed message";
    int from = node_side_parse (in.from);
    if (from < 0)
        return "From is neither inner nor outer";
    //  The message is ours until it is destroyed: the node may work on its
    //  Data frame in place.
    if (node->cls->recv (node->state, (node_side_t) from, (uint8_t *) in.data, in.len, 0,
                         out) != 0)
        return "protocol error";
    return NULL;
}

static void
s_node_actor (zsock_t *pipe, void *args)
{
    //  args is the creator's stack frame: copied before the start signal.
    s_start_t start = *(s_start_t *) args;
    node_t *node = &start.node;
    zsock_signal (pipe, 0);

    s_ctx_t ctx = { pipe, start.name, false };
    node_out_t out = { s_out_data, s_out_event, &ctx, NULL };
    while (true) {
        zmsg_t *msg = zmsg_recv (pipe);
        if (!msg)
            break;              //  context terminated
        if (actor_is_term (msg)) {
            zmsg_destroy (&msg);
            break;
        }
        const char *why = s_handle (node, &out, msg);
        zmsg_destroy (&msg);
        if (!why && ctx.send_failed)
            why = "cannot send on pipe";
        if (why) {
            char reason[ACTOR_NAME_MAX + 64];
            snprintf (reason, sizeof reason, "%s: %s", start.name, why);
            actor_fail (pipe, reason);
            break;
        }
    }
    if (node->cls->destroy)
        node->cls->destroy (&node->state);
    OPENSSL_thread_stop ();     //  before the exit signal lets the owner go on
}

zactor_t *
node_actor_new (const node_t *node, const char *name)
{
    assert (node && node->cls && node->cls->recv);
    s_start_t start = { *node, "" };
    zactor_t *actor = NULL;
    if (actor_name_valid (name)) {
        snprintf (start.name, sizeof start.name, "%s", name);
        actor = zactor_new (s_node_actor, &start);
    }
    if (!actor && node->cls->destroy)
        node->cls->destroy (&start.node.state);
    return actor;
}
