/*  Tests for v2's TLS-shaped wire (docs/PROTOCOL-v2.md section 9): the
    ClientHello and ServerHello codec (nodes/tls_hello.h) byte for byte and
    against malformed input (every truncation, wrong fields, random bytes,
    random mutations); the TLS first flights (nodes/v2_flight.h) made and
    parsed, with every flipped bit of the fields that carry v2 refused; and
    two v2 nodes over the TLS framing: the client holds its records until
    the server's flight (or not, with early data), the ChangeCipherSpec,
    the Finished- and ticket-sized padding, records as 17 03 03.
*/
#include <check.h>
#include <stdlib.h>
#include <string.h>
#include "nodes/node.h"
#include "nodes/tls_hello.h"
#include "nodes/v2_flight.h"
#include "nodes/v2_keys.h"
#include "nodes/v2_node.h"
#include "nodes/v2_record.h"
#include "test/support/check_run.h"
#include "test/vectors/tls_vectors.h"
#include "test/vectors/v2_vectors.h"

static const uint8_t K[32] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
                               17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32 };
static uint8_t CS[32], SS[32], BLOB[TLS_CH_BLOB];

static void
s_fill (uint8_t *p, size_t n, uint8_t seed)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t) (seed + i * 7);
}

static void
s_setup (void)
{
    s_fill (CS, sizeof CS, 0x10);
    s_fill (SS, sizeof SS, 0x80);
    s_fill (BLOB, sizeof BLOB, 0xc0);
}

//  --- The codec

START_TEST (test_client_hello_shape)
{
    uint8_t out[1024], rnd[32], blob[TLS_CH_BLOB];
    int n = tls_client_hello_make (CS, BLOB, 0xff, "www.example.com", out, sizeof out);
    ck_assert_int_eq (n, 517);
    static const uint8_t head[] = { 0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc,
                                    0x03, 0x03 };
    ck_assert_mem_eq (out, head, sizeof head);
    ck_assert_mem_eq (out + 11, CS, 32);
    ck_assert_uint_eq (out[43], 32);
    ck_assert_mem_eq (out + 44, BLOB, 32);
    ck_assert_ptr_nonnull (memmem (out, (size_t) n, "www.example.com", 15));
    ck_assert_ptr_nonnull (memmem (out, (size_t) n, "\x00\x09\x08http/1.1", 11));
    ck_assert_int_eq (tls_client_hello_parse (out, (size_t) n, rnd, blob), 0);
    ck_assert_mem_eq (rnd, CS, 32);
    ck_assert_mem_eq (blob, BLOB, TLS_CH_BLOB);
    //  The key share's last byte has its top bit clear, as an X25519 key's.
    const uint8_t *ks = memmem (out, (size_t) n, "\x00\x1d\x00\x20", 4);
    ck_assert_ptr_nonnull (ks);
    ck_assert_mem_eq (ks + 4, BLOB + 32, 31);
    ck_assert_uint_eq (ks[4 + 31], 0x7f);
    //  No name, the longest name, one too long, too small a buffer.
    ck_assert_int_eq (tls_client_hello_make (CS, BLOB, 0, NULL, out, sizeof out), 517);
    ck_assert_int_eq (tls_client_hello_parse (out, 517, rnd, blob), 0);
    char name[TLS_SNI_MAX + 2];
    memset (name, 'a', sizeof name);
    name[TLS_SNI_MAX] = 0;
    n = tls_client_hello_make (CS, BLOB, 0, name, out, sizeof out);
    ck_assert_int_gt (n, 517);
    ck_assert_int_eq (tls_client_hello_parse (out, (size_t) n, rnd, blob), 0);
    name[TLS_SNI_MAX] = 'a';
    name[TLS_SNI_MAX + 1] = 0;
    ck_assert_int_eq (tls_client_hello_make (CS, BLOB, 0, name, out, sizeof out), -1);
    ck_assert_int_eq (tls_client_hello_make (CS, BLOB, 0, "x.test", out, 516), -1);
}
END_TEST

START_TEST (test_client_hello_malformed)
{
    uint8_t ok[1024], bad[1024], rnd[32], blob[TLS_CH_BLOB];
    int n = tls_client_hello_make (CS, BLOB, 0, "www.example.com", ok, sizeof ok);
    //  Every truncation, and one byte more.
    for (int len = 0; len < n; len++)
        ck_assert_int_eq (tls_client_hello_parse (ok, (size_t) len, rnd, blob), -1);
    ck_assert_int_eq (tls_client_hello_parse (ok, (size_t) n + 1, rnd, blob), -1);
    //  Fields that make it no ClientHello (offset, value).
    static const struct { int at; uint8_t v; } cases[] = {
        { 0, 0x17 }, { 1, 0x02 }, { 4, 0x01 }, { 5, 0x02 }, { 8, 0xfd }, { 9, 0x02 },
        { 43, 31 }, { 43, 33 }, { 77, 0x3d }, { 77, 0x00 }, { 76, 0x01 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        memcpy (bad, ok, (size_t) n);
        bad[cases[i].at] = cases[i].v;
        ck_assert_msg (tls_client_hello_parse (bad, (size_t) n, rnd, blob) == -1,
                       "case %zu accepted", i);
    }
    //  No key share (renamed), or two; a compression list of 0.
    memcpy (bad, ok, (size_t) n);
    uint8_t *ks = memmem (bad, (size_t) n, "\x00\x33\x00\x26", 4);
    ck_assert_ptr_nonnull (ks);
    ks[1] = 0x34;
    ck_assert_int_eq (tls_client_hello_parse (bad, (size_t) n, rnd, blob), -1);
    memcpy (bad, ok, (size_t) n);
    ks = memmem (bad, (size_t) n, "\x00\x33\x00\x26", 4);
    ks[9] = 0x1e;                           //  x25519 -> another group: no x25519 share
    ck_assert_int_eq (tls_client_hello_parse (bad, (size_t) n, rnd, blob), -1);
    //  Random bytes and random mutations: never a crash (ASan watches reads).
    srand (11);
    for (int round = 0; round < 20000; round++) {
        size_t len = (size_t) (rand () % 1024);
        if (round % 2) {
            for (size_t i = 0; i < len; i++)
                bad[i] = (uint8_t) rand ();
            if (len > 5) {
                bad[0] = 0x16;
                bad[1] = 0x03;
            }
        }
        else {
            memcpy (bad, ok, (size_t) n);
            len = (size_t) n;
            for (int k = 0; k < 1 + round % 4; k++)
                bad[rand () % n] = (uint8_t) rand ();
        }
        tls_client_hello_parse (bad, len, rnd, blob);
    }
}
END_TEST

START_TEST (test_server_hello)
{
    uint8_t out[256], rnd[32], sid[32], blob[TLS_SH_BLOB], bad[256];
    ck_assert_int_eq (tls_server_hello_make (SS, BLOB, BLOB + 32, 0x80, out, sizeof out),
                      TLS_SH_SIZE);
    static const uint8_t head[] = { 0x16, 0x03, 0x03, 0x00, 0x7a, 0x02, 0x00, 0x00, 0x76,
                                    0x03, 0x03 };
    ck_assert_mem_eq (out, head, sizeof head);
    ck_assert_uint_eq (out[TLS_SH_SIZE - 1], 0x00);
    ck_assert_int_eq (tls_server_hello_parse (out, TLS_SH_SIZE, rnd, sid, blob), 0);
    ck_assert_mem_eq (rnd, SS, 32);
    ck_assert_mem_eq (sid, BLOB, 32);
    ck_assert_mem_eq (blob, BLOB + 32, TLS_SH_BLOB);
    ck_assert_int_eq (tls_server_hello_make (SS, BLOB, BLOB, 0, out, TLS_SH_SIZE - 1), -1);
    for (int len = 0; len < TLS_SH_SIZE; len++)
        ck_assert_int_eq (tls_server_hello_parse (out, (size_t) len, rnd, sid, blob), -1);
    static const int at[] = { 0, 5, 8, 43, 78, 80 };
    for (size_t i = 0; i < sizeof at / sizeof at[0]; i++) {
        memcpy (bad, out, TLS_SH_SIZE);
        bad[at[i]] ^= 0x01;
        ck_assert_msg (tls_server_hello_parse (bad, TLS_SH_SIZE, rnd, sid, blob) == -1,
                       "offset %d accepted", at[i]);
    }
    //  A ClientHello is no ServerHello and the other way round.
    uint8_t ch[1024];
    int n = tls_client_hello_make (CS, BLOB, 0, "a.test", ch, sizeof ch);
    ck_assert_int_eq (tls_server_hello_parse (ch, (size_t) n, rnd, sid, blob), -1);
    uint8_t chblob[TLS_CH_BLOB];
    ck_assert_int_eq (tls_client_hello_parse (out, TLS_SH_SIZE, rnd, chblob), -1);
    ck_assert_int_eq (tls_record_len (tls_ccs_record, TLS_CCS), 1);
    ck_assert_int_eq (tls_record_len (tls_ccs_record, TLS_HANDSHAKE), -1);
}
END_TEST

//  --- First flights

static int
s_client_flight (v2_kind_t kind, uint8_t *out, v2_dir_t **dir)
{
    v2_hello_t hello = { .kind = kind, .time = 1700000000 };
    memset (hello.id, 0x44, sizeof hello.id);
    return v2_flight_make_tls (V2_AES_256_GCM, K, 32, CS, NULL, &hello, "www.example.com", out,
                               V2_FLIGHT_TLS_MAX, dir);
}

START_TEST (test_flight_client)
{
    uint8_t out[V2_FLIGHT_TLS_MAX], rnd[32], blob[TLS_CH_BLOB];
    v2_dir_t *dir = NULL;
    int n = s_client_flight (V2_KIND_TUNNEL, out, &dir);
    ck_assert_int_eq (n, 517);
    ck_assert_ptr_nonnull (dir);
    ck_assert_uint_eq (v2_dir_count (dir), 1);
    ck_assert_uint_eq (v2_dir_head (dir), V2_TLS_HEAD_SIZE);
    ck_assert_int_eq (tls_client_hello_parse (out, (size_t) n, rnd, blob), 0);
    ck_assert_mem_eq (rnd, CS, 32);
    //  In one piece, then byte by byte.
    for (int pass = 0; pass < 2; pass++) {
        v2_flight_parser_t *p = v2_flight_parser_new_tls (V2_AES_256_GCM, K, 32, V2_KIND_TUNNEL,
                                                          NULL);
        v2_flight_result_t r = V2_FLIGHT_NEED_MORE;
        size_t used = 0, total = 0;
        for (int i = 0; i < n && r == V2_FLIGHT_NEED_MORE; i += used) {
            size_t piece = pass ? 1 : (size_t) n;
            r = v2_flight_parser_feed (p, out + i, piece, &used);
            total += used;
        }
        ck_assert_int_eq (r, V2_FLIGHT_OK);
        ck_assert_uint_eq (total, (size_t) n);
        const v2_hello_t *h = v2_flight_parser_hello (p);
        ck_assert_uint_eq (h->time, 1700000000);
        ck_assert_mem_eq (h->echo, out + 44, 32);
        ck_assert_mem_eq (v2_flight_parser_salt (p), CS, 32);
        v2_dir_t *rx = v2_flight_parser_take_dir (p);
        ck_assert_ptr_nonnull (rx);
        //  The client's record 1 opens at the server.
        uint8_t rec[64];
        int w = v2_seal (dir, V2_DATA, (const uint8_t *) "hi", 2, rec);
        ck_assert_int_eq (w, 5 + 3 + 16);
        ck_assert_mem_eq (rec, "\x17\x03\x03\x00\x13", 5);
        ck_assert_int_eq (v2_peek_len (rx, rec), 3);
        ck_assert_int_eq (v2_open (rx, rec, 3), 0);
        ck_assert_mem_eq (rec + 5, "\x00hi", 3);
        v2_dir_destroy (&rx);
        v2_flight_parser_destroy (&p);
        v2_dir_destroy (&dir);
        s_client_flight (V2_KIND_TUNNEL, out, &dir);
    }
    v2_dir_destroy (&dir);
}
END_TEST

//  Parses a whole flight: the result.
static v2_flight_result_t
s_parse (const uint8_t *data, size_t len, v2_kind_t kind, const uint8_t *key, const uint8_t *cs)
{
    v2_flight_parser_t *p = v2_flight_parser_new_tls (V2_AES_256_GCM, key, 32, kind, cs);
    size_t used;
    v2_flight_result_t r = v2_flight_parser_feed (p, data, len, &used);
    v2_flight_parser_destroy (&p);
    return r;
}

static v2_flight_result_t
s_parse_suite (const uint8_t *data, size_t len, v2_kind_t kind, v2_suite_t suite,
               const uint8_t *cs)
{
    v2_flight_parser_t *p = v2_flight_parser_new_tls (suite, V2V_K32, 32, kind, cs);
    size_t used;
    v2_flight_result_t r = v2_flight_parser_feed (p, data, len, &used);
    v2_flight_parser_destroy (&p);
    return r;
}

START_TEST (test_flight_client_refused)
{
    uint8_t out[V2_FLIGHT_TLS_MAX], bad[V2_FLIGHT_TLS_MAX], other[32];
    int n = s_client_flight (V2_KIND_TUNNEL, out, NULL);
    //  Every flipped bit of the random, the session_id and the key share's
    //  31 carried bytes.
    const uint8_t *ks = memmem (out, (size_t) n, "\x00\x1d\x00\x20", 4) + 4;
    size_t spans[][2] = { { 11, 32 }, { 44, 32 }, { (size_t) (ks - out), 31 } };
    for (int s = 0; s < 3; s++)
        for (size_t bit = 0; bit < spans[s][1] * 8; bit++) {
            memcpy (bad, out, (size_t) n);
            bad[spans[s][0] + bit / 8] ^= (uint8_t) (1u << (bit % 8));
            ck_assert_int_eq (s_parse (bad, (size_t) n, V2_KIND_TUNNEL, K, NULL), V2_FLIGHT_BAD);
        }
    memcpy (other, K, 32);
    other[0] ^= 1;
    ck_assert_int_eq (s_parse (out, (size_t) n, V2_KIND_TUNNEL, other, NULL), V2_FLIGHT_BAD);
    ck_assert_int_eq (s_parse (out, (size_t) n, V2_KIND_HANDOVER, K, NULL), V2_FLIGHT_BAD);
    ck_assert_int_eq (s_parse (out, (size_t) n - 1, V2_KIND_TUNNEL, K, NULL), V2_FLIGHT_NEED_MORE);
    //  A raw v2 flight, zeros, a long record header.
    memset (bad, 0, sizeof bad);
    ck_assert_int_eq (s_parse (bad, 600, V2_KIND_TUNNEL, K, NULL), V2_FLIGHT_BAD);
    memcpy (bad, "\x16\x03\x01\x40\x00", 5);
    ck_assert_int_eq (s_parse (bad, 600, V2_KIND_TUNNEL, K, NULL), V2_FLIGHT_BAD);
    //  A handover flight carries its ID.
    n = s_client_flight (V2_KIND_HANDOVER, out, NULL);
    v2_flight_parser_t *p = v2_flight_parser_new_tls (V2_AES_256_GCM, K, 32, V2_KIND_HANDOVER, NULL);
    size_t used;
    ck_assert_int_eq (v2_flight_parser_feed (p, out, (size_t) n, &used), V2_FLIGHT_OK);
    uint8_t id[V2_ID_SIZE];
    memset (id, 0x44, sizeof id);
    ck_assert_mem_eq (v2_flight_parser_hello (p)->id, id, V2_ID_SIZE);
    v2_flight_parser_destroy (&p);
}
END_TEST

static int
s_server_flight (uint8_t *out, v2_dir_t **dir)
{
    v2_hello_t hello = { .kind = V2_KIND_SERVER, .time = 1700000001 };
    memcpy (hello.echo, BLOB, 32);
    return v2_flight_make_tls (V2_AES_256_GCM, K, 32, SS, CS, &hello, NULL, out,
                               V2_FLIGHT_TLS_MAX, dir);
}

START_TEST (test_flight_server)
{
    uint8_t out[V2_FLIGHT_TLS_MAX], rnd[32], sid[32], blob[TLS_SH_BLOB], bad[V2_FLIGHT_TLS_MAX];
    v2_dir_t *dir = NULL;
    int n = s_server_flight (out, &dir);
    //  ServerHello, ChangeCipherSpec, four records of 42, 426..429, 94..96, 69.
    ck_assert_int_ge (n, 127 + 6 + 47 + 431 + 99 + 74);
    ck_assert_int_le (n, 127 + 6 + 47 + 434 + 101 + 74);
    ck_assert_uint_eq (v2_dir_count (dir), 5);
    ck_assert_int_eq (tls_server_hello_parse (out, TLS_SH_SIZE, rnd, sid, blob), 0);
    ck_assert_mem_eq (sid, BLOB, 32);
    ck_assert_mem_eq (out + TLS_SH_SIZE, tls_ccs_record, TLS_CCS_SIZE);
    ck_assert_mem_eq (out + TLS_SH_SIZE + 6, "\x17\x03\x03\x00\x2a", 5);
    ck_assert_mem_eq (out + TLS_SH_SIZE + 6 + 47, "\x17\x03\x03\x01", 4);
    ck_assert_uint_ge (out[TLS_SH_SIZE + 6 + 47 + 4], 0xaa);
    ck_assert_uint_le (out[TLS_SH_SIZE + 6 + 47 + 4], 0xad);
    v2_flight_parser_t *p = v2_flight_parser_new_tls (V2_AES_256_GCM, K, 32, V2_KIND_SERVER, CS);
    size_t used;
    ck_assert_int_eq (v2_flight_parser_feed (p, out, (size_t) n, &used), V2_FLIGHT_OK);
    ck_assert_uint_eq (used, TLS_SH_SIZE);
    v2_flight_parser_destroy (&p);
    //  Bound to cs: another client's salt opens nothing; a flipped bit of
    //  the random or the key share is refused.
    uint8_t cs2[32];
    memcpy (cs2, CS, 32);
    cs2[5] ^= 0x20;
    ck_assert_int_eq (s_parse (out, (size_t) n, V2_KIND_SERVER, K, cs2), V2_FLIGHT_BAD);
    for (size_t at = 11; at < 43; at++) {
        memcpy (bad, out, (size_t) n);
        bad[at] ^= 0x04;
        ck_assert_int_eq (s_parse (bad, (size_t) n, V2_KIND_SERVER, K, CS), V2_FLIGHT_BAD);
    }
    for (size_t at = TLS_SH_SIZE - 32; at < TLS_SH_SIZE - 1; at++) {
        memcpy (bad, out, (size_t) n);
        bad[at] ^= 0x80;
        ck_assert_int_eq (s_parse (bad, (size_t) n, V2_KIND_SERVER, K, CS), V2_FLIGHT_BAD);
    }
    v2_dir_destroy (&dir);
}
END_TEST

//  --- Golden vectors (test/vectors/gen_tls_vectors.py)

typedef struct {
    const uint8_t *ch, *fin, *data, *sh, *ee;
    size_t fin_len, data_len, ee_len;
} s_vec_t;

START_TEST (test_vectors)
{
    const s_vec_t vecs[2] = {
        { TLSV_AES_256_GCM_CLIENT_HELLO, TLSV_AES_256_GCM_C2S_FINISHED, TLSV_AES_256_GCM_C2S_DATA,
          TLSV_AES_256_GCM_SERVER_HELLO, TLSV_AES_256_GCM_S2C_EE,
          sizeof TLSV_AES_256_GCM_C2S_FINISHED, sizeof TLSV_AES_256_GCM_C2S_DATA,
          sizeof TLSV_AES_256_GCM_S2C_EE },
        { TLSV_CHACHA20_POLY1305_CLIENT_HELLO, TLSV_CHACHA20_POLY1305_C2S_FINISHED,
          TLSV_CHACHA20_POLY1305_C2S_DATA, TLSV_CHACHA20_POLY1305_SERVER_HELLO,
          TLSV_CHACHA20_POLY1305_S2C_EE, sizeof TLSV_CHACHA20_POLY1305_C2S_FINISHED,
          sizeof TLSV_CHACHA20_POLY1305_C2S_DATA, sizeof TLSV_CHACHA20_POLY1305_S2C_EE },
    };
    const s_vec_t *v = &vecs[_i];
    v2_suite_t suite = _i ? V2_CHACHA20_POLY1305 : V2_AES_256_GCM;
    uint8_t out[V2_FLIGHT_TLS_MAX], rec[128];
    static const uint8_t zeros[64];
    v2_hello_t hello = { .kind = V2_KIND_TUNNEL, .time = V2V_TIME_CLIENT };
    v2_dir_t *dir = NULL;
    int n = v2_flight_make_tls (suite, V2V_K32, 32, V2V_CS, NULL, &hello, "www.example.com", out,
                                sizeof out, &dir);
    ck_assert_int_eq (n, 517);
    //  The key share's last byte is random (below 0x80): the vector has 00.
    const uint8_t *ks = memmem (out, 517, "\x00\x1d\x00\x20", 4);
    ck_assert_ptr_nonnull (ks);
    size_t ks_last = (size_t) (ks - out) + 4 + 31;
    ck_assert_uint_lt (out[ks_last], 0x80);
    out[ks_last] = 0;
    ck_assert_mem_eq (out, v->ch, 517);
    ck_assert_int_eq (v2_seal (dir, V2_PADDING, zeros, 52, rec), (int) v->fin_len);
    ck_assert_mem_eq (rec, v->fin, v->fin_len);
    ck_assert_int_eq (v2_seal (dir, V2_DATA, (const uint8_t *) "GET /", 5, rec), (int) v->data_len);
    ck_assert_mem_eq (rec, v->data, v->data_len);
    v2_dir_destroy (&dir);
    //  The server's: ServerHello (its key share's last byte too), CCS, record 1.
    v2_hello_t shello = { .kind = V2_KIND_SERVER, .time = V2V_TIME_SERVER };
    memcpy (shello.echo, v->ch + 44, 32);
    n = v2_flight_make_tls (suite, V2V_K32, 32, V2V_SS, V2V_CS, &shello, NULL, out, sizeof out,
                            NULL);
    ck_assert_int_gt (n, TLS_SH_SIZE + TLS_CCS_SIZE + (int) v->ee_len);
    ck_assert_uint_lt (out[TLS_SH_SIZE - 1], 0x80);
    out[TLS_SH_SIZE - 1] = 0;
    ck_assert_mem_eq (out, v->sh, TLS_SH_SIZE);
    ck_assert_mem_eq (out + TLS_SH_SIZE, tls_ccs_record, TLS_CCS_SIZE);
    ck_assert_mem_eq (out + TLS_SH_SIZE + TLS_CCS_SIZE, v->ee, v->ee_len);
    //  And the vectors parse as flights of this key.
    ck_assert_int_eq (s_parse_suite (v->ch, 517, V2_KIND_TUNNEL, suite, NULL), V2_FLIGHT_OK);
    ck_assert_int_eq (s_parse_suite (v->sh, TLS_SH_SIZE, V2_KIND_SERVER, suite, V2V_CS),
                      V2_FLIGHT_OK);
}
END_TEST

//  --- Two nodes over the TLS framing

typedef struct {
    uint8_t inner[65536], outer[65536];
    size_t inner_len, outer_len;
    int wakes;                      //  NODE_WAKE events seen
    int holds;                      //  NODE_HOLD events seen
    uint64_t hold_us[4];            //  ... their values
    size_t hold_at[4];              //  ... and where outward they began
} s_sink_t;

static void
s_sink_data (void *ctx, node_side_t to, uint8_t *data, size_t len, unsigned flags)
{
    (void) flags;
    s_sink_t *sink = ctx;
    uint8_t *buf = to == NODE_INNER ? sink->inner : sink->outer;
    size_t *used = to == NODE_INNER ? &sink->inner_len : &sink->outer_len;
    ck_assert_uint_le (*used + len, sizeof sink->inner);
    memcpy (buf + *used, data, len);
    *used += len;
}

static void
s_sink_event (void *ctx, node_event_t event, uint64_t value)
{
    s_sink_t *sink = ctx;
    if (event == NODE_WAKE)
        sink->wakes++;
    if (event == NODE_HOLD && sink->holds < 4) {
        sink->hold_us[sink->holds] = value;
        sink->hold_at[sink->holds++] = sink->outer_len;
    }
}

static int
s_feed (node_stack_t *stack, node_side_t from, const uint8_t *data, size_t len, s_sink_t *sink)
{
    uint8_t *copy = malloc (len ? len : 1);
    memcpy (copy, data, len);
    node_out_t out = { s_sink_data, s_sink_event, sink, NULL };
    int rc = node_stack_recv (stack, from, copy, len, 0, &out);
    free (copy);
    return rc;
}

typedef struct {
    node_stack_t *client, *server;
    s_sink_t *cs, *ss;
    uint8_t sflight[V2_FLIGHT_TLS_MAX];
    size_t sflight_len;
} s_pair_t;

static void
s_pair_new (s_pair_t *t, bool early)
{
    uint8_t cflight[V2_FLIGHT_TLS_MAX];
    v2_dir_t *ctx = NULL, *stx = NULL;
    int n = s_client_flight (V2_KIND_TUNNEL, cflight, &ctx);
    v2_node_t *cnode = v2_node_new_client (V2_AES_256_GCM, K, 32, CS, ctx);
    v2_node_set_early (cnode, early);
    v2_flight_parser_t *p = v2_flight_parser_new_tls (V2_AES_256_GCM, K, 32, V2_KIND_TUNNEL, NULL);
    size_t used;
    ck_assert_int_eq (v2_flight_parser_feed (p, cflight, (size_t) n, &used), V2_FLIGHT_OK);
    v2_hello_t hello = { .kind = V2_KIND_SERVER, .time = 1 };
    memcpy (hello.echo, v2_flight_parser_hello (p)->echo, 32);
    n = v2_flight_make_tls (V2_AES_256_GCM, K, 32, SS, CS, &hello, NULL, t->sflight,
                            sizeof t->sflight, &stx);
    ck_assert_int_gt (n, 0);
    t->sflight_len = (size_t) n;
    uint8_t hk[V2_HK_SIZE];
    ck_assert_int_eq (v2_derive_hk (K, 32, CS, SS, hk), 0);
    v2_node_t *snode = v2_node_new_server (stx, v2_flight_parser_take_dir (p), hk);
    v2_flight_parser_destroy (&p);
    t->client = node_stack_new ();
    t->server = node_stack_new ();
    node_stack_add (t->client, NODE_OUTER, &v2_node_class, cnode);
    node_stack_add (t->server, NODE_OUTER, &v2_node_class, snode);
    t->cs = calloc (1, sizeof *t->cs);
    t->ss = calloc (1, sizeof *t->ss);
}

static void
s_pair_destroy (s_pair_t *t)
{
    node_stack_destroy (&t->client);
    node_stack_destroy (&t->server);
    free (t->cs);
    free (t->ss);
}

START_TEST (test_nodes_wait_one_rtt)
{
    s_pair_t t;
    s_pair_new (&t, false);
    //  Held until the server's flight.
    ck_assert_int_eq (s_feed (t.client, NODE_INNER, (const uint8_t *) "GET /", 5, t.cs), 0);
    ck_assert_uint_eq (t.cs->outer_len, 0);
    ck_assert_int_eq (s_feed (t.client, NODE_OUTER, t.sflight, t.sflight_len, t.cs), 0);
    //  After the pause a TLS client takes to check the flight: CCS, the
    //  Finished-sized record (69); after a short one the data record
    //  (5 + 6 + 16).
    ck_assert_int_eq (t.cs->holds, 2);
    ck_assert_uint_eq (t.cs->hold_at[0], 0);
    ck_assert_uint_ge (t.cs->hold_us[0], 950);
    ck_assert_uint_le (t.cs->hold_us[0], 1800);
    ck_assert_uint_eq (t.cs->hold_at[1], 6 + 74);
    ck_assert_uint_ge (t.cs->hold_us[1], 40);
    ck_assert_uint_le (t.cs->hold_us[1], 120);
    ck_assert_uint_eq (t.cs->outer_len, 6 + 74 + 27);
    ck_assert_mem_eq (t.cs->outer, tls_ccs_record, 6);
    ck_assert_mem_eq (t.cs->outer + 6, "\x17\x03\x03\x00\x45", 5);
    ck_assert_mem_eq (t.cs->outer + 80, "\x17\x03\x03\x00\x16", 5);
    ck_assert_uint_eq (t.cs->inner_len, 0);
    //  The server: two ticket-sized records, a short pause between them,
    //  then the data inward; no timer.
    ck_assert_int_eq (s_feed (t.server, NODE_OUTER, t.cs->outer, t.cs->outer_len, t.ss), 0);
    ck_assert_uint_eq (t.ss->inner_len, 5);
    ck_assert_mem_eq (t.ss->inner, "GET /", 5);
    ck_assert_uint_eq (t.ss->outer_len, 2 * 303);
    ck_assert_mem_eq (t.ss->outer, "\x17\x03\x03\x01\x2a", 5);
    ck_assert_mem_eq (t.ss->outer + 303, "\x17\x03\x03\x01\x2a", 5);
    ck_assert_int_eq (t.ss->holds, 1);
    ck_assert_uint_eq (t.ss->hold_at[0], 303);
    ck_assert_uint_ge (t.ss->hold_us[0], 40);
    ck_assert_uint_le (t.ss->hold_us[0], 120);
    ck_assert_int_eq (t.ss->wakes, 0);
    //  And back.
    ck_assert_int_eq (s_feed (t.server, NODE_INNER, (const uint8_t *) "200", 3, t.ss), 0);
    ck_assert_int_eq (s_feed (t.client, NODE_OUTER, t.ss->outer, t.ss->outer_len, t.cs), 0);
    ck_assert_uint_eq (t.cs->inner_len, 3);
    ck_assert_mem_eq (t.cs->inner, "200", 3);
    s_pair_destroy (&t);
}
END_TEST

//  The server's answer sealed from bytes that lie in the driver's queue
//  where its output lands (as session_nodes_out_room gives them), behind
//  the tickets: it arrives intact (a ticket once overwrote it there).
START_TEST (test_nodes_ticket_before_answer_in_place)
{
    s_pair_t t;
    s_pair_new (&t, false);
    ck_assert_int_eq (s_feed (t.client, NODE_INNER, (const uint8_t *) "GET /", 5, t.cs), 0);
    ck_assert_int_eq (s_feed (t.client, NODE_OUTER, t.sflight, t.sflight_len, t.cs), 0);
    ck_assert_int_eq (s_feed (t.server, NODE_OUTER, t.cs->outer, t.cs->outer_len, t.ss), 0);
    ck_assert_uint_eq (t.ss->outer_len, 2 * 303);
    t.cs->outer_len = t.cs->inner_len = 0;
    uint8_t *at = t.ss->outer + t.ss->outer_len;
    memcpy (at, "HTTP/1.1 200 OK", 15);
    node_out_t sout = { s_sink_data, s_sink_event, t.ss, NULL };
    ck_assert_int_eq (node_stack_recv (t.server, NODE_INNER, at, 15, 0, &sout), 0);
    ck_assert_uint_eq (t.ss->outer_len, 2 * 303 + 5 + 15 + 1 + 16);
    ck_assert_mem_eq (t.ss->outer + 2 * 303, "\x17\x03\x03\x00\x20", 5);
    ck_assert_int_eq (s_feed (t.client, NODE_OUTER, t.ss->outer, t.ss->outer_len, t.cs), 0);
    ck_assert_uint_eq (t.cs->inner_len, 15);
    ck_assert_mem_eq (t.cs->inner, "HTTP/1.1 200 OK", 15);
    s_pair_destroy (&t);
}
END_TEST

//  A stream that ends before the server's flight: what was held leaves
//  with the end record (its FIN follows at once).
START_TEST (test_nodes_end_while_held)
{
    s_pair_t t;
    s_pair_new (&t, false);
    ck_assert_int_eq (s_feed (t.client, NODE_INNER, (const uint8_t *) "GET /", 5, t.cs), 0);
    ck_assert_uint_eq (t.cs->outer_len, 0);
    node_out_t out = { s_sink_data, s_sink_event, t.cs, NULL };
    ck_assert_int_eq (node_stack_recv (t.client, NODE_INNER, NULL, 0, NODE_END, &out), 0);
    //  The END as long as a close_notify alert: 24 bytes.
    ck_assert_uint_eq (t.cs->outer_len, 6 + 74 + 27 + 24);
    ck_assert_mem_eq (t.cs->outer + 6 + 74 + 27, "\x17\x03\x03\x00\x13", 5);
    ck_assert_int_eq (s_feed (t.server, NODE_OUTER, t.cs->outer, t.cs->outer_len, t.ss), 0);
    ck_assert_uint_eq (t.ss->inner_len, 5);
    //  The server's flight after that is still read.
    ck_assert_int_eq (s_feed (t.client, NODE_OUTER, t.sflight, t.sflight_len, t.cs), 0);
    s_pair_destroy (&t);
}
END_TEST

//  More sealed before the server's flight than the client may hold (a fast
//  upload on a long link): it stops waiting, as with early data, instead of
//  failing; every byte still arrives, in order.
typedef struct {
    uint8_t *outer, *inner;
    size_t outer_len, inner_len, cap;
} s_big_sink_t;

static void
s_big_data (void *ctx, node_side_t to, uint8_t *data, size_t len, unsigned flags)
{
    (void) flags;
    s_big_sink_t *sink = ctx;
    uint8_t *buf = to == NODE_INNER ? sink->inner : sink->outer;
    size_t *used = to == NODE_INNER ? &sink->inner_len : &sink->outer_len;
    ck_assert_uint_le (*used + len, sink->cap);
    memcpy (buf + *used, data, len);
    *used += len;
}

static void
s_big_event (void *ctx, node_event_t event, uint64_t value)
{
    (void) ctx, (void) event, (void) value;
}

START_TEST (test_nodes_hold_overflows)
{
    s_pair_t t;
    s_pair_new (&t, false);
    enum { CHUNK = 65536, CHUNKS = 24 };    //  1.5 MiB: past the 1 MiB held at most
    s_big_sink_t cs = { malloc (4 << 20), malloc (4 << 20), 0, 0, 4 << 20 };
    s_big_sink_t ss = { malloc (4 << 20), malloc (4 << 20), 0, 0, 4 << 20 };
    node_out_t cout = { s_big_data, s_big_event, &cs, NULL };
    node_out_t sout = { s_big_data, s_big_event, &ss, NULL };
    uint8_t *chunk = malloc (CHUNK);
    bool left = false;
    for (int i = 0; i < CHUNKS; i++) {
        memset (chunk, 'a' + i, CHUNK);
        ck_assert_int_eq (node_stack_recv (t.client, NODE_INNER, chunk, CHUNK, 0, &cout), 0);
        if (i < 8)
            ck_assert_uint_eq (cs.outer_len, 0);   //  half a MiB: still held
        left = left || cs.outer_len > 0;
    }
    ck_assert (left);                               //  it stopped waiting
    ck_assert_uint_gt (cs.outer_len, (size_t) CHUNK * CHUNKS);
    ck_assert_int_eq (node_stack_recv (t.server, NODE_OUTER, cs.outer, cs.outer_len, 0, &sout), 0);
    ck_assert_uint_eq (ss.inner_len, (size_t) CHUNK * CHUNKS);
    for (int i = 0; i < CHUNKS; i++)
        ck_assert_int_eq (ss.inner[(size_t) i * CHUNK + 77], 'a' + i);
    //  The server's flight after that is still read.
    ck_assert_int_eq (node_stack_recv (t.client, NODE_OUTER, t.sflight, t.sflight_len, 0, &cout), 0);
    free (chunk);
    free (cs.outer);
    free (cs.inner);
    free (ss.outer);
    free (ss.inner);
    s_pair_destroy (&t);
}
END_TEST

START_TEST (test_nodes_early_data)
{
    s_pair_t t;
    s_pair_new (&t, true);
    ck_assert_int_eq (s_feed (t.client, NODE_INNER, (const uint8_t *) "GET /", 5, t.cs), 0);
    ck_assert_uint_eq (t.cs->outer_len, 6 + 74 + 27);
    //  Byte by byte to the server.
    for (size_t i = 0; i < t.cs->outer_len; i++)
        ck_assert_int_eq (s_feed (t.server, NODE_OUTER, t.cs->outer + i, 1, t.ss), 0);
    ck_assert_mem_eq (t.ss->inner, "GET /", 5);
    ck_assert_int_eq (s_feed (t.client, NODE_OUTER, t.sflight, t.sflight_len, t.cs), 0);
    ck_assert_int_eq (t.cs->holds, 0);          //  its Finished left long ago: no pause
    s_pair_destroy (&t);
}
END_TEST

START_TEST (test_nodes_bad_ccs)
{
    s_pair_t t;
    s_pair_new (&t, true);
    ck_assert_int_eq (s_feed (t.client, NODE_INNER, (const uint8_t *) "x", 1, t.cs), 0);
    for (size_t at = 0; at < 6; at++) {
        s_pair_t u;
        s_pair_new (&u, true);
        uint8_t bad[512];
        memcpy (bad, t.cs->outer, t.cs->outer_len);
        bad[at] ^= 0x01;
        ck_assert_int_eq (s_feed (u.server, NODE_OUTER, bad, t.cs->outer_len, u.ss), -1);
        ck_assert_uint_eq (u.ss->inner_len, 0);
        s_pair_destroy (&u);
    }
    //  A server flight without its CCS: the client breaks.
    s_pair_t w;
    s_pair_new (&w, false);
    uint8_t cut[V2_FLIGHT_TLS_MAX];
    memcpy (cut, w.sflight, TLS_SH_SIZE);
    memcpy (cut + TLS_SH_SIZE, w.sflight + TLS_SH_SIZE + 6, w.sflight_len - TLS_SH_SIZE - 6);
    ck_assert_int_eq (s_feed (w.client, NODE_OUTER, cut, w.sflight_len - 6, w.cs), -1);
    s_pair_destroy (&w);
    s_pair_destroy (&t);
}
END_TEST

int
main (void)
{
    s_setup ();
    Suite *suite = suite_create ("tls_wire");
    TCase *tc = tcase_create ("tls_wire");
    tcase_set_timeout (tc, 60);
    tcase_add_test (tc, test_client_hello_shape);
    tcase_add_test (tc, test_client_hello_malformed);
    tcase_add_test (tc, test_server_hello);
    tcase_add_test (tc, test_flight_client);
    tcase_add_test (tc, test_flight_client_refused);
    tcase_add_test (tc, test_flight_server);
    tcase_add_loop_test (tc, test_vectors, 0, 2);
    tcase_add_test (tc, test_nodes_wait_one_rtt);
    tcase_add_test (tc, test_nodes_ticket_before_answer_in_place);
    tcase_add_test (tc, test_nodes_early_data);
    tcase_add_test (tc, test_nodes_end_while_held);
    tcase_add_test (tc, test_nodes_hold_overflows);
    tcase_add_test (tc, test_nodes_bad_ccs);
    suite_add_tcase (suite, tc);
    return check_run (suite);
}
