/* Lock-free atomics from 4 threads at once.  Built twice by tests/test_threads.py:
 * -march=armv8-a gives load/store-exclusive loops (LDXR/STXR, LDAXR/STLXR) and
 * -march=armv8.1-a the LSE instructions (LDADD, CAS, SWP); outline atomics are
 * off so the instructions are inline rather than chosen at run time.
 * mkemu-cflags: -mno-outline-atomics
 * A lost update shows in a total; exchange is checked by conservation: every
 * value swapped in is either handed back to some thread or left in the slot.
 * A spinlock made of exchange-acquire / store-release guards a plain counter.
 * argv[1]: iterations per thread (default 100000). */
#include <pthread.h>
#include <sched.h>
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
static long iters = 100000;
static uint64_t relaxed, seqcst, cas_loop, slot, spin, guarded;
static uint32_t narrow;                   /* the 32-bit forms (w registers) */
static uint64_t got_back[NTHREADS];

static void *work(void *arg)
{
    long id = (long)arg;
    for (long i = 0; i < iters; i++) {
        __atomic_fetch_add(&relaxed, 1, __ATOMIC_RELAXED);
        __atomic_fetch_add(&seqcst, 1, __ATOMIC_SEQ_CST);
        __atomic_fetch_add(&narrow, 3, __ATOMIC_ACQ_REL);
        uint64_t old = __atomic_load_n(&cas_loop, __ATOMIC_RELAXED);
        while (!__atomic_compare_exchange_n(&cas_loop, &old, old + 1, 0,
                                            __ATOMIC_ACQ_REL, __ATOMIC_RELAXED))
            ;                                   /* old now holds the newer value */
        got_back[id] += __atomic_exchange_n(&slot, (uint64_t)id * iters + i + 1,
                                            __ATOMIC_SEQ_CST);
        if ((i & 15) == 0) {                    /* a spinlock now and then */
            while (__atomic_exchange_n(&spin, 1, __ATOMIC_ACQUIRE))
                sched_yield();                  /* the holder may be descheduled */
            guarded++;
            __atomic_store_n(&spin, 0, __ATOMIC_RELEASE);
        }
    }
    return NULL;
}

int main(int argc, char **argv)
{
    pthread_t t[NTHREADS];
    if (argc > 1)
        iters = atol(argv[1]);
    for (long i = 0; i < NTHREADS; i++)
        spawn(&t[i], work, (void *)i);
    for (int i = 0; i < NTHREADS; i++)
        pthread_join(t[i], NULL);
    uint64_t n = NTHREADS * iters, swapped = slot, put = n * (n + 1) / 2;
    for (int i = 0; i < NTHREADS; i++)
        swapped += got_back[i];
    uint64_t spins = NTHREADS * ((iters + 15) / 16);
    printf("fetch_add relaxed %lu seq_cst %lu, 32-bit %u\n", (unsigned long)relaxed,
           (unsigned long)seqcst, narrow);
    printf("cas loop %lu\n", (unsigned long)cas_loop);
    printf("exchange conserved: %s\n", swapped == put ? "yes" : "NO");
    printf("spinlock-guarded %lu of %lu\n", (unsigned long)guarded, (unsigned long)spins);
    int ok = relaxed == n && seqcst == n && narrow == (uint32_t)(3 * n) && cas_loop == n &&
             swapped == put && guarded == spins;
    puts(ok ? "atomics ok" : "atomics WRONG");
    return !ok;
}
