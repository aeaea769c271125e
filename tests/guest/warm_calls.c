/* A function called from a loop 200 times: its trace (and the loop's return-site
 * trace) run fewer times than the first tier's TIER_UP (256) and more than its
 * WARM_RUNS (64), so a run served from the code cache makes them in full
 * (tests/test_startkit.py). */
#include <stdio.h>

__attribute__((noinline)) static unsigned long step(unsigned long x, unsigned long i)
{
    return x * 31 + (i ^ (x >> 7));
}

int main(void)
{
    unsigned long x = 1;
    for (unsigned long i = 0; i < 200; i++)
        x = step(x, i);
    printf("%lu\n", x);
    return 0;
}
