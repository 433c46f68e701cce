/*  http_response — the response head an origin sends: its status line and
    how its body is framed, and the head sent on to the client with the
    hop-by-hop headers of the origin connection replaced.

    A body framed by anything but Content-Length or a final chunked ends
    when the origin closes; such an origin connection is not reused.
*/
#include "handlers/http_codec.h"

#include <string.h>

#include "handlers/http_head.h"

//  Response headers that concern only the origin-proxy hop. Trailer and
//  Transfer-Encoding stay: the chunked body is passed on as it is.
static const char *s_response_hop_by_hop [] = {
    "Connection", "Proxy-Connection", "Keep-Alive", "Upgrade", NULL
};

static const char *
s_parse_status_line (http_response_t *self, const uint8_t *data)
{
    const uint8_t *line = data + self->scan.first_line;
    size_t len = self->scan.first_line_len;
    if (len < 12 || line [8] != ' ' || (len > 12 && line [12] != ' '))
        return "malformed status line";
    int version = http_head_version (line, 8);
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
    http_fields_t f;
    if (!http_head_fields (data, self->scan.headers, self->head_len, &f))
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
        switch (http_head_scan (&self->scan, data, len, &status, &error)) {
            case HTTP_SCAN_MORE:
                return HTTP_NEED_MORE;
            case HTTP_SCAN_ERROR:
                self->error = status == 400? error: "response head too large";
                return HTTP_ERROR;
            case HTTP_SCAN_FIRST_LINE:
                self->error = s_parse_status_line (self, data);
                if (self->error)
                    return HTTP_ERROR;
                break;
            case HTTP_SCAN_END:
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
    http_writer_t w = { out, 0, outmax, false };
    http_writer_put (&w, head + self->scan.first_line, self->scan.first_line_len);
    http_writer_puts (&w, "\r\n");
    size_t pos = self->scan.headers;
    http_header_t h;
    while (http_head_next_header (head, self->head_len, &pos, &h)) {
        if (http_head_is_hop_by_hop (head, self->scan.headers, self->head_len, &h,
                             s_response_hop_by_hop))
            continue;
        http_writer_put (&w, h.line, h.line_len);
        http_writer_puts (&w, "\r\n");
    }
    return http_writer_end (&w, client_close, client_version == 10 || self->version == 10);
}
