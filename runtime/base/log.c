/*  log — leveled logging to stderr. */
#include "runtime/base/log.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static atomic_int s_level = LOG_LEVEL_INFO;
static const char *s_names[] = { "ERROR", "WARN", "INFO", "DEBUG" };

void
log_set_level (log_level_t level)
{
    atomic_store (&s_level, (int) level);
}

log_level_t
log_get_level (void)
{
    return (log_level_t) atomic_load (&s_level);
}

static atomic_bool s_destinations;

void
log_show_destinations (bool on)
{
    atomic_store (&s_destinations, on);
}

bool
log_destinations_shown (void)
{
    return atomic_load (&s_destinations) || atomic_load (&s_level) >= LOG_LEVEL_DEBUG;
}

const char *
log_dest (const char *text)
{
    return log_destinations_shown () ? text : "(a destination)";
}

log_level_t
log_dest_level (void)
{
    return atomic_load (&s_destinations) ? LOG_LEVEL_INFO : LOG_LEVEL_DEBUG;
}

int
log_level_parse (const char *name)
{
    static const char *lower[] = { "error", "warn", "info", "debug" };
    for (int i = 0; i < 4; i++)
        if (strcmp (name, lower[i]) == 0)
            return i;
    if (strcmp (name, "warning") == 0)
        return LOG_LEVEL_WARN;
    return -1;
}

//  One record: the prefix, the message and an optional suffix, in one write.
static void
s_write (log_level_t level, const char *suffix, const char *format, va_list args)
{
    char line[1024];
    struct timeval tv;
    gettimeofday (&tv, NULL);
    struct tm tm;
    gmtime_r (&tv.tv_sec, &tm);
    int n = snprintf (line, sizeof line, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ mimicsocks[%d] %-5s ",
                      tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                      tm.tm_sec, (int) (tv.tv_usec / 1000), (int) getpid (), s_names[level]);
    int m = vsnprintf (line + n, sizeof line - n - 1, format, args);
    size_t len = (size_t) n + (m < 0 ? 0 : (size_t) m);
    if (len > sizeof line - 2)
        len = sizeof line - 2;
    if (suffix) {
        size_t extra = strlen (suffix);
        if (len + extra > sizeof line - 2)
            extra = sizeof line - 2 - len;
        memcpy (line + len, suffix, extra);
        len += extra;
    }
    line[len++] = '\n';
    //  One write per record so that lines from several threads do not interleave.
    ssize_t rc = write (STDERR_FILENO, line, len);
    (void) rc;
}

void
log_write (log_level_t level, const char *format, ...)
{
    if ((int) level > atomic_load (&s_level))
        return;
    va_list args;
    va_start (args, format);
    s_write (level, NULL, format, args);
    va_end (args);
}

void
log_write_limited (log_level_t level, log_limit_t *limit, const char *format, ...)
{
    if ((int) level > atomic_load (&s_level))
        return;
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    long long now = (long long) ts.tv_sec * 1000 + ts.tv_nsec / 1000000 + 1;
    if (limit->last_ms && now - limit->last_ms < LOG_LIMIT_MS) {
        limit->held++;
        return;
    }
    char suffix[96] = "";
    if (limit->held)
        snprintf (suffix, sizeof suffix, " (and %u more like it in the last %lld ms)", limit->held,
                  now - limit->last_ms);
    limit->last_ms = now;
    limit->held = 0;
    va_list args;
    va_start (args, format);
    s_write (level, suffix[0] ? suffix : NULL, format, args);
    va_end (args);
}
