/* execve/execveat that fail, each with the errno printed; the program goes on
 * running after every one of them (its last line says so).
 *
 *   exec_errors DIR      (DIR is created; every name below is relative to it)
 *
 * Nothing here may ever succeed: under qemu-aarch64 the guest's execve is the
 * host's, so the targets are text files, scripts whose interpreter cannot
 * run, non-AArch64 or non-program ELF headers.  Nothing printed depends on
 * DIR, so mkemu's output must equal qemu's (the host kernel's answers). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef AT_EMPTY_PATH
#define AT_EMPTY_PATH 0x1000
#endif

static char *no_env[] = { NULL };
static int failures;

static long xexecveat(int dirfd, const char *path, char *const argv[], char *const envp[], int flags) {
    return syscall(SYS_execveat, dirfd, path, argv, envp, flags);
}

static void report(const char *label, long r) {
    if (r == 0) {                      /* cannot happen: the image would be gone */
        printf("%s: returned 0\n", label);
        return;
    }
    failures++;
    printf("%s: %s\n", label, strerrorname_np(errno));
    fflush(stdout);
}

static void exec_path(const char *label, const char *path) {
    char *argv[] = { (char *)path, "arg", NULL };
    errno = 0;
    report(label, execve(path, argv, no_env));
}

static void at(const char *label, int dirfd, const char *path, int flags) {
    char *argv[] = { "prog", NULL };
    errno = 0;
    report(label, xexecveat(dirfd, path, argv, no_env, flags));
}

static void put(const char *name, const char *text, size_t len, mode_t mode) {
    int fd = open(name, O_WRONLY | O_CREAT | O_TRUNC, mode);
    if (fd < 0 || write(fd, text, len) != (ssize_t)len) { perror(name); exit(2); }
    close(fd);
    chmod(name, mode);
}

static void put_s(const char *name, const char *text) { put(name, text, strlen(text), 0755); }

static void elf_header(const char *name, int type, int machine) {
    unsigned char h[64] = { 0x7f, 'E', 'L', 'F', 2, 1, 1 };
    h[16] = type; h[18] = machine & 0xff; h[19] = machine >> 8;
    h[20] = 1;                                     /* e_version */
    h[52] = 64; h[54] = 56;                        /* e_ehsize, e_phentsize */
    put(name, (char *)h, sizeof h, 0755);
}

static char *repeat(int c, size_t n) {
    char *s = malloc(n + 1);
    memset(s, c, n);
    s[n] = 0;
    return s;
}

/* the argument and environment strings (with the name) may take a quarter of the stack
 * limit, at least 32 pages, at most 3/4 of 8 MiB, less 8 bytes per pointer */
static long arg_room(int argc, int envc) {
    struct rlimit rl;
    getrlimit(RLIMIT_STACK, &rl);
    unsigned long limit = rl.rlim_cur / 4;
    if (limit > (8ul << 20) / 4 * 3) limit = (8ul << 20) / 4 * 3;
    if (limit < 32 * 4096) limit = 32 * 4096;
    return (long)limit - 8L * ((argc ? argc : 1) + envc);
}

static void total_size(const char *label, long extra) {
    const char *target = "text-x";
    enum { N = 60 };
    char *argv[N + 2];
    long room = arg_room(N + 1, 0) - (long)(strlen(target) + 1) * 2 + extra;
    argv[0] = (char *)target;
    for (int i = 1; i <= N; i++) {                 /* N strings, with their NULs, fill room */
        long len = room / (N - i + 1);
        argv[i] = repeat('z', len - 1);
        room -= len;
    }
    argv[N + 1] = NULL;
    errno = 0;
    report(label, execve(target, argv, no_env));
    for (int i = 1; i <= N; i++) free(argv[i]);
}

int main(int argc, char **argv) {
    if (argc < 2) { fprintf(stderr, "usage: exec_errors DIR\n"); return 2; }
    mkdir(argv[1], 0755);
    if (chdir(argv[1])) { perror(argv[1]); return 2; }

    mkdir("sub", 0755);
    put("text-x", "just text\n", 10, 0755);
    put("text-noexec", "just text\n", 10, 0644);
    put("empty-x", "", 0, 0755);
    unlink("fifo");
    mkfifo("fifo", 0755);
    elf_header("elf-machine", 2, 0x1234);         /* ET_EXEC for no machine there is */
    elf_header("elf-rel", 1, 183);                /* an AArch64 relocatable object */
    put_s("script-missing", "#!./missing\necho no\n");
    put_s("script-dir", "#!./sub\n");
    put_s("script-text", "#!./text-x\n");
    put_s("script-text-arg", "#!  ./text-x   an  argument \t \n");
    put_s("script-empty", "#!\n");
    put_s("script-blank", "#!   \t \n");
    put_s("script-crlf", "#!./text-x\r\n");
    put_s("script-nul", "#!./text-x\0 rest\n");
    char line[400];
    snprintf(line, sizeof line, "#!%s", repeat('a', 300));
    put_s("script-long-name", line);
    snprintf(line, sizeof line, "#!./missing %s", repeat('x', 300));
    put_s("script-long-arg", line);
    snprintf(line, sizeof line, "#!./script-text %s", repeat('x', 300));
    put_s("script-long-arg2", line);
    /* chains: chainN runs chainN-1 ... chain1 runs text-x: N scripts in a row */
    for (int i = 1; i <= 7; i++) {
        char name[32], text[64];
        snprintf(name, sizeof name, "chain%d", i);
        if (i == 1) snprintf(text, sizeof text, "#!./text-x\n");
        else snprintf(text, sizeof text, "#!./chain%d\n", i - 1);
        put_s(name, text);
    }
    unlink("loop1"); unlink("loop2"); unlink("link-text"); unlink("link-missing");
    symlink("loop2", "loop1");
    symlink("loop1", "loop2");
    symlink("text-x", "link-text");
    symlink("nowhere", "link-missing");

    exec_path("missing", "missing");
    exec_path("empty path", "");
    exec_path("dangling symlink", "link-missing");
    exec_path("file as directory", "text-x/x");
    exec_path("trailing slash", "text-x/");
    exec_path("directory", "sub");
    exec_path("dot", ".");
    exec_path("no execute bit", "text-noexec");
    exec_path("fifo", "fifo");
    exec_path("text file", "text-x");
    exec_path("empty file", "empty-x");
    exec_path("elf of another machine", "elf-machine");
    exec_path("elf relocatable", "elf-rel");
    exec_path("script, missing interpreter", "script-missing");
    exec_path("script, interpreter a directory", "script-dir");
    exec_path("script, interpreter text", "script-text");
    exec_path("script, interpreter with argument", "script-text-arg");
    exec_path("script, empty #!", "script-empty");
    exec_path("script, blank #!", "script-blank");
    exec_path("script, CRLF line", "script-crlf");
    exec_path("script, NUL in line", "script-nul");
    exec_path("script, interpreter name too long", "script-long-name");
    exec_path("script, long argument cut", "script-long-arg");
    exec_path("script, long argument cut, nested", "script-long-arg2");
    for (int i = 1; i <= 7; i++) {
        char name[32], label[64];
        snprintf(name, sizeof name, "chain%d", i);
        snprintf(label, sizeof label, "%d scripts in a row", i);
        exec_path(label, name);
    }
    exec_path("symlink loop", "loop1");
    exec_path("symlink to text", "link-text");
    exec_path("name too long", repeat('n', 256));
    char *longpath = repeat('a', 5000);
    for (int i = 1; i < 5000; i += 2) longpath[i] = '/';
    exec_path("path too long", longpath);

    at("execveat, symlink with AT_SYMLINK_NOFOLLOW", AT_FDCWD, "link-text", AT_SYMLINK_NOFOLLOW);
    at("execveat, file with AT_SYMLINK_NOFOLLOW", AT_FDCWD, "text-x", AT_SYMLINK_NOFOLLOW);
    at("execveat, unknown flag", AT_FDCWD, "text-x", 0x1);
    at("execveat, bad dirfd", 999, "text-x", 0);
    at("execveat, bad dirfd, absolute path", 999, "/nonexistent-exec-test", 0);
    int dir = open("sub", O_RDONLY | O_DIRECTORY);
    int dir_cloexec = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int dir_plain = open(".", O_RDONLY | O_DIRECTORY);
    int file = open("text-x", O_RDONLY);
    int file_path = open("text-x", O_PATH);
    int script_cloexec = open("script-text", O_RDONLY | O_CLOEXEC);
    int script_plain = open("script-text", O_RDONLY);
    at("execveat, relative to a directory fd", dir, "../text-x", 0);
    at("execveat, dirfd not a directory", file, "x", 0);
    at("execveat, empty path without AT_EMPTY_PATH", file, "", 0);
    at("execveat, AT_EMPTY_PATH on a directory", dir, "", AT_EMPTY_PATH);
    at("execveat, AT_EMPTY_PATH on AT_FDCWD", AT_FDCWD, "", AT_EMPTY_PATH);
    at("execveat, AT_EMPTY_PATH on O_RDONLY text", file, "", AT_EMPTY_PATH);
    at("execveat, AT_EMPTY_PATH on O_PATH text", file_path, "", AT_EMPTY_PATH);
    at("execveat, AT_EMPTY_PATH, script on a close-on-exec fd", script_cloexec, "", AT_EMPTY_PATH);
    at("execveat, AT_EMPTY_PATH, script on a plain fd", script_plain, "", AT_EMPTY_PATH);
    at("execveat, script under a close-on-exec dirfd", dir_cloexec, "script-text", 0);
    at("execveat, script under a plain dirfd", dir_plain, "script-text", 0);
    at("execveat, text under a close-on-exec dirfd", dir_cloexec, "text-x", 0);

    char *good[] = { "text-x", NULL };
    char *bad_arg[] = { "text-x", (char *)8, NULL };
    char *bad_env[] = { "A=1", (char *)8, NULL };
    /* raw calls: the compiler knows what execve's arguments must point to */
    errno = 0; report("bad path pointer", syscall(SYS_execve, 8L, good, no_env));
    errno = 0; report("bad argv array", syscall(SYS_execve, "text-x", 8L, no_env));
    errno = 0; report("bad argv string", syscall(SYS_execve, "text-x", bad_arg, no_env));
    errno = 0; report("bad envp array", syscall(SYS_execve, "text-x", good, 8L));
    errno = 0; report("bad envp string", syscall(SYS_execve, "text-x", good, bad_env));
    errno = 0; report("NULL argv and envp", syscall(SYS_execve, "text-x", 0L, 0L));

    char *one_ok[] = { "text-x", repeat('y', 32 * 4096 - 1), NULL };
    char *one_big[] = { "text-x", repeat('y', 32 * 4096), NULL };
    char *env_big[] = { repeat('e', 32 * 4096), NULL };
    errno = 0; report("argument of MAX_ARG_STRLEN with its NUL", execve("text-x", one_ok, no_env));
    errno = 0; report("argument over MAX_ARG_STRLEN", execve("text-x", one_big, no_env));
    errno = 0; report("environment string over MAX_ARG_STRLEN", execve("text-x", good, env_big));
    total_size("arguments filling the limit", 0);
    total_size("arguments one byte over the limit", 1);

    printf("still running after %d failed execs\n", failures);
    return 0;
}
