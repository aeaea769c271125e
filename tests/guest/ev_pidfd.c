#define _GNU_SOURCE
/* pidfd_open and pidfd_send_signal: a pidfd polls readable when its process ends
   (poll and epoll), signals through it reach the process (itself with its
   siginfo), the permission and argument checks, and a process that has already
   ended. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char *err(long r) { return r < 0 ? strerrorname_np(errno) : "ok"; }

#ifndef PIDFD_NONBLOCK
#define PIDFD_NONBLOCK O_NONBLOCK
#endif

static int pidfd_open(pid_t pid, unsigned flags) { return syscall(SYS_pidfd_open, pid, flags); }

static int send(int fd, int sig, siginfo_t *info, unsigned flags) {
    return syscall(SYS_pidfd_send_signal, fd, sig, info, flags);
}

static int revents(int fd) {
    struct pollfd p = {fd, POLLIN, 0};
    return poll(&p, 1, 0) == 1 ? p.revents : 0;
}

static volatile int got_sig, got_code, got_pid_ok, got_value;

static void on_usr1(int s, siginfo_t *si, void *uc) {
    (void)uc;
    got_sig = s;
    got_code = si->si_code;
    got_pid_ok = si->si_pid == getpid();
    got_value = si->si_value.sival_int;
}

static long ms_since(struct timespec *a) {
    struct timespec b;
    clock_gettime(CLOCK_MONOTONIC, &b);
    return (b.tv_sec - a->tv_sec) * 1000 + (b.tv_nsec - a->tv_nsec) / 1000000;
}

static pid_t sleeper(int ms, int status) {
    pid_t c = fork();
    if (c == 0) {
        usleep(ms * 1000);
        _exit(status);
    }
    return c;
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    int self = pidfd_open(getpid(), 0);
    printf("own pidfd: %s, cloexec %d, polls %#x\n", err(self), (fcntl(self, F_GETFD) & FD_CLOEXEC) != 0,
           revents(self));
    printf("bad flags: %s\n", err(pidfd_open(getpid(), 1)));
    printf("pid 0: %s\n", err(pidfd_open(0, 0)));
    printf("no such pid: %s\n", err(pidfd_open(1 << 30, 0)));
    char b;
    printf("read: %s\n", err(read(self, &b, 1)));

    /* readable when the child ends */
    pid_t c = sleeper(100, 5);
    int fd = pidfd_open(c, 0);
    printf("child running: polls %#x\n", revents(fd));
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    struct pollfd p = {fd, POLLIN, 0};
    int n = poll(&p, 1, 5000);
    long waited = ms_since(&t0);
    printf("poll: %d revents has POLLIN %d, waited >= 50 ms %d\n", n, (p.revents & POLLIN) != 0,
           waited >= 50);
    int st;
    siginfo_t pw;
    memset(&pw, 0, sizeof pw);
    int wr = waitid(P_PIDFD, fd, &pw, WEXITED);
    printf("waitid P_PIDFD: %d pid ok %d code %d status %d\n", wr, pw.si_pid == c, pw.si_code,
           pw.si_status);
    printf("send to the reaped child: %s\n", err(send(fd, 0, NULL, 0)));
    close(fd);

    /* in epoll, with the data word */
    c = sleeper(60, 6);
    fd = pidfd_open(c, PIDFD_NONBLOCK);
    printf("PIDFD_NONBLOCK: %s\n", err(fd));
    int ep = epoll_create1(0);
    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = 0x91DFD00000000001ULL}, out;
    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
    printf("epoll, running: %d\n", epoll_wait(ep, &out, 1, 0));
    n = epoll_wait(ep, &out, 1, 5000);
    printf("epoll, ended: %d data %#llx in %d\n", n, (unsigned long long)out.data.u64,
           (out.events & EPOLLIN) != 0);
    waitpid(c, &st, 0);
    close(fd);

    /* signals through a pidfd */
    c = sleeper(5000, 0);
    fd = pidfd_open(c, 0);
    printf("signal 0: %s\n", err(send(fd, 0, NULL, 0)));
    printf("bad signal: %s\n", err(send(fd, 99, NULL, 0)));
    printf("bad flags: %s\n", err(send(fd, 0, NULL, 8)));
    printf("two scopes: %s\n", err(send(fd, 0, NULL, 3)));
    siginfo_t si;
    memset(&si, 0, sizeof si);
    si.si_signo = SIGTERM;
    si.si_code = SI_QUEUE;
    printf("info for another signal: %s\n", err(send(fd, SIGUSR1, &si, 0)));
    si.si_code = SI_KERNEL;
    printf("kernel's code to another process: %s\n", err(send(fd, SIGTERM, &si, 0)));
    printf("SIGTERM: %s\n", err(send(fd, SIGTERM, NULL, 0)));
    waitpid(c, &st, 0);
    printf("child killed by %d\n", WIFSIGNALED(st) ? WTERMSIG(st) : 0);
    close(fd);
    int pp[2];
    pipe(pp);
    printf("not a pidfd: %s\n", err(send(pp[0], 0, NULL, 0)));

    /* to itself: SI_USER with its pid, or its own siginfo */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_usr1;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGUSR1, &sa, NULL);
    int r = send(self, SIGUSR1, NULL, 0);
    printf("to itself: %s, signal %d code %d pid ok %d\n", err(r), got_sig, got_code, got_pid_ok);
    memset(&si, 0, sizeof si);
    si.si_signo = SIGUSR1;
    si.si_code = SI_QUEUE;
    si.si_pid = getpid();
    si.si_value.sival_int = 77;
    got_sig = 0;
    r = send(self, SIGUSR1, &si, 0);
    printf("to itself with siginfo: %s, signal %d code %d value %d\n", err(r), got_sig, got_code,
           got_value);

    /* a process that has ended (a zombie) */
    c = sleeper(0, 9);
    siginfo_t wi;
    waitid(P_PID, c, &wi, WEXITED | WNOWAIT);
    fd = pidfd_open(c, 0);
    printf("zombie: %s, polls POLLIN %d, signal 0: %s\n", err(fd), (revents(fd) & POLLIN) != 0,
           err(send(fd, 0, NULL, 0)));
    waitpid(c, &st, 0);
    printf("reaped: signal 0: %s, status %d\n", err(send(fd, 0, NULL, 0)), WEXITSTATUS(st));
    return 0;
}
