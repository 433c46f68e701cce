/*  acceptor — the actor that owns the listening sockets: binds them (again
    on a reload, with retries), and gives each worker a duplicate of the ones
    it serves; the workers accept (runtime/worker_ports.h). */
#include "actors/acceptor.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "runtime/actor.h"
#include "runtime/base/log.h"
#include "runtime/worker.h"
#include "runtime/worker_ports.h"

#define RETRY_MIN_MS 1000       //  first retry of a port that could not be bound
#define RETRY_MAX_MS 60000

//  Per listener: its socket, or when binding failed, when to try again.
typedef struct {
    int fd;
    int64_t retry_at;           //  0: bound (or not tried yet)
    int retry_ms;
} s_port_t;

typedef struct {
    acceptor_args_t *args;
    zsock_t *pipe;
    zsock_t *control;           //  PULL: new listener sets (config reload), and
                                //  the workers' "WANT" (WORKER_PORTS_WANTED)
    zsock_t **workers;          //  a PUSH to each worker's inbox
    const listener_conf_t *listeners;
    size_t count;
    s_port_t *ports;
    bool terminated;
} self_t;

int
acceptor_listen (const hostport_t *address)
{
    struct sockaddr_storage sa;
    socklen_t salen;
    struct addrinfo *found = NULL;
    if (!addr_from_literal (address->host, address->port, &sa, &salen)) {
        struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE };
        char port[8];
        snprintf (port, sizeof port, "%u", address->port);
        int rc = getaddrinfo (address->host, port, &hints, &found);
        if (rc != 0 || !found) {
            errno = EADDRNOTAVAIL;
            return -1;
        }
        memcpy (&sa, found->ai_addr, found->ai_addrlen);
        salen = found->ai_addrlen;
        freeaddrinfo (found);
    }
    int fd = socket (sa.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    int on = 1;
    setsockopt (fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
    if (sa.ss_family == AF_INET6)
        setsockopt (fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof on);
    if (bind (fd, (struct sockaddr *) &sa, salen) != 0 || listen (fd, SOMAXCONN) != 0) {
        int err = errno;
        close (fd);
        errno = err;
        return -1;
    }
    return fd;
}

static self_t *
s_self_new (zsock_t *pipe, acceptor_args_t *args)
{
    self_t *self = calloc (1, sizeof *self);
    self->args = args;
    self->pipe = pipe;
    self->control = zsock_new_pull (ACCEPTOR_CONTROL);
    if (self->control)
        zsock_bind (self->control, "%s", WORKER_PORTS_WANTED);
    self->listeners = args->listeners;
    self->count = args->listener_count;
    self->ports = calloc (self->count + 1, sizeof (s_port_t));
    for (size_t i = 0; i < self->count; i++)
        self->ports[i].fd = -1;
    self->workers = calloc ((size_t) args->worker_count, sizeof (zsock_t *));
    for (int i = 0; i < args->worker_count; i++) {
        char endpoint[64];
        self->workers[i] = zsock_new_push (worker_endpoint (i, endpoint, sizeof endpoint));
        //  A stuck worker must not stall the others' sets for long.
        zsock_set_sndtimeo (self->workers[i], 1000);
    }
    return self;
}

static const char *
s_describe (const listener_conf_t *l, char *buf, size_t len)
{
    if (l->label[0])
        snprintf (buf, len, "%s", l->label);
    else
        snprintf (buf, len, "%s proxy", l->handler.cls->name);
    return buf;
}

//  Tell worker w which sockets it accepts on: a duplicate of each bound one
//  it serves (all of them, but a listener pinned to another worker), so
//  that it can close its own when the set changes without a race on the
//  descriptor number. The socket closes when the last copy does.
static void
s_publish_to (self_t *self, int w)
{
    zmsg_t *msg = worker_ports_message ();
    for (size_t i = 0; i < self->count; i++) {
        const listener_conf_t *l = &self->listeners[i];
        bool pinned = l->worker >= 0 && l->worker < self->args->worker_count;
        if (self->ports[i].fd < 0 || (pinned && l->worker != w))
            continue;
        int fd = fcntl (self->ports[i].fd, F_DUPFD_CLOEXEC, 0);
        if (fd < 0) {
            char what[128];
            log_error ("%s: worker %d cannot accept on %s:%u: %s", s_describe (l, what, sizeof what),
                       w, l->listen.host, l->listen.port, strerror (errno));
            continue;
        }
        worker_ports_message_add (msg, fd, &l->handler, pinned);
    }
    //  "LISTEN" then fd/conf pairs: on failure close the copies ourselves.
    zmsg_t *copy = zmsg_dup (msg);
    if (zmsg_send (&msg, self->workers[w]) != 0) {
        log_error ("worker %d did not take its listening sockets", w);
        zmsg_destroy (&msg);
        zframe_t *frame = zmsg_first (copy);
        while ((frame = zmsg_next (copy))) {
            int fd = -1;
            if (zframe_size (frame) == sizeof fd)
                memcpy (&fd, zframe_data (frame), sizeof fd);
            zmsg_next (copy);           //  its conf and pinned flag
            zmsg_next (copy);
            if (fd >= 0)
                close (fd);
        }
    }
    zmsg_destroy (&copy);
}

static void
s_publish (self_t *self)
{
    for (int w = 0; w < self->args->worker_count; w++)
        s_publish_to (self, w);
}

static void
s_self_destroy (self_t **self_p)
{
    self_t *self = *self_p;
    //  The workers stop accepting too (a drain, or a restart that binds anew).
    for (size_t i = 0; i < self->count; i++)
        if (self->ports[i].fd >= 0) {
            close (self->ports[i].fd);
            self->ports[i].fd = -1;
        }
    s_publish (self);
    for (int i = 0; i < self->args->worker_count; i++)
        zsock_destroy (&self->workers[i]);
    zsock_destroy (&self->control);
    free (self->workers);
    free (self->ports);
    free (self);
    *self_p = NULL;
}

//  Bind listener i; on failure either give up (-1) or schedule a retry.
static int
s_bind_one (self_t *self, size_t i)
{
    const listener_conf_t *l = &self->listeners[i];
    s_port_t *port = &self->ports[i];
    char what[128];
    s_describe (l, what, sizeof what);
    port->fd = acceptor_listen (&l->listen);
    if (port->fd < 0) {
        if (!self->args->retry_binds) {
            log_error ("cannot listen on %s:%u: %s", l->listen.host, l->listen.port, strerror (errno));
            return -1;
        }
        int wait = port->retry_ms ? port->retry_ms : RETRY_MIN_MS;
        log_warn ("%s: cannot listen on %s:%u: %s; trying again in %d s", what, l->listen.host,
                  l->listen.port, strerror (errno), wait / 1000);
        port->retry_at = zclock_mono () + wait;
        port->retry_ms = wait * 2 > RETRY_MAX_MS ? RETRY_MAX_MS : wait * 2;
        return 0;
    }
    log_info ("%s listening on %s:%u", what, l->listen.host, l->listen.port);
    port->retry_at = 0;
    port->retry_ms = 0;
    return 0;
}

static int
s_self_bind (self_t *self)
{
    for (size_t i = 0; i < self->count; i++)
        if (s_bind_one (self, i) != 0)
            return -1;
    s_publish (self);
    return 0;
}

//  Ports that could not be bound are tried again when their time comes;
//  returns the milliseconds until the next retry (-1: none pending).
static long
s_retry_binds (self_t *self)
{
    long next = -1;
    bool changed = false;
    for (size_t i = 0; i < self->count; i++) {
        s_port_t *port = &self->ports[i];
        if (!port->retry_at)
            continue;
        if (port->retry_at <= zclock_mono ()) {
            s_bind_one (self, i);
            changed = true;
        }
        if (port->retry_at) {
            long wait = (long) (port->retry_at - zclock_mono ());
            if (wait < 0)
                wait = 0;
            if (next < 0 || wait < next)
                next = wait;
        }
    }
    if (changed)
        s_publish (self);
    return next;
}

//  A listener of the new set on an address we listen on keeps that socket,
//  whatever its handler now is: no connection attempt is refused meanwhile,
//  and the workers learn the new handler with the new set.
static bool
s_same_address (const listener_conf_t *a, const listener_conf_t *b)
{
    return strcmp (a->listen.host, b->listen.host) == 0 && a->listen.port == b->listen.port;
}

//  A new set of listeners (config reload): the addresses that stay keep
//  their sockets, the others close, the new ones bind.
static void
s_handle_set (self_t *self, const listener_conf_t *next, int count)
{
    s_port_t *ports = calloc ((size_t) count + 1, sizeof (s_port_t));
    bool *kept = calloc (self->count + 1, sizeof (bool));
    for (int i = 0; i < count; i++) {
        ports[i].fd = -1;
        for (size_t j = 0; j < self->count; j++)
            if (!kept[j] && self->ports[j].fd >= 0 && s_same_address (&next[i], &self->listeners[j])) {
                ports[i] = self->ports[j];
                kept[j] = true;
                break;
            }
    }
    for (size_t j = 0; j < self->count; j++)
        if (!kept[j] && self->ports[j].fd >= 0) {
            char what[128];
            log_info ("%s on %s:%u: closed", s_describe (&self->listeners[j], what, sizeof what),
                      self->listeners[j].listen.host, self->listeners[j].listen.port);
            close (self->ports[j].fd);
        }
    free (kept);
    free (self->ports);
    self->ports = ports;
    self->listeners = next;
    self->count = (size_t) count;
    for (size_t i = 0; i < self->count; i++)
        if (self->ports[i].fd < 0 && !self->ports[i].retry_at) {
            //  A reload never fails for a busy port: it is retried.
            bool retry = self->args->retry_binds;
            self->args->retry_binds = true;
            s_bind_one (self, i);
            self->args->retry_binds = retry;
        }
    s_publish (self);
}

//  "SET" listeners count: a reload; "WANT" index: a worker (re)started.
static void
s_handle_control (self_t *self)
{
    zmsg_t *msg = zmsg_recv (self->control);
    char *command = msg ? zmsg_popstr (msg) : NULL;
    if (command && streq (command, "WANT")) {
        char *index = zmsg_popstr (msg);
        int w = index ? atoi (index) : -1;
        if (w >= 0 && w < self->args->worker_count)
            s_publish_to (self, w);
        zstr_free (&index);
    }
    else if (command && streq (command, "SET") && zmsg_size (msg) == 2) {
        void *listeners = NULL;
        zframe_t *frame = zmsg_pop (msg);
        if (zframe_size (frame) == sizeof listeners)
            memcpy (&listeners, zframe_data (frame), sizeof listeners);
        zframe_destroy (&frame);
        char *count_text = zmsg_popstr (msg);
        int count = count_text ? atoi (count_text) : -1;
        zstr_free (&count_text);
        if (count >= 0 && (listeners || count == 0))
            s_handle_set (self, listeners, count);
    }
    zstr_free (&command);
    zmsg_destroy (&msg);
}

static void
s_handle_pipe (self_t *self)
{
    if (actor_pipe_term (self->pipe))
        self->terminated = true;
}

void
acceptor_actor (zsock_t *pipe, void *args)
{
    self_t *self = s_self_new (pipe, args);
    if (s_self_bind (self) != 0) {
        s_self_destroy (&self);
        zsock_signal (pipe, 1);
        return;
    }
    zsock_signal (pipe, 0);
    zmq_pollitem_t items[] = { { zsock_resolve (self->pipe), 0, ZMQ_POLLIN, 0 },
                               { zsock_resolve (self->control), 0, ZMQ_POLLIN, 0 } };
    while (!self->terminated) {
        long timeout = s_retry_binds (self);
        if (zmq_poll (items, 2, timeout) < 0) {
            if (zmq_errno () == EINTR)
                continue;
            s_self_destroy (&self);
            actor_fail (pipe, "zmq_poll failed");
            return;
        }
        if (items[0].revents & ZMQ_POLLIN)
            s_handle_pipe (self);
        if (!self->terminated && (items[1].revents & ZMQ_POLLIN))
            s_handle_control (self);
    }
    s_self_destroy (&self);
}
