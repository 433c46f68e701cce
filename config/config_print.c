/*  config_print — the summary `check-config` prints: every setting with its
    default filled in, keys as their length only.
*/
#include "config/config_priv.h"

#include <stdio.h>
#include <string.h>

static void
s_print_hostport (FILE *out, const char *label, const hostport_t *hp)
{
    if (strchr (hp->host, ':'))
        fprintf (out, "%s[%s]:%u\n", label, hp->host, hp->port);
    else
        fprintf (out, "%s%s:%u\n", label, hp->host, hp->port);
}

static void
s_print_handler (FILE *out, const char *label, const config_handler_t *conf)
{
    if (conf->kind == CONFIG_RELAY) {
        char prefix [64];
        snprintf (prefix, sizeof prefix, "%srelay to ", label);
        s_print_hostport (out, prefix, &conf->relay_to);
    }
    else
    if (conf->kind == CONFIG_RELAY_WORMHOLE)
        fprintf (out, "%srelay to wormhole %s\n", label, conf->relay_wormhole);
    else
        fprintf (out, "%s%s\n", label, config_handler_name (conf->kind));
}

//  allow:, deny: and users: (the names only) of a socks or http handler.
static void
s_print_access (FILE *out, const char *indent, const config_handler_t *conf)
{
    if (conf->kind != CONFIG_SOCKS && conf->kind != CONFIG_SOCKS4
    &&  conf->kind != CONFIG_SOCKS5 && conf->kind != CONFIG_HTTP)
        return;
    char text [64];
    fprintf (out, "%sallow:", indent);
    for (size_t i = 0; i < conf->acl.allow_count; i++)
        fprintf (out, "%s %s", i ? "," : "", acl_cidr_format (&conf->acl.allow [i], text, sizeof text));
    fprintf (out, "%s\n", conf->acl.allow_count ? "" : " (none: loopback, private, link-local, "
                                                      "multicast and own addresses are denied)");
    if (conf->acl.deny_count) {
        fprintf (out, "%sdeny:", indent);
        for (size_t i = 0; i < conf->acl.deny_count; i++)
            fprintf (out, "%s %s", i ? "," : "", acl_cidr_format (&conf->acl.deny [i], text, sizeof text));
        fprintf (out, "\n");
    }
    fprintf (out, "%susers:", indent);
    for (size_t i = 0; i < conf->users.count; i++)
        fprintf (out, "%s %s", i ? "," : "",
                 config_showable (conf->users.users [i].name) ? conf->users.users [i].name : "(a name)");
    fprintf (out, "%s\n", conf->users.count ? "" : " none (no authentication)");
}

static void
s_print_range (FILE *out, const char *label, int low, int high)
{
    if (low == 0 && high == 0)
        fprintf (out, "%sdisabled\n", label);
    else
    if (low == high)
        fprintf (out, "%s%d s\n", label, low);
    else
        fprintf (out, "%s%d-%d s\n", label, low, high);
}

static void
s_print_wormhole (FILE *out, const wormhole_conf_t *wh)
{
    fprintf (out, "wormhole %s (line %d):\n", wh->name, wh->line);
    s_print_hostport (out, "  server: ", &wh->server);
    s_print_hostport (out, "  wormhole_remote: ", &wh->wormhole_remote);
    if (wh->has_listen)
        s_print_hostport (out, "  listen (the remote end binds): ", &wh->listen);
    fprintf (out, "  extra_ports:");
    for (size_t i = 0; i < wh->extra_port_count; i++)
        fprintf (out, "%s %u", i ? "," : "", wh->extra_ports [i]);
    fprintf (out, "%s\n", wh->extra_port_count ? "" : " none");
    fprintf (out, "  wormhole: %s\n", config_mode_names [wh->mode]);
    s_print_handler (out, "  handler: ", &wh->handler);
    s_print_access (out, "  ", &wh->handler);
    fprintf (out, "  key: (%zu bytes)\n", wh->key_len);
    if (wh->protocol == PROTOCOL_V2)
        fprintf (out, "  protocol: v2, cipher %s, wire %s%s%s%s\n", config_cipher_names [wh->cipher],
                 config_wire_names [wh->wire], wh->wire == CONFIG_WIRE_TLS ? ", sni " : "",
                 wh->wire == CONFIG_WIRE_TLS ? (wh->sni [0] ? wh->sni : "(none)") : "",
                 wh->wire == CONFIG_WIRE_TLS && wh->early_data ? ", early data" : "");
    else
        fprintf (out, "  protocol: v1\n");
    if (wh->has_fallback)
        s_print_hostport (out, "  fallback: ", &wh->fallback);
    fprintf (out, "  reverse: %s\n", wh->reverse ? "yes" : "no");
    if (wh->has_local_proxy)
        s_print_hostport (out, "  local_proxy: ", &wh->local_proxy);
    else
        fprintf (out, "  local_proxy: none\n");
    s_print_range (out, "  handover_interval: ", wh->handover_min_s, wh->handover_max_s);
    if (wh->mimic == MIMIC_FIXED)
        fprintf (out, "  mimic: size %s, delay %s\n",
                 config_size_names [wh->mimic_size], config_delay_names [wh->mimic_delay]);
    else
        fprintf (out, "  mimic: %s\n", config_mimic_names [wh->mimic]);
    fprintf (out, "  mimic_padding: %s\n", wh->mimic_padding ? "yes" : "no");
    s_print_range (out, "  probe_close_delay: ", wh->probe_close_min_s, wh->probe_close_max_s);
    fprintf (out, "  connect_timeout: %d s\n", wh->connect_timeout_s);
    fprintf (out, "  optimistic: %s\n", wh->optimistic ? "yes" : "no");
    if (wh->mode == WORMHOLE_DISTRIBUTED)
        fprintf (out, "  preconnect: %s\n", wh->preconnect ? "yes" : "no");
}

void
config_print (const config_t *self, FILE *out)
{
    static const char *const levels [] = { "error", "warn", "info", "debug" };
    fprintf (out, "config: %s\n", self->source);
    fprintf (out, "log_level: %s%s\n", levels [self->log_level],
             self->has_log_level ? "" : " (default)");
    fprintf (out, "log_destinations: %s\n", self->log_destinations ? "true (at info)" : "false (debug only)");
    fprintf (out, "trace: %s\n", self->trace_endpoint ? self->trace_endpoint : "off");
    if (self->workers)
        fprintf (out, "workers: %d\n", self->workers);
    else
        fprintf (out, "workers: one per core\n");
    for (size_t i = 0; i < self->proxy_count; i++) {
        const proxy_conf_t *proxy = &self->proxies [i];
        fprintf (out, "proxy (line %d):\n", proxy->line);
        s_print_hostport (out, "  listen: ", &proxy->listen);
        s_print_handler (out, "  handler: ", &proxy->handler);
        s_print_access (out, "  ", &proxy->handler);
    }
    for (size_t i = 0; i < self->wormhole_count; i++)
        s_print_wormhole (out, &self->wormholes [i]);
}
