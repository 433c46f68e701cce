/*  v2_node — the v2 record layer as a node (see v2_node.h).

    Receiving, each whole record of a chunk is opened out of place into the
    room the driver offers inward (nodes/node.h), DATA bodies one after the
    other, and that room is passed on: the opening is the only copy. A
    driver without room gets the chunk worked through in place instead:
    each body moved down over what was already worked through, so the
    plaintext leaves as one span at the start of its own memory. Either way
    only a record cut by the chunk's end is copied, into `pend`, and opened
    when the next chunk completes it.

    Sending, records are sealed straight into the room the driver offers
    outward (the free room at the tail of the socket's queue), in pieces
    where a record spans two blocks, so the seal is the only copy. Without
    room they are sealed into a per-thread scratch buffer and passed on
    from there, a chunk of up to 64 KiB at once (the driver copies that).

    TLS-shaped (wire: tls), the same records carry TLS's headers, and the
    handshake's tail is v2_node_tls.c's.
*/
#include "nodes/v2_node_priv.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#define S_WIRE_MAX (V2_HEAD_MAX + V2_RECORD_MAX + V2_TAG_SIZE)
//  The scratch holds the records of a whole 64 KiB chunk: the session may
//  hand the node bytes that lie where what it passes on will be queued (the
//  free room at the tail of a socket's queue; it offers no room then), so
//  the node must have read all of such a chunk before it passes anything on.
#define S_BATCH 5


static __thread uint8_t s_scratch[S_BATCH * (V2_OVERHEAD_MAX + V2_BODY_MAX)];
static __thread bool s_scratch_busy;

static v2_node_t *
s_new (v2_dir_t *tx)
{
    v2_node_t *self = tx ? calloc (1, sizeof *self) : NULL;
    if (!self)
        v2_dir_destroy (&tx);
    else
        self->tx = tx;
    return self;
}

v2_node_t *
v2_node_new_client (v2_suite_t suite, const uint8_t *k, size_t klen,
                    const uint8_t cs[V2_SALT_SIZE], v2_dir_t *tx)
{
    if (klen > sizeof ((v2_node_t *) 0)->k) {
        v2_dir_destroy (&tx);
        return NULL;
    }
    v2_node_t *self = s_new (tx);
    if (!self)
        return NULL;
    memcpy (self->cs, cs, V2_SALT_SIZE);
    memcpy (self->k, k, klen);
    self->klen = klen;
    self->tls = v2_dir_head (self->tx) == V2_TLS_HEAD_SIZE;
    self->flight = self->tls ? v2_flight_parser_new_tls (suite, k, klen, V2_KIND_SERVER, cs)
                             : v2_flight_parser_new (suite, k, klen, V2_KIND_SERVER, cs);
    if (!self->flight)
        v2_node_destroy (&self);
    return self;
}

v2_node_t *
v2_node_new_server (v2_dir_t *tx, v2_dir_t *rx, const uint8_t hk[V2_HK_SIZE])
{
    v2_node_t *self = rx ? s_new (tx) : NULL;
    if (!self) {
        if (rx)
            v2_dir_destroy (&rx);
        else
            v2_dir_destroy (&tx);
        return NULL;
    }
    self->rx = rx;
    memcpy (self->hk, hk, V2_HK_SIZE);
    self->has_hk = true;
    self->tls = v2_dir_head (self->tx) == V2_TLS_HEAD_SIZE;
    self->tickets_due = self->tls;
    self->ccs_sent = true;          //  the server's is in its flight
    return self;
}

void
v2_node_set_early (v2_node_t *self, bool early)
{
    self->early = early;
}

void
v2_node_destroy (v2_node_t **self_p)
{
    v2_node_t *self = *self_p;
    if (!self)
        return;
    v2_dir_destroy (&self->tx);
    v2_dir_destroy (&self->rx);
    v2_flight_parser_destroy (&self->flight);
    free (self->pend);
    free (self->hold);
    OPENSSL_cleanse (self, sizeof *self);
    free (self);
    *self_p = NULL;
}

int
v2_node_handover_id (v2_node_t *self, uint64_t n, uint8_t id[V2_ID_SIZE])
{
    return self->has_hk ? v2_handover_id (self->hk, n, id) : -1;
}

bool
v2_node_peer_known (v2_node_t *self)
{
    return self->rx != NULL;
}


//  --- Receiving

//  The server's flight, at the client: once read, the records start.
static int
s_read_flight (v2_node_t *self, const uint8_t *data, size_t len, size_t *used)
{
    switch (v2_flight_parser_feed (self->flight, data, len, used)) {
        case V2_FLIGHT_NEED_MORE:
            return 0;
        case V2_FLIGHT_BAD:
            return -1;
        case V2_FLIGHT_OK:
            break;
    }
    self->rx = v2_flight_parser_take_dir (self->flight);
    int rc = v2_derive_hk (self->k, self->klen, self->cs, v2_flight_parser_salt (self->flight),
                           self->hk);
    v2_flight_parser_destroy (&self->flight);
    OPENSSL_cleanse (self->k, sizeof self->k);
    if (!self->rx || rc != 0)
        return -1;
    self->has_hk = true;
    return 0;
}

//  What an opened record says. 1: its body is DATA to deliver; 0: it was
//  something else, taken care of; -1: a protocol error.
static int
s_meaning (v2_node_t *self, uint8_t type, const uint8_t *body, size_t len,
           const node_out_t *out)
{
    if (self->ended)
        return -1;                  //  nothing after the end
    switch (type) {
        case V2_DATA:
            return 1;
        case V2_PADDING:
            return 0;
        case V2_COMMAND:
            if (len < 1)
                return -1;
            out->event (out->ctx, NODE_COMMAND, body[0]);
            return 0;
        case V2_END:
            //  An end has no body; TLS-shaped, it may have two zeros (the
            //  size of a close_notify alert).
            if (len != 0 && !(self->tls && len == V2_TLS_END_BODY && body[0] == 0 && body[1] == 0))
                return -1;
            self->ended = true;
            out->event (out->ctx, NODE_ENDED, 0);
            return 0;
        default:                    //  a HELLO after record 0, an unknown type
            return -1;
    }
}

//  The driver's inward room being filled with the bodies of whole records,
//  opened out of place (at == NULL: none offered, records open in place).
typedef struct {
    const node_out_t *out;
    uint8_t *at;
    size_t room, used;
} s_fill_t;

static void
s_fill_pass (s_fill_t *fill)
{
    if (fill->used > 0)
        fill->out->data (fill->out->ctx, NODE_INNER, fill->at, fill->used, 0);
    fill->at = NULL;
    fill->room = fill->used = 0;
}

//  Room for a whole body of len bytes: a record's plaintext is passed on only
//  once its tag has held, so it is never split across two rooms.
static uint8_t *
s_fill_room (s_fill_t *fill, size_t len)
{
    if (fill->at && fill->room - fill->used >= len)
        return fill->at + fill->used;
    s_fill_pass (fill);
    if (fill->out->room)
        fill->at = fill->out->room (fill->out->ctx, NODE_INNER, &fill->room);
    if (fill->at && fill->room >= len)
        return fill->at;
    fill->at = NULL;
    fill->room = 0;
    return NULL;
}

//  Opens the record at wire (L from v2_peek_len): out of place into the
//  fill's room, or, without room, in place with its body passed on from
//  where it lies.
static int
s_open_record (v2_node_t *self, uint8_t *wire, size_t L, s_fill_t *fill)
{
    uint8_t *body = s_fill_room (fill, L - 1);
    uint8_t type;
    if (!body) {
        size_t head = v2_dir_head (self->rx);
        if (v2_open (self->rx, wire, L) != 0)
            return -1;
        int meaning = s_meaning (self, wire[head], wire + head + 1, L - 1, fill->out);
        if (meaning > 0 && L > 1)
            fill->out->data (fill->out->ctx, NODE_INNER, wire + head + 1, L - 1, 0);
        return meaning < 0 ? -1 : 0;
    }
    if (v2_open_to (self->rx, wire, L, &type, body) != 0)
        return -1;
    int meaning = s_meaning (self, type, body, L - 1, fill->out);
    if (meaning > 0)
        fill->used += L - 1;
    return meaning < 0 ? -1 : 0;
}

//  Completes the record held in pend from the chunk; opens it once whole.
static int
s_complete_pend (v2_node_t *self, const uint8_t *data, size_t len, size_t *used,
                 s_fill_t *fill)
{
    size_t head = v2_dir_head (self->rx);
    *used = 0;
    if (self->pend_need == 0) {
        if (self->pend_have < head) {
            size_t take = head - self->pend_have < len ? head - self->pend_have : len;
            memcpy (self->pend + self->pend_have, data, take);
            self->pend_have += take;
            *used = take;
            if (self->pend_have < head)
                return 0;
        }
        int L = v2_peek_len (self->rx, self->pend);
        if (L < 0)
            return -1;
        self->pend_need = head + (size_t) L + V2_TAG_SIZE;
    }
    size_t take = self->pend_need - self->pend_have;
    if (take > len - *used)
        take = len - *used;
    memcpy (self->pend + self->pend_have, data + *used, take);
    self->pend_have += take;
    *used += take;
    if (self->pend_have < self->pend_need)
        return 0;
    size_t L = self->pend_need - head - V2_TAG_SIZE;
    self->pend_have = self->pend_need = 0;
    return s_open_record (self, self->pend, L, fill);
}

static int
s_hold (v2_node_t *self, const uint8_t *data, size_t len)
{
    if (!self->pend && !(self->pend = malloc (S_WIRE_MAX)))
        return -1;
    memcpy (self->pend, data, len);
    self->pend_have = len;
    self->pend_need = 0;
    return 0;
}

//  Whole records opened into the driver's room, one body after the other.
static int
s_records_to (v2_node_t *self, uint8_t *data, size_t len, s_fill_t *fill)
{
    size_t r = 0, head = v2_dir_head (self->rx);
    while (len - r >= head) {
        int L = v2_peek_len (self->rx, data + r);
        if (L < 0)
            return -1;
        size_t wire = head + (size_t) L + V2_TAG_SIZE;
        if (len - r < wire)
            break;
        if (s_open_record (self, data + r, (size_t) L, fill) != 0)
            return -1;
        r += wire;
    }
    return r < len ? s_hold (self, data + r, len - r) : 0;
}

//  Without room: whole records opened in place, DATA bodies gathered at
//  data[0..). A COMMAND's event comes before the data of its chunk: the
//  driver acts on commands once the chunk is through (runtime/session_nodes.c
//  does).
static int
s_records_in_place (v2_node_t *self, uint8_t *data, size_t len, const node_out_t *out)
{
    size_t r = 0, w = 0, head = v2_dir_head (self->rx);
    int rc = 0;
    while (len - r >= head) {
        int L = v2_peek_len (self->rx, data + r);
        if (L < 0) {
            rc = -1;
            break;
        }
        size_t wire = head + (size_t) L + V2_TAG_SIZE;
        if (len - r < wire)
            break;
        uint8_t *p = data + r + head;
        int meaning = v2_open (self->rx, data + r, (size_t) L) == 0
                    ? s_meaning (self, p[0], p + 1, (size_t) L - 1, out) : -1;
        if (meaning < 0) {
            rc = -1;
            break;
        }
        if (meaning > 0 && L > 1)
            memmove (data + w, p + 1, (size_t) L - 1);
        w += meaning > 0 ? (size_t) L - 1 : 0;
        r += wire;
    }
    if (rc == 0 && r < len)
        rc = s_hold (self, data + r, len - r);
    //  Last: the driver may hand this memory on (nodes/node.h).
    if (w > 0)
        out->data (out->ctx, NODE_INNER, data, w, 0);
    return rc;
}

static int
s_from_outer (v2_node_t *self, uint8_t *data, size_t len, const node_out_t *out)
{
    size_t used = 0;
    if (!self->rx) {
        if (s_read_flight (self, data, len, &used) != 0)
            return -1;
        if (!self->rx)
            return 0;
        data += used;
        len -= used;
        if (self->tls && v2_tls_tail (self, out) != 0)
            return -1;
    }
    if (self->tls && self->ccs_in < TLS_CCS_SIZE) {
        if (v2_tls_skip_ccs (self, data, len, &used) != 0)
            return -1;
        data += used;
        len -= used;
    }
    //  Before the client's first record is delivered, so that they lead
    //  whatever its data makes the server answer.
    if (self->tickets_due && (len || self->pend_have))
        v2_tls_tickets (self, out);
    s_fill_t fill = { .out = out };
    if (out->room && len > 0)
        fill.at = out->room (out->ctx, NODE_INNER, &fill.room);
    int rc = 0;
    if (self->pend_have) {
        rc = s_complete_pend (self, data, len, &used, &fill);
        data += used;
        len -= used;
    }
    if (rc == 0 && len > 0)
        rc = fill.at || !out->room ? s_records_to (self, data, len, &fill)
                                   : s_records_in_place (self, data, len, out);
    //  What opened before a failure is delivered; nothing of the record that failed.
    s_fill_pass (&fill);
    return rc;
}


//  --- Sending

//  Where sealed records go: the driver's room at the tail of the socket's
//  queue when it offers one, else the scratch (passed on, the driver copies
//  it). Records may span rooms: they are sealed in pieces.
typedef struct {
    const node_out_t *out;
    unsigned flags;
    uint8_t *at;
    size_t room, used;
    uint8_t *scratch;               //  taken at the first need
    bool scratch_mine;              //  the thread's (else malloc'd: a nested call)
    v2_node_t *hold;                //  a TLS client holding its records: kept there
} s_sink_t;

static void
s_sink_pass (s_sink_t *sink)
{
    if (sink->used > 0 && sink->hold && v2_tls_hold (sink->hold, sink->at, sink->used) != 0) {
        //  More waits than the bound (a fast upload on a long link): stop
        //  waiting for the server, as with early data, rather than fail.
        sink->hold->early = true;
        v2_tls_flush_hold (sink->hold, sink->out);
        sink->hold = NULL;
    }
    if (sink->used > 0 && !sink->hold)
        sink->out->data (sink->out->ctx, NODE_OUTER, sink->at, sink->used, sink->flags);
    sink->at = NULL;
    sink->room = sink->used = 0;
}

//  Room for at least one more byte.
static int
s_sink_space (s_sink_t *sink)
{
    if (sink->at && sink->used < sink->room)
        return 0;
    s_sink_pass (sink);
    if (!sink->hold && sink->out->room
    &&  (sink->at = sink->out->room (sink->out->ctx, NODE_OUTER, &sink->room)) != NULL)
        return 0;
    if (!sink->scratch) {
        sink->scratch_mine = !s_scratch_busy;
        sink->scratch = sink->scratch_mine ? s_scratch : malloc (sizeof s_scratch);
        if (!sink->scratch)
            return -1;
        s_scratch_busy = true;
    }
    sink->at = sink->scratch;
    sink->room = sizeof s_scratch;
    return 0;
}

static void
s_sink_done (s_sink_t *sink)
{
    s_sink_pass (sink);
    if (sink->scratch_mine)
        s_scratch_busy = false;
    else
        free (sink->scratch);
}

//  Copies (head, body of len bytes) or seals (tx) bytes into the rooms.
static int
s_sink_put (s_sink_t *sink, v2_dir_t *tx, const uint8_t *data, size_t len)
{
    while (len > 0) {
        if (s_sink_space (sink) != 0)
            return -1;
        size_t n = sink->room - sink->used < len ? sink->room - sink->used : len;
        uint8_t *at = sink->at + sink->used;
        if (!tx)
            memcpy (at, data, n);
        else
        if (v2_seal_update (tx, data, n, at) != 0)
            return -1;
        sink->used += n;
        data += n;
        len -= n;
    }
    return 0;
}

static int
s_seal_record (v2_dir_t *tx, uint8_t type, const uint8_t *body, size_t len, s_sink_t *sink)
{
    uint8_t head[V2_HEAD_MAX + 1], tag[V2_TAG_SIZE];
    if (v2_seal_begin (tx, type, len, head) != 0
    ||  s_sink_put (sink, NULL, head, v2_dir_head (tx) + 1) != 0
    ||  s_sink_put (sink, tx, body, len) != 0
    ||  v2_seal_end (tx, tag) != 0
    ||  s_sink_put (sink, NULL, tag, sizeof tag) != 0)
        return -1;
    return 0;
}

static int
s_from_inner (v2_node_t *self, const uint8_t *data, size_t len, unsigned flags,
              const node_out_t *out)
{
    static const uint8_t zeros[V2_BODY_MAX];
    uint8_t type = V2_DATA;
    unsigned out_flags = 0;
    if (self->end_sent)
        return -1;                  //  nothing after our end
    if (v2_tls_holds (self) && (flags & NODE_PADDING))
        return 0;                   //  no padding while nothing leaves
    //  The client's ChangeCipherSpec and Finished go first (TLS-shaped).
    uint8_t pre[V2_TLS_PRE_SIZE];
    size_t pre_len = 0;
    if (v2_tls_start (self, pre, &pre_len) != 0)
        return -1;
    if ((flags & NODE_END) && v2_tls_holds (self)) {
        //  The stream ends before the server's flight came: what is held
        //  leaves now, ahead of the FIN that follows the end record.
        self->early = true;
        v2_tls_flush_hold (self, out);
    }
    if (flags & NODE_END) {
        type = V2_END;
        len = self->tls ? V2_TLS_END_BODY : 0;
        data = zeros;
        self->end_sent = true;
    }
    else
    if (flags & NODE_CONTROL) {
        if (len == 0)
            return -1;
        type = V2_COMMAND;
        len = 1;
    }
    else
    if (flags & NODE_PADDING) {
        //  The wire size asked for, in one record (at least an empty one).
        type = V2_PADDING;
        out_flags = NODE_PADDING;
        size_t overhead = v2_dir_record_size (self->tx, 0);
        len = len > overhead ? len - overhead : 0;
        data = zeros;
        if (len > V2_BODY_MAX)
            len = V2_BODY_MAX;
    }
    //  Without room (the given bytes may lie where the room would be) the
    //  sink seals into the scratch and passes on only once all is sealed,
    //  pre included (it fits beside a 64 KiB chunk's records).
    s_sink_t sink = { .out = out, .flags = out_flags, .hold = v2_tls_holds (self) ? self : NULL };
    int rc = pre_len ? s_sink_put (&sink, NULL, pre, pre_len) : 0;
    size_t done = 0;
    while (rc == 0) {
        size_t n = len - done < V2_BODY_MAX ? len - done : V2_BODY_MAX;
        rc = s_seal_record (self->tx, type, data + done, n, &sink);
        done += n;
        if (done >= len)
            break;
    }
    s_sink_done (&sink);
    return rc;
}

static int
s_recv (void *state, node_side_t from, uint8_t *data, size_t len, unsigned flags,
        const node_out_t *out)
{
    v2_node_t *self = state;
    if (from == NODE_OUTER)
        return s_from_outer (self, data, len, out);
    return len || (flags & (NODE_PADDING | NODE_END)) ? s_from_inner (self, data, len, flags, out) : 0;
}

static void
s_destroy (void **state_p)
{
    v2_node_destroy ((v2_node_t **) state_p);
}

static bool
s_awaits_peer (void *state)
{
    return !v2_node_peer_known (state);
}

const node_class_t v2_node_class = {
    .name = "v2",
    .destroy = s_destroy,
    .recv = s_recv,
    .marks_end = true,
    .awaits_peer = s_awaits_peer,
};
