/*  Unit tests: the baton handover (actors/baton.h) at both ends, against a
    fake session. The fake implements every session / shaping / dialer /
    timers call the baton makes: it records what the baton asks of the
    session (connect, adopt, tap, the in-band commands it sends, decoded
    with the real scanner, the switches, drop), keeps a fake clock and the
    one-shot handover timer, and lets the test deliver the session's
    handover events. Time only moves when the test says so (s_pass), and the
    timer fires then, as the worker's would.
*/
#include <check.h>
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "actors/baton.h"
#include "actors/dialer.h"
#include "actors/shaping.h"
#include "nodes/inband.h"
#include "nodes/wirecrypto.h"
#include "runtime/base/log.h"
#include "runtime/baton_registry.h"
#include "runtime/handover.h"
#include "runtime/timers.h"
#include "test/unit/test_keys.h"

#define T0 1000000                  //  the fake clock at the start of each test (ms)
#define WORKER 2
#define SESSION_ID 77
#define SIDE SESSION_TARGET

//  --------------------------------------------------------------------------
//  The fake session

struct session_t {
    int unused;
};

typedef struct {
    uint64_t now;
    bool armed;                     //  the handover timer
    uint64_t armed_at;
    char calls[2048];               //  what the baton asked of the session, in order
    char traces[1024];
    //  What the session says
    bool side_open;
    bool peer_ok;
    int connect_errno;              //  session_handover_connect fails at once with this
    bool adopt_fails;
    bool send_fails;                //  session_handover_send: S2 breaks (LOST, at once)
    uint64_t progress;
    uint8_t held[1024];             //  bytes on S2 for session_handover_take_held
    size_t held_len;
    //  What the baton did
    bool busy;                      //  S2 exists
    bool tapped;
    int connects;
    uint16_t connect_port;
    uint32_t connect_host;
    uint8_t first[512];             //  S2's first bytes
    size_t first_len;
    uint8_t s2_sent[512];           //  session_handover_send
    size_t s2_sent_len;
    int adopted_fd;
    uint8_t adopted[64];
    size_t adopted_len;
    int shaped;
    int broken;
    //  The tunnel's handler, as far as the tests need one
    baton_t *baton;
    bool destroy_when_broken;       //  as tunnel_mux does (it redials)
    bool destroy_at_switch;         //  S2 brought an end: tunnel_mux drops the tunnel
    inband_rx_t *decoder;           //  the peer's scanner for what the baton sends on S1
} fake_t;

static fake_t s_fake;
static session_t s_session;

//  Pipe ends the test closes at the end: the far ends of handover
//  connections, and those the fake session adopted.
static int s_kept[64];
static size_t s_kept_count;

static void
s_keep (int fd)
{
    ck_assert_uint_lt (s_kept_count, sizeof s_kept / sizeof s_kept[0]);
    s_kept[s_kept_count++] = fd;
}

static wormhole_conf_t s_conf;
static wormhole_t s_wormhole;
static uint16_t s_ports[] = { 9001, 9002 };
static uint8_t s_id0[WIRE_ID_SIZE];

static void
s_call (const char *format, ...)
{
    char call[128];
    va_list args;
    va_start (args, format);
    vsnprintf (call, sizeof call, format, args);
    va_end (args);
    size_t len = strlen (s_fake.calls);
    snprintf (s_fake.calls + len, sizeof s_fake.calls - len, "%s%s", len ? " " : "", call);
}

//  The calls since the last look, then forgets them.
static char s_seen[sizeof s_fake.calls];
static const char *
s_calls (void)
{
    memcpy (s_seen, s_fake.calls, sizeof s_seen);
    s_fake.calls[0] = 0;
    return s_seen;
}

static int
s_on_command (void *ctx, inband_cmd_t cmd, uint16_t port)
{
    (void) ctx;
    (void) port;
    s_call ("send(%s)", inband_cmd_name (cmd));
    return 0;
}

static void
s_on_data (void *ctx, const uint8_t *data, size_t len)
{
    (void) ctx;
    (void) data;
    s_call ("send(%zu bytes)", len);
}

uint64_t
timers_now_ms (void)
{
    return s_fake.now;
}

void
session_set_handover_timer (session_t *self, int ms)
{
    ck_assert_ptr_eq (self, &s_session);
    s_fake.armed = ms >= 0;
    s_fake.armed_at = s_fake.now + (uint64_t) (ms >= 0 ? ms : 0);
}

void
session_sendv (session_t *self, session_side_t side, const struct iovec *iov, int count)
{
    ck_assert_ptr_eq (self, &s_session);
    ck_assert_int_eq (side, SIDE);
    for (int i = 0; i < count; i++)
        ck_assert_int_eq (inband_rx_feed (s_fake.decoder, iov[i].iov_base, iov[i].iov_len,
                                          s_on_data, s_on_command, NULL), 0);
    ck_assert_uint_eq (inband_rx_held (s_fake.decoder), 0);
}

//  The baton under test speaks v1 (its wormhole's protocol is not v2):
//  nothing here installs nodes or sends v2 commands.
int
session_add_node (session_t *self, session_side_t side, node_side_t end, const node_class_t *cls,
                  void *state)
{
    (void) self, (void) side, (void) end, (void) cls, (void) state;
    ck_abort_msg ("session_add_node called");
    return -1;
}

void *
session_node (session_t *self, session_side_t side, const node_class_t *cls)
{
    (void) self, (void) side, (void) cls;
    return NULL;
}

void
session_send_command (session_t *self, session_side_t side, uint8_t code)
{
    (void) self, (void) side, (void) code;
    ck_abort_msg ("session_send_command called");
}

void
session_trace (session_t *self, const char *from, const char *to, const char *kind, size_t bytes)
{
    (void) self;
    (void) from;
    (void) to;
    (void) bytes;
    size_t len = strlen (s_fake.traces);
    snprintf (s_fake.traces + len, sizeof s_fake.traces - len, "%s%s", len ? " " : "", kind);
}

const char *
session_peer (session_t *self)
{
    (void) self;
    return "127.0.0.1:1";
}

int
session_worker (session_t *self)
{
    (void) self;
    return WORKER;
}

uint64_t
session_id (session_t *self)
{
    (void) self;
    return SESSION_ID;
}

bool
session_side_open (session_t *self, session_side_t side)
{
    (void) self;
    ck_assert_int_eq (side, SIDE);
    return s_fake.side_open;
}

bool
session_handover_busy (session_t *self)
{
    (void) self;
    return s_fake.busy;
}

int
session_socket_peer (session_t *self, session_side_t side, struct sockaddr_storage *addr,
                     socklen_t *len)
{
    (void) self;
    ck_assert_int_eq (side, SIDE);
    if (!s_fake.peer_ok)
        return -1;
    struct sockaddr_in *in = (struct sockaddr_in *) addr;
    memset (in, 0, sizeof *in);
    in->sin_family = AF_INET;
    in->sin_port = htons (4433);
    in->sin_addr.s_addr = htonl (0x7f000001);
    *len = sizeof *in;
    return 0;
}

int
session_handover_connect (session_t *self, session_side_t side, const struct sockaddr *addr,
                          socklen_t addrlen, const void *first, size_t first_len)
{
    (void) self;
    ck_assert_int_eq (side, SIDE);
    if (s_fake.busy) {
        errno = EBUSY;
        return -1;
    }
    if (s_fake.connect_errno) {
        errno = s_fake.connect_errno;
        return -1;
    }
    ck_assert_int_eq (addr->sa_family, AF_INET);
    ck_assert_uint_eq (addrlen, sizeof (struct sockaddr_in));
    const struct sockaddr_in *in = (const struct sockaddr_in *) addr;
    s_fake.connect_port = ntohs (in->sin_port);
    s_fake.connect_host = ntohl (in->sin_addr.s_addr);
    ck_assert_uint_le (first_len, sizeof s_fake.first);
    memcpy (s_fake.first, first, first_len);
    s_fake.first_len = first_len;
    s_fake.connects++;
    s_fake.busy = true;
    s_fake.held_len = 0;
    s_call ("connect");
    return 0;
}

int
session_handover_adopt (session_t *self, session_side_t side, int fd, const void *data, size_t len)
{
    (void) self;
    ck_assert_int_eq (side, SIDE);
    if (s_fake.busy || s_fake.adopt_fails) {
        s_call ("adopt(refused)");
        return -1;
    }
    s_fake.busy = true;
    s_fake.adopted_fd = fd;
    s_keep (fd);
    ck_assert_uint_le (len, sizeof s_fake.adopted);
    memcpy (s_fake.adopted, data, len);
    s_fake.adopted_len = len;
    s_call ("adopt");
    return 0;
}

void
session_handover_tap (session_t *self, const node_t *scanner)
{
    (void) self;
    if (scanner) {
        //  The baton's own scanner, tapping, as the innermost node.
        ck_assert_ptr_eq (scanner->cls, &inband_tap_class);
        ck_assert (inband_rx_tapping (scanner->state));
        s_fake.tapped = true;
        s_call ("tap");
    }
    else {
        s_fake.tapped = false;
        s_call ("untap");
    }
}

void
session_handover_switch_writes (session_t *self)
{
    (void) self;
    s_call ("switch_writes");
}

void
session_handover_switch_reads (session_t *self, bool wait_eof)
{
    (void) self;
    s_fake.tapped = false;
    s_call (wait_eof ? "switch_reads(wait_eof)" : "switch_reads");
    if (s_fake.destroy_at_switch)
        baton_destroy (&s_fake.baton);
}

size_t
session_handover_take_held (session_t *self, uint8_t *buf, size_t max)
{
    (void) self;
    size_t n = s_fake.held_len < max ? s_fake.held_len : max;
    memcpy (buf, s_fake.held, n);
    memmove (s_fake.held, s_fake.held + n, s_fake.held_len - n);
    s_fake.held_len -= n;
    return n;
}

void
session_handover_send (session_t *self, const void *data, size_t len)
{
    (void) self;
    if (s_fake.send_fails) {
        //  As the session does: S2 is closed and the handler hears of it at once.
        s_call ("s2_send(failed)");
        s_fake.busy = false;
        handover_event_t event = { .kind = HANDOVER_LOST, .err = EPIPE, .fd = -1 };
        baton_event (s_fake.baton, &event);
        return;
    }
    ck_assert_uint_le (s_fake.s2_sent_len + len, sizeof s_fake.s2_sent);
    memcpy (s_fake.s2_sent + s_fake.s2_sent_len, data, len);
    s_fake.s2_sent_len += len;
    s_call ("s2_send");
}

void
session_handover_drop (session_t *self)
{
    (void) self;
    s_fake.busy = false;
    s_fake.tapped = false;
    s_call ("drop");
}

uint64_t
session_handover_progress (session_t *self)
{
    (void) self;
    return s_fake.progress;
}

void
shaping_after_handover (session_t *session, session_side_t side, const wormhole_conf_t *conf)
{
    ck_assert_ptr_eq (session, &s_session);
    ck_assert_int_eq (side, SIDE);
    ck_assert_ptr_eq (conf, &s_conf);
    s_fake.shaped++;
}

int
dialer_proxy_request (char *buf, size_t len, const char *host, uint16_t port)
{
    return snprintf (buf, len, "CONNECT %s:%u HTTP/1.1\r\n\r\n", host, port);
}

//  Enough of the real one for the baton: 1 once a 200 head is complete, -1
//  for another status, 0 until then.
int
dialer_proxy_reply (char *reply, size_t cap, size_t *reply_len, const uint8_t *data, size_t len,
                    const char **why)
{
    ck_assert_uint_lt (*reply_len + len, cap);
    memcpy (reply + *reply_len, data, len);
    *reply_len += len;
    reply[*reply_len] = 0;
    if (!strstr (reply, "\r\n\r\n"))
        return 0;
    if (strncmp (reply, "HTTP/1.1 200", 12) == 0)
        return 1;
    *why = "the proxy refused the CONNECT";
    return -1;
}

//  --------------------------------------------------------------------------
//  The test's side: the tunnel's handler and the clock

static void
s_broken (void *ctx)
{
    ck_assert_ptr_eq (ctx, &s_fake);
    s_fake.broken++;
    if (s_fake.destroy_when_broken)
        baton_destroy (&s_fake.baton);
}

static void
s_setup (void)
{
    log_set_level (LOG_LEVEL_ERROR);
    memset (&s_fake, 0, sizeof s_fake);
    s_fake.now = T0;
    s_fake.side_open = true;
    s_fake.peer_ok = true;
    s_fake.adopted_fd = -1;
    s_fake.decoder = inband_rx_new (KEY32, sizeof KEY32);
    ck_assert_ptr_nonnull (s_fake.decoder);
    inband_rx_set_tapping (s_fake.decoder, true);
    memset (&s_conf, 0, sizeof s_conf);
    snprintf (s_conf.name, sizeof s_conf.name, "w");
    snprintf (s_conf.wormhole_remote.host, sizeof s_conf.wormhole_remote.host, "tunnel.example");
    s_conf.wormhole_remote.port = 4433;
    memcpy (s_conf.key, KEY32, sizeof KEY32);
    s_conf.key_len = sizeof KEY32;
    s_conf.extra_ports = s_ports;
    s_conf.extra_port_count = 2;
    s_wormhole.conf = &s_conf;
    memcpy (s_id0, HELLO_IV, sizeof s_id0);     //  any 16 bytes will do as ID0
}

static void
s_teardown (void)
{
    baton_destroy (&s_fake.baton);
    inband_rx_destroy (&s_fake.decoder);
    baton_registry_shutdown ();
    while (s_kept_count > 0)
        close (s_kept[--s_kept_count]);
}

static baton_t *
s_new (bool dialing)
{
    baton_owner_t owner = { s_broken, &s_fake };
    s_fake.baton = baton_new (&s_session, SIDE, &s_wormhole, dialing, s_id0, &owner);
    ck_assert_ptr_nonnull (s_fake.baton);
    return s_fake.baton;
}

//  ID(n) = HMAC(K, ID(n-1), 16) from the hello's ID0.
static void
s_id (unsigned n, uint8_t id[WIRE_ID_SIZE])
{
    memcpy (id, s_id0, WIRE_ID_SIZE);
    for (unsigned i = 0; i < n; i++)
        ck_assert_int_eq (wire_next_id (KEY32, sizeof KEY32, id, id), 0);
}

static void
s_event (handover_kind_t kind, int err, int cmd)
{
    handover_event_t event = { .kind = kind, .err = err, .cmd = cmd, .fd = -1 };
    baton_event (s_fake.baton, &event);
}

static void
s_connected (int err)
{
    s_event (HANDOVER_CONNECTED, err, 0);
}

static void
s_command (int cmd)
{
    s_event (HANDOVER_COMMAND, 0, cmd);
}

//  S2 ended before it took over: the session has closed it.
static void
s_lost (void)
{
    s_fake.busy = false;
    s_event (HANDOVER_LOST, ECONNRESET, 0);
}

//  The old socket is closed: the session has no second socket any more.
static void
s_retired (void)
{
    s_fake.busy = false;
    s_event (HANDOVER_RETIRED, 0, 0);
}

static void
s_held (const char *bytes)
{
    size_t len = strlen (bytes);
    ck_assert_uint_le (s_fake.held_len + len, sizeof s_fake.held);
    memcpy (s_fake.held + s_fake.held_len, bytes, len);
    s_fake.held_len += len;
    s_event (HANDOVER_HELD, 0, 0);
}

//  A handover connection for this tunnel (the extra port took the ID from
//  the registry). Returns the fd the baton now owns: one end of a pipe.
static int
s_socket (const char *after_id)
{
    int fds[2];
    ck_assert_int_eq (pipe (fds), 0);
    s_keep (fds[1]);
    handover_event_t event = { .kind = HANDOVER_SOCKET, .fd = fds[0],
                               .data = (const uint8_t *) after_id, .len = strlen (after_id) };
    baton_event (s_fake.baton, &event);
    return fds[0];
}

//  True if the baton has closed fd (otherwise it is closed now).
static bool
s_fd_closed (int fd)
{
    bool closed = fcntl (fd, F_GETFD) == -1 && errno == EBADF;
    if (!closed)
        close (fd);
    return closed;
}

//  Time passes: the handover timer fires whenever it is due, as the worker's
//  would. A timer that keeps firing without time moving is a busy loop.
static void
s_pass (uint64_t ms)
{
    uint64_t until = s_fake.now + ms;
    unsigned fires_now = 0;
    while (s_fake.armed && s_fake.armed_at <= until) {
        fires_now = s_fake.armed_at == s_fake.now ? fires_now + 1 : 0;
        ck_assert_msg (fires_now < 100, "the handover timer fires again and again at T0+%llu",
                       (unsigned long long) (s_fake.now - T0));
        s_fake.now = s_fake.armed_at;
        s_fake.armed = false;
        handover_event_t event = { .kind = HANDOVER_TIMER, .fd = -1 };
        baton_event (s_fake.baton, &event);
    }
    s_fake.now = until;
}

//  The timer is armed for at (from now on: ms from now).
static void
s_assert_timer_in (uint64_t ms)
{
    ck_assert_msg (s_fake.armed, "the handover timer is not armed");
    ck_assert_uint_eq (s_fake.armed_at, s_fake.now + ms);
}

static void
s_assert_first_is_id (unsigned n)
{
    uint8_t id[WIRE_ID_SIZE];
    s_id (n, id);
    ck_assert_uint_eq (s_fake.first_len, WIRE_ID_SIZE);
    ck_assert_mem_eq (s_fake.first, id, WIRE_ID_SIZE);
}

static bool
s_registered (unsigned n)
{
    uint8_t id[WIRE_ID_SIZE];
    s_id (n, id);
    int worker = -1;
    uint64_t session = 0;
    if (baton_registry_take (id, &worker, &session) != 0)
        return false;
    ck_assert_int_eq (worker, WORKER);
    ck_assert_uint_eq (session, SESSION_ID);
    return true;
}

//  The dialer's handover up to step 1's end: S2 connected, ID sent, S1 tapped.
static void
s_dial (unsigned n)
{
    int connects = s_fake.connects;
    ck_assert_int_eq (baton_start (s_fake.baton), 0);
    ck_assert_int_eq (s_fake.connects, connects + 1);
    ck_assert_str_eq (s_calls (), "connect tap");
    s_assert_first_is_id (n);
    s_connected (0);
}


//  --------------------------------------------------------------------------
//  Dialing end

START_TEST (test_dialer_four_steps)
{
    s_new (true);
    ck_assert (!s_fake.armed);                  //  no handover_interval: no timed handover
    //  Step 1: S2 to an extra port of S1's peer, ID1 first, S1 tapped.
    ck_assert_int_eq (baton_start (s_fake.baton), 0);
    ck_assert_str_eq (s_calls (), "connect tap");
    ck_assert (s_fake.tapped);
    ck_assert (s_fake.connect_port == 9001 || s_fake.connect_port == 9002);
    ck_assert_uint_eq (s_fake.connect_host, 0x7f000001);
    s_assert_first_is_id (1);
    ck_assert_str_eq (s_fake.traces, "handover");
    s_assert_timer_in (3000);                   //  the connect's limit
    s_pass (1000);
    s_connected (0);
    ck_assert_str_eq (s_calls (), "");
    s_assert_timer_in (3000);                   //  3 s for HO_R2L from now
    //  The acceptor's step 2 is not ours; HO_COMPLETE_L2R is not the command awaited.
    s_command (INBAND_HO_COMPLETE_L2R);
    ck_assert_str_eq (s_calls (), "");
    s_pass (2000);
    //  Step 3: HO_COMPLETE_L2R on S1, then reads (and writes) switch to S2;
    //  S1 closes once the acceptor has closed it.
    s_command (INBAND_HO_R2L);
    ck_assert_str_eq (s_calls (), "send(HO_COMPLETE_L2R) switch_reads(wait_eof)");
    ck_assert (!s_fake.tapped);
    ck_assert_int_eq (s_fake.shaped, 1);        //  a new mimic model
    ck_assert_str_eq (s_fake.traces, "handover handover-done");
    s_assert_timer_in (10000);
    s_pass (500);
    s_retired ();
    ck_assert_str_eq (s_calls (), "");
    ck_assert (!s_fake.armed);
    ck_assert_int_eq (s_fake.broken, 0);
    //  The next handovers present ID2, then ID3.
    s_dial (2);
    s_command (INBAND_HO_R2L);
    ck_assert_str_eq (s_calls (), "send(HO_COMPLETE_L2R) switch_reads(wait_eof)");
    s_retired ();
    s_dial (3);
    ck_assert_int_eq (s_fake.shaped, 2);
    ck_assert_int_eq (s_fake.broken, 0);
}
END_TEST

START_TEST (test_dialer_through_proxy)
{
    s_conf.has_local_proxy = true;
    s_new (true);
    ck_assert_int_eq (baton_start (s_fake.baton), 0);
    ck_assert_str_eq (s_calls (), "connect tap");
    //  S2 goes to local_proxy (S1's peer) and asks it for an extra port of
    //  the remote end; the ID waits for its 200.
    ck_assert_uint_eq (s_fake.connect_port, 4433);
    ck_assert_uint_eq (s_fake.connect_host, 0x7f000001);
    char request[128];
    int len = snprintf (request, sizeof request, "CONNECT tunnel.example:9001 HTTP/1.1\r\n\r\n");
    ck_assert_uint_eq (s_fake.first_len, (size_t) len);
    if (memcmp (s_fake.first, request, s_fake.first_len) != 0)
        request[26] = '2';                      //  ...:9002
    ck_assert_mem_eq (s_fake.first, request, s_fake.first_len);
    s_pass (1000);
    s_connected (0);
    ck_assert_str_eq (s_calls (), "");
    s_assert_timer_in (3000);                   //  for the proxy's answer
    s_held ("HTTP/1.1 200 Connection established\r\n");
    ck_assert_str_eq (s_calls (), "");
    s_command (INBAND_HO_R2L);                  //  no ID went out: not our HO_R2L
    ck_assert_str_eq (s_calls (), "");
    s_pass (2000);
    s_held ("\r\n");
    ck_assert_str_eq (s_calls (), "s2_send");
    uint8_t id1[WIRE_ID_SIZE];
    s_id (1, id1);
    ck_assert_uint_eq (s_fake.s2_sent_len, WIRE_ID_SIZE);
    ck_assert_mem_eq (s_fake.s2_sent, id1, WIRE_ID_SIZE);
    s_assert_timer_in (3000);                   //  3 s for HO_R2L from the ID
    s_pass (2999);
    s_command (INBAND_HO_R2L);
    ck_assert_str_eq (s_calls (), "send(HO_COMPLETE_L2R) switch_reads(wait_eof)");
    ck_assert_int_eq (s_fake.broken, 0);
}
END_TEST

START_TEST (test_dialer_proxy_refuses)
{
    s_conf.has_local_proxy = true;
    s_new (true);
    ck_assert_int_eq (baton_start (s_fake.baton), 0);
    s_connected (0);
    s_calls ();
    s_held ("HTTP/1.1 403 Forbidden\r\n\r\n");
    //  No ID; S2 goes, S1 is no longer tapped; the tunnel goes on.
    ck_assert_str_eq (s_calls (), "drop untap");
    ck_assert_uint_eq (s_fake.s2_sent_len, 0);
    ck_assert_str_eq (s_fake.traces, "handover handover-failed");
    s_command (INBAND_HO_R2L);
    s_pass (60000);
    ck_assert_str_eq (s_calls (), "");
    ck_assert_int_eq (s_fake.broken, 0);
    //  The next handover presents the same ID.
    ck_assert_int_eq (baton_start (s_fake.baton), 0);
    s_connected (0);
    s_held ("HTTP/1.1 200 OK\r\n\r\n");
    uint8_t id1[WIRE_ID_SIZE];
    s_id (1, id1);
    ck_assert_mem_eq (s_fake.s2_sent, id1, WIRE_ID_SIZE);
}
END_TEST

START_TEST (test_dialer_proxy_silent_or_gone)
{
    s_conf.has_local_proxy = true;
    s_new (true);
    //  No answer within 3 s of the connect.
    ck_assert_int_eq (baton_start (s_fake.baton), 0);
    s_pass (1000);
    s_connected (0);
    s_held ("HTTP/1.1 200 Connection est");
    s_calls ();
    s_pass (2999);
    ck_assert_str_eq (s_calls (), "");
    s_pass (1);
    ck_assert_str_eq (s_calls (), "drop untap");
    //  The proxy closes S2 before its answer.
    ck_assert_int_eq (baton_start (s_fake.baton), 0);
    s_connected (0);
    s_calls ();
    s_lost ();
    ck_assert_str_eq (s_calls (), "drop untap");
    s_pass (60000);
    ck_assert_str_eq (s_calls (), "");
    ck_assert_int_eq (s_fake.broken, 0);
}
END_TEST

//  S2 fails as the ID goes out after the proxy's 200: the session reports
//  LOST from inside session_handover_send. The handover is over then, not
//  waiting for HO_R2L.
START_TEST (test_dialer_proxy_id_send_fails)
{
    s_conf.has_local_proxy = true;
    s_new (true);
    ck_assert_int_eq (baton_start (s_fake.baton), 0);
    s_connected (0);
    s_calls ();
    s_fake.send_fails = true;
    s_held ("HTTP/1.1 200 OK\r\n\r\n");
    ck_assert_str_eq (s_calls (), "s2_send(failed) drop untap");
    s_pass (10000);
    s_command (INBAND_HO_R2L);
    ck_assert_str_eq (s_calls (), "");
    ck_assert_int_eq (s_fake.broken, 0);
    s_fake.send_fails = false;
    ck_assert_int_eq (baton_start (s_fake.baton), 0);
}
END_TEST

START_TEST (test_dialer_stall_breaks)
{
    s_new (true);
    s_dial (1);
    //  The protocol's 3 s, whatever S1 writes meanwhile.
    s_fake.progress += 1000;
    s_pass (2999);
    ck_assert_str_eq (s_calls (), "");
    ck_assert_int_eq (s_fake.broken, 0);
    s_pass (1);
    ck_assert_int_eq (s_fake.broken, 1);
    ck_assert_str_eq (s_calls (), "untap drop");
    ck_assert_str_eq (s_fake.traces, "handover handover-stalled");
    ck_assert (!s_fake.armed);
    //  A late HO_R2L changes nothing.
    s_command (INBAND_HO_R2L);
    s_pass (60000);
    ck_assert_str_eq (s_calls (), "");
    ck_assert_int_eq (s_fake.broken, 1);
}
END_TEST

//  tunnel_mux destroys the baton when it hears the tunnel is broken.
START_TEST (test_dialer_stall_owner_destroys)
{
    s_new (true);
    s_fake.destroy_when_broken = true;
    s_dial (1);
    s_pass (3000);
    ck_assert_int_eq (s_fake.broken, 1);
    ck_assert_ptr_null (s_fake.baton);
    ck_assert (!s_fake.armed);
}
END_TEST

START_TEST (test_dialer_connect_fails)
{
    s_conf.handover_min_s = 1200;
    s_conf.handover_max_s = 1800;
    s_new (true);
    //  The connect fails: S1 goes on untapped.
    ck_assert_int_eq (baton_start (s_fake.baton), 0);
    s_calls ();
    s_fake.busy = false;                        //  the session has closed S2
    s_connected (ECONNREFUSED);
    ck_assert_str_eq (s_calls (), "drop untap");
    ck_assert_str_eq (s_fake.traces, "handover handover-failed");
    ck_assert (s_fake.armed && s_fake.armed_at >= s_fake.now + 1200000
               && s_fake.armed_at <= s_fake.now + 1800000);     //  the next timed one
    s_command (INBAND_HO_R2L);
    ck_assert_str_eq (s_calls (), "");
    //  It cannot even start.
    s_fake.connect_errno = ENETUNREACH;
    ck_assert_int_eq (baton_start (s_fake.baton), -1);
    ck_assert_str_eq (s_calls (), "drop untap");
    ck_assert (!s_fake.tapped);
    ck_assert (s_fake.armed && s_fake.armed_at >= s_fake.now + 1200000);
    //  No answer to the connect within 3 s.
    s_fake.connect_errno = 0;
    ck_assert_int_eq (baton_start (s_fake.baton), 0);
    s_calls ();
    s_pass (2999);
    ck_assert_str_eq (s_calls (), "");
    s_pass (1);
    ck_assert_str_eq (s_calls (), "drop untap");
    ck_assert_int_eq (s_fake.broken, 0);
    //  Each time the same ID: none was used.
    s_dial (1);
}
END_TEST

START_TEST (test_dialer_new_socket_lost)
{
    s_new (true);
    s_dial (1);
    s_pass (1000);
    //  S2 closed (the ID refused?): the tunnel stays on S1, still tapped
    //  until the 3 s are over, in case the acceptor switched anyway.
    s_lost ();
    ck_assert_str_eq (s_calls (), "");
    ck_assert (s_fake.tapped);
    ck_assert_str_eq (s_fake.traces, "handover handover-failed");
    s_assert_timer_in (2000);
    s_pass (1999);
    ck_assert_str_eq (s_calls (), "");
    s_pass (1);
    ck_assert_str_eq (s_calls (), "drop untap");
    ck_assert_int_eq (s_fake.broken, 0);
    s_command (INBAND_HO_R2L);
    ck_assert_str_eq (s_calls (), "");
    //  The same ID next time. Lost during the connect: the same.
    ck_assert_int_eq (baton_start (s_fake.baton), 0);
    s_assert_first_is_id (1);
    s_calls ();
    s_lost ();
    ck_assert (s_fake.tapped);
    s_pass (2999);
    ck_assert_str_eq (s_calls (), "");
    s_pass (1);
    ck_assert_str_eq (s_calls (), "drop untap");
    ck_assert_int_eq (s_fake.broken, 0);
}
END_TEST

START_TEST (test_dialer_lost_then_switched)
{
    s_new (true);
    s_dial (1);
    s_lost ();
    //  The acceptor did switch to S2, which is gone: the tunnel cannot go on.
    s_command (INBAND_HO_R2L);
    ck_assert_int_eq (s_fake.broken, 1);
    ck_assert_str_eq (s_calls (), "untap drop");
    ck_assert (!s_fake.armed);
}
END_TEST

START_TEST (test_dialer_trigger_while_busy)
{
    s_new (true);
    ck_assert_int_eq (baton_start (s_fake.baton), 0);
    s_calls ();
    baton_user_arrived (s_fake.baton);          //  (a liveness check is due after this one)
    //  Connecting, waiting, retiring: a trigger is ignored, and forgets nothing.
    s_event (HANDOVER_TRIGGER, 0, 0);
    ck_assert_int_eq (baton_start (s_fake.baton), -1);
    s_connected (0);
    s_event (HANDOVER_TRIGGER, 0, 0);
    s_command (INBAND_HO_R2L);
    s_event (HANDOVER_TRIGGER, 0, 0);
    ck_assert_int_eq (baton_start (s_fake.baton), -1);
    ck_assert_str_eq (s_calls (), "send(HO_COMPLETE_L2R) switch_reads(wait_eof)");
    ck_assert_int_eq (s_fake.connects, 1);
    s_retired ();
    ck_assert (s_fake.armed);
    ck_assert_uint_le (s_fake.armed_at, s_fake.now + 20000);
    s_pass (s_fake.armed_at - s_fake.now);
    ck_assert_int_eq (s_fake.connects, 2);      //  the liveness check
    s_connected (0);
    s_command (INBAND_HO_R2L);
    s_retired ();
    s_calls ();
    //  Back to idle: the trigger starts the next one.
    s_event (HANDOVER_TRIGGER, 0, 0);
    ck_assert_int_eq (s_fake.connects, 3);
    ck_assert_str_eq (s_calls (), "connect tap");
    s_assert_first_is_id (3);
}
END_TEST

START_TEST (test_dialer_not_now)
{
    s_new (true);
    //  The session still has a second socket: again in a second.
    s_fake.busy = true;
    s_event (HANDOVER_TRIGGER, 0, 0);
    ck_assert_str_eq (s_calls (), "");
    s_assert_timer_in (1000);
    //  S1 has no peer (not connected): the same.
    s_fake.busy = false;
    s_fake.peer_ok = false;
    s_pass (1000);
    ck_assert_str_eq (s_calls (), "");
    s_assert_timer_in (1000);
    s_fake.peer_ok = true;
    s_pass (999);
    ck_assert_int_eq (s_fake.connects, 0);
    s_pass (1);
    ck_assert_str_eq (s_calls (), "connect tap");
}
END_TEST

START_TEST (test_dialer_tunnel_ending)
{
    s_conf.handover_min_s = 1200;
    s_conf.handover_max_s = 1800;
    s_new (true);
    ck_assert (s_fake.armed);
    //  A side that has ended one way is not handed over, now or later.
    s_fake.side_open = false;
    ck_assert_int_eq (baton_start (s_fake.baton), -1);
    ck_assert_str_eq (s_calls (), "");
    ck_assert (!s_fake.armed);
    s_fake.side_open = true;
    s_pass (3600000);
    ck_assert_int_eq (s_fake.connects, 0);
}
END_TEST

START_TEST (test_dialer_periodic)
{
    s_conf.handover_min_s = 1200;
    s_conf.handover_max_s = 1800;
    s_new (true);
    //  The first timed handover 20-30 min after the tunnel came up.
    ck_assert (s_fake.armed);
    uint64_t due = s_fake.armed_at;
    ck_assert_uint_ge (due, T0 + 1200000);
    ck_assert_uint_le (due, T0 + 1800000);
    s_pass (due - 1 - s_fake.now);
    ck_assert_int_eq (s_fake.connects, 0);
    s_pass (1);
    ck_assert_str_eq (s_calls (), "connect tap");
    s_assert_first_is_id (1);
    s_assert_timer_in (3000);                   //  only the step's limit now
    s_connected (0);
    s_command (INBAND_HO_R2L);
    s_retired ();
    //  The next one 20-30 min after this one ended.
    ck_assert (s_fake.armed);
    ck_assert_uint_ge (s_fake.armed_at, s_fake.now + 1200000);
    ck_assert_uint_le (s_fake.armed_at, s_fake.now + 1800000);
    s_pass (1800000);
    ck_assert_int_eq (s_fake.connects, 2);
    s_assert_first_is_id (2);
}
END_TEST

START_TEST (test_dialer_retire_limit)
{
    s_new (true);
    s_dial (1);
    s_command (INBAND_HO_R2L);
    s_calls ();
    //  The acceptor does not close S1 within 10 s: it is closed here.
    s_pass (9999);
    ck_assert_str_eq (s_calls (), "");
    s_pass (1);
    ck_assert_str_eq (s_calls (), "drop");
    ck_assert_int_eq (s_fake.broken, 0);
    s_dial (2);
}
END_TEST

START_TEST (test_dialer_liveness)
{
    s_new (true);
    //  A user arrived and nothing came back: a handover checks the tunnel
    //  10-20 s later.
    s_pass (5000);
    baton_user_arrived (s_fake.baton);
    ck_assert (s_fake.armed);
    uint64_t due = s_fake.armed_at;
    ck_assert_uint_ge (due, s_fake.now + 10000);
    ck_assert_uint_le (due, s_fake.now + 20000);
    baton_user_arrived (s_fake.baton);          //  the check is armed once
    ck_assert_uint_eq (s_fake.armed_at, due);
    s_pass (due - 1 - s_fake.now);
    ck_assert_int_eq (s_fake.connects, 0);
    s_pass (1);
    ck_assert_str_eq (s_calls (), "connect tap");
    s_connected (0);
    s_command (INBAND_HO_R2L);
    s_retired ();
    ck_assert (!s_fake.armed);                  //  nothing more to check
    s_pass (60000);
    ck_assert_int_eq (s_fake.connects, 1);
}
END_TEST

START_TEST (test_dialer_liveness_answered)
{
    s_new (true);
    baton_user_arrived (s_fake.baton);
    s_pass (1000);
    baton_heard (s_fake.baton);
    //  Answered: no check at the deadline, and nothing left to check.
    s_pass (20000);
    ck_assert_int_eq (s_fake.connects, 0);
    ck_assert (!s_fake.armed);
    //  Answered, then another user who is not, just before the deadline:
    //  checked 10-20 s after that arrival.
    baton_user_arrived (s_fake.baton);
    ck_assert (s_fake.armed);
    uint64_t due = s_fake.armed_at;
    s_pass (1000);
    baton_heard (s_fake.baton);
    s_pass (due - 1 - s_fake.now);
    baton_user_arrived (s_fake.baton);
    uint64_t second = s_fake.now;
    ck_assert_uint_eq (s_fake.armed_at, due);
    s_pass (1);
    ck_assert_int_eq (s_fake.connects, 0);
    ck_assert (s_fake.armed);
    ck_assert_uint_ge (s_fake.armed_at, second + 10000);
    ck_assert_uint_le (s_fake.armed_at, second + 20000);
    s_pass (s_fake.armed_at - 1 - s_fake.now);
    ck_assert_int_eq (s_fake.connects, 0);
    s_pass (1);
    ck_assert_int_eq (s_fake.connects, 1);
}
END_TEST

//  A user arrives during a handover: the liveness deadline may come while
//  the handover still runs. The check waits for its end (without the timer
//  firing again and again meanwhile), then a handover checks the tunnel.
START_TEST (test_dialer_liveness_during_handover)
{
    s_conf.has_local_proxy = true;
    //  The deadline is random (10-20 s after the arrival); the handover
    //  below runs from 6 to 16 s after it: most trials have it inside.
    for (int trial = 0; trial < 20; trial++) {
        s_new (true);
        ck_assert_int_eq (baton_start (s_fake.baton), 0);
        baton_user_arrived (s_fake.baton);
        uint64_t arrived = s_fake.now;
        s_connected (0);
        s_pass (2999);
        s_held ("HTTP/1.1 200 OK\r\n\r\n");
        s_pass (2999);
        s_command (INBAND_HO_R2L);
        int connects = s_fake.connects;
        s_pass (9999);
        ck_assert_int_eq (s_fake.connects, connects);
        s_retired ();
        s_pass (arrived + 20000 - s_fake.now);
        ck_assert_int_eq (s_fake.connects, connects + 1);
        baton_destroy (&s_fake.baton);
        s_fake.busy = false;
        s_calls ();
    }
}
END_TEST

START_TEST (test_dialer_stray_socket)
{
    s_new (true);
    int fd = s_socket ("");
    ck_assert (s_fd_closed (fd));
    ck_assert_str_eq (s_calls (), "");
    //  Without a baton (no extra ports), too.
    baton_destroy (&s_fake.baton);
    s_calls ();
    fd = s_socket ("");
    ck_assert (s_fd_closed (fd));
    ck_assert_str_eq (s_calls (), "");
}
END_TEST

START_TEST (test_no_extra_ports)
{
    s_conf.extra_port_count = 0;
    baton_owner_t owner = { s_broken, &s_fake };
    ck_assert_ptr_null (baton_new (&s_session, SIDE, &s_wormhole, true, s_id0, &owner));
    ck_assert_ptr_null (baton_new (&s_session, SIDE, &s_wormhole, false, s_id0, &owner));
    ck_assert_uint_eq (baton_registry_size (), 0);
    ck_assert_int_eq (baton_start (NULL), -1);
}
END_TEST


//  --------------------------------------------------------------------------
//  Accepting end

START_TEST (test_acceptor_four_steps)
{
    s_new (false);
    ck_assert (!s_fake.armed);
    //  Registered under ID1, the ID the dialer presents first; the extra
    //  port takes it from the registry and hands S2 over.
    ck_assert_uint_eq (baton_registry_size (), 1);
    ck_assert (s_registered (1));
    //  Step 2: S2 adopted with what came after the ID, S1 tapped, HO_R2L
    //  on S1, and writes go to S2 behind it.
    int fd = s_socket ("early");
    ck_assert_str_eq (s_calls (), "adopt tap send(HO_R2L) switch_writes");
    ck_assert_int_eq (s_fake.adopted_fd, fd);
    ck_assert_uint_eq (s_fake.adopted_len, 5);
    ck_assert_mem_eq (s_fake.adopted, "early", 5);
    ck_assert (s_fake.tapped);
    ck_assert_str_eq (s_fake.traces, "handover");
    s_assert_timer_in (3000);
    //  The next handover presents ID2; ID1 cannot be presented again.
    ck_assert_uint_eq (baton_registry_size (), 1);
    ck_assert (!s_registered (1));
    ck_assert (s_registered (2));
    //  HO_R2L is not the command awaited here.
    s_command (INBAND_HO_R2L);
    ck_assert_str_eq (s_calls (), "");
    s_pass (2999);
    //  Step 4: reads switch to S2 (S2's held bytes first); S1 writes what
    //  it has and closes.
    s_command (INBAND_HO_COMPLETE_L2R);
    ck_assert_str_eq (s_calls (), "switch_reads");
    ck_assert_int_eq (s_fake.shaped, 1);
    s_assert_timer_in (10000);
    s_retired ();
    ck_assert (!s_fake.armed);
    ck_assert_int_eq (s_fake.broken, 0);
    ck_assert_int_ne (fcntl (fd, F_GETFD), -1); //  the session's socket now
    //  The second handover, with ID2 (taken above), registers ID3.
    fd = s_socket ("");
    ck_assert_str_eq (s_calls (), "adopt tap send(HO_R2L) switch_writes");
    ck_assert (s_registered (3));
    s_command (INBAND_HO_COMPLETE_L2R);
    ck_assert_str_eq (s_calls (), "switch_reads");
    s_retired ();
    ck_assert_int_eq (s_fake.shaped, 2);
    ck_assert_int_ne (fcntl (fd, F_GETFD), -1);
}
END_TEST

//  A wrong ID finds no tunnel in the registry (the extra port closes its
//  connection): only the ID the dialer presents next names this one.
START_TEST (test_acceptor_wrong_id)
{
    s_new (false);
    uint8_t id[WIRE_ID_SIZE];
    int worker;
    uint64_t session;
    memcpy (id, s_id0, sizeof id);              //  the hello's ID0 is no handover ID
    ck_assert_int_eq (baton_registry_take (id, &worker, &session), -1);
    s_id (2, id);                               //  nor one further down the chain
    ck_assert_int_eq (baton_registry_take (id, &worker, &session), -1);
    s_id (1, id);
    id[WIRE_ID_SIZE - 1] ^= 1;
    ck_assert_int_eq (baton_registry_take (id, &worker, &session), -1);
    ck_assert_uint_eq (baton_registry_size (), 1);
    //  Without its S2, HO_COMPLETE_L2R means nothing.
    s_command (INBAND_HO_COMPLETE_L2R);
    ck_assert_str_eq (s_calls (), "");
    ck_assert_int_eq (s_fake.shaped, 0);
    //  Destroyed, the tunnel is no longer found.
    baton_destroy (&s_fake.baton);
    ck_assert_uint_eq (baton_registry_size (), 0);
}
END_TEST

START_TEST (test_acceptor_stall_breaks)
{
    s_new (false);
    ck_assert (s_registered (1));
    s_socket ("");
    s_calls ();
    //  Nothing written on S1 meanwhile: 3 s, then the tunnel is broken.
    s_pass (2999);
    ck_assert_int_eq (s_fake.broken, 0);
    s_pass (1);
    ck_assert_int_eq (s_fake.broken, 1);
    ck_assert_str_eq (s_calls (), "untap drop");
    ck_assert_str_eq (s_fake.traces, "handover handover-stalled");
    ck_assert (!s_fake.armed);
    s_command (INBAND_HO_COMPLETE_L2R);
    ck_assert_str_eq (s_calls (), "");
}
END_TEST

//  S1 is still writing the backlog ahead of HO_R2L: the wait goes on by 3 s
//  at each look that sees it moved, until the cap (10 s) is passed.
START_TEST (test_acceptor_stall_extended)
{
    s_new (false);
    ck_assert (s_registered (1));
    s_socket ("");
    s_calls ();
    for (int look = 1; look <= 3; look++) {
        s_fake.progress += 1000;
        s_pass (3000);
        ck_assert_int_eq (s_fake.broken, 0);
        s_assert_timer_in (3000);
    }
    //  Still moving at the look at 12 s, which is past the cap: broken.
    s_fake.progress += 1000;
    s_pass (2999);
    ck_assert_int_eq (s_fake.broken, 0);
    s_pass (1);
    ck_assert_int_eq (s_fake.broken, 1);
    ck_assert_str_eq (s_calls (), "untap drop");
}
END_TEST

START_TEST (test_acceptor_stall_stops_moving)
{
    s_new (false);
    ck_assert (s_registered (1));
    s_socket ("");
    s_fake.progress += 1000;
    s_pass (3000);
    ck_assert_int_eq (s_fake.broken, 0);
    //  The backlog is written; HO_COMPLETE_L2R still does not come.
    s_pass (2999);
    ck_assert_int_eq (s_fake.broken, 0);
    s_pass (1);
    ck_assert_int_eq (s_fake.broken, 1);
}
END_TEST

//  The wait counts what S1 writes from this handover's switch on: what it
//  wrote before does not extend it.
START_TEST (test_acceptor_progress_from_the_switch)
{
    s_new (false);
    ck_assert (s_registered (1));
    s_socket ("");
    s_command (INBAND_HO_COMPLETE_L2R);
    s_retired ();
    s_fake.progress += 5000;
    ck_assert (s_registered (2));
    s_socket ("");
    s_pass (2999);
    ck_assert_int_eq (s_fake.broken, 0);
    s_pass (1);
    ck_assert_int_eq (s_fake.broken, 1);
}
END_TEST

START_TEST (test_acceptor_extended_then_completes)
{
    s_new (false);
    ck_assert (s_registered (1));
    s_socket ("");
    s_calls ();
    s_fake.progress += 1000;
    s_pass (5000);
    s_command (INBAND_HO_COMPLETE_L2R);
    ck_assert_str_eq (s_calls (), "switch_reads");
    s_pass (9999);
    s_retired ();
    s_pass (60000);
    ck_assert_int_eq (s_fake.broken, 0);
    ck_assert_str_eq (s_calls (), "");
}
END_TEST

START_TEST (test_acceptor_refuses)
{
    s_new (false);
    //  A tunnel that is ending is not handed over; it stays registered under
    //  the same ID (the dialer presents it again).
    ck_assert (s_registered (1));
    s_fake.side_open = false;
    int fd = s_socket ("");
    ck_assert (s_fd_closed (fd));
    ck_assert_str_eq (s_calls (), "");
    ck_assert (s_registered (1));
    //  The session cannot take S2: the same.
    s_fake.side_open = true;
    s_fake.adopt_fails = true;
    fd = s_socket ("");
    ck_assert (s_fd_closed (fd));
    ck_assert_str_eq (s_calls (), "adopt(refused)");
    ck_assert (s_registered (1));
    //  While a handover runs, another S2 (with the new ID) is closed.
    s_fake.adopt_fails = false;
    s_socket ("");
    ck_assert_str_eq (s_calls (), "adopt tap send(HO_R2L) switch_writes");
    ck_assert (s_registered (2));
    fd = s_socket ("");
    ck_assert (s_fd_closed (fd));
    ck_assert_str_eq (s_calls (), "");
    ck_assert (s_registered (2));
    //  ... and the running one is untouched.
    s_command (INBAND_HO_COMPLETE_L2R);
    ck_assert_str_eq (s_calls (), "switch_reads");
    //  Retiring: the same.
    fd = s_socket ("");
    ck_assert (s_fd_closed (fd));
    ck_assert_str_eq (s_calls (), "");
    ck_assert (s_registered (2));
}
END_TEST

START_TEST (test_acceptor_retire_limit)
{
    s_new (false);
    ck_assert (s_registered (1));
    s_socket ("");
    s_command (INBAND_HO_COMPLETE_L2R);
    s_calls ();
    s_pass (9999);
    ck_assert_str_eq (s_calls (), "");
    s_pass (1);
    ck_assert_str_eq (s_calls (), "drop");
    ck_assert (!s_fake.armed);
    ck_assert_int_eq (s_fake.broken, 0);
    //  Idle again: the next handover (ID2).
    ck_assert (s_registered (2));
    s_socket ("");
    ck_assert_str_eq (s_calls (), "adopt tap send(HO_R2L) switch_writes");
}
END_TEST

START_TEST (test_acceptor_ignores)
{
    s_new (false);
    //  The dialer's events mean nothing here; it never starts a handover.
    ck_assert_int_eq (baton_start (s_fake.baton), -1);
    s_event (HANDOVER_TRIGGER, 0, 0);
    s_connected (0);
    s_event (HANDOVER_HELD, 0, 0);
    baton_user_arrived (s_fake.baton);
    s_pass (3600000);
    ck_assert_str_eq (s_calls (), "");
    ck_assert (!s_fake.armed);
    //  S2 ending before the switch is held: it surfaces when S2 takes over.
    ck_assert (s_registered (1));
    s_socket ("");
    s_calls ();
    s_event (HANDOVER_LOST, ECONNRESET, 0);
    ck_assert_str_eq (s_calls (), "");
    s_command (INBAND_HO_COMPLETE_L2R);
    ck_assert_str_eq (s_calls (), "switch_reads");
}
END_TEST

START_TEST (test_acceptor_destroy_during_handover)
{
    s_new (false);
    ck_assert (s_registered (1));
    s_socket ("");
    s_calls ();
    baton_destroy (&s_fake.baton);
    //  S2 and the tap go with it; the tunnel is no longer registered.
    ck_assert_str_eq (s_calls (), "untap drop");
    ck_assert (!s_fake.armed);
    ck_assert_uint_eq (baton_registry_size (), 0);
}
END_TEST

//  S2 brought the tunnel's end (or a corrupt frame) before it took over:
//  switching reads delivers it, and tunnel_mux drops the tunnel and its
//  baton from inside the switch. The baton does nothing more after that.
START_TEST (test_destroyed_by_its_switch)
{
    //  The accepting end's step 4.
    s_new (false);
    ck_assert (s_registered (1));
    s_socket ("");
    s_fake.destroy_at_switch = true;
    s_command (INBAND_HO_COMPLETE_L2R);
    ck_assert_ptr_null (s_fake.baton);
    ck_assert_str_eq (s_calls (), "adopt tap send(HO_R2L) switch_writes switch_reads untap drop");
    ck_assert_int_eq (s_fake.shaped, 0);
    ck_assert (!s_fake.armed);
    ck_assert_uint_eq (baton_registry_size (), 0);
    //  The dialing end's step 3.
    s_fake.destroy_at_switch = false;
    s_new (true);
    s_dial (1);
    s_fake.destroy_at_switch = true;
    s_command (INBAND_HO_R2L);
    ck_assert_ptr_null (s_fake.baton);
    ck_assert_str_eq (s_calls (), "send(HO_COMPLETE_L2R) switch_reads(wait_eof) untap drop");
    ck_assert_int_eq (s_fake.shaped, 0);
    ck_assert (!s_fake.armed);
}
END_TEST

int
main (void)
{
    Suite *suite = suite_create ("baton");
    TCase *dialer = tcase_create ("dialer");
    tcase_add_checked_fixture (dialer, s_setup, s_teardown);
    tcase_add_test (dialer, test_dialer_four_steps);
    tcase_add_test (dialer, test_dialer_through_proxy);
    tcase_add_test (dialer, test_dialer_proxy_refuses);
    tcase_add_test (dialer, test_dialer_proxy_silent_or_gone);
    tcase_add_test (dialer, test_dialer_proxy_id_send_fails);
    tcase_add_test (dialer, test_dialer_stall_breaks);
    tcase_add_test (dialer, test_dialer_stall_owner_destroys);
    tcase_add_test (dialer, test_dialer_connect_fails);
    tcase_add_test (dialer, test_dialer_new_socket_lost);
    tcase_add_test (dialer, test_dialer_lost_then_switched);
    tcase_add_test (dialer, test_dialer_trigger_while_busy);
    tcase_add_test (dialer, test_dialer_not_now);
    tcase_add_test (dialer, test_dialer_tunnel_ending);
    tcase_add_test (dialer, test_dialer_periodic);
    tcase_add_test (dialer, test_dialer_retire_limit);
    tcase_add_test (dialer, test_dialer_liveness);
    tcase_add_test (dialer, test_dialer_liveness_answered);
    tcase_add_test (dialer, test_dialer_liveness_during_handover);
    tcase_add_test (dialer, test_dialer_stray_socket);
    tcase_add_test (dialer, test_no_extra_ports);
    suite_add_tcase (suite, dialer);
    TCase *acceptor = tcase_create ("acceptor");
    tcase_add_checked_fixture (acceptor, s_setup, s_teardown);
    tcase_add_test (acceptor, test_acceptor_four_steps);
    tcase_add_test (acceptor, test_acceptor_wrong_id);
    tcase_add_test (acceptor, test_acceptor_stall_breaks);
    tcase_add_test (acceptor, test_acceptor_stall_extended);
    tcase_add_test (acceptor, test_acceptor_stall_stops_moving);
    tcase_add_test (acceptor, test_acceptor_progress_from_the_switch);
    tcase_add_test (acceptor, test_acceptor_extended_then_completes);
    tcase_add_test (acceptor, test_acceptor_refuses);
    tcase_add_test (acceptor, test_acceptor_retire_limit);
    tcase_add_test (acceptor, test_acceptor_ignores);
    tcase_add_test (acceptor, test_acceptor_destroy_during_handover);
    tcase_add_test (acceptor, test_destroyed_by_its_switch);
    suite_add_tcase (suite, acceptor);
    SRunner *runner = srunner_create (suite);
    srunner_run_all (runner, CK_NORMAL);
    int failed = srunner_ntests_failed (runner);
    srunner_free (runner);
    return failed == 0 ? 0 : 1;
}
