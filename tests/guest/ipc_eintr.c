/* A signal whose handler has SA_RESTART breaks a blocked semop, msgrcv and msgsnd
 * with EINTR (System V IPC calls are never restarted), and a POSIX queue receive
 * without SA_RESTART; the handler ran each time. */
#include <errno.h>
#include <fcntl.h>
#include <mqueue.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/time.h>
#include <unistd.h>

static volatile int caught;
static void on_alarm(int sig) { (void)sig; caught++; }

static void arm(int restart) {
    struct sigaction sa = { .sa_handler = on_alarm, .sa_flags = restart ? SA_RESTART : 0 };
    sigaction(SIGALRM, &sa, NULL);
    struct itimerval it = { { 0, 0 }, { 0, 100000 } };
    setitimer(ITIMER_REAL, &it, NULL);
}

static void show(const char *what, long r) {
    if (r < 0) printf("%s: -1 %s, handler ran %d\n", what, strerror(errno), caught);
    else printf("%s: %ld\n", what, r);
}

int main(int argc, char **argv) {
    int sem = semget(IPC_PRIVATE, 1, IPC_CREAT | 0600);
    int q = msgget(IPC_PRIVATE, IPC_CREAT | 0600);
    struct sembuf down = { 0, -1, 0 };
    arm(1);
    show("semop", semop(sem, &down, 1));
    struct { long mtype; char text[8]; } m = { 1, "x" };
    arm(1);
    show("msgrcv", msgrcv(q, &m, sizeof m.text, 0, 0));
    while (msgsnd(q, &m, sizeof m.text, IPC_NOWAIT) == 0)
        ;
    arm(1);
    show("msgsnd to a full queue", msgsnd(q, &m, sizeof m.text, 0));
    semctl(sem, 0, IPC_RMID);
    msgctl(q, IPC_RMID, NULL);
    const char *name = argc > 1 ? argv[1] : "/mkemu-eintr";
    mqd_t mq = mq_open(name, O_CREAT | O_RDWR, 0600, NULL);
    mq_unlink(name);
    char buf[8192];
    arm(0);
    show("mq_receive", mq_receive(mq, buf, sizeof buf, NULL));
    return 0;
}
