/*  wormhole — one wormhole of the config as this process runs it: which of
    its ends live here (from the host's own addresses, or forced by --role)
    and what its remote end serves.
*/
#ifndef MK_WORMHOLE_H
#define MK_WORMHOLE_H

#include <stdbool.h>
#include <stddef.h>

#include "config/config.h"
#include "handlers/handler.h"

typedef enum { ROLE_AUTO, ROLE_LOCAL, ROLE_REMOTE, ROLE_BOTH } wormhole_role_t;

typedef struct {
    const wormhole_conf_t *conf;
    handler_conf_t inner;       //  what the remote end serves (a relay to another
                                //  wormhole becomes a relay to that wormhole's server)
    bool run_local;             //  users connect here: this process listens on `server`
    bool run_remote;            //  the tunnel arrives here: listens on `wormhole_remote`
} wormhole_t;

//  "local", "remote", "both" -> role; -1 otherwise.
int wormhole_role_parse (const char *name);

//  One wormhole_t per wormhole of the config (an array of config->wormhole_count,
//  free() it). NULL with a message in err if a role cannot be decided.
wormhole_t *wormholes_new (const config_t *config, wormhole_role_t role, char *err, size_t errlen);

//  True if host (a literal or a name) is one of this machine's interface addresses.
bool wormhole_address_is_own (const char *host);

#endif
