/*  test_far_reply — the far end's answers that the local end gave in
    advance: every kind, the bytes after them left alone, every split of
    them, refusals (SOCKS5 REP codes, SOCKS4 0x5B, HTTP 4xx/5xx, a wrong
    method), malformed and over-long input, random garbage.
*/
#include <check.h>

#include <stdlib.h>
#include <string.h>

#include "actors/far_reply.h"
#include "test/support/check_run.h"

typedef struct {
    far_reply_status_t status;
    size_t consumed;
} result_t;

//  Feed data in pieces of `step` bytes (0: all at once) until not MORE.
static result_t
s_run (unsigned parts, const void *data, size_t len, size_t step)
{
    far_reply_t *reply = far_reply_new (parts);
    ck_assert_ptr_nonnull (reply);
    result_t r = { FAR_REPLY_MORE, 0 };
    const uint8_t *p = data;
    size_t off = 0;
    while (off < len && r.status == FAR_REPLY_MORE) {
        size_t n = step && len - off > step ? step : len - off;
        size_t consumed = 99999;
        r.status = far_reply_feed (reply, p + off, n, &consumed);
        ck_assert_uint_le (consumed, n);
        if (r.status == FAR_REPLY_MORE)
            ck_assert_uint_eq (consumed, n);
        r.consumed += consumed;
        off += n;
    }
    if (r.status == FAR_REPLY_REFUSED)
        ck_assert_ptr_nonnull (far_reply_error (reply));
    else
        ck_assert_ptr_null (far_reply_error (reply));
    //  Once decided, it takes nothing more.
    if (r.status != FAR_REPLY_MORE) {
        size_t consumed = 1;
        ck_assert_int_eq (far_reply_feed (reply, (const uint8_t *) "xyz", 3, &consumed), r.status);
        ck_assert_uint_eq (consumed, 0);
    }
    far_reply_destroy (&reply);
    ck_assert_ptr_null (reply);
    return r;
}

//  The same result for every piece size.
static result_t
s_run_all_splits (unsigned parts, const void *data, size_t len)
{
    result_t whole = s_run (parts, data, len, 0);
    for (size_t step = 1; step <= len; step++) {
        result_t r = s_run (parts, data, len, step);
        ck_assert_int_eq (r.status, whole.status);
        if (r.status == FAR_REPLY_DONE)
            ck_assert_uint_eq (r.consumed, whole.consumed);
    }
    return whole;
}

#define AFTER "GET / HTTP/1.1\r\n"

START_TEST (test_socks5_ipv4)
{
    static const uint8_t in[] = { 5, 0, 5, 0, 0, 1, 127, 0, 0, 1, 0x1f, 0x90, 'd', 'a', 't', 'a' };
    result_t r = s_run_all_splits (FAR_REPLY_METHOD | FAR_REPLY_SOCKS5, in, sizeof in);
    ck_assert_int_eq (r.status, FAR_REPLY_DONE);
    ck_assert_uint_eq (r.consumed, 12);
}
END_TEST

START_TEST (test_socks5_domain_and_ipv6)
{
    //  The original answers with the requested address: a name here.
    uint8_t in[64] = { 5, 0, 0, 3, 11 };
    memcpy (in + 5, "example.com", 11);
    in[16] = 0, in[17] = 80;
    in[18] = 'x';
    result_t r = s_run_all_splits (FAR_REPLY_SOCKS5, in, 19);
    ck_assert_int_eq (r.status, FAR_REPLY_DONE);
    ck_assert_uint_eq (r.consumed, 18);
    uint8_t v6[22 + 1] = { 5, 0, 0, 4 };
    v6[22] = 'y';
    r = s_run_all_splits (FAR_REPLY_SOCKS5, v6, sizeof v6);
    ck_assert_int_eq (r.status, FAR_REPLY_DONE);
    ck_assert_uint_eq (r.consumed, 22);
}
END_TEST

START_TEST (test_method_only)
{
    static const uint8_t in[] = { 5, 0, 5, 0, 0, 1 };
    result_t r = s_run_all_splits (FAR_REPLY_METHOD, in, sizeof in);
    ck_assert_int_eq (r.status, FAR_REPLY_DONE);
    ck_assert_uint_eq (r.consumed, 2);
}
END_TEST

START_TEST (test_socks4)
{
    static const uint8_t in[] = { 0, 0x5a, 0, 80, 1, 2, 3, 4, 'z' };
    result_t r = s_run_all_splits (FAR_REPLY_SOCKS4, in, sizeof in);
    ck_assert_int_eq (r.status, FAR_REPLY_DONE);
    ck_assert_uint_eq (r.consumed, 8);
    static const uint8_t no[] = { 0, 0x5b, 0, 0, 0, 0, 0, 0 };
    ck_assert_int_eq (s_run_all_splits (FAR_REPLY_SOCKS4, no, sizeof no).status, FAR_REPLY_REFUSED);
    static const uint8_t ver[] = { 4, 0x5a, 0, 0, 0, 0, 0, 0 };
    ck_assert_int_eq (s_run_all_splits (FAR_REPLY_SOCKS4, ver, sizeof ver).status, FAR_REPLY_REFUSED);
}
END_TEST

START_TEST (test_http)
{
    static const char ok[] = "HTTP/1.1 200 Connection established\r\nVia: x\r\n\r\n" AFTER;
    result_t r = s_run_all_splits (FAR_REPLY_HTTP, ok, strlen (ok));
    ck_assert_int_eq (r.status, FAR_REPLY_DONE);
    ck_assert_uint_eq (r.consumed, strlen (ok) - strlen (AFTER));
    static const char ok10[] = "HTTP/1.0 200 OK\r\n\r\n";
    r = s_run_all_splits (FAR_REPLY_HTTP, ok10, strlen (ok10));
    ck_assert_int_eq (r.status, FAR_REPLY_DONE);
    ck_assert_uint_eq (r.consumed, strlen (ok10));
    //  CR CR LF CR LF still ends the head.
    static const char crs[] = "HTTP/1.1 200 OK\r\r\n\r\nZ";
    r = s_run_all_splits (FAR_REPLY_HTTP, crs, strlen (crs));
    ck_assert_int_eq (r.status, FAR_REPLY_DONE);
    ck_assert_uint_eq (r.consumed, strlen (crs) - 1);
}
END_TEST

START_TEST (test_http_incomplete)
{
    static const char head[] = "HTTP/1.1 200 Connection established\r\nVia: x\r\n";
    result_t r = s_run_all_splits (FAR_REPLY_HTTP, head, strlen (head));
    ck_assert_int_eq (r.status, FAR_REPLY_MORE);
    ck_assert_uint_eq (r.consumed, strlen (head));
}
END_TEST

//  Refusals and malformed answers, each with the parts that expected it.
static const struct {
    unsigned parts;
    const char *in;
    size_t len;
} s_refusals[] = {
    { FAR_REPLY_METHOD, "\x05\xff", 2 },                        //  no acceptable method
    { FAR_REPLY_METHOD, "\x05\x02", 2 },                        //  wants a password
    { FAR_REPLY_METHOD, "\x04\x00", 2 },                        //  wrong version
    { FAR_REPLY_METHOD | FAR_REPLY_SOCKS5, "\x05\x00\x05\x02\x00\x01\0\0\0\0\0\0", 12 },   //  ACL
    { FAR_REPLY_SOCKS5, "\x05\x04\x00\x01\0\0\0\0\0\0", 10 },   //  host unreachable
    { FAR_REPLY_SOCKS5, "\x05\x01\x00\x01", 4 },                //  general failure (the original)
    { FAR_REPLY_SOCKS5, "\x06\x00\x00\x01", 4 },                //  wrong version
    { FAR_REPLY_SOCKS5, "\x05\x00\x00\x07", 4 },                //  unknown address type
    { FAR_REPLY_SOCKS5, "\x05\x00\x00\x00", 4 },
    { FAR_REPLY_HTTP, "HTTP/1.1 403 Forbidden\r\n\r\n", 26 },
    { FAR_REPLY_HTTP, "HTTP/1.1 502 Bad Gateway\r\n\r\n", 28 },
    { FAR_REPLY_HTTP, "HTTP/1.1 407 Proxy Authentication Required\r\n\r\n", 46 },
    { FAR_REPLY_HTTP, "HTTP/2.0 200 OK\r\n\r\n", 19 },
    { FAR_REPLY_HTTP, "SSH-2.0-OpenSSH\r\n\r\n", 19 },
    { FAR_REPLY_HTTP, "HTTP/1.1200 OK\r\n\r\n", 18 },
};

START_TEST (test_refusals)
{
    result_t r = s_run_all_splits (s_refusals[_i].parts, s_refusals[_i].in, s_refusals[_i].len);
    ck_assert_int_eq (r.status, FAR_REPLY_REFUSED);
}
END_TEST

START_TEST (test_http_too_long)
{
    size_t len = 20000;
    char *in = malloc (len);
    ck_assert_ptr_nonnull (in);
    memset (in, 'a', len);
    memcpy (in, "HTTP/1.1 200 OK\r\nX: ", 20);
    ck_assert_int_eq (s_run (FAR_REPLY_HTTP, in, len, 0).status, FAR_REPLY_REFUSED);
    ck_assert_int_eq (s_run (FAR_REPLY_HTTP, in, len, 7).status, FAR_REPLY_REFUSED);
    free (in);
}
END_TEST

START_TEST (test_no_parts)
{
    result_t r = s_run (0, "abc", 3, 0);
    ck_assert_int_eq (r.status, FAR_REPLY_DONE);
    ck_assert_uint_eq (r.consumed, 0);
}
END_TEST

//  Random bytes: any result, but consumed stays within what was fed.
START_TEST (test_garbage)
{
    srand (14);
    uint8_t in[64];
    static const unsigned kinds[] = { FAR_REPLY_METHOD | FAR_REPLY_SOCKS5, FAR_REPLY_SOCKS4,
                                      FAR_REPLY_HTTP };
    for (int round = 0; round < 3000; round++) {
        size_t len = 1 + (size_t) rand () % sizeof in;
        for (size_t i = 0; i < len; i++)
            in[i] = (uint8_t) rand ();
        if (round % 3 == 0)
            in[0] = 5;
        s_run (kinds[round % 3], in, len, 1 + (size_t) rand () % 8);
    }
}
END_TEST

int
main (void)
{
    Suite *suite = suite_create ("far_reply");
    TCase *tc = tcase_create ("core");
    tcase_add_test (tc, test_socks5_ipv4);
    tcase_add_test (tc, test_socks5_domain_and_ipv6);
    tcase_add_test (tc, test_method_only);
    tcase_add_test (tc, test_socks4);
    tcase_add_test (tc, test_http);
    tcase_add_test (tc, test_http_incomplete);
    tcase_add_loop_test (tc, test_refusals, 0, (int) (sizeof s_refusals / sizeof s_refusals[0]));
    tcase_add_test (tc, test_http_too_long);
    tcase_add_test (tc, test_no_parts);
    tcase_add_test (tc, test_garbage);
    suite_add_tcase (suite, tc);
    return check_run (suite);
}
