/*  deployment — what a configuration file runs on this host (the standalone
    proxies and the local ends of its wormholes, as listeners and dials) and
    how a reload changes it (SIGHUP).

    A reload keeps every wormhole whose settings did not change exactly as it
    is (its listeners keep their sockets, its tunnels and connections go on),
    ends the removed and changed ones, and starts the new ones. A file that
    does not load is reported (FILE:LINE:COL) and the running set is kept.
    Configurations and wormholes stay allocated until the deployment is
    destroyed, so no running connection ever points at freed settings.
*/
#ifndef MK_DEPLOYMENT_H
#define MK_DEPLOYMENT_H

#include <stddef.h>

#include "actors/app.h"
#include "actors/wormhole.h"
#include "config/config.h"

typedef struct deployment_t deployment_t;

//  Takes ownership of config. path: the file to read again on reload (NULL: no
//  reload). NULL with a message in err if the wormholes' roles cannot be decided.
deployment_t *deployment_new (config_t *config, const char *path, wormhole_role_t role,
                              int workers, char *err, size_t errlen);
void deployment_destroy (deployment_t **self_p);

//  Fills the listeners and dials of conf, and its reload hook.
void deployment_app_conf (deployment_t *self, app_conf_t *conf);

//  The app_reload_fn (ctx is the deployment).
int deployment_reload (void *ctx, app_reload_t *update);

#endif
