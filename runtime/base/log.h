/*  log — leveled logging to stderr, shared by every thread.

    One line per record: "2026-11-24T23:59:01.123Z mimicsocks[pid] LEVEL message".
    Never log key material.
*/
#ifndef MK_LOG_H
#define MK_LOG_H

typedef enum { LOG_LEVEL_ERROR = 0, LOG_LEVEL_WARN, LOG_LEVEL_INFO, LOG_LEVEL_DEBUG } log_level_t;

//  Set the most verbose level that is printed (default: info).
void log_set_level (log_level_t level);
log_level_t log_get_level (void);

//  Parse "error", "warn", "info" or "debug"; returns -1 for anything else.
int log_level_parse (const char *name);

void log_write (log_level_t level, const char *format, ...)
    __attribute__ ((format (printf, 2, 3)));

#define log_error(...) log_write (LOG_LEVEL_ERROR, __VA_ARGS__)
#define log_warn(...)  log_write (LOG_LEVEL_WARN, __VA_ARGS__)
#define log_info(...)  log_write (LOG_LEVEL_INFO, __VA_ARGS__)
#define log_debug(...) \
    do { if (log_get_level () >= LOG_LEVEL_DEBUG) log_write (LOG_LEVEL_DEBUG, __VA_ARGS__); } while (0)

#endif
