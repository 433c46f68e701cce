/*  fuzz_inband — the in-band command scanner (nodes/inband.h).

    Input: a header byte (low 2 bits: the key, 16, 24 or 32 bytes; bit 2:
    tapping from the start and never changed), then operations: feed raw
    bytes, feed a valid command (inband_encode of command bytes from the
    input, in two pieces), toggle tapping, flush. Each command callback
    takes a byte of the input: bit 0 toggles tapping, 0xFF fails the feed.

    Checks, against the stream of every byte fed: the data delivered is the
    stream in order with only whole 16-byte commands taken out, each one
    with a valid MAC and a CMD that parses, and its commands reported in
    order with their ports; nothing is delivered while commands of a block
    are pending; at most 15 bytes are held, none while not tapping once
    flushed, and stopping + flushing at the end accounts for every byte;
    with tapping always on, no data offset starts a valid command (the
    scanner misses none); after a failed feed every feed returns -1 at
    once without a callback.
*/
#include "nodes/inband.h"
#include "nodes/wirecrypto.h"
#include "test/fuzz/fuzz_common.h"
#include "test/unit/test_keys.h"


typedef struct {
    inband_rx_t *rx;
    const uint8_t *key;
    size_t keylen;
    fuzz_in_t *in;
    bool constant;              //  tapping always on
    bool broken;
    uint8_t *stream;            //  every byte fed
    size_t len, cap;
    size_t cursor;              //  stream bytes accounted for (data or commands)
    uint8_t *is_data;           //  per stream byte: delivered as data
    uint8_t pending [INBAND_CMD_SIZE];  //  commands of the current block still to come
    uint16_t pending_port [INBAND_CMD_SIZE];
    size_t npending, next;
    //  where delivered data lies in the stream: in the buffer being fed, or
    //  the held bytes (the stream's tail before it)
    const uint8_t *feed;
    size_t feed_len, feed_base, held_base;
} s_ctx_t;

//  The commands of a CMD as the scanner would report them; false if it
//  does not parse.
static bool
s_parse_cmd (const uint8_t *cmd, uint8_t *cmds, uint16_t *ports, size_t *n)
{
    size_t at = 0;
    *n = 0;
    while (at < INBAND_CMD_SIZE) {
        uint8_t c = cmd [at];
        if (c == INBAND_NOP)
            return true;
        if (c == INBAND_HO_L2R) {
            if (at + 3 > INBAND_CMD_SIZE)
                return false;
            ports [*n] = (uint16_t) (cmd [at + 1] << 8 | cmd [at + 2]);
            cmds [(*n)++] = c;
            at += 3;
        }
        else
        if (c >= INBAND_HO_R2L && c <= INBAND_HO_COMPLETE_L2R) {
            ports [*n] = 0;
            cmds [(*n)++] = c;
            at += 1;
        }
        else
            return false;
    }
    return true;
}

//  Whether the 16 bytes at p are a command; its commands in cmds.
static bool
s_is_command (s_ctx_t *c, const uint8_t *p, uint8_t *cmds, uint16_t *ports, size_t *n)
{
    if (!s_parse_cmd (p + INBAND_MAC_SIZE, cmds, ports, n))
        return false;
    uint8_t mac [INBAND_MAC_SIZE];
    FUZZ_CHECK (wire_hmac (c->key, c->keylen, p + INBAND_MAC_SIZE, INBAND_CMD_SIZE, mac,
                           sizeof mac) == 0);
    return memcmp (mac, p, INBAND_MAC_SIZE) == 0;
}

//  The command block at the cursor: its commands become pending.
static void
s_take_block (s_ctx_t *c)
{
    FUZZ_CHECK (c->cursor + INBAND_SIZE <= c->len);
    FUZZ_CHECK (s_is_command (c, c->stream + c->cursor, c->pending, c->pending_port, &c->npending));
    c->next = 0;
    c->cursor += INBAND_SIZE;
}

static bool
s_matches (s_ctx_t *c, const uint8_t *data, size_t len)
{
    return c->cursor + len <= c->len && memcmp (c->stream + c->cursor, data, len) == 0;
}

static void
s_on_data (void *ctx, const uint8_t *data, size_t len)
{
    s_ctx_t *c = ctx;
    FUZZ_CHECK (!c->broken);
    FUZZ_CHECK (len >= 1);
    FUZZ_CHECK (c->next == c->npending);       //  no data inside a block's commands
    //  the data's place in the stream: the memory being fed, or held bytes
    size_t at;
    if (c->feed && data >= c->feed && data < c->feed + c->feed_len) {
        FUZZ_CHECK (data + len <= c->feed + c->feed_len);
        at = c->feed_base + (size_t) (data - c->feed);
    }
    else {
        FUZZ_CHECK (len <= INBAND_SIZE - 1);
        at = c->held_base;
        c->held_base += len;
    }
    //  what lies before it can only be blocks of NOPs, taken out silently
    FUZZ_CHECK (at >= c->cursor);
    while (c->cursor < at) {
        s_take_block (c);
        FUZZ_CHECK (c->npending == 0);
    }
    FUZZ_CHECK (c->cursor == at);
    FUZZ_CHECK (s_matches (c, data, len));
    memset (c->is_data + c->cursor, 1, len);
    c->cursor += len;
}

static int
s_on_command (void *ctx, inband_cmd_t cmd, uint16_t port)
{
    s_ctx_t *c = ctx;
    FUZZ_CHECK (!c->broken);
    if (c->next == c->npending) {
        //  a new block: skip silent ones up to it
        do
            s_take_block (c);
        while (c->npending == 0);
    }
    FUZZ_CHECK ((uint8_t) cmd == c->pending [c->next]);
    FUZZ_CHECK (port == c->pending_port [c->next]);
    c->next++;
    uint8_t what = fuzz_u8 (c->in);
    if (what == 0xFF)
        return -1;
    if ((what & 1) && !c->constant)
        inband_rx_set_tapping (c->rx, !inband_rx_tapping (c->rx));
    return 0;
}

static void
s_feed (s_ctx_t *c, const uint8_t *data, size_t len)
{
    FUZZ_CHECK (c->len + len <= c->cap);
    if (!c->broken) {
        memcpy (c->stream + c->len, data, len);
        c->len += len;
    }
    uint8_t *copy = fuzz_dup (data, len);
    bool was_broken = c->broken;
    c->feed = copy;
    c->feed_len = len;
    c->feed_base = c->len - len;
    c->held_base = c->feed_base - inband_rx_held (c->rx);
    int rc = inband_rx_feed (c->rx, copy, len, s_on_data, s_on_command, c);
    c->feed = NULL;
    free (copy);
    if (was_broken)
        FUZZ_CHECK (rc == -1);
    if (rc != 0)
        c->broken = true;
    FUZZ_CHECK (inband_rx_held (c->rx) <= INBAND_SIZE - 1);
    if (!c->broken)
        FUZZ_CHECK (c->next == c->npending);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    fuzz_in_t in = fuzz_in (data, size);
    uint8_t header = fuzz_u8 (&in);
    static const uint8_t *keys [] = { KEY16, KEY24, KEY32, KEY16 };
    static const size_t lens [] = { 16, 24, 32, 16 };
    s_ctx_t c = { .key = keys [header & 3], .keylen = lens [header & 3], .in = &in,
                  .constant = header & 4 };
    c.rx = inband_rx_new (c.key, c.keylen);
    FUZZ_CHECK (c.rx);
    FUZZ_CHECK (inband_rx_new (c.key, 15) == NULL);
    //  each input byte feeds at most 16 (a command from one op byte)
    c.cap = size * INBAND_SIZE + INBAND_SIZE;
    c.stream = malloc (c.cap);
    c.is_data = calloc (1, c.cap);
    if (c.constant)
        inband_rx_set_tapping (c.rx, true);

    while (fuzz_more (&in)) {
        uint8_t op = fuzz_u8 (&in);
        switch (op % 8) {
            case 0: case 1: case 2: case 3: {
                const uint8_t *bytes;
                size_t n = fuzz_bytes (&in, op / 8, &bytes);
                s_feed (&c, bytes, n);
                break;
            }
            case 4: case 5: {
                const uint8_t *cmds;
                size_t n = fuzz_bytes (&in, (op / 8) % 9, &cmds);
                uint8_t block [INBAND_SIZE];
                FUZZ_CHECK (inband_encode (c.key, c.keylen, cmds, n, block) == 0);
                size_t cut = (size_t) (op / 72) * 5 % INBAND_SIZE;
                s_feed (&c, block, cut);
                s_feed (&c, block + cut, INBAND_SIZE - cut);
                break;
            }
            case 6:
                if (!c.constant)
                    inband_rx_set_tapping (c.rx, !inband_rx_tapping (c.rx));
                break;
            case 7:
                c.held_base = c.len - inband_rx_held (c.rx);
                if (!c.broken)
                    inband_rx_flush (c.rx, s_on_data, &c);
                if (!inband_rx_tapping (c.rx) && !c.broken)
                    FUZZ_CHECK (inband_rx_held (c.rx) == 0);
                break;
        }
    }
    FUZZ_CHECK (inband_encode (c.key, c.keylen, (const uint8_t *) "123456789", 9,
                               (uint8_t [INBAND_SIZE]) { 0 }) == -1);
    if (!c.broken) {
        bool was_tapping = inband_rx_tapping (c.rx);
        inband_rx_set_tapping (c.rx, false);
        c.held_base = c.len - inband_rx_held (c.rx);
        inband_rx_flush (c.rx, s_on_data, &c);
        FUZZ_CHECK (inband_rx_held (c.rx) == 0);
        //  what is left are blocks of NOPs only, or nothing
        while (c.cursor < c.len) {
            s_take_block (&c);
            FUZZ_CHECK (c.npending == 0);
        }
        if (c.constant) {
            //  tapping all along: no data byte starts a command (the held
            //  tail at the end was never decided)
            uint8_t cmds [8];
            uint16_t ports [8];
            size_t n;
            size_t decided = was_tapping && c.len >= INBAND_SIZE - 1 ? c.len - (INBAND_SIZE - 1) : c.len;
            for (size_t i = 0; i + INBAND_SIZE <= c.len && i < decided; i++)
                if (c.is_data [i])
                    FUZZ_CHECK (!s_is_command (&c, c.stream + i, cmds, ports, &n));
        }
    }
    else {
        c.in = &(fuzz_in_t) { NULL, 0 };
        FUZZ_CHECK (inband_rx_feed (c.rx, (const uint8_t *) "x", 1, s_on_data, s_on_command, &c) == -1);
    }
    inband_rx_destroy (&c.rx);
    free (c.stream);
    free (c.is_data);
    return 0;
}
