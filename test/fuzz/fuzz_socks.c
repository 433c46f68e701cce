/*  fuzz_socks — the SOCKS4/4a/5 request codec (handlers/socks_codec.h).

    Input: a flags byte (bit 0 allow SOCKS4, bit 1 allow SOCKS5, neither
    means both), a split seed, then the client's bytes.

    Checks: a feed consumes at most what it is given, all of it while it
    needs more, and writes at most SOCKS_FEED_OUT_MAX reply bytes; the
    stream fed whole and fed in pieces gives the same status, bytes
    consumed, reply bytes and request (the codec's promise); once READY or
    FAIL a feed consumes nothing and keeps the status; a READY request has
    an allowed version, a port 1..65535 and a NUL-terminated non-empty host,
    and re-encoding it canonically parses to the same request (round trip);
    a FAIL has a reason and no request; replies fit SOCKS_REPLY_MAX and a
    buffer one byte too small gives 0.
*/
#include <arpa/inet.h>
#include <netinet/in.h>

#include "handlers/socks_codec.h"
#include "test/fuzz/fuzz_common.h"

typedef struct {
    socks_status_t status;
    size_t consumed;
    uint8_t out [512];
    size_t out_len;
    bool have_request;
    socks_request_t request;
} s_run_t;

static socks_codec_t *
s_run (bool allow4, bool allow5, const uint8_t *data, size_t len, uint8_t seed, s_run_t *run)
{
    memset (run, 0, sizeof *run);
    socks_codec_t *codec = socks_codec_new (allow4, allow5);
    FUZZ_CHECK (codec);
    fuzz_split_t split = fuzz_split (seed);
    run->status = SOCKS_NEED_MORE;
    size_t pos = 0;
    do {
        size_t piece = fuzz_split_next (&split, len - pos);
        uint8_t *copy = fuzz_dup (data + pos, piece);
        uint8_t out [SOCKS_FEED_OUT_MAX];
        size_t consumed = (size_t) -1, out_len = (size_t) -1;
        run->status = socks_codec_feed (codec, copy, piece, &consumed, out, sizeof out, &out_len);
        free (copy);
        FUZZ_CHECK (consumed <= piece);
        FUZZ_CHECK (out_len <= SOCKS_FEED_OUT_MAX);
        if (run->status == SOCKS_NEED_MORE)
            FUZZ_CHECK (consumed == piece);
        FUZZ_CHECK (run->out_len + out_len <= sizeof run->out);
        memcpy (run->out + run->out_len, out, out_len);
        run->out_len += out_len;
        run->consumed += consumed;
        pos += piece;
    } while (run->status == SOCKS_NEED_MORE && pos < len);

    const socks_request_t *req = socks_codec_request (codec);
    if (run->status == SOCKS_REQUEST_READY) {
        FUZZ_CHECK (req);
        FUZZ_CHECK (socks_codec_error (codec) == NULL);
        run->have_request = true;
        run->request = *req;
    }
    else
        FUZZ_CHECK (req == NULL);
    if (run->status == SOCKS_FAIL)
        FUZZ_CHECK (socks_codec_error (codec) && *socks_codec_error (codec));

    //  final: later feeds take nothing and say the same
    if (run->status != SOCKS_NEED_MORE) {
        uint8_t more [3] = { 5, 1, 0 }, out [SOCKS_FEED_OUT_MAX];
        size_t consumed = 99, out_len = 99;
        FUZZ_CHECK (socks_codec_feed (codec, more, sizeof more, &consumed, out, sizeof out,
                                      &out_len) == run->status);
        FUZZ_CHECK (consumed == 0);
        FUZZ_CHECK (out_len <= SOCKS_FEED_OUT_MAX);
    }
    return codec;
}

static void
s_same_request (const socks_request_t *a, const socks_request_t *b)
{
    FUZZ_CHECK (a->version == b->version);
    FUZZ_CHECK (a->port == b->port);
    FUZZ_CHECK (a->host_is_name == b->host_is_name);
    FUZZ_CHECK (strcmp (a->host, b->host) == 0);
}

//  The request as a client would send it, greeting included; 0 if the
//  request cannot be written in that version (then the parse was wrong).
static size_t
s_encode (const socks_request_t *r, uint8_t *out)
{
    size_t n = 0, hlen = strlen (r->host);
    if (r->version == 5) {
        out [n++] = 5; out [n++] = 1; out [n++] = 0;            //  no authentication
        out [n++] = 5; out [n++] = 1; out [n++] = 0;            //  CONNECT
        uint8_t a [16];
        if (r->host_is_name) {
            FUZZ_CHECK (hlen >= 1 && hlen <= 255);
            out [n++] = 3;
            out [n++] = (uint8_t) hlen;
            memcpy (out + n, r->host, hlen);
            n += hlen;
        }
        else
        if (inet_pton (AF_INET, r->host, a) == 1) {
            out [n++] = 1;
            memcpy (out + n, a, 4);
            n += 4;
        }
        else {
            FUZZ_CHECK (inet_pton (AF_INET6, r->host, a) == 1);
            out [n++] = 4;
            memcpy (out + n, a, 16);
            n += 16;
        }
    }
    else {
        out [n++] = 4; out [n++] = 1;
        out [n++] = (uint8_t) (r->port >> 8); out [n++] = (uint8_t) r->port;
        if (r->host_is_name) {
            out [n++] = 0; out [n++] = 0; out [n++] = 0; out [n++] = 1;
            out [n++] = 0;                                      //  empty user id
            memcpy (out + n, r->host, hlen + 1);
            n += hlen + 1;
            return n;
        }
        uint8_t a [4];
        FUZZ_CHECK (inet_pton (AF_INET, r->host, a) == 1);
        memcpy (out + n, a, 4);
        n += 4;
        out [n++] = 0;
        return n;
    }
    out [n++] = (uint8_t) (r->port >> 8);
    out [n++] = (uint8_t) r->port;
    return n;
}

static void
s_check_replies (socks_codec_t *codec)
{
    struct sockaddr_in v4 = { .sin_family = AF_INET, .sin_port = htons (1080) };
    v4.sin_addr.s_addr = htonl (0x7f000001);
    struct sockaddr_in6 v6 = { .sin6_family = AF_INET6, .sin6_port = htons (443) };
    v6.sin6_addr.s6_addr [15] = 1;
    const struct sockaddr *bound [] = {
        NULL, (const struct sockaddr *) &v4, (const struct sockaddr *) &v6
    };
    int reps [] = { SOCKS_REP_SUCCEEDED, SOCKS_REP_CONN_REFUSED, SOCKS_REP_ATYP_NOT_SUPPORTED, 0x33 };
    for (size_t b = 0; b < 3; b++)
        for (size_t r = 0; r < 4; r++) {
            uint8_t *out = malloc (SOCKS_REPLY_MAX);
            size_t len = socks_codec_reply (codec, reps [r], bound [b], out, SOCKS_REPLY_MAX);
            FUZZ_CHECK (len <= SOCKS_REPLY_MAX);
            free (out);
            if (len > 0) {
                //  exactly too small: nothing written past the end, 0 returned
                uint8_t *small = malloc (len - 1 ? len - 1 : 1);
                FUZZ_CHECK (socks_codec_reply (codec, reps [r], bound [b], small, len - 1) == 0);
                free (small);
            }
        }
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    fuzz_in_t in = fuzz_in (data, size);
    uint8_t flags = fuzz_u8 (&in);
    uint8_t seed = fuzz_u8 (&in);
    bool allow4 = (flags & 1) || !(flags & 3), allow5 = (flags & 2) || !(flags & 3);

    s_run_t whole, pieces;
    socks_codec_t *codec = s_run (allow4, allow5, in.p, in.n, 0, &whole);
    socks_codec_t *other = s_run (allow4, allow5, in.p, in.n, seed, &pieces);
    FUZZ_CHECK (whole.status == pieces.status);
    FUZZ_CHECK (whole.out_len == pieces.out_len);
    FUZZ_CHECK (memcmp (whole.out, pieces.out, whole.out_len) == 0);
    if (whole.status != SOCKS_NEED_MORE)
        FUZZ_CHECK (whole.consumed == pieces.consumed);

    if (whole.status == SOCKS_REQUEST_READY) {
        s_same_request (&whole.request, &pieces.request);
        const socks_request_t *r = &whole.request;
        FUZZ_CHECK (r->version == 4 ? allow4 : r->version == 5 && allow5);
        FUZZ_CHECK (r->port >= 1);
        FUZZ_CHECK (memchr (r->host, 0, sizeof r->host));
        FUZZ_CHECK (r->host [0]);
        uint8_t encoded [600];
        size_t n = s_encode (r, encoded);
        s_run_t again;
        socks_codec_t *third = s_run (allow4, allow5, encoded, n, 0, &again);
        FUZZ_CHECK (again.status == SOCKS_REQUEST_READY);
        FUZZ_CHECK (again.consumed == n);
        s_same_request (r, &again.request);
        socks_codec_destroy (&third);
    }
    s_check_replies (codec);
    socks_codec_destroy (&codec);
    socks_codec_destroy (&other);
    return 0;
}
