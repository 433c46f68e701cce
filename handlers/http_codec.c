/*  http_codec — HTTP/1.x proxy codecs: heads, rewriting, body framing, errors.

    Strict where a lenient reading could let a client and an origin disagree
    on where a message ends (request smuggling): NUL bytes, bare CRs, line
    folding, conflicting lengths and unknown transfer codings are refused.
    Bare LF line endings are accepted (old clients send them).
*/
#include "handlers/http_codec.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "runtime/base/hex.h"

//  Longest chunk extension we pass through (they are never used in practice).
#define S_CHUNK_EXT_MAX 4096
//  Longer than any method we forward ("UPDATEREDIRECTREF" has 17 letters).
#define S_METHOD_MAX 20

//  Methods a proxy forwards; anything else is answered 501.
static const char *s_methods [] = {
    "GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH",
    //  WebDAV and friends (RFC 4918, 3253, 3648, 4791, 5323, 5842)
    "PROPFIND", "PROPPATCH", "MKCOL", "COPY", "MOVE", "LOCK", "UNLOCK", "REPORT",
    "SEARCH", "MKCALENDAR", "ACL", "BIND", "UNBIND", "REBIND", "ORDERPATCH",
    "MKACTIVITY", "CHECKOUT", "CHECKIN", "UNCHECKOUT", "MERGE", "LABEL", "UPDATE",
    "VERSION-CONTROL", "MKWORKSPACE", "BASELINE-CONTROL", "MKREDIRECTREF",
    "UPDATEREDIRECTREF", "LINK", "UNLINK",
    NULL
};

//  Request headers that concern only the client-proxy hop.
static const char *s_request_hop_by_hop [] = {
    "Connection", "Proxy-Connection", "Keep-Alive", "Proxy-Authorization",
    "TE", "Trailer", "Upgrade", NULL
};

//  Response headers that concern only the origin-proxy hop. Trailer and
//  Transfer-Encoding stay: the chunked body is passed on as it is.
static const char *s_response_hop_by_hop [] = {
    "Connection", "Proxy-Connection", "Keep-Alive", "Upgrade", NULL
};

//  Headers a Connection list must not remove: they frame the message.
static const char *s_framing_headers [] = {
    "Host", "Content-Length", "Transfer-Encoding", NULL
};

typedef enum { S_SCAN_MORE, S_SCAN_FIRST_LINE, S_SCAN_END, S_SCAN_ERROR } s_scan_event_t;

typedef struct {
    const uint8_t *line;        //  without its line ending
    size_t line_len;
    const uint8_t *name;
    size_t name_len;
    const uint8_t *value;       //  without surrounding whitespace
    size_t value_len;
} s_header_t;

//  Output that stops growing (and remembers it) when out is full.
typedef struct {
    char *out;
    size_t len, max;
    bool overflow;
} s_writer_t;

//  --------------------------------------------------------------------------
//  Characters and small strings

static bool
s_is_tchar (uint8_t c)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
        return true;
    return c && strchr ("!#$%&'*+-.^_`|~", c) != NULL;
}

static bool
s_is_ctl (uint8_t c)
{
    return c < 0x20 || c == 0x7F;
}

static bool
s_is_ows (uint8_t c)
{
    return c == ' ' || c == '\t';
}

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

//  Case-insensitive comparison of a byte range with a C string.
static bool
s_ieq (const uint8_t *a, size_t alen, const char *b)
{
    return s_ieq_bytes (a, alen, (const uint8_t *) b, strlen (b));
}

static bool
s_in_list (const uint8_t *a, size_t alen, const char **list)
{
    for (; *list; list++)
        if (s_ieq (a, alen, *list))
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
        while (start < stop && s_is_ows (*start))
            start++;
        while (stop > start && s_is_ows (stop [-1]))
            stop--;
        if (stop > start) {
            *tok = start;
            *tok_len = (size_t) (stop - start);
            return true;
        }
    }
    return false;
}

static void
s_put (s_writer_t *w, const void *data, size_t len)
{
    if (w->overflow || len > w->max - w->len) {
        w->overflow = true;
        return;
    }
    memcpy (w->out + w->len, data, len);
    w->len += len;
}

static void
s_puts (s_writer_t *w, const char *text)
{
    s_put (w, text, strlen (text));
}

//  The Connection line and the empty line that ends a rewritten head: close,
//  or keep-alive where an HTTP/1.0 side would otherwise assume a close.
//  Returns the head's length, or -1 if it did not fit.
static int
s_end_head (s_writer_t *w, bool close, bool say_keep_alive)
{
    if (close)
        s_puts (w, "Connection: close\r\n");
    else
    if (say_keep_alive)
        s_puts (w, "Connection: keep-alive\r\n");
    s_puts (w, "\r\n");
    return w->overflow? -1: (int) w->len;
}

//  "HTTP/1.1" -> 11, "HTTP/1.0" -> 10; another well-formed version -> 0;
//  malformed -> -1.
static int
s_parse_version (const uint8_t *v, size_t n)
{
    if (n != 8 || memcmp (v, "HTTP/", 5) != 0 || v [6] != '.'
    ||  v [5] < '0' || v [5] > '9' || v [7] < '0' || v [7] > '9')
        return -1;
    if (v [5] == '1' && (v [7] == '0' || v [7] == '1'))
        return 10 + (v [7] - '0');
    return 0;
}

//  --------------------------------------------------------------------------
//  Head scanning, shared by requests and responses

static const char *
s_check_header_line (const uint8_t *line, size_t len)
{
    if (s_is_ows (line [0]))
        return "obsolete line folding in the head";
    const uint8_t *colon = memchr (line, ':', len);
    if (!colon)
        return "header line without a colon";
    if (colon == line)
        return "empty header name";
    for (const uint8_t *p = line; p < colon; p++)
        if (!s_is_tchar (*p))
            return "invalid character in a header name";
    for (const uint8_t *p = colon + 1; p < line + len; p++)
        if (s_is_ctl (*p) && *p != '\t')
            return "control character in a header value";
    return NULL;
}

//  Advance over complete lines. Stops after the start line (so the caller
//  can refuse a bad one before the rest arrives), at the empty line, or when
//  the bytes so far are used up or malformed.
static s_scan_event_t
s_scan (http_scan_t *scan, const uint8_t *data, size_t len, int *status, const char **error)
{
    size_t limit = len < HTTP_HEAD_MAX? len: HTTP_HEAD_MAX;
    while (scan->checked < limit) {
        uint8_t c = data [scan->checked];
        if (c == 0) {
            *status = 400;
            *error = "NUL byte in the head";
            return S_SCAN_ERROR;
        }
        if (c != '\n') {
            //  refuse binary garbage on the start line at once
            if (!scan->have_first_line && s_is_ctl (c) && c != '\r') {
                *status = 400;
                *error = "control character in the start line";
                return S_SCAN_ERROR;
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
                if (s_is_ctl (data [i])) {
                    *status = 400;
                    *error = "control character in the start line";
                    return S_SCAN_ERROR;
                }
            scan->have_first_line = true;
            scan->first_line = start;
            scan->first_line_len = end - start;
            scan->headers = scan->line_start;
            return S_SCAN_FIRST_LINE;
        }
        if (end == start)
            return S_SCAN_END;
        if (scan->header_count >= HTTP_HEADERS_MAX) {
            *status = 431;
            *error = "too many header lines";
            return S_SCAN_ERROR;
        }
        const char *bad = s_check_header_line (data + start, end - start);
        if (bad) {
            *status = 400;
            *error = bad;
            return S_SCAN_ERROR;
        }
        scan->header_count++;
    }
    if (len >= HTTP_HEAD_MAX) {
        *status = scan->have_first_line? 431: 414;
        *error = scan->have_first_line? "request head too large": "request line too long";
        return S_SCAN_ERROR;
    }
    return S_SCAN_MORE;
}

//  The header line at *pos (a validated head ending at end); false at the
//  empty line.
static bool
s_next_header (const uint8_t *data, size_t end, size_t *pos, s_header_t *h)
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
        return false;               //  cannot happen after s_scan
    h->line = line;
    h->line_len = len;
    h->name = line;
    h->name_len = (size_t) (colon - line);
    const uint8_t *v = colon + 1, *v_end = line + len;
    while (v < v_end && s_is_ows (*v))
        v++;
    while (v_end > v && s_is_ows (v_end [-1]))
        v_end--;
    h->value = v;
    h->value_len = (size_t) (v_end - v);
    return true;
}

//  Content-Length: a list of identical decimal values ("5" or "5, 5"); all
//  of them (across headers too) must agree. Returns false if not.
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
            if (n > (UINT64_MAX - d) / 10)
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

typedef struct {
    bool present;
    int chunked;            //  times "chunked" was seen
    bool chunked_last;
    bool other;             //  a coding other than chunked
} s_codings_t;

static void
s_parse_codings (const uint8_t *value, size_t len, s_codings_t *te)
{
    const uint8_t *p = value, *end = value + len, *tok;
    size_t tok_len;
    te->present = true;
    while (s_next_token (&p, end, &tok, &tok_len)) {
        te->chunked_last = s_ieq (tok, tok_len, "chunked");
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
        if (s_ieq (tok, tok_len, "close"))
            *close = true;
        else
        if (s_ieq (tok, tok_len, "keep-alive"))
            *keep_alive = true;
    }
}

//  What a head's framing and connection headers say. Requests and responses
//  read them alike; they differ only in what they make of them.
typedef struct {
    int hosts;              //  Host headers
    bool have_length;       //  a Content-Length was given
    uint64_t length;
    s_codings_t te;         //  Transfer-Encoding
    bool close;             //  Connection or Proxy-Connection: close
    bool keep_alive;        //  Connection or Proxy-Connection: keep-alive
} s_fields_t;

//  False if a Content-Length is malformed or disagrees with another.
static bool
s_read_fields (const uint8_t *head, size_t headers, size_t end, s_fields_t *fields)
{
    memset (fields, 0, sizeof *fields);
    size_t pos = headers;
    s_header_t h;
    while (s_next_header (head, end, &pos, &h)) {
        if (s_ieq (h.name, h.name_len, "Host"))
            fields->hosts++;
        else
        if (s_ieq (h.name, h.name_len, "Content-Length")) {
            if (!s_parse_length (h.value, h.value_len, &fields->have_length, &fields->length))
                return false;
        }
        else
        if (s_ieq (h.name, h.name_len, "Transfer-Encoding"))
            s_parse_codings (h.value, h.value_len, &fields->te);
        else
        if (s_ieq (h.name, h.name_len, "Connection")
        ||  s_ieq (h.name, h.name_len, "Proxy-Connection"))
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
    s_header_t h;
    while (s_next_header (head, end, &pos, &h)) {
        if (!s_ieq (h.name, h.name_len, "Connection"))
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
static bool
s_is_hop_by_hop (const uint8_t *head, size_t headers, size_t end, const s_header_t *h,
                 const char **fixed)
{
    if (s_in_list (h->name, h->name_len, fixed))
        return true;
    if (s_in_list (h->name, h->name_len, s_framing_headers))
        return false;
    return s_listed_in_connection (head, headers, end, h->name, h->name_len);
}

//  --------------------------------------------------------------------------
//  Requests

//  "host", "host:port", "[v6]" or "[v6]:port" into out; returns an error or NULL.
static const char *
s_parse_authority (const uint8_t *text, size_t len, bool port_required, hostport_t *out)
{
    char buf [ADDR_HOST_MAX + 16];
    if (len == 0)
        return "empty host";
    if (len > ADDR_HOST_MAX + 8)
        return "host name too long";
    if (memchr (text, '@', len))
        return "user@ in the URL is not allowed";
    memcpy (buf, text, len);
    buf [len] = 0;

    //  does it carry a port, and is it empty ("host:")?
    const char *port = NULL;
    if (buf [0] == '[') {
        const char *close = strchr (buf, ']');
        if (!close || (close [1] != 0 && close [1] != ':'))
            return "malformed [IPv6] address";
        if (close [1] == ':')
            port = close + 2;
    }
    else {
        const char *colon = strchr (buf, ':');
        if (colon)
            port = colon + 1;
    }
    if (!port || !*port) {
        if (port_required)
            return "a port is required (host:port)";
        strcat (buf, port? "80": ":80");
    }
    char err [128];
    if (hostport_parse (buf, out, err, sizeof err) != 0)
        return "invalid host or port";
    if (buf [0] != '[')
        for (const char *c = out->host; *c; c++)
            if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z')
            ||    (*c >= '0' && *c <= '9') || *c == '.' || *c == '-' || *c == '_'))
                return "invalid character in the host name";
    return NULL;
}

//  The URI's authority for a Host header: port only when not 80.
static void
s_format_authority (const hostport_t *target, char *buf, size_t size)
{
    bool v6 = strchr (target->host, ':') != NULL;
    if (target->port == 80)
        snprintf (buf, size, v6? "[%s]": "%s", target->host);
    else
        snprintf (buf, size, v6? "[%s]:%u": "%s:%u", target->host, target->port);
}

static void
s_request_fail (http_request_t *self, int status, const char *error)
{
    self->status = status;
    self->error = error;
}

//  http://host[:port][/path][?query][#fragment]
static void
s_parse_absolute (http_request_t *self, const uint8_t *data, size_t off, size_t len)
{
    const uint8_t *t = data + off, *end = t + len;
    if (t [0] == '/' || (len == 1 && t [0] == '*')) {
        s_request_fail (self, 400, "this is a proxy: the request needs an absolute URI (http://host/path)");
        return;
    }
    const uint8_t *p = t;
    if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z'))) {
        s_request_fail (self, 400, "malformed request target");
        return;
    }
    while (p < end && (s_is_tchar (*p) && *p != ':'))
        p++;
    if (end - p < 3 || memcmp (p, "://", 3) != 0) {
        s_request_fail (self, 400, "malformed request target (expected http://host/path)");
        return;
    }
    if (s_ieq (t, (size_t) (p - t), "https")) {
        s_request_fail (self, 501, "https:// URLs go through CONNECT, not as a proxy request");
        return;
    }
    if (!s_ieq (t, (size_t) (p - t), "http")) {
        s_request_fail (self, 501, "unsupported URL scheme (only http:// is proxied)");
        return;
    }
    const uint8_t *authority = p + 3, *a_end = authority;
    while (a_end < end && *a_end != '/' && *a_end != '?' && *a_end != '#')
        a_end++;
    const char *bad = s_parse_authority (authority, (size_t) (a_end - authority), false,
                                         &self->target);
    if (bad) {
        s_request_fail (self, 400, bad);
        return;
    }
    const uint8_t *fragment = memchr (a_end, '#', (size_t) (end - a_end));
    self->path = (size_t) (a_end - data);
    self->path_len = (size_t) ((fragment? fragment: end) - a_end);
}

static void
s_parse_request_line (http_request_t *self, const uint8_t *data)
{
    const uint8_t *line = data + self->scan.first_line;
    size_t len = self->scan.first_line_len;
    const uint8_t *sp1 = memchr (line, ' ', len);
    const uint8_t *sp2 = memrchr (line, ' ', len);
    if (!sp1 || sp1 == sp2 || sp1 == line || sp2 == sp1 + 1
    ||  memchr (sp1 + 1, ' ', (size_t) (sp2 - sp1 - 1))) {
        s_request_fail (self, 400, "malformed request line");
        return;
    }
    size_t method_len = (size_t) (sp1 - line);
    for (size_t i = 0; i < method_len; i++)
        if (!s_is_tchar (line [i])) {
            s_request_fail (self, 400, "malformed request method");
            return;
        }
    int version = s_parse_version (sp2 + 1, (size_t) (line + len - sp2 - 1));
    if (version < 0) {
        s_request_fail (self, 400, "malformed HTTP version");
        return;
    }
    if (version == 0) {
        s_request_fail (self, 505, "only HTTP/1.0 and HTTP/1.1 are supported");
        return;
    }
    self->version = version;

    bool known = false;
    for (const char **m = s_methods; *m && !known && method_len <= S_METHOD_MAX; m++)
        known = method_len == strlen (*m) && memcmp (line, *m, method_len) == 0;
    if (!known) {
        s_request_fail (self, 501, "unsupported request method");
        return;
    }
    memcpy (self->method, line, method_len);
    self->method [method_len] = 0;
    self->is_connect = strcmp (self->method, "CONNECT") == 0;
    self->is_head = strcmp (self->method, "HEAD") == 0;

    size_t target = (size_t) (sp1 + 1 - data);
    size_t target_len = (size_t) (sp2 - sp1 - 1);
    if (self->is_connect) {
        const char *bad = s_parse_authority (data + target, target_len, true, &self->target);
        if (bad)
            s_request_fail (self, 400, bad);
    }
    else
        s_parse_absolute (self, data, target, target_len);
}

static void
s_parse_request_headers (http_request_t *self, const uint8_t *data)
{
    s_fields_t f;
    if (!s_read_fields (data, self->scan.headers, self->head_len, &f)) {
        s_request_fail (self, 400, "invalid or conflicting Content-Length");
        return;
    }
    if (f.hosts > 1) {
        s_request_fail (self, 400, "more than one Host header");
        return;
    }
    if (self->is_connect)
        return;                 //  what follows the head belongs to the tunnel

    if (f.te.present) {
        if (f.have_length) {
            s_request_fail (self, 400, "both Content-Length and Transfer-Encoding");
            return;
        }
        if (f.te.other || !f.te.chunked_last) {
            s_request_fail (self, 501, "unsupported transfer coding (only chunked)");
            return;
        }
        if (f.te.chunked > 1) {
            s_request_fail (self, 400, "chunked applied more than once");
            return;
        }
        self->body = HTTP_BODY_CHUNKED;
    }
    else
    if (f.have_length) {
        self->body = HTTP_BODY_LENGTH;
        self->content_length = f.length;
    }
    if (self->version == 11)
        self->keep_alive = !f.close;
    else
        //  an HTTP/1.0 message with Transfer-Encoding has unreliable framing
        self->keep_alive = f.keep_alive && !f.close && !f.te.present;
}

//  An incomplete request line can already be refused by its method, so that
//  garbage without a line end is not waited for until the head limit.
static void
s_check_partial_method (http_request_t *self, const uint8_t *data)
{
    size_t len = self->scan.checked - self->scan.line_start;
    if (len == 0)
        return;
    const uint8_t *line = data + self->scan.line_start;
    if (line [len - 1] == '\r')
        len--;                  //  may be the start of the line end
    for (size_t i = 0; i < len && line [i] != ' '; i++) {
        if (!s_is_tchar (line [i])) {
            s_request_fail (self, 400, "malformed request method");
            return;
        }
        if (i >= S_METHOD_MAX) {
            s_request_fail (self, 501, "unsupported request method");
            return;
        }
    }
}

void
http_request_init (http_request_t *self)
{
    memset (self, 0, sizeof *self);
}

http_result_t
http_request_parse (http_request_t *self, const uint8_t *data, size_t len)
{
    if (self->status)
        return HTTP_ERROR;
    if (self->head_len)
        return HTTP_OK;
    while (true) {
        int status = 0;
        const char *error = NULL;
        switch (s_scan (&self->scan, data, len, &status, &error)) {
            case S_SCAN_MORE:
                if (!self->scan.have_first_line)
                    s_check_partial_method (self, data);
                return self->status? HTTP_ERROR: HTTP_NEED_MORE;
            case S_SCAN_ERROR:
                s_request_fail (self, status, error);
                return HTTP_ERROR;
            case S_SCAN_FIRST_LINE:
                s_parse_request_line (self, data);
                if (self->status)
                    return HTTP_ERROR;
                break;
            case S_SCAN_END:
                self->head_len = self->scan.line_start;
                s_parse_request_headers (self, data);
                if (self->status) {
                    self->head_len = 0;
                    return HTTP_ERROR;
                }
                return HTTP_OK;
        }
    }
}

//  Does a Host header value name the URI's host and port?
static bool
s_host_matches (const s_header_t *h, const hostport_t *target)
{
    hostport_t host;
    if (s_parse_authority (h->value, h->value_len, false, &host))
        return false;
    return host.port == target->port && strcasecmp (host.host, target->host) == 0;
}

int
http_request_rewrite (const http_request_t *self, const uint8_t *head, char *out, size_t outmax)
{
    if (self->is_connect || self->head_len == 0)
        return -1;
    s_writer_t w = { out, 0, outmax, false };
    char authority [ADDR_HOST_MAX + 16];
    s_format_authority (&self->target, authority, sizeof authority);

    s_puts (&w, self->method);
    s_puts (&w, " ");
    if (self->path_len == 0 || head [self->path] == '?')
        s_puts (&w, "/");
    s_put (&w, head + self->path, self->path_len);
    s_puts (&w, self->version == 10? " HTTP/1.0\r\n": " HTTP/1.1\r\n");

    size_t pos = self->scan.headers;
    s_header_t h;
    bool have_host = false;
    while (s_next_header (head, self->head_len, &pos, &h))
        have_host = have_host || s_ieq (h.name, h.name_len, "Host");
    if (!have_host) {
        s_puts (&w, "Host: ");
        s_puts (&w, authority);
        s_puts (&w, "\r\n");
    }
    pos = self->scan.headers;
    while (s_next_header (head, self->head_len, &pos, &h)) {
        if (s_is_hop_by_hop (head, self->scan.headers, self->head_len, &h,
                             s_request_hop_by_hop))
            continue;
        //  the URI names the origin; a different Host would reach another site
        if (s_ieq (h.name, h.name_len, "Host") && !s_host_matches (&h, &self->target)) {
            s_puts (&w, "Host: ");
            s_puts (&w, authority);
        }
        else
            s_put (&w, h.line, h.line_len);
        s_puts (&w, "\r\n");
    }
    return s_end_head (&w, !self->keep_alive, self->version == 10);
}

//  --------------------------------------------------------------------------
//  Responses

static const char *
s_parse_status_line (http_response_t *self, const uint8_t *data)
{
    const uint8_t *line = data + self->scan.first_line;
    size_t len = self->scan.first_line_len;
    if (len < 12 || line [8] != ' ' || (len > 12 && line [12] != ' '))
        return "malformed status line";
    int version = s_parse_version (line, 8);
    if (version <= 0)
        return "unsupported HTTP version in the response";
    int code = 0;
    for (int i = 9; i < 12; i++) {
        if (line [i] < '0' || line [i] > '9')
            return "malformed status code";
        code = code * 10 + (line [i] - '0');
    }
    if (code < 100)
        return "malformed status code";
    if (code == 101)
        return "unexpected 101 Switching Protocols";
    self->version = version;
    self->code = code;
    self->interim = code < 200;
    return NULL;
}

static const char *
s_parse_response_headers (http_response_t *self, const uint8_t *data, bool request_is_head)
{
    s_fields_t f;
    if (!s_read_fields (data, self->scan.headers, self->head_len, &f))
        return "invalid or conflicting Content-Length in the response";
    if (f.te.present && f.have_length)
        return "both Content-Length and Transfer-Encoding in the response";

    if (request_is_head || self->interim || self->code == 204 || self->code == 304)
        self->body = HTTP_BODY_NONE;
    else
    if (f.te.present)
        //  a coding other than a final chunked is delimited by the close
        self->body = f.te.chunked_last && !f.te.other && f.te.chunked == 1?
            HTTP_BODY_CHUNKED: HTTP_BODY_UNTIL_CLOSE;
    else
    if (f.have_length) {
        self->body = HTTP_BODY_LENGTH;
        self->content_length = f.length;
    }
    else
        self->body = HTTP_BODY_UNTIL_CLOSE;

    self->reusable = !f.close && (self->version == 11 || f.keep_alive)
                  && self->body != HTTP_BODY_UNTIL_CLOSE
                  && !(self->version == 10 && f.te.present);
    return NULL;
}

void
http_response_init (http_response_t *self)
{
    memset (self, 0, sizeof *self);
}

http_result_t
http_response_parse (http_response_t *self, const uint8_t *data, size_t len,
                     bool request_is_head)
{
    if (self->error)
        return HTTP_ERROR;
    if (self->head_len)
        return HTTP_OK;
    while (true) {
        int status = 0;
        const char *error = NULL;
        switch (s_scan (&self->scan, data, len, &status, &error)) {
            case S_SCAN_MORE:
                return HTTP_NEED_MORE;
            case S_SCAN_ERROR:
                self->error = status == 400? error: "response head too large";
                return HTTP_ERROR;
            case S_SCAN_FIRST_LINE:
                self->error = s_parse_status_line (self, data);
                if (self->error)
                    return HTTP_ERROR;
                break;
            case S_SCAN_END:
                self->head_len = self->scan.line_start;
                self->error = s_parse_response_headers (self, data, request_is_head);
                if (self->error) {
                    self->head_len = 0;
                    return HTTP_ERROR;
                }
                return HTTP_OK;
        }
    }
}

int
http_response_rewrite (const http_response_t *self, const uint8_t *head,
                       bool client_close, int client_version, char *out, size_t outmax)
{
    if (self->head_len == 0)
        return -1;
    s_writer_t w = { out, 0, outmax, false };
    s_put (&w, head + self->scan.first_line, self->scan.first_line_len);
    s_puts (&w, "\r\n");
    size_t pos = self->scan.headers;
    s_header_t h;
    while (s_next_header (head, self->head_len, &pos, &h)) {
        if (s_is_hop_by_hop (head, self->scan.headers, self->head_len, &h,
                             s_response_hop_by_hop))
            continue;
        s_put (&w, h.line, h.line_len);
        s_puts (&w, "\r\n");
    }
    return s_end_head (&w, client_close, client_version == 10 || self->version == 10);
}

//  --------------------------------------------------------------------------
//  Bodies

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
                if (self->remaining > (UINT64_MAX >> 4))
                    return false;
                self->remaining = (self->remaining << 4) | (uint64_t) hex_digit_value (c);
                return true;
            }
            //  not a digit: the size ended
            //  fall through
        case HTTP_CHUNK_SIZE_WS:
            if (s_is_ows (c))
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
            if ((s_is_ctl (c) && c != '\t') || ++self->ext_bytes > S_CHUNK_EXT_MAX)
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

//  --------------------------------------------------------------------------
//  Replies made by the proxy

const char *
http_reason (int status)
{
    switch (status) {
        case 200: return "OK";
        case 400: return "Bad Request";
        case 403: return "Forbidden";
        case 404: return "Not Found";
        case 405: return "Method Not Allowed";
        case 408: return "Request Timeout";
        case 411: return "Length Required";
        case 413: return "Content Too Large";
        case 414: return "URI Too Long";
        case 431: return "Request Header Fields Too Large";
        case 500: return "Internal Server Error";
        case 501: return "Not Implemented";
        case 502: return "Bad Gateway";
        case 503: return "Service Unavailable";
        case 504: return "Gateway Timeout";
        case 505: return "HTTP Version Not Supported";
        default:  return "Error";
    }
}

size_t
http_error_response (int status, const char *detail, char *out, size_t outmax)
{
    const char *reason = http_reason (status);
    const char *text = detail? detail: reason;
    if (status < 100 || status > 999)
        status = 500;
    size_t text_len = strlen (text);
    int head = snprintf (NULL, 0, "HTTP/1.1 %d %s\r\nContent-Type: text/plain\r\n"
                         "Content-Length: %zu\r\nConnection: close\r\n\r\n",
                         status, reason, text_len + 1);
    //  a shorter body only shortens the head (fewer length digits)
    if ((size_t) head + text_len + 1 >= outmax) {
        if (outmax < (size_t) head + 2)
            return 0;
        text_len = outmax - (size_t) head - 2;
    }
    int n = snprintf (out, outmax, "HTTP/1.1 %d %s\r\nContent-Type: text/plain\r\n"
                      "Content-Length: %zu\r\nConnection: close\r\n\r\n%.*s\n",
                      status, reason, text_len + 1, (int) text_len, text);
    return n > 0? (size_t) n: 0;
}
