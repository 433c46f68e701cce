/*  config_values — typed values out of the node tree: integers, booleans,
    host:port, words from a list, ranges, and mappings with known keys only.
    Each getter either fills its result or writes the one message.
*/
#include "config/config_priv.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

//  ---------------------------------------------------------------------
//  Scalars

static bool
s_streq (const char *a, const char *b)
{
    return strcmp (a, b) == 0;
}

bool
config_is_null (const node_t *node)
{
    return node->type == NODE_SCALAR && node->plain
        && (node->length == 0 || s_streq (node->value, "~")
            || strcasecmp (node->value, "null") == 0);
}

const char *
config_node_kind (const node_t *node)
{
    if (node->type == NODE_SEQUENCE)
        return "a list";
    if (node->type == NODE_MAPPING)
        return "a mapping";
    return config_is_null (node) ? "nothing" : "a scalar";
}

//  A non-null scalar, or a message saying what was expected.
int
config_want_scalar (ctx_t *ctx, const node_t *node, const char *field, const char *what)
{
    if (node->type != NODE_SCALAR || config_is_null (node))
        return config_fail (ctx, node, field, "expected %s, got %s", what, config_node_kind (node));
    if (strlen (node->value) != node->length)
        return config_fail (ctx, node, field, "contains a NUL character");
    return 0;
}

//  Decimal digits only: no sign, no fraction, no leading zero (YAML 1.1 reads
//  those as octal, so they would be ambiguous).
int
config_get_int (ctx_t *ctx, const node_t *node, const char *field, int min, int max, int *out)
{
    if (config_want_scalar (ctx, node, field, "an integer"))
        return -1;
    const char *text = node->value;
    bool digits = node->length > 0 && node->length <= 9
               && strspn (text, "0123456789") == node->length
               && !(text [0] == '0' && node->length > 1);
    long value = digits ? strtol (text, NULL, 10) : 0;
    if (!digits || value < min || value > max)
        return config_fail (ctx, node, field, "%s is not an integer from %d to %d",
                            config_echo (ctx, text), min, max);
    *out = (int) value;
    return 0;
}

int
config_get_bool (ctx_t *ctx, const node_t *node, const char *field, bool *out)
{
    if (config_want_scalar (ctx, node, field, "true or false"))
        return -1;
    const char *text = node->value;
    if (strcasecmp (text, "true") == 0 || strcasecmp (text, "yes") == 0)
        *out = true;
    else
    if (strcasecmp (text, "false") == 0 || strcasecmp (text, "no") == 0)
        *out = false;
    else
        return config_fail (ctx, node, field, "%s is not true, false, yes or no",
                            config_echo (ctx, text));
    return 0;
}

int
config_get_hostport (ctx_t *ctx, const node_t *node, const char *field, hostport_t *out)
{
    if (config_want_scalar (ctx, node, field, "host:port"))
        return -1;
    char problem [400];
    if (hostport_parse (node->value, out, problem, sizeof problem)) {
        //  hostport_parse() quotes the text in its reason.
        if (!config_showable (node->value))
            return config_fail (ctx, node, field, "the value is not host:port");
        return config_fail (ctx, node, field, "%s", problem);
    }
    return 0;
}

//  Index of text in a NULL-terminated list of names, or -1.
int
config_lookup (const char *const *names, const char *text)
{
    for (int i = 0; names [i]; i++)
        if (s_streq (names [i], text))
            return i;
    return -1;
}

//  One of a fixed list of words; the list is spelled out in the message.
int
config_get_choice (ctx_t *ctx, const node_t *node, const char *field,
                   const char *const *names, const char *spelled, int *out)
{
    if (config_want_scalar (ctx, node, field, spelled))
        return -1;
    int index = config_lookup (names, node->value);
    if (index < 0)
        return config_fail (ctx, node, field, "%s is not %s",
                            config_echo (ctx, node->value), spelled);
    *out = index;
    return 0;
}

//  [min, max] or a single number n meaning [n, n].
int
config_get_range (ctx_t *ctx, const node_t *node, const char *field, int min, int max,
                  int *low, int *high)
{
    if (node->type == NODE_SCALAR && !config_is_null (node)) {
        if (config_get_int (ctx, node, field, min, max, low))
            return -1;
        *high = *low;
        return 0;
    }
    if (node->type != NODE_SEQUENCE || node->count != 2)
        return config_fail (ctx, node, field, "expected [min, max] or a single number");
    char item [FIELD_MAX];
    if (config_get_int (ctx, node->items [0], config_field_item (item, sizeof item, field, 0),
                        min, max, low)
    ||  config_get_int (ctx, node->items [1], config_field_item (item, sizeof item, field, 1),
                        min, max, high))
        return -1;
    if (*low > *high)
        return config_fail (ctx, node, field, "min %d is greater than max %d", *low, *high);
    return 0;
}

//  ---------------------------------------------------------------------
//  Mappings: known keys only, each once

const node_t *
config_find (const node_t *map, const char *key)
{
    for (size_t i = 0; i + 1 < map->count; i += 2)
        if (map->items [i]->type == NODE_SCALAR && s_streq (map->items [i]->value, key))
            return map->items [i + 1];
    return NULL;
}

const node_t *
config_find_key (const node_t *map, const char *key)
{
    for (size_t i = 0; i + 1 < map->count; i += 2)
        if (map->items [i]->type == NODE_SCALAR && s_streq (map->items [i]->value, key))
            return map->items [i];
    return NULL;
}

int
config_want_mapping (ctx_t *ctx, const node_t *node, const char *field)
{
    if (node->type != NODE_MAPPING)
        return config_fail (ctx, node, field, "expected a mapping, got %s", config_node_kind (node));
    return 0;
}

//  Checks a mapping's keys (all of them: each mistake gives its message);
//  after this, config_find() can trust them.
int
config_check_keys (ctx_t *ctx, const node_t *map, const char *path, const char *const *allowed)
{
    char field [FIELD_MAX];
    int rc = 0;
    for (size_t i = 0; i + 1 < map->count; i += 2) {
        const node_t *key = map->items [i];
        if (key->type != NODE_SCALAR) {
            rc = config_fail (ctx, key, *path ? path : "config",
                              "a key must be a plain word, not %s", config_node_kind (key));
            continue;
        }
        bool whole = strlen (key->value) == key->length;       //  no NUL inside
        bool named = whole && key->length && config_showable (key->value);
        config_field (field, sizeof field, path, named ? key->value : "(key)");
        if (!whole || config_lookup (allowed, key->value) < 0) {
            rc = config_fail (ctx, key, field, "unknown key");
            continue;
        }
        for (size_t j = 0; j < i; j += 2)
            if (map->items [j]->type == NODE_SCALAR && s_streq (map->items [j]->value, key->value)) {
                rc = config_fail (ctx, key, field, "duplicate key (first at line %d)",
                                  map->items [j]->line);
                break;
            }
    }
    return rc;
}

//  A required key's value, or a message placed at the mapping that lacks it.
int
config_require (ctx_t *ctx, const node_t *map, const char *path, const char *key,
                const node_t **value)
{
    char field [FIELD_MAX];
    *value = config_find (map, key);
    if (!*value)
        return config_fail (ctx, map, config_field (field, sizeof field, path, key), "is required");
    return 0;
}
