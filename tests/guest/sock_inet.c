/* AF_INET and AF_INET6 on loopback:
 * - a TCP echo server and client across fork: port 0, getsockname for the port,
 *   accept4 flags, getpeername, MSG_PEEK, MSG_WAITALL across short writes,
 *   MSG_DONTWAIT on an empty socket (EAGAIN), shutdown(SHUT_WR) -> EOF;
 * - options: SO_REUSEADDR, SO_TYPE, SO_DOMAIN, SO_PROTOCOL, SO_ERROR, SO_LINGER,
 *   TCP_NODELAY, SO_RCVTIMEO (a recv that times out with EAGAIN), SO_ACCEPTCONN;
 * - a non-blocking connect completed through poll (EINPROGRESS or at once), and
 *   one refused (ECONNREFUSED through SO_ERROR);
 * - UDP sendto/recvfrom with the sender's address, recvfrom MSG_TRUNC;
 * - a send to a closed peer: EPIPE with MSG_NOSIGNAL, SIGPIPE without. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

static void show(const char *what, long r)
{
    if (r < 0)
        printf("%s = -1 %s\n", what, strerror(errno));
    else
        printf("%s = %ld\n", what, r);
}

static int intopt(int fd, int level, int name)
{
    int v = -1;
    socklen_t len = sizeof v;
    if (getsockopt(fd, level, name, &v, &len) < 0)
        return -1000 - errno;
    return len == sizeof v ? v : -999;
}

static void tcp_echo(int family)
{
    printf("-- TCP %s\n", family == AF_INET ? "AF_INET" : "AF_INET6");
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    socklen_t len;
    if (family == AF_INET) {
        struct sockaddr_in *a = (struct sockaddr_in *)&ss;
        a->sin_family = AF_INET;
        a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        len = sizeof *a;
    } else {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
        a->sin6_family = AF_INET6;
        a->sin6_addr = in6addr_loopback;
        len = sizeof *a;
    }
    int ls = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    show("setsockopt SO_REUSEADDR", setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one));
    printf("SO_REUSEADDR %d SO_TYPE %d SO_DOMAIN ok %d SO_PROTOCOL %d\n",
           intopt(ls, SOL_SOCKET, SO_REUSEADDR), intopt(ls, SOL_SOCKET, SO_TYPE),
           intopt(ls, SOL_SOCKET, SO_DOMAIN) == family, intopt(ls, SOL_SOCKET, SO_PROTOCOL));
    if (bind(ls, (struct sockaddr *)&ss, len) < 0) {
        printf("bind: %s\n", strerror(errno));
        return;
    }
    show("listen", listen(ls, 4));
    printf("SO_ACCEPTCONN %d\n", intopt(ls, SOL_SOCKET, SO_ACCEPTCONN));
    struct sockaddr_storage bound;
    socklen_t blen = sizeof bound;
    getsockname(ls, (struct sockaddr *)&bound, &blen);
    int port = family == AF_INET ? ntohs(((struct sockaddr_in *)&bound)->sin_port)
                                 : ntohs(((struct sockaddr_in6 *)&bound)->sin6_port);
    printf("getsockname len %u family ok %d port nonzero %d\n", blen,
           bound.ss_family == family, port != 0);

    int report[2];
    pipe(report);
    pid_t child = fork();
    if (child == 0) {
        close(ls);
        dup2(report[1], 1);    /* the parent prints it once the child is done */
        int c = socket(family, SOCK_STREAM, 0);
        if (connect(c, (struct sockaddr *)&bound, blen) < 0) {
            printf("child connect: %s\n", strerror(errno));
            _exit(1);
        }
        int nd = 1;
        setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &nd, sizeof nd);
        /* the message in three writes: the server's MSG_WAITALL gets all of it */
        write(c, "hello ", 6);
        usleep(20000);
        send(c, "echo ", 5, 0);
        usleep(20000);
        send(c, "world", 5, MSG_NOSIGNAL);
        char buf[64];
        int n = recv(c, buf, sizeof buf, MSG_WAITALL);    /* until the server shuts down */
        printf("child got back %d: %.*s\n", n, n > 0 ? n : 0, buf);
        n = recv(c, buf, sizeof buf, 0);
        printf("child then %d (EOF)\n", n);
        close(c);
        fflush(stdout);
        _exit(0);
    }
    close(report[1]);
    struct sockaddr_storage peer;
    socklen_t plen = sizeof peer;
    int s = accept4(ls, (struct sockaddr *)&peer, &plen, SOCK_CLOEXEC | SOCK_NONBLOCK);
    printf("accept4 ok %d cloexec %d nonblock %d peer family ok %d len %u\n", s >= 0,
           !!(fcntl(s, F_GETFD) & FD_CLOEXEC), !!(fcntl(s, F_GETFL) & O_NONBLOCK),
           peer.ss_family == family, plen);
    struct sockaddr_storage pn;
    socklen_t pnlen = sizeof pn;
    getpeername(s, (struct sockaddr *)&pn, &pnlen);
    printf("getpeername same as accept's %d\n", pnlen == plen && !memcmp(&pn, &peer, plen));
    fcntl(s, F_SETFL, 0);                       /* blocking again */
    char buf[64];
    char dummy;
    errno = 0;
    int n = recv(s, &dummy, 1, MSG_PEEK);
    printf("peek %d '%c'\n", n, dummy);
    n = recv(s, buf, 16, MSG_WAITALL);
    printf("waitall %d: %.*s\n", n, n > 0 ? n : 0, buf);
    n = recv(s, buf, 16, MSG_DONTWAIT);
    show("recv MSG_DONTWAIT on an empty socket", n);
    struct timeval tv = {0, 100000};
    setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    struct timeval back;
    socklen_t tlen = sizeof back;
    getsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &back, &tlen);
    printf("SO_RCVTIMEO back %ld.%06ld len %u\n", (long)back.tv_sec, (long)back.tv_usec, tlen);
    show("recv with SO_RCVTIMEO", recv(s, buf, 16, 0));
    struct linger lg = {1, 0};
    show("setsockopt SO_LINGER", setsockopt(s, SOL_SOCKET, SO_LINGER, &lg, sizeof lg));
    struct linger lgb;
    socklen_t lglen = sizeof lgb;
    getsockopt(s, SOL_SOCKET, SO_LINGER, &lgb, &lglen);
    printf("SO_LINGER back %d %d len %u\n", lgb.l_onoff, lgb.l_linger, lglen);
    lg.l_onoff = 0;
    setsockopt(s, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    printf("TCP_NODELAY %d SO_ERROR %d\n", intopt(s, IPPROTO_TCP, TCP_NODELAY),
           intopt(s, SOL_SOCKET, SO_ERROR));
    show("send back", send(s, "hello echo world", 16, 0));
    show("shutdown SHUT_WR", shutdown(s, SHUT_WR));
    int status;
    waitpid(child, &status, 0);
    char rep[256];
    int rn = read(report[0], rep, sizeof rep);
    printf("%.*schild status %d\n", rn > 0 ? rn : 0, rep, WEXITSTATUS(status));
    close(report[0]);
    close(s);

    /* non-blocking connect, completed through poll */
    int c = socket(family, SOCK_STREAM | SOCK_NONBLOCK, 0);
    int r = connect(c, (struct sockaddr *)&bound, blen);
    printf("non-blocking connect: %s\n", r == 0 ? "at once" : errno == EINPROGRESS ? "EINPROGRESS" : strerror(errno));
    struct pollfd pfd = {c, POLLOUT, 0};
    printf("poll %d revents POLLOUT %d SO_ERROR %d\n", poll(&pfd, 1, 5000),
           !!(pfd.revents & POLLOUT), intopt(c, SOL_SOCKET, SO_ERROR));
    int a = accept(ls, NULL, NULL);
    printf("accepted the non-blocking one %d\n", a >= 0);
    close(a);
    close(c);
    close(ls);

    /* refused: a port nobody listens on (the one just closed) */
    c = socket(family, SOCK_STREAM | SOCK_NONBLOCK, 0);
    r = connect(c, (struct sockaddr *)&bound, blen);
    if (r < 0 && errno == EINPROGRESS) {
        poll(&pfd, 1, 5000);
        pfd.fd = c;
        poll(&pfd, 1, 5000);
        printf("refused: SO_ERROR %s\n", strerror(intopt(c, SOL_SOCKET, SO_ERROR)));
    } else {
        printf("refused: %s\n", r < 0 ? strerror(errno) : "connected?");
    }
    close(c);
    c = socket(family, SOCK_STREAM, 0);
    show("blocking connect to a closed port", connect(c, (struct sockaddr *)&bound, blen));
    close(c);
}

static void udp(void)
{
    printf("-- UDP\n");
    int a = socket(AF_INET, SOCK_DGRAM, 0), b = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    bind(a, (struct sockaddr *)&sa, sizeof sa);
    bind(b, (struct sockaddr *)&sa, sizeof sa);
    struct sockaddr_in aa, ba;
    socklen_t l = sizeof aa;
    getsockname(a, (struct sockaddr *)&aa, &l);
    l = sizeof ba;
    getsockname(b, (struct sockaddr *)&ba, &l);
    show("sendto", sendto(a, "datagram one", 12, 0, (struct sockaddr *)&ba, sizeof ba));
    show("sendto", sendto(a, "datagram two", 12, 0, (struct sockaddr *)&ba, sizeof ba));
    char buf[64];
    struct sockaddr_in from;
    socklen_t fl = sizeof from;
    int n = recvfrom(b, buf, sizeof buf, 0, (struct sockaddr *)&from, &fl);
    printf("recvfrom %d: %.*s from a %d len %u\n", n, n, buf,
           from.sin_port == aa.sin_port && from.sin_addr.s_addr == aa.sin_addr.s_addr, fl);
    n = recvfrom(b, buf, 4, MSG_TRUNC, NULL, NULL);
    printf("recvfrom MSG_TRUNC into 4 bytes = %d: %.4s\n", n, buf);
    /* the reply goes to the address recvfrom gave */
    sendto(b, "reply", 5, 0, (struct sockaddr *)&from, fl);
    n = recv(a, buf, sizeof buf, 0);
    printf("reply %d: %.*s\n", n, n, buf);
    /* a connected UDP socket: send/recv without addresses */
    connect(a, (struct sockaddr *)&ba, sizeof ba);
    send(a, "connected", 9, 0);
    n = recv(b, buf, sizeof buf, 0);
    printf("connected send %d: %.*s\n", n, n, buf);
    show("recv MSG_DONTWAIT, nothing there", recv(b, buf, sizeof buf, MSG_DONTWAIT));
    close(a);
    close(b);
}

/* 3 MiB in one send() across fork: taken in many pieces by the host's buffers, all of
 * it returned by one send() and one recv(MSG_WAITALL) */
static void bulk(void)
{
    printf("-- bulk\n");
    enum { SIZE = 3 << 20 };
    static unsigned char out[SIZE], in[SIZE];
    for (int i = 0; i < SIZE; i++)
        out[i] = (unsigned char)(i * 7 + (i >> 12));
    int ls = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    bind(ls, (struct sockaddr *)&a, sizeof a);
    listen(ls, 1);
    socklen_t l = sizeof a;
    getsockname(ls, (struct sockaddr *)&a, &l);
    pid_t child = fork();
    if (child == 0) {
        int c = socket(AF_INET, SOCK_STREAM, 0);
        connect(c, (struct sockaddr *)&a, sizeof a);
        long n = send(c, out, SIZE, 0);
        close(c);
        _exit(n == SIZE ? 0 : 1);
    }
    int s = accept(ls, NULL, NULL);
    usleep(100000);                  /* let the sender fill the buffers and wait */
    long n = recv(s, in, SIZE, MSG_WAITALL);
    int status;
    waitpid(child, &status, 0);
    printf("recv MSG_WAITALL = %ld, same bytes %d, sender's send() took all %d\n", n,
           !memcmp(in, out, SIZE), WEXITSTATUS(status) == 0);
    close(s);
    close(ls);
}

static volatile int pipes;
static void on_pipe(int sig)
{
    (void)sig;
    pipes++;
}

static void epipe(void)
{
    printf("-- EPIPE\n");
    int sv[2];
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    close(sv[1]);
    signal(SIGPIPE, on_pipe);
    show("send MSG_NOSIGNAL", send(sv[0], "x", 1, MSG_NOSIGNAL));
    printf("SIGPIPE handled %d\n", pipes);
    show("send", send(sv[0], "x", 1, 0));
    printf("SIGPIPE handled %d\n", pipes);
    show("sendto", sendto(sv[0], "x", 1, 0, NULL, 0));
    printf("SIGPIPE handled %d\n", pipes);
    close(sv[0]);
    signal(SIGPIPE, SIG_DFL);
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    close(sv[1]);
    fflush(stdout);
    send(sv[0], "x", 1, 0);
    printf("not reached: SIGPIPE kills\n");
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    tcp_echo(AF_INET);
    int s6 = socket(AF_INET6, SOCK_STREAM, 0);
    if (s6 >= 0) {
        close(s6);
        tcp_echo(AF_INET6);
    } else {
        printf("-- no AF_INET6 here\n");
    }
    udp();
    bulk();
    epipe();
    return 0;
}
