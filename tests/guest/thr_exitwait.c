/* Thread exit while others sleep on futexes.  Thread E calls pthread_exit(42)
 * while thread J sleeps in pthread_join(E) -- a futex wait on E's thread id,
 * which only the kernel's CLONE_CHILD_CLEARTID store and wake at E's exit
 * ends -- and thread C sleeps in pthread_cond_wait, which E's exit must not
 * disturb.  Then main wakes C, and joins thread F that returned 7 long before
 * (its result kept until joined).  A detached thread exits unjoined. */
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

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static int go, may_exit, detached_ran;
static pthread_t e;

static void *exiting(void *arg)
{
    pthread_mutex_lock(&lock);
    while (!may_exit)
        pthread_cond_wait(&cond, &lock);
    pthread_mutex_unlock(&lock);
    usleep(50000);                  /* J is most likely asleep in the join by now */
    pthread_exit((void *)42L);
}

static void *joiner(void *arg)
{
    void *ret = NULL;
    int r = pthread_join(e, &ret);
    return (void *)(r == 0 ? (long)ret : -1L);
}

static void *cond_waiter(void *arg)
{
    pthread_mutex_lock(&lock);
    while (!go)
        pthread_cond_wait(&cond, &lock);
    pthread_mutex_unlock(&lock);
    return (void *)1L;
}

static void *quick(void *arg)
{
    return (void *)7L;
}

static void *detached(void *arg)
{
    __atomic_store_n(&detached_ran, 1, __ATOMIC_SEQ_CST);
    return NULL;
}

int main(void)
{
    pthread_t j, c, f, d;
    void *jr, *cr, *fr;
    spawn(&f, quick, NULL);
    spawn(&c, cond_waiter, NULL);
    spawn(&e, exiting, NULL);
    spawn(&j, joiner, NULL);
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    if (pthread_create(&d, &attr, detached, NULL) != 0)
        return 2;
    usleep(50000);

    pthread_mutex_lock(&lock);      /* let E exit; C's condition is still false */
    may_exit = 1;
    pthread_cond_broadcast(&cond);
    pthread_mutex_unlock(&lock);
    pthread_join(j, &jr);
    printf("joiner got the exited thread's value: %ld\n", (long)jr);

    pthread_mutex_lock(&lock);
    go = 1;
    pthread_cond_signal(&cond);
    pthread_mutex_unlock(&lock);
    pthread_join(c, &cr);
    printf("cond waiter woken by main: %ld\n", (long)cr);

    usleep(20000);
    pthread_join(f, &fr);
    printf("late join of a long-finished thread: %ld\n", (long)fr);
    while (!__atomic_load_n(&detached_ran, __ATOMIC_SEQ_CST))
        usleep(1000);
    puts("detached thread ran");
    int ok = (long)jr == 42 && (long)cr == 1 && (long)fr == 7;
    puts(ok ? "exitwait ok" : "exitwait WRONG");
    return !ok;
}
