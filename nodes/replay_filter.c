/*  replay_filter — two generations of salts (see replay_filter.h).

    Each generation is an open-addressing table of 16-byte keys, the two
    halves of each salt XORed (every bit of the salt counts; a salt only
    gets here once its first record is authentic, so its bytes are random
    and 128 bits do not collide), twice as many slots as it may hold, so
    probes stay short. An all-zero key marks a free slot; a salt whose key
    is all zero is stored as ...01.
*/
#include "nodes/replay_filter.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define S_KEY 16

typedef struct {
    uint8_t (*slots)[S_KEY];
    size_t nslots;              //  a power of two
    size_t count;
} s_gen_t;

struct replay_filter_t {
    pthread_mutex_t lock;
    s_gen_t gen[2];             //  gen[cur] fills now, the other is the previous period
    int cur;
    size_t per_generation;
    unsigned period_s;
    uint64_t started;           //  when gen[cur]'s period began
    bool has_started;
};

static int
s_gen_init (s_gen_t *gen, size_t per_generation)
{
    size_t n = 16;
    while (n < 2 * per_generation)
        n <<= 1;
    gen->slots = calloc (n, S_KEY);
    gen->nslots = n;
    gen->count = 0;
    return gen->slots ? 0 : -1;
}

replay_filter_t *
replay_filter_new (size_t per_generation, unsigned period_s)
{
    if (per_generation == 0 || period_s == 0)
        return NULL;
    replay_filter_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->per_generation = per_generation;
    self->period_s = period_s;
    if (pthread_mutex_init (&self->lock, NULL) != 0) {
        free (self);
        return NULL;
    }
    if (s_gen_init (&self->gen[0], per_generation) != 0
    ||  s_gen_init (&self->gen[1], per_generation) != 0)
        replay_filter_destroy (&self);
    return self;
}

void
replay_filter_destroy (replay_filter_t **self_p)
{
    replay_filter_t *self = *self_p;
    if (!self)
        return;
    free (self->gen[0].slots);
    free (self->gen[1].slots);
    pthread_mutex_destroy (&self->lock);
    free (self);
    *self_p = NULL;
}

static void
s_key (const uint8_t salt[REPLAY_SALT_SIZE], uint8_t key[S_KEY])
{
    static const uint8_t zero[S_KEY];
    for (int i = 0; i < S_KEY; i++)
        key[i] = salt[i] ^ salt[S_KEY + i];
    if (memcmp (key, zero, S_KEY) == 0)
        key[S_KEY - 1] = 1;
}

static size_t
s_hash (const uint8_t key[S_KEY], size_t nslots)
{
    uint64_t h;
    memcpy (&h, key, sizeof h);
    return (size_t) h & (nslots - 1);
}

//  The slot holding key, or the free slot where it would go.
static uint8_t *
s_find (s_gen_t *gen, const uint8_t key[S_KEY], bool *found)
{
    static const uint8_t zero[S_KEY];
    size_t i = s_hash (key, gen->nslots);
    for (;;) {
        uint8_t *slot = gen->slots[i];
        if (memcmp (slot, key, S_KEY) == 0) {
            *found = true;
            return slot;
        }
        if (memcmp (slot, zero, S_KEY) == 0) {
            *found = false;
            return slot;
        }
        i = (i + 1) & (gen->nslots - 1);
    }
}

//  Periods that are over: the current generation becomes the previous one
//  (after one period) or both are forgotten (after two).
static void
s_age (replay_filter_t *self, uint64_t now_s)
{
    if (!self->has_started) {
        self->started = now_s;
        self->has_started = true;
        return;
    }
    if (now_s < self->started + self->period_s)
        return;
    int old = 1 - self->cur;
    memset (self->gen[old].slots, 0, self->gen[old].nslots * S_KEY);
    self->gen[old].count = 0;
    if (now_s >= self->started + 2ull * self->period_s) {
        s_gen_t *cur = &self->gen[self->cur];
        memset (cur->slots, 0, cur->nslots * S_KEY);
        cur->count = 0;
        self->started = now_s;
        return;
    }
    self->cur = old;
    self->started += self->period_s;
}

replay_result_t
replay_filter_check (replay_filter_t *self, const uint8_t salt[REPLAY_SALT_SIZE], uint64_t now_s)
{
    uint8_t key[S_KEY];
    s_key (salt, key);
    pthread_mutex_lock (&self->lock);
    s_age (self, now_s);
    bool found;
    s_find (&self->gen[1 - self->cur], key, &found);
    replay_result_t result = REPLAY_SEEN;
    if (!found) {
        s_gen_t *cur = &self->gen[self->cur];
        uint8_t *slot = s_find (cur, key, &found);
        if (found)
            result = REPLAY_SEEN;
        else
        if (cur->count >= self->per_generation)
            result = REPLAY_FULL;
        else {
            memcpy (slot, key, S_KEY);
            cur->count++;
            result = REPLAY_FRESH;
        }
    }
    pthread_mutex_unlock (&self->lock);
    return result;
}

size_t
replay_filter_size (replay_filter_t *self)
{
    pthread_mutex_lock (&self->lock);
    size_t n = self->gen[0].count + self->gen[1].count;
    pthread_mutex_unlock (&self->lock);
    return n;
}
