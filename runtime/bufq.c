/*  bufq — a FIFO of pool blocks waiting to be written to a socket. */
#include "runtime/bufq.h"

#include <errno.h>
#include <string.h>
#include <sys/uio.h>

#define BUFQ_IOV_MAX 64

void
bufq_push (bufq_t *self, buf_t *buf)
{
    buf->next = NULL;
    if (self->tail)
        self->tail->next = buf;
    else
        self->head = buf;
    self->tail = buf;
    self->bytes += buf->len - buf->off;
}

void
bufq_append (bufq_t *self, bufpool_t *pool, const void *data, size_t len)
{
    const uint8_t *p = data;
    size_t cap = bufpool_block_size (pool);
    while (len > 0) {
        buf_t *tail = self->tail;
        if (!tail || tail->len == cap) {
            tail = bufpool_get (pool);
            bufq_push (self, tail);
        }
        size_t room = cap - tail->len;
        size_t n = len < room ? len : room;
        memcpy (tail->data + tail->len, p, n);
        tail->len += (uint32_t) n;
        self->bytes += n;
        p += n;
        len -= n;
    }
}

uint8_t *
bufq_reserve (bufq_t *self, bufpool_t *pool, size_t *room)
{
    size_t cap = bufpool_block_size (pool);
    if (!self->tail || self->tail->len == cap)
        bufq_push (self, bufpool_get (pool));
    *room = cap - self->tail->len;
    return self->tail->data + self->tail->len;
}

void
bufq_commit (bufq_t *self, size_t len)
{
    self->tail->len += (uint32_t) len;
    self->bytes += len;
}

buf_t *
bufq_pop (bufq_t *self)
{
    buf_t *buf = self->head;
    if (!buf)
        return NULL;
    self->head = buf->next;
    if (!self->head)
        self->tail = NULL;
    self->bytes -= buf->len - buf->off;
    buf->next = NULL;
    return buf;
}

ssize_t
bufq_flush (bufq_t *self, bufpool_t *pool, int fd)
{
    return bufq_flush_max (self, pool, fd, SIZE_MAX);
}

ssize_t
bufq_flush_max (bufq_t *self, bufpool_t *pool, int fd, size_t max)
{
    size_t total = 0;
    while (self->head && total < max) {
        if (self->head->off == self->head->len) {
            buf_t *empty = self->head;
            self->head = empty->next;
            if (!self->head)
                self->tail = NULL;
            bufpool_put (pool, empty);
            continue;
        }
        struct iovec iov[BUFQ_IOV_MAX];
        int count = 0;
        size_t want = 0;
        for (buf_t *b = self->head; b && count < BUFQ_IOV_MAX && want < max - total; b = b->next) {
            iov[count].iov_base = b->data + b->off;
            iov[count].iov_len = b->len - b->off;
            if (iov[count].iov_len > max - total - want)
                iov[count].iov_len = max - total - want;
            want += iov[count].iov_len;
            count++;
        }
        ssize_t n = writev (fd, iov, count);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                break;
            return -1;
        }
        total += (size_t) n;
        self->bytes -= (size_t) n;
        size_t left = (size_t) n;
        while (left > 0) {
            buf_t *b = self->head;
            size_t avail = b->len - b->off;
            if (left < avail) {
                b->off += (uint32_t) left;
                break;
            }
            left -= avail;
            self->head = b->next;
            if (!self->head)
                self->tail = NULL;
            bufpool_put (pool, b);
        }
        if ((size_t) n < want)
            break;              //  the socket is full
    }
    return (ssize_t) total;
}

void
bufq_clear (bufq_t *self, bufpool_t *pool)
{
    while (self->head) {
        buf_t *b = self->head;
        self->head = b->next;
        bufpool_put (pool, b);
    }
    self->tail = NULL;
    self->bytes = 0;
}
