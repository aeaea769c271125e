/* Double loads that keep their page across a loop's trips (mkemu's cpu/a64_fp_pages)
   and the FP mode read once a loop (cpu/a64_fp_mode), against qemu-aarch64:
   - a page copied on its first write (MAP_PRIVATE file pages, and after fork) while a
     load of the same loop reads it: the load must see the copy, not the page it kept;
   - one file page mapped at two addresses (MAP_SHARED), loads through one, stores
     through the other;
   - overlapping arrays (p[i+1] += p[i] * m through two bases);
   - a stride past a page each trip, unaligned arrays, a read-only table (.rodata);
   - random doubles with NaNs, infinities, denormals under each rounding mode, FZ and
     DN, FPSR read back after each loop, and IXC first raised in the middle of a loop.
   Each line is a hash of the results and FPSR.
   mkemu-cflags: -O2 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

static uint64_t bits(double d) { uint64_t u; memcpy(&u, &d, 8); return u; }
static double from_bits(uint64_t u) { double d; memcpy(&d, &u, 8); return d; }

/* c[i] = a[i] * m + c[i] for i < n: the fused load and store of c, a's load; FPSR */
static uint64_t fma_row(const double *a, double *c, long n, double m) {
    uint64_t f;
    __asm__ volatile("mov x3, #0\n"
                     "1: ldr d1, [%[a], x3]\n ldr d0, [%[c], x3]\n fmadd d0, d1, %d[m], d0\n"
                     "str d0, [%[c], x3]\n add x3, x3, #8\n cmp x3, %[n]\n b.ne 1b\n mrs %[f], fpsr"
                     : [f] "=r"(f)
                     : [a] "r"(a), [c] "r"(c), [n] "r"(n * 8), [m] "w"(m)
                     : "x3", "v0", "v1", "cc", "memory");
    return f;
}

/* sum of x[i*s] * y[i*s] (s in bytes), and FPSR: two loads, no store */
static double dot(const double *x, const double *y, long n, long s, uint64_t *fpsr) {
    double r;
    __asm__ volatile("mov x3, #0\n movi d0, #0\n"
                     "1: ldr d1, [%[x], x3]\n ldr d2, [%[y], x3]\n fmadd d0, d1, d2, d0\n"
                     "add x3, x3, %[s]\n cmp x3, %[n]\n b.ne 1b\n fmov %d[r], d0\n mrs %[f], fpsr"
                     : [r] "=w"(r), [f] "=r"(*fpsr)
                     : [x] "r"(x), [y] "r"(y), [n] "r"(n * s), [s] "r"(s)
                     : "x3", "v0", "v1", "v2", "cc", "memory");
    return r;
}

/* d[i] = x[i] * y[i] - x[i] and a running sum (FMUL, FSUB, FADD on twins; a plain store) */
static double mulsub(const double *x, const double *y, double *d, long n, uint64_t *fpsr) {
    double r;
    __asm__ volatile("mov x3, #0\n movi d4, #0\n"
                     "1: ldr d1, [%[x], x3]\n ldr d2, [%[y], x3]\n fmul d3, d1, d2\n fsub d3, d3, d1\n"
                     "fadd d4, d4, d3\n str d3, [%[d], x3]\n add x3, x3, #8\n cmp x3, %[n]\n b.ne 1b\n"
                     "fmov %d[r], d4\n mrs %[f], fpsr"
                     : [r] "=w"(r), [f] "=r"(*fpsr)
                     : [x] "r"(x), [y] "r"(y), [d] "r"(d), [n] "r"(n * 8)
                     : "x3", "v1", "v2", "v3", "v4", "cc", "memory");
    return r;
}

/* d[i] = p[i] + *q (a plain store, a load of a fixed element): the loop keeps q's page
   from its first trip; the store that first writes that page copies it, and the
   later trips must read *q from the copy */
static void fixed_row(const double *p, const double *q, double *d, long n) {
    __asm__ volatile("mov x3, #0\n"
                     "1: ldr d1, [%[p], x3]\n ldr d2, [%[q]]\n fadd d3, d1, d2\n str d3, [%[d], x3]\n"
                     "add x3, x3, #8\n cmp x3, %[n]\n b.ne 1b\n"
                     :
                     : [p] "r"(p), [q] "r"(q), [d] "r"(d), [n] "r"(n * 8)
                     : "x3", "v1", "v2", "v3", "cc", "memory");
}

/* fma_row with FPCR written every trip: round to nearest on even trips, towards +inf
   on odd ones (the loop's FP mode cannot be read once for it) */
static uint64_t msr_row(const double *a, double *c, long n, double m) {
    uint64_t f;
    __asm__ volatile("mov x3, #0\n"
                     "1: and x6, x3, #8\n lsl x6, x6, #19\n msr fpcr, x6\n"
                     "ldr d1, [%[a], x3]\n ldr d0, [%[c], x3]\n fmadd d0, d1, %d[m], d0\n"
                     "str d0, [%[c], x3]\n add x3, x3, #8\n cmp x3, %[n]\n b.ne 1b\n"
                     "msr fpcr, xzr\n mrs %[f], fpsr"
                     : [f] "=r"(f)
                     : [a] "r"(a), [c] "r"(c), [n] "r"(n * 8), [m] "w"(m)
                     : "x3", "x6", "v0", "v1", "cc", "memory");
    return f;
}

/* bench/matmul.c's loop nest: one trace holds the j loop and the k loop's step, whose
   base registers (the rows of b and c) change between the j loops */
__attribute__((noinline, optimize("no-tree-vectorize")))
static void matmul(const double *a, const double *b, double *c, int n) {
    for (int i = 0; i < n; i++)
        for (int k = 0; k < n; k++) {
            double aik = a[i * n + k];
            for (int j = 0; j < n; j++) c[i * n + j] += aik * b[k * n + j];
        }
}

static void set_fpcr(uint64_t v) { __asm__ volatile("msr fpcr, %0" ::"r"(v)); }
static void set_fpsr(uint64_t v) { __asm__ volatile("msr fpsr, %0" ::"r"(v)); }

static unsigned long long hash(const void *p, long nbytes, unsigned long long h) {
    const unsigned char *b = p;
    for (long i = 0; i < nbytes; i++) h = (h ^ b[i]) * 1099511628211ull;
    return h;
}

static void line(const char *name, const double *c, long n, uint64_t fpsr, double r) {
    printf("%-20s %016llx %016llx fpsr %08llx\n", name, hash(c, n * 8, 1469598103934665603ull),
           (unsigned long long)bits(r), (unsigned long long)fpsr);
}

static uint64_t rng = 0x9E3779B97F4A7C15ull;
static uint64_t next(void) { rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17; return rng; }

static double any_double(void) {
    static const uint64_t specials[] = {
        0x7ff0000000000001ull, 0x7ff8000000000123ull, 0xfff4000000000abcull, 0x8000000000000000ull,
        0x0000000000000001ull, 0x000fffffffffffffull, 0x7ff0000000000000ull, 0xfff0000000000000ull,
        0x7fefffffffffffffull, 0x0010000000000000ull, 0x0000000000000000ull, 0x8008000000000000ull,
    };
    uint64_t r = next();
    switch (r % 8) {
    case 0: return from_bits(specials[(r >> 8) % 12]);
    case 1: return from_bits(next());                              /* any bits */
    case 2: return (double)(int)((r >> 8) % 64 - 32) * 0.25;       /* short: exact products */
    case 3: return from_bits((r >> 12) & 0x000fffffffffffffull);  /* denormal */
    default: return ((double)(next() >> 11) / 9007199254740992.0 - 0.5) * 1e3;
    }
}

/* .rodata: two pages and more of a table no one writes */
#define T(i) ((i) % 13) * 0.125
#define T8(i) T(i), T(i + 1), T(i + 2), T(i + 3), T(i + 4), T(i + 5), T(i + 6), T(i + 7)
#define T64(i) T8(i), T8(i + 8), T8(i + 16), T8(i + 24), T8(i + 32), T8(i + 40), T8(i + 48), T8(i + 56)
static const double table[1152] = {T64(0), T64(64), T64(128), T64(192), T64(256), T64(320), T64(384),
                                   T64(448), T64(512), T64(576), T64(640), T64(704), T64(768), T64(832),
                                   T64(896), T64(960), T64(1024), T64(1088)};

/* the copy-on-write cases: p[i + 1] = p[i] * m + p[i + 1] through p and p + 1 (the
   fused load and store of p + 1, a load of p), and p[i + 1] = p[i] * 2 - p[i] through a
   plain store (no other slow path in the trip), each over pages whose first write in
   the loop copies them: the loads of p keep a page the store copies */
static void cow_fma(double *p, long n, const char *name) {
    char nm[32];
    set_fpsr(0);
    uint64_t f = fma_row(p, p + 1, n, 1.0);
    snprintf(nm, sizeof nm, "%s fma", name);
    line(nm, p, n + 1, f, p[n]);
}

static void cow_store(double *p, long n, const char *name) {
    static double twos[2048];
    char nm[32];
    uint64_t f;
    for (int i = 0; i < 2048; i++) twos[i] = 2.0;
    set_fpsr(0);
    double r = mulsub(p, twos, p + 1, n, &f);
    snprintf(nm, sizeof nm, "%s store", name);
    line(nm, p, n + 1, f, r);
}

/* p: three pages read before, none written; d[i] = p[i] + p[1024] with d = &p[1024 - 100]:
   the store first writes p[1024]'s page at trip 100, while the load of p[i] stays in
   the first page (no slow path of its own after the copy) */
static void cow_fixed(double *p, const char *name) {
    char nm[32];
    fixed_row(p, p + 1024, p + 1024 - 100, 400);
    snprintf(nm, sizeof nm, "%s fixed", name);
    line(nm, p + 900, 400, 0, p[1024]);
}

int main(void) {
    static double a[8192], b[8192], c[8192];
    uint64_t f;
    double r;

    /* page copies: MAP_PRIVATE pages of a file, read before their first write */
    {
        char path[] = "/tmp/fp_pages.XXXXXX";
        int fd = mkstemp(path);
        double init[1536];
        for (int i = 0; i < 1536; i++) init[i] = i < 512 ? (i % 5) * 0.5 : i + 1;
        if (fd < 0 || write(fd, init, sizeof init) != sizeof init) return 1;
        for (int k = 0; k < 3; k++) {
            double *p = mmap(NULL, 3 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
            volatile double sink = p[0] + p[600] + p[1100];  /* read in: the TLB holds the file's pages */
            (void)sink;
            if (k == 0) cow_fma(p, 1000, "private");
            else if (k == 1) cow_store(p, 1000, "private");
            else cow_fixed(p, "private");
            munmap(p, 3 * 4096);
        }

        /* one page at two addresses: loads through q, stores through s */
        double *q = mmap(NULL, 2 * 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        double *s = mmap(NULL, 2 * 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        set_fpsr(0);
        f = fma_row(q, s + 1, 1000, 0.5);       /* s[i+1] += q[i] * 0.5, q[i] is s[i] */
        line("shared two views", q, 1001, f, s[1000]);
        set_fpsr(0);
        r = dot(q, s + 3, 1000, 8, &f);
        line("shared dot", q, 1001, f, r);
        munmap(q, 2 * 4096);
        munmap(s, 2 * 4096);
        close(fd);
        unlink(path);
    }

    /* after fork: every private page is copied on its first write, in both processes */
    {
        double *p = mmap(NULL, 9 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        double *p2 = p + 3 * 512, *p3 = p + 6 * 512;
        for (int i = 0; i < 1500; i++) { p[i] = (i % 7) * 0.25; p2[i] = i + 1; p3[i] = i * 0.5; }
        fflush(stdout);
        pid_t pid = fork();
        if (pid == 0) {
            volatile double sink = p[0] + p[700] + p2[0] + p2[700] + p3[0] + p3[700] + p3[1100];
            (void)sink;
            cow_fma(p, 1400, "fork child");
            cow_store(p2, 1400, "fork child");
            cow_fixed(p3, "fork child");
            fflush(stdout);
            _exit(0);
        }
        waitpid(pid, NULL, 0);
        cow_fma(p, 1400, "fork parent");
        cow_store(p2, 1400, "fork parent");
        cow_fixed(p3, "fork parent");
        munmap(p, 9 * 4096);
    }

    /* overlapping arrays, a stride past a page, unaligned arrays, the read-only table */
    for (int i = 0; i < 2048; i++) { a[i] = (i % 9) * 0.125; b[i] = (i % 11) * 0.5; c[i] = i; }
    set_fpsr(0);
    f = fma_row(a, a + 1, 2000, 1.5);
    line("overlap", a, 2048, f, 0);
    {
        double *big = mmap(NULL, 40 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        for (int i = 0; i < 40 * 512; i++) big[i] = (i % 17) * 0.5 - 3;
        set_fpsr(0);
        r = dot(big, big + 5, 38, 4096 + 8, &f);            /* a new page every trip */
        line("stride", big, 8, f, r);
        set_fpsr(0);
        r = dot((double *)((char *)big + 4), (double *)((char *)big + 8196), 1500, 8, &f);
        line("unaligned dot", big, 8, f, r);
        set_fpsr(0);
        f = fma_row((double *)((char *)big + 4), (double *)((char *)big + 4 * 4096 + 2), 1500, 0.75);
        line("unaligned fma", big, 40 * 512, f, 0);
        munmap(big, 40 * 4096);
    }
    set_fpsr(0);
    r = dot(table, table + 7, 1100, 8, &f);
    line("rodata dot", table, 8, f, r);
    set_fpsr(0);
    f = fma_row(table + 3, c, 1100, 0.5);
    line("rodata fma", c, 1100, f, 0);

    /* matrix products: rows that cross pages (n = 75: 600 bytes a row), short values
       (exact) and long ones (inexact: IXC, the fused rounding) */
    for (int k = 0; k < 2; k++) {
        volatile int vn = 75;
        int n = vn;
        for (int i = 0; i < n * n; i++) {
            a[i] = (i % 11) * 0.5 + (k ? 0.1 * (i % 3) : 0);
            b[i] = (i % 7) * 0.25;
            c[i] = k ? (i % 11) / 3.0 : 0;
        }
        set_fpsr(0);
        matmul(a, b, c, n);
        __asm__ volatile("mrs %0, fpsr" : "=r"(f));
        line(k ? "matmul long" : "matmul short", c, n * n, f, 0);
    }

    /* random doubles under each FPCR: rounding modes, FZ, DN, AH-free defaults */
    static const uint64_t fpcrs[] = {0, 1u << 22, 2u << 22, 3u << 22, 1u << 24, 1u << 25, (1u << 24) | (1u << 25)};
    for (unsigned m = 0; m < sizeof fpcrs / sizeof fpcrs[0]; m++) {
        for (int rep = 0; rep < 3; rep++) {
            for (int i = 0; i < 1024; i++) { a[i] = any_double(); b[i] = any_double(); c[i] = any_double(); }
            char nm[32];
            set_fpcr(fpcrs[m]);
            set_fpsr(0);
            f = fma_row(a, c, 1024, rep == 0 ? 1.5 : any_double());
            snprintf(nm, sizeof nm, "random fma %u/%d", m, rep);
            line(nm, c, 1024, f, 0);
            set_fpsr(0);
            r = dot(a, b, 1024, 8, &f);
            snprintf(nm, sizeof nm, "random dot %u/%d", m, rep);
            line(nm, a, 8, f, r);
            set_fpsr(0);
            r = mulsub(a, b, c, 1024, &f);
            snprintf(nm, sizeof nm, "random mulsub %u/%d", m, rep);
            line(nm, c, 1024, f, r);
            set_fpcr(0);
        }
    }

    /* FPCR written inside the loop, with inexact results from the start and from trip 300 */
    for (int k = 0; k < 2; k++) {
        for (int i = 0; i < 1024; i++) { a[i] = k ? (i % 7) * 0.5 : any_double(); c[i] = k ? (i % 5) * 0.25 : any_double(); }
        c[300] = 1e17 + 8;
        set_fpsr(0);
        f = msr_row(a, c, 1024, k ? 1.5 : 1.0 / 3);
        line(k ? "msr in loop exact" : "msr in loop", c, 1024, f, 0);
    }

    /* exact for 300 trips, then one inexact sum: IXC first set inside the loop, after
       which the loop's later trips must still round right (and FZ/DN runs too) */
    for (unsigned m = 0; m < 3; m++) {
        for (int i = 0; i < 1024; i++) { a[i] = (i % 7) * 0.5; c[i] = (i % 5) * 0.25; }
        c[300] = 1e17;                     /* + a[300] * 1.5 = 1e17 + 3.0: inexact */
        a[700] = 0.1;                      /* a long significand: an inexact product */
        set_fpcr(m == 0 ? 0 : m == 1 ? 2u << 22 : 1u << 24);
        set_fpsr(0);
        f = fma_row(a, c, 1024, 1.5);
        set_fpcr(0);
        char nm[32];
        snprintf(nm, sizeof nm, "ixc mid-loop %u", m);
        line(nm, c, 1024, f, 0);
        set_fpsr(0);
        r = mulsub(a, c, b, 1024, &f);
        snprintf(nm, sizeof nm, "ixc mulsub %u", m);
        line(nm, b, 1024, f, r);
    }
    return 0;
}
