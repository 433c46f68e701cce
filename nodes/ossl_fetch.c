/*  ossl_fetch — OpenSSL algorithms fetched once per process (see ossl_fetch.h). */
#include "nodes/ossl_fetch.h"

#include <pthread.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/params.h>

static const char *s_cipher_names[OSSL_CIPHER_COUNT] = {
    "AES-256-GCM", "AES-256-ECB", "ChaCha20-Poly1305", "ChaCha20"
};

//  Kept for the life of the process (reachable from here, so not a leak).
static EVP_CIPHER *s_ciphers[OSSL_CIPHER_COUNT];
//  HMAC with its digest set and no key: each use starts from a copy.
static EVP_MAC_CTX *s_hmac_sha256;
static pthread_once_t s_once = PTHREAD_ONCE_INIT;

static void
s_fetch (void)
{
    for (int i = 0; i < OSSL_CIPHER_COUNT; i++)
        s_ciphers[i] = EVP_CIPHER_fetch (NULL, s_cipher_names[i], NULL);
    EVP_MAC *mac = EVP_MAC_fetch (NULL, "HMAC", NULL);
    EVP_MAC_CTX *ctx = mac ? EVP_MAC_CTX_new (mac) : NULL;
    EVP_MAC_free (mac);         //  the context holds its own reference
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string (OSSL_MAC_PARAM_DIGEST, (char *) "SHA256", 0),
        OSSL_PARAM_construct_end ()
    };
    if (ctx && EVP_MAC_CTX_set_params (ctx, params) == 1)
        s_hmac_sha256 = ctx;
    else
        EVP_MAC_CTX_free (ctx);
}

const EVP_CIPHER *
ossl_cipher (ossl_cipher_id_t id)
{
    pthread_once (&s_once, s_fetch);
    return (unsigned) id < OSSL_CIPHER_COUNT ? s_ciphers[id] : NULL;
}

int
ossl_hmac_sha256 (const uint8_t *key, size_t keylen, const uint8_t *a, size_t alen,
                  const uint8_t *b, size_t blen, uint8_t out[32])
{
    pthread_once (&s_once, s_fetch);
    EVP_MAC_CTX *ctx = s_hmac_sha256 ? EVP_MAC_CTX_dup (s_hmac_sha256) : NULL;
    size_t outlen = 0;
    int rc = ctx && EVP_MAC_init (ctx, key, keylen, NULL) == 1
          && (alen == 0 || EVP_MAC_update (ctx, a, alen) == 1)
          && (blen == 0 || EVP_MAC_update (ctx, b, blen) == 1)
          && EVP_MAC_final (ctx, out, &outlen, 32) == 1 && outlen == 32 ? 0 : -1;
    EVP_MAC_CTX_free (ctx);     //  also cleanses the key schedule
    return rc;
}
