/* Moving bytes between descriptors: sendfile, copy_file_range, splice, tee,
 * vmsplice (pipes and files), and preadv2/pwritev2 with RWF_* flags and the
 * offset -1 (the file position).  Runs in the empty directory argv[1]; prints
 * nothing that depends on where it runs (mkemu compares with native Linux). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#define CHECK(label, expr) do { errno = 0; long r_ = (long)(expr); \
    printf("%s = %ld%s%s\n", label, r_, r_ < 0 ? " " : "", r_ < 0 ? strerrorname_np(errno) : ""); } while (0)

static void show_fd(const char *label, int fd) {
    char buf[128] = "";
    ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
    printf("  %s: \"%s\" pos %ld\n", label, n >= 0 ? (buf[n] = 0, buf) : strerrorname_np(errno),
           (long)lseek(fd, 0, SEEK_CUR));
}

static void drain(const char *label, int fd) {
    char buf[128] = "";
    ssize_t n = read(fd, buf, sizeof buf - 1);
    printf("  %s: \"%s\"\n", label, n >= 0 ? (buf[n] = 0, buf) : strerrorname_np(errno));
}

static int file(const char *name, const char *text) {
    int fd = open(name, O_RDWR | O_CREAT | O_TRUNC, 0644);
    write(fd, text, strlen(text));
    lseek(fd, 0, SEEK_SET);
    return fd;
}

static void sendfile_calls(void) {
    int src = file("src", "0123456789abcdef");
    int dst = file("dst", "");
    off_t off = 4;
    CHECK("sendfile(dst, src, &4, 6)", sendfile(dst, src, &off, 6));
    printf("  off %ld\n", (long)off);
    show_fd("dst", dst);
    show_fd("src", src);
    CHECK("sendfile(dst, src, NULL, 3)", sendfile(dst, src, NULL, 3));
    show_fd("dst", dst);
    show_fd("src", src);
    off = -1;
    CHECK("sendfile offset -1", sendfile(dst, src, &off, 3));
    off = 100;
    CHECK("sendfile past the end", sendfile(dst, src, &off, 3));
    int p[2];
    pipe(p);
    CHECK("sendfile(pipe, src, NULL, 5)", sendfile(p[1], src, NULL, 5));
    drain("pipe", p[0]);
    write(p[1], "xyz", 3);
    CHECK("sendfile(dst, pipe) (a pipe as the source)", sendfile(dst, p[0], NULL, 3));
    drain("pipe after", p[0]);
    int ro = open("src", O_RDONLY);
    CHECK("sendfile into O_RDONLY", sendfile(ro, src, NULL, 3));
    CHECK("sendfile bad fd", sendfile(dst, 999, NULL, 3));
    close(ro); close(p[0]); close(p[1]); close(src); close(dst);
}

static void copy_range_calls(void) {
    int src = file("src", "0123456789abcdef");
    int dst = file("dst", "..........");
    loff_t oi = 2, oo = 5;
    CHECK("copy_file_range(&2, &5, 4)", copy_file_range(src, &oi, dst, &oo, 4, 0));
    printf("  offsets %lld %lld\n", (long long)oi, (long long)oo);
    show_fd("dst", dst);
    CHECK("copy_file_range(NULL, NULL, 3)", copy_file_range(src, NULL, dst, NULL, 3, 0));
    show_fd("dst", dst);
    show_fd("src", src);
    CHECK("copy_file_range flags 1", copy_file_range(src, NULL, dst, NULL, 3, 1));
    oi = -1;
    CHECK("copy_file_range offset -1", copy_file_range(src, &oi, dst, NULL, 3, 0));
    oi = 0; oo = 2;
    CHECK("copy_file_range same file overlapping", copy_file_range(src, &oi, src, &oo, 4, 0));
    oi = 100;
    CHECK("copy_file_range past the end", copy_file_range(src, &oi, dst, NULL, 4, 0));
    int p[2];
    pipe(p);
    CHECK("copy_file_range to a pipe", copy_file_range(src, NULL, p[1], NULL, 4, 0));
    int d = open(".", O_RDONLY);
    CHECK("copy_file_range from a dir", copy_file_range(d, NULL, dst, NULL, 4, 0));
    int ro = open("dst", O_RDONLY);
    CHECK("copy_file_range to O_RDONLY", copy_file_range(src, NULL, ro, NULL, 4, 0));
    int ap = open("dst", O_WRONLY | O_APPEND);
    CHECK("copy_file_range to O_APPEND", copy_file_range(src, NULL, ap, NULL, 4, 0));
    close(ap); close(ro); close(d); close(p[0]); close(p[1]); close(src); close(dst);
}

static void splice_calls(void) {
    int src = file("src", "0123456789abcdef");
    int dst = file("dst", "");
    int p[2], q[2];
    pipe(p);
    pipe(q);
    loff_t off = 3;
    CHECK("splice(file &3 -> pipe, 5)", splice(src, &off, p[1], NULL, 5, 0));
    printf("  off %lld, src pos %ld\n", (long long)off, (long)lseek(src, 0, SEEK_CUR));
    CHECK("tee(pipe -> pipe2, 2)", tee(p[0], q[1], 2, 0));
    drain("pipe2", q[0]);
    CHECK("splice(pipe -> file NULL, 100)", splice(p[0], NULL, dst, NULL, 100, 0));
    show_fd("dst", dst);
    CHECK("splice(file NULL -> pipe, 4)", splice(src, NULL, p[1], NULL, 4, 0));
    printf("  src pos %ld\n", (long)lseek(src, 0, SEEK_CUR));
    off = 10;
    CHECK("splice(pipe -> file &10)", splice(p[0], NULL, dst, &off, 100, 0));
    printf("  off %lld\n", (long long)off);
    show_fd("dst", dst);
    CHECK("splice(pipe with offset)", splice(p[0], &off, dst, NULL, 1, 0));
    CHECK("splice(file -> file)", splice(src, NULL, dst, NULL, 1, 0));
    CHECK("splice bad flags", splice(src, NULL, p[1], NULL, 1, 0x100));
    CHECK("splice(empty pipe, NONBLOCK)", splice(p[0], NULL, dst, NULL, 1, SPLICE_F_NONBLOCK));
    CHECK("splice(pipe -> same pipe)", splice(p[0], NULL, p[1], NULL, 1, 0));
    CHECK("tee(empty pipe, NONBLOCK)", tee(p[0], q[1], 1, SPLICE_F_NONBLOCK));
    CHECK("tee(file -> pipe)", tee(src, q[1], 1, 0));
    CHECK("tee(pipe -> same pipe)", tee(p[0], p[1], 1, 0));
    char a[] = "vm", b[] = "splice";
    struct iovec iov[2] = { { a, 2 }, { b, 6 } };
    CHECK("vmsplice(iov -> pipe)", vmsplice(p[1], iov, 2, 0));
    char r1[3] = "", r2[6] = "";
    struct iovec out[2] = { { r1, 2 }, { r2, 5 } };
    CHECK("vmsplice(pipe -> iov)", vmsplice(p[0], out, 2, 0));
    printf("  got \"%s\" \"%s\"\n", r1, r2);
    drain("rest", p[0]);
    CHECK("vmsplice into a file", vmsplice(dst, iov, 2, 0));
    CHECK("vmsplice bad flags", vmsplice(p[1], iov, 2, 0x100));
    CHECK("vmsplice 0 iovecs", vmsplice(p[1], iov, 0, 0));
    close(p[0]); close(p[1]); close(q[0]); close(q[1]); close(src); close(dst);
}

static void rw2_calls(void) {
    int fd = file("rw", "0123456789");
    char a[4] = "", b[4] = "";
    struct iovec v[2] = { { a, 3 }, { b, 3 } };
    CHECK("preadv2(off 2)", preadv2(fd, v, 2, 2, 0));
    printf("  \"%s\" \"%s\" pos %ld\n", a, b, (long)lseek(fd, 0, SEEK_CUR));
    lseek(fd, 4, SEEK_SET);
    CHECK("preadv2(off -1)", preadv2(fd, v, 2, -1, 0));
    printf("  \"%s\" \"%s\" pos %ld\n", a, b, (long)lseek(fd, 0, SEEK_CUR));
    lseek(fd, 1, SEEK_SET);
    CHECK("preadv2(off -1, RWF_HIPRI)", preadv2(fd, v, 1, -1, RWF_HIPRI));
    printf("  \"%s\" pos %ld\n", a, (long)lseek(fd, 0, SEEK_CUR));
    CHECK("preadv2(off -2)", preadv2(fd, v, 1, -2, 0));
    CHECK("preadv2(RWF_NOWAIT)", preadv2(fd, v, 1, 0, RWF_NOWAIT));
    CHECK("preadv2 bad flag", preadv2(fd, v, 1, 0, 0x1000));
    CHECK("preadv2(RWF_APPEND)", preadv2(fd, v, 1, 0, RWF_APPEND));
    struct iovec w[1] = { { "AB", 2 } };
    CHECK("pwritev2(off 0, RWF_DSYNC)", pwritev2(fd, w, 1, 0, RWF_DSYNC));
    show_fd("rw", fd);
    CHECK("pwritev2(off -1, RWF_SYNC)", pwritev2(fd, w, 1, -1, RWF_SYNC));
    show_fd("rw", fd);
    CHECK("pwritev2(off 0, RWF_APPEND)", pwritev2(fd, w, 1, 0, RWF_APPEND));
    show_fd("rw", fd);
    CHECK("pwritev2 bad flag", pwritev2(fd, w, 1, 0, 0x1000));
    CHECK("pwritev2(off -2)", pwritev2(fd, w, 1, -2, 0));
    int p[2];
    pipe(p);
    CHECK("pwritev2(pipe, off -1)", pwritev2(p[1], w, 1, -1, 0));
    CHECK("preadv2(pipe, off -1, RWF_NOWAIT)", preadv2(p[0], v, 1, -1, RWF_NOWAIT));
    CHECK("preadv2(empty pipe, off -1, RWF_NOWAIT)", preadv2(p[0], v, 1, -1, RWF_NOWAIT));
    CHECK("preadv2(pipe, off 0)", preadv2(p[0], v, 1, 0, 0));
    close(p[0]); close(p[1]); close(fd);
}

int main(int argc, char **argv) {
    if (argc < 2 || chdir(argv[1]) < 0) { perror("chdir"); return 2; }
    setvbuf(stdout, NULL, _IOLBF, 0);
    sendfile_calls();
    copy_range_calls();
    splice_calls();
    rw2_calls();
    return 0;
}
