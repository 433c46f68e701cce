/*  test_http_codec — the HTTP proxy codecs: request and response heads,
    rewriting, body framing and canned replies, incl. malformed and truncated
    input and random garbage. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "handlers/http_codec.h"
#include "test/support/check_run.h"

//  --- helpers ---

static http_result_t
s_req (const char *text, http_request_t *req)
{
    http_request_init (req);
    return http_request_parse (req, (const uint8_t *) text, strlen (text));
}

static int
s_req_status (const char *text)
{
    http_request_t req;
    http_result_t rc = s_req (text, &req);
    if (rc == HTTP_OK)
        return 200;
    if (rc == HTTP_NEED_MORE)
        return 0;
    return req.status;
}

//  The same text fed as the proxy reads it, one more byte each time (the
//  buffer grows): the status once decided, 0 if it never is.
static int
s_req_status_bytewise (const char *text)
{
    http_request_t req;
    http_request_init (&req);
    size_t len = strlen (text);
    for (size_t n = 1; n <= len; n++) {
        http_result_t rc = http_request_parse (&req, (const uint8_t *) text, n);
        if (rc == HTTP_OK)
            return 200;
        if (rc == HTTP_ERROR)
            return req.status;
    }
    return 0;
}

static http_result_t
s_resp (const char *text, bool is_head, http_response_t *resp)
{
    http_response_init (resp);
    return http_response_parse (resp, (const uint8_t *) text, strlen (text), is_head);
}

//  Rewrite a request and compare with the expected head byte for byte.
static void
s_check_rewrite (const char *in, const char *expected)
{
    http_request_t req;
    ck_assert_int_eq (s_req (in, &req), HTTP_OK);
    char out [HTTP_REWRITE_MAX];
    int n = http_request_rewrite (&req, (const uint8_t *) in, out, sizeof out);
    ck_assert_int_ge (n, 0);
    out [n] = 0;
    ck_assert_str_eq (out, expected);
}

static char *
s_path (const http_request_t *req, const char *head, char *buf, size_t size)
{
    snprintf (buf, size, "%.*s", (int) req->path_len, head + req->path);
    return buf;
}

//  --- CONNECT ---

START_TEST (test_connect_forms)
{
    http_request_t req;
    const char *v4 = "CONNECT 1.2.3.4:443 HTTP/1.1\r\nHost: 1.2.3.4:443\r\n\r\n";
    ck_assert_int_eq (s_req (v4, &req), HTTP_OK);
    ck_assert (req.is_connect);
    ck_assert_str_eq (req.method, "CONNECT");
    ck_assert_str_eq (req.target.host, "1.2.3.4");
    ck_assert_uint_eq (req.target.port, 443);
    ck_assert_uint_eq (req.head_len, strlen (v4));
    ck_assert_int_eq (req.version, 11);

    ck_assert_int_eq (s_req ("CONNECT example.com:8443 HTTP/1.0\r\n\r\n", &req), HTTP_OK);
    ck_assert_str_eq (req.target.host, "example.com");
    ck_assert_uint_eq (req.target.port, 8443);
    ck_assert_int_eq (req.version, 10);

    ck_assert_int_eq (s_req ("CONNECT [::1]:443 HTTP/1.1\r\n\r\n", &req), HTTP_OK);
    ck_assert_str_eq (req.target.host, "::1");
    ck_assert_uint_eq (req.target.port, 443);

    //  bytes after the head belong to the tunnel (a TLS hello, NUL bytes and all)
    const char head [] = "CONNECT h.example:443 HTTP/1.1\n\n";
    uint8_t buf [64];
    memcpy (buf, head, strlen (head));
    buf [strlen (head)] = 0x16;
    buf [strlen (head) + 1] = 0;
    http_request_init (&req);
    ck_assert_int_eq (http_request_parse (&req, buf, strlen (head) + 2), HTTP_OK);
    ck_assert_uint_eq (req.head_len, strlen (head));

    //  a CONNECT's framing headers do not matter
    ck_assert_int_eq (s_req ("CONNECT a.b:1 HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n", &req),
                      HTTP_OK);
}
END_TEST

START_TEST (test_connect_errors)
{
    ck_assert_int_eq (s_req_status ("CONNECT example.com HTTP/1.1\r\n\r\n"), 400);
    ck_assert_int_eq (s_req_status ("CONNECT example.com: HTTP/1.1\r\n\r\n"), 400);
    ck_assert_int_eq (s_req_status ("CONNECT ::1:443 HTTP/1.1\r\n\r\n"), 400);
    ck_assert_int_eq (s_req_status ("CONNECT [::1] HTTP/1.1\r\n\r\n"), 400);
    ck_assert_int_eq (s_req_status ("CONNECT [nothex]:443 HTTP/1.1\r\n\r\n"), 400);
    ck_assert_int_eq (s_req_status ("CONNECT a.b:0 HTTP/1.1\r\n\r\n"), 400);
    ck_assert_int_eq (s_req_status ("CONNECT a.b:65536 HTTP/1.1\r\n\r\n"), 400);
    ck_assert_int_eq (s_req_status ("CONNECT a.b:44x HTTP/1.1\r\n\r\n"), 400);
    ck_assert_int_eq (s_req_status ("CONNECT user@a.b:443 HTTP/1.1\r\n\r\n"), 400);
    ck_assert_int_eq (s_req_status ("CONNECT a/b:443 HTTP/1.1\r\n\r\n"), 400);
    ck_assert_int_eq (s_req_status ("CONNECT :443 HTTP/1.1\r\n\r\n"), 400);
    ck_assert_int_eq (s_req_status ("CONNECT http://a.b:443/ HTTP/1.1\r\n\r\n"), 400);
    //  the request line is refused before the head is complete
    ck_assert_int_eq (s_req_status ("CONNECT example.com HTTP/1.1\r\n"), 400);
}
END_TEST

//  --- absolute URIs ---

START_TEST (test_absolute_forms)
{
    http_request_t req;
    char path [256];
    const char *a = "GET http://example.com/ HTTP/1.1\r\nHost: example.com\r\n\r\n";
    ck_assert_int_eq (s_req (a, &req), HTTP_OK);
    ck_assert (!req.is_connect);
    ck_assert (!req.is_head);
    ck_assert_str_eq (req.target.host, "example.com");
    ck_assert_uint_eq (req.target.port, 80);
    ck_assert_str_eq (s_path (&req, a, path, sizeof path), "/");

    const char *b = "HEAD http://example.com:8080/a/b?x=1&y=%20 HTTP/1.1\r\n\r\n";
    ck_assert_int_eq (s_req (b, &req), HTTP_OK);
    ck_assert (req.is_head);
    ck_assert_uint_eq (req.target.port, 8080);
    ck_assert_str_eq (s_path (&req, b, path, sizeof path), "/a/b?x=1&y=%20");

    const char *c = "GET http://example.com HTTP/1.1\r\n\r\n";
    ck_assert_int_eq (s_req (c, &req), HTTP_OK);
    ck_assert_uint_eq (req.path_len, 0);

    const char *d = "GET HTTP://Example.COM:/p#frag HTTP/1.1\r\n\r\n";
    ck_assert_int_eq (s_req (d, &req), HTTP_OK);
    ck_assert_str_eq (req.target.host, "Example.COM");
    ck_assert_uint_eq (req.target.port, 80);
    ck_assert_str_eq (s_path (&req, d, path, sizeof path), "/p");

    const char *e = "POST http://[::1]:8080/x HTTP/1.1\r\n\r\n";
    ck_assert_int_eq (s_req (e, &req), HTTP_OK);
    ck_assert_str_eq (req.target.host, "::1");
    ck_assert_uint_eq (req.target.port, 8080);

    const char *f = "GET http://10.0.0.1?q HTTP/1.1\r\n\r\n";
    ck_assert_int_eq (s_req (f, &req), HTTP_OK);
    ck_assert_str_eq (req.target.host, "10.0.0.1");
    ck_assert_str_eq (s_path (&req, f, path, sizeof path), "?q");

    //  leading empty lines (after a previous body) are skipped and consumed
    const char *g = "\r\n\nGET http://a.b/ HTTP/1.1\r\n\r\n";
    ck_assert_int_eq (s_req (g, &req), HTTP_OK);
    ck_assert_uint_eq (req.head_len, strlen (g));
}
END_TEST

START_TEST (test_absolute_errors)
{
    ck_assert_int_eq (s_req_status ("GET /path HTTP/1.1\r\nHost: a.b\r\n\r\n"), 400);
    ck_assert_int_eq (s_req_status ("OPTIONS * HTTP/1.1\r\n\r\n"), 400);
    ck_assert_int_eq (s_req_status ("GET https://a.b/ HTTP/1.1\r\n\r\n"), 501);
    ck_assert_int_eq (s_req_status ("GET ftp://a.b/ HTTP/1.1\r\n\r\n"), 501);
    ck_assert_int_eq (s_req_status ("GET http://user:pw@a.b/ HTTP/1.1\r\n\r\n"), 400);
    ck_assert_int_eq (s_req_status ("GET http:///x HTTP/1.1\r\n\r\n"), 400);
    ck_assert_int_eq (s_req_status ("GET http://a.b:99999/ HTTP/1.1\r\n\r\n"), 400);
    ck_assert_int_eq (s_req_status ("GET http://a.b:8x/ HTTP/1.1\r\n\r\n"), 400);
    ck_assert_int_eq (s_req_status ("GET http://a%2eb/ HTTP/1.1\r\n\r\n"), 400);
    ck_assert_int_eq (s_req_status ("GET http:/a.b/ HTTP/1.1\r\n\r\n"), 400);
    ck_assert_int_eq (s_req_status ("GET a.b:80 HTTP/1.1\r\n\r\n"), 400);
    ck_assert_int_eq (s_req_status ("GET http://::1/ HTTP/1.1\r\n\r\n"), 400);

    //  the body says why
    http_request_t req;
    ck_assert_int_eq (s_req ("GET https://a.b/ HTTP/1.1\r\n\r\n", &req), HTTP_ERROR);
    ck_assert_ptr_nonnull (strstr (req.error, "CONNECT"));
}
END_TEST

//  --- rewriting ---

START_TEST (test_rewrite_hop_by_hop)
{
    s_check_rewrite (
        "GET http://example.com:8080/p?q=1 HTTP/1.1\r\n"
        "Host: example.com:8080\r\n"
        "User-Agent: t\r\n"
        "Proxy-Connection: keep-alive\r\n"
        "Connection: keep-alive, X-Foo\r\n"
        "x-foo: secret\r\n"
        "Keep-Alive: 300\r\n"
        "Proxy-Authorization: Basic abc\r\n"
        "TE: trailers\r\n"
        "Upgrade: websocket\r\n"
        "Trailer: X-T\r\n"
        "Accept: */*\r\n"
        "\r\n",
        "GET /p?q=1 HTTP/1.1\r\n"
        "Host: example.com:8080\r\n"
        "User-Agent: t\r\n"
        "Accept: */*\r\n"
        "\r\n");

    //  a Connection list cannot remove the framing headers
    s_check_rewrite (
        "POST http://a.b/x HTTP/1.1\r\nHost: a.b\r\nConnection: Content-Length, Host\r\n"
        "Content-Length: 3\r\n\r\n",
        "POST /x HTTP/1.1\r\nHost: a.b\r\nContent-Length: 3\r\n\r\n");
}
END_TEST

START_TEST (test_rewrite_host)
{
    //  added first when missing
    s_check_rewrite ("GET http://example.com/x HTTP/1.1\r\nAccept: */*\r\n\r\n",
                     "GET /x HTTP/1.1\r\nHost: example.com\r\nAccept: */*\r\n\r\n");
    s_check_rewrite ("GET http://[::1]:8080 HTTP/1.1\r\n\r\n",
                     "GET / HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n");
    s_check_rewrite ("GET http://a.b:81?x HTTP/1.1\r\n\r\n",
                     "GET /?x HTTP/1.1\r\nHost: a.b:81\r\n\r\n");
    //  kept as written when it names the same origin
    s_check_rewrite ("GET http://Example.com/ HTTP/1.1\r\nA: 1\r\nhost:  EXAMPLE.com:80 \r\n\r\n",
                     "GET / HTTP/1.1\r\nA: 1\r\nhost:  EXAMPLE.com:80 \r\n\r\n");
    //  replaced (in place) when it names another one
    s_check_rewrite ("GET http://example.com/ HTTP/1.1\r\nA: 1\r\nHost: evil.example\r\nB: 2\r\n\r\n",
                     "GET / HTTP/1.1\r\nA: 1\r\nHost: example.com\r\nB: 2\r\n\r\n");
    s_check_rewrite ("GET http://example.com:81/ HTTP/1.1\r\nHost: example.com\r\n\r\n",
                     "GET / HTTP/1.1\r\nHost: example.com:81\r\n\r\n");
}
END_TEST

START_TEST (test_rewrite_connection)
{
    //  HTTP/1.0: close unless keep-alive; the origin is told the same
    s_check_rewrite ("GET http://a.b/ HTTP/1.0\r\n\r\n",
                     "GET / HTTP/1.0\r\nHost: a.b\r\nConnection: close\r\n\r\n");
    s_check_rewrite ("GET http://a.b/ HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n",
                     "GET / HTTP/1.0\r\nHost: a.b\r\nConnection: keep-alive\r\n\r\n");
    s_check_rewrite ("GET http://a.b/ HTTP/1.1\r\nProxy-Connection: close\r\n\r\n",
                     "GET / HTTP/1.1\r\nHost: a.b\r\nConnection: close\r\n\r\n");
    //  bare LF lines come out as CRLF; the body framing headers stay
    s_check_rewrite ("POST http://a.b/u HTTP/1.1\nHost: a.b\nTransfer-Encoding: chunked\n\n",
                     "POST /u HTTP/1.1\r\nHost: a.b\r\nTransfer-Encoding: chunked\r\n\r\n");

    //  CONNECT is not rewritten; a too small buffer is refused
    http_request_t req;
    const char *get = "GET http://a.b/ HTTP/1.1\r\nHost: a.b\r\n\r\n";
    char out [HTTP_REWRITE_MAX];
    ck_assert_int_eq (s_req (get, &req), HTTP_OK);
    ck_assert_int_eq (http_request_rewrite (&req, (const uint8_t *) get, out, 10), -1);
    const char *conn = "CONNECT a.b:1 HTTP/1.1\r\n\r\n";
    ck_assert_int_eq (s_req (conn, &req), HTTP_OK);
    ck_assert_int_eq (http_request_rewrite (&req, (const uint8_t *) conn, out, sizeof out), -1);
}
END_TEST

START_TEST (test_keep_alive)
{
    struct { const char *head; bool keep; } cases [] = {
        { "GET http://a.b/ HTTP/1.1\r\n\r\n", true },
        { "GET http://a.b/ HTTP/1.1\r\nConnection: close\r\n\r\n", false },
        { "GET http://a.b/ HTTP/1.1\r\nConnection: Upgrade, CLOSE\r\n\r\n", false },
        { "GET http://a.b/ HTTP/1.1\r\nProxy-Connection: close\r\n\r\n", false },
        { "GET http://a.b/ HTTP/1.1\r\nProxy-Connection: keep-alive\r\n\r\n", true },
        { "GET http://a.b/ HTTP/1.0\r\n\r\n", false },
        { "GET http://a.b/ HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", true },
        { "GET http://a.b/ HTTP/1.0\r\nProxy-Connection: Keep-Alive\r\n\r\n", true },
        { "GET http://a.b/ HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n", false },
        { "POST http://a.b/ HTTP/1.0\r\nConnection: keep-alive\r\n"
          "Transfer-Encoding: chunked\r\n\r\n", false },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases [0]; i++) {
        http_request_t req;
        ck_assert_int_eq (s_req (cases [i].head, &req), HTTP_OK);
        ck_assert_msg (req.keep_alive == cases [i].keep, "case %zu", i);
    }
}
END_TEST

//  --- request framing ---

START_TEST (test_request_framing)
{
    http_request_t req;
    ck_assert_int_eq (s_req ("GET http://a.b/ HTTP/1.1\r\n\r\n", &req), HTTP_OK);
    ck_assert_int_eq (req.body, HTTP_BODY_NONE);
    ck_assert_int_eq (s_req ("POST http://a.b/ HTTP/1.1\r\nContent-Length: 42\r\n\r\n", &req),
                      HTTP_OK);
    ck_assert_int_eq (req.body, HTTP_BODY_LENGTH);
    ck_assert_uint_eq (req.content_length, 42);
    ck_assert_int_eq (s_req ("POST http://a.b/ HTTP/1.1\r\nContent-Length: 0\r\n\r\n", &req),
                      HTTP_OK);
    ck_assert_int_eq (req.body, HTTP_BODY_LENGTH);
    ck_assert_uint_eq (req.content_length, 0);
    ck_assert_int_eq (s_req ("POST http://a.b/ HTTP/1.1\r\nContent-Length: 7, 7\r\n"
                             "content-length: 7\r\n\r\n", &req), HTTP_OK);
    ck_assert_uint_eq (req.content_length, 7);
    //  The largest length a signed 64-bit integer holds is a length.
    ck_assert_int_eq (s_req ("POST http://a.b/ HTTP/1.1\r\nContent-Length: 9223372036854775807\r\n\r\n",
                             &req), HTTP_OK);
    ck_assert_uint_eq (req.content_length, INT64_MAX);
    ck_assert_int_eq (s_req ("POST http://a.b/ HTTP/1.1\r\nTransfer-Encoding: Chunked\r\n\r\n", &req),
                      HTTP_OK);
    ck_assert_int_eq (req.body, HTTP_BODY_CHUNKED);
    ck_assert_int_eq (s_req ("POST http://a.b/ HTTP/1.1\r\nTransfer-Encoding: ,\r\n"
                             "Transfer-Encoding: chunked\r\n\r\n", &req), HTTP_OK);
    ck_assert_int_eq (req.body, HTTP_BODY_CHUNKED);

    const char *p = "POST http://a.b/ HTTP/1.1\r\n";
    char buf [256];
    const char *bad400 [] = {
        "Content-Length: 5\r\nContent-Length: 6\r\n",
        "Content-Length: 5, 6\r\n",
        "Content-Length: abc\r\n",
        "Content-Length: -1\r\n",
        "Content-Length: +1\r\n",
        "Content-Length: 1 2\r\n",
        "Content-Length: 0x10\r\n",
        "Content-Length:\r\n",
        "Content-Length: 9223372036854775808\r\n",        //  2^63: more than an off_t holds
        "Content-Length: 18446744073709551615\r\n",       //  2^64 - 1
        "Content-Length: 18446744073709551616\r\n",
        "Content-Length: 99999999999999999999999\r\n",
        "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n",
        "Transfer-Encoding: chunked, chunked\r\n",
        "Host: a.b\r\nHost: c.d\r\n",
        NULL
    };
    for (int i = 0; bad400 [i]; i++) {
        snprintf (buf, sizeof buf, "%s%s\r\n", p, bad400 [i]);
        ck_assert_msg (s_req_status (buf) == 400, "case %d: %d", i, s_req_status (buf));
    }
    const char *bad501 [] = {
        "Transfer-Encoding: gzip, chunked\r\n",
        "Transfer-Encoding: chunked, gzip\r\n",
        "Transfer-Encoding: identity\r\n",
        "Transfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n",
        NULL
    };
    for (int i = 0; bad501 [i]; i++) {
        snprintf (buf, sizeof buf, "%s%s\r\n", p, bad501 [i]);
        ck_assert_msg (s_req_status (buf) == 501, "case %d: %d", i, s_req_status (buf));
    }
}
END_TEST

//  --- malformed requests ---

START_TEST (test_request_malformed)
{
    ck_assert_int_eq (s_req_status ("GET http://a.b/ HTTP/2.0\r\n\r\n"), 505);
    ck_assert_int_eq (s_req_status ("GET http://a.b/ HTTP/1.2\r\n\r\n"), 505);
    ck_assert_int_eq (s_req_status ("GET http://a.b/ HTTP/0.9\r\n\r\n"), 505);
    ck_assert_int_eq (s_req_status ("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"), 505);
    ck_assert_int_eq (s_req_status ("GET http://a.b/ HTTP/1.10\r\n\r\n"), 400);
    ck_assert_int_eq (s_req_status ("GET http://a.b/ http/1.1\r\n\r\n"), 400);
    ck_assert_int_eq (s_req_status ("GET http://a.b/ FOO/1.1\r\n\r\n"), 400);
    ck_assert_int_eq (s_req_status ("GET http://a.b/\r\n\r\n"), 400);
    ck_assert_int_eq (s_req_status ("GET\r\n\r\n"), 400);
    ck_assert_int_eq (s_req_status ("GET  http://a.b/ HTTP/1.1\r\n\r\n"), 400);
    ck_assert_int_eq (s_req_status ("GET http://a.b/ x HTTP/1.1\r\n\r\n"), 400);
    ck_assert_int_eq (s_req_status (" GET http://a.b/ HTTP/1.1\r\n\r\n"), 400);
    ck_assert_int_eq (s_req_status ("G(T http://a.b/ HTTP/1.1\r\n\r\n"), 400);
    ck_assert_int_eq (s_req_status ("BREW http://a.b/ HTTP/1.1\r\n\r\n"), 501);
    ck_assert_int_eq (s_req_status ("get http://a.b/ HTTP/1.1\r\n\r\n"), 501);
    ck_assert_int_eq (s_req_status ("AVERYVERYVERYLONGMETHODNAMEINDEED http://a.b/ HTTP/1.1\r\n\r\n"),
                      501);
    //  control characters in the request line, found before the line ends
    ck_assert_int_eq (s_req_status ("GET http://a.b/\x01"), 400);
    ck_assert_int_eq (s_req_status ("GET http://a.b/\t HTTP/1.1\r\n\r\n"), 400);
    ck_assert_int_eq (s_req_status ("GET http://a.b/\r HTTP/1.1\r\n\r\n"), 400);
    ck_assert_int_eq (s_req_status ("\x16\x03\x01\x02"), 400);
    //  a method longer than any known one is refused before the line ends
    ck_assert_int_eq (s_req_status ("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"), 501);
    ck_assert_int_eq (s_req_status ("GE(T"), 400);
    ck_assert_int_eq (s_req_status ("UPDATEREDIRECTREF"), 0);
    ck_assert_int_eq (s_req_status ("\r"), 0);
    ck_assert_int_eq (s_req_status ("\r\nGET\r"), 0);
    //  header lines
    ck_assert_int_eq (s_req_status ("GET http://a.b/ HTTP/1.1\r\nA: 1\r\n  folded\r\n\r\n"), 400);
    ck_assert_int_eq (s_req_status ("GET http://a.b/ HTTP/1.1\r\n\tA: 1\r\n\r\n"), 400);
    ck_assert_int_eq (s_req_status ("GET http://a.b/ HTTP/1.1\r\nNoColon\r\n\r\n"), 400);
    ck_assert_int_eq (s_req_status ("GET http://a.b/ HTTP/1.1\r\nA : 1\r\n\r\n"), 400);
    ck_assert_int_eq (s_req_status ("GET http://a.b/ HTTP/1.1\r\n: 1\r\n\r\n"), 400);
    ck_assert_int_eq (s_req_status ("GET http://a.b/ HTTP/1.1\r\nA: 1\r2\r\n\r\n"), 400);
    ck_assert_int_eq (s_req_status ("GET http://a.b/ HTTP/1.1\r\nA: \x7f\r\n\r\n"), 400);
    //  header values may hold tabs and non-ASCII bytes
    ck_assert_int_eq (s_req_status ("GET http://a.b/ HTTP/1.1\r\nA: x\ty \xc3\xa9\r\n\r\n"), 200);

    //  NUL bytes: refused as soon as they are seen
    const uint8_t nul [] = "GET http://a.b/ HTTP/1.1\r\nA: \0\r\n\r\n";
    http_request_t req;
    http_request_init (&req);
    ck_assert_int_eq (http_request_parse (&req, nul, 30), HTTP_ERROR);
    ck_assert_int_eq (req.status, 400);
    //  and the error sticks
    ck_assert_int_eq (http_request_parse (&req, nul, sizeof nul - 1), HTTP_ERROR);
}
END_TEST

START_TEST (test_request_too_large)
{
    static char buf [HTTP_HEAD_MAX + 4096];
    http_request_t req;

    //  a request line that does not fit: 414
    memset (buf, 'a', sizeof buf);
    memcpy (buf, "GET http://a.b/", 15);
    http_request_init (&req);
    ck_assert_int_eq (http_request_parse (&req, (uint8_t *) buf, HTTP_HEAD_MAX - 1), HTTP_NEED_MORE);
    ck_assert_int_eq (http_request_parse (&req, (uint8_t *) buf, HTTP_HEAD_MAX), HTTP_ERROR);
    ck_assert_int_eq (req.status, 414);

    //  headers that do not end: 431
    size_t n = (size_t) sprintf (buf, "GET http://a.b/ HTTP/1.1\r\n");
    while (n < sizeof buf - 64)
        n += (size_t) sprintf (buf + n, "X-Filler: %040d\r\n", 0);
    http_request_init (&req);
    ck_assert_int_eq (http_request_parse (&req, (uint8_t *) buf, n), HTTP_ERROR);
    ck_assert_int_eq (req.status, 431);

    //  a head that ends just past the limit: 431 too
    n = (size_t) sprintf (buf, "GET http://a.b/ HTTP/1.1\r\nX: ");
    memset (buf + n, 'v', HTTP_HEAD_MAX - n - 2);
    memcpy (buf + HTTP_HEAD_MAX - 2, "\r\n\r\n", 4);
    http_request_init (&req);
    ck_assert_int_eq (http_request_parse (&req, (uint8_t *) buf, HTTP_HEAD_MAX + 2), HTTP_ERROR);
    ck_assert_int_eq (req.status, 431);
    //  one byte shorter fits exactly
    n = (size_t) sprintf (buf, "GET http://a.b/ HTTP/1.1\r\nX: ");
    memset (buf + n, 'v', HTTP_HEAD_MAX - n - 4);
    memcpy (buf + HTTP_HEAD_MAX - 4, "\r\n\r\n", 4);
    http_request_init (&req);
    ck_assert_int_eq (http_request_parse (&req, (uint8_t *) buf, HTTP_HEAD_MAX), HTTP_OK);
    ck_assert_uint_eq (req.head_len, HTTP_HEAD_MAX);

    //  too many (small) header lines: 431
    n = (size_t) sprintf (buf, "GET http://a.b/ HTTP/1.1\r\n");
    for (int i = 0; i <= HTTP_HEADERS_MAX; i++)
        n += (size_t) sprintf (buf + n, "A: %d\r\n", i);
    n += (size_t) sprintf (buf + n, "\r\n");
    ck_assert_int_eq (s_req_status (buf), 431);
}
END_TEST

START_TEST (test_request_truncated)
{
    const char *full =
        "POST http://example.com:8080/upload?x=1 HTTP/1.1\r\n"
        "Host: example.com:8080\r\n"
        "Content-Length: 5\r\n"
        "Connection: keep-alive\r\n"
        "\r\n"
        "hello";
    size_t head_len = strlen (full) - 5;
    //  every proper prefix of the head, fresh each time
    for (size_t n = 0; n < head_len; n++) {
        http_request_t req;
        http_request_init (&req);
        ck_assert_msg (http_request_parse (&req, (const uint8_t *) full, n) == HTTP_NEED_MORE,
                       "prefix %zu", n);
    }
    //  the same, growing one byte at a time with one parser
    http_request_t req;
    http_request_init (&req);
    for (size_t n = 0; n < head_len; n++)
        ck_assert_int_eq (http_request_parse (&req, (const uint8_t *) full, n), HTTP_NEED_MORE);
    ck_assert_int_eq (http_request_parse (&req, (const uint8_t *) full, strlen (full)), HTTP_OK);
    ck_assert_uint_eq (req.head_len, head_len);
    ck_assert_uint_eq (req.target.port, 8080);
    ck_assert_uint_eq (req.content_length, 5);
    ck_assert (req.keep_alive);

    //  pipelined: the next request starts at head_len
    const char *two = "GET http://a.b/1 HTTP/1.1\r\n\r\nGET http://c.d/2 HTTP/1.1\r\n\r\n";
    ck_assert_int_eq (s_req (two, &req), HTTP_OK);
    size_t first = req.head_len;
    ck_assert_uint_eq (first, strlen (two) / 2);
    http_request_init (&req);
    ck_assert_int_eq (http_request_parse (&req, (const uint8_t *) two + first, strlen (two) - first),
                      HTTP_OK);
    ck_assert_str_eq (req.target.host, "c.d");
}
END_TEST

//  --- responses ---

START_TEST (test_response_framing)
{
    http_response_t r;
    ck_assert_int_eq (s_resp ("HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\n", false, &r), HTTP_OK);
    ck_assert_int_eq (r.code, 200);
    ck_assert_int_eq (r.body, HTTP_BODY_LENGTH);
    ck_assert_uint_eq (r.content_length, 12);
    ck_assert (r.reusable);
    ck_assert (!r.interim);

    //  HEAD, 204, 304: no body whatever the headers say
    ck_assert_int_eq (s_resp ("HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\n", true, &r), HTTP_OK);
    ck_assert_int_eq (r.body, HTTP_BODY_NONE);
    ck_assert (r.reusable);
    ck_assert_int_eq (s_resp ("HTTP/1.1 204 No Content\r\n\r\n", false, &r), HTTP_OK);
    ck_assert_int_eq (r.body, HTTP_BODY_NONE);
    ck_assert (r.reusable);
    ck_assert_int_eq (s_resp ("HTTP/1.1 304 Not Modified\r\nTransfer-Encoding: chunked\r\n\r\n",
                              false, &r), HTTP_OK);
    ck_assert_int_eq (r.body, HTTP_BODY_NONE);
    ck_assert_int_eq (s_resp ("HTTP/1.1 100 Continue\r\n\r\n", false, &r), HTTP_OK);
    ck_assert (r.interim);
    ck_assert_int_eq (r.body, HTTP_BODY_NONE);

    ck_assert_int_eq (s_resp ("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", false, &r),
                      HTTP_OK);
    ck_assert_int_eq (r.body, HTTP_BODY_CHUNKED);
    ck_assert (r.reusable);
    //  neither: until the close, never reusable
    ck_assert_int_eq (s_resp ("HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n", false, &r),
                      HTTP_OK);
    ck_assert_int_eq (r.body, HTTP_BODY_UNTIL_CLOSE);
    ck_assert (!r.reusable);
    ck_assert_int_eq (s_resp ("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", false, &r),
                      HTTP_OK);
    ck_assert_int_eq (r.body, HTTP_BODY_UNTIL_CLOSE);
    ck_assert (!r.reusable);

    //  reuse of the origin connection
    ck_assert_int_eq (s_resp ("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 1\r\n\r\n",
                              false, &r), HTTP_OK);
    ck_assert (!r.reusable);
    ck_assert_int_eq (s_resp ("HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\n", false, &r), HTTP_OK);
    ck_assert_int_eq (r.version, 10);
    ck_assert (!r.reusable);
    ck_assert_int_eq (s_resp ("HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 1\r\n\r\n",
                              false, &r), HTTP_OK);
    ck_assert (r.reusable);

    //  status lines without a reason, bare LF
    ck_assert_int_eq (s_resp ("HTTP/1.1 404\nContent-Length: 0\n\n", false, &r), HTTP_OK);
    ck_assert_int_eq (r.code, 404);
    ck_assert_int_eq (s_resp ("HTTP/1.1 200 \r\n\r\n", false, &r), HTTP_OK);

    //  an interim response followed by the real one in the same bytes
    const char *two = "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n";
    ck_assert_int_eq (s_resp (two, false, &r), HTTP_OK);
    ck_assert (r.interim);
    size_t first = r.head_len;
    ck_assert_uint_eq (first, 25);
    http_response_init (&r);
    ck_assert_int_eq (http_response_parse (&r, (const uint8_t *) two + first, strlen (two) - first,
                                           false), HTTP_OK);
    ck_assert_int_eq (r.code, 201);
    ck_assert_int_eq (r.body, HTTP_BODY_LENGTH);
}
END_TEST

START_TEST (test_response_malformed)
{
    const char *bad [] = {
        "HTTP/2 200 OK\r\n\r\n",
        "HTTP/2.0 200 OK\r\n\r\n",
        "HTTP/1.1 20 OK\r\n\r\n",
        "HTTP/1.1 2000 OK\r\n\r\n",
        "HTTP/1.1 abc OK\r\n\r\n",
        "HTTP/1.1 099 X\r\n\r\n",
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n",
        "ICY 200 OK\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n",
        "HTTP/1.1 200 OK\r\n folded\r\n\r\n",
        "HTTP/1.1 200 OK\r\nA\0: 1\r\n\r\n",
        NULL
    };
    for (int i = 0; bad [i]; i++) {
        http_response_t r;
        size_t len = strlen (bad [i]);
        if (i == 11)
            len = 20;           //  past the NUL
        http_response_init (&r);
        ck_assert_msg (http_response_parse (&r, (const uint8_t *) bad [i], len, false) == HTTP_ERROR,
                       "case %d", i);
        ck_assert_ptr_nonnull (r.error);
    }
    //  a head that never ends
    static char big [HTTP_HEAD_MAX + 100];
    size_t n = (size_t) sprintf (big, "HTTP/1.1 200 OK\r\n");
    while (n < sizeof big - 20)
        n += (size_t) sprintf (big + n, "X-A: 0123456789\r\n");
    http_response_t r;
    http_response_init (&r);
    ck_assert_int_eq (http_response_parse (&r, (uint8_t *) big, n, false), HTTP_ERROR);

    //  truncated stays NEED_MORE, byte by byte
    const char *full = "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nX: y\r\n\r\n";
    http_response_init (&r);
    for (size_t i = 0; i < strlen (full); i++)
        ck_assert_int_eq (http_response_parse (&r, (const uint8_t *) full, i, false), HTTP_NEED_MORE);
    ck_assert_int_eq (http_response_parse (&r, (const uint8_t *) full, strlen (full), false), HTTP_OK);
    ck_assert_uint_eq (r.head_len, strlen (full));
}
END_TEST

static void
s_check_response_rewrite (const char *in, bool is_head, bool client_close, int client_version,
                          const char *expected)
{
    http_response_t r;
    ck_assert_int_eq (s_resp (in, is_head, &r), HTTP_OK);
    char out [HTTP_REWRITE_MAX];
    int n = http_response_rewrite (&r, (const uint8_t *) in, client_close, client_version,
                                   out, sizeof out);
    ck_assert_int_ge (n, 0);
    out [n] = 0;
    ck_assert_str_eq (out, expected);
}

START_TEST (test_response_rewrite)
{
    const char *in = "HTTP/1.1 200 OK\r\nConnection: keep-alive, X-Hop\r\nKeep-Alive: timeout=5\r\n"
                     "X-Hop: 1\r\nContent-Length: 2\r\nTrailer: X-T\r\n\r\n";
    s_check_response_rewrite (in, false, false, 11,
        "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nTrailer: X-T\r\n\r\n");
    s_check_response_rewrite (in, false, true, 11,
        "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nTrailer: X-T\r\nConnection: close\r\n\r\n");
    s_check_response_rewrite (in, false, false, 10,
        "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nTrailer: X-T\r\nConnection: keep-alive\r\n\r\n");
    //  an HTTP/1.0 origin kept alive: say so to the client
    s_check_response_rewrite ("HTTP/1.0 200 OK\nConnection: keep-alive\nContent-Length: 0\n\n",
                              false, false, 11,
        "HTTP/1.0 200 OK\r\nContent-Length: 0\r\nConnection: keep-alive\r\n\r\n");
    //  Connection cannot remove the framing
    s_check_response_rewrite ("HTTP/1.1 200 OK\r\nConnection: Transfer-Encoding, Upgrade\r\n"
                              "Upgrade: h2\r\nTransfer-Encoding: chunked\r\n\r\n", false, false, 11,
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
}
END_TEST

//  --- the body framer ---

//  A chunked body (extensions, bare LF, trailers) followed by the next message.
static const char s_chunked [] =
    "4\r\nWiki\r\n"
    "5;name=value;x=\"q\"\r\npedia\r\n"
    "00E \t; ext\r\n in\r\n\r\nchunks.\r\n"
    "a\nabcdefghij\n"
    "0\r\n"
    "X-Trailer: 1\r\n"
    "Y: 2\r\n"
    "\r\n"
    "GET http://next/ HTTP/1.1\r\n\r\n";

static size_t
s_chunked_end (void)
{
    return (size_t) (strstr (s_chunked, "GET") - s_chunked);
}

START_TEST (test_framer_chunked)
{
    http_framer_t f;
    size_t used;
    size_t len = strlen (s_chunked), end = s_chunked_end ();

    http_framer_init (&f, HTTP_BODY_CHUNKED, 0);
    ck_assert_int_eq (http_framer_feed (&f, (const uint8_t *) s_chunked, len, &used), HTTP_FRAME_DONE);
    ck_assert_uint_eq (used, end);
    //  done stays done
    ck_assert_int_eq (http_framer_feed (&f, (const uint8_t *) s_chunked, len, &used), HTTP_FRAME_DONE);
    ck_assert_uint_eq (used, 0);

    //  byte by byte
    http_framer_init (&f, HTTP_BODY_CHUNKED, 0);
    size_t pos = 0;
    http_frame_t rc = HTTP_FRAME_MORE;
    while (rc == HTTP_FRAME_MORE) {
        ck_assert_uint_lt (pos, len);
        rc = http_framer_feed (&f, (const uint8_t *) s_chunked + pos, 1, &used);
        ck_assert_uint_eq (used, 1);
        pos++;
    }
    ck_assert_int_eq (rc, HTTP_FRAME_DONE);
    ck_assert_uint_eq (pos, end);

    //  random splits, fixed seed
    srand (1234);
    for (int round = 0; round < 500; round++) {
        http_framer_init (&f, HTTP_BODY_CHUNKED, 0);
        pos = 0;
        rc = HTTP_FRAME_MORE;
        while (rc == HTTP_FRAME_MORE) {
            ck_assert_uint_lt (pos, len);
            size_t piece = 1 + (size_t) rand () % 20;
            if (piece > len - pos)
                piece = len - pos;
            rc = http_framer_feed (&f, (const uint8_t *) s_chunked + pos, piece, &used);
            ck_assert_uint_le (used, piece);
            if (rc == HTTP_FRAME_MORE)
                ck_assert_uint_eq (used, piece);
            pos += used;
        }
        ck_assert_int_eq (rc, HTTP_FRAME_DONE);
        ck_assert_uint_eq (pos, end);
    }

    //  the smallest body, and one without trailers in bare LF
    http_framer_init (&f, HTTP_BODY_CHUNKED, 0);
    ck_assert_int_eq (http_framer_feed (&f, (const uint8_t *) "0\r\n\r\nX", 6, &used), HTTP_FRAME_DONE);
    ck_assert_uint_eq (used, 5);
    http_framer_init (&f, HTTP_BODY_CHUNKED, 0);
    ck_assert_int_eq (http_framer_feed (&f, (const uint8_t *) "3\nabc\n0\n\n", 9, &used),
                      HTTP_FRAME_DONE);
    ck_assert_uint_eq (used, 9);
    //  the largest size a signed 64-bit integer holds is a size, not an error
    http_framer_init (&f, HTTP_BODY_CHUNKED, 0);
    ck_assert_int_eq (http_framer_feed (&f, (const uint8_t *) "07FFFFFFFFFFFFFFF\r\nab", 21, &used),
                      HTTP_FRAME_MORE);
    ck_assert_uint_eq (used, 21);
}
END_TEST

//  A request line is answered the same however it was split (a long
//  method used to be 501 in pieces and 400 whole when no space followed).
START_TEST (test_request_split_alike)
{
    const char *texts [] = {
        "AAAAAAAAAAAAAAAAAAAAAAAAA\r\n\r\n",
        "GETXGETXGETXGETXGETXGETX\r\n\r\n",
        "RRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRR http://x/ HTTP/1.1\r\n\r\n",
        "\r\n\r\nAAAAAAAAAAAAAAAAAAAAAAAAA\r\n\r\n",
        "AAAAAAAAAAAAAAAAAAAA\r\n\r\n",         //  20: a method, then a bad line
        "GET\r\n\r\n",
        "GE T http://x/ HTTP/1.1\r\n\r\n",
        "GET\x7f http://x/ HTTP/1.1\r\n\r\n",
        "G\x01T http://x/ HTTP/1.1\r\n\r\n",
        "BREW http://x/ HTTP/1.1\r\n\r\n",
        "GET http://x/ HTTP/1.1\r\nHost: x\r\n\r\n",
        NULL
    };
    for (int i = 0; texts [i]; i++) {
        int whole = s_req_status (texts [i]), pieces = s_req_status_bytewise (texts [i]);
        ck_assert_msg (whole == pieces, "case %d: %d whole, %d byte by byte", i, whole, pieces);
        ck_assert_msg (whole != 0, "case %d: undecided", i);
    }
    ck_assert_int_eq (s_req_status (texts [0]), 501);
    ck_assert_int_eq (s_req_status (texts [4]), 400);
}
END_TEST

START_TEST (test_framer_chunked_errors)
{
    const char *bad [] = {
        "G\r\n",                        //  not hex
        "\r\n",                         //  no size
        ";ext\r\n",
        "5x\r\nhello\r\n0\r\n\r\n",
        "5 5\r\n",
        "-5\r\n",
        "0x5\r\n",
        "FFFFFFFFFFFFFFFFF\r\n",        //  17 hex digits: overflow
        "10000000000000000\r\n",
        "5\r\r\n",
        "5\rX",
        "3\r\nabcX\r\n",                //  no CRLF after the data
        "3\r\nabc\rX",
        "0\r\nA: \0\r\n\r\n",
        "0\r\n\rX",
        "0\r\nA: 1\rX",
        "1;a\x01\r\n",
        "FFFFFFFFFFFFFFFF\r\n",         //  2^64 - 1: more than 2^63 - 1
        "8000000000000000\r\n",         //  2^63
        NULL
    };
    for (int i = 0; bad [i]; i++) {
        http_framer_t f;
        size_t used;
        size_t len = strlen (bad [i]);
        if (i == 13)
            len = 12;
        http_framer_init (&f, HTTP_BODY_CHUNKED, 0);
        ck_assert_msg (http_framer_feed (&f, (const uint8_t *) bad [i], len, &used) == HTTP_FRAME_ERROR,
                       "case %d", i);
        //  and byte by byte
        http_framer_init (&f, HTTP_BODY_CHUNKED, 0);
        http_frame_t rc = HTTP_FRAME_MORE;
        for (size_t j = 0; j < len && rc == HTTP_FRAME_MORE; j++)
            rc = http_framer_feed (&f, (const uint8_t *) bad [i] + j, 1, &used);
        ck_assert_msg (rc == HTTP_FRAME_ERROR, "case %d byte by byte", i);
    }
    //  endless extensions and trailers are cut off
    static char big [HTTP_HEAD_MAX + 100];
    http_framer_t f;
    size_t used;
    memset (big, 'x', sizeof big);
    memcpy (big, "1;", 2);
    http_framer_init (&f, HTTP_BODY_CHUNKED, 0);
    ck_assert_int_eq (http_framer_feed (&f, (uint8_t *) big, sizeof big, &used), HTTP_FRAME_ERROR);
    memcpy (big, "0\r\n", 3);
    http_framer_init (&f, HTTP_BODY_CHUNKED, 0);
    ck_assert_int_eq (http_framer_feed (&f, (uint8_t *) big, sizeof big, &used), HTTP_FRAME_ERROR);
}
END_TEST

START_TEST (test_framer_length)
{
    http_framer_t f;
    size_t used;
    const uint8_t data [] = "0123456789abcdef";
    http_framer_init (&f, HTTP_BODY_LENGTH, 10);
    size_t total = 0;
    http_frame_t rc = HTTP_FRAME_MORE;
    int calls = 0;
    while (rc == HTTP_FRAME_MORE) {
        rc = http_framer_feed (&f, data + total, 3, &used);
        total += used;
        calls++;
    }
    ck_assert_int_eq (rc, HTTP_FRAME_DONE);
    ck_assert_uint_eq (total, 10);
    ck_assert_int_eq (calls, 4);
    ck_assert_uint_eq (used, 1);

    http_framer_init (&f, HTTP_BODY_LENGTH, 0);
    ck_assert_int_eq (http_framer_feed (&f, data, 5, &used), HTTP_FRAME_DONE);
    ck_assert_uint_eq (used, 0);
    http_framer_init (&f, HTTP_BODY_NONE, 0);
    ck_assert_int_eq (http_framer_feed (&f, data, 5, &used), HTTP_FRAME_DONE);
    ck_assert_uint_eq (used, 0);
    http_framer_init (&f, HTTP_BODY_UNTIL_CLOSE, 0);
    ck_assert_int_eq (http_framer_feed (&f, data, 16, &used), HTTP_FRAME_MORE);
    ck_assert_uint_eq (used, 16);
    http_framer_init (&f, HTTP_BODY_LENGTH, UINT64_MAX);
    ck_assert_int_eq (http_framer_feed (&f, data, 16, &used), HTTP_FRAME_MORE);
    ck_assert_uint_eq (used, 16);
    ck_assert_uint_eq (f.remaining, UINT64_MAX - 16);
}
END_TEST

//  --- canned replies ---

START_TEST (test_error_response)
{
    char out [HTTP_ERROR_MAX];
    size_t n = http_error_response (502, NULL, out, sizeof out);
    const char *expected = "HTTP/1.1 502 Bad Gateway\r\nContent-Type: text/plain\r\n"
                           "Content-Length: 12\r\nConnection: close\r\n\r\nBad Gateway\n";
    ck_assert_uint_eq (n, strlen (expected));
    ck_assert_str_eq (out, expected);

    int codes [] = { 400, 404, 405, 408, 414, 431, 501, 502, 504, 505 };
    for (size_t i = 0; i < sizeof codes / sizeof codes [0]; i++) {
        n = http_error_response (codes [i], "some detail", out, sizeof out);
        ck_assert_uint_gt (n, 0);
        ck_assert_uint_lt (n, sizeof out);
        ck_assert_str_ne (http_reason (codes [i]), "Error");
        //  our own response parser agrees on the framing
        http_response_t r;
        http_response_init (&r);
        ck_assert_int_eq (http_response_parse (&r, (uint8_t *) out, n, false), HTTP_OK);
        ck_assert_int_eq (r.code, codes [i]);
        ck_assert_int_eq (r.body, HTTP_BODY_LENGTH);
        ck_assert_uint_eq (r.head_len + r.content_length, n);
        ck_assert (!r.reusable);
        ck_assert_str_eq (out + r.head_len, "some detail\n");
    }
    //  a long detail is cut to fit, framing still right
    char detail [2000];
    memset (detail, 'd', sizeof detail - 1);
    detail [sizeof detail - 1] = 0;
    n = http_error_response (504, detail, out, sizeof out);
    ck_assert_uint_lt (n, sizeof out);
    ck_assert_uint_eq (strlen (out), n);
    http_response_t r;
    http_response_init (&r);
    ck_assert_int_eq (http_response_parse (&r, (uint8_t *) out, n, false), HTTP_OK);
    ck_assert_uint_eq (r.head_len + r.content_length, n);
    ck_assert_int_eq (out [n - 1], '\n');
    //  too small for anything
    ck_assert_uint_eq (http_error_response (504, NULL, out, 20), 0);
}
END_TEST

//  --- garbage ---

START_TEST (test_random_garbage)
{
    static const char alphabet [] = "GET http://a.b:8/ HTTP/1.1\r\n\r\nHost: \x00\x7f\xff;:,0123456789abcdef\t ";
    static uint8_t buf [3000];
    srand (42);
    for (int round = 0; round < 3000; round++) {
        size_t len = (size_t) rand () % sizeof buf;
        bool biased = round % 2;
        for (size_t i = 0; i < len; i++)
            buf [i] = biased? (uint8_t) alphabet [(size_t) rand () % (sizeof alphabet - 1)]
                            : (uint8_t) rand ();
        //  sometimes a valid prefix, to get past the start line
        if (round % 3 == 0 && len > 40) {
            const char *start = round % 6? "GET http://a.b/ HTTP/1.1\r\n": "HTTP/1.1 200 OK\r\nA: b\r\n";
            memcpy (buf, start, strlen (start));
        }

        http_request_t req;
        http_request_init (&req);
        http_result_t rc = http_request_parse (&req, buf, len);
        ck_assert (rc == HTTP_NEED_MORE || rc == HTTP_OK || rc == HTTP_ERROR);
        if (rc == HTTP_OK) {
            ck_assert_uint_le (req.head_len, len);
            char out [HTTP_REWRITE_MAX];
            if (!req.is_connect)
                ck_assert_int_ge (http_request_rewrite (&req, buf, out, sizeof out), 0);
        }
        if (rc == HTTP_ERROR)
            ck_assert (req.status == 400 || req.status == 414 || req.status == 431
                    || req.status == 501 || req.status == 505);

        http_response_t resp;
        http_response_init (&resp);
        rc = http_response_parse (&resp, buf, len, round % 5 == 0);
        if (rc == HTTP_OK) {
            ck_assert_uint_le (resp.head_len, len);
            char out [HTTP_REWRITE_MAX];
            ck_assert_int_ge (http_response_rewrite (&resp, buf, round % 2, 11, out, sizeof out), 0);
        }
        if (rc == HTTP_ERROR)
            ck_assert_ptr_nonnull (resp.error);

        http_framer_t f;
        size_t used;
        http_framer_init (&f, HTTP_BODY_CHUNKED, 0);
        http_frame_t fr = http_framer_feed (&f, buf, len, &used);
        ck_assert_uint_le (used, len);
        if (fr == HTTP_FRAME_MORE)
            ck_assert_uint_eq (used, len);
    }
}
END_TEST

//  --- Proxy-Authorization: Basic

static bool
s_authorized (const char *head, const acl_users_t *users)
{
    http_request_t req;
    http_request_init (&req);
    ck_assert_int_eq (http_request_parse (&req, (const uint8_t *) head, strlen (head)), HTTP_OK);
    return http_request_authorized (&req, (const uint8_t *) head, users);
}

START_TEST (test_proxy_auth)
{
    static acl_user_t list [] = { { "alice", "s3cret" }, { "bob", "pa:ss" } };
    acl_users_t users = { list, 2 }, none = { 0 };
    //  alice:s3cret = YWxpY2U6czNjcmV0, bob:pa:ss = Ym9iOnBhOnNz
    ck_assert (s_authorized ("GET http://a/ HTTP/1.1\r\nProxy-Authorization: Basic YWxpY2U6czNjcmV0\r\n\r\n", &users));
    ck_assert (s_authorized ("CONNECT a:443 HTTP/1.1\r\nproxy-authorization:   basic   Ym9iOnBhOnNz \r\n\r\n", &users));
    //  without padding
    ck_assert (s_authorized ("GET http://a/ HTTP/1.1\r\nProxy-Authorization: Basic Ym9iOnBhOnNz\r\n\r\n", &users));
    //  missing, wrong password (alice:s3creT), unknown scheme, malformed base64, no colon
    ck_assert (!s_authorized ("GET http://a/ HTTP/1.1\r\nHost: a\r\n\r\n", &users));
    ck_assert (!s_authorized ("GET http://a/ HTTP/1.1\r\nProxy-Authorization: Basic YWxpY2U6czNjcmVU\r\n\r\n", &users));
    ck_assert (!s_authorized ("GET http://a/ HTTP/1.1\r\nProxy-Authorization: Bearer YWxpY2U6czNjcmV0\r\n\r\n", &users));
    ck_assert (!s_authorized ("GET http://a/ HTTP/1.1\r\nProxy-Authorization: Basic YWxp*2U6czNjcmV0\r\n\r\n", &users));
    ck_assert (!s_authorized ("GET http://a/ HTTP/1.1\r\nProxy-Authorization: Basic YWxpY2U=\r\n\r\n", &users));
    ck_assert (!s_authorized ("GET http://a/ HTTP/1.1\r\nProxy-Authorization: Basic\r\n\r\n", &users));
    //  (the origin's Authorization is not the proxy's)
    ck_assert (!s_authorized ("GET http://a/ HTTP/1.1\r\nAuthorization: Basic YWxpY2U6czNjcmV0\r\n\r\n", &users));
    //  no users: everything passes
    ck_assert (s_authorized ("GET http://a/ HTTP/1.1\r\n\r\n", &none));
    ck_assert (s_authorized ("GET http://a/ HTTP/1.1\r\n\r\n", NULL));
    //  the header is not forwarded to the origin
    const char *head = "GET http://a/ HTTP/1.1\r\nProxy-Authorization: Basic YWxpY2U6czNjcmV0\r\n\r\n";
    http_request_t req;
    http_request_init (&req);
    ck_assert_int_eq (http_request_parse (&req, (const uint8_t *) head, strlen (head)), HTTP_OK);
    char out [HTTP_REWRITE_MAX];
    int n = http_request_rewrite (&req, (const uint8_t *) head, out, sizeof out);
    ck_assert_int_gt (n, 0);
    out [n] = 0;
    ck_assert_ptr_null (strcasestr (out, "Proxy-Authorization"));
}
END_TEST

START_TEST (test_auth_required_response)
{
    char out [HTTP_ERROR_MAX];
    size_t n = http_auth_required_response (out, sizeof out);
    ck_assert_uint_gt (n, 0);
    out [n] = 0;
    static const char status [] = "HTTP/1.1 407 Proxy Authentication Required\r\n";
    ck_assert (strncmp (out, status, sizeof status - 1) == 0);
    ck_assert_ptr_nonnull (strstr (out, "\r\nProxy-Authenticate: Basic realm=\"mimicsocks\"\r\n"));
    ck_assert_ptr_nonnull (strstr (out, "\r\nConnection: close\r\n"));
    //  the body is as long as Content-Length says
    const char *body = strstr (out, "\r\n\r\n") + 4;
    unsigned len = 0;
    ck_assert_int_eq (sscanf (strstr (out, "Content-Length: "), "Content-Length: %u", &len), 1);
    ck_assert_uint_eq (strlen (body), len);
    ck_assert_uint_eq (http_auth_required_response (out, 20), 0);
}
END_TEST

int
main (void)
{
    Suite *s = suite_create ("http_codec");
    TCase *tc = tcase_create ("core");
    tcase_set_timeout (tc, 60);
    tcase_add_test (tc, test_connect_forms);
    tcase_add_test (tc, test_request_split_alike);
    tcase_add_test (tc, test_connect_errors);
    tcase_add_test (tc, test_absolute_forms);
    tcase_add_test (tc, test_absolute_errors);
    tcase_add_test (tc, test_rewrite_hop_by_hop);
    tcase_add_test (tc, test_rewrite_host);
    tcase_add_test (tc, test_rewrite_connection);
    tcase_add_test (tc, test_keep_alive);
    tcase_add_test (tc, test_request_framing);
    tcase_add_test (tc, test_request_malformed);
    tcase_add_test (tc, test_request_too_large);
    tcase_add_test (tc, test_request_truncated);
    tcase_add_test (tc, test_response_framing);
    tcase_add_test (tc, test_response_malformed);
    tcase_add_test (tc, test_response_rewrite);
    tcase_add_test (tc, test_framer_chunked);
    tcase_add_test (tc, test_framer_chunked_errors);
    tcase_add_test (tc, test_framer_length);
    tcase_add_test (tc, test_error_response);
    tcase_add_test (tc, test_random_garbage);
    tcase_add_test (tc, test_proxy_auth);
    tcase_add_test (tc, test_auth_required_response);
    suite_add_tcase (s, tc);
    return check_run (s);
}
