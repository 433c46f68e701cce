/*  handler_registry — which handler class serves a `handler:` of the config
    (socks, socks4, socks5, http, relay) and with which settings.

    The one place that knows both the config's words and the handler
    classes, so that config/ knows no class and the runtime no config word.
    The classes of a wormhole's own ends (tunnel_local, tunnel_remote,
    tunnel_mux, handover_port) are not chosen here: actors/wormhole.c and
    actors/deployment.c name them where they build their confs.
*/
#ifndef MK_HANDLER_REGISTRY_H
#define MK_HANDLER_REGISTRY_H

#include "config/config.h"
#include "runtime/handler.h"

//  Fills out, with trace_name the handler's word (as "socks4"); its acl and
//  users point into in, which must live as long as out. Returns -1
//  for a relay to another wormhole by name: only the wormholes know its
//  address, and actors/wormhole.c turns it into a relay to that first.
int handler_conf_from_config (const config_handler_t *in, handler_conf_t *out);

//  A warning when a standalone socks or http proxy listens where other hosts
//  reach it (not a loopback address) and asks for no credentials.
void handler_conf_warn_exposed (const hostport_t *listen, const config_handler_t *in);

#endif
