/*  http_reply — the replies the proxy makes itself: reason phrases and
    complete error responses with a short text body.
*/
#include "handlers/http_codec.h"

#include <stdio.h>
#include <string.h>

const char *
http_reason (int status)
{
    switch (status) {
        case 200: return "OK";
        case 400: return "Bad Request";
        case 403: return "Forbidden";
        case 404: return "Not Found";
        case 405: return "Method Not Allowed";
        case 407: return "Proxy Authentication Required";
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
