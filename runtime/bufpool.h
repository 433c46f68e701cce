/*  bufpool — fixed-size byte blocks recycled through a free list.

    One pool per data-plane worker (not thread-safe on purpose: a worker owns
    its pool). Sockets read straight into a block and the same block is written
    to the other socket or parked in a queue, so bytes are never copied on the
    relay path. Idle connections hold no block at all.
*/
#ifndef MK_BUFPOOL_H
#define MK_BUFPOOL_H

#include <stddef.h>
#include <stdint.h>

typedef struct buf_t {
    struct buf_t *next;     //  free list / queue link
    uint32_t off;           //  first unread byte
    uint32_t len;           //  end of valid bytes
    uint8_t data[];         //  block_size bytes
} buf_t;

typedef struct bufpool_t bufpool_t;

//  A pool of blocks of block_size bytes that keeps at most max_free spare blocks.
bufpool_t *bufpool_new (size_t block_size, size_t max_free);
void bufpool_destroy (bufpool_t **self_p);

//  A block with off = len = 0. Aborts only if memory is exhausted.
buf_t *bufpool_get (bufpool_t *self);
void bufpool_put (bufpool_t *self, buf_t *buf);

size_t bufpool_block_size (bufpool_t *self);
//  Frees the spare blocks but the last `keep` (after a burst).
void bufpool_trim (bufpool_t *self, size_t keep);
//  Spare blocks held for reuse.
size_t bufpool_spare (bufpool_t *self);
//  Blocks handed out and not yet returned (for tests and stats).
size_t bufpool_in_use (bufpool_t *self);
//  The most blocks in use at once since the last bufpool_peak_reset (which
//  starts again from what is in use now): how much a burst took.
size_t bufpool_peak (bufpool_t *self);
void bufpool_peak_reset (bufpool_t *self);

#endif
