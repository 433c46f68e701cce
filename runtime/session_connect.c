/*  session_connect — the target connection: names through the resolver,
    every address tried in turn, failures reported through the connect timer
    so that a handler is never re-entered.
*/
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "runtime/base/log.h"
#include "runtime/handover.h"
#include "runtime/session_priv.h"
#include "runtime/stream.h"
#include "runtime/trace.h"
#include "runtime/worker.h"
#include "runtime/base/addr.h"

//  --------------------------------------------------------------------------
//  Connecting

//  Close the target and forget any connect or lookup in flight for it.
void
session_drop_target (session_t *self)
{
    session_conn_close (self, &self->target, false);
    self->resolve_token = 0;
    self->deadline[TIMER_CONNECT] = 0;
}

void
session_connect_failed (session_t *self, int err)
{
    session_drop_target (self);
    self->cls->connected (self->handler, err, NULL);
}

//  Start a connect to the next address; failures are reported through the
//  connect timer, due at once, so that the handler is never re-entered.
static void
s_connect_next (session_t *self)
{
    while (self->addr_next < self->addr_count) {
        size_t i = self->addr_next++;
        const struct sockaddr *sa = (const struct sockaddr *) &self->addrs[i];
        //  Checked here, on the address about to be connected, whatever
        //  name or literal it came from.
        if (self->filter && !self->filter (self->filter_arg, sa)) {
            self->addr_denied = true;
            continue;
        }
        int fd = socket (sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0) {
            self->connect_err = errno;
            continue;
        }
        session_socket_tune (fd);
        if (connect (fd, sa, self->addr_lens[i]) == 0 || errno == EINPROGRESS) {
            //  Keep target.out: bytes the handler sent while we resolved or
            //  tried an earlier address are written once this one is up.
            conn_t *target = &self->target;
            target->fd = fd;
            target->connecting = true;
            target->registered = false;
            target->interest = 0;
            target->eof_in = target->shut_pending = target->shut_done = false;
            return;
        }
        self->connect_err = errno;
        close (fd);
    }
    if (self->connect_err == 0)
        self->connect_err = self->addr_denied ? SESSION_ERR_DENIED : EHOSTUNREACH;
    session_arm (self, TIMER_CONNECT, 0);
}

void
session_connect_done (session_t *self)
{
    int err = 0;
    socklen_t len = sizeof err;
    if (getsockopt (self->target.fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
        err = errno;
    if (err) {
        self->connect_err = err;
        worker_conn_forget (self->worker, &self->target);
        close (self->target.fd);
        self->target.fd = -1;
        self->target.connecting = false;
        s_connect_next (self);
        return;
    }
    self->target.connecting = false;
    self->deadline[TIMER_CONNECT] = 0;
    if (trace_on ()) {
        char to[64];
        struct sockaddr_storage peer;
        socklen_t len = sizeof peer;
        if (getpeername (self->target.fd, (struct sockaddr *) &peer, &len) == 0)
            addr_format ((struct sockaddr *) &peer, to, sizeof to);
        else
            snprintf (to, sizeof to, "target");
        session_trace (self, self->cls->name, to, "connect", 0);
    }
    struct sockaddr_storage local;
    socklen_t local_len = sizeof local;
    if (getsockname (self->target.fd, (struct sockaddr *) &local, &local_len) != 0)
        memset (&local, 0, sizeof local);
    self->cls->connected (self->handler, 0, (struct sockaddr *) &local);
    if (!session_dead (self) && !session_flush (self, &self->target))
        session_kill (self, true);
}

void
session_on_resolved (session_t *self, uint64_t token, int status,
                     const struct sockaddr_storage *addrs, const socklen_t *lens, size_t count)
{
    if (session_udp_resolved (self, token, status, addrs, lens, count))
        return;
    self->resolve_token = 0;
    if (status != 0 || count == 0) {
        session_connect_failed (self, SESSION_ERR_RESOLVE);
        return;
    }
    if (count > SESSION_MAX_ADDRS)
        count = SESSION_MAX_ADDRS;
    memcpy (self->addrs, addrs, count * sizeof addrs[0]);
    memcpy (self->addr_lens, lens, count * sizeof lens[0]);
    self->addr_count = count;
    self->addr_next = 0;
    s_connect_next (self);
}

void
session_connect (session_t *self, const char *host, uint16_t port)
{
    session_connect_filtered (self, host, port, NULL, NULL);
}

void
session_connect_filtered (session_t *self, const char *host, uint16_t port,
                          session_filter_fn *filter, void *arg)
{
    if (session_dead (self))
        return;
    if (self->target.fd >= 0 || self->resolve_token)
        session_conn_close (self, &self->target, false);
    self->addr_count = self->addr_next = 0;
    self->connect_err = 0;
    self->filter = filter;
    self->filter_arg = arg;
    self->addr_denied = false;
    session_arm (self, TIMER_CONNECT, self->connect_timeout_ms > 0 ? self->connect_timeout_ms
                                                                   : worker_connect_timeout_ms (self->worker));
    if (addr_from_literal (host, port, &self->addrs[0], &self->addr_lens[0])) {
        self->addr_count = 1;
        s_connect_next (self);
        return;
    }
    self->resolve_token = worker_resolve (self->worker, self, host, port);
    if (!self->resolve_token) {
        self->connect_err = SESSION_ERR_RESOLVE;
        session_arm (self, TIMER_CONNECT, 0);
    }
}

void
session_close_target (session_t *self)
{
    if (session_dead (self))
        return;
    session_drop_target (self);
}
