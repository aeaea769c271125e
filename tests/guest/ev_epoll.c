#define _GNU_SOURCE
/* epoll over a pipe pair (level, edge, one-shot), the 64-bit data word, regular
   files, nested epoll, eventfd and timerfd, an epoll shared across fork, and the
   error cases.  Everything printed is deterministic.  Lines starting "linux:" are
   where qemu-aarch64 7.2 differs from Linux (no epoll_pwait2; EFAULT for an
   unwritable buffer when no event is ready, where Linux returns 0): they are
   compared with the same source run natively. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char *err(int r) { return r < 0 ? strerrorname_np(errno) : "ok"; }

static int add(int ep, int fd, uint32_t events, uint64_t data) {
    struct epoll_event ev;
    memset(&ev, 0, sizeof ev);
    ev.events = events;
    ev.data.u64 = data;
    return epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
}

/* n events within timeout ms; prints them */
static int wait_print(const char *what, int ep, int timeout) {
    struct epoll_event evs[8];
    memset(evs, 0xAB, sizeof evs);
    int n = epoll_wait(ep, evs, 8, timeout);
    printf("%s: %d", what, n);
    if (n < 0)
        printf(" %s", strerrorname_np(errno));
    for (int i = 0; i < n; i++)
        printf(" [events %#x data %#llx]", evs[i].events, (unsigned long long)evs[i].data.u64);
    printf("\n");
    return n;
}

static long ms_since(struct timespec *a) {
    struct timespec b;
    clock_gettime(CLOCK_MONOTONIC, &b);
    return (b.tv_sec - a->tv_sec) * 1000 + (b.tv_nsec - a->tv_nsec) / 1000000;
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    printf("sizeof(struct epoll_event) %zu\n", sizeof(struct epoll_event));
    int p[2];
    pipe(p);
    char buf[64];
    static int marker;
    uint64_t word = 0xfedcba9876543210ULL;

    /* level-triggered: reported on every wait while data is there */
    int ep = epoll_create1(EPOLL_CLOEXEC);
    printf("epoll_create1 cloexec: %d\n", (fcntl(ep, F_GETFD) & FD_CLOEXEC) != 0);
    printf("add read end: %s\n", err(add(ep, p[0], EPOLLIN, word)));
    wait_print("level, empty", ep, 0);
    write(p[1], "abc", 3);
    wait_print("level, 3 bytes", ep, 0);
    wait_print("level, again", ep, 0);
    read(p[0], buf, 3);
    wait_print("level, drained", ep, 0);

    /* edge-triggered: once per new write */
    struct epoll_event ev = {.events = EPOLLIN | EPOLLET, .data.ptr = &marker};
    printf("mod to EPOLLET: %s\n", err(epoll_ctl(ep, EPOLL_CTL_MOD, p[0], &ev)));
    write(p[1], "abc", 3);
    struct epoll_event got[4];
    int n = epoll_wait(ep, got, 4, 0);
    printf("edge, 3 bytes: %d, pointer round-trips %d, events %#x\n", n,
           n == 1 && got[0].data.ptr == &marker, n == 1 ? got[0].events : 0);
    wait_print("edge, again", ep, 0);
    write(p[1], "d", 1);
    n = epoll_wait(ep, got, 4, 0);
    printf("edge, one more byte: %d, pointer round-trips %d\n", n, n == 1 && got[0].data.ptr == &marker);
    read(p[0], buf, sizeof buf);

    /* one-shot: reported once, then disabled until rearmed with MOD */
    ev.events = EPOLLIN | EPOLLONESHOT;
    ev.data.u64 = 0x8000000000000001ULL;
    epoll_ctl(ep, EPOLL_CTL_MOD, p[0], &ev);
    write(p[1], "x", 1);
    wait_print("oneshot, first", ep, 0);
    wait_print("oneshot, disabled", ep, 0);
    ev.data.u64 = 7;
    printf("rearm: %s\n", err(epoll_ctl(ep, EPOLL_CTL_MOD, p[0], &ev)));
    wait_print("oneshot, rearmed", ep, 0);
    read(p[0], buf, sizeof buf);

    /* the write end: EPOLLOUT; closing the write end: EPOLLHUP on the read end */
    add(ep, p[1], EPOLLOUT, 0x1111);
    ev.events = EPOLLIN;
    ev.data.u64 = 0x2222;
    epoll_ctl(ep, EPOLL_CTL_MOD, p[0], &ev);
    wait_print("write end", ep, 0);
    printf("del write end: %s\n", err(epoll_ctl(ep, EPOLL_CTL_DEL, p[1], NULL)));
    printf("del again: %s\n", err(epoll_ctl(ep, EPOLL_CTL_DEL, p[1], NULL)));
    printf("add twice: %s\n", err(add(ep, p[0], EPOLLIN, 0)));
    printf("mod unknown: %s\n", err(epoll_ctl(ep, EPOLL_CTL_MOD, p[1], &ev)));
    close(p[1]);
    wait_print("writer closed", ep, 0);
    close(p[0]);
    wait_print("reader closed (removed)", ep, 0);

    /* errors */
    int f = open("/tmp/ev_epoll_file", O_CREAT | O_RDWR | O_TRUNC, 0600);
    printf("regular file: %s\n", err(add(ep, f, EPOLLIN, 0)));
    close(f);
    unlink("/tmp/ev_epoll_file");
    printf("itself: %s\n", err(add(ep, ep, EPOLLIN, 0)));
    printf("bad fd: %s\n", err(add(ep, 999, EPOLLIN, 0)));
    printf("not an epoll: %s\n", err(add(0, 1, EPOLLIN, 0)));
    printf("bad op: %s\n", err(epoll_ctl(ep, 99, 0, &ev)));
    printf("event fault: %s\n", err(epoll_ctl(ep, EPOLL_CTL_ADD, 0, (void *)16)));
    printf("create1 bad flags: %s\n", err(epoll_create1(1)));
    printf("wait maxevents 0: %s\n", err(epoll_wait(ep, got, 0, 0)));
    printf("wait on a pipe: %s\n", err(pipe(p) < 0 ? -1 : epoll_wait(p[0], got, 1, 0)));
    printf("wait bad fd: %s\n", err(epoll_wait(999, got, 1, 0)));
    void *volatile bad = (void *)16;
    printf("linux: wait fault, nothing ready: %s\n", err(epoll_wait(ep, bad, 1, 0)));
    printf("exclusive: %s\n", err(add(ep, p[0], EPOLLIN | EPOLLEXCLUSIVE, 5)));
    ev.events = EPOLLIN | EPOLLEXCLUSIVE;
    printf("mod exclusive: %s\n", err(epoll_ctl(ep, EPOLL_CTL_MOD, p[0], &ev)));
    epoll_ctl(ep, EPOLL_CTL_DEL, p[0], NULL);

    /* an epoll inside an epoll */
    int inner = epoll_create1(0);
    add(inner, p[0], EPOLLIN, 0x33);
    int outer = epoll_create1(0);
    printf("nest: %s\n", err(add(outer, inner, EPOLLIN, 0x44)));
    printf("loop: %s\n", err(add(inner, outer, EPOLLIN, 0x55)));
    wait_print("outer, empty", outer, 0);
    write(p[1], "y", 1);
    wait_print("outer, ready", outer, 0);
    wait_print("inner, ready", inner, 0);
    read(p[0], buf, 1);
    close(inner);
    close(outer);

    /* eventfd and timerfd */
    int efd = eventfd(0, EFD_NONBLOCK);
    int tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK);
    add(ep, efd, EPOLLIN | EPOLLOUT, 0xE0E0E0E0E0ULL);
    add(ep, tfd, EPOLLIN, 0x7F7F7F7F7F7FULL);
    wait_print("eventfd writable, timer unarmed", ep, 0);
    uint64_t one = 3;
    write(efd, &one, 8);
    wait_print("eventfd 3", ep, 0);
    read(efd, &one, 8);
    struct itimerspec its = {{0, 0}, {0, 30 * 1000000}};
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    timerfd_settime(tfd, 0, &its, NULL);
    struct epoll_event e1;
    epoll_ctl(ep, EPOLL_CTL_DEL, efd, NULL);
    n = epoll_wait(ep, &e1, 1, 2000);
    long waited = ms_since(&t0);
    printf("timer: %d events %#x data %#llx, after >= 25 ms %d, < 1500 ms %d\n", n, e1.events,
           (unsigned long long)e1.data.u64, waited >= 25, waited < 1500);
    uint64_t ticks = 0;
    read(tfd, &ticks, 8);
    printf("timer ticks %llu\n", (unsigned long long)ticks);

    /* timeouts */
    clock_gettime(CLOCK_MONOTONIC, &t0);
    n = epoll_wait(ep, &e1, 1, 60);
    waited = ms_since(&t0);
    printf("timeout 60 ms: %d, waited >= 55 %d, < 1500 %d\n", n, waited >= 55, waited < 1500);
    struct timespec ts = {0, 40 * 1000000};
    clock_gettime(CLOCK_MONOTONIC, &t0);
    n = epoll_pwait2(ep, &e1, 1, &ts, NULL);
    waited = ms_since(&t0);
    printf("linux: pwait2 40 ms: %d, waited >= 35 %d, < 1500 %d\n", n, waited >= 35, waited < 1500);
    ts.tv_nsec = 1000000000;
    printf("linux: pwait2 bad timespec: %s\n", err(epoll_pwait2(ep, &e1, 1, &ts, NULL)));

    /* shared across fork: the child's write wakes the parent; the data word is the epoll's */
    int q[2];
    pipe(q);
    add(ep, q[0], EPOLLIN, 0xC0FFEE0000000001ULL);
    pid_t c = fork();
    if (c == 0) {
        struct epoll_event ce;
        int cn = epoll_wait(ep, &ce, 1, 0);
        usleep(50000);
        write(q[1], "z", 1);
        _exit(cn == 0 ? 0 : 3);
    }
    n = epoll_wait(ep, &e1, 1, 5000);
    int st;
    waitpid(c, &st, 0);
    printf("fork: %d data %#llx child status %d\n", n, (unsigned long long)e1.data.u64,
           WEXITSTATUS(st));
    /* many events, fewer slots: the rest stay for the next wait */
    int many[6][2];
    for (int i = 0; i < 6; i++) {
        pipe(many[i]);
        write(many[i][1], "m", 1);
        add(ep, many[i][0], EPOLLIN, 100 + i);
    }
    struct epoll_event two[2];
    int total = 0, rounds = 0;
    unsigned long long sum = 0;
    while ((n = epoll_wait(ep, two, 2, 0)) > 0 && rounds < 10) {
        rounds++;
        for (int i = 0; i < n; i++) {
            if (two[i].data.u64 >= 100 && two[i].data.u64 < 106) {
                total++;
                sum += two[i].data.u64;
                epoll_ctl(ep, EPOLL_CTL_DEL, many[two[i].data.u64 - 100][0], NULL);
            } else {
                read(q[0], buf, 1);
            }
        }
    }
    printf("six ready, two slots: %d events in %d rounds, sum %llu\n", total, rounds, sum);
    return 0;
}
