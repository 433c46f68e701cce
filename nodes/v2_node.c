/*  v2_node — the v2 record layer as a node (see v2_node.h).

    Receiving, a chunk is worked through in place: each whole record is
    opened where it lies and its DATA body moved down over what was already
    worked through, so the chunk's plaintext leaves as one span at the start
    of the memory the node was given (the driver passes that on without a
    copy). Only a record cut by the chunk's end is copied, into `pend`, and
    completed by the next chunk.

    Sending, records are sealed from the given bytes straight into a
    per-thread scratch buffer (the seal is the copy) and passed on from
    there, a chunk of up to 64 KiB at once.

    TLS-shaped (wire: tls, docs/PROTOCOL-v2.md section 9), the node also
    plays TLS 1.3's handshake tail: each side's records start after one
    ChangeCipherSpec record (skipped when received, checked byte for byte);
    the client's first record is a PADDING record sized like a Finished,
    and unless early data is on it holds what it seals until the server's
    flight came (TLS waits one round trip); the server answers the
    client's first record with two PADDING records sized like OpenSSL's
    NewSessionTickets.
*/
#include "nodes/v2_node.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#define S_WIRE_MAX (V2_HEAD_MAX + V2_RECORD_MAX + V2_TAG_SIZE)
#define S_FINISHED_BODY (69 - V2_TAG_SIZE - 1)     //  a SHA-384 Finished: 69 bytes sealed
#define S_TICKET_BODY (250 - V2_TAG_SIZE - 1)      //  an OpenSSL NewSessionTicket: 250
#define S_HOLD_MAX (1u << 20)                      //  sealed before the server's flight
//  Records sealed before anything is passed on: a whole 64 KiB chunk. The
//  session may hand the node bytes that lie where what it passes on will be
//  queued (the free room at the tail of a socket's queue), so the node must
//  have read all of such a chunk before it passes anything on.
#define S_BATCH 5

struct v2_node_t {
    v2_dir_t *tx;
    v2_dir_t *rx;                   //  NULL while the client awaits the server's flight
    v2_flight_parser_t *flight;     //  the client's parser of that flight
    uint8_t cs[V2_SALT_SIZE];
    uint8_t k[32];                  //  the client's K until it has derived hk
    size_t klen;
    uint8_t hk[V2_HK_SIZE];
    bool has_hk;
    bool ended;                     //  the peer's END record came: nothing may follow
    bool end_sent;
    uint8_t *pend;                  //  a record cut by a chunk's end (S_WIRE_MAX bytes)
    size_t pend_have;
    size_t pend_need;               //  0 until its length is known
    //  TLS-shaped only
    bool tls;
    size_t ccs_in;                  //  bytes of the peer's ChangeCipherSpec seen
    bool ccs_sent;                  //  ours (and, at the client, the Finished)
    bool early;                     //  the client sends before the server's flight
    bool tickets_due;               //  the server answers the client's first record
    uint8_t *hold;                  //  the client's records held for the server's flight
    size_t hold_len;
};

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

//  What an opened record's plaintext means. *body, *body_len: DATA to deliver.
static int
s_plaintext (v2_node_t *self, const uint8_t *p, size_t len, const node_out_t *out,
             const uint8_t **body, size_t *body_len)
{
    *body = p + 1;
    *body_len = 0;
    if (self->ended)
        return -1;                  //  nothing after the end
    switch (p[0]) {
        case V2_DATA:
            *body_len = len - 1;
            return 0;
        case V2_PADDING:
            return 0;
        case V2_COMMAND:
            if (len >= 2)
                out->event (out->ctx, NODE_COMMAND, p[1]);
            return len >= 2 ? 0 : -1;
        case V2_END:
            if (len != 1)
                return -1;          //  an end has no body
            self->ended = true;
            out->event (out->ctx, NODE_ENDED, 0);
            return 0;
        default:                    //  a HELLO after record 0, an unknown type
            return -1;
    }
}

//  Completes the record held in pend from the chunk; delivers it once whole.
static int
s_complete_pend (v2_node_t *self, const uint8_t *data, size_t len, size_t *used,
                 const node_out_t *out)
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
    const uint8_t *body;
    size_t body_len;
    if (v2_open (self->rx, self->pend, L) != 0
    ||  s_plaintext (self, self->pend + head, L, out, &body, &body_len) != 0)
        return -1;
    if (body_len)
        out->data (out->ctx, NODE_INNER, (uint8_t *) body, body_len, 0);
    return 0;
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

//  Whole records opened in place; DATA bodies gathered at data[0..). A
//  COMMAND's event comes before the data of its chunk: the driver acts on
//  commands once the chunk is through (runtime/session_nodes.c does).
static int
s_records (v2_node_t *self, uint8_t *data, size_t len, const node_out_t *out)
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
        const uint8_t *body;
        size_t body_len;
        uint8_t *p = data + r + head;
        if (v2_open (self->rx, data + r, (size_t) L) != 0
        ||  s_plaintext (self, p, (size_t) L, out, &body, &body_len) != 0) {
            rc = -1;
            break;
        }
        if (body_len)
            memmove (data + w, body, body_len);
        w += body_len;
        r += wire;
    }
    if (rc == 0 && r < len)
        rc = s_hold (self, data + r, len - r);
    //  Last: the driver may hand this memory on (nodes/node.h).
    if (w > 0)
        out->data (out->ctx, NODE_INNER, data, w, 0);
    return rc;
}

//  TLS: the peer's one ChangeCipherSpec before its records. -1 if the
//  bytes differ; *used of data were part of it.
static int
s_skip_ccs (v2_node_t *self, const uint8_t *data, size_t len, size_t *used)
{
    *used = 0;
    while (self->ccs_in < TLS_CCS_SIZE && *used < len) {
        if (data[*used] != tls_ccs_record[self->ccs_in])
            return -1;
        self->ccs_in++;
        (*used)++;
    }
    return 0;
}

static int s_tls_tail (v2_node_t *self, const node_out_t *out);
static void s_tickets (v2_node_t *self, const node_out_t *out);

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
        if (self->tls && s_tls_tail (self, out) != 0)
            return -1;
    }
    if (self->tls && self->ccs_in < TLS_CCS_SIZE) {
        if (s_skip_ccs (self, data, len, &used) != 0)
            return -1;
        data += used;
        len -= used;
    }
    //  Before the client's first record is delivered, so that they lead
    //  whatever its data makes the server answer.
    if (self->tickets_due && (len || self->pend_have))
        s_tickets (self, out);
    if (self->pend_have) {
        if (s_complete_pend (self, data, len, &used, out) != 0)
            return -1;
        data += used;
        len -= used;
    }
    return len ? s_records (self, data, len, out) : 0;
}


//  --- Sending

//  Sealed bytes leave now, or, at a TLS client that awaits the server's
//  flight without early data, are held until it came.
static int
s_emit (v2_node_t *self, const node_out_t *out, uint8_t *buf, size_t len, unsigned flags)
{
    if (!self->tls || self->rx || self->early) {
        out->data (out->ctx, NODE_OUTER, buf, len, flags);
        return 0;
    }
    if (len > S_HOLD_MAX - self->hold_len)
        return -1;
    uint8_t *hold = realloc (self->hold, self->hold_len + len);
    if (!hold)
        return -1;
    memcpy (hold + self->hold_len, buf, len);
    self->hold = hold;
    self->hold_len += len;
    return 0;
}

//  The client's ChangeCipherSpec and Finished-sized PADDING record, sealed
//  into pre before its first other record: *pre_len bytes (0 once done).
#define S_PRE_SIZE (TLS_CCS_SIZE + V2_TLS_HEAD_SIZE + 1 + S_FINISHED_BODY + V2_TAG_SIZE)
static int
s_start (v2_node_t *self, uint8_t pre[S_PRE_SIZE], size_t *pre_len)
{
    static const uint8_t zeros[S_FINISHED_BODY];
    *pre_len = 0;
    if (self->ccs_sent)
        return 0;
    self->ccs_sent = true;
    memcpy (pre, tls_ccs_record, TLS_CCS_SIZE);
    int w = v2_seal (self->tx, V2_PADDING, zeros, S_FINISHED_BODY, pre + TLS_CCS_SIZE);
    if (w < 0)
        return -1;
    *pre_len = TLS_CCS_SIZE + (size_t) w;
    return 0;
}

static void
s_flush_hold (v2_node_t *self, const node_out_t *out)
{
    uint8_t *hold = self->hold;
    size_t hold_len = self->hold_len;
    self->hold = NULL;
    self->hold_len = 0;
    if (hold_len)
        out->data (out->ctx, NODE_OUTER, hold, hold_len, 0);
    free (hold);
}

//  The server's flight came (TLS client): the handshake's tail and what
//  was held leave.
static int
s_tls_tail (v2_node_t *self, const node_out_t *out)
{
    uint8_t pre[S_PRE_SIZE];
    size_t pre_len;
    if (s_start (self, pre, &pre_len) != 0)
        return -1;
    if (pre_len)
        out->data (out->ctx, NODE_OUTER, pre, pre_len, 0);
    s_flush_hold (self, out);
    return 0;
}

//  The server's two NewSessionTicket-sized PADDING records.
static void
s_tickets (v2_node_t *self, const node_out_t *out)
{
    static const uint8_t zeros[S_TICKET_BODY];
    uint8_t buf[V2_TLS_HEAD_SIZE + 1 + S_TICKET_BODY + V2_TAG_SIZE];
    self->tickets_due = false;
    for (int i = 0; i < 2 && !self->end_sent; i++) {
        int w = v2_seal (self->tx, V2_PADDING, zeros, S_TICKET_BODY, buf);
        if (w > 0)
            out->data (out->ctx, NODE_OUTER, buf, (size_t) w, 0);
    }
}

static int
s_seal_batch (v2_node_t *self, uint8_t type, const uint8_t *data, size_t len, uint8_t *buf,
              size_t *made, size_t *taken)
{
    *made = *taken = 0;
    for (int i = 0; i < S_BATCH && (*taken < len || (i == 0 && type != V2_DATA)); i++) {
        size_t n = len - *taken < V2_BODY_MAX ? len - *taken : V2_BODY_MAX;
        int w = v2_seal (self->tx, type, data + *taken, n, buf + *made);
        if (w < 0)
            return -1;
        *made += (size_t) w;
        *taken += n;
    }
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
    bool held = self->tls && !self->rx && !self->early;
    if (held && (flags & NODE_PADDING))
        return 0;                   //  no padding while nothing leaves
    //  Sealed first, passed on only after the given bytes are read (they
    //  may lie where what is passed on gets queued).
    uint8_t pre[S_PRE_SIZE];
    size_t pre_len = 0;
    if (self->tls && s_start (self, pre, &pre_len) != 0)
        return -1;
    if ((flags & NODE_END) && held) {
        //  The stream ends before the server's flight came: what is held
        //  leaves now, ahead of the FIN that follows the end record.
        self->early = true;
        s_flush_hold (self, out);
    }
    if (flags & NODE_END) {
        type = V2_END;
        len = 0;
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
    bool mine = !s_scratch_busy;
    uint8_t *buf = mine ? s_scratch : malloc (sizeof s_scratch);
    if (!buf)
        return -1;
    s_scratch_busy = true;
    int rc = 0;
    size_t done = 0;
    do {
        size_t made, taken;
        if (s_seal_batch (self, type, data + done, len - done, buf, &made, &taken) != 0) {
            rc = -1;
            break;
        }
        done += taken;
        if (pre_len && s_emit (self, out, pre, pre_len, 0) != 0) {
            rc = -1;
            break;
        }
        pre_len = 0;
        if (s_emit (self, out, buf, made, out_flags) != 0) {
            rc = -1;
            break;
        }
    } while (done < len);
    if (mine)
        s_scratch_busy = false;
    else
        free (buf);
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
