/*  trace — the message-flow trace publisher, the workers' side, and the monitor. */
#include "runtime/trace.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "runtime/actor.h"
#include "runtime/base/log.h"
#include "runtime/metrics.h"

static atomic_int s_subscribers;

bool
trace_on (void)
{
    return atomic_load_explicit (&s_subscribers, memory_order_relaxed) > 0;
}

//  --------------------------------------------------------------------------
//  The publisher

static int64_t
s_unix_ms (void)
{
    struct timeval tv;
    gettimeofday (&tv, NULL);
    return (int64_t) tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

//  Once a second: the names (topic TRACE_NAMES) and each name's counters
//  (runtime/metrics.h), a record of three frames: topic, line, "stats".
static void
s_publish_stats (zsock_t *xpub)
{
    static metrics_total_t totals[METRICS_MAX_NAMES];
    size_t count = metrics_totals (totals, METRICS_MAX_NAMES);
    long long now = (long long) s_unix_ms ();
    char line[METRICS_MAX_NAMES * 65 + 32];
    int used = snprintf (line, sizeof line, "%lld names", now);
    for (size_t i = 0; i < count && used > 0 && (size_t) used < sizeof line; i++)
        used += snprintf (line + used, sizeof line - (size_t) used, " %.63s", totals[i].name);
    zsock_send (xpub, "ss", TRACE_NAMES, line);
    for (size_t i = 0; i < count; i++) {
        const uint64_t *v = totals[i].value;
        char stats[512];
        snprintf (stats, sizeof stats,
                  "%lld 0 %.63s stats up %llu down %llu open %llu total %llu tunnels %llu ups %llu downs %llu since %lld "
                  "handovers %llu handover-failures %llu probes %llu handshake-timeouts %llu "
                  "restarts %llu", now, totals[i].name,
                  (unsigned long long) v[METRIC_BYTES_UP], (unsigned long long) v[METRIC_BYTES_DOWN],
                  (unsigned long long) (v[METRIC_CONNS_OPENED] - v[METRIC_CONNS_CLOSED]),
                  (unsigned long long) v[METRIC_CONNS_OPENED],
                  (unsigned long long) (v[METRIC_TUNNELS_UP] > v[METRIC_TUNNELS_DOWN]
                                        ? v[METRIC_TUNNELS_UP] - v[METRIC_TUNNELS_DOWN] : 0),
                  (unsigned long long) v[METRIC_TUNNELS_UP], (unsigned long long) v[METRIC_TUNNELS_DOWN],
                  (long long) totals[i].tunnel_since_ms / 1000,
                  (unsigned long long) v[METRIC_HANDOVERS_OK],
                  (unsigned long long) v[METRIC_HANDOVERS_FAILED],
                  (unsigned long long) v[METRIC_PROBES],
                  (unsigned long long) v[METRIC_HANDSHAKE_TIMEOUTS],
                  (unsigned long long) metrics_restarts ());
        zsock_send (xpub, "sss", totals[i].name, stats, "stats");
    }
}

static void
s_handle_subscription (zsock_t *xpub)
{
    zframe_t *frame = zframe_recv (xpub);
    if (frame && zframe_size (frame) > 0) {
        //  XPUB_VERBOSE: every (un)subscription arrives, duplicates included.
        int delta = zframe_data (frame)[0] == 1 ? 1 : -1;
        int now = atomic_fetch_add (&s_subscribers, delta) + delta;
        if (now < 0)
            atomic_store (&s_subscribers, 0);
        log_debug ("trace: %d subscription(s)", now < 0 ? 0 : now);
    }
    zframe_destroy (&frame);
}

void
trace_actor (zsock_t *pipe, void *args_)
{
    trace_args_t *args = args_;
    zsock_t *xpub = zsock_new (ZMQ_XPUB);
    zsock_t *pull = zsock_new (ZMQ_PULL);
    if (!xpub || !pull || zsock_bind (pull, "%s", TRACE_INPROC) != 0
    ||  zsock_bind (xpub, "%s", args->endpoint) < 0) {
        log_error ("trace: cannot bind %s: %s", args->endpoint, zmq_strerror (zmq_errno ()));
        zsock_destroy (&xpub);
        zsock_destroy (&pull);
        zsock_signal (pipe, 1);
        return;
    }
    zsock_set_xpub_verbose (xpub, 1);
    zsock_set_sndhwm (xpub, 10000);
    atomic_store (&s_subscribers, 0);
    log_info ("trace: publishing on %s", args->endpoint);
    zsock_signal (pipe, 0);
    zpoller_t *poller = zpoller_new (pipe, pull, xpub, NULL);
    int64_t next_stats = zclock_mono () + 1000;
    while (true) {
        int64_t wait = next_stats - zclock_mono ();
        void *which = zpoller_wait (poller, wait > 0 ? (int) wait : 0);
        if (zclock_mono () >= next_stats) {
            next_stats = zclock_mono () + 1000;
            if (trace_on ())
                s_publish_stats (xpub);
        }
        if (which == pipe) {
            if (actor_pipe_term (pipe))
                break;
        }
        else if (which == pull) {
            zmsg_t *msg = zmsg_recv (pull);
            if (msg)
                zmsg_send (&msg, xpub);     //  dropped by XPUB when nobody wants it
        }
        else if (which == xpub)
            s_handle_subscription (xpub);
        else if (zpoller_terminated (poller))
            break;
    }
    atomic_store (&s_subscribers, 0);
    zpoller_destroy (&poller);
    zsock_destroy (&xpub);
    zsock_destroy (&pull);
}

//  --------------------------------------------------------------------------
//  A worker's side

struct trace_t {
    zsock_t *push;
    uint64_t seq;
};

trace_t *
trace_new (void)
{
    trace_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->push = zsock_new (ZMQ_PUSH);
    if (!self->push || zsock_connect (self->push, "%s", TRACE_INPROC) != 0) {
        zsock_destroy (&self->push);
        free (self);
        return NULL;
    }
    zsock_set_sndhwm (self->push, 10000);
    zsock_set_sndtimeo (self->push, 0);     //  never block the data plane: drop instead
    return self;
}

void
trace_destroy (trace_t **self_p)
{
    if (!*self_p)
        return;
    zsock_destroy (&(*self_p)->push);
    free (*self_p);
    *self_p = NULL;
}

void
trace_record (trace_t *self, const char *name, const char *from, const char *to,
              const char *kind, size_t bytes)
{
    if (!self || !trace_on ())
        return;
    struct timeval tv;
    gettimeofday (&tv, NULL);
    char line[256];
    int n = snprintf (line, sizeof line, "%lld %llu %s %s -> %s %s %zu",
                      (long long) tv.tv_sec * 1000 + tv.tv_usec / 1000,
                      (unsigned long long) ++self->seq, name, from, to, kind, bytes);
    zmsg_t *msg = zmsg_new ();
    zmsg_addstr (msg, name);
    zmsg_addmem (msg, line, (size_t) (n < (int) sizeof line ? n : (int) sizeof line - 1));
    if (zmsg_send (&msg, self->push) != 0)
        zmsg_destroy (&msg);
}
