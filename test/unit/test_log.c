/*  test_log — the log's records, and the per-call-site limit that turns a
    flood of one failure into one line a second with a count. */
#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "runtime/base/log.h"
#include "test/support/check_run.h"

//  stderr goes into a pipe for the test; what came is read back.
static int s_pipe[2], s_saved;

static void
s_capture (void)
{
    ck_assert_int_eq (pipe (s_pipe), 0);
    fcntl (s_pipe[0], F_SETFL, O_NONBLOCK);
    s_saved = dup (STDERR_FILENO);
    dup2 (s_pipe[1], STDERR_FILENO);
}

static size_t
s_read (char *buf, size_t cap)
{
    ssize_t n = read (s_pipe[0], buf, cap - 1);
    buf[n > 0 ? n : 0] = 0;
    return n > 0 ? (size_t) n : 0;
}

static void
s_release (void)
{
    dup2 (s_saved, STDERR_FILENO);
    close (s_saved);
    close (s_pipe[0]);
    close (s_pipe[1]);
}

static unsigned
s_lines (const char *text)
{
    unsigned n = 0;
    for (const char *p = text; (p = strchr (p, '\n')); p++)
        n++;
    return n;
}

static void
s_flood (int times)
{
    for (int i = 0; i < times; i++)
        log_warn_limited ("accept: too many open files (#%d)", i);
}

START_TEST (test_record)
{
    s_capture ();
    log_set_level (LOG_LEVEL_INFO);
    log_warn ("wormhole %s: %d", "w", 7);
    log_debug ("not at info");
    char buf[4096];
    s_read (buf, sizeof buf);
    s_release ();
    ck_assert_uint_eq (s_lines (buf), 1);
    ck_assert_ptr_nonnull (strstr (buf, " WARN  wormhole w: 7\n"));
    ck_assert_ptr_nonnull (strstr (buf, "Z mimicsocks["));
}
END_TEST

//  Destinations: at debug only, unless shown; log_dest hides them meanwhile.
START_TEST (test_destinations)
{
    s_capture ();
    log_set_level (LOG_LEVEL_INFO);
    log_show_destinations (false);
    ck_assert (!log_destinations_shown ());
    ck_assert_str_eq (log_dest ("10.1.2.3:22"), "(a destination)");
    log_dest_info ("socks5 peer -> %s", "hidden.example:80");
    log_info ("refused %s", log_dest ("hidden.example:443"));
    log_show_destinations (true);
    ck_assert (log_destinations_shown ());
    ck_assert_str_eq (log_dest ("10.1.2.3:22"), "10.1.2.3:22");
    log_dest_info ("socks5 peer -> %s", "shown.example:80");
    log_show_destinations (false);
    log_set_level (LOG_LEVEL_DEBUG);
    ck_assert (log_destinations_shown ());
    log_dest_info ("socks5 peer -> %s", "debug.example:80");
    log_set_level (LOG_LEVEL_INFO);
    char buf[4096];
    s_read (buf, sizeof buf);
    s_release ();
    ck_assert_uint_eq (s_lines (buf), 3);
    ck_assert_ptr_null (strstr (buf, "hidden.example"));
    ck_assert_ptr_nonnull (strstr (buf, " INFO  refused (a destination)\n"));
    ck_assert_ptr_nonnull (strstr (buf, " INFO  socks5 peer -> shown.example:80\n"));
    ck_assert_ptr_nonnull (strstr (buf, " DEBUG socks5 peer -> debug.example:80\n"));
}
END_TEST

START_TEST (test_limited)
{
    s_capture ();
    log_set_level (LOG_LEVEL_INFO);
    char buf[8192];
    s_flood (100);
    s_read (buf, sizeof buf);
    ck_assert_uint_eq (s_lines (buf), 1);                   //  the first only
    ck_assert_ptr_nonnull (strstr (buf, "(#0)"));
    struct timespec pause = { 1, 100 * 1000 * 1000 };
    nanosleep (&pause, NULL);
    s_flood (1);
    s_read (buf, sizeof buf);
    s_release ();
    ck_assert_uint_eq (s_lines (buf), 1);
    ck_assert_msg (strstr (buf, "(#0) (and 99 more like it in the last "), "%s", buf);
}
END_TEST

START_TEST (test_limited_below_level)
{
    s_capture ();
    log_set_level (LOG_LEVEL_ERROR);
    s_flood (5);
    char buf[1024];
    s_read (buf, sizeof buf);
    s_release ();
    ck_assert_uint_eq (s_lines (buf), 0);
    log_set_level (LOG_LEVEL_INFO);
}
END_TEST

int
main (void)
{
    Suite *suite = suite_create ("log");
    TCase *tc = tcase_create ("core");
    tcase_add_test (tc, test_record);
    tcase_add_test (tc, test_destinations);
    tcase_add_test (tc, test_limited);
    tcase_add_test (tc, test_limited_below_level);
    suite_add_tcase (suite, tc);
    return check_run (suite);
}
