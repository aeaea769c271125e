/* The shape of /proc/self/stat, statm and status, as tools like ps and top read
 * them: which fields there are and in what order, never values that differ from
 * run to run (pids, times, sizes).  The same source runs natively on the host
 * as the reference, so only what an x86-64 and an aarch64 Linux share is
 * printed: of status, the keys of a fixed list in the order they come. */
#define _GNU_SOURCE
#include <dirent.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *KEYS[] = {
    "Name", "Umask", "State", "Tgid", "Ngid", "Pid", "PPid", "TracerPid", "Uid", "Gid",
    "FDSize", "Groups", "VmPeak", "VmSize", "VmLck", "VmPin", "VmHWM", "VmRSS", "RssAnon",
    "RssFile", "RssShmem", "VmData", "VmStk", "VmExe", "VmLib", "VmPTE", "VmSwap",
    "Threads", "SigQ", "SigPnd", "ShdPnd", "SigBlk", "SigIgn", "SigCgt", "CapInh", "CapPrm",
    "CapEff", "CapBnd", "CapAmb", "Cpus_allowed_list", NULL};

static const char *yes(int c) { return c ? "yes" : "NO"; }

static int known(const char *key)
{
    for (int i = 0; KEYS[i]; i++)
        if (!strcmp(KEYS[i], key))
            return 1;
    return 0;
}

/* what a value looks like: "N kB", "16 hex", "4 numbers", "text" */
static const char *shape(const char *v)
{
    while (*v == ' ' || *v == '\t')
        v++;
    size_t n = strlen(v);
    if (n > 3 && !strcmp(v + n - 3, " kB"))
        return "N kB";
    if (n == 16 && strspn(v, "0123456789abcdef") == 16)
        return "16 hex";
    int words = 0, digits = 1;
    for (const char *p = v; *p; p++) {
        if (*p != '\t' && *p != ' ' && (p == v || p[-1] == '\t' || p[-1] == ' '))
            words++;
        if (!strchr("0123456789\t /", *p))
            digits = 0;
    }
    if (digits && words > 1)
        return words == 4 ? "4 numbers" : "numbers";
    return digits && words ? "number" : "text";
}

static void *idle(void *arg)
{
    sleep(1000);
    return NULL;
}

static void on_int(int sig) {}

static int read_file(const char *path, char *buf, size_t size)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    size_t n = fread(buf, 1, size - 1, f);
    buf[n] = 0;
    fclose(f);
    return (int)n;
}

int main(void)
{
    static char buf[65536];
    /* masks the stat and status files show */
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, SIGUSR1);
    sigprocmask(SIG_BLOCK, &s, NULL);
    signal(SIGUSR2, SIG_IGN);
    signal(SIGINT, on_int);

    /* stat */
    if (read_file("/proc/self/stat", buf, sizeof buf) < 0)
        return 1;
    char *close = strrchr(buf, ')');
    int n = 2;
    char *f[64] = {0};
    for (char *p = strtok(close + 2, " \n"); p && n < 60; p = strtok(NULL, " \n"))
        f[++n] = p;
    printf("stat: %d fields\n", n);
    printf("stat: pid first: %s\n", yes(atoi(buf) == getpid()));
    printf("stat: state %s\n", f[3] && strchr("RS", f[3][0]) ? "R or S" : f[3]);
    printf("stat: num_threads %s, exit_signal %s\n", f[20], f[38]);
    printf("stat: vsize %s, rss %s\n", yes(atoll(f[23]) > 0), yes(atoll(f[24]) > 0));
    printf("stat: utime, stime numbers: %s\n",
           yes(strspn(f[14], "0123456789") == strlen(f[14]) &&
               strspn(f[15], "0123456789") == strlen(f[15])));
    printf("stat: blocked %s, ignored %s, caught %s\n", f[32], f[33], f[34]);

    /* statm */
    if (read_file("/proc/self/statm", buf, sizeof buf) < 0)
        return 2;
    long v[8];
    int m = sscanf(buf, "%ld %ld %ld %ld %ld %ld %ld %ld", &v[0], &v[1], &v[2], &v[3], &v[4],
                   &v[5], &v[6], &v[7]);
    printf("statm: %d fields, size >= resident > 0: %s\n", m, yes(v[0] >= v[1] && v[1] > 0));

    /* status */
    if (read_file("/proc/self/status", buf, sizeof buf) < 0)
        return 3;
    for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n")) {
        char *colon = strchr(line, ':');
        if (!colon)
            continue;
        *colon = 0;
        if (!known(line))
            continue;
        printf("status: %s: %s", line, shape(colon + 1));
        if (!strcmp(line, "SigBlk") || !strcmp(line, "SigIgn") || !strcmp(line, "SigCgt") ||
            !strcmp(line, "Threads") || !strcmp(line, "State"))
            printf(" %s", colon + 2);
        printf("\n");
    }

    /* threads: task listing in order, a thread's own stat */
    pthread_t t[3];
    for (int i = 0; i < 3; i++)
        pthread_create(&t[i], NULL, idle, NULL);
    usleep(100000);
    DIR *d = opendir("/proc/self/task");
    long last = 0, count = 0, ascending = 1;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        long tid = atol(e->d_name);
        if (tid < last)
            ascending = 0;
        last = tid;
        count++;
        char path[64];
        snprintf(path, sizeof path, "/proc/self/task/%ld/stat", tid);
        if (read_file(path, buf, sizeof buf) < 0 || atol(buf) != tid)
            printf("task %s stat does not start with its tid\n", tid == getpid() ? "main" : "thread");
    }
    closedir(d);
    printf("task: %ld entries, ascending: %s\n", count, yes(ascending));
    if (read_file("/proc/self/stat", buf, sizeof buf) < 0)
        return 4;
    close = strrchr(buf, ')');
    n = 2;
    for (char *p = strtok(close + 2, " \n"); p && n < 60; p = strtok(NULL, " \n"))
        f[++n] = p;
    printf("stat with 4 threads: num_threads %s\n", f[20]);

    /* another process asleep in sigsuspend answers: its status is its own (masks) */
    int ready[2];
    if (pipe(ready))
        return 5;
    pid_t pid = fork();
    if (pid == 0) {
        sigset_t none;
        sigemptyset(&none);
        write(ready[1], "r", 1);
        for (;;)
            sigsuspend(&none);
    }
    char c;
    read(ready[0], &c, 1);
    usleep(200000);
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/status", pid);
    if (read_file(path, buf, sizeof buf) < 0)
        return 6;
    char *st = strstr(buf, "State:");
    printf("sleeping child: %.*s, has SigCgt: %s\n", st ? (int)strcspn(st, "\n") : 0,
           st ? st : "", yes(strstr(buf, "SigCgt:") != NULL));
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);

    printf("dumpable %d", prctl(PR_GET_DUMPABLE));
    printf(", set 0: %d", prctl(PR_SET_DUMPABLE, 0));
    printf(", now %d", prctl(PR_GET_DUMPABLE));
    printf(", set 2: %d\n", prctl(PR_SET_DUMPABLE, 2));
    fflush(stdout);
    _exit(0);
}
