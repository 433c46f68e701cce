/*  http_auth — HTTP Basic proxy authentication (RFC 7617, RFC 9110 section
    11.7): the client's Proxy-Authorization checked against the handler's
    users, in constant time (runtime/base/acl.h), and the 407 that asks for it.
*/
#include "handlers/http_codec.h"

#include <stdio.h>
#include <string.h>

#include "handlers/http_head.h"

//  Room for base64 of "name:password" with both at 255 bytes.
#define S_DECODED_MAX (2 * ACL_NAME_MAX + 1)
#define S_ENCODED_MAX ((S_DECODED_MAX + 2) / 3 * 4)

static int
s_b64_value (uint8_t c)
{
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
}

//  Standard base64 with padding (a missing padding is tolerated); -1 if
//  malformed or longer than out.
static int
s_b64_decode (const uint8_t *in, size_t len, uint8_t *out, size_t cap)
{
    while (len > 0 && in [len - 1] == '=')
        len--;
    if (len % 4 == 1)
        return -1;
    size_t n = 0;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < len; i++) {
        int v = s_b64_value (in [i]);
        if (v < 0)
            return -1;
        acc = (acc << 6) | (uint32_t) v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (n == cap)
                return -1;
            out [n++] = (uint8_t) (acc >> bits);
        }
    }
    return (int) n;
}

//  One Proxy-Authorization value: "Basic base64(name:password)".
static bool
s_credentials_ok (const uint8_t *value, size_t len, const acl_users_t *users)
{
    if (len < 6 || !http_ieq (value, 5, "Basic") || !http_is_ows (value [5]))
        return false;
    size_t at = 6;
    while (at < len && http_is_ows (value [at]))
        at++;
    if (len - at > S_ENCODED_MAX)
        return false;
    uint8_t decoded [S_DECODED_MAX];
    int n = s_b64_decode (value + at, len - at, decoded, sizeof decoded);
    if (n < 0)
        return false;
    const uint8_t *colon = memchr (decoded, ':', (size_t) n);
    bool ok = colon
           && acl_users_check (users, decoded, (size_t) (colon - decoded),
                               colon + 1, (size_t) (decoded + n - colon - 1));
    explicit_bzero (decoded, sizeof decoded);
    return ok;
}

bool
http_request_authorized (const http_request_t *self, const uint8_t *head, const acl_users_t *users)
{
    if (!users || users->count == 0)
        return true;
    if (self->head_len == 0)
        return false;
    size_t pos = self->scan.headers;
    http_header_t h;
    bool ok = false;
    while (http_head_next_header (head, self->head_len, &pos, &h))
        if (http_ieq (h.name, h.name_len, "Proxy-Authorization"))
            ok = s_credentials_ok (h.value, h.value_len, users) || ok;
    return ok;
}

size_t
http_auth_required_response (char *out, size_t outmax)
{
    static const char body [] = "proxy authentication required\n";
    int n = snprintf (out, outmax, "HTTP/1.1 407 Proxy Authentication Required\r\n"
                      "Proxy-Authenticate: Basic realm=\"mimicsocks\"\r\n"
                      "Content-Type: text/plain\r\nContent-Length: %zu\r\n"
                      "Connection: close\r\n\r\n%s", sizeof body - 1, body);
    return n > 0 && (size_t) n < outmax? (size_t) n: 0;
}
