/*  fuzz_hello — the v1 hello parser of the accepting end (nodes/wirecrypto.h).

    Input: a header byte (low 2 bits: the key, 16, 24 or 32 bytes; bit 2:
    the stream starts with a valid hello made from the next 16 bytes as IV;
    bit 3: then one bit of it, chosen by the next byte, is flipped), a split
    seed, then the rest of the stream.

    Checks, fed in pieces: while NEED_MORE each feed takes all it is given
    and fewer than 32 bytes came; the result is OK exactly when the first
    32 bytes are IV || HMAC(K, IV, 16) (computed here with wire_hmac), and
    then the hello took exactly 32 bytes, the IV is the stream's first 16
    and wire_hello_from_iv gives the same hello back; the result is final
    (OK takes nothing more, BAD takes everything); the IV is NULL unless
    OK; wire_next_id in place equals the HMAC of the ID.
*/
#include "nodes/wirecrypto.h"
#include "test/fuzz/fuzz_common.h"
#include "test/unit/test_keys.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    fuzz_in_t in = fuzz_in (data, size);
    uint8_t header = fuzz_u8 (&in);
    static const uint8_t *keys [] = { KEY16, KEY24, KEY32, KEY24 };
    static const size_t lens [] = { 16, 24, 32, 24 };
    const uint8_t *key = keys [header & 3];
    size_t keylen = lens [header & 3];

    uint8_t *stream = malloc (WIRE_HELLO_SIZE + size);
    size_t len = 0;
    if (header & 4) {
        uint8_t iv [WIRE_IV_SIZE] = { 0 };
        const uint8_t *p;
        memcpy (iv, HELLO_IV, sizeof iv);
        size_t n = fuzz_bytes (&in, WIRE_IV_SIZE, &p);
        memcpy (iv, p, n);
        FUZZ_CHECK (wire_hello_from_iv (key, keylen, iv, stream) == 0);
        if (header & 8) {
            uint8_t bit = fuzz_u8 (&in);
            stream [bit / 8 % WIRE_HELLO_SIZE] ^= (uint8_t) (1u << (bit % 8));
        }
        len = WIRE_HELLO_SIZE;
    }
    uint8_t seed = fuzz_u8 (&in);
    memcpy (stream + len, in.p, in.n);
    len += in.n;

    //  the reference
    bool complete = len >= WIRE_HELLO_SIZE, valid = false;
    if (complete) {
        uint8_t id0 [WIRE_ID_SIZE];
        FUZZ_CHECK (wire_hmac (key, keylen, stream, WIRE_IV_SIZE, id0, sizeof id0) == 0);
        valid = memcmp (id0, stream + WIRE_IV_SIZE, WIRE_ID_SIZE) == 0;
        FUZZ_CHECK (wire_hello_check (key, keylen, stream, NULL) == valid);
        //  the ID chain, in place
        uint8_t id [WIRE_ID_SIZE], next [WIRE_ID_SIZE];
        memcpy (id, id0, sizeof id);
        FUZZ_CHECK (wire_hmac (key, keylen, id0, sizeof id0, next, sizeof next) == 0);
        FUZZ_CHECK (wire_next_id (key, keylen, id, id) == 0);
        FUZZ_CHECK (memcmp (id, next, sizeof id) == 0);
    }

    FUZZ_CHECK (wire_hello_parser_new (key, 20) == NULL);
    wire_hello_parser_t *parser = wire_hello_parser_new (key, keylen);
    FUZZ_CHECK (parser);
    fuzz_split_t split = fuzz_split (seed);
    size_t pos = 0, took = 0;
    wire_hello_result_t r = WIRE_HELLO_NEED_MORE;
    do {
        size_t piece = fuzz_split_next (&split, len - pos);
        uint8_t *copy = fuzz_dup (stream + pos, piece);
        size_t used = 999;
        wire_hello_result_t now = wire_hello_parser_feed (parser, copy, piece, &used);
        free (copy);
        FUZZ_CHECK (used <= piece);
        if (r == WIRE_HELLO_NEED_MORE) {
            if (now == WIRE_HELLO_NEED_MORE)
                FUZZ_CHECK (used == piece && took + used < WIRE_HELLO_SIZE);
            else
                FUZZ_CHECK (took + used == WIRE_HELLO_SIZE);
            took += used;
        }
        else {
            FUZZ_CHECK (now == r);
            FUZZ_CHECK (used == (r == WIRE_HELLO_OK ? 0 : piece));
        }
        r = now;
        FUZZ_CHECK ((wire_hello_parser_iv (parser) != NULL) == (r == WIRE_HELLO_OK));
        pos += piece;
    } while (pos < len);

    if (!complete)
        FUZZ_CHECK (r == WIRE_HELLO_NEED_MORE);
    else
        FUZZ_CHECK (r == (valid ? WIRE_HELLO_OK : WIRE_HELLO_BAD));
    if (r == WIRE_HELLO_OK) {
        const uint8_t *iv = wire_hello_parser_iv (parser);
        FUZZ_CHECK (memcmp (iv, stream, WIRE_IV_SIZE) == 0);
        uint8_t again [WIRE_HELLO_SIZE];
        FUZZ_CHECK (wire_hello_from_iv (key, keylen, iv, again) == 0);
        FUZZ_CHECK (memcmp (again, stream, WIRE_HELLO_SIZE) == 0);
        size_t used = 999;
        FUZZ_CHECK (wire_hello_parser_feed (parser, stream, len, &used) == WIRE_HELLO_OK && used == 0);
    }
    if (r == WIRE_HELLO_BAD) {
        size_t used = 999;
        FUZZ_CHECK (wire_hello_parser_feed (parser, stream, len, &used) == WIRE_HELLO_BAD && used == len);
    }
    wire_hello_parser_destroy (&parser);
    free (stream);
    return 0;
}
