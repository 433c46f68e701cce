/*  http_codec — HTTP/1.x proxy codecs: request and response heads, request
    rewriting, body framing and canned error replies. Pure functions, no I/O.

    The proxy never decodes bodies: it only needs to know where each message
    ends, so that a kept-alive client or origin connection can carry the next
    one. Heads are parsed incrementally: the caller accumulates bytes and calls
    the parser again with the longer buffer (same prefix); the parser resumes
    where it stopped, so a head delivered byte by byte costs linear time.

    One file a part: http_request.c, http_response.c, http_framer.c (bodies)
    and http_reply.c, over http_head.c (what the two head parsers share).
*/
#ifndef MK_HTTP_CODEC_H
#define MK_HTTP_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "runtime/base/acl.h"
#include "runtime/base/addr.h"

//  Largest request or response head (request line + headers + empty line).
#define HTTP_HEAD_MAX (16 * 1024)
//  Most header lines in one head.
#define HTTP_HEADERS_MAX 128
//  Room for a rewritten head: the original plus a Host and a Connection line
//  plus a CR for every bare-LF line.
#define HTTP_REWRITE_MAX (HTTP_HEAD_MAX + 1024)
//  Room for any canned error reply.
#define HTTP_ERROR_MAX 512

#define HTTP_CONNECT_ESTABLISHED "HTTP/1.1 200 Connection established\r\n\r\n"

typedef enum {
    HTTP_NEED_MORE = 0,     //  the head is not complete yet
    HTTP_OK,                //  the head is complete: head_len bytes
    HTTP_ERROR              //  malformed: answer with status
} http_result_t;

typedef enum {
    HTTP_BODY_NONE = 0,     //  no body
    HTTP_BODY_LENGTH,       //  Content-Length bytes
    HTTP_BODY_CHUNKED,      //  chunked transfer coding, up to and incl. the trailers
    HTTP_BODY_UNTIL_CLOSE   //  everything until the sender closes (responses only)
} http_body_t;

//  Where the incremental head scanner stopped; private to the codec.
typedef struct {
    size_t line_start;      //  start of the first line not yet complete
    size_t checked;         //  bytes [line_start, checked) hold no LF and no NUL
    size_t first_line;      //  offset of the start line (after leading empty lines)
    size_t first_line_len;  //  without its line ending
    size_t headers;         //  offset of the first header line
    bool have_first_line;
    int header_count;
} http_scan_t;

typedef struct {
    http_scan_t scan;
    size_t head_len;        //  HTTP_OK: bytes of the head, incl. the empty line
    int status;             //  HTTP_ERROR: 400, 414, 431, 501 or 505
    const char *error;      //  HTTP_ERROR: short reason (static string)

    char method [24];
    bool is_connect;        //  CONNECT host:port (tunnel)
    bool is_head;           //  HEAD: the response has no body
    int version;            //  10 or 11
    hostport_t target;      //  where to connect (host without brackets)
    size_t path;            //  absolute form: offset of path?query in the head
    size_t path_len;        //  0 means "/"
    bool keep_alive;        //  the client connection stays open after the response
    http_body_t body;       //  NONE, LENGTH or CHUNKED
    uint64_t content_length;
} http_request_t;

typedef struct {
    http_scan_t scan;
    size_t head_len;        //  HTTP_OK: bytes of the head, incl. the empty line
    const char *error;      //  HTTP_ERROR: short reason (static string)

    int code;               //  status code, 100-999
    int version;            //  10 or 11
    bool interim;           //  1xx: a final response follows
    http_body_t body;
    uint64_t content_length;
    bool reusable;          //  the origin connection can carry another request
} http_response_t;

//  Chunked framer states; private to the codec.
typedef enum {
    HTTP_CHUNK_SIZE_START, HTTP_CHUNK_SIZE, HTTP_CHUNK_SIZE_WS, HTTP_CHUNK_EXT, HTTP_CHUNK_SIZE_LF,
    HTTP_CHUNK_DATA, HTTP_CHUNK_DATA_CR, HTTP_CHUNK_DATA_LF,
    HTTP_CHUNK_TRAILER_START, HTTP_CHUNK_TRAILER, HTTP_CHUNK_TRAILER_LF, HTTP_CHUNK_END_LF
} http_chunk_state_t;

typedef struct {
    http_body_t kind;
    uint64_t remaining;     //  LENGTH: bytes left; CHUNKED: bytes left in the chunk
    http_chunk_state_t chunk;
    size_t ext_bytes;       //  length of the current chunk extension
    size_t trailer_bytes;   //  length of the trailer section so far
    bool done;
} http_framer_t;

typedef enum {
    HTTP_FRAME_MORE = 0,    //  all bytes belong to the message, which goes on
    HTTP_FRAME_DONE,        //  the message ended after *used bytes
    HTTP_FRAME_ERROR        //  malformed chunked framing
} http_frame_t;

//  --- requests (client -> proxy) ---

//  Zero a request before the first parse call.
void http_request_init (http_request_t *self);

//  Parse the request head in data[0..len). Call again with more bytes (same
//  prefix, same self) after HTTP_NEED_MORE. Leading empty lines are skipped
//  (and counted in head_len).
http_result_t http_request_parse (http_request_t *self, const uint8_t *data, size_t len);

//  The head to send to the origin for a parsed absolute-URI request: origin-
//  form request line, hop-by-hop headers removed, Host from the URI, and a
//  Connection line saying whether the origin connection may be kept.
//  Returns its length, or -1 if out is too small (HTTP_REWRITE_MAX always fits).
int http_request_rewrite (const http_request_t *self, const uint8_t *head,
                          char *out, size_t outmax);

//  Whether a parsed request's Proxy-Authorization (Basic) names one of users
//  (always true when users is NULL or empty). head is the buffer it was
//  parsed from. Compared in constant time.
bool http_request_authorized (const http_request_t *self, const uint8_t *head,
                              const acl_users_t *users);

//  The 407 that asks for credentials: Proxy-Authenticate: Basic
//  realm="mimicsocks", a short body, Connection: close. Returns its length
//  (0 if outmax is too small; HTTP_ERROR_MAX always fits).
size_t http_auth_required_response (char *out, size_t outmax);

//  --- responses (origin -> proxy) ---

void http_response_init (http_response_t *self);

//  Parse a response head; request_is_head: the request was HEAD (no body).
//  A 1xx response parses as interim: pass head_len bytes on, init, parse the rest.
http_result_t http_response_parse (http_response_t *self, const uint8_t *data, size_t len,
                                   bool request_is_head);

//  The head to send to the client: unchanged but for its hop-by-hop headers,
//  which say "close" when client_close (the proxy will close the client
//  connection after this response), keep-alive otherwise. client_version is
//  the request's (10 or 11). Returns its length, or -1 if out is too small.
int http_response_rewrite (const http_response_t *self, const uint8_t *head,
                           bool client_close, int client_version, char *out, size_t outmax);

//  --- bodies ---

void http_framer_init (http_framer_t *self, http_body_t kind, uint64_t content_length);

//  How many of data[0..len) belong to the current message (*used); the body
//  bytes themselves are passed on unchanged. UNTIL_CLOSE never ends.
http_frame_t http_framer_feed (http_framer_t *self, const uint8_t *data, size_t len,
                               size_t *used);

//  --- replies made by the proxy ---

//  "Bad Request" etc.; "Error" for unknown codes.
const char *http_reason (int status);

//  A complete reply with Connection: close and a text/plain body saying
//  detail (or the reason when detail is NULL). Returns its length (< outmax,
//  truncating the detail if needed).
size_t http_error_response (int status, const char *detail, char *out, size_t outmax);

#endif
