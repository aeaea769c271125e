/* The *at() family on names and on descriptors (AT_EMPTY_PATH), faccessat2,
 * fchmodat2, statx, renameat2, O_TMPFILE with linkat, fallocate, statfs and
 * getdents64's d_type.  Runs in the empty directory argv[1]; prints only
 * results that do not depend on where it runs, so the output of the aarch64
 * build under mkemu compares with the x86_64 build run natively (Linux). */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef SYS_fchmodat2
#define SYS_fchmodat2 452
#endif
#ifndef RENAME_WHITEOUT
#define RENAME_WHITEOUT (1 << 2)
#endif

#define CHECK(label, expr) do { errno = 0; long r_ = (long)(expr); \
    printf("%s = %ld%s%s\n", label, r_, r_ < 0 ? " " : "", r_ < 0 ? strerrorname_np(errno) : ""); } while (0)

static const char *kind(mode_t m) {
    return S_ISREG(m) ? "reg" : S_ISDIR(m) ? "dir" : S_ISLNK(m) ? "lnk" : S_ISCHR(m) ? "chr"
         : S_ISFIFO(m) ? "fifo" : S_ISSOCK(m) ? "sock" : "?";
}

static void put(const char *name, const char *text) {
    int fd = open(name, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    write(fd, text, strlen(text));
    close(fd);
}

static void show_file(const char *label, const char *name) {
    char buf[64] = "";
    int fd = open(name, O_RDONLY);
    ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof buf - 1);
    if (fd >= 0) close(fd);
    printf("%s: %s\n", label, n < 0 ? strerrorname_np(errno) : (buf[n > 0 ? n : 0] = 0, buf));
}

static void show_stat(const char *label, int r, struct stat *st) {
    if (r < 0) { printf("%s: %s\n", label, strerrorname_np(errno)); return; }
    printf("%s: %s mode %o size %lld nlink %ld\n", label, kind(st->st_mode), st->st_mode & 07777,
           (long long)st->st_size, (long)st->st_nlink);
}

static void at_empty_path(void) {
    struct stat st;
    put("f", "hello");
    symlink("f", "l");
    symlink("nowhere", "dl");
    mkdir("d", 0755);
    int fd = open("f", O_RDWR);
    int lfd = open("l", O_PATH | O_NOFOLLOW);
    int dfd = open("d", O_RDONLY | O_DIRECTORY);
    show_stat("fstatat(fd, \"\", AT_EMPTY_PATH)", fstatat(fd, "", &st, AT_EMPTY_PATH), &st);
    show_stat("fstatat(AT_FDCWD, \"\", AT_EMPTY_PATH)", fstatat(AT_FDCWD, "", &st, AT_EMPTY_PATH), &st);
    show_stat("fstatat(O_PATH link, \"\", AT_EMPTY_PATH)", fstatat(lfd, "", &st, AT_EMPTY_PATH), &st);
    show_stat("fstatat(fd, \"\", 0)", fstatat(fd, "", &st, 0), &st);
    show_stat("fstatat(file fd, \"x\", 0)", fstatat(fd, "x", &st, 0), &st);
    show_stat("fstatat(dirfd, \"../f\", 0)", fstatat(dfd, "../f", &st, 0), &st);
    show_stat("fstatat(\"l\", NOFOLLOW)", fstatat(AT_FDCWD, "l", &st, AT_SYMLINK_NOFOLLOW), &st);
    show_stat("fstatat(\"dl\")", fstatat(AT_FDCWD, "dl", &st, 0), &st);
    CHECK("fstatat(DONT_SYNC)", fstatat(AT_FDCWD, "f", &st, AT_STATX_DONT_SYNC));
    CHECK("fstatat bad flag", fstatat(AT_FDCWD, "f", &st, 0x8000));
    char buf[32] = "";
    CHECK("readlinkat(O_PATH link, \"\")", readlinkat(lfd, "", buf, sizeof buf));
    printf("  target %s\n", buf);
    CHECK("readlinkat(file fd, \"\")", readlinkat(fd, "", buf, sizeof buf));
    CHECK("fchownat(fd, \"\", AT_EMPTY_PATH)", fchownat(fd, "", getuid(), getgid(), AT_EMPTY_PATH));
    CHECK("fchownat(link fd, \"\", AT_EMPTY_PATH)", fchownat(lfd, "", getuid(), getgid(), AT_EMPTY_PATH));
    CHECK("fchownat(fd, \"\", 0)", fchownat(fd, "", getuid(), getgid(), 0));
    CHECK("fchownat(\"dl\", NOFOLLOW)", fchownat(AT_FDCWD, "dl", getuid(), getgid(), AT_SYMLINK_NOFOLLOW));
    CHECK("fchownat(\"dl\")", fchownat(AT_FDCWD, "dl", getuid(), getgid(), 0));
    CHECK("fchownat bad flag", fchownat(AT_FDCWD, "f", getuid(), getgid(), 0x200));
    CHECK("linkat(fd, \"\", \"f2\", AT_EMPTY_PATH)", linkat(fd, "", AT_FDCWD, "f2", AT_EMPTY_PATH));
    show_stat("  f2", stat("f2", &st), &st);
    CHECK("linkat(dirfd, \"\", \"d2\", AT_EMPTY_PATH)", linkat(dfd, "", AT_FDCWD, "d2", AT_EMPTY_PATH));
    CHECK("linkat(fd, \"\", \"f3\", 0)", linkat(fd, "", AT_FDCWD, "f3", 0));
    CHECK("linkat(\"l\", \"l2\", 0)", linkat(AT_FDCWD, "l", AT_FDCWD, "l2", 0));
    show_stat("  l2", lstat("l2", &st), &st);
    CHECK("linkat(\"l\", \"l3\", FOLLOW)", linkat(AT_FDCWD, "l", AT_FDCWD, "l3", AT_SYMLINK_FOLLOW));
    show_stat("  l3", lstat("l3", &st), &st);
    CHECK("linkat(\"dl\", \"dl2\", FOLLOW)", linkat(AT_FDCWD, "dl", AT_FDCWD, "dl2", AT_SYMLINK_FOLLOW));
    CHECK("linkat(\"f\", \"f2\") exists", linkat(AT_FDCWD, "f", AT_FDCWD, "f2", 0));
    CHECK("linkat bad flag", linkat(AT_FDCWD, "f", AT_FDCWD, "f9", 0x100));
    CHECK("utimensat(fd, NULL)", utimensat(fd, NULL, NULL, 0));
    CHECK("unlinkat(dirfd, \"../f3\")", unlinkat(dfd, "../f3", 0));
    CHECK("mkdirat(dirfd, \"sub\")", mkdirat(dfd, "sub", 0700));
    CHECK("unlinkat(AT_REMOVEDIR, \"d/sub\")", unlinkat(AT_FDCWD, "d/sub", AT_REMOVEDIR));
    CHECK("unlinkat(\"d\") no REMOVEDIR", unlinkat(AT_FDCWD, "d", 0));
    CHECK("mkdirat(file fd, \"x\")", mkdirat(fd, "x", 0700));
    close(fd);
    close(lfd);
    close(dfd);
}

static void access_calls(void) {
    int fd = open("f", O_RDONLY);
    chmod("f", 0644);
    CHECK("faccessat2(\"f\", R_OK|W_OK, AT_EACCESS)", syscall(SYS_faccessat2, AT_FDCWD, "f", R_OK | W_OK, AT_EACCESS));
    CHECK("faccessat2(\"f\", X_OK, 0)", syscall(SYS_faccessat2, AT_FDCWD, "f", X_OK, 0));
    CHECK("faccessat2(\"dl\", F_OK, NOFOLLOW)", syscall(SYS_faccessat2, AT_FDCWD, "dl", F_OK, AT_SYMLINK_NOFOLLOW));
    CHECK("faccessat2(\"dl\", F_OK, 0)", syscall(SYS_faccessat2, AT_FDCWD, "dl", F_OK, 0));
    CHECK("faccessat2(fd, \"\", R_OK, AT_EMPTY_PATH)", syscall(SYS_faccessat2, fd, "", R_OK, AT_EMPTY_PATH));
    CHECK("faccessat2(fd, \"\", R_OK, 0)", syscall(SYS_faccessat2, fd, "", R_OK, 0));
    CHECK("faccessat2 mode 8", syscall(SYS_faccessat2, AT_FDCWD, "f", 8, 0));
    CHECK("faccessat2 bad flag", syscall(SYS_faccessat2, AT_FDCWD, "f", R_OK, 0x400));
    CHECK("faccessat(\"d/\", X_OK)", syscall(SYS_faccessat, AT_FDCWD, "d/", X_OK));
    CHECK("faccessat(\"f/\", F_OK)", syscall(SYS_faccessat, AT_FDCWD, "f/", F_OK));
    close(fd);
}

static void chmod_calls(void) {
    struct stat st;
    int fd = open("f", O_RDONLY);
    int pfd = open("f", O_PATH);
    CHECK("fchmodat2(\"f\", 0600, 0)", syscall(SYS_fchmodat2, AT_FDCWD, "f", 0600, 0));
    show_stat("  f", stat("f", &st), &st);
    CHECK("fchmodat2(\"f\", 0640, NOFOLLOW)", syscall(SYS_fchmodat2, AT_FDCWD, "f", 0640, AT_SYMLINK_NOFOLLOW));
    show_stat("  f", stat("f", &st), &st);
    CHECK("fchmodat2(\"l\", 0600, NOFOLLOW)", syscall(SYS_fchmodat2, AT_FDCWD, "l", 0600, AT_SYMLINK_NOFOLLOW));
    CHECK("fchmodat2(\"l\", 0604, 0)", syscall(SYS_fchmodat2, AT_FDCWD, "l", 0604, 0));
    show_stat("  f", stat("f", &st), &st);
    CHECK("fchmodat2(fd, \"\", 0644, AT_EMPTY_PATH)", syscall(SYS_fchmodat2, fd, "", 0644, AT_EMPTY_PATH));
    CHECK("fchmodat2(O_PATH fd, \"\", 0444, AT_EMPTY_PATH)", syscall(SYS_fchmodat2, pfd, "", 0444, AT_EMPTY_PATH));
    show_stat("  f", stat("f", &st), &st);
    CHECK("fchmodat2(fd, \"\", 0644, 0)", syscall(SYS_fchmodat2, fd, "", 0644, 0));
    CHECK("fchmodat2 bad flag", syscall(SYS_fchmodat2, AT_FDCWD, "f", 0644, 0x400));
    CHECK("fchmodat2(\"dl\", NOFOLLOW)", syscall(SYS_fchmodat2, AT_FDCWD, "dl", 0644, AT_SYMLINK_NOFOLLOW));
    CHECK("fchmodat2(\"dl\", 0)", syscall(SYS_fchmodat2, AT_FDCWD, "dl", 0644, 0));
    CHECK("fchmod(O_PATH fd)", fchmod(pfd, 0644));
    CHECK("fchmodat(\"f\", 07777 bits)", syscall(SYS_fchmodat, AT_FDCWD, "f", 0100644));
    show_stat("  f", stat("f", &st), &st);
    close(fd);
    close(pfd);
}

static void statx_calls(void) {
    struct statx sx;
    int fd = open("f", O_RDONLY);
#define SX(label, expr) do { memset(&sx, 0xee, sizeof sx); errno = 0; int r_ = (expr); \
    if (r_ < 0) printf("%s: %s\n", label, strerrorname_np(errno)); \
    else printf("%s: mask basic %d %s mode %o size %llu nlink %u ino-same %d\n", label, \
                (sx.stx_mask & STATX_BASIC_STATS) == STATX_BASIC_STATS, kind(sx.stx_mode), \
                sx.stx_mode & 07777, (unsigned long long)sx.stx_size, sx.stx_nlink, \
                sx.stx_ino == ino); } while (0)
    struct stat st;
    stat("f", &st);
    unsigned long long ino = st.st_ino;
    SX("statx(\"f\")", statx(AT_FDCWD, "f", 0, STATX_BASIC_STATS, &sx));
    SX("statx(\"l\", NOFOLLOW)", statx(AT_FDCWD, "l", AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS, &sx));
    SX("statx(\"l\")", statx(AT_FDCWD, "l", 0, STATX_BASIC_STATS, &sx));
    SX("statx(fd, \"\", AT_EMPTY_PATH)", statx(fd, "", AT_EMPTY_PATH, STATX_BASIC_STATS, &sx));
    SX("statx(fd, NULL, AT_EMPTY_PATH)", statx(fd, NULL, AT_EMPTY_PATH, STATX_BASIC_STATS, &sx));
    SX("statx(fd, \"\", 0)", statx(fd, "", 0, STATX_BASIC_STATS, &sx));
    SX("statx FORCE|DONT_SYNC", statx(AT_FDCWD, "f", AT_STATX_FORCE_SYNC | AT_STATX_DONT_SYNC, STATX_BASIC_STATS, &sx));
    SX("statx STATX__RESERVED", statx(AT_FDCWD, "f", 0, 0x80000000u, &sx));
    SX("statx bad flag", statx(AT_FDCWD, "f", 0x10000, STATX_BASIC_STATS, &sx));
    SX("statx(\"nothing\")", statx(AT_FDCWD, "nothing", 0, STATX_BASIC_STATS, &sx));
    SX("statx mask 0", statx(AT_FDCWD, "f", 0, 0, &sx));
    SX("statx DONT_SYNC", statx(AT_FDCWD, "f", AT_STATX_DONT_SYNC, STATX_ALL, &sx));
    printf("  btime wanted: mask has STATX_BTIME or not, either is Linux\n");
    close(fd);
}

static void rename_calls(void) {
    put("a", "A");
    put("b", "B");
    CHECK("renameat2(a, b, NOREPLACE)", renameat2(AT_FDCWD, "a", AT_FDCWD, "b", RENAME_NOREPLACE));
    CHECK("renameat2(a, c, NOREPLACE)", renameat2(AT_FDCWD, "a", AT_FDCWD, "c", RENAME_NOREPLACE));
    CHECK("renameat2(c, b, EXCHANGE)", renameat2(AT_FDCWD, "c", AT_FDCWD, "b", RENAME_EXCHANGE));
    show_file("  c", "c");
    show_file("  b", "b");
    CHECK("renameat2(c, nothing, EXCHANGE)", renameat2(AT_FDCWD, "c", AT_FDCWD, "nothing", RENAME_EXCHANGE));
    CHECK("renameat2(c, d, EXCHANGE) file<->dir", renameat2(AT_FDCWD, "c", AT_FDCWD, "d", RENAME_EXCHANGE));
    struct stat st;
    show_stat("  c", lstat("c", &st), &st);
    renameat2(AT_FDCWD, "c", AT_FDCWD, "d", RENAME_EXCHANGE);
    CHECK("renameat2 EXCHANGE|NOREPLACE", renameat2(AT_FDCWD, "c", AT_FDCWD, "b", RENAME_EXCHANGE | RENAME_NOREPLACE));
    CHECK("renameat2 EXCHANGE|WHITEOUT", renameat2(AT_FDCWD, "c", AT_FDCWD, "b", RENAME_EXCHANGE | RENAME_WHITEOUT));
    CHECK("renameat2 bad flag", renameat2(AT_FDCWD, "c", AT_FDCWD, "b", 8));
    CHECK("renameat2(d, d/x) into itself", renameat2(AT_FDCWD, "d", AT_FDCWD, "d/x", 0));
    CHECK("renameat2(c, c) same", renameat2(AT_FDCWD, "c", AT_FDCWD, "c", 0));
    CHECK("renameat2(c, f/x)", renameat2(AT_FDCWD, "c", AT_FDCWD, "f/x", 0));
    errno = 0;
    int r = renameat2(AT_FDCWD, "c", AT_FDCWD, "w", RENAME_WHITEOUT);
    printf("renameat2(c, w, WHITEOUT) = %d %s\n", r, r < 0 ? strerrorname_np(errno) : "");
    if (r == 0) {
        show_stat("  c (the whiteout)", lstat("c", &st), &st);
        printf("  whiteout rdev 0: %d\n", st.st_rdev == 0);
        unlink("c");
        rename("w", "c");
    }
}

static void tmpfile_calls(void) {
    struct stat st;
    int t1 = open(".", O_TMPFILE | O_RDWR, 0600);
    CHECK("O_TMPFILE", t1 >= 0);
    write(t1, "tmp1", 4);
    fstat(t1, &st);
    printf("  nlink %ld mode %o\n", (long)st.st_nlink, st.st_mode & 07777);
    CHECK("linkat(tmp, \"\", AT_EMPTY_PATH)", linkat(t1, "", AT_FDCWD, "tmp1", AT_EMPTY_PATH));
    show_file("  tmp1", "tmp1");
    int t2 = open(".", O_TMPFILE | O_WRONLY, 0600);
    write(t2, "tmp2", 4);
    char path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", t2);
    CHECK("linkat(/proc/self/fd/N, FOLLOW)", linkat(AT_FDCWD, path, AT_FDCWD, "tmp2", AT_SYMLINK_FOLLOW));
    show_file("  tmp2", "tmp2");
    int t3 = open(".", O_TMPFILE | O_RDWR | O_EXCL, 0600);
    snprintf(path, sizeof path, "/proc/self/fd/%d", t3);
    CHECK("linkat(O_EXCL tmpfile, FOLLOW)", linkat(AT_FDCWD, path, AT_FDCWD, "tmp3", AT_SYMLINK_FOLLOW));
    CHECK("linkat(O_EXCL tmpfile, AT_EMPTY_PATH)", linkat(t3, "", AT_FDCWD, "tmp3", AT_EMPTY_PATH));
    CHECK("linkat(/proc/self/fd/N, 0)", linkat(AT_FDCWD, path, AT_FDCWD, "tmp4", 0));
    struct stat l4;
    show_stat("  tmp4", lstat("tmp4", &l4), &l4);
    unlink("tmp4");
    CHECK("O_TMPFILE|O_RDONLY", open(".", O_TMPFILE | O_RDONLY, 0600));
    CHECK("O_TMPFILE on a file", open("f", O_TMPFILE | O_RDWR, 0600));
    CHECK("O_TMPFILE on nothing", open("nothing", O_TMPFILE | O_RDWR, 0600));
    CHECK("O_TMPFILE|O_CREAT", open(".", O_TMPFILE | O_CREAT | O_RDWR, 0600));
    close(t1);
    close(t2);
    close(t3);
}

static void fallocate_calls(void) {
    struct stat st;
    int fd = open("fa", O_RDWR | O_CREAT | O_TRUNC, 0644);
    char buf[16384];
    memset(buf, 'x', sizeof buf);
    write(fd, buf, sizeof buf);
    CHECK("fallocate(0, 0, 20000)", fallocate(fd, 0, 0, 20000));
    fstat(fd, &st);
    printf("  size %lld\n", (long long)st.st_size);
    CHECK("fallocate(KEEP_SIZE, 0, 90000)", fallocate(fd, FALLOC_FL_KEEP_SIZE, 0, 90000));
    fstat(fd, &st);
    printf("  size %lld blocks grew %d\n", (long long)st.st_size, st.st_blocks * 512 >= 90000);
    CHECK("fallocate(PUNCH_HOLE) alone", fallocate(fd, FALLOC_FL_PUNCH_HOLE, 4096, 4096));
    CHECK("fallocate(PUNCH_HOLE|KEEP_SIZE)", fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 4096, 4096));
    char in_hole[2] = "??", after = '?';
    pread(fd, in_hole, 1, 4096);
    pread(fd, in_hole + 1, 1, 8191);
    pread(fd, &after, 1, 8192);
    printf("  hole reads %d %d, after it %c\n", in_hole[0], in_hole[1], after);
    fstat(fd, &st);
    printf("  size %lld\n", (long long)st.st_size);
    CHECK("fallocate(ZERO_RANGE)", fallocate(fd, FALLOC_FL_ZERO_RANGE, 0, 10));
    CHECK("fallocate bad mode", fallocate(fd, 0x1000, 0, 10));
    CHECK("fallocate len 0", fallocate(fd, 0, 0, 0));
    CHECK("fallocate offset -1", fallocate(fd, 0, -1, 10));
    int ro = open("fa", O_RDONLY);
    CHECK("fallocate on O_RDONLY", fallocate(ro, 0, 0, 10));
    int p[2];
    pipe(p);
    CHECK("fallocate on a pipe", fallocate(p[1], 0, 0, 10));
    CHECK("fallocate on a dir", fallocate(open(".", O_RDONLY), 0, 0, 10));
    close(p[0]);
    close(p[1]);
    close(ro);
    close(fd);
}

static void statfs_calls(void) {
    struct statfs a, b;
    int fd = open("f", O_RDONLY);
    CHECK("statfs(\".\")", statfs(".", &a));
    CHECK("fstatfs(fd)", fstatfs(fd, &b));
    printf("  same f_type %d f_bsize>0 %d namelen %ld\n", a.f_type == b.f_type, a.f_bsize > 0, (long)a.f_namelen);
    CHECK("statfs(\"/proc\")", statfs("/proc", &a));
    printf("  proc magic %d\n", a.f_type == 0x9fa0);
    int proc = open("/proc", O_RDONLY | O_DIRECTORY);
    CHECK("fstatfs(/proc fd)", fstatfs(proc, &a));
    printf("  proc magic %d\n", a.f_type == 0x9fa0);
    close(proc);
    CHECK("statfs(\"/proc/self/status\")", statfs("/proc/self/status", &a));
    printf("  proc magic %d\n", a.f_type == 0x9fa0);
    CHECK("statfs(\"/dev/null\")", statfs("/dev/null", &b));
    CHECK("statfs(\"nothing\")", statfs("nothing", &a));
    CHECK("fstatfs(-1)", fstatfs(-1, &a));
    close(fd);
}

static char type_char(unsigned char t) {
    return t == DT_REG ? 'f' : t == DT_DIR ? 'd' : t == DT_LNK ? 'l' : t == DT_CHR ? 'c'
         : t == DT_FIFO ? 'p' : t == DT_SOCK ? 's' : t == DT_BLK ? 'b' : '?';
}

/* the d_type of each name asked for, as getdents64 (readdir) gives it */
static void dtypes(const char *prefix, const char *dir, const char *names[]) {
    DIR *d = opendir(dir);
    if (!d) { printf("%s%s: %s\n", prefix, dir, strerrorname_np(errno)); return; }
    char seen[16] = "";
    struct dirent *e;
    while ((e = readdir(d)))
        for (int i = 0; names[i]; i++)
            if (!strcmp(e->d_name, names[i])) seen[i] = type_char(e->d_type);
    closedir(d);
    printf("%s%s:", prefix, dir);
    for (int i = 0; names[i]; i++) printf(" %s=%c", names[i], seen[i] ? seen[i] : '-');
    printf("\n");
}

static void dirent_calls(void) {
    mkfifo("fifo", 0600);
    const char *here[] = {".", "..", "f", "l", "dl", "d", "fifo", "nothing", NULL};
    dtypes("", ".", here);
    const char *dev[] = {"null", "zero", "urandom", "tty", "fd", "stdin", "pts", NULL};
    dtypes("", "/dev", dev);
    const char *proc[] = {"self", "thread-self", "cpuinfo", "meminfo", "sys", NULL};
    dtypes("", "/proc", proc);
    const char *self[] = {"exe", "cwd", "root", "fd", "fdinfo", "status", "maps", "task", NULL};
    dtypes("", "/proc/self", self);
    const char *fds[] = {"0", "1", "2", NULL};
    dtypes("", "/proc/self/fd", fds);
    int fd = open(".", O_RDONLY | O_DIRECTORY);
    char buf[64];
    CHECK("getdents64 too small a buffer", syscall(SYS_getdents64, fd, buf, 8));
    CHECK("getdents64 on a file", syscall(SYS_getdents64, open("f", O_RDONLY), buf, sizeof buf));
    close(fd);
}

int main(int argc, char **argv) {
    if (argc < 2 || chdir(argv[1]) < 0) { perror("chdir"); return 2; }
    setvbuf(stdout, NULL, _IOLBF, 0);
    umask(022);
    at_empty_path();
    access_calls();
    chmod_calls();
    statx_calls();
    rename_calls();
    tmpfile_calls();
    fallocate_calls();
    statfs_calls();
    dirent_calls();
    return 0;
}
