/* Threads and a contended lock: T threads (default 4) each do N
   pthread_mutex lock / increment / unlock of one shared counter.  With more
   threads than host cores the lock is contended, so this measures the futex
   wait/wake path as much as the atomics.  The printed total is fixed by N and
   T alone (the lock makes every increment count), so qemu's and mkemu's
   outputs compare. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static long counter;
static long per_thread;

static void *worker(void *arg) {
    (void)arg;
    for (long i = 0; i < per_thread; i++) {
        pthread_mutex_lock(&lock);
        counter++;
        pthread_mutex_unlock(&lock);
    }
    return NULL;
}

int main(int argc, char **argv) {
    per_thread = argc > 1 ? atol(argv[1]) : 100000;
    int t = argc > 2 ? atoi(argv[2]) : 4;
    if (t < 1 || t > 64) { fprintf(stderr, "threads: 1..64\n"); return 2; }
    pthread_t tid[64];
    for (int i = 0; i < t; i++) {
        int e = pthread_create(&tid[i], NULL, worker, NULL);
        if (e) { fprintf(stderr, "pthread_create: %s\n", strerror(e)); return 1; }
    }
    for (int i = 0; i < t; i++) pthread_join(tid[i], NULL);
    printf("%d threads x %ld increments: total %ld\n", t, per_thread, counter);
    return counter == t * per_thread ? 0 : 1;
}
