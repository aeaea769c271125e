#define _GNU_SOURCE
/* epoll_pwait and signals: a handler breaks the wait with EINTR (SA_RESTART or not),
   an ignored signal does not, and the sigmask argument opens the wait to a
   blocked signal (sent before the call or by another process during it) and is
   gone again when the call returns. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile int handled;
static volatile int usr1_blocked_inside;

static void on_sig(int s) {
    (void)s;
    handled++;
    sigset_t cur;
    sigprocmask(SIG_BLOCK, NULL, &cur);
    usr1_blocked_inside = sigismember(&cur, SIGUSR1);
}

static int blocked(int sig) {
    sigset_t cur;
    sigprocmask(SIG_BLOCK, NULL, &cur);
    return sigismember(&cur, sig);
}

static const char *err(int r) { return r < 0 ? strerrorname_np(errno) : "ok"; }

static long ms_since(struct timespec *a) {
    struct timespec b;
    clock_gettime(CLOCK_MONOTONIC, &b);
    return (b.tv_sec - a->tv_sec) * 1000 + (b.tv_nsec - a->tv_nsec) / 1000000;
}

/* a child that sends sig to the parent after ms milliseconds */
static pid_t sender(int sig, int ms) {
    pid_t parent = getpid();
    pid_t c = fork();
    if (c == 0) {
        usleep(ms * 1000);
        kill(parent, sig);
        _exit(0);
    }
    return c;
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    int ep = epoll_create1(0);
    int p[2];
    pipe(p);
    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = 1}, out;
    epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sig;
    for (int restart = 0; restart < 2; restart++) {
        sa.sa_flags = restart ? SA_RESTART : 0;
        sigaction(SIGALRM, &sa, NULL);
        /* an interval timer's signal interrupts the wait: never restarted */
        struct itimerval it = {{0, 0}, {0, 50000}};
        setitimer(ITIMER_REAL, &it, NULL);
        struct timespec t0;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        errno = 0;
        int r = epoll_wait(ep, &out, 1, 5000);
        printf("%s: epoll_wait %d %s, handler ran %d, returned before the timeout %d\n",
               restart ? "SA_RESTART" : "no SA_RESTART", r, err(r), handled, ms_since(&t0) < 4000);
    }
    /* a signal from another process, the same */
    sigaction(SIGUSR2, &sa, NULL);
    pid_t c = sender(SIGUSR2, 50);
    int r = epoll_wait(ep, &out, 1, 5000);
    waitpid(c, NULL, 0);
    printf("kill from a child: %d %s, handler ran %d\n", r, err(r), handled);

    /* an ignored signal does not end the wait */
    signal(SIGUSR2, SIG_IGN);
    c = sender(SIGUSR2, 30);
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    r = epoll_wait(ep, &out, 1, 300);
    long waited = ms_since(&t0);
    waitpid(c, NULL, 0);
    printf("ignored signal: %d, slept the whole timeout %d\n", r, waited >= 280);

    /* the sigmask argument: SIGUSR1 blocked except inside the wait */
    sa.sa_flags = 0;
    sigaction(SIGUSR1, &sa, NULL);
    sigset_t block, empty;
    sigemptyset(&block);
    sigaddset(&block, SIGUSR1);
    sigemptyset(&empty);
    sigprocmask(SIG_BLOCK, &block, NULL);
    handled = 0;
    c = sender(SIGUSR1, 50);
    r = epoll_pwait(ep, &out, 1, 5000, &empty);
    waitpid(c, NULL, 0);
    printf("pwait, sent during the wait: %d %s, handler ran %d, USR1 blocked inside it %d, "
           "blocked again after %d\n", r, err(r), handled, usr1_blocked_inside, blocked(SIGUSR1));
    raise(SIGUSR1);
    r = epoll_pwait(ep, &out, 1, 5000, &empty);
    printf("pwait, pending before the call: %d %s, handler ran %d, blocked after %d\n", r, err(r),
           handled, blocked(SIGUSR1));
    /* an event ready and a signal pending: the event comes first, the mask is back and
       the signal stays pending */
    write(p[1], "x", 1);
    raise(SIGUSR1);
    r = epoll_pwait(ep, &out, 1, 5000, &empty);
    sigset_t pend;
    sigpending(&pend);
    printf("pwait, ready and pending: %d data %llu, handler ran %d, still pending %d\n", r,
           (unsigned long long)out.data.u64, handled, sigismember(&pend, SIGUSR1));
    char b;
    read(p[0], &b, 1);
    sigprocmask(SIG_UNBLOCK, &block, NULL);
    printf("unblocked: handler ran %d\n", handled);
    sigprocmask(SIG_BLOCK, &block, NULL);
    /* a mask that keeps it blocked: the wait times out */
    c = sender(SIGUSR1, 20);
    r = epoll_pwait(ep, &out, 1, 200, &block);
    waitpid(c, NULL, 0);
    sigpending(&pend);
    printf("pwait, kept blocked: %d, handler ran %d, pending %d\n", r, handled,
           sigismember(&pend, SIGUSR1));
    sigprocmask(SIG_UNBLOCK, &block, NULL);
    /* pwait2 with a timeout and a mask */
    sigprocmask(SIG_BLOCK, &block, NULL);
    c = sender(SIGUSR1, 50);
    struct timespec ts = {5, 0};
    r = epoll_pwait2(ep, &out, 1, &ts, &empty);
    waitpid(c, NULL, 0);
    printf("linux: pwait2, sent during the wait: %d %s, blocked after %d\n", r, err(r),
           blocked(SIGUSR1));
    /* the mask size must be 8 */
    r = syscall(SYS_epoll_pwait, ep, &out, 1, 0, &empty, 16);
    printf("sigsetsize 16: %s\n", err(r));
    return 0;
}
