/* A syscall-argument fuzzer: calls the given syscalls with seeded random arguments.
 *
 *   fuzz_syscalls SEED COUNT NR:KINDS...
 *
 * Case i (0 <= i < COUNT) calls syscall number i % (number of NR:KINDS) with six
 * arguments drawn from a generator seeded by (SEED, i) alone, so any case can be
 * run again by itself.  KINDS has one letter per argument, as the kernel's table
 * names them (i int, u uint, h hex, f fd, d dirfd, p path, s str, P ptr, b buf,
 * o obuf, z size, O oflags, m mode, F flags, S signal, c clock): most of the time
 * an argument is drawn for its kind, otherwise from everything (small numbers, -1,
 * 1<<63, lengths like 1<<40, NULL / unmapped / kernel-half / misaligned pointers, a
 * buffer of random bytes, a pointer just before a PROT_NONE page, flag words).
 *
 * The calls run in a forked child, a batch at a time: a child that a call ends (exit,
 * a fatal signal it sent itself) or that stops making progress for a few seconds is
 * reaped, and the next child goes on from the case after the one it was in.  The
 * parent prints each such end, and at the end the seed, the cases, the calls and how
 * many distinct numbers were called.  It exits 0 unless it could not run at all.
 *
 * What the fuzzer must not do to itself or the host is changed before each call (the
 * "defang" rules in defang(), each with its reason); rt_sigreturn alone is never made.
 * A call that blocks is broken after WATCHDOG_US by SIGALRM (a handler that returns,
 * installed without SA_RESTART), so a read of an empty pipe costs a few milliseconds.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAXSPECS 512
#define BATCH 400                  /* cases per child */
#define WATCHDOG_US 20000          /* a blocked call is interrupted after this */
#define STALL_SECONDS 6            /* a child with no progress this long is killed */
#define BUF_PAGES 4                /* random-bytes buffers, followed by a PROT_NONE page */
#define SCRATCH_PAGES 32           /* the only memory munmap/mprotect/... may change */
#define PAGE 4096UL
#define MiB (1UL << 20)
#define TASK_SIZE (1UL << 48)

struct spec { long nr; char kinds[8]; };

/* What the parent and its children share (MAP_SHARED): the case in flight, the next
 * case to run, and how often each spec was called. */
struct shared {
    volatile long next;            /* the first case not finished */
    volatile long cur;             /* the case being called */
    volatile long progress;        /* bumped at each case, for the stall check */
    volatile long nr, args[6];
    volatile long calls[MAXSPECS];
    volatile long succeeded;       /* calls that returned >= 0 */
    volatile long strays, stray_case, stray_ret;   /* clone children that went on */
};

static struct spec specs[MAXSPECS];
static int nspecs;
static unsigned long long seed;
static struct shared *sh;
static unsigned char *bufs;        /* BUF_PAGES pages, then the PROT_NONE guard */
static unsigned char *guard;
static unsigned long scratch;      /* SCRATCH_PAGES pages */
static unsigned long initial_brk;
static long my_pid, parent_pid;

/* ---- the generator ---------------------------------------------------------- */
static unsigned long long rng_state;

static unsigned long long rnd(void)      /* splitmix64 */
{
    unsigned long long z = (rng_state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

static unsigned long pick(const unsigned long *v, int n) { return v[rnd() % n]; }
#define PICK(a) pick(a, sizeof(a) / sizeof(a[0]))

static const char *const paths[] = {
    "f0", "f1", "d0", "d0/f2", "sock", "", ".", "..", "/", "/tmp", "/dev/null",
    "/proc/self/maps", "/proc/self/status", "/proc/self/fd", "/proc/self/fd/3",
    "/proc/self/cwd", "/proc/1/stat", "f0/", "../../../..", "nonexistent", "d0/../f1",
    "/etc/hostname", "lnk", "security.x", "user.fuzz", "memfd-name", "/bound", "/bound/f",
};

/* a path or name: one of the list, a random string, a long name or an endless one */
static unsigned long gen_path(void)
{
    unsigned char *p = bufs + PAGE + (rnd() % 8) * 256;     /* page 1: strings */
    switch (rnd() % 10) {
    case 0: {                                  /* random bytes, NUL terminated */
        int n = rnd() % 40;
        for (int i = 0; i < n; i++)
            p[i] = (unsigned char)rnd() | 1;
        p[n] = 0;
        return (unsigned long)p;
    }
    case 1:                                    /* NAME_MAX + 1 and PATH_MAX + 1 */
        p = bufs + 2 * PAGE;
        memset(p, rnd() & 1 ? 'a' : '/', PAGE + 1);
        p[rnd() & 1 ? 256 : PAGE + 1] = 0;
        return (unsigned long)p;
    case 2: {                                  /* no NUL before the guard page */
        unsigned long n = 1 + rnd() % 64;
        memset(guard - n, 'b', n);
        return (unsigned long)(guard - n);
    }
    default: {
        const char *s = paths[rnd() % (sizeof(paths) / sizeof(paths[0]))];
        strcpy((char *)p, s);
        return (unsigned long)p;
    }
    }
}

static unsigned long gen_ptr(void)
{
    static const unsigned long bad[] = {
        0, 1, 8, 0x1000, 0x10000, 0x7fff0000UL, 0xffff800000000000UL,
        0xffffffffffff0000UL, 0xfffffffffffffff8UL, 1UL << 47, TASK_SIZE - 8, TASK_SIZE,
    };
    switch (rnd() % 12) {
    case 0: case 1: return PICK(bad);
    case 2: return (unsigned long)bufs + 1 + rnd() % 7;            /* misaligned */
    case 3: return (unsigned long)guard - 1 - rnd() % 32;          /* runs into PROT_NONE */
    case 4: return (unsigned long)guard;                           /* PROT_NONE itself */
    case 5: return (unsigned long)bufs + 3 * PAGE;                 /* zeros */
    case 6: return (unsigned long)bufs + 3 * PAGE + 512;           /* {0, 1 ms} timespecs */
    case 7: return scratch + (rnd() % SCRATCH_PAGES) * PAGE;
    case 8: return gen_path();
    default: return (unsigned long)bufs + (rnd() % 64) * 8;        /* random bytes */
    }
}

static unsigned long gen_size(void)
{
    static const unsigned long sizes[] = {
        0, 1, 2, 4, 8, 16, 24, 64, 128, 255, 256, 4095, 4096, 4097, 65536, MiB,
        0x7fffffff, 0x80000000UL, 0xffffffffUL, 1UL << 32, 1UL << 40, 1UL << 62,
        0x7fffffffffffffffUL, 1UL << 63, ~0UL, ~0UL - 4095,
    };
    return rnd() % 4 ? PICK(sizes) : rnd() % 8192;
}

static unsigned long gen_int(void)
{
    static const unsigned long ints[] = {
        0, 1, 2, 3, 4, 5, 7, 8, 15, 16, 31, 32, 63, 64, 65, 100, 255, 1000, 1024,
        -1UL, -2UL, -100UL, 0x7fffffff, 0x80000000UL, 0xffffffffUL, 0xffffffff80000000UL,
        1UL << 32, 1UL << 40, 1UL << 63, 0x7fffffffffffffffUL, ~0UL,
    };
    switch (rnd() % 5) {
    case 0: return rnd();
    case 1: return rnd() & 0xffffffff;
    case 2: return rnd() % 70;
    default: return PICK(ints);
    }
}

static unsigned long gen_fd(void)
{
    static const unsigned long fds[] = {
        -1UL, -100UL /* AT_FDCWD */, 1023, 1024, 16384, 16385, 0x7fffffff, 1UL << 32, ~0UL - 99,
    };
    return rnd() % 6 ? rnd() % 16 : PICK(fds);
}

static unsigned long gen_flags(void)
{
    switch (rnd() % 6) {
    case 0: return 0;
    case 1: return 1UL << (rnd() % 32);
    case 2: return rnd() & rnd() & 0xffffffff;
    case 3: return rnd();
    case 4: return ~0UL;
    default: return rnd() % 8;
    }
}

static unsigned long gen_any(void)
{
    switch (rnd() % 6) {
    case 0: return gen_int();
    case 1: return gen_ptr();
    case 2: return gen_size();
    case 3: return gen_fd();
    case 4: return gen_flags();
    default: return rnd();
    }
}

static unsigned long gen(char kind)
{
    if (rnd() % 4 == 0)
        return gen_any();
    switch (kind) {
    case 'f': case 'd': return gen_fd();
    case 'p': case 's': return rnd() % 8 ? gen_path() : gen_ptr();
    case 'P': case 'b': case 'o': return gen_ptr();
    case 'z': return gen_size();
    case 'O': case 'F': case 'h': return rnd() % 3 ? gen_flags() : gen_int();
    case 'm': return rnd() % 2 ? rnd() & 07777 : gen_int();
    case 'S': return rnd() % 4 ? rnd() % 66 : gen_int();
    case 'c': return rnd() % 3 ? rnd() % 12 : gen_int();
    default: return gen_int();
    }
}

static unsigned long gen_any(void);

/* fresh bytes where pointers point: random, or (half the cases) words drawn like
 * arguments, so that structs hold small numbers, sizes and pointers to our buffers
 * (an iovec that points somewhere, a timespec that is valid); zeros and short
 * timespecs where they should be */
static void fill_buffers(void)
{
    unsigned long long *w = (unsigned long long *)bufs;
    int words = rnd() & 1;
    for (unsigned long i = 0; i < PAGE / 8; i++)
        w[i] = words ? gen_any() : rnd();
    unsigned long long *tail = (unsigned long long *)(guard - 256);
    for (int i = 0; i < 32; i++)
        tail[i] = rnd();
    memset(bufs + 3 * PAGE, 0, 512);
    long *ts = (long *)(bufs + 3 * PAGE + 512);
    for (int i = 0; i < 8; i += 2) {
        ts[i] = 0;
        ts[i + 1] = 1000000;
    }
}

/* ---- raw calls ----------------------------------------------------------------- */
static long raw(long nr, unsigned long *a)
{
    register long x8 __asm__("x8") = nr;
    register unsigned long x0 __asm__("x0") = a[0];
    register unsigned long x1 __asm__("x1") = a[1];
    register unsigned long x2 __asm__("x2") = a[2];
    register unsigned long x3 __asm__("x3") = a[3];
    register unsigned long x4 __asm__("x4") = a[4];
    register unsigned long x5 __asm__("x5") = a[5];
    __asm__ volatile("svc #0" : "+r"(x0) : "r"(x8), "r"(x1), "r"(x2), "r"(x3), "r"(x4), "r"(x5)
                     : "memory");
    return (long)x0;
}

/* clone and clone3: the new process or thread exits at once, before it touches memory
 * (with CLONE_VM and no stack of its own it runs on ours, so it must not use it) */
static long raw_clone(long nr, unsigned long *a)
{
    register long x8 __asm__("x8") = nr;
    register unsigned long x0 __asm__("x0") = a[0];
    register unsigned long x1 __asm__("x1") = a[1];
    register unsigned long x2 __asm__("x2") = a[2];
    register unsigned long x3 __asm__("x3") = a[3];
    register unsigned long x4 __asm__("x4") = a[4];
    __asm__ volatile("svc #0\n\tcbnz x0, 1f\n\tmov x8, #93\n\tsvc #0\n1:"
                     : "+r"(x0), "+r"(x8) : "r"(x1), "r"(x2), "r"(x3), "r"(x4) : "memory");
    return (long)x0;
}

static void arm_watchdog(long us)
{
    struct itimerval it = {{0, 0}, {0, us}};
    setitimer(ITIMER_REAL, &it, NULL);
}

static void on_alarm(int sig) { (void)sig; }
static unsigned long alarm_set = 1UL << (SIGALRM - 1);

/* ---- what must not happen -------------------------------------------------------- */
static int in_bufs(unsigned long p, unsigned long n)
{
    return p >= (unsigned long)bufs && p + n <= (unsigned long)guard && p + n >= p;
}

/* a memory range a call would change: a valid range outside the scratch area moves into
 * it (never our text, data, stack or buffers); invalid ones (unaligned, empty, past the
 * user address space, wrapping) stay, as the kernel must refuse them */
static void confine(unsigned long *addr, unsigned long *len)
{
    unsigned long a = *addr, end = a + *len;
    if ((a & (PAGE - 1)) || *len == 0 || end < a || end > TASK_SIZE)
        return;
    unsigned long top = scratch + SCRATCH_PAGES * PAGE;
    if (a >= scratch && end <= top)
        return;
    *addr = scratch + (a / PAGE % SCRATCH_PAGES) * PAGE;
    if (*len > top - *addr)
        *len = top - *addr;
}

/* a target pid: never the parent or a group (0, -1, -pgid): only this child or a stranger */
static unsigned long own_pid(unsigned long pid)
{
    long p = (int)pid;
    return p <= 0 || p == parent_pid ? (unsigned long)my_pid : pid;
}

/* a signal sent: only ones this child ignores by default (invalid numbers stay) */
static unsigned long mild_signal(unsigned long sig)
{
    long s = (long)sig;
    if (s >= 1 && s <= 64 && s != SIGCHLD && s != SIGURG && s != SIGWINCH && s != SIGCONT)
        return 0;
    return sig;
}

/* a signal mask in our buffers must leave SIGALRM (the watchdog) open */
static void open_alarm(unsigned long set)
{
    if (in_bufs(set, 8))
        ((unsigned char *)set)[(SIGALRM - 1) / 8] &= ~(1 << ((SIGALRM - 1) % 8));
}

/* a socket address in our buffers: an inet one goes to the loopback only */
static void loopback(unsigned long addr)
{
    if (!in_bufs(addr, 28))
        return;
    unsigned short *family = (unsigned short *)addr;
    if (*family == AF_INET)
        memcpy((char *)addr + 4, "\x7f\0\0\1", 4);
    else if (*family == AF_INET6)
        memcpy((char *)addr + 8, "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\1", 16);
}

/* a copy may read this much from fd: a regular file over 1 MiB (made sparse by a
 * truncate or a far write), /dev/zero or the like is copied 1 MiB at most, so that
 * no call writes gigabytes of zeros to the host's disk or memory */
static unsigned long bounded_copy(unsigned long fd, unsigned long len)
{
    struct stat st;
    if (len <= MiB || fstat((int)fd, &st) != 0)
        return len;
    if (S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode) || (S_ISREG(st.st_mode) && st.st_size <= (long)MiB))
        return len;
    return MiB;
}

static void defang(long nr, unsigned long *a)
{
    switch (nr) {
    /* the process image: only the scratch area changes; brk never below its start */
    case SYS_munmap: case SYS_mprotect: case SYS_madvise: case SYS_mlock: case SYS_munlock:
    case SYS_msync:
        confine(&a[0], &a[1]);
        break;
    case SYS_mremap:
        confine(&a[0], &a[1]);
        if (a[3] & 2 /* MREMAP_FIXED */)
            confine(&a[4], &a[2]);
        break;
    case SYS_mmap:
        if (a[3] & (MAP_FIXED | MAP_FIXED_NOREPLACE))
            confine(&a[0], &a[1]);
        break;
    case SYS_brk:
        if (a[0] < initial_brk && a[0] + (64 * MiB) > initial_brk)
            a[0] = initial_brk;
        break;
    /* signals: never to the parent or a group, never one that ends or stops us */
    case SYS_kill: case SYS_tkill: case SYS_rt_sigqueueinfo:
        a[0] = own_pid(a[0]);
        a[1] = mild_signal(a[1]);
        break;
    case SYS_tgkill: case SYS_rt_tgsigqueueinfo:
        a[0] = own_pid(a[0]);
        a[1] = own_pid(a[1]);
        a[2] = mild_signal(a[2]);
        break;
    case SYS_pidfd_send_signal:
        a[1] = mild_signal(a[1]);
        break;
    /* the watchdog: SIGALRM keeps its handler and is never blocked during a call */
    case SYS_rt_sigaction:
        if ((int)a[0] == SIGALRM)
            a[0] = SIGUSR2;
        break;
    case SYS_rt_sigprocmask:
        open_alarm(a[1]);
        break;
    case SYS_rt_sigsuspend:
        open_alarm(a[0]);
        break;
    case SYS_ppoll:
        open_alarm(a[3]);
        break;
    case SYS_epoll_pwait: case SYS_epoll_pwait2:
        open_alarm(a[4]);
        break;
    case SYS_pselect6:
        if (in_bufs(a[5], 8))
            open_alarm(*(unsigned long *)a[5]);
        break;
    /* the network: inet addresses are the loopback's */
    case SYS_connect: case SYS_bind:
        loopback(a[1]);
        break;
    case SYS_sendto:
        loopback(a[4]);
        break;
    case SYS_sendmsg: case SYS_sendmmsg:       /* msghdr.msg_name; mmsghdr is 64 bytes */
        for (unsigned long m = a[1]; in_bufs(m, 8) && m < a[1] + 8 * 64; m += 64)
            loopback(*(unsigned long *)m);
        break;
    /* the host's disk and memory: no gigabytes allocated or copied */
    case SYS_fallocate:
        if (a[3] > MiB && (long)a[3] > 0)
            a[3] &= MiB - 1;
        break;
    case SYS_copy_file_range: case SYS_splice:
        a[4] = bounded_copy(a[0], a[4]);
        break;
    case SYS_sendfile:
        a[3] = bounded_copy(a[1], a[3]);
        break;
    }
}

/* ---- running ------------------------------------------------------------------- */
static void run_case(long i)
{
    rng_state = seed ^ ((unsigned long long)i * 0xD1B54A32D192ED03ULL);
    rnd();
    struct spec *sp = &specs[i % nspecs];
    fill_buffers();
    unsigned long a[6];
    for (int k = 0; k < 6; k++)
        a[k] = gen(sp->kinds[k]);
    defang(sp->nr, a);
    sh->cur = i;
    sh->nr = sp->nr;
    for (int k = 0; k < 6; k++)
        sh->args[k] = a[k];
    sh->calls[i % nspecs]++;
    sh->progress++;
    arm_watchdog(WATCHDOG_US);
    long r = sp->nr == SYS_clone || sp->nr == SYS_clone3 ? raw_clone(sp->nr, a) : raw(sp->nr, a);
    if ((sp->nr == SYS_clone || sp->nr == SYS_clone3) && syscall(SYS_gettid) != my_pid) {
        sh->strays++;                  /* a new task that did not see 0 from clone */
        sh->stray_case = i;
        sh->stray_ret = r;
        syscall(SYS_exit, 0);
    }
    sh->succeeded += r >= 0;
    arm_watchdog(0);
    unsigned long alrm[6] = {SIG_UNBLOCK, (unsigned long)&alarm_set, 0, 8};
    raw(SYS_rt_sigprocmask, alrm);       /* a mask the call set (from memory we do not clean) */
    sh->next = i + 1;
}

static void child_setup(void)
{
    my_pid = getpid();
    /* our fds 0-2 are files of the scratch directory, not the test's pipes */
    int null = open("/dev/null", O_RDWR);
    int out = open("out", O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(null, 0);
    dup2(out, 1);
    dup2(out, 2);
    for (int fd = 3; fd < 20; fd++)
        close(fd);
    /* 3.. : things worth calling with: files, a directory, a pipe, sockets, ... */
    open("f0", O_RDWR | O_CREAT, 0644);                    /* 3 */
    open(".", O_RDONLY | O_DIRECTORY);                     /* 4 */
    int p[2];
    pipe(p);                                               /* 5, 6 */
    socketpair(AF_UNIX, SOCK_STREAM, 0, p);                /* 7, 8 */
    syscall(SYS_eventfd2, 0, 0);                           /* 9 */
    syscall(SYS_memfd_create, "fuzz", 0);                  /* 10 */
    syscall(SYS_epoll_create1, 0);                         /* 11 */
    open("d0/f2", O_RDWR | O_CREAT, 0600);                 /* 12 */
    socket(AF_UNIX, SOCK_DGRAM, 0);                        /* 13 */
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_alarm;                              /* no SA_RESTART: EINTR */
    sigaction(SIGALRM, &sa, NULL);
    sigset_t alrm;
    sigemptyset(&alrm);
    sigaddset(&alrm, SIGALRM);
    sigprocmask(SIG_UNBLOCK, &alrm, NULL);
    initial_brk = (unsigned long)sbrk(0);
}

static volatile int ticks;
static void on_tick(int sig) { (void)sig; ticks++; }

static void say(const char *fmt, ...)
{
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    if (n > (int)sizeof(line) - 1)
        n = sizeof(line) - 1;
    write(1, line, n);
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: %s SEED COUNT NR:KINDS...\n", argv[0]);
        return 2;
    }
    seed = strtoull(argv[1], NULL, 0);
    long count = strtol(argv[2], NULL, 0);
    for (int i = 3; i < argc && nspecs < MAXSPECS; i++) {
        char *colon = strchr(argv[i], ':');
        specs[nspecs].nr = strtol(argv[i], NULL, 0);
        if (specs[nspecs].nr == SYS_rt_sigreturn)     /* loads registers from a random frame */
            continue;
        memset(specs[nspecs].kinds, 0, 8);
        if (colon)
            strncpy(specs[nspecs].kinds, colon + 1, 7);
        nspecs++;
    }
    sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    bufs = mmap(NULL, (BUF_PAGES + 1) * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    scratch = (unsigned long)mmap(NULL, SCRATCH_PAGES * PAGE, PROT_READ | PROT_WRITE,
                                  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (sh == MAP_FAILED || bufs == MAP_FAILED || scratch == (unsigned long)MAP_FAILED) {
        perror("mmap");
        return 2;
    }
    guard = bufs + BUF_PAGES * PAGE;
    mprotect(guard, PAGE, PROT_NONE);
    mkdir("d0", 0755);
    parent_pid = getpid();
    say("fuzz: seed %llu cases %ld syscalls %d\n", seed, count, nspecs);

    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_tick;                              /* no SA_RESTART: waitpid breaks */
    sigaction(SIGALRM, &sa, NULL);
    long batches = 0, ended = 0, hung = 0, exits = 0;
    while (sh->next < count) {
        long start = sh->next;
        long stop = start + BATCH < count ? start + BATCH : count;
        batches++;
        pid_t pid = fork();
        if (pid < 0) {
            perror("fork");
            return 2;
        }
        if (pid == 0) {
            child_setup();
            for (long i = start; i < stop; i++)
                run_case(i);
            syscall(SYS_exit_group, 0);
        }
        struct itimerval tick = {{1, 0}, {1, 0}};
        setitimer(ITIMER_REAL, &tick, NULL);
        long seen = sh->progress;
        int still = 0, status = 0, killed = 0;
        for (;;) {
            pid_t r = waitpid(pid, &status, 0);
            if (r == pid)
                break;
            if (r < 0 && errno != EINTR) {
                perror("waitpid");
                return 2;
            }
            if (sh->progress != seen) {
                seen = sh->progress;
                still = 0;
            } else if (++still >= STALL_SECONDS && !killed) {
                kill(pid, SIGKILL);
                killed = 1;
            }
        }
        struct itimerval off = {{0, 0}, {0, 0}};
        setitimer(ITIMER_REAL, &off, NULL);
        while (waitpid(-1, NULL, WNOHANG) > 0)            /* clone's children, reparented */
            ;
        if (WIFEXITED(status) && WEXITSTATUS(status) == 0 && sh->next >= stop)
            continue;
        /* the child ended early: in case cur (then go on after it) or between cases */
        long cur = sh->cur;
        if (sh->next <= cur)
            sh->next = cur + 1;
        if (WIFEXITED(status) && !killed && (sh->nr == SYS_exit || sh->nr == SYS_exit_group)) {
            exits++;                                      /* what it was asked to do */
            continue;
        }
        ended++;
        hung += killed;
        char how[64];
        if (killed)
            snprintf(how, sizeof(how), "hung (killed after %d s without progress)", STALL_SECONDS);
        else if (WIFSIGNALED(status))
            snprintf(how, sizeof(how), "killed by signal %d", WTERMSIG(status));
        else
            snprintf(how, sizeof(how), "exit status %d", WEXITSTATUS(status));
        say("fuzz: case %ld nr %ld args %#lx %#lx %#lx %#lx %#lx %#lx: the child ended: %s\n",
            cur, sh->nr, sh->args[0], sh->args[1], sh->args[2], sh->args[3], sh->args[4],
            sh->args[5], how);
    }
    long calls = 0;
    int distinct = 0;
    for (int i = 0; i < nspecs; i++) {
        calls += sh->calls[i];
        distinct += sh->calls[i] > 0;
    }
    if (sh->strays)
        say("fuzz: %ld clone children went on as the caller (case %ld, clone returned %ld)\n",
            sh->strays, sh->stray_case, sh->stray_ret);
    say("fuzz: uncalled:");
    for (int i = 0; i < nspecs; i++)
        if (!sh->calls[i])
            say(" %ld", specs[i].nr);
    say("\nfuzz: done: seed %llu cases %ld calls %ld distinct %d succeeded %ld batches %ld "
        "exits %ld ended-early %ld hung %ld\n",
        seed, count, calls, distinct, sh->succeeded, batches, exits, ended, hung);
    return 0;
}
