/* Deterministic output from libc: stdio, malloc, string functions, doubles. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv) {
    char *buf = malloc(1 << 16);
    memset(buf, 'x', 1 << 16);
    buf[1000] = 0;
    printf("hello from aarch64: argc=%d strlen=%zu\n", argc, strlen(buf));
    double acc = 0;
    for (int i = 1; i <= 1000; i++)
        acc += 1.0 / i;
    printf("harmonic(1000)=%.12f sqrt-ish=%g\n", acc, acc * acc / 3.0);
    char dst[64];
    strcpy(dst, "memcpy and friends");
    printf("%s|%d|%s\n", dst, memcmp(dst, "memcpy", 6), strchr(dst, 'f'));
    free(buf);
    return 0;
}
