/*  config — loads wormholes.yaml into plain structs and validates it.

    The text is first read into a tree of nodes that keep their positions
    (config_yaml.c); then each section is checked against the schema in
    config.h and the defaults are filled in (the top level here, the entries
    of proxies and wormholes in config_fields.c, every value through
    config_values.c); last come the checks across wormholes (unique names,
    relay targets, relay loops), also here, and those across every listener
    (config_ports.c). Each check goes on after a failure, so that one run
    reports every mistake.
*/
#include "config/config_priv.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>

#define MAX_FILE_SIZE    (4 * 1024 * 1024)     //  "4 MiB" in its message
#define MAX_WORKERS      64

//  ---------------------------------------------------------------------
//  Checks across wormholes

static ssize_t
s_wormhole_index (const config_t *self, const char *name)
{
    for (size_t i = 0; i < self->wormhole_count; i++)
        if (strcmp (self->wormholes [i].name, name) == 0)
            return (ssize_t) i;
    return -1;
}

//  Entry i of wormholes: given as a list, or in the original's named form
//  (a mapping name -> settings).
const node_t *
config_entry (const node_t *list, size_t i)
{
    return list->type == NODE_MAPPING ? list->items [2 * i + 1] : list->items [i];
}

//  The node that gives entry i's name (NULL if none does).
static const node_t *
s_entry_name (const node_t *list, size_t i)
{
    if (list->type == NODE_MAPPING)
        return list->items [2 * i];
    const node_t *entry = config_entry (list, i);
    return entry->type == NODE_MAPPING ? config_find (entry, "name") : NULL;
}

//  "wormholes[i]", or "wormholes.NAME" in the named form.
const char *
config_entry_path (char *buf, size_t size, const node_t *list, size_t i)
{
    const node_t *key = list->type == NODE_MAPPING ? list->items [2 * i] : NULL;
    if (key && key->type == NODE_SCALAR && strlen (key->value) == key->length
    &&  key->length > 0 && key->length < 64 && config_showable (key->value)
    &&  strspn (key->value, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                            "0123456789_.-") == key->length)
        return config_field (buf, size, "wormholes", key->value);
    return config_field_item (buf, size, "wormholes", i);
}

//  A message about entry i's key, at the node of that key or at the entry.
static int
s_entry_fail (ctx_t *ctx, const node_t *list, size_t i, const char *key, const char *problem)
{
    char path [FIELD_MAX], field [FIELD_MAX];
    const node_t *entry = config_entry (list, i);
    const node_t *node = strcmp (key, "name") == 0 ? s_entry_name (list, i)
                       : entry->type == NODE_MAPPING ? config_find (entry, key) : NULL;
    config_field (field, sizeof field, config_entry_path (path, sizeof path, list, i), key);
    return config_fail (ctx, node ? node : entry, field, "%s", problem);
}

static int
s_check_names (ctx_t *ctx, const config_t *self, const node_t *list)
{
    char problem [200];
    int rc = 0;
    for (size_t i = 0; i < self->wormhole_count; i++) {
        if (!*self->wormholes [i].name)
            continue;               //  no valid name: its message is given
        ssize_t first = s_wormhole_index (self, self->wormholes [i].name);
        if ((size_t) first != i) {
            snprintf (problem, sizeof problem, "duplicate name %s (first at line %d)",
                      config_echo (ctx, self->wormholes [i].name), self->wormholes [first].line);
            rc = s_entry_fail (ctx, list, i, "name", problem);
        }
    }
    return rc;
}

//  A wormhole's name for a message, or its place in the list if it looks like a key.
static const char *
s_chain_name (const config_t *self, const wormhole_conf_t *wh, char *buf, size_t size)
{
    if (config_showable (wh->name))
        return wh->name;
    snprintf (buf, size, "wormholes[%zu]", (size_t) (wh - self->wormholes));
    return buf;
}

//  Relays by name must name another wormhole.
static int
s_check_relays (ctx_t *ctx, const config_t *self, const node_t *list)
{
    char problem [200];
    int rc = 0;
    for (size_t i = 0; i < self->wormhole_count; i++) {
        const wormhole_conf_t *wh = &self->wormholes [i];
        if (wh->handler.kind != CONFIG_RELAY_WORMHOLE)
            continue;
        ssize_t target = s_wormhole_index (self, wh->handler.relay_wormhole);
        if (target < 0) {
            snprintf (problem, sizeof problem, "no wormhole is named %s",
                      config_echo (ctx, wh->handler.relay_wormhole));
            rc = s_entry_fail (ctx, list, i, "relay", problem);
        }
        else
        if ((size_t) target == i)
            rc = s_entry_fail (ctx, list, i, "relay", "a wormhole cannot relay to itself");
    }
    return rc;
}

//  Each wormhole relays to at most one other, so following the chain from a
//  wormhole on a loop comes back to it within wormhole_count steps.
static int
s_check_loops (ctx_t *ctx, const config_t *self, const node_t *list)
{
    char field [FIELD_MAX];
    int rc = 0;
    for (size_t i = 0; i < self->wormhole_count; i++) {
        const wormhole_conf_t *wh = &self->wormholes [i];
        char chain [512] = "relay loop: ";
        config_append (chain, sizeof chain, s_chain_name (self, wh, field, sizeof field));
        bool first = true;          //  a loop is told once, at its first wormhole
        for (size_t steps = 0; steps < self->wormhole_count
                            && wh->handler.kind == CONFIG_RELAY_WORMHOLE; steps++) {
            ssize_t next = s_wormhole_index (self, wh->handler.relay_wormhole);
            if (next < 0 || (steps == 0 && (size_t) next == i))
                break;              //  s_check_relays tells of these
            wh = &self->wormholes [next];
            first = first && wh >= &self->wormholes [i];
            config_append (chain, sizeof chain, " -> ");
            config_append (chain, sizeof chain, s_chain_name (self, wh, field, sizeof field));
            if (wh == &self->wormholes [i]) {
                if (first)
                    rc = s_entry_fail (ctx, list, i, "relay", chain);
                break;
            }
        }
    }
    return rc;
}

//  ---------------------------------------------------------------------
//  The top level

static const char *const s_top_keys [] = {
    "log_level", "trace", "workers", "proxies", "wormholes",
    "log_destinations",
    NULL
};

//  A list of entries, or nothing (an empty list). *count = entries.
static int
s_want_list (ctx_t *ctx, const node_t *node, const char *field, size_t *count)
{
    *count = 0;
    if (config_is_null (node))
        return 0;
    if (node->type != NODE_SEQUENCE)
        return config_fail (ctx, node, field, "expected a list, got %s", config_node_kind (node));
    *count = node->count;
    return 0;
}

static int
s_parse_settings (ctx_t *ctx, const node_t *root, config_t *self)
{
    const node_t *node;
    if ((node = config_find (root, "log_level"))) {
        int level;
        static const char *const levels [] = { "error", "warn", "info", "debug", NULL };
        if (config_get_choice (ctx, node, "log_level", levels, "error, warn, info or debug", &level))
            return -1;
        self->log_level = (log_level_t) level;
        self->has_log_level = true;
    }
    if ((node = config_find (root, "trace"))) {
        if (config_want_scalar (ctx, node, "trace", "a ZeroMQ endpoint"))
            return -1;
        if (!strstr (node->value, "://"))
            return config_fail (ctx, node, "trace", "%s is not a ZeroMQ endpoint "
                                "(transport://address, as tcp://127.0.0.1:5555)",
                                config_echo (ctx, node->value));
        self->trace_endpoint = strdup (node->value);
        if (!self->trace_endpoint)
            return config_fail (ctx, node, "trace", "out of memory");
    }
    if ((node = config_find (root, "workers"))
    &&  config_get_int (ctx, node, "workers", 0, MAX_WORKERS, &self->workers))
        return -1;
    if ((node = config_find (root, "log_destinations"))
    &&  config_get_bool (ctx, node, "log_destinations", &self->log_destinations))
        return -1;
    return 0;
}

static int
s_parse_proxies (ctx_t *ctx, const node_t *list, config_t *self)
{
    size_t count;
    if (s_want_list (ctx, list, "proxies", &count))
        return -1;
    if (count == 0)
        return 0;
    self->proxies = calloc (count, sizeof *self->proxies);
    if (!self->proxies)
        return config_fail (ctx, list, "proxies", "out of memory");
    char path [FIELD_MAX];
    int rc = 0;
    for (size_t i = 0; i < count; i++) {
        self->proxy_count = i + 1;
        if (config_parse_proxy (ctx, list->items [i],
                                config_field_item (path, sizeof path, "proxies", i),
                                &self->proxies [i]))
            rc = -1;
    }
    return rc;
}

//  wormholes: a list of entries, or the original's named form (a mapping
//  name -> settings).
static int
s_parse_wormholes (ctx_t *ctx, const node_t *list, config_t *self)
{
    size_t count = 0;
    if (list->type == NODE_MAPPING) {
        count = list->count / 2;
        for (size_t i = 0; i < count; i++)
            if (list->items [2 * i]->type != NODE_SCALAR)
                return config_fail (ctx, list->items [2 * i], "wormholes",
                                    "a wormhole's name must be a plain word, not %s",
                                    config_node_kind (list->items [2 * i]));
    }
    else
    if (s_want_list (ctx, list, "wormholes", &count))
        return -1;
    if (count == 0)
        return 0;
    self->wormholes = calloc (count, sizeof *self->wormholes);
    if (!self->wormholes)
        return config_fail (ctx, list, "wormholes", "out of memory");
    char path [FIELD_MAX];
    int rc = 0;
    for (size_t i = 0; i < count; i++) {
        //  Counted before parsing so that destroy frees a half-parsed entry.
        self->wormhole_count = i + 1;
        const node_t *named = list->type == NODE_MAPPING ? list->items [2 * i] : NULL;
        if (config_parse_wormhole (ctx, config_entry (list, i), config_entry_path (path, sizeof path, list, i),
                                   named, &self->wormholes [i]))
            rc = -1;
    }
    if (s_check_names (ctx, self, list))
        rc = -1;
    if (s_check_relays (ctx, self, list))
        rc = -1;
    if (s_check_loops (ctx, self, list))
        rc = -1;
    return rc;
}

static int
s_parse_root (ctx_t *ctx, const node_t *root, config_t *self)
{
    if (!root || config_is_null (root))
        return config_fail_at (ctx, 1, 1, "config",
                               "empty file (expected a mapping with proxies and/or wormholes)");
    if (config_want_mapping (ctx, root, "config"))
        return -1;
    //  An unknown key is reported, and the rest is checked all the same.
    int rc = config_check_keys (ctx, root, "", s_top_keys);
    if (s_parse_settings (ctx, root, self))
        rc = -1;
    const node_t *node;
    if ((node = config_find (root, "proxies")) && s_parse_proxies (ctx, node, self))
        rc = -1;
    if ((node = config_find (root, "wormholes")) && s_parse_wormholes (ctx, node, self))
        rc = -1;
    if (rc == 0 && self->proxy_count == 0 && self->wormhole_count == 0)
        return config_fail (ctx, root, "config", "needs at least one proxy or wormhole");
    //  (Entries that failed have port 0 where they failed: those are skipped.)
    if (config_check_ports (ctx, self, config_find (root, "proxies"),
                            config_find (root, "wormholes")))
        rc = -1;
    return rc;
}

//  ---------------------------------------------------------------------
//  Public API

config_t *
config_parse (const char *text, size_t len, const char *source, char *err, size_t errlen)
{
    //  (on the stack: about 16 kB, and no allocation to fail)
    config_message_t messages [CONFIG_MAX_MESSAGES];
    ctx_t ctx = {
        .source = source ? source : "<default>",
        .text = text ? text : "",
        .len = text ? len : 0,
        .err = err,
        .errlen = errlen,
        .messages = messages
    };
    if (err && errlen)
        err [0] = 0;
    config_t *self = calloc (1, sizeof *self);
    if (!self || !(self->source = strdup (ctx.source))) {
        free (self);
        config_fail_at (&ctx, 1, 1, "config", "out of memory");
        config_messages_join (&ctx);
        return NULL;
    }
    self->log_level = LOG_LEVEL_INFO;
    node_t *root = NULL;
    int rc = config_tree_load (&ctx, &root);
    if (rc == 0)
        rc = s_parse_root (&ctx, root, self);
    config_node_destroy (&root);
    if (rc || ctx.message_total)
        config_destroy (&self);
    config_messages_join (&ctx);
    return self;
}

//  A message about the file itself, which has no line to point at.
static void
s_file_error (char *err, size_t errlen, const char *path, const char *what, const char *why)
{
    if (err && errlen)
        snprintf (err, errlen, "%s: %s: %s", path, what, why);
}

config_t *
config_load (const char *path, char *err, size_t errlen)
{
    FILE *file = fopen (path, "rb");
    if (!file) {
        s_file_error (err, errlen, path, "cannot open", strerror (errno));
        return NULL;
    }
    //  Read in chunks: the file may be a pipe or a FIFO with no known size.
    size_t size = 0, capacity = 0;
    char *text = NULL;
    int problem = 0;
    while (!problem) {
        if (size == capacity) {
            size_t more = capacity ? capacity * 2 : 4096;
            char *bigger = more > MAX_FILE_SIZE ? NULL : malloc (more);
            if (!bigger) {
                problem = more > MAX_FILE_SIZE ? EFBIG : ENOMEM;
                break;
            }
            //  Copy rather than realloc so that no stray copy of the key is left behind.
            if (text) {
                memcpy (bigger, text, size);
                explicit_bzero (text, size);
                free (text);
            }
            text = bigger;
            capacity = more;
        }
        size_t got = fread (text + size, 1, capacity - size, file);
        size += got;
        if (got == 0) {
            if (ferror (file))
                problem = errno ? errno : EIO;
            break;
        }
    }
    struct stat st;
    bool shared = fstat (fileno (file), &st) == 0 && S_ISREG (st.st_mode)
               && (st.st_mode & (S_IRWXG | S_IRWXO));
    fclose (file);
    config_t *self = NULL;
    if (problem == EFBIG)
        s_file_error (err, errlen, path, "cannot read", "larger than 4 MiB");
    else
    if (problem)
        s_file_error (err, errlen, path, "cannot read", strerror (problem));
    else
        self = config_parse (text, size, path, err, errlen);
    //  The keys are only as secret as the file (ssh refuses such a key file).
    if (self && shared && self->wormhole_count > 0)
        log_warn ("%s: other users can read or change this file (mode %03o), and with it the "
                  "wormholes' keys: chmod 600 %s", path, (unsigned) (st.st_mode & 0777), path);
    if (text) {
        explicit_bzero (text, capacity);
        free (text);
    }
    return self;
}

void
config_destroy (config_t **self_p)
{
    config_t *self = *self_p;
    if (!self)
        return;
    for (size_t i = 0; i < self->wormhole_count; i++) {
        free (self->wormholes [i].extra_ports);
        config_handler_free (&self->wormholes [i].handler);
    }
    for (size_t i = 0; i < self->proxy_count; i++)
        config_handler_free (&self->proxies [i].handler);
    if (self->wormholes)
        explicit_bzero (self->wormholes, self->wormhole_count * sizeof *self->wormholes);
    free (self->wormholes);
    free (self->proxies);
    free (self->trace_endpoint);
    free (self->source);
    free (self);
    *self_p = NULL;
}

const wormhole_conf_t *
config_wormhole (const config_t *self, const char *name)
{
    ssize_t index = self && name ? s_wormhole_index (self, name) : -1;
    return index < 0 ? NULL : &self->wormholes [index];
}
