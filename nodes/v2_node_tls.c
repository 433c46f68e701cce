/*  v2_node_tls — the TLS-shaped wire's handshake tail in the v2 node
    (docs/PROTOCOL-v2.md section 9): each side's records start after one
    ChangeCipherSpec record (skipped when received, checked byte for byte);
    the client's first record is a PADDING record sized like a Finished,
    and unless early data is on it holds what it seals until the server's
    flight came (TLS waits one round trip); the server answers the client's
    first record with two PADDING records sized like nginx's
    NewSessionTickets, each in a write of its own.
*/
#include "nodes/v2_node_priv.h"

#include <stdlib.h>
#include <string.h>

#define S_HOLD_MAX (1u << 20)       //  sealed before the server's flight

int
v2_tls_skip_ccs (v2_node_t *self, const uint8_t *data, size_t len, size_t *used)
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

int
v2_tls_start (v2_node_t *self, uint8_t pre[V2_TLS_PRE_SIZE], size_t *pre_len)
{
    static const uint8_t zeros[V2_TLS_FINISHED_BODY];
    *pre_len = 0;
    if (!self->tls || self->ccs_sent)
        return 0;
    self->ccs_sent = true;
    memcpy (pre, tls_ccs_record, TLS_CCS_SIZE);
    int w = v2_seal (self->tx, V2_PADDING, zeros, V2_TLS_FINISHED_BODY, pre + TLS_CCS_SIZE);
    if (w < 0)
        return -1;
    *pre_len = TLS_CCS_SIZE + (size_t) w;
    return 0;
}

int
v2_tls_hold (v2_node_t *self, const uint8_t *data, size_t len)
{
    if (len > S_HOLD_MAX - self->hold_len)
        return -1;
    uint8_t *hold = realloc (self->hold, self->hold_len + len);
    if (!hold)
        return -1;
    memcpy (hold + self->hold_len, data, len);
    self->hold = hold;
    self->hold_len += len;
    return 0;
}

void
v2_tls_flush_hold (v2_node_t *self, const node_out_t *out)
{
    uint8_t *hold = self->hold;
    size_t hold_len = self->hold_len;
    self->hold = NULL;
    self->hold_len = 0;
    if (hold_len)
        out->data (out->ctx, NODE_OUTER, hold, hold_len, 0);
    free (hold);
}

int
v2_tls_tail (v2_node_t *self, const node_out_t *out)
{
    uint8_t pre[V2_TLS_PRE_SIZE];
    size_t pre_len;
    if (v2_tls_start (self, pre, &pre_len) != 0)
        return -1;
    if (pre_len)
        out->data (out->ctx, NODE_OUTER, pre, pre_len, 0);
    v2_tls_flush_hold (self, out);
    return 0;
}

static void
s_ticket (v2_node_t *self, const node_out_t *out)
{
    static const uint8_t zeros[V2_TLS_TICKET_BODY];
    uint8_t buf[V2_TLS_HEAD_SIZE + 1 + V2_TLS_TICKET_BODY + V2_TAG_SIZE];
    if (self->end_sent)
        return;
    int w = v2_seal (self->tx, V2_PADDING, zeros, V2_TLS_TICKET_BODY, buf);
    if (w > 0)
        out->data (out->ctx, NODE_OUTER, buf, (size_t) w, 0);
}

//  OpenSSL writes each ticket by itself: two segments on the wire. The
//  second one leaves from the pump a millisecond later (the first one is
//  written by then, even by a driver that pumps before each write), unless
//  something else is sealed first.
void
v2_tls_tickets (v2_node_t *self, const node_out_t *out)
{
    self->tickets_due = false;
    s_ticket (self, out);
    self->tickets_left = 1;
    out->event (out->ctx, NODE_WAKE, 0);
}

void
v2_tls_pump_tickets (v2_node_t *self, uint64_t now_ms, const node_out_t *out)
{
    if (self->tickets_left == 0)
        return;
    if (self->tickets_at == 0) {
        self->tickets_at = now_ms + 1;
        out->event (out->ctx, NODE_WAKE, self->tickets_at);
    }
    else
    if (now_ms >= self->tickets_at)
        for (; self->tickets_left > 0; self->tickets_left--)
            s_ticket (self, out);
    else
        out->event (out->ctx, NODE_WAKE, self->tickets_at);
}
