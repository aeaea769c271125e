/* MAP_SHARED file mappings write through to the file, MAP_PRIVATE ones copy a
 * page at its first write; shared anonymous memory; msync's checks.  argv[1]
 * is a scratch file path (created and removed).  One line per check, nothing
 * that depends on addresses, so mkemu's output must equal qemu's.
 *
 * Lines starting with "strict:" are where qemu-aarch64 7.2 differs from Linux:
 * it refuses mremap of 0 bytes (which duplicates a shared mapping) and
 * MAP_SHARED_VALIDATE, and keeps running stale translations of code stored
 * through another view.
 *
 * With argv[2] the program ends by touching a page beyond the end of its file:
 * "bus" (a mapping longer than the file), "truncate" (the file shrank under
 * a mapping already used) or "other" (a child process shrank it, and the
 * parent goes on after waitpid); all must die of SIGBUS after their output. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#define PG 4096
#define CHECK(label, expr) do { long r_ = (long)(expr); \
    printf("%s = %ld%s%s\n", label, r_, r_ < 0 ? " " : "", r_ < 0 ? strerrorname_np(errno) : ""); } while (0)
#define MAPPED(p) ((p) == MAP_FAILED ? -1L : 0L)

static const char *path;

static void file_says(const char *label, off_t off, size_t n) {
    char buf[64] = {0};
    int fd = open(path, O_RDONLY);             /* another descriptor, opened afresh */
    long got = pread(fd, buf, n, off);
    close(fd);
    printf("%s: %ld \"%.*s\"\n", label, got, (int)(got > 0 ? got : 0), buf);
}

static int make_file(size_t size, int c) {
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    char *page = malloc(size);
    memset(page, c, size);
    write(fd, page, size);
    free(page);
    return fd;
}

static void write_through(void) {
    int fd = make_file(4 * PG, 'a');
    char *m = mmap(0, 4 * PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    CHECK("mmap shared", MAPPED(m));
    memcpy(m + 100, "hello", 5);
    file_says("store, then read() by another fd", 100, 5);
    printf("map before write(): %.5s\n", m + PG + 10);
    pwrite(fd, "world", 5, PG + 10);
    printf("write(), then load: %.5s\n", m + PG + 10);

    char *second = mmap(0, PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, PG);
    CHECK("second map of page 1", MAPPED(second));
    second[0] = 'Z';
    m[PG + 1] = 'Y';
    printf("maps see each other: %c%c %c%c\n", m[PG], m[PG + 1], second[0], second[1]);
    file_says("file after both", PG, 2);
    CHECK("munmap second", munmap(second, PG));

    CHECK("mprotect read-only", mprotect(m, 4 * PG, PROT_READ));
    CHECK("mprotect read-write", mprotect(m, 4 * PG, PROT_READ | PROT_WRITE));
    m[200] = 'P';
    file_says("store after mprotect", 200, 1);
    CHECK("munmap middle page", munmap(m + PG, PG));
    m[2 * PG] = 'Q';
    m[0] = 'R';
    file_says("stores around the hole", 2 * PG, 1);
    file_says("stores around the hole", 0, 1);

    CHECK("msync MS_SYNC", msync(m, PG, MS_SYNC));
    CHECK("msync MS_ASYNC", msync(m, PG, MS_ASYNC));
    CHECK("msync MS_INVALIDATE", msync(m, PG, MS_INVALIDATE));
    CHECK("msync MS_SYNC|MS_INVALIDATE", msync(m, PG, MS_SYNC | MS_INVALIDATE));
    CHECK("msync no flags", msync(m, PG, 0));
    CHECK("msync partial page length", msync(m, 10, MS_SYNC));
    CHECK("msync length 0", msync(m, 0, MS_SYNC));
    CHECK("msync MS_SYNC|MS_ASYNC", msync(m, PG, MS_SYNC | MS_ASYNC));
    CHECK("msync unknown flag", msync(m, PG, 8));
    CHECK("msync unaligned", msync(m + 1, PG, MS_SYNC));
    CHECK("msync over the hole", msync(m, 3 * PG, MS_SYNC));
    CHECK("msync over the hole, async", msync(m, 3 * PG, MS_ASYNC));
    CHECK("munmap first page", munmap(m, PG));
    CHECK("msync unmapped", msync(m, PG, MS_ASYNC));

    char *moved = mremap(m + 2 * PG, 2 * PG, 4 * PG, MREMAP_MAYMOVE);
    CHECK("mremap grow", MAPPED(moved));
    printf("moved data: %c\n", moved[0]);
    moved[PG + 5] = 'M';
    file_says("store after mremap", 3 * PG + 5, 1);
    CHECK("munmap moved", munmap(moved, 4 * PG));
    close(fd);
}

static void after_munmap(void) {
    int fd = make_file(PG, 'b');
    char *m = mmap(0, PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);                                 /* the mapping keeps the file */
    strcpy(m + 7, "kept");
    CHECK("munmap", munmap(m, PG));
    file_says("reopened after munmap", 7, 4);
}

static void private_copy(void) {
    int fd = make_file(2 * PG, 'c');
    char *p = mmap(0, 2 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    CHECK("mmap private", MAPPED(p));
    printf("private reads the file: %c %c\n", p[0], p[PG]);
    pwrite(fd, "N", 1, 0);
    pwrite(fd, "n", 1, PG);
    printf("unwritten pages follow the file: %c %c\n", p[0], p[PG]);
    p[0] = 'P';
    file_says("file after a private store", 0, 1);
    pwrite(fd, "O", 1, 0);
    pwrite(fd, "o", 1, PG);
    printf("the written page is a copy now: %c %c\n", p[0], p[PG]);
    CHECK("madvise DONTNEED", madvise(p, PG, MADV_DONTNEED));
    printf("after DONTNEED the file shows again: %c\n", p[0]);
    munmap(p, 2 * PG);
    close(fd);
}

static void access_modes(void) {
    int rw = make_file(PG, 'd');
    close(rw);
    int ro = open(path, O_RDONLY);
    char *m = mmap(0, PG, PROT_READ | PROT_WRITE, MAP_SHARED, ro, 0);
    CHECK("shared writable map of a read-only fd", MAPPED(m));
    m = mmap(0, PG, PROT_READ, MAP_SHARED, ro, 0);
    CHECK("shared read-only map of a read-only fd", MAPPED(m));
    printf("reads: %c\n", m[0]);
    CHECK("mprotect it writable", mprotect(m, PG, PROT_READ | PROT_WRITE));
    munmap(m, PG);
    char *p = mmap(0, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE, ro, 0);
    CHECK("private writable map of a read-only fd", MAPPED(p));
    p[0] = 'x';
    file_says("file under the private map", 0, 1);
    munmap(p, PG);
    close(ro);
    int again = open(path, O_RDWR);
    m = mmap(0, PG, PROT_READ, MAP_SHARED_VALIDATE, again, 0);
    CHECK("strict: MAP_SHARED_VALIDATE", MAPPED(m));
    munmap(m, PG);
    CHECK("strict: MAP_SHARED_VALIDATE with MAP_SYNC", MAPPED(mmap(0, PG, PROT_READ, MAP_SHARED_VALIDATE | MAP_SYNC, again, 0)));
    CHECK("MAP_SHARED with an unknown flag", MAPPED(m = mmap(0, PG, PROT_READ, MAP_SHARED | 0x200000, again, 0)));
    munmap(m, PG);
    close(again);
    CHECK("anonymous MAP_SHARED_VALIDATE", MAPPED(mmap(0, PG, PROT_READ, MAP_SHARED_VALIDATE | MAP_ANONYMOUS, -1, 0)));
    int wo = open(path, O_WRONLY);
    CHECK("map of a write-only fd", MAPPED(mmap(0, PG, PROT_READ, MAP_SHARED, wo, 0)));
    close(wo);
    int pipes[2];
    pipe(pipes);
    CHECK("map of a pipe", MAPPED(mmap(0, PG, PROT_READ, MAP_SHARED, pipes[0], 0)));
    close(pipes[0]);
    close(pipes[1]);
    CHECK("map of a closed fd", MAPPED(mmap(0, PG, PROT_READ, MAP_SHARED, pipes[0], 0)));
}

static void shared_anonymous(void) {
    char *a = mmap(0, 2 * PG, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    CHECK("shared anonymous", MAPPED(a));
    printf("zero: %d\n", a[0] == 0 && a[2 * PG - 1] == 0);
    char *alias = mremap(a, 0, 2 * PG, MREMAP_MAYMOVE);     /* a second view of the same pages */
    printf("strict: mremap of 0 bytes makes an alias: %d\n", alias != MAP_FAILED);
    if (alias != MAP_FAILED) {
        strcpy(a + 10, "via a");
        strcpy(alias + PG, "via alias");
        printf("strict: alias sees: %s, original sees: %s\n", alias + 10, a + PG);
        munmap(alias, 2 * PG);
    }
    char *priv = mmap(0, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK("strict: mremap of 0 bytes of private memory", MAPPED(mremap(priv, 0, PG, MREMAP_MAYMOVE)));
    CHECK("msync of anonymous memory", msync(a, 2 * PG, MS_SYNC));
    munmap(priv, PG);
    munmap(a, 2 * PG);
}

/* A JIT's double mapping: write code through one view, run it through another. */
static void code_through_alias(void) {
    int fd = make_file(PG, 0);
    unsigned *w = mmap(0, PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    void *x = mmap(0, PG, PROT_READ | PROT_EXEC, MAP_SHARED, fd, 0);
    int (*fn)(void) = (int (*)(void))x;
    for (int k = 1; k <= 3; k++) {
        w[0] = 0x52800000 | (k << 5);         /* mov w0, #k */
        w[1] = 0xd65f03c0;                    /* ret */
        __builtin___clear_cache((char *)x, (char *)x + 8);
        printf("strict: code written through the other view returns %d\n", fn());
    }
    munmap(w, PG);
    munmap(x, PG);
    close(fd);
}

static void beyond_end(const char *how) {
    int fd = make_file(how[0] == 'b' ? PG : 2 * PG, 'e');
    char *m = mmap(0, 2 * PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    printf("first page: %c\n", m[0]);
    if (how[0] == 't') {
        m[PG] = 'f';
        printf("second page before truncate: %c\n", m[PG]);
        ftruncate(fd, PG);
    } else if (how[0] == 'o') {
        pid_t pid = fork();
        if (pid == 0) {
            ftruncate(fd, PG);
            _exit(0);
        }
        waitpid(pid, NULL, 0);
    }
    unlink(path);
    printf("touching the page beyond the end of the file\n");
    m[PG + 1] = 'g';
    printf("not reached\n");
}

int main(int argc, char **argv) {
    path = argc > 1 ? argv[1] : "/tmp/mmap-shared-test";
    setvbuf(stdout, NULL, _IONBF, 0);
    if (argc > 2) {
        beyond_end(argv[2]);
        return 1;
    }
    write_through();
    after_munmap();
    private_copy();
    access_modes();
    shared_anonymous();
    code_through_alias();
    unlink(path);
    return 0;
}
