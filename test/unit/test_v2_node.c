/*  Tests for nodes/v2_node.h in node stacks: a client and a server made
    from real flights (test/support/v2_tunnel.h): DATA both ways split at
    every offset, long chunks, PADDING dropped, commands, sealing into and
    opening into the driver's room (the same wire), a corrupt record
    or a bad length breaks the stack and delivers nothing of it, the
    server's flight before anything, the handover IDs on both sides.
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
#include "test/support/check_run.h"
#include "test/vectors/v2_vectors.h"
#include "test/support/v2_vector_check.h"
#include "test/support/v2_tunnel.h"

START_TEST (test_node_handover_ids)
{
    v2t_tunnel_t t;
    v2t_tunnel_new (&t, _i);
    const v2v_keys_t *kv = &V2V_KEYS[0];
    uint8_t id[V2_ID_SIZE], id2[V2_ID_SIZE];
    ck_assert (v2_node_peer_known (t.snode));
    ck_assert (!v2_node_peer_known (t.cnode));
    ck_assert (!node_stack_awaits_peer (t.server));
    ck_assert (node_stack_awaits_peer (t.client));     //  what the session's answer check asks
    ck_assert_int_eq (v2_node_handover_id (t.cnode, 1, id), -1);
    //  The server's flight byte by byte: known only after its last byte.
    for (size_t i = 0; i < t.sflight_len; i++) {
        ck_assert (!v2_node_peer_known (t.cnode));
        ck_assert_int_eq (v2t_feed (t.client, NODE_OUTER, t.sflight + i, 1, 0, &t.cout), 0);
    }
    ck_assert (v2_node_peer_known (t.cnode));
    ck_assert (!node_stack_awaits_peer (t.client));
    ck_assert_uint_eq (t.cs.inner_len, 0);
    for (int j = 0; j < 3; j++) {
        ck_assert_int_eq (v2_node_handover_id (t.cnode, kv->id_n[j], id), 0);
        ck_assert_int_eq (v2_node_handover_id (t.snode, kv->id_n[j], id2), 0);
        ck_assert_mem_eq (id, id2, V2_ID_SIZE);
        ck_assert_mem_eq (id, kv->id[j], V2_ID_SIZE);
    }
    v2t_tunnel_destroy (&t);
}
END_TEST

START_TEST (test_node_vectors)
{
    //  The nodes' first DATA records are the vectors' (records 1 of c2s
    //  and s2c), and the server's flight comes with its DATA in one chunk.
    const v2v_suite_t *s = &V2V_SUITES[_i];
    v2t_tunnel_t t;
    v2t_tunnel_new (&t, _i);
    const uint8_t one = 0x5a;
    ck_assert_int_eq (v2t_feed (t.client, NODE_INNER, &one, 1, 0, &t.cout), 0);
    ck_assert_uint_eq (t.cs.outer_len, s->records[1].wire_len);
    ck_assert_mem_eq (t.cs.outer, s->records[1].wire, t.cs.outer_len);
    ck_assert_int_eq (v2t_feed (t.server, NODE_OUTER, t.cs.outer, t.cs.outer_len, 0, &t.sout), 0);
    ck_assert_uint_eq (t.ss.inner_len, 1);
    ck_assert_uint_eq (t.ss.inner[0], 0x5a);
    ck_assert_int_eq (v2t_feed (t.server, NODE_INNER, &one, 1, 0, &t.sout), 0);
    ck_assert_uint_eq (t.ss.outer_len, s->s2c_rec1_len);
    ck_assert_mem_eq (t.ss.outer, s->s2c_rec1, s->s2c_rec1_len);
    uint8_t both[2048];
    memcpy (both, t.sflight, t.sflight_len);
    memcpy (both + t.sflight_len, s->s2c_rec1, s->s2c_rec1_len);
    ck_assert_int_eq (v2t_feed (t.client, NODE_OUTER, both, t.sflight_len + s->s2c_rec1_len, 0, &t.cout), 0);
    ck_assert_uint_eq (t.cs.inner_len, 1);
    ck_assert_uint_eq (t.cs.inner[0], 0x5a);
    v2t_tunnel_destroy (&t);
}
END_TEST

//  Sends data (in two chunks, cut at first) from one side's inner end and
//  feeds the wire to the other side's outer end split at cut; the other
//  side's inner end gets data back.
static void
s_one_way (node_stack_t *from, v2t_sink_t *from_sink, const node_out_t *from_out,
           node_stack_t *to, v2t_sink_t *to_sink, const node_out_t *to_out,
           const uint8_t *data, size_t len, size_t first, size_t cut)
{
    v2t_sink_reset (from_sink);
    v2t_sink_reset (to_sink);
    ck_assert_int_eq (v2t_feed (from, NODE_INNER, data, first, 0, from_out), 0);
    ck_assert_int_eq (v2t_feed (from, NODE_INNER, data + first, len - first, 0, from_out), 0);
    const uint8_t *wire = from_sink->outer;
    size_t wlen = from_sink->outer_len;
    ck_assert_uint_ge (wlen, len + V2_OVERHEAD);
    if (cut > wlen)
        cut = wlen;
    ck_assert_int_eq (v2t_feed (to, NODE_OUTER, wire, cut, 0, to_out), 0);
    ck_assert_int_eq (v2t_feed (to, NODE_OUTER, wire + cut, wlen - cut, 0, to_out), 0);
    ck_assert_uint_eq (to_sink->inner_len, len);
    ck_assert_mem_eq (to_sink->inner, data, len);
    ck_assert_uint_eq (to_sink->outer_len, 0);
    ck_assert_uint_eq (to_sink->commands, 0);
}

START_TEST (test_node_data_split)
{
    v2t_tunnel_t t;
    v2t_tunnel_new (&t, _i);
    uint8_t data[100];
    for (size_t j = 0; j < sizeof data; j++)
        data[j] = (uint8_t) (j * 7 + 1);
    //  The client sends before it has the server's flight (no round trip).
    s_one_way (t.client, &t.cs, &t.cout, t.server, &t.ss, &t.sout, data, sizeof data, 40, 0);
    v2t_tunnel_up (&t);
    //  Two records (40 and 60 bytes: 59 + 79 wire bytes), cut at every offset.
    size_t wire = 2 * V2_OVERHEAD + sizeof data;
    for (size_t cut = 0; cut <= wire; cut++) {
        s_one_way (t.client, &t.cs, &t.cout, t.server, &t.ss, &t.sout, data, sizeof data, 40, cut);
        s_one_way (t.server, &t.ss, &t.sout, t.client, &t.cs, &t.cout, data, sizeof data, 60, cut);
    }
    //  Byte by byte.
    v2t_sink_reset (&t.cs);
    v2t_sink_reset (&t.ss);
    ck_assert_int_eq (v2t_feed (t.server, NODE_INNER, data, sizeof data, 0, &t.sout), 0);
    ck_assert_uint_eq (t.ss.outer_len, sizeof data + V2_OVERHEAD);
    for (size_t i = 0; i < t.ss.outer_len; i++) {
        ck_assert_int_eq (v2t_feed (t.client, NODE_OUTER, t.ss.outer + i, 1, 0, &t.cout), 0);
        if (i + 1 < t.ss.outer_len)
            ck_assert_uint_eq (t.cs.inner_len, 0);      //  nothing before the tag
    }
    ck_assert_uint_eq (t.cs.inner_len, sizeof data);
    ck_assert_mem_eq (t.cs.inner, data, sizeof data);
    v2t_tunnel_destroy (&t);
}
END_TEST

START_TEST (test_node_long_chunks)
{
    //  A chunk longer than a record becomes several; both ways, whole.
    v2t_tunnel_t t;
    v2t_tunnel_new (&t, _i);
    v2t_tunnel_up (&t);
    size_t len = 3 * V2_BODY_MAX + 1000;
    uint8_t *data = (uint8_t *) malloc (len);
    for (size_t j = 0; j < len; j++)
        data[j] = (uint8_t) (j ^ (j >> 8));
    s_one_way (t.client, &t.cs, &t.cout, t.server, &t.ss, &t.sout, data, len, len, 12345);
    ck_assert_uint_eq (t.cs.outer_len, len + 4 * V2_OVERHEAD);
    s_one_way (t.server, &t.ss, &t.sout, t.client, &t.cs, &t.cout, data, len, 1, 40000);
    ck_assert_uint_le (t.ss.outer_len, len + 5 * V2_OVERHEAD);
    free (data);
    v2t_tunnel_destroy (&t);
}
END_TEST

START_TEST (test_node_padding)
{
    //  A NODE_PADDING chunk becomes one record of its size; the receiver
    //  drops it, delivers nothing and reports nothing.
    v2t_tunnel_t t;
    v2t_tunnel_new (&t, _i);
    v2t_tunnel_up (&t);
    uint8_t pad[300] = { 0 };
    ck_assert_int_eq (v2t_feed (t.client, NODE_INNER, pad, 100, NODE_PADDING, &t.cout), 0);
    ck_assert_uint_eq (t.cs.outer_len, 100);
    ck_assert_int_eq (v2t_feed (t.client, NODE_INNER, pad, 3, NODE_PADDING, &t.cout), 0);
    ck_assert_uint_eq (t.cs.outer_len, 100 + V2_OVERHEAD);     //  at least one record
    ck_assert_int_eq (v2t_feed (t.server, NODE_OUTER, t.cs.outer, t.cs.outer_len, 0, &t.sout), 0);
    ck_assert_uint_eq (t.ss.inner_len, 0);
    ck_assert_uint_eq (t.ss.commands, 0);
    ck_assert_uint_eq (t.ss.other_events, 0);
    //  The stream goes on after it.
    const uint8_t hi[] = "after the padding";
    s_one_way (t.client, &t.cs, &t.cout, t.server, &t.ss, &t.sout, hi, sizeof hi, 5, 30);
    //  The other way.
    v2t_sink_reset (&t.ss);
    v2t_sink_reset (&t.cs);
    ck_assert_int_eq (v2t_feed (t.server, NODE_INNER, pad, 300, NODE_PADDING, &t.sout), 0);
    ck_assert_uint_eq (t.ss.outer_len, 300);
    ck_assert_int_eq (v2t_feed (t.client, NODE_OUTER, t.ss.outer, t.ss.outer_len, 0, &t.cout), 0);
    ck_assert_uint_eq (t.cs.inner_len, 0);
    v2t_tunnel_destroy (&t);
}
END_TEST

START_TEST (test_node_end)
{
    //  NODE_END seals an END record (19 bytes); the receiver reports
    //  NODE_ENDED and takes nothing after it; the sender seals nothing after it.
    v2t_tunnel_t t;
    v2t_tunnel_new (&t, _i);
    v2t_tunnel_up (&t);
    const uint8_t last[] = "the last bytes";
    ck_assert_int_eq (v2t_feed (t.client, NODE_INNER, last, sizeof last, 0, &t.cout), 0);
    size_t before = t.cs.outer_len;
    ck_assert_int_eq (v2t_feed (t.client, NODE_INNER, NULL, 0, NODE_END, &t.cout), 0);
    ck_assert_uint_eq (t.cs.outer_len, before + V2_OVERHEAD);
    ck_assert_int_eq (v2t_feed (t.server, NODE_OUTER, t.cs.outer, t.cs.outer_len, 0, &t.sout), 0);
    ck_assert_uint_eq (t.ss.inner_len, sizeof last);
    ck_assert_mem_eq (t.ss.inner, last, sizeof last);
    ck_assert_uint_eq (t.ss.other_events, 1);           //  NODE_ENDED
    //  The other way round.
    v2t_sink_reset (&t.ss);
    v2t_sink_reset (&t.cs);
    ck_assert_int_eq (v2t_feed (t.server, NODE_INNER, NULL, 0, NODE_END, &t.sout), 0);
    size_t end_at = t.ss.outer_len;
    //  The same END again: a record out of its number (and after the end).
    ck_assert_int_eq (v2t_feed (t.client, NODE_OUTER, t.ss.outer, end_at, 0, &t.cout), 0);
    ck_assert_uint_eq (t.cs.other_events, 1);
    ck_assert_int_eq (v2t_feed (t.client, NODE_OUTER, t.ss.outer, end_at, 0, &t.cout), -1);
    v2t_tunnel_destroy (&t);
    //  Nothing is sealed after our end (the stack breaks).
    v2t_tunnel_new (&t, _i);
    v2t_tunnel_up (&t);
    ck_assert_int_eq (v2t_feed (t.client, NODE_INNER, NULL, 0, NODE_END, &t.cout), 0);
    ck_assert_int_eq (v2t_feed (t.client, NODE_INNER, last, sizeof last, 0, &t.cout), -1);
    v2t_tunnel_destroy (&t);

    //  A record behind an END, each authentic (records 1 and 2 of c2s,
    //  sealed with OpenSSL here): the END is taken, the DATA is refused.
    const v2v_suite_t *s = &V2V_SUITES[_i];
    uint8_t wire[2 * (V2_OVERHEAD + 10)];
    size_t n1 = v2c_ossl_seal (s->suite, V2V_KEYS[0].c2s, s->masks[1].nonce, s->masks[1].mask,
                             V2_END, (const uint8_t *) "", 0, wire);
    size_t n2 = v2c_ossl_seal (s->suite, V2V_KEYS[0].c2s, s->masks[2].nonce, s->masks[2].mask,
                             V2_DATA, (const uint8_t *) "0123456789", 10, wire + n1);
    v2t_tunnel_new (&t, _i);
    ck_assert_int_eq (v2t_feed (t.server, NODE_OUTER, wire, n1, 0, &t.sout), 0);
    ck_assert_uint_eq (t.ss.other_events, 1);
    ck_assert_int_eq (v2t_feed (t.server, NODE_OUTER, wire + n1, n2, 0, &t.sout), -1);
    ck_assert_uint_eq (t.ss.inner_len, 0);
    v2t_tunnel_destroy (&t);
}
END_TEST

START_TEST (test_node_commands)
{
    //  A NODE_CONTROL chunk is a COMMAND record: NODE_COMMAND with its code
    //  at the other side, nothing in the stream.
    v2t_tunnel_t t;
    v2t_tunnel_new (&t, _i);
    v2t_tunnel_up (&t);
    const uint8_t r2l = 2, complete = 4;
    const uint8_t data[] = "data, then a command";
    ck_assert_int_eq (v2t_feed (t.server, NODE_INNER, data, 4, 0, &t.sout), 0);
    ck_assert_int_eq (v2t_feed (t.server, NODE_INNER, &r2l, 1, NODE_CONTROL, &t.sout), 0);
    ck_assert_int_eq (v2t_feed (t.server, NODE_INNER, data + 4, sizeof data - 4, 0, &t.sout), 0);
    ck_assert_int_eq (v2t_feed (t.client, NODE_OUTER, t.ss.outer, t.ss.outer_len, 0, &t.cout), 0);
    ck_assert_uint_eq (t.cs.commands, 1);
    ck_assert_uint_eq (t.cs.command[0], 2);
    ck_assert_uint_eq (t.cs.inner_len, sizeof data);
    ck_assert_mem_eq (t.cs.inner, data, sizeof data);
    //  The other way, fed byte by byte.
    v2t_sink_reset (&t.cs);
    ck_assert_int_eq (v2t_feed (t.client, NODE_INNER, &complete, 1, NODE_CONTROL, &t.cout), 0);
    ck_assert_uint_eq (t.cs.outer_len, 1 + V2_OVERHEAD);
    for (size_t i = 0; i < t.cs.outer_len; i++)
        ck_assert_int_eq (v2t_feed (t.server, NODE_OUTER, t.cs.outer + i, 1, 0, &t.sout), 0);
    ck_assert_uint_eq (t.ss.commands, 1);
    ck_assert_uint_eq (t.ss.command[0], 4);
    ck_assert_uint_eq (t.ss.inner_len, 0);
    v2t_tunnel_destroy (&t);
}
END_TEST

//  The client's side of test_node_rooms: data in two chunks, padding, a
//  command, the end; the wire it made.
static void
s_rooms_send (v2t_tunnel_t *t, const uint8_t *data, size_t len)
{
    const uint8_t pad[600] = { 0 }, code = 2;
    ck_assert_int_eq (v2t_feed (t->client, NODE_INNER, data, 65536, 0, &t->cout), 0);
    ck_assert_int_eq (v2t_feed (t->client, NODE_INNER, pad, sizeof pad, NODE_PADDING, &t->cout), 0);
    ck_assert_int_eq (v2t_feed (t->client, NODE_INNER, &code, 1, NODE_CONTROL, &t->cout), 0);
    ck_assert_int_eq (v2t_feed (t->client, NODE_INNER, data + 65536, len - 65536, 0, &t->cout), 0);
    ck_assert_int_eq (v2t_feed (t->client, NODE_INNER, NULL, 0, NODE_END, &t->cout), 0);
}

START_TEST (test_node_rooms)
{
    //  With room offered (node_out_t.room) of any size, records are sealed
    //  straight into it, spanning rooms where they must, and the wire is the
    //  same as without; opened into room (whole bodies, else in place), the
    //  data, the command and the end come out as without.
    static const size_t rooms[] = { 1, 7, 19, 4096, V2_BODY_MAX - 1, V2_BODY_MAX,
                                    V2_RECORD_MAX + V2_OVERHEAD, 65536, 200000 };
    size_t len = 65536 + 3 * V2_BODY_MAX + 1000;
    uint8_t *data = (uint8_t *) malloc (len);
    for (size_t j = 0; j < len; j++)
        data[j] = (uint8_t) (j * 13 ^ (j >> 9));
    v2t_tunnel_t ref;
    v2t_tunnel_new (&ref, _i);
    v2t_tunnel_up (&ref);
    s_rooms_send (&ref, data, len);
    ck_assert_uint_eq (ref.cs.rooms_taken, 0);
    for (size_t i = 0; i < sizeof rooms / sizeof rooms[0]; i++) {
        v2t_tunnel_t t;
        v2t_tunnel_new (&t, _i);
        v2t_tunnel_up (&t);
        t.cs.room = t.ss.room = rooms[i];
        s_rooms_send (&t, data, len);
        ck_assert_uint_gt (t.cs.rooms_taken, 0);
        ck_assert_uint_eq (t.cs.outer_len, ref.cs.outer_len);
        ck_assert_mem_eq (t.cs.outer, ref.cs.outer, ref.cs.outer_len);
        //  Cut inside the third record and inside the last data record.
        size_t cuts[] = { 0, 2 * (V2_RECORD_MAX + V2_OVERHEAD) + 77, t.cs.outer_len - 40,
                          t.cs.outer_len };
        for (size_t c = 0; c + 1 < sizeof cuts / sizeof cuts[0]; c++)
            ck_assert_int_eq (v2t_feed (t.server, NODE_OUTER, t.cs.outer + cuts[c],
                                        cuts[c + 1] - cuts[c], 0, &t.sout), 0);
        ck_assert_uint_eq (t.ss.inner_len, len);
        ck_assert_mem_eq (t.ss.inner, data, len);
        ck_assert_uint_eq (t.ss.commands, 1);
        ck_assert_uint_eq (t.ss.command[0], 2);
        ck_assert_uint_eq (t.ss.other_events, 1);                  //  NODE_ENDED
        if (rooms[i] >= V2_BODY_MAX)
            ck_assert_uint_gt (t.ss.rooms_taken, 0);
        if (rooms[i] == 1)
            ck_assert_uint_eq (t.ss.rooms_taken, 0);                //  opened in place
        v2t_tunnel_destroy (&t);
    }
    v2t_tunnel_destroy (&ref);
    free (data);
}
END_TEST

START_TEST (test_node_corrupt)
{
    //  One bit flipped anywhere in a record (on a fresh tunnel each time):
    //  the stack breaks and nothing of that record is delivered; a good
    //  record before it in the same chunk may be.
    const uint8_t good[] = "good record";
    uint8_t bad[64];
    for (size_t j = 0; j < sizeof bad; j++)
        bad[j] = (uint8_t) (0xc0 | j);
    size_t pos_max = sizeof bad + V2_OVERHEAD;
    for (size_t pos = 0; pos < pos_max; pos++) {
        v2t_tunnel_t t;
        v2t_tunnel_new (&t, _i);
        v2t_tunnel_up (&t);
        ck_assert_int_eq (v2t_feed (t.client, NODE_INNER, good, sizeof good, 0, &t.cout), 0);
        size_t first = t.cs.outer_len;
        ck_assert_int_eq (v2t_feed (t.client, NODE_INNER, bad, sizeof bad, 0, &t.cout), 0);
        ck_assert_uint_eq (t.cs.outer_len, first + pos_max);
        t.cs.outer[first + pos] ^= (uint8_t) (1u << (pos % 8));
        //  Split inside the bad record too.
        size_t cut = first + (pos * 5) % pos_max;
        ck_assert_int_eq (v2t_feed (t.server, NODE_OUTER, t.cs.outer, cut, 0, &t.sout), 0);
        //  A changed length may leave the receiver waiting for more (a flip
        //  in ML): the tag of that record fails then.
        int rc = v2t_feed (t.server, NODE_OUTER, t.cs.outer + cut, t.cs.outer_len - cut, 0, &t.sout);
        if (pos >= 2)
            ck_assert_msg (rc == -1, "a flip at byte %zu of the record went through", pos);
        else if (rc == 0)
            ck_assert_int_eq (v2t_feed_decided (t.server, NULL, 0, &t.sout), -1);
        ck_assert_uint_eq (t.ss.inner_len, sizeof good);
        ck_assert_mem_eq (t.ss.inner, good, sizeof good);
        ck_assert_ptr_nonnull (node_stack_failed (t.server));
        //  Broken for good.
        ck_assert_int_eq (v2t_feed (t.server, NODE_OUTER, t.cs.outer, first, 0, &t.sout), -1);
        ck_assert_uint_eq (t.ss.inner_len, sizeof good);
        v2t_tunnel_destroy (&t);
    }
}
END_TEST

START_TEST (test_node_bad_records)
{
    //  After the flights: a length of 0 or 16385 (at once, from its 2
    //  bytes), a HELLO in the middle, an unknown type: the stack breaks.
    const v2v_suite_t *s = &V2V_SUITES[_i];
    const uint8_t *m1 = s->masks[1].mask;       //  the server reads c2s record 1 next
    const uint8_t ml_zero[2] = { m1[0], m1[1] };
    const uint8_t ml_big[2] = { (uint8_t) (0x40 ^ m1[0]), (uint8_t) (0x01 ^ m1[1]) };
    const uint8_t *mls[] = { ml_zero, ml_big };
    for (int j = 0; j < 2; j++) {
        v2t_tunnel_t t;
        v2t_tunnel_new (&t, _i);
        ck_assert_int_eq (v2t_feed (t.server, NODE_OUTER, mls[j], 2, 0, &t.sout), -1);
        ck_assert_uint_eq (t.ss.inner_len, 0);
        v2t_tunnel_destroy (&t);
    }
    //  Records 1 of c2s with types HELLO, END with a body (an end has
    //  none), 0x07, 0xff, sealed with OpenSSL here (v2_seal need not make
    //  what no sender sends).
    const uint8_t types[] = { V2_HELLO, 0x04, 0x07, 0xff };
    for (size_t j = 0; j < sizeof types; j++) {
        v2t_tunnel_t t;
        v2t_tunnel_new (&t, _i);
        uint8_t wire[128];
        size_t n = v2c_ossl_seal (s->suite, V2V_KEYS[0].c2s, s->masks[1].nonce, s->masks[1].mask,
                                types[j], (const uint8_t *) "0123456789", 10, wire);
        ck_assert_uint_eq (n, 10 + V2_OVERHEAD);
        ck_assert_int_eq (v2t_feed (t.server, NODE_OUTER, wire, n, 0, &t.sout), -1);
        ck_assert_uint_eq (t.ss.inner_len, 0);
        ck_assert_uint_eq (t.ss.commands, 0);
        v2t_tunnel_destroy (&t);
    }
}
END_TEST

START_TEST (test_node_server_flight)
{
    //  The client takes nothing before the server's HELLO: a record 0 of
    //  type DATA there, the client's own flight echoed back, or the server's
    //  flight of another tunnel (bound to another cs) break the stack.
    const v2v_suite_t *s = &V2V_SUITES[_i];
    v2t_tunnel_t t;
    v2t_tunnel_new (&t, _i);
    ck_assert_int_eq (v2t_feed (t.client, NODE_OUTER, s->bad_server_data, s->bad_server_data_len, 0,
                              &t.cout), -1);
    ck_assert_ptr_nonnull (node_stack_failed (t.client));
    ck_assert_uint_eq (t.cs.inner_len, 0);
    ck_assert (!v2_node_peer_known (t.cnode));
    uint8_t id[V2_ID_SIZE];
    ck_assert_int_eq (v2_node_handover_id (t.cnode, 1, id), -1);
    v2t_tunnel_destroy (&t);

    v2t_tunnel_new (&t, _i);
    const v2v_flight_t *cf = v2c_flight (s, V2V_F_TUNNEL100);
    ck_assert_int_eq (v2t_feed_decided (t.client, cf->wire, cf->wire_len, &t.cout), -1);
    ck_assert_uint_eq (t.cs.inner_len, 0);
    v2t_tunnel_destroy (&t);

    v2t_tunnel_new (&t, _i);
    uint8_t other_cs[V2_SALT_SIZE], other[2048];
    memcpy (other_cs, V2V_CS, sizeof other_cs);
    other_cs[5] ^= 4;
    v2_hello_t shello = { .kind = V2_KIND_SERVER, .time = V2V_TIME_SERVER };
    int n = v2_flight_make ((v2_suite_t) s->suite, V2V_K32, 32, V2V_SS, other_cs, &shello, 50, other,
                            sizeof other, NULL);
    ck_assert_int_gt (n, 0);
    ck_assert_int_eq (v2t_feed_decided (t.client, other, (size_t) n, &t.cout), -1);
    v2t_tunnel_destroy (&t);

    //  A server's DATA (its record 1) with no flight before it is not one.
    v2t_tunnel_new (&t, _i);
    uint8_t lone[2048];
    memcpy (lone, s->s2c_rec1, s->s2c_rec1_len);
    memcpy (lone + s->s2c_rec1_len, t.sflight, t.sflight_len);
    ck_assert_int_eq (v2t_feed_decided (t.client, lone, s->s2c_rec1_len + t.sflight_len, &t.cout), -1);
    ck_assert_uint_eq (t.cs.inner_len, 0);
    v2t_tunnel_destroy (&t);
}
END_TEST

int
main (void)
{
    Suite *suite = suite_create ("v2_node");
    TCase *tc = tcase_create ("node");
    tcase_add_loop_test (tc, test_node_handover_ids, 0, 2);
    tcase_add_loop_test (tc, test_node_vectors, 0, 2);
    tcase_add_loop_test (tc, test_node_data_split, 0, 2);
    tcase_add_loop_test (tc, test_node_long_chunks, 0, 2);
    tcase_add_loop_test (tc, test_node_padding, 0, 2);
    tcase_add_loop_test (tc, test_node_commands, 0, 2);
    tcase_add_loop_test (tc, test_node_end, 0, 2);
    tcase_add_loop_test (tc, test_node_rooms, 0, 2);
    tcase_add_loop_test (tc, test_node_corrupt, 0, 2);
    tcase_add_loop_test (tc, test_node_bad_records, 0, 2);
    tcase_add_loop_test (tc, test_node_server_flight, 0, 2);
    tcase_set_timeout (tc, 60);
    suite_add_tcase (suite, tc);
    return check_run (suite);
}
