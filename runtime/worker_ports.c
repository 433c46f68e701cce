/*  worker_ports — the listening sockets a worker accepts on by itself
    (worker_ports.h says why).
*/
#include "runtime/worker_ports.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "runtime/base/log.h"
#include "runtime/timers.h"
#include "runtime/worker_priv.h"

//  Accepts per wake-up: a few, so that a burst of connections is shared
//  with the other workers (the socket stays readable, level-triggered)
//  instead of all landing on the first one awake.
#define ACCEPT_BURST 4
//  Out of file descriptors (or buffers): the sockets rest this long, so that
//  a flood does not spin the loop on accept errors.
#define REST_MS 100

struct worker_ports_t {
    worker_t *worker;
    int epfd;
    worker_port_t *ports;
    size_t count;
    bool watched;                   //  in the epoll set
    uint64_t rest_until;            //  > 0: resting after the fd limit was hit
};

worker_ports_t *
worker_ports_new (worker_t *worker, int epfd)
{
    worker_ports_t *self = calloc (1, sizeof *self);
    if (self) {
        self->worker = worker;
        self->epfd = epfd;
    }
    return self;
}

static void
s_unwatch (worker_ports_t *self)
{
    if (self->watched)
        for (size_t i = 0; i < self->count; i++)
            epoll_ctl (self->epfd, EPOLL_CTL_DEL, self->ports[i].fd, NULL);
    self->watched = false;
}

static void
s_watch (worker_ports_t *self)
{
    for (size_t i = 0; i < self->count; i++) {
        //  EPOLLEXCLUSIVE: one connection wakes one worker, not all of them.
        struct epoll_event ev = { .events = EPOLLIN | EPOLLEXCLUSIVE, .data.ptr = &self->ports[i] };
        if (epoll_ctl (self->epfd, EPOLL_CTL_ADD, self->ports[i].fd, &ev) != 0)
            log_error ("worker %d: cannot watch a listening socket: %s",
                       worker_index (self->worker), strerror (errno));
    }
    self->watched = true;
}

void
worker_ports_close (worker_ports_t *self)
{
    s_unwatch (self);
    for (size_t i = 0; i < self->count; i++)
        close (self->ports[i].fd);
    free (self->ports);
    self->ports = NULL;
    self->count = 0;
    self->rest_until = 0;
}

void
worker_ports_destroy (worker_ports_t **self_p)
{
    worker_ports_t *self = *self_p;
    if (!self)
        return;
    worker_ports_close (self);
    free (self);
    *self_p = NULL;
}

void
worker_ports_set (worker_ports_t *self, zmsg_t *msg)
{
    worker_ports_close (self);
    size_t count = zmsg_size (msg) / 3;
    self->ports = calloc (count + 1, sizeof (worker_port_t));
    size_t kept = 0;
    for (size_t i = 0; i < count; i++) {
        zframe_t *fd_frame = zmsg_pop (msg);
        zframe_t *conf_frame = zmsg_pop (msg);
        zframe_t *pinned_frame = zmsg_pop (msg);
        bool pinned = zframe_size (pinned_frame) == 1 && zframe_data (pinned_frame)[0] == 1;
        zframe_destroy (&pinned_frame);
        int fd = -1;
        const handler_conf_t *conf = NULL;
        if (zframe_size (fd_frame) == sizeof fd)
            memcpy (&fd, zframe_data (fd_frame), sizeof fd);
        if (zframe_size (conf_frame) == sizeof conf)
            memcpy (&conf, zframe_data (conf_frame), sizeof conf);
        zframe_destroy (&fd_frame);
        zframe_destroy (&conf_frame);
        //  Never a blocking accept in a worker, whatever the sender made.
        if (fd >= 0 && conf && self->ports && fcntl (fd, F_SETFL, fcntl (fd, F_GETFL) | O_NONBLOCK) == 0)
            self->ports[kept++] = (worker_port_t) { EP_LISTEN, self, fd, conf, pinned };
        else if (fd >= 0)
            close (fd);
    }
    self->count = kept;
    s_watch (self);
}

//  EMFILE and friends: say so (once a second at most) and rest.
static void
s_rest (worker_ports_t *self, int err)
{
    if (err == EMFILE || err == ENFILE) {
        struct rlimit rl = { 0, 0 };
        getrlimit (RLIMIT_NOFILE, &rl);
        log_warn_limited ("accept: %s: %s (%llu); new connections wait %d ms at a time",
                          strerror (err), err == EMFILE
                          ? "the process's open file limit (ulimit -n / LimitNOFILE) is reached"
                          : "the system's open file limit is reached",
                          (unsigned long long) rl.rlim_cur, REST_MS);
    }
    else
        log_warn_limited ("accept: %s; new connections wait %d ms at a time", strerror (err), REST_MS);
    s_unwatch (self);
    self->rest_until = timers_now_ms () + REST_MS;
}

//  To a less busy worker's inbox, as the acceptor used to send every socket.
static int
s_hand_over (worker_ports_t *self, int w, int fd, const handler_conf_t *conf)
{
    zmsg_t *msg = zmsg_new ();
    zmsg_addstr (msg, "ACCEPT");
    zmsg_addstrf (msg, "%d", fd);
    zmsg_addmem (msg, &conf, sizeof conf);
    return worker_send_to (self->worker, w, &msg);
}

void
worker_ports_accept (worker_port_t *port)
{
    worker_ports_t *self = port->owner;
    for (int burst = 0; burst < ACCEPT_BURST && self->watched; burst++) {
        int fd = accept4 (port->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            int err = errno;
            if (err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM)
                s_rest (self, err);
            else if (err != EAGAIN && err != EWOULDBLOCK && err != EINTR
                     && err != ECONNABORTED && err != EPROTO)
                log_warn_limited ("accept: %s", strerror (err));
            return;
        }
        int w = port->pinned ? worker_index (self->worker) : worker_accept_target (self->worker);
        if (w != worker_index (self->worker) && s_hand_over (self, w, fd, port->conf) == 0)
            continue;
        worker_serve (self->worker, fd, port->conf);
    }
}

int
worker_ports_wait_ms (worker_ports_t *self, uint64_t now_ms)
{
    if (!self->rest_until)
        return -1;
    return self->rest_until > now_ms ? (int) (self->rest_until - now_ms) : 0;
}

void
worker_ports_resume (worker_ports_t *self, uint64_t now_ms)
{
    if (self->rest_until && now_ms >= self->rest_until) {
        self->rest_until = 0;
        s_watch (self);
    }
}

zmsg_t *
worker_ports_message (void)
{
    zmsg_t *msg = zmsg_new ();
    zmsg_addstr (msg, "LISTEN");
    return msg;
}

void
worker_ports_message_add (zmsg_t *msg, int fd, const handler_conf_t *conf, bool pinned)
{
    uint8_t flag = pinned ? 1 : 0;
    zmsg_addmem (msg, &fd, sizeof fd);
    zmsg_addmem (msg, &conf, sizeof conf);
    zmsg_addmem (msg, &flag, 1);
}
