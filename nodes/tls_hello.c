/*  tls_hello — making and parsing the TLS-shaped first flights (see
    tls_hello.h). The fixed parts are OpenSSL 3's as Debian builds it: its
    client's default cipher suites, versions and extension order (as curl
    --http1.1 and Python send them: ALPN http/1.1), its server's
    ServerHello for TLS_AES_256_GCM_SHA384 and X25519.
*/
#include "nodes/tls_hello.h"

#include <stdbool.h>
#include <string.h>

const uint8_t tls_ccs_record[TLS_CCS_SIZE] = { 0x14, 0x03, 0x03, 0x00, 0x01, 0x01 };

static const uint8_t s_suites[] = {
    0x13, 0x02, 0x13, 0x03, 0x13, 0x01, 0xc0, 0x2c, 0xc0, 0x30, 0x00, 0x9f, 0xcc, 0xa9,
    0xcc, 0xa8, 0xcc, 0xaa, 0xc0, 0x2b, 0xc0, 0x2f, 0x00, 0x9e, 0xc0, 0x24, 0xc0, 0x28,
    0x00, 0x6b, 0xc0, 0x23, 0xc0, 0x27, 0x00, 0x67, 0xc0, 0x0a, 0xc0, 0x14, 0x00, 0x39,
    0xc0, 0x09, 0xc0, 0x13, 0x00, 0x33, 0x00, 0x9d, 0x00, 0x9c, 0x00, 0x3d, 0x00, 0x3c,
    0x00, 0x35, 0x00, 0x2f, 0x00, 0xff
};

//  Between server_name and key_share: ec_point_formats, supported_groups,
//  session_ticket, ALPN, encrypt_then_mac, extended_master_secret,
//  signature_algorithms, supported_versions, psk_key_exchange_modes.
static const uint8_t s_client_exts[] = {
    0x00, 0x0b, 0x00, 0x04, 0x03, 0x00, 0x01, 0x02,
    0x00, 0x0a, 0x00, 0x16, 0x00, 0x14, 0x00, 0x1d, 0x00, 0x17, 0x00, 0x1e, 0x00, 0x19,
    0x00, 0x18, 0x01, 0x00, 0x01, 0x01, 0x01, 0x02, 0x01, 0x03, 0x01, 0x04,
    0x00, 0x23, 0x00, 0x00,
    0x00, 0x10, 0x00, 0x0b, 0x00, 0x09, 0x08, 'h', 't', 't', 'p', '/', '1', '.', '1',
    0x00, 0x16, 0x00, 0x00,
    0x00, 0x17, 0x00, 0x00,
    0x00, 0x0d, 0x00, 0x2a, 0x00, 0x28, 0x04, 0x03, 0x05, 0x03, 0x06, 0x03, 0x08, 0x07,
    0x08, 0x08, 0x08, 0x09, 0x08, 0x0a, 0x08, 0x0b, 0x08, 0x04, 0x08, 0x05, 0x08, 0x06,
    0x04, 0x01, 0x05, 0x01, 0x06, 0x01, 0x03, 0x03, 0x03, 0x01, 0x03, 0x02, 0x04, 0x02,
    0x05, 0x02, 0x06, 0x02,
    0x00, 0x2b, 0x00, 0x09, 0x08, 0x03, 0x04, 0x03, 0x03, 0x03, 0x02, 0x03, 0x01,
    0x00, 0x2d, 0x00, 0x02, 0x01, 0x01
};

#define S_EXT_KEY_SHARE 0x0033
#define S_X25519 0x001d
#define S_KEY_SIZE 32

typedef struct {
    uint8_t *p;
    size_t len, cap;
    bool bad;
} s_out_t;

static void
s_put (s_out_t *o, const void *data, size_t n)
{
    if (o->bad || o->cap - o->len < n) {
        o->bad = true;
        return;
    }
    if (data)
        memcpy (o->p + o->len, data, n);
    else
        memset (o->p + o->len, 0, n);
    o->len += n;
}

static void
s_put16 (s_out_t *o, size_t v)
{
    uint8_t b[2] = { (uint8_t) (v >> 8), (uint8_t) v };
    s_put (o, b, 2);
}

static void
s_set16 (s_out_t *o, size_t at, size_t v)
{
    if (!o->bad) {
        o->p[at] = (uint8_t) (v >> 8);
        o->p[at + 1] = (uint8_t) v;
    }
}

static void
s_key_share (s_out_t *o, bool client, const uint8_t *blob, uint8_t ks_last)
{
    uint8_t last = ks_last & 0x7f;
    s_put16 (o, S_EXT_KEY_SHARE);
    s_put16 (o, client ? 2 + 4 + S_KEY_SIZE : 4 + S_KEY_SIZE);
    if (client)
        s_put16 (o, 4 + S_KEY_SIZE);
    s_put16 (o, S_X25519);
    s_put16 (o, S_KEY_SIZE);
    s_put (o, blob, S_KEY_SIZE - 1);
    s_put (o, &last, 1);
}

int
tls_record_len (const uint8_t head[TLS_HEAD_SIZE], uint8_t type)
{
    if (head[0] != type || head[1] != 0x03 || head[2] > 0x04)
        return -1;
    return head[3] << 8 | head[4];
}

int
tls_client_hello_make (const uint8_t random[TLS_RANDOM_SIZE], const uint8_t blob[TLS_CH_BLOB],
                       uint8_t ks_last, const char *sni, uint8_t *out, size_t cap)
{
    size_t sni_len = sni ? strlen (sni) : 0;
    if (sni_len > TLS_SNI_MAX)
        return -1;
    s_out_t o = { out, 0, cap, false };
    static const uint8_t head[] = { 0x16, 0x03, 0x01, 0, 0, 0x01, 0, 0, 0, 0x03, 0x03 };
    s_put (&o, head, sizeof head);
    s_put (&o, random, TLS_RANDOM_SIZE);
    s_put (&o, (uint8_t[]) { TLS_SID_SIZE }, 1);
    s_put (&o, blob, TLS_SID_SIZE);
    s_put16 (&o, sizeof s_suites);
    s_put (&o, s_suites, sizeof s_suites);
    s_put (&o, (uint8_t[]) { 1, 0 }, 2);
    size_t exts_at = o.len;
    s_put16 (&o, 0);
    if (sni_len) {
        s_put16 (&o, 0x0000);
        s_put16 (&o, sni_len + 5);
        s_put16 (&o, sni_len + 3);
        s_put (&o, (uint8_t[]) { 0 }, 1);
        s_put16 (&o, sni_len);
        s_put (&o, sni, sni_len);
    }
    s_put (&o, s_client_exts, sizeof s_client_exts);
    s_key_share (&o, true, blob + TLS_SID_SIZE, ks_last);
    //  OpenSSL's padding: a hello of 256..511 bytes (handshake header
    //  included) grows to 512 with a padding extension.
    size_t hs = o.len - TLS_HEAD_SIZE;
    if (hs > 0xff && hs < 0x200) {
        size_t pad = 0x200 - hs >= 4 ? 0x200 - hs - 4 : 0;
        s_put16 (&o, 0x0015);
        s_put16 (&o, pad);
        s_put (&o, NULL, pad);
    }
    if (o.bad)
        return -1;
    s_set16 (&o, 3, o.len - TLS_HEAD_SIZE);
    out[6] = 0;                                 //  the handshake's 3-byte length
    s_set16 (&o, 7, o.len - TLS_HEAD_SIZE - 4);
    s_set16 (&o, exts_at, o.len - exts_at - 2);
    return (int) o.len;
}

int
tls_server_hello_make (const uint8_t random[TLS_RANDOM_SIZE], const uint8_t sid[TLS_SID_SIZE],
                       const uint8_t blob[TLS_SH_BLOB], uint8_t ks_last, uint8_t *out, size_t cap)
{
    s_out_t o = { out, 0, cap, false };
    static const uint8_t head[] = { 0x16, 0x03, 0x03, 0x00, 0x7a, 0x02, 0x00, 0x00, 0x76,
                                    0x03, 0x03 };
    static const uint8_t mid[] = { 0x13, 0x02, 0x00, 0x00, 0x2e,
                                   0x00, 0x2b, 0x00, 0x02, 0x03, 0x04 };
    s_put (&o, head, sizeof head);
    s_put (&o, random, TLS_RANDOM_SIZE);
    s_put (&o, (uint8_t[]) { TLS_SID_SIZE }, 1);
    s_put (&o, sid, TLS_SID_SIZE);
    s_put (&o, mid, sizeof mid);
    s_key_share (&o, false, blob, ks_last);
    return o.bad || o.len != TLS_SH_SIZE ? -1 : (int) o.len;
}

//  --- Parsing: a cursor that fails once and then stays failed.

typedef struct {
    const uint8_t *p;
    size_t len, at;
    bool bad;
} s_in_t;

static const uint8_t *
s_take (s_in_t *in, size_t n)
{
    if (in->bad || in->len - in->at < n) {
        in->bad = true;
        return NULL;
    }
    const uint8_t *p = in->p + in->at;
    in->at += n;
    return p;
}

static size_t
s_get (s_in_t *in, size_t n)
{
    const uint8_t *p = s_take (in, n);
    size_t v = 0;
    for (size_t i = 0; p && i < n; i++)
        v = v << 8 | p[i];
    return v;
}

//  The x25519 key of a key_share extension's body (a client's list, or
//  a server's one entry), or NULL.
static const uint8_t *
s_find_x25519 (const uint8_t *body, size_t len, bool client)
{
    s_in_t in = { body, len, 0, false };
    if (client && s_get (&in, 2) != len - 2)
        return NULL;
    while (!in.bad && in.at < in.len) {
        size_t group = s_get (&in, 2), klen = s_get (&in, 2);
        const uint8_t *key = s_take (&in, klen);
        if (key && group == S_X25519 && klen == S_KEY_SIZE)
            return key;
        if (!client)
            break;
    }
    return NULL;
}

//  Walks the extensions block to its exact end; the x25519 key share.
static const uint8_t *
s_extensions (s_in_t *in, bool client)
{
    size_t total = s_get (in, 2);
    if (in->bad || total != in->len - in->at)
        return NULL;
    const uint8_t *key = NULL;
    while (!in->bad && in->at < in->len) {
        size_t type = s_get (in, 2), elen = s_get (in, 2);
        const uint8_t *body = s_take (in, elen);
        if (body && type == S_EXT_KEY_SHARE) {
            if (key)
                return NULL;                    //  twice: not TLS
            key = s_find_x25519 (body, elen, client);
            if (!key)
                return NULL;
        }
    }
    return in->bad ? NULL : key;
}

//  The record header and the handshake header of type hs_type: the body.
static bool
s_handshake (s_in_t *in, uint8_t hs_type)
{
    int rlen = in->len >= TLS_HEAD_SIZE ? tls_record_len (in->p, TLS_HANDSHAKE) : -1;
    if (rlen < 4 || (size_t) rlen != in->len - TLS_HEAD_SIZE)
        return false;
    in->at = TLS_HEAD_SIZE;
    if (s_get (in, 1) != hs_type || s_get (in, 3) != (size_t) rlen - 4)
        return false;
    return s_get (in, 2) == 0x0303 && !in->bad;
}

int
tls_client_hello_parse (const uint8_t *rec, size_t len, uint8_t random[TLS_RANDOM_SIZE],
                        uint8_t blob[TLS_CH_BLOB])
{
    s_in_t in = { rec, len, 0, false };
    if (len > TLS_CH_RECORD_MAX || !s_handshake (&in, 0x01))
        return -1;
    const uint8_t *rnd = s_take (&in, TLS_RANDOM_SIZE);
    const uint8_t *sid = s_get (&in, 1) == TLS_SID_SIZE ? s_take (&in, TLS_SID_SIZE) : NULL;
    size_t suites = s_get (&in, 2);
    if (!sid || suites == 0 || suites % 2 || !s_take (&in, suites))
        return -1;
    size_t comp = s_get (&in, 1);
    if (comp == 0 || !s_take (&in, comp))
        return -1;
    const uint8_t *key = s_extensions (&in, true);
    if (!key)
        return -1;
    memcpy (random, rnd, TLS_RANDOM_SIZE);
    memcpy (blob, sid, TLS_SID_SIZE);
    memcpy (blob + TLS_SID_SIZE, key, TLS_CH_BLOB - TLS_SID_SIZE);
    return 0;
}

int
tls_server_hello_parse (const uint8_t *rec, size_t len, uint8_t random[TLS_RANDOM_SIZE],
                        uint8_t sid[TLS_SID_SIZE], uint8_t blob[TLS_SH_BLOB])
{
    s_in_t in = { rec, len, 0, false };
    if (len > TLS_CH_RECORD_MAX || !s_handshake (&in, 0x02))
        return -1;
    const uint8_t *rnd = s_take (&in, TLS_RANDOM_SIZE);
    const uint8_t *id = s_get (&in, 1) == TLS_SID_SIZE ? s_take (&in, TLS_SID_SIZE) : NULL;
    s_get (&in, 2);                             //  the cipher suite
    if (!id || s_get (&in, 1) != 0)
        return -1;
    const uint8_t *key = s_extensions (&in, false);
    if (!key)
        return -1;
    memcpy (random, rnd, TLS_RANDOM_SIZE);
    memcpy (sid, id, TLS_SID_SIZE);
    memcpy (blob, key, TLS_SH_BLOB);
    return 0;
}
