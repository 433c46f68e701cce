/*  v2_tunnel — a client and a server v2_node (nodes/v2_node.h), each in a
    node stack, made from real first flights (K32, cs, ss of the vectors of
    test/vectors/v2_vectors.h), and the sinks that record what leaves each
    stack: what test_v2_node runs v2_node in.
*/
#ifndef MK_V2_TUNNEL_H
#define MK_V2_TUNNEL_H

#include <check.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/kdf.h>
#include <openssl/sha.h>
#include "nodes/node.h"
#include "nodes/replay_filter.h"
#include "nodes/v2_flight.h"
#include "nodes/v2_keys.h"
#include "nodes/v2_node.h"
#include "nodes/v2_record.h"
#include "test/vectors/v2_vectors.h"
#include "test/support/v2_vector_check.h"

typedef struct {
    uint8_t *inner, *outer;     //  bytes that left each end
    size_t inner_len, outer_len, cap;
    unsigned commands;
    uint64_t command[16];
    unsigned other_events;
    size_t room;                //  room offered each way (node_out_t.room), 0: none
    unsigned rooms_taken;       //  passed on where it lay
} v2t_sink_t;
typedef struct {
    int suite;
    node_stack_t *client, *server;
    v2_node_t *cnode, *snode;
    v2t_sink_t cs, ss;            //  what left the client's and the server's stack
    node_out_t cout, sout;
    uint8_t sflight[2048];      //  the server's first flight, for the client
    size_t sflight_len;
} v2t_tunnel_t;

#define V2T_SINK_CAP (1u << 20)

void
v2t_sink_reset (v2t_sink_t *sink);

//  A client and a server of one tunnel (K32, cs, ss of the vectors): the
//  client's flight made and parsed, the server's made; the client has not
//  read it yet.
void
v2t_tunnel_new (v2t_tunnel_t *t, int suite);

void
v2t_tunnel_destroy (v2t_tunnel_t *t);

//  Feeds a copy (the node may work in place).
int
v2t_feed (node_stack_t *stack, node_side_t from, const uint8_t *data, size_t len, unsigned flags,
        const node_out_t *out);

//  Feeds data, then (if the stack still waits) zeros enough for any length a
//  changed ML may claim. Returns the last result.
int
v2t_feed_decided (node_stack_t *stack, const uint8_t *data, size_t len, const node_out_t *out);

//  The client reads the server's flight.
void
v2t_tunnel_up (v2t_tunnel_t *t);

#endif
