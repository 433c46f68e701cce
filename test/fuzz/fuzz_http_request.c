/*  fuzz_http_request — the proxy's HTTP request codec and the head scanner
    under it (handlers/http_codec.h, handlers/http_head.h).

    Input: a split seed, then the client's bytes.

    Checks: the head parsed whole and parsed incrementally (the caller's way:
    the same buffer growing, piece sizes from the seed) gives the same
    result, and on OK the same head and fields; a result is final (OK stays
    OK with the same head_len, ERROR stays ERROR); an ERROR has a known
    status and a reason; an OK head lies within the input and ends with LF,
    has a known method and version, a host and port, a path inside the head;
    its header lines (http_head_next_header) lie inside the head; the
    rewrite of an absolute-URI request fits HTTP_REWRITE_MAX, fails cleanly
    in a buffer one byte short, carries one Host header and no hop-by-hop
    header but its own Connection line, and, put back in absolute form,
    parses again to the same method, version, target, path and framing
    (round trip).
*/
#include "handlers/http_codec.h"
#include "handlers/http_head.h"
#include "test/fuzz/fuzz_common.h"

static bool
s_status_known (int status)
{
    return status == 400 || status == 414 || status == 431 || status == 501 || status == 505;
}

static void
s_check_final (http_request_t *req, const uint8_t *data, size_t len, http_result_t r)
{
    if (r == HTTP_ERROR) {
        FUZZ_CHECK (s_status_known (req->status));
        FUZZ_CHECK (req->error && *req->error);
        FUZZ_CHECK (req->head_len == 0);
        FUZZ_CHECK (http_request_parse (req, data, len) == HTTP_ERROR);
    }
    else
    if (r == HTTP_OK) {
        size_t head_len = req->head_len;
        FUZZ_CHECK (req->status == 0);
        FUZZ_CHECK (http_request_parse (req, data, len) == HTTP_OK);
        FUZZ_CHECK (req->head_len == head_len);
    }
    else
        FUZZ_CHECK (req->status == 0 && req->head_len == 0);
}

static void
s_same (const http_request_t *a, const http_request_t *b)
{
    FUZZ_CHECK (a->head_len == b->head_len);
    FUZZ_CHECK (strcmp (a->method, b->method) == 0);
    FUZZ_CHECK (a->is_connect == b->is_connect && a->is_head == b->is_head);
    FUZZ_CHECK (a->version == b->version);
    FUZZ_CHECK (strcmp (a->target.host, b->target.host) == 0);
    FUZZ_CHECK (a->target.port == b->target.port);
    FUZZ_CHECK (a->path == b->path && a->path_len == b->path_len);
    FUZZ_CHECK (a->keep_alive == b->keep_alive);
    FUZZ_CHECK (a->body == b->body && a->content_length == b->content_length);
}

static void
s_check_ok (const http_request_t *req, const uint8_t *data, size_t len)
{
    FUZZ_CHECK (req->head_len >= 1 && req->head_len <= len && req->head_len <= HTTP_HEAD_MAX);
    FUZZ_CHECK (data [req->head_len - 1] == '\n');
    FUZZ_CHECK (req->version == 10 || req->version == 11);
    FUZZ_CHECK (req->method [0] && memchr (req->method, 0, sizeof req->method));
    FUZZ_CHECK (req->target.host [0] && req->target.port >= 1);
    FUZZ_CHECK (memchr (req->target.host, 0, sizeof req->target.host));
    FUZZ_CHECK (req->body == HTTP_BODY_NONE || req->body == HTTP_BODY_LENGTH
             || req->body == HTTP_BODY_CHUNKED);
    if (req->is_connect)
        FUZZ_CHECK (req->body == HTTP_BODY_NONE);
    else {
        FUZZ_CHECK (req->path <= req->head_len && req->path_len <= req->head_len - req->path);
        FUZZ_CHECK (memchr (data + req->path, '\n', req->path_len) == NULL);
    }
    FUZZ_CHECK (req->scan.headers <= req->head_len);
    size_t pos = req->scan.headers;
    http_header_t h;
    int count = 0;
    while (http_head_next_header (data, req->head_len, &pos, &h)) {
        FUZZ_CHECK (h.line >= data && h.line + h.line_len <= data + req->head_len);
        FUZZ_CHECK (h.name == h.line && h.name_len >= 1 && h.name_len < h.line_len);
        FUZZ_CHECK (h.value >= h.name + h.name_len + 1
                 && h.value + h.value_len <= h.line + h.line_len);
        for (size_t i = 0; i < h.name_len; i++)
            FUZZ_CHECK (http_is_tchar (h.name [i]));
        FUZZ_CHECK (++count <= HTTP_HEADERS_MAX);
    }
    FUZZ_CHECK (count == req->scan.header_count);
}

static void
s_check_rewrite (const http_request_t *req, const uint8_t *head)
{
    char *out = malloc (HTTP_REWRITE_MAX);
    int n = http_request_rewrite (req, head, out, HTTP_REWRITE_MAX);
    FUZZ_CHECK (n > 0 && n <= HTTP_REWRITE_MAX);
    //  exactly one byte short: -1, nothing written past the end
    char *short_out = malloc ((size_t) n - 1);
    FUZZ_CHECK (http_request_rewrite (req, head, short_out, (size_t) n - 1) == -1);
    free (short_out);
    FUZZ_CHECK (n >= 4 && memcmp (out + n - 4, "\r\n\r\n", 4) == 0);
    FUZZ_CHECK (memchr (out, 0, (size_t) n) == NULL);

    //  what the origin gets is a well-formed head
    const uint8_t *o = (const uint8_t *) out;
    const uint8_t *sp = memchr (o, ' ', (size_t) n);
    FUZZ_CHECK (sp && (size_t) (sp - o) == strlen (req->method)
             && memcmp (o, req->method, strlen (req->method)) == 0);
    FUZZ_CHECK (sp [1] == '/');
    const uint8_t *eol = memchr (o, '\n', (size_t) n);
    size_t headers = (size_t) (eol - o) + 1;
    http_fields_t f;
    FUZZ_CHECK (http_head_fields (o, headers, (size_t) n, &f));
    FUZZ_CHECK (f.hosts == 1);
    size_t pos = headers, connection = 0, lines = 0;
    http_header_t h;
    static const char *hop [] = { "Proxy-Connection", "Keep-Alive", "Proxy-Authorization",
                                  "TE", "Trailer", "Upgrade", NULL };
    while (http_head_next_header (o, (size_t) n, &pos, &h)) {
        lines++;
        for (const char **p = hop; *p; p++)
            FUZZ_CHECK (!http_ieq (h.name, h.name_len, *p));
        if (http_ieq (h.name, h.name_len, "Connection"))
            connection++;
    }
    FUZZ_CHECK (pos == (size_t) n);
    FUZZ_CHECK (connection == (!req->keep_alive || req->version == 10 ? 1u : 0u));

    //  round trip: the rewritten head in absolute form parses to the same request
    size_t path_at = (size_t) (sp + 1 - o);
    char *again = malloc ((size_t) n + 300);
    bool v6 = strchr (req->target.host, ':') != NULL;
    int k = snprintf (again, 300, "%s http://%s%s%s:%u", req->method, v6 ? "[" : "",
                      req->target.host, v6 ? "]" : "", req->target.port);
    memcpy (again + k, out + path_at, (size_t) n - path_at);
    size_t alen = (size_t) k + (size_t) n - path_at;
    if (alen < HTTP_HEAD_MAX && lines <= HTTP_HEADERS_MAX) {
        uint8_t *copy = fuzz_dup ((const uint8_t *) again, alen);
        http_request_t r2;
        http_request_init (&r2);
        FUZZ_CHECK (http_request_parse (&r2, copy, alen) == HTTP_OK);
        FUZZ_CHECK (r2.head_len == alen);
        FUZZ_CHECK (strcmp (r2.method, req->method) == 0);
        FUZZ_CHECK (r2.version == req->version);
        FUZZ_CHECK (strcmp (r2.target.host, req->target.host) == 0);
        FUZZ_CHECK (r2.target.port == req->target.port);
        FUZZ_CHECK (r2.body == req->body && r2.content_length == req->content_length);
        FUZZ_CHECK (r2.keep_alive == req->keep_alive);
        //  the path, with the "/" the rewrite puts in front of an empty or ?query one
        bool slash = req->path_len == 0 || head [req->path] == '?';
        FUZZ_CHECK (r2.path_len == req->path_len + (slash ? 1 : 0));
        FUZZ_CHECK (memcmp (copy + r2.path + (slash ? 1 : 0), head + req->path, req->path_len) == 0);
        free (copy);
    }
    free (again);
    free (out);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    fuzz_in_t in = fuzz_in (data, size);
    uint8_t seed = fuzz_u8 (&in);
    size_t len = in.n;
    uint8_t *buf = fuzz_dup (in.p, len);

    http_request_t whole;
    http_request_init (&whole);
    http_result_t r = http_request_parse (&whole, buf, len);
    s_check_final (&whole, buf, len, r);

    //  incrementally: the same buffer, growing
    http_request_t inc;
    http_request_init (&inc);
    fuzz_split_t split = fuzz_split (seed ? seed : 1);
    http_result_t ri = HTTP_NEED_MORE;
    size_t have = 0;
    while (ri == HTTP_NEED_MORE && have < len) {
        have += fuzz_split_next (&split, len - have);
        uint8_t *prefix = fuzz_dup (buf, have);
        ri = http_request_parse (&inc, prefix, have);
        s_check_final (&inc, prefix, have, ri);
        free (prefix);
    }
    if (len == 0)
        ri = http_request_parse (&inc, buf, 0);
    FUZZ_CHECK (ri == r);
    if (r == HTTP_OK) {
        s_same (&whole, &inc);
        s_check_ok (&whole, buf, len);
        if (!whole.is_connect)
            s_check_rewrite (&whole, buf);
        else
            FUZZ_CHECK (http_request_rewrite (&whole, buf, (char [64]) { 0 }, 64) == -1);
    }
    free (buf);
    return 0;
}
