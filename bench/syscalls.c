/* System calls: getpid and small writes to /dev/null. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
int main(int argc, char **argv) {
    long n = argc > 1 ? atol(argv[1]) : 20000;
    int fd = open("/dev/null", O_WRONLY);
    long acc = 0;
    for (long i = 0; i < n; i++) {
        acc += getpid();
        write(fd, "x", 1);
    }
    printf("%ld\n", acc > 0);
    return 0;
}
