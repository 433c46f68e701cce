/*  worker — a data-plane actor: many client connections in one epoll loop.

    The loop: drain the ZeroMQ sockets (actor pipe, inbox, resolver replies),
    wait in epoll until the next timer, hand socket events to their sessions,
    fire due timers, and free the sessions that ended during the turn (freed
    late so that an event later in the same batch never sees freed memory).
*/
#include "runtime/handover.h"
#include "runtime/stream.h"
#include "runtime/worker.h"

#include <errno.h>
#include <stdatomic.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "runtime/actor.h"
#include "runtime/base/log.h"
#include "runtime/heap_trim.h"
#include "runtime/resolver.h"
#include "runtime/session_table.h"
#include "runtime/trace.h"
#include "runtime/worker_ports.h"
#include "runtime/worker_priv.h"

#define MAX_EVENTS 256

//  A ZeroMQ socket in the epoll set. Its ZMQ_FD only signals edges: once
//  it fired (or we sent on the socket, which can take the edge), the socket
//  is `due` and is read until ZMQ_EVENTS says it is empty; until then it
//  costs nothing (asking ZMQ_EVENTS is a poll and a getpid).
typedef struct {
    ep_kind_t kind;         //  EP_ZMQ
    zsock_t *sock;
    bool due;
    void (*handle) (worker_t *self);
} zmq_entry_t;

//  A connection accepted here goes to a worker running this many sessions
//  fewer (a pair of sessions per user in a one-process wormhole, and one
//  more so that light traffic is not moved around).
#define WORKER_ACCEPT_SLACK 3

struct worker_t {
    worker_args_t args;
    zsock_t *pipe;
    zsock_t *inbox;         //  PULL: accepted sockets from the acceptor
    zsock_t *resolver;      //  DEALER to the resolver actor
    //  Made at start, not when needed: with the fd limit reached (a flood)
    //  no ZeroMQ socket can be made, and CZMQ asserts if one cannot.
    zsock_t *peers[WORKER_MAX]; //  PUSH to every worker's inbox (handovers)
    zsock_t *drained;       //  PUSH to WORKER_DRAINED
    zsock_t *wants;         //  PUSH to WORKER_PORTS_WANTED
    worker_ports_t *ports;  //  the listening sockets it accepts on
    zmq_entry_t zmq_entries[3];
    int epfd;
    bufpool_t *pool;
    trace_t *trace;         //  records hops while somebody subscribes
    timers_t *timers;
    timers_t *fine;                 //  deadlines in microseconds: held writes
    session_table_t sessions;
    size_t live;
    heap_trim_t trim;       //  when the memory of a burst goes back
    uint64_t next_token;    //  resolver request tokens
    session_t *dead;        //  ended this turn, freed at its end
    session_t *corked;      //  to uncork at the end of this turn
    worker_warm_t warm[WORKER_WARM_MAX];    //  sessions started ahead of their clients
    bool draining;          //  report once no user connection is left
    bool drain_reported;
    bool terminated;
};

const char *
worker_endpoint (int index, char *buf, size_t buflen)
{
    snprintf (buf, buflen, "inproc://mimicsocks-worker-%d", index);
    return buf;
}

//  --------------------------------------------------------------------------
//  Services for sessions

bufpool_t *
worker_pool (worker_t *self)
{
    return self->pool;
}

int
worker_index (worker_t *self)
{
    return self->args.index;
}

static void
s_publish_load (worker_t *self)
{
    if (self->args.loads)
        atomic_store_explicit (&self->args.loads->live[self->args.index], (long) self->live,
                               memory_order_relaxed);
}

worker_ports_t *
worker_ports (worker_t *self)
{
    return self->ports;
}

trace_t *
worker_trace (worker_t *self)
{
    return self->trace;
}

const worker_args_t *
worker_args (worker_t *self)
{
    return &self->args;
}

int
worker_idle_timeout_ms (worker_t *self)
{
    return self->args.idle_timeout_ms;
}

int
worker_connect_timeout_ms (worker_t *self)
{
    return self->args.connect_timeout_ms > 0 ? self->args.connect_timeout_ms : 10000;
}

void
worker_conn_update (worker_t *self, conn_t *conn, uint32_t events)
{
    if (conn->fd < 0)
        return;
    struct epoll_event ev = { .events = events, .data.ptr = conn };
    if (!conn->registered) {
        if (epoll_ctl (self->epfd, EPOLL_CTL_ADD, conn->fd, &ev) == 0) {
            conn->registered = true;
            conn->interest = events;
        }
        else
            log_error ("worker %d: epoll add fd %d: %s", self->args.index, conn->fd, strerror (errno));
    }
    else if (events != conn->interest) {
        bool only_out_dropped = (events | EPOLLOUT) == conn->interest;
        if (only_out_dropped && !conn->out_idle) {
            conn->out_kept = true;
            return;
        }
        if (epoll_ctl (self->epfd, EPOLL_CTL_MOD, conn->fd, &ev) == 0)
            conn->interest = events;
        else
            log_error ("worker %d: epoll mod fd %d: %s", self->args.index, conn->fd, strerror (errno));
        conn->out_kept = conn->out_idle = false;
    }
    else
        conn->out_kept = conn->out_idle = false;
}

void
worker_conn_forget (worker_t *self, conn_t *conn)
{
    if (conn->fd >= 0 && conn->registered)
        epoll_ctl (self->epfd, EPOLL_CTL_DEL, conn->fd, NULL);
    conn->registered = false;
    conn->interest = 0;
    conn->out_kept = conn->out_idle = false;
}

void
worker_timer_add (worker_t *self, uint64_t session_id, int kind, uint64_t deadline_ms)
{
    timers_add (self->timers, deadline_ms, session_id, kind);
}

void
worker_fine_add (worker_t *self, uint64_t session_id, uint64_t deadline_us)
{
    timers_add (self->fine, deadline_us, session_id, 0);
}

uint64_t
worker_resolve (worker_t *self, session_t *session, const char *host, uint16_t port)
{
    //  The token names the slot (to find the session) and a sequence number
    //  (so a reply to a lookup the session gave up on is recognised as stale).
    uint64_t token = (++self->next_token << SESSION_SLOT_BITS)
                   | (session_id (session) & SESSION_SLOT_MASK);
    self->zmq_entries[2].due = true;        //  the send may have taken the socket's edge
    if (resolver_request (self->resolver, token, host, port) != 0)
        return 0;
    return token;
}

void
worker_bury (worker_t *self, session_t *session)
{
    session_links (session)->next_dead = self->dead;
    self->dead = session;
}

void
worker_uncork_later (worker_t *self, session_t *session)
{
    worker_links_t *links = session_links (session);
    if (links->cork_listed)
        return;
    links->cork_listed = true;
    links->next_corked = self->corked;
    self->corked = session;
}

int
worker_accept_target (worker_t *self)
{
    worker_loads_t *loads = self->args.loads;
    int own = self->args.index, best = own;
    if (!loads)
        return own;
    long least = (long) self->live - WORKER_ACCEPT_SLACK;
    for (int w = 0; w < self->args.worker_count; w++) {
        long live = atomic_load_explicit (&loads->live[w], memory_order_relaxed);
        if (w != own && live < least) {
            least = live;
            best = w;
        }
    }
    //  Counted there at once, so that a burst is not all sent to one worker.
    if (best != own)
        atomic_fetch_add_explicit (&loads->live[best], 1, memory_order_relaxed);
    return best;
}

//  --------------------------------------------------------------------------
//  Loop

//  Shutting down: tell the owner once the last user connection is gone.
static void
s_check_drained (worker_t *self)
{
    if (!self->draining || self->drain_reported)
        return;
    for (size_t i = 0; i < self->sessions.count; i++) {
        session_t *session = session_table_at (&self->sessions, i);
        if (session && !session_is_background (session) && !session_is_dead (session))
            return;
    }
    self->drain_reported = true;
    zsock_send (self->drained, "si", "DRAINED", self->args.index);
}

int
worker_send_to (worker_t *self, int index, zmsg_t **msg_p)
{
    if (index < 0 || index >= self->args.worker_count || !self->peers[index]) {
        zmsg_destroy (msg_p);
        return -1;
    }
    int rc = zmsg_send (msg_p, self->peers[index]);
    if (rc != 0)
        zmsg_destroy (msg_p);
    return rc;
}

//  Before the dead are freed: corked sessions write what they held this turn.
static void
s_uncork_all (worker_t *self)
{
    for (int guard = 0; self->corked && guard < 64; guard++) {
        session_t *list = self->corked;
        self->corked = NULL;
        while (list) {
            session_t *session = list;
            list = session_links (session)->next_corked;
            session_links (session)->cork_listed = false;
            session_uncork (session);
        }
    }
}

static void
s_free_dead (worker_t *self)
{
    while (self->dead) {
        session_t *session = self->dead;
        self->dead = session_links (session)->next_dead;
        session_table_release (&self->sessions, session_id (session));
        session_free (&session);
        self->live--;
        s_publish_load (self);
        heap_trim_freed (&self->trim, 1);
    }
    heap_trim_check (&self->trim, self->pool, self->live, timers_now_ms ());
}

//  A new session in a fresh slot: an accepted socket (fd), a stream of a
//  multiplexer (mux), or neither (a session that dials out by itself).
static session_t *
s_session_start (worker_t *self, int fd, const handler_conf_t *conf,
                 const stream_ops_t *ops, void *mux, uint16_t stream_id, bool warm)
{
    uint64_t id;
    if (session_table_take (&self->sessions, &id) != 0) {
        log_error ("worker %d: session table full, dropping a connection", self->args.index);
        return NULL;
    }
    session_t *session = mux  ? session_new_stream (self, id, conf, ops, mux, stream_id)
                       : warm ? session_new_warm (self, id, conf)
                              : session_new (self, id, fd, conf);
    if (!session) {
        session_table_release (&self->sessions, id);
        return NULL;
    }
    session_table_set (&self->sessions, id, session);
    self->live++;
    s_publish_load (self);
    return session;
}

session_t *
worker_spawn_stream (worker_t *self, const handler_conf_t *conf, const stream_ops_t *ops,
                     void *mux, uint16_t stream_id)
{
    session_t *session = s_session_start (self, -1, conf, ops, mux, stream_id, false);
    if (session)
        session_settle (session);
    return session;
}

//  One inbox message (worker.h lists them; runtime/worker_inbox.c handles them).
static void
s_handle_accept (worker_t *self)
{
    zmsg_t *msg = zmsg_recv (self->inbox);
    if (msg)
        worker_inbox_handle (self, &msg);
}

session_t *
worker_session_start (worker_t *self, int fd, const handler_conf_t *conf)
{
    return s_session_start (self, fd, conf, NULL, NULL, 0, false);
}

session_t *
worker_session_start_warm (worker_t *self, const handler_conf_t *conf)
{
    return self->draining ? NULL : s_session_start (self, -1, conf, NULL, NULL, 0, true);
}

worker_warm_t *
worker_warm_table (worker_t *self)
{
    return self->warm;
}

session_table_t *
worker_sessions (worker_t *self)
{
    return &self->sessions;
}

void
worker_drain (worker_t *self)
{
    self->draining = true;
    worker_ports_close (self->ports);
    worker_warm_end_all (self);
}

static void
s_handle_resolved (worker_t *self)
{
    zmsg_t *msg = zmsg_recv (self->resolver);
    if (!msg)
        return;
    uint64_t token;
    int status;
    struct sockaddr_storage addrs[RESOLVER_MAX_ADDRS];
    socklen_t lens[RESOLVER_MAX_ADDRS];
    size_t count = 0;
    if (resolver_reply_parse (msg, &token, &status, addrs, lens, RESOLVER_MAX_ADDRS, &count) == 0) {
        session_t *session = session_table_at (&self->sessions, token & SESSION_SLOT_MASK);
        if (session && session_awaits (session, token)) {
            session_on_resolved (session, token, status, addrs, lens, count);
            session_settle (session);
        }
    }
    zmsg_destroy (&msg);
}

static void
s_handle_pipe (worker_t *self)
{
    zmsg_t *msg = zmsg_recv (self->pipe);
    if (!msg)
        return;
    char *command = zmsg_popstr (msg);
    if (command && streq (command, "$TERM"))
        self->terminated = true;
    else if (command && streq (command, "STATS"))
        zsock_send (self->pipe, "s88", "STATS", (uint64_t) self->live,
                    (uint64_t) bufpool_in_use (self->pool));
    zstr_free (&command);
    zmsg_destroy (&msg);
}

//  The due sockets (zmq_entry_t) are read until ZMQ_EVENTS says they are
//  empty, taking turns; a socket still due after the guard stays due.
static void
s_drain_zmq (worker_t *self)
{
    for (int guard = 0; guard < 1024 && !self->terminated; guard++) {
        bool any = false;
        for (int i = 0; i < 3 && !self->terminated; i++) {
            zmq_entry_t *entry = &self->zmq_entries[i];
            if (!entry->due)
                continue;
            if (zsock_events (entry->sock) & ZMQ_POLLIN) {
                entry->handle (self);
                any = true;
            }
            else
                entry->due = false;
        }
        if (!any)
            break;
    }
}

static void
s_fire_timers (worker_t *self)
{
    uint64_t now = timers_now_ms ();
    timer_entry_t entry;
    while (timers_pop_due (self->timers, now, &entry)) {
        session_t *session = session_table_find (&self->sessions, entry.owner);
        if (session)
            session_timer_due (session, entry.kind, entry.deadline_ms);
    }
    if (timers_size (self->fine) == 0)
        return;
    uint64_t now_us = timers_now_us ();
    while (timers_pop_due (self->fine, now_us, &entry)) {
        session_t *session = session_table_find (&self->sessions, entry.owner);
        if (session)
            session_hold_due (session);
    }
}

static worker_t *
s_worker_new (zsock_t *pipe, worker_args_t *args)
{
    worker_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->args = *args;
    self->pipe = pipe;
    self->epfd = epoll_create1 (EPOLL_CLOEXEC);
    self->pool = bufpool_new (WORKER_BLOCK_SIZE, 256);
    self->timers = timers_new ();
    self->fine = timers_new ();
    self->trace = trace_new ();
    char endpoint[64];
    self->inbox = zsock_new (ZMQ_PULL);
    self->resolver = zsock_new (ZMQ_DEALER);
    self->drained = zsock_new_push (WORKER_DRAINED);
    self->wants = zsock_new_push (WORKER_PORTS_WANTED);
    self->ports = worker_ports_new (self, self->epfd);
    bool peers_made = true;
    if (self->args.worker_count < 1 || self->args.worker_count > WORKER_MAX)
        self->args.worker_count = args->index + 1;
    for (int w = 0; w < self->args.worker_count && peers_made; w++) {
        //  Inproc connects before the peer binds are fine (ZeroMQ 4).
        self->peers[w] = zsock_new_push (worker_endpoint (w, endpoint, sizeof endpoint));
        peers_made = self->peers[w] != NULL;
        if (peers_made) {
            zsock_set_sndtimeo (self->peers[w], 0);     //  never wait in a worker
            zsock_set_linger (self->peers[w], 1000);
        }
    }
    if (self->drained) {
        zsock_set_sndtimeo (self->drained, 0);      //  the owner may be gone already
        zsock_set_linger (self->drained, 1000);
    }
    if (self->wants) {
        zsock_set_sndtimeo (self->wants, 0);
        zsock_set_linger (self->wants, 0);
    }
    if (self->epfd < 0 || !self->pool || !self->timers || !self->fine || !self->inbox || !self->resolver
    ||  !self->drained || !self->wants || !self->ports || !peers_made
    ||  zsock_bind (self->inbox, "%s", worker_endpoint (args->index, endpoint, sizeof endpoint)) != 0
    ||  zsock_connect (self->resolver, "%s", args->resolver_endpoint) != 0) {
        log_error ("worker %d: cannot set up: %s", args->index, zmq_strerror (zmq_errno ()));
        return self;        //  s_worker_ready() says no
    }
    zsock_t *socks[3] = { pipe, self->inbox, self->resolver };
    void (*handlers[3]) (worker_t *) = { s_handle_pipe, s_handle_accept, s_handle_resolved };
    for (int i = 0; i < 3; i++) {
        self->zmq_entries[i] = (zmq_entry_t) { EP_ZMQ, socks[i], true, handlers[i] };
        struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &self->zmq_entries[i] };
        epoll_ctl (self->epfd, EPOLL_CTL_ADD, zsock_fd (socks[i]), &ev);
    }
    return self;
}

static bool
s_worker_ready (worker_t *self)
{
    return self && self->zmq_entries[0].sock != NULL;
}

static void
s_worker_destroy (worker_t **self_p)
{
    worker_t *self = *self_p;
    if (!self)
        return;
    self->corked = NULL;
    for (size_t i = 0; i < self->sessions.count; i++) {
        session_t *session = session_table_at (&self->sessions, i);
        if (session && !session_is_dead (session))
            worker_bury (self, session);
    }
    s_free_dead (self);
    worker_ports_destroy (&self->ports);
    zsock_destroy (&self->wants);
    zsock_destroy (&self->inbox);
    zsock_destroy (&self->resolver);
    zsock_destroy (&self->drained);
    for (int w = 0; w < WORKER_MAX; w++)
        zsock_destroy (&self->peers[w]);
    if (self->epfd >= 0)
        close (self->epfd);
    bufpool_destroy (&self->pool);
    trace_destroy (&self->trace);
    timers_destroy (&self->timers);
    timers_destroy (&self->fine);
    session_table_free (&self->sessions);
    free (self);
    *self_p = NULL;
}

void
worker_actor (zsock_t *pipe, void *args)
{
    worker_t *self = s_worker_new (pipe, args);
    if (!s_worker_ready (self)) {
        s_worker_destroy (&self);
        zsock_signal (pipe, 1);
        return;
    }
    zsock_signal (pipe, 0);
    log_debug ("worker %d: started", self->args.index);
    //  The acceptor sends its listening sockets (again, after a restart).
    zsock_send (self->wants, "si", "WANT", self->args.index);
    for (size_t i = 0; i < self->args.dial_count; i++) {
        session_t *session = s_session_start (self, -1, &self->args.dials[i], NULL, NULL, 0, false);
        if (session)
            session_settle (session);
    }

    struct epoll_event events[MAX_EVENTS];
    while (!self->terminated) {
        s_drain_zmq (self);
        s_uncork_all (self);
        s_free_dead (self);
        s_check_drained (self);
        if (self->terminated)
            break;
        uint64_t now = timers_now_ms ();
        int timeout = heap_trim_wait_ms (&self->trim, now, timers_wait_ms (self->timers, now));
        if (worker_warm_due (self) && timeout != 0)
            timeout = 1;        //  (the client's first bytes, if they come at once, go first)
        int rest = worker_ports_wait_ms (self->ports, now);
        if (rest >= 0 && (timeout < 0 || rest < timeout))
            timeout = rest;
        //  A held write due sooner than the next millisecond timer: waited
        //  for to the microsecond (a TLS-shaped handshake's pauses are
        //  fractions of a millisecond).
        int fine_us = timers_size (self->fine) ? timers_wait_ms (self->fine, timers_now_us ()) : -1;
        int count;
        if (fine_us >= 0 && (timeout < 0 || fine_us < (int64_t) timeout * 1000)) {
            struct timespec ts = { .tv_sec = fine_us / 1000000, .tv_nsec = (long) (fine_us % 1000000) * 1000 };
            count = epoll_pwait2 (self->epfd, events, MAX_EVENTS, &ts, NULL);
        }
        else
            count = epoll_wait (self->epfd, events, MAX_EVENTS, timeout);
        if (count < 0) {
            if (errno == EINTR)
                continue;
            s_worker_destroy (&self);
            actor_fail (pipe, "epoll_wait failed");
            return;
        }
        for (int i = 0; i < count; i++) {
            ep_kind_t *kind = events[i].data.ptr;
            if (*kind == EP_ZMQ) {
                //  Drained at the top of the loop.
                ((zmq_entry_t *) events[i].data.ptr)->due = true;
                continue;
            }
            if (*kind == EP_LISTEN) {
                worker_ports_accept (events[i].data.ptr);
                continue;
            }
            conn_t *conn = events[i].data.ptr;
            session_t *session = conn->session;
            if (session_is_dead (session))
                continue;
            if (conn->out_kept && (events[i].events & EPOLLOUT))
                conn->out_idle = true;      //  the next settle lets EPOLLOUT go
            session_on_io (conn, events[i].events);
            session_settle (session);
        }
        s_fire_timers (self);
        worker_ports_resume (self->ports, timers_now_ms ());
        worker_warm_run (self);
        s_uncork_all (self);
        s_free_dead (self);
        s_check_drained (self);
    }
    log_debug ("worker %d: stopping with %zu sessions", self->args.index, self->live);
    s_worker_destroy (&self);
}
