/* Tries to reach a host file outside the rootfs through the file calls.
 *
 *   files_escape WORKDIR HOSTDIR
 *
 * WORKDIR is an empty guest directory holding links the test planted:
 * abs-link -> HOSTDIR/canary, dir-link -> HOSTDIR, dotdot-link -> ../../..
 * (many) HOSTDIR/canary.  HOSTDIR is the host directory (outside the rootfs)
 * that holds "canary".  Every attempt prints what it got: an error name, or
 * the bytes it read; the test checks that no attempt read the canary and that
 * nothing in HOSTDIR changed or appeared. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/xattr.h>
#include <unistd.h>

static char host_dir[512], canary[600], up[600], up_canary[1200];

static void got_fd(const char *label, int fd) {
    if (fd < 0) { printf("%s: %s\n", label, strerrorname_np(errno)); return; }
    char buf[128] = "";
    ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
    if (n < 0) {
        struct stat st;
        fstat(fd, &st);
        printf("%s: opened a %s\n", label, S_ISDIR(st.st_mode) ? "directory" : "file it cannot read");
    } else {
        buf[n] = 0;
        printf("%s: read \"%s\"\n", label, buf);
    }
    close(fd);
}

static void got(const char *label, long r) {
    printf("%s: %s\n", label, r < 0 ? strerrorname_np(errno) : "0");
}

static void try_open(const char *label, const char *path) { got_fd(label, open(path, O_RDONLY)); }

static long o2(int dirfd, const char *path, int flags, unsigned long long resolve) {
    struct open_how how = { .flags = flags, .mode = flags & O_CREAT ? 0600 : 0, .resolve = resolve };
    return syscall(SYS_openat2, dirfd, path, &how, sizeof how);
}

static char *cat(char *out, const char *a, const char *b) {
    snprintf(out, 1400, "%s%s", a, b);
    return out;
}

int main(int argc, char **argv) {
    if (argc < 3 || chdir(argv[1]) < 0) { perror("chdir"); return 2; }
    setvbuf(stdout, NULL, _IOLBF, 0);
    snprintf(host_dir, sizeof host_dir, "%s", argv[2]);
    snprintf(canary, sizeof canary, "%s/canary", host_dir);
    for (int i = 0; i < 40; i++) strcat(up, "../");
    snprintf(up_canary, sizeof up_canary, "%s%s", up, canary + 1);
    char p[1400], q[1400];

    /* plain paths and '..' chains */
    try_open("absolute", canary);
    try_open("dotdot chain", up_canary);
    try_open("root dotdot", cat(p, "/../../..", canary));
    int here = open(".", O_RDONLY | O_DIRECTORY);
    got_fd("openat dirfd dotdot", openat(here, up_canary, O_RDONLY));
    got_fd("openat2 none dotdot", o2(here, up_canary, O_RDONLY, 0));
    got_fd("openat2 BENEATH dotdot", o2(here, up_canary, O_RDONLY, RESOLVE_BENEATH));
    got_fd("openat2 IN_ROOT dotdot", o2(here, up_canary, O_RDONLY, RESOLVE_IN_ROOT));
    got_fd("openat2 IN_ROOT absolute", o2(here, canary, O_RDONLY, RESOLVE_IN_ROOT));
    got_fd("openat2 BENEATH abs-link", o2(here, "abs-link", O_RDONLY, RESOLVE_BENEATH));
    got_fd("openat2 IN_ROOT abs-link", o2(here, "abs-link", O_RDONLY, RESOLVE_IN_ROOT));
    got_fd("openat2 none dir-link/canary", o2(here, "dir-link/canary", O_RDONLY, 0));

    /* the planted links */
    try_open("abs-link", "abs-link");
    try_open("dotdot-link", "dotdot-link");
    try_open("dir-link/canary", "dir-link/canary");
    char target[600] = "";
    ssize_t n = readlink("abs-link", target, sizeof target - 1);
    printf("readlink abs-link gives its text: %d\n", n > 0);
    /* links the guest makes itself */
    got("symlinkat to the canary", symlinkat(canary, here, "my-link"));
    try_open("my-link", "my-link");
    got("symlinkat dotdot", symlinkat(up_canary, here, "my-dotdot"));
    try_open("my-dotdot", "my-dotdot");

    /* through /proc's magic links */
    try_open("/proc/self/root/..", cat(p, "/proc/self/root/../../..", canary));
    try_open("/proc/self/cwd/..", cat(p, "/proc/self/cwd/", up_canary));
    snprintf(q, sizeof q, "/proc/self/fd/%d/", here);
    try_open("/proc/self/fd/N/..", cat(p, q, up_canary));
    int proc = open("/proc/self", O_RDONLY | O_DIRECTORY);
    got_fd("openat /proc/self root/..", openat(proc, cat(p, "root/", up_canary), O_RDONLY));
    got_fd("openat2 /proc/self BENEATH root/..", o2(proc, cat(p, "root/", up_canary), O_RDONLY, RESOLVE_BENEATH));
    got_fd("openat2 /proc/self IN_ROOT cwd", o2(proc, "cwd", O_RDONLY | O_DIRECTORY, RESOLVE_IN_ROOT));
    close(proc);
    int dirlinkfd = open("dir-link", O_RDONLY | O_DIRECTORY);
    got_fd("dir-link as a dirfd: canary", openat(dirlinkfd, "canary", O_RDONLY));
    got_fd("openat2 BENEATH from dir-link's fd", o2(dirlinkfd, "canary", O_RDONLY, RESOLVE_BENEATH));
    got("chdir dir-link", chdir("dir-link"));
    try_open("after chdir dir-link: canary", "canary");
    chdir(argv[1]);

    /* changing things outside */
    got("linkat absolute", linkat(AT_FDCWD, canary, AT_FDCWD, "stolen1", 0));
    got("linkat dotdot FOLLOW", linkat(AT_FDCWD, up_canary, AT_FDCWD, "stolen2", AT_SYMLINK_FOLLOW));
    got("linkat abs-link FOLLOW", linkat(AT_FDCWD, "abs-link", AT_FDCWD, "stolen3", AT_SYMLINK_FOLLOW));
    try_open("stolen3", "stolen3");
    got("linkat into the host dir", linkat(AT_FDCWD, "abs-link", AT_FDCWD, cat(p, up, host_dir + 1), 0));
    int mine = open("mine", O_WRONLY | O_CREAT, 0644);
    write(mine, "guest", 5);
    close(mine);
    got("renameat2 EXCHANGE absolute", renameat2(AT_FDCWD, "mine", AT_FDCWD, canary, RENAME_EXCHANGE));
    got("renameat2 EXCHANGE dotdot", renameat2(AT_FDCWD, "mine", AT_FDCWD, up_canary, RENAME_EXCHANGE));
    got("renameat2 EXCHANGE dir-link/canary", renameat2(AT_FDCWD, "mine", AT_FDCWD, "dir-link/canary", RENAME_EXCHANGE));
    got("rename onto dir-link/canary", rename("mine", "dir-link/canary"));
    try_open("mine after", "mine");
    got("rename dir-link/canary here", rename("dir-link/canary", "taken"));
    got("unlink dir-link/canary", unlink("dir-link/canary"));
    got("unlink dotdot", unlink(up_canary));
    got("truncate dotdot", truncate(up_canary, 0));
    got("truncate abs-link", truncate("abs-link", 0));
    got("chmod abs-link", chmod("abs-link", 0777));
    got("fchmodat2 dotdot", syscall(452, AT_FDCWD, up_canary, 0777, 0));
    got("chown dir-link/canary", chown("dir-link/canary", 1, 1));
    got("utimes abs-link", utimes("abs-link", NULL));
    got("setxattr abs-link", setxattr("abs-link", "user.x", "1", 1, 0));
    got_fd("O_CREAT dir-link/new", open("dir-link/new", O_WRONLY | O_CREAT, 0644));
    got_fd("O_CREAT dotdot host dir new", open(cat(p, up, cat(q, host_dir + 1, "/new2")), O_WRONLY | O_CREAT, 0644));
    got_fd("O_TRUNC abs-link", open("abs-link", O_WRONLY | O_TRUNC));
    got("mkdir dir-link/sub", mkdir("dir-link/sub", 0755));
    got("symlink into dir-link", symlink("x", "dir-link/planted"));
    got("mknod fifo in dir-link", mkfifo("dir-link/fifo", 0644));

    /* O_TMPFILE in '/..' and in the host dir, then linked */
    int t1 = open("/..", O_TMPFILE | O_RDWR, 0600);
    printf("O_TMPFILE in /..: %s\n", t1 < 0 ? strerrorname_np(errno) : "made (in the guest's /)");
    if (t1 >= 0) close(t1);
    int t2 = open(cat(p, up, host_dir + 1), O_TMPFILE | O_RDWR, 0600);
    printf("O_TMPFILE in the host dir by dotdot: %s\n", t2 < 0 ? strerrorname_np(errno) : "made");
    int t3 = open("dir-link", O_TMPFILE | O_RDWR, 0600);
    printf("O_TMPFILE in dir-link: %s\n", t3 < 0 ? strerrorname_np(errno) : "made");
    if (t3 >= 0) {
        write(t3, "tmp", 3);
        got("linkat it into dir-link", linkat(t3, "", AT_FDCWD, "dir-link/from-tmp", AT_EMPTY_PATH));
        got("linkat it here", linkat(t3, "", AT_FDCWD, "from-tmp", AT_EMPTY_PATH));
        close(t3);
    }

    /* other calls that take a path */
    struct stat st;
    got("stat absolute", stat(canary, &st));
    got("stat dir-link/canary", stat("dir-link/canary", &st));
    got("access abs-link", access("abs-link", F_OK));
    int in = inotify_init1(IN_CLOEXEC);
    got("inotify_add_watch dir-link", inotify_add_watch(in, "dir-link", IN_ALL_EVENTS));
    got("inotify_add_watch dotdot", inotify_add_watch(in, up_canary, IN_ALL_EVENTS));
    close(in);
    char list[256];
    got("listxattr abs-link", listxattr("abs-link", list, sizeof list));

    /* AF_UNIX names with '..' chains and through the links */
    int s = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un a = { .sun_family = AF_UNIX };
    snprintf(a.sun_path, sizeof a.sun_path, "../../../../../../../..%s/made.sock", host_dir);
    got("bind dotdot into the host dir", bind(s, (struct sockaddr *)&a, sizeof a));
    close(s);
    s = socket(AF_UNIX, SOCK_STREAM, 0);
    snprintf(a.sun_path, sizeof a.sun_path, "dir-link/made2.sock");
    got("bind into dir-link", bind(s, (struct sockaddr *)&a, sizeof a));
    close(s);
    s = socket(AF_UNIX, SOCK_STREAM, 0);
    snprintf(a.sun_path, sizeof a.sun_path, "../../../../../../../..%s/host.sock", host_dir);
    got("connect dotdot to the host's socket", connect(s, (struct sockaddr *)&a, sizeof a));
    close(s);
    s = socket(AF_UNIX, SOCK_STREAM, 0);
    snprintf(a.sun_path, sizeof a.sun_path, "dir-link/host.sock");
    got("connect dir-link/host.sock", connect(s, (struct sockaddr *)&a, sizeof a));
    close(s);
    printf("done\n");
    return 0;
}
