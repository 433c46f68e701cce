/*  supervisor — one_for_one restarts with intensity, signals to orderly stop
    (see supervisor.h). */
#include "runtime/supervisor.h"

#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdbool.h>
#include <string.h>
#include <unistd.h>

#include "runtime/actor.h"
#include "runtime/base/log.h"
#include "runtime/signals.h"
#include "runtime/metrics.h"
#include "runtime/trace.h"

//  --- Children: a thread running the child function on one end of a pipe pair

typedef struct {
    char name[ACTOR_NAME_MAX + 1];
    zactor_fn *fn;
    void *args;
    zsock_t *pipe;              //  our end
    zsock_t *child_pipe;        //  the child's end, owned by its thread
    pthread_t thread;
    bool running;               //  thread started and not joined yet
    bool exited;                //  we have read the signal the thread sends as it ends
} s_child_t;

//  Same epilogue as CZMQ's zactor shim: the exit signal tells the supervisor
//  the function returned.
static void *
s_child_thread (void *arg)
{
    s_child_t *child = (s_child_t *) arg;
    zsock_t *pipe = child->child_pipe;
    child->fn (pipe, child->args);
    zsock_set_sndtimeo (pipe, 0);
    zsock_signal (pipe, 0);
    zsock_destroy (&pipe);
    return NULL;
}

static void
s_child_stop (s_child_t *child)
{
    if (!child->running)
        return;
    if (!child->exited) {
        //  The supervisor sends its children nothing but this, so the pipe is
        //  never full; a send that fails means the thread is already gone.
        zsock_set_sndtimeo (child->pipe, 0);
        zstr_send (child->pipe, "$TERM");
    }
    pthread_join (child->thread, NULL);
    zsock_destroy (&child->pipe);
    child->running = false;
}

//  Start the thread and wait for its start signal: 0, or -1 if it failed.
static int
s_child_launch (s_child_t *child)
{
    child->exited = false;
    child->pipe = zsys_create_pipe (&child->child_pipe);
    if (!child->pipe)
        return -1;
    if (pthread_create (&child->thread, NULL, s_child_thread, child) != 0) {
        zsock_destroy (&child->pipe);
        zsock_destroy (&child->child_pipe);
        return -1;
    }
    child->running = true;
    int status = zsock_wait (child->pipe);
    if (status != 0) {
        s_child_stop (child);
        return -1;
    }
    return 0;
}


//  --- The supervisor actor

typedef enum { SUP_RUNNING, SUP_STOPPED, SUP_TERMINATED } s_state_t;

typedef struct {
    zsock_t *pipe;
    int sigfd;
    int intensity;
    int period_ms;
    bool owner_drains;
    bool term_told;             //  the owner was told "TERM" (it is draining)
    s_state_t state;
    s_child_t **children;       //  in start order
    size_t count, capacity;
    trace_t *trace;             //  restarts in the message-flow trace (made at the first)
    int64_t *restarts;          //  times of the restarts within the window, oldest first
    size_t nrestarts;
    zmq_pollitem_t *items;
    size_t nitems_max;
} s_sup_t;

//  Commands from the API calls. The caller waits on `done`, not on the pipe,
//  so that events for the owner ("HUP", "EXIT" ...) are never read by mistake.
typedef struct {
    const char *name;
    zactor_fn *fn;
    void *args;
    int status;
    sem_t done;
} s_request_t;

typedef struct {
    supervisor_opts_t opts;
    int status;                 //  set by the actor before its start signal
} s_start_t;

static void
s_tell_owner (s_sup_t *self, const char *event, const char *arg)
{
    if (zstr_sendx (self->pipe, event, arg, NULL) != 0)
        log_warn ("supervisor: owner is not reading, dropped %s", event);
}

static void
s_stop_all (s_sup_t *self)
{
    for (size_t i = self->count; i-- > 0;)
        if (self->children[i]->running) {
            log_info ("supervisor: stopping %s", self->children[i]->name);
            s_child_stop (self->children[i]);
        }
}

//  Count one restart; false if that is more than the window allows.
static bool
s_restart_allowed (s_sup_t *self)
{
    int64_t now = zclock_mono ();
    size_t kept = 0;
    for (size_t i = 0; i < self->nrestarts; i++)
        if (now - self->restarts[i] < self->period_ms)
            self->restarts[kept++] = self->restarts[i];
    self->nrestarts = kept;
    self->restarts[self->nrestarts++] = now;
    return self->nrestarts <= (size_t) self->intensity;
}

static void
s_escalate (s_sup_t *self, const char *name)
{
    log_error ("supervisor: %s: more than %d restarts in %d ms, giving up",
               name, self->intensity, self->period_ms);
    s_stop_all (self);
    self->state = SUP_STOPPED;
    s_tell_owner (self, "EXIT", "1");
}

static void
s_restart (s_sup_t *self, s_child_t *child)
{
    s_child_stop (child);
    while (true) {
        if (!s_restart_allowed (self)) {
            s_escalate (self, child->name);
            return;
        }
        log_warn ("supervisor: restarting %s", child->name);
        if (!self->trace)
            self->trace = trace_new ();
        trace_record (self->trace, "supervisor", child->name, "supervisor", "restart", 0);
        metrics_restart ();
        if (s_child_launch (child) == 0)
            return;
        log_warn ("supervisor: %s failed to start", child->name);
    }
}

static void
s_child_message (s_sup_t *self, s_child_t *child)
{
    zmsg_t *msg = zmsg_recv (child->pipe);
    if (!msg)
        return;
    char *reason = NULL;
    if (zmsg_signal (msg) >= 0) {
        child->exited = true;
        reason = strdup ("returned without being sent $TERM");
    }
    else
    if (zframe_streq (zmsg_first (msg), "CRASHED")) {
        zframe_t *why = zmsg_next (msg);
        reason = why ? zframe_strdup (why) : strdup ("no reason given");
    }
    else
        log_warn ("supervisor: ignoring a message from %s", child->name);
    zmsg_destroy (&msg);
    if (reason) {
        log_warn ("supervisor: %s crashed: %s", child->name, reason);
        zstr_free (&reason);
        s_restart (self, child);
    }
}

static s_child_t *
s_find (s_sup_t *self, const char *name, size_t *index)
{
    for (size_t i = 0; i < self->count; i++)
        if (streq (self->children[i]->name, name)) {
            if (index)
                *index = i;
            return self->children[i];
        }
    return NULL;
}

static int
s_start_child (s_sup_t *self, s_request_t *request)
{
    if (self->state != SUP_RUNNING || !actor_name_valid (request->name) || !request->fn
    ||  s_find (self, request->name, NULL))
        return -1;
    s_child_t *child = (s_child_t *) zmalloc (sizeof (s_child_t));
    assert (child);
    snprintf (child->name, sizeof child->name, "%s", request->name);
    child->fn = request->fn;
    child->args = request->args;
    if (s_child_launch (child) != 0) {
        log_warn ("supervisor: %s failed to start", child->name);
        free (child);
        return -1;
    }
    if (self->count == self->capacity) {
        self->capacity = self->capacity ? self->capacity * 2 : 8;
        self->children = (s_child_t **) realloc (self->children, self->capacity * sizeof (s_child_t *));
        assert (self->children);
    }
    self->children[self->count++] = child;
    log_debug ("supervisor: started %s", child->name);
    return 0;
}

static int
s_stop_child (s_sup_t *self, s_request_t *request)
{
    size_t index;
    s_child_t *child = request->name ? s_find (self, request->name, &index) : NULL;
    if (self->state != SUP_RUNNING || !child)
        return -1;
    s_child_stop (child);
    free (child);
    memmove (&self->children[index], &self->children[index + 1],
             (self->count - index - 1) * sizeof (s_child_t *));
    self->count--;
    return 0;
}

static void
s_handle_command (s_sup_t *self)
{
    zmsg_t *msg = zmsg_recv (self->pipe);
    if (!msg) {
        self->state = SUP_TERMINATED;
        return;
    }
    char *command = zmsg_popstr (msg);
    zframe_t *frame = zmsg_pop (msg);
    s_request_t *request = NULL;
    if (frame && zframe_size (frame) == sizeof (request))
        memcpy (&request, zframe_data (frame), sizeof (request));

    if (command && streq (command, "$TERM"))
        self->state = SUP_TERMINATED;
    else
    if (command && request && streq (command, "START")) {
        request->status = s_start_child (self, request);
        sem_post (&request->done);
    }
    else
    if (command && request && streq (command, "STOP")) {
        request->status = s_stop_child (self, request);
        sem_post (&request->done);
    }
    else
        log_warn ("supervisor: invalid command %s", command ? command : "(none)");
    zframe_destroy (&frame);
    zstr_free (&command);
    zmsg_destroy (&msg);
}

static void
s_handle_signals (s_sup_t *self)
{
    int signo;
    while ((signo = signals_fd_read (self->sigfd)) > 0) {
        if (self->state != SUP_RUNNING)
            continue;           //  already stopped: nothing more to do
        switch (signo) {
            case SIGINT:
            case SIGTERM:
                if (self->owner_drains && !self->term_told) {
                    self->term_told = true;
                    log_info ("supervisor: %s, draining (again to stop at once)",
                              signo == SIGINT ? "SIGINT" : "SIGTERM");
                    s_tell_owner (self, "TERM", NULL);
                    break;
                }
                log_info ("supervisor: %s, stopping", signo == SIGINT ? "SIGINT" : "SIGTERM");
                s_stop_all (self);
                self->state = SUP_STOPPED;
                s_tell_owner (self, "EXIT", "0");
                break;
            case SIGHUP:
                s_tell_owner (self, "HUP", NULL);
                break;
            case SIGUSR1:
                s_tell_owner (self, "USR1", NULL);
                break;
            case SIGUSR2:
                s_tell_owner (self, "USR2", NULL);
                break;
            default:
                break;
        }
    }
    if (signo < 0)
        log_error ("supervisor: reading signals: %s", strerror (errno));
}

//  The pipe, the signalfd, then every running child.
static size_t
s_build_items (s_sup_t *self)
{
    size_t n = 2 + (self->state == SUP_RUNNING ? self->count : 0);
    if (n > self->nitems_max) {
        self->nitems_max = n * 2;
        self->items = (zmq_pollitem_t *) realloc (self->items, self->nitems_max * sizeof (zmq_pollitem_t));
        assert (self->items);
    }
    self->items[0] = (zmq_pollitem_t) { zsock_resolve (self->pipe), 0, ZMQ_POLLIN, 0 };
    self->items[1] = (zmq_pollitem_t) { NULL, self->sigfd, ZMQ_POLLIN, 0 };
    for (size_t i = 2; i < n; i++)
        self->items[i] = (zmq_pollitem_t) { zsock_resolve (self->children[i - 2]->pipe), 0, ZMQ_POLLIN, 0 };
    return n;
}

static void
s_run (s_sup_t *self)
{
    while (self->state != SUP_TERMINATED) {
        size_t n = s_build_items (self);
        if (zmq_poll (self->items, (int) n, -1) < 0) {
            if (errno == EINTR)
                continue;
            break;              //  context terminated
        }
        if (self->items[0].revents & ZMQ_POLLIN) {
            s_handle_command (self);
            continue;           //  the set of children may have changed
        }
        if (self->items[1].revents & ZMQ_POLLIN) {
            s_handle_signals (self);
            continue;
        }
        //  A restart replaces a child in place, so indices stay valid.
        for (size_t i = 2; i < n && self->state == SUP_RUNNING; i++)
            if (self->items[i].revents & ZMQ_POLLIN)
                s_child_message (self, self->children[i - 2]);
    }
}

static void
s_supervisor_actor (zsock_t *pipe, void *args)
{
    s_start_t *start = (s_start_t *) args;
    s_sup_t self = { .pipe = pipe, .intensity = start->opts.intensity, .owner_drains = start->opts.owner_drains,
                     .period_ms = start->opts.period_ms, .state = SUP_RUNNING };
    self.sigfd = signals_fd_new ();
    self.restarts = (int64_t *) calloc ((size_t) self.intensity + 1, sizeof (int64_t));
    if (self.sigfd < 0 || !self.restarts) {
        log_error ("supervisor: cannot start: %s", strerror (errno));
        if (self.sigfd >= 0)
            close (self.sigfd);
        free (self.restarts);
        start->status = -1;
        zsock_signal (pipe, 1);
        return;
    }
    //  Events must not block the supervisor if the owner stops reading.
    zsock_set_sndtimeo (pipe, 0);
    start->status = 0;
    zsock_signal (pipe, 0);

    s_run (&self);

    s_stop_all (&self);
    for (size_t i = 0; i < self.count; i++)
        free (self.children[i]);
    free (self.children);
    free (self.items);
    free (self.restarts);
    trace_destroy (&self.trace);
    close (self.sigfd);
}


//  --- API

zactor_t *
supervisor_new (const supervisor_opts_t *opts)
{
    s_start_t start = { { SUPERVISOR_INTENSITY_DEFAULT, SUPERVISOR_PERIOD_MS_DEFAULT, false }, -1 };
    if (opts)
        start.opts = *opts;
    if (start.opts.intensity < 0 || start.opts.period_ms <= 0)
        return NULL;
    zactor_t *sup = zactor_new (s_supervisor_actor, &start);
    //  On failure the actor returned without reading its pipe: its exit
    //  signal is still unread and zactor_destroy cannot block.
    if (sup && start.status != 0)
        zactor_destroy (&sup);
    return sup;
}

static int
s_request (zactor_t *sup, const char *command, s_request_t *request)
{
    assert (sup);
    request->status = -1;
    if (sem_init (&request->done, 0, 0) != 0)
        return -1;
    void *pointer = request;
    if (zsock_send (sup, "sb", command, &pointer, sizeof pointer) != 0) {
        sem_destroy (&request->done);
        return -1;
    }
    while (sem_wait (&request->done) != 0 && errno == EINTR)
        ;
    sem_destroy (&request->done);
    return request->status;
}

int
supervisor_start_child (zactor_t *sup, const char *name, zactor_fn *fn, void *args)
{
    s_request_t request = { .name = name, .fn = fn, .args = args };
    return s_request (sup, "START", &request);
}

int
supervisor_stop_child (zactor_t *sup, const char *name)
{
    s_request_t request = { .name = name };
    return s_request (sup, "STOP", &request);
}

int
supervisor_wait (zactor_t *sup, int timeout_ms)
{
    int code;
    //  A SIGHUP is not for this caller: keep waiting.
    while ((code = supervisor_wait_event (sup, timeout_ms)) == SUPERVISOR_HUP
           || code == SUPERVISOR_USR1)
        ;
    return code;
}

int
supervisor_wait_event (zactor_t *sup, int timeout_ms)
{
    assert (sup);
    int64_t deadline = timeout_ms >= 0 ? zclock_mono () + timeout_ms : -1;
    while (true) {
        long wait = -1;
        if (deadline >= 0) {
            wait = (long) (deadline - zclock_mono ());
            if (wait < 0)
                wait = 0;
        }
        zmq_pollitem_t item = { zsock_resolve (sup), 0, ZMQ_POLLIN, 0 };
        int rc = zmq_poll (&item, 1, wait);
        if (rc < 0 && errno == EINTR)
            continue;
        if (rc <= 0)
            return -1;
        zmsg_t *msg = zmsg_recv (sup);
        if (!msg)
            return -1;
        char *event = zmsg_popstr (msg);
        int code = -2;
        if (event && streq (event, "EXIT")) {
            char *arg = zmsg_popstr (msg);
            code = arg && streq (arg, "0") ? 0 : 1;
            zstr_free (&arg);
        }
        else if (event && streq (event, "HUP"))
            code = SUPERVISOR_HUP;
        else if (event && streq (event, "TERM"))
            code = SUPERVISOR_TERM;
        else if (event && streq (event, "USR1"))
            code = SUPERVISOR_USR1;
        zstr_free (&event);
        zmsg_destroy (&msg);
        if (code != -2)
            return code;
    }
}
