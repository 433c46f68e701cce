/*  metrics — the process's counters, kept per data-plane worker and per
    name (a wormhole or a proxy: the handler_conf_t's trace_name), summed
    when somebody asks (the metrics endpoint, the trace's stats records).

    A worker only ever writes its own slots, so the hot path is a relaxed
    load and store on a cache line no other thread writes: no lock, no
    locked instruction. A reader sums the slots of every worker with relaxed
    loads; a total may lag a few increments behind, never goes back.

    Names are registered once (app_run registers every listener's and
    dial's name before the workers start; a name met later is added under a
    lock, at session start, never per byte). At most METRICS_MAX_NAMES.
*/
#ifndef MK_METRICS_H
#define MK_METRICS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define METRICS_MAX_NAMES 64
#define METRICS_MAX_WORKERS 64

typedef enum {
    METRIC_CONNS_OPENED,        //  user connections accepted (the users' side only)
    METRIC_CONNS_CLOSED,
    METRIC_BYTES_UP,            //  user bytes toward the far end, counted once: at the users' side
                                //  (UDP associations: the datagrams on the user's socket)
    METRIC_BYTES_DOWN,          //  user bytes back to the users
    METRIC_TUNNELS_UP,          //  tunnel connections that came up (aggregated: per end)
    METRIC_TUNNELS_DOWN,        //  ... and went down
    METRIC_PROBES,              //  tunnel-port connections that never proved to be ours
    METRIC_HANDOVERS_OK,
    METRIC_HANDOVERS_FAILED,
    METRIC_HANDSHAKE_TIMEOUTS,  //  socks/http clients that did not finish a request in time
    METRIC_COUNT
} metric_t;

typedef struct {
    _Atomic uint64_t value[METRIC_COUNT];
    _Atomic int64_t tunnel_since_ms;    //  unix ms of the last tunnel up or down (0: none)
    char pad[64];                       //  the next worker's slot is on another line
} metrics_slot_t;

//  The name's index (registered if new); -1 when the table is full.
int metrics_register (const char *name);

//  The slot of (worker, name); a slot that counts nothing when the worker
//  index or the table is out of range. Never NULL.
metrics_slot_t *metrics_slot (int worker, const char *name);

//  Single writer: only the slot's own worker calls these.
static inline void
metrics_add (metrics_slot_t *slot, metric_t what, uint64_t n)
{
    uint64_t now = atomic_load_explicit (&slot->value[what], memory_order_relaxed);
    atomic_store_explicit (&slot->value[what], now + n, memory_order_relaxed);
}

//  A tunnel came up (up) or went down, now (unix ms).
void metrics_tunnel (metrics_slot_t *slot, bool up);

//  An actor was restarted by the supervisor (any thread).
void metrics_restart (void);
uint64_t metrics_restarts (void);

//  The sum over every worker for one name.
typedef struct {
    char name[64];
    uint64_t value[METRIC_COUNT];
    int64_t tunnel_since_ms;            //  the latest change of any worker
} metrics_total_t;

//  The names registered so far, in order of registration (at most max).
size_t metrics_totals (metrics_total_t *out, size_t max);

//  Renders every counter in the Prometheus text format (version 0.0.4)
//  into buf; returns the length written (truncated at len - 1).
size_t metrics_render (char *buf, size_t len);

#endif
