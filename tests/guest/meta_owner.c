/* Ownership and permission bits as root sets them, in a scratch directory
 * (argv[1], which exists and is empty): chown, fchown, lchown, fchownat with
 * and without AT_SYMLINK_NOFOLLOW, chmod, fchmod, fchmodat, what chown does
 * to setuid/setgid bits, hard links and renames, and what a process that
 * gave up root may no longer do.  Each line shows uid, gid and st_mode as
 * stat, lstat, fstat and statx report them; nothing printed depends on
 * inode numbers or the clock, so the output under mkemu --root-as-user must
 * equal real root's (qemu-aarch64 run as root on the host). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static void show(const char *what, const char *path, int follow) {
    struct stat st;
    int r = follow ? stat(path, &st) : lstat(path, &st);
    if (r)
        printf("%-28s %s\n", what, strerrorname_np(errno));
    else
        printf("%-28s uid %u gid %u mode %o\n", what, st.st_uid, st.st_gid, st.st_mode);
}

static void show_fd(const char *what, int fd) {
    struct stat st;
    struct statx sx;
    if (fstat(fd, &st) || statx(fd, "", AT_EMPTY_PATH, STATX_BASIC_STATS, &sx)) {
        printf("%-28s %s\n", what, strerrorname_np(errno));
        return;
    }
    printf("%-28s fstat uid %u gid %u mode %o, statx uid %u gid %u mode %o\n", what,
           st.st_uid, st.st_gid, st.st_mode, sx.stx_uid, sx.stx_gid, sx.stx_mode);
}

static void result(const char *what, int r) {
    printf("%-28s %s\n", what, r ? strerrorname_np(errno) : "ok");
}

int main(int argc, char **argv) {
    if (argc < 2 || chdir(argv[1])) {
        perror("chdir");
        return 1;
    }
    umask(022);
    int fd = open("f", O_CREAT | O_RDWR | O_TRUNC, 0644);
    show("new file", "f", 1);
    result("chown 123:45", chown("f", 123, 45));
    show("after chown", "f", 1);
    result("chmod 6755", chmod("f", 06755));
    show("after chmod", "f", 1);
    result("chown -1:-1", chown("f", -1, -1));
    show("setid bits cleared", "f", 1);
    chmod("f", 02745);
    result("chown 7:-1", chown("f", 7, -1));
    show("setgid kept without g+x", "f", 1);
    result("fchown 8:9", fchown(fd, 8, 9));
    result("fchmod 640", fchmod(fd, 0640));
    show_fd("fstat and statx", fd);
    result("symlink", symlink("f", "l"));
    result("lchown 11:12", lchown("l", 11, 12));
    show("the link", "l", 0);
    show("its target", "f", 1);
    result("fchownat 13:14", fchownat(AT_FDCWD, "l", 13, 14, 0));
    show("target after fchownat", "f", 1);
    show("link after fchownat", "l", 0);
    result("fchownat nofollow 15:16", fchownat(AT_FDCWD, "l", 15, 16, AT_SYMLINK_NOFOLLOW));
    show("link after nofollow", "l", 0);
    show("target after nofollow", "f", 1);
    result("fchmodat 604", fchmodat(AT_FDCWD, "l", 0604, 0));
    show("target after fchmodat", "f", 1);

    result("mkdir", mkdir("d", 0755));
    result("chown dir 20:21", chown("d", 20, 21));
    result("chmod dir 7755", chmod("d", 07755));
    result("chown dir 22:-1", chown("d", 22, -1));
    show("dir keeps its bits", "d", 1);

    result("chmod 000", chmod("f", 0));
    int rd = open("f", O_RDWR);
    result("root opens a 000 file", rd < 0 ? -1 : 0);
    if (rd >= 0)
        close(rd);
    show("mode 000", "f", 1);

    result("link f h", link("f", "h"));
    result("rename h h2", rename("h", "h2"));
    result("chown h2 30:31", chown("h2", 30, 31));
    show("f, a link of h2", "f", 1);
    result("unlink f", unlink("f"));
    show("h2 after unlink of f", "h2", 1);
    close(fd);

    /* a process that is no longer root */
    chmod("h2", 0644);
    chown("h2", 100, 100);
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        if (setgid(100) || setuid(100)) {
            perror("setuid");
            _exit(1);
        }
        result("user: chown to another uid", chown("h2", 101, -1));
        result("user: chown to its own gid", chown("h2", -1, 100));
        result("user: chown to another gid", chown("h2", -1, 102));
        result("user: chmod own file", chmod("h2", 0600));
        result("user: chmod the dir", chmod("d", 0700));
        result("user: chown the dir", chown("d", 100, 100));
        fflush(stdout);
        _exit(0);
    }
    int status;
    waitpid(pid, &status, 0);
    show("h2 after the user", "h2", 1);
    show("d after the user", "d", 1);
    unlink("h2");
    unlink("l");
    rmdir("d");
    return WEXITSTATUS(status);
}
