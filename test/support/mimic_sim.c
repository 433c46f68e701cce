/*  mimic_sim — what the mimic codec tests (test_mimic_*) run nodes/mimic.h
    on simulated time with: the tests' own random numbers (independent of
    the module's), a recorder of what the mimic emits (when, how much, the
    backlog before; the bytes if asked) with pushing, enqueueing and pumping
    at a simulated time, and sample statistics; hot-loop assertions.
*/
#include <check.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "nodes/mimic.h"
#include "test/support/mimic_sim.h"

//  --- The test's own random numbers (independent of the module's)

uint64_t
ms_rand (uint64_t *state)
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

size_t
ms_below (uint64_t *state, size_t n)
{
    return (size_t) (ms_rand (state) % n);
}

double
ms_unit (uint64_t *state)
{
    return (double) (ms_rand (state) >> 11) * 0x1.0p-53;
}

double
ms_gauss (uint64_t *state, double mean, double sd)
{
    double u1 = 1.0 - ms_unit (state);
    double u2 = ms_unit (state);
    return mean + sd * sqrt (-2.0 * log (u1)) * cos (2.0 * M_PI * u2);
}

//  Sizes ~ N(1000, 200^2), rounded, at least 1.
size_t
ms_chunk_size (uint64_t *state)
{
    double x = round (ms_gauss (state, 1000.0, 200.0));
    return x < 1.0 ? 1 : (size_t) x;
}

uint8_t *
ms_random_bytes (uint64_t *state, size_t len)
{
    uint8_t *data = (uint8_t *) malloc (len ? len : 1);
    ck_assert_ptr_nonnull (data);
    for (size_t i = 0; i < len; i++)
        data[i] = (uint8_t) ms_rand (state);
    return data;
}



void
ms_rec_init (ms_rec_t *rec, bool keep_bytes)
{
    memset (rec, 0, sizeof *rec);
    rec->keep_bytes = keep_bytes;
}

void
ms_rec_free (ms_rec_t *rec)
{
    free (rec->list);
    free (rec->bytes);
}

void
ms_emit (void *ctx, const uint8_t *data, size_t len)
{
    ms_rec_t *rec = (ms_rec_t *) ctx;
    MS_CHECK (len >= 1);
    MS_CHECK (data != NULL);
    MS_CHECK (rec->emitted + len <= rec->pushed);
    if (rec->count == rec->alloc) {
        rec->alloc = rec->alloc ? rec->alloc * 2 : 256;
        rec->list = (ms_emission_t *) realloc (rec->list, rec->alloc * sizeof (ms_emission_t));
        MS_CHECK (rec->list);
    }
    rec->list[rec->count++] = (ms_emission_t) {
        rec->now, len, rec->pushed - rec->emitted
    };
    if (rec->keep_bytes) {
        if (rec->emitted + len > rec->bytes_alloc) {
            rec->bytes_alloc = (rec->emitted + len) * 2;
            rec->bytes = (uint8_t *) realloc (rec->bytes, rec->bytes_alloc);
            MS_CHECK (rec->bytes);
        }
        memcpy (rec->bytes + rec->emitted, data, len);
    }
    rec->emitted += len;
}

uint64_t
ms_pump (mimic_t *m, ms_rec_t *rec, uint64_t now)
{
    rec->now = now;
    uint64_t next = mimic_pump (m, now, ms_emit, rec);
    MS_CHECK (rec->pushed - rec->emitted == mimic_queued (m));
    MS_CHECK ((next == UINT64_MAX) == (mimic_queued (m) == 0));
    MS_CHECK (next > now);
    return next;
}

void
ms_push (mimic_t *m, ms_rec_t *rec, uint64_t now, const uint8_t *data, size_t len)
{
    mimic_push (m, now, data, len);
    rec->pushed += len;
}

void
ms_enqueue (mimic_t *m, ms_rec_t *rec, const uint8_t *data, size_t len)
{
    mimic_enqueue (m, data, len);
    rec->pushed += len;
}

//  Pumps at the times the mimic asks for until nothing is queued; returns
//  the time of the last pump.
uint64_t
ms_drain (mimic_t *m, ms_rec_t *rec, uint64_t now)
{
    for (int i = 0; i < 1000000; i++) {
        uint64_t next = ms_pump (m, rec, now);
        if (next == UINT64_MAX)
            return now;
        now = next;
    }
    ck_abort_msg ("mimic never drained");
    return now;
}



void
ms_sample_add (ms_sample_t *s, double x)
{
    if (s->n == 0 || x < s->min)
        s->min = x;
    if (s->n == 0 || x > s->max)
        s->max = x;
    s->n++;
    s->sum += x;
    s->sumsq += x * x;
}

double
ms_sample_mean (const ms_sample_t *s)
{
    return s->sum / (double) s->n;
}

double
ms_sample_var (const ms_sample_t *s)
{
    double mean = ms_sample_mean (s);
    return (s->sumsq - (double) s->n * mean * mean) / (double) (s->n - 1);
}
