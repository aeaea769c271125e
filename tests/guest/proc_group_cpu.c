/* A process's CPU time is every thread's: times(), getrusage(RUSAGE_SELF),
 * clock_gettime(CLOCK_PROCESS_CPUTIME_ID) and /proc/self/stat's utime+stime count a
 * second thread's spinning (in mkemu each thread is a host process of its own), and
 * RUSAGE_THREAD does not; after the thread is joined, its time still counts.  A
 * child's time shows in wait4's rusage, then in RUSAGE_CHILDREN and times()'s cutime
 * (in mkemu the broker keeps them: a guest child is no host child of its parent).  Then VmPeak and VmHWM keep the high-water marks of an
 * 8 MiB mapping written and unmapped (Linux's VmHWM lags by some pages: its RSS
 * counters are synced in batches).  Prints only comparisons, for the native run's
 * output to be the same. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/times.h>
#include <sys/wait.h>
#include <errno.h>
#include <time.h>
#include <unistd.h>

static atomic_int spun, done;
static volatile unsigned long sink;

static double clock_seconds(clockid_t clock)
{
    struct timespec ts;
    clock_gettime(clock, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void *worker(void *arg)
{
    while (clock_seconds(CLOCK_THREAD_CPUTIME_ID) < 0.3)
        for (int i = 0; i < 1000; i++)
            sink += i;
    *(double *)arg = clock_seconds(CLOCK_THREAD_CPUTIME_ID);
    atomic_store(&spun, 1);
    while (!atomic_load(&done))
        usleep(1000);          /* alive while the main thread looks */
    return 0;
}

static double rusage_seconds(int who)
{
    struct rusage ru;
    getrusage(who, &ru);
    return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6
         + ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

static double stat_seconds(void)
{
    char buf[1024];
    FILE *f = fopen("/proc/self/stat", "r");
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    char *p = strrchr(buf, ')') + 2;        /* field 3, the state */
    unsigned long utime, stime;
    sscanf(p, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &utime, &stime);
    return (utime + stime) / (double)sysconf(_SC_CLK_TCK);
}

static long status_kb(const char *key)
{
    char line[256];
    long kb = -1;
    FILE *f = fopen("/proc/self/status", "r");
    while (fgets(line, sizeof line, f))
        if (!strncmp(line, key, strlen(key)) && line[strlen(key)] == ':')
            kb = atol(line + strlen(key) + 1);
    fclose(f);
    return kb;
}

static const char *yes(int c) { return c ? "yes" : "no"; }

int main(void)
{
    double worker_cpu = 0;
    pthread_t th;
    pthread_create(&th, 0, worker, &worker_cpu);
    while (!atomic_load(&spun))
        usleep(1000);
    /* both threads' time so far (a tick's rounding allowed for per thread) */
    double both = worker_cpu + clock_seconds(CLOCK_THREAD_CPUTIME_ID);
    printf("worker spun 0.3 s: %s\n", yes(worker_cpu >= 0.3));
    printf("CLOCK_PROCESS_CPUTIME_ID counts both threads: %s\n",
           yes(clock_seconds(CLOCK_PROCESS_CPUTIME_ID) >= both - 0.001));
    double self = rusage_seconds(RUSAGE_SELF);
    printf("getrusage(RUSAGE_SELF) counts both threads: %s\n", yes(self >= both - 0.03));
    printf("getrusage(RUSAGE_THREAD) counts this thread only: %s\n",
           yes(rusage_seconds(RUSAGE_THREAD) <= self - 0.25));
    struct tms tm;
    times(&tm);
    printf("times() counts both threads: %s\n",
           yes((tm.tms_utime + tm.tms_stime) / (double)sysconf(_SC_CLK_TCK) >= both - 0.03));
    printf("/proc/self/stat counts both threads: %s\n", yes(stat_seconds() >= both - 0.03));
    atomic_store(&done, 1);
    pthread_join(th, 0);
    usleep(300000);     /* (mkemu: time for the broker to reap the thread's host process) */
    /* an ended thread's time stays the process's */
    printf("after the join, CLOCK_PROCESS_CPUTIME_ID still counts the worker: %s\n",
           yes(clock_seconds(CLOCK_PROCESS_CPUTIME_ID) >= both - 0.001));
    printf("after the join, getrusage(RUSAGE_SELF) too: %s\n",
           yes(rusage_seconds(RUSAGE_SELF) >= both - 0.03));
    times(&tm);
    printf("after the join, times() too: %s\n",
           yes((tm.tms_utime + tm.tms_stime) / (double)sysconf(_SC_CLK_TCK) >= both - 0.03));

    struct rusage before;
    struct tms tm_before;
    int ok = getrusage(RUSAGE_CHILDREN, &before) == 0;
    times(&tm_before);
    int fds[2];
    pipe(fds);
    pid_t child = fork();
    if (child == 0) {
        while (clock_seconds(CLOCK_PROCESS_CPUTIME_ID) < 0.3)
            for (int i = 0; i < 1000; i++)
                sink += i;
        double spent = clock_seconds(CLOCK_PROCESS_CPUTIME_ID);
        write(fds[1], &spent, sizeof spent);
        _exit(0);
    }
    double child_cpu = 0;
    read(fds[0], &child_cpu, sizeof child_cpu);
    int status;
    struct rusage ru, after;
    wait4(child, &status, 0, &ru);
    ok = ok && getrusage(RUSAGE_CHILDREN, &after) == 0;
    times(&tm);
    double seconds = ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6
                   + ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
    double gained = after.ru_utime.tv_sec + after.ru_utime.tv_usec / 1e6
                  + after.ru_stime.tv_sec + after.ru_stime.tv_usec / 1e6
                  - before.ru_utime.tv_sec - before.ru_utime.tv_usec / 1e6
                  - before.ru_stime.tv_sec - before.ru_stime.tv_usec / 1e6;
    long ticks = tm.tms_cutime + tm.tms_cstime - tm_before.tms_cutime - tm_before.tms_cstime;
    printf("child spun 0.3 s: %s\n", yes(child_cpu >= 0.3));
    printf("wait4's rusage has the child's time: %s\n", yes(seconds >= child_cpu - 0.03));
    printf("getrusage(RUSAGE_CHILDREN) gained it: %s\n", yes(ok && gained >= child_cpu - 0.03));
    printf("times()'s cutime+cstime gained it: %s\n",
           yes(ticks / (double)sysconf(_SC_CLK_TCK) >= child_cpu - 0.03));
    errno = 0;
    printf("getrusage(5) is EINVAL: %s\n", yes(getrusage(5, &ru) == -1 && errno == EINVAL));

    long size = status_kb("VmSize"), rss = status_kb("VmRSS");
    size_t len = 8 << 20;
    char *p = mmap(0, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    for (size_t i = 0; i < len; i += 4096)
        p[i] = 1;
    munmap(p, len);
    printf("VmPeak has the unmapped 8 MiB: %s\n",
           yes(status_kb("VmPeak") >= size + 8192 && status_kb("VmSize") < size + 8192));
    printf("VmHWM has its pages: %s\n",
           yes(status_kb("VmHWM") >= rss + 6144 && status_kb("VmRSS") < rss + 6144));
    return 0;
}
