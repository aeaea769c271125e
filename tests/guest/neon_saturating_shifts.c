/* The Advanced SIMD instructions whose translation names a runtime helper chosen
 * by an immediate (saturating shifts by immediate, narrowing and not, vector and
 * scalar) and the byte shuffles (ZIP/UZP/TRN/REV), on edge values that saturate
 * and ones that do not.  Prints every result and FPSR.QC, to be compared with
 * qemu's output; run twice, the second run comes from the code cache. */
#include <arm_neon.h>
#include <stdint.h>
#include <stdio.h>

static volatile int16_t in16[8] = {0x7fff, -0x8000, 0x1234, -0x1234, 0x00ff, -1, 0x0100, 0x4000};
static volatile int32_t in32[4] = {0x7fffffff, -0x7fffffff - 1, 0x00123456, -0x00654321};
static volatile int8_t in8[16] = {0x7f, -0x80, 1, -1, 0x40, -0x41, 0x10, 0x0f,
                                  0x3f, -0x3f, 2, -2, 0x20, -0x20, 0, 0x55};

static void qc_reset(void) { __asm__ volatile("msr fpsr, xzr"); }

static unsigned qc(void)
{
    uint64_t v;
    __asm__ volatile("mrs %0, fpsr" : "=r"(v));
    return (v >> 27) & 1;
}

static void show(const char *name, const void *p, int bytes)
{
    const uint8_t *b = p;
    printf("%-10s qc=%u ", name, qc());
    for (int i = bytes - 1; i >= 0; i--)
        printf("%02x", b[i]);
    printf("\n");
    qc_reset();
}

#define SHOW(name, expr) do { __typeof__(expr) r_ = (expr); show(name, &r_, sizeof r_); } while (0)

int main(void)
{
    int16x8_t h;
    int32x4_t s;
    int8x16_t b;
    for (int i = 0; i < 8; i++) h[i] = in16[i];
    for (int i = 0; i < 4; i++) s[i] = in32[i];
    for (int i = 0; i < 16; i++) b[i] = in8[i];
    uint16x8_t uh = vreinterpretq_u16_s16(h);
    uint32x4_t us = vreinterpretq_u32_s32(s);
    qc_reset();

    /* narrowing saturating shifts right (vector, and the "2" forms) */
    SHOW("sqshrn1", vqshrn_n_s16(h, 1));
    SHOW("sqshrn4", vqshrn_n_s16(h, 4));
    SHOW("sqshrn8", vqshrn_n_s16(h, 8));
    SHOW("sqshrn2", vqshrn_high_n_s32(vqshrn_n_s32(s, 3), s, 16));
    SHOW("sqshrn2b", vqshrn_high_n_s16(vqshrn_n_s16(h, 2), h, 5));
    SHOW("uqshrn", vqshrn_n_u16(uh, 3));
    SHOW("uqshrn2", vqshrn_high_n_u32(vqshrn_n_u32(us, 7), us, 12));
    SHOW("sqrshrn", vqrshrn_n_s16(h, 6));
    SHOW("sqrshrn2", vqrshrn_high_n_s32(vqrshrn_n_s32(s, 9), s, 15));
    SHOW("uqrshrn", vqrshrn_n_u32(us, 11));
    SHOW("sqshrun", vqshrun_n_s16(h, 2));
    SHOW("sqrshrun", vqrshrun_n_s32(s, 13));
    SHOW("sqrshrun2", vqrshrun_high_n_s16(vqrshrun_n_s16(h, 1), h, 7));

    /* narrowing, scalar */
    SHOW("sqshrnh", vqshrnh_n_s16(h[0], 3));
    SHOW("sqshrns", vqshrns_n_s32(s[2], 5));
    SHOW("uqrshrnd", vqrshrnd_n_u64(0xffffffff12345678ull ^ (uint64_t)s[3], 17));
    SHOW("sqshrunh", vqshrunh_n_s16(h[1], 4));

    /* saturating shifts left by immediate */
    SHOW("sqshl_b", vqshlq_n_s8(b, 3));
    SHOW("sqshl_h", vqshlq_n_s16(h, 1));
    SHOW("uqshl_s", vqshlq_n_u32(us, 4));
    SHOW("sqshlu_h", vqshluq_n_s16(h, 2));
    SHOW("sqshlu_b", vqshlu_n_s8(vget_low_s8(b), 6));
    SHOW("sqshl_sc", vqshlb_n_s8(b[0], 2));
    SHOW("uqshl_sc", vqshls_n_u32(us[2], 9));

    /* byte shuffles */
    uint8x16_t ub = vreinterpretq_u8_s8(b), ub2 = vreinterpretq_u8_s16(h);
    SHOW("zip1", vzip1q_u8(ub, ub2));
    SHOW("zip2_h", vzip2q_u16(uh, vreinterpretq_u16_s8(b)));
    SHOW("uzp2_h", vuzp2q_u16(uh, vreinterpretq_u16_s8(b)));
    SHOW("trn1_s", vtrn1q_u32(us, vreinterpretq_u32_s8(b)));
    SHOW("rev64", vrev64q_u8(ub));
    SHOW("rev32_h", vrev32q_u16(uh));
    SHOW("rev16", vrev16_u8(vget_high_u8(ub2)));
    return 0;
}
