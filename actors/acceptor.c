/*  acceptor — the actor that owns the listening sockets. */
#include "actors/acceptor.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "runtime/actor.h"
#include "runtime/log.h"
#include "runtime/worker.h"

#define ACCEPT_BURST 64
#define BACKOFF_MS 100          //  pause after running out of file descriptors
#define RETRY_MIN_MS 1000       //  first retry of a port that could not be bound
#define RETRY_MAX_MS 60000

typedef struct {
    acceptor_args_t *args;
    zsock_t *pipe;
    zsock_t **workers;          //  a PUSH to each worker's inbox
    int next_worker;            //  round robin
    int *fds;
    zmq_pollitem_t *items;      //  pipe + listeners
    int64_t paused_until;
    int64_t *retry_at;          //  by listener: next bind attempt (0: bound)
    int *retry_ms;
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
    self->fds = calloc (args->listener_count, sizeof (int));
    self->items = calloc (args->listener_count + 1, sizeof (zmq_pollitem_t));
    self->retry_at = calloc (args->listener_count + 1, sizeof (int64_t));
    self->retry_ms = calloc (args->listener_count + 1, sizeof (int));
    self->workers = calloc ((size_t) args->worker_count, sizeof (zsock_t *));
    for (size_t i = 0; i < args->listener_count; i++)
        self->fds[i] = -1;
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
    for (size_t i = 0; i < self->args->listener_count; i++)
        if (self->fds[i] >= 0)
            close (self->fds[i]);
    for (int i = 0; i < self->args->worker_count; i++)
        zsock_destroy (&self->workers[i]);
    free (self->workers);
    free (self->fds);
    free (self->items);
    free (self->retry_at);
    free (self->retry_ms);
    free (self);
    *self_p = NULL;
}

//  Bind listener i; on failure either give up (-1) or schedule a retry.
static int
s_bind_one (self_t *self, size_t i)
{
    const listener_conf_t *l = &self->args->listeners[i];
    char what[128];
    if (l->label[0])
        snprintf (what, sizeof what, "%s", l->label);
    else
        snprintf (what, sizeof what, "%s proxy", handler_kind_name (l->handler.kind));
    self->fds[i] = acceptor_listen (&l->listen);
    if (self->fds[i] < 0) {
        if (!self->args->retry_binds) {
            log_error ("cannot listen on %s:%u: %s", l->listen.host, l->listen.port, strerror (errno));
            return -1;
        }
        int wait = self->retry_ms[i] ? self->retry_ms[i] : RETRY_MIN_MS;
        log_warn ("%s: cannot listen on %s:%u: %s; trying again in %d s", what, l->listen.host,
                  l->listen.port, strerror (errno), wait / 1000);
        self->retry_at[i] = zclock_mono () + wait;
        self->retry_ms[i] = wait * 2 > RETRY_MAX_MS ? RETRY_MAX_MS : wait * 2;
        self->items[i + 1] = (zmq_pollitem_t) { NULL, -1, 0, 0 };
        return 0;
    }
    log_info ("%s listening on %s:%u", what, l->listen.host, l->listen.port);
    self->retry_at[i] = 0;
    self->retry_ms[i] = 0;
    self->items[i + 1] = (zmq_pollitem_t) { NULL, self->fds[i], ZMQ_POLLIN, 0 };
    return 0;
}

static int
s_self_bind (self_t *self)
{
    self->items[0] = (zmq_pollitem_t) { zsock_resolve (self->pipe), 0, ZMQ_POLLIN, 0 };
    for (size_t i = 0; i < self->args->listener_count; i++)
        if (s_bind_one (self, i) != 0)
            return -1;
    return 0;
}

//  Ports that could not be bound are tried again when their time comes;
//  returns the milliseconds until the next retry (-1: none pending).
static long
s_retry_binds (self_t *self)
{
    long next = -1;
    for (size_t i = 0; i < self->args->listener_count; i++) {
        if (!self->retry_at[i])
            continue;
        int64_t now = zclock_mono ();
        if (self->retry_at[i] <= now)
            s_bind_one (self, i);
        if (self->retry_at[i]) {
            long wait = (long) (self->retry_at[i] - zclock_mono ());
            if (wait < 0)
                wait = 0;
            if (next < 0 || wait < next)
                next = wait;
        }
    }
    return next;
}

static void
s_handle_listener (self_t *self, size_t index)
{
    for (int burst = 0; burst < ACCEPT_BURST; burst++) {
        int fd = accept4 (self->fds[index], NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
                log_warn ("accept: %s; pausing new connections for %d ms", strerror (errno), BACKOFF_MS);
                self->paused_until = zclock_mono () + BACKOFF_MS;
            }
            else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR
                     && errno != ECONNABORTED && errno != EPROTO)
                log_warn ("accept: %s", strerror (errno));
            return;
        }
        const listener_conf_t *listener = &self->args->listeners[index];
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
    char *command = zstr_recv (self->pipe);
    if (!command || streq (command, "$TERM"))
        self->terminated = true;
    zstr_free (&command);
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
        int count = paused ? 1 : (int) self->args->listener_count + 1;
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
        for (int i = 1; i < count && !self->terminated; i++)
            if (self->items[i].revents & ZMQ_POLLIN)
                s_handle_listener (self, (size_t) i - 1);
    }
    s_self_destroy (&self);
}
