/* A bounded queue (mutex + two condition variables) between 4 producer and 4
 * consumer threads: consumers sleep in pthread_cond_wait when it is empty,
 * producers when it is full, so nearly every item passes through a futex
 * wait and wake.  Each item is taken exactly once (a per-item mark) and the
 * order-free checksums (sum, sum of squares) match what was produced.
 * argv[1]: items per producer (default 20000). */
#include <pthread.h>
#include <stdint.h>
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

#define NPROD 4
#define NCONS 4
#define QSIZE 8                 /* small: the full-queue wait happens too */

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t not_empty = PTHREAD_COND_INITIALIZER;
static pthread_cond_t not_full = PTHREAD_COND_INITIALIZER;
static uint64_t queue[QSIZE];
static int head, len;
static long per_prod = 20000, taken;
static unsigned char *seen;     /* seen[p * per_prod + i]: times item i of p was consumed */

struct tally { uint64_t n, sum, sumsq; };

static uint64_t item(long p, long i) { return (uint64_t)p * per_prod + i; }

static void *producer(void *arg)
{
    long p = (long)arg;
    for (long i = 0; i < per_prod; i++) {
        pthread_mutex_lock(&lock);
        while (len == QSIZE)
            pthread_cond_wait(&not_full, &lock);
        queue[(head + len++) % QSIZE] = item(p, i);
        pthread_cond_signal(&not_empty);
        pthread_mutex_unlock(&lock);
    }
    return NULL;
}

static void *consumer(void *arg)
{
    struct tally *t = arg;
    for (;;) {
        pthread_mutex_lock(&lock);
        while (len == 0 && taken < NPROD * per_prod)
            pthread_cond_wait(&not_empty, &lock);
        if (len == 0) {          /* everything is taken: let the other consumers see it */
            pthread_cond_broadcast(&not_empty);
            pthread_mutex_unlock(&lock);
            return NULL;
        }
        uint64_t v = queue[head];
        head = (head + 1) % QSIZE;
        len--;
        taken++;
        pthread_cond_signal(&not_full);
        pthread_mutex_unlock(&lock);
        seen[v]++;               /* distinct items: no two threads touch one byte */
        t->n++;
        t->sum += v;
        t->sumsq += v * v;
    }
}

int main(int argc, char **argv)
{
    pthread_t prod[NPROD], cons[NCONS];
    struct tally t[NCONS] = {{0}};
    if (argc > 1)
        per_prod = atol(argv[1]);
    long total = NPROD * per_prod;
    seen = calloc(total, 1);
    for (int i = 0; i < NCONS; i++)
        spawn(&cons[i], consumer, &t[i]);
    for (long p = 0; p < NPROD; p++)
        spawn(&prod[p], producer, (void *)p);
    for (int i = 0; i < NPROD; i++)
        pthread_join(prod[i], NULL);
    for (int i = 0; i < NCONS; i++)
        pthread_join(cons[i], NULL);

    struct tally all = {0}, want = {0};
    for (int i = 0; i < NCONS; i++) {
        all.n += t[i].n;
        all.sum += t[i].sum;
        all.sumsq += t[i].sumsq;
    }
    for (uint64_t v = 0; v < (uint64_t)total; v++) {
        want.n++;
        want.sum += v;
        want.sumsq += v * v;
    }
    long once = 0;
    for (long v = 0; v < total; v++)
        once += seen[v] == 1;
    printf("items %lu sum %lu sumsq %lu\n", (unsigned long)all.n, (unsigned long)all.sum,
           (unsigned long)all.sumsq);
    printf("each item consumed once: %s\n", once == total ? "yes" : "NO");
    int ok = all.n == want.n && all.sum == want.sum && all.sumsq == want.sumsq && once == total;
    puts(ok ? "prodcons ok" : "prodcons WRONG");
    return !ok;
}
