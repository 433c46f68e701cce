/*  v2_node — a tunnel side's record layer of wire protocol v2
    (docs/PROTOCOL-v2.md sections 3-5) as a node (nodes/node.h), the
    outermost before the mimic.

    From inner: the bytes are sealed into DATA records (at most
    V2_BODY_MAX each); a chunk flagged NODE_PADDING becomes one PADDING
    record of the same wire size (at least V2_OVERHEAD); a chunk flagged
    NODE_CONTROL is a command: its first byte becomes a COMMAND record.
    From outer: records are opened; DATA bodies go inner, PADDING is
    dropped, a COMMAND is reported as NODE_COMMAND (value: its code). A
    record that fails, a length out of range, an unknown or misplaced type
    breaks the stack: nothing of it is delivered.

    The client's node first reads the server's flight (ss, then a HELLO
    bound to cs) before any record; it then knows the handover key. A node
    whose tx direction is TLS-framed (v2_dir_set_tls) speaks the
    TLS-shaped wire (section 9), rx included. The
    first flights themselves are sent by whoever makes the node (they
    leave before anything the node seals): see v2_flight.h.
*/
#ifndef MK_V2_NODE_H
#define MK_V2_NODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nodes/node.h"
#include "nodes/v2_flight.h"
#include "nodes/v2_record.h"

typedef struct v2_node_t v2_node_t;

//  The client's side of a tunnel connection: tx is its c2s direction at
//  record 1 (from v2_flight_make; the node takes it), cs its salt. NULL on
//  error (tx is destroyed).
v2_node_t *v2_node_new_client (v2_suite_t suite, const uint8_t *k, size_t klen,
                               const uint8_t cs[V2_SALT_SIZE], v2_dir_t *tx);
//  The server's: tx its s2c direction at record 1, rx the client's c2s at
//  record 1 (both taken), hk the tunnel's handover key.
v2_node_t *v2_node_new_server (v2_dir_t *tx, v2_dir_t *rx, const uint8_t hk[V2_HK_SIZE]);
void v2_node_destroy (v2_node_t **self_p);

//  TLS-shaped client: send records before the server's flight came (0-RTT,
//  like TLS early data) instead of holding them one round trip.
void v2_node_set_early (v2_node_t *self, bool early);

//  ID(n) of this tunnel's handovers. -1 while unknown (a client that has
//  not yet read the server's flight).
int v2_node_handover_id (v2_node_t *self, uint64_t n, uint8_t id[V2_ID_SIZE]);

//  True once the peer's first flight has been read (the server: always).
bool v2_node_peer_known (v2_node_t *self);

//  TLS-shaped wire: how long a TLS server takes between a ClientHello and
//  its flight (key share, signature), microseconds, drawn at random: the
//  server's flight waits that long (session_hold_writes).
unsigned v2_tls_server_pause_us (void);

//  The class: state a v2_node_t, destroyed by the stack.
extern const node_class_t v2_node_class;

#endif
