/*  wormhole — one wormhole of the config as this process runs it: which of
    its ends live here (from the host's own addresses, or forced by --role)
    and what its remote end serves.
*/
#ifndef MK_WORMHOLE_H
#define MK_WORMHOLE_H

#include <stdbool.h>
#include <stddef.h>

#include "config/config.h"
#include "nodes/replay_filter.h"
#include "nodes/v1_seen.h"
#include "runtime/handler.h"

typedef enum { ROLE_AUTO, ROLE_LOCAL, ROLE_REMOTE, ROLE_BOTH } wormhole_role_t;

typedef struct {
    const wormhole_conf_t *conf;
    handler_conf_t inner;       //  what the remote end serves (a relay to another
                                //  wormhole becomes a relay to that wormhole's server)
    handler_conf_t accept;      //  what serves a tunnel accepted on wormhole_remote, after
                                //  its hello: `inner` (distributed) or the multiplexer
    handler_conf_t dial;        //  aggregated: the tunnel this end dials and keeps up
    handler_conf_t handover;    //  serves the extra ports (a tunnel's handover connections)
    //  The ends this process runs. Normal mode: local = users connect to
    //  `server` and it dials the tunnel; remote = it accepts the tunnel on
    //  `wormhole_remote` and serves the handler. Reverse mode: local = the
    //  intranet end (dials, serves the handler); remote = the public end
    //  (accepts the tunnel and the users).
    bool run_local;
    bool run_remote;
    //  Remote end: the client salts accepted lately, on the main port and
    //  the extra ports (docs/PROTOCOL-v2.md section 6); v1: the hellos' IVs
    //  (tunnel_wire.c). NULL otherwise.
    replay_filter_t *replay;
    //  Remote end of a v1 wormhole: every hello accepted since it started
    //  (the last V1_SEEN_MIN at least), a replay of one is refused however
    //  late (tunnel_wire.c). NULL otherwise.
    v1_seen_t *v1_seen;
} wormhole_t;

//  The replay filter: salts (v1: IVs) per 60 s generation.
#define WORMHOLE_REPLAY_SALTS 65536
#define WORMHOLE_REPLAY_PERIOD_S 60

//  "local", "remote", "both" -> role; -1 otherwise.
int wormhole_role_parse (const char *name);

//  One wormhole_t per wormhole of the config (an array of config->wormhole_count,
//  free() it). NULL with a message in err if a role cannot be decided.
wormhole_t *wormholes_new (const config_t *config, wormhole_role_t role, char *err, size_t errlen);

//  Frees a set of wormholes_new (count: the config's wormhole_count).
void wormholes_destroy (wormhole_t **all_p, size_t count);

//  The silent treatment's deadline for a connection accepted now: uniform
//  in probe_close_delay, to the millisecond.
int wormhole_probe_delay_ms (const wormhole_conf_t *conf);

//  True if host (a literal or a name) is one of this machine's interface addresses.
bool wormhole_address_is_own (const char *host);

//  The handler classes of a wormhole's ends (tunnel_mux's is in tunnel_mux.h):
//  where users connect, where the tunnel arrives, and the extra ports.
extern const handler_class_t tunnel_local_handler_class;
extern const handler_class_t tunnel_remote_handler_class;
extern const handler_class_t handover_port_handler_class;

#endif
