/*  test_mux — the aggregated-mode mux codec: golden vectors from an
    independent Python encoder, the zero-copy header path, split invariance of
    the decoder (every 2- and 3-way split, byte by byte), random round trips,
    unknown commands, truncated frames, pause and resume, and the id
    allocator (order, skipping, wrap-around, exhaustion).
*/
#include <check.h>

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nodes/mux.h"
#include "test/support/check_run.h"

//  --- Helpers

static uint8_t *
s_pattern (size_t len)
{
    uint8_t *data = (uint8_t *) malloc (len ? len : 1);
    ck_assert_ptr_nonnull (data);
    for (size_t i = 0; i < len; i++)
        data[i] = (uint8_t) (i % 251);
    return data;
}

static void
s_sha256_hex (const uint8_t *data, size_t len, char hex[65])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int md_len = 0;
    ck_assert_int_eq (EVP_Digest (data, len, md, &md_len, EVP_sha256 (), NULL), 1);
    ck_assert_uint_eq (md_len, 32);
    for (unsigned int i = 0; i < md_len; i++)
        snprintf (hex + 2 * i, 3, "%02x", md[i]);
}

//  Deterministic generator, so every run sees the same "random" streams.
static uint64_t
s_rand (uint64_t *state)
{
    uint64_t x = *state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *state = x;
}

static size_t
s_rand_below (uint64_t *state, size_t n)
{
    return (size_t) (s_rand (state) % n);
}

//  Assertions for hot loops: Check's ck_assert_* report every passing check
//  to the parent process (a system call each), which makes loops over
//  hundreds of thousands of bytes crawl; these only speak up on failure.
#define S_CHECK(cond) \
    do { if (!(cond)) ck_abort_msg ("assertion failed: %s", #cond); } while (0)
#define S_EQ(a, b) \
    do { \
        long long a_ = (long long) (a), b_ = (long long) (b); \
        if (a_ != b_) \
            ck_abort_msg ("assertion failed: %s == %s (%lld != %lld)", #a, #b, a_, b_); \
    } while (0)


//  --- Event recorder: what a decoder delivered, with the payload of
//  consecutive on_data calls for the same id merged, so that the record does
//  not depend on how the stream was split.

typedef enum { EV_NEW, EV_CLOSE, EV_DATA } ev_kind_t;

typedef struct {
    ev_kind_t kind;
    uint16_t id;
    size_t off, len;            //  EV_DATA: payload in rec_t.bytes
} ev_t;

typedef struct {
    ev_t *events;
    size_t count, events_cap;
    uint8_t *bytes;
    size_t size, bytes_cap;
    size_t calls;               //  callbacks received
    size_t pause_every;         //  pause on every n-th callback (0: never)
    uint64_t *pause_rng;        //  or at random, one call in four
} rec_t;

static void
s_rec_free (rec_t *rec)
{
    free (rec->events);
    free (rec->bytes);
    memset (rec, 0, sizeof *rec);
}

static void
s_rec_event (rec_t *rec, ev_kind_t kind, uint16_t id)
{
    if (rec->count == rec->events_cap) {
        rec->events_cap = rec->events_cap ? 2 * rec->events_cap : 64;
        rec->events = (ev_t *) realloc (rec->events, rec->events_cap * sizeof (ev_t));
        ck_assert_ptr_nonnull (rec->events);
    }
    rec->events[rec->count++] = (ev_t) { kind, id, rec->size, 0 };
}

static void
s_rec_data (rec_t *rec, uint16_t id, const uint8_t *data, size_t len)
{
    ev_t *last = rec->count ? &rec->events[rec->count - 1] : NULL;
    if (!last || last->kind != EV_DATA || last->id != id) {
        s_rec_event (rec, EV_DATA, id);
        last = &rec->events[rec->count - 1];
    }
    if (rec->bytes_cap - rec->size < len) {
        while (rec->bytes_cap - rec->size < len)
            rec->bytes_cap = rec->bytes_cap ? 2 * rec->bytes_cap : 4096;
        rec->bytes = (uint8_t *) realloc (rec->bytes, rec->bytes_cap);
        ck_assert_ptr_nonnull (rec->bytes);
    }
    memcpy (rec->bytes + rec->size, data, len);
    rec->size += len;
    last->len += len;
}

static int
s_rec_answer (rec_t *rec)
{
    rec->calls++;
    if (rec->pause_every && rec->calls % rec->pause_every == 0)
        return MUX_PAUSE;
    if (rec->pause_rng && s_rand_below (rec->pause_rng, 4) == 0)
        return MUX_PAUSE;
    return MUX_CONTINUE;
}

static int
s_on_new (void *ctx, uint16_t id)
{
    rec_t *rec = (rec_t *) ctx;
    s_rec_event (rec, EV_NEW, id);
    return s_rec_answer (rec);
}

static int
s_on_close (void *ctx, uint16_t id)
{
    rec_t *rec = (rec_t *) ctx;
    s_rec_event (rec, EV_CLOSE, id);
    return s_rec_answer (rec);
}

static int
s_on_data (void *ctx, uint16_t id, const uint8_t *data, size_t len)
{
    S_CHECK (data != NULL);
    S_CHECK (len > 0);
    rec_t *rec = (rec_t *) ctx;
    s_rec_data (rec, id, data, len);
    return s_rec_answer (rec);
}

static const mux_callbacks_t s_callbacks = { s_on_new, s_on_close, s_on_data, NULL };

static void
s_assert_rec_eq (const rec_t *got, const rec_t *want)
{
    S_EQ (got->count, want->count);
    for (size_t i = 0; i < got->count; i++) {
        const ev_t *a = &got->events[i], *b = &want->events[i];
        S_EQ (a->kind, b->kind);
        S_EQ (a->id, b->id);
        S_EQ (a->len, b->len);
        if (a->len)
            S_EQ (memcmp (got->bytes + a->off, want->bytes + b->off, a->len), 0);
    }
}

//  Feed all of data, resuming after pauses as a caller would. Returns len,
//  or -1 on a protocol error.
static ssize_t
s_feed_all (mux_decoder_t *decoder, const uint8_t *data, size_t len, rec_t *rec)
{
    size_t pos = 0;
    do {
        ssize_t n = mux_decoder_feed (decoder, data + pos, len - pos, &s_callbacks, rec);
        if (n < 0) {
            S_CHECK (mux_decoder_error (decoder) != NULL);
            return -1;
        }
        S_CHECK ((size_t) n <= len - pos);
        if (mux_decoder_paused (decoder))
            S_CHECK (n > 0);                //  every event consumes a byte
        else
            S_EQ (n, len - pos);
        S_CHECK (mux_decoder_error (decoder) == NULL);
        pos += (size_t) n;
    } while (pos < len);
    return (ssize_t) len;
}

//  Decode data cut at the given ascending offsets with a fresh decoder.
//  Returns the bytes consumed, or -1 (*error_at: the failing offset).
static ssize_t
s_decode_split (const uint8_t *data, size_t len, const size_t *cuts, size_t ncuts,
                rec_t *rec, uint64_t *error_at)
{
    mux_decoder_t *decoder = mux_decoder_new ();
    ssize_t result = (ssize_t) len;
    size_t start = 0;
    for (size_t i = 0; i <= ncuts; i++) {
        size_t end = i < ncuts ? cuts[i] : len;
        S_CHECK (start <= end);
        if (s_feed_all (decoder, data + start, end - start, rec) < 0) {
            result = -1;
            if (error_at)
                *error_at = mux_decoder_offset (decoder);
            break;
        }
        start = end;
    }
    if (result >= 0)
        S_EQ (mux_decoder_offset (decoder), len);
    mux_decoder_destroy (&decoder);
    return result;
}


//  --- Golden vectors
//
//  Generated by `python3 test/vectors/gen_mux_vectors.py` (struct.pack,
//  independent of mux.c, following the original's send_data/3). The
//  sequence: NEW 1, DATA 1 "hello", DATA 1 with 255 / 256 / 65535 / 65536 /
//  200000 bytes (byte i = i % 251), CLOSE 1, NOP with 3 zero bytes.

static const uint8_t s_vec_new_1[] = { 0x01, 0x00, 0x01 };
static const uint8_t s_vec_hello[] = { 0x04, 0x00, 0x01, 0x05, 0x68, 0x65, 0x6c, 0x6c, 0x6f };
static const uint8_t s_vec_close_1[] = { 0x02, 0x00, 0x01 };
static const uint8_t s_vec_nop_3[] = { 0x00, 0x00, 0x00, 0x03, 0x00, 0x00, 0x00 };

typedef struct {
    size_t payload;             //  bytes of pattern
    size_t wire;                //  length of the frames
    const char *sha256;
    uint8_t head[5];            //  the first header
} s_long_vec_t;

static const s_long_vec_t s_long_vecs[] = {
    { 255, 259, "c1b222fa310fa86c08aff643a880336a85c459f719951a34b7b562dda9cff484",
      { 0x04, 0x00, 0x01, 0xff, 0x00 } },
    { 256, 261, "755a9c033a8a95cf34fd83018569ecfbb436fd9ec72b948e274e1f21a1e4cf9f",
      { 0x03, 0x00, 0x01, 0x01, 0x00 } },
    { 65535, 65540, "c96f6cca8727f4b76191524a37823ca72d7d835d57062b74e7952261f1e5296a",
      { 0x03, 0x00, 0x01, 0xff, 0xff } },
    { 65536, 65545, "2c6acc1648f435af14ff63485caa2dcb6038c800ac5512c091f455c6a01ead79",
      { 0x03, 0x00, 0x01, 0xff, 0xff } },
    { 200000, 200020, "90938e198e927a1f026208e2b08af699cbbd774e456ce995d5ec40154ac3c834",
      { 0x03, 0x00, 0x01, 0xff, 0xff } },
};

#define S_STREAM_LEN 331647
#define S_STREAM_SHA256 "8bd554b60444f17d1c1f2f7c81582e6398260af717f7e0906b6f5f3d24f22706"

//  The vector sequence through the builder.
static mux_out_t *
s_vector_stream (void)
{
    mux_out_t *out = mux_out_new ();
    mux_encode_new_socket (out, 1);
    mux_encode_data (out, 1, (const uint8_t *) "hello", 5);
    for (size_t i = 0; i < sizeof s_long_vecs / sizeof s_long_vecs[0]; i++) {
        uint8_t *data = s_pattern (s_long_vecs[i].payload);
        mux_encode_data (out, 1, data, s_long_vecs[i].payload);
        free (data);
    }
    mux_encode_close (out, 1);
    mux_encode_padding (out, 3, MUX_PAD_ZERO);
    return out;
}

START_TEST (test_vectors_short)
{
    mux_out_t *out = mux_out_new ();
    mux_encode_new_socket (out, 1);
    ck_assert_uint_eq (mux_out_size (out), sizeof s_vec_new_1);
    ck_assert_int_eq (memcmp (mux_out_data (out), s_vec_new_1, sizeof s_vec_new_1), 0);

    mux_out_clear (out);
    mux_encode_data (out, 1, (const uint8_t *) "hello", 5);
    ck_assert_uint_eq (mux_out_size (out), sizeof s_vec_hello);
    ck_assert_int_eq (memcmp (mux_out_data (out), s_vec_hello, sizeof s_vec_hello), 0);

    mux_out_clear (out);
    mux_encode_close (out, 1);
    ck_assert_uint_eq (mux_out_size (out), sizeof s_vec_close_1);
    ck_assert_int_eq (memcmp (mux_out_data (out), s_vec_close_1, sizeof s_vec_close_1), 0);

    mux_out_clear (out);
    mux_encode_padding (out, 3, MUX_PAD_ZERO);
    ck_assert_uint_eq (mux_out_size (out), sizeof s_vec_nop_3);
    ck_assert_int_eq (memcmp (mux_out_data (out), s_vec_nop_3, sizeof s_vec_nop_3), 0);
    mux_out_destroy (&out);
    ck_assert_ptr_null (out);

    //  the caller-memory encoders give the same bytes
    uint8_t frame[MUX_CONTROL_SIZE];
    ck_assert_uint_eq (mux_put_new_socket (frame, 1), 3);
    ck_assert_int_eq (memcmp (frame, s_vec_new_1, 3), 0);
    ck_assert_uint_eq (mux_put_close_socket (frame, 1), 3);
    ck_assert_int_eq (memcmp (frame, s_vec_close_1, 3), 0);
}
END_TEST

START_TEST (test_vectors_long)
{
    for (size_t i = 0; i < sizeof s_long_vecs / sizeof s_long_vecs[0]; i++) {
        const s_long_vec_t *vec = &s_long_vecs[i];
        uint8_t *data = s_pattern (vec->payload);
        mux_out_t *out = mux_out_new ();
        mux_encode_data (out, 1, data, vec->payload);
        ck_assert_uint_eq (mux_out_size (out), vec->wire);
        ck_assert_uint_eq (mux_data_frames_size (vec->payload), vec->wire);
        ck_assert_int_eq (memcmp (mux_out_data (out), vec->head, 5), 0);
        char hex[65];
        s_sha256_hex (mux_out_data (out), mux_out_size (out), hex);
        ck_assert_str_eq (hex, vec->sha256);
        mux_out_destroy (&out);
        free (data);
    }
}
END_TEST

//  Where the pieces of the long payloads start, and their headers.
START_TEST (test_vectors_split_points)
{
    static const struct {
        size_t payload, at;
        uint8_t header[5];
    } points[] = {
        { 65536, 0,      { 0x03, 0x00, 0x01, 0xff, 0xff } },
        { 65536, 65540,  { 0x04, 0x00, 0x01, 0x01, 0x18 } },      //  SMALL_DATA, 1 byte: 65535 % 251
        { 200000, 0,      { 0x03, 0x00, 0x01, 0xff, 0xff } },
        { 200000, 65540,  { 0x03, 0x00, 0x01, 0xff, 0xff } },
        { 200000, 131080, { 0x03, 0x00, 0x01, 0xff, 0xff } },
        { 200000, 196620, { 0x03, 0x00, 0x01, 0x0d, 0x43 } },     //  the last 3395 bytes
    };
    for (size_t i = 0; i < sizeof points / sizeof points[0]; i++) {
        uint8_t *data = s_pattern (points[i].payload);
        mux_out_t *out = mux_out_new ();
        mux_encode_data (out, 1, data, points[i].payload);
        ck_assert_uint_ge (mux_out_size (out), points[i].at + 5);
        ck_assert_int_eq (memcmp (mux_out_data (out) + points[i].at, points[i].header, 5), 0);
        mux_out_destroy (&out);
        free (data);
    }
}
END_TEST

START_TEST (test_vectors_stream)
{
    mux_out_t *out = s_vector_stream ();
    ck_assert_uint_eq (mux_out_size (out), S_STREAM_LEN);
    char hex[65];
    s_sha256_hex (mux_out_data (out), mux_out_size (out), hex);
    ck_assert_str_eq (hex, S_STREAM_SHA256);
    mux_out_destroy (&out);
}
END_TEST


//  --- Encoder details

START_TEST (test_data_header)
{
    static const struct {
        size_t len;
        size_t size;
        uint8_t header[5];
    } cases[] = {
        { 0,     4, { 0x04, 0xab, 0xcd, 0x00 } },
        { 1,     4, { 0x04, 0xab, 0xcd, 0x01 } },
        { 255,   4, { 0x04, 0xab, 0xcd, 0xff } },
        { 256,   5, { 0x03, 0xab, 0xcd, 0x01, 0x00 } },
        { 4660,  5, { 0x03, 0xab, 0xcd, 0x12, 0x34 } },
        { 65535, 5, { 0x03, 0xab, 0xcd, 0xff, 0xff } },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint8_t header[MUX_HEADER_MAX];
        memset (header, 0xEE, sizeof header);
        size_t size = mux_data_header (header, 0xABCD, cases[i].len);
        ck_assert_uint_eq (size, cases[i].size);
        ck_assert_int_eq (memcmp (header, cases[i].header, size), 0);
        if (size == 4)
            ck_assert_uint_eq (header[4], 0xEE);       //  nothing written past the header
    }
}
END_TEST

START_TEST (test_frames_size)
{
    static const size_t cases[][2] = {
        { 0, 0 }, { 1, 5 }, { 255, 259 }, { 256, 261 }, { 65535, 65540 },
        { 65536, 65545 }, { 65535 + 255, 65540 + 259 }, { 65535 + 256, 65540 + 261 },
        { 2 * 65535, 131080 }, { 2 * 65535 + 1, 131085 }, { 200000, 200020 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        ck_assert_uint_eq (mux_data_frames_size (cases[i][0]), cases[i][1]);

    //  and it is what the builder writes
    uint8_t *data = s_pattern (140000);
    mux_out_t *out = mux_out_new ();
    for (size_t len = 0; len < 140000; len += len < 600 ? 1 : 997) {
        mux_out_clear (out);
        mux_encode_data (out, 7, data, len);
        ck_assert_uint_eq (mux_out_size (out), mux_data_frames_size (len));
    }
    mux_out_destroy (&out);
    free (data);
}
END_TEST

//  The zero-copy path (a header per piece of at most MUX_DATA_MAX bytes,
//  then the caller's own payload bytes) gives exactly the builder's frames.
START_TEST (test_header_path_matches_builder)
{
    static const size_t lens[] = { 1, 5, 255, 256, 4096, 65535, 65536, 65535 + 255,
                                   65535 + 256, 200000 };
    for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
        size_t len = lens[i];
        uint8_t *data = s_pattern (len);
        size_t wire = mux_data_frames_size (len);
        uint8_t *frames = (uint8_t *) malloc (wire);
        size_t at = 0;
        for (size_t done = 0; done < len; ) {
            size_t piece = len - done < MUX_DATA_MAX ? len - done : MUX_DATA_MAX;
            at += mux_data_header (frames + at, 0x0102, piece);
            memcpy (frames + at, data + done, piece);
            at += piece;
            done += piece;
        }
        ck_assert_uint_eq (at, wire);
        mux_out_t *out = mux_out_new ();
        mux_encode_data (out, 0x0102, data, len);
        ck_assert_uint_eq (mux_out_size (out), wire);
        ck_assert_int_eq (memcmp (mux_out_data (out), frames, wire), 0);
        mux_out_destroy (&out);
        free (frames);
        free (data);
    }
}
END_TEST

START_TEST (test_empty_data_and_padding)
{
    mux_out_t *out = mux_out_new ();
    mux_encode_data (out, 1, (const uint8_t *) "", 0);          //  the original sends nothing
    ck_assert_uint_eq (mux_out_size (out), 0);

    mux_encode_padding (out, 0, MUX_PAD_ZERO);
    ck_assert_uint_eq (mux_out_size (out), 4);
    static const uint8_t nop0[] = { 0, 0, 0, 0 };
    ck_assert_int_eq (memcmp (mux_out_data (out), nop0, 4), 0);

    mux_out_clear (out);
    mux_encode_padding (out, MUX_PADDING_MAX, MUX_PAD_ZERO);
    ck_assert_uint_eq (mux_out_size (out), 4 + 255);
    ck_assert_uint_eq (mux_out_data (out)[3], 255);
    for (size_t i = 0; i < 259; i++)
        if (i != 3)
            ck_assert_uint_eq (mux_out_data (out)[i], 0);

    //  random padding: a NOP header, then bytes that are not all zero and
    //  differ from one frame to the next (chance of a false failure: 2^-2040)
    mux_out_clear (out);
    mux_encode_padding (out, 255, MUX_PAD_RANDOM);
    mux_encode_padding (out, 255, MUX_PAD_RANDOM);
    ck_assert_uint_eq (mux_out_size (out), 2 * 259);
    const uint8_t *frames = mux_out_data (out);
    static const uint8_t nop255[] = { 0, 0, 0, 255 };
    ck_assert_int_eq (memcmp (frames, nop255, 4), 0);
    ck_assert_int_eq (memcmp (frames + 259, nop255, 4), 0);
    ck_assert_int_ne (memcmp (frames + 4, frames + 259 + 4, 255), 0);
    size_t zeros = 0;
    for (size_t i = 4; i < 259; i++)
        zeros += frames[i] == 0;
    ck_assert_uint_lt (zeros, 255);

    //  a decoder skips all of it
    rec_t rec = { 0 };
    ck_assert_int_eq (s_decode_split (frames, 2 * 259, NULL, 0, &rec, NULL), 2 * 259);
    ck_assert_uint_eq (rec.count, 0);
    ck_assert_uint_eq (rec.calls, 0);
    s_rec_free (&rec);
    mux_out_destroy (&out);
}
END_TEST

//  Once grown, a cleared builder reuses its memory: no allocation per frame.
START_TEST (test_builder_reuse)
{
    uint8_t *data = s_pattern (70000);
    mux_out_t *out = mux_out_new ();
    mux_encode_data (out, 3, data, 70000);
    const uint8_t *memory = mux_out_data (out);
    for (int round = 0; round < 100; round++) {
        mux_out_clear (out);
        ck_assert_uint_eq (mux_out_size (out), 0);
        mux_encode_new_socket (out, 3);
        mux_encode_data (out, 3, data, 60000);
        mux_encode_padding (out, 100, MUX_PAD_ZERO);
        mux_encode_close (out, 3);
        ck_assert_ptr_eq (mux_out_data (out), memory);
    }
    mux_out_destroy (&out);
    free (data);
}
END_TEST


//  --- Decoder

//  The events of the vector sequence, as a recorder holds them.
static void
s_vector_events (rec_t *want)
{
    s_rec_event (want, EV_NEW, 1);
    s_rec_data (want, 1, (const uint8_t *) "hello", 5);
    for (size_t i = 0; i < sizeof s_long_vecs / sizeof s_long_vecs[0]; i++) {
        uint8_t *data = s_pattern (s_long_vecs[i].payload);
        s_rec_data (want, 1, data, s_long_vecs[i].payload);
        free (data);
    }
    s_rec_event (want, EV_CLOSE, 1);
}

START_TEST (test_decode_vectors)
{
    mux_out_t *out = s_vector_stream ();
    rec_t want = { 0 }, whole = { 0 }, bytewise = { 0 };
    s_vector_events (&want);

    ck_assert_int_eq (s_decode_split (mux_out_data (out), mux_out_size (out), NULL, 0, &whole, NULL),
                      S_STREAM_LEN);
    s_assert_rec_eq (&whole, &want);

    //  byte by byte: one on_data call per payload byte, same record
    mux_decoder_t *decoder = mux_decoder_new ();
    for (size_t i = 0; i < mux_out_size (out); i++) {
        S_EQ (mux_decoder_feed (decoder, mux_out_data (out) + i, 1, &s_callbacks, &bytewise), 1);
        S_CHECK (!mux_decoder_paused (decoder));
    }
    ck_assert (mux_decoder_idle (decoder));
    ck_assert_uint_eq (mux_decoder_offset (decoder), S_STREAM_LEN);
    s_assert_rec_eq (&bytewise, &want);
    ck_assert_uint_eq (bytewise.calls, 2 + 5 + 255 + 256 + 65535 + 65536 + 200000);
    mux_decoder_destroy (&decoder);
    ck_assert_ptr_null (decoder);

    s_rec_free (&want);
    s_rec_free (&whole);
    s_rec_free (&bytewise);
    mux_out_destroy (&out);
}
END_TEST

//  A growable byte string, to assemble streams from builder output and
//  hand-made frames.
typedef struct {
    uint8_t *data;
    size_t size, cap;
} s_bytes_t;

static void
s_bytes_add (s_bytes_t *self, const void *data, size_t len)
{
    if (self->cap - self->size < len) {
        while (self->cap - self->size < len)
            self->cap = self->cap ? 2 * self->cap : 4096;
        self->data = (uint8_t *) realloc (self->data, self->cap);
        ck_assert_ptr_nonnull (self->data);
    }
    if (len)
        memcpy (self->data + self->size, data, len);
    self->size += len;
}

//  Moves the builder's frames to the end of self.
static void
s_bytes_take (s_bytes_t *self, mux_out_t *out)
{
    s_bytes_add (self, mux_out_data (out), mux_out_size (out));
    mux_out_clear (out);
}

//  Frames this encoder never writes but the original accepts: DATA with a
//  short payload, empty DATA and SMALL_DATA, a NOP with a non-zero reserved
//  field, an empty NOP.
static const uint8_t s_odd_frames[] = {
    0x03, 0x00, 0x01, 0x00, 0x03, 'a', 'b', 'c',        //  DATA 1 "abc"
    0x03, 0x00, 0x01, 0x00, 0x00,                       //  DATA 1, empty
    0x04, 0x00, 0x01, 0x00,                             //  SMALL_DATA 1, empty
    0x00, 0x12, 0x34, 0x02, 0x04, 0x05,                 //  NOP, reserved 0x1234, 2 bytes
    0x00, 0x00, 0x00, 0x00,                             //  NOP, empty
    0x04, 0x00, 0x00, 0x02, 'x', 'y',                   //  SMALL_DATA 0 "xy"
};

static void
s_odd_events (rec_t *want)
{
    s_rec_data (want, 1, (const uint8_t *) "abc", 3);
    s_rec_data (want, 0, (const uint8_t *) "xy", 2);
}

//  A stream of ~900 bytes with every kind of frame; want gets its events.
static void
s_mixed_stream (s_bytes_t *stream, rec_t *want)
{
    mux_out_t *out = mux_out_new ();
    uint8_t *data = s_pattern (300);
    mux_encode_new_socket (out, 1);
    s_rec_event (want, EV_NEW, 1);
    mux_encode_data (out, 1, (const uint8_t *) "hello", 5);
    s_rec_data (want, 1, (const uint8_t *) "hello", 5);
    mux_encode_data (out, 1, data, 255);
    s_rec_data (want, 1, data, 255);
    mux_encode_new_socket (out, 0xFFFF);
    s_rec_event (want, EV_NEW, 0xFFFF);
    mux_encode_data (out, 0xFFFF, data, 256);
    s_rec_data (want, 0xFFFF, data, 256);
    mux_encode_padding (out, 3, MUX_PAD_RANDOM);
    mux_encode_data (out, 0xFFFF, data + 7, 300 - 7);
    s_rec_data (want, 0xFFFF, data + 7, 300 - 7);
    s_bytes_take (stream, out);

    s_bytes_add (stream, s_odd_frames, sizeof s_odd_frames);
    s_odd_events (want);

    mux_encode_close (out, 1);
    s_rec_event (want, EV_CLOSE, 1);
    mux_encode_data (out, 0, data, 20);
    s_rec_data (want, 0, data, 20);
    mux_encode_close (out, 0xFFFF);
    s_rec_event (want, EV_CLOSE, 0xFFFF);
    s_bytes_take (stream, out);
    mux_out_destroy (&out);
    free (data);
}

//  A short stream (48 bytes) for the 3-way splits.
static void
s_short_stream (s_bytes_t *stream, rec_t *want)
{
    mux_out_t *out = mux_out_new ();
    mux_encode_new_socket (out, 1);
    s_rec_event (want, EV_NEW, 1);
    mux_encode_data (out, 1, (const uint8_t *) "hello", 5);
    s_rec_data (want, 1, (const uint8_t *) "hello", 5);
    s_bytes_take (stream, out);
    s_bytes_add (stream, s_odd_frames, sizeof s_odd_frames);
    s_odd_events (want);
    mux_encode_close (out, 1);
    s_rec_event (want, EV_CLOSE, 1);
    s_bytes_take (stream, out);
    mux_out_destroy (&out);
}

START_TEST (test_decode_whole)
{
    s_bytes_t stream = { 0 };
    rec_t want = { 0 }, got = { 0 };
    s_mixed_stream (&stream, &want);
    ck_assert_int_eq (s_decode_split (stream.data, stream.size, NULL, 0, &got, NULL),
                      (ssize_t) stream.size);
    s_assert_rec_eq (&got, &want);
    //  events: NEW 1, data 1, NEW ffff, data ffff, data 1, data 0, CLOSE 1, data 0, CLOSE ffff
    ck_assert_uint_eq (want.count, 9);
    s_rec_free (&got);

    //  without callbacks everything is consumed and dropped
    static const mux_callbacks_t none = { NULL, NULL, NULL, NULL };
    mux_decoder_t *decoder = mux_decoder_new ();
    ck_assert_int_eq (mux_decoder_feed (decoder, stream.data, stream.size, &none, NULL),
                      (ssize_t) stream.size);
    ck_assert (mux_decoder_idle (decoder));
    ck_assert (!mux_decoder_paused (decoder));
    ck_assert_int_eq (mux_decoder_feed (decoder, stream.data, 0, &none, NULL), 0);
    mux_decoder_destroy (&decoder);
    mux_decoder_destroy (&decoder);         //  NULL is fine

    s_rec_free (&want);
    free (stream.data);
}
END_TEST

START_TEST (test_decode_splits2)
{
    s_bytes_t stream = { 0 };
    rec_t want = { 0 };
    s_mixed_stream (&stream, &want);
    for (size_t cut = 0; cut <= stream.size; cut++) {
        rec_t got = { 0 };
        ck_assert_int_eq (s_decode_split (stream.data, stream.size, &cut, 1, &got, NULL),
                          (ssize_t) stream.size);
        s_assert_rec_eq (&got, &want);
        s_rec_free (&got);

        //  and pausing after every event on top of the split
        rec_t paused = { .pause_every = 1 };
        ck_assert_int_eq (s_decode_split (stream.data, stream.size, &cut, 1, &paused, NULL),
                          (ssize_t) stream.size);
        s_assert_rec_eq (&paused, &want);
        s_rec_free (&paused);
    }
    s_rec_free (&want);
    free (stream.data);
}
END_TEST

START_TEST (test_decode_splits3)
{
    s_bytes_t stream = { 0 };
    rec_t want = { 0 };
    s_short_stream (&stream, &want);
    ck_assert_uint_eq (stream.size, 3 + 9 + sizeof s_odd_frames + 3);
    for (size_t i = 0; i <= stream.size; i++)
        for (size_t j = i; j <= stream.size; j++) {
            size_t cuts[2] = { i, j };
            rec_t got = { .pause_every = (i + j) % 3 };
            ck_assert_int_eq (s_decode_split (stream.data, stream.size, cuts, 2, &got, NULL),
                              (ssize_t) stream.size);
            s_assert_rec_eq (&got, &want);
            s_rec_free (&got);
        }
    s_rec_free (&want);
    free (stream.data);
}
END_TEST

START_TEST (test_decode_bytewise_paused)
{
    s_bytes_t stream = { 0 };
    rec_t want = { 0 }, got = { .pause_every = 1 };
    s_mixed_stream (&stream, &want);
    mux_decoder_t *decoder = mux_decoder_new ();
    for (size_t i = 0; i < stream.size; i++) {
        size_t calls = got.calls;
        S_EQ (mux_decoder_feed (decoder, stream.data + i, 1, &s_callbacks, &got), 1);
        //  a one-byte feed that produced an event says it paused
        S_EQ (mux_decoder_paused (decoder), got.calls > calls);
    }
    s_assert_rec_eq (&got, &want);
    ck_assert (mux_decoder_idle (decoder));
    mux_decoder_destroy (&decoder);
    s_rec_free (&want);
    s_rec_free (&got);
    free (stream.data);
}
END_TEST

//  Feed data in random chunks (1..chunk_max bytes), resuming after pauses.
static void
s_decode_chunked (const uint8_t *data, size_t len, uint64_t *rng, size_t chunk_max, rec_t *rec)
{
    mux_decoder_t *decoder = mux_decoder_new ();
    size_t pos = 0;
    while (pos < len) {
        size_t chunk = 1 + s_rand_below (rng, chunk_max);
        if (chunk > len - pos)
            chunk = len - pos;
        S_EQ (s_feed_all (decoder, data + pos, chunk, rec), chunk);
        pos += chunk;
    }
    ck_assert (mux_decoder_idle (decoder));
    ck_assert_uint_eq (mux_decoder_offset (decoder), len);
    mux_decoder_destroy (&decoder);
}

static size_t
s_random_len (uint64_t *rng)
{
    static const size_t boundaries[] = {
        0, 1, 2, 254, 255, 256, 257, 65534, 65535, 65536, 65537,
        65535 + 255, 65535 + 256, 131070, 131071
    };
    size_t pick = s_rand_below (rng, 10);
    if (pick < 3)
        return boundaries[s_rand_below (rng, sizeof boundaries / sizeof boundaries[0])];
    if (pick < 9)
        return s_rand_below (rng, 600);
    return s_rand_below (rng, 150000);
}

//  Random frame sequences, encoded by the builder or the header path,
//  decoded in random chunks with random pauses, give back the events.
START_TEST (test_random_roundtrip)
{
    uint64_t rng = 0x9E3779B97F4A7C15ull + (uint64_t) _i * 0x100000001B3ull;
    size_t source_len = 200000;
    uint8_t *source = (uint8_t *) malloc (source_len);
    for (size_t i = 0; i < source_len; i++)
        source[i] = (uint8_t) s_rand (&rng);
    static const size_t chunk_maxes[] = { 1, 7, 300, 5000, 100000 };

    for (int round = 0; round < 10; round++) {
        s_bytes_t stream = { 0 };
        rec_t want = { 0 };
        mux_out_t *out = mux_out_new ();
        size_t ops = 1 + s_rand_below (&rng, 40);
        for (size_t op = 0; op < ops; op++) {
            uint16_t id = s_rand_below (&rng, 4) == 0
                        ? (uint16_t) s_rand (&rng) : (uint16_t) s_rand_below (&rng, 4);
            switch (s_rand_below (&rng, 6)) {
                case 0:
                    mux_encode_new_socket (out, id);
                    s_rec_event (&want, EV_NEW, id);
                    break;
                case 1:
                    mux_encode_close (out, id);
                    s_rec_event (&want, EV_CLOSE, id);
                    break;
                case 2:
                    mux_encode_padding (out, s_rand_below (&rng, 256),
                                        s_rand_below (&rng, 2) ? MUX_PAD_RANDOM : MUX_PAD_ZERO);
                    break;
                case 3: {
                    //  the zero-copy way: header, then the caller's bytes
                    size_t len = s_rand_below (&rng, MUX_DATA_MAX + 1);
                    size_t from = s_rand_below (&rng, source_len - len + 1);
                    uint8_t header[MUX_HEADER_MAX];
                    s_bytes_take (&stream, out);
                    if (len) {
                        s_bytes_add (&stream, header, mux_data_header (header, id, len));
                        s_bytes_add (&stream, source + from, len);
                        s_rec_data (&want, id, source + from, len);
                    }
                    break;
                }
                default: {
                    size_t len = s_random_len (&rng);
                    size_t from = s_rand_below (&rng, source_len - len + 1);
                    mux_encode_data (out, id, source + from, len);
                    if (len)
                        s_rec_data (&want, id, source + from, len);
                    break;
                }
            }
        }
        s_bytes_take (&stream, out);
        mux_out_destroy (&out);

        size_t chunk_max = chunk_maxes[s_rand_below (&rng, 5)];
        if (stream.size > 1000000 && chunk_max < 300)
            chunk_max = 300;
        uint64_t pause_rng = s_rand (&rng) | 1;
        rec_t got = { 0 };
        if (s_rand_below (&rng, 2))
            got.pause_rng = &pause_rng;
        s_decode_chunked (stream.data, stream.size, &rng, chunk_max, &got);
        s_assert_rec_eq (&got, &want);
        s_rec_free (&got);
        s_rec_free (&want);
        free (stream.data);
    }
    free (source);
}
END_TEST


//  --- Malformed and truncated input

//  NEW 1, SMALL_DATA 1 "hi", NOP of 2 bytes: the bad byte comes at 15.
static const uint8_t s_good_prefix[] = {
    0x01, 0x00, 0x01,
    0x04, 0x00, 0x01, 0x02, 'h', 'i',
    0x00, 0x00, 0x00, 0x02, 0x07, 0xff
};

START_TEST (test_unknown_command)
{
    uint8_t bad = (uint8_t) _i;             //  5..255
    uint8_t stream[sizeof s_good_prefix + 4];
    memcpy (stream, s_good_prefix, sizeof s_good_prefix);
    stream[15] = bad;
    memcpy (stream + 16, "\x01\x00\x02", 3);       //  a valid NEW 2 after it, never seen
    size_t len = sizeof stream;

    rec_t want = { 0 };
    s_rec_event (&want, EV_NEW, 1);
    s_rec_data (&want, 1, (const uint8_t *) "hi", 2);

    //  in one piece
    mux_decoder_t *decoder = mux_decoder_new ();
    rec_t got = { 0 };
    ck_assert_int_eq (mux_decoder_feed (decoder, stream, len, &s_callbacks, &got), -1);
    s_assert_rec_eq (&got, &want);
    ck_assert_uint_eq (mux_decoder_offset (decoder), 15);
    const char *error = mux_decoder_error (decoder);
    ck_assert_ptr_nonnull (error);
    char expect[64];
    snprintf (expect, sizeof expect, "unknown command %d at offset 15", bad);
    ck_assert_str_eq (error, expect);
    ck_assert (!mux_decoder_idle (decoder));
    //  broken for good, even for valid bytes
    ck_assert_int_eq (mux_decoder_feed (decoder, stream, 3, &s_callbacks, &got), -1);
    ck_assert_int_eq (mux_decoder_feed (decoder, stream, 0, &s_callbacks, &got), -1);
    ck_assert_uint_eq (mux_decoder_offset (decoder), 15);
    s_assert_rec_eq (&got, &want);
    s_rec_free (&got);
    mux_decoder_destroy (&decoder);

    //  byte by byte: the 16th feed fails
    decoder = mux_decoder_new ();
    for (size_t i = 0; i < 15; i++)
        ck_assert_int_eq (mux_decoder_feed (decoder, stream + i, 1, &s_callbacks, &got), 1);
    ck_assert_ptr_null (mux_decoder_error (decoder));
    ck_assert_int_eq (mux_decoder_feed (decoder, stream + 15, 1, &s_callbacks, &got), -1);
    ck_assert_uint_eq (mux_decoder_offset (decoder), 15);
    s_assert_rec_eq (&got, &want);
    s_rec_free (&got);
    mux_decoder_destroy (&decoder);

    //  every 2-way split, with and without pauses
    for (size_t cut = 0; cut <= len; cut++) {
        rec_t split = { .pause_every = cut % 2 };
        uint64_t error_at = 0;
        ck_assert_int_eq (s_decode_split (stream, len, &cut, 1, &split, &error_at), -1);
        ck_assert_uint_eq (error_at, 15);
        s_assert_rec_eq (&split, &want);
        s_rec_free (&split);
    }
    s_rec_free (&want);
}
END_TEST

//  Payload bytes are never taken for commands: the error is found only
//  where the frame that the length field announces ends.
START_TEST (test_unknown_command_after_payload)
{
    s_bytes_t stream = { 0 };
    uint8_t *data = s_pattern (300);
    mux_out_t *out = mux_out_new ();
    mux_encode_data (out, 9, data, 300);
    s_bytes_take (&stream, out);
    s_bytes_add (&stream, "\x05", 1);
    rec_t want = { 0 }, got = { 0 };
    s_rec_data (&want, 9, data, 300);
    uint64_t error_at = 0;
    ck_assert_int_eq (s_decode_split (stream.data, stream.size, NULL, 0, &got, &error_at), -1);
    ck_assert_uint_eq (error_at, 305);
    s_assert_rec_eq (&got, &want);
    s_rec_free (&got);
    s_rec_free (&want);
    mux_out_destroy (&out);
    free (data);
    free (stream.data);
}
END_TEST

//  Random bytes: the decoder either takes everything or fails at the same
//  offset with the same events for every split.
START_TEST (test_garbage)
{
    uint64_t rng = 0xC0FFEEull + (uint64_t) _i;
    uint8_t stream[2048];
    for (int round = 0; round < 50; round++) {
        for (size_t i = 0; i < sizeof stream; i++) {
            //  mostly valid command bytes, so that the streams get somewhere
            uint64_t r = s_rand (&rng);
            stream[i] = (uint8_t) (r % 8 == 0 ? r >> 8 : (r >> 8) % 5);
        }
        rec_t whole = { 0 };
        uint64_t whole_at = 0;
        ssize_t whole_rc = s_decode_split (stream, sizeof stream, NULL, 0, &whole, &whole_at);
        for (int split = 0; split < 5; split++) {
            size_t cuts[3];
            for (int k = 0; k < 3; k++)
                cuts[k] = s_rand_below (&rng, sizeof stream + 1);
            if (cuts[0] > cuts[1]) { size_t t = cuts[0]; cuts[0] = cuts[1]; cuts[1] = t; }
            if (cuts[1] > cuts[2]) { size_t t = cuts[1]; cuts[1] = cuts[2]; cuts[2] = t; }
            if (cuts[0] > cuts[1]) { size_t t = cuts[0]; cuts[0] = cuts[1]; cuts[1] = t; }
            rec_t got = { .pause_every = (size_t) split };
            uint64_t got_at = 0;
            ck_assert_int_eq (s_decode_split (stream, sizeof stream, cuts, 3, &got, &got_at), whole_rc);
            if (whole_rc < 0)
                ck_assert_uint_eq (got_at, whole_at);
            s_assert_rec_eq (&got, &whole);
            s_rec_free (&got);
        }
        s_rec_free (&whole);
    }
}
END_TEST

//  Every proper prefix of a frame is taken and kept pending: no error, no
//  control event, only the payload bytes already there; the rest completes it.
START_TEST (test_truncated)
{
    mux_out_t *out = mux_out_new ();
    uint8_t *data = s_pattern (300);
    static const struct {
        int kind;               //  0 NEW, 1 CLOSE, 2 DATA, 3 NOP
        size_t len;
    } frames[] = { { 0, 0 }, { 1, 0 }, { 2, 5 }, { 2, 255 }, { 2, 256 }, { 2, 300 },
                   { 3, 0 }, { 3, 3 }, { 3, 255 } };
    for (size_t f = 0; f < sizeof frames / sizeof frames[0]; f++) {
        mux_out_clear (out);
        rec_t want = { 0 };
        size_t header = 0;
        switch (frames[f].kind) {
            case 0:
                mux_encode_new_socket (out, 0x4242);
                s_rec_event (&want, EV_NEW, 0x4242);
                break;
            case 1:
                mux_encode_close (out, 0x4242);
                s_rec_event (&want, EV_CLOSE, 0x4242);
                break;
            case 2:
                mux_encode_data (out, 0x4242, data, frames[f].len);
                s_rec_data (&want, 0x4242, data, frames[f].len);
                header = frames[f].len < 256 ? 4 : 5;
                break;
            case 3:
                mux_encode_padding (out, frames[f].len, MUX_PAD_RANDOM);
                break;
        }
        const uint8_t *frame = mux_out_data (out);
        size_t size = mux_out_size (out);
        for (size_t prefix = 0; prefix < size; prefix++) {
            mux_decoder_t *decoder = mux_decoder_new ();
            rec_t got = { 0 };
            S_EQ (mux_decoder_feed (decoder, frame, prefix, &s_callbacks, &got), prefix);
            S_CHECK (mux_decoder_error (decoder) == NULL);
            S_EQ (mux_decoder_idle (decoder), prefix == 0);
            if (frames[f].kind == 2 && prefix > header) {
                S_EQ (got.count, 1);
                S_EQ (got.size, prefix - header);
                S_EQ (memcmp (got.bytes, data, prefix - header), 0);
            }
            else
                S_EQ (got.count, 0);
            S_EQ (mux_decoder_feed (decoder, frame + prefix, size - prefix, &s_callbacks, &got),
                  size - prefix);
            S_CHECK (mux_decoder_idle (decoder));
            s_assert_rec_eq (&got, &want);
            s_rec_free (&got);
            mux_decoder_destroy (&decoder);
        }
        s_rec_free (&want);
    }
    free (data);
    mux_out_destroy (&out);
}
END_TEST


//  --- Pause and resume

typedef struct {
    size_t calls;
    uint16_t last_id;
    size_t data_len;            //  payload bytes received
} s_pauser_t;

static int
s_pause_on_id (void *ctx, uint16_t id)
{
    s_pauser_t *self = (s_pauser_t *) ctx;
    self->calls++;
    self->last_id = id;
    return MUX_PAUSE;
}

static int
s_pause_on_data (void *ctx, uint16_t id, const uint8_t *data, size_t len)
{
    s_pauser_t *self = (s_pauser_t *) ctx;
    (void) data;
    self->calls++;
    self->last_id = id;
    self->data_len += len;
    return MUX_PAUSE;
}

static const mux_callbacks_t s_pausing = { s_pause_on_id, s_pause_on_id, s_pause_on_data, NULL };

//  NEW 7 (3 bytes), DATA 7 with 1000 bytes (5 + 1000), CLOSE 7 (3): 1011.
START_TEST (test_pause_resume)
{
    uint8_t *data = s_pattern (1000);
    mux_out_t *out = mux_out_new ();
    mux_encode_new_socket (out, 7);
    mux_encode_data (out, 7, data, 1000);
    mux_encode_close (out, 7);
    const uint8_t *stream = mux_out_data (out);
    ck_assert_uint_eq (mux_out_size (out), 1011);

    //  all in one buffer: each event stops the feed right after its bytes
    mux_decoder_t *decoder = mux_decoder_new ();
    s_pauser_t pauser = { 0 };
    ck_assert_int_eq (mux_decoder_feed (decoder, stream, 1011, &s_pausing, &pauser), 3);
    ck_assert (mux_decoder_paused (decoder));
    ck_assert_uint_eq (pauser.calls, 1);
    ck_assert_int_eq (mux_decoder_feed (decoder, stream + 3, 1008, &s_pausing, &pauser), 1005);
    ck_assert (mux_decoder_paused (decoder));
    ck_assert_uint_eq (pauser.data_len, 1000);
    //  the last event pauses too, although nothing is left
    ck_assert_int_eq (mux_decoder_feed (decoder, stream + 1008, 3, &s_pausing, &pauser), 3);
    ck_assert (mux_decoder_paused (decoder));
    ck_assert_uint_eq (pauser.calls, 3);
    ck_assert_int_eq (mux_decoder_feed (decoder, stream, 0, &s_pausing, &pauser), 0);
    ck_assert (!mux_decoder_paused (decoder));
    ck_assert (mux_decoder_idle (decoder));
    mux_decoder_destroy (&decoder);

    //  the payload split over two reads, paused in the middle of it
    decoder = mux_decoder_new ();
    memset (&pauser, 0, sizeof pauser);
    ck_assert_int_eq (mux_decoder_feed (decoder, stream, 500, &s_pausing, &pauser), 3);
    ck_assert_int_eq (mux_decoder_feed (decoder, stream + 3, 497, &s_pausing, &pauser), 497);
    ck_assert (mux_decoder_paused (decoder));
    ck_assert_uint_eq (pauser.data_len, 492);
    ck_assert (!mux_decoder_idle (decoder));
    ck_assert_uint_eq (mux_decoder_offset (decoder), 500);
    ck_assert_int_eq (mux_decoder_feed (decoder, stream + 500, 511, &s_pausing, &pauser), 508);
    ck_assert_uint_eq (pauser.data_len, 1000);
    ck_assert (mux_decoder_idle (decoder));
    ck_assert_int_eq (mux_decoder_feed (decoder, stream + 1008, 3, &s_pausing, &pauser), 3);
    ck_assert_uint_eq (pauser.calls, 4);
    ck_assert_uint_eq (pauser.last_id, 7);
    ck_assert_uint_eq (mux_decoder_offset (decoder), 1011);
    mux_decoder_destroy (&decoder);

    //  a pause in the middle of a header split over feeds
    decoder = mux_decoder_new ();
    memset (&pauser, 0, sizeof pauser);
    ck_assert_int_eq (mux_decoder_feed (decoder, stream, 2, &s_pausing, &pauser), 2);
    ck_assert (!mux_decoder_paused (decoder));
    ck_assert_int_eq (mux_decoder_feed (decoder, stream + 2, 5, &s_pausing, &pauser), 1);
    ck_assert (mux_decoder_paused (decoder));
    ck_assert_uint_eq (pauser.calls, 1);
    ck_assert_int_eq (mux_decoder_feed (decoder, stream + 3, 5, &s_pausing, &pauser), 5);
    ck_assert (!mux_decoder_paused (decoder));      //  a header only: no event yet
    ck_assert_int_eq (mux_decoder_feed (decoder, stream + 8, 1003, &s_pausing, &pauser), 1000);
    ck_assert_uint_eq (pauser.data_len, 1000);
    mux_decoder_destroy (&decoder);

    mux_out_destroy (&out);
    free (data);
}
END_TEST


//  --- Ids

START_TEST (test_ids_order)
{
    mux_ids_t *ids = mux_ids_new ();
    ck_assert_uint_eq (mux_ids_count (ids), 0);
    ck_assert_int_eq (mux_ids_alloc (ids), 1);
    ck_assert_int_eq (mux_ids_alloc (ids), 2);
    ck_assert_int_eq (mux_ids_alloc (ids), 3);
    ck_assert (mux_ids_in_use (ids, 2));
    ck_assert (!mux_ids_in_use (ids, 0));
    ck_assert (!mux_ids_in_use (ids, 4));
    ck_assert_uint_eq (mux_ids_count (ids), 3);

    //  a released id is not reused at once: ids go on from the last one
    mux_ids_release (ids, 2);
    ck_assert (!mux_ids_in_use (ids, 2));
    ck_assert_uint_eq (mux_ids_count (ids), 2);
    ck_assert_int_eq (mux_ids_alloc (ids), 4);
    mux_ids_release (ids, 2);               //  not in use: nothing happens
    mux_ids_release (ids, 60000);
    ck_assert_uint_eq (mux_ids_count (ids), 3);
    mux_ids_destroy (&ids);
    ck_assert_ptr_null (ids);
    mux_ids_destroy (&ids);
}
END_TEST

START_TEST (test_ids_skip_and_wrap)
{
    mux_ids_t *ids = mux_ids_new ();
    //  ids 1..65535, then 0 after the wrap: all in use
    for (int id = 1; id < MUX_IDS; id++)
        S_EQ (mux_ids_alloc (ids), id);
    ck_assert_int_eq (mux_ids_alloc (ids), 0);
    ck_assert_uint_eq (mux_ids_count (ids), MUX_IDS);
    ck_assert_int_eq (mux_ids_alloc (ids), -1);
    ck_assert_int_eq (mux_ids_alloc (ids), -1);
    for (int id = 0; id < MUX_IDS; id++)
        S_CHECK (mux_ids_in_use (ids, (uint16_t) id));

    //  free ones are found across word boundaries, in order from the last
    static const uint16_t freed[] = { 63, 64, 65, 128, 4242, 65535 };
    for (size_t i = 0; i < sizeof freed / sizeof freed[0]; i++)
        mux_ids_release (ids, freed[i]);
    ck_assert_uint_eq (mux_ids_count (ids), MUX_IDS - 6);
    for (size_t i = 0; i < sizeof freed / sizeof freed[0]; i++)
        ck_assert_int_eq (mux_ids_alloc (ids), freed[i]);
    ck_assert_int_eq (mux_ids_alloc (ids), -1);

    //  last is 65535: the next one wraps round to 0, skipping nothing else
    mux_ids_release (ids, 0);
    mux_ids_release (ids, 10);
    ck_assert_int_eq (mux_ids_alloc (ids), 0);
    ck_assert_int_eq (mux_ids_alloc (ids), 10);

    //  the only free id lies below the last one, in the same bitmap word:
    //  found after a whole round
    mux_ids_release (ids, 5);
    ck_assert_int_eq (mux_ids_alloc (ids), 5);
    //  upward first, then round past 65535
    mux_ids_release (ids, 3);
    mux_ids_release (ids, 30000);
    ck_assert_int_eq (mux_ids_alloc (ids), 30000);
    ck_assert_int_eq (mux_ids_alloc (ids), 3);
    ck_assert_int_eq (mux_ids_alloc (ids), -1);
    mux_ids_destroy (&ids);
}
END_TEST

//  Sequential allocation reaches 65535 and wraps to the smallest free ids.
START_TEST (test_ids_wrap_skips_used)
{
    mux_ids_t *ids = mux_ids_new ();
    for (int id = 1; id <= 100; id++)
        ck_assert_int_eq (mux_ids_alloc (ids), id);
    for (int id = 1; id <= 100; id += 2)
        mux_ids_release (ids, (uint16_t) id);           //  odd ids free, even in use
    for (int id = 101; id < MUX_IDS; id++) {
        S_EQ (mux_ids_alloc (ids), id);
        mux_ids_release (ids, (uint16_t) id);
    }
    ck_assert_int_eq (mux_ids_alloc (ids), 0);
    for (int id = 1; id <= 99; id += 2)
        ck_assert_int_eq (mux_ids_alloc (ids), id);     //  skipping the even ones
    ck_assert_int_eq (mux_ids_alloc (ids), 101);
    ck_assert_uint_eq (mux_ids_count (ids), 1 + 100 + 1);
    mux_ids_destroy (&ids);
}
END_TEST


//  NOP frames reach on_nop whole, with their reserved field, however split.
typedef struct {
    int count;
    uint16_t reserved[4];
    uint8_t payload[4][8];
    size_t len[4];
} nop_log_t;

static int
s_log_nop (void *ctx, uint16_t reserved, const uint8_t *data, size_t len)
{
    nop_log_t *log = ctx;
    if (log->count < 4) {
        log->reserved[log->count] = reserved;
        log->len[log->count] = len;
        memcpy (log->payload[log->count], data, len < 8 ? len : 8);
    }
    log->count++;
    return MUX_CONTINUE;
}

START_TEST (test_nop_payload_delivered_whole)
{
    const uint8_t stream[] = { 0x00, 0x6d, 0x78, 0x03, 0x01, 0x02, 0x03,   //  extension NOP
                               0x04, 0x00, 0x07, 0x01, 0x41,               //  SMALL_DATA 7 "A"
                               0x00, 0x00, 0x00, 0x00 };                   //  empty padding
    static const mux_callbacks_t callbacks = { NULL, NULL, NULL, s_log_nop };
    for (size_t step = 1; step <= sizeof stream; step++) {
        nop_log_t log = { 0 };
        mux_decoder_t *decoder = mux_decoder_new ();
        for (size_t at = 0; at < sizeof stream; at += step) {
            size_t n = at + step > sizeof stream ? sizeof stream - at : step;
            ck_assert_int_eq (mux_decoder_feed (decoder, stream + at, n, &callbacks, &log), (ssize_t) n);
        }
        ck_assert_int_eq (log.count, 2);
        ck_assert_uint_eq (log.reserved[0], 0x6d78);
        ck_assert_uint_eq (log.len[0], 3);
        ck_assert_mem_eq (log.payload[0], "\x01\x02\x03", 3);
        ck_assert_uint_eq (log.reserved[1], 0);
        ck_assert_uint_eq (log.len[1], 0);
        mux_decoder_destroy (&decoder);
    }
}
END_TEST

int
main (void)
{
    Suite *suite = suite_create ("mux");
    TCase *tc = tcase_create ("core");
    tcase_add_test (tc, test_vectors_short);
    tcase_add_test (tc, test_vectors_long);
    tcase_add_test (tc, test_vectors_split_points);
    tcase_add_test (tc, test_vectors_stream);
    tcase_add_test (tc, test_data_header);
    tcase_add_test (tc, test_frames_size);
    tcase_add_test (tc, test_header_path_matches_builder);
    tcase_add_test (tc, test_empty_data_and_padding);
    tcase_add_test (tc, test_builder_reuse);
    tcase_add_test (tc, test_decode_vectors);
    tcase_add_test (tc, test_decode_whole);
    tcase_add_test (tc, test_decode_splits2);
    tcase_add_test (tc, test_decode_splits3);
    tcase_add_test (tc, test_decode_bytewise_paused);
    tcase_add_loop_test (tc, test_random_roundtrip, 0, 8);
    tcase_add_loop_test (tc, test_unknown_command, 5, 256);
    tcase_add_test (tc, test_unknown_command_after_payload);
    tcase_add_loop_test (tc, test_garbage, 0, 4);
    tcase_add_test (tc, test_truncated);
    tcase_add_test (tc, test_pause_resume);
    tcase_add_test (tc, test_ids_order);
    tcase_add_test (tc, test_ids_skip_and_wrap);
    tcase_add_test (tc, test_ids_wrap_skips_used);
    tcase_add_test (tc, test_nop_payload_delivered_whole);
    tcase_set_timeout (tc, 60);
    suite_add_tcase (suite, tc);

    return check_run (suite);
}
