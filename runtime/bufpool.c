/*  bufpool — fixed-size byte blocks recycled through a free list. */
#include "runtime/bufpool.h"

#include <stdio.h>
#include <stdlib.h>

struct bufpool_t {
    size_t block_size;
    size_t max_free;
    size_t free_count;
    size_t in_use;
    size_t peak;            //  most blocks in use since the last bufpool_peak_reset
    buf_t *free_list;
};

bufpool_t *
bufpool_new (size_t block_size, size_t max_free)
{
    bufpool_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->block_size = block_size;
    self->max_free = max_free;
    return self;
}

void
bufpool_destroy (bufpool_t **self_p)
{
    if (!*self_p)
        return;
    bufpool_t *self = *self_p;
    while (self->free_list) {
        buf_t *next = self->free_list->next;
        free (self->free_list);
        self->free_list = next;
    }
    free (self);
    *self_p = NULL;
}

buf_t *
bufpool_get (bufpool_t *self)
{
    buf_t *buf = self->free_list;
    if (buf) {
        self->free_list = buf->next;
        self->free_count--;
    }
    else {
        buf = malloc (sizeof *buf + self->block_size);
        if (!buf) {
            fprintf (stderr, "mimicsocks: out of memory for a %zu-byte buffer\n", self->block_size);
            abort ();
        }
    }
    buf->next = NULL;
    buf->off = buf->len = 0;
    if (++self->in_use > self->peak)
        self->peak = self->in_use;
    return buf;
}

void
bufpool_put (bufpool_t *self, buf_t *buf)
{
    if (!buf)
        return;
    self->in_use--;
    if (self->free_count >= self->max_free) {
        free (buf);
        return;
    }
    buf->next = self->free_list;
    self->free_list = buf;
    self->free_count++;
}

void
bufpool_trim (bufpool_t *self, size_t keep)
{
    while (self->free_count > keep) {
        buf_t *buf = self->free_list;
        self->free_list = buf->next;
        self->free_count--;
        free (buf);
    }
}

size_t
bufpool_spare (bufpool_t *self)
{
    return self->free_count;
}

size_t
bufpool_block_size (bufpool_t *self)
{
    return self->block_size;
}

size_t
bufpool_in_use (bufpool_t *self)
{
    return self->in_use;
}

size_t
bufpool_peak (bufpool_t *self)
{
    return self->peak;
}

void
bufpool_peak_reset (bufpool_t *self)
{
    self->peak = self->in_use;
}
