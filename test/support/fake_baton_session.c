/*  fake_baton_session — the fake session the baton tests (test_baton_*)
    run the baton handover (actors/baton.h) against. The fake implements
    every session / shaping / dialer / timers call the baton makes: it
    records what the baton asks of the session (connect, adopt, tap, the
    in-band commands it sends, decoded with the real scanner, the switches,
    drop), keeps a fake clock and the one-shot handover timer, and lets the
    test deliver the session's handover events. Time only moves when the
    test says so (fake_pass), and the timer fires then, as the worker's
    would. fake_setup / fake_teardown are the tests' fixture.
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
#include "test/support/fake_baton_session.h"

//  --------------------------------------------------------------------------
//  The fake session

struct session_t {
    int unused;
};

fake_t fake;
session_t fake_session;

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

wormhole_conf_t fake_conf;
wormhole_t fake_wormhole;
static uint16_t s_ports[] = { 9001, 9002 };
uint8_t fake_id0[WIRE_ID_SIZE];

static void
s_call (const char *format, ...)
{
    char call[128];
    va_list args;
    va_start (args, format);
    vsnprintf (call, sizeof call, format, args);
    va_end (args);
    size_t len = strlen (fake.calls);
    snprintf (fake.calls + len, sizeof fake.calls - len, "%s%s", len ? " " : "", call);
}

//  The calls since the last look, then forgets them.
static char s_seen[sizeof fake.calls];
const char *
fake_calls (void)
{
    memcpy (s_seen, fake.calls, sizeof s_seen);
    fake.calls[0] = 0;
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
    return fake.now;
}

void
session_set_handover_timer (session_t *self, int ms)
{
    ck_assert_ptr_eq (self, &fake_session);
    fake.armed = ms >= 0;
    fake.armed_at = fake.now + (uint64_t) (ms >= 0 ? ms : 0);
}

//  Only a v2 accepting end corks or holds (its server flight): not under
//  test here.
void
session_cork (session_t *self, session_side_t side)
{
    (void) self, (void) side;
}

void
session_hold_writes (session_t *self, session_side_t side, unsigned us)
{
    (void) self, (void) side, (void) us;
}

void
session_sendv (session_t *self, session_side_t side, const struct iovec *iov, int count)
{
    ck_assert_ptr_eq (self, &fake_session);
    ck_assert_int_eq (side, SIDE);
    for (int i = 0; i < count; i++)
        ck_assert_int_eq (inband_rx_feed (fake.decoder, iov[i].iov_base, iov[i].iov_len,
                                          s_on_data, s_on_command, NULL), 0);
    ck_assert_uint_eq (inband_rx_held (fake.decoder), 0);
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

uint64_t
session_active_ms (session_t *self)
{
    (void) self;
    return 0;
}

void
session_delay_fin (session_t *self, session_side_t side, int ms)
{
    (void) self, (void) side, (void) ms;
}

void
session_pace_fin (session_t *self, session_side_t side, uint32_t rate)
{
    (void) self, (void) side, (void) rate;
}

void
session_count (session_t *self, metric_t what)
{
    (void) self;
    (void) what;
}

void
session_trace (session_t *self, const char *from, const char *to, const char *kind, size_t bytes)
{
    (void) self;
    (void) from;
    (void) to;
    (void) bytes;
    size_t len = strlen (fake.traces);
    snprintf (fake.traces + len, sizeof fake.traces - len, "%s%s", len ? " " : "", kind);
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
    return fake.side_open;
}

bool
session_handover_busy (session_t *self)
{
    (void) self;
    return fake.busy;
}

int
session_socket_peer (session_t *self, session_side_t side, struct sockaddr_storage *addr,
                     socklen_t *len)
{
    (void) self;
    ck_assert_int_eq (side, SIDE);
    if (!fake.peer_ok)
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
    if (fake.busy) {
        errno = EBUSY;
        return -1;
    }
    if (fake.connect_errno) {
        errno = fake.connect_errno;
        return -1;
    }
    ck_assert_int_eq (addr->sa_family, AF_INET);
    ck_assert_uint_eq (addrlen, sizeof (struct sockaddr_in));
    const struct sockaddr_in *in = (const struct sockaddr_in *) addr;
    fake.connect_port = ntohs (in->sin_port);
    fake.connect_host = ntohl (in->sin_addr.s_addr);
    ck_assert_uint_le (first_len, sizeof fake.first);
    memcpy (fake.first, first, first_len);
    fake.first_len = first_len;
    fake.connects++;
    fake.busy = true;
    fake.held_len = 0;
    s_call ("connect");
    return 0;
}

int
session_handover_adopt (session_t *self, session_side_t side, int fd, const void *data, size_t len)
{
    (void) self;
    ck_assert_int_eq (side, SIDE);
    if (fake.busy || fake.adopt_fails) {
        s_call ("adopt(refused)");
        return -1;
    }
    fake.busy = true;
    fake.adopted_fd = fd;
    s_keep (fd);
    ck_assert_uint_le (len, sizeof fake.adopted);
    memcpy (fake.adopted, data, len);
    fake.adopted_len = len;
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
        fake.tapped = true;
        s_call ("tap");
    }
    else {
        fake.tapped = false;
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
    fake.tapped = false;
    s_call (wait_eof ? "switch_reads(wait_eof)" : "switch_reads");
    if (fake.destroy_at_switch)
        baton_destroy (&fake.baton);
}

size_t
session_handover_take_held (session_t *self, uint8_t *buf, size_t max)
{
    (void) self;
    size_t n = fake.held_len < max ? fake.held_len : max;
    memcpy (buf, fake.held, n);
    memmove (fake.held, fake.held + n, fake.held_len - n);
    fake.held_len -= n;
    return n;
}

void
session_handover_send (session_t *self, const void *data, size_t len)
{
    (void) self;
    if (fake.send_fails) {
        //  As the session does: S2 is closed and the handler hears of it at once.
        s_call ("s2_send(failed)");
        fake.busy = false;
        handover_event_t event = { .kind = HANDOVER_LOST, .err = EPIPE, .fd = -1 };
        baton_event (fake.baton, &event);
        return;
    }
    ck_assert_uint_le (fake.s2_sent_len + len, sizeof fake.s2_sent);
    memcpy (fake.s2_sent + fake.s2_sent_len, data, len);
    fake.s2_sent_len += len;
    s_call ("s2_send");
}

void
session_handover_shut_old (session_t *self)
{
    (void) self;
    s_call ("shut_old");
}

void
session_handover_drop (session_t *self)
{
    (void) self;
    fake.busy = false;
    fake.tapped = false;
    s_call ("drop");
}

uint64_t
session_handover_progress (session_t *self)
{
    (void) self;
    return fake.progress;
}

void
shaping_after_handover (session_t *session, session_side_t side, const wormhole_conf_t *conf)
{
    ck_assert_ptr_eq (session, &fake_session);
    ck_assert_int_eq (side, SIDE);
    ck_assert_ptr_eq (conf, &fake_conf);
    fake.shaped++;
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

void
fake_broken (void *ctx)
{
    ck_assert_ptr_eq (ctx, &fake);
    fake.broken++;
    if (fake.destroy_when_broken)
        baton_destroy (&fake.baton);
}

void
fake_setup (void)
{
    log_set_level (LOG_LEVEL_ERROR);
    memset (&fake, 0, sizeof fake);
    fake.now = T0;
    fake.side_open = true;
    fake.peer_ok = true;
    fake.adopted_fd = -1;
    fake.decoder = inband_rx_new (KEY32, sizeof KEY32);
    ck_assert_ptr_nonnull (fake.decoder);
    inband_rx_set_tapping (fake.decoder, true);
    memset (&fake_conf, 0, sizeof fake_conf);
    snprintf (fake_conf.name, sizeof fake_conf.name, "w");
    snprintf (fake_conf.wormhole_remote.host, sizeof fake_conf.wormhole_remote.host, "tunnel.example");
    fake_conf.wormhole_remote.port = 4433;
    memcpy (fake_conf.key, KEY32, sizeof KEY32);
    fake_conf.key_len = sizeof KEY32;
    fake_conf.extra_ports = s_ports;
    fake_conf.extra_port_count = 2;
    fake_wormhole.conf = &fake_conf;
    memcpy (fake_id0, HELLO_IV, sizeof fake_id0);     //  any 16 bytes will do as ID0
}

void
fake_teardown (void)
{
    baton_destroy (&fake.baton);
    inband_rx_destroy (&fake.decoder);
    baton_registry_shutdown ();
    while (s_kept_count > 0)
        close (s_kept[--s_kept_count]);
}

baton_t *
fake_new (bool dialing)
{
    baton_owner_t owner = { fake_broken, &fake };
    fake.baton = baton_new (&fake_session, SIDE, &fake_wormhole, dialing, fake_id0, &owner);
    ck_assert_ptr_nonnull (fake.baton);
    return fake.baton;
}

//  ID(n) = HMAC(K, ID(n-1), 16) from the hello's ID0.
void
fake_id (unsigned n, uint8_t id[WIRE_ID_SIZE])
{
    memcpy (id, fake_id0, WIRE_ID_SIZE);
    for (unsigned i = 0; i < n; i++)
        ck_assert_int_eq (wire_next_id (KEY32, sizeof KEY32, id, id), 0);
}

void
fake_event (handover_kind_t kind, int err, int cmd)
{
    handover_event_t event = { .kind = kind, .err = err, .cmd = cmd, .fd = -1 };
    baton_event (fake.baton, &event);
}

void
fake_connected (int err)
{
    fake_event (HANDOVER_CONNECTED, err, 0);
}

void
fake_command (int cmd)
{
    fake_event (HANDOVER_COMMAND, 0, cmd);
}

//  S2 ended before it took over: the session has closed it.
void
fake_lost (void)
{
    fake.busy = false;
    fake_event (HANDOVER_LOST, ECONNRESET, 0);
}

//  The old socket is closed: the session has no second socket any more.
void
fake_retired (void)
{
    fake.busy = false;
    fake_event (HANDOVER_RETIRED, 0, 0);
}

void
fake_held (const char *bytes)
{
    size_t len = strlen (bytes);
    ck_assert_uint_le (fake.held_len + len, sizeof fake.held);
    memcpy (fake.held + fake.held_len, bytes, len);
    fake.held_len += len;
    fake_event (HANDOVER_HELD, 0, 0);
}

//  A handover connection for this tunnel (the extra port took the ID from
//  the registry). Returns the fd the baton now owns: one end of a pipe.
int
fake_socket (const char *after_id)
{
    int fds[2];
    ck_assert_int_eq (pipe (fds), 0);
    s_keep (fds[1]);
    handover_event_t event = { .kind = HANDOVER_SOCKET, .fd = fds[0],
                               .data = (const uint8_t *) after_id, .len = strlen (after_id) };
    baton_event (fake.baton, &event);
    return fds[0];
}

//  True if the baton has closed fd (otherwise it is closed now).
bool
fake_fd_closed (int fd)
{
    bool closed = fcntl (fd, F_GETFD) == -1 && errno == EBADF;
    if (!closed)
        close (fd);
    return closed;
}

//  Time passes: the handover timer fires whenever it is due, as the worker's
//  would. A timer that keeps firing without time moving is a busy loop.
void
fake_pass (uint64_t ms)
{
    uint64_t until = fake.now + ms;
    unsigned fires_now = 0;
    while (fake.armed && fake.armed_at <= until) {
        fires_now = fake.armed_at == fake.now ? fires_now + 1 : 0;
        ck_assert_msg (fires_now < 100, "the handover timer fires again and again at T0+%llu",
                       (unsigned long long) (fake.now - T0));
        fake.now = fake.armed_at;
        fake.armed = false;
        handover_event_t event = { .kind = HANDOVER_TIMER, .fd = -1 };
        baton_event (fake.baton, &event);
    }
    fake.now = until;
}

//  The timer is armed for at (from now on: ms from now).
void
fake_assert_timer_in (uint64_t ms)
{
    ck_assert_msg (fake.armed, "the handover timer is not armed");
    ck_assert_uint_eq (fake.armed_at, fake.now + ms);
}

void
fake_assert_first_is_id (unsigned n)
{
    uint8_t id[WIRE_ID_SIZE];
    fake_id (n, id);
    ck_assert_uint_eq (fake.first_len, WIRE_ID_SIZE);
    ck_assert_mem_eq (fake.first, id, WIRE_ID_SIZE);
}

bool
fake_registered (unsigned n)
{
    uint8_t id[WIRE_ID_SIZE];
    fake_id (n, id);
    int worker = -1;
    uint64_t session = 0;
    if (baton_registry_take (id, &worker, &session) != 0)
        return false;
    ck_assert_int_eq (worker, WORKER);
    ck_assert_uint_eq (session, SESSION_ID);
    return true;
}

//  The dialer's handover up to step 1's end: S2 connected, ID sent, S1 tapped.
void
fake_dial (unsigned n)
{
    int connects = fake.connects;
    ck_assert_int_eq (baton_start (fake.baton), 0);
    ck_assert_int_eq (fake.connects, connects + 1);
    ck_assert_str_eq (fake_calls (), "connect tap");
    fake_assert_first_is_id (n);
    fake_connected (0);
}
