/* execve in a multithreaded process ends every other thread (whatever it is
 * blocked in) and the new image starts with one thread and the same pid.
 * Stage 1 runs 3 threads and execs itself from the main thread; stage 2 runs
 * 3 threads and execs from one of them: Linux gives the exec'ing thread the
 * process id (the old leader goes away).  Each image reports its pid against
 * the first one's, its gettid, and the "Threads:" count of /proc/self/status.
 * (qemu-user hands execve to the host kernel, which cannot run an aarch64
 * file here, so this is checked against the same source run natively.) */
#define _GNU_SOURCE
#include <pthread.h>
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

static char **args;
static pthread_barrier_t all_up;
static pthread_barrier_t reported;     /* stage 2: main has printed its line */

static void report(const char *stage, pid_t first)
{
    char line[256];
    int threads = -1;
    FILE *f = fopen("/proc/self/status", "r");
    while (f && fgets(line, sizeof line, f))
        sscanf(line, "Threads: %d", &threads);
    if (f)
        fclose(f);
    printf("%s: pid same as the first image: %s, gettid == getpid: %s, Threads: %d\n", stage,
           getpid() == first ? "yes" : "NO", gettid() == getpid() ? "yes" : "NO", threads);
}

static void exec_next(const char *stage, pid_t first)
{
    char pid[32];
    snprintf(pid, sizeof pid, "%d", (int)first);
    char *argv[] = {args[0], (char *)stage, pid, NULL};
    fflush(stdout);
    execv("/proc/self/exe", argv);
    perror("execv");
    exit(1);
}

static void *blocked(void *arg)
{
    pthread_barrier_wait(&all_up);
    for (;;)
        pause();                       /* ended by the exec, nothing else */
    return NULL;
}

static void *execs(void *arg)
{
    pthread_barrier_wait(&all_up);
    pthread_barrier_wait(&reported);   /* not before main's line is out */
    usleep(20000);                     /* let the others reach pause() */
    exec_next("3", (pid_t)(long)arg);
    return NULL;
}

static void start_threads(void *(*last)(void *), pid_t first)
{
    pthread_t t;
    pthread_barrier_init(&all_up, NULL, 4);
    for (int i = 0; i < 2; i++)
        spawn(&t, blocked, NULL);
    spawn(&t, last, (void *)(long)first);
    pthread_barrier_wait(&all_up);
}

int main(int argc, char **argv)
{
    args = argv;
    if (argc == 1) {
        start_threads(blocked, 0);
        report("image 1, 3 threads started", getpid());
        exec_next("2", getpid());      /* from the main thread */
    }
    pid_t first = atoi(argv[2]);
    if (strcmp(argv[1], "2") == 0) {
        report("image 2 (exec'd from the main thread)", first);
        pthread_barrier_init(&reported, NULL, 2);
        start_threads(execs, first);
        report("image 2, 3 threads started", first);
        fflush(stdout);
        pthread_barrier_wait(&reported);
        for (;;)
            pause();                   /* the worker's exec ends this thread too */
    }
    report("image 3 (exec'd from a worker thread)", first);
    return 0;
}
