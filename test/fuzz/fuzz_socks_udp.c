/*  fuzz_socks_udp — the SOCKS5 UDP datagram header and its stream framing
    (handlers/socks_udp_codec.h).

    Input: a split seed, then bytes that are both a datagram and a stream.

    Checks: the datagram parse never reads past the input (a heap copy of
    exactly its length); FRAG != 0 is always FRAG; OK means a header within
    the datagram and SOCKS_UDP_HEADER_MAX, a NUL-terminated non-empty host,
    and the header re-encoded canonically (RSV 0) parses to the same target
    and length; a literal target's address has its port, and the header
    socks_udp_header_build writes for it is the canonical one. The stream
    fed whole and in pieces gives the same frames and the same result as a
    plain model of the framing (each frame 1..65535 bytes; a zero length
    ends it for good).
*/
#include <arpa/inet.h>
#include <netinet/in.h>

#include "handlers/socks_udp_codec.h"
#include "test/fuzz/fuzz_common.h"

static void
s_check_datagram (const uint8_t *data, size_t len)
{
    uint8_t *copy = fuzz_dup (data, len);
    socks_udp_target_t t;
    size_t header = 0;
    socks_udp_status_t status = socks_udp_parse (copy, len, &t, &header);
    free (copy);
    FUZZ_CHECK (status >= SOCKS_UDP_OK && status <= SOCKS_UDP_BAD_NAME);
    FUZZ_CHECK (*socks_udp_status_text (status));
    if (len >= 4 && data[2] != 0)
        FUZZ_CHECK (status == SOCKS_UDP_FRAG);
    if (status != SOCKS_UDP_OK)
        return;
    FUZZ_CHECK (header <= len && header <= SOCKS_UDP_HEADER_MAX && header >= 8);
    FUZZ_CHECK (memchr (t.host, 0, sizeof t.host) && t.host[0]);

    uint8_t canon[SOCKS_UDP_HEADER_MAX];
    memcpy (canon, data, header);
    canon[0] = canon[1] = 0;
    socks_udp_target_t again;
    size_t again_len = 0;
    FUZZ_CHECK (socks_udp_parse (canon, header, &again, &again_len) == SOCKS_UDP_OK);
    FUZZ_CHECK (again_len == header);
    FUZZ_CHECK (strcmp (again.host, t.host) == 0 && again.port == t.port);
    FUZZ_CHECK (again.host_is_name == t.host_is_name);
    if (t.host_is_name) {
        FUZZ_CHECK (data[3] == 3 && strlen (t.host) == data[4]);
        return;
    }
    uint16_t port;
    if (t.addr.ss_family == AF_INET)
        port = ntohs (((struct sockaddr_in *) &t.addr)->sin_port);
    else {
        FUZZ_CHECK (t.addr.ss_family == AF_INET6);
        port = ntohs (((struct sockaddr_in6 *) &t.addr)->sin6_port);
    }
    FUZZ_CHECK (port == t.port);
    uint8_t built[SOCKS_UDP_REPLY_HEADER_MAX];
    size_t n = socks_udp_header_build ((struct sockaddr *) &t.addr, built, sizeof built);
    FUZZ_CHECK (n > 0);
    //  an IPv4-mapped IPv6 address is written as IPv4; anything else as it came
    const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *) &t.addr;
    if (t.addr.ss_family == AF_INET6 && IN6_IS_ADDR_V4MAPPED (&in6->sin6_addr))
        FUZZ_CHECK (n == 10 && built[3] == 1);
    else
        FUZZ_CHECK (n == header && memcmp (built, canon, n) == 0);
    FUZZ_CHECK (socks_udp_header_build ((struct sockaddr *) &t.addr, built, n - 1) == 0);
}

typedef struct {
    uint8_t *bytes;             //  the frames, each as LEN then bytes
    size_t len;
    size_t count;
} s_frames_t;

static void
s_on_frame (void *arg, const uint8_t *frame, size_t len)
{
    s_frames_t *f = (s_frames_t *) arg;
    FUZZ_CHECK (len >= 1 && len <= SOCKS_UDP_FRAME_MAX);
    f->bytes = (uint8_t *) realloc (f->bytes, f->len + 2 + len);
    FUZZ_CHECK (f->bytes);
    socks_udp_frame_prefix (len, f->bytes + f->len);
    memcpy (f->bytes + f->len + 2, frame, len);
    f->len += 2 + len;
    f->count++;
}

static int
s_deframe (const uint8_t *data, size_t len, uint8_t seed, s_frames_t *f)
{
    static uint8_t buf[SOCKS_UDP_FRAME_MAX];
    socks_udp_deframer_t d;
    socks_udp_deframer_init (&d, buf);
    fuzz_split_t split = fuzz_split (seed);
    int rc = 0;
    size_t pos = 0;
    memset (f, 0, sizeof *f);
    while (pos < len) {
        size_t piece = fuzz_split_next (&split, len - pos);
        uint8_t *copy = fuzz_dup (data + pos, piece);
        int r = socks_udp_deframer_feed (&d, copy, piece, s_on_frame, f);
        free (copy);
        FUZZ_CHECK (rc == 0 || r == -1);      //  broken stays broken
        rc = r;
        pos += piece;
    }
    return rc;
}

//  The model: whole frames in order, until a zero length.
static int
s_model (const uint8_t *data, size_t len, size_t *frames, size_t *bytes)
{
    size_t pos = 0;
    *frames = *bytes = 0;
    while (pos + 2 <= len) {
        size_t n = (size_t) data[pos] << 8 | data[pos + 1];
        if (n == 0) {
            *bytes = pos;
            return -1;
        }
        if (pos + 2 + n > len)
            break;
        pos += 2 + n;
        (*frames)++;
    }
    *bytes = pos;
    return 0;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    fuzz_in_t in = fuzz_in (data, size);
    uint8_t seed = fuzz_u8 (&in);
    s_check_datagram (in.p, in.n);

    s_frames_t whole, pieces;
    int rc_whole = s_deframe (in.p, in.n, 0, &whole);
    int rc_pieces = s_deframe (in.p, in.n, seed, &pieces);
    FUZZ_CHECK (rc_whole == rc_pieces);
    FUZZ_CHECK (whole.count == pieces.count && whole.len == pieces.len);
    FUZZ_CHECK (whole.len == 0 || memcmp (whole.bytes, pieces.bytes, whole.len) == 0);
    size_t frames, bytes;
    FUZZ_CHECK (s_model (in.p, in.n, &frames, &bytes) == rc_whole);
    FUZZ_CHECK (frames == whole.count && bytes == whole.len);
    FUZZ_CHECK (whole.len == 0 || memcmp (whole.bytes, in.p, whole.len) == 0);
    free (whole.bytes);
    free (pieces.bytes);
    return 0;
}
