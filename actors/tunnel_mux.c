/*  tunnel_mux — an aggregated wormhole's tunnel carrying many streams (see
    tunnel_mux.h): the tunnel's life as a transition table for each end, the
    dispatcher that runs them, the handler class and tunnel_mux_attach. The
    streams (frames, stream ops, credits) are in tunnel_mux_streams.c.

    States:
      BACKOFF  (dialing end) the tunnel dropped; dial again when the timer
               fires or a user arrives
      DIALING  (dialing end) connecting, proxy, hello; streams may already
               queue their frames behind the hello
      UP       frames flow
      DEAD     (accepting end) the tunnel is gone; the session is ending

    A row says: in this state, on this event, run these actions; the state
    becomes the row's next one where the row says ENTER, else after its last
    action. An action may raise an event of its own (TE_NO_CRYPTO and below):
    it is handled at once, in the state of that moment, and then the rest of
    the row goes on. A (state, event) pair no row lists is ignored.
*/
#include "actors/tunnel_mux_priv.h"

#include <stdlib.h>
#include <string.h>

#include "actors/tunnel_wire.h"
#include "runtime/base/log.h"

#define ACTIONS_MAX 7

typedef struct {
    t_state_t state;
    t_event_t event;
    tunnel_mux_action_fn *actions[ACTIONS_MAX];
    t_state_t next;
} t_row_t;

//  --------------------------------------------------------------------------
//  The actions of the tunnel's life (the streams' are in tunnel_mux_streams.c)

static tunnel_mux_action_fn s_enter, s_dial, s_stop_timer, s_retry_late, s_dialer_connected,
    s_read_proxy_reply, s_check_proxy_wait, s_check_answer, s_heard, s_log_unanswered, s_log_up, s_start_baton, s_log_accepted,
    s_log_proxy_silent, s_log_corrupt, s_log_peer_closed, s_log_tunnel_closed, s_lose,
    s_forget_baton, s_trace_down, s_close_tunnel, s_back_off, s_unregister, s_end_session,
    s_pass_to_baton, s_refuse_user;

//  Where a row's state changes, if not after its last action.
#define ENTER s_enter

//  --------------------------------------------------------------------------
//  Dialing end: the session's target side is the tunnel; it is dialed at
//  once and again with backoff whenever it is lost.

static const t_row_t s_dialing[] = {
    //  Dial (s_dial raises NO_CRYPTO). A user who comes in BACKOFF starts
    //  the dial and is a stream of it at once, queued behind the hello.
    { T_NEW,      TE_CREATED,       { ENTER, s_dial },                                  T_DIALING },
    { T_BACKOFF,  TE_TIMEOUT,       { ENTER, s_dial },                                  T_DIALING },
    { T_BACKOFF,  TE_USER,
        { s_stop_timer, ENTER, s_dial, tunnel_mux_open_stream },                        T_DIALING },
    { T_DIALING,  TE_NO_CRYPTO,     { ENTER, s_retry_late },                            T_BACKOFF },
    { T_DIALING,  TE_USER,          { tunnel_mux_open_stream },                         T_SAME },
    //  The dialer's steps (any state, as they come) raise DIALED or DIAL_FAILED;
    //  behind a proxy, what the streams sent meanwhile leaves after its 200
    //  The tunnel is up once the remote end has spoken on it (v1: at once; a
    //  v2 remote answers with its first flight, a wrong key gets silence)
    { T_DIALING,  TE_DIALED,
        { tunnel_mux_release_held, s_log_up, ENTER, s_start_baton },                    T_UP },
    { T_UP,       TE_USER,          { tunnel_mux_open_stream },                         T_SAME },
    { T_UP,       TE_TARGET_DATA,   { s_heard, tunnel_mux_feed },                       T_SAME },
    { T_ANY,      TE_CONNECTED,     { s_dialer_connected },                             T_SAME },
    { T_ANY,      TE_PROXY_REPLY,   { s_read_proxy_reply },                             T_SAME },
    { T_ANY,      TE_TIMEOUT,       { s_check_proxy_wait, s_check_answer },             T_SAME },
    //  The tunnel is lost, one way or another: its streams are reset, and
    //  the next dial waits, twice as long each time (up to BACKOFF_MAX_MS)
    //  until the peer answers
    { T_ANY,      TE_DIAL_FAILED,   { s_lose },                                         T_SAME },
    { T_ANY,      TE_PROXY_SILENT,  { s_log_proxy_silent, s_lose },                     T_SAME },
    { T_ANY,      TE_UNANSWERED,    { s_log_unanswered, s_lose },                       T_SAME },
    { T_ANY,      TE_CORRUPT,       { s_log_corrupt, s_lose },                          T_SAME },
    { T_ANY,      TE_TARGET_EOF,    { s_log_tunnel_closed, s_lose },                    T_SAME },
    { T_ANY,      TE_CLIENT_EOF,    { s_log_peer_closed, s_lose },                      T_SAME },
    { T_ANY,      TE_BROKEN,        { s_lose },                                         T_SAME },
    { T_ANY,      TE_REPLACED,      { s_lose },                                         T_SAME },
    { T_ANY,      TE_LOST,
        { s_forget_baton, s_trace_down, tunnel_mux_drop_streams, s_close_tunnel,
          ENTER, s_back_off },                                                          T_BACKOFF },
    { T_ANY,      TE_HANDOVER,      { s_pass_to_baton },                                T_SAME },
    { T_ANY,      TE_DRAINED,       { tunnel_mux_resume_streams },                      T_SAME },
};

//  --------------------------------------------------------------------------
//  Accepting end: inside tunnel_remote, after the hello (the session's
//  client side is the tunnel). Once lost, the session ends.

static const t_row_t s_accepting[] = {
    //  v1 says nothing before the peer has proven itself (tunnel_mux_streams.c)
    { T_NEW,      TE_CREATED,       { ENTER, tunnel_mux_greet, s_log_accepted },        T_UP },
    { T_UP,       TE_CLIENT_DATA,   { tunnel_mux_feed },                                T_SAME },
    { T_UP,       TE_TARGET_DATA,   { tunnel_mux_feed },                                T_SAME },
    { T_UP,       TE_USER,          { tunnel_mux_open_stream },                         T_SAME },
    { T_DEAD,     TE_USER,          { s_refuse_user },                                  T_SAME },
    { T_ANY,      TE_CORRUPT,       { s_log_corrupt, s_lose },                          T_SAME },
    { T_ANY,      TE_CLIENT_EOF,    { s_log_peer_closed, s_lose },                      T_SAME },
    { T_ANY,      TE_TARGET_EOF,    { s_log_tunnel_closed, s_lose },                    T_SAME },
    { T_ANY,      TE_REPLACED,      { s_lose },                                         T_SAME },
    { T_ANY,      TE_LOST,
        { s_forget_baton, s_trace_down, tunnel_mux_drop_streams,
          ENTER, s_unregister, s_end_session },                                         T_DEAD },
    { T_ANY,      TE_HANDOVER,      { s_pass_to_baton },                                T_SAME },
    { T_ANY,      TE_DRAINED,       { tunnel_mux_resume_streams },                      T_SAME },
    //  A standby checks on the live tunnel; v1: a tunnel not proven by then ends
    { T_UP,       TE_TIMEOUT,       { tunnel_mux_accept_timer },                        T_SAME },
};

//  --------------------------------------------------------------------------
//  The engine

static const t_row_t *
s_find (tunnel_mux_t *self, t_event_t event)
{
    const t_row_t *table = self->dialing ? s_dialing : s_accepting;
    size_t rows = self->dialing ? sizeof s_dialing / sizeof s_dialing[0]
                                : sizeof s_accepting / sizeof s_accepting[0];
    for (size_t i = 0; i < rows; i++)
        if (table[i].event == event && (table[i].state == self->state || table[i].state == T_ANY))
            return &table[i];
    return NULL;
}

//  Runs event's row in the current state.
static void
s_handle (tunnel_mux_t *self, t_event_t event)
{
    const t_row_t *row = s_find (self, event);
    if (!row)
        return;
    t_state_t outer_next = self->next;
    bool outer_entered = self->entered;
    self->next = row->next;
    self->entered = row->next == T_SAME;
    for (size_t i = 0; i < ACTIONS_MAX && row->actions[i]; i++)
        row->actions[i] (self);
    s_enter (self);
    self->next = outer_next;
    self->entered = outer_entered;
}

static void
s_enter (tunnel_mux_t *self)
{
    if (!self->entered) {
        self->state = self->next;
        self->entered = true;
    }
}

void
tunnel_mux_raise (tunnel_mux_t *self, t_event_t event)
{
    s_handle (self, event);
}

static void s_call (tunnel_mux_t *self, t_event_t event, t_args_t *args);

void
tunnel_mux_call (tunnel_mux_t *self, t_event_t event)
{
    t_args_t none = { 0 };
    s_call (self, event, &none);
}

//  One call of the handler class (or tunnel_mux_attach), with what came with it.
static void
s_call (tunnel_mux_t *self, t_event_t event, t_args_t *args)
{
    t_args_t *outer = self->args;
    self->args = args;
    s_handle (self, event);
    self->args = outer;
}

const char *
tunnel_mux_name (tunnel_mux_t *self)
{
    return self->wormhole->conf->name;
}

int
tunnel_mux_attach (const wormhole_t *wormhole, session_t *user)
{
    tunnel_mux_t *self = tunnel_mux_registry_find (wormhole);
    if (!self) {
        log_info ("wormhole %s: no tunnel yet; refusing %s", wormhole->conf->name, session_peer (user));
        return -1;
    }
    t_args_t args = { .user = user, .result = -1 };
    s_call (self, TE_USER, &args);
    return args.result;
}

bool
tunnel_mux_user_arrived (const wormhole_t *wormhole)
{
    tunnel_mux_t *self = tunnel_mux_registry_find (wormhole);
    if (!self)
        return false;
    baton_user_arrived (self->baton);
    return true;
}

//  --------------------------------------------------------------------------
//  The actions

//  Connect, proxy, hello (the extension's hello right behind it, unless a
//  proxy must answer first); raises NO_CRYPTO.
static void
s_dial (tunnel_mux_t *self)
{
    if (dialer_start (&self->dialer, self->session, self->wormhole) != 0) {
        log_error ("wormhole %s: cannot set up the tunnel's crypto", tunnel_mux_name (self));
        tunnel_mux_raise (self, TE_NO_CRYPTO);
    }
    else if (!self->wormhole->conf->has_local_proxy)
        tunnel_mux_send_ext_hello (self);
    //  A user's arrival may be what started this dial: watch the new socket.
    session_settle (self->session);
}

static void
s_stop_timer (tunnel_mux_t *self)
{
    session_set_timer (self->session, 0);
}

static void
s_retry_late (tunnel_mux_t *self)
{
    session_set_timer (self->session, BACKOFF_MAX_MS);
}

//  The dialer's result: raises DIALED or DIAL_FAILED (or neither, while it goes on).
static void
s_dialer_result (tunnel_mux_t *self, dialer_state_t state)
{
    if (state == DIALER_FAILED)
        tunnel_mux_raise (self, TE_DIAL_FAILED);
    else if (state == DIALER_READY)
        tunnel_mux_raise (self, TE_DIALED);
}

static void
s_dialer_connected (tunnel_mux_t *self)
{
    s_dialer_result (self, dialer_connected (&self->dialer, self->args->err));
}

static void
s_read_proxy_reply (tunnel_mux_t *self)
{
    s_dialer_result (self, dialer_target_data (&self->dialer, self->args->data, self->args->len));
}

//  The handler timer outside BACKOFF is the dialer's wait for the proxy:
//  raises PROXY_SILENT.
static void
s_check_proxy_wait (tunnel_mux_t *self)
{
    if (self->dialer.state == DIALER_PROXY_REPLY)
        tunnel_mux_raise (self, TE_PROXY_SILENT);
}

//  v2: the remote end answers a first flight at once; silence means a wrong
//  key (or cipher, or clocks more than 30 s apart), or not a mimicsocks end.
#define ANSWER_LIMIT_MS 10000

//  The metrics' tunnel state: one down for each up.
static void
s_count_up (tunnel_mux_t *self, bool up)
{
    if (self->counted_up == up)
        return;
    self->counted_up = up;
    session_count (self->session, up ? METRIC_TUNNELS_UP : METRIC_TUNNELS_DOWN);
}

static void
s_tunnel_up (tunnel_mux_t *self)
{
    char where[300];
    self->answered = true;
    log_info ("wormhole %s: tunnel up to %s", tunnel_mux_name (self),
              dialer_describe (&self->dialer, where, sizeof where));
    session_trace (self->session, "dialer", "tunnel", "tunnel-up", 0);
    s_count_up (self, true);
}

static void
s_log_up (tunnel_mux_t *self)
{
    self->answered = false;
    if (!tunnel_wire_v2 (self->wormhole->conf)) {
        s_tunnel_up (self);         //  an original peer says nothing until a stream does
        return;
    }
    session_set_timer (self->session, ANSWER_LIMIT_MS);
    char where[300];
    log_debug ("wormhole %s: connected to %s; waiting for its answer", tunnel_mux_name (self),
               dialer_describe (&self->dialer, where, sizeof where));
}

static void
s_heard (tunnel_mux_t *self)
{
    if (self->answered)
        return;
    session_set_timer (self->session, 0);
    s_tunnel_up (self);
}

static void
s_check_answer (tunnel_mux_t *self)
{
    if (self->state == T_UP && !self->answered)
        tunnel_mux_raise (self, TE_UNANSWERED);
}

static void
s_log_unanswered (tunnel_mux_t *self)
{
    char where[300];
    log_warn ("wormhole %s: no answer from %s within %d s: a wrong key or cipher, clocks more "
              "than 30 s apart, or not a mimicsocks end (protocol v2)", tunnel_mux_name (self),
              dialer_describe (&self->dialer, where, sizeof where), ANSWER_LIMIT_MS / 1000);
}

//  A handover that could not finish: dial a fresh tunnel.
static void
s_broken (void *self_)
{
    t_args_t args = { 0 };
    s_call (self_, TE_BROKEN, &args);
}

static void
s_start_baton (tunnel_mux_t *self)
{
    baton_owner_t owner = { s_broken, self };
    self->baton = baton_new (self->session, self->side, self->wormhole, true, self->dialer.id0,
                             &owner);
}

static void
s_log_accepted (tunnel_mux_t *self)
{
    log_info ("wormhole %s: tunnel from %s", tunnel_mux_name (self), session_peer (self->session));
    session_trace (self->session, "acceptor", "tunnel", "tunnel-up", 0);
    s_count_up (self, true);
}

static void
s_log_proxy_silent (tunnel_mux_t *self)
{
    log_warn ("wormhole %s: no answer from the proxy", tunnel_mux_name (self));
}

static void
s_log_corrupt (tunnel_mux_t *self)
{
    if (!self->proven) {
        //  One treatment for every probe: the session is guarded (tunnel_remote.c).
        log_info ("wormhole %s: %s from %s before the tunnel proved itself (a probe or a "
                  "replay); staying silent", tunnel_mux_name (self),
                  self->unfit ? self->unfit : mux_decoder_error (self->decoder),
                  session_peer (self->session));
        session_count (self->session, METRIC_PROBES);
        return;
    }
    log_warn ("wormhole %s: corrupt frame from the peer (%s); dropping the tunnel",
              tunnel_mux_name (self), mux_decoder_error (self->decoder));
}

static void
s_log_peer_closed (tunnel_mux_t *self)
{
    log_info ("wormhole %s: the tunnel from %s closed", tunnel_mux_name (self),
              session_peer (self->session));
}

static void
s_log_tunnel_closed (tunnel_mux_t *self)
{
    int err = self->args->err;
    log_warn ("wormhole %s: the tunnel closed%s%s", tunnel_mux_name (self), err ? ": " : "",
              err ? strerror (err) : "");
}

static void
s_lose (tunnel_mux_t *self)
{
    tunnel_mux_raise (self, TE_LOST);
}

static void
s_forget_baton (tunnel_mux_t *self)
{
    baton_destroy (&self->baton);
}

static void
s_trace_down (tunnel_mux_t *self)
{
    session_trace (self->session, "tunnel", self->dialing ? "dialer" : "acceptor", "tunnel-down", 0);
    s_count_up (self, false);
}

static void
s_close_tunnel (tunnel_mux_t *self)
{
    session_close_target (self->session);
}

static void
s_back_off (tunnel_mux_t *self)
{
    session_set_timer (self->session, self->backoff_ms);
    log_info ("wormhole %s: dialing again in %d ms", tunnel_mux_name (self), self->backoff_ms);
    self->backoff_ms = self->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : self->backoff_ms * 2;
}

static void
s_unregister (tunnel_mux_t *self)
{
    tunnel_mux_registry_remove (self);
}

static void
s_end_session (tunnel_mux_t *self)
{
    session_abort (self->session);
}

static void
s_pass_to_baton (tunnel_mux_t *self)
{
    baton_event (self->baton, self->args->handover);
}

static void
s_refuse_user (tunnel_mux_t *self)
{
    log_info ("wormhole %s: no tunnel yet; refusing %s", tunnel_mux_name (self),
              session_peer (self->args->user));
}

//  --------------------------------------------------------------------------
//  The handler class: each call is an event of the tables

static void
s_free (tunnel_mux_t *self)
{
    tunnel_mux_streams_free (self);
    free (self);
}

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
    self->proven = self->dialing || tunnel_wire_v2 (self->wormhole->conf);
    if (tunnel_mux_streams_new (self) != 0 || (self->muxing && tunnel_mux_registry_add (self) != 0)) {
        s_free (self);
        return NULL;
    }
    //  (v2 pads with records of its own: actors/shaping.c)
    if (self->wormhole->conf->mimic_padding && !tunnel_wire_v2 (self->wormhole->conf))
        session_set_padding (session, self->side, tunnel_mux_pad, self);
    t_args_t none = { 0 };
    s_call (self, TE_CREATED, &none);
    if (!self->dialing && !self->standby)
        tunnel_mux_arm_deadline (self);
    return self;
}

static void
s_destroy (void **self_p)
{
    tunnel_mux_t *self = *self_p;
    if (!self)
        return;
    s_count_up (self, false);
    baton_destroy (&self->baton);
    tunnel_mux_drop_streams (self);
    tunnel_mux_registry_remove (self);
    s_free (self);
    *self_p = NULL;
}

static void
s_client_data (void *self_, const uint8_t *data, size_t len)
{
    t_args_t args = { .data = data, .len = len };
    s_call (self_, TE_CLIENT_DATA, &args);
}

static void
s_client_eof (void *self_)
{
    t_args_t args = { 0 };
    s_call (self_, TE_CLIENT_EOF, &args);
}

static void
s_connected (void *self_, int err, const struct sockaddr *local)
{
    (void) local;
    t_args_t args = { .err = err };
    s_call (self_, TE_CONNECTED, &args);
}

static void
s_target_data (void *self_, const uint8_t *data, size_t len)
{
    tunnel_mux_t *self = self_;
    t_args_t args = { .data = data, .len = len };
    s_call (self, self->dialer.state == DIALER_PROXY_REPLY ? TE_PROXY_REPLY : TE_TARGET_DATA, &args);
}

static void
s_target_eof (void *self_, int err)
{
    t_args_t args = { .err = err };
    s_call (self_, TE_TARGET_EOF, &args);
}

static void
s_timeout (void *self_)
{
    t_args_t args = { 0 };
    s_call (self_, TE_TIMEOUT, &args);
}

static void
s_drained (void *self_)
{
    t_args_t args = { 0 };
    s_call (self_, TE_DRAINED, &args);
}

static void
s_read_done (void *self_)
{
    tunnel_mux_read_done (self_);
}

static void
s_handover (void *self_, const handover_event_t *event)
{
    t_args_t args = { .handover = event };
    s_call (self_, TE_HANDOVER, &args);
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
    .read_done = s_read_done,
    .handover = s_handover,
};
