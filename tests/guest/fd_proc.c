/* /proc/self/fd and /proc/self/fdinfo: which descriptors they list, and
 * whether each fdinfo file agrees with what the other calls say about the
 * descriptor: pos with lseek, flags with F_GETFL (plus O_CLOEXEC when
 * FD_CLOEXEC is set, in the kernel's octal), mnt_id with statx, ino with
 * fstat, a lock line's owner with getpid.  Nothing printed is a value that
 * differs between aarch64 and x86_64, so the output compares with this
 * program built for the host (qemu-aarch64 shows the host's fdinfo, with
 * x86_64 flag bits, and lists its own descriptors). */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static int cmp(const void *a, const void *b) { return *(int *)a - *(int *)b; }

static int list(const char *dir, int *fds) {
    DIR *d = opendir(dir);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) && n < 64)
        if (e->d_name[0] != '.')
            fds[n++] = atoi(e->d_name);
    closedir(d);
    qsort(fds, n, sizeof *fds, cmp);
    printf("%s:", dir);
    for (int i = 0; i < n; i++)
        printf(" %d", fds[i]);
    printf("\n");
    return n;
}

static void info(int fd) {
    char path[64], text[4096];
    snprintf(path, sizeof path, "/proc/self/fdinfo/%d", fd);
    int f = open(path, O_RDONLY);
    if (f < 0) {
        printf("fdinfo %d: %s\n", fd, strerrorname_np(errno));
        return;
    }
    int n = read(f, text, sizeof text - 1);
    close(f);
    text[n > 0 ? n : 0] = 0;
    long long pos = -1;
    unsigned flags = 0;
    int mnt_id = -1, lock_pid = 0, lines = 0;
    unsigned long ino = 0;
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        lines++;
        sscanf(line, "pos: %lld", &pos);
        sscanf(line, "flags: %o", &flags);
        sscanf(line, "mnt_id: %d", &mnt_id);
        sscanf(line, "ino: %lu", &ino);
        if (!strncmp(line, "lock:", 5)) {
            char kind[16], mode[16], rw[16];
            sscanf(line, "lock: %*d: %15s %15s %15s %d", kind, mode, rw, &lock_pid);
        }
    }
    struct stat st;
    struct statx sx;
    fstat(fd, &st);
    statx(fd, "", AT_EMPTY_PATH, STATX_MNT_ID, &sx);
    unsigned want = fcntl(fd, F_GETFL) | (fcntl(fd, F_GETFD) & FD_CLOEXEC ? O_CLOEXEC : 0);
    long long at = lseek(fd, 0, SEEK_CUR);
    printf("fdinfo %d: pos %lld (lseek %s), flags %s, mnt_id %s, ino %s, lock owner %s\n", fd, pos,
           at < 0 ? (pos == 0 ? "fails, pos 0" : "fails, pos not 0") : at == pos ? "agrees" : "DIFFERS",
           flags == want ? "agree" : "DIFFER",
           (sx.stx_mask & STATX_MNT_ID) && (int)sx.stx_mnt_id == mnt_id ? "agrees" : "DIFFERS",
           ino == st.st_ino ? "agrees" : "DIFFERS",
           lock_pid == 0 ? "none" : lock_pid == getpid() ? "me" : "someone else");
}

int main(void) {
    int m = memfd_create("info", MFD_CLOEXEC);
    write(m, "0123456789", 10);
    lseek(m, 7, SEEK_SET);
    int p[2];
    pipe2(p, O_NONBLOCK);
    int dir = open("/", O_RDONLY | O_DIRECTORY);
    int null = open("/dev/null", O_WRONLY | O_APPEND);
    int path = open("/", O_PATH);
    struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 2, .l_len = 3};
    printf("F_SETLK on the memfd: %d\n", fcntl(m, F_SETLK, &fl));
    printf("descriptors: %d %d %d %d %d %d\n", m, p[0], p[1], dir, null, path);

    int fds[64], infos[64];
    int n = list("/proc/self/fd", fds);
    int k = list("/proc/self/fdinfo", infos);
    printf("the two lists are equal: %d\n", n == k && !memcmp(fds, infos, n * sizeof *fds));
    for (int i = 0; i < n; i++)
        if (fds[i] > 2)           /* not the test harness's stdin/stdout/stderr */
            info(fds[i]);
    info(500);
    close(null);
    info(null);
    info(-1);

    char link[256];
    snprintf(link, sizeof link, "/proc/self/fd/%d", p[0]);
    ssize_t len = readlink(link, link, sizeof link - 1);
    printf("pipe link starts with pipe:[ %d\n", len > 6 && !strncmp(link, "pipe:[", 6));
    snprintf(link, sizeof link, "/proc/self/fdinfo/%d", p[1]);
    printf("fdinfo of the pipe's write end exists: %d\n", access(link, F_OK) == 0);
    struct stat st;
    printf("stat of a closed fd's fdinfo: %s\n",
           stat("/proc/self/fdinfo/77", &st) < 0 ? strerrorname_np(errno) : "found");
    printf("stat of an open fd's fdinfo: regular %d\n",
           stat("/proc/self/fdinfo/0", &st) == 0 && S_ISREG(st.st_mode));
    return 0;
}
