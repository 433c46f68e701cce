/*  baton_steps — the actions of the baton's transition tables (baton.c),
    each one step of PROTOCOL.md section 5 on the session's handover
    mechanics (runtime/handover.h). An action does its step or raises an
    exception for the table to act on; the engine sets the next state and
    arms the timer.
*/
#include <errno.h>
#include <netinet/in.h>
#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "actors/baton_priv.h"
#include "actors/dialer.h"
#include "actors/shaping.h"
#include "runtime/baton_registry.h"
#include "runtime/base/log.h"

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
s_send_command (baton_t *self, inband_cmd_t cmd)
{
    tunnel_wire_command (self->session, self->side, self->wormhole->conf, cmd);
}

void
baton_register (baton_t *self)
{
    if (baton_registry_put (self->id, session_worker (self->session),
                            session_id (self->session)) == 0)
        self->registered = true;
    else
        log_warn ("wormhole %s: %s: its handover ID names another tunnel (a replayed hello?) "
                  "or memory ran out: no handovers for this one", s_name (self),
                  session_peer (self->session));
}

void
baton_unregister (baton_t *self)
{
    if (self->registered)
        baton_registry_remove (self->id, session_id (self->session));
    self->registered = false;
}

//  --------------------------------------------------------------------------
//  Both ends

//  The scanner joins the tunnel side's nodes for the handover (v1; v2's
//  record node reports commands itself).
void
baton_tap (baton_t *self)
{
    if (!self->rx)
        return;
    inband_rx_set_tapping (self->rx, true);
    node_t scanner = { &inband_tap_class, self->rx };
    session_handover_tap (self->session, &scanner);
}

//  The 3 s for the awaited command start now.
void
baton_start_clock (baton_t *self)
{
    self->started_at = self->now;
    self->progress = session_handover_progress (self->session);
    self->step_at = self->started_at + BATON_STALL_MS;
}

//  Switched: S1 has this long to write its last bytes and close.
void
baton_limit_retire (baton_t *self)
{
    self->step_at = self->now + RETIRE_LIMIT_MS;
}

void
baton_done (baton_t *self)
{
    if (self->dialing) {
        log_info ("wormhole %s: handover done (port %u, #%u)", s_name (self), self->port,
                  self->count + 1);
        session_trace (self->session, "dialer", "tunnel", "handover-done", 0);
        session_count (self->session, METRIC_HANDOVERS_OK);
    }
    else
        log_info ("wormhole %s: handover done (accepted, #%u)", s_name (self), self->count + 1);
    self->count++;
    shaping_after_handover (self->session, self->side, self->wormhole->conf);
}

//  Close the handover socket (a retiring S1 that took too long).
void
baton_drop (baton_t *self)
{
    session_handover_drop (self->session);
}

//  The handover is over, one way or the other: no step is running, and
//  the dialer's next timed handover is due (unless one is already).
void
baton_schedule_next (baton_t *self)
{
    self->step_at = 0;
    const wormhole_conf_t *conf = self->wormhole->conf;
    if (!self->dialing || self->periodic_at)
        return;
    if (conf->handover_min_s <= 0)
        return;
    uint32_t span_ms = (uint32_t) (conf->handover_max_s - conf->handover_min_s) * 1000u;
    self->periodic_at = self->now + (uint64_t) conf->handover_min_s * 1000u + s_random (span_ms + 1);
}

//  The handover stalled or went wrong after a switch: the tunnel cannot go
//  on. The engine tells the owner once it is done with the baton.
static void
s_break (baton_t *self, const char *why)
{
    log_warn ("wormhole %s: handover %s; breaking the tunnel", s_name (self), why);
    session_trace (self->session, self->dialing ? "dialer" : "acceptor", "tunnel",
                   "handover-stalled", 0);
    session_count (self->session, METRIC_HANDOVERS_FAILED);
    session_handover_tap (self->session, NULL);
    session_handover_drop (self->session);
    self->step_at = self->periodic_at = self->liveness_at = 0;
    session_set_handover_timer (self->session, -1);
    self->broken = true;
}

//  --------------------------------------------------------------------------
//  Dialing end

//  A trigger is spent, whether a handover can start or not. Raises ENDING
//  if the tunnel has ended one way (no more handovers, timed or not), and
//  NOT_NOW if the last handover's S1 is still closing or S1 is not connected.
void
baton_check_tunnel (baton_t *self)
{
    self->periodic_at = 0;
    self->liveness_at = 0;
    if (!session_side_open (self->session, self->side)) {
        baton_raise (self, E_ENDING);
        return;
    }
    self->peer_len = sizeof self->peer;
    if (session_handover_busy (self->session)
    ||  session_socket_peer (self->session, self->side, &self->peer, &self->peer_len) != 0)
        baton_raise (self, E_NOT_NOW);
}

//  v1: a timed handover waits for a moment when nothing comes back from the
//  far end. The original's accepting end loses what its tunnel is given
//  while HO_R2L is on its way: it holds those bytes (inband_send with hold,
//  mimicsocks_wormhole_remote.erl:154) and on `continue` feeds them back
//  into its own hold list, then drops the list (mimicsocks_inband_send.erl:59-65,
//  loop: continue -> loop_data with buff still a list -> buff = undefined);
//  a download lost 1,460 bytes, one read of its target (issue 13). An idle
//  target is unlikely to speak in the few ms that window lasts. Raises
//  NOT_NOW (tried again in RETRY_MS), for at most V1_QUIET_WAIT_MAX_MS: a
//  steady stream has no quiet moment, and the tunnel must still move (a C
//  end loses nothing either way). SIGUSR1's trigger goes at once.
void
baton_check_quiet (baton_t *self)
{
    if (tunnel_wire_v2 (self->wormhole->conf))
        return;
    uint64_t last = session_active_ms (self->session);
    if (self->heard_at > last)
        last = self->heard_at;
    if (!self->quiet_wait_from)
        self->quiet_wait_from = self->now;
    bool waited_enough = self->now >= self->quiet_wait_from + V1_QUIET_WAIT_MAX_MS;
    if (last && self->now < last + V1_QUIET_MS && !waited_enough) {
        baton_raise (self, E_NOT_NOW);
        return;
    }
    self->quiet_wait_from = 0;
}

void
baton_retry_soon (baton_t *self)
{
    self->periodic_at = self->now + RETRY_MS;
}

//  S2 to a random extra port of S1's peer, its first bytes the ID. Behind
//  local_proxy, S1's peer is the proxy: S2 asks it for the extra port first
//  (section 11), and sends the ID once it says 200. Raises DIAL_FAILED.
void
baton_connect (baton_t *self)
{
    const wormhole_conf_t *conf = self->wormhole->conf;
    self->port = conf->extra_ports[s_random ((uint32_t) conf->extra_port_count)];
    char request[ADDR_HOST_MAX + 64];
    int n = -1;
    //  v1's ID(n) is chained already; v2's is known once the server's flight has come.
    if (!tunnel_wire_v2 (conf) || tunnel_wire_handover_id (self->session, self->side, conf,
                                                           self->n, self->id, self->id) == 0)
        n = tunnel_wire_handover_hello (conf, self->id, self->hello, sizeof self->hello);
    if (n < 0) {
        self->err = EAGAIN;
        baton_raise (self, E_DIAL_FAILED);
        return;
    }
    self->hello_len = (size_t) n;
    const void *first = self->hello;
    size_t first_len = self->hello_len;
    if (conf->has_local_proxy) {
        first = request;
        first_len = (size_t) dialer_proxy_request (request, sizeof request, conf->wormhole_remote.host,
                                                   self->port);
        self->reply_len = 0;
    }
    else if (self->peer.ss_family == AF_INET)
        ((struct sockaddr_in *) &self->peer)->sin_port = htons (self->port);
    else
        ((struct sockaddr_in6 *) &self->peer)->sin6_port = htons (self->port);
    if (session_handover_connect (self->session, self->side, (struct sockaddr *) &self->peer,
                                  self->peer_len, first, first_len) != 0) {
        self->err = errno;
        baton_raise (self, E_DIAL_FAILED);
        return;
    }
    log_debug ("wormhole %s: handover to port %u", s_name (self), self->port);
    session_trace (self->session, "dialer", "tunnel", "handover", 0);
}

//  For S2's connect (and then for local_proxy's answer).
void
baton_limit_connect (baton_t *self)
{
    self->step_at = self->now + CONNECT_LIMIT_MS;
}

//  At the liveness deadline: a handover checks the tunnel if a user arrived
//  at least LIVENESS_MIN_MS ago and nothing came back since; otherwise
//  raises ANSWERED, the check armed again for a later arrival that is still
//  unanswered.
void
baton_check_liveness (baton_t *self)
{
    self->liveness_at = 0;
    if (self->unanswered_since && self->heard_at >= self->unanswered_since)
        self->unanswered_since = self->last_arrival > self->heard_at ? self->last_arrival : 0;
    if (self->unanswered_since && self->now - self->unanswered_since >= LIVENESS_MIN_MS) {
        self->unanswered_since = 0;
        log_info ("wormhole %s: nothing heard since a user connected; checking the "
                  "tunnel with a handover", s_name (self));
        return;
    }
    if (self->unanswered_since)
        self->liveness_at = self->unanswered_since + baton_liveness_delay ();
    baton_raise (self, E_ANSWERED);
}

uint64_t
baton_liveness_delay (void)
{
    return LIVENESS_MIN_MS + s_random (LIVENESS_MAX_MS - LIVENESS_MIN_MS + 1);
}

//  local_proxy's answer to the CONNECT for the extra port: raises
//  PROXY_200 or PROXY_REFUSED once it is complete.
void
baton_read_proxy_reply (baton_t *self)
{
    uint8_t held[256];
    size_t n;
    while ((n = session_handover_take_held (self->session, held, sizeof held)) > 0) {
        int rc = dialer_proxy_reply (self->reply, sizeof self->reply, &self->reply_len, held, n,
                                     &self->why);
        if (rc != 0) {
            baton_raise (self, rc > 0 ? E_PROXY_200 : E_PROXY_REFUSED);
            return;
        }
    }
}

//  On S2, in clear. If S2 fails here, the session reports LOST at once.
void
baton_send_id (baton_t *self)
{
    session_handover_send (self->session, self->hello, self->hello_len);
}

//  S2 was closed: most likely the acceptor refused the ID. S1 stays
//  tapped until the step's limit: if the acceptor did switch, HO_R2L is
//  coming, and the tunnel cannot go on.
void
baton_note_lost (baton_t *self)
{
    log_warn ("wormhole %s: handover failed (port %u): the new connection was closed "
              "(ID refused?); staying on the current connection", s_name (self), self->port);
    session_trace (self->session, "dialer", "tunnel", "handover-failed", 0);
    session_count (self->session, METRIC_HANDOVERS_FAILED);
    if (!self->step_at)
        self->step_at = self->now + BATON_STALL_MS;
}

//  Step 3. Behind the command, S1 writes nothing more of ours.
void
baton_send_ho_complete_l2r (baton_t *self)
{
    s_send_command (self, INBAND_HO_COMPLETE_L2R);
}

//  S2's held bytes, then S2 alone; S1 closes once the acceptor has closed it.
void
baton_switch_reads_wait_eof (baton_t *self)
{
    session_handover_switch_reads (self->session, true);
}

//  The next handover presents ID(n+1).
void
baton_next_id (baton_t *self)
{
    self->n++;
    tunnel_wire_handover_id (self->session, self->side, self->wormhole->conf, self->n, self->id,
                             self->id);
}

//  The handover did not happen; the tunnel goes on over S1.
void
baton_give_up (baton_t *self)
{
    session_handover_drop (self->session);
    session_handover_tap (self->session, NULL);
    self->periodic_at = 0;
}

//  A handover connection at the dialing end: not ours to serve.
void
baton_close_socket (baton_t *self)
{
    if (self->event->fd >= 0)
        close (self->event->fd);
}

static void
s_failed (baton_t *self, const char *why)
{
    log_warn ("wormhole %s: handover failed (port %u): %s; staying on the current connection",
              s_name (self), self->port, why);
    session_trace (self->session, "dialer", "tunnel", "handover-failed", 0);
    session_count (self->session, METRIC_HANDOVERS_FAILED);
}

void
baton_fail_dial (baton_t *self)
{
    s_failed (self, strerror (self->err));
}

void
baton_fail_connect (baton_t *self)
{
    s_failed (self, strerror (self->event->err));
}

void
baton_fail_connect_timeout (baton_t *self)
{
    s_failed (self, "connect timed out");
}

void
baton_fail_proxy_refused (baton_t *self)
{
    s_failed (self, self->why);
}

void
baton_fail_proxy_closed (baton_t *self)
{
    s_failed (self, "the proxy closed the connection");
}

void
baton_fail_proxy_silent (baton_t *self)
{
    s_failed (self, "no answer from the proxy");
}

//  The protocol's 3 s (the session reads a tapped S1 ahead of a slow
//  reader, so only the network can hold HO_R2L up).
void
baton_break_no_ho_r2l (baton_t *self)
{
    s_break (self, "stalled (no HO_R2L)");
}

void
baton_break_after_switch (baton_t *self)
{
    s_break (self, "lost its new connection after the switch");
}

//  --------------------------------------------------------------------------
//  Accepting end

//  S2 becomes the tunnel's handover socket. Raises REFUSED if the tunnel is
//  ending or the session cannot take S2.
void
baton_adopt (baton_t *self)
{
    const handover_event_t *event = self->event;
    if (!session_side_open (self->session, self->side)
    ||  session_handover_adopt (self->session, self->side, event->fd, event->data, event->len) != 0)
        baton_raise (self, E_REFUSED);
}

//  S2 is closed; the tunnel stays registered under the same ID, which the
//  dialer will present again at its next handover.
void
baton_refuse (baton_t *self)
{
    if (!session_side_open (self->session, self->side))
        log_info ("wormhole %s: a handover arrived for a tunnel that is ending; closed", s_name (self));
    else
        log_info ("wormhole %s: a handover arrived while another runs; closed", s_name (self));
    close (self->event->fd);
    baton_register (self);
}

void
baton_send_ho_r2l (baton_t *self)
{
    s_send_command (self, INBAND_HO_R2L);
}

//  Behind HO_R2L, our bytes go to S2; S1 writes what it has queued.
void
baton_switch_writes (baton_t *self)
{
    session_handover_switch_writes (self->session);
}

//  The registry gave up the entry under ID(n); the tunnel is found under
//  ID(n+1) at the next handover.
void
baton_register_next_id (baton_t *self)
{
    self->registered = false;
    baton_next_id (self);
    baton_register (self);
}

void
baton_trace_accepted (baton_t *self)
{
    session_trace (self->session, "acceptor", "tunnel", "handover", 0);
}

//  Step 4: S2's held bytes, then S2 alone; S1 writes its last bytes and
//  closes.
void
baton_switch_reads (baton_t *self)
{
    if (self->linger_ms > 0)
        baton_raise (self, E_LINGER);       //  (baton_linger) the reads stay a while
    else
        session_handover_switch_reads (self->session, false);
}

//  Lingering (baton_linger): HO_COMPLETE_L2R came, the old connection
//  still brings the stream; tapping is over.
void
baton_linger_start (baton_t *self)
{
    session_handover_tap (self->session, NULL);
    self->step_at = self->now + self->linger_ms;
}

//  The linger is over: our FIN on the old connection, whose end (the
//  dialer's answer) moves the reads; RETIRE_LIMIT_MS at most.
void
baton_shut_old (baton_t *self)
{
    session_handover_shut_old (self->session);
    self->step_at = self->now + RETIRE_LIMIT_MS;
}

void
baton_switch_reads_now (baton_t *self)
{
    session_handover_switch_reads (self->session, false);
}

//  HO_R2L went out behind our own backlog on S1: while that is still being
//  written (session_handover_progress moves), the wait is extended by 3 s,
//  up to the cap. Raises STALLED otherwise.
void
baton_extend_while_moving (baton_t *self)
{
    uint64_t progress = session_handover_progress (self->session);
    bool moved = progress != self->progress;
    self->progress = progress;
    if (moved && self->now - self->started_at < STALL_CAP_MS)
        self->step_at = self->now + BATON_STALL_MS;
    else
        baton_raise (self, E_STALLED);
}

void
baton_break_no_complete (baton_t *self)
{
    s_break (self, "stalled (no HO_COMPLETE_L2R)");
}
