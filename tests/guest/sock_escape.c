/* AF_UNIX names given on the command line, one call each:
 *   c:PATH  connect a stream socket to PATH
 *   d:PATH  send a datagram to PATH
 *   b:PATH  bind a stream socket to PATH (and say where getsockname puts it)
 *   a:NAME  connect a stream socket to the abstract name NAME
 *   n:      read the host's iptables (IPT_SO_GET_INFO) through a TCP socket
 * and print what each returned. */
#include <errno.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    for (int i = 1; i < argc; i++) {
        char op = argv[i][0];
        if (op == 'n') {
            int s = socket(AF_INET, SOCK_STREAM, 0);
            char info[128] = "filter";
            socklen_t l = sizeof info;
            int r = getsockopt(s, IPPROTO_IP, 64, info, &l);
            printf("%s: %s\n", argv[i], r < 0 ? strerror(errno) : "ok");
            close(s);
            continue;
        }
        const char *name = argv[i] + 2;
        struct sockaddr_un a = {.sun_family = AF_UNIX};
        socklen_t len;
        if (op == 'a') {
            strncpy(a.sun_path + 1, name, sizeof a.sun_path - 2);
            len = offsetof(struct sockaddr_un, sun_path) + 1 + strlen(name);
        } else {
            strncpy(a.sun_path, name, sizeof a.sun_path - 1);
            len = offsetof(struct sockaddr_un, sun_path) + strlen(a.sun_path) + 1;
        }
        int s = socket(AF_UNIX, op == 'd' ? SOCK_DGRAM : SOCK_STREAM, 0);
        int r;
        if (op == 'b')
            r = bind(s, (struct sockaddr *)&a, len);
        else if (op == 'd')
            r = sendto(s, "x", 1, 0, (struct sockaddr *)&a, len);
        else
            r = connect(s, (struct sockaddr *)&a, len);
        printf("%s: %s", argv[i], r < 0 ? strerror(errno) : "ok");
        if (op == 'b' && r == 0) {
            struct sockaddr_un b;
            socklen_t bl = sizeof b;
            getsockname(s, (struct sockaddr *)&b, &bl);
            printf(", getsockname '%s'", b.sun_path);
        }
        printf("\n");
        close(s);
    }
    return 0;
}
