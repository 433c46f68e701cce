/*  http_head — what the request and response codecs share (http_head.c):
    scanning a head, reading its header fields, writing a rewritten head.
    Internal to the HTTP codec; everything else uses http_codec.h.
*/
#ifndef MK_HTTP_HEAD_H
#define MK_HTTP_HEAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "handlers/http_codec.h"

typedef enum {
    HTTP_SCAN_MORE,         //  the bytes so far are used up
    HTTP_SCAN_FIRST_LINE,   //  the start line is complete: check it now
    HTTP_SCAN_END,          //  the empty line: the head is complete
    HTTP_SCAN_ERROR         //  malformed: status and error say why
} http_scan_event_t;

typedef struct {
    const uint8_t *line;        //  without its line ending
    size_t line_len;
    const uint8_t *name;
    size_t name_len;
    const uint8_t *value;       //  without surrounding whitespace
    size_t value_len;
} http_header_t;

//  Output that stops growing (and remembers it) when out is full.
typedef struct {
    char *out;
    size_t len, max;
    bool overflow;
} http_writer_t;

typedef struct {
    bool present;
    int chunked;            //  times "chunked" was seen
    bool chunked_last;
    bool other;             //  a coding other than chunked
} http_codings_t;

//  What a head's framing and connection headers say. Requests and responses
//  read them alike; they differ only in what they make of them.
typedef struct {
    int hosts;              //  Host headers
    bool have_length;       //  a Content-Length was given
    uint64_t length;
    http_codings_t te;      //  Transfer-Encoding
    bool close;             //  Connection or Proxy-Connection: close
    bool keep_alive;        //  Connection or Proxy-Connection: keep-alive
} http_fields_t;

//  --- characters (RFC 9110 token characters, controls, optional whitespace)

static inline bool
http_is_tchar (uint8_t c)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
        return true;
    return c && strchr ("!#$%&'*+-.^_`|~", c) != NULL;
}

static inline bool
http_is_ctl (uint8_t c)
{
    return c < 0x20 || c == 0x7F;
}

static inline bool
http_is_ows (uint8_t c)
{
    return c == ' ' || c == '\t';
}

//  Case-insensitive comparison of a byte range with a C string.
bool http_ieq (const uint8_t *a, size_t alen, const char *b);

//  --- writing

void http_writer_put (http_writer_t *w, const void *data, size_t len);
void http_writer_puts (http_writer_t *w, const char *text);
//  The Connection line (close, or keep-alive if say_keep_alive) and the
//  empty line that end a rewritten head; returns the head's length, or -1
//  if it did not fit.
int http_writer_end (http_writer_t *w, bool close, bool say_keep_alive);

//  --- reading

//  "HTTP/1.1" -> 11, "HTTP/1.0" -> 10; another well-formed version -> 0;
//  malformed -> -1.
int http_head_version (const uint8_t *v, size_t n);

//  Advance over the complete lines of data[0..len), resuming where scan
//  stopped; see http_scan_event_t.
http_scan_event_t http_head_scan (http_scan_t *scan, const uint8_t *data, size_t len,
                                  int *status, const char **error);

//  The header line at *pos (a validated head ending at end); false at the
//  empty line.
bool http_head_next_header (const uint8_t *data, size_t end, size_t *pos, http_header_t *h);

//  Reads the framing headers of the validated head's header lines [headers,
//  end); false if a Content-Length is malformed or disagrees with another.
bool http_head_fields (const uint8_t *head, size_t headers, size_t end, http_fields_t *fields);

//  Whether h concerns only this hop: on the fixed list, or named by the
//  head's Connection headers (never a framing header).
bool http_head_is_hop_by_hop (const uint8_t *head, size_t headers, size_t end,
                              const http_header_t *h, const char **fixed);

#endif
