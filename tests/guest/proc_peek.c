/* /proc/PID of another process, and process_vm_readv/writev on it.  A parent
 * forks a child that changes directory to DIR (argv[1]), opens DIR/open.txt as
 * fd 7 at offset 3, maps DIR/mapped.dat, writes its own text into a buffer,
 * unmaps the second page of a two-page mapping, and blocks in read() on a
 * pipe; the parent reads the child's /proc entries and memory meanwhile.  Only
 * facts that are the same on every Linux are printed (no addresses, inode
 * numbers or flag bits), so the output compares with this program built for
 * the host.  With "escape" as argv[2], it prints instead the first line of
 * /etc/hostname reached through the child's root and cwd links. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

static char secret[64] = "parent's text";

static int slurp(const char *path, char *buf, int size) {
    int fd = open(path, O_RDONLY), n = 0, r;
    if (fd < 0)
        return -errno;
    while (n < size - 1 && (r = read(fd, buf + n, size - 1 - n)) > 0)
        n += r;
    close(fd);
    buf[n] = 0;
    return n;
}

static void child_proc(pid_t c, const char *name, char *buf, int size) {
    char path[128];
    snprintf(path, sizeof path, "/proc/%d/%s", (int)c, name);
    int n = slurp(path, buf, size);
    if (n < 0)
        printf("%s: %s\n", name, strerror(-n));
}

static const char *line_with(char *text, const char *key) {
    char *p = strstr(text, key);
    if (!p)
        return "(none)";
    char *e = strchr(p, '\n');
    if (e)
        *e = 0;
    return p;
}

static int cmp(const void *a, const void *b) { return *(int *)a - *(int *)b; }

static void escape(pid_t c) {
    char path[128], text[256];
    const char *via[] = {"root/../../etc/hostname", "cwd/../../../../../../etc/hostname",
                         "root/../../../proc/self/root/etc/hostname"};
    for (int i = 0; i < 3; i++) {
        snprintf(path, sizeof path, "/proc/%d/%s", (int)c, via[i]);
        int n = slurp(path, text, sizeof text);
        printf("%s: %s", via[i], n < 0 ? strerror(-n) : text);
        if (n < 0 || !strchr(text, '\n'))
            printf("\n");
    }
}

int main(int argc, char **argv) {
    int go[2], ready[2];
    char buf[16384], mine[16384], dir[PATH_MAX - 16];
    if (argc < 2 || !realpath(argv[1], dir))
        return 2;
    char *two = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    memset(two, 'x', 8192);
    if (pipe(go) || pipe(ready))
        return 3;
    fflush(stdout);
    pid_t c = fork();
    if (c == 0) {
        char file[PATH_MAX + 16];
        if (chdir(dir))
            _exit(4);
        int fd = open("open.txt", O_RDWR | O_CREAT | O_TRUNC, 0644);
        if (write(fd, "0123456789", 10) != 10 || dup2(fd, 7) != 7)
            _exit(5);
        if (fd != 7)
            close(fd);
        lseek(7, 3, SEEK_SET);
        snprintf(file, sizeof file, "%s/mapped.dat", dir);
        fd = open(file, O_RDWR | O_CREAT | O_TRUNC, 0644);
        if (ftruncate(fd, 4096))
            _exit(6);
        char *m = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0);
        close(fd);
        if (m == MAP_FAILED)
            _exit(7);
        strcpy(secret, "the child's own text");
        munmap(two + 4096, 4096);
        char b = 0;
        if (write(ready[1], "r", 1) != 1 || read(go[0], &b, 1) != 1)
            _exit(8);
        printf("child: secret now \"%s\", two[0] %c\n", secret, two[0]);
        fflush(stdout);
        _exit(0);
    }
    char b;
    if (read(ready[0], &b, 1) != 1)
        return 9;
    if (argc > 2 && !strcmp(argv[2], "escape")) {
        escape(c);
        write(go[1], "g", 1);
        waitpid(c, NULL, 0);
        return 0;
    }
    /* wait until it sleeps in read() (natively it may still be on its way there) */
    for (int i = 0; i < 500; i++) {
        child_proc(c, "stat", buf, sizeof buf);
        char *s = strrchr(buf, ')');
        if (s && s[2] == 'S')
            break;
        usleep(10000);
    }
    char *s = strrchr(buf, ')');
    int ppid = 0;
    char state = 0;
    sscanf(s + 2, "%c %d", &state, &ppid);
    printf("stat: state %c, ppid is the parent: %d\n", state, ppid == getpid());

    child_proc(c, "status", buf, sizeof buf);
    char name[64] = "", me[64] = "";
    sscanf(line_with(buf, "Name:"), "Name: %63s", name);
    child_proc(c, "status", buf, sizeof buf);
    printf("status: %s\n", line_with(buf, "State:"));
    child_proc(c, "status", buf, sizeof buf);
    int sppid = -1;
    sscanf(line_with(buf, "PPid:"), "PPid: %d", &sppid);
    slurp("/proc/self/status", mine, sizeof mine);
    sscanf(line_with(mine, "Name:"), "Name: %63s", me);
    printf("status: same name %d, PPid is the parent %d\n", !strcmp(name, me), sppid == getpid());

    int n = slurp("/proc/self/cmdline", mine, sizeof mine);
    int m = (child_proc(c, "cmdline", buf, sizeof buf), slurp("/proc/self/cmdline", mine, sizeof mine));
    (void)n;
    printf("cmdline: same as the parent's %d\n", m > 0 && !memcmp(buf, mine, m));

    char path[128], link[PATH_MAX], self[PATH_MAX];
    snprintf(path, sizeof path, "/proc/%d/environ", (int)c);
    n = slurp(path, buf, sizeof buf);
    int found = 0;
    for (int i = 0; i < n; i += strlen(buf + i) + 1)
        found |= !strcmp(buf + i, "PEEK_MARK=peek 42");
    printf("environ: has PEEK_MARK %d\n", found);

    snprintf(path, sizeof path, "/proc/%d/cwd", (int)c);
    n = readlink(path, link, sizeof link - 1);
    link[n > 0 ? n : 0] = 0;
    printf("cwd: is DIR %d\n", !strcmp(link, dir));
    snprintf(path, sizeof path, "/proc/%d/exe", (int)c);
    n = readlink(path, link, sizeof link - 1);
    link[n > 0 ? n : 0] = 0;
    int k = readlink("/proc/self/exe", self, sizeof self - 1);
    self[k > 0 ? k : 0] = 0;
    printf("exe: same as the parent's %d\n", n > 0 && !strcmp(link, self));
    snprintf(path, sizeof path, "/proc/%d/root", (int)c);
    n = readlink(path, link, sizeof link - 1);
    link[n > 0 ? n : 0] = 0;
    printf("root: %s\n", link);

    child_proc(c, "maps", buf, sizeof buf);
    printf("maps: mapped.dat %d, [stack] %d\n", strstr(buf, "/mapped.dat\n") != NULL,
           strstr(buf, " [stack]\n") != NULL);
    child_proc(c, "smaps_rollup", buf, sizeof buf);
    printf("smaps_rollup: [rollup] %d, Rss %d\n", strstr(buf, "[rollup]\n") != NULL,
           strstr(buf, "\nRss:") != NULL);
    child_proc(c, "limits", buf, sizeof buf);
    printf("limits: %s\n", line_with(buf, "Limit"));
    child_proc(c, "oom_score_adj", buf, sizeof buf);
    printf("oom_score_adj: %s", buf);

    snprintf(path, sizeof path, "/proc/%d/fd", (int)c);
    DIR *d = opendir(path);
    int fds[64], nfd = 0;
    struct dirent *e;
    while (d && (e = readdir(d)) && nfd < 64)
        if (e->d_name[0] != '.')
            fds[nfd++] = atoi(e->d_name);
    if (d)
        closedir(d);
    qsort(fds, nfd, sizeof *fds, cmp);
    printf("fd:");
    for (int i = 0; i < nfd; i++)
        printf(" %d", fds[i]);
    printf("\n");
    snprintf(path, sizeof path, "/proc/%d/fd/7", (int)c);
    n = readlink(path, link, sizeof link - 1);
    link[n > 0 ? n : 0] = 0;
    snprintf(self, sizeof self, "%s/open.txt", dir);
    printf("fd/7: is DIR/open.txt %d\n", !strcmp(link, self));
    snprintf(path, sizeof path, "/proc/%d/fd/%d", (int)c, go[0]);
    n = readlink(path, link, sizeof link - 1);
    link[n > 0 ? n : 0] = 0;
    printf("fd/go: a pipe %d\n", !strncmp(link, "pipe:[", 6));
    snprintf(path, sizeof path, "/proc/%d/fd/7", (int)c);
    int fd = open(path, O_RDONLY);
    n = fd >= 0 ? (int)pread(fd, buf, 10, 0) : -1;
    printf("fd/7 reopened: %.*s\n", n > 0 ? n : 0, buf);
    if (fd >= 0)
        close(fd);
    snprintf(path, sizeof path, "/proc/%d/fdinfo/7", (int)c);
    slurp(path, buf, sizeof buf);
    printf("fdinfo/7: %s\n", line_with(buf, "pos:"));

    snprintf(path, sizeof path, "/proc/%d/task", (int)c);
    d = opendir(path);
    printf("task:");
    while (d && (e = readdir(d)))
        if (e->d_name[0] != '.')
            printf(" %s", atoi(e->d_name) == c ? "CHILD" : e->d_name);
    if (d)
        closedir(d);
    printf("\n");

    /* process_vm_readv/writev */
    char got[64] = "";
    struct iovec local = {got, sizeof got}, remote = {secret, sizeof secret};
    ssize_t r = process_vm_readv(c, &local, 1, &remote, 1, 0);
    printf("readv: %zd \"%s\"\n", r, got);
    struct iovec split[2] = {{got, 5}, {got + 5, 10}};
    memset(got, 0, sizeof got);
    r = process_vm_readv(c, split, 2, &remote, 1, 0);
    printf("readv split: %zd \"%s\"\n", r, got);
    struct iovec past = {two, 8192};
    char big[8192];
    struct iovec lbig = {big, sizeof big};
    r = process_vm_readv(c, &lbig, 1, &past, 1, 0);
    printf("readv past the end: %zd\n", r);
    struct iovec two_remote[2] = {{secret, 4}, {(void *)8, 4}};
    r = process_vm_readv(c, &local, 1, two_remote, 2, 0);
    printf("readv with a bad second: %zd\n", r);
    struct iovec bad = {(void *)8, 16};
    errno = 0;
    r = process_vm_readv(c, &local, 1, &bad, 1, 0);
    printf("readv bad: %zd %s\n", r, strerror(errno));
    errno = 0;
    r = process_vm_readv(c, &local, 1, &remote, 1, 1);
    printf("readv flags: %zd %s\n", r, strerror(errno));
    errno = 0;
    r = process_vm_readv(4000000, &local, 1, &remote, 1, 0);
    printf("readv no such pid: %zd %s\n", r, strerror(errno));
    char text[] = "the parent wrote";
    struct iovec wl = {text, sizeof text}, wr = {secret, sizeof text};
    r = process_vm_writev(c, &wl, 1, &wr, 1, 0);
    printf("writev: %zd\n", r);
    struct iovec wy = {"y", 1}, wtwo = {two, 1};
    r = process_vm_writev(c, &wy, 1, &wtwo, 1, 0);
    printf("writev two: %zd, the parent's own two[0] %c\n", r, two[0]);
    fflush(stdout);

    if (write(go[1], "g", 1) != 1)
        return 10;
    int status;
    waitpid(c, &status, 0);
    printf("child exit %d\n", WEXITSTATUS(status));
    snprintf(path, sizeof path, "/proc/%d/maps", (int)c);
    printf("after reaping: %s\n", open(path, O_RDONLY) < 0 ? strerror(errno) : "still there");
    return 0;
}
