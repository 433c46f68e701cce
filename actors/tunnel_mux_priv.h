/*  tunnel_mux_priv — what the two halves of the multiplexer share: the
    engine (tunnel_mux.c: the transition tables of both ends, the dispatcher,
    the tunnel's life, the handler class and tunnel_mux_attach) and the
    streams (tunnel_mux_streams.c: frames out and in, the stream ops, the
    per-stream credits, padding). Not for use outside actors/tunnel_mux*.c.
*/
#ifndef MK_TUNNEL_MUX_PRIV_H
#define MK_TUNNEL_MUX_PRIV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "actors/baton.h"
#include "actors/dialer.h"
#include "actors/tunnel_mux.h"
#include "nodes/mux.h"
#include "runtime/handover.h"
#include "runtime/stream.h"

//  Flow control per stream (an extension both C ends speak, invisible to an
//  original peer: docs/PROTOCOL-EXTENSIONS.md). A sender keeps at most
//  STREAM_WINDOW bytes of a stream unacknowledged; the receiver gives credit
//  back in steps as the stream's session takes the bytes.
#define STREAM_WINDOW (4u << 20)
#define CREDIT_STEP (256u << 10)
//  Without the extension a stream that holds this much stops the tunnel.
#define HOLD_LIMIT (512u << 10)
#define EXT_MAGIC 0x6d78            //  "mx" in a NOP frame's reserved field
#define EXT_HELLO 1                 //  [1, version]
#define EXT_CREDIT 2                //  [2, id:16, bytes:32]
#define EXT_FIN 3                   //  [3, id:16]: half-close

#define MIMIC_SUSPEND_MS 5000       //  no shaping for this long after a NEW_SOCKET
#define BACKOFF_MIN_MS 500
#define BACKOFF_MAX_MS 30000
#define REGISTRY_MAX 256
#define TUNNEL_PIECES_MAX 16

//  The states (tunnel_mux.c has the tables), and three that only the tables use.
typedef enum {
    T_NEW,                      //  created, before the first event
    T_BACKOFF,                  //  (dialing end) the tunnel dropped; dial again on
                                //  the timer or when a user arrives
    T_DIALING,                  //  (dialing end) connecting, proxy, hello; streams may
                                //  already queue their frames behind the hello
    T_UP,                       //  frames flow
    T_DEAD,                     //  (accepting end) the tunnel is gone; the session ends
    T_ANY,                      //  a row for every state (after the others)
    T_SAME                      //  a row's next state: the state stays
} t_state_t;

typedef enum {
    TE_NONE,
    //  The handler class's calls and tunnel_mux_attach, one event each
    TE_CREATED,                 //  create
    TE_CLIENT_DATA,             //  the accepting end's tunnel bytes
    TE_CLIENT_EOF,
    TE_CONNECTED,               //  the dial's connect result (args: err)
    TE_TARGET_DATA,             //  the dialing end's tunnel bytes
    TE_PROXY_REPLY,             //  target bytes while the dialer reads local_proxy's answer
    TE_TARGET_EOF,              //  (args: err)
    TE_TIMEOUT,
    TE_DRAINED,
    TE_HANDOVER,                //  (args: the handover event)
    TE_USER,                    //  tunnel_mux_attach (args: the user's session; result)
    TE_BROKEN,                  //  the baton: a handover could not finish
    TE_REPLACED,                //  reverse mode: a new tunnel of the wormhole took our place
    //  Raised by an action (tunnel_mux_raise)
    TE_NO_CRYPTO,               //  the dialer could not set up the tunnel's crypto
    TE_DIALED,                  //  the dialer is done: hello sent, cipher in place
    TE_DIAL_FAILED,             //  the connect or the proxy failed (the dialer said why)
    TE_PROXY_SILENT,            //  the handler timer while the dialer waits for the proxy
    TE_UNANSWERED,              //  the handler timer while a v2 tunnel awaits the remote's answer
    TE_CORRUPT,                 //  a frame the decoder cannot read
    TE_LOST,                    //  the tunnel is gone, for any of the reasons above
    TE_COUNT
} t_event_t;

//  What came with the event being handled.
typedef struct {
    int err;
    const uint8_t *data;
    size_t len;
    session_t *user;                    //  TE_USER: the session to attach
    const handover_event_t *handover;   //  TE_HANDOVER
    int result;                         //  TE_USER: 0 once attached, else -1
} t_args_t;

//  A stream's place: its session and its credit counts. The places come in
//  pages of TUNNEL_STREAM_PAGE ids, made when a stream first needs one and
//  freed when its last stream ends, so that a tunnel costs memory for the
//  streams it carries, not for all 65536 ids (1 MiB that glibc kept after
//  the tunnel closed).
#define TUNNEL_STREAM_PAGE 256
typedef struct {
    session_t *session;
    uint32_t unacked;           //  sent, not yet credited by the peer
    uint32_t unreported;        //  taken here, credit not yet sent
} tunnel_stream_t;

typedef struct {
    unsigned live;              //  places with a session
    tunnel_stream_t at[TUNNEL_STREAM_PAGE];
} tunnel_stream_page_t;

typedef struct tunnel_mux_t {
    session_t *session;
    const wormhole_t *wormhole;
    bool dialing;               //  we connect: the tunnel is the session's target side
    bool muxing;                //  users attach here: we allocate ids
    session_side_t side;
    t_state_t state;
    dialer_t dialer;
    mux_decoder_t *decoder;
    mux_ids_t *ids;
    tunnel_stream_page_t *pages[MUX_IDS / TUNNEL_STREAM_PAGE];     //  by stream id
    mux_out_t *held;            //  frames from streams while the proxy has not said 200
    bool peer_credits;          //  the peer speaks the credit extension
    bool hello_due;             //  wire: tls: our extension's hello waits for our first frame
    int held_by;                //  stream that stopped the tunnel (no extension), or -1
    int backoff_ms;
    bool answered;              //  dialing end: the remote end has spoken on this tunnel
    bool counted_up;            //  counted as up in the metrics (until its tunnel-down)
    baton_t *baton;             //  dialing end: handovers of the tunnel while it is up
    //  v1, accepting end: the peer has sent what only a peer of ours sends
    //  (tunnel_mux_streams.c); until then a frame that does not fit is a
    //  probe's (unfit says which) and gets the silent treatment
    bool proven;
    const char *unfit;
    //  Reverse mode, v1: waiting behind the live tunnel (tunnel_mux_registry.c)
    bool standby;
    uint64_t asked_ms;          //  when the live tunnel was last asked for a sign of life
    uint64_t standby_until;     //  an unproven standby ends then (the probe's deadline)
    //  The payloads for one stream met in one feed of the decoder, handed
    //  over together: one write to its socket per tunnel read, not one per frame.
    struct {
        uint16_t id;
        int count;
        struct iovec iov[TUNNEL_PIECES_MAX];
    } pieces;
    //  The engine (tunnel_mux.c)
    t_args_t *args;             //  of the event being handled
    t_state_t next;             //  the running row's next state
    bool entered;               //  ... already taken (the row's ENTER, or T_SAME)
} tunnel_mux_t;

//  An action: one step of a row.
typedef void (tunnel_mux_action_fn) (tunnel_mux_t *self);

//  For an action: event is handled now, in the current state, and then the
//  rest of the row goes on (as the code before the tables did).
void tunnel_mux_raise (tunnel_mux_t *self, t_event_t event);

//  An event for another tunnel than the one whose row runs (no arguments).
void tunnel_mux_call (tunnel_mux_t *self, t_event_t event);

//  The wormhole's name, for log lines.
const char *tunnel_mux_name (tunnel_mux_t *self);

//  The actions in tunnel_mux_streams.c: the streams' side of the tables.
tunnel_mux_action_fn tunnel_mux_open_stream, tunnel_mux_feed, tunnel_mux_drop_streams,
    tunnel_mux_resume_streams, tunnel_mux_send_ext_hello, tunnel_mux_greet,
    tunnel_mux_release_held;
//  The tunnel's read is through: the pieces gathered from its blocks go to their stream.
void tunnel_mux_read_done (tunnel_mux_t *self);

//  The muxing tunnels of this worker (tunnel_mux_registry.c). add: -1 if
//  the registry is full; reverse mode, v1: a tunnel that comes while one is
//  live waits as the standby. find: the one users attach to (NULL: none).
int tunnel_mux_registry_add (tunnel_mux_t *self);
void tunnel_mux_registry_remove (tunnel_mux_t *self);
tunnel_mux_t *tunnel_mux_registry_find (const wormhole_t *wormhole);
//  The accepting end's timer: a standby checks on the live tunnel; a v1
//  tunnel that has not proven itself by the silent treatment's deadline
//  ends as a probe. arm: sets it for that deadline (or cancels it).
tunnel_mux_action_fn tunnel_mux_accept_timer;
void tunnel_mux_arm_deadline (tunnel_mux_t *self);

//  Frames out, through the tunnel session (or held behind a proxy's 200).
void tunnel_mux_send_frame (tunnel_mux_t *self, const uint8_t *head, size_t head_len,
                            const uint8_t *data, size_t len);

//  Set up and free what the streams need (0, or -1 if out of memory; free
//  undoes a partial setup).
int tunnel_mux_streams_new (tunnel_mux_t *self);
void tunnel_mux_streams_free (tunnel_mux_t *self);

//  Padding for the mimic (session_set_padding).
void tunnel_mux_pad (void *ctx, size_t missing);

#endif
