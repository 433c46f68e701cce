/*  pending — per-thread lists of unproven connections (see pending.h). */
#include "actors/pending.h"

#include <netinet/in.h>
#include <stddef.h>
#include <string.h>

#include "runtime/base/log.h"

#define S_WORMHOLES 64
#define S_STR_(x) #x
#define S_STR(x) S_STR_ (x)

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

//  The same source address (ports aside).
static bool
s_same_source (const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
    if (a->ss_family != b->ss_family)
        return false;
    if (a->ss_family == AF_INET)
        return ((const struct sockaddr_in *) a)->sin_addr.s_addr
            == ((const struct sockaddr_in *) b)->sin_addr.s_addr;
    if (a->ss_family == AF_INET6)
        return memcmp (&((const struct sockaddr_in6 *) a)->sin6_addr,
                       &((const struct sockaddr_in6 *) b)->sin6_addr, 16) == 0;
    return false;
}

static void
s_drop (s_list_t *list, pending_t *victim, const char *why)
{
    unsigned dropped = ++list->dropped;
    const wormhole_t *wormhole = list->wormhole;
    s_unlink (list, victim);
    session_abort (victim->session);
    //  One line per 1000 drops, not one per drop.
    if (dropped == 1 || dropped % 1000 == 0)
        log_warn ("wormhole %s: %s: dropping the oldest (%u so far)", wormhole->conf->name, why,
                  dropped);
}

//  The one to drop, oldest first, among the source's connections (like) or
//  all: one whose socket has no unread bytes. A real end's first flight
//  comes with its connection, so one with bytes waiting is most likely real
//  and only not read yet (a burst of set-ups the worker has not reached; a
//  prober's bytes are read and dropped within a loop turn): it is spared,
//  up to PENDING_HARD_FACTOR times the bound, where the oldest goes anyway.
//  NULL: nobody needs to go yet.
static pending_t *
s_victim (s_list_t *list, const pending_t *like, unsigned count, unsigned bound)
{
    pending_t *first = NULL;
    for (pending_t *p = list->oldest; p; p = p->next) {
        if (like && !s_same_source (&p->source, &like->source))
            continue;
        if (!first)
            first = p;
        if (session_socket_unread (p->session, SESSION_CLIENT) == 0)
            return p;
    }
    return count > bound * PENDING_HARD_FACTOR ? first : NULL;
}

void
pending_add (pending_t *self, session_t *session, const wormhole_t *wormhole)
{
    *self = (pending_t) { .session = session, .wormhole = wormhole };
    socklen_t len = sizeof self->source;
    if (session_socket_peer (session, SESSION_CLIENT, &self->source, &len) != 0)
        self->source.ss_family = AF_UNSPEC;
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
    //  The source's oldest, if it has too many (a scan of at most PENDING_MAX,
    //  once per accepted connection).
    if (self->source.ss_family != AF_UNSPEC) {
        unsigned same = 0;
        for (pending_t *p = list->newest; p; p = p->prev)
            same += s_same_source (&p->source, &self->source);
        pending_t *victim = same > PENDING_PER_SOURCE
                          ? s_victim (list, self, same, PENDING_PER_SOURCE) : NULL;
        if (victim) {
            s_drop (list, victim, "more than " S_STR (PENDING_PER_SOURCE)
                    " connections without a first flight from one address in one worker");
            return;
        }
    }
    pending_t *victim = list->count > PENDING_MAX
                      ? s_victim (list, NULL, list->count, PENDING_MAX) : NULL;
    if (victim)
        s_drop (list, victim, "more than " S_STR (PENDING_MAX)
                " connections without a first flight in one worker");
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
