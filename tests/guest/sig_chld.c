/* A SIGCHLD handler reaps forked children (waitpid(-1, WNOHANG) in a loop, as
 * a shell does): three children exit with 3, 5 and 7 at different times;
 * the parent sleeps in sigsuspend with SIGCHLD blocked outside it until all
 * are reaped, and prints their statuses in order of pid.  Then a child killed
 * by SIGTERM, and SIGCHLD set back to SIG_DFL (no handler, nothing pending). */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile int reaped, handler_runs;
static pid_t pids[4];
static int statuses[4];

static void on_chld(int sig, siginfo_t *si, void *ctx)
{
    int status, saved = errno;
    pid_t pid;
    (void)sig;
    (void)si;
    (void)ctx;
    handler_runs++;
    while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
        for (int i = 0; i < 4; i++)
            if (pids[i] == pid)
                statuses[i] = status;
        reaped++;
    }
    errno = saved;
}

int main(void)
{
    struct sigaction sa;
    sigset_t chld, empty;
    setvbuf(stdout, NULL, _IOLBF, 0);
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_chld;
    sa.sa_flags = SA_SIGINFO | SA_RESTART | SA_NOCLDSTOP;
    sigaction(SIGCHLD, &sa, NULL);
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    sigemptyset(&empty);
    sigprocmask(SIG_BLOCK, &chld, NULL);

    static const int codes[3] = {3, 5, 7};
    for (int i = 0; i < 3; i++) {
        pids[i] = fork();
        if (pids[i] == 0) {
            usleep(50000 * (i + 1));
            _exit(codes[i]);
        }
    }
    while (reaped < 3)
        sigsuspend(&empty);
    for (int i = 0; i < 3; i++)
        printf("child %d: exited %d with %d\n", i, WIFEXITED(statuses[i]), WEXITSTATUS(statuses[i]));
    printf("handler ran at least once: %d\n", handler_runs >= 1);

    pids[3] = fork();
    if (pids[3] == 0) {
        for (;;)
            pause();
    }
    kill(pids[3], SIGTERM);
    while (reaped < 4)
        sigsuspend(&empty);
    printf("killed child: signaled %d by %d\n", WIFSIGNALED(statuses[3]), WTERMSIG(statuses[3]));

    sa.sa_handler = SIG_DFL;
    sa.sa_flags = 0;
    sigaction(SIGCHLD, &sa, NULL);
    pid_t last = fork();
    if (last == 0)
        _exit(9);
    int status;
    printf("waitpid after SIG_DFL: right pid %d, status %d\n", waitpid(last, &status, 0) == last,
           WEXITSTATUS(status));
    sigprocmask(SIG_UNBLOCK, &chld, NULL);
    printf("done, handler runs unchanged: %d\n", reaped == 4);
    return 0;
}
