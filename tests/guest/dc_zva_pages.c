/* DC ZVA on pages the write TLB does not hold: after mprotect took write access away
   and gave it back, and on a copy-on-write page after fork (the slow path: four
   16-byte stores, each of which fills the TLB or copies the page).  Prints, for each
   case, which bytes around the zeroed block changed; compared with qemu-aarch64. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

static void zva(void *p) { __asm__ volatile("dc zva, %0" ::"r"(p) : "memory"); }

/* the offsets of the first and last zero byte and the count of zeros in [lo, hi) */
static void report(const char *what, const unsigned char *lo, const unsigned char *hi) {
    long first = -1, last = -1, zeros = 0;
    for (const unsigned char *p = lo; p < hi; p++)
        if (*p == 0) {
            if (first < 0) first = p - lo;
            last = p - lo;
            zeros++;
        }
    printf("%s: zeros %ld first %ld last %ld\n", what, zeros, first, last);
}

int main(void) {
    uint64_t dczid;
    __asm__ volatile("mrs %0, dczid_el0" : "=r"(dczid));
    printf("dczid %llx\n", (unsigned long long)dczid);
    long page = sysconf(_SC_PAGESIZE);
    unsigned char *m = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) return 1;
    static const long offsets[] = {0, 64 * 7 + 13, 4096 - 64, 4096 - 1, 4096 + 64 * 33 + 40};
    for (unsigned i = 0; i < sizeof offsets / sizeof offsets[0]; i++) {
        memset(m, 0xa5, 2 * page);
        mprotect(m, 2 * page, PROT_READ);
        mprotect(m, 2 * page, PROT_READ | PROT_WRITE);
        zva(m + offsets[i]);
        char what[48];
        snprintf(what, sizeof what, "after mprotect, offset %ld", offsets[i]);
        report(what, m, m + 2 * page);
    }
    memset(m, 0x5a, 2 * page);
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        zva(m + page + 128 + 7);        /* the child's copy of the page */
        report("child after fork", m, m + 2 * page);
        fflush(stdout);
        _exit(0);
    }
    int status;
    waitpid(pid, &status, 0);
    report("parent after the child's", m, m + 2 * page);
    zva(m + 64);
    report("parent's own", m, m + 2 * page);
    printf("done\n");
    return 0;
}
