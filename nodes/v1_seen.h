/*  v1_seen — the protocol v1 hellos a remote end has accepted since it
    started, bounded by count rather than by time, so that a recorded hello
    is refused when it comes back however late (PROTOCOL.md section 2 has no
    time in the hello; docs/PROTOCOL-v2.md section 11 says what this can and
    cannot do).

    A hello is remembered by a 64-bit fingerprint, the first 8 bytes of its
    ID0 = HMAC(K, IV): keyed, so uniform, and only authentic hellos are ever
    added (a prober without the key cannot fill it). The memory holds at
    least the last V1_SEEN_MIN hellos (in generations: when the newest is
    full the oldest is forgotten), in at most V1_SEEN_MAX_BYTES, allocated a
    generation at a time as hellos come (an idle end pays a few pages). A
    fresh hello is taken for a replay with a probability under 2^-24.
    Thread-safe (the workers of one wormhole share it).
*/
#ifndef MK_V1_SEEN_H
#define MK_V1_SEEN_H

#include <stddef.h>
#include <stdint.h>

#include "nodes/replay_filter.h"

typedef struct v1_seen_t v1_seen_t;

#define V1_SEEN_FP_SIZE 8

//  The default shape: 6 generations of 2^18 slots (1 MiB each), each
//  holding up to 7/8 of them: 1,146,880 to 1,376,256 hellos in 6 MiB.
#define V1_SEEN_SLOTS_LOG2 18
#define V1_SEEN_GENERATIONS 6
#define V1_SEEN_MIN ((size_t) (V1_SEEN_GENERATIONS - 1) * ((size_t) 7 << (V1_SEEN_SLOTS_LOG2 - 3)))
#define V1_SEEN_MAX_BYTES ((size_t) V1_SEEN_GENERATIONS * 4 << V1_SEEN_SLOTS_LOG2)

//  A memory of generations tables of 2^slots_log2 slots (4 <= slots_log2
//  <= 30, 2 <= generations <= 64; tests shrink them). NULL on error.
v1_seen_t *v1_seen_new (unsigned slots_log2, unsigned generations);
void v1_seen_destroy (v1_seen_t **self_p);

//  REPLAY_SEEN if fp was added before (and is still remembered); else
//  REPLAY_FRESH, and fp is remembered now; REPLAY_FULL if out of memory.
replay_result_t v1_seen_check (v1_seen_t *self, const uint8_t fp[V1_SEEN_FP_SIZE]);

//  Fingerprints held now, and the bytes their tables take.
size_t v1_seen_size (v1_seen_t *self);
size_t v1_seen_bytes (v1_seen_t *self);

#endif
