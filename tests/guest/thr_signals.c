/* Signals and threads:
 *  - thread-directed (pthread_kill, raw tgkill): the handler runs in the target
 *    thread (its gettid), even while other threads could take it; blocked in
 *    the target, it stays pending there (sigpending) and nobody else takes it;
 *  - process-directed (kill) while every thread but one blocks it: that one
 *    runs the handler; while all block it, a thread in sigtimedwait takes it;
 *    the one that lets it in still takes it after a thread started just before
 *    it has ended (each thread has its own slot for its mask in mkemu);
 *  - in forked children: exit(3) in a worker ends the whole process (exit_group)
 *    with status 3; a worker killed by a default-fatal signal kills the whole
 *    process; the main thread's pthread_exit leaves the process running until
 *    the last thread exits, whose status it gets. */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

/* no thread, no test: stop at once rather than wait for one forever */
static void spawn(pthread_t *t, void *(*fn)(void *), void *arg)
{
    int r = pthread_create(t, NULL, fn, arg);
    if (r) {
        printf("pthread_create: %s\n", strerror(r));
        exit(2);
    }
}

static volatile pid_t handled_by;      /* gettid() of the last handler run */
static volatile int stop;
static pid_t tids[3];
static pthread_barrier_t ready;

static void on_sig(int sig)
{
    handled_by = gettid();
}

/* Linux runs the handler at once; wait up to 20 s, then report NO rather than hang */
static void wait_handled(void)
{
    for (int i = 0; i < 20000 && !handled_by; i++)
        usleep(1000);
}

static const char *yes(int c)
{
    return c ? "yes" : "NO";
}

/* worker 0 holds SIGUSR1 blocked until main says; worker 1 never blocks it */
static volatile int unblock_now, saw_pending;
static void *worker(void *arg)
{
    long i = (long)arg;
    tids[i] = gettid();
    if (i == 0) {
        sigset_t s;
        sigemptyset(&s);
        sigaddset(&s, SIGUSR1);
        pthread_sigmask(SIG_BLOCK, &s, NULL);
    }
    pthread_barrier_wait(&ready);
    while (!stop) {
        if (i == 0 && unblock_now) {
            sigset_t s, pend;
            sigemptyset(&s);
            sigaddset(&s, SIGUSR1);
            sigpending(&pend);
            saw_pending = sigismember(&pend, SIGUSR1);
            unblock_now = 0;
            pthread_sigmask(SIG_UNBLOCK, &s, NULL);   /* the handler runs here */
        }
        usleep(1000);
    }
    return NULL;
}

static void *unblocks_usr2(void *arg)
{
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, SIGUSR2);
    tids[2] = gettid();
    pthread_sigmask(SIG_UNBLOCK, &s, NULL);
    pthread_barrier_wait(&ready);
    wait_handled();
    return NULL;
}

static void *waits_usr2(void *arg)
{
    sigset_t s;
    siginfo_t si;
    struct timespec limit = {20, 0};
    sigemptyset(&s);
    sigaddset(&s, SIGUSR2);
    pthread_barrier_wait(&ready);
    int r = sigtimedwait(&s, &si, &limit);
    return (void *)(long)(r == SIGUSR2 && si.si_code == SI_USER && si.si_pid == getpid());
}

static void *ends_at_once(void *arg)
{
    return NULL;
}

static void *exits_3(void *arg)
{
    exit(3);
}

static void *kills_itself(void *arg)
{
    pthread_kill(pthread_self(), SIGTERM);
    for (;;)
        pause();
    return NULL;
}

static void *outlives_main(void *arg)
{
    usleep(100000);
    _exit(5);                 /* after the main thread's pthread_exit */
}

static void in_child(const char *what, void *(*fn)(void *), int main_exits)
{
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        pthread_t t;
        alarm(30);                /* if the process outlives its end: killed by ALRM */
        spawn(&t, fn, NULL);
        if (main_exits)
            pthread_exit(NULL);
        for (;;)
            pause();
    }
    int st;
    waitpid(pid, &st, 0);
    if (WIFEXITED(st))
        printf("%s: process exited %d\n", what, WEXITSTATUS(st));
    else
        printf("%s: process killed by %s\n", what,
               WIFSIGNALED(st) ? sigabbrev_np(WTERMSIG(st)) : "?");
}

int main(void)
{
    signal(SIGUSR1, on_sig);
    signal(SIGUSR2, on_sig);
    pthread_t t[3];
    pthread_barrier_init(&ready, NULL, 3);
    for (long i = 0; i < 2; i++)
        spawn(&t[i], worker, (void *)i);
    pthread_barrier_wait(&ready);

    pthread_kill(t[1], SIGUSR1);
    wait_handled();
    printf("pthread_kill to worker 1: handled there: %s\n", yes(handled_by == tids[1]));
    handled_by = 0;
    syscall(SYS_tgkill, getpid(), tids[1], SIGUSR1);
    wait_handled();
    printf("tgkill to worker 1: handled there: %s\n", yes(handled_by == tids[1]));
    handled_by = 0;
    pthread_kill(t[0], SIGUSR1);
    usleep(100000);
    printf("to worker 0, which blocks it: left pending: %s\n", yes(handled_by == 0));
    unblock_now = 1;
    wait_handled();
    printf("worker 0 saw it pending: %s, handled there once unblocked: %s\n",
           yes(saw_pending), yes(handled_by == tids[0]));
    stop = 1;
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);

    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, SIGUSR2);
    pthread_sigmask(SIG_BLOCK, &s, NULL);  /* inherited by the threads below */
    handled_by = 0;
    pthread_barrier_init(&ready, NULL, 2);
    spawn(&t[2], unblocks_usr2, NULL);
    pthread_barrier_wait(&ready);
    kill(getpid(), SIGUSR2);
    pthread_join(t[2], NULL);
    printf("kill() while only one thread takes it: handled there: %s\n",
           yes(handled_by == tids[2]));
    /* two threads started back to back; the first is gone before the kill (in rounds:
     * whether mkemu's second thread starts before the first has is up to the host) */
    int every = 1;
    for (int round = 0; round < 16; round++) {
        handled_by = 0;
        spawn(&t[0], ends_at_once, NULL);
        spawn(&t[2], unblocks_usr2, NULL);
        pthread_join(t[0], NULL);
        usleep(20000);
        pthread_barrier_wait(&ready);
        kill(getpid(), SIGUSR2);
        pthread_join(t[2], NULL);
        every &= handled_by == tids[2];
    }
    printf("kill() after a sibling started just before ended, 16 rounds: handled there: %s\n",
           yes(every));
    void *waited;
    spawn(&t[2], waits_usr2, NULL);
    pthread_barrier_wait(&ready);
    kill(getpid(), SIGUSR2);
    pthread_join(t[2], &waited);
    printf("kill() while all block it: taken by sigtimedwait: %s\n", yes((long)waited));

    in_child("exit(3) in a worker", exits_3, 0);
    in_child("SIGTERM to a worker", kills_itself, 0);
    in_child("main pthread_exit, then worker _exit(5)", outlives_main, 1);
    return 0;
}
