/* Sequential memory: fill, copy and sum a few MiB. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
int main(int argc, char **argv) {
    size_t n = (argc > 1 ? atol(argv[1]) : 1) << 20;
    unsigned char *a = malloc(n), *b = malloc(n);
    for (size_t i = 0; i < n; i++) a[i] = (unsigned char)(i * 31);
    memcpy(b, a, n);
    unsigned long sum = 0;
    const unsigned long *w = (const unsigned long *)b;
    for (size_t i = 0; i < n / 8; i++) sum += w[i];
    printf("%lu\n", sum);
    return 0;
}
