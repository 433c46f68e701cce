/*  signals — the process's signals are read by the supervisor, not handled
    asynchronously.

    main calls signals_block () first thing, before any thread exists (CZMQ
    and libzmq start threads of their own): the signals the supervisor acts on
    are then blocked in every thread, stay pending, and the supervisor reads
    them from a signalfd in its poll loop. Only one signalfd reader per process
    should exist (one supervisor), since a signal is delivered once.
*/
#ifndef MK_SIGNALS_H
#define MK_SIGNALS_H

#include <signal.h>

//  Block SIGINT, SIGTERM, SIGHUP, SIGUSR1 and SIGUSR2 in the calling thread
//  (threads started later inherit the mask), ignore SIGPIPE (a peer closing a
//  socket shows up as EPIPE instead), and stop CZMQ from installing its own
//  SIGINT/SIGTERM handlers (zsys_handler_set (NULL), before zsys_init).
//  Returns 0, or -1 if the mask could not be set.
int signals_block (void);

//  The set of signals signals_block blocks.
void signals_set (sigset_t *set);

//  A non-blocking, close-on-exec signalfd for that set, or -1.
int signals_fd_new (void);

//  Read one pending signal from fd: its number, 0 if none is pending, -1 on error.
int signals_fd_read (int fd);

#endif
