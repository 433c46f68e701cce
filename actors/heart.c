/*  heart — restart the service process after a fatal crash. */
#include "actors/heart.h"

#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "runtime/base/log.h"

#define PAUSE_MIN_MS 500
#define PAUSE_MAX_MS 30000
#define STABLE_S 60         //  a child that lived this long resets the pause

static void
s_sleep_ms (int ms)
{
    struct timespec ts = { ms / 1000, (long) (ms % 1000) * 1000000L };
    while (nanosleep (&ts, &ts) != 0 && errno == EINTR)
        ;
}

int
heart_run (void)
{
    sigset_t set;
    sigemptyset (&set);
    int forwarded[] = { SIGTERM, SIGINT, SIGHUP, SIGUSR1, SIGUSR2 };
    for (size_t i = 0; i < sizeof forwarded / sizeof forwarded[0]; i++)
        sigaddset (&set, forwarded[i]);
    sigaddset (&set, SIGCHLD);
    sigprocmask (SIG_BLOCK, &set, NULL);

    int pause_ms = PAUSE_MIN_MS;
    bool stopping = false;
    while (true) {
        pid_t child = fork ();
        if (child < 0) {
            log_error ("heart: fork: %s", strerror (errno));
            return 1 + 1;
        }
        if (child == 0)
            return 0;               //  the child runs the service (signals stay blocked: its supervisor reads them)
        time_t started = time (NULL);
        log_info ("heart: service running as process %d", (int) child);
        int status = 0;
        while (true) {
            int signo = sigwaitinfo (&set, NULL);
            if (signo == SIGCHLD) {
                if (waitpid (child, &status, WNOHANG) == child)
                    break;
            }
            else if (signo > 0) {
                if (signo == SIGTERM || signo == SIGINT)
                    stopping = true;
                kill (child, signo);
            }
        }
        if (WIFEXITED (status) && (WEXITSTATUS (status) == 0 || WEXITSTATUS (status) == 2 || stopping))
            return 1 + WEXITSTATUS (status);
        if (stopping)
            return 1 + 0;
        if (WIFSIGNALED (status))
            log_error ("heart: the service died of signal %d (%s); starting it again in %d ms",
                       WTERMSIG (status), strsignal (WTERMSIG (status)), pause_ms);
        else
            log_error ("heart: the service gave up (exit %d); starting it again in %d ms",
                       WEXITSTATUS (status), pause_ms);
        if (time (NULL) - started >= STABLE_S)
            pause_ms = PAUSE_MIN_MS;
        s_sleep_ms (pause_ms);
        pause_ms = pause_ms * 2 > PAUSE_MAX_MS ? PAUSE_MAX_MS : pause_ms * 2;
    }
}
