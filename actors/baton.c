/*  baton — the four-step handover of one tunnel (see baton.h). */
#include "actors/baton.h"

#include <errno.h>
#include <netinet/in.h>
#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "actors/dialer.h"
#include "actors/shaping.h"
#include "nodes/inband.h"
#include "nodes/wirecrypto.h"
#include "runtime/handover.h"
#include "runtime/baton_registry.h"
#include "runtime/base/log.h"
#include "runtime/timers.h"

#define STALL_CAP_MS 10000          //  a moving but slow S1 extends the wait up to this
#define CONNECT_LIMIT_MS 3000
#define RETIRE_LIMIT_MS 10000       //  the dialer waits this long for the acceptor to close S1
#define RETRY_MS 1000               //  a trigger that could not start now tries again
#define LIVENESS_MIN_MS 10000
#define LIVENESS_MAX_MS 20000

typedef enum {
    B_IDLE,
    B_CONNECTING,
    B_PROXY,
    B_WAITING,
    B_AFTERMATH,
    B_SWITCHING,
    B_RETIRING
} b_state_t;

static const char *s_state_names[] = { "idle", "connecting", "proxy", "waiting", "aftermath",
                                       "switching", "retiring" };

struct baton_t {
    session_t *session;
    session_side_t side;
    const wormhole_t *wormhole;
    bool dialing;
    baton_owner_t owner;
    b_state_t state;
    uint8_t id[WIRE_ID_SIZE];       //  dialer: to present next; acceptor: registered under
    bool registered;
    inband_rx_t *rx;
    uint16_t port;                  //  the extra port of the handover in progress
    unsigned count;
    char reply[512];                //  local_proxy's answer to the handover's CONNECT
    size_t reply_len;
    //  Deadlines (ms, timers_now_ms; 0: none), the session timer is armed for the first.
    uint64_t step_at;               //  the running step's limit
    uint64_t started_at;            //  when the current wait began (for the cap)
    uint64_t progress;              //  session_handover_progress at the last look
    uint64_t periodic_at;           //  dialer: the next timed handover
    uint64_t liveness_at;           //  dialer: the liveness check
    uint64_t unanswered_since;      //  ... the first user arrival not followed by bytes back
    uint64_t last_arrival;          //  dialer: the last user arrival
    uint64_t heard_at;              //  dialer: last bytes from the remote end
};

static const char *
s_name (baton_t *self)
{
    return self->wormhole->conf->name;
}

static uint32_t
s_random (uint32_t below)
{
    uint32_t r = 0;
    if (RAND_bytes ((unsigned char *) &r, sizeof r) != 1)
        r = (uint32_t) random ();
    return below ? r % below : 0;
}

static void
s_arm (baton_t *self)
{
    uint64_t next = UINT64_MAX;
    uint64_t candidates[] = { self->step_at, self->periodic_at, self->liveness_at };
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
s_schedule_periodic (baton_t *self)
{
    const wormhole_conf_t *conf = self->wormhole->conf;
    if (!self->dialing || conf->handover_min_s <= 0) {
        self->periodic_at = 0;
        return;
    }
    uint32_t span_ms = (uint32_t) (conf->handover_max_s - conf->handover_min_s) * 1000u;
    self->periodic_at = timers_now_ms () + (uint64_t) conf->handover_min_s * 1000u
                      + s_random (span_ms + 1);
}

static void
s_register (baton_t *self)
{
    if (baton_registry_put (self->id, session_worker (self->session),
                            session_id (self->session)) == 0)
        self->registered = true;
    else
        log_error ("wormhole %s: cannot register the tunnel for handovers", s_name (self));
}

static void
s_unregister (baton_t *self)
{
    if (self->registered)
        baton_registry_remove (self->id, session_id (self->session));
    self->registered = false;
}

static void
s_send_command (baton_t *self, inband_cmd_t cmd)
{
    const wormhole_conf_t *conf = self->wormhole->conf;
    uint8_t cmds[1] = { (uint8_t) cmd };
    uint8_t frame[INBAND_SIZE];
    if (inband_encode (conf->key, conf->key_len, cmds, 1, frame) != 0)
        return;
    struct iovec iov = { frame, sizeof frame };
    session_sendv (self->session, self->side, &iov, 1);
}

//  Back to IDLE (the handover is over, one way or the other).
static void
s_idle (baton_t *self)
{
    self->state = B_IDLE;
    self->step_at = 0;
    if (self->dialing && !self->periodic_at)
        s_schedule_periodic (self);
}

//  Drop the new socket (tapping stops) and wait for the next trigger.
//  The scanner joins the tunnel side's nodes for the handover.
static void
s_tap (baton_t *self)
{
    inband_rx_set_tapping (self->rx, true);
    node_t scanner = { &inband_tap_class, self->rx };
    session_handover_tap (self->session, &scanner);
}

static void
s_give_up (baton_t *self)
{
    session_handover_drop (self->session);
    session_handover_tap (self->session, NULL);
    self->periodic_at = 0;
    s_idle (self);
}

//  The handover did not happen; the tunnel goes on over S1.
static void
s_failed (baton_t *self, const char *why)
{
    log_warn ("wormhole %s: handover failed (port %u): %s; staying on the current connection",
              s_name (self), self->port, why);
    session_trace (self->session, "dialer", "tunnel", "handover-failed", 0);
    s_give_up (self);
}

static void
s_broken (baton_t *self, const char *why)
{
    log_warn ("wormhole %s: handover %s; breaking the tunnel", s_name (self), why);
    session_trace (self->session, self->dialing ? "dialer" : "acceptor", "tunnel",
                   "handover-stalled", 0);
    session_handover_tap (self->session, NULL);
    session_handover_drop (self->session);
    self->state = B_IDLE;
    self->step_at = self->periodic_at = self->liveness_at = 0;
    session_set_handover_timer (self->session, -1);
    if (self->owner.broken)
        self->owner.broken (self->owner.ctx);
}

static void
s_done (baton_t *self)
{
    self->count++;
    shaping_after_handover (self->session, self->side, self->wormhole->conf);
}

//  The dialer waits 3 s for HO_R2L, as the protocol says (the session reads
//  a tapped S1 ahead of a slow reader, so only the network can hold it up).
//  The acceptor's HO_R2L went out behind its own backlog: while that is
//  still being written, its wait for HO_COMPLETE_L2R is extended, up to the
//  cap.
static bool
s_stalled (baton_t *self, uint64_t now)
{
    if (self->dialing)
        return true;
    uint64_t progress = session_handover_progress (self->session);
    bool moved = progress != self->progress;
    self->progress = progress;
    if (moved && now - self->started_at < STALL_CAP_MS) {
        self->step_at = now + BATON_STALL_MS;
        return false;
    }
    return true;
}

static void
s_begin_wait (baton_t *self, b_state_t state)
{
    self->state = state;
    self->started_at = timers_now_ms ();
    self->progress = session_handover_progress (self->session);
    self->step_at = self->started_at + BATON_STALL_MS;
}

//  --------------------------------------------------------------------------
//  Dialing end

int
baton_start (baton_t *self)
{
    if (!self || !self->dialing || self->state != B_IDLE)
        return -1;
    const wormhole_conf_t *conf = self->wormhole->conf;
    self->periodic_at = 0;
    self->liveness_at = 0;
    struct sockaddr_storage addr;
    socklen_t len = sizeof addr;
    if (!session_side_open (self->session, self->side)) {
        self->periodic_at = 0;          //  the tunnel is ending: no more handovers
        s_arm (self);
        return -1;
    }
    if (session_handover_busy (self->session)
    ||  session_socket_peer (self->session, self->side, &addr, &len) != 0) {
        //  Not now (the last one's old socket is still closing, or the tunnel
        //  is not connected): soon.
        self->periodic_at = timers_now_ms () + RETRY_MS;
        s_arm (self);
        return -1;
    }
    self->port = conf->extra_ports[s_random ((uint32_t) conf->extra_port_count)];
    //  Behind local_proxy, S1's peer is the proxy: S2 asks it for the extra
    //  port first (section 11), and sends the ID once it says 200.
    char request[ADDR_HOST_MAX + 64];
    const void *first = self->id;
    size_t first_len = sizeof self->id;
    if (conf->has_local_proxy) {
        first = request;
        first_len = (size_t) dialer_proxy_request (request, sizeof request, conf->wormhole_remote.host,
                                                   self->port);
        self->reply_len = 0;
    }
    else if (addr.ss_family == AF_INET)
        ((struct sockaddr_in *) &addr)->sin_port = htons (self->port);
    else
        ((struct sockaddr_in6 *) &addr)->sin6_port = htons (self->port);
    if (session_handover_connect (self->session, self->side, (struct sockaddr *) &addr, len,
                                  first, first_len) != 0) {
        s_failed (self, strerror (errno));
        s_arm (self);
        return -1;
    }
    log_debug ("wormhole %s: handover to port %u", s_name (self), self->port);
    session_trace (self->session, "dialer", "tunnel", "handover", 0);
    s_tap (self);
    self->state = B_CONNECTING;
    self->step_at = timers_now_ms () + CONNECT_LIMIT_MS;
    s_arm (self);
    return 0;
}

//  local_proxy's answer to the CONNECT for the extra port: on 200, the ID.
static void
s_proxy_answer (baton_t *self)
{
    uint8_t held[256];
    size_t n;
    while ((n = session_handover_take_held (self->session, held, sizeof held)) > 0) {
        const char *why = NULL;
        int rc = dialer_proxy_reply (self->reply, sizeof self->reply, &self->reply_len, held, n, &why);
        if (rc < 0) {
            s_failed (self, why);
            s_arm (self);
            return;
        }
        if (rc == 1) {
            session_handover_send (self->session, self->id, sizeof self->id);
            if (self->state == B_PROXY)
                s_begin_wait (self, B_WAITING);
            s_arm (self);
            return;
        }
    }
}

//  Step 3: HO_R2L came on S1.
static void
s_dialer_switch (baton_t *self)
{
    s_send_command (self, INBAND_HO_COMPLETE_L2R);
    session_handover_switch_reads (self->session, true);
    wire_next_id (self->wormhole->conf->key, self->wormhole->conf->key_len, self->id, self->id);
    self->state = B_RETIRING;
    self->step_at = timers_now_ms () + RETIRE_LIMIT_MS;
    log_info ("wormhole %s: handover done (port %u, #%u)", s_name (self), self->port, self->count + 1);
    session_trace (self->session, "dialer", "tunnel", "handover-done", 0);
    s_done (self);
}

static bool s_liveness_due (baton_t *self, uint64_t now);

static void
s_dialer_event (baton_t *self, const handover_event_t *event)
{
    uint64_t now = timers_now_ms ();
    switch (event->kind) {
        case HANDOVER_TRIGGER:
            if (self->state == B_IDLE)
                baton_start (self);
            return;
        case HANDOVER_CONNECTED:
            if (self->state != B_CONNECTING)
                return;
            if (event->err) {
                s_failed (self, strerror (event->err));
                break;
            }
            if (self->wormhole->conf->has_local_proxy) {
                self->state = B_PROXY;
                self->step_at = now + CONNECT_LIMIT_MS;
            }
            else
                s_begin_wait (self, B_WAITING);
            break;
        case HANDOVER_HELD:
            if (self->state == B_PROXY)
                s_proxy_answer (self);
            return;
        case HANDOVER_LOST:
            if (self->state == B_PROXY)
                s_failed (self, "the proxy closed the connection");
            else if (self->state == B_WAITING || self->state == B_CONNECTING) {
                //  Keep S1 tapped: if the acceptor did switch, HO_R2L is coming.
                log_warn ("wormhole %s: handover failed (port %u): the new connection was closed "
                          "(ID refused?); staying on the current connection", s_name (self),
                          self->port);
                session_trace (self->session, "dialer", "tunnel", "handover-failed", 0);
                self->state = B_AFTERMATH;
                if (!self->step_at)
                    self->step_at = now + BATON_STALL_MS;
            }
            break;
        case HANDOVER_COMMAND:
            if (event->cmd != INBAND_HO_R2L)
                return;
            if (self->state == B_WAITING)
                s_dialer_switch (self);
            else if (self->state == B_AFTERMATH)
                s_broken (self, "lost its new connection after the switch");
            return;
        case HANDOVER_RETIRED:
            if (self->state == B_RETIRING)
                s_idle (self);
            break;
        case HANDOVER_TIMER:
            if (self->step_at && now >= self->step_at) {
                switch (self->state) {
                    case B_CONNECTING:
                        s_failed (self, "connect timed out");
                        break;
                    case B_PROXY:
                        s_failed (self, "no answer from the proxy");
                        break;
                    case B_WAITING:
                        if (s_stalled (self, now)) {
                            s_broken (self, "stalled (no HO_R2L)");
                            return;
                        }
                        break;
                    case B_AFTERMATH:
                        s_give_up (self);   //  the failure was logged when S2 closed
                        break;
                    case B_RETIRING:
                        session_handover_drop (self->session);
                        s_idle (self);
                        break;
                    default:
                        self->step_at = 0;
                        break;
                }
            }
            if (self->state == B_IDLE && self->liveness_at && now >= self->liveness_at) {
                self->liveness_at = 0;
                if (s_liveness_due (self, now)) {
                    log_info ("wormhole %s: nothing heard since a user connected; checking the "
                              "tunnel with a handover", s_name (self));
                    baton_start (self);
                    return;
                }
            }
            if (self->state == B_IDLE && self->periodic_at && now >= self->periodic_at) {
                baton_start (self);
                return;
            }
            break;
        case HANDOVER_SOCKET:
            if (event->fd >= 0)
                close (event->fd);
            return;
    }
    s_arm (self);
}

static uint64_t
s_liveness_delay (void)
{
    return LIVENESS_MIN_MS + s_random (LIVENESS_MAX_MS - LIVENESS_MIN_MS + 1);
}

//  At the liveness deadline: true if a user arrived at least LIVENESS_MIN_MS
//  ago and nothing came back since; otherwise the check is armed again for a
//  later arrival that is still unanswered.
static bool
s_liveness_due (baton_t *self, uint64_t now)
{
    if (self->unanswered_since && self->heard_at >= self->unanswered_since)
        self->unanswered_since = self->last_arrival > self->heard_at ? self->last_arrival : 0;
    if (!self->unanswered_since)
        return false;
    if (now - self->unanswered_since >= LIVENESS_MIN_MS) {
        self->unanswered_since = 0;
        return true;
    }
    self->liveness_at = self->unanswered_since + s_liveness_delay ();
    return false;
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
        self->liveness_at = now + s_liveness_delay ();
        s_arm (self);
    }
}

void
baton_heard (baton_t *self)
{
    if (self)
        self->heard_at = timers_now_ms ();
}

//  --------------------------------------------------------------------------
//  Accepting end

//  Step 2: S2 arrived with our ID.
static void
s_acceptor_socket (baton_t *self, const handover_event_t *event)
{
    if (!session_side_open (self->session, self->side)) {
        log_info ("wormhole %s: a handover arrived for a tunnel that is ending; closed", s_name (self));
        close (event->fd);
        s_register (self);
        return;
    }
    if (self->state != B_IDLE
    ||  session_handover_adopt (self->session, self->side, event->fd, event->data, event->len) != 0) {
        log_info ("wormhole %s: a handover arrived while another runs; closed", s_name (self));
        close (event->fd);
        s_register (self);          //  the dialer will present the same ID again
        return;
    }
    s_tap (self);
    s_send_command (self, INBAND_HO_R2L);
    session_handover_switch_writes (self->session);
    self->registered = false;       //  the registry gave the entry up
    wire_next_id (self->wormhole->conf->key, self->wormhole->conf->key_len, self->id, self->id);
    s_register (self);
    s_begin_wait (self, B_SWITCHING);
    session_trace (self->session, "acceptor", "tunnel", "handover", 0);
}

static void
s_acceptor_event (baton_t *self, const handover_event_t *event)
{
    uint64_t now = timers_now_ms ();
    switch (event->kind) {
        case HANDOVER_SOCKET:
            s_acceptor_socket (self, event);
            break;
        case HANDOVER_COMMAND:
            if (event->cmd != INBAND_HO_COMPLETE_L2R || self->state != B_SWITCHING)
                return;
            //  Step 4.
            session_handover_switch_reads (self->session, false);
            self->state = B_RETIRING;
            self->step_at = now + RETIRE_LIMIT_MS;
            log_info ("wormhole %s: handover done (accepted, #%u)", s_name (self), self->count + 1);
            s_done (self);
            break;
        case HANDOVER_RETIRED:
            if (self->state == B_RETIRING)
                s_idle (self);
            break;
        case HANDOVER_LOST:
            break;              //  held: it surfaces when S2 takes over
        case HANDOVER_TIMER:
            if (!self->step_at || now < self->step_at)
                break;
            if (self->state == B_SWITCHING && s_stalled (self, now)) {
                s_broken (self, "stalled (no HO_COMPLETE_L2R)");
                return;
            }
            if (self->state == B_RETIRING) {
                session_handover_drop (self->session);
                s_idle (self);
            }
            break;
        default:
            return;
    }
    s_arm (self);
}

//  --------------------------------------------------------------------------

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
    self->rx = inband_rx_new (conf->key, conf->key_len);
    if (!self->rx || wire_next_id (conf->key, conf->key_len, id0, self->id) != 0) {
        inband_rx_destroy (&self->rx);
        free (self);
        return NULL;
    }
    if (dialing)
        s_schedule_periodic (self);
    else
        s_register (self);
    s_arm (self);
    return self;
}

void
baton_destroy (baton_t **self_p)
{
    baton_t *self = *self_p;
    if (!self)
        return;
    s_unregister (self);
    if (self->state != B_IDLE || session_handover_busy (self->session)) {
        session_handover_tap (self->session, NULL);
        session_handover_drop (self->session);
    }
    session_set_handover_timer (self->session, -1);
    inband_rx_destroy (&self->rx);
    free (self);
    *self_p = NULL;
}

void
baton_event (baton_t *self, const handover_event_t *event)
{
    if (!self) {
        if (event->kind == HANDOVER_SOCKET && event->fd >= 0)
            close (event->fd);
        return;
    }
    log_debug ("wormhole %s: handover event %d in state %s", s_name (self), event->kind,
               s_state_names[self->state]);
    if (self->dialing)
        s_dialer_event (self, event);
    else
        s_acceptor_event (self, event);
}
