/* SIMD&FP state survives a handler: the handler clobbers every V register,
 * FPSR (sets the cumulative flags) and FPCR (round towards zero, flush to
 * zero); the interrupted code set v0-v31 to known 128-bit values and checks
 * them right after the signal's SVC, in the same asm block.  The handler
 * also sees the interrupted values in the frame's FPSIMD record, and an
 * edit of a vreg there reaches the interrupted code. */
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

static uint64_t before[64], after[64];
static volatile uint64_t seen_v5_lo, seen_fpcr, seen_fpsr;

static void clobber(int sig, siginfo_t *si, void *ctx)
{
    ucontext_t *uc = ctx;
    struct fpsimd_context *fp = (struct fpsimd_context *)uc->uc_mcontext.__reserved;
    (void)sig;
    (void)si;
    seen_v5_lo = (uint64_t)fp->vregs[5];
    seen_fpcr = fp->fpcr;
    seen_fpsr = fp->fpsr;
    fp->vregs[31] = ((__uint128_t)0xfeedfacecafebeefULL << 64) | 0x0123456789abcdefULL;
    __asm__ volatile(
        "movi v0.16b, #0x11\n movi v1.16b, #0x22\n movi v2.16b, #0x33\n movi v3.16b, #0x44\n"
        "movi v4.16b, #0x55\n movi v5.16b, #0x66\n movi v6.16b, #0x77\n movi v7.16b, #0x88\n"
        "movi v8.16b, #0x99\n movi v9.16b, #0xaa\n movi v10.16b, #0xbb\n movi v11.16b, #0xcc\n"
        "movi v12.16b, #0xdd\n movi v13.16b, #0xee\n movi v14.16b, #0xff\n movi v15.16b, #0x01\n"
        "movi v16.16b, #0x02\n movi v17.16b, #0x03\n movi v18.16b, #0x04\n movi v19.16b, #0x05\n"
        "movi v20.16b, #0x06\n movi v21.16b, #0x07\n movi v22.16b, #0x08\n movi v23.16b, #0x09\n"
        "movi v24.16b, #0x0a\n movi v25.16b, #0x0b\n movi v26.16b, #0x0c\n movi v27.16b, #0x0d\n"
        "movi v28.16b, #0x0e\n movi v29.16b, #0x0f\n movi v30.16b, #0x10\n movi v31.16b, #0x12\n"
        "mov x9, #0x1f\n msr fpsr, x9\n"
        "mov x9, #0x3\n lsl x9, x9, #22\n orr x9, x9, #(1 << 24)\n msr fpcr, x9\n"
        ::: "x9", "memory",
        "v0", "v1", "v2", "v3", "v4", "v5", "v6", "v7", "v8", "v9", "v10", "v11", "v12", "v13",
        "v14", "v15", "v16", "v17", "v18", "v19", "v20", "v21", "v22", "v23", "v24", "v25",
        "v26", "v27", "v28", "v29", "v30", "v31");
}

int main(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = clobber;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGUSR1, &sa, NULL);
    for (int i = 0; i < 64; i++)
        before[i] = 0x0101010101010101ULL * (uint64_t)(i + 1) ^ ((uint64_t)i << 56);

    uint64_t fpcr_in = 2ULL << 22, fpsr_in = 0x8, fpcr_out, fpsr_out;
    long pid = getpid(), tid = syscall(SYS_gettid);
    __asm__ volatile(
        "ldp q0, q1, [%[b]]\n ldp q2, q3, [%[b], #32]\n ldp q4, q5, [%[b], #64]\n"
        "ldp q6, q7, [%[b], #96]\n ldp q8, q9, [%[b], #128]\n ldp q10, q11, [%[b], #160]\n"
        "ldp q12, q13, [%[b], #192]\n ldp q14, q15, [%[b], #224]\n ldp q16, q17, [%[b], #256]\n"
        "ldp q18, q19, [%[b], #288]\n ldp q20, q21, [%[b], #320]\n ldp q22, q23, [%[b], #352]\n"
        "ldp q24, q25, [%[b], #384]\n ldp q26, q27, [%[b], #416]\n ldp q28, q29, [%[b], #448]\n"
        "ldp q30, q31, [%[b], #480]\n"
        "msr fpcr, %[fpcr_in]\n msr fpsr, %[fpsr_in]\n"
        "mov x0, %[pid]\n mov x1, %[tid]\n mov x2, #10\n mov x8, #131\n svc #0\n"   /* tgkill */
        "mrs %[fpcr_out], fpcr\n mrs %[fpsr_out], fpsr\n"
        "stp q0, q1, [%[a]]\n stp q2, q3, [%[a], #32]\n stp q4, q5, [%[a], #64]\n"
        "stp q6, q7, [%[a], #96]\n stp q8, q9, [%[a], #128]\n stp q10, q11, [%[a], #160]\n"
        "stp q12, q13, [%[a], #192]\n stp q14, q15, [%[a], #224]\n stp q16, q17, [%[a], #256]\n"
        "stp q18, q19, [%[a], #288]\n stp q20, q21, [%[a], #320]\n stp q22, q23, [%[a], #352]\n"
        "stp q24, q25, [%[a], #384]\n stp q26, q27, [%[a], #416]\n stp q28, q29, [%[a], #448]\n"
        "stp q30, q31, [%[a], #480]\n"
        "msr fpcr, xzr\n"
        : [fpcr_out] "=&r"(fpcr_out), [fpsr_out] "=&r"(fpsr_out)
        : [b] "r"(before), [a] "r"(after), [pid] "r"(pid), [tid] "r"(tid),
          [fpcr_in] "r"(fpcr_in), [fpsr_in] "r"(fpsr_in)
        : "x0", "x1", "x2", "x8", "memory",
        "v0", "v1", "v2", "v3", "v4", "v5", "v6", "v7", "v8", "v9", "v10", "v11", "v12", "v13",
        "v14", "v15", "v16", "v17", "v18", "v19", "v20", "v21", "v22", "v23", "v24", "v25",
        "v26", "v27", "v28", "v29", "v30", "v31");

    int same = 0;
    for (int i = 0; i < 62; i++)
        same += before[i] == after[i];
    printf("v0-v30 preserved: %d of 62 halves\n", same);
    printf("v31 as the handler edited it: %d\n",
           after[62] == 0x0123456789abcdefULL && after[63] == 0xfeedfacecafebeefULL);
    printf("fpcr %#llx (was %#llx), fpsr %#llx (was %#llx)\n", (unsigned long long)fpcr_out,
           (unsigned long long)fpcr_in, (unsigned long long)fpsr_out, (unsigned long long)fpsr_in);
    printf("handler saw v5 %d, fpcr %#llx, fpsr %#llx\n", seen_v5_lo == before[10],
           (unsigned long long)seen_fpcr, (unsigned long long)seen_fpsr);
    return 0;
}
