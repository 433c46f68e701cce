/*  metrics_http — the Prometheus endpoint (actors/metrics_http.h). */
#include "actors/metrics_http.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "handlers/http.h"
#include "handlers/socks.h"
#include "runtime/base/log.h"
#include "runtime/metrics.h"

#define MAX_CLIENTS 64
#define REQUEST_MAX 4096
#define REQUEST_MS 5000
#define BODY_MAX (256 * 1024)

//  --------------------------------------------------------------------------
//  One request, one answer

static size_t
s_body (char *buf, size_t len)
{
    size_t used = metrics_render (buf, len);
    int n = snprintf (buf + used, len - used,
        "# HELP mimicsocks_acl_denials_total Connects the target rules refused.\n"
        "# TYPE mimicsocks_acl_denials_total counter\n"
        "mimicsocks_acl_denials_total{handler=\"socks\"} %lu\n"
        "mimicsocks_acl_denials_total{handler=\"http\"} %lu\n"
        "# HELP mimicsocks_auth_failures_total Clients refused for wrong or missing credentials.\n"
        "# TYPE mimicsocks_auth_failures_total counter\n"
        "mimicsocks_auth_failures_total{handler=\"socks\"} %lu\n"
        "mimicsocks_auth_failures_total{handler=\"http\"} %lu\n",
        socks_denied_total (), http_denied_total (),
        socks_auth_failed_total (), http_auth_failed_total ());
    if (n > 0)
        used += (size_t) n < len - used ? (size_t) n : len - used - 1;
    return used;
}

static size_t
s_head (char *buf, size_t buflen, const char *status, const char *type, size_t body_len)
{
    int n = snprintf (buf, buflen, "HTTP/1.1 %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
                      "Connection: close\r\n\r\n", status, type, body_len);
    return n > 0 && (size_t) n < buflen ? (size_t) n : 0;
}

static size_t
s_error (char *buf, size_t buflen, const char *status)
{
    char body[128];
    int n = snprintf (body, sizeof body, "%s\n", status);
    size_t head = s_head (buf, buflen, status, "text/plain; charset=utf-8", (size_t) n);
    if (head + (size_t) n >= buflen)
        return head;
    memcpy (buf + head, body, (size_t) n);
    return head + (size_t) n;
}

size_t
metrics_http_answer (const char *request, size_t len, char *buf, size_t buflen)
{
    const char *end = memmem (request, len, "\r\n\r\n", 4);
    if (!end)
        end = memmem (request, len, "\n\n", 2);
    if (!end)
        return len >= REQUEST_MAX ? s_error (buf, buflen, "431 Request Header Fields Too Large") : 0;
    //  The request line: METHOD SP PATH SP HTTP/1.x
    char line[256];
    const char *eol = memchr (request, '\n', len);
    size_t line_len = eol ? (size_t) (eol - request) : 0;
    if (line_len && request[line_len - 1] == '\r')
        line_len--;
    if (line_len == 0 || line_len >= sizeof line)
        return s_error (buf, buflen, "400 Bad Request");
    memcpy (line, request, line_len);
    line[line_len] = 0;
    char method[16], path[200], version[16];
    if (sscanf (line, "%15s %199s %15s", method, path, version) != 3
    ||  (strcmp (version, "HTTP/1.0") != 0 && strcmp (version, "HTTP/1.1") != 0))
        return s_error (buf, buflen, "400 Bad Request");
    if (strcmp (method, "GET") != 0)
        return s_error (buf, buflen, "405 Method Not Allowed");
    char *query = strchr (path, '?');
    if (query)
        *query = 0;
    if (strcmp (path, "/metrics") != 0)
        return s_error (buf, buflen, "404 Not Found");
    char *body = malloc (BODY_MAX);
    if (!body)
        return s_error (buf, buflen, "503 Service Unavailable");
    size_t body_len = s_body (body, BODY_MAX);
    size_t head = s_head (buf, buflen, "200 OK", "text/plain; version=0.0.4; charset=utf-8", body_len);
    size_t total = head;
    if (head && head + body_len <= buflen) {
        memcpy (buf + head, body, body_len);
        total += body_len;
    }
    free (body);
    return total;
}

//  --------------------------------------------------------------------------
//  The actor: a ZMQ_STREAM socket, each peer by its routing id

typedef struct {
    zframe_t *id;
    char data[REQUEST_MAX];
    size_t len;
    bool answered;              //  waiting for its end (or the deadline) to be forgotten
    int64_t deadline;
} s_client_t;

//  One frame to a peer: its id, then the data. The data goes only if the id
//  went: a peer that is gone (EHOSTUNREACH) or full (EAGAIN) refuses the id,
//  and a data frame sent anyway would be read as the next message's id,
//  putting every later answer out of step.
static void
s_send_to (zsock_t *stream, zframe_t *id, const void *data, size_t len)
{
    void *handle = zsock_resolve (stream);
    if (zmq_send (handle, zframe_data (id), zframe_size (id), ZMQ_SNDMORE | ZMQ_DONTWAIT) >= 0)
        zmq_send (handle, data, len, ZMQ_DONTWAIT);
}

static void
s_close (zsock_t *stream, zframe_t *id)
{
    s_send_to (stream, id, "", 0);              //  an empty frame closes
}

static void
s_answer (zsock_t *stream, s_client_t *client, const char *data, size_t len)
{
    s_send_to (stream, client->id, data, len);
    s_close (stream, client->id);
    client->answered = true;
    client->deadline = zclock_mono () + REQUEST_MS;
}

//  Room for one more: the peer that has waited longest goes (so that idle
//  connections cannot keep a scraper out).
static void
s_make_room (zsock_t *stream, zhashx_t *clients)
{
    const char *oldest_key = NULL;
    s_client_t *oldest = NULL;
    for (s_client_t *client = zhashx_first (clients); client; client = zhashx_next (clients))
        if (!oldest || client->deadline < oldest->deadline) {
            oldest = client;
            oldest_key = zhashx_cursor (clients);
        }
    if (!oldest)
        return;
    if (!oldest->answered)
        s_close (stream, oldest->id);
    char *key = strdup (oldest_key);
    zhashx_delete (clients, key);
    free (key);
}

//  A frame from a peer: its connection (empty, first), its bytes, or its end (empty again).
static void
s_on_frame (zsock_t *stream, zhashx_t *clients, zframe_t *id, zframe_t *data, char *out, size_t outlen)
{
    char *key = zframe_strhex (id);
    s_client_t *client = zhashx_lookup (clients, key);
    if (zframe_size (data) == 0) {
        if (client) {
            zhashx_delete (clients, key);           //  gone
            free (key);
            return;
        }
        if (zhashx_size (clients) >= MAX_CLIENTS)
            s_make_room (stream, clients);
        if ((client = calloc (1, sizeof *client))) {
            client->id = zframe_dup (id);
            client->deadline = zclock_mono () + REQUEST_MS;
            zhashx_insert (clients, key, client);
        }
        free (key);
        return;
    }
    free (key);
    if (!client || client->answered)
        return;
    size_t room = REQUEST_MAX - client->len;
    size_t take = zframe_size (data) < room ? zframe_size (data) : room;
    memcpy (client->data + client->len, zframe_data (data), take);
    client->len += take;
    size_t answer = metrics_http_answer (client->data, client->len, out, outlen);
    if (answer)
        s_answer (stream, client, out, answer);
}

//  Peers that did not finish a request in time are closed; answered ones
//  whose end never came are forgotten.
static void
s_expire (zsock_t *stream, zhashx_t *clients)
{
    int64_t now = zclock_mono ();
    zlistx_t *keys = zhashx_keys (clients);
    for (char *key = zlistx_first (keys); key; key = zlistx_next (keys)) {
        s_client_t *client = zhashx_lookup (clients, key);
        if (client && client->deadline <= now) {
            if (!client->answered)
                s_close (stream, client->id);
            zhashx_delete (clients, key);
        }
    }
    zlistx_destroy (&keys);
}

static void
s_free_client (void **item)
{
    s_client_t *client = *item;
    if (client)
        zframe_destroy (&client->id);
    free (client);
    *item = NULL;
}

void
metrics_http_actor (zsock_t *pipe, void *args_)
{
    metrics_http_args_t *args = args_;
    zsock_t *stream = zsock_new (ZMQ_STREAM);
    bool v6 = strchr (args->listen.host, ':') != NULL;
    if (stream) {
        zsock_set_ipv6 (stream, v6);
        zsock_set_sndtimeo (stream, 0);
    }
    if (!stream || zsock_bind (stream, v6 ? "tcp://[%s]:%u" : "tcp://%s:%u", args->listen.host,
                               args->listen.port) < 0) {
        log_error ("metrics: cannot listen on %s%s%s:%u: %s", v6 ? "[" : "", args->listen.host,
                   v6 ? "]" : "", args->listen.port, zmq_strerror (zmq_errno ()));
        zsock_destroy (&stream);
        zsock_signal (pipe, 1);
        return;
    }
    zhashx_t *clients = zhashx_new ();
    zhashx_set_destructor (clients, s_free_client);
    size_t outlen = BODY_MAX + 512;
    char *out = malloc (outlen);
    log_info ("metrics: serving http://%s%s%s:%u/metrics", v6 ? "[" : "", args->listen.host,
              v6 ? "]" : "", args->listen.port);
    zsock_signal (pipe, 0);
    zpoller_t *poller = zpoller_new (pipe, stream, NULL);
    while (out) {
        void *which = zpoller_wait (poller, 1000);
        if (which == pipe) {
            char *command = zstr_recv (pipe);
            bool term = !command || streq (command, "$TERM");
            zstr_free (&command);
            if (term)
                break;
        }
        else if (which == stream) {
            zframe_t *id = zframe_recv (stream);
            zframe_t *data = id && zsock_rcvmore (stream) ? zframe_recv (stream) : NULL;
            if (id && data)
                s_on_frame (stream, clients, id, data, out, outlen);
            zframe_destroy (&id);
            zframe_destroy (&data);
        }
        else if (zpoller_terminated (poller))
            break;
        s_expire (stream, clients);
    }
    free (out);
    zpoller_destroy (&poller);
    zhashx_destroy (&clients);
    zsock_destroy (&stream);
}
