/*  trace — the message-flow trace: one record per hop a message makes
    (a socket, a handler, a tunnel stream), published on a ZeroMQ endpoint
    for `mimicsocks trace` and other subscribers.

    The trace actor binds an XPUB socket on the configured endpoint and an
    inproc PULL the workers push records to. It counts subscribers (XPUB
    subscription messages); while there are none, trace_on() is false and the
    workers build no record at all, so tracing costs one atomic load per hop.

    A record is two frames: the topic (the wormhole or proxy name, so a
    subscriber can filter on it) and a text line:
        <unix time ms> <seq> <name> <from> -> <to> <kind> <bytes>
    kind: data, eof, new, close, connect, error, tunnel-up, tunnel-down, probe,
    handover, handover-done, handover-failed, handover-stalled, handover-refused.

    Once a second, while somebody subscribes, the actor also publishes
    - topic "$names": "<unix time ms> names NAME..." (every wormhole and proxy
      of the process), so that a subscriber knows it reached a mimicsocks and
      which names exist;
    - for each name, three frames: the name, a line
        <unix time ms> 0 <name> stats up U down D open O total T tunnels N ups A downs B since S
        handovers H handover-failures F probes P handshake-timeouts X restarts R
      (runtime/metrics.h: user bytes counted once, at the users' side; tunnels
      up now, and how many came up and went down), and "stats".
*/
#ifndef MK_TRACE_H
#define MK_TRACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <czmq.h>

#define TRACE_INPROC "inproc://mimicsocks-trace"
#define TRACE_NAMES "$names"

typedef struct {
    const char *endpoint;       //  e.g. tcp://127.0.0.1:5555 or ipc:///run/mimicsocks.trace
} trace_args_t;

//  The actor (child-actor contract): signals 1 if the endpoint cannot be bound.
void trace_actor (zsock_t *pipe, void *args);

//  True while somebody subscribes.
bool trace_on (void);

//  A worker's side: a PUSH to the trace actor. NULL-safe: a NULL tracer drops.
typedef struct trace_t trace_t;
trace_t *trace_new (void);
void trace_destroy (trace_t **self_p);
void trace_record (trace_t *self, const char *name, const char *from, const char *to,
                   const char *kind, size_t bytes);

//  `mimicsocks trace ENDPOINT [--wormhole NAME] [--stats] [--seconds N]`: print
//  the flow, or with --stats per-name counters each second from the stats
//  records: user bytes each way (counted once) and their rates, connections,
//  tunnels, handovers, probes, handshake timeouts, restarts, and the hop
//  records seen. Exits 1 with a message if no mimicsocks publishes there
//  (no names record within 4 s) or NAME is not one of its names; else 0.
int trace_monitor (const char *endpoint, const char *name, bool stats, int seconds);

#endif
