/* pipe2 and the pipe-specific descriptor calls, each result printed: flags
 * (O_CLOEXEC, O_NONBLOCK, O_DIRECT packet mode, bad flags), F_GETFL of both
 * ends, F_GETPIPE_SZ/F_SETPIPE_SZ, FIONREAD, end of file and EPIPE.  Flag
 * values are printed in the guest's (aarch64) octal, so a bit left in its
 * x86_64 place shows.  Output depends on nothing but the kernel's answers.
 * Lines starting "linux:" are where qemu-aarch64 7.2 differs from Linux; they
 * print nothing that differs between aarch64 and x86_64. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

/* the kernel's O_LARGEFILE (libc's is 0 on 64-bit) */
#ifdef __aarch64__
#define K_O_LARGEFILE 0400000
#else
#define K_O_LARGEFILE 0100000
#endif

#define CHECK(label, expr) do { errno = 0; long r_ = (long)(expr); \
    printf("%s = %ld%s%s\n", label, r_, r_ < 0 ? " " : "", r_ < 0 ? strerrorname_np(errno) : ""); } while (0)

static void show_ends(const char *label, int p[2]) {
    printf("%s: fds %d %d, FD %d %d, FL 0%o 0%o\n", label, p[0], p[1],
           fcntl(p[0], F_GETFD), fcntl(p[1], F_GETFD),
           fcntl(p[0], F_GETFL), fcntl(p[1], F_GETFL));
}

int main(void) {
    int p[2];
    char buf[256];
    signal(SIGPIPE, SIG_IGN);

    CHECK("pipe2 0", pipe2(p, 0));
    show_ends("plain", p);
    CHECK("write", write(p[1], "hello", 5));
    int avail = -1;
    CHECK("FIONREAD", ioctl(p[0], FIONREAD, &avail));
    printf("FIONREAD says %d\n", avail);
    CHECK("read", read(p[0], buf, sizeof buf));
    CHECK("F_GETPIPE_SZ", fcntl(p[0], F_GETPIPE_SZ));
    CHECK("F_SETPIPE_SZ 100000", fcntl(p[1], F_SETPIPE_SZ, 100000));
    CHECK("F_GETPIPE_SZ after", fcntl(p[0], F_GETPIPE_SZ));
    CHECK("F_SETPIPE_SZ 0", fcntl(p[1], F_SETPIPE_SZ, 0));
    CHECK("F_SETPIPE_SZ -1", fcntl(p[1], F_SETPIPE_SZ, -1));
    CHECK("close write end", close(p[1]));
    CHECK("read at end of file", read(p[0], buf, sizeof buf));
    CHECK("close read end", close(p[0]));

    CHECK("pipe2 O_CLOEXEC", pipe2(p, O_CLOEXEC));
    show_ends("cloexec", p);
    close(p[0]);
    CHECK("write with the read end closed", write(p[1], "x", 1));
    close(p[1]);

    CHECK("pipe2 O_NONBLOCK", pipe2(p, O_NONBLOCK));
    show_ends("nonblock", p);
    CHECK("read empty", read(p[0], buf, sizeof buf));
    long total = 0, r;
    while ((r = write(p[1], buf, sizeof buf)) > 0)
        total += r;
    printf("filled %ld bytes, then %s\n", total, strerrorname_np(errno));
    CHECK("F_SETFL 0 (blocking read end)", fcntl(p[0], F_SETFL, 0));
    show_ends("after F_SETFL", p);
    close(p[0]);
    close(p[1]);

    CHECK("pipe2 O_DIRECT", pipe2(p, O_DIRECT));
    show_ends("packet", p);
    CHECK("write packet 1", write(p[1], "abc", 3));
    CHECK("write packet 2", write(p[1], "defgh", 5));
    CHECK("write packet 3", write(p[1], "ijklmnop", 8));
    CHECK("read packet 1 (large buffer)", read(p[0], buf, sizeof buf));
    CHECK("read packet 2 (3-byte buffer)", read(p[0], buf, 3));
    printf("got %.3s\n", buf);
    CHECK("read packet 3 (the rest of 2 was dropped)", read(p[0], buf, sizeof buf));
    printf("got %.8s\n", buf);
    CHECK("F_SETFL O_NONBLOCK keeps O_DIRECT", fcntl(p[0], F_SETFL, O_NONBLOCK));
    show_ends("packet nonblocking", p);
    CHECK("F_SETFL 0 drops O_DIRECT", fcntl(p[1], F_SETFL, 0));
    show_ends("packet cleared", p);
    CHECK("write two", write(p[1], "12", 2));
    CHECK("write more", write(p[1], "345", 3));
    CHECK("read stream", read(p[0], buf, sizeof buf));
    close(p[0]);
    close(p[1]);

    CHECK("pipe2 all three", pipe2(p, O_CLOEXEC | O_NONBLOCK | O_DIRECT));
    show_ends("all", p);
    close(p[0]);
    close(p[1]);

    CHECK("pipe2 O_APPEND", pipe2(p, O_APPEND));
    CHECK("pipe2 O_RDWR", pipe2(p, O_RDWR));
    CHECK("pipe2 O_DIRECTORY", pipe2(p, O_DIRECTORY));
    /* qemu 7.2 drops flag bits it has no translation for and makes a pipe: "linux:" lines
     * are compared with this program built for the host */
    CHECK("linux: pipe2 bit 31", pipe2(p, (int)0x80000000));
    CHECK("linux: pipe2 the kernel's O_LARGEFILE", pipe2(p, K_O_LARGEFILE));
    CHECK("pipe2 bad pointer", syscall(SYS_pipe2, (void *)16, 0));
    CHECK("pipe2 after the bad pointer", pipe2(p, 0));
    printf("linux: lowest descriptors reused: %d %d\n", p[0], p[1]);

    int fd = open("/bin/busybox", O_RDONLY);
    CHECK("F_GETPIPE_SZ on a file", fcntl(fd, F_GETPIPE_SZ));
    CHECK("F_SETPIPE_SZ on a file", fcntl(fd, F_SETPIPE_SZ, 4096));
    CHECK("FIONREAD on a pipe of two", (write(p[1], "ab", 2), ioctl(p[0], FIONREAD, &avail)));
    printf("FIONREAD says %d\n", avail);
    return 0;
}
