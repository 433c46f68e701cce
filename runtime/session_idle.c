/*  session_idle — a relaying session's idle timeout (the worker's, or its own:
    session_set_idle), and the answer a v2 tunnel's far end owes. */
#include "runtime/base/log.h"
#include "runtime/session_priv.h"
#include "runtime/timers.h"
#include "runtime/worker_priv.h"

//  Idle relaying: a session that moved no byte for the worker's idle
//  timeout ends (a fifth of it once one direction has ended: a peer that
//  half-closed and went quiet is not waited for long). The timer is not
//  moved on every byte: when it fires early it is armed for the rest.
static int
s_idle_limit (session_t *self)
{
    int idle = worker_idle_timeout_ms (self->worker);
    if (self->idle_ms > 0 && (idle <= 0 || self->idle_ms < idle))
        idle = self->idle_ms;
    bool half = self->client.eof_in || self->target.eof_in
             || self->client.shut_done || self->target.shut_done;
    return idle > 0 && half ? idle / 5 : idle;
}

void
session_idle_restart (session_t *self)
{
    int limit = s_idle_limit (self);
    if (self->state != SESSION_RELAY || limit <= 0)
        return;
    self->active_ms = timers_now_ms ();
    session_arm (self, TIMER_IDLE, limit);
}

//  A tunnel side whose far end has not proven itself (v2: no first flight
//  back) this long after relaying began is a wrong key or no mimicsocks end:
//  the user is told (a reset) rather than left waiting for the idle timeout.
#define ANSWER_MS 10000

static bool
s_awaits_answer (session_t *self)
{
    return (self->client.nodes && node_stack_awaits_peer (self->client.nodes))
        || (self->target.nodes && node_stack_awaits_peer (self->target.nodes));
}

void
session_idle_due (session_t *self)
{
    if (self->state == SESSION_RELAY && s_awaits_answer (self)) {
        uint64_t waited = timers_now_ms () - self->relay_ms;
        if (waited >= ANSWER_MS) {
            log_warn ("%s: no answer from the tunnel's far end within %d s: a wrong key or "
                      "cipher, clocks more than 30 s apart, or not a mimicsocks end (protocol v2)",
                      self->peer, ANSWER_MS / 1000);
            session_kill (self, true);
            return;
        }
    }
    int limit = s_idle_limit (self);
    if (self->state != SESSION_RELAY || limit <= 0)
        return;
    uint64_t now = timers_now_ms (), quiet = now - self->active_ms;
    if (quiet < (uint64_t) limit) {
        int next = limit - (int) quiet;
        if (s_awaits_answer (self) && next > ANSWER_MS)
            next = ANSWER_MS;
        session_arm (self, TIMER_IDLE, next);
        return;
    }
    log_debug ("%s: no traffic for %d s; closing", self->peer, limit / 1000);
    session_kill (self, false);
}

void
session_idle_start (session_t *self)
{
    self->active_ms = self->relay_ms = timers_now_ms ();
    int idle = s_idle_limit (self);
    if (s_awaits_answer (self) && (idle <= 0 || idle > ANSWER_MS))
        idle = ANSWER_MS;
    if (idle > 0)
        session_arm (self, TIMER_IDLE, idle);
}

void
session_set_idle (session_t *self, int ms)
{
    if (session_dead (self) || self->idle_ms == ms)
        return;
    self->idle_ms = ms > 0 ? ms : 0;
    int limit = s_idle_limit (self);
    if (self->state == SESSION_RELAY && limit > 0) {
        uint64_t quiet = timers_now_ms () - self->active_ms;
        session_arm (self, TIMER_IDLE, quiet < (uint64_t) limit ? limit - (int) quiet : 1);
    }
}

uint64_t
session_active_ms (session_t *self)
{
    return self->active_ms;
}
