/* RssFile counts the file pages a process has mapped in: reading every page of a
 * 1 MiB file mapping adds about 1 MiB to it, VmRSS is RssAnon plus RssFile (plus
 * RssShmem), and munmap takes the pages off again.  Prints only comparisons, for
 * the native run's output to be the same. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static char status[8192];

/* one reading of /proc/self/status, for the values it holds to agree */
static void read_status(void)
{
    int fd = open("/proc/self/status", O_RDONLY);
    ssize_t n = fd < 0 ? -1 : read(fd, status, sizeof status - 1);
    status[n > 0 ? n : 0] = 0;
    if (fd >= 0)
        close(fd);
}

static long kb(const char *key)
{
    const char *at = strstr(status, key);
    return at ? atol(at + strlen(key)) : -1;
}

static long status_kb(const char *key)
{
    read_status();
    return kb(key);
}

int main(void)
{
    char path[64];
    static char block[1 << 20];
    snprintf(path, sizeof path, "/tmp/rss-file-%d", (int)getpid());
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    memset(block, 7, sizeof block);
    if (fd < 0 || write(fd, block, sizeof block) != sizeof block)
        return 1;
    unlink(path);
    status_kb("RssFile:");                  /* the reads below touch no new code */
    long before = status_kb("RssFile:");
    volatile unsigned char *p = mmap(NULL, sizeof block, PROT_READ, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED)
        return 1;
    unsigned sum = 0;
    for (size_t i = 0; i < sizeof block; i += 4096)
        sum += p[i];
    long after = status_kb("RssFile:");
    printf("reading a 1 MiB file mapping adds about 1 MiB of RssFile: %s\n",
           sum == 7 * 256 && after - before >= 1000 && after - before <= 1100 ? "yes" : "no");
    read_status();
    long rss = kb("VmRSS:"), anon = kb("RssAnon:"), file = kb("RssFile:"), shmem = kb("RssShmem:");
    printf("VmRSS is the sum of the three Rss lines: %s\n", rss == anon + file + shmem ? "yes" : "no");
    munmap((void *)p, sizeof block);
    long gone = status_kb("RssFile:");
    printf("munmap takes them off: %s\n", labs(gone - before) <= 64 ? "yes" : "no");
    close(fd);
    return 0;
}
