/* Synchronous faults caught by SA_SIGINFO handlers that siglongjmp out: the
 * handler prints si_signo, si_code and whether si_addr (and the pc saved in
 * uc_mcontext) is the address the fault is about.  SIGSEGV for an unmapped
 * address (SEGV_MAPERR) and for a write to a read-only page (SEGV_ACCERR),
 * SIGBUS beyond the end of a mapped file (BUS_ADRERR), SIGILL for an
 * undefined instruction (ILL_ILLOPC: Linux's; qemu-user says ILL_ILLOPN), SIGTRAP
 * for BRK (TRAP_BRKPT).  uc_mcontext.fault_address is checked for SIGSEGV only
 * (Linux fills it for SIGBUS too, qemu leaves it 0).  The signal is blocked in
 * its handler and unblocked again after siglongjmp (sigsetjmp saved the mask). */
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>

static sigjmp_buf env;
static volatile uintptr_t expect_addr, expect_pc;
static volatile int depth;

static void handler(int sig, siginfo_t *si, void *ctx)
{
    ucontext_t *uc = ctx;
    sigset_t now;
    sigprocmask(SIG_BLOCK, NULL, &now);
    printf("  handler: signo %d (arg %d) code %d addr-ok %d pc-ok %d fault_address-ok %d "
           "blocked-self %d sp-aligned %d\n",
           si->si_signo, sig, si->si_code, (uintptr_t)si->si_addr == expect_addr,
           !expect_pc || uc->uc_mcontext.pc == expect_pc,
           sig == SIGSEGV ? uc->uc_mcontext.fault_address == expect_addr : 1,
           sigismember(&now, sig), ((uintptr_t)&now & 7) == 0);
    fflush(stdout);
    siglongjmp(env, sig);
}

/* the faulting instructions, at addresses the handler can compare with */
__asm__(".text\n.p2align 2\n.global undef_insn\nundef_insn:\n.inst 0x00000000\nret\n"
        ".global brk_insn\nbrk_insn:\nbrk #0x7\nret\n");
void undef_insn(void);
void brk_insn(void);

static void run(const char *what, void (*fn)(void))
{
    int got = sigsetjmp(env, 1);
    if (got == 0) {
        fn();
        printf("%s: no signal\n", what);
    } else {
        sigset_t now;
        sigprocmask(SIG_BLOCK, NULL, &now);
        printf("%s: back from signal %d, still blocked %d\n", what, got, sigismember(&now, got));
    }
}

static void unmapped(void)
{
    expect_addr = 0x1238;
    expect_pc = 0;
    *(volatile int *)expect_addr = 1;
}

static char *ro_page;
static void readonly(void)
{
    expect_addr = (uintptr_t)ro_page + 24;
    expect_pc = 0;
    *(volatile char *)expect_addr = 1;
}

static char *file_map;
static void beyond_file(void)
{
    expect_addr = (uintptr_t)file_map + 4096 + 8;
    expect_pc = 0;
    (void)*(volatile char *)expect_addr;
}

static void undefined(void)
{
    expect_addr = expect_pc = (uintptr_t)undef_insn;
    undef_insn();
}

static void breakpoint(void)
{
    expect_addr = expect_pc = (uintptr_t)brk_insn;
    brk_insn();
}

int main(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = handler;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGSEGV, &sa, NULL);
    sigaction(SIGBUS, &sa, NULL);
    sigaction(SIGILL, &sa, NULL);
    sigaction(SIGTRAP, &sa, NULL);
    setvbuf(stdout, NULL, _IOLBF, 0);

    ro_page = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    /* a name from the pid, not mkstemp's: tests compare this program's instruction
     * counts between runs, and glibc draws mkstemp's random name by rejection
     * sampling (a draw again in ~5% of runs, a few dozen instructions more) */
    char path[64];
    snprintf(path, sizeof path, "/tmp/sig_faults_%d", (int)getpid());
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    unlink(path);
    if (fd < 0 || ftruncate(fd, 100) != 0) {
        perror("tmpfile");
        return 1;
    }
    file_map = mmap(NULL, 8192, PROT_READ, MAP_SHARED, fd, 0);

    run("unmapped write", unmapped);
    run("read-only write", readonly);
    run("beyond the file", beyond_file);
    run("undefined instruction", undefined);
    run("brk", breakpoint);
    run("unmapped write again", unmapped);
    printf("done\n");
    return 0;
}
