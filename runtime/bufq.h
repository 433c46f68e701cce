/*  bufq — a FIFO of pool blocks waiting to be written to a socket.

    Full blocks read from one socket are pushed as they are (no copy); small
    pieces (protocol replies) are appended into the tail block's free room, and
    a flush writes everything queued with one writev(), so several small frames
    leave in one segment instead of one write each.
*/
#ifndef MK_BUFQ_H
#define MK_BUFQ_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "runtime/bufpool.h"

typedef struct {
    buf_t *head, *tail;
    size_t bytes;           //  unwritten bytes in the queue
} bufq_t;

//  Take ownership of a block holding bytes [off, len).
void bufq_push (bufq_t *self, buf_t *buf);

//  Take the oldest block out (NULL if empty); the caller owns it.
buf_t *bufq_pop (bufq_t *self);

//  Copy bytes in, filling the tail block before taking new ones.
void bufq_append (bufq_t *self, bufpool_t *pool, const void *data, size_t len);

//  Room at the tail (a new block if the tail is full): up to *room bytes may
//  be written at the returned pointer, then bufq_commit says how many were.
uint8_t *bufq_reserve (bufq_t *self, bufpool_t *pool, size_t *room);
void bufq_commit (bufq_t *self, size_t len);

//  Write as much as the socket takes. Returns bytes written (0 if the socket
//  is full), or -1 with errno set on a socket error. Emptied blocks go back to
//  the pool.
ssize_t bufq_flush (bufq_t *self, bufpool_t *pool, int fd);
//  The same, writing at most max bytes.
ssize_t bufq_flush_max (bufq_t *self, bufpool_t *pool, int fd, size_t max);

//  Drop everything queued.
void bufq_clear (bufq_t *self, bufpool_t *pool);

#endif
