#define _GNU_SOURCE
/* signalfd: the records of kill, sigqueue and real-time signals, several records
   in one read, poll and epoll readiness, a blocking read woken by another
   process's kill, a new mask, dup, fork (the child reads its own signals), EINTR
   and SA_RESTART around a blocking read, and the error cases.

   ssi_pid of a signal from another process is not printed, nor the code and
   status of SIGCHLD: mkemu does not know the sender of a signal that arrives as
   a host signal (it gives SI_USER and pid 0).  qemu-aarch64 7.2 accepts a
   sigsetsize of 16: that line starts "linux:". */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *err(long r) { return r < 0 ? strerrorname_np(errno) : "ok"; }

static int readable(int fd) {
    struct pollfd p = {fd, POLLIN | POLLOUT, 0};
    int r = poll(&p, 1, 0);
    return r == 1 ? p.revents : 0;
}

static void show(const char *what, struct signalfd_siginfo *si) {
    printf("%s: signo %u code %d errno %d pid-is-me %d uid-ok %d int %d ptr %#llx\n", what,
           si->ssi_signo, si->ssi_code, si->ssi_errno, si->ssi_pid == (uint32_t)getpid(),
           si->ssi_uid == getuid(), si->ssi_int, (unsigned long long)si->ssi_ptr);
}

static volatile int alarms;
static void on_alarm(int s) { (void)s; alarms++; }

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    printf("sizeof(struct signalfd_siginfo) %zu\n", sizeof(struct signalfd_siginfo));
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGUSR1);
    sigaddset(&mask, SIGUSR2);
    sigaddset(&mask, SIGRTMIN);
    sigaddset(&mask, SIGCHLD);
    sigprocmask(SIG_BLOCK, &mask, NULL);
    int sfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
    printf("signalfd: %s, cloexec %d, nonblock %d\n", err(sfd), (fcntl(sfd, F_GETFD) & FD_CLOEXEC) != 0,
           (fcntl(sfd, F_GETFL) & O_NONBLOCK) != 0);
    struct signalfd_siginfo si[8];
    long r = read(sfd, si, sizeof si);
    printf("empty: %ld %s, poll %#x\n", r, err(r), readable(sfd));

    /* kill to itself: SI_USER with its own pid and uid */
    kill(getpid(), SIGUSR1);
    printf("pending USR1: poll %#x\n", readable(sfd));
    r = read(sfd, si, 100);
    printf("read of 100 bytes: %s\n", err(r));
    r = read(sfd, si, sizeof si);
    printf("read %ld\n", r);
    show("kill", &si[0]);
    printf("after the read: poll %#x\n", readable(sfd));

    /* sigqueue's value */
    union sigval val = {.sival_int = 4242};
    sigqueue(getpid(), SIGUSR2, val);
    r = read(sfd, si, sizeof si);
    printf("read %ld\n", r);
    show("sigqueue", &si[0]);

    /* several at once: USR1 first (the lowest number), then the real-time ones in order */
    for (int i = 1; i <= 3; i++) {
        val.sival_ptr = (void *)(uintptr_t)(0x100000000ULL * i + i);
        sigqueue(getpid(), SIGRTMIN, val);
    }
    raise(SIGUSR1);
    r = read(sfd, si, sizeof si);
    printf("four pending, read %ld (%ld records)\n", r, r / (long)sizeof si[0]);
    for (int i = 0; i < r / (long)sizeof si[0]; i++) {
        char what[32];
        snprintf(what, sizeof what, "  record %d", i);
        show(what, &si[i]);
    }
    /* a buffer for one record takes one */
    raise(SIGUSR1);
    raise(SIGUSR2);
    r = read(sfd, si, sizeof si[0] + 50);
    printf("room for one: %ld, signo %u\n", r, si[0].ssi_signo);
    r = read(sfd, si, sizeof si);
    printf("the other: %ld, signo %u\n", r, si[0].ssi_signo);

    /* epoll: the data word comes back while a signal is pending */
    int ep = epoll_create1(0);
    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = 0x5167FD0000000005ULL}, out;
    epoll_ctl(ep, EPOLL_CTL_ADD, sfd, &ev);
    printf("epoll, none pending: %d\n", epoll_wait(ep, &out, 1, 0));
    raise(SIGUSR2);
    int n = epoll_wait(ep, &out, 1, 0);
    printf("epoll, USR2 pending: %d events %#x data %#llx\n", n, out.events,
           (unsigned long long)out.data.u64);
    read(sfd, si, sizeof si);
    printf("epoll, after the read: %d\n", epoll_wait(ep, &out, 1, 0));
    /* epoll sleeping until another process sends a signal */
    pid_t parent = getpid();
    pid_t c = fork();
    if (c == 0) {
        usleep(50000);
        kill(parent, SIGUSR2);
        _exit(0);
    }
    n = epoll_wait(ep, &out, 1, 5000);
    printf("epoll, woken by a child's kill: %d data %#llx\n", n, (unsigned long long)out.data.u64);
    r = read(sfd, si, sizeof si[0]);     /* USR2 (12) before the child's SIGCHLD (17) */
    printf("read %ld signo %u code %d\n", r, si[0].ssi_signo, si[0].ssi_code);
    /* its SIGCHLD: the code and status are not printed (mkemu's SIGCHLD is SI_USER) */
    waitpid(c, NULL, 0);
    struct pollfd pf = {sfd, POLLIN, 0};
    poll(&pf, 1, 5000);
    r = read(sfd, si, sizeof si);
    printf("child's end: %ld signo %u\n", r, si[0].ssi_signo);

    /* a blocking signalfd: the read sleeps until another process's kill */
    sigset_t one;
    sigemptyset(&one);
    sigaddset(&one, SIGUSR1);
    int bfd = signalfd(-1, &one, 0);
    c = fork();
    if (c == 0) {
        usleep(50000);
        kill(parent, SIGUSR1);
        _exit(0);
    }
    r = read(bfd, si, sizeof si);
    printf("blocking read: %ld signo %u code %d\n", r, si[0].ssi_signo, si[0].ssi_code);
    waitpid(c, NULL, 0);
    read(sfd, si, sizeof si);            /* the SIGCHLD */

    /* a handler interrupts the blocking read: EINTR, or with SA_RESTART it goes on */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alarm;
    sigaction(SIGALRM, &sa, NULL);
    struct itimerval it = {{0, 0}, {0, 50000}};
    setitimer(ITIMER_REAL, &it, NULL);
    r = read(bfd, si, sizeof si);
    printf("no SA_RESTART: %ld %s, alarms %d\n", r, err(r), alarms);
    sa.sa_flags = SA_RESTART;
    sigaction(SIGALRM, &sa, NULL);
    setitimer(ITIMER_REAL, &it, NULL);
    c = fork();
    if (c == 0) {
        usleep(200000);
        kill(parent, SIGUSR1);
        _exit(0);
    }
    r = read(bfd, si, sizeof si);
    printf("SA_RESTART: %ld signo %u, alarms %d\n", r, si[0].ssi_signo, alarms);
    waitpid(c, NULL, 0);
    read(sfd, si, sizeof si);

    /* a new mask: only USR2 now */
    sigset_t two;
    sigemptyset(&two);
    sigaddset(&two, SIGUSR2);
    printf("new mask: %s\n", err(signalfd(sfd, &two, 0) == sfd ? 0 : -1));
    raise(SIGUSR1);
    printf("USR1 pending, not in the mask: poll %#x\n", readable(sfd));
    raise(SIGUSR2);
    printf("USR2 pending: poll %#x\n", readable(sfd));
    r = read(sfd, si, sizeof si);
    printf("read %ld signo %u\n", r, si[0].ssi_signo);
    sigset_t pend;
    sigpending(&pend);
    printf("USR1 still pending %d\n", sigismember(&pend, SIGUSR1));
    r = read(bfd, si, sizeof si);        /* the other signalfd still has USR1 */
    printf("the other signalfd: %ld signo %u\n", r, si[0].ssi_signo);

    /* dup: the same signalfd under another number */
    signalfd(sfd, &mask, 0);
    int d = dup(sfd);
    raise(SIGUSR1);
    printf("dup: poll %#x\n", readable(d));
    r = read(d, si, sizeof si);
    printf("dup read %ld signo %u\n", r, si[0].ssi_signo);
    int d2 = dup2(sfd, 40);
    raise(SIGUSR2);
    r = read(d2, si, sizeof si);
    printf("dup2 read %ld signo %u\n", r, si[0].ssi_signo);
    close(d);
    close(d2);

    /* fork: the child reads its own signals, not the parent's */
    raise(SIGUSR2);
    c = fork();
    if (c == 0) {
        int ok = readable(sfd) == 0;
        r = read(sfd, si, sizeof si);
        ok = ok && r < 0 && errno == EAGAIN;
        raise(SIGUSR1);
        ok = ok && readable(sfd) == POLLIN;
        r = read(sfd, si, sizeof si);
        ok = ok && r == sizeof si[0] && si[0].ssi_signo == SIGUSR1 &&
             si[0].ssi_pid == (uint32_t)getpid();
        _exit(ok ? 0 : 1);
    }
    int st;
    waitpid(c, &st, 0);
    printf("fork: child saw only its own %d\n", WIFEXITED(st) && WEXITSTATUS(st) == 0);
    printf("parent: poll %#x\n", readable(sfd));
    r = read(sfd, si, sizeof si);
    printf("parent read %ld, first signo %u\n", r, si[0].ssi_signo);
    read(sfd, si, sizeof si);

    /* errors */
    int p[2];
    pipe(p);
    printf("not a signalfd: %s\n", err(signalfd(p[0], &mask, 0)));
    printf("bad fd: %s\n", err(signalfd(999, &mask, 0)));
    printf("bad flags: %s\n", err(signalfd(-1, &mask, 1)));
    printf("linux: sizemask 16: %s\n", err(syscall(SYS_signalfd4, -1, &mask, 16, 0)));
    printf("mask fault: %s\n", err(syscall(SYS_signalfd4, -1, (void *)16, 8, 0)));
    /* Linux: EINVAL, mkemu: EBADF (the descriptor is a pipe's read end) */
    printf("write fails: %d\n", write(sfd, si, sizeof si[0]) < 0);
    return 0;
}
