/* The siginfo of signals another process sends: kill's si_pid and si_uid,
 * sigqueue's si_value (real-time ones queued in order), and SIGCHLD's si_code,
 * si_pid and si_status for a child that stops, continues and exits. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX 16
static volatile sig_atomic_t n;
static struct { int signo, code, pid_ok, uid, value, status; } seen[MAX];
static pid_t child;

static void on_sig(int s, siginfo_t *si, void *uc)
{
    (void)uc;
    if (n >= MAX) return;
    seen[n].signo = s;
    seen[n].code = si->si_code;
    seen[n].pid_ok = si->si_pid == child;
    seen[n].uid = si->si_uid;
    seen[n].value = (s == SIGCHLD) ? 0 : si->si_value.sival_int;
    seen[n].status = (s == SIGCHLD) ? si->si_status : 0;
    n++;
}

static void wait_for(int count)
{
    sigset_t none;
    sigemptyset(&none);
    while (n < count)
        sigsuspend(&none);
}

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_sig;
    sa.sa_flags = SA_SIGINFO | SA_RESTART;
    sigset_t block;
    sigemptyset(&block);
    int sigs[] = { SIGUSR1, SIGUSR2, SIGRTMIN + 1, SIGCHLD };
    for (unsigned i = 0; i < sizeof sigs / sizeof *sigs; i++) {
        sigaction(sigs[i], &sa, NULL);
        sigaddset(&block, sigs[i]);
    }
    sigprocmask(SIG_BLOCK, &block, NULL);
    int go[2];
    if (pipe(go)) return 1;
    child = fork();
    if (child == 0) {
        pid_t parent = getppid();
        union sigval v;
        char c;
        kill(parent, SIGUSR1);
        if (read(go[0], &c, 1) != 1) _exit(9);
        v.sival_int = 77;
        sigqueue(parent, SIGUSR2, v);
        if (read(go[0], &c, 1) != 1) _exit(9);
        for (int i = 1; i <= 3; i++) {
            v.sival_int = i;
            sigqueue(parent, SIGRTMIN + 1, v);
        }
        if (read(go[0], &c, 1) != 1) _exit(9);
        raise(SIGSTOP);
        if (read(go[0], &c, 1) != 1) _exit(9);   /* two SIGCHLDs never merge into one */
        _exit(5);
    }
    wait_for(1);
    if (write(go[1], "g", 1) != 1) return 1;
    wait_for(2);
    /* the three real-time ones stay blocked until all are queued */
    sigset_t rt;
    sigemptyset(&rt);
    sigaddset(&rt, SIGRTMIN + 1);
    if (write(go[1], "g", 1) != 1) return 1;
    sigprocmask(SIG_BLOCK, &rt, NULL);
    for (;;) {
        sigset_t p;
        sigpending(&p);
        if (sigismember(&p, SIGRTMIN + 1)) break;
        usleep(10000);
    }
    usleep(300000);
    wait_for(2);
    sigset_t none;
    sigemptyset(&none);
    while (n < 5) sigsuspend(&none);
    if (write(go[1], "g", 1) != 1) return 1;
    wait_for(6);                       /* SIGCHLD: stopped */
    int st;
    waitpid(child, &st, WUNTRACED);
    kill(child, SIGCONT);
    wait_for(7);                       /* SIGCHLD: continued */
    waitpid(child, &st, WCONTINUED);
    if (write(go[1], "g", 1) != 1) return 1;
    wait_for(8);                       /* SIGCHLD: exited */
    waitpid(child, &st, 0);
    for (int i = 0; i < n; i++) {
        const char *name = seen[i].signo == SIGUSR1 ? "USR1" : seen[i].signo == SIGUSR2 ? "USR2"
                         : seen[i].signo == SIGCHLD ? "CHLD" : "RTMIN+1";
        printf("%s code %d pid %s uid %d value %d status %d\n", name, seen[i].code,
               seen[i].pid_ok ? "child" : "other", seen[i].uid, seen[i].value, seen[i].status);
    }
    return 0;
}
