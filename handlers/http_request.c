/*  http_request — the request head a client sends the proxy: its request
    line (method, absolute URI or CONNECT authority, version) and framing,
    and its rewrite into the origin-form head sent on to the origin.

    Unknown transfer codings are refused (501): a request body must be
    framed by Content-Length or a final chunked.
*/
#include "handlers/http_codec.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "handlers/http_head.h"

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

//  --------------------------------------------------------------------------
//  Parsing

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
    if (buf [0] != '[') {
        const char *colon = strrchr (buf, ':');
        if (!addr_name_valid (buf, (size_t) (colon - buf)))
            return "invalid character in the host name";
    }
    char err [128];
    if (hostport_parse (buf, out, err, sizeof err) != 0)
        return "invalid host or port";
    return NULL;
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
    while (p < end && (http_is_tchar (*p) && *p != ':'))
        p++;
    if (end - p < 3 || memcmp (p, "://", 3) != 0) {
        s_request_fail (self, 400, "malformed request target (expected http://host/path)");
        return;
    }
    if (http_ieq (t, (size_t) (p - t), "https")) {
        s_request_fail (self, 501, "https:// URLs go through CONNECT, not as a proxy request");
        return;
    }
    if (!http_ieq (t, (size_t) (p - t), "http")) {
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

//  The method: the line's first bytes up to a space must be token bytes
//  (else 400), at most S_METHOD_MAX of them (else 501). Checked on the
//  line as far as it has come, so the answer is the same however the bytes
//  were split, and garbage without a line end is not waited for until the
//  head limit.
static void
s_check_method (http_request_t *self, const uint8_t *line, size_t len)
{
    for (size_t i = 0; i < len && line [i] != ' '; i++) {
        if (!http_is_tchar (line [i])) {
            s_request_fail (self, 400, "malformed request method");
            return;
        }
        if (i >= S_METHOD_MAX) {
            s_request_fail (self, 501, "unsupported request method");
            return;
        }
    }
}

static void
s_check_partial_method (http_request_t *self, const uint8_t *data)
{
    size_t len = self->scan.checked - self->scan.line_start;
    const uint8_t *line = data + self->scan.line_start;
    if (len > 0 && line [len - 1] == '\r')
        len--;                  //  may be the start of the line end
    s_check_method (self, line, len);
}

static void
s_parse_request_line (http_request_t *self, const uint8_t *data)
{
    const uint8_t *line = data + self->scan.first_line;
    size_t len = self->scan.first_line_len;
    s_check_method (self, line, len);
    if (self->status)
        return;
    const uint8_t *sp1 = memchr (line, ' ', len);
    const uint8_t *sp2 = memrchr (line, ' ', len);
    if (!sp1 || sp1 == sp2 || sp1 == line || sp2 == sp1 + 1
    ||  memchr (sp1 + 1, ' ', (size_t) (sp2 - sp1 - 1))) {
        s_request_fail (self, 400, "malformed request line");
        return;
    }
    size_t method_len = (size_t) (sp1 - line);
    for (size_t i = 0; i < method_len; i++)
        if (!http_is_tchar (line [i])) {
            s_request_fail (self, 400, "malformed request method");
            return;
        }
    int version = http_head_version (sp2 + 1, (size_t) (line + len - sp2 - 1));
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
    http_fields_t f;
    if (!http_head_fields (data, self->scan.headers, self->head_len, &f)) {
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
        switch (http_head_scan (&self->scan, data, len, &status, &error)) {
            case HTTP_SCAN_MORE:
                if (!self->scan.have_first_line)
                    s_check_partial_method (self, data);
                return self->status? HTTP_ERROR: HTTP_NEED_MORE;
            case HTTP_SCAN_ERROR:
                s_request_fail (self, status, error);
                return HTTP_ERROR;
            case HTTP_SCAN_FIRST_LINE:
                s_parse_request_line (self, data);
                if (self->status)
                    return HTTP_ERROR;
                break;
            case HTTP_SCAN_END:
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

//  --------------------------------------------------------------------------
//  Rewriting

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

//  Does a Host header value name the URI's host and port?
static bool
s_host_matches (const http_header_t *h, const hostport_t *target)
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
    http_writer_t w = { out, 0, outmax, false };
    char authority [ADDR_HOST_MAX + 16];
    s_format_authority (&self->target, authority, sizeof authority);

    http_writer_puts (&w, self->method);
    http_writer_puts (&w, " ");
    if (self->path_len == 0 || head [self->path] == '?')
        http_writer_puts (&w, "/");
    http_writer_put (&w, head + self->path, self->path_len);
    http_writer_puts (&w, self->version == 10? " HTTP/1.0\r\n": " HTTP/1.1\r\n");

    size_t pos = self->scan.headers;
    http_header_t h;
    bool have_host = false;
    while (http_head_next_header (head, self->head_len, &pos, &h))
        have_host = have_host || http_ieq (h.name, h.name_len, "Host");
    if (!have_host) {
        http_writer_puts (&w, "Host: ");
        http_writer_puts (&w, authority);
        http_writer_puts (&w, "\r\n");
    }
    pos = self->scan.headers;
    while (http_head_next_header (head, self->head_len, &pos, &h)) {
        if (http_head_is_hop_by_hop (head, self->scan.headers, self->head_len, &h,
                             s_request_hop_by_hop))
            continue;
        //  the URI names the origin; a different Host would reach another site
        if (http_ieq (h.name, h.name_len, "Host") && !s_host_matches (&h, &self->target)) {
            http_writer_puts (&w, "Host: ");
            http_writer_puts (&w, authority);
        }
        else
            http_writer_put (&w, h.line, h.line_len);
        http_writer_puts (&w, "\r\n");
    }
    return http_writer_end (&w, !self->keep_alive, self->version == 10);
}
