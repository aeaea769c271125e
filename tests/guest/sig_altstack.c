/* sigaltstack: a stack overflow (unbounded recursion) is caught by a SIGSEGV
 * handler running on the alternate stack (SA_ONSTACK); inside it sigaltstack
 * reports SS_ONSTACK, a change is refused (EPERM) and the handler's locals
 * lie in the alternate stack; after siglongjmp it is off the stack again.
 * Also: a handler without SA_ONSTACK runs on the normal stack, a nested
 * handler on the alternate stack stays there, SS_DISABLE, and ENOMEM/EINVAL. */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define ALT_SIZE (64 * 1024)
static char *alt;
static sigjmp_buf env;
static volatile int onstack_flags, change_err, on_alt, nested_on_alt, depth_ok;

static int in_alt(const void *p)
{
    return (const char *)p >= alt && (const char *)p < alt + ALT_SIZE;
}

static void on_segv(int sig)
{
    stack_t now, change;
    char local;
    (void)sig;
    sigaltstack(NULL, &now);
    onstack_flags = now.ss_flags;
    memset(&change, 0, sizeof change);
    change.ss_flags = SS_DISABLE;
    change_err = sigaltstack(&change, NULL) == 0 ? 0 : errno;
    on_alt = in_alt(&local);
    raise(SIGUSR2);                   /* nested: SIGUSR2's handler has SA_ONSTACK too */
    siglongjmp(env, 1);
}

static void on_usr2(int sig)
{
    char local;
    (void)sig;
    nested_on_alt = in_alt(&local);
}

static volatile int usr1_on_alt = -1;
static void on_usr1(int sig)
{
    char local;
    (void)sig;
    usr1_on_alt = in_alt(&local);
}

static int recurse(int n)
{
    volatile char pad[1024];
    pad[0] = (char)n;
    return recurse(n + 1) + pad[0];
}

int main(void)
{
    stack_t ss, old;
    struct sigaction sa;
    setvbuf(stdout, NULL, _IOLBF, 0);

    sigaltstack(NULL, &old);
    printf("initially: flags %d size %zu\n", old.ss_flags, old.ss_size);
    alt = malloc(ALT_SIZE);
    ss.ss_sp = alt;
    ss.ss_size = 1024;
    ss.ss_flags = 0;
    printf("too small: %d %s\n", sigaltstack(&ss, NULL), strerror(errno));
    ss.ss_size = ALT_SIZE;
    ss.ss_flags = 12345;
    printf("bad flags: %d %s\n", sigaltstack(&ss, NULL), strerror(errno));
    ss.ss_flags = 0;
    printf("set: %d\n", sigaltstack(&ss, NULL));
    sigaltstack(NULL, &old);
    printf("now: flags %d size-ok %d sp-ok %d\n", old.ss_flags, old.ss_size == ALT_SIZE,
           old.ss_sp == alt);

    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr1;
    sigaction(SIGUSR1, &sa, NULL);              /* no SA_ONSTACK */
    raise(SIGUSR1);
    printf("handler without SA_ONSTACK on the alternate stack: %d\n", usr1_on_alt);

    sa.sa_handler = on_usr2;
    sa.sa_flags = SA_ONSTACK;
    sigaction(SIGUSR2, &sa, NULL);
    sa.sa_handler = on_segv;
    sa.sa_flags = SA_ONSTACK | SA_NODEFER;
    sigaction(SIGSEGV, &sa, NULL);
    if (sigsetjmp(env, 1) == 0) {
        recurse(0);
        printf("no overflow?\n");
    }
    printf("overflow caught: in handler flags %d (SS_ONSTACK %d), change refused %s, "
           "locals on the alternate stack %d, nested handler there too %d\n",
           onstack_flags, SS_ONSTACK, change_err == EPERM ? "EPERM" : strerror(change_err),
           on_alt, nested_on_alt);
    sigaltstack(NULL, &old);
    printf("after: flags %d\n", old.ss_flags);
    ss.ss_flags = SS_DISABLE;
    printf("disable: %d\n", sigaltstack(&ss, NULL));
    sigaltstack(NULL, &old);
    printf("disabled: flags %d size %zu\n", old.ss_flags, old.ss_size);
    return 0;
}
