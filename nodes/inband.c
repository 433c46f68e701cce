/*  inband — in-band command encoder, scanner and node (see inband.h). */
#include "nodes/inband.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "nodes/wirecrypto.h"

#define S_HELD_MAX (INBAND_SIZE - 1)

const char *
inband_cmd_name (int cmd)
{
    switch (cmd) {
        case INBAND_NOP:             return "NOP";
        case INBAND_HO_L2R:          return "HO_L2R";
        case INBAND_HO_R2L:          return "HO_R2L";
        case INBAND_HO_COMPLETE_R2L: return "HO_COMPLETE_R2L";
        case INBAND_HO_COMPLETE_L2R: return "HO_COMPLETE_L2R";
        default:                     return "?";
    }
}

int
inband_encode (const uint8_t *key, size_t keylen, const uint8_t *cmds, size_t n,
               uint8_t out[INBAND_SIZE])
{
    if (n > INBAND_CMD_SIZE || !wire_key_valid (keylen))
        return -1;
    uint8_t cmd[INBAND_CMD_SIZE] = { 0 };
    if (n)
        memcpy (cmd, cmds, n);
    if (wire_hmac (key, keylen, cmd, sizeof cmd, out, INBAND_MAC_SIZE) != 0)
        return -1;
    memcpy (out + INBAND_MAC_SIZE, cmd, INBAND_CMD_SIZE);
    return 0;
}


//  --- Scanner

struct inband_rx_t {
    wire_mac_t *mac;
    bool tapping;
    bool broken;
    bool flush_held;            //  tapping stopped: held bytes are data
    uint8_t held[S_HELD_MAX];   //  the undecided tail of the stream so far
    size_t nheld;
};

inband_rx_t *
inband_rx_new (const uint8_t *key, size_t keylen)
{
    if (!key || !wire_key_valid (keylen))
        return NULL;
    inband_rx_t *self = (inband_rx_t *) calloc (1, sizeof (inband_rx_t));
    if (!self)
        return NULL;
    self->mac = wire_mac_new (key, keylen);
    if (!self->mac)
        inband_rx_destroy (&self);
    return self;
}

void
inband_rx_destroy (inband_rx_t **self_p)
{
    assert (self_p);
    inband_rx_t *self = *self_p;
    if (!self)
        return;
    wire_mac_destroy (&self->mac);
    free (self);
    *self_p = NULL;
}

void
inband_rx_set_tapping (inband_rx_t *self, bool tapping)
{
    assert (self);
    if (self->tapping && !tapping && self->nheld)
        self->flush_held = true;
    self->tapping = tapping;
}

bool
inband_rx_tapping (inband_rx_t *self)
{
    assert (self);
    return self->tapping;
}

size_t
inband_rx_held (inband_rx_t *self)
{
    assert (self);
    return self->nheld;
}

void
inband_rx_flush (inband_rx_t *self, inband_data_fn *on_data, void *ctx)
{
    assert (self);
    if (!self->flush_held)
        return;
    //  Cleared first: on_data may feed or flush again.
    uint8_t held[S_HELD_MAX];
    size_t nheld = self->nheld;
    memcpy (held, self->held, nheld);
    self->nheld = 0;
    self->flush_held = false;
    on_data (ctx, held, nheld);
}

static void
s_data (inband_data_fn *on_data, void *ctx, const uint8_t *data, size_t len)
{
    if (len)
        on_data (ctx, data, len);
}

//  True if cmd parses as a command list (s_run_commands would accept it).
//  Only such offsets are worth an HMAC: one whose MAC matched but whose CMD
//  does not parse could only be an error, and no sender makes one. Random
//  bytes pass this test at about 1 offset in 60, so tapping costs ~5 ns a
//  byte instead of one HMAC per byte (~300 ns).
static bool
s_may_be_command (const uint8_t cmd[INBAND_CMD_SIZE])
{
    size_t at = 0;
    while (at < INBAND_CMD_SIZE) {
        switch (cmd[at]) {
            case INBAND_NOP:
                return true;
            case INBAND_HO_L2R:
                if (at + 3 > INBAND_CMD_SIZE)
                    return false;
                at += 3;
                break;
            case INBAND_HO_R2L:
            case INBAND_HO_COMPLETE_R2L:
            case INBAND_HO_COMPLETE_L2R:
                at += 1;
                break;
            default:
                return false;
        }
    }
    return true;
}

//  1 if the 16 bytes at p are a command, 0 if not, -1 if OpenSSL fails.
static int
s_is_command (inband_rx_t *self, const uint8_t *p)
{
    if (p [INBAND_MAC_SIZE] > INBAND_HO_COMPLETE_L2R || !s_may_be_command (p + INBAND_MAC_SIZE))
        return 0;
    uint8_t mac[INBAND_MAC_SIZE];
    if (wire_mac_compute (self->mac, p + INBAND_MAC_SIZE, INBAND_CMD_SIZE, mac, sizeof mac) != 0)
        return -1;
    return CRYPTO_memcmp (mac, p, INBAND_MAC_SIZE) == 0;
}

//  Reports the commands of one authenticated CMD, up to NOP/padding.
static int
s_run_commands (const uint8_t cmd[INBAND_CMD_SIZE], inband_command_fn *on_command, void *ctx)
{
    size_t at = 0;
    while (at < INBAND_CMD_SIZE) {
        uint16_t port = 0;
        switch (cmd[at]) {
            case INBAND_NOP:
                return 0;
            case INBAND_HO_L2R:
                if (at + 3 > INBAND_CMD_SIZE)
                    return -1;          //  port cut off by the end of CMD
                port = (uint16_t) (cmd[at + 1] << 8 | cmd[at + 2]);
                if (on_command && on_command (ctx, INBAND_HO_L2R, port) != 0)
                    return -1;
                at += 3;
                break;
            case INBAND_HO_R2L:
            case INBAND_HO_COMPLETE_R2L:
            case INBAND_HO_COMPLETE_L2R:
                if (on_command && on_command (ctx, (inband_cmd_t) cmd[at], 0) != 0)
                    return -1;
                at += 1;
                break;
            default:
                return -1;              //  unknown: its parameters' size is unknown too
        }
    }
    return 0;
}

//  Decides the offsets that start in the held bytes, with the first bytes of
//  data. Sets *pos to the first byte of data not yet consumed.
static int
s_scan_held (inband_rx_t *self, const uint8_t *data, size_t len, size_t *pos,
             inband_data_fn *on_data, inband_command_fn *on_command, void *ctx)
{
    //  The last held offset needs 15 more bytes.
    uint8_t window[S_HELD_MAX + S_HELD_MAX];
    size_t nheld = self->nheld;
    size_t take = len < S_HELD_MAX ? len : S_HELD_MAX;
    memcpy (window, self->held, nheld);
    if (take)
        memcpy (window + nheld, data, take);
    size_t wlen = nheld + take;

    size_t at = 0;
    for (; at < nheld && at + INBAND_SIZE <= wlen; at++) {
        int rc = s_is_command (self, window + at);
        if (rc < 0)
            return -1;
        if (rc == 1) {
            self->nheld = 0;
            *pos = at + INBAND_SIZE - nheld;
            s_data (on_data, ctx, window, at);
            return s_run_commands (window + at + INBAND_MAC_SIZE, on_command, ctx);
        }
    }
    if (at == nheld) {
        //  Every held byte is data; data itself is scanned by the caller.
        self->nheld = 0;
        *pos = 0;
        s_data (on_data, ctx, window, nheld);
        return 0;
    }
    //  Still undecided from offset at: all of data went into the window.
    assert (take == len);
    memcpy (self->held, window + at, wlen - at);
    self->nheld = wlen - at;
    *pos = len;
    s_data (on_data, ctx, window, at);
    return 0;
}

//  Scans data[*pos..len) up to the first command (run) or to the end (the
//  undecided tail is held). Held bytes are empty on entry.
static int
s_scan (inband_rx_t *self, const uint8_t *data, size_t len, size_t *pos,
        inband_data_fn *on_data, inband_command_fn *on_command, void *ctx)
{
    size_t start = *pos;
    for (size_t at = start; at + INBAND_SIZE <= len; at++) {
        int rc = s_is_command (self, data + at);
        if (rc < 0)
            return -1;
        if (rc == 1) {
            *pos = at + INBAND_SIZE;
            s_data (on_data, ctx, data + start, at - start);
            return s_run_commands (data + at + INBAND_MAC_SIZE, on_command, ctx);
        }
    }
    size_t undecided = len - start < S_HELD_MAX ? start : len - S_HELD_MAX;
    memcpy (self->held, data + undecided, len - undecided);
    self->nheld = len - undecided;
    *pos = len;
    s_data (on_data, ctx, data + start, undecided - start);
    return 0;
}

int
inband_rx_feed (inband_rx_t *self, const uint8_t *data, size_t len,
                inband_data_fn *on_data, inband_command_fn *on_command, void *ctx)
{
    assert (self);
    assert (on_data);
    if (self->broken)
        return -1;
    inband_rx_flush (self, on_data, ctx);

    size_t pos = 0;
    int rc = 0;
    if (self->tapping && self->nheld)
        rc = s_scan_held (self, data, len, &pos, on_data, on_command, ctx);
    //  Tapping is looked at again after each command: on_command may change it.
    while (rc == 0 && pos < len) {
        if (self->tapping)
            rc = s_scan (self, data, len, &pos, on_data, on_command, ctx);
        else {
            on_data (ctx, data + pos, len - pos);
            pos = len;
        }
    }
    if (rc != 0)
        self->broken = true;
    return rc;
}


//  --- Node: the scanner, borrowed by a stack while its owner taps

static void
s_tap_data (void *ctx, const uint8_t *data, size_t len)
{
    const node_out_t *out = (const node_out_t *) ctx;
    //  The bytes are the input passed on, or the scanner's own held ones:
    //  either way the driver copies what is not its own memory.
    out->data (out->ctx, NODE_INNER, (uint8_t *) data, len, 0);
}

static int
s_tap_command (void *ctx, inband_cmd_t cmd, uint16_t port)
{
    const node_out_t *out = (const node_out_t *) ctx;
    (void) port;
    out->event (out->ctx, NODE_COMMAND, (uint64_t) cmd);
    return 0;
}

static int
s_tap_recv (void *state, node_side_t from, uint8_t *data, size_t len, unsigned flags,
            const node_out_t *out)
{
    if (from == NODE_INNER) {
        out->data (out->ctx, NODE_OUTER, data, len, flags);
        return 0;
    }
    return inband_rx_feed ((inband_rx_t *) state, data, len, s_tap_data, s_tap_command,
                           (void *) out);
}

static void
s_tap_flush (void *state, node_side_t toward, const node_out_t *out)
{
    if (toward != NODE_INNER)
        return;
    inband_rx_set_tapping ((inband_rx_t *) state, false);
    inband_rx_flush ((inband_rx_t *) state, s_tap_data, (void *) out);
}

const node_class_t inband_tap_class = {
    .name = "inband",
    .destroy = NULL,            //  the scanner stays its owner's
    .recv = s_tap_recv,
    .flush = s_tap_flush,
};
