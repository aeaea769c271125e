/* One address space for all threads: a mapping made by one thread after the
 * others started is seen by them, a page unmapped or write-protected by one
 * thread faults in another (SIGSEGV, SEGV_MAPERR / SEGV_ACCERR at the right
 * address, caught with a handler that siglongjmps back into that thread),
 * and memory malloc'ed by one thread is freed by another.  Threads hand work
 * over with a barrier, so each step happens while all threads are alive. */
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
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

#define PAGES 4
static pthread_barrier_t step;
static unsigned char *region;
static long page;
static __thread sigjmp_buf back;
static __thread volatile int in_probe;
static volatile void *fault_addr;
static volatile int fault_code;
static void *handed_over;

static void on_segv(int sig, siginfo_t *si, void *uc)
{
    if (!in_probe)
        _exit(99);                         /* a fault nobody expected: stop at once */
    fault_addr = si->si_addr;
    fault_code = si->si_code;
    siglongjmp(back, 1);
}

/* what touching p does in this thread: "ok" or the fault's code and whether
 * its address is p */
static const char *probe(volatile unsigned char *p, int write)
{
    static __thread char what[64];
    in_probe = 1;
    if (sigsetjmp(back, 1) == 0) {
        if (write)
            *p = 1;
        else
            (void)*p;
        strcpy(what, "ok");
    } else {
        snprintf(what, sizeof what, "SIGSEGV %s, at the address: %s",
                 fault_code == SEGV_MAPERR ? "SEGV_MAPERR" :
                 fault_code == SEGV_ACCERR ? "SEGV_ACCERR" : "other code",
                 fault_addr == (void *)p ? "yes" : "NO");
    }
    in_probe = 0;
    return what;
}

static void *thread_a(void *arg)
{
    pthread_barrier_wait(&step);           /* 1: B is running */
    region = mmap(NULL, PAGES * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                  -1, 0);
    for (long i = 0; i < PAGES * page; i++)
        region[i] = (unsigned char)(i * 7 + 3);
    pthread_barrier_wait(&step);           /* 2: mapped and written */
    pthread_barrier_wait(&step);           /* 3: B has read it */
    munmap(region + page, page);
    mprotect(region + 2 * page, page, PROT_READ);
    handed_over = malloc(1 << 20);         /* big enough to be its own mmap */
    memset(handed_over, 0x5a, 1 << 20);
    pthread_barrier_wait(&step);           /* 4: unmapped, protected, allocated */
    pthread_barrier_wait(&step);           /* 5: B has probed */
    return NULL;
}

static void *thread_b(void *arg)
{
    pthread_barrier_wait(&step);           /* 1 */
    pthread_barrier_wait(&step);           /* 2 */
    unsigned long sum = 0, want = 0;
    for (long i = 0; i < PAGES * page; i++) {
        sum += region[i];
        want += (unsigned char)(i * 7 + 3);
    }
    printf("B reads A's new mapping: %s\n", sum == want ? "same bytes" : "WRONG");
    pthread_barrier_wait(&step);           /* 3 */
    pthread_barrier_wait(&step);           /* 4 */
    printf("B reads page 0: %s\n", probe(region, 0));
    printf("B reads the page A unmapped: %s\n", probe(region + page, 0));
    printf("B writes the page A made read-only: %s\n", probe(region + 2 * page, 1));
    printf("B reads the read-only page: %s\n", probe(region + 2 * page, 0));
    printf("B writes page 3: %s\n", probe(region + 3 * page, 1));
    int same = 1;
    for (int i = 0; i < 1 << 20; i++)
        same &= ((unsigned char *)handed_over)[i] == 0x5a;
    free(handed_over);                     /* A's allocation, freed here */
    printf("B sees and frees A's malloc: %s\n", same ? "yes" : "NO");
    pthread_barrier_wait(&step);           /* 5 */
    return NULL;
}

int main(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_segv;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGSEGV, &sa, NULL);
    page = sysconf(_SC_PAGESIZE);
    pthread_barrier_init(&step, NULL, 2);
    pthread_t a, b;
    spawn(&b, thread_b, NULL);
    spawn(&a, thread_a, NULL);
    pthread_join(a, NULL);
    pthread_join(b, NULL);
    printf("main reads the page A unmapped: %s\n", probe(region + page, 0));
    printf("main reads page 3 (B's write): %s, value %d\n", probe(region + 3 * page, 0),
           region[3 * page]);
    return 0;
}
