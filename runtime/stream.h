/*  stream — a session side that is one stream of a multiplexed tunnel, not a
    socket (an aggregated wormhole: actors/tunnel_mux.c implements the
    multiplexer; the handlers at both ends run unchanged on stream sides).
*/
#ifndef MK_STREAM_H
#define MK_STREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "runtime/bufpool.h"
#include "runtime/session.h"

//  The multiplexer (e.g. an aggregated wormhole's tunnel) implements these;
//  the session calls them for its stream side.
typedef struct {
    //  Bytes for the stream (framed and queued on the tunnel).
    void (*send) (void *mux, uint16_t id, const uint8_t *data, size_t len);
    //  The session is done with the stream: forget it, and tell the peer
    //  (CLOSE_SOCKET) unless notify is false (the peer closed it first).
    void (*detach) (void *mux, uint16_t id, bool notify);
    //  Bytes waiting toward the peer on this stream's behalf: over
    //  WORKER_WINDOW and the session stops reading the stream's other side.
    size_t (*queued) (void *mux, uint16_t id);
    //  The session took len bytes of the stream (the credit to give back).
    void (*consumed) (void *mux, uint16_t id, size_t len);
    //  Our side is done sending (FIN) but still reads: true if the peer is
    //  told so; false if it cannot be (then the stream is closed instead).
    bool (*half_close) (void *mux, uint16_t id);
    //  Like send, for a whole block the session read (taken; NULL: not
    //  offered): its bytes start at least SESSION_STREAM_HEADROOM into it,
    //  so that the frame's header can be written before them and the block
    //  goes on to the tunnel without a copy.
    void (*send_block) (void *mux, uint16_t id, buf_t *buf);
} stream_ops_t;

//  The most a stream side is handed in one send by the relay (the largest
//  payload of one multiplexer frame).
#define SESSION_STREAM_CHUNK 65535
//  Free bytes a socket's read leaves at the front of the block when the
//  other side is a stream (room for the multiplexer's frame header).
#define SESSION_STREAM_HEADROOM 8

//  Make a side a stream of mux (the side must have no socket).
void session_attach_stream (session_t *self, session_side_t side, const stream_ops_t *ops,
                            void *mux, uint16_t id);

//  From the multiplexer: bytes of the stream, its end (err 0: the peer closed
//  it; else the tunnel was lost), and the multiplexer going away.
void session_stream_data (session_t *self, const uint8_t *data, size_t len);
//  The same for pieces that go on together (the payloads of several frames).
void session_stream_pieces (session_t *self, const struct iovec *iov, int count);
void session_stream_eof (session_t *self, int err);
//  The peer half-closed the stream: no more bytes come, but it still reads.
void session_stream_fin (session_t *self);

//  A new session in the same worker whose client side is a stream of mux
//  (the far end of an aggregated tunnel starting a handler). NULL on failure.
session_t *session_spawn_stream (session_t *self, const handler_conf_t *conf,
                                  const stream_ops_t *ops, void *mux, uint16_t id);

//  Stream bytes that arrived but wait for the session to take them.
size_t session_stream_held (session_t *self);

#endif
