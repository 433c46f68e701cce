/*  session_nodes — a session side's node stack (nodes/node.h): every byte
    sent to the side goes through it from inner to outer, every byte read
    from it from outer to inner, and the session does not know which nodes
    they are (a tunnel's: the cipher, the mimic, and during a handover the
    in-band scanner).

    No copy of its own: a block read from the socket goes through the stack
    in place and is delivered as it is when it comes out whole; bytes to
    send are run through in a pool block or in the free room at the tail of
    the socket's queue, where they stay. A node that cannot work in place
    (v2's records) gets room (node_out_t.room): a block to open into, which
    is delivered, and the free room at the queue's tail to seal into, which
    is committed where it lies. Only what a node passes on from memory of
    its own (a scanner's held bytes, a record layer's scratch) is copied.

    A node that gates the outer end (a shaper) decides when the queued bytes
    leave: only the bytes it RELEASEs are written, and a timer (TIMER_NODES)
    comes back when it asks to be WOKEN. A SHORTFALL goes to the side's pad
    callback once the stack has returned.
*/
#include <string.h>

#include "runtime/base/log.h"
#include "runtime/handover.h"
#include "runtime/session_priv.h"
#include "runtime/timers.h"
#include "runtime/worker_priv.h"

#define S_COMMANDS_MAX 8        //  per chunk (a 16-byte command per 2 bytes of CMD at most)

typedef struct {
    session_t *self;
    conn_t *side;
    buf_t *buf;                 //  the caller's block, until it is passed on whole
    bool tail;                  //  bytes to send were written into the queue's tail
    buf_t *room_in;             //  the block offered inward, until it is delivered
    uint8_t *room_out;          //  the queue's tail room offered outward
    size_t room_out_len;
    bool flush;                 //  bytes were queued: write them once the stack is through
    uint8_t cmds[S_COMMANDS_MAX];
    size_t ncmds;
    bool overflow;              //  more commands than a chunk can hold
    size_t shortfall;
    uint64_t wake;
} s_call_t;

static bool
s_owns (buf_t *buf, const uint8_t *data, size_t len)
{
    return buf && data == buf->data + buf->off && len == buf->len - buf->off;
}

//  The caller's block from its start, the rest dropped (nodes/node.h).
static bool
s_owns_prefix (buf_t *buf, const uint8_t *data, size_t len)
{
    if (!buf || data != buf->data + buf->off || len > buf->len - buf->off)
        return false;
    buf->len = buf->off + (uint32_t) len;
    return true;
}

//  Bytes from memory that is not the session's: copied into blocks, each
//  handed to take (session_deliver, or session_nodes_in to run it in).
static void
s_copy_in (session_t *self, conn_t *side, const uint8_t *data, size_t len,
           void (*take) (session_t *self, conn_t *side, buf_t *buf))
{
    bufpool_t *pool = worker_pool (self->worker);
    size_t cap = bufpool_block_size (pool);
    while (len > 0 && !session_dead (self)) {
        buf_t *buf = bufpool_get (pool);
        size_t n = len < cap ? len : cap;
        memcpy (buf->data, data, n);
        buf->len = (uint32_t) n;
        take (self, side, buf);
        data += n;
        len -= n;
    }
}

static void
s_queue_tail (session_t *self, conn_t *side, uint8_t *data, size_t len)
{
    bufpool_t *pool = worker_pool (self->worker);
    size_t room;
    uint8_t *at = bufq_reserve (&side->out, pool, &room);
    if (data >= at && data < at + room && len <= room - (size_t) (data - at)) {
        memmove (at, data, len);        //  in place: nothing moves when data == at
        bufq_commit (&side->out, len);
    }
    else
        bufq_append (&side->out, pool, data, len);
}

//  Room for a node (nodes/node.h). Outward, none while the bytes being sent
//  lie in the queue's tail room themselves (the node reads them from there).
static uint8_t *
s_on_room (void *ctx, node_side_t to, size_t *len)
{
    s_call_t *call = ctx;
    session_t *self = call->self;
    bufpool_t *pool = worker_pool (self->worker);
    if (session_dead (self))
        return NULL;
    if (to == NODE_INNER) {
        if (!call->room_in)
            call->room_in = bufpool_get (pool);
        *len = bufpool_block_size (pool);
        return call->room_in->data;
    }
    if (call->tail)
        return NULL;
    call->room_out = bufq_reserve (&call->side->out, pool, &call->room_out_len);
    *len = call->room_out_len;
    return call->room_out;
}

static void
s_on_data (void *ctx, node_side_t to, uint8_t *data, size_t len, unsigned flags)
{
    s_call_t *call = ctx;
    session_t *self = call->self;
    (void) flags;
    if (session_dead (self) || len == 0)
        return;
    if (to == NODE_OUTER && call->room_out && data == call->room_out && len <= call->room_out_len) {
        bufq_commit (&call->side->out, len);
        call->room_out = NULL;
        call->flush = true;
        return;
    }
    if (to == NODE_INNER && call->room_in && data == call->room_in->data
    &&  len <= bufpool_block_size (worker_pool (self->worker))) {
        buf_t *buf = call->room_in;
        call->room_in = NULL;
        buf->off = 0;
        buf->len = (uint32_t) len;
        session_deliver (self, call->side, buf);
        return;
    }
    if (to == NODE_INNER) {
        if (s_owns_prefix (call->buf, data, len)) {
            buf_t *buf = call->buf;
            call->buf = NULL;
            session_deliver (self, call->side, buf);
        }
        else
            s_copy_in (self, call->side, data, len, session_deliver);
    }
    else
    if (call->tail)
        s_queue_tail (self, call->side, data, len);
    else
    if (s_owns (call->buf, data, len)) {
        buf_t *buf = call->buf;
        call->buf = NULL;
        session_forward_raw (self, call->side, buf);
    }
    else {
        s_queue_tail (self, call->side, data, len);
        call->flush = true;
    }
}

static void
s_on_event (void *ctx, node_event_t event, uint64_t value)
{
    s_call_t *call = ctx;
    switch (event) {
        case NODE_COMMAND:
            if (call->ncmds < S_COMMANDS_MAX)
                call->cmds[call->ncmds++] = (uint8_t) value;
            else
                call->overflow = true;
            break;
        case NODE_RELEASE:
            call->side->released += (size_t) value;
            break;
        case NODE_WAKE:
            if (value < call->wake)
                call->wake = value;
            break;
        case NODE_SHORTFALL:
            call->shortfall += (size_t) value;
            break;
        case NODE_ENDED:
            call->side->end_seen = true;
            break;
        case NODE_HOLD:
            //  At once: the pause begins behind what the node emitted so far.
            session_conn_hold (call->self, call->side, value > 1000000 ? 1000000 : (unsigned) value);
            break;
    }
}

#define S_OUT(call) { s_on_data, s_on_event, &(call), s_on_room }

//  After a call into the stack: a broken stream ends the session; commands
//  reach the handler after the bytes they came behind.
static void
s_after (session_t *self, s_call_t *call, int rc)
{
    if (call->buf)
        bufpool_put (worker_pool (self->worker), call->buf);
    if (call->room_in)
        bufpool_put (worker_pool (self->worker), call->room_in);
    if (session_dead (self))
        return;
    if (rc != 0 || call->overflow) {
        if (!call->side->failed) {
            const char *node = call->side->nodes ? node_stack_failed (call->side->nodes) : NULL;
            log_warn ("%s: %s: the tunnel's stream is not understood; closing", self->peer,
                      node ? node : "in-band");
        }
        session_side_failed (self, call->side, EPROTO);
        return;
    }
    if (call->flush && !call->side->corked && !session_flush (self, call->side)) {
        session_kill (self, true);
        return;
    }
    //  A node asked to be pumped again (a shaper's next release, a record
    //  layer's second ticket).
    if (call->wake != UINT64_MAX) {
        uint64_t now = timers_now_ms ();
        uint64_t armed = self->deadline[TIMER_NODES];
        if (armed == 0 || armed > call->wake || armed <= now)
            session_arm (self, TIMER_NODES, call->wake > now ? (int) (call->wake - now) : 0);
    }
    for (size_t i = 0; i < call->ncmds && !session_dead (self); i++) {
        handover_event_t event = { .kind = HANDOVER_COMMAND, .cmd = call->cmds[i], .fd = -1 };
        session_handover_notify (self, &event);
    }
}

void
session_nodes_in (session_t *self, conn_t *side, buf_t *buf)
{
    s_call_t call = { .self = self, .side = side, .buf = buf, .wake = UINT64_MAX };
    node_out_t out = S_OUT (call);
    int rc = node_stack_recv (side->nodes, NODE_OUTER, buf->data + buf->off, buf->len - buf->off,
                              0, &out);
    s_after (self, &call, rc);
}

void
session_nodes_out_block (session_t *self, conn_t *side, buf_t *buf)
{
    s_call_t call = { .self = self, .side = side, .buf = buf, .wake = UINT64_MAX };
    node_out_t out = S_OUT (call);
    int rc = node_stack_recv (side->nodes, NODE_INNER, buf->data + buf->off, buf->len - buf->off,
                              0, &out);
    s_after (self, &call, rc);
}

void
session_nodes_out_room (session_t *self, conn_t *side, uint8_t *at, size_t len, unsigned flags)
{
    s_call_t call = { .self = self, .side = side, .tail = true, .wake = UINT64_MAX };
    node_out_t out = S_OUT (call);
    s_after (self, &call, node_stack_recv (side->nodes, NODE_INNER, at, len, flags, &out));
}

void
session_nodes_out_tail (session_t *self, conn_t *side, const void *data, size_t len,
                        unsigned flags)
{
    bufpool_t *pool = worker_pool (self->worker);
    const uint8_t *p = data;
    while (len > 0 && !session_dead (self)) {
        size_t room;
        uint8_t *at = bufq_reserve (&side->out, pool, &room);
        size_t n = room < len ? room : len;
        memcpy (at, p, n);
        session_nodes_out_room (self, side, at, n, flags);
        p += n;
        len -= n;
    }
}

bool
session_seal_end (session_t *self, conn_t *conn)
{
    if (!conn->nodes || conn->end_sealed || !node_stack_marks_end (conn->nodes))
        return false;
    conn->end_sealed = true;
    size_t room;
    uint8_t *at = bufq_reserve (&conn->out, worker_pool (self->worker), &room);
    session_nodes_out_room (self, conn, at, 0, NODE_END);
    return !session_dead (self);
}

bool
session_ends_cut (conn_t *conn)
{
    return conn->nodes && !conn->end_seen && node_stack_marks_end (conn->nodes);
}

bool
session_gated (conn_t *conn)
{
    bool gated = conn->nodes && node_stack_gated (conn->nodes);
    //  A gate that closes lets go what was queued before it: only what
    //  comes next is its to schedule.
    if (gated && !conn->gated)
        conn->released = conn->out.bytes;
    conn->gated = gated;
    return gated;
}

void
session_nodes_pump (session_t *self, conn_t *side)
{
    s_call_t call = { .self = self, .side = side, .tail = true, .wake = UINT64_MAX };
    node_out_t out = S_OUT (call);
    uint64_t now = timers_now_ms ();
    node_stack_pump (side->nodes, now, &out);
    s_after (self, &call, 0);
    if (call.shortfall && side->pad && !session_dead (self))
        side->pad (side->pad_ctx, call.shortfall);
}

void
session_nodes_release_all (session_t *self, conn_t *side)
{
    if (side->nodes) {
        s_call_t call = { .self = self, .side = side, .tail = true, .wake = UINT64_MAX };
        node_out_t out = S_OUT (call);
        node_stack_flush (side->nodes, NODE_OUTER, &out);
        s_after (self, &call, 0);
    }
    side->released = side->out.bytes;
}

//  --- Tapping: a scanner borrowed into the innermost place of the stack

void
session_handover_tap (session_t *self, const node_t *scanner)
{
    if (scanner) {
        conn_t *side = self->baton;
        if (!side || self->tap)
            return;
        if (!side->nodes)
            side->nodes = node_stack_new ();
        if (side->nodes
        &&  node_stack_add (side->nodes, NODE_INNER, scanner->cls, scanner->state) == 0) {
            self->tap = scanner->state;
            self->tap_side = side;
        }
        return;
    }
    if (!self->tap)
        return;
    //  Bytes the scanner held back are data: they go first.
    conn_t *side = self->tap_side;
    void *tap = self->tap;
    self->tap = NULL;
    self->tap_side = NULL;
    s_call_t call = { .self = self, .side = side, .wake = UINT64_MAX };
    node_out_t out = S_OUT (call);
    int rc = node_stack_remove (side->nodes, tap, &out);
    s_after (self, &call, rc);
}

//  --- The API (runtime/session.h)

void
session_feed_read (session_t *self, session_side_t side, const void *data, size_t len)
{
    conn_t *conn = session_conn (self, side);
    s_copy_in (self, conn, data, len, conn->nodes ? session_nodes_in : session_deliver);
}

void
session_send_command (session_t *self, session_side_t side, uint8_t code)
{
    conn_t *conn = session_conn (self, side);
    if (session_dead (self) || !conn->nodes)
        return;
    session_nodes_out_tail (self, conn, &code, 1, NODE_CONTROL);
    if (!session_dead (self) && !conn->corked && !session_flush (self, conn))
        session_kill (self, true);
}

int
session_add_node (session_t *self, session_side_t side, node_side_t end,
                  const node_class_t *cls, void *state)
{
    conn_t *conn = session_conn (self, side);
    if (!conn->nodes)
        conn->nodes = node_stack_new ();
    if (!conn->nodes || node_stack_add (conn->nodes, end, cls, state) != 0) {
        if (cls->destroy)
            cls->destroy (&state);
        return -1;
    }
    session_nodes_changed (self, side);
    return 0;
}

void *
session_node (session_t *self, session_side_t side, const node_class_t *cls)
{
    conn_t *conn = session_conn (self, side);
    return conn->nodes ? node_stack_find (conn->nodes, cls) : NULL;
}

void
session_nodes_changed (session_t *self, session_side_t side)
{
    conn_t *conn = session_conn (self, side);
    if (!session_dead (self) && !conn->corked && !session_flush (self, conn))
        session_kill (self, true);
}

void
session_set_padding (session_t *self, session_side_t side, session_pad_fn *pad, void *ctx)
{
    conn_t *conn = session_conn (self, side);
    conn->pad = pad;
    conn->pad_ctx = ctx;
}

void
session_pad (session_t *self, session_side_t side, const void *data, size_t len)
{
    conn_t *conn = session_conn (self, side);
    if (session_dead (self) || conn->fd < 0 || !session_gated (conn))
        return;
    //  Into the queue's tail, released at once: it leaves with the model
    //  send that asked for it, and the gate does not learn from it.
    session_nodes_out_tail (self, conn, data, len, NODE_PADDING);
}
