/*  v2_vector_check — helpers the protocol v2 tests (test_v2_*) check the
    codec against the golden vectors of test/vectors/v2_vectors.h with: a
    record's body, its wire bytes (or their sha256, head and tail for the
    long one), a fresh direction's keys, a suite's flight; and the spec's
    HKDF, length masks and AEAD seal done with OpenSSL directly (no code
    under test), to cross-check the vectors and make records by hand.
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
#include "test/support/v2_vector_check.h"

//  The body of record i of the vectors' sequence, into buf.
const uint8_t *
v2c_seq_body (const v2v_record_t *r, uint8_t *buf)
{
    if (r->body)
        return r->body;
    for (size_t j = 0; j < r->body_len; j++)
        buf[j] = v2v_pattern (j);
    return buf;
}

//  The wire bytes of a record are the vector's: the bytes, or for the long
//  one its sha256, head and tail.
void
v2c_assert_wire (const v2v_record_t *r, const uint8_t *wire, size_t len)
{
    ck_assert_uint_eq (len, r->wire_len);
    if (r->wire) {
        ck_assert_mem_eq (wire, r->wire, len);
        return;
    }
    uint8_t digest[SHA256_DIGEST_LENGTH];
    SHA256 (wire, len, digest);
    ck_assert_mem_eq (digest, r->sha256, sizeof digest);
    ck_assert_mem_eq (wire, r->head, 32);
    ck_assert_mem_eq (wire + len - 32, r->tail, 32);
}

v2_dir_t *
v2c_dir (int suite, const uint8_t *key)
{
    v2_dir_t *dir = v2_dir_new ((v2_suite_t) suite, key);
    ck_assert_ptr_nonnull (dir);
    ck_assert_uint_eq (v2_dir_count (dir), 0);
    return dir;
}

const v2v_flight_t *
v2c_flight (const v2v_suite_t *s, int which)
{
    return &s->flights[which];
}


void
v2c_ossl_hkdf (const uint8_t *k, size_t klen, const uint8_t *salt, const uint8_t *info1,
             size_t info1_len, const uint8_t *info2, size_t info2_len, uint8_t *out, size_t len)
{
    uint8_t info[64];
    memcpy (info, info1, info1_len);
    if (info2_len)
        memcpy (info + info1_len, info2, info2_len);
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_id (EVP_PKEY_HKDF, NULL);
    ck_assert_ptr_nonnull (ctx);
    ck_assert_int_eq (EVP_PKEY_derive_init (ctx), 1);
    ck_assert_int_eq (EVP_PKEY_CTX_set_hkdf_md (ctx, EVP_sha256 ()), 1);
    ck_assert_int_eq (EVP_PKEY_CTX_set1_hkdf_salt (ctx, salt, 32), 1);
    ck_assert_int_eq (EVP_PKEY_CTX_set1_hkdf_key (ctx, k, (int) klen), 1);
    ck_assert_int_eq (EVP_PKEY_CTX_add1_hkdf_info (ctx, info, (int) (info1_len + info2_len)), 1);
    size_t outlen = len;
    ck_assert_int_eq (EVP_PKEY_derive (ctx, out, &outlen), 1);
    ck_assert_uint_eq (outlen, len);
    EVP_PKEY_CTX_free (ctx);
}

void
v2c_ossl_mask (int suite, const uint8_t *mask_key, const uint8_t nonce[12], uint8_t mask[2])
{
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new ();
    uint8_t block[64] = { 0 }, out[64 + 16];
    int n = 0;
    if (suite == V2_AES_256_GCM) {
        memcpy (block, nonce, 12);
        ck_assert_int_eq (EVP_EncryptInit_ex (ctx, EVP_aes_256_ecb (), NULL, mask_key, NULL), 1);
        EVP_CIPHER_CTX_set_padding (ctx, 0);
        ck_assert_int_eq (EVP_EncryptUpdate (ctx, out, &n, block, 16), 1);
    }
    else {
        //  OpenSSL's chacha20 IV: the 32-bit block counter (little-endian), then the nonce.
        uint8_t iv[16] = { 0 };
        memcpy (iv + 4, nonce, 12);
        ck_assert_int_eq (EVP_EncryptInit_ex (ctx, EVP_chacha20 (), NULL, mask_key, iv), 1);
        ck_assert_int_eq (EVP_EncryptUpdate (ctx, out, &n, block, 64), 1);
    }
    memcpy (mask, out, 2);
    EVP_CIPHER_CTX_free (ctx);
}

//  Seals P = type || body at nonce with OpenSSL's AEAD (aad = ML) into out.
size_t
v2c_ossl_seal (int suite, const uint8_t *dirkey, const uint8_t nonce[12], const uint8_t mask[2],
             uint8_t type, const uint8_t *body, size_t len, uint8_t *out)
{
    size_t plen = len + 1;
    out[0] = (uint8_t) (plen >> 8) ^ mask[0];
    out[1] = (uint8_t) plen ^ mask[1];
    uint8_t *plain = (uint8_t *) malloc (plen);
    plain[0] = type;
    memcpy (plain + 1, body, len);
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new ();
    const EVP_CIPHER *cipher = suite == V2_AES_256_GCM ? EVP_aes_256_gcm () : EVP_chacha20_poly1305 ();
    int n = 0, m = 0;
    ck_assert_int_eq (EVP_EncryptInit_ex (ctx, cipher, NULL, NULL, NULL), 1);
    ck_assert_int_eq (EVP_CIPHER_CTX_ctrl (ctx, EVP_CTRL_AEAD_SET_IVLEN, 12, NULL), 1);
    ck_assert_int_eq (EVP_EncryptInit_ex (ctx, NULL, NULL, dirkey, nonce), 1);
    ck_assert_int_eq (EVP_EncryptUpdate (ctx, NULL, &n, out, 2), 1);
    ck_assert_int_eq (EVP_EncryptUpdate (ctx, out + 2, &n, plain, (int) plen), 1);
    ck_assert_int_eq (EVP_EncryptFinal_ex (ctx, out + 2 + n, &m), 1);
    ck_assert_int_eq (EVP_CIPHER_CTX_ctrl (ctx, EVP_CTRL_AEAD_GET_TAG, 16, out + 2 + plen), 1);
    EVP_CIPHER_CTX_free (ctx);
    free (plain);
    return 2 + plen + 16;
}
