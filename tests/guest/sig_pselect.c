#define _GNU_SOURCE
/* pselect/ppoll with a signal mask: SIGCHLD stays blocked except inside the wait,
   as GNU make -j waits for its children; the handler runs inside the wait, which
   returns EINTR, and the old mask is back afterwards. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/select.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile int chld;

static void on_chld(int s) { (void)s; chld++; }

static int blocked(int sig) {
    sigset_t cur;
    sigprocmask(SIG_BLOCK, NULL, &cur);
    return sigismember(&cur, sig);
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_chld;
    sigaction(SIGCHLD, &sa, NULL);
    sigset_t block, empty;
    sigemptyset(&block);
    sigaddset(&block, SIGCHLD);
    sigemptyset(&empty);
    sigprocmask(SIG_BLOCK, &block, NULL);
    int p[2];
    pipe(p);
    for (int round = 0; round < 2; round++) {
        pid_t c = fork();
        if (c == 0) { usleep(100000); _exit(round + 1); }
        int r;
        errno = 0;
        if (round == 0) {
            fd_set rs;
            FD_ZERO(&rs);
            FD_SET(p[0], &rs);
            r = pselect(p[0] + 1, &rs, NULL, NULL, NULL, &empty);
        } else {
            struct pollfd pf = {p[0], POLLIN, 0};
            r = ppoll(&pf, 1, NULL, &empty);
        }
        int st;
        waitpid(c, &st, 0);
        printf("%s: %d %s, handler ran %d, SIGCHLD blocked again %d, child exit %d\n",
               round ? "ppoll" : "pselect", r, strerror(errno), chld, blocked(SIGCHLD),
               WEXITSTATUS(st));
    }
    /* a signal pending before the call, unblocked by its mask: EINTR at once */
    raise(SIGCHLD);
    struct timespec ts = {5, 0};
    errno = 0;
    int r = ppoll(NULL, 0, &ts, &empty);
    printf("pending before ppoll: %d %s, handler ran %d\n", r, strerror(errno), chld);
    /* no signal: the call times out and the mask is unchanged */
    struct timespec shortts = {0, 20000000};
    r = pselect(0, NULL, NULL, NULL, &shortts, &empty);
    printf("timeout: %d, SIGCHLD blocked %d\n", r, blocked(SIGCHLD));
    return 0;
}
