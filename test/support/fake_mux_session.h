/*  fake_mux_session — the fake sessions the aggregated tunnel's tests
    (test_tunnel_mux_*) run actors/tunnel_mux.h against. The fake
    implements every session / stream / shaping / dialer / baton call the
    multiplexer makes: the tunnel session records what goes out (decoded
    with the real mux decoder into a line of frames, fake_frames), its
    timer, pauses and end; stream sessions record what the multiplexer
    hands them; the dialer and the baton are stand-ins whose answers the
    test decides. The fake_* drivers drive the handler class as the session
    would, and the stream ops as the streams' sessions would.
*/
#ifndef MK_FAKE_MUX_SESSION_H
#define MK_FAKE_MUX_SESSION_H

#include <check.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "actors/baton.h"
#include "actors/dialer.h"
#include "actors/shaping.h"
#include "actors/tunnel_mux.h"
#include "nodes/mux.h"
#include "runtime/base/log.h"
#include "runtime/handover.h"
#include "runtime/stream.h"

#define STREAM_WINDOW (4u << 20)    //  as in tunnel_mux_priv.h
#define CREDIT_STEP (256u << 10)
#define HOLD_LIMIT (512u << 10)
#define STREAMS_MAX 8

//  --------------------------------------------------------------------------
//  The fake sessions: the tunnel's, the users' and the spawned streams

struct session_t {
    char name[32];
    //  As a stream (a user's target side, or a spawned session's client side)
    const stream_ops_t *ops;
    void *mux;
    uint16_t id;
    bool attached;
    size_t received;                //  session_stream_data
    int deliveries;                 //  calls that brought it
    char first[64];                 //  the first bytes received
    int eof;                        //  session_stream_eof's err, -1 until then
    int fins;
    size_t held;                    //  what session_stream_held says
    int settles;
    bool aborted;
};

struct baton_t {
    int unused;
};

typedef struct {
    session_t tunnel;
    session_t users[STREAMS_MAX];
    session_t spawned[STREAMS_MAX];
    size_t spawned_count;
    bool spawn_fails;
    //  The tunnel session
    session_side_t side;            //  the tunnel's side: target (dialing) or client
    uint8_t *sent;                  //  what went to the tunnel (sendv and pad)
    size_t sent_len;
    int blocks;                     //  of it, blocks passed on whole (session_send_block)
    int timer;                      //  the last session_set_timer (ms; 0 cancels)
    int timers;
    int target_closed;
    int paused;
    size_t queued;
    bool data_kept;                 //  what session_data_kept says (a read in progress)
    int corks;
    session_pad_fn *pad;
    void *pad_ctx;
    char traces[1024];
    int suspends;                   //  shaping_suspend
    //  The dialer
    int dials;
    int dial_rc;                    //  what dialer_start returns
    //  The baton
    baton_t baton;
    int batons;
    int batons_destroyed;
    baton_owner_t owner;
    int baton_events;
    int arrivals;
    int heard;
    //  The probe guard (session_guard_probe), the socket's news, the clock
    uint64_t guard;
    int heard_ms;                   //  what session_socket_heard_ms says
    uint64_t now_ms;
    int probes;                     //  METRIC_PROBES counted
} fake_t;

extern fake_t fake;

extern wormhole_conf_t fake_conf;

extern wormhole_t fake_wormhole;

extern void *fake_mux;                 //  the handler under test

//  The frames sent since the last look, as a line (and forgets them).
const char *
fake_frames (void);

const char *
fake_traces (void);

void
fake_setup (void);

void
fake_teardown (void);

void *
fake_create (bool dialing);

//  Bytes from the peer on the tunnel.
void
fake_peer (const void *data, size_t len);

void
fake_peer_new (uint16_t id);

void
fake_peer_close (uint16_t id);

void
fake_peer_data (uint16_t id, const char *text);

void
fake_peer_hello (void);

void
fake_peer_credit (uint16_t id, uint32_t bytes);

void
fake_peer_fin (uint16_t id);

//  A user's session becomes a stream of the wormhole's tunnel.
session_t *
fake_attach (size_t user);

//  The stream ops, as a stream's session calls them.
void
fake_stream_send (session_t *stream, size_t len);

//  A dialing end with its tunnel up (no proxy): hello sent, baton started.
void
fake_dialing_up (void);

#endif
