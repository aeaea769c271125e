/* Nice values: setpriority sticks and getpriority reads it back, /proc/self/stat
 * shows it (a thread's task stat its own), a fork child and a thread inherit it, a parent renices its child by
 * pid and by process group, bad arguments fail as in Linux, and a process that
 * drops root may raise its value but not lower it, nor touch another user's
 * process.  Values are taken relative to the one the program starts with.  Prints
 * only comparisons, for the native run's output to be the same. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *yes(int ok) { return ok ? "yes" : "no"; }

static int stat_nice_at(const char *path)
{
    char buf[1024], *p;
    FILE *f = fopen(path, "r");
    int n = 0, nice = -100;
    if (!f || !fgets(buf, sizeof buf, f))
        return nice;
    fclose(f);
    p = strrchr(buf, ')');                 /* fields after the command name */
    for (char *tok = strtok(p + 2, " "); tok; tok = strtok(NULL, " "))
        if (++n == 17)                     /* field 19: nice */
            nice = atoi(tok);
    return nice;
}

static int stat_nice(void) { return stat_nice_at("/proc/self/stat"); }

static int thread_nice;

/* a thread that sets its own nice value, then reads its own and its process's stat */
static int sibling_set[2], sibling_go[2];
static int sibling_tid, sibling_own_stat, sibling_process_stat;

static void *sibling(void *arg)
{
    char c;
    sibling_tid = gettid();
    setpriority(PRIO_PROCESS, sibling_tid, *(int *)arg);
    sibling_own_stat = stat_nice_at("/proc/thread-self/stat");
    sibling_process_stat = stat_nice();
    if (write(sibling_set[1], "x", 1) != 1 || read(sibling_go[0], &c, 1) != 1)
        return NULL;
    return NULL;
}

static void *in_thread(void *arg)
{
    (void)arg;
    thread_nice = getpriority(PRIO_PROCESS, 0);
    return NULL;
}

/* a child that waits for a byte on fd, then exits with its nice value + 20 */
static pid_t waiting_child(int fds[2])
{
    if (pipe(fds) != 0)
        return -1;
    pid_t pid = fork();
    if (pid == 0) {
        char c;
        close(fds[1]);
        if (read(fds[0], &c, 1) != 1)
            _exit(100);
        _exit(getpriority(PRIO_PROCESS, 0) + 20);
    }
    close(fds[0]);
    return pid;
}

static int release(pid_t pid, int fds[2])
{
    int status;
    if (write(fds[1], "x", 1) != 1)
        return -100;
    close(fds[1]);
    if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
        return -100;
    return WEXITSTATUS(status) - 20;
}

int main(void)
{
    errno = 0;
    int base = getpriority(PRIO_PROCESS, 0);
    if (base > 10)
        return 1;                           /* no room above it for the checks below */
    printf("getpriority reads a nice value: %s\n", yes(errno == 0));
    printf("setpriority sticks: %s\n",
           yes(setpriority(PRIO_PROCESS, 0, base + 3) == 0 && getpriority(PRIO_PROCESS, 0) == base + 3));
    printf("/proc/self/stat shows it: %s\n", yes(stat_nice() == base + 3));

    pthread_t th;
    pthread_create(&th, NULL, in_thread, NULL);
    pthread_join(th, NULL);
    printf("a new thread inherits it: %s\n", yes(thread_nice == base + 3));

    /* a thread's own value shows in its task's stat; /proc/PID/stat is the process's
     * first thread's, whichever thread reads it */
    int value = base + 5;
    char c, path[64];
    if (pipe(sibling_set) != 0 || pipe(sibling_go) != 0)
        return 1;
    pthread_create(&th, NULL, sibling, &value);
    if (read(sibling_set[0], &c, 1) != 1)
        return 1;
    snprintf(path, sizeof path, "/proc/self/task/%d/stat", sibling_tid);
    printf("a thread's task stat shows its own: %s\n",
           yes(stat_nice_at(path) == base + 5 && sibling_own_stat == base + 5));
    printf("the process's stat shows the first thread's: %s\n",
           yes(stat_nice() == base + 3 && sibling_process_stat == base + 3));
    if (write(sibling_go[1], "x", 1) != 1)
        return 1;
    pthread_join(th, NULL);

    int fds[2];
    pid_t child = waiting_child(fds);
    printf("a fork child inherits it: %s\n", yes(release(child, fds) == base + 3));

    child = waiting_child(fds);
    int set = setpriority(PRIO_PROCESS, child, base + 5);
    printf("a parent renices its child by pid: %s\n", yes(set == 0 && release(child, fds) == base + 5));

    child = waiting_child(fds);
    set = setpriority(PRIO_PGRP, 0, base + 6);
    int mine = getpriority(PRIO_PROCESS, 0);
    printf("and by process group, itself too: %s\n",
           yes(set == 0 && mine == base + 6 && release(child, fds) == base + 6));

    errno = 0;
    int r = getpriority(PRIO_PROCESS, 0x3fffffff);
    printf("an unused pid: ESRCH: %s\n", yes(r == -1 && errno == ESRCH));
    errno = 0;
    r = setpriority(7, 0, 0);
    printf("a bad which: EINVAL: %s\n", yes(r == -1 && errno == EINVAL));
    r = setpriority(PRIO_PROCESS, 0, 100);
    printf("a value past 19 is 19: %s\n", yes(r == 0 && getpriority(PRIO_PROCESS, 0) == 19));
    setpriority(PRIO_PROCESS, 0, base + 3);

    if (getuid() != 0) {                    /* natively not root: nothing to drop */
        printf("as a user, raising is allowed: yes\nlowering is EACCES: yes\n"
               "a process of a different user is EPERM: yes\n");
        return 0;
    }
    pid_t parent = getpid();
    fflush(stdout);
    pid_t user = fork();
    if (user == 0) {
        if (setuid(65534) != 0)
            _exit(1);
        printf("as a user, raising is allowed: %s\n",
               yes(setpriority(PRIO_PROCESS, 0, base + 4) == 0 && getpriority(PRIO_PROCESS, 0) == base + 4));
        errno = 0;
        r = setpriority(PRIO_PROCESS, 0, base + 2);
        printf("lowering is EACCES: %s\n", yes(r == -1 && errno == EACCES));
        errno = 0;
        r = setpriority(PRIO_PROCESS, parent, base + 4);
        printf("a process of a different user is EPERM: %s\n", yes(r == -1 && errno == EPERM));
        fflush(stdout);
        _exit(0);
    }
    int status;
    waitpid(user, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}
