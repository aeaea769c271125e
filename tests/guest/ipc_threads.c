/* mkemu-cflags: -pthread
 * A SysV segment attached by one thread is the other threads' memory too: the
 * main thread attaches one while a second thread runs (the second reaches it
 * through the address), and the second attaches another that the main thread
 * then reads and detaches.  Then a fork child sees both. */
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/shm.h>
#include <sys/wait.h>
#include <unistd.h>

static sem_t go, done;
static char *volatile by_main, *volatile by_thread;
static int second;

static void *worker(void *arg) {
    (void)arg;
    sem_wait(&go);
    printf("thread reads: '%s'\n", by_main);
    strcpy(by_main + 100, "written by the thread");
    by_thread = shmat(second, NULL, 0);
    strcpy(by_thread, "attached by the thread");
    sem_post(&done);
    return NULL;
}

int main(void) {
    int first = shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0600);
    second = shmget(IPC_PRIVATE, 8192, IPC_CREAT | 0600);
    sem_init(&go, 0, 0);
    sem_init(&done, 0, 0);
    pthread_t th;
    pthread_create(&th, NULL, worker, NULL);
    usleep(1000);
    by_main = shmat(first, NULL, 0);             /* after the thread exists */
    strcpy(by_main, "attached by main");
    sem_post(&go);
    sem_wait(&done);
    printf("main reads: '%s' '%s'\n", by_main + 100, by_thread);
    pthread_join(th, NULL);
    struct shmid_ds ds;
    shmctl(second, IPC_STAT, &ds);
    printf("second nattch %lu\n", (unsigned long)ds.shm_nattch > 0);
    fflush(stdout);
    pid_t child = fork();
    if (child == 0) {
        printf("child reads: '%s' '%s'\n", by_main, by_thread);
        fflush(stdout);
        _exit(0);
    }
    waitpid(child, NULL, 0);
    printf("shmdt by main of the thread's: %d\n", shmdt(by_thread));
    printf("again: %d\n", shmdt(by_thread));
    shmctl(first, IPC_RMID, NULL);
    shmctl(second, IPC_RMID, NULL);
    printf("main still reads: '%.8s'\n", by_main);
    return 0;
}
