/* fork, exit statuses and wait: what a shell needs of processes.
   Prints facts that hold on Linux whatever the pids are. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

static int private_word = 11;

static void show(const char *what, int st) {
    if (WIFEXITED(st)) printf("%s: exited %d\n", what, WEXITSTATUS(st));
    else if (WIFSIGNALED(st)) printf("%s: killed by %d\n", what, WTERMSIG(st));
    else printf("%s: status %#x\n", what, st);
}

int main(void) {
    int st;
    setvbuf(stdout, NULL, _IONBF, 0);
    errno = 0;
    printf("wait with no child: %d %s\n", wait(&st), strerror(errno));

    /* a tree: three children with their own exit codes, reaped in a chosen order */
    pid_t kids[3];
    for (int i = 0; i < 3; i++) {
        kids[i] = fork();
        if (kids[i] == 0) _exit(10 + i);
    }
    for (int i = 2; i >= 0; i--) {
        pid_t got = waitpid(kids[i], &st, 0);
        printf("child %d reaped by pid: %d; ", i, got == kids[i]);
        show("status", st);
    }

    /* copy-on-write: the child's writes stay its own */
    int *shared = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    char *heap = malloc(100000);
    memset(heap, 'p', 100000);
    *shared = 0;
    pid_t me = getpid();
    pid_t c = fork();
    if (c == 0) {
        private_word = 99;
        memset(heap, 'c', 100000);
        for (int i = 0; i < 1000; i++) __atomic_fetch_add(shared, 1, __ATOMIC_SEQ_CST);
        printf("child: parent is me %d, private %d, heap %c\n", getppid() == me, private_word, heap[5000]);
        _exit(0);
    }
    for (int i = 0; i < 1000; i++) __atomic_fetch_add(shared, 1, __ATOMIC_SEQ_CST);
    waitpid(c, &st, 0);
    printf("parent: private %d, heap %c%c, shared counter %d\n", private_word, heap[0], heap[99999], *shared);

    /* killed children */
    c = fork();
    if (c == 0) { kill(getpid(), SIGKILL); _exit(1); }
    waitpid(c, &st, 0);
    show("kill SIGKILL self", st);
    c = fork();
    if (c == 0) { *(volatile int *)8 = 1; _exit(1); }
    waitpid(c, &st, 0);
    printf("segfaulting child: killed by %d\n", WIFSIGNALED(st) ? WTERMSIG(st) : -1);
    int p[2];
    pipe(p);
    c = fork();
    if (c == 0) { char b; close(p[1]); read(p[0], &b, 1); _exit(7); }
    close(p[0]);
    printf("WNOHANG while it runs: %d\n", waitpid(c, &st, WNOHANG));
    printf("kill SIGTERM to child: %d\n", kill(c, SIGTERM));
    waitpid(c, &st, 0);
    show("terminated child", st);
    close(p[1]);

    /* waitid: WNOWAIT leaves it a zombie, the next wait reaps it */
    c = fork();
    if (c == 0) _exit(42);
    siginfo_t si;
    memset(&si, 0, sizeof si);
    int r = waitid(P_PID, c, &si, WEXITED | WNOWAIT);
    printf("waitid WNOWAIT: %d signo %d code %d status %d pid ok %d\n", r, si.si_signo,
           si.si_code, si.si_status, si.si_pid == c);
    r = waitid(P_ALL, 0, &si, WEXITED);
    printf("waitid again: %d code %d status %d pid ok %d\n", r, si.si_code, si.si_status, si.si_pid == c);
    errno = 0;
    printf("then: %d %s\n", waitpid(-1, &st, WNOHANG), strerror(errno));
    errno = 0;
    printf("waitid bad options: %d %s\n", waitid(P_ALL, 0, &si, 0), strerror(errno));
    errno = 0;
    printf("kill no such pid: %d %s\n", kill(c, 0), strerror(errno));

    /* process groups */
    c = fork();
    if (c == 0) {
        printf("child pgid is parent's: %d\n", getpgid(0) == getpgid(getppid()));
        printf("setpgid(0,0): %d, leads its group %d\n", setpgid(0, 0), getpgid(0) == getpid());
        printf("setsid as a group leader: %d %s\n", setsid(), strerror(errno));
        pid_t g = fork();
        if (g == 0) {
            pid_t s = setsid();
            printf("grandchild setsid: ok %d, sid %d pgid %d\n", s == getpid(), getsid(0) == getpid(), getpgid(0) == getpid());
            _exit(0);
        }
        waitpid(g, &st, 0);
        _exit(0);
    }
    waitpid(c, &st, 0);
    c = fork();
    if (c == 0) { pause(); _exit(0); }
    setpgid(c, c);
    printf("kill(-pgid): %d\n", kill(-c, SIGTERM));
    waitpid(c, &st, 0);
    show("group member", st);
    return 0;
}
