/* AF_UNIX names and kinds.  argv[1]: a directory to work in, absolute as this
 * program sees it; argv[2]: a token that makes abstract names unique on the
 * host (under qemu they are the host's).  Names are printed with the
 * directory as DIR and the token as TOKEN.
 * - stream: bind to a relative, an absolute, a "./" and a subdirectory path;
 *   getsockname, getpeername on both ends, accept's (unnamed) peer address;
 *   connect by relative and absolute path; errors: EADDRINUSE, ENOENT,
 *   ECONNREFUSED (a regular file), EINVAL (an address of the family alone);
 * - dgram: the sender's bound address from recvfrom and a reply sent to it,
 *   an unbound sender, connect + send;
 * - seqpacket: message boundaries, MSG_TRUNC in recvmsg's msg_flags;
 * - abstract names: bind, getsockname, connect, getpeername; autobind (a
 *   5-hex-digit name) and a datagram sent to the autobound name. */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *dir, *token;

static void show(const char *what, long r)
{
    if (r < 0)
        printf("%s = -1 %s\n", what, strerror(errno));
    else
        printf("%s = %ld\n", what, r);
}

/* a name with the run's directory and token written as DIR and TOKEN (and its
 * length counted so: the same in every run) */
static void pname(const char *what, const struct sockaddr_un *a, socklen_t len)
{
    char out[300];
    size_t o = 0;
    long shown = len;
    const char *p = a->sun_path;
    size_t n = len > offsetof(struct sockaddr_un, sun_path)
             ? len - offsetof(struct sockaddr_un, sun_path) : 0;
    int abstract = n && p[0] == 0;
    if (abstract) {
        p++;
        n--;
    } else {
        n = strnlen(p, n);
    }
    size_t dl = strlen(dir), tl = strlen(token);
    for (size_t i = 0; i < n && o < sizeof out - 8; i++) {
        if (i + dl <= n && !memcmp(p + i, dir, dl)) {
            o += sprintf(out + o, "DIR");
            shown -= dl - 3;
            i += dl - 1;
        } else if (i + tl <= n && !memcmp(p + i, token, tl)) {
            o += sprintf(out + o, "TOKEN");
            shown -= tl - 5;
            i += tl - 1;
        } else {
            out[o++] = p[i];
        }
    }
    out[o] = 0;
    if (len <= offsetof(struct sockaddr_un, sun_path))
        printf("%s: len %u (unnamed)\n", what, len);
    else
        printf("%s: len %ld %s '%s'\n", what, shown, abstract ? "abstract" : "path", out);
}

static socklen_t mkaddr(struct sockaddr_un *a, const char *path)
{
    memset(a, 0, sizeof *a);
    a->sun_family = AF_UNIX;
    strcpy(a->sun_path, path);
    return offsetof(struct sockaddr_un, sun_path) + strlen(path) + 1;
}

static socklen_t mkabstract(struct sockaddr_un *a, const char *name)
{
    memset(a, 0, sizeof *a);
    a->sun_family = AF_UNIX;
    snprintf(a->sun_path + 1, sizeof a->sun_path - 1, "%s-%s", name, token);
    return offsetof(struct sockaddr_un, sun_path) + 1 + strlen(a->sun_path + 1);
}

static void names_of(const char *what, int fd)
{
    struct sockaddr_un a;
    socklen_t len = sizeof a;
    char label[64];
    snprintf(label, sizeof label, "%s getsockname", what);
    if (getsockname(fd, (struct sockaddr *)&a, &len) < 0)
        show(label, -1);
    else
        pname(label, &a, len);
    len = sizeof a;
    snprintf(label, sizeof label, "%s getpeername", what);
    if (getpeername(fd, (struct sockaddr *)&a, &len) < 0)
        show(label, -1);
    else
        pname(label, &a, len);
}

/* a stream server at addr; a child connects to `target` and says hello */
static void stream_at(const char *what, struct sockaddr_un *addr, socklen_t alen,
                      struct sockaddr_un *target, socklen_t tlen)
{
    printf("-- stream %s\n", what);
    int ls = socket(AF_UNIX, SOCK_STREAM, 0);
    if (bind(ls, (struct sockaddr *)addr, alen) < 0) {
        show("bind", -1);
        close(ls);
        return;
    }
    listen(ls, 2);
    names_of("listener", ls);
    int report[2];
    pipe(report);
    pid_t child = fork();
    if (child == 0) {
        dup2(report[1], 1);
        int c = socket(AF_UNIX, SOCK_STREAM, 0);
        if (connect(c, (struct sockaddr *)target, tlen) < 0) {
            show("child connect", -1);
            fflush(stdout);
            _exit(1);
        }
        names_of("client", c);
        write(c, "hello", 5);
        fflush(stdout);
        _exit(0);
    }
    close(report[1]);
    struct sockaddr_un peer;
    socklen_t plen = sizeof peer;
    int s = accept(ls, (struct sockaddr *)&peer, &plen);
    pname("accept's peer", &peer, plen);
    names_of("accepted", s);
    char buf[16];
    int n = read(s, buf, sizeof buf);
    printf("read %d: %.*s\n", n, n > 0 ? n : 0, buf);
    int status;
    waitpid(child, &status, 0);
    char rep[1024];
    n = read(report[0], rep, sizeof rep);
    printf("%.*schild status %d\n", n > 0 ? n : 0, rep, WEXITSTATUS(status));
    close(report[0]);
    close(s);
    close(ls);
}

static void errors(void)
{
    printf("-- errors\n");
    struct sockaddr_un a;
    int s = socket(AF_UNIX, SOCK_STREAM, 0);
    socklen_t l = mkaddr(&a, "rel.sock");
    show("bind to an existing name", bind(s, (struct sockaddr *)&a, l));
    l = mkaddr(&a, "no/such/dir/x.sock");
    show("bind in a missing directory", bind(s, (struct sockaddr *)&a, l));
    l = mkaddr(&a, ".");
    show("bind to .", bind(s, (struct sockaddr *)&a, l));
    l = mkaddr(&a, "missing.sock");
    show("connect to a missing name", connect(s, (struct sockaddr *)&a, l));
    close(open("plain-file", O_CREAT | O_WRONLY, 0644));
    l = mkaddr(&a, "plain-file");
    show("connect to a regular file", connect(s, (struct sockaddr *)&a, l));
    show("connect with the family alone", connect(s, (struct sockaddr *)&a,
                                                  sizeof(sa_family_t)));
    struct stat st;
    printf("rel.sock is a socket %d\n", stat("rel.sock", &st) == 0 && S_ISSOCK(st.st_mode));
    close(s);
}

static void dgram(void)
{
    printf("-- dgram\n");
    struct sockaddr_un sa, ca, from;
    char abs[200];
    snprintf(abs, sizeof abs, "%s/client.dg", dir);
    socklen_t sl = mkaddr(&sa, "server.dg"), cl = mkaddr(&ca, abs);
    int srv = socket(AF_UNIX, SOCK_DGRAM, 0), cli = socket(AF_UNIX, SOCK_DGRAM, 0);
    show("bind server", bind(srv, (struct sockaddr *)&sa, sl));
    show("bind client", bind(cli, (struct sockaddr *)&ca, cl));
    show("sendto server", sendto(cli, "ping", 4, 0, (struct sockaddr *)&sa, sl));
    char buf[32];
    socklen_t fl = sizeof from;
    int n = recvfrom(srv, buf, sizeof buf, 0, (struct sockaddr *)&from, &fl);
    printf("server got %d: %.*s\n", n, n, buf);
    pname("from", &from, fl);
    show("reply to that address", sendto(srv, "pong", 4, 0, (struct sockaddr *)&from, fl));
    n = recv(cli, buf, sizeof buf, 0);
    printf("client got %d: %.*s\n", n, n, buf);

    int anon = socket(AF_UNIX, SOCK_DGRAM, 0);
    sendto(anon, "anon", 4, 0, (struct sockaddr *)&sa, sl);
    fl = sizeof from;
    n = recvfrom(srv, buf, sizeof buf, 0, (struct sockaddr *)&from, &fl);
    printf("from an unbound sender %d: %.*s, address len %u\n", n, n, buf, fl);
    show("connect", connect(anon, (struct sockaddr *)&sa, sl));
    names_of("connected dgram", anon);
    show("send", send(anon, "conn", 4, 0));
    n = recv(srv, buf, sizeof buf, 0);
    printf("server got %d: %.*s\n", n, n, buf);
    close(anon);
    close(cli);
    close(srv);
    unlink("server.dg");
    unlink(abs);
}

static void seqpacket(void)
{
    printf("-- seqpacket\n");
    struct sockaddr_un a;
    socklen_t l = mkaddr(&a, "seq.sock");
    int ls = socket(AF_UNIX, SOCK_SEQPACKET, 0);
    show("bind", bind(ls, (struct sockaddr *)&a, l));
    listen(ls, 1);
    int c = socket(AF_UNIX, SOCK_SEQPACKET, 0);
    show("connect", connect(c, (struct sockaddr *)&a, l));
    int s = accept(ls, NULL, NULL);
    send(c, "first message", 13, 0);
    send(c, "second", 6, 0);
    char buf[32];
    struct iovec iov = {buf, 5};
    struct msghdr m = {0};
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    int n = recvmsg(s, &m, 0);
    printf("recvmsg into 5 bytes = %d: %.*s, MSG_TRUNC %d\n", n, n, buf, !!(m.msg_flags & MSG_TRUNC));
    n = recv(s, buf, sizeof buf, 0);
    printf("next message %d: %.*s\n", n, n, buf);
    close(c);
    n = recv(s, buf, sizeof buf, 0);
    printf("after the peer closed %d\n", n);
    close(s);
    close(ls);
    unlink("seq.sock");
}

static void abstract(void)
{
    printf("-- abstract\n");
    struct sockaddr_un a, b;
    socklen_t l = mkabstract(&a, "mkemu-abs");
    int ls = socket(AF_UNIX, SOCK_STREAM, 0);
    show("bind", bind(ls, (struct sockaddr *)&a, l));
    listen(ls, 1);
    names_of("abstract listener", ls);
    int c = socket(AF_UNIX, SOCK_STREAM, 0);
    show("connect", connect(c, (struct sockaddr *)&a, l));
    names_of("abstract client", c);
    int s = accept(ls, NULL, NULL);
    int other = socket(AF_UNIX, SOCK_STREAM, 0);
    show("bind the same name again", bind(other, (struct sockaddr *)&a, l));
    close(other);
    close(s);
    close(c);
    close(ls);
    l = mkabstract(&b, "mkemu-abs-missing");
    c = socket(AF_UNIX, SOCK_STREAM, 0);
    show("connect to a name nobody has", connect(c, (struct sockaddr *)&b, l));
    close(c);

    /* autobind: the family alone */
    int d = socket(AF_UNIX, SOCK_DGRAM, 0);
    show("autobind", bind(d, (struct sockaddr *)&a, sizeof(sa_family_t)));
    socklen_t al = sizeof b;
    getsockname(d, (struct sockaddr *)&b, &al);
    int hex = al == offsetof(struct sockaddr_un, sun_path) + 6 && b.sun_path[0] == 0;
    for (int i = 1; hex && i < 6; i++)
        hex = strchr("0123456789abcdef", b.sun_path[i]) != NULL;
    printf("autobound name: len %u, NUL and 5 hex digits %d\n", al, hex);
    int e = socket(AF_UNIX, SOCK_DGRAM, 0);
    show("sendto the autobound name", sendto(e, "auto", 4, 0, (struct sockaddr *)&b, al));
    char buf[8];
    int n = recv(d, buf, sizeof buf, 0);
    printf("got %d: %.*s\n", n, n, buf);
    close(e);
    close(d);
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc < 3) {
        fprintf(stderr, "usage: sock_unix DIR TOKEN\n");
        return 2;
    }
    dir = argv[1];
    token = argv[2];
    if (chdir(dir) < 0) {
        perror(dir);
        return 2;
    }
    struct sockaddr_un a, t;
    socklen_t l, tl;
    char abs[200];

    l = mkaddr(&a, "rel.sock");
    snprintf(abs, sizeof abs, "%s/rel.sock", dir);
    tl = mkaddr(&t, abs);
    stream_at("bound relative, connected absolute", &a, l, &t, tl);

    snprintf(abs, sizeof abs, "%s/abs.sock", dir);
    l = mkaddr(&a, abs);
    tl = mkaddr(&t, "abs.sock");
    stream_at("bound absolute, connected relative", &a, l, &t, tl);

    l = mkaddr(&a, "./dot.sock");
    stream_at("bound ./", &a, l, &a, l);

    mkdir("sub", 0755);
    mkdir("sub/deeper", 0755);
    l = mkaddr(&a, "sub/deeper/r.sock");
    snprintf(abs, sizeof abs, "%s/sub/../sub/deeper/r.sock", dir);
    tl = mkaddr(&t, abs);
    stream_at("bound in a subdirectory", &a, l, &t, tl);

    errors();
    dgram();
    seqpacket();
    abstract();
    return 0;
}
