/*  handler_registry — the config's handlers as handler classes. */
#include "actors/handler_registry.h"

#include <string.h>

#include "handlers/http.h"
#include "handlers/relay.h"
#include "handlers/socks.h"
#include "runtime/base/log.h"

void
handler_conf_warn_exposed (const hostport_t *listen, const config_handler_t *in)
{
    bool proxy = in->kind == CONFIG_SOCKS || in->kind == CONFIG_SOCKS4
              || in->kind == CONFIG_SOCKS5 || in->kind == CONFIG_HTTP;
    if (!proxy || in->users.count > 0 || acl_host_is_loopback (listen->host))
        return;
    log_warn ("%s proxy on %s%s%s:%u: listens on a non-loopback address without users: "
              "anyone who reaches it can use it (give users:, or listen on 127.0.0.1)",
              config_handler_name (in->kind), strchr (listen->host, ':') ? "[" : "",
              listen->host, strchr (listen->host, ':') ? "]" : "", listen->port);
}

int
handler_conf_from_config (const config_handler_t *in, handler_conf_t *out)
{
    //  (in must live as long as out: acl and users point into it)
    *out = (handler_conf_t) { .trace_name = config_handler_name (in->kind),
                              .acl = &in->acl, .users = &in->users };
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
