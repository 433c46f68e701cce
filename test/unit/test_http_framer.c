/*  test_http_framer — the HTTP body framer (handlers/http_framer.h):
    chunked bodies (split anywhere alike, and malformed), Content-Length
    bodies; and a request's status alike however it is split.
*/
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "handlers/http_codec.h"
#include "test/support/check_run.h"
#include "test/support/http_check.h"

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
        int whole = hc_req_status (texts [i]), pieces = hc_req_status_bytewise (texts [i]);
        ck_assert_msg (whole == pieces, "case %d: %d whole, %d byte by byte", i, whole, pieces);
        ck_assert_msg (whole != 0, "case %d: undecided", i);
    }
    ck_assert_int_eq (hc_req_status (texts [0]), 501);
    ck_assert_int_eq (hc_req_status (texts [4]), 400);
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

int
main (void)
{
    Suite *s = suite_create ("http_framer");
    TCase *tc = tcase_create ("core");
    tcase_set_timeout (tc, 60);
    tcase_add_test (tc, test_request_split_alike);
    tcase_add_test (tc, test_framer_chunked);
    tcase_add_test (tc, test_framer_chunked_errors);
    tcase_add_test (tc, test_framer_length);
    suite_add_tcase (s, tc);
    return check_run (s);
}
