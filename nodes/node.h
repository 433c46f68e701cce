/*  node — the interface of the wormhole's stream transforms, and the stack
    a tunnel side runs them in.

    A node is an actor of the model written as a plain codec: state plus a
    recv function that is handed <recv, From, Data> and passes its results on
    through an output (bytes toward a side, or an event for whoever drives
    the stack). No threads, no sockets, no clock of its own. The cipher, the
    in-band scanner and the mimic implement it (nodes/cipher.h, inband.h,
    mimic_node.h); a session side (runtime/) drives a stack of them without
    knowing which ones. Any node can also run as its own CZMQ actor through
    the adapter in test/support/node_actor.h, because the message shape is
    the same.

    Sides: a node sits between the user's application (inner) and the network
    (outer). Bytes from inner normally leave toward outer and the other way
    round; a node may also answer back toward the side the bytes came from.

    Zero copy: recv may change the bytes it is given in place and pass the
    same memory on (a cipher does), so a stack costs no copy of its own; the
    driver recognises its own memory when it comes back out, whole or as a
    prefix (a record layer that drops its framing). A node that passes on
    memory it was given is done with it: the driver may hand it on.

    Room: a node whose output cannot be its input (a record layer seals
    out of place, records are longer than their data) may ask the driver
    for room toward a side and write its output there: the free room at
    the tail of the socket's queue (outward), a block that will be
    delivered (inward). Passed on through `data`, that memory is taken
    where it lies, without a copy. The stack offers a node room only
    across neighbours that pass memory on as it is (passes_memory).
*/
#ifndef MK_NODE_H
#define MK_NODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum { NODE_INNER = 0, NODE_OUTER = 1 } node_side_t;

//  What a node can tell the driver of its stack besides bytes.
typedef enum {
    NODE_COMMAND,       //  a command found in the stream; value: its code (in-band scanner)
    NODE_RELEASE,       //  value more bytes at the outer end may be written now (a gate)
    NODE_WAKE,          //  pump the stack again at value (ms, the driver's clock)
    NODE_SHORTFALL,     //  a scheduled send lacked value bytes: the driver may pad
    NODE_ENDED,         //  the peer ended its stream here, on purpose (an end record)
    NODE_HOLD           //  a pause at the outer end: what the node emits from now
                        //  on leaves value microseconds after what it emitted
                        //  before (after the pause before, if one is running): the
                        //  pauses a TLS stack makes while it computes
} node_event_t;

//  Flags of a chunk.
#define NODE_PADDING 1u     //  filler the driver sends after a NODE_SHORTFALL: a gate
                            //  lets it through at once and learns nothing from it
#define NODE_CONTROL 2u     //  a command for the node that frames the stream (its
                            //  first byte: the code); a node that frames records
                            //  seals it as a command, one that does not passes it on
#define NODE_END 4u         //  (empty) our stream ends here, a FIN follows: a node that
                            //  marks ends (marks_end) seals an end record

typedef struct {
    //  Bytes toward `to`. data is valid only during the call; it may be the
    //  memory the node was given (changed in place).
    void (*data) (void *ctx, node_side_t to, uint8_t *data, size_t len, unsigned flags);
    void (*event) (void *ctx, node_event_t event, uint64_t value);
    void *ctx;
    //  Optional (NULL: none offered): room for bytes toward `to`, at least 1
    //  byte, *len set to how much. It stays the node's to fill until it
    //  passes (a prefix of) it on through data, asks for room again, or
    //  returns; passed on, it is the driver's. NULL when there is none now.
    uint8_t *(*room) (void *ctx, node_side_t to, size_t *len);
} node_out_t;

typedef struct {
    const char *name;
    //  Frees the state. NULL: the stack only borrows it (its owner frees it).
    void (*destroy) (void **state_p);
    //  <recv, From, Data>: bytes arriving from one side. Returns 0, or -1
    //  for a protocol error (the stack is then broken).
    int (*recv) (void *state, node_side_t from, uint8_t *data, size_t len, unsigned flags,
                 const node_out_t *out);
    //  Optional: time-driven work due at now_ms (a shaper releasing bytes).
    void (*pump) (void *state, uint64_t now_ms, const node_out_t *out);
    //  Optional: what the node holds back toward `toward` goes on now, and it
    //  holds nothing more back that way until its owner says otherwise (a
    //  scanner stops tapping, a shaper forgets what it scheduled).
    void (*flush) (void *state, node_side_t toward, const node_out_t *out);
    //  Optional: true while the node decides when the bytes leaving the outer
    //  end may be written (then only the bytes it RELEASEs are).
    bool (*gates) (void *state);
    //  The node marks the end of the stream (NODE_END, NODE_ENDED): the
    //  outer end's FIN without the peer's end mark is a cut, not an end.
    bool marks_end;
    //  Optional: true while the node has not yet heard the peer prove itself
    //  (a record layer before the peer's first flight).
    bool (*awaits_peer) (void *state);
    //  The node passes every chunk on at once, whole, as the same memory
    //  (changed in place at most), both ways: a neighbour may write into
    //  the driver's room through it (node_out_t.room).
    bool passes_memory;
} node_class_t;

//  A node: its class and its state.
typedef struct {
    const node_class_t *cls;
    void *state;
} node_t;

//  --- The stack: nodes from inner (first) to outer (last), run in the
//  caller's thread. Bytes fed from inner go through every node outward,
//  bytes fed from outer inward; what leaves an end goes to the caller's
//  output. Every hand-over is a direct call on the same memory, also an
//  answer back toward the node the bytes came from (it is re-entered from
//  the other side while still inside its recv) and bytes the caller feeds
//  from inside its output: a node finishes with its state before it emits,
//  and keeps the two directions apart. An empty stack passes bytes
//  straight through.

typedef struct node_stack_t node_stack_t;

#define NODE_STACK_MAX 8

node_stack_t *node_stack_new (void);
//  Destroys every node the stack owns.
void node_stack_destroy (node_stack_t **self_p);

//  Adds a node at one end (the stack owns the state if cls->destroy is
//  set). -1 if the stack is full.
int node_stack_add (node_stack_t *self, node_side_t end, const node_class_t *cls, void *state);
//  Takes the node with that state out, after flushing it both ways through
//  out; it is not destroyed. -1 if no node has that state.
int node_stack_remove (node_stack_t *self, void *state, const node_out_t *out);
//  The state of the first node of that class, or NULL.
void *node_stack_find (node_stack_t *self, const node_class_t *cls);

//  Feeds bytes at the `from` end. Returns 0, or -1 once a node has reported
//  a protocol error: the stack is broken and passes nothing on any more.
int node_stack_recv (node_stack_t *self, node_side_t from, uint8_t *data, size_t len,
                     unsigned flags, const node_out_t *out);
//  Pumps every time-driven node.
void node_stack_pump (node_stack_t *self, uint64_t now_ms, const node_out_t *out);
//  Flushes every node toward one end.
void node_stack_flush (node_stack_t *self, node_side_t toward, const node_out_t *out);
//  True while a node gates the outer end.
bool node_stack_gated (node_stack_t *self);
//  True if a node marks the end of the stream (node_class_t.marks_end).
bool node_stack_marks_end (node_stack_t *self);
//  True while a node awaits the peer (node_class_t.awaits_peer).
bool node_stack_awaits_peer (node_stack_t *self);
//  The name of the node that broke the stack, or NULL.
const char *node_stack_failed (node_stack_t *self);

//  "inner" / "outer", and back (-1 for anything else).
const char *node_side_name (node_side_t side);
int node_side_parse (const char *name);

#endif
