/*  fake_baton_session — the fake session the baton tests (test_baton_*)
    run the baton handover (actors/baton.h) against. The fake implements
    every session / shaping / dialer / timers call the baton makes: it
    records what the baton asks of the session (connect, adopt, tap, the
    in-band commands it sends, decoded with the real scanner, the switches,
    drop), keeps a fake clock and the one-shot handover timer, and lets the
    test deliver the session's handover events. Time only moves when the
    test says so (fake_pass), and the timer fires then, as the worker's
    would. fake_setup / fake_teardown are the tests' fixture.
*/
#ifndef MK_FAKE_BATON_SESSION_H
#define MK_FAKE_BATON_SESSION_H

#include <check.h>
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "actors/baton.h"
#include "actors/dialer.h"
#include "actors/shaping.h"
#include "nodes/inband.h"
#include "nodes/wirecrypto.h"
#include "runtime/base/log.h"
#include "runtime/baton_registry.h"
#include "runtime/handover.h"
#include "runtime/timers.h"
#include "test/unit/test_keys.h"

#define T0 1000000                  //  the fake clock at the start of each test (ms)
#define WORKER 2
#define SESSION_ID 77
#define SIDE SESSION_TARGET
typedef struct {
    uint64_t now;
    bool armed;                     //  the handover timer
    uint64_t armed_at;
    char calls[2048];               //  what the baton asked of the session, in order
    char traces[1024];
    //  What the session says
    bool side_open;
    bool peer_ok;
    int connect_errno;              //  session_handover_connect fails at once with this
    bool adopt_fails;
    bool send_fails;                //  session_handover_send: S2 breaks (LOST, at once)
    uint64_t progress;
    uint8_t held[1024];             //  bytes on S2 for session_handover_take_held
    size_t held_len;
    //  What the baton did
    bool busy;                      //  S2 exists
    bool tapped;
    int connects;
    uint16_t connect_port;
    uint32_t connect_host;
    uint8_t first[512];             //  S2's first bytes
    size_t first_len;
    uint8_t s2_sent[512];           //  session_handover_send
    size_t s2_sent_len;
    int adopted_fd;
    uint8_t adopted[64];
    size_t adopted_len;
    int shaped;
    int broken;
    //  The tunnel's handler, as far as the tests need one
    baton_t *baton;
    bool destroy_when_broken;       //  as tunnel_mux does (it redials)
    bool destroy_at_switch;         //  S2 brought an end: tunnel_mux drops the tunnel
    inband_rx_t *decoder;           //  the peer's scanner for what the baton sends on S1
} fake_t;

extern fake_t fake;

extern session_t fake_session;

extern wormhole_conf_t fake_conf;

extern wormhole_t fake_wormhole;

extern uint8_t fake_id0[WIRE_ID_SIZE];

const char *
fake_calls (void);

void
fake_broken (void *ctx);

void
fake_setup (void);

void
fake_teardown (void);

baton_t *
fake_new (bool dialing);

//  ID(n) = HMAC(K, ID(n-1), 16) from the hello's ID0.
void
fake_id (unsigned n, uint8_t id[WIRE_ID_SIZE]);

void
fake_event (handover_kind_t kind, int err, int cmd);

void
fake_connected (int err);

void
fake_command (int cmd);

//  S2 ended before it took over: the session has closed it.
void
fake_lost (void);

//  The old socket is closed: the session has no second socket any more.
void
fake_retired (void);

void
fake_held (const char *bytes);

//  A handover connection for this tunnel (the extra port took the ID from
//  the registry). Returns the fd the baton now owns: one end of a pipe.
int
fake_socket (const char *after_id);

//  True if the baton has closed fd (otherwise it is closed now).
bool
fake_fd_closed (int fd);

//  Time passes: the handover timer fires whenever it is due, as the worker's
//  would. A timer that keeps firing without time moving is a busy loop.
void
fake_pass (uint64_t ms);

//  The timer is armed for at (from now on: ms from now).
void
fake_assert_timer_in (uint64_t ms);

void
fake_assert_first_is_id (unsigned n);

bool
fake_registered (unsigned n);

//  The dialer's handover up to step 1's end: S2 connected, ID sent, S1 tapped.
void
fake_dial (unsigned n);

#endif
