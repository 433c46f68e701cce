/*  socks_udp — a SOCKS5 UDP association's relay to the targets (socks_udp.h). */
#include "handlers/socks_udp.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "handlers/socks_udp_codec.h"
#include "runtime/base/addr.h"
#include "runtime/base/log.h"

//  Datagrams that wait for a name, and the bytes they may hold together.
#define S_PENDING_MAX 8
#define S_PENDING_BYTES 65536
//  Names kept, and for how long.
#define S_CACHE_MAX 8
#define S_CACHE_MS 60000
//  Without a worker idle limit, an association without datagrams ends after this.
#define S_IDLE_DEFAULT_MS 300000
//  Over a stream: datagrams toward the tunnel are dropped past this queue.
#define S_STREAM_QUEUE_MAX (256 * 1024)

typedef struct {
    char host[256];
    uint16_t port;
    uint8_t *data;              //  the payload (after the header)
    size_t len;
} s_pending_t;

typedef struct {
    char host[256];
    bool allowed;               //  false: every address was denied (why says which)
    struct sockaddr_storage addr;
    char why[448];
    uint64_t until_ms;
} s_cached_t;

struct socks_udp_t {
    session_t *session;
    const acl_t *acl;
    bool over_stream;
    struct sockaddr_storage peer;       //  direct: the control connection's peer
    struct sockaddr_storage expect;     //  direct: the request's DST (0: any)
    struct sockaddr_storage client;     //  direct: where the client's datagrams come from
    bool client_known;
    s_pending_t pending[S_PENDING_MAX];
    size_t pending_count, pending_bytes;
    bool resolving;                     //  a lookup for pending[0].host is in flight
    s_cached_t cache[S_CACHE_MAX];
    size_t cache_next;
    uint64_t active_ms;
    int idle_ms;
    socks_udp_deframer_t deframer;
    uint8_t frame_buf[SOCKS_UDP_FRAME_MAX];
};

static atomic_ulong s_denied;
static atomic_ulong s_dropped;

unsigned long socks_udp_denied_total (void) { return atomic_load (&s_denied); }
unsigned long socks_udp_dropped_total (void) { return atomic_load (&s_dropped); }

static uint64_t
s_now_ms (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (uint64_t) ts.tv_sec * 1000 + (uint64_t) ts.tv_nsec / 1000000;
}

static void
s_drop (socks_udp_t *self, const char *why)
{
    atomic_fetch_add (&s_dropped, 1);
    log_info_limited ("socks5 udp %s: datagram dropped: %s", session_peer (self->session), why);
}

static void
s_deny (socks_udp_t *self, const char *why)
{
    atomic_fetch_add (&s_denied, 1);
    log_info_limited ("socks5 udp %s: %s", session_peer (self->session), why);
}

//  Toward a target whose address is known, if the rules allow it.
static void
s_send_target (socks_udp_t *self, struct sockaddr_storage *to, uint16_t port,
               const uint8_t *data, size_t len)
{
    if (to->ss_family == AF_INET)
        ((struct sockaddr_in *) to)->sin_port = htons (port);
    else
        ((struct sockaddr_in6 *) to)->sin6_port = htons (port);
    char why[96];
    if (!acl_check (self->acl, (struct sockaddr *) to, why, sizeof why)) {
        char at[64], line[180];
        snprintf (line, sizeof line, "%s denied: %s",
                  log_dest (addr_format ((struct sockaddr *) to, at, sizeof at)), why);
        s_deny (self, line);
        return;
    }
    if (!session_udp_send (self->session, SESSION_UDP_TARGETS, (struct sockaddr *) to, data, len))
        s_drop (self, "the target socket did not take it");
}

static s_cached_t *
s_cached (socks_udp_t *self, const char *host)
{
    uint64_t now = s_now_ms ();
    for (size_t i = 0; i < S_CACHE_MAX; i++)
        if (self->cache[i].until_ms > now && strcmp (self->cache[i].host, host) == 0)
            return &self->cache[i];
    return NULL;
}

static void
s_send_cached (socks_udp_t *self, const s_cached_t *entry, uint16_t port,
               const uint8_t *data, size_t len)
{
    if (!entry->allowed) {
        s_deny (self, entry->why);
        return;
    }
    struct sockaddr_storage to = entry->addr;
    s_send_target (self, &to, port, data, len);
}

static void
s_resolve_next (socks_udp_t *self)
{
    while (self->pending_count > 0 && !self->resolving) {
        if (session_udp_resolve (self->session, self->pending[0].host, 0) == 0) {
            self->resolving = true;
            return;
        }
        //  the resolver cannot take it now: this name's datagrams are lost
        socks_udp_resolved (self, -1, NULL, NULL, 0);
    }
}

//  A datagram for a target by name: known, or waiting for its lookup.
static void
s_send_named (socks_udp_t *self, const char *host, uint16_t port, const uint8_t *data, size_t len)
{
    const s_cached_t *entry = s_cached (self, host);
    if (entry) {
        s_send_cached (self, entry, port, data, len);
        return;
    }
    if (self->pending_count == S_PENDING_MAX || self->pending_bytes + len > S_PENDING_BYTES) {
        s_drop (self, "too many datagrams wait for names");
        return;
    }
    s_pending_t *p = &self->pending[self->pending_count];
    p->data = malloc (len ? len : 1);
    if (!p->data) {
        s_drop (self, "out of memory");
        return;
    }
    memcpy (p->data, data, len);
    p->len = len;
    p->port = port;
    snprintf (p->host, sizeof p->host, "%s", host);
    self->pending_count++;
    self->pending_bytes += len;
    s_resolve_next (self);
}

void
socks_udp_resolved (socks_udp_t *self, int status, const struct sockaddr_storage *addrs,
                    const socklen_t *lens, size_t count)
{
    (void) lens;
    self->resolving = false;
    if (self->pending_count == 0)
        return;
    char host[256];
    memcpy (host, self->pending[0].host, sizeof host);
    s_cached_t *entry = &self->cache[self->cache_next];
    self->cache_next = (self->cache_next + 1) % S_CACHE_MAX;
    memset (entry, 0, sizeof *entry);
    memcpy (entry->host, host, sizeof host);
    snprintf (entry->why, sizeof entry->why, "%s did not resolve", log_dest (host));
    for (size_t i = 0; status == 0 && i < count && !entry->allowed; i++) {
        char why[96];
        if (acl_check (self->acl, (const struct sockaddr *) &addrs[i], why, sizeof why)) {
            entry->addr = addrs[i];
            entry->allowed = true;
        }
        else
        if (i == 0) {
            char at[64];
            snprintf (entry->why, sizeof entry->why, "%s (%s) denied: %s", log_dest (host),
                      log_dest (addr_format ((const struct sockaddr *) &addrs[i], at, sizeof at)), why);
        }
    }
    //  a failed lookup is not kept: the next datagram asks again
    entry->until_ms = status == 0 ? s_now_ms () + S_CACHE_MS : 0;
    size_t kept = 0;
    for (size_t i = 0; i < self->pending_count; i++) {
        s_pending_t *p = &self->pending[i];
        if (strcmp (p->host, entry->host) == 0) {
            if (status == 0)
                s_send_cached (self, entry, p->port, p->data, p->len);
            else
                s_drop (self, entry->why);
            self->pending_bytes -= p->len;
            free (p->data);
        }
        else
            self->pending[kept++] = *p;
    }
    self->pending_count = kept;
    s_resolve_next (self);
}

//  One datagram from the client, header and all.
static void
s_from_client (socks_udp_t *self, const uint8_t *data, size_t len)
{
    socks_udp_target_t target;
    size_t header;
    socks_udp_status_t status = socks_udp_parse (data, len, &target, &header);
    if (status != SOCKS_UDP_OK) {
        s_drop (self, socks_udp_status_text (status));
        return;
    }
    self->active_ms = s_now_ms ();
    if (target.host_is_name)
        s_send_named (self, target.host, target.port, data + header, len - header);
    else
        s_send_target (self, &target.addr, target.port, data + header, len - header);
}

//  One datagram from a target, toward the client.
static void
s_from_target (socks_udp_t *self, const struct sockaddr *from, const uint8_t *data, size_t len)
{
    static _Thread_local uint8_t out[SOCKS_UDP_FRAME_PREFIX + SOCKS_UDP_REPLY_HEADER_MAX
                                     + SOCKS_UDP_FRAME_MAX];
    uint8_t *header = out + SOCKS_UDP_FRAME_PREFIX;
    size_t hlen = socks_udp_header_build (from, header, SOCKS_UDP_REPLY_HEADER_MAX);
    if (hlen == 0 || hlen + len > SOCKS_UDP_FRAME_MAX) {
        s_drop (self, "too long for a SOCKS datagram");
        return;
    }
    memcpy (header + hlen, data, len);
    self->active_ms = s_now_ms ();
    if (self->over_stream) {
        if (session_queued_bytes (self->session, true) > S_STREAM_QUEUE_MAX) {
            s_drop (self, "the tunnel is full");
            return;
        }
        socks_udp_frame_prefix (hlen + len, out);
        session_send_client (self->session, out, SOCKS_UDP_FRAME_PREFIX + hlen + len);
    }
    else
    if (!self->client_known)
        s_drop (self, "the client has not sent a datagram yet");
    else
    if (!session_udp_send (self->session, SESSION_UDP_USER, (struct sockaddr *) &self->client,
                           header, hlen + len))
        s_drop (self, "the client's socket did not take it");
}

void
socks_udp_datagram (socks_udp_t *self, int port, const struct sockaddr *from,
                    const uint8_t *data, size_t len)
{
    if (port == SESSION_UDP_TARGETS) {
        s_from_target (self, from, data, len);
        return;
    }
    //  the user's socket: only the client may use it (RFC 1928 section 7)
    if (!socks_udp_source_ok ((struct sockaddr *) &self->peer, (struct sockaddr *) &self->expect,
                              from)) {
        s_drop (self, "not from the client");
        return;
    }
    memcpy (&self->client, from, from->sa_family == AF_INET6 ? sizeof (struct sockaddr_in6)
                                                           : sizeof (struct sockaddr_in));
    self->client_known = true;
    s_from_client (self, data, len);
}

static void
s_on_frame (void *arg, const uint8_t *frame, size_t len)
{
    s_from_client ((socks_udp_t *) arg, frame, len);
}

int
socks_udp_client_data (socks_udp_t *self, const uint8_t *data, size_t len)
{
    if (!self->over_stream)
        return 0;
    return socks_udp_deframer_feed (&self->deframer, data, len, s_on_frame, self);
}

static void
s_arm (socks_udp_t *self)
{
    uint64_t idle = s_now_ms () - self->active_ms;
    session_set_timer (self->session, idle >= (uint64_t) self->idle_ms
                                      ? 1 : self->idle_ms - (int) idle);
}

bool
socks_udp_idle (socks_udp_t *self)
{
    if (s_now_ms () - self->active_ms >= (uint64_t) self->idle_ms)
        return true;
    s_arm (self);
    return false;
}

//  The targets' socket: dual-stack where the host has IPv6.
static int
s_open_targets (socks_udp_t *self)
{
    struct sockaddr_storage bound;
    struct sockaddr_in6 any6 = { .sin6_family = AF_INET6, .sin6_addr = IN6ADDR_ANY_INIT };
    if (session_udp_open (self->session, SESSION_UDP_TARGETS, (struct sockaddr *) &any6, &bound) == 0)
        return 0;
    struct sockaddr_in any4 = { .sin_family = AF_INET, .sin_addr.s_addr = htonl (INADDR_ANY) };
    return session_udp_open (self->session, SESSION_UDP_TARGETS, (struct sockaddr *) &any4, &bound);
}

//  Direct: the user's socket on the control connection's own address.
static int
s_open_user (socks_udp_t *self, const socks_request_t *request, struct sockaddr_storage *bound)
{
    struct sockaddr_storage local;
    if (session_client_address (self->session, true, &local) != 0
    ||  session_client_address (self->session, false, &self->peer) != 0)
        return -1;
    //  a dual-stack listener's IPv4 client gets an IPv4 socket and reply
    socks_udp_unmap (&local);
    socks_udp_unmap (&self->peer);
    addr_set_port (&local, 0);
    socklen_t len;
    if (request->host_is_name
    ||  !addr_from_literal (request->host, request->port, &self->expect, &len))
        memset (&self->expect, 0, sizeof self->expect);     //  a name: no restriction we can check
    return session_udp_open (self->session, SESSION_UDP_USER, (struct sockaddr *) &local, bound);
}

socks_udp_t *
socks_udp_new (session_t *session, const acl_t *acl, const socks_request_t *request,
               struct sockaddr_storage *bound, int *rep)
{
    *rep = SOCKS_REP_GENERAL_FAILURE;
    socks_udp_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->session = session;
    self->acl = acl;
    self->over_stream = request->command == SOCKS_CMD_UDP_STREAM;
    socks_udp_deframer_init (&self->deframer, self->frame_buf);
    memset (bound, 0, sizeof *bound);
    bound->ss_family = AF_INET;
    if (s_open_targets (self) != 0
    ||  (!self->over_stream && s_open_user (self, request, bound) != 0)) {
        log_warn_limited ("socks5 udp %s: cannot open the association's sockets",
                          session_peer (session));
        free (self);
        return NULL;
    }
    int limit = session_idle_limit_ms (session);
    self->idle_ms = limit > 0 ? limit : S_IDLE_DEFAULT_MS;
    self->active_ms = s_now_ms ();
    s_arm (self);
    *rep = SOCKS_REP_SUCCEEDED;
    return self;
}

void
socks_udp_destroy (socks_udp_t **self_p)
{
    socks_udp_t *self = *self_p;
    if (!self)
        return;
    for (size_t i = 0; i < self->pending_count; i++)
        free (self->pending[i].data);
    free (self);
    *self_p = NULL;
}
