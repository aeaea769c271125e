/* /proc/self/maps names each file mapping by the path the program itself can open:
 * every named line's path stats to the line's device and inode; the code's
 * mapping is the program's own (/proc/self/exe); a mapped file in /tmp keeps its
 * path, then gets " (deleted)" once unlinked; a memfd is "/memfd:NAME (deleted)";
 * a heap grown by several sbrk calls is one [heap] line.  Prints only
 * comparisons, for the native run's output to be the same. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

struct line {
    unsigned long start, end, ino;
    unsigned dev_major, dev_minor;
    char name[512];
};

static int read_maps(struct line *lines, int max)
{
    FILE *f = fopen("/proc/self/maps", "r");
    char buf[1024];
    int n = 0;
    while (f && n < max && fgets(buf, sizeof buf, f)) {
        struct line *l = &lines[n];
        int used = 0;
        buf[strcspn(buf, "\n")] = 0;
        if (sscanf(buf, "%lx-%lx %*s %*x %x:%x %lu %n", &l->start, &l->end, &l->dev_major,
                   &l->dev_minor, &l->ino, &used) < 5)
            continue;
        snprintf(l->name, sizeof l->name, "%s", buf + used);
        n++;
    }
    if (f)
        fclose(f);
    return n;
}

static const char *name_at(struct line *lines, int n, unsigned long addr)
{
    for (int i = 0; i < n; i++)
        if (lines[i].start <= addr && addr < lines[i].end)
            return lines[i].name;
    return "";
}

static struct line lines[4096];

int main(void)
{
    char exe[512] = {0}, path[64], want[600];
    if (readlink("/proc/self/exe", exe, sizeof exe - 1) < 0)
        return 1;

    int n = read_maps(lines, 4096), named = 0, agree = 0;
    for (int i = 0; i < n; i++) {
        struct stat st;
        if (lines[i].name[0] != '/')
            continue;
        named++;
        if (stat(lines[i].name, &st) == 0 && st.st_ino == lines[i].ino
                && major(st.st_dev) == lines[i].dev_major && minor(st.st_dev) == lines[i].dev_minor)
            agree++;
    }
    printf("named lines name files the program can stat, with their device and file number: %s\n",
           named > 0 && agree == named ? "yes" : "no");
    printf("the code's mapping is named by /proc/self/exe: %s\n",
           strcmp(name_at(lines, n, (unsigned long)&main), exe) == 0 ? "yes" : "no");
    printf("libc's code is named too: %s\n", name_at(lines, n, (unsigned long)&printf)[0] == '/' ? "yes" : "no");

    snprintf(path, sizeof path, "/tmp/maps-names-%d", (int)getpid());
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    char page[4096] = {1};
    if (fd < 0 || write(fd, page, sizeof page) != sizeof page)
        return 1;
    char *p = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED)
        return 1;
    n = read_maps(lines, 4096);
    printf("a mapped file is named by its path: %s\n",
           strcmp(name_at(lines, n, (unsigned long)p), path) == 0 ? "yes" : "no");
    unlink(path);
    n = read_maps(lines, 4096);
    snprintf(want, sizeof want, "%s (deleted)", path);
    printf("once unlinked, by its path and (deleted): %s\n",
           strcmp(name_at(lines, n, (unsigned long)p), want) == 0 ? "yes" : "no");
    munmap(p, 4096);
    close(fd);

    int mfd = memfd_create("maps_names", 0);
    if (mfd < 0 || ftruncate(mfd, 4096) != 0)
        return 1;
    char *m = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
    if (m == MAP_FAILED)
        return 1;
    n = read_maps(lines, 4096);
    printf("a memfd is /memfd:NAME (deleted): %s\n",
           strcmp(name_at(lines, n, (unsigned long)m), "/memfd:maps_names (deleted)") == 0 ? "yes" : "no");

    for (int i = 0; i < 4; i++)
        if (sbrk(65536) == (void *)-1)
            return 1;
    n = read_maps(lines, 4096);
    int heaps = 0;
    for (int i = 0; i < n; i++)
        heaps += strcmp(lines[i].name, "[heap]") == 0;
    printf("a heap grown four times is one [heap] line: %s\n", heaps == 1 ? "yes" : "no");
    return 0;
}
