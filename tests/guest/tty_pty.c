/* A pty of the program's own: openpty, forkpty (a new session whose
 * controlling terminal is the slave), termios on it, /dev/tty in the child,
 * job-control ioctls, and EIO on the master once the slave side is gone. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pty.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    int m, s;
    char name[64];
    if (openpty(&m, &s, name, NULL, NULL)) { perror("openpty"); return 1; }
    printf("openpty: %s, isatty %d %d\n", strncmp(name, "/dev/pts/", 9) ? "odd name" : "/dev/pts/N",
           isatty(m), isatty(s));
    /* canonical mode with echo: the line comes back on the master too */
    if (write(m, "abc\n", 4) != 4) perror("write");
    char buf[64] = {0};
    ssize_t n = read(s, buf, sizeof buf - 1);
    printf("slave read %zd: %s", n, buf);
    memset(buf, 0, sizeof buf);
    n = read(m, buf, sizeof buf - 1);
    printf("echo on master %zd: %s\n", n, n > 0 && buf[n - 2] == '\r' ? "abc CR LF" : "other");
    struct termios tio;
    tcgetattr(s, &tio);
    tio.c_lflag &= ~(ICANON | ECHO);
    tcsetattr(s, TCSANOW, &tio);
    if (write(m, "z", 1) != 1) perror("write");
    n = read(s, buf, 1);
    printf("raw read %zd %c\n", n, buf[0]);
    pid_t fg;
    errno = 0;
    fg = tcgetpgrp(s);           /* not this process's controlling terminal */
    printf("tcgetpgrp of another terminal: %d %s\n", (int)fg, strerror(errno));
    close(m);
    close(s);

    pid_t c = forkpty(&m, NULL, NULL, NULL);
    if (c == 0) {
        int tty = open("/dev/tty", O_RDWR);
        printf("child: session leader %d, foreground %d, /dev/tty %s, sid==ttysid %d\n",
               getsid(0) == getpid(), tcgetpgrp(0) == getpgrp(), tty >= 0 ? "opens" : "fails",
               tcgetsid(0) == getsid(0));
        char line[32] = {0};
        if (fgets(line, sizeof line, stdin))
            printf("child got %s", line);
        _exit(5);
    }
    FILE *from = fdopen(m, "r+");
    char out[256];
    if (!fgets(out, sizeof out, from)) { puts("no line from child"); return 1; }
    printf("parent saw: %s", out);
    fputs("ping\n", from);
    fflush(from);
    int lines = 0;
    while (fgets(out, sizeof out, from)) {
        if (strstr(out, "child got"))
            printf("parent saw: %s", out);
        lines++;
    }
    printf("master after the child: %s\n", errno == EIO ? "EIO" : strerror(errno));
    int st;
    waitpid(c, &st, 0);
    printf("child exit %d\n", WEXITSTATUS(st));
    return 0;
}
