/*  trace_monitor — `mimicsocks trace`: a subscriber that prints the message
    flow, or per-name counters and rates each second (runtime/trace.h). */
#include "runtime/trace.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_NAMES 64
#define ANSWER_MS 4000          //  the names record comes every second

typedef struct {
    char name[64];
    uint64_t records;                       //  hop records seen
    bool seen;
    long long at_ms;                        //  the last stats record
    unsigned long long up, down;
} s_counter_t;

typedef struct {
    const char *endpoint;
    const char *name;
    bool stats;
    bool answered;                          //  a names record came
    s_counter_t counters[MAX_NAMES];
    size_t count;
} s_monitor_t;

static s_counter_t *
s_counter (s_monitor_t *self, const char *name)
{
    for (size_t i = 0; i < self->count; i++)
        if (strcmp (self->counters[i].name, name) == 0)
            return &self->counters[i];
    if (self->count == MAX_NAMES)
        return NULL;
    s_counter_t *counter = &self->counters[self->count++];
    memset (counter, 0, sizeof *counter);
    snprintf (counter->name, sizeof counter->name, "%s", name);
    return counter;
}

//  "<ms> names a b c": -1 (after a message) if the name asked for is not there.
static int
s_on_names (s_monitor_t *self, const char *line)
{
    self->answered = true;
    if (!self->name)
        return 0;
    const char *list = strstr (line, " names");
    list = list ? list + 6 : "";
    char padded[64 * 66 + 4];
    snprintf (padded, sizeof padded, "%s ", list);
    char wanted[80];
    snprintf (wanted, sizeof wanted, " %s ", self->name);
    if (strstr (padded, wanted))
        return 0;
    fprintf (stderr, "mimicsocks trace: %s has no wormhole or proxy named '%s' (it has:%s)\n",
             self->endpoint, self->name, list[0] ? list : " none");
    return -1;
}

static const char *
s_rate (double bytes_per_s, char *buf, size_t len)
{
    snprintf (buf, len, "%.0f", bytes_per_s < 0 ? 0 : bytes_per_s);
    return buf;
}

//  "<ms> 0 NAME stats up U down D open O total T tunnels N since S handovers H
//  handover-failures F probes P handshake-timeouts X restarts R"
static void
s_on_stats (s_monitor_t *self, const char *topic, const char *line)
{
    s_counter_t *counter = s_counter (self, topic);
    if (!counter)
        return;
    long long at_ms = 0, since = 0;
    unsigned long long up = 0, down = 0, open = 0, total = 0, tunnels = 0, ups = 0, downs = 0,
                       handovers = 0, failures = 0, probes = 0, timeouts = 0, restarts = 0;
    if (sscanf (line, "%lld %*s %*s stats up %llu down %llu open %llu total %llu tunnels %llu "
                "ups %llu downs %llu since %lld handovers %llu handover-failures %llu probes %llu "
                "handshake-timeouts %llu restarts %llu", &at_ms, &up, &down, &open, &total, &tunnels,
                &ups, &downs, &since, &handovers, &failures, &probes, &timeouts, &restarts) != 14)
        return;
    double seconds = counter->seen ? (double) (at_ms - counter->at_ms) / 1000.0 : 0;
    char up_rate[32] = "0", down_rate[32] = "0";
    if (seconds > 0) {
        s_rate ((double) (up - counter->up) / seconds, up_rate, sizeof up_rate);
        s_rate ((double) (down - counter->down) / seconds, down_rate, sizeof down_rate);
    }
    counter->seen = true;
    counter->at_ms = at_ms;
    counter->up = up;
    counter->down = down;
    printf ("%s: bytes-up %llu bytes-down %llu up-rate %s B/s down-rate %s B/s connections %llu "
            "open %llu total tunnels-open %llu tunnels-up %llu tunnels-down %llu handovers %llu "
            "handover-failures %llu probes %llu handshake-timeouts %llu restarts %llu records %llu\n",
            topic, up, down, up_rate, down_rate, open, total, tunnels, ups, downs, handovers, failures,
            probes, timeouts, restarts, (unsigned long long) counter->records);
}

//  One message: -1 to stop with exit code 1.
static int
s_on_message (s_monitor_t *self, zmsg_t *msg)
{
    char *topic = zmsg_popstr (msg);
    char *line = zmsg_popstr (msg);
    char *mark = zmsg_popstr (msg);
    int rc = 0;
    if (topic && line && streq (topic, TRACE_NAMES))
        rc = s_on_names (self, line);
    //  A prefix subscription also matches longer names: compare exactly.
    else if (topic && line && (!self->name || streq (topic, self->name))) {
        if (mark && streq (mark, "stats")) {
            if (self->stats && self->answered)
                s_on_stats (self, topic, line);
        }
        else if (!self->stats)
            printf ("%s\n", line);
        else {
            s_counter_t *counter = s_counter (self, topic);
            if (counter)
                counter->records++;
        }
    }
    zstr_free (&topic);
    zstr_free (&line);
    zstr_free (&mark);
    return rc;
}

int
trace_monitor (const char *endpoint, const char *name, bool stats, int seconds)
{
    zsock_t *sub = zsock_new (ZMQ_SUB);
    if (!sub || zsock_connect (sub, "%s", endpoint) != 0) {
        fprintf (stderr, "mimicsocks trace: cannot connect to %s\n", endpoint);
        zsock_destroy (&sub);
        return 2;
    }
    zsock_set_subscribe (sub, name ? name : "");
    if (name)
        zsock_set_subscribe (sub, TRACE_NAMES);
    zsock_set_rcvtimeo (sub, 200);
    static s_monitor_t self;
    memset (&self, 0, sizeof self);
    self.endpoint = endpoint;
    self.name = name;
    self.stats = stats;
    int64_t start = zclock_mono ();
    int64_t end = seconds > 0 ? start + (int64_t) seconds * 1000 : INT64_MAX;
    int code = 0;
    while (!zsys_interrupted && zclock_mono () < end) {
        if (!self.answered && zclock_mono () - start >= ANSWER_MS) {
            fprintf (stderr, "mimicsocks trace: nothing publishes a mimicsocks trace at %s "
                     "(no answer within %d s): is it running with `trace:` (or --trace) there?\n",
                     endpoint, ANSWER_MS / 1000);
            code = 1;
            break;
        }
        zmsg_t *msg = zmsg_recv (sub);
        if (msg && s_on_message (&self, msg) != 0) {
            zmsg_destroy (&msg);
            code = 1;
            break;
        }
        zmsg_destroy (&msg);
        fflush (stdout);
    }
    zsock_destroy (&sub);
    return code;
}
