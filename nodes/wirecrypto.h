/*  wirecrypto — the clear-text part of the wire protocol v1 (PROTOCOL.md
    sections 1, 2 and 5): HMAC-SHA1 helpers, IV generation, the hello
    (IV || ID0) that opens every tunnel connection, its parser on the
    accepting end, and the chain of handover IDs.

    K is the wormhole's pre-shared key: 16, 24 or 32 bytes (AES-128/192/256
    for the cipher, and the HMAC key for everything here). Never log it.
*/
#ifndef MK_WIRECRYPTO_H
#define MK_WIRECRYPTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define WIRE_IV_SIZE    16
#define WIRE_ID_SIZE    16
#define WIRE_HELLO_SIZE 32      //  IV || ID0
#define WIRE_KEY_MAX    32
#define WIRE_HMAC_MAX   20      //  SHA-1

//  16, 24 or 32: the key lengths of the protocol.
bool wire_key_valid (size_t keylen);


//  --- HMAC-SHA1 truncated to n bytes (1 <= n <= 20)

//  One shot. Returns 0, or -1 if n is out of range or OpenSSL fails.
int wire_hmac (const uint8_t *key, size_t keylen, const uint8_t *msg, size_t msglen,
               uint8_t *out, size_t n);

//  The same with the key set up once, for many short messages (the in-band
//  scanner computes one per byte offset): saves the key schedule and the
//  algorithm fetch of every one-shot call.
typedef struct wire_mac_t wire_mac_t;

wire_mac_t *wire_mac_new (const uint8_t *key, size_t keylen);
void wire_mac_destroy (wire_mac_t **self_p);
int wire_mac_compute (wire_mac_t *self, const uint8_t *msg, size_t msglen, uint8_t *out, size_t n);


//  --- IVs and the hello

//  How an IV was drawn (for tests of the scheme).
typedef struct {
    bool random;        //  the 1/3 case: 16 random bytes
    uint8_t t;          //  otherwise each byte = (uniform(1..q) + t) mod 256
    unsigned q;         //  256 div uniform(1..10)
} wire_iv_info_t;

//  The original's IV scheme: with probability 1/3, 16 random bytes; else
//  deliberately low-entropy bytes (see wire_iv_info_t). Draws are unbiased
//  (rejection sampling on RAND_bytes). info may be NULL. Returns 0, or -1
//  if the random generator fails.
int wire_iv_generate (uint8_t iv[WIRE_IV_SIZE], wire_iv_info_t *info);

//  hello = IV || HMAC(K, IV, 16) for a given IV.
int wire_hello_from_iv (const uint8_t *key, size_t keylen, const uint8_t iv[WIRE_IV_SIZE],
                        uint8_t hello[WIRE_HELLO_SIZE]);

//  A fresh IV (wire_iv_generate) and its hello, for the dialing end: a
//  marked one (wire_hello_marked), drawn again until it is (at most
//  WIRE_MARK_TRIES draws; then the last, unmarked).
int wire_hello_make (const uint8_t *key, size_t keylen, uint8_t iv_out[WIRE_IV_SIZE],
                     uint8_t hello_out[WIRE_HELLO_SIZE]);

//  The mark of a C dialing end (docs/PROTOCOL-EXTENSIONS.md, "The dialing
//  end's mark"): the first WIRE_MARK_BITS bits of bytes 16..19 of
//  HMAC-SHA1(K, IV), which ID0 leaves out (ID0 is the first 16), are zero.
//  Any IV is valid, so the original accepts it; without K nobody can tell.
//  An original's IV has it by chance, once in 2^WIRE_MARK_BITS. Each bit
//  doubles the draws a dial costs (8: ~256 HMACs, ~0.1 ms, which a
//  distributed v1 request pays in full).
#define WIRE_MARK_BITS  8
#define WIRE_MARK_TRIES 32768
bool wire_hello_marked (const uint8_t *key, size_t keylen, const uint8_t iv[WIRE_IV_SIZE]);

//  True if hello carries the right ID0 (constant-time compare); then its IV
//  is copied to iv_out (may be NULL).
bool wire_hello_check (const uint8_t *key, size_t keylen, const uint8_t hello[WIRE_HELLO_SIZE],
                       uint8_t iv_out[WIRE_IV_SIZE]);


//  --- Handover IDs: ID0 = HMAC(K, IV, 16), ID(n+1) = HMAC(K, ID(n), 16)

//  id_out may equal id_in. Returns 0 or -1.
int wire_next_id (const uint8_t *key, size_t keylen, const uint8_t id_in[WIRE_ID_SIZE],
                  uint8_t id_out[WIRE_ID_SIZE]);


//  --- Hello parser for the accepting end
//
//  Collects the 32 hello bytes across any split of the incoming segments
//  (in order: the original gets split hellos wrong), then checks ID0.

typedef enum {
    WIRE_HELLO_NEED_MORE,   //  all bytes taken, fewer than 32 so far
    WIRE_HELLO_OK,          //  hello valid; bytes after *used belong to the stream
    WIRE_HELLO_BAD          //  wrong ID0: never answer (section 2), discard the rest
} wire_hello_result_t;

typedef struct wire_hello_parser_t wire_hello_parser_t;

//  NULL if keylen is not a protocol key length.
wire_hello_parser_t *wire_hello_parser_new (const uint8_t *key, size_t keylen);
void wire_hello_parser_destroy (wire_hello_parser_t **self_p);

//  Feeds one segment. *used (may be NULL) is set to how many bytes of data
//  the hello took: with OK, data[*used..len) is the first encrypted stream
//  data. Once OK or BAD, the result is final: later calls take no bytes
//  (OK) or all of them (BAD) and return it again.
wire_hello_result_t wire_hello_parser_feed (wire_hello_parser_t *self, const uint8_t *data,
                                            size_t len, size_t *used);

//  The peer's IV once the result is OK, else NULL.
const uint8_t *wire_hello_parser_iv (wire_hello_parser_t *self);
//  Its ID0 (the hello's last WIRE_HELLO_SIZE - WIRE_IV_SIZE bytes, checked
//  to be the HMAC of the IV) once the result is OK, else NULL.
const uint8_t *wire_hello_parser_id0 (wire_hello_parser_t *self);

#endif
