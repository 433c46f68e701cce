/*  tunnel_mux — an aggregated wormhole's tunnel carrying many streams.

    States:
      BACKOFF  (dialing end) the tunnel dropped; dial again when the timer
               fires or a user arrives
      DIALING  (dialing end) connecting, proxy, hello; streams may already
               queue their frames behind the hello
      UP       frames flow
      DEAD     (accepting end) the tunnel is gone; the session is ending
*/
#include "actors/tunnel_mux.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actors/baton.h"
#include "actors/dialer.h"
#include "actors/shaping.h"
#include "actors/tunnel_wire.h"
#include "nodes/mux.h"
#include "runtime/handover.h"
#include "runtime/stream.h"
#include "runtime/base/log.h"

//  Flow control per stream (an extension both C ends speak, invisible to an
//  original peer: docs/PROTOCOL-EXTENSIONS.md). A sender keeps at most
//  STREAM_WINDOW bytes of a stream unacknowledged; the receiver gives credit
//  back in steps as the stream's session takes the bytes.
#define STREAM_WINDOW (4u << 20)
#define CREDIT_STEP (256u << 10)
//  Without the extension a stream that holds this much stops the tunnel.
#define HOLD_LIMIT (512u << 10)
#define EXT_MAGIC 0x6d78            //  "mx" in a NOP frame's reserved field
#define EXT_HELLO 1                 //  [1, version]
#define EXT_CREDIT 2                //  [2, id:16, bytes:32]
#define EXT_FIN 3                   //  [3, id:16]: half-close

#define MIMIC_SUSPEND_MS 5000       //  no shaping for this long after a NEW_SOCKET
#define BACKOFF_MIN_MS 500
#define BACKOFF_MAX_MS 30000
#define REGISTRY_MAX 256

typedef enum { T_BACKOFF, T_DIALING, T_UP, T_DEAD } t_state_t;

typedef struct {
    session_t *session;
    const wormhole_t *wormhole;
    bool dialing;               //  we connect: the tunnel is the session's target side
    bool muxing;                //  users attach here: we allocate ids
    session_side_t side;
    t_state_t state;
    dialer_t dialer;
    mux_decoder_t *decoder;
    mux_ids_t *ids;
    session_t **streams;        //  by stream id
    uint32_t *unacked;          //  by stream id: sent, not yet credited by the peer
    uint32_t *unreported;       //  by stream id: taken here, credit not yet sent
    mux_out_t *held;            //  frames from streams while the proxy has not said 200
    bool peer_credits;          //  the peer speaks the credit extension
    int held_by;                //  stream that stopped the tunnel (no extension), or -1
    int backoff_ms;
    baton_t *baton;             //  dialing end: handovers of the tunnel while it is up
} tunnel_mux_t;

//  The muxing tunnels of this worker thread, by wormhole. Users and their
//  tunnel always meet in one worker (the acceptor sends both there).
typedef struct {
    const wormhole_t *wormhole;
    tunnel_mux_t *mux;
} registry_entry_t;

static __thread registry_entry_t s_registry[REGISTRY_MAX];
static __thread size_t s_registry_count;

static registry_entry_t *
s_registry_find (const wormhole_t *wormhole)
{
    for (size_t i = 0; i < s_registry_count; i++)
        if (s_registry[i].wormhole == wormhole)
            return &s_registry[i];
    return NULL;
}

static void
s_registry_remove (tunnel_mux_t *self)
{
    registry_entry_t *entry = s_registry_find (self->wormhole);
    if (entry && entry->mux == self)
        *entry = s_registry[--s_registry_count];
}

static const char *
s_name (tunnel_mux_t *self)
{
    return self->wormhole->conf->name;
}

//  --------------------------------------------------------------------------
//  Frames out

//  Behind a proxy, nothing of the tunnel may go out before the proxy's 200.
static bool
s_holding (tunnel_mux_t *self)
{
    return self->state == T_DIALING && self->dialer.state != DIALER_READY
           && self->wormhole->conf->has_local_proxy;
}

static void
s_send_frame (tunnel_mux_t *self, const uint8_t *head, size_t head_len, const uint8_t *data,
              size_t len)
{
    if (s_holding (self)) {
        mux_out_append (self->held, head, head_len);
        mux_out_append (self->held, data, len);
        return;
    }
    struct iovec iov[2] = { { (void *) head, head_len }, { (void *) data, len } };
    session_cork (self->session, self->side);
    session_sendv (self->session, self->side, iov, len ? 2 : 1);
    //  Called from a stream's session as often as from our own: make sure the
    //  tunnel socket is watched for writing.
    session_settle (self->session);
}

//  A control frame in the trace: "tunnel -> stream N new" and the like.
static void
s_trace_frame (tunnel_mux_t *self, bool outgoing, uint16_t id, const char *kind)
{
    char stream[32];
    snprintf (stream, sizeof stream, "stream %u", id);
    session_trace (self->session, outgoing ? stream : "tunnel", outgoing ? "tunnel" : stream, kind, 0);
}

static void
s_send_ext (tunnel_mux_t *self, const uint8_t *payload, size_t len)
{
    uint8_t head[4] = { MUX_CMD_NOP, EXT_MAGIC >> 8, EXT_MAGIC & 0xff, (uint8_t) len };
    s_send_frame (self, head, sizeof head, payload, len);
}

static void
s_send_ext_hello (tunnel_mux_t *self)
{
    uint8_t hello[2] = { EXT_HELLO, 1 };
    s_send_ext (self, hello, sizeof hello);
}

static void
s_send_credit (tunnel_mux_t *self, uint16_t id, uint32_t bytes)
{
    uint8_t credit[7] = { EXT_CREDIT, (uint8_t) (id >> 8), (uint8_t) id, (uint8_t) (bytes >> 24),
                          (uint8_t) (bytes >> 16), (uint8_t) (bytes >> 8), (uint8_t) bytes };
    s_send_ext (self, credit, sizeof credit);
}

static void
s_stream_send (void *mux, uint16_t id, const uint8_t *data, size_t len)
{
    tunnel_mux_t *self = mux;
    if (self->state != T_UP && self->state != T_DIALING)
        return;
    if (self->peer_credits)
        self->unacked[id] += (uint32_t) len;
    while (len > 0) {
        size_t n = len < MUX_DATA_MAX ? len : MUX_DATA_MAX;
        uint8_t head[MUX_HEADER_MAX];
        size_t head_len = mux_data_header (head, id, n);
        s_send_frame (self, head, head_len, data, n);
        data += n;
        len -= n;
    }
}

static void
s_stream_detach (void *mux, uint16_t id, bool notify)
{
    tunnel_mux_t *self = mux;
    if (!self->streams[id])
        return;
    self->streams[id] = NULL;
    self->unacked[id] = self->unreported[id] = 0;
    if (self->held_by == id) {
        self->held_by = -1;
        session_pause (self->session, self->side, 0);
        session_settle (self->session);
    }
    if (notify && (self->state == T_UP || self->state == T_DIALING)) {
        s_trace_frame (self, true, id, "close");
        uint8_t frame[MUX_CONTROL_SIZE];
        s_send_frame (self, frame, mux_put_close_socket (frame, id), NULL, 0);
    }
    if (self->muxing)
        mux_ids_release (self->ids, id);
}

static size_t
s_stream_queued (void *mux, uint16_t id)
{
    tunnel_mux_t *self = mux;
    if (s_holding (self) || (self->peer_credits && self->unacked[id] >= STREAM_WINDOW))
        return SIZE_MAX / 2;        //  no credit left (or no tunnel yet): the reader waits
    return session_queued (self->session, self->side);
}

static void
s_stream_consumed (void *mux, uint16_t id, size_t len)
{
    tunnel_mux_t *self = mux;
    if (self->peer_credits) {
        self->unreported[id] += (uint32_t) len;
        if (self->unreported[id] >= CREDIT_STEP && self->state == T_UP) {
            s_send_credit (self, id, self->unreported[id]);
            self->unreported[id] = 0;
        }
    }
    if (self->held_by == id && self->streams[id]
    &&  session_stream_held (self->streams[id]) <= HOLD_LIMIT / 2) {
        self->held_by = -1;
        session_pause (self->session, self->side, 0);
        session_settle (self->session);
    }
}

static bool
s_stream_half_close (void *mux, uint16_t id)
{
    tunnel_mux_t *self = mux;
    if (!self->peer_credits)
        return false;               //  an original peer knows only CLOSE_SOCKET
    uint8_t fin[3] = { EXT_FIN, (uint8_t) (id >> 8), (uint8_t) id };
    s_send_ext (self, fin, sizeof fin);
    return true;
}

//  Padding for the mimic (mimic_padding): NOP frames of what a model send
//  lacked. An original peer ignores them as the protocol says.
static void
s_pad (void *ctx, size_t missing)
{
    tunnel_mux_t *self = ctx;
    if (self->state != T_UP)
        return;
    static const uint8_t zeros[255] = { 0 };
    while (missing >= 4) {
        size_t len = missing - 4 < sizeof zeros ? missing - 4 : sizeof zeros;
        uint8_t head[4] = { MUX_CMD_NOP, 0, 0, (uint8_t) len };
        session_pad (self->session, self->side, head, sizeof head);
        session_pad (self->session, self->side, zeros, len);
        missing -= 4 + len;
    }
}

static const stream_ops_t s_stream_ops = { s_stream_send, s_stream_detach, s_stream_queued,
                                           s_stream_consumed, s_stream_half_close };

//  --------------------------------------------------------------------------
//  Frames in

static int
s_on_new (void *ctx, uint16_t id)
{
    tunnel_mux_t *self = ctx;
    s_trace_frame (self, false, id, "new");
    if (self->muxing) {
        log_warn ("wormhole %s: the peer opened stream %u, but streams are opened here; ignored",
                  s_name (self), id);
        return MUX_CONTINUE;
    }
    if (self->streams[id]) {
        session_t *old = self->streams[id];
        self->streams[id] = NULL;
        session_stream_eof (old, ECONNRESET);
    }
    //  Handshakes are not to be delayed (section 6).
    shaping_suspend (self->session, self->side, MIMIC_SUSPEND_MS);
    //  Registered before its handler can answer, so the answer finds its way.
    session_t *stream = session_spawn_stream (self->session, &self->wormhole->inner,
                                              &s_stream_ops, self, id);
    if (stream)
        self->streams[id] = stream;
    else {
        uint8_t frame[MUX_CONTROL_SIZE];
        s_send_frame (self, frame, mux_put_close_socket (frame, id), NULL, 0);
    }
    return MUX_CONTINUE;
}

static int
s_on_close (void *ctx, uint16_t id)
{
    tunnel_mux_t *self = ctx;
    s_trace_frame (self, false, id, "close");
    session_t *stream = self->streams[id];
    self->streams[id] = NULL;
    if (self->muxing && stream)
        mux_ids_release (self->ids, id);
    if (stream)
        session_stream_eof (stream, 0);
    return MUX_CONTINUE;
}

static int
s_on_data (void *ctx, uint16_t id, const uint8_t *data, size_t len)
{
    tunnel_mux_t *self = ctx;
    session_t *stream = self->streams[id];
    if (!stream)
        return MUX_CONTINUE;    //  closed here, and the peer has not heard yet: dropped
    session_stream_data (stream, data, len);
    //  A peer without credits cannot be told to slow one stream down: stop
    //  reading the tunnel while that stream's reader catches up.
    if (!self->peer_credits && self->held_by < 0 && self->streams[id]
    &&  session_stream_held (stream) > HOLD_LIMIT) {
        self->held_by = id;
        session_pause (self->session, self->side, 1);
    }
    return MUX_CONTINUE;
}

static int
s_on_nop (void *ctx, uint16_t reserved, const uint8_t *data, size_t len)
{
    tunnel_mux_t *self = ctx;
    if (reserved != EXT_MAGIC || len == 0)
        return MUX_CONTINUE;            //  padding
    if (data[0] == EXT_HELLO && len >= 2 && data[1] >= 1) {
        if (!self->peer_credits)
            log_debug ("wormhole %s: the peer speaks the credit extension", s_name (self));
        self->peer_credits = true;
    }
    else if (data[0] == EXT_CREDIT && len >= 7) {
        uint16_t id = (uint16_t) (data[1] << 8 | data[2]);
        uint32_t bytes = (uint32_t) data[3] << 24 | (uint32_t) data[4] << 16
                       | (uint32_t) data[5] << 8 | data[6];
        bool was_full = self->unacked[id] >= STREAM_WINDOW;
        self->unacked[id] -= bytes < self->unacked[id] ? bytes : self->unacked[id];
        if (was_full && self->unacked[id] < STREAM_WINDOW && self->streams[id])
            session_settle (self->streams[id]);
    }
    else if (data[0] == EXT_FIN && len >= 3) {
        uint16_t id = (uint16_t) (data[1] << 8 | data[2]);
        if (self->streams[id])
            session_stream_fin (self->streams[id]);
    }
    return MUX_CONTINUE;
}

static const mux_callbacks_t s_callbacks = { s_on_new, s_on_close, s_on_data, s_on_nop };

//  --------------------------------------------------------------------------
//  Tunnel life

static void
s_drop_streams (tunnel_mux_t *self)
{
    for (size_t id = 0; id < MUX_IDS; id++) {
        session_t *stream = self->streams[id];
        if (stream) {
            self->streams[id] = NULL;
            session_stream_eof (stream, ECONNRESET);
        }
    }
    mux_ids_destroy (&self->ids);
    self->ids = mux_ids_new ();
    mux_decoder_destroy (&self->decoder);
    self->decoder = mux_decoder_new ();
    mux_out_clear (self->held);
    memset (self->unacked, 0, MUX_IDS * sizeof (uint32_t));
    memset (self->unreported, 0, MUX_IDS * sizeof (uint32_t));
    self->peer_credits = false;
    if (self->held_by >= 0) {
        self->held_by = -1;
        session_pause (self->session, self->side, 0);
    }
}

static void
s_dial (tunnel_mux_t *self)
{
    self->state = T_DIALING;
    if (dialer_start (&self->dialer, self->session, self->wormhole) != 0) {
        log_error ("wormhole %s: cannot set up the tunnel's crypto", s_name (self));
        self->state = T_BACKOFF;
        session_set_timer (self->session, BACKOFF_MAX_MS);
    }
    else if (!self->wormhole->conf->has_local_proxy)
        s_send_ext_hello (self);        //  first frame, right behind the hello
    //  A user's arrival may be what started this dial: watch the new socket.
    session_settle (self->session);
}

//  The tunnel is gone: its streams end with it. The dialing end tries again.
static void
s_lost (tunnel_mux_t *self)
{
    baton_destroy (&self->baton);
    session_trace (self->session, "tunnel", self->dialing ? "dialer" : "acceptor", "tunnel-down", 0);
    s_drop_streams (self);
    if (!self->dialing) {
        self->state = T_DEAD;
        s_registry_remove (self);
        session_abort (self->session);
        return;
    }
    session_close_target (self->session);
    self->state = T_BACKOFF;
    session_set_timer (self->session, self->backoff_ms);
    log_info ("wormhole %s: dialing again in %d ms", s_name (self), self->backoff_ms);
    self->backoff_ms = self->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : self->backoff_ms * 2;
}

static void
s_feed (tunnel_mux_t *self, const uint8_t *data, size_t len)
{
    if (self->state != T_UP)
        return;
    self->backoff_ms = BACKOFF_MIN_MS;      //  the peer answers: the tunnel works
    baton_heard (self->baton);
    if (mux_decoder_feed (self->decoder, data, len, &s_callbacks, self) < 0) {
        log_warn ("wormhole %s: corrupt frame from the peer (%s); dropping the tunnel",
                  s_name (self), mux_decoder_error (self->decoder));
        s_lost (self);
    }
}

int
tunnel_mux_attach (const wormhole_t *wormhole, session_t *user)
{
    registry_entry_t *entry = s_registry_find (wormhole);
    tunnel_mux_t *self = entry ? entry->mux : NULL;
    if (!self || self->state == T_DEAD) {
        log_info ("wormhole %s: no tunnel yet; refusing %s", wormhole->conf->name, session_peer (user));
        return -1;
    }
    if (self->state == T_BACKOFF) {
        session_set_timer (self->session, 0);
        s_dial (self);
    }
    int id = mux_ids_alloc (self->ids);
    if (id < 0) {
        log_warn ("wormhole %s: all 65536 stream ids in use; refusing %s", s_name (self),
                  session_peer (user));
        return -1;
    }
    self->streams[id] = user;
    s_trace_frame (self, true, (uint16_t) id, "new");
    uint8_t frame[MUX_CONTROL_SIZE];
    s_send_frame (self, frame, mux_put_new_socket (frame, (uint16_t) id), NULL, 0);
    session_attach_stream (user, SESSION_TARGET, &s_stream_ops, self, (uint16_t) id);
    baton_user_arrived (self->baton);
    shaping_suspend (self->session, self->side, MIMIC_SUSPEND_MS);
    return 0;
}

//  --------------------------------------------------------------------------
//  Handler

static void *
s_create (session_t *session, const handler_conf_t *conf)
{
    tunnel_mux_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->session = session;
    session_set_background (session);
    self->wormhole = conf->wormhole;
    self->dialing = (conf->flags & TUNNEL_MUX_DIAL) != 0;
    self->muxing = self->wormhole->conf->reverse ? !self->dialing : self->dialing;
    self->side = self->dialing ? SESSION_TARGET : SESSION_CLIENT;
    self->backoff_ms = BACKOFF_MIN_MS;
    self->decoder = mux_decoder_new ();
    self->ids = mux_ids_new ();
    self->streams = calloc (MUX_IDS, sizeof (session_t *));
    self->unacked = calloc (MUX_IDS, sizeof (uint32_t));
    self->unreported = calloc (MUX_IDS, sizeof (uint32_t));
    self->held_by = -1;
    self->held = mux_out_new ();
    if (!self->decoder || !self->ids || !self->streams || !self->unacked || !self->unreported
    ||  (self->muxing && !s_registry_find (self->wormhole) && s_registry_count == REGISTRY_MAX)) {
        mux_decoder_destroy (&self->decoder);
        mux_ids_destroy (&self->ids);
        free (self->streams);
        free (self->unacked);
        free (self->unreported);
        mux_out_destroy (&self->held);
        free (self);
        return NULL;
    }
    if (self->muxing) {
        registry_entry_t *entry = s_registry_find (self->wormhole);
        if (entry) {
            //  Reverse mode: the intranet end came back; the old tunnel is stale.
            log_info ("wormhole %s: a new tunnel replaces the old one", s_name (self));
            tunnel_mux_t *old = entry->mux;
            entry->mux = self;
            s_lost (old);
        }
        else
            s_registry[s_registry_count++] = (registry_entry_t) { self->wormhole, self };
    }
    //  (v2 pads with records of its own: actors/shaping.c)
    if (self->wormhole->conf->mimic_padding && !tunnel_wire_v2 (self->wormhole->conf))
        session_set_padding (session, self->side, s_pad, self);
    if (self->dialing)
        s_dial (self);
    else {
        self->state = T_UP;
        s_send_ext_hello (self);
        log_info ("wormhole %s: tunnel from %s", s_name (self), session_peer (session));
        session_trace (session, "acceptor", "tunnel", "tunnel-up", 0);
    }
    return self;
}

static void
s_destroy (void **self_p)
{
    tunnel_mux_t *self = *self_p;
    if (!self)
        return;
    baton_destroy (&self->baton);
    s_drop_streams (self);
    s_registry_remove (self);
    mux_decoder_destroy (&self->decoder);
    mux_ids_destroy (&self->ids);
    free (self->streams);
    free (self->unacked);
    free (self->unreported);
    mux_out_destroy (&self->held);
    free (self);
    *self_p = NULL;
}

static void
s_client_data (void *self_, const uint8_t *data, size_t len)
{
    tunnel_mux_t *self = self_;
    if (!self->dialing)
        s_feed (self, data, len);
}

static void
s_client_eof (void *self_)
{
    tunnel_mux_t *self = self_;
    log_info ("wormhole %s: the tunnel from %s closed", s_name (self), session_peer (self->session));
    s_lost (self);
}

static void s_drained (void *self_);

//  A handover that could not finish: dial a fresh tunnel.
static void
s_broken (void *self_)
{
    tunnel_mux_t *self = self_;
    s_lost (self);
}

static void
s_handover (void *self_, const handover_event_t *event)
{
    tunnel_mux_t *self = self_;
    baton_event (self->baton, event);
}

static void
s_advance (tunnel_mux_t *self, dialer_state_t state)
{
    if (state == DIALER_FAILED)
        s_lost (self);
    else if (state == DIALER_READY && self->state == T_DIALING) {
        if (self->wormhole->conf->has_local_proxy) {
            s_send_ext_hello (self);
            s_send_frame (self, mux_out_data (self->held), mux_out_size (self->held), NULL, 0);
            mux_out_clear (self->held);
            s_drained (self);       //  streams held back may read now
        }
        char where[300];
        log_info ("wormhole %s: tunnel up to %s", s_name (self),
                  dialer_describe (&self->dialer, where, sizeof where));
        session_trace (self->session, "dialer", "tunnel", "tunnel-up", 0);
        self->state = T_UP;
        baton_owner_t owner = { s_broken, self };
        self->baton = baton_new (self->session, self->side, self->wormhole, true, self->dialer.id0,
                                 &owner);
    }
}

static void
s_connected (void *self_, int err, const struct sockaddr *local)
{
    tunnel_mux_t *self = self_;
    (void) local;
    s_advance (self, dialer_connected (&self->dialer, err));
}

static void
s_target_data (void *self_, const uint8_t *data, size_t len)
{
    tunnel_mux_t *self = self_;
    if (self->dialer.state == DIALER_PROXY_REPLY)
        s_advance (self, dialer_target_data (&self->dialer, data, len));
    else
        s_feed (self, data, len);
}

static void
s_target_eof (void *self_, int err)
{
    tunnel_mux_t *self = self_;
    log_warn ("wormhole %s: the tunnel closed%s%s", s_name (self), err ? ": " : "",
              err ? strerror (err) : "");
    s_lost (self);
}

static void
s_timeout (void *self_)
{
    tunnel_mux_t *self = self_;
    if (self->state == T_BACKOFF)
        s_dial (self);
    else if (self->dialer.state == DIALER_PROXY_REPLY) {
        log_warn ("wormhole %s: no answer from the proxy", s_name (self));
        s_lost (self);
    }
}

//  The tunnel took its queue back under the window: streams may read again.
static void
s_drained (void *self_)
{
    tunnel_mux_t *self = self_;
    for (size_t id = 0; id < MUX_IDS; id++)
        if (self->streams[id])
            session_settle (self->streams[id]);
}

const handler_class_t tunnel_mux_handler_class = {
    .name = "tunnel-mux",
    .create = s_create,
    .destroy = s_destroy,
    .client_data = s_client_data,
    .client_eof = s_client_eof,
    .connected = s_connected,
    .target_data = s_target_data,
    .target_eof = s_target_eof,
    .timeout = s_timeout,
    .drained = s_drained,
    .handover = s_handover,
};
