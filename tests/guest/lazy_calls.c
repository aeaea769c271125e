/* Calls whose handlers a task imports at their first use (kern/sysmodules.py): in
   the first process, then in a forked child that calls what its parent never did.
   Prints facts that hold on Linux whatever the pids are. */
#include <errno.h>
#include <poll.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    printf("sched_yield: %d\n", sched_yield());
    int ev = eventfd(5, 0);
    uint64_t v = 0;
    printf("eventfd: %d, read %zd value %llu\n", ev >= 0, read(ev, &v, 8),
           (unsigned long long)v);
    int sv[2];
    printf("socketpair: %d\n", socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
    char buf[8] = {0};
    printf("send %zd recv %zd %s\n", send(sv[0], "ping", 4, 0), recv(sv[1], buf, 8, 0), buf);
    int fds[2];
    if (pipe(fds)) return 1;
    pid_t pid = fork();
    if (pid == 0) {
        /* ppoll and epoll: no process of this machine has called them yet */
        struct pollfd p = {fds[0], POLLIN, 0};
        if (write(fds[1], "x", 1) != 1) _exit(90);
        int n = poll(&p, 1, 1000);
        int ep = epoll_create1(0);
        struct epoll_event e = {.events = EPOLLIN, .data.u32 = 7}, got;
        int added = epoll_ctl(ep, EPOLL_CTL_ADD, fds[0], &e);
        int ready = epoll_wait(ep, &got, 1, 1000);
        _exit(n == 1 && p.revents == POLLIN && added == 0 && ready == 1 && got.data.u32 == 7
              ? 42 : 91);
    }
    int st = 0;
    printf("waitpid: %d, exited %d status %d\n", waitpid(pid, &st, 0) == pid, WIFEXITED(st),
           WEXITSTATUS(st));
    struct timespec ts = {0, 1000};
    printf("clock_nanosleep: %d\n", clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, NULL));
    errno = 0;
    printf("poll of nothing: %d\n", poll(NULL, 0, 0));
    return 0;
}
