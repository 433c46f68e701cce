/*  acl — target rules and proxy users (see acl.h). */
#include "runtime/base/acl.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "runtime/base/log.h"

#define S_LOCAL_MAX 256

typedef struct {
    const char *text;
    const char *name;
} s_rule_t;

//  In the order they are checked: the first match names the denial.
static const s_rule_t s_default_rules [] = {
    { "127.0.0.0/8",        "loopback" },
    { "::1/128",            "loopback" },
    { "0.0.0.0/8",          "unspecified" },
    { "::/128",             "unspecified" },
    { "169.254.0.0/16",     "link-local" },
    { "fe80::/10",          "link-local" },
    { "224.0.0.0/4",        "multicast" },
    { "ff00::/8",           "multicast" },
    { "255.255.255.255/32", "broadcast" },
    { "240.0.0.0/4",        "reserved" },
    { "10.0.0.0/8",         "private" },
    { "172.16.0.0/12",      "private" },
    { "192.168.0.0/16",     "private" },
    { "100.64.0.0/10",      "private (shared address space)" },
    { "fc00::/7",           "private (unique local)" },
    { NULL, NULL }
};

static acl_cidr_t s_defaults [sizeof s_default_rules / sizeof s_default_rules [0]];
static size_t s_default_count;
static pthread_once_t s_defaults_once = PTHREAD_ONCE_INIT;

//  This host's interface addresses (host rules), written before the workers start.
static acl_cidr_t s_local [S_LOCAL_MAX];
static size_t s_local_count;
static pthread_mutex_t s_local_lock = PTHREAD_MUTEX_INITIALIZER;

static void
s_defaults_init (void)
{
    char err [64];
    for (size_t i = 0; s_default_rules [i].text; i++)
        if (acl_cidr_parse (s_default_rules [i].text, &s_defaults [s_default_count], err, sizeof err) == 0)
            s_default_count++;
}

int
acl_cidr_parse (const char *text, acl_cidr_t *out, char *err, size_t errlen)
{
    char buf [64];
    memset (out, 0, sizeof *out);
    size_t len = strlen (text);
    if (len == 0 || len >= sizeof buf) {
        snprintf (err, errlen, "expected an address/prefix such as 10.0.0.0/8 or fd00::/8");
        return -1;
    }
    memcpy (buf, text, len + 1);
    char *slash = strchr (buf, '/');
    if (slash)
        *slash = 0;
    const char *address = buf;
    if (address [0] == '[' && address [strlen (address) - 1] == ']') {
        buf [strlen (buf) - 1] = 0;
        address++;
    }
    if (inet_pton (AF_INET, address, out->addr) == 1)
        out->family = AF_INET;
    else
    if (inet_pton (AF_INET6, address, out->addr) == 1)
        out->family = AF_INET6;
    else {
        snprintf (err, errlen, "'%.40s' is not an IPv4 or IPv6 address", address);
        return -1;
    }
    int max = out->family == AF_INET? 32: 128;
    out->prefix = max;
    bool mapped = out->family == AF_INET6 && IN6_IS_ADDR_V4MAPPED ((struct in6_addr *) out->addr);
    if (slash) {
        const char *p = slash + 1;
        int prefix = 0;
        if (!*p || strlen (p) > 3) {
            snprintf (err, errlen, "prefix length must be 0 to %d", max);
            return -1;
        }
        for (; *p; p++) {
            if (*p < '0' || *p > '9') {
                snprintf (err, errlen, "prefix length must be 0 to %d", max);
                return -1;
            }
            prefix = prefix * 10 + (*p - '0');
        }
        if (prefix > max) {
            snprintf (err, errlen, "prefix length must be 0 to %d, not %d", max, prefix);
            return -1;
        }
        out->prefix = prefix;
    }
    //  host bits under the prefix: a typo more often than not
    size_t bytes = (size_t) max / 8;
    for (size_t i = 0; i < bytes; i++) {
        int bit = (int) i * 8;
        uint8_t mask = bit >= out->prefix? 0xFF
                     : bit + 8 <= out->prefix? 0
                     : (uint8_t) (0xFF >> (out->prefix - bit));
        if (out->addr [i] & mask) {
            char net [64];
            acl_cidr_t fixed = *out;
            for (size_t j = i; j < bytes; j++) {
                int b = (int) j * 8;
                uint8_t m = b >= out->prefix? 0xFF: b + 8 <= out->prefix? 0
                          : (uint8_t) (0xFF >> (out->prefix - b));
                fixed.addr [j] &= (uint8_t) ~m;
            }
            snprintf (err, errlen, "host bits set under /%d (the network is %s)", out->prefix,
                      acl_cidr_format (&fixed, net, sizeof net));
            return -1;
        }
    }
    //  ::ffff:a.b.c.d/N (N >= 96) is the IPv4 rule a.b.c.d/(N - 96): targets
    //  in that form are checked as IPv4
    if (mapped && out->prefix >= 96) {
        memmove (out->addr, out->addr + 12, 4);
        memset (out->addr + 4, 0, 12);
        out->family = AF_INET;
        out->prefix -= 96;
    }
    return 0;
}

const char *
acl_cidr_format (const acl_cidr_t *cidr, char *buf, size_t size)
{
    char text [INET6_ADDRSTRLEN];
    if (!inet_ntop (cidr->family, cidr->addr, text, sizeof text))
        snprintf (text, sizeof text, "?");
    snprintf (buf, size, "%s/%d", text, cidr->prefix);
    return buf;
}

//  The address sa holds (IPv4-mapped as IPv4): family, and 4 or 16 bytes.
static int
s_address (const struct sockaddr *sa, uint8_t addr [16])
{
    if (sa->sa_family == AF_INET) {
        memcpy (addr, &((const struct sockaddr_in *) sa)->sin_addr, 4);
        return AF_INET;
    }
    if (sa->sa_family == AF_INET6) {
        const struct in6_addr *a6 = &((const struct sockaddr_in6 *) sa)->sin6_addr;
        if (IN6_IS_ADDR_V4MAPPED (a6)) {
            memcpy (addr, a6->s6_addr + 12, 4);
            return AF_INET;
        }
        memcpy (addr, a6->s6_addr, 16);
        return AF_INET6;
    }
    return AF_UNSPEC;
}

static bool
s_match (const acl_cidr_t *cidr, int family, const uint8_t *addr)
{
    if (cidr->family != family)
        return false;
    int full = cidr->prefix / 8, rest = cidr->prefix % 8;
    if (memcmp (cidr->addr, addr, (size_t) full) != 0)
        return false;
    if (rest == 0)
        return true;
    uint8_t mask = (uint8_t) (0xFF << (8 - rest));
    return (cidr->addr [full] & mask) == (addr [full] & mask);
}

bool
acl_cidr_match (const acl_cidr_t *cidr, const struct sockaddr *sa)
{
    uint8_t addr [16];
    int family = s_address (sa, addr);
    return family != AF_UNSPEC && s_match (cidr, family, addr);
}

void
acl_init_local (void)
{
    struct ifaddrs *ifs = NULL;
    if (getifaddrs (&ifs) != 0) {
        log_warn ("acl: cannot read this host's interface addresses (getifaddrs): "
                  "only the fixed rules protect them");
        return;
    }
    acl_cidr_t found [S_LOCAL_MAX];
    size_t count = 0;
    for (struct ifaddrs *i = ifs; i && count < S_LOCAL_MAX; i = i->ifa_next) {
        if (!i->ifa_addr)
            continue;
        uint8_t addr [16];
        int family = s_address (i->ifa_addr, addr);
        if (family == AF_UNSPEC)
            continue;
        acl_cidr_t *c = &found [count];
        memset (c, 0, sizeof *c);
        c->family = family;
        c->prefix = family == AF_INET? 32: 128;
        memcpy (c->addr, addr, family == AF_INET? 4: 16);
        bool dup = false;
        for (size_t j = 0; j < count && !dup; j++)
            dup = memcmp (&found [j], c, sizeof *c) == 0;
        if (!dup)
            count++;
    }
    freeifaddrs (ifs);
    pthread_mutex_lock (&s_local_lock);
    memcpy (s_local, found, count * sizeof found [0]);
    s_local_count = count;
    pthread_mutex_unlock (&s_local_lock);
}

size_t
acl_local_count (void)
{
    return s_local_count;
}

static bool
s_in_list (const acl_cidr_t *list, size_t count, int family, const uint8_t *addr,
           const acl_cidr_t **hit)
{
    for (size_t i = 0; i < count; i++)
        if (s_match (&list [i], family, addr)) {
            *hit = &list [i];
            return true;
        }
    return false;
}

bool
acl_check (const acl_t *acl, const struct sockaddr *sa, char *why, size_t whylen)
{
    pthread_once (&s_defaults_once, s_defaults_init);
    uint8_t addr [16];
    int family = s_address (sa, addr);
    if (family == AF_UNSPEC) {
        snprintf (why, whylen, "not an IP address");
        return false;
    }
    const acl_cidr_t *hit = NULL;
    char text [64];
    if (acl && s_in_list (acl->deny, acl->deny_count, family, addr, &hit)) {
        snprintf (why, whylen, "deny %s", acl_cidr_format (hit, text, sizeof text));
        return false;
    }
    if (acl && s_in_list (acl->allow, acl->allow_count, family, addr, &hit))
        return true;
    for (size_t i = 0; i < s_default_count; i++)
        if (s_match (&s_defaults [i], family, addr)) {
            snprintf (why, whylen, "%s", s_default_rules [i].name);
            return false;
        }
    //  Read-mostly: written at start (and on reload) only.
    pthread_mutex_lock (&s_local_lock);
    bool own = s_in_list (s_local, s_local_count, family, addr, &hit);
    pthread_mutex_unlock (&s_local_lock);
    if (own) {
        snprintf (why, whylen, "an address of this host");
        return false;
    }
    return true;
}

bool
acl_default_rule (size_t i, acl_cidr_t *cidr, const char **name)
{
    pthread_once (&s_defaults_once, s_defaults_init);
    if (i >= s_default_count)
        return false;
    *cidr = s_defaults [i];
    *name = s_default_rules [i].name;
    return true;
}

static bool
s_list_equal (const acl_cidr_t *a, size_t na, const acl_cidr_t *b, size_t nb)
{
    return na == nb && (na == 0 || memcmp (a, b, na * sizeof a [0]) == 0);
}

bool
acl_equal (const acl_t *a, const acl_t *b)
{
    static const acl_t none;
    a = a? a: &none;
    b = b? b: &none;
    return s_list_equal (a->allow, a->allow_count, b->allow, b->allow_count)
        && s_list_equal (a->deny, a->deny_count, b->deny, b->deny_count);
}

bool
acl_users_equal (const acl_users_t *a, const acl_users_t *b)
{
    static const acl_users_t none;
    a = a? a: &none;
    b = b? b: &none;
    if (a->count != b->count)
        return false;
    for (size_t i = 0; i < a->count; i++)
        if (strcmp (a->users [i].name, b->users [i].name) != 0
        ||  strcmp (a->users [i].password, b->users [i].password) != 0)
            return false;
    return true;
}

//  0 if equal: every byte of the fixed-size field is looked at, whatever
//  the lengths and contents.
static unsigned
s_differs (const char field [ACL_NAME_MAX + 1], const uint8_t *given, size_t given_len)
{
    volatile unsigned diff = given_len > ACL_NAME_MAX;
    size_t field_len = strnlen (field, ACL_NAME_MAX + 1);
    diff |= (unsigned) (field_len ^ given_len);
    for (size_t i = 0; i <= ACL_NAME_MAX; i++) {
        uint8_t g = i < given_len && i <= ACL_NAME_MAX? given [i]: 0;
        diff |= (unsigned) ((uint8_t) field [i] ^ g);
    }
    return diff;
}

bool
acl_users_check (const acl_users_t *users, const uint8_t *name, size_t name_len,
                 const uint8_t *password, size_t password_len)
{
    if (!users || users->count == 0)
        return false;
    unsigned found = 0;
    for (size_t i = 0; i < users->count; i++) {
        unsigned d = s_differs (users->users [i].name, name, name_len)
                   | s_differs (users->users [i].password, password, password_len);
        found |= (unsigned) (d == 0);
    }
    return found != 0;
}

bool
acl_host_is_loopback (const char *host)
{
    if (strcasecmp (host, "localhost") == 0)
        return true;
    uint8_t addr [16];
    if (inet_pton (AF_INET, host, addr) == 1)
        return addr [0] == 127;
    struct in6_addr a6;
    if (inet_pton (AF_INET6, host, &a6) == 1)
        return IN6_IS_ADDR_LOOPBACK (&a6)
            || (IN6_IS_ADDR_V4MAPPED (&a6) && a6.s6_addr [12] == 127);
    return false;
}

bool
acl_endpoint_is_loopback (const char *endpoint)
{
    if (strncmp (endpoint, "ipc://", 6) == 0 || strncmp (endpoint, "inproc://", 9) == 0)
        return true;
    const char *at = strstr (endpoint, "://");
    if (!at)
        return false;
    at += 3;
    //  tcp://[source;]host:port: what matters is the address bound or reached
    const char *semi = strchr (at, ';');
    if (semi)
        at = semi + 1;
    char host [256];
    const char *colon = strrchr (at, ':');
    size_t len = colon ? (size_t) (colon - at) : strlen (at);
    if (len >= sizeof host)
        return false;
    memcpy (host, at, len);
    host [len] = 0;
    char *path = strchr (host, '/');        //  ws://host:port/path has no ':' after the port
    if (path)
        *path = 0;
    if (host [0] == '[' && len >= 2 && host [len - 1] == ']') {
        memmove (host, host + 1, len - 2);
        host [len - 2] = 0;
    }
    return acl_host_is_loopback (host);
}
