/*  wirecrypto — hello, IVs, handover IDs and HMAC helpers (see wirecrypto.h). */
#include "nodes/wirecrypto.h"

#include <assert.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/params.h>
#include <openssl/rand.h>

bool
wire_key_valid (size_t keylen)
{
    return keylen == 16 || keylen == 24 || keylen == 32;
}


//  --- HMAC-SHA1

int
wire_hmac (const uint8_t *key, size_t keylen, const uint8_t *msg, size_t msglen,
           uint8_t *out, size_t n)
{
    if (!key || keylen == 0 || keylen > INT_MAX || n == 0 || n > WIRE_HMAC_MAX
    ||  (!msg && msglen))
        return -1;
    uint8_t md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    //  msg may be NULL only when empty; OpenSSL wants a valid pointer.
    if (!HMAC (EVP_sha1 (), key, (int) keylen, msg ? msg : md, msglen, md, &mdlen)
    ||  mdlen != WIRE_HMAC_MAX)
        return -1;
    memcpy (out, md, n);
    OPENSSL_cleanse (md, sizeof md);
    return 0;
}

struct wire_mac_t {
    EVP_MAC_CTX *ctx;           //  keyed once; EVP_MAC_init with no key restarts it
};

wire_mac_t *
wire_mac_new (const uint8_t *key, size_t keylen)
{
    if (!key || keylen == 0)
        return NULL;
    wire_mac_t *self = (wire_mac_t *) calloc (1, sizeof (wire_mac_t));
    if (!self)
        return NULL;
    EVP_MAC *mac = EVP_MAC_fetch (NULL, "HMAC", NULL);
    if (mac) {
        self->ctx = EVP_MAC_CTX_new (mac);
        EVP_MAC_free (mac);     //  the context holds its own reference
    }
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string (OSSL_MAC_PARAM_DIGEST, (char *) "SHA1", 0),
        OSSL_PARAM_construct_end ()
    };
    if (!self->ctx || !EVP_MAC_init (self->ctx, key, keylen, params))
        wire_mac_destroy (&self);
    return self;
}

void
wire_mac_destroy (wire_mac_t **self_p)
{
    assert (self_p);
    wire_mac_t *self = *self_p;
    if (!self)
        return;
    EVP_MAC_CTX_free (self->ctx);   //  also cleanses the key schedule
    free (self);
    *self_p = NULL;
}

int
wire_mac_compute (wire_mac_t *self, const uint8_t *msg, size_t msglen, uint8_t *out, size_t n)
{
    assert (self);
    if (n == 0 || n > WIRE_HMAC_MAX)
        return -1;
    uint8_t md[EVP_MAX_MD_SIZE];
    size_t mdlen = 0;
    //  Without a key, init re-uses the key already set (provider's HMAC reinit).
    if (!EVP_MAC_init (self->ctx, NULL, 0, NULL)
    ||  !EVP_MAC_update (self->ctx, msg, msglen)
    ||  !EVP_MAC_final (self->ctx, md, &mdlen, sizeof md)
    ||  mdlen != WIRE_HMAC_MAX)
        return -1;
    memcpy (out, md, n);
    return 0;
}


//  --- Random draws for the IV scheme

//  Random bytes fetched in batches, so that the scheme's ~20 draws cost one
//  RAND_bytes call (and the many IVs of a marked hello, a few).
typedef struct {
    uint8_t bytes[1024];
    size_t next;
    bool failed;
} s_pool_t;

static uint8_t
s_pool_byte (s_pool_t *pool)
{
    if (pool->next == 0 || pool->next == sizeof pool->bytes) {
        if (RAND_bytes (pool->bytes, sizeof pool->bytes) != 1)
            pool->failed = true;
        pool->next = 0;
    }
    return pool->bytes[pool->next++];
}

//  Erlang's rand:uniform(n): 1..n, n <= 256, without modulo bias.
static unsigned
s_uniform (s_pool_t *pool, unsigned n)
{
    assert (n >= 1 && n <= 256);
    unsigned limit = 256 - 256 % n;     //  largest multiple of n that fits in a byte
    unsigned byte;
    do
        byte = s_pool_byte (pool);
    while (byte >= limit && !pool->failed);
    return 1 + byte % n;
}

static void
s_iv_draw (s_pool_t *pool, uint8_t iv[WIRE_IV_SIZE], wire_iv_info_t *info)
{
    wire_iv_info_t drawn = { .random = false, .t = 0, .q = 0 };
    if (s_uniform (pool, 3) == 1) {
        drawn.random = true;
        for (size_t i = 0; i < WIRE_IV_SIZE; i++)
            iv[i] = s_pool_byte (pool);
    }
    else {
        drawn.t = (uint8_t) (s_uniform (pool, 256) - 1);
        drawn.q = 256 / s_uniform (pool, 10);
        for (size_t i = 0; i < WIRE_IV_SIZE; i++)
            iv[i] = (uint8_t) ((s_uniform (pool, drawn.q) + drawn.t) % 256);
    }
    if (info)
        *info = drawn;
}

int
wire_iv_generate (uint8_t iv[WIRE_IV_SIZE], wire_iv_info_t *info)
{
    s_pool_t pool = { .next = 0, .failed = false };
    s_iv_draw (&pool, iv, info);
    OPENSSL_cleanse (&pool, sizeof pool);
    return pool.failed ? -1 : 0;
}


//  --- Hello and IDs

int
wire_next_id (const uint8_t *key, size_t keylen, const uint8_t id_in[WIRE_ID_SIZE],
              uint8_t id_out[WIRE_ID_SIZE])
{
    if (!wire_key_valid (keylen))
        return -1;
    uint8_t id[WIRE_ID_SIZE];           //  id_out may alias id_in
    if (wire_hmac (key, keylen, id_in, WIRE_ID_SIZE, id, WIRE_ID_SIZE) != 0)
        return -1;
    memcpy (id_out, id, WIRE_ID_SIZE);
    return 0;
}

int
wire_hello_from_iv (const uint8_t *key, size_t keylen, const uint8_t iv[WIRE_IV_SIZE],
                    uint8_t hello[WIRE_HELLO_SIZE])
{
    uint8_t id0[WIRE_ID_SIZE];
    if (wire_next_id (key, keylen, iv, id0) != 0)
        return -1;
    memmove (hello, iv, WIRE_IV_SIZE);
    memcpy (hello + WIRE_IV_SIZE, id0, WIRE_ID_SIZE);
    return 0;
}

//  Whether the hidden bytes of an IV's HMAC (md, all 20 bytes) carry the mark.
static bool
s_marked (const uint8_t md[WIRE_HMAC_MAX])
{
    uint32_t hidden = (uint32_t) md[16] << 24 | (uint32_t) md[17] << 16
                    | (uint32_t) md[18] << 8 | md[19];
    return hidden >> (32 - WIRE_MARK_BITS) == 0;
}

bool
wire_hello_marked (const uint8_t *key, size_t keylen, const uint8_t iv[WIRE_IV_SIZE])
{
    uint8_t md[WIRE_HMAC_MAX];
    bool marked = wire_key_valid (keylen)
                  && wire_hmac (key, keylen, iv, WIRE_IV_SIZE, md, sizeof md) == 0
                  && s_marked (md);
    OPENSSL_cleanse (md, sizeof md);
    return marked;
}

int
wire_hello_make (const uint8_t *key, size_t keylen, uint8_t iv_out[WIRE_IV_SIZE],
                 uint8_t hello_out[WIRE_HELLO_SIZE])
{
    if (!wire_key_valid (keylen))
        return -1;
    wire_mac_t *mac = wire_mac_new (key, keylen);
    if (!mac)
        return -1;
    //  Every draw is a whole new IV of the original's scheme, so the marked
    //  ones are spread as all are (which of the two kinds, T and Q included).
    s_pool_t pool = { .next = 0, .failed = false };
    uint8_t iv[WIRE_IV_SIZE], md[WIRE_HMAC_MAX];
    int rc = -1;
    for (int tries = 0; tries < WIRE_MARK_TRIES; tries++) {
        s_iv_draw (&pool, iv, NULL);
        if (pool.failed || wire_mac_compute (mac, iv, WIRE_IV_SIZE, md, sizeof md) != 0) {
            rc = -1;
            break;
        }
        rc = 0;
        if (s_marked (md))
            break;
    }
    OPENSSL_cleanse (&pool, sizeof pool);
    wire_mac_destroy (&mac);
    OPENSSL_cleanse (md, sizeof md);
    if (rc != 0 || wire_hello_from_iv (key, keylen, iv, hello_out) != 0)
        return -1;
    if (iv_out)
        memcpy (iv_out, iv, WIRE_IV_SIZE);
    return 0;
}

bool
wire_hello_check (const uint8_t *key, size_t keylen, const uint8_t hello[WIRE_HELLO_SIZE],
                  uint8_t iv_out[WIRE_IV_SIZE])
{
    uint8_t id0[WIRE_ID_SIZE];
    if (wire_next_id (key, keylen, hello, id0) != 0)
        return false;
    //  Constant time: a prober must not learn how many bytes of ID0 matched.
    if (CRYPTO_memcmp (id0, hello + WIRE_IV_SIZE, WIRE_ID_SIZE) != 0)
        return false;
    if (iv_out)
        memcpy (iv_out, hello, WIRE_IV_SIZE);
    return true;
}


//  --- Hello parser

typedef enum {
    S_COLLECTING,       //  fewer than 32 bytes so far
    S_ACCEPTED,         //  ID0 matched: final
    S_REJECTED          //  ID0 did not match: final
} s_hello_state_t;

struct wire_hello_parser_t {
    s_hello_state_t state;
    uint8_t key[WIRE_KEY_MAX];
    size_t keylen;
    uint8_t hello[WIRE_HELLO_SIZE];
    size_t have;
};

wire_hello_parser_t *
wire_hello_parser_new (const uint8_t *key, size_t keylen)
{
    if (!key || !wire_key_valid (keylen))
        return NULL;
    wire_hello_parser_t *self = (wire_hello_parser_t *) calloc (1, sizeof (wire_hello_parser_t));
    if (!self)
        return NULL;
    self->state = S_COLLECTING;
    memcpy (self->key, key, keylen);
    self->keylen = keylen;
    return self;
}

void
wire_hello_parser_destroy (wire_hello_parser_t **self_p)
{
    assert (self_p);
    wire_hello_parser_t *self = *self_p;
    if (!self)
        return;
    OPENSSL_cleanse (self, sizeof *self);
    free (self);
    *self_p = NULL;
}

wire_hello_result_t
wire_hello_parser_feed (wire_hello_parser_t *self, const uint8_t *data, size_t len, size_t *used)
{
    assert (self);
    size_t took = 0;
    wire_hello_result_t result = WIRE_HELLO_NEED_MORE;
    switch (self->state) {
        case S_COLLECTING:
            took = WIRE_HELLO_SIZE - self->have;
            if (took > len)
                took = len;
            if (took)
                memcpy (self->hello + self->have, data, took);
            self->have += took;
            if (self->have == WIRE_HELLO_SIZE) {
                bool good = wire_hello_check (self->key, self->keylen, self->hello, NULL);
                self->state = good ? S_ACCEPTED : S_REJECTED;
                result = good ? WIRE_HELLO_OK : WIRE_HELLO_BAD;
            }
            break;
        case S_ACCEPTED:
            result = WIRE_HELLO_OK;
            break;
        case S_REJECTED:
            took = len;
            result = WIRE_HELLO_BAD;
            break;
    }
    if (used)
        *used = took;
    return result;
}

const uint8_t *
wire_hello_parser_iv (wire_hello_parser_t *self)
{
    assert (self);
    return self->state == S_ACCEPTED ? self->hello : NULL;
}

const uint8_t *
wire_hello_parser_id0 (wire_hello_parser_t *self)
{
    assert (self);
    return self->state == S_ACCEPTED ? self->hello + WIRE_IV_SIZE : NULL;
}
