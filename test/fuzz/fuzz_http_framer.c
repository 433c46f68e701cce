/*  fuzz_http_framer — the HTTP body framer (handlers/http_codec.h) alone.

    Input: a mode byte (low 2 bits the body kind; bit 2: the rest is a
    payload that the harness frames as a valid chunked body itself), a
    content length byte (LENGTH: 0..255, or from 8 more bytes when 255), a
    split seed, then the bytes.

    Checks: see fuzz_http_framer_lib.h (a feed takes at most its piece and
    all of it while MORE, DONE and ERROR are final and take nothing more, a
    LENGTH body ends after exactly its length, UNTIL_CLOSE never ends);
    the stream framed whole and in pieces ends at the same byte with the
    same result; a chunked body the harness wrote (chunk sizes from the
    seed, in upper or lower case hex, with or without an extension, with
    and without trailers, CRLF or bare LF) ends exactly after its last
    byte, whatever follows.
*/
#include "handlers/http_codec.h"
#include "test/fuzz/fuzz_common.h"
#include "test/fuzz/fuzz_http_framer_lib.h"

//  payload as a chunked body followed by 3 bytes of the next message.
static size_t
s_chunked (const uint8_t *payload, size_t len, uint8_t seed, uint8_t *out)
{
    fuzz_split_t split = fuzz_split (seed > 1 ? seed : 7);
    size_t n = 0, pos = 0;
    bool bare_lf = seed & 1, upper = seed & 2, ext = seed & 4, trailers = seed & 8;
    const char *eol = bare_lf ? "\n" : "\r\n";
    while (pos < len) {
        size_t piece = fuzz_split_next (&split, len - pos);
        n += (size_t) sprintf ((char *) out + n, upper ? "%zX%s%s" : "%zx%s%s", piece,
                               ext ? ";name=value" : "", eol);
        memcpy (out + n, payload + pos, piece);
        n += piece;
        n += (size_t) sprintf ((char *) out + n, "%s", eol);
        pos += piece;
    }
    n += (size_t) sprintf ((char *) out + n, "0%s%s%s", eol, trailers ? "Trailer-Field: x" : "",
                           trailers ? eol : "");
    n += (size_t) sprintf ((char *) out + n, "%s", eol);
    return n;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    fuzz_in_t in = fuzz_in (data, size);
    uint8_t mode = fuzz_u8 (&in);
    uint64_t length = fuzz_u8 (&in);
    if (length == 255)
        length = fuzz_u64 (&in);
    uint8_t seed = fuzz_u8 (&in);
    http_body_t kind = (http_body_t) (mode & 3);

    fuzz_frame_run_t whole = fuzz_frame_run (kind, length, in.p, in.n, 0);
    fuzz_frame_run_t pieces = fuzz_frame_run (kind, length, in.p, in.n, seed);
    fuzz_frame_run_t bytes = fuzz_frame_run (kind, length, in.p, in.n, 1);
    FUZZ_CHECK (whole.result == pieces.result && whole.used == pieces.used);
    FUZZ_CHECK (whole.result == bytes.result && whole.used == bytes.used);

    if (mode & 4) {
        //  a valid chunked body (each chunk costs < 32 bytes of framing)
        uint8_t *body = malloc (in.n * 32 + 64);
        size_t n = s_chunked (in.p, in.n, seed, body);
        memcpy (body + n, "GET", 3);
        fuzz_frame_run_t run = fuzz_frame_run (HTTP_BODY_CHUNKED, 0, body, n + 3, 0);
        FUZZ_CHECK (run.result == HTTP_FRAME_DONE && run.used == n);
        run = fuzz_frame_run (HTTP_BODY_CHUNKED, 0, body, n + 3, seed);
        FUZZ_CHECK (run.result == HTTP_FRAME_DONE && run.used == n);
        free (body);
    }
    return 0;
}
