/* Extended attributes on a file in the rootfs: set, get (size 0 asks the
 * length, too small is ERANGE), list, XATTR_CREATE/REPLACE, remove, the l-
 * and f- variants, a symlink, and errors. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/xattr.h>
#include <unistd.h>

static const char *e(long r) { return r < 0 ? strerror(errno) : "ok"; }

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    const char *dir = argc > 1 ? argv[1] : "/tmp";
    char f[256], l[256];
    snprintf(f, sizeof f, "%s/xattr-file", dir);
    snprintf(l, sizeof l, "%s/xattr-link", dir);
    unlink(f); unlink(l);
    int fd = open(f, O_CREAT | O_RDWR, 0644);
    if (fd < 0) { perror("open"); return 1; }
    long r = setxattr(f, "user.color", "blue", 4, 0);
    if (r < 0 && errno == ENOTSUP) { puts("no user xattrs here"); return 0; }
    printf("set: %s\n", e(r));
    printf("get length: %ld\n", getxattr(f, "user.color", NULL, 0));
    char buf[64] = {0};
    printf("get: %ld %.4s\n", getxattr(f, "user.color", buf, sizeof buf), buf);
    printf("too small: %s\n", e(getxattr(f, "user.color", buf, 2)));
    printf("missing: %s\n", e(getxattr(f, "user.none", buf, sizeof buf)));
    printf("create again: %s\n", e(setxattr(f, "user.color", "red", 3, XATTR_CREATE)));
    printf("replace missing: %s\n", e(setxattr(f, "user.size", "9", 1, XATTR_REPLACE)));
    printf("fset: %s\n", e(fsetxattr(fd, "user.size", "9", 1, 0)));
    char list[256];
    long n = listxattr(f, list, sizeof list);
    int found = 0;
    for (long i = 0; i < n; i += strlen(list + i) + 1)
        found += !strcmp(list + i, "user.color") + !strcmp(list + i, "user.size");
    printf("list: both names %d\n", found);
    memset(buf, 0, sizeof buf);
    printf("fget: %ld %s\n", fgetxattr(fd, "user.size", buf, sizeof buf), buf);
    symlink("xattr-file", l);
    memset(buf, 0, sizeof buf);
    printf("through the link: %ld %.4s\n", getxattr(l, "user.color", buf, sizeof buf), buf);
    printf("the link itself: %s\n", e(lgetxattr(l, "user.color", buf, sizeof buf)));
    printf("user.* on a link: %s\n", e(lsetxattr(l, "user.x", "1", 1, 0)));
    printf("remove: %s, again: %s\n", e(removexattr(f, "user.color")),
           e(removexattr(f, "user.color")));
    printf("fremove: %s\n", e(fremovexattr(fd, "user.size")));
    printf("empty list: %ld\n", flistxattr(fd, list, sizeof list));
    printf("no such file: %s\n", e(getxattr("/nonexistent", "user.a", buf, 8)));
    printf("bad flags: %s\n", e(setxattr(f, "user.a", "1", 1, 4)));
    close(fd);
    unlink(f); unlink(l);
    return 0;
}
