/* A descriptor number that named a file which never blocks (a regular file,
   /dev/null) comes to name an empty or full pipe -- through dup2, close and
   pipe, dup3, fcntl(F_DUPFD) -- and a blocking read or write on it must sleep
   until a signal interrupts it (EINTR), as it did before the number was reused. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

static volatile sig_atomic_t alarms;
static void on_alarm(int sig) { (void)sig; alarms++; }

static void arm(void) {
    struct itimerval it = {{0, 0}, {0, 200000}};      /* one SIGALRM in 0.2 s */
    setitimer(ITIMER_REAL, &it, NULL);
}

/* touch fd as a plain file first, so whatever mkemu knows of it is "never waits" */
static void use_plain(int fd) {
    char c;
    if (write(fd, "x", 1) != 1 && read(fd, &c, 1) < 0) perror("use_plain");
}

static void blocking_read(const char *how, int fd) {
    char buf[8];
    arm();
    ssize_t r = read(fd, buf, sizeof buf);
    printf("%s: read = %zd %s (alarms %d)\n", how, r, r < 0 ? strerror(errno) : "", (int)alarms);
}

static void blocking_write_full(const char *how, int fd) {
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    static char chunk[4096];
    while (write(fd, chunk, sizeof chunk) > 0) {}       /* fill the pipe */
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    arm();
    ssize_t r = write(fd, "y", 1);
    printf("%s: write = %zd %s (alarms %d)\n", how, r, r < 0 ? strerror(errno) : "", (int)alarms);
}

int main(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alarm;                           /* no SA_RESTART: EINTR */
    sigaction(SIGALRM, &sa, NULL);
    char path[] = "/tmp/fd_reuse_waitXXXXXX";
    int file = mkstemp(path);
    if (file < 0) { perror("mkstemp"); return 1; }
    unlink(path);
    int null = open("/dev/null", O_RDWR);
    int p[2];

    /* dup2 over a regular file's number */
    use_plain(file);
    if (pipe(p) != 0) return 1;
    dup2(p[0], file);
    blocking_read("dup2 read end over a file", file);
    dup2(p[1], file);
    blocking_write_full("dup2 write end over a file", file);
    close(p[0]);
    close(p[1]);

    /* close /dev/null, and pipe() takes its number */
    use_plain(null);
    int n = null;
    close(null);
    if (pipe(p) != 0) return 1;
    printf("pipe took the closed number: %d\n", p[0] == n);
    blocking_read("pipe read end on a closed /dev/null's number", p[0]);
    close(p[0]);
    close(p[1]);

    /* dup3 and F_DUPFD onto the number of a regular file */
    int other = open("/dev/null", O_RDWR);
    use_plain(other);
    if (pipe(p) != 0) return 1;
    dup3(p[0], other, O_CLOEXEC);
    blocking_read("dup3 over /dev/null", other);
    close(other);
    int f2 = open("/dev/null", O_RDWR);
    use_plain(f2);
    close(f2);
    int d = fcntl(p[0], F_DUPFD, f2);
    printf("F_DUPFD took the closed number: %d\n", d == f2);
    blocking_read("F_DUPFD of a read end", d);
    return 0;
}
