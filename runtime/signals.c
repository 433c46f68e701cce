/*  signals — blocking the process's signals and reading them from a signalfd. */
#include "runtime/signals.h"

#include <czmq.h>
#include <errno.h>
#include <pthread.h>
#include <sys/signalfd.h>
#include <unistd.h>

void
signals_set (sigset_t *set)
{
    sigemptyset (set);
    sigaddset (set, SIGINT);
    sigaddset (set, SIGTERM);
    sigaddset (set, SIGHUP);
    sigaddset (set, SIGUSR1);
    sigaddset (set, SIGUSR2);
}

int
signals_block (void)
{
    //  Must come before zsys_init, which would otherwise install handlers
    //  that only set zsys_interrupted.
    zsys_handler_set (NULL);

    struct sigaction ignore = { .sa_handler = SIG_IGN };
    sigemptyset (&ignore.sa_mask);
    if (sigaction (SIGPIPE, &ignore, NULL) != 0)
        return -1;

    sigset_t set;
    signals_set (&set);
    return pthread_sigmask (SIG_BLOCK, &set, NULL) == 0 ? 0 : -1;
}

int
signals_fd_new (void)
{
    sigset_t set;
    signals_set (&set);
    return signalfd (-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
}

int
signals_fd_read (int fd)
{
    struct signalfd_siginfo info;
    ssize_t n;
    do
        n = read (fd, &info, sizeof info);
    while (n < 0 && errno == EINTR);
    if (n < 0)
        return errno == EAGAIN ? 0 : -1;
    if (n != (ssize_t) sizeof info)
        return -1;
    return (int) info.ssi_signo;
}
