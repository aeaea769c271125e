/* Waiting for signals and what a handler learns of them:
 * - sigsuspend with SIGUSR1 blocked: a timer's SIGALRM runs its handler with
 *   the suspend mask (plus the signal) blocked, sigsuspend returns -1 EINTR and
 *   the old mask is back afterwards; a SIGUSR1 pending before sigsuspend that
 *   the suspend mask unblocks is delivered at once;
 * - sigpending; sigwaitinfo/sigtimedwait take blocked pending signals with
 *   their siginfo (sigqueue's si_value and SI_QUEUE, kill's SI_USER and si_pid,
 *   raise's SI_TKILL, seen in a handler); sigtimedwait times out with EAGAIN;
 * - a standard signal sent twice while blocked is pending once, a real-time one
 *   is queued each time (in order). */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static volatile int alarm_ran, usr1_ran, usr1_blocked_inside, alarm_saw_usr1_blocked;
static volatile int info_code, info_pid_ok, info_value;

static void on_alarm(int sig)
{
    sigset_t now;
    (void)sig;
    sigprocmask(SIG_BLOCK, NULL, &now);
    alarm_ran++;
    alarm_saw_usr1_blocked = sigismember(&now, SIGUSR1) * 10 + sigismember(&now, SIGALRM);
}

static void on_usr1(int sig, siginfo_t *si, void *ctx)
{
    sigset_t now;
    (void)sig;
    (void)ctx;
    sigprocmask(SIG_BLOCK, NULL, &now);
    usr1_ran++;
    usr1_blocked_inside = sigismember(&now, SIGUSR1);
    info_code = si->si_code;
    info_pid_ok = si->si_pid == getpid() && si->si_uid == getuid();
    info_value = si->si_value.sival_int;
}

static void show_mask(const char *when)
{
    sigset_t now;
    sigprocmask(SIG_BLOCK, NULL, &now);
    printf("%s: USR1 blocked %d, ALRM blocked %d\n", when, sigismember(&now, SIGUSR1),
           sigismember(&now, SIGALRM));
}

int main(void)
{
    struct sigaction sa;
    sigset_t block, empty, pend;
    siginfo_t si;
    setvbuf(stdout, NULL, _IOLBF, 0);

    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alarm;
    sigaction(SIGALRM, &sa, NULL);
    sa.sa_sigaction = on_usr1;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGUSR1, &sa, NULL);

    sigemptyset(&block);
    sigaddset(&block, SIGUSR1);
    sigaddset(&block, SIGALRM);
    sigprocmask(SIG_BLOCK, &block, NULL);

    /* sigsuspend waiting for SIGALRM (USR1 stays blocked in the suspend mask) */
    sigset_t only_usr1;
    sigemptyset(&only_usr1);
    sigaddset(&only_usr1, SIGUSR1);
    struct itimerval it = {{0, 0}, {0, 50000}};
    setitimer(ITIMER_REAL, &it, NULL);
    int r = sigsuspend(&only_usr1);
    printf("sigsuspend: %d %s, alarm handler ran %d, inside it USR1*10+ALRM blocked = %d\n",
           r, strerror(errno), alarm_ran, alarm_saw_usr1_blocked);
    show_mask("after sigsuspend");

    /* a pending SIGUSR1 the suspend mask unblocks */
    kill(getpid(), SIGUSR1);
    sigpending(&pend);
    printf("pending: USR1 %d ALRM %d, handler ran %d\n", sigismember(&pend, SIGUSR1),
           sigismember(&pend, SIGALRM), usr1_ran);
    sigemptyset(&empty);
    r = sigsuspend(&empty);
    printf("sigsuspend: %d %s, USR1 handler ran %d (blocked inside %d, si_code %d, pid/uid ok %d)\n",
           r, strerror(errno), usr1_ran, usr1_blocked_inside, info_code, info_pid_ok);
    show_mask("after sigsuspend");

    /* sigwaitinfo / sigtimedwait */
    union sigval v = {.sival_int = 4242};
    sigqueue(getpid(), SIGUSR1, v);
    int got = sigwaitinfo(&block, &si);
    printf("sigwaitinfo: %d, si_code %d (SI_QUEUE %d), value %d, pid ok %d, handler ran %d\n",
           got, si.si_code, SI_QUEUE, si.si_value.sival_int, si.si_pid == getpid(), usr1_ran);
    raise(SIGUSR1);
    got = sigwaitinfo(&block, &si);
    /* glibc's sigtimedwait turns SI_TKILL into SI_USER */
    printf("raise then sigwaitinfo: %d, si_code %d\n", got, si.si_code);
    kill(getpid(), SIGALRM);
    kill(getpid(), SIGUSR1);
    got = sigwaitinfo(&block, &si);
    int got2 = sigwaitinfo(&block, &si);
    printf("two pending: first %d then %d\n", got, got2);
    struct timespec tmo = {0, 30000000};
    got = sigtimedwait(&block, &si, &tmo);
    printf("sigtimedwait with none pending: %d %s\n", got, strerror(errno));

    /* queueing */
    kill(getpid(), SIGUSR1);
    kill(getpid(), SIGUSR1);
    int rt = SIGRTMIN + 1;
    sigaddset(&block, rt);
    sigprocmask(SIG_BLOCK, &block, NULL);
    for (int i = 1; i <= 3; i++) {
        v.sival_int = i * 11;
        sigqueue(getpid(), rt, v);
    }
    tmo.tv_nsec = 0;
    int n_usr1 = 0, n_rt = 0;
    while ((got = sigtimedwait(&block, &si, &tmo)) > 0) {
        if (got == SIGUSR1)
            n_usr1++;
        else if (got == rt) {
            n_rt++;
            printf("  rt value %d\n", si.si_value.sival_int);
        }
    }
    printf("USR1 sent twice, taken %d; RT sent three times, taken %d\n", n_usr1, n_rt);

    /* unblocking a pending one runs its handler before sigprocmask returns */
    usr1_ran = 0;
    v.sival_int = 77;
    sigqueue(getpid(), SIGUSR1, v);
    sigprocmask(SIG_UNBLOCK, &block, NULL);
    printf("unblocked: handler ran %d, value %d, si_code %d\n", usr1_ran, info_value, info_code);
    raise(SIGUSR1);
    printf("raise: handler ran %d, si_code %d (SI_TKILL %d), pid/uid ok %d\n", usr1_ran, info_code,
           SI_TKILL, info_pid_ok);
    return 0;
}
