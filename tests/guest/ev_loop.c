#define _GNU_SOURCE
/* eventfd + timerfd + signalfd in one edge-triggered epoll loop, as an event loop
   library runs them: a child adds to the eventfd and sends SIGUSR1s, an interval
   timer ticks, and the child's SIGCHLD ends the loop. */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <unistd.h>

enum { EV = 1, TIMER = 2, SIG = 3 };

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGUSR1);
    sigaddset(&mask, SIGCHLD);
    sigprocmask(SIG_BLOCK, &mask, NULL);
    int sfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
    int efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    int tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    int ep = epoll_create1(EPOLL_CLOEXEC);
    struct { int fd; uint64_t tag; } regs[] = {{efd, EV}, {tfd, TIMER}, {sfd, SIG}};
    for (int i = 0; i < 3; i++) {
        struct epoll_event ev = {.events = EPOLLIN | EPOLLET, .data.u64 = regs[i].tag << 40};
        epoll_ctl(ep, EPOLL_CTL_ADD, regs[i].fd, &ev);
    }
    struct itimerspec its = {{0, 30 * 1000000}, {0, 30 * 1000000}};
    timerfd_settime(tfd, 0, &its, NULL);
    pid_t parent = getpid();
    pid_t c = fork();
    if (c == 0) {
        for (int i = 1; i <= 5; i++) {
            uint64_t v = i;
            write(efd, &v, 8);
            usleep(20000);
            if (i % 2)
                kill(parent, SIGUSR1);
            usleep(20000);
        }
        _exit(7);
    }
    uint64_t added = 0, ticks = 0;
    int usr1 = 0, chld = 0, wakeups = 0, stray = 0;
    while (!chld && wakeups < 1000) {
        struct epoll_event evs[4];
        int n = epoll_wait(ep, evs, 4, 5000);
        if (n <= 0) {
            printf("wait: %d %s\n", n, strerror(errno));
            break;
        }
        wakeups++;
        for (int i = 0; i < n; i++) {
            uint64_t v;
            switch (evs[i].data.u64 >> 40) {
            case EV:      /* edge-triggered: read until EAGAIN */
                while (read(efd, &v, 8) == 8)
                    added += v;
                break;
            case TIMER:
                while (read(tfd, &v, 8) == 8)
                    ticks += v;
                break;
            case SIG: {
                struct signalfd_siginfo si[4];
                ssize_t r;
                while ((r = read(sfd, si, sizeof si)) > 0)
                    for (int k = 0; k < r / (ssize_t)sizeof si[0]; k++) {
                        if (si[k].ssi_signo == SIGUSR1)
                            usr1++;
                        else if (si[k].ssi_signo == SIGCHLD)
                            chld++;
                    }
                break;
            }
            default:
                stray++;
            }
        }
    }
    int st;
    waitpid(c, &st, 0);
    /* standard signals are not queued: three USR1s sent, at least one seen, at most three */
    printf("loop: eventfd total %llu, SIGUSR1 seen 1..3 %d, SIGCHLD %d, timer ticks >= 3 %d, "
           "stray %d, child status %d\n", (unsigned long long)added, usr1 >= 1 && usr1 <= 3, chld,
           ticks >= 3, stray, WEXITSTATUS(st));
    return 0;
}
