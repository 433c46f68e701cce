/*  status — `mimicsocks status`: what a running mimicsocks is doing, for
    humans, read from its metrics endpoint (actors/metrics_http.h): per
    wormhole or proxy, whether its tunnel is up and since when, its
    connections, and its user byte rates over one second.
*/
#ifndef MK_STATUS_H
#define MK_STATUS_H

#include "runtime/base/addr.h"

//  Prints the status of the process whose metrics endpoint is at; returns
//  the exit code (1, with a message, when nothing answers there).
int status_run (const hostport_t *at);

#endif
