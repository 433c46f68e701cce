/*  session_shaping — the mimic (nodes/mimic.h) on a session side's send
    path, after the cipher (runtime/session.h: Shaping). It schedules the
    side's socket queue in place, without a copy: it is given the length of
    every chunk queued toward the side (it learns from them) and, while it
    shapes, releases bytes of the queue as its model says; only released
    bytes are written, and a timer (TIMER_MIMIC) comes back for the next.
*/
#include "nodes/cipher.h"
#include "nodes/mimic.h"
#include "runtime/session_priv.h"
#include "runtime/timers.h"
#include "runtime/worker_priv.h"

bool
session_conn_shaping (conn_t *conn)
{
    return conn->mimic && conn->shaping;
}

void
session_conn_mimic_push (conn_t *conn, size_t len)
{
    if (!conn->mimic || len == 0)
        return;
    if (conn->shaping)
        mimic_push_count (conn->mimic, timers_now_ms (), len);
    else
        mimic_observe (conn->mimic, timers_now_ms (), len);
}

static void
s_mimic_release (void *ctx, const uint8_t *data, size_t len)
{
    conn_t *conn = ctx;
    (void) data;
    conn->released += len;
}

//  What the mimic lets go now; its timer is armed for the next release.
void
session_conn_mimic_pump (session_t *self, conn_t *conn)
{
    uint64_t now = timers_now_ms ();
    uint64_t next = mimic_pump (conn->mimic, now, s_mimic_release, conn);
    if (next == UINT64_MAX)
        return;
    uint64_t armed = self->deadline[TIMER_MIMIC];
    if (armed == 0 || armed > next || armed <= now)
        worker_timer_set (self->worker, self, TIMER_MIMIC, (int) (next - now));
}

//  Whatever the mimic still holds back may go at once (its bytes changed
//  socket, or it stops shaping).
void
session_conn_mimic_release_all (conn_t *conn)
{
    if (conn->mimic)
        mimic_flush (conn->mimic, s_mimic_release, conn);
    conn->released = conn->out.bytes;
}

void
session_set_mimic (session_t *self, session_side_t side, const mimic_model_t *model)
{
    conn_t *conn = side == SESSION_CLIENT ? &self->client : &self->target;
    if (session_dead (self))
        return;
    if (!model) {
        session_conn_mimic_release_all (conn);
        mimic_destroy (&conn->mimic);
        conn->shaping = false;
        conn->released = 0;
        return;
    }
    if (!conn->mimic) {
        conn->mimic = mimic_new (model, timers_now_ms ());
        if (!conn->mimic)
            return;
    }
    else if (mimic_set_model (conn->mimic, model) != 0)
        return;
    //  Identity sizes and no delay is passing through: no need to hold anything.
    bool shaping = !(model->size == SIZE_IDENTITY && model->delay == DELAY_IDENTITY);
    if (shaping != conn->shaping) {
        session_conn_mimic_release_all (conn);
        conn->shaping = shaping;
    }
    if (!session_flush (self, conn))
        session_kill (self, true);
}

void
session_mimic_suspend (session_t *self, session_side_t side, int ms)
{
    conn_t *conn = side == SESSION_CLIENT ? &self->client : &self->target;
    if (session_dead (self) || !conn->mimic)
        return;
    mimic_suspend (conn->mimic, timers_now_ms (), ms);
    if (session_conn_shaping (conn) && !conn->corked && !session_flush (self, conn))
        session_kill (self, true);
}

void
session_set_padding (session_t *self, session_side_t side, session_pad_fn *pad, void *ctx)
{
    conn_t *conn = side == SESSION_CLIENT ? &self->client : &self->target;
    conn->pad = pad;
    conn->pad_ctx = ctx;
}

void
session_pad (session_t *self, session_side_t side, const void *data, size_t len)
{
    conn_t *conn = side == SESSION_CLIENT ? &self->client : &self->target;
    if (session_dead (self) || conn->fd < 0 || !conn->cipher || !session_conn_shaping (conn))
        return;
    //  Encrypted into the queue's tail, released at once: it leaves with the
    //  model send that asked for it, and the mimic does not learn from it.
    session_encrypt_append (self, conn, data, len);
    conn->released += len;
}
