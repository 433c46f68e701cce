/*  session_udp — a session's datagram sockets (a SOCKS5 UDP association):
    one toward the user and one toward the targets, non-blocking in the
    worker's epoll like the session's TCP sockets, and the one name lookup
    a handler may have in flight for its datagrams.

    The datagrams on the socket toward the user are a user's bytes in the
    metrics (runtime/metrics.h), each way, where the session is the users'.

    Datagram semantics throughout: a datagram the socket cannot take now is
    dropped, never queued; a readable socket is drained at most
    S_READ_BURST datagrams per event so that one busy association cannot
    starve the worker's other connections (epoll is level-triggered here).
*/
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "runtime/session_priv.h"
#include "runtime/worker.h"

#define S_READ_BURST 64
#define S_DATAGRAM_MAX 65536

typedef struct session_udp_t {
    conn_t ports[SESSION_UDP_PORTS];    //  kind EP_UDP; fd -1 while not open
    int family[SESSION_UDP_PORTS];
    uint64_t resolve_token;             //  0: no lookup in flight
} session_udp_t;

static session_udp_t *
s_udp (session_t *self)
{
    if (!self->udp) {
        self->udp = calloc (1, sizeof *self->udp);
        if (!self->udp)
            return NULL;
        for (int i = 0; i < SESSION_UDP_PORTS; i++) {
            session_conn_init (&self->udp->ports[i], self, -1);
            self->udp->ports[i].kind = EP_UDP;
        }
    }
    return self->udp;
}

int
session_udp_open (session_t *self, int port, const struct sockaddr *local,
                  struct sockaddr_storage *bound)
{
    session_udp_t *udp = s_udp (self);
    if (!udp || port < 0 || port >= SESSION_UDP_PORTS || udp->ports[port].fd >= 0)
        return EINVAL;
    socklen_t len = local->sa_family == AF_INET6 ? sizeof (struct sockaddr_in6)
                                                 : sizeof (struct sockaddr_in);
    int fd = socket (local->sa_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return errno;
    int off = 0;
    if (local->sa_family == AF_INET6)
        setsockopt (fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof off);
    socklen_t bound_len = sizeof *bound;
    if (bind (fd, local, len) != 0
    ||  getsockname (fd, (struct sockaddr *) bound, &bound_len) != 0) {
        int err = errno;
        close (fd);
        return err;
    }
    conn_t *conn = &udp->ports[port];
    conn->fd = fd;
    self->udp_user = self->udp_user || port == SESSION_UDP_USER;
    udp->family[port] = local->sa_family;
    worker_conn_update (self->worker, conn, EPOLLIN);
    return 0;
}

//  An IPv4 address as the IPv4-mapped IPv6 one, or back.
static socklen_t
s_as_family (const struct sockaddr *sa, int family, struct sockaddr_storage *out)
{
    if (sa->sa_family == family) {
        socklen_t len = family == AF_INET6 ? sizeof (struct sockaddr_in6)
                                           : sizeof (struct sockaddr_in);
        memcpy (out, sa, len);
        return len;
    }
    memset (out, 0, sizeof *out);
    if (sa->sa_family == AF_INET && family == AF_INET6) {
        const struct sockaddr_in *in = (const struct sockaddr_in *) sa;
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *) out;
        in6->sin6_family = AF_INET6;
        in6->sin6_port = in->sin_port;
        in6->sin6_addr.s6_addr[10] = in6->sin6_addr.s6_addr[11] = 0xFF;
        memcpy (in6->sin6_addr.s6_addr + 12, &in->sin_addr, 4);
        return sizeof *in6;
    }
    if (sa->sa_family == AF_INET6 && family == AF_INET) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *) sa;
        if (!IN6_IS_ADDR_V4MAPPED (&in6->sin6_addr))
            return 0;
        struct sockaddr_in *in = (struct sockaddr_in *) out;
        in->sin_family = AF_INET;
        in->sin_port = in6->sin6_port;
        memcpy (&in->sin_addr, in6->sin6_addr.s6_addr + 12, 4);
        return sizeof *in;
    }
    return 0;
}

bool
session_udp_send (session_t *self, int port, const struct sockaddr *to,
                  const void *data, size_t len)
{
    session_udp_t *udp = self->udp;
    if (!udp || port < 0 || port >= SESSION_UDP_PORTS || udp->ports[port].fd < 0
    ||  session_dead (self))
        return false;
    struct sockaddr_storage dest;
    socklen_t dest_len = s_as_family (to, udp->family[port], &dest);
    if (dest_len == 0)
        return false;
    if (sendto (udp->ports[port].fd, data, len, MSG_DONTWAIT,
                (struct sockaddr *) &dest, dest_len) != (ssize_t) len)
        return false;
    if (port == SESSION_UDP_USER && self->user_facing)
        metrics_add (self->metrics, METRIC_BYTES_DOWN, len);
    return true;
}

void
session_udp_on_io (conn_t *conn)
{
    session_t *self = conn->session;
    session_udp_t *udp = self->udp;
    int port = (int) (conn - udp->ports);
    static _Thread_local uint8_t buf[S_DATAGRAM_MAX];
    for (int i = 0; i < S_READ_BURST && !session_dead (self); i++) {
        struct sockaddr_storage from;
        socklen_t from_len = sizeof from;
        ssize_t n = recvfrom (conn->fd, buf, sizeof buf, MSG_DONTWAIT,
                              (struct sockaddr *) &from, &from_len);
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                break;
            continue;           //  an ICMP error of an earlier send: not ours to end on
        }
        //  A user's datagram, SOCKS header and all, as a TCP user's bytes are
        //  counted with their SOCKS handshake (one from a stranger, which the
        //  handler drops, is counted too: it came to the user's socket).
        if (port == SESSION_UDP_USER && self->user_facing)
            metrics_add (self->metrics, METRIC_BYTES_UP, (size_t) n);
        struct sockaddr_storage plain;
        if (from.ss_family != AF_INET6 || s_as_family ((struct sockaddr *) &from, AF_INET, &plain) == 0)
            plain = from;
        if (self->cls->udp_datagram)
            self->cls->udp_datagram (self->handler, port, (struct sockaddr *) &plain,
                                     buf, (size_t) n);
    }
}

int
session_udp_resolve (session_t *self, const char *host, uint16_t port)
{
    session_udp_t *udp = s_udp (self);
    if (!udp || session_dead (self))
        return -1;
    udp->resolve_token = worker_resolve (self->worker, self, host, port);
    return udp->resolve_token ? 0 : -1;
}

bool
session_udp_awaits (session_t *self, uint64_t token)
{
    return self->udp && self->udp->resolve_token == token && token != 0;
}

bool
session_udp_resolved (session_t *self, uint64_t token, int status,
                      const struct sockaddr_storage *addrs, const socklen_t *lens, size_t count)
{
    if (!session_udp_awaits (self, token))
        return false;
    self->udp->resolve_token = 0;
    if (self->cls->udp_resolved)
        self->cls->udp_resolved (self->handler, status, addrs, lens, count);
    return true;
}

void
session_udp_free (session_t *self)
{
    if (!self->udp)
        return;
    for (int i = 0; i < SESSION_UDP_PORTS; i++) {
        conn_t *conn = &self->udp->ports[i];
        if (conn->fd >= 0) {
            worker_conn_forget (self->worker, conn);
            close (conn->fd);
        }
    }
    free (self->udp);
    self->udp = NULL;
}

int
session_client_address (session_t *self, bool local, struct sockaddr_storage *out)
{
    if (self->client.fd < 0)
        return -1;
    socklen_t len = sizeof *out;
    int rc = local ? getsockname (self->client.fd, (struct sockaddr *) out, &len)
                   : getpeername (self->client.fd, (struct sockaddr *) out, &len);
    return rc == 0 ? 0 : -1;
}

size_t
session_queued_bytes (session_t *self, bool toward_client)
{
    return session_queued (self, toward_client ? SESSION_CLIENT : SESSION_TARGET);
}

int
session_idle_limit_ms (session_t *self)
{
    return worker_idle_timeout_ms (self->worker);
}
