/*  http_head — what the request and response codecs share: scanning a head
    line by line, reading its header fields, and writing a rewritten head.

    Strict where a lenient reading could let a client and an origin disagree
    on where a message ends (request smuggling): NUL bytes, bare CRs, line
    folding and conflicting lengths are refused. Bare LF line endings are
    accepted (old clients send them).
*/
#include "handlers/http_head.h"

#include <string.h>

//  Headers a Connection list must not remove: they frame the message.
static const char *s_framing_headers [] = {
    "Host", "Content-Length", "Transfer-Encoding", NULL
};

//  --------------------------------------------------------------------------
//  Small strings

static uint8_t
s_lower (uint8_t c)
{
    return c >= 'A' && c <= 'Z'? (uint8_t) (c + 32): c;
}

//  Case-insensitive comparison of two byte ranges.
static bool
s_ieq_bytes (const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
    if (alen != blen)
        return false;
    for (size_t i = 0; i < alen; i++)
        if (s_lower (a [i]) != s_lower (b [i]))
            return false;
    return true;
}

bool
http_ieq (const uint8_t *a, size_t alen, const char *b)
{
    return s_ieq_bytes (a, alen, (const uint8_t *) b, strlen (b));
}

static bool
s_in_list (const uint8_t *a, size_t alen, const char **list)
{
    for (; *list; list++)
        if (http_ieq (a, alen, *list))
            return true;
    return false;
}

//  The next element of a comma-separated list, trimmed; skips empty elements.
static bool
s_next_token (const uint8_t **p, const uint8_t *end, const uint8_t **tok, size_t *tok_len)
{
    while (*p < end) {
        const uint8_t *start = *p;
        const uint8_t *comma = memchr (start, ',', (size_t) (end - start));
        const uint8_t *stop = comma? comma: end;
        *p = comma? comma + 1: end;
        while (start < stop && http_is_ows (*start))
            start++;
        while (stop > start && http_is_ows (stop [-1]))
            stop--;
        if (stop > start) {
            *tok = start;
            *tok_len = (size_t) (stop - start);
            return true;
        }
    }
    return false;
}

//  --------------------------------------------------------------------------
//  Writing

void
http_writer_put (http_writer_t *w, const void *data, size_t len)
{
    if (w->overflow || len > w->max - w->len) {
        w->overflow = true;
        return;
    }
    memcpy (w->out + w->len, data, len);
    w->len += len;
}

void
http_writer_puts (http_writer_t *w, const char *text)
{
    http_writer_put (w, text, strlen (text));
}

//  Says keep-alive where an HTTP/1.0 side would otherwise assume a close.
int
http_writer_end (http_writer_t *w, bool close, bool say_keep_alive)
{
    if (close)
        http_writer_puts (w, "Connection: close\r\n");
    else
    if (say_keep_alive)
        http_writer_puts (w, "Connection: keep-alive\r\n");
    http_writer_puts (w, "\r\n");
    return w->overflow? -1: (int) w->len;
}

//  --------------------------------------------------------------------------
//  Scanning

int
http_head_version (const uint8_t *v, size_t n)
{
    if (n != 8 || memcmp (v, "HTTP/", 5) != 0 || v [6] != '.'
    ||  v [5] < '0' || v [5] > '9' || v [7] < '0' || v [7] > '9')
        return -1;
    if (v [5] == '1' && (v [7] == '0' || v [7] == '1'))
        return 10 + (v [7] - '0');
    return 0;
}

static const char *
s_check_header_line (const uint8_t *line, size_t len)
{
    if (http_is_ows (line [0]))
        return "obsolete line folding in the head";
    const uint8_t *colon = memchr (line, ':', len);
    if (!colon)
        return "header line without a colon";
    if (colon == line)
        return "empty header name";
    for (const uint8_t *p = line; p < colon; p++)
        if (!http_is_tchar (*p))
            return "invalid character in a header name";
    for (const uint8_t *p = colon + 1; p < line + len; p++)
        if (http_is_ctl (*p) && *p != '\t')
            return "control character in a header value";
    return NULL;
}

//  Advance over complete lines. Stops after the start line (so the caller
//  can refuse a bad one before the rest arrives), at the empty line, or when
//  the bytes so far are used up or malformed.
http_scan_event_t
http_head_scan (http_scan_t *scan, const uint8_t *data, size_t len,
                int *status, const char **error)
{
    size_t limit = len < HTTP_HEAD_MAX? len: HTTP_HEAD_MAX;
    while (scan->checked < limit) {
        uint8_t c = data [scan->checked];
        if (c == 0) {
            *status = 400;
            *error = "NUL byte in the head";
            return HTTP_SCAN_ERROR;
        }
        if (c != '\n') {
            //  refuse binary garbage on the start line at once
            if (!scan->have_first_line && http_is_ctl (c) && c != '\r') {
                *status = 400;
                *error = "control character in the start line";
                return HTTP_SCAN_ERROR;
            }
            scan->checked++;
            continue;
        }
        size_t start = scan->line_start;
        size_t end = scan->checked;
        scan->checked++;
        scan->line_start = scan->checked;
        if (end > start && data [end - 1] == '\r')
            end--;

        if (!scan->have_first_line) {
            if (end == start)
                continue;               //  empty lines before a request are allowed
            for (size_t i = start; i < end; i++)
                if (http_is_ctl (data [i])) {
                    *status = 400;
                    *error = "control character in the start line";
                    return HTTP_SCAN_ERROR;
                }
            scan->have_first_line = true;
            scan->first_line = start;
            scan->first_line_len = end - start;
            scan->headers = scan->line_start;
            return HTTP_SCAN_FIRST_LINE;
        }
        if (end == start)
            return HTTP_SCAN_END;
        if (scan->header_count >= HTTP_HEADERS_MAX) {
            *status = 431;
            *error = "too many header lines";
            return HTTP_SCAN_ERROR;
        }
        const char *bad = s_check_header_line (data + start, end - start);
        if (bad) {
            *status = 400;
            *error = bad;
            return HTTP_SCAN_ERROR;
        }
        scan->header_count++;
    }
    if (len >= HTTP_HEAD_MAX) {
        *status = scan->have_first_line? 431: 414;
        *error = scan->have_first_line? "request head too large": "request line too long";
        return HTTP_SCAN_ERROR;
    }
    return HTTP_SCAN_MORE;
}

bool
http_head_next_header (const uint8_t *data, size_t end, size_t *pos, http_header_t *h)
{
    if (*pos >= end)
        return false;
    const uint8_t *line = data + *pos;
    const uint8_t *lf = memchr (line, '\n', end - *pos);
    if (!lf)
        return false;
    *pos = (size_t) (lf - data) + 1;
    size_t len = (size_t) (lf - line);
    if (len > 0 && line [len - 1] == '\r')
        len--;
    if (len == 0)
        return false;
    const uint8_t *colon = memchr (line, ':', len);
    if (!colon)
        return false;               //  cannot happen after http_head_scan
    h->line = line;
    h->line_len = len;
    h->name = line;
    h->name_len = (size_t) (colon - line);
    const uint8_t *v = colon + 1, *v_end = line + len;
    while (v < v_end && http_is_ows (*v))
        v++;
    while (v_end > v && http_is_ows (v_end [-1]))
        v_end--;
    h->value = v;
    h->value_len = (size_t) (v_end - v);
    return true;
}

//  --------------------------------------------------------------------------
//  Header fields

//  Content-Length: a list of identical decimal values ("5" or "5, 5"); all
//  of them (across headers too) must agree, and none above 2^63 - 1 (what
//  a signed 64-bit length, an off_t, holds: a larger one would be read
//  differently by whoever we forward it to). Returns false if not.
static bool
s_parse_length (const uint8_t *value, size_t len, bool *have, uint64_t *length)
{
    const uint8_t *p = value, *end = value + len, *tok;
    size_t tok_len;
    bool any = false;
    while (s_next_token (&p, end, &tok, &tok_len)) {
        uint64_t n = 0;
        for (size_t i = 0; i < tok_len; i++) {
            if (tok [i] < '0' || tok [i] > '9')
                return false;
            unsigned d = (unsigned) (tok [i] - '0');
            if (n > ((uint64_t) INT64_MAX - d) / 10)
                return false;
            n = n * 10 + d;
        }
        if (*have && n != *length)
            return false;
        *have = true;
        *length = n;
        any = true;
    }
    return any;
}

static void
s_parse_codings (const uint8_t *value, size_t len, http_codings_t *te)
{
    const uint8_t *p = value, *end = value + len, *tok;
    size_t tok_len;
    te->present = true;
    while (s_next_token (&p, end, &tok, &tok_len)) {
        te->chunked_last = http_ieq (tok, tok_len, "chunked");
        if (te->chunked_last)
            te->chunked++;
        else
            te->other = true;
    }
}

//  Connection / Proxy-Connection options that matter here.
static void
s_parse_connection (const uint8_t *value, size_t len, bool *close, bool *keep_alive)
{
    const uint8_t *p = value, *end = value + len, *tok;
    size_t tok_len;
    while (s_next_token (&p, end, &tok, &tok_len)) {
        if (http_ieq (tok, tok_len, "close"))
            *close = true;
        else
        if (http_ieq (tok, tok_len, "keep-alive"))
            *keep_alive = true;
    }
}

bool
http_head_fields (const uint8_t *head, size_t headers, size_t end, http_fields_t *fields)
{
    memset (fields, 0, sizeof *fields);
    size_t pos = headers;
    http_header_t h;
    while (http_head_next_header (head, end, &pos, &h)) {
        if (http_ieq (h.name, h.name_len, "Host"))
            fields->hosts++;
        else
        if (http_ieq (h.name, h.name_len, "Content-Length")) {
            if (!s_parse_length (h.value, h.value_len, &fields->have_length, &fields->length))
                return false;
        }
        else
        if (http_ieq (h.name, h.name_len, "Transfer-Encoding"))
            s_parse_codings (h.value, h.value_len, &fields->te);
        else
        if (http_ieq (h.name, h.name_len, "Connection")
        ||  http_ieq (h.name, h.name_len, "Proxy-Connection"))
            s_parse_connection (h.value, h.value_len, &fields->close, &fields->keep_alive);
    }
    return true;
}

//  Is the header name listed in one of the head's Connection headers?
static bool
s_listed_in_connection (const uint8_t *head, size_t headers, size_t end,
                        const uint8_t *name, size_t name_len)
{
    size_t pos = headers;
    http_header_t h;
    while (http_head_next_header (head, end, &pos, &h)) {
        if (!http_ieq (h.name, h.name_len, "Connection"))
            continue;
        const uint8_t *p = h.value, *v_end = h.value + h.value_len, *tok;
        size_t tok_len;
        while (s_next_token (&p, v_end, &tok, &tok_len))
            if (s_ieq_bytes (tok, tok_len, name, name_len))
                return true;
    }
    return false;
}

//  Hop-by-hop: on the fixed list, or named by Connection (framing headers
//  excepted, so a Connection list cannot unframe a message).
bool
http_head_is_hop_by_hop (const uint8_t *head, size_t headers, size_t end,
                         const http_header_t *h, const char **fixed)
{
    if (s_in_list (h->name, h->name_len, fixed))
        return true;
    if (s_in_list (h->name, h->name_len, s_framing_headers))
        return false;
    return s_listed_in_connection (head, headers, end, h->name, h->name_len);
}
