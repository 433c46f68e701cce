/*  Tests for wire protocol v2's codec (docs/PROTOCOL-v2.md): nodes/v2_keys,
    v2_record, v2_flight, replay_filter and v2_node, against the golden
    vectors of test/vectors/v2_vectors.h (computed from the spec alone by
    test/vectors/gen_v2_vectors.py, python3-cryptography) and against
    malformed input.

    - the vectors themselves, cross-checked with OpenSSL directly (HKDF,
      the length masks, the AEADs; also record 2^32+5, which the API cannot
      reach), so a wrong vector shows apart from a wrong codec;
    - the key schedule (32- and 16-byte K), ID(1), ID(2), ID(2^32+1);
    - records: v2_seal byte-exact over a sequence (DATA of 0, 1, 100 and
      16383 bytes, PADDING, COMMAND), v2_peek_len, v2_open; lengths 0 and
      > 16384; a flipped bit anywhere fails and advances nothing;
    - first flights: v2_flight_make byte-exact given salt and padding, the
      parser in one piece, byte by byte, truncated, with bytes after it; a
      flipped bit anywhere, a wrong key, suite or kind, a version other
      than 2, a body too short, a record 0 that is no HELLO: all BAD;
    - replay_filter: fresh and seen, remembered for one period and
      forgotten after two, a full generation, two threads at once;
    - v2_node in node stacks, a client and a server made from real flights:
      DATA both ways split at every offset, long chunks, PADDING dropped,
      commands, a corrupt record or a bad length breaks the stack and
      delivers nothing of it, the server's flight before anything, the
      handover IDs on both sides. */
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

#define S_BIG (V2_RECORD_MAX + 64)

//  The body of record i of the vectors' sequence, into buf.
static const uint8_t *
s_seq_body (const v2v_record_t *r, uint8_t *buf)
{
    if (r->body)
        return r->body;
    for (size_t j = 0; j < r->body_len; j++)
        buf[j] = v2v_pattern (j);
    return buf;
}

//  The wire bytes of a record are the vector's: the bytes, or for the long
//  one its sha256, head and tail.
static void
s_assert_wire (const v2v_record_t *r, const uint8_t *wire, size_t len)
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

static v2_dir_t *
s_dir (int suite, const uint8_t *key)
{
    v2_dir_t *dir = v2_dir_new ((v2_suite_t) suite, key);
    ck_assert_ptr_nonnull (dir);
    ck_assert_uint_eq (v2_dir_count (dir), 0);
    return dir;
}

static const v2v_flight_t *
s_flight (const v2v_suite_t *s, int which)
{
    return &s->flights[which];
}


//  --- The vectors against OpenSSL directly (no code under test)

static void
s_ossl_hkdf (const uint8_t *k, size_t klen, const uint8_t *salt, const uint8_t *info1,
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

static void
s_ossl_mask (int suite, const uint8_t *mask_key, const uint8_t nonce[12], uint8_t mask[2])
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
static size_t
s_ossl_seal (int suite, const uint8_t *dirkey, const uint8_t nonce[12], const uint8_t mask[2],
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

START_TEST (test_vectors_openssl_keys)
{
    const v2v_keys_t *kv = &V2V_KEYS[_i];
    uint8_t out[64];
    const uint8_t *c2s_info = (const uint8_t *) "mimicsocks v2 c2s";
    const uint8_t *s2c_info = (const uint8_t *) "mimicsocks v2 s2c";
    const uint8_t *hk_info = (const uint8_t *) "mimicsocks v2 handover";
    s_ossl_hkdf (kv->k, kv->klen, V2V_CS, c2s_info, strlen ((const char *) c2s_info), NULL, 0, out, 64);
    ck_assert_mem_eq (out, kv->c2s, 64);
    s_ossl_hkdf (kv->k, kv->klen, V2V_SS, s2c_info, strlen ((const char *) s2c_info), V2V_CS, 32, out, 64);
    ck_assert_mem_eq (out, kv->s2c, 64);
    s_ossl_hkdf (kv->k, kv->klen, V2V_CS, hk_info, strlen ((const char *) hk_info), V2V_SS, 32, out, 32);
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
    uint8_t *wire = (uint8_t *) malloc (S_BIG), *body = (uint8_t *) malloc (S_BIG);
    for (int j = 0; j < V2V_MASKS; j++) {
        const v2v_mask_t *m = &s->masks[j];
        uint8_t nonce[12] = { 0 }, mask[2];
        for (int b = 0; b < 8; b++)
            nonce[4 + b] = (uint8_t) (m->n >> (56 - 8 * b));
        ck_assert_mem_eq (nonce, m->nonce, 12);
        s_ossl_mask (s->suite, c2s + 32, nonce, mask);
        ck_assert_mem_eq (mask, m->mask, 2);
        if (j < V2V_SEQ_LEN) {
            const v2v_record_t *r = &s->records[j];
            size_t n = s_ossl_seal (s->suite, c2s, nonce, mask, r->type, s_seq_body (r, body),
                                    r->body_len, wire);
            s_assert_wire (r, wire, n);
        }
        else {
            //  Record 2^32+5: the counter's upper bytes, which no API call reaches.
            ck_assert_uint_eq (m->n, V2V_HIGH_N);
            size_t n = s_ossl_seal (s->suite, c2s, nonce, mask, V2_DATA, V2V_HIGH_BODY,
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


//  --- Records

START_TEST (test_seal_sequence)
{
    const v2v_suite_t *s = &V2V_SUITES[_i];
    v2_dir_t *dir = s_dir (s->suite, V2V_KEYS[0].c2s);
    uint8_t *wire = (uint8_t *) malloc (S_BIG), *body = (uint8_t *) malloc (S_BIG);
    for (int i = 0; i < V2V_SEQ_LEN; i++) {
        const v2v_record_t *r = &s->records[i];
        ck_assert_uint_eq (v2_dir_count (dir), (uint64_t) i);
        ck_assert_uint_eq (v2_record_size (r->body_len), r->wire_len);
        memset (wire, 0xee, S_BIG);
        int n = v2_seal (dir, r->type, s_seq_body (r, body), r->body_len, wire);
        ck_assert_int_eq (n, (int) r->wire_len);
        s_assert_wire (r, wire, (size_t) n);
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
    v2_dir_t *dir = s_dir (s->suite, V2V_KEYS[0].c2s);
    uint8_t *wire = (uint8_t *) malloc (S_BIG), *body = (uint8_t *) malloc (S_BIG);
    //  The long record's wire comes from sealing it (its bytes are checked
    //  against the vector's digest by test_seal_sequence).
    v2_dir_t *sealer = s_dir (s->suite, V2V_KEYS[0].c2s);
    for (int i = 0; i < V2V_SEQ_LEN; i++) {
        const v2v_record_t *r = &s->records[i];
        const uint8_t *b = s_seq_body (r, body);
        ck_assert_int_eq (v2_seal (sealer, r->type, b, r->body_len, wire), (int) r->wire_len);
        s_assert_wire (r, wire, r->wire_len);
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
    v2_dir_t *dir = s_dir (s->suite, V2V_KEYS[0].c2s);
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
    v2_dir_t *dir = s_dir (s->suite, V2V_KEYS[0].c2s);
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
    v2_dir_t *dir = s_dir (s->suite, V2V_KEYS[0].s2c);
    memcpy (wire, r->wire, r->wire_len);
    ck_assert_int_eq (v2_open (dir, wire, r->body_len + 1), -1);
    v2_dir_destroy (&dir);
    dir = s_dir (1 - s->suite, V2V_KEYS[0].c2s);
    memcpy (wire, s->records[0].wire, s->records[0].wire_len);
    int L = v2_peek_len (dir, wire);
    if (L > 0 && L <= 64 - 18)
        ck_assert_int_eq (v2_open (dir, wire, (size_t) L), -1);
    ck_assert_uint_eq (v2_dir_count (dir), 0);
    v2_dir_destroy (&dir);
}
END_TEST


//  --- First flights

static void
s_hello_of (const v2v_flight_t *f, v2_hello_t *hello)
{
    memset (hello, 0, sizeof *hello);
    hello->kind = (v2_kind_t) f->kind;
    hello->time = f->time;
    if (f->id)
        memcpy (hello->id, f->id, V2_ID_SIZE);
}

START_TEST (test_flight_make)
{
    const v2v_suite_t *s = &V2V_SUITES[_i / V2V_FLIGHTS];
    const v2v_flight_t *f = s_flight (s, _i % V2V_FLIGHTS);
    v2_hello_t hello;
    s_hello_of (f, &hello);
    ck_assert_uint_eq (v2_flight_size ((v2_kind_t) f->kind, f->padlen), f->wire_len);
    uint8_t out[2048];
    memset (out, 0xee, sizeof out);
    v2_dir_t *dir = NULL;
    int n = v2_flight_make ((v2_suite_t) s->suite, f->k, f->klen, f->salt, f->cs, &hello,
                            f->padlen, out, sizeof out, &dir);
    ck_assert_msg (n == (int) f->wire_len, "%s/%s: made %d bytes", s->name, f->name, n);
    ck_assert_mem_eq (out, f->wire, f->wire_len);
    ck_assert_uint_eq (out[n], 0xee);
    ck_assert_ptr_nonnull (dir);
    ck_assert_uint_eq (v2_dir_count (dir), 1);
    //  The direction goes on after the flight: with K32 and cs its record 1
    //  is the sequence's record 1 (c2s), or the server's first record (s2c).
    uint8_t rec[64];
    const uint8_t one = 0x5a;
    if (f->k == V2V_K32 && f->salt == V2V_CS) {
        ck_assert_int_eq (v2_seal (dir, V2_DATA, &one, 1, rec), (int) s->records[1].wire_len);
        ck_assert_mem_eq (rec, s->records[1].wire, s->records[1].wire_len);
    }
    else if (f->kind == V2_KIND_SERVER) {
        ck_assert_int_eq (v2_seal (dir, V2_DATA, &one, 1, rec), (int) s->s2c_rec1_len);
        ck_assert_mem_eq (rec, s->s2c_rec1, s->s2c_rec1_len);
    }
    v2_dir_destroy (&dir);
    //  Without dir_out, the same bytes.
    memset (out, 0, sizeof out);
    ck_assert_int_eq (v2_flight_make ((v2_suite_t) s->suite, f->k, f->klen, f->salt, f->cs,
                                      &hello, f->padlen, out, sizeof out, NULL), n);
    ck_assert_mem_eq (out, f->wire, f->wire_len);
    //  Too small a buffer: -1, no direction.
    dir = NULL;
    ck_assert_int_eq (v2_flight_make ((v2_suite_t) s->suite, f->k, f->klen, f->salt, f->cs,
                                      &hello, f->padlen, out, f->wire_len - 1, &dir), -1);
    ck_assert_ptr_null (dir);
}
END_TEST

START_TEST (test_flight_padding)
{
    size_t lo = V2_PAD_MAX, hi = 0;
    for (int i = 0; i < 2000; i++) {
        size_t p = v2_flight_padding ();
        ck_assert_uint_ge (p, V2_PAD_MIN);
        ck_assert_uint_le (p, V2_PAD_MAX);
        lo = p < lo ? p : lo;
        hi = p > hi ? p : hi;
    }
    //  Uniform over 1008 values: 2000 draws span most of the range.
    ck_assert_uint_lt (lo, V2_PAD_MIN + 100);
    ck_assert_uint_gt (hi, V2_PAD_MAX - 100);
}
END_TEST

static v2_flight_parser_t *
s_parser (const v2v_suite_t *s, const uint8_t *k, size_t klen, int kind)
{
    v2_flight_parser_t *p = v2_flight_parser_new ((v2_suite_t) s->suite, k, klen, (v2_kind_t) kind,
                                                  kind == V2_KIND_SERVER ? V2V_CS : NULL);
    ck_assert_ptr_nonnull (p);
    return p;
}

static void
s_check_parsed (const v2v_suite_t *s, const v2v_flight_t *f, v2_flight_parser_t *p)
{
    const v2_hello_t *h = v2_flight_parser_hello (p);
    ck_assert_ptr_nonnull (h);
    ck_assert_int_eq (h->kind, f->kind);
    ck_assert_uint_eq (h->time, f->time);
    if (f->id)
        ck_assert_mem_eq (h->id, f->id, V2_ID_SIZE);
    ck_assert_mem_eq (v2_flight_parser_salt (p), f->salt, V2_SALT_SIZE);
    v2_dir_t *dir = v2_flight_parser_take_dir (p);
    ck_assert_ptr_nonnull (dir);
    ck_assert_ptr_null (v2_flight_parser_take_dir (p));
    ck_assert_uint_eq (v2_dir_count (dir), 1);
    uint8_t rec[64];
    if (f->k == V2V_K32 && f->salt == V2V_CS) {
        //  The client's record 1 opens with the direction the parser gave.
        memcpy (rec, s->records[1].wire, s->records[1].wire_len);
        ck_assert_int_eq (v2_peek_len (dir, rec), 2);
        ck_assert_int_eq (v2_open (dir, rec, 2), 0);
        ck_assert_uint_eq (rec[3], 0x5a);
    }
    else if (f->kind == V2_KIND_SERVER) {
        memcpy (rec, s->s2c_rec1, s->s2c_rec1_len);
        ck_assert_int_eq (v2_open (dir, rec, 2), 0);
        ck_assert_uint_eq (rec[3], 0x5a);
    }
    v2_dir_destroy (&dir);
}

START_TEST (test_flight_parse)
{
    const v2v_suite_t *s = &V2V_SUITES[_i / V2V_FLIGHTS];
    const v2v_flight_t *f = s_flight (s, _i % V2V_FLIGHTS);
    size_t used = 99999;
    //  In one piece, with bytes after it: those are left unused.
    uint8_t buf[2048];
    memcpy (buf, f->wire, f->wire_len);
    memset (buf + f->wire_len, 0xab, 40);
    v2_flight_parser_t *p = s_parser (s, f->k, f->klen, f->kind);
    ck_assert_int_eq (v2_flight_parser_feed (p, buf, f->wire_len + 40, &used), V2_FLIGHT_OK);
    ck_assert_uint_eq (used, f->wire_len);
    //  Fed again: OK, nothing taken.
    used = 99999;
    ck_assert_int_eq (v2_flight_parser_feed (p, buf + f->wire_len, 40, &used), V2_FLIGHT_OK);
    ck_assert_uint_eq (used, 0);
    s_check_parsed (s, f, p);
    v2_flight_parser_destroy (&p);
    ck_assert_ptr_null (p);
    v2_flight_parser_destroy (&p);

    //  Exactly the flight.
    p = s_parser (s, f->k, f->klen, f->kind);
    ck_assert_int_eq (v2_flight_parser_feed (p, f->wire, f->wire_len, &used), V2_FLIGHT_OK);
    ck_assert_uint_eq (used, f->wire_len);
    v2_flight_parser_destroy (&p);

    //  Byte by byte: NEED_MORE, each byte taken, until the last.
    p = s_parser (s, f->k, f->klen, f->kind);
    for (size_t i = 0; i + 1 < f->wire_len; i++) {
        used = 99999;
        ck_assert_msg (v2_flight_parser_feed (p, f->wire + i, 1, &used) == V2_FLIGHT_NEED_MORE,
                       "%s/%s: not NEED_MORE after %zu bytes", s->name, f->name, i + 1);
        ck_assert_uint_eq (used, 1);
    }
    ck_assert_int_eq (v2_flight_parser_feed (p, f->wire + f->wire_len - 1, 1, &used), V2_FLIGHT_OK);
    ck_assert_uint_eq (used, 1);
    s_check_parsed (s, f, p);
    v2_flight_parser_destroy (&p);

    //  In two pieces at every cut, the second with bytes after the flight.
    for (size_t cut = 0; cut <= f->wire_len; cut++) {
        p = s_parser (s, f->k, f->klen, f->kind);
        v2_flight_result_t first = v2_flight_parser_feed (p, buf, cut, &used);
        if (cut < f->wire_len) {
            ck_assert_int_eq (first, V2_FLIGHT_NEED_MORE);
            ck_assert_uint_eq (used, cut);
            ck_assert_int_eq (v2_flight_parser_feed (p, buf + cut, f->wire_len + 40 - cut, &used),
                              V2_FLIGHT_OK);
            ck_assert_uint_eq (used, f->wire_len - cut);
        }
        else
            ck_assert_int_eq (first, V2_FLIGHT_OK);
        v2_flight_parser_destroy (&p);
    }

    //  Truncated (every length short of the flight): NEED_MORE, all taken.
    for (size_t len = 0; len < f->wire_len; len += 7) {
        p = s_parser (s, f->k, f->klen, f->kind);
        ck_assert_int_eq (v2_flight_parser_feed (p, f->wire, len, &used), V2_FLIGHT_NEED_MORE);
        ck_assert_uint_eq (used, len);
        v2_flight_parser_destroy (&p);
    }
}
END_TEST

//  Feeds data to a new parser of that kind and key; returns the result.
static v2_flight_result_t
s_parse_once (const v2v_suite_t *s, int suite, const uint8_t *k, size_t klen, int kind,
              const uint8_t *data, size_t len)
{
    v2_flight_parser_t *p = v2_flight_parser_new ((v2_suite_t) suite, k, klen, (v2_kind_t) kind,
                                                  kind == V2_KIND_SERVER ? V2V_CS : NULL);
    ck_assert_ptr_nonnull (p);
    (void) s;
    size_t used = 0;
    v2_flight_result_t result = v2_flight_parser_feed (p, data, len, &used);
    if (result == V2_FLIGHT_BAD) {
        //  Once BAD, always BAD, nothing taken, no direction.
        used = 99999;
        ck_assert_int_eq (v2_flight_parser_feed (p, data, len, &used), V2_FLIGHT_BAD);
        ck_assert_uint_eq (used, 0);
        ck_assert_ptr_null (v2_flight_parser_take_dir (p));
    }
    v2_flight_parser_destroy (&p);
    return result;
}

//  The flight followed by enough zeros for any length its ML may claim.
static uint8_t *
s_padded (const uint8_t *wire, size_t len, size_t *total)
{
    *total = len + V2_RECORD_MAX + V2_TAG_SIZE + 2;
    uint8_t *buf = (uint8_t *) calloc (1, *total);
    memcpy (buf, wire, len);
    return buf;
}

START_TEST (test_flight_flipped)
{
    //  One bit flipped at every byte of a client flight (salt, ML, C, T) and
    //  of the server's: BAD (with bytes enough after it that a changed
    //  length cannot leave it waiting).
    const v2v_suite_t *s = &V2V_SUITES[_i];
    static const int which[] = { V2V_F_TUNNEL16, V2V_F_HANDOVER, V2V_F_SERVER };
    for (size_t w = 0; w < sizeof which / sizeof which[0]; w++) {
        const v2v_flight_t *f = s_flight (s, which[w]);
        size_t total;
        uint8_t *buf = s_padded (f->wire, f->wire_len, &total);
        for (size_t pos = 0; pos < f->wire_len; pos++) {
            uint8_t bit = (uint8_t) (1u << ((pos * 3) % 8));
            buf[pos] ^= bit;
            v2_flight_result_t r = s_parse_once (s, s->suite, f->k, f->klen, f->kind, buf, total);
            ck_assert_msg (r == V2_FLIGHT_BAD, "%s/%s: a flip at byte %zu gave %d",
                           s->name, f->name, pos, (int) r);
            buf[pos] ^= bit;
        }
        ck_assert_int_eq (s_parse_once (s, s->suite, f->k, f->klen, f->kind, buf, total), V2_FLIGHT_OK);
        free (buf);
    }
}
END_TEST

START_TEST (test_flight_wrong)
{
    const v2v_suite_t *s = &V2V_SUITES[_i];
    const v2v_flight_t *t = s_flight (s, V2V_F_TUNNEL16);
    const v2v_flight_t *h = s_flight (s, V2V_F_HANDOVER);
    const v2v_flight_t *sv = s_flight (s, V2V_F_SERVER);
    size_t total;
    uint8_t *buf = s_padded (t->wire, t->wire_len, &total);
    //  Wrong key, wrong suite.
    ck_assert_int_eq (s_parse_once (s, s->suite, V2V_K16, 16, V2_KIND_TUNNEL, buf, total), V2_FLIGHT_BAD);
    ck_assert_int_eq (s_parse_once (s, 1 - s->suite, V2V_K32, 32, V2_KIND_TUNNEL, buf, total),
                      V2_FLIGHT_BAD);
    //  The wrong kind for the parser: authentic, but not what this port takes.
    ck_assert_int_eq (s_parse_once (s, s->suite, V2V_K32, 32, V2_KIND_HANDOVER, t->wire, t->wire_len),
                      V2_FLIGHT_BAD);
    ck_assert_int_eq (s_parse_once (s, s->suite, V2V_K32, 32, V2_KIND_TUNNEL, h->wire, h->wire_len),
                      V2_FLIGHT_BAD);
    free (buf);
    //  A client flight where the client expects the server's, and the server's
    //  at a server: the keys differ (c2s vs s2c), so the tag fails.
    buf = s_padded (t->wire, t->wire_len, &total);
    ck_assert_int_eq (s_parse_once (s, s->suite, V2V_K32, 32, V2_KIND_SERVER, buf, total), V2_FLIGHT_BAD);
    free (buf);
    buf = s_padded (sv->wire, sv->wire_len, &total);
    ck_assert_int_eq (s_parse_once (s, s->suite, V2V_K32, 32, V2_KIND_TUNNEL, buf, total), V2_FLIGHT_BAD);
    free (buf);
    //  The server's flight bound to another cs: BAD.
    uint8_t other_cs[V2_SALT_SIZE];
    memcpy (other_cs, V2V_CS, sizeof other_cs);
    other_cs[0] ^= 0x80;
    v2_flight_parser_t *p = v2_flight_parser_new ((v2_suite_t) s->suite, V2V_K32, 32, V2_KIND_SERVER,
                                                  other_cs);
    ck_assert_ptr_nonnull (p);
    buf = s_padded (sv->wire, sv->wire_len, &total);
    size_t used;
    ck_assert_int_eq (v2_flight_parser_feed (p, buf, total, &used), V2_FLIGHT_BAD);
    v2_flight_parser_destroy (&p);
    free (buf);
}
END_TEST

START_TEST (test_flight_malformed)
{
    //  Authentic records 0 that are no valid HELLO (version 3 and 1, kind 0
    //  or SERVER, type DATA or PADDING, a body of 9 bytes or none), and
    //  lengths 0, 16385 and 65535: BAD, the lengths at once (34 bytes).
    const v2v_suite_t *s = &V2V_SUITES[_i];
    for (int j = 0; j < V2V_BAD_TUNNEL; j++) {
        const v2v_bad_t *b = &s->bad_tunnel[j];
        v2_flight_result_t r = s_parse_once (s, s->suite, V2V_K32, 32, V2_KIND_TUNNEL, b->wire,
                                             b->wire_len);
        ck_assert_msg (r == V2_FLIGHT_BAD, "%s/%s gave %d", s->name, b->name, (int) r);
    }
    //  A HANDOVER without its 16-byte id (15 bytes of it, none).
    for (int j = 0; j < V2V_BAD_HANDOVER; j++) {
        const v2v_bad_t *b = &s->bad_handover[j];
        v2_flight_result_t r = s_parse_once (s, s->suite, V2V_K32, 32, V2_KIND_HANDOVER, b->wire,
                                             b->wire_len);
        ck_assert_msg (r == V2_FLIGHT_BAD, "%s/%s gave %d", s->name, b->name, (int) r);
    }
    //  Garbage: zeros (enough for any length they unmask to), and the salt alone.
    size_t total = V2_SALT_SIZE + 2 + V2_RECORD_MAX + V2_TAG_SIZE;
    uint8_t *zeros = (uint8_t *) calloc (1, total);
    ck_assert_int_eq (s_parse_once (s, s->suite, V2V_K32, 32, V2_KIND_TUNNEL, zeros, total),
                      V2_FLIGHT_BAD);
    free (zeros);
    ck_assert_int_eq (s_parse_once (s, s->suite, V2V_K32, 32, V2_KIND_TUNNEL, V2V_CS, 32),
                      V2_FLIGHT_NEED_MORE);
}
END_TEST


//  --- The replay filter

static void
s_salt (uint8_t salt[REPLAY_SALT_SIZE], uint32_t n, uint8_t tag)
{
    memset (salt, tag, REPLAY_SALT_SIZE);
    salt[0] = (uint8_t) (n >> 24);
    salt[1] = (uint8_t) (n >> 16);
    salt[2] = (uint8_t) (n >> 8);
    salt[3] = (uint8_t) n;
}

START_TEST (test_replay_basic)
{
    replay_filter_t *f = replay_filter_new (16, 60);
    ck_assert_ptr_nonnull (f);
    uint8_t a[32], b[32];
    s_salt (a, 1, 0);
    s_salt (b, 2, 0);
    ck_assert_uint_eq (replay_filter_size (f), 0);
    ck_assert_int_eq (replay_filter_check (f, a, 1000), REPLAY_FRESH);
    ck_assert_int_eq (replay_filter_check (f, a, 1000), REPLAY_SEEN);
    ck_assert_int_eq (replay_filter_check (f, a, 1001), REPLAY_SEEN);
    ck_assert_int_eq (replay_filter_check (f, b, 1001), REPLAY_FRESH);
    ck_assert_uint_eq (replay_filter_size (f), 2);
    //  One bit off is another salt.
    a[31] ^= 1;
    ck_assert_int_eq (replay_filter_check (f, a, 1002), REPLAY_FRESH);
    ck_assert_uint_eq (replay_filter_size (f), 3);
    replay_filter_destroy (&f);
    ck_assert_ptr_null (f);
    replay_filter_destroy (&f);
}
END_TEST

START_TEST (test_replay_periods)
{
    const unsigned P = 60;
    uint8_t a[32], b[32], c[32];
    s_salt (a, 1, 0x11);
    s_salt (b, 2, 0x11);
    s_salt (c, 3, 0x11);
    //  Remembered for at least one period, whatever else happens meanwhile.
    replay_filter_t *f = replay_filter_new (64, P);
    ck_assert_int_eq (replay_filter_check (f, a, 1000), REPLAY_FRESH);
    ck_assert_int_eq (replay_filter_check (f, b, 1000 + P / 2), REPLAY_FRESH);
    ck_assert_int_eq (replay_filter_check (f, a, 1000 + P - 1), REPLAY_SEEN);
    ck_assert_int_eq (replay_filter_check (f, b, 1000 + P / 2 + P - 1), REPLAY_SEEN);
    //  ... and forgotten after two periods.
    ck_assert_int_eq (replay_filter_check (f, a, 1000 + 2 * P), REPLAY_FRESH);
    ck_assert_int_eq (replay_filter_check (f, b, 1000 + P / 2 + 2 * P), REPLAY_FRESH);
    replay_filter_destroy (&f);

    //  Nothing in between: a jump of two periods forgets at once.
    f = replay_filter_new (64, P);
    ck_assert_int_eq (replay_filter_check (f, a, 5000), REPLAY_FRESH);
    ck_assert_int_eq (replay_filter_check (f, a, 5000 + 2 * P), REPLAY_FRESH);
    ck_assert_int_eq (replay_filter_check (f, a, 5000 + 2 * P), REPLAY_SEEN);
    //  A long silence forgets everything.
    ck_assert_int_eq (replay_filter_check (f, b, 5000 + 2 * P + 1), REPLAY_FRESH);
    ck_assert_int_eq (replay_filter_check (f, c, 5000 + 100 * P), REPLAY_FRESH);
    ck_assert_int_eq (replay_filter_check (f, a, 5000 + 100 * P), REPLAY_FRESH);
    ck_assert_int_eq (replay_filter_check (f, b, 5000 + 100 * P), REPLAY_FRESH);
    ck_assert_uint_eq (replay_filter_size (f), 3);
    replay_filter_destroy (&f);

    //  The spec's window: a salt seen 30 s ago (the time window) is a replay
    //  with the implementation's 60 s generations, at any phase.
    for (uint64_t t0 = 100000; t0 < 100000 + P; t0 += 7) {
        f = replay_filter_new (64, P);
        ck_assert_int_eq (replay_filter_check (f, c, 100000), REPLAY_FRESH);
        ck_assert_int_eq (replay_filter_check (f, a, t0), REPLAY_FRESH);
        ck_assert_int_eq (replay_filter_check (f, a, t0 + 2 * V2_TIME_WINDOW_S - 1), REPLAY_SEEN);
        replay_filter_destroy (&f);
    }
}
END_TEST

START_TEST (test_replay_full)
{
    replay_filter_t *f = replay_filter_new (4, 60);
    uint8_t salt[32];
    for (uint32_t n = 0; n < 4; n++) {
        s_salt (salt, n, 0x22);
        ck_assert_int_eq (replay_filter_check (f, salt, 1000 + n), REPLAY_FRESH);
    }
    //  The generation is full: a new salt is refused, not remembered.
    s_salt (salt, 4, 0x22);
    ck_assert_int_eq (replay_filter_check (f, salt, 1010), REPLAY_FULL);
    ck_assert_int_eq (replay_filter_check (f, salt, 1011), REPLAY_FULL);
    ck_assert_uint_eq (replay_filter_size (f), 4);
    //  Nothing was forgotten to make room.
    for (uint32_t n = 0; n < 4; n++) {
        s_salt (salt, n, 0x22);
        replay_result_t r = replay_filter_check (f, salt, 1012);
        ck_assert_msg (r != REPLAY_FRESH, "salt %u was forgotten when the filter filled", n);
    }
    //  A period later there is a new generation: room again, and the old
    //  salts are still replays.
    s_salt (salt, 4, 0x22);
    ck_assert_int_eq (replay_filter_check (f, salt, 1000 + 60 + 5), REPLAY_FRESH);
    s_salt (salt, 0, 0x22);
    ck_assert_int_eq (replay_filter_check (f, salt, 1000 + 60 + 5), REPLAY_SEEN);
    replay_filter_destroy (&f);
}
END_TEST

#define S_PER_THREAD 20000

typedef struct {
    replay_filter_t *filter;
    uint8_t tag;
    int fresh;
} s_inserter_t;

static void *
s_insert (void *arg)
{
    s_inserter_t *self = (s_inserter_t *) arg;
    uint8_t salt[32];
    for (uint32_t n = 0; n < S_PER_THREAD; n++) {
        s_salt (salt, n, self->tag);
        if (replay_filter_check (self->filter, salt, 7000) == REPLAY_FRESH)
            self->fresh++;
    }
    return NULL;
}

START_TEST (test_replay_threads)
{
    //  Two threads insert distinct salts at once: none is lost or taken for
    //  a replay.
    replay_filter_t *f = replay_filter_new (65536, 60);
    s_inserter_t a = { f, 0x33, 0 }, b = { f, 0x44, 0 };
    pthread_t ta, tb;
    ck_assert_int_eq (pthread_create (&ta, NULL, s_insert, &a), 0);
    ck_assert_int_eq (pthread_create (&tb, NULL, s_insert, &b), 0);
    pthread_join (ta, NULL);
    pthread_join (tb, NULL);
    ck_assert_int_eq (a.fresh, S_PER_THREAD);
    ck_assert_int_eq (b.fresh, S_PER_THREAD);
    ck_assert_uint_eq (replay_filter_size (f), 2 * S_PER_THREAD);
    uint8_t salt[32];
    for (uint32_t n = 0; n < S_PER_THREAD; n++) {
        s_salt (salt, n, 0x33);
        ck_assert_int_eq (replay_filter_check (f, salt, 7001), REPLAY_SEEN);
        s_salt (salt, n, 0x44);
        ck_assert_int_eq (replay_filter_check (f, salt, 7001), REPLAY_SEEN);
    }
    replay_filter_destroy (&f);
}
END_TEST


//  --- v2_node in a stack: a client and a server from real flights

typedef struct {
    uint8_t *inner, *outer;     //  bytes that left each end
    size_t inner_len, outer_len, cap;
    unsigned commands;
    uint64_t command[16];
    unsigned other_events;
} s_sink_t;

static void
s_sink_data (void *ctx, node_side_t to, uint8_t *data, size_t len, unsigned flags)
{
    (void) flags;
    s_sink_t *sink = (s_sink_t *) ctx;
    uint8_t *buf = to == NODE_INNER ? sink->inner : sink->outer;
    size_t *used = to == NODE_INNER ? &sink->inner_len : &sink->outer_len;
    ck_assert_uint_le (*used + len, sink->cap);
    if (len)
        memcpy (buf + *used, data, len);
    *used += len;
}

static void
s_sink_event (void *ctx, node_event_t event, uint64_t value)
{
    s_sink_t *sink = (s_sink_t *) ctx;
    if (event == NODE_COMMAND && sink->commands < 16)
        sink->command[sink->commands++] = value;
    else
        sink->other_events++;
}

static void
s_sink_init (s_sink_t *sink, size_t cap)
{
    memset (sink, 0, sizeof *sink);
    sink->cap = cap;
    sink->inner = (uint8_t *) malloc (cap);
    sink->outer = (uint8_t *) malloc (cap);
}

static void
s_sink_reset (s_sink_t *sink)
{
    sink->inner_len = sink->outer_len = 0;
    sink->commands = sink->other_events = 0;
}

static void
s_sink_free (s_sink_t *sink)
{
    free (sink->inner);
    free (sink->outer);
}

typedef struct {
    int suite;
    node_stack_t *client, *server;
    v2_node_t *cnode, *snode;
    s_sink_t cs, ss;            //  what left the client's and the server's stack
    node_out_t cout, sout;
    uint8_t sflight[2048];      //  the server's first flight, for the client
    size_t sflight_len;
} s_tunnel_t;

#define S_SINK_CAP (1u << 20)

//  A client and a server of one tunnel (K32, cs, ss of the vectors): the
//  client's flight made and parsed, the server's made; the client has not
//  read it yet.
static void
s_tunnel_new (s_tunnel_t *t, int suite)
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
    s_sink_init (&t->cs, S_SINK_CAP);
    s_sink_init (&t->ss, S_SINK_CAP);
    t->cout = (node_out_t) { s_sink_data, s_sink_event, &t->cs };
    t->sout = (node_out_t) { s_sink_data, s_sink_event, &t->ss };
}

static void
s_tunnel_destroy (s_tunnel_t *t)
{
    node_stack_destroy (&t->client);        //  and the nodes
    node_stack_destroy (&t->server);
    s_sink_free (&t->cs);
    s_sink_free (&t->ss);
}

//  Feeds a copy (the node may work in place).
static int
s_feed (node_stack_t *stack, node_side_t from, const uint8_t *data, size_t len, unsigned flags,
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
static int
s_feed_decided (node_stack_t *stack, const uint8_t *data, size_t len, const node_out_t *out)
{
    int rc = s_feed (stack, NODE_OUTER, data, len, 0, out);
    if (rc == 0) {
        size_t more = V2_SALT_SIZE + 2 + V2_RECORD_MAX + V2_TAG_SIZE;
        uint8_t *zeros = (uint8_t *) calloc (1, more);
        rc = node_stack_recv (stack, NODE_OUTER, zeros, more, 0, out);
        free (zeros);
    }
    return rc;
}

//  The client reads the server's flight.
static void
s_tunnel_up (s_tunnel_t *t)
{
    s_sink_reset (&t->cs);
    ck_assert_int_eq (s_feed (t->client, NODE_OUTER, t->sflight, t->sflight_len, 0, &t->cout), 0);
    ck_assert_uint_eq (t->cs.inner_len, 0);
    ck_assert_uint_eq (t->cs.outer_len, 0);
    ck_assert (v2_node_peer_known (t->cnode));
}

START_TEST (test_node_handover_ids)
{
    s_tunnel_t t;
    s_tunnel_new (&t, _i);
    const v2v_keys_t *kv = &V2V_KEYS[0];
    uint8_t id[V2_ID_SIZE], id2[V2_ID_SIZE];
    ck_assert (v2_node_peer_known (t.snode));
    ck_assert (!v2_node_peer_known (t.cnode));
    ck_assert_int_eq (v2_node_handover_id (t.cnode, 1, id), -1);
    //  The server's flight byte by byte: known only after its last byte.
    for (size_t i = 0; i < t.sflight_len; i++) {
        ck_assert (!v2_node_peer_known (t.cnode));
        ck_assert_int_eq (s_feed (t.client, NODE_OUTER, t.sflight + i, 1, 0, &t.cout), 0);
    }
    ck_assert (v2_node_peer_known (t.cnode));
    ck_assert_uint_eq (t.cs.inner_len, 0);
    for (int j = 0; j < 3; j++) {
        ck_assert_int_eq (v2_node_handover_id (t.cnode, kv->id_n[j], id), 0);
        ck_assert_int_eq (v2_node_handover_id (t.snode, kv->id_n[j], id2), 0);
        ck_assert_mem_eq (id, id2, V2_ID_SIZE);
        ck_assert_mem_eq (id, kv->id[j], V2_ID_SIZE);
    }
    s_tunnel_destroy (&t);
}
END_TEST

START_TEST (test_node_vectors)
{
    //  The nodes' first DATA records are the vectors' (records 1 of c2s
    //  and s2c), and the server's flight comes with its DATA in one chunk.
    const v2v_suite_t *s = &V2V_SUITES[_i];
    s_tunnel_t t;
    s_tunnel_new (&t, _i);
    const uint8_t one = 0x5a;
    ck_assert_int_eq (s_feed (t.client, NODE_INNER, &one, 1, 0, &t.cout), 0);
    ck_assert_uint_eq (t.cs.outer_len, s->records[1].wire_len);
    ck_assert_mem_eq (t.cs.outer, s->records[1].wire, t.cs.outer_len);
    ck_assert_int_eq (s_feed (t.server, NODE_OUTER, t.cs.outer, t.cs.outer_len, 0, &t.sout), 0);
    ck_assert_uint_eq (t.ss.inner_len, 1);
    ck_assert_uint_eq (t.ss.inner[0], 0x5a);
    ck_assert_int_eq (s_feed (t.server, NODE_INNER, &one, 1, 0, &t.sout), 0);
    ck_assert_uint_eq (t.ss.outer_len, s->s2c_rec1_len);
    ck_assert_mem_eq (t.ss.outer, s->s2c_rec1, s->s2c_rec1_len);
    uint8_t both[2048];
    memcpy (both, t.sflight, t.sflight_len);
    memcpy (both + t.sflight_len, s->s2c_rec1, s->s2c_rec1_len);
    ck_assert_int_eq (s_feed (t.client, NODE_OUTER, both, t.sflight_len + s->s2c_rec1_len, 0, &t.cout), 0);
    ck_assert_uint_eq (t.cs.inner_len, 1);
    ck_assert_uint_eq (t.cs.inner[0], 0x5a);
    s_tunnel_destroy (&t);
}
END_TEST

//  Sends data (in two chunks, cut at first) from one side's inner end and
//  feeds the wire to the other side's outer end split at cut; the other
//  side's inner end gets data back.
static void
s_one_way (node_stack_t *from, s_sink_t *from_sink, const node_out_t *from_out,
           node_stack_t *to, s_sink_t *to_sink, const node_out_t *to_out,
           const uint8_t *data, size_t len, size_t first, size_t cut)
{
    s_sink_reset (from_sink);
    s_sink_reset (to_sink);
    ck_assert_int_eq (s_feed (from, NODE_INNER, data, first, 0, from_out), 0);
    ck_assert_int_eq (s_feed (from, NODE_INNER, data + first, len - first, 0, from_out), 0);
    const uint8_t *wire = from_sink->outer;
    size_t wlen = from_sink->outer_len;
    ck_assert_uint_ge (wlen, len + V2_OVERHEAD);
    if (cut > wlen)
        cut = wlen;
    ck_assert_int_eq (s_feed (to, NODE_OUTER, wire, cut, 0, to_out), 0);
    ck_assert_int_eq (s_feed (to, NODE_OUTER, wire + cut, wlen - cut, 0, to_out), 0);
    ck_assert_uint_eq (to_sink->inner_len, len);
    ck_assert_mem_eq (to_sink->inner, data, len);
    ck_assert_uint_eq (to_sink->outer_len, 0);
    ck_assert_uint_eq (to_sink->commands, 0);
}

START_TEST (test_node_data_split)
{
    s_tunnel_t t;
    s_tunnel_new (&t, _i);
    uint8_t data[100];
    for (size_t j = 0; j < sizeof data; j++)
        data[j] = (uint8_t) (j * 7 + 1);
    //  The client sends before it has the server's flight (no round trip).
    s_one_way (t.client, &t.cs, &t.cout, t.server, &t.ss, &t.sout, data, sizeof data, 40, 0);
    s_tunnel_up (&t);
    //  Two records (40 and 60 bytes: 59 + 79 wire bytes), cut at every offset.
    size_t wire = 2 * V2_OVERHEAD + sizeof data;
    for (size_t cut = 0; cut <= wire; cut++) {
        s_one_way (t.client, &t.cs, &t.cout, t.server, &t.ss, &t.sout, data, sizeof data, 40, cut);
        s_one_way (t.server, &t.ss, &t.sout, t.client, &t.cs, &t.cout, data, sizeof data, 60, cut);
    }
    //  Byte by byte.
    s_sink_reset (&t.cs);
    s_sink_reset (&t.ss);
    ck_assert_int_eq (s_feed (t.server, NODE_INNER, data, sizeof data, 0, &t.sout), 0);
    ck_assert_uint_eq (t.ss.outer_len, sizeof data + V2_OVERHEAD);
    for (size_t i = 0; i < t.ss.outer_len; i++) {
        ck_assert_int_eq (s_feed (t.client, NODE_OUTER, t.ss.outer + i, 1, 0, &t.cout), 0);
        if (i + 1 < t.ss.outer_len)
            ck_assert_uint_eq (t.cs.inner_len, 0);      //  nothing before the tag
    }
    ck_assert_uint_eq (t.cs.inner_len, sizeof data);
    ck_assert_mem_eq (t.cs.inner, data, sizeof data);
    s_tunnel_destroy (&t);
}
END_TEST

START_TEST (test_node_long_chunks)
{
    //  A chunk longer than a record becomes several; both ways, whole.
    s_tunnel_t t;
    s_tunnel_new (&t, _i);
    s_tunnel_up (&t);
    size_t len = 3 * V2_BODY_MAX + 1000;
    uint8_t *data = (uint8_t *) malloc (len);
    for (size_t j = 0; j < len; j++)
        data[j] = (uint8_t) (j ^ (j >> 8));
    s_one_way (t.client, &t.cs, &t.cout, t.server, &t.ss, &t.sout, data, len, len, 12345);
    ck_assert_uint_eq (t.cs.outer_len, len + 4 * V2_OVERHEAD);
    s_one_way (t.server, &t.ss, &t.sout, t.client, &t.cs, &t.cout, data, len, 1, 40000);
    ck_assert_uint_le (t.ss.outer_len, len + 5 * V2_OVERHEAD);
    free (data);
    s_tunnel_destroy (&t);
}
END_TEST

START_TEST (test_node_padding)
{
    //  A NODE_PADDING chunk becomes one record of its size; the receiver
    //  drops it, delivers nothing and reports nothing.
    s_tunnel_t t;
    s_tunnel_new (&t, _i);
    s_tunnel_up (&t);
    uint8_t pad[300] = { 0 };
    ck_assert_int_eq (s_feed (t.client, NODE_INNER, pad, 100, NODE_PADDING, &t.cout), 0);
    ck_assert_uint_eq (t.cs.outer_len, 100);
    ck_assert_int_eq (s_feed (t.client, NODE_INNER, pad, 3, NODE_PADDING, &t.cout), 0);
    ck_assert_uint_eq (t.cs.outer_len, 100 + V2_OVERHEAD);     //  at least one record
    ck_assert_int_eq (s_feed (t.server, NODE_OUTER, t.cs.outer, t.cs.outer_len, 0, &t.sout), 0);
    ck_assert_uint_eq (t.ss.inner_len, 0);
    ck_assert_uint_eq (t.ss.commands, 0);
    ck_assert_uint_eq (t.ss.other_events, 0);
    //  The stream goes on after it.
    const uint8_t hi[] = "after the padding";
    s_one_way (t.client, &t.cs, &t.cout, t.server, &t.ss, &t.sout, hi, sizeof hi, 5, 30);
    //  The other way.
    s_sink_reset (&t.ss);
    s_sink_reset (&t.cs);
    ck_assert_int_eq (s_feed (t.server, NODE_INNER, pad, 300, NODE_PADDING, &t.sout), 0);
    ck_assert_uint_eq (t.ss.outer_len, 300);
    ck_assert_int_eq (s_feed (t.client, NODE_OUTER, t.ss.outer, t.ss.outer_len, 0, &t.cout), 0);
    ck_assert_uint_eq (t.cs.inner_len, 0);
    s_tunnel_destroy (&t);
}
END_TEST

START_TEST (test_node_end)
{
    //  NODE_END seals an END record (19 bytes); the receiver reports
    //  NODE_ENDED and takes nothing after it; the sender seals nothing after it.
    s_tunnel_t t;
    s_tunnel_new (&t, _i);
    s_tunnel_up (&t);
    const uint8_t last[] = "the last bytes";
    ck_assert_int_eq (s_feed (t.client, NODE_INNER, last, sizeof last, 0, &t.cout), 0);
    size_t before = t.cs.outer_len;
    ck_assert_int_eq (s_feed (t.client, NODE_INNER, NULL, 0, NODE_END, &t.cout), 0);
    ck_assert_uint_eq (t.cs.outer_len, before + V2_OVERHEAD);
    ck_assert_int_eq (s_feed (t.server, NODE_OUTER, t.cs.outer, t.cs.outer_len, 0, &t.sout), 0);
    ck_assert_uint_eq (t.ss.inner_len, sizeof last);
    ck_assert_mem_eq (t.ss.inner, last, sizeof last);
    ck_assert_uint_eq (t.ss.other_events, 1);           //  NODE_ENDED
    //  The other way round.
    s_sink_reset (&t.ss);
    s_sink_reset (&t.cs);
    ck_assert_int_eq (s_feed (t.server, NODE_INNER, NULL, 0, NODE_END, &t.sout), 0);
    size_t end_at = t.ss.outer_len;
    //  The same END again: a record out of its number (and after the end).
    ck_assert_int_eq (s_feed (t.client, NODE_OUTER, t.ss.outer, end_at, 0, &t.cout), 0);
    ck_assert_uint_eq (t.cs.other_events, 1);
    ck_assert_int_eq (s_feed (t.client, NODE_OUTER, t.ss.outer, end_at, 0, &t.cout), -1);
    s_tunnel_destroy (&t);
    //  Nothing is sealed after our end (the stack breaks).
    s_tunnel_new (&t, _i);
    s_tunnel_up (&t);
    ck_assert_int_eq (s_feed (t.client, NODE_INNER, NULL, 0, NODE_END, &t.cout), 0);
    ck_assert_int_eq (s_feed (t.client, NODE_INNER, last, sizeof last, 0, &t.cout), -1);
    s_tunnel_destroy (&t);

    //  A record behind an END, each authentic (records 1 and 2 of c2s,
    //  sealed with OpenSSL here): the END is taken, the DATA is refused.
    const v2v_suite_t *s = &V2V_SUITES[_i];
    uint8_t wire[2 * (V2_OVERHEAD + 10)];
    size_t n1 = s_ossl_seal (s->suite, V2V_KEYS[0].c2s, s->masks[1].nonce, s->masks[1].mask,
                             V2_END, (const uint8_t *) "", 0, wire);
    size_t n2 = s_ossl_seal (s->suite, V2V_KEYS[0].c2s, s->masks[2].nonce, s->masks[2].mask,
                             V2_DATA, (const uint8_t *) "0123456789", 10, wire + n1);
    s_tunnel_new (&t, _i);
    ck_assert_int_eq (s_feed (t.server, NODE_OUTER, wire, n1, 0, &t.sout), 0);
    ck_assert_uint_eq (t.ss.other_events, 1);
    ck_assert_int_eq (s_feed (t.server, NODE_OUTER, wire + n1, n2, 0, &t.sout), -1);
    ck_assert_uint_eq (t.ss.inner_len, 0);
    s_tunnel_destroy (&t);
}
END_TEST

START_TEST (test_node_commands)
{
    //  A NODE_CONTROL chunk is a COMMAND record: NODE_COMMAND with its code
    //  at the other side, nothing in the stream.
    s_tunnel_t t;
    s_tunnel_new (&t, _i);
    s_tunnel_up (&t);
    const uint8_t r2l = 2, complete = 4;
    const uint8_t data[] = "data, then a command";
    ck_assert_int_eq (s_feed (t.server, NODE_INNER, data, 4, 0, &t.sout), 0);
    ck_assert_int_eq (s_feed (t.server, NODE_INNER, &r2l, 1, NODE_CONTROL, &t.sout), 0);
    ck_assert_int_eq (s_feed (t.server, NODE_INNER, data + 4, sizeof data - 4, 0, &t.sout), 0);
    ck_assert_int_eq (s_feed (t.client, NODE_OUTER, t.ss.outer, t.ss.outer_len, 0, &t.cout), 0);
    ck_assert_uint_eq (t.cs.commands, 1);
    ck_assert_uint_eq (t.cs.command[0], 2);
    ck_assert_uint_eq (t.cs.inner_len, sizeof data);
    ck_assert_mem_eq (t.cs.inner, data, sizeof data);
    //  The other way, fed byte by byte.
    s_sink_reset (&t.cs);
    ck_assert_int_eq (s_feed (t.client, NODE_INNER, &complete, 1, NODE_CONTROL, &t.cout), 0);
    ck_assert_uint_eq (t.cs.outer_len, 1 + V2_OVERHEAD);
    for (size_t i = 0; i < t.cs.outer_len; i++)
        ck_assert_int_eq (s_feed (t.server, NODE_OUTER, t.cs.outer + i, 1, 0, &t.sout), 0);
    ck_assert_uint_eq (t.ss.commands, 1);
    ck_assert_uint_eq (t.ss.command[0], 4);
    ck_assert_uint_eq (t.ss.inner_len, 0);
    s_tunnel_destroy (&t);
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
        s_tunnel_t t;
        s_tunnel_new (&t, _i);
        s_tunnel_up (&t);
        ck_assert_int_eq (s_feed (t.client, NODE_INNER, good, sizeof good, 0, &t.cout), 0);
        size_t first = t.cs.outer_len;
        ck_assert_int_eq (s_feed (t.client, NODE_INNER, bad, sizeof bad, 0, &t.cout), 0);
        ck_assert_uint_eq (t.cs.outer_len, first + pos_max);
        t.cs.outer[first + pos] ^= (uint8_t) (1u << (pos % 8));
        //  Split inside the bad record too.
        size_t cut = first + (pos * 5) % pos_max;
        ck_assert_int_eq (s_feed (t.server, NODE_OUTER, t.cs.outer, cut, 0, &t.sout), 0);
        //  A changed length may leave the receiver waiting for more (a flip
        //  in ML): the tag of that record fails then.
        int rc = s_feed (t.server, NODE_OUTER, t.cs.outer + cut, t.cs.outer_len - cut, 0, &t.sout);
        if (pos >= 2)
            ck_assert_msg (rc == -1, "a flip at byte %zu of the record went through", pos);
        else if (rc == 0)
            ck_assert_int_eq (s_feed_decided (t.server, NULL, 0, &t.sout), -1);
        ck_assert_uint_eq (t.ss.inner_len, sizeof good);
        ck_assert_mem_eq (t.ss.inner, good, sizeof good);
        ck_assert_ptr_nonnull (node_stack_failed (t.server));
        //  Broken for good.
        ck_assert_int_eq (s_feed (t.server, NODE_OUTER, t.cs.outer, first, 0, &t.sout), -1);
        ck_assert_uint_eq (t.ss.inner_len, sizeof good);
        s_tunnel_destroy (&t);
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
        s_tunnel_t t;
        s_tunnel_new (&t, _i);
        ck_assert_int_eq (s_feed (t.server, NODE_OUTER, mls[j], 2, 0, &t.sout), -1);
        ck_assert_uint_eq (t.ss.inner_len, 0);
        s_tunnel_destroy (&t);
    }
    //  Records 1 of c2s with types HELLO, END with a body (an end has
    //  none), 0x07, 0xff, sealed with OpenSSL here (v2_seal need not make
    //  what no sender sends).
    const uint8_t types[] = { V2_HELLO, 0x04, 0x07, 0xff };
    for (size_t j = 0; j < sizeof types; j++) {
        s_tunnel_t t;
        s_tunnel_new (&t, _i);
        uint8_t wire[128];
        size_t n = s_ossl_seal (s->suite, V2V_KEYS[0].c2s, s->masks[1].nonce, s->masks[1].mask,
                                types[j], (const uint8_t *) "0123456789", 10, wire);
        ck_assert_uint_eq (n, 10 + V2_OVERHEAD);
        ck_assert_int_eq (s_feed (t.server, NODE_OUTER, wire, n, 0, &t.sout), -1);
        ck_assert_uint_eq (t.ss.inner_len, 0);
        ck_assert_uint_eq (t.ss.commands, 0);
        s_tunnel_destroy (&t);
    }
}
END_TEST

START_TEST (test_node_server_flight)
{
    //  The client takes nothing before the server's HELLO: a record 0 of
    //  type DATA there, the client's own flight echoed back, or the server's
    //  flight of another tunnel (bound to another cs) break the stack.
    const v2v_suite_t *s = &V2V_SUITES[_i];
    s_tunnel_t t;
    s_tunnel_new (&t, _i);
    ck_assert_int_eq (s_feed (t.client, NODE_OUTER, s->bad_server_data, s->bad_server_data_len, 0,
                              &t.cout), -1);
    ck_assert_ptr_nonnull (node_stack_failed (t.client));
    ck_assert_uint_eq (t.cs.inner_len, 0);
    ck_assert (!v2_node_peer_known (t.cnode));
    uint8_t id[V2_ID_SIZE];
    ck_assert_int_eq (v2_node_handover_id (t.cnode, 1, id), -1);
    s_tunnel_destroy (&t);

    s_tunnel_new (&t, _i);
    const v2v_flight_t *cf = s_flight (s, V2V_F_TUNNEL100);
    ck_assert_int_eq (s_feed_decided (t.client, cf->wire, cf->wire_len, &t.cout), -1);
    ck_assert_uint_eq (t.cs.inner_len, 0);
    s_tunnel_destroy (&t);

    s_tunnel_new (&t, _i);
    uint8_t other_cs[V2_SALT_SIZE], other[2048];
    memcpy (other_cs, V2V_CS, sizeof other_cs);
    other_cs[5] ^= 4;
    v2_hello_t shello = { .kind = V2_KIND_SERVER, .time = V2V_TIME_SERVER };
    int n = v2_flight_make ((v2_suite_t) s->suite, V2V_K32, 32, V2V_SS, other_cs, &shello, 50, other,
                            sizeof other, NULL);
    ck_assert_int_gt (n, 0);
    ck_assert_int_eq (s_feed_decided (t.client, other, (size_t) n, &t.cout), -1);
    s_tunnel_destroy (&t);

    //  A server's DATA (its record 1) with no flight before it is not one.
    s_tunnel_new (&t, _i);
    uint8_t lone[2048];
    memcpy (lone, s->s2c_rec1, s->s2c_rec1_len);
    memcpy (lone + s->s2c_rec1_len, t.sflight, t.sflight_len);
    ck_assert_int_eq (s_feed_decided (t.client, lone, s->s2c_rec1_len + t.sflight_len, &t.cout), -1);
    ck_assert_uint_eq (t.cs.inner_len, 0);
    s_tunnel_destroy (&t);
}
END_TEST


int
main (void)
{
    Suite *suite = suite_create ("v2");
    TCase *tc = tcase_create ("vectors");
    tcase_add_loop_test (tc, test_vectors_openssl_keys, 0, 2);
    tcase_add_loop_test (tc, test_vectors_openssl_records, 0, 2);
    tcase_add_test (tc, test_suite_names);
    tcase_add_loop_test (tc, test_keys, 0, 2);
    tcase_add_test (tc, test_keys_24_and_random);
    suite_add_tcase (suite, tc);

    tc = tcase_create ("records");
    tcase_add_loop_test (tc, test_seal_sequence, 0, 2);
    tcase_add_loop_test (tc, test_open_sequence, 0, 2);
    tcase_add_loop_test (tc, test_peek_len_range, 0, 2);
    tcase_add_loop_test (tc, test_open_flipped, 0, 2);
    tcase_add_loop_test (tc, test_other_key_or_suite, 0, 2);
    suite_add_tcase (suite, tc);

    tc = tcase_create ("flights");
    tcase_add_loop_test (tc, test_flight_make, 0, 2 * V2V_FLIGHTS);
    tcase_add_test (tc, test_flight_padding);
    tcase_add_loop_test (tc, test_flight_parse, 0, 2 * V2V_FLIGHTS);
    tcase_add_loop_test (tc, test_flight_flipped, 0, 2);
    tcase_add_loop_test (tc, test_flight_wrong, 0, 2);
    tcase_add_loop_test (tc, test_flight_malformed, 0, 2);
    tcase_set_timeout (tc, 60);
    suite_add_tcase (suite, tc);

    tc = tcase_create ("replay");
    tcase_add_test (tc, test_replay_basic);
    tcase_add_test (tc, test_replay_periods);
    tcase_add_test (tc, test_replay_full);
    tcase_add_test (tc, test_replay_threads);
    tcase_set_timeout (tc, 60);
    suite_add_tcase (suite, tc);

    tc = tcase_create ("node");
    tcase_add_loop_test (tc, test_node_handover_ids, 0, 2);
    tcase_add_loop_test (tc, test_node_vectors, 0, 2);
    tcase_add_loop_test (tc, test_node_data_split, 0, 2);
    tcase_add_loop_test (tc, test_node_long_chunks, 0, 2);
    tcase_add_loop_test (tc, test_node_padding, 0, 2);
    tcase_add_loop_test (tc, test_node_commands, 0, 2);
    tcase_add_loop_test (tc, test_node_end, 0, 2);
    tcase_add_loop_test (tc, test_node_corrupt, 0, 2);
    tcase_add_loop_test (tc, test_node_bad_records, 0, 2);
    tcase_add_loop_test (tc, test_node_server_flight, 0, 2);
    tcase_set_timeout (tc, 60);
    suite_add_tcase (suite, tc);

    return check_run (suite);
}
