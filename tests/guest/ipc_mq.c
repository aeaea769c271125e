/* POSIX message queues: priorities, O_NONBLOCK, a timed receive that times out,
 * attributes, a queue shared with a forked child, mq_notify with a signal, and
 * the errors of names.  argv[1] is the queue's name ("/something"). */
#include <errno.h>
#include <fcntl.h>
#include <mqueue.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void show(const char *what, long r) {
    if (r < 0) printf("%s: -1 %s\n", what, strerror(errno));
    else printf("%s: %ld\n", what, r);
}

static void receive(mqd_t q, const char *what) {
    char buf[128];
    unsigned prio = 99;
    ssize_t n = mq_receive(q, buf, sizeof buf, &prio);
    if (n < 0) printf("%s: -1 %s\n", what, strerror(errno));
    else printf("%s: '%.*s' prio %u\n", what, (int)n, buf, prio);
}

static volatile sig_atomic_t notified;
static void on_usr1(int sig) { notified = sig; }

int main(int argc, char **argv) {
    const char *name = argc > 1 ? argv[1] : "/mkemu-test-q";
    struct mq_attr attr = { .mq_maxmsg = 4, .mq_msgsize = 128 };
    mqd_t q = mq_open(name, O_CREAT | O_EXCL | O_RDWR, 0600, &attr);
    if (q == (mqd_t)-1) { perror("mq_open"); return 1; }
    printf("descriptor is the lowest free: %d\n", q == 3);
    printf("close-on-exec: %d\n", !!(fcntl(q, F_GETFD) & FD_CLOEXEC));
    show("O_EXCL again", mq_open(name, O_CREAT | O_EXCL | O_RDWR, 0600, &attr));
    struct mq_attr got;
    mq_getattr(q, &got);
    printf("attr: maxmsg %ld msgsize %ld curmsgs %ld flags %lx\n", got.mq_maxmsg,
           got.mq_msgsize, got.mq_curmsgs, got.mq_flags);

    mq_send(q, "low", 3, 1);
    mq_send(q, "high", 4, 30);
    mq_send(q, "middle", 6, 7);
    mq_send(q, "middle too", 10, 7);
    mq_getattr(q, &got);
    printf("queued: %ld\n", got.mq_curmsgs);
    struct timespec soon;
    clock_gettime(CLOCK_REALTIME, &soon);
    soon.tv_nsec += 50000000;
    if (soon.tv_nsec >= 1000000000) { soon.tv_sec++; soon.tv_nsec -= 1000000000; }
    show("send to a full queue with a timeout", mq_timedsend(q, "x", 1, 0, &soon));
    struct pollfd pfd = { q, POLLIN };
    int ready = poll(&pfd, 1, 0);
    printf("poll: %d revents %x\n", ready, pfd.revents);
    receive(q, "first");
    receive(q, "second");
    receive(q, "third");
    receive(q, "fourth");
    char small[8];
    show("buffer smaller than msgsize", mq_receive(q, small, sizeof small, NULL));

    struct mq_attr nb = { .mq_flags = O_NONBLOCK }, old;
    mq_setattr(q, &nb, &old);
    printf("old flags %lx\n", old.mq_flags);
    receive(q, "empty, O_NONBLOCK");
    mq_setattr(q, &old, NULL);
    clock_gettime(CLOCK_REALTIME, &soon);
    soon.tv_nsec += 50000000;
    if (soon.tv_nsec >= 1000000000) { soon.tv_sec++; soon.tv_nsec -= 1000000000; }
    char buf[128];
    show("timed receive", mq_timedreceive(q, buf, sizeof buf, NULL, &soon));
    struct timespec bad = { 0, 2000000000 };
    show("bad timeout", mq_timedreceive(q, buf, sizeof buf, NULL, &bad));

    signal(SIGUSR1, on_usr1);
    struct sigevent ev = { .sigev_notify = SIGEV_SIGNAL, .sigev_signo = SIGUSR1 };
    show("mq_notify", mq_notify(q, &ev));
    show("mq_notify twice", mq_notify(q, &ev));
    pid_t child = fork();
    if (child == 0) {
        mq_send(q, "from the child", 14, 3);
        mqd_t again = mq_open(name, O_WRONLY);
        mq_send(again, "second descriptor", 17, 2);
        mq_close(again);
        _exit(0);
    }
    int status;
    waitpid(child, &status, 0);
    for (int i = 0; i < 200 && !notified; i++)
        usleep(10000);
    printf("notified by signal %d\n", notified);
    receive(q, "child's");
    receive(q, "child's second");
    show("mq_close", mq_close(q));
    show("mq_unlink", mq_unlink(name));
    show("mq_unlink again", mq_unlink(name));
    show("open removed", mq_open(name, O_RDONLY));
    show("no slash", mq_open("noslash", O_RDONLY));
    show("slash inside", mq_open("/a/b", O_CREAT | O_RDWR, 0600, NULL));
    return 0;
}
