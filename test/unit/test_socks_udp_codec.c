/*  test_socks_udp_codec — the SOCKS5 UDP datagram header (parse and build),
    the client source check, the stream framing of datagrams, and the codec's
    UDP commands: valid headers of each ATYP, every malformed header (short
    at each length, bad ATYP, FRAG, empty, NUL, bad-character and oversize names), random
    garbage, frames in every split, a zero length.
*/
#include <check.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "handlers/socks_codec.h"
#include "handlers/socks_udp_codec.h"
#include "test/support/check_run.h"

static const uint8_t s_v4[] = { 0, 0, 0, 1, 192, 0, 2, 1, 0, 53, 'd', 'n', 's' };
static const uint8_t s_v6[] = { 0, 0, 0, 4, 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0,
                                0, 0, 0, 0, 0, 0, 0, 1, 0x01, 0xbb, 'x' };
static const uint8_t s_name[] = { 0, 0, 0, 3, 11, 'e', 'x', 'a', 'm', 'p', 'l', 'e', '.', 'o',
                                  'r', 'g', 0, 53, 'q' };

START_TEST (test_parse_ipv4)
{
    socks_udp_target_t t;
    size_t header = 0;
    ck_assert_int_eq (socks_udp_parse (s_v4, sizeof s_v4, &t, &header), SOCKS_UDP_OK);
    ck_assert_uint_eq (header, 10);
    ck_assert_str_eq (t.host, "192.0.2.1");
    ck_assert_uint_eq (t.port, 53);
    ck_assert (!t.host_is_name);
    ck_assert_int_eq (t.addr.ss_family, AF_INET);
    ck_assert_uint_eq (ntohs (((struct sockaddr_in *) &t.addr)->sin_port), 53);
}
END_TEST

START_TEST (test_parse_ipv6)
{
    socks_udp_target_t t;
    size_t header = 0;
    ck_assert_int_eq (socks_udp_parse (s_v6, sizeof s_v6, &t, &header), SOCKS_UDP_OK);
    ck_assert_uint_eq (header, 22);
    ck_assert_str_eq (t.host, "2001:db8::1");
    ck_assert_uint_eq (t.port, 443);
    ck_assert_int_eq (t.addr.ss_family, AF_INET6);
}
END_TEST

START_TEST (test_parse_name)
{
    socks_udp_target_t t;
    size_t header = 0;
    ck_assert_int_eq (socks_udp_parse (s_name, sizeof s_name, &t, &header), SOCKS_UDP_OK);
    ck_assert_uint_eq (header, 18);
    ck_assert_str_eq (t.host, "example.org");
    ck_assert (t.host_is_name);
    ck_assert_uint_eq (t.port, 53);
    //  a header alone (no data) is a datagram too; port 0 is the target's business
    uint8_t empty[] = { 0, 0, 0, 1, 127, 0, 0, 1, 0, 0 };
    ck_assert_int_eq (socks_udp_parse (empty, sizeof empty, &t, &header), SOCKS_UDP_OK);
    ck_assert_uint_eq (header, sizeof empty);
    ck_assert_uint_eq (t.port, 0);
}
END_TEST

START_TEST (test_parse_name_255)
{
    uint8_t d[4 + 1 + 255 + 2];
    memset (d, 'a', sizeof d);
    d[0] = d[1] = d[2] = 0;
    d[3] = 3;
    d[4] = 255;
    d[260] = 0;
    d[261] = 7;
    socks_udp_target_t t;
    size_t header;
    ck_assert_int_eq (socks_udp_parse (d, sizeof d, &t, &header), SOCKS_UDP_OK);
    ck_assert_uint_eq (strlen (t.host), 255);
    ck_assert_uint_eq (header, SOCKS_UDP_HEADER_MAX);
    ck_assert_uint_eq (t.port, 7);
}
END_TEST

//  Every prefix shorter than the header is SHORT, never OK nor a crash.
START_TEST (test_short)
{
    const uint8_t *all[] = { s_v4, s_v6, s_name };
    size_t headers[] = { 10, 22, 18 };
    for (size_t k = 0; k < 3; k++)
        for (size_t len = 0; len < headers[k]; len++) {
            uint8_t *copy = malloc (len ? len : 1);        //  ASan sees a read past it
            memcpy (copy, all[k], len);
            socks_udp_target_t t;
            size_t header;
            ck_assert_int_eq (socks_udp_parse (copy, len, &t, &header), SOCKS_UDP_SHORT);
            free (copy);
        }
}
END_TEST

START_TEST (test_malformed)
{
    socks_udp_target_t t;
    size_t header;
    uint8_t d[sizeof s_v4];
    memcpy (d, s_v4, sizeof d);
    d[2] = 1;                                           //  a fragment: dropped
    ck_assert_int_eq (socks_udp_parse (d, sizeof d, &t, &header), SOCKS_UDP_FRAG);
    d[2] = 0x80;                                        //  the last fragment too
    ck_assert_int_eq (socks_udp_parse (d, sizeof d, &t, &header), SOCKS_UDP_FRAG);
    memcpy (d, s_v4, sizeof d);
    for (int atyp = 0; atyp < 256; atyp++) {
        if (atyp == 1 || atyp == 3 || atyp == 4)
            continue;
        d[3] = (uint8_t) atyp;
        ck_assert_int_eq (socks_udp_parse (d, sizeof d, &t, &header), SOCKS_UDP_BAD_ATYP);
    }
    uint8_t empty_name[] = { 0, 0, 0, 3, 0, 0, 53 };
    ck_assert_int_eq (socks_udp_parse (empty_name, sizeof empty_name, &t, &header),
                      SOCKS_UDP_BAD_NAME);
    uint8_t nul_name[] = { 0, 0, 0, 3, 3, 'a', 0, 'b', 0, 53 };
    ck_assert_int_eq (socks_udp_parse (nul_name, sizeof nul_name, &t, &header),
                      SOCKS_UDP_BAD_NAME);
    //  a name of characters no DNS name has: dropped, never looked up
    uint8_t bracket_name[] = { 0, 0, 0, 3, 9, '1', '2', '7', '.', '0', '.', ']', '0', '1', 0, 53 };
    ck_assert_int_eq (socks_udp_parse (bracket_name, sizeof bracket_name, &t, &header),
                      SOCKS_UDP_BAD_NAME);
    uint8_t space_name[] = { 0, 0, 0, 3, 3, 'a', ' ', 'b', 0, 53 };
    ck_assert_int_eq (socks_udp_parse (space_name, sizeof space_name, &t, &header),
                      SOCKS_UDP_BAD_NAME);
    uint8_t v6_text[] = { 0, 0, 0, 3, 3, ':', ':', '1', 0, 53 };
    ck_assert_int_eq (socks_udp_parse (v6_text, sizeof v6_text, &t, &header), SOCKS_UDP_OK);
    //  a name longer than the datagram (oversize length byte)
    uint8_t oversize[] = { 0, 0, 0, 3, 200, 'a', 'b', 'c', 0, 53 };
    ck_assert_int_eq (socks_udp_parse (oversize, sizeof oversize, &t, &header), SOCKS_UDP_SHORT);
    //  RSV is not checked (clients in the field send garbage there)
    memcpy (d, s_v4, sizeof d);
    d[0] = d[1] = 0xFF;
    ck_assert_int_eq (socks_udp_parse (d, sizeof d, &t, &header), SOCKS_UDP_OK);
    for (int s = SOCKS_UDP_OK; s <= SOCKS_UDP_BAD_NAME; s++)
        ck_assert (*socks_udp_status_text ((socks_udp_status_t) s));
}
END_TEST

START_TEST (test_garbage)
{
    srand (12345);
    uint8_t d[300];
    for (int i = 0; i < 20000; i++) {
        size_t len = (size_t) rand () % sizeof d;
        for (size_t j = 0; j < len; j++)
            d[j] = (uint8_t) rand ();
        if (len > 3 && i % 2)
            d[2] = 0, d[3] = (uint8_t) (1 + rand () % 4);
        socks_udp_target_t t;
        size_t header = 0;
        if (socks_udp_parse (d, len, &t, &header) == SOCKS_UDP_OK) {
            ck_assert_uint_le (header, len);
            ck_assert_uint_le (header, SOCKS_UDP_HEADER_MAX);
            ck_assert (memchr (t.host, 0, sizeof t.host));
        }
    }
}
END_TEST

START_TEST (test_build)
{
    struct sockaddr_in v4 = { .sin_family = AF_INET, .sin_port = htons (53) };
    inet_pton (AF_INET, "192.0.2.1", &v4.sin_addr);
    uint8_t out[SOCKS_UDP_REPLY_HEADER_MAX];
    ck_assert_uint_eq (socks_udp_header_build ((struct sockaddr *) &v4, out, sizeof out), 10);
    ck_assert_mem_eq (out, s_v4, 10);
    ck_assert_uint_eq (socks_udp_header_build ((struct sockaddr *) &v4, out, 9), 0);

    struct sockaddr_in6 v6 = { .sin6_family = AF_INET6, .sin6_port = htons (443) };
    inet_pton (AF_INET6, "2001:db8::1", &v6.sin6_addr);
    ck_assert_uint_eq (socks_udp_header_build ((struct sockaddr *) &v6, out, sizeof out), 22);
    ck_assert_mem_eq (out, s_v6, 22);
    ck_assert_uint_eq (socks_udp_header_build ((struct sockaddr *) &v6, out, 21), 0);
    //  an IPv4-mapped source (a dual-stack socket) is written as IPv4
    inet_pton (AF_INET6, "::ffff:192.0.2.1", &v6.sin6_addr);
    v6.sin6_port = htons (53);
    ck_assert_uint_eq (socks_udp_header_build ((struct sockaddr *) &v6, out, sizeof out), 10);
    ck_assert_mem_eq (out, s_v4, 10);
    struct sockaddr other = { .sa_family = AF_UNIX };
    ck_assert_uint_eq (socks_udp_header_build (&other, out, sizeof out), 0);
    //  round trip: what we build parses to the same address
    socks_udp_target_t t;
    size_t header;
    ck_assert_int_eq (socks_udp_parse (out, 10, &t, &header), SOCKS_UDP_OK);
    ck_assert_str_eq (t.host, "192.0.2.1");
}
END_TEST

static struct sockaddr_storage
s_addr (const char *host, uint16_t port)
{
    struct sockaddr_storage sa;
    memset (&sa, 0, sizeof sa);
    if (strchr (host, ':')) {
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *) &sa;
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons (port);
        inet_pton (AF_INET6, host, &in6->sin6_addr);
    }
    else {
        struct sockaddr_in *in = (struct sockaddr_in *) &sa;
        in->sin_family = AF_INET;
        in->sin_port = htons (port);
        inet_pton (AF_INET, host, &in->sin_addr);
    }
    return sa;
}

#define SA(x) ((struct sockaddr *) &(x))

START_TEST (test_source)
{
    struct sockaddr_storage peer = s_addr ("10.0.0.5", 40000);
    struct sockaddr_storage from = s_addr ("10.0.0.5", 5353);
    struct sockaddr_storage other = s_addr ("10.0.0.6", 5353);
    struct sockaddr_storage any = s_addr ("0.0.0.0", 0);
    struct sockaddr_storage port_only = s_addr ("0.0.0.0", 5353);
    struct sockaddr_storage wrong_port = s_addr ("10.0.0.5", 5354);
    struct sockaddr_storage exact = s_addr ("10.0.0.5", 5353);
    struct sockaddr_storage mapped = s_addr ("::ffff:10.0.0.5", 5353);
    ck_assert (socks_udp_source_ok (SA (peer), NULL, SA (from)));
    ck_assert (socks_udp_source_ok (SA (peer), SA (any), SA (from)));
    ck_assert (!socks_udp_source_ok (SA (peer), SA (any), SA (other)));
    ck_assert (socks_udp_source_ok (SA (peer), SA (port_only), SA (from)));
    ck_assert (!socks_udp_source_ok (SA (peer), SA (wrong_port), SA (from)));
    ck_assert (socks_udp_source_ok (SA (peer), SA (exact), SA (from)));
    ck_assert (socks_udp_source_ok (SA (peer), SA (exact), SA (mapped)));
    //  a DST.ADDR other than the client's own: nothing can come from it
    ck_assert (!socks_udp_source_ok (SA (peer), SA (other), SA (from)));
    struct sockaddr_storage peer6 = s_addr ("2001:db8::5", 1);
    struct sockaddr_storage from6 = s_addr ("2001:db8::5", 2);
    ck_assert (socks_udp_source_ok (SA (peer6), NULL, SA (from6)));
    ck_assert (!socks_udp_source_ok (SA (peer6), NULL, SA (from)));
}
END_TEST

START_TEST (test_unmap)
{
    struct sockaddr_storage mapped = s_addr ("::ffff:10.0.0.5", 1080);
    socks_udp_unmap (&mapped);
    ck_assert_int_eq (mapped.ss_family, AF_INET);
    struct sockaddr_in *in = (struct sockaddr_in *) &mapped;
    ck_assert_uint_eq (ntohs (in->sin_port), 1080);
    ck_assert_uint_eq (ntohl (in->sin_addr.s_addr), 0x0A000005);
    struct sockaddr_storage v6 = s_addr ("2001:db8::5", 1), copy = v6;
    socks_udp_unmap (&v6);
    ck_assert_mem_eq (&v6, &copy, sizeof v6);
    struct sockaddr_storage v4 = s_addr ("10.0.0.5", 2);
    copy = v4;
    socks_udp_unmap (&v4);
    ck_assert_mem_eq (&v4, &copy, sizeof v4);
}
END_TEST

typedef struct {
    uint8_t got[4][300];
    size_t len[4];
    size_t count;
} s_frames_t;

static void
s_on_frame (void *arg, const uint8_t *frame, size_t len)
{
    s_frames_t *f = arg;
    ck_assert_uint_lt (f->count, 4);
    ck_assert_uint_le (len, sizeof f->got[0]);
    memcpy (f->got[f->count], frame, len);
    f->len[f->count++] = len;
}

static void
s_on_frame_count (void *arg, const uint8_t *frame, size_t len)
{
    ck_assert_uint_eq (len, SOCKS_UDP_FRAME_MAX);
    for (size_t i = 0; i < len; i += 4099)
        ck_assert_uint_eq (frame[i], (uint8_t) i);
    (*(size_t *) arg)++;
}

//  Three datagrams framed, fed cut at every pair of points: always the same three.
START_TEST (test_framing_splits)
{
    const uint8_t *dgrams[] = { s_v4, s_v6, s_name };
    size_t lens[] = { sizeof s_v4, sizeof s_v6, sizeof s_name };
    uint8_t stream[200];
    size_t n = 0;
    for (size_t i = 0; i < 3; i++) {
        socks_udp_frame_prefix (lens[i], stream + n);
        memcpy (stream + n + SOCKS_UDP_FRAME_PREFIX, dgrams[i], lens[i]);
        n += SOCKS_UDP_FRAME_PREFIX + lens[i];
    }
    static uint8_t buf[SOCKS_UDP_FRAME_MAX];
    for (size_t a = 0; a <= n; a++)
        for (size_t b = a; b <= n; b++) {
            socks_udp_deframer_t d;
            socks_udp_deframer_init (&d, buf);
            s_frames_t f = { .count = 0 };
            ck_assert_int_eq (socks_udp_deframer_feed (&d, stream, a, s_on_frame, &f), 0);
            ck_assert_int_eq (socks_udp_deframer_feed (&d, stream + a, b - a, s_on_frame, &f), 0);
            ck_assert_int_eq (socks_udp_deframer_feed (&d, stream + b, n - b, s_on_frame, &f), 0);
            ck_assert_uint_eq (f.count, 3);
            for (size_t i = 0; i < 3; i++) {
                ck_assert_uint_eq (f.len[i], lens[i]);
                ck_assert_mem_eq (f.got[i], dgrams[i], lens[i]);
            }
        }
}
END_TEST

START_TEST (test_framing_zero)
{
    static uint8_t buf[SOCKS_UDP_FRAME_MAX];
    socks_udp_deframer_t d;
    socks_udp_deframer_init (&d, buf);
    s_frames_t f = { .count = 0 };
    uint8_t stream[] = { 0, 1, 'x', 0, 0, 0, 1, 'y' };
    ck_assert_int_eq (socks_udp_deframer_feed (&d, stream, sizeof stream, s_on_frame, &f), -1);
    ck_assert_uint_eq (f.count, 1);
    //  once broken: nothing more, whatever comes
    ck_assert_int_eq (socks_udp_deframer_feed (&d, stream, 3, s_on_frame, &f), -1);
    ck_assert_uint_eq (f.count, 1);
    uint8_t prefix[2];
    socks_udp_frame_prefix (SOCKS_UDP_FRAME_MAX, prefix);
    ck_assert_uint_eq (prefix[0], 0xFF);
    ck_assert_uint_eq (prefix[1], 0xFF);
}
END_TEST

//  The longest frame, in pieces: whole in the caller's buffer.
START_TEST (test_framing_max)
{
    static uint8_t buf[SOCKS_UDP_FRAME_MAX];
    static uint8_t stream[SOCKS_UDP_FRAME_PREFIX + SOCKS_UDP_FRAME_MAX];
    socks_udp_frame_prefix (SOCKS_UDP_FRAME_MAX, stream);
    for (size_t i = 0; i < SOCKS_UDP_FRAME_MAX; i++)
        stream[2 + i] = (uint8_t) i;
    socks_udp_deframer_t d;
    socks_udp_deframer_init (&d, buf);
    size_t count = 0;
    for (size_t off = 0; off < sizeof stream; off += 1000) {
        size_t piece = sizeof stream - off < 1000 ? sizeof stream - off : 1000;
        ck_assert_int_eq (socks_udp_deframer_feed (&d, stream + off, piece,
                                                   s_on_frame_count, &count), 0);
    }
    ck_assert_uint_eq (count, 1);
}
END_TEST

//  The request codec: UDP commands only where allowed, port 0 allowed for them.
START_TEST (test_codec_commands)
{
    uint8_t req[] = { 5, 1, 0, 5, 3, 0, 1, 0, 0, 0, 0, 0, 0 };
    uint8_t out[SOCKS_FEED_OUT_MAX];
    size_t consumed, out_len;
    socks_codec_t *codec = socks_codec_new (true, true);
    ck_assert_int_eq (socks_codec_feed (codec, req, sizeof req, &consumed, out, sizeof out,
                                        &out_len), SOCKS_FAIL);
    ck_assert_uint_eq (out[out_len - 10 + 1], SOCKS_REP_CMD_NOT_SUPPORTED);
    socks_codec_destroy (&codec);
    for (int cmd = 0; cmd < 2; cmd++) {
        req[4] = cmd ? SOCKS_CMD_UDP_STREAM : SOCKS_CMD_UDP_ASSOCIATE;
        codec = socks_codec_new (true, true);
        socks_codec_allow_udp (codec);
        ck_assert_int_eq (socks_codec_feed (codec, req, sizeof req, &consumed, out, sizeof out,
                                            &out_len), SOCKS_REQUEST_READY);
        const socks_request_t *r = socks_codec_request (codec);
        ck_assert_uint_eq (r->command, req[4]);
        ck_assert_uint_eq (r->port, 0);
        ck_assert_str_eq (r->host, "0.0.0.0");
        socks_codec_destroy (&codec);
    }
    //  CONNECT to port 0 stays an error, UDP allowed or not
    uint8_t connect0[] = { 5, 1, 0, 5, 1, 0, 1, 1, 2, 3, 4, 0, 0 };
    codec = socks_codec_new (true, true);
    socks_codec_allow_udp (codec);
    ck_assert_int_eq (socks_codec_feed (codec, connect0, sizeof connect0, &consumed, out,
                                        sizeof out, &out_len), SOCKS_FAIL);
    socks_codec_destroy (&codec);
}
END_TEST

int
main (void)
{
    Suite *suite = suite_create ("socks_udp_codec");
    TCase *tc = tcase_create ("core");
    tcase_add_test (tc, test_parse_ipv4);
    tcase_add_test (tc, test_parse_ipv6);
    tcase_add_test (tc, test_parse_name);
    tcase_add_test (tc, test_parse_name_255);
    tcase_add_test (tc, test_short);
    tcase_add_test (tc, test_malformed);
    tcase_add_test (tc, test_garbage);
    tcase_add_test (tc, test_build);
    tcase_add_test (tc, test_source);
    tcase_add_test (tc, test_unmap);
    tcase_add_test (tc, test_framing_splits);
    tcase_add_test (tc, test_framing_zero);
    tcase_add_test (tc, test_framing_max);
    tcase_add_test (tc, test_codec_commands);
    tcase_set_timeout (tc, 60);
    suite_add_tcase (suite, tc);
    return check_run (suite);
}
