/* openat2(2): struct open_how size and field checks, and each RESOLVE_* flag,
 * from a directory descriptor inside the empty directory argv[1] (which it
 * fills: sub/, links inside and out of it).  Prints only results that do not
 * depend on where it runs, so mkemu compares with the native x86_64 build. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef SYS_openat2
#define SYS_openat2 437
#endif
#ifndef RESOLVE_CACHED
#define RESOLVE_CACHED 0x20
#endif

static long o2(int dirfd, const char *path, unsigned long long flags, unsigned long long mode,
               unsigned long long resolve) {
    struct open_how how = { .flags = flags, .mode = mode, .resolve = resolve };
    return syscall(SYS_openat2, dirfd, path, &how, sizeof how);
}

/* the result: an error name, or what the descriptor names (its file's first bytes or "dir") */
static void show(const char *label, long fd) {
    if (fd < 0) { printf("%s: %s\n", label, strerrorname_np(errno)); return; }
    struct stat st;
    fstat(fd, &st);
    char buf[32] = "";
    if (S_ISDIR(st.st_mode)) strcpy(buf, "dir");
    else if (S_ISLNK(st.st_mode)) strcpy(buf, "symlink");
    else { ssize_t n = pread(fd, buf, sizeof buf - 1, 0); buf[n > 0 ? n : 0] = 0; if (n < 0) strcpy(buf, strerrorname_np(errno)); }
    char *nl = strchr(buf, '\n');
    if (nl) *nl = 0;
    if (!strncmp(buf, "Name:", 5)) buf[5] = 0;      /* the program's name differs */
    int fl = fcntl(fd, F_GETFD);
    printf("%s: \"%s\" cloexec %d\n", label, buf, fl & FD_CLOEXEC);
    close(fd);
}

static void put(const char *name, const char *text) {
    int fd = open(name, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    write(fd, text, strlen(text));
    close(fd);
}

int main(int argc, char **argv) {
    if (argc < 2 || chdir(argv[1]) < 0) { perror("chdir"); return 2; }
    setvbuf(stdout, NULL, _IOLBF, 0);
    mkdir("sub", 0755);
    mkdir("sub/deeper", 0755);
    put("top", "top file");
    put("sub/inside", "inside file");
    put("sub/deeper/low", "low file");
    symlink("inside", "sub/rel-in");                 /* stays inside sub */
    symlink("../top", "sub/rel-out");                /* leaves sub */
    symlink("/sub/inside", "sub/abs");               /* absolute: relative to the root */
    symlink("deeper/../inside", "sub/rel-dotdot-in");
    symlink("/proc/self/cwd/top", "sub/magic-via");  /* a magic link on the way */
    int sub = open("sub", O_RDONLY | O_DIRECTORY);

    /* struct open_how checks */
    struct { struct open_how how; unsigned long long extra; } big = { { O_RDONLY, 0, 0 }, 0 };
    errno = 0; show("size 24", syscall(SYS_openat2, sub, "inside", &big.how, 24));
    errno = 0; show("size 16", syscall(SYS_openat2, sub, "inside", &big.how, 16));
    errno = 0; show("size 0", syscall(SYS_openat2, sub, "inside", &big.how, 0));
    errno = 0; show("size 32, zero tail", syscall(SYS_openat2, sub, "inside", &big, 32));
    big.extra = 1;
    errno = 0; show("size 32, non-zero tail", syscall(SYS_openat2, sub, "inside", &big, 32));
    errno = 0; show("size 8192", syscall(SYS_openat2, sub, "inside", &big.how, 8192));
    errno = 0; show("how NULL", syscall(SYS_openat2, sub, "inside", NULL, 24));
    show("unknown flag bit 1<<40", o2(sub, "inside", 1ULL << 40, 0, 0));
    show("unknown resolve bit", o2(sub, "inside", O_RDONLY, 0, 0x40));
    show("mode without O_CREAT", o2(sub, "inside", O_RDONLY, 0644, 0));
    show("mode 010000", o2(sub, "new0", O_CREAT | O_WRONLY, 010000, 0));
    show("O_CREAT mode 0600", o2(sub, "new1", O_CREAT | O_WRONLY | O_CLOEXEC, 0600, 0));
    show("BENEATH|IN_ROOT", o2(sub, "inside", O_RDONLY, 0, RESOLVE_BENEATH | RESOLVE_IN_ROOT));
    show("O_PATH|O_RDWR", o2(sub, "inside", O_PATH | O_RDWR, 0, 0));
    show("O_PATH|O_CLOEXEC", o2(sub, "inside", O_PATH | O_CLOEXEC, 0, 0));
    show("O_TMPFILE mode 0", o2(sub, ".", O_TMPFILE | O_RDWR, 0, 0));

    /* no RESOLVE flags: an ordinary openat */
    show("none ../top", o2(sub, "../top", O_RDONLY, 0, 0));
    show("none rel-out", o2(sub, "rel-out", O_RDONLY, 0, 0));
    show("none magic-via", o2(sub, "magic-via", O_RDONLY, 0, 0));

    /* RESOLVE_BENEATH: nothing outside dirfd, no absolute paths or links */
    show("BENEATH inside", o2(sub, "inside", O_RDONLY, 0, RESOLVE_BENEATH));
    show("BENEATH deeper/../inside", o2(sub, "deeper/../inside", O_RDONLY, 0, RESOLVE_BENEATH));
    show("BENEATH ../top", o2(sub, "../top", O_RDONLY, 0, RESOLVE_BENEATH));
    show("BENEATH deeper/../../top", o2(sub, "deeper/../../top", O_RDONLY, 0, RESOLVE_BENEATH));
    show("BENEATH rel-in", o2(sub, "rel-in", O_RDONLY, 0, RESOLVE_BENEATH));
    show("BENEATH rel-dotdot-in", o2(sub, "rel-dotdot-in", O_RDONLY, 0, RESOLVE_BENEATH));
    show("BENEATH rel-out", o2(sub, "rel-out", O_RDONLY, 0, RESOLVE_BENEATH));
    show("BENEATH abs", o2(sub, "abs", O_RDONLY, 0, RESOLVE_BENEATH));
    show("BENEATH /sub/inside", o2(sub, "/sub/inside", O_RDONLY, 0, RESOLVE_BENEATH));
    show("BENEATH magic-via", o2(sub, "magic-via", O_RDONLY, 0, RESOLVE_BENEATH));
    show("BENEATH AT_FDCWD top", o2(AT_FDCWD, "top", O_RDONLY, 0, RESOLVE_BENEATH));
    show("BENEATH AT_FDCWD sub/../../x", o2(AT_FDCWD, "sub/../../x", O_RDONLY, 0, RESOLVE_BENEATH));
    show("BENEATH O_CREAT ../made", o2(sub, "../made", O_CREAT | O_WRONLY, 0600, RESOLVE_BENEATH));
    printf("made outside sub: %d\n", access("made", F_OK) == 0);

    /* RESOLVE_IN_ROOT: dirfd is "/" for '..' and absolute links */
    show("IN_ROOT ../top", o2(sub, "../top", O_RDONLY, 0, RESOLVE_IN_ROOT));
    show("IN_ROOT ../../../inside", o2(sub, "../../../inside", O_RDONLY, 0, RESOLVE_IN_ROOT));
    show("IN_ROOT /inside", o2(sub, "/inside", O_RDONLY, 0, RESOLVE_IN_ROOT));
    show("IN_ROOT rel-out", o2(sub, "rel-out", O_RDONLY, 0, RESOLVE_IN_ROOT));
    show("IN_ROOT abs", o2(sub, "abs", O_RDONLY, 0, RESOLVE_IN_ROOT));
    show("IN_ROOT magic-via", o2(sub, "magic-via", O_RDONLY, 0, RESOLVE_IN_ROOT));
    show("IN_ROOT deeper/low", o2(sub, "deeper/low", O_RDONLY, 0, RESOLVE_IN_ROOT));

    /* RESOLVE_NO_SYMLINKS, RESOLVE_NO_MAGICLINKS, RESOLVE_NO_XDEV, RESOLVE_CACHED */
    show("NO_SYMLINKS inside", o2(sub, "inside", O_RDONLY, 0, RESOLVE_NO_SYMLINKS));
    show("NO_SYMLINKS rel-in", o2(sub, "rel-in", O_RDONLY, 0, RESOLVE_NO_SYMLINKS));
    show("NO_SYMLINKS rel-in O_PATH|O_NOFOLLOW", o2(sub, "rel-in", O_PATH | O_NOFOLLOW, 0, RESOLVE_NO_SYMLINKS));
    show("NO_SYMLINKS ../sub/rel-in", o2(sub, "../sub/rel-in", O_RDONLY, 0, RESOLVE_NO_SYMLINKS));
    show("NO_MAGICLINKS rel-in", o2(sub, "rel-in", O_RDONLY, 0, RESOLVE_NO_MAGICLINKS));
    show("NO_MAGICLINKS magic-via", o2(sub, "magic-via", O_RDONLY, 0, RESOLVE_NO_MAGICLINKS));
    show("NO_MAGICLINKS /proc/self/cwd", o2(AT_FDCWD, "/proc/self/cwd", O_RDONLY | O_DIRECTORY, 0, RESOLVE_NO_MAGICLINKS));
    show("/proc/self/cwd", o2(AT_FDCWD, "/proc/self/cwd", O_RDONLY | O_DIRECTORY, 0, 0));
    char fdpath[64];
    snprintf(fdpath, sizeof fdpath, "/proc/self/fd/%d", sub);
    show("NO_MAGICLINKS /proc/self/fd/N", o2(AT_FDCWD, fdpath, O_RDONLY, 0, RESOLVE_NO_MAGICLINKS));
    show("/proc/self/fd/N", o2(AT_FDCWD, fdpath, O_RDONLY, 0, 0));
    show("NO_SYMLINKS /proc/self/fd/N", o2(AT_FDCWD, fdpath, O_RDONLY, 0, RESOLVE_NO_SYMLINKS));
    show("NO_MAGICLINKS /proc/self/fd/N O_PATH|O_NOFOLLOW", o2(AT_FDCWD, fdpath, O_PATH | O_NOFOLLOW, 0, RESOLVE_NO_MAGICLINKS));
    show("NO_MAGICLINKS /dev/stdin", o2(AT_FDCWD, "/dev/stdin", O_RDONLY, 0, RESOLVE_NO_MAGICLINKS));
    int proc = open("/proc/self", O_RDONLY | O_DIRECTORY);
    show("/proc/self dirfd: BENEATH status", o2(proc, "status", O_RDONLY, 0, RESOLVE_BENEATH));
    show("/proc/self dirfd: BENEATH cwd", o2(proc, "cwd", O_RDONLY, 0, RESOLVE_BENEATH));
    show("/proc/self dirfd: BENEATH ../self/status", o2(proc, "../self/status", O_RDONLY, 0, RESOLVE_BENEATH));
    show("/proc/self dirfd: NO_MAGICLINKS cwd", o2(proc, "cwd", O_RDONLY, 0, RESOLVE_NO_MAGICLINKS));
    close(proc);
    show("NO_XDEV inside", o2(sub, "inside", O_RDONLY, 0, RESOLVE_NO_XDEV));
    show("NO_XDEV /proc/self/status", o2(AT_FDCWD, "/proc/self/status", O_RDONLY, 0, RESOLVE_NO_XDEV));
    show("NO_XDEV /dev/null", o2(AT_FDCWD, "/dev/null", O_RDONLY, 0, RESOLVE_NO_XDEV));
    long c = o2(sub, "inside", O_RDONLY, 0, RESOLVE_CACHED);
    printf("CACHED inside: %s\n", c >= 0 || errno == EAGAIN ? "ok or EAGAIN" : strerrorname_np(errno));
    if (c >= 0) close(c);
    show("CACHED O_CREAT", o2(sub, "new2", O_CREAT | O_WRONLY, 0600, RESOLVE_CACHED));
    show("CACHED O_TRUNC", o2(sub, "inside", O_TRUNC | O_WRONLY, 0, RESOLVE_CACHED));
    return 0;
}
