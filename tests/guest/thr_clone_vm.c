/* clone(CLONE_VM | SIGCHLD) through glibc's clone(): a child PROCESS (its own
 * pid, reaped with waitpid) that runs on a stack we gave it in OUR memory.
 * Its writes to a global are seen by the parent, its return value becomes
 * its exit status, and it is reported by SIGCHLD like a forked child.  With
 * CLONE_VFORK added the parent resumes only once the child has exited.
 * The child uses no stdio: it shares the parent's TLS and locks.
 * (qemu-user refuses CLONE_VM without the thread flags with EINVAL, so this is
 * checked against the same source run natively.) */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define STACK_SIZE (256 * 1024)
static volatile long shared;
static volatile pid_t child_saw_pid, child_saw_ppid;
static volatile int sigchld_seen;

static int child(void *arg)
{
    child_saw_pid = syscall(SYS_getpid);
    child_saw_ppid = syscall(SYS_getppid);
    shared = (long)arg * 2;
    return 7;
}

static void on_chld(int sig)
{
    sigchld_seen++;
}

static void run(const char *what, int flags, long arg)
{
    char *stack = malloc(STACK_SIZE);
    int status = 0;
    shared = 0;
    sigchld_seen = 0;
    pid_t pid = clone(child, stack + STACK_SIZE, flags, (void *)arg);
    if (pid < 0) {
        printf("%s: clone failed: %s\n", what, strerrorname_np(errno));
        free(stack);
        return;
    }
    long right_away = shared;      /* with CLONE_VFORK the child has already run */
    pid_t w = waitpid(pid, &status, 0);
    for (int i = 0; i < 2000 && !sigchld_seen; i++)
        usleep(1000);              /* Linux has run the handler by now; allow a late one */
    printf("%s: waitpid %s, exit status %d, shared %ld\n", what,
           w == pid ? "ok" : "WRONG", WIFEXITED(status) ? WEXITSTATUS(status) : -1, shared);
    printf("%s: child pid is clone's result: %s, its parent is us: %s, not our pid: %s\n", what,
           child_saw_pid == pid ? "yes" : "NO", child_saw_ppid == getpid() ? "yes" : "NO",
           child_saw_pid != getpid() ? "yes" : "NO");
    printf("%s: SIGCHLD %d\n", what, sigchld_seen);
    if (flags & CLONE_VFORK)
        printf("%s: write seen before waitpid: %s\n", what, right_away == arg * 2 ? "yes" : "NO");
    free(stack);
}

int main(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_chld;
    sigaction(SIGCHLD, &sa, NULL);
    run("CLONE_VM", CLONE_VM | SIGCHLD, 21);
    run("CLONE_VM|CLONE_VFORK", CLONE_VM | CLONE_VFORK | SIGCHLD, 50);
    return 0;
}
