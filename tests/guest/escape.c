/* Tries to read host files from inside the rootfs; prints ESCAPED if it can. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

static void try(const char *what, const char *path) {
    char buf[256];
    int fd = open(path, O_RDONLY);
    if (fd < 0) { printf("%s: blocked\n", what); return; }
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    buf[n > 0 ? n : 0] = 0;
    /* the host's /etc/os-release names Debian; the test rootfs has none */
    if (strstr(buf, "PRETTY_NAME") || strstr(buf, "root:x:0:0:root:/root:/bin/bash"))
        printf("%s: ESCAPED\n", what);
    else
        printf("%s: stayed inside\n", what);
}

int main(void) {
    try("dotdot", "/../../../../etc/os-release");
    try("relative", "../../../../../../etc/os-release");
    chdir("/tmp");
    for (int i = 0; i < 20; i++) chdir("..");
    try("chdir-dotdot", "etc/os-release");
    unlink("/tmp/esc-link");
    symlink("/../../../../etc", "/tmp/esc-link");
    try("abs-symlink", "/tmp/esc-link/os-release");
    unlink("/tmp/esc-link2");
    symlink("../../../../../../../../etc/passwd", "/tmp/esc-link2");
    try("rel-symlink", "/tmp/esc-link2");
    try("proc-root", "/proc/self/root/../../etc/os-release");
    int d = open("/tmp", O_RDONLY | O_DIRECTORY);
    char p[64] = "../../../../../etc/os-release";
    int fd = openat(d, p, O_RDONLY);
    printf("dirfd-dotdot: %s\n", fd < 0 ? "blocked" : "opened (inside)");
    unlink("/tmp/esc-link");
    unlink("/tmp/esc-link2");
    return 0;
}
