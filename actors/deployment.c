/*  deployment — what a configuration runs on this host, and reloading it. */
#include "actors/deployment.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actors/handler_registry.h"
#include "runtime/base/log.h"

#define KEEP_MAX 256            //  configs kept alive over reloads

struct deployment_t {
    char *path;
    wormhole_role_t role;
    int workers;
    config_t *configs[KEEP_MAX];         //  every config loaded (connections may point into any)
    wormhole_t *wormhole_sets[KEEP_MAX];
    listener_conf_t *listener_sets[KEEP_MAX];
    dial_conf_t *dial_sets[KEEP_MAX];
    const void **drop_sets[KEEP_MAX];
    size_t generations;
    wormhole_t **current;                //  the running wormholes
    size_t current_count;
    const config_t *config;              //  the newest
    listener_conf_t *listeners;
    size_t listener_count;
    dial_conf_t *dials;
    size_t dial_count;
};

//  The listeners and dials of a config: its standalone proxies, then the
//  ends of its wormholes that run on this machine. Everything that shares an
//  aggregated tunnel goes to one worker.
static listener_conf_t *
s_config_listeners (const config_t *config, wormhole_t *const *wormholes, const bool *dial,
                    int workers, size_t *count, dial_conf_t **dials_p, size_t *dial_count)
{
    size_t extra = 0;
    for (size_t i = 0; i < config->wormhole_count; i++)
        extra += config->wormholes[i].extra_port_count;
    listener_conf_t *listeners = calloc (config->proxy_count + 2 * config->wormhole_count + extra + 1,
                                         sizeof *listeners);
    dial_conf_t *dials = calloc (config->wormhole_count + 1, sizeof *dials);
    size_t n = 0, d = 0;
    for (size_t i = 0; i < config->proxy_count; i++) {
        const config_handler_t *handler = &config->proxies[i].handler;
        listeners[n].listen = config->proxies[i].listen;
        //  Cannot fail: a proxy never relays to a wormhole by name.
        handler_conf_from_config (handler, &listeners[n].handler);
        listeners[n].handler.user_facing = true;
        handler_conf_warn_exposed (&config->proxies[i].listen, handler);
        snprintf (listeners[n].label, sizeof listeners[0].label, "%s proxy",
                  config_handler_name (handler->kind));
        listeners[n++].worker = -1;
    }
    for (size_t i = 0; i < config->wormhole_count; i++) {
        const wormhole_t *w = wormholes[i];
        const wormhole_conf_t *c = w->conf;
        bool aggregated = c->mode == WORMHOLE_AGGREGATED;
        int home = aggregated ? (int) (i % (size_t) workers) : -1;
        //  Where users connect: the local end, or the public end in reverse mode.
        if (c->reverse ? w->run_remote : w->run_local) {
            //  Distributed, v2: each user's tunnel connection is dialed ahead of
            //  it (`preconnect`); the public end of a reverse one does not dial.
            bool warm = c->mode == WORMHOLE_DISTRIBUTED && !c->reverse && c->preconnect
                        && c->protocol == PROTOCOL_V2;
            listeners[n] = (listener_conf_t) { c->server, { .cls = &tunnel_local_handler_class,
                                                            .wormhole = w, .trace_name = c->name,
                                                            .user_facing = true, .warm = warm,
                                                            .connect_timeout_ms = c->connect_timeout_s * 1000 },
                                               home, "" };
            snprintf (listeners[n++].label, sizeof listeners[0].label, "wormhole '%s' users", c->name);
        }
        if (w->run_remote) {
            //  Reverse: the tunnel must meet its users in one worker. Both ends
            //  of one aggregated tunnel in this process: keep them apart, so
            //  that each end has a core of its own.
            int tunnel_home = c->reverse ? home
                            : aggregated && w->run_local ? (home + 1) % workers : -1;
            //  listen: what to bind when wormhole_remote is a NAT's address.
            const hostport_t *bind = c->has_listen ? &c->listen : &c->wormhole_remote;
            listeners[n] = (listener_conf_t) { *bind,
                                               { .cls = &tunnel_remote_handler_class, .wormhole = w,
                                                 .trace_name = c->name,
                                                 .connect_timeout_ms = c->connect_timeout_s * 1000 },
                                               tunnel_home, "" };
            snprintf (listeners[n++].label, sizeof listeners[0].label, "wormhole '%s' tunnel", c->name);
            //  Handover connections go to any worker: the registry finds their tunnel.
            for (size_t p = 0; p < c->extra_port_count; p++) {
                hostport_t at = *bind;
                at.port = c->extra_ports[p];
                listeners[n] = (listener_conf_t) { at, w->handover, -1, "" };
                snprintf (listeners[n++].label, sizeof listeners[0].label,
                          "wormhole '%s' handover port", c->name);
            }
        }
        if (aggregated && w->run_local && dial[i])
            dials[d++] = (dial_conf_t) { w->dial, home };
        if (!w->run_local && !w->run_remote)
            log_warn ("wormhole '%s': neither %s:%u nor %s:%u is an address of this host; "
                      "not started here (see --role)", c->name, c->server.host, c->server.port,
                      c->wormhole_remote.host, c->wormhole_remote.port);
        else
            log_info ("wormhole '%s' (%s%s): running its %s", c->name,
                      aggregated ? "aggregated" : "distributed", c->reverse ? ", reverse" : "",
                      w->run_local && w->run_remote ? "local and remote ends"
                      : w->run_local ? (c->reverse ? "intranet end" : "local end")
                      : (c->reverse ? "public end" : "remote end"));
    }
    *count = n;
    *dials_p = dials;
    *dial_count = d;
    return listeners;
}

static bool
s_hostport_same (const hostport_t *a, const hostport_t *b)
{
    return strcmp (a->host, b->host) == 0 && a->port == b->port;
}

//  Same settings, same roles here, same far-end handler: the wormhole can run on untouched.
static bool
s_wormhole_same (const wormhole_t *x, const wormhole_t *y)
{
    const wormhole_conf_t *a = x->conf, *b = y->conf;
    return strcmp (a->name, b->name) == 0 && s_hostport_same (&a->server, &b->server)
        && s_hostport_same (&a->wormhole_remote, &b->wormhole_remote) && a->mode == b->mode
        && a->has_listen == b->has_listen && (!a->has_listen || s_hostport_same (&a->listen, &b->listen))
        && a->key_len == b->key_len && memcmp (a->key, b->key, a->key_len) == 0
        && a->protocol == b->protocol && a->cipher == b->cipher
        && a->reverse == b->reverse && a->has_local_proxy == b->has_local_proxy
        && (!a->has_local_proxy || s_hostport_same (&a->local_proxy, &b->local_proxy))
        && a->extra_port_count == b->extra_port_count
        && (a->extra_port_count == 0
            || memcmp (a->extra_ports, b->extra_ports, a->extra_port_count * sizeof a->extra_ports[0]) == 0)
        && a->handover_min_s == b->handover_min_s && a->handover_max_s == b->handover_max_s
        && a->mimic == b->mimic && a->mimic_size == b->mimic_size && a->mimic_delay == b->mimic_delay
        && a->mimic_padding == b->mimic_padding && a->probe_close_min_s == b->probe_close_min_s
        && a->probe_close_max_s == b->probe_close_max_s && a->connect_timeout_s == b->connect_timeout_s
        && a->optimistic == b->optimistic && a->preconnect == b->preconnect
        && x->inner.cls == y->inner.cls && x->inner.flags == y->inner.flags
        && s_hostport_same (&x->inner.relay_to, &y->inner.relay_to)
        && acl_equal (x->inner.acl, y->inner.acl) && acl_users_equal (x->inner.users, y->inner.users)
        && x->run_local == y->run_local && x->run_remote == y->run_remote;
}

//  Take a config in: its wormholes (reusing the running ones that did not
//  change), listeners and dials. The generation keeps everything alive.
static int
s_adopt (deployment_t *self, config_t *config, char *err, size_t errlen, app_reload_t *update)
{
    if (self->generations == KEEP_MAX) {
        snprintf (err, errlen, "too many reloads (%d) in one run", KEEP_MAX);
        config_destroy (&config);
        return -1;
    }
    wormhole_t *set = wormholes_new (config, self->role, err, errlen);
    if (!set) {
        config_destroy (&config);
        return -1;
    }
    size_t n = config->wormhole_count;
    wormhole_t **chosen = calloc (n + 1, sizeof *chosen);
    bool *fresh = calloc (n + 1, sizeof *fresh);
    for (size_t i = 0; i < n; i++) {
        chosen[i] = &set[i];
        fresh[i] = true;
        for (size_t j = 0; j < self->current_count; j++)
            if (s_wormhole_same (self->current[j], &set[i])) {
                chosen[i] = self->current[j];
                fresh[i] = false;
                break;
            }
    }
    //  The running wormholes that the new set does not keep end.
    const void **drops = calloc (self->current_count + 1, sizeof *drops);
    size_t drop_count = 0;
    for (size_t j = 0; j < self->current_count; j++) {
        bool kept = false;
        for (size_t i = 0; i < n && !kept; i++)
            kept = chosen[i] == self->current[j];
        if (!kept) {
            log_info ("wormhole '%s': removed or changed; its connections end", self->current[j]->conf->name);
            drops[drop_count++] = self->current[j];
        }
    }
    size_t count = 0, dial_count = 0;
    dial_conf_t *dials = NULL;
    listener_conf_t *listeners = s_config_listeners (config, chosen, fresh, self->workers, &count,
                                                     &dials, &dial_count);
    size_t g = self->generations++;
    self->configs[g] = config;
    self->wormhole_sets[g] = set;
    self->listener_sets[g] = listeners;
    self->dial_sets[g] = dials;
    self->drop_sets[g] = drops;
    free (self->current);
    free (fresh);
    self->current = chosen;
    self->current_count = n;
    self->config = config;
    self->listeners = listeners;
    self->listener_count = count;
    self->dials = dials;
    self->dial_count = dial_count;
    if (update)
        *update = (app_reload_t) { listeners, count, dials, dial_count, drops, drop_count };
    return 0;
}

deployment_t *
deployment_new (config_t *config, const char *path, wormhole_role_t role, int workers,
                char *err, size_t errlen)
{
    deployment_t *self = calloc (1, sizeof *self);
    if (!self) {
        config_destroy (&config);
        snprintf (err, errlen, "out of memory");
        return NULL;
    }
    self->path = path ? strdup (path) : NULL;
    self->role = role;
    self->workers = workers;
    if (s_adopt (self, config, err, errlen, NULL) != 0) {
        deployment_destroy (&self);
        return NULL;
    }
    return self;
}

void
deployment_destroy (deployment_t **self_p)
{
    deployment_t *self = *self_p;
    if (!self)
        return;
    for (size_t g = 0; g < self->generations; g++) {
        free (self->listener_sets[g]);
        free (self->dial_sets[g]);
        free ((void *) self->drop_sets[g]);
        wormholes_destroy (&self->wormhole_sets[g], self->configs[g]->wormhole_count);
        config_destroy (&self->configs[g]);
    }
    free (self->current);
    free (self->path);
    free (self);
    *self_p = NULL;
}

void
deployment_app_conf (deployment_t *self, app_conf_t *conf)
{
    conf->listeners = self->listeners;
    conf->listener_count = self->listener_count;
    conf->dials = self->dials;
    conf->dial_count = self->dial_count;
    conf->reload = deployment_reload;
    conf->reload_ctx = self;
}

int
deployment_reload (void *ctx, app_reload_t *update)
{
    deployment_t *self = ctx;
    if (!self->path) {
        log_warn ("SIGHUP: running the embedded default configuration; nothing to reload");
        return -1;
    }
    char err[1024];
    config_t *config = config_load (self->path, err, sizeof err);
    if (!config) {
        log_error ("reload refused, the running configuration stays: %s", err);
        return -1;
    }
    if (s_adopt (self, config, err, sizeof err, update) != 0) {
        log_error ("reload refused, the running configuration stays: %s: %s", self->path, err);
        return -1;
    }
    log_info ("reloaded %s", self->path);
    return 0;
}
