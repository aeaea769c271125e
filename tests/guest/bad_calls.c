/* System calls with bad input fail with the kernel's error and the program goes on:
 * unknown and unimplemented numbers give ENOSYS, bad pointers EFAULT. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <stdio.h>
#include <unistd.h>

int main(void)
{
    for (int i = 0; i < 3; i++) {
        errno = 0;
        long r = syscall(999, 1, 2, 3);          /* no such number */
        printf("999: %ld %s\n", r, errno == ENOSYS ? "ENOSYS" : "other");
        errno = 0;
        r = syscall(425, 8, 0);                   /* io_uring_setup: not emulated */
        printf("425: %ld %s\n", r, errno == ENOSYS ? "ENOSYS" : "other");
    }
    void *bad = (void *)16;
    errno = 0;
    printf("write: %zd %s\n", write(1, bad, 4), strerror(errno));
    errno = 0;
    printf("read: %zd %s\n", read(0, bad, 4), strerror(errno));
    errno = 0;
    printf("open: %d %s\n", open((const char *)bad, O_RDONLY), strerror(errno));
    struct stat st;
    errno = 0;
    printf("stat: %d %s\n", stat("/", (struct stat *)bad), strerror(errno));
    errno = 0;
    printf("stat ok: %d\n", stat("/", &st));
    return 0;
}
