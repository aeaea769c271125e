/* FPSR after scalar double FMADD / FMUL / FADD / FSUB sequences: exact,
   inexact, overflow, underflow (tiny and inexact, or tiny and exact), with
   FPSR.IXC clear and already set, in straight-line code (one trace) and in a
   hot loop, with FPCR at its default and with FZ / DN / a directed rounding.
   Each line is the result bits and the FPSR read back with MRS.
   mkemu-cflags: -O2 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

static uint64_t bits(double d) { uint64_t u; memcpy(&u, &d, 8); return u; }
static double from_bits(uint64_t u) { double d; memcpy(&d, &u, 8); return d; }

static void set_fpcr(uint64_t v) { __asm__ volatile("msr fpcr, %0" :: "r"(v)); }

/* three instructions in a row between clearing FPSR (or setting it to `start`) and reading it */
#define SEQ3(name, start, i1, i2, i3, A, B, C)                                            \
    do {                                                                                  \
        double r_, s_, t_; uint64_t f_;                                                   \
        __asm__ volatile("msr fpsr, %4\n\t" i1 "\n\t" i2 "\n\t" i3 "\n\tmrs %3, fpsr"      \
                         : "=&w"(r_), "=&w"(s_), "=&w"(t_), "=&r"(f_)                      \
                         : "r"((uint64_t)(start)), "w"(A), "w"(B), "w"(C));               \
        printf("%-22s %016llx %016llx %016llx fpsr %08llx\n", name, (unsigned long long)bits(r_), \
               (unsigned long long)bits(s_), (unsigned long long)bits(t_), (unsigned long long)f_); \
    } while (0)

#define SEQ3X(...) SEQ3(__VA_ARGS__)   /* expands the instruction triples below first */

/* %0 %1 %2 results, %5 %6 %7 operands */
#define FMA_MUL_ADD "fmadd %d0, %d5, %d6, %d7", "fmul %d1, %d5, %d6", "fadd %d2, %d5, %d7"
#define ADD_SUB_FMS "fadd %d0, %d5, %d6", "fsub %d1, %d6, %d7", "fmsub %d2, %d5, %d6, %d7"
#define NEG_FMAS "fnmadd %d0, %d5, %d6, %d7", "fnmsub %d1, %d5, %d6, %d7", "fnmul %d2, %d5, %d6"

static volatile double v_exact[] = {1.5, 0.25, 3.0, 6.0, -2.5, 1024.0, 0.0, -0.0, 0.375};
static volatile double v_long[] = {0.1, 1.0 / 3.0, 3.0, 1e-5, 7.0, 2.0 / 3.0};

static void table(const char *label, uint64_t start) {
    char name[40];
    struct { const char *what; double a, b, c; } cases[] = {
        {"exact", v_exact[0], v_exact[1], v_exact[2]},
        {"exact-neg", v_exact[4], v_exact[3], v_exact[5]},
        {"exact-zeros", v_exact[6], v_exact[7], v_exact[8]},
        {"cancel", v_exact[2], v_exact[1], -0.75},
        {"inexact-sum", 1.0, 1.0, 1e-20},
        {"inexact-long", v_long[0], v_long[1], v_long[2]},
        {"fused-differs", 1.0 + 0x1p-27, 1.0 - 0x1p-27, -1.0},
        {"overflow", 1e300, 1e300, 1.0},
        {"overflow-sum", 0x1.fffffffffffffp1023, 1.0, 0x1.fffffffffffffp1023},
        {"underflow", 1e-300, 1e-10, 0.0},
        {"tiny-exact", 0x1p-1070, 1.0, 0.0},
        {"tiny-product-big-sum", 0x1p-600, 0x1p-500, 1.0},
        {"subnormal-sum-exact", 0x1p-1030, 2.0, -0x1p-1029},
        {"denormal-in", 0x1p-1060, 0x1p+70, 0x1p-1050},
        {"inf", 1.0 / 0.0, 2.0, 1.0},
        {"inf-minus-inf", 1.0 / 0.0, 1.0, -1.0 / 0.0},
        {"nan", from_bits(0x7ff8000000000001ULL), 1.0, 2.0},
        {"snan", from_bits(0x7ff0000000000001ULL), 1.0, 2.0},
    };
    for (unsigned i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        double a = cases[i].a, b = cases[i].b, c = cases[i].c;
        snprintf(name, sizeof name, "%s %s", label, cases[i].what);
        SEQ3X(name, start, FMA_MUL_ADD, a, b, c);
        SEQ3X(name, start, ADD_SUB_FMS, a, b, c);
        SEQ3X(name, start, NEG_FMAS, a, b, c);
    }
}

/* a hot loop of exact FMADDs (the trace checks each), then one inexact one */
static void loop(const char *label, int inexact_at) {
    static double a[4096];
    for (int i = 0; i < 4096; i++) a[i] = (i % 7) * 0.5;
    if (inexact_at >= 0) a[inexact_at] = 0.1;
    double acc = 0.0, b = 0.25;
    uint64_t f;
    __asm__ volatile("msr fpsr, xzr");
    for (int i = 0; i < 4096; i++)
        __asm__ volatile("fmadd %d0, %d1, %d2, %d0" : "+w"(acc) : "w"(a[i]), "w"(b));
    __asm__ volatile("mrs %0, fpsr" : "=r"(f));
    printf("%-22s %016llx fpsr %08llx\n", label, (unsigned long long)bits(acc), (unsigned long long)f);
}

int main(void) {
    table("ixc-clear", 0);
    table("ixc-set", 0x10);
    table("ofc-set", 0x04);
    set_fpcr(1 << 24);                     /* FZ */
    table("fz", 0);
    set_fpcr(1 << 25);                     /* DN */
    table("dn", 0);
    set_fpcr(2u << 22);                    /* round towards minus infinity */
    table("rm", 0);
    set_fpcr(0);
    loop("loop-exact", -1);
    loop("loop-inexact-late", 4000);
    loop("loop-inexact-early", 3);
    return 0;
}
