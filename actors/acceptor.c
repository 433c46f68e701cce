/*  acceptor — the actor that owns the listening sockets. */
#include "actors/acceptor.h"

#include <errno.h>
#include <sys/resource.h>
#include <netdb.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "runtime/actor.h"
#include "runtime/base/log.h"
#include "runtime/worker.h"

#define ACCEPT_BURST 64
#define BACKOFF_MS 100          //  pause after running out of file descriptors
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
    zsock_t *control;           //  PULL: new listener sets (config reload)
    zsock_t **workers;          //  a PUSH to each worker's inbox
    int next_worker;            //  round robin
    const listener_conf_t *listeners;
    size_t count;
    s_port_t *ports;
    zmq_pollitem_t *items;      //  pipe, control, then the listeners
    int64_t paused_until;
    bool terminated;
} self_t;

#define FIRST_PORT_ITEM 2

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
    self->listeners = args->listeners;
    self->count = args->listener_count;
    self->ports = calloc (self->count + 1, sizeof (s_port_t));
    self->items = calloc (self->count + FIRST_PORT_ITEM, sizeof (zmq_pollitem_t));
    for (size_t i = 0; i < self->count; i++)
        self->ports[i].fd = -1;
    self->workers = calloc ((size_t) args->worker_count, sizeof (zsock_t *));
    for (int i = 0; i < args->worker_count; i++) {
        char endpoint[64];
        self->workers[i] = zsock_new_push (worker_endpoint (i, endpoint, sizeof endpoint));
        //  A stuck worker must not stall accepting for everyone: give up on
        //  one hand-over after a while and drop that connection instead.
        zsock_set_sndtimeo (self->workers[i], 1000);
    }
    return self;
}

static void
s_self_destroy (self_t **self_p)
{
    self_t *self = *self_p;
    for (size_t i = 0; i < self->count; i++)
        if (self->ports[i].fd >= 0)
            close (self->ports[i].fd);
    for (int i = 0; i < self->args->worker_count; i++)
        zsock_destroy (&self->workers[i]);
    zsock_destroy (&self->control);
    free (self->workers);
    free (self->ports);
    free (self->items);
    free (self);
    *self_p = NULL;
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

static void
s_rebuild_items (self_t *self)
{
    self->items[0] = (zmq_pollitem_t) { zsock_resolve (self->pipe), 0, ZMQ_POLLIN, 0 };
    self->items[1] = (zmq_pollitem_t) { zsock_resolve (self->control), 0, ZMQ_POLLIN, 0 };
    for (size_t i = 0; i < self->count; i++) {
        int fd = self->ports[i].fd;
        self->items[FIRST_PORT_ITEM + i] = (zmq_pollitem_t) { NULL, fd, (short) (fd >= 0 ? ZMQ_POLLIN : 0), 0 };
    }
}

static int
s_self_bind (self_t *self)
{
    for (size_t i = 0; i < self->count; i++)
        if (s_bind_one (self, i) != 0)
            return -1;
    s_rebuild_items (self);
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
        s_rebuild_items (self);
    return next;
}

static bool
s_same_listener (const listener_conf_t *a, const listener_conf_t *b)
{
    return strcmp (a->listen.host, b->listen.host) == 0 && a->listen.port == b->listen.port
        && a->handler.cls == b->handler.cls && a->handler.wormhole == b->handler.wormhole
        && a->handler.flags == b->handler.flags && a->worker == b->worker
        && strcmp (a->handler.relay_to.host, b->handler.relay_to.host) == 0
        && a->handler.relay_to.port == b->handler.relay_to.port;
}

//  A new set of listeners (config reload): the ones that stay keep their
//  sockets (no connection attempt is refused meanwhile), the others close,
//  the new ones bind.
static void
s_handle_control (self_t *self)
{
    char *command = NULL;
    void *listeners = NULL;
    int count = 0;
    if (zsock_recv (self->control, "spi", &command, &listeners, &count) != 0)
        return;
    bool ok = command && streq (command, "SET") && count >= 0 && (listeners || count == 0);
    zstr_free (&command);
    if (!ok)
        return;
    const listener_conf_t *next = listeners;
    s_port_t *ports = calloc ((size_t) count + 1, sizeof (s_port_t));
    bool *kept = calloc (self->count + 1, sizeof (bool));
    for (int i = 0; i < count; i++) {
        ports[i].fd = -1;
        for (size_t j = 0; j < self->count; j++)
            if (!kept[j] && self->ports[j].fd >= 0 && s_same_listener (&next[i], &self->listeners[j])) {
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
    free (self->items);
    self->ports = ports;
    self->listeners = next;
    self->count = (size_t) count;
    self->items = calloc (self->count + FIRST_PORT_ITEM, sizeof (zmq_pollitem_t));
    for (size_t i = 0; i < self->count; i++)
        if (self->ports[i].fd < 0 && !self->ports[i].retry_at) {
            //  A reload never fails for a busy port: it is retried.
            bool retry = self->args->retry_binds;
            self->args->retry_binds = true;
            s_bind_one (self, i);
            self->args->retry_binds = retry;
        }
    s_rebuild_items (self);
}

static void
s_handle_listener (self_t *self, size_t index)
{
    for (int burst = 0; burst < ACCEPT_BURST; burst++) {
        int fd = accept4 (self->ports[index].fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EMFILE || errno == ENFILE) {
                struct rlimit rl = { 0, 0 };
                getrlimit (RLIMIT_NOFILE, &rl);
                log_warn_limited ("accept: %s: %s (%llu); new connections wait %d ms at a time",
                                  strerror (errno), errno == EMFILE
                                  ? "the process's open file limit (ulimit -n / LimitNOFILE) is reached"
                                  : "the system's open file limit is reached",
                                  (unsigned long long) rl.rlim_cur, BACKOFF_MS);
                self->paused_until = zclock_mono () + BACKOFF_MS;
            }
            else if (errno == ENOBUFS || errno == ENOMEM) {
                log_warn_limited ("accept: %s; new connections wait %d ms at a time",
                                  strerror (errno), BACKOFF_MS);
                self->paused_until = zclock_mono () + BACKOFF_MS;
            }
            else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR
                     && errno != ECONNABORTED && errno != EPROTO)
                log_warn_limited ("accept: %s", strerror (errno));
            return;
        }
        const listener_conf_t *listener = &self->listeners[index];
        int worker = listener->worker;
        if (worker < 0 || worker >= self->args->worker_count) {
            worker = self->next_worker;
            self->next_worker = (self->next_worker + 1) % self->args->worker_count;
        }
        if (zsock_send (self->workers[worker], "sip", "ACCEPT", fd, (void *) &listener->handler) != 0) {
            log_warn ("no data-plane worker took a new connection; dropped");
            close (fd);
        }
    }
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
    while (!self->terminated) {
        long retry = s_retry_binds (self);
        int64_t now = zclock_mono ();
        bool paused = now < self->paused_until;
        int count = paused ? FIRST_PORT_ITEM : (int) self->count + FIRST_PORT_ITEM;
        long timeout = paused ? (long) (self->paused_until - now) : -1;
        if (retry >= 0 && (timeout < 0 || retry < timeout))
            timeout = retry;
        if (zmq_poll (self->items, count, timeout) < 0) {
            if (zmq_errno () == EINTR)
                continue;
            s_self_destroy (&self);
            actor_fail (pipe, "zmq_poll failed");
            return;
        }
        if (self->items[0].revents & ZMQ_POLLIN)
            s_handle_pipe (self);
        if (self->terminated)
            break;
        if (self->items[1].revents & ZMQ_POLLIN) {
            s_handle_control (self);
            continue;           //  the items were rebuilt
        }
        for (int i = FIRST_PORT_ITEM; i < count && !self->terminated; i++)
            if (self->items[i].revents & ZMQ_POLLIN)
                s_handle_listener (self, (size_t) i - FIRST_PORT_ITEM);
    }
    s_self_destroy (&self);
}
