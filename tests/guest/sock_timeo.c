/* read() and write() on a socket honour SO_RCVTIMEO and SO_SNDTIMEO as recv and send do:
 * EAGAIN when the time runs out, the data when it comes in time. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <unistd.h>

int main(void) {
    int sv[2];
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    struct timeval tv = {0, 150000};
    setsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(sv[0], SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    char buf[4096];
    ssize_t n = read(sv[0], buf, sizeof buf);
    printf("read, nothing sent: %zd %s\n", n, n < 0 ? strerror(errno) : "");
    struct iovec iov = {buf, sizeof buf};
    n = readv(sv[0], &iov, 1);
    printf("readv, nothing sent: %zd %s\n", n, n < 0 ? strerror(errno) : "");
    write(sv[1], "hello", 5);
    n = read(sv[0], buf, sizeof buf);
    printf("read, sent: %zd\n", n);
    memset(buf, 'x', sizeof buf);
    long total = 0;
    while ((n = write(sv[0], buf, sizeof buf)) > 0) total += n;   /* fill the peer's buffer */
    printf("write until full: ended %s after %s bytes\n", n < 0 ? strerror(errno) : "with 0",
           total > 0 ? "some" : "no");
    return 0;
}
