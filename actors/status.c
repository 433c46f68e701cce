/*  status — `mimicsocks status` (actors/status.h). A command-line client:
    it may block, with a time limit on every step. */
#include "actors/status.h"

#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define MAX_NAMES 64
#define RESPONSE_MAX (512 * 1024)
#define STEP_MS 3000

typedef struct {
    char name[64];
    double open, total, up, down, tunnels, since, handovers_ok, handovers_failed, probes,
           timeouts, tunnels_total;
} s_row_t;

typedef struct {
    s_row_t rows[MAX_NAMES];
    size_t count;
    double restarts, denials, auth_failures;
    double at;                  //  when it was read (s, monotonic)
} s_sample_t;

static double
s_now (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (double) ts.tv_sec + ts.tv_nsec / 1e9;
}

//  GET /metrics into a malloc'ed, NUL-terminated body; NULL with why set.
static char *
s_fetch (const hostport_t *at, char *why, size_t whylen)
{
    char port[8];
    snprintf (port, sizeof port, "%u", at->port);
    struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *list = NULL;
    int rc = getaddrinfo (at->host, port, &hints, &list);
    if (rc != 0) {
        snprintf (why, whylen, "%s", gai_strerror (rc));
        return NULL;
    }
    int fd = -1;
    snprintf (why, whylen, "no address");
    for (struct addrinfo *ai = list; ai && fd < 0; ai = ai->ai_next) {
        fd = socket (ai->ai_family, ai->ai_socktype, 0);
        if (fd < 0)
            continue;
        struct timeval tv = { STEP_MS / 1000, 0 };
        setsockopt (fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
        setsockopt (fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        if (connect (fd, ai->ai_addr, ai->ai_addrlen) != 0) {
            snprintf (why, whylen, "%s", strerror (errno));
            close (fd);
            fd = -1;
        }
    }
    freeaddrinfo (list);
    if (fd < 0)
        return NULL;
    char request[300];
    int n = snprintf (request, sizeof request, "GET /metrics HTTP/1.0\r\nHost: %s\r\n\r\n", at->host);
    char *response = malloc (RESPONSE_MAX + 1);
    size_t len = 0;
    if (!response || send (fd, request, (size_t) n, MSG_NOSIGNAL) != n) {
        snprintf (why, whylen, "cannot send the request: %s", strerror (errno));
        free (response);
        close (fd);
        return NULL;
    }
    ssize_t got;
    while (len < RESPONSE_MAX && (got = recv (fd, response + len, RESPONSE_MAX - len, 0)) > 0)
        len += (size_t) got;
    close (fd);
    response[len] = 0;
    char *body = strstr (response, "\r\n\r\n");
    if (strncmp (response, "HTTP/1.", 7) != 0 || !strstr (response, " 200 ") || !body) {
        snprintf (why, whylen, len ? "not a mimicsocks metrics endpoint (%.40s)" : "no answer%s", len ? response : "");
        free (response);
        return NULL;
    }
    memmove (response, body + 4, strlen (body + 4) + 1);
    return response;
}

static s_row_t *
s_row (s_sample_t *sample, const char *name)
{
    for (size_t i = 0; i < sample->count; i++)
        if (strcmp (sample->rows[i].name, name) == 0)
            return &sample->rows[i];
    if (sample->count == MAX_NAMES)
        return NULL;
    s_row_t *row = &sample->rows[sample->count++];
    memset (row, 0, sizeof *row);
    snprintf (row->name, sizeof row->name, "%s", name);
    return row;
}

//  A label's value out of {a="x",b="y"} (empty if absent).
static void
s_label (const char *labels, const char *key, char *out, size_t outlen)
{
    char pattern[40];
    snprintf (pattern, sizeof pattern, "%s=\"", key);
    const char *at = strstr (labels, pattern);
    out[0] = 0;
    if (at)
        sscanf (at + strlen (pattern), "%63[^\"]", out);
    (void) outlen;
}

static void
s_parse (char *text, s_sample_t *sample)
{
    memset (sample, 0, sizeof *sample);
    sample->at = s_now ();
    for (char *line = strtok (text, "\n"); line; line = strtok (NULL, "\n")) {
        if (line[0] == '#')
            continue;
        char metric[96], labels[256] = "", name[64], extra[64];
        double value;
        if (sscanf (line, "%95[^{ ]{%255[^}]} %lf", metric, labels, &value) != 3
        &&  sscanf (line, "%95[^{ ] %lf", metric, &value) != 2)
            continue;
        if (strcmp (metric, "mimicsocks_actor_restarts_total") == 0)
            sample->restarts = value;
        else if (strcmp (metric, "mimicsocks_acl_denials_total") == 0)
            sample->denials += value;
        else if (strcmp (metric, "mimicsocks_auth_failures_total") == 0)
            sample->auth_failures += value;
        s_label (labels, "name", name, sizeof name);
        s_row_t *row = name[0] ? s_row (sample, name) : NULL;
        if (!row)
            continue;
        s_label (labels, "direction", extra, sizeof extra);
        if (strcmp (metric, "mimicsocks_connections_open") == 0)
            row->open = value;
        else if (strcmp (metric, "mimicsocks_connections_total") == 0)
            row->total = value;
        else if (strcmp (metric, "mimicsocks_user_bytes_total") == 0)
            *(strcmp (extra, "up") == 0 ? &row->up : &row->down) = value;
        else if (strcmp (metric, "mimicsocks_tunnels_up") == 0)
            row->tunnels = value;
        else if (strcmp (metric, "mimicsocks_tunnels_total") == 0)
            row->tunnels_total = value;
        else if (strcmp (metric, "mimicsocks_tunnel_state_since_seconds") == 0)
            row->since = value;
        else if (strcmp (metric, "mimicsocks_probes_total") == 0)
            row->probes = value;
        else if (strcmp (metric, "mimicsocks_handshake_timeouts_total") == 0)
            row->timeouts = value;
        else if (strcmp (metric, "mimicsocks_handovers_total") == 0) {
            s_label (labels, "result", extra, sizeof extra);
            *(strcmp (extra, "ok") == 0 ? &row->handovers_ok : &row->handovers_failed) = value;
        }
    }
}

static const char *
s_rate (double bytes_per_s, char *buf, size_t len)
{
    static const char *const units[] = { "B/s", "KiB/s", "MiB/s", "GiB/s" };
    int u = 0;
    while (bytes_per_s >= 1024 && u < 3) {
        bytes_per_s /= 1024;
        u++;
    }
    snprintf (buf, len, u ? "%.1f %s" : "%.0f %s", bytes_per_s, units[u]);
    return buf;
}

static void
s_print (const s_row_t *row, const s_row_t *before, double seconds)
{
    char when[64] = "", up[32], down[32];
    time_t since = (time_t) row->since;
    if (since > 0)
        strftime (when, sizeof when, "%Y-%m-%d %H:%M:%S UTC", gmtime (&since));
    printf ("%s\n", row->name);
    if (row->tunnels > 0)
        printf ("  tunnel:      up since %s (%.0f tunnel connection%s)\n", when, row->tunnels,
                row->tunnels == 1 ? "" : "s");
    else if (row->tunnels_total > 0)
        printf ("  tunnel:      down since %s\n", when);
    else
        printf ("  tunnel:      none here (a proxy, or none has come up yet)\n");
    printf ("  connections: %.0f open, %.0f in all\n", row->open, row->total);
    double up_rate = before && seconds > 0 ? (row->up - before->up) / seconds : 0;
    double down_rate = before && seconds > 0 ? (row->down - before->down) / seconds : 0;
    printf ("  rates:       up %s, down %s (user bytes so far: up %.0f, down %.0f)\n",
            s_rate (up_rate, up, sizeof up), s_rate (down_rate, down, sizeof down), row->up, row->down);
    printf ("  handovers:   %.0f ok, %.0f failed; probes %.0f; handshake timeouts %.0f\n",
            row->handovers_ok, row->handovers_failed, row->probes, row->timeouts);
}

int
status_run (const hostport_t *at)
{
    char why[200];
    bool v6 = strchr (at->host, ':') != NULL;
    char where[300];
    snprintf (where, sizeof where, "%s%s%s:%u", v6 ? "[" : "", at->host, v6 ? "]" : "", at->port);
    static s_sample_t first, second;
    char *text = s_fetch (at, why, sizeof why);
    if (!text) {
        fprintf (stderr, "mimicsocks status: nothing answers at %s (%s): is mimicsocks running "
                 "with `metrics: %s` (or --metrics %s)?\n", where, why, where, where);
        return 1;
    }
    s_parse (text, &first);
    free (text);
    usleep (1000 * 1000);
    text = s_fetch (at, why, sizeof why);
    if (!text) {
        fprintf (stderr, "mimicsocks status: %s stopped answering (%s)\n", where, why);
        return 1;
    }
    s_parse (text, &second);
    free (text);
    printf ("mimicsocks at %s: %.0f actor restart(s), %.0f ACL denial(s), %.0f authentication "
            "failure(s)\n", where, second.restarts, second.denials, second.auth_failures);
    for (size_t i = 0; i < second.count; i++) {
        const s_row_t *before = NULL;
        for (size_t j = 0; j < first.count; j++)
            if (strcmp (first.rows[j].name, second.rows[i].name) == 0)
                before = &first.rows[j];
        s_print (&second.rows[i], before, second.at - first.at);
    }
    return 0;
}
