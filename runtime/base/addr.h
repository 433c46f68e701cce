/*  addr — "host:port" / "[v6]:port" parsing and socket address formatting.

    Used by the config loader, the CLI and the handlers, so that every place
    reads and prints addresses the same way.
*/
#ifndef MK_ADDR_H
#define MK_ADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define ADDR_HOST_MAX 255

typedef struct {
    char host[ADDR_HOST_MAX + 1];   //  name or literal, without brackets
    uint16_t port;
} hostport_t;

//  Parse "host:port", "1.2.3.4:port", "[::1]:port". Port 1..65535, host non-empty,
//  at most 255 bytes. Returns 0, or -1 with a reason in err.
int hostport_parse (const char *text, hostport_t *out, char *err, size_t errlen);

//  If host is an IPv4/IPv6 literal, fill sa (with port) and return true.
bool addr_from_literal (const char *host, uint16_t port, struct sockaddr_storage *sa, socklen_t *salen);

//  Format as "1.2.3.4:80" or "[::1]:80".
//  Sets the port of an IPv4 or IPv6 address (host order in); others stay as they are.
void addr_set_port (struct sockaddr_storage *sa, uint16_t port);

const char *addr_format (const struct sockaddr *sa, char *buf, size_t buflen);

#endif
