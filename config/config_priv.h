/*  config_priv — what the parts of the config loader use of each other
    (config_yaml.c: the text as a tree of nodes, and the one message;
    config_values.c: typed values out of the tree; config_fields.c: the
    entries of proxies and wormholes; config.c: the top level and the checks
    across wormholes; config_print.c: the summary). Not for use outside config/.

    Every function that can fail adds a message through ctx and returns -1;
    field is the path that labels the message, such as wormholes[1].key.
    Within one value the first failure wins (the caller returns at once);
    the fields of an entry, and the entries themselves, are checked on after
    a failure, so that one run reports every mistake (config_parse() joins
    the messages, in the order of the file).
*/
#ifndef MK_CONFIG_PRIV_H
#define MK_CONFIG_PRIV_H

#include <stdbool.h>
#include <stddef.h>

#include "config/config.h"

#define FIELD_MAX        160            //  room for a field path

//  --- config_yaml.c: the node tree

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

#define CONFIG_MAX_MESSAGES 32            //  then "... and N more"
#define CONFIG_MESSAGE_MAX  480

typedef struct {
    int line, column;
    size_t order;                   //  found as the how-many-th, for equal places
    char text [CONFIG_MESSAGE_MAX];
} config_message_t;

typedef struct {
    const char *source;
    const char *text;               //  to place reader errors, which have only an offset
    size_t len;
    char *err;
    size_t errlen;
    char echo [96];                 //  config_echo()'s result, one per message
    config_message_t *messages;     //  CONFIG_MAX_MESSAGES of them
    size_t message_count;           //  stored
    size_t message_total;           //  found, with those past the limit
} ctx_t;

//  Reads ctx->text into a tree. Returns 0 with *root set (NULL if the
//  stream holds no document), or -1.
int config_tree_load (ctx_t *ctx, node_t **root);
//  Frees a tree, wiping its scalars.
void config_node_destroy (node_t **self_p);

//  --- config_yaml.c: the one message

//  Adds "SOURCE:LINE:COLUMN: FIELD: problem"; returns -1.
int config_fail_at (ctx_t *ctx, int line, int column, const char *field, const char *format, ...)
    __attribute__ ((format (printf, 5, 6)));
#define config_fail(ctx, node, field, ...) \
    config_fail_at ((ctx), (node)->line, (node)->column, (field), __VA_ARGS__)

//  The messages, in the order of their lines, into ctx->err (one a line).
void config_messages_join (ctx_t *ctx);

//  Appends as much of text as fits in buf (size bytes).
void config_append (char *buf, size_t size, const char *text);
//  Field paths: "parent.child" ("child" at the top level), "parent[index]".
const char *config_field (char *buf, size_t size, const char *parent, const char *child);
const char *config_field_item (char *buf, size_t size, const char *parent, size_t index);
//  Whether a value may be quoted in a message (it cannot be a key).
bool config_showable (const char *value);
//  'value' for a message, or "the value" if it may be a key.
const char *config_echo (ctx_t *ctx, const char *value);

//  --- config_values.c

bool config_is_null (const node_t *node);
//  "a list", "a mapping", "nothing" or "a scalar", for messages.
const char *config_node_kind (const node_t *node);
//  A non-null scalar, or a message saying that `what` was expected.
int config_want_scalar (ctx_t *ctx, const node_t *node, const char *field, const char *what);
int config_get_int (ctx_t *ctx, const node_t *node, const char *field, int min, int max, int *out);
int config_get_bool (ctx_t *ctx, const node_t *node, const char *field, bool *out);
int config_get_hostport (ctx_t *ctx, const node_t *node, const char *field, hostport_t *out);
//  Index of text in a NULL-terminated list of names, or -1.
int config_lookup (const char *const *names, const char *text);
//  One of names; spelled lists them for the message.
int config_get_choice (ctx_t *ctx, const node_t *node, const char *field,
                       const char *const *names, const char *spelled, int *out);
//  [min, max] or a single number n meaning [n, n].
int config_get_range (ctx_t *ctx, const node_t *node, const char *field, int min, int max,
                      int *low, int *high);

//  A mapping's value / key node for a key, or NULL.
const node_t *config_find (const node_t *map, const char *key);
const node_t *config_find_key (const node_t *map, const char *key);
int config_want_mapping (ctx_t *ctx, const node_t *node, const char *field);
//  Known keys only (allowed: NULL-terminated), each once.
int config_check_keys (ctx_t *ctx, const node_t *map, const char *path, const char *const *allowed);
//  A required key's value, or a message placed at the mapping that lacks it.
int config_require (ctx_t *ctx, const node_t *map, const char *path, const char *key,
                    const node_t **value);

//  --- config_fields.c

int config_parse_proxy (ctx_t *ctx, const node_t *map, const char *path, proxy_conf_t *proxy);
//  The top level's trace_public, metrics, metrics_public and handshake_timeout.
int config_parse_observe (ctx_t *ctx, const node_t *root, config_t *self);
//  Fills in the defaults, then what the entry gives; named: the key that
//  names it in the named form of wormholes: (NULL: the entry's name:).
int config_parse_wormhole (ctx_t *ctx, const node_t *map, const char *path, const node_t *named,
                           wormhole_conf_t *wh);

//  Names: 1 to 63 characters of A-Z a-z 0-9 _ . -
bool config_valid_name (const char *name);

//  --- config_wormhole_names.c

//  wh->name: from named (the key of the named form), or the entry's name:.
int config_parse_wormhole_name (ctx_t *ctx, const node_t *map, const char *path,
                                const node_t *named, wormhole_conf_t *wh);
//  listen: host:port, or an address alone for wormhole_remote's port.
int config_parse_listen (ctx_t *ctx, const node_t *node, const char *field, wormhole_conf_t *wh);

//  --- config.c

//  Entry i of wormholes: (a list, or the named form: a mapping name -> settings).
const node_t *config_entry (const node_t *list, size_t i);
//  Its path: "wormholes[i]", or "wormholes.NAME" in the named form.
const char *config_entry_path (char *buf, size_t size, const node_t *list, size_t i);

//  --- config_ports.c

//  No two listeners of the config on one port where they can meet (proxies
//  and wormholes as parsed from the nodes proxies and wormholes, or NULL).
int config_check_ports (ctx_t *ctx, const config_t *self, const node_t *proxies,
                        const node_t *wormholes);
//  Frees what a handler's allow:, deny: and users: hold (the passwords wiped).
void config_handler_free (config_handler_t *conf);

//  The words of the settings, in the order of their enums.
//  --- config_stealth.c: wire:, sni:, early_data:, fallback:
#define CONFIG_DEFAULT_SNI "www.example.com"
int config_parse_stealth (ctx_t *ctx, const node_t *map, const char *path, wormhole_conf_t *wh);
extern const char *const config_wire_names [];

extern const char *const config_mode_names [];
extern const char *const config_protocol_names [];
extern const char *const config_cipher_names [];
extern const char *const config_mimic_names [];
extern const char *const config_size_names [];
extern const char *const config_delay_names [];

#endif
