/* Makes a SysV semaphore set, segment and queue with one key, a POSIX queue and a
 * /dev/shm object with fixed names, all with O_EXCL/IPC_EXCL, and leaves them:
 *   ipc_keys KEY VALUE MINE OTHER leave   creates file MINE, waits for file OTHER,
 *                                         prints what it reads back, exits
 *   ipc_keys KEY VALUE MINE OTHER hold    prints "ready" and sleeps (to be killed)
 * Two machines running it at once with one key must not meet. */
#include <errno.h>
#include <fcntl.h>
#include <mqueue.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <unistd.h>

struct msg { long mtype; char text[16]; };

int main(int argc, char **argv) {
    if (argc < 6) return 2;
    key_t key = (key_t)strtol(argv[1], NULL, 0);
    int value = atoi(argv[2]);
    int sem = semget(key, 1, IPC_CREAT | IPC_EXCL | 0600);
    int shm = shmget(key, 4096, IPC_CREAT | IPC_EXCL | 0600);
    int q = msgget(key, IPC_CREAT | IPC_EXCL | 0600);
    struct mq_attr attr = { .mq_maxmsg = 2, .mq_msgsize = 16 };
    mqd_t mq = mq_open("/mkemu-keys-q", O_CREAT | O_EXCL | O_RDWR, 0600, &attr);
    int fd = shm_open("/mkemu-keys-shm", O_CREAT | O_EXCL | O_RDWR, 0600);
    if (sem < 0 || shm < 0 || q < 0 || mq == (mqd_t)-1 || fd < 0) {
        printf("create: %s\n", strerror(errno));
        return 1;
    }
    semctl(sem, 0, SETVAL, value);
    char *p = shmat(shm, NULL, 0);
    snprintf(p, 4096, "shm %d", value);
    struct msg m = { 1 };
    snprintf(m.text, sizeof m.text, "msg %d", value);
    msgsnd(q, &m, sizeof m.text, 0);
    char text[16];
    snprintf(text, sizeof text, "mq %d", value);
    mq_send(mq, text, strlen(text) + 1, 0);
    dprintf(fd, "file %d", value);
    if (strcmp(argv[5], "hold") == 0) {
        printf("ready\n");
        fflush(stdout);
        for (;;)
            pause();
    }
    close(creat(argv[3], 0600));
    for (int i = 0; i < 3000 && access(argv[4], F_OK) != 0; i++)
        usleep(10000);
    printf("the same set again: %d\n", semget(key, 1, 0) == sem);
    printf("sem %d\n", semctl(sem, 0, GETVAL));
    printf("%s\n", p);
    memset(&m, 0, sizeof m);
    msgrcv(q, &m, sizeof m.text, 0, IPC_NOWAIT);
    printf("%s\n", m.text);
    mq_receive(mq, text, sizeof attr.mq_msgsize > 0 ? 16 : 16, NULL);
    printf("%s\n", text);
    char back[32] = "";
    pread(fd, back, sizeof back - 1, 0);
    printf("%s\n", back);
    return 0;                    /* everything is left for the machine's end to remove */
}
