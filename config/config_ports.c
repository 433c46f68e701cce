/*  config_ports — no two listeners of a config on one port where they meet.

    A busy port is found only at bind time, and then the acceptor retries it
    for ever: so check-config looks for them first. The listeners are the
    proxies' listen, each wormhole's server (where its users connect), and
    its remote end's main port (listen:, or wormhole_remote) with the extra
    ports on that host. Two of them clash when the port is the same and the
    host is the same address, or when one is a wildcard (0.0.0.0, ::) and
    both are on the same machine: the same side of wormholes (the local
    ends, or the remote ends; a reverse wormhole's server is on its public,
    remote end). A proxy may run on either machine, so it clashes only with
    the same address. The clashes within one wormhole's extra ports are
    config_fields.c's.
*/
#include "config/config_priv.h"

#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

typedef enum { SIDE_EITHER, SIDE_LOCAL, SIDE_REMOTE } side_t;
typedef enum { AT_PROXY, AT_SERVER, AT_REMOTE, AT_EXTRA } what_t;

typedef struct {
    const char *host;
    uint16_t port;
    side_t side;
    what_t what;
    size_t owner;               //  proxy or wormhole index
    size_t item;                //  AT_EXTRA: index in extra_ports
    const node_t *node;         //  for the message's place (NULL: none found)
    int line, column;
} listener_t;

//  ---------------------------------------------------------------------
//  Hosts

static bool
s_literal (const char *host, struct sockaddr_storage *sa)
{
    socklen_t len;
    return addr_from_literal (host, 1, sa, &len);
}

static bool
s_wildcard (const char *host)
{
    struct sockaddr_storage sa;
    if (!s_literal (host, &sa))
        return false;
    if (sa.ss_family == AF_INET)
        return ((struct sockaddr_in *) &sa)->sin_addr.s_addr == htonl (INADDR_ANY);
    return memcmp (&((struct sockaddr_in6 *) &sa)->sin6_addr, &in6addr_any, sizeof in6addr_any) == 0;
}

//  The same address: as literals (::1 is 0:0::1), or as names.
static bool
s_same_host (const char *a, const char *b)
{
    struct sockaddr_storage x, y;
    if (s_literal (a, &x) && s_literal (b, &y)) {
        if (x.ss_family != y.ss_family)
            return false;
        if (x.ss_family == AF_INET)
            return ((struct sockaddr_in *) &x)->sin_addr.s_addr
                == ((struct sockaddr_in *) &y)->sin_addr.s_addr;
        return memcmp (&((struct sockaddr_in6 *) &x)->sin6_addr,
                       &((struct sockaddr_in6 *) &y)->sin6_addr, sizeof (struct in6_addr)) == 0;
    }
    return strcasecmp (a, b) == 0;
}

static bool
s_clash (const config_t *self, const listener_t *a, const listener_t *b)
{
    if (a->port != b->port)
        return false;
    if (a->what != AT_PROXY && b->what != AT_PROXY && a->owner == b->owner) {
        //  One wormhole's remote ports among themselves: config_fields.c
        //  checks them against wormhole_remote's port, so only a listen:
        //  on another port is left.
        bool remote_a = a->what != AT_SERVER, remote_b = b->what != AT_SERVER;
        if (remote_a && remote_b) {
            const wormhole_conf_t *wh = &self->wormholes [a->owner];
            bool listen_moved = wh->has_listen && wh->listen.port != wh->wormhole_remote.port;
            if (a->what == AT_EXTRA && b->what == AT_EXTRA)
                return false;
            if (!listen_moved)
                return false;
        }
    }
    if (s_same_host (a->host, b->host))
        return true;
    return (s_wildcard (a->host) || s_wildcard (b->host))
        && a->side != SIDE_EITHER && a->side == b->side;
}

//  ---------------------------------------------------------------------
//  The list of listeners

static void
s_place (listener_t *l, const node_t *node, const node_t *fallback)
{
    l->node = node ? node : fallback;
    l->line = l->node ? l->node->line : 0;
    l->column = l->node ? l->node->column : 0;
}

static int
s_compare (const void *x, const void *y)
{
    const listener_t *a = x, *b = y;
    if (a->port != b->port)
        return a->port < b->port ? -1 : 1;
    if (a->line != b->line)
        return a->line < b->line ? -1 : 1;
    return a->column < b->column ? -1 : a->column > b->column;
}

//  "proxies[0].listen", "wormholes[1].extra_ports[2]", ... for l.
static const char *
s_field (char *buf, size_t size, const config_t *self, const node_t *wormholes,
         const listener_t *l)
{
    char path [FIELD_MAX];
    if (l->what == AT_PROXY) {
        config_field_item (path, sizeof path, "proxies", l->owner);
        return config_field (buf, size, path, "listen");
    }
    if (wormholes)
        config_entry_path (path, sizeof path, wormholes, l->owner);
    else
        config_field_item (path, sizeof path, "wormholes", l->owner);
    if (l->what == AT_SERVER)
        return config_field (buf, size, path, "server");
    if (l->what == AT_REMOTE)
        return config_field (buf, size, path,
                             self->wormholes [l->owner].has_listen ? "listen" : "wormhole_remote");
    char extra [FIELD_MAX];
    config_field (extra, sizeof extra, path, "extra_ports");
    return config_field_item (buf, size, extra, l->item);
}

static const char *
s_why (const listener_t *first, const listener_t *l)
{
    if (first->what == AT_PROXY || l->what == AT_PROXY)
        return "";
    if (first->owner == l->owner)
        return first->what == AT_SERVER || l->what == AT_SERVER
             ? ": a wormhole's server and its remote end cannot listen on one address" : "";
    if (first->what == AT_SERVER && l->what == AT_SERVER)
        return ": two wormholes cannot share the port where users connect";
    if (first->what == AT_REMOTE && l->what == AT_REMOTE)
        return ": two wormholes cannot share a remote port";
    if (first->what != AT_SERVER && l->what != AT_SERVER)
        return ": a remote port cannot be another wormhole's handover port";
    return "";
}

static size_t
s_collect (const config_t *self, const node_t *proxies, const node_t *wormholes, listener_t *all)
{
    size_t n = 0;
    for (size_t i = 0; i < self->proxy_count; i++) {
        const proxy_conf_t *p = &self->proxies [i];
        listener_t *l = &all [n];
        *l = (listener_t) { p->listen.host, p->listen.port, SIDE_EITHER, AT_PROXY, i, 0, NULL, 0, 0 };
        const node_t *entry = proxies && i < proxies->count ? proxies->items [i] : NULL;
        s_place (l, entry && entry->type == NODE_MAPPING ? config_find (entry, "listen") : NULL, entry);
        n += l->port != 0;
    }
    for (size_t i = 0; i < self->wormhole_count; i++) {
        const wormhole_conf_t *wh = &self->wormholes [i];
        const node_t *entry = wormholes ? config_entry (wormholes, i) : NULL;
        bool mapping = entry && entry->type == NODE_MAPPING;
        const hostport_t *bind = wh->has_listen ? &wh->listen : &wh->wormhole_remote;
        listener_t *l = &all [n];
        *l = (listener_t) { wh->server.host, wh->server.port,
                            wh->reverse ? SIDE_REMOTE : SIDE_LOCAL, AT_SERVER, i, 0, NULL, 0, 0 };
        s_place (l, mapping ? config_find (entry, "server") : NULL, entry);
        n += l->port != 0;
        l = &all [n];
        *l = (listener_t) { bind->host, bind->port, SIDE_REMOTE, AT_REMOTE, i, 0, NULL, 0, 0 };
        s_place (l, mapping ? config_find (entry, wh->has_listen ? "listen" : "wormhole_remote")
                            : NULL, entry);
        n += l->port != 0;
        const node_t *ports = mapping ? config_find (entry, "extra_ports") : NULL;
        for (size_t p = 0; p < wh->extra_port_count; p++) {
            l = &all [n];
            *l = (listener_t) { bind->host, wh->extra_ports [p], SIDE_REMOTE, AT_EXTRA, i, p,
                                NULL, 0, 0 };
            s_place (l, ports && ports->type == NODE_SEQUENCE && p < ports->count
                        ? ports->items [p] : NULL, entry);
            n += l->port != 0 && bind->port != 0;
        }
    }
    return n;
}

//  ---------------------------------------------------------------------

int
config_check_ports (ctx_t *ctx, const config_t *self, const node_t *proxies,
                    const node_t *wormholes)
{
    size_t total = self->proxy_count;
    for (size_t i = 0; i < self->wormhole_count; i++)
        total += 2 + self->wormholes [i].extra_port_count;
    if (total < 2)
        return 0;
    listener_t *all = calloc (total, sizeof *all);
    if (!all)
        return config_fail_at (ctx, 1, 1, "config", "out of memory");
    size_t n = s_collect (self, proxies, wormholes, all);
    //  By port, then in the order of the file: each clash is told once, at
    //  the later of the two, naming the first it meets.
    qsort (all, n, sizeof *all, s_compare);
    int rc = 0;
    char field [FIELD_MAX], other [FIELD_MAX];
    for (size_t start = 0, end; start < n; start = end) {
        for (end = start + 1; end < n && all [end].port == all [start].port; end++)
            ;
        for (size_t j = start + 1; j < end; j++)
            for (size_t i = start; i < j; i++) {
                if (!s_clash (self, &all [i], &all [j]))
                    continue;
                const listener_t *l = &all [j];
                const char *v6 = strchr (l->host, ':') ? "[" : "";
                rc = config_fail_at (ctx, l->line ? l->line : 1, l->column ? l->column : 1,
                                     s_field (field, sizeof field, self, wormholes, l),
                                     "%s%.80s%s:%u is also %s (line %d)%s", v6, l->host,
                                     *v6 ? "]" : "", (unsigned) l->port,
                                     s_field (other, sizeof other, self, wormholes, &all [i]),
                                     all [i].line, s_why (&all [i], l));
                break;
            }
    }
    free (all);
    return rc;
}
