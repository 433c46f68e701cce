/*  fuzz_v2_flight — the v2 first-flight parser of either end (nodes/v2_flight.h).

    Input: a header byte (bit 0: the suite; bits 1-2: the kind expected,
    TUNNEL, HANDOVER or SERVER; bit 3: the stream starts with a real flight
    of that kind made from the next 32 bytes as salt, a time and a padding
    length; bit 4: then one bit of it, chosen by the next two bytes, is
    flipped), a split seed, then the rest of the stream.

    Checks, fed in pieces: while NEED_MORE each feed takes all it is given;
    OK only for a real, unflipped flight, which it takes exactly (its size,
    v2_flight_size), giving back its salt and hello; a flipped flight is
    never OK (BAD once complete); the result is final; the direction the
    parser hands over opens a record the maker's direction sealed after
    the flight. Garbage is never OK.
*/
#include "nodes/v2_flight.h"
#include "test/fuzz/fuzz_common.h"

static const uint8_t s_key[32] = "fuzz v2 flight key, 32 bytes...";
static const uint8_t s_cs[V2_SALT_SIZE] = "the client salt of a server fl.";

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    fuzz_in_t in = fuzz_in (data, size);
    uint8_t header = fuzz_u8 (&in);
    v2_suite_t suite = (header & 1) ? V2_CHACHA20_POLY1305 : V2_AES_256_GCM;
    static const v2_kind_t kinds[4] = { V2_KIND_TUNNEL, V2_KIND_HANDOVER, V2_KIND_SERVER,
                                        V2_KIND_TUNNEL };
    v2_kind_t kind = kinds[(header >> 1) & 3];
    const uint8_t *cs = kind == V2_KIND_SERVER ? s_cs : NULL;

    size_t cap = 2 * 1024 + size;
    uint8_t *stream = malloc (cap);
    size_t len = 0, flight_len = 0;
    bool real = false, flipped = false;
    v2_hello_t hello = { .kind = kind };
    uint8_t salt[V2_SALT_SIZE] = { 0 };
    v2_dir_t *maker = NULL;
    if (header & 8) {
        const uint8_t *p;
        size_t n = fuzz_bytes (&in, sizeof salt, &p);
        memcpy (salt, p, n);
        hello.time = fuzz_u64 (&in);
        if (kind == V2_KIND_HANDOVER) {
            n = fuzz_bytes (&in, V2_ID_SIZE, &p);
            memcpy (hello.id, p, n);
        }
        size_t padlen = fuzz_u16 (&in) % (V2_PAD_MAX + 1);
        flight_len = v2_flight_size (kind, padlen);
        FUZZ_CHECK (flight_len <= cap);
        FUZZ_CHECK (v2_flight_make (suite, s_key, sizeof s_key, salt, cs, &hello, padlen,
                                    stream, cap, &maker) == (int) flight_len);
        FUZZ_CHECK (maker);
        real = true;
        len = flight_len;
        if (header & 16) {
            uint16_t bit = fuzz_u16 (&in);
            stream[bit / 8 % flight_len] ^= (uint8_t) (1u << (bit % 8));
            flipped = true;
        }
    }
    uint8_t seed = fuzz_u8 (&in);
    memcpy (stream + len, in.p, in.n);
    len += in.n;

    v2_flight_parser_t *parser = v2_flight_parser_new (suite, s_key, sizeof s_key, kind, cs);
    FUZZ_CHECK (parser);
    fuzz_split_t split = fuzz_split (seed);
    size_t pos = 0, took = 0;
    v2_flight_result_t r = V2_FLIGHT_NEED_MORE;
    while (pos < len) {
        size_t piece = fuzz_split_next (&split, len - pos);
        uint8_t *copy = fuzz_dup (stream + pos, piece);
        size_t used = 999999;
        v2_flight_result_t now = v2_flight_parser_feed (parser, copy, piece, &used);
        free (copy);
        FUZZ_CHECK (used <= piece);
        if (r == V2_FLIGHT_NEED_MORE) {
            if (now == V2_FLIGHT_NEED_MORE)
                FUZZ_CHECK (used == piece);
            took += used;
        }
        else
            FUZZ_CHECK (now == r);
        r = now;
        pos += piece;
        if (r == V2_FLIGHT_OK)
            break;
    }
    if (r == V2_FLIGHT_OK) {
        //  Only a real flight passes: forging one means breaking the AEAD.
        FUZZ_CHECK (real && !flipped);
        FUZZ_CHECK (took == flight_len);
        FUZZ_CHECK (memcmp (v2_flight_parser_salt (parser), salt, sizeof salt) == 0);
        const v2_hello_t *got = v2_flight_parser_hello (parser);
        FUZZ_CHECK (got && got->kind == kind && got->time == hello.time);
        if (kind == V2_KIND_HANDOVER)
            FUZZ_CHECK (memcmp (got->id, hello.id, V2_ID_SIZE) == 0);
        //  The two directions go on from the same record.
        v2_dir_t *rx = v2_flight_parser_take_dir (parser);
        FUZZ_CHECK (rx);
        FUZZ_CHECK (v2_dir_count (rx) == v2_dir_count (maker));
        uint8_t record[V2_OVERHEAD + 8];
        FUZZ_CHECK (v2_seal (maker, V2_DATA, (const uint8_t *) "8 bytes!", 8, record)
                    == (int) sizeof record);
        FUZZ_CHECK (v2_peek_len (rx, record) == 9);
        FUZZ_CHECK (v2_open (rx, record, 9) == 0);
        FUZZ_CHECK (record[2] == V2_DATA && memcmp (record + 3, "8 bytes!", 8) == 0);
        v2_dir_destroy (&rx);
    }
    else
        FUZZ_CHECK (!real || flipped);  //  a real flight, whole: it had to pass
    v2_dir_destroy (&maker);
    v2_flight_parser_destroy (&parser);
    free (stream);
    return 0;
}
