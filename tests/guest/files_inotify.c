/* inotify on a directory and a file of the rootfs: the events a few name
 * operations make, with their names and watch descriptors, IN_DONT_FOLLOW on
 * a symlink, IN_ONLYDIR, rm_watch's IN_IGNORED and the errors.  Runs in the
 * empty directory argv[1]; prints nothing that depends on where it runs. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#define CHECK(label, expr) do { errno = 0; long r_ = (long)(expr); \
    printf("%s = %ld%s%s\n", label, r_, r_ < 0 ? " " : "", r_ < 0 ? strerrorname_np(errno) : ""); } while (0)

static int wd_dir, wd_file, wd_link;

static const char *wd_name(int wd) {
    return wd == wd_dir ? "dir" : wd == wd_file ? "file" : wd == wd_link ? "link" : "?";
}

static void drain(int in) {
    char buf[4096] __attribute__((aligned(8)));
    for (;;) {
        ssize_t n = read(in, buf, sizeof buf);
        if (n <= 0) { printf("  (%s)\n", n < 0 ? strerrorname_np(errno) : "eof"); return; }
        for (char *p = buf; p < buf + n; ) {
            struct inotify_event *e = (struct inotify_event *)p;
            printf("  wd %s mask", wd_name(e->wd));
            static const struct { unsigned bit; const char *name; } bits[] = {
                {IN_ACCESS, "ACCESS"}, {IN_MODIFY, "MODIFY"}, {IN_ATTRIB, "ATTRIB"},
                {IN_CLOSE_WRITE, "CLOSE_WRITE"}, {IN_CLOSE_NOWRITE, "CLOSE_NOWRITE"},
                {IN_OPEN, "OPEN"}, {IN_MOVED_FROM, "MOVED_FROM"}, {IN_MOVED_TO, "MOVED_TO"},
                {IN_CREATE, "CREATE"}, {IN_DELETE, "DELETE"}, {IN_DELETE_SELF, "DELETE_SELF"},
                {IN_MOVE_SELF, "MOVE_SELF"}, {IN_IGNORED, "IGNORED"}, {IN_ISDIR, "ISDIR"}};
            for (unsigned i = 0; i < sizeof bits / sizeof bits[0]; i++)
                if (e->mask & bits[i].bit) printf(" %s", bits[i].name);
            printf(" cookie %s name \"%s\"\n", e->cookie ? "set" : "0", e->len ? e->name : "");
            p += sizeof *e + e->len;
        }
    }
}

int main(int argc, char **argv) {
    if (argc < 2 || chdir(argv[1]) < 0) { perror("chdir"); return 2; }
    setvbuf(stdout, NULL, _IOLBF, 0);
    int in = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    printf("inotify_init1 cloexec %d nonblock %d\n", (fcntl(in, F_GETFD) & FD_CLOEXEC) != 0,
           (fcntl(in, F_GETFL) & O_NONBLOCK) != 0);
    CHECK("inotify_init1 bad flag", inotify_init1(1));
    int fd = open("watched", O_WRONLY | O_CREAT, 0644);
    close(fd);
    symlink("watched", "link");
    wd_dir = inotify_add_watch(in, ".", IN_ALL_EVENTS);
    wd_file = inotify_add_watch(in, "watched", IN_MODIFY | IN_ATTRIB | IN_CLOSE_WRITE | IN_DELETE_SELF);
    wd_link = inotify_add_watch(in, "link", IN_ATTRIB | IN_DONT_FOLLOW);
    printf("wds: dir %d file %d link %d\n", wd_dir, wd_file, wd_link);
    printf("the same file again: same wd %d\n", inotify_add_watch(in, "link", IN_MODIFY | IN_MASK_ADD) == wd_file);
    CHECK("IN_MASK_CREATE on a watched file", inotify_add_watch(in, "watched", IN_MODIFY | IN_MASK_CREATE));
    CHECK("IN_ONLYDIR on a file", inotify_add_watch(in, "watched", IN_MODIFY | IN_ONLYDIR));
    CHECK("a missing path", inotify_add_watch(in, "nothing", IN_MODIFY));
    CHECK("mask 0", inotify_add_watch(in, ".", 0));
    CHECK("not an inotify fd", inotify_add_watch(0, ".", IN_MODIFY));
    CHECK("bad fd", inotify_add_watch(99, ".", IN_MODIFY));
    printf("nothing yet:\n");
    drain(in);
    fd = open("watched", O_WRONLY | O_APPEND);
    write(fd, "x", 1);
    close(fd);
    mkdir("sub", 0755);
    rename("sub", "sub2");
    chmod("watched", 0600);
    lchown("link", getuid(), getgid());
    struct pollfd p = { in, POLLIN, 0 };
    int ready = poll(&p, 1, 1000);
    printf("poll = %d revents POLLIN %d\n", ready, (p.revents & POLLIN) != 0);
    printf("events:\n");
    drain(in);
    CHECK("inotify_rm_watch(file)", inotify_rm_watch(in, wd_file));
    CHECK("inotify_rm_watch again", inotify_rm_watch(in, wd_file));
    CHECK("inotify_rm_watch(-1)", inotify_rm_watch(in, -1));
    unlink("watched");
    rmdir("sub2");
    printf("after rm_watch and unlink:\n");
    drain(in);
    return 0;
}
