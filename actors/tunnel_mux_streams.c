/*  tunnel_mux_streams — the streams of an aggregated tunnel (tunnel_mux.h):
    frames out (held behind a proxy's 200 while the tunnel dials), the
    stream ops the streams' sessions call (runtime/stream.h), frames in
    (the decoder's callbacks), the per-stream credits and half-closes of
    the extension, and padding for the mimic. The tables that call the
    actions here are in tunnel_mux.c.
*/
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actors/shaping.h"
#include "actors/tunnel_mux_priv.h"
#include "actors/tunnel_wire.h"
#include "runtime/base/log.h"

//  --------------------------------------------------------------------------
//  Frames out

//  Behind a proxy, nothing of the tunnel may go out before the proxy's 200.
static bool
s_holding (tunnel_mux_t *self)
{
    return self->state == T_DIALING && self->dialer.state != DIALER_READY
           && self->wormhole->conf->has_local_proxy;
}

static void s_send_hello (tunnel_mux_t *self);

void
tunnel_mux_send_frame (tunnel_mux_t *self, const uint8_t *head, size_t head_len,
                       const uint8_t *data, size_t len)
{
    if (self->hello_due) {
        self->hello_due = false;
        s_send_hello (self);
    }
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
s_send_close (tunnel_mux_t *self, uint16_t id)
{
    uint8_t frame[MUX_CONTROL_SIZE];
    tunnel_mux_send_frame (self, frame, mux_put_close_socket (frame, id), NULL, 0);
}

static void
s_send_ext (tunnel_mux_t *self, const uint8_t *payload, size_t len)
{
    uint8_t head[4] = { MUX_CMD_NOP, EXT_MAGIC >> 8, EXT_MAGIC & 0xff, (uint8_t) len };
    tunnel_mux_send_frame (self, head, sizeof head, payload, len);
}

static void
s_send_hello (tunnel_mux_t *self)
{
    uint8_t hello[2] = { EXT_HELLO, 1 };
    s_send_ext (self, hello, sizeof hello);
}

//  With wire: tls the dialing end's hello leaves with its first frame, not
//  alone: a lone small record after the client's Finished is no TLS
//  connection's (docs/PROTOCOL-v2.md section 9). Until then the peer treats
//  us as one without the extension, as it does while a hello is on its
//  way. The accepting end's hello goes at once (the dialing end waits for
//  it: the tunnel is up once the remote end has spoken), in the segment of
//  its server flight.
void
tunnel_mux_send_ext_hello (tunnel_mux_t *self)
{
    const wormhole_conf_t *conf = self->wormhole->conf;
    if (self->dialing && tunnel_wire_v2 (conf) && conf->wire == CONFIG_WIRE_TLS) {
        self->hello_due = true;
        return;
    }
    s_send_hello (self);
}

//  The accepting end's first words. v2: the extension's hello at once (the
//  first flight was answered already). v1: nothing; the original's remote
//  end says nothing before a stream does, and a prober with a recorded
//  hello must learn nothing: our hello answers the peer's (s_on_nop).
void
tunnel_mux_greet (tunnel_mux_t *self)
{
    if (tunnel_wire_v2 (self->wormhole->conf))
        tunnel_mux_send_ext_hello (self);
}

static void
s_send_credit (tunnel_mux_t *self, uint16_t id, uint32_t bytes)
{
    uint8_t credit[7] = { EXT_CREDIT, (uint8_t) (id >> 8), (uint8_t) id, (uint8_t) (bytes >> 24),
                          (uint8_t) (bytes >> 16), (uint8_t) (bytes >> 8), (uint8_t) bytes };
    s_send_ext (self, credit, sizeof credit);
}

//  The stream that stopped the tunnel (a peer without credits) has caught up,
//  or is gone: read the tunnel again.
static void
s_unhold (tunnel_mux_t *self)
{
    self->held_by = -1;
    session_pause (self->session, self->side, 0);
    session_settle (self->session);
}

//  --------------------------------------------------------------------------
//  The streams' places (tunnel_stream_t)

//  The place of id; a blank one (whose changes are dropped) if its page
//  does not exist, i.e. no stream near id is open.
static tunnel_stream_t *
s_place (tunnel_mux_t *self, uint16_t id)
{
    static __thread tunnel_stream_t blank;
    tunnel_stream_page_t *page = self->pages[id / TUNNEL_STREAM_PAGE];
    if (page)
        return &page->at[id % TUNNEL_STREAM_PAGE];
    blank = (tunnel_stream_t) { 0 };
    return &blank;
}

static session_t *
s_stream (tunnel_mux_t *self, uint16_t id)
{
    return s_place (self, id)->session;
}

//  Puts a session in id's place (NULL: the stream ended there, its counts
//  too). -1 if its page cannot be made.
static int
s_set_stream (tunnel_mux_t *self, uint16_t id, session_t *session)
{
    tunnel_stream_page_t **page = &self->pages[id / TUNNEL_STREAM_PAGE];
    if (!*page && !session)
        return 0;
    if (!*page && !(*page = calloc (1, sizeof **page)))
        return -1;
    tunnel_stream_t *place = &(*page)->at[id % TUNNEL_STREAM_PAGE];
    if (!place->session && session)
        (*page)->live++;
    else
    if (place->session && !session)
        (*page)->live--;
    *place = (tunnel_stream_t) { .session = session };
    if ((*page)->live == 0) {
        free (*page);
        *page = NULL;
    }
    return 0;
}

//  Calls fn for each stream (one may end during the call).
static void
s_each_stream (tunnel_mux_t *self, void (*fn) (tunnel_mux_t *self, uint16_t id, session_t *stream))
{
    for (size_t p = 0; p < MUX_IDS / TUNNEL_STREAM_PAGE; p++)
        for (size_t i = 0; i < TUNNEL_STREAM_PAGE && self->pages[p]; i++) {
            session_t *stream = self->pages[p]->at[i].session;
            if (stream)
                fn (self, (uint16_t) (p * TUNNEL_STREAM_PAGE + i), stream);
        }
}

//  --------------------------------------------------------------------------
//  The stream ops (runtime/stream.h)

static void
s_stream_send (void *mux, uint16_t id, const uint8_t *data, size_t len)
{
    tunnel_mux_t *self = mux;
    if (self->state != T_UP && self->state != T_DIALING)
        return;
    if (self->peer_credits)
        s_place (self, id)->unacked += (uint32_t) len;
    while (len > 0) {
        size_t n = len < MUX_DATA_MAX ? len : MUX_DATA_MAX;
        uint8_t head[MUX_HEADER_MAX];
        size_t head_len = mux_data_header (head, id, n);
        tunnel_mux_send_frame (self, head, head_len, data, n);
        data += n;
        len -= n;
    }
}

//  A block read from the stream's socket: its frame's header goes in front
//  of its bytes (SESSION_STREAM_HEADROOM), and the block goes on whole.
static void
s_stream_send_block (void *mux, uint16_t id, buf_t *buf)
{
    tunnel_mux_t *self = mux;
    size_t len = buf->len - buf->off;
    uint8_t head[MUX_HEADER_MAX];
    size_t head_len = len <= MUX_DATA_MAX ? mux_data_header (head, id, len) : 0;
    if (head_len == 0 || buf->off < head_len || s_holding (self) || self->hello_due
    ||  (self->state != T_UP && self->state != T_DIALING)) {
        s_stream_send (mux, id, buf->data + buf->off, len);
        session_put_block (self->session, buf);
        return;
    }
    if (self->peer_credits)
        s_place (self, id)->unacked += (uint32_t) len;
    buf->off -= (uint32_t) head_len;
    memcpy (buf->data + buf->off, head, head_len);
    session_cork (self->session, self->side);
    session_send_block (self->session, self->side, buf);
    session_settle (self->session);
}

static void
s_stream_detach (void *mux, uint16_t id, bool notify)
{
    tunnel_mux_t *self = mux;
    if (!s_stream (self, id))
        return;
    s_set_stream (self, id, NULL);
    if (self->held_by == id)
        s_unhold (self);
    if (notify && (self->state == T_UP || self->state == T_DIALING)) {
        s_trace_frame (self, true, id, "close");
        s_send_close (self, id);
    }
    if (self->muxing)
        mux_ids_release (self->ids, id);
}

static size_t
s_stream_queued (void *mux, uint16_t id)
{
    tunnel_mux_t *self = mux;
    if (s_holding (self) || (self->peer_credits && s_place (self, id)->unacked >= STREAM_WINDOW))
        return SIZE_MAX / 2;        //  no credit left (or no tunnel yet): the reader waits
    return session_queued (self->session, self->side);
}

static void
s_stream_consumed (void *mux, uint16_t id, size_t len)
{
    tunnel_mux_t *self = mux;
    if (self->peer_credits) {
        tunnel_stream_t *place = s_place (self, id);
        place->unreported += (uint32_t) len;
        if (place->unreported >= CREDIT_STEP && self->state == T_UP) {
            s_send_credit (self, id, place->unreported);
            place->unreported = 0;
        }
    }
    if (self->held_by == id && s_stream (self, id)
    &&  session_stream_held (s_stream (self, id)) <= HOLD_LIMIT / 2)
        s_unhold (self);
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

static const stream_ops_t s_stream_ops = { s_stream_send, s_stream_detach, s_stream_queued,
                                           s_stream_consumed, s_stream_half_close,
                                           s_stream_send_block };
_Static_assert (MUX_HEADER_MAX <= SESSION_STREAM_HEADROOM, "a frame header fits in front");

//  Padding for the mimic (mimic_padding): NOP frames of what a model send
//  lacked. An original peer ignores them as the protocol says.
void
tunnel_mux_pad (void *ctx, size_t missing)
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

//  --------------------------------------------------------------------------
//  Frames in

//  v1, accepting end: the tunnel has proven itself, with the extension's
//  hello (a C peer's first frame) or DATA of a stream opened on it (an
//  original peer's first NEW_SOCKET and its data; in reverse mode, the
//  answer on a stream of ours). Bytes decrypting at random pass either test
//  with odds under 2^-24. From now on a bad frame is a broken tunnel, no
//  longer a probe (session_guard_probe: an abort is a reset again).
static void
s_proven (tunnel_mux_t *self)
{
    if (self->proven)
        return;
    self->proven = true;
    session_guard_probe (self->session, 0);
    if (!self->standby)
        tunnel_mux_arm_deadline (self);         //  (cancels it)
}

//  Before that, a frame that a peer of ours would not send: the feed stops
//  and the tunnel gets the probe's treatment (tunnel_mux_feed).
static int
s_unfit (tunnel_mux_t *self, const char *why)
{
    self->unfit = why;
    return MUX_PAUSE;
}

//  An original peer never says that a stream's far end has gone (its remote
//  end only forgets the id: mimicsocks_remote_agg.erl, 'DOWN' of a handler,
//  sends no CLOSE_SOCKET), so a target that ends its reply by closing never
//  ends the user's transfer. Our muxing end closes such a stream once it
//  has answered and then nothing moved either way this long.
#define ORIGINAL_STREAM_IDLE_MS 20000

//  The pieces gathered for one stream go to it (before anything else the
//  tunnel brought: frames keep their order).
static void
s_pass_pieces (tunnel_mux_t *self)
{
    int count = self->pieces.count;
    uint16_t id = self->pieces.id;
    self->pieces.count = 0;
    session_t *stream = count ? s_stream (self, id) : NULL;
    if (!stream)
        return;
    if (self->muxing && !self->peer_credits && !tunnel_wire_v2 (self->wormhole->conf))
        session_set_idle (stream, ORIGINAL_STREAM_IDLE_MS);
    session_stream_pieces (stream, self->pieces.iov, count);
    //  A peer without credits cannot be told to slow one stream down: stop
    //  reading the tunnel while that stream's reader catches up.
    if (!self->peer_credits && self->held_by < 0 && s_stream (self, id)
    &&  session_stream_held (stream) > HOLD_LIMIT) {
        self->held_by = id;
        session_pause (self->session, self->side, 1);
    }
}

static int
s_on_new (void *ctx, uint16_t id)
{
    tunnel_mux_t *self = ctx;
    s_pass_pieces (self);
    s_trace_frame (self, false, id, "new");
    if (self->muxing && !self->proven)
        return s_unfit (self, "a NEW_SOCKET toward the end that opens the streams");
    if (self->muxing) {
        log_warn ("wormhole %s: the peer opened stream %u, but streams are opened here; ignored",
                  tunnel_mux_name (self), id);
        return MUX_CONTINUE;
    }
    session_t *old = s_stream (self, id);
    if (old) {
        s_set_stream (self, id, NULL);
        session_stream_eof (old, ECONNRESET);
    }
    //  Handshakes are not to be delayed (section 6).
    shaping_suspend (self->session, self->side, MIMIC_SUSPEND_MS);
    //  Registered before its handler can answer, so the answer finds its way.
    session_t *stream = session_spawn_stream (self->session, &self->wormhole->inner,
                                              &s_stream_ops, self, id);
    if (stream && s_set_stream (self, id, stream) != 0) {
        session_stream_eof (stream, ECONNRESET);
        stream = NULL;
    }
    if (!stream)
        s_send_close (self, id);
    return MUX_CONTINUE;
}

static int
s_on_close (void *ctx, uint16_t id)
{
    tunnel_mux_t *self = ctx;
    s_pass_pieces (self);
    s_trace_frame (self, false, id, "close");
    session_t *stream = s_stream (self, id);
    if (!stream && !self->proven)
        return s_unfit (self, "a CLOSE_SOCKET of a stream never opened");
    s_set_stream (self, id, NULL);
    if (self->muxing && stream)
        mux_ids_release (self->ids, id);
    if (stream)
        session_stream_eof (stream, 0);
    return MUX_CONTINUE;
}


//  Gathered, not delivered: the decoder's pieces point into the tunnel's
//  block, which lives until the feed is through (tunnel_mux_feed).
static int
s_on_data (void *ctx, uint16_t id, const uint8_t *data, size_t len)
{
    tunnel_mux_t *self = ctx;
    if (!s_stream (self, id) && !self->proven)
        return s_unfit (self, "DATA of a stream never opened");
    if (!s_stream (self, id))
        return MUX_CONTINUE;    //  closed here, and the peer has not heard yet: dropped
    s_proven (self);
    if (self->pieces.count > 0
    &&  (self->pieces.id != id || self->pieces.count == TUNNEL_PIECES_MAX))
        s_pass_pieces (self);
    self->pieces.id = id;
    self->pieces.iov[self->pieces.count++] = (struct iovec) { (void *) data, len };
    return MUX_CONTINUE;
}

static int
s_on_nop (void *ctx, uint16_t reserved, const uint8_t *data, size_t len)
{
    tunnel_mux_t *self = ctx;
    s_pass_pieces (self);
    if (reserved != EXT_MAGIC || len == 0)
        return MUX_CONTINUE;            //  padding
    if (data[0] == EXT_HELLO && len >= 2 && data[1] >= 1) {
        s_proven (self);
        if (!self->peer_credits) {
            log_debug ("wormhole %s: the peer speaks the credit extension", tunnel_mux_name (self));
            //  v1, accepting end: ours answers the peer's (tunnel_mux_greet).
            if (!self->dialing && !tunnel_wire_v2 (self->wormhole->conf))
                tunnel_mux_send_ext_hello (self);
        }
        self->peer_credits = true;
    }
    else if (data[0] == EXT_CREDIT && len >= 7) {
        uint16_t id = (uint16_t) (data[1] << 8 | data[2]);
        uint32_t bytes = (uint32_t) data[3] << 24 | (uint32_t) data[4] << 16
                       | (uint32_t) data[5] << 8 | data[6];
        tunnel_stream_t *place = s_place (self, id);
        bool was_full = place->unacked >= STREAM_WINDOW;
        place->unacked -= bytes < place->unacked ? bytes : place->unacked;
        if (was_full && place->unacked < STREAM_WINDOW && place->session)
            session_settle (place->session);
    }
    else if (data[0] == EXT_FIN && len >= 3) {
        uint16_t id = (uint16_t) (data[1] << 8 | data[2]);
        if (s_stream (self, id))
            session_stream_fin (s_stream (self, id));
    }
    return MUX_CONTINUE;
}

static const mux_callbacks_t s_callbacks = { s_on_new, s_on_close, s_on_data, s_on_nop };

//  --------------------------------------------------------------------------
//  The actions of the tables (tunnel_mux.c) that are the streams' business

//  A user's session becomes a new stream (args->user; args->result 0 then).
void
tunnel_mux_open_stream (tunnel_mux_t *self)
{
    session_t *user = self->args->user;
    int id = mux_ids_alloc (self->ids);
    if (id < 0) {
        log_warn ("wormhole %s: all 65536 stream ids in use; refusing %s", tunnel_mux_name (self),
                  session_peer (user));
        return;
    }
    if (s_set_stream (self, (uint16_t) id, user) != 0) {
        mux_ids_release (self->ids, (uint16_t) id);
        log_warn ("wormhole %s: out of memory; refusing %s", tunnel_mux_name (self),
                  session_peer (user));
        return;
    }
    s_trace_frame (self, true, (uint16_t) id, "new");
    uint8_t frame[MUX_CONTROL_SIZE];
    tunnel_mux_send_frame (self, frame, mux_put_new_socket (frame, (uint16_t) id), NULL, 0);
    session_attach_stream (user, SESSION_TARGET, &s_stream_ops, self, (uint16_t) id);
    baton_user_arrived (self->baton);
    shaping_suspend (self->session, self->side, MIMIC_SUSPEND_MS);
    self->args->result = 0;
}

//  The tunnel's bytes (args->data, len) to the decoder; raises CORRUPT.
void
tunnel_mux_feed (tunnel_mux_t *self)
{
    self->backoff_ms = BACKOFF_MIN_MS;      //  the peer answers: the tunnel works
    baton_heard (self->baton);
    ssize_t rc = mux_decoder_feed (self->decoder, self->args->data, self->args->len, &s_callbacks, self);
    //  What came before a bad frame is delivered. Otherwise a stream's
    //  pieces may wait for the rest of the read (its blocks are kept): one
    //  send to the user for all of them (tunnel_mux_read_done).
    if (rc < 0 || self->unfit || !session_data_kept (self->session))
        s_pass_pieces (self);
    if (rc < 0 || self->unfit)
        tunnel_mux_raise (self, TE_CORRUPT);
}

void
tunnel_mux_read_done (tunnel_mux_t *self)
{
    s_pass_pieces (self);
}

static void
s_reset_stream (tunnel_mux_t *self, uint16_t id, session_t *stream)
{
    s_set_stream (self, id, NULL);
    session_stream_eof (stream, ECONNRESET);
}

static void
s_settle_stream (tunnel_mux_t *self, uint16_t id, session_t *stream)
{
    (void) self, (void) id;
    session_settle (stream);
}

//  The tunnel is gone: its streams end with it (reset), and what was
//  learnt of the peer is forgotten.
void
tunnel_mux_drop_streams (tunnel_mux_t *self)
{
    s_each_stream (self, s_reset_stream);
    mux_ids_destroy (&self->ids);
    self->ids = mux_ids_new ();
    mux_decoder_destroy (&self->decoder);
    self->decoder = mux_decoder_new ();
    mux_out_clear (self->held);
    self->peer_credits = false;
    self->unfit = NULL;
    if (self->held_by >= 0) {
        self->held_by = -1;
        session_pause (self->session, self->side, 0);
    }
}

//  The tunnel took its queue back under the window (or the proxy's 200
//  came): streams may read again.
void
tunnel_mux_resume_streams (tunnel_mux_t *self)
{
    s_each_stream (self, s_settle_stream);
}

//  The proxy said 200: the extension's hello, then the frames held back.
void
tunnel_mux_release_held (tunnel_mux_t *self)
{
    if (!self->wormhole->conf->has_local_proxy)
        return;
    tunnel_mux_send_ext_hello (self);
    tunnel_mux_send_frame (self, mux_out_data (self->held), mux_out_size (self->held), NULL, 0);
    mux_out_clear (self->held);
    tunnel_mux_resume_streams (self);
}

//  --------------------------------------------------------------------------
//  Setting up

int
tunnel_mux_streams_new (tunnel_mux_t *self)
{
    self->decoder = mux_decoder_new ();
    self->ids = mux_ids_new ();
    self->held_by = -1;
    self->held = mux_out_new ();
    if (!self->decoder || !self->ids)
        return -1;
    return 0;
}

void
tunnel_mux_streams_free (tunnel_mux_t *self)
{
    mux_decoder_destroy (&self->decoder);
    mux_ids_destroy (&self->ids);
    for (size_t p = 0; p < MUX_IDS / TUNNEL_STREAM_PAGE; p++)
        free (self->pages[p]);
    mux_out_destroy (&self->held);
}
