/*  v2_tunnel — a client and a server v2_node (nodes/v2_node.h), each in a
    node stack, made from real first flights (K32, cs, ss of the vectors of
    test/vectors/v2_vectors.h), and the sinks that record what leaves each
    stack: what test_v2_node runs v2_node in.
*/
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
#include "test/support/v2_tunnel.h"

//  --- v2_node in a stack: a client and a server from real flights


static void
s_sink_data (void *ctx, node_side_t to, uint8_t *data, size_t len, unsigned flags)
{
    (void) flags;
    v2t_sink_t *sink = (v2t_sink_t *) ctx;
    uint8_t *buf = to == NODE_INNER ? sink->inner : sink->outer;
    size_t *used = to == NODE_INNER ? &sink->inner_len : &sink->outer_len;
    ck_assert_uint_le (*used + len, sink->cap);
    if (data == buf + *used)
        sink->rooms_taken++;        //  the room offered: already in place
    else
    if (len)
        memcpy (buf + *used, data, len);
    *used += len;
}

//  Room right where the next bytes that leave that way are recorded, so a
//  node that uses it costs the sink no copy (as the session's queue).
static uint8_t *
s_sink_room (void *ctx, node_side_t to, size_t *len)
{
    v2t_sink_t *sink = (v2t_sink_t *) ctx;
    size_t used = to == NODE_INNER ? sink->inner_len : sink->outer_len;
    if (sink->room == 0 || used == sink->cap)
        return NULL;
    *len = sink->cap - used < sink->room ? sink->cap - used : sink->room;
    //  Garbage in it: the node must write what it passes on.
    uint8_t *at = (to == NODE_INNER ? sink->inner : sink->outer) + used;
    memset (at, 0xee, *len);
    return at;
}

static void
s_sink_event (void *ctx, node_event_t event, uint64_t value)
{
    v2t_sink_t *sink = (v2t_sink_t *) ctx;
    if (event == NODE_COMMAND && sink->commands < 16)
        sink->command[sink->commands++] = value;
    else
        sink->other_events++;
}

static void
s_sink_init (v2t_sink_t *sink, size_t cap)
{
    memset (sink, 0, sizeof *sink);
    sink->cap = cap;
    sink->inner = (uint8_t *) malloc (cap);
    sink->outer = (uint8_t *) malloc (cap);
}

void
v2t_sink_reset (v2t_sink_t *sink)
{
    sink->inner_len = sink->outer_len = 0;
    sink->commands = sink->other_events = 0;
    sink->rooms_taken = 0;
}

static void
s_sink_free (v2t_sink_t *sink)
{
    free (sink->inner);
    free (sink->outer);
}


//  A client and a server of one tunnel (K32, cs, ss of the vectors): the
//  client's flight made and parsed, the server's made; the client has not
//  read it yet.
void
v2t_tunnel_new (v2t_tunnel_t *t, int suite)
{
    memset (t, 0, sizeof *t);
    t->suite = suite;
    const v2v_suite_t *s = &V2V_SUITES[suite];
    v2_hello_t hello = { .kind = V2_KIND_TUNNEL, .time = V2V_TIME_CLIENT };
    uint8_t cflight[2048];
    v2_dir_t *ctx_dir = NULL;
    int n = v2_flight_make ((v2_suite_t) suite, V2V_K32, 32, V2V_CS, NULL, &hello, 16, cflight,
                            sizeof cflight, &ctx_dir);
    ck_assert_int_eq (n, (int) s->flights[V2V_F_TUNNEL16].wire_len);
    ck_assert_ptr_nonnull (ctx_dir);
    t->cnode = v2_node_new_client ((v2_suite_t) suite, V2V_K32, 32, V2V_CS, ctx_dir);
    ck_assert_ptr_nonnull (t->cnode);

    v2_flight_parser_t *p = v2_flight_parser_new ((v2_suite_t) suite, V2V_K32, 32, V2_KIND_TUNNEL, NULL);
    size_t used = 0;
    ck_assert_int_eq (v2_flight_parser_feed (p, cflight, (size_t) n, &used), V2_FLIGHT_OK);
    v2_dir_t *crx = v2_flight_parser_take_dir (p);
    ck_assert_ptr_nonnull (crx);
    v2_flight_parser_destroy (&p);
    v2_hello_t shello = { .kind = V2_KIND_SERVER, .time = V2V_TIME_SERVER };
    v2_dir_t *stx = NULL;
    n = v2_flight_make ((v2_suite_t) suite, V2V_K32, 32, V2V_SS, V2V_CS, &shello, 50, t->sflight,
                        sizeof t->sflight, &stx);
    ck_assert_int_eq (n, (int) s->flights[V2V_F_SERVER].wire_len);
    ck_assert_mem_eq (t->sflight, s->flights[V2V_F_SERVER].wire, (size_t) n);
    t->sflight_len = (size_t) n;
    uint8_t hk[V2_HK_SIZE];
    ck_assert_int_eq (v2_derive_hk (V2V_K32, 32, V2V_CS, V2V_SS, hk), 0);
    t->snode = v2_node_new_server (stx, crx, hk);
    ck_assert_ptr_nonnull (t->snode);

    t->client = node_stack_new ();
    t->server = node_stack_new ();
    ck_assert_int_eq (node_stack_add (t->client, NODE_OUTER, &v2_node_class, t->cnode), 0);
    ck_assert_int_eq (node_stack_add (t->server, NODE_OUTER, &v2_node_class, t->snode), 0);
    s_sink_init (&t->cs, V2T_SINK_CAP);
    s_sink_init (&t->ss, V2T_SINK_CAP);
    t->cout = (node_out_t) { s_sink_data, s_sink_event, &t->cs, s_sink_room };
    t->sout = (node_out_t) { s_sink_data, s_sink_event, &t->ss, s_sink_room };
}

void
v2t_tunnel_destroy (v2t_tunnel_t *t)
{
    node_stack_destroy (&t->client);        //  and the nodes
    node_stack_destroy (&t->server);
    s_sink_free (&t->cs);
    s_sink_free (&t->ss);
}

//  Feeds a copy (the node may work in place).
int
v2t_feed (node_stack_t *stack, node_side_t from, const uint8_t *data, size_t len, unsigned flags,
        const node_out_t *out)
{
    uint8_t *copy = (uint8_t *) malloc (len ? len : 1);
    if (len)
        memcpy (copy, data, len);
    int rc = node_stack_recv (stack, from, copy, len, flags, out);
    free (copy);
    return rc;
}

//  Feeds data, then (if the stack still waits) zeros enough for any length a
//  changed ML may claim. Returns the last result.
int
v2t_feed_decided (node_stack_t *stack, const uint8_t *data, size_t len, const node_out_t *out)
{
    int rc = v2t_feed (stack, NODE_OUTER, data, len, 0, out);
    if (rc == 0) {
        size_t more = V2_SALT_SIZE + 2 + V2_RECORD_MAX + V2_TAG_SIZE;
        uint8_t *zeros = (uint8_t *) calloc (1, more);
        rc = node_stack_recv (stack, NODE_OUTER, zeros, more, 0, out);
        free (zeros);
    }
    return rc;
}

//  The client reads the server's flight.
void
v2t_tunnel_up (v2t_tunnel_t *t)
{
    v2t_sink_reset (&t->cs);
    ck_assert_int_eq (v2t_feed (t->client, NODE_OUTER, t->sflight, t->sflight_len, 0, &t->cout), 0);
    ck_assert_uint_eq (t->cs.inner_len, 0);
    ck_assert_uint_eq (t->cs.outer_len, 0);
    ck_assert (v2_node_peer_known (t->cnode));
}
