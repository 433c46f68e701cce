/*  inband — in-band commands of protocol v1 (PROTOCOL.md section 4), the
    signals of the baton handover (section 5).

    A command is 16 bytes slipped into the plaintext stream between data
    bytes (before encryption): MAC(8) || CMD(8), where CMD is one or more
    command bytes with their parameters, zero-padded, and MAC = HMAC(K, CMD, 8).
    There is no framing: the receiver finds commands only by trying the MAC at
    every offset, and only while it is "tapping" (during a handover), so that
    ordinary data can never be taken for a command outside a handover.

    The sender's side is inband_encode; the receiver's side is inband_rx_t, a
    scanner; inband_tap_class runs the scanner in a node stack.
*/
#ifndef MK_INBAND_H
#define MK_INBAND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nodes/node.h"

#define INBAND_MAC_SIZE 8
#define INBAND_CMD_SIZE 8
#define INBAND_SIZE     16      //  MAC || CMD

typedef enum {
    INBAND_NOP = 0,                 //  also ends the parsing of a CMD (padding)
    INBAND_HO_L2R = 1,              //  + port (16 bits); defined, unused by the original
    INBAND_HO_R2L = 2,
    INBAND_HO_COMPLETE_R2L = 3,     //  defined, unused by the original's senders
    INBAND_HO_COMPLETE_L2R = 4
} inband_cmd_t;

//  "HO_R2L" etc., "?" for anything else.
const char *inband_cmd_name (int cmd);

//  out = HMAC(K, CMD, 8) || CMD with CMD = cmds[0..n) zero-padded to 8 bytes
//  (for HO_L2R the caller puts the port after it, big-endian). Returns 0, or
//  -1 if n > 8 or the HMAC fails.
int inband_encode (const uint8_t *key, size_t keylen, const uint8_t *cmds, size_t n,
                   uint8_t out[INBAND_SIZE]);


//  --- Receiver: the scanner
//
//  While tapping, at each offset i: if bytes [i, i+8) equal HMAC(K, bytes
//  [i+8, i+16), 8), the 16 bytes are a command (the bytes before it go out as
//  data first, then its commands are reported, then scanning goes on after
//  it); otherwise byte i is data. Up to 15 bytes that cannot be decided yet
//  are held until more arrive; when tapping stops they are data.
//
//  Cost: an HMAC-SHA1 only at offsets whose CMD parses as a command list
//  (a CMD that does not parse can only be data, see inband_rx_feed); the
//  rest is a byte compare. Measured on the 2-core dev box (2026-12-01):
//  ~390 MB/s on random data, ~5 MB/s on a run of zeros (every offset parses
//  as NOP padding, so every offset costs an HMAC). Only paid for the bytes in
//  flight during a handover.
//  Not tapping, bytes pass through untouched and uncopied.

//  Data bytes, in order. data is only valid during the call.
typedef void (inband_data_fn) (void *ctx, const uint8_t *data, size_t len);

//  One authenticated command (port is set for HO_L2R only). Return 0, or -1
//  to stop: the feed then fails. May call inband_rx_set_tapping: the bytes
//  after the command are then scanned or passed through accordingly.
typedef int (inband_command_fn) (void *ctx, inband_cmd_t cmd, uint16_t port);

typedef struct inband_rx_t inband_rx_t;

//  Not tapping to begin with. NULL if keylen is not 16, 24 or 32.
inband_rx_t *inband_rx_new (const uint8_t *key, size_t keylen);
void inband_rx_destroy (inband_rx_t **self_p);

//  Starts or stops looking for commands. Bytes held when tapping stops are
//  data: they are delivered first thing at the next feed, or by
//  inband_rx_flush.
void inband_rx_set_tapping (inband_rx_t *self, bool tapping);
bool inband_rx_tapping (inband_rx_t *self);

//  Bytes held back (0..15): undecided while tapping, or waiting for a flush.
size_t inband_rx_held (inband_rx_t *self);

//  Scans (or, not tapping, passes on) len bytes. on_command may be NULL
//  when not tapping. 16 bytes whose CMD does not parse (an unknown command
//  byte, or HO_L2R without its 2 port bytes) are data whatever their MAC.
//  Returns 0, or -1 if on_command returned -1 or OpenSSL failed; the
//  scanner is then broken and every later feed returns -1 at once.
int inband_rx_feed (inband_rx_t *self, const uint8_t *data, size_t len,
                    inband_data_fn *on_data, inband_command_fn *on_command, void *ctx);

//  Delivers the bytes that were held when tapping stopped (if any).
void inband_rx_flush (inband_rx_t *self, inband_data_fn *on_data, void *ctx);


//  --- As a node (nodes/node.h): state an inband_rx_t its owner keeps (the
//  stack only borrows it, e.g. for the length of a handover). From outer:
//  the scanner; data goes on inward, each command is a NODE_COMMAND event
//  (value: the command) after the data before it. From inner: passes on.
//  Flushing it toward inner stops tapping and lets the held bytes go on.
extern const node_class_t inband_tap_class;

#endif
