/* Processes: N times fork + execve of /bin/true (the rootfs's, dynamically
   linked coreutils) + wait. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>
int main(int argc, char **argv) {
    long n = argc > 1 ? atol(argv[1]) : 50;
    char *const args[] = {"true", NULL};
    char *const env[] = {"PATH=/usr/bin:/bin", NULL};
    long ok = 0;
    for (long i = 0; i < n; i++) {
        pid_t pid = fork();
        if (pid < 0) { perror("fork"); return 1; }
        if (pid == 0) {
            execve("/bin/true", args, env);
            _exit(127);
        }
        int status;
        if (waitpid(pid, &status, 0) != pid) { perror("waitpid"); return 1; }
        ok += WIFEXITED(status) && WEXITSTATUS(status) == 0;
    }
    printf("%ld children, %ld exited 0\n", n, ok);
    return 0;
}
