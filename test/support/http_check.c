/*  http_check — what the HTTP codec tests (test_http_*) share: parsing a
    request or response head from a string, its status at once or fed one
    byte more each time as the proxy reads, comparing a rewritten head
    byte for byte, and a request's path as a string.
*/
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "handlers/http_codec.h"
#include "test/support/http_check.h"

//  --- helpers ---

http_result_t
hc_req (const char *text, http_request_t *req)
{
    http_request_init (req);
    return http_request_parse (req, (const uint8_t *) text, strlen (text));
}

int
hc_req_status (const char *text)
{
    http_request_t req;
    http_result_t rc = hc_req (text, &req);
    if (rc == HTTP_OK)
        return 200;
    if (rc == HTTP_NEED_MORE)
        return 0;
    return req.status;
}

//  The same text fed as the proxy reads it, one more byte each time (the
//  buffer grows): the status once decided, 0 if it never is.
int
hc_req_status_bytewise (const char *text)
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

http_result_t
hc_resp (const char *text, bool is_head, http_response_t *resp)
{
    http_response_init (resp);
    return http_response_parse (resp, (const uint8_t *) text, strlen (text), is_head);
}

//  Rewrite a request and compare with the expected head byte for byte.
void
hc_check_rewrite (const char *in, const char *expected)
{
    http_request_t req;
    ck_assert_int_eq (hc_req (in, &req), HTTP_OK);
    char out [HTTP_REWRITE_MAX];
    int n = http_request_rewrite (&req, (const uint8_t *) in, out, sizeof out);
    ck_assert_int_ge (n, 0);
    out [n] = 0;
    ck_assert_str_eq (out, expected);
}

char *
hc_path (const http_request_t *req, const char *head, char *buf, size_t size)
{
    snprintf (buf, size, "%.*s", (int) req->path_len, head + req->path);
    return buf;
}
