/* Copies stdin to stdout with read/write in odd-sized chunks, then reports
 * the byte count on stderr and exits 0 (3 if a read or write failed). */
#include <stdio.h>
#include <unistd.h>

int main(void) {
    static char buf[4099];
    long total = 0;
    for (;;) {
        ssize_t n = read(0, buf, sizeof buf);
        if (n == 0) break;
        if (n < 0) { perror("read"); return 3; }
        for (ssize_t off = 0; off < n;) {
            ssize_t w = write(1, buf + off, n - off);
            if (w <= 0) { perror("write"); return 3; }
            off += w;
        }
        total += n;
    }
    fprintf(stderr, "stdin_echo: %ld bytes\n", total);
    return 0;
}
