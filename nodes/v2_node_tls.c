/*  v2_node_tls — the TLS-shaped wire's handshake tail in the v2 node
    (docs/PROTOCOL-v2.md section 9): each side's records start after one
    ChangeCipherSpec record (skipped when received, checked byte for byte);
    the client's first record is a PADDING record sized like a Finished,
    and unless early data is on it holds what it seals until the server's
    flight came (TLS waits one round trip); the server answers the client's
    first record with two PADDING records sized like nginx's
    NewSessionTickets, each in a write of its own. The pauses are TLS's
    too: a server's flight leaves after its key share and signature were
    computed, a client's Finished after it checked that flight (measured
    against nginx and OpenSSL 3 clients on loopback: 0.6-0.8 ms and
    1.1-1.9 ms; without them those two gaps alone told the wire from TLS).
*/
#include "nodes/v2_node_priv.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

//  The pauses, microseconds (uniform; with the ~0.1 ms our own work takes).
#define S_SERVER_PAUSE_MIN 450
#define S_SERVER_PAUSE_MAX 700
#define S_CLIENT_PAUSE_MIN 950
#define S_CLIENT_PAUSE_MAX 1800
#define S_WRITE_PAUSE_MIN 40        //  between two writes of one TLS stack
#define S_WRITE_PAUSE_MAX 120

static unsigned
s_uniform (unsigned lo, unsigned hi)
{
    uint16_t r = 0;
    if (RAND_bytes ((uint8_t *) &r, sizeof r) != 1)
        r = (uint16_t) rand ();
    return lo + (unsigned) r % (hi - lo + 1);
}

unsigned
v2_tls_server_pause_us (void)
{
    return s_uniform (S_SERVER_PAUSE_MIN, S_SERVER_PAUSE_MAX);
}

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

//  What was held, now the caller's (to emit and free).
static uint8_t *
s_take_hold (v2_node_t *self, size_t *len)
{
    uint8_t *hold = self->hold;
    *len = self->hold_len;
    self->hold = NULL;
    self->hold_len = 0;
    return hold;
}

void
v2_tls_flush_hold (v2_node_t *self, const node_out_t *out)
{
    size_t hold_len;
    uint8_t *hold = s_take_hold (self, &hold_len);
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
    //  With early data the Finished is gone already: nothing to pause for.
    //  Else it leaves after the client's pause, and what the user sent
    //  meanwhile (or sends next) right behind it in a write of its own, as
    //  an application writes once its TLS stack says the handshake is done.
    //  The Finished is here, or the start of what was held (sealed there
    //  first).
    bool pause = !self->early;
    size_t hold_len;
    uint8_t *hold = s_take_hold (self, &hold_len);
    size_t lead = pre_len ? 0 : hold_len < V2_TLS_PRE_SIZE ? hold_len : V2_TLS_PRE_SIZE;
    if (pause)
        out->event (out->ctx, NODE_HOLD, s_uniform (S_CLIENT_PAUSE_MIN, S_CLIENT_PAUSE_MAX));
    if (pre_len)
        out->data (out->ctx, NODE_OUTER, pre, pre_len, 0);
    if (lead)
        out->data (out->ctx, NODE_OUTER, hold, lead, 0);
    if (pause)
        out->event (out->ctx, NODE_HOLD, s_uniform (S_WRITE_PAUSE_MIN, S_WRITE_PAUSE_MAX));
    if (hold_len > lead)
        out->data (out->ctx, NODE_OUTER, hold + lead, hold_len - lead, 0);
    free (hold);
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

//  OpenSSL writes each ticket by itself: two segments on the wire, a
//  tenth of a millisecond apart (two writes closer than that, the kernel
//  may send as one).
void
v2_tls_tickets (v2_node_t *self, const node_out_t *out)
{
    self->tickets_due = false;
    s_ticket (self, out);
    out->event (out->ctx, NODE_HOLD, s_uniform (S_WRITE_PAUSE_MIN, S_WRITE_PAUSE_MAX));
    s_ticket (self, out);
}
