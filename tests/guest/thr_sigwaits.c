/* Sleeping calls that change the signal mask (sigsuspend, ppoll, pselect,
 * epoll_pwait) in a
 * threaded process, for a process-directed signal (kill) that every thread
 * blocks: sent before the call it waits in the process's pending set, and the
 * call must take it (its handler runs in the caller, the call fails EINTR);
 * sent by another thread while the caller sleeps, it goes to the caller, the
 * only thread that lets it in.  alarm() keeps a run from sleeping forever. */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <time.h>
#include <unistd.h>

static volatile pid_t handled_by;
static volatile int alarmed, send_later, stop;
static pthread_barrier_t ready;

static void on_usr1(int sig) { handled_by = gettid(); }
static void on_alarm(int sig) { alarmed = 1; }

static const char *yes(int c) { return c ? "yes" : "NO"; }

/* blocks SIGUSR1 (inherited); on request sends it to the process while main sleeps */
static void *worker(void *arg)
{
    pthread_barrier_wait(&ready);
    while (!stop) {
        if (send_later) {
            send_later = 0;
            usleep(100000);
            kill(getpid(), SIGUSR1);
        }
        usleep(1000);
    }
    return NULL;
}

enum call { SIGSUSPEND, PPOLL, PSELECT, EPOLL_PWAIT };
static const char *names[] = {"sigsuspend", "ppoll", "pselect", "epoll_pwait"};
static int ep;

/* one sleeping call with an empty mask; -1 EINTR expected */
static int sleep_in(enum call c)
{
    sigset_t none;
    sigemptyset(&none);
    struct timespec limit = {5, 0};
    alarm(10);
    int r;
    if (c == SIGSUSPEND)
        r = sigsuspend(&none);
    else if (c == PPOLL)
        r = ppoll(NULL, 0, &limit, &none);
    else if (c == PSELECT)
        r = pselect(0, NULL, NULL, NULL, &limit, &none);
    else {
        struct epoll_event ev;
        r = epoll_pwait(ep, &ev, 1, 5000, &none);
    }
    int e = errno;
    alarm(0);
    return r == -1 && e == EINTR;
}

static int still_blocked(void)
{
    sigset_t now;
    pthread_sigmask(SIG_BLOCK, NULL, &now);
    return sigismember(&now, SIGUSR1);
}

int main(void)
{
    signal(SIGUSR1, on_usr1);
    signal(SIGALRM, on_alarm);
    sigset_t usr1;
    sigemptyset(&usr1);
    sigaddset(&usr1, SIGUSR1);
    pthread_sigmask(SIG_BLOCK, &usr1, NULL);
    pthread_t t;
    pthread_barrier_init(&ready, NULL, 2);
    if (pthread_create(&t, NULL, worker, NULL)) {
        printf("pthread_create failed\n");
        return 2;
    }
    pthread_barrier_wait(&ready);
    pid_t me = gettid();
    ep = epoll_create1(0);

    for (enum call c = SIGSUSPEND; c <= EPOLL_PWAIT; c++) {
        handled_by = 0;
        alarmed = 0;
        kill(getpid(), SIGUSR1);
        sigset_t pend;
        sigpending(&pend);
        int was_pending = sigismember(&pend, SIGUSR1);
        int eintr = sleep_in(c);
        printf("%s, sent before (pending: %s): EINTR: %s, handled in the caller: %s, "
               "mask back: %s, alarm: %s\n", names[c], yes(was_pending), yes(eintr),
               yes(handled_by == me), yes(still_blocked()), alarmed ? "fired" : "no");

        handled_by = 0;
        alarmed = 0;
        send_later = 1;
        eintr = sleep_in(c);
        printf("%s, sent while it sleeps: EINTR: %s, handled in the caller: %s, "
               "mask back: %s, alarm: %s\n", names[c], yes(eintr), yes(handled_by == me),
               yes(still_blocked()), alarmed ? "fired" : "no");
    }
    stop = 1;
    pthread_join(t, NULL);
    printf("sigwaits ok\n");
    return 0;
}
