/*  How the HTTP harnesses run a body framer over a stream: whole or in
    pieces, with the framer's own invariants checked at every feed.
*/
#ifndef MK_FUZZ_HTTP_FRAMER_LIB_H
#define MK_FUZZ_HTTP_FRAMER_LIB_H

#include "handlers/http_codec.h"
#include "test/fuzz/fuzz_common.h"

typedef struct {
    http_frame_t result;        //  MORE: all of the stream belongs to the body
    size_t used;                //  bytes of the stream the body took
} fuzz_frame_run_t;

//  Feeds data[0..len) in pieces (seed, fuzz_split) the way the relay does:
//  each piece from where the last feed stopped. Checks: used <= piece, all
//  of it while MORE; once DONE a feed takes nothing and says DONE; after an
//  ERROR the same bytes are refused again without being taken.
static inline fuzz_frame_run_t
fuzz_frame_run (http_body_t kind, uint64_t length, const uint8_t *data, size_t len, uint8_t seed)
{
    http_framer_t f;
    http_framer_init (&f, kind, length);
    fuzz_split_t split = fuzz_split (seed);
    fuzz_frame_run_t run = { HTTP_FRAME_MORE, 0 };
    if (len == 0) {
        size_t used = 99;
        run.result = http_framer_feed (&f, data, 0, &used);
        FUZZ_CHECK (used == 0 && run.result != HTTP_FRAME_ERROR);
    }
    while (run.used < len) {
        size_t piece = fuzz_split_next (&split, len - run.used);
        uint8_t *copy = fuzz_dup (data + run.used, piece);
        size_t used = (size_t) -1;
        run.result = http_framer_feed (&f, copy, piece, &used);
        free (copy);
        FUZZ_CHECK (used <= piece);
        if (run.result == HTTP_FRAME_MORE)
            FUZZ_CHECK (used == piece);
        run.used += used;
        if (run.result != HTTP_FRAME_MORE)
            break;
    }
    if (kind == HTTP_BODY_UNTIL_CLOSE)
        FUZZ_CHECK (run.result == HTTP_FRAME_MORE && run.used == len);
    if (kind == HTTP_BODY_NONE)
        FUZZ_CHECK (run.result == HTTP_FRAME_DONE && run.used == 0);
    if (kind == HTTP_BODY_LENGTH) {
        FUZZ_CHECK (run.result != HTTP_FRAME_ERROR);
        FUZZ_CHECK (run.used == (length < len ? length : len));
        FUZZ_CHECK ((run.result == HTTP_FRAME_DONE) == (length <= len));
    }
    if (run.result == HTTP_FRAME_DONE) {
        size_t used = 99;
        FUZZ_CHECK (http_framer_feed (&f, data + run.used, len - run.used, &used) == HTTP_FRAME_DONE);
        FUZZ_CHECK (used == 0);
    }
    if (run.result == HTTP_FRAME_ERROR) {
        FUZZ_CHECK (run.used < len);
        size_t used = 99;
        FUZZ_CHECK (http_framer_feed (&f, data + run.used, len - run.used, &used) == HTTP_FRAME_ERROR);
        FUZZ_CHECK (used == 0);
    }
    return run;
}

#endif
