/*  log — leveled logging to stderr, shared by every thread.

    One line per record: "2026-11-24T23:59:01.123Z mimicsocks[pid] LEVEL message".
    Never log key material.
*/
#ifndef MK_LOG_H
#define MK_LOG_H

#include <stdbool.h>

typedef enum { LOG_LEVEL_ERROR = 0, LOG_LEVEL_WARN, LOG_LEVEL_INFO, LOG_LEVEL_DEBUG } log_level_t;

//  Set the most verbose level that is printed (default: info).
void log_set_level (log_level_t level);
log_level_t log_get_level (void);

//  Parse "error", "warn", "info" or "debug"; returns -1 for anything else.
int log_level_parse (const char *name);

void log_write (log_level_t level, const char *format, ...)
    __attribute__ ((format (printf, 2, 3)));

//  A call site's share of the log: at most one record per LOG_LIMIT_MS; the
//  next record that goes out says how many were held back meanwhile, so a
//  flood of the same failure is one line a second with a count, not one
//  line per failure. One per call site and thread (log_limited's macros).
#define LOG_LIMIT_MS 1000
typedef struct {
    long long last_ms;          //  when the last record went out (0: never)
    unsigned held;              //  records held back since
} log_limit_t;

void log_write_limited (log_level_t level, log_limit_t *limit, const char *format, ...)
    __attribute__ ((format (printf, 3, 4)));

#define log_limited(level, ...) \
    do { static __thread log_limit_t s_limit_; \
         log_write_limited (level, &s_limit_, __VA_ARGS__); } while (0)
#define log_warn_limited(...) log_limited (LOG_LEVEL_WARN, __VA_ARGS__)
#define log_info_limited(...) log_limited (LOG_LEVEL_INFO, __VA_ARGS__)

//  Destinations (the targets users reach, URLs) are their business, not the
//  log's: by default they show only at debug. log_show_destinations (true)
//  (the config's log_destinations: true, --log-destinations) shows them at
//  info too. log_dest (text) is text where they show, else "(a destination)",
//  for lines that are logged whatever the setting (a refusal, a failure);
//  log_dest_info logs a line that is all about one (a request): at info if
//  they show, else at debug.
void log_show_destinations (bool on);
bool log_destinations_shown (void);
const char *log_dest (const char *text);
//  info if log_show_destinations (true), else debug.
log_level_t log_dest_level (void);
#define log_dest_info(...) log_write (log_dest_level (), __VA_ARGS__)

#define log_error(...) log_write (LOG_LEVEL_ERROR, __VA_ARGS__)
#define log_warn(...)  log_write (LOG_LEVEL_WARN, __VA_ARGS__)
#define log_info(...)  log_write (LOG_LEVEL_INFO, __VA_ARGS__)
#define log_debug(...) \
    do { if (log_get_level () >= LOG_LEVEL_DEBUG) log_write (LOG_LEVEL_DEBUG, __VA_ARGS__); } while (0)

#endif
