/* Privilege and whole-system calls.  The first part is compared with qemu-aarch64
 * (capabilities, memory locks, mincore, membarrier, the clock's state read-only).
 * With "try-host" it also tries what would act on the whole host (mount, reboot with
 * a bad magic, setting the clock to now, unshare, swapon, module loading): under
 * mkemu each must be refused; it must never run under qemu as root. */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/capability.h>
#include <linux/membarrier.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/timex.h>
#include <time.h>
#include <unistd.h>

static const char *res(long r) { return r < 0 ? strerror(errno) : "ok"; }

static void caps(void) {
    struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct d[2];
    printf("capget: %s\n", res(syscall(SYS_capget, &h, d)));
    printf("root: sys_admin %d net_raw %d, inheritable %u\n", !!(d[0].effective & (1u << 21)),
           !!(d[0].effective & (1u << 13)), d[0].inheritable);
    d[0].effective &= ~(1u << 13);                  /* drop CAP_NET_RAW from the effective set */
    printf("capset drop net_raw: %s\n", res(syscall(SYS_capset, &h, d)));
    struct __user_cap_data_struct e[2];
    syscall(SYS_capget, &h, e);
    printf("now: net_raw effective %d permitted %d\n", !!(e[0].effective & (1u << 13)),
           !!(e[0].permitted & (1u << 13)));
    d[0].permitted |= 0;                            /* raising back from permitted is allowed */
    d[0].effective |= 1u << 13;
    printf("capset raise net_raw: %s\n", res(syscall(SYS_capset, &h, d)));
    struct __user_cap_header_struct bad = {0x12345678, 0};
    printf("capget bad version: %s, told version %#x\n", res(syscall(SYS_capget, &bad, NULL)),
           bad.version);
}

static void memory(void) {
    long page = sysconf(_SC_PAGESIZE);
    char *p = mmap(NULL, 3 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    memset(p, 1, 3 * page);
    printf("mlock: %s\n", res(mlock(p, 3 * page)));
    printf("munlock: %s\n", res(munlock(p, 3 * page)));
    unsigned char vec[3] = {0};
    printf("mincore: %s", res(mincore(p, 3 * page, vec)));
    printf(" [%d %d %d]\n", vec[0] & 1, vec[1] & 1, vec[2] & 1);
    printf("mincore unaligned: %s\n", res(mincore(p + 1, page, vec)));
    munmap(p + page, page);
    printf("mincore over a hole: %s\n", res(mincore(p, 3 * page, vec)));
    printf("mlock over a hole: %s\n", res(mlock(p, 3 * page)));
    long mask = syscall(SYS_membarrier, MEMBARRIER_CMD_QUERY, 0, 0);
    printf("membarrier query has GLOBAL %d\n", mask > 0 && (mask & MEMBARRIER_CMD_GLOBAL));
    printf("membarrier GLOBAL: %s\n", res(syscall(SYS_membarrier, MEMBARRIER_CMD_GLOBAL, 0, 0)));
    printf("membarrier bad: %s\n", res(syscall(SYS_membarrier, 3, 0, 0)));
}

static void clock_state(void) {
    struct timex tx;
    memset(&tx, 0, sizeof tx);
    int r = adjtimex(&tx);
    printf("adjtimex read: %s, tick %s\n", r >= 0 ? "ok" : strerror(errno),
           tx.tick > 0 ? "set" : "zero");
}

static void host_wide(void) {
    struct timeval tv;
    struct timespec ts;
    gettimeofday(&tv, NULL);
    clock_gettime(CLOCK_REALTIME, &ts);
    char *q = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    printf("mlock2 (qemu lacks it): %s\n", res(syscall(SYS_mlock2, q, 4096, MLOCK_ONFAULT)));
    printf("mount tmpfs: %s\n", res(mount("none", "/tmp", "tmpfs", 0, NULL)));
    printf("umount2: %s\n", res(umount2("/tmp", 0)));
    printf("reboot: %s\n", res(syscall(SYS_reboot, 0, 0, 0, NULL)));
    printf("settimeofday: %s\n", res(settimeofday(&tv, NULL)));
    printf("clock_settime: %s\n", res(clock_settime(CLOCK_REALTIME, &ts)));
    printf("unshare: %s\n", res(unshare(CLONE_NEWNS)));
    printf("swapon: %s\n", res(syscall(SYS_swapon, "/nonexistent", 0)));
    printf("init_module: %s\n", res(syscall(SYS_init_module, NULL, 0, "")));
    char buf[64];
    printf("syslog read: %ld bytes\n", syscall(SYS_syslog, 3, buf, sizeof buf));
    struct timex tx;
    memset(&tx, 0, sizeof tx);
    tx.modes = ADJ_OFFSET;
    printf("adjtimex change: %s\n", res(adjtimex(&tx)));
}

int main(int argc, char **argv) {
    caps();
    memory();
    clock_state();
    if (argc > 1 && !strcmp(argv[1], "try-host")) host_wide();
    return 0;
}
