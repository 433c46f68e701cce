/*  test_socks_codec — SOCKS4/4a/5 request parsing and reply building:
    valid requests, pipelining, split invariance, every failure reply, version
    masks, truncated input, random garbage, reply builder and REP mapping.
*/
#include <check.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "handlers/socks_codec.h"
#include "test/support/check_run.h"

//  Everything one run of the codec over a stream produced.
typedef struct {
    socks_status_t status;
    size_t consumed;                //  total over all feeds
    uint8_t out [256];              //  all reply bytes, concatenated
    size_t out_len;
    bool have_request;
    socks_request_t request;
} run_t;

//  Feed data cut at the given offsets (ascending, within 0..len), stopping
//  once the codec is done or failed, as the handler does.
static run_t
s_run_split (bool allow4, bool allow5, const uint8_t *data, size_t len,
             const size_t *cuts, size_t ncuts)
{
    run_t run;
    memset (&run, 0, sizeof run);
    socks_codec_t *codec = socks_codec_new (allow4, allow5);
    ck_assert_ptr_nonnull (codec);
    run.status = SOCKS_NEED_MORE;
    size_t start = 0;
    for (size_t i = 0; i <= ncuts && run.status == SOCKS_NEED_MORE; i++) {
        size_t end = i < ncuts? cuts [i]: len;
        ck_assert_uint_le (start, end);
        uint8_t out [SOCKS_FEED_OUT_MAX];
        size_t consumed = 99999, out_len = 99999;
        run.status = socks_codec_feed (codec, data + start, end - start, &consumed,
                                       out, sizeof out, &out_len);
        ck_assert_uint_le (consumed, end - start);
        ck_assert_uint_le (out_len, SOCKS_FEED_OUT_MAX);
        //  while more is needed, a feed takes everything it was given
        if (run.status == SOCKS_NEED_MORE)
            ck_assert_uint_eq (consumed, end - start);
        ck_assert_uint_le (run.out_len + out_len, sizeof run.out);
        memcpy (run.out + run.out_len, out, out_len);
        run.out_len += out_len;
        run.consumed += consumed;
        start = end;
    }
    const socks_request_t *request = socks_codec_request (codec);
    ck_assert_int_eq (request != NULL, run.status == SOCKS_REQUEST_READY);
    ck_assert_int_eq (socks_codec_error (codec) != NULL, run.status == SOCKS_FAIL);
    if (request) {
        run.have_request = true;
        run.request = *request;
    }
    socks_codec_destroy (&codec);
    ck_assert_ptr_null (codec);
    return run;
}

static run_t
s_run (bool allow4, bool allow5, const uint8_t *data, size_t len)
{
    return s_run_split (allow4, allow5, data, len, NULL, 0);
}

static void
s_assert_same_run (const run_t *a, const run_t *b)
{
    ck_assert_int_eq (a->status, b->status);
    ck_assert_uint_eq (a->consumed, b->consumed);
    ck_assert_uint_eq (a->out_len, b->out_len);
    ck_assert_mem_eq (a->out, b->out, a->out_len);
    ck_assert_int_eq (a->have_request, b->have_request);
    if (a->have_request) {
        ck_assert_int_eq (a->request.version, b->request.version);
        ck_assert_str_eq (a->request.host, b->request.host);
        ck_assert_uint_eq (a->request.port, b->request.port);
        ck_assert_int_eq (a->request.host_is_name, b->request.host_is_name);
    }
}

static void
s_assert_out (const run_t *run, const uint8_t *expected, size_t len)
{
    ck_assert_uint_eq (run->out_len, len);
    ck_assert_mem_eq (run->out, expected, len);
}

//  Test streams (a few end with data after the request).
static const uint8_t s5_ipv4 [] = {
    5, 1, 0,   5, 1, 0, 1, 127, 0, 0, 1, 0, 80
};
static const uint8_t s5_ipv6 [] = {
    5, 2, 2, 0,   5, 1, 0, 4,
    0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1,   0x01, 0xBB
};
static const uint8_t s5_domain [] = {
    5, 1, 0,   5, 1, 0, 3, 11, 'e', 'x', 'a', 'm', 'p', 'l', 'e', '.', 'c', 'o', 'm', 0x1F, 0x90
};
//  greeting + request + first data in one write
static const uint8_t s5_pipelined [] = {
    5, 1, 0,   5, 1, 0, 3, 3, 'a', '.', 'b', 0, 22,   'S', 'S', 'H', '-', '2', 0, 5, 4
};
#define S5_PIPELINED_REQUEST_LEN 13
static const uint8_t s4_plain [] = {
    4, 1, 0, 80, 10, 0, 0, 1, 'u', 's', 'e', 'r', 0
};
static const uint8_t s4_empty_user [] = {
    4, 1, 0, 80, 10, 0, 0, 1, 0,   'x', 'y'
};
static const uint8_t s4a_host [] = {
    4, 1, 1, 0xBB, 0, 0, 0, 1, 'b', 'o', 'b', 0, 'e', 'x', 'a', 'm', 'p', 'l', 'e', '.', 'o', 'r', 'g', 0
};
static const uint8_t s4a_empty_user [] = {
    4, 1, 0, 21, 0, 0, 0, 255, 0, 'f', 't', 'p', 0,   1, 2, 3
};

static const uint8_t method_ok [] = { 5, 0 };
static const uint8_t s4_rejected [] = { 0, 0x5B, 0, 0, 0, 0, 0, 0 };

START_TEST (test_socks5_ipv4)
{
    run_t run = s_run (true, true, s5_ipv4, sizeof s5_ipv4);
    ck_assert_int_eq (run.status, SOCKS_REQUEST_READY);
    ck_assert_uint_eq (run.consumed, sizeof s5_ipv4);
    s_assert_out (&run, method_ok, 2);
    ck_assert_int_eq (run.request.version, 5);
    ck_assert_str_eq (run.request.host, "127.0.0.1");
    ck_assert_uint_eq (run.request.port, 80);
    ck_assert (!run.request.host_is_name);
}
END_TEST

START_TEST (test_socks5_ipv6)
{
    run_t run = s_run (true, true, s5_ipv6, sizeof s5_ipv6);
    ck_assert_int_eq (run.status, SOCKS_REQUEST_READY);
    ck_assert_uint_eq (run.consumed, sizeof s5_ipv6);
    s_assert_out (&run, method_ok, 2);
    ck_assert_int_eq (run.request.version, 5);
    ck_assert_str_eq (run.request.host, "2001:db8::1");
    ck_assert_uint_eq (run.request.port, 443);
    ck_assert (!run.request.host_is_name);
}
END_TEST

START_TEST (test_socks5_domain)
{
    run_t run = s_run (false, true, s5_domain, sizeof s5_domain);
    ck_assert_int_eq (run.status, SOCKS_REQUEST_READY);
    ck_assert_uint_eq (run.consumed, sizeof s5_domain);
    s_assert_out (&run, method_ok, 2);
    ck_assert_str_eq (run.request.host, "example.com");
    ck_assert_uint_eq (run.request.port, 8080);
    ck_assert (run.request.host_is_name);
}
END_TEST

START_TEST (test_socks5_domain_255)
{
    uint8_t data [3 + 5 + 255 + 2] = { 5, 1, 0, 5, 1, 0, 3, 255 };
    memset (data + 8, 'a', 255);
    data [8 + 255] = 0;
    data [8 + 256] = 1;
    run_t run = s_run (true, true, data, sizeof data);
    ck_assert_int_eq (run.status, SOCKS_REQUEST_READY);
    ck_assert_uint_eq (strlen (run.request.host), 255);
    ck_assert_uint_eq (run.request.port, 1);
}
END_TEST

START_TEST (test_socks5_pipelined)
{
    run_t run = s_run (true, true, s5_pipelined, sizeof s5_pipelined);
    ck_assert_int_eq (run.status, SOCKS_REQUEST_READY);
    ck_assert_uint_eq (run.consumed, S5_PIPELINED_REQUEST_LEN);
    s_assert_out (&run, method_ok, 2);
    ck_assert_str_eq (run.request.host, "a.b");
    ck_assert_uint_eq (run.request.port, 22);

    //  once ready, a feed takes nothing and keeps the status
    socks_codec_t *codec = socks_codec_new (true, true);
    uint8_t out [SOCKS_FEED_OUT_MAX];
    size_t consumed, out_len;
    ck_assert_int_eq (socks_codec_feed (codec, s5_pipelined, sizeof s5_pipelined,
                                        &consumed, out, sizeof out, &out_len),
                      SOCKS_REQUEST_READY);
    const uint8_t *rest = s5_pipelined + consumed;
    ck_assert_int_eq (socks_codec_feed (codec, rest, 3, &consumed, out, sizeof out, &out_len),
                      SOCKS_REQUEST_READY);
    ck_assert_uint_eq (consumed, 0);
    ck_assert_uint_eq (out_len, 0);
    ck_assert_str_eq (socks_codec_request (codec)->host, "a.b");
    socks_codec_destroy (&codec);
    socks_codec_destroy (&codec);       //  no-op on NULL
}
END_TEST

START_TEST (test_socks4)
{
    run_t run = s_run (true, true, s4_plain, sizeof s4_plain);
    ck_assert_int_eq (run.status, SOCKS_REQUEST_READY);
    ck_assert_uint_eq (run.consumed, sizeof s4_plain);
    ck_assert_uint_eq (run.out_len, 0);
    ck_assert_int_eq (run.request.version, 4);
    ck_assert_str_eq (run.request.host, "10.0.0.1");
    ck_assert_uint_eq (run.request.port, 80);
    ck_assert (!run.request.host_is_name);

    run = s_run (true, false, s4_empty_user, sizeof s4_empty_user);
    ck_assert_int_eq (run.status, SOCKS_REQUEST_READY);
    ck_assert_uint_eq (run.consumed, 9);
    ck_assert_str_eq (run.request.host, "10.0.0.1");
}
END_TEST

START_TEST (test_socks4a)
{
    run_t run = s_run (true, true, s4a_host, sizeof s4a_host);
    ck_assert_int_eq (run.status, SOCKS_REQUEST_READY);
    ck_assert_uint_eq (run.consumed, sizeof s4a_host);
    ck_assert_uint_eq (run.out_len, 0);
    ck_assert_int_eq (run.request.version, 4);
    ck_assert_str_eq (run.request.host, "example.org");
    ck_assert_uint_eq (run.request.port, 443);
    ck_assert (run.request.host_is_name);

    run = s_run (true, false, s4a_empty_user, sizeof s4a_empty_user);
    ck_assert_int_eq (run.status, SOCKS_REQUEST_READY);
    ck_assert_uint_eq (run.consumed, 13);
    ck_assert_str_eq (run.request.host, "ftp");
    ck_assert_uint_eq (run.request.port, 21);
    ck_assert (run.request.host_is_name);

    //  only 0.0.0.x with x != 0 announces a name: these are plain SOCKS4
    static const uint8_t zero_ip [] = { 4, 1, 0, 80, 0, 0, 0, 0, 'u', 0, 'd', 0 };
    run = s_run (true, true, zero_ip, sizeof zero_ip);
    ck_assert_int_eq (run.status, SOCKS_REQUEST_READY);
    ck_assert_uint_eq (run.consumed, 10);
    ck_assert_str_eq (run.request.host, "0.0.0.0");
    ck_assert (!run.request.host_is_name);
    static const uint8_t not_4a [] = { 4, 1, 0, 80, 0, 0, 1, 1, 0, 'd', 0 };
    run = s_run (true, true, not_4a, sizeof not_4a);
    ck_assert_int_eq (run.status, SOCKS_REQUEST_READY);
    ck_assert_uint_eq (run.consumed, 9);
    ck_assert_str_eq (run.request.host, "0.0.1.1");
    ck_assert (!run.request.host_is_name);
}
END_TEST

START_TEST (test_socks4_long_fields)
{
    //  a 255-byte user id is allowed, a 256th byte without NUL is not
    uint8_t data [8 + 300 + 1] = { 4, 1, 0, 80, 1, 2, 3, 4 };
    memset (data + 8, 'u', 300);
    data [8 + 255] = 0;
    run_t run = s_run (true, true, data, 8 + 256);
    ck_assert_int_eq (run.status, SOCKS_REQUEST_READY);
    ck_assert_str_eq (run.request.host, "1.2.3.4");

    data [8 + 255] = 'u';
    run = s_run (true, true, data, sizeof data);
    ck_assert_int_eq (run.status, SOCKS_FAIL);
    ck_assert_uint_eq (run.consumed, 8 + 256);
    s_assert_out (&run, s4_rejected, 8);

    //  SOCKS4a host: 255 bytes fine, 256 not, empty not
    uint8_t host [8 + 1 + 300] = { 4, 1, 0, 80, 0, 0, 0, 9, 0 };
    memset (host + 9, 'h', 300);
    host [9 + 255] = 0;
    run = s_run (true, true, host, 9 + 256);
    ck_assert_int_eq (run.status, SOCKS_REQUEST_READY);
    ck_assert_uint_eq (strlen (run.request.host), 255);

    host [9 + 255] = 'h';
    run = s_run (true, true, host, sizeof host);
    ck_assert_int_eq (run.status, SOCKS_FAIL);
    ck_assert_uint_eq (run.consumed, 9 + 256);
    s_assert_out (&run, s4_rejected, 8);

    host [9] = 0;
    run = s_run (true, true, host, sizeof host);
    ck_assert_int_eq (run.status, SOCKS_FAIL);
    ck_assert_uint_eq (run.consumed, 10);
    s_assert_out (&run, s4_rejected, 8);
}
END_TEST

START_TEST (test_version_masks)
{
    //  socks4-only: a SOCKS5 greeting gets silence
    run_t run = s_run (true, false, s5_ipv4, sizeof s5_ipv4);
    ck_assert_int_eq (run.status, SOCKS_FAIL);
    ck_assert_uint_eq (run.consumed, 1);
    ck_assert_uint_eq (run.out_len, 0);
    //  socks5-only: SOCKS4 and 4a likewise
    run = s_run (false, true, s4_plain, sizeof s4_plain);
    ck_assert_int_eq (run.status, SOCKS_FAIL);
    ck_assert_uint_eq (run.out_len, 0);
    run = s_run (false, true, s4a_host, sizeof s4a_host);
    ck_assert_int_eq (run.status, SOCKS_FAIL);
    ck_assert_uint_eq (run.out_len, 0);
    //  the allowed ones pass
    ck_assert_int_eq (s_run (true, false, s4a_host, sizeof s4a_host).status, SOCKS_REQUEST_READY);
    ck_assert_int_eq (s_run (false, true, s5_ipv6, sizeof s5_ipv6).status, SOCKS_REQUEST_READY);
    //  nothing allowed: everything is refused
    ck_assert_int_eq (s_run (false, false, s5_ipv6, sizeof s5_ipv6).status, SOCKS_FAIL);
    ck_assert_int_eq (s_run (false, false, s4_plain, sizeof s4_plain).status, SOCKS_FAIL);
}
END_TEST

//  A failing stream and the exact bytes it must produce.
typedef struct {
    const char *name;
    bool allow4, allow5;
    uint8_t data [32];
    size_t len;
    size_t consumed;
    uint8_t out [SOCKS_FEED_OUT_MAX];
    size_t out_len;
} failure_case_t;

#define R5(rep) 5, rep, 0, 1, 0, 0, 0, 0, 0, 0
#define R4_REJECTED 0, 0x5B, 0, 0, 0, 0, 0, 0

static const failure_case_t s_failures [] = {
    { "HTTP instead of SOCKS", true, true, { 'G', 'E', 'T', ' ' }, 4, 1, { 0 }, 0 },
    { "version 0", true, true, { 0, 1, 0 }, 3, 1, { 0 }, 0 },
    { "no methods", true, true, { 5, 0, 5, 1, 0, 1 }, 6, 2, { 5, 0xFF }, 2 },
    { "no 'no auth' method", true, true, { 5, 2, 1, 2, 5, 1 }, 6, 4, { 5, 0xFF }, 2 },
    { "BIND", true, true, { 5, 1, 0, 5, 2, 0, 1, 1, 2, 3, 4, 0, 80 }, 13, 7,
      { 5, 0, R5 (7) }, 12 },
    { "UDP ASSOCIATE", true, true, { 5, 1, 0, 5, 3, 0, 1 }, 7, 7, { 5, 0, R5 (7) }, 12 },
    { "unknown ATYP", true, true, { 5, 1, 0, 5, 1, 0, 5, 1, 2 }, 9, 7, { 5, 0, R5 (8) }, 12 },
    { "ATYP 0", true, true, { 5, 1, 0, 5, 1, 0, 0 }, 7, 7, { 5, 0, R5 (8) }, 12 },
    { "reserved byte set", true, true, { 5, 1, 0, 5, 1, 1, 1, 1, 2, 3, 4, 0, 80 }, 13, 7,
      { 5, 0, R5 (1) }, 12 },
    { "request version 4", true, true, { 5, 1, 0, 4, 1, 0, 1 }, 7, 7, { 5, 0, R5 (1) }, 12 },
    { "empty domain", true, true, { 5, 1, 0, 5, 1, 0, 3, 0, 0, 80 }, 10, 8,
      { 5, 0, R5 (1) }, 12 },
    { "NUL in domain", true, true, { 5, 1, 0, 5, 1, 0, 3, 3, 'a', 0, 'b', 0, 80 }, 13, 11,
      { 5, 0, R5 (1) }, 12 },
    { "']' in domain", true, true, { 5, 1, 0, 5, 1, 0, 3, 9, '1', '2', '7', '.', '0', '.', ']', '0', '1', 0, 80 },
      19, 17, { 5, 0, R5 (1) }, 12 },
    { "space in domain", true, true, { 5, 1, 0, 5, 1, 0, 3, 3, 'a', ' ', 'b', 0, 80 }, 13, 11,
      { 5, 0, R5 (1) }, 12 },
    { "byte 0xc3 in domain", true, true, { 5, 1, 0, 5, 1, 0, 3, 2, 'a', 0xc3, 0, 80 }, 12, 10,
      { 5, 0, R5 (1) }, 12 },
    { "port 0 socks5", true, true, { 5, 1, 0, 5, 1, 0, 1, 1, 2, 3, 4, 0, 0, 'x' }, 14, 13,
      { 5, 0, R5 (1) }, 12 },
    { "socks4 BIND", true, true, { 4, 2, 0, 80, 1, 2, 3, 4, 0 }, 9, 8, { R4_REJECTED }, 8 },
    { "socks4 port 0", true, true, { 4, 1, 0, 0, 1, 2, 3, 4, 0 }, 9, 8, { R4_REJECTED }, 8 },
    { "socks4a port 0", true, false, { 4, 1, 0, 0, 0, 0, 0, 1, 0, 'a', 0 }, 11, 8,
      { R4_REJECTED }, 8 },
    { "socks4a '/' in host", true, true, { 4, 1, 0, 80, 0, 0, 0, 1, 'u', 0, 'a', '/', 'b', 0 }, 14, 14,
      { R4_REJECTED }, 8 },
    { "socks4a empty host", true, true, { 4, 1, 0, 80, 0, 0, 0, 1, 'u', 0, 0 }, 11, 11,
      { R4_REJECTED }, 8 },
    { "socks5 on socks4 listener", true, false, { 5, 1, 0 }, 3, 1, { 0 }, 0 },
    { "socks4 on socks5 listener", false, true, { 4, 1, 0, 80 }, 4, 1, { 0 }, 0 },
};

START_TEST (test_failures)
{
    const failure_case_t *c = &s_failures [_i];
    run_t run = s_run (c->allow4, c->allow5, c->data, c->len);
    ck_assert_msg (run.status == SOCKS_FAIL, "%s: status %d", c->name, run.status);
    ck_assert_msg (run.consumed == c->consumed, "%s: consumed %zu, expected %zu",
                   c->name, run.consumed, c->consumed);
    ck_assert_msg (run.out_len == c->out_len, "%s: %zu reply bytes, expected %zu",
                   c->name, run.out_len, c->out_len);
    ck_assert_msg (memcmp (run.out, c->out, c->out_len) == 0, "%s: wrong reply bytes", c->name);

    //  the same byte by byte
    size_t cuts [32];
    for (size_t i = 0; i < c->len; i++)
        cuts [i] = i + 1;
    run_t dribbled = s_run_split (c->allow4, c->allow5, c->data, c->len, cuts, c->len);
    s_assert_same_run (&run, &dribbled);

    //  failed codecs consume nothing more
    socks_codec_t *codec = socks_codec_new (c->allow4, c->allow5);
    uint8_t out [SOCKS_FEED_OUT_MAX];
    size_t consumed, out_len;
    socks_codec_feed (codec, c->data, c->len, &consumed, out, sizeof out, &out_len);
    ck_assert_int_eq (socks_codec_feed (codec, c->data, c->len, &consumed, out, sizeof out, &out_len),
                      SOCKS_FAIL);
    ck_assert_uint_eq (consumed, 0);
    ck_assert_uint_eq (out_len, 0);
    ck_assert_ptr_nonnull (socks_codec_error (codec));
    ck_assert_ptr_null (socks_codec_request (codec));
    socks_codec_destroy (&codec);
}
END_TEST

//  Valid streams (and their allowed versions) for the split and prefix tests.
typedef struct {
    const uint8_t *data;
    size_t len;
    size_t request_len;
} stream_t;

static const stream_t s_streams [] = {
    { s5_ipv4, sizeof s5_ipv4, sizeof s5_ipv4 },
    { s5_ipv6, sizeof s5_ipv6, sizeof s5_ipv6 },
    { s5_domain, sizeof s5_domain, sizeof s5_domain },
    { s5_pipelined, sizeof s5_pipelined, S5_PIPELINED_REQUEST_LEN },
    { s4_plain, sizeof s4_plain, sizeof s4_plain },
    { s4_empty_user, sizeof s4_empty_user, 9 },
    { s4a_host, sizeof s4a_host, sizeof s4a_host },
    { s4a_empty_user, sizeof s4a_empty_user, 13 },
};

START_TEST (test_splits)
{
    const stream_t *s = &s_streams [_i];
    run_t whole = s_run (true, true, s->data, s->len);
    ck_assert_int_eq (whole.status, SOCKS_REQUEST_READY);
    ck_assert_uint_eq (whole.consumed, s->request_len);

    //  one byte at a time
    size_t cuts [64];
    ck_assert_uint_le (s->len, 64);
    for (size_t i = 0; i < s->len; i++)
        cuts [i] = i + 1;
    run_t dribbled = s_run_split (true, true, s->data, s->len, cuts, s->len);
    s_assert_same_run (&whole, &dribbled);

    //  every 2-way split, including empty first or last parts
    for (size_t cut = 0; cut <= s->len; cut++) {
        run_t split = s_run_split (true, true, s->data, s->len, &cut, 1);
        s_assert_same_run (&whole, &split);
    }
}
END_TEST

START_TEST (test_truncated)
{
    const stream_t *s = &s_streams [_i];
    for (size_t len = 0; len < s->request_len; len++) {
        run_t run = s_run (true, true, s->data, len);
        ck_assert_int_eq (run.status, SOCKS_NEED_MORE);
        ck_assert_uint_eq (run.consumed, len);
        ck_assert (!run.have_request);
        //  SOCKS5 answers the greeting as soon as it is complete, SOCKS4 nothing
        if (s->data [0] == 5 && len >= (size_t) 2 + s->data [1])
            s_assert_out (&run, method_ok, 2);
        else
            ck_assert_uint_eq (run.out_len, 0);
    }
}
END_TEST

//  xorshift32: a fixed sequence on every platform
static uint32_t
s_random (uint32_t *state)
{
    uint32_t x = *state;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return *state = x;
}

START_TEST (test_garbage)
{
    uint32_t seed = 0x5eed1234;
    uint8_t data [600];
    int ready = 0, failed = 0, more = 0;
    for (int round = 0; round < 20000; round++) {
        size_t len = s_random (&seed) % sizeof data;
        for (size_t i = 0; i < len; i++)
            data [i] = (uint8_t) s_random (&seed);
        //  steer part of the inputs past the first checks to reach deeper states
        uint32_t shape = s_random (&seed) % 8;
        if (len > 0 && shape >= 2)
            data [0] = shape % 2? 4: 5;
        if (len > 2 && data [0] == 5 && shape >= 4)
            data [1] = 1, data [2] = 0;
        if (len > 4 && data [0] == 5 && shape >= 6)
            data [3] = 5, data [4] = 1;
        if (len > 1 && data [0] == 4 && shape >= 5)
            data [1] = 1;
        bool allow4 = round % 3 != 1, allow5 = round % 3 != 2;

        run_t whole = s_run (allow4, allow5, data, len);
        ck_assert_uint_le (whole.consumed, len);
        if (whole.status == SOCKS_REQUEST_READY) {
            ready++;
            ck_assert (whole.request.version == 4 || whole.request.version == 5);
            ck_assert_uint_ne (whole.request.port, 0);
            size_t hlen = strlen (whole.request.host);
            ck_assert (hlen >= 1 && hlen <= 255);
        }
        else
        if (whole.status == SOCKS_FAIL)
            failed++;
        else {
            more++;
            ck_assert_uint_eq (whole.consumed, len);
        }
        //  random 3-way cut gives the same
        size_t cuts [2] = { len? s_random (&seed) % (len + 1): 0, 0 };
        cuts [1] = cuts [0] + (len - cuts [0]? s_random (&seed) % (len - cuts [0] + 1): 0);
        run_t split = s_run_split (allow4, allow5, data, len, cuts, 2);
        s_assert_same_run (&whole, &split);
    }
    //  the steering reached both outcomes
    ck_assert_int_gt (failed, 1000);
    ck_assert_int_gt (more, 10);
    (void) ready;
}
END_TEST

static socks_codec_t *
s_codec_at_request (const uint8_t *data, size_t len)
{
    socks_codec_t *codec = socks_codec_new (true, true);
    uint8_t out [SOCKS_FEED_OUT_MAX];
    size_t consumed, out_len;
    ck_assert_int_eq (socks_codec_feed (codec, data, len, &consumed, out, sizeof out, &out_len),
                      SOCKS_REQUEST_READY);
    return codec;
}

START_TEST (test_reply_socks5)
{
    socks_codec_t *codec = s_codec_at_request (s5_domain, sizeof s5_domain);
    uint8_t out [SOCKS_REPLY_MAX + 8];

    struct sockaddr_in v4 = { .sin_family = AF_INET, .sin_port = htons (1080) };
    inet_pton (AF_INET, "192.0.2.1", &v4.sin_addr);
    static const uint8_t expect_v4 [] = { 5, 0, 0, 1, 192, 0, 2, 1, 0x04, 0x38 };
    ck_assert_uint_eq (socks_codec_reply (codec, 0, (struct sockaddr *) &v4, out, sizeof out), 10);
    ck_assert_mem_eq (out, expect_v4, 10);

    struct sockaddr_in6 v6 = { .sin6_family = AF_INET6, .sin6_port = htons (443) };
    inet_pton (AF_INET6, "2001:db8::7", &v6.sin6_addr);
    static const uint8_t expect_v6 [] = {
        5, 0, 0, 4, 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 7, 0x01, 0xBB
    };
    ck_assert_uint_eq (socks_codec_reply (codec, 0, (struct sockaddr *) &v6, out, sizeof out), 22);
    ck_assert_mem_eq (out, expect_v6, 22);

    //  no address known: 0.0.0.0:0
    static const uint8_t expect_none [] = { R5 (0) };
    ck_assert_uint_eq (socks_codec_reply (codec, 0, NULL, out, sizeof out), 10);
    ck_assert_mem_eq (out, expect_none, 10);

    //  failures carry ATYP 1 and zeros whatever the address
    static const uint8_t expect_refused [] = { R5 (5) };
    ck_assert_uint_eq (socks_codec_reply (codec, 5, (struct sockaddr *) &v6, out, sizeof out), 10);
    ck_assert_mem_eq (out, expect_refused, 10);

    //  too small a buffer
    ck_assert_uint_eq (socks_codec_reply (codec, 0, (struct sockaddr *) &v6, out, 21), 0);
    ck_assert_uint_eq (socks_codec_reply (codec, 0, (struct sockaddr *) &v4, out, 9), 0);
    ck_assert_uint_eq (socks_codec_reply (codec, 0, (struct sockaddr *) &v4, out, 10), 10);
    socks_codec_destroy (&codec);
}
END_TEST

START_TEST (test_reply_socks4)
{
    socks_codec_t *codec = s_codec_at_request (s4a_host, sizeof s4a_host);
    uint8_t out [SOCKS_REPLY_MAX];

    struct sockaddr_in v4 = { .sin_family = AF_INET, .sin_port = htons (1080) };
    inet_pton (AF_INET, "192.0.2.1", &v4.sin_addr);
    static const uint8_t expect_v4 [] = { 0, 0x5A, 0x04, 0x38, 192, 0, 2, 1 };
    ck_assert_uint_eq (socks_codec_reply (codec, 0, (struct sockaddr *) &v4, out, sizeof out), 8);
    ck_assert_mem_eq (out, expect_v4, 8);

    //  IPv6 does not fit: 0.0.0.0:0
    struct sockaddr_in6 v6 = { .sin6_family = AF_INET6, .sin6_port = htons (443) };
    inet_pton (AF_INET6, "2001:db8::7", &v6.sin6_addr);
    static const uint8_t expect_v6 [] = { 0, 0x5A, 0, 0, 0, 0, 0, 0 };
    ck_assert_uint_eq (socks_codec_reply (codec, 0, (struct sockaddr *) &v6, out, sizeof out), 8);
    ck_assert_mem_eq (out, expect_v6, 8);

    //  except an IPv4-mapped one
    inet_pton (AF_INET6, "::ffff:198.51.100.9", &v6.sin6_addr);
    static const uint8_t expect_mapped [] = { 0, 0x5A, 0x01, 0xBB, 198, 51, 100, 9 };
    ck_assert_uint_eq (socks_codec_reply (codec, 0, (struct sockaddr *) &v6, out, sizeof out), 8);
    ck_assert_mem_eq (out, expect_mapped, 8);

    //  every failure is 0x5B
    for (int rep = 1; rep <= 8; rep++) {
        ck_assert_uint_eq (socks_codec_reply (codec, rep, (struct sockaddr *) &v4, out, sizeof out), 8);
        ck_assert_mem_eq (out, s4_rejected, 8);
    }
    ck_assert_uint_eq (socks_codec_reply (codec, 0, (struct sockaddr *) &v4, out, 7), 0);
    socks_codec_destroy (&codec);

    //  before the version byte there is nothing to reply
    codec = socks_codec_new (true, true);
    ck_assert_uint_eq (socks_codec_reply (codec, 1, NULL, out, sizeof out), 0);
    socks_codec_destroy (&codec);
}
END_TEST

START_TEST (test_rep_mapping)
{
    ck_assert_int_eq (socks_rep_from_error (ECONNREFUSED), SOCKS_REP_CONN_REFUSED);
    ck_assert_int_eq (socks_rep_from_error (ECONNREFUSED), 5);
    ck_assert_int_eq (socks_rep_from_error (ENETUNREACH), 3);
    ck_assert_int_eq (socks_rep_from_error (EHOSTUNREACH), 4);
    ck_assert_int_eq (socks_rep_from_error (ETIMEDOUT), 4);
    ck_assert_int_eq (socks_rep_from_error (EACCES), 2);
    ck_assert_int_eq (socks_rep_from_error (EPERM), 2);
    ck_assert_int_eq (socks_rep_from_error (ECONNRESET), 1);
    ck_assert_int_eq (socks_rep_from_error (EIO), 1);
    ck_assert_int_eq (socks_rep_from_error (0), 1);
}
END_TEST

//  --- RFC 1929 username/password

//  Feeds data whole, or one byte at a time, to a codec that asks for users.
static run_t
s_run_auth (const acl_users_t *users, const uint8_t *data, size_t len, bool bytewise,
            bool *auth_failed)
{
    run_t run;
    memset (&run, 0, sizeof run);
    socks_codec_t *codec = socks_codec_new (true, true);
    socks_codec_require_users (codec, users);
    run.status = SOCKS_NEED_MORE;
    for (size_t at = 0; at < len && run.status == SOCKS_NEED_MORE; ) {
        size_t n = bytewise? 1: len - at;
        uint8_t out [SOCKS_FEED_OUT_MAX];
        size_t consumed, out_len;
        run.status = socks_codec_feed (codec, data + at, n, &consumed, out, sizeof out, &out_len);
        ck_assert_uint_le (out_len, SOCKS_FEED_OUT_MAX);
        memcpy (run.out + run.out_len, out, out_len);
        run.out_len += out_len;
        run.consumed += consumed;
        at += n;
    }
    if (run.status == SOCKS_REQUEST_READY) {
        run.have_request = true;
        run.request = *socks_codec_request (codec);
    }
    *auth_failed = socks_codec_auth_failed (codec);
    socks_codec_destroy (&codec);
    return run;
}

static acl_user_t s_user_list [2] = {
    { "alice", "s3cret" }, { "bob", "hunter2" }
};
static const acl_users_t s_users = { s_user_list, 2 };

START_TEST (test_socks5_auth)
{
    static const uint8_t good [] = {
        5, 2, 0, 2,                                     //  offers none and user/pass
        1, 5, 'a', 'l', 'i', 'c', 'e', 6, 's', '3', 'c', 'r', 'e', 't',
        5, 1, 0, 1, 10, 0, 0, 1, 0, 80,
        'G', 'E', 'T'                                   //  first data
    };
    static const uint8_t good_out [] = { 5, 2, 1, 0 };
    for (int bytewise = 0; bytewise < 2; bytewise++) {
        bool failed;
        run_t run = s_run_auth (&s_users, good, sizeof good, bytewise, &failed);
        ck_assert_int_eq (run.status, SOCKS_REQUEST_READY);
        ck_assert_uint_eq (run.consumed, sizeof good - 3);
        s_assert_out (&run, good_out, sizeof good_out);
        ck_assert_str_eq (run.request.host, "10.0.0.1");
        ck_assert (!failed);
    }
    //  the second user too
    static const uint8_t bob [] = {
        5, 1, 2, 1, 3, 'b', 'o', 'b', 7, 'h', 'u', 'n', 't', 'e', 'r', '2',
        5, 1, 0, 3, 3, 'a', '.', 'b', 0, 22
    };
    bool failed;
    run_t run = s_run_auth (&s_users, bob, sizeof bob, false, &failed);
    ck_assert_int_eq (run.status, SOCKS_REQUEST_READY);
    ck_assert_str_eq (run.request.host, "a.b");
}
END_TEST

START_TEST (test_socks5_auth_failures)
{
    static const uint8_t auth_failed [] = { 5, 2, 1, 1 };
    static const uint8_t wrong_password [] = {
        5, 1, 2, 1, 5, 'a', 'l', 'i', 'c', 'e', 6, 's', '3', 'c', 'r', 'e', 'T',
        5, 1, 0, 1, 10, 0, 0, 1, 0, 80
    };
    static const uint8_t other_users_password [] = {
        5, 1, 2, 1, 5, 'a', 'l', 'i', 'c', 'e', 7, 'h', 'u', 'n', 't', 'e', 'r', '2'
    };
    static const uint8_t empty_password [] = { 5, 1, 2, 1, 5, 'a', 'l', 'i', 'c', 'e', 0 };
    static const uint8_t empty_name [] = { 5, 1, 2, 1, 0 };
    static const uint8_t bad_version [] = { 5, 1, 2, 2, 5, 'a', 'l', 'i', 'c', 'e' };
    const struct { const uint8_t *data; size_t len; } cases [] = {
        { wrong_password, sizeof wrong_password }, { other_users_password, sizeof other_users_password },
        { empty_password, sizeof empty_password }, { empty_name, sizeof empty_name },
        { bad_version, sizeof bad_version }
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases [0]; i++)
        for (int bytewise = 0; bytewise < 2; bytewise++) {
            bool failed;
            run_t run = s_run_auth (&s_users, cases [i].data, cases [i].len, bytewise, &failed);
            ck_assert_msg (run.status == SOCKS_FAIL, "case %zu accepted", i);
            s_assert_out (&run, auth_failed, sizeof auth_failed);
            ck_assert (failed);
        }
    //  a greeting without method 2 gets "no acceptable methods"
    static const uint8_t no_auth_only [] = { 5, 1, 0 };
    static const uint8_t no_methods [] = { 5, 0xFF };
    bool failed;
    run_t run = s_run_auth (&s_users, no_auth_only, sizeof no_auth_only, false, &failed);
    ck_assert_int_eq (run.status, SOCKS_FAIL);
    s_assert_out (&run, no_methods, sizeof no_methods);
    ck_assert (failed);
    //  SOCKS4 has no password: 0x5B
    static const uint8_t s4_reject [] = { 0, 0x5B, 0, 0, 0, 0, 0, 0 };
    run = s_run_auth (&s_users, s4_plain, sizeof s4_plain, false, &failed);
    ck_assert_int_eq (run.status, SOCKS_FAIL);
    s_assert_out (&run, s4_reject, sizeof s4_reject);
    ck_assert (failed);
}
END_TEST

//  No users (NULL or an empty list): "no authentication" as before.
START_TEST (test_socks5_no_users)
{
    static const uint8_t offers_both [] = { 5, 2, 2, 0, 5, 1, 0, 1, 10, 0, 0, 1, 0, 80 };
    static const uint8_t method_none [] = { 5, 0 };
    acl_users_t none = { 0 };
    bool failed;
    run_t run = s_run_auth (&none, offers_both, sizeof offers_both, false, &failed);
    ck_assert_int_eq (run.status, SOCKS_REQUEST_READY);
    s_assert_out (&run, method_none, sizeof method_none);
    run = s_run_auth (NULL, offers_both, sizeof offers_both, true, &failed);
    ck_assert_int_eq (run.status, SOCKS_REQUEST_READY);
    ck_assert (!failed);
}
END_TEST

int
main (void)
{
    Suite *suite = suite_create ("socks_codec");
    TCase *tc = tcase_create ("core");
    tcase_add_test (tc, test_socks5_ipv4);
    tcase_add_test (tc, test_socks5_ipv6);
    tcase_add_test (tc, test_socks5_domain);
    tcase_add_test (tc, test_socks5_domain_255);
    tcase_add_test (tc, test_socks5_pipelined);
    tcase_add_test (tc, test_socks4);
    tcase_add_test (tc, test_socks4a);
    tcase_add_test (tc, test_socks4_long_fields);
    tcase_add_test (tc, test_version_masks);
    tcase_add_loop_test (tc, test_failures, 0, (int) (sizeof s_failures / sizeof s_failures [0]));
    tcase_add_loop_test (tc, test_splits, 0, (int) (sizeof s_streams / sizeof s_streams [0]));
    tcase_add_loop_test (tc, test_truncated, 0, (int) (sizeof s_streams / sizeof s_streams [0]));
    tcase_add_test (tc, test_garbage);
    tcase_add_test (tc, test_reply_socks5);
    tcase_add_test (tc, test_reply_socks4);
    tcase_add_test (tc, test_rep_mapping);
    tcase_add_test (tc, test_socks5_auth);
    tcase_add_test (tc, test_socks5_auth_failures);
    tcase_add_test (tc, test_socks5_no_users);
    tcase_set_timeout (tc, 60);
    suite_add_tcase (suite, tc);

    return check_run (suite);
}
