/*  v2_flight — making and parsing v2 first flights (see v2_flight.h).

    Parser states:
      SALT    collecting the 32-byte salt; then the direction key is derived
      LEN     collecting the 2-byte masked length of record 0
      RECORD  collecting its L + 16 bytes; then it is opened and checked
      TLS_HEAD  (TLS) collecting the 5-byte header of the hello's record
      TLS_BODY  (TLS) collecting the record; then the hello is parsed, the
                salt is its random, and the sealed HELLO in it is opened
      DONE    OK or BAD: nothing more is taken
*/
#include "nodes/v2_flight.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

typedef enum { S_SALT, S_LEN, S_RECORD, S_TLS_HEAD, S_TLS_BODY, S_DONE } s_state_t;

static size_t
s_fixed (v2_kind_t kind)
{
    return V2_HELLO_FIXED + (kind == V2_KIND_HANDOVER ? V2_ID_SIZE : 0);
}

size_t
v2_flight_size (v2_kind_t kind, size_t padlen)
{
    return V2_SALT_SIZE + v2_record_size (s_fixed (kind) + padlen);
}

size_t
v2_flight_padding (void)
{
    uint16_t r = 0;
    RAND_bytes ((unsigned char *) &r, sizeof r);
    return V2_PAD_MIN + r % (V2_PAD_MAX - V2_PAD_MIN + 1);
}

static v2_dir_t *
s_dir (v2_suite_t suite, const uint8_t *k, size_t klen, const uint8_t salt[V2_SALT_SIZE],
       v2_kind_t kind, const uint8_t *cs)
{
    uint8_t key[V2_DIR_KEY_SIZE];
    int rc = kind == V2_KIND_SERVER ? (cs ? v2_derive_s2c (k, klen, salt, cs, key) : -1)
                                    : v2_derive_c2s (k, klen, salt, key);
    v2_dir_t *dir = rc == 0 ? v2_dir_new (suite, key) : NULL;
    OPENSSL_cleanse (key, sizeof key);
    return dir;
}

static void
s_put64 (uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t) (v >> (56 - 8 * i));
}

static uint64_t
s_get64 (const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | p[i];
    return v;
}

//  A HELLO body: version, kind, time, [id]; the rest stays zero.
static void
s_body (const v2_hello_t *hello, uint8_t *body)
{
    body[0] = V2_VERSION;
    body[1] = (uint8_t) hello->kind;
    s_put64 (body + 2, hello->time);
    if (hello->kind == V2_KIND_HANDOVER)
        memcpy (body + V2_HELLO_FIXED, hello->id, V2_ID_SIZE);
}

int
v2_flight_make (v2_suite_t suite, const uint8_t *k, size_t klen,
                const uint8_t salt[V2_SALT_SIZE], const uint8_t *cs,
                const v2_hello_t *hello, size_t padlen, uint8_t *out, size_t cap,
                v2_dir_t **dir_out)
{
    size_t body_len = s_fixed (hello->kind) + padlen;
    if (body_len > V2_BODY_MAX || cap < v2_flight_size (hello->kind, padlen))
        return -1;
    v2_dir_t *dir = s_dir (suite, k, klen, salt, hello->kind, cs);
    uint8_t *body = dir ? calloc (1, body_len) : NULL;
    if (!body) {
        v2_dir_destroy (&dir);
        return -1;
    }
    s_body (hello, body);
    memcpy (out, salt, V2_SALT_SIZE);
    int n = v2_seal (dir, V2_HELLO, body, body_len, out + V2_SALT_SIZE);
    free (body);
    if (n < 0 || !dir_out)
        v2_dir_destroy (&dir);
    else
        *dir_out = dir;
    return n < 0 ? -1 : V2_SALT_SIZE + n;
}

//  --- TLS-shaped flights

#define S_CH_BODY (TLS_CH_BLOB - V2_TAG_SIZE - 1)   //  46: the client HELLO's body
#define S_SH_BODY (TLS_SH_BLOB - V2_TAG_SIZE - 1)   //  14: the server's

//  The server's encrypted handshake as PADDING records, sized (ciphertext
//  and tag, min and max) as nginx 1.22 with OpenSSL 3 and a self-signed
//  P-256 certificate for a 15-character name sends them, measured on the
//  wire: EncryptedExtensions with ALPN http/1.1 (the ClientHello offers it),
//  Certificate (its ECDSA signature is DER, 70..72 bytes, and so is the
//  CA's), CertificateVerify (ECDSA: 94..96) and Finished (SHA-384).
static const uint16_t s_server_records[4][2] = { { 42, 42 }, { 426, 429 }, { 94, 96 }, { 69, 69 } };

//  Seals the HELLO body as record 0 and keeps only what follows the
//  header (the header is implied by the size): ciphertext and tag.
static int
s_seal_blob (v2_dir_t *dir, const uint8_t *body, size_t len, uint8_t *blob)
{
    uint8_t rec[V2_TLS_HEAD_SIZE + TLS_CH_BLOB];
    int n = v2_seal (dir, V2_HELLO, body, len, rec);
    if (n != (int) (V2_TLS_HEAD_SIZE + 1 + len + V2_TAG_SIZE))
        return -1;
    memcpy (blob, rec + V2_TLS_HEAD_SIZE, (size_t) n - V2_TLS_HEAD_SIZE);
    return 0;
}

static int
s_server_flight (v2_dir_t *dir, const uint8_t *ss, const uint8_t *sid, const uint8_t *blob,
                 const uint8_t rnd[2], size_t trim, uint8_t *out, size_t cap)
{
    static const uint8_t zeros[512];
    if (tls_server_hello_make (ss, sid, blob, rnd[0], out, cap) != TLS_SH_SIZE
    ||  cap < TLS_SH_SIZE + TLS_CCS_SIZE)
        return -1;
    size_t n = TLS_SH_SIZE;
    memcpy (out + n, tls_ccs_record, TLS_CCS_SIZE);
    n += TLS_CCS_SIZE;
    for (int i = 0; i < 4; i++) {
        size_t span = (size_t) (s_server_records[i][1] - s_server_records[i][0]) + 1;
        size_t clen = s_server_records[i][0] + (size_t) (rnd[1] >> (2 * i)) % span;
        if (i == 1)
            clen -= trim < clen / 2 ? trim : 0;
        size_t body = clen - V2_TAG_SIZE - 1;
        if (cap - n < V2_TLS_HEAD_SIZE + clen)
            return -1;
        int w = v2_seal (dir, V2_PADDING, zeros, body, out + n);
        if (w < 0)
            return -1;
        n += (size_t) w;
    }
    return (int) n;
}

int
v2_flight_make_tls (v2_suite_t suite, const uint8_t *k, size_t klen,
                    const uint8_t salt[V2_SALT_SIZE], const uint8_t *cs,
                    const v2_hello_t *hello, const char *sni, uint8_t *out, size_t cap,
                    v2_dir_t **dir_out)
{
    bool server = hello->kind == V2_KIND_SERVER;
    uint8_t body[S_CH_BODY] = { 0 }, blob[TLS_CH_BLOB], rnd[2];
    v2_dir_t *dir = s_dir (suite, k, klen, salt, hello->kind, cs);
    if (!dir)
        return -1;
    v2_dir_set_tls (dir);
    s_body (hello, body);
    int n = -1;
    if (s_seal_blob (dir, body, server ? S_SH_BODY : S_CH_BODY, blob) == 0
    &&  v2_random (rnd, sizeof rnd) == 0)
        n = server ? s_server_flight (dir, salt, hello->echo, blob, rnd, hello->trim, out, cap)
                   : tls_client_hello_make (salt, blob, rnd[0], sni, out, cap);
    if (n < 0 || !dir_out)
        v2_dir_destroy (&dir);
    else
        *dir_out = dir;
    return n;
}

struct v2_flight_parser_t {
    s_state_t state;
    v2_flight_result_t result;
    v2_suite_t suite;
    uint8_t k[32];
    size_t klen;
    v2_kind_t kind;
    bool tls;
    bool has_cs;
    uint8_t cs[V2_SALT_SIZE];
    uint8_t salt[V2_SALT_SIZE];
    v2_dir_t *dir;
    v2_hello_t hello;
    size_t need;                //  bytes the current state collects
    size_t have;
    size_t rec_len;             //  L of record 0
    uint8_t rec[V2_LEN_SIZE + V2_RECORD_MAX + V2_TAG_SIZE];
};

v2_flight_parser_t *
v2_flight_parser_new_tls (v2_suite_t suite, const uint8_t *k, size_t klen, v2_kind_t kind,
                          const uint8_t *cs)
{
    v2_flight_parser_t *self = v2_flight_parser_new (suite, k, klen, kind, cs);
    if (self) {
        self->tls = true;
        self->state = S_TLS_HEAD;
        self->need = TLS_HEAD_SIZE;
    }
    return self;
}

v2_flight_parser_t *
v2_flight_parser_new (v2_suite_t suite, const uint8_t *k, size_t klen, v2_kind_t kind,
                      const uint8_t *cs)
{
    if (!k || klen == 0 || klen > 32 || (kind == V2_KIND_SERVER && !cs)
    ||  (unsigned) suite > V2_CHACHA20_POLY1305)
        return NULL;
    v2_flight_parser_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->suite = suite;
    memcpy (self->k, k, klen);
    self->klen = klen;
    self->kind = kind;
    if (cs) {
        self->has_cs = true;
        memcpy (self->cs, cs, V2_SALT_SIZE);
    }
    self->state = S_SALT;
    self->need = V2_SALT_SIZE;
    return self;
}

void
v2_flight_parser_destroy (v2_flight_parser_t **self_p)
{
    v2_flight_parser_t *self = *self_p;
    if (!self)
        return;
    v2_dir_destroy (&self->dir);
    OPENSSL_cleanse (self, sizeof *self);
    free (self);
    *self_p = NULL;
}

static v2_flight_result_t
s_done (v2_flight_parser_t *self, v2_flight_result_t result)
{
    self->state = S_DONE;
    self->result = result;
    if (result == V2_FLIGHT_BAD)
        v2_dir_destroy (&self->dir);
    return result;
}

//  Record 0's plaintext p (type, body): is it the HELLO we expect?
static v2_flight_result_t
s_check_hello (v2_flight_parser_t *self, const uint8_t *p, size_t len)
{
    size_t body_len = len - 1;
    const uint8_t *body = p + 1;
    if (p[0] != V2_HELLO || body_len < s_fixed (self->kind)
    ||  body[0] != V2_VERSION || body[1] != (uint8_t) self->kind)
        return s_done (self, V2_FLIGHT_BAD);
    self->hello.kind = self->kind;
    self->hello.time = s_get64 (body + 2);
    if (self->kind == V2_KIND_HANDOVER)
        memcpy (self->hello.id, body + V2_HELLO_FIXED, V2_ID_SIZE);
    return s_done (self, V2_FLIGHT_OK);
}

//  Record 0 is complete: open it and check it.
static v2_flight_result_t
s_check (v2_flight_parser_t *self)
{
    if (v2_open (self->dir, self->rec, self->rec_len) != 0)
        return s_done (self, V2_FLIGHT_BAD);
    return s_check_hello (self, self->rec + V2_LEN_SIZE, self->rec_len);
}

//  The TLS hello record is complete: parse it, derive the key from its
//  random, open the sealed HELLO from its fields.
static v2_flight_result_t
s_check_tls (v2_flight_parser_t *self)
{
    bool server = self->kind == V2_KIND_SERVER;
    size_t blob_len = server ? TLS_SH_BLOB : TLS_CH_BLOB;
    uint8_t sid[TLS_SID_SIZE], rec[V2_TLS_HEAD_SIZE + TLS_CH_BLOB] = { 0x17, 0x03, 0x03, 0 };
    uint8_t *blob = rec + V2_TLS_HEAD_SIZE;
    int rc = server ? tls_server_hello_parse (self->rec, self->need, self->salt, sid, blob)
                    : tls_client_hello_parse (self->rec, self->need, self->salt, blob);
    if (rc != 0)
        return s_done (self, V2_FLIGHT_BAD);
    if (!server)
        memcpy (self->hello.echo, blob, TLS_SID_SIZE);
    self->dir = s_dir (self->suite, self->k, self->klen, self->salt, self->kind,
                       self->has_cs ? self->cs : NULL);
    if (!self->dir)
        return s_done (self, V2_FLIGHT_BAD);
    v2_dir_set_tls (self->dir);
    rec[4] = (uint8_t) blob_len;
    size_t plen = blob_len - V2_TAG_SIZE;
    if (v2_peek_len (self->dir, rec) != (int) plen || v2_open (self->dir, rec, plen) != 0)
        return s_done (self, V2_FLIGHT_BAD);
    return s_check_hello (self, blob, plen);
}

//  The current state has all its bytes: on to the next one.
static v2_flight_result_t
s_step (v2_flight_parser_t *self)
{
    switch (self->state) {
        case S_SALT:
            self->dir = s_dir (self->suite, self->k, self->klen, self->salt, self->kind,
                               self->has_cs ? self->cs : NULL);
            if (!self->dir)
                return s_done (self, V2_FLIGHT_BAD);
            self->state = S_LEN;
            self->need = V2_LEN_SIZE;
            break;
        case S_LEN: {
            int len = v2_peek_len (self->dir, self->rec);
            if (len < 0 || (size_t) len < 1 + s_fixed (self->kind))
                return s_done (self, V2_FLIGHT_BAD);
            self->rec_len = (size_t) len;
            self->state = S_RECORD;
            self->need = V2_LEN_SIZE + (size_t) len + V2_TAG_SIZE;
            return V2_FLIGHT_NEED_MORE;         //  keeps `have`: the record includes ML
        }
        case S_RECORD:
            return s_check (self);
        case S_TLS_HEAD: {
            int len = tls_record_len (self->rec, TLS_HANDSHAKE);
            if (len < 4 || len > TLS_CH_RECORD_MAX - TLS_HEAD_SIZE)
                return s_done (self, V2_FLIGHT_BAD);
            self->state = S_TLS_BODY;
            self->need = TLS_HEAD_SIZE + (size_t) len;
            return V2_FLIGHT_NEED_MORE;         //  keeps `have`: the record includes its header
        }
        case S_TLS_BODY:
            return s_check_tls (self);
        case S_DONE:
            break;
    }
    self->have = 0;
    return V2_FLIGHT_NEED_MORE;
}

v2_flight_result_t
v2_flight_parser_feed (v2_flight_parser_t *self, const uint8_t *data, size_t len, size_t *used)
{
    *used = 0;
    while (self->state != S_DONE) {
        uint8_t *into = self->state == S_SALT ? self->salt : self->rec;
        size_t take = self->need - self->have;
        if (take > len - *used)
            take = len - *used;
        if (take)
            memcpy (into + self->have, data + *used, take);
        self->have += take;
        *used += take;
        if (self->have < self->need)
            return V2_FLIGHT_NEED_MORE;
        v2_flight_result_t result = s_step (self);
        if (result != V2_FLIGHT_NEED_MORE)
            return result;
    }
    return self->result;
}

const v2_hello_t *
v2_flight_parser_hello (v2_flight_parser_t *self)
{
    return self->result == V2_FLIGHT_OK ? &self->hello : NULL;
}

const uint8_t *
v2_flight_parser_salt (v2_flight_parser_t *self)
{
    return self->result == V2_FLIGHT_OK ? self->salt : NULL;
}

v2_dir_t *
v2_flight_parser_take_dir (v2_flight_parser_t *self)
{
    if (self->result != V2_FLIGHT_OK)
        return NULL;
    v2_dir_t *dir = self->dir;
    self->dir = NULL;
    return dir;
}
