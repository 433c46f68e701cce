/*  baton — the four-step handover of one tunnel (see baton.h): its two
    state machines as transition tables, the dispatcher that runs them, and
    the API. The steps the tables name are in baton_steps.c.

    A row says: in this state, on this event, run these actions, then go to
    that state. An action may raise an exception instead (an event of its
    own, E_ENDING and below): the rest of the row is skipped, the state
    stays, and the exception is looked up next, in that state. A (state,
    event) pair no row lists is ignored. The session's timer is armed for the
    earliest deadline after every event.
*/
#include <stdlib.h>
#include <unistd.h>

#include "actors/baton_priv.h"
#include "runtime/base/log.h"
#include "runtime/timers.h"

#define ACTIONS_MAX 7

typedef struct {
    b_state_t state;
    b_event_t event;
    baton_action_fn *actions[ACTIONS_MAX];
    b_state_t next;
} b_row_t;

//  --------------------------------------------------------------------------
//  Dialing end (PROTOCOL.md section 5, steps 1 and 3). S1 is the tunnel's
//  socket, S2 the new one; the session sends S2's first bytes (the ID, or
//  local_proxy's CONNECT) once it has connected.

static const b_row_t s_dialer[] = {
    //  Step 1: a trigger connects S2 and taps S1. Raised on the way: ANSWERED
    //  (check_liveness), ENDING and NOT_NOW (check_tunnel), DIAL_FAILED (connect).
    { B_IDLE,       E_TRIGGER,
        { baton_check_tunnel, baton_connect, baton_tap, baton_limit_connect },  B_CONNECTING },
    { B_IDLE,       E_PERIODIC_DUE,
        { baton_check_tunnel, baton_check_quiet,
          baton_connect, baton_tap, baton_limit_connect },                      B_CONNECTING },
    { B_IDLE,       E_LIVENESS_DUE,
        { baton_check_liveness,
          baton_check_tunnel, baton_connect, baton_tap, baton_limit_connect },  B_CONNECTING },
    { B_IDLE,       E_ANSWERED,         { NULL },                               B_IDLE },
    { B_IDLE,       E_ENDING,           { NULL },                               B_IDLE },
    { B_IDLE,       E_NOT_NOW,          { baton_retry_soon },                   B_IDLE },
    { B_IDLE,       E_DIAL_FAILED,
        { baton_fail_dial, baton_give_up, baton_schedule_next },                B_IDLE },

    { B_CONNECTING, E_CONNECTED,        { baton_start_clock },                  B_WAITING },
    { B_CONNECTING, E_PROXY_CONNECTED,  { baton_limit_connect },                B_PROXY },
    { B_CONNECTING, E_CONNECT_FAILED,
        { baton_fail_connect, baton_give_up, baton_schedule_next },             B_IDLE },
    { B_CONNECTING, E_LOST,             { baton_note_lost },                    B_AFTERMATH },
    { B_CONNECTING, E_STEP_DUE,
        { baton_fail_connect_timeout, baton_give_up, baton_schedule_next },     B_IDLE },

    //  Behind local_proxy: its 200, then the ID (read_proxy_reply raises
    //  PROXY_200 or PROXY_REFUSED once the answer is complete)
    { B_PROXY,      E_HELD,             { baton_read_proxy_reply },             B_PROXY },
    { B_PROXY,      E_PROXY_200,        { baton_send_id, baton_start_clock },   B_WAITING },
    { B_PROXY,      E_PROXY_REFUSED,
        { baton_fail_proxy_refused, baton_give_up, baton_schedule_next },       B_IDLE },
    { B_PROXY,      E_LOST,
        { baton_fail_proxy_closed, baton_give_up, baton_schedule_next },        B_IDLE },
    { B_PROXY,      E_STEP_DUE,
        { baton_fail_proxy_silent, baton_give_up, baton_schedule_next },        B_IDLE },

    //  Step 3: HO_R2L within 3 s, or the tunnel is broken
    { B_WAITING,    E_HO_R2L,
        { baton_send_ho_complete_l2r, baton_switch_reads_wait_eof, baton_next_id,
          baton_limit_retire, baton_done },                                     B_RETIRING },
    { B_WAITING,    E_LOST,             { baton_note_lost },                    B_AFTERMATH },
    { B_WAITING,    E_STEP_DUE,         { baton_break_no_ho_r2l },              B_IDLE },

    //  S2 closed (the ID refused?): S1 stays tapped for the rest of the 3 s
    { B_AFTERMATH,  E_HO_R2L,           { baton_break_after_switch },           B_IDLE },
    { B_AFTERMATH,  E_STEP_DUE,         { baton_give_up, baton_schedule_next }, B_IDLE },

    //  S1 writes HO_COMPLETE_L2R and what came before, and the acceptor closes it
    { B_RETIRING,   E_RETIRED,          { baton_schedule_next },                B_IDLE },
    { B_RETIRING,   E_STEP_DUE,         { baton_drop, baton_schedule_next },    B_IDLE },

    //  Handover connections are the accepting end's
    { B_ANY,        E_SOCKET,           { baton_close_socket },                 B_SAME },
};

//  --------------------------------------------------------------------------
//  Accepting end (steps 2 and 4). The extra port read the ID and found this
//  tunnel under it (actors/handover_port.c); the registry gave its entry up.

static const b_row_t s_acceptor[] = {
    //  Step 2: tap S1, HO_R2L on it, and from then on write to S2 (adopt
    //  raises REFUSED if the tunnel is ending or the session cannot take S2)
    { B_IDLE,       E_SOCKET,
        { baton_adopt, baton_tap, baton_send_ho_r2l, baton_switch_writes,
          baton_register_next_id, baton_start_clock, baton_trace_accepted },    B_SWITCHING },
    { B_IDLE,       E_REFUSED,          { baton_refuse },                       B_IDLE },

    //  Step 4: HO_COMPLETE_L2R within 3 s, more while S1 still writes what
    //  preceded HO_R2L (up to STALL_CAP_MS); extend_while_moving raises STALLED
    { B_SWITCHING,  E_HO_COMPLETE_L2R,
        { baton_switch_reads, baton_limit_retire, baton_done },                 B_RETIRING },
    { B_SWITCHING,  E_STEP_DUE,         { baton_extend_while_moving },          B_SWITCHING },
    { B_SWITCHING,  E_STALLED,          { baton_break_no_complete },            B_IDLE },
    //  An original dialer (baton_linger) writes to S1 until it sees S1 end,
    //  and must not see that before its own flush: S1 is read a while, then
    //  gets our FIN, and its end moves the reads
    { B_SWITCHING,  E_LINGER,           { baton_linger_start, baton_done },     B_LINGERING },
    { B_LINGERING,  E_STEP_DUE,         { baton_shut_old },                     B_SHUTTING },
    { B_SHUTTING,   E_LOST,             { baton_switch_reads_now, baton_limit_retire },
                                                                                B_RETIRING },
    { B_SHUTTING,   E_STEP_DUE,         { baton_switch_reads_now, baton_limit_retire },
                                                                                B_RETIRING },

    //  S1 writes its last bytes, then closes
    { B_RETIRING,   E_RETIRED,          { baton_schedule_next },                B_IDLE },
    { B_RETIRING,   E_STEP_DUE,         { baton_drop, baton_schedule_next },    B_IDLE },

    //  One handover at a time: the dialer presents the same ID again later
    { B_ANY,        E_SOCKET,           { baton_refuse },                       B_SAME },
};

//  --------------------------------------------------------------------------
//  The engine

static const char *s_state_names[] = { "idle", "connecting", "proxy", "waiting", "aftermath",
                                       "switching", "retiring", "lingering", "shutting" };
static const char *s_event_names[E_COUNT] = {
    "-", "TRIGGER", "SOCKET", "CONNECTED", "PROXY_CONNECTED", "CONNECT_FAILED", "LOST", "HELD",
    "HO_R2L", "HO_COMPLETE_L2R", "RETIRED", "STEP_DUE", "LIVENESS_DUE", "PERIODIC_DUE", "ENDING",
    "NOT_NOW", "DIAL_FAILED", "ANSWERED", "PROXY_200", "PROXY_REFUSED", "REFUSED", "STALLED",
    "LINGER"
};

void
baton_raise (baton_t *self, b_event_t event)
{
    self->exception = event;
}

static const b_row_t *
s_find (baton_t *self, b_event_t event)
{
    const b_row_t *table = self->dialing ? s_dialer : s_acceptor;
    size_t rows = self->dialing ? sizeof s_dialer / sizeof s_dialer[0]
                                : sizeof s_acceptor / sizeof s_acceptor[0];
    for (size_t i = 0; i < rows; i++)
        if (table[i].event == event && (table[i].state == self->state || table[i].state == B_ANY))
            return &table[i];
    return NULL;
}

//  Runs event's row, then the exceptions it raises.
static void
s_execute (baton_t *self, b_event_t event)
{
    while (event != E_NONE && !self->broken && !self->destroyed) {
        const b_row_t *row = s_find (self, event);
        log_debug ("wormhole %s: handover: %s, %s%s", self->wormhole->conf->name,
                   s_state_names[self->state], s_event_names[event], row ? "" : " (ignored)");
        if (!row)
            return;
        unsigned serial = ++self->serial;
        self->exception = E_NONE;
        for (size_t i = 0; i < ACTIONS_MAX && row->actions[i] && !self->exception; i++) {
            row->actions[i] (self);
            //  The session called back (S2 failed as the ID went out): that
            //  event's row has decided, the rest of this one is moot. Or the
            //  owner destroyed the baton meanwhile (tunnel_mux, when the
            //  switch delivered S2's end): nothing is left to do.
            if (self->serial != serial || self->destroyed)
                return;
        }
        if (!self->exception && row->next != B_SAME)
            self->state = row->next;
        event = self->exception;
    }
}

static void
s_arm (baton_t *self)
{
    //  The triggers' deadlines count in IDLE only, where their rows are:
    //  one that passes during a handover would fire the timer at once,
    //  again and again, until the handover is over.
    bool idle = self->state == B_IDLE;
    uint64_t next = UINT64_MAX;
    uint64_t candidates[] = { self->step_at, idle ? self->periodic_at : 0,
                              idle ? self->liveness_at : 0 };
    for (size_t i = 0; i < sizeof candidates / sizeof candidates[0]; i++)
        if (candidates[i] && candidates[i] < next)
            next = candidates[i];
    if (next == UINT64_MAX) {
        session_set_handover_timer (self->session, -1);
        return;
    }
    uint64_t now = timers_now_ms ();
    session_set_handover_timer (self->session, next > now ? (int) (next - now) : 0);
}

static void
s_free (baton_t *self)
{
    inband_rx_destroy (&self->rx);
    free (self);
}

static b_event_t
s_event_of (baton_t *self, const handover_event_t *event)
{
    switch (event->kind) {
        case HANDOVER_TRIGGER:
            return E_TRIGGER;
        case HANDOVER_SOCKET:
            return E_SOCKET;
        case HANDOVER_CONNECTED:
            if (event->err)
                return E_CONNECT_FAILED;
            return self->wormhole->conf->has_local_proxy ? E_PROXY_CONNECTED : E_CONNECTED;
        case HANDOVER_LOST:
            return E_LOST;
        case HANDOVER_HELD:
            return E_HELD;
        case HANDOVER_COMMAND:
            return event->cmd == INBAND_HO_R2L           ? E_HO_R2L
                 : event->cmd == INBAND_HO_COMPLETE_L2R  ? E_HO_COMPLETE_L2R : E_NONE;
        case HANDOVER_RETIRED:
            return E_RETIRED;
        case HANDOVER_TIMER:
            break;
    }
    return E_NONE;
}

//  One event from the session (or the API), then the timer for what is due
//  next. The owner hears of a broken tunnel last, when the baton is no
//  longer touched (it may destroy it). Returns false if the baton may be
//  gone then.
static bool
s_run (baton_t *self, const handover_event_t *event)
{
    const handover_event_t *outer = self->event;
    self->event = event;
    self->depth++;
    self->now = timers_now_ms ();
    if (event->kind == HANDOVER_TIMER) {
        //  Each deadline that has come, in this order; a step's limit is
        //  spent once it has been handled.
        if (self->step_at && self->now >= self->step_at) {
            self->step_at = 0;
            s_execute (self, E_STEP_DUE);
        }
        if (!self->destroyed && self->liveness_at && self->now >= self->liveness_at)
            s_execute (self, E_LIVENESS_DUE);
        if (!self->destroyed && self->periodic_at && self->now >= self->periodic_at)
            s_execute (self, E_PERIODIC_DUE);
    }
    else
        s_execute (self, s_event_of (self, event));
    if (!self->destroyed)
        s_arm (self);
    self->event = outer;
    if (--self->depth > 0)
        return !self->destroyed;
    if (self->destroyed) {
        s_free (self);
        return false;
    }
    if (self->broken) {
        self->broken = false;
        baton_owner_t owner = self->owner;
        if (owner.broken)
            owner.broken (owner.ctx);
        return false;
    }
    return true;
}

//  --------------------------------------------------------------------------
//  The API (baton.h)

baton_t *
baton_new (session_t *session, session_side_t side, const wormhole_t *wormhole, bool dialing,
           const uint8_t id0[16], const baton_owner_t *owner)
{
    const wormhole_conf_t *conf = wormhole->conf;
    if (conf->extra_port_count == 0)
        return NULL;
    baton_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->session = session;
    self->side = side;
    self->wormhole = wormhole;
    self->dialing = dialing;
    if (owner)
        self->owner = *owner;
    self->n = 1;
    if (tunnel_wire_needs_tap (conf) && !(self->rx = inband_rx_new (conf->key, conf->key_len))) {
        free (self);
        return NULL;
    }
    //  ID(1) is known now, but for a v2 dialer: it learns its IDs with the
    //  server's flight, and computes each at its handover (baton_connect).
    bool later = tunnel_wire_v2 (conf) && dialing;
    if (tunnel_wire_handover_id (session, side, conf, 1, id0, self->id) != 0 && !later) {
        inband_rx_destroy (&self->rx);
        free (self);
        return NULL;
    }
    self->now = timers_now_ms ();
    if (dialing)
        baton_schedule_next (self);
    else
        baton_register (self);
    s_arm (self);
    return self;
}

void
baton_linger (baton_t *self, int ms)
{
    self->linger_ms = ms > 0 ? ms : 0;
}

void
baton_destroy (baton_t **self_p)
{
    baton_t *self = *self_p;
    if (!self)
        return;
    baton_unregister (self);
    if (self->state != B_IDLE || session_handover_busy (self->session)) {
        session_handover_tap (self->session, NULL);
        session_handover_drop (self->session);
    }
    session_set_handover_timer (self->session, -1);
    *self_p = NULL;
    //  Called back from one of the baton's own session calls: the engine
    //  frees it on its way out.
    if (self->depth > 0)
        self->destroyed = true;
    else
        s_free (self);
}

void
baton_event (baton_t *self, const handover_event_t *event)
{
    if (!self) {
        if (event->kind == HANDOVER_SOCKET && event->fd >= 0)
            close (event->fd);
        return;
    }
    s_run (self, event);
}

int
baton_start (baton_t *self)
{
    if (!self || !self->dialing || self->state != B_IDLE)
        return -1;
    handover_event_t trigger = { .kind = HANDOVER_TRIGGER, .fd = -1 };
    if (!s_run (self, &trigger))
        return -1;
    return self->state == B_CONNECTING ? 0 : -1;
}

void
baton_user_arrived (baton_t *self)
{
    if (!self || !self->dialing)
        return;
    uint64_t now = timers_now_ms ();
    self->last_arrival = now;
    if (!self->unanswered_since || self->heard_at >= self->unanswered_since)
        self->unanswered_since = now;
    if (!self->liveness_at) {
        self->liveness_at = now + baton_liveness_delay ();
        s_arm (self);
    }
}

void
baton_heard (baton_t *self)
{
    if (self)
        self->heard_at = timers_now_ms ();
}
