/*  session — one client connection, its target, and the handler between them.

    States (session_state_t):
      HANDSHAKE  every byte goes through the handler, which talks back through
                 the session API (replies, connect, relay, finish, abort);
      RELAY      bytes go socket to socket in pool blocks, no handler, no copy;
                 a FIN on one side becomes a half-close on the other;
      FINISHING  the last bytes (an error reply) are written to the client;
      LINGER     FIN sent to the client; its late bytes are read and dropped
                 for a moment, so that closing cannot turn into a reset that
                 destroys the reply before the client has read it;
      DEAD       waiting for the worker to free it at the end of the turn.
    Reading a side stops while the queue toward the other side is over the
    credit window (WORKER_WINDOW) and resumes as it drains.

    Two parts live in files of their own: session_handover.c (moving a side
    to a fresh socket, and tapping) and session_nodes.c (a side's node
    stack: cipher, shaper, scanner); runtime/session_priv.h is what the
    parts share.
*/
#include "runtime/handover.h"
#include "runtime/stream.h"
#include "runtime/session.h"

#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "runtime/base/addr.h"
#include "runtime/base/log.h"
#include "runtime/timers.h"
#include "runtime/trace.h"
#include "runtime/session_priv.h"
#include "runtime/worker.h"

#define LINGER_MS 2000
#define HANDOVER_READAHEAD (16 * 1024 * 1024)
#define FINISH_MS 30000

static const char *
s_side_name (session_t *self, conn_t *conn, char *buf, size_t len)
{
    const char *side = conn == &self->client ? "client" : "target";
    if (conn->mux)
        snprintf (buf, len, "%s(stream %u)", side, conn->stream_id);
    else if (conn == &self->client)
        snprintf (buf, len, "client(%s)", self->peer);
    else
        snprintf (buf, len, "%s", side);
    return buf;
}

//  One trace record for a hop out of conn (costs nothing unless somebody
//  subscribes to the trace).
void
session_trace_hop (session_t *self, conn_t *conn, const char *kind, size_t bytes)
{
    if (!trace_on ())
        return;
    char from[96], to[96];
    const char *dest = self->state == SESSION_RELAY ? s_side_name (self, session_other (self, conn), to, sizeof to)
                                                    : self->cls->name;
    trace_record (worker_trace (self->worker), self->name, s_side_name (self, conn, from, sizeof from),
                  dest, kind, bytes);
}


void
session_conn_init (conn_t *conn, session_t *session, int fd)
{
    memset (conn, 0, sizeof *conn);
    conn->kind = EP_CONN;
    conn->session = session;
    conn->fd = fd;
}

void
session_conn_close (session_t *self, conn_t *conn, bool abortive)
{
    if (conn->mux) {
        //  Unless both directions ended cleanly, the peer must hear that it is gone.
        conn->mux_ops->detach (conn->mux, conn->stream_id, !(conn->shut_done && conn->eof_in));
        conn->mux = NULL;
    }
    bufq_clear (&conn->in, worker_pool (self->worker));
    bufq_clear (&conn->ahead, worker_pool (self->worker));
    if (conn->fd >= 0) {
        worker_conn_forget (self->worker, conn);
        if (abortive) {
            struct linger lg = { 1, 0 };
            setsockopt (conn->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
        }
        if (conn->fd == self->reading_fd)
            self->reading_fd = -1;
        close (conn->fd);
    }
    bufq_clear (&conn->out, worker_pool (self->worker));
    node_stack_destroy (&conn->nodes);
    session_conn_init (conn, self, -1);
}

void
session_socket_tune (int fd)
{
    int on = 1;
    setsockopt (fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
    setsockopt (fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof on);
}

//  Ends the session; the worker frees it at the end of this loop turn.
void
session_kill (session_t *self, bool abortive)
{
    if (session_dead (self))
        return;
    self->state = SESSION_DEAD;
    self->abortive = abortive;
    self->resolve_token = 0;
    worker_bury (self->worker, self);
}

void
session_client_socket (session_t *self, int fd)
{
    session_socket_tune (fd);
    struct sockaddr_storage peer;
    socklen_t len = sizeof peer;
    if (getpeername (fd, (struct sockaddr *) &peer, &len) == 0)
        addr_format ((struct sockaddr *) &peer, self->peer, sizeof self->peer);
    else
        snprintf (self->peer, sizeof self->peer, "fd %d", fd);
}

static session_t *
s_session_new (worker_t *worker, uint64_t id, int fd, const handler_conf_t *conf,
               const stream_ops_t *ops, void *mux, uint16_t stream_id, bool warm)
{
    session_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->warm = warm;
    self->id = id;
    self->worker = worker;
    self->state = SESSION_HANDSHAKE;
    self->reading_fd = -1;
    session_conn_init (&self->client, self, fd);
    session_conn_init (&self->target, self, -1);
    session_conn_init (&self->spare, self, -1);
    if (fd >= 0)
        session_client_socket (self, fd);
    else if (mux) {
        session_attach_stream (self, SESSION_CLIENT, ops, mux, stream_id);
        snprintf (self->peer, sizeof self->peer, "stream %u", stream_id);
    }
    else
        snprintf (self->peer, sizeof self->peer, warm ? "(ahead of its client)" : "tunnel");
    self->owner = conf->wormhole;
    self->cls = conf->cls;
    self->name = conf->trace_name ? conf->trace_name : self->cls->name;
    self->metrics = metrics_slot (worker_index (worker), self->name);
    self->user_facing = conf->user_facing && !warm;     //  counted once it has its user
    self->user_later = conf->user_facing && warm;
    self->connect_timeout_ms = conf->connect_timeout_ms;
    self->handler = self->cls->create (self, conf);
    if (!self->handler) {
        log_error ("%s: cannot start a %s handler", self->peer, self->cls->name);
        self->client.fd = -1;       //  the caller closes it
        self->client.mux = NULL;    //  and forgets the stream
        bufq_clear (&self->target.out, worker_pool (worker));
        node_stack_destroy (&self->target.nodes);
        if (self->target.fd >= 0)
            close (self->target.fd);
        free (self);
        return NULL;
    }
    session_metrics_open (self);
    return self;
}

session_t *
session_new (worker_t *worker, uint64_t id, int fd, const handler_conf_t *conf)
{
    return s_session_new (worker, id, fd, conf, NULL, NULL, 0, false);
}

session_t *
session_new_stream (worker_t *worker, uint64_t id, const handler_conf_t *conf,
                    const stream_ops_t *ops, void *mux, uint16_t stream_id)
{
    return s_session_new (worker, id, -1, conf, ops, mux, stream_id, false);
}

session_t *
session_new_warm (worker_t *worker, uint64_t id, const handler_conf_t *conf)
{
    assert (conf->cls->client_arrived);
    return s_session_new (worker, id, -1, conf, NULL, NULL, 0, true);
}

void
session_free (session_t **self_p)
{
    session_t *self = *self_p;
    if (!self)
        return;
    session_metrics_close (self);
    if (self->handler)
        self->cls->destroy (&self->handler);
    session_conn_close (self, &self->client, self->abortive);
    session_conn_close (self, &self->target, self->abortive);
    session_conn_close (self, &self->spare, self->abortive);
    session_udp_free (self);
    free (self);
    *self_p = NULL;
}

void
session_arm (session_t *self, int kind, int ms)
{
    if (ms < 0) {
        self->deadline[kind] = 0;
        return;
    }
    self->deadline[kind] = timers_now_ms () + (uint64_t) ms;
    worker_timer_add (self->worker, self->id, kind, self->deadline[kind]);
}

static void session_on_timer (session_t *self, int kind);


void
session_timer_due (session_t *self, int kind, uint64_t deadline_ms)
{
    if (session_dead (self) || self->deadline[kind] != deadline_ms)
        return;             //  cancelled or re-armed
    self->deadline[kind] = 0;
    session_on_timer (self, kind);
    session_settle (self);
}

static void
session_on_timer (session_t *self, int kind)
{
    if (kind == TIMER_NODES) {
        //  An ungated stack is pumped here (a gated one by the flush).
        conn_t *sides[] = { &self->client, &self->target };
        for (int i = 0; i < 2 && !session_dead (self); i++)
            if (sides[i]->nodes && sides[i]->fd >= 0 && !sides[i]->connecting && !session_gated (sides[i]))
                session_nodes_pump (self, sides[i]);
        if (session_dead (self))
            return;
        if ((self->client.nodes && !session_flush (self, &self->client))
        ||  (self->target.nodes && !session_flush (self, &self->target)))
            session_kill (self, true);
        return;
    }
    if (kind == TIMER_IDLE) {
        session_idle_due (self);
        return;
    }
    if (kind == TIMER_FIN) {
        session_fin_due (self, &self->client);
        session_fin_due (self, &self->target);
        return;
    }
    if (kind == TIMER_HANDOVER) {
        handover_event_t event = { .kind = HANDOVER_TIMER, .fd = -1 };
        session_handover_notify (self, &event);
        return;
    }
    if (kind == TIMER_CONNECT) {
        //  Either a failure reported late on purpose, or the connect timeout.
        bool in_flight = self->target.connecting || self->resolve_token != 0;
        session_connect_failed (self, in_flight ? SESSION_ERR_TIMEOUT : self->connect_err);
    }
    else if (self->state == SESSION_LINGER || self->state == SESSION_FINISHING)
        session_kill (self, false);
    else if (self->silenced)
        session_finish (self);
    else if (self->state == SESSION_HANDSHAKE && self->cls->timeout)
        self->cls->timeout (self->handler);
    else
        session_kill (self, false);
}

//  --------------------------------------------------------------------------
//  Events and settling

void
session_on_io (conn_t *conn, uint32_t events)
{
    session_t *self = conn->session;
    if (conn->kind == EP_UDP) {
        session_udp_on_io (conn);
        return;
    }
    if (conn->connecting) {
        if (events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) {
            if (conn == &self->spare)
                session_spare_connect_done (self);
            else
                session_connect_done (self);
        }
        return;
    }
    //  An error or hang-up is read even while reading is paused, so that the
    //  socket error surfaces instead of waking the loop forever.
    if ((events & EPOLLIN) || ((events & (EPOLLERR | EPOLLHUP)) && !conn->eof_in))
        session_read (self, conn);
    if (!session_dead (self) && (events & EPOLLOUT) && !session_flush (self, conn))
        session_kill (self, true);
    if (!session_dead (self) && (events & (EPOLLERR | EPOLLHUP)) && conn->eof_in && conn->out.bytes > 0)
        session_kill (self, true);        //  the peer is gone with bytes still owed to it
}

bool
session_wants_read (session_t *self, conn_t *conn)
{
    //  A stream the peer closed still hands over what it holds (eof_pending).
    if ((conn->fd < 0 && !conn->mux && !conn->eof_pending) || conn->eof_in || conn->connecting)
        return false;
    if (conn->failed)
        return true;                //  to see its end (session_side_failed)
    if (conn->role == CONN_HOLD)
        return conn->in.bytes < WORKER_WINDOW;
    if (conn->role == CONN_RETIRE)
        return true;
    conn = session_side_of (self, conn);      //  the old socket of a handover reads for its side
    //  A side in a handover (tapped, for v1) is read ahead of its window (up
    //  to a bound), so that the awaited command is found behind what a slow
    //  reader has not taken yet instead of stalling the handover.
    if (((self->tap && conn == self->tap_side) || conn == self->baton)
    &&  (self->state == SESSION_RELAY || self->state == SESSION_HANDSHAKE)
    &&  session_conn_queued (session_other (self, conn)) < HANDOVER_READAHEAD
    &&  conn->ahead.bytes < HANDOVER_READAHEAD)
        return true;
    switch (self->state) {
        case SESSION_HANDSHAKE:
            if (conn == &self->client)
                return !self->client_paused && session_conn_queued (&self->target) < WORKER_WINDOW
                       && session_conn_queued (&self->client) < WORKER_WINDOW;
            return !self->target_paused && session_conn_queued (&self->client) < WORKER_WINDOW;
        case SESSION_RELAY:
            return session_conn_queued (session_other (self, conn)) < WORKER_WINDOW;
        case SESSION_LINGER:
            return conn == &self->client;
        default:
            return false;
    }
}

//  A socket's epoll interest, from its state.
void
session_watch (session_t *self, conn_t *conn)
{
    uint32_t events = 0;
    if (conn->connecting)
        events = EPOLLOUT;
    else {
        if (session_wants_read (self, conn))
            events |= EPOLLIN;
        //  Bytes a gate holds back wait for its timer; a corked side is
        //  written at the end of the loop turn, and watched after that only
        //  if the socket did not take everything.
        if (conn->out.bytes > 0 && !conn->corked && (!session_gated (conn) || conn->released > 0))
            events |= EPOLLOUT;
    }
    //  A socket with nothing left to read or write leaves the epoll set: a
    //  level-triggered hang-up on it would otherwise wake the loop forever.
    if (events == 0 && conn->eof_in)
        worker_conn_forget (self->worker, conn);
    else
        worker_conn_update (self->worker, conn, events);
}

static void
s_settle_conn (session_t *self, conn_t *conn)
{
    if (conn->mux || conn->eof_pending) {
        session_stream_drain (self, conn);
        return;
    }
    if (conn->ahead.head || conn->ahead_eof) {
        session_deliver_ahead (self, conn);
        if (session_dead (self))
            return;
    }
    if (conn->fd < 0)
        return;
    if (conn == &self->spare)
        ;                   //  the side's window is its own socket's
    else if (conn->out.bytes >= WORKER_WINDOW)
        conn->over_window = true;
    else if (conn->over_window) {
        conn->over_window = false;
        if (self->cls->drained)
            self->cls->drained (self->handler);
        if (session_dead (self))
            return;
    }
    session_watch (self, conn);
}

void
session_settle (session_t *self)
{
    if (session_dead (self))
        return;
    switch (self->state) {
        case SESSION_RELAY:
            if (self->client.eof_in && self->target.shut_done
            &&  self->target.eof_in && self->client.shut_done) {
                session_kill (self, false);
                return;
            }
            break;
        case SESSION_FINISHING:
            if (!session_flush (self, &self->client)) {
                session_kill (self, true);
                return;
            }
            if (self->client.out.bytes == 0) {
                if (self->client.eof_in || self->client.fd < 0) {
                    //  A stream side ends with its CLOSE_SOCKET, no lingering.
                    self->client.shut_pending = true;
                    session_flush (self, &self->client);
                    session_kill (self, false);
                    return;
                }
                //  The end mark goes before the FIN (a tunnel's nodes).
                if (session_seal_end (self, &self->client)) {
                    if (!session_flush (self, &self->client)) {
                        session_kill (self, true);
                        return;
                    }
                    if (self->client.out.bytes > 0)
                        break;              //  the FIN goes once it is written
                }
                shutdown (self->client.fd, SHUT_WR);
                self->client.shut_done = true;
                self->state = SESSION_LINGER;
                session_arm (self, TIMER_HANDLER, LINGER_MS);
            }
            break;
        default:
            break;
    }
    if (self->client.shut_pending && !self->client.shut_done && !session_flush (self, &self->client)) {
        session_kill (self, true);
        return;
    }
    //  A stream side first: what it hands over may fill the socket side's
    //  queue, whose epoll interest must be settled after that.
    conn_t *first = self->target.mux || self->target.eof_pending ? &self->target : &self->client;
    s_settle_conn (self, first);
    if (!session_dead (self))
        s_settle_conn (self, session_other (self, first));
    if (!session_dead (self) && self->spare.fd >= 0)
        session_settle_spare (self);
}

//  --------------------------------------------------------------------------
//  The API for handlers (runtime/session.h)

void
session_relay (session_t *self)
{
    if (session_dead (self))
        return;
    self->state = SESSION_RELAY;
    self->probe_deadline = 0;
    self->client_paused = false;
    self->deadline[TIMER_HANDLER] = 0;
    session_idle_start (self);
    //  An end of stream seen during the handshake is passed on now.
    if (self->client.eof_in)
        self->target.shut_pending = true;
    if (self->target.eof_in)
        self->client.shut_pending = true;
    if (!session_flush (self, &self->target) || !session_flush (self, &self->client))
        session_kill (self, true);
}

void
session_check_answer (session_t *self, session_answer_fn *check, void *ctx)
{
    self->answer = check;
    self->answer_ctx = ctx;
}

void
session_finish (session_t *self)
{
    if (session_dead (self))
        return;
    session_drop_target (self);
    self->state = SESSION_FINISHING;
    //  A client that never reads its reply does not hold the session forever.
    session_arm (self, TIMER_HANDLER, FINISH_MS);
}

void
session_abort (session_t *self)
{
    if (!session_silence (self))
        session_kill (self, true);
}

void
session_set_timer (session_t *self, int ms)
{
    if (session_dead (self))
        return;
    session_arm (self, TIMER_HANDLER, ms > 0 ? ms : -1);
}

void
session_pause_client (session_t *self, int paused)
{
    session_pause (self, SESSION_CLIENT, paused);
}

void
session_pause (session_t *self, session_side_t side, int paused)
{
    if (side == SESSION_CLIENT)
        self->client_paused = paused != 0;
    else
        self->target_paused = paused != 0;
}

void
session_set_background (session_t *self)
{
    self->background = true;
}

void
session_trace (session_t *self, const char *from, const char *to, const char *kind, size_t bytes)
{
    if (trace_on ())
        trace_record (worker_trace (self->worker), self->name, from, to, kind, bytes);
}

const char *
session_peer (session_t *self)
{
    return self->peer;
}

int
session_take_client_fd (session_t *self)
{
    int fd = self->client.fd;
    if (fd < 0 || session_dead (self))
        return -1;
    worker_conn_forget (self->worker, &self->client);
    self->client.fd = -1;
    session_kill (self, false);
    return fd;
}

int
session_worker (session_t *self)
{
    return worker_index (self->worker);
}

int
session_send_to_worker (session_t *self, int worker, zmsg_t **msg_p)
{
    return worker_send_to (self->worker, worker, msg_p);
}

uint64_t
session_id (session_t *self)
{
    return self->id;
}
