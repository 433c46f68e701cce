/*  acl — which targets a proxy handler (socks, http) may connect to, and
    which users it serves.

    A target is checked on its resolved address just before the connect
    (runtime/handler.h: session_connect_filtered), so a name that resolves
    to a loopback address (DNS rebinding included) is caught like the
    literal. The order:

      1. an explicit deny: rule matches          -> denied ("deny 10.0.0.0/8")
      2. an explicit allow: rule matches         -> allowed
      3. a default rule matches                  -> denied ("loopback", ...)
      4. one of this host's interface addresses  -> denied ("own address")
      5. anything else                           -> allowed

    The default rules: loopback, unspecified, link-local, multicast,
    broadcast and reserved, private ranges (RFC 1918, CGNAT, ULA), for IPv4
    and IPv6; an IPv4-mapped IPv6 address (::ffff:a.b.c.d) is checked as the
    IPv4 address it carries. Private ranges are opened with allow: (the
    intranet scenario). A relay's fixed target is the operator's choice and
    is not checked.

    The users: RFC 1929 (SOCKS5) and HTTP Basic proxy credentials, compared
    in constant time.
*/
#ifndef MK_ACL_H
#define MK_ACL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

//  One CIDR: family AF_INET (4 bytes of addr used) or AF_INET6 (16).
typedef struct {
    int family;
    uint8_t addr [16];
    int prefix;             //  0..32 or 0..128
} acl_cidr_t;

//  The rules of one handler. Zeroed: the default rules only.
typedef struct {
    const acl_cidr_t *allow;
    size_t allow_count;
    const acl_cidr_t *deny;
    size_t deny_count;
} acl_t;

//  RFC 1929 limits both to 255 bytes.
#define ACL_NAME_MAX 255
typedef struct {
    char name [ACL_NAME_MAX + 1];
    char password [ACL_NAME_MAX + 1];
} acl_user_t;

//  Zeroed (count 0): no credentials are asked for.
typedef struct {
    const acl_user_t *users;
    size_t count;
} acl_users_t;

//  "10.0.0.0/8", "fd00::/8", "192.168.1.5/32"; an address without a prefix
//  is one host (/32, /128). Host bits set under the prefix are an error
//  ("10.0.0.1/8": did you mean 10.0.0.0/8 or 10.0.0.1/32?). Returns 0, or -1
//  with a reason in err.
int acl_cidr_parse (const char *text, acl_cidr_t *out, char *err, size_t errlen);

//  "10.0.0.0/8"
const char *acl_cidr_format (const acl_cidr_t *cidr, char *buf, size_t size);

//  Whether sa (AF_INET or AF_INET6, IPv4-mapped IPv6 seen as IPv4) is in cidr.
bool acl_cidr_match (const acl_cidr_t *cidr, const struct sockaddr *sa);

//  Reads this host's interface addresses (getifaddrs) for rule 4. Called
//  once at start, before the workers run; safe to call again (a reload).
void acl_init_local (void);

//  The number of interface addresses read by acl_init_local.
size_t acl_local_count (void);

//  Whether sa may be connected to under acl (NULL: the defaults). When it
//  may not, why says which rule ("loopback", "deny 10.0.0.0/8").
bool acl_check (const acl_t *acl, const struct sockaddr *sa, char *why, size_t whylen);

//  The default rules, for documentation and tests: cidr and name of entry
//  i, false past the last.
bool acl_default_rule (size_t i, acl_cidr_t *cidr, const char **name);

//  Same rules (for a reload: does anything change?).
bool acl_equal (const acl_t *a, const acl_t *b);
bool acl_users_equal (const acl_users_t *a, const acl_users_t *b);

//  Whether the name and password are one of the users'. Every user is
//  compared, each in time that depends only on the lengths involved.
bool acl_users_check (const acl_users_t *users, const uint8_t *name, size_t name_len,
                      const uint8_t *password, size_t password_len);

//  Whether host is a loopback address or "localhost" (a listener that only
//  this host reaches).
bool acl_host_is_loopback (const char *host);

//  A ZeroMQ endpoint that only this host can reach: ipc://, inproc://, or
//  tcp:// (ws://, wss://) on a loopback address ("*" and interface names are not).
bool acl_endpoint_is_loopback (const char *endpoint);

#endif
