/*  v2_vector_check — helpers the protocol v2 tests (test_v2_*) check the
    codec against the golden vectors of test/vectors/v2_vectors.h with: a
    record's body, its wire bytes (or their sha256, head and tail for the
    long one), a fresh direction's keys, a suite's flight; and the spec's
    HKDF, length masks and AEAD seal done with OpenSSL directly (no code
    under test), to cross-check the vectors and make records by hand.
*/
#ifndef MK_V2_VECTOR_CHECK_H
#define MK_V2_VECTOR_CHECK_H

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

#define V2C_BIG (V2_RECORD_MAX + 64)

//  The body of record i of the vectors' sequence, into buf.
const uint8_t *
v2c_seq_body (const v2v_record_t *r, uint8_t *buf);

//  The wire bytes of a record are the vector's: the bytes, or for the long
//  one its sha256, head and tail.
void
v2c_assert_wire (const v2v_record_t *r, const uint8_t *wire, size_t len);

v2_dir_t *
v2c_dir (int suite, const uint8_t *key);

const v2v_flight_t *
v2c_flight (const v2v_suite_t *s, int which);

void
v2c_ossl_hkdf (const uint8_t *k, size_t klen, const uint8_t *salt, const uint8_t *info1,
             size_t info1_len, const uint8_t *info2, size_t info2_len, uint8_t *out, size_t len);

void
v2c_ossl_mask (int suite, const uint8_t *mask_key, const uint8_t nonce[12], uint8_t mask[2]);

//  Seals P = type || body at nonce with OpenSSL's AEAD (aad = ML) into out.
size_t
v2c_ossl_seal (int suite, const uint8_t *dirkey, const uint8_t nonce[12], const uint8_t mask[2],
             uint8_t type, const uint8_t *body, size_t len, uint8_t *out);

#endif
