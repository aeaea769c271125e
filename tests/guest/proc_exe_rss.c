/* Run through a symlink: /proc/self/exe is the program's own file (where the link
 * leads), as realpath(argv[0]) finds it.  Then a child execs /proc/self/exe, and
 * there ru_maxrss is the process's peak of pages present, in kB: small at first
 * (Linux carries the peak across execve, so it is the child's: what a forked
 * python3 has would fill it), up by 32 MiB once 32 MiB are touched, kept after they
 * are unmapped, and equal to /proc/self/status's VmHWM; the parent's wait4 and
 * RUSAGE_CHILDREN show that peak.  Prints only comparisons, for the native run's
 * output to be the same. */
#define _GNU_SOURCE
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

static long maxrss(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

static long status_kb(const char *key)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long v = -1;
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, key, strlen(key)) == 0)
            v = atol(line + strlen(key));
    if (f)
        fclose(f);
    return v;
}

static int peak_checks(void)
{
    long before = maxrss();
    printf("a small program's ru_maxrss is small: %s\n", before > 0 && before < 16 * 1024 ? "yes" : "no");
    size_t size = 32 << 20;
    char *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return 1;
    memset(p, 1, size);
    long touched = maxrss();
    printf("touching 32 MiB raises it by as much: %s\n",
           touched - before >= 31 * 1024 && touched - before < 40 * 1024 ? "yes" : "no");
    munmap(p, size);
    long after = maxrss(), hwm = status_kb("VmHWM:");
    printf("it stays at its peak after munmap: %s\n", after >= touched ? "yes" : "no");
    printf("it is VmHWM: %s\n", labs(after - hwm) <= 64 ? "yes" : "no");
    return 0;
}

int main(int argc, char **argv)
{
    if (argc > 1)
        return peak_checks();
    char exe[PATH_MAX] = {0}, real[PATH_MAX] = {0};
    if (readlink("/proc/self/exe", exe, sizeof exe - 1) < 0 || !realpath(argv[0], real))
        return 1;
    printf("/proc/self/exe is where the link run leads: %s\n", strcmp(exe, real) == 0 ? "yes" : "no");
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        execl("/proc/self/exe", argv[0], "child", (char *)NULL);
        _exit(127);
    }
    int status;
    struct rusage child, children;
    if (pid < 0 || wait4(pid, &status, 0, &child) != pid)
        return 1;
    getrusage(RUSAGE_CHILDREN, &children);
    printf("wait4's ru_maxrss is the child's peak: %s\n",
           child.ru_maxrss >= 32 * 1024 && child.ru_maxrss < 48 * 1024 ? "yes" : "no");
    printf("RUSAGE_CHILDREN's is the same: %s\n", children.ru_maxrss == child.ru_maxrss ? "yes" : "no");
    return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}
