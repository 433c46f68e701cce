/*  replay_filter — the salts a v2 server has accepted lately
    (docs/PROTOCOL-v2.md section 6), so that no captured client flight is
    served twice.

    Two generations of period_s seconds: a salt is a replay if either holds
    it; when a period is over the older generation is forgotten. A salt is
    thus remembered for period_s to 2 * period_s, which covers the flights'
    time window when period_s >= 2 * V2_TIME_WINDOW_S. Bounded: each
    generation holds at most per_generation salts, and a full filter refuses
    rather than forget early. Thread-safe (the workers of one wormhole share
    it); one short lock per accepted flight, never on the data path.
*/
#ifndef MK_REPLAY_FILTER_H
#define MK_REPLAY_FILTER_H

#include <stddef.h>
#include <stdint.h>

typedef struct replay_filter_t replay_filter_t;

#define REPLAY_SALT_SIZE 32

typedef enum {
    REPLAY_FRESH = 0,           //  not seen: now remembered
    REPLAY_SEEN = 1,            //  a replay
    REPLAY_FULL = 2             //  cannot remember it: refuse the flight
} replay_result_t;

replay_filter_t *replay_filter_new (size_t per_generation, unsigned period_s);
void replay_filter_destroy (replay_filter_t **self_p);

//  Checks a salt at time now_s (seconds, any monotonic or wall clock that
//  does not go back) and remembers it if fresh.
replay_result_t replay_filter_check (replay_filter_t *self, const uint8_t salt[REPLAY_SALT_SIZE],
                                     uint64_t now_s);

//  Salts held now (both generations).
size_t replay_filter_size (replay_filter_t *self);

#endif
