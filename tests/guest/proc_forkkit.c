/* A parent with many translated traces (1,536 distinct functions, each run
   before any fork), then fork children that: exit at once (status i & 63);
   execve this program again ("child" mode) with argv, envp and an inherited
   descriptor it checks; vfork + execve; execve of a missing file (ENOENT) and
   of a file that is no program (ENOEXEC), each reported by the exit status.
   Prints one line per kind and the sum of the functions' results, so a wrong
   trace anywhere shows.  argv: N (rounds), DIR (for two scratch files),
   "exit-only" for children that only exit or "exec-only" for children that only
   exec, and MB for the parent to write first; argv[0] must be a path execve finds. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define F(n) __attribute__((noinline)) static long f##n(long x) { \
    if (x & (1 << ((n) % 7))) return x * (n) + ((n) ^ 0x55); \
    return (x >> 1) - (n) * 3; }
#define F8(n) F(n##0) F(n##1) F(n##2) F(n##3) F(n##4) F(n##5) F(n##6) F(n##7)
#define F64(n) F8(n##0) F8(n##1) F8(n##2) F8(n##3) F8(n##4) F8(n##5) F8(n##6) F8(n##7)
#define F512(n) F64(n##1) F64(n##2) F64(n##3) F64(n##4) F64(n##5) F64(n##6) F64(n##7) F64(n##8)
F512(1) F512(2) F512(3)

#define C(n) s += f##n(s + (n));
#define C8(n) C(n##0) C(n##1) C(n##2) C(n##3) C(n##4) C(n##5) C(n##6) C(n##7)
#define C64(n) C8(n##0) C8(n##1) C8(n##2) C8(n##3) C8(n##4) C8(n##5) C8(n##6) C8(n##7)

static long many_traces(long s) {
#define C512(n) C64(n##1) C64(n##2) C64(n##3) C64(n##4) C64(n##5) C64(n##6) C64(n##7) C64(n##8)
    for (int r = 0; r < 2; r++) { C512(1) C512(2) C512(3) }
    return s;
}

static int child_mode(int argc, char **argv) {
    /* argv: self child K FD; envp must hold FORKKIT=K; FD must be open and read "kit" */
    if (argc != 4) return 10;
    const char *want = getenv("FORKKIT");
    if (!want || strcmp(want, argv[2]) != 0) return 11;
    int fd = atoi(argv[3]);
    char buf[4] = {0};
    if (pread(fd, buf, 3, 0) != 3 || memcmp(buf, "kit", 3) != 0) return 12;
    if (fcntl(fd, F_GETFD) != 0) return 13;
    return (int)(atol(argv[2]) & 63);
}

static int status_of(pid_t c) {
    int st;
    if (waitpid(c, &st, 0) != c) return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 1000 + WTERMSIG(st);
}

int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "child") == 0) return child_mode(argc, argv);
    long n = argc > 1 ? atol(argv[1]) : 8;
    const char *dir = argc > 2 ? argv[2] : "/tmp";     /* scratch files go here */
    int exit_only = argc > 3 && strcmp(argv[3], "exit-only") == 0;
    int exec_only = argc > 3 && strcmp(argv[3], "exec-only") == 0;
    long touch_mb = argc > 4 ? atol(argv[4]) : 0;  /* pages the parent writes and reads first */
    char *touched = touch_mb ? malloc(touch_mb << 20) : NULL;
    for (long off = 0; off < (touch_mb << 20); off += 4096)
        touched[off] = (char)(off >> 12);
    volatile long seen = 0;             /* (read after fork's copy-on-write marks, as well) */
    for (long off = 0; off < (touch_mb << 20); off += 4096)
        seen += touched[off];
    printf("sum %ld\n", many_traces(1));
    fflush(stdout);
    char path[512];                                 /* a descriptor the exec'd children read */
    snprintf(path, sizeof path, "%s/forkkit.%d", dir, getpid());
    int kit = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    if (kit < 0 || write(kit, "kit", 3) != 3) { perror("setup"); return 1; }
    unlink(path);
    static const char junk[] = "\1\2\3 not a program\n";
    char noprog[512];                               /* executable, but no program: ENOEXEC */
    snprintf(noprog, sizeof noprog, "%s/forkkit-noexec.%d", dir, getpid());
    int np = open(noprog, O_WRONLY | O_CREAT | O_TRUNC, 0755);
    if (np < 0 || write(np, junk, sizeof junk - 1) != sizeof junk - 1) { perror("noexec"); return 1; }
    close(np);
    long bad_exit = 0, bad_exec = 0, bad_vfork = 0, bad_enoent = 0, bad_enoexec = 0;
    char kbuf[24], fdbuf[24], envbuf[40];
    for (long i = 0; i < n; i++) {
        pid_t c;
        if (!exec_only) {
            c = fork();
            if (c < 0) { perror("fork"); return 1; }
            if (c == 0) _exit((int)(i & 63));
            bad_exit += status_of(c) != (i & 63);
            if (exit_only)
                continue;
        }

        snprintf(kbuf, sizeof kbuf, "%ld", i + 1);
        snprintf(fdbuf, sizeof fdbuf, "%d", kit);
        snprintf(envbuf, sizeof envbuf, "FORKKIT=%ld", i + 1);
        char *args[] = {argv[0], "child", kbuf, fdbuf, NULL};
        char *env[] = {envbuf, "PATH=/bin", NULL};
        c = fork();
        if (c == 0) { execve(argv[0], args, env); _exit(100 + errno); }
        bad_exec += status_of(c) != ((i + 1) & 63);
        if (exec_only)
            continue;

        c = vfork();
        if (c == 0) { execve(argv[0], args, env); _exit(100 + errno); }
        bad_vfork += status_of(c) != ((i + 1) & 63);

        c = fork();
        if (c == 0) { execve("/no/such/program", args, env); _exit(errno == ENOENT ? 7 : 8); }
        bad_enoent += status_of(c) != 7;

        c = fork();
        if (c == 0) { execve(noprog, args, env); _exit(errno == ENOEXEC ? 7 : 8); }
        bad_enoexec += status_of(c) != 7;
    }
    printf("%ld rounds: exit %ld bad, exec %ld bad, vfork+exec %ld bad, ENOENT %ld bad, "
           "ENOEXEC %ld bad\n", n, bad_exit, bad_exec, bad_vfork, bad_enoent, bad_enoexec);
    printf("sum %ld\n", many_traces(2));
    unlink(noprog);
    free(touched);
    return bad_exit || bad_exec || bad_vfork || bad_enoent || bad_enoexec;
}
