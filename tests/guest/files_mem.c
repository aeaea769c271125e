/* memfd_create with MFD_ALLOW_SEALING and the seals (F_ADD_SEALS/F_GET_SEALS):
 * F_SEAL_WRITE, GROW, SHRINK, SEAL and FUTURE_WRITE as write(), ftruncate()
 * and mmap() meet them; then two big MAP_NORESERVE reservations (as Go's heap
 * arenas and the sanitizers' shadow make) that must not overlap and must be
 * usable at both ends.  Prints nothing that depends on the machine. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#ifndef F_SEAL_FUTURE_WRITE
#define F_SEAL_FUTURE_WRITE 0x0010
#endif

#define CHECK(label, expr) do { errno = 0; long r_ = (long)(expr); \
    printf("%s = %ld%s%s\n", label, r_, r_ < 0 ? " " : "", r_ < 0 ? strerrorname_np(errno) : ""); } while (0)

static void show_map(const char *label, void *p) {
    printf("%s: %s\n", label, p == MAP_FAILED ? strerrorname_np(errno) : "mapped");
}

static void seals(void) {
    int fd = memfd_create("sealed", MFD_ALLOW_SEALING | MFD_CLOEXEC);
    CHECK("ftruncate 8192", ftruncate(fd, 8192));
    CHECK("F_GET_SEALS", fcntl(fd, F_GET_SEALS));
    int plain = memfd_create("plain", 0);
    CHECK("F_GET_SEALS without MFD_ALLOW_SEALING", fcntl(plain, F_GET_SEALS));
    CHECK("F_ADD_SEALS without MFD_ALLOW_SEALING", fcntl(plain, F_ADD_SEALS, F_SEAL_WRITE));
    CHECK("F_ADD_SEALS bad bit", fcntl(fd, F_ADD_SEALS, 0x100));

    /* a shared writable mapping held: F_SEAL_WRITE is EBUSY; a read-only one is fine */
    char *w = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    w[0] = 'w';
    CHECK("F_ADD_SEALS F_SEAL_WRITE with a writable map", fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE));
    munmap(w, 4096);
    char *r = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0);
    CHECK("F_ADD_SEALS F_SEAL_WRITE with a read-only shared map", fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE));
    munmap(r, 4096);
    r = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, fd, 0);
    printf("known: ");
    CHECK("F_ADD_SEALS F_SEAL_WRITE with a private map", fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE));
    printf("  read through the map: %c\n", r[0]);
    munmap(r, 4096);
    CHECK("F_ADD_SEALS F_SEAL_WRITE with no map", fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE));
    CHECK("F_GET_SEALS", fcntl(fd, F_GET_SEALS));
    r = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, fd, 0);
    CHECK("write", write(fd, "x", 1));
    CHECK("pwrite", pwrite(fd, "x", 1, 10));
    CHECK("ftruncate (no GROW or SHRINK seal)", ftruncate(fd, 8192));
    show_map("mmap PROT_WRITE MAP_SHARED", mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0));
    char *priv = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    show_map("mmap PROT_WRITE MAP_PRIVATE", priv);
    if (priv != MAP_FAILED) { priv[0] = 'p'; printf("  private copy %c, file %c\n", priv[0], r[0]); }
    char *ro = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0);
    printf("known: mmap PROT_READ MAP_SHARED after F_SEAL_WRITE: %s\n", ro == MAP_FAILED ? strerrorname_np(errno) : "mapped");
    if (ro != MAP_FAILED) {
        CHECK("known: mprotect it writable", mprotect(ro, 4096, PROT_READ | PROT_WRITE));
        munmap(ro, 4096);
    }
    CHECK("ftruncate grow (no GROW seal yet)", ftruncate(fd, 12288));
    CHECK("F_ADD_SEALS GROW|SHRINK", fcntl(fd, F_ADD_SEALS, F_SEAL_GROW | F_SEAL_SHRINK));
    CHECK("ftruncate grow", ftruncate(fd, 16384));
    CHECK("ftruncate shrink", ftruncate(fd, 4096));
    CHECK("ftruncate same size", ftruncate(fd, 12288));
    CHECK("fallocate grow", fallocate(fd, 0, 0, 20000));
    CHECK("F_ADD_SEALS F_SEAL_SEAL", fcntl(fd, F_ADD_SEALS, F_SEAL_SEAL));
    CHECK("F_ADD_SEALS after F_SEAL_SEAL", fcntl(fd, F_ADD_SEALS, F_SEAL_FUTURE_WRITE));
    CHECK("F_GET_SEALS", fcntl(fd, F_GET_SEALS));
    munmap(r, 4096);
    close(fd);

    /* F_SEAL_GROW alone: writes inside the size work, past it fail */
    int g = memfd_create("grow", MFD_ALLOW_SEALING);
    ftruncate(g, 4);
    CHECK("F_ADD_SEALS F_SEAL_GROW", fcntl(g, F_ADD_SEALS, F_SEAL_GROW));
    CHECK("pwrite inside", pwrite(g, "abcd", 4, 0));
    CHECK("pwrite past the end", pwrite(g, "abcd", 4, 2));
    close(g);

    /* F_SEAL_FUTURE_WRITE: an existing shared writable map keeps working, new ones fail */
    int f = memfd_create("future", MFD_ALLOW_SEALING);
    ftruncate(f, 4096);
    char *before = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, f, 0);
    CHECK("F_ADD_SEALS F_SEAL_FUTURE_WRITE", fcntl(f, F_ADD_SEALS, F_SEAL_FUTURE_WRITE));
    before[0] = 'b';
    char c = 0;
    pread(f, &c, 1, 0);
    printf("  the older map still writes: %c\n", c);
    CHECK("write", write(f, "x", 1));
    show_map("new mmap PROT_WRITE MAP_SHARED", mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, f, 0));
    printf("known: ");
    show_map("new mmap PROT_READ MAP_SHARED", mmap(NULL, 4096, PROT_READ, MAP_SHARED, f, 0));
    close(f);
    CHECK("memfd_create bad flag", memfd_create("x", 0x100));
}

static void reservations(void) {
    size_t big = 64UL << 30;
    char *a = mmap(NULL, big, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    char *b = mmap(NULL, big, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    show_map("64 GiB MAP_NORESERVE a", a);
    show_map("64 GiB MAP_NORESERVE b", b);
    if (a == MAP_FAILED || b == MAP_FAILED) return;
    printf("disjoint: %d\n", a + big <= b || b + big <= a);
    a[0] = 1; a[big - 1] = 2; b[0] = 3; b[big - 1] = 4;
    a[big / 2] = 5;
    printf("both ends: %d %d %d %d middle %d\n", a[0], a[big - 1], b[0], b[big - 1], a[big / 2]);
    printf("untouched reads zero: %d\n", a[12345678] == 0 && b[big - 4096] == 0);
    /* Go reserves PROT_NONE and commits pieces with mprotect */
    char *c = mmap(NULL, big, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    show_map("64 GiB PROT_NONE c", c);
    if (c != MAP_FAILED) {
        printf("disjoint from a and b: %d\n", (c + big <= a || a + big <= c) && (c + big <= b || b + big <= c));
        CHECK("mprotect the top 1 MiB of c", mprotect(c + big - (1 << 20), 1 << 20, PROT_READ | PROT_WRITE));
        c[big - 1] = 7;
        printf("top of c: %d\n", c[big - 1]);
        CHECK("munmap c", munmap(c, big));
    }
    CHECK("munmap a", munmap(a, big));
    CHECK("munmap b", munmap(b, big));
}

int main(void) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    seals();
    reservations();
    return 0;
}
