/*  node_actor — one node (nodes/node.h) run as its own CZMQ actor.

    The design lets any node run as its own actor, for tracing or tests,
    because the message shape is the same as between actors (runtime/actor.h).
    The data plane never does that: a tunnel side runs its nodes fused in a
    node_stack_t, in its worker's thread. The node-as-actor mode is for tests,
    so it lives under test/: a unit test drives a node through a pipe exactly
    as another actor would, and checks that it behaves as it does in a stack.

    Input on its pipe:

        "RECV" | From | Data        bytes arriving from From, "inner" or
                                    "outer" (no To frame; flags 0)
        "PUMP" | now_ms             the node's pump at now_ms (decimal), if
                                    its class has one
        "FLUSH" | toward            the node's flush toward "inner" or
                                    "outer", if its class has one

    Output on its pipe, one message per call the node makes on its output,
    in the order it makes them:

        "RECV" | <name> | Data | To             a chunk passed on toward To,
                                                "inner" or "outer"
        "EVENT" | <name> | <event> | <value>    <event>: "COMMAND", "RELEASE",
                                                "WAKE" or "SHORTFALL";
                                                <value> in decimal

    So the owner routes the output exactly as a stack would route the node's
    output calls. Chunk flags (NODE_PADDING) do not cross the pipe.

    A protocol error from recv, or a malformed message on the pipe, makes the
    actor call actor_fail ("CRASHED" | "<name>: <why>") and wait for $TERM.
*/
#ifndef MK_NODE_ACTOR_H
#define MK_NODE_ACTOR_H

#include <czmq.h>

#include "nodes/node.h"

//  Runs node (class and state, copied) as an actor called name. The actor
//  owns the state if node->cls->destroy is set: it destroys it when it ends
//  (after $TERM), or at once if it cannot start; otherwise the caller keeps
//  it, and may look at it again once the actor is destroyed. Returns NULL if
//  name is not a valid actor name (runtime/actor.h) or the actor cannot start.
zactor_t *node_actor_new (const node_t *node, const char *name);

//  "COMMAND", "RELEASE", "WAKE", "SHORTFALL" (the <event> frame), "?" else.
const char *node_actor_event_name (node_event_t event);

#endif
