/* Doubles kept as host floats in a hot loop (mkemu's cpu/a64_fp_twin): the
   matmul inner loop (LDR D, LDR D, FMADD, STR D) and a store/reload loop over
   special values (NaN payloads, signalling NaNs, -0.0, denormals, infinities,
   long significands, overflow), with FPCR changed inside the loop, a signal
   delivered mid-loop and faults in its load and its store.  The handlers check
   the interrupted D registers in the frame: the loop's last trip left
   d1 = a[k-1] and d0 = c[k-1] (k = x3 / 8).  Each line is bits and FPSR.
   The loop again on an unaligned c and on pages it is the first to touch, and
   with an invariant factor of each significand length.
   mkemu-cflags: -O2 */
#include <math.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/time.h>
#include <ucontext.h>

static uint64_t bits(double d) { uint64_t u; memcpy(&u, &d, 8); return u; }
static double from_bits(uint64_t u) { double d; memcpy(&d, &u, 8); return d; }

static const uint64_t specials[] = {
    0x7ff0000000000001ull, 0x7ff8000000000123ull, 0xfff4000000000abcull, 0x8000000000000000ull,
    0x0000000000000001ull, 0x000fffffffffffffull, 0x7ff0000000000000ull, 0xfff0000000000000ull,
    0x3fb999999999999aull, 0x7fefffffffffffffull, 0x0010000000000000ull, 0x3ff8000000000000ull,
    0xc004000000000000ull, 0x0000000000000000ull, 0x3fd5555555555555ull, 0x8008000000000000ull,
};
#define NS (sizeof specials / sizeof specials[0])

/* c[i] = a[i] * m + c[i] for i < n (x3 is the byte offset); returns d0, d1 and FPSR */
static void matmul_row(const double *a, double *c, long n, double m, uint64_t *d0, uint64_t *d1,
                       uint64_t *fpsr) {
    double r0, r1;
    __asm__ volatile("mov x3, #0\n"
                     "1: ldr d1, [%[a], x3]\n ldr d0, [%[c], x3]\n fmadd d0, d1, %d[m], d0\n"
                     "str d0, [%[c], x3]\n add x3, x3, #8\n cmp x3, %[n]\n b.ne 1b\n"
                     "fmov %d[r0], d0\n fmov %d[r1], d1\n mrs %[f], fpsr"
                     : [r0] "=w"(r0), [r1] "=w"(r1), [f] "=r"(*fpsr)
                     : [a] "r"(a), [c] "r"(c), [n] "r"(n * 8), [m] "w"(m)
                     : "x3", "v0", "v1", "cc", "memory");
    *d0 = bits(r0);
    *d1 = bits(r1);
}

/* the stored value read back and combined: FMUL, FADD, FSUB, FNMSUB on twins */
static void reload_row(const double *a, double *c, long n, double m, uint64_t *acc, uint64_t *fpsr) {
    double r;
    __asm__ volatile("mov x3, #0\n movi d4, #0\n"
                     "1: ldr d1, [%[a], x3]\n fmul d0, d1, %d[m]\n str d0, [%[c], x3]\n"
                     "ldr d3, [%[c], x3]\n fsub d5, d3, d1\n fadd d4, d4, d5\n"
                     "fnmsub d6, d3, d1, d5\n str d6, [%[c], x3]\n"
                     "add x3, x3, #8\n cmp x3, %[n]\n b.ne 1b\n"
                     "fmov %d[r], d4\n mrs %[f], fpsr"
                     : [r] "=w"(r), [f] "=r"(*fpsr)
                     : [a] "r"(a), [c] "r"(c), [n] "r"(n * 8), [m] "w"(m)
                     : "x3", "v0", "v1", "v3", "v4", "v5", "v6", "cc", "memory");
    *acc = bits(r);
}

/* c[i] = a[i] through D1, no arithmetic: every bit (signalling NaNs too) goes through */
static void copy_row(const double *a, double *c, long n) {
    __asm__ volatile("mov x3, #0\n"
                     "1: ldr d1, [%[a], x3]\n str d1, [%[c], x3]\n add x3, x3, #8\n cmp x3, %[n]\n b.ne 1b\n"
                     :
                     : [a] "r"(a), [c] "r"(c), [n] "r"(n * 8)
                     : "x3", "v1", "cc", "memory");
}

/* NZCV of FCMP a[i], c[i] and of FCMPE a[i], #0.0 into flags[2i], flags[2i+1]; FPSR */
static uint64_t compare_row(const double *a, const double *c, uint64_t *flags, long n) {
    uint64_t f;
    __asm__ volatile("mov x3, #0\n mov x6, %[fl]\n"
                     "1: ldr d1, [%[a], x3]\n ldr d0, [%[c], x3]\n fcmp d1, d0\n mrs x4, nzcv\n"
                     "fcmpe d1, #0.0\n mrs x5, nzcv\n stp x4, x5, [x6], #16\n"
                     "add x3, x3, #8\n cmp x3, %[n]\n b.ne 1b\n mrs %[f], fpsr"
                     : [f] "=r"(f)
                     : [a] "r"(a), [c] "r"(c), [n] "r"(n * 8), [fl] "r"(flags)
                     : "x3", "x4", "x5", "x6", "v0", "v1", "cc", "memory");
    return f;
}

/* matmul_row that writes FPCR = fpcr when x3 reaches at (bytes) */
static void fpcr_row(const double *a, double *c, long n, double m, long at, uint64_t fpcr,
                     uint64_t *fpsr) {
    __asm__ volatile("mov x3, #0\n"
                     "1: cmp x3, %[at]\n b.ne 2f\n msr fpcr, %[v]\n"
                     "2: ldr d1, [%[a], x3]\n ldr d0, [%[c], x3]\n fmadd d0, d1, %d[m], d0\n"
                     "str d0, [%[c], x3]\n add x3, x3, #8\n cmp x3, %[n]\n b.ne 1b\n"
                     "mrs %[f], fpsr\n msr fpcr, xzr"
                     : [f] "=r"(*fpsr)
                     : [a] "r"(a), [c] "r"(c), [n] "r"(n * 8), [m] "w"(m), [at] "r"(at * 8),
                       [v] "r"(fpcr)
                     : "x3", "v0", "v1", "cc", "memory");
}

static void clear_fpsr(uint64_t v) { __asm__ volatile("msr fpsr, %0" ::"r"(v)); }

static void print_row(const char *name, const double *c, long n, uint64_t fpsr) {
    unsigned long long h = 1469598103934665603ull;
    for (long i = 0; i < n; i++) h = (h ^ bits(c[i])) * 1099511628211ull;
    printf("%-16s %016llx %016llx %016llx fpsr %08llx\n", name, (unsigned long long)bits(c[0]),
           (unsigned long long)bits(c[n - 1]), h, (unsigned long long)fpsr);
}

/* ---- the frame's D registers at a signal or fault in the loop ---------------------------- */
static const double *cur_a;
static double *cur_c;
static volatile long checks, bad;
static sigjmp_buf back;

static void check_frame(ucontext_t *uc, int faulted) {
    struct fpsimd_context *fp = (struct fpsimd_context *)uc->uc_mcontext.__reserved;
    uint32_t insn = *(uint32_t *)uc->uc_mcontext.pc;
    if (insn != 0xfc636801u)            /* ldr d1, [x0, x3]: the loop's top (its registers below) */
        return;
    long k = (long)(uc->uc_mcontext.regs[3] / 8);
    if (k == 0)
        return;
    checks++;
    if ((uint64_t)fp->vregs[1] != bits(cur_a[k - 1]) || (uint64_t)fp->vregs[0] != bits(cur_c[k - 1]))
        bad++;
    if (faulted)
        printf("fault at k=%ld d0 %016llx d1 %016llx\n", k, (unsigned long long)fp->vregs[0],
               (unsigned long long)fp->vregs[1]);
}

static void on_alarm(int sig, siginfo_t *si, void *ctx) { (void)sig; (void)si; check_frame(ctx, 0); }

static void on_segv(int sig, siginfo_t *si, void *ctx) {
    ucontext_t *uc = ctx;
    struct fpsimd_context *fp = (struct fpsimd_context *)uc->uc_mcontext.__reserved;
    (void)sig;
    (void)si;
    check_frame(uc, 1);
    printf("segv insn %08x x3 %lld d0 %016llx d1 %016llx\n", *(uint32_t *)uc->uc_mcontext.pc,
           (long long)uc->uc_mcontext.regs[3], (unsigned long long)fp->vregs[0],
           (unsigned long long)fp->vregs[1]);
    siglongjmp(back, 1);
}

/* the loop with fixed registers (x0 = a, x1 = c) so the handler can find them */
static void plain_row(const double *a, double *c, long n, double m) {
    register const double *ra __asm__("x0") = a;
    register double *rc __asm__("x1") = c;
    __asm__ volatile("mov x3, #0\n"
                     "1: ldr d1, [x0, x3]\n ldr d0, [x1, x3]\n fmadd d0, d1, %d[m], d0\n"
                     "str d0, [x1, x3]\n add x3, x3, #8\n cmp x3, %[n]\n b.ne 1b\n"
                     : "+r"(ra), "+r"(rc)
                     : [n] "r"(n * 8), [m] "w"(m)
                     : "x3", "v0", "v1", "cc", "memory");
}

int main(void) {
    static double a[4096], c[4096];
    for (int rep = 0; rep < 2; rep++) {
        for (int fp = 0; fp < 4; fp++) {
            static const uint64_t fpcrs[] = {0, 1 << 24, 1 << 25, 2u << 22};
            __asm__ volatile("msr fpcr, %0" ::"r"(fpcrs[fp]));
            for (unsigned s = 0; s < NS; s++) {
                for (int i = 0; i < 64; i++) {
                    a[i] = from_bits(specials[(i + s) % NS]);
                    c[i] = from_bits(specials[(i * 7 + s) % NS]);
                }
                uint64_t d0, d1, f, acc;
                char name[32];
                clear_fpsr(rep ? 0x10 : 0);
                matmul_row(a, c, 64, from_bits(specials[s]), &d0, &d1, &f);
                snprintf(name, sizeof name, "mm r%d c%d s%u", rep, fp, s);
                print_row(name, c, 64, f);
                printf("  d0 %016llx d1 %016llx\n", (unsigned long long)d0, (unsigned long long)d1);
                clear_fpsr(rep ? 0x10 : 0);
                reload_row(a, c, 64, from_bits(specials[(s + 3) % NS]), &acc, &f);
                snprintf(name, sizeof name, "rl r%d c%d s%u", rep, fp, s);
                print_row(name, c, 64, f);
                printf("  acc %016llx\n", (unsigned long long)acc);
            }
            __asm__ volatile("msr fpcr, xzr");
        }
    }
    for (int i = 0; i < 64; i++) { a[i] = from_bits(specials[i % NS]); c[i] = 1.0; }
    copy_row(a, c, 64);
    copy_row(a + 1, c + 64, 63);            /* and at addresses that are not 8-aligned */
    copy_row((double *)((char *)a + 4), (double *)((char *)c + 1028), 32);
    print_row("copy", c, 200, 0);

    /* c[i] += a[i] * m's load and store share the load's double view and index: with c
       not 8-aligned (element 511 across a page) they take the int paths; with c's pages
       never touched before the loop (fresh zero pages) the first trip finds no view */
    {
        char *pages = mmap(NULL, 4 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        double *cu = (double *)(pages + 4), *cz = (double *)(pages + 2 * 4096);
        for (int i = 0; i < 600; i++) {
            double v = i * 0.25 + (i % 11 == 3 ? 0.1 : 0);
            a[i] = (i % 7) * 0.5 + (i % 13 == 5 ? 1e-310 : 0);
            memcpy((char *)cu + 8 * i, &v, 8);
        }
        uint64_t d0, d1, f;
        for (int rep = 0; rep < 3; rep++) {
            clear_fpsr(0);
            matmul_row(a, cu, 600, 1.5 + rep, &d0, &d1, &f);
            print_row("unaligned", cu, 600, f);
            printf("  d0 %016llx d1 %016llx\n", (unsigned long long)d0, (unsigned long long)d1);
        }
        clear_fpsr(0);
        matmul_row(a, cz, 600, 0.75, &d0, &d1, &f);
        print_row("fresh", cz, 600, f);
        printf("  d0 %016llx d1 %016llx\n", (unsigned long long)d0, (unsigned long long)d1);
        munmap(pages, 4 * 4096);
    }
    for (int fp = 0; fp < 2; fp++) {
        static uint64_t flags[2 * NS * NS];
        for (unsigned i = 0; i < NS * NS; i++) {
            a[i] = from_bits(specials[i % NS]);
            c[i] = from_bits(specials[i / NS]);
        }
        __asm__ volatile("msr fpcr, %0" ::"r"(fp ? 1ull << 24 : 0ull));
        clear_fpsr(0);
        uint64_t f = compare_row(a, c, flags, NS * NS);
        __asm__ volatile("msr fpcr, xzr");
        unsigned long long h = 1469598103934665603ull;
        for (unsigned i = 0; i < 2 * NS * NS; i++) h = (h ^ flags[i]) * 1099511628211ull;
        printf("compare fz%d %016llx %08llx %08llx fpsr %08llx\n", fp, h, (unsigned long long)flags[2],
               (unsigned long long)flags[3], (unsigned long long)f);
        for (unsigned i = 0; i < NS; i++) clear_fpsr(0), f = compare_row(a + NS * 3 + i, c + NS * 3 + i, flags, 1),
            printf(" %llx/%llx/%llx", (unsigned long long)flags[0] >> 28, (unsigned long long)flags[1] >> 28, (unsigned long long)f);
        printf("\n");
    }

    /* an invariant factor of k + 1 significant bits (all ones) times a[j] of j + 1: exact
       while the two add up to 53 at most (the loop tests a[j] against the bits m leaves),
       inexact past it (IXC; the sum with c rounded once) */
    for (int k = 0; k <= 52; k++) {
        double m = 2.0 - ldexp(1.0, -k);     /* k + 1 one bits (k = 0: 1.0, one bit) */
        uint64_t d0, d1, f;
        char ixc[55] = {0};
        for (int j = 0; j < 54; j++) {            /* IXC of each a[j] (trips 2-4: the loop's trace) */
            a[0] = 1.0;
            a[1] = a[2] = a[3] = 2.0 - ldexp(1.0, -j);
            c[0] = c[1] = c[2] = c[3] = 0;
            clear_fpsr(0);
            matmul_row(a, c, 4, m, &d0, &d1, &f);
            ixc[j] = f & 0x10 ? 'x' : '.';
        }
        printf("bits %2d %s", k, ixc);
        for (int i = 0; i < 64; i++) { a[i] = 2.0 - ldexp(1.0, -(i % 54)); c[i] = ldexp(1.0, -60) * (i + 1); }
        clear_fpsr(0);
        matmul_row(a, c, 64, m, &d0, &d1, &f);
        print_row("", c, 64, f);
    }

    /* exact values (IXC stays clear), then FPCR changed mid-loop: FZ, DN, round down */
    static const uint64_t mid[] = {1 << 24, 1 << 25, 2u << 22, 3u << 22};
    for (int v = 0; v < 4; v++) {
        for (int i = 0; i < 256; i++) {
            a[i] = (i % 7) * 0.5 + (i == 100 ? 0.1 : 0) + (i == 180 ? 1e-310 : 0);
            c[i] = (i % 5) * 0.25 + (i == 200 ? 1e-320 : 0);
        }
        uint64_t f;
        char name[32];
        clear_fpsr(0);
        fpcr_row(a, c, 256, 0.75, 150, mid[v], &f);
        snprintf(name, sizeof name, "fpcr-mid %d", v);
        print_row(name, c, 256, f);
    }

    /* a signal mid-loop: the frame holds the last trip's d0 and d1 */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_alarm;
    sa.sa_flags = SA_SIGINFO | SA_RESTART;
    sigaction(SIGALRM, &sa, NULL);
    struct itimerval it = {{0, 2000}, {0, 2000}};
    setitimer(ITIMER_REAL, &it, NULL);
    for (int i = 0; i < 4096; i++) { a[i] = (i % 9) * 0.125; c[i] = 0; }
    cur_a = a;
    cur_c = c;
    for (int r = 0; r < 300; r++) plain_row(a, c, 4096, 0.5 + r % 3);
    struct itimerval off = {{0, 0}, {0, 0}};
    setitimer(ITIMER_REAL, &off, NULL);
    print_row("signals", c, 4096, 0);
    printf("signal checks bad %ld\n", bad);
    fprintf(stderr, "signal checks %ld\n", checks);

    /* faults: a's load, c's load, c's store at element 300 (the next page is not there) */
    sa.sa_sigaction = on_segv;
    sa.sa_flags = SA_SIGINFO | SA_NODEFER;
    sigaction(SIGSEGV, &sa, NULL);
    for (int which = 0; which < 3; which++) {
        char *pages = mmap(NULL, 8 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        double *lo = (double *)(pages + 4096 - 300 * 8);      /* [300] on page 1: no access */
        double *hi = (double *)(pages + 4 * 4096);             /* 600 on pages 4-5 */
        double *ro = (double *)(pages + 7 * 4096 - 300 * 8);  /* [300] on page 7: read-only */
        double *fa = which == 0 ? lo : hi, *fc = which == 0 ? hi : which == 1 ? lo : ro;
        for (int i = 0; i < 600; i++) {
            if (i < 300 || fa == hi) fa[i] = from_bits(specials[i % NS]) + (i % 3);
            if (i < 300 || fc == hi) fc[i] = i * 0.5;
        }
        mprotect(pages + 4096, 4096, PROT_NONE);
        mprotect(pages + 7 * 4096, 4096, PROT_READ);
        cur_a = fa;
        cur_c = fc;
        if (!sigsetjmp(back, 1))
            plain_row(fa, fc, 600, 1.5);
        print_row(which == 0 ? "fault-a" : which == 1 ? "fault-c-load" : "fault-c-store", fc, 300, 0);
        munmap(pages, 8 * 4096);
    }
    printf("fault checks bad %ld\n", bad);
    return 0;
}
