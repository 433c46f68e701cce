/*  Unit tests: a data-plane worker with real sockets on 127.0.0.1.

    The test plays acceptor (it pushes accepted sockets, or listening ones,
    to the worker's inbox) and both peers: the client and the relay target.
*/
#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <czmq.h>

#include "actors/acceptor.h"
#include "handlers/relay.h"
#include "handlers/socks.h"
#include "runtime/resolver.h"
#include "runtime/worker.h"
#include "runtime/worker_ports.h"
#include "test/support/check_run.h"

#define RESOLVER "inproc://test-worker-resolver"

typedef struct {
    zactor_t *resolver, *worker;
    zsock_t *inbox;
    worker_args_t args;
    int target_listener;
    uint16_t target_port;
    handler_conf_t relay;
} fixture_t;

static uint16_t
s_port_of (int fd)
{
    struct sockaddr_in sa;
    socklen_t len = sizeof sa;
    getsockname (fd, (struct sockaddr *) &sa, &len);
    return ntohs (sa.sin_port);
}

static int
s_listen_any (void)
{
    hostport_t any = { "127.0.0.1", 0 };
    //  Port 0: the kernel picks a free one.
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl (INADDR_LOOPBACK) };
    (void) any;
    int fd = socket (AF_INET, SOCK_STREAM, 0);
    ck_assert_int_ge (fd, 0);
    ck_assert_int_eq (bind (fd, (struct sockaddr *) &sa, sizeof sa), 0);
    ck_assert_int_eq (listen (fd, 64), 0);
    return fd;
}

static int
s_accept_within (int listener, int ms)
{
    struct pollfd p = { listener, POLLIN, 0 };
    if (poll (&p, 1, ms) != 1)
        return -1;
    return accept (listener, NULL, NULL);
}

static void
s_setup (fixture_t *f, const char *target_host)
{
    signal (SIGPIPE, SIG_IGN);
    zsys_set_linger (0);
    f->resolver = resolver_new (RESOLVER, 2);
    ck_assert_ptr_nonnull (f->resolver);
    f->args = (worker_args_t) { 0, RESOLVER, 2000, NULL, 0, 0, 1, 0, NULL };
    f->worker = zactor_new (worker_actor, &f->args);
    ck_assert_ptr_nonnull (f->worker);
    char endpoint[64];
    f->inbox = zsock_new_push (worker_endpoint (0, endpoint, sizeof endpoint));
    f->target_listener = s_listen_any ();
    f->target_port = s_port_of (f->target_listener);
    memset (&f->relay, 0, sizeof f->relay);
    f->relay.cls = &relay_handler_class;
    snprintf (f->relay.relay_to.host, sizeof f->relay.relay_to.host, "%s", target_host);
    f->relay.relay_to.port = f->target_port;
}

static void
s_teardown (fixture_t *f)
{
    zsock_destroy (&f->inbox);
    zactor_destroy (&f->worker);
    zactor_destroy (&f->resolver);
    close (f->target_listener);
}

//  A connected client socket whose server side has been handed to the worker.
static int
s_client_early (fixture_t *f, const handler_conf_t *conf, const char *early)
{
    int listener = s_listen_any ();
    int client = socket (AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons (s_port_of (listener)),
                              .sin_addr.s_addr = htonl (INADDR_LOOPBACK) };
    ck_assert_int_eq (connect (client, (struct sockaddr *) &sa, sizeof sa), 0);
    int served = s_accept_within (listener, 2000);
    ck_assert_int_ge (served, 0);
    close (listener);
    //  Bytes already waiting when the worker takes the socket: it reads them
    //  before the target's name can have been resolved.
    if (early)
        ck_assert_int_eq (write (client, early, strlen (early)), (ssize_t) strlen (early));
    ck_assert_int_eq (zsock_send (f->inbox, "sip", "ACCEPT", served, (void *) conf), 0);
    return client;
}

static int
s_client (fixture_t *f, const handler_conf_t *conf)
{
    return s_client_early (f, conf, NULL);
}

static ssize_t
s_read_exact (int fd, void *buf, size_t len, int ms)
{
    size_t got = 0;
    while (got < len) {
        struct pollfd p = { fd, POLLIN, 0 };
        if (poll (&p, 1, ms) != 1)
            return (ssize_t) got;
        ssize_t n = read (fd, (char *) buf + got, len - got);
        if (n <= 0)
            return (ssize_t) got;
        got += (size_t) n;
    }
    return (ssize_t) got;
}

//  0: orderly EOF, -1: error/reset, 1: data, 2: timeout
static int
s_wait_eof (int fd, int ms)
{
    struct pollfd p = { fd, POLLIN, 0 };
    if (poll (&p, 1, ms) != 1)
        return 2;
    char c;
    ssize_t n = read (fd, &c, 1);
    return n == 0 ? 0 : n < 0 ? -1 : 1;
}

START_TEST (test_relay_both_ways_and_half_close)
{
    fixture_t f;
    s_setup (&f, "127.0.0.1");
    int client = s_client (&f, &f.relay);
    int target = s_accept_within (f.target_listener, 3000);
    ck_assert_int_ge (target, 0);

    ck_assert_int_eq (write (client, "ping", 4), 4);
    char buf[16];
    ck_assert_int_eq (s_read_exact (target, buf, 4, 3000), 4);
    ck_assert_mem_eq (buf, "ping", 4);

    //  The client half-closes: the target sees EOF but can still answer.
    shutdown (client, SHUT_WR);
    ck_assert_int_eq (s_wait_eof (target, 3000), 0);
    ck_assert_int_eq (write (target, "pong", 4), 4);
    ck_assert_int_eq (s_read_exact (client, buf, 4, 3000), 4);
    ck_assert_mem_eq (buf, "pong", 4);
    close (target);
    ck_assert_int_eq (s_wait_eof (client, 3000), 0);
    close (client);
    s_teardown (&f);
}
END_TEST

START_TEST (test_relay_by_name_uses_the_resolver)
{
    fixture_t f;
    s_setup (&f, "localhost");
    //  Sent while the name is being resolved: queued, not lost.
    int client = s_client_early (&f, &f.relay, "early");
    int target = s_accept_within (f.target_listener, 5000);
    //  localhost may resolve to ::1 first; the worker must fall back to 127.0.0.1.
    ck_assert_int_ge (target, 0);
    char early[8];
    ck_assert_int_eq (s_read_exact (target, early, 5, 3000), 5);
    ck_assert_mem_eq (early, "early", 5);
    ck_assert_int_eq (write (target, "hello", 5), 5);
    char buf[8];
    ck_assert_int_eq (s_read_exact (client, buf, 5, 3000), 5);
    ck_assert_mem_eq (buf, "hello", 5);
    close (client);
    ck_assert_int_eq (s_wait_eof (target, 3000), 0);
    close (target);
    s_teardown (&f);
}
END_TEST

START_TEST (test_relay_to_closed_port_closes_the_client)
{
    fixture_t f;
    s_setup (&f, "127.0.0.1");
    close (f.target_listener);      //  nothing listens there any more
    f.target_listener = s_listen_any ();
    int client = s_client (&f, &f.relay);
    int rc = s_wait_eof (client, 3000);
    ck_assert (rc == 0 || rc == -1);
    close (client);
    s_teardown (&f);
}
END_TEST

START_TEST (test_bulk_in_order_and_bounded_buffering)
{
    fixture_t f;
    s_setup (&f, "127.0.0.1");
    int client = s_client (&f, &f.relay);
    int target = s_accept_within (f.target_listener, 3000);
    ck_assert_int_ge (target, 0);
    //  The target reads nothing: the client must be pushed back once the
    //  socket buffers and the worker's window are full, not buffered forever.
    int small = 64 * 1024;
    setsockopt (target, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
    setsockopt (client, SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
    static uint8_t chunk[65536];
    size_t sent = 0;
    for (int stalls = 0; stalls < 20 && sent < (64u << 20); ) {
        for (size_t i = 0; i < sizeof chunk; i++)
            chunk[i] = (uint8_t) ((sent + i) * 13);
        struct pollfd p = { client, POLLOUT, 0 };
        if (poll (&p, 1, 100) != 1) {
            stalls++;
            continue;
        }
        ssize_t n = send (client, chunk, sizeof chunk, MSG_DONTWAIT);
        if (n > 0)
            sent += (size_t) n;
    }
    ck_assert_uint_lt (sent, 64u << 20);    //  back-pressure reached the client
    zsock_send (f.worker, "s", "STATS");
    char *command = NULL;
    uint64_t sessions = 0, blocks = 0;
    ck_assert_int_eq (zsock_recv (f.worker, "s88", &command, &sessions, &blocks), 0);
    zstr_free (&command);
    ck_assert_uint_eq (sessions, 1);
    ck_assert_uint_le (blocks * WORKER_BLOCK_SIZE, WORKER_WINDOW + 2 * WORKER_BLOCK_SIZE);
    //  Now drain: every byte arrives, in order.
    shutdown (client, SHUT_WR);
    size_t received = 0;
    bool in_order = true;
    uint8_t buf[65536];
    while (received < sent) {
        struct pollfd p = { target, POLLIN, 0 };
        if (poll (&p, 1, 5000) != 1)
            break;
        ssize_t n = read (target, buf, sizeof buf);
        if (n <= 0)
            break;
        for (ssize_t i = 0; i < n; i++)
            in_order &= buf[i] == (uint8_t) ((received + (size_t) i) * 13);
        received += (size_t) n;
    }
    ck_assert_uint_eq (received, sent);
    ck_assert (in_order);
    ck_assert_int_eq (s_wait_eof (target, 3000), 0);
    close (target);
    close (client);
    s_teardown (&f);
}
END_TEST

//  Connect to 127.0.0.1:port; -1 with errno if refused.
static int
s_connect (uint16_t port)
{
    int fd = socket (AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons (port),
                              .sin_addr.s_addr = htonl (INADDR_LOOPBACK) };
    if (connect (fd, (struct sockaddr *) &sa, sizeof sa) != 0) {
        int err = errno;
        close (fd);
        errno = err;
        return -1;
    }
    return fd;
}

static void
s_send_listen (fixture_t *f, int fd, const handler_conf_t *conf)
{
    zmsg_t *msg = worker_ports_message ();
    if (fd >= 0)
        worker_ports_message_add (msg, fd, conf, false);
    ck_assert_int_eq (zmsg_send (&msg, f->inbox), 0);
}

START_TEST (test_worker_accepts_on_its_own_copy)
{
    fixture_t f;
    s_setup (&f, "127.0.0.1");
    int listener = s_listen_any ();
    uint16_t port = s_port_of (listener);
    s_send_listen (&f, dup (listener), &f.relay);
    //  Served by the worker itself: nobody here calls accept on listener.
    for (int i = 0; i < 3; i++) {
        int client = s_connect (port);
        ck_assert_int_ge (client, 0);
        int target = s_accept_within (f.target_listener, 3000);
        ck_assert_int_ge (target, 0);
        ck_assert_int_eq (write (client, "ping", 4), 4);
        char buf[4];
        ck_assert_int_eq (s_read_exact (target, buf, 4, 3000), 4);
        ck_assert_mem_eq (buf, "ping", 4);
        close (client);
        close (target);
    }
    //  A new set without it: the worker closes its copy, so once ours is
    //  closed too the port is free (connections are refused).
    s_send_listen (&f, -1, NULL);
    close (listener);
    int refused = 0;
    for (int i = 0; i < 200 && !refused; i++) {
        int client = s_connect (port);
        if (client < 0 && errno == ECONNREFUSED)
            refused = 1;
        else {
            if (client >= 0)
                close (client);
            zclock_sleep (10);
        }
    }
    ck_assert_int_eq (refused, 1);
    s_teardown (&f);
}
END_TEST

START_TEST (test_many_sessions_and_garbage_socks)
{
    fixture_t f;
    s_setup (&f, "127.0.0.1");
    handler_conf_t socks = { .cls = &socks_handler_class, .flags = SOCKS_ACCEPT_V4 | SOCKS_ACCEPT_V5 };
    int garbage = s_client (&f, &socks);
    ck_assert_int_eq (write (garbage, "\x47\x45\x54 / HTTP/1.0\r\n\r\n", 18), 18);
    enum { N = 50 };
    int clients[N], targets[N];
    for (int i = 0; i < N; i++) {
        clients[i] = s_client (&f, &f.relay);
        targets[i] = s_accept_within (f.target_listener, 3000);
        ck_assert_int_ge (targets[i], 0);
    }
    int rc = s_wait_eof (garbage, 3000);
    ck_assert (rc == 0 || rc == -1);        //  closed, no reply
    for (int i = 0; i < N; i++) {
        char msg[16], got[16];
        int len = snprintf (msg, sizeof msg, "client %d", i);
        ck_assert_int_eq (write (clients[i], msg, (size_t) len), len);
        //  Targets were accepted in an order we cannot know: read whatever each got.
        (void) got;
    }
    int seen = 0;
    for (int i = 0; i < N; i++) {
        char got[16] = { 0 };
        ssize_t n = s_read_exact (targets[i], got, 8, 3000);
        ck_assert_int_ge (n, 8);
        ck_assert_mem_eq (got, "client ", 7);
        seen++;
    }
    ck_assert_int_eq (seen, N);
    for (int i = 0; i < N; i++) {
        close (clients[i]);
        close (targets[i]);
    }
    close (garbage);
    s_teardown (&f);
}
END_TEST

int
main (void)
{
    Suite *suite = suite_create ("worker");
    TCase *tc = tcase_create ("relay");
    tcase_set_timeout (tc, 60);
    tcase_add_test (tc, test_relay_both_ways_and_half_close);
    tcase_add_test (tc, test_relay_by_name_uses_the_resolver);
    tcase_add_test (tc, test_relay_to_closed_port_closes_the_client);
    tcase_add_test (tc, test_bulk_in_order_and_bounded_buffering);
    tcase_add_test (tc, test_many_sessions_and_garbage_socks);
    tcase_add_test (tc, test_worker_accepts_on_its_own_copy);
    suite_add_tcase (suite, tc);
    return check_run (suite);
}
