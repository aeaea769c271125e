/* The cost of fork per mapped MiB: map and touch M MiB of private memory, then
   20 times fork, the child writes one byte of every 16th page (copy-on-write)
   and exits, the parent waits.  Compare M = 1 with M = 64 (bench/run.py
   forkmem and forkmem1). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv) {
    long mib = argc > 1 ? atol(argv[1]) : 64;
    size_t size = (size_t)mib << 20;
    char *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    memset(p, 1, size);
    long ok = 0;
    for (int i = 0; i < 20; i++) {
        pid_t c = fork();
        if (c == 0) {
            for (size_t off = 0; off < size; off += 16 * 4096) p[off] = 2;
            _exit(p[0] == 2 ? 0 : 1);
        }
        int st;
        waitpid(c, &st, 0);
        ok += WIFEXITED(st) && WEXITSTATUS(st) == 0 && p[0] == 1;
    }
    printf("%ld MiB, %ld forks with copy-on-write right\n", mib, ok);
    return 0;
}
