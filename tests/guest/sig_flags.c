/* Handler flags and nesting:
 * - SA_RESETHAND: the handler runs once, the disposition is SIG_DFL after;
 * - without SA_NODEFER a signal raised inside its own handler waits until the
 *   handler returns; with SA_NODEFER it nests at once;
 * - sa_mask blocks other signals during the handler;
 * - a handler raising another signal runs that one's handler nested inside;
 * - two signals pending when unblocked: the order handlers start and end;
 * - a handler without SA_SIGINFO and the default action after SA_RESETHAND:
 *   the last raise kills the program with SIGUSR2 (exit status 128+12). */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static volatile char trace[256];
static volatile int tlen;
static void mark(char c) { trace[tlen++] = c; trace[tlen] = 0; }

static volatile int depth, max_depth, count;

static void nodefer(int sig)
{
    count++;
    depth++;
    if (depth > max_depth)
        max_depth = depth;
    if (count < 3)
        raise(sig);
    mark('0' + depth);
    depth--;
}

static void on_usr1(int sig) { (void)sig; mark('a'); raise(SIGUSR2); mark('A'); }
static void on_usr2(int sig) { (void)sig; mark('b'); }
static void on_hup(int sig) { (void)sig; mark('h'); raise(SIGINT); mark('H'); }
static void on_int(int sig) { (void)sig; mark('i'); }

static void set(int sig, void (*fn)(int), int flags, int masked)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = fn;
    sa.sa_flags = flags;
    if (masked)
        sigaddset(&sa.sa_mask, masked);
    sigaction(sig, &sa, NULL);
}

int main(void)
{
    struct sigaction cur;
    sigset_t both;
    setvbuf(stdout, NULL, _IOLBF, 0);

    set(SIGUSR1, on_usr2, SA_RESETHAND, 0);
    raise(SIGUSR1);
    sigaction(SIGUSR1, NULL, &cur);
    printf("SA_RESETHAND: ran %s, now SIG_DFL %d, flags still have it %d\n", (char *)trace,
           cur.sa_handler == SIG_DFL, !!(cur.sa_flags & SA_RESETHAND));

    tlen = 0;
    count = depth = max_depth = 0;
    set(SIGUSR1, nodefer, 0, 0);
    raise(SIGUSR1);
    printf("deferred: %d runs, deepest %d, ends %s\n", count, max_depth, (char *)trace);
    tlen = 0;
    count = depth = max_depth = 0;
    set(SIGUSR1, nodefer, SA_NODEFER, 0);
    raise(SIGUSR1);
    printf("SA_NODEFER: %d runs, deepest %d, ends %s\n", count, max_depth, (char *)trace);

    tlen = 0;
    set(SIGUSR1, on_usr1, 0, 0);
    set(SIGUSR2, on_usr2, 0, 0);
    raise(SIGUSR1);
    printf("nested: %s\n", (char *)trace);
    tlen = 0;
    set(SIGHUP, on_hup, 0, SIGINT);
    set(SIGINT, on_int, 0, 0);
    raise(SIGHUP);
    printf("sa_mask holds SIGINT until the handler returns: %s\n", (char *)trace);

    tlen = 0;
    sigemptyset(&both);
    sigaddset(&both, SIGUSR1);
    sigaddset(&both, SIGUSR2);
    set(SIGUSR1, on_usr2, 0, 0);
    set(SIGUSR2, on_int, 0, 0);
    sigprocmask(SIG_BLOCK, &both, NULL);
    raise(SIGUSR2);
    raise(SIGUSR1);
    sigprocmask(SIG_UNBLOCK, &both, NULL);
    printf("two pending (USR1 marks b, USR2 marks i): %s\n", (char *)trace);

    set(SIGUSR2, on_usr2, SA_RESETHAND, 0);
    raise(SIGUSR2);
    printf("first USR2 handled\n");
    raise(SIGUSR2);
    printf("not reached\n");
    return 0;
}
