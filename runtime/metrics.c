/*  metrics — per-worker counters, summed on demand (runtime/metrics.h). */
#include "runtime/metrics.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>

static char s_names[METRICS_MAX_NAMES][64];
static atomic_int s_name_count;             //  published after the name is written
static pthread_mutex_t s_lock = PTHREAD_MUTEX_INITIALIZER;
static metrics_slot_t s_slots[METRICS_MAX_WORKERS][METRICS_MAX_NAMES];
static metrics_slot_t s_nowhere[METRICS_MAX_WORKERS];      //  counts what has no slot
static atomic_uint_fast64_t s_restarts;

static int
s_find (const char *name, int count)
{
    for (int i = 0; i < count; i++)
        if (strcmp (s_names[i], name) == 0)
            return i;
    return -1;
}

int
metrics_register (const char *name)
{
    int index = s_find (name, atomic_load_explicit (&s_name_count, memory_order_acquire));
    if (index >= 0)
        return index;
    pthread_mutex_lock (&s_lock);
    int count = atomic_load_explicit (&s_name_count, memory_order_relaxed);
    index = s_find (name, count);
    if (index < 0 && count < METRICS_MAX_NAMES) {
        snprintf (s_names[count], sizeof s_names[count], "%s", name);
        atomic_store_explicit (&s_name_count, count + 1, memory_order_release);
        index = count;
    }
    pthread_mutex_unlock (&s_lock);
    return index;
}

metrics_slot_t *
metrics_slot (int worker, const char *name)
{
    if (worker < 0 || worker >= METRICS_MAX_WORKERS)
        return &s_nowhere[0];
    int index = metrics_register (name ? name : "");
    return index >= 0 ? &s_slots[worker][index] : &s_nowhere[worker];
}

void
metrics_tunnel (metrics_slot_t *slot, bool up)
{
    struct timeval tv;
    gettimeofday (&tv, NULL);
    metrics_add (slot, up ? METRIC_TUNNELS_UP : METRIC_TUNNELS_DOWN, 1);
    atomic_store_explicit (&slot->tunnel_since_ms, (int64_t) tv.tv_sec * 1000 + tv.tv_usec / 1000,
                           memory_order_relaxed);
}

void
metrics_restart (void)
{
    atomic_fetch_add_explicit (&s_restarts, 1, memory_order_relaxed);
}

uint64_t
metrics_restarts (void)
{
    return atomic_load_explicit (&s_restarts, memory_order_relaxed);
}

size_t
metrics_totals (metrics_total_t *out, size_t max)
{
    size_t count = (size_t) atomic_load_explicit (&s_name_count, memory_order_acquire);
    if (count > max)
        count = max;
    for (size_t n = 0; n < count; n++) {
        memset (&out[n], 0, sizeof out[n]);
        memcpy (out[n].name, s_names[n], sizeof out[n].name);
        for (int w = 0; w < METRICS_MAX_WORKERS; w++) {
            metrics_slot_t *slot = &s_slots[w][n];
            for (int m = 0; m < METRIC_COUNT; m++)
                out[n].value[m] += atomic_load_explicit (&slot->value[m], memory_order_relaxed);
            int64_t since = atomic_load_explicit (&slot->tunnel_since_ms, memory_order_relaxed);
            if (since > out[n].tunnel_since_ms)
                out[n].tunnel_since_ms = since;
        }
    }
    return count;
}

//  --------------------------------------------------------------------------
//  The Prometheus text format

typedef struct {
    char *buf;
    size_t len, used;
} s_out_t;

static void __attribute__ ((format (printf, 2, 3)))
s_put (s_out_t *out, const char *format, ...)
{
    if (out->used + 1 >= out->len)
        return;
    va_list args;
    va_start (args, format);
    int n = vsnprintf (out->buf + out->used, out->len - out->used, format, args);
    va_end (args);
    if (n > 0)
        out->used += (size_t) n < out->len - out->used ? (size_t) n : out->len - out->used - 1;
}

typedef struct {
    const char *name, *type, *help, *labels;    //  labels: after name="...", e.g. direction="up"
    int metric;                                 //  -1: computed (see s_value)
} s_family_t;

static const s_family_t s_families[] = {
    { "mimicsocks_connections_open", "gauge", "User connections open now.", NULL, -1 },
    { "mimicsocks_connections_total", "counter", "User connections accepted.", NULL, METRIC_CONNS_OPENED },
    { "mimicsocks_user_bytes_total", "counter",
      "User bytes, counted once at the users' side (up: toward the far end).", "direction=\"up\"",
      METRIC_BYTES_UP },
    { NULL, NULL, NULL, "direction=\"down\"", METRIC_BYTES_DOWN },
    { "mimicsocks_tunnels_up", "gauge",
      "Tunnel connections up now in this process (an aggregated wormhole: one per end here).", NULL, -2 },
    { "mimicsocks_tunnel_up", "gauge", "1 if a tunnel connection is up, else 0.", NULL, -3 },
    { "mimicsocks_tunnel_state_since_seconds", "gauge",
      "Unix time of the last tunnel up or down (0: none yet).", NULL, -4 },
    { "mimicsocks_tunnels_total", "counter", "Tunnel connections that came up.", NULL, METRIC_TUNNELS_UP },
    { "mimicsocks_handovers_total", "counter", "Baton handovers.", "result=\"ok\"", METRIC_HANDOVERS_OK },
    { NULL, NULL, NULL, "result=\"failed\"", METRIC_HANDOVERS_FAILED },
    { "mimicsocks_probes_total", "counter",
      "Tunnel and handover port connections that never proved to be ours "
      "(refused and given the silent treatment, or gone before).", NULL, METRIC_PROBES },
    { "mimicsocks_handshake_timeouts_total", "counter",
      "SOCKS/HTTP clients closed for not finishing a request in time.", NULL, METRIC_HANDSHAKE_TIMEOUTS },
};

static long long
s_value (const metrics_total_t *total, int metric)
{
    const uint64_t *v = total->value;
    uint64_t ups = v[METRIC_TUNNELS_UP], downs = v[METRIC_TUNNELS_DOWN];
    switch (metric) {
        case -1: return (long long) (v[METRIC_CONNS_OPENED] - v[METRIC_CONNS_CLOSED]);
        case -2: return ups > downs ? (long long) (ups - downs) : 0;
        case -3: return ups > downs;
        case -4: return (long long) (total->tunnel_since_ms / 1000);
        default: return (long long) v[metric];
    }
}

size_t
metrics_render (char *buf, size_t len)
{
    s_out_t out = { buf, len, 0 };
    if (len)
        buf[0] = 0;
    metrics_total_t totals[METRICS_MAX_NAMES];
    size_t count = metrics_totals (totals, METRICS_MAX_NAMES);
    size_t families = sizeof s_families / sizeof s_families[0];
    const char *family = NULL;
    for (size_t f = 0; f < families; f++) {
        const s_family_t *row = &s_families[f];
        if (row->name) {
            family = row->name;
            s_put (&out, "# HELP %s %s\n# TYPE %s %s\n", row->name, row->help, row->name, row->type);
        }
        for (size_t n = 0; n < count; n++)
            if (totals[n].name[0])
                s_put (&out, "%s{name=\"%s\"%s%s} %lld\n", family, totals[n].name,
                       row->labels ? "," : "", row->labels ? row->labels : "",
                       s_value (&totals[n], row->metric));
    }
    s_put (&out, "# HELP mimicsocks_actor_restarts_total Actors the supervisor restarted.\n"
                 "# TYPE mimicsocks_actor_restarts_total counter\n"
                 "mimicsocks_actor_restarts_total %llu\n", (unsigned long long) metrics_restarts ());
    return out.used;
}
