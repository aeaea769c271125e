/* Record locks through fcntl (F_GETLK/F_SETLK/F_SETLKW and the open file
 * description F_OFD_* ones) and flock(2), inside one process: POSIX locks of
 * one process never conflict with each other, OFD locks conflict with them
 * and with each other.  struct flock is used as aarch64 lays it out, with a
 * canary after it that no call may touch.  The file is a memfd reopened
 * through /proc/self/fd (two open file descriptions of one file), so nothing
 * printed depends on where the program runs; an owner's pid is printed as
 * its relation to getpid(). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <unistd.h>

#define CHECK(label, expr) do { errno = 0; long r_ = (long)(expr); \
    printf("%s = %ld%s%s\n", label, r_, r_ < 0 ? " " : "", r_ < 0 ? strerrorname_np(errno) : ""); } while (0)

static struct { struct flock fl; unsigned long canary; } box;

static const char *type_name(int t) {
    return t == F_RDLCK ? "F_RDLCK" : t == F_WRLCK ? "F_WRLCK" : t == F_UNLCK ? "F_UNLCK" : "?";
}

static struct flock *lk(short type, short whence, off_t start, off_t len) {
    memset(&box.fl, 0, sizeof box.fl);
    box.fl.l_type = type;
    box.fl.l_whence = whence;
    box.fl.l_start = start;
    box.fl.l_len = len;
    box.canary = 0x5a5a5a5a5a5a5a5aUL;
    return &box.fl;
}

static void show(const char *label) {
    const char *pid = box.fl.l_pid == getpid() ? "me" : box.fl.l_pid == -1 ? "-1 (OFD)"
                      : box.fl.l_pid == 0 ? "0" : "someone else";
    printf("  %s: %s whence %d start %lld len %lld pid %s canary %s\n", label,
           type_name(box.fl.l_type), box.fl.l_whence, (long long)box.fl.l_start,
           (long long)box.fl.l_len, pid, box.canary == 0x5a5a5a5a5a5a5a5aUL ? "intact" : "CLOBBERED");
}

int main(void) {
    printf("sizeof(struct flock) = %zu, l_start at %zu, l_pid at %zu\n", sizeof(struct flock),
           __builtin_offsetof(struct flock, l_start), __builtin_offsetof(struct flock, l_pid));
    int a = memfd_create("locks", 0);
    write(a, "0123456789abcdefghij", 20);
    char path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", a);
    int b = open(path, O_RDWR);
    int ro = open(path, O_RDONLY);
    printf("descriptors: %d %d %d\n", a, b, ro);

    CHECK("F_SETLK write [0,10) on a", fcntl(a, F_SETLK, lk(F_WRLCK, SEEK_SET, 0, 10)));
    CHECK("F_GETLK write [0,100) on b (same process: no conflict)",
          fcntl(b, F_GETLK, lk(F_WRLCK, SEEK_SET, 0, 100)));
    show("answer");
    CHECK("F_SETLK write [5,15) on b (same process: replaces)", fcntl(b, F_SETLK, lk(F_WRLCK, SEEK_SET, 5, 10)));
    CHECK("F_OFD_GETLK write [0,0) on b", fcntl(b, F_OFD_GETLK, lk(F_WRLCK, SEEK_SET, 0, 0)));
    show("conflict");
    CHECK("F_OFD_SETLK read [12,13) on b", fcntl(b, F_OFD_SETLK, lk(F_RDLCK, SEEK_SET, 12, 1)));
    CHECK("F_OFD_SETLKW read [16,17) on b (no conflict)", fcntl(b, F_OFD_SETLKW, lk(F_RDLCK, SEEK_SET, 16, 1)));
    CHECK("F_SETLK unlock all on a", fcntl(a, F_SETLK, lk(F_UNLCK, SEEK_SET, 0, 0)));
    CHECK("F_OFD_GETLK write [0,0) on b, after the unlock", fcntl(b, F_OFD_GETLK, lk(F_WRLCK, SEEK_SET, 0, 0)));
    show("answer");
    CHECK("F_OFD_SETLK with l_pid set", fcntl(b, F_OFD_SETLK, (lk(F_WRLCK, SEEK_SET, 0, 1), box.fl.l_pid = 1, &box.fl)));
    CHECK("F_OFD_SETLK write [5,20) on b", fcntl(b, F_OFD_SETLK, lk(F_WRLCK, SEEK_SET, 5, 15)));
    CHECK("F_GETLK read [0,0) on a", fcntl(a, F_GETLK, lk(F_RDLCK, SEEK_SET, 0, 0)));
    show("conflict");
    CHECK("F_SETLK read [0,10) on a", fcntl(a, F_SETLK, lk(F_RDLCK, SEEK_SET, 0, 10)));
    CHECK("F_SETLK read [0,5) on a", fcntl(a, F_SETLK, lk(F_RDLCK, SEEK_SET, 0, 5)));
    CHECK("F_OFD_SETLK write [0,3) on another description", fcntl(ro, F_OFD_SETLK, lk(F_WRLCK, SEEK_SET, 0, 3)));
    CHECK("F_OFD_SETLK read [15,16) on another description", fcntl(ro, F_OFD_SETLK, lk(F_RDLCK, SEEK_SET, 15, 1)));
    CHECK("F_OFD_GETLK read [6,7) on the read-only description", fcntl(ro, F_OFD_GETLK, lk(F_RDLCK, SEEK_SET, 6, 1)));
    show("conflict");
    CHECK("lseek a to 8", lseek(a, 8, SEEK_SET));
    CHECK("F_GETLK write SEEK_CUR+2 len 3 on a", fcntl(a, F_GETLK, lk(F_WRLCK, SEEK_CUR, 2, 3)));
    show("conflict");
    CHECK("F_GETLK write SEEK_END-1 len 1 on a", fcntl(a, F_GETLK, lk(F_WRLCK, SEEK_END, -1, 1)));
    show("conflict");
    CHECK("F_GETLK negative length", fcntl(a, F_GETLK, lk(F_WRLCK, SEEK_SET, 10, -5)));
    show("conflict");
    CHECK("F_GETLK start before 0", fcntl(a, F_GETLK, lk(F_WRLCK, SEEK_SET, -1, 5)));
    CHECK("F_SETLK bad type", fcntl(a, F_SETLK, lk(7, SEEK_SET, 0, 1)));
    CHECK("F_SETLK bad whence", fcntl(a, F_SETLK, lk(F_RDLCK, 9, 0, 1)));
    CHECK("F_SETLK write on a read-only fd", fcntl(ro, F_SETLK, lk(F_WRLCK, SEEK_SET, 30, 1)));
    CHECK("F_SETLKW write [30,31) on a (no conflict)", fcntl(a, F_SETLKW, lk(F_WRLCK, SEEK_SET, 30, 1)));
    CHECK("F_GETLK bad pointer", fcntl(a, F_GETLK, (void *)16));
    CHECK("F_OFD_SETLK unlock all on b", fcntl(b, F_OFD_SETLK, lk(F_UNLCK, SEEK_SET, 0, 0)));
    CHECK("F_OFD_SETLK unlock all on ro", fcntl(ro, F_OFD_SETLK, lk(F_UNLCK, SEEK_SET, 0, 0)));
    CHECK("F_OFD_GETLK write on b", fcntl(b, F_OFD_GETLK, lk(F_WRLCK, SEEK_SET, 0, 0)));
    show("conflict");
    CHECK("close a drops the process's POSIX locks", close(a));
    CHECK("F_OFD_GETLK write on b", fcntl(b, F_OFD_GETLK, lk(F_WRLCK, SEEK_SET, 0, 0)));
    show("answer");

    CHECK("flock LOCK_EX on b", flock(b, LOCK_EX));
    CHECK("flock LOCK_SH|LOCK_NB on ro", flock(ro, LOCK_SH | LOCK_NB));
    CHECK("flock LOCK_SH on b (convert)", flock(b, LOCK_SH));
    CHECK("flock LOCK_SH|LOCK_NB on ro", flock(ro, LOCK_SH | LOCK_NB));
    CHECK("flock LOCK_EX|LOCK_NB on b", flock(b, LOCK_EX | LOCK_NB));
    CHECK("flock LOCK_UN on ro", flock(ro, LOCK_UN));
    CHECK("flock LOCK_EX|LOCK_NB on b", flock(b, LOCK_EX | LOCK_NB));
    CHECK("flock bad operation", flock(b, 77));
    CHECK("flock on a closed fd", flock(99, LOCK_SH));
    return 0;
}
