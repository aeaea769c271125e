/* SysV semaphores, shared memory and message queues across fork: the parent and
 * child coordinate with a semaphore, exchange data through the segment and
 * messages; SEM_UNDO is released when the child exits; errors as Linux gives. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

union semun { int val; struct semid_ds *buf; unsigned short *array; };
struct msg { long mtype; char text[32]; };

static void show(const char *what, long r) {
    if (r < 0) printf("%s: -1 %s\n", what, strerror(errno));
    else printf("%s: %ld\n", what, r);
}

static int sem_add(int id, int num, int delta, int flags) {
    struct sembuf op = { num, delta, flags };
    return semop(id, &op, 1);
}

static void send(int q, long type, const char *text) {
    struct msg m = { type };
    strcpy(m.text, text);
    msgsnd(q, &m, strlen(text) + 1, 0);
}

static void recv(int q, long type, int flags) {
    struct msg m;
    memset(&m, 0, sizeof m);
    ssize_t n = msgrcv(q, &m, sizeof m.text, type, flags);
    if (n < 0) printf("msgrcv(%ld): -1 %s\n", type, strerror(errno));
    else printf("msgrcv(%ld): type %ld '%s' (%zd)\n", type, m.mtype, m.text, n);
}

int main(void) {
    int sem = semget(IPC_PRIVATE, 2, IPC_CREAT | 0600);
    int shm = shmget(IPC_PRIVATE, 10000, IPC_CREAT | 0600);
    int q = msgget(IPC_PRIVATE, IPC_CREAT | 0600);
    if (sem < 0 || shm < 0 || q < 0) { perror("get"); return 1; }
    unsigned short init[2] = { 0, 5 }, got[2];
    union semun a = { .array = init };
    show("SETALL", semctl(sem, 0, SETALL, a));
    a.array = got;
    semctl(sem, 0, GETALL, a);
    printf("GETALL: %d %d\n", got[0], got[1]);
    a.val = 0;
    show("SETVAL", semctl(sem, 1, SETVAL, a));
    struct semid_ds sds;
    a.buf = &sds;
    show("sem IPC_STAT", semctl(sem, 0, IPC_STAT, a));
    printf("sem: key %d nsems %lu mode %o\n", (int)sds.sem_perm.__key, (unsigned long)sds.sem_nsems,
           sds.sem_perm.mode & 0777);

    char *p = shmat(shm, NULL, 0);
    if (p == (void *)-1) { perror("shmat"); return 1; }
    struct shmid_ds ss;
    shmctl(shm, IPC_STAT, &ss);
    printf("shm: size %zu nattch %lu mode %o\n", (size_t)ss.shm_segsz,
           (unsigned long)ss.shm_nattch, ss.shm_perm.mode & 0777);
    printf("shm: created and attached by me %d %d\n", ss.shm_cpid == getpid(),
           ss.shm_lpid == getpid());
    strcpy(p, "empty");

    pid_t child = fork();
    if (child == 0) {
        sem_add(sem, 1, 2, SEM_UNDO);           /* released when this process exits */
        strcpy(p, "written by the child");
        p[9999] = 'z';
        send(q, 3, "three");
        send(q, 1, "one");
        send(q, 2, "two");
        sem_add(sem, 0, 1, 0);                  /* tell the parent */
        struct msg m;
        msgrcv(q, &m, sizeof m.text, 10, 0);    /* wait for the parent's word */
        shmdt(p);
        _exit(0);
    }
    show("wait for the child", sem_add(sem, 0, -1, 0));
    a.val = 0;
    printf("sem1 while the child holds its undo: %d\n", semctl(sem, 1, GETVAL, a));
    printf("shm: '%s' last byte %c\n", p, p[9999]);
    shmctl(shm, IPC_STAT, &ss);
    printf("shm nattch with the child: %lu\n", (unsigned long)ss.shm_nattch);
    struct msqid_ds qs;
    msgctl(q, IPC_STAT, &qs);
    printf("queue: last sent by the child %d\n", qs.msg_lspid == child);
    printf("queue: %lu messages, %lu bytes\n", (unsigned long)qs.msg_qnum,
           (unsigned long)qs.msg_cbytes);
    recv(q, 2, 0);           /* the first of type 2 */
    recv(q, -3, 0);          /* the lowest type <= 3 */
    recv(q, 0, 0);           /* the first left */
    recv(q, 0, IPC_NOWAIT);  /* empty: ENOMSG */
    send(q, 5, "a long message");
    recv(q, 0, IPC_NOWAIT);
    struct { long mtype; char text[4]; } small;
    send(q, 6, "too long for four");
    printf("small buffer: %zd %s\n", msgrcv(q, &small, 4, 0, IPC_NOWAIT), strerror(errno));
    ssize_t n = msgrcv(q, &small, 4, 0, IPC_NOWAIT | MSG_NOERROR);
    printf("MSG_NOERROR: %zd '%.4s'\n", n, small.text);
    send(q, 10, "go");
    int status;
    waitpid(child, &status, 0);
    printf("child exit %d\n", WEXITSTATUS(status));
    printf("sem1 after the child's exit (undone): %d\n", semctl(sem, 1, GETVAL, a));

    errno = 0;
    show("semop IPC_NOWAIT", sem_add(sem, 0, -1, IPC_NOWAIT));
    struct sembuf op = { 0, -1, 0 };
    struct timespec ts = { 0, 50000000 };
    show("semtimedop timeout", semtimedop(sem, &op, 1, &ts));
    show("semop bad semnum", sem_add(sem, 7, 1, 0));
    show("semop not an id", sem_add(0x7ffffff0, 0, 1, 0));
    show("shmat bad address", (long)shmat(shm, (void *)0x1001, 0) == -1 ? -1 : 0);

    show("shm IPC_RMID while attached", shmctl(shm, IPC_RMID, NULL));
    shmctl(shm, IPC_STAT, &ss);
    printf("removed shm: dest %d nattch %lu still '%.7s'\n", !!(ss.shm_perm.mode & 01000),
           (unsigned long)ss.shm_nattch, p);
    show("shmdt", shmdt(p));
    show("shmdt again", shmdt(p));
    show("shm gone", shmctl(shm, IPC_STAT, &ss));
    show("sem IPC_RMID", semctl(sem, 0, IPC_RMID));
    show("semop after RMID", sem_add(sem, 0, 1, 0));
    show("msg IPC_RMID", msgctl(q, IPC_RMID, NULL));
    show("msgsnd after RMID", msgsnd(q, &small, 1, 0));
    show("semget missing key", semget(0x5eed0001, 1, 0));
    return 0;
}
