/* Futexes between processes: a word in MAP_SHARED anonymous memory, a parent
   and a child taking turns 2000 times (no lost wake-up may hang it), and a
   process-shared pthread mutex and condition variable in the same memory. */
#include <linux/futex.h>
#include <pthread.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

struct shared {
    int turn;
    int counter;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int ready;
};

static void wait_for(int *word, int value) {
    int now;
    while ((now = __atomic_load_n(word, __ATOMIC_SEQ_CST)) != value)
        syscall(SYS_futex, word, FUTEX_WAIT, now, NULL, NULL, 0);
}

static void give(int *word, int value) {
    __atomic_store_n(word, value, __ATOMIC_SEQ_CST);
    syscall(SYS_futex, word, FUTEX_WAKE, 1, NULL, NULL, 0);
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    struct shared *s = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    pthread_mutexattr_t ma;
    pthread_condattr_t ca;
    pthread_mutexattr_init(&ma);
    pthread_mutexattr_setpshared(&ma, PTHREAD_PROCESS_SHARED);
    pthread_mutex_init(&s->lock, &ma);
    pthread_condattr_init(&ca);
    pthread_condattr_setpshared(&ca, PTHREAD_PROCESS_SHARED);
    pthread_cond_init(&s->cond, &ca);
    enum { ROUNDS = 2000 };
    pid_t c = fork();
    if (c == 0) {
        for (int i = 0; i < ROUNDS; i++) {
            wait_for(&s->turn, 1);
            s->counter++;
            give(&s->turn, 0);
        }
        pthread_mutex_lock(&s->lock);
        s->ready = 1;
        pthread_cond_signal(&s->cond);
        pthread_mutex_unlock(&s->lock);
        _exit(0);
    }
    for (int i = 0; i < ROUNDS; i++) {
        wait_for(&s->turn, 0);
        s->counter++;
        give(&s->turn, 1);
    }
    wait_for(&s->turn, 0);
    pthread_mutex_lock(&s->lock);
    while (!s->ready)
        pthread_cond_wait(&s->cond, &s->lock);
    pthread_mutex_unlock(&s->lock);
    int st;
    waitpid(c, &st, 0);
    printf("turns taken: %d, child exit %d, condition seen %d\n", s->counter, WEXITSTATUS(st), s->ready);
    return 0;
}
