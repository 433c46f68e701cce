/*  test_resolver — the resolver actor and its worker-side helpers.

    Only literals, "localhost" (from /etc/hosts) and strings the resolver
    rejects itself are looked up: the test machine has no DNS.
*/
#include <check.h>
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <string.h>

#include "runtime/base/addr.h"
#include "runtime/base/log.h"
#include "runtime/resolver.h"
#include "test/support/check_run.h"

#define REPLY_WAIT_MS 10000     //  generous: a reply that is due
#define QUIET_WAIT_MS 300       //  how long we look for a reply that must not come

static void
s_setup (void)
{
    zsys_handler_set (NULL);
    log_set_level (LOG_LEVEL_WARN);
}

typedef struct {
    uint64_t token;
    int status;
    struct sockaddr_storage addrs [RESOLVER_MAX_ADDRS];
    socklen_t lens [RESOLVER_MAX_ADDRS];
    size_t count;
} reply_t;

//  Wait up to timeout_ms for one reply; false if none came.
static bool
s_recv_reply (zsock_t *dealer, int timeout_ms, reply_t *reply)
{
    zsock_set_rcvtimeo (dealer, timeout_ms);
    zmsg_t *msg = zmsg_recv (dealer);
    if (!msg)
        return false;
    int rc = resolver_reply_parse (msg, &reply->token, &reply->status,
                                   reply->addrs, reply->lens, RESOLVER_MAX_ADDRS, &reply->count);
    ck_assert_int_eq (rc, 0);
    zmsg_destroy (&msg);
    return true;
}

static void
s_expect_reply (zsock_t *dealer, uint64_t token, int status, reply_t *reply)
{
    ck_assert_msg (s_recv_reply (dealer, REPLY_WAIT_MS, reply), "no reply for token %llu",
                   (unsigned long long) token);
    ck_assert_uint_eq (reply->token, token);
    ck_assert_int_eq (reply->status, status);
}

static void
s_expect_silence (zsock_t *dealer)
{
    reply_t reply;
    ck_assert_msg (!s_recv_reply (dealer, QUIET_WAIT_MS, &reply),
                   "unexpected reply (token %llu)", (unsigned long long) reply.token);
}

static bool
s_is_loopback (const struct sockaddr_storage *sa)
{
    if (sa->ss_family == AF_INET)
        return (ntohl (((const struct sockaddr_in *) sa)->sin_addr.s_addr) >> 24) == 127;
    if (sa->ss_family == AF_INET6)
        return IN6_IS_ADDR_LOOPBACK (&((const struct sockaddr_in6 *) sa)->sin6_addr);
    return false;
}

static uint16_t
s_port_of (const struct sockaddr_storage *sa)
{
    if (sa->ss_family == AF_INET)
        return ntohs (((const struct sockaddr_in *) sa)->sin_port);
    return ntohs (((const struct sockaddr_in6 *) sa)->sin6_port);
}

static void
s_send_frames (zsock_t *dealer, const void *const *frames, const size_t *sizes, size_t nframes)
{
    zmsg_t *msg = zmsg_new ();
    for (size_t i = 0; i < nframes; i++)
        zmsg_addmem (msg, frames [i], sizes [i]);
    ck_assert_int_eq (zmsg_send (&msg, dealer), 0);
}

static void
s_hold (zactor_t *resolver, int expected)
{
    zstr_send (resolver, "HOLD");
    ck_assert_int_eq (zsock_wait (resolver), expected);
}

static void
s_release (zactor_t *resolver)
{
    zstr_send (resolver, "RELEASE");
    ck_assert_int_eq (zsock_wait (resolver), 0);
}


START_TEST (test_literal_ipv4)
{
    zactor_t *resolver = resolver_new ("inproc://resolver-v4", 0);     //  0 threads: clamped to 1
    ck_assert_ptr_nonnull (resolver);
    zsock_t *dealer = zsock_new_dealer (">inproc://resolver-v4");
    ck_assert_ptr_nonnull (dealer);

    uint64_t token = 0x0123456789abcdefULL;
    ck_assert_int_eq (resolver_request (dealer, token, "127.0.0.1", 8080), 0);
    reply_t reply;
    s_expect_reply (dealer, token, 0, &reply);
    ck_assert_uint_eq (reply.count, 1);
    ck_assert_int_eq (reply.lens [0], sizeof (struct sockaddr_in));
    const struct sockaddr_in *v4 = (const struct sockaddr_in *) &reply.addrs [0];
    ck_assert_int_eq (v4->sin_family, AF_INET);
    ck_assert_uint_eq (ntohl (v4->sin_addr.s_addr), INADDR_LOOPBACK);
    ck_assert_uint_eq (ntohs (v4->sin_port), 8080);

    zsock_destroy (&dealer);
    zactor_destroy (&resolver);
    ck_assert_ptr_null (resolver);
}
END_TEST

START_TEST (test_literal_ipv6)
{
    zactor_t *resolver = resolver_new ("inproc://resolver-v6", 2);
    ck_assert_ptr_nonnull (resolver);
    zsock_t *dealer = zsock_new_dealer (">inproc://resolver-v6");

    uint64_t token = UINT64_MAX;
    ck_assert_int_eq (resolver_request (dealer, token, "::1", 443), 0);
    reply_t reply;
    s_expect_reply (dealer, token, 0, &reply);
    ck_assert_uint_eq (reply.count, 1);
    ck_assert_int_eq (reply.lens [0], sizeof (struct sockaddr_in6));
    const struct sockaddr_in6 *v6 = (const struct sockaddr_in6 *) &reply.addrs [0];
    ck_assert_int_eq (v6->sin6_family, AF_INET6);
    ck_assert (IN6_IS_ADDR_LOOPBACK (&v6->sin6_addr));
    ck_assert_uint_eq (ntohs (v6->sin6_port), 443);

    zsock_destroy (&dealer);
    zactor_destroy (&resolver);
}
END_TEST

START_TEST (test_localhost)
{
    zactor_t *resolver = resolver_new ("inproc://resolver-localhost", 2);
    ck_assert_ptr_nonnull (resolver);
    zsock_t *dealer = zsock_new_dealer (">inproc://resolver-localhost");

    ck_assert_int_eq (resolver_request (dealer, 42, "localhost", 1080), 0);
    reply_t reply;
    s_expect_reply (dealer, 42, 0, &reply);
    ck_assert_uint_ge (reply.count, 1);
    ck_assert_uint_le (reply.count, RESOLVER_MAX_ADDRS);
    for (size_t i = 0; i < reply.count; i++) {
        ck_assert (s_is_loopback (&reply.addrs [i]));
        ck_assert_uint_eq (s_port_of (&reply.addrs [i]), 1080);
        ck_assert_int_eq (reply.lens [i], reply.addrs [i].ss_family == AF_INET
                          ? sizeof (struct sockaddr_in) : sizeof (struct sockaddr_in6));
        for (size_t j = 0; j < i; j++)      //  deduplicated
            ck_assert (reply.lens [i] != reply.lens [j]
                       || memcmp (&reply.addrs [i], &reply.addrs [j], reply.lens [i]) != 0);
    }
    zsock_destroy (&dealer);
    zactor_destroy (&resolver);
}
END_TEST

START_TEST (test_empty_host)
{
    zactor_t *resolver = resolver_new ("inproc://resolver-empty", 1);
    zsock_t *dealer = zsock_new_dealer (">inproc://resolver-empty");

    ck_assert_int_eq (resolver_request (dealer, 7, "", 80), 0);
    reply_t reply;
    ck_assert (s_recv_reply (dealer, REPLY_WAIT_MS, &reply));
    ck_assert_uint_eq (reply.token, 7);
    ck_assert_int_ne (reply.status, 0);
    ck_assert_uint_eq (reply.count, 0);

    zsock_destroy (&dealer);
    zactor_destroy (&resolver);
}
END_TEST

#define DEALERS 5
#define PER_DEALER 100

START_TEST (test_many_concurrent)
{
    zactor_t *resolver = resolver_new ("inproc://resolver-many", 4);
    ck_assert_ptr_nonnull (resolver);
    zsock_t *dealers [DEALERS];
    zpoller_t *poller = zpoller_new (NULL);
    for (int d = 0; d < DEALERS; d++) {
        dealers [d] = zsock_new_dealer (">inproc://resolver-many");
        ck_assert_ptr_nonnull (dealers [d]);
        zpoller_add (poller, dealers [d]);
    }
    //  Token = dealer << 32 | index, so a reply can be checked against its sender.
    const char *hosts [] = { "localhost", "127.0.0.1", "::1" };
    for (int i = 0; i < PER_DEALER; i++)
        for (int d = 0; d < DEALERS; d++) {
            uint64_t token = ((uint64_t) d << 32) | (uint64_t) i;
            ck_assert_int_eq (resolver_request (dealers [d], token, hosts [(i + d) % 3],
                                                (uint16_t) (1000 + i)), 0);
        }

    int seen [DEALERS][PER_DEALER] = { { 0 } };
    int received = 0;
    int64_t deadline = zclock_mono () + 60000;
    while (received < DEALERS * PER_DEALER && zclock_mono () < deadline) {
        zsock_t *which = (zsock_t *) zpoller_wait (poller, 1000);
        if (!which)
            continue;
        int d = 0;
        while (dealers [d] != which)
            d++;
        reply_t reply;
        ck_assert (s_recv_reply (which, 0, &reply));
        ck_assert_uint_eq (reply.token >> 32, (uint64_t) d);
        uint64_t i = reply.token & 0xffffffffULL;
        ck_assert_uint_lt (i, PER_DEALER);
        ck_assert_int_eq (reply.status, 0);
        ck_assert_uint_ge (reply.count, 1);
        ck_assert (s_is_loopback (&reply.addrs [0]));
        ck_assert_uint_eq (s_port_of (&reply.addrs [0]), 1000 + i);
        seen [d][i]++;
        received++;
    }
    ck_assert_int_eq (received, DEALERS * PER_DEALER);
    for (int d = 0; d < DEALERS; d++)
        for (int i = 0; i < PER_DEALER; i++)
            ck_assert_int_eq (seen [d][i], 1);
    for (int d = 0; d < DEALERS; d++)
        s_expect_silence (dealers [d]);     //  exactly once: nothing extra trails

    zpoller_destroy (&poller);
    for (int d = 0; d < DEALERS; d++)
        zsock_destroy (&dealers [d]);
    zactor_destroy (&resolver);
}
END_TEST

START_TEST (test_malformed_requests)
{
    zactor_t *resolver = resolver_new ("inproc://resolver-bad", 1);
    zsock_t *dealer = zsock_new_dealer (">inproc://resolver-bad");
    uint64_t token = 99;
    uint8_t port [2] = { 0x01, 0xbb };
    uint8_t port3 [3] = { 0, 1, 2 };
    reply_t reply;

    //  No token to answer to: dropped. The next good reply must be the
    //  first thing that arrives, so nothing was answered for them.
    s_send_frames (dealer, (const void *[]) { "abc" }, (size_t []) { 3 }, 1);
    s_send_frames (dealer, (const void *[]) { "" }, (size_t []) { 0 }, 1);
    s_send_frames (dealer, (const void *[]) { "1234567", "localhost", port },
                   (size_t []) { 7, 9, 2 }, 3);
    s_send_frames (dealer, (const void *[]) { "123456789", "localhost", port },
                   (size_t []) { 9, 9, 2 }, 3);
    ck_assert_int_eq (resolver_request (dealer, 1, "127.0.0.1", 80), 0);
    s_expect_reply (dealer, 1, 0, &reply);
    ck_assert_uint_eq (reply.count, 1);

    //  A token but the wrong shape: EAI_FAIL, in order.
    s_send_frames (dealer, (const void *[]) { &token }, (size_t []) { 8 }, 1);
    s_expect_reply (dealer, token, EAI_FAIL, &reply);
    ck_assert_uint_eq (reply.count, 0);
    s_send_frames (dealer, (const void *[]) { &token, "localhost" }, (size_t []) { 8, 9 }, 2);
    s_expect_reply (dealer, token, EAI_FAIL, &reply);
    s_send_frames (dealer, (const void *[]) { &token, "localhost", port3 },
                   (size_t []) { 8, 9, 3 }, 3);
    s_expect_reply (dealer, token, EAI_FAIL, &reply);
    s_send_frames (dealer, (const void *[]) { &token, "localhost", port, port },
                   (size_t []) { 8, 9, 2, 2 }, 4);
    s_expect_reply (dealer, token, EAI_FAIL, &reply);
    s_send_frames (dealer, (const void *[]) { &token, "local\0host", port },
                   (size_t []) { 8, 10, 2 }, 3);
    s_expect_reply (dealer, token, EAI_FAIL, &reply);
    char long_host [300];
    memset (long_host, 'a', sizeof long_host);
    s_send_frames (dealer, (const void *[]) { &token, long_host, port },
                   (size_t []) { 8, 256, 2 }, 3);
    s_expect_reply (dealer, token, EAI_FAIL, &reply);

    //  Still alive and answering names too.
    ck_assert_int_eq (resolver_request (dealer, 2, "localhost", 443), 0);
    s_expect_reply (dealer, 2, 0, &reply);
    ck_assert_uint_ge (reply.count, 1);
    ck_assert_uint_eq (s_port_of (&reply.addrs [0]), 443);
    s_expect_silence (dealer);

    zsock_destroy (&dealer);
    zactor_destroy (&resolver);
}
END_TEST

START_TEST (test_queue_overflow)
{
    zactor_t *resolver = resolver_new_with_queue ("inproc://resolver-full", 1, 2);
    ck_assert_ptr_nonnull (resolver);
    zsock_t *dealer = zsock_new_dealer (">inproc://resolver-full");
    reply_t reply;

    s_hold (resolver, 0);               //  the only lookup thread is now busy
    for (uint64_t token = 1; token <= 4; token++)
        ck_assert_int_eq (resolver_request (dealer, token, "localhost", 80), 0);
    //  1 and 2 wait in the queue; 3 and 4 find it full.
    s_expect_reply (dealer, 3, EAI_AGAIN, &reply);
    ck_assert_uint_eq (reply.count, 0);
    s_expect_reply (dealer, 4, EAI_AGAIN, &reply);
    //  Literals never queue.
    ck_assert_int_eq (resolver_request (dealer, 5, "127.0.0.1", 80), 0);
    s_expect_reply (dealer, 5, 0, &reply);
    s_expect_silence (dealer);

    s_release (resolver);
    s_expect_reply (dealer, 1, 0, &reply);
    ck_assert_uint_ge (reply.count, 1);
    s_expect_reply (dealer, 2, 0, &reply);
    s_expect_silence (dealer);

    zsock_destroy (&dealer);
    zactor_destroy (&resolver);
}
END_TEST

START_TEST (test_no_queue)
{
    zactor_t *resolver = resolver_new_with_queue ("inproc://resolver-noqueue", 1, 0);
    zsock_t *dealer = zsock_new_dealer (">inproc://resolver-noqueue");
    reply_t reply;

    s_hold (resolver, 0);
    ck_assert_int_eq (resolver_request (dealer, 1, "localhost", 80), 0);
    s_expect_reply (dealer, 1, EAI_AGAIN, &reply);
    s_release (resolver);
    ck_assert_int_eq (resolver_request (dealer, 2, "localhost", 80), 0);
    s_expect_reply (dealer, 2, 0, &reply);

    zsock_destroy (&dealer);
    zactor_destroy (&resolver);
}
END_TEST

START_TEST (test_slow_lookup_does_not_block)
{
    zactor_t *resolver = resolver_new ("inproc://resolver-slow", 2);
    zsock_t *dealer = zsock_new_dealer (">inproc://resolver-slow");
    reply_t reply;

    s_hold (resolver, 0);               //  one thread stuck in a "slow lookup"
    ck_assert_int_eq (resolver_request (dealer, 1, "localhost", 80), 0);
    s_expect_reply (dealer, 1, 0, &reply);

    s_hold (resolver, 0);               //  now both are
    s_hold (resolver, 1);               //  and none is left
    ck_assert_int_eq (resolver_request (dealer, 2, "localhost", 80), 0);
    s_expect_silence (dealer);
    s_release (resolver);
    s_expect_reply (dealer, 2, 0, &reply);

    zsock_destroy (&dealer);
    zactor_destroy (&resolver);
}
END_TEST

START_TEST (test_term_with_pending)
{
    zactor_t *resolver = resolver_new ("inproc://resolver-term", 2);
    zsock_t *dealer = zsock_new_dealer (">inproc://resolver-term");
    reply_t reply;

    s_hold (resolver, 0);
    s_hold (resolver, 0);
    for (uint64_t token = 1; token <= 100; token++)
        ck_assert_int_eq (resolver_request (dealer, token, "localhost", 80), 0);
    //  Answered in order after the 100, so those are queued by now.
    ck_assert_int_eq (resolver_request (dealer, 1000, "::1", 80), 0);
    s_expect_reply (dealer, 1000, 0, &reply);

    int64_t start = zclock_mono ();
    zactor_destroy (&resolver);
    ck_assert_ptr_null (resolver);
    ck_assert_int_lt (zclock_mono () - start, 5000);

    //  Whatever still reaches us says "try again", never success.
    while (s_recv_reply (dealer, 100, &reply)) {
        ck_assert_uint_le (reply.token, 100);
        ck_assert_int_eq (reply.status, EAI_AGAIN);
    }
    zsock_destroy (&dealer);
}
END_TEST

START_TEST (test_bind_failure)
{
    ck_assert_ptr_null (resolver_new (NULL, 1));
    zactor_t *first = resolver_new ("inproc://resolver-twice", 1);
    ck_assert_ptr_nonnull (first);
    zactor_t *second = resolver_new ("inproc://resolver-twice", 1);
    ck_assert_ptr_null (second);
    ck_assert_ptr_null (resolver_new ("nonsense://x", 1));

    //  The first one is unaffected.
    zsock_t *dealer = zsock_new_dealer (">inproc://resolver-twice");
    reply_t reply;
    ck_assert_int_eq (resolver_request (dealer, 5, "127.0.0.1", 80), 0);
    s_expect_reply (dealer, 5, 0, &reply);
    zsock_destroy (&dealer);
    zactor_destroy (&first);
}
END_TEST

START_TEST (test_request_wire_format)
{
    zsock_t *router = zsock_new_router ("@inproc://resolver-wire");
    zsock_t *dealer = zsock_new_dealer (">inproc://resolver-wire");

    char host [ADDR_HOST_MAX + 2];
    memset (host, 'h', sizeof host);
    host [ADDR_HOST_MAX] = 0;                       //  255 bytes: the longest allowed
    ck_assert_int_eq (resolver_request (dealer, 0x1122334455667788ULL, host, 0xabcd), 0);
    zsock_set_rcvtimeo (router, REPLY_WAIT_MS);
    zmsg_t *msg = zmsg_recv (router);
    ck_assert_ptr_nonnull (msg);
    ck_assert_uint_eq (zmsg_size (msg), 4);         //  identity + 3
    zframe_t *frame = zmsg_first (msg);
    frame = zmsg_next (msg);
    ck_assert_uint_eq (zframe_size (frame), 8);
    uint64_t token;
    memcpy (&token, zframe_data (frame), 8);
    ck_assert_uint_eq (token, 0x1122334455667788ULL);
    frame = zmsg_next (msg);
    ck_assert_uint_eq (zframe_size (frame), ADDR_HOST_MAX);
    ck_assert (memcmp (zframe_data (frame), host, ADDR_HOST_MAX) == 0);
    frame = zmsg_next (msg);
    ck_assert_uint_eq (zframe_size (frame), 2);
    ck_assert_uint_eq (zframe_data (frame) [0], 0xab);
    ck_assert_uint_eq (zframe_data (frame) [1], 0xcd);
    zmsg_destroy (&msg);

    host [ADDR_HOST_MAX] = 'h';
    host [ADDR_HOST_MAX + 1] = 0;                   //  256 bytes
    errno = 0;
    ck_assert_int_eq (resolver_request (dealer, 1, host, 80), -1);
    ck_assert_int_eq (errno, EINVAL);
    ck_assert_int_eq (resolver_request (dealer, 1, NULL, 80), -1);
    ck_assert_int_eq (resolver_request (NULL, 1, "localhost", 80), -1);

    zsock_destroy (&dealer);
    zsock_destroy (&router);
}
END_TEST

START_TEST (test_request_never_blocks)
{
    //  A DEALER with no peer cannot queue anything: the helper must say
    //  EAGAIN instead of blocking the worker.
    zsock_t *dealer = zsock_new (ZMQ_DEALER);
    int64_t start = zclock_mono ();
    errno = 0;
    ck_assert_int_eq (resolver_request (dealer, 1, "localhost", 80), -1);
    ck_assert_int_eq (errno, EAGAIN);
    ck_assert_int_lt (zclock_mono () - start, 5000);
    zsock_destroy (&dealer);
}
END_TEST

static zmsg_t *
s_reply_msg (const void *token, size_t token_size, const void *status, size_t status_size)
{
    zmsg_t *msg = zmsg_new ();
    zmsg_addmem (msg, token, token_size);
    if (status)
        zmsg_addmem (msg, status, status_size);
    return msg;
}

START_TEST (test_reply_parse)
{
    uint64_t token = 0xfeedfacecafebeefULL, got_token = 0;
    uint8_t status_be [4] = { 0xff, 0xff, 0xff, 0xfd };     //  -3
    struct sockaddr_in v4 = { .sin_family = AF_INET, .sin_port = htons (80) };
    v4.sin_addr.s_addr = htonl (0x7f000001);
    struct sockaddr_in6 v6 = { .sin6_family = AF_INET6, .sin6_port = htons (81) };
    v6.sin6_addr = in6addr_loopback;
    struct sockaddr_storage addrs [2];
    socklen_t lens [2];
    size_t count = 99;
    int status = 0;

    zmsg_t *msg = s_reply_msg (&token, 8, status_be, 4);
    zmsg_addmem (msg, &v4, sizeof v4);
    zmsg_addmem (msg, &v6, sizeof v6);
    ck_assert_int_eq (resolver_reply_parse (msg, &got_token, &status, addrs, lens, 2, &count), 0);
    ck_assert_uint_eq (got_token, token);
    ck_assert_int_eq (status, -3);
    ck_assert_uint_eq (count, 2);
    ck_assert_int_eq (lens [0], sizeof v4);
    ck_assert (memcmp (&addrs [0], &v4, sizeof v4) == 0);
    ck_assert_int_eq (lens [1], sizeof v6);
    ck_assert (memcmp (&addrs [1], &v6, sizeof v6) == 0);
    ck_assert_uint_eq (zmsg_size (msg), 4);                 //  not consumed
    //  Fewer slots than addresses: the first ones are kept.
    ck_assert_int_eq (resolver_reply_parse (msg, &got_token, &status, addrs, lens, 1, &count), 0);
    ck_assert_uint_eq (count, 1);
    ck_assert_int_eq (addrs [0].ss_family, AF_INET);
    ck_assert_int_eq (resolver_reply_parse (msg, &got_token, &status, NULL, NULL, 0, &count), 0);
    ck_assert_uint_eq (count, 0);
    zmsg_destroy (&msg);

    //  Malformed and truncated replies.
    ck_assert_int_eq (resolver_reply_parse (NULL, &got_token, &status, addrs, lens, 2, &count), -1);
    msg = zmsg_new ();
    ck_assert_int_eq (resolver_reply_parse (msg, &got_token, &status, addrs, lens, 2, &count), -1);
    zmsg_destroy (&msg);
    msg = s_reply_msg (&token, 8, NULL, 0);
    ck_assert_int_eq (resolver_reply_parse (msg, &got_token, &status, addrs, lens, 2, &count), -1);
    zmsg_destroy (&msg);
    msg = s_reply_msg (&token, 7, status_be, 4);
    ck_assert_int_eq (resolver_reply_parse (msg, &got_token, &status, addrs, lens, 2, &count), -1);
    zmsg_destroy (&msg);
    msg = s_reply_msg (&token, 8, status_be, 3);
    ck_assert_int_eq (resolver_reply_parse (msg, &got_token, &status, addrs, lens, 2, &count), -1);
    zmsg_destroy (&msg);
    msg = s_reply_msg (&token, 8, status_be, 4);
    zmsg_addmem (msg, &v4, 5);                              //  truncated address
    ck_assert_int_eq (resolver_reply_parse (msg, &got_token, &status, addrs, lens, 2, &count), -1);
    zmsg_destroy (&msg);
    msg = s_reply_msg (&token, 8, status_be, 4);
    zmsg_addmem (msg, "", 0);
    ck_assert_int_eq (resolver_reply_parse (msg, &got_token, &status, addrs, lens, 2, &count), -1);
    zmsg_destroy (&msg);
    struct sockaddr_in6 wrong = v6;
    wrong.sin6_family = AF_INET;                            //  v4 family, v6 size
    msg = s_reply_msg (&token, 8, status_be, 4);
    zmsg_addmem (msg, &wrong, sizeof wrong);
    ck_assert_int_eq (resolver_reply_parse (msg, &got_token, &status, addrs, lens, 2, &count), -1);
    zmsg_destroy (&msg);
    struct sockaddr_storage unix_like = { .ss_family = AF_UNIX };
    msg = s_reply_msg (&token, 8, status_be, 4);
    zmsg_addmem (msg, &unix_like, sizeof (struct sockaddr_in));
    ck_assert_int_eq (resolver_reply_parse (msg, &got_token, &status, addrs, lens, 2, &count), -1);
    zmsg_destroy (&msg);
}
END_TEST


static Suite *
s_suite (void)
{
    Suite *suite = suite_create ("resolver");
    TCase *tc = tcase_create ("resolver");
    tcase_add_checked_fixture (tc, s_setup, NULL);
    tcase_set_timeout (tc, 90);
    tcase_add_test (tc, test_literal_ipv4);
    tcase_add_test (tc, test_literal_ipv6);
    tcase_add_test (tc, test_localhost);
    tcase_add_test (tc, test_empty_host);
    tcase_add_test (tc, test_many_concurrent);
    tcase_add_test (tc, test_malformed_requests);
    tcase_add_test (tc, test_queue_overflow);
    tcase_add_test (tc, test_no_queue);
    tcase_add_test (tc, test_slow_lookup_does_not_block);
    tcase_add_test (tc, test_term_with_pending);
    tcase_add_test (tc, test_bind_failure);
    tcase_add_test (tc, test_request_wire_format);
    tcase_add_test (tc, test_request_never_blocks);
    tcase_add_test (tc, test_reply_parse);
    suite_add_tcase (suite, tc);
    return suite;
}

int
main (void)
{
    return check_run (s_suite ());
}
