/*  handler_registry — the config's handlers as handler classes. */
#include "actors/handler_registry.h"

#include "handlers/http.h"
#include "handlers/relay.h"
#include "handlers/socks.h"

int
handler_conf_from_config (const config_handler_t *in, handler_conf_t *out)
{
    *out = (handler_conf_t) { .trace_name = config_handler_name (in->kind) };
    switch (in->kind) {
        case CONFIG_SOCKS:
            out->cls = &socks_handler_class;
            out->flags = SOCKS_ACCEPT_V4 | SOCKS_ACCEPT_V5;
            return 0;
        case CONFIG_SOCKS4:
            out->cls = &socks_handler_class;
            out->flags = SOCKS_ACCEPT_V4;
            return 0;
        case CONFIG_SOCKS5:
            out->cls = &socks_handler_class;
            out->flags = SOCKS_ACCEPT_V5;
            return 0;
        case CONFIG_HTTP:
            out->cls = &http_handler_class;
            return 0;
        case CONFIG_RELAY:
            out->cls = &relay_handler_class;
            out->relay_to = in->relay_to;
            return 0;
        case CONFIG_RELAY_WORMHOLE:
            break;
    }
    return -1;
}
