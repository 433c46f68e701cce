/*  baton_priv — what the two halves of the baton share: the engine
    (baton.c: the transition tables of both ends, the dispatcher, the API)
    and the steps (baton_steps.c: the actions the tables name). Not for use
    outside actors/baton*.c.
*/
#ifndef MK_BATON_PRIV_H
#define MK_BATON_PRIV_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "actors/baton.h"
#include "actors/tunnel_wire.h"
#include "nodes/inband.h"
#include "nodes/wirecrypto.h"

#define STALL_CAP_MS 10000          //  a moving but slow S1 extends the wait up to this
#define CONNECT_LIMIT_MS 3000
#define RETIRE_LIMIT_MS 10000       //  the dialer waits this long for the acceptor to close S1
#define RETRY_MS 1000               //  a trigger that could not start now tries again
#define V1_QUIET_MS 500             //  v1: a timed handover waits until nothing came back this long
#define V1_QUIET_WAIT_MAX_MS 1000   //  ... but no longer than this past its time (steady streams)
#define LIVENESS_MIN_MS 10000
#define LIVENESS_MAX_MS 20000

//  The states of baton.h (both ends), and two that only the tables use.
typedef enum {
    B_IDLE,
    B_CONNECTING,
    B_PROXY,
    B_WAITING,
    B_AFTERMATH,
    B_SWITCHING,
    B_RETIRING,
    B_LINGERING,                    //  acceptor, baton_linger: S1 still read after the switch
    B_SHUTTING,                     //  ... and our FIN on it sent, its end awaited
    B_ANY,                          //  a row for every state (after the others)
    B_SAME                          //  a row's next state: the state stays
} b_state_t;

typedef enum {
    E_NONE,
    //  What the session reports (runtime/handover.h), one event each
    E_TRIGGER,                      //  an operator, or baton_start
    E_SOCKET,                       //  S2 arrived with the ID we are registered under
    E_CONNECTED,                    //  S2 connected and sent the ID
    E_PROXY_CONNECTED,              //  S2 connected to local_proxy and sent the CONNECT
    E_CONNECT_FAILED,
    E_LOST,                         //  S2 ended before it took over
    E_HELD,                         //  bytes came on S2 before it took over
    E_HO_R2L,                       //  the command, seen on the tapped S1
    E_HO_COMPLETE_L2R,              //  the same
    E_RETIRED,                      //  S1 is closed: the handover is over
    //  The session timer, by which deadline has come
    E_STEP_DUE,                     //  the running step's limit
    E_LIVENESS_DUE,                 //  the aggregated liveness check
    E_PERIODIC_DUE,                 //  the next timed handover (or a retry)
    //  Raised by an action (baton_raise)
    E_ENDING,                       //  the tunnel has ended one way: no handovers any more
    E_NOT_NOW,                      //  S2 of the last handover still closes, or S1 not connected
    E_DIAL_FAILED,                  //  S2's connect could not even start
    E_ANSWERED,                     //  bytes came back after the users arrived: nothing to check
    E_PROXY_200,                    //  local_proxy connected S2 to the extra port
    E_PROXY_REFUSED,                //  ... or answered anything else
    E_REFUSED,                      //  S2 cannot be taken now (tunnel ending, or busy)
    E_STALLED,                      //  S1 did not move during the whole wait
    E_LINGER,                       //  HO_COMPLETE_L2R came, S1 stays read a while (baton_linger)
    E_COUNT
} b_event_t;

struct baton_t {
    session_t *session;
    session_side_t side;
    const wormhole_t *wormhole;
    bool dialing;
    baton_owner_t owner;
    b_state_t state;
    uint8_t id[WIRE_ID_SIZE];       //  ID(n) (actors/tunnel_wire.h): dialer: to present
                                    //  next; acceptor: registered under
    uint64_t n;
    bool registered;
    inband_rx_t *rx;                //  v1's scanner (NULL for v2)
    uint8_t hello[TUNNEL_HANDOVER_HELLO_MAX];   //  dialer: S2's first bytes, presenting ID(n)
    size_t hello_len;
    uint16_t port;                  //  the extra port of the handover in progress
    unsigned count;
    char reply[512];                //  local_proxy's answer to the handover's CONNECT
    size_t reply_len;
    struct sockaddr_storage peer;   //  S1's peer, where S2 goes (on the extra port)
    socklen_t peer_len;
    int err;                        //  errno of a connect that could not start
    const char *why;                //  why local_proxy's answer was refused
    //  Deadlines (ms, timers_now_ms; 0: none), the session timer is armed for the first.
    uint64_t step_at;               //  the running step's limit
    uint64_t started_at;            //  when the current wait began (for the cap)
    uint64_t progress;              //  session_handover_progress at the last look
    uint64_t periodic_at;           //  dialer: the next timed handover
    uint64_t liveness_at;           //  dialer: the liveness check
    uint64_t unanswered_since;      //  ... the first user arrival not followed by bytes back
    uint64_t last_arrival;          //  dialer: the last user arrival
    uint64_t heard_at;              //  dialer: last bytes from the remote end
    int linger_ms;                  //  acceptor: the old connection's time after the switch
    uint64_t quiet_wait_from;       //  dialer, v1: a timed handover waits for quiet since (0: not)
    //  The engine (baton.c)
    uint64_t now;                   //  timers_now_ms when the current event came
    const handover_event_t *event;  //  the session's event being handled
    b_event_t exception;            //  raised by the running action
    unsigned serial;                //  rows run so far: tells that the session called back
    unsigned depth;                 //  nested calls into the engine
    bool broken;                    //  tell the owner once the engine is left
    bool destroyed;                 //  by the owner, during one of our own calls: free it then
};

//  An action: one step of a row.
typedef void (baton_action_fn) (baton_t *self);

//  For an action: the rest of its row is skipped, the state stays, and
//  event is handled next in that state (the exceptions of zproto's engines).
void baton_raise (baton_t *self, b_event_t event);

//  The actions (baton_steps.c). Dialing end:
baton_action_fn baton_check_tunnel, baton_check_quiet, baton_connect, baton_tap, baton_limit_connect,
    baton_retry_soon, baton_check_liveness, baton_start_clock, baton_read_proxy_reply,
    baton_send_id, baton_note_lost, baton_send_ho_complete_l2r, baton_switch_reads_wait_eof,
    baton_next_id, baton_limit_retire, baton_done, baton_give_up, baton_drop,
    baton_schedule_next, baton_close_socket,
    baton_fail_dial, baton_fail_connect, baton_fail_connect_timeout, baton_fail_proxy_refused,
    baton_fail_proxy_closed, baton_fail_proxy_silent,
    baton_break_no_ho_r2l, baton_break_after_switch;
//  Accepting end:
baton_action_fn baton_adopt, baton_refuse, baton_send_ho_r2l, baton_switch_writes,
    baton_register_next_id, baton_trace_accepted, baton_switch_reads, baton_extend_while_moving,
    baton_break_no_complete, baton_linger_start, baton_shut_old, baton_switch_reads_now;

//  What baton.c's API needs of the steps.
void baton_register (baton_t *self);
void baton_unregister (baton_t *self);
uint64_t baton_liveness_delay (void);

#endif
