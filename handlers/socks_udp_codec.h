/*  socks_udp_codec — the datagrams of a SOCKS5 UDP association (RFC 1928
    section 7) and the framing that carries them over a byte stream (a
    wormhole's tunnel: docs/PROTOCOL-EXTENSIONS.md, "UDP associations").
    Pure: no I/O, no allocation.

    A datagram is RSV(2) FRAG(1) ATYP(1) DST.ADDR DST.PORT(2) DATA. Over a
    stream each datagram, header included, is one frame: LEN(2, big-endian,
    1..65535) then LEN bytes; the boundaries of datagrams are kept.
*/
#ifndef MK_SOCKS_UDP_CODEC_H
#define MK_SOCKS_UDP_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

//  Longest header: ATYP 3 with a 255-byte name.
#define SOCKS_UDP_HEADER_MAX (4 + 1 + 255 + 2)
//  Longest header socks_udp_header_build writes (an IPv6 address).
#define SOCKS_UDP_REPLY_HEADER_MAX (4 + 16 + 2)
//  A frame's length prefix, and the longest datagram a frame carries.
#define SOCKS_UDP_FRAME_PREFIX 2
#define SOCKS_UDP_FRAME_MAX 65535

typedef enum {
    SOCKS_UDP_OK,
    SOCKS_UDP_SHORT,        //  the datagram ends inside its header
    SOCKS_UDP_FRAG,         //  FRAG != 0: fragments are not reassembled (dropped)
    SOCKS_UDP_BAD_ATYP,     //  ATYP not 1, 3 or 4
    SOCKS_UDP_BAD_NAME      //  an empty name, or one with a NUL byte or another bad character
} socks_udp_status_t;

typedef struct {
    char host[256];         //  name, or an IPv4/IPv6 literal (no brackets)
    uint16_t port;          //  may be 0 (the target decides whether it answers)
    bool host_is_name;      //  ATYP 3
    //  For a literal: the address with the port (for a name: unset).
    struct sockaddr_storage addr;
    socklen_t addr_len;
} socks_udp_target_t;

//  Parse a datagram's header. On OK, *header_len is where DATA starts.
socks_udp_status_t
    socks_udp_parse (const uint8_t *data, size_t len, socks_udp_target_t *target,
                     size_t *header_len);

//  A log word for a status.
const char *
    socks_udp_status_text (socks_udp_status_t status);

//  The header of a datagram that came from `from` (IPv4, IPv6; an
//  IPv4-mapped IPv6 address is written as IPv4). Returns its length, 0 if
//  cap is too small or the family is not one of those.
size_t
    socks_udp_header_build (const struct sockaddr *from, uint8_t *out, size_t cap);

//  Whether a datagram from `from` belongs to the association whose control
//  connection came from `peer` (the same IP) and whose request named
//  `expect` (NULL, or an address or port that is 0 for "any").
bool
    socks_udp_source_ok (const struct sockaddr *peer, const struct sockaddr *expect,
                         const struct sockaddr *from);

//  An IPv4-mapped IPv6 address (a dual-stack listener's IPv4 peer) as the
//  IPv4 one, in place; any other address is left as it is.
void
    socks_udp_unmap (struct sockaddr_storage *sa);

//  The stream framing. The deframer collects one frame at a time; its
//  buffer is the caller's (SOCKS_UDP_FRAME_MAX bytes).
typedef struct {
    uint8_t *buf;           //  SOCKS_UDP_FRAME_MAX bytes
    uint8_t prefix[SOCKS_UDP_FRAME_PREFIX];
    size_t prefix_have;
    size_t need;            //  the frame's length once the prefix is read
    size_t have;
    bool failed;            //  a zero length: the stream is not ours
} socks_udp_deframer_t;

typedef void (socks_udp_frame_fn) (void *arg, const uint8_t *frame, size_t len);

void
    socks_udp_deframer_init (socks_udp_deframer_t *self, uint8_t *buf);

//  Feed stream bytes in any split; every whole frame goes to fn (its bytes
//  valid during the call). Returns -1 once a frame of length 0 was seen (then
//  and on every later call nothing more is delivered), else 0.
int
    socks_udp_deframer_feed (socks_udp_deframer_t *self, const uint8_t *data, size_t len,
                             socks_udp_frame_fn *fn, void *arg);

//  The prefix of a frame of len bytes (1..SOCKS_UDP_FRAME_MAX).
void
    socks_udp_frame_prefix (size_t len, uint8_t out[SOCKS_UDP_FRAME_PREFIX]);

#endif
