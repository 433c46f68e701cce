/*  session_metrics — what a session counts (runtime/metrics.h): the user
    connections and their bytes at the users' side, the events the wormhole's
    handlers and the socks/http handlers report, and the handshake limit. */
#include "runtime/base/log.h"
#include "runtime/session_priv.h"
#include "runtime/worker_priv.h"

void
session_metrics_open (session_t *self)
{
    if (self->user_facing)
        metrics_add (self->metrics, METRIC_CONNS_OPENED, 1);
}

void
session_metrics_close (session_t *self)
{
    if (self->user_facing)
        metrics_add (self->metrics, METRIC_CONNS_CLOSED, 1);
}

void
session_count (session_t *self, metric_t what)
{
    if (what == METRIC_TUNNELS_UP || what == METRIC_TUNNELS_DOWN)
        metrics_tunnel (self->metrics, what == METRIC_TUNNELS_UP);
    else
        metrics_add (self->metrics, what, 1);
}

int
session_handshake_timeout_ms (session_t *self)
{
    int ms = worker_args (self->worker)->handshake_timeout_ms;
    return ms > 0 ? ms : 15000;
}

void
session_handshake_timed_out (session_t *self)
{
    metrics_add (self->metrics, METRIC_HANDSHAKE_TIMEOUTS, 1);
}
