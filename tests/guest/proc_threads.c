/* /proc/PID of a threaded process seen from another: a child starts two threads
 * that name themselves and sleep in read() while its main thread sleeps in
 * pthread_join (one of them names the main thread "boss" through its
 * /proc/self/task/TID/comm first); the parent lists /proc/CHILD/task, reads
 * each thread's comm and the process's Threads: count, and reads a buffer a
 * thread wrote with process_vm_readv.  Nothing printed differs between Linux machines, so the
 * output compares with this program built for the host. */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

static int go[2], ready[2];
static char shared[32];

static void *worker(void *arg) {
    char name[16], b;
    snprintf(name, sizeof name, "worker-%ld", (long)arg);
    prctl(PR_SET_NAME, name);
    if (arg == (void *)1) {
        /* renames the main thread, asleep in pthread_join, through its comm file */
        char path[64];
        snprintf(path, sizeof path, "/proc/self/task/%d/comm", (int)getpid());
        int fd = open(path, O_WRONLY);
        if (fd < 0 || write(fd, "boss", 4) != 4)
            strcpy(shared, "comm not written");
        else
            strcpy(shared, "written by a thread");
        if (fd >= 0)
            close(fd);
    }
    if (write(ready[1], "r", 1) != 1 || read(go[0], &b, 1) != 1)
        return NULL;
    return NULL;
}

static int slurp(const char *path, char *buf, int size) {
    int fd = open(path, O_RDONLY), n = 0, r;
    if (fd < 0)
        return -1;
    while (n < size - 1 && (r = read(fd, buf + n, size - 1 - n)) > 0)
        n += r;
    close(fd);
    buf[n] = 0;
    return n;
}

static int cmpstr(const void *a, const void *b) { return strcmp(a, b); }

int main(void) {
    if (pipe(go) || pipe(ready))
        return 2;
    fflush(stdout);
    pid_t c = fork();
    if (c == 0) {
        pthread_t t[2];
        for (long i = 0; i < 2; i++)
            pthread_create(&t[i], NULL, worker, (void *)(i + 1));
        for (int i = 0; i < 2; i++)
            pthread_join(t[i], NULL);
        /* its own name, written through /proc/self/task/TID/comm */
        char path[64], buf[32];
        snprintf(path, sizeof path, "/proc/self/task/%d/comm", (int)getpid());
        int fd = open(path, O_WRONLY);
        if (fd < 0 || write(fd, "renamed", 7) != 7)
            _exit(3);
        close(fd);
        prctl(PR_GET_NAME, buf);
        printf("child: own name now %s\n", buf);
        fflush(stdout);
        _exit(0);
    }
    char b, path[128], buf[4096], names[8][32];
    for (int i = 0; i < 2; i++)
        if (read(ready[0], &b, 1) != 1)
            return 3;
    usleep(100000);
    snprintf(path, sizeof path, "/proc/%d/task", (int)c);
    DIR *d = opendir(path);
    struct dirent *e;
    int n = 0;
    while (d && (e = readdir(d)))
        if (e->d_name[0] != '.' && n < 8) {
            snprintf(path, sizeof path, "/proc/%d/task/%s/comm", (int)c, e->d_name);
            if (slurp(path, names[n], sizeof names[n]) < 0)
                strcpy(names[n], "?\n");
            n++;
        }
    if (d)
        closedir(d);
    qsort(names, n, sizeof names[0], cmpstr);
    printf("task: %d threads:", n);
    for (int i = 0; i < n; i++)
        printf(" %.*s", (int)strcspn(names[i], "\n"), names[i]);
    printf("\n");
    snprintf(path, sizeof path, "/proc/%d/status", (int)c);
    slurp(path, buf, sizeof buf);
    char *th = strstr(buf, "Threads:");
    printf("status: %.*s\n", th ? (int)strcspn(th, "\n") : 6, th ? th : "(none)");
    char got[32] = "";
    struct iovec local = {got, sizeof got}, remote = {shared, sizeof shared};
    ssize_t r = process_vm_readv(c, &local, 1, &remote, 1, 0);
    printf("readv: %zd \"%s\"\n", r, got);
    snprintf(path, sizeof path, "/proc/%d/maps", (int)c);
    printf("maps: %s\n", slurp(path, buf, sizeof buf) > 0 && strstr(buf, "[stack]") ? "has [stack]" : "empty");
    fflush(stdout);
    if (write(go[1], "gg", 2) != 2)
        return 4;
    int status;
    waitpid(c, &status, 0);
    printf("child exit %d\n", WEXITSTATUS(status));
    return 0;
}
