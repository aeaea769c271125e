/* Record locks and flock between two guest processes: the parent locks, a
 * forked child tests, fails, waits (F_SETLKW, flock without LOCK_NB) and gets
 * the lock when the parent lets go; F_GETLK names the parent's pid, an OFD
 * lock's owner is -1.  The file lives in the directory argv[1]. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

static struct flock lk(short type, off_t start, off_t len) {
    struct flock f;
    memset(&f, 0, sizeof f);
    f.l_type = type;
    f.l_whence = SEEK_SET;
    f.l_start = start;
    f.l_len = len;
    return f;
}

static const char *type_name(int t) {
    return t == F_RDLCK ? "F_RDLCK" : t == F_WRLCK ? "F_WRLCK" : t == F_UNLCK ? "F_UNLCK" : "?";
}

static pid_t parent;

static void getlk(const char *label, int fd, int cmd, struct flock f) {
    errno = 0;
    int r = fcntl(fd, cmd, &f);
    if (r < 0) { printf("%s: %s\n", label, strerrorname_np(errno)); return; }
    printf("%s: %s start %lld len %lld pid %s\n", label, type_name(f.l_type), (long long)f.l_start,
           (long long)f.l_len, f.l_pid == parent ? "parent" : f.l_pid == -1 ? "-1"
           : f.l_pid == 0 ? "0" : f.l_pid == getpid() ? "me" : "other");
}

static void setlk(const char *label, int fd, int cmd, struct flock f) {
    errno = 0;
    int r = fcntl(fd, cmd, &f);
    printf("%s = %d %s\n", label, r, r < 0 ? strerrorname_np(errno) : "");
}

static void wait_byte(int fd) { char c; read(fd, &c, 1); }
static void send_byte(int fd) { write(fd, "x", 1); }

int main(int argc, char **argv) {
    if (argc < 2 || chdir(argv[1]) < 0) { perror("chdir"); return 2; }
    setvbuf(stdout, NULL, _IOLBF, 0);
    parent = getpid();
    int fd = open("locked", O_RDWR | O_CREAT | O_TRUNC, 0644);
    write(fd, "0123456789", 10);
    int to_child[2], to_parent[2];
    pipe(to_child);
    pipe(to_parent);
    setlk("parent F_SETLK write [0,4)", fd, F_SETLK, lk(F_WRLCK, 0, 4));
    setlk("parent F_SETLK read [6,8)", fd, F_SETLK, lk(F_RDLCK, 6, 2));
    int ofd = open("locked", O_RDWR);
    setlk("parent F_OFD_SETLK write [8,10)", ofd, F_OFD_SETLK, lk(F_WRLCK, 8, 2));
    int fl = open("locked", O_RDONLY);
    printf("parent flock LOCK_EX = %d\n", flock(fl, LOCK_EX));
    pid_t pid = fork();
    if (pid == 0) {
        close(ofd);              /* else the OFD lock's description lives on in the child too */
        int mine = open("locked", O_RDWR);
        getlk("child F_GETLK write [0,100)", mine, F_GETLK, lk(F_WRLCK, 0, 100));
        getlk("child F_GETLK read [4,6)", mine, F_GETLK, lk(F_RDLCK, 4, 2));
        getlk("child F_GETLK read [6,8)", mine, F_GETLK, lk(F_RDLCK, 6, 2));
        getlk("child F_GETLK write [6,8)", mine, F_GETLK, lk(F_WRLCK, 6, 2));
        getlk("child F_OFD_GETLK write [8,10)", mine, F_OFD_GETLK, lk(F_WRLCK, 8, 2));
        getlk("child F_GETLK write [8,10)", mine, F_GETLK, lk(F_WRLCK, 8, 2));
        setlk("child F_SETLK write [2,3)", mine, F_SETLK, lk(F_WRLCK, 2, 1));
        setlk("child F_SETLK read [6,8)", mine, F_SETLK, lk(F_RDLCK, 6, 2));
        setlk("child F_OFD_SETLK write [9,10)", mine, F_OFD_SETLK, lk(F_WRLCK, 9, 1));
        int cfl = open("locked", O_RDONLY);
        errno = 0;
        int r = flock(cfl, LOCK_SH | LOCK_NB);
        printf("child flock LOCK_SH|LOCK_NB = %d %s\n", r, strerrorname_np(errno));
        printf("child: the inherited flock is shared: LOCK_EX|LOCK_NB on it = %d\n", flock(fl, LOCK_EX | LOCK_NB));
        send_byte(to_parent[1]);
        /* the parent lets go of [0,4) after it hears from us: F_SETLKW sleeps until then */
        setlk("child F_SETLKW write [0,4)", mine, F_SETLKW, lk(F_WRLCK, 0, 4));
        send_byte(to_parent[1]);
        wait_byte(to_child[0]);
        printf("child flock LOCK_EX (waits) = %d\n", flock(cfl, LOCK_EX));
        setlk("child F_OFD_SETLKW write [8,10)", mine, F_OFD_SETLKW, lk(F_WRLCK, 8, 2));
        send_byte(to_parent[1]);
        wait_byte(to_child[0]);
        return 0;
    }
    wait_byte(to_parent[0]);
    usleep(100000);
    printf("parent unlocks [0,4), then the child's F_SETLKW returns\n");
    struct flock un = lk(F_UNLCK, 0, 4);
    if (fcntl(fd, F_SETLK, &un) < 0) perror("F_SETLK");
    wait_byte(to_parent[0]);
    getlk("parent F_GETLK write [0,4)", fd, F_GETLK, lk(F_WRLCK, 0, 4));
    printf("parent: the child holds it: %d\n", 1);
    setlk("parent F_SETLK write [0,4)", fd, F_SETLK, lk(F_WRLCK, 0, 4));
    send_byte(to_child[1]);
    usleep(100000);
    printf("parent flock LOCK_UN, then the child's flock returns\n");
    if (flock(fl, LOCK_UN) < 0) perror("flock");
    close(fl);
    close(ofd);
    wait_byte(to_parent[0]);
    getlk("parent F_OFD_GETLK write [8,10)", fd, F_OFD_GETLK, lk(F_WRLCK, 8, 2));
    send_byte(to_child[1]);
    int status;
    waitpid(pid, &status, 0);
    printf("child status %d\n", WEXITSTATUS(status));
    getlk("parent F_GETLK after the child ended", fd, F_GETLK, lk(F_WRLCK, 0, 10));
    return 0;
}
