/*  app — assembles one mimicsocks process: the resolver, one data-plane worker
    per core and the acceptor, all children of the supervisor, which also
    owns the process's signals.
*/
#ifndef MK_APP_H
#define MK_APP_H

#include <stddef.h>

#include "actors/acceptor.h"

typedef struct {
    const listener_conf_t *listeners;   //  standalone proxies
    size_t listener_count;
    int workers;                        //  0: one per core
    int connect_timeout_ms;             //  0: default
} app_conf_t;

//  Call first in main, before any thread exists: signal mask, CZMQ options,
//  file descriptor limit.
void app_init_process (void);

//  Runs until SIGINT/SIGTERM (returns 0) or a failure the supervisor cannot
//  repair (returns 1).
int app_run (const app_conf_t *conf);

#endif
