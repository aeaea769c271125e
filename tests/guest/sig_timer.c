/* Interval timers: ITIMER_REAL with an interval delivers SIGALRM again and
 * again (five counted in a sigsuspend loop); getitimer shows it armed with
 * its interval and a value no greater; disarming returns the old setting;
 * alarm() returns the seconds left of the previous alarm; EINVAL for a bad
 * timer or microseconds; a handler-less SIGALRM kills (exit status 142). */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

static volatile int ticks;
static volatile int code;
static void on_alarm(int sig, siginfo_t *si, void *ctx) { (void)sig; (void)ctx; ticks++; code = si->si_code; }

int main(void)
{
    struct sigaction sa;
    sigset_t alrm, empty;
    setvbuf(stdout, NULL, _IOLBF, 0);
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_alarm;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGALRM, &sa, NULL);
    sigemptyset(&alrm);
    sigaddset(&alrm, SIGALRM);
    sigemptyset(&empty);
    sigprocmask(SIG_BLOCK, &alrm, NULL);

    struct itimerval it = {{0, 20000}, {0, 20000}}, cur, old;
    printf("setitimer: %d\n", setitimer(ITIMER_REAL, &it, NULL));
    getitimer(ITIMER_REAL, &cur);
    printf("armed: interval %ld.%06ld, value within it %d\n", (long)cur.it_interval.tv_sec,
           (long)cur.it_interval.tv_usec,
           cur.it_value.tv_sec == 0 && cur.it_value.tv_usec > 0 && cur.it_value.tv_usec <= 20000);
    while (ticks < 5)
        sigsuspend(&empty);
    printf("ticks %d, si_code %d (SI_KERNEL %d)\n", ticks, code, SI_KERNEL);
    struct itimerval off = {{0, 0}, {0, 0}};
    setitimer(ITIMER_REAL, &off, &old);
    printf("disarmed: old interval %ld.%06ld\n", (long)old.it_interval.tv_sec,
           (long)old.it_interval.tv_usec);
    getitimer(ITIMER_REAL, &cur);
    printf("now: %ld %ld %ld %ld\n", (long)cur.it_interval.tv_sec, (long)cur.it_interval.tv_usec,
           (long)cur.it_value.tv_sec, (long)cur.it_value.tv_usec);

    printf("alarm(10): %u\n", alarm(10));
    printf("alarm(0): %u\n", alarm(0));
    it.it_value.tv_usec = 1000000;
    printf("usec 1000000: %d %s\n", setitimer(ITIMER_REAL, &it, NULL), strerror(errno));
    printf("timer 7: %d %s\n", setitimer(7, &off, NULL), strerror(errno));
    printf("virtual off: %d\n", setitimer(ITIMER_VIRTUAL, &off, NULL));

    sa.sa_handler = SIG_DFL;
    sa.sa_flags = 0;
    sigaction(SIGALRM, &sa, NULL);
    sigprocmask(SIG_UNBLOCK, &alrm, NULL);
    it.it_interval.tv_usec = 0;
    it.it_value.tv_usec = 10000;
    setitimer(ITIMER_REAL, &it, NULL);
    for (;;)
        pause();
}
