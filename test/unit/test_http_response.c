/*  test_http_response — the HTTP proxy's response heads
    (handlers/http_response.h): body framing, malformed responses, and
    rewriting a response head.
*/
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "handlers/http_codec.h"
#include "test/support/check_run.h"
#include "test/support/http_check.h"

//  --- responses ---

START_TEST (test_response_framing)
{
    http_response_t r;
    ck_assert_int_eq (hc_resp ("HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\n", false, &r), HTTP_OK);
    ck_assert_int_eq (r.code, 200);
    ck_assert_int_eq (r.body, HTTP_BODY_LENGTH);
    ck_assert_uint_eq (r.content_length, 12);
    ck_assert (r.reusable);
    ck_assert (!r.interim);

    //  HEAD, 204, 304: no body whatever the headers say
    ck_assert_int_eq (hc_resp ("HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\n", true, &r), HTTP_OK);
    ck_assert_int_eq (r.body, HTTP_BODY_NONE);
    ck_assert (r.reusable);
    ck_assert_int_eq (hc_resp ("HTTP/1.1 204 No Content\r\n\r\n", false, &r), HTTP_OK);
    ck_assert_int_eq (r.body, HTTP_BODY_NONE);
    ck_assert (r.reusable);
    ck_assert_int_eq (hc_resp ("HTTP/1.1 304 Not Modified\r\nTransfer-Encoding: chunked\r\n\r\n",
                              false, &r), HTTP_OK);
    ck_assert_int_eq (r.body, HTTP_BODY_NONE);
    ck_assert_int_eq (hc_resp ("HTTP/1.1 100 Continue\r\n\r\n", false, &r), HTTP_OK);
    ck_assert (r.interim);
    ck_assert_int_eq (r.body, HTTP_BODY_NONE);

    ck_assert_int_eq (hc_resp ("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", false, &r),
                      HTTP_OK);
    ck_assert_int_eq (r.body, HTTP_BODY_CHUNKED);
    ck_assert (r.reusable);
    //  neither: until the close, never reusable
    ck_assert_int_eq (hc_resp ("HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n", false, &r),
                      HTTP_OK);
    ck_assert_int_eq (r.body, HTTP_BODY_UNTIL_CLOSE);
    ck_assert (!r.reusable);
    ck_assert_int_eq (hc_resp ("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", false, &r),
                      HTTP_OK);
    ck_assert_int_eq (r.body, HTTP_BODY_UNTIL_CLOSE);
    ck_assert (!r.reusable);

    //  reuse of the origin connection
    ck_assert_int_eq (hc_resp ("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 1\r\n\r\n",
                              false, &r), HTTP_OK);
    ck_assert (!r.reusable);
    ck_assert_int_eq (hc_resp ("HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\n", false, &r), HTTP_OK);
    ck_assert_int_eq (r.version, 10);
    ck_assert (!r.reusable);
    ck_assert_int_eq (hc_resp ("HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 1\r\n\r\n",
                              false, &r), HTTP_OK);
    ck_assert (r.reusable);

    //  status lines without a reason, bare LF
    ck_assert_int_eq (hc_resp ("HTTP/1.1 404\nContent-Length: 0\n\n", false, &r), HTTP_OK);
    ck_assert_int_eq (r.code, 404);
    ck_assert_int_eq (hc_resp ("HTTP/1.1 200 \r\n\r\n", false, &r), HTTP_OK);

    //  an interim response followed by the real one in the same bytes
    const char *two = "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n";
    ck_assert_int_eq (hc_resp (two, false, &r), HTTP_OK);
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
    ck_assert_int_eq (hc_resp (in, is_head, &r), HTTP_OK);
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

int
main (void)
{
    Suite *s = suite_create ("http_response");
    TCase *tc = tcase_create ("core");
    tcase_set_timeout (tc, 60);
    tcase_add_test (tc, test_response_framing);
    tcase_add_test (tc, test_response_malformed);
    tcase_add_test (tc, test_response_rewrite);
    suite_add_tcase (s, tc);
    return check_run (s);
}
