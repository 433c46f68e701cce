/*  socks_udp_codec — SOCKS5 UDP datagram headers and their stream framing. */
#include "handlers/socks_udp_codec.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "runtime/base/addr.h"

socks_udp_status_t
socks_udp_parse (const uint8_t *data, size_t len, socks_udp_target_t *target,
                 size_t *header_len)
{
    if (len < 4)
        return SOCKS_UDP_SHORT;
    //  RSV is not checked: clients in the field send garbage there.
    if (data[2] != 0)
        return SOCKS_UDP_FRAG;
    size_t pos = 4, alen;
    uint8_t atyp = data[3];
    if (atyp == 1)
        alen = 4;
    else
    if (atyp == 4)
        alen = 16;
    else
    if (atyp == 3) {
        if (len < 5)
            return SOCKS_UDP_SHORT;
        alen = data[4];
        pos = 5;
        if (alen == 0)
            return SOCKS_UDP_BAD_NAME;
    }
    else
        return SOCKS_UDP_BAD_ATYP;
    if (len < pos + alen + 2)
        return SOCKS_UDP_SHORT;
    const uint8_t *a = data + pos;
    target->port = (uint16_t) (data[pos + alen] << 8 | data[pos + alen + 1]);
    if (atyp == 3) {
        if (memchr (a, 0, alen))
            return SOCKS_UDP_BAD_NAME;
        memcpy (target->host, a, alen);
        target->host[alen] = 0;
        if (!addr_host_valid (target->host))
            return SOCKS_UDP_BAD_NAME;
        target->host_is_name = true;
        target->addr_len = 0;
    }
    else {
        inet_ntop (atyp == 1 ? AF_INET : AF_INET6, a, target->host, sizeof target->host);
        target->host_is_name = false;
        addr_from_literal (target->host, target->port, &target->addr, &target->addr_len);
    }
    *header_len = pos + alen + 2;
    return SOCKS_UDP_OK;
}

const char *
socks_udp_status_text (socks_udp_status_t status)
{
    switch (status) {
        case SOCKS_UDP_OK:       return "ok";
        case SOCKS_UDP_SHORT:    return "short header";
        case SOCKS_UDP_FRAG:     return "fragment (FRAG != 0)";
        case SOCKS_UDP_BAD_ATYP: return "address type not supported";
        case SOCKS_UDP_BAD_NAME: return "bad domain name";
    }
    return "?";
}

size_t
socks_udp_header_build (const struct sockaddr *from, uint8_t *out, size_t cap)
{
    const uint8_t *a;
    size_t alen;
    uint16_t port;
    if (from->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *) from;
        a = (const uint8_t *) &in->sin_addr;
        alen = 4;
        port = in->sin_port;
    }
    else
    if (from->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *) from;
        a = in6->sin6_addr.s6_addr;
        alen = 16;
        if (IN6_IS_ADDR_V4MAPPED (&in6->sin6_addr)) {
            a += 12;
            alen = 4;
        }
        port = in6->sin6_port;
    }
    else
        return 0;
    size_t len = 4 + alen + 2;
    if (cap < len)
        return 0;
    out[0] = out[1] = out[2] = 0;
    out[3] = alen == 4 ? 1 : 4;
    memcpy (out + 4, a, alen);
    memcpy (out + 4 + alen, &port, 2);      //  already in network order
    return len;
}

void
socks_udp_deframer_init (socks_udp_deframer_t *self, uint8_t *buf)
{
    memset (self, 0, sizeof *self);
    self->buf = buf;
}

int
socks_udp_deframer_feed (socks_udp_deframer_t *self, const uint8_t *data, size_t len,
                         socks_udp_frame_fn *fn, void *arg)
{
    while (len > 0 && !self->failed) {
        if (self->prefix_have < SOCKS_UDP_FRAME_PREFIX) {
            self->prefix[self->prefix_have++] = *data++;
            len--;
            if (self->prefix_have == SOCKS_UDP_FRAME_PREFIX) {
                self->need = (size_t) self->prefix[0] << 8 | self->prefix[1];
                self->have = 0;
                if (self->need == 0)
                    self->failed = true;
            }
            continue;
        }
        size_t take = self->need - self->have;
        if (take > len)
            take = len;
        if (self->have == 0 && take == self->need)
            fn (arg, data, take);           //  whole in the input: no copy
        else {
            memcpy (self->buf + self->have, data, take);
            if (self->have + take == self->need)
                fn (arg, self->buf, self->need);
        }
        self->have += take;
        data += take;
        len -= take;
        if (self->have == self->need)
            self->prefix_have = 0;
    }
    return self->failed ? -1 : 0;
}

void
socks_udp_frame_prefix (size_t len, uint8_t out[SOCKS_UDP_FRAME_PREFIX])
{
    out[0] = (uint8_t) (len >> 8);
    out[1] = (uint8_t) len;
}

//  An address as 16 bytes (IPv4 mapped) and its port; false for another family.
static bool
s_ip (const struct sockaddr *sa, uint8_t ip[16], uint16_t *port)
{
    memset (ip, 0, 16);
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *) sa;
        ip[10] = ip[11] = 0xFF;
        memcpy (ip + 12, &in->sin_addr, 4);
        *port = ntohs (in->sin_port);
        return true;
    }
    if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *) sa;
        memcpy (ip, in6->sin6_addr.s6_addr, 16);
        *port = ntohs (in6->sin6_port);
        return true;
    }
    return false;
}

bool
socks_udp_source_ok (const struct sockaddr *peer, const struct sockaddr *expect,
                     const struct sockaddr *from)
{
    uint8_t a[16], b[16], zero[16] = { 0 }, mapped_zero[16] = { [10] = 0xFF, [11] = 0xFF };
    uint16_t ap, bp;
    if (!s_ip (peer, a, &ap) || !s_ip (from, b, &bp) || memcmp (a, b, 16) != 0)
        return false;
    if (!expect || !s_ip (expect, a, &ap))
        return true;
    bool any_ip = memcmp (a, zero, 16) == 0 || memcmp (a, mapped_zero, 16) == 0;
    return (any_ip || memcmp (a, b, 16) == 0) && (ap == 0 || ap == bp);
}

void
socks_udp_unmap (struct sockaddr_storage *sa)
{
    const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *) sa;
    if (sa->ss_family != AF_INET6 || !IN6_IS_ADDR_V4MAPPED (&in6->sin6_addr))
        return;
    struct sockaddr_in in = { .sin_family = AF_INET, .sin_port = in6->sin6_port };
    memcpy (&in.sin_addr, in6->sin6_addr.s6_addr + 12, 4);
    memset (sa, 0, sizeof *sa);
    memcpy (sa, &in, sizeof in);
}
