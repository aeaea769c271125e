/* timer_create: SIGEV_SIGNAL with a value (SI_TIMER, si_value, the timer id),
 * a periodic timer counted by a real-time signal, SIGEV_NONE read with
 * timer_gettime, a default sigevent (SIGALRM), timer_delete, and errors. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t usr1, rt, alrm, code_ok, value, tid_ok;
static timer_t t1;

static void on_usr1(int s, siginfo_t *si, void *uc)
{
    (void)s; (void)uc;
    usr1++;
    code_ok = si->si_code == SI_TIMER;
    value = si->si_value.sival_int;
}
static void on_rt(int s) { (void)s; rt++; }
static void on_alrm(int s) { (void)s; alrm++; }

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_usr1;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGUSR1, &sa, NULL);
    signal(SIGRTMIN + 2, on_rt);
    signal(SIGALRM, on_alrm);

    struct sigevent ev;
    memset(&ev, 0, sizeof ev);
    ev.sigev_notify = SIGEV_SIGNAL;
    ev.sigev_signo = SIGUSR1;
    ev.sigev_value.sival_int = 4242;
    if (timer_create(CLOCK_MONOTONIC, &ev, &t1)) { perror("timer_create"); return 1; }
    struct itimerspec its = { {0, 0}, {0, 50 * 1000000} };
    timer_settime(t1, 0, &its, NULL);
    while (!usr1) pause();
    printf("one-shot: %d signal, SI_TIMER %d, value %d\n", usr1, code_ok, value);
    struct itimerspec cur;
    timer_gettime(t1, &cur);
    printf("disarmed after firing: %d\n", cur.it_value.tv_sec == 0 && cur.it_value.tv_nsec == 0);
    timer_delete(t1);

    timer_t t2;
    ev.sigev_signo = SIGRTMIN + 2;
    timer_create(CLOCK_MONOTONIC, &ev, &t2);
    struct itimerspec per = { {0, 20 * 1000000}, {0, 20 * 1000000} };
    timer_settime(t2, 0, &per, NULL);
    while (rt < 5) pause();
    timer_delete(t2);
    printf("periodic: at least 5 (%s)\n", rt >= 5 ? "yes" : "no");

    timer_t t3;
    ev.sigev_notify = SIGEV_NONE;
    timer_create(CLOCK_REALTIME, &ev, &t3);
    struct itimerspec far = { {0, 0}, {100, 0} };
    timer_settime(t3, 0, &far, NULL);
    timer_gettime(t3, &cur);
    printf("SIGEV_NONE armed: %d\n", cur.it_value.tv_sec > 90 && cur.it_value.tv_sec <= 100);
    timer_delete(t3);

    timer_t t4;
    if (timer_create(CLOCK_MONOTONIC, NULL, &t4)) { perror("timer_create NULL"); return 1; }
    struct itimerspec soon = { {0, 0}, {0, 30 * 1000000} };
    timer_settime(t4, 0, &soon, NULL);
    while (!alrm) pause();
    printf("default sigevent: SIGALRM %d\n", alrm);
    timer_delete(t4);

    errno = 0;
    int r = timer_settime(t4, 0, &soon, NULL);
    printf("deleted timer: %d %s\n", r, strerror(errno));
    errno = 0;
    r = timer_create(12345, &ev, &t4);
    printf("bad clock: %d %s\n", r, strerror(errno));
    return 0;
}
