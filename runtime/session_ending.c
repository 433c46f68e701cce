/*  session_ending — two ways a session ends more carefully than at once:
    the delayed FIN of a side whose peer drops what it has not delivered
    when the socket closes (session_delay_fin), and the probe guard that
    answers a handler's abort with the silent treatment (session_guard_probe).
    (runtime/session.h; session_priv.h: what session.c calls.) */
#include "runtime/session.h"
#include "runtime/session_priv.h"
#include "runtime/timers.h"
#include "runtime/worker_priv.h"

//  A delayed FIN (session_delay_fin) that is due goes now.
void
session_fin_due (session_t *self, conn_t *conn)
{
    if (session_dead (self) || conn->fin_delay_ms <= 0)
        return;
    conn->fin_delay_ms = 0;
    if (conn->shut_pending && !conn->shut_done && !session_flush (self, conn))
        session_kill (self, true);
}

bool
session_fin_waits (session_t *self, conn_t *conn)
{
    if (conn->fin_delay_ms <= 0 || conn->eof_in)
        return false;
    if (self->deadline[TIMER_FIN] == 0)
        session_arm (self, TIMER_FIN, conn->fin_delay_ms);
    return true;
}

void
session_delay_fin (session_t *self, session_side_t side, int ms)
{
    session_conn (self, side)->fin_delay_ms = ms > 0 ? ms : 0;
}

void
session_guard_probe (session_t *self, uint64_t deadline_ms)
{
    self->probe_deadline = deadline_ms;
}

uint64_t
session_guard_deadline (session_t *self)
{
    return self->probe_deadline;
}

//  A guarded session's handler gave up: the prober's treatment instead.
bool
session_silence (session_t *self)
{
    if (!self->probe_deadline || self->state != SESSION_HANDSHAKE || self->silenced
    ||  self->target.fd >= 0 || self->target.connecting || self->target.mux
    ||  self->resolve_token != 0)
        return false;
    self->silenced = true;
    bufq_clear (&self->client.out, worker_pool (self->worker));
    self->client.released = 0;
    self->client_paused = false;
    //  A prober that has closed already is closed at once, as after a wrong hello.
    if (self->client.eof_in) {
        session_finish (self);
        return true;
    }
    uint64_t now = timers_now_ms ();
    session_arm (self, TIMER_HANDLER,
                 self->probe_deadline > now ? (int) (self->probe_deadline - now) : 1);
    return true;
}
