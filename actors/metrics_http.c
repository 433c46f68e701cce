/*  metrics_http — the Prometheus endpoint (actors/metrics_http.h). */
#include "actors/metrics_http.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "actors/acceptor.h"
#include "handlers/http.h"
#include "handlers/socks.h"
#include "runtime/actor.h"
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
//  The actor: a plain non-blocking listening socket and one fd per client,
//  under zmq_poll (at most MAX_CLIENTS + 2 items, so no epoll is needed)

typedef struct {
    int fd;                     //  -1: a free slot
    char data[REQUEST_MAX];
    size_t len;
    char *out;                  //  the answer, while it is being written
    size_t out_len, out_sent;
    bool answered;              //  written (or being written); waiting for the peer's end
    int64_t deadline;
} s_client_t;

typedef struct {
    int listen_fd;
    s_client_t clients[MAX_CLIENTS];
    size_t count;
    int64_t paused_until;       //  out of file descriptors: accept again then
    char *scratch;              //  one answer's room
    size_t scratch_len;
} self_t;

static void
s_client_close (self_t *self, s_client_t *client)
{
    close (client->fd);
    free (client->out);
    client->fd = -1;
    client->out = NULL;
    self->count--;
}

//  Write what the socket takes; once it is all out, half-close, so that the
//  peer reads the answer and its end, then wait for its own end (closing
//  at once with its bytes unread would reset the connection and could lose
//  the answer).
static void
s_client_write (s_client_t *client)
{
    while (client->out && client->out_sent < client->out_len) {
        ssize_t n = send (client->fd, client->out + client->out_sent,
                          client->out_len - client->out_sent, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        if (n <= 0) {
            client->out_sent = client->out_len;     //  gone: nothing more to write
            break;
        }
        client->out_sent += (size_t) n;
    }
    free (client->out);
    client->out = NULL;
    shutdown (client->fd, SHUT_WR);
}

static void
s_client_answer (self_t *self, s_client_t *client, size_t len)
{
    client->answered = true;
    client->deadline = zclock_mono () + REQUEST_MS;
    client->out = malloc (len);
    if (client->out) {
        memcpy (client->out, self->scratch, len);
        client->out_len = len;
        client->out_sent = 0;
    }
    s_client_write (client);
}

//  Readable: the request's next bytes, or (once answered) anything up to its end.
static void
s_client_read (self_t *self, s_client_t *client)
{
    char discard[512];
    while (true) {
        char *into = client->answered ? discard : client->data + client->len;
        size_t room = client->answered ? sizeof discard : REQUEST_MAX - client->len;
        ssize_t n = recv (client->fd, into, room, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        if (n <= 0) {
            s_client_close (self, client);          //  its end, or an error
            return;
        }
        if (client->answered)
            continue;
        client->len += (size_t) n;
        size_t answer = metrics_http_answer (client->data, client->len, self->scratch, self->scratch_len);
        if (answer) {
            s_client_answer (self, client, answer);
            return;
        }
    }
}

//  Room for one more: the peer that has waited longest goes (so that idle
//  connections cannot keep a scraper out).
static s_client_t *
s_free_slot (self_t *self)
{
    s_client_t *oldest = NULL;
    for (size_t i = 0; i < MAX_CLIENTS; i++) {
        s_client_t *client = &self->clients[i];
        if (client->fd < 0)
            return client;
        if (!oldest || client->deadline < oldest->deadline)
            oldest = client;
    }
    s_client_close (self, oldest);
    return oldest;
}

static void
s_accept (self_t *self)
{
    for (int burst = 0; burst < MAX_CLIENTS; burst++) {
        int fd = accept4 (self->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
                self->paused_until = zclock_mono () + 100;
            return;             //  EAGAIN, or an aborted connection, or out of fds
        }
        s_client_t *client = s_free_slot (self);
        *client = (s_client_t) { .fd = fd, .deadline = zclock_mono () + REQUEST_MS };
        self->count++;
    }
}

//  Peers that did not finish a request in time are closed, and so are
//  answered ones whose end never came (or that do not read their answer).
static int64_t
s_expire (self_t *self)
{
    int64_t now = zclock_mono (), next = now + 1000;
    for (size_t i = 0; i < MAX_CLIENTS; i++) {
        s_client_t *client = &self->clients[i];
        if (client->fd >= 0 && client->deadline <= now)
            s_client_close (self, client);
        else if (client->fd >= 0 && client->deadline < next)
            next = client->deadline;
    }
    return next;
}

static int
s_listen (const hostport_t *address)
{
    int fd = acceptor_listen (address);
    bool v6 = strchr (address->host, ':') != NULL;
    if (fd < 0)
        log_error ("metrics: cannot listen on %s%s%s:%u: %s", v6 ? "[" : "", address->host,
                   v6 ? "]" : "", address->port, strerror (errno));
    else
        log_info ("metrics: serving http://%s%s%s:%u/metrics", v6 ? "[" : "", address->host,
                  v6 ? "]" : "", address->port);
    return fd;
}

static void
s_poll_once (self_t *self, zsock_t *pipe, int64_t next_expiry, bool *term)
{
    zmq_pollitem_t items[MAX_CLIENTS + 2];
    s_client_t *owners[MAX_CLIENTS + 2];
    int count = 0;
    items[count++] = (zmq_pollitem_t) { .socket = zsock_resolve (pipe), .events = ZMQ_POLLIN };
    int64_t now = zclock_mono ();
    if (self->paused_until <= now)
        items[count++] = (zmq_pollitem_t) { .fd = self->listen_fd, .events = ZMQ_POLLIN };
    int first_client = count;
    for (size_t i = 0; i < MAX_CLIENTS; i++) {
        s_client_t *client = &self->clients[i];
        if (client->fd < 0)
            continue;
        owners[count] = client;
        items[count++] = (zmq_pollitem_t) { .fd = client->fd,
            .events = (short) (ZMQ_POLLIN | (client->out ? ZMQ_POLLOUT : 0)) };
    }
    int64_t wait = next_expiry - now;
    if (self->paused_until > now && self->paused_until < next_expiry)
        wait = self->paused_until - now;
    if (zmq_poll (items, count, wait > 0 ? (long) wait : 0) < 0) {
        *term = zmq_errno () == ETERM;
        return;
    }
    if (items[0].revents & ZMQ_POLLIN)
        *term = actor_pipe_term (pipe);
    for (int i = first_client; i < count; i++) {
        s_client_t *client = owners[i];
        if (client->fd >= 0 && (items[i].revents & ZMQ_POLLOUT))
            s_client_write (client);
        if (client->fd >= 0 && (items[i].revents & (ZMQ_POLLIN | ZMQ_POLLERR)))
            s_client_read (self, client);
    }
    //  Accepted last: a new client may take the slot of one polled above.
    if (first_client == 2 && (items[1].revents & ZMQ_POLLIN))
        s_accept (self);
}

void
metrics_http_actor (zsock_t *pipe, void *args_)
{
    metrics_http_args_t *args = args_;
    self_t self = { .listen_fd = s_listen (&args->listen), .scratch_len = BODY_MAX + 512 };
    self.scratch = self.listen_fd >= 0 ? malloc (self.scratch_len) : NULL;
    if (!self.scratch) {
        if (self.listen_fd >= 0)
            close (self.listen_fd);
        zsock_signal (pipe, 1);
        return;
    }
    for (size_t i = 0; i < MAX_CLIENTS; i++)
        self.clients[i].fd = -1;
    zsock_signal (pipe, 0);
    bool term = false;
    while (!term)
        s_poll_once (&self, pipe, s_expire (&self), &term);
    for (size_t i = 0; i < MAX_CLIENTS; i++)
        if (self.clients[i].fd >= 0)
            s_client_close (&self, &self.clients[i]);
    close (self.listen_fd);
    free (self.scratch);
}
