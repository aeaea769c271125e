#define _GNU_SOURCE
/* What a parent sleeping in waitpid sees of SIGCHLD, by how it takes it, and what it
 * sees of the child after: each case forks a child that sleeps a little (so the parent
 * is inside waitpid when it ends) and prints what Linux gives.
 *   default, unblocked: nothing pending after the wait (the signal was discarded)
 *   default, blocked:   SIGCHLD pending after the wait, sigwaitinfo names the child
 *   a handler:          it runs once, with the child's pid
 *   SA_NOCLDSTOP:       no SIGCHLD for a stop (WUNTRACED sees it), one for the end
 *   SIG_IGN:            no zombie: waitpid sleeps until the child ends, then ECHILD
 *   a child killed by SIGTERM: WIFSIGNALED 15; /proc/PID is there for a zombie, gone
 *   once reaped (stat and a listing of /proc)
 *   many children whose end races with their parent's waitpid: every status right */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile int runs, last_pid;

static void on_chld(int sig, siginfo_t *si, void *ctx)
{
    (void)sig;
    (void)ctx;
    runs++;
    last_pid = si->si_pid;
}

static void nap(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

static pid_t child_exiting(int code, long ms)
{
    pid_t pid = fork();
    if (pid < 0) {
        perror("fork");
        exit(1);
    }
    if (pid == 0) {
        nap(ms);
        _exit(code);
    }
    return pid;
}

static void set_chld(void (*fn)(int, siginfo_t *, void *), int flags, void (*plain)(int))
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sigemptyset(&sa.sa_mask);
    if (fn) {
        sa.sa_sigaction = fn;
        sa.sa_flags = SA_SIGINFO | SA_RESTART | flags;
    } else {
        sa.sa_handler = plain;
        sa.sa_flags = flags;
    }
    sigaction(SIGCHLD, &sa, NULL);
}

static int chld_pending(void)
{
    sigset_t p;
    sigpending(&p);
    return sigismember(&p, SIGCHLD);
}

static void block_chld(int how)
{
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, SIGCHLD);
    sigprocmask(how, &s, NULL);
}

static int in_proc_listing(pid_t pid)
{
    char name[32];
    struct dirent *e;
    int found = 0;
    DIR *d = opendir("/proc");
    if (!d)
        return -1;
    snprintf(name, sizeof name, "%d", pid);
    while ((e = readdir(d)) != NULL)
        found |= strcmp(e->d_name, name) == 0;
    closedir(d);
    return found;
}

static int proc_entry(pid_t pid)
{
    char path[48];
    struct stat st;
    snprintf(path, sizeof path, "/proc/%d", pid);
    return stat(path, &st) == 0;
}

int main(void)
{
    int status, rc;
    pid_t pid;

    /* SIG_DFL, unblocked */
    set_chld(NULL, 0, SIG_DFL);
    pid = child_exiting(3, 50);
    rc = waitpid(pid, &status, 0);
    printf("default: waited %d, exit %d, pending after %d\n", rc == pid, WEXITSTATUS(status),
           chld_pending());

    /* SIG_DFL, blocked: the signal stays pending, with the child's siginfo */
    block_chld(SIG_BLOCK);
    pid = child_exiting(4, 50);
    rc = waitpid(pid, &status, 0);
    {
        int pending = chld_pending();
        sigset_t s;
        siginfo_t si;
        struct timespec zero = {0, 0};
        memset(&si, 0, sizeof si);
        sigemptyset(&s);
        sigaddset(&s, SIGCHLD);
        int got = sigtimedwait(&s, &si, &zero);
        printf("default blocked: waited %d, exit %d, pending after %d, sigtimedwait %d pid ok %d "
               "code %d status %d\n", rc == pid, WEXITSTATUS(status), pending, got,
               si.si_pid == pid, si.si_code, si.si_status);
    }
    block_chld(SIG_UNBLOCK);

    /* a handler: it runs once, naming the child */
    runs = 0;
    set_chld(on_chld, 0, NULL);
    pid = child_exiting(5, 50);
    rc = waitpid(pid, &status, 0);
    printf("handler: waited %d, exit %d, runs %d, pid ok %d\n", rc == pid, WEXITSTATUS(status),
           runs, last_pid == pid);

    /* SA_NOCLDSTOP: a stop seen by WUNTRACED, no SIGCHLD for it; one for the end */
    runs = 0;
    set_chld(on_chld, SA_NOCLDSTOP, NULL);
    pid = fork();
    if (pid == 0) {
        nap(30);
        raise(SIGSTOP);
        _exit(6);
    }
    rc = waitpid(pid, &status, WUNTRACED);
    printf("nocldstop: stopped %d by %d, runs %d\n", rc == pid && WIFSTOPPED(status),
           WSTOPSIG(status), runs);
    kill(pid, SIGCONT);
    rc = waitpid(pid, &status, 0);
    printf("nocldstop: waited %d, exit %d, runs %d\n", rc == pid, WEXITSTATUS(status), runs);

    /* killed by a signal; /proc/PID of the zombie, then of the reaped child */
    set_chld(NULL, 0, SIG_DFL);
    pid = fork();
    if (pid == 0) {
        for (;;)
            pause();
    }
    kill(pid, SIGTERM);
    {
        siginfo_t si;
        memset(&si, 0, sizeof si);
        waitid(P_PID, pid, &si, WEXITED | WNOWAIT);        /* a zombie now */
        int zombie_stat = proc_entry(pid), zombie_listed = in_proc_listing(pid);
        rc = waitpid(pid, &status, 0);
        printf("killed: waited %d, signaled %d by %d; zombie /proc entry %d listed %d; "
               "reaped entry %d listed %d\n", rc == pid, WIFSIGNALED(status), WTERMSIG(status),
               zombie_stat, zombie_listed, proc_entry(pid), in_proc_listing(pid));
    }
    /* the same for a child that ends while its parent sleeps in waitpid */
    pid = child_exiting(8, 50);
    rc = waitpid(pid, &status, 0);
    printf("reaped while waiting: waited %d, exit %d, entry %d listed %d\n", rc == pid,
           WEXITSTATUS(status), proc_entry(pid), in_proc_listing(pid));

    /* SIG_IGN: the child leaves no zombie; waitpid sleeps until it is gone: ECHILD */
    set_chld(NULL, 0, SIG_IGN);
    pid = child_exiting(7, 50);
    errno = 0;
    rc = waitpid(pid, &status, 0);
    printf("ignored: waitpid %d errno ECHILD %d, entry %d\n", rc, errno == ECHILD,
           proc_entry(pid));
    set_chld(NULL, 0, SIG_DFL);

    /* children ending at once, around their parent's waitpid */
    int wrong = 0;
    for (int i = 0; i < 40; i++) {
        pid = fork();
        if (pid == 0)
            _exit(i & 0x7f);
        rc = waitpid(pid, &status, 0);
        wrong += rc != pid || !WIFEXITED(status) || WEXITSTATUS(status) != (i & 0x7f);
    }
    printf("races: 40 rounds, wrong %d, pending after %d\n", wrong, chld_pending());
    return 0;
}
