/*  fake_mux_session — the fake sessions the aggregated tunnel's tests
    (test_tunnel_mux_*) run actors/tunnel_mux.h against. The fake
    implements every session / stream / shaping / dialer / baton call the
    multiplexer makes: the tunnel session records what goes out (decoded
    with the real mux decoder into a line of frames, fake_frames), its
    timer, pauses and end; stream sessions record what the multiplexer
    hands them; the dialer and the baton are stand-ins whose answers the
    test decides. The fake_* drivers drive the handler class as the session
    would, and the stream ops as the streams' sessions would.
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
#include "test/support/fake_mux_session.h"

fake_t fake;
static uint8_t s_sent_bytes[24 << 20];
wormhole_conf_t fake_conf;
wormhole_t fake_wormhole;
void *fake_mux;                 //  the handler under test

void
session_set_background (session_t *self)
{
    ck_assert_ptr_eq (self, &fake.tunnel);
}

void
session_set_padding (session_t *self, session_side_t side, session_pad_fn *pad, void *ctx)
{
    ck_assert_ptr_eq (self, &fake.tunnel);
    ck_assert_int_eq (side, fake.side);
    fake.pad = pad;
    fake.pad_ctx = ctx;
}

static void
s_sent (const void *data, size_t len)
{
    ck_assert_uint_le (fake.sent_len + len, sizeof s_sent_bytes);
    memcpy (fake.sent + fake.sent_len, data, len);
    fake.sent_len += len;
}

void
session_pad (session_t *self, session_side_t side, const void *data, size_t len)
{
    ck_assert_ptr_eq (self, &fake.tunnel);
    ck_assert_int_eq (side, fake.side);
    s_sent (data, len);
}

void
session_cork (session_t *self, session_side_t side)
{
    ck_assert_ptr_eq (self, &fake.tunnel);
    ck_assert_int_eq (side, fake.side);
    fake.corks++;
}

void
session_sendv (session_t *self, session_side_t side, const struct iovec *iov, int count)
{
    ck_assert_ptr_eq (self, &fake.tunnel);
    ck_assert_int_eq (side, fake.side);
    for (int i = 0; i < count; i++)
        s_sent (iov[i].iov_base, iov[i].iov_len);
}

//  The blocks the streams hand over are malloc'd by the tests (test_tunnel_mux_streams).
void
session_send_block (session_t *self, session_side_t side, buf_t *buf)
{
    ck_assert_ptr_eq (self, &fake.tunnel);
    ck_assert_int_eq (side, fake.side);
    s_sent (buf->data + buf->off, buf->len - buf->off);
    fake.blocks++;
    free (buf);
}

void
session_put_block (session_t *self, buf_t *buf)
{
    (void) self;
    free (buf);
}

void
session_settle (session_t *self)
{
    self->settles++;
}

void
session_count (session_t *self, metric_t what)
{
    (void) self;
    if (what == METRIC_PROBES)
        fake.probes++;
}

void
session_trace (session_t *self, const char *from, const char *to, const char *kind, size_t bytes)
{
    (void) self;
    (void) bytes;
    size_t len = strlen (fake.traces);
    snprintf (fake.traces + len, sizeof fake.traces - len, "%s%s>%s:%s", len ? " " : "", from,
              to, kind);
}

void
session_set_idle (session_t *self, int ms)
{
    (void) self, (void) ms;
}

void
session_pause (session_t *self, session_side_t side, int paused)
{
    ck_assert_ptr_eq (self, &fake.tunnel);
    ck_assert_int_eq (side, fake.side);
    fake.paused = paused;
}

bool
session_data_kept (session_t *self)
{
    ck_assert_ptr_eq (self, &fake.tunnel);
    return fake.data_kept;
}

size_t
session_queued (session_t *self, session_side_t side)
{
    ck_assert_ptr_eq (self, &fake.tunnel);
    ck_assert_int_eq (side, fake.side);
    return fake.queued;
}

void
session_set_timer (session_t *self, int ms)
{
    ck_assert_ptr_eq (self, &fake.tunnel);
    fake.timer = ms;
    fake.timers++;
}

void
session_close_target (session_t *self)
{
    ck_assert_ptr_eq (self, &fake.tunnel);
    fake.target_closed++;
}

void
session_abort (session_t *self)
{
    self->aborted = true;
}

void
session_guard_probe (session_t *self, uint64_t deadline_ms)
{
    ck_assert_ptr_eq (self, &fake.tunnel);
    fake.guard = deadline_ms;
}

uint64_t
session_guard_deadline (session_t *self)
{
    ck_assert_ptr_eq (self, &fake.tunnel);
    return fake.guard;
}

int
session_socket_heard_ms (session_t *self, session_side_t side)
{
    (void) self, (void) side;
    return fake.heard_ms;
}

uint64_t
timers_now_ms (void)
{
    return fake.now_ms;
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
    ck_assert_ptr_eq (self, &fake.tunnel);
    ck_assert_ptr_eq (conf, &fake_wormhole.inner);
    if (fake.spawn_fails)
        return NULL;
    ck_assert_uint_lt (fake.spawned_count, STREAMS_MAX);
    session_t *stream = &fake.spawned[fake.spawned_count++];
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
    self->deliveries++;
}

void
session_stream_pieces (session_t *self, const struct iovec *iov, int count)
{
    int before = self->deliveries;
    for (int i = 0; i < count; i++)
        session_stream_data (self, iov[i].iov_base, iov[i].iov_len);
    self->deliveries = before + 1;
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
    ck_assert_ptr_eq (session, &fake.tunnel);
    ck_assert_int_eq (side, fake.side);
    ck_assert_int_eq (ms, 5000);
    fake.suspends++;
}

//  The dialer, as far as the multiplexer sees it: its state and id0.
int
dialer_start (dialer_t *self, session_t *session, const wormhole_t *wormhole)
{
    ck_assert_ptr_eq (session, &fake.tunnel);
    memset (self, 0, sizeof *self);
    self->session = session;
    self->wormhole = wormhole;
    self->state = DIALER_CONNECTING;
    fake.dials++;
    return fake.dial_rc;
}

dialer_state_t
dialer_connected (dialer_t *self, int err)
{
    if (err)
        return self->state = DIALER_FAILED;
    return self->state = fake_conf.has_local_proxy ? DIALER_PROXY_REPLY : DIALER_READY;
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
    ck_assert_ptr_eq (session, &fake.tunnel);
    ck_assert_int_eq (side, fake.side);
    ck_assert_ptr_eq (wormhole, &fake_wormhole);
    ck_assert (dialing);
    (void) id0;
    fake.batons++;
    fake.owner = *owner;
    return &fake.baton;
}

void
baton_destroy (baton_t **self_p)
{
    if (*self_p) {
        ck_assert_ptr_eq (*self_p, &fake.baton);
        fake.batons_destroyed++;
    }
    *self_p = NULL;
}

void
baton_event (baton_t *self, const handover_event_t *event)
{
    (void) event;
    if (self)
        fake.baton_events++;
}

void
baton_user_arrived (baton_t *self)
{
    if (self)
        fake.arrivals++;
}

void
baton_heard (baton_t *self)
{
    if (self)
        fake.heard++;
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
const char *
fake_frames (void)
{
    static const mux_callbacks_t callbacks = { s_on_new, s_on_close, s_on_data, s_on_nop };
    s_line[0] = 0;
    s_data_len = 0;
    mux_decoder_t *decoder = mux_decoder_new ();
    ck_assert_int_eq (mux_decoder_feed (decoder, fake.sent, fake.sent_len, &callbacks, NULL),
                      (ssize_t) fake.sent_len);
    s_flush_data ();
    ck_assert (mux_decoder_idle (decoder));
    mux_decoder_destroy (&decoder);
    fake.sent_len = 0;
    return s_line;
}

static char s_traced[sizeof fake.traces];
const char *
fake_traces (void)
{
    memcpy (s_traced, fake.traces, sizeof s_traced);
    fake.traces[0] = 0;
    return s_traced;
}

//  --------------------------------------------------------------------------
//  Driving the handler

void
fake_setup (void)
{
    log_set_level (LOG_LEVEL_ERROR);
    memset (&fake, 0, sizeof fake);
    fake.sent = s_sent_bytes;
    snprintf (fake.tunnel.name, sizeof fake.tunnel.name, "tunnel");
    for (size_t i = 0; i < STREAMS_MAX; i++) {
        snprintf (fake.users[i].name, sizeof fake.users[i].name, "user %zu", i);
        fake.users[i].eof = -1;
    }
    memset (&fake_conf, 0, sizeof fake_conf);
    snprintf (fake_conf.name, sizeof fake_conf.name, "w");
    memset (&fake_wormhole, 0, sizeof fake_wormhole);
    fake_wormhole.conf = &fake_conf;
    fake_mux = NULL;
}

void
fake_teardown (void)
{
    if (fake_mux)
        tunnel_mux_handler_class.destroy (&fake_mux);
}

void *
fake_create (bool dialing)
{
    fake.side = dialing ? SESSION_TARGET : SESSION_CLIENT;
    handler_conf_t conf = { .cls = &tunnel_mux_handler_class, .wormhole = &fake_wormhole,
                            .flags = dialing ? TUNNEL_MUX_DIAL : 0 };
    void *mux = tunnel_mux_handler_class.create (&fake.tunnel, &conf);
    ck_assert_ptr_nonnull (mux);
    return mux;
}

//  Bytes from the peer on the tunnel.
void
fake_peer (const void *data, size_t len)
{
    if (fake.side == SESSION_TARGET)
        tunnel_mux_handler_class.target_data (fake_mux, data, len);
    else
        tunnel_mux_handler_class.client_data (fake_mux, data, len);
}

void
fake_peer_new (uint16_t id)
{
    uint8_t frame[MUX_CONTROL_SIZE];
    fake_peer (frame, mux_put_new_socket (frame, id));
}

void
fake_peer_close (uint16_t id)
{
    uint8_t frame[MUX_CONTROL_SIZE];
    fake_peer (frame, mux_put_close_socket (frame, id));
}

void
fake_peer_data (uint16_t id, const char *text)
{
    mux_out_t *out = mux_out_new ();
    mux_encode_data (out, id, (const uint8_t *) text, strlen (text));
    fake_peer (mux_out_data (out), mux_out_size (out));
    mux_out_destroy (&out);
}

static void
s_peer_ext (const uint8_t *payload, size_t len)
{
    uint8_t frame[4 + 16] = { 0, 0x6d, 0x78, (uint8_t) len };
    memcpy (frame + 4, payload, len);
    fake_peer (frame, 4 + len);
}

void
fake_peer_hello (void)
{
    uint8_t hello[2] = { 1, 1 };
    s_peer_ext (hello, sizeof hello);
}

void
fake_peer_credit (uint16_t id, uint32_t bytes)
{
    uint8_t credit[7] = { 2, (uint8_t) (id >> 8), (uint8_t) id, (uint8_t) (bytes >> 24),
                          (uint8_t) (bytes >> 16), (uint8_t) (bytes >> 8), (uint8_t) bytes };
    s_peer_ext (credit, sizeof credit);
}

void
fake_peer_fin (uint16_t id)
{
    uint8_t fin[3] = { 3, (uint8_t) (id >> 8), (uint8_t) id };
    s_peer_ext (fin, sizeof fin);
}

//  A user's session becomes a stream of the wormhole's tunnel.
session_t *
fake_attach (size_t user)
{
    session_t *session = &fake.users[user];
    ck_assert_int_eq (tunnel_mux_attach (&fake_wormhole, session), 0);
    ck_assert (session->attached);
    ck_assert_ptr_eq (session->mux, fake_mux);
    return session;
}

//  The stream ops, as a stream's session calls them.
void
fake_stream_send (session_t *stream, size_t len)
{
    static uint8_t bytes[1 << 20];
    while (len > 0) {
        size_t n = len < sizeof bytes ? len : sizeof bytes;
        stream->ops->send (stream->mux, stream->id, bytes, n);
        len -= n;
    }
}

//  A dialing end with its tunnel up (no proxy): hello sent, baton started.
void
fake_dialing_up (void)
{
    fake_mux = fake_create (true);
    tunnel_mux_handler_class.connected (fake_mux, 0, NULL);
    ck_assert_int_eq (fake.batons, 1);
    ck_assert_str_eq (fake_frames (), "hello(1)");
    fake_traces ();
}
