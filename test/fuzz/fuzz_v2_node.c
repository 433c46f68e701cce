/*  fuzz_v2_node — the v2 record layer as a node (nodes/v2_node.h), receiving.

    Input: a header byte (bit 0: the suite; bit 1: one bit of the sealed
    stream, chosen by the next two bytes, is flipped), a split seed, then
    operations, each a byte: its low 3 bits the record (0 DATA, 1 PADDING,
    2 COMMAND, 3 END, 4 a record of the next byte's type, 5-7 raw bytes not
    sealed at all), the rest with the next byte a length; its body follows.
    The records are sealed with the sender's direction at record 1, as a
    client's are after its first flight; a server's node opens them.

    Checks, the stream fed in pieces: the bytes the node delivers inward
    are exactly the DATA bodies of the records before the first one that
    is not a well-formed record in its place (a flipped bit, an unknown
    type, a bad COMMAND or END, raw bytes, anything after END) — never a
    wrong byte, never one of a broken record; commands come in order; the
    node reports an error once such a record is whole, and then passes
    nothing on; NODE_ENDED comes exactly for a valid END.
*/
#include "nodes/v2_node.h"
#include "nodes/v2_keys.h"
#include "test/fuzz/fuzz_common.h"

static const uint8_t s_c2s[V2_DIR_KEY_SIZE] = "fuzz v2 node: the c2s key, 64 bytes of aead and mask keys......";
static const uint8_t s_s2c[V2_DIR_KEY_SIZE] = "fuzz v2 node: the s2c key, 64 bytes of aead and mask keys......";
static const uint8_t s_hk[V2_HK_SIZE] = "fuzz v2 node: the handover key.";

typedef struct {
    uint8_t *in;            //  bytes delivered inward
    size_t in_len;
    uint8_t commands[4096];
    size_t command_count;
    int ended;
} s_sink_t;

static void
s_data (void *ctx, node_side_t to, uint8_t *data, size_t len, unsigned flags)
{
    s_sink_t *sink = ctx;
    (void) flags;
    if (to != NODE_INNER)
        return;                     //  a server's node answers nothing here
    memcpy (sink->in + sink->in_len, data, len);
    sink->in_len += len;
}

static void
s_event (void *ctx, node_event_t event, uint64_t value)
{
    s_sink_t *sink = ctx;
    if (event == NODE_COMMAND && sink->command_count < sizeof sink->commands)
        sink->commands[sink->command_count++] = (uint8_t) value;
    if (event == NODE_ENDED)
        sink->ended++;
}

//  One record of the stream as made: where it starts and whether it is
//  well-formed in its place (and so what it delivers).
typedef struct {
    size_t at, end;
    bool good;
    bool sealed;            //  a real record (else raw bytes)
    size_t data_len;        //  DATA body bytes it delivers
    int command;            //  the code it reports, or -1
    bool is_end;
} s_record_t;

#define S_MAX_RECORDS 512

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    fuzz_in_t in = fuzz_in (data, size);
    uint8_t header = fuzz_u8 (&in);
    v2_suite_t suite = (header & 1) ? V2_CHACHA20_POLY1305 : V2_AES_256_GCM;
    uint16_t flip = fuzz_u16 (&in);
    uint8_t seed = fuzz_u8 (&in);

    //  The sender's direction at record 1, and the receiver's the same way.
    v2_dir_t *tx = v2_dir_new (suite, s_c2s);
    v2_dir_t *rx = v2_dir_new (suite, s_c2s);
    v2_dir_t *back = v2_dir_new (suite, s_s2c);
    FUZZ_CHECK (tx && rx && back);
    uint8_t scratch[V2_OVERHEAD + 256];
    uint8_t zero = 0;
    FUZZ_CHECK (v2_seal (tx, V2_HELLO, &zero, 1, scratch) > 0);
    FUZZ_CHECK (v2_seal (rx, V2_HELLO, &zero, 1, scratch) > 0);   //  advances rx to 1 too
    FUZZ_CHECK (v2_seal (back, V2_HELLO, &zero, 1, scratch) > 0);

    size_t cap = 64 + 2 * size + S_MAX_RECORDS * (V2_OVERHEAD + 2);
    uint8_t *stream = malloc (cap);
    uint8_t *expect = malloc (size + 1);
    size_t len = 0, expect_len = 0;
    s_record_t records[S_MAX_RECORDS];
    size_t count = 0;
    bool ended = false;
    while (fuzz_more (&in) && count < S_MAX_RECORDS) {
        uint8_t op = fuzz_u8 (&in);
        size_t body_len = ((size_t) (op >> 3) << 8 | fuzz_u8 (&in)) % 1024;
        const uint8_t *body;
        body_len = fuzz_bytes (&in, body_len, &body);
        unsigned kind = op & 7;
        if (kind > 4 && body_len == 0)
            continue;               //  no raw bytes: no record
        s_record_t *r = &records[count++];
        *r = (s_record_t) { .at = len, .command = -1, .sealed = kind <= 4 };
        uint8_t type = kind == 0 ? V2_DATA : kind == 1 ? V2_PADDING
                     : kind == 2 ? V2_COMMAND : kind == 3 ? V2_END : 0;
        if (kind == 4)
            type = body_len ? body[0] : 0x7f;
        if (kind <= 4) {
            int n = v2_seal (tx, type, body, body_len, stream + len);
            FUZZ_CHECK (n == (int) v2_record_size (body_len));
            len += (size_t) n;
        }
        else {
            memcpy (stream + len, body, body_len);
            len += body_len;
        }
        r->end = len;
        if (kind <= 4 && !ended) {
            //  what the spec makes of it (docs/PROTOCOL-v2.md section 3)
            if (type == V2_DATA) {
                r->good = true;
                r->data_len = body_len;
            }
            else if (type == V2_PADDING)
                r->good = true;
            else if (type == V2_COMMAND && body_len >= 1) {
                r->good = true;
                r->command = body[0];
            }
            else if (type == V2_END && body_len == 0)
                r->good = r->is_end = true;
        }
        if (r->good && r->data_len) {
            memcpy (expect + expect_len, body, r->data_len);
            expect_len += r->data_len;
        }
        if (r->is_end)
            ended = true;
    }
    bool flipped = (header & 2) && len > 0;
    size_t flip_at = flipped ? flip / 8 % len : 0;
    if (flipped)
        stream[flip_at] ^= (uint8_t) (1u << (flip % 8));

    //  The first record that cannot pass: broken by the flip, or not well-formed.
    size_t first_bad = count, want = 0, want_commands = 0;
    int want_ended = 0;
    bool bad_hit = false;
    for (size_t i = 0; i < count; i++) {
        bool hit = flipped && flip_at >= records[i].at && flip_at < records[i].end;
        if (!records[i].good || hit) {
            first_bad = i;
            bad_hit = hit;
            break;
        }
        want += records[i].data_len;
        want_commands += records[i].command >= 0;
        want_ended += records[i].is_end;
    }

    v2_node_t *node = v2_node_new_server (back, rx, s_hk);
    FUZZ_CHECK (node);
    s_sink_t sink = { .in = malloc (len + 1) };
    node_out_t out = { s_data, s_event, &sink };
    fuzz_split_t split = fuzz_split (seed);
    size_t pos = 0;
    int rc = 0;
    while (pos < len && rc == 0) {
        size_t piece = fuzz_split_next (&split, len - pos);
        uint8_t *copy = fuzz_dup (stream + pos, piece);
        rc = v2_node_class.recv (node, NODE_OUTER, copy, piece, 0, &out);
        free (copy);
        pos += piece;
        FUZZ_CHECK (sink.in_len <= want);
    }
    //  Never a wrong byte, and all of the good ones.
    FUZZ_CHECK (memcmp (sink.in, expect, sink.in_len) == 0);
    FUZZ_CHECK (sink.in_len == want);
    FUZZ_CHECK (sink.command_count == want_commands || want_commands > sizeof sink.commands);
    for (size_t i = 0, c = 0; i < first_bad && c < sink.command_count; i++)
        if (records[i].command >= 0)
            FUZZ_CHECK (sink.commands[c++] == (uint8_t) records[i].command);
    FUZZ_CHECK (sink.ended == want_ended);
    if (first_bad == count)
        FUZZ_CHECK (rc == 0);
    else if (records[first_bad].sealed && !bad_hit)
        FUZZ_CHECK (rc == -1);      //  authentic but out of place: refused once whole
    //  (a flipped length or raw bytes may instead ask for more than came)
    void *state = node;
    v2_node_class.destroy (&state);
    v2_dir_destroy (&tx);
    free (sink.in);
    free (stream);
    free (expect);
    return 0;
}
