/* A proc file kept open is made again when read from its start: /proc/stat's cpu
 * line, read again after lseek(0) once this process has spun 0.3 s, has more
 * jiffies, and /proc/uptime read again with pread after a sleep is later (vmstat,
 * top and free -s read this way).  Prints only comparisons, for the native run's
 * output to be the same. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static volatile unsigned long sink;

static unsigned long long cpu_jiffies(int fd)
{
    char buf[4096];
    ssize_t n = read(fd, buf, sizeof buf - 1);
    buf[n > 0 ? n : 0] = 0;
    unsigned long long v[8] = {0}, total = 0;
    sscanf(buf, "cpu %llu %llu %llu %llu %llu %llu %llu %llu",
           &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7]);
    for (int i = 0; i < 8; i++)
        total += v[i];
    return total;
}

static double uptime(int fd)
{
    char buf[128];
    ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
    buf[n > 0 ? n : 0] = 0;
    return atof(buf);
}

int main(void)
{
    int stat_fd = open("/proc/stat", O_RDONLY), up_fd = open("/proc/uptime", O_RDONLY);
    unsigned long long before = cpu_jiffies(stat_fd);
    double up_before = uptime(up_fd);
    struct timespec t0, t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t0);
    do {
        for (int i = 0; i < 1000; i++)
            sink += i;
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    } while ((t.tv_sec - t0.tv_sec) + (t.tv_nsec - t0.tv_nsec) / 1e9 < 0.3);
    usleep(200000);
    lseek(stat_fd, 0, SEEK_SET);
    unsigned long long after = cpu_jiffies(stat_fd);
    printf("/proc/stat read again has more cpu jiffies: %s\n", after >= before + 20 ? "yes" : "no");
    printf("/proc/uptime read again is later: %s\n", uptime(up_fd) >= up_before + 0.1 ? "yes" : "no");
    return 0;
}
