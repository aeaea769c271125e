/* Device nodes, fifos and sockets made by root with mknod, in a scratch
 * directory (argv[2]).  "make": mknod and mkfifo, then what stat, getdents64
 * and open say of them, and unlink/rename/link of a node; "show": only what
 * stat and getdents64 say (a later run of the machine).  The expected output
 * is Linux's (tests/test_metastore.py). */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *kind(mode_t m) {
    return S_ISCHR(m) ? "chr" : S_ISBLK(m) ? "blk" : S_ISFIFO(m) ? "fifo" : S_ISSOCK(m) ? "sock"
         : S_ISREG(m) ? "reg" : S_ISDIR(m) ? "dir" : "other";
}

static void show(const char *name) {
    struct stat st;
    if (lstat(name, &st)) {
        printf("%s: %s\n", name, strerrorname_np(errno));
        return;
    }
    printf("%s: %s %o uid %u gid %u", name, kind(st.st_mode), st.st_mode & 07777, st.st_uid, st.st_gid);
    if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode))
        printf(" rdev %u,%u", major(st.st_rdev), minor(st.st_rdev));
    printf("\n");
}

static int by_name(const struct dirent **a, const struct dirent **b) {
    return strcmp((*a)->d_name, (*b)->d_name);
}

static void list(void) {
    struct dirent **ents;
    int n = scandir(".", &ents, NULL, by_name);
    printf("d_type:");
    for (int i = 0; i < n; i++) {
        unsigned char t = ents[i]->d_type;
        if (ents[i]->d_name[0] != '.')
            printf(" %s=%s", ents[i]->d_name, t == DT_CHR ? "chr" : t == DT_BLK ? "blk" :
                   t == DT_FIFO ? "fifo" : t == DT_SOCK ? "sock" : t == DT_REG ? "reg" : "other");
        free(ents[i]);
    }
    free(ents);
    printf("\n");
}

static void result(const char *what, int r) {
    printf("%s: %s\n", what, r < 0 ? strerrorname_np(errno) : "ok");
}

int main(int argc, char **argv) {
    if (argc < 3 || chdir(argv[2])) {
        perror("chdir");
        return 1;
    }
    if (strcmp(argv[1], "make") == 0) {
        umask(022);
        result("mknod null c 1 3", mknod("null", S_IFCHR | 0666, makedev(1, 3)));
        result("mknod zero c 1 5", mknod("zero", S_IFCHR | 0644, makedev(1, 5)));
        result("mknod sda1 b 8 1", mknod("sda1", S_IFBLK | 0660, makedev(8, 1)));
        result("mknod odd c 240 7", mknod("odd", S_IFCHR | 0600, makedev(240, 7)));
        result("mknod fifo", mknod("fifo", S_IFIFO | 0640, 0));
        result("mkfifo", mkfifo("fifo2", 0600));
        result("mknod sock", mknod("sock", S_IFSOCK | 0600, 0));
        result("mknod again", mknod("null", S_IFCHR | 0666, makedev(1, 3)));
        result("chown null 0:5", chown("null", 0, 5));

        int fd = open("null", O_RDWR);
        result("open null", fd);
        printf("write to null: %zd\n", write(fd, "hello", 5));
        char buf[8];
        printf("read from null: %zd\n", read(fd, buf, sizeof buf));
        close(fd);
        fd = open("zero", O_RDONLY);
        memset(buf, 1, sizeof buf);
        printf("read from zero: %zd, all zero %d\n", read(fd, buf, 4),
               buf[0] == 0 && buf[1] == 0 && buf[2] == 0 && buf[3] == 0);
        close(fd);
        result("open sda1", open("sda1", O_RDONLY));
        result("open odd", open("odd", O_RDONLY));

        result("rename sda1 disk", rename("sda1", "disk"));
        result("link disk disk2", link("disk", "disk2"));
        result("unlink disk", unlink("disk"));
        result("unlink odd", unlink("odd"));
        int reg = open("plain", O_CREAT | O_WRONLY, 0644);   /* may take odd's inode */
        close(reg);

        fflush(stdout);
        pid_t pid = fork();
        if (pid == 0) {
            if (setuid(1000))
                _exit(1);
            result("user: mknod c", mknod("u", S_IFCHR | 0600, makedev(1, 3)));
            result("user: mknod fifo", mknod("ufifo", S_IFIFO | 0600, 0));
            unlink("ufifo");
            fflush(stdout);
            _exit(0);
        }
        waitpid(pid, NULL, 0);
    }
    const char *names[] = {"null", "zero", "disk", "disk2", "odd", "plain", "fifo", "fifo2", "sock"};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++)
        show(names[i]);
    list();
    return 0;
}
