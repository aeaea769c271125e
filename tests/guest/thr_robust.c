/* Robust mutexes: the kernel walks a dying thread's robust list (registered
 * with set_robust_list by glibc at thread start) and marks each mutex it
 * still holds FUTEX_OWNER_DIED, waking one waiter.  So:
 *  1. a thread locks and exits; main's later lock gets EOWNERDEAD, then
 *     pthread_mutex_consistent, unlock, and a new lock succeeds;
 *  2. main already sleeps in pthread_mutex_lock when the owner exits: the
 *     kernel's wake gives it EOWNERDEAD;
 *  3. without pthread_mutex_consistent the unlock leaves it ENOTRECOVERABLE.
 * (qemu-user answers set_robust_list with ENOSYS, so this is checked against
 * the same source run natively.) */
#define _GNU_SOURCE
#include <errno.h>
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

static pthread_mutex_t m;
static volatile int locked;

static const char *err(int e)
{
    return e == 0 ? "0" : strerrorname_np(e);
}

static void *lock_and_die(void *arg)
{
    pthread_mutex_lock(&m);
    locked = 1;
    if (arg)
        usleep(100000);            /* main is most likely asleep in its lock by now */
    return NULL;                   /* exits holding m */
}

static void make_robust(void)
{
    pthread_mutexattr_t a;
    pthread_mutexattr_init(&a);
    pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
    int r = pthread_mutex_init(&m, &a);
    if (r)
        printf("init: %s\n", err(r));
}

static void owner_dies(int main_waits)
{
    pthread_t t;
    locked = 0;
    spawn(&t, lock_and_die, main_waits ? &m : NULL);
    if (main_waits)
        while (!locked)
            usleep(1000);
    else
        pthread_join(t, NULL);
    printf("  lock: %s\n", err(pthread_mutex_lock(&m)));
    if (main_waits)
        pthread_join(t, NULL);
}

int main(void)
{
    puts("1. owner exited before the lock");
    make_robust();
    owner_dies(0);
    printf("  consistent: %s\n", err(pthread_mutex_consistent(&m)));
    printf("  unlock: %s\n", err(pthread_mutex_unlock(&m)));
    printf("  lock again: %s\n", err(pthread_mutex_lock(&m)));
    printf("  unlock: %s\n", err(pthread_mutex_unlock(&m)));

    puts("2. owner exits while main waits in the lock");
    owner_dies(1);
    printf("  consistent: %s\n", err(pthread_mutex_consistent(&m)));
    printf("  unlock: %s\n", err(pthread_mutex_unlock(&m)));

    puts("3. not made consistent");
    owner_dies(0);
    printf("  unlock: %s\n", err(pthread_mutex_unlock(&m)));
    printf("  lock again: %s\n", err(pthread_mutex_lock(&m)));
    return 0;
}
