/*  mimic — traffic reshaping codec of the send path (see mimic.h). */
#include "nodes/mimic.h"

#include <assert.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_SMALL_BYTES       100     //  fewer queued bytes than this pass at once
#define S_MAX_CHUNKS        4       //  chunks beyond this many pass at once
#define S_MAX_BYTES         (100 * 1024)    //  above this, the oldest chunk passes at once
#define S_MAX_WAIT_MS       100.0   //  a drawn gap is cut to this
#define S_MIN_WAIT_MS       10      //  a wait this short or shorter is not waited

#define S_IIR_MEAN_ALPHA    0.1
#define S_IIR_VAR_ALPHA     0.05

//  One pushed chunk, copied: the worker reuses its read buffers.
//  A counted chunk (mimic_enqueue with data NULL) has no bytes, only its length.
typedef struct s_chunk_t {
    struct s_chunk_t *next;
    size_t len;
    bool counted;
    uint8_t data[];
} s_chunk_t;

//  Running mean and variance of one quantity.
typedef struct {
    mimic_estimator_t kind;
    uint64_t n;
    double mean;
    double var;                 //  IIR: the variance; Welford: M2, the sum of squares
} s_estimator_t;

//  What the scheduling rules decide at one moment (mimic.h, rules 1-4).
typedef enum {
    S_IDLE,                     //  nothing queued
    S_SEND_ALL,                 //  rule 1
    S_SEND_EXCESS,              //  rule 2
    S_SEND_OLDEST,              //  rule 3
    S_SEND_MODEL                //  rule 4
} s_rule_t;

struct mimic_t {
    mimic_size_model_t size_model;
    mimic_delay_model_t delay_model;
    uint64_t rng[4];            //  xoshiro256** state
    s_estimator_t size_est;
    s_estimator_t gap_est;

    uint64_t created_ms;
    uint64_t last_push_ms;
    uint64_t last_send_ms;
    uint64_t suspend_until_ms;  //  suspended while now < this
    bool slot_armed;            //  a gap has been drawn for the next model send
    uint64_t slot_due_ms;       //  ... and that send is due then

    s_chunk_t *head, *tail;
    size_t head_offset;         //  bytes of head already sent
    size_t queued;              //  bytes not yet sent
    size_t chunks;

    uint8_t *scratch;           //  gathers a model send spanning several chunks
    size_t scratch_size;
    size_t shortfall;           //  bytes model sends wanted beyond what was queued
};


//  --- Random numbers: xoshiro256**, seeded through splitmix64

static uint64_t
s_splitmix64 (uint64_t *state)
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

static uint64_t
s_rotl (uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

static void
s_rng_seed (mimic_t *self, uint64_t seed)
{
    //  splitmix64 never yields four zero words, the one state xoshiro forbids.
    for (int i = 0; i < 4; i++)
        self->rng[i] = s_splitmix64 (&seed);
}

static uint64_t
s_rng_next (mimic_t *self)
{
    uint64_t *s = self->rng;
    uint64_t result = s_rotl (s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = s_rotl (s[3], 45);
    return result;
}

//  U[0, 1) with 53 random bits.
static double
s_uniform (mimic_t *self)
{
    return (double) (s_rng_next (self) >> 11) * 0x1.0p-53;
}

//  N(0, 1) by Box-Muller; 1 - U keeps the logarithm finite.
static double
s_normal (mimic_t *self)
{
    double u1 = 1.0 - s_uniform (self);
    double u2 = s_uniform (self);
    return sqrt (-2.0 * log (u1)) * cos (2.0 * M_PI * u2);
}


//  --- Estimators

static void
s_estimator_init (s_estimator_t *self, mimic_estimator_t kind)
{
    memset (self, 0, sizeof *self);
    self->kind = kind;
}

static void
s_estimator_add (s_estimator_t *self, double x)
{
    self->n++;
    if (self->kind == MIMIC_EST_IIR) {
        self->mean = S_IIR_MEAN_ALPHA * x + (1.0 - S_IIR_MEAN_ALPHA) * self->mean;
        double delta = x - self->mean;
        self->var = S_IIR_VAR_ALPHA * delta * delta + (1.0 - S_IIR_VAR_ALPHA) * self->var;
    }
    else {
        //  The original squared the second delta alone, which is not Welford.
        double delta = x - self->mean;
        self->mean += delta / (double) self->n;
        self->var += delta * (x - self->mean);
    }
}

static double
s_estimator_var (const s_estimator_t *self)
{
    double var = self->var;
    if (self->kind == MIMIC_EST_WELFORD)
        var = self->n > 1 ? self->var / (double) (self->n - 1) : 0.0;
    return var > 0.0 ? var : 0.0;       //  rounding may leave -0 or a hair below
}


//  --- Models

static bool
s_model_valid (const mimic_model_t *model)
{
    return (int) model->size >= SIZE_IDENTITY && (int) model->size <= SIZE_GAUSSIAN
        && (int) model->delay >= DELAY_IDENTITY && (int) model->delay <= DELAY_EXPONENTIAL
        && (int) model->estimator >= MIMIC_EST_IIR && (int) model->estimator <= MIMIC_EST_WELFORD;
}

//  A value spread around mean with the given variance: centred uniform or
//  gaussian. (U - 1/2) * sqrt (12 var) has exactly that variance.
static double
s_spread (mimic_t *self, bool gaussian, const s_estimator_t *est)
{
    double var = s_estimator_var (est);
    if (gaussian)
        return est->mean + sqrt (var) * s_normal (self);
    return est->mean + (s_uniform (self) - 0.5) * sqrt (12.0 * var);
}

//  Bytes of the next model send, in [1, queued].
static size_t
s_draw_size (mimic_t *self)
{
    assert (self->head);
    double size = 0;
    switch (self->size_model) {
        case SIZE_IDENTITY:
            return self->head->len - self->head_offset;
        case SIZE_CONSTANT:
            size = self->size_est.mean;
            break;
        case SIZE_UNIFORM:
            size = s_spread (self, false, &self->size_est);
            break;
        case SIZE_GAUSSIAN:
            size = s_spread (self, true, &self->size_est);
            break;
    }
    size = round (size);
    if (!(size >= 1.0))                 //  also catches NaN
        return 1;
    if (size >= (double) self->queued) {
        //  What padding could add (mimic_take_shortfall), within reason.
        double missing = size - (double) self->queued;
        self->shortfall += missing < (double) S_MAX_BYTES ? (size_t) missing : S_MAX_BYTES;
        return self->queued;
    }
    return (size_t) size;
}

//  Milliseconds from the last send to the next model send, in [0, 100].
static uint64_t
s_draw_wait (mimic_t *self)
{
    double gap = 0;
    switch (self->delay_model) {
        case DELAY_IDENTITY:
            return 0;
        case DELAY_CONSTANT:
            gap = self->gap_est.mean;
            break;
        case DELAY_UNIFORM:
            gap = s_spread (self, false, &self->gap_est);
            break;
        case DELAY_GAUSSIAN:
            gap = s_spread (self, true, &self->gap_est);
            break;
        case DELAY_EXPONENTIAL:
            gap = -self->gap_est.mean * log (1.0 - s_uniform (self));
            break;
    }
    if (!(gap > 0.0))
        return 0;
    if (gap > S_MAX_WAIT_MS)
        gap = S_MAX_WAIT_MS;
    return (uint64_t) round (gap);
}


//  --- Queue

static void
s_pop_head (mimic_t *self)
{
    s_chunk_t *chunk = self->head;
    self->head = chunk->next;
    if (!self->head)
        self->tail = NULL;
    self->head_offset = 0;
    self->chunks--;
    free (chunk);
}

//  The n oldest chunks (what is left of them) leave, each as one emit.
static void
s_send_chunks (mimic_t *self, size_t n, mimic_emit_fn *emit, void *ctx)
{
    while (n-- > 0 && self->head) {
        size_t len = self->head->len - self->head_offset;
        self->queued -= len;
        emit (ctx, self->head->counted ? NULL : self->head->data + self->head_offset, len);
        s_pop_head (self);
    }
}

//  Takes up to len bytes from the head into out (NULL: emit them), returns how many.
static size_t
s_take_from_head (mimic_t *self, size_t len, uint8_t *out, mimic_emit_fn *emit, void *ctx)
{
    size_t avail = self->head->len - self->head_offset;
    size_t take = len < avail ? len : avail;
    const uint8_t *from = self->head->counted ? NULL : self->head->data + self->head_offset;
    if (out && from)
        memcpy (out, from, take);
    else if (emit)
        emit (ctx, from, take);
    self->queued -= take;
    self->head_offset += take;
    if (self->head_offset == self->head->len)
        s_pop_head (self);
    return take;
}

static bool
s_scratch_fits (mimic_t *self, size_t len)
{
    if (len <= self->scratch_size)
        return true;
    uint8_t *grown = (uint8_t *) realloc (self->scratch, len);
    if (!grown)
        return false;
    self->scratch = grown;
    self->scratch_size = len;
    return true;
}

//  The next len bytes (1..queued) leave as one emit: straight from the head
//  chunk when they lie within it, else gathered in the scratch buffer.
static void
s_send_bytes (mimic_t *self, size_t len, mimic_emit_fn *emit, void *ctx)
{
    assert (len >= 1 && len <= self->queued);
    if (len <= self->head->len - self->head_offset) {
        s_take_from_head (self, len, NULL, emit, ctx);
        return;
    }
    if (self->head->counted) {
        //  Only lengths are queued (the caller holds the bytes): one count.
        size_t done = 0;
        while (done < len)
            done += s_take_from_head (self, len - done, NULL, NULL, NULL);
        emit (ctx, NULL, len);
        return;
    }
    if (s_scratch_fits (self, len)) {
        size_t done = 0;
        while (done < len)
            done += s_take_from_head (self, len - done, self->scratch + done, NULL, NULL);
        emit (ctx, self->scratch, len);
    }
    else {
        //  Out of memory for one buffer: the same bytes, in more pieces.
        size_t done = 0;
        while (done < len)
            done += s_take_from_head (self, len - done, NULL, emit, ctx);
    }
}


//  --- Scheduling

static bool
s_passing_through (mimic_t *self, uint64_t now_ms)
{
    return now_ms < self->suspend_until_ms
        || now_ms < self->created_ms + MIMIC_WARMUP_MS
        || self->queued < S_SMALL_BYTES;
}

static s_rule_t
s_rule (mimic_t *self, uint64_t now_ms)
{
    if (self->queued == 0)
        return S_IDLE;
    if (s_passing_through (self, now_ms))
        return S_SEND_ALL;
    if (self->chunks > S_MAX_CHUNKS)
        return S_SEND_EXCESS;
    if (self->queued > S_MAX_BYTES)
        return S_SEND_OLDEST;
    return S_SEND_MODEL;
}

//  When the next model send is due; its gap is drawn once, on first asking.
static uint64_t
s_slot_due (mimic_t *self)
{
    if (!self->slot_armed) {
        self->slot_due_ms = self->last_send_ms + s_draw_wait (self);
        self->slot_armed = true;
    }
    return self->slot_due_ms;
}


//  --- Public API

mimic_t *
mimic_new (const mimic_model_t *model, uint64_t now_ms)
{
    mimic_model_t plain = { SIZE_IDENTITY, DELAY_IDENTITY, MIMIC_EST_IIR, 0 };
    if (!model)
        model = &plain;
    if (!s_model_valid (model))
        return NULL;
    mimic_t *self = (mimic_t *) calloc (1, sizeof (mimic_t));
    if (!self)
        return NULL;
    self->size_model = model->size;
    self->delay_model = model->delay;
    s_rng_seed (self, model->seed);
    s_estimator_init (&self->size_est, model->estimator);
    s_estimator_init (&self->gap_est, model->estimator);
    self->created_ms = now_ms;
    self->last_push_ms = now_ms;
    self->last_send_ms = now_ms;
    return self;
}

void
mimic_destroy (mimic_t **self_p)
{
    assert (self_p);
    mimic_t *self = *self_p;
    if (!self)
        return;
    while (self->head)
        s_pop_head (self);
    free (self->scratch);
    free (self);
    *self_p = NULL;
}

int
mimic_set_model (mimic_t *self, const mimic_model_t *model)
{
    assert (self);
    if (!model || !s_model_valid (model))
        return -1;
    self->size_model = model->size;
    self->delay_model = model->delay;
    s_rng_seed (self, model->seed);
    self->slot_armed = false;
    return 0;
}

void
mimic_random_model (mimic_model_t *out, uint64_t seed)
{
    assert (out);
    uint64_t state = seed;
    uint64_t pick = s_splitmix64 (&state);
    out->size = (mimic_size_model_t) ((pick & 0xffffffff) % (SIZE_GAUSSIAN + 1));
    out->delay = (mimic_delay_model_t) ((pick >> 32) % (DELAY_EXPONENTIAL + 1));
    out->estimator = MIMIC_EST_IIR;
    out->seed = s_splitmix64 (&state);
}

void
mimic_suspend (mimic_t *self, uint64_t now_ms, int ms)
{
    assert (self);
    uint64_t until = now_ms + (uint64_t) (ms > 0 ? ms : 0);
    if (until > self->suspend_until_ms)
        self->suspend_until_ms = until;
}

void
mimic_observe (mimic_t *self, uint64_t now_ms, size_t len)
{
    assert (self);
    //  A clock that steps back counts as no gap rather than a huge one.
    uint64_t gap = now_ms > self->last_push_ms ? now_ms - self->last_push_ms : 0;
    s_estimator_add (&self->size_est, (double) len);
    s_estimator_add (&self->gap_est, (double) gap);
    if (now_ms > self->last_push_ms)
        self->last_push_ms = now_ms;
}

void
mimic_enqueue (mimic_t *self, const uint8_t *data, size_t len)
{
    assert (self);
    if (len == 0)
        return;
    s_chunk_t *chunk = (s_chunk_t *) malloc (sizeof (s_chunk_t) + (data ? len : 0));
    if (!chunk) {
        fprintf (stderr, "mimicsocks: out of memory for a %zu-byte mimic chunk\n", len);
        abort ();
    }
    chunk->next = NULL;
    chunk->len = len;
    chunk->counted = data == NULL;
    if (data)
        memcpy (chunk->data, data, len);
    if (self->tail)
        self->tail->next = chunk;
    else
        self->head = chunk;
    self->tail = chunk;
    self->queued += len;
    self->chunks++;
}

void
mimic_push (mimic_t *self, uint64_t now_ms, const uint8_t *data, size_t len)
{
    assert (self);
    if (len == 0)
        return;
    mimic_observe (self, now_ms, len);
    mimic_enqueue (self, data, len);
}

void
mimic_push_count (mimic_t *self, uint64_t now_ms, size_t len)
{
    assert (self);
    if (len == 0)
        return;
    mimic_observe (self, now_ms, len);
    mimic_enqueue (self, NULL, len);
}

uint64_t
mimic_pump (mimic_t *self, uint64_t now_ms, mimic_emit_fn *emit, void *ctx)
{
    assert (self);
    assert (emit);
    while (true) {
        switch (s_rule (self, now_ms)) {
            case S_IDLE:
                return UINT64_MAX;
            case S_SEND_ALL:
                s_send_chunks (self, self->chunks, emit, ctx);
                break;
            case S_SEND_EXCESS:
                s_send_chunks (self, self->chunks - S_MAX_CHUNKS, emit, ctx);
                break;
            case S_SEND_OLDEST:
                s_send_chunks (self, 1, emit, ctx);
                break;
            case S_SEND_MODEL: {
                uint64_t due = s_slot_due (self);
                if (due > now_ms && due - now_ms > S_MIN_WAIT_MS)
                    return due;
                s_send_bytes (self, s_draw_size (self), emit, ctx);
                break;
            }
        }
        //  Every send restarts the wait: the original never did, so its
        //  delays never took effect.
        self->last_send_ms = now_ms;
        self->slot_armed = false;
    }
}

void
mimic_flush (mimic_t *self, mimic_emit_fn *emit, void *ctx)
{
    assert (self);
    assert (emit);
    s_send_chunks (self, self->chunks, emit, ctx);
    self->slot_armed = false;
}

size_t
mimic_take_shortfall (mimic_t *self)
{
    assert (self);
    size_t shortfall = self->shortfall;
    self->shortfall = 0;
    return shortfall;
}

size_t
mimic_queued (mimic_t *self)
{
    assert (self);
    return self->queued;
}

size_t
mimic_queued_chunks (mimic_t *self)
{
    assert (self);
    return self->chunks;
}

void
mimic_stats (mimic_t *self, mimic_stats_t *stats)
{
    assert (self);
    assert (stats);
    stats->size_mean = self->size_est.mean;
    stats->size_var = s_estimator_var (&self->size_est);
    stats->gap_mean = self->gap_est.mean;
    stats->gap_var = s_estimator_var (&self->gap_est);
    stats->samples = self->size_est.n;
}
