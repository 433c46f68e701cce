/*  v2_record — sealing and opening v2 records (see v2_record.h). */
#include "nodes/v2_record.h"
#include "nodes/ossl_fetch.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#define S_NONCE_SIZE 12

struct v2_dir_t {
    v2_suite_t suite;
    EVP_CIPHER_CTX *aead;       //  keyed once; each record sets its nonce
    EVP_CIPHER_CTX *mask;       //  AES-256-ECB, or ChaCha20 keyed once
    uint8_t mask_key[32];       //  ChaCha20's key is given again with each nonce
    uint64_t count;
    bool tls;                   //  TLS application-data headers
};

static void
s_nonce (uint64_t i, uint8_t nonce[S_NONCE_SIZE])
{
    memset (nonce, 0, 4);
    for (int b = 0; b < 8; b++)
        nonce[4 + b] = (uint8_t) (i >> (56 - 8 * b));
}

v2_dir_t *
v2_dir_new (v2_suite_t suite, const uint8_t key[V2_DIR_KEY_SIZE])
{
    v2_dir_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->suite = suite;
    self->aead = EVP_CIPHER_CTX_new ();
    self->mask = EVP_CIPHER_CTX_new ();
    memcpy (self->mask_key, key + 32, 32);
    bool gcm = suite == V2_AES_256_GCM;
    const EVP_CIPHER *aead = ossl_cipher (gcm ? OSSL_AES_256_GCM : OSSL_CHACHA20_POLY1305);
    const EVP_CIPHER *mask = ossl_cipher (gcm ? OSSL_AES_256_ECB : OSSL_CHACHA20);
    if (!self->aead || !self->mask || !aead || !mask || (unsigned) suite > V2_CHACHA20_POLY1305
    ||  EVP_CipherInit_ex (self->aead, aead, NULL, NULL, NULL, -1) != 1
    ||  EVP_CIPHER_CTX_ctrl (self->aead, EVP_CTRL_AEAD_SET_IVLEN, S_NONCE_SIZE, NULL) != 1
    ||  EVP_CipherInit_ex (self->aead, NULL, NULL, key, NULL, -1) != 1
    ||  EVP_EncryptInit_ex (self->mask, mask, NULL, gcm ? key + 32 : NULL, NULL) != 1
    ||  EVP_CIPHER_CTX_set_padding (self->mask, 0) != 1) {
        v2_dir_destroy (&self);
        return NULL;
    }
    return self;
}

void
v2_dir_destroy (v2_dir_t **self_p)
{
    v2_dir_t *self = *self_p;
    if (!self)
        return;
    EVP_CIPHER_CTX_free (self->aead);
    EVP_CIPHER_CTX_free (self->mask);
    OPENSSL_cleanse (self, sizeof *self);
    free (self);
    *self_p = NULL;
}

void
v2_dir_set_tls (v2_dir_t *self)
{
    self->tls = true;
}

size_t
v2_dir_head (v2_dir_t *self)
{
    return self->tls ? V2_TLS_HEAD_SIZE : V2_LEN_SIZE;
}

size_t
v2_dir_record_size (v2_dir_t *self, size_t body_len)
{
    return v2_dir_head (self) + 1 + body_len + V2_TAG_SIZE;
}

uint64_t
v2_dir_count (v2_dir_t *self)
{
    return self->count;
}

//  The first 2 bytes of record i's length mask.
static int
s_mask (v2_dir_t *self, uint64_t i, uint8_t mask[2])
{
    uint8_t block[16] = { 0 }, out[16 + 16];
    int n = 0;
    if (self->suite == V2_AES_256_GCM) {
        s_nonce (i, block);
        if (EVP_EncryptUpdate (self->mask, out, &n, block, 16) != 1 || n != 16)
            return -1;
    }
    else {
        //  EVP's ChaCha20 IV: the 32-bit block counter (little-endian) || the nonce.
        uint8_t iv[16] = { 0 };
        s_nonce (i, iv + 4);
        if (EVP_EncryptInit_ex (self->mask, NULL, NULL, self->mask_key, iv) != 1
        ||  EVP_EncryptUpdate (self->mask, out, &n, block, 2) != 1 || n != 2)
            return -1;
    }
    mask[0] = out[0];
    mask[1] = out[1];
    return 0;
}

//  The header of a record of plaintext length plen: the masked length, or
//  TLS's 17 03 03 and the length of ciphertext and tag.
static int
s_head_make (v2_dir_t *self, size_t plen, uint8_t *out)
{
    if (self->tls) {
        size_t clen = plen + V2_TAG_SIZE;
        out[0] = 0x17;
        out[1] = out[2] = 0x03;
        out[3] = (uint8_t) (clen >> 8);
        out[4] = (uint8_t) clen;
        return 0;
    }
    uint8_t mask[2];
    if (s_mask (self, self->count, mask) != 0)
        return -1;
    out[0] = (uint8_t) (plen >> 8) ^ mask[0];
    out[1] = (uint8_t) plen ^ mask[1];
    return 0;
}

//  The plaintext length a header says, or -1.
static int
s_head_read (v2_dir_t *self, const uint8_t *head)
{
    if (self->tls) {
        if (head[0] != 0x17 || head[1] != 0x03 || head[2] != 0x03)
            return -1;
        return (head[3] << 8 | head[4]) - V2_TAG_SIZE;
    }
    uint8_t mask[2];
    if (s_mask (self, self->count, mask) != 0)
        return -1;
    return ((head[0] ^ mask[0]) << 8) | (head[1] ^ mask[1]);
}

int
v2_seal_begin (v2_dir_t *self, uint8_t type, size_t len, uint8_t *head)
{
    if (len > V2_BODY_MAX || self->count == UINT64_MAX)
        return -1;
    size_t plen = len + 1, head_len = v2_dir_head (self);
    if (s_head_make (self, plen, head) != 0)
        return -1;
    uint8_t nonce[S_NONCE_SIZE];
    s_nonce (self->count, nonce);
    int n = 0;
    if (EVP_EncryptInit_ex (self->aead, NULL, NULL, NULL, nonce) != 1
    ||  EVP_EncryptUpdate (self->aead, NULL, &n, head, (int) head_len) != 1
    ||  EVP_EncryptUpdate (self->aead, head + head_len, &n, &type, 1) != 1)
        return -1;
    return 0;
}

int
v2_seal_update (v2_dir_t *self, const uint8_t *body, size_t len, uint8_t *out)
{
    int n = 0;
    return !len || EVP_EncryptUpdate (self->aead, out, &n, body, (int) len) == 1 ? 0 : -1;
}

int
v2_seal_end (v2_dir_t *self, uint8_t tag[V2_TAG_SIZE])
{
    int n = 0;
    if (EVP_EncryptFinal_ex (self->aead, tag, &n) != 1
    ||  EVP_CIPHER_CTX_ctrl (self->aead, EVP_CTRL_AEAD_GET_TAG, V2_TAG_SIZE, tag) != 1)
        return -1;
    self->count++;
    return 0;
}

int
v2_seal (v2_dir_t *self, uint8_t type, const uint8_t *body, size_t len, uint8_t *out)
{
    size_t head = v2_dir_head (self);
    if (v2_seal_begin (self, type, len, out) != 0
    ||  v2_seal_update (self, body, len, out + head + 1) != 0
    ||  v2_seal_end (self, out + head + 1 + len) != 0)
        return -1;
    return (int) v2_dir_record_size (self, len);
}

int
v2_peek_len (v2_dir_t *self, const uint8_t *head)
{
    int len = s_head_read (self, head);
    return len >= 1 && len <= V2_RECORD_MAX ? len : -1;
}

int
v2_open_to (v2_dir_t *self, uint8_t *wire, size_t L, uint8_t *type, uint8_t *body)
{
    if (L < 1 || L > V2_RECORD_MAX || self->count == UINT64_MAX)
        return -1;
    uint8_t nonce[S_NONCE_SIZE];
    s_nonce (self->count, nonce);
    size_t head = v2_dir_head (self);
    uint8_t *c = wire + head;
    int n = 0;
    if (EVP_DecryptInit_ex (self->aead, NULL, NULL, NULL, nonce) != 1
    ||  EVP_DecryptUpdate (self->aead, NULL, &n, wire, (int) head) != 1
    ||  EVP_DecryptUpdate (self->aead, type, &n, c, 1) != 1
    ||  (L > 1 && EVP_DecryptUpdate (self->aead, body, &n, c + 1, (int) L - 1) != 1)
    ||  EVP_CIPHER_CTX_ctrl (self->aead, EVP_CTRL_AEAD_SET_TAG, V2_TAG_SIZE, c + L) != 1
    ||  EVP_DecryptFinal_ex (self->aead, c + L, &n) != 1)
        return -1;
    self->count++;
    return 0;
}

int
v2_open (v2_dir_t *self, uint8_t *wire, size_t L)
{
    size_t head = v2_dir_head (self);
    return v2_open_to (self, wire, L, wire + head, wire + head + 1);
}
