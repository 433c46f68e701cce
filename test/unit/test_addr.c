/*  test_addr — hostport_parse (runtime/base/addr.h): names, IPv4 and bracketed
    IPv6 literals are read; malformed input (a stray bracket, a space, a
    control byte or a byte >= 0x80 in a name, a missing or bad port, an
    IPv6 literal without brackets, a dotted quad out of range) is refused
    with a reason that quotes it; addr_name_valid's character set and
    addr_host_valid's IPv6 literals.
*/
#include <check.h>

#include <string.h>

#include "runtime/base/addr.h"
#include "test/support/check_run.h"

START_TEST (test_valid)
{
    static const struct { const char *text, *host; unsigned port; } ok [] = {
        { "127.0.0.1:80", "127.0.0.1", 80 },
        { "example.com:443", "example.com", 443 },
        { "xn--bcher-kva.example:8080", "xn--bcher-kva.example", 8080 },
        { "_srv.my-host.Example.ORG:1", "_srv.my-host.Example.ORG", 1 },
        { "localhost:65535", "localhost", 65535 },
        { "[::1]:1080", "::1", 1080 },
        { "[fe80::1:2]:53", "fe80::1:2", 53 },
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok [0]; i++) {
        hostport_t hp;
        char err [256] = "";
        ck_assert_msg (hostport_parse (ok [i].text, &hp, err, sizeof err) == 0, "%s: %s", ok [i].text, err);
        ck_assert_str_eq (hp.host, ok [i].host);
        ck_assert_uint_eq (hp.port, ok [i].port);
    }
}
END_TEST

START_TEST (test_malformed)
{
    static const struct { const char *text, *reason; } bad [] = {
        { "127.0.]0.1:80", "']' is not allowed in a host name" },
        { "127.0.0.1]:80", "']' is not allowed in a host name" },
        { "[127.0.0.1:80", "expected [ipv6]:port" },
        { "exa mple.com:80", "byte 0x20 is not allowed in a host name" },
        { "example.com/x:80", "'/' is not allowed in a host name" },
        { "user@example.com:80", "'@' is not allowed in a host name" },
        { "ex%41mple:80", "'%' is not allowed in a host name" },
        { "a\tb:80", "byte 0x09 is not allowed in a host name" },
        { "b\xc3\xbc" "cher.example:80", "byte 0xc3 is not allowed in a host name" },
        { "[::1]x:80", "expected [ipv6]:port" },
        { "[not-v6]:80", "not an IPv6 address inside brackets" },
        { "[1.2.3.4]:80", "not an IPv6 address inside brackets" },
        { "::1:80", "an IPv6 address needs brackets" },
        { "300.1.2.3:80", "not an IPv4 address" },
        { "1.2.3:80", "not an IPv4 address" },
        { "example.com", "missing :port" },
        { "example.com:", "port must be a number" },
        { "example.com:0", "port must be a number" },
        { "example.com:65536", "port must be a number" },
        { "example.com:80x", "port must be a number" },
        { ":80", "host must be 1 to 255 bytes" },
        { "", "empty address" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad [0]; i++) {
        hostport_t hp;
        char err [256] = "";
        ck_assert_msg (hostport_parse (bad [i].text, &hp, err, sizeof err) == -1, "%s accepted", bad [i].text);
        ck_assert_msg (strstr (err, bad [i].reason), "%s: '%s', not '%s'", bad [i].text, err, bad [i].reason);
    }
    char long_name [300];
    memset (long_name, 'a', 256);
    strcpy (long_name + 256, ":80");
    hostport_t hp;
    char err [512];
    ck_assert_int_eq (hostport_parse (long_name, &hp, err, sizeof err), -1);
    ck_assert_ptr_nonnull (strstr (err, "host must be 1 to 255 bytes"));
}
END_TEST

START_TEST (test_name_chars)
{
    for (int c = 1; c < 256; c++) {
        char name [4] = { 'a', (char) c, 'b', 0 };
        bool want = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
                 || c == '-' || c == '.' || c == '_';
        ck_assert_msg (addr_name_valid (name, 3) == want, "byte 0x%02x", c);
    }
    ck_assert (!addr_name_valid ("a\0b", 3));
    ck_assert (!addr_name_valid ("", 0));
    //  a name from the wire: the same characters, or an IPv6 literal as text
    ck_assert (addr_host_valid ("example.com"));
    ck_assert (addr_host_valid ("::1"));
    ck_assert (addr_host_valid ("2001:db8::1"));
    ck_assert (!addr_host_valid ("127.0.]0.1"));
    ck_assert (!addr_host_valid ("[::1]"));
    ck_assert (!addr_host_valid ("a:b"));
    ck_assert (!addr_host_valid (""));
}
END_TEST

int
main (void)
{
    Suite *suite = suite_create ("addr");
    TCase *tc = tcase_create ("core");
    tcase_add_test (tc, test_valid);
    tcase_add_test (tc, test_malformed);
    tcase_add_test (tc, test_name_chars);
    suite_add_tcase (suite, tc);
    return check_run (suite);
}
