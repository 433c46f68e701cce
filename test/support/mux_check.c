/*  mux_check — what the mux codec tests (test_mux_*) share: payload
    patterns, sha256 in hex and a deterministic generator; assertions for
    hot loops; the event recorder (what a decoder delivered, as mux
    callbacks) and the feeding loops that resume after pauses; the golden
    vectors of test/vectors/gen_mux_vectors.py and their sequence through
    the builder; a growable byte string to assemble streams in.
*/
#include <check.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "nodes/mux.h"
#include "test/support/mux_check.h"

//  --- Helpers

uint8_t *
mc_pattern (size_t len)
{
    uint8_t *data = (uint8_t *) malloc (len ? len : 1);
    ck_assert_ptr_nonnull (data);
    for (size_t i = 0; i < len; i++)
        data[i] = (uint8_t) (i % 251);
    return data;
}

void
mc_sha256_hex (const uint8_t *data, size_t len, char hex[65])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int md_len = 0;
    ck_assert_int_eq (EVP_Digest (data, len, md, &md_len, EVP_sha256 (), NULL), 1);
    ck_assert_uint_eq (md_len, 32);
    for (unsigned int i = 0; i < md_len; i++)
        snprintf (hex + 2 * i, 3, "%02x", md[i]);
}

//  Deterministic generator, so every run sees the same "random" streams.
uint64_t
mc_rand (uint64_t *state)
{
    uint64_t x = *state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *state = x;
}

size_t
mc_rand_below (uint64_t *state, size_t n)
{
    return (size_t) (mc_rand (state) % n);
}


void
mc_rec_free (rec_t *rec)
{
    free (rec->events);
    free (rec->bytes);
    memset (rec, 0, sizeof *rec);
}

void
mc_rec_event (rec_t *rec, ev_kind_t kind, uint16_t id)
{
    if (rec->count == rec->events_cap) {
        rec->events_cap = rec->events_cap ? 2 * rec->events_cap : 64;
        rec->events = (ev_t *) realloc (rec->events, rec->events_cap * sizeof (ev_t));
        ck_assert_ptr_nonnull (rec->events);
    }
    rec->events[rec->count++] = (ev_t) { kind, id, rec->size, 0 };
}

void
mc_rec_data (rec_t *rec, uint16_t id, const uint8_t *data, size_t len)
{
    ev_t *last = rec->count ? &rec->events[rec->count - 1] : NULL;
    if (!last || last->kind != EV_DATA || last->id != id) {
        mc_rec_event (rec, EV_DATA, id);
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
    if (rec->pause_rng && mc_rand_below (rec->pause_rng, 4) == 0)
        return MUX_PAUSE;
    return MUX_CONTINUE;
}

static int
s_on_new (void *ctx, uint16_t id)
{
    rec_t *rec = (rec_t *) ctx;
    mc_rec_event (rec, EV_NEW, id);
    return s_rec_answer (rec);
}

static int
s_on_close (void *ctx, uint16_t id)
{
    rec_t *rec = (rec_t *) ctx;
    mc_rec_event (rec, EV_CLOSE, id);
    return s_rec_answer (rec);
}

static int
s_on_data (void *ctx, uint16_t id, const uint8_t *data, size_t len)
{
    MC_CHECK (data != NULL);
    MC_CHECK (len > 0);
    rec_t *rec = (rec_t *) ctx;
    mc_rec_data (rec, id, data, len);
    return s_rec_answer (rec);
}

const mux_callbacks_t mc_callbacks = { s_on_new, s_on_close, s_on_data, NULL };

void
mc_assert_rec_eq (const rec_t *got, const rec_t *want)
{
    MC_EQ (got->count, want->count);
    for (size_t i = 0; i < got->count; i++) {
        const ev_t *a = &got->events[i], *b = &want->events[i];
        MC_EQ (a->kind, b->kind);
        MC_EQ (a->id, b->id);
        MC_EQ (a->len, b->len);
        if (a->len)
            MC_EQ (memcmp (got->bytes + a->off, want->bytes + b->off, a->len), 0);
    }
}

//  Feed all of data, resuming after pauses as a caller would. Returns len,
//  or -1 on a protocol error.
ssize_t
mc_feed_all (mux_decoder_t *decoder, const uint8_t *data, size_t len, rec_t *rec)
{
    size_t pos = 0;
    do {
        ssize_t n = mux_decoder_feed (decoder, data + pos, len - pos, &mc_callbacks, rec);
        if (n < 0) {
            MC_CHECK (mux_decoder_error (decoder) != NULL);
            return -1;
        }
        MC_CHECK ((size_t) n <= len - pos);
        if (mux_decoder_paused (decoder))
            MC_CHECK (n > 0);                //  every event consumes a byte
        else
            MC_EQ (n, len - pos);
        MC_CHECK (mux_decoder_error (decoder) == NULL);
        pos += (size_t) n;
    } while (pos < len);
    return (ssize_t) len;
}

//  Decode data cut at the given ascending offsets with a fresh decoder.
//  Returns the bytes consumed, or -1 (*error_at: the failing offset).
ssize_t
mc_decode_split (const uint8_t *data, size_t len, const size_t *cuts, size_t ncuts,
                rec_t *rec, uint64_t *error_at)
{
    mux_decoder_t *decoder = mux_decoder_new ();
    ssize_t result = (ssize_t) len;
    size_t start = 0;
    for (size_t i = 0; i <= ncuts; i++) {
        size_t end = i < ncuts ? cuts[i] : len;
        MC_CHECK (start <= end);
        if (mc_feed_all (decoder, data + start, end - start, rec) < 0) {
            result = -1;
            if (error_at)
                *error_at = mux_decoder_offset (decoder);
            break;
        }
        start = end;
    }
    if (result >= 0)
        MC_EQ (mux_decoder_offset (decoder), len);
    mux_decoder_destroy (&decoder);
    return result;
}


//  The vector sequence through the builder.
mux_out_t *
mc_vector_stream (void)
{
    mux_out_t *out = mux_out_new ();
    mux_encode_new_socket (out, 1);
    mux_encode_data (out, 1, (const uint8_t *) "hello", 5);
    for (size_t i = 0; i < sizeof mc_long_vecs / sizeof mc_long_vecs[0]; i++) {
        uint8_t *data = mc_pattern (mc_long_vecs[i].payload);
        mux_encode_data (out, 1, data, mc_long_vecs[i].payload);
        free (data);
    }
    mux_encode_close (out, 1);
    mux_encode_padding (out, 3, MUX_PAD_ZERO);
    return out;
}


void
mc_bytes_add (mc_bytes_t *self, const void *data, size_t len)
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
void
mc_bytes_take (mc_bytes_t *self, mux_out_t *out)
{
    mc_bytes_add (self, mux_out_data (out), mux_out_size (out));
    mux_out_clear (out);
}
