/* Guest threads contending on one pthread mutex: 4 threads each add 1 to a
 * shared counter COUNT times (default 100000, argv[1] overrides) under the lock.
 * Any lost update (a lock that let two threads in, a futex wake that went
 * missing and hung) shows as a wrong total or a timeout.  Also a second,
 * unlocked-per-thread tally, so each thread is seen to have run its share. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
static long count = 100000;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static long total;

static void *work(void *arg)
{
    long *mine = arg;
    for (long i = 0; i < count; i++) {
        pthread_mutex_lock(&lock);
        total++;
        pthread_mutex_unlock(&lock);
        (*mine)++;          /* private to this thread: no lock needed */
    }
    return NULL;
}

int main(int argc, char **argv)
{
    pthread_t t[NTHREADS];
    long done[NTHREADS] = {0};
    if (argc > 1)
        count = atol(argv[1]);
    for (int i = 0; i < NTHREADS; i++)
        spawn(&t[i], work, &done[i]);
    for (int i = 0; i < NTHREADS; i++)
        pthread_join(t[i], NULL);
    long sum = 0;
    for (int i = 0; i < NTHREADS; i++)
        sum += done[i];
    printf("threads %d x %ld: total %ld (expected %ld), per-thread sum %ld\n",
           NTHREADS, count, total, NTHREADS * count, sum);
    puts(total == NTHREADS * count && sum == total ? "mutex ok" : "mutex WRONG");
    return total == NTHREADS * count ? 0 : 1;
}
