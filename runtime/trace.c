/*  trace — the message-flow trace publisher, the workers' side, and the monitor. */
#include "runtime/trace.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "runtime/base/log.h"

static atomic_int s_subscribers;

bool
trace_on (void)
{
    return atomic_load_explicit (&s_subscribers, memory_order_relaxed) > 0;
}

//  --------------------------------------------------------------------------
//  The publisher

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
    while (true) {
        void *which = zpoller_wait (poller, -1);
        if (which == pipe) {
            char *command = zstr_recv (pipe);
            bool term = !command || streq (command, "$TERM");
            zstr_free (&command);
            if (term)
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

//  --------------------------------------------------------------------------
//  The monitor

typedef struct {
    char name[64];
    uint64_t records, bytes_up, bytes_down, connections, closes, errors, tunnels_up, tunnels_down,
             probes, restarts, handovers, handover_failures;
} s_counter_t;

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
    zsock_set_rcvtimeo (sub, 1000);
    s_counter_t counters[64];
    size_t counter_count = 0;
    int64_t end = seconds > 0 ? zclock_mono () + (int64_t) seconds * 1000 : INT64_MAX;
    int64_t next_stats = zclock_mono () + 1000;
    while (!zsys_interrupted && zclock_mono () < end) {
        zmsg_t *msg = zmsg_recv (sub);
        if (msg && zmsg_size (msg) == 2) {
            char *topic = zmsg_popstr (msg);
            zframe_t *line = zmsg_pop (msg);
            //  A prefix subscription also matches longer names: compare exactly.
            if (topic && (!name || streq (topic, name))) {
                if (!stats)
                    printf ("%.*s\n", (int) zframe_size (line), (char *) zframe_data (line));
                else {
                    size_t i = 0;
                    while (i < counter_count && strcmp (counters[i].name, topic) != 0)
                        i++;
                    if (i == counter_count && counter_count < 64)
                        snprintf (counters[counter_count++].name, sizeof counters[0].name, "%s", topic);
                    if (i < counter_count) {
                        char from[96] = "", kind[24] = "";
                        unsigned long long bytes = 0;
                        char text[300];
                        snprintf (text, sizeof text, "%.*s", (int) zframe_size (line), (char *) zframe_data (line));
                        //  "<ms> <seq> <name> <from> -> <to> <kind> <bytes>"; from/to may hold spaces
                        //  ("stream 3"): the kind and bytes are the last two words.
                        sscanf (text, "%*s %*s %*s %95s", from);
                        char *last = strrchr (text, ' ');
                        if (last) {
                            bytes = strtoull (last + 1, NULL, 10);
                            *last = 0;
                            char *kind_at = strrchr (text, ' ');
                            if (kind_at)
                                snprintf (kind, sizeof kind, "%s", kind_at + 1);
                        }
                        counters[i].records++;
                        //  Up: from the users' side toward the far end.
                        if (strncmp (from, "client", 6) == 0)
                            counters[i].bytes_up += bytes;
                        else
                            counters[i].bytes_down += bytes;
                        counters[i].connections += streq (kind, "new") || streq (kind, "connect");
                        counters[i].closes += streq (kind, "close") || streq (kind, "eof");
                        counters[i].errors += streq (kind, "error");
                        counters[i].tunnels_up += streq (kind, "tunnel-up");
                        counters[i].tunnels_down += streq (kind, "tunnel-down");
                        counters[i].probes += streq (kind, "probe");
                        counters[i].restarts += streq (kind, "restart");
                        counters[i].handovers += streq (kind, "handover-done");
                        counters[i].handover_failures += streq (kind, "handover-failed")
                                                       || streq (kind, "handover-stalled");
                    }
                }
            }
            zstr_free (&topic);
            zframe_destroy (&line);
        }
        zmsg_destroy (&msg);
        if (stats && zclock_mono () >= next_stats) {
            next_stats += 1000;
            for (size_t i = 0; i < counter_count; i++)
                printf ("%s: records %llu bytes-up %llu bytes-down %llu connections %llu closes %llu "
                        "errors %llu tunnels-up %llu tunnels-down %llu probes %llu restarts %llu "
                        "handovers %llu handover-failures %llu\n",
                        counters[i].name, (unsigned long long) counters[i].records,
                        (unsigned long long) counters[i].bytes_up,
                        (unsigned long long) counters[i].bytes_down,
                        (unsigned long long) counters[i].connections,
                        (unsigned long long) counters[i].closes,
                        (unsigned long long) counters[i].errors,
                        (unsigned long long) counters[i].tunnels_up,
                        (unsigned long long) counters[i].tunnels_down,
                        (unsigned long long) counters[i].probes,
                        (unsigned long long) counters[i].restarts,
                        (unsigned long long) counters[i].handovers,
                        (unsigned long long) counters[i].handover_failures);
        }
        fflush (stdout);
    }
    zsock_destroy (&sub);
    return 0;
}
