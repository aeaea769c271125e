/* Integer loads and stores of every size and alignment through mkemu's fast paths
   (cpu/block.py: page views, the word views of aligned stores, pairs), against
   qemu-aarch64:
   - STRB/STRH/STR W/STR X and STP W/X at every offset 0..15 before a page end (aligned,
     unaligned, crossing into the next page), each read back by LDRB/LDRH/LDR W/LDR X,
     the sign-extending LDRSB/LDRSH/LDRSW (to W and X) and LDP/LDPSW;
   - a page read and written in a loop, then unmapped or made PROT_NONE / PROT_READ (or
     PROT_NONE and writable again): the next access must fault (SIGSEGV) as on Linux,
     however warm the loop's page entries are;
   - after fork, the child's stores (aligned word, unaligned word, pair) go to its own
     copy: the parent reads its old values;
   - one file page mapped twice (MAP_SHARED): stores through one address are read
     through the other, both ways.
   Each line is the values read, or a hash of them.
   mkemu-cflags: -O2 */
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

static uint64_t hash = 1469598103934665603ull;
static void mix(uint64_t v) {
    for (int i = 0; i < 8; i++) {
        hash ^= (v >> (8 * i)) & 0xff;
        hash *= 1099511628211ull;
    }
}

/* one access each, through inline asm so the instruction is the one named */
static void st8(void *p, uint64_t v) { __asm__ volatile("strb %w0, [%1]" :: "r"(v), "r"(p) : "memory"); }
static void st16(void *p, uint64_t v) { __asm__ volatile("strh %w0, [%1]" :: "r"(v), "r"(p) : "memory"); }
static void st32(void *p, uint64_t v) { __asm__ volatile("str %w0, [%1]" :: "r"(v), "r"(p) : "memory"); }
static void st64(void *p, uint64_t v) { __asm__ volatile("str %0, [%1]" :: "r"(v), "r"(p) : "memory"); }
static void stpw(void *p, uint64_t a, uint64_t b) {
    __asm__ volatile("stp %w0, %w1, [%2]" :: "r"(a), "r"(b), "r"(p) : "memory");
}
static void stpx(void *p, uint64_t a, uint64_t b) {
    __asm__ volatile("stp %0, %1, [%2]" :: "r"(a), "r"(b), "r"(p) : "memory");
}

/* every load form at p, mixed into the hash */
static void load_all(const void *p) {
    uint64_t r[14];
    __asm__ volatile("ldrb %w0, [%14]\n ldrh %w1, [%14]\n ldr %w2, [%14]\n ldr %3, [%14]\n"
                     "ldrsb %w4, [%14]\n ldrsb %5, [%14]\n ldrsh %w6, [%14]\n ldrsh %7, [%14]\n"
                     "ldrsw %8, [%14]\n ldp %w9, %w10, [%14]\n ldp %11, %12, [%14]\n"
                     "ldpsw %13, %12, [%14]"
                     : "=&r"(r[0]), "=&r"(r[1]), "=&r"(r[2]), "=&r"(r[3]), "=&r"(r[4]), "=&r"(r[5]),
                       "=&r"(r[6]), "=&r"(r[7]), "=&r"(r[8]), "=&r"(r[9]), "=&r"(r[10]),
                       "=&r"(r[11]), "=&r"(r[12]), "=&r"(r[13])
                     : "r"(p)
                     : "memory");
    for (int i = 0; i < 14; i++)
        mix(r[i]);
}

static void sizes_and_offsets(void) {
    unsigned char *m = mmap(NULL, 3 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    unsigned char *end = m + 2 * 4096;          /* a page end with a page after it */
    uint64_t v = 0x8192a3b4c5d6e7f8ull;
    for (int kind = 0; kind < 6; kind++) {
        hash = 1469598103934665603ull;
        for (int back = 16; back >= 1; back--) {
            unsigned char *p = end - back;
            memset(end - 32, 0x5a, 64);
            v = v * 6364136223846793005ull + 1442695040888963407ull;
            uint64_t w = v ^ (v >> 29);
            switch (kind) {
            case 0: st8(p, v); break;
            case 1: st16(p, v); break;
            case 2: st32(p, v); break;
            case 3: st64(p, v); break;
            case 4: stpw(p, v, w); break;
            case 5: stpx(p, v, w); break;
            }
            load_all(p);
            for (int i = -32; i < 32; i++)
                mix(end[i]);
        }
        printf("kind %d: %016llx\n", kind, (unsigned long long)hash);
    }
    munmap(m, 3 * 4096);
}

static sigjmp_buf jb;
static volatile sig_atomic_t faults;
static void on_segv(int sig) {
    (void)sig;
    faults++;
    siglongjmp(jb, 1);
}

/* a loop reading and writing words of p (warm page entries), then one more access */
static uint64_t churn(volatile uint64_t *p, int n) {
    uint64_t s = 0;
    for (int i = 0; i < n; i++) {
        s += p[i & 63];
        p[(i + 7) & 63] = s;
    }
    return s;
}

static void after_unmap_and_protect(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_segv;
    sa.sa_flags = SA_NODEFER;
    sigaction(SIGSEGV, &sa, NULL);
    for (int step = 0; step < 4; step++) {
        volatile uint64_t *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        for (int i = 0; i < 64; i++)
            p[i] = i * 3;
        uint64_t s = churn(p, 1000);
        faults = 0;
        if (step == 0)
            munmap((void *)p, 4096);
        else if (step == 1)
            mprotect((void *)p, 4096, PROT_NONE);
        else if (step == 2)
            mprotect((void *)p, 4096, PROT_READ);
        else {                                    /* taken away and given back */
            mprotect((void *)p, 4096, PROT_NONE);
            mprotect((void *)p, 4096, PROT_READ | PROT_WRITE);
        }
        uint64_t got = 0;
        if (!sigsetjmp(jb, 1))
            got = p[5];                           /* a load */
        int load_faults = faults;
        if (!sigsetjmp(jb, 1))
            p[6] = 77;                            /* an aligned word store */
        int store_faults = faults - load_faults;
        if (!sigsetjmp(jb, 1))
            *(volatile uint32_t *)((char *)p + 13) = 5;   /* an unaligned store */
        int unaligned_faults = faults - load_faults - store_faults;
        printf("step %d: sum %llu load %llu faults %d %d %d\n", step, (unsigned long long)s,
               (unsigned long long)got, load_faults, store_faults, unaligned_faults);
        if (step != 0)
            munmap((void *)p, 4096);
    }
    signal(SIGSEGV, SIG_DFL);
}

static void after_fork(void) {
    volatile uint64_t *p = mmap(NULL, 2 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    for (int i = 0; i < 1024; i++)
        p[i] = 1000 + i;
    uint64_t s = churn(p, 500);
    pid_t pid = fork();
    if (pid == 0) {
        st64((void *)(p + 3), 111);
        st64((char *)(p + 4) + 3, 222);
        stpx((void *)(p + 8), 333, 444);
        stpx((char *)p + 4096 - 8, 555, 666);      /* a pair across the page end */
        printf("child: %llu %llu %llu %llu %llu %llu\n", (unsigned long long)p[3],
               (unsigned long long)p[4], (unsigned long long)p[5], (unsigned long long)p[9],
               (unsigned long long)p[511], (unsigned long long)p[512]);
        fflush(stdout);
        _exit(0);
    }
    int status;
    waitpid(pid, &status, 0);
    printf("parent: %llu %llu %llu %llu %llu %llu sum %llu\n", (unsigned long long)p[3],
           (unsigned long long)p[4], (unsigned long long)p[5], (unsigned long long)p[9],
           (unsigned long long)p[511], (unsigned long long)p[512], (unsigned long long)s);
    munmap((void *)p, 2 * 4096);
}

static void mapped_twice(void) {
    char name[] = "/tmp/mkemu-int-access-XXXXXX";
    int fd = mkstemp(name);
    unlink(name);
    ftruncate(fd, 4096);
    unsigned char *a = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    unsigned char *b = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    hash = 1469598103934665603ull;
    for (int round = 0; round < 3; round++) {
        load_all(b + 64);                         /* b's entries warm */
        load_all(a + 64);
        st64(a + 64, 0x1111111111111111ull * (round + 1));
        st32(a + 75, 0xdeadbeef + round);
        stpx(a + 96, round, ~(uint64_t)round);
        load_all(b + 64);
        load_all(b + 75);
        load_all(b + 96);
        st64(b + 67, 0x0102030405060708ull + round);
        stpw(b + 128, 7 + round, 9 + round);
        load_all(a + 64);
        load_all(a + 67);
        load_all(a + 128);
    }
    printf("twice: %016llx\n", (unsigned long long)hash);
    munmap(a, 4096);
    munmap(b, 4096);
    close(fd);
}

int main(void) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    sizes_and_offsets();
    after_unmap_and_protect();
    after_fork();
    mapped_twice();
    return 0;
}
