/* glibc's POSIX shared memory and named semaphores (files under /dev/shm) across
 * fork: the child writes into the shared object and posts the semaphore the
 * parent waits on.  argv[1] is a name prefix ("/something"). */
#include <errno.h>
#include <fcntl.h>
#include <semaphore.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv) {
    const char *prefix = argc > 1 ? argv[1] : "/mkemu-test";
    char shm_name[128], sem_name[128], path[160];
    snprintf(shm_name, sizeof shm_name, "%s-shm", prefix);
    snprintf(sem_name, sizeof sem_name, "%s-sem", prefix);
    int fd = shm_open(shm_name, O_CREAT | O_EXCL | O_RDWR, 0600);
    if (fd < 0) { perror("shm_open"); return 1; }
    printf("shm_open O_EXCL again: %d %s\n", shm_open(shm_name, O_CREAT | O_EXCL | O_RDWR, 0600),
           strerror(errno));
    ftruncate(fd, 4096);
    char *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    sem_t *s = sem_open(sem_name, O_CREAT | O_EXCL, 0600, 0);
    if (p == MAP_FAILED || s == SEM_FAILED) { perror("mmap/sem_open"); return 1; }
    snprintf(path, sizeof path, "/dev/shm%s", shm_name);
    printf("%s is a file: %d\n", "the shm object", access(path, F_OK) == 0);
    snprintf(path, sizeof path, "/dev/shm/sem.%s", sem_name + 1);
    printf("%s is a file: %d\n", "the semaphore", access(path, F_OK) == 0);
    int v = -1;
    sem_getvalue(s, &v);
    printf("semaphore value %d\n", v);
    printf("trywait: %d %s\n", sem_trywait(s), strerror(errno));

    pid_t child = fork();
    if (child == 0) {
        sem_t *mine = sem_open(sem_name, 0);       /* a second mapping of the same file */
        strcpy(p, "hello from the child");
        sem_post(mine);
        sem_post(mine);
        _exit(0);
    }
    sem_wait(s);
    printf("after sem_wait: '%s'\n", p);
    int status;
    waitpid(child, &status, 0);
    sem_getvalue(s, &v);
    printf("semaphore value after the child %d\n", v);
    printf("sem_close %d sem_unlink %d\n", sem_close(s), sem_unlink(sem_name));
    printf("sem_unlink again: %d %s\n", sem_unlink(sem_name), strerror(errno));
    munmap(p, 4096);
    close(fd);
    printf("shm_unlink %d\n", shm_unlink(shm_name));
    printf("shm_open removed: %d %s\n", shm_open(shm_name, O_RDWR, 0), strerror(errno));
    printf("gone: %d\n", access(path, F_OK));
    return 0;
}
