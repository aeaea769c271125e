/* vfork and posix_spawn: the child shares the parent's memory until it execs or
   exits, the parent sleeps until then, and posix_spawn reports an exec failure
   through that shared memory. */
#include <errno.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;
static volatile int shared_global = 1;

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IONBF, 0);
    if (argc > 1) {                       /* re-executed: say who we are and exit */
        printf("exec'd child: %s, parent alive %d\n", argv[1], getppid() > 1);
        return atoi(argv[2]);
    }
    int st;
    pid_t c = vfork();
    if (c == 0) {
        shared_global = 42;               /* the parent's memory: it sees this */
        _exit(3);
    }
    waitpid(c, &st, 0);
    printf("vfork child wrote the parent's global: %d, exit %d\n", shared_global, WEXITSTATUS(st));

    c = vfork();
    if (c == 0) {
        char *args[] = {argv[0], "after-vfork", "5", NULL};
        shared_global = 7;                /* the parent resumes only after this and the exec */
        execve("/proc/self/exe", args, environ);
        _exit(127);
    }
    int seen = shared_global;
    waitpid(c, &st, 0);
    printf("parent resumed once the child had exec'd: %d; its exit %d\n", seen == 7,
           WEXITSTATUS(st));

    char *args[] = {argv[0], "spawned", "7", NULL};
    pid_t sp;
    int r = posix_spawn(&sp, "/proc/self/exe", NULL, NULL, args, environ);
    waitpid(sp, &st, 0);
    printf("posix_spawn: %d, exit %d\n", r, WEXITSTATUS(st));
    r = posix_spawn(&sp, "/no/such/program", NULL, NULL, args, environ);
    printf("posix_spawn of a missing program: %s\n", strerror(r));

    /* PR_SET_PDEATHSIG: the grandchild hears of its parent's end */
    int p[2];
    pipe(p);
    c = fork();
    if (c == 0) {
        pid_t g = fork();
        if (g == 0) {
            prctl(PR_SET_PDEATHSIG, SIGUSR1);
            int sig = 0;
            prctl(PR_GET_PDEATHSIG, &sig);
            sigset_t set;
            sigemptyset(&set);
            sigaddset(&set, SIGUSR1);
            sigprocmask(SIG_BLOCK, &set, NULL);
            write(p[1], "r", 1);
            int got = sigwaitinfo(&set, NULL);
            printf("grandchild: pdeathsig %d, got %d after its parent ended\n", sig, got);
            _exit(0);
        }
        char b;
        read(p[0], &b, 1);
        _exit(0);
    }
    waitpid(c, &st, 0);
    close(p[1]);
    char b;
    while (read(p[0], &b, 1) > 0) {}
    usleep(300000);
    return 0;
}
