/* A program that execs, and the program it execs.
 *
 *   exec_chain run DIR PATH ARG...
 *       chdir(DIR); leave descriptors 3..6 open: 3 with O_CLOEXEC, 4 without,
 *       5 = F_DUPFD_CLOEXEC of 4, 6 opened O_CLOEXEC then FD_CLOEXEC cleared;
 *       handle SIGUSR1, ignore SIGUSR2; fail one execve first (ENOENT) and
 *       go on; then execve(PATH, {ARG..., NULL}, {EXEC_A=1, EXEC_B=two words}).
 *   exec_chain fexec DIR PATH path|rdonly ARG...
 *       the same through execveat(open(PATH, O_PATH or O_RDONLY), "", ...,
 *       AT_EMPTY_PATH), as fexecve(3).
 *   exec_chain <anything else> ...
 *       show: "arg" and "env" lines (what it was given: the same when qemu-aarch64
 *       runs it directly with that argv and environment), then what only an exec
 *       sets: "fd N:" (closed, or open), "sig" (SIGUSR1 back to default, SIGUSR2
 *       still ignored), "exe:" (/proc/self/exe), "comm:", "name:" (PR_GET_NAME),
 *       "status:" (its Name: line), "stat:" (field 2), "execfn:" (AT_EXECFN).
 *
 * Linux's rules for the second part (execve(2)): descriptors with FD_CLOEXEC
 * are closed, the others stay; handled signals are reset to SIG_DFL, ignored
 * ones stay ignored; the process name is the basename of the name given to
 * execve (of the file itself with AT_EMPTY_PATH). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef AT_EMPTY_PATH
#define AT_EMPTY_PATH 0x1000
#endif

static void on_usr1(int sig) { (void)sig; }

static void first_line(const char *path, const char *prefix, char *out, size_t n) {
    out[0] = 0;
    FILE *f = fopen(path, "r");
    if (!f) { snprintf(out, n, "(%s)", strerrorname_np(errno)); return; }
    char line[256];
    while (fgets(line, sizeof line, f)) {
        if (!prefix || strncmp(line, prefix, strlen(prefix)) == 0) {
            line[strcspn(line, "\n")] = 0;
            snprintf(out, n, "%s", line + (prefix ? strlen(prefix) : 0));
            break;
        }
    }
    fclose(f);
}

static int show(int argc, char **argv, char **envp) {
    printf("argc=%d\n", argc);
    for (int i = 0; i < argc; i++) printf("arg[%d]=<%s>\n", i, argv[i]);
    for (char **e = envp; *e; e++)
        if (strncmp(*e, "EXEC_", 5) == 0) printf("env <%s>\n", *e);
    for (int fd = 3; fd <= 7; fd++) {
        int fl = fcntl(fd, F_GETFD);
        if (fl < 0) printf("fd %d: closed\n", fd);
        else printf("fd %d: open%s\n", fd, fl & FD_CLOEXEC ? " cloexec" : "");
    }
    struct sigaction sa;
    sigaction(SIGUSR1, NULL, &sa);
    printf("sig USR1: %s\n", sa.sa_handler == SIG_DFL ? "default" : sa.sa_handler == SIG_IGN ? "ignored" : "handled");
    sigaction(SIGUSR2, NULL, &sa);
    printf("sig USR2: %s\n", sa.sa_handler == SIG_DFL ? "default" : sa.sa_handler == SIG_IGN ? "ignored" : "handled");
    char buf[512];
    ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
    buf[n > 0 ? n : 0] = 0;
    printf("exe: %s\n", buf);
    first_line("/proc/self/comm", NULL, buf, sizeof buf);
    printf("comm: %s\n", buf);
    char name[17] = { 0 };
    prctl(PR_GET_NAME, name);
    printf("name: %s\n", name);
    first_line("/proc/self/status", "Name:\t", buf, sizeof buf);
    printf("status: %s\n", buf);
    first_line("/proc/self/stat", NULL, buf, sizeof buf);
    char *open_ = strchr(buf, '('), *close_ = strrchr(buf, ')');
    if (open_ && close_) *close_ = 0;
    printf("stat: %s\n", open_ ? open_ + 1 : "?");
    printf("execfn: %s\n", (char *)getauxval(AT_EXECFN));
    return 0;
}

int main(int argc, char **argv, char **envp) {
    int fexec = argc >= 5 && strcmp(argv[1], "fexec") == 0;
    if (!(argc >= 4 && strcmp(argv[1], "run") == 0) && !fexec)
        return show(argc, argv, envp);
    if (chdir(argv[2])) { perror(argv[2]); return 2; }
    int a = open("/dev/null", O_RDONLY | O_CLOEXEC);
    int b = open("/dev/null", O_RDONLY);
    int c = fcntl(b, F_DUPFD_CLOEXEC, 0);
    int d = open("/dev/null", O_RDONLY | O_CLOEXEC);
    fcntl(d, F_SETFD, 0);
    if (a != 3 || b != 4 || c != 5 || d != 6) { fprintf(stderr, "unexpected fds\n"); return 2; }
    signal(SIGUSR1, on_usr1);
    signal(SIGUSR2, SIG_IGN);
    char *env[] = { "EXEC_A=1", "EXEC_B=two words", NULL };
    char **args = argv + (fexec ? 5 : 4);
    if (execve("./no-such-program", args, env) == 0 || errno != ENOENT)
        return 3;
    if (fexec) {
        int fd = open(argv[3], strcmp(argv[4], "path") == 0 ? O_PATH : O_RDONLY);
        if (fd != 7) { fprintf(stderr, "unexpected fd %d\n", fd); return 2; }
        syscall(SYS_execveat, fd, "", args, env, AT_EMPTY_PATH);
    } else {
        execve(argv[3], args, env);
    }
    printf("exec failed: %s\n", strerrorname_np(errno));
    return 1;
}
