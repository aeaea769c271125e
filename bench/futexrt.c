/* The cost of a futex round trip, two ways (argv: MODE N):
     uncontended  N x pthread_mutex_lock + unlock in one thread: the fast path
                  of a futex lock, atomics only, no system call;
     pingpong     two threads pass a turn back and forth N times through one
                  futex word: each side stores the next value, FUTEX_WAKEs the
                  other and FUTEX_WAITs for its reply, so a round trip is two
                  wakes and usually two sleeps (a wait whose value has already
                  changed returns EAGAIN at once).
   Only counts are printed, never times, and only counts that do not depend
   on scheduling (how many waits really slept does, so it is not printed). */
#include <errno.h>
#include <linux/futex.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static long futex(unsigned *addr, int op, unsigned val) {
    return syscall(SYS_futex, addr, op, val, NULL, NULL, 0);
}

/* The turn word: the main thread stores odd values 2i+1, the partner answers
   with 2i+2.  Counting instead of flipping 0/1 means a late waiter can never
   mistake the next round's value for the one it waits to see change. */
static unsigned turn;
static long rounds;
static long wakes[2];

/* Wait until the turn word is no longer `seen`. */
static void wait_change(unsigned seen) {
    while (__atomic_load_n(&turn, __ATOMIC_ACQUIRE) == seen) {
        if (futex(&turn, FUTEX_WAIT_PRIVATE, seen) != 0 && errno != EAGAIN && errno != EINTR) {
            perror("FUTEX_WAIT");
            exit(1);
        }
    }
}

static void pass(unsigned next, int side) {
    __atomic_store_n(&turn, next, __ATOMIC_RELEASE);
    if (futex(&turn, FUTEX_WAKE_PRIVATE, 1) < 0) { perror("FUTEX_WAKE"); exit(1); }
    wakes[side]++;
}

static void *partner(void *arg) {
    (void)arg;
    for (long i = 0; i < rounds; i++) {
        wait_change(2 * i);                /* until main stores 2i+1 */
        pass(2 * i + 2, 1);
    }
    return NULL;
}

int main(int argc, char **argv) {
    const char *mode = argc > 1 ? argv[1] : "pingpong";
    rounds = argc > 2 ? atol(argv[2]) : 10000;
    if (strcmp(mode, "uncontended") == 0) {
        pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
        volatile long held = 0;            /* keeps the loop from being folded away */
        for (long i = 0; i < rounds; i++) {
            pthread_mutex_lock(&m);
            held++;
            pthread_mutex_unlock(&m);
        }
        printf("uncontended: %ld lock/unlock round trips, %ld held\n", rounds, (long)held);
        return held == rounds ? 0 : 1;
    }
    if (strcmp(mode, "pingpong") != 0) { fprintf(stderr, "mode: uncontended or pingpong\n"); return 2; }
    pthread_t tid;
    int e = pthread_create(&tid, NULL, partner, NULL);
    if (e) { fprintf(stderr, "pthread_create: %s\n", strerror(e)); return 1; }
    for (long i = 0; i < rounds; i++) {
        pass(2 * i + 1, 0);
        wait_change(2 * i + 1);            /* until the partner stores 2i+2 */
    }
    pthread_join(tid, NULL);
    long total = wakes[0] + wakes[1];
    printf("pingpong: %ld round trips, final turn %u, %ld.%02ld FUTEX_WAKE per round trip\n",
           rounds, turn, rounds ? total / rounds : 0, rounds ? total * 100 / rounds % 100 : 0);
    return turn == 2 * (unsigned)rounds ? 0 : 1;
}
