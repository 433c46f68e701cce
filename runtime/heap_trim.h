/*  heap_trim — when a worker gives the memory of a burst back to the system.

    After a burst, glibc keeps the memory it took for reuse (a flood of
    20,000 connections left ~270 MB behind; 300 stalled downloads ~165 MB).
    It goes back (the pool's spare blocks, then malloc_trim) once many
    sessions ended (the worker is down to half of what it freed) or many
    blocks went back to the pool (8 MiB below the peak), at most once a
    second; a trim that waits for that second makes the loop wake for it.
    One per worker, not thread-safe.
*/
#ifndef MK_HEAP_TRIM_H
#define MK_HEAP_TRIM_H

#include <stddef.h>
#include <stdint.h>

#include "runtime/bufpool.h"

typedef struct {
    size_t freed;           //  sessions freed since the last trim
    uint64_t trimmed_at;    //  ms (the caller's clock) of that trim
    uint64_t due;           //  a trim waits until then (0: none waits)
} heap_trim_t;

//  Sessions freed: count them.
static inline void
heap_trim_freed (heap_trim_t *self, size_t sessions)
{
    self->freed += sessions;
}

//  Trims now if it is time (live: the sessions still running).
void heap_trim_check (heap_trim_t *self, bufpool_t *pool, size_t live, uint64_t now_ms);

//  The loop's wait (ms, -1: none) shortened to a trim that waits.
int heap_trim_wait_ms (const heap_trim_t *self, uint64_t now_ms, int timeout);

#endif
