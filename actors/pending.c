/*  pending — per-thread lists of unproven connections (see pending.h). */
#include "actors/pending.h"

#include <stddef.h>

#include "runtime/base/log.h"

#define S_WORMHOLES 64

typedef struct {
    const wormhole_t *wormhole;
    pending_t *oldest, *newest;
    unsigned count;
    unsigned dropped;           //  since the last log line
} s_list_t;

static __thread s_list_t s_lists[S_WORMHOLES];

static s_list_t *
s_list (const wormhole_t *wormhole, bool make)
{
    s_list_t *free_slot = NULL;
    for (size_t i = 0; i < S_WORMHOLES; i++) {
        if (s_lists[i].wormhole == wormhole)
            return &s_lists[i];
        if (!s_lists[i].wormhole && !free_slot)
            free_slot = &s_lists[i];
    }
    if (make && free_slot)
        free_slot->wormhole = wormhole;
    return make ? free_slot : NULL;
}

static void
s_unlink (s_list_t *list, pending_t *self)
{
    if (self->prev)
        self->prev->next = self->next;
    else
        list->oldest = self->next;
    if (self->next)
        self->next->prev = self->prev;
    else
        list->newest = self->prev;
    self->prev = self->next = NULL;
    self->listed = false;
    list->count--;
    //  An empty list gives its slot back (a reload may free its wormhole).
    if (list->count == 0)
        *list = (s_list_t) { 0 };
}

void
pending_add (pending_t *self, session_t *session, const wormhole_t *wormhole)
{
    *self = (pending_t) { .session = session, .wormhole = wormhole };
    s_list_t *list = s_list (wormhole, true);
    if (!list)
        return;             //  more wormholes than slots: not bounded, not wrong
    self->prev = list->newest;
    if (list->newest)
        list->newest->next = self;
    else
        list->oldest = self;
    list->newest = self;
    self->listed = true;
    list->count++;
    if (list->count <= PENDING_MAX)
        return;
    pending_t *oldest = list->oldest;
    unsigned dropped = ++list->dropped;
    s_unlink (list, oldest);
    session_abort (oldest->session);
    //  One line per 1000 drops, not one per drop.
    if (dropped == 1 || dropped % 1000 == 0)
        log_warn ("wormhole %s: more than %d connections without a first flight in one worker: "
                  "dropping the oldest (%u so far)", wormhole->conf->name, PENDING_MAX, dropped);
}

void
pending_remove (pending_t *self)
{
    if (!self->listed)
        return;
    s_list_t *list = s_list (self->wormhole, false);
    if (list)
        s_unlink (list, self);
}

unsigned
pending_count (const wormhole_t *wormhole)
{
    s_list_t *list = s_list (wormhole, false);
    return list ? list->count : 0;
}
