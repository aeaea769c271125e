/* N times: fork, the child exits with a code, the parent waits and checks it. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv) {
    long n = argc > 1 ? atol(argv[1]) : 100;
    long bad = 0;
    for (long i = 0; i < n; i++) {
        pid_t c = fork();
        if (c < 0) { perror("fork"); return 1; }
        if (c == 0) _exit((int)(i & 63));
        int st;
        if (waitpid(c, &st, 0) != c || !WIFEXITED(st) || WEXITSTATUS(st) != (i & 63)) bad++;
    }
    printf("%ld cycles, %ld wrong statuses\n", n, bad);
    return bad != 0;
}
