/*  mux — aggregated-mode frames, their decoder and the id allocator (see
    mux.h).

    The decoder is an explicit state machine: a command byte, then the fixed
    header that command has (collected in a small buffer, so it may arrive in
    any split), then the payload, which is handed on as views into the input
    rather than gathered, so a DATA frame never costs a copy here.
*/
#include "nodes/mux.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>


//  Memory for the codec's own state; release builds drop assert(), so this
//  aborts by hand rather than carry on with NULL.
static void *
s_checked (void *memory)
{
    if (!memory) {
        fputs ("mux: out of memory\n", stderr);
        abort ();
    }
    return memory;
}

static void
s_put_u16 (uint8_t *out, uint16_t value)
{
    out[0] = (uint8_t) (value >> 8);
    out[1] = (uint8_t) value;
}

static uint16_t
s_get_u16 (const uint8_t *in)
{
    return (uint16_t) ((in[0] << 8) | in[1]);
}


//  --- Encoding into caller memory

static size_t
s_put_control (uint8_t out[MUX_CONTROL_SIZE], mux_cmd_t cmd, uint16_t id)
{
    out[0] = (uint8_t) cmd;
    s_put_u16 (out + 1, id);
    return MUX_CONTROL_SIZE;
}

size_t
mux_put_new_socket (uint8_t out[MUX_CONTROL_SIZE], uint16_t id)
{
    return s_put_control (out, MUX_CMD_NEW_SOCKET, id);
}

size_t
mux_put_close_socket (uint8_t out[MUX_CONTROL_SIZE], uint16_t id)
{
    return s_put_control (out, MUX_CMD_CLOSE_SOCKET, id);
}

size_t
mux_data_header (uint8_t out[MUX_HEADER_MAX], uint16_t id, size_t len)
{
    assert (len <= MUX_DATA_MAX);
    s_put_u16 (out + 1, id);
    if (len <= MUX_SMALL_DATA_MAX) {
        out[0] = MUX_CMD_SMALL_DATA;
        out[3] = (uint8_t) len;
        return 4;
    }
    out[0] = MUX_CMD_DATA;
    s_put_u16 (out + 3, (uint16_t) len);
    return 5;
}

size_t
mux_data_frames_size (size_t len)
{
    size_t full = len / MUX_DATA_MAX;       //  pieces of MUX_DATA_MAX bytes
    size_t rest = len % MUX_DATA_MAX;
    size_t size = full * (5 + MUX_DATA_MAX);
    if (rest)
        size += (rest <= MUX_SMALL_DATA_MAX ? 4 : 5) + rest;
    return size;
}


//  --- Builder

struct _mux_out_t {
    uint8_t *data;
    size_t size;
    size_t cap;
};

mux_out_t *
mux_out_new (void)
{
    return (mux_out_t *) s_checked (calloc (1, sizeof (mux_out_t)));
}

void
mux_out_destroy (mux_out_t **self_p)
{
    assert (self_p);
    if (*self_p) {
        free ((*self_p)->data);
        free (*self_p);
        *self_p = NULL;
    }
}

const uint8_t *
mux_out_data (mux_out_t *self)
{
    return self->data;
}

size_t
mux_out_size (mux_out_t *self)
{
    return self->size;
}

void
mux_out_clear (mux_out_t *self)
{
    self->size = 0;
}

//  Room for len more bytes at the end, which then count as appended. Grows by
//  doubling so that appending frame after frame stays amortized O(1).
static uint8_t *
s_out_extend (mux_out_t *self, size_t len)
{
    if (self->cap - self->size < len) {
        size_t cap = self->cap ? self->cap : 256;
        while (cap - self->size < len)
            cap *= 2;
        self->data = (uint8_t *) s_checked (realloc (self->data, cap));
        self->cap = cap;
    }
    uint8_t *room = self->data + self->size;
    self->size += len;
    return room;
}

void
mux_out_append (mux_out_t *self, const uint8_t *data, size_t len)
{
    if (len)
        memcpy (s_out_extend (self, len), data, len);
}

void
mux_encode_new_socket (mux_out_t *self, uint16_t id)
{
    mux_put_new_socket (s_out_extend (self, MUX_CONTROL_SIZE), id);
}

void
mux_encode_close (mux_out_t *self, uint16_t id)
{
    mux_put_close_socket (s_out_extend (self, MUX_CONTROL_SIZE), id);
}

void
mux_encode_data (mux_out_t *self, uint16_t id, const uint8_t *data, size_t len)
{
    uint8_t *out = s_out_extend (self, mux_data_frames_size (len));
    while (len) {
        size_t piece = len < MUX_DATA_MAX ? len : MUX_DATA_MAX;
        out += mux_data_header (out, id, piece);
        memcpy (out, data, piece);
        out += piece;
        data += piece;
        len -= piece;
    }
}

void
mux_encode_padding (mux_out_t *self, size_t len, mux_pad_t fill)
{
    assert (len <= MUX_PADDING_MAX);
    if (len > MUX_PADDING_MAX)          //  a length byte cannot say more
        len = MUX_PADDING_MAX;
    uint8_t *out = s_out_extend (self, 4 + len);
    out[0] = MUX_CMD_NOP;
    out[1] = out[2] = 0;                //  reserved
    out[3] = (uint8_t) len;
    memset (out + 4, 0, len);
    //  The padding is encrypted with the rest of the stream, so zeros are as
    //  opaque on the wire (random bytes only matter if the plaintext leaks):
    //  if no random bytes can be had, the zeros stay.
    if (fill == MUX_PAD_RANDOM && len && RAND_bytes (out + 4, (int) len) != 1)
        memset (out + 4, 0, len);
}


//  --- Decoder

typedef enum {
    S_COMMAND,          //  the command byte of the next frame
    S_HEADER,           //  the rest of its fixed header
    S_PAYLOAD,          //  its payload (DATA, SMALL_DATA, NOP)
    S_BROKEN            //  protocol error: nothing more is consumed
} s_state_t;

//  Header bytes after the command byte, by command.
static const size_t s_header_size[] = {
    [MUX_CMD_NOP] = 3,              //  reserved:16 len:8
    [MUX_CMD_NEW_SOCKET] = 2,       //  id:16
    [MUX_CMD_CLOSE_SOCKET] = 2,     //  id:16
    [MUX_CMD_DATA] = 4,             //  id:16 len:16
    [MUX_CMD_SMALL_DATA] = 3        //  id:16 len:8
};

#define S_CMD_LAST MUX_CMD_SMALL_DATA

struct _mux_decoder_t {
    s_state_t state;
    uint8_t cmd;
    uint8_t header[4];          //  the header being collected
    size_t have;                //  bytes in header
    uint16_t id;                //  of the frame whose payload is coming
    size_t remaining;           //  payload bytes still to come
    uint64_t offset;            //  stream bytes consumed before this feed
    uint8_t nop[MUX_PADDING_MAX];   //  a NOP payload being collected
    size_t nop_len;
    bool paused;
    char error[64];
};

mux_decoder_t *
mux_decoder_new (void)
{
    mux_decoder_t *self = (mux_decoder_t *) s_checked (calloc (1, sizeof (mux_decoder_t)));
    self->state = S_COMMAND;
    return self;
}

void
mux_decoder_destroy (mux_decoder_t **self_p)
{
    assert (self_p);
    if (*self_p) {
        free (*self_p);
        *self_p = NULL;
    }
}

//  The header is complete: deliver control events or get ready for the
//  payload. Returns what the callback asked for.
static int
s_header_done (mux_decoder_t *self, const mux_callbacks_t *cb, void *ctx)
{
    uint16_t id = s_get_u16 (self->header);
    self->state = S_COMMAND;
    switch ((mux_cmd_t) self->cmd) {
        case MUX_CMD_NEW_SOCKET:
            return cb->on_new ? cb->on_new (ctx, id) : MUX_CONTINUE;
        case MUX_CMD_CLOSE_SOCKET:
            return cb->on_close ? cb->on_close (ctx, id) : MUX_CONTINUE;
        case MUX_CMD_NOP:
            self->remaining = self->header[2];          //  the id field is reserved
            self->nop_len = 0;
            if (self->remaining == 0)
                return cb->on_nop ? cb->on_nop (ctx, id, self->nop, 0) : MUX_CONTINUE;
            break;
        case MUX_CMD_DATA:
            self->remaining = s_get_u16 (self->header + 2);
            break;
        case MUX_CMD_SMALL_DATA:
            self->remaining = self->header[2];
            break;
    }
    self->id = id;
    if (self->remaining)
        self->state = S_PAYLOAD;
    return MUX_CONTINUE;
}

ssize_t
mux_decoder_feed (mux_decoder_t *self, const uint8_t *data, size_t len,
                  const mux_callbacks_t *callbacks, void *ctx)
{
    assert (self);
    assert (callbacks);
    self->paused = false;
    size_t pos = 0;
    int rc = MUX_CONTINUE;
    while (pos < len && rc == MUX_CONTINUE && self->state != S_BROKEN) {
        switch (self->state) {
            case S_COMMAND:
                if (data[pos] > S_CMD_LAST) {
                    snprintf (self->error, sizeof self->error,
                              "unknown command %u at offset %llu", data[pos],
                              (unsigned long long) (self->offset + pos));
                    self->state = S_BROKEN;
                    break;
                }
                self->cmd = data[pos++];
                self->have = 0;
                self->state = S_HEADER;
                break;

            case S_HEADER: {
                size_t need = s_header_size[self->cmd] - self->have;
                size_t take = len - pos < need ? len - pos : need;
                memcpy (self->header + self->have, data + pos, take);
                self->have += take;
                pos += take;
                if (take == need)
                    rc = s_header_done (self, callbacks, ctx);
                break;
            }
            case S_PAYLOAD: {
                size_t take = len - pos < self->remaining ? len - pos : self->remaining;
                const uint8_t *piece = data + pos;
                pos += take;
                self->remaining -= take;
                if (self->remaining == 0)
                    self->state = S_COMMAND;
                if (self->cmd == MUX_CMD_NOP) {
                    memcpy (self->nop + self->nop_len, piece, take);
                    self->nop_len += take;
                    if (self->remaining == 0 && callbacks->on_nop)
                        rc = callbacks->on_nop (ctx, self->id, self->nop, self->nop_len);
                }
                else if (callbacks->on_data)
                    rc = callbacks->on_data (ctx, self->id, piece, take);
                break;
            }
            case S_BROKEN:
                break;
        }
    }
    self->offset += pos;
    if (self->state == S_BROKEN)
        return -1;
    self->paused = rc != MUX_CONTINUE;
    return (ssize_t) pos;
}

bool
mux_decoder_paused (mux_decoder_t *self)
{
    return self->paused;
}

bool
mux_decoder_idle (mux_decoder_t *self)
{
    return self->state == S_COMMAND;
}

uint64_t
mux_decoder_offset (mux_decoder_t *self)
{
    return self->offset;
}

const char *
mux_decoder_error (mux_decoder_t *self)
{
    return self->state == S_BROKEN ? self->error : NULL;
}


//  --- Ids

#define S_WORDS (MUX_IDS / 64)

struct _mux_ids_t {
    uint64_t used[S_WORDS];     //  bit id % 64 of word id / 64
    size_t count;
    uint16_t last;              //  the id allocated last
};

mux_ids_t *
mux_ids_new (void)
{
    //  last = 0, so the first id is 1
    return (mux_ids_t *) s_checked (calloc (1, sizeof (mux_ids_t)));
}

void
mux_ids_destroy (mux_ids_t **self_p)
{
    assert (self_p);
    if (*self_p) {
        free (*self_p);
        *self_p = NULL;
    }
}

int
mux_ids_alloc (mux_ids_t *self)
{
    if (self->count == MUX_IDS)
        return -1;
    //  Scan whole words for a clear bit from last + 1 onward, wrapping round:
    //  the start word is visited twice, first above the start bit, at the end
    //  in full, which covers the ids below the start bit.
    size_t start = (uint16_t) (self->last + 1);
    size_t word = start / 64;
    uint64_t free_bits = ~self->used[word] & (~(uint64_t) 0 << (start % 64));
    for (size_t step = 0; step <= S_WORDS; step++) {
        if (free_bits) {
            size_t id = word * 64 + (size_t) __builtin_ctzll (free_bits);
            self->used[word] |= (uint64_t) 1 << (id % 64);
            self->count++;
            self->last = (uint16_t) id;
            return (int) id;
        }
        word = (word + 1) % S_WORDS;
        free_bits = ~self->used[word];
    }
    assert (false);             //  count said an id was free
    return -1;
}

void
mux_ids_release (mux_ids_t *self, uint16_t id)
{
    uint64_t bit = (uint64_t) 1 << (id % 64);
    if (self->used[id / 64] & bit) {
        self->used[id / 64] &= ~bit;
        self->count--;
    }
}

bool
mux_ids_in_use (mux_ids_t *self, uint16_t id)
{
    return (self->used[id / 64] >> (id % 64)) & 1;
}

size_t
mux_ids_count (mux_ids_t *self)
{
    return self->count;
}
