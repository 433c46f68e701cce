/*  v1_seen — accepted v1 hellos by count (see v1_seen.h).

    Each generation is an open-addressing table (linear probing) of 32-bit
    tags: the slot where a fingerprint's probe starts comes from its low
    bits, the tag is its high 32 bits (0 marks a free slot, so a tag of 0 is
    stored as 1). A generation takes hellos until it is 7/8 full; then the
    oldest generation is emptied and becomes the newest, so nothing is ever
    deleted one by one. A lookup probes every generation.
*/
#include "nodes/v1_seen.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    uint32_t *slots;            //  NULL until the generation first takes a hello
    size_t count;
} s_gen_t;

struct v1_seen_t {
    pthread_mutex_t lock;
    s_gen_t *gen;
    unsigned generations;
    unsigned cur;               //  the generation that takes new hellos
    size_t nslots;              //  per generation, a power of two
    size_t limit;               //  hellos per generation
    size_t size;                //  held in all generations
};

v1_seen_t *
v1_seen_new (unsigned slots_log2, unsigned generations)
{
    if (slots_log2 < 4 || slots_log2 > 30 || generations < 2 || generations > 64)
        return NULL;
    v1_seen_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->gen = calloc (generations, sizeof *self->gen);
    if (!self->gen || pthread_mutex_init (&self->lock, NULL) != 0) {
        free (self->gen);
        free (self);
        return NULL;
    }
    self->generations = generations;
    self->nslots = (size_t) 1 << slots_log2;
    self->limit = self->nslots / 8 * 7;
    return self;
}

void
v1_seen_destroy (v1_seen_t **self_p)
{
    v1_seen_t *self = *self_p;
    if (!self)
        return;
    for (unsigned i = 0; i < self->generations; i++)
        free (self->gen[i].slots);
    free (self->gen);
    pthread_mutex_destroy (&self->lock);
    free (self);
    *self_p = NULL;
}

static uint64_t
s_fp (const uint8_t fp[V1_SEEN_FP_SIZE])
{
    uint64_t v = 0;
    for (int i = 0; i < V1_SEEN_FP_SIZE; i++)
        v = v << 8 | fp[i];
    return v;
}

static uint32_t
s_tag (uint64_t fp)
{
    uint32_t tag = (uint32_t) (fp >> 32);
    return tag ? tag : 1;
}

static bool
s_holds (const v1_seen_t *self, const s_gen_t *gen, uint64_t fp)
{
    if (!gen->slots)
        return false;
    size_t mask = self->nslots - 1;
    uint32_t tag = s_tag (fp);
    for (size_t i = (size_t) fp & mask; gen->slots[i]; i = (i + 1) & mask)
        if (gen->slots[i] == tag)
            return true;
    return false;
}

//  Into the newest generation, which has room (or is made to).
static int
s_add (v1_seen_t *self, uint64_t fp)
{
    s_gen_t *gen = &self->gen[self->cur];
    if (gen->count >= self->limit) {
        self->cur = (self->cur + 1) % self->generations;
        gen = &self->gen[self->cur];
        self->size -= gen->count;
        gen->count = 0;
        //  Given back rather than cleared: calloc maps fresh zero pages.
        free (gen->slots);
        gen->slots = NULL;
    }
    if (!gen->slots && !(gen->slots = calloc (self->nslots, sizeof *gen->slots)))
        return -1;
    size_t mask = self->nslots - 1;
    size_t i = (size_t) fp & mask;
    while (gen->slots[i])
        i = (i + 1) & mask;
    gen->slots[i] = s_tag (fp);
    gen->count++;
    self->size++;
    return 0;
}

replay_result_t
v1_seen_check (v1_seen_t *self, const uint8_t fp[V1_SEEN_FP_SIZE])
{
    uint64_t v = s_fp (fp);
    replay_result_t result = REPLAY_FRESH;
    pthread_mutex_lock (&self->lock);
    for (unsigned i = 0; i < self->generations && result == REPLAY_FRESH; i++)
        if (s_holds (self, &self->gen[i], v))
            result = REPLAY_SEEN;
    if (result == REPLAY_FRESH && s_add (self, v) != 0)
        result = REPLAY_FULL;
    pthread_mutex_unlock (&self->lock);
    return result;
}

size_t
v1_seen_size (v1_seen_t *self)
{
    pthread_mutex_lock (&self->lock);
    size_t size = self->size;
    pthread_mutex_unlock (&self->lock);
    return size;
}

size_t
v1_seen_bytes (v1_seen_t *self)
{
    size_t bytes = 0;
    pthread_mutex_lock (&self->lock);
    for (unsigned i = 0; i < self->generations; i++)
        bytes += self->gen[i].slots ? self->nslots * sizeof (uint32_t) : 0;
    pthread_mutex_unlock (&self->lock);
    return bytes;
}
