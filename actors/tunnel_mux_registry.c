/*  tunnel_mux_registry — the muxing tunnels of this worker thread, by
    wormhole: where users find their tunnel (tunnel_mux_priv.h). Users and
    their tunnel always meet in one worker (the acceptor sends both there).

    Reverse mode puts the muxing end on the public machine, which accepts
    the intranet end's tunnel, so a second tunnel of the wormhole may come
    while one is registered: the intranet end coming back, or a replay.
    A v2 tunnel is proven fresh by its first flight: it replaces the old one
    at once. A v1 hello proves nothing of the kind (a recording older than
    the hello memory, nodes/v1_seen.h, is authentic), so a v1 newcomer must
    not take a tunnel that still works from its users: it waits as the
    standby, and takes over when the live one ends. Whether it still works
    is asked of its socket: the standby sends a NOP frame on it (ignored by
    every peer, original or ours, but acknowledged by the peer's TCP), and a
    live tunnel has an ACK or data back within LIVE_CHECK_MS; one that has
    neither (a partition, a machine gone without a FIN) is dropped and the
    standby takes its place. A standby asks again every LIVE_RECHECK_MS;
    one that never proves itself (tunnel_mux_streams.c) ends at the silent
    treatment's deadline, like any probe; a newer standby replaces it.

    The accepting end's timer is here too (tunnel_mux_accept_timer): the
    standby's checks, and for any v1 tunnel accepted here that has not
    proven itself, the silent treatment's deadline (a prober that sent a
    recorded hello and nothing else is closed like one that sent a wrong
    hello).
*/
#include <stdlib.h>

#include "actors/tunnel_mux_priv.h"
#include "actors/tunnel_wire.h"
#include "runtime/base/log.h"
#include "runtime/session.h"
#include "runtime/timers.h"

#define LIVE_CHECK_MS 2000
#define LIVE_RECHECK_MS 10000

typedef struct {
    const wormhole_t *wormhole;
    tunnel_mux_t *mux;          //  the tunnel users attach to
    tunnel_mux_t *standby;      //  reverse mode, v1: the one waiting behind it, or NULL
} s_entry_t;

static __thread s_entry_t s_registry[REGISTRY_MAX];
static __thread size_t s_count;

static s_entry_t *
s_find (const wormhole_t *wormhole)
{
    for (size_t i = 0; i < s_count; i++)
        if (s_registry[i].wormhole == wormhole)
            return &s_registry[i];
    return NULL;
}

tunnel_mux_t *
tunnel_mux_registry_find (const wormhole_t *wormhole)
{
    s_entry_t *entry = s_find (wormhole);
    return entry ? entry->mux : NULL;
}

//  The standby asks the live tunnel for a sign of life, and looks in ms.
static void
s_ask (tunnel_mux_t *self, tunnel_mux_t *live, int ms)
{
    static const uint8_t nop[4] = { MUX_CMD_NOP, 0, 0, 0 };
    tunnel_mux_send_frame (live, nop, sizeof nop, NULL, 0);
    self->asked_ms = timers_now_ms ();
    if (!self->proven && self->standby_until > self->asked_ms
    &&  self->standby_until - self->asked_ms < (uint64_t) ms)
        ms = (int) (self->standby_until - self->asked_ms);
    session_set_timer (self->session, ms > 0 ? ms : 1);
}

static void s_check_live (tunnel_mux_t *self);

void
tunnel_mux_arm_deadline (tunnel_mux_t *self)
{
    uint64_t deadline = session_guard_deadline (self->session), now = timers_now_ms ();
    if (self->proven || !deadline)
        session_set_timer (self->session, 0);
    else
        session_set_timer (self->session, deadline > now ? (int) (deadline - now) : 1);
}

void
tunnel_mux_accept_timer (tunnel_mux_t *self)
{
    if (self->standby) {
        s_check_live (self);
        return;
    }
    uint64_t deadline = session_guard_deadline (self->session);
    if (self->proven || !deadline)
        return;
    if (timers_now_ms () < deadline) {
        tunnel_mux_arm_deadline (self);
        return;
    }
    log_info ("wormhole %s: the tunnel from %s did not prove itself by its deadline (a probe or "
              "a replay); closing it", tunnel_mux_name (self), session_peer (self->session));
    session_count (self->session, METRIC_PROBES);
    tunnel_mux_raise (self, TE_REPLACED);
}

int
tunnel_mux_registry_add (tunnel_mux_t *self)
{
    s_entry_t *entry = s_find (self->wormhole);
    const char *name = tunnel_mux_name (self);
    if (!entry) {
        if (s_count == REGISTRY_MAX)
            return -1;
        s_registry[s_count++] = (s_entry_t) { self->wormhole, self, NULL };
        return 0;
    }
    tunnel_mux_t *live = entry->mux;
    if (tunnel_wire_v2 (self->wormhole->conf)) {
        log_info ("wormhole %s: a new tunnel replaces the old one", name);
        entry->mux = self;
        tunnel_mux_call (live, TE_REPLACED);
        return 0;
    }
    if (entry->standby) {
        tunnel_mux_t *older = entry->standby;
        entry->standby = NULL;
        older->standby = false;
        log_info ("wormhole %s: a newer tunnel replaces the standby from %s", name,
                  session_peer (older->session));
        tunnel_mux_call (older, TE_REPLACED);
    }
    entry->standby = self;
    self->standby = true;
    self->standby_until = session_guard_deadline (self->session);
    log_info ("wormhole %s: a new tunnel from %s waits as the standby while the one from %s "
              "works", name, session_peer (self->session), session_peer (live->session));
    s_ask (self, live, LIVE_CHECK_MS);
    return 0;
}

void
tunnel_mux_registry_remove (tunnel_mux_t *self)
{
    s_entry_t *entry = s_find (self->wormhole);
    if (!entry)
        return;
    if (entry->standby == self) {
        entry->standby = NULL;
        self->standby = false;
        return;
    }
    if (entry->mux != self)
        return;
    tunnel_mux_t *next = entry->standby;
    if (!next) {
        *entry = s_registry[--s_count];
        return;
    }
    entry->mux = next;
    entry->standby = NULL;
    next->standby = false;
    tunnel_mux_arm_deadline (next);
    log_info ("wormhole %s: the live tunnel ended; the standby from %s takes over",
              tunnel_mux_name (next), session_peer (next->session));
}

static void
s_check_live (tunnel_mux_t *self)
{
    s_entry_t *entry = s_find (self->wormhole);
    if (!self->standby || !entry || entry->standby != self)
        return;
    const char *name = tunnel_mux_name (self);
    uint64_t now = timers_now_ms ();
    if (!self->proven && now >= self->standby_until) {
        log_info ("wormhole %s: the standby tunnel from %s never proved itself; closing it",
                  name, session_peer (self->session));
        tunnel_mux_raise (self, TE_REPLACED);
        return;
    }
    tunnel_mux_t *live = entry->mux;
    int heard = session_socket_heard_ms (live->session, live->side);
    if (heard >= 0 && (uint64_t) heard <= now - self->asked_ms) {
        s_ask (self, live, LIVE_RECHECK_MS);
        return;
    }
    log_warn ("wormhole %s: the tunnel from %s gave no sign of life in %d ms; the one from %s "
              "takes over", name, session_peer (live->session), (int) (now - self->asked_ms),
              session_peer (self->session));
    entry->mux = self;
    entry->standby = NULL;
    self->standby = false;
    tunnel_mux_arm_deadline (self);
    tunnel_mux_call (live, TE_REPLACED);
}
