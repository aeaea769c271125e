/* Sequential memory: fill, copy and sum a buffer of a few MiB, several passes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
int main(int argc, char **argv) {
    long passes = argc > 1 ? atol(argv[1]) : 12;
    size_t n = (size_t)(argc > 2 ? atol(argv[2]) : 4) << 20;    /* MiB */
    unsigned char *a = malloc(n), *b = malloc(n);
    unsigned long sum = 0;
    for (long p = 0; p < passes; p++) {
        for (size_t i = 0; i < n; i++) a[i] = (unsigned char)(i * 31 + p);
        memcpy(b, a, n);
        const unsigned long *w = (const unsigned long *)b;
        for (size_t i = 0; i < n / 8; i++) sum += w[i] ^ p;
    }
    printf("%lu\n", sum);
    return 0;
}
