/*  heap_trim — when a worker gives the memory of a burst back (heap_trim.h). */
#include "runtime/heap_trim.h"

#include <malloc.h>
#include <stdbool.h>

#define TRIM_AFTER 1024         //  sessions freed
#define TRIM_BLOCKS 128         //  blocks below the pool's peak (64 KiB each)
#define TRIM_EVERY_MS 1000
#define TRIM_KEEP_SPARE 16      //  spare blocks the pool keeps

void
heap_trim_check (heap_trim_t *self, bufpool_t *pool, size_t live, uint64_t now_ms)
{
    bool sessions = self->freed >= TRIM_AFTER && live < self->freed / 2;
    bool blocks = bufpool_peak (pool) >= bufpool_in_use (pool) + TRIM_BLOCKS;
    if (!sessions && !blocks)
        return;
    if (now_ms < self->trimmed_at + TRIM_EVERY_MS) {
        self->due = self->trimmed_at + TRIM_EVERY_MS;
        return;
    }
    bufpool_trim (pool, TRIM_KEEP_SPARE);
    bufpool_peak_reset (pool);
    malloc_trim (0);
    self->trimmed_at = now_ms;
    self->due = 0;
    self->freed = 0;
}

int
heap_trim_wait_ms (const heap_trim_t *self, uint64_t now_ms, int timeout)
{
    if (!self->due)
        return timeout;
    int trim = self->due > now_ms ? (int) (self->due - now_ms) : 0;
    return timeout < 0 || trim < timeout ? trim : timeout;
}
