/*  heart — keeps the service running across fatal crashes, like Erlang's heart.

    With --supervise, main forks before anything else starts: the child runs
    the service; the parent only waits. When the child dies of a signal
    (a crash) or gives up (exit 1: its supervisor escalated), the parent
    starts a new one, with a growing pause if it keeps failing fast. A clean
    stop (exit 0) or a usage/config error (exit 2) ends the parent too.
    SIGTERM, SIGINT, SIGHUP, SIGUSR1 and SIGUSR2 sent to the parent are passed
    to the child.
*/
#ifndef MK_HEART_H
#define MK_HEART_H

//  Returns 0 in the child (go on and run the service); in the parent it
//  returns only at the end, with 1 + the exit code to leave with.
int heart_run (void);

#endif
