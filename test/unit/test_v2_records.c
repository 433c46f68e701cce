/*  Tests for wire protocol v2's records (nodes/v2_record.h, against the
    vectors of test/vectors/v2_vectors.h): v2_seal byte-exact over a
    sequence (DATA of 0, 1, 100 and 16383 bytes, PADDING, COMMAND),
    v2_peek_len, v2_open; lengths 0 and > 16384; a flipped bit anywhere
    fails and advances nothing; another key or suite.
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

//  --- Records

START_TEST (test_seal_sequence)
{
    const v2v_suite_t *s = &V2V_SUITES[_i];
    v2_dir_t *dir = v2c_dir (s->suite, V2V_KEYS[0].c2s);
    uint8_t *wire = (uint8_t *) malloc (V2C_BIG), *body = (uint8_t *) malloc (V2C_BIG);
    for (int i = 0; i < V2V_SEQ_LEN; i++) {
        const v2v_record_t *r = &s->records[i];
        ck_assert_uint_eq (v2_dir_count (dir), (uint64_t) i);
        ck_assert_uint_eq (v2_record_size (r->body_len), r->wire_len);
        memset (wire, 0xee, V2C_BIG);
        int n = v2_seal (dir, r->type, v2c_seq_body (r, body), r->body_len, wire);
        ck_assert_int_eq (n, (int) r->wire_len);
        v2c_assert_wire (r, wire, (size_t) n);
        ck_assert_uint_eq (wire[n], 0xee);      //  nothing written past it
    }
    ck_assert_uint_eq (v2_dir_count (dir), V2V_SEQ_LEN);
    //  Too long a body: refused, the counter stays.
    ck_assert_int_eq (v2_seal (dir, V2_DATA, body, V2_BODY_MAX + 1, wire), -1);
    ck_assert_uint_eq (v2_dir_count (dir), V2V_SEQ_LEN);
    v2_dir_destroy (&dir);
    ck_assert_ptr_null (dir);
    v2_dir_destroy (&dir);
    free (wire);
    free (body);
}
END_TEST

START_TEST (test_open_sequence)
{
    const v2v_suite_t *s = &V2V_SUITES[_i];
    v2_dir_t *dir = v2c_dir (s->suite, V2V_KEYS[0].c2s);
    uint8_t *wire = (uint8_t *) malloc (V2C_BIG), *body = (uint8_t *) malloc (V2C_BIG);
    //  The long record's wire comes from sealing it (its bytes are checked
    //  against the vector's digest by test_seal_sequence).
    v2_dir_t *sealer = v2c_dir (s->suite, V2V_KEYS[0].c2s);
    for (int i = 0; i < V2V_SEQ_LEN; i++) {
        const v2v_record_t *r = &s->records[i];
        const uint8_t *b = v2c_seq_body (r, body);
        ck_assert_int_eq (v2_seal (sealer, r->type, b, r->body_len, wire), (int) r->wire_len);
        v2c_assert_wire (r, wire, r->wire_len);
        int L = v2_peek_len (dir, wire);
        ck_assert_int_eq (L, (int) r->body_len + 1);
        ck_assert_uint_eq (v2_dir_count (dir), (uint64_t) i);       //  peeking moves nothing
        ck_assert_int_eq (v2_peek_len (dir, wire), L);
        ck_assert_int_eq (v2_open (dir, wire, (size_t) L), 0);
        ck_assert_uint_eq (v2_dir_count (dir), (uint64_t) i + 1);
        ck_assert_uint_eq (wire[2], r->type);
        if (r->body_len)
            ck_assert_mem_eq (wire + 3, b, r->body_len);
    }
    v2_dir_destroy (&sealer);
    v2_dir_destroy (&dir);
    free (wire);
    free (body);
}
END_TEST

START_TEST (test_peek_len_range)
{
    //  ML = L ^ mask(0): lengths 0 and > 16384 are refused, 1 and 16384 not.
    const v2v_suite_t *s = &V2V_SUITES[_i];
    v2_dir_t *dir = v2c_dir (s->suite, V2V_KEYS[0].c2s);
    const uint8_t *m = s->masks[0].mask;
    static const struct { unsigned L; int expect; } cases[] = {
        { 0, -1 }, { 1, 1 }, { 2, 2 }, { 0x1234, 0x1234 }, { 16384, 16384 }, { 16385, -1 },
        { 0x8000, -1 }, { 0xffff, -1 },
    };
    for (size_t j = 0; j < sizeof cases / sizeof cases[0]; j++) {
        uint8_t ml[2] = { (uint8_t) ((cases[j].L >> 8) ^ m[0]), (uint8_t) (cases[j].L ^ m[1]) };
        ck_assert_int_eq (v2_peek_len (dir, ml), cases[j].expect);
    }
    ck_assert_uint_eq (v2_dir_count (dir), 0);
    //  At record 1 the mask is mask(1).
    uint8_t wire[64];
    ck_assert_int_eq (v2_open (dir, memcpy (wire, s->records[0].wire, s->records[0].wire_len), 1), 0);
    const uint8_t *m1 = s->masks[1].mask;
    uint8_t ml0[2] = { m1[0], m1[1] };
    ck_assert_int_eq (v2_peek_len (dir, ml0), -1);
    uint8_t ml2[2] = { m1[0], (uint8_t) (2 ^ m1[1]) };
    ck_assert_int_eq (v2_peek_len (dir, ml2), 2);
    v2_dir_destroy (&dir);
}
END_TEST

START_TEST (test_open_flipped)
{
    //  Record 2 (DATA, 100 bytes) with one bit flipped at every position:
    //  ML, C and T. The open fails and the counter stays; the true record
    //  opens after all that.
    const v2v_suite_t *s = &V2V_SUITES[_i];
    const v2v_record_t *r = &s->records[2];
    v2_dir_t *dir = v2c_dir (s->suite, V2V_KEYS[0].c2s);
    uint8_t wire[256];
    for (int i = 0; i < 2; i++) {
        memcpy (wire, s->records[i].wire, s->records[i].wire_len);
        ck_assert_int_eq (v2_open (dir, wire, s->records[i].wire_len - 18), 0);
    }
    size_t L = r->body_len + 1;
    for (size_t pos = 0; pos < r->wire_len; pos++) {
        memcpy (wire, r->wire, r->wire_len);
        wire[pos] ^= (uint8_t) (1u << (pos % 8));
        ck_assert_msg (v2_open (dir, wire, L) == -1, "a flip at byte %zu opened", pos);
        ck_assert_uint_eq (v2_dir_count (dir), 2);
    }
    //  Another record's bytes (record 5's) at record 2 fail too.
    memcpy (wire, s->records[5].wire, s->records[5].wire_len);
    ck_assert_int_eq (v2_open (dir, wire, s->records[5].wire_len - 18), -1);
    ck_assert_uint_eq (v2_dir_count (dir), 2);
    memcpy (wire, r->wire, r->wire_len);
    ck_assert_int_eq (v2_open (dir, wire, L), 0);
    ck_assert_uint_eq (v2_dir_count (dir), 3);
    ck_assert_mem_eq (wire + 3, r->body, r->body_len);
    v2_dir_destroy (&dir);
}
END_TEST

START_TEST (test_other_key_or_suite)
{
    //  The record under another direction key, or the other suite, fails.
    const v2v_suite_t *s = &V2V_SUITES[_i];
    const v2v_record_t *r = &s->records[2];
    uint8_t wire[256] = { 0 };
    v2_dir_t *dir = v2c_dir (s->suite, V2V_KEYS[0].s2c);
    memcpy (wire, r->wire, r->wire_len);
    ck_assert_int_eq (v2_open (dir, wire, r->body_len + 1), -1);
    v2_dir_destroy (&dir);
    dir = v2c_dir (1 - s->suite, V2V_KEYS[0].c2s);
    memcpy (wire, s->records[0].wire, s->records[0].wire_len);
    int L = v2_peek_len (dir, wire);
    if (L > 0 && L <= 64 - 18)
        ck_assert_int_eq (v2_open (dir, wire, (size_t) L), -1);
    ck_assert_uint_eq (v2_dir_count (dir), 0);
    v2_dir_destroy (&dir);
}
END_TEST

int
main (void)
{
    Suite *suite = suite_create ("v2_records");
    TCase *tc = tcase_create ("records");
    tcase_add_loop_test (tc, test_seal_sequence, 0, 2);
    tcase_add_loop_test (tc, test_open_sequence, 0, 2);
    tcase_add_loop_test (tc, test_peek_len_range, 0, 2);
    tcase_add_loop_test (tc, test_open_flipped, 0, 2);
    tcase_add_loop_test (tc, test_other_key_or_suite, 0, 2);
    suite_add_tcase (suite, tc);
    return check_run (suite);
}
