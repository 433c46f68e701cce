/*  socks_codec — SOCKS4/4a/5 request parser and reply builder (no I/O).

    Bytes are consumed one at a time by an explicit state machine, so any
    split of the input gives the same result. Fixed-size fields (the version,
    the SOCKS5 request header, an address, a port) are collected in a small
    buffer and handled once complete; NUL-terminated fields (the SOCKS4 user
    id and the SOCKS4a host) are handled byte by byte.
*/
#include "handlers/socks_codec.h"

#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_NAME_MAX 255          //  SOCKS5 domain, SOCKS4 user id, SOCKS4a host

typedef enum {
    S_VERSION,          //  VER: 4 or 5
    S5_NMETHODS,        //  NMETHODS
    S5_METHODS,         //  METHODS[NMETHODS]
    S5_AUTH_VER,        //  RFC 1929 VER (1)
    S5_AUTH_ULEN,       //  ULEN
    S5_AUTH_UNAME,      //  UNAME[ULEN]
    S5_AUTH_PLEN,       //  PLEN
    S5_AUTH_PASSWD,     //  PASSWD[PLEN]
    S5_REQUEST,         //  VER CMD RSV ATYP
    S5_NAME_LEN,        //  domain length (ATYP 3)
    S5_ADDRESS,         //  4 (IPv4), 16 (IPv6) or name-length bytes
    S5_PORT,            //  DST.PORT
    S4_REQUEST,         //  CD DSTPORT DSTIP
    S4_USERID,          //  USERID up to its NUL
    S4A_HOST,           //  host name up to its NUL (DSTIP 0.0.0.x)
    S_DONE,             //  request complete
    S_FAILED            //  protocol error, nothing more is consumed
} state_t;

//  Where feed writes the bytes for the client.
typedef struct {
    uint8_t *data;
    size_t cap;
    size_t len;
} s_out_t;

struct _socks_codec_t {
    state_t state;
    bool allow4, allow5;
    uint8_t field [S_NAME_MAX + 1];     //  the field being collected
    size_t have;                        //  bytes in field
    size_t need;                        //  size of a fixed-size field
    uint8_t atyp;                       //  SOCKS5 address type
    bool socks4a;
    const acl_users_t *users;           //  credentials asked for (NULL: none)
    uint8_t uname [S_NAME_MAX];         //  RFC 1929 UNAME while PASSWD comes
    size_t uname_len;
    bool auth_failed;
    bool allow_udp;
    socks_request_t request;
    char error [80];
};

socks_codec_t *
socks_codec_new (bool allow4, bool allow5)
{
    socks_codec_t *self = (socks_codec_t *) calloc (1, sizeof (socks_codec_t));
    if (!self)
        return NULL;
    self->allow4 = allow4;
    self->allow5 = allow5;
    self->state = S_VERSION;
    self->need = 1;
    return self;
}

void
socks_codec_allow_udp (socks_codec_t *self)
{
    self->allow_udp = true;
}

void
socks_codec_require_users (socks_codec_t *self, const acl_users_t *users)
{
    assert (self);
    self->users = users && users->count > 0? users: NULL;
}

bool
socks_codec_auth_failed (socks_codec_t *self)
{
    assert (self);
    return self->auth_failed;
}

void
socks_codec_destroy (socks_codec_t **self_p)
{
    assert (self_p);
    if (*self_p) {
        explicit_bzero (*self_p, sizeof (socks_codec_t));
        free (*self_p);
        *self_p = NULL;
    }
}

static void
s_expect (socks_codec_t *self, state_t state, size_t need)
{
    self->state = state;
    self->have = 0;
    self->need = need;
}

//  Collect one byte of a fixed-size field; true once the field is complete.
static bool
s_collect (socks_codec_t *self, uint8_t byte)
{
    assert (self->have < self->need && self->need <= sizeof self->field);
    self->field [self->have++] = byte;
    return self->have == self->need;
}

static void
s_emit (s_out_t *out, const uint8_t *bytes, size_t len)
{
    //  feed's caller gives SOCKS_FEED_OUT_MAX bytes, the most one feed writes
    assert (out->len + len <= out->cap);
    memcpy (out->data + out->len, bytes, len);
    out->len += len;
}

//  Fail with the version's error reply for rep (SOCKS4: 0x5B), or silently
//  before the version is known.
static void
s_fail (socks_codec_t *self, s_out_t *out, int rep, const char *why)
{
    uint8_t reply [SOCKS_REPLY_MAX];
    size_t len = socks_codec_reply (self, rep, NULL, reply, sizeof reply);
    s_emit (out, reply, len);
    snprintf (self->error, sizeof self->error, "%s", why);
    self->state = S_FAILED;
}

static void
s_fail_greeting (socks_codec_t *self, s_out_t *out, const char *why)
{
    static const uint8_t no_acceptable_methods [] = { 5, 0xFF };
    s_emit (out, no_acceptable_methods, sizeof no_acceptable_methods);
    snprintf (self->error, sizeof self->error, "%s", why);
    self->state = S_FAILED;
}

static void
s_version (socks_codec_t *self, s_out_t *out)
{
    uint8_t version = self->field [0];
    if (version == 5 && self->allow5) {
        self->request.version = 5;
        s_expect (self, S5_NMETHODS, 1);
    }
    else
    if (version == 4 && self->allow4 && self->users) {
        //  no password to check: refused (0x5B)
        self->request.version = 4;
        self->auth_failed = true;
        s_fail (self, out, SOCKS_REP_NOT_ALLOWED, "SOCKS4 refused: this proxy asks for a password");
    }
    else
    if (version == 4 && self->allow4) {
        self->request.version = 4;
        s_expect (self, S4_REQUEST, 7);
    }
    else {
        //  not SOCKS, or a version this listener does not speak: silence
        char why [64];
        snprintf (why, sizeof why, "version byte 0x%02x not accepted", version);
        s_fail (self, out, SOCKS_REP_GENERAL_FAILURE, why);
    }
}

static void
s5_nmethods (socks_codec_t *self, s_out_t *out)
{
    size_t nmethods = self->field [0];
    if (nmethods == 0)
        s_fail_greeting (self, out, "greeting offers no methods");
    else
        s_expect (self, S5_METHODS, nmethods);
}

static void
s5_methods (socks_codec_t *self, s_out_t *out)
{
    if (self->users) {
        if (memchr (self->field, 0x02, self->have) == NULL) {
            self->auth_failed = true;
            s_fail_greeting (self, out, "greeting does not offer 'username/password'");
        }
        else {
            static const uint8_t user_pass [] = { 5, 0x02 };
            s_emit (out, user_pass, sizeof user_pass);
            s_expect (self, S5_AUTH_VER, 1);
        }
        return;
    }
    if (memchr (self->field, 0x00, self->have) == NULL)
        s_fail_greeting (self, out, "greeting does not offer 'no authentication'");
    else {
        static const uint8_t no_auth [] = { 5, 0x00 };
        s_emit (out, no_auth, sizeof no_auth);
        s_expect (self, S5_REQUEST, 4);
    }
}

//  RFC 1929 status: 01 00 (success) or 01 01 (failure, then close).
static void
s5_auth_fail (socks_codec_t *self, s_out_t *out, const char *why)
{
    static const uint8_t failure [] = { 1, 0x01 };
    s_emit (out, failure, sizeof failure);
    snprintf (self->error, sizeof self->error, "%s", why);
    self->auth_failed = true;
    explicit_bzero (self->field, sizeof self->field);
    self->state = S_FAILED;
}

static void
s5_auth_ver (socks_codec_t *self, s_out_t *out)
{
    if (self->field [0] != 1)
        s5_auth_fail (self, out, "username/password version is not 1");
    else
        s_expect (self, S5_AUTH_ULEN, 1);
}

static void
s5_auth_ulen (socks_codec_t *self, s_out_t *out)
{
    if (self->field [0] == 0)
        s5_auth_fail (self, out, "empty user name");
    else
        s_expect (self, S5_AUTH_UNAME, self->field [0]);
}

static void
s5_auth_uname (socks_codec_t *self)
{
    memcpy (self->uname, self->field, self->have);
    self->uname_len = self->have;
    s_expect (self, S5_AUTH_PLEN, 1);
}

static void
s5_auth_passwd (socks_codec_t *self, const uint8_t *password, size_t len, s_out_t *out)
{
    bool good = acl_users_check (self->users, self->uname, self->uname_len, password, len);
    explicit_bzero (self->uname, sizeof self->uname);
    if (!good) {
        s5_auth_fail (self, out, "wrong user name or password");
        return;
    }
    explicit_bzero (self->field, sizeof self->field);
    static const uint8_t success [] = { 1, 0x00 };
    s_emit (out, success, sizeof success);
    s_expect (self, S5_REQUEST, 4);
}

static void
s5_auth_plen (socks_codec_t *self, s_out_t *out)
{
    if (self->field [0] == 0)
        s5_auth_passwd (self, NULL, 0, out);        //  an empty password is never right
    else
        s_expect (self, S5_AUTH_PASSWD, self->field [0]);
}

static void
s5_request (socks_codec_t *self, s_out_t *out)
{
    uint8_t ver = self->field [0], cmd = self->field [1];
    uint8_t rsv = self->field [2], atyp = self->field [3];
    self->atyp = atyp;
    self->request.command = cmd;
    bool udp = cmd == SOCKS_CMD_UDP_ASSOCIATE || cmd == SOCKS_CMD_UDP_STREAM;
    if (ver != 5 || rsv != 0)
        s_fail (self, out, SOCKS_REP_GENERAL_FAILURE, "malformed request header");
    else
    if (cmd != SOCKS_CMD_CONNECT && !(self->allow_udp && udp))
        s_fail (self, out, SOCKS_REP_CMD_NOT_SUPPORTED, "command not supported (only CONNECT)");
    else
    if (atyp == 1)
        s_expect (self, S5_ADDRESS, 4);
    else
    if (atyp == 4)
        s_expect (self, S5_ADDRESS, 16);
    else
    if (atyp == 3)
        s_expect (self, S5_NAME_LEN, 1);
    else
        s_fail (self, out, SOCKS_REP_ATYP_NOT_SUPPORTED, "address type not supported");
}

static void
s5_name_len (socks_codec_t *self, s_out_t *out)
{
    size_t len = self->field [0];
    if (len == 0)
        s_fail (self, out, SOCKS_REP_GENERAL_FAILURE, "empty domain name");
    else
        s_expect (self, S5_ADDRESS, len);
}

static void
s5_address (socks_codec_t *self, s_out_t *out)
{
    socks_request_t *request = &self->request;
    if (self->atyp == 3) {
        //  a NUL would silently cut the name we resolve; what no name holds is garbage
        memcpy (request->host, self->field, self->have);
        request->host [self->have] = 0;
        if (memchr (self->field, 0, self->have) || !addr_host_valid (request->host)) {
            s_fail (self, out, SOCKS_REP_GENERAL_FAILURE, "invalid character in domain name");
            return;
        }
        request->host_is_name = true;
    }
    else {
        int family = self->atyp == 1? AF_INET: AF_INET6;
        inet_ntop (family, self->field, request->host, sizeof request->host);
        request->host_is_name = false;
    }
    s_expect (self, S5_PORT, 2);
}

static void
s5_port (socks_codec_t *self, s_out_t *out)
{
    self->request.port = (uint16_t) (self->field [0] << 8 | self->field [1]);
    //  a UDP association's DST is where the client will send from: 0 is "any"
    if (self->request.port == 0 && self->request.command == SOCKS_CMD_CONNECT)
        s_fail (self, out, SOCKS_REP_GENERAL_FAILURE, "port 0");
    else
        self->state = S_DONE;
}

static void
s4_request (socks_codec_t *self, s_out_t *out)
{
    const uint8_t *f = self->field;
    uint8_t cd = f [0];
    self->request.port = (uint16_t) (f [1] << 8 | f [2]);
    const uint8_t *ip = f + 3;
    self->request.command = SOCKS_CMD_CONNECT;
    if (cd != 1)
        s_fail (self, out, SOCKS_REP_CMD_NOT_SUPPORTED, "command not supported (only CONNECT)");
    else
    if (self->request.port == 0)
        s_fail (self, out, SOCKS_REP_GENERAL_FAILURE, "port 0");
    else {
        //  SOCKS4a: DSTIP 0.0.0.x (x != 0) says a host name follows the user id
        self->socks4a = ip [0] == 0 && ip [1] == 0 && ip [2] == 0 && ip [3] != 0;
        if (!self->socks4a)
            inet_ntop (AF_INET, ip, self->request.host, sizeof self->request.host);
        self->request.host_is_name = self->socks4a;
        s_expect (self, S4_USERID, 0);
    }
}

static void
s4_userid (socks_codec_t *self, uint8_t byte, s_out_t *out)
{
    //  the user id is not used, only counted
    if (byte == 0) {
        if (self->socks4a)
            s_expect (self, S4A_HOST, 0);
        else
            self->state = S_DONE;
    }
    else
    if (++self->have > S_NAME_MAX)
        s_fail (self, out, SOCKS_REP_GENERAL_FAILURE, "user id longer than 255 bytes");
}

static void
s4a_host (socks_codec_t *self, uint8_t byte, s_out_t *out)
{
    if (byte == 0) {
        memcpy (self->request.host, self->field, self->have);
        self->request.host [self->have] = 0;
        if (addr_host_valid (self->request.host))
            self->state = S_DONE;
        else
            s_fail (self, out, SOCKS_REP_GENERAL_FAILURE, self->have ? "invalid character in SOCKS4a host name"
                                                                     : "empty SOCKS4a host name");
    }
    else
    if (self->have == S_NAME_MAX)
        s_fail (self, out, SOCKS_REP_GENERAL_FAILURE, "SOCKS4a host name longer than 255 bytes");
    else
        self->field [self->have++] = byte;
}

static void
s_consume (socks_codec_t *self, uint8_t byte, s_out_t *out)
{
    switch (self->state) {
        case S_VERSION:
            if (s_collect (self, byte))
                s_version (self, out);
            break;
        case S5_NMETHODS:
            if (s_collect (self, byte))
                s5_nmethods (self, out);
            break;
        case S5_METHODS:
            if (s_collect (self, byte))
                s5_methods (self, out);
            break;
        case S5_AUTH_VER:
            if (s_collect (self, byte))
                s5_auth_ver (self, out);
            break;
        case S5_AUTH_ULEN:
            if (s_collect (self, byte))
                s5_auth_ulen (self, out);
            break;
        case S5_AUTH_UNAME:
            if (s_collect (self, byte))
                s5_auth_uname (self);
            break;
        case S5_AUTH_PLEN:
            if (s_collect (self, byte))
                s5_auth_plen (self, out);
            break;
        case S5_AUTH_PASSWD:
            if (s_collect (self, byte))
                s5_auth_passwd (self, self->field, self->have, out);
            break;
        case S5_REQUEST:
            if (s_collect (self, byte))
                s5_request (self, out);
            break;
        case S5_NAME_LEN:
            if (s_collect (self, byte))
                s5_name_len (self, out);
            break;
        case S5_ADDRESS:
            if (s_collect (self, byte))
                s5_address (self, out);
            break;
        case S5_PORT:
            if (s_collect (self, byte))
                s5_port (self, out);
            break;
        case S4_REQUEST:
            if (s_collect (self, byte))
                s4_request (self, out);
            break;
        case S4_USERID:
            s4_userid (self, byte, out);
            break;
        case S4A_HOST:
            s4a_host (self, byte, out);
            break;
        case S_DONE:
        case S_FAILED:
            assert (false);     //  feed stops at these
            break;
    }
}

static socks_status_t
s_status (socks_codec_t *self)
{
    return self->state == S_DONE? SOCKS_REQUEST_READY:
           self->state == S_FAILED? SOCKS_FAIL: SOCKS_NEED_MORE;
}

socks_status_t
socks_codec_feed (socks_codec_t *self, const uint8_t *data, size_t len, size_t *consumed,
                  uint8_t *out, size_t out_cap, size_t *out_len)
{
    assert (self);
    assert (consumed && out_len);
    assert (out && out_cap >= SOCKS_FEED_OUT_MAX);
    s_out_t reply = { out, out_cap, 0 };
    size_t used = 0;
    while (used < len && self->state != S_DONE && self->state != S_FAILED)
        s_consume (self, data [used++], &reply);
    *consumed = used;
    *out_len = reply.len;
    return s_status (self);
}

const socks_request_t *
socks_codec_request (socks_codec_t *self)
{
    assert (self);
    return self->state == S_DONE? &self->request: NULL;
}

const char *
socks_codec_error (socks_codec_t *self)
{
    assert (self);
    return self->state == S_FAILED? self->error: NULL;
}

//  SOCKS5: 05 REP 00 ATYP BND.ADDR BND.PORT
static size_t
s5_reply (int rep, const struct sockaddr *bound, uint8_t *out, size_t cap)
{
    const struct sockaddr_in *v4 = (const struct sockaddr_in *) bound;
    const struct sockaddr_in6 *v6 = (const struct sockaddr_in6 *) bound;
    bool ipv6 = rep == SOCKS_REP_SUCCEEDED && bound && bound->sa_family == AF_INET6;
    bool ipv4 = rep == SOCKS_REP_SUCCEEDED && bound && bound->sa_family == AF_INET;
    size_t len = 4 + (ipv6? 16: 4) + 2;
    if (cap < len)
        return 0;
    memset (out, 0, len);
    out [0] = 5;
    out [1] = (uint8_t) rep;
    out [3] = ipv6? 4: 1;
    if (ipv6) {
        memcpy (out + 4, &v6->sin6_addr, 16);
        memcpy (out + 20, &v6->sin6_port, 2);
    }
    else
    if (ipv4) {
        memcpy (out + 4, &v4->sin_addr, 4);
        memcpy (out + 8, &v4->sin_port, 2);
    }
    return len;
}

//  SOCKS4: 00 5A DSTPORT DSTIP / 00 5B 00 00 00 00 00 00
static size_t
s4_reply (int rep, const struct sockaddr *bound, uint8_t *out, size_t cap)
{
    if (cap < 8)
        return 0;
    memset (out, 0, 8);
    out [1] = rep == SOCKS_REP_SUCCEEDED? 0x5A: 0x5B;
    if (rep != SOCKS_REP_SUCCEEDED || !bound)
        return 8;
    if (bound->sa_family == AF_INET) {
        const struct sockaddr_in *v4 = (const struct sockaddr_in *) bound;
        memcpy (out + 2, &v4->sin_port, 2);
        memcpy (out + 4, &v4->sin_addr, 4);
    }
    else
    if (bound->sa_family == AF_INET6) {
        //  a dual-stack socket's IPv4 address is ::ffff:a.b.c.d; others do not fit
        const struct sockaddr_in6 *v6 = (const struct sockaddr_in6 *) bound;
        if (IN6_IS_ADDR_V4MAPPED (&v6->sin6_addr)) {
            memcpy (out + 2, &v6->sin6_port, 2);
            memcpy (out + 4, v6->sin6_addr.s6_addr + 12, 4);
        }
    }
    return 8;
}

size_t
socks_codec_reply (socks_codec_t *self, int rep, const struct sockaddr *bound,
                   uint8_t *out, size_t cap)
{
    assert (self);
    assert (out);
    if (self->request.version == 5)
        return s5_reply (rep, bound, out, cap);
    if (self->request.version == 4)
        return s4_reply (rep, bound, out, cap);
    return 0;
}

int
socks_rep_from_error (int err)
{
    switch (err) {
        case ECONNREFUSED:
            return SOCKS_REP_CONN_REFUSED;
        case ENETUNREACH:
            return SOCKS_REP_NET_UNREACHABLE;
        case EHOSTUNREACH:
            return SOCKS_REP_HOST_UNREACHABLE;
        //  A connect timeout means the host did not answer: "host unreachable".
        //  REP 06 "TTL expired" is about an IP time-to-live running out in
        //  transit (ICMP time exceeded), which a connect() never reports.
        case ETIMEDOUT:
            return SOCKS_REP_HOST_UNREACHABLE;
        case EACCES:
        case EPERM:
            return SOCKS_REP_NOT_ALLOWED;
        default:
            return SOCKS_REP_GENERAL_FAILURE;
    }
}
