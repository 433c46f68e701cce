/*  config_wormhole_names — how a wormhole entry is named and where its remote
    end listens: the name from name: or from the key of the original's named
    form of wormholes: (a mapping name -> settings), and listen:, the
    address the remote end binds in place of wormhole_remote behind NAT.
*/
#include "config/config_priv.h"

#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

//  The name: the key of the named form (named), or name:.
int
config_parse_wormhole_name (ctx_t *ctx, const node_t *map, const char *path, const node_t *named,
                       wormhole_conf_t *wh)
{
    char field [FIELD_MAX];
    const node_t *node = config_find (map, "name");
    config_field (field, sizeof field, path, "name");
    const node_t *given = node;
    if (named)
        node = named;
    else
    if (config_require (ctx, map, path, "name", &node))
        return -1;
    if (config_want_scalar (ctx, node, field, "a name"))
        return -1;
    if (!config_valid_name (node->value))
        return config_fail (ctx, node, field, "must be 1 to 63 characters of A-Z a-z 0-9 _ . -");
    strcpy (wh->name, node->value);
    if (named && given && (given->type != NODE_SCALAR || strcmp (given->value, named->value) != 0))
        return config_fail (ctx, given, field, "the entry's key names it already: "
                            "leave name: out, or give the same name");
    return 0;
}

//  listen: what the remote end binds in place of wormhole_remote (behind
//  NAT, the public address is not the machine's): host:port, or an address
//  alone for wormhole_remote's port.
int
config_parse_listen (ctx_t *ctx, const node_t *node, const char *field, wormhole_conf_t *wh)
{
    if (config_want_scalar (ctx, node, field, "host:port or an address"))
        return -1;
    const char *text = node->value;
    size_t len = strlen (text);
    char bare [ADDR_HOST_MAX + 1];
    if (len >= 2 && text [0] == '[' && text [len - 1] == ']' && len - 2 <= ADDR_HOST_MAX) {
        memcpy (bare, text + 1, len - 2);
        bare [len - 2] = 0;
    }
    else
        snprintf (bare, sizeof bare, "%s", text);
    struct sockaddr_storage sa;
    socklen_t salen;
    if (addr_from_literal (bare, 1, &sa, &salen)) {
        if (wh->wormhole_remote.port == 0)
            return -1;              //  wormhole_remote's message is given
        snprintf (wh->listen.host, sizeof wh->listen.host, "%s", bare);
        wh->listen.port = wh->wormhole_remote.port;
    }
    else
    if (config_get_hostport (ctx, node, field, &wh->listen))
        return -1;
    wh->has_listen = true;
    return 0;
}
