/*  v2_keys — the key schedule of wire protocol v2 (docs/PROTOCOL-v2.md
    section 2 and the handover IDs of section 5): suites, HKDF-SHA256 from
    the pre-shared key K and the salts, and the IDs a tunnel's handovers
    present. Pure functions over OpenSSL; nothing is kept.

    K is never logged; callers wipe what they derive (OPENSSL_cleanse).
*/
#ifndef MK_V2_KEYS_H
#define MK_V2_KEYS_H

#include <stddef.h>
#include <stdint.h>

#define V2_SALT_SIZE    32
#define V2_DIR_KEY_SIZE 64      //  aead_key [32] || mask_key [32]
#define V2_HK_SIZE      32
#define V2_ID_SIZE      16
#define V2_TIME_WINDOW_S 30     //  a first flight's time may be this far off

typedef enum {
    V2_AES_256_GCM = 0,         //  the default
    V2_CHACHA20_POLY1305 = 1
} v2_suite_t;

//  "aes-256-gcm" / "chacha20-poly1305" -> suite; -1 for anything else.
int v2_suite_parse (const char *name);
const char *v2_suite_name (v2_suite_t suite);

//  c2s = HKDF(K, salt = cs, info = "mimicsocks v2 c2s", 64). Returns 0 or -1.
int v2_derive_c2s (const uint8_t *k, size_t klen, const uint8_t cs[V2_SALT_SIZE],
                   uint8_t out[V2_DIR_KEY_SIZE]);
//  s2c = HKDF(K, salt = ss, info = "mimicsocks v2 s2c" || cs, 64).
int v2_derive_s2c (const uint8_t *k, size_t klen, const uint8_t ss[V2_SALT_SIZE],
                   const uint8_t cs[V2_SALT_SIZE], uint8_t out[V2_DIR_KEY_SIZE]);
//  hk = HKDF(K, salt = cs, info = "mimicsocks v2 handover" || ss, 32).
int v2_derive_hk (const uint8_t *k, size_t klen, const uint8_t cs[V2_SALT_SIZE],
                  const uint8_t ss[V2_SALT_SIZE], uint8_t out[V2_HK_SIZE]);
//  ID(n) = HMAC-SHA256(hk, "id" || n [8]) truncated to 16 bytes.
int v2_handover_id (const uint8_t hk[V2_HK_SIZE], uint64_t n, uint8_t id[V2_ID_SIZE]);

//  Fills buf with len bytes from the CSPRNG. Returns 0 or -1.
int v2_random (uint8_t *buf, size_t len);

#endif
