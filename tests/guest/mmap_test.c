/* Memory syscalls: anonymous mmap, munmap, mprotect, brk, MAP_FIXED,
 * MAP_FIXED_NOREPLACE, mremap, big MAP_NORESERVE reservations.  Checks return
 * values and contents and prints one line per check (no addresses).
 * Lines starting with "strict:" are where qemu-aarch64 7.2 differs from
 * Linux (it treats MAP_FIXED_NOREPLACE as a hint): compare the others. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif

static int all(const char *p, int c, size_t n) {
    for (size_t i = 0; i < n; i++) if (p[i] != c) return 0;
    return 1;
}

int main(void) {
    size_t pg = sysconf(_SC_PAGESIZE);
    printf("page size: %zu\n", pg);
    char *a = mmap(0, 16 * pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    printf("mmap ok: %d aligned: %d zero: %d\n", a != MAP_FAILED, ((unsigned long)a & (pg - 1)) == 0,
           all(a, 0, 16 * pg));
    memset(a, 7, 16 * pg);
    printf("munmap middle: %d\n", munmap(a + 4 * pg, 4 * pg));
    printf("munmap unaligned: %d errno EINVAL: %d\n", munmap(a + 1, pg), errno == EINVAL);
    printf("munmap length 0: %d errno EINVAL: %d\n", munmap(a, 0), errno == EINVAL);
    printf("munmap hole again: %d\n", munmap(a + 4 * pg, 4 * pg));
    printf("mprotect hole: %d errno ENOMEM: %d\n", mprotect(a + 4 * pg, pg, PROT_READ), errno == ENOMEM);
    char *b = mmap(a + 4 * pg, pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    printf("fixed at hole: %d fresh zero: %d\n", b == a + 4 * pg, all(b, 0, pg));
    char *b2 = mmap(a + 2 * pg, pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    printf("fixed over mapping replaces: %d zero: %d neighbours kept: %d\n", b2 == a + 2 * pg,
           all(b2, 0, pg), all(a + pg, 7, pg) && all(a + 3 * pg, 7, pg));
    errno = 0;
    char *c = mmap(a, pg, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    printf("noreplace did not replace: %d\n", c != a && all(a, 7, pg));
    printf("strict: noreplace fails with EEXIST: %d\n", c == MAP_FAILED && errno == EEXIST);
    if (c != MAP_FAILED && c != a) munmap(c, pg);
    char *hole = a + 5 * pg;
    char *d0 = mmap(hole, pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    printf("noreplace into a hole: %d zero: %d\n", d0 == hole, d0 == hole && all(d0, 0, pg));
    printf("mprotect ro: %d\n", mprotect(a, pg, PROT_READ));
    printf("still readable: %d\n", all(a, 7, pg));
    printf("mprotect unaligned: %d errno EINVAL: %d\n", mprotect(a + 3, pg, PROT_READ), errno == EINVAL);
    printf("mprotect none then rw: %d %d data kept: %d\n", mprotect(a + 9 * pg, pg, PROT_NONE),
           mprotect(a + 9 * pg, pg, PROT_READ | PROT_WRITE), all(a + 9 * pg, 7, pg));

    void *old = sbrk(0);
    printf("brk grow: %d\n", sbrk(100000) == old);
    printf("brk memory zero: %d\n", all(old, 0, 100000));
    memset(old, 1, 100000);
    printf("brk shrink: %d\n", brk(old) == 0);
    printf("brk regrow zero: %d\n", sbrk(8192) == old && all(old, 0, 8192));
    brk(old);

    char *d = mmap(0, 2 * pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    strcpy(d, "moved data");
    memset(d + pg, 3, pg);
    char *e = mremap(d, 2 * pg, 64 * pg, MREMAP_MAYMOVE);
    printf("mremap grow: %d data: %s second page: %d new zero: %d\n", e != MAP_FAILED, e,
           all(e + pg, 3, pg), all(e + 2 * pg, 0, 62 * pg));
    char *f = mremap(e, 64 * pg, pg, 0);
    printf("mremap shrink in place: %d data: %s\n", f == e, f);
    char *g = mremap(f, pg, 4 * pg, 0);
    printf("mremap grow in place (may fail ENOMEM): %d\n", g == f || (g == MAP_FAILED && errno == ENOMEM));
    munmap(f, g == f ? 4 * pg : pg);

    char *big = mmap(0, 1UL << 36, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    printf("64 GiB reservation: %d\n", big != MAP_FAILED);
    printf("mprotect part rw: %d\n", mprotect(big + (1UL << 35), pg, PROT_READ | PROT_WRITE));
    big[(1UL << 35) + 5] = 42;
    printf("touch: %d\n", big[(1UL << 35) + 5]);
    printf("munmap all: %d\n", munmap(big, 1UL << 36));
    char *hint = mmap((void *)0x700000000000UL, pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    printf("high hint honoured: %d\n", hint == (void *)0x700000000000UL);
    printf("mmap bad flags: %d errno EINVAL: %d\n",
           mmap(0, pg, PROT_READ, MAP_ANONYMOUS, -1, 0) == MAP_FAILED, errno == EINVAL);
    printf("munmap rest: %d\n", munmap(a, 16 * pg));
    return 0;
}
