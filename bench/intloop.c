/* Integer loop: a linear congruential generator folded into a checksum. */
#include <stdio.h>
#include <stdlib.h>
int main(int argc, char **argv) {
    long n = argc > 1 ? atol(argv[1]) : 2000000;
    unsigned long x = 1, sum = 0;
    for (long i = 0; i < n; i++) {
        x = x * 6364136223846793005UL + 1442695040888963407UL;
        sum += (x >> 33) ^ i;
    }
    printf("%lu\n", sum);
    return 0;
}
