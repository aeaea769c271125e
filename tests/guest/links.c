/* Opens, writes, stats and reads the link each argument names and prints
 * what every call gave, one line per call ("PATH call: result").  The test
 * puts rootfs symlinks into /proc and /dev there (Debian's /etc/mtab ->
 * ../proc/self/mounts and the like) and checks the lines against what the
 * links' targets give when named directly, and against the host's facts. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

static const char *kind(mode_t m) {
    return S_ISREG(m) ? "file" : S_ISDIR(m) ? "dir" : S_ISLNK(m) ? "link" : S_ISCHR(m) ? "chr" : "other";
}

/* the bytes read, quoted: newlines, NULs and other control bytes escaped */
static void show_bytes(const unsigned char *buf, long n) {
    putchar('"');
    for (long i = 0; i < n; i++) {
        unsigned char c = buf[i];
        if (c == '\n') fputs("\\n", stdout);
        else if (c == 0) fputs("\\0", stdout);
        else if (c == '"' || c == '\\') printf("\\%c", c);
        else if (c < 32 || c > 126) printf("\\x%02x", c);
        else putchar(c);
    }
    putchar('"');
}

static void try_path(const char *p) {
    unsigned char buf[4096];
    struct stat st;
    int fd = open(p, O_RDONLY);
    if (fd < 0) {
        printf("%s read: %s\n", p, strerrorname_np(errno));
    } else {
        long n = read(fd, buf, sizeof buf);
        printf("%s read: ", p);
        if (n < 0) printf("%s", strerrorname_np(errno));
        else show_bytes(buf, n);
        printf("\n");
        close(fd);
    }
    fd = open(p, O_WRONLY);
    if (fd < 0) {
        printf("%s write: %s\n", p, strerrorname_np(errno));
    } else {
        long n = write(fd, "hello", 5);
        printf("%s write: %ld\n", p, n);
        close(fd);
    }
    if (stat(p, &st) < 0)
        printf("%s stat: %s\n", p, strerrorname_np(errno));
    else
        printf("%s stat: %s %o %u:%u\n", p, kind(st.st_mode), (unsigned)(st.st_mode & 07777),
               major(st.st_rdev), minor(st.st_rdev));
    if (lstat(p, &st) < 0)
        printf("%s lstat: %s\n", p, strerrorname_np(errno));
    else
        printf("%s lstat: %s size %ld\n", p, kind(st.st_mode), (long)st.st_size);
    long n = readlink(p, (char *)buf, sizeof buf - 1);
    if (n < 0)
        printf("%s readlink: %s\n", p, strerrorname_np(errno));
    else
        printf("%s readlink: \"%.*s\"\n", p, (int)n, buf);
}

int main(int argc, char **argv) {
    for (int i = 1; i < argc; i++)
        try_path(argv[i]);
    return 0;
}
