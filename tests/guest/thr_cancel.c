/* pthread_cancel of threads blocked in cancellation points: read() of an
 * empty pipe, pthread_cond_wait, nanosleep; and, asynchronously, a thread
 * spinning in a loop with no system call.  glibc cancels with a signal
 * (SIGCANCEL, tgkill to that thread) whose handler unwinds the thread: join
 * must give PTHREAD_CANCELED and every cleanup handler must have run (the
 * cond_wait one finds the mutex re-acquired, as POSIX says).  A thread with
 * cancellation disabled runs on until it enables it and tests for it. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
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

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t never = PTHREAD_COND_INITIALIZER;
static int pipefd[2];
static volatile int cleaned[5], started, past_disabled;
static volatile unsigned long spins;

static void note_started(void)
{
    __atomic_fetch_add(&started, 1, __ATOMIC_SEQ_CST);
}

static void cleanup(void *arg)
{
    cleaned[(long)arg] = 1;
}

static void cleanup_unlock(void *arg)
{
    /* cond_wait was cancelled with the mutex re-acquired: trylock by its owner
     * of a normal mutex would deadlock, so record that unlock succeeds */
    cleaned[(long)arg] = pthread_mutex_unlock(&lock) == 0 ? 1 : 2;
}

static void *in_read(void *arg)
{
    char c;
    pthread_cleanup_push(cleanup, arg);
    note_started();
    read(pipefd[0], &c, 1);               /* nobody writes */
    pthread_cleanup_pop(0);
    return NULL;
}

static void *in_cond_wait(void *arg)
{
    pthread_mutex_lock(&lock);
    pthread_cleanup_push(cleanup_unlock, arg);
    note_started();
    for (;;)
        pthread_cond_wait(&never, &lock);
    pthread_cleanup_pop(0);
    return NULL;
}

static void *in_sleep(void *arg)
{
    struct timespec long_time = {1000, 0};
    pthread_cleanup_push(cleanup, arg);
    note_started();
    nanosleep(&long_time, NULL);
    pthread_cleanup_pop(0);
    return NULL;
}

static void *spinning(void *arg)
{
    pthread_setcanceltype(PTHREAD_CANCEL_ASYNCHRONOUS, NULL);
    pthread_cleanup_push(cleanup, arg);
    note_started();
    for (;;)
        spins++;                          /* no cancellation point anywhere */
    pthread_cleanup_pop(0);
    return NULL;
}

static void *disabled(void *arg)
{
    pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, NULL);
    pthread_cleanup_push(cleanup, arg);
    note_started();
    while (!past_disabled)                /* main cancels us, then sets this */
        usleep(1000);                     /* a cancellation point, but disabled */
    pthread_setcancelstate(PTHREAD_CANCEL_ENABLE, NULL);
    pthread_testcancel();
    cleaned[(long)arg] = 3;               /* not reached */
    pthread_cleanup_pop(0);
    return NULL;
}

int main(void)
{
    static void *(*const fns[5])(void *) = {in_read, in_cond_wait, in_sleep, spinning, disabled};
    static const char *const names[5] = {"read", "cond_wait", "nanosleep", "async spin",
                                         "disabled then testcancel"};
    pthread_t t[5];
    pipe(pipefd);
    for (long i = 0; i < 5; i++)
        spawn(&t[i], fns[i], (void *)i);
    while (__atomic_load_n(&started, __ATOMIC_SEQ_CST) < 5)
        usleep(1000);
    usleep(50000);                        /* most likely blocked by now (either way it works) */
    for (int i = 0; i < 5; i++)
        pthread_cancel(t[i]);
    usleep(20000);
    past_disabled = 1;
    int ok = 1;
    for (int i = 0; i < 5; i++) {
        void *ret = NULL;
        struct timespec limit;
        clock_gettime(CLOCK_REALTIME, &limit);
        limit.tv_sec += 20;               /* a thread never cancelled: say so, do not hang */
        int r = pthread_timedjoin_np(t[i], &ret, &limit);
        printf("%s: join %s, %s, cleanup %s\n", names[i], r ? strerror(r) : "0",
               ret == PTHREAD_CANCELED ? "PTHREAD_CANCELED" : "not cancelled",
               cleaned[i] == 1 ? "ran" : cleaned[i] ? "WRONG" : "did not run");
        ok &= r == 0 && ret == PTHREAD_CANCELED && cleaned[i] == 1;
    }
    printf("mutex free after cond_wait's cleanup: %s\n",
           pthread_mutex_trylock(&lock) == 0 ? "yes" : "NO");
    puts(ok ? "cancel ok" : "cancel WRONG");
    return !ok;
}
