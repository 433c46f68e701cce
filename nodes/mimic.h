/*  mimic — reshapes the send path's traffic (PROTOCOL.md section 7).

    Sits after encryption. It learns the running mean and variance of the
    sizes of the chunks it is given and of the gaps between them, and lets the
    queued bytes leave in chunk sizes and at gaps drawn from a model of that
    traffic. It never changes, drops, duplicates or reorders a byte, and never
    pads: it only decides when, and in which chunk sizes, the bytes leave
    (it reports what a send lacked, for a caller that can pad).

    A pure codec driven by the caller's clock: no threads, no sleeping, no
    timers of its own, and its randomness is a private xoshiro256** generator
    seeded from the model, so the same calls give the same output.

    Models (all draws rounded to whole bytes / milliseconds):
      size   identity  the head chunk as it was pushed (or what is left of it)
             constant  the learned mean
             uniform   mean + (U - 1/2) * sqrt (12 var), U ~ U[0,1)
             gaussian  mean + sqrt (var) * N(0,1)   (Box-Muller)
             every size is clamped to [1, bytes queued]
      delay  identity  none
             constant  the learned mean gap
             uniform   centred like the size: mean + (U - 1/2) * sqrt (12 var)
             gaussian  mean + sqrt (var) * N(0,1)
             exponential  -mean * ln (1 - U)   (inverse CDF)
             negative draws count as 0
      estimators  IIR      mean <- 0.1 x + 0.9 mean; var <- 0.05 (x - mean)^2 + 0.95 var
                           (with the new mean, starting from 0, as the original)
                  Welford  the exact running mean and sample variance

    Scheduling, evaluated at every mimic_pump, first rule that applies:
      1. suspended, or less than 2 s since mimic_new, or fewer than 100 bytes
         queued: everything queued leaves now, chunk by chunk as pushed;
      2. more than 4 chunks queued: the oldest ones beyond 4 leave now, whole;
      3. more than 100 KiB queued: the oldest chunk leaves now, whole;
      4. otherwise a model send: a gap g is drawn once per send; the next
         `size` bytes leave (as one chunk, gathered across pushed chunks) at
         last_send + min (g, 100 ms), or at once if less than 10 ms of that
         wait is left. Every send, by any rule, moves last_send.
    So with the caller pumping at the times it is given and nothing else
    happening, a model send follows the previous send after 0 ms if
    min (g, 100) <= 10, else after min (g, 100) ms. (The original's quirks are
    fixed as section 7 asks: its uniform was not centred, it never moved its
    last-send time and its rules 1 and 3 never fired.)

    How the worker drives it:
      - for each chunk on its way to the socket (after the cipher):
        mimic_push (m, now, data, len), which also feeds the estimators with
        the chunk's size and the gap since the previous push;
      - then mimic_pump (m, now, emit, ctx), and write what emit is given, in
        order; pump returns when to call it again: arm a timer for that time
        (UINT64_MAX: nothing queued, no timer), and pump again when it fires
        or after the next push, whichever comes first. Pumping early or late
        is harmless: early does nothing, late sends what is due;
      - on NEW_SOCKET (section 6): mimic_suspend (m, now, 5000), then pump;
      - after a handover: mimic_random_model with a fresh seed, then
        mimic_set_model;
      - when the socket goes away for good: mimic_flush, then destroy.
    emit must not call back into the same mimic_t.

    Not a node_class_t: a node is only called when bytes arrive and has no
    clock or timer, so it could never release bytes whose time comes later.
    The worker calls this codec directly around its own timers.
*/
#ifndef MK_MIMIC_H
#define MK_MIMIC_H

#include <stddef.h>
#include <stdint.h>

//  The models as the codec knows them; the config has its own names for
//  what the user wrote (config_mimic_size_t, actors/shaping.c maps them).
typedef enum { SIZE_IDENTITY, SIZE_CONSTANT, SIZE_UNIFORM, SIZE_GAUSSIAN } mimic_size_model_t;
typedef enum {
    DELAY_IDENTITY, DELAY_CONSTANT, DELAY_UNIFORM, DELAY_GAUSSIAN, DELAY_EXPONENTIAL
} mimic_delay_model_t;

typedef enum {
    MIMIC_EST_IIR = 0,          //  the original's default
    MIMIC_EST_WELFORD = 1
} mimic_estimator_t;

typedef struct mimic_model_t {
    mimic_size_model_t size;
    mimic_delay_model_t delay;
    mimic_estimator_t estimator;    //  used by mimic_new only (see mimic_set_model)
    uint64_t seed;                  //  seeds the mimic's random generator
} mimic_model_t;

//  The statistics learned so far, what the models draw from.
typedef struct {
    double size_mean, size_var;     //  bytes, bytes^2
    double gap_mean, gap_var;       //  ms, ms^2
    uint64_t samples;               //  chunks learned from
} mimic_stats_t;

//  data is NULL for bytes that were queued as a count (see mimic_enqueue).
typedef void (mimic_emit_fn) (void *ctx, const uint8_t *data, size_t len);

typedef struct mimic_t mimic_t;

//  model NULL means identity / identity / IIR, seed 0 (the local end's
//  start). Returns NULL if a model field is out of range.
mimic_t *mimic_new (const mimic_model_t *model, uint64_t now_ms);
//  How long after mimic_new everything passes at once (rule 1).
#define MIMIC_WARMUP_MS 2000
//  Queued bytes are dropped: call mimic_flush first to keep them.
void mimic_destroy (mimic_t **self_p);

//  New size and delay models (e.g. random ones after a handover), and the
//  generator reseeded from model->seed. The learned statistics and the
//  estimator are kept. A pending model send is drawn again. Returns 0, or -1
//  (nothing changed) if a model field is out of range.
int mimic_set_model (mimic_t *self, const mimic_model_t *model);

//  Size and delay models picked uniformly from all combinations, IIR
//  estimator, and a seed for the generator, all derived from seed.
void mimic_random_model (mimic_model_t *out, uint64_t seed);

//  Pass everything through at once until now_ms + ms (extends, never
//  shortens, a suspension in progress). Emits nothing itself: pump next.
void mimic_suspend (mimic_t *self, uint64_t now_ms, int ms);

//  Learns from and queues len bytes (copied). len 0 does nothing.
void mimic_push (mimic_t *self, uint64_t now_ms, const uint8_t *data, size_t len);
//  The same without the bytes (see mimic_enqueue).
void mimic_push_count (mimic_t *self, uint64_t now_ms, size_t len);

//  Emits what is due at now_ms, calling emit once per chunk, in order (data
//  is valid during the call only; len >= 1). Returns the time to call again:
//  later than now_ms, or UINT64_MAX when nothing is queued.
uint64_t mimic_pump (mimic_t *self, uint64_t now_ms, mimic_emit_fn *emit, void *ctx);

//  Emits everything queued at once, chunk by chunk (e.g. before a close).
void mimic_flush (mimic_t *self, mimic_emit_fn *emit, void *ctx);

//  Bytes the model sends since the last call drew beyond what was queued
//  (each capped at 100 KiB), which the caller may fill with padding its
//  framing allows (mimicsocks: NOP frames, aggregated mode). The mimic
//  itself never pads. Resets the count.
size_t mimic_take_shortfall (mimic_t *self);

//  Bytes queued.
size_t mimic_queued (mimic_t *self);
//  Chunks queued (a chunk partly sent counts as one).
size_t mimic_queued_chunks (mimic_t *self);

void mimic_stats (mimic_t *self, mimic_stats_t *stats);

//  The two halves of mimic_push, for tests and for bytes the model should
//  not learn from: mimic_observe learns from a chunk of len bytes pushed at
//  now_ms without queuing anything; mimic_enqueue queues without learning.
void mimic_observe (mimic_t *self, uint64_t now_ms, size_t len);
//  data NULL queues a count only: the caller keeps the bytes (say, in its
//  socket queue) and emit is given NULL and how many of them may leave, so
//  the mimic schedules without a copy. Don't mix counts and bytes in one
//  mimic.
void mimic_enqueue (mimic_t *self, const uint8_t *data, size_t len);

#endif
