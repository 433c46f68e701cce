/*  node — the codec interface every node implements, fused chains of nodes,
    and running one node as its own actor.

    A node is an actor of the model written as a plain codec: state plus a
    recv function that is handed <recv, From, Data> and passes its results on
    through an emit callback. No threads, no sockets: chains of nodes run fused
    inside the data-plane workers (node_chain_t), and any single node can also
    run as its own CZMQ actor (node_actor_new) for tracing or tests, because
    the message shape is the same.

    Sides: a node sits between the user's application (inner) and the network
    (outer). Bytes from inner normally leave outer and the other way round; a
    node may also answer back toward the side the bytes came from (e.g. a
    handshake reply).
*/
#ifndef MK_NODE_H
#define MK_NODE_H

#include <czmq.h>
#include <stddef.h>
#include <stdint.h>

typedef enum { NODE_INNER = 0, NODE_OUTER = 1 } node_side_t;  //  inner: toward the user's app; outer: toward the network

//  Passes len bytes on toward side `to`. data needs to live only during the call.
typedef void (node_emit_fn) (void *ctx, node_side_t to, const uint8_t *data, size_t len);

typedef struct {
    const char *name;
    //  New state from class-specific args; NULL if it cannot be created.
    void *(*create) (const void *args);
    void (*destroy) (void **state_p);
    //  <recv, From, Data>: bytes arriving from one side; emit passes results on
    //  (normally to the other side; a node may also answer back). data is only
    //  valid during the call. Returns 0, or -1 for a protocol error (the chain
    //  is then broken). A node is never re-entered: bytes emitted to it while
    //  its recv runs are delivered after that recv returns.
    int (*recv) (void *state, node_side_t from, const uint8_t *data, size_t len,
                 node_emit_fn *emit, void *ctx);
} node_class_t;

//  "inner" / "outer", and back (-1 for anything else).
const char *node_side_name (node_side_t side);
int node_side_parse (const char *name);


//  --- Fused chain: nodes 0..n-1 from inner to outer, run in the caller's thread.
//
//  Bytes fed from inner enter node 0 and travel outward (0, 1, 2, ...); bytes
//  fed from outer enter node n-1 and travel inward (..., 2, 1, 0). What leaves
//  node n-1 outward goes to emit_outer (with to = NODE_OUTER), what leaves node
//  0 inward goes to emit_inner (with to = NODE_INNER). Data passes from node to
//  node without copying, except when it is addressed to a node that is itself
//  still inside recv (an answer bouncing back): that chunk is copied, queued
//  and delivered in order once the node returns. A chain of zero nodes passes
//  bytes straight through.

typedef struct node_chain_t node_chain_t;

//  classes[i] is created with args[i] (args may be NULL: all NULL). Returns
//  NULL if a node's create fails (the ones already created are destroyed).
node_chain_t *node_chain_new (const node_class_t *const classes[], const void *const args[],
                              size_t n, node_emit_fn *emit_inner, node_emit_fn *emit_outer,
                              void *ctx);
void node_chain_destroy (node_chain_t **self_p);

//  Feed bytes arriving at the chain's `from` end. Returns 0, or -1 once a node
//  has reported a protocol error: the chain is broken, nothing more is passed
//  on, and every later call returns -1. It is safe to call this again from
//  inside emit_inner / emit_outer (the bytes are queued like an answer).
int node_chain_recv (node_chain_t *self, node_side_t from, const uint8_t *data, size_t len);

//  Name of the node that broke the chain, or NULL while it is intact.
const char *node_chain_failed (node_chain_t *self);


//  --- One node as its own actor (a child actor as in runtime/actor.h).
//
//  Input on its pipe: <RECV, From, Data> with From = "inner" or "outer", the
//  side the bytes arrive from (no To frame). For every chunk the node emits,
//  the actor sends back on its pipe:
//
//      "RECV" | <name> | Data | "inner" or "outer"
//
//  i.e. From is the node actor's name and the To frame says toward which side
//  the bytes travel, in the order the node emitted them. So the owner routes
//  the output exactly as a chain would route the node's emit calls.
//
//  A protocol error from recv, or a malformed message on the pipe, makes the
//  actor call actor_fail ("CRASHED" | "<name>: <why>") and wait for $TERM.
//  Returns NULL if name is not a valid actor name or the node's create fails.
zactor_t *node_actor_new (const node_class_t *cls, const void *args, const char *name);

#endif
