/* Eighty functions, each called from a loop 200 times: their traces (and the loop's
 * return-site traces) run fewer times than the first tier's TIER_UP (256) and more
 * than its WARM_RUNS (64), so a run served from the start kit makes them in full; there
 * are more of them than a kit's rewrite needs (HINT_MIN), so that run rewrites the kit
 * with their full code and the runs after it make none (tests/test_startkit.py). */
#include <stdio.h>

#define F(n) __attribute__((noinline)) static unsigned long f##n(unsigned long x, unsigned long i) \
    { return x * (31 + n) + (i ^ (x >> (n % 13 + 1))); }
#define F10(d) F(d##0) F(d##1) F(d##2) F(d##3) F(d##4) F(d##5) F(d##6) F(d##7) F(d##8) F(d##9)
F10(1) F10(2) F10(3) F10(4) F10(5) F10(6) F10(7) F10(8)

#define C(n) x = f##n(x, i);
#define C10(d) C(d##0) C(d##1) C(d##2) C(d##3) C(d##4) C(d##5) C(d##6) C(d##7) C(d##8) C(d##9)

int main(void)
{
    unsigned long x = 1;
    for (unsigned long i = 0; i < 200; i++) {
        C10(1) C10(2) C10(3) C10(4) C10(5) C10(6) C10(7) C10(8)
    }
    printf("%lu\n", x);
    return 0;
}
