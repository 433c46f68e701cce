/*  test_http_request — the HTTP proxy's request heads (handlers/http_request.h):
    CONNECT and absolute-URI forms and their errors, rewriting (hop-by-hop
    headers, Host, Connection), keep-alive, request body framing, and
    malformed, too large and truncated requests.
*/
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "handlers/http_codec.h"
#include "test/support/check_run.h"
#include "test/support/http_check.h"

//  --- CONNECT ---

START_TEST (test_connect_forms)
{
    http_request_t req;
    const char *v4 = "CONNECT 1.2.3.4:443 HTTP/1.1\r\nHost: 1.2.3.4:443\r\n\r\n";
    ck_assert_int_eq (hc_req (v4, &req), HTTP_OK);
    ck_assert (req.is_connect);
    ck_assert_str_eq (req.method, "CONNECT");
    ck_assert_str_eq (req.target.host, "1.2.3.4");
    ck_assert_uint_eq (req.target.port, 443);
    ck_assert_uint_eq (req.head_len, strlen (v4));
    ck_assert_int_eq (req.version, 11);

    ck_assert_int_eq (hc_req ("CONNECT example.com:8443 HTTP/1.0\r\n\r\n", &req), HTTP_OK);
    ck_assert_str_eq (req.target.host, "example.com");
    ck_assert_uint_eq (req.target.port, 8443);
    ck_assert_int_eq (req.version, 10);

    ck_assert_int_eq (hc_req ("CONNECT [::1]:443 HTTP/1.1\r\n\r\n", &req), HTTP_OK);
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
    ck_assert_int_eq (hc_req ("CONNECT a.b:1 HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n", &req),
                      HTTP_OK);
}
END_TEST

START_TEST (test_connect_errors)
{
    ck_assert_int_eq (hc_req_status ("CONNECT example.com HTTP/1.1\r\n\r\n"), 400);
    ck_assert_int_eq (hc_req_status ("CONNECT example.com: HTTP/1.1\r\n\r\n"), 400);
    ck_assert_int_eq (hc_req_status ("CONNECT ::1:443 HTTP/1.1\r\n\r\n"), 400);
    ck_assert_int_eq (hc_req_status ("CONNECT [::1] HTTP/1.1\r\n\r\n"), 400);
    ck_assert_int_eq (hc_req_status ("CONNECT [nothex]:443 HTTP/1.1\r\n\r\n"), 400);
    ck_assert_int_eq (hc_req_status ("CONNECT a.b:0 HTTP/1.1\r\n\r\n"), 400);
    ck_assert_int_eq (hc_req_status ("CONNECT a.b:65536 HTTP/1.1\r\n\r\n"), 400);
    ck_assert_int_eq (hc_req_status ("CONNECT a.b:44x HTTP/1.1\r\n\r\n"), 400);
    ck_assert_int_eq (hc_req_status ("CONNECT user@a.b:443 HTTP/1.1\r\n\r\n"), 400);
    ck_assert_int_eq (hc_req_status ("CONNECT a/b:443 HTTP/1.1\r\n\r\n"), 400);
    ck_assert_int_eq (hc_req_status ("CONNECT :443 HTTP/1.1\r\n\r\n"), 400);
    ck_assert_int_eq (hc_req_status ("CONNECT http://a.b:443/ HTTP/1.1\r\n\r\n"), 400);
    //  the request line is refused before the head is complete
    ck_assert_int_eq (hc_req_status ("CONNECT example.com HTTP/1.1\r\n"), 400);
}
END_TEST

//  --- absolute URIs ---

START_TEST (test_absolute_forms)
{
    http_request_t req;
    char path [256];
    const char *a = "GET http://example.com/ HTTP/1.1\r\nHost: example.com\r\n\r\n";
    ck_assert_int_eq (hc_req (a, &req), HTTP_OK);
    ck_assert (!req.is_connect);
    ck_assert (!req.is_head);
    ck_assert_str_eq (req.target.host, "example.com");
    ck_assert_uint_eq (req.target.port, 80);
    ck_assert_str_eq (hc_path (&req, a, path, sizeof path), "/");

    const char *b = "HEAD http://example.com:8080/a/b?x=1&y=%20 HTTP/1.1\r\n\r\n";
    ck_assert_int_eq (hc_req (b, &req), HTTP_OK);
    ck_assert (req.is_head);
    ck_assert_uint_eq (req.target.port, 8080);
    ck_assert_str_eq (hc_path (&req, b, path, sizeof path), "/a/b?x=1&y=%20");

    const char *c = "GET http://example.com HTTP/1.1\r\n\r\n";
    ck_assert_int_eq (hc_req (c, &req), HTTP_OK);
    ck_assert_uint_eq (req.path_len, 0);

    const char *d = "GET HTTP://Example.COM:/p#frag HTTP/1.1\r\n\r\n";
    ck_assert_int_eq (hc_req (d, &req), HTTP_OK);
    ck_assert_str_eq (req.target.host, "Example.COM");
    ck_assert_uint_eq (req.target.port, 80);
    ck_assert_str_eq (hc_path (&req, d, path, sizeof path), "/p");

    const char *e = "POST http://[::1]:8080/x HTTP/1.1\r\n\r\n";
    ck_assert_int_eq (hc_req (e, &req), HTTP_OK);
    ck_assert_str_eq (req.target.host, "::1");
    ck_assert_uint_eq (req.target.port, 8080);

    const char *f = "GET http://10.0.0.1?q HTTP/1.1\r\n\r\n";
    ck_assert_int_eq (hc_req (f, &req), HTTP_OK);
    ck_assert_str_eq (req.target.host, "10.0.0.1");
    ck_assert_str_eq (hc_path (&req, f, path, sizeof path), "?q");

    //  leading empty lines (after a previous body) are skipped and consumed
    const char *g = "\r\n\nGET http://a.b/ HTTP/1.1\r\n\r\n";
    ck_assert_int_eq (hc_req (g, &req), HTTP_OK);
    ck_assert_uint_eq (req.head_len, strlen (g));
}
END_TEST

START_TEST (test_absolute_errors)
{
    ck_assert_int_eq (hc_req_status ("GET /path HTTP/1.1\r\nHost: a.b\r\n\r\n"), 400);
    ck_assert_int_eq (hc_req_status ("OPTIONS * HTTP/1.1\r\n\r\n"), 400);
    ck_assert_int_eq (hc_req_status ("GET https://a.b/ HTTP/1.1\r\n\r\n"), 501);
    ck_assert_int_eq (hc_req_status ("GET ftp://a.b/ HTTP/1.1\r\n\r\n"), 501);
    ck_assert_int_eq (hc_req_status ("GET http://user:pw@a.b/ HTTP/1.1\r\n\r\n"), 400);
    ck_assert_int_eq (hc_req_status ("GET http:///x HTTP/1.1\r\n\r\n"), 400);
    ck_assert_int_eq (hc_req_status ("GET http://a.b:99999/ HTTP/1.1\r\n\r\n"), 400);
    ck_assert_int_eq (hc_req_status ("GET http://a.b:8x/ HTTP/1.1\r\n\r\n"), 400);
    ck_assert_int_eq (hc_req_status ("GET http://a%2eb/ HTTP/1.1\r\n\r\n"), 400);
    ck_assert_int_eq (hc_req_status ("GET http:/a.b/ HTTP/1.1\r\n\r\n"), 400);
    ck_assert_int_eq (hc_req_status ("GET a.b:80 HTTP/1.1\r\n\r\n"), 400);
    ck_assert_int_eq (hc_req_status ("GET http://::1/ HTTP/1.1\r\n\r\n"), 400);

    //  the body says why
    http_request_t req;
    ck_assert_int_eq (hc_req ("GET https://a.b/ HTTP/1.1\r\n\r\n", &req), HTTP_ERROR);
    ck_assert_ptr_nonnull (strstr (req.error, "CONNECT"));
}
END_TEST

//  --- rewriting ---

START_TEST (test_rewrite_hop_by_hop)
{
    hc_check_rewrite (
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
    hc_check_rewrite (
        "POST http://a.b/x HTTP/1.1\r\nHost: a.b\r\nConnection: Content-Length, Host\r\n"
        "Content-Length: 3\r\n\r\n",
        "POST /x HTTP/1.1\r\nHost: a.b\r\nContent-Length: 3\r\n\r\n");
}
END_TEST

START_TEST (test_rewrite_host)
{
    //  added first when missing
    hc_check_rewrite ("GET http://example.com/x HTTP/1.1\r\nAccept: */*\r\n\r\n",
                     "GET /x HTTP/1.1\r\nHost: example.com\r\nAccept: */*\r\n\r\n");
    hc_check_rewrite ("GET http://[::1]:8080 HTTP/1.1\r\n\r\n",
                     "GET / HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n");
    hc_check_rewrite ("GET http://a.b:81?x HTTP/1.1\r\n\r\n",
                     "GET /?x HTTP/1.1\r\nHost: a.b:81\r\n\r\n");
    //  kept as written when it names the same origin
    hc_check_rewrite ("GET http://Example.com/ HTTP/1.1\r\nA: 1\r\nhost:  EXAMPLE.com:80 \r\n\r\n",
                     "GET / HTTP/1.1\r\nA: 1\r\nhost:  EXAMPLE.com:80 \r\n\r\n");
    //  replaced (in place) when it names another one
    hc_check_rewrite ("GET http://example.com/ HTTP/1.1\r\nA: 1\r\nHost: evil.example\r\nB: 2\r\n\r\n",
                     "GET / HTTP/1.1\r\nA: 1\r\nHost: example.com\r\nB: 2\r\n\r\n");
    hc_check_rewrite ("GET http://example.com:81/ HTTP/1.1\r\nHost: example.com\r\n\r\n",
                     "GET / HTTP/1.1\r\nHost: example.com:81\r\n\r\n");
}
END_TEST

START_TEST (test_rewrite_connection)
{
    //  HTTP/1.0: close unless keep-alive; the origin is told the same
    hc_check_rewrite ("GET http://a.b/ HTTP/1.0\r\n\r\n",
                     "GET / HTTP/1.0\r\nHost: a.b\r\nConnection: close\r\n\r\n");
    hc_check_rewrite ("GET http://a.b/ HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n",
                     "GET / HTTP/1.0\r\nHost: a.b\r\nConnection: keep-alive\r\n\r\n");
    hc_check_rewrite ("GET http://a.b/ HTTP/1.1\r\nProxy-Connection: close\r\n\r\n",
                     "GET / HTTP/1.1\r\nHost: a.b\r\nConnection: close\r\n\r\n");
    //  bare LF lines come out as CRLF; the body framing headers stay
    hc_check_rewrite ("POST http://a.b/u HTTP/1.1\nHost: a.b\nTransfer-Encoding: chunked\n\n",
                     "POST /u HTTP/1.1\r\nHost: a.b\r\nTransfer-Encoding: chunked\r\n\r\n");

    //  CONNECT is not rewritten; a too small buffer is refused
    http_request_t req;
    const char *get = "GET http://a.b/ HTTP/1.1\r\nHost: a.b\r\n\r\n";
    char out [HTTP_REWRITE_MAX];
    ck_assert_int_eq (hc_req (get, &req), HTTP_OK);
    ck_assert_int_eq (http_request_rewrite (&req, (const uint8_t *) get, out, 10), -1);
    const char *conn = "CONNECT a.b:1 HTTP/1.1\r\n\r\n";
    ck_assert_int_eq (hc_req (conn, &req), HTTP_OK);
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
        ck_assert_int_eq (hc_req (cases [i].head, &req), HTTP_OK);
        ck_assert_msg (req.keep_alive == cases [i].keep, "case %zu", i);
    }
}
END_TEST

//  --- request framing ---

START_TEST (test_request_framing)
{
    http_request_t req;
    ck_assert_int_eq (hc_req ("GET http://a.b/ HTTP/1.1\r\n\r\n", &req), HTTP_OK);
    ck_assert_int_eq (req.body, HTTP_BODY_NONE);
    ck_assert_int_eq (hc_req ("POST http://a.b/ HTTP/1.1\r\nContent-Length: 42\r\n\r\n", &req),
                      HTTP_OK);
    ck_assert_int_eq (req.body, HTTP_BODY_LENGTH);
    ck_assert_uint_eq (req.content_length, 42);
    ck_assert_int_eq (hc_req ("POST http://a.b/ HTTP/1.1\r\nContent-Length: 0\r\n\r\n", &req),
                      HTTP_OK);
    ck_assert_int_eq (req.body, HTTP_BODY_LENGTH);
    ck_assert_uint_eq (req.content_length, 0);
    ck_assert_int_eq (hc_req ("POST http://a.b/ HTTP/1.1\r\nContent-Length: 7, 7\r\n"
                             "content-length: 7\r\n\r\n", &req), HTTP_OK);
    ck_assert_uint_eq (req.content_length, 7);
    //  The largest length a signed 64-bit integer holds is a length.
    ck_assert_int_eq (hc_req ("POST http://a.b/ HTTP/1.1\r\nContent-Length: 9223372036854775807\r\n\r\n",
                             &req), HTTP_OK);
    ck_assert_uint_eq (req.content_length, INT64_MAX);
    ck_assert_int_eq (hc_req ("POST http://a.b/ HTTP/1.1\r\nTransfer-Encoding: Chunked\r\n\r\n", &req),
                      HTTP_OK);
    ck_assert_int_eq (req.body, HTTP_BODY_CHUNKED);
    ck_assert_int_eq (hc_req ("POST http://a.b/ HTTP/1.1\r\nTransfer-Encoding: ,\r\n"
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
        ck_assert_msg (hc_req_status (buf) == 400, "case %d: %d", i, hc_req_status (buf));
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
        ck_assert_msg (hc_req_status (buf) == 501, "case %d: %d", i, hc_req_status (buf));
    }
}
END_TEST

//  --- malformed requests ---

START_TEST (test_request_malformed)
{
    ck_assert_int_eq (hc_req_status ("GET http://a.b/ HTTP/2.0\r\n\r\n"), 505);
    ck_assert_int_eq (hc_req_status ("GET http://a.b/ HTTP/1.2\r\n\r\n"), 505);
    ck_assert_int_eq (hc_req_status ("GET http://a.b/ HTTP/0.9\r\n\r\n"), 505);
    ck_assert_int_eq (hc_req_status ("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"), 505);
    ck_assert_int_eq (hc_req_status ("GET http://a.b/ HTTP/1.10\r\n\r\n"), 400);
    ck_assert_int_eq (hc_req_status ("GET http://a.b/ http/1.1\r\n\r\n"), 400);
    ck_assert_int_eq (hc_req_status ("GET http://a.b/ FOO/1.1\r\n\r\n"), 400);
    ck_assert_int_eq (hc_req_status ("GET http://a.b/\r\n\r\n"), 400);
    ck_assert_int_eq (hc_req_status ("GET\r\n\r\n"), 400);
    ck_assert_int_eq (hc_req_status ("GET  http://a.b/ HTTP/1.1\r\n\r\n"), 400);
    ck_assert_int_eq (hc_req_status ("GET http://a.b/ x HTTP/1.1\r\n\r\n"), 400);
    ck_assert_int_eq (hc_req_status (" GET http://a.b/ HTTP/1.1\r\n\r\n"), 400);
    ck_assert_int_eq (hc_req_status ("G(T http://a.b/ HTTP/1.1\r\n\r\n"), 400);
    ck_assert_int_eq (hc_req_status ("BREW http://a.b/ HTTP/1.1\r\n\r\n"), 501);
    ck_assert_int_eq (hc_req_status ("get http://a.b/ HTTP/1.1\r\n\r\n"), 501);
    ck_assert_int_eq (hc_req_status ("AVERYVERYVERYLONGMETHODNAMEINDEED http://a.b/ HTTP/1.1\r\n\r\n"),
                      501);
    //  control characters in the request line, found before the line ends
    ck_assert_int_eq (hc_req_status ("GET http://a.b/\x01"), 400);
    ck_assert_int_eq (hc_req_status ("GET http://a.b/\t HTTP/1.1\r\n\r\n"), 400);
    ck_assert_int_eq (hc_req_status ("GET http://a.b/\r HTTP/1.1\r\n\r\n"), 400);
    ck_assert_int_eq (hc_req_status ("\x16\x03\x01\x02"), 400);
    //  a method longer than any known one is refused before the line ends
    ck_assert_int_eq (hc_req_status ("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"), 501);
    ck_assert_int_eq (hc_req_status ("GE(T"), 400);
    ck_assert_int_eq (hc_req_status ("UPDATEREDIRECTREF"), 0);
    ck_assert_int_eq (hc_req_status ("\r"), 0);
    ck_assert_int_eq (hc_req_status ("\r\nGET\r"), 0);
    //  header lines
    ck_assert_int_eq (hc_req_status ("GET http://a.b/ HTTP/1.1\r\nA: 1\r\n  folded\r\n\r\n"), 400);
    ck_assert_int_eq (hc_req_status ("GET http://a.b/ HTTP/1.1\r\n\tA: 1\r\n\r\n"), 400);
    ck_assert_int_eq (hc_req_status ("GET http://a.b/ HTTP/1.1\r\nNoColon\r\n\r\n"), 400);
    ck_assert_int_eq (hc_req_status ("GET http://a.b/ HTTP/1.1\r\nA : 1\r\n\r\n"), 400);
    ck_assert_int_eq (hc_req_status ("GET http://a.b/ HTTP/1.1\r\n: 1\r\n\r\n"), 400);
    ck_assert_int_eq (hc_req_status ("GET http://a.b/ HTTP/1.1\r\nA: 1\r2\r\n\r\n"), 400);
    ck_assert_int_eq (hc_req_status ("GET http://a.b/ HTTP/1.1\r\nA: \x7f\r\n\r\n"), 400);
    //  header values may hold tabs and non-ASCII bytes
    ck_assert_int_eq (hc_req_status ("GET http://a.b/ HTTP/1.1\r\nA: x\ty \xc3\xa9\r\n\r\n"), 200);

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
    ck_assert_int_eq (hc_req_status (buf), 431);
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
    ck_assert_int_eq (hc_req (two, &req), HTTP_OK);
    size_t first = req.head_len;
    ck_assert_uint_eq (first, strlen (two) / 2);
    http_request_init (&req);
    ck_assert_int_eq (http_request_parse (&req, (const uint8_t *) two + first, strlen (two) - first),
                      HTTP_OK);
    ck_assert_str_eq (req.target.host, "c.d");
}
END_TEST

int
main (void)
{
    Suite *s = suite_create ("http_request");
    TCase *tc = tcase_create ("core");
    tcase_set_timeout (tc, 60);
    tcase_add_test (tc, test_connect_forms);
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
    suite_add_tcase (s, tc);
    return check_run (s);
}
