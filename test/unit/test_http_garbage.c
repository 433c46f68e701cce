/*  test_http_garbage — the HTTP codecs (request, response, framer) on
    random garbage, biased and not, sometimes behind a valid start line:
    every result is one of the defined ones, nothing reads out of bounds.
*/
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "handlers/http_codec.h"
#include "test/support/check_run.h"

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

int
main (void)
{
    Suite *s = suite_create ("http_garbage");
    TCase *tc = tcase_create ("core");
    tcase_set_timeout (tc, 60);
    tcase_add_test (tc, test_random_garbage);
    suite_add_tcase (s, tc);
    return check_run (s);
}
