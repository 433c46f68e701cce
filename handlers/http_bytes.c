/*  http_bytes — growing byte buffers, for what the HTTP handler must hold:
    client bytes not yet parsed, an incomplete response head, and bytes for
    an origin that is still being connected.
*/
#include "handlers/http_priv.h"

#include <stdlib.h>
#include <string.h>

bool
http_bytes_append (http_bytes_t *b, const uint8_t *data, size_t len)
{
    if (len == 0)
        return true;
    if (len > b->cap - b->len) {
        size_t cap = b->cap? b->cap: 4096;
        while (cap - b->len < len)
            cap *= 2;
        uint8_t *grown = (uint8_t *) realloc (b->data, cap);
        if (!grown)
            return false;
        b->data = grown;
        b->cap = cap;
    }
    memcpy (b->data + b->len, data, len);
    b->len += len;
    return true;
}

void
http_bytes_consume (http_bytes_t *b, size_t n)
{
    if (n == 0)
        return;
    memmove (b->data, b->data + n, b->len - n);
    b->len -= n;
    //  a burst of pipelined bytes must not pin memory for the connection's life
    if (b->len == 0 && b->cap > HTTP_HEAD_MAX) {
        free (b->data);
        b->data = NULL;
        b->cap = 0;
    }
}

void
http_bytes_free (http_bytes_t *b)
{
    free (b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}
