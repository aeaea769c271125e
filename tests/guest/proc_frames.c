/* Memory a process gets is zero even when its frames were another process's a
   moment ago: children dirty memory and exit, later children and the parent
   check that fresh anonymous memory and brk memory read as zeros. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#define SIZE (4 << 20)

static int dirty(void) {
    uint8_t *p = mmap(0, SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    memset(p, 0xA5, SIZE);
    return p[SIZE - 1] == 0xA5;
}

static long first_nonzero(void) {
    uint64_t *p = mmap(0, SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    for (size_t i = 0; i < SIZE / 8; i++)
        if (p[i]) return (long)i * 8;
    uint64_t *b = sbrk(SIZE);
    for (size_t i = 0; i < SIZE / 8; i++)
        if (b[i]) return SIZE + (long)i * 8;
    return -1;
}

int main(void) {
    int st;
    setvbuf(stdout, NULL, _IONBF, 0);
    for (int round = 0; round < 3; round++) {
        pid_t a = fork();
        if (a == 0) _exit(dirty() ? 0 : 1);
        waitpid(a, &st, 0);
        pid_t b = fork();
        if (b == 0) _exit(first_nonzero() == -1 ? 0 : 2);
        waitpid(b, &st, 0);
        printf("round %d: dirtying child %s, fresh memory in the next child %s\n", round,
               "exited", WEXITSTATUS(st) == 0 ? "is zero" : "is NOT zero");
    }
    printf("the parent's fresh memory: %s\n", first_nonzero() == -1 ? "zero" : "NOT zero");
    return 0;
}
