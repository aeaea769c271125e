/* Process-directed signals and threads that come and go: a child process keeps
 * starting short-lived threads (the only ones that let a real-time signal in;
 * its main thread blocks it) while its parent sends it 200 queued real-time
 * signals with sigqueue (values 1..200).  Linux keeps a process-directed signal
 * in the process's shared queue until some thread takes it, so none is lost
 * when a thread that could have taken it exits: every value arrives once.
 * (The signal may reach a thread in its first instructions, or just before it
 * exits, or wait until the main thread unblocks it at the end.) */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define COUNT 200

static volatile sig_atomic_t done;
static long received, sum, dup_or_bad;
static unsigned char seen[COUNT + 1];

static void on_sig(int sig, siginfo_t *si, void *uc)
{
    int v = si->si_value.sival_int;
    /* the handler may run in any thread: count under the atomics the compiler gives */
    if (v < 1 || v > COUNT || __atomic_exchange_n(&seen[v], 1, __ATOMIC_SEQ_CST))
        __atomic_add_fetch(&dup_or_bad, 1, __ATOMIC_SEQ_CST);
    __atomic_add_fetch(&received, 1, __ATOMIC_SEQ_CST);
    __atomic_add_fetch(&sum, v, __ATOMIC_SEQ_CST);
}

static void *brief(void *arg)
{
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, SIGRTMIN + 2);
    pthread_sigmask(SIG_UNBLOCK, &s, NULL);
    volatile long spin = 0;
    for (long i = 0; i < (long)arg; i++)
        spin += i;
    return NULL;
}

static int child(int ready_fd, int done_fd)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_sig;
    sa.sa_flags = SA_SIGINFO | SA_RESTART;
    sigaction(SIGRTMIN + 2, &sa, NULL);
    sigset_t s, old;
    sigemptyset(&s);
    sigaddset(&s, SIGRTMIN + 2);
    pthread_sigmask(SIG_BLOCK, &s, &old);
    write(ready_fd, "r", 1);
    long threads = 0;
    char c;
    for (;;) {
        pthread_t t[2];
        for (int i = 0; i < 2; i++)
            if (pthread_create(&t[i], NULL, brief, (void *)(long)(100 * i)) != 0) {
                printf("pthread_create failed\n");
                return 1;
            }
        for (int i = 0; i < 2; i++)
            pthread_join(t[i], NULL);
        threads += 2;
        if (read(done_fd, &c, 1) == 1)          /* (non-blocking) the sender is done */
            break;
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);   /* what waited for a thread arrives now */
    for (int i = 0; i < 2000 && __atomic_load_n(&received, __ATOMIC_SEQ_CST) < COUNT; i++)
        usleep(5000);
    printf("threads started: %s\n", threads >= 2 ? "some" : "none");
    printf("received %ld of %d, sum %ld (expected %d), duplicates or bad values %ld\n",
           received, COUNT, sum, COUNT * (COUNT + 1) / 2, dup_or_bad);
    fflush(stdout);
    return 0;
}

int main(void)
{
    int ready[2], fin[2];
    if (pipe(ready) || pipe2(fin, O_NONBLOCK))
        return 2;
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0)
        _exit(child(ready[1], fin[0]));
    char c;
    if (read(ready[0], &c, 1) != 1)
        return 3;
    int sent = 0;
    for (int v = 1; v <= COUNT; v++) {
        union sigval val = {.sival_int = v};
        if (sigqueue(pid, SIGRTMIN + 2, val) == 0)
            sent++;
        if (v % 4 == 0)
            usleep(1000);
    }
    write(fin[1], "d", 1);
    int st;
    waitpid(pid, &st, 0);
    printf("sent %d, child exit %d\n", sent, WIFEXITED(st) ? WEXITSTATUS(st) : -1);
    return 0;
}
