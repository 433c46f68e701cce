/*  session_handover — the mechanics of a handover for one session side
    (runtime/session.h: Handover; PROTOCOL.md section 5): the spare socket,
    the two switches, and tapping, where the side's decrypted stream goes
    through the in-band scanner (nodes/inband.h) and the commands reach the
    handler after the bytes of the chunk they came in. The side keeps its
    node stack and its FIN state; only the socket under it changes.
    The steps themselves are the handler's (actors/baton.c).
*/
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "runtime/handover.h"
#include "runtime/base/log.h"
#include "runtime/session_priv.h"
#include "runtime/worker_priv.h"

void
session_handover_notify (session_t *self, const handover_event_t *event)
{
    if (session_dead (self))
        return;
    if (self->cls->handover)
        self->cls->handover (self->handler, event);
    else if (event->kind == HANDOVER_SOCKET && event->fd >= 0)
        close (event->fd);
}

void
session_handover_event (session_t *self, const handover_event_t *event)
{
    session_handover_notify (self, event);
    if (!session_dead (self))
        session_settle (self);
}

//  The spare and the side trade sockets (with their queues and roles).
static void
s_swap_sockets (session_t *self)
{
    conn_t *side = self->baton, *spare = &self->spare;
    log_debug ("%s: handover: side fd %d (role %d) <-> spare fd %d (role %d)", self->peer, side->fd,
               side->role, spare->fd, spare->role);
    worker_conn_forget (self->worker, side);
    worker_conn_forget (self->worker, spare);
    conn_t old_side = *side, old_spare = *spare;
    //  What is physical moves; what belongs to the stream (node stack, FIN owed,
    //  corking, window) stays with the side.
#define S_MOVE(field) do { side->field = old_spare.field; spare->field = old_side.field; } while (0)
    S_MOVE (fd);
    S_MOVE (out);
    S_MOVE (in);
    S_MOVE (eof_in);
    S_MOVE (connecting);
    S_MOVE (role);
    S_MOVE (held_eof);
#undef S_MOVE
    spare->corked = false;
    //  A pause counted bytes of the queue that just moved to the old socket,
    //  which writes them all now.
    side->holds = 0;
    //  The old socket writes all it has, unshaped; the gate starts afresh
    //  on the new one.
    session_nodes_release_all (self, side);
}

void
session_spare_connect_done (session_t *self)
{
    conn_t *spare = &self->spare;
    int err = 0;
    socklen_t len = sizeof err;
    if (getsockopt (spare->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
        err = errno;
    spare->connecting = false;
    if (!err && !session_flush (self, spare))
        err = errno ? errno : EPIPE;
    if (err) {
        session_conn_close (self, spare, false);
        self->baton = NULL;
    }
    handover_event_t event = { .kind = HANDOVER_CONNECTED, .err = err, .fd = -1 };
    session_handover_notify (self, &event);
}

int
session_handover_connect (session_t *self, session_side_t side, const struct sockaddr *addr,
                          socklen_t addrlen, const void *first, size_t first_len)
{
    conn_t *conn = session_conn (self, side);
    if (session_dead (self) || self->baton || conn->fd < 0 || conn->mux) {
        errno = EBUSY;
        return -1;
    }
    int fd = socket (addr->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    session_socket_tune (fd);
    if (connect (fd, addr, addrlen) != 0 && errno != EINPROGRESS) {
        int err = errno;
        close (fd);
        errno = err;
        return -1;
    }
    session_conn_init (&self->spare, self, fd);
    self->spare.connecting = true;
    self->spare.role = CONN_HOLD;
    bufq_append (&self->spare.out, worker_pool (self->worker), first, first_len);
    self->baton = conn;
    return 0;
}

int
session_handover_adopt (session_t *self, session_side_t side, int fd, const void *data, size_t len)
{
    conn_t *conn = session_conn (self, side);
    if (session_dead (self) || self->baton || conn->fd < 0 || conn->mux)
        return -1;
    session_socket_tune (fd);
    session_conn_init (&self->spare, self, fd);
    self->spare.role = CONN_HOLD;
    bufq_append (&self->spare.in, worker_pool (self->worker), data, len);
    self->baton = conn;
    return 0;
}

//  A FIN the side owes was held back while its old socket could not take it
//  (session_flush): it goes now, if nothing is left to write before it.
static void
s_send_held_fin (session_t *self, conn_t *side)
{
    if (!session_dead (self) && side->shut_pending && !side->shut_done
    &&  !session_flush (self, side))
        session_kill (self, true);
}

void
session_handover_switch_writes (session_t *self)
{
    if (session_dead (self) || !self->baton || self->spare.role != CONN_HOLD)
        return;
    s_swap_sockets (self);
    //  The old socket keeps reading the stream until the peer's switch.
    self->spare.role = CONN_STREAM;
    if (!session_flush (self, &self->spare))
        session_kill (self, true);
}

void
session_handover_switch_reads (session_t *self, bool wait_eof)
{
    if (session_dead (self) || !self->baton)
        return;
    session_handover_tap (self, NULL);
    if (session_dead (self))
        return;
    if (self->spare.role == CONN_HOLD)
        s_swap_sockets (self);          //  writes and reads switch together
    conn_t *side = self->baton;
    self->spare.role = CONN_RETIRE;
    self->retire_wait_eof = wait_eof;
    self->old_shut = false;
    side->role = CONN_STREAM;
    //  What came on the new socket meanwhile, in order, then its end if it came.
    bufpool_t *pool = worker_pool (self->worker);
    while (side->in.head && !session_dead (self)) {
        buf_t *buf = bufq_pop (&side->in);
        session_trace_hop (self, side, "data", buf->len - buf->off);
        if (side->nodes)
            session_nodes_in (self, side, buf);
        else
            session_deliver (self, side, buf);
    }
    bufq_clear (&side->in, pool);
    if (side->held_eof && !session_dead (self)) {
        int err = side->held_eof - 1;
        side->held_eof = 0;
        session_on_eof (self, side, err);
    }
    if (!session_dead (self) && !session_flush (self, &self->spare))
        session_kill (self, true);
    s_send_held_fin (self, side);
}

void
session_handover_shut_old (session_t *self)
{
    if (session_dead (self) || !self->baton || self->spare.role != CONN_STREAM
    ||  self->spare.fd < 0 || self->old_shut)
        return;
    log_debug ("%s: handover: FIN on the old fd %d, still read", self->peer, self->spare.fd);
    shutdown (self->spare.fd, SHUT_WR);
    self->old_shut = true;
}

void
session_handover_drop (session_t *self)
{
    if (!self->baton)
        return;
    conn_t *side = self->baton;
    if (self->spare.role == CONN_HOLD)
        session_handover_tap (self, NULL);
    session_conn_close (self, &self->spare, false);
    self->baton = NULL;
    self->old_shut = false;
    s_send_held_fin (self, side);
}

bool
session_handover_busy (session_t *self)
{
    return self->baton != NULL;
}

void
session_set_handover_timer (session_t *self, int ms)
{
    if (session_dead (self))
        return;
    session_arm (self, TIMER_HANDOVER, ms >= 0 ? ms : -1);
}

//  The spare socket's interest, and the end of an old socket once it has
//  written what it had (and, at the dialing end, heard the peer close it).
void
session_settle_spare (session_t *self)
{
    conn_t *spare = &self->spare;
    if (spare->role == CONN_RETIRE) {
        if (!session_flush (self, spare)) {
            //  Bytes of the stream were still on it: they are lost.
            log_info ("%s: the tunnel's old connection failed before it was written out", self->peer);
            session_kill (self, true);
            return;
        }
        if (spare->out.bytes == 0 && (!self->retire_wait_eof || spare->eof_in)) {
            log_debug ("%s: handover: old fd %d closed", self->peer, spare->fd);
            shutdown (spare->fd, SHUT_WR);
            session_conn_close (self, spare, false);
            self->baton = NULL;
            handover_event_t event = { .kind = HANDOVER_RETIRED, .fd = -1 };
            session_handover_notify (self, &event);
            return;
        }
    }
    session_watch (self, spare);
}

uint64_t
session_handover_progress (session_t *self)
{
    return self->handover_progress;
}

int
session_socket_peer (session_t *self, session_side_t side, struct sockaddr_storage *addr,
                     socklen_t *len)
{
    conn_t *conn = session_conn (self, side);
    if (conn->fd < 0 || conn->connecting)
        return -1;
    return getpeername (conn->fd, (struct sockaddr *) addr, len);
}

size_t
session_socket_unread (session_t *self, session_side_t side)
{
    conn_t *conn = session_conn (self, side);
    int unread = 0;
    if (conn->fd < 0 || conn->connecting || ioctl (conn->fd, FIONREAD, &unread) != 0 || unread < 0)
        return 0;
    return (size_t) unread;
}

int
session_socket_heard_ms (session_t *self, session_side_t side)
{
    conn_t *conn = session_conn (self, side);
    struct tcp_info info;
    socklen_t len = sizeof info;
    memset (&info, 0, sizeof info);
    if (conn->fd < 0 || conn->connecting || conn->eof_in
    ||  getsockopt (conn->fd, IPPROTO_TCP, TCP_INFO, &info, &len) != 0)
        return -1;
    if (info.tcpi_unacked == 0 && conn->out.bytes == 0)
        return 0;
    uint32_t heard = info.tcpi_last_ack_recv < info.tcpi_last_data_recv ? info.tcpi_last_ack_recv
                                                                        : info.tcpi_last_data_recv;
    return heard > INT32_MAX ? INT32_MAX : (int) heard;
}

bool
session_side_open (session_t *self, session_side_t side)
{
    conn_t *conn = session_conn (self, side);
    return !session_dead (self) && conn->fd >= 0 && !conn->connecting && !conn->eof_in
           && !conn->shut_pending && !conn->shut_done;
}

size_t
session_handover_take_held (session_t *self, uint8_t *buf, size_t max)
{
    conn_t *spare = &self->spare;
    size_t taken = 0;
    bufpool_t *pool = worker_pool (self->worker);
    while (spare->in.head && taken < max) {
        buf_t *b = spare->in.head;
        size_t n = b->len - b->off < max - taken ? b->len - b->off : max - taken;
        memcpy (buf + taken, b->data + b->off, n);
        b->off += (uint32_t) n;
        spare->in.bytes -= n;
        taken += n;
        if (b->off == b->len) {
            spare->in.head = b->next;
            if (!spare->in.head)
                spare->in.tail = NULL;
            bufpool_put (pool, b);
        }
    }
    return taken;
}

void
session_handover_send (session_t *self, const void *data, size_t len)
{
    conn_t *spare = &self->spare;
    if (session_dead (self) || spare->fd < 0 || spare->role != CONN_HOLD)
        return;
    bufq_append (&spare->out, worker_pool (self->worker), data, len);
    if (!session_flush (self, spare)) {
        session_conn_close (self, spare, false);
        self->baton = NULL;
        handover_event_t event = { .kind = HANDOVER_LOST, .err = EPIPE, .fd = -1 };
        session_handover_notify (self, &event);
    }
}
