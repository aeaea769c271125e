/* Scheduling calls and names from threads: sched_yield, sched_getaffinity (at
 * least one CPU), sched_getcpu within it, SCHED_OTHER, and thread names:
 * pthread_setname_np on itself (prctl), read back by itself (prctl) and by
 * another thread (pthread_getname_np reads /proc/self/task/TID/comm).  Naming
 * another thread (a write to that file) is not built in mkemu: not tested.
 * Only results, not CPU numbers or counts.  With argument "tasks" it also
 * prints how many entries /proc/self/task has while 3 threads live (qemu-user
 * shows its own host threads there, so that mode is checked natively). */
#define _GNU_SOURCE
#include <dirent.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* no thread, no test: stop at once rather than wait for one forever */
static void spawn(pthread_t *t, void *(*fn)(void *), void *arg)
{
    int r = pthread_create(t, NULL, fn, arg);
    if (r) {
        printf("pthread_create: %s\n", strerror(r));
        exit(2);
    }
}

static pthread_barrier_t named, done;

static const char *yes(int c)
{
    return c ? "yes" : "NO";
}

static void *run(void *arg)
{
    long i = (long)arg;
    cpu_set_t set;
    int aff = sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) >= 1;
    int cpu = sched_getcpu();
    int ok = sched_yield() == 0 && aff && cpu >= 0 && CPU_ISSET(cpu, &set) &&
             sched_getscheduler(0) == SCHED_OTHER;
    char name[16], want[16];
    snprintf(want, sizeof want, "self-named-%ld", i);
    pthread_setname_np(pthread_self(), want);
    pthread_barrier_wait(&named);
    pthread_getname_np(pthread_self(), name, sizeof name);
    ok &= strcmp(name, want) == 0;
    pthread_barrier_wait(&done);       /* alive until main has counted tasks */
    return (void *)(long)ok;
}

static int count_tasks(void)
{
    int n = 0;
    DIR *d = opendir("/proc/self/task");
    for (struct dirent *e; d && (e = readdir(d));)
        n += e->d_name[0] != '.';
    if (d)
        closedir(d);
    return n;
}

int main(int argc, char **argv)
{
    pthread_t t[2];
    void *r[2];
    char name[16];
    pthread_barrier_init(&named, NULL, 3);
    pthread_barrier_init(&done, NULL, 3);
    for (long i = 0; i < 2; i++)
        spawn(&t[i], run, (void *)i);
    pthread_barrier_wait(&named);
    char name1[16];
    pthread_getname_np(t[0], name, sizeof name);     /* another thread's name: via /proc */
    pthread_getname_np(t[1], name1, sizeof name1);
    int read_ok = strcmp(name, "self-named-0") == 0 && strcmp(name1, "self-named-1") == 0;
    printf("main reads each thread's own name: %s\n", yes(read_ok));
    if (argc > 1 && strcmp(argv[1], "tasks") == 0)
        printf("/proc/self/task entries with 3 threads: %d\n", count_tasks());
    pthread_barrier_wait(&done);
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], &r[i]);
    cpu_set_t cpus;
    int cpu = sched_getcpu();
    int main_ok = sched_yield() == 0 && sched_getaffinity(0, sizeof cpus, &cpus) == 0 &&
                  CPU_COUNT(&cpus) >= 1 && cpu >= 0 && CPU_ISSET(cpu, &cpus) &&
                  sched_getscheduler(0) == SCHED_OTHER;
    printf("main: yield, affinity, getcpu, SCHED_OTHER: %s\n", yes(main_ok));
    for (int i = 0; i < 2; i++)
        printf("thread %d: yield, affinity, getcpu, SCHED_OTHER, its name: %s\n", i,
               yes((long)r[i]));
    int ok = read_ok && main_ok && r[0] && r[1];
    puts(ok ? "sched ok" : "sched WRONG");
    return !ok;
}
