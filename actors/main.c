/*  mimicsocks — command line entry point.

    Parses the command line, loads the configuration (or the embedded default),
    and hands the listeners to app_run(). Exit codes: 0 after a clean stop,
    1 when the service fails (e.g. a port cannot be bound), 2 for a usage or
    configuration error.
*/
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

#include "actors/app.h"
#include "actors/deployment.h"
#include "actors/handler_registry.h"
#include "actors/heart.h"
#include "actors/wormhole.h"
#include "runtime/trace.h"
#include "config/config.h"
#include "config/default_config.h"
#include "runtime/base/log.h"

#define EXIT_USAGE 2
#define MAX_LISTENERS 64
#define MAX_RULES 64
#define DEFAULT_DRAIN_S 3

static const char *s_usage =
    "Usage:\n"
    "  mimicsocks [--config FILE] [OPTIONS]\n"
    "      Run every proxy and wormhole of FILE (without --config: the embedded\n"
    "      default, two loopback wormholes with both ends here: SOCKS users on\n"
    "      127.0.0.1:1080 (aggregated) and HTTP proxy users on 127.0.0.1:8080\n"
    "      (distributed), with a key made at start).\n"
    "  mimicsocks socks|socks4|socks5|http --listen ADDR [--listen ADDR]... [OPTIONS]\n"
    "      A standalone proxy: socks serves SOCKS4, 4a and 5; http serves CONNECT and\n"
    "      absolute-URI requests with keep-alive.\n"
    "  mimicsocks relay --listen ADDR --to HOST:PORT [OPTIONS]\n"
    "      Forward every connection to HOST:PORT.\n"
    "  mimicsocks check-config FILE\n"
    "      Validate FILE and print what it defines; or list every problem of it\n"
    "      (FILE:LINE:COL: field: problem, port clashes included) and exit 2.\n"
    "  mimicsocks trace ENDPOINT [--wormhole NAME] [--stats] [--seconds N]\n"
    "      Subscribe to a running mimicsocks' trace (its --trace or `trace:` endpoint)\n"
    "      and print one line per message hop, or per-name counters each second.\n"
    "  mimicsocks genkey [--key-bytes 16|24|32]\n"
    "      Print a new random wormhole key in hex (default 32 bytes: AES-256).\n"
    "  mimicsocks --help | --version\n"
    "\n"
    "ADDR is host:port, 1.2.3.4:port or [v6]:port.\n"
    "Options of socks and http (the config's allow:, deny: and users:):\n"
    "  --allow CIDR            allow targets in CIDR (e.g. 10.0.0.0/8, fd00::/8) that the\n"
    "                          default rules deny: loopback, private, link-local, multicast,\n"
    "                          this host's own addresses (repeatable)\n"
    "  --deny CIDR             deny targets in CIDR, over any --allow (repeatable)\n"
    "  --user NAME:PASSWORD    ask for these credentials (SOCKS5 RFC 1929, HTTP Basic;\n"
    "                          repeatable; SOCKS4 is then refused)\n"
    "Options:\n"
    "  --log-level LEVEL       error, warn, info (default) or debug; logs go to stderr\n"
    "  --log-destinations      log the targets and URLs users reach at info too (by\n"
    "                          default only at debug; the config's log_destinations:)\n"
    "  --workers N             data-plane worker threads (default: one per core)\n"
    "  --connect-timeout SECS  limit for connecting to a target (default 10)\n"
    "  --idle-timeout SECS     close a user's connection after this long without a byte\n"
    "                          either way (default 300; a fifth of it once one direction\n"
    "                          has ended; 0: never)\n"
    "  --trace ENDPOINT        publish the message-flow trace there (ZeroMQ, e.g.\n"
    "                          tcp://127.0.0.1:5555); overrides the config's `trace:`\n"
    "  --drain-seconds N       on SIGTERM, stop accepting and give open connections up to\n"
    "                          N seconds to finish (default 3; 0: close at once; a second\n"
    "                          SIGTERM closes at once)\n"
    "  --supervise             run the service in a child process and start it again\n"
    "                          if it crashes (like Erlang's heart)\n"
    "  --role local|remote|both  which ends of the config's wormholes to run (default:\n"
    "                          decided by the host's own addresses: the local end where\n"
    "                          `server` is an own address, the remote end where\n"
    "                          `wormhole_remote` is)\n";

typedef struct {
    const char *command;        //  NULL: run a config
    const char *config_path;
    hostport_t listen[MAX_LISTENERS];
    size_t listen_count;
    hostport_t relay_to;
    bool has_relay_to;
    acl_cidr_t allow[MAX_RULES], deny[MAX_RULES];
    size_t allow_count, deny_count;
    acl_user_t users[MAX_RULES];
    size_t user_count;
    int log_level;              //  -1: not given
    int workers;
    int connect_timeout_s;
    int idle_timeout_s;                 //  -1: the default
    int role;                   //  wormhole_role_t
    int key_bytes;
    bool supervise;
    bool log_destinations;      //  --log-destinations
    int drain_s;                //  -1: default
    const char *trace;          //  --trace ENDPOINT, or the trace command's ENDPOINT
    const char *trace_name;     //  trace --wormhole NAME
    bool trace_stats;
    int trace_seconds;
} options_t;

static int
s_usage_error (const char *format, const char *arg)
{
    fprintf (stderr, "mimicsocks: ");
    fprintf (stderr, format, arg);
    fprintf (stderr, "\nTry 'mimicsocks --help'.\n");
    return EXIT_USAGE;
}

static int
s_parse_int (const char *text, int min, int max, int *out)
{
    char *end;
    errno = 0;
    long value = strtol (text, &end, 10);
    if (errno || !*text || *end || value < min || value > max)
        return -1;
    *out = (int) value;
    return 0;
}

#define DEFAULT_IDLE_S 300

static int
s_idle_ms (const options_t *opts)
{
    int s = opts->idle_timeout_s >= 0 ? opts->idle_timeout_s : DEFAULT_IDLE_S;
    return s > 0 ? s * 1000 : -1;       //  -1: never
}

//  Returns -1 when parsing succeeded, else the exit code to leave with.
static int
s_parse_args (int argc, char **argv, options_t *opts)
{
    memset (opts, 0, sizeof *opts);
    opts->log_level = -1;
    opts->drain_s = -1;
    opts->idle_timeout_s = -1;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        const char *value = i + 1 < argc ? argv[i + 1] : NULL;
        char err[256];
        //  The command may come before or after the options.
        if (arg[0] != '-' && !opts->command) {
            opts->command = arg;
            continue;
        }
        if (streq (arg, "--help") || streq (arg, "-h")) {
            fputs (s_usage, stdout);
            return 0;
        }
        if (streq (arg, "--version") || streq (arg, "-V")) {
            printf ("mimicsocks %s\n", MIMICSOCKS_VERSION);
            return 0;
        }
        if (streq (arg, "--supervise")) {
            opts->supervise = true;
            continue;
        }
        if (streq (arg, "--stats")) {
            opts->trace_stats = true;
            continue;
        }
        if (streq (arg, "--log-destinations")) {
            opts->log_destinations = true;
            continue;
        }
        if (opts->command && streq (opts->command, "trace") && arg[0] != '-' && !opts->trace) {
            opts->trace = arg;
            continue;
        }
        if (opts->command && streq (opts->command, "check-config") && arg[0] != '-'
        &&  !opts->config_path) {
            opts->config_path = arg;
            continue;
        }
        if (!value)
            return s_usage_error ("'%s' needs a value or is not an option", arg);
        i++;
        if (streq (arg, "--config") || streq (arg, "-c"))
            opts->config_path = value;
        else if (streq (arg, "--log-level")) {
            opts->log_level = log_level_parse (value);
            if (opts->log_level < 0)
                return s_usage_error ("--log-level: '%s' is not error, warn, info or debug", value);
        }
        else if (streq (arg, "--workers")) {
            if (s_parse_int (value, 1, 64, &opts->workers))
                return s_usage_error ("--workers: '%s' is not a number from 1 to 64", value);
        }
        else if (streq (arg, "--idle-timeout")) {
            if (s_parse_int (value, 0, 86400, &opts->idle_timeout_s))
                return s_usage_error ("--idle-timeout: '%s' is not a number of seconds from 0 to 86400", value);
        }
        else if (streq (arg, "--connect-timeout")) {
            if (s_parse_int (value, 1, 600, &opts->connect_timeout_s))
                return s_usage_error ("--connect-timeout: '%s' is not a number of seconds from 1 to 600", value);
        }
        else if (streq (arg, "--drain-seconds")) {
            if (s_parse_int (value, 0, 3600, &opts->drain_s))
                return s_usage_error ("--drain-seconds: '%s' is not a number of seconds (0-3600)", value);
        }
        else if (streq (arg, "--trace"))
            opts->trace = value;
        else if (streq (arg, "--wormhole"))
            opts->trace_name = value;
        else if (streq (arg, "--seconds")) {
            if (s_parse_int (value, 1, 86400, &opts->trace_seconds))
                return s_usage_error ("--seconds: '%s' is not a number of seconds", value);
        }
        else if (streq (arg, "--role")) {
            opts->role = wormhole_role_parse (value);
            if (opts->role < 0)
                return s_usage_error ("--role: '%s' is not local, remote or both", value);
        }
        else if (streq (arg, "--key-bytes")) {
            if (s_parse_int (value, 16, 32, &opts->key_bytes) || opts->key_bytes % 8)
                return s_usage_error ("--key-bytes: '%s' is not 16, 24 or 32", value);
        }
        else if (streq (arg, "--listen") || streq (arg, "-l")) {
            if (opts->listen_count == MAX_LISTENERS)
                return s_usage_error ("too many --listen addresses (at most %s)", "64");
            if (hostport_parse (value, &opts->listen[opts->listen_count], err, sizeof err))
                return s_usage_error ("--listen: %s", err);
            opts->listen_count++;
        }
        else if (streq (arg, "--allow") || streq (arg, "--deny")) {
            bool allow = streq (arg, "--allow");
            size_t *count = allow ? &opts->allow_count : &opts->deny_count;
            if (*count == MAX_RULES)
                return s_usage_error ("too many rules (at most %s)", "64");
            if (acl_cidr_parse (value, allow ? &opts->allow[*count] : &opts->deny[*count], err, sizeof err))
                return s_usage_error (allow ? "--allow: %s" : "--deny: %s", err);
            (*count)++;
        }
        else if (streq (arg, "--user")) {
            const char *colon = strchr (value, ':');
            if (opts->user_count == MAX_RULES)
                return s_usage_error ("too many users (at most %s)", "64");
            if (!colon || colon == value || !colon[1] || (size_t) (colon - value) > ACL_NAME_MAX
            ||  strlen (colon + 1) > ACL_NAME_MAX)
                return s_usage_error ("--user: %s", "expected NAME:PASSWORD (1 to 255 bytes each)");
            acl_user_t *user = &opts->users[opts->user_count++];
            memcpy (user->name, value, (size_t) (colon - value));
            strcpy (user->password, colon + 1);
        }
        else if (streq (arg, "--to")) {
            if (hostport_parse (value, &opts->relay_to, err, sizeof err))
                return s_usage_error ("--to: %s", err);
            opts->has_relay_to = true;
        }
        else
            return s_usage_error ("unknown option '%s'", arg);
    }
    return -1;
}

//  The embedded default with a key made for this run in place of @KEY@.
static config_t *
s_default_config (char *err, size_t errlen)
{
    unsigned char key[32];
    char hex[65];
    if (RAND_bytes (key, sizeof key) != 1) {
        snprintf (err, errlen, "<default>: no randomness available for a key");
        return NULL;
    }
    for (size_t i = 0; i < sizeof key; i++)
        snprintf (hex + 2 * i, 3, "%02x", key[i]);
    char *text = strdup (default_config_text);
    for (char *at = strstr (text, "@KEY@"); at; at = strstr (text, "@KEY@")) {
        //  "@KEY@" is 5 bytes, the key 64: rebuild the string around it.
        size_t before = (size_t) (at - text);
        char *next = malloc (strlen (text) + 64);
        memcpy (next, text, before);
        memcpy (next + before, hex, 64);
        strcpy (next + before + 64, at + 5);
        free (text);
        text = next;
    }
    config_t *config = config_parse (text, strlen (text), "<default>", err, errlen);
    OPENSSL_cleanse (text, strlen (text));
    OPENSSL_cleanse (hex, sizeof hex);
    OPENSSL_cleanse (key, sizeof key);
    free (text);
    return config;
}

//  Loads the file (NULL: the default); on failure prints every message, one
//  a line, and *problems (if given) counts them.
static config_t *
s_load_config (const char *path, int *problems)
{
    static char err[16384];
    config_t *config = path ? config_load (path, err, sizeof err) : s_default_config (err, sizeof err);
    int count = 0;
    for (char *line = err; !config && line; ) {
        char *end = strchr (line, '\n');
        fprintf (stderr, "mimicsocks: %.*s\n", end ? (int) (end - line) : (int) strlen (line), line);
        //  The last line may be "... and N more".
        count += strncmp (line, "... and ", 8) == 0 ? atoi (line + 8) : 1;
        line = end ? end + 1 : NULL;
    }
    if (problems)
        *problems = count;
    return config;
}

static int
s_check_config (const options_t *opts)
{
    if (!opts->config_path)
        return s_usage_error ("%s", "check-config needs a FILE");
    int problems = 0;
    config_t *config = s_load_config (opts->config_path, &problems);
    if (!config) {
        if (problems > 1)
            fprintf (stderr, "mimicsocks: %s: %d problems\n", opts->config_path, problems);
        return EXIT_USAGE;
    }
    config_print (config, stdout);
    printf ("%s: OK\n", opts->config_path);
    config_destroy (&config);
    return 0;
}

static int
s_run_standalone (const options_t *opts)
{
    int kind = config_handler_parse (opts->command);
    if (kind < 0)
        return s_usage_error ("unknown command '%s'", opts->command);
    if (opts->listen_count == 0)
        return s_usage_error ("%s needs --listen ADDR", opts->command);
    if (kind == CONFIG_RELAY && !opts->has_relay_to)
        return s_usage_error ("%s needs --to HOST:PORT", "relay");
    if (kind != CONFIG_RELAY && opts->has_relay_to)
        return s_usage_error ("--to only goes with relay, not %s", opts->command);
    bool rules = opts->allow_count || opts->deny_count || opts->user_count;
    if (kind == CONFIG_RELAY && rules)
        return s_usage_error ("--allow, --deny and --user are for socks and http, not %s", "relay");
    if (kind == CONFIG_SOCKS4 && opts->user_count)
        return s_usage_error ("--user: SOCKS4 has no passwords (use socks5, socks or http), not %s",
                              opts->command);
    static config_handler_t handler;
    handler = (config_handler_t) {
        .kind = (config_handler_type_t) kind, .relay_to = opts->relay_to,
        .acl = { opts->allow, opts->allow_count, opts->deny, opts->deny_count },
        .users = { opts->users, opts->user_count }
    };
    static listener_conf_t listeners[MAX_LISTENERS];
    for (size_t i = 0; i < opts->listen_count; i++) {
        listeners[i].worker = -1;
        listeners[i].listen = opts->listen[i];
        handler_conf_from_config (&handler, &listeners[i].handler);
        handler_conf_warn_exposed (&opts->listen[i], &handler);
        snprintf (listeners[i].label, sizeof listeners[i].label, "%s proxy",
                  config_handler_name (handler.kind));
    }
    app_conf_t conf = { .listeners = listeners, .listener_count = opts->listen_count,
                        .workers = opts->workers, .connect_timeout_ms = opts->connect_timeout_s * 1000,
                        .idle_timeout_ms = s_idle_ms (opts),
                        .trace_endpoint = opts->trace,
                        .drain_ms = (opts->drain_s >= 0 ? opts->drain_s : DEFAULT_DRAIN_S) * 1000 };
    return app_run (&conf);
}

static int
s_genkey (const options_t *opts)
{
    int bytes = opts->key_bytes ? opts->key_bytes : 32;
    unsigned char key[32];
    if (RAND_bytes (key, bytes) != 1) {
        fprintf (stderr, "mimicsocks: no randomness available for a key\n");
        return 1;
    }
    for (int i = 0; i < bytes; i++)
        printf ("%02x", key[i]);
    printf ("\n");
    OPENSSL_cleanse (key, sizeof key);
    return 0;
}

static int
s_run_config (const options_t *opts)
{
    config_t *config = s_load_config (opts->config_path, NULL);
    if (!config)
        return EXIT_USAGE;
    if (opts->log_level < 0 && config->has_log_level)
        log_set_level (config->log_level);
    if (config->log_destinations)
        log_show_destinations (true);
    char err[256];
    int workers = app_worker_count (opts->workers ? opts->workers : config->workers);
    const char *trace = opts->trace ? opts->trace : config->trace_endpoint;
    deployment_t *deployment = deployment_new (config, opts->config_path, opts->role, workers,
                                               err, sizeof err);
    if (!deployment) {
        log_error ("%s", err);
        return EXIT_USAGE;
    }
    app_conf_t conf = { 0 };
    deployment_app_conf (deployment, &conf);
    int code;
    if (conf.listener_count == 0 && conf.dial_count == 0) {
        log_error ("%s: nothing to run on this host", opts->config_path ? opts->config_path : "<default>");
        code = EXIT_USAGE;
    }
    else {
        conf.workers = workers;
        conf.connect_timeout_ms = opts->connect_timeout_s * 1000;
        conf.idle_timeout_ms = s_idle_ms (opts);
        conf.trace_endpoint = trace;
        conf.retry_binds = true;        //  several wormholes: one busy port must not stop the others
        conf.drain_ms = (opts->drain_s >= 0 ? opts->drain_s : DEFAULT_DRAIN_S) * 1000;
        code = app_run (&conf);
    }
    deployment_destroy (&deployment);
    return code;
}

int
main (int argc, char **argv)
{
    static options_t opts;      //  (the standalone handler's rules point into it)
    int code = s_parse_args (argc, argv, &opts);
    if (code >= 0)
        return code;
    if (opts.log_level >= 0)
        log_set_level (opts.log_level);
    log_show_destinations (opts.log_destinations);
    if (opts.command && streq (opts.command, "check-config"))
        return s_check_config (&opts);
    if (opts.command && streq (opts.command, "genkey"))
        return s_genkey (&opts);
    if (opts.command && streq (opts.command, "trace")) {
        if (!opts.trace)
            return s_usage_error ("%s", "trace needs the ENDPOINT of a running mimicsocks");
        return trace_monitor (opts.trace, opts.trace_name, opts.trace_stats, opts.trace_seconds);
    }
    if (opts.command && opts.config_path)
        return s_usage_error ("--config does not go with the '%s' command", opts.command);
    if (opts.supervise) {
        //  Before any thread or socket exists: fork is only safe now.
        int code = heart_run ();
        if (code > 0)
            return code - 1;
    }
    app_init_process ();
    acl_init_local ();
    return opts.command ? s_run_standalone (&opts) : s_run_config (&opts);
}
