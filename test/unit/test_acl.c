/*  test_acl — target rules (runtime/base/acl.h): CIDR parsing, good and
    malformed; matching IPv4, IPv6 and IPv4-mapped addresses; the default
    rules; allow/deny precedence; the host's own addresses; user checks.
*/
#include <check.h>

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <string.h>

#include "runtime/base/acl.h"
#include "test/support/check_run.h"

static struct sockaddr_storage
s_sa (const char *ip)
{
    struct sockaddr_storage ss;
    memset (&ss, 0, sizeof ss);
    struct sockaddr_in *v4 = (struct sockaddr_in *) &ss;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *) &ss;
    if (inet_pton (AF_INET, ip, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons (80);
    }
    else {
        ck_assert_int_eq (inet_pton (AF_INET6, ip, &v6->sin6_addr), 1);
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons (80);
    }
    return ss;
}

static acl_cidr_t
s_cidr (const char *text)
{
    acl_cidr_t c;
    char err [160];
    ck_assert_msg (acl_cidr_parse (text, &c, err, sizeof err) == 0, "%s: %s", text, err);
    return c;
}

//  acl_check's verdict and, if denied, its reason (for the asserts).
static bool
s_allowed (const acl_t *acl, const char *ip, char *why, size_t size)
{
    struct sockaddr_storage ss = s_sa (ip);
    why [0] = 0;
    return acl_check (acl, (struct sockaddr *) &ss, why, size);
}

START_TEST (test_parse_good)
{
    char text [64];
    acl_cidr_t c = s_cidr ("10.0.0.0/8");
    ck_assert_int_eq (c.family, AF_INET);
    ck_assert_int_eq (c.prefix, 8);
    ck_assert_str_eq (acl_cidr_format (&c, text, sizeof text), "10.0.0.0/8");
    c = s_cidr ("192.168.1.5/32");
    ck_assert_int_eq (c.prefix, 32);
    c = s_cidr ("192.168.1.5");
    ck_assert_int_eq (c.prefix, 32);
    c = s_cidr ("0.0.0.0/0");
    ck_assert_int_eq (c.prefix, 0);
    c = s_cidr ("fd00::/8");
    ck_assert_int_eq (c.family, AF_INET6);
    ck_assert_int_eq (c.prefix, 8);
    ck_assert_str_eq (acl_cidr_format (&c, text, sizeof text), "fd00::/8");
    c = s_cidr ("::1/128");
    ck_assert_int_eq (c.prefix, 128);
    c = s_cidr ("::1");
    ck_assert_int_eq (c.prefix, 128);
    c = s_cidr ("[2001:db8::]/32");
    ck_assert_int_eq (c.prefix, 32);
    c = s_cidr ("172.16.0.0/12");
    ck_assert_int_eq (c.prefix, 12);
    //  an IPv4-mapped rule is the IPv4 rule
    c = s_cidr ("::ffff:127.0.0.0/104");
    ck_assert_int_eq (c.family, AF_INET);
    ck_assert_int_eq (c.prefix, 8);
    ck_assert_str_eq (acl_cidr_format (&c, text, sizeof text), "127.0.0.0/8");
}
END_TEST

static const char *s_bad [] = {
    "", "10.0.0.0/", "10.0.0.0/33", "10.0.0.0/-1", "10.0.0.0/8x", "10.0.0.0/0008",
    "10.0.0/8", "10.0.0.256/32", "300.0.0.0/8", "fd00::/129", "fd00:::/8", "example.com/8",
    "10.0.0.1/8", "fd00::1/8", "192.168.1.5/24", " 10.0.0.0/8", "10.0.0.0 /8", "/8",
    "10.0.0.0/8/8", "gggg::/16"
};

START_TEST (test_parse_bad)
{
    acl_cidr_t c;
    char err [160] = "";
    ck_assert_msg (acl_cidr_parse (s_bad [_i], &c, err, sizeof err) == -1,
                   "'%s' was accepted", s_bad [_i]);
    ck_assert_msg (err [0] != 0, "no reason for '%s'", s_bad [_i]);
}
END_TEST

START_TEST (test_parse_host_bits_message)
{
    acl_cidr_t c;
    char err [160];
    ck_assert_int_eq (acl_cidr_parse ("10.1.2.3/8", &c, err, sizeof err), -1);
    ck_assert_ptr_nonnull (strstr (err, "10.0.0.0/8"));
}
END_TEST

START_TEST (test_match)
{
    acl_cidr_t net = s_cidr ("10.0.0.0/8");
    struct sockaddr_storage a = s_sa ("10.255.1.2"), b = s_sa ("11.0.0.1");
    ck_assert (acl_cidr_match (&net, (struct sockaddr *) &a));
    ck_assert (!acl_cidr_match (&net, (struct sockaddr *) &b));
    //  a mapped target matches the IPv4 rule, not an IPv6 one
    struct sockaddr_storage m = s_sa ("::ffff:10.1.1.1");
    ck_assert (acl_cidr_match (&net, (struct sockaddr *) &m));
    acl_cidr_t odd = s_cidr ("172.16.0.0/12");
    struct sockaddr_storage in = s_sa ("172.31.255.255"), out = s_sa ("172.32.0.0");
    ck_assert (acl_cidr_match (&odd, (struct sockaddr *) &in));
    ck_assert (!acl_cidr_match (&odd, (struct sockaddr *) &out));
    acl_cidr_t v6 = s_cidr ("fe80::/10");
    struct sockaddr_storage l = s_sa ("febf::1"), n = s_sa ("fec0::1");
    ck_assert (acl_cidr_match (&v6, (struct sockaddr *) &l));
    ck_assert (!acl_cidr_match (&v6, (struct sockaddr *) &n));
    ck_assert (!acl_cidr_match (&v6, (struct sockaddr *) &a));
    acl_cidr_t all = s_cidr ("0.0.0.0/0");
    ck_assert (acl_cidr_match (&all, (struct sockaddr *) &b));
    ck_assert (!acl_cidr_match (&all, (struct sockaddr *) &l));
}
END_TEST

//  The defaults deny every special range, IPv4-mapped forms too; public
//  addresses pass.
static const struct { const char *ip; const char *rule; } s_defaults [] = {
    { "127.0.0.1", "loopback" }, { "127.255.0.9", "loopback" }, { "::1", "loopback" },
    { "::ffff:127.0.0.1", "loopback" }, { "0.0.0.0", "unspecified" }, { "0.1.2.3", "unspecified" },
    { "::", "unspecified" }, { "::ffff:0.0.0.0", "unspecified" },
    { "169.254.169.254", "link-local" }, { "::ffff:169.254.169.254", "link-local" },
    { "fe80::1", "link-local" }, { "224.0.0.1", "multicast" }, { "239.255.255.250", "multicast" },
    { "ff02::1", "multicast" }, { "255.255.255.255", "broadcast" }, { "240.0.0.1", "reserved" },
    { "10.1.2.3", "private" }, { "172.16.0.1", "private" }, { "192.168.1.1", "private" },
    { "::ffff:192.168.1.1", "private" }, { "100.64.0.1", "private" }, { "fd00::1", "private" },
    { "fc00::1", "private" },
    { "8.8.8.8", NULL }, { "1.1.1.1", NULL }, { "172.32.0.1", NULL }, { "2001:4860:4860::8888", NULL },
    { "::ffff:8.8.8.8", NULL }, { "11.0.0.1", NULL }
};

START_TEST (test_defaults)
{
    char why [96];
    bool allowed = s_allowed (NULL, s_defaults [_i].ip, why, sizeof why);
    if (s_defaults [_i].rule) {
        ck_assert_msg (!allowed, "%s allowed by default", s_defaults [_i].ip);
        ck_assert_msg (strncmp (why, s_defaults [_i].rule, strlen (s_defaults [_i].rule)) == 0,
                       "%s denied as '%s', expected '%s'", s_defaults [_i].ip, why,
                       s_defaults [_i].rule);
    }
    else
        ck_assert_msg (allowed, "%s denied by default: %s", s_defaults [_i].ip, why);
    //  a zeroed acl is the defaults
    acl_t empty = { 0 };
    ck_assert_int_eq (s_allowed (&empty, s_defaults [_i].ip, why, sizeof why), allowed);
}
END_TEST

START_TEST (test_default_list)
{
    acl_cidr_t c;
    const char *name;
    size_t n = 0;
    bool loopback4 = false, loopback6 = false;
    char text [64];
    while (acl_default_rule (n, &c, &name)) {
        acl_cidr_format (&c, text, sizeof text);
        loopback4 = loopback4 || strcmp (text, "127.0.0.0/8") == 0;
        loopback6 = loopback6 || strcmp (text, "::1/128") == 0;
        n++;
    }
    ck_assert_uint_ge (n, 14);
    ck_assert (loopback4 && loopback6);
}
END_TEST

START_TEST (test_precedence)
{
    char why [96];
    acl_cidr_t allow [] = { s_cidr ("127.0.0.1/32"), s_cidr ("10.0.0.0/8"), s_cidr ("::1") };
    acl_cidr_t deny [] = { s_cidr ("10.9.0.0/16"), s_cidr ("8.8.8.8/32") };
    acl_t acl = { allow, 3, deny, 2 };
    //  allow wins over the defaults
    ck_assert (s_allowed (&acl, "127.0.0.1", why, sizeof why));
    ck_assert (s_allowed (&acl, "::ffff:127.0.0.1", why, sizeof why));
    ck_assert (s_allowed (&acl, "::1", why, sizeof why));
    ck_assert (s_allowed (&acl, "10.1.1.1", why, sizeof why));
    //  only what it names
    ck_assert (!s_allowed (&acl, "127.0.0.2", why, sizeof why));
    ck_assert_str_eq (why, "loopback");
    ck_assert (!s_allowed (&acl, "192.168.0.1", why, sizeof why));
    //  deny wins over allow and over "allowed by default"
    ck_assert (!s_allowed (&acl, "10.9.1.1", why, sizeof why));
    ck_assert_str_eq (why, "deny 10.9.0.0/16");
    ck_assert (!s_allowed (&acl, "8.8.8.8", why, sizeof why));
    ck_assert_str_eq (why, "deny 8.8.8.8/32");
    ck_assert (!s_allowed (&acl, "::ffff:8.8.8.8", why, sizeof why));
    ck_assert (s_allowed (&acl, "8.8.4.4", why, sizeof why));
    //  deny everything, allow one: deny still wins
    acl_cidr_t all [] = { s_cidr ("0.0.0.0/0") };
    acl_t closed = { allow, 3, all, 1 };
    ck_assert (!s_allowed (&closed, "127.0.0.1", why, sizeof why));
}
END_TEST

//  The host's interface addresses are denied once read, unless allowed.
START_TEST (test_own_addresses)
{
    acl_init_local ();
    ck_assert_uint_ge (acl_local_count (), 1);     //  lo, at least
    struct ifaddrs *ifs = NULL;
    ck_assert_int_eq (getifaddrs (&ifs), 0);
    char why [96], ip [INET6_ADDRSTRLEN];
    for (struct ifaddrs *i = ifs; i; i = i->ifa_next) {
        if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET)
            continue;
        inet_ntop (AF_INET, &((struct sockaddr_in *) i->ifa_addr)->sin_addr, ip, sizeof ip);
        ck_assert_msg (!s_allowed (NULL, ip, why, sizeof why), "own %s allowed", ip);
        acl_cidr_t one = s_cidr (ip);
        acl_t acl = { &one, 1, NULL, 0 };
        ck_assert_msg (s_allowed (&acl, ip, why, sizeof why), "own %s not opened by allow", ip);
    }
    freeifaddrs (ifs);
}
END_TEST

START_TEST (test_equal)
{
    acl_cidr_t a [] = { s_cidr ("10.0.0.0/8") }, b [] = { s_cidr ("10.0.0.0/8") };
    acl_cidr_t c [] = { s_cidr ("10.0.0.0/9") };
    acl_t x = { a, 1, NULL, 0 }, y = { b, 1, NULL, 0 }, z = { c, 1, NULL, 0 }, none = { 0 };
    ck_assert (acl_equal (&x, &y));
    ck_assert (!acl_equal (&x, &z));
    ck_assert (acl_equal (&none, NULL));
    ck_assert (!acl_equal (&x, NULL));
}
END_TEST

START_TEST (test_users)
{
    acl_user_t list [2];
    memset (list, 0, sizeof list);
    strcpy (list [0].name, "alice");
    strcpy (list [0].password, "s3cret");
    strcpy (list [1].name, "bob");
    strcpy (list [1].password, "hunter2");
    acl_users_t users = { list, 2 };
#define U(s) (const uint8_t *) (s), strlen (s)
    ck_assert (acl_users_check (&users, U ("alice"), U ("s3cret")));
    ck_assert (acl_users_check (&users, U ("bob"), U ("hunter2")));
    ck_assert (!acl_users_check (&users, U ("alice"), U ("hunter2")));
    ck_assert (!acl_users_check (&users, U ("alice"), U ("s3cre")));
    ck_assert (!acl_users_check (&users, U ("alice"), U ("s3cret!")));
    ck_assert (!acl_users_check (&users, U ("alic"), U ("s3cret")));
    ck_assert (!acl_users_check (&users, U (""), U ("")));
    ck_assert (!acl_users_check (&users, (const uint8_t *) "alice\0", 6, U ("s3cret")));
    acl_users_t none = { 0 };
    ck_assert (!acl_users_check (&none, U ("alice"), U ("s3cret")));
    ck_assert (!acl_users_check (NULL, U ("alice"), U ("s3cret")));
    uint8_t long_text [600];
    memset (long_text, 'a', sizeof long_text);
    ck_assert (!acl_users_check (&users, long_text, sizeof long_text, long_text, sizeof long_text));
#undef U
}
END_TEST

START_TEST (test_loopback_host)
{
    ck_assert (acl_host_is_loopback ("127.0.0.1"));
    ck_assert (acl_host_is_loopback ("127.1.2.3"));
    ck_assert (acl_host_is_loopback ("::1"));
    ck_assert (acl_host_is_loopback ("localhost"));
    ck_assert (!acl_host_is_loopback ("0.0.0.0"));
    ck_assert (!acl_host_is_loopback ("::"));
    ck_assert (!acl_host_is_loopback ("10.0.0.1"));
    ck_assert (!acl_host_is_loopback ("example.com"));
}
END_TEST

int
main (void)
{
    Suite *suite = suite_create ("acl");
    TCase *tc = tcase_create ("core");
    tcase_add_test (tc, test_parse_good);
    tcase_add_loop_test (tc, test_parse_bad, 0, (int) (sizeof s_bad / sizeof s_bad [0]));
    tcase_add_test (tc, test_parse_host_bits_message);
    tcase_add_test (tc, test_match);
    tcase_add_loop_test (tc, test_defaults, 0, (int) (sizeof s_defaults / sizeof s_defaults [0]));
    tcase_add_test (tc, test_default_list);
    tcase_add_test (tc, test_precedence);
    tcase_add_test (tc, test_own_addresses);
    tcase_add_test (tc, test_equal);
    tcase_add_test (tc, test_users);
    tcase_add_test (tc, test_loopback_host);
    suite_add_tcase (suite, tc);
    return check_run (suite);
}
