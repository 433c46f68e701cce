/*  v2_record — one direction of wire protocol v2's record stream
    (docs/PROTOCOL-v2.md section 3): AEAD records with a masked,
    authenticated 2-byte length, numbered from 0.

    On the wire:  ML [2] || C [L] || T [16],  plaintext P = type [1] || body,
    1 <= L <= V2_RECORD_MAX, ML = L ^ mask(i), C || T = Seal(nonce(i), aad = ML, P).

    A v2_dir_t holds the direction's two keys (OpenSSL contexts set up once)
    and its record number; sealing and opening advance it.

    TLS framing (wire: tls, section 9): the 2-byte masked length becomes a
    TLS 1.3 application_data header, 17 03 03 || |C || T| [2], the AAD;
    the mask key is then unused. Everything else is the same.
*/
#ifndef MK_V2_RECORD_H
#define MK_V2_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nodes/v2_keys.h"

#define V2_RECORD_MAX   16384               //  |P| at most: type and body
#define V2_BODY_MAX     (V2_RECORD_MAX - 1)
#define V2_LEN_SIZE     2
#define V2_TAG_SIZE     16
#define V2_OVERHEAD     (V2_LEN_SIZE + 1 + V2_TAG_SIZE)     //  wire bytes of an empty body
#define V2_TLS_HEAD_SIZE 5
#define V2_HEAD_MAX     V2_TLS_HEAD_SIZE                    //  the larger of the two headers
#define V2_OVERHEAD_MAX (V2_HEAD_MAX + 1 + V2_TAG_SIZE)

typedef enum {
    V2_DATA = 0x00,
    V2_HELLO = 0x01,
    V2_PADDING = 0x02,
    V2_COMMAND = 0x03,
    V2_END = 0x04
} v2_type_t;

typedef struct v2_dir_t v2_dir_t;

//  A direction from its 64-byte key (copied into OpenSSL; the caller wipes
//  its copy), at record 0. NULL if OpenSSL fails.
v2_dir_t *v2_dir_new (v2_suite_t suite, const uint8_t key[V2_DIR_KEY_SIZE]);
void v2_dir_destroy (v2_dir_t **self_p);

//  Frames this direction's records as TLS application data from now on.
void v2_dir_set_tls (v2_dir_t *self);

//  The header's size: V2_LEN_SIZE, or V2_TLS_HEAD_SIZE once TLS-framed.
size_t v2_dir_head (v2_dir_t *self);

//  Wire bytes of a record with a body of len bytes in this direction.
size_t v2_dir_record_size (v2_dir_t *self, size_t body_len);

//  The number of the next record sealed or opened.
uint64_t v2_dir_count (v2_dir_t *self);

//  Wire bytes of a record with a body of len bytes.
static inline size_t
v2_record_size (size_t body_len)
{
    return V2_OVERHEAD + body_len;
}

//  Seals one record (type, body[0..len), len <= V2_BODY_MAX) into out, which
//  has room for v2_dir_record_size (len) bytes; body may not overlap out.
//  Returns the bytes written, or -1 (len too big, OpenSSL failed).
int v2_seal (v2_dir_t *self, uint8_t type, const uint8_t *body, size_t len, uint8_t *out);

//  The same in pieces, for output that is not one span (the free room of a
//  socket's queue, block by block): begin writes the record's first
//  v2_dir_head + 1 wire bytes (the header, then the sealed type) for a body
//  of len bytes into head (room for V2_HEAD_MAX + 1), update seals body
//  bytes in order (any split; out may not overlap body), end writes the tag
//  and advances the record number. The wire bytes are v2_seal's.
int v2_seal_begin (v2_dir_t *self, uint8_t type, size_t len, uint8_t *head);
int v2_seal_update (v2_dir_t *self, const uint8_t *body, size_t len, uint8_t *out);
int v2_seal_end (v2_dir_t *self, uint8_t tag[V2_TAG_SIZE]);

//  The plaintext length L of the next record from its header, the first
//  v2_dir_head wire bytes (nothing advances). -1 if L is out of range (or
//  the TLS header wrong): a protocol error.
int v2_peek_len (v2_dir_t *self, const uint8_t *head);

//  Opens the next record in place: wire holds its head + L + 16 bytes (L
//  from v2_peek_len). On success the plaintext (type, then body) is at wire + head,
//  L bytes, and the record number advances. -1 if the tag fails (nothing is
//  advanced; the stream is broken).
int v2_open (v2_dir_t *self, uint8_t *wire, size_t L);
//  The same out of place: the type to *type, the body (L - 1 bytes) to body,
//  which may not overlap the wire bytes. Nothing written there is
//  authentic unless it returns 0.
int v2_open_to (v2_dir_t *self, uint8_t *wire, size_t L, uint8_t *type, uint8_t *body);

#endif
