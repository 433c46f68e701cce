/*  mux — the aggregated-mode multiplexing codec (PROTOCOL.md section 6):
    the frames that carry every client connection of a wormhole inside one
    tunnel, and the id allocator of the end that accepts the clients.

    Pure: no I/O, no threads, no allocation per frame. Byte-compatible with
    the original Erlang mimicsocks (mimicsocks_local_agg:send_data and
    parse_data):

        0 | reserved:16 | len:8  | len bytes    NOP / padding, ignored
        1 | id:16                               NEW_SOCKET
        2 | id:16                               CLOSE_SOCKET
        3 | id:16       | len:16 | len bytes    DATA
        4 | id:16       | len:8  | len bytes    SMALL_DATA

    Integers are big-endian. Like the original, the encoder uses SMALL_DATA
    for every payload of 1..255 bytes, DATA for 256..65535, and splits longer
    payloads into DATA frames of 65535 bytes followed by the rest (so a final
    piece under 256 bytes is SMALL_DATA); an empty payload gives no frame.
    Any other command byte is a protocol error that breaks the tunnel.

    The data path is meant to be zero-copy: a worker reads a socket into a
    block, asks mux_data_header for the 4 or 5 header bytes and writes (or
    encrypts) header + block without copying the payload. mux_out_t is a
    growable builder for everything else (control frames, padding, small
    payloads, tests).
*/
#ifndef MK_MUX_H
#define MK_MUX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

typedef enum {
    MUX_CMD_NOP = 0,
    MUX_CMD_NEW_SOCKET = 1,
    MUX_CMD_CLOSE_SOCKET = 2,
    MUX_CMD_DATA = 3,
    MUX_CMD_SMALL_DATA = 4
} mux_cmd_t;

#define MUX_DATA_MAX        65535   //  payload of one DATA frame
#define MUX_SMALL_DATA_MAX  255     //  payload of one SMALL_DATA frame
#define MUX_PADDING_MAX     255     //  payload of one NOP frame
#define MUX_CONTROL_SIZE    3       //  a NEW_SOCKET or CLOSE_SOCKET frame
#define MUX_HEADER_MAX      5       //  the longest frame header (DATA)
#define MUX_IDS             65536   //  ids are 16 bits


//  --- Encoding into caller memory (never allocates)

//  A NEW_SOCKET / CLOSE_SOCKET frame; returns MUX_CONTROL_SIZE.
size_t
    mux_put_new_socket (uint8_t out[MUX_CONTROL_SIZE], uint16_t id);
size_t
    mux_put_close_socket (uint8_t out[MUX_CONTROL_SIZE], uint16_t id);

//  The header of the one frame that carries len (0..MUX_DATA_MAX) payload
//  bytes: SMALL_DATA (4 bytes) if len < 256, else DATA (5 bytes). Returns the
//  header length. For payloads over MUX_DATA_MAX, send pieces of MUX_DATA_MAX
//  bytes and then the rest, each behind its own header.
size_t
    mux_data_header (uint8_t out[MUX_HEADER_MAX], uint16_t id, size_t len);

//  Bytes that len payload bytes take on the wire as mux_encode_data frames
//  them (headers included); 0 for len 0.
size_t
    mux_data_frames_size (size_t len);


//  --- Builder: frames appended to a growable buffer

typedef struct _mux_out_t mux_out_t;

typedef enum { MUX_PAD_ZERO, MUX_PAD_RANDOM } mux_pad_t;

//  An empty builder. Aborts only if memory is exhausted.
mux_out_t *
    mux_out_new (void);
void
    mux_out_destroy (mux_out_t **self_p);

//  The frames appended so far (valid until the next append or clear).
const uint8_t *
    mux_out_data (mux_out_t *self);
size_t
    mux_out_size (mux_out_t *self);

//  Forget the frames but keep the memory, so a reused builder stops
//  allocating once it has grown to its working size.
void
    mux_out_clear (mux_out_t *self);

//  Raw bytes (already-framed data, e.g. frames held back for later).
void
    mux_out_append (mux_out_t *self, const uint8_t *data, size_t len);
void
    mux_encode_new_socket (mux_out_t *self, uint16_t id);
void
    mux_encode_close (mux_out_t *self, uint16_t id);
//  len payload bytes for id, framed as described above (nothing for len 0).
void
    mux_encode_data (mux_out_t *self, uint16_t id, const uint8_t *data, size_t len);
//  A NOP frame with len (0..MUX_PADDING_MAX) bytes of zeros or random bytes.
void
    mux_encode_padding (mux_out_t *self, size_t len, mux_pad_t fill);


//  --- Decoder: incremental over any split of the stream

typedef struct _mux_decoder_t mux_decoder_t;

//  What a callback returns: go on, or stop feed right after this event (the
//  event itself is consumed: a paused on_data has taken its bytes).
#define MUX_CONTINUE 0
#define MUX_PAUSE    1

typedef int (mux_on_id_fn) (void *ctx, uint16_t id);
//  data points into the caller's input and is valid only during the call. A
//  frame's payload may come in several calls (as it arrives, never copied);
//  empty payloads give no call.
typedef int (mux_on_data_fn) (void *ctx, uint16_t id, const uint8_t *data, size_t len);

//  A whole NOP frame: its reserved field and its payload (0..255 bytes, one
//  call). The original ignores NOPs; the C ends carry extensions in them.
typedef int (mux_on_nop_fn) (void *ctx, uint16_t reserved, const uint8_t *data, size_t len);
typedef struct {
    mux_on_id_fn *on_new;       //  NEW_SOCKET
    mux_on_id_fn *on_close;     //  CLOSE_SOCKET
    mux_on_data_fn *on_data;    //  DATA and SMALL_DATA payload
    mux_on_nop_fn *on_nop;      //  NOP (padding or an extension)
} mux_callbacks_t;              //  any of them may be NULL: those events are dropped

mux_decoder_t *
    mux_decoder_new (void);
void
    mux_decoder_destroy (mux_decoder_t **self_p);

//  Decode len bytes, calling back for each event. Returns the bytes consumed:
//  all of len, unless a callback returned MUX_PAUSE (then feed the rest,
//  data + consumed, to resume). A partial frame at the end is kept inside the
//  decoder and counts as consumed. Returns -1 on a protocol error (an unknown
//  command byte; the events before it were delivered); the decoder is then
//  broken and every later feed returns -1.
ssize_t
    mux_decoder_feed (mux_decoder_t *self, const uint8_t *data, size_t len,
                      const mux_callbacks_t *callbacks, void *ctx);

//  Whether the last feed stopped because a callback returned MUX_PAUSE (it
//  may have consumed all of its input nonetheless).
bool
    mux_decoder_paused (mux_decoder_t *self);

//  Whether the decoder is between frames (a tunnel that ends while it is not
//  ended in the middle of a frame).
bool
    mux_decoder_idle (mux_decoder_t *self);

//  Stream bytes consumed since new; after a protocol error, the offset of
//  the bad command byte.
uint64_t
    mux_decoder_offset (mux_decoder_t *self);

//  Why the stream is broken (for a log line), or NULL while it is not.
const char *
    mux_decoder_error (mux_decoder_t *self);


//  --- Ids, allocated by the mux end (the one accepting the clients)
//
//  Each id follows the previous one (+1 mod 65536), skipping ids in use; the
//  first is 1. A bitmap of 8 KiB tracks the ids in use.

typedef struct _mux_ids_t mux_ids_t;

//  Aborts only if memory is exhausted.
mux_ids_t *
    mux_ids_new (void);
void
    mux_ids_destroy (mux_ids_t **self_p);

//  A free id, now in use; -1 when all 65536 are in use.
int
    mux_ids_alloc (mux_ids_t *self);
//  Frees id (nothing happens if it is not in use).
void
    mux_ids_release (mux_ids_t *self, uint16_t id);
bool
    mux_ids_in_use (mux_ids_t *self, uint16_t id);
//  How many ids are in use.
size_t
    mux_ids_count (mux_ids_t *self);

#endif
