/*  config_fields — the entries of the config: a handler with its relay, a
    standalone proxy, a wormhole with its defaults. Each entry is checked
    against the schema in config.h here; what spans entries (names, relays
    to other wormholes) is checked in config.c.
*/
#include "config/config_priv.h"
#include "runtime/base/hex.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_EXTRA_PORTS  256
#define MAX_HANDOVER_S   (7 * 24 * 3600)
#define MAX_PROBE_S      (24 * 3600)
#define MAX_CONNECT_S    600

//  ---------------------------------------------------------------------
//  Handlers

//  In config_handler_type_t order, up to CONFIG_RELAY.
static const char *const s_handler_names [] = {
    "socks", "socks4", "socks5", "http", "relay", NULL
};

int
config_handler_parse (const char *name)
{
    return config_lookup (s_handler_names, name);
}

const char *
config_handler_name (config_handler_type_t kind)
{
    if (kind == CONFIG_RELAY_WORMHOLE)
        return "relay";
    return (unsigned) kind <= CONFIG_RELAY ? s_handler_names [kind] : "?";
}

bool
config_valid_name (const char *name)
{
    size_t len = strlen (name);
    return len >= 1 && len <= 63
        && strspn (name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                         "0123456789_.-") == len;
}

//  The relay target: host:port, or (for wormholes) another wormhole's name.
static int
s_parse_relay (ctx_t *ctx, const node_t *node, const char *field, bool allow_wormhole,
               config_handler_t *conf)
{
    if (config_want_scalar (ctx, node, field, "host:port"))
        return -1;
    const char *text = node->value;
    //  A wormhole name has neither ':' nor '[': anything else must be an address.
    if (strpbrk (text, ":[") || !allow_wormhole) {
        if (!strpbrk (text, ":["))
            return config_fail (ctx, node, field,
                                "must be host:port (a standalone proxy cannot relay to a wormhole)");
        conf->kind = CONFIG_RELAY;
        return config_get_hostport (ctx, node, field, &conf->relay_to);
    }
    if (!config_valid_name (text))
        return config_fail (ctx, node, field,
                            "%s is neither host:port nor a wormhole name", config_echo (ctx, text));
    conf->kind = CONFIG_RELAY_WORMHOLE;
    strcpy (conf->relay_wormhole, text);
    return 0;
}

//  allow: or deny: — a list of CIDRs.
static int
s_parse_cidrs (ctx_t *ctx, const node_t *node, const char *field, const acl_cidr_t **list_p,
               size_t *count_p)
{
    if (node->type != NODE_SEQUENCE)
        return config_fail (ctx, node, field,
                            "expected a list of address/prefix such as [10.0.0.0/8, \"fd00::/8\"], got %s",
                            config_node_kind (node));
    if (node->count == 0)
        return 0;
    acl_cidr_t *list = calloc (node->count, sizeof *list);
    if (!list)
        return config_fail (ctx, node, field, "out of memory");
    *list_p = list;
    char item [FIELD_MAX];
    for (size_t i = 0; i < node->count; i++) {
        const node_t *entry = node->items [i];
        config_field_item (item, sizeof item, field, i);
        if (config_want_scalar (ctx, entry, item, "an address/prefix such as 10.0.0.0/8"))
            return -1;
        char problem [160];
        if (acl_cidr_parse (entry->value, &list [i], problem, sizeof problem))
            return config_fail (ctx, entry, item, "%s", problem);
        *count_p = i + 1;
    }
    return 0;
}

static const char *const s_user_keys [] = { "name", "password", NULL };

//  One field of a user: 1 to 255 bytes (RFC 1929), without NUL (and, for
//  HTTP Basic, a name without ':').
static int
s_parse_user_field (ctx_t *ctx, const node_t *map, const char *path, const char *key, char *out)
{
    char field [FIELD_MAX];
    const node_t *node;
    if (config_require (ctx, map, path, key, &node)
    ||  config_want_scalar (ctx, node, config_field (field, sizeof field, path, key), "a string"))
        return -1;
    if (node->length == 0 || node->length > ACL_NAME_MAX || strlen (node->value) != node->length)
        return config_fail (ctx, node, field, "must be 1 to %d bytes", ACL_NAME_MAX);
    if (strcmp (key, "name") == 0 && strchr (node->value, ':'))
        return config_fail (ctx, node, field, "a user name cannot hold ':' (HTTP Basic)");
    memcpy (out, node->value, node->length + 1);
    return 0;
}

static int
s_parse_users (ctx_t *ctx, const node_t *node, const char *field, acl_users_t *users)
{
    if (node->type != NODE_SEQUENCE)
        return config_fail (ctx, node, field,
                            "expected a list of {name: N, password: P}, got %s",
                            config_node_kind (node));
    if (node->count == 0)
        return config_fail (ctx, node, field, "an empty list: give users, or leave users: out");
    acl_user_t *list = calloc (node->count, sizeof *list);
    if (!list)
        return config_fail (ctx, node, field, "out of memory");
    users->users = list;
    char item [FIELD_MAX];
    for (size_t i = 0; i < node->count; i++) {
        const node_t *entry = node->items [i];
        config_field_item (item, sizeof item, field, i);
        users->count = i + 1;
        if (config_want_mapping (ctx, entry, item)
        ||  config_check_keys (ctx, entry, item, s_user_keys)
        ||  s_parse_user_field (ctx, entry, item, "name", list [i].name)
        ||  s_parse_user_field (ctx, entry, item, "password", list [i].password))
            return -1;
        for (size_t j = 0; j < i; j++)
            if (strcmp (list [j].name, list [i].name) == 0)
                return config_fail (ctx, entry, item, "user %s is given twice",
                                    config_echo (ctx, list [i].name));
    }
    return 0;
}

//  allow:, deny: and users: of a socks or http handler.
static int
s_parse_access (ctx_t *ctx, const node_t *map, const char *path, config_handler_t *conf)
{
    static const char *const keys [] = { "allow", "deny", "users", NULL };
    char field [FIELD_MAX];
    bool proxy = conf->kind == CONFIG_SOCKS || conf->kind == CONFIG_SOCKS4
              || conf->kind == CONFIG_SOCKS5 || conf->kind == CONFIG_HTTP;
    for (size_t k = 0; keys [k]; k++) {
        const node_t *node = config_find (map, keys [k]);
        if (!node)
            continue;
        config_field (field, sizeof field, path, keys [k]);
        if (!proxy)
            return config_fail (ctx, node, field,
                                "only for handler socks, socks4, socks5 or http "
                                "(a relay's target is fixed)");
        int rc = k == 0 ? s_parse_cidrs (ctx, node, field, &conf->acl.allow, &conf->acl.allow_count)
               : k == 1 ? s_parse_cidrs (ctx, node, field, &conf->acl.deny, &conf->acl.deny_count)
               : s_parse_users (ctx, node, field, &conf->users);
        if (rc)
            return -1;
        if (k == 2 && conf->kind == CONFIG_SOCKS4)
            return config_fail (ctx, node, field,
                                "SOCKS4 has no passwords: users: needs handler socks5, socks or http");
    }
    return 0;
}

//  handler (given as the node hnode under the key hkey, or absent: socks),
//  relay, and a proxy handler's allow, deny and users.
static int
s_parse_handler (ctx_t *ctx, const node_t *map, const char *path, const char *hkey,
                 const node_t *hnode, bool allow_wormhole, config_handler_t *conf)
{
    char field [FIELD_MAX];
    memset (conf, 0, sizeof *conf);
    conf->kind = CONFIG_SOCKS;
    if (hnode) {
        int kind;
        if (config_get_choice (ctx, hnode, config_field (field, sizeof field, path, hkey),
                               s_handler_names, "socks, socks4, socks5, http or relay", &kind))
            return -1;
        conf->kind = (config_handler_type_t) kind;
    }
    if (s_parse_access (ctx, map, path, conf))
        return -1;
    const node_t *relay = config_find (map, "relay");
    config_field (field, sizeof field, path, "relay");
    if (conf->kind != CONFIG_RELAY) {
        if (relay)
            return config_fail (ctx, relay, field, "only allowed with handler: relay");
        return 0;
    }
    if (!relay)
        return config_fail (ctx, map, field, "is required with handler: relay");
    return s_parse_relay (ctx, relay, field, allow_wormhole, conf);
}

//  ---------------------------------------------------------------------
//  Standalone proxies

static const char *const s_proxy_keys [] = {
    "listen", "handler", "relay", "allow", "deny", "users", NULL
};

int
config_parse_proxy (ctx_t *ctx, const node_t *map, const char *path, proxy_conf_t *proxy)
{
    char field [FIELD_MAX];
    const node_t *node;
    if (config_want_mapping (ctx, map, path)
    ||  config_check_keys (ctx, map, path, s_proxy_keys))
        return -1;
    proxy->line = map->line;
    int rc = 0;
    if (config_require (ctx, map, path, "listen", &node)
    ||  config_get_hostport (ctx, node, config_field (field, sizeof field, path, "listen"),
                             &proxy->listen))
        rc = -1;
    if (config_require (ctx, map, path, "handler", &node)
    ||  s_parse_handler (ctx, map, path, "handler", node, false, &proxy->handler))
        rc = -1;
    return rc;
}

//  ---------------------------------------------------------------------
//  Wormholes

static const char *const s_wormhole_keys [] = {
    "name", "server", "wormhole_remote", "listen", "wormhole", "handler", "remote_handler", "relay",
    "extra_ports", "key", "reverse", "local_proxy", "handover_interval", "mimic",
    "mimic_padding", "probe_close_delay", "connect_timeout", "protocol", "cipher",
    "wire", "sni", "early_data", "fallback", "allow", "deny", "users", "optimistic",
    "preconnect", NULL
};
const char *const config_protocol_names [] = { "v1", "v2", NULL };
const char *const config_cipher_names [] = { "aes-256-gcm", "chacha20-poly1305", NULL };
const char *const config_mode_names [] = { "aggregated", "distributed", NULL };
const char *const config_mimic_names [] = { "random", "off", NULL };
const char *const config_size_names [] = {
    "identity", "constant", "uniform", "gaussian", NULL
};
const char *const config_delay_names [] = {
    "identity", "constant", "uniform", "gaussian", "exponential", NULL
};
static const char *const s_mimic_keys [] = { "size", "delay", NULL };

static void
s_wormhole_defaults (wormhole_conf_t *wh)
{
    memset (wh, 0, sizeof *wh);
    wh->mode = WORMHOLE_AGGREGATED;
    wh->protocol = PROTOCOL_V2;
    wh->cipher = CONFIG_AES_256_GCM;
    wh->wire = CONFIG_WIRE_TLS;
    snprintf (wh->sni, sizeof wh->sni, "%s", CONFIG_DEFAULT_SNI);
    wh->handler.kind = CONFIG_SOCKS;
    wh->handover_min_s = 1200;
    wh->handover_max_s = 1800;
    wh->mimic = MIMIC_RANDOM;
    wh->probe_close_min_s = 60;
    wh->probe_close_max_s = 3000;
    wh->connect_timeout_s = 10;
    wh->optimistic = true;
    wh->preconnect = true;
}

//  Never puts the key text in a message, not even a part of it.
static int
s_parse_key (ctx_t *ctx, const node_t *node, const char *field, wormhole_conf_t *wh)
{
    if (node->type != NODE_SCALAR || config_is_null (node))
        return config_fail (ctx, node, field, "expected hex digits, got %s",
                            config_node_kind (node));
    if (node->length != 32 && node->length != 48 && node->length != 64)
        return config_fail (ctx, node, field,
                            "must be 32, 48 or 64 hex digits (a 16, 24 or 32-byte key), not %zu",
                            node->length);
    for (size_t i = 0; i < node->length; i += 2) {
        int high = hex_digit_value ((unsigned char) node->value [i]);
        int low = hex_digit_value ((unsigned char) node->value [i + 1]);
        if (high < 0 || low < 0) {
            explicit_bzero (wh->key, sizeof wh->key);
            return config_fail (ctx, node, field, "must be hex digits only (0-9, a-f)");
        }
        wh->key [i / 2] = (uint8_t) (high << 4 | low);
    }
    wh->key_len = node->length / 2;
    return 0;
}

static int
s_parse_extra_ports (ctx_t *ctx, const node_t *node, const char *field, wormhole_conf_t *wh)
{
    if (node->type != NODE_SEQUENCE)
        return config_fail (ctx, node, field, "expected a list of ports, got %s",
                            config_node_kind (node));
    if (node->count > MAX_EXTRA_PORTS)
        return config_fail (ctx, node, field, "at most %d extra ports", MAX_EXTRA_PORTS);
    if (node->count == 0)
        return 0;
    wh->extra_ports = calloc (node->count, sizeof *wh->extra_ports);
    if (!wh->extra_ports)
        return config_fail (ctx, node, field, "out of memory");
    char item [FIELD_MAX];
    for (size_t i = 0; i < node->count; i++) {
        const node_t *port_node = node->items [i];
        config_field_item (item, sizeof item, field, i);
        int port;
        if (config_get_int (ctx, port_node, item, 1, 65535, &port))
            return -1;
        if (port == wh->wormhole_remote.port)
            return config_fail (ctx, port_node, item,
                                "port %d is already wormhole_remote's main port", port);
        for (size_t j = 0; j < i; j++)
            if (wh->extra_ports [j] == port)
                return config_fail (ctx, port_node, item, "duplicate port %d", port);
        wh->extra_ports [i] = (uint16_t) port;
        wh->extra_port_count = i + 1;
    }
    return 0;
}

static int
s_parse_mimic (ctx_t *ctx, const node_t *node, const char *field, wormhole_conf_t *wh)
{
    int choice;
    if (node->type == NODE_SCALAR) {
        if (config_get_choice (ctx, node, field, config_mimic_names,
                               "random, off or {size: S, delay: D}", &choice))
            return -1;
        wh->mimic = choice == 0 ? MIMIC_RANDOM : MIMIC_OFF;
        return 0;
    }
    if (node->type != NODE_MAPPING)
        return config_fail (ctx, node, field, "expected random, off or {size: S, delay: D}, got %s",
                            config_node_kind (node));
    char item [FIELD_MAX];
    const node_t *value;
    if (config_check_keys (ctx, node, field, s_mimic_keys))
        return -1;
    if (config_require (ctx, node, field, "size", &value)
    ||  config_get_choice (ctx, value, config_field (item, sizeof item, field, "size"),
                           config_size_names, "identity, constant, uniform or gaussian", &choice))
        return -1;
    wh->mimic_size = (config_mimic_size_t) choice;
    if (config_require (ctx, node, field, "delay", &value)
    ||  config_get_choice (ctx, value, config_field (item, sizeof item, field, "delay"),
                           config_delay_names,
                           "identity, constant, uniform, gaussian or exponential", &choice))
        return -1;
    wh->mimic_delay = (config_mimic_delay_t) choice;
    wh->mimic = MIMIC_FIXED;
    return 0;
}

static int
s_parse_handover (ctx_t *ctx, const node_t *node, const char *field, wormhole_conf_t *wh)
{
    if (config_get_range (ctx, node, field, 0, MAX_HANDOVER_S,
                          &wh->handover_min_s, &wh->handover_max_s))
        return -1;
    if (wh->handover_min_s == 0 && wh->handover_max_s != 0)
        return config_fail (ctx, node, field, "0 disables handovers: give 0 alone, or a min from 1");
    return 0;
}

//  name, addresses, mode and handler.
static int
s_parse_wormhole_route (ctx_t *ctx, const node_t *map, const char *path, const node_t *named,
                        wormhole_conf_t *wh)
{
    char field [FIELD_MAX];
    const node_t *node;
    int rc = config_parse_wormhole_name (ctx, map, path, named, wh);
    if (config_require (ctx, map, path, "server", &node)
    ||  config_get_hostport (ctx, node, config_field (field, sizeof field, path, "server"),
                             &wh->server))
        rc = -1;
    if (config_require (ctx, map, path, "wormhole_remote", &node)
    ||  config_get_hostport (ctx, node, config_field (field, sizeof field, path, "wormhole_remote"),
                             &wh->wormhole_remote))
        rc = -1;
    if ((node = config_find (map, "listen"))
    &&  config_parse_listen (ctx, node, config_field (field, sizeof field, path, "listen"), wh))
        rc = -1;
    if ((node = config_find (map, "wormhole"))) {
        int mode;
        if (config_get_choice (ctx, node, config_field (field, sizeof field, path, "wormhole"),
                               config_mode_names, "aggregated or distributed", &mode))
            rc = -1;
        else
            wh->mode = (wormhole_mode_t) mode;
    }
    //  `remote_handler` is the spelling of some of the original's examples.
    const char *hkey = "handler";
    node = config_find (map, "handler");
    const node_t *alias = config_find (map, "remote_handler");
    if (node && alias) {
        const node_t *second = config_find_key (map, "remote_handler");
        const node_t *first = config_find_key (map, "handler");
        if (second->line < first->line
        || (second->line == first->line && second->column < first->column))
            second = first;
        return config_fail (ctx, second, config_field (field, sizeof field, path, second->value),
                            "handler and remote_handler are the same setting: give only one");
    }
    if (alias) {
        node = alias;
        hkey = "remote_handler";
    }
    if (s_parse_handler (ctx, map, path, hkey, node, true, &wh->handler))
        rc = -1;
    return rc;
}

//  A yes/no setting that only an aggregated wormhole can turn on.
static int
s_parse_aggregated_only (ctx_t *ctx, const node_t *map, const char *path, const char *key,
                         const wormhole_conf_t *wh, bool *out)
{
    char field [FIELD_MAX];
    const node_t *node = config_find (map, key);
    if (!node)
        return 0;
    if (config_get_bool (ctx, node, config_field (field, sizeof field, path, key), out))
        return -1;
    if (*out && wh->mode != WORMHOLE_AGGREGATED)
        return config_fail (ctx, node, field, "%s: true requires wormhole: aggregated", key);
    return 0;
}

//  protocol: v1 | v2, and cipher: (v2 only).
static int
s_parse_protocol (ctx_t *ctx, const node_t *map, const char *path, wormhole_conf_t *wh)
{
    char field [FIELD_MAX];
    const node_t *node;
    int choice;
    if ((node = config_find (map, "protocol"))) {
        if (config_get_choice (ctx, node, config_field (field, sizeof field, path, "protocol"),
                               config_protocol_names, "v1 or v2", &choice))
            return -1;
        wh->protocol = choice == 0 ? PROTOCOL_V1 : PROTOCOL_V2;
    }
    if ((node = config_find (map, "cipher"))) {
        config_field (field, sizeof field, path, "cipher");
        if (config_get_choice (ctx, node, field, config_cipher_names,
                               "aes-256-gcm or chacha20-poly1305", &choice))
            return -1;
        if (wh->protocol != PROTOCOL_V2)
            return config_fail (ctx, node, field,
                                "protocol v1 has one cipher (AES-CTR): cipher: needs protocol: v2");
        wh->cipher = (config_cipher_t) choice;
    }
    return 0;
}

//  Everything else: the key and the tunnel's behaviour.
static int
s_parse_wormhole_tunnel (ctx_t *ctx, const node_t *map, const char *path, wormhole_conf_t *wh)
{
    char field [FIELD_MAX];
    const node_t *node;
    int rc = 0;
    if ((node = config_find (map, "extra_ports"))
    &&  s_parse_extra_ports (ctx, node, config_field (field, sizeof field, path, "extra_ports"), wh))
        rc = -1;
    if (config_require (ctx, map, path, "key", &node)
    ||  s_parse_key (ctx, node, config_field (field, sizeof field, path, "key"), wh))
        rc = -1;
    if (s_parse_protocol (ctx, map, path, wh) || config_parse_stealth (ctx, map, path, wh))
        rc = -1;
    if (s_parse_aggregated_only (ctx, map, path, "reverse", wh, &wh->reverse))
        rc = -1;
    if ((node = config_find (map, "local_proxy"))) {
        if (config_get_hostport (ctx, node, config_field (field, sizeof field, path, "local_proxy"),
                                 &wh->local_proxy))
            rc = -1;
        else
            wh->has_local_proxy = true;
    }
    if ((node = config_find (map, "handover_interval"))
    &&  s_parse_handover (ctx, node, config_field (field, sizeof field, path, "handover_interval"),
                          wh))
        rc = -1;
    if ((node = config_find (map, "mimic"))
    &&  s_parse_mimic (ctx, node, config_field (field, sizeof field, path, "mimic"), wh))
        rc = -1;
    //  v1's padding travels as NOP frames of the multiplexing layer; v2 has
    //  padding records in both modes.
    if (wh->protocol == PROTOCOL_V1
    &&  s_parse_aggregated_only (ctx, map, path, "mimic_padding", wh, &wh->mimic_padding))
        rc = -1;
    if (wh->protocol == PROTOCOL_V2 && (node = config_find (map, "mimic_padding"))
    &&  config_get_bool (ctx, node, config_field (field, sizeof field, path, "mimic_padding"),
                         &wh->mimic_padding))
        rc = -1;
    if ((node = config_find (map, "probe_close_delay"))
    &&  config_get_range (ctx, node, config_field (field, sizeof field, path, "probe_close_delay"),
                          1, MAX_PROBE_S, &wh->probe_close_min_s, &wh->probe_close_max_s))
        rc = -1;
    if ((node = config_find (map, "connect_timeout"))
    &&  config_get_int (ctx, node, config_field (field, sizeof field, path, "connect_timeout"),
                        1, MAX_CONNECT_S, &wh->connect_timeout_s))
        rc = -1;
    if ((node = config_find (map, "optimistic"))
    &&  config_get_bool (ctx, node, config_field (field, sizeof field, path, "optimistic"),
                         &wh->optimistic))
        rc = -1;
    if ((node = config_find (map, "preconnect"))
    &&  config_get_bool (ctx, node, config_field (field, sizeof field, path, "preconnect"),
                         &wh->preconnect))
        rc = -1;
    return rc;
}

void
config_handler_free (config_handler_t *conf)
{
    free ((void *) conf->acl.allow);
    free ((void *) conf->acl.deny);
    if (conf->users.users)
        explicit_bzero ((void *) conf->users.users, conf->users.count * sizeof conf->users.users [0]);
    free ((void *) conf->users.users);
    conf->acl = (acl_t) { 0 };
    conf->users = (acl_users_t) { 0 };
}

int
config_parse_wormhole (ctx_t *ctx, const node_t *map, const char *path, const node_t *named,
                       wormhole_conf_t *wh)
{
    s_wormhole_defaults (wh);
    if (config_want_mapping (ctx, map, path))
        return -1;
    wh->line = named ? named->line : map->line;
    int rc = config_check_keys (ctx, map, path, s_wormhole_keys);
    if (s_parse_wormhole_route (ctx, map, path, named, wh))
        rc = -1;
    if (s_parse_wormhole_tunnel (ctx, map, path, wh))
        rc = -1;
    return rc;
}

//  ---------------------------------------------------------------------
//  The top level's observability keys

int
config_parse_observe (ctx_t *ctx, const node_t *root, config_t *self)
{
    //  Each key on its own: one run reports every mistake.
    const node_t *node;
    int rc = 0;
    if ((node = config_find (root, "trace_public"))
    &&  config_get_bool (ctx, node, "trace_public", &self->trace_public))
        rc = -1;
    if ((node = config_find (root, "metrics_public"))
    &&  config_get_bool (ctx, node, "metrics_public", &self->metrics_public))
        rc = -1;
    if ((node = config_find (root, "metrics"))) {
        if (config_get_hostport (ctx, node, "metrics", &self->metrics))
            rc = -1;
        else if (!self->metrics_public && !acl_host_is_loopback (self->metrics.host))
            rc = config_fail (ctx, node, "metrics", "%s is not a loopback address: the counters "
                              "would be open to the network (set metrics_public: true to allow it)",
                              config_echo (ctx, self->metrics.host));
        else
            self->has_metrics = true;
    }
    if (self->trace_endpoint && !self->trace_public
    &&  !acl_endpoint_is_loopback (self->trace_endpoint))
        rc = config_fail (ctx, config_find (root, "trace"), "trace", "%s is not on a loopback address: "
                          "the message flow would be open to the network (set trace_public: true "
                          "to allow it)", config_echo (ctx, self->trace_endpoint));
    if ((node = config_find (root, "handshake_timeout"))
    &&  config_get_int (ctx, node, "handshake_timeout", 1, 3600, &self->handshake_timeout_s))
        rc = -1;
    return rc;
}
