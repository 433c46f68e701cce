/*  config_stealth — a wormhole's stealth settings: wire: (tls or raw),
    sni: (the ClientHello's server name), early_data: (0-RTT instead of
    TLS's wait for the server), fallback: (host:port that connections
    failing authentication are spliced to). All need protocol: v2.
*/
#include "config/config_priv.h"

#include <string.h>

const char *const config_wire_names [] = { "tls", "raw", NULL };

//  A host name as a ClientHello carries it: letters, digits, '-', '.'.
static bool
s_valid_sni (const char *name)
{
    for (const char *p = name; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9')
        ||    *p == '-' || *p == '.'))
            return false;
    return true;
}

static int
s_need_v2 (ctx_t *ctx, const node_t *node, const char *field, const wormhole_conf_t *wh)
{
    return wh->protocol == PROTOCOL_V2
         ? 0 : config_fail (ctx, node, field, "needs protocol: v2");
}

int
config_parse_stealth (ctx_t *ctx, const node_t *map, const char *path, wormhole_conf_t *wh)
{
    char field [FIELD_MAX];
    const node_t *node;
    int choice;
    if ((node = config_find (map, "wire"))) {
        config_field (field, sizeof field, path, "wire");
        if (s_need_v2 (ctx, node, field, wh)
        ||  config_get_choice (ctx, node, field, config_wire_names, "tls or raw", &choice))
            return -1;
        wh->wire = (config_wire_t) choice;
    }
    if ((node = config_find (map, "sni"))) {
        config_field (field, sizeof field, path, "sni");
        if (s_need_v2 (ctx, node, field, wh)
        ||  config_want_scalar (ctx, node, field, "a host name"))
            return -1;
        const char *name = node->value;
        if (strlen (name) > CONFIG_SNI_MAX || !s_valid_sni (name))
            return config_fail (ctx, node, field,
                                "must be a host name of at most %d letters, digits, '-' and '.'",
                                CONFIG_SNI_MAX);
        memcpy (wh->sni, name, strlen (name) + 1);
    }
    if ((node = config_find (map, "early_data"))) {
        config_field (field, sizeof field, path, "early_data");
        if (s_need_v2 (ctx, node, field, wh) || config_get_bool (ctx, node, field, &wh->early_data))
            return -1;
    }
    if ((node = config_find (map, "fallback"))) {
        config_field (field, sizeof field, path, "fallback");
        if (s_need_v2 (ctx, node, field, wh)
        ||  config_get_hostport (ctx, node, field, &wh->fallback))
            return -1;
        wh->has_fallback = true;
    }
    return 0;
}
