/*  config — loads wormholes.yaml into plain structs and validates it.

    The text is first read with libyaml's event parser into a small tree that
    keeps each node's position, so that every message can point at the node it
    is about; then each section is checked against the schema in config.h and
    the defaults are filled in; last come the checks across wormholes (unique
    names, relay targets, relay loops). Anchors and aliases are refused: the
    schema never needs them and they would let a small file expand into a huge
    one. Scalars are wiped before they are freed because one of them is a key.
*/
#include "config/config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/types.h>
#include <yaml.h>

#define MAX_DEPTH        16                 //  the schema needs 4 levels
#define MAX_FILE_SIZE    (4 * 1024 * 1024)     //  "4 MiB" in its message
#define MAX_EXTRA_PORTS  256
#define MAX_WORKERS      64
#define MAX_HANDOVER_S   (7 * 24 * 3600)
#define MAX_PROBE_S      (24 * 3600)
#define MAX_CONNECT_S    600
#define FIELD_MAX        160

//  ---------------------------------------------------------------------
//  The node tree

typedef enum { NODE_SCALAR, NODE_SEQUENCE, NODE_MAPPING } node_type_t;

typedef struct node_t node_t;
struct node_t {
    node_type_t type;
    int line, column;               //  1-based
    char *value;                    //  scalar text, NUL-terminated
    size_t length;
    bool plain;                     //  unquoted scalar: may be null
    node_t **items;                 //  sequence: items; mapping: key, value, key, value...
    size_t count, capacity;
};

static void
s_node_destroy (node_t **self_p)
{
    node_t *self = *self_p;
    if (!self)
        return;
    for (size_t i = 0; i < self->count; i++)
        s_node_destroy (&self->items [i]);
    free (self->items);
    if (self->value) {
        explicit_bzero (self->value, self->length);
        free (self->value);
    }
    free (self);
    *self_p = NULL;
}

static int
s_node_append (node_t *parent, node_t *child)
{
    if (parent->count == parent->capacity) {
        size_t capacity = parent->capacity ? parent->capacity * 2 : 8;
        node_t **items = realloc (parent->items, capacity * sizeof *items);
        if (!items)
            return -1;
        parent->items = items;
        parent->capacity = capacity;
    }
    parent->items [parent->count++] = child;
    return 0;
}

//  ---------------------------------------------------------------------
//  Error reporting: the first failure writes the one message

typedef struct {
    const char *source;
    const char *text;               //  to place reader errors, which have only an offset
    size_t len;
    char *err;
    size_t errlen;
    char echo [96];                 //  s_echo()'s result, one per message
} ctx_t;

static int
s_fail_at (ctx_t *ctx, int line, int column, const char *field, const char *format, ...)
    __attribute__ ((format (printf, 5, 6)));

static int
s_fail_at (ctx_t *ctx, int line, int column, const char *field, const char *format, ...)
{
    char problem [512];
    va_list args;
    va_start (args, format);
    vsnprintf (problem, sizeof problem, format, args);
    va_end (args);
    if (ctx->err && ctx->errlen)
        snprintf (ctx->err, ctx->errlen, "%s:%d:%d: %s: %s",
                  ctx->source, line, column, field, problem);
    return -1;
}

#define s_fail(ctx, node, field, ...) \
    s_fail_at ((ctx), (node)->line, (node)->column, (field), __VA_ARGS__)

//  Appends as much of text as fits. A path only labels a message, so an
//  overlong one (an unknown key can be long) is cut short, not an error.
static void
s_append (char *buf, size_t size, const char *text)
{
    size_t used = strlen (buf);
    size_t room = size - 1 - used;
    size_t len = strlen (text);
    len = len < room ? len : room;
    memcpy (buf + used, text, len);
    buf [used + len] = 0;
}

//  "parent.child", or "child" at the top level.
static const char *
s_path (char *buf, size_t size, const char *parent, const char *child)
{
    buf [0] = 0;
    if (*parent) {
        s_append (buf, size, parent);
        s_append (buf, size, ".");
    }
    s_append (buf, size, child);
    return buf;
}

static const char *
s_index_path (char *buf, size_t size, const char *parent, size_t index)
{
    char suffix [32];
    snprintf (suffix, sizeof suffix, "[%zu]", index);
    buf [0] = 0;
    s_append (buf, size, parent);
    s_append (buf, size, suffix);
    return buf;
}

static int
s_hex_digit (char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

//  Whether a value may be quoted in a message. A key pasted into the wrong
//  field, or swallowed by an unclosed quote, must not show up there: so no
//  run of 16 or more hex digits, and nothing spanning lines.
static bool
s_showable (const char *value)
{
    size_t run = 0;
    for (const char *p = value; *p; p++) {
        if ((unsigned char) *p < ' ' || *p == 0x7f)
            return false;
        run = s_hex_digit (*p) >= 0 ? run + 1 : 0;
        if (run >= 16)
            return false;
    }
    return true;
}

//  'value' (cut to 60 bytes) for a message, or "the value" if it may be a key.
static const char *
s_echo (ctx_t *ctx, const char *value)
{
    if (s_showable (value))
        snprintf (ctx->echo, sizeof ctx->echo, "'%.60s%s'", value, strlen (value) > 60 ? "..." : "");
    else
        snprintf (ctx->echo, sizeof ctx->echo, "the value");
    return ctx->echo;
}

//  ---------------------------------------------------------------------
//  YAML text -> node tree

static int
s_yaml_error (ctx_t *ctx, yaml_parser_t *parser)
{
    const char *problem = parser->problem ? parser->problem : "cannot parse";
    if (parser->error == YAML_MEMORY_ERROR)
        return s_fail_at (ctx, 1, 1, "yaml", "out of memory");
    if (parser->error == YAML_READER_ERROR) {
        //  The reader only knows the byte offset: count lines up to it.
        int line = 1, column = 1;
        for (size_t i = 0; i < parser->problem_offset && i < ctx->len; i++) {
            if (ctx->text [i] == '\n') {
                line++;
                column = 1;
            }
            else
                column++;
        }
        return s_fail_at (ctx, line, column, "yaml", "%s", problem);
    }
    return s_fail_at (ctx, (int) parser->problem_mark.line + 1,
                      (int) parser->problem_mark.column + 1, "yaml", "%s", problem);
}

static node_t *
s_node_from_event (const yaml_event_t *event)
{
    node_t *node = calloc (1, sizeof *node);
    if (!node)
        return NULL;
    node->line = (int) event->start_mark.line + 1;
    node->column = (int) event->start_mark.column + 1;
    if (event->type == YAML_SCALAR_EVENT) {
        node->type = NODE_SCALAR;
        node->length = event->data.scalar.length;
        node->plain = event->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
        node->value = malloc (node->length + 1);
        if (!node->value) {
            free (node);
            return NULL;
        }
        memcpy (node->value, event->data.scalar.value, node->length);
        node->value [node->length] = 0;
    }
    else
        node->type = event->type == YAML_SEQUENCE_START_EVENT ? NODE_SEQUENCE : NODE_MAPPING;
    return node;
}

static const unsigned char *
s_event_anchor (const yaml_event_t *event)
{
    switch (event->type) {
        case YAML_SCALAR_EVENT:         return event->data.scalar.anchor;
        case YAML_SEQUENCE_START_EVENT: return event->data.sequence_start.anchor;
        case YAML_MAPPING_START_EVENT:  return event->data.mapping_start.anchor;
        default:                        return NULL;
    }
}

//  Handles one event; *root gets the document's top node. Returns -1 on error.
static int
s_tree_event (ctx_t *ctx, const yaml_event_t *event, node_t **root,
              node_t **stack, int *depth, int *documents)
{
    int line = (int) event->start_mark.line + 1;
    int column = (int) event->start_mark.column + 1;
    switch (event->type) {
        case YAML_DOCUMENT_START_EVENT:
            if (++*documents > 1)
                return s_fail_at (ctx, line, column, "yaml",
                                  "only one document is allowed in a config file");
            return 0;
        case YAML_ALIAS_EVENT:
            return s_fail_at (ctx, line, column, "yaml", "aliases are not supported");
        case YAML_SCALAR_EVENT:
        case YAML_SEQUENCE_START_EVENT:
        case YAML_MAPPING_START_EVENT: {
            if (s_event_anchor (event))
                return s_fail_at (ctx, line, column, "yaml", "anchors are not supported");
            node_t *node = s_node_from_event (event);
            if (!node)
                return s_fail_at (ctx, line, column, "yaml", "out of memory");
            if (*depth == 0)
                *root = node;
            else
            if (s_node_append (stack [*depth - 1], node)) {
                s_node_destroy (&node);
                return s_fail_at (ctx, line, column, "yaml", "out of memory");
            }
            if (event->type != YAML_SCALAR_EVENT) {
                if (*depth == MAX_DEPTH)
                    return s_fail_at (ctx, line, column, "yaml", "nesting is too deep");
                stack [(*depth)++] = node;
            }
            return 0;
        }
        case YAML_SEQUENCE_END_EVENT:
        case YAML_MAPPING_END_EVENT:
            (*depth)--;
            return 0;
        default:
            return 0;
    }
}

//  Returns 0 with *root set (NULL if the stream holds no document), or -1.
static int
s_tree_load (ctx_t *ctx, node_t **root)
{
    *root = NULL;
    yaml_parser_t parser;
    if (!yaml_parser_initialize (&parser))
        return s_fail_at (ctx, 1, 1, "yaml", "out of memory");
    yaml_parser_set_input_string (&parser, (const unsigned char *) ctx->text, ctx->len);

    node_t *stack [MAX_DEPTH];
    int depth = 0, documents = 0, rc = 0;
    bool done = false;
    while (!done && rc == 0) {
        yaml_event_t event;
        if (!yaml_parser_parse (&parser, &event)) {
            rc = s_yaml_error (ctx, &parser);
            break;
        }
        rc = s_tree_event (ctx, &event, root, stack, &depth, &documents);
        done = event.type == YAML_STREAM_END_EVENT;
        if (event.type == YAML_SCALAR_EVENT)
            explicit_bzero (event.data.scalar.value, event.data.scalar.length);
        yaml_event_delete (&event);
    }
    yaml_parser_delete (&parser);
    if (rc)
        s_node_destroy (root);
    return rc;
}

//  ---------------------------------------------------------------------
//  Typed access to nodes

static bool
s_streq (const char *a, const char *b)
{
    return strcmp (a, b) == 0;
}

static bool
s_is_null (const node_t *node)
{
    return node->type == NODE_SCALAR && node->plain
        && (node->length == 0 || s_streq (node->value, "~")
            || strcasecmp (node->value, "null") == 0);
}

static const char *
s_node_kind (const node_t *node)
{
    if (node->type == NODE_SEQUENCE)
        return "a list";
    if (node->type == NODE_MAPPING)
        return "a mapping";
    return s_is_null (node) ? "nothing" : "a scalar";
}

//  A non-null scalar, or a message saying what was expected.
static int
s_want_scalar (ctx_t *ctx, const node_t *node, const char *field, const char *what)
{
    if (node->type != NODE_SCALAR || s_is_null (node))
        return s_fail (ctx, node, field, "expected %s, got %s", what, s_node_kind (node));
    if (strlen (node->value) != node->length)
        return s_fail (ctx, node, field, "contains a NUL character");
    return 0;
}

//  Decimal digits only: no sign, no fraction, no leading zero (YAML 1.1 reads
//  those as octal, so they would be ambiguous).
static int
s_get_int (ctx_t *ctx, const node_t *node, const char *field, int min, int max, int *out)
{
    if (s_want_scalar (ctx, node, field, "an integer"))
        return -1;
    const char *text = node->value;
    bool digits = node->length > 0 && node->length <= 9
               && strspn (text, "0123456789") == node->length
               && !(text [0] == '0' && node->length > 1);
    long value = digits ? strtol (text, NULL, 10) : 0;
    if (!digits || value < min || value > max)
        return s_fail (ctx, node, field, "%s is not an integer from %d to %d",
                       s_echo (ctx, text), min, max);
    *out = (int) value;
    return 0;
}

static int
s_get_bool (ctx_t *ctx, const node_t *node, const char *field, bool *out)
{
    if (s_want_scalar (ctx, node, field, "true or false"))
        return -1;
    const char *text = node->value;
    if (strcasecmp (text, "true") == 0 || strcasecmp (text, "yes") == 0)
        *out = true;
    else
    if (strcasecmp (text, "false") == 0 || strcasecmp (text, "no") == 0)
        *out = false;
    else
        return s_fail (ctx, node, field, "%s is not true, false, yes or no", s_echo (ctx, text));
    return 0;
}

static int
s_get_hostport (ctx_t *ctx, const node_t *node, const char *field, hostport_t *out)
{
    if (s_want_scalar (ctx, node, field, "host:port"))
        return -1;
    char problem [400];
    if (hostport_parse (node->value, out, problem, sizeof problem)) {
        //  hostport_parse() quotes the text in its reason.
        if (!s_showable (node->value))
            return s_fail (ctx, node, field, "the value is not host:port");
        return s_fail (ctx, node, field, "%s", problem);
    }
    return 0;
}

//  Index of text in a NULL-terminated list of names, or -1.
static int
s_lookup (const char *const *names, const char *text)
{
    for (int i = 0; names [i]; i++)
        if (s_streq (names [i], text))
            return i;
    return -1;
}

//  One of a fixed list of words; the list is spelled out in the message.
static int
s_get_choice (ctx_t *ctx, const node_t *node, const char *field,
              const char *const *names, const char *spelled, int *out)
{
    if (s_want_scalar (ctx, node, field, spelled))
        return -1;
    int index = s_lookup (names, node->value);
    if (index < 0)
        return s_fail (ctx, node, field, "%s is not %s", s_echo (ctx, node->value), spelled);
    *out = index;
    return 0;
}

//  [min, max] or a single number n meaning [n, n].
static int
s_get_range (ctx_t *ctx, const node_t *node, const char *field, int min, int max,
             int *low, int *high)
{
    if (node->type == NODE_SCALAR && !s_is_null (node)) {
        if (s_get_int (ctx, node, field, min, max, low))
            return -1;
        *high = *low;
        return 0;
    }
    if (node->type != NODE_SEQUENCE || node->count != 2)
        return s_fail (ctx, node, field, "expected [min, max] or a single number");
    char item [FIELD_MAX];
    if (s_get_int (ctx, node->items [0], s_index_path (item, sizeof item, field, 0), min, max, low)
    ||  s_get_int (ctx, node->items [1], s_index_path (item, sizeof item, field, 1), min, max, high))
        return -1;
    if (*low > *high)
        return s_fail (ctx, node, field, "min %d is greater than max %d", *low, *high);
    return 0;
}

//  ---------------------------------------------------------------------
//  Mappings: known keys only, each once

static const node_t *
s_find (const node_t *map, const char *key)
{
    for (size_t i = 0; i + 1 < map->count; i += 2)
        if (s_streq (map->items [i]->value, key))
            return map->items [i + 1];
    return NULL;
}

static const node_t *
s_find_key (const node_t *map, const char *key)
{
    for (size_t i = 0; i + 1 < map->count; i += 2)
        if (s_streq (map->items [i]->value, key))
            return map->items [i];
    return NULL;
}

static int
s_want_mapping (ctx_t *ctx, const node_t *node, const char *field)
{
    if (node->type != NODE_MAPPING)
        return s_fail (ctx, node, field, "expected a mapping, got %s", s_node_kind (node));
    return 0;
}

//  Checks a mapping's keys; after this, s_find() can trust them.
static int
s_check_keys (ctx_t *ctx, const node_t *map, const char *path, const char *const *allowed)
{
    char field [FIELD_MAX];
    for (size_t i = 0; i + 1 < map->count; i += 2) {
        const node_t *key = map->items [i];
        if (key->type != NODE_SCALAR)
            return s_fail (ctx, key, *path ? path : "config",
                           "a key must be a plain word, not %s", s_node_kind (key));
        bool whole = strlen (key->value) == key->length;       //  no NUL inside
        bool named = whole && key->length && s_showable (key->value);
        s_path (field, sizeof field, path, named ? key->value : "(key)");
        if (!whole || s_lookup (allowed, key->value) < 0)
            return s_fail (ctx, key, field, "unknown key");
        for (size_t j = 0; j < i; j += 2)
            if (s_streq (map->items [j]->value, key->value))
                return s_fail (ctx, key, field, "duplicate key (first at line %d)",
                               map->items [j]->line);
    }
    return 0;
}

//  A required key's value, or a message placed at the mapping that lacks it.
static int
s_require (ctx_t *ctx, const node_t *map, const char *path, const char *key,
           const node_t **value)
{
    char field [FIELD_MAX];
    *value = s_find (map, key);
    if (!*value)
        return s_fail (ctx, map, s_path (field, sizeof field, path, key), "is required");
    return 0;
}

//  ---------------------------------------------------------------------
//  Handlers

//  In config_handler_type_t order, up to CONFIG_RELAY.
static const char *const s_handler_names [] = {
    "socks", "socks4", "socks5", "http", "relay", NULL
};

int
config_handler_parse (const char *name)
{
    return s_lookup (s_handler_names, name);
}

const char *
config_handler_name (config_handler_type_t kind)
{
    if (kind == CONFIG_RELAY_WORMHOLE)
        return "relay";
    return (unsigned) kind <= CONFIG_RELAY ? s_handler_names [kind] : "?";
}

static bool
s_valid_name (const char *name)
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
    if (s_want_scalar (ctx, node, field, "host:port"))
        return -1;
    const char *text = node->value;
    //  A wormhole name has neither ':' nor '[': anything else must be an address.
    if (strpbrk (text, ":[") || !allow_wormhole) {
        if (!strpbrk (text, ":["))
            return s_fail (ctx, node, field,
                           "must be host:port (a standalone proxy cannot relay to a wormhole)");
        conf->kind = CONFIG_RELAY;
        return s_get_hostport (ctx, node, field, &conf->relay_to);
    }
    if (!s_valid_name (text))
        return s_fail (ctx, node, field,
                       "%s is neither host:port nor a wormhole name", s_echo (ctx, text));
    conf->kind = CONFIG_RELAY_WORMHOLE;
    strcpy (conf->relay_wormhole, text);
    return 0;
}

//  handler (given as the node hnode under the key hkey, or absent: socks) and relay.
static int
s_parse_handler (ctx_t *ctx, const node_t *map, const char *path, const char *hkey,
                 const node_t *hnode, bool allow_wormhole, config_handler_t *conf)
{
    char field [FIELD_MAX];
    memset (conf, 0, sizeof *conf);
    conf->kind = CONFIG_SOCKS;
    if (hnode) {
        int kind;
        if (s_get_choice (ctx, hnode, s_path (field, sizeof field, path, hkey), s_handler_names,
                          "socks, socks4, socks5, http or relay", &kind))
            return -1;
        conf->kind = (config_handler_type_t) kind;
    }
    const node_t *relay = s_find (map, "relay");
    s_path (field, sizeof field, path, "relay");
    if (conf->kind != CONFIG_RELAY) {
        if (relay)
            return s_fail (ctx, relay, field, "only allowed with handler: relay");
        return 0;
    }
    if (!relay)
        return s_fail (ctx, map, field, "is required with handler: relay");
    return s_parse_relay (ctx, relay, field, allow_wormhole, conf);
}

//  ---------------------------------------------------------------------
//  Standalone proxies

static const char *const s_proxy_keys [] = { "listen", "handler", "relay", NULL };

static int
s_parse_proxy (ctx_t *ctx, const node_t *map, const char *path, proxy_conf_t *proxy)
{
    char field [FIELD_MAX];
    const node_t *node;
    if (s_want_mapping (ctx, map, path)
    ||  s_check_keys (ctx, map, path, s_proxy_keys))
        return -1;
    proxy->line = map->line;
    if (s_require (ctx, map, path, "listen", &node)
    ||  s_get_hostport (ctx, node, s_path (field, sizeof field, path, "listen"), &proxy->listen))
        return -1;
    if (s_require (ctx, map, path, "handler", &node)
    ||  s_parse_handler (ctx, map, path, "handler", node, false, &proxy->handler))
        return -1;
    return 0;
}

//  ---------------------------------------------------------------------
//  Wormholes

static const char *const s_wormhole_keys [] = {
    "name", "server", "wormhole_remote", "wormhole", "handler", "remote_handler", "relay",
    "extra_ports", "key", "reverse", "local_proxy", "handover_interval", "mimic",
    "mimic_padding", "probe_close_delay", "connect_timeout", NULL
};
static const char *const s_mode_names [] = { "aggregated", "distributed", NULL };
static const char *const s_mimic_names [] = { "random", "off", NULL };
static const char *const s_size_names [] = {
    "identity", "constant", "uniform", "gaussian", NULL
};
static const char *const s_delay_names [] = {
    "identity", "constant", "uniform", "gaussian", "exponential", NULL
};
static const char *const s_mimic_keys [] = { "size", "delay", NULL };

static void
s_wormhole_defaults (wormhole_conf_t *wh)
{
    memset (wh, 0, sizeof *wh);
    wh->mode = WORMHOLE_AGGREGATED;
    wh->handler.kind = CONFIG_SOCKS;
    wh->handover_min_s = 1200;
    wh->handover_max_s = 1800;
    wh->mimic = MIMIC_RANDOM;
    wh->probe_close_min_s = 60;
    wh->probe_close_max_s = 3000;
    wh->connect_timeout_s = 10;
}

//  Never puts the key text in a message, not even a part of it.
static int
s_parse_key (ctx_t *ctx, const node_t *node, const char *field, wormhole_conf_t *wh)
{
    if (node->type != NODE_SCALAR || s_is_null (node))
        return s_fail (ctx, node, field, "expected hex digits, got %s", s_node_kind (node));
    if (node->length != 32 && node->length != 48 && node->length != 64)
        return s_fail (ctx, node, field,
                       "must be 32, 48 or 64 hex digits (a 16, 24 or 32-byte key), not %zu",
                       node->length);
    for (size_t i = 0; i < node->length; i += 2) {
        int high = s_hex_digit (node->value [i]);
        int low = s_hex_digit (node->value [i + 1]);
        if (high < 0 || low < 0) {
            explicit_bzero (wh->key, sizeof wh->key);
            return s_fail (ctx, node, field, "must be hex digits only (0-9, a-f)");
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
        return s_fail (ctx, node, field, "expected a list of ports, got %s", s_node_kind (node));
    if (node->count > MAX_EXTRA_PORTS)
        return s_fail (ctx, node, field, "at most %d extra ports", MAX_EXTRA_PORTS);
    if (node->count == 0)
        return 0;
    wh->extra_ports = calloc (node->count, sizeof *wh->extra_ports);
    if (!wh->extra_ports)
        return s_fail (ctx, node, field, "out of memory");
    char item [FIELD_MAX];
    for (size_t i = 0; i < node->count; i++) {
        const node_t *port_node = node->items [i];
        s_index_path (item, sizeof item, field, i);
        int port;
        if (s_get_int (ctx, port_node, item, 1, 65535, &port))
            return -1;
        if (port == wh->wormhole_remote.port)
            return s_fail (ctx, port_node, item,
                           "port %d is already wormhole_remote's main port", port);
        for (size_t j = 0; j < i; j++)
            if (wh->extra_ports [j] == port)
                return s_fail (ctx, port_node, item, "duplicate port %d", port);
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
        if (s_get_choice (ctx, node, field, s_mimic_names,
                          "random, off or {size: S, delay: D}", &choice))
            return -1;
        wh->mimic = choice == 0 ? MIMIC_RANDOM : MIMIC_OFF;
        return 0;
    }
    if (node->type != NODE_MAPPING)
        return s_fail (ctx, node, field, "expected random, off or {size: S, delay: D}, got %s",
                       s_node_kind (node));
    char item [FIELD_MAX];
    const node_t *value;
    if (s_check_keys (ctx, node, field, s_mimic_keys))
        return -1;
    if (s_require (ctx, node, field, "size", &value)
    ||  s_get_choice (ctx, value, s_path (item, sizeof item, field, "size"), s_size_names,
                      "identity, constant, uniform or gaussian", &choice))
        return -1;
    wh->mimic_size = (config_mimic_size_t) choice;
    if (s_require (ctx, node, field, "delay", &value)
    ||  s_get_choice (ctx, value, s_path (item, sizeof item, field, "delay"), s_delay_names,
                      "identity, constant, uniform, gaussian or exponential", &choice))
        return -1;
    wh->mimic_delay = (config_mimic_delay_t) choice;
    wh->mimic = MIMIC_FIXED;
    return 0;
}

static int
s_parse_handover (ctx_t *ctx, const node_t *node, const char *field, wormhole_conf_t *wh)
{
    if (s_get_range (ctx, node, field, 0, MAX_HANDOVER_S, &wh->handover_min_s, &wh->handover_max_s))
        return -1;
    if (wh->handover_min_s == 0 && wh->handover_max_s != 0)
        return s_fail (ctx, node, field, "0 disables handovers: give 0 alone, or a min from 1");
    return 0;
}

//  name, addresses, mode and handler.
static int
s_parse_wormhole_route (ctx_t *ctx, const node_t *map, const char *path, wormhole_conf_t *wh)
{
    char field [FIELD_MAX];
    const node_t *node;
    if (s_require (ctx, map, path, "name", &node)
    ||  s_want_scalar (ctx, node, s_path (field, sizeof field, path, "name"), "a name"))
        return -1;
    if (!s_valid_name (node->value))
        return s_fail (ctx, node, field, "must be 1 to 63 characters of A-Z a-z 0-9 _ . -");
    strcpy (wh->name, node->value);

    if (s_require (ctx, map, path, "server", &node)
    ||  s_get_hostport (ctx, node, s_path (field, sizeof field, path, "server"), &wh->server))
        return -1;
    if (s_require (ctx, map, path, "wormhole_remote", &node)
    ||  s_get_hostport (ctx, node, s_path (field, sizeof field, path, "wormhole_remote"),
                        &wh->wormhole_remote))
        return -1;
    if ((node = s_find (map, "wormhole"))) {
        int mode;
        if (s_get_choice (ctx, node, s_path (field, sizeof field, path, "wormhole"), s_mode_names,
                          "aggregated or distributed", &mode))
            return -1;
        wh->mode = (wormhole_mode_t) mode;
    }
    //  `remote_handler` is the spelling of some of the original's examples.
    const char *hkey = "handler";
    node = s_find (map, "handler");
    const node_t *alias = s_find (map, "remote_handler");
    if (node && alias) {
        const node_t *second = s_find_key (map, "remote_handler");
        const node_t *first = s_find_key (map, "handler");
        if (second->line < first->line
        || (second->line == first->line && second->column < first->column))
            second = first;
        return s_fail (ctx, second, s_path (field, sizeof field, path, second->value),
                       "handler and remote_handler are the same setting: give only one");
    }
    if (alias) {
        node = alias;
        hkey = "remote_handler";
    }
    return s_parse_handler (ctx, map, path, hkey, node, true, &wh->handler);
}

//  Everything else: the key and the tunnel's behaviour.
static int
s_parse_wormhole_tunnel (ctx_t *ctx, const node_t *map, const char *path, wormhole_conf_t *wh)
{
    char field [FIELD_MAX];
    const node_t *node;
    if ((node = s_find (map, "extra_ports"))
    &&  s_parse_extra_ports (ctx, node, s_path (field, sizeof field, path, "extra_ports"), wh))
        return -1;
    if (s_require (ctx, map, path, "key", &node)
    ||  s_parse_key (ctx, node, s_path (field, sizeof field, path, "key"), wh))
        return -1;
    if ((node = s_find (map, "reverse"))) {
        if (s_get_bool (ctx, node, s_path (field, sizeof field, path, "reverse"), &wh->reverse))
            return -1;
        if (wh->reverse && wh->mode != WORMHOLE_AGGREGATED)
            return s_fail (ctx, node, field, "reverse: true requires wormhole: aggregated");
    }
    if ((node = s_find (map, "local_proxy"))) {
        if (s_get_hostport (ctx, node, s_path (field, sizeof field, path, "local_proxy"),
                            &wh->local_proxy))
            return -1;
        wh->has_local_proxy = true;
    }
    if ((node = s_find (map, "handover_interval"))
    &&  s_parse_handover (ctx, node, s_path (field, sizeof field, path, "handover_interval"), wh))
        return -1;
    if ((node = s_find (map, "mimic"))
    &&  s_parse_mimic (ctx, node, s_path (field, sizeof field, path, "mimic"), wh))
        return -1;
    if ((node = s_find (map, "mimic_padding"))) {
        if (s_get_bool (ctx, node, s_path (field, sizeof field, path, "mimic_padding"),
                        &wh->mimic_padding))
            return -1;
        //  Padding travels as NOP frames of the multiplexing layer.
        if (wh->mimic_padding && wh->mode != WORMHOLE_AGGREGATED)
            return s_fail (ctx, node, field, "mimic_padding: true requires wormhole: aggregated");
    }
    if ((node = s_find (map, "probe_close_delay"))
    &&  s_get_range (ctx, node, s_path (field, sizeof field, path, "probe_close_delay"),
                     1, MAX_PROBE_S, &wh->probe_close_min_s, &wh->probe_close_max_s))
        return -1;
    if ((node = s_find (map, "connect_timeout"))
    &&  s_get_int (ctx, node, s_path (field, sizeof field, path, "connect_timeout"),
                   1, MAX_CONNECT_S, &wh->connect_timeout_s))
        return -1;
    return 0;
}

static int
s_parse_wormhole (ctx_t *ctx, const node_t *map, const char *path, wormhole_conf_t *wh)
{
    s_wormhole_defaults (wh);
    if (s_want_mapping (ctx, map, path)
    ||  s_check_keys (ctx, map, path, s_wormhole_keys))
        return -1;
    wh->line = map->line;
    if (s_parse_wormhole_route (ctx, map, path, wh)
    ||  s_parse_wormhole_tunnel (ctx, map, path, wh))
        return -1;
    return 0;
}

//  ---------------------------------------------------------------------
//  Checks across wormholes

static ssize_t
s_wormhole_index (const config_t *self, const char *name)
{
    for (size_t i = 0; i < self->wormhole_count; i++)
        if (s_streq (self->wormholes [i].name, name))
            return (ssize_t) i;
    return -1;
}

static int
s_check_names (ctx_t *ctx, const config_t *self, const node_t *list)
{
    char field [FIELD_MAX];
    for (size_t i = 0; i < self->wormhole_count; i++) {
        ssize_t first = s_wormhole_index (self, self->wormholes [i].name);
        if ((size_t) first != i) {
            snprintf (field, sizeof field, "wormholes[%zu].name", i);
            return s_fail (ctx, s_find (list->items [i], "name"), field,
                           "duplicate name %s (first at line %d)",
                           s_echo (ctx, self->wormholes [i].name), self->wormholes [first].line);
        }
    }
    return 0;
}

//  A wormhole's name for a message, or its place in the list if it looks like a key.
static const char *
s_chain_name (const config_t *self, const wormhole_conf_t *wh, char *buf, size_t size)
{
    if (s_showable (wh->name))
        return wh->name;
    snprintf (buf, size, "wormholes[%zu]", (size_t) (wh - self->wormholes));
    return buf;
}

//  Relays by name must name another wormhole.
static int
s_check_relays (ctx_t *ctx, const config_t *self, const node_t *list)
{
    char field [FIELD_MAX];
    for (size_t i = 0; i < self->wormhole_count; i++) {
        const wormhole_conf_t *wh = &self->wormholes [i];
        if (wh->handler.kind != CONFIG_RELAY_WORMHOLE)
            continue;
        const node_t *node = s_find (list->items [i], "relay");
        snprintf (field, sizeof field, "wormholes[%zu].relay", i);
        ssize_t target = s_wormhole_index (self, wh->handler.relay_wormhole);
        if (target < 0)
            return s_fail (ctx, node, field, "no wormhole is named %s",
                           s_echo (ctx, wh->handler.relay_wormhole));
        if ((size_t) target == i)
            return s_fail (ctx, node, field, "a wormhole cannot relay to itself");
    }
    return 0;
}

//  Each wormhole relays to at most one other, so following the chain from a
//  wormhole on a loop comes back to it within wormhole_count steps.
static int
s_check_loops (ctx_t *ctx, const config_t *self, const node_t *list)
{
    char field [FIELD_MAX];
    for (size_t i = 0; i < self->wormhole_count; i++) {
        const wormhole_conf_t *wh = &self->wormholes [i];
        char chain [512] = "";
        s_append (chain, sizeof chain, s_chain_name (self, wh, field, sizeof field));
        for (size_t steps = 0; steps < self->wormhole_count
                            && wh->handler.kind == CONFIG_RELAY_WORMHOLE; steps++) {
            wh = &self->wormholes [s_wormhole_index (self, wh->handler.relay_wormhole)];
            s_append (chain, sizeof chain, " -> ");
            s_append (chain, sizeof chain, s_chain_name (self, wh, field, sizeof field));
            if (wh == &self->wormholes [i]) {
                snprintf (field, sizeof field, "wormholes[%zu].relay", i);
                return s_fail (ctx, s_find (list->items [i], "relay"), field,
                               "relay loop: %s", chain);
            }
        }
    }
    return 0;
}

//  ---------------------------------------------------------------------
//  The top level

static const char *const s_top_keys [] = {
    "log_level", "trace", "workers", "proxies", "wormholes", NULL
};

//  A list of entries, or nothing (an empty list). *count = entries.
static int
s_want_list (ctx_t *ctx, const node_t *node, const char *field, size_t *count)
{
    *count = 0;
    if (s_is_null (node))
        return 0;
    if (node->type != NODE_SEQUENCE)
        return s_fail (ctx, node, field, "expected a list, got %s", s_node_kind (node));
    *count = node->count;
    return 0;
}

static int
s_parse_settings (ctx_t *ctx, const node_t *root, config_t *self)
{
    const node_t *node;
    if ((node = s_find (root, "log_level"))) {
        int level;
        static const char *const levels [] = { "error", "warn", "info", "debug", NULL };
        if (s_get_choice (ctx, node, "log_level", levels, "error, warn, info or debug", &level))
            return -1;
        self->log_level = (log_level_t) level;
        self->has_log_level = true;
    }
    if ((node = s_find (root, "trace"))) {
        if (s_want_scalar (ctx, node, "trace", "a ZeroMQ endpoint"))
            return -1;
        if (!strstr (node->value, "://"))
            return s_fail (ctx, node, "trace", "%s is not a ZeroMQ endpoint "
                           "(transport://address, as tcp://127.0.0.1:5555)",
                           s_echo (ctx, node->value));
        self->trace_endpoint = strdup (node->value);
        if (!self->trace_endpoint)
            return s_fail (ctx, node, "trace", "out of memory");
    }
    if ((node = s_find (root, "workers"))
    &&  s_get_int (ctx, node, "workers", 0, MAX_WORKERS, &self->workers))
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
        return s_fail (ctx, list, "proxies", "out of memory");
    char path [FIELD_MAX];
    for (size_t i = 0; i < count; i++) {
        self->proxy_count = i + 1;
        if (s_parse_proxy (ctx, list->items [i], s_index_path (path, sizeof path, "proxies", i),
                           &self->proxies [i]))
            return -1;
    }
    return 0;
}

static int
s_parse_wormholes (ctx_t *ctx, const node_t *list, config_t *self)
{
    size_t count;
    if (s_want_list (ctx, list, "wormholes", &count))
        return -1;
    if (count == 0)
        return 0;
    self->wormholes = calloc (count, sizeof *self->wormholes);
    if (!self->wormholes)
        return s_fail (ctx, list, "wormholes", "out of memory");
    char path [FIELD_MAX];
    for (size_t i = 0; i < count; i++) {
        //  Counted before parsing so that destroy frees a half-parsed entry.
        self->wormhole_count = i + 1;
        if (s_parse_wormhole (ctx, list->items [i], s_index_path (path, sizeof path, "wormholes", i),
                              &self->wormholes [i]))
            return -1;
    }
    if (s_check_names (ctx, self, list)
    ||  s_check_relays (ctx, self, list)
    ||  s_check_loops (ctx, self, list))
        return -1;
    return 0;
}

static int
s_parse_root (ctx_t *ctx, const node_t *root, config_t *self)
{
    if (!root || s_is_null (root))
        return s_fail_at (ctx, 1, 1, "config",
                          "empty file (expected a mapping with proxies and/or wormholes)");
    if (s_want_mapping (ctx, root, "config")
    ||  s_check_keys (ctx, root, "", s_top_keys)
    ||  s_parse_settings (ctx, root, self))
        return -1;
    const node_t *node;
    if ((node = s_find (root, "proxies")) && s_parse_proxies (ctx, node, self))
        return -1;
    if ((node = s_find (root, "wormholes")) && s_parse_wormholes (ctx, node, self))
        return -1;
    if (self->proxy_count == 0 && self->wormhole_count == 0)
        return s_fail (ctx, root, "config", "needs at least one proxy or wormhole");
    return 0;
}

//  ---------------------------------------------------------------------
//  Public API

config_t *
config_parse (const char *text, size_t len, const char *source, char *err, size_t errlen)
{
    ctx_t ctx = {
        .source = source ? source : "<default>",
        .text = text ? text : "",
        .len = text ? len : 0,
        .err = err,
        .errlen = errlen
    };
    if (err && errlen)
        err [0] = 0;
    config_t *self = calloc (1, sizeof *self);
    if (!self || !(self->source = strdup (ctx.source))) {
        free (self);
        s_fail_at (&ctx, 1, 1, "config", "out of memory");
        return NULL;
    }
    self->log_level = LOG_LEVEL_INFO;
    node_t *root = NULL;
    int rc = s_tree_load (&ctx, &root);
    if (rc == 0)
        rc = s_parse_root (&ctx, root, self);
    s_node_destroy (&root);
    if (rc)
        config_destroy (&self);
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
    fclose (file);
    config_t *self = NULL;
    if (problem == EFBIG)
        s_file_error (err, errlen, path, "cannot read", "larger than 4 MiB");
    else
    if (problem)
        s_file_error (err, errlen, path, "cannot read", strerror (problem));
    else
        self = config_parse (text, size, path, err, errlen);
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
    for (size_t i = 0; i < self->wormhole_count; i++)
        free (self->wormholes [i].extra_ports);
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

//  ---------------------------------------------------------------------
//  Summary

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
    fprintf (out, "  extra_ports:");
    for (size_t i = 0; i < wh->extra_port_count; i++)
        fprintf (out, "%s %u", i ? "," : "", wh->extra_ports [i]);
    fprintf (out, "%s\n", wh->extra_port_count ? "" : " none");
    fprintf (out, "  wormhole: %s\n", s_mode_names [wh->mode]);
    s_print_handler (out, "  handler: ", &wh->handler);
    fprintf (out, "  key: (%zu bytes)\n", wh->key_len);
    fprintf (out, "  reverse: %s\n", wh->reverse ? "yes" : "no");
    if (wh->has_local_proxy)
        s_print_hostport (out, "  local_proxy: ", &wh->local_proxy);
    else
        fprintf (out, "  local_proxy: none\n");
    s_print_range (out, "  handover_interval: ", wh->handover_min_s, wh->handover_max_s);
    if (wh->mimic == MIMIC_FIXED)
        fprintf (out, "  mimic: size %s, delay %s\n",
                 s_size_names [wh->mimic_size], s_delay_names [wh->mimic_delay]);
    else
        fprintf (out, "  mimic: %s\n", s_mimic_names [wh->mimic]);
    fprintf (out, "  mimic_padding: %s\n", wh->mimic_padding ? "yes" : "no");
    s_print_range (out, "  probe_close_delay: ", wh->probe_close_min_s, wh->probe_close_max_s);
    fprintf (out, "  connect_timeout: %d s\n", wh->connect_timeout_s);
}

void
config_print (const config_t *self, FILE *out)
{
    static const char *const levels [] = { "error", "warn", "info", "debug" };
    fprintf (out, "config: %s\n", self->source);
    fprintf (out, "log_level: %s%s\n", levels [self->log_level],
             self->has_log_level ? "" : " (default)");
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
    }
    for (size_t i = 0; i < self->wormhole_count; i++)
        s_print_wormhole (out, &self->wormholes [i]);
}
