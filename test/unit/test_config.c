/*  test_config — the YAML config loader: values, defaults, and one exact
    message (FILE:LINE:COLUMN: FIELD: problem) for each kind of mistake.
*/
#include "config/config.h"

#include <check.h>

#include <sys/socket.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "test/support/check_run.h"

#define KEY16 "00112233445566778899aabbccddeeff"
#define KEY24 "00112233445566778899aabbccddeeff0011223344556677"
#define KEY32 "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"

//  A valid wormhole `a` (lines 1-5); cases append line 6 onwards.
#define W "wormholes:\n" \
          "  - name: a\n" \
          "    server: 127.0.0.1:1080\n" \
          "    wormhole_remote: 127.0.0.1:8443\n" \
          "    key: " KEY16 "\n"
//  A second valid wormhole `b`, four lines.
#define B "  - name: b\n" \
          "    server: 127.0.0.1:1081\n" \
          "    wormhole_remote: 127.0.0.1:8444\n" \
          "    key: " KEY16 "\n"

static config_t *
s_parse (const char *text, char *err, size_t errlen)
{
    return config_parse (text, strlen (text), "t.yaml", err, errlen);
}

//  Parses text that must be valid; fails the test with the message otherwise.
static config_t *
s_parse_ok (const char *text)
{
    char err [512] = "";
    config_t *config = s_parse (text, err, sizeof err);
    ck_assert_msg (config, "unexpected error: %s", err);
    ck_assert_str_eq (err, "");
    return config;
}

//  ---------------------------------------------------------------------
//  Valid files

static const char *s_full =
    "log_level: debug\n"
    "trace: tcp://127.0.0.1:5555\n"
    "workers: 4\n"
    "proxies:\n"
    "  - listen: 127.0.0.1:1080\n"                      //  line 5
    "    handler: socks5\n"
    "  - listen: \"[::1]:8080\"\n"                      //  line 7
    "    handler: relay\n"
    "    relay: \"[2001:db8::1]:443\"\n"
    "wormholes:\n"
    "  - name: office\n"                                //  line 11
    "    server: 127.0.0.1:2080\n"
    "    wormhole_remote: 127.0.0.2:8443\n"
    "    wormhole: aggregated\n"
    "    handler: relay\n"
    "    relay: 10.1.2.3:22\n"
    "    extra_ports: [8444, 8445]\n"
    "    key: " KEY32 "\n"
    "    reverse: yes\n"
    "    local_proxy: proxy.example.com:3128\n"
    "    handover_interval: [30, 90]\n"
    "    mimic: {size: gaussian, delay: exponential}\n"
    "    mimic_padding: true\n"
    "    probe_close_delay: [5, 7]\n"
    "    connect_timeout: 600\n"
    "  - name: far.hop_2-x\n"                           //  line 26
    "    server: \"[::1]:2081\"\n"
    "    wormhole_remote: localhost:9443\n"
    "    wormhole: distributed\n"
    "    remote_handler: relay\n"
    "    relay: office\n"
    "    extra_ports:\n"
    "      - 1\n"
    "      - 65535\n"
    "    key: 00112233445566778899AABBCCDDEEFF0011223344556677\n"
    "    reverse: No\n"
    "    handover_interval: 0\n"
    "    mimic: off\n"
    "    mimic_padding: FALSE\n"
    "    probe_close_delay: 86400\n"
    "    connect_timeout: 1\n"
    "    protocol: v2\n"
    "    cipher: chacha20-poly1305\n"
    "    optimistic: no\n"
    "    wire: raw\n"
    "    sni: cdn.example.org\n"
    "    early_data: yes\n"
    "    fallback: 127.0.0.1:8443\n";

static void
s_check_full (const config_t *c)
{
    ck_assert (c->has_log_level);
    ck_assert_int_eq (c->log_level, LOG_LEVEL_DEBUG);
    ck_assert_str_eq (c->trace_endpoint, "tcp://127.0.0.1:5555");
    ck_assert_int_eq (c->workers, 4);

    ck_assert_uint_eq (c->proxy_count, 2);
    ck_assert_str_eq (c->proxies [0].listen.host, "127.0.0.1");
    ck_assert_uint_eq (c->proxies [0].listen.port, 1080);
    ck_assert_int_eq (c->proxies [0].handler.kind, CONFIG_SOCKS5);
    ck_assert_int_eq (c->proxies [0].line, 5);
    ck_assert_str_eq (c->proxies [1].listen.host, "::1");
    ck_assert_uint_eq (c->proxies [1].listen.port, 8080);
    ck_assert_int_eq (c->proxies [1].handler.kind, CONFIG_RELAY);
    ck_assert_str_eq (c->proxies [1].handler.relay_to.host, "2001:db8::1");
    ck_assert_uint_eq (c->proxies [1].handler.relay_to.port, 443);
    ck_assert_int_eq (c->proxies [1].line, 7);

    ck_assert_uint_eq (c->wormhole_count, 2);
    const wormhole_conf_t *w = &c->wormholes [0];
    ck_assert_str_eq (w->name, "office");
    ck_assert_int_eq (w->line, 11);
    ck_assert_str_eq (w->server.host, "127.0.0.1");
    ck_assert_uint_eq (w->server.port, 2080);
    ck_assert_str_eq (w->wormhole_remote.host, "127.0.0.2");
    ck_assert_uint_eq (w->wormhole_remote.port, 8443);
    ck_assert_int_eq (w->mode, WORMHOLE_AGGREGATED);
    ck_assert_int_eq (w->handler.kind, CONFIG_RELAY);
    ck_assert_str_eq (w->handler.relay_to.host, "10.1.2.3");
    ck_assert_uint_eq (w->handler.relay_to.port, 22);
    ck_assert_uint_eq (w->extra_port_count, 2);
    ck_assert_uint_eq (w->extra_ports [0], 8444);
    ck_assert_uint_eq (w->extra_ports [1], 8445);
    ck_assert_uint_eq (w->key_len, 32);
    for (int i = 0; i < 32; i++)
        ck_assert_uint_eq (w->key [i], i);
    ck_assert (w->reverse);
    ck_assert (w->has_local_proxy);
    ck_assert_str_eq (w->local_proxy.host, "proxy.example.com");
    ck_assert_uint_eq (w->local_proxy.port, 3128);
    ck_assert_int_eq (w->handover_min_s, 30);
    ck_assert_int_eq (w->handover_max_s, 90);
    ck_assert_int_eq (w->mimic, MIMIC_FIXED);
    ck_assert_int_eq (w->mimic_size, CONFIG_SIZE_GAUSSIAN);
    ck_assert_int_eq (w->mimic_delay, CONFIG_DELAY_EXPONENTIAL);
    ck_assert (w->mimic_padding);
    ck_assert_int_eq (w->probe_close_min_s, 5);
    ck_assert_int_eq (w->probe_close_max_s, 7);
    ck_assert_int_eq (w->connect_timeout_s, 600);
    ck_assert (w->optimistic);                          //  the default
    ck_assert_int_eq (w->protocol, PROTOCOL_V2);        //  the default
    ck_assert_int_eq (w->cipher, CONFIG_AES_256_GCM);
    ck_assert_int_eq (w->wire, CONFIG_WIRE_TLS);         //  the default
    ck_assert_str_eq (w->sni, "www.example.com");
    ck_assert (!w->early_data);
    ck_assert (!w->has_fallback);

    w = &c->wormholes [1];
    ck_assert_str_eq (w->name, "far.hop_2-x");
    ck_assert_int_eq (w->line, 26);
    ck_assert_str_eq (w->server.host, "::1");
    ck_assert_uint_eq (w->server.port, 2081);
    ck_assert_str_eq (w->wormhole_remote.host, "localhost");
    ck_assert_int_eq (w->mode, WORMHOLE_DISTRIBUTED);
    ck_assert_int_eq (w->handler.kind, CONFIG_RELAY_WORMHOLE);
    ck_assert_str_eq (w->handler.relay_wormhole, "office");
    ck_assert_uint_eq (w->extra_port_count, 2);
    ck_assert_uint_eq (w->extra_ports [0], 1);
    ck_assert_uint_eq (w->extra_ports [1], 65535);
    ck_assert_uint_eq (w->key_len, 24);
    ck_assert_uint_eq (w->key [10], 0xaa);
    ck_assert_uint_eq (w->key [23], 0x77);
    ck_assert (!w->reverse);
    ck_assert (!w->has_local_proxy);
    ck_assert_int_eq (w->handover_min_s, 0);
    ck_assert_int_eq (w->handover_max_s, 0);
    ck_assert_int_eq (w->mimic, MIMIC_OFF);
    ck_assert (!w->mimic_padding);
    ck_assert_int_eq (w->probe_close_min_s, 86400);
    ck_assert_int_eq (w->probe_close_max_s, 86400);
    ck_assert_int_eq (w->connect_timeout_s, 1);
    ck_assert (!w->optimistic);
    ck_assert_int_eq (w->protocol, PROTOCOL_V2);
    ck_assert_int_eq (w->cipher, CONFIG_CHACHA20_POLY1305);
    ck_assert_int_eq (w->wire, CONFIG_WIRE_RAW);
    ck_assert_str_eq (w->sni, "cdn.example.org");
    ck_assert (w->early_data);
    ck_assert (w->has_fallback);
    ck_assert_str_eq (w->fallback.host, "127.0.0.1");
    ck_assert_uint_eq (w->fallback.port, 8443);
}

START_TEST (test_full)
{
    config_t *c = s_parse_ok (s_full);
    ck_assert_str_eq (c->source, "t.yaml");
    s_check_full (c);
    ck_assert_ptr_eq (config_wormhole (c, "office"), &c->wormholes [0]);
    ck_assert_ptr_eq (config_wormhole (c, "far.hop_2-x"), &c->wormholes [1]);
    ck_assert_ptr_null (config_wormhole (c, "offic"));
    ck_assert_ptr_null (config_wormhole (c, NULL));
    config_destroy (&c);
    ck_assert_ptr_null (c);
    config_destroy (&c);        //  a second destroy is harmless
}
END_TEST

START_TEST (test_defaults)
{
    config_t *c = config_parse (W, strlen (W), NULL, NULL, 0);
    ck_assert_ptr_nonnull (c);
    ck_assert_str_eq (c->source, "<default>");
    ck_assert (!c->has_log_level);
    ck_assert_int_eq (c->log_level, LOG_LEVEL_INFO);
    ck_assert_ptr_null (c->trace_endpoint);
    ck_assert_int_eq (c->workers, 0);
    ck_assert_uint_eq (c->proxy_count, 0);
    ck_assert_ptr_null (c->proxies);
    ck_assert_uint_eq (c->wormhole_count, 1);
    const wormhole_conf_t *w = &c->wormholes [0];
    ck_assert_str_eq (w->name, "a");
    ck_assert_int_eq (w->line, 2);
    ck_assert_int_eq (w->mode, WORMHOLE_AGGREGATED);
    ck_assert_int_eq (w->handler.kind, CONFIG_SOCKS);
    ck_assert_uint_eq (w->extra_port_count, 0);
    ck_assert_ptr_null (w->extra_ports);
    ck_assert_uint_eq (w->key_len, 16);
    ck_assert_uint_eq (w->key [0], 0x00);
    ck_assert_uint_eq (w->key [1], 0x11);
    ck_assert_uint_eq (w->key [15], 0xff);
    ck_assert (!w->reverse);
    ck_assert (!w->has_local_proxy);
    ck_assert_int_eq (w->handover_min_s, 1200);
    ck_assert_int_eq (w->handover_max_s, 1800);
    ck_assert_int_eq (w->mimic, MIMIC_RANDOM);
    ck_assert (!w->mimic_padding);
    ck_assert_int_eq (w->probe_close_min_s, 60);
    ck_assert_int_eq (w->probe_close_max_s, 3000);
    ck_assert_int_eq (w->connect_timeout_s, 10);
    ck_assert (w->optimistic);
    config_destroy (&c);
}
END_TEST

START_TEST (test_variants)
{
    //  A single handover number, [0, 0], empty lists, handler kinds, a relay chain.
    config_t *c = s_parse_ok (
        "proxies: []\n"
        W
        "    handover_interval: 45\n"
        "    handler: relay\n"
        "    relay: b\n"
        "    extra_ports: []\n"
        "    mimic: {size: identity, delay: identity}\n"
        B
        "    handover_interval: [0, 0]\n"
        "    handler: relay\n"
        "    relay: c.2\n"
        "  - name: c.2\n"
        "    server: localhost:1082\n"
        "    wormhole_remote: 127.0.0.1:8445\n"
        "    key: '" KEY16 "'\n"
        "    handler: http\n");
    ck_assert_uint_eq (c->proxy_count, 0);
    ck_assert_uint_eq (c->wormhole_count, 3);
    ck_assert_int_eq (c->wormholes [0].handover_min_s, 45);
    ck_assert_int_eq (c->wormholes [0].handover_max_s, 45);
    ck_assert_int_eq (c->wormholes [0].mimic, MIMIC_FIXED);
    ck_assert_int_eq (c->wormholes [0].mimic_size, CONFIG_SIZE_IDENTITY);
    ck_assert_int_eq (c->wormholes [0].mimic_delay, CONFIG_DELAY_IDENTITY);
    ck_assert_str_eq (c->wormholes [0].handler.relay_wormhole, "b");
    ck_assert_int_eq (c->wormholes [1].handover_min_s, 0);
    ck_assert_int_eq (c->wormholes [1].handover_max_s, 0);
    ck_assert_str_eq (c->wormholes [1].handler.relay_wormhole, "c.2");
    ck_assert_int_eq (c->wormholes [2].handler.kind, CONFIG_HTTP);
    config_destroy (&c);

    //  Every handler name, a null proxies list, and the other mimic models.
    static const struct { const char *name; config_handler_type_t kind; } kinds [] = {
        { "socks", CONFIG_SOCKS }, { "socks4", CONFIG_SOCKS4 },
        { "socks5", CONFIG_SOCKS5 }, { "http", CONFIG_HTTP }
    };
    for (size_t i = 0; i < 4; i++) {
        char text [512];
        snprintf (text, sizeof text, "proxies:\n" W "    handler: %s\n"
                  "    mimic: {delay: uniform, size: constant}\n", kinds [i].name);
        c = s_parse_ok (text);
        ck_assert_int_eq (c->wormholes [0].handler.kind, kinds [i].kind);
        ck_assert_int_eq (c->wormholes [0].mimic_size, CONFIG_SIZE_CONSTANT);
        ck_assert_int_eq (c->wormholes [0].mimic_delay, CONFIG_DELAY_UNIFORM);
        config_destroy (&c);
        //  The same words on the command line.
        ck_assert_int_eq (config_handler_parse (kinds [i].name), kinds [i].kind);
        ck_assert_str_eq (config_handler_name (kinds [i].kind), kinds [i].name);
    }
    ck_assert_int_eq (config_handler_parse ("relay"), CONFIG_RELAY);
    ck_assert_int_eq (config_handler_parse ("Socks"), -1);
    ck_assert_int_eq (config_handler_parse ("trace"), -1);
    ck_assert_str_eq (config_handler_name (CONFIG_RELAY), "relay");
    ck_assert_str_eq (config_handler_name (CONFIG_RELAY_WORMHOLE), "relay");
    c = s_parse_ok ("log_level: warn\nproxies:\n  - {listen: '0.0.0.0:1', handler: socks4}\n");
    ck_assert_int_eq (c->log_level, LOG_LEVEL_WARN);
    ck_assert_uint_eq (c->proxies [0].listen.port, 1);
    ck_assert_int_eq (c->proxies [0].handler.kind, CONFIG_SOCKS4);
    config_destroy (&c);
}
END_TEST

//  The text is read only up to len: no terminating NUL is needed.
START_TEST (test_not_terminated)
{
    const char *text = "proxies: [{listen: 127.0.0.1:1, handler: http}]";
    size_t len = strlen (text);
    char *copy = malloc (len);
    memcpy (copy, text, len);
    char err [256];
    config_t *c = config_parse (copy, len, "x", err, sizeof err);
    ck_assert_ptr_nonnull (c);
    ck_assert_int_eq (c->proxies [0].handler.kind, CONFIG_HTTP);
    config_destroy (&c);
    //  Cut short: the same text without its last bracket.
    c = config_parse (copy, len - 1, "x", err, sizeof err);
    ck_assert_ptr_null (c);
    //  libyaml places the end of the stream at the start of the next line.
    ck_assert_str_eq (err, "x:2:1: yaml: did not find expected ',' or ']'");
    free (copy);
}
END_TEST

//  ---------------------------------------------------------------------
//  Errors: each case gives exactly one message, compared whole

typedef struct {
    const char *text;
    const char *error;
} error_case_t;

static const error_case_t s_errors [] = {
    //  YAML syntax
    { "wormholes:\n  - name: \"abc\n",
      "t.yaml:3:1: yaml: found unexpected end of stream" },
    { W "    extra_ports: [8444, 8445\n",
      "t.yaml:7:1: yaml: did not find expected ',' or ']'" },
    { "wormholes:\n  - name: a\n\tserver: 127.0.0.1:1080\n",
      "t.yaml:3:1: yaml: found a tab character that violates indentation" },
    { "proxies:\n  - listen: 127.0.0.1:1080\n   handler: socks\n",
      "t.yaml:3:4: yaml: did not find expected '-' indicator" },
    { "proxies:\n  - listen: 127.0.0.1:1080\n      handler: socks\n",
      "t.yaml:3:14: yaml: mapping values are not allowed in this context" },
    { "proxies:\n  - listen: 127.0.0.1:1080\x01\n",
      "t.yaml:2:27: yaml: control characters are not allowed" },
    { "proxies:\n  - listen: 127.0.0.1:1080\n    handler: \xff\n",
      "t.yaml:3:14: yaml: invalid leading UTF-8 octet" },
    { "proxies: []\n---\nproxies: []\n",
      "t.yaml:2:1: yaml: only one document is allowed in a config file" },
    { W "    local_proxy: &p 127.0.0.1:3128\n",
      "t.yaml:6:18: yaml: anchors are not supported" },
    { "proxies:\n  - listen: *l\n",
      "t.yaml:2:13: yaml: aliases are not supported" },
    { "proxies: [[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]\n",
      "t.yaml:1:25: yaml: nesting is too deep" },
    //  The file as a whole
    { "",
      "t.yaml:1:1: config: empty file (expected a mapping with proxies and/or wormholes)" },
    { "# only a comment\n\n",
      "t.yaml:1:1: config: empty file (expected a mapping with proxies and/or wormholes)" },
    { "- a\n",
      "t.yaml:1:1: config: expected a mapping, got a list" },
    { "hello\n",
      "t.yaml:1:1: config: expected a mapping, got a scalar" },
    { "log_level: debug\n",
      "t.yaml:1:1: config: needs at least one proxy or wormhole" },
    { "# nothing yet\nproxies: []\nwormholes:\n",
      "t.yaml:2:1: config: needs at least one proxy or wormhole" },
    { "? [a]\n: b\n",
      "t.yaml:1:3: config: a key must be a plain word, not a list" },
    //  Keys
    { "wormhole:\n  - name: a\n",
      "t.yaml:1:1: wormhole: unknown key" },
    { W "    extra_port: [8444]\n",
      "t.yaml:6:5: wormholes[0].extra_port: unknown key" },
    { W "    \"name\\0x\": b\n",
      "t.yaml:6:5: wormholes[0].(key): unknown key" },
    { W "    server: 127.0.0.1:1090\n",
      "t.yaml:6:5: wormholes[0].server: duplicate key (first at line 3)" },
    { "proxies: []\nproxies: []\n",
      "t.yaml:2:1: proxies: duplicate key (first at line 1)" },
    { W "    mimic: {size: constant, size: uniform, delay: constant}\n",
      "t.yaml:6:29: wormholes[0].mimic.size: duplicate key (first at line 6)" },
    //  Top-level settings
    { "log_level: verbose\nproxies: [{listen: 127.0.0.1:1, handler: http}]\n",
      "t.yaml:1:12: log_level: 'verbose' is not error, warn, info or debug" },
    { "workers: 1.5\n",
      "t.yaml:1:10: workers: '1.5' is not an integer from 0 to 64" },
    { "workers: 65\n",
      "t.yaml:1:10: workers: '65' is not an integer from 0 to 64" },
    { "trace: 127.0.0.1:5555\n",
      "t.yaml:1:8: trace: '127.0.0.1:5555' is not a ZeroMQ endpoint "
      "(transport://address, as tcp://127.0.0.1:5555)" },
    { "wormholes: office\n",
      "t.yaml:1:12: wormholes: expected a list, got a scalar" },
    { "wormholes:\n  - office\n",
      "t.yaml:2:5: wormholes[0]: expected a mapping, got a scalar" },
    //  Proxies
    { "proxies:\n  - listen: 127.0.0.1:80x\n    handler: socks\n",
      "t.yaml:2:13: proxies[0].listen: '127.0.0.1:80x': port must be a number 1-65535" },
    { "proxies:\n  - listen: 127.0.0.1:1080\n",
      "t.yaml:2:5: proxies[0].handler: is required" },
    { "proxies:\n  - handler: http\n",
      "t.yaml:2:5: proxies[0].listen: is required" },
    { "proxies:\n  - listen: 127.0.0.1:1080\n    handler: relay\n    relay: office\n",
      "t.yaml:4:12: proxies[0].relay: must be host:port "
      "(a standalone proxy cannot relay to a wormhole)" },
    { "proxies:\n  - listen: 127.0.0.1:1080\n    handler: http\n    remote_handler: http\n",
      "t.yaml:4:5: proxies[0].remote_handler: unknown key" },
    //  Wormhole fields
    { "wormholes:\n  - server: 127.0.0.1:1080\n",
      "t.yaml:2:5: wormholes[0].name: is required" },
    { "wormholes:\n  - name: [a]\n",
      "t.yaml:2:11: wormholes[0].name: expected a name, got a list" },
    { "wormholes:\n  - name: a b\n",
      "t.yaml:2:11: wormholes[0].name: must be 1 to 63 characters of A-Z a-z 0-9 _ . -" },
    { "wormholes:\n  - name: "
      "a123456789012345678901234567890123456789012345678901234567890123\n",
      "t.yaml:2:11: wormholes[0].name: must be 1 to 63 characters of A-Z a-z 0-9 _ . -" },
    { "wormholes:\n  - name: \"a\\0b\"\n",
      "t.yaml:2:11: wormholes[0].name: contains a NUL character" },
    { "wormholes:\n  - name: a\n    server: 127.0.0.1:0\n",
      "t.yaml:3:13: wormholes[0].server: '127.0.0.1:0': port must be a number 1-65535" },
    { "wormholes:\n  - name: a\n    server: 127.0.0.1:65536\n",
      "t.yaml:3:13: wormholes[0].server: '127.0.0.1:65536': port must be a number 1-65535" },
    { "wormholes:\n  - name: a\n    server: \"::1:1080\"\n",
      "t.yaml:3:13: wormholes[0].server: '::1:1080': an IPv6 address needs brackets, "
      "as [::1]:port" },
    { "wormholes:\n  - name: a\n    server: {host: a}\n",
      "t.yaml:3:13: wormholes[0].server: expected host:port, got a mapping" },
    { "wormholes:\n  - name: a\n    server: 127.0.0.1:1080\n",
      "t.yaml:2:5: wormholes[0].wormhole_remote: is required" },
    { "wormholes:\n  - name: a\n    server: 127.0.0.1:1080\n    wormhole_remote: 127.0.0.1:8443\n",
      "t.yaml:2:5: wormholes[0].key: is required" },
    { "wormholes:\n  - name: a\n    server: 127.0.0.1:1080\n    wormhole_remote: 127.0.0.1:8443\n"
      "    key: 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1\n",
      "t.yaml:5:10: wormholes[0].key: must be 32, 48 or 64 hex digits "
      "(a 16, 24 or 32-byte key), not 63" },
    { "wormholes:\n  - name: a\n    server: 127.0.0.1:1080\n    wormhole_remote: 127.0.0.1:8443\n"
      "    key: 00112233445566778899aabbccddeegg\n",
      "t.yaml:5:10: wormholes[0].key: must be hex digits only (0-9, a-f)" },
    { "wormholes:\n  - name: a\n    server: 127.0.0.1:1080\n    wormhole_remote: 127.0.0.1:8443\n"
      "    key: ~\n",
      "t.yaml:5:10: wormholes[0].key: expected hex digits, got nothing" },
    { W "    wormhole: mixed\n",
      "t.yaml:6:15: wormholes[0].wormhole: 'mixed' is not aggregated or distributed" },
    { W "    handler: socks6\n",
      "t.yaml:6:14: wormholes[0].handler: 'socks6' is not socks, socks4, socks5, http or relay" },
    { W "    handler: socks\n    remote_handler: http\n",
      "t.yaml:7:5: wormholes[0].remote_handler: handler and remote_handler are the same "
      "setting: give only one" },
    { W "    handler: relay\n",
      "t.yaml:2:5: wormholes[0].relay: is required with handler: relay" },
    { W "    relay: 10.0.0.1:22\n",
      "t.yaml:6:12: wormholes[0].relay: only allowed with handler: relay" },
    { W "    remote_handler: relay\n    relay: 10.0.0.1:0\n",
      "t.yaml:7:12: wormholes[0].relay: '10.0.0.1:0': port must be a number 1-65535" },
    { W "    handler: relay\n    relay: no such\n",
      "t.yaml:7:12: wormholes[0].relay: 'no such' is neither host:port nor a wormhole name" },
    { W "    extra_ports: [65536]\n",
      "t.yaml:6:19: wormholes[0].extra_ports[0]: '65536' is not an integer from 1 to 65535" },
    { W "    extra_ports: [0]\n",
      "t.yaml:6:19: wormholes[0].extra_ports[0]: '0' is not an integer from 1 to 65535" },
    { W "    extra_ports: [8444, 80x]\n",
      "t.yaml:6:25: wormholes[0].extra_ports[1]: '80x' is not an integer from 1 to 65535" },
    { W "    extra_ports: [8444, 8444]\n",
      "t.yaml:6:25: wormholes[0].extra_ports[1]: duplicate port 8444" },
    { W "    extra_ports:\n      - 8443\n",
      "t.yaml:7:9: wormholes[0].extra_ports[0]: port 8443 is already wormhole_remote's "
      "main port" },
    { W "    extra_ports: 8444\n",
      "t.yaml:6:18: wormholes[0].extra_ports: expected a list of ports, got a scalar" },
    { W "    reverse: maybe\n",
      "t.yaml:6:14: wormholes[0].reverse: 'maybe' is not true, false, yes or no" },
    { W "    wormhole: distributed\n    reverse: true\n",
      "t.yaml:7:14: wormholes[0].reverse: reverse: true requires wormhole: aggregated" },
    { W "    local_proxy: proxy.example\n",
      "t.yaml:6:18: wormholes[0].local_proxy: 'proxy.example': missing :port" },
    { W "    handover_interval: [1800, 1200]\n",
      "t.yaml:6:24: wormholes[0].handover_interval: min 1800 is greater than max 1200" },
    { W "    handover_interval: [0, 5]\n",
      "t.yaml:6:24: wormholes[0].handover_interval: 0 disables handovers: give 0 alone, "
      "or a min from 1" },
    { W "    handover_interval: [10, 2.5]\n",
      "t.yaml:6:29: wormholes[0].handover_interval[1]: '2.5' is not an integer from 0 to 604800" },
    { W "    mimic: sometimes\n",
      "t.yaml:6:12: wormholes[0].mimic: 'sometimes' is not random, off or {size: S, delay: D}" },
    { W "    mimic: [random]\n",
      "t.yaml:6:12: wormholes[0].mimic: expected random, off or {size: S, delay: D}, got a list" },
    { W "    mimic: {size: huge, delay: constant}\n",
      "t.yaml:6:19: wormholes[0].mimic.size: 'huge' is not identity, constant, uniform "
      "or gaussian" },
    { W "    mimic: {size: constant}\n",
      "t.yaml:6:12: wormholes[0].mimic.delay: is required" },
    { W "    mimic: {size: constant, delay: poisson}\n",
      "t.yaml:6:36: wormholes[0].mimic.delay: 'poisson' is not identity, constant, uniform, "
      "gaussian or exponential" },
    { W "    mimic: {size: constant, pace: fast}\n",
      "t.yaml:6:29: wormholes[0].mimic.pace: unknown key" },
    { W "    wormhole: distributed\n    protocol: v1\n    mimic_padding: yes\n",
      "t.yaml:8:20: wormholes[0].mimic_padding: mimic_padding: true requires "
      "wormhole: aggregated" },
    { W "    protocol: v3\n",
      "t.yaml:6:15: wormholes[0].protocol: 'v3' is not v1 or v2" },
    { W "    protocol: v1\n    cipher: aes-256-gcm\n",
      "t.yaml:7:13: wormholes[0].cipher: protocol v1 has one cipher (AES-CTR): cipher: needs "
      "protocol: v2" },
    { W "    cipher: rc4\n",
      "t.yaml:6:13: wormholes[0].cipher: 'rc4' is not aes-256-gcm or chacha20-poly1305" },
    { W "    wire: quic\n",
      "t.yaml:6:11: wormholes[0].wire: 'quic' is not tls or raw" },
    { W "    protocol: v1\n    wire: tls\n",
      "t.yaml:7:11: wormholes[0].wire: needs protocol: v2" },
    { W "    sni: a/b\n",
      "t.yaml:6:10: wormholes[0].sni: must be a host name of at most 253 letters, digits, "
      "'-' and '.'" },
    { W "    early_data: maybe\n",
      "t.yaml:6:17: wormholes[0].early_data: 'maybe' is not true, false, yes or no" },
    { W "    fallback: nowhere\n",
      "t.yaml:6:15: wormholes[0].fallback: 'nowhere': missing :port" },
    { W "    probe_close_delay: [1, 2, 3]\n",
      "t.yaml:6:24: wormholes[0].probe_close_delay: expected [min, max] or a single number" },
    { W "    probe_close_delay: 0\n",
      "t.yaml:6:24: wormholes[0].probe_close_delay: '0' is not an integer from 1 to 86400" },
    { W "    connect_timeout: -5\n",
      "t.yaml:6:22: wormholes[0].connect_timeout: '-5' is not an integer from 1 to 600" },
    { W "    connect_timeout: 601\n",
      "t.yaml:6:22: wormholes[0].connect_timeout: '601' is not an integer from 1 to 600" },
    { W "    connect_timeout: 010\n",
      "t.yaml:6:22: wormholes[0].connect_timeout: '010' is not an integer from 1 to 600" },
    //  Across wormholes
    { W "  - name: a\n    server: 127.0.0.1:1081\n    wormhole_remote: 127.0.0.1:8444\n"
      "    key: " KEY16 "\n",
      "t.yaml:6:11: wormholes[1].name: duplicate name 'a' (first at line 2)" },
    { W "    handler: relay\n    relay: nowhere\n",
      "t.yaml:7:12: wormholes[0].relay: no wormhole is named 'nowhere'" },
    { W "    handler: relay\n    relay: a\n",
      "t.yaml:7:12: wormholes[0].relay: a wormhole cannot relay to itself" },
    { W "    handler: relay\n    relay: b\n" B "    handler: relay\n    relay: a\n",
      "t.yaml:7:12: wormholes[0].relay: relay loop: a -> b -> a" },
    //  Values that may be a key are not quoted back
    { W "    handler: relay\n    relay: " KEY16 "\n",
      "t.yaml:7:12: wormholes[0].relay: no wormhole is named the value" },
    { "proxies:\n  - listen: \"127.0.0.1:80\n    key: " KEY16 "\"\n    handler: socks\n",
      "t.yaml:2:13: proxies[0].listen: the value is not host:port" },
    { W "    " KEY16 ": x\n",
      "t.yaml:6:5: wormholes[0].(key): unknown key" },
    { "workers: " KEY16 "\n",
      "t.yaml:1:10: workers: the value is not an integer from 0 to 64" },
    { W "    handler: relay\n    relay: deadbeefdeadbeef1\n"
      "  - name: deadbeefdeadbeef1\n    server: 127.0.0.1:1081\n    wormhole_remote: 127.0.0.1:8444\n"
      "    key: " KEY16 "\n    handler: relay\n    relay: a\n",
      "t.yaml:7:12: wormholes[0].relay: relay loop: a -> wormholes[1] -> a" },
    //  A loop that the first wormhole only leads into: reported at a member.
    { W "    handler: relay\n    relay: b\n" B "    handler: relay\n    relay: c\n"
      "  - name: c\n    server: 127.0.0.1:1082\n    wormhole_remote: 127.0.0.1:8445\n"
      "    key: " KEY16 "\n    handler: relay\n    relay: b\n",
      "t.yaml:13:12: wormholes[1].relay: relay loop: b -> c -> b" },
    //  allow:, deny:, users:
    { W "    allow: [10.0.0.0/8, 10.0.0.1/8]\n",
      "t.yaml:6:25: wormholes[0].allow[1]: host bits set under /8 (the network is 10.0.0.0/8)" },
    { W "    deny: [\"fd00::/129\"]\n",
      "t.yaml:6:12: wormholes[0].deny[0]: prefix length must be 0 to 128, not 129" },
    { W "    deny: [300.1.1.1/32]\n",
      "t.yaml:6:12: wormholes[0].deny[0]: '300.1.1.1' is not an IPv4 or IPv6 address" },
    { W "    allow: 10.0.0.0/8\n",
      "t.yaml:6:12: wormholes[0].allow: expected a list of address/prefix such as "
      "[10.0.0.0/8, \"fd00::/8\"], got a scalar" },
    { W "    handler: relay\n    relay: 127.0.0.1:22\n    deny: [10.0.0.0/8]\n",
      "t.yaml:8:11: wormholes[0].deny: only for handler socks, socks4, socks5 or http "
      "(a relay's target is fixed)" },
    { W "    users: []\n",
      "t.yaml:6:12: wormholes[0].users: an empty list: give users, or leave users: out" },
    { W "    users: [{name: a, password: b, role: admin}]\n",
      "t.yaml:6:36: wormholes[0].users[0].role: unknown key" },
    { "proxies:\n  - listen: 127.0.0.1:1080\n    handler: socks4\n    users: [{name: a, password: b}]\n",
      "t.yaml:4:12: proxies[0].users: SOCKS4 has no passwords: users: needs handler socks5, socks or http" },
};

START_TEST (test_error)
{
    const error_case_t *ec = &s_errors [_i];
    char err [4096] = "";
    config_t *c = s_parse (ec->text, err, sizeof err);
    ck_assert_msg (c == NULL, "case %d was accepted", _i);
    //  The case's message is one of those given (a case may have more
    //  mistakes than the one it is about: every one is reported).
    char lines [4100] = "\n";
    strcat (strcat (lines, err), "\n");
    char want [520] = "\n";
    strcat (strcat (want, ec->error), "\n");
    ck_assert_msg (strstr (lines, want),
                   "case %d:\n  got      '%s'\n  expected '%s'", _i, err, ec->error);
    //  No part of any key may show up in a message.
    ck_assert_ptr_null (strstr (err, "aabbccdd"));
    ck_assert_ptr_null (strstr (err, "0011223344"));
    ck_assert_ptr_null (strstr (err, "0a0b0c0d"));
}
END_TEST

//  Whatever the damage, the result is a config or well-formed messages, one a line.
static void
s_check_outcome (const char *text, size_t len)
{
    char *copy = malloc (len ? len : 1);
    memcpy (copy, text, len);
    static char err [32 * 512];
    err [0] = 0;
    config_t *c = config_parse (copy, len, "t.yaml", err, sizeof err);
    if (c)
        ck_assert_str_eq (err, "");
    else
    for (char *line_at = err; line_at; line_at = strchr (line_at, '\n')) {
        line_at += *line_at == '\n';
        if (strncmp (line_at, "... and ", 8) == 0)
            continue;
        int line = 0, column = 0, end = 0;
        ck_assert_msg (sscanf (line_at, "t.yaml:%d:%d: %n", &line, &column, &end) == 2 && end > 0,
                       "badly formed message '%s'", err);
        ck_assert_int_ge (line, 1);
        ck_assert_int_ge (column, 1);
        ck_assert_ptr_null (strstr (err, "0a0b0c0d"));
        ck_assert_ptr_null (strstr (err, "AABBCCDD"));
    }
    config_destroy (&c);
    free (copy);
}

START_TEST (test_truncated)
{
    size_t len = strlen (s_full);
    for (size_t cut = 0; cut < len; cut++)
        s_check_outcome (s_full, cut);
}
END_TEST

START_TEST (test_mutated)
{
    static const char bytes [] = { ':', '[', '{', '-', '\t', '\n', '"', '&', '*', '\0', '9', ' ' };
    size_t len = strlen (s_full);
    char *text = malloc (len);
    for (size_t at = 0; at < len; at++)
        for (size_t b = 0; b < sizeof bytes; b++) {
            memcpy (text, s_full, len);
            text [at] = bytes [b];
            s_check_outcome (text, len);
        }
    free (text);
}
END_TEST

//  A short buffer gets a cut message, never an overflow; no buffer is fine too.
START_TEST (test_error_buffer)
{
    char err [16];
    memset (err, 'x', sizeof err);
    ck_assert_ptr_null (config_parse ("workers: 99\n", 12, "t.yaml", err, 12));
    ck_assert_str_eq (err, "t.yaml:1:10");
    ck_assert_int_eq (err [13], 'x');
    ck_assert_ptr_null (config_parse ("workers: 99\n", 12, "t.yaml", NULL, 0));
}
END_TEST

//  ---------------------------------------------------------------------
//  Files and the summary

START_TEST (test_load_file)
{
    char path [] = "/tmp/test_config_XXXXXX";
    int fd = mkstemp (path);
    ck_assert_int_ge (fd, 0);
    ck_assert_int_eq (write (fd, s_full, strlen (s_full)), (ssize_t) strlen (s_full));
    close (fd);
    char err [512] = "";
    config_t *c = config_load (path, err, sizeof err);
    ck_assert_msg (c, "%s", err);
    ck_assert_str_eq (c->source, path);
    s_check_full (c);
    config_destroy (&c);

    //  An error in a file names the file.
    FILE *file = fopen (path, "w");
    fputs ("proxies:\n  - listen: 127.0.0.1:1080\n    handler: gopher\n", file);
    fclose (file);
    ck_assert_ptr_null (config_load (path, err, sizeof err));
    char expected [256];
    snprintf (expected, sizeof expected,
              "%s:3:14: proxies[0].handler: 'gopher' is not socks, socks4, socks5, http or relay",
              path);
    ck_assert_str_eq (err, expected);
    unlink (path);

    ck_assert_ptr_null (config_load (path, err, sizeof err));
    snprintf (expected, sizeof expected, "%s: cannot open: %s", path, strerror (ENOENT));
    ck_assert_str_eq (err, expected);

    ck_assert_ptr_null (config_load ("/tmp", err, sizeof err));
    snprintf (expected, sizeof expected, "/tmp: cannot read: %s", strerror (EISDIR));
    ck_assert_str_eq (err, expected);
    ck_assert_ptr_null (config_load (path, NULL, 0));

    //  Larger than any config: refused rather than read.
    file = fopen (path, "w");
    for (int i = 0; i < 5 * 1024; i++)
        fprintf (file, "# %01020d\n", i);
    fclose (file);
    ck_assert_ptr_null (config_load (path, err, sizeof err));
    snprintf (expected, sizeof expected, "%s: cannot read: larger than 4 MiB", path);
    ck_assert_str_eq (err, expected);
    unlink (path);
}
END_TEST

START_TEST (test_example)
{
    char err [512] = "";
    config_t *c = config_load (SOURCE_DIR "/docs/wormholes.example.yaml", err, sizeof err);
    ck_assert_msg (c, "%s", err);
    ck_assert_uint_eq (c->proxy_count, 3);
    ck_assert_uint_eq (c->wormhole_count, 3);
    const wormhole_conf_t *office = config_wormhole (c, "office");
    ck_assert_ptr_nonnull (office);
    ck_assert_uint_eq (office->extra_port_count, 2);
    ck_assert (office->has_local_proxy);
    const wormhole_conf_t *hop = config_wormhole (c, "hop1");
    ck_assert_ptr_nonnull (hop);
    ck_assert_int_eq (hop->handler.kind, CONFIG_RELAY_WORMHOLE);
    ck_assert_str_eq (hop->handler.relay_wormhole, "office");
    const wormhole_conf_t *ssh = config_wormhole (c, "ssh-gateway");
    ck_assert_ptr_nonnull (ssh);
    ck_assert_int_eq (ssh->mode, WORMHOLE_DISTRIBUTED);
    ck_assert_int_eq (ssh->handler.kind, CONFIG_RELAY);
    config_destroy (&c);
}
END_TEST

START_TEST (test_print)
{
    config_t *c = s_parse_ok (s_full);
    char *text = NULL;
    size_t size = 0;
    FILE *out = open_memstream (&text, &size);
    config_print (c, out);
    fclose (out);
    ck_assert_ptr_nonnull (strstr (text, "wormhole office (line 11):\n"));
    ck_assert_ptr_nonnull (strstr (text, "  key: (32 bytes)\n"));
    ck_assert_ptr_nonnull (strstr (text, "  key: (24 bytes)\n"));
    ck_assert_ptr_nonnull (strstr (text, "  server: [::1]:2081\n"));
    ck_assert_ptr_nonnull (strstr (text, "  handler: relay to wormhole office\n"));
    ck_assert_ptr_nonnull (strstr (text, "  handler: relay to [2001:db8::1]:443\n"));
    ck_assert_ptr_nonnull (strstr (text, "  extra_ports: 8444, 8445\n"));
    ck_assert_ptr_nonnull (strstr (text, "  mimic: size gaussian, delay exponential\n"));
    ck_assert_ptr_nonnull (strstr (text, "  handover_interval: disabled\n"));
    //  One protocol line a wormhole: v2's says its wire (a stray v1 line once
    //  followed every wormhole without fallback:).
    ck_assert_ptr_nonnull (strstr (text, "  protocol: v2, cipher aes-256-gcm, wire tls"));
    ck_assert_ptr_null (strstr (text, "  protocol: v1\n"));
    ck_assert_ptr_null (strstr (text, "00112233"));
    ck_assert_ptr_null (strstr (text, "AABBCCDD"));
    free (text);
    config_destroy (&c);
}
END_TEST

START_TEST (test_access)
{
    config_t *c = s_parse_ok (
        "proxies:\n"
        "  - listen: 127.0.0.1:1090\n"
        "    handler: http\n"
        "    allow: [10.0.0.0/8, \"fd00::/8\", 192.168.1.5/32, 127.0.0.1]\n"
        "    deny: [10.9.0.0/16]\n"
        "    users: [{name: alice, password: s3cret}, {name: bob, password: \"p:w\"}]\n"
        "  - listen: 127.0.0.1:1091\n"
        "    handler: socks\n"
        W "    allow: [\"::1/128\"]\n");
    const config_handler_t *h = &c->proxies [0].handler;
    ck_assert_uint_eq (h->acl.allow_count, 4);
    ck_assert_int_eq (h->acl.allow [1].family, AF_INET6);
    ck_assert_int_eq (h->acl.allow [3].prefix, 32);
    ck_assert_uint_eq (h->acl.deny_count, 1);
    ck_assert_uint_eq (h->users.count, 2);
    ck_assert_str_eq (h->users.users [1].password, "p:w");
    ck_assert_uint_eq (c->proxies [1].handler.acl.allow_count, 0);
    ck_assert_uint_eq (c->proxies [1].handler.users.count, 0);
    ck_assert_uint_eq (c->wormholes [0].handler.acl.allow_count, 1);
    char *text = NULL;
    size_t size = 0;
    FILE *out = open_memstream (&text, &size);
    config_print (c, out);
    fclose (out);
    ck_assert_ptr_nonnull (strstr (text, "  allow: 10.0.0.0/8, fd00::/8, 192.168.1.5/32, 127.0.0.1/32\n"));
    ck_assert_ptr_nonnull (strstr (text, "  deny: 10.9.0.0/16\n"));
    ck_assert_ptr_nonnull (strstr (text, "  users: alice, bob\n"));
    ck_assert_ptr_null (strstr (text, "s3cret"));
    free (text);
    config_destroy (&c);
}
END_TEST

int
main (void)
{
    Suite *suite = suite_create ("config");
    TCase *tc = tcase_create ("config");
    tcase_set_timeout (tc, 60);     //  the mutation sweep is slow under ASan on a busy machine
    tcase_add_test (tc, test_full);
    tcase_add_test (tc, test_defaults);
    tcase_add_test (tc, test_variants);
    tcase_add_test (tc, test_not_terminated);
    tcase_add_loop_test (tc, test_error, 0, (int) (sizeof s_errors / sizeof s_errors [0]));
    tcase_add_test (tc, test_error_buffer);
    tcase_add_test (tc, test_truncated);
    tcase_add_test (tc, test_mutated);
    tcase_add_test (tc, test_load_file);
    tcase_add_test (tc, test_example);
    tcase_add_test (tc, test_print);
    tcase_add_test (tc, test_access);
    suite_add_tcase (suite, tc);
    return check_run (suite);
}
