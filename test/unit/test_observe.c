/*  test_observe — the metrics endpoint's request parser and answers, the
    counters and their summing and text format, the loopback check of the
    trace endpoint, and the config's observability keys (including bad
    values). */
#include <check.h>
#include <string.h>

#include "actors/metrics_http.h"
#include "config/config.h"
#include "runtime/base/acl.h"
#include "runtime/metrics.h"
#include "test/support/check_run.h"

static char s_out[300 * 1024];

static size_t
s_answer (const char *request)
{
    return metrics_http_answer (request, strlen (request), s_out, sizeof s_out);
}

START_TEST (test_get_metrics)
{
    size_t len = s_answer ("GET /metrics HTTP/1.1\r\nHost: x\r\nAccept: */*\r\n\r\n");
    ck_assert_uint_gt (len, 0);
    s_out[len] = 0;
    ck_assert_ptr_nonnull (strstr (s_out, "HTTP/1.1 200 OK\r\n"));
    ck_assert_ptr_nonnull (strstr (s_out, "\r\nContent-Type: text/plain; version=0.0.4"));
    ck_assert_ptr_nonnull (strstr (s_out, "mimicsocks_actor_restarts_total "));
    ck_assert_ptr_nonnull (strstr (s_out, "mimicsocks_acl_denials_total{handler=\"socks\"} "));
    //  Content-Length is the body's length
    const char *body = strstr (s_out, "\r\n\r\n") + 4;
    size_t declared = 0;
    ck_assert_int_eq (sscanf (strstr (s_out, "Content-Length: "), "Content-Length: %zu", &declared), 1);
    ck_assert_uint_eq (declared, len - (size_t) (body - s_out));
    //  HTTP/1.0, bare newlines, a query string
    ck_assert_uint_gt (s_answer ("GET /metrics?x=1 HTTP/1.0\n\n"), 0);
    ck_assert_ptr_nonnull (strstr (s_out, " 200 OK"));
}
END_TEST

START_TEST (test_incomplete_and_bad)
{
    ck_assert_uint_eq (s_answer (""), 0);
    ck_assert_uint_eq (s_answer ("GET /metrics HTTP/1.1\r\n"), 0);     //  the head goes on
    static const struct { const char *request, *status; } cases[] = {
        { "POST /metrics HTTP/1.1\r\n\r\n", "405 " },
        { "HEAD /metrics HTTP/1.1\r\n\r\n", "405 " },
        { "GET /other HTTP/1.1\r\n\r\n", "404 " },
        { "GET / HTTP/1.1\r\n\r\n", "404 " },
        { "GET /metrics HTTP/2.0\r\n\r\n", "400 " },
        { "GET /metrics\r\n\r\n", "400 " },
        { "\r\n\r\n", "400 " },
        { "\x16\x03\x01\x02\x01\x01\x01\x01\xfc\x03\x03\n\n", "400 " },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t len = s_answer (cases[i].request);
        ck_assert_uint_gt (len, 0);
        s_out[len] = 0;
        ck_assert_msg (strncmp (s_out, "HTTP/1.1 ", 9) == 0 && strncmp (s_out + 9, cases[i].status, 4) == 0,
                       "case %zu: %s", i, s_out);
    }
    //  A head that never ends is refused once it reaches 4 KiB.
    static char big[5000];
    memset (big, 'a', sizeof big - 1);
    ck_assert_uint_eq (metrics_http_answer (big, 4000, s_out, sizeof s_out), 0);
    size_t len = metrics_http_answer (big, 4096, s_out, sizeof s_out);
    ck_assert_uint_gt (len, 0);
    ck_assert_ptr_nonnull (strstr (s_out, " 431 "));
    //  A request line longer than it may be
    memcpy (big, "GET /", 5);
    memcpy (big + 3000, " HTTP/1.1\r\n\r\n", 13);
    len = metrics_http_answer (big, 3013, s_out, sizeof s_out);
    ck_assert_uint_gt (len, 0);
    ck_assert_ptr_nonnull (strstr (s_out, " 400 "));
    //  An answer that does not fit the buffer is cut to its head, never overruns
    char small[64];
    const char *request = "GET /metrics HTTP/1.1\r\n\r\n";
    ck_assert_uint_le (metrics_http_answer (request, strlen (request), small, sizeof small),
                       sizeof small);
}
END_TEST

START_TEST (test_counters)
{
    metrics_slot_t *a0 = metrics_slot (0, "alpha"), *a1 = metrics_slot (1, "alpha");
    metrics_slot_t *b0 = metrics_slot (0, "beta");
    ck_assert_ptr_eq (a0, metrics_slot (0, "alpha"));
    ck_assert_ptr_ne (a0, a1);
    ck_assert_ptr_ne (a0, b0);
    ck_assert_ptr_nonnull (metrics_slot (-1, "alpha"));        //  counts nowhere, never NULL
    ck_assert_ptr_nonnull (metrics_slot (METRICS_MAX_WORKERS, "alpha"));
    metrics_add (a0, METRIC_BYTES_DOWN, 1000);
    metrics_add (a1, METRIC_BYTES_DOWN, 234);
    metrics_add (a0, METRIC_CONNS_OPENED, 2);
    metrics_add (a0, METRIC_CONNS_CLOSED, 1);
    metrics_tunnel (a1, true);
    metrics_restart ();
    metrics_total_t totals[METRICS_MAX_NAMES];
    size_t count = metrics_totals (totals, METRICS_MAX_NAMES);
    ck_assert_uint_ge (count, 2);
    ck_assert_str_eq (totals[0].name, "alpha");
    ck_assert_uint_eq (totals[0].value[METRIC_BYTES_DOWN], 1234);
    ck_assert_int_gt (totals[0].tunnel_since_ms, 0);
    static char text[256 * 1024];
    metrics_render (text, sizeof text);
    ck_assert_ptr_nonnull (strstr (text, "mimicsocks_user_bytes_total{name=\"alpha\",direction=\"down\"} 1234\n"));
    ck_assert_ptr_nonnull (strstr (text, "mimicsocks_connections_open{name=\"alpha\"} 1\n"));
    ck_assert_ptr_nonnull (strstr (text, "mimicsocks_tunnel_up{name=\"alpha\"} 1\n"));
    ck_assert_ptr_nonnull (strstr (text, "mimicsocks_tunnel_up{name=\"beta\"} 0\n"));
    ck_assert_ptr_nonnull (strstr (text, "# TYPE mimicsocks_user_bytes_total counter\n"));
    ck_assert_ptr_nonnull (strstr (text, "mimicsocks_actor_restarts_total 1\n"));
    //  A buffer too small is filled and terminated, not overrun
    char tiny[40];
    ck_assert_uint_lt (metrics_render (tiny, sizeof tiny), sizeof tiny);
    ck_assert_uint_eq (strlen (tiny), metrics_render (tiny, sizeof tiny));
    //  The table of names is bounded
    char name[16];
    for (int i = 0; i < METRICS_MAX_NAMES + 5; i++) {
        snprintf (name, sizeof name, "n%d", i);
        metrics_register (name);
    }
    ck_assert_int_eq (metrics_register ("one too many"), -1);
    ck_assert_ptr_nonnull (metrics_slot (0, "one too many"));
}
END_TEST

START_TEST (test_endpoint_loopback)
{
    static const char *const local[] = {
        "tcp://127.0.0.1:5555", "tcp://127.1.2.3:1", "tcp://[::1]:5555", "tcp://localhost:5555",
        "ipc:///run/mimicsocks.trace", "inproc://x", "ws://127.0.0.1:80/path",
        "tcp://10.0.0.1;127.0.0.1:5555",
    };
    static const char *const open[] = {
        "tcp://0.0.0.0:5555", "tcp://*:5555", "tcp://eth0:5555", "tcp://[::]:5555",
        "tcp://192.0.2.1:5555", "tcp://127.0.0.1;10.0.0.1:5555", "127.0.0.1:5555", "",
        "tcp://", "tcp://[:1", "tcp://[]:1",
    };
    for (size_t i = 0; i < sizeof local / sizeof local[0]; i++)
        ck_assert_msg (acl_endpoint_is_loopback (local[i]), "%s", local[i]);
    for (size_t i = 0; i < sizeof open / sizeof open[0]; i++)
        ck_assert_msg (!acl_endpoint_is_loopback (open[i]), "%s", open[i]);
}
END_TEST

#define PROXY "proxies: [{listen: 127.0.0.1:1, handler: http}]\n"

static void
s_config_error (const char *text, const char *expected)
{
    char err[512] = "";
    config_t *config = config_parse (text, strlen (text), "t.yaml", err, sizeof err);
    ck_assert_msg (!config, "accepted: %s", text);
    ck_assert_str_eq (err, expected);
}

START_TEST (test_config_keys)
{
    char err[512] = "";
    const char *text = "metrics: 127.0.0.1:9100\nhandshake_timeout: 7\ntrace: tcp://127.0.0.1:5\n" PROXY;
    config_t *config = config_parse (text, strlen (text), "t.yaml", err, sizeof err);
    ck_assert_msg (config, "%s", err);
    ck_assert (config->has_metrics);
    ck_assert_str_eq (config->metrics.host, "127.0.0.1");
    ck_assert_uint_eq (config->metrics.port, 9100);
    ck_assert_int_eq (config->handshake_timeout_s, 7);
    ck_assert (!config->metrics_public && !config->trace_public);
    config_destroy (&config);
    text = "metrics: 0.0.0.0:9100\nmetrics_public: true\ntrace: tcp://*:5\ntrace_public: yes\n" PROXY;
    config = config_parse (text, strlen (text), "t.yaml", err, sizeof err);
    ck_assert_msg (config, "%s", err);
    ck_assert (config->metrics_public && config->trace_public);
    config_destroy (&config);
    text = PROXY;
    config = config_parse (text, strlen (text), "t.yaml", err, sizeof err);
    ck_assert (config && !config->has_metrics && config->handshake_timeout_s == 0);
    config_destroy (&config);

    s_config_error ("metrics: 0.0.0.0:9100\n" PROXY,
                    "t.yaml:1:10: metrics: '0.0.0.0' is not a loopback address: the counters would be "
                    "open to the network (set metrics_public: true to allow it)");
    s_config_error ("metrics: 192.0.2.1:9100\nmetrics_public: false\n" PROXY,
                    "t.yaml:1:10: metrics: '192.0.2.1' is not a loopback address: the counters would be "
                    "open to the network (set metrics_public: true to allow it)");
    s_config_error ("trace: tcp://0.0.0.0:5555\n" PROXY,
                    "t.yaml:1:8: trace: 'tcp://0.0.0.0:5555' is not on a loopback address: the message "
                    "flow would be open to the network (set trace_public: true to allow it)");
    s_config_error ("metrics: 127.0.0.1\n" PROXY,
                    "t.yaml:1:10: metrics: '127.0.0.1': missing :port");
    s_config_error ("metrics_public: maybe\n" PROXY,
                    "t.yaml:1:17: metrics_public: 'maybe' is not true, false, yes or no");
    s_config_error ("trace_public: [1]\n" PROXY,
                    "t.yaml:1:15: trace_public: expected true or false, got a list");
    s_config_error ("handshake_timeout: 0\n" PROXY,
                    "t.yaml:1:20: handshake_timeout: '0' is not an integer from 1 to 3600");
    s_config_error ("handshake_timeout: 3601\n" PROXY,
                    "t.yaml:1:20: handshake_timeout: '3601' is not an integer from 1 to 3600");
}
END_TEST

int
main (void)
{
    Suite *suite = suite_create ("observe");
    TCase *tc = tcase_create ("core");
    tcase_add_test (tc, test_get_metrics);
    tcase_add_test (tc, test_incomplete_and_bad);
    tcase_add_test (tc, test_counters);
    tcase_add_test (tc, test_endpoint_loopback);
    tcase_add_test (tc, test_config_keys);
    suite_add_tcase (suite, tc);
    return check_run (suite);
}
