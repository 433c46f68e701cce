/*  actor — the one message shape every actor speaks, and the child-actor contract.

    In the model every node, socket and handler is an actor that receives and
    emits <recv, From, Data>. On the wire between CZMQ actors that is one zmsg:

        "RECV" | From | Data [| To]

    From is the sender's name (a short string, 1..ACTOR_NAME_MAX bytes, no NUL),
    Data is opaque bytes (may be empty). The optional fourth frame To is a
    routing hint of the same shape as From, for senders that talk to several
    peers over one socket (a node run as its own actor says "inner"/"outer"
    there; see nodes/node.h). Anything else is malformed.

    Child-actor contract (what runtime/supervisor.h relies on): an actor is a
    plain CZMQ actor function `void fn (zsock_t *pipe, void *args)` that

      - calls zsock_signal (pipe, 0) once it is ready, or zsock_signal (pipe, 1)
        and returns if it cannot start;
      - returns when it receives "$TERM" on its pipe;
      - on failure after a successful start (protocol or socket error, broken
        invariant) calls actor_fail (pipe, reason) and then returns.

    actor_fail sends "CRASHED" | reason on the pipe and then keeps reading the
    pipe, discarding everything, until "$TERM" arrives. The actor therefore
    never exits on its own: zactor_destroy sends "$TERM" and waits for the exit
    signal of the thread, and if the thread had already exited (and that
    signal been read, e.g. by a poll loop watching for "CRASHED") it can block
    for ever. CZMQ's zactor_set_destructor, which could fix this, is a draft
    API the Debian build does not export; parking the failed actor until its
    owner destroys it avoids the race.
*/
#ifndef MK_ACTOR_H
#define MK_ACTOR_H

#include <czmq.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ACTOR_NAME_MAX 63

//  A parsed <recv, From, Data [, To]> message. data points into the message's
//  Data frame and is valid as long as that zmsg_t lives.
typedef struct {
    char from[ACTOR_NAME_MAX + 1];
    char to[ACTOR_NAME_MAX + 1];        //  "" when the message has no To frame
    const uint8_t *data;
    size_t len;
} actor_recv_t;

//  Send <RECV, From, Data> to dest (a zsock_t or zactor_t, like CZMQ's own
//  polymorphic calls). Returns 0, or -1 if from is not a valid name or the
//  send failed.
int actor_send_recv (void *dest, const char *from, const void *data, size_t len);

//  Same with the optional To frame (to == NULL sends three frames).
int actor_send_recv_to (void *dest, const char *from, const void *data, size_t len,
                        const char *to);

//  Parse msg (not consumed). Returns 0 and fills out, or -1 if msg is not a
//  well-formed RECV message.
int actor_recv_parse (zmsg_t *msg, actor_recv_t *out);

//  1..ACTOR_NAME_MAX bytes: a valid From / To value.
bool actor_name_valid (const char *name);

//  Report a failure to the owner ("CRASHED" | reason) and park until "$TERM".
//  Call only after the start signal; the caller returns afterwards.
void actor_fail (zsock_t *pipe, const char *reason);

//  Read and discard messages until "$TERM" (or the context is terminated).
void actor_wait_term (zsock_t *pipe);

//  Read one command from the pipe of a polling actor: true if it is "$TERM"
//  or the pipe is gone (the context terminated), so the loop should end;
//  anything else is discarded.
bool actor_pipe_term (zsock_t *pipe);

//  True if msg is the "$TERM" command.
bool actor_is_term (zmsg_t *msg);

#endif
