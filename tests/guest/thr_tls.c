/* Thread identity: each thread gets its own copy of __thread variables (the
 * initialized .tdata image and the zeroed .tbss, at its own address, through
 * its own TPIDR_EL0), keeps it across a barrier and yields while the others
 * write theirs, and has a distinct pthread_self and kernel thread id; threads
 * share the process id; in the main thread gettid == getpid. */
#define _GNU_SOURCE
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

#define NTHREADS 4
static __thread long tls_index = -1;                /* .tdata */
static __thread char tls_name[16] = "initial";      /* .tdata */
static __thread long tls_zero[8];                   /* .tbss */
static pthread_barrier_t all_written;

struct seen {
    pthread_t self;
    pid_t tid, pid;
    void *addr;
    int fresh, kept;
};

static struct seen seen[NTHREADS + 1];      /* [NTHREADS]: the main thread */

static void *run(void *arg)
{
    long i = (long)arg;
    struct seen *s = &seen[i];
    int zero = 1;
    for (int k = 0; k < 8; k++)
        zero &= tls_zero[k] == 0;
    /* a new thread starts from the initial image, not from another thread's values */
    s->fresh = tls_index == -1 && strcmp(tls_name, "initial") == 0 && zero;
    tls_index = i;
    snprintf(tls_name, sizeof tls_name, "thread-%ld", i);
    tls_zero[i] = i + 100;
    pthread_barrier_wait(&all_written);
    for (int k = 0; k < 20; k++)
        sched_yield();
    usleep(10000);
    char want[16];
    snprintf(want, sizeof want, "thread-%ld", i);
    s->kept = tls_index == i && strcmp(tls_name, want) == 0 && tls_zero[i] == i + 100;
    s->self = pthread_self();
    s->tid = gettid();
    s->pid = getpid();
    s->addr = &tls_index;
    return NULL;
}

int main(void)
{
    pthread_t t[NTHREADS];
    pthread_barrier_init(&all_written, NULL, NTHREADS + 1);
    tls_index = 99;                          /* the main thread's value is not the image */
    for (long i = 0; i < NTHREADS; i++)
        spawn(&t[i], run, (void *)i);
    pthread_barrier_wait(&all_written);
    for (int i = 0; i < NTHREADS; i++)
        pthread_join(t[i], NULL);
    seen[NTHREADS] = (struct seen){pthread_self(), gettid(), getpid(), &tls_index, 1,
                                   tls_index == 99};
    int fresh = 1, kept = 1, distinct = 1, same_pid = 1, joined_self = 1;
    for (int i = 0; i < NTHREADS; i++) {
        fresh &= seen[i].fresh;
        kept &= seen[i].kept;
        same_pid &= seen[i].pid == getpid() && seen[i].tid != getpid();
        joined_self &= pthread_equal(seen[i].self, t[i]);
        for (int j = i + 1; j <= NTHREADS; j++)
            distinct &= !pthread_equal(seen[i].self, seen[j].self) &&
                        seen[i].tid != seen[j].tid && seen[i].addr != seen[j].addr;
    }
    printf("threads start from the TLS image: %s\n", fresh ? "yes" : "NO");
    printf("each thread keeps its own TLS values: %s\n", kept ? "yes" : "NO");
    printf("main thread's TLS untouched: %s\n", seen[NTHREADS].kept ? "yes" : "NO");
    printf("pthread_self, gettid and TLS address distinct: %s\n", distinct ? "yes" : "NO");
    printf("pthread_self is what pthread_create returned: %s\n", joined_self ? "yes" : "NO");
    printf("threads share getpid, their gettid differs from it: %s\n", same_pid ? "yes" : "NO");
    printf("main thread gettid == getpid: %s\n", gettid() == getpid() ? "yes" : "NO");
    int ok = fresh && kept && seen[NTHREADS].kept && distinct && joined_self && same_pid &&
             gettid() == getpid();
    puts(ok ? "tls ok" : "tls WRONG");
    return !ok;
}
