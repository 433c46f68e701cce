/*  session_io — moving a session's bytes: writing a side's queue (and the
    FIN it owes), sending toward a side (through its nodes, straight to the
    socket, or parked in its queue without a copy), reading a socket and
    delivering what it brought as the session's state wants it.
*/
#include <errno.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "runtime/base/log.h"
#include "runtime/handover.h"
#include "runtime/session_priv.h"
#include "runtime/timers.h"
#include "runtime/stream.h"
#include "runtime/trace.h"
#include "runtime/worker.h"

//  --------------------------------------------------------------------------
//  Writing

//  Pauses (session_conn_hold): how many bytes of the queue may be written
//  now. The holds that are over go first.
static size_t
s_hold_limit (conn_t *conn)
{
    if (conn->holds == 0)
        return SIZE_MAX;
    uint64_t now = timers_now_us ();
    int over = 0;
    //  Over: its time came, and the bytes before it have left.
    while (over < conn->holds && conn->hold_at[over] == 0 && conn->hold_until[over] <= now)
        over++;
    for (int k = over; k < conn->holds; k++) {
        conn->hold_at[k - over] = conn->hold_at[k];
        conn->hold_until[k - over] = conn->hold_until[k];
        conn->hold_us[k - over] = conn->hold_us[k];
    }
    conn->holds -= over;
    return conn->holds ? conn->hold_at[0] : SIZE_MAX;
}

//  A pause lasts from the write of the bytes before it: one whose bytes
//  before just left begins now (else two writes a few microseconds apart,
//  at the end of a busy loop turn, would still leave as one segment), and
//  the ones behind it move with it.
static void
s_hold_written (session_t *self, conn_t *conn, size_t written)
{
    uint64_t now = 0;
    for (int k = 0; k < conn->holds; k++) {
        bool began = conn->hold_at[k] > 0 && conn->hold_at[k] <= written;
        conn->hold_at[k] = conn->hold_at[k] > written ? conn->hold_at[k] - written : 0;
        uint64_t from = k > 0 ? conn->hold_until[k - 1] : 0;
        if (began) {
            if (!now)
                now = timers_now_us ();
            if (now > from)
                from = now;
        }
        if (from + conn->hold_us[k] > conn->hold_until[k]) {
            conn->hold_until[k] = from + conn->hold_us[k];
            worker_fine_add (self->worker, self->id, conn->hold_until[k]);
        }
    }
}

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
                //  The other side owes its FIN now, not at some later event
                //  (a target that closed first stayed in CLOSE-WAIT).
                conn_t *other = session_other (self, conn);
                other->shut_pending = true;
                return session_flush (self, other);
            }
        }
        return true;
    }
    if (conn->fd < 0 || conn->connecting)
        return true;
    bool gated = session_gated (conn);
    if (gated) {
        session_nodes_pump (self, conn);
        if (session_dead (self))
            return true;
    }
    size_t allowed = s_hold_limit (conn);
    if (gated && conn->released < allowed)
        allowed = conn->released;
    if (conn->out.bytes > 0 && allowed > 0) {
        bufpool_t *pool = worker_pool (self->worker);
        ssize_t written = allowed == SIZE_MAX ? bufq_flush (&conn->out, pool, conn->fd)
                                              : bufq_flush_max (&conn->out, pool, conn->fd, allowed);
        if (written > 0 && gated)
            conn->released -= (size_t) written < conn->released ? (size_t) written : conn->released;
        if (written > 0)
            s_hold_written (self, conn, (size_t) written);
        if (written < 0) {
            int err = errno;
            log_debug ("%s: write to %s (fd %d, role %d): %s", self->peer, conn == &self->client ? "client" : conn == &self->target ? "target" : "spare", conn->fd, conn->role, strerror (err));
            return session_side_failed (self, conn, err);
        }
        if (conn == &self->spare)
            self->handover_progress += (uint64_t) written;
    }
    //  Not on the old socket of a handover that has not switched yet: the
    //  peer would take it for a broken tunnel. It goes on the new one.
    bool old_socket = self->baton == conn && self->spare.role == CONN_HOLD;
    if (conn->out.bytes == 0 && conn->shut_pending && !conn->shut_done && !old_socket) {
        if (session_seal_end (self, conn))
            return session_dead (self) || session_flush (self, conn);   //  the FIN waits behind it
        if (session_fin_waits (self, conn))
            return true;
        shutdown (conn->fd, SHUT_WR);
        conn->shut_done = true;
    }
    return true;
}

//  Bytes for a side with nodes: gathered into full blocks when they can be
//  written at once, else into the free room at the tail of the side's queue
//  (behind other bytes anyway). Either way the pieces go through the stack
//  as one chunk where they fit in one, and that copy is the only one.
static void
s_send_through (session_t *self, conn_t *conn, const struct iovec *iov, int count)
{
    bufpool_t *pool = worker_pool (self->worker);
    size_t total = 0;
    for (int i = 0; i < count; i++)
        total += iov[i].iov_len;
    bool direct = conn->fd >= 0 && !conn->connecting && conn->out.bytes == 0 && !conn->corked
                  && !session_gated (conn);
    size_t room = 0;
    uint8_t *at = direct ? NULL : bufq_reserve (&conn->out, pool, &room);
    if (at && total <= room) {
        for (int i = 0, off = 0; i < count; off += (int) iov[i].iov_len, i++)
            if (iov[i].iov_len > 0)     //  (an empty piece may have no base)
                memcpy (at + off, iov[i].iov_base, iov[i].iov_len);
        session_nodes_out_room (self, conn, at, total, 0);
        if (!session_dead (self) && session_gated (conn) && !conn->corked
        &&  !session_flush (self, conn))
            session_kill (self, true);
        return;
    }
    size_t cap = bufpool_block_size (pool);
    buf_t *buf = NULL;
    for (int i = 0; i < count && !session_dead (self); i++) {
        const uint8_t *p = iov[i].iov_base;
        size_t left = iov[i].iov_len;
        while (left > 0 && !session_dead (self)) {
            if (!buf)
                buf = bufpool_get (pool);
            size_t n = cap - buf->len < left ? cap - buf->len : left;
            memcpy (buf->data + buf->len, p, n);
            buf->len += (uint32_t) n;
            p += n;
            left -= n;
            if (buf->len == cap) {
                session_nodes_out_block (self, conn, buf);
                buf = NULL;
            }
        }
    }
    if (buf && buf->len > 0 && !session_dead (self))
        session_nodes_out_block (self, conn, buf);
    else if (buf)
        bufpool_put (pool, buf);
}

//  Pieces for a plain socket: one write of them all when nothing waits
//  before them; what it did not take is queued.
static void
s_send_plain (session_t *self, conn_t *conn, const struct iovec *iov, int count)
{
    size_t sent = 0;
    if (conn->fd >= 0 && !conn->connecting && conn->out.bytes == 0 && !conn->corked) {
        struct msghdr msg = { .msg_iov = (struct iovec *) iov, .msg_iovlen = (size_t) count };
        ssize_t n = sendmsg (conn->fd, &msg, MSG_NOSIGNAL);
        if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
            log_debug ("%s: write: %s", self->peer, strerror (errno));
            session_kill (self, true);
            return;
        }
        sent = n > 0 ? (size_t) n : 0;
    }
    for (int i = 0; i < count; i++) {
        size_t len = iov[i].iov_len;
        if (sent >= len) {
            sent -= len;
            continue;
        }
        bufq_append (&conn->out, worker_pool (self->worker),
                     (const uint8_t *) iov[i].iov_base + sent, len - sent);
        sent = 0;
    }
}

//  Queue bytes for a side, writing at once when nothing is waiting before them.
void
session_send (session_t *self, conn_t *conn, const void *data, size_t len)
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
    if (conn->nodes) {
        struct iovec iov = { (void *) p, len };
        s_send_through (self, conn, &iov, 1);
        return;
    }
    struct iovec iov = { (void *) p, len };
    s_send_plain (self, conn, &iov, 1);
}

//  Relay path: pass a whole block on, parking it (not copying) if the socket is full.
void
session_forward_raw (session_t *self, conn_t *to, buf_t *buf)
{
    bufpool_t *pool = worker_pool (self->worker);
    if (session_gated (to)) {
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

//  Same, through the side's nodes first (in place) when it has them.
static void
s_forward (session_t *self, conn_t *to, buf_t *buf)
{
    if (to->mux && to->mux_ops->send_block) {
        to->mux_ops->send_block (to->mux, to->stream_id, buf);
        return;
    }
    if (to->mux) {
        session_send (self, to, buf->data + buf->off, buf->len - buf->off);
        bufpool_put (worker_pool (self->worker), buf);
        return;
    }
    if (to->nodes)
        session_nodes_out_block (self, to, buf);
    else
        session_forward_raw (self, to, buf);
}

//  --------------------------------------------------------------------------
//  Reading

//  The target's first bytes, which are the answer a handler gave the client
//  in advance: checked and dropped. False (and the session is reset) if the
//  far end refused.
bool
session_take_expected (session_t *self, conn_t *conn, const uint8_t **data, size_t *len)
{
    if (conn != &self->target || !self->answer)
        return true;
    size_t taken = *len;
    int rc = self->answer (self->answer_ctx, *data, *len, &taken);
    if (rc < 0) {
        log_info ("%s: the far end refused what was answered in advance; resetting", self->peer);
        session_kill (self, true);
        return false;
    }
    if (rc > 0)
        self->answer = NULL;
    else
        taken = *len;
    *data += taken;
    *len -= taken;
    return true;
}

void
session_on_eof (session_t *self, conn_t *conn, int err)
{
    conn->eof_in = true;
    session_trace_hop (self, conn, err ? "error" : "eof", 0);
    switch (self->state) {
        case SESSION_HANDSHAKE:
            if (self->silenced)
                session_finish (self);
            else
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
            //  A reset is passed on; so is an end before the answer given in advance.
            if (err || (conn == &self->target && self->answer)) {
                session_kill (self, true);
                break;
            }
            session_other (self, conn)->shut_pending = true;
            if (!session_flush (self, session_other (self, conn)))
                session_kill (self, true);
            //  Our own FIN waited for this peer to take our last bytes: it has closed.
            else if (conn->fin_delay_ms > 0 && conn->shut_pending && !conn->shut_done
                 &&  !session_flush (self, conn))
                session_kill (self, true);
            session_idle_restart (self);
            break;
        case SESSION_LINGER:
            session_kill (self, false);
            break;
        case SESSION_FINISHING:
        case SESSION_DEAD:
            break;
    }
}


//  Decrypted stream bytes of a side, as the state wants them (takes buf).
static void
s_deliver_now (session_t *self, conn_t *side, buf_t *buf)
{
    bufpool_t *pool = worker_pool (self->worker);
    const uint8_t *data = buf->data + buf->off;
    size_t len = buf->len - buf->off;
    switch (self->state) {
        case SESSION_RELAY:
            self->active_ms = timers_now_ms ();
            if (!session_take_expected (self, side, &data, &len) || len == 0) {
                bufpool_put (pool, buf);
                return;
            }
            buf->off = (uint32_t) (data - buf->data);
            s_forward (self, session_other (self, side), buf);
            return;
        case SESSION_HANDSHAKE:
            if (self->silenced)
                break;              //  read and dropped
            if (side == &self->client)
                self->cls->client_data (self->handler, data, len);
            else if (self->cls->target_data)
                self->cls->target_data (self->handler, data, len);
            if (session_data_kept (self)) {
                bufq_push (&self->read_kept, buf);      //  until read_done
                return;
            }
            break;
        default:
            break;          //  lingering: late client bytes are dropped
    }
    bufpool_put (pool, buf);
}

//  Whether the state takes a side's bytes now: a handler that paused the
//  side does not, and what is read ahead of it waits.
static bool
s_takes (session_t *self, conn_t *side)
{
    if (self->state != SESSION_HANDSHAKE)
        return true;
    return side == &self->client ? !self->client_paused : !self->target_paused;
}

void
session_deliver (session_t *self, conn_t *side, buf_t *buf)
{
    session_count_bytes (self, side, buf->len - buf->off);
    session_fin_count (session_other (self, side), buf->len - buf->off);
    if (side->ahead.head || !s_takes (self, side))
        bufq_push (&side->ahead, buf);
    else
        s_deliver_now (self, side, buf);
}

void
session_deliver_ahead (session_t *self, conn_t *side)
{
    while (side->ahead.head && !session_dead (self) && s_takes (self, side))
        s_deliver_now (self, side, bufq_pop (&side->ahead));
    if (!side->ahead.head && side->ahead_eof && !session_dead (self)) {
        int err = side->ahead_eof - 1;
        side->ahead_eof = 0;
        session_on_eof (self, side, err);
    }
}

bool
session_side_failed (session_t *self, conn_t *conn, int err)
{
    if (session_dead (self))
        return false;
    if (conn->failed)
        return true;
    bool redials = self->background && self->state == SESSION_HANDSHAKE && conn == &self->target
                && conn->fd >= 0 && self->cls->target_eof;
    if (!redials) {
        session_kill (self, true);
        return false;
    }
    //  Nothing more is written; the read path sees the end next turn.
    conn->failed = err ? err : EPROTO;
    bufq_clear (&conn->out, worker_pool (self->worker));
    conn->released = 0;
    shutdown (conn->fd, SHUT_RDWR);
    return true;
}

//  A socket of the session ended (FIN, or err).
static void
s_socket_eof (session_t *self, conn_t *conn, int err)
{
    if (conn->failed)
        err = conn->failed;
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
            if (conn == &self->spare && self->old_shut) {
                //  The end our FIN asked for (session_handover_shut_old).
                conn->eof_in = true;
                handover_event_t event = { .kind = HANDOVER_LOST, .err = err, .fd = -1 };
                session_handover_notify (self, &event);
                return;
            }
            if (conn == &self->spare) {
                //  The old socket of a tunnel ended before its handover did.
                log_info ("%s: the tunnel's old connection ended during a handover", self->peer);
                session_kill (self, true);
                return;
            }
            if (self->tap && conn == self->tap_side)
                session_handover_tap (self, NULL);  //  what the scanner held is data, before the end
            if (session_dead (self))
                return;
            if (!err && session_ends_cut (conn)) {
                log_info ("%s: the tunnel connection ended without its end record: "
                          "passing it on as a reset", self->peer);
                err = ECONNRESET;
            }
            if (conn->ahead.head) {
                conn->eof_in = true;                //  the end waits behind what was read ahead
                conn->ahead_eof = 1 + err;
            }
            else
                session_on_eof (self, conn, err);
            return;
    }
}

//  What one block of a read brought, taken as the socket's state wants it.
static void
s_take_block (session_t *self, conn_t *conn, buf_t *buf)
{
    conn_t *side = session_side_of (self, conn);
    if (conn->failed) {
        bufpool_put (worker_pool (self->worker), buf);     //  the end comes next
        return;
    }
    if (conn->role == CONN_HOLD) {
        bufq_push (&conn->in, buf);         //  in clear or not, decided when it takes over
        if (conn == &self->spare) {
            handover_event_t event = { .kind = HANDOVER_HELD, .fd = -1 };
            session_handover_notify (self, &event);
        }
        return;
    }
    if (conn->role == CONN_RETIRE) {
        bufpool_put (worker_pool (self->worker), buf);
        return;
    }
    session_trace_hop (self, side, "data", buf->len - buf->off);
    if (side->nodes)
        session_nodes_in (self, side, buf);
    else
        session_deliver (self, side, buf);
}

//  How many blocks the next read of conn may fill: up to WORKER_READ_BLOCKS
//  within the room its side's window leaves (session_wants_read), so that a
//  socket in bulk costs fewer system calls and wake-ups per byte at both
//  ends, and no more memory than the window allows. Blocks the read does
//  not fill go straight back to the pool.
static int
s_read_blocks (session_t *self, conn_t *conn, size_t block)
{
    if (conn->role != CONN_STREAM || conn->failed)
        return 1;
    conn_t *side = session_side_of (self, conn);
    size_t queued;
    switch (self->state) {
        case SESSION_RELAY:
            queued = session_conn_queued (session_other (self, side));
            break;
        case SESSION_HANDSHAKE:
            queued = session_conn_queued (&self->client);
            if (side == &self->client && session_conn_queued (&self->target) > queued)
                queued = session_conn_queued (&self->target);
            break;
        default:
            return 1;
    }
    size_t count = queued < WORKER_WINDOW ? (WORKER_WINDOW - queued) / block : 0;
    return count < 1 ? 1 : count > WORKER_READ_BLOCKS ? WORKER_READ_BLOCKS : (int) count;
}

//  Where the socket being read is after taking one of its blocks: where it
//  was, or where a handover's swap moved it. NULL: it was closed.
static conn_t *
s_reading_conn (session_t *self, conn_t *conn, int fd)
{
    if (session_dead (self) || self->reading_fd != fd)
        return NULL;
    if (conn->fd == fd)
        return conn;
    if (self->spare.fd == fd)
        return &self->spare;
    if (self->baton && self->baton->fd == fd)
        return self->baton;
    return NULL;
}

void
session_read (session_t *self, conn_t *conn)
{
    conn_t *side = session_side_of (self, conn);
    bufpool_t *pool = worker_pool (self->worker);
    size_t block = bufpool_block_size (pool);
    int count = s_read_blocks (self, conn, block);
    buf_t *bufs[WORKER_READ_BLOCKS];
    struct iovec iov[WORKER_READ_BLOCKS];
    //  Toward a stream: one read makes one frame (not a full one and a 1-byte
    //  one), and its header goes in front of the bytes, in the same block.
    bool framed = session_other (self, side)->mux && !side->nodes;
    for (int i = 0; i < count; i++) {
        buf_t *buf = bufs[i] = bufpool_get (pool);
        size_t want = block;
        if (framed) {
            buf->off = buf->len = SESSION_STREAM_HEADROOM;
            want -= SESSION_STREAM_HEADROOM;
            if (want > SESSION_STREAM_CHUNK)
                want = SESSION_STREAM_CHUNK;
        }
        iov[i] = (struct iovec) { buf->data + buf->off, want };
    }
    ssize_t n = count == 1 ? recv (conn->fd, iov[0].iov_base, iov[0].iov_len, 0)
                           : readv (conn->fd, iov, count);
    if (n <= 0) {
        for (int i = 0; i < count; i++)
            bufpool_put (pool, bufs[i]);
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
            return;
        int err = n < 0 ? errno : 0;
        if (err)
            log_debug ("%s: read from %s: %s", self->peer,
                       side == &self->client ? "client" : "target", strerror (err));
        s_socket_eof (self, conn, err);
        return;
    }
    //  What several blocks bring for a socket on the other side leaves in
    //  one write at the end of the loop turn, not one per block.
    conn_t *other = session_other (self, side);
    if ((size_t) n > iov[0].iov_len && !other->mux && other->fd >= 0)
        session_conn_cork (self, other);
    //  Each block is taken as if it came by a read of its own.
    int fd = self->reading_fd = conn->fd;
    self->in_read = true;
    size_t left = (size_t) n;
    for (int i = 0; i < count; i++) {
        size_t got = left < iov[i].iov_len ? left : iov[i].iov_len;
        left -= got;
        if (got == 0 || !conn) {
            bufpool_put (pool, bufs[i]);
            continue;
        }
        bufs[i]->len += (uint32_t) got;
        s_take_block (self, conn, bufs[i]);
        conn = i + 1 < count ? s_reading_conn (self, conn, fd) : NULL;
    }
    self->reading_fd = -1;
    self->in_read = false;
    if (self->read_kept.head) {
        if (self->cls->read_done)
            self->cls->read_done (self->handler);
        bufq_clear (&self->read_kept, pool);
    }
}

bool
session_data_kept (session_t *self)
{
    return self->in_read && self->cls->read_done;
}


//  --------------------------------------------------------------------------
//  Sending, for handlers (runtime/handler.h) and the wormhole (runtime/session.h)

void
session_send_client (session_t *self, const void *data, size_t len)
{
    session_send (self, &self->client, data, len);
}

void
session_send_target (session_t *self, const void *data, size_t len)
{
    session_send (self, &self->target, data, len);
}

void
session_send_pieces (session_t *self, conn_t *conn, const struct iovec *iov, int count)
{
    //  A silenced prober gets nothing more (session_guard_probe).
    if (session_dead (self) || (self->silenced && conn == &self->client))
        return;
    if (conn->nodes && !conn->mux)
        s_send_through (self, conn, iov, count);
    else
    if (!conn->mux && !(conn->shut_done && conn->fd < 0))
        s_send_plain (self, conn, iov, count);
    else
        for (int i = 0; i < count; i++)
            session_send (self, conn, iov[i].iov_base, iov[i].iov_len);
}

void
session_sendv (session_t *self, session_side_t side, const struct iovec *iov, int count)
{
    session_send_pieces (self, session_conn (self, side), iov, count);
}

void
session_send_block (session_t *self, session_side_t side, buf_t *buf)
{
    conn_t *conn = session_conn (self, side);
    if (session_dead (self) || (conn->shut_done && conn->fd < 0 && !conn->mux)
    ||  (self->silenced && conn == &self->client)) {
        bufpool_put (worker_pool (self->worker), buf);
        return;
    }
    s_forward (self, conn, buf);
}

void
session_put_block (session_t *self, buf_t *buf)
{
    bufpool_put (worker_pool (self->worker), buf);
}

void
session_conn_cork (session_t *self, conn_t *conn)
{
    if (session_dead (self) || conn->corked)
        return;
    conn->corked = true;
    worker_uncork_later (self->worker, self);
}

void
session_cork (session_t *self, session_side_t side)
{
    session_conn_cork (self, session_conn (self, side));
}

void
session_conn_hold (session_t *self, conn_t *conn, unsigned us)
{
    if (session_dead (self) || (conn != &self->client && conn != &self->target))
        return;
    uint64_t now = timers_now_us ();
    uint64_t from = conn->holds ? conn->hold_until[conn->holds - 1] : now;
    uint64_t until = (from > now ? from : now) + us;
    if (conn->holds == CONN_HOLDS_MAX) {
        conn->hold_until[conn->holds - 1] = until;      //  the last one lasts longer
        conn->hold_us[conn->holds - 1] += us;
    }
    else {
        conn->hold_at[conn->holds] = conn->out.bytes;
        conn->hold_until[conn->holds] = until;
        conn->hold_us[conn->holds++] = us;
    }
    //  Corked meanwhile (nothing is written past the queue), and what came
    //  before the pause still leaves this turn.
    conn->corked = true;
    worker_uncork_later (self->worker, self);
    worker_fine_add (self->worker, self->id, until);
}

void
session_hold_writes (session_t *self, session_side_t side, unsigned us)
{
    session_conn_hold (self, session_conn (self, side), us);
}

void
session_hold_due (session_t *self)
{
    if (!session_dead (self))
        session_uncork (self);
}

void
session_uncork (session_t *self)
{
    //  A side in a pause stays corked (its queue is written up to the
    //  pause) until the timer of that pause.
    s_hold_limit (&self->client);
    s_hold_limit (&self->target);
    self->client.corked = self->client.holds > 0;
    self->target.corked = self->target.holds > 0;
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
    return session_conn_queued (session_conn (self, side));
}
