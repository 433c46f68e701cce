/*  ossl_fetch — OpenSSL algorithms fetched once per process.

    OpenSSL 3 looks an algorithm up in its providers on every use of the
    legacy handles (EVP_aes_256_gcm () given to an init, HMAC (), the HKDF
    KDF): name lookups, locks and allocations that cost more than the
    cryptography of a new connection's few records. These are fetched once
    and shared by every thread (an EVP_CIPHER is read-only once fetched).
*/
#ifndef MK_OSSL_FETCH_H
#define MK_OSSL_FETCH_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

typedef enum {
    OSSL_AES_256_GCM,
    OSSL_AES_256_ECB,
    OSSL_CHACHA20_POLY1305,
    OSSL_CHACHA20,
    OSSL_CIPHER_COUNT
} ossl_cipher_id_t;

//  The fetched cipher (NULL if this OpenSSL has none).
const EVP_CIPHER *ossl_cipher (ossl_cipher_id_t id);

//  HMAC-SHA256 of a || b under key into out (32 bytes); 0 or -1.
int ossl_hmac_sha256 (const uint8_t *key, size_t keylen, const uint8_t *a, size_t alen,
                      const uint8_t *b, size_t blen, uint8_t out[32]);

#endif
