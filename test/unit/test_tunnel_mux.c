/*  Unit tests: the aggregated tunnel (actors/tunnel_mux.h) at both ends,
    against a fake session. The fake implements every session / stream /
    shaping / dialer / baton call the multiplexer makes: the tunnel
    session records what goes out (decoded with the real mux decoder into
    a line of frames), its timer, pauses and end; stream sessions record
    what the multiplexer hands them; the dialer and the baton are stand-ins
    whose answers the test decides. The test drives the handler class as
    the session would, and the stream ops as the streams' sessions would.
*/
#include <check.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actors/baton.h"
#include "actors/dialer.h"
#include "actors/shaping.h"
#include "actors/tunnel_mux.h"
#include "nodes/mux.h"
#include "runtime/base/log.h"
#include "runtime/handover.h"
#include "runtime/stream.h"
#include "test/support/check_run.h"

#define STREAM_WINDOW (4u << 20)    //  as in tunnel_mux_priv.h
#define CREDIT_STEP (256u << 10)
#define HOLD_LIMIT (512u << 10)
#define STREAMS_MAX 8

//  --------------------------------------------------------------------------
//  The fake sessions: the tunnel's, the users' and the spawned streams

struct session_t {
    char name[32];
    //  As a stream (a user's target side, or a spawned session's client side)
    const stream_ops_t *ops;
    void *mux;
    uint16_t id;
    bool attached;
    size_t received;                //  session_stream_data
    char first[64];                 //  the first bytes received
    int eof;                        //  session_stream_eof's err, -1 until then
    int fins;
    size_t held;                    //  what session_stream_held says
    int settles;
    bool aborted;
};

struct baton_t {
    int unused;
};

typedef struct {
    session_t tunnel;
    session_t users[STREAMS_MAX];
    session_t spawned[STREAMS_MAX];
    size_t spawned_count;
    bool spawn_fails;
    //  The tunnel session
    session_side_t side;            //  the tunnel's side: target (dialing) or client
    uint8_t *sent;                  //  what went to the tunnel (sendv and pad)
    size_t sent_len;
    int timer;                      //  the last session_set_timer (ms; 0 cancels)
    int timers;
    int target_closed;
    int paused;
    size_t queued;
    int corks;
    session_pad_fn *pad;
    void *pad_ctx;
    char traces[1024];
    int suspends;                   //  shaping_suspend
    //  The dialer
    int dials;
    int dial_rc;                    //  what dialer_start returns
    //  The baton
    baton_t baton;
    int batons;
    int batons_destroyed;
    baton_owner_t owner;
    int baton_events;
    int arrivals;
    int heard;
} fake_t;

static fake_t s_fake;
static uint8_t s_sent_bytes[24 << 20];
static wormhole_conf_t s_conf;
static wormhole_t s_wormhole;
static void *s_mux;                 //  the handler under test

void
session_set_background (session_t *self)
{
    ck_assert_ptr_eq (self, &s_fake.tunnel);
}

void
session_set_padding (session_t *self, session_side_t side, session_pad_fn *pad, void *ctx)
{
    ck_assert_ptr_eq (self, &s_fake.tunnel);
    ck_assert_int_eq (side, s_fake.side);
    s_fake.pad = pad;
    s_fake.pad_ctx = ctx;
}

static void
s_sent (const void *data, size_t len)
{
    ck_assert_uint_le (s_fake.sent_len + len, sizeof s_sent_bytes);
    memcpy (s_fake.sent + s_fake.sent_len, data, len);
    s_fake.sent_len += len;
}

void
session_pad (session_t *self, session_side_t side, const void *data, size_t len)
{
    ck_assert_ptr_eq (self, &s_fake.tunnel);
    ck_assert_int_eq (side, s_fake.side);
    s_sent (data, len);
}

void
session_cork (session_t *self, session_side_t side)
{
    ck_assert_ptr_eq (self, &s_fake.tunnel);
    ck_assert_int_eq (side, s_fake.side);
    s_fake.corks++;
}

void
session_sendv (session_t *self, session_side_t side, const struct iovec *iov, int count)
{
    ck_assert_ptr_eq (self, &s_fake.tunnel);
    ck_assert_int_eq (side, s_fake.side);
    for (int i = 0; i < count; i++)
        s_sent (iov[i].iov_base, iov[i].iov_len);
}

void
session_settle (session_t *self)
{
    self->settles++;
}

void
session_trace (session_t *self, const char *from, const char *to, const char *kind, size_t bytes)
{
    (void) self;
    (void) bytes;
    size_t len = strlen (s_fake.traces);
    snprintf (s_fake.traces + len, sizeof s_fake.traces - len, "%s%s>%s:%s", len ? " " : "", from,
              to, kind);
}

void
session_pause (session_t *self, session_side_t side, int paused)
{
    ck_assert_ptr_eq (self, &s_fake.tunnel);
    ck_assert_int_eq (side, s_fake.side);
    s_fake.paused = paused;
}

size_t
session_queued (session_t *self, session_side_t side)
{
    ck_assert_ptr_eq (self, &s_fake.tunnel);
    ck_assert_int_eq (side, s_fake.side);
    return s_fake.queued;
}

void
session_set_timer (session_t *self, int ms)
{
    ck_assert_ptr_eq (self, &s_fake.tunnel);
    s_fake.timer = ms;
    s_fake.timers++;
}

void
session_close_target (session_t *self)
{
    ck_assert_ptr_eq (self, &s_fake.tunnel);
    s_fake.target_closed++;
}

void
session_abort (session_t *self)
{
    self->aborted = true;
}

const char *
session_peer (session_t *self)
{
    return self->name;
}

session_t *
session_spawn_stream (session_t *self, const handler_conf_t *conf, const stream_ops_t *ops,
                      void *mux, uint16_t id)
{
    ck_assert_ptr_eq (self, &s_fake.tunnel);
    ck_assert_ptr_eq (conf, &s_wormhole.inner);
    if (s_fake.spawn_fails)
        return NULL;
    ck_assert_uint_lt (s_fake.spawned_count, STREAMS_MAX);
    session_t *stream = &s_fake.spawned[s_fake.spawned_count++];
    snprintf (stream->name, sizeof stream->name, "stream %u", id);
    stream->ops = ops;
    stream->mux = mux;
    stream->id = id;
    stream->eof = -1;
    return stream;
}

void
session_attach_stream (session_t *self, session_side_t side, const stream_ops_t *ops, void *mux,
                       uint16_t id)
{
    ck_assert_int_eq (side, SESSION_TARGET);
    self->ops = ops;
    self->mux = mux;
    self->id = id;
    self->attached = true;
}

void
session_stream_data (session_t *self, const uint8_t *data, size_t len)
{
    size_t have = strlen (self->first);
    if (have < sizeof self->first - 1) {
        size_t n = len < sizeof self->first - 1 - have ? len : sizeof self->first - 1 - have;
        memcpy (self->first + have, data, n);
        self->first[have + n] = 0;
    }
    self->received += len;
}

void
session_stream_eof (session_t *self, int err)
{
    ck_assert_int_eq (self->eof, -1);
    self->eof = err;
}

void
session_stream_fin (session_t *self)
{
    self->fins++;
}

size_t
session_stream_held (session_t *self)
{
    return self->held;
}

void
shaping_suspend (session_t *session, session_side_t side, int ms)
{
    ck_assert_ptr_eq (session, &s_fake.tunnel);
    ck_assert_int_eq (side, s_fake.side);
    ck_assert_int_eq (ms, 5000);
    s_fake.suspends++;
}

//  The dialer, as far as the multiplexer sees it: its state and id0.
int
dialer_start (dialer_t *self, session_t *session, const wormhole_t *wormhole)
{
    ck_assert_ptr_eq (session, &s_fake.tunnel);
    memset (self, 0, sizeof *self);
    self->session = session;
    self->wormhole = wormhole;
    self->state = DIALER_CONNECTING;
    s_fake.dials++;
    return s_fake.dial_rc;
}

dialer_state_t
dialer_connected (dialer_t *self, int err)
{
    if (err)
        return self->state = DIALER_FAILED;
    return self->state = s_conf.has_local_proxy ? DIALER_PROXY_REPLY : DIALER_READY;
}

dialer_state_t
dialer_target_data (dialer_t *self, const uint8_t *data, size_t len)
{
    if (self->state != DIALER_PROXY_REPLY)
        return self->state = DIALER_FAILED;
    if (!memmem (data, len, "\r\n\r\n", 4))
        return self->state;         //  more to come (the test sends each answer whole)
    if (len >= 12 && memcmp (data, "HTTP/1.1 200", 12) == 0)
        return self->state = DIALER_READY;
    return self->state = DIALER_FAILED;
}

const char *
dialer_describe (dialer_t *self, char *buf, size_t len)
{
    (void) self;
    snprintf (buf, len, "the remote end");
    return buf;
}

baton_t *
baton_new (session_t *session, session_side_t side, const wormhole_t *wormhole, bool dialing,
           const uint8_t id0[16], const baton_owner_t *owner)
{
    ck_assert_ptr_eq (session, &s_fake.tunnel);
    ck_assert_int_eq (side, s_fake.side);
    ck_assert_ptr_eq (wormhole, &s_wormhole);
    ck_assert (dialing);
    (void) id0;
    s_fake.batons++;
    s_fake.owner = *owner;
    return &s_fake.baton;
}

void
baton_destroy (baton_t **self_p)
{
    if (*self_p) {
        ck_assert_ptr_eq (*self_p, &s_fake.baton);
        s_fake.batons_destroyed++;
    }
    *self_p = NULL;
}

void
baton_event (baton_t *self, const handover_event_t *event)
{
    (void) event;
    if (self)
        s_fake.baton_events++;
}

void
baton_user_arrived (baton_t *self)
{
    if (self)
        s_fake.arrivals++;
}

void
baton_heard (baton_t *self)
{
    if (self)
        s_fake.heard++;
}

//  --------------------------------------------------------------------------
//  What went to the tunnel, as a line of frames

static char s_line[4096];

static void
s_note (const char *format, ...)
{
    char frame[64];
    va_list args;
    va_start (args, format);
    vsnprintf (frame, sizeof frame, format, args);
    va_end (args);
    size_t len = strlen (s_line);
    snprintf (s_line + len, sizeof s_line - len, "%s%s", len ? " " : "", frame);
}

//  A frame's payload may come in pieces, and a long one in several frames:
//  consecutive data of one stream add up to one "data(id,bytes)".
static uint16_t s_data_id;
static size_t s_data_len;

static void
s_flush_data (void)
{
    if (s_data_len)
        s_note ("data(%u,%zu)", s_data_id, s_data_len);
    s_data_len = 0;
}

static int
s_on_new (void *ctx, uint16_t id)
{
    (void) ctx;
    s_flush_data ();
    s_note ("new(%u)", id);
    return MUX_CONTINUE;
}

static int
s_on_close (void *ctx, uint16_t id)
{
    (void) ctx;
    s_flush_data ();
    s_note ("close(%u)", id);
    return MUX_CONTINUE;
}

static int
s_on_data (void *ctx, uint16_t id, const uint8_t *data, size_t len)
{
    (void) ctx;
    (void) data;
    if (s_data_len && id != s_data_id)
        s_flush_data ();
    s_data_id = id;
    s_data_len += len;
    return MUX_CONTINUE;
}

static int
s_on_nop (void *ctx, uint16_t reserved, const uint8_t *data, size_t len)
{
    (void) ctx;
    s_flush_data ();
    if (reserved != 0x6d78)
        s_note ("pad(%zu)", len);
    else if (len == 2 && data[0] == 1)
        s_note ("hello(%u)", data[1]);
    else if (len == 7 && data[0] == 2)
        s_note ("credit(%u,%u)", data[1] << 8 | data[2],
                (unsigned) data[3] << 24 | (unsigned) data[4] << 16 | (unsigned) data[5] << 8 | data[6]);
    else if (len == 3 && data[0] == 3)
        s_note ("fin(%u)", data[1] << 8 | data[2]);
    else
        s_note ("ext(%zu)", len);
    return MUX_CONTINUE;
}

//  The frames sent since the last look, as a line (and forgets them).
static const char *
s_frames (void)
{
    static const mux_callbacks_t callbacks = { s_on_new, s_on_close, s_on_data, s_on_nop };
    s_line[0] = 0;
    s_data_len = 0;
    mux_decoder_t *decoder = mux_decoder_new ();
    ck_assert_int_eq (mux_decoder_feed (decoder, s_fake.sent, s_fake.sent_len, &callbacks, NULL),
                      (ssize_t) s_fake.sent_len);
    s_flush_data ();
    ck_assert (mux_decoder_idle (decoder));
    mux_decoder_destroy (&decoder);
    s_fake.sent_len = 0;
    return s_line;
}

static char s_traced[sizeof s_fake.traces];
static const char *
s_traces (void)
{
    memcpy (s_traced, s_fake.traces, sizeof s_traced);
    s_fake.traces[0] = 0;
    return s_traced;
}

//  --------------------------------------------------------------------------
//  Driving the handler

static void
s_setup (void)
{
    log_set_level (LOG_LEVEL_ERROR);
    memset (&s_fake, 0, sizeof s_fake);
    s_fake.sent = s_sent_bytes;
    snprintf (s_fake.tunnel.name, sizeof s_fake.tunnel.name, "tunnel");
    for (size_t i = 0; i < STREAMS_MAX; i++) {
        snprintf (s_fake.users[i].name, sizeof s_fake.users[i].name, "user %zu", i);
        s_fake.users[i].eof = -1;
    }
    memset (&s_conf, 0, sizeof s_conf);
    snprintf (s_conf.name, sizeof s_conf.name, "w");
    memset (&s_wormhole, 0, sizeof s_wormhole);
    s_wormhole.conf = &s_conf;
    s_mux = NULL;
}

static void
s_teardown (void)
{
    if (s_mux)
        tunnel_mux_handler_class.destroy (&s_mux);
}

static void *
s_create (bool dialing)
{
    s_fake.side = dialing ? SESSION_TARGET : SESSION_CLIENT;
    handler_conf_t conf = { .cls = &tunnel_mux_handler_class, .wormhole = &s_wormhole,
                            .flags = dialing ? TUNNEL_MUX_DIAL : 0 };
    void *mux = tunnel_mux_handler_class.create (&s_fake.tunnel, &conf);
    ck_assert_ptr_nonnull (mux);
    return mux;
}

//  Bytes from the peer on the tunnel.
static void
s_peer (const void *data, size_t len)
{
    if (s_fake.side == SESSION_TARGET)
        tunnel_mux_handler_class.target_data (s_mux, data, len);
    else
        tunnel_mux_handler_class.client_data (s_mux, data, len);
}

static void
s_peer_new (uint16_t id)
{
    uint8_t frame[MUX_CONTROL_SIZE];
    s_peer (frame, mux_put_new_socket (frame, id));
}

static void
s_peer_close (uint16_t id)
{
    uint8_t frame[MUX_CONTROL_SIZE];
    s_peer (frame, mux_put_close_socket (frame, id));
}

static void
s_peer_data (uint16_t id, const char *text)
{
    mux_out_t *out = mux_out_new ();
    mux_encode_data (out, id, (const uint8_t *) text, strlen (text));
    s_peer (mux_out_data (out), mux_out_size (out));
    mux_out_destroy (&out);
}

static void
s_peer_ext (const uint8_t *payload, size_t len)
{
    uint8_t frame[4 + 16] = { 0, 0x6d, 0x78, (uint8_t) len };
    memcpy (frame + 4, payload, len);
    s_peer (frame, 4 + len);
}

static void
s_peer_hello (void)
{
    uint8_t hello[2] = { 1, 1 };
    s_peer_ext (hello, sizeof hello);
}

static void
s_peer_credit (uint16_t id, uint32_t bytes)
{
    uint8_t credit[7] = { 2, (uint8_t) (id >> 8), (uint8_t) id, (uint8_t) (bytes >> 24),
                          (uint8_t) (bytes >> 16), (uint8_t) (bytes >> 8), (uint8_t) bytes };
    s_peer_ext (credit, sizeof credit);
}

static void
s_peer_fin (uint16_t id)
{
    uint8_t fin[3] = { 3, (uint8_t) (id >> 8), (uint8_t) id };
    s_peer_ext (fin, sizeof fin);
}

//  A user's session becomes a stream of the wormhole's tunnel.
static session_t *
s_attach (size_t user)
{
    session_t *session = &s_fake.users[user];
    ck_assert_int_eq (tunnel_mux_attach (&s_wormhole, session), 0);
    ck_assert (session->attached);
    ck_assert_ptr_eq (session->mux, s_mux);
    return session;
}

//  The stream ops, as a stream's session calls them.
static void
s_stream_send (session_t *stream, size_t len)
{
    static uint8_t bytes[1 << 20];
    while (len > 0) {
        size_t n = len < sizeof bytes ? len : sizeof bytes;
        stream->ops->send (stream->mux, stream->id, bytes, n);
        len -= n;
    }
}

//  A dialing end with its tunnel up (no proxy): hello sent, baton started.
static void
s_dialing_up (void)
{
    s_mux = s_create (true);
    tunnel_mux_handler_class.connected (s_mux, 0, NULL);
    ck_assert_int_eq (s_fake.batons, 1);
    ck_assert_str_eq (s_frames (), "hello(1)");
    s_traces ();
}

//  --------------------------------------------------------------------------
//  Dialing end: dial, backoff, redial

START_TEST (test_dial_and_up)
{
    s_mux = s_create (true);
    ck_assert_int_eq (s_fake.dials, 1);
    //  The extension's hello goes right behind the tunnel's hello.
    ck_assert_str_eq (s_frames (), "hello(1)");
    ck_assert_int_eq (s_fake.batons, 0);
    tunnel_mux_handler_class.connected (s_mux, 0, NULL);
    ck_assert_int_eq (s_fake.batons, 1);
    ck_assert_ptr_eq (s_fake.owner.ctx, s_mux);
    ck_assert_str_eq (s_traces (), "dialer>tunnel:tunnel-up");
    ck_assert_str_eq (s_frames (), "");
    //  Handover events go to the baton; bytes from the peer tell it we hear.
    handover_event_t event = { .kind = HANDOVER_TIMER, .fd = -1 };
    tunnel_mux_handler_class.handover (s_mux, &event);
    ck_assert_int_eq (s_fake.baton_events, 1);
    s_peer_hello ();
    ck_assert_int_eq (s_fake.heard, 1);
}
END_TEST

START_TEST (test_backoff_doubles_and_redials)
{
    s_mux = s_create (true);
    int expected[] = { 500, 1000, 2000, 4000, 8000, 16000, 30000, 30000 };
    for (size_t i = 0; i < sizeof expected / sizeof expected[0]; i++) {
        s_frames ();
        tunnel_mux_handler_class.connected (s_mux, ECONNREFUSED, NULL);
        ck_assert_int_eq (s_fake.target_closed, (int) i + 1);
        ck_assert_int_eq (s_fake.timer, expected[i]);
        ck_assert_str_eq (s_traces (), "tunnel>dialer:tunnel-down");
        ck_assert_int_eq (s_fake.dials, (int) i + 1);
        //  The timer: dial again.
        tunnel_mux_handler_class.timeout (s_mux);
        ck_assert_int_eq (s_fake.dials, (int) i + 2);
        ck_assert_str_eq (s_frames (), "hello(1)");
    }
    //  Once the peer answers, the backoff starts afresh.
    tunnel_mux_handler_class.connected (s_mux, 0, NULL);
    s_peer_hello ();
    tunnel_mux_handler_class.target_eof (s_mux, ECONNRESET);
    ck_assert_int_eq (s_fake.timer, 500);
    ck_assert_int_eq (s_fake.batons_destroyed, 1);
    //  A timeout while the tunnel is up (no proxy waits) does nothing.
    tunnel_mux_handler_class.timeout (s_mux);
    tunnel_mux_handler_class.connected (s_mux, 0, NULL);
    int timers = s_fake.timers, dials = s_fake.dials;
    tunnel_mux_handler_class.timeout (s_mux);
    ck_assert_int_eq (s_fake.timers, timers);
    ck_assert_int_eq (s_fake.dials, dials);
}
END_TEST

START_TEST (test_backoff_user_arrival_redials)
{
    s_mux = s_create (true);
    tunnel_mux_handler_class.connected (s_mux, ETIMEDOUT, NULL);
    ck_assert_int_eq (s_fake.timer, 500);
    s_frames ();
    //  A user who finds no tunnel starts the dial, and is a stream of it at once.
    session_t *user = s_attach (0);
    ck_assert_int_eq (s_fake.timer, 0);
    ck_assert_int_eq (s_fake.dials, 2);
    ck_assert_str_eq (s_frames (), "hello(1) new(1)");
    ck_assert_int_eq (s_fake.suspends, 1);
    //  The baton does not exist yet: it hears of users once the tunnel is up.
    ck_assert_int_eq (s_fake.arrivals, 0);
    tunnel_mux_handler_class.connected (s_mux, 0, NULL);
    s_attach (1);
    ck_assert_int_eq (s_fake.arrivals, 1);
    ck_assert_int_eq (s_fake.dials, 2);
    ck_assert_str_eq (s_frames (), "new(2)");
    (void) user;
}
END_TEST

START_TEST (test_no_crypto_backs_off_long)
{
    s_fake.dial_rc = -1;
    s_mux = s_create (true);
    ck_assert_int_eq (s_fake.timer, 30000);
    ck_assert_str_eq (s_frames (), "");
    //  A user arriving in BACKOFF dials (fails again), and is attached anyway.
    s_attach (0);
    ck_assert_int_eq (s_fake.dials, 2);
    ck_assert_int_eq (s_fake.timer, 30000);
    //  The timer tries again.
    s_fake.dial_rc = 0;
    tunnel_mux_handler_class.timeout (s_mux);
    ck_assert_int_eq (s_fake.dials, 3);
    tunnel_mux_handler_class.connected (s_mux, 0, NULL);
    ck_assert_int_eq (s_fake.batons, 1);
}
END_TEST

START_TEST (test_proxy_silent_or_refusing)
{
    s_conf.has_local_proxy = true;
    s_mux = s_create (true);
    tunnel_mux_handler_class.connected (s_mux, 0, NULL);      //  now the proxy's answer
    //  The dialer's wait for the proxy ends: the tunnel is lost.
    tunnel_mux_handler_class.timeout (s_mux);
    ck_assert_int_eq (s_fake.target_closed, 1);
    ck_assert_int_eq (s_fake.timer, 500);
    //  The backoff timer, though the dialer still waited for the proxy: a dial.
    tunnel_mux_handler_class.timeout (s_mux);
    ck_assert_int_eq (s_fake.dials, 2);
    tunnel_mux_handler_class.connected (s_mux, 0, NULL);
    tunnel_mux_handler_class.target_data (s_mux, (const uint8_t *) "HTTP/1.1 403 No\r\n\r\n", 19);
    ck_assert_int_eq (s_fake.target_closed, 2);
    ck_assert_int_eq (s_fake.timer, 1000);
    ck_assert_int_eq (s_fake.batons, 0);
}
END_TEST

//  --------------------------------------------------------------------------
//  Frames before the tunnel is up

START_TEST (test_frames_held_behind_proxy)
{
    s_conf.has_local_proxy = true;
    s_mux = s_create (true);
    ck_assert_str_eq (s_frames (), "");         //  not even the extension's hello
    session_t *user = s_attach (0);
    s_stream_send (user, 300);
    ck_assert_str_eq (s_frames (), "");
    //  No tunnel yet: the stream's reader waits.
    ck_assert_uint_ge (user->ops->queued (user->mux, user->id), SIZE_MAX / 2);
    tunnel_mux_handler_class.connected (s_mux, 0, NULL);
    s_attach (1);
    tunnel_mux_handler_class.target_data (s_mux, (const uint8_t *) "HTTP/1.1 200 OK\r\n", 17);
    ck_assert_str_eq (s_frames (), "");
    int settles = user->settles;
    tunnel_mux_handler_class.target_data (s_mux, (const uint8_t *) "HTTP/1.1 200 OK\r\n\r\n", 19);
    //  The 200: the hello, then what was held, in order; the streams may read.
    ck_assert_str_eq (s_frames (), "hello(1) new(1) data(1,300) new(2)");
    ck_assert_int_gt (user->settles, settles);
    ck_assert_int_eq (s_fake.batons, 1);
    s_fake.queued = 123;
    ck_assert_uint_eq (user->ops->queued (user->mux, user->id), 123);
    s_stream_send (user, 10);
    ck_assert_str_eq (s_frames (), "data(1,10)");
}
END_TEST

START_TEST (test_frames_behind_hello_without_proxy)
{
    s_mux = s_create (true);
    session_t *user = s_attach (0);
    s_stream_send (user, 70000);
    //  Straight to the tunnel session, queued behind the hello; a payload
    //  over 65535 bytes is two frames.
    ck_assert_str_eq (s_frames (), "hello(1) new(1) data(1,70000)");
    s_fake.queued = 7;
    ck_assert_uint_eq (user->ops->queued (user->mux, user->id), 7);
    //  A proxy that fails loses the held frames: nothing of them after a redial.
    tunnel_mux_handler_class.target_eof (s_mux, 0);
    ck_assert_int_eq (user->eof, ECONNRESET);
    s_stream_send (user, 10);
    ck_assert_str_eq (s_frames (), "");
}
END_TEST

START_TEST (test_held_frames_dropped_with_the_tunnel)
{
    s_conf.has_local_proxy = true;
    s_mux = s_create (true);
    s_attach (0);
    tunnel_mux_handler_class.connected (s_mux, 0, NULL);
    tunnel_mux_handler_class.target_eof (s_mux, 0);
    tunnel_mux_handler_class.timeout (s_mux);
    tunnel_mux_handler_class.connected (s_mux, 0, NULL);
    tunnel_mux_handler_class.target_data (s_mux, (const uint8_t *) "HTTP/1.1 200 OK\r\n\r\n", 19);
    ck_assert_str_eq (s_frames (), "hello(1)");
}
END_TEST

//  --------------------------------------------------------------------------
//  Frames in: NEW, CLOSE, DATA to the streams

START_TEST (test_frames_to_streams)
{
    s_mux = s_create (false);
    ck_assert_str_eq (s_frames (), "hello(1)");
    ck_assert_str_eq (s_traces (), "acceptor>tunnel:tunnel-up");
    s_peer_new (5);
    ck_assert_uint_eq (s_fake.spawned_count, 1);
    session_t *stream = &s_fake.spawned[0];
    ck_assert_uint_eq (stream->id, 5);
    ck_assert_ptr_eq (stream->mux, s_mux);
    ck_assert_int_eq (s_fake.suspends, 1);
    s_peer_data (5, "hello");
    ck_assert_str_eq (stream->first, "hello");
    s_peer_data (6, "nobody");                  //  no such stream: dropped
    ck_assert_uint_eq (stream->received, 5);
    s_peer_close (5);
    ck_assert_int_eq (stream->eof, 0);
    s_peer_data (5, "late");
    ck_assert_uint_eq (stream->received, 5);
    ck_assert_str_eq (s_traces (), "tunnel>stream 5:new tunnel>stream 5:close");
    //  A NEW for an id in use: the old stream is reset, a new one starts.
    s_peer_new (7);
    s_peer_new (7);
    ck_assert_int_eq (s_fake.spawned[1].eof, ECONNRESET);
    ck_assert_int_eq (s_fake.spawned[2].eof, -1);
    //  A stream that cannot start is closed at once.
    s_fake.spawn_fails = true;
    s_frames ();
    s_peer_new (9);
    ck_assert_str_eq (s_frames (), "close(9)");
    //  Our side of a stream ends: CLOSE to the peer (not if the peer closed it).
    stream = &s_fake.spawned[2];
    stream->ops->send (stream->mux, stream->id, (const uint8_t *) "abc", 3);
    stream->ops->detach (stream->mux, stream->id, true);
    ck_assert_str_eq (s_frames (), "data(7,3) close(7)");
    stream->ops->detach (stream->mux, stream->id, true);
    ck_assert_str_eq (s_frames (), "");
    s_peer_data (7, "gone");
    ck_assert_uint_eq (stream->received, 0);
}
END_TEST

START_TEST (test_muxing_end_ids)
{
    s_mux = s_create (true);
    tunnel_mux_handler_class.connected (s_mux, 0, NULL);
    s_frames ();
    session_t *a = s_attach (0);
    session_t *b = s_attach (1);
    ck_assert_uint_eq (a->id, 1);
    ck_assert_uint_eq (b->id, 2);
    //  The peer may not open streams at this end.
    s_peer_new (3);
    ck_assert_uint_eq (s_fake.spawned_count, 0);
    //  The peer closes one: its id is free again.
    s_peer_close (1);
    ck_assert_int_eq (a->eof, 0);
    session_t *c = s_attach (2);
    ck_assert_uint_eq (c->id, 3);
    b->ops->detach (b->mux, b->id, false);  //  the peer closed it first: no CLOSE
    session_t *d = s_attach (3);
    ck_assert_uint_eq (d->id, 4);
    ck_assert_str_eq (s_frames (), "new(1) new(2) new(3) new(4)");
    s_peer_data (4, "to d");
    ck_assert_str_eq (d->first, "to d");
}
END_TEST

//  --------------------------------------------------------------------------
//  The credit extension

START_TEST (test_window_stops_credit_resumes)
{
    s_dialing_up ();
    session_t *user = s_attach (0);
    s_frames ();
    //  Without the peer's hello there is no window.
    s_stream_send (user, STREAM_WINDOW);
    ck_assert_uint_eq (user->ops->queued (user->mux, user->id), 0);
    s_frames ();
    s_peer_hello ();
    s_stream_send (user, STREAM_WINDOW - 1);
    ck_assert_uint_eq (user->ops->queued (user->mux, user->id), 0);
    s_stream_send (user, 1);
    //  The window is full: the stream's reader stops.
    ck_assert_uint_ge (user->ops->queued (user->mux, user->id), SIZE_MAX / 2);
    int settles = user->settles;
    s_peer_credit (user->id, 1000);
    //  Credit back: it may read again, and is told so.
    ck_assert_uint_eq (user->ops->queued (user->mux, user->id), 0);
    ck_assert_int_eq (user->settles, settles + 1);
    s_peer_credit (user->id, 500);
    ck_assert_int_eq (user->settles, settles + 1);    //  it was not full
    //  More credit than was sent clears the count, no more.
    s_peer_credit (user->id, 0xffffffffu);
    s_stream_send (user, STREAM_WINDOW - 1);
    ck_assert_uint_eq (user->ops->queued (user->mux, user->id), 0);
    //  A credit for a stream nobody has is harmless.
    s_peer_credit (999, 1);
}
END_TEST

START_TEST (test_credit_given_back)
{
    s_mux = s_create (false);
    s_peer_hello ();
    s_peer_new (5);
    session_t *stream = &s_fake.spawned[0];
    s_frames ();
    stream->ops->consumed (stream->mux, stream->id, CREDIT_STEP - 1);
    ck_assert_str_eq (s_frames (), "");
    stream->ops->consumed (stream->mux, stream->id, 10);
    ck_assert_str_eq (s_frames (), "credit(5,262153)");
    stream->ops->consumed (stream->mux, stream->id, CREDIT_STEP);
    ck_assert_str_eq (s_frames (), "credit(5,262144)");
}
END_TEST

START_TEST (test_no_extension_holds_the_tunnel)
{
    s_mux = s_create (false);
    s_peer_new (5);
    s_peer_new (6);
    session_t *stream = &s_fake.spawned[0];
    //  An original peer gets no credit.
    s_frames ();
    stream->ops->consumed (stream->mux, stream->id, CREDIT_STEP * 2);
    ck_assert_str_eq (s_frames (), "");
    //  A stream that holds too much stops the whole tunnel...
    stream->held = HOLD_LIMIT + 1;
    s_peer_data (5, "x");
    ck_assert_int_eq (s_fake.paused, 1);
    //  ... until it has caught up to half of it.
    stream->held = HOLD_LIMIT / 2 + 1;
    stream->ops->consumed (stream->mux, stream->id, 1);
    ck_assert_int_eq (s_fake.paused, 1);
    s_fake.spawned[1].ops->consumed (s_fake.spawned[1].mux, 6, 1);   //  another stream: no
    ck_assert_int_eq (s_fake.paused, 1);
    stream->held = HOLD_LIMIT / 2;
    int settles = s_fake.tunnel.settles;
    stream->ops->consumed (stream->mux, stream->id, 1);
    ck_assert_int_eq (s_fake.paused, 0);
    ck_assert_int_gt (s_fake.tunnel.settles, settles);
    //  Or until it is gone.
    stream->held = HOLD_LIMIT + 1;
    s_peer_data (5, "x");
    ck_assert_int_eq (s_fake.paused, 1);
    stream->ops->detach (stream->mux, stream->id, true);
    ck_assert_int_eq (s_fake.paused, 0);
}
END_TEST

//  --------------------------------------------------------------------------
//  Half-close

START_TEST (test_fin_half_close)
{
    s_dialing_up ();
    session_t *user = s_attach (0);
    s_frames ();
    //  An original peer knows only CLOSE_SOCKET.
    ck_assert (!user->ops->half_close (user->mux, user->id));
    ck_assert_str_eq (s_frames (), "");
    s_peer_hello ();
    ck_assert (user->ops->half_close (user->mux, user->id));
    ck_assert_str_eq (s_frames (), "fin(1)");
    //  The peer half-closes: the stream hears of it (no more bytes come) and
    //  may still send.
    s_peer_fin (user->id);
    ck_assert_int_eq (user->fins, 1);
    ck_assert_int_eq (user->eof, -1);
    s_stream_send (user, 5);
    ck_assert_str_eq (s_frames (), "data(1,5)");
    s_peer_fin (77);                        //  nobody's: ignored
}
END_TEST

//  --------------------------------------------------------------------------
//  The tunnel lost

START_TEST (test_corrupt_frame_drops_the_tunnel)
{
    s_dialing_up ();
    session_t *a = s_attach (0);
    session_t *b = s_attach (1);
    s_traces ();
    uint8_t bad[4] = { 9, 0, 0, 0 };
    s_peer (bad, sizeof bad);
    ck_assert_int_eq (a->eof, ECONNRESET);
    ck_assert_int_eq (b->eof, ECONNRESET);
    ck_assert_int_eq (s_fake.target_closed, 1);
    ck_assert_int_eq (s_fake.timer, 500);
    ck_assert_int_eq (s_fake.batons_destroyed, 1);
    ck_assert_str_eq (s_traces (), "tunnel>dialer:tunnel-down");
    //  A fresh decoder for the next tunnel.
    tunnel_mux_handler_class.timeout (s_mux);
    tunnel_mux_handler_class.connected (s_mux, 0, NULL);
    session_t *c = s_attach (2);
    s_peer_data (c->id, "ok");
    ck_assert_str_eq (c->first, "ok");
}
END_TEST

START_TEST (test_lost_resets_streams)
{
    s_dialing_up ();
    session_t *a = s_attach (0);
    session_t *b = s_attach (1);
    s_peer_hello ();
    s_stream_send (a, STREAM_WINDOW);
    ck_assert_uint_ge (a->ops->queued (a->mux, a->id), SIZE_MAX / 2);
    s_frames ();
    tunnel_mux_handler_class.target_eof (s_mux, ECONNRESET);
    ck_assert_int_eq (a->eof, ECONNRESET);
    ck_assert_int_eq (b->eof, ECONNRESET);
    //  A late detach of a reset stream sends nothing.
    a->ops->detach (a->mux, a->id, true);
    ck_assert_str_eq (s_frames (), "");
    //  What was learnt of the peer goes too: no window, no FIN for the next tunnel.
    tunnel_mux_handler_class.timeout (s_mux);
    tunnel_mux_handler_class.connected (s_mux, 0, NULL);
    session_t *c = s_attach (2);
    ck_assert_uint_eq (c->id, 1);           //  ids start afresh
    ck_assert (!c->ops->half_close (c->mux, c->id));
    s_stream_send (c, STREAM_WINDOW);
    ck_assert_uint_eq (c->ops->queued (c->mux, c->id), 0);
    //  A baton that breaks drops the tunnel the same way.
    ck_assert_int_eq (s_fake.batons, 2);
    s_fake.owner.broken (s_fake.owner.ctx);
    ck_assert_int_eq (c->eof, ECONNRESET);
    ck_assert_int_eq (s_fake.batons_destroyed, 2);
    ck_assert_int_eq (s_fake.target_closed, 2);
}
END_TEST

START_TEST (test_accepting_end_dead)
{
    s_mux = s_create (false);
    s_peer_hello ();
    s_peer_new (5);
    session_t *stream = &s_fake.spawned[0];
    s_traces ();
    tunnel_mux_handler_class.client_eof (s_mux);
    ck_assert (s_fake.tunnel.aborted);
    ck_assert_int_eq (stream->eof, ECONNRESET);
    ck_assert_int_eq (s_fake.target_closed, 0);
    ck_assert_int_eq (s_fake.timers, 0);        //  no redial here
    ck_assert_str_eq (s_traces (), "tunnel>acceptor:tunnel-down");
    //  DEAD: nothing more is read, the timer does nothing.
    s_frames ();
    s_peer_new (3);
    s_peer_data (5, "late");
    ck_assert_uint_eq (s_fake.spawned_count, 1);
    ck_assert_uint_eq (stream->received, 0);
    tunnel_mux_handler_class.timeout (s_mux);
    ck_assert_int_eq (s_fake.timers, 0);
    ck_assert_str_eq (s_frames (), "");
    tunnel_mux_handler_class.destroy (&s_mux);
    //  The public end of a reverse wormhole: its users are refused once it is DEAD.
    s_conf.reverse = true;
    s_fake.tunnel.aborted = false;
    s_mux = s_create (false);
    session_t *a = s_attach (0);
    tunnel_mux_handler_class.target_eof (s_mux, 0);
    ck_assert (s_fake.tunnel.aborted);
    ck_assert_int_eq (a->eof, ECONNRESET);
    ck_assert_int_eq (tunnel_mux_attach (&s_wormhole, &s_fake.users[1]), -1);
    ck_assert (!s_fake.users[1].attached);
}
END_TEST

START_TEST (test_accepting_end_corrupt)
{
    s_mux = s_create (false);
    s_peer_new (5);
    uint8_t bad[1] = { 200 };
    s_peer (bad, sizeof bad);
    ck_assert (s_fake.tunnel.aborted);
    ck_assert_int_eq (s_fake.spawned[0].eof, ECONNRESET);
}
END_TEST

START_TEST (test_reverse_new_tunnel_replaces_old)
{
    s_conf.reverse = true;
    s_mux = s_create (false);
    session_t *a = s_attach (0);
    //  The intranet end came back: the old tunnel is stale.
    void *old = s_mux;
    s_mux = s_create (false);
    ck_assert (s_fake.tunnel.aborted);
    ck_assert_int_eq (a->eof, ECONNRESET);
    session_t *b = s_attach (1);
    ck_assert_ptr_eq (b->mux, s_mux);
    tunnel_mux_handler_class.destroy (&old);
    //  The old one leaves the registry alone.
    session_t *c = s_attach (2);
    ck_assert_ptr_eq (c->mux, s_mux);
}
END_TEST

START_TEST (test_no_tunnel_refuses)
{
    ck_assert_int_eq (tunnel_mux_attach (&s_wormhole, &s_fake.users[0]), -1);
    //  A tunnel that does not take users here (the accepting end, normal mode).
    s_mux = s_create (false);
    ck_assert_int_eq (tunnel_mux_attach (&s_wormhole, &s_fake.users[0]), -1);
    tunnel_mux_handler_class.destroy (&s_mux);
    //  Destroyed: no longer found.
    s_mux = s_create (true);
    tunnel_mux_handler_class.destroy (&s_mux);
    ck_assert_int_eq (tunnel_mux_attach (&s_wormhole, &s_fake.users[0]), -1);
}
END_TEST

//  --------------------------------------------------------------------------
//  Draining and padding

START_TEST (test_drained_and_padding)
{
    s_conf.mimic_padding = true;
    s_mux = s_create (true);
    ck_assert_ptr_nonnull (s_fake.pad);
    session_t *a = s_attach (0);
    s_frames ();
    //  Not while dialing.
    s_fake.pad (s_fake.pad_ctx, 100);
    ck_assert_str_eq (s_frames (), "");
    tunnel_mux_handler_class.connected (s_mux, 0, NULL);
    s_fake.pad (s_fake.pad_ctx, 300);
    ck_assert_str_eq (s_frames (), "pad(255) pad(37)");
    s_fake.pad (s_fake.pad_ctx, 3);                 //  too little for a frame
    ck_assert_str_eq (s_frames (), "");
    int settles = a->settles;
    tunnel_mux_handler_class.drained (s_mux);
    ck_assert_int_eq (a->settles, settles + 1);
}
END_TEST

int
main (void)
{
    Suite *suite = suite_create ("tunnel_mux");
    TCase *dialing = tcase_create ("dialing");
    tcase_add_checked_fixture (dialing, s_setup, s_teardown);
    tcase_add_test (dialing, test_dial_and_up);
    tcase_add_test (dialing, test_backoff_doubles_and_redials);
    tcase_add_test (dialing, test_backoff_user_arrival_redials);
    tcase_add_test (dialing, test_no_crypto_backs_off_long);
    tcase_add_test (dialing, test_proxy_silent_or_refusing);
    suite_add_tcase (suite, dialing);
    TCase *held = tcase_create ("held");
    tcase_add_checked_fixture (held, s_setup, s_teardown);
    tcase_add_test (held, test_frames_held_behind_proxy);
    tcase_add_test (held, test_frames_behind_hello_without_proxy);
    tcase_add_test (held, test_held_frames_dropped_with_the_tunnel);
    suite_add_tcase (suite, held);
    TCase *frames = tcase_create ("frames");
    tcase_add_checked_fixture (frames, s_setup, s_teardown);
    tcase_add_test (frames, test_frames_to_streams);
    tcase_add_test (frames, test_muxing_end_ids);
    tcase_add_test (frames, test_window_stops_credit_resumes);
    tcase_add_test (frames, test_credit_given_back);
    tcase_add_test (frames, test_no_extension_holds_the_tunnel);
    tcase_add_test (frames, test_fin_half_close);
    suite_add_tcase (suite, frames);
    TCase *lost = tcase_create ("lost");
    tcase_add_checked_fixture (lost, s_setup, s_teardown);
    tcase_add_test (lost, test_corrupt_frame_drops_the_tunnel);
    tcase_add_test (lost, test_lost_resets_streams);
    tcase_add_test (lost, test_accepting_end_dead);
    tcase_add_test (lost, test_accepting_end_corrupt);
    tcase_add_test (lost, test_reverse_new_tunnel_replaces_old);
    tcase_add_test (lost, test_no_tunnel_refuses);
    tcase_add_test (lost, test_drained_and_padding);
    suite_add_tcase (suite, lost);
    return check_run (suite);
}
