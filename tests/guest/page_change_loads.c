/* Single 2/4/8-byte loads through a page, then the page changes under them, then
   the same loads again (translated loads read the page the software TLB found;
   a TLB entry, or anything cached from it, that outlived its page's mapping
   would show the old contents).  Each section prints what the loads saw;
   compared with qemu-aarch64 (tests/unit/test_page_change_loads.py).  The loads are noinline
   functions called from one place per size, so one translated load (a hot
   trace) reads every page.
     - munmap, then the load faults (SIGSEGV, caught);
     - mprotect PROT_NONE faults, PROT_READ again reads;
     - mmap MAP_FIXED of another file over the page reads that file;
     - a MAP_PRIVATE file page written (copy-on-write) reads the write, the file not;
     - fork: the child's and the parent's writes are each seen by the writer only;
       a MAP_SHARED page's write by the child is seen by the parent;
     - threads: a writer's whole words are seen by a reader (never torn), and a
       page another thread replaced (MAP_FIXED) reads the new file;
     - mremap moving the page: the old address faults, the new one reads;
     - ftruncate of a file mapping to one page: its second page is SIGBUS;
     - loads of 2/4/8 bytes at every offset 0..15 of a page and across its end. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#define PG 4096

__attribute__((noinline)) static uint64_t ld8(const void *p) { uint64_t v; memcpy(&v, p, 8); return v; }
__attribute__((noinline)) static uint32_t ld4(const void *p) { uint32_t v; memcpy(&v, p, 4); return v; }
__attribute__((noinline)) static uint16_t ld2(const void *p) { uint16_t v; memcpy(&v, p, 2); return v; }

static sigjmp_buf jb;
static volatile int last_sig;

static void on_fault(int sig) {
    last_sig = sig;
    siglongjmp(jb, 1);
}

/* the three loads at offset off of p, warmed first (so their traces are hot and
   the TLB entries of p's page made), as text; "SIGSEGV"/"SIGBUS" if they fault */
static void show(const char *what, volatile unsigned char *p, int off) {
    static char line[200];
    if (sigsetjmp(jb, 1)) {
        printf("%s: %s\n", what, last_sig == SIGSEGV ? "SIGSEGV" : last_sig == SIGBUS ? "SIGBUS" : "signal");
        return;
    }
    uint64_t a = ld8((const void *)(p + off));
    uint32_t b = ld4((const void *)(p + off + 8));
    uint16_t c = ld2((const void *)(p + off + 12));
    snprintf(line, sizeof line, "%s: %016llx %08x %04x", what, (unsigned long long)a, b, c);
    puts(line);
}

static void fill(volatile unsigned char *p, int seed) {
    for (int i = 0; i < PG; i++)
        p[i] = (unsigned char)(i * 13 + seed);
}

static void warm(void) {
    /* make the three load functions hot: each read of a page from then on runs
       the full trace (MKEMU_TIER=off makes it so from the first) */
    static unsigned char w[64] __attribute__((aligned(16)));
    uint64_t s = 0;
    for (int i = 0; i < 2000; i++)
        s += ld8(w + (i & 7) * 8) + ld4(w + (i & 7) * 4) + ld2(w + (i & 7) * 2);
    if (s == 12345)
        puts("unlikely");
}

static int tmpfile_with(int seed, int pages) {
    char name[] = "/tmp/mkemu-page-change-XXXXXX";
    int fd = mkstemp(name);
    if (fd < 0) {
        perror("mkstemp");
        exit(1);
    }
    unlink(name);
    unsigned char buf[PG];
    for (int pg = 0; pg < pages; pg++) {
        for (int i = 0; i < PG; i++)
            buf[i] = (unsigned char)(i * 7 + seed + pg);
        if (write(fd, buf, PG) != PG) {
            perror("write");
            exit(1);
        }
    }
    return fd;
}

static void sec_munmap(void) {
    unsigned char *p = mmap(0, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    fill(p, 1);
    show("munmap before", p, 16);
    munmap(p, PG);
    show("munmap after", p, 16);
}

static void sec_mprotect(void) {
    unsigned char *p = mmap(0, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    fill(p, 2);
    show("mprotect before", p, 32);
    mprotect(p, PG, PROT_NONE);
    show("mprotect none", p, 32);
    mprotect(p, PG, PROT_READ);
    show("mprotect read", p, 32);
    munmap(p, PG);
}

static void sec_remap_file(void) {
    int fa = tmpfile_with(3, 1), fb = tmpfile_with(4, 1);
    unsigned char *p = mmap(0, PG, PROT_READ, MAP_SHARED, fa, 0);
    show("remap file a", p, 48);
    mmap(p, PG, PROT_READ, MAP_SHARED | MAP_FIXED, fb, 0);
    show("remap file b", p, 48);
    mmap(p, PG, PROT_READ, MAP_PRIVATE | MAP_FIXED | MAP_ANONYMOUS, -1, 0);
    show("remap anon", p, 48);
    munmap(p, PG);
    close(fa);
    close(fb);
}

static void sec_private_cow(void) {
    int fd = tmpfile_with(5, 1);
    unsigned char *p = mmap(0, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    show("private before", p, 64);
    p[64] = 0xaa;
    p[72] = 0xbb;
    p[76] = 0xcc;
    show("private written", p, 64);
    unsigned char b[16];
    pread(fd, b, 16, 64);
    printf("private file: %02x %02x %02x\n", b[0], b[8], b[12]);
    munmap(p, PG);
    close(fd);
}

static void sec_fork(void) {
    unsigned char *p = mmap(0, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    unsigned char *s = mmap(0, PG, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    fill(p, 6);
    fill(s, 7);
    show("fork parent before", p, 80);
    show("fork shared before", s, 80);
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        show("fork child before", p, 80);
        p[80] = 0x11;
        p[88] = 0x22;
        p[92] = 0x33;
        show("fork child written", p, 80);
        s[80] = 0x44;
        s[88] = 0x55;
        s[92] = 0x66;
        fflush(stdout);
        _exit(0);
    }
    int st;
    waitpid(pid, &st, 0);
    show("fork parent after child", p, 80);
    show("fork shared after child", s, 80);
    p[80] = 0x77;
    show("fork parent written", p, 80);
    munmap(p, PG);
    munmap(s, PG);
}

/* threads */
static uint64_t *slot;
static volatile int writer_done;
#define ROUNDS 20000

static void *writer(void *arg) {
    (void)arg;
    for (uint64_t v = 1; v <= ROUNDS; v++)
        __atomic_store_n(slot, v * 0x0001000100010001ull, __ATOMIC_RELAXED);
    writer_done = 1;
    return 0;
}

static unsigned char *shared_page;
static int replace_fd;
static pthread_barrier_t bar;

static void *replacer(void *arg) {
    (void)arg;
    pthread_barrier_wait(&bar);         /* the main thread has read the page */
    mmap(shared_page, PG, PROT_READ, MAP_SHARED | MAP_FIXED, replace_fd, 0);
    pthread_barrier_wait(&bar);
    return 0;
}

static void sec_threads(void) {
    slot = mmap(0, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    uint64_t seen = ld8(slot), torn = 0, backwards = 0, reads = 0;
    pthread_t t;
    pthread_create(&t, 0, writer, 0);
    while (seen != ROUNDS * 0x0001000100010001ull) {
        uint64_t v = ld8(slot);
        uint16_t h = ld2((unsigned char *)slot + 6);
        reads++;
        if (v % 0x0001000100010001ull)
            torn++;
        if (v < seen)
            backwards++;
        if (h > (uint16_t)ROUNDS)
            torn++;
        seen = v;
        if (writer_done && reads > 10 * ROUNDS && seen != ROUNDS * 0x0001000100010001ull)
            break;
    }
    pthread_join(t, 0);
    printf("threads words: last %llx torn %llu backwards %llu\n", (unsigned long long)ld8(slot),
           (unsigned long long)torn, (unsigned long long)backwards);
    munmap(slot, PG);

    int fa = tmpfile_with(8, 1);
    replace_fd = tmpfile_with(9, 1);
    shared_page = mmap(0, PG, PROT_READ, MAP_SHARED, fa, 0);
    pthread_barrier_init(&bar, 0, 2);
    pthread_create(&t, 0, replacer, 0);
    show("threads before replace", shared_page, 96);
    pthread_barrier_wait(&bar);
    pthread_barrier_wait(&bar);
    show("threads after replace", shared_page, 96);
    pthread_join(t, 0);
    munmap(shared_page, PG);
    close(fa);
    close(replace_fd);
}

static void sec_mremap(void) {
    unsigned char *p = mmap(0, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    fill(p, 10);
    show("mremap before", p, 112);
    /* reserve a far place to move to, so the old address cannot be reused */
    unsigned char *to = mmap(0, 4 * PG, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    unsigned char *q = mremap(p, PG, 2 * PG, MREMAP_MAYMOVE | MREMAP_FIXED, to + PG);
    if (q == MAP_FAILED) {
        printf("mremap: %s\n", strerror(errno));
        return;
    }
    show("mremap old address", p, 112);
    show("mremap new address", q, 112);
    show("mremap grown page", q + PG, 112);
    q[112] = 0x5a;
    munmap(to + 3 * PG, PG);
    unsigned char *r = mremap(q, 2 * PG, 3 * PG, 0);   /* grow in place (into the reservation) */
    show("mremap grown in place", r == MAP_FAILED ? q : r, 112);
    munmap(to, 4 * PG);
}

static void sec_ftruncate(void) {
    int fd = tmpfile_with(11, 2);
    unsigned char *p = mmap(0, 2 * PG, PROT_READ, MAP_SHARED, fd, 0);
    show("ftruncate first before", p, 128);
    show("ftruncate second before", p + PG, 128);
    ftruncate(fd, PG);
    show("ftruncate first after", p, 128);
    show("ftruncate second after", p + PG, 128);
    munmap(p, 2 * PG);
    close(fd);
}

static void sec_misaligned(void) {
    unsigned char *p = mmap(0, 2 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    for (int i = 0; i < 2 * PG; i++)
        p[i] = (unsigned char)(i * 29 + 3 + (i >> 8));
    uint64_t h = 0;
    for (int round = 0; round < 3; round++) {
        for (int off = 0; off < 16; off++) {
            h = h * 1000003 + ld8(p + 256 + off);
            h = h * 1000003 + ld4(p + 512 + off);
            h = h * 1000003 + ld2(p + 768 + off);
        }
        for (int off = PG - 9; off < PG; off++) {     /* at and across the page end */
            h = h * 1000003 + ld8(p + off);
            h = h * 1000003 + ld4(p + off);
            h = h * 1000003 + ld2(p + off);
        }
        p[256 + round] ^= 0xff;                      /* a store between rounds */
    }
    printf("misaligned: %016llx\n", (unsigned long long)h);
    for (int off = 0; off < 8; off++)
        printf("misaligned %d: %016llx %08x %04x\n", off, (unsigned long long)ld8(p + PG - 8 + off),
               ld4(p + PG - 4 + (off & 3)), ld2(p + PG - 2 + (off & 1)));
    munmap(p, 2 * PG);
}

int main(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_fault;
    sigaction(SIGSEGV, &sa, 0);
    sigaction(SIGBUS, &sa, 0);
    setvbuf(stdout, 0, _IOLBF, 0);
    warm();
    sec_munmap();
    sec_mprotect();
    sec_remap_file();
    sec_private_cow();
    sec_fork();
    sec_threads();
    sec_mremap();
    sec_ftruncate();
    sec_misaligned();
    puts("done");
    return 0;
}
