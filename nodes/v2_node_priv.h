/*  v2_node_priv — the v2 node's state, shared by v2_node.c (the record
    layer) and v2_node_tls.c (the TLS-shaped wire's handshake tail). Not for
    use outside those two.
*/
#ifndef MK_V2_NODE_PRIV_H
#define MK_V2_NODE_PRIV_H

#include "nodes/v2_node.h"

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

#define V2_TLS_FINISHED_BODY (69 - V2_TAG_SIZE - 1)     //  a SHA-384 Finished: 69 bytes sealed
#define V2_TLS_TICKET_BODY (298 - V2_TAG_SIZE - 1)      //  nginx's NewSessionTicket: 298
#define V2_TLS_END_BODY 2                               //  an END sized as a close_notify alert
//  The client's ChangeCipherSpec and its Finished-sized PADDING record.
#define V2_TLS_PRE_SIZE (TLS_CCS_SIZE + V2_TLS_HEAD_SIZE + 1 + V2_TLS_FINISHED_BODY + V2_TAG_SIZE)

//  A TLS client that holds what it seals until the server's flight came
//  (no early data).
static inline bool
v2_tls_holds (const v2_node_t *self)
{
    return self->tls && !self->rx && !self->early;
}

//  The peer's one ChangeCipherSpec before its records. -1 if the bytes
//  differ; *used of data were part of it.
int v2_tls_skip_ccs (v2_node_t *self, const uint8_t *data, size_t len, size_t *used);
//  The client's ChangeCipherSpec and Finished, sealed into pre before its
//  first other record: *pre_len bytes (0 once done).
int v2_tls_start (v2_node_t *self, uint8_t pre[V2_TLS_PRE_SIZE], size_t *pre_len);
//  Sealed bytes kept until the server's flight came; -1 past the bound
//  (the caller then stops waiting: what is held leaves, as with early data).
int v2_tls_hold (v2_node_t *self, const uint8_t *data, size_t len);
//  What was held leaves now.
void v2_tls_flush_hold (v2_node_t *self, const node_out_t *out);
//  The server's flight came (client): the handshake's tail and what was
//  held leave.
int v2_tls_tail (v2_node_t *self, const node_out_t *out);
//  The server's two NewSessionTicket-sized PADDING records, the second
//  one in a write of its own.
void v2_tls_tickets (v2_node_t *self, const node_out_t *out);

#endif
