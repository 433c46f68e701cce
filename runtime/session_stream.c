/*  session_stream — a session side that is one stream of a multiplexed
    tunnel (runtime/stream.h): the bytes and ends the multiplexer hands over,
    held while the session cannot take them.
*/
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

//  --------------------------------------------------------------------------
//  Stream sides

#define STREAM_IN_MAX (8 * 1024 * 1024)


//  Bytes of a stream, as session_read does for a socket (the data is a view into
//  the tunnel's buffer: it is copied only where a socket cannot take it).
static void
s_stream_deliver (session_t *self, conn_t *conn, const uint8_t *data, size_t len)
{
    session_trace_hop (self, conn, "data", len);
    session_count_bytes (self, conn, len);
    if (conn->mux)
        conn->mux_ops->consumed (conn->mux, conn->stream_id, len);
    switch (self->state) {
        case SESSION_RELAY:
            if (session_take_expected (self, conn, &data, &len) && len > 0)
                session_send (self, session_other (self, conn), data, len);
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

//  Pieces of a stream's bytes met together: in relay, written to the other
//  side as one (one send for all, not one per frame).
static void
s_stream_deliver_pieces (session_t *self, conn_t *conn, const struct iovec *iov, int count)
{
    if (self->state != SESSION_RELAY || self->answer) {
        for (int i = 0; i < count && !session_dead (self); i++)
            s_stream_deliver (self, conn, iov[i].iov_base, iov[i].iov_len);
        return;
    }
    size_t len = 0;
    for (int i = 0; i < count; i++)
        len += iov[i].iov_len;
    session_trace_hop (self, conn, "data", len);
    session_count_bytes (self, conn, len);
    if (conn->mux)
        conn->mux_ops->consumed (conn->mux, conn->stream_id, len);
    session_send_pieces (self, session_other (self, conn), iov, count);
}

//  Hand over what a stream side held back while its session could not take it.
void
session_stream_drain (session_t *self, conn_t *conn)
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
session_stream_pieces (session_t *self, const struct iovec *iov, int count)
{
    conn_t *conn = s_stream_side (self);
    if (session_dead (self) || !conn || conn->eof_in)
        return;
    if (conn->in.bytes == 0 && session_wants_read (self, conn))
        s_stream_deliver_pieces (self, conn, iov, count);
    else {
        //  The tunnel cannot stop for one slow stream: hold its bytes, up to
        //  a limit past which that stream alone is given up.
        for (int i = 0; i < count; i++)
            bufq_append (&conn->in, worker_pool (self->worker), iov[i].iov_base, iov[i].iov_len);
        if (conn->in.bytes > STREAM_IN_MAX) {
            log_warn ("%s: stream %u: %d bytes held for a reader that does not read; closing it",
                      self->peer, conn->stream_id, STREAM_IN_MAX);
            session_kill (self, true);
        }
    }
    session_settle (self);
}

void
session_stream_data (session_t *self, const uint8_t *data, size_t len)
{
    struct iovec iov = { (void *) data, len };
    session_stream_pieces (self, &iov, 1);
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
    conn_t *conn = session_conn (self, side);
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


size_t
session_stream_held (session_t *self)
{
    conn_t *conn = s_stream_side (self);
    return conn ? conn->in.bytes : 0;
}
