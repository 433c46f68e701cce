/*  wormhole — which ends of each wormhole this process runs. */
#include "actors/wormhole.h"

#include <openssl/rand.h>

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actors/handler_registry.h"
#include "actors/tunnel_mux.h"
#include "actors/tunnel_wire.h"
#include "handlers/socks.h"

int
wormhole_role_parse (const char *name)
{
    if (strcmp (name, "local") == 0)
        return ROLE_LOCAL;
    if (strcmp (name, "remote") == 0)
        return ROLE_REMOTE;
    if (strcmp (name, "both") == 0)
        return ROLE_BOTH;
    return -1;
}

static bool
s_same_ip (const struct sockaddr *a, const struct sockaddr *b)
{
    if (a->sa_family != b->sa_family)
        return false;
    if (a->sa_family == AF_INET)
        return ((const struct sockaddr_in *) a)->sin_addr.s_addr
               == ((const struct sockaddr_in *) b)->sin_addr.s_addr;
    if (a->sa_family == AF_INET6)
        return memcmp (&((const struct sockaddr_in6 *) a)->sin6_addr,
                       &((const struct sockaddr_in6 *) b)->sin6_addr, sizeof (struct in6_addr)) == 0;
    return false;
}

bool
wormhole_address_is_own (const char *host)
{
    struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM };
    struct addrinfo *found = NULL;
    //  Run once at start-up, in main: a blocking lookup is fine here.
    if (getaddrinfo (host, NULL, &hints, &found) != 0)
        return false;
    struct ifaddrs *ifs = NULL;
    bool own = false;
    if (getifaddrs (&ifs) == 0) {
        for (struct addrinfo *a = found; a && !own; a = a->ai_next)
            for (struct ifaddrs *i = ifs; i && !own; i = i->ifa_next)
                own = i->ifa_addr && s_same_ip (a->ai_addr, i->ifa_addr);
        freeifaddrs (ifs);
    }
    freeaddrinfo (found);
    return own;
}

wormhole_t *
wormholes_new (const config_t *config, wormhole_role_t role, char *err, size_t errlen)
{
    wormhole_t *all = calloc (config->wormhole_count ? config->wormhole_count : 1, sizeof *all);
    if (!all) {
        snprintf (err, errlen, "out of memory");
        return NULL;
    }
    for (size_t i = 0; i < config->wormhole_count; i++) {
        const wormhole_conf_t *conf = &config->wormholes[i];
        wormhole_t *w = &all[i];
        w->conf = conf;
        config_handler_t far = conf->handler;
        if (far.kind == CONFIG_RELAY_WORMHOLE) {
            const wormhole_conf_t *next = config_wormhole (config, far.relay_wormhole);
            if (!next) {
                snprintf (err, errlen, "wormhole '%s': relay to unknown wormhole '%s'", conf->name,
                          far.relay_wormhole);
                wormholes_destroy (&all, i);
                return NULL;
            }
            //  The next hop's users connect to its server: so does this relay.
            far.kind = CONFIG_RELAY;
            far.relay_to = next->server;
        }
        //  Cannot fail: no relay by name is left.
        handler_conf_from_config (&far, &w->inner);
        w->inner.trace_name = conf->name;
        //  (far is a copy on the stack: the rules are the config's)
        w->inner.acl = &conf->handler.acl;
        w->inner.users = &conf->handler.users;
        if (w->inner.cls == &socks_handler_class)
            w->inner.flags |= SOCKS_BEHIND_WORMHOLE
                            | (tunnel_wire_v2 (conf) && conf->wire == CONFIG_WIRE_TLS ? SOCKS_JOIN_REPLIES : 0);
        w->accept = w->inner;
        w->handover = (handler_conf_t) { .cls = &handover_port_handler_class, .wormhole = w,
                                         .trace_name = conf->name };
        if (conf->mode == WORMHOLE_AGGREGATED) {
            w->accept = (handler_conf_t) { .cls = &tunnel_mux_handler_class, .wormhole = w,
                                           .trace_name = conf->name };
            w->dial = (handler_conf_t) { .cls = &tunnel_mux_handler_class, .wormhole = w,
                                         .flags = TUNNEL_MUX_DIAL, .trace_name = conf->name };
        }
        //  connect_timeout: every dial of the wormhole's sessions, the far end's
        //  (the tunnel) and the targets' (its remote end's handler).
        int connect_ms = conf->connect_timeout_s * 1000;
        w->inner.connect_timeout_ms = w->accept.connect_timeout_ms = connect_ms;
        w->handover.connect_timeout_ms = w->dial.connect_timeout_ms = connect_ms;
        switch (role) {
            case ROLE_LOCAL:
                w->run_local = true;
                break;
            case ROLE_REMOTE:
                w->run_remote = true;
                break;
            case ROLE_BOTH:
                w->run_local = w->run_remote = true;
                break;
            case ROLE_AUTO:
                //  listen: a wildcard is no one's own address: behind NAT the
                //  remote end needs --role remote, or a listen: with its own address.
                w->run_remote = wormhole_address_is_own (conf->wormhole_remote.host)
                             || (conf->has_listen && wormhole_address_is_own (conf->listen.host));
                //  Reverse: both addresses are the public machine's; any other
                //  machine that runs the config is the intranet end.
                w->run_local = conf->reverse ? !w->run_remote
                                             : wormhole_address_is_own (conf->server.host);
                break;
        }
        if (w->run_remote) {
            w->replay = replay_filter_new (WORMHOLE_REPLAY_SALTS, WORMHOLE_REPLAY_PERIOD_S);
            if (conf->protocol != PROTOCOL_V2)
                w->v1_seen = v1_seen_new (V1_SEEN_SLOTS_LOG2, V1_SEEN_GENERATIONS);
            if (!w->replay || (conf->protocol != PROTOCOL_V2 && !w->v1_seen)) {
                snprintf (err, errlen, "wormhole '%s': out of memory", conf->name);
                wormholes_destroy (&all, config->wormhole_count);
                return NULL;
            }
        }
    }
    return all;
}

void
wormholes_destroy (wormhole_t **all_p, size_t count)
{
    wormhole_t *all = *all_p;
    if (!all)
        return;
    for (size_t i = 0; i < count; i++) {
        replay_filter_destroy (&all[i].replay);
        v1_seen_destroy (&all[i].v1_seen);
    }
    free (all);
    *all_p = NULL;
}

int
wormhole_probe_delay_ms (const wormhole_conf_t *conf)
{
    uint32_t r = 0;
    if (RAND_bytes ((unsigned char *) &r, sizeof r) != 1)
        r = (uint32_t) random ();
    int64_t min = (int64_t) conf->probe_close_min_s * 1000;
    int64_t span = (int64_t) conf->probe_close_max_s * 1000 - min + 1;
    return (int) (min + (int64_t) (r % (uint64_t) (span > 0 ? span : 1)));
}
