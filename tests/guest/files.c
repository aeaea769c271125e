/* File system calls in a scratch directory (argv[1], created and removed),
 * each with its result printed; nothing printed depends on the directory's
 * name, inode numbers or the clock, so mkemu's output must equal qemu's. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#define CHECK(label, expr) do { long r_ = (long)(expr); \
    printf("%s = %ld%s%s\n", label, r_, r_ < 0 ? " " : "", r_ < 0 ? strerrorname_np(errno) : ""); } while (0)

struct linux_dirent64 { unsigned long d_ino; long d_off; unsigned short d_reclen; unsigned char d_type; char d_name[]; };

static int cmp(const void *a, const void *b) { return strcmp(*(char **)a, *(char **)b); }

static void list_dir(const char *label, int dfd) {
    char buf[4096], *names[64];
    int n = 0;
    lseek(dfd, 0, SEEK_SET);
    for (;;) {
        long len = syscall(SYS_getdents64, dfd, buf, sizeof buf);
        if (len <= 0) break;
        for (long off = 0; off < len;) {
            struct linux_dirent64 *d = (void *)(buf + off);
            if (n < 64) {
                char *s = malloc(300);
                snprintf(s, 300, "%s:%c", d->d_name,
                         d->d_type == DT_DIR ? 'd' : d->d_type == DT_LNK ? 'l' : d->d_type == DT_REG ? 'f' : '?');
                names[n++] = s;
            }
            off += d->d_reclen;
        }
    }
    qsort(names, n, sizeof *names, cmp);
    printf("%s:", label);
    for (int i = 0; i < n; i++) { printf(" %s", names[i]); free(names[i]); }
    printf("\n");
}

int main(int argc, char **argv) {
    const char *dir = argc > 1 ? argv[1] : "/tmp/files-test";
    CHECK("mkdirat", mkdirat(AT_FDCWD, dir, 0755));
    CHECK("mkdirat again", mkdirat(AT_FDCWD, dir, 0755));
    CHECK("chdir", chdir(dir));
    char cwd[512];
    const char *base = strrchr(dir, '/') ? strrchr(dir, '/') + 1 : dir;
    printf("getcwd ends with dir name: %d\n",
           getcwd(cwd, sizeof cwd) && strcmp(cwd + strlen(cwd) - strlen(base), base) == 0);
    int dfd = open(".", O_RDONLY | O_DIRECTORY);
    printf("open dir: %d\n", dfd >= 0);

    int fd = openat(dfd, "a.txt", O_CREAT | O_RDWR | O_TRUNC, 0640);
    printf("openat create: %d\n", fd >= 0);
    CHECK("openat O_EXCL existing", openat(dfd, "a.txt", O_CREAT | O_EXCL | O_RDWR, 0640));
    CHECK("openat missing", openat(dfd, "missing", O_RDONLY));
    CHECK("write", write(fd, "hello world\n", 12));
    struct iovec wv[3] = {{"vec1 ", 5}, {"", 0}, {"vec2\n", 5}};
    CHECK("writev", writev(fd, wv, 3));
    CHECK("pwrite", pwrite(fd, "HELLO", 5, 0));
    CHECK("lseek cur", lseek(fd, 0, SEEK_CUR));
    char buf[128] = {0};
    CHECK("pread", pread(fd, buf, 100, 0));
    printf("pread data: %s", buf);
    CHECK("lseek set 6", lseek(fd, 6, SEEK_SET));
    char a[4] = {0}, b[6] = {0};
    struct iovec rv[2] = {{a, 3}, {b, 5}};
    CHECK("readv", readv(fd, rv, 2));
    printf("readv data: [%s][%s]\n", a, b);
    CHECK("lseek end", lseek(fd, 0, SEEK_END));
    CHECK("lseek hole", lseek(fd, 100, SEEK_END));
    CHECK("write after hole", write(fd, "!", 1));
    CHECK("lseek bad whence", lseek(fd, 0, 42));

    struct stat st;
    CHECK("fstat", fstat(fd, &st));
    printf("size=%ld mode=%o nlink=%ld reg=%d\n", (long)st.st_size, st.st_mode & 07777,
           (long)st.st_nlink, S_ISREG(st.st_mode));
    CHECK("ftruncate", ftruncate(fd, 5));
    CHECK("fstat", fstat(fd, &st));
    printf("truncated size=%ld\n", (long)st.st_size);
    CHECK("read at end", read(fd, buf, 10));
    CHECK("close", close(fd));
    CHECK("close again", close(fd));

    CHECK("symlinkat", symlinkat("a.txt", dfd, "link"));
    char target[64] = {0};
    CHECK("readlinkat", readlinkat(dfd, "link", target, sizeof target - 1));
    printf("readlinkat: %s\n", target);
    CHECK("readlinkat not a link", readlinkat(dfd, "a.txt", target, sizeof target - 1));
    CHECK("fstatat nofollow", fstatat(dfd, "link", &st, AT_SYMLINK_NOFOLLOW));
    printf("is link: %d size=%ld\n", S_ISLNK(st.st_mode), (long)st.st_size);
    CHECK("fstatat follow", fstatat(dfd, "link", &st, 0));
    printf("followed is reg: %d size=%ld\n", S_ISREG(st.st_mode), (long)st.st_size);
    CHECK("fstatat missing", fstatat(dfd, "nope", &st, 0));

    struct statx sx;
    CHECK("statx", statx(dfd, "a.txt", 0, STATX_BASIC_STATS, &sx));
    printf("statx size=%llu mode=%o nlink=%u mask_has_size=%d\n", (unsigned long long)sx.stx_size,
           sx.stx_mode & 07777, sx.stx_nlink, (sx.stx_mask & STATX_SIZE) != 0);
    CHECK("statx empty path", statx(dfd, "", AT_EMPTY_PATH, STATX_BASIC_STATS, &sx));
    printf("statx dir: %d\n", S_ISDIR(sx.stx_mode));

    CHECK("linkat", linkat(dfd, "a.txt", dfd, "hard", 0));
    CHECK("fstatat", fstatat(dfd, "a.txt", &st, 0));
    printf("nlink after link: %ld\n", (long)st.st_nlink);
    CHECK("renameat", renameat(dfd, "hard", dfd, "renamed"));
    CHECK("faccessat renamed", faccessat(dfd, "renamed", F_OK, 0));
    CHECK("faccessat gone", faccessat(dfd, "hard", F_OK, 0));

    CHECK("fchmodat", fchmodat(dfd, "a.txt", 0600, 0));
    CHECK("fstatat", fstatat(dfd, "a.txt", &st, 0));
    printf("chmod mode=%o\n", st.st_mode & 07777);
    struct timespec ts[2] = {{1000000000, 5}, {1234567890, 123456789}};
    CHECK("utimensat", utimensat(dfd, "a.txt", ts, 0));
    CHECK("fstatat", fstatat(dfd, "a.txt", &st, 0));
    printf("atime=%ld.%09ld mtime=%ld.%09ld\n", (long)st.st_atim.tv_sec, st.st_atim.tv_nsec,
           (long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec);

    CHECK("mkdirat sub", mkdirat(dfd, "sub", 0700));
    int sfd = openat(dfd, "sub", O_RDONLY | O_DIRECTORY);
    CHECK("openat sub/x", close(openat(sfd, "x", O_CREAT | O_WRONLY, 0644)));
    list_dir("getdents64", dfd);
    list_dir("getdents64 sub", sfd);
    CHECK("unlinkat dir not empty", unlinkat(dfd, "sub", AT_REMOVEDIR));
    CHECK("unlinkat sub/x", unlinkat(sfd, "x", 0));
    CHECK("unlinkat file as dir", unlinkat(dfd, "a.txt", AT_REMOVEDIR));
    CHECK("unlinkat dir as file", unlinkat(dfd, "sub", 0));
    CHECK("unlinkat sub", unlinkat(dfd, "sub", AT_REMOVEDIR));
    close(sfd);

    DIR *dp = opendir(".");
    int n = 0, dirs = 0;
    struct dirent *de;
    while ((de = readdir(dp))) { n++; if (de->d_type == DT_DIR) dirs++; }
    closedir(dp);
    printf("readdir entries=%d dirs=%d\n", n, dirs);

    CHECK("unlink link", unlink("link"));
    CHECK("unlink renamed", unlink("renamed"));
    CHECK("unlink a.txt", unlink("a.txt"));
    CHECK("unlink missing", unlink("a.txt"));
    close(dfd);
    CHECK("chdir /", chdir("/"));
    CHECK("rmdir", rmdir(dir));
    CHECK("rmdir again", rmdir(dir));
    return 0;
}
