#define _GNU_SOURCE
/* eventfd (counter and semaphore mode, non-blocking, the 8-byte rules, a blocking
   read woken by another process) and timerfd (relative, absolute, intervals
   counted as expirations, gettime, the clocks and flags).  Times are printed as
   comparisons, so the output is deterministic. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char *err(long r) { return r < 0 ? strerrorname_np(errno) : "ok"; }

static long rd(int fd, uint64_t *v) {
    *v = 0;
    long r = read(fd, v, 8);
    return r;
}

static long ms_since(struct timespec *a) {
    struct timespec b;
    clock_gettime(CLOCK_MONOTONIC, &b);
    return (b.tv_sec - a->tv_sec) * 1000 + (b.tv_nsec - a->tv_nsec) / 1000000;
}

static int readable(int fd) {
    struct pollfd p = {fd, POLLIN, 0};
    return poll(&p, 1, 0) == 1 && (p.revents & POLLIN);
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    uint64_t v;
    long r;

    /* counter mode: writes add up, a read takes everything */
    int e = eventfd(5, EFD_NONBLOCK | EFD_CLOEXEC);
    printf("eventfd flags: cloexec %d nonblock %d\n", (fcntl(e, F_GETFD) & FD_CLOEXEC) != 0,
           (fcntl(e, F_GETFL) & O_NONBLOCK) != 0);
    v = 7;
    write(e, &v, 8);
    r = rd(e, &v);
    printf("counter: read %ld value %llu\n", r, (unsigned long long)v);
    r = rd(e, &v);
    printf("empty, non-blocking: %ld %s\n", r, err(r));
    /* the 8-byte rules */
    char small[4];
    r = read(e, small, 4);
    printf("read of 4 bytes: %s\n", err(r));
    r = write(e, small, 4);
    printf("write of 4 bytes: %s\n", err(r));
    v = UINT64_MAX;
    r = write(e, &v, 8);
    printf("write of UINT64_MAX: %s\n", err(r));
    v = UINT64_MAX - 1;
    printf("write of the largest value: %s\n", err(write(e, &v, 8)));
    v = 1;
    r = write(e, &v, 8);
    printf("write past it, non-blocking: %s\n", err(r));
    rd(e, &v);
    char big[16];
    v = 9;
    write(e, &v, 8);
    r = read(e, big, 16);
    memcpy(&v, big, 8);
    printf("read of 16 bytes: %ld value %llu\n", r, (unsigned long long)v);
    struct iovec iov[2] = {{small, 4}, {small, 4}};
    v = 1;
    write(e, &v, 8);
    r = readv(e, iov, 2);
    printf("readv of 4+4 bytes: %ld %s\n", r, err(r));
    printf("pread: %s\n", err(pread(e, big, 8, 0)));
    close(e);

    /* semaphore mode: each read takes one */
    e = eventfd(3, EFD_SEMAPHORE | EFD_NONBLOCK);
    for (int i = 0; i < 4; i++) {
        r = rd(e, &v);
        printf("semaphore read %d: %ld %s value %llu\n", i, r, err(r), (unsigned long long)v);
    }
    v = 2;
    write(e, &v, 8);
    printf("readable after adding 2: %d\n", readable(e));
    rd(e, &v);
    rd(e, &v);
    printf("readable after two reads: %d\n", readable(e));
    close(e);
    printf("bad flags: %s\n", err(eventfd(0, 0x100)));

    /* a blocking read sleeps until another process writes */
    e = eventfd(0, 0);
    pid_t c = fork();
    if (c == 0) {
        usleep(50000);
        uint64_t w = 42;
        write(e, &w, 8);
        _exit(0);
    }
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    r = rd(e, &v);
    long waited = ms_since(&t0);
    waitpid(c, NULL, 0);
    printf("blocking read: %ld value %llu, slept >= 40 ms %d\n", r, (unsigned long long)v,
           waited >= 40);
    /* a blocking short read is EINVAL at once, not a sleep */
    r = read(e, small, 4);
    printf("blocking read of 4 bytes: %s\n", err(r));
    close(e);

    /* timerfd: an interval timer counts its expirations */
    int t = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
    printf("timerfd cloexec %d\n", (fcntl(t, F_GETFD) & FD_CLOEXEC) != 0);
    struct itimerspec its = {{0, 20 * 1000000}, {0, 20 * 1000000}}, cur, old;
    struct timespec armed;
    clock_gettime(CLOCK_MONOTONIC, &armed);
    printf("settime: %s\n", err(timerfd_settime(t, 0, &its, &old)));
    printf("old value of an unarmed timer: %lld %ld %lld %ld\n", (long long)old.it_interval.tv_sec,
           old.it_interval.tv_nsec, (long long)old.it_value.tv_sec, old.it_value.tv_nsec);
    timerfd_gettime(t, &cur);
    printf("gettime: interval %ld ms, value in (0, 20] ms %d\n", cur.it_interval.tv_nsec / 1000000,
           cur.it_value.tv_sec == 0 && cur.it_value.tv_nsec > 0 && cur.it_value.tv_nsec <= 20000000);
    usleep(110000);
    r = rd(t, &v);
    long elapsed = ms_since(&armed);
    printf("interval: read %ld, expirations >= 5 %d, no more than the time allows %d\n", r,
           v >= 5, (long)v <= elapsed / 20 + 1);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    r = rd(t, &v);
    waited = ms_since(&t0);
    printf("next blocking read: %ld, expirations >= 1 %d, waited < 1000 ms %d\n", r, v >= 1,
           waited < 1000);
    r = read(t, small, 4);
    printf("read of 4 bytes: %s\n", err(r));
    /* disarm */
    memset(&its, 0, sizeof its);
    timerfd_settime(t, 0, &its, &old);
    printf("disarmed: old interval %ld ms\n", old.it_interval.tv_nsec / 1000000);
    fcntl(t, F_SETFL, O_NONBLOCK);
    r = rd(t, &v);
    printf("read of a disarmed timer: %s\n", err(r));
    timerfd_gettime(t, &cur);
    printf("gettime disarmed: %lld %ld %lld %ld\n", (long long)cur.it_interval.tv_sec,
           cur.it_interval.tv_nsec, (long long)cur.it_value.tv_sec, cur.it_value.tv_nsec);
    close(t);

    /* absolute times on each clock */
    clockid_t clocks[] = {CLOCK_REALTIME, CLOCK_MONOTONIC, CLOCK_BOOTTIME};
    const char *names[] = {"REALTIME", "MONOTONIC", "BOOTTIME"};
    for (int i = 0; i < 3; i++) {
        t = timerfd_create(clocks[i], 0);
        struct timespec now;
        clock_gettime(clocks[i], &now);
        its.it_interval.tv_sec = its.it_interval.tv_nsec = 0;
        its.it_value = now;
        its.it_value.tv_nsec += 30 * 1000000;
        if (its.it_value.tv_nsec >= 1000000000) {
            its.it_value.tv_sec++;
            its.it_value.tv_nsec -= 1000000000;
        }
        clock_gettime(CLOCK_MONOTONIC, &t0);
        int s = timerfd_settime(t, TFD_TIMER_ABSTIME, &its, NULL);
        r = rd(t, &v);
        waited = ms_since(&t0);
        printf("%s absolute: %s, read %ld value %llu, waited >= 20 ms %d, < 1000 ms %d\n",
               names[i], err(s), r, (unsigned long long)v, waited >= 20, waited < 1000);
        /* an absolute time in the past fires at once */
        its.it_value.tv_sec -= 10;
        timerfd_settime(t, TFD_TIMER_ABSTIME, &its, NULL);
        printf("%s in the past: readable %d\n", names[i], readable(t));
        close(t);
    }
    /* TFD_TIMER_CANCEL_ON_SET: only with an absolute CLOCK_REALTIME timer */
    t = timerfd_create(CLOCK_REALTIME, TFD_NONBLOCK);
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    its.it_value = now;
    its.it_value.tv_sec += 100;
    printf("cancel-on-set, absolute: %s\n",
           err(timerfd_settime(t, TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET, &its, NULL)));
    printf("read while armed: %s\n", err(rd(t, &v)));
    close(t);
    t = timerfd_create(CLOCK_MONOTONIC, 0);
    printf("bad settime flags: %s\n", err(timerfd_settime(t, 8, &its, NULL)));
    its.it_value.tv_nsec = 1000000000;
    printf("bad timespec: %s\n", err(timerfd_settime(t, 0, &its, NULL)));
    printf("settime fault: %s\n", err(timerfd_settime(t, 0, (void *)16, NULL)));
    printf("gettime on an eventfd: %s\n", err(timerfd_gettime(eventfd(0, 0), &cur)));
    printf("bad clock: %s\n", err(timerfd_create(12345, 0)));
    printf("CPU-time clock: %s\n", err(timerfd_create(CLOCK_PROCESS_CPUTIME_ID, 0)));
    printf("bad create flags: %s\n", err(timerfd_create(CLOCK_MONOTONIC, 1)));
    return 0;
}
