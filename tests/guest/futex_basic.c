/* futex(2) in one thread: every answer that needs no second waiter.  EAGAIN on a
 * value mismatch, ETIMEDOUT after relative and absolute (both clocks) timeouts, wakes
 * and requeues with nobody waiting, WAKE_OP's change to the word, EINVAL, EFAULT and
 * ENOSYS.  Prints results, never times. */
#include <errno.h>
#include <linux/futex.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static long fx(void *uaddr, int op, uint32_t val, const void *timeout_or_val2, void *uaddr2,
               uint32_t val3)
{
    errno = 0;
    return syscall(SYS_futex, uaddr, op, val, timeout_or_val2, uaddr2, val3);
}

static void show(const char *what, long r)
{
    if (r < 0)
        printf("%s: -1 %s\n", what, strerrorname_np(errno));
    else
        printf("%s: %ld\n", what, r);
}

static struct timespec in_ms(clockid_t clk, long ms)
{
    struct timespec ts;
    clock_gettime(clk, &ts);
    ts.tv_nsec += ms * 1000000L;
    ts.tv_sec += ts.tv_nsec / 1000000000L;
    ts.tv_nsec %= 1000000000L;
    return ts;
}

#define VAL2(n) ((const void *)(uintptr_t)(n))

int main(int argc, char **argv)
{
    static uint32_t word = 5, other = 0;
    if (argc > 1) {                      /* "wait": sleep on a futex nobody wakes */
        puts("waiting");
        fflush(stdout);
        show("WAIT forever", fx(&word, FUTEX_WAIT_PRIVATE, 5, NULL, NULL, 0));
        return 1;
    }
    struct timespec rel = {0, 20 * 1000000L};
    struct timespec bad = {0, 2000000000L};
    struct timespec past = {0, 0};

    for (int priv = 0; priv <= FUTEX_PRIVATE_FLAG; priv += FUTEX_PRIVATE_FLAG) {
        printf("--- %s\n", priv ? "private" : "shared");
        word = 5;
        show("WAIT value differs", fx(&word, FUTEX_WAIT | priv, 6, NULL, NULL, 0));
        show("WAIT relative 20ms", fx(&word, FUTEX_WAIT | priv, 5, &rel, NULL, 0));
        struct timespec mono = in_ms(CLOCK_MONOTONIC, 20);
        show("WAIT_BITSET absolute monotonic",
             fx(&word, FUTEX_WAIT_BITSET | priv, 5, &mono, NULL, FUTEX_BITSET_MATCH_ANY));
        struct timespec real = in_ms(CLOCK_REALTIME, 20);
        show("WAIT_BITSET absolute realtime",
             fx(&word, FUTEX_WAIT_BITSET | FUTEX_CLOCK_REALTIME | priv, 5, &real, NULL, 1));
        show("WAIT_BITSET deadline passed",
             fx(&word, FUTEX_WAIT_BITSET | priv, 5, &past, NULL, 1));
        show("WAIT_BITSET deadline passed, value differs",
             fx(&word, FUTEX_WAIT_BITSET | priv, 4, &past, NULL, 1));
        show("WAIT with CLOCK_REALTIME", fx(&word, FUTEX_WAIT | FUTEX_CLOCK_REALTIME | priv, 5,
                                            &rel, NULL, 0));
        show("WAIT bad timespec", fx(&word, FUTEX_WAIT | priv, 5, &bad, NULL, 0));
        show("WAIT timespec unmapped", fx(&word, FUTEX_WAIT | priv, 5, (void *)16, NULL, 0));
        show("WAIT_BITSET bitset 0", fx(&word, FUTEX_WAIT_BITSET | priv, 5, &rel, NULL, 0));
        show("WAKE nobody", fx(&word, FUTEX_WAKE | priv, 1, NULL, NULL, 0));
        show("WAKE nobody, count INT_MAX", fx(&word, FUTEX_WAKE | priv, 0x7fffffff, NULL, NULL, 0));
        show("WAKE_BITSET nobody", fx(&word, FUTEX_WAKE_BITSET | priv, 1, NULL, NULL, 3));
        show("WAKE_BITSET bitset 0", fx(&word, FUTEX_WAKE_BITSET | priv, 1, NULL, NULL, 0));
        show("REQUEUE nobody", fx(&word, FUTEX_REQUEUE | priv, 1, VAL2(1), &other, 0));
        show("CMP_REQUEUE nobody", fx(&word, FUTEX_CMP_REQUEUE | priv, 1, VAL2(1), &other, 5));
        show("CMP_REQUEUE value differs",
             fx(&word, FUTEX_CMP_REQUEUE | priv, 1, VAL2(1), &other, 7));
        show("CMP_REQUEUE negative count",
             fx(&word, FUTEX_CMP_REQUEUE | priv, 1, VAL2(-1), &other, 5));
        show("REQUEUE unaligned second", fx(&word, FUTEX_REQUEUE | priv, 1, VAL2(1),
                                            (char *)&other + 2, 0));

        struct { int op, oparg, cmp, cmparg; uint32_t start; } ops[] = {
            {FUTEX_OP_SET, 9, FUTEX_OP_CMP_EQ, 3, 3},
            {FUTEX_OP_ADD, 7, FUTEX_OP_CMP_NE, 3, 3},
            {FUTEX_OP_OR, 0x30, FUTEX_OP_CMP_LT, 0, 0x80000001u},
            {FUTEX_OP_ANDN, 1, FUTEX_OP_CMP_LE, 2, 3},
            {FUTEX_OP_XOR, 0xff, FUTEX_OP_CMP_GT, -1, 0},
            {FUTEX_OP_ADD, -1, FUTEX_OP_CMP_GE, 10, 10},
            {FUTEX_OP_OR | FUTEX_OP_OPARG_SHIFT, 31, FUTEX_OP_CMP_EQ, 0, 0},
            {FUTEX_OP_SET | FUTEX_OP_OPARG_SHIFT, 4, FUTEX_OP_CMP_EQ, 0, 0},
        };
        for (unsigned i = 0; i < sizeof ops / sizeof ops[0]; i++) {
            other = ops[i].start;
            long r = fx(&word, FUTEX_WAKE_OP | priv, 1, VAL2(1), &other,
                        FUTEX_OP(ops[i].op, ops[i].oparg, ops[i].cmp, ops[i].cmparg));
            char what[64];
            snprintf(what, sizeof what, "WAKE_OP %u: word %#x -> %#x", i, ops[i].start, other);
            show(what, r);
        }
        other = 1;
        show("WAKE_OP unknown op", fx(&word, FUTEX_WAKE_OP | priv, 1, VAL2(1), &other,
                                      (6u << 28) | 1));
        printf("word after unknown op: %u\n", other);

        show("WAIT unaligned", fx((char *)&word + 1, FUTEX_WAIT | priv, 5, NULL, NULL, 0));
        show("WAKE unaligned", fx((char *)&word + 2, FUTEX_WAKE | priv, 1, NULL, NULL, 0));
        show("WAIT unmapped", fx((void *)4096, FUTEX_WAIT | priv, 0, NULL, NULL, 0));
        show("CMP_REQUEUE unmapped", fx((void *)4096, FUTEX_CMP_REQUEUE | priv, 1, VAL2(1),
                                        &other, 0));
        show("WAKE_OP unmapped second", fx(&word, FUTEX_WAKE_OP | priv, 1, VAL2(1),
                                           (void *)4096, FUTEX_OP(FUTEX_OP_SET, 1, 0, 0)));
        show("unknown command", fx(&word, 99 | priv, 0, NULL, NULL, 0));
        show("FUTEX_FD", fx(&word, FUTEX_FD | priv, 0, NULL, NULL, 0));
    }
    show("WAKE shared unmapped", fx((void *)4096, FUTEX_WAKE, 1, NULL, NULL, 0));
    show("WAKE private unmapped", fx((void *)4096, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0));

    /* a MAP_SHARED anonymous word and a read-only one */
    uint32_t *shm = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    shm[1] = 42;
    show("shared mapping: WAIT value differs", fx(&shm[1], FUTEX_WAIT, 41, NULL, NULL, 0));
    show("shared mapping: WAIT timeout", fx(&shm[1], FUTEX_WAIT, 42, &rel, NULL, 0));
    show("shared mapping: WAKE nobody", fx(&shm[1], FUTEX_WAKE, 1, NULL, NULL, 0));
    show("shared mapping: WAKE_OP", fx(&shm[1], FUTEX_WAKE_OP, 1, VAL2(1), &shm[2],
                                       FUTEX_OP(FUTEX_OP_ADD, 3, FUTEX_OP_CMP_EQ, 0)));
    printf("shared mapping word after WAKE_OP: %u\n", shm[2]);
    uint32_t *ro = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    show("read-only: WAIT", fx(ro, FUTEX_WAIT_PRIVATE, 0, &rel, NULL, 0));
    show("read-only: WAKE_OP", fx(&word, FUTEX_WAKE_OP_PRIVATE, 1, VAL2(1), ro,
                                  FUTEX_OP(FUTEX_OP_SET, 1, 0, 0)));
    return 0;
}
