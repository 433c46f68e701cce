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

void
log_write (log_level_t level, const char *format, ...)
{
    if ((int) level > atomic_load (&s_level))
        return;
    char line[1024];
    struct timeval tv;
    gettimeofday (&tv, NULL);
    struct tm tm;
    gmtime_r (&tv.tv_sec, &tm);
    int n = snprintf (line, sizeof line, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ mimicsocks[%d] %-5s ",
                      tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                      tm.tm_sec, (int) (tv.tv_usec / 1000), (int) getpid (), s_names[level]);
    va_list args;
    va_start (args, format);
    int m = vsnprintf (line + n, sizeof line - n - 1, format, args);
    va_end (args);
    size_t len = (size_t) n + (m < 0 ? 0 : (size_t) m);
    if (len > sizeof line - 2)
        len = sizeof line - 2;
    line[len++] = '\n';
    //  One write per record so that lines from several threads do not interleave.
    ssize_t rc = write (STDERR_FILENO, line, len);
    (void) rc;
}
