#define _GNU_SOURCE
/* waitpid with a SIGCHLD handler installed without SA_RESTART, many rounds: the child
 * has ended by the time waitpid runs (vfork) or soon after (fork), so waitpid must
 * return it with its status every time, never -1 with EINTR, however the SIGCHLD
 * falls around the call.  Prints how many rounds lost their child.
 *   proc_wait_sigchld ROUNDS [fork]   (fork: every other round forks instead) */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile int seen;

static void on_chld(int sig) { seen++; }

int main(int argc, char **argv)
{
    int rounds = argc > 1 ? atoi(argv[1]) : 100;
    int with_fork = argc > 2 && strcmp(argv[2], "fork") == 0;   /* else vfork only */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_chld;            /* no SA_RESTART: EINTR would be seen */
    sigaction(SIGCHLD, &sa, NULL);
    int lost = 0, wrong_status = 0;
    for (int i = 0; i < rounds; i++) {
        pid_t pid = with_fork && (i & 1) ? fork() : vfork();
        if (pid == 0)
            _exit(7);
        int status = 0;
        pid_t w = waitpid(pid, &status, 0);
        if (w != pid) {
            if (!lost++)               /* stderr: the test compares stdout */
                fprintf(stderr, "round %d (%s): waitpid %d, errno %s\n", i,
                        with_fork && (i & 1) ? "fork" : "vfork", w, strerrorname_np(errno));
        }
        else if (!WIFEXITED(status) || WEXITSTATUS(status) != 7)
            wrong_status++;
    }
    printf("rounds %d, lost %d, wrong status %d\n", rounds, lost, wrong_status);
    return 0;
}
