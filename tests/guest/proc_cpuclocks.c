/* CPU-time clocks by id: clock_getcpuclockid of this process (by its pid and by 0)
 * and of a child, pthread_getcpuclockid of this thread and of another; each reads
 * the CPU time its process or thread spent (one that spun 50 ms of CPU shows at
 * least that, this process's clock lies between two CLOCK_PROCESS_CPUTIME_ID
 * readings); a pid with no process is ESRCH, another process's thread and a bad
 * clock kind EINVAL.  Prints only comparisons, for the native run's to be the same. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char *yes(int c)
{
    return c ? "yes" : "NO";
}

static long long ns(clockid_t c)
{
    struct timespec ts;
    if (clock_gettime(c, &ts))
        return -1;
    return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* spin until clock c has counted 50 ms of CPU time (not at all if it cannot be read) */
static void spin(clockid_t c)
{
    long long start = ns(c), now = start;
    while (now >= 0 && now - start < 50000000)
        now = ns(c);
}

static volatile int spun, done;

static void *worker(void *arg)
{
    spin(CLOCK_THREAD_CPUTIME_ID);
    spun = 1;
    while (!done)
        usleep(1000);
    return NULL;
}

int main(void)
{
    clockid_t mine, zero, thread, other, child_clock;
    long long before = ns(CLOCK_PROCESS_CPUTIME_ID);
    int e1 = clock_getcpuclockid(getpid(), &mine), e2 = clock_getcpuclockid(0, &zero);
    long long at = ns(mine), at0 = ns(zero), after = ns(CLOCK_PROCESS_CPUTIME_ID);
    printf("this process's clock, by pid and by 0: %s, between two readings: %s\n",
           yes(!e1 && !e2), yes(before <= at && at <= at0 && at0 <= after));

    int e3 = pthread_getcpuclockid(pthread_self(), &thread);
    long long t0 = ns(thread);
    spin(thread);
    printf("this thread's clock counts its CPU time: %s\n", yes(!e3 && t0 >= 0 && ns(thread) - t0 >= 50000000));

    pthread_t w;
    pthread_create(&w, NULL, worker, NULL);
    while (!spun)
        usleep(1000);
    int e4 = pthread_getcpuclockid(w, &other);
    printf("a second thread's clock: its 50 ms: %s\n", yes(!e4 && ns(other) >= 50000000));
    done = 1;
    pthread_join(w, NULL);

    int ready[2];
    pipe(ready);
    pid_t child = fork();
    if (child == 0) {
        spin(CLOCK_PROCESS_CPUTIME_ID);
        write(ready[1], "r", 1);
        pause();
        _exit(0);
    }
    char c;
    read(ready[0], &c, 1);
    int e5 = clock_getcpuclockid(child, &child_clock);
    printf("a child's clock: its 50 ms: %s\n", yes(!e5 && ns(child_clock) >= 50000000));
    errno = 0;
    int bad_thread = ns(((~child) << 3) | 4 | 2) == -1 && errno == EINVAL;
    errno = 0;
    int bad_kind = ns(((~0) << 3) | 3) == -1 && errno == EINVAL;
    printf("its thread clock: EINVAL: %s, a clock of kind 3: EINVAL: %s\n", yes(bad_thread),
           yes(bad_kind));
    kill(child, SIGKILL);
    waitpid(child, NULL, 0);
    clockid_t gone;
    printf("a reaped child's pid: ESRCH: %s\n", yes(clock_getcpuclockid(child, &gone) == ESRCH));
    return 0;
}
