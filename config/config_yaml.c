/*  config_yaml — the YAML text as a tree of nodes, and the one message.

    libyaml's event parser builds a small tree that keeps each node's
    position, so that every message can point at the node it is about.
    Anchors and aliases are refused: the schema never needs them and they
    would let a small file expand into a huge one. Scalars are wiped before
    they are freed because one of them is a key.
*/
#include "config/config_priv.h"
#include "runtime/base/hex.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#define MAX_DEPTH        16                 //  the schema needs 4 levels

//  ---------------------------------------------------------------------
//  The node tree

void
config_node_destroy (node_t **self_p)
{
    node_t *self = *self_p;
    if (!self)
        return;
    for (size_t i = 0; i < self->count; i++)
        config_node_destroy (&self->items [i]);
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
//  Error reporting: every failure adds a message

int
config_fail_at (ctx_t *ctx, int line, int column, const char *field, const char *format, ...)
{
    ctx->message_total++;
    if (!ctx->messages || ctx->message_count == CONFIG_MAX_MESSAGES)
        return -1;
    char problem [320];
    va_list args;
    va_start (args, format);
    vsnprintf (problem, sizeof problem, format, args);
    va_end (args);
    config_message_t *message = &ctx->messages [ctx->message_count++];
    message->line = line;
    message->column = column;
    message->order = ctx->message_count - 1;
    snprintf (message->text, sizeof message->text, "%s:%d:%d: %s: %s",
              ctx->source, line, column, field, problem);
    return -1;
}

static int
s_message_compare (const void *a, const void *b)
{
    const config_message_t *x = a, *y = b;
    if (x->line != y->line)
        return x->line < y->line ? -1 : 1;
    if (x->column != y->column)
        return x->column < y->column ? -1 : 1;
    return x->order < y->order ? -1 : x->order > y->order;
}

void
config_messages_join (ctx_t *ctx)
{
    if (!ctx->err || !ctx->errlen)
        return;
    ctx->err [0] = 0;
    //  The checks run section by section; the reader wants them by line.
    qsort (ctx->messages, ctx->message_count, sizeof ctx->messages [0], s_message_compare);
    for (size_t i = 0; i < ctx->message_count; i++) {
        if (i)
            config_append (ctx->err, ctx->errlen, "\n");
        config_append (ctx->err, ctx->errlen, ctx->messages [i].text);
    }
    if (ctx->message_total > ctx->message_count) {
        char more [64];
        snprintf (more, sizeof more, "\n... and %zu more", ctx->message_total - ctx->message_count);
        config_append (ctx->err, ctx->errlen, more);
    }
}

//  Appends as much of text as fits. A path only labels a message, so an
//  overlong one (an unknown key can be long) is cut short, not an error.
void
config_append (char *buf, size_t size, const char *text)
{
    size_t used = strlen (buf);
    size_t room = size - 1 - used;
    size_t len = strlen (text);
    len = len < room ? len : room;
    memcpy (buf + used, text, len);
    buf [used + len] = 0;
}

//  "parent.child", or "child" at the top level.
const char *
config_field (char *buf, size_t size, const char *parent, const char *child)
{
    buf [0] = 0;
    if (*parent) {
        config_append (buf, size, parent);
        config_append (buf, size, ".");
    }
    config_append (buf, size, child);
    return buf;
}

const char *
config_field_item (char *buf, size_t size, const char *parent, size_t index)
{
    char suffix [32];
    snprintf (suffix, sizeof suffix, "[%zu]", index);
    buf [0] = 0;
    config_append (buf, size, parent);
    config_append (buf, size, suffix);
    return buf;
}

//  Whether a value may be quoted in a message. A key pasted into the wrong
//  field, or swallowed by an unclosed quote, must not show up there: so no
//  run of 16 or more hex digits, and nothing spanning lines.
bool
config_showable (const char *value)
{
    size_t run = 0;
    for (const char *p = value; *p; p++) {
        if ((unsigned char) *p < ' ' || *p == 0x7f)
            return false;
        run = hex_digit_value ((unsigned char) *p) >= 0 ? run + 1 : 0;
        if (run >= 16)
            return false;
    }
    return true;
}

//  'value' (cut to 60 bytes) for a message, or "the value" if it may be a key.
const char *
config_echo (ctx_t *ctx, const char *value)
{
    if (config_showable (value))
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
        return config_fail_at (ctx, 1, 1, "yaml", "out of memory");
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
        return config_fail_at (ctx, line, column, "yaml", "%s", problem);
    }
    return config_fail_at (ctx, (int) parser->problem_mark.line + 1,
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
                return config_fail_at (ctx, line, column, "yaml",
                                       "only one document is allowed in a config file");
            return 0;
        case YAML_ALIAS_EVENT:
            return config_fail_at (ctx, line, column, "yaml", "aliases are not supported");
        case YAML_SCALAR_EVENT:
        case YAML_SEQUENCE_START_EVENT:
        case YAML_MAPPING_START_EVENT: {
            if (s_event_anchor (event))
                return config_fail_at (ctx, line, column, "yaml", "anchors are not supported");
            node_t *node = s_node_from_event (event);
            if (!node)
                return config_fail_at (ctx, line, column, "yaml", "out of memory");
            if (*depth == 0)
                *root = node;
            else
            if (s_node_append (stack [*depth - 1], node)) {
                config_node_destroy (&node);
                return config_fail_at (ctx, line, column, "yaml", "out of memory");
            }
            if (event->type != YAML_SCALAR_EVENT) {
                if (*depth == MAX_DEPTH)
                    return config_fail_at (ctx, line, column, "yaml", "nesting is too deep");
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
int
config_tree_load (ctx_t *ctx, node_t **root)
{
    *root = NULL;
    yaml_parser_t parser;
    if (!yaml_parser_initialize (&parser))
        return config_fail_at (ctx, 1, 1, "yaml", "out of memory");
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
        config_node_destroy (root);
    return rc;
}
