/*  socks_codec — parses what a SOCKS4/4a/5 client sends up to its CONNECT
    request and builds the replies. Pure: no I/O, no allocation after new.

    The codec is fed the client's bytes in any split (byte by byte or greeting,
    request and first data in one write) and gives the same result for every
    split; it stops consuming at the last byte of the request, so what follows
    is the client's first data for the target.
*/
#ifndef MK_SOCKS_CODEC_H
#define MK_SOCKS_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "runtime/base/acl.h"
#include "runtime/base/addr.h"

typedef struct _socks_codec_t socks_codec_t;

typedef enum {
    SOCKS_NEED_MORE,        //  all bytes consumed, the request is not complete
    SOCKS_REQUEST_READY,    //  socks_codec_request() holds the CONNECT request
    SOCKS_FAIL              //  protocol error: send the out bytes (if any), close
} socks_status_t;

//  RFC 1928 reply codes (SOCKS4 maps every failure to 0x5B)
enum {
    SOCKS_REP_SUCCEEDED = 0,
    SOCKS_REP_GENERAL_FAILURE = 1,
    SOCKS_REP_NOT_ALLOWED = 2,
    SOCKS_REP_NET_UNREACHABLE = 3,
    SOCKS_REP_HOST_UNREACHABLE = 4,
    SOCKS_REP_CONN_REFUSED = 5,
    SOCKS_REP_TTL_EXPIRED = 6,
    SOCKS_REP_CMD_NOT_SUPPORTED = 7,
    SOCKS_REP_ATYP_NOT_SUPPORTED = 8
};

//  Room socks_codec_feed needs in out: a method selection (2 bytes), an
//  RFC 1929 status (2) and a SOCKS5 failure reply (10 bytes).
#define SOCKS_FEED_OUT_MAX 16
//  Longest reply socks_codec_reply builds (SOCKS5 with an IPv6 address).
#define SOCKS_REPLY_MAX 22

typedef struct {
    int version;            //  4 or 5
    char host[ADDR_HOST_MAX + 1];   //  name (addr_host_valid), or an IPv4/IPv6 literal (no brackets)
    uint16_t port;          //  1..65535
    bool host_is_name;      //  SOCKS5 ATYP 3 or SOCKS4a
    uint8_t command;        //  SOCKS_CMD_*: CONNECT unless UDP was allowed
} socks_request_t;

//  The commands a request may carry. SOCKS_CMD_UDP_STREAM is ours: a UDP
//  association whose datagrams travel on this same stream, framed
//  (handlers/socks_udp_codec.h); the local end of a wormhole asks for it.
enum {
    SOCKS_CMD_CONNECT = 1,
    SOCKS_CMD_UDP_ASSOCIATE = 3,
    SOCKS_CMD_UDP_STREAM = 0x83
};

//  A codec that accepts the versions allowed (handler: socks both, socks4 or socks5 one).
socks_codec_t *
    socks_codec_new (bool allow4, bool allow5);

void
    socks_codec_destroy (socks_codec_t **self_p);

//  Ask for a user name and password (RFC 1929) before the request: only
//  method 0x02 is offered, wrong credentials get status 0x01 and FAIL, and
//  SOCKS4 (which has no passwords) gets 0x5B. users must outlive the codec;
//  NULL or none: no authentication (the default). Call before the first feed.
void
    socks_codec_require_users (socks_codec_t *self, const acl_users_t *users);

//  Also accept UDP ASSOCIATE and SOCKS_CMD_UDP_STREAM (SOCKS5 only; their
//  DST.PORT may be 0). Call before the first feed.
void
    socks_codec_allow_udp (socks_codec_t *self);

//  Whether the codec failed on the credentials (wrong, or not offered).
bool
    socks_codec_auth_failed (socks_codec_t *self);

//  Consume client bytes. *consumed: how many were taken (on READY the rest is
//  the client's first data). Bytes to send back at once (SOCKS5 method
//  selection 05 00, or a failure reply) are written to out, *out_len of them;
//  out_cap must be at least SOCKS_FEED_OUT_MAX. Once READY or FAIL, further
//  calls consume nothing and return the same status.
socks_status_t
    socks_codec_feed (socks_codec_t *self, const uint8_t *data, size_t len, size_t *consumed,
                      uint8_t *out, size_t out_cap, size_t *out_len);

//  The request, or NULL unless the last feed returned SOCKS_REQUEST_READY.
const socks_request_t *
    socks_codec_request (socks_codec_t *self);

//  Why the codec failed (for a log line), or NULL if it did not.
const char *
    socks_codec_error (socks_codec_t *self);

//  The reply to the CONNECT: rep SOCKS_REP_SUCCEEDED with the bound address
//  (the target socket's local address; NULL gives 0.0.0.0:0; SOCKS4 can only
//  carry IPv4, so an IPv6 address becomes 0.0.0.0:0), or a failure with an
//  RFC 1928 code (SOCKS4: 0x5B). Returns the reply length, 0 if cap is too
//  small or the version is not known yet.
size_t
    socks_codec_reply (socks_codec_t *self, int rep, const struct sockaddr *bound,
                       uint8_t *out, size_t cap);

//  A connect() errno as a REP code. (A name that did not resolve is the
//  session's own error, not an errno: the handler maps it to host unreachable.)
int
    socks_rep_from_error (int err);

#endif
