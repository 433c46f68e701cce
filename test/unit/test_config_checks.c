/*  test_config_checks — what check-config finds across a file: every
    mistake in one run (in the order of the lines), listeners that would
    share a port, addresses that only look like IPv4, the original's named
    form of wormholes:, and a wormhole's listen: for the remote end behind NAT.
*/
#include "config/config.h"

#include <check.h>

#include <stdlib.h>
#include <string.h>
#include "test/support/check_run.h"

#define KEY16 "00112233445566778899aabbccddeeff"

static char s_err [16384];

static config_t *
s_parse (const char *text)
{
    s_err [0] = 0;
    return config_parse (text, strlen (text), "t.yaml", s_err, sizeof s_err);
}

//  text must be refused with exactly the messages want (one a line).
static void
s_refused (const char *text, const char *want)
{
    config_t *c = s_parse (text);
    ck_assert_msg (c == NULL, "accepted:\n%s", text);
    ck_assert_msg (strcmp (s_err, want) == 0, "\n  got      '%s'\n  expected '%s'", s_err, want);
}

static config_t *
s_accepted (const char *text)
{
    config_t *c = s_parse (text);
    ck_assert_msg (c != NULL, "refused: %s", s_err);
    ck_assert_str_eq (s_err, "");
    return c;
}

//  A wormhole entry: name, server, wormhole_remote, then more lines (indented).
#define WH(name, server, remote) \
    "  - name: " name "\n    server: " server "\n    wormhole_remote: " remote "\n" \
    "    key: " KEY16 "\n"

//  ---------------------------------------------------------------------
//  Every mistake in one run

START_TEST (test_all_errors)
{
    s_refused ("workers: 99\n"                                  //  1
               "colour: blue\n"                                 //  2
               "proxies:\n"
               "  - listen: 127.0.0.1:0\n"                      //  4
               "    handler: gopher\n"                          //  5
               "wormholes:\n"
               "  - name: a\n"                                  //  7
               "    server: 127.0.0.1:1080\n"
               "    wormhole_remote: 127.0.0.1:8443\n"
               "    key: 0011\n"                                //  10
               "    mimic: loud\n"                              //  11
               "  - name: b\n"                                  //  12
               "    server: 127.0.0.1:1081\n"
               "    wormhole_remote: 127.0.0.1:8443\n"          //  14: a's remote port
               "    key: " KEY16 "\n"
               "    relay_to: x\n",                             //  16
               "t.yaml:1:10: workers: '99' is not an integer from 0 to 64\n"
               "t.yaml:2:1: colour: unknown key\n"
               "t.yaml:4:13: proxies[0].listen: '127.0.0.1:0': port must be a number 1-65535\n"
               "t.yaml:5:14: proxies[0].handler: 'gopher' is not socks, socks4, socks5, http or relay\n"
               "t.yaml:10:10: wormholes[0].key: must be 32, 48 or 64 hex digits (a 16, 24 or "
               "32-byte key), not 4\n"
               "t.yaml:11:12: wormholes[0].mimic: 'loud' is not random, off or {size: S, delay: D}\n"
               "t.yaml:14:22: wormholes[1].wormhole_remote: 127.0.0.1:8443 is also "
               "wormholes[0].wormhole_remote (line 9): two wormholes cannot share a remote port\n"
               "t.yaml:16:5: wormholes[1].relay_to: unknown key");
}
END_TEST

//  Past 32 messages, the rest are counted.
START_TEST (test_many_errors)
{
    char text [4096] = "wormholes:\n" WH ("a", "127.0.0.1:1080", "127.0.0.1:8443");
    for (int i = 0; i < 40; i++) {
        char line [32];
        snprintf (line, sizeof line, "    bogus%d: 1\n", i);
        strcat (text, line);
    }
    ck_assert_ptr_null (s_parse (text));
    size_t lines = 0;
    for (const char *p = s_err; (p = strchr (p, '\n')); p++)
        lines++;
    ck_assert_uint_eq (lines, 32);
    ck_assert_ptr_nonnull (strstr (s_err, "t.yaml:6:5: wormholes[0].bogus0: unknown key\n"));
    ck_assert_ptr_nonnull (strstr (s_err, "\n... and 8 more"));
    ck_assert_ptr_null (strstr (s_err, "bogus39"));
}
END_TEST

//  Relay loops are told once, and a key in a message never shows.
START_TEST (test_cross_errors)
{
    s_refused ("wormholes:\n"
               WH ("a", "127.0.0.1:1080", "127.0.0.1:8443")
               "    handler: relay\n    relay: b\n"                            //  7
               WH ("b", "127.0.0.1:1081", "127.0.0.1:8444")
               "    handler: relay\n    relay: a\n"                            //  13
               WH ("a", "127.0.0.1:1082", "127.0.0.1:8445")                   //  14
               WH ("c", "127.0.0.1:1083", "127.0.0.1:8446")
               "    handler: relay\n    relay: nowhere\n",                     //  23
               "t.yaml:7:12: wormholes[0].relay: relay loop: a -> b -> a\n"
               "t.yaml:14:11: wormholes[2].name: duplicate name 'a' (first at line 2)\n"
               "t.yaml:23:12: wormholes[3].relay: no wormhole is named 'nowhere'");
    s_refused ("wormholes:\n" WH ("a", "127.0.0.1:1080", "127.0.0.1:8443")
               "    handler: relay\n    relay: a\n",
               "t.yaml:7:12: wormholes[0].relay: a wormhole cannot relay to itself");
}
END_TEST

//  ---------------------------------------------------------------------
//  Ports

START_TEST (test_port_proxy_vs_wormhole)
{
    s_refused ("proxies:\n  - listen: 127.0.0.1:1080\n    handler: socks\n"
               "wormholes:\n" WH ("a", "127.0.0.1:1080", "127.0.0.1:8443"),
               "t.yaml:6:13: wormholes[0].server: 127.0.0.1:1080 is also proxies[0].listen (line 2)");
    s_refused ("proxies:\n  - listen: 127.0.0.1:8443\n    handler: http\n"
               "wormholes:\n" WH ("a", "127.0.0.1:1080", "127.0.0.1:8443"),
               "t.yaml:7:22: wormholes[0].wormhole_remote: 127.0.0.1:8443 is also "
               "proxies[0].listen (line 2)");
    //  The same address spelled two ways.
    s_refused ("proxies:\n  - listen: \"[::1]:1080\"\n    handler: socks\n"
               "  - listen: \"[0:0::1]:1080\"\n    handler: http\n",
               "t.yaml:4:13: proxies[1].listen: [0:0::1]:1080 is also proxies[0].listen (line 2)");
}
END_TEST

START_TEST (test_port_remote_vs_extra)
{
    s_refused ("wormholes:\n"
               WH ("a", "127.0.0.1:1080", "127.0.0.1:8443")
               "    extra_ports: [9000, 9001]\n"                                  //  6
               WH ("b", "127.0.0.1:1081", "127.0.0.1:9001"),                      //  9
               "t.yaml:9:22: wormholes[1].wormhole_remote: 127.0.0.1:9001 is also "
               "wormholes[0].extra_ports[1] (line 6): a remote port cannot be another "
               "wormhole's handover port");
    //  Two wormholes' handover ports.
    s_refused ("wormholes:\n"
               WH ("a", "127.0.0.1:1080", "127.0.0.1:8443")
               "    extra_ports: [9000]\n"
               WH ("b", "127.0.0.1:1081", "127.0.0.1:8444")
               "    extra_ports: [9000]\n",                                       //  11
               "t.yaml:11:19: wormholes[1].extra_ports[0]: 127.0.0.1:9000 is also "
               "wormholes[0].extra_ports[0] (line 6): a remote port cannot be another "
               "wormhole's handover port");
}
END_TEST

START_TEST (test_port_two_remotes)
{
    s_refused ("wormholes:\n"
               WH ("a", "127.0.0.1:1080", "127.0.0.1:8443")
               WH ("b", "127.0.0.1:1081", "127.0.0.1:8443"),
               "t.yaml:8:22: wormholes[1].wormhole_remote: 127.0.0.1:8443 is also "
               "wormholes[0].wormhole_remote (line 4): two wormholes cannot share a remote port");
    //  A wildcard on the remote side meets every address there.
    s_refused ("wormholes:\n"
               WH ("a", "127.0.0.1:1080", "0.0.0.0:8443")
               WH ("b", "127.0.0.1:1081", "192.0.2.7:8443"),
               "t.yaml:8:22: wormholes[1].wormhole_remote: 192.0.2.7:8443 is also "
               "wormholes[0].wormhole_remote (line 4): two wormholes cannot share a remote port");
}
END_TEST

START_TEST (test_port_two_servers)
{
    s_refused ("wormholes:\n"
               WH ("a", "127.0.0.1:1080", "127.0.0.1:8443")
               WH ("b", "127.0.0.1:1080", "127.0.0.1:8444"),
               "t.yaml:7:13: wormholes[1].server: 127.0.0.1:1080 is also wormholes[0].server "
               "(line 3): two wormholes cannot share the port where users connect");
    s_refused ("wormholes:\n"
               WH ("a", "0.0.0.0:1080", "127.0.0.1:8443")
               WH ("b", "127.0.0.1:1080", "127.0.0.1:8444"),
               "t.yaml:7:13: wormholes[1].server: 127.0.0.1:1080 is also wormholes[0].server "
               "(line 3): two wormholes cannot share the port where users connect");
    s_refused ("proxies:\n  - listen: 127.0.0.1:1080\n    handler: socks\n"
               "  - listen: 127.0.0.1:1080\n    handler: http\n",
               "t.yaml:4:13: proxies[1].listen: 127.0.0.1:1080 is also proxies[0].listen (line 2)");
}
END_TEST

START_TEST (test_port_server_is_remote)
{
    s_refused ("wormholes:\n" WH ("a", "127.0.0.1:1080", "127.0.0.1:1080"),
               "t.yaml:4:22: wormholes[0].wormhole_remote: 127.0.0.1:1080 is also "
               "wormholes[0].server (line 3): a wormhole's server and its remote end cannot "
               "listen on one address");
    //  Reverse: both are the public machine's, so a wildcard counts there.
    s_refused ("wormholes:\n" WH ("a", "0.0.0.0:1080", "192.0.2.7:1080")
               "    reverse: true\n",
               "t.yaml:4:22: wormholes[0].wormhole_remote: 192.0.2.7:1080 is also "
               "wormholes[0].server (line 3): a wormhole's server and its remote end cannot "
               "listen on one address");
}
END_TEST

//  Where the two listeners need not be on one machine, they do not clash.
START_TEST (test_port_no_clash)
{
    config_t *c = s_accepted (
        "proxies:\n  - listen: 0.0.0.0:1080\n    handler: socks\n"
        "wormholes:\n"
        WH ("a", "0.0.0.0:2080", "192.0.2.7:2080")        //  local and remote ends apart
        WH ("b", "127.0.0.1:1080", "192.0.2.7:3080")      //  a proxy may be on either machine
        WH ("c", "127.0.0.2:2081", "192.0.2.8:4080")      //  wildcard local vs remote side
        "    extra_ports: [2080]\n");
    config_destroy (&c);
}
END_TEST

//  ---------------------------------------------------------------------
//  Addresses

START_TEST (test_dotted_digits)
{
    s_refused ("proxies:\n  - listen: 300.1.2.3:1080\n    handler: socks\n",
               "t.yaml:2:13: proxies[0].listen: '300.1.2.3:1080': not an IPv4 address "
               "(four numbers 0-255)");
    s_refused ("wormholes:\n" WH ("a", "127.0.0.1:1080", "10.0.0:8443"),
               "t.yaml:4:22: wormholes[0].wormhole_remote: '10.0.0:8443': not an IPv4 address "
               "(four numbers 0-255)");
    s_refused ("proxies:\n  - listen: 127.0.0.1:1080\n    handler: relay\n    relay: 1.2.3.4.:80\n",
               "t.yaml:4:12: proxies[0].relay: '1.2.3.4.:80': not an IPv4 address "
               "(four numbers 0-255)");
    //  A character no host name has is a config error, never a lookup.
    s_refused ("proxies:\n  - listen: 127.0.]0.1:1080\n    handler: socks\n",
               "t.yaml:2:13: proxies[0].listen: '127.0.]0.1:1080': ']' is not allowed in a host "
               "name (letters, digits, '-', '.', '_')");
    s_refused ("wormholes:\n" WH ("a", "127.0.0.1:1080", "far end.example:8443"),
               "t.yaml:4:22: wormholes[0].wormhole_remote: 'far end.example:8443': byte 0x20 is not "
               "allowed in a host name (letters, digits, '-', '.', '_')");
    //  Names with digits and real addresses are fine.
    config_t *c = s_accepted ("proxies:\n  - listen: 127.0.0.1:1080\n    handler: relay\n"
                              "    relay: 1e100.net:80\n"
                              "  - listen: 255.255.255.255:1081\n    handler: relay\n"
                              "    relay: 10.0.0.1.example:80\n");
    config_destroy (&c);
}
END_TEST

//  ---------------------------------------------------------------------
//  The named form

START_TEST (test_named_form)
{
    config_t *c = s_accepted (
        "wormholes:\n"
        "  office:\n"                                   //  2
        "    server: 127.0.0.1:1080\n"
        "    wormhole_remote: 127.0.0.1:8443\n"
        "    key: " KEY16 "\n"
        "  lab:\n"                                      //  6
        "    name: lab\n"                               //  the same name is fine
        "    server: 127.0.0.1:1081\n"
        "    wormhole_remote: 127.0.0.1:8444\n"
        "    wormhole: distributed\n"
        "    handler: relay\n"
        "    relay: office\n"
        "    key: " KEY16 "\n");
    ck_assert_uint_eq (c->wormhole_count, 2);
    ck_assert_str_eq (c->wormholes [0].name, "office");
    ck_assert_int_eq (c->wormholes [0].line, 2);
    ck_assert_str_eq (c->wormholes [1].name, "lab");
    ck_assert_int_eq (c->wormholes [1].line, 6);
    ck_assert_int_eq (c->wormholes [1].mode, WORMHOLE_DISTRIBUTED);
    ck_assert_int_eq (c->wormholes [1].handler.kind, CONFIG_RELAY_WORMHOLE);
    ck_assert_ptr_eq (config_wormhole (c, "lab"), &c->wormholes [1]);
    config_destroy (&c);
}
END_TEST

START_TEST (test_named_form_errors)
{
    s_refused ("wormholes:\n"
               "  office:\n"
               "    name: home\n"
               "    server: 127.0.0.1:1080\n"
               "    wormhole_remote: 127.0.0.1:8443\n"
               "    key: " KEY16 "\n"
               "  bad name!:\n"                                //  7
               "    server: 127.0.0.1:1081\n"
               "    wormhole_remote: 127.0.0.1:8444\n"
               "    key: " KEY16 "\n"
               "  lab: 127.0.0.1:9\n"                          //  11
               "  office:\n"                                   //  12
               "    server: 127.0.0.1:1082\n"
               "    wormhole_remote: 127.0.0.1:1080\n"         //  office's server
               "    key: " KEY16 "\n",
               "t.yaml:3:11: wormholes.office.name: the entry's key names it already: "
               "leave name: out, or give the same name\n"
               "t.yaml:7:3: wormholes[1].name: must be 1 to 63 characters of A-Z a-z 0-9 _ . -\n"
               "t.yaml:11:8: wormholes.lab: expected a mapping, got a scalar\n"
               "t.yaml:12:3: wormholes.office.name: duplicate name 'office' (first at line 2)\n"
               "t.yaml:14:22: wormholes.office.wormhole_remote: 127.0.0.1:1080 is also "
               "wormholes.office.server (line 4)");
    s_refused ("wormholes:\n  [a, b]: {}\n",
               "t.yaml:2:3: wormholes: a wormhole's name must be a plain word, not a list");
}
END_TEST

//  ---------------------------------------------------------------------
//  listen:

START_TEST (test_listen)
{
    config_t *c = s_accepted (
        "wormholes:\n"
        WH ("a", "127.0.0.1:1080", "203.0.113.5:443")
        "    listen: 0.0.0.0:8443\n"
        "    extra_ports: [444]\n"
        WH ("b", "127.0.0.1:1081", "203.0.113.5:8444")
        "    listen: \"::\"\n"
        WH ("c", "127.0.0.1:1082", "203.0.113.5:9443")
        "    listen: \"[fd00::5]\"\n"
        WH ("d", "127.0.0.1:1083", "203.0.113.5:10443"));
    ck_assert (c->wormholes [0].has_listen);
    ck_assert_str_eq (c->wormholes [0].listen.host, "0.0.0.0");
    ck_assert_uint_eq (c->wormholes [0].listen.port, 8443);
    ck_assert_str_eq (c->wormholes [0].wormhole_remote.host, "203.0.113.5");
    ck_assert_uint_eq (c->wormholes [0].wormhole_remote.port, 443);
    ck_assert (c->wormholes [1].has_listen);
    ck_assert_str_eq (c->wormholes [1].listen.host, "::");
    ck_assert_uint_eq (c->wormholes [1].listen.port, 8444);
    ck_assert_str_eq (c->wormholes [2].listen.host, "fd00::5");
    ck_assert_uint_eq (c->wormholes [2].listen.port, 9443);
    ck_assert (!c->wormholes [3].has_listen);
    config_destroy (&c);
}
END_TEST

START_TEST (test_listen_errors)
{
    s_refused ("wormholes:\n" WH ("a", "127.0.0.1:1080", "203.0.113.5:443")
               "    listen: [0.0.0.0]\n",
               "t.yaml:6:13: wormholes[0].listen: expected host:port or an address, got a list");
    s_refused ("wormholes:\n" WH ("a", "127.0.0.1:1080", "203.0.113.5:443")
               "    listen: 0.0.0.0:99999\n",
               "t.yaml:6:13: wormholes[0].listen: '0.0.0.0:99999': port must be a number 1-65535");
    //  What the remote end binds clashes like wormhole_remote would.
    s_refused ("wormholes:\n" WH ("a", "127.0.0.1:1080", "203.0.113.5:443")
               "    listen: 0.0.0.0:8443\n"
               WH ("b", "127.0.0.1:1081", "203.0.113.6:443")
               "    listen: 0.0.0.0:8443\n",
               "t.yaml:11:13: wormholes[1].listen: 0.0.0.0:8443 is also wormholes[0].listen "
               "(line 6): two wormholes cannot share a remote port");
    s_refused ("wormholes:\n" WH ("a", "127.0.0.1:1080", "203.0.113.5:443")
               "    listen: 0.0.0.0:8443\n    extra_ports: [8443]\n",
               "t.yaml:7:19: wormholes[0].extra_ports[0]: 0.0.0.0:8443 is also wormholes[0].listen "
               "(line 6)");
}
END_TEST

//  log_destinations: (top level)
START_TEST (test_log_destinations)
{
    config_t *c = s_accepted ("log_destinations: true\nwormholes:\n"
                              WH ("a", "127.0.0.1:1080", "127.0.0.1:8443"));
    ck_assert (c->log_destinations);
    config_destroy (&c);
    c = s_accepted ("wormholes:\n" WH ("a", "127.0.0.1:1080", "127.0.0.1:8443"));
    ck_assert (!c->log_destinations);
    config_destroy (&c);
    s_refused ("log_destinations: sometimes\nwormholes:\n" WH ("a", "127.0.0.1:1080", "127.0.0.1:8443"),
               "t.yaml:1:19: log_destinations: 'sometimes' is not true, false, yes or no");
}
END_TEST

int
main (void)
{
    Suite *suite = suite_create ("config_checks");
    TCase *tc = tcase_create ("config_checks");
    tcase_add_test (tc, test_all_errors);
    tcase_add_test (tc, test_many_errors);
    tcase_add_test (tc, test_cross_errors);
    tcase_add_test (tc, test_port_proxy_vs_wormhole);
    tcase_add_test (tc, test_port_remote_vs_extra);
    tcase_add_test (tc, test_port_two_remotes);
    tcase_add_test (tc, test_port_two_servers);
    tcase_add_test (tc, test_port_server_is_remote);
    tcase_add_test (tc, test_port_no_clash);
    tcase_add_test (tc, test_dotted_digits);
    tcase_add_test (tc, test_named_form);
    tcase_add_test (tc, test_named_form_errors);
    tcase_add_test (tc, test_listen);
    tcase_add_test (tc, test_listen_errors);
    tcase_add_test (tc, test_log_destinations);
    suite_add_tcase (suite, tc);
    return check_run (suite);
}
