/*  handler — the registry of handler classes by kind and name. */
#include "runtime/handler.h"

#include <string.h>

extern const handler_class_t socks_handler_class;
extern const handler_class_t http_handler_class;
extern const handler_class_t relay_handler_class;
extern const handler_class_t tunnel_local_handler_class;
extern const handler_class_t tunnel_remote_handler_class;
extern const handler_class_t tunnel_mux_handler_class;
extern const handler_class_t handover_port_handler_class;

static const char *s_names[] = {
    [HANDLER_SOCKS] = "socks",   [HANDLER_SOCKS4] = "socks4", [HANDLER_SOCKS5] = "socks5",
    [HANDLER_HTTP] = "http",     [HANDLER_RELAY] = "relay",   [HANDLER_RELAY_WORMHOLE] = "relay",
    [HANDLER_TUNNEL_LOCAL] = "wormhole local end", [HANDLER_TUNNEL_REMOTE] = "wormhole remote end",
    [HANDLER_TUNNEL_MUX] = "aggregated tunnel", [HANDLER_HANDOVER] = "handover port",
};

const handler_class_t *
handler_class (handler_kind_t kind)
{
    switch (kind) {
        case HANDLER_SOCKS:
        case HANDLER_SOCKS4:
        case HANDLER_SOCKS5:
            return &socks_handler_class;
        case HANDLER_HTTP:
            return &http_handler_class;
        case HANDLER_RELAY:
        case HANDLER_RELAY_WORMHOLE:
            return &relay_handler_class;
        case HANDLER_TUNNEL_LOCAL:
            return &tunnel_local_handler_class;
        case HANDLER_TUNNEL_REMOTE:
            return &tunnel_remote_handler_class;
        case HANDLER_TUNNEL_MUX:
            return &tunnel_mux_handler_class;
        case HANDLER_HANDOVER:
            return &handover_port_handler_class;
    }
    return NULL;
}

int
handler_kind_parse (const char *name)
{
    for (int kind = HANDLER_SOCKS; kind <= HANDLER_RELAY; kind++)
        if (strcmp (name, s_names[kind]) == 0)
            return kind;
    return -1;
}

const char *
handler_kind_name (handler_kind_t kind)
{
    return (unsigned) kind <= HANDLER_HANDOVER ? s_names[kind] : "?";
}
