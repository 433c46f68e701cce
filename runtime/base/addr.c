/*  addr — "host:port" / "[v6]:port" parsing and socket address formatting. */
#include "runtime/base/addr.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int
hostport_parse (const char *text, hostport_t *out, char *err, size_t errlen)
{
    const char *host = text, *host_end, *colon;
    if (!text || !*text) {
        snprintf (err, errlen, "empty address (expected host:port)");
        return -1;
    }
    if (text[0] == '[') {
        host = text + 1;
        host_end = strchr (host, ']');
        if (!host_end || host_end[1] != ':') {
            snprintf (err, errlen, "'%s': expected [ipv6]:port", text);
            return -1;
        }
        colon = host_end + 1;
    }
    else {
        colon = strrchr (text, ':');
        if (!colon) {
            snprintf (err, errlen, "'%s': missing :port", text);
            return -1;
        }
        if (memchr (text, ':', (size_t) (colon - text))) {
            snprintf (err, errlen, "'%s': an IPv6 address needs brackets, as [::1]:port", text);
            return -1;
        }
        host_end = colon;
    }
    size_t hlen = (size_t) (host_end - host);
    if (hlen == 0 || hlen > ADDR_HOST_MAX) {
        snprintf (err, errlen, "'%s': host must be 1 to %d bytes", text, ADDR_HOST_MAX);
        return -1;
    }
    const char *p = colon + 1;
    if (*p < '0' || *p > '9') {
        snprintf (err, errlen, "'%s': port must be a number 1-65535", text);
        return -1;
    }
    char *endp;
    long port = strtol (p, &endp, 10);
    if (*endp || port < 1 || port > 65535) {
        snprintf (err, errlen, "'%s': port must be a number 1-65535", text);
        return -1;
    }
    if (text[0] != '[' && !addr_name_valid (host, hlen)) {
        size_t bad = 0;
        while (bad < hlen && addr_name_valid (host + bad, 1))
            bad++;
        if (host[bad] >= 0x21 && host[bad] <= 0x7e)
            snprintf (err, errlen, "'%s': '%c' is not allowed in a host name (letters, digits, '-', '.', '_')",
                      text, host[bad]);
        else
            snprintf (err, errlen, "'%s': byte 0x%02x is not allowed in a host name (letters, digits, '-', '.', '_')",
                      text, (unsigned char) host[bad]);
        return -1;
    }
    memcpy (out->host, host, hlen);
    out->host[hlen] = 0;
    out->port = (uint16_t) port;
    //  A dotted string of digits is meant as an IPv4 address, never a host
    //  name: 300.1.2.3 must be an error here, not a failed lookup much later.
    struct in_addr a4;
    if (text[0] != '[' && strchr (out->host, '.')
    &&  strspn (out->host, "0123456789.") == hlen && inet_pton (AF_INET, out->host, &a4) != 1) {
        snprintf (err, errlen, "'%s': not an IPv4 address (four numbers 0-255)", text);
        return -1;
    }
    if (text[0] == '[') {
        struct in6_addr a6;
        if (inet_pton (AF_INET6, out->host, &a6) != 1) {
            snprintf (err, errlen, "'%s': not an IPv6 address inside brackets", text);
            return -1;
        }
    }
    return 0;
}

bool
addr_name_valid (const char *host, size_t len)
{
    if (len == 0 || len > ADDR_HOST_MAX)
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = host[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
        ||    c == '-' || c == '.' || c == '_'))
            return false;
    }
    return true;
}

bool
addr_host_valid (const char *host)
{
    struct in6_addr a6;
    return addr_name_valid (host, strlen (host)) || inet_pton (AF_INET6, host, &a6) == 1;
}

void
addr_set_port (struct sockaddr_storage *sa, uint16_t port)
{
    if (sa->ss_family == AF_INET)
        ((struct sockaddr_in *) sa)->sin_port = htons (port);
    else if (sa->ss_family == AF_INET6)
        ((struct sockaddr_in6 *) sa)->sin6_port = htons (port);
}

bool
addr_from_literal (const char *host, uint16_t port, struct sockaddr_storage *sa, socklen_t *salen)
{
    memset (sa, 0, sizeof *sa);
    struct sockaddr_in *v4 = (struct sockaddr_in *) sa;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *) sa;
    if (inet_pton (AF_INET, host, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons (port);
        *salen = sizeof *v4;
        return true;
    }
    if (inet_pton (AF_INET6, host, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons (port);
        *salen = sizeof *v6;
        return true;
    }
    return false;
}

const char *
addr_format (const struct sockaddr *sa, char *buf, size_t buflen)
{
    char ip[INET6_ADDRSTRLEN] = "?";
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *v4 = (const struct sockaddr_in *) sa;
        inet_ntop (AF_INET, &v4->sin_addr, ip, sizeof ip);
        snprintf (buf, buflen, "%s:%u", ip, ntohs (v4->sin_port));
    }
    else if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *v6 = (const struct sockaddr_in6 *) sa;
        inet_ntop (AF_INET6, &v6->sin6_addr, ip, sizeof ip);
        snprintf (buf, buflen, "[%s]:%u", ip, ntohs (v6->sin6_port));
    }
    else
        snprintf (buf, buflen, "(family %d)", sa->sa_family);
    return buf;
}
