/*  mimic_sim — what the mimic codec tests (test_mimic_*) run nodes/mimic.h
    on simulated time with: the tests' own random numbers (independent of
    the module's), a recorder of what the mimic emits (when, how much, the
    backlog before; the bytes if asked) with pushing, enqueueing and pumping
    at a simulated time, and sample statistics; hot-loop assertions.
*/
#ifndef MK_MIMIC_SIM_H
#define MK_MIMIC_SIM_H

#include <check.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "nodes/mimic.h"

//  Check's ck_assert_* report every passing check to the parent process;
//  hot loops use this, which only speaks up on failure.
#define MS_CHECK(cond) \
    do { if (!(cond)) ck_abort_msg ("assertion failed: %s (line %d)", #cond, __LINE__); } while (0)

#define MS_KIB100 (100 * 1024)

//  --- Recording what the mimic emits

typedef struct {
    uint64_t time;
    size_t len;
    size_t queued_before;       //  bytes queued just before this emit
} ms_emission_t;

typedef struct {
    uint64_t now;               //  the time of the pump in progress
    size_t pushed;              //  bytes handed to the mimic so far
    size_t emitted;             //  bytes it emitted so far
    ms_emission_t *list;
    size_t count, alloc;
    bool keep_bytes;
    uint8_t *bytes;             //  everything emitted, if keep_bytes
    size_t bytes_alloc;
} ms_rec_t;
//  --- Sample statistics

typedef struct {
    size_t n;
    double sum, sumsq, min, max;
} ms_sample_t;

uint64_t
ms_rand (uint64_t *state);

size_t
ms_below (uint64_t *state, size_t n);

double
ms_unit (uint64_t *state);

double
ms_gauss (uint64_t *state, double mean, double sd);

//  Sizes ~ N(1000, 200^2), rounded, at least 1.
size_t
ms_chunk_size (uint64_t *state);

uint8_t *
ms_random_bytes (uint64_t *state, size_t len);

void
ms_rec_init (ms_rec_t *rec, bool keep_bytes);

void
ms_rec_free (ms_rec_t *rec);

void
ms_emit (void *ctx, const uint8_t *data, size_t len);

uint64_t
ms_pump (mimic_t *m, ms_rec_t *rec, uint64_t now);

void
ms_push (mimic_t *m, ms_rec_t *rec, uint64_t now, const uint8_t *data, size_t len);

void
ms_enqueue (mimic_t *m, ms_rec_t *rec, const uint8_t *data, size_t len);

//  Pumps at the times the mimic asks for until nothing is queued; returns
//  the time of the last pump.
uint64_t
ms_drain (mimic_t *m, ms_rec_t *rec, uint64_t now);

void
ms_sample_add (ms_sample_t *s, double x);

double
ms_sample_mean (const ms_sample_t *s);

double
ms_sample_var (const ms_sample_t *s);

#endif
