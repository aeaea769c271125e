/* Floating point and the SIMD-heavy parts of libc: double and float math,
 * printf/strtod of floats, conversions, and memcpy/memset/strlen/memcmp/
 * strchr over odd sizes and alignments.  Prints checksums and values that
 * must equal qemu's output exactly. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint32_t fnv(const void *p, size_t n) {
    const unsigned char *s = p;
    uint32_t h = 2166136261u;
    while (n--) h = (h ^ *s++) * 16777619u;
    return h;
}

static volatile double vd = 3.0;     /* volatile: keep the compiler from folding */
static volatile float vf = 7.0f;

int main(void) {
    /* doubles */
    double x = vd, acc = 0;
    for (int i = 1; i <= 2000; i++) acc += x / i - (double)i * 1e-7;
    printf("sum=%.17g\n", acc);
    printf("sqrt=%.17g fma=%.17g\n", sqrt(x), fma(x, 1.0 / 3.0, -1.0));
    printf("sin=%.15g exp=%.15g log=%.15g pow=%.15g\n", sin(x), exp(x), log(x), pow(x, 0.37));
    printf("floor=%g ceil=%g round=%g trunc=%g rint=%g\n",
           floor(-x / 2), ceil(-x / 2), round(-x / 2), trunc(-x / 2), rint(x / 2 + 1));
    printf("fmin=%g fmax=%g fabs=%g copysign=%g\n", fmin(x, -x), fmax(x, NAN), fabs(-x), copysign(x, -0.0));
    printf("inf=%f nan=%f -0=%g tiny=%g huge=%e\n", x / 0.0, sqrt(-x), -0.0 * x, 4.9e-324 * x, 1.7e308 * x);
    printf("%a %a %.3e %g %g\n", x / 7, 1.0 / x, 123456.789 * x, 1e-5 * x, 1e20 * x);

    /* floats */
    float f = vf, fa = 0;
    for (int i = 1; i <= 1000; i++) fa += f / (float)i;
    printf("fsum=%.9g fsqrt=%.9g fdiv=%.9g\n", fa, sqrtf(f), f / 3.0f);
    printf("sinf=%.9g expf=%.9g\n", sinf(f), expf(f / 4));

    /* conversions */
    printf("d2i=%d d2u=%u d2l=%ld f2i=%d i2d=%.17g u64=%.17g\n", (int)(-x * 1000.75), (unsigned)(x * 1e9),
           (long)(x * -1e15), (int)(f * 1.5f), (double)(int64_t)-123456789012345LL,
           (double)(uint64_t)18446744073709551615ULL);
    printf("sat d2i=%d d2i_neg=%d\n", (int)(x * 1e300 > 0 ? 2147483647 : 0), (int)-(x * 1e9));
    printf("strtod=%.17g %.17g %.17g\n", strtod("2.718281828459045", 0), strtod("1e-310", 0),
           strtod("0x1.8p3", 0));
    printf("atof=%g strtof=%.9g\n", atof("  -12.5e2"), strtof("3.14159265358979", 0));

    /* string and memory functions on odd sizes and offsets */
    static char src[4200], dst[4300];
    for (int i = 0; i < (int)sizeof src; i++) src[i] = (char)(i * 7 + 3) | 1;
    uint32_t h = 0;
    for (int off = 0; off < 17; off++)
        for (int n = 0; n < 300; n += 1 + n / 9) {
            memset(dst, 0, sizeof dst);
            memcpy(dst + (off ^ 5), src + off, n);
            memmove(dst + off + 1, dst + off, n);
            h = h * 31 + fnv(dst, 400);
            src[off + n] = 0;
            h = h * 31 + (uint32_t)strlen(src + off);
            h = h * 31 + (uint32_t)(memcmp(dst + off + 1, src + off, n) != 0);
            char *c = strchr(src + off, src[off + n / 2]);
            h = h * 31 + (uint32_t)(c ? c - src : -1);
            src[off + n] = (char)((off + n) * 7 + 3) | 1;
        }
    printf("mem/str checksum=%08x\n", h);
    memset(dst, 0xA5, 3001);
    printf("memset=%08x big memcpy=%08x\n", fnv(dst, 3001), fnv(memcpy(dst + 3, src + 1, 4097), 4097));
    char s1[] = "the quick brown fox", s2[] = "the quick brown fix";
    printf("strcmp=%d strncmp=%d strrchr=%s strstr=%s\n", strcmp(s1, s2) > 0, strncmp(s1, s2, 16),
           strrchr(s1, 'o'), strstr(s1, "brown"));
    return 0;
}
