/* Rounding modes and exception flags through <fenv.h> (FPCR.RMode, FPSR):
   the same arithmetic under each rounding mode, and which exceptions each
   operation raises.  Printed as bit patterns so no printf rounding hides a
   difference.  mkemu-cflags: -O1 -lm */
#include <fenv.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

static uint64_t bits(double d) { uint64_t u; memcpy(&u, &d, 8); return u; }
static uint32_t bitsf(float f) { uint32_t u; memcpy(&u, &f, 4); return u; }

/* volatile operands keep the compiler from folding the arithmetic */
static volatile double one = 1.0, three = 3.0, tiny = 1e-300, huge = 1e300, zero = 0.0,
                       seven_halves = 3.5, third = 1.0 / 3.0, neg_two_and_half = -2.5;
static volatile float onef = 1.0f, threef = 3.0f, tinyf = 1e-30f;
static volatile long long big = 9007199254740993LL;      /* 2^53 + 1 */

static void flags(const char *what) {
    int f = fetestexcept(FE_ALL_EXCEPT);
    printf("%-10s %s%s%s%s%s\n", what, f & FE_INEXACT ? "inexact " : "", f & FE_UNDERFLOW ? "underflow " : "",
           f & FE_OVERFLOW ? "overflow " : "", f & FE_DIVBYZERO ? "divbyzero " : "",
           f & FE_INVALID ? "invalid" : "");
    feclearexcept(FE_ALL_EXCEPT);
}

int main(void) {
    static const struct { int mode; const char *name; } modes[] = {
        {FE_TONEAREST, "nearest"}, {FE_UPWARD, "upward"}, {FE_DOWNWARD, "downward"},
        {FE_TOWARDZERO, "towardzero"}};
    for (unsigned i = 0; i < 4; i++) {
        fesetround(modes[i].mode);
        printf("%s: get %d\n", modes[i].name, fegetround() == modes[i].mode);
        printf("  div %016llx %016llx  divf %08x\n", (unsigned long long)bits(one / three),
               (unsigned long long)bits(-one / three), bitsf(onef / threef));
        printf("  add %016llx  mul %016llx  fma %016llx\n", (unsigned long long)bits(one + tiny),
               (unsigned long long)bits(third * three), (unsigned long long)bits(fma(third, three, -one)));
        printf("  sqrt %016llx  cvt %016llx  narrow %08x\n", (unsigned long long)bits(sqrt(three)),
               (unsigned long long)bits((double)big), bitsf((float)third));
        printf("  rint %g %g  nearbyint %g  lrint %ld\n", rint(seven_halves), rint(neg_two_and_half),
               nearbyint(seven_halves), lrint(neg_two_and_half));
        printf("  overflow %016llx  underflow %016llx  exact-zero %016llx\n",
               (unsigned long long)bits(huge * huge), (unsigned long long)bits(tiny * tiny),
               (unsigned long long)bits(one - one));
    }
    fesetround(FE_TONEAREST);
    feclearexcept(FE_ALL_EXCEPT);
    flags("start");
    volatile double r;
    r = one + one;      flags("exact");
    r = one / three;    flags("inexact");
    r = huge * huge;    flags("overflow");
    r = tiny * tiny;    flags("underflow");
    r = tiny / 1e10;    flags("denormal");
    r = one / zero;     flags("divzero");
    r = zero / zero;    flags("invalid");
    r = sqrt(-one);     flags("sqrt-neg");
    volatile float rf = tinyf * tinyf; flags("underflowf");
    volatile long l = (long)huge; flags("cvt-big");
    (void)r; (void)rf; (void)l;
    return 0;
}
