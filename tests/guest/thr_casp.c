/* 128-bit compare-and-swap from 4 threads.  tests/test_threads.py builds it with
 * -march=armv8.1-a, where __sync_val_compare_and_swap on an unsigned __int128 is
 * CASPAL (the pair form: both 64-bit halves compared and stored as one), and
 * with -march=armv8-a, where it is an LDXP/STLXP loop.  (GCC 12 sends the
 * 16-byte __atomic_compare_exchange_n to libatomic, which takes a lock; the
 * __sync form is inline.)
 * mkemu-cflags: -mno-outline-atomics
 * Each thread adds 1 + (k << 64) (k = its number + 1) in a CAS loop; the low
 * half starts just below 2^64 so the carry into the high half happens while
 * threads race.  A torn (half-updated) pair would let some CAS succeed wrongly
 * and the final value differ.  argv[1]: additions per thread (default 50000). */
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

#define NTHREADS 4
typedef unsigned __int128 u128;
static long iters = 50000;
static u128 pair __attribute__((aligned(16)));
static const uint64_t START_LO = UINT64_MAX - 1000;

static void *work(void *arg)
{
    u128 add = 1 + ((u128)((long)arg + 1) << 64);
    u128 old = pair;                /* a plain read may be torn: CAS then fails and retries */
    for (long i = 0; i < iters; i++) {
        u128 seen;
        while ((seen = __sync_val_compare_and_swap(&pair, old, old + add)) != old)
            old = seen;
        old += add;                 /* what this thread stored: the likely next value */
    }
    return NULL;
}

int main(int argc, char **argv)
{
    pthread_t t[NTHREADS];
    if (argc > 1)
        iters = atol(argv[1]);
    pair = START_LO;
    for (long i = 0; i < NTHREADS; i++)
        spawn(&t[i], work, (void *)i);
    for (int i = 0; i < NTHREADS; i++)
        pthread_join(t[i], NULL);
    u128 want = START_LO;
    for (int k = 1; k <= NTHREADS; k++)
        want += iters * (1 + ((u128)k << 64));
    printf("pair hi %#018lx lo %#018lx\n", (unsigned long)(pair >> 64), (unsigned long)pair);
    puts(pair == want ? "casp ok" : "casp WRONG");
    return pair != want;
}
