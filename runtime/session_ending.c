/*  session_ending — two ways a session ends more carefully than at once:
    the delayed FIN of a side whose peer drops what it has not delivered
    when the socket closes (session_delay_fin; session_pace_fin makes it
    wait for a slow reader), and the probe guard that
    answers a handler's abort with the silent treatment (session_guard_probe).
    (runtime/session.h; session_priv.h: what session.c calls.) */
#include <linux/sockios.h>
#include <sys/ioctl.h>

#include "runtime/base/log.h"
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

//  The paced bucket drained up to now (session_pace_fin).
static void
s_fin_drain (conn_t *conn, uint64_t now)
{
    if (now > conn->fin_backlog_ms) {
        uint64_t drained = (now - conn->fin_backlog_ms) * conn->fin_rate / 1000;
        conn->fin_backlog = drained < conn->fin_backlog ? conn->fin_backlog - drained : 0;
        conn->fin_backlog_ms = now;
    }
}

void
session_fin_count (conn_t *conn, size_t len)
{
    if (conn->fin_rate == 0)
        return;
    s_fin_drain (conn, timers_now_ms ());
    conn->fin_backlog += len;
}

//  How long conn's FIN waits from now: the delay, and for a paced side what
//  its peer's reader still has to take (the bucket, plus what the kernel
//  still holds unacknowledged: that reaches the peer later than counted).
static int
s_fin_delay (conn_t *conn)
{
    if (conn->fin_rate == 0)
        return conn->fin_delay_ms;
    s_fin_drain (conn, timers_now_ms ());
    int unacked = 0;
    if (conn->fd < 0 || ioctl (conn->fd, SIOCOUTQ, &unacked) != 0 || unacked < 0)
        unacked = 0;
    uint64_t ms = (uint64_t) conn->fin_delay_ms
                + (conn->fin_backlog + (uint64_t) unacked) * 1000 / conn->fin_rate;
    return ms < SESSION_FIN_PACED_MAX_MS ? (int) ms : SESSION_FIN_PACED_MAX_MS;
}

bool
session_fin_waits (session_t *self, conn_t *conn)
{
    if (conn->fin_delay_ms <= 0 || conn->eof_in)
        return false;
    if (self->deadline[TIMER_FIN] == 0) {
        int ms = s_fin_delay (conn);
        if (conn->fin_rate)
            log_debug ("%s: the FIN waits %d ms (%llu bytes behind at %u bytes/s)", self->peer, ms,
                       (unsigned long long) conn->fin_backlog, conn->fin_rate);
        session_arm (self, TIMER_FIN, ms);
    }
    return true;
}

void
session_delay_fin (session_t *self, session_side_t side, int ms)
{
    session_conn (self, side)->fin_delay_ms = ms > 0 ? ms : 0;
}

void
session_pace_fin (session_t *self, session_side_t side, uint32_t rate)
{
    conn_t *conn = session_conn (self, side);
    conn->fin_rate = rate;
    conn->fin_backlog = 0;
    conn->fin_backlog_ms = timers_now_ms ();
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
