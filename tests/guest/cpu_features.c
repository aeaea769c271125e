/* Runs one instruction of every feature the CPU advertises in AT_HWCAP and prints
 * its result, so mkemu's output can be compared with qemu's (whose "max" CPU has
 * all of them).  A feature whose bit is clear prints "missing NAME" instead.
 * mkemu-cflags: -march=armv8.4-a+crypto+sha3+sm4+fp16+fp16fml+rcpc */
#include <arm_acle.h>
#include <arm_neon.h>
#include <asm/hwcap.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/auxv.h>

static unsigned long hwcap;

static int has(unsigned long bit, const char *name)
{
    if (hwcap & bit)
        return 1;
    printf("missing %s\n", name);
    return 0;
}

static void show(const char *name, uint8x16_t v)
{
    uint8_t b[16];
    vst1q_u8(b, v);
    printf("%s=", name);
    for (int i = 0; i < 16; i++)
        printf("%02x", b[i]);
    printf("\n");
}

static uint8x16_t pattern(int seed)
{
    uint8_t b[16];
    for (int i = 0; i < 16; i++)
        b[i] = (uint8_t)(seed * 37 + i * 11 + (i * i) * 5);
    return vld1q_u8(b);
}

#define U32(v) vreinterpretq_u32_u8(v)
#define U64(v) vreinterpretq_u64_u8(v)
#define B(v) vreinterpretq_u8_u32(v)

int main(void)
{
    hwcap = getauxval(AT_HWCAP);
    uint8x16_t a = pattern(1), b = pattern(2), c = pattern(3);
    volatile uint64_t word = 0x0123456789abcdefULL;

    if (has(HWCAP_FP, "fp"))
        printf("fp=%.17g\n", (double)word / 3.0);
    if (has(HWCAP_ASIMD, "asimd"))
        show("asimd", vaddq_u8(a, b));
    if (has(HWCAP_AES, "aes")) {
        show("aese_aesmc", vaesmcq_u8(vaeseq_u8(a, b)));
        show("aesd_aesimc", vaesimcq_u8(vaesdq_u8(a, b)));
    }
    if (has(HWCAP_PMULL, "pmull")) {
        poly128_t p = vmull_p64(vgetq_lane_u64(U64(a), 0), vgetq_lane_u64(U64(b), 1));
        show("pmull", vreinterpretq_u8_p128(p));
    }
    if (has(HWCAP_SHA1, "sha1")) {
        show("sha1c", B(vsha1cq_u32(U32(a), vgetq_lane_u32(U32(b), 0), U32(c))));
        show("sha1su0", B(vsha1su0q_u32(U32(a), U32(b), U32(c))));
    }
    if (has(HWCAP_SHA2, "sha2")) {
        show("sha256h", B(vsha256hq_u32(U32(a), U32(b), U32(c))));
        show("sha256su1", B(vsha256su1q_u32(U32(a), U32(b), U32(c))));
    }
    if (has(HWCAP_CRC32, "crc32"))
        printf("crc32=%08x %08x\n", __crc32d(0xffffffff, word), __crc32cb(7, 0x5a));
    if (has(HWCAP_ATOMICS, "atomics")) {
        uint64_t old = __atomic_fetch_add(&word, 5, __ATOMIC_SEQ_CST);
        uint64_t expected = word;
        int ok = __atomic_compare_exchange_n(&word, &expected, 9, 0, __ATOMIC_SEQ_CST,
                                             __ATOMIC_SEQ_CST);
        printf("atomics=%llx %d %llx\n", (unsigned long long)old, ok, (unsigned long long)word);
    }
    if (has(HWCAP_FPHP, "fphp")) {
        volatile _Float16 h = (_Float16)1.5, k = (_Float16)0.3333;
        printf("fphp=%.6f\n", (double)(h * k + h));
    }
    if (has(HWCAP_ASIMDHP, "asimdhp")) {
        float16x8_t h = vcvtq_f16_u16(vreinterpretq_u16_u8(a));
        show("asimdhp", vreinterpretq_u8_f16(vmulq_f16(h, vdupq_n_f16((float16_t)0.125))));
    }
    if (has(HWCAP_CPUID, "cpuid")) {
        uint64_t isar0;
        __asm__ volatile("mrs %0, ID_AA64ISAR0_EL1" : "=r"(isar0));
        /* the ID register must agree with the hwcap bits */
        printf("cpuid aes=%d atomics=%d dp=%d\n", ((isar0 >> 4) & 15) >= 2,
               ((isar0 >> 20) & 15) >= 2, ((isar0 >> 44) & 15) >= 1);
    }
    if (has(HWCAP_ASIMDRDM, "asimdrdm"))
        show("sqrdmlah", vreinterpretq_u8_s16(vqrdmlahq_s16(vreinterpretq_s16_u8(a),
                         vreinterpretq_s16_u8(b), vreinterpretq_s16_u8(c))));
    if (has(HWCAP_FCMA, "fcma")) {
        float32x4_t x = vcvtq_f32_u32(U32(a)), y = vcvtq_f32_u32(U32(b));
        show("fcmla", vreinterpretq_u8_f32(vcmlaq_rot90_f32(x, y, x)));
    }
    if (has(HWCAP_LRCPC, "lrcpc"))
        printf("ldapr=%llx\n", (unsigned long long)__atomic_load_n(&word, __ATOMIC_ACQUIRE));
    if (has(HWCAP_SHA3, "sha3")) {
        show("eor3", veor3q_u8(a, b, c));
        show("rax1", vreinterpretq_u8_u64(vrax1q_u64(U64(a), U64(b))));
    }
    if (has(HWCAP_SM3, "sm3"))
        show("sm3ss1", B(vsm3ss1q_u32(U32(a), U32(b), U32(c))));
    if (has(HWCAP_SM4, "sm4"))
        show("sm4e", B(vsm4eq_u32(U32(a), U32(b))));
    if (has(HWCAP_ASIMDDP, "asimddp"))
        show("udot", B(vdotq_u32(U32(a), b, c)));
    if (has(HWCAP_SHA512, "sha512"))
        show("sha512h", vreinterpretq_u8_u64(vsha512hq_u64(U64(a), U64(b), U64(c))));
    if (has(HWCAP_ASIMDFHM, "asimdfhm")) {
        float16x8_t h = vcvtq_f16_u16(vreinterpretq_u16_u8(b));
        show("fmlal", vreinterpretq_u8_f32(vfmlalq_low_f16(vcvtq_f32_u32(U32(a)), h, h)));
    }
    if (has(HWCAP_ILRCPC, "ilrcpc")) {
        uint64_t arr[2] = {0x1111, 0x2222}, v;
        __asm__ volatile("ldapur %0, [%1, #8]" : "=r"(v) : "r"(arr) : "memory");
        printf("ldapur=%llx\n", (unsigned long long)v);
    }
    return 0;
}
