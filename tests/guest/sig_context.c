/* A handler that edits the interrupted context through uc_mcontext: a load
 * from an unmapped address is skipped (pc += 4) after the handler puts a
 * value in its destination register (regs[N]) and flips the saved NZCV;
 * rt_sigreturn must resume there with those registers.  Then the frame
 * itself: x0/x1/x2 of an SA_SIGINFO handler, the frame record x29 points at
 * (the interrupted fp and lr), uc_link, uc_stack and the FPSIMD record in
 * __reserved (magic, size, the terminating null record).  Last, a handler
 * installed with the raw rt_sigaction and no SA_RESTORER returns through the
 * kernel's own sigreturn trampoline. */
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

static void skip_load(int sig, siginfo_t *si, void *ctx)
{
    ucontext_t *uc = ctx;
    (void)sig;
    uc->uc_mcontext.regs[9] = 0x5eed0000 + (uint64_t)si->si_addr;   /* the load's target */
    uc->uc_mcontext.regs[10] += 1;
    uc->uc_mcontext.pstate ^= 0x40000000;                            /* flip Z */
    uc->uc_mcontext.pc += 4;
}

static volatile int plain_ran;
static void plain(int sig) { plain_ran = sig; }

volatile uint64_t h_x0, h_x1, h_x2, h_sp, h_fp, rec_fp, rec_lr, int_fp, int_lr;
volatile uint64_t h_si, h_uc;
volatile int fp_magic_ok, fp_size, end_ok, link_null, ss_flags;

void inspect(int sig, siginfo_t *si, void *ctx);
void inspect(int sig, siginfo_t *si, void *ctx)
{
    ucontext_t *uc = ctx;
    struct _aarch64_ctx *head = (struct _aarch64_ctx *)uc->uc_mcontext.__reserved;
    (void)sig;
    h_si = (uint64_t)si;
    h_uc = (uint64_t)uc;
    fp_magic_ok = head->magic == FPSIMD_MAGIC;
    fp_size = head->size;
    while (head->magic)
        head = (struct _aarch64_ctx *)((char *)head + head->size);
    end_ok = head->size == 0;
    link_null = uc->uc_link == NULL;
    ss_flags = uc->uc_stack.ss_flags;
    int_fp = uc->uc_mcontext.regs[29];
    int_lr = uc->uc_mcontext.regs[30];
}

/* enter the handler by hand to see its registers: tgkill from this frame,
 * and the handler records x0-x2, sp and the frame record at x29 */
void raw_handler(int sig, siginfo_t *si, void *ctx);
__asm__(".text\n.p2align 2\n.global raw_handler\nraw_handler:\n"
        "adrp x9, h_x0\nstr x0, [x9, :lo12:h_x0]\n"
        "adrp x9, h_x1\nstr x1, [x9, :lo12:h_x1]\n"
        "adrp x9, h_x2\nstr x2, [x9, :lo12:h_x2]\n"
        "mov x10, sp\nadrp x9, h_sp\nstr x10, [x9, :lo12:h_sp]\n"
        "adrp x9, h_fp\nstr x29, [x9, :lo12:h_fp]\n"
        "ldp x10, x11, [x29]\n"
        "adrp x9, rec_fp\nstr x10, [x9, :lo12:rec_fp]\n"
        "adrp x9, rec_lr\nstr x11, [x9, :lo12:rec_lr]\n"
        "b inspect\n");

int main(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = skip_load;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGSEGV, &sa, NULL);

    uint64_t loaded, counter = 41, eq;
    __asm__ volatile(
        "mov x10, %[c]\n"
        "mov x11, #0x4000\n"
        "cmp x11, #0x4000\n"          /* Z = 1 */
        "ldr x9, [x11]\n"             /* faults; the handler skips it */
        "cset %[eq], eq\n"
        "mov %[v], x9\n"
        "mov %[c], x10\n"
        : [v] "=r"(loaded), [c] "+r"(counter), [eq] "=r"(eq)
        :
        : "x9", "x10", "x11", "cc", "memory");
    printf("skipped load: x9 %#llx, x10 %llu, Z after the handler %llu\n",
           (unsigned long long)loaded, (unsigned long long)counter, (unsigned long long)eq);

    sa.sa_sigaction = raw_handler;
    sigaction(SIGUSR1, &sa, NULL);
    uint64_t my_fp, my_lr = 0x1234567;
    __asm__ volatile("mov %0, x29" : "=r"(my_fp));
    register uint64_t x0 __asm__("x0") = getpid();
    register uint64_t x1 __asm__("x1") = getpid();
    register uint64_t x2 __asm__("x2") = SIGUSR1;
    register uint64_t x8 __asm__("x8") = 131;            /* tgkill */
    register uint64_t x30 __asm__("x30") = my_lr;
    __asm__ volatile("svc #0" : "+r"(x0) : "r"(x1), "r"(x2), "r"(x8), "r"(x30) : "memory");
    printf("tgkill: %lld\n", (long long)x0);
    printf("x0 = signo: %d\n", h_x0 == SIGUSR1);
    printf("x1 = &siginfo: %d, x2 = &ucontext: %d\n", h_x1 == h_si, h_x2 == h_uc);
    printf("siginfo below ucontext by 128: %d\n", h_x2 - h_x1 == 128);
    printf("sp = &siginfo: %d, 16-aligned: %d\n", h_sp == h_x1, (h_sp & 15) == 0);
    printf("frame record above the frame: %d\n", h_fp > h_x2);
    printf("frame record holds the interrupted fp and lr: %d %d\n",
           rec_fp == int_fp && rec_fp == my_fp, rec_lr == int_lr && rec_lr == my_lr);
    printf("uc_mcontext at ucontext + %zu\n", offsetof(ucontext_t, uc_mcontext));
    printf("FPSIMD record first: %d, size %d; null record ends the list: %d\n",
           fp_magic_ok, fp_size, end_ok);
    printf("uc_link NULL: %d, uc_stack.ss_flags %d\n", link_null, ss_flags);

    struct { uint64_t handler, flags, restorer, mask; } raw = {(uint64_t)plain, 0, 0, 0}, back;
    long r = syscall(SYS_rt_sigaction, SIGUSR2, &raw, NULL, 8);
    syscall(SYS_rt_sigaction, SIGUSR2, NULL, &back, 8);
    printf("raw rt_sigaction: %ld, flags read back %#llx\n", r, (unsigned long long)back.flags);
    syscall(SYS_tgkill, getpid(), syscall(SYS_gettid), SIGUSR2);
    printf("no SA_RESTORER: handler ran with %d and returned\n", plain_ran);
    return 0;
}
