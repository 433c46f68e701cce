/*  v2_keys — HKDF key schedule and handover IDs of protocol v2 (see v2_keys.h). */
#include "nodes/v2_keys.h"
#include "nodes/ossl_fetch.h"

#include <limits.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#define S_INFO_MAX 64

static const char *s_suite_names[] = { "aes-256-gcm", "chacha20-poly1305" };

int
v2_suite_parse (const char *name)
{
    for (int i = 0; name && i < 2; i++)
        if (strcmp (name, s_suite_names[i]) == 0)
            return i;
    return -1;
}

const char *
v2_suite_name (v2_suite_t suite)
{
    return (unsigned) suite < 2 ? s_suite_names[suite] : "?";
}

//  HKDF-SHA256 (RFC 5869) with label || extra as info.
static int
s_hkdf (const uint8_t *k, size_t klen, const uint8_t salt[V2_SALT_SIZE], const char *label,
        const uint8_t *extra, size_t extra_len, uint8_t *out, size_t out_len)
{
    uint8_t info[S_INFO_MAX + 1];
    size_t label_len = strlen (label);
    if (!k || klen == 0 || label_len + extra_len > S_INFO_MAX || out_len > 255 * 32)
        return -1;
    memcpy (info, label, label_len);
    if (extra_len)
        memcpy (info + label_len, extra, extra_len);
    size_t info_len = label_len + extra_len;
    uint8_t prk[32], t[32];
    int rc = ossl_hmac_sha256 (salt, V2_SALT_SIZE, k, klen, NULL, 0, prk);
    //  T(i) = HMAC (PRK, T(i-1) || info || i)
    for (size_t done = 0, i = 1; rc == 0 && done < out_len; i++) {
        info[info_len] = (uint8_t) i;
        rc = ossl_hmac_sha256 (prk, sizeof prk, t, i > 1 ? sizeof t : 0, info, info_len + 1, t);
        size_t n = out_len - done < sizeof t ? out_len - done : sizeof t;
        if (rc == 0)
            memcpy (out + done, t, n);
        done += n;
    }
    OPENSSL_cleanse (prk, sizeof prk);
    OPENSSL_cleanse (t, sizeof t);
    return rc;
}

int
v2_derive_c2s (const uint8_t *k, size_t klen, const uint8_t cs[V2_SALT_SIZE],
               uint8_t out[V2_DIR_KEY_SIZE])
{
    return s_hkdf (k, klen, cs, "mimicsocks v2 c2s", NULL, 0, out, V2_DIR_KEY_SIZE);
}

int
v2_derive_s2c (const uint8_t *k, size_t klen, const uint8_t ss[V2_SALT_SIZE],
               const uint8_t cs[V2_SALT_SIZE], uint8_t out[V2_DIR_KEY_SIZE])
{
    return s_hkdf (k, klen, ss, "mimicsocks v2 s2c", cs, V2_SALT_SIZE, out, V2_DIR_KEY_SIZE);
}

int
v2_derive_hk (const uint8_t *k, size_t klen, const uint8_t cs[V2_SALT_SIZE],
              const uint8_t ss[V2_SALT_SIZE], uint8_t out[V2_HK_SIZE])
{
    return s_hkdf (k, klen, cs, "mimicsocks v2 handover", ss, V2_SALT_SIZE, out, V2_HK_SIZE);
}

int
v2_handover_id (const uint8_t hk[V2_HK_SIZE], uint64_t n, uint8_t id[V2_ID_SIZE])
{
    uint8_t msg[10] = { 'i', 'd' };
    for (int i = 0; i < 8; i++)
        msg[2 + i] = (uint8_t) (n >> (56 - 8 * i));
    uint8_t md[32];
    if (ossl_hmac_sha256 (hk, V2_HK_SIZE, msg, sizeof msg, NULL, 0, md) != 0)
        return -1;
    memcpy (id, md, V2_ID_SIZE);
    OPENSSL_cleanse (md, sizeof md);
    return 0;
}

int
v2_random (uint8_t *buf, size_t len)
{
    return len > INT_MAX || RAND_bytes (buf, (int) len) != 1 ? -1 : 0;
}
