/* Fork + execve of one path whose file changes between rounds.

   usage: exec_swap DIR PROG_A PROG_B ROUNDS
   Round i installs PROG_A (even i) or PROG_B (odd i) as DIR/prog -- rounds
   0, 1 of every 4 by renaming a new file over it, rounds 2, 3 by rewriting the
   same file in place -- then forks a child that execs DIR/prog, and prints
   the child's exit status.  execve(2) runs the file as it is at the exec:
   the status is the installed program's, whatever the rounds before ran. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static char *slurp(const char *path, size_t *len) {
    int fd = open(path, O_RDONLY);
    if (fd < 0) { perror(path); exit(1); }
    size_t cap = 1 << 20, n = 0;
    char *buf = malloc(cap);
    for (;;) {
        if (n == cap) buf = realloc(buf, cap *= 2);
        ssize_t r = read(fd, buf + n, cap - n);
        if (r < 0) { perror("read"); exit(1); }
        if (r == 0) break;
        n += r;
    }
    close(fd);
    *len = n;
    return buf;
}

static void put(const char *path, int flags, const char *data, size_t len) {
    int fd = open(path, O_WRONLY | O_CREAT | flags, 0755);
    if (fd < 0) { perror(path); exit(1); }
    for (size_t done = 0; done < len;) {
        ssize_t w = write(fd, data + done, len - done);
        if (w <= 0) { perror("write"); exit(1); }
        done += w;
    }
    close(fd);
}

int main(int argc, char **argv) {
    if (argc != 5) { fprintf(stderr, "usage: exec_swap DIR PROG_A PROG_B ROUNDS\n"); return 2; }
    size_t len[2];
    char *img[2] = {slurp(argv[2], &len[0]), slurp(argv[3], &len[1])};
    char prog[4096], tmp[4096];
    snprintf(prog, sizeof prog, "%s/prog", argv[1]);
    snprintf(tmp, sizeof tmp, "%s/prog.new", argv[1]);
    int rounds = atoi(argv[4]);
    for (int i = 0; i < rounds; i++) {
        int which = i % 2;
        if (i % 4 < 2) {
            put(tmp, O_TRUNC, img[which], len[which]);
            if (rename(tmp, prog) != 0) { perror("rename"); return 1; }
        } else {
            put(prog, O_TRUNC, img[which], len[which]);
        }
        pid_t pid = fork();
        if (pid < 0) { perror("fork"); return 1; }
        if (pid == 0) {
            char *args[] = {prog, NULL};
            execv(prog, args);
            _exit(127);
        }
        int status;
        if (waitpid(pid, &status, 0) != pid) { perror("waitpid"); return 1; }
        printf("round %d: %s exit %d\n", i, which ? "B" : "A",
               WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    }
    return 0;
}
