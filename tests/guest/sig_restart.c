/* Calls a SIGALRM interrupts, with and without SA_RESTART:
 * - read on an empty pipe (the handler writes a byte): restarted and reads
 *   it with SA_RESTART, -1 EINTR without (the byte is there afterwards);
 * - wait4 for a child still running: restarted / EINTR;
 * - FUTEX_WAIT without a timeout (the handler changes the word): restarted,
 *   so it sees the new value (EAGAIN) / EINTR;
 * - nanosleep, ppoll, pselect: EINTR even with SA_RESTART (nanosleep leaves
 *   the time remaining in rem).
 * The timer is alarm(1) for the first read, setitimer (100 ms) for the rest;
 * the child that wait4 waits for sleeps 400 ms. */
#include <errno.h>
#include <linux/futex.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/select.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int pfd[2];
static volatile int fired;
static int futex_word;

static void on_alarm(int sig)
{
    (void)sig;
    fired++;
    write(pfd[1], "x", 1);
    futex_word = 1;
}

static void arm(int restart)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alarm;
    sa.sa_flags = restart ? SA_RESTART : 0;
    sigaction(SIGALRM, &sa, NULL);
    fired = 0;
    struct itimerval it = {{0, 0}, {0, 100000}};
    setitimer(ITIMER_REAL, &it, NULL);
}

static void report(const char *what, long r)
{
    printf("%s: %ld %s, handler ran %d\n", what, r, r < 0 ? strerror(errno) : "", fired);
}

static void drain(void)
{
    char c;
    int n = read(pfd[0], &c, 1);
    printf("  then read %d byte(s)\n", n);
}

int main(void)
{
    char buf[8];
    setvbuf(stdout, NULL, _IOLBF, 0);
    pipe(pfd);

    for (int restart = 1; restart >= 0; restart--) {
        printf("-- %s\n", restart ? "SA_RESTART" : "no SA_RESTART");
        arm(restart);
        if (restart) {
            struct itimerval off = {{0, 0}, {0, 0}};
            setitimer(ITIMER_REAL, &off, NULL);
            alarm(1);
        }
        report("read", read(pfd[0], buf, sizeof buf));
        if (!restart)
            drain();

        pid_t child = fork();
        if (child == 0) {
            usleep(400000);        /* longer than the timer */
            _exit(7);
        }
        arm(restart);
        int status = 0;
        pid_t got = wait4(child, &status, 0, NULL);
        report("wait4 is the child", got == child ? 1 : got);
        if (got != child) {
            got = wait4(child, &status, 0, NULL);
            printf("  then wait4 is the child %d\n", got == child);
        }
        printf("  status %d\n", WEXITSTATUS(status));
        drain();

        futex_word = 0;
        arm(restart);
        report("futex wait", syscall(SYS_futex, &futex_word, FUTEX_WAIT_PRIVATE, 0, NULL, NULL, 0));
        drain();

        arm(restart);
        struct timespec req = {5, 0}, rem = {0, 0};
        report("nanosleep", nanosleep(&req, &rem));
        printf("  rem between 4 and 5 s: %d\n", rem.tv_sec == 4 || (rem.tv_sec == 5 && rem.tv_nsec == 0));
        drain();

        arm(restart);
        struct pollfd p = {-1, POLLIN, 0};              /* ignored: never ready */
        struct timespec tmo = {5, 0};
        report("ppoll", ppoll(&p, 1, &tmo, NULL));
        drain();

        arm(restart);
        fd_set rs;
        FD_ZERO(&rs);
        report("pselect", pselect(0, &rs, NULL, NULL, &tmo, NULL));
        drain();
    }
    return 0;
}
