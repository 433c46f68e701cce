/*  app — assembles one mimicsocks process: the resolver, one data-plane worker
    per core and the acceptor, all children of the supervisor, which also
    owns the process's signals.
*/
#ifndef MK_APP_H
#define MK_APP_H

#include <stddef.h>

#include "actors/acceptor.h"

//  A session a worker starts by itself (an aggregated tunnel that dials).
typedef struct {
    handler_conf_t conf;
    int worker;
} dial_conf_t;

//  What a configuration reload (SIGHUP) changes: the whole new listener set,
//  the dials to start, and the wormholes whose connections end.
typedef struct {
    const listener_conf_t *listeners;
    size_t listener_count;
    const dial_conf_t *dials;
    size_t dial_count;
    const void *const *drops;           //  wormhole_t pointers
    size_t drop_count;
} app_reload_t;

//  Called on SIGHUP: fills the update and returns 0, or -1 to keep running
//  as before (e.g. the new file is invalid). Everything it hands out must
//  outlive the process.
typedef int (app_reload_fn) (void *ctx, app_reload_t *update);

typedef struct {
    const listener_conf_t *listeners;
    size_t listener_count;
    const dial_conf_t *dials;
    size_t dial_count;
    int workers;                        //  0: one per core (app_worker_count)
    int connect_timeout_ms;             //  0: default
    int idle_timeout_ms;                //  a user connection without traffic; -1: never
    int handshake_timeout_ms;           //  a socks/http client's request must be complete; 0: 15 s
    const hostport_t *metrics;          //  NULL: no metrics endpoint (actors/metrics_http.h)
    const char *trace_endpoint;         //  NULL: no trace publisher
    bool retry_binds;                   //  a port that cannot be bound is retried, not fatal
    app_reload_fn *reload;              //  NULL: SIGHUP is ignored
    void *reload_ctx;
    int drain_ms;                       //  SIGTERM: how long open connections may finish
                                        //  (new ones are refused); 0: stop at once
} app_conf_t;

//  How many workers a request for `wanted` (0: one per core) gets.
int app_worker_count (int wanted);

//  Call first in main, before any thread exists: signal mask, CZMQ options,
//  file descriptor limit.
void app_init_process (void);

//  Runs until SIGINT/SIGTERM (returns 0) or a failure the supervisor cannot
//  repair (returns 1).
int app_run (const app_conf_t *conf);

#endif
