/* Memory syscalls: anonymous mmap, munmap, mprotect, brk, MAP_FIXED(_NOREPLACE), mremap. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif

int main(void) {
    size_t pg = 4096;
    char *a = mmap(0, 16 * pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    printf("mmap ok: %d zero: %d\n", a != MAP_FAILED, a[5 * pg] == 0);
    memset(a, 7, 16 * pg);
    printf("munmap middle: %d\n", munmap(a + 4 * pg, 4 * pg));
    char *b = mmap(a + 4 * pg, pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    printf("fixed at hole: %d fresh zero: %d\n", b == a + 4 * pg, b[10] == 0);
    char *c = mmap(a, pg, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    printf("noreplace over mapping fails: %d errno EEXIST: %d\n", c == MAP_FAILED, errno == EEXIST);
    printf("mprotect ro: %d\n", mprotect(a, pg, PROT_READ));
    printf("still readable: %d\n", a[0] == 7);
    void *old = sbrk(0);
    printf("brk grow: %d\n", sbrk(100000) == old);
    memset(old, 1, 100000);
    printf("brk shrink: %d\n", brk(old) == 0);
    char *d = mmap(0, 2 * pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    strcpy(d, "moved data");
    char *e = mremap(d, 2 * pg, 64 * pg, MREMAP_MAYMOVE);
    printf("mremap: %d data: %s\n", e != MAP_FAILED, e);
    char *big = mmap(0, 1UL << 36, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    printf("64 GiB reservation: %d\n", big != MAP_FAILED);
    printf("mprotect part rw: %d\n", mprotect(big + (1UL << 35), pg, PROT_READ | PROT_WRITE));
    big[(1UL << 35) + 5] = 42;
    printf("touch: %d\n", big[(1UL << 35) + 5]);
    printf("munmap all: %d\n", munmap(big, 1UL << 36));
    return 0;
}
