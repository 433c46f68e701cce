/*  timers — a min-heap of deadlines for one event loop. */
#include "runtime/timers.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

struct timers_t {
    timer_entry_t *heap;
    size_t count, cap;
};

timers_t *
timers_new (void)
{
    return calloc (1, sizeof (timers_t));
}

void
timers_destroy (timers_t **self_p)
{
    if (!*self_p)
        return;
    free ((*self_p)->heap);
    free (*self_p);
    *self_p = NULL;
}

static void
s_swap (timer_entry_t *a, timer_entry_t *b)
{
    timer_entry_t t = *a;
    *a = *b;
    *b = t;
}

void
timers_add (timers_t *self, uint64_t deadline_ms, uint64_t owner, int kind)
{
    if (self->count == self->cap) {
        size_t cap = self->cap ? self->cap * 2 : 64;
        timer_entry_t *heap = realloc (self->heap, cap * sizeof *heap);
        if (!heap) {
            fprintf (stderr, "mimicsocks: out of memory for timers\n");
            abort ();
        }
        self->heap = heap;
        self->cap = cap;
    }
    size_t i = self->count++;
    self->heap[i] = (timer_entry_t) { deadline_ms, owner, kind };
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (self->heap[parent].deadline_ms <= self->heap[i].deadline_ms)
            break;
        s_swap (&self->heap[parent], &self->heap[i]);
        i = parent;
    }
}

int
timers_wait_ms (timers_t *self, uint64_t now_ms)
{
    if (self->count == 0)
        return -1;
    uint64_t deadline = self->heap[0].deadline_ms;
    if (deadline <= now_ms)
        return 0;
    uint64_t wait = deadline - now_ms;
    return wait > 3600000 ? 3600000 : (int) wait;
}

bool
timers_pop_due (timers_t *self, uint64_t now_ms, timer_entry_t *entry)
{
    if (self->count == 0 || self->heap[0].deadline_ms > now_ms)
        return false;
    *entry = self->heap[0];
    self->heap[0] = self->heap[--self->count];
    size_t i = 0;
    while (true) {
        size_t left = 2 * i + 1, right = left + 1, least = i;
        if (left < self->count && self->heap[left].deadline_ms < self->heap[least].deadline_ms)
            least = left;
        if (right < self->count && self->heap[right].deadline_ms < self->heap[least].deadline_ms)
            least = right;
        if (least == i)
            break;
        s_swap (&self->heap[least], &self->heap[i]);
        i = least;
    }
    return true;
}

size_t
timers_size (timers_t *self)
{
    return self->count;
}

uint64_t
timers_now_us (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (uint64_t) ts.tv_sec * 1000000 + (uint64_t) ts.tv_nsec / 1000;
}

uint64_t
timers_now_ms (void)
{
    return timers_now_us () / 1000;
}
