/*  http_framer — where a message body ends: Content-Length bytes, a chunked
    body up to and including its trailers, or everything until the close.

    The body is passed on unchanged, so the origin or client behind us reads
    the same framing: chunked framing is checked byte by byte, and anything
    two readers could end in different places is refused.
*/
#include "handlers/http_codec.h"

#include <string.h>

#include "handlers/http_head.h"
#include "runtime/base/hex.h"

//  Longest chunk extension we pass through (they are never used in practice).
#define S_CHUNK_EXT_MAX 4096

void
http_framer_init (http_framer_t *self, http_body_t kind, uint64_t content_length)
{
    memset (self, 0, sizeof *self);
    self->kind = kind;
    self->chunk = HTTP_CHUNK_SIZE_START;
    if (kind == HTTP_BODY_LENGTH)
        self->remaining = content_length;
    self->done = kind == HTTP_BODY_NONE || (kind == HTTP_BODY_LENGTH && content_length == 0);
}

//  The LF that ends a line of chunked framing (a size line, the CRLF after
//  a chunk's data, a trailer line), after its CR if it had one.
static void
s_chunk_line_end (http_framer_t *self)
{
    switch (self->chunk) {
        case HTTP_CHUNK_SIZE:
        case HTTP_CHUNK_SIZE_WS:
        case HTTP_CHUNK_EXT:
        case HTTP_CHUNK_SIZE_LF:
            //  a chunk of size 0 is the last; the trailer section follows
            self->chunk = self->remaining? HTTP_CHUNK_DATA: HTTP_CHUNK_TRAILER_START;
            break;
        case HTTP_CHUNK_DATA_CR:
        case HTTP_CHUNK_DATA_LF:
            self->chunk = HTTP_CHUNK_SIZE_START;
            break;
        case HTTP_CHUNK_TRAILER:
        case HTTP_CHUNK_TRAILER_LF:
            self->chunk = HTTP_CHUNK_TRAILER_START;
            break;
        case HTTP_CHUNK_TRAILER_START:
        case HTTP_CHUNK_END_LF:
            self->done = true;      //  the empty line after the trailers
            break;
        case HTTP_CHUNK_SIZE_START:
        case HTTP_CHUNK_DATA:
            break;                  //  not at the end of a line
    }
}

//  A CR or LF where a framing line may end; a CR waits for its LF in lf_state.
//  Returns false for any other byte.
static bool
s_chunk_line_byte (http_framer_t *self, uint8_t c, http_chunk_state_t lf_state)
{
    if (c == '\r')
        self->chunk = lf_state;
    else
    if (c == '\n')
        s_chunk_line_end (self);
    else
        return false;
    return true;
}

//  One byte of chunked framing outside chunk data. Returns false if malformed.
static bool
s_chunk_byte (http_framer_t *self, uint8_t c)
{
    switch (self->chunk) {
        case HTTP_CHUNK_SIZE_START:
            if (hex_digit_value (c) < 0)
                return false;
            self->remaining = (uint64_t) hex_digit_value (c);
            self->chunk = HTTP_CHUNK_SIZE;
            return true;
        case HTTP_CHUNK_SIZE:
            if (hex_digit_value (c) >= 0) {
                //  At most 2^63 - 1, as Content-Length (http_head.c).
                if (self->remaining > ((uint64_t) INT64_MAX >> 4))
                    return false;
                self->remaining = (self->remaining << 4) | (uint64_t) hex_digit_value (c);
                return true;
            }
            //  not a digit: the size ended
            //  fall through
        case HTTP_CHUNK_SIZE_WS:
            if (http_is_ows (c))
                self->chunk = HTTP_CHUNK_SIZE_WS;
            else
            if (c == ';') {
                self->chunk = HTTP_CHUNK_EXT;
                self->ext_bytes = 0;
            }
            else
                return s_chunk_line_byte (self, c, HTTP_CHUNK_SIZE_LF);
            return true;
        case HTTP_CHUNK_EXT:
            if (c == '\r' || c == '\n')
                return s_chunk_line_byte (self, c, HTTP_CHUNK_SIZE_LF);
            if ((http_is_ctl (c) && c != '\t') || ++self->ext_bytes > S_CHUNK_EXT_MAX)
                return false;
            return true;
        case HTTP_CHUNK_DATA:
            return false;           //  handled by the caller
        case HTTP_CHUNK_DATA_CR:
            return s_chunk_line_byte (self, c, HTTP_CHUNK_DATA_LF);
        case HTTP_CHUNK_TRAILER_START:
        case HTTP_CHUNK_TRAILER:
            if (c == '\r' || c == '\n')
                return s_chunk_line_byte (self, c, self->chunk == HTTP_CHUNK_TRAILER_START?
                                          HTTP_CHUNK_END_LF: HTTP_CHUNK_TRAILER_LF);
            if (c == 0 || ++self->trailer_bytes > HTTP_HEAD_MAX)
                return false;
            self->chunk = HTTP_CHUNK_TRAILER;
            return true;
        case HTTP_CHUNK_SIZE_LF:
        case HTTP_CHUNK_DATA_LF:
        case HTTP_CHUNK_TRAILER_LF:
        case HTTP_CHUNK_END_LF:
            if (c != '\n')
                return false;
            s_chunk_line_end (self);
            return true;
    }
    return false;
}

static http_frame_t
s_feed_chunked (http_framer_t *self, const uint8_t *data, size_t len, size_t *used)
{
    size_t i = 0;
    while (i < len && !self->done) {
        if (self->chunk == HTTP_CHUNK_DATA) {
            size_t take = len - i;
            if (take > self->remaining)
                take = (size_t) self->remaining;
            i += take;
            self->remaining -= take;
            if (self->remaining == 0)
                self->chunk = HTTP_CHUNK_DATA_CR;
            continue;
        }
        if (!s_chunk_byte (self, data [i])) {
            *used = i;
            return HTTP_FRAME_ERROR;
        }
        i++;
    }
    *used = i;
    return self->done? HTTP_FRAME_DONE: HTTP_FRAME_MORE;
}

http_frame_t
http_framer_feed (http_framer_t *self, const uint8_t *data, size_t len, size_t *used)
{
    *used = 0;
    if (self->done)
        return HTTP_FRAME_DONE;
    switch (self->kind) {
        case HTTP_BODY_NONE:
            return HTTP_FRAME_DONE;
        case HTTP_BODY_UNTIL_CLOSE:
            *used = len;
            return HTTP_FRAME_MORE;
        case HTTP_BODY_LENGTH: {
            size_t take = len;
            if (take > self->remaining)
                take = (size_t) self->remaining;
            self->remaining -= take;
            *used = take;
            self->done = self->remaining == 0;
            return self->done? HTTP_FRAME_DONE: HTTP_FRAME_MORE;
        }
        case HTTP_BODY_CHUNKED:
            return s_feed_chunked (self, data, len, used);
    }
    return HTTP_FRAME_ERROR;
}
