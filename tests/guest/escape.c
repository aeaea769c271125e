/* Tries to read host files from inside the rootfs and prints what it could
 * read.  The test rootfs's /etc/hostname says "mkemu-guest" and it has no
 * /etc/os-release: a line with the host's hostname or "ESCAPED" is a leak. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

static void show(const char *what, int fd) {
    char buf[256];
    if (fd < 0) { printf("%s: blocked\n", what); return; }
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    buf[n > 0 ? n : 0] = 0;
    /* the host's /etc/os-release names a distribution; the test rootfs has none */
    if (strstr(buf, "PRETTY_NAME") || strstr(buf, "root:x:0:0:root:/root:/bin/bash")) {
        printf("%s: ESCAPED\n", what);
        return;
    }
    char *nl = strchr(buf, '\n');
    if (nl) *nl = 0;
    printf("%s: read \"%s\"\n", what, buf);
}

static void try(const char *what, const char *path) { show(what, open(path, O_RDONLY)); }

int main(void) {
    try("hostname", "/etc/hostname");
    try("dotdot-hostname", "/../../etc/hostname");
    try("dotdot", "/../../../../etc/os-release");
    try("relative", "../../../../../../etc/os-release");
    chdir("/tmp");
    for (int i = 0; i < 20; i++) chdir("..");
    char cwd[256] = "?";
    getcwd(cwd, sizeof cwd);
    printf("cwd after chdir(..) x20: %s\n", cwd);
    try("chdir-dotdot-hostname", "etc/hostname");
    try("chdir-dotdot", "etc/os-release");
    unlink("/tmp/esc-link");
    symlink("/../../../../etc", "/tmp/esc-link");
    try("abs-symlink", "/tmp/esc-link/os-release");
    try("abs-symlink-hostname", "/tmp/esc-link/hostname");
    unlink("/tmp/esc-link2");
    symlink("../../../../../../../../etc/passwd", "/tmp/esc-link2");
    try("rel-symlink", "/tmp/esc-link2");
    unlink("/tmp/esc-link3");
    symlink("/proc/1/root/etc/os-release", "/tmp/esc-link3");
    try("proc1-symlink", "/tmp/esc-link3");
    try("proc-root", "/proc/self/root/../../etc/os-release");
    /* rootfs links that point into /proc and /dev and back out of them */
    unlink("/tmp/esc-link4");
    symlink("/proc/self/root/../../../../etc/os-release", "/tmp/esc-link4");
    try("proc-root-symlink", "/tmp/esc-link4");
    unlink("/tmp/esc-link5");
    symlink("../dev/fd/../../../../../etc/passwd", "/tmp/esc-link5");
    try("dev-fd-symlink", "/tmp/esc-link5");
    unlink("/tmp/esc-link6");
    symlink("/proc/self/cwd/../../../../etc", "/tmp/esc-link6");
    try("proc-cwd-symlink", "/tmp/esc-link6/os-release");
    try("proc-cwd-symlink-hostname", "/tmp/esc-link6/hostname");
    unlink("/tmp/esc-link7");
    symlink("/dev/../../../etc/os-release", "/tmp/esc-link7");
    try("dev-dotdot-symlink", "/tmp/esc-link7");
    int d = open("/tmp", O_RDONLY | O_DIRECTORY);
    show("dirfd-dotdot", openat(d, "../../../../../etc/os-release", O_RDONLY));
    show("dirfd-dotdot-hostname", openat(d, "../../../../../etc/hostname", O_RDONLY));
    close(d);
    unlink("/tmp/esc-link");
    unlink("/tmp/esc-link2");
    unlink("/tmp/esc-link3");
    unlink("/tmp/esc-link4");
    unlink("/tmp/esc-link5");
    unlink("/tmp/esc-link6");
    unlink("/tmp/esc-link7");
    return 0;
}
