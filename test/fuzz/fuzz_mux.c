/*  fuzz_mux — the aggregated-mode mux decoder and id allocator (nodes/mux.h).

    Input: a mode byte. Even: the decoder; then a split seed, a pause seed
    and the stream. Odd: the id allocator; then operations (alloc, release,
    lookup) two or three bytes each.

    Decoder checks: a feed returns at most its length, all of it unless a
    callback paused (then mux_decoder_paused); payload pieces are non-empty
    and point into the caller's input; a NOP payload is at most 255 bytes;
    the offset counts exactly the bytes consumed; after -1 there is a
    reason, the offset is the bad byte's and every later feed returns -1
    without a callback; the stream fed whole and fed in pieces with pauses
    gives the same events (payload pieces of one frame joined) and the same
    end; re-encoding those events with the encoder (mux_encode_*) decodes
    to the same events (round trip), and mux_data_frames_size is the size
    of what mux_encode_data wrote.

    Allocator checks, against a model bitmap: each id is the first free one
    after the previous (1 first), -1 only when all 65536 are in use; count
    and in_use agree with the model.
*/
#include "nodes/mux.h"
#include "test/fuzz/fuzz_common.h"

//  --- What a decoder said, with the payload pieces of one frame joined

typedef struct {
    uint8_t kind;           //  0 new, 1 close, 2 data, 3 nop
    uint16_t id;            //  the reserved field for a nop
    size_t off, len;        //  its payload in bytes
} s_event_t;

typedef struct {
    s_event_t *ev;
    size_t count, cap;
    uint8_t *bytes;
    size_t nbytes, bcap;
    //  for the checks during a feed
    const uint8_t *in;
    size_t in_len;
    bool stopped_once;      //  a callback ran after the decoder broke
    bool broken;
    fuzz_split_t pause;     //  seed 0: never pause
    size_t payload;         //  payload bytes delivered
} s_log_t;

static void
s_add (s_log_t *log, uint8_t kind, uint16_t id, const uint8_t *data, size_t len, bool join)
{
    FUZZ_CHECK (!log->broken);
    if (log->bcap < log->nbytes + len) {
        log->bcap = (log->nbytes + len) * 2;
        log->bytes = realloc (log->bytes, log->bcap);
    }
    if (len)
        memcpy (log->bytes + log->nbytes, data, len);
    if (join && log->count && log->ev [log->count - 1].kind == kind
    &&  log->ev [log->count - 1].id == id) {
        log->ev [log->count - 1].len += len;
    }
    else {
        if (log->count == log->cap) {
            log->cap = log->cap ? log->cap * 2 : 16;
            log->ev = realloc (log->ev, log->cap * sizeof *log->ev);
        }
        log->ev [log->count++] = (s_event_t) { kind, id, log->nbytes, len };
    }
    log->nbytes += len;
}

static int
s_verdict (s_log_t *log)
{
    if (log->pause.seed == 0)
        return MUX_CONTINUE;
    return fuzz_split_next (&log->pause, 4) == 1 ? MUX_PAUSE : MUX_CONTINUE;
}

static int
s_on_new (void *ctx, uint16_t id)
{
    s_add (ctx, 0, id, NULL, 0, false);
    return s_verdict (ctx);
}

static int
s_on_close (void *ctx, uint16_t id)
{
    s_add (ctx, 1, id, NULL, 0, false);
    return s_verdict (ctx);
}

static int
s_on_data (void *ctx, uint16_t id, const uint8_t *data, size_t len)
{
    s_log_t *log = ctx;
    FUZZ_CHECK (len >= 1);
    FUZZ_CHECK (data >= log->in && data + len <= log->in + log->in_len);
    log->payload += len;
    //  a data event of the same id right after another joins it: frames of
    //  one id in a row are one payload, however they were cut
    s_add (log, 2, id, data, len, true);
    return s_verdict (log);
}

static int
s_on_nop (void *ctx, uint16_t reserved, const uint8_t *data, size_t len)
{
    s_log_t *log = ctx;
    FUZZ_CHECK (len <= MUX_PADDING_MAX);
    log->payload += len;
    s_add (log, 3, reserved, data, len, false);
    return s_verdict (log);
}

static const mux_callbacks_t s_callbacks = { s_on_new, s_on_close, s_on_data, s_on_nop };

typedef struct {
    bool broken;
    uint64_t offset;        //  bytes consumed, or where it broke
    bool idle;
} s_end_t;

static s_end_t
s_decode (const uint8_t *data, size_t len, uint8_t split_seed, uint8_t pause_seed, s_log_t *log)
{
    memset (log, 0, sizeof *log);
    log->pause = fuzz_split (pause_seed);
    mux_decoder_t *dec = mux_decoder_new ();
    FUZZ_CHECK (dec);
    fuzz_split_t split = fuzz_split (split_seed);
    size_t pos = 0;
    s_end_t end = { false, 0, true };
    while (pos < len) {
        size_t piece = fuzz_split_next (&split, len - pos);
        uint8_t *copy = fuzz_dup (data + pos, piece);
        size_t at = 0;
        while (at < piece) {
            log->in = copy + at;
            log->in_len = piece - at;
            ssize_t n = mux_decoder_feed (dec, copy + at, piece - at, &s_callbacks, log);
            if (n < 0) {
                FUZZ_CHECK (mux_decoder_error (dec) && *mux_decoder_error (dec));
                uint64_t bad = mux_decoder_offset (dec);
                FUZZ_CHECK (bad >= pos + at && bad < pos + piece);
                FUZZ_CHECK (data [bad] > MUX_CMD_SMALL_DATA);
                log->broken = true;
                //  broken for good: nothing is called, -1 again
                FUZZ_CHECK (mux_decoder_feed (dec, copy, piece, &s_callbacks, log) == -1);
                FUZZ_CHECK (mux_decoder_feed (dec, (const uint8_t *) "\0\0\0\0", 4,
                                              &s_callbacks, log) == -1);
                FUZZ_CHECK (mux_decoder_offset (dec) == bad);
                end.broken = true;
                end.offset = bad;
                end.idle = false;
                free (copy);
                mux_decoder_destroy (&dec);
                return end;
            }
            FUZZ_CHECK ((size_t) n <= piece - at);
            if (mux_decoder_paused (dec))
                FUZZ_CHECK (pause_seed != 0);
            else
                FUZZ_CHECK ((size_t) n == piece - at);
            FUZZ_CHECK (mux_decoder_error (dec) == NULL);
            at += (size_t) n;
            FUZZ_CHECK (mux_decoder_offset (dec) == pos + at);
        }
        free (copy);
        pos += piece;
    }
    FUZZ_CHECK (log->payload <= len);
    end.offset = mux_decoder_offset (dec);
    end.idle = mux_decoder_idle (dec);
    mux_decoder_destroy (&dec);
    return end;
}

static void
s_same (const s_log_t *a, const s_log_t *b)
{
    FUZZ_CHECK (a->count == b->count);
    for (size_t i = 0; i < a->count; i++) {
        FUZZ_CHECK (a->ev [i].kind == b->ev [i].kind && a->ev [i].id == b->ev [i].id);
        FUZZ_CHECK (a->ev [i].len == b->ev [i].len);
        if (a->ev [i].len)
            FUZZ_CHECK (memcmp (a->bytes + a->ev [i].off, b->bytes + b->ev [i].off,
                                a->ev [i].len) == 0);
    }
}

static void
s_free (s_log_t *log)
{
    free (log->ev);
    free (log->bytes);
}

static void
s_decoder (fuzz_in_t in)
{
    uint8_t split_seed = fuzz_u8 (&in);
    uint8_t pause_seed = fuzz_u8 (&in);
    s_log_t whole, pieces, again;
    s_end_t e1 = s_decode (in.p, in.n, 0, 0, &whole);
    s_end_t e2 = s_decode (in.p, in.n, split_seed, pause_seed, &pieces);
    FUZZ_CHECK (e1.broken == e2.broken && e1.offset == e2.offset && e1.idle == e2.idle);
    if (!e1.broken)
        FUZZ_CHECK (e1.offset == in.n);
    s_same (&whole, &pieces);

    //  round trip through the encoder
    mux_out_t *out = mux_out_new ();
    for (size_t i = 0; i < whole.count; i++) {
        const s_event_t *ev = &whole.ev [i];
        const uint8_t *payload = whole.bytes ? whole.bytes + ev->off : (const uint8_t *) "";
        size_t before = mux_out_size (out);
        switch (ev->kind) {
            case 0: mux_encode_new_socket (out, ev->id); break;
            case 1: mux_encode_close (out, ev->id); break;
            case 2:
                mux_encode_data (out, ev->id, payload, ev->len);
                FUZZ_CHECK (mux_out_size (out) - before == mux_data_frames_size (ev->len));
                break;
            case 3: {
                uint8_t h [4] = { 0, (uint8_t) (ev->id >> 8), (uint8_t) ev->id, (uint8_t) ev->len };
                mux_out_append (out, h, 4);
                mux_out_append (out, payload, ev->len);
                break;
            }
        }
    }
    size_t n = mux_out_size (out);
    uint8_t *encoded = fuzz_dup (mux_out_data (out), n);
    s_end_t e3 = s_decode (encoded, n, split_seed, 0, &again);
    FUZZ_CHECK (!e3.broken && e3.idle && e3.offset == n);
    s_same (&whole, &again);
    free (encoded);
    mux_out_destroy (&out);
    s_free (&whole);
    s_free (&pieces);
    s_free (&again);
}

static void
s_ids (fuzz_in_t in)
{
    static uint8_t model [MUX_IDS];
    memset (model, 0, sizeof model);
    size_t count = 0;
    uint16_t last = 0;
    mux_ids_t *ids = mux_ids_new ();
    for (int ops = 0; fuzz_more (&in) && ops < 4096; ops++) {
        uint8_t op = fuzz_u8 (&in);
        if (op < 160) {
            //  alloc, op/8 + 1 times (fills up fast enough to reach the end)
            for (int k = 0; k <= op / 8; k++) {
                int expect = -1;
                for (uint32_t step = 1; step <= MUX_IDS && count < MUX_IDS; step++) {
                    uint16_t cand = (uint16_t) (last + step);
                    if (!model [cand]) {
                        expect = cand;
                        break;
                    }
                }
                int id = mux_ids_alloc (ids);
                FUZZ_CHECK (id == expect);
                if (id >= 0) {
                    model [id] = 1;
                    count++;
                    last = (uint16_t) id;
                }
            }
        }
        else
        if (op < 240) {
            uint16_t id = fuzz_u16 (&in);
            if (op & 1)
                id = (uint16_t) (last - (id & 0xff));     //  near the last one, mostly in use
            mux_ids_release (ids, id);
            if (model [id]) {
                model [id] = 0;
                count--;
            }
        }
        else {
            uint16_t id = fuzz_u16 (&in);
            FUZZ_CHECK (mux_ids_in_use (ids, id) == (model [id] != 0));
        }
        FUZZ_CHECK (mux_ids_count (ids) == count);
    }
    mux_ids_destroy (&ids);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    fuzz_in_t in = fuzz_in (data, size);
    uint8_t mode = fuzz_u8 (&in);
    if (mode & 1)
        s_ids (in);
    else
        s_decoder (in);
    return 0;
}
