/* /proc/PID/ns: a link per namespace, TYPE:[INODE]; followed, the namespace itself
 * (stat's inode is the one in the link; opened, a descriptor that cannot be read);
 * a child shows the same namespaces; the directory lists them; nothing lies below a
 * link.  Prints only comparisons, for the native run's output to be the same. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *names[] = {"cgroup", "ipc", "mnt", "net", "pid", "pid_for_children",
                              "time", "time_for_children", "user", "uts"};

static const char *yes(int c)
{
    return c ? "yes" : "NO";
}

int main(void)
{
    pid_t child = fork();
    if (child == 0) {
        pause();
        _exit(0);
    }
    int listed = 0;
    DIR *d = opendir("/proc/self/ns");
    for (struct dirent *e; d && (e = readdir(d));)
        for (size_t i = 0; i < sizeof names / sizeof *names; i++)
            listed += strcmp(e->d_name, names[i]) == 0;
    if (d)
        closedir(d);
    printf("/proc/self/ns lists every namespace: %s\n", yes(listed == 10));
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        char path[64], other[64], link[64] = "", its[64] = "", type[32];
        snprintf(path, sizeof path, "/proc/self/ns/%s", names[i]);
        snprintf(other, sizeof other, "/proc/%d/ns/%s", child, names[i]);
        ssize_t n = readlink(path, link, sizeof link - 1);
        ssize_t m = readlink(other, its, sizeof its - 1);
        if (n > 0)
            link[n] = 0;
        if (m > 0)
            its[m] = 0;
        /* pid_for_children is a pid namespace, time_for_children a time one */
        snprintf(type, sizeof type, "%.*s:[", (int)strcspn(names[i], "_"), names[i]);
        unsigned long long ino = 0;
        sscanf(link + strlen(type), "%llu", &ino);
        struct stat st, lst;
        int followed = stat(path, &st) == 0, own = lstat(path, &lst) == 0;
        int fd = open(path, O_RDONLY);
        char c;
        int unreadable = fd >= 0 && read(fd, &c, 1) < 0 && errno == EINVAL;
        if (fd >= 0)
            close(fd);
        printf("%s: TYPE:[INODE]: %s, stat agrees: %s, a link: %s, opens: %s, "
               "unreadable: %s, the child's: %s\n", names[i],
               yes(n > 0 && strncmp(link, type, strlen(type)) == 0 && link[n - 1] == ']'),
               yes(followed && st.st_ino == ino), yes(own && S_ISLNK(lst.st_mode)),
               yes(fd >= 0), yes(unreadable), yes(m > 0 && strcmp(link, its) == 0));
    }
    errno = 0;
    printf("below a link: ENOTDIR: %s\n",
           yes(open("/proc/self/ns/pid/x", O_RDONLY) < 0 && errno == ENOTDIR));
    kill(child, SIGKILL);
    waitpid(child, NULL, 0);
    return 0;
}
