/*  fuzz_tls_hello — the TLS-shaped first flights' parsers: the ClientHello
    and ServerHello codec (nodes/tls_hello.h) and v2's TLS flight parser
    (nodes/v2_flight.h) around it.

    Input: a header byte (low 2 bits: what is fuzzed: 0 the input as one
    record to both codec parsers; 1 a valid ClientHello, 2 a valid
    ServerHello, each with (position, value) pairs from the input written
    into it; 3 the input fed in pieces to a TLS flight parser at the server
    and at the client), then the rest.

    Checks: a parse that succeeds gives fields that, made into a hello
    again, parse to the same fields; an unchanged hello parses to what it
    was made of; the flight parser's result is final (OK or BAD take
    nothing more), NEED_MORE takes all it is given, and (no key known to
    the input) a flight of random bytes is never OK.
*/
#include <stdlib.h>
#include <string.h>

#include "nodes/tls_hello.h"
#include "nodes/v2_flight.h"
#include "test/fuzz/fuzz_common.h"

static const uint8_t s_key[32] = { 7 };
static const uint8_t s_cs[32] = { 9 };

static void
s_check_client (const uint8_t *rec, size_t len)
{
    uint8_t rnd[32], blob[TLS_CH_BLOB], rec2[TLS_CH_RECORD_MAX], rnd2[32], blob2[TLS_CH_BLOB];
    if (tls_client_hello_parse (rec, len, rnd, blob) != 0)
        return;
    int n = tls_client_hello_make (rnd, blob, 0, "fuzz.test", rec2, sizeof rec2);
    FUZZ_CHECK (n > 0);
    FUZZ_CHECK (tls_client_hello_parse (rec2, (size_t) n, rnd2, blob2) == 0);
    FUZZ_CHECK (memcmp (rnd, rnd2, 32) == 0 && memcmp (blob, blob2, TLS_CH_BLOB) == 0);
}

static void
s_check_server (const uint8_t *rec, size_t len)
{
    uint8_t rnd[32], sid[32], blob[TLS_SH_BLOB], rec2[TLS_SH_SIZE];
    uint8_t rnd2[32], sid2[32], blob2[TLS_SH_BLOB];
    if (tls_server_hello_parse (rec, len, rnd, sid, blob) != 0)
        return;
    FUZZ_CHECK (tls_server_hello_make (rnd, sid, blob, 0, rec2, sizeof rec2) == TLS_SH_SIZE);
    FUZZ_CHECK (tls_server_hello_parse (rec2, TLS_SH_SIZE, rnd2, sid2, blob2) == 0);
    FUZZ_CHECK (memcmp (rnd, rnd2, 32) == 0 && memcmp (sid, sid2, 32) == 0
                && memcmp (blob, blob2, TLS_SH_BLOB) == 0);
}

static void
s_mutate (uint8_t *rec, size_t len, fuzz_in_t *in)
{
    while (fuzz_more (in)) {
        size_t at = fuzz_u16 (in) % len;
        rec[at] = fuzz_u8 (in);
    }
}

static void
s_flight (const uint8_t *data, size_t len, v2_kind_t kind, uint8_t seed)
{
    v2_flight_parser_t *p = v2_flight_parser_new_tls (V2_AES_256_GCM, s_key, 32, kind,
                                                      kind == V2_KIND_SERVER ? s_cs : NULL);
    FUZZ_CHECK (p != NULL);
    size_t at = 0, step = 1 + seed % 97;
    v2_flight_result_t r = V2_FLIGHT_NEED_MORE;
    while (at < len) {
        size_t piece = len - at < step ? len - at : step, used = 0;
        r = v2_flight_parser_feed (p, data + at, piece, &used);
        FUZZ_CHECK (used <= piece);
        if (r == V2_FLIGHT_NEED_MORE)
            FUZZ_CHECK (used == piece);
        at += used;
        if (r != V2_FLIGHT_NEED_MORE)
            break;
    }
    FUZZ_CHECK (r != V2_FLIGHT_OK);         //  nobody here knows how to seal for s_key
    size_t used = 1;
    if (r != V2_FLIGHT_NEED_MORE)
        FUZZ_CHECK (v2_flight_parser_feed (p, data, len, &used) == r && used == 0);
    v2_flight_parser_destroy (&p);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    fuzz_in_t in = fuzz_in (data, size);
    uint8_t header = fuzz_u8 (&in);
    static const uint8_t zeros[TLS_CH_BLOB];
    uint8_t rec[TLS_CH_RECORD_MAX], rnd[32], blob[TLS_CH_BLOB], sid[32];
    int n;
    switch (header & 3) {
        case 0:
            s_check_client (in.p, in.n);
            s_check_server (in.p, in.n);
            break;
        case 1:
            n = tls_client_hello_make (s_cs, zeros, header, "www.example.com", rec, sizeof rec);
            FUZZ_CHECK (n == 517 && tls_client_hello_parse (rec, 517, rnd, blob) == 0);
            FUZZ_CHECK (memcmp (rnd, s_cs, 32) == 0 && memcmp (blob, zeros, TLS_CH_BLOB) == 0);
            s_mutate (rec, (size_t) n, &in);
            s_check_client (rec, (size_t) n);
            s_check_server (rec, (size_t) n);
            break;
        case 2:
            n = tls_server_hello_make (s_cs, zeros, zeros, header, rec, sizeof rec);
            FUZZ_CHECK (n == TLS_SH_SIZE && tls_server_hello_parse (rec, TLS_SH_SIZE, rnd, sid,
                                                                    blob) == 0);
            s_mutate (rec, (size_t) n, &in);
            s_check_server (rec, (size_t) n);
            s_check_client (rec, (size_t) n);
            break;
        default:
            s_flight (in.p, in.n, V2_KIND_TUNNEL, header);
            s_flight (in.p, in.n, V2_KIND_SERVER, header);
            break;
    }
    return 0;
}
