/* Job control between processes: stop signals, SIGCONT, and what the parent
 * sees of them (WUNTRACED, WCONTINUED, waitid's CLD_STOPPED/CLD_CONTINUED,
 * SA_NOCLDSTOP), and SIGCHLD set to SIG_IGN or SA_NOCLDWAIT (no zombies). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t chld_count, cont_seen, tstp_seen;

static void on_chld(int s) { (void)s; chld_count++; }
static void on_cont(int s) { (void)s; cont_seen++; }
static void on_tstp(int s) { (void)s; tstp_seen++; }

static void nap(int ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    while (nanosleep(&ts, &ts) == -1 && errno == EINTR) {}
}

static void show(const char *what, int st)
{
    if (WIFSTOPPED(st))
        printf("%s: stopped by %d\n", what, WSTOPSIG(st));
    else if (WIFCONTINUED(st))
        printf("%s: continued\n", what);
    else if (WIFEXITED(st))
        printf("%s: exited %d\n", what, WEXITSTATUS(st));
    else if (WIFSIGNALED(st))
        printf("%s: killed by %d\n", what, WTERMSIG(st));
}

/* A child that counts in a pipe: while it is stopped the count does not move. */
static void stop_and_continue(void)
{
    int p[2];
    if (pipe(p)) { perror("pipe"); exit(1); }
    pid_t c = fork();
    if (c == 0) {
        close(p[0]);
        signal(SIGCONT, on_cont);
        for (int i = 0; i < 400; i++) {
            if (write(p[1], "x", 1) != 1) _exit(3);
            nap(5);
        }
        _exit(cont_seen ? 7 : 8);
    }
    close(p[1]);
    char buf[512];
    if (read(p[0], buf, 1) != 1) { puts("no first byte"); exit(1); }
    kill(c, SIGSTOP);
    int st = 0;
    pid_t w = waitpid(c, &st, WUNTRACED);
    show(w == c ? "SIGSTOP" : "wrong pid", st);
    nap(100);
    /* drain what came before the stop; nothing more arrives while stopped */
    fcntl(p[0], F_SETFL, fcntl(p[0], F_GETFL) | O_NONBLOCK);
    while (read(p[0], buf, sizeof buf) > 0) {}
    nap(150);
    ssize_t during = read(p[0], buf, sizeof buf);
    printf("bytes while stopped: %zd\n", during < 0 ? 0 : during);
    w = waitpid(c, &st, WUNTRACED | WNOHANG);
    printf("stop reported once: %d\n", w == 0);
    kill(c, SIGCONT);
    w = waitpid(c, &st, WCONTINUED);
    show(w == c ? "SIGCONT" : "wrong pid", st);
    w = waitpid(c, &st, 0);
    show(w == c ? "end" : "wrong pid", st);
    close(p[0]);
}

/* SIGTSTP: a handler runs; the default stops; SIG_IGN does nothing.  Seen by waitid. */
static void tstp_kinds(void)
{
    int go[2];
    if (pipe(go)) { perror("pipe"); exit(1); }
    pid_t c = fork();
    if (c == 0) {
        char b;
        /* its own group, with its parent in another group of the session: not
         * orphaned, so a terminal's stop signal is not discarded */
        setpgid(0, 0);
        signal(SIGTSTP, on_tstp);
        raise(SIGTSTP);                  /* handled: no stop */
        signal(SIGTSTP, SIG_IGN);
        raise(SIGTSTP);                  /* ignored */
        signal(SIGTSTP, SIG_DFL);
        raise(SIGTSTP);                  /* stops until SIGCONT */
        /* an ended child is no longer "continued" to a WCONTINUED-only wait: it
         * stays until the parent has seen that twice */
        if (read(go[0], &b, 1) != 1) _exit(22);
        _exit(tstp_seen == 1 ? 20 : 21);
    }
    siginfo_t si;
    memset(&si, 0, sizeof si);
    int r = waitid(P_PID, c, &si, WSTOPPED);
    printf("waitid stopped: r %d code %s status %d pid ok %d\n", r,
           si.si_code == CLD_STOPPED ? "CLD_STOPPED" : "other", si.si_status, si.si_pid == c);
    kill(c, SIGCONT);
    memset(&si, 0, sizeof si);
    r = waitid(P_PID, c, &si, WCONTINUED | WNOWAIT);
    printf("waitid continued (nowait): r %d code %s status %d\n", r,
           si.si_code == CLD_CONTINUED ? "CLD_CONTINUED" : "other", si.si_status);
    memset(&si, 0, sizeof si);
    r = waitid(P_PID, c, &si, WCONTINUED);
    printf("waitid continued again: r %d code %s\n", r,
           si.si_code == CLD_CONTINUED ? "CLD_CONTINUED" : "other");
    if (write(go[1], "g", 1) != 1) puts("write failed");
    memset(&si, 0, sizeof si);
    r = waitid(P_PID, c, &si, WEXITED);
    printf("waitid exited: r %d code %s status %d\n", r,
           si.si_code == CLD_EXITED ? "CLD_EXITED" : "other", si.si_status);
    close(go[0]);
    close(go[1]);
}

/* SIGCHLD for stops comes unless SA_NOCLDSTOP. */
static void nocldstop(int flag)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_chld;
    sa.sa_flags = flag;
    sigaction(SIGCHLD, &sa, NULL);
    chld_count = 0;
    pid_t c = fork();
    if (c == 0) {
        raise(SIGSTOP);
        _exit(5);
    }
    int st;
    waitpid(c, &st, WUNTRACED);
    nap(50);
    int after_stop = chld_count;
    kill(c, SIGCONT);
    waitpid(c, &st, 0);
    nap(50);
    printf("SA_NOCLDSTOP %d: SIGCHLD after stop %d, in all %s\n", flag != 0, after_stop,
           chld_count >= 2 ? "2+" : chld_count == 1 ? "1" : "0");
    signal(SIGCHLD, SIG_DFL);
}

/* No zombies: SIGCHLD ignored, or SA_NOCLDWAIT; wait then finds no child. */
static void no_zombies(int how)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = how ? on_chld : SIG_IGN;
    sa.sa_flags = how ? SA_NOCLDWAIT : 0;
    sigaction(SIGCHLD, &sa, NULL);
    pid_t c = fork();
    if (c == 0)
        _exit(4);
    int st;
    errno = 0;
    pid_t w = waitpid(c, &st, 0);     /* blocks until the child is gone, then ECHILD */
    printf("%s: wait %d errno %s\n", how ? "SA_NOCLDWAIT" : "SIG_IGN", (int)w,
           errno == ECHILD ? "ECHILD" : strerror(errno));
    signal(SIGCHLD, SIG_DFL);
}

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    stop_and_continue();
    tstp_kinds();
    nocldstop(0);
    nocldstop(SA_NOCLDSTOP);
    no_zombies(0);
    no_zombies(1);
    return 0;
}
