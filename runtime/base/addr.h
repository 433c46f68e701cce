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
//  at most 255 bytes, a name of addr_name_valid's characters or an IPv6 literal
//  in brackets. Returns 0, or -1 with a reason in err.
int hostport_parse (const char *text, hostport_t *out, char *err, size_t errlen);

//  len bytes are a host name as DNS (and IDNA, whose A-labels are ASCII) carries
//  it: letters, digits, '-', '.' and '_' (real names use it), 1..ADDR_HOST_MAX
//  of them. Anything else (a ']', a space, a NUL, a byte >= 0x80) is garbage
//  to refuse, never a name to look up.
bool addr_name_valid (const char *host, size_t len);

//  A host name from the wire (a SOCKS domain name, ATYP 3 or SOCKS4a): one of
//  addr_name_valid's characters, or an IPv6 literal that some clients send as
//  text. The codecs refuse anything else as a bad name, never looked up.
bool addr_host_valid (const char *host);

//  If host is an IPv4/IPv6 literal, fill sa (with port) and return true.
bool addr_from_literal (const char *host, uint16_t port, struct sockaddr_storage *sa, socklen_t *salen);

//  Format as "1.2.3.4:80" or "[::1]:80".
//  Sets the port of an IPv4 or IPv6 address (host order in); others stay as they are.
void addr_set_port (struct sockaddr_storage *sa, uint16_t port);

const char *addr_format (const struct sockaddr *sa, char *buf, size_t buflen);

#endif
