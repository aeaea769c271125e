/* Messages and credentials over AF_UNIX socket pairs:
 * - SCM_RIGHTS: the parent passes a pipe's write end to a forked child over a
 *   socketpair, closes its own copy, and reads what the child writes into it;
 *   MSG_CMSG_CLOEXEC; a control buffer too small (MSG_CTRUNC);
 * - SO_PEERCRED on both ends of a pair made before fork (the creator's pid), and
 *   of a connected path socket (the connecting child's pid);
 * - SCM_CREDENTIALS with SO_PASSCRED: the kernel's (no control sent) and the
 *   sender's own ucred; another pid is EPERM;
 * - sendmsg/recvmsg scatter-gather (3 iovecs out, 4 in) and msg_flags
 *   (MSG_TRUNC on a datagram pair), sendmmsg/recvmmsg with MSG_WAITFORONE.
 * Pids are printed as relations (is the child, is me), never as numbers. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void show(const char *what, long r)
{
    if (r < 0)
        printf("%s = -1 %s\n", what, strerror(errno));
    else
        printf("%s = %ld\n", what, r);
}

static int send_fd(int sock, int fd)
{
    char byte = 'F';
    struct iovec iov = {&byte, 1};
    union { struct cmsghdr h; char buf[CMSG_SPACE(sizeof(int))]; } u;
    memset(&u, 0, sizeof u);
    struct msghdr m = {0};
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    m.msg_control = u.buf;
    m.msg_controllen = sizeof u.buf;
    struct cmsghdr *c = CMSG_FIRSTHDR(&m);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(c), &fd, sizeof fd);
    return sendmsg(sock, &m, 0);
}

/* returns the received descriptor, or -1; *flags gets msg_flags */
static int recv_fd(int sock, int rflags, size_t control, int *flags)
{
    char byte;
    struct iovec iov = {&byte, 1};
    char buf[CMSG_SPACE(sizeof(int)) * 2];
    memset(buf, 0, sizeof buf);
    struct msghdr m = {0};
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    m.msg_control = buf;
    m.msg_controllen = control;
    int n = recvmsg(sock, &m, rflags);
    *flags = m.msg_flags;
    if (n != 1)
        return -1;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c))
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
            int fd;
            memcpy(&fd, CMSG_DATA(c), sizeof fd);
            return fd;
        }
    return -1;
}

static void rights(void)
{
    printf("-- SCM_RIGHTS\n");
    int sv[2], p[2];
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    pipe(p);
    pid_t child = fork();
    if (child == 0) {
        close(sv[0]);
        close(p[0]);
        close(p[1]);
        int flags;
        int fd = recv_fd(sv[1], MSG_CMSG_CLOEXEC, CMSG_SPACE(sizeof(int)), &flags);
        if (fd < 0)
            _exit(1);
        int cloexec = !!(fcntl(fd, F_GETFD) & FD_CLOEXEC);
        char msg[64];
        int n = snprintf(msg, sizeof msg, "written by the child, cloexec %d", cloexec);
        write(fd, msg, n);
        close(fd);
        _exit(0);
    }
    close(sv[1]);
    show("sendmsg SCM_RIGHTS", send_fd(sv[0], p[1]));
    close(p[1]);                 /* the child holds the only write end now */
    char buf[64];
    int n, total = 0;
    while ((n = read(p[0], buf + total, sizeof buf - total)) > 0)
        total += n;
    printf("read from the pipe: %.*s\n", total, buf);
    int status;
    waitpid(child, &status, 0);
    printf("child status %d\n", WEXITSTATUS(status));
    close(p[0]);

    /* a control buffer with no room for the descriptor: MSG_CTRUNC, no fd */
    close(sv[0]);
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    int q[2];
    pipe(q);
    send_fd(sv[0], q[0]);
    close(sv[0]);
    int flags;
    int fd = recv_fd(sv[1], 0, sizeof(struct cmsghdr), &flags);
    /* (qemu-aarch64 gives the host a bigger buffer: the descriptor arrives) */
    printf("linux: too small a control buffer: fd %d MSG_CTRUNC %d\n", fd, !!(flags & MSG_CTRUNC));
    close(sv[1]);
    close(q[0]);
    close(q[1]);
    /* a descriptor that is not open */
    socketpair(AF_UNIX, SOCK_DGRAM, 0, sv);
    show("sendmsg SCM_RIGHTS of a closed fd", send_fd(sv[0], 999));
    close(sv[0]);
    close(sv[1]);
}

/* a descriptor received where the receiver's RLIMIT_NOFILE leaves no room: not
 * installed, MSG_CTRUNC */
static void over_limit(void)
{
    int sv[2], q[2];
    socketpair(AF_UNIX, SOCK_DGRAM, 0, sv);
    pipe(q);
    send_fd(sv[0], q[0]);
    struct rlimit old, lim;
    getrlimit(RLIMIT_NOFILE, &old);
    lim = old;
    lim.rlim_cur = q[1] + 1;            /* every descriptor below it is open */
    setrlimit(RLIMIT_NOFILE, &lim);
    int flags;
    int fd = recv_fd(sv[1], 0, CMSG_SPACE(sizeof(int)), &flags);
    setrlimit(RLIMIT_NOFILE, &old);
    int next = dup(0);
    printf("beyond RLIMIT_NOFILE: fd %d MSG_CTRUNC %d, nothing left open %d\n", fd,
           !!(flags & MSG_CTRUNC), next == q[1] + 1);
    close(next);
    close(q[0]);
    close(q[1]);
    close(sv[0]);
    close(sv[1]);
}

static void peercred(void)
{
    printf("-- SO_PEERCRED\n");
    int sv[2];
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    pid_t me = getpid();
    int report[2];
    pipe(report);
    pid_t child = fork();
    if (child == 0) {
        struct ucred c;
        socklen_t l = sizeof c;
        getsockopt(sv[1], SOL_SOCKET, SO_PEERCRED, &c, &l);
        char msg[128];
        int n = snprintf(msg, sizeof msg, "child: pair peer is the parent %d uid %d gid %d len %u\n",
                         c.pid == me, c.uid == getuid(), c.gid == getgid(), l);
        write(report[1], msg, n);
        /* connect to the parent's listener: the parent sees this pid */
        int s = socket(AF_UNIX, SOCK_STREAM, 0);
        struct sockaddr_un a = {.sun_family = AF_UNIX};
        strcpy(a.sun_path + 1, "mkemu-peercred");
        char go;
        read(sv[1], &go, 1);
        connect(s, (struct sockaddr *)&a, sizeof(sa_family_t) + 1 + strlen(a.sun_path + 1));
        read(s, &go, 1);
        _exit(0);
    }
    close(report[1]);
    struct ucred c;
    socklen_t l = sizeof c;
    getsockopt(sv[0], SOL_SOCKET, SO_PEERCRED, &c, &l);
    printf("parent: pair peer is me %d uid %d gid %d len %u\n", c.pid == me, c.uid == getuid(),
           c.gid == getgid(), l);
    l = 4;
    getsockopt(sv[0], SOL_SOCKET, SO_PEERCRED, &c, &l);
    printf("a 4-byte buffer: len %u pid is me %d\n", l, c.pid == me);

    int ls = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    char name[64];
    snprintf(name, sizeof name, "mkemu-peercred");
    strcpy(a.sun_path + 1, name);
    if (bind(ls, (struct sockaddr *)&a, sizeof(sa_family_t) + 1 + strlen(name)) < 0)
        show("bind", -1);
    listen(ls, 1);
    l = sizeof c;
    getsockopt(ls, SOL_SOCKET, SO_PEERCRED, &c, &l);
    printf("listener's own: is me %d\n", c.pid == me);
    write(sv[0], "g", 1);
    int s = accept(ls, NULL, NULL);
    l = sizeof c;
    getsockopt(s, SOL_SOCKET, SO_PEERCRED, &c, &l);
    printf("accepted: peer is the child %d uid %d\n", c.pid == child, c.uid == getuid());
    write(s, "x", 1);
    int status;
    waitpid(child, &status, 0);
    char buf[256];
    int n = read(report[0], buf, sizeof buf);
    printf("%.*s", n > 0 ? n : 0, buf);
    close(report[0]);
    close(s);
    close(ls);
    close(sv[0]);
    close(sv[1]);
}

static void credentials(void)
{
    printf("-- SCM_CREDENTIALS\n");
    int sv[2], one = 1;
    socketpair(AF_UNIX, SOCK_DGRAM, 0, sv);
    show("SO_PASSCRED", setsockopt(sv[1], SOL_SOCKET, SO_PASSCRED, &one, sizeof one));
    pid_t child = fork();
    if (child == 0) {
        send(sv[0], "plain", 5, 0);          /* the kernel adds the credentials */
        struct ucred uc = {getpid(), getuid(), getgid()};
        char cbuf[CMSG_SPACE(sizeof uc)];
        memset(cbuf, 0, sizeof cbuf);
        struct iovec iov = {"explicit", 8};
        struct msghdr m = {0};
        m.msg_iov = &iov;
        m.msg_iovlen = 1;
        m.msg_control = cbuf;
        m.msg_controllen = sizeof cbuf;
        struct cmsghdr *c = CMSG_FIRSTHDR(&m);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_CREDENTIALS;
        c->cmsg_len = CMSG_LEN(sizeof uc);
        memcpy(CMSG_DATA(c), &uc, sizeof uc);
        sendmsg(sv[0], &m, 0);
        uc.pid = getppid();
        memcpy(CMSG_DATA(c), &uc, sizeof uc);
        iov.iov_base = "lie";
        iov.iov_len = 3;
        if (sendmsg(sv[0], &m, 0) < 0 && errno == EPERM)
            send(sv[0], "EPERM", 5, 0);
        _exit(0);
    }
    for (int i = 0; i < 3; i++) {
        char buf[16];
        char cbuf[CMSG_SPACE(sizeof(struct ucred))];
        struct iovec iov = {buf, sizeof buf};
        struct msghdr m = {0};
        m.msg_iov = &iov;
        m.msg_iovlen = 1;
        m.msg_control = cbuf;
        m.msg_controllen = sizeof cbuf;
        int n = recvmsg(sv[1], &m, 0);
        struct cmsghdr *c = CMSG_FIRSTHDR(&m);
        printf("%.*s:", n, buf);
        if (c && c->cmsg_type == SCM_CREDENTIALS) {
            struct ucred uc;
            memcpy(&uc, CMSG_DATA(c), sizeof uc);
            printf(" credentials len %zu, pid is the child %d, uid %d, gid %d, controllen %zu\n",
                   (size_t)c->cmsg_len, uc.pid == child, uc.uid == getuid(), uc.gid == getgid(),
                   (size_t)m.msg_controllen);
        } else {
            printf(" no credentials\n");
        }
    }
    waitpid(child, NULL, 0);
    close(sv[0]);
    close(sv[1]);
}

static void scatter_gather(void)
{
    printf("-- scatter-gather\n");
    int sv[2];
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    struct iovec out[3] = {{"abc", 3}, {"", 0}, {"defghij", 7}};
    struct msghdr m = {0};
    m.msg_iov = out;
    m.msg_iovlen = 3;
    show("sendmsg of 3 iovecs", sendmsg(sv[0], &m, 0));
    char a[2], b[3], c[1], d[10];
    struct iovec in[4] = {{a, 2}, {b, 3}, {c, 1}, {d, 10}};
    struct msghdr r = {0};
    r.msg_iov = in;
    r.msg_iovlen = 4;
    r.msg_flags = -1;
    int n = recvmsg(sv[1], &r, 0);
    printf("recvmsg into 4 iovecs = %d: %.2s|%.3s|%.1s|%.*s flags %d\n", n, a, b, c, n - 6, d, r.msg_flags);
    close(sv[0]);
    close(sv[1]);

    socketpair(AF_UNIX, SOCK_DGRAM, 0, sv);
    send(sv[0], "0123456789", 10, 0);
    struct iovec small[2] = {{a, 2}, {b, 3}};
    r.msg_iov = small;
    r.msg_iovlen = 2;
    n = recvmsg(sv[1], &r, 0);
    printf("a 10-byte datagram into 5 bytes = %d: %.2s|%.3s MSG_TRUNC %d\n", n, a, b, !!(r.msg_flags & MSG_TRUNC));
    send(sv[0], "0123456789", 10, 0);
    n = recvmsg(sv[1], &r, MSG_TRUNC);
    printf("again with MSG_TRUNC = %d\n", n);
    show("recvmsg MSG_DONTWAIT, empty", recvmsg(sv[1], &r, MSG_DONTWAIT));
    r.msg_iovlen = 2000;
    show("recvmsg with 2000 iovecs", recvmsg(sv[1], &r, MSG_DONTWAIT));

    /* sendmmsg / recvmmsg */
    struct mmsghdr mm[3];
    struct iovec iv[3] = {{"one", 3}, {"two", 3}, {"three", 5}};
    memset(mm, 0, sizeof mm);
    for (int i = 0; i < 3; i++) {
        mm[i].msg_hdr.msg_iov = &iv[i];
        mm[i].msg_hdr.msg_iovlen = 1;
    }
    show("sendmmsg", sendmmsg(sv[0], mm, 3, 0));
    printf("msg_len %u %u %u\n", mm[0].msg_len, mm[1].msg_len, mm[2].msg_len);
    char bufs[4][8];
    struct iovec rv[4];
    struct mmsghdr rm[4];
    memset(rm, 0, sizeof rm);
    for (int i = 0; i < 4; i++) {
        rv[i].iov_base = bufs[i];
        rv[i].iov_len = 8;
        rm[i].msg_hdr.msg_iov = &rv[i];
        rm[i].msg_hdr.msg_iovlen = 1;
    }
    n = recvmmsg(sv[1], rm, 4, MSG_WAITFORONE, NULL);
    printf("recvmmsg MSG_WAITFORONE = %d:", n);
    for (int i = 0; i < n; i++)
        printf(" %.*s(%u)", (int)rm[i].msg_len, bufs[i], rm[i].msg_len);
    printf("\n");
    send(sv[0], "late", 4, 0);
    struct timespec ts = {5, 0};
    n = recvmmsg(sv[1], rm, 1, 0, &ts);
    printf("recvmmsg with a timeout = %d: %.4s, time left %d\n", n, bufs[0], ts.tv_sec >= 4);
    close(sv[0]);
    close(sv[1]);
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    rights();
    over_limit();
    peercred();
    credentials();
    scatter_gather();
    return 0;
}
