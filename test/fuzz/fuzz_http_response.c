/*  fuzz_http_response — the HTTP response codec and the body framer behind
    it (handlers/http_codec.h), as the proxy runs them on what an origin
    sends: interim (1xx) heads, then a final head, then its body.

    Input: a flags byte (bit 0 the request was HEAD, bit 1 the client
    connection closes, bit 2 the client spoke HTTP/1.0), a split seed, then
    the origin's bytes.

    Checks: every head parsed whole and incrementally gives the same result
    and fields; results are final; an ERROR has a reason; an OK head lies
    within the input and ends with LF, has a code 100..999 (not 101) and
    version, an interim one has no body, HEAD/204/304 responses have none,
    a reusable connection never has a body that runs until the close; the
    rewrite fits HTTP_REWRITE_MAX, fails cleanly one byte short, keeps no
    hop-by-hop header but its own Connection line, and parses again to the
    same code, version and framing (round trip); the body after the final
    head framed whole and in pieces ends at the same byte (see
    fuzz_http_framer_lib.h for the framer's own checks).
*/
#include "handlers/http_codec.h"
#include "handlers/http_head.h"
#include "test/fuzz/fuzz_common.h"
#include "test/fuzz/fuzz_http_framer_lib.h"

static void
s_check_final (http_response_t *res, const uint8_t *data, size_t len, bool is_head,
               http_result_t r)
{
    if (r == HTTP_ERROR) {
        FUZZ_CHECK (res->error && *res->error);
        FUZZ_CHECK (res->head_len == 0);
        FUZZ_CHECK (http_response_parse (res, data, len, is_head) == HTTP_ERROR);
    }
    else
    if (r == HTTP_OK) {
        size_t head_len = res->head_len;
        FUZZ_CHECK (res->error == NULL);
        FUZZ_CHECK (http_response_parse (res, data, len, is_head) == HTTP_OK);
        FUZZ_CHECK (res->head_len == head_len);
    }
    else
        FUZZ_CHECK (res->error == NULL && res->head_len == 0);
}

//  One head at data[0..len): whole and incrementally; returns the result.
static http_result_t
s_parse (const uint8_t *data, size_t len, bool is_head, uint8_t seed, http_response_t *res)
{
    http_response_init (res);
    uint8_t *buf = fuzz_dup (data, len);
    http_result_t r = http_response_parse (res, buf, len, is_head);
    s_check_final (res, buf, len, is_head, r);

    http_response_t inc;
    http_response_init (&inc);
    fuzz_split_t split = fuzz_split (seed ? seed : 1);
    http_result_t ri = len ? HTTP_NEED_MORE : http_response_parse (&inc, buf, 0, is_head);
    size_t have = 0;
    while (ri == HTTP_NEED_MORE && have < len) {
        have += fuzz_split_next (&split, len - have);
        uint8_t *prefix = fuzz_dup (buf, have);
        ri = http_response_parse (&inc, prefix, have, is_head);
        s_check_final (&inc, prefix, have, is_head, ri);
        free (prefix);
    }
    FUZZ_CHECK (ri == r);
    if (r == HTTP_OK) {
        FUZZ_CHECK (inc.head_len == res->head_len && inc.code == res->code);
        FUZZ_CHECK (inc.version == res->version && inc.interim == res->interim);
        FUZZ_CHECK (inc.body == res->body && inc.content_length == res->content_length);
        FUZZ_CHECK (inc.reusable == res->reusable);
    }
    free (buf);
    return r;
}

static void
s_check_ok (const http_response_t *res, const uint8_t *data, size_t len, bool is_head)
{
    FUZZ_CHECK (res->head_len >= 1 && res->head_len <= len && res->head_len <= HTTP_HEAD_MAX);
    FUZZ_CHECK (data [res->head_len - 1] == '\n');
    FUZZ_CHECK (res->code >= 100 && res->code <= 999 && res->code != 101);
    FUZZ_CHECK (res->version == 10 || res->version == 11);
    FUZZ_CHECK (res->interim == (res->code < 200));
    if (res->interim || is_head || res->code == 204 || res->code == 304)
        FUZZ_CHECK (res->body == HTTP_BODY_NONE);
    if (res->reusable)
        FUZZ_CHECK (res->body != HTTP_BODY_UNTIL_CLOSE);
    if (res->body != HTTP_BODY_LENGTH)
        FUZZ_CHECK (res->content_length == 0);
}

static void
s_check_rewrite (const http_response_t *res, const uint8_t *head, bool is_head,
                 bool client_close, int client_version)
{
    char *out = malloc (HTTP_REWRITE_MAX);
    int n = http_response_rewrite (res, head, client_close, client_version, out, HTTP_REWRITE_MAX);
    FUZZ_CHECK (n > 0 && n <= HTTP_REWRITE_MAX);
    char *short_out = malloc ((size_t) n - 1);
    FUZZ_CHECK (http_response_rewrite (res, head, client_close, client_version, short_out,
                                       (size_t) n - 1) == -1);
    free (short_out);
    FUZZ_CHECK (n >= 4 && memcmp (out + n - 4, "\r\n\r\n", 4) == 0);
    FUZZ_CHECK (memchr (out, 0, (size_t) n) == NULL);
    //  the status line goes on unchanged
    FUZZ_CHECK ((size_t) n >= res->scan.first_line_len + 2);
    FUZZ_CHECK (memcmp (out, head + res->scan.first_line, res->scan.first_line_len) == 0);

    const uint8_t *o = (const uint8_t *) out;
    size_t headers = res->scan.first_line_len + 2, pos = headers, connection = 0, lines = 0;
    http_header_t h;
    static const char *hop [] = { "Proxy-Connection", "Keep-Alive", "Upgrade", NULL };
    while (http_head_next_header (o, (size_t) n, &pos, &h)) {
        lines++;
        for (const char **p = hop; *p; p++)
            FUZZ_CHECK (!http_ieq (h.name, h.name_len, *p));
        if (http_ieq (h.name, h.name_len, "Connection"))
            connection++;
    }
    FUZZ_CHECK (pos == (size_t) n);
    FUZZ_CHECK (connection == (client_close || client_version == 10 || res->version == 10 ? 1u : 0u));

    if ((size_t) n < HTTP_HEAD_MAX && lines <= HTTP_HEADERS_MAX) {
        uint8_t *copy = fuzz_dup (o, (size_t) n);
        http_response_t r2;
        http_response_init (&r2);
        FUZZ_CHECK (http_response_parse (&r2, copy, (size_t) n, is_head) == HTTP_OK);
        FUZZ_CHECK (r2.head_len == (size_t) n);
        FUZZ_CHECK (r2.code == res->code && r2.version == res->version);
        FUZZ_CHECK (r2.interim == res->interim);
        FUZZ_CHECK (r2.body == res->body && r2.content_length == res->content_length);
        if (client_close)
            FUZZ_CHECK (!r2.reusable);
        free (copy);
    }
    free (out);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    fuzz_in_t in = fuzz_in (data, size);
    uint8_t flags = fuzz_u8 (&in);
    uint8_t seed = fuzz_u8 (&in);
    bool is_head = flags & 1, client_close = flags & 2;
    int client_version = flags & 4 ? 10 : 11;

    size_t off = 0;
    for (int heads = 0; heads < 8; heads++) {
        http_response_t res;
        http_result_t r = s_parse (in.p + off, in.n - off, is_head, seed, &res);
        if (r != HTTP_OK)
            break;
        const uint8_t *head = in.p + off;
        s_check_ok (&res, head, in.n - off, is_head);
        s_check_rewrite (&res, head, is_head, client_close, client_version);
        off += res.head_len;
        if (res.interim)
            continue;
        //  the body: whole and in pieces, ending at the same byte
        fuzz_frame_run_t whole = fuzz_frame_run (res.body, res.content_length, in.p + off,
                                                 in.n - off, 0);
        fuzz_frame_run_t pieces = fuzz_frame_run (res.body, res.content_length, in.p + off,
                                                  in.n - off, seed);
        FUZZ_CHECK (whole.result == pieces.result && whole.used == pieces.used);
        break;
    }
    return 0;
}
