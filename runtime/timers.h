/*  timers — a min-heap of deadlines for one event loop.

    Entries are never removed early: the owner keeps the deadline it expects
    and ignores an entry that no longer matches it (lazy cancellation), which
    keeps every operation O(log n) with no back-pointers.
*/
#ifndef MK_TIMERS_H
#define MK_TIMERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint64_t deadline_ms;   //  monotonic milliseconds (or microseconds: the heap's unit)
    uint64_t owner;         //  who to tell (e.g. a session id)
    int kind;               //  which of the owner's timers
} timer_entry_t;

typedef struct timers_t timers_t;

timers_t *timers_new (void);
void timers_destroy (timers_t **self_p);

void timers_add (timers_t *self, uint64_t deadline_ms, uint64_t owner, int kind);

//  Milliseconds until the earliest deadline (0 if due), or -1 if empty.
int timers_wait_ms (timers_t *self, uint64_t now_ms);

//  Pop one entry due at now_ms; false if none is due.
bool timers_pop_due (timers_t *self, uint64_t now_ms, timer_entry_t *entry);

size_t timers_size (timers_t *self);

//  CLOCK_MONOTONIC in milliseconds.
uint64_t timers_now_ms (void);
//  The same in microseconds (a heap of fine deadlines keeps these: its
//  waits are then in microseconds too).
uint64_t timers_now_us (void);

#endif
