/* An orphan is reparented (to the machine's first process under mkemu, to the
   host's init or subreaper natively) and a zombie stays until reaped. */
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void) {
    int p[2], q[2], r[2], st;
    setvbuf(stdout, NULL, _IONBF, 0);
    pipe(p);
    pipe(q);
    pipe(r);
    pid_t mid = fork();
    if (mid == 0) {
        pid_t g = fork();
        if (g == 0) {
            char b;
            pid_t before = getppid();
            write(r[1], "r", 1);               /* the middle may go now */
            close(p[1]);
            read(p[0], &b, 1);                 /* until the middle process is gone */
            for (int i = 0; i < 200 && getppid() == before; i++) usleep(10000);
            printf("orphan: reparented %d\n", getppid() != before);
            write(q[1], "x", 1);
            _exit(0);
        }
        char b;
        read(r[0], &b, 1);
        _exit(5);
    }
    close(p[0]);
    waitpid(mid, &st, 0);
    printf("middle exited %d\n", WEXITSTATUS(st));
    close(p[1]);                               /* lets the orphan look */
    char b;
    read(q[0], &b, 1);
    /* a zombie: its status waits for us */
    pid_t z = fork();
    if (z == 0) _exit(9);
    usleep(100000);
    printf("zombie reaped: %d ", waitpid(z, &st, 0) == z);
    printf("status %d\n", WEXITSTATUS(st));
    return 0;
}
