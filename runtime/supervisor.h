/*  supervisor — starts the process's long-lived actors, restarts the ones that
    crash, and turns the process's signals into an orderly stop.

    Children follow the contract of runtime/actor.h. Restart strategy is
    one_for_one: a child that reports "CRASHED" (or whose function returns
    without having been sent $TERM) is stopped and started again with the same
    function and args, and nothing else is touched. Restarts are counted in a
    sliding window: more than `intensity` restarts within `period_ms`
    escalates: the supervisor stops every child and gives up (a restart whose
    start fails counts as one more restart, so a child that can no longer start
    escalates at once rather than looping).

    Signals (read from a signalfd, see runtime/signals.h; main must call
    signals_block first): SIGINT / SIGTERM stop all children in reverse start
    order and tell the owner "EXIT" | "0". Escalation tells it "EXIT" | "1".
    SIGHUP, SIGUSR1 and SIGUSR2 are passed on as one-frame messages "HUP",
    "USR1" and "USR2" (reload the config, hand over, ...); the owner may ignore
    them. After "EXIT" the supervisor has no children and refuses new ones; it
    ends when the owner destroys it.

    zactor_destroy (&sup) stops all children in reverse start order and ends
    the supervisor. A child that never answers $TERM blocks that stop: the
    contract says it must.

    Children run on threads the supervisor starts and joins itself, each with a
    CZMQ pipe pair, rather than as zactor_t: zactor_new reads the child's start
    signal and drops its status, and the supervisor must see a failed start.
    To the child function this is the same as being run by zactor_new.
*/
#ifndef MK_SUPERVISOR_H
#define MK_SUPERVISOR_H

#include <czmq.h>

#define SUPERVISOR_INTENSITY_DEFAULT 10
#define SUPERVISOR_PERIOD_MS_DEFAULT 1000

typedef struct {
    int intensity;      //  restarts allowed within period_ms (>= 0)
    int period_ms;      //  (> 0)
    bool owner_drains;  //  the first SIGTERM/SIGINT goes to the owner as "TERM" (it drains,
                        //  then destroys the supervisor); a second one stops at once
} supervisor_opts_t;

//  opts NULL: 10 restarts per 1000 ms. Returns NULL for invalid opts or if the
//  signalfd cannot be created.
zactor_t *supervisor_new (const supervisor_opts_t *opts);

//  Start a child under a unique name (1..63 bytes). Blocks until it has sent
//  its start signal. Returns 0, or -1 if it failed to start (it is then not
//  supervised), the name is invalid or taken, or the supervisor has stopped.
//  args must stay valid as long as the child may be (re)started.
int supervisor_start_child (zactor_t *sup, const char *name, zactor_fn *fn, void *args);

//  Send the child $TERM, wait for its thread to end and forget it.
//  Returns 0, or -1 if there is no such child.
int supervisor_stop_child (zactor_t *sup, const char *name);

//  Block until the supervisor ends: returns 0 after SIGINT/SIGTERM (all
//  children stopped in reverse start order), 1 after escalation, or -1 once
//  timeout_ms has elapsed (timeout_ms < 0: wait for ever). "HUP", "USR1" and
//  "USR2" arriving meanwhile are skipped. The "EXIT" message is consumed, so
//  only the first call after the end sees it.
int supervisor_wait (zactor_t *sup, int timeout_ms);

//  The same, but a SIGHUP also ends the wait, with SUPERVISOR_HUP (the caller
//  reloads its configuration and waits again), and a SIGUSR1 with SUPERVISOR_USR1.
#define SUPERVISOR_HUP 2
#define SUPERVISOR_TERM 3       //  with owner_drains: the first SIGTERM/SIGINT
#define SUPERVISOR_USR1 4       //  SIGUSR1 (an operator's request, e.g. handovers now)
int supervisor_wait_event (zactor_t *sup, int timeout_ms);

#endif
