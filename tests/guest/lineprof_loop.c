/* A loop of loads, adds and stores for tests/unit/test_lineprof.py: the line profile of its
   run must find the loop's load and store lines among the costliest. */
#include <stdio.h>

static long table[512];

int main(void) {
    for (long i = 0; i < 512; i++)
        table[i] = i * 3;
    long sum = 0;
    for (int rep = 0; rep < 200; rep++)
        for (long i = 1; i < 512; i++) {
            sum += table[i];
            table[i - 1] = table[i] ^ rep;     /* a store per trip */
        }
    printf("%ld\n", sum);
    return 0;
}
