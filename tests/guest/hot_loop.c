/* A hot loop with a data-dependent branch, for --stats: how often the loop
   leaves translated code for the dispatcher. */
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv) {
    long n = argc > 1 ? atol(argv[1]) : 1000;
    unsigned long h = 0xcbf29ce484222325UL, odd = 0;
    for (long i = 0; i < n; i++) {
        if (i % 7 == 3)
            odd += i;
        else
            h = (h ^ i) * 0x100000001b3UL;
    }
    printf("%lu %lu\n", h, odd);
    return 0;
}
