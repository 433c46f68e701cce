/*  test_http_replies — the HTTP proxy's canned replies
    (handlers/http_reply.h) and Proxy-Authorization: Basic
    (handlers/http_auth.h), with its 407 reply.
*/
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "handlers/http_codec.h"
#include "test/support/check_run.h"

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
    Suite *s = suite_create ("http_replies");
    TCase *tc = tcase_create ("core");
    tcase_set_timeout (tc, 60);
    tcase_add_test (tc, test_error_response);
    tcase_add_test (tc, test_proxy_auth);
    tcase_add_test (tc, test_auth_required_response);
    suite_add_tcase (s, tc);
    return check_run (s);
}
