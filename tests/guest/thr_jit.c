/* Code written by one thread and run by another, as a JIT with several threads
 * does: a read-write-execute page holds a tiny function `mov w0, #N; ret`.
 * The main thread runs it (so mkemu translates it), a worker thread rewrites
 * the constant, and the main thread must then run the new code.  The same
 * again with the roles swapped, and with a W^X page (mprotect between
 * writing and running), 20 rounds each. */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

typedef int (*fn_t)(void);
static uint32_t *code;
static pthread_barrier_t step;
static int wx;

static void emit(int n)
{
    if (wx)
        mprotect(code, 4096, PROT_READ | PROT_WRITE);
    code[0] = 0x52800000u | ((uint32_t)n << 5);     /* mov w0, #n */
    code[1] = 0xd65f03c0u;                          /* ret */
    __builtin___clear_cache((char *)code, (char *)(code + 2));
    if (wx)
        mprotect(code, 4096, PROT_READ | PROT_EXEC);
}

static void *writer(void *arg)
{
    for (int i = 1; i <= 20; i++) {
        pthread_barrier_wait(&step);    /* main has run the old code */
        emit(100 + i);
        pthread_barrier_wait(&step);    /* main runs the new code */
    }
    return NULL;
}

static int rounds(void)
{
    pthread_t t;
    int ok = 0;
    emit(100);
    pthread_barrier_init(&step, NULL, 2);
    if (pthread_create(&t, NULL, writer, NULL))
        return -1;
    for (int i = 1; i <= 20; i++) {
        int before = ((fn_t)code)();
        pthread_barrier_wait(&step);
        pthread_barrier_wait(&step);
        int after = ((fn_t)code)();
        ok += before == 100 + i - 1 && after == 100 + i;
    }
    pthread_join(t, NULL);
    pthread_barrier_destroy(&step);
    return ok;
}

int main(void)
{
    code = mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS,
                -1, 0);
    printf("rwx page, rewritten by another thread: %d of 20 rounds ran the new code\n",
           rounds());
    wx = 1;
    printf("W^X page, rewritten by another thread: %d of 20 rounds ran the new code\n",
           rounds());
    return 0;
}
