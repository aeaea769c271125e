/* Duplicating descriptors and fcntl's descriptor commands, each result
 * printed: dup, dup3, dup2 (libc: dup3-based on aarch64), F_DUPFD and
 * F_DUPFD_CLOEXEC against RLIMIT_NOFILE, F_GETFD/F_SETFD, F_GETFL/F_SETFL
 * (printed in aarch64 octal, so a bit left in its x86_64 place shows), F_GETOWN/F_SETOWN(_EX), unknown commands.
 * Lines starting "linux:" are where qemu-aarch64 7.2 differs from Linux
 * (its own descriptors show, it translates no owner pid); they print nothing
 * that differs between aarch64 and x86_64 and are compared with this program
 * built for the host. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#define CHECK(label, expr) do { errno = 0; long r_ = (long)(expr); \
    printf("%s = %ld%s%s\n", label, r_, r_ < 0 ? " " : "", r_ < 0 ? strerrorname_np(errno) : ""); } while (0)

static void open_fds(const char *label) {
    /* every descriptor a program can reach, up to far beyond its limit */
    printf("%s:", label);
    for (int fd = 0; fd < 70000; fd++)
        if (fcntl(fd, F_GETFD) >= 0)
            printf(" %d", fd);
    printf("\n");
}

/* The kernel's O_LARGEFILE, which a 64-bit kernel sets on every file it opens (libc's
 * O_LARGEFILE is 0 on 64-bit).  qemu 7.2 drops it from F_GETFL: it is shown apart, on a
 * "linux:" line. */
#ifdef __aarch64__
#define K_O_LARGEFILE 0400000
#else
#define K_O_LARGEFILE 0100000
#endif

static void fl(const char *label, int fd) {
    int flags = fcntl(fd, F_GETFL);
    printf("%s: FD %d FL 0%o\n", label, fcntl(fd, F_GETFD), flags < 0 ? flags : flags & ~K_O_LARGEFILE);
    printf("linux: %s: O_LARGEFILE %d\n", label, flags >= 0 && flags & K_O_LARGEFILE);
}

int main(void) {
    /* the same limit wherever it runs (mkemu's guest starts with 1024, a host shell may not) */
    struct rlimit rl = {1024, 1024};
    CHECK("setrlimit NOFILE 1024", setrlimit(RLIMIT_NOFILE, &rl));
    open_fds("linux: open at start");
    int m = memfd_create("scratch", 0);
    printf("memfd: %d\n", m);
    fl("memfd", m);
    CHECK("write", write(m, "0123456789", 10));

    /* dup */
    CHECK("dup", dup(m));
    CHECK("F_SETFD FD_CLOEXEC on 3", fcntl(m, F_SETFD, FD_CLOEXEC));
    CHECK("dup of a close-on-exec fd", dup(m));
    fl("the dup", 5);
    CHECK("dup of a closed fd", dup(77));
    CHECK("dup -1", dup(-1));
    CHECK("lseek on 3", lseek(m, 2, SEEK_SET));
    CHECK("the dup shares the offset", lseek(5, 0, SEEK_CUR));

    /* dup3 */
    CHECK("dup3 same fd", syscall(SYS_dup3, m, m, 0));
    CHECK("dup3 same fd O_CLOEXEC", syscall(SYS_dup3, m, m, O_CLOEXEC));
    CHECK("dup3 same closed fd", syscall(SYS_dup3, 90, 90, 0));
    CHECK("dup3 -1 -1", syscall(SYS_dup3, -1, -1, 0));
    CHECK("dup3 O_NONBLOCK", syscall(SYS_dup3, m, 20, O_NONBLOCK));
    CHECK("dup3 closed old", syscall(SYS_dup3, 91, 20, 0));
    CHECK("dup3 to 20", syscall(SYS_dup3, m, 20, 0));
    fl("20", 20);
    CHECK("dup3 to 21 O_CLOEXEC", syscall(SYS_dup3, m, 21, O_CLOEXEC));
    fl("21", 21);
    int p[2];
    pipe(p);
    CHECK("dup3 over an open fd (pipe read end)", syscall(SYS_dup3, m, p[0], 0));
    fl("replaced", p[0]);
    CHECK("dup3 to 1023", syscall(SYS_dup3, m, 1023, 0));
    CHECK("dup3 to 1024 (RLIMIT_NOFILE)", syscall(SYS_dup3, m, 1024, 0));
    CHECK("dup3 to 20000", syscall(SYS_dup3, m, 20000, 0));
    CHECK("dup3 to -1", syscall(SYS_dup3, m, -1, 0));
    CHECK("close 1023", close(1023));

    /* dup2 through libc (aarch64 has no dup2 syscall) */
    CHECK("dup2 same fd", dup2(m, m));
    CHECK("dup2 same closed fd", dup2(92, 92));
    CHECK("dup2 to 30", dup2(m, 30));
    fl("30 (close-on-exec is never copied)", 30);
    CHECK("dup2 from a closed fd", dup2(93, 31));
    CHECK("dup2 to 1024", dup2(m, 1024));

    /* F_DUPFD and F_DUPFD_CLOEXEC */
    CHECK("F_DUPFD 0", fcntl(m, F_DUPFD, 0));
    CHECK("F_DUPFD 20 (taken: next free)", fcntl(m, F_DUPFD, 20));
    CHECK("F_DUPFD_CLOEXEC 40", fcntl(m, F_DUPFD_CLOEXEC, 40));
    fl("40", 40);
    CHECK("F_DUPFD 1023", fcntl(m, F_DUPFD, 1023));
    CHECK("F_DUPFD 1023 again (full)", fcntl(m, F_DUPFD, 1023));
    CHECK("F_DUPFD 1024", fcntl(m, F_DUPFD, 1024));
    CHECK("F_DUPFD_CLOEXEC 1024", fcntl(m, F_DUPFD_CLOEXEC, 1024));
    CHECK("F_DUPFD 20000", fcntl(m, F_DUPFD, 20000));
    CHECK("F_DUPFD -1", fcntl(m, F_DUPFD, -1));
    CHECK("F_DUPFD of a closed fd", fcntl(94, F_DUPFD, 0));
    rl.rlim_cur = 50;
    CHECK("setrlimit NOFILE 50", setrlimit(RLIMIT_NOFILE, &rl));
    CHECK("F_DUPFD 49", fcntl(m, F_DUPFD, 49));
    CHECK("F_DUPFD 49 again (full)", fcntl(m, F_DUPFD, 49));
    CHECK("F_DUPFD 50", fcntl(m, F_DUPFD, 50));
    CHECK("dup3 to 50", syscall(SYS_dup3, m, 50, 0));
    for (int fd = 0; fd < 50; fd++)
        if (fcntl(fd, F_GETFD) < 0)
            dup(m);
    CHECK("dup with all 50 taken", dup(m));
    CHECK("open with all 50 taken", open("/", O_RDONLY));
    CHECK("pipe with all 50 taken", pipe(p));
    CHECK("memfd_create with all 50 taken", memfd_create("x", 0));
    for (int fd = 10; fd < 50; fd++)
        close(fd);
    rl.rlim_cur = 1024;
    CHECK("setrlimit NOFILE 1024", setrlimit(RLIMIT_NOFILE, &rl));

    /* F_GETFD / F_SETFD */
    CHECK("F_SETFD 0", fcntl(m, F_SETFD, 0));
    CHECK("F_GETFD", fcntl(m, F_GETFD));
    CHECK("F_SETFD 3 (only FD_CLOEXEC kept)", fcntl(m, F_SETFD, 3));
    CHECK("F_GETFD", fcntl(m, F_GETFD));
    CHECK("F_SETFD 2", fcntl(m, F_SETFD, 2));
    CHECK("F_GETFD", fcntl(m, F_GETFD));
    CHECK("F_GETFD of a closed fd", fcntl(95, F_GETFD));

    /* F_GETFL / F_SETFL */
    fl("memfd", m);
    CHECK("F_SETFL O_APPEND|O_NONBLOCK", fcntl(m, F_SETFL, O_APPEND | O_NONBLOCK));
    fl("memfd", m);
    lseek(m, 0, SEEK_SET);
    CHECK("write appends", write(m, "ab", 2));
    CHECK("offset after the append", lseek(m, 0, SEEK_CUR));
    CHECK("F_SETFL O_RDONLY|O_TRUNC|O_CREAT (ignored bits)", fcntl(m, F_SETFL, O_RDONLY | O_TRUNC | O_CREAT));
    fl("memfd", m);
    CHECK("F_SETFL O_NOATIME", fcntl(m, F_SETFL, O_NOATIME));
    fl("memfd", m);
    CHECK("F_SETFL 0", fcntl(m, F_SETFL, 0));
    fl("memfd", m);
    int d = open("/", O_RDONLY | O_DIRECTORY);
    fl("directory", d);
    int n = open("/", O_PATH | O_NOFOLLOW);
    fl("O_PATH|O_NOFOLLOW", n);
    CHECK("F_SETFL on O_PATH", fcntl(n, F_SETFL, O_NONBLOCK));
    int w = open("/dev/null", O_WRONLY | O_APPEND | O_SYNC);
    fl("/dev/null O_WRONLY|O_APPEND|O_SYNC", w);
    char self[64];
    snprintf(self, sizeof self, "/proc/self/fd/%d", m);
    int ex = open(self, O_RDONLY | O_NOATIME | O_CLOEXEC);
    fl("memfd reopened O_RDONLY|O_NOATIME|O_CLOEXEC", ex);

    /* owners */
    CHECK("F_GETOWN", fcntl(m, F_GETOWN));
    CHECK("F_SETOWN self", fcntl(m, F_SETOWN, getpid()));
    printf("linux: F_GETOWN is getpid: %d\n", fcntl(m, F_GETOWN) == getpid());
    CHECK("F_SETOWN own group", fcntl(m, F_SETOWN, -getpgrp()));
    printf("linux: F_GETOWN is -getpgrp: %d\n", fcntl(m, F_GETOWN) == -getpgrp());
    struct f_owner_ex ox = {F_OWNER_TID, gettid()};
    CHECK("F_SETOWN_EX tid", fcntl(m, F_SETOWN_EX, &ox));
    ox.type = ox.pid = -5;
    CHECK("F_GETOWN_EX", fcntl(m, F_GETOWN_EX, &ox));
    printf("linux: F_GETOWN_EX is F_OWNER_TID gettid: %d %d\n", ox.type == F_OWNER_TID, ox.pid == gettid());
    ox.type = 7;
    CHECK("F_SETOWN_EX bad type", fcntl(m, F_SETOWN_EX, &ox));
    CHECK("F_SETOWN 0", fcntl(m, F_SETOWN, 0));
    CHECK("F_GETOWN", fcntl(m, F_GETOWN));
    CHECK("F_SETSIG 10", fcntl(m, F_SETSIG, 10));
    CHECK("F_GETSIG", fcntl(m, F_GETSIG));
    CHECK("F_SETSIG 65", fcntl(m, F_SETSIG, 65));

    /* unknown and odd commands */
    CHECK("fcntl cmd 999", fcntl(m, 999, 0));
    CHECK("fcntl cmd -1", syscall(SYS_fcntl, m, -1, 0));
    CHECK("fcntl cmd 12 (F_GETLK64 of 32-bit ABIs)", syscall(SYS_fcntl, m, 12, 0));
    CHECK("fcntl cmd 1029 (F_CANCELLK)", syscall(SYS_fcntl, m, 1029, 0));
    CHECK("F_GET_SEALS of a memfd without sealing", fcntl(m, F_GET_SEALS));
    CHECK("F_GET_SEALS of a pipe", fcntl(p[1], F_GET_SEALS));

    CHECK("close_range 3 ~0", syscall(SYS_close_range, 3, ~0U, 0));
    open_fds("linux: open at the end");
    CHECK("still alive: write to stdout", write(1, "", 0));
    return 0;
}
