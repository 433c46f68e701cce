/*  app — assembles one mimicsocks process under the supervisor. */
#include "actors/app.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <czmq.h>

#include "actors/metrics_http.h"
#include "runtime/baton_registry.h"
#include "runtime/base/log.h"
#include "runtime/metrics.h"
#include "runtime/resolver.h"
#include "runtime/signals.h"
#include "runtime/supervisor.h"
#include "runtime/trace.h"
#include "runtime/worker.h"

#define RESOLVER_ENDPOINT "inproc://mimicsocks-resolver"
#define RESOLVER_THREADS 4
#define MAX_WORKERS WORKER_MAX

void
app_init_process (void)
{
    signals_block ();
    //  Each worker has a few ZeroMQ sockets plus a PUSH to every worker;
    //  set the limit before CZMQ starts so that it is never the one that bites.
    zsys_set_max_sockets (1024 + MAX_WORKERS * (MAX_WORKERS + 8));
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
app_worker_count (int wanted)
{
    int workers = wanted > 0 ? wanted : (int) sysconf (_SC_NPROCESSORS_ONLN);
    if (workers < 1)
        workers = 1;
    return workers > MAX_WORKERS ? MAX_WORKERS : workers;
}

//  The owner's sockets toward the acceptor and the workers, made once at start:
//  a signal may come while a flood holds every fd, and then no ZeroMQ socket
//  can be made (CZMQ asserts when one cannot).
typedef struct {
    zsock_t *acceptor;                  //  PUSH to ACCEPTOR_CONTROL
    zsock_t *inboxes[MAX_WORKERS];      //  PUSH to each worker's inbox
    zsock_t *drained;                   //  PULL on WORKER_DRAINED
    int workers;
} s_control_t;

static int
s_control_open (s_control_t *self, int workers)
{
    *self = (s_control_t) { .workers = workers };
    self->acceptor = zsock_new_push (ACCEPTOR_CONTROL);
    self->drained = zsock_new_pull (WORKER_DRAINED);
    if (!self->acceptor || !self->drained)
        return -1;
    zsock_set_linger (self->acceptor, 2000);    //  the process default is 0: deliver first
    for (int w = 0; w < workers; w++) {
        char endpoint[64];
        self->inboxes[w] = zsock_new_push (worker_endpoint (w, endpoint, sizeof endpoint));
        if (!self->inboxes[w])
            return -1;
        zsock_set_linger (self->inboxes[w], 2000);
    }
    return 0;
}

static void
s_control_close (s_control_t *self)
{
    zsock_destroy (&self->acceptor);
    zsock_destroy (&self->drained);
    for (int w = 0; w < MAX_WORKERS; w++)
        zsock_destroy (&self->inboxes[w]);
}

//  SIGHUP: ask for the new set and hand it to the acceptor and the workers.
static void
s_reload (const app_conf_t *conf, s_control_t *control, acceptor_args_t *acceptor_args)
{
    app_reload_t update = { 0 };
    if (!conf->reload || conf->reload (conf->reload_ctx, &update) != 0)
        return;
    int workers = control->workers;
    zsock_send (control->acceptor, "spi", "SET", (void *) update.listeners,
                (int) update.listener_count);
    //  A restarted acceptor starts from the new set too.
    acceptor_args->listeners = update.listeners;
    acceptor_args->listener_count = update.listener_count;
    for (int w = 0; w < workers; w++) {
        zsock_t *inbox = control->inboxes[w];
        for (size_t i = 0; i < update.drop_count; i++)
            zsock_send (inbox, "sp", "DROP", (void *) update.drops[i]);
        for (size_t i = 0; i < update.dial_count; i++)
            if (update.dials[i].worker % workers == w)
                zsock_send (inbox, "sp", "DIAL", (void *) &update.dials[i].conf);
    }
    log_info ("configuration reloaded: %zu listener(s), %zu new tunnel(s), %zu wormhole(s) ended",
              update.listener_count, update.dial_count, update.drop_count);
}

//  SIGUSR1: every tunnel this process dials is handed over to a fresh
//  connection now (for operators and tests).
static void
s_tell_workers (s_control_t *control, const char *command)
{
    for (int w = 0; w < control->workers; w++)
        zstr_send (control->inboxes[w], command);
}

static void
s_handover_now (s_control_t *control)
{
    log_info ("SIGUSR1: handing every dialed tunnel over to a fresh connection");
    s_tell_workers (control, "HANDOVER");
}

//  SIGTERM: stop accepting, let the open connections finish (for at most
//  drain_ms), then stop. A second SIGTERM/SIGINT stops at once.
static void
s_drain (const app_conf_t *conf, zactor_t *supervisor, s_control_t *control)
{
    supervisor_stop_child (supervisor, "acceptor");
    zsock_t *drained = control->drained;
    int workers = control->workers;
    s_tell_workers (control, "DRAIN");
    log_info ("draining: waiting up to %d ms for open connections to finish", conf->drain_ms);
    int64_t deadline = zclock_mono () + conf->drain_ms;
    int done = 0;
    while (done < workers && drained) {
        int64_t left = deadline - zclock_mono ();
        if (left <= 0)
            break;
        zmq_pollitem_t items[] = { { zsock_resolve (drained), 0, ZMQ_POLLIN, 0 },
                                   { zsock_resolve (supervisor), 0, ZMQ_POLLIN, 0 } };
        if (zmq_poll (items, 2, (long) left) < 0 && zmq_errno () != EINTR)
            break;
        if (items[0].revents & ZMQ_POLLIN) {
            zmsg_t *report = zmsg_recv (drained);     //  "DRAINED" <index>
            zmsg_destroy (&report);
            done++;
        }
        int event = (items[1].revents & ZMQ_POLLIN) ? supervisor_wait_event (supervisor, 0) : -1;
        if (event == 0 || event == 1 || event == SUPERVISOR_TERM)
            break;              //  a second signal, or the supervisor stopped
    }
    log_info (done == workers ? "drained" : "drain time over; closing what is left");
}

int
app_run (const app_conf_t *conf)
{
    int workers = app_worker_count (conf->workers);
    //  Each worker gets the dials assigned to it, again at every restart.
    handler_conf_t *dials = calloc (conf->dial_count + 1, sizeof *dials);
    size_t dial_start[MAX_WORKERS + 1] = { 0 };
    size_t n = 0;
    for (int w = 0; w < workers; w++) {
        dial_start[w] = n;
        for (size_t i = 0; i < conf->dial_count; i++)
            if (conf->dials[i].worker % workers == w)
                dials[n++] = conf->dials[i].conf;
    }
    dial_start[workers] = n;
    //  Every name is known before any session starts (the trace's names record).
    for (size_t i = 0; i < conf->listener_count; i++) {
        const handler_conf_t *h = &conf->listeners[i].handler;
        metrics_register (h->trace_name ? h->trace_name : h->cls->name);
    }
    for (size_t i = 0; i < conf->dial_count; i++)
        if (conf->dials[i].conf.trace_name)
            metrics_register (conf->dials[i].conf.trace_name);

    resolver_args_t resolver_args = { RESOLVER_ENDPOINT, RESOLVER_THREADS, RESOLVER_QUEUE_MAX, 0 };
    worker_args_t worker_args[MAX_WORKERS];
    static worker_loads_t loads;        //  one app per process
    acceptor_args_t acceptor_args = { conf->listeners, conf->listener_count, workers,
                                      conf->retry_binds };

    supervisor_opts_t opts = { .intensity = 10, .period_ms = 1000, .owner_drains = conf->drain_ms > 0 };
    zactor_t *supervisor = supervisor_new (&opts);
    if (!supervisor) {
        log_error ("cannot start the supervisor");
        return 1;
    }
    //  The acceptor binds before the workers start, so that a tunnel a worker
    //  dials to this same process (loopback set-ups) finds its port open.
    trace_args_t trace_args = { conf->trace_endpoint };
    int rc = supervisor_start_child (supervisor, "resolver", resolver_actor, &resolver_args);
    if (rc == 0 && conf->trace_endpoint)
        rc = supervisor_start_child (supervisor, "trace", trace_actor, &trace_args);
    metrics_http_args_t metrics_args;
    memset (&metrics_args, 0, sizeof metrics_args);
    if (conf->metrics)
        metrics_args.listen = *conf->metrics;
    if (rc == 0 && conf->metrics)
        rc = supervisor_start_child (supervisor, "metrics", metrics_http_actor, &metrics_args);
    if (rc == 0)
        rc = supervisor_start_child (supervisor, "acceptor", acceptor_actor, &acceptor_args);
    for (int i = 0; rc == 0 && i < workers; i++) {
        worker_args[i] = (worker_args_t) { i, RESOLVER_ENDPOINT, conf->connect_timeout_ms,
                                           dials + dial_start[i], dial_start[i + 1] - dial_start[i],
                                           conf->idle_timeout_ms, workers, conf->handshake_timeout_ms,
                                           &loads };
        char name[32];
        snprintf (name, sizeof name, "worker-%d", i);
        rc = supervisor_start_child (supervisor, name, worker_actor, &worker_args[i]);
    }
    s_control_t control = { 0 };
    if (rc == 0 && s_control_open (&control, workers) != 0) {
        log_error ("cannot make the control sockets: %s", zmq_strerror (zmq_errno ()));
        rc = -1;
    }
    int code = 1;
    if (rc == 0) {
        log_info ("mimicsocks %s running with %d workers", MIMICSOCKS_VERSION, workers);
        while ((code = supervisor_wait_event (supervisor, -1)) == SUPERVISOR_HUP
               || code == SUPERVISOR_USR1) {
            if (code == SUPERVISOR_HUP)
                s_reload (conf, &control, &acceptor_args);
            else
                s_handover_now (&control);
        }
        if (code == SUPERVISOR_TERM) {
            s_drain (conf, supervisor, &control);
            code = 0;
        }
        log_info ("mimicsocks stopped%s", code == 0 ? "" : " after repeated failures");
    }
    zactor_destroy (&supervisor);
    s_control_close (&control);         //  after the workers: they may still report
    baton_registry_shutdown ();         //  the workers, and their tunnels, are gone
    free (dials);
    return code;
}
