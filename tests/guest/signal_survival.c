/* Signals that must not kill: each one with a handler (whatever its default
 * action), each one set to SIG_IGN, and each one whose default action is to
 * ignore it, sent to the program itself with kill(); after each it prints
 * "survived NAME".  The handlers only count (their count is not printed: the
 * output must not depend on whether a handler ran).  At the end an unhandled
 * SIGUSR2 kills it (exit status 128+12). */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t caught;

static void on_signal(int sig)
{
    (void)sig;
    caught++;
}

static void send(int sig, const char *name)
{
    kill(getpid(), sig);
    printf("survived %s\n", name);
    fflush(stdout);
}

int main(void)
{
    static const struct { int sig; const char *name; } handled[] = {
        {SIGWINCH, "handled WINCH"}, {SIGCHLD, "handled CHLD"}, {SIGURG, "handled URG"},
        {SIGUSR1, "handled USR1"}, {SIGTERM, "handled TERM"}, {SIGALRM, "handled ALRM"},
    };
    static const struct { int sig; const char *name; } defaults[] = {
        {SIGWINCH, "default WINCH"}, {SIGCHLD, "default CHLD"}, {SIGURG, "default URG"},
        {SIGCONT, "default CONT"},
    };
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    for (unsigned i = 0; i < sizeof handled / sizeof handled[0]; i++) {
        sigaction(handled[i].sig, &sa, NULL);
        send(handled[i].sig, handled[i].name);
    }
    signal(SIGHUP, SIG_IGN);
    send(SIGHUP, "ignored HUP");
    signal(SIGINT, SIG_IGN);
    send(SIGINT, "ignored INT");
    for (unsigned i = 0; i < sizeof defaults / sizeof defaults[0]; i++) {
        signal(defaults[i].sig, SIG_DFL);
        send(defaults[i].sig, defaults[i].name);
    }
    send(SIGUSR2, "default USR2 (must not be printed)");
    return 0;
}
