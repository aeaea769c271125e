/* The alternate signal stack belongs to a thread: a new thread starts with
 * none (clone with CLONE_VM clears it, though the main thread has one); 2
 * threads each set their own, wait until both have (a process-wide setting
 * would now be the last one made), then a SIGUSR1 sent to itself
 * (pthread_kill) runs the SA_ONSTACK handler on that thread's own stack, with
 * sigaltstack reporting SS_ONSTACK there; the main thread's handler still runs
 * on the main thread's alternate stack afterwards. */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* no thread, no test: stop at once rather than wait for one forever */
static void spawn(pthread_t *t, void *(*fn)(void *), void *arg)
{
    int r = pthread_create(t, NULL, fn, arg);
    if (r) {
        printf("pthread_create: %s\n", strerror(r));
        exit(2);
    }
}

#define ALT_SIZE (64 * 1024)
#define NTHREADS 2

struct result {
    char *alt;                 /* this thread's alternate stack */
    int inherited_flags;       /* sigaltstack's flags when the thread started */
    int on_own_stack, reported_onstack, ran;
};
static struct result res[NTHREADS + 1];     /* [NTHREADS]: the main thread */
static __thread struct result *mine;
static pthread_barrier_t both_set;

static void on_usr1(int sig)
{
    char local;
    stack_t now;
    (void)sig;
    mine->ran++;
    mine->on_own_stack = &local >= mine->alt && &local < mine->alt + ALT_SIZE;
    mine->reported_onstack = sigaltstack(NULL, &now) == 0 && (now.ss_flags & SS_ONSTACK) &&
                             now.ss_sp == mine->alt;
}

static void *run(void *arg)
{
    struct result *r = arg;
    stack_t old, ss = {.ss_sp = r->alt, .ss_size = ALT_SIZE, .ss_flags = 0};
    sigaltstack(NULL, &old);
    r->inherited_flags = old.ss_flags;
    mine = r;
    sigaltstack(&ss, NULL);
    pthread_barrier_wait(&both_set);
    pthread_kill(pthread_self(), SIGUSR1);   /* handled before pthread_kill returns */
    return NULL;
}

int main(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr1;
    sa.sa_flags = SA_ONSTACK;
    sigaction(SIGUSR1, &sa, NULL);
    for (int i = 0; i <= NTHREADS; i++)
        res[i].alt = malloc(ALT_SIZE);
    stack_t ss = {.ss_sp = res[NTHREADS].alt, .ss_size = ALT_SIZE, .ss_flags = 0};
    sigaltstack(&ss, NULL);                  /* before the threads: they must not get it */

    pthread_t t[NTHREADS];
    pthread_barrier_init(&both_set, NULL, NTHREADS);
    for (int i = 0; i < NTHREADS; i++)
        spawn(&t[i], run, &res[i]);
    for (int i = 0; i < NTHREADS; i++)
        pthread_join(t[i], NULL);
    mine = &res[NTHREADS];
    pthread_kill(pthread_self(), SIGUSR1);

    int ok = 1;
    for (int i = 0; i <= NTHREADS; i++) {
        struct result *r = &res[i];
        if (i < NTHREADS)
            printf("thread %d: started with %s, ", i,
                   r->inherited_flags == SS_DISABLE ? "SS_DISABLE" : "an alternate stack");
        else
            printf("main: ");
        printf("handler ran %d time(s), on its own alternate stack: %s, SS_ONSTACK: %s\n",
               r->ran, r->on_own_stack ? "yes" : "NO", r->reported_onstack ? "yes" : "NO");
        ok &= r->ran == 1 && r->on_own_stack && r->reported_onstack &&
              (i == NTHREADS || r->inherited_flags == SS_DISABLE);
    }
    puts(ok ? "sigaltstack ok" : "sigaltstack WRONG");
    return !ok;
}
