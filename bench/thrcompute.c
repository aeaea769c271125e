/* Threads in parallel: ITERATIONS rounds of an integer hash, split evenly over
   THREADS worker threads (1 or 2) that share nothing they write (each keeps
   its sum in a register and stores it once, in its own cache line).  Run with
   1 and with 2 threads and the same total (bench/run.py thrcompute1 and
   thrcompute2): on 2 host cores the 2-thread run should take about half the
   time.  The work is started in worker threads even for THREADS = 1 (main only
   waits) so that both runs pay the same thread start-up.  Each round hashes
   its own index, so the checksum does not depend on how the rounds are split
   and both runs print the same line. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAXT 16

static struct { unsigned long lo, hi, sum; char pad[40]; } share[MAXT];

static void *worker(void *arg) {
    unsigned long *s = arg;     /* &share[k].lo */
    unsigned long lo = s[0], hi = s[1], sum = 0;
    for (unsigned long i = lo; i < hi; i++) {
        /* splitmix64's finaliser: a serial chain of multiplies and shifts,
           which gcc does not vectorise (no 64-bit NEON multiply) */
        unsigned long x = i + 0x9e3779b97f4a7c15UL;
        x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9UL;
        x = (x ^ (x >> 27)) * 0x94d049bb133111ebUL;
        sum += x ^ (x >> 31);
    }
    s[2] = sum;
    return NULL;
}

int main(int argc, char **argv) {
    int t = argc > 1 ? atoi(argv[1]) : 2;
    unsigned long n = argc > 2 ? strtoul(argv[2], NULL, 10) : 20000000;
    if (t < 1 || t > MAXT) { fprintf(stderr, "threads: 1..%d\n", MAXT); return 2; }
    pthread_t tid[MAXT];
    for (int k = 0; k < t; k++) {
        share[k].lo = n * k / t;
        share[k].hi = n * (k + 1) / t;
        int e = pthread_create(&tid[k], NULL, worker, &share[k].lo);
        if (e) { fprintf(stderr, "pthread_create: %s\n", strerror(e)); return 1; }
    }
    unsigned long total = 0;
    for (int k = 0; k < t; k++) {
        pthread_join(tid[k], NULL);
        total += share[k].sum;
    }
    printf("%lu rounds: checksum %016lx\n", n, total);
    return 0;
}
