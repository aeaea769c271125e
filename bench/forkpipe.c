/* Processes: N times fork + pipe; the child writes a message, the parent
   reads it to the end and waits for the child's exit status. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
int main(int argc, char **argv) {
    long n = argc > 1 ? atol(argv[1]) : 50;
    long bytes = 0, statuses = 0;
    for (long i = 0; i < n; i++) {
        int fds[2];
        if (pipe(fds) != 0) { perror("pipe"); return 1; }
        pid_t pid = fork();
        if (pid < 0) { perror("fork"); return 1; }
        if (pid == 0) {
            char msg[64];
            int len = snprintf(msg, sizeof msg, "hello from child %ld\n", i);
            close(fds[0]);
            if (write(fds[1], msg, len) != len) _exit(1);
            _exit((int)(i % 7));
        }
        close(fds[1]);
        char buf[256];
        ssize_t r;
        while ((r = read(fds[0], buf, sizeof buf)) > 0)
            bytes += r;
        close(fds[0]);
        int status;
        if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status)) { perror("waitpid"); return 1; }
        statuses += WEXITSTATUS(status);
    }
    printf("%ld children, %ld bytes, exit statuses sum %ld\n", n, bytes, statuses);
    return 0;
}
