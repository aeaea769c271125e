/* Writing to a pipe whose read end is closed: Linux sends SIGPIPE to the
 * writer and the call fails with EPIPE when the signal does not kill it.
 *
 *   fd_sigpipe CALL            default disposition: killed by SIGPIPE (CALL is
 *                              write, writev, pwritev2, sendfile, splice, vmsplice
 *                              or tee)
 *   fd_sigpipe ignore          SIG_IGN: every call returns EPIPE, nothing pending
 *   fd_sigpipe block           blocked: EPIPE, SIGPIPE pending; unblocking kills
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/uio.h>
#include <unistd.h>

#define CHECK(label, expr) do { errno = 0; long r_ = (long)(expr); \
    printf("%s = %ld%s%s\n", label, r_, r_ < 0 ? " " : "", r_ < 0 ? strerrorname_np(errno) : ""); \
    fflush(stdout); } while (0)

static int widowed(void) {
    /* the write end of a pipe whose read end is closed */
    int p[2];
    pipe(p);
    close(p[0]);
    return p[1];
}

static long do_call(const char *call) {
    int w = widowed();
    char data[8] = "abcdefg";
    struct iovec iov[2] = {{data, 3}, {data + 3, 4}};
    if (!strcmp(call, "write"))
        return write(w, data, 7);
    if (!strcmp(call, "writev"))
        return writev(w, iov, 2);
    if (!strcmp(call, "pwritev2"))
        return pwritev2(w, iov, 2, -1, 0);
    if (!strcmp(call, "vmsplice"))
        return vmsplice(w, iov, 2, 0);
    int m = memfd_create("src", 0);
    write(m, data, 7);
    lseek(m, 0, SEEK_SET);
    if (!strcmp(call, "sendfile"))
        return sendfile(w, m, NULL, 7);
    if (!strcmp(call, "splice"))
        return splice(m, NULL, w, NULL, 7, 0);
    if (!strcmp(call, "tee")) {
        int full[2];
        pipe(full);
        write(full[1], data, 7);
        return tee(full[0], w, 7, 0);
    }
    printf("unknown call %s\n", call);
    return -2;
}

static const char *calls[] = {"write", "writev", "pwritev2", "sendfile", "splice", "vmsplice", "tee"};

static void pending(void) {
    sigset_t set;
    sigpending(&set);
    printf("SIGPIPE pending: %d\n", sigismember(&set, SIGPIPE));
    fflush(stdout);
}

int main(int argc, char **argv) {
    const char *mode = argc > 1 ? argv[1] : "ignore";
    if (!strcmp(mode, "ignore")) {
        signal(SIGPIPE, SIG_IGN);
        for (unsigned i = 0; i < sizeof calls / sizeof *calls; i++)
            CHECK(calls[i], do_call(calls[i]));
        pending();
        return 0;
    }
    if (!strcmp(mode, "block")) {
        sigset_t set;
        sigemptyset(&set);
        sigaddset(&set, SIGPIPE);
        sigprocmask(SIG_BLOCK, &set, NULL);
        for (unsigned i = 0; i < sizeof calls / sizeof *calls; i++)
            CHECK(calls[i], do_call(calls[i]));
        pending();
        printf("unblocking SIGPIPE\n");
        fflush(stdout);
        sigprocmask(SIG_UNBLOCK, &set, NULL);
        printf("still alive after unblocking\n");
        return 0;
    }
    printf("calling %s\n", mode);
    fflush(stdout);
    CHECK(mode, do_call(mode));
    printf("still alive\n");
    return 0;
}
