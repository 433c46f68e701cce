/*  app — assembles one mimicsocks process under the supervisor. */
#include "actors/app.h"

#include <sys/resource.h>
#include <unistd.h>

#include <czmq.h>

#include "runtime/log.h"
#include "runtime/resolver.h"
#include "runtime/signals.h"
#include "runtime/supervisor.h"
#include "runtime/worker.h"

#define RESOLVER_ENDPOINT "inproc://mimicsocks-resolver"
#define RESOLVER_THREADS 4
#define MAX_WORKERS 64

void
app_init_process (void)
{
    signals_block ();
    //  Each worker has three ZeroMQ sockets; the default limit is plenty,
    //  but set it before CZMQ starts so that it is never the limit that bites.
    zsys_set_max_sockets (4096);
    zsys_set_io_threads (1);
    zsys_set_linger (0);
    //  Every proxied connection costs two descriptors.
    struct rlimit limit;
    if (getrlimit (RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
        limit.rlim_cur = limit.rlim_max;
        setrlimit (RLIMIT_NOFILE, &limit);
    }
}

int
app_run (const app_conf_t *conf)
{
    int workers = conf->workers > 0 ? conf->workers : (int) sysconf (_SC_NPROCESSORS_ONLN);
    if (workers < 1)
        workers = 1;
    if (workers > MAX_WORKERS)
        workers = MAX_WORKERS;

    resolver_args_t resolver_args = { RESOLVER_ENDPOINT, RESOLVER_THREADS, RESOLVER_QUEUE_MAX, 0 };
    worker_args_t worker_args[MAX_WORKERS];
    acceptor_args_t acceptor_args = { conf->listeners, conf->listener_count, workers };

    supervisor_opts_t opts = { .intensity = 10, .period_ms = 1000 };
    zactor_t *supervisor = supervisor_new (&opts);
    if (!supervisor) {
        log_error ("cannot start the supervisor");
        return 1;
    }
    int rc = supervisor_start_child (supervisor, "resolver", resolver_actor, &resolver_args);
    for (int i = 0; rc == 0 && i < workers; i++) {
        worker_args[i] = (worker_args_t) { i, RESOLVER_ENDPOINT, conf->connect_timeout_ms };
        char name[32];
        snprintf (name, sizeof name, "worker-%d", i);
        rc = supervisor_start_child (supervisor, name, worker_actor, &worker_args[i]);
    }
    if (rc == 0)
        rc = supervisor_start_child (supervisor, "acceptor", acceptor_actor, &acceptor_args);
    int code = 1;
    if (rc == 0) {
        log_info ("mimicsocks %s running with %d workers", MIMICSOCKS_VERSION, workers);
        code = supervisor_wait (supervisor, -1);
        log_info ("mimicsocks stopped%s", code == 0 ? "" : " after repeated failures");
    }
    zactor_destroy (&supervisor);
    return code;
}
