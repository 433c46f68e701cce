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
    to a fresh socket, and tapping) and session_shaping.c (the mimic on a
    side's send path); runtime/session_priv.h is what the parts share.
*/
#include "runtime/handover.h"
#include "runtime/stream.h"
#include "runtime/session.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "nodes/cipher.h"
#include "nodes/mimic.h"
#include "runtime/base/addr.h"
#include "runtime/base/log.h"
#include "runtime/timers.h"
#include "runtime/trace.h"
#include "runtime/session_priv.h"
#include "runtime/worker.h"

#define LINGER_MS 2000
#define HANDOVER_READAHEAD (16 * 1024 * 1024)
#define FINISH_MS 30000

static conn_t *
s_other (session_t *self, conn_t *conn)
{
    return conn == &self->client ? &self->target : &self->client;
}

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
    const char *dest = self->state == SESSION_RELAY ? s_side_name (self, s_other (self, conn), to, sizeof to)
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
    if (conn->fd >= 0) {
        worker_conn_forget (self->worker, conn);
        if (abortive) {
            struct linger lg = { 1, 0 };
            setsockopt (conn->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
        }
        close (conn->fd);
    }
    bufq_clear (&conn->out, worker_pool (self->worker));
    cipher_destroy (&conn->cipher);
    mimic_destroy (&conn->mimic);
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

static session_t *
s_session_new (worker_t *worker, uint64_t id, int fd, const handler_conf_t *conf,
               const stream_ops_t *ops, void *mux, uint16_t stream_id)
{
    session_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->id = id;
    self->worker = worker;
    self->state = SESSION_HANDSHAKE;
    session_conn_init (&self->client, self, fd);
    session_conn_init (&self->target, self, -1);
    session_conn_init (&self->spare, self, -1);
    if (fd >= 0) {
        session_socket_tune (fd);
        struct sockaddr_storage peer;
        socklen_t len = sizeof peer;
        if (getpeername (fd, (struct sockaddr *) &peer, &len) == 0)
            addr_format ((struct sockaddr *) &peer, self->peer, sizeof self->peer);
        else
            snprintf (self->peer, sizeof self->peer, "fd %d", fd);
    }
    else if (mux) {
        session_attach_stream (self, SESSION_CLIENT, ops, mux, stream_id);
        snprintf (self->peer, sizeof self->peer, "stream %u", stream_id);
    }
    else
        snprintf (self->peer, sizeof self->peer, "tunnel");
    self->owner = conf->wormhole;
    self->cls = conf->cls;
    self->name = conf->trace_name ? conf->trace_name : self->cls->name;
    self->handler = self->cls->create (self, conf);
    if (!self->handler) {
        log_error ("%s: cannot start a %s handler", self->peer, self->cls->name);
        self->client.fd = -1;       //  the caller closes it
        self->client.mux = NULL;    //  and forgets the stream
        bufq_clear (&self->target.out, worker_pool (worker));
        cipher_destroy (&self->target.cipher);
        if (self->target.fd >= 0)
            close (self->target.fd);
        free (self);
        return NULL;
    }
    return self;
}

session_t *
session_new (worker_t *worker, uint64_t id, int fd, const handler_conf_t *conf)
{
    return s_session_new (worker, id, fd, conf, NULL, NULL, 0);
}

session_t *
session_new_stream (worker_t *worker, uint64_t id, const handler_conf_t *conf,
                    const stream_ops_t *ops, void *mux, uint16_t stream_id)
{
    return s_session_new (worker, id, -1, conf, ops, mux, stream_id);
}

void
session_free (session_t **self_p)
{
    session_t *self = *self_p;
    if (!self)
        return;
    if (self->handler)
        self->cls->destroy (&self->handler);
    session_conn_close (self, &self->client, self->abortive);
    session_conn_close (self, &self->target, self->abortive);
    session_conn_close (self, &self->spare, self->abortive);
    free (self);
    *self_p = NULL;
}

//  --------------------------------------------------------------------------
//  Writing

//  Flush a side's queue, then send the FIN it owes. False: the socket failed.
bool
session_flush (session_t *self, conn_t *conn)
{
    if (conn->mux) {
        if (conn->shut_pending && !conn->shut_done
        &&  conn->mux_ops->half_close (conn->mux, conn->stream_id)) {
            conn->shut_done = true;
            return true;
        }
        //  Protocol v1 has no half-close: CLOSE_SOCKET ends the stream both
        //  ways, so nothing more will come from it either.
        if (conn->shut_pending && !conn->shut_done) {
            conn->mux_ops->detach (conn->mux, conn->stream_id, true);
            conn->mux = NULL;
            conn->shut_done = true;
            if (!conn->eof_in) {
                conn->eof_in = true;
                bufq_clear (&conn->in, worker_pool (self->worker));
                s_other (self, conn)->shut_pending = true;
            }
        }
        return true;
    }
    if (conn->fd < 0 || conn->connecting)
        return true;
    if (session_conn_shaping (conn)) {
        session_conn_mimic_pump (self, conn);
        size_t missing = mimic_take_shortfall (conn->mimic);
        if (missing && conn->pad)
            conn->pad (conn->pad_ctx, missing);
    }
    if (conn->out.bytes > 0 && (!session_conn_shaping (conn) || conn->released > 0)) {
        ssize_t written = session_conn_shaping (conn)
                        ? bufq_flush_max (&conn->out, worker_pool (self->worker), conn->fd, conn->released)
                        : bufq_flush (&conn->out, worker_pool (self->worker), conn->fd);
        if (written > 0 && session_conn_shaping (conn))
            conn->released -= (size_t) written;
        if (written < 0) {
            log_debug ("%s: write to %s (fd %d, role %d): %s", self->peer, conn == &self->client ? "client" : conn == &self->target ? "target" : "spare", conn->fd, conn->role, strerror (errno));
            return false;
        }
        if (conn == &self->spare)
            self->handover_progress += (uint64_t) written;
    }
    //  Not on the old socket of a handover that has not switched yet: the
    //  peer would take it for a broken tunnel. It goes on the new one.
    bool old_socket = self->baton == conn && self->spare.role == CONN_HOLD;
    if (conn->out.bytes == 0 && conn->shut_pending && !conn->shut_done && !old_socket) {
        shutdown (conn->fd, SHUT_WR);
        conn->shut_done = true;
    }
    return true;
}

static void s_forward_raw (session_t *self, conn_t *to, buf_t *buf);

//  Queue bytes for a side, writing at once when nothing is waiting before them.
static void
s_send (session_t *self, conn_t *conn, const void *data, size_t len)
{
    if (session_dead (self) || len == 0)
        return;
    const uint8_t *p = data;
    if (conn->mux) {
        conn->mux_ops->send (conn->mux, conn->stream_id, p, len);
        return;
    }
    if (conn->shut_done && conn->fd < 0)
        return;             //  a closed stream side: nothing can go there
    if (conn->cipher) {
        //  The handler's bytes are const: encrypt them into pool blocks.
        bufpool_t *pool = worker_pool (self->worker);
        size_t cap = bufpool_block_size (pool);
        while (len > 0 && !session_dead (self)) {
            buf_t *buf = bufpool_get (pool);
            size_t n = len < cap ? len : cap;
            cipher_apply (conn->cipher, CIPHER_ENCRYPT, p, buf->data, n);
            buf->len = (uint32_t) n;
            s_forward_raw (self, conn, buf);
            p += n;
            len -= n;
        }
        return;
    }
    session_conn_mimic_push (conn, len);
    if (conn->fd >= 0 && !conn->connecting && conn->out.bytes == 0 && !conn->corked
    &&  !session_conn_shaping (conn)) {
        ssize_t n = send (conn->fd, p, len, MSG_NOSIGNAL);
        if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
            log_debug ("%s: write: %s", self->peer, strerror (errno));
            session_kill (self, true);
            return;
        }
        if (n > 0) {
            p += n;
            len -= (size_t) n;
        }
    }
    if (len > 0)
        bufq_append (&conn->out, worker_pool (self->worker), p, len);
}

//  Relay path: pass a whole block on, parking it (not copying) if the socket is full.
static void
s_forward_raw (session_t *self, conn_t *to, buf_t *buf)
{
    bufpool_t *pool = worker_pool (self->worker);
    session_conn_mimic_push (to, buf->len - buf->off);
    if (session_conn_shaping (to)) {
        bufq_push (&to->out, buf);
        if (!to->corked && !session_flush (self, to))
            session_kill (self, true);
        return;
    }
    if (to->fd >= 0 && !to->connecting && to->out.bytes == 0 && !to->corked) {
        ssize_t n = send (to->fd, buf->data + buf->off, buf->len - buf->off, MSG_NOSIGNAL);
        if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
            bufpool_put (pool, buf);
            session_kill (self, true);
            return;
        }
        if (n > 0)
            buf->off += (uint32_t) n;
    }
    if (buf->off < buf->len)
        bufq_push (&to->out, buf);
    else
        bufpool_put (pool, buf);
}

//  Same, encrypting in place first when the side has a cipher.
static void
s_forward (session_t *self, conn_t *to, buf_t *buf)
{
    if (to->mux) {
        s_send (self, to, buf->data + buf->off, buf->len - buf->off);
        bufpool_put (worker_pool (self->worker), buf);
        return;
    }
    if (to->cipher)
        cipher_apply (to->cipher, CIPHER_ENCRYPT, buf->data + buf->off, buf->data + buf->off,
                      buf->len - buf->off);
    s_forward_raw (self, to, buf);
}

//  --------------------------------------------------------------------------
//  Reading

//  The target's first bytes that a handler answered in advance: check and
//  drop them. False (and the session is ended) if the target said otherwise.
static bool
s_take_expected (session_t *self, conn_t *conn, const uint8_t **data, size_t *len)
{
    if (conn != &self->target || self->expect_len == 0)
        return true;
    size_t n = *len < self->expect_len ? *len : self->expect_len;
    if (memcmp (*data, self->expect, n) != 0) {
        log_info ("%s: the target's answer differs from the one given in advance; closing",
                  self->peer);
        session_kill (self, true);
        return false;
    }
    memmove (self->expect, self->expect + n, self->expect_len - n);
    self->expect_len -= n;
    *data += n;
    *len -= n;
    return true;
}

void
session_on_eof (session_t *self, conn_t *conn, int err)
{
    conn->eof_in = true;
    session_trace_hop (self, conn, err ? "error" : "eof", 0);
    switch (self->state) {
        case SESSION_HANDSHAKE:
            if (conn == &self->client) {
                if (self->cls->client_eof)
                    self->cls->client_eof (self->handler);
                else
                    session_kill (self, false);
            }
            else if (self->cls->target_eof)
                self->cls->target_eof (self->handler, err);
            else
                session_kill (self, false);
            break;
        case SESSION_RELAY:
            if (err) {
                session_kill (self, true);            //  pass the reset on
                break;
            }
            s_other (self, conn)->shut_pending = true;
            if (!session_flush (self, s_other (self, conn)))
                session_kill (self, true);
            break;
        case SESSION_LINGER:
            session_kill (self, false);
            break;
        case SESSION_FINISHING:
        case SESSION_DEAD:
            break;
    }
}

//  The side a socket's bytes belong to: the spare socket of a handover
//  carries the side being handed over.
static conn_t *
s_side_of (session_t *self, conn_t *conn)
{
    return conn == &self->spare ? self->baton : conn;
}


//  Decrypted stream bytes of a side, as the state wants them (takes buf).
void
session_deliver (session_t *self, conn_t *side, buf_t *buf)
{
    bufpool_t *pool = worker_pool (self->worker);
    const uint8_t *data = buf->data + buf->off;
    size_t len = buf->len - buf->off;
    switch (self->state) {
        case SESSION_RELAY:
            if (!s_take_expected (self, side, &data, &len) || len == 0) {
                bufpool_put (pool, buf);
                return;
            }
            buf->off = (uint32_t) (data - buf->data);
            s_forward (self, s_other (self, side), buf);
            return;
        case SESSION_HANDSHAKE:
            if (side == &self->client)
                self->cls->client_data (self->handler, data, len);
            else if (self->cls->target_data)
                self->cls->target_data (self->handler, data, len);
            break;
        default:
            break;          //  lingering: late client bytes are dropped
    }
    bufpool_put (pool, buf);
}

//  A socket of the session ended (FIN, or err).
static void
s_socket_eof (session_t *self, conn_t *conn, int err)
{
    switch (conn->role) {
        case CONN_HOLD:
            //  Its bytes are not in use yet: the end waits behind them.
            conn->eof_in = true;
            conn->held_eof = 1 + err;
            if (conn == &self->spare) {
                handover_event_t event = { .kind = HANDOVER_LOST, .err = err ? err : ECONNRESET,
                                           .fd = -1 };
                session_handover_notify (self, &event);
            }
            return;
        case CONN_RETIRE:
            conn->eof_in = true;
            return;
        case CONN_STREAM:
            if (conn == &self->spare) {
                //  The old socket of a tunnel ended before its handover did.
                log_info ("%s: the tunnel's old connection ended during a handover", self->peer);
                session_kill (self, true);
                return;
            }
            if (self->tap && conn == self->tap_side)
                session_handover_tap (self, NULL);  //  what the scanner held is data, before the end
            if (!session_dead (self))
                session_on_eof (self, conn, err);
            return;
    }
}

static void
s_read (session_t *self, conn_t *conn)
{
    conn_t *side = s_side_of (self, conn);
    bufpool_t *pool = worker_pool (self->worker);
    buf_t *buf = bufpool_get (pool);
    size_t want = bufpool_block_size (pool);
    //  Bound for a stream: one read makes one frame, not a full one and a 1-byte one.
    if (s_other (self, side)->mux && want > SESSION_STREAM_CHUNK)
        want = SESSION_STREAM_CHUNK;
    ssize_t n = recv (conn->fd, buf->data, want, 0);
    if (n <= 0) {
        bufpool_put (pool, buf);
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
            return;
        int err = n < 0 ? errno : 0;
        if (err)
            log_debug ("%s: read from %s: %s", self->peer,
                       side == &self->client ? "client" : "target", strerror (err));
        s_socket_eof (self, conn, err);
        return;
    }
    buf->len = (uint32_t) n;
    if (conn->role == CONN_HOLD) {
        bufq_push (&conn->in, buf);         //  in clear or not, decided when it takes over
        if (conn == &self->spare) {
            handover_event_t event = { .kind = HANDOVER_HELD, .fd = -1 };
            session_handover_notify (self, &event);
        }
        return;
    }
    if (conn->role == CONN_RETIRE) {
        bufpool_put (pool, buf);
        return;
    }
    if (side->cipher)
        cipher_apply (side->cipher, CIPHER_DECRYPT, buf->data, buf->data, (size_t) n);
    session_trace_hop (self, side, "data", (size_t) n);
    if (self->tap && side == self->tap_side)
        session_tap_feed (self, side, buf);
    else
        session_deliver (self, side, buf);
}

//  --------------------------------------------------------------------------
//  Stream sides

#define STREAM_IN_MAX (8 * 1024 * 1024)


//  Bytes of a stream, as s_read does for a socket (the data is a view into
//  the tunnel's buffer: it is copied only where a socket cannot take it).
static void
s_stream_deliver (session_t *self, conn_t *conn, const uint8_t *data, size_t len)
{
    session_trace_hop (self, conn, "data", len);
    if (conn->mux)
        conn->mux_ops->consumed (conn->mux, conn->stream_id, len);
    switch (self->state) {
        case SESSION_RELAY:
            if (s_take_expected (self, conn, &data, &len) && len > 0)
                s_send (self, s_other (self, conn), data, len);
            break;
        case SESSION_HANDSHAKE:
            if (conn == &self->client)
                self->cls->client_data (self->handler, data, len);
            else if (self->cls->target_data)
                self->cls->target_data (self->handler, data, len);
            break;
        default:
            break;
    }
}

//  Hand over what a stream side held back while its session could not take it.
static void
s_stream_drain (session_t *self, conn_t *conn)
{
    bufpool_t *pool = worker_pool (self->worker);
    while (conn->in.head && !session_dead (self) && session_wants_read (self, conn)) {
        buf_t *buf = bufq_pop (&conn->in);
        s_stream_deliver (self, conn, buf->data + buf->off, buf->len - buf->off);
        bufpool_put (pool, buf);
    }
    if (!conn->in.head && conn->eof_pending && !session_dead (self)) {
        int err = conn->eof_pending - 1;
        conn->eof_pending = 0;
        session_on_eof (self, conn, err);
    }
}

static conn_t *
s_stream_side (session_t *self)
{
    return self->client.mux ? &self->client : self->target.mux ? &self->target : NULL;
}

void
session_stream_data (session_t *self, const uint8_t *data, size_t len)
{
    conn_t *conn = s_stream_side (self);
    if (session_dead (self) || !conn || conn->eof_in)
        return;
    if (conn->in.bytes == 0 && session_wants_read (self, conn))
        s_stream_deliver (self, conn, data, len);
    else {
        //  The tunnel cannot stop for one slow stream: hold its bytes, up to
        //  a limit past which that stream alone is given up.
        bufq_append (&conn->in, worker_pool (self->worker), data, len);
        if (conn->in.bytes > STREAM_IN_MAX) {
            log_warn ("%s: stream %u: %d bytes held for a reader that does not read; closing it",
                      self->peer, conn->stream_id, STREAM_IN_MAX);
            session_kill (self, true);
        }
    }
    session_settle (self);
}

void
session_stream_eof (session_t *self, int err)
{
    conn_t *conn = s_stream_side (self);
    if (!conn)
        return;
    //  The peer closed the stream (or the tunnel is gone): it is no longer ours to close.
    conn->mux = NULL;
    conn->shut_done = true;
    if (session_dead (self))
        return;
    if (err)
        bufq_clear (&conn->in, worker_pool (self->worker));
    if (conn->in.bytes > 0)
        conn->eof_pending = err + 1;
    else
        session_on_eof (self, conn, err);
    session_settle (self);
}

void
session_stream_fin (session_t *self)
{
    conn_t *conn = s_stream_side (self);
    if (session_dead (self) || !conn || conn->eof_in || conn->eof_pending)
        return;
    if (conn->in.bytes > 0)
        conn->eof_pending = 1;      //  after what it still holds
    else
        session_on_eof (self, conn, 0);
    session_settle (self);
}

void
session_attach_stream (session_t *self, session_side_t side, const stream_ops_t *ops, void *mux,
                       uint16_t id)
{
    conn_t *conn = side == SESSION_CLIENT ? &self->client : &self->target;
    conn->mux_ops = ops;
    conn->mux = mux;
    conn->stream_id = id;
}

session_t *
session_spawn_stream (session_t *self, const handler_conf_t *conf, const stream_ops_t *ops,
                      void *mux, uint16_t id)
{
    session_t *stream = worker_spawn_stream (self->worker, conf, ops, mux, id);
    if (stream)
        stream->owner = self->owner;    //  dropped with its tunnel's wormhole
    return stream;
}

//  --------------------------------------------------------------------------
//  Connecting

//  Close the target and forget any connect or lookup in flight for it.
static void
s_drop_target (session_t *self)
{
    session_conn_close (self, &self->target, false);
    self->resolve_token = 0;
    self->deadline[TIMER_CONNECT] = 0;
}

static void
s_connect_failed (session_t *self, int err)
{
    s_drop_target (self);
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
        self->connect_err = EHOSTUNREACH;
    worker_timer_set (self->worker, self, TIMER_CONNECT, 0);
}

static void
s_connect_done (session_t *self)
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
session_on_resolved (session_t *self, int status, const struct sockaddr_storage *addrs,
                     const socklen_t *lens, size_t count)
{
    self->resolve_token = 0;
    if (status != 0 || count == 0) {
        s_connect_failed (self, SESSION_ERR_RESOLVE);
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
session_on_timer (session_t *self, int kind)
{
    if (kind == TIMER_MIMIC) {
        conn_t *conn = self->client.mimic ? &self->client : &self->target;
        if (!session_flush (self, conn))
            session_kill (self, true);
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
        s_connect_failed (self, in_flight ? SESSION_ERR_TIMEOUT : self->connect_err);
    }
    else if (self->state == SESSION_LINGER || self->state == SESSION_FINISHING)
        session_kill (self, false);
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
    if (conn->connecting) {
        if (events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) {
            if (conn == &self->spare)
                session_spare_connect_done (self);
            else
                s_connect_done (self);
        }
        return;
    }
    //  An error or hang-up is read even while reading is paused, so that the
    //  socket error surfaces instead of waking the loop forever.
    if ((events & EPOLLIN) || ((events & (EPOLLERR | EPOLLHUP)) && !conn->eof_in))
        s_read (self, conn);
    if (!session_dead (self) && (events & EPOLLOUT) && !session_flush (self, conn))
        session_kill (self, true);
    if (!session_dead (self) && (events & (EPOLLERR | EPOLLHUP)) && conn->eof_in && conn->out.bytes > 0)
        session_kill (self, true);        //  the peer is gone with bytes still owed to it
}

//  Bytes waiting to leave toward a side: its own queue, or for a stream the
//  whole tunnel's (the stream's credit window is the tunnel's).
static size_t
s_queued (conn_t *conn)
{
    return conn->mux ? conn->mux_ops->queued (conn->mux, conn->stream_id) : conn->out.bytes;
}

bool
session_wants_read (session_t *self, conn_t *conn)
{
    //  A stream the peer closed still hands over what it holds (eof_pending).
    if ((conn->fd < 0 && !conn->mux && !conn->eof_pending) || conn->eof_in || conn->connecting)
        return false;
    if (conn->role == CONN_HOLD)
        return conn->in.bytes < WORKER_WINDOW;
    if (conn->role == CONN_RETIRE)
        return true;
    conn = s_side_of (self, conn);      //  the old socket of a handover reads for its side
    //  A tapped side is read ahead of its window (up to a bound), so that the
    //  awaited command is found behind what a slow reader has not taken yet
    //  instead of stalling the handover.
    if (self->tap && conn == self->tap_side && self->state == SESSION_RELAY
    &&  s_queued (s_other (self, conn)) < HANDOVER_READAHEAD)
        return true;
    switch (self->state) {
        case SESSION_HANDSHAKE:
            if (conn == &self->client)
                return !self->client_paused && s_queued (&self->target) < WORKER_WINDOW
                       && s_queued (&self->client) < WORKER_WINDOW;
            return !self->target_paused && s_queued (&self->client) < WORKER_WINDOW;
        case SESSION_RELAY:
            return s_queued (s_other (self, conn)) < WORKER_WINDOW;
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
        if (conn->out.bytes > 0 && (!session_conn_shaping (conn) || conn->released > 0))
            events |= EPOLLOUT;         //  (bytes the mimic holds back wait for its timer)
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
        s_stream_drain (self, conn);
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
                shutdown (self->client.fd, SHUT_WR);
                self->client.shut_done = true;
                self->state = SESSION_LINGER;
                worker_timer_set (self->worker, self, TIMER_HANDLER, LINGER_MS);
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
        s_settle_conn (self, s_other (self, first));
    if (!session_dead (self) && self->spare.fd >= 0)
        session_settle_spare (self);
}

//  --------------------------------------------------------------------------
//  The API for handlers (runtime/session.h)

void
session_send_client (session_t *self, const void *data, size_t len)
{
    s_send (self, &self->client, data, len);
}

void
session_send_target (session_t *self, const void *data, size_t len)
{
    s_send (self, &self->target, data, len);
}

void
session_encrypt_append (session_t *self, conn_t *conn, const void *data, size_t len)
{
    bufpool_t *pool = worker_pool (self->worker);
    const uint8_t *p = data;
    while (len > 0) {
        size_t room;
        uint8_t *at = bufq_reserve (&conn->out, pool, &room);
        size_t n = room < len ? room : len;
        cipher_apply (conn->cipher, CIPHER_ENCRYPT, p, at, n);
        bufq_commit (&conn->out, n);
        p += n;
        len -= n;
    }
}

void
session_sendv (session_t *self, session_side_t side, const struct iovec *iov, int count)
{
    conn_t *conn = side == SESSION_CLIENT ? &self->client : &self->target;
    if (session_dead (self))
        return;
    if (!conn->cipher || conn->mux) {
        for (int i = 0; i < count; i++)
            s_send (self, conn, iov[i].iov_base, iov[i].iov_len);
        return;
    }
    bufpool_t *pool = worker_pool (self->worker);
    if (conn->corked || conn->out.bytes > 0 || session_conn_shaping (conn)) {
        //  Behind other bytes anyway: encrypt straight into the queue's tail.
        size_t total = 0;
        for (int i = 0; i < count; i++)
            total += iov[i].iov_len;
        session_conn_mimic_push (conn, total);
        for (int i = 0; i < count; i++)
            session_encrypt_append (self, conn, iov[i].iov_base, iov[i].iov_len);
        if (session_conn_shaping (conn) && !conn->corked && !session_flush (self, conn))
            session_kill (self, true);
        return;
    }
    //  Encrypt piece after piece into full blocks (the copy is the encryption pass).
    size_t cap = bufpool_block_size (pool);
    buf_t *buf = NULL;
    for (int i = 0; i < count && !session_dead (self); i++) {
        const uint8_t *p = iov[i].iov_base;
        size_t left = iov[i].iov_len;
        while (left > 0) {
            if (!buf)
                buf = bufpool_get (pool);
            size_t n = cap - buf->len < left ? cap - buf->len : left;
            cipher_apply (conn->cipher, CIPHER_ENCRYPT, p, buf->data + buf->len, n);
            buf->len += (uint32_t) n;
            p += n;
            left -= n;
            if (buf->len == cap) {
                s_forward_raw (self, conn, buf);
                buf = NULL;
            }
        }
    }
    if (buf && buf->len > 0 && !session_dead (self))
        s_forward_raw (self, conn, buf);
    else if (buf)
        bufpool_put (pool, buf);
}

void
session_cork (session_t *self, session_side_t side)
{
    conn_t *conn = side == SESSION_CLIENT ? &self->client : &self->target;
    if (session_dead (self) || conn->corked)
        return;
    conn->corked = true;
    worker_uncork_later (self->worker, self);
}

void
session_uncork (session_t *self)
{
    self->client.corked = self->target.corked = false;
    if (session_dead (self))
        return;
    if (!session_flush (self, &self->client) || !session_flush (self, &self->target)) {
        session_kill (self, true);
        return;
    }
    session_settle (self);
}

size_t
session_queued (session_t *self, session_side_t side)
{
    return s_queued (side == SESSION_CLIENT ? &self->client : &self->target);
}

void
session_connect (session_t *self, const char *host, uint16_t port)
{
    if (session_dead (self))
        return;
    if (self->target.fd >= 0 || self->resolve_token)
        session_conn_close (self, &self->target, false);
    self->addr_count = self->addr_next = 0;
    self->connect_err = 0;
    worker_timer_set (self->worker, self, TIMER_CONNECT, worker_connect_timeout_ms (self->worker));
    if (addr_from_literal (host, port, &self->addrs[0], &self->addr_lens[0])) {
        self->addr_count = 1;
        s_connect_next (self);
        return;
    }
    self->resolve_token = worker_resolve (self->worker, self, host, port);
    if (!self->resolve_token) {
        self->connect_err = SESSION_ERR_RESOLVE;
        worker_timer_set (self->worker, self, TIMER_CONNECT, 0);
    }
}

void
session_close_target (session_t *self)
{
    if (session_dead (self))
        return;
    s_drop_target (self);
}

void
session_relay (session_t *self)
{
    if (session_dead (self))
        return;
    self->state = SESSION_RELAY;
    self->client_paused = false;
    self->deadline[TIMER_HANDLER] = 0;
    //  An end of stream seen during the handshake is passed on now.
    if (self->client.eof_in)
        self->target.shut_pending = true;
    if (self->target.eof_in)
        self->client.shut_pending = true;
    if (!session_flush (self, &self->target) || !session_flush (self, &self->client))
        session_kill (self, true);
}

void
session_expect_target (session_t *self, const void *data, size_t len)
{
    if (len > sizeof self->expect)
        len = sizeof self->expect;
    memcpy (self->expect, data, len);
    self->expect_len = len;
}

void
session_shutdown_client (session_t *self)
{
    if (session_dead (self))
        return;
    self->client.shut_pending = true;
}

void
session_finish (session_t *self)
{
    if (session_dead (self))
        return;
    s_drop_target (self);
    self->state = SESSION_FINISHING;
    //  A client that never reads its reply does not hold the session forever.
    worker_timer_set (self->worker, self, TIMER_HANDLER, FINISH_MS);
}

void
session_abort (session_t *self)
{
    session_kill (self, true);
}

void
session_set_timer (session_t *self, int ms)
{
    if (session_dead (self))
        return;
    worker_timer_set (self->worker, self, TIMER_HANDLER, ms > 0 ? ms : -1);
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

size_t
session_stream_held (session_t *self)
{
    conn_t *conn = s_stream_side (self);
    return conn ? conn->in.bytes : 0;
}

void
session_set_cipher (session_t *self, session_side_t side, cipher_t *cipher)
{
    conn_t *conn = side == SESSION_CLIENT ? &self->client : &self->target;
    if (conn->cipher != cipher)
        cipher_destroy (&conn->cipher);
    conn->cipher = cipher;
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

uint64_t
session_id (session_t *self)
{
    return self->id;
}