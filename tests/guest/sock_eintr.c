/* Blocking socket calls and signals (a SIGALRM handler from a 100 ms timer):
 * - accept on a listener nobody connects to: -1 EINTR without SA_RESTART;
 *   with SA_RESTART it is restarted and returns the connection a child makes
 *   300 ms later;
 * - recv on an empty stream socket: EINTR / restarted and gets the bytes;
 * - send on a datagram pair whose receiver is full (poll says writable there:
 *   the host call itself sleeps): EINTR;
 * - connect to a unix listener whose backlog is full: EINTR;
 * - a signal ignored by default (SIGWINCH) and one set to SIG_IGN (SIGUSR1)
 *   sent while accept sleeps do not interrupt it. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile int fired;

static void on_alarm(int sig)
{
    (void)sig;
    fired++;
}

static void arm(int restart)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alarm;
    sa.sa_flags = restart ? SA_RESTART : 0;
    sigaction(SIGALRM, &sa, NULL);
    fired = 0;
    struct itimerval it = {{0, 0}, {0, 100000}};
    setitimer(ITIMER_REAL, &it, NULL);
}

static void report(const char *what, long r)
{
    printf("%s: %s, handler ran %d\n", what, r < 0 ? strerror(errno) : "ok", fired);
}

/* a child that waits, optionally signals the parent first, then connects */
static pid_t connector(struct sockaddr_in *a, int usec, int sig)
{
    pid_t child = fork();
    if (child == 0) {
        usleep(usec);
        if (sig) {
            kill(getppid(), sig);
            usleep(100000);
        }
        int c = socket(AF_INET, SOCK_STREAM, 0);
        connect(c, (struct sockaddr *)a, sizeof *a);
        write(c, "late", 4);
        usleep(100000);
        _exit(0);
    }
    return child;
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    int ls = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    bind(ls, (struct sockaddr *)&a, sizeof a);
    listen(ls, 4);
    socklen_t l = sizeof a;
    getsockname(ls, (struct sockaddr *)&a, &l);

    arm(0);
    report("accept, no SA_RESTART", accept(ls, NULL, NULL));

    pid_t child = connector(&a, 300000, 0);
    arm(1);
    int s = accept(ls, NULL, NULL);
    report("accept, SA_RESTART", s);
    waitpid(child, NULL, 0);
    char buf[8];
    int n = recv(s, buf, sizeof buf, 0);
    printf("the connection's bytes: %.*s\n", n > 0 ? n : 0, buf);
    close(s);
    int sv[2];
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    arm(0);
    report("recv on an empty socket, no SA_RESTART", recv(sv[0], buf, sizeof buf, 0));
    close(sv[0]);
    close(sv[1]);

    /* recv restarted: the peer writes 300 ms later */
    child = connector(&a, 0, 0);
    s = accept(ls, NULL, NULL);
    n = recv(s, buf, sizeof buf, 0);
    waitpid(child, NULL, 0);
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    child = fork();
    if (child == 0) {
        usleep(300000);
        write(sv[1], "later", 5);
        _exit(0);
    }
    arm(1);
    n = recv(sv[0], buf, sizeof buf, 0);
    report("recv, SA_RESTART", n);
    printf("got %.*s\n", n > 0 ? n : 0, buf);
    waitpid(child, NULL, 0);
    close(sv[0]);
    close(sv[1]);
    close(s);

    /* send to a full datagram receiver */
    socketpair(AF_UNIX, SOCK_DGRAM, 0, sv);
    char big[1024] = {0};
    int sent = 0;
    while (send(sv[0], big, sizeof big, MSG_DONTWAIT) > 0)
        sent++;
    printf("receiver full after some datagrams: %d\n", sent > 0);
    arm(0);
    report("send to a full receiver, no SA_RESTART", send(sv[0], big, sizeof big, 0));
    close(sv[0]);
    close(sv[1]);

    /* connect to a full backlog */
    int us = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un ua = {.sun_family = AF_UNIX};
    snprintf(ua.sun_path + 1, sizeof ua.sun_path - 1, "mkemu-eintr-%d", getpid());
    socklen_t ul = sizeof(sa_family_t) + 1 + strlen(ua.sun_path + 1);
    bind(us, (struct sockaddr *)&ua, ul);
    listen(us, 0);
    int c1 = socket(AF_UNIX, SOCK_STREAM, 0), c2 = socket(AF_UNIX, SOCK_STREAM, 0);
    connect(c1, (struct sockaddr *)&ua, ul);     /* fills a backlog of 0 */
    arm(0);
    report("connect to a full backlog, no SA_RESTART", connect(c2, (struct sockaddr *)&ua, ul));
    close(c1);
    close(c2);
    close(us);

    /* ignored signals do not interrupt */
    signal(SIGUSR1, SIG_IGN);
    fired = 0;
    child = connector(&a, 100000, SIGWINCH);
    s = accept(ls, NULL, NULL);
    report("accept through a SIGWINCH", s);
    waitpid(child, NULL, 0);
    close(s);
    child = connector(&a, 100000, SIGUSR1);
    s = accept(ls, NULL, NULL);
    report("accept through an ignored SIGUSR1", s);
    waitpid(child, NULL, 0);
    close(s);
    close(ls);
    return 0;
}
