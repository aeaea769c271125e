/* What a child held is released when its parent's wait returns: the write end
   of a pipe only it held is closed (a read is at EOF at once), and a flock and
   a POSIX record lock it held on a file it also had mmapped are free. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void) {
    char path[] = "/tmp/proc_exit_release_XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0 || ftruncate(fd, 4096) != 0) { perror("tmp"); return 1; }
    int eof = 0, flock_free = 0, record_free = 0, status_ok = 0;
    const int rounds = 20;
    for (int i = 0; i < rounds; i++) {
        int p[2];
        if (pipe(p) != 0) { perror("pipe"); return 1; }
        pid_t pid = fork();
        if (pid == 0) {
            close(p[0]);
            int mine = open(path, O_RDWR);
            char *m = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, mine, 0);
            if (m == MAP_FAILED) _exit(2);
            m[i] = 'x';
            struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 1};
            if (flock(mine, LOCK_EX) != 0 || fcntl(mine, F_SETLK, &fl) != 0) _exit(3);
            _exit(7);
        }
        close(p[1]);
        int status;
        if (waitpid(pid, &status, 0) != pid) { perror("waitpid"); return 1; }
        status_ok += WIFEXITED(status) && WEXITSTATUS(status) == 7;
        fcntl(p[0], F_SETFL, O_NONBLOCK);
        char c;
        eof += read(p[0], &c, 1) == 0;
        close(p[0]);
        int other = open(path, O_RDWR);
        flock_free += flock(other, LOCK_EX | LOCK_NB) == 0;
        struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 1};
        record_free += fcntl(other, F_SETLK, &fl) == 0;
        close(other);
    }
    unlink(path);
    printf("rounds %d: exit 7 %d, pipe at eof %d, flock free %d, record lock free %d\n",
           rounds, status_ok, eof, flock_free, record_free);
    return 0;
}
