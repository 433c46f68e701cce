/*  fuzz_common — what the libFuzzer harnesses of test/fuzz share: an
    invariant check that aborts (so libFuzzer reports the input), a reader
    that takes the operations of an operation-encoded input one field at a
    time (0 once the input is used up), and a splitter that cuts a buffer
    into pieces whose sizes come from a seed, for split-invariance checks.
*/
#ifndef MK_FUZZ_COMMON_H
#define MK_FUZZ_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_CHECK(cond) \
    do { \
        if (!(cond)) { \
            fprintf (stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #cond); \
            abort (); \
        } \
    } while (0)

//  --- Reading an operation-encoded input

typedef struct {
    const uint8_t *p;
    size_t n;
} fuzz_in_t;

static inline fuzz_in_t
fuzz_in (const uint8_t *data, size_t size)
{
    return (fuzz_in_t) { data, size };
}

static inline bool
fuzz_more (const fuzz_in_t *in)
{
    return in->n > 0;
}

static inline uint8_t
fuzz_u8 (fuzz_in_t *in)
{
    if (!in->n)
        return 0;
    in->n--;
    return *in->p++;
}

static inline uint16_t
fuzz_u16 (fuzz_in_t *in)
{
    uint16_t hi = fuzz_u8 (in);
    return (uint16_t) (hi << 8 | fuzz_u8 (in));
}

static inline uint32_t
fuzz_u32 (fuzz_in_t *in)
{
    uint32_t hi = fuzz_u16 (in);
    return hi << 16 | fuzz_u16 (in);
}

static inline uint64_t
fuzz_u64 (fuzz_in_t *in)
{
    uint64_t hi = fuzz_u32 (in);
    return hi << 32 | fuzz_u32 (in);
}

//  Up to want bytes of the input, in place; returns how many.
static inline size_t
fuzz_bytes (fuzz_in_t *in, size_t want, const uint8_t **out)
{
    size_t n = want < in->n ? want : in->n;
    *out = in->p;
    in->p += n;
    in->n -= n;
    return n;
}

//  --- Splitting a buffer into pieces

//  seed 0: one piece; 1: byte by byte; else pieces of 1..seed bytes drawn
//  from a generator seeded with seed.
typedef struct {
    uint8_t seed;
    uint32_t state;
} fuzz_split_t;

static inline fuzz_split_t
fuzz_split (uint8_t seed)
{
    return (fuzz_split_t) { seed, 0x9E3779B9u ^ seed };
}

//  Size of the next piece of at most left bytes (>= 1 when left >= 1).
static inline size_t
fuzz_split_next (fuzz_split_t *s, size_t left)
{
    if (left == 0)
        return 0;
    if (s->seed == 0)
        return left;
    if (s->seed == 1)
        return 1;
    s->state = s->state * 1664525u + 1013904223u;
    size_t n = 1 + (s->state >> 8) % s->seed;
    return n < left ? n : left;
}

//  A heap copy of exactly len bytes, so ASan sees reads past the end.
static inline uint8_t *
fuzz_dup (const uint8_t *data, size_t len)
{
    uint8_t *copy = (uint8_t *) malloc (len ? len : 1);
    FUZZ_CHECK (copy);
    if (len)
        memcpy (copy, data, len);
    return copy;
}

#endif
