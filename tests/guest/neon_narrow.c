/* Trees of UZP1 narrowing 64-bit lanes to bytes (.4s, .8h, .16b), as compilers
   emit them for a loop storing bytes computed in 64-bit lanes, with inner
   results that are dead and ones that are read again. Prints checksums. */
#include <arm_neon.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define N 4096

static uint64_t seed = 0x9E3779B97F4A7C15ull;
static uint64_t next(void) {
    seed ^= seed << 13; seed ^= seed >> 7; seed ^= seed << 17;
    return seed;
}

static uint64_t fnv(const uint8_t *p, size_t n) {
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 1099511628211ull;
    return h;
}

/* the compiler's own tree: a byte from every 64-bit counter */
__attribute__((noinline)) static void fill(uint8_t *a, size_t n, uint64_t p) {
    for (size_t i = 0; i < n; i++) a[i] = (uint8_t)(i * 31 + p);
}

/* an explicit tree; every inner result dead */
__attribute__((noinline)) static void tree(const uint64_t *w, uint8_t *out, size_t n) {
    for (size_t i = 0; i < n; i += 16) {
        const uint64_t *s = w + i;
        uint32x4_t b0 = vuzp1q_u32(vreinterpretq_u32_u64(vld1q_u64(s)), vreinterpretq_u32_u64(vld1q_u64(s + 2)));
        uint32x4_t b1 = vuzp1q_u32(vreinterpretq_u32_u64(vld1q_u64(s + 4)), vreinterpretq_u32_u64(vld1q_u64(s + 6)));
        uint32x4_t b2 = vuzp1q_u32(vreinterpretq_u32_u64(vld1q_u64(s + 8)), vreinterpretq_u32_u64(vld1q_u64(s + 10)));
        uint32x4_t b3 = vuzp1q_u32(vreinterpretq_u32_u64(vld1q_u64(s + 12)), vreinterpretq_u32_u64(vld1q_u64(s + 14)));
        uint16x8_t c0 = vuzp1q_u16(vreinterpretq_u16_u32(b0), vreinterpretq_u16_u32(b1));
        uint16x8_t c1 = vuzp1q_u16(vreinterpretq_u16_u32(b2), vreinterpretq_u16_u32(b3));
        vst1q_u8(out + i, vuzp1q_u8(vreinterpretq_u8_u16(c0), vreinterpretq_u8_u16(c1)));
    }
}

/* a tree whose inner results are read again after the last UZP1 */
__attribute__((noinline)) static uint64_t tree_live(const uint64_t *w, uint8_t *out, size_t n) {
    uint32x4_t acc32 = vdupq_n_u32(0);
    uint16x8_t acc16 = vdupq_n_u16(0);
    for (size_t i = 0; i < n; i += 16) {
        const uint64_t *s = w + i;
        uint64x2_t x = vld1q_u64(s), y = vld1q_u64(s + 2);
        uint32x4_t b0 = vuzp1q_u32(vreinterpretq_u32_u64(x), vreinterpretq_u32_u64(y));
        uint32x4_t b1 = vuzp1q_u32(vreinterpretq_u32_u64(vld1q_u64(s + 4)), vreinterpretq_u32_u64(vld1q_u64(s + 6)));
        uint32x4_t b2 = vuzp1q_u32(vreinterpretq_u32_u64(vld1q_u64(s + 8)), vreinterpretq_u32_u64(vld1q_u64(s + 10)));
        uint32x4_t b3 = vuzp1q_u32(vreinterpretq_u32_u64(vld1q_u64(s + 12)), vreinterpretq_u32_u64(vld1q_u64(s + 14)));
        uint16x8_t c0 = vuzp1q_u16(vreinterpretq_u16_u32(b0), vreinterpretq_u16_u32(b1));
        uint16x8_t c1 = vuzp1q_u16(vreinterpretq_u16_u32(b2), vreinterpretq_u16_u32(b3));
        uint8x16_t r = vuzp1q_u8(vreinterpretq_u8_u16(c0), vreinterpretq_u8_u16(c1));
        vst1q_u8(out + i, r);
        acc32 = vaddq_u32(acc32, veorq_u32(b0, b3));
        acc16 = vaddq_u16(acc16, c1);
        /* x and y again: their registers must still hold them */
        acc32 = vaddq_u32(acc32, vreinterpretq_u32_u64(veorq_u64(x, y)));
    }
    return vaddvq_u32(acc32) * 65537ull + vaddvq_u16(acc16);
}

/* one tree feeding another's input (the same register narrowed twice) */
__attribute__((noinline)) static void tree_twice(const uint64_t *w, uint8_t *out, size_t n) {
    for (size_t i = 0; i < n; i += 16) {
        const uint64_t *s = w + i;
        uint32x4_t b0 = vuzp1q_u32(vreinterpretq_u32_u64(vld1q_u64(s)), vreinterpretq_u32_u64(vld1q_u64(s + 2)));
        uint16x8_t c0 = vuzp1q_u16(vreinterpretq_u16_u32(b0), vreinterpretq_u16_u32(b0));
        uint16x8_t c1 = vuzp1q_u16(vreinterpretq_u16_u32(b0), vreinterpretq_u16_u32(vuzp1q_u32(vreinterpretq_u32_u64(vld1q_u64(s + 4)), vreinterpretq_u32_u64(vld1q_u64(s + 6)))));
        vst1q_u8(out + i, vuzp1q_u8(vreinterpretq_u8_u16(c0), vreinterpretq_u8_u16(c1)));
        vst1q_u8(out + n + i, vuzp1q_u8(vreinterpretq_u8_u16(c1), vreinterpretq_u8_u16(c1)));
    }
}

/* fixed registers: the tree of bench/memseq's loop, with a read of an inner
   result between (its UZP1 must still run) or none; every register is stored */
#define LOAD8 "ldp q0, q16, [%0]\n ldp q3, q7, [%0, #32]\n ldp q1, q6, [%0, #64]\n ldp q2, q5, [%0, #96]\n"
#define STORE "stp q0, q1, [%1]\n stp q2, q3, [%1, #32]\n str q20, [%1, #64]\n"
#define CLOBBER "v0", "v1", "v2", "v3", "v5", "v6", "v7", "v16", "v20", "memory"
__attribute__((noinline)) static void asm_trees(const uint64_t *w, uint8_t *out) {
    asm volatile(LOAD8 "movi v20.16b, #0\n"
                 "uzp1 v3.4s, v3.4s, v7.4s\n uzp1 v1.4s, v1.4s, v6.4s\n uzp1 v2.4s, v2.4s, v5.4s\n"
                 "uzp1 v0.4s, v0.4s, v16.4s\n uzp1 v1.8h, v1.8h, v2.8h\n uzp1 v0.8h, v0.8h, v3.8h\n"
                 "uzp1 v0.16b, v0.16b, v1.16b\n" STORE
                 :: "r"(w), "r"(out) : CLOBBER);
    asm volatile(LOAD8
                 "uzp1 v3.4s, v3.4s, v7.4s\n uzp1 v1.4s, v1.4s, v6.4s\n uzp1 v2.4s, v2.4s, v5.4s\n"
                 "uzp1 v0.4s, v0.4s, v16.4s\n mov v20.16b, v0.16b\n uzp1 v1.8h, v1.8h, v2.8h\n"
                 "uzp1 v0.8h, v0.8h, v3.8h\n uzp1 v0.16b, v0.16b, v1.16b\n" STORE
                 :: "r"(w), "r"(out + 80) : CLOBBER);
    asm volatile(LOAD8
                 "uzp1 v3.4s, v3.4s, v7.4s\n uzp1 v1.4s, v1.4s, v6.4s\n uzp1 v2.4s, v2.4s, v5.4s\n"
                 "uzp1 v0.4s, v0.4s, v16.4s\n uzp1 v1.8h, v1.8h, v2.8h\n uzp1 v0.8h, v0.8h, v3.8h\n"
                 "add v20.8h, v0.8h, v0.8h\n uzp1 v0.16b, v0.16b, v1.16b\n" STORE
                 :: "r"(w), "r"(out + 160) : CLOBBER);
    asm volatile(LOAD8
                 "uzp1 v3.4s, v3.4s, v7.4s\n uzp1 v1.4s, v1.4s, v6.4s\n uzp1 v2.4s, v2.4s, v5.4s\n"
                 "uzp1 v0.4s, v0.4s, v16.4s\n uzp1 v1.8h, v1.8h, v2.8h\n uzp1 v0.8h, v0.8h, v3.8h\n"
                 "uzp1 v1.16b, v0.16b, v1.16b\n mov v20.16b, v0.16b\n" STORE
                 :: "r"(w), "r"(out + 240) : CLOBBER);
    asm volatile(LOAD8
                 "uzp1 v3.4s, v3.4s, v7.4s\n uzp1 v1.4s, v1.4s, v6.4s\n uzp1 v2.4s, v2.4s, v5.4s\n"
                 "eor v20.16b, v1.16b, v2.16b\n uzp1 v0.4s, v0.4s, v16.4s\n uzp1 v1.8h, v1.8h, v2.8h\n"
                 "uzp1 v0.8h, v0.8h, v3.8h\n uzp1 v0.16b, v0.16b, v1.16b\n" STORE
                 :: "r"(w), "r"(out + 320) : CLOBBER);
}

int main(void) {
    uint64_t *w = malloc(N * sizeof *w);
    uint8_t *out = malloc(2 * N), *a = malloc(N + 7);
    for (int i = 0; i < N; i++) w[i] = next();
    for (uint64_t p = 0; p < 3; p++) {
        fill(a, N + 7, p * 0x9E37);
        printf("fill %llu: %016llx\n", (unsigned long long)p, (unsigned long long)fnv(a, N + 7));
    }
    tree(w, out, N);
    printf("tree: %016llx\n", (unsigned long long)fnv(out, N));
    uint64_t live = tree_live(w, out, N);
    printf("tree_live: %016llx %016llx\n", (unsigned long long)fnv(out, N), (unsigned long long)live);
    tree_twice(w, out, N);
    printf("tree_twice: %016llx\n", (unsigned long long)fnv(out, 2 * N));
    asm_trees(w, out);
    printf("asm_trees: %016llx\n", (unsigned long long)fnv(out, 400));
    return 0;
}
