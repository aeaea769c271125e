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

/* makes /tmp/esc-link -> target and tries it with `rest` appended, then removes it */
static void try_link(const char *what, const char *target, const char *rest) {
    char path[256];
    unlink("/tmp/esc-link");
    symlink(target, "/tmp/esc-link");
    snprintf(path, sizeof path, "/tmp/esc-link%s", rest);
    try(what, path);
    unlink("/tmp/esc-link");
}

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
    /* links the guest makes in /tmp, tried with what follows them */
    try_link("abs-symlink", "/../../../../etc", "/os-release");
    try_link("abs-symlink-hostname", "/../../../../etc", "/hostname");
    try_link("rel-symlink", "../../../../../../../../etc/passwd", "");
    try_link("proc1-symlink", "/proc/1/root/etc/os-release", "");
    try("proc-root", "/proc/self/root/../../etc/os-release");
    /* rootfs links that point into /proc and /dev and back out of them */
    try_link("proc-root-symlink", "/proc/self/root/../../../../etc/os-release", "");
    try_link("dev-fd-symlink", "../dev/fd/../../../../../etc/passwd", "");
    try_link("proc-cwd-symlink", "/proc/self/cwd/../../../../etc", "/os-release");
    try_link("proc-cwd-symlink-hostname", "/proc/self/cwd/../../../../etc", "/hostname");
    try_link("dev-dotdot-symlink", "/dev/../../../etc/os-release", "");
    int d = open("/tmp", O_RDONLY | O_DIRECTORY);
    show("dirfd-dotdot", openat(d, "../../../../../etc/os-release", O_RDONLY));
    show("dirfd-dotdot-hostname", openat(d, "../../../../../etc/hostname", O_RDONLY));
    close(d);
    return 0;
}
