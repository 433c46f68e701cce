/*  Tests for wire protocol v2 (docs/PROTOCOL-v2.md): the golden vectors of
    test/vectors/v2_vectors.h (computed from the spec alone by
    test/vectors/gen_v2_vectors.py, python3-cryptography) cross-checked
    with OpenSSL directly (HKDF, the length masks, the AEADs; also record
    2^32+5, which the API cannot reach), so a wrong vector shows apart from
    a wrong codec; the suites' names and the key schedule of nodes/v2_keys
    (32- and 16-byte K), ID(1), ID(2), ID(2^32+1).
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

//  --- The vectors against OpenSSL directly (no code under test)

START_TEST (test_vectors_openssl_keys)
{
    const v2v_keys_t *kv = &V2V_KEYS[_i];
    uint8_t out[64];
    const uint8_t *c2s_info = (const uint8_t *) "mimicsocks v2 c2s";
    const uint8_t *s2c_info = (const uint8_t *) "mimicsocks v2 s2c";
    const uint8_t *hk_info = (const uint8_t *) "mimicsocks v2 handover";
    v2c_ossl_hkdf (kv->k, kv->klen, V2V_CS, c2s_info, strlen ((const char *) c2s_info), NULL, 0, out, 64);
    ck_assert_mem_eq (out, kv->c2s, 64);
    v2c_ossl_hkdf (kv->k, kv->klen, V2V_SS, s2c_info, strlen ((const char *) s2c_info), V2V_CS, 32, out, 64);
    ck_assert_mem_eq (out, kv->s2c, 64);
    v2c_ossl_hkdf (kv->k, kv->klen, V2V_CS, hk_info, strlen ((const char *) hk_info), V2V_SS, 32, out, 32);
    ck_assert_mem_eq (out, kv->hk, 32);
    for (int j = 0; j < 3; j++) {
        uint8_t msg[10] = { 'i', 'd' }, mac[EVP_MAX_MD_SIZE];
        for (int b = 0; b < 8; b++)
            msg[2 + b] = (uint8_t) (kv->id_n[j] >> (56 - 8 * b));
        unsigned maclen = 0;
        ck_assert_ptr_nonnull (HMAC (EVP_sha256 (), kv->hk, 32, msg, sizeof msg, mac, &maclen));
        ck_assert_mem_eq (mac, kv->id[j], 16);
    }
}
END_TEST

START_TEST (test_vectors_openssl_records)
{
    const v2v_suite_t *s = &V2V_SUITES[_i];
    const uint8_t *c2s = V2V_KEYS[0].c2s;
    uint8_t *wire = (uint8_t *) malloc (V2C_BIG), *body = (uint8_t *) malloc (V2C_BIG);
    for (int j = 0; j < V2V_MASKS; j++) {
        const v2v_mask_t *m = &s->masks[j];
        uint8_t nonce[12] = { 0 }, mask[2];
        for (int b = 0; b < 8; b++)
            nonce[4 + b] = (uint8_t) (m->n >> (56 - 8 * b));
        ck_assert_mem_eq (nonce, m->nonce, 12);
        v2c_ossl_mask (s->suite, c2s + 32, nonce, mask);
        ck_assert_mem_eq (mask, m->mask, 2);
        if (j < V2V_SEQ_LEN) {
            const v2v_record_t *r = &s->records[j];
            size_t n = v2c_ossl_seal (s->suite, c2s, nonce, mask, r->type, v2c_seq_body (r, body),
                                    r->body_len, wire);
            v2c_assert_wire (r, wire, n);
        }
        else {
            //  Record 2^32+5: the counter's upper bytes, which no API call reaches.
            ck_assert_uint_eq (m->n, V2V_HIGH_N);
            size_t n = v2c_ossl_seal (s->suite, c2s, nonce, mask, V2_DATA, V2V_HIGH_BODY,
                                    V2V_HIGH_BODY_LEN, wire);
            ck_assert_uint_eq (n, s->high_len);
            ck_assert_mem_eq (wire, s->high, n);
        }
    }
    free (wire);
    free (body);
}
END_TEST


//  --- Suites and the key schedule

START_TEST (test_suite_names)
{
    ck_assert_int_eq (v2_suite_parse ("aes-256-gcm"), V2_AES_256_GCM);
    ck_assert_int_eq (v2_suite_parse ("chacha20-poly1305"), V2_CHACHA20_POLY1305);
    ck_assert_int_eq (v2_suite_parse ("aes-128-gcm"), -1);
    ck_assert_int_eq (v2_suite_parse (""), -1);
    ck_assert_int_eq (v2_suite_parse ("AES-256-GCM-X"), -1);
    ck_assert_str_eq (v2_suite_name (V2_AES_256_GCM), "aes-256-gcm");
    ck_assert_str_eq (v2_suite_name (V2_CHACHA20_POLY1305), "chacha20-poly1305");
}
END_TEST

START_TEST (test_keys)
{
    const v2v_keys_t *kv = &V2V_KEYS[_i];
    uint8_t out[V2_DIR_KEY_SIZE], id[V2_ID_SIZE];
    memset (out, 0, sizeof out);
    ck_assert_int_eq (v2_derive_c2s (kv->k, kv->klen, V2V_CS, out), 0);
    ck_assert_mem_eq (out, kv->c2s, V2_DIR_KEY_SIZE);
    ck_assert_int_eq (v2_derive_s2c (kv->k, kv->klen, V2V_SS, V2V_CS, out), 0);
    ck_assert_mem_eq (out, kv->s2c, V2_DIR_KEY_SIZE);
    ck_assert_int_eq (v2_derive_hk (kv->k, kv->klen, V2V_CS, V2V_SS, out), 0);
    ck_assert_mem_eq (out, kv->hk, V2_HK_SIZE);
    for (int j = 0; j < 3; j++) {
        ck_assert_int_eq (v2_handover_id (kv->hk, kv->id_n[j], id), 0);
        ck_assert_mem_eq (id, kv->id[j], V2_ID_SIZE);
    }
    //  s2c is bound to cs: another client salt, another key.
    uint8_t other_cs[V2_SALT_SIZE];
    memcpy (other_cs, V2V_CS, sizeof other_cs);
    other_cs[31] ^= 1;
    ck_assert_int_eq (v2_derive_s2c (kv->k, kv->klen, V2V_SS, other_cs, out), 0);
    ck_assert_mem_ne (out, kv->s2c, V2_DIR_KEY_SIZE);
}
END_TEST

START_TEST (test_keys_24_and_random)
{
    //  A 24-byte K is allowed too (no vector: it only has to work and differ).
    uint8_t k24[24], out[V2_DIR_KEY_SIZE];
    memcpy (k24, V2V_K32, sizeof k24);
    ck_assert_int_eq (v2_derive_c2s (k24, sizeof k24, V2V_CS, out), 0);
    ck_assert_mem_ne (out, V2V_KEYS[0].c2s, V2_DIR_KEY_SIZE);
    uint8_t a[32] = { 0 }, b[32] = { 0 };
    ck_assert_int_eq (v2_random (a, sizeof a), 0);
    ck_assert_int_eq (v2_random (b, sizeof b), 0);
    ck_assert_mem_ne (a, b, sizeof a);
}
END_TEST

int
main (void)
{
    Suite *suite = suite_create ("v2_keys");
    TCase *tc = tcase_create ("vectors");
    tcase_add_loop_test (tc, test_vectors_openssl_keys, 0, 2);
    tcase_add_loop_test (tc, test_vectors_openssl_records, 0, 2);
    tcase_add_test (tc, test_suite_names);
    tcase_add_loop_test (tc, test_keys, 0, 2);
    tcase_add_test (tc, test_keys_24_and_random);
    suite_add_tcase (suite, tc);
    return check_run (suite);
}
